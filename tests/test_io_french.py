"""The one cell-writing rule of cpts_geo.io.french: a text beginning with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return is written as text — a string cell with Excel's quote prefix in a
workbook, behind the OWASP apostrophe in a CSV — in every writer, and numbers stay numbers.

The writers are run on the real sample listing with hostile CPTS names (tests/hostile_support.py)
and their files opened with openpyxl and the csv module.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hostile_support import FORMULA_NAMES, HTML_FILE, HTML_NAME, SAMPLE, hostile_listing

import cpts_geo
from cpts_geo.cli import main
from cpts_geo.io.french import (
    FORMULA_TRIGGERS,
    csv_text,
    from_csv_text,
    is_formula_text,
    write_csv,
    write_sheet,
    write_workbook,
)
from cpts_geo.io.tables import read_table

#: a number as the French CSV writes it (a negative one starts with « - » and is no text)
_CSV_NUMBER = re.compile(r"-?\d+([.,]\d+)?(e-?\d+)?")


def _csv_cells(path: Path | str, sep: str = ";") -> list[list[str]]:
    text = Path(path).read_text(encoding="utf-8-sig") if not isinstance(path, str) else path
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=sep))


def assert_csv_inert(rows: list[list[str]], where: str) -> list[str]:
    """No cell of ``rows`` starts like a formula unless it is a number; returns every cell."""
    cells = [c for r in rows for c in r]
    live = [c for c in cells if c[:1] in FORMULA_TRIGGERS and not _CSV_NUMBER.fullmatch(c)]
    assert live == [], (where, live[:5])
    return cells


def assert_workbook_inert(path: Path) -> list[object]:
    """No formula anywhere in the workbook; every formula-like text is a string cell with Excel's
    quote prefix; returns every cell value."""
    wb = openpyxl.load_workbook(path)
    values = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                values.append(cell.value)
                assert cell.data_type != "f", (path.name, ws.title, cell.coordinate, cell.value)
                if is_formula_text(cell.value):
                    assert cell.data_type == "s" and cell.quotePrefix, (path.name, ws.title, cell.coordinate)
    return values


def _has(values: list[object], name: str) -> bool:
    return any(isinstance(v, str) and name in v for v in values)


# ------------------------------------------------------------------------------------------
# The rule
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["=1+1", "+33 4 92", "-2+3", "@SUM(A1)", "\tTAB", "\rCR",
                                  '=HYPERLINK("http://x","y")'])
def test_every_formula_trigger_is_written_behind_an_apostrophe_in_csv(text):
    assert is_formula_text(text) and csv_text(text) == "'" + text.replace("\r", "\n")
    assert from_csv_text(csv_text(text)) == text.replace("\r", "\n")


@pytest.mark.parametrize("value", ["CPTS Sud 04", "04088", "", "'apostrophe", -5, -2.5, 0, None])
def test_other_values_and_every_number_are_written_unchanged(value):
    assert not is_formula_text(value) and csv_text(value) == value


def _mixed() -> pd.DataFrame:
    return pd.DataFrame({
        "cpts": ["=1+1", "+A", "-B", "@C", "\tD", "\rE", "CPTS normale"],
        "solde": [-5, -1, 0, 3, -7, 2, -100000],  # integers, negative ones included
        "part": [-0.25, 0.5, -1.5, 0.0, 2.0, -3.0, 1.0],
        "mêlé": ["-3", -3, "=x", 15, None, "texte", "@y"],  # text and numbers in one column
    })


def test_a_french_csv_writes_texts_behind_an_apostrophe_and_numbers_as_numbers(tmp_path):
    path = tmp_path / "t.csv"
    write_csv(_mixed(), path)
    rows = _csv_cells(path)
    # a CR, which the CSV writer would not quote, is written as a quoted line feed
    assert [r[0] for r in rows[1:]] == ["'=1+1", "'+A", "'-B", "'@C", "'\tD", "'\nE", "CPTS normale"]
    assert [r[1] for r in rows[1:]] == ["-5", "-1", "0", "3", "-7", "2", "-100000"]
    assert rows[1][2] == "-0,25" and rows[3][2] == "-1,5"
    assert [r[3] for r in rows[1:]] == ["'-3", "-3", "'=x", "15", "", "texte", "'@y"]
    assert_csv_inert(rows, "t.csv")


def test_a_csv_cpts_geo_wrote_reads_back_as_it_was(tmp_path):
    path = tmp_path / "t.csv"
    names = ["=1+1", "+A", "-B", "@C", "'=déjà protégé", "'simple"]
    write_csv(pd.DataFrame({"cpts": names, "n": range(len(names))}), path)
    assert read_table(path)["cpts"].tolist() == names


def test_a_csv_written_to_a_stream_follows_the_rule_too():
    out = io.StringIO()
    write_csv(pd.DataFrame({"=tête": ["=a"], "n": [-1]}), out, "international")
    assert _csv_cells(out.getvalue(), ",") == [["'=tête", "n"], ["'=a", "-1"]]


def test_a_streamed_workbook_holds_formula_like_texts_as_string_cells(tmp_path):
    path = tmp_path / "t.xlsx"
    write_workbook(path, {"Feuille": _mixed()})
    ws = openpyxl.load_workbook(path)["Feuille"]
    texts = [ws.cell(r, 1) for r in range(2, 9)]
    assert [c.value for c in texts[:4]] == ["=1+1", "+A", "-B", "@C"]
    assert all(c.data_type == "s" and c.quotePrefix for c in texts[:6])
    assert texts[6].value == "CPTS normale" and not texts[6].quotePrefix
    assert [ws.cell(r, 2).value for r in range(2, 9)] == [-5, -1, 0, 3, -7, 2, -100000]
    assert all(ws.cell(r, 2).data_type == "n" for r in range(2, 9))
    assert ws.cell(2, 3).value == -0.25 and ws.cell(2, 3).data_type == "n"
    assert (ws.cell(2, 4).value, ws.cell(2, 4).data_type) == ("-3", "s")
    assert (ws.cell(3, 4).value, ws.cell(3, 4).data_type) == (-3, "n")
    assert_workbook_inert(path)


def test_a_pandas_written_sheet_holds_formula_like_texts_as_string_cells(tmp_path):
    path = tmp_path / "t.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        write_sheet(xl, _mixed(), "=Feuille")
    ws = openpyxl.load_workbook(path).worksheets[0]
    assert ws.cell(2, 1).value == "=1+1" and ws.cell(2, 1).data_type == "s" and ws.cell(2, 1).quotePrefix
    assert ws.cell(2, 2).value == -5 and ws.cell(2, 2).data_type == "n"
    assert_workbook_inert(path)


# ------------------------------------------------------------------------------------------
# Every writer, on the real sample with hostile names
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def listing(tmp_path_factory) -> Path:
    return hostile_listing(tmp_path_factory.mktemp("hostile"))


@pytest.fixture(scope="module")
def coverage_out(listing, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("coverage") / "sortie"
    assert main(["coverage", str(listing), "--out", str(out), "--no-maps"]) == 0
    return out


def test_coverage_writes_every_hostile_name_as_text_in_every_csv(coverage_out):
    csvs = sorted(coverage_out.glob("*.csv"))
    assert {p.name for p in csvs} >= {"overlaps.csv", "overlap_pairs.csv"}
    for path in csvs:
        assert_csv_inert(_csv_cells(path), path.name)
    for name in ("overlaps.csv", "overlap_pairs.csv"):  # every hostile CPTS is in an overlap
        cells = assert_csv_inert(_csv_cells(coverage_out / name), name)
        for hostile in FORMULA_NAMES:
            assert _has(cells, "'" + hostile) or _has(cells, hostile), (name, hostile)
    pairs = [c for r in _csv_cells(coverage_out / "overlap_pairs.csv") for c in r]
    assert {"'" + n for n in FORMULA_NAMES} <= set(pairs)


def test_coverage_workbook_holds_hostile_names_as_text_and_numbers_as_numbers(coverage_out):
    path = coverage_out / "diagnostic_cpts.xlsx"
    values = assert_workbook_inert(path)
    for hostile in (*FORMULA_NAMES, HTML_NAME):
        assert hostile in values, hostile
    assert _has(values, HTML_FILE)  # the listing's file name, in the provenance sheet
    ws = openpyxl.load_workbook(path).worksheets[0]
    numbers = [c for row in ws.iter_rows(min_row=2) for c in row if isinstance(c.value, (int, float))]
    assert numbers and all(c.data_type == "n" for c in numbers)


def test_the_coverage_rate_workbook_holds_hostile_names_as_text(listing, tmp_path):
    from cpts_geo.maps.rates import write_rates_workbook

    path = write_rates_workbook(cpts_geo.diagnose(listing), tmp_path / "taux.xlsx", None)
    assert _has(assert_workbook_inert(path), HTML_FILE)


def test_compare_writes_hostile_names_as_text(listing, tmp_path, capsys):
    path = tmp_path / "cmp.xlsx"
    assert main(["compare", str(SAMPLE), str(listing), "--xlsx", str(path)]) == 0
    values = assert_workbook_inert(path)
    for hostile in FORMULA_NAMES:
        assert hostile in values or _has(values, hostile), hostile


def test_apl_per_cpts_writes_hostile_names_as_text_and_reads_them_back(listing, tmp_path, capsys):
    out = tmp_path / "apl.csv"
    assert main(["apl", "--out", str(out), "--listing", str(listing)]) == 0
    per_cpts = out.with_name("apl_cpts.csv")
    cells = assert_csv_inert(_csv_cells(per_cpts), per_cpts.name)
    assert {"'" + n for n in FORMULA_NAMES} <= set(cells)
    assert_csv_inert(_csv_cells(out), out.name)
    from cpts_geo.indicators.apl_estimate import read_apl_estimate

    assert set(FORMULA_NAMES) <= set(read_apl_estimate(per_cpts)["cpts"])


def test_normalise_writes_formula_like_inputs_as_text(tmp_path, capsys):
    src = tmp_path / "codes.csv"
    src.write_text("code;remarque\n04088;ok\n=1+1;x\n@SUM(1);y\n-04070;z\n", encoding="utf-8")
    out = tmp_path / "norm.csv"
    main(["normalise", "--file", str(src), "--out", str(out)])
    cells = assert_csv_inert(_csv_cells(out), out.name)
    assert "'=1+1" in cells and "'@SUM(1)" in cells


@pytest.fixture(scope="module")
def app_client(listing):
    from starlette.testclient import TestClient

    from cpts_geo.app import create_app

    with TestClient(create_app(existing=listing)) as client:
        yield client


def _export(client, kind: str, name: str) -> bytes:
    codes = pd.read_csv(SAMPLE, dtype=str)["code_insee"].head(3).tolist()
    r = client.post(f"/api/export/{kind}", json={"codes": codes, "name": name})
    assert r.status_code == 200, r.text
    return r.content


@pytest.mark.parametrize("name", FORMULA_NAMES)
def test_the_app_exports_write_a_hostile_territory_name_as_text(app_client, name, tmp_path):
    rows = _csv_cells(_export(app_client, "csv", name).decode("utf-8-sig"))
    assert_csv_inert(rows, "export CSV")
    assert {r[0] for r in rows[1:]} == {"'" + name}
    path = tmp_path / "export.xlsx"
    path.write_bytes(_export(app_client, "xlsx", name))
    values = assert_workbook_inert(path)
    assert name in values
    ws = openpyxl.load_workbook(path)["Communes"]
    pops = [ws.cell(r, 4) for r in range(2, ws.max_row + 1)]
    assert pops and all(c.data_type == "n" and c.value > 0 for c in pops)


def test_the_app_csv_export_reads_back_as_a_listing_with_its_name(app_client, tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(_export(app_client, "csv", FORMULA_NAMES[0]))
    members = cpts_geo.read_members(path)
    assert set(members["cpts"]) == {FORMULA_NAMES[0]}
    assert json.loads(json.dumps(sorted(members["code"])))  # codes kept
