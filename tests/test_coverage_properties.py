"""Property tests of diagnose() on random listings over the real communes of Vaucluse (84) and
Bouches-du-Rhône (13, with Marseille by arrondissement or whole)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cpts_geo

_REF = cpts_geo.load_communes().set_index("code", drop=False)
_POOL = sorted(_REF.loc[_REF["dep"].isin(["84", "13"]) & (_REF["kind"] == "commune"), "code"])
_ARR = sorted(_REF.loc[_REF["parent"] == "13055", "code"])


@st.composite
def listings(draw):
    n_cpts = draw(st.integers(1, 6))
    seed = draw(st.integers(0, 2**32 - 1))
    use_arr = draw(st.booleans())
    rng = np.random.default_rng(seed)
    pool = _POOL + (_ARR[:5] if use_arr else [])
    rows = []
    for k in range(n_cpts):
        size = int(rng.integers(1, 40))
        for c in rng.choice(pool, size=size, replace=False):
            rows.append((f"CPTS {k}", str(c)))
    return pd.DataFrame(rows, columns=["cpts", "code"]), seed


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(listings())
def test_invariants(case):
    df, seed = case
    m = cpts_geo.read_members(df)
    d = cpts_geo.diagnose(m, departments=["84", "13"])
    s = d.summary
    # covered + white = all units, population too
    assert s["covered_units"] + s["white_units"] == s["units"] == len(d.units)
    covered_pop = int(d.units.loc[d.units["n_cpts"] > 0, "population"].sum())
    assert covered_pop + s["white_population"] == s["population"]
    assert d.white_zones["n_units"].sum() == s["white_units"]
    # perimeter population = sum of its units; n_units = number of codes
    for r in d.perimeters.itertuples():
        assert r.population == int(_REF.loc[list(r.codes), "population"].sum())
        assert r.n_units == len(r.codes) == len(set(r.codes))
    # overlaps: per pair = intersection of code sets, each unordered pair once, both directions agree
    sets = {r.cpts: set(r.codes) for r in d.perimeters.itertuples()}
    expected = {(a, b): sets[a] & sets[b] for a in sets for b in sets if a < b and sets[a] & sets[b]}
    got = {(r.cpts_a, r.cpts_b): set(r.codes) for r in d.overlap_pairs.itertuples()}
    assert got == expected
    assert {c for pair in expected.values() for c in pair} == set(d.overlaps["code"])
    # independent of the order of input rows
    shuffled = df.sample(frac=1, random_state=seed % 1000).reset_index(drop=True)
    d2 = cpts_geo.diagnose(cpts_geo.read_members(shuffled), departments=["84", "13"])
    assert d2.summary == s
    assert list(d2.white_zones["codes"]) == list(d.white_zones["codes"])
    assert list(d2.perimeters["codes"]) == list(d.perimeters["codes"])
