"""Issue 12 (outputs an ARS can put on the table), remaining points: per-row number formats of the
« Synthèse » sheet, the computed APL estimate read back by ``coverage``, effective dates of code
changes, the unknown-code sentence, JSON arrondissements, one department vocabulary across
commands, homonyms resolved with the analysed area."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook

import cpts_geo as cg

PERCENT = '0.0"\u00a0"%'  # a share 0-1 shown by a French Excel as « 96,5 % »


@pytest.fixture(scope="module")
def sample_workbook(sample_listing, tmp_path_factory):
    out = tmp_path_factory.mktemp("synthese")
    cg.diagnose(cg.read_members(sample_listing)).write(out, maps=False)
    return load_workbook(out / "diagnostic_cpts.xlsx")


def _synthesis_rows(wb) -> dict[str, object]:
    ws = wb["Synthèse"]
    assert [c.value for c in ws[1]] == ["indicateur", "valeur"]
    return {row[0].value: row[1] for row in ws.iter_rows(min_row=2)}


def test_synthesis_sheet_formats_each_row(sample_workbook, communes):
    rows = _synthesis_rows(sample_workbook)
    labels = [r for r in rows]
    assert len(labels) == len(set(labels))  # no two rows with the same label
    # the population of the three departments of the sample, summed from the reference itself
    pop = int(communes.loc[communes["dep"].isin(["04", "05", "84"]) & (communes["kind"] == "commune"),
                           "population"].sum())
    assert rows["Population"].value == pop == 883_577
    # counts: thousands separators, never a percent
    for label in ("CPTS", "Communes", "Communes couvertes", "Population", "Population couverte",
                  "Population en zone blanche", "CPTS de taille 1"):
        assert rows[label].number_format == "#,##0", label
        assert float(rows[label].value).is_integer()
    # shares: a 0-1 value shown as a percent; hand check against the two counts of the sheet
    share = rows["Part de la population couverte"]
    assert share.number_format == PERCENT
    assert share.value == pytest.approx(rows["Population couverte"].value / rows["Population"].value)
    assert 0 < share.value < 1
    units_share = rows["Part des communes couvertes"]
    assert units_share.number_format == PERCENT
    assert units_share.value == pytest.approx(437 / 511)  # « 437 / 511 » in the printed summary
    # an area to 0.1 km²
    area = rows["Surface des zones blanches"]
    assert area.number_format == '#,##0.0" km²"' and area.value > 0
    # text rows keep the general format
    assert rows["Liste"].value == "cpts_04_05_84.csv" and rows["Liste"].number_format == "General"
    assert rows["Géographie"].value == "Code officiel géographique 2026"


def test_write_sheet_per_row_formats(tmp_path):
    import pandas as pd

    from cpts_geo.io.french import write_workbook

    df = pd.DataFrame({"indicateur": ["Liste", "Population", "Part", "Surface"],
                       "valeur": ["liste.csv", 1234, 0.5, 12.34]})
    p = tmp_path / "t.xlsx"
    write_workbook(p, {"Synthèse": df}, {"Synthèse": {"valeur": [None, "integer", "percent", "km2"]}})
    ws = load_workbook(p)["Synthèse"]
    assert [ws.cell(row=r, column=2).number_format for r in range(2, 6)] == [
        "General", "#,##0", PERCENT, '#,##0.0" km²"']
    with pytest.raises(ValueError):
        write_workbook(p, {"Synthèse": df}, {"Synthèse": {"valeur": ["integer"]}})
