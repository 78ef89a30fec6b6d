"""Benchmark of ``cpts-geo app``: ``POST /api/check`` latency and page-ready time.

* ``/api/check`` over real HTTP (uvicorn on 127.0.0.1, one keep-alive client), warm: median and
  p95 of 100 requests for a 50-commune territory (Forcalquier and its 49 nearest communes by
  adjacency, breadth-first) on the sample listing of region 93 (PACA: 04, 05, 84); the same
  check in process (the app's check, and the library call ``validate_territory`` on the listing
  prepared once) and the naive way (the listing prepared again for every check) for the ratio;
* page ready: headless Chromium, from navigation start to the map drawn and the first check
  answered (``cptsApp.readyMs``), median of 5 loads, with the communes of the whole region
  (``--region 93``: 946 communes simplified as the maps are) and the size of ``/api/communes``;
* ``--screenshot PATH`` also saves a screenshot of the page with a composed territory.

Run: ``python benchmarks/bench_app.py [--screenshot docs/img/app.png]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.app_support import SAMPLE, serve  # noqa: E402

SAMPLE_PATH = str(ROOT / SAMPLE)


def territory(listing, start: str = "04088", n: int = 50) -> list[str]:
    """``start`` and its nearest communes by adjacency (breadth first), ``n`` in all."""
    cov = listing.coverage(frozenset())
    seen, queue = [cov.index.get_loc(start)], [cov.index.get_loc(start)]
    while queue and len(seen) < n:
        i = queue.pop(0)
        for j in sorted(cov.graph[i].indices):
            if j not in seen and len(seen) < n:
                seen.append(j)
                queue.append(j)
    return [str(cov.codes[i]) for i in seen]


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def page_ready(url: str, screenshot: str | None, codes: list[str]) -> list[float]:
    from tests.browser_support import headless_chromium, wait_for

    times = []
    gen = headless_chromium("1500,950")
    driver = next(gen)
    try:
        for _ in range(5):
            driver.get(url)
            times.append(wait_for(driver, "return window.cptsApp && cptsApp.ready && cptsApp.readyMs;", 120))
        if screenshot:
            driver.execute_script("cptsApp.map.setView([44.0, 5.85], 9, {animate: false});")
            for c in codes:
                driver.execute_script("cptsApp.toggle(arguments[0]);", c)
            wait_for(driver, "return !cptsApp.busy && cptsApp.checkedSeq === cptsApp.seq && cptsApp.report;", 120)
            driver.save_screenshot(screenshot)
    finally:
        gen.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--screenshot", help="PNG of the page with a composed territory")
    args = parser.parse_args()

    import httpx

    from cpts_geo.app import create_app
    from cpts_geo.validation import ExistingListing, prepare_existing, validate_territory
    from cpts_geo.validation.inputs import read_existing

    print(f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")
    t0 = time.perf_counter()
    app = create_app(existing=SAMPLE_PATH, region="93")
    t_start = time.perf_counter() - t0
    listing = prepare_existing(SAMPLE_PATH)
    codes = territory(listing)
    print(f"start-up (listing prepared, region 93 simplified, caches warmed): {t_start:.2f} s")

    with serve(app) as url, httpx.Client(base_url=url, timeout=120) as client:
        size = len(client.get("/api/communes").content)
        body = {"codes": codes, "name": "Bench"}
        for _ in range(5):  # warm
            assert client.post("/api/check", json=body).status_code == 200
        times = []
        for _ in range(args.requests):
            t = time.perf_counter()
            r = client.post("/api/check", json=body)
            times.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200
        pop = r.json()["figures"]["population"]
        print(f"/api/check, {len(codes)} communes ({pop} inhabitants), {args.requests} requests over HTTP: "
              f"median {statistics.median(times):.1f} ms, p95 {percentile(times, 95):.1f} ms, "
              f"max {max(times):.1f} ms")

        state = app.state.cpts
        inproc, cpu, lib = [], [], []
        for _ in range(20):
            t, c = time.perf_counter(), time.process_time()
            state.validate(codes, "Bench", ()).to_json()  # what the server runs for /api/check
            inproc.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)  # CPU time: what an idle core would take
            t = time.perf_counter()
            validate_territory(codes, listing, name="Bench").to_json()  # the library call
            lib.append((time.perf_counter() - t) * 1000)
        members = read_existing(SAMPLE_PATH)
        naive = []
        for _ in range(3):
            t = time.perf_counter()
            validate_territory(codes, ExistingListing(members), name="Bench").to_json()
            naive.append((time.perf_counter() - t) * 1000)
        med_in, med_lib, med_naive = statistics.median(inproc), statistics.median(lib), statistics.median(naive)
        print(f"in process (report and its JSON): the app's check {med_in:.1f} ms (CPU time "
              f"{statistics.median(cpu):.1f} ms); validate_territory, listing prepared once: median "
              f"{med_lib:.1f} ms; listing prepared at every check (naive): median {med_naive:.1f} ms "
              f"(x{med_naive / med_in:.1f} the app's check)")

        ready = page_ready(url, args.screenshot, codes[:12])
        print(f"page ready (region 93, {size / 1e6:.2f} MB of communes GeoJSON), 5 loads: median "
              f"{statistics.median(ready) / 1000:.2f} s, max {max(ready) / 1000:.2f} s")
        if args.screenshot:
            print(f"screenshot: {args.screenshot}")

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from _results import save

    save("app", {
        "startup_s": round(t_start, 2), "n_codes": len(codes), "population": pop, "requests": args.requests,
        "check_http_median_ms": round(statistics.median(times), 1),
        "check_http_p95_ms": round(percentile(times, 95), 1), "check_http_max_ms": round(max(times), 1),
        "check_inprocess_median_ms": round(med_in, 1), "check_library_median_ms": round(med_lib, 1),
        "check_naive_median_ms": round(med_naive, 1),
        "check_inprocess_cpu_median_ms": round(statistics.median(cpu), 1),
        "communes_mb": round(size / 1e6, 2), "page_ready_median_s": round(statistics.median(ready) / 1000, 2),
        "page_ready_max_s": round(max(ready) / 1000, 2),
    })


if __name__ == "__main__":
    main()
