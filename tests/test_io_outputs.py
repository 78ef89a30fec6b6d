"""The workbook as a person opens it (cpts_geo/io/outputs.py), on the real sample."""

from __future__ import annotations

import math

import pytest
from openpyxl import load_workbook

import cpts_geo


@pytest.fixture(scope="module")
def white_sheet(sample_listing, tmp_path_factory):
    out = tmp_path_factory.mktemp("classeur")
    d = cpts_geo.diagnose(cpts_geo.read_members(sample_listing), departments=["04", "05", "84"])
    d.write(out, maps=False)
    return d, load_workbook(out / "diagnostic_cpts.xlsx")["Zones blanches"]


def test_border_lengths_are_french_decimals_in_the_order_of_the_neighbours(white_sheet):
    d, ws = white_sheet
    header = [c.value for c in ws[1]]
    km, nb = header.index("limite commune km"), header.index("CPTS voisines")
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(d.white_zones) == 2
    for row, (names, lengths) in zip(rows, zip(d.white_zones["neighbour_cpts"],
                                               d.white_zones["neighbour_border_km"], strict=True), strict=True):
        cell = row[km]
        assert "." not in cell and ";" in cell or len(lengths) == 1
        values = [float(v.replace(",", ".")) for v in cell.split(" ; ")]
        assert len(values) == len(lengths) == len(row[nb].split("; ")) == len(names)
        assert all(math.isclose(a, b, abs_tol=0.05) for a, b in zip(values, lengths, strict=True))
    # the Jabron-Lure zone touches four CPTS; Les Omergues (04140) only CPTS Sud 04
    assert rows[0][km].count(";") == 3 and rows[1][nb] == "CPTS Sud 04"
