"""diagnose() on the real reference and the real PACA listing, plus built cases for every situation
(arrondissements, whole-city sharing, obsolete codes, enclaves, islands, cross-region CPTS, coast,
units without outline, stages) and property tests. Expected values are computed independently
from the reference, never copied from the code's output."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

import cpts_geo
from cpts_geo.cli import main
from cpts_geo.coverage import SUMMARY_KEYS

SAMPLE_DEPARTMENTS = ["04", "05", "84"]  # the departments the sample covers whole


@pytest.fixture(scope="module")
def ref():
    return cpts_geo.load_communes().set_index("code", drop=False)


@pytest.fixture(scope="module")
def sample_members(sample_listing):
    return cpts_geo.read_members(sample_listing)


@pytest.fixture(scope="module")
def sample_diag(sample_members):
    return cpts_geo.diagnose(sample_members, departments=SAMPLE_DEPARTMENTS)


def _neighbours(ref, code):
    """Units whose outline touches ``code`` (queen contiguity), by a plain spatial predicate."""
    communes = ref[ref["kind"] == "commune"]
    geom = ref.at[code, "geometry"]
    hit = communes[communes.geometry.intersects(geom)]
    return sorted(set(hit["code"]) - {code})


def test_sample_units_and_properties(sample_diag, sample_members, ref):
    d = sample_diag
    area = ref[(ref["dep"].isin(["04", "05", "84"])) & (ref["kind"] == "commune")]
    assert sorted(d.units["code"]) == sorted(area["code"])
    s = d.summary
    assert set(SUMMARY_KEYS) <= set(s)
    json.dumps(s)  # plain, JSON-serialisable
    # covered + white = all units, in count and population
    listed = set(sample_members["code"])
    assert s["covered_units"] == len(listed & set(area["code"]))
    assert s["covered_units"] + s["white_units"] == s["units"] == len(area)
    assert s["population"] == int(area["population"].sum())
    white_codes = set(area["code"]) - listed
    assert s["white_population"] == int(area.loc[sorted(white_codes), "population"].sum())
    assert s["covered_population_share"] == pytest.approx(1 - s["white_population"] / s["population"])
    assert {c for z in d.white_zones["codes"] for c in z} == white_codes
    assert d.white_zones["n_units"].sum() == len(white_codes)
    assert s["converted_codes"] == {"05120": "05001"}
    assert s["refused_codes"] == {}
    assert s["cog"] == 2026 and s["population_year"] == 2023


def test_sample_perimeters(sample_diag, sample_members, ref):
    p = sample_diag.perimeters.set_index("cpts")
    assert len(p) == 21  # every CPTS, also those reaching into 06, 13 and 83
    for name, g in sample_members.groupby("cpts"):
        codes = sorted(set(g["code"]))
        assert list(p.at[name, "codes"]) == codes
        assert p.at[name, "population"] == int(ref.loc[codes, "population"].sum())
        assert p.at[name, "deps"] == tuple(sorted(set(ref.loc[codes, "dep"])))
    # ACI band from the population, thresholds 40 000 / 80 000 / 175 000
    expected = np.select([p["population"] < 40_000, p["population"] < 80_000, p["population"] < 175_000], [1, 2, 3], 4)
    assert list(p["band"]) == list(expected)
    assert sample_diag.summary["bands"] == {str(k): int((expected == k).sum()) for k in (1, 2, 3, 4)}
    # geometry: valid, one piece each, area matches the Lambert-93 area of the outline
    assert shapely.is_valid(p.geometry.values).all()
    l93 = p.geometry.to_crs(2154).area / 1e6
    assert np.allclose(l93, p["area_km2"], rtol=1e-3)
    assert (p["n_parts"] == 1).all()
    assert np.allclose(p["density"], p["population"] / p["area_km2"])


def test_sample_white_zones_are_contiguous_and_separate(sample_diag, ref):
    w = sample_diag.white_zones
    assert list(w["zone_id"]) == list(range(1, len(w) + 1))
    assert (shapely.get_num_geometries(w.geometry.values) == 1).all()
    g = w.geometry.to_crs(2154).values
    for i in range(len(g)):
        for j in range(i + 1, len(g)):
            assert shapely.intersection(g[i], g[j]).length < 1e-6  # no shared edge
    # geography: each of the two white zones of the sample reaches the edge of 04/05/84, so none is
    # enclosed. A commune of each zone and the department outside the sample that it touches: Curel
    # (04067, Jabron valley) and Les Omergues (04140), both the Drôme. Entrevaux (04076, CPTS H3VE)
    # and Mérindol (84074, CPTS Val Durance) are covered: white only in the earlier 18-CPTS extract
    assert len(w) == 2
    for code, dep in {"04067": "26", "04140": "26"}.items():
        assert dep in {ref.at[n, "dep"] for n in _neighbours(ref, code)}, code  # the geography holds
        zone = w[w["codes"].map(lambda codes, code=code: code in codes)]
        assert len(zone) == 1 and zone["type"].iloc[0] == "edge", code
    assert len({z for z in w["zone_id"] if any(c in ("04067", "04140")
                                                 for c in w.set_index("zone_id").at[z, "codes"])}) == 2
    assert not any(c in codes for codes in w["codes"] for c in ("04076", "84074"))


def test_result_independent_of_row_order(sample_listing, sample_diag):
    raw = pd.read_csv(sample_listing, dtype=str)
    shuffled = raw.sample(frac=1, random_state=7).reset_index(drop=True)
    d2 = cpts_geo.diagnose(cpts_geo.read_members(shuffled), departments=SAMPLE_DEPARTMENTS)
    s1 = {k: v for k, v in sample_diag.summary.items() if k not in ("listing", "duplicates")}
    s2 = {k: v for k, v in d2.summary.items() if k not in ("listing", "duplicates")}
    assert s1 == s2
    cols = ["cpts", "codes", "population", "band", "enclaves", "shared_units"]
    pd.testing.assert_frame_equal(pd.DataFrame(sample_diag.perimeters[cols]), pd.DataFrame(d2.perimeters[cols]))
    assert list(sample_diag.white_zones["codes"]) == list(d2.white_zones["codes"])


def test_whole_city_shared_by_three_cpts(ref):
    df = pd.DataFrame({
        "cpts": ["Nord", "Nord", "Centre", "Sud", "Sud"],
        "code": ["13055", "13117", "13055", "13055", "13005"],  # Vitrolles, Aubagne
    })
    d = cpts_geo.diagnose(cpts_geo.read_members(df), departments=["13"])
    pop = int(ref.at["13055", "population"])
    assert "13055" in set(d.units["code"]) and not d.units["code"].str.startswith("132").any()
    ov = d.overlaps.set_index("code")
    assert list(ov.index) == ["13055"]
    assert ov.at["13055", "cpts"] == ("Centre", "Nord", "Sud")
    assert ov.at["13055", "double_counted_population"] == 2 * pop
    assert d.summary["double_counted_population"] == 2 * pop
    assert d.summary["overlapping_units"] == {"13055": ["Centre", "Nord", "Sud"]}
    p = d.perimeters.set_index("cpts")
    assert p.at["Centre", "population"] == pop  # counts in full, as listed
    assert p.at["Nord", "population"] == pop + int(ref.at["13117", "population"])
    # pairs: symmetric set arithmetic, one row per unordered pair
    pairs = d.overlap_pairs
    assert len(pairs) == 3
    for r in pairs.itertuples():
        assert r.cpts_a < r.cpts_b
        shared = set(p.at[r.cpts_a, "codes"]) & set(p.at[r.cpts_b, "codes"])
        assert set(r.codes) == shared and r.n_shared == len(shared)
        assert r.shared_population == int(ref.loc[sorted(shared), "population"].sum())
    # covered population counts Marseille once
    area = ref[(ref["dep"] == "13") & (ref["kind"] == "commune")]
    covered = ["13055", "13117", "13005"]
    assert d.summary["covered_population"] == int(area.loc[covered, "population"].sum())


def test_arrondissement_level_when_listing_names_arrondissements(ref):
    df = pd.DataFrame({
        "cpts": ["Centre"] * 3 + ["Ville"],
        "code": ["13201", "13202", "13203", "13055"],
    })
    d = cpts_geo.diagnose(cpts_geo.read_members(df), departments="13")
    codes = set(d.units["code"])
    arr = ref[ref["parent"] == "13055"]
    assert set(arr["code"]) <= codes and "13055" not in codes
    communes13 = ref[(ref["dep"] == "13") & (ref["kind"] == "commune")]
    assert len(codes) == len(communes13) - 1 + len(arr)
    p = d.perimeters.set_index("cpts")
    assert p.at["Ville", "n_units"] == 16
    assert p.at["Ville", "population"] == int(arr["population"].sum())
    assert set(d.overlaps["code"]) == {"13201", "13202", "13203"}
    assert d.summary["population"] == int(communes13["population"].sum())  # same total either way
    assert d.lookup("13055") == ("Centre", "Ville")
    assert d.lookup("13204") == ("Ville",)
    # the 16 arrondissements dissolve into the city outline (mainland + Frioul and other islands),
    # several polygons; but the islands belong to the polygons of their arrondissements (Frioul to
    # the 7th), which all touch on land: one part, no island part
    city = ref.at["13055", "geometry"]
    assert shapely.get_num_geometries(p.at["Ville", "geometry"]) == shapely.get_num_geometries(city) > 1
    assert p.at["Ville", "n_parts"] == 1 and p.at["Ville", "n_islands"] == 0
    assert shapely.is_valid(p.at["Ville", "geometry"])
    assert shapely.symmetric_difference(p.at["Ville", "geometry"], city).area < 1e-9


def test_enclave_and_enclosed_white_zone(ref):
    hole = "04088"  # Forcalquier, inland
    ring = _neighbours(ref, hole)
    df = pd.DataFrame({"cpts": "CPTS Anneau", "code": ring})
    d = cpts_geo.diagnose(df, departments=["04"])
    p = d.perimeters.set_index("cpts")
    assert hole in p.at["CPTS Anneau", "enclaves"]
    w = d.white_zones
    z = w[w["codes"].map(lambda c: hole in c)]
    assert len(z) == 1
    assert z["codes"].iloc[0] == (hole,)
    assert z["type"].iloc[0] == "enclosed"
    assert z["inside_cpts"].iloc[0] == "CPTS Anneau"
    # the rest of the department's white units reach its border: edge
    assert (w.loc[w["codes"].map(lambda c: hole not in c), "type"] == "edge").all()
    assert d.summary["white_zones_inside_one_cpts"] == 1
    assert d.summary["cpts_with_enclaves"] == ["CPTS Anneau"]


def test_islands_counted_as_parts():
    df = pd.DataFrame({"cpts": ["Deux morceaux"] * 2 + ["Un"] * 1, "code": ["04088", "05061", "04112"]})
    d = cpts_geo.diagnose(df)
    p = d.perimeters.set_index("cpts")
    assert p.at["Deux morceaux", "n_parts"] == 2
    assert p.at["Un", "n_parts"] == 1
    assert d.summary["cpts_with_several_parts"] == ["Deux morceaux"]


def test_cross_region_cpts(ref):
    drome = "26220"  # Nyons, Auvergne-Rhône-Alpes, next to Vaucluse
    assert ref.at[drome, "reg"] == "84" and ref.at["84138", "reg"] == "93"
    df = pd.DataFrame({"cpts": ["Interrégionale"] * 2 + ["PACA"], "code": [drome, "84138", "84007"]})
    d = cpts_geo.diagnose(df, region=93)
    p = d.perimeters.set_index("cpts")
    assert p.at["Interrégionale", "regs"] == ("84", "93")
    assert p.at["Interrégionale", "n_units_outside_area"] == 1
    assert p.at["Interrégionale", "population"] == int(ref.loc[[drome, "84138"], "population"].sum())
    paca = ref[(ref["reg"] == "93") & (ref["kind"] == "commune")]
    assert len(d.units) == len(paca) and drome not in set(d.units["code"])
    cov = d.coverage
    deps = set(cov.loc[cov["level"] == "dep", "key"])
    assert deps == set(paca["dep"])
    zone = cov[(cov["level"] == "zone")].iloc[0]
    assert zone["covered_units"] == 2
    with pytest.raises(ValueError, match="région"):
        cpts_geo.diagnose(df, region=99)


def test_coastal_white_zone_is_enclosed(ref):
    communes = ref[(ref["dep"] == "2A") & (ref["kind"] == "commune")]
    df = pd.DataFrame({"cpts": "CPTS Corse-du-Sud", "code": sorted(set(communes["code"]) - {"2A004"})})
    d = cpts_geo.diagnose(df, departments=["2A"])
    w = d.white_zones
    assert list(w["codes"]) == [("2A004",)]
    # Ajaccio is on the coast and all its land neighbours are covered and analysed (2A): the sea
    # does not open a white zone, only land outside the analysed area does
    assert w["type"].iloc[0] == "enclosed"
    assert w["inside_cpts"].iloc[0] == "CPTS Corse-du-Sud"
    assert w["population"].iloc[0] == int(ref.at["2A004", "population"])


def test_restored_communes_have_outlines(ref):
    # the four Cantal communes restored in 2025 had no outline before the rebuild of issue 11
    restored = ["15031", "15035", "15047", "15171"]
    assert ref.loc[restored, "geometry"].notna().all()
    ring = _neighbours(ref, "15031")
    assert "15141" in ring  # Celles borders what is left of Neussargues-Moissac
    d = cpts_geo.diagnose(pd.DataFrame({"cpts": "CPTS Cantal", "code": ring}), departments=["15"])
    p = d.perimeters.set_index("cpts")
    assert p.at["CPTS Cantal", "n_units_without_geometry"] == 0
    assert p.at["CPTS Cantal", "population"] == int(ref.loc[ring, "population"].sum())
    w = d.white_zones
    z = w[w["codes"].map(lambda c: "15031" in c)]
    assert z["codes"].iloc[0] == ("15031",)
    assert z["type"].iloc[0] == "enclosed" and z["inside_cpts"].iloc[0] == "CPTS Cantal"
    assert z["n_units_without_geometry"].iloc[0] == 0
    cantal = ref[(ref["dep"] == "15") & (ref["kind"] == "commune")]
    assert d.summary["population"] == int(cantal["population"].sum())
    assert not d.summary["units_without_geometry"]


def test_collectivite_outre_mer_without_geometry():
    d = cpts_geo.diagnose(pd.DataFrame({"cpts": "CPTS Saint-Pierre", "code": ["97502"]}))
    p = d.perimeters.iloc[0]
    assert p["n_units_without_geometry"] == 1 and p["geometry"] is None
    assert d.summary["units"] == 2 and d.summary["white_units"] == 1  # Miquelon-Langlade
    # Miquelon-Langlade has no outline, hence no land neighbour: nothing outside the analysed area
    # touches it, so it is not "en bordure"
    assert d.white_zones["type"].iloc[0] == "enclosed"


def test_obsolete_and_refused_codes_in_hand_built_frame():
    df = pd.DataFrame({"cpts": ["A", "A", "A"], "code": ["05120", "05003", "04999"]})
    d = cpts_geo.diagnose(df)
    assert set(d.perimeters.iloc[0]["codes"]) == {"05001", "05003"}
    assert "04999" in d.summary["refused_codes"]


def test_stages_coverage_and_filter(ref):
    df = pd.DataFrame({
        "cpts": ["Signée", "Signée", "Projet"],
        "code": ["04088", "04111", "04112"],
        "stage": ["ACI signé", "ACI signé", "pré-projet"],
    })
    d = cpts_geo.diagnose(df, departments=["04"])
    cov = d.coverage.set_index(["level", "stages"])
    pop04 = int(ref[(ref["dep"] == "04") & (ref["kind"] == "commune")]["population"].sum())
    aci = cov.loc[("zone", "ACI signé")]
    assert aci["covered_population"] == int(ref.loc[["04088", "04111"], "population"].sum())
    assert aci["population"] == pop04
    assert cov.loc[("zone", "tous les stades"), "covered_units"] == 3
    only = cpts_geo.diagnose(df, departments=["04"], stages=["ACI signé"])
    assert list(only.perimeters["cpts"]) == ["Signée"]
    assert only.perimeters["stage"].iloc[0] == "ACI signé"


def test_lookup(sample_diag):
    assert sample_diag.lookup("04088") == ("CPTS Sud 04",)
    assert sample_diag.lookup("Forcalquier (04)") == ("CPTS Sud 04",)
    assert sample_diag.lookup("04140") == ()  # Les Omergues: white zone
    with pytest.raises(KeyError):
        sample_diag.lookup("04999")


def test_compare_listings(sample_listing):
    old = pd.read_csv(sample_listing, dtype=str)
    new = old.copy()
    new.loc[new["cpts"] == "CPTS Verdon", "cpts"] = "CPTS Verdon Provence"
    new = new[~((new["cpts"] == "CPTS Sud 04") & (new["code_insee"] == "04088"))]
    new = new[new["cpts"] != "Drôme Provençale Enclave des Papes"]
    new = pd.concat([new, pd.DataFrame({"cpts": ["CPTS Nouvelle"], "code_insee": ["04140"]})])
    cmp = cpts_geo.compare_listings(cpts_geo.read_members(old), cpts_geo.read_members(new))
    assert cmp.attrs["renamed"] == {"CPTS Verdon": "CPTS Verdon Provence"}
    assert cmp.attrs["created"] == ["CPTS Nouvelle"]
    assert cmp.attrs["removed"] == ["Drôme Provençale Enclave des Papes"]
    c = cmp.set_index("cpts")
    assert c.at["CPTS Sud 04", "status"] == "modifiée" and c.at["CPTS Sud 04", "removed"] == ("04088",)
    assert c.at["CPTS Verdon Provence", "status"] == "renommée"
    assert c.at["CPTS Nouvelle", "added"] == ("04140",)
    assert (c.loc[c["status"] == "inchangée", "added"].map(len) == 0).all()


def test_cli_coverage(tmp_path, sample_listing, capsys):
    out = tmp_path / "out"
    assert main(["coverage", str(sample_listing), "--departement", "04,05,84", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Zones blanches" in text and "Population couverte" in text and "05120 → 05001" in text
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["cpts"] == 21 and set(SUMMARY_KEYS) <= set(s)
    assert (s["white_zones"], s["white_units"], s["white_population"]) == (2, 33, 16_515)
    import geopandas as gpd

    per = gpd.read_file(out / "perimeters.gpkg")
    assert len(per) == 21 and per.crs.to_epsg() == 4326
    assert len(gpd.read_file(out / "white_zones.gpkg")) == s["white_zones"]
    assert (out / "overlaps.csv").exists()
    book = pd.read_excel(out / "diagnostic_cpts.xlsx", sheet_name=None)
    assert {"Synthèse", "Périmètres", "Zones blanches", "Couverture"} <= set(book)
    assert len(book["Périmètres"]) == 21


def test_cli_bad_file(tmp_path, capsys):
    bad = tmp_path / "vide.csv"
    bad.write_text("", encoding="utf-8")
    assert main(["coverage", str(bad)]) == 2
    assert "vide.csv : fichier vide" in capsys.readouterr().err


def test_cli_stage_and_department_options(capsys):
    xlsx = str(Path(__file__).parent / "fixtures" / "members" / "long_multisheet.xlsx")
    assert main(["coverage", xlsx, "--department", "04", "--stage", "ACI signé"]) == 0
    text = capsys.readouterr().out
    assert "CPTS : 1 " in text and "département 04" in text
    assert "04300" in text  # the refused postal code is shown to the user


def test_listing_date_reaches_meta_and_map_credits(sample_diag):
    from cpts_geo.maps.interactive import credits_text
    from cpts_geo.maps.layers import diagnosis_meta

    m = cpts_geo.read_members(Path(__file__).parent / "fixtures" / "members" / "long_multisheet.xlsx")
    d = cpts_geo.diagnose(m)
    assert d.meta["listing_date"] == str(m["date"].max().date())
    assert "(10 janvier 2024)" in credits_text(diagnosis_meta(d))  # 2024-01-10, French date
    assert sample_diag.meta["listing_date"] is None  # the sample listing states no date


def test_unknown_department_or_region_is_an_option_error_in_french(sample_listing):
    m = cpts_geo.read_members(sample_listing)
    with pytest.raises(cpts_geo.OptionError, match="paramètre `departments` : département inconnu \\(valeur « 99 »\\)"):
        cpts_geo.diagnose(m, departments=["04", "99"])
    with pytest.raises(cpts_geo.OptionError, match="régions inconnues \\(valeur « 07, 98 »\\)"):
        cpts_geo.diagnose(m, region=["98", "07"])
