"""``cpts-geo normalise``: normalise a column of codes or names to COG 2026."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("normalise", help="Convertit des codes INSEE ou noms de communes au COG 2026.")
    p.add_argument("codes", nargs="*", help="codes ou noms (sinon --file)")
    p.add_argument("--file", type=Path, help="CSV/XLSX contenant une colonne de codes")
    p.add_argument("--column", default=None, help="colonne des codes (défaut : première colonne)")
    p.add_argument("--out", type=Path, help="CSV de sortie (défaut : sortie standard)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from cpts_geo.codes import normalise_codes

    if args.file:
        if args.file.suffix.lower() in (".xlsx", ".xls"):
            df = pd.read_excel(args.file, dtype=str)
        else:
            df = pd.read_csv(args.file, dtype=str, sep=None, engine="python")
        values = df[args.column or df.columns[0]].tolist()
    else:
        values = args.codes
    if not values:
        print("aucun code fourni", file=sys.stderr)
        return 2
    out = normalise_codes(values)
    out = out.drop(columns="candidates")
    if args.out:
        out.to_csv(args.out, index=False)
    else:
        out.to_csv(sys.stdout, index=False)
    return 0
