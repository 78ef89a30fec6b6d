"""Coverage rates by zone on real listings: the sample (PACA, departments 04, 05, 84) checked
against a plain loop over the listing file and the reference communes, and a two-region listing
(the sample plus three CPTS of the Drôme made of whole real EPCI) for the stage filter and the
default choice of the choropleth."""

from __future__ import annotations

import csv
import functools

import numpy as np
import pandas as pd
import pytest
from test_maps_support import SAMPLE, sample_diagnosis

import cpts_geo
from cpts_geo import reference
from cpts_geo.errors import OptionError
from cpts_geo.rates import coverage_rates, spans_regions


def _loop_rates(listing_codes: set[str], deps: list[str]) -> dict[str, tuple[int, int, int]]:
    """dep → (population, covered population, uncovered communes), by a plain loop over the
    reference communes: a commune listed by two CPTS is one element of the set, counted once."""
    out = {}
    c = reference.load_communes()
    for dep in deps:
        pop = cov = white = 0
        for code, d, kind, p in zip(c["code"], c["dep"], c["kind"], c["population"], strict=True):
            if kind != "commune" or d != dep:
                continue
            pop += int(p)
            if code in listing_codes:
                cov += int(p)
            else:
                white += 1
        out[dep] = (pop, cov, white)
    return out


@functools.cache
def _sample_codes() -> set[str]:
    with open(SAMPLE, encoding="utf-8") as f:
        return {row["code_insee"] for row in csv.DictReader(f)}


def test_department_rates_of_the_sample_match_a_plain_loop():
    rates = coverage_rates(sample_diagnosis())
    assert sorted(rates["zone"]) == ["04", "05", "84"]
    expected = _loop_rates(_sample_codes(), ["04", "05", "84"])
    for r in rates.itertuples():
        pop, cov, white = expected[r.zone]
        assert (r.population, r.covered_population, r.n_white_units) == (pop, cov, white), r.zone
        assert r.white_population == pop - cov
        assert r.rate == pytest.approx(cov / pop)
    names = dict(zip(rates["zone"], rates["nom"], strict=True))
    assert names == {"04": "Alpes-de-Haute-Provence", "05": "Hautes-Alpes", "84": "Vaucluse"}
    # every commune of the Hautes-Alpes is in the listing
    assert rates.set_index("zone").loc["05", "rate"] == 1.0
    # largest uncovered population first
    assert list(rates["white_population"]) == sorted(rates["white_population"], reverse=True)
    assert rates.attrs["cog"] == 2026 and rates.attrs["population_year"] == 2023
    assert rates.attrs["level"] == "departement" and rates.attrs["stage"] is None
    assert not rates["partial"].any()


def test_overlapping_communes_count_once():
    """A CPTS added over three communes of the CPTS du Grand Avignon: the listed populations add
    them twice, the covered population of the Vaucluse stays that of the sample."""
    sample = pd.read_csv(SAMPLE, dtype=str)
    avignon = sample.loc[sample["cpts"] == "CPTS du Grand Avignon", "code_insee"].head(3)
    extra = pd.DataFrame({"cpts": "CPTS en chevauchement", "code_insee": avignon})
    d = cpts_geo.diagnose(cpts_geo.read_members(pd.concat([sample, extra], ignore_index=True)))
    assert sorted(d.overlaps["code"]) == sorted(avignon)
    rates = coverage_rates(d).set_index("zone")
    pop, cov, white = _loop_rates(_sample_codes(), ["84"])["84"]
    assert (rates.loc["84", "covered_population"], rates.loc["84", "n_white_units"]) == (cov, white)
    pairs = d.perimeters.explode("codes")["codes"]
    pop_of = reference.units()["population"]
    listed = sum(int(pop_of[c]) for c in pairs if str(c).startswith("84"))
    # a sum over the CPTS counts the three shared communes twice
    assert listed == cov + sum(int(pop_of[c]) for c in avignon)


def test_epci_and_bassin_de_vie_levels():
    d = sample_diagnosis()
    epci = coverage_rates(d, "epci")
    # the Métropole d'Aix-Marseille-Provence reaches into the Vaucluse (Pertuis) only partly
    amp = epci.set_index("zone").loc["200054807"]
    assert amp["nom"].startswith("Métropole d'Aix-Marseille") and bool(amp["partial"])
    c = reference.load_communes()
    in_area = c[(c["epci"] == "200054807") & c["dep"].isin(["04", "05", "84"])]
    assert amp["population"] == int(in_area["population"].sum())
    bv = coverage_rates(d, "bv").set_index("zone")
    # INSEE names a bassin de vie after its pole commune: 04209 is Sisteron
    assert bv.loc["04209", "nom"] == "Bassin de vie de Sisteron"
    assert epci["population"].sum() == bv["population"].sum() == coverage_rates(d)["population"].sum()
    # zone outlines: valid, dissolved from the communes, areas in Lambert-93
    geo = epci.set_index("zone").loc[["200068765"]]
    assert geo.geometry.is_valid.all()
    members = c[(c["epci"] == "200068765") & c["dep"].isin(["04", "05", "84"])]
    area = geo.to_crs(2154).area.iloc[0]
    assert area == pytest.approx(members.to_crs(2154).area.sum(), rel=1e-6)


def test_bad_options_are_french_option_errors():
    d = sample_diagnosis()
    with pytest.raises(OptionError, match="niveau inconnu"):
        coverage_rates(d, "canton")
    with pytest.raises(OptionError, match="étape inconnue"):
        coverage_rates(d, stage="signé")
    with pytest.raises(OptionError, match="ne donne pas le stade"):
        coverage_rates(d, stage="aci")  # the sample gives no stage


# --- a listing over two regions -------------------------------------------------------------

#: three EPCI of the Drôme (Auvergne-Rhône-Alpes), as three CPTS
DROME_EPCI = ("200040459", "242600252", "200068229")


#: the area of :func:`two_region_diagnosis`: the departments the sample covers whole, and the Drôme
TWO_REGION_DEPARTMENTS = ["04", "05", "26", "84"]


@functools.cache
def two_region_listing() -> pd.DataFrame:
    sample = pd.read_csv(SAMPLE, dtype=str).assign(stade="projet de santé validé")
    c = reference.load_communes()
    c = c[(c["kind"] == "commune") & (c["dep"] == "26")]
    rows = []
    for i, e in enumerate(DROME_EPCI):
        codes = c.loc[c["epci"] == e, "code"]
        assert len(codes), e
        rows.append(pd.DataFrame({"cpts": f"CPTS Drôme {i + 1}", "code_insee": codes,
                                  "stade": "ACI signé" if i < 2 else "lettre d'intention validée"}))
    return pd.concat([sample, *rows], ignore_index=True)


@functools.cache
def two_region_diagnosis() -> cpts_geo.Diagnosis:
    # the sample's three departments (three of its CPTS reach into 06, 13 and 83) and the Drôme
    return cpts_geo.diagnose(cpts_geo.read_members(two_region_listing()), departments=TWO_REGION_DEPARTMENTS)


def test_aci_stage_counts_only_the_cpts_that_signed():
    d = two_region_diagnosis()
    assert spans_regions(d) and not spans_regions(sample_diagnosis())
    c = reference.load_communes()
    drome = c[(c["kind"] == "commune") & (c["dep"] == "26")]
    aci_pop = int(drome.loc[drome["epci"].isin(DROME_EPCI[:2]), "population"].sum())
    all_pop = int(drome.loc[drome["epci"].isin(DROME_EPCI), "population"].sum())
    rates = coverage_rates(d, stage="aci").set_index("zone")
    every = coverage_rates(d).set_index("zone")
    assert rates.loc["26", "covered_population"] == aci_pop
    assert every.loc["26", "covered_population"] == all_pop
    assert rates.loc["26", "population"] == int(drome["population"].sum())
    # no sample CPTS has signed the ACI: nothing covered in 04, 05 and 84
    assert (rates.loc[["04", "05", "84"], "covered_population"] == 0).all()
    assert rates.attrs["stage_label"] == "CPTS ayant signé l'ACI"
    assert np.isclose(rates.loc["26", "rate"], aci_pop / int(drome["population"].sum()))


def test_population_of_another_vintage_is_named():
    """Mayotte's legal population is that of the 2017 census (INSEE has published none since):
    the rates say which communes carry it."""
    c = reference.load_communes()
    may = c[(c["dep"] == "976") & (c["kind"] == "commune")].sort_values("code")
    half = may["code"].iloc[: len(may) // 2]
    d = cpts_geo.diagnose(cpts_geo.read_members(pd.DataFrame({"cpts": "CPTS Mayotte Nord",
                                                             "code_insee": half})))
    rates = coverage_rates(d)
    assert list(rates["zone"]) == ["976"] and rates["nom"].iloc[0] == "Mayotte"
    notes = rates.attrs["population_notes"]
    assert len(notes) == 1 and "2017" in notes[0]["population_source"]
    assert notes[0]["codes"] == sorted(may["code"])
    assert rates["covered_population"].iloc[0] == int(may.loc[may["code"].isin(half), "population"].sum())
