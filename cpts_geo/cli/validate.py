"""``cpts-geo validate``: check a proposed CPTS territory before it goes to the ARS.

Exit codes: 0 nothing blocks, 1 a check blocks, 2 unreadable input.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help="Vérifie un territoire de CPTS proposé (codes, chevauchements, enclaves, taille…).",
        description="Vérifie un territoire de CPTS proposé avant son envoi à l'ARS. Code de sortie : "
                    "0 si rien ne bloque, 1 si une vérification bloque, 2 si une entrée est illisible.",
    )
    p.add_argument("proposal", metavar="PROPOSITION", nargs="+",
                   help="fichier des communes proposées (CSV, XLSX, JSON, TXT, GeoJSON/GPKG d'un polygone "
                        "dessiné) ou codes et noms de communes séparés par des virgules, des points-virgules "
                        "ou des espaces")
    p.add_argument("--existing", "-e", metavar="LISTE", help="liste des CPTS existantes (tout format lu par read_members)")
    p.add_argument("--name", "-n", help="nom du territoire (ou de la CPTS à valider dans un fichier de plusieurs CPTS)")
    p.add_argument("--json", metavar="FICHIER", help="écrit le rapport en JSON")
    p.add_argument("--html", metavar="FICHIER", help="écrit le rapport HTML autonome (carte, chiffres, vérifications)")
    p.add_argument("--markdown", metavar="FICHIER", help="écrit le rapport en Markdown")
    p.add_argument("--pdf", metavar="FICHIER",
                   help="écrit le rapport en PDF A4 (imprimé par Chromium sans interface, paquet chromium)")
    p.add_argument("--overlap", choices=["bloquant", "avertissement", "information"], default="bloquant",
                   help="gravité d'un chevauchement avec une CPTS existante (défaut : bloquant)")
    p.add_argument("--replaces", action="append", default=[], metavar="CPTS",
                   help="CPTS existante que le territoire remplace (répétable)")
    from cpts_geo.cli.options import add_area_options

    add_area_options(p, "analysé", default="ceux des communes de la liste existante ; la couverture de la liste "
                                          "existante y est tenue pour connue (zones blanches, départements "
                                          "décrits)")
    p.add_argument("--apl", metavar="FICHIER", help="fichier APL de la DREES (xlsx ou csv)")
    p.add_argument("--apl-cog", type=int, metavar="ANNÉE", help="année du COG des codes du fichier APL")
    p.add_argument("--irdes2025", metavar="FICHIER",
                   help="typologie communale IRDES 2025 de l'accessibilité aux soins (fichier communal)")
    p.add_argument("--irdes-cog", type=int, metavar="ANNÉE", help="année du COG des codes du fichier IRDES")
    p.add_argument("--threshold", type=float, default=0.5,
                   help="part de surface d'une commune dans un polygone dessiné pour l'inclure (défaut 0,5)")
    p.add_argument("--quiet", "-q", action="store_true", help="n'affiche que le verdict")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cpts_geo.cli.checks import check_file_argument, check_fraction
    from cpts_geo.cli.options import area_departments
    from cpts_geo.validation import validate_territory
    from cpts_geo.validation.render import verdict_text

    deps = area_departments(args)
    from pathlib import Path

    from cpts_geo.cli.checks import looks_like_path

    def is_file(v: str) -> bool:
        return looks_like_path(v) or Path(v).is_file()

    if len(args.proposal) > 1 and any(is_file(v) for v in args.proposal):
        from cpts_geo.errors import OptionError

        raise OptionError("PROPOSITION", " ".join(args.proposal),
                          "un seul fichier, ou une liste de codes et de noms, est attendu")
    if len(args.proposal) > 1 or not is_file(args.proposal[0]):
        # codes and names as one list: « 04001 04009 », « 04001;04009 », or several arguments
        from cpts_geo.members import split_cell

        args.proposal = ",".join(v for arg in args.proposal for v in split_cell(arg))
    else:
        args.proposal = args.proposal[0]
    check_fraction(args.threshold, "--threshold")
    for option, value in (("PROPOSITION", args.proposal), ("--existing", args.existing), ("--apl", args.apl),
                          ("--irdes2025", args.irdes2025)):
        check_file_argument(value, option)
    from cpts_geo.cli.checks import check_outputs

    inputs = [args.proposal, args.existing, args.apl, args.irdes2025]
    check_outputs({"--json": args.json, "--html": args.html, "--markdown": args.markdown, "--pdf": args.pdf},
                  inputs)  # an input is never an output, even a file named explicitly
    from cpts_geo.indicators.apl_official import require_official_apl

    require_official_apl(args.apl, "--apl")  # the estimate of cpts-geo apl is not the DREES APL
    report = validate_territory(
        args.proposal, args.existing, name=args.name,
        overlap={"bloquant": "blocking", "avertissement": "warning", "information": "info"}[args.overlap],
        replaces=tuple(args.replaces), departments=deps, apl=args.apl, apl_cog=args.apl_cog,
        irdes2025=args.irdes2025, irdes_cog=args.irdes_cog, threshold=args.threshold,
    )
    # every requested file is written beside its target first, then all are renamed into place:
    # each file is complete or absent, and a write failure (exit 2, a French message naming the
    # path) is never preceded by a printed verdict
    import contextlib

    from cpts_geo.io.atomic import output_file
    from cpts_geo.validation.render import print_pdf

    outputs = [(path, kind) for path, kind in ((args.json, "json"), (args.html, "html"),
                                                (args.markdown, "markdown"), (args.pdf, "pdf")) if path]
    written = [path for path, _ in outputs]
    if outputs:
        html = report.to_html() if any(k in ("html", "pdf") for _, k in outputs) else None
        with contextlib.ExitStack() as stack:
            for path, kind in outputs:
                tmp = stack.enter_context(output_file(path, inputs))
                if kind == "pdf":
                    print_pdf(html, tmp)
                else:
                    text = {"json": report.to_json, "html": lambda: html, "markdown": report.to_markdown}[kind]()
                    tmp.write_text(text, encoding="utf-8")  # a full disk: OutputError naming ``path``
    if args.quiet:
        print(("BLOQUANT — " if report.blocking else "OK — ") + verdict_text(report))
    else:
        print(report.text())
    for path in written:
        print(f"Rapport écrit : {path}")
    return report.exit_code

