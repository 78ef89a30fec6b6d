"""Cold load time and memory of the embedded reference, and normalisation throughput.

Run: ``python benchmarks/bench_load.py``. Each measurement runs in a fresh interpreter so the
load is cold (no cache); the naive baseline is reading the same GeoParquet with geopandas
without column pruning plus projecting it for areas.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

try:
    from _results import save
except ImportError:  # imported from elsewhere than benchmarks/
    save = None

ROOT = Path(__file__).resolve().parent.parent

COLD = """
import json, resource, time, tracemalloc
t0 = time.perf_counter()
import cpts_geo
t1 = time.perf_counter()
tracemalloc.start()
gdf = cpts_geo.load_communes()
t2 = time.perf_counter()
cur, peak = tracemalloc.get_traced_memory()
codes = gdf["code"].tolist() + ["05120", "1001", "Forcalquier (04)", "04999"] * 250
t3 = time.perf_counter()
cpts_geo.normalise_codes(codes)
t4 = time.perf_counter()
area = cpts_geo.area_km2(gdf)
t5 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "rows": len(gdf), "load_peak_mb": peak / 2**20,
                  "gdf_mb": gdf.memory_usage(deep=True).sum() / 2**20, "normalise_n": len(codes),
                  "normalise_s": t4 - t3, "area_all_zones_s": t5 - t4,
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(repeat: int = 3) -> None:
    runs = [run(COLD) for _ in range(repeat)]
    best = {k: min(r[k] for r in runs) for k in runs[0]}
    size = sum(p.stat().st_size for p in (ROOT / "data" / "communes").glob("*")) / 2**20
    print(f"embedded reference: {best['rows']} units, data/communes = {size:.1f} MiB on disk")
    print(f"import cpts_geo          : {best['import_s']:.3f} s")
    print(f"cold load_communes()     : {best['load_s']:.3f} s  (best of {repeat}; target well under 2 s)")
    print(f"  peak Python allocations: {best['load_peak_mb']:.0f} MiB, frame {best['gdf_mb']:.0f} MiB,"
          f" process max RSS {best['max_rss_mb']:.0f} MiB")
    print(f"normalise_codes          : {best['normalise_n']} inputs in {best['normalise_s']:.3f} s")
    print(f"area_km2 (5 CRS zones)   : {best['area_all_zones_s']:.3f} s")
    if save:
        save("load", {**best, "data_mib": size, "repeat": repeat})


if __name__ == "__main__":
    main()
