"""One land-adjacency definition of enclave, separate parts and white-zone type
(cpts_geo.topology), checked on real places, for diagnose and validate_territory alike.

Expected values come from geography (who borders whom on land, which communes are islands),
checked here against the reference's own adjacency, not from the code under test.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import cpts_geo
from cpts_geo import reference
from cpts_geo.perimeters import adjacency_pairs
from cpts_geo.validation import validate_territory


@pytest.fixture(scope="module")
def ref():
    return reference.load_communes().set_index("code")


def _neighbours(code: str) -> set[str]:
    p = adjacency_pairs()
    return set(p.loc[p["a"] == code, "b"]) | set(p.loc[p["b"] == code, "a"])


# Antibes (06004) is on the coast; on land it borders only Vallauris, Biot, Villeneuve-Loubet
# and Valbonne. A territory of these four cuts it off from all other land: an enclave, although
# its outline is open to the sea (the dissolved outline has no hole around it).
ANTIBES_RING = ["06155", "06018", "06161", "06152"]


def test_antibes_is_an_enclave_for_diagnose_and_validation(ref):
    assert _neighbours("06004") == set(ANTIBES_RING)  # the geography the test relies on
    d = cpts_geo.diagnose(pd.DataFrame({"cpts": "CPTS Autour d'Antibes", "code": ANTIBES_RING}),
                          departments=["06"])
    per = d.perimeters.set_index("cpts").loc["CPTS Autour d'Antibes"]
    assert per["enclaves"] == ("06004",)
    # no hole in the outline: the old hole-based definition could not see it
    assert shapely.get_num_interior_rings(per["geometry"]) == 0
    r = validate_territory(ANTIBES_RING)
    assert not r["enclave"].passed and r["enclave"].units == ("06004",)
    assert set(r["enclave"].units) == set(per["enclaves"])
    # Antibes is uncovered: a white zone of its own, enclosed (the sea does not open it), inside
    # the one CPTS around it
    z = d.white_zones[d.white_zones["codes"].map(lambda c: "06004" in c)].iloc[0]
    assert z["codes"] == ("06004",) and z["type"] == "enclosed"
    assert z["inside_cpts"] == "CPTS Autour d'Antibes"


# Mandelieu-la-Napoule (06079), Théoule-sur-Mer (06138) and Tanneron (83133, in the Var): the
# white zone of the ARS PACA listing, between the Cannes-Grasse CPTS and the Var CPTS, on the sea.
ZONE = {"06079", "06138", "83133"}


def _mandelieu_listing() -> pd.DataFrame:
    ring = set().union(*(_neighbours(c) for c in ZONE)) - ZONE
    rows = [("CPTS Cannes-Grasse" if c.startswith("06") else "CPTS Estérel Var", c) for c in sorted(ring)]
    return pd.DataFrame(rows, columns=["cpts", "code"])


def test_coastal_white_zone_inside_a_listing_is_enclosed():
    m = _mandelieu_listing()
    assert set(m["code"].str[:2]) == {"06", "83"}  # its land neighbours lie in both departments
    d = cpts_geo.diagnose(m, departments=["06", "83"])
    z = d.white_zones[d.white_zones["codes"].map(lambda c: "06079" in c)]
    assert len(z) == 1 and set(z["codes"].iloc[0]) == ZONE
    # every land neighbour is covered and analysed: enclosed although on the coast
    assert z["type"].iloc[0] == "enclosed"
    assert z["inside_cpts"].iloc[0] is None  # two CPTS around it, none alone


def test_white_zone_touching_an_unanalysed_department_is_edge():
    # the same listing analysed for the Alpes-Maritimes only: Tanneron, Saint-Raphaël and Fréjus
    # (Var) are land outside the analysed area, whose coverage is not looked at
    d = cpts_geo.diagnose(_mandelieu_listing(), departments=["06"])
    z = d.white_zones[d.white_zones["codes"].map(lambda c: "06079" in c)]
    assert set(z["codes"].iloc[0]) == {"06079", "06138"}
    assert z["type"].iloc[0] == "edge"


def test_one_commune_with_islands_is_one_part(ref):
    # Hyères owns Porquerolles, Port-Cros and Le Levant: several polygons, one commune
    assert shapely.get_num_geometries(ref.at["83069", "geometry"]) > 1
    d = cpts_geo.diagnose(pd.DataFrame({"cpts": "CPTS Hyères", "code": ["83069"]}))
    p = d.perimeters.iloc[0]
    assert p["n_parts"] == 1 and p["n_islands"] == 0 and p["islands"] == ()
    assert d.summary["cpts_with_several_parts"] == []
    r = validate_territory(["83069"])
    assert r["contiguity"].passed and r["contiguity"].level == "ok"
    assert r.figures["n_parts"] == 1


def test_parts_separated_by_land_are_counted():
    # Vallauris and Villeneuve-Loubet do not touch: Antibes and Biot lie between them
    codes = ["06155", "06161"]
    assert "06161" not in _neighbours("06155")
    d = cpts_geo.diagnose(pd.DataFrame({"cpts": "CPTS Coupée", "code": codes}))
    p = d.perimeters.iloc[0]
    assert p["n_parts"] == 2 and p["n_islands"] == 0
    assert d.summary["cpts_with_several_parts"] == ["CPTS Coupée"]
    r = validate_territory(codes)
    assert r["contiguity"].level == "warning" and r.figures["n_parts"] == 2


def test_parts_separated_by_sea_are_islands_not_pieces(ref):
    # La Rochelle and Rivedoux-Plage face each other across the pertuis; the Île de Ré bridge is
    # not land: one part on land, one island part
    codes = ["17300", "17297"]
    d = cpts_geo.diagnose(pd.DataFrame({"cpts": "CPTS Rochelle-Ré", "code": codes}))
    p = d.perimeters.iloc[0]
    assert p["n_parts"] == 1 and p["n_islands"] == 1 and p["islands"] == ("17297",)
    assert d.summary["cpts_with_several_parts"] == []
    assert d.summary["cpts_with_islands"] == {"CPTS Rochelle-Ré": ["17297"]}
    r = validate_territory(codes)
    c = r["contiguity"]
    assert c.level == "info" and c.details["n_parts"] == 1 and c.details["n_islands"] == 1
    assert r.figures["n_parts"] == p["n_parts"]


def test_gap_on_an_island_is_a_gap_on_land(ref):
    # Marennes (mainland) with Saint-Denis-d'Oléron (north tip of Oléron) and
    # Saint-Trojan-les-Bains (south tip): across the sea from Marennes, and apart from each other
    # by the rest of Oléron — one land gap, two island parts
    codes = ["17219", "17323", "17411"]
    assert "17411" not in _neighbours("17323")
    d = cpts_geo.diagnose(pd.DataFrame({"cpts": "CPTS Marennes-Oléron", "code": codes}))
    p = d.perimeters.iloc[0]
    assert p["n_parts"] == 2 and p["n_islands"] == 2
    r = validate_territory(codes)
    c = r["contiguity"]
    assert c.level == "warning" and c.details["n_parts"] == 2
    # the smaller Oléron part (Saint-Trojan, 1,121 inhabitants against 1,358) is the one cut off
    assert c.units == ("17411",)


# ------------------------------------------------------------------------------------------
# Paris, Lyon, Marseille: the reference's one city ↔ arrondissement mapping
# ------------------------------------------------------------------------------------------


def test_plm_expand_and_collapse():
    # Paris has 20 municipal arrondissements, Lyon 9, Marseille 16 (CGCT, art. R2511-1)
    assert len(reference.plm_arrondissements("75056")) == 20
    assert reference.plm_arrondissements("69123") == tuple(f"6938{k}" for k in range(1, 10))
    assert len(reference.plm_arrondissements("13055")) == 16
    assert reference.plm_arrondissements("06004") == ()
    e = reference.plm_expand(["06004", "13055", "69123"], cities={"13055"})
    assert e["row"].tolist() == [0] + [1] * 16 + [2]
    assert e["unit"].tolist() == ["06004", *[f"132{k:02d}" for k in range(1, 17)], "69123"]
    assert reference.plm_collapse(["75120", "69381", "13216", "06004"]).tolist() == [
        "75056", "69123", "13055", "06004"]
    assert reference.plm_cities({"13216", "06004"}) == frozenset({"13055"})
    u = reference.units()
    assert u.index.dtype == object and u.at["13201", "parent"] == "13055"


def test_white_zone_neighbour_cpts_and_shared_border():
    d = cpts_geo.diagnose(_mandelieu_listing(), departments=["06", "83"])
    z = d.white_zones[d.white_zones["codes"].map(lambda c: "06079" in c)].iloc[0]
    assert set(z["neighbour_cpts"]) == {"CPTS Cannes-Grasse", "CPTS Estérel Var"}
    # independent measure: the length of the common boundary of the dissolved outlines, in
    # Lambert-93 (EPSG:2154), by a geometric intersection instead of shared coverage segments
    per = d.perimeters.set_index("cpts")
    zone = gpd.GeoSeries([z["geometry"]], crs=4326).to_crs(2154).iloc[0]
    for name, km in zip(z["neighbour_cpts"], z["neighbour_border_km"], strict=True):
        other = gpd.GeoSeries([per.at[name, "geometry"]], crs=4326).to_crs(2154).iloc[0]
        expected = shapely.intersection(zone.boundary, other.boundary).length / 1000
        assert km == pytest.approx(expected, abs=0.1), name
    assert list(z["neighbour_border_km"]) == sorted(z["neighbour_border_km"], reverse=True)


def test_enclaves_in_one_call_agree_with_the_exact_complement():
    """The enclaves of several territories found at once (one components call over their
    complements, far units standing as connected pieces) are the components of each territory's
    complement found directly, on real territories: the Antibes ring, the Forcalquier ring
    (inland, Forcalquier enclosed), two parts at both ends of France (Brest, Nice: no enclave)."""
    from cpts_geo import topology
    from cpts_geo.perimeters import unit_graph
    from cpts_geo.units import load_units

    codes = load_units().code
    pos = {c: i for i, c in enumerate(codes)}
    graph, land = unit_graph(frozenset()), topology.land_masses()
    forcalquier = sorted(_neighbours("04088"))
    territories = [ANTIBES_RING, forcalquier, ["29019", "06088"]]
    group = np.concatenate([np.full(len(t), k) for k, t in enumerate(territories)])
    unit = np.array([pos[c] for t in territories for c in t])
    fast = topology.enclaves(graph, land, group, unit, len(territories))
    for k, t in enumerate(territories):
        slow = topology._exact_enclaves(graph, land, np.array([pos[c] for c in t]))
        assert [list(codes[e]) for e in fast[k]] == [list(codes[e]) for e in slow]
    assert [[list(codes[e]) for e in f] for f in fast] == [[["06004"]], [["04088"]], []]


def test_enclaves_of_a_national_listing_in_one_call_equal_each_exact_complement():
    """Every EPCI of France as a territory, 8 % of communes left out and 2 % given to a second
    territory far away (fixed seed): the enclaves found for all territories at once are, for a
    sample of them, those of the complement of each territory computed alone."""
    from cpts_geo import topology
    from cpts_geo.units import load_units

    u = load_units()
    rng = np.random.default_rng(7)
    epci_i, _ = u.categories("epci")
    keep = (epci_i >= 0) & (rng.random(len(u)) >= 0.08)
    group, unit = epci_i[keep].astype(np.int64), np.flatnonzero(keep)
    extra = rng.choice(unit, size=len(unit) // 50, replace=False)
    group = np.r_[group, rng.integers(0, epci_i.max() + 1, len(extra))]
    unit = np.r_[unit, extra]
    key = np.unique(group * len(u) + unit)
    group, unit = key // len(u), key % len(u)
    n = int(epci_i.max()) + 1
    fast = topology.enclaves(u.adjacency, u.land, group, unit, n)
    assert sum(len(f) for f in fast) > 100  # the random cuts make enclaves
    for g in rng.choice(n, size=40, replace=False).tolist() + [k for k in range(n) if fast[k]][:20]:
        slow = topology._exact_enclaves(u.adjacency, u.land, unit[group == g])
        assert [e.tolist() for e in fast[g]] == [e.tolist() for e in slow], g
