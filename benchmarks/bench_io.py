"""Benchmark of cpts_geo.io.read_table against the readers it replaced, measured in the same run.

Tables: the real PACA sample listing repeated to 200,000 rows (the size of the large-listing case
of the reliability issue), saved as UTF-8 CSV with ``;``, as Windows-1252 CSV with ``,``, and as
an XLSX workbook with a title line above the header.

Timed (best of 3): ``read_table`` (encoding and separator detection, header detection, text
cells, file row of each row) against what ``read_members`` did before: ``pd.read_csv(sep=None,
engine="python", dtype=str)`` for CSV (trying ``utf-8-sig`` then ``cp1252``) and
``pd.read_excel(dtype=str)`` for XLSX (which did not skip the title line); and the whole
``read_members`` on the CSV (code normalisation included) for scale.

Run: ``python benchmarks/bench_io.py [rows]``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import openpyxl
import pandas as pd
from _results import save  # benchmarks/ is on the path when this script runs

import cpts_geo as cg
from cpts_geo.io import read_table

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "cpts_paca_sample" / "cpts_04_05_84.csv"


def best(f, n: int = 3) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def old_csv(path: Path) -> pd.DataFrame:
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return pd.read_csv(path, dtype=str, sep=None, engine="python", encoding=enc, keep_default_na=False)
        except UnicodeDecodeError:
            continue
    raise ValueError(path)


def main(rows: int = 200_000) -> None:
    sample = pd.read_csv(SAMPLE, dtype=str)
    big = pd.concat([sample] * (rows // len(sample) + 1), ignore_index=True).iloc[:rows]
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        utf8 = d / "liste_utf8.csv"
        big.to_csv(utf8, sep=";", index=False, encoding="utf-8")
        cp = d / "liste_cp1252.csv"
        big.to_csv(cp, sep=",", index=False, encoding="cp1252")
        xlsx = d / "liste.xlsx"
        wb = openpyxl.Workbook(write_only=True)
        ws = wb.create_sheet("Liste")
        ws.append(["Listing CPTS ARS PACA"])
        ws.append(list(big.columns))
        for r in big.itertuples(index=False):
            ws.append(list(r))
        wb.save(xlsx)
        print(f"{rows} rows")
        figures: dict = {"rows": rows}
        for label, key, path in (("CSV utf-8 ;", "csv_utf8", utf8), ("CSV cp1252 ,", "csv_cp1252", cp)):
            new = best(lambda p=path: read_table(p))
            old = best(lambda p=path: old_csv(p))
            assert read_table(path)["code_insee"].tolist() == old_csv(path)["code_insee"].tolist()
            print(f"  {label:14s} read_table {new:6.2f} s   pd.read_csv(sep=None, python) {old:6.2f} s   "
                  f"ratio {old / new:4.1f}")
            figures[key] = {"read_table_s": round(new, 3), "pandas_s": round(old, 3)}
        new = best(lambda: read_table(xlsx), 1)
        old = best(lambda: pd.read_excel(xlsx, dtype=str), 1)
        print(f"  {'XLSX':14s} read_table {new:6.2f} s   pd.read_excel(dtype=str)       {old:6.2f} s   "
              f"ratio {old / new:4.1f}")
        figures["xlsx"] = {"read_table_s": round(new, 3), "pandas_s": round(old, 3)}
        members = best(lambda: cg.read_members(utf8), 1)
        figures["read_members_csv_s"] = round(members, 3)
        print(f"  read_members (CSV, normalisation included) {members:6.2f} s")
    save("io", figures)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
