"""Benchmark of cpts_geo.classify: vectorised profiles vs the naive loop over perimeters.

Perimeters: every EPCI of France (COG 2026) used as a pseudo-CPTS, i.e. ~1,250 territories
covering all ~35,000 communes: the size of a national CPTS map. The naive approach is what one
writes first: for each territory, select its communes in the reference and compute the
population shares by density level and AAV category. Both give the same numbers (checked).
Run: ``python benchmarks/bench_classification.py``.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

import cpts_geo as cg

try:
    from _results import save
except ImportError:  # imported from elsewhere than benchmarks/
    save = None


def naive(perimeters: pd.DataFrame, ref: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for codes in perimeters["codes"]:
        units = ref.loc[list(codes)]
        pop = units["population"].astype(float)
        total = pop.sum()
        row = {"population": total}
        for k in range(1, 8):
            row[f"dens7_{k}"] = pop[units["dens7"] == k].sum() / total * 100
        row["dens_urbain_dense"] = row["dens7_1"]
        row["dens_intermediaire"] = row["dens7_2"] + row["dens7_3"] + row["dens7_4"]
        row["dens_rural"] = row["dens7_5"] + row["dens7_6"] + row["dens7_7"]
        for c in ("11", "12", "13", "20", "30"):
            row[f"cateaav_{c}"] = pop[units["cateaav2020"] == c].sum() / total * 100
        row["aci_band"] = int(cg.aci_band(total))
        rows.append(row)
    return pd.DataFrame(rows, index=perimeters.index)


def main() -> None:
    communes = cg.load_communes(kinds=("commune",))
    ref = pd.DataFrame(communes.drop(columns="geometry")).set_index("code")
    per = (communes.dropna(subset=["epci"]).groupby("epci")["code"].agg(tuple).rename("codes").reset_index()
           .rename(columns={"epci": "cpts"}))
    n_units = sum(map(len, per["codes"]))
    cg.classify(per.head(3))  # warm the caches (reference already loaded above)
    timings = {}
    for name, fn in (("classify (vectorised)", lambda: cg.classify(per)), ("naive loop", lambda: naive(per, ref))):
        best = np.inf
        for _ in range(3):
            t0 = time.perf_counter()
            res = fn()
            best = min(best, time.perf_counter() - t0)
        timings[name] = (best, res)
    fast, slow = timings["classify (vectorised)"][1], timings["naive loop"][1]
    cols = ["population", "dens_urbain_dense", "dens_intermediaire", "dens_rural", "cateaav_20", "aci_band"]
    np.testing.assert_allclose(fast[cols].astype(float).to_numpy(), slow[cols].astype(float).to_numpy(), rtol=1e-9)
    print(f"{len(per)} territories (EPCI 2026), {n_units} communes; best of 3")
    for name, (t, _) in timings.items():
        print(f"  {name:<24} {t:8.3f} s")
    ratio = timings["naive loop"][0] / timings["classify (vectorised)"][0]
    print(f"  speed-up: x{ratio:.1f} (same results)")
    if save:
        save("classification", {"territories": len(per), "communes": n_units,
                                "classify_s": timings["classify (vectorised)"][0],
                                "naive_s": timings["naive loop"][0], "ratio": ratio})


if __name__ == "__main__":
    main()
