"""Benchmark of cpts_geo.diagnose on a national CPTS layer vs GeoDataFrame.dissolve.

The layer: the EPCI of France (COG 2026) grouped into about 1,000 pseudo-CPTS (the smallest EPCI
merged into a neighbouring one), over all ~35,000 communes, with 4 % of communes removed (white
zones) and 2 % listed by a second, neighbouring CPTS (overlaps). Built with a fixed seed.

Timed, in the same run:

* ``diagnose`` — perimeters (coverage-aware union, population, area, EPCI, enclaves, parts),
  overlaps (per unit and per pair), white zones (connected components, type, geometry), coverage
  rates and ACI bands; warm: reference and adjacency already cached (they are built once per
  process, the cold first call is printed too);
* the naive approach: ``GeoDataFrame.dissolve(by="cpts")`` on the same membership (geometry only,
  nothing else), as one writes it with geopandas.

Run: ``python benchmarks/bench_coverage.py``.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import shapely

import cpts_geo as cg
from cpts_geo.perimeters import adjacency_pairs

try:
    from _results import save
except ImportError:  # imported from elsewhere than benchmarks/
    save = None


def national_layer(seed: int = 2026, target: int = 1000) -> pd.DataFrame:
    """Members (cpts, code) of ~``target`` pseudo-CPTS built from EPCI groupings."""
    rng = np.random.default_rng(seed)
    communes = cg.load_communes(kinds=("commune",))
    communes = communes[communes["epci"].notna()]
    group = dict(zip(communes["code"], communes["epci"], strict=True))
    pop = communes.groupby("epci")["population"].sum().astype(float)
    pairs = adjacency_pairs()
    pairs = pairs[pairs["a"].isin(group) & pairs["b"].isin(group)]
    ea, eb = pairs["a"].map(group).to_numpy(), pairs["b"].map(group).to_numpy()
    nb = pd.DataFrame({"x": np.r_[ea, eb], "y": np.r_[eb, ea]})
    nb = nb[nb["x"] != nb["y"]].drop_duplicates()
    # merge the smallest EPCI into their smallest neighbour until ``target`` groups remain
    parent = {e: e for e in pop.index}

    def find(e: str) -> str:
        while parent[e] != e:
            e = parent[e]
        return e

    for e in pop.sort_values().index:
        if len({find(x) for x in parent}) <= target:
            break
        cand = nb.loc[nb["x"] == e, "y"].map(find).unique()
        cand = [c for c in cand if c != find(e)]
        if cand:
            parent[find(e)] = min(cand, key=lambda c: pop.get(c, 0))
    members = pd.DataFrame({"code": communes["code"].to_numpy()})
    members["cpts"] = "CPTS " + members["code"].map(group).map(find)
    # 4 % of communes removed, 2 % also listed by a neighbouring CPTS
    removed = rng.random(len(members)) < 0.04
    shared = members[~removed].sample(frac=0.02, random_state=seed)
    cpts_of = dict(zip(members["code"], members["cpts"], strict=True))
    extra = []
    adj = pd.concat([pairs.rename(columns={"a": "u", "b": "v"}), pairs.rename(columns={"b": "u", "a": "v"})])
    adj = adj.groupby("u")["v"].agg(list)
    for code in shared["code"]:
        other = {cpts_of[v] for v in adj.get(code, [])} - {cpts_of[code]}
        if other:
            extra.append((sorted(other)[0], code))
    out = pd.concat([members[~removed][["cpts", "code"]],
                     pd.DataFrame(extra, columns=["cpts", "code"])], ignore_index=True)
    return out


def main() -> None:
    t0 = time.perf_counter()
    cg.load_communes()
    t_ref = time.perf_counter() - t0
    t0 = time.perf_counter()
    adjacency_pairs()
    t_adj = time.perf_counter() - t0
    members = national_layer()
    n_cpts, n_units = members["cpts"].nunique(), members["code"].nunique()
    print(f"national layer: {n_cpts} CPTS, {len(members)} memberships over {n_units} communes")

    t0 = time.perf_counter()
    d = cg.diagnose(members)
    t_cold = time.perf_counter() - t0
    warm = []
    for _ in range(3):
        t0 = time.perf_counter()
        d = cg.diagnose(members)
        warm.append(time.perf_counter() - t0)
    t_diag = min(warm)

    communes = cg.load_communes(kinds=("commune",))
    gdf = communes[["code", "geometry"]].merge(members, on="code")
    t0 = time.perf_counter()
    naive = gdf.dissolve(by="cpts")
    t_naive = time.perf_counter() - t0

    # same outlines (areas in Lambert-93 agree)
    per = d.perimeters.set_index("cpts")
    metro = per[per["regs"].map(lambda r: all(x not in ("01", "02", "03", "04", "06") for x in r))]
    a1 = metro.geometry.to_crs(2154).area
    a2 = naive.loc[metro.index].geometry.to_crs(2154).area
    assert np.allclose(a1, a2, rtol=1e-6), "dissolved outlines differ"
    assert shapely.is_valid(per.geometry.dropna().values).all()

    s = d.summary
    print(f"  covered units {s['covered_units']}/{s['units']}, white zones {s['white_zones']} "
          f"({s['white_zones_enclosed']} enclosed), overlapping units {len(s['overlapping_units'])}, "
          f"pairs {len(d.overlap_pairs)}, bands {s['bands']}")
    print(f"reference load (cold, once per process): {t_ref:.2f} s")
    print(f"adjacency from shared edges (cold, once per process): {t_adj:.2f} s")
    print(f"diagnose, first call (builds per-analysis unit arrays once): {t_cold:.2f} s")
    print(f"diagnose (perimeters + overlaps + white zones + coverage + bands), best of 3: {t_diag:.2f} s "
          f"(runs: {', '.join(f'{x:.2f}' for x in warm)})")
    print(f"GeoDataFrame.dissolve(by='cpts') on the same membership (geometry only): {t_naive:.2f} s")
    print(f"ratio dissolve / diagnose: {t_naive / t_diag:.1f}x")
    n_all = len(communes)
    per_unit = members.groupby("code")["cpts"].nunique()
    removed, shared = 1 - n_units / n_all, int((per_unit > 1).sum()) / n_all
    print(f"layer: {100 * removed:.1f} % of communes in no CPTS, {100 * shared:.1f} % in several")
    if save:
        save("coverage", {"cpts": n_cpts, "memberships": len(members), "communes": n_units,
                          "communes_all": n_all, "removed_share": removed, "shared_share": shared,
                          "reference_load_s": t_ref, "adjacency_s": t_adj, "diagnose_first_s": t_cold,
                          "diagnose_s": t_diag, "dissolve_s": t_naive, "ratio": t_naive / t_diag})


if __name__ == "__main__":
    main()
