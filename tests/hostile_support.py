"""A hostile corpus built from the real PACA sample listing: CPTS names that are HTML with event
handlers or spreadsheet formulas, a listing whose *file name* is HTML, and overlaps between those
CPTS so that every table (overlaps.csv, overlap_pairs.csv, the workbook) holds them.

Each HTML payload, if it ever ran, would leave a trace the browser test reads: ``window.__pwned``
set and ``document.title`` changed to « pwned ».
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "cpts_paca_sample" / "cpts_04_05_84.csv"

#: a CPTS / territory name whose handler would mark the page if the name reached it as HTML
HTML_NAME = "<img src=x onerror=\"window.__pwned='nom';document.title='pwned'\">"
#: a second one, through another element and event (SVG onload runs without any fetch)
SVG_NAME = "<svg onload=\"window.__pwned='svg';document.title='pwned'\"></svg> CPTS"
#: a listing file name that is HTML (no « / »: a valid file name)
HTML_FILE = "liste <img src=x onerror=window.__pwned='fichier'>.csv"
#: a proposal file name that is HTML
HTML_PROPOSAL_FILE = "projet <svg onload=window.__pwned='projet'>.csv"
#: CPTS names a spreadsheet would take for formulas (the OWASP triggers a name can start with)
FORMULA_NAMES = ('=HYPERLINK("http://exemple.invalid/vol","Cliquer ici")', "+1+1 Santé",
                 "-2+3 Provence", "@SUM(1+1) Ouvèze")
#: sample CPTS renamed → hostile name
RENAMED = {
    "CPTS Sud 04": HTML_NAME,
    "CPTS Ubaye Serre-Ponçon": SVG_NAME,
    "CPTS Verdon": FORMULA_NAMES[0],
    "CPTS Guil Durance": FORMULA_NAMES[1],
    "CPTS Nord Provence": FORMULA_NAMES[2],
    "CPTS Haute Ouvèze": FORMULA_NAMES[3],
}
#: every hostile CPTS name
HOSTILE_NAMES = tuple(RENAMED.values())


def hostile_frame() -> pd.DataFrame:
    """The sample listing (rows ``cpts, code_insee``) with the CPTS of :data:`RENAMED` renamed,
    and, for each of them, its first two communes listed again by the next hostile CPTS: every
    hostile name is in an overlap, with two others."""
    src = pd.read_csv(SAMPLE, dtype=str)
    src["cpts"] = src["cpts"].replace(RENAMED)
    extra = []
    names = list(HOSTILE_NAMES)
    for name, nxt in zip(names, names[1:] + names[:1], strict=True):
        for code in src.loc[src["cpts"] == name, "code_insee"].head(2):
            extra.append({"cpts": nxt, "code_insee": code})
    return pd.concat([src, pd.DataFrame(extra)], ignore_index=True)


def hostile_listing(folder: Path, file_name: str = HTML_FILE) -> Path:
    """Write :func:`hostile_frame` as ``folder / file_name`` (CSV, ``,``); returns the path."""
    path = Path(folder) / file_name
    hostile_frame().to_csv(path, index=False)
    return path


def hostile_proposal(folder: Path, name: str = HTML_NAME, file_name: str = HTML_PROPOSAL_FILE) -> Path:
    """A proposal named ``name`` (file ``folder / file_name``, column ``cpts``): six communes of
    the HTML-named CPTS (« CPTS Sud 04 » of the sample), so it overlaps it."""
    src = pd.read_csv(SAMPLE, dtype=str)
    codes = src.loc[src["cpts"].isin(["CPTS Sud 04"]), "code_insee"].head(6).tolist()
    path = Path(folder) / file_name
    pd.DataFrame({"cpts": name, "code_insee": codes}).to_csv(path, index=False)
    return path
