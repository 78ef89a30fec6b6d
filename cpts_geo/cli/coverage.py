"""``cpts-geo coverage``: coverage diagnosis of a CPTS listing (perimeters, overlaps, white zones)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "coverage",
        help="Diagnostic de couverture d'une liste de CPTS : périmètres, chevauchements, zones blanches.",
        description="Lit une liste de CPTS (CSV, XLSX, JSON, GeoJSON, GeoPackage), la normalise au COG 2026, "
        "affiche le résumé et, avec --out, écrit summary.json, perimeters.gpkg, white_zones.gpkg, overlaps.csv (une ligne par commune partagée), "
        "overlap_pairs.csv (une ligne par paire de CPTS), "
        "le classeur diagnostic_cpts.xlsx et les cartes carte_couverture.html, .png et .pdf "
        "(les mêmes fichiers que Diagnosis.write en Python).",
    )
    p.add_argument("members", type=Path, help="fichier de la liste des CPTS (une ligne par CPTS × commune, ou par CPTS)")
    p.add_argument("--region", action="append", help="code INSEE de la région analysée (ex. 93), répétable")
    p.add_argument("--department", "--departement", action="append", dest="department",
                   help="code du département analysé (ex. 04), répétable ; défaut : ceux de la liste")
    p.add_argument("--stage", action="append", help="ne garder que les CPTS à ce stade (ex. « ACI signé »), répétable")
    p.add_argument("--cpts-col", help="colonne du nom de la CPTS (sinon détectée)")
    p.add_argument("--code-col", help="colonne des codes ou noms de communes (sinon détectée)")
    p.add_argument("--sheet", help="feuille du classeur (sinon la première qui convient)")
    p.add_argument("--code-type", choices=("auto", "insee", "postal"), default="auto",
                   help="nature des codes de la liste : auto (défaut : une liste qui ressemble à des codes "
                   "postaux est refusée), insee, ou postal (chaque code postal → les communes qu'il dessert)")
    p.add_argument("--cog-year", type=int, metavar="AAAA",
                   help="année du COG dans lequel la liste est écrite (ex. 2024) ; défaut : COG 2026")
    p.add_argument("--apl", type=Path, help="fichier APL de la DREES (xlsx publié ou CSV) à rattacher aux CPTS")
    p.add_argument("--apl-cog", type=int, help="année du COG des codes du fichier APL (sinon lue dans le titre)")
    p.add_argument("--apl-year", type=int, help="année APL (feuille « APL AAAA » ; défaut : la plus récente)")
    p.add_argument("--csv-format", choices=("fr", "international"), default="fr",
                   help="format de overlaps.csv et overlap_pairs.csv : fr (« ; », virgule décimale, UTF-8 avec BOM : s'ouvre dans "
                   "un Excel français, par défaut) ou international (« , », point décimal)")
    p.add_argument("--out", type=Path, help="dossier de sortie (sinon seul le résumé est affiché) ; "
                   "écrit d'un bloc : les fichiers d'une exécution précédente sont remplacés tous ensemble")
    p.add_argument("--force", action="store_true",
                   help="écrire dans un dossier de sortie qui contient d'autres fichiers (jamais supprimés)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cpts_geo.cli.checks import check_file_argument

    for option, value in (("LISTE", args.members), ("--apl", args.apl),):
        check_file_argument(value, option, file_only=True)
    from cpts_geo.cli.progress import Progress
    from cpts_geo.coverage import diagnose
    from cpts_geo.export import prepare, write_diagnosis
    from cpts_geo.members import read_members

    if args.out:
        from cpts_geo.io.atomic import check_target

        check_target(args.out, overwrite=args.force)  # refuse before the work
    progress = Progress()  # on stderr when it is a terminal
    with progress.step("lecture de la liste"):
        members = read_members(args.members, cpts_col=args.cpts_col, code_col=args.code_col, sheet=args.sheet,
                               cog_year=args.cog_year, code_type=args.code_type)
    region = args.region[0] if args.region and len(args.region) == 1 else args.region
    with progress.step("diagnostic de couverture"):
        diag = diagnose(members, region=region, departments=args.department, stages=args.stage)
    # the same steps as Diagnosis.write(out, apl=..., apl_cog=..., apl_year=...)
    with progress.step("classification des CPTS" + (" et APL" if args.apl else "")):
        diag = prepare(diag, classify=True, apl=args.apl, apl_cog=args.apl_cog, apl_year=args.apl_year)
    print(diag.text())
    if members.attrs.get("postcodes"):
        from cpts_geo import fr

        notes = members.attrs["postcodes"]
        print(f"  Codes postaux convertis ({fr.integer(len(notes))}) : " + " ; ".join(notes[:10])
              + (" …" if len(notes) > 10 else ""))
    if args.out:
        paths = write_diagnosis(diag, args.out, classify=False, maps=True, csv_format=args.csv_format,
                                 overwrite=args.force, step=progress.step)
        print(f"Fichiers écrits dans {args.out} : " + ", ".join(p.name for p in paths.values()))
    return 0
