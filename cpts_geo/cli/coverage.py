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
    from cpts_geo.cli.options import add_area_options, add_listing_options

    add_area_options(p)
    p.add_argument("--stage", action="append", help="ne garder que les CPTS à ce stade (ex. « ACI signé »), répétable")
    add_listing_options(p)
    p.add_argument("--apl", type=Path, help="fichier APL officiel de la DREES (xlsx publié ou CSV) à rattacher aux CPTS")
    p.add_argument("--apl-cog", type=int, help="année du COG des codes du fichier APL (sinon lue dans le titre)")
    p.add_argument("--apl-year", type=int, help="année APL (feuille « APL AAAA » ; défaut : la plus récente)")
    p.add_argument("--partage", type=Path, metavar="FICHIER",
                   help="parts des villes listées par plusieurs CPTS (colonnes commune, cpts et part — 0,45 ou "
                   "45 %% — ou population) ; sans ce fichier, la ville entière est comptée pour chaque CPTS")
    p.add_argument("--apl-estimee", "--apl-estime", type=Path, dest="apl_estimate", metavar="FICHIER",
                   help="APL estimée par CPTS écrite par « cpts-geo apl --listing » (fichier <sortie>_cpts.csv) : "
                   "rattachée aux CPTS comme estimation cpts_geo, distincte de l'APL officielle de la DREES (--apl)")
    p.add_argument("--csv-format", choices=("fr", "international"), default="fr",
                   help="format de overlaps.csv et overlap_pairs.csv : fr (« ; », virgule décimale, UTF-8 avec BOM : s'ouvre dans "
                   "un Excel français, par défaut) ou international (« , », point décimal)")
    p.add_argument("--color-by", default="auto",
                   help="couleur des CPTS sur les cartes : stage, band (taille ACI), cpts, irdes, igas, densite, aav "
                   "ou une colonne des périmètres, ou taux_couverture (part de la population couverte par zone, "
                   "voir --par, --etape) ; défaut auto (taux de couverture si la zone analysée s'étend sur "
                   "plusieurs régions, sinon stade s'il est connu, sinon une couleur par CPTS)")
    p.add_argument("--title", help="titre des cartes")
    p.add_argument("--no-maps", action="store_true", help="ne pas dessiner les cartes (tableaux seulement)")
    p.add_argument("--par", choices=("departement", "epci", "bv"),
                   help="carte de couverture en taux : part de la population couverte par département, "
                   "EPCI ou bassin de vie (bv) ; c'est la carte par défaut, par département, quand la zone "
                   "analysée s'étend sur plusieurs régions")
    p.add_argument("--etape", choices=("toutes", "aci"),
                   help="carte des taux : population couverte par toutes les CPTS (défaut) ou par les "
                   "CPTS ayant signé l'ACI (aci)")
    p.add_argument("--out", type=Path, help="dossier de sortie (sinon seul le résumé est affiché) ; "
                   "écrit d'un bloc : les fichiers d'une exécution précédente sont remplacés tous ensemble")
    p.add_argument("--force", action="store_true",
                   help="écrire dans un dossier de sortie qui contient d'autres fichiers (jamais supprimés ni "
                   "remplacés ; une entrée n'est jamais une sortie)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cpts_geo.cli.checks import check_file_argument
    from cpts_geo.cli.options import area_from_args, read_and_diagnose

    for option, value in (("LISTE", args.members), ("--apl", args.apl), ("--apl-estimee", args.apl_estimate),
                          ("--partage", args.partage)):
        check_file_argument(value, option, file_only=True)
    from cpts_geo.indicators.apl_official import require_official_apl

    require_official_apl(args.apl, "--apl")  # an estimate goes to --apl-estimee
    area_from_args(args)  # a bad --region / --departement is refused before any work
    from cpts_geo.cli.progress import Progress
    from cpts_geo.export import prepare, write_diagnosis

    inputs = [args.members, args.apl, args.apl_estimate, args.partage]
    if args.out:
        from cpts_geo.io.atomic import check_target
        from cpts_geo.io.outputs import TABLE_NAMES

        # refuse before the work: a file no run wrote, a changed file, an input among the outputs
        check_target(args.out, overwrite=args.force, inputs=inputs, names=TABLE_NAMES)
    progress = Progress()  # on stderr when it is a terminal
    members, diag = read_and_diagnose(args, progress)
    # the same steps as Diagnosis.write(out, apl=..., apl_cog=..., apl_year=..., apl_estimate=...)
    with progress.step("classification des CPTS" + (" et APL" if args.apl or args.apl_estimate else "")):
        diag = prepare(diag, classify=True, apl=args.apl, apl_cog=args.apl_cog, apl_year=args.apl_year,
                       apl_estimate=args.apl_estimate)
    rates_stage = "aci" if args.etape == "aci" else None
    if rates_stage and args.out:  # refuse before writing anything: the listing must give stages
        from cpts_geo.rates import coverage_rates

        coverage_rates(diag, stage=rates_stage, geometry=False)
    print(diag.text())
    if members.attrs.get("postcodes"):
        from cpts_geo import fr

        notes = members.attrs["postcodes"]
        print(f"  Codes postaux convertis ({fr.integer(len(notes))}) : " + " ; ".join(notes[:10])
              + (" …" if len(notes) > 10 else ""))
    if args.out:
        paths = write_diagnosis(diag, args.out, classify=False, maps=not args.no_maps, csv_format=args.csv_format,
                                 overwrite=args.force, color_by=args.color_by, title=args.title,
                                 rates_by=args.par or ("departement" if args.etape else None),
                                 rates_stage=rates_stage, step=progress.step, inputs=inputs)
        print(f"Fichiers écrits dans {args.out} : " + ", ".join(p.name for p in paths.values()))
    return 0
