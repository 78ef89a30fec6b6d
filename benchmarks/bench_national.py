"""Benchmark of cpts_geo.diagnose on the national stand-in listing vs GeoDataFrame.dissolve.

No national CPTS listing is available offline, so the benchmark builds a STAND-IN from the
embedded reference, with a fixed seed: every EPCI 2026 of France is a CPTS (1,255 CPTS over the
34,871 communes that belong to an EPCI), 8 % of the communes are left out (white zones), and
2 % of the communes are also listed by a second CPTS drawn among the other CPTS of their
department (overlaps, and CPTS with a part away from the rest): about 32,800 rows. It is not a
real listing and nothing from it is shipped. Compared with the listing of ``bench_coverage.py``
(1,000 merged EPCI, 4 % uncovered), it has twice the white zones and more enclave candidates,
which is where the cost of the diagnosis grows.

Timed, in the same run:

* ``diagnose`` — perimeters, overlaps, white zones, coverage rates and ACI bands; the cold first
  call is printed, the figure is the best of 3 warm calls (reference and per-process caches built);
* the naive approach: ``GeoDataFrame.dissolve(by="cpts")`` on the same membership (geometry
  only, nothing else), as one writes it with geopandas.

Run: ``python benchmarks/bench_national.py`` (saves ``benchmarks/results/national.json``).
``benchmarks/quick.py`` runs the same comparison as a CI guard.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

import cpts_geo as cg

try:
    from _results import save
except ImportError:  # imported from elsewhere than benchmarks/
    save = None

SEED = 2026
UNCOVERED = 0.08
SHARED = 0.02


def national_standin(seed: int = SEED, uncovered: float = UNCOVERED, shared: float = SHARED) -> pd.DataFrame:
    """The national stand-in listing: columns ``cpts``, ``code_insee``, one row per membership.

    Every EPCI of the reference is a CPTS named ``CPTS <siren>``; a share ``uncovered`` of the
    communes (drawn with ``seed``) is in no CPTS; a share ``shared`` of all communes, drawn among
    the listed ones, is also listed by a second CPTS drawn among the other CPTS of its department
    (so a CPTS may gain a part away from the rest, as when a listing names a distant commune).
    """
    rng = np.random.default_rng(seed)
    communes = cg.load_communes(kinds=("commune",))
    communes = communes[communes["epci"].notna() & (communes["epci"] != "")].reset_index(drop=True)
    cpts = ("CPTS " + communes["epci"]).to_numpy(dtype=object)
    n = len(communes)
    listed = np.flatnonzero(rng.random(n) >= uncovered)
    picked = np.sort(rng.choice(listed, size=round(shared * n), replace=False))
    dep = communes["dep"].to_numpy(dtype=object)
    of_dep = pd.Series(cpts).groupby(dep).unique().map(sorted)
    second = []
    for i in picked:
        others = [c for c in of_dep[dep[i]] if c != cpts[i]]
        second.append(others[rng.integers(len(others))] if others else None)
    keep = np.array([c is not None for c in second], dtype=bool)
    second = pd.DataFrame({"i": picked[keep], "cpts": np.array(second, dtype=object)[keep]})
    codes = communes["code"].to_numpy(dtype=object)
    return pd.DataFrame({
        "cpts": np.r_[cpts[listed], second["cpts"].to_numpy(dtype=object)],
        "code_insee": np.r_[codes[listed], codes[second["i"].to_numpy()]],
    })


@dataclass(frozen=True)
class NationalRun:
    """Figures of one comparison run on the national stand-in (seconds)."""

    cpts: int
    rows: int
    communes_all: int
    uncovered_share: float
    shared_share: float
    diagnose_first_s: float
    diagnose_s: float
    diagnose_runs_s: tuple[float, ...]
    dissolve_s: float
    diagnose_cpu_s: float
    dissolve_cpu_s: float

    @property
    def ratio(self) -> float:
        """How many times faster ``diagnose`` (warm, best of 3) is than ``dissolve`` (wall time)."""
        return self.dissolve_s / self.diagnose_s

    @property
    def cpu_ratio(self) -> float:
        """The same ratio in CPU time of the process (moves less with the other jobs)."""
        return self.dissolve_cpu_s / self.diagnose_cpu_s


def run(check_outlines: bool = True) -> NationalRun:
    """Build the stand-in, time ``diagnose`` (cold, then best of 3 warm) and ``dissolve``."""
    listing = national_standin()
    members = cg.read_members(listing)
    t0 = time.perf_counter()
    d = cg.diagnose(members)
    t_cold = time.perf_counter() - t0
    warm, warm_cpu = [], []
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        d = cg.diagnose(members)
        warm.append(time.perf_counter() - t0)
        warm_cpu.append(time.process_time() - c0)

    communes = cg.load_communes(kinds=("commune",))
    gdf = communes[["code", "geometry"]].merge(listing.rename(columns={"code_insee": "code"}), on="code")
    t0, c0 = time.perf_counter(), time.process_time()
    naive = gdf.dissolve(by="cpts")
    t_naive, c_naive = time.perf_counter() - t0, time.process_time() - c0

    if check_outlines:  # same outlines: areas in Lambert-93 agree (mainland France)
        per = d.perimeters.set_index("cpts")
        metro = per[per["regs"].map(lambda r: all(x not in ("01", "02", "03", "04", "06") for x in r))]
        a1 = metro.geometry.to_crs(2154).area
        a2 = naive.loc[metro.index].geometry.to_crs(2154).area
        assert np.allclose(a1, a2, rtol=1e-6), "dissolved outlines differ"
        assert shapely.is_valid(per.geometry.dropna().values).all()

    per_unit = listing.groupby("code_insee")["cpts"].nunique()
    n_all = len(communes)
    return NationalRun(cpts=listing["cpts"].nunique(), rows=len(listing), communes_all=n_all,
                       uncovered_share=1 - len(per_unit) / n_all,
                       shared_share=int((per_unit > 1).sum()) / n_all, diagnose_first_s=t_cold,
                       diagnose_s=min(warm), diagnose_runs_s=tuple(warm), dissolve_s=t_naive,
                       diagnose_cpu_s=min(warm_cpu), dissolve_cpu_s=c_naive)


def main() -> None:
    t0 = time.perf_counter()
    cg.load_communes()
    t_ref = time.perf_counter() - t0
    r = run()
    print(f"national stand-in: {r.cpts} CPTS, {r.rows} rows; {100 * r.uncovered_share:.1f} % of "
          f"{r.communes_all} communes in no CPTS, {100 * r.shared_share:.1f} % in two")
    print(f"reference load (cold, once per process): {t_ref:.2f} s")
    print(f"diagnose, first call: {r.diagnose_first_s:.2f} s")
    print(f"diagnose, best of 3: {r.diagnose_s:.2f} s (runs: {', '.join(f'{x:.2f}' for x in r.diagnose_runs_s)})")
    print(f"GeoDataFrame.dissolve(by='cpts') on the same membership (geometry only): {r.dissolve_s:.2f} s")
    print(f"ratio dissolve / diagnose: {r.ratio:.1f}x (in CPU time: {r.dissolve_cpu_s:.2f} s / "
          f"{r.diagnose_cpu_s:.2f} s = {r.cpu_ratio:.1f}x)")
    if save:
        save("national", {"cpts": r.cpts, "rows": r.rows, "communes_all": r.communes_all,
                          "uncovered_share": r.uncovered_share, "shared_share": r.shared_share,
                          "reference_load_s": t_ref, "diagnose_first_s": r.diagnose_first_s,
                          "diagnose_s": r.diagnose_s, "diagnose_runs_s": list(r.diagnose_runs_s),
                          "dissolve_s": r.dissolve_s, "ratio": r.ratio, "diagnose_cpu_s": r.diagnose_cpu_s,
                          "dissolve_cpu_s": r.dissolve_cpu_s, "cpu_ratio": r.cpu_ratio},
             note="national STAND-IN listing (every EPCI 2026 as a CPTS, seed 2026), not a real listing")


if __name__ == "__main__":
    main()
