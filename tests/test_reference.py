"""The embedded national reference, checked on the real data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

import cpts_geo
from cpts_geo import crs


def test_counts(communes):
    kinds = communes["kind"].value_counts()
    assert kinds["commune"] + kinds["com_outre_mer"] == 34969  # COG 2026 communes actuelles
    assert kinds["commune"] == 34875  # mainland, Corsica and the five DROM
    assert kinds["arrondissement"] == 45
    assert communes["code"].is_unique
    assert communes["code"].str.len().eq(5).all()
    # the five DROM: Guadeloupe, Martinique, Guyane, La Réunion, Mayotte
    assert sorted(communes.loc[communes["zone"] == "drom", "dep"].unique()) == ["971", "972", "973", "974", "976"]


def test_attrs_give_vintages_and_sources(communes):
    a = communes.attrs
    assert a["cog"] == 2026 and a["population_year"] == 2023
    for key in ("communes", "population", "geometry", "dens7", "aav2020", "bv2022", "history"):
        assert key in a["sources"]
    assert communes.crs.to_epsg() == 4326


def test_paris_population_and_arrondissements(communes):
    c = communes.set_index("code")
    assert c.at["75056", "population"] == 2_103_778
    assert c.at["75056", "nom"] == "Paris"
    for city, n in {"75056": 20, "69123": 9, "13055": 16}.items():
        arr = communes[communes["parent"] == city]
        assert len(arr) == n
        assert (arr["kind"] == "arrondissement").all()
        assert arr["population"].sum() == c.at[city, "population"]
        # the city outline is exactly the union of its arrondissements
        union = shapely.union_all(arr.geometry.values)
        assert shapely.symmetric_difference(union, c.at[city, "geometry"]).area < 1e-9


def test_official_names_and_columns(communes):
    c = communes.set_index("code")
    assert c.at["01001", "nom"] == "L'Abergement-Clémenciat"
    assert c.at["01001", "epci"] == "200069193"
    # four island communes belong to no EPCI (legal exemption): Bréhat, Sein, Ouessant, Yeu
    no_epci = communes.loc[(communes["kind"] != "com_outre_mer") & communes["epci"].isna(), "code"]
    assert set(no_epci) == {"22016", "29083", "29155", "85113"}
    for col in ("dens7", "aav2020", "cateaav2020", "bv2022", "dep", "reg"):
        missing = communes.loc[communes["kind"] != "com_outre_mer", col].isna()
        assert not missing.any(), (col, communes.loc[missing[missing].index, "code"].tolist()[:5])
    assert set(communes["dens7"].dropna().unique()) == set(range(1, 8))
    assert set(communes["cateaav2020"].dropna().unique()) == {"11", "12", "13", "20", "30"}


def test_corsica_codes(communes):
    corse = communes[communes["dep"].isin(["2A", "2B"])]
    assert len(corse) == 360
    assert corse["code"].str.match(r"^2[AB]\d{3}$").all()
    assert set(corse["reg"]) == {"94"}


def test_missing_geometries_are_documented(communes):
    nogeo = communes[communes.geometry.isna()]
    # only the collectivités d'outre-mer (not in IGN ADMIN EXPRESS); the four Cantal communes
    # restored in 2025 now have an outline (tests/test_geography.py)
    assert (nogeo["kind"] == "com_outre_mer").all()
    assert nogeo["geometry_source"].str.startswith("none:").all()
    assert (communes.loc[communes["kind"] == "com_outre_mer"].geometry.isna()).all()
    rebuilt = communes[communes["geometry_source"].str.startswith("rebuilt")]
    assert set(rebuilt["code"]) == {"12218", "14581", "49126", "69114"}


def test_geometries_valid(communes):
    geoms = communes.geometry.dropna().values
    assert shapely.is_valid(geoms).all()
    assert set(shapely.get_type_id(geoms)) <= {3, 6}


@pytest.mark.parametrize("zone", list(crs.LOCAL_CRS))
def test_coverage_valid_per_zone(communes, zone):
    units = communes[(communes["kind"] == "commune") & communes.geometry.notna()]
    projected = cpts_geo.split_by_zone(units)[zone]
    for _dep, g in projected.groupby("dep"):
        assert shapely.coverage_is_valid(g.geometry.values), _dep


def test_coverage_valid_with_arrondissements(communes):
    units = communes[communes["dep"].isin(["75", "92", "93", "94", "13", "69"]) & communes.geometry.notna()]
    with_arr = units[~units["code"].isin(["75056", "69123", "13055"]) & (units["kind"] != "com_outre_mer")]
    assert shapely.coverage_is_valid(with_arr.to_crs(2154).geometry.values)
    whole = units[units["kind"] == "commune"]
    assert shapely.coverage_is_valid(whole.to_crs(2154).geometry.values)


def test_drom_areas_in_local_crs(communes):
    area = cpts_geo.area_km2(communes)
    by_dep = area[communes["kind"] == "commune"].groupby(communes["dep"]).sum()
    # official surfaces (IGN / INSEE), km²
    expected = {"971": 1628, "972": 1128, "973": 83_534, "974": 2504, "976": 374, "75": 105.4, "2A": 4014}
    for dep, km2 in expected.items():
        assert by_dep[dep] == pytest.approx(km2, rel=0.05), dep
    assert area[communes["kind"] == "com_outre_mer"].isna().all()
    metro = area[(communes["zone"] == "metro") & (communes["kind"] == "commune")].sum()
    assert metro == pytest.approx(543_940, rel=0.01)


def test_local_crs_helpers():
    assert cpts_geo.local_crs("04001") == 2154
    assert cpts_geo.local_crs("2A004") == 2154
    assert cpts_geo.local_crs("97101") == 5490
    assert cpts_geo.local_crs("97209") == 5490
    assert cpts_geo.local_crs("97302") == 2972
    assert cpts_geo.local_crs("97411") == 2975
    assert cpts_geo.local_crs("97611") == 4471
    with pytest.raises(cpts_geo.InputError, match="collectivité d'outre-mer.*97502"):
        cpts_geo.local_crs("97502")


def test_split_by_zone_projects_each_drom(communes):
    zones = cpts_geo.split_by_zone(communes[communes.geometry.notna()])
    assert {z: g.crs.to_epsg() for z, g in zones.items()} == crs.LOCAL_CRS
    assert sum(len(g) for g in zones.values()) == communes.geometry.notna().sum()


def test_population_totals(communes):
    pop = communes.loc[communes["kind"] != "arrondissement", "population"]
    assert pop.isna().sum() == communes["population"].isna().sum()
    # France métropolitaine + DROM, populations légales 2023 ≈ 68.35 million
    total = communes.loc[communes["kind"] == "commune", "population"].sum()
    assert 68_000_000 < total < 68_700_000


def test_town_hall_points_inside_or_near(communes):
    c = communes[communes["mairie_lon"].notna() & communes.geometry.notna() & (communes["kind"] == "commune")]
    pts = shapely.points(c["mairie_lon"].to_numpy(), c["mairie_lat"].to_numpy())
    # kept town halls lie within 200 m of their commune (checked in Lambert-93)
    metro = c["zone"] == "metro"
    g = c[metro].to_crs(2154).geometry.values
    p = cpts_geo.to_local(c[metro].set_geometry(pts[metro.to_numpy()], crs=4326), "metropole").geometry.values
    assert (shapely.distance(g, p) <= 200.0).all()
    assert len(c) > 0.9 * (communes["kind"] == "commune").sum()


def test_load_returns_copy(communes):
    a = cpts_geo.load_communes()
    a.loc[a.index[0], "nom"] = "changed"
    assert cpts_geo.load_communes()["nom"].iloc[0] != "changed"
    only = cpts_geo.load_communes(kinds=("arrondissement",))
    assert len(only) == 45 and isinstance(only, pd.DataFrame)


def test_area_by_location_when_no_codes(communes):
    # drawn polygons carry no INSEE code: the zone comes from their location
    sample = communes[communes["code"].isin(["04088", "97302", "97101", "97411", "97611"])]
    drawn = sample[["geometry"]].reset_index(drop=True)
    by_code = cpts_geo.area_km2(sample).to_numpy()
    by_place = cpts_geo.area_km2(drawn).to_numpy()
    assert by_place == pytest.approx(by_code, rel=1e-9)
    assert (by_place > 1).all()


def test_plm_mean_is_the_weighted_mean_of_complete_cities():
    from cpts_geo import reference

    lyon = [f"6938{i}" for i in range(1, 10)]
    marseille = [f"132{i:02d}" for i in range(1, 17)]
    values = pd.Series({**{a: float(i) for i, a in enumerate(lyon, 1)}, **dict.fromkeys(marseille, float("nan")),
                        "75101": 5.0})  # Paris incomplete: left out
    weights = pd.Series({"69381": 1.0, "69382": 3.0, "69383": 0.0})  # others NaN: left out
    out = reference.plm_mean(values, weights)
    assert set(out.index) == {"69123", "13055"}
    assert out["69123"] == pytest.approx((1 * 1 + 2 * 3) / 4)  # hand computation
    assert np.isnan(out["13055"])
    assert reference.plm_mean(values)["69123"] == pytest.approx(5.0)  # unweighted mean of 1..9
