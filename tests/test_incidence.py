"""cpts_geo.incidence: the one CPTS × unit table, on the real sample listing and by hand."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import cpts_geo as cg
from cpts_geo.incidence import Incidence
from cpts_geo.rules import ALL_STAGES
from cpts_geo.units import load_units

SAMPLE = "examples/cpts_paca_sample/cpts_04_05_84.csv"


@pytest.fixture(scope="module")
def diag():
    return cg.diagnose(SAMPLE)


def test_a_unit_listed_twice_counts_once_and_names_both_cpts():
    u = load_units()
    inc = Incidence.from_pairs(u, ["B", "A", "A", "B"], ["04088", "04088", "04111", "04088"])
    at = u.positions(["04088", "04111", "04138"])
    assert inc.n_cpts[at].tolist() == [2, 1, 0]
    assert [inc.cpts_of[k] for k in at] == [("A", "B"), ("A",), ()]
    assert inc.matrix.shape == (2, len(u)) and inc.matrix.sum() == 3
    assert inc.covered()[at].tolist() == [True, True, False]
    assert inc.covered(np.array([False, True]))[at].tolist() == [True, False, False]


def test_the_diagnosis_frames_are_read_from_its_incidence(diag):
    inc = diag.incidence
    area = np.flatnonzero(inc.area)
    assert list(diag.units["code"]) == list(inc.units.code[area])
    assert list(diag.units["n_cpts"]) == list(inc.n_cpts[area])
    zone = inc.by_zone("zone").iloc[0]
    row = diag.coverage[(diag.coverage["level"] == "zone") & (diag.coverage["stages"] == ALL_STAGES)].iloc[0]
    assert (zone["units"], zone["covered_units"], zone["covered_population"]) == (
        row["units"], row["covered_units"], row["covered_population"])
    rates = cg.coverage_rates(diag, geometry=False)
    by_dep = inc.by_zone("dep").set_index("key")
    for r in rates.itertuples():
        assert r.covered_population == by_dep.loc[r.zone, "covered_population"]


def test_restricting_the_area_changes_the_scope_not_the_memberships(diag):
    inc = diag.incidence
    dep_i, cats = inc.units.categories("dep")
    only_05 = inc.within(dep_i == list(cats).index("05"))
    assert only_05.n_cpts is not None and np.array_equal(only_05.n_cpts, inc.n_cpts)
    assert only_05.by_zone("dep")["key"].tolist() == ["05"]
    assert only_05.cpts_in_area.sum() < inc.cpts_in_area.sum()


def test_an_incidence_is_frozen(diag):
    with pytest.raises(dataclasses.FrozenInstanceError):
        diag.incidence.area = None
    with pytest.raises(dataclasses.FrozenInstanceError):
        diag.units = None
    assert "CPTS" in repr(diag.incidence)


def test_the_diagnosis_shows_its_counts_in_a_short_repr_and_a_notebook_table(diag):
    text = repr(diag)
    assert len(text) < 400 and "21 CPTS" in text and "white zones" in text
    html = diag._repr_html_()
    assert html.startswith("<table>") and "Zones blanches" in html and "<script" not in html


def test_overlaps_outside_the_analysed_area_are_named_once_not_counted(tmp_path):
    """The sample and the Nice/Toulon extract (the full PACA listing), analysed on 04, 05, 84:
    Nice and Toulon, shared but outside the area, are neither overlaps nor counted."""
    import pandas as pd

    full = tmp_path / "paca.csv"
    pd.concat([pd.read_csv(SAMPLE, dtype=str),
               pd.read_csv("examples/cpts_paca_sample/cpts_nice_toulon.csv", dtype=str)]).to_csv(full, index=False)
    d = cg.diagnose(str(full), departments=["04", "05", "84"])
    assert d.overlaps.empty and d.overlap_pairs.empty and d.summary["overlapping_units"] == {}
    assert d.summary["double_counted_population"] == 0
    assert set(d.summary["shared_units_outside_area"]) == {"06088", "83137"}
    assert "Nice (06088, 3 CPTS)" in d.text() and "Chevauchements : aucun" in d.text()
    whole = cg.diagnose(str(full))  # the listing's departments: Nice and Toulon are in the area
    assert {"06088", "83137"} <= set(whole.overlaps["code"])
