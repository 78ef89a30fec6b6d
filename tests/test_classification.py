"""Classification: ACI band and margin, sourced ACI amounts, IGAS type, density / AAV profiles
on the real sample listing, IRDES typology loader on fixtures in the published layouts."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

import cpts_geo as cg

FIX = Path(__file__).resolve().parent / "fixtures" / "irdes"


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------


def _read_listing(path: Path) -> pd.DataFrame:
    """One row per CPTS with the tuple of its COG 2026 codes."""
    members = cg.read_members(path)[["cpts", "code"]]
    return members.groupby("cpts", sort=True)["code"].agg(lambda s: tuple(dict.fromkeys(s))).rename("codes").reset_index()


@pytest.fixture(scope="module")
def perimeters(sample_listing) -> pd.DataFrame:
    return _read_listing(sample_listing)


@pytest.fixture(scope="module")
def classified(perimeters) -> pd.DataFrame:
    return cg.classify(perimeters)


@pytest.fixture(scope="module")
def ref(communes) -> pd.DataFrame:
    return pd.DataFrame(communes.drop(columns="geometry")).set_index("code")


# ------------------------------------------------------------------------------------------
# ACI band, margin, funding
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("population", "band"),
    # the text: taille 1 « < 40 000 », 2 « entre 40 000 et 80 000 », 3 « entre 80 000 et 175 000 »,
    # 4 « > 175 000 »; 80 000 (named by both 2 and 3) is taille 3 by cpts_geo's stated choice
    [(0, 1), (39_999, 1), (40_000, 2), (79_999, 2), (80_000, 3), (174_999, 3), (175_000, 3),
     (175_001, 4), (2_000_000, 4)],
)
def test_aci_band_boundaries_follow_the_text(population, band):
    assert int(np.atleast_1d(cg.aci_band(population))[0]) == band


def test_aci_band_boundary_rule_is_configurable():
    pops = [40_000, 80_000, 175_000]
    assert list(cg.aci_band(pops)) == [2, 3, 3]
    assert list(cg.aci_band(pops, boundary_upper=True)) == [2, 3, 4]
    assert list(cg.aci_band(pops, boundary_upper=False)) == [1, 2, 3]
    assert list(cg.aci_band(pops, boundary_upper=[True, False, False])) == [2, 2, 3]
    assert list(cg.aci_band([25_000, 25_001], bounds=(25_000,))) == [2, 2]
    assert list(cg.aci_band([np.nan])) == [0]
    with pytest.raises(cg.OptionError, match="un booléen par seuil"):
        cg.aci_band(pops, boundary_upper=[True])


def _edited_parameters(tmp_path, monkeypatch, edit) -> Path:
    """A copy of the shipped parameter file, edited, that cpts_geo.rules reads instead."""
    from cpts_geo import rules

    params = json.loads(rules.aci_parameters_path().read_text(encoding="utf-8"))
    edit(params)
    path = tmp_path / "aci_cpts.json"
    path.write_text(json.dumps(params, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setattr(rules, "aci_parameters_path", lambda: path)
    return path


def test_aci_bounds_are_read_from_the_parameter_file(tmp_path, monkeypatch):
    pops = [30_000, 45_000, 100_000, 175_000, 200_000]
    assert list(cg.aci_band(pops)) == [1, 2, 3, 3, 4]

    def edit(p):
        p["bands"]["bounds"] = [50_000, 100_000, 150_000]
        p["bands"]["boundary_in_upper_band"] = [False, False, False]
        p["funding"][0]["amounts"]["1"] = 1

    _edited_parameters(tmp_path, monkeypatch, edit)
    assert list(cg.aci_band(pops)) == [1, 1, 2, 4, 4]
    out = cg.classify(pd.DataFrame({"cpts": ["a", "b"], "codes": [("05061",)] * 2, "population": [45_000, 100_000]}))
    assert out["aci_band"].tolist() == [1, 2]
    assert out["aci_bound_nearest"].tolist() == [50_000, 100_000]
    assert out["aci_funding_eur"].tolist()[0] == 1
    assert out.attrs["classification"]["aci_bounds"] == [50_000, 100_000, 150_000]


def test_a_broken_parameter_file_is_refused_in_french(tmp_path, monkeypatch):
    _edited_parameters(tmp_path, monkeypatch, lambda p: p["bands"].update(bounds=[80_000, 40_000, 175_000]))
    with pytest.raises(cg.InputError, match="aci_cpts.json.*seuils croissants"):
        cg.aci_band([1000])


def test_near_threshold_flags_populations_within_one_percent():
    # 1 % of 40 000 = 400, of 80 000 = 800, of 175 000 = 1 750 (hand computation)
    pops = [39_600, 39_599, 80_800, 80_801, 173_250, 173_249, 176_750, 176_751, np.nan]
    assert cg.aci_near_threshold(pops).tolist() == [True, False, True, False, True, False, True, False, False]
    m = cg.aci_margin([80_000, 60_000])
    assert m["aci_near_threshold"].tolist() == [True, False]


def test_thesis_cpts_bands():
    """The seven CPTS of a 2019 thesis and the size band they were given."""
    thesis = {"A1": (180_000, 4), "A2": (196_000, 4), "A3": (128_231, 3), "B1": (28_531, 1),
              "B2": (45_987, 2), "C1": (58_582, 2), "C2": (32_688, 1)}
    pops = [p for p, _ in thesis.values()]
    assert list(cg.aci_band(pops)) == [b for _, b in thesis.values()]
    out = cg.classify(pd.DataFrame({"cpts": list(thesis), "codes": [("05061",)] * 7, "population": pops}))
    assert out["aci_label"].tolist() == [f"Taille {b}" for _, b in thesis.values()]


def test_aci_margin_to_nearest_boundary():
    m = cg.aci_margin([79_500, 80_500, 40_000, 128_231, np.nan])
    assert m["aci_band"].tolist() == [2, 3, 2, 3, 0]
    assert m["aci_margin_text"].tolist()[:2] == [
        "500 habitants sous le seuil de 80\u202f000 (taille 3 au-dessus)",
        "500 habitants au-dessus du seuil de 80\u202f000 (taille 2 en dessous)"]
    assert m["aci_bound_nearest"].tolist()[:4] == [80_000, 80_000, 40_000, 175_000]
    assert m["aci_margin"].tolist()[:4] == [-500, 500, 0, 128_231 - 175_000]
    assert m["aci_band_if_crossed"].tolist()[:4] == [3, 2, 1, 4]
    assert "500" in m.loc[0, "aci_margin_text"] and "taille 3" in m.loc[0, "aci_margin_text"]
    assert m.loc[4, "aci_margin_text"] == "population inconnue"
    assert pd.isna(m.loc[4, "aci_margin"])


def test_aci_funding_comes_from_sourced_parameter_file():
    params = json.loads((cg.reference.data_dir() / "classification" / "aci_cpts.json").read_text())
    for item in params["funding"]:
        assert item["source"] and item["version"] and item["text"]
    assert params["excluded"], "unsourced amounts must be listed with a reason"
    assert all(e["reason"] for e in params["excluded"])
    # arrêté du 21 août 2019, the annual operating envelope in force (Sénat report n° 32, 2025-2026)
    assert cg.aci_funding([1, 2, 3, 4, 0]).tolist()[:4] == [50_000, 60_000, 75_000, 90_000]
    assert pd.isna(cg.aci_funding([0]).iloc[0])
    assert cg.aci_funding([1, 2, 3, 4], version="2019").tolist() == [50_000, 60_000, 75_000, 90_000]
    # the start-up envelope reported by the press is not a funding version one can ask for
    for version in ("2022", "2025"):
        with pytest.raises(cg.OptionError, match="montants ACI disponibles : 2019"):
            cg.aci_funding([1], version=version)


def test_aci_funding_provenance_is_stated():
    from cpts_geo import rules

    current = rules.aci_funding_version()
    assert current["version_key"] == "2019" and current["signed"] == "2019-06-20"
    assert "NOR SSAS1924409A" in current["source"] and "21 août 2019" in current["text"]
    statement = rules.aci_funding_source()
    assert "Sénat n° 32 (2025-2026" in statement and "entre 50 000 et 90 000 euros" in statement
    meta = cg.classify(["05061"]).attrs["classification"]
    assert meta["aci_funding"]["source"] == current["source"]
    assert meta["aci_funding"]["statement"] == statement
    assert "80 000" in meta["aci_boundary_note"] and "taille 3" in meta["aci_boundary_note"]
    # the start-up figures stay out of the classification (docs and the Sources sheet only)
    text = json.dumps(meta, ensure_ascii=False)
    assert "87500" not in text and "87\u202f500" not in text and "amorçage" not in text
    assert "avenant 2" not in statement
    assert "data/" not in meta["sources"]["aci"] and "21 août 2019" in meta["sources"]["aci"]
    one = pd.DataFrame({"cpts": ["a"], "codes": [("05061",)], "population": [30_000]})
    assert cg.classify(one)["aci_funding_eur"].iloc[0] == 50_000


# ------------------------------------------------------------------------------------------
# IGAS 2018
# ------------------------------------------------------------------------------------------


def test_igas_type_and_viable_warning():
    t = cg.igas_type([29_999, 30_000, 80_000, 80_001, 19_999, 20_000, 100_000, 100_001])
    assert t["igas_type"].tolist() == ["rural", "semi-rural / périurbain", "semi-rural / périurbain", "urbain",
                                       "rural", "rural", "urbain", "urbain"]
    assert t["igas_viable"].tolist() == [True, True, True, True, False, True, True, False]
    assert "20\u202f000 habitants" in t.loc[4, "igas_warning"] and "IGAS" in t.loc[4, "igas_warning"]
    assert t.loc[5, "igas_warning"] is None or pd.isna(t.loc[5, "igas_warning"])
    assert "100\u202f000 habitants" in t.loc[7, "igas_warning"]


def test_the_igas_range_is_worded_as_the_report_landmark_with_its_section_never_as_a_verdict():
    t = cg.igas_type([19_999, 100_001])
    for note in t["igas_warning"]:
        assert "fourchette repère de 20\u202f000 à 100\u202f000 habitants du rapport IGAS n° 2018-041R (§ 2.2.2)" in note
        assert "un repère, pas une règle" in note
        assert "« ne devraient pas être exclus a priori mais examinés avec plus d'attention »" in note
        assert "viable" not in note and "jugée" not in note
    assert t.loc[0, "igas_warning"].startswith("population inférieure à 20\u202f000 habitants : sous la fourchette")
    assert t.loc[1, "igas_warning"].startswith("population supérieure à 100\u202f000 habitants : au-dessus de la")
    meta = cg.classify(["05061"]).attrs["classification"]["igas"]
    assert meta["source"].endswith("rapport n° 2018-041R, août 2018, § 2.2.2 et annexe 1")
    assert "ni règle ni verdict" in meta["nature"]


# ------------------------------------------------------------------------------------------
# Density and AAV profiles on the real sample listing
# ------------------------------------------------------------------------------------------


def test_density_profile_of_sample_cpts_sums_to_100(classified):
    assert len(classified) == 21  # the sample's CPTS (examples/cpts_paca_sample/README.md)
    s7 = classified[[f"dens7_{i}" for i in range(1, 8)] + ["dens7_unknown"]].sum(axis=1)
    s3 = classified[["dens_urbain_dense", "dens_intermediaire", "dens_rural"]].sum(axis=1)
    np.testing.assert_allclose(s7, 100.0)
    np.testing.assert_allclose(s3, 100.0)
    aav = classified[["aav_pole", "aav_couronne", "aav_hors_attraction", "cateaav_unknown"]].sum(axis=1)
    np.testing.assert_allclose(aav, 100.0)
    assert (classified["dens7_unknown"] == 0).all()


def test_density_profile_matches_reference_by_hand(classified, perimeters, ref):
    """Recompute the shares of every CPTS directly from the reference columns."""
    for row in perimeters.itertuples():
        units = ref.loc[list(row.codes)]
        pop = units["population"].astype(float)
        got = classified.set_index("cpts").loc[row.cpts]
        dense = pop[units["dens7"] == 1].sum() / pop.sum() * 100
        rural = pop[units["dens7"] >= 5].sum() / pop.sum() * 100
        couronne = pop[units["cateaav2020"] == "20"].sum() / pop.sum() * 100
        assert got["dens_urbain_dense"] == pytest.approx(dense)
        assert got["dens_rural"] == pytest.approx(rural)
        assert got["aav_couronne"] == pytest.approx(couronne)
        assert got["population"] == units["population"].sum()


def test_grand_avignon_is_urban_and_mountain_cpts_rural(classified):
    by = classified.set_index("cpts")
    assert by.loc["CPTS du Grand Avignon", "dens_dominant"] == "Urbain dense"
    assert by.loc["CPTS du Grand Avignon", "aci_band"] == 4
    assert by.loc["CPTS Ubaye Serre-Ponçon", "dens_dominant"] == "Rural"
    assert by.loc["CPTS Ubaye Serre-Ponçon", "igas_type"] == "rural"


def test_arrondissements_carry_their_city_class(ref):
    arr = ["13201", "13202", "13203"]
    prof = cg.density_profile(arr)
    assert ref.loc["13055", "dens7"] == 1
    assert prof.loc[0, "dens_urbain_dense"] == pytest.approx(100.0)
    aav = cg.aav_profile(arr)
    assert aav.loc[0, "cateaav_11"] == pytest.approx(100.0)


# ------------------------------------------------------------------------------------------
# classify: inputs and outputs
# ------------------------------------------------------------------------------------------


def test_classify_single_proposed_territory_converts_old_codes(ref):
    out = cg.classify(["04070", "05120", "Forcalquier (04)"])
    assert len(out) == 1
    assert set(out.loc[0, "codes"]) == {"04070", "05001", "04088"}
    assert out.loc[0, "population"] == ref.loc[["04070", "05001", "04088"], "population"].sum()
    assert out.attrs["classification"]["input"]["normalisation"]


def test_classify_records_unknown_codes_with_the_value():
    with pytest.warns(UserWarning, match="04999"):
        assert cg.classify(["04070", "04999"]).attrs["refused"] == ["04999"]
    with pytest.warns(UserWarning, match=r"CPTS X.*99999"):
        cg.classify(pd.DataFrame({"cpts": ["CPTS X"], "codes": [("04070", "99999")]}))
    with pytest.raises(cg.OptionError, match="paramètre `perimeters` : colonne absente : « codes »"):
        cg.classify(pd.DataFrame({"cpts": ["CPTS X"]}))


def test_classify_empty_table_and_empty_territory():
    assert len(cg.classify(pd.DataFrame({"cpts": [], "codes": []}))) == 0
    out = cg.classify(pd.DataFrame({"cpts": ["a", "b"], "codes": [["04070"], []]}))
    assert out.loc[1, "aci_band"] == 0 and pd.isna(out.loc[1, "population"])
    assert out.loc[1, "aci_margin_text"] == "population inconnue" and pd.isna(out.loc[1, "dens_rural"])
    assert out.loc[0, "aci_band"] == 1


def test_city_listed_with_its_arrondissement_warns():
    with pytest.warns(UserWarning, match="13055.*13201.*deux fois"):
        cg.classify(["13055", "13201"])


def test_classify_uses_given_population_and_keeps_geometry(perimeters, communes):
    per = perimeters.copy()
    per["population"] = 79_500
    geoms = [communes.set_index("code").loc[list(c), "geometry"].union_all() for c in per["codes"]]
    gper = gpd.GeoDataFrame(per, geometry=geoms, crs=communes.crs)
    gper.attrs = {"cog": 2026}
    out = cg.classify(gper)
    assert isinstance(out, gpd.GeoDataFrame) and out.crs == communes.crs
    assert (out["aci_band"] == 2).all() and (out["aci_margin"] == -500).all()
    assert out.attrs["cog"] == 2026
    meta = out.attrs["classification"]
    assert "colonne 'population'" in meta["population"]
    assert meta["aci_funding"]["source"] and meta["igas"]["source"] and meta["sources"]["dens7"]
    json.dumps(meta, default=str)


# ------------------------------------------------------------------------------------------
# IRDES typologies (fixtures in the published layouts, fictional classes)
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tv2019() -> pd.DataFrame:
    return cg.read_irdes_typology(FIX / "tvs_communes_2016.csv", "irdes_tv_2019", cog_year=2016,
                                  tv_classes=FIX / "typo_tv_classes.csv")


@pytest.fixture(scope="module")
def com2025() -> pd.DataFrame:
    return cg.read_irdes_typology(FIX / "typo_communes_2025.xlsx", "irdes_com_2025", cog_year=2024)


def test_irdes_tv_loader_converts_cog_and_keeps_every_row(tv2019, ref):
    rep = tv2019.attrs["report"]
    raw = pd.read_csv(FIX / "tvs_communes_2016.csv", sep=";", dtype=str)
    assert rep["rows_read"] == len(raw) == rep["rows_used"] + len(rep["refused"])
    changed = set(cg.transition(2016)["origin"]) & set(raw["INSEE_COM"])
    assert rep["converted_codes"] == len(changed) > 0
    assert set(tv2019["code"]) <= set(ref.index)
    # the fixture's communes merged since COG 2016 (COG history): Ubaye-Serre-Ponçon 04033 (04198),
    # Aubessagne 05039 (05043, 05141), Valdoule 05024 (05088, 05150), Abriès-Ristolas 05001 (05120),
    # Vallouise-Pelvoux 05101 (05175): old codes gone, their rows carried by the new commune
    absorbed = {"04198", "05043", "05088", "05120", "05141", "05150", "05175"}
    assert changed == absorbed
    assert not set(tv2019["code"]) & absorbed
    assert {"04033", "05039", "05024", "05001", "05101"} <= set(tv2019["code"])
    np.testing.assert_allclose(tv2019.groupby("code")["weight"].sum(), 1.0)
    # Aubessagne (05039) = Chauffayer + 05043 + 05141, whose territoires de vie have different classes
    assert set(rep["units_with_several_classes"]) == {"05039"}
    w = tv2019[tv2019["code"] == "05039"].set_index("classe")["weight"]
    assert len(w) == 2 and sorted(w.round(4)) == [0.3333, 0.6667]
    assert tv2019.attrs["labels"][2] == "Marges rurales, peu attractives et aux populations fragiles"
    assert len(tv2019.attrs["labels"]) == 6 and len(tv2019.attrs["colors"]) == 6


def test_irdes_profile_of_sample_cpts(tv2019, perimeters, classified, ref):
    out = cg.classify(perimeters, irdes=tv2019)
    cols = [f"irdes_{k}" for k in range(1, 7)] + ["irdes_unclassified"]
    np.testing.assert_allclose(out[cols].sum(axis=1), 100.0)
    # by hand: commune → territoire de vie → class for a CPTS without converted codes
    tvs = pd.read_csv(FIX / "tvs_communes_2016.csv", sep=";", dtype=str).set_index("INSEE_COM")["Code_TVS"]
    cls = pd.read_csv(FIX / "typo_tv_classes.csv", sep=";", dtype=str).set_index("TV")["CLASSE"].astype(int)
    row = out.set_index("cpts").loc["CPTS du Gapençais"]
    codes = list(perimeters.set_index("cpts").loc["CPTS du Gapençais", "codes"])
    assert set(codes) <= set(tvs.index)
    pop = ref.loc[codes, "population"].astype(float)
    by_class = pop.groupby(tvs.loc[codes].map(cls).to_numpy()).sum() / pop.sum() * 100
    for k, share in by_class.items():
        assert row[f"irdes_{k}"] == pytest.approx(share)
    assert row["irdes_class"] == by_class.idxmax()
    assert row["irdes_share"] == pytest.approx(by_class.max())
    assert row["irdes_label"] == tv2019.attrs["labels"][by_class.idxmax()]
    assert row["irdes_color"] == tv2019.attrs["colors"][by_class.idxmax()]
    # CPTS of Vaucluse are outside the fixture (04 and 05 only): unclassified, no dominant class
    avi = out.set_index("cpts").loc["CPTS du Grand Avignon"]
    assert avi["irdes_unclassified"] == pytest.approx(100.0) and pd.isna(avi["irdes_class"])


def test_irdes_2025_commune_typology_splits_and_plm(com2025, ref):
    assert com2025.attrs["labels"][3] == "Libellé de test 3"  # labels read from the file
    assert "typo_communes_2025.xlsx" in com2025.attrs["labels_source"]
    raw = pd.read_excel(FIX / "typo_communes_2025.xlsx", dtype=str).set_index("CODGEO")
    # 15141 (Neussargues-Moissac, COG 2024) was split in 2025: every part takes its class
    parts = cg.transition(2024).query("origin == '15141'")["code"]
    # COG 2025: Celles, Chalinargues, Chavagnac and Sainte-Anastasie restored beside Neussargues-Moissac
    assert sorted(parts) == ["15031", "15035", "15047", "15141", "15171"]
    got = com2025.set_index("code").loc[list(parts), "classe"]
    assert len(got) == 5
    assert (got == int(raw.loc["15141", "CLASSE"])).all()
    # the file has Marseille whole: its arrondissements take the city's class
    marseille = int(raw.loc["13055", "CLASSE"])
    out = cg.classify(["13201", "13205"], irdes2025=com2025)
    assert out.loc[0, "irdes25_class"] == marseille
    assert out.loc[0, f"irdes25_{marseille}"] == pytest.approx(100.0)


def test_irdes_bad_class_names_file_row_and_value(tmp_path):
    bad = pd.read_csv(FIX / "typo_tv_classes.csv", sep=";", dtype=str)
    bad.loc[3, "CLASSE"] = "9"
    path = tmp_path / "classes_bad.csv"
    bad.to_csv(path, sep=";", index=False)
    with pytest.raises(ValueError, match=r"classes_bad\.csv.*'9'"):
        cg.read_irdes_typology(FIX / "tvs_communes_2016.csv", cog_year=2016, tv_classes=path)
    com = pd.DataFrame({"CODGEO": ["04070", "04088"], "CLASSE": ["1", "x"]})
    com.to_csv(tmp_path / "com.csv", index=False)
    with pytest.raises(ValueError, match=r"com\.csv, ligne 3 : classe 'x'"):
        cg.read_irdes_typology(tmp_path / "com.csv", "irdes_com_2025", cog_year=2024)


def test_irdes_unreadable_codes_are_refused_with_a_reason(tmp_path):
    com = pd.DataFrame({"CODGEO": ["04070", "4088", "ABCDE", "04999"], "CLASSE": ["1", "2", "3", "4"]})
    com.to_csv(tmp_path / "com.csv", index=False)
    with pytest.warns(UserWarning, match="refusée"):
        t = cg.read_irdes_typology(tmp_path / "com.csv", "irdes_com_2025", cog_year=2024)
    rep = t.attrs["report"]
    assert set(t["code"]) == {"04070", "04088"}  # leading zero restored
    assert {r["value"] for r in rep["refused"]} == {"ABCDE", "04999"}
    assert {r["row"] for r in rep["refused"]} == {4, 5}
    assert rep["rows_read"] == 4


def test_irdes_missing_territoire_de_vie_is_an_error(tmp_path):
    cls = pd.read_csv(FIX / "typo_tv_classes.csv", sep=";", dtype=str).iloc[1:]
    cls.to_csv(tmp_path / "cls.csv", sep=";", index=False)
    with pytest.raises(ValueError, match=r"tvs_communes_2016\.csv, ligne \d+ : territoire de vie"):
        cg.read_irdes_typology(FIX / "tvs_communes_2016.csv", cog_year=2016, tv_classes=tmp_path / "cls.csv")
    with pytest.raises(cg.OptionError, match="paramètre `typology` : typologie inconnue"):
        cg.read_irdes_typology(FIX / "tvs_communes_2016.csv", "irdes_2030")


def test_map_legend_states_the_band_rule_in_force(tmp_path, monkeypatch):
    from cpts_geo.maps.style import band_label

    nb = "\u202f"
    assert [band_label(b) for b in (1, 3, 4, 0)] == [
        f"Taille 1 (< 40{nb}000{nb}hab.)", f"Taille 3 (80{nb}000 à 175{nb}000{nb}hab.)",
        f"Taille 4 (> 175{nb}000{nb}hab.)", "Population inconnue"]
    _edited_parameters(tmp_path, monkeypatch, lambda p: p["bands"].update(boundary_in_upper_band=[True, True, True]))
    assert band_label(4) == f"Taille 4 (≥ 175{nb}000{nb}hab.)"
