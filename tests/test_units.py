"""cpts_geo.units: the analysis units of one level and the reference topology stored with the
embedded reference (data/communes/topology.npz), checked against a fresh computation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from cpts_geo import reference
from cpts_geo.units import TOPOLOGY_FILE, compute_topology, load_units, reference_topology

#: a few departments: the sample's three, Marseille's (arrondissements), an island department
DEPARTMENTS = ["04", "05", "84", "13", "2A"]


@pytest.fixture(scope="module")
def fresh():
    c = reference.load_communes()
    return compute_topology(c[c["dep"].isin(DEPARTMENTS)])


def _pairs(codes: np.ndarray, a: np.ndarray, b: np.ndarray, km: np.ndarray) -> pd.DataFrame:
    x, y = codes[a], codes[b]
    return (pd.DataFrame({"a": np.where(x < y, x, y), "b": np.where(x < y, y, x), "km": km})
            .sort_values(["a", "b"], ignore_index=True))


def test_the_stored_topology_is_the_one_recomputed_on_a_few_departments(fresh):
    stored = reference_topology()
    assert (reference.data_dir() / "communes" / TOPOLOGY_FILE).exists()
    inside = set(fresh.code)
    mine = _pairs(fresh.code, fresh.a, fresh.b, fresh.km)
    theirs = _pairs(stored.code, stored.a, stored.b, stored.km)
    theirs = theirs[theirs["a"].isin(inside) & theirs["b"].isin(inside)].reset_index(drop=True)
    assert len(mine) > 2000
    pd.testing.assert_frame_equal(mine, theirs)
    at = pd.Index(stored.code).get_indexer(fresh.code)
    np.testing.assert_array_equal(fresh.area_km2, stored.area_km2[at])
    # border flags: equal for every unit whose neighbours all lie in the departments recomputed
    whole = _pairs(stored.code, stored.a, stored.b, stored.km)
    outside = whole[whole["a"].isin(inside) != whole["b"].isin(inside)]
    cut = inside - set(outside["a"]) - set(outside["b"])
    keep = np.isin(fresh.code, list(cut))
    assert keep.sum() > 500
    np.testing.assert_array_equal(fresh.border[keep], stored.border[at][keep])


def test_land_masses_separate_corsica_and_join_marseille_to_the_mainland():
    u = load_units({"13055"})
    land = dict(zip(u.code, u.land, strict=True))
    assert land["13201"] == land["13055" if "13055" in land else "13005"] == land["04070"]
    assert land["2A004"] != land["04070"]  # Ajaccio: another land mass


def test_a_level_replaces_the_city_by_its_arrondissements():
    city, arr = load_units(), load_units({"13055"})
    assert "13055" in set(city.code) and "13201" not in set(city.code)
    assert "13055" not in set(arr.code) and {f"132{k:02d}" for k in range(1, 17)} <= set(arr.code)
    assert len(arr) == len(city) + 15
    assert list(arr.code) == sorted(arr.code)
    # the arrondissements touch each other and the city's neighbours (Aubagne, 13005)
    i = arr.positions(["13211", "13005"])
    assert arr.adjacency[i[0], i[1]] == 1 and arr.shared_km(i[:1], i[1:])[0] > 0


def test_units_are_frozen_and_read_only():
    u = load_units()
    with pytest.raises(dataclasses.FrozenInstanceError):
        u.code = None
    with pytest.raises(ValueError):
        u.population[0] = 1.0
    assert load_units() is u  # cached per level
    assert "units" in repr(u) and len(repr(u)) < 300


def test_areas_are_in_the_local_projected_crs_and_match_the_reference():
    u = load_units()
    forcalquier = u.positions(["04088"])[0]
    assert 40 < u.area_km2[forcalquier] < 50  # 42.6 km² (Lambert-93)
    assert np.isnan(u.area_km2[~u.has_geometry]).all()
    pop = reference.units()["population"].reindex(u.code).to_numpy(dtype=float, na_value=np.nan)
    np.testing.assert_array_equal(u.population, pop)


def test_reference_topology_loads_in_milliseconds():
    import time

    reference_topology.cache_clear()
    reference.load_communes()
    t = time.perf_counter()
    reference_topology()
    assert time.perf_counter() - t < 1.0  # a recomputation takes seconds


def test_the_build_step_rewrites_the_stored_topology_from_the_committed_parquet(tmp_path):
    """``data/build_reference.py --topology-only`` (its ``build_topology``), run on a copy of the
    committed ``communes.parquet``, writes exactly the stored ``topology.npz`` content."""
    import importlib.util
    import shutil
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location("build_reference", root / "data" / "build_reference.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    shutil.copy(reference.data_dir() / "communes" / "communes.parquet", tmp_path / "communes.parquet")
    path = build.build_topology(tmp_path)
    with np.load(path) as new, np.load(reference.data_dir() / "communes" / TOPOLOGY_FILE) as old:
        assert sorted(new.files) == sorted(old.files)
        for key in new.files:
            np.testing.assert_array_equal(new[key], old[key], err_msg=key)
