"""Quick cost guard for CI (under a minute): fails when a core step becomes much slower.

In ONE run, on this machine, it compares:

* ``diagnose`` (warm, best of 3) on the national stand-in listing of ``bench_national.py``
  (1,255 CPTS, 8 % of communes uncovered, 2 % in a second CPTS) with ``GeoDataFrame.dissolve``
  of the same membership: fails below 3× (target 10×);
* ``compute_apl`` on the long travel-time table of all of France (best of 3) with PySAL
  ``access.fca.two_stage_fca`` on the same inputs (one run): fails below 5× (target 20×).

Ratios measured in the same run cancel most of the machine's speed; they are taken in CPU time of
the process, which moves less than the wall time with the other jobs of a shared machine (both are
printed). The floors are far below the targets, to catch a regression (a step several times
slower), not noise. Nothing is
saved: the figures the docs quote come from ``bench_national.py`` and ``bench_apl.py``.

Run: ``python benchmarks/quick.py`` (exit 1 and the failed floors on stderr).
"""

from __future__ import annotations

import sys
import time

import numpy as np
from bench_apl import compare_with_access
from bench_national import run

import cpts_geo as cg

DIAGNOSE_FLOOR = 3.0
APL_FLOOR = 5.0


def main() -> int:
    t0 = time.perf_counter()
    nat = run(check_outlines=False)
    print(f"national stand-in ({nat.cpts} CPTS, {nat.rows} rows): diagnose {nat.diagnose_cpu_s:.2f} s "
          f"of CPU (best of 3), dissolve {nat.dissolve_cpu_s:.2f} s: {nat.cpu_ratio:.1f}x (floor "
          f"{DIAGNOSE_FLOOR:g}x; wall time {nat.diagnose_s:.2f} s / {nat.dissolve_s:.2f} s = {nat.ratio:.1f}x)")
    apl = compare_with_access(cg.load_communes(), n_ours=3, n_access=1)
    diff = float(np.nanmax(np.abs(apl.ours.to_numpy() - apl.theirs.to_numpy())))
    print(f"APL, all of France ({len(apl.travel_times)} pairs): compute_apl {apl.ours_cpu_s:.2f} s of CPU "
          f"(best of 3), access {apl.access_cpu_s:.2f} s: {apl.cpu_ratio:.1f}x (floor {APL_FLOOR:g}x; wall "
          f"time {apl.ours_s:.2f} s / {apl.access_s:.2f} s = {apl.ratio:.1f}x), max |difference| {diff:.1e}")
    print(f"quick benchmarks: {time.perf_counter() - t0:.0f} s")
    failed = []
    if nat.cpu_ratio < DIAGNOSE_FLOOR:
        failed.append(f"diagnose is only {nat.cpu_ratio:.1f}x faster than dissolve (floor {DIAGNOSE_FLOOR:g}x)")
    if apl.cpu_ratio < APL_FLOOR:
        failed.append(f"compute_apl is only {apl.cpu_ratio:.1f}x faster than access (floor {APL_FLOOR:g}x)")
    if not diff <= 1e-12:
        failed.append(f"compute_apl and access disagree (max |difference| {diff:.1e})")
    for f in failed:
        print(f"COST REGRESSION: {f}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
