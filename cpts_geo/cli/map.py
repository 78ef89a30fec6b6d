"""``cpts-geo map``: coverage map of a CPTS listing (interactive HTML, A4 PNG / PDF)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "map",
        help="Carte de couverture d'une liste de CPTS : HTML interactif (hors ligne), PNG et PDF A4.",
        description="Lit une liste de CPTS, établit le diagnostic de couverture et dessine les "
        "périmètres (colorés par stade, taille ACI, typologie…), les chevauchements et les zones "
        "blanches. La page HTML fonctionne sans internet (fond blanc) ; --tiles ajoute un fond "
        "de carte en ligne.",
    )
    p.add_argument("members", type=Path, help="fichier de la liste des CPTS (CSV, XLSX, JSON, GeoJSON, GeoPackage)")
    from cpts_geo.cli.options import add_area_options, add_listing_options

    add_area_options(p, "cartographié")
    p.add_argument("--stage", action="append", help="ne garder que les CPTS à ce stade, répétable")
    p.add_argument("--color-by", default="auto",
                   help="couleur des CPTS : stage, band (taille ACI), cpts, irdes, igas, densite, aav "
                   "ou une colonne des périmètres ; ou taux_couverture : part de la population "
                   "couverte par zone (voir --par, --etape) ; défaut auto (taux de couverture si la "
                   "zone analysée s'étend sur plusieurs régions, sinon le stade s'il est connu, sinon "
                   "une couleur par CPTS)")
    p.add_argument("--par", default="departement", choices=("departement", "epci", "bv"),
                   help="carte des taux de couverture : par département (défaut), par EPCI ou par "
                   "bassin de vie (bv)")
    p.add_argument("--etape", default="toutes", choices=("toutes", "aci"),
                   help="carte des taux de couverture : population couverte par toutes les CPTS "
                   "(défaut) ou par les CPTS ayant signé l'ACI (aci)")
    p.add_argument("--html", type=Path, help="page HTML interactive à écrire")
    p.add_argument("--png", type=Path, help="carte A4 PNG à écrire")
    p.add_argument("--pdf", type=Path, help="carte A4 PDF à écrire")
    p.add_argument("--title", help="titre de la carte")
    p.add_argument("--paper", choices=("A4", "A3"), default="A4",
                   help="format de la carte PNG / PDF, paysage (défaut : A4)")
    p.add_argument("--tiles", help="fond de carte en ligne (ex. « OpenStreetMap », « CartoDB positron ») ; "
                   "défaut : aucun, la carte fonctionne hors ligne")
    p.add_argument("--tolerance", type=float, help="tolérance de simplification en mètres "
                   "(défaut : automatique, ≈ 100 m pour une région)")
    p.add_argument("--listing-date", help="date de la liste, affichée dans les sources")
    p.add_argument("--partage", type=Path, metavar="FICHIER",
                   help="parts des villes listées par plusieurs CPTS (comme cpts-geo coverage --partage)")
    add_listing_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cpts_geo.cli.checks import check_file_argument
    from cpts_geo.cli.options import area_from_args, read_and_diagnose

    for option, value in (("LISTE", args.members), ("--partage", args.partage)):
        check_file_argument(value, option, file_only=True)
    area_from_args(args)  # a bad --region / --departement is refused before any work
    from cpts_geo import fr
    from cpts_geo.classification import classify_diagnosis
    from cpts_geo.maps import build_layers, coverage_map, save_html

    if not (args.html or args.png or args.pdf):
        print("erreur : indiquer au moins un fichier de sortie (--html, --png ou --pdf)", file=sys.stderr)
        return 2
    from cpts_geo.errors import InputError, OptionError

    for option, path, suffixes in (("--html", args.html, (".html", ".htm")), ("--png", args.png, (".png",)),
                                   ("--pdf", args.pdf, (".pdf",))):
        if path is None:
            continue
        if path.suffix.lower() not in suffixes:
            raise OptionError(option, path, f"le nom du fichier doit finir par {' ou '.join(suffixes)}")
    from cpts_geo.cli.checks import check_outputs

    inputs = [args.members, args.partage]
    check_outputs({"--html": args.html, "--png": args.png, "--pdf": args.pdf}, inputs)
    from cpts_geo.cli.progress import Progress

    progress = Progress()  # on stderr when it is a terminal
    members, diag = read_and_diagnose(args, progress)
    if args.listing_date:
        diag.meta["listing_date"] = args.listing_date
    from cpts_geo.export import _has_shapes

    if not _has_shapes(diag):
        raise InputError("carte impossible : aucune commune de la zone analysée n'a de contour dans le "
                         "référentiel (collectivités d'outre-mer, par exemple)", args.members.name)
    with progress.step("classification des CPTS"):
        diag = classify_diagnosis(diag)
    from cpts_geo.maps.style import alternate_map

    rates = alternate_map(diag, args.color_by, "static") is not None
    opts = {"rates_by": args.par, "rates_stage": None if args.etape == "toutes" else args.etape}
    if rates:  # fail early (no stage in the listing for --etape aci) before drawing anything
        from cpts_geo.rates import coverage_rates

        table = coverage_rates(diag, args.par, opts["rates_stage"], geometry=False)
        layers = None
    else:
        with progress.step("carte : simplification des contours"):
            layers = build_layers(diag, args.tolerance)
    m = None
    if args.html:
        with progress.step("carte interactive (HTML)"):
            m = coverage_map(diag, args.color_by, layers=layers, tiles=args.tiles, title=args.title,
                             tolerance_m=args.tolerance, **opts)
    fig = None
    if args.png or args.pdf:
        from cpts_geo.maps import save_static, static_map

        with progress.step("carte imprimable : dessin"):
            fig = static_map(diag, args.color_by, layers=layers, title=args.title, paper=args.paper,
                             tolerance_m=args.tolerance, **opts)
    written = []  # each file written beside its name, then renamed: never seen half-written (maps.save_*)
    if m is not None:
        save_html(m, args.html, inputs=tuple(inputs))
        written.append(args.html)
    for path, label in ((args.png, "PNG"), (args.pdf, "PDF")):
        if path is not None:
            with progress.step(f"carte imprimable ({label})"):
                save_static(fig, path, inputs=tuple(inputs))
            written.append(path)
    if rates:
        from cpts_geo.rates import LEVEL_LABELS

        by = LEVEL_LABELS[table.attrs["level"]]
        print(f"Carte des taux de couverture par {by[0]} ({table.attrs['stage_label']}) : "
              f"{fr.plural(len(table), by[0], by[1])}, "
              f"{fr.plural(int(table['white_population'].sum()), 'habitant')} hors CPTS ; "
              f"{diag.meta.get('area', '')}")
    else:
        n_white, n_over = len(layers.white_zones), len(layers.overlaps)
        print(f"Carte de couverture : {fr.integer(len(layers.perimeters))} CPTS, "
              f"{fr.plural(n_white, 'zone blanche') if n_white else 'aucune zone blanche'}, "
              f"{fr.plural(n_over, 'chevauchement') if n_over else 'aucun chevauchement'} ; "
              f"{diag.meta.get('area', '')}")
        print(f"Géométries simplifiées (tolérance {fr.integer(layers.tolerance_m)}{fr.NNBSP}m) : "
              f"{fr.integer(layers.n_vertices_in)} → {fr.plural(layers.n_vertices_out, 'sommet')}")
    for path in written:
        print(f"  écrit : {path} ({fr.number(path.stat().st_size / 1e6, 2)}{fr.NNBSP}Mo)")
    return 0
