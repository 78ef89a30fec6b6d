"""``cpts-geo normalise``: normalise a column of codes or names to COG 2026."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("normalise", help="Convertit des codes INSEE ou noms de communes au COG 2026.")
    p.add_argument("codes", nargs="*", help="codes ou noms (sinon --file)")
    p.add_argument("--file", type=Path, help="tableau (CSV, XLSX, JSON…) contenant une colonne de codes ou de noms")
    p.add_argument("--column", default=None, help="colonne des codes (défaut : colonne de codes reconnue, sinon la première)")
    p.add_argument("--sheet", default=None, help="feuille du classeur (défaut : la première)")
    p.add_argument("--header-row", type=int, default=None,
                   help="numéro de la ligne d'en-tête (défaut : détectée ; 0 : fichier sans en-tête)")
    p.add_argument("--out", type=Path, help="CSV de sortie (défaut : sortie standard)")
    p.add_argument("--csv-format", choices=("fr", "international"), default="fr",
                   help="fr : « ; » et virgule décimale, UTF-8 avec BOM (défaut) ; international : « , » et point")
    p.set_defaults(func=run)


#: column names of a column of codes or names (the first found is normalised)
_COLUMNS = ("code insee", "code", "codgeo", "depcom", "insee", "code commune", "code commune insee", "codes",
            "code geo", "code officiel geographique", "commune", "communes", "nom commune", "libgeo")


def read_values(path: Path, column: str | None, sheet: str | None = None, header_row: int | None = None) -> list:
    """Values of the column to normalise in a table file (every row kept, empty cells included).

    A one-column file whose first line is itself a code has no header: that code is kept."""
    from cpts_geo.io.tables import clean_code, find_column, is_insee_code, read_table

    hints = (column,) if column else _COLUMNS
    df = read_table(path, sheet, header_row=header_row, hints=hints)
    if header_row is None and column is None and len(df.columns) == 1 and is_insee_code(clean_code(df.columns[0])):
        df = read_table(path, sheet, header_row=0)
    if column is not None:
        col = find_column(df.columns, given=column, source=df.attrs["source"])
    else:
        col = find_column(df.columns, _COLUMNS) or df.columns[0]
    return df[col].tolist()


def run(args: argparse.Namespace) -> int:
    from cpts_geo.cli.checks import check_file_argument

    for option, value in (("--file", args.file),):
        check_file_argument(value, option, file_only=True)
    from cpts_geo.cli.checks import check_outputs

    check_outputs({"--out": args.out}, [args.file])  # --out never rewrites the file read
    from cpts_geo.codes import normalise_codes
    from cpts_geo.io.french import write_csv

    # a file that cannot be read raises InputError: the entry point prints it in French, exit 2
    values = read_values(args.file, args.column, args.sheet, args.header_row) if args.file else args.codes
    if not values:
        if args.file:
            from cpts_geo.errors import InputError

            raise InputError("aucun code ni nom de commune dans le fichier", args.file.name)
        print("erreur : aucun code fourni (des codes, ou --file)", file=sys.stderr)
        return 2
    out = normalise_codes(values).drop(columns="candidates")
    if args.file and out["code"].isna().all():  # nothing recognised: an error, not an empty result
        from cpts_geo import fr
        from cpts_geo.errors import InputError

        shown = [m for m in out["message"].tolist() if m][:3]
        raise InputError(f"aucune des {fr.integer(len(out))} valeurs n'est un code INSEE ni un nom de commune "
                         "reconnu" + (" : " + " ; ".join(shown) if shown else ""), args.file.name)
    if args.out is None:
        write_csv(out, sys.stdout, args.csv_format)
        return 0
    from cpts_geo.io.atomic import output_file

    with output_file(args.out, [args.file]) as tmp:  # complete or absent, never the input
        write_csv(out, tmp, args.csv_format)
    return 0
