"""``cpts-geo coverage``: coverage diagnosis of a CPTS listing (perimeters, overlaps, white zones)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "coverage",
        help="Diagnostic de couverture d'une liste de CPTS : périmètres, chevauchements, zones blanches.",
        description="Lit une liste de CPTS (CSV, XLSX, JSON, GeoJSON, GeoPackage), la normalise au COG 2026 "
        "et écrit summary.json, perimeters.gpkg, white_zones.gpkg, overlaps.csv et un classeur Excel.",
    )
    p.add_argument("members", type=Path, help="fichier de la liste des CPTS (une ligne par CPTS × commune, ou par CPTS)")
    p.add_argument("--region", action="append", help="code INSEE de la région analysée (ex. 93), répétable")
    p.add_argument("--department", "--departement", action="append", dest="department",
                   help="code du département analysé (ex. 04), répétable ; défaut : ceux de la liste")
    p.add_argument("--stage", action="append", help="ne garder que les CPTS à ce stade (ex. « ACI signé »), répétable")
    p.add_argument("--cpts-col", help="colonne du nom de la CPTS (sinon détectée)")
    p.add_argument("--code-col", help="colonne des codes ou noms de communes (sinon détectée)")
    p.add_argument("--sheet", help="feuille du classeur (sinon la première qui convient)")
    p.add_argument("--cog-year", type=int, metavar="AAAA",
                   help="année du COG dans lequel la liste est écrite (ex. 2024) ; défaut : COG 2026")
    p.add_argument("--apl", type=Path, help="fichier APL de la DREES (xlsx publié ou CSV) à rattacher aux CPTS")
    p.add_argument("--apl-cog", type=int, help="année du COG des codes du fichier APL (sinon lue dans le titre)")
    p.add_argument("--apl-year", type=int, help="année APL (feuille « APL AAAA » ; défaut : la plus récente)")
    p.add_argument("--out", type=Path, help="dossier de sortie (sinon seul le résumé est affiché)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import cpts_geo.classification as classification
    from cpts_geo.coverage import diagnose, write_outputs
    from cpts_geo.members import MembersError, read_members

    try:
        members = read_members(args.members, cpts_col=args.cpts_col, code_col=args.code_col, sheet=args.sheet,
                               cog_year=args.cog_year)
        region = args.region[0] if args.region and len(args.region) == 1 else args.region
        diag = diagnose(members, region=region, departments=args.department, stages=args.stage)
        if args.apl:
            from cpts_geo.indicators import official_apl_by_cpts

            _, apl_cpts = official_apl_by_cpts(members, args.apl, cog=args.apl_cog, year=args.apl_year)
            by_cpts = apl_cpts.set_index("cpts")
            for c in ("apl", "apl_flag"):
                diag.perimeters[c] = diag.perimeters["cpts"].map(by_cpts[c]).to_numpy()
            diag.meta.setdefault("sources", {})["apl"] = {
                k: apl_cpts.attrs.get(k) for k in ("source", "sheet", "apl_year") if k in apl_cpts.attrs
            }
    except (MembersError, ValueError, OSError) as exc:
        print(f"erreur : {exc}", file=sys.stderr)
        return 2
    classify = getattr(classification, "classify", None)
    if classify is not None and len(diag.perimeters):
        extra = classify(diag.perimeters)
        new = [c for c in extra.columns if c not in diag.perimeters.columns]
        for c in new:
            diag.perimeters[c] = extra[c].to_numpy()
        if "classification" in extra.attrs:
            diag.meta.setdefault("sources", {})["classification"] = extra.attrs["classification"]
    print(diag.text())
    if args.out:
        paths = write_outputs(diag, args.out)
        from cpts_geo.maps import write_maps

        paths.update(write_maps(diag, args.out))
        print(f"Fichiers écrits dans {args.out} : " + ", ".join(p.name for p in paths.values()))
    return 0
