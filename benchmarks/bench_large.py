"""The 200,000-row listing of issue 13: ``cpts-geo coverage LISTE --out DIR``, time and peak memory.

No national listing of that size exists offline, so the script builds a STAND-IN from the real
reference (deterministic, ``--seed``): 1,250 "CPTS" of mainland France and the DROM, each the
80–240 communes whose town halls are nearest to a random town hall (160 on average, 200,000 rows
in all, long format ``cpts;code``). Neighbouring blobs overlap heavily: a listed commune is in
about six CPTS. It is a load test, not a realistic listing.

The CLI runs in a child process (``python -m cpts_geo.cli``), once per checkout given: wall time
and the child's peak resident memory (``os.wait4`` rusage ``ru_maxrss``), the size of each file
written, and, for a checkout that prints progress (``CPTS_GEO_PROGRESS=1``), the time of each
step read from its stderr. ``--before PATH`` runs the same listing through another checkout
(e.g. the code before the restructuring, ``/work/wt/before``) with the same interpreter.

    python benchmarks/bench_large.py [--rows 200000] [--cpts 1250] [--before /work/wt/before]
        [--only current|before]   # one checkout; the other's figures are kept from the last run
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

try:
    from _results import save
except ImportError:  # imported from elsewhere than benchmarks/
    save = None

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def build_listing(path: Path, rows: int = 200_000, n_cpts: int = 1250, seed: int = 13) -> dict:
    """Write the stand-in listing (``cpts;code``) and return its shape."""
    from scipy.spatial import cKDTree

    sys.path.insert(0, str(ROOT))
    from cpts_geo.reference import load_communes

    ref = load_communes()
    ref = ref[(ref["kind"] == "commune") & ref["zone"].isin(["metro", "drom"])
              & ref["mairie_lon"].notna()].reset_index(drop=True)
    lat = np.radians(ref["mairie_lat"].to_numpy(float))
    xy = np.column_stack([np.radians(ref["mairie_lon"].to_numpy(float)) * np.cos(lat), lat])
    tree = cKDTree(xy)
    rng = np.random.default_rng(seed)
    sizes = rng.integers(80, 241, n_cpts)
    sizes = np.maximum(1, np.round(sizes * rows / sizes.sum()).astype(int))
    sizes[-1] += rows - sizes.sum()
    centres = rng.choice(len(ref), n_cpts, replace=False)
    codes = ref["code"].to_numpy(object)
    listed: list[np.ndarray] = []
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter=";")
        w.writerow(["cpts", "code_insee"])
        for i, (c, k) in enumerate(zip(centres, sizes, strict=True)):
            _, idx = tree.query(xy[c], k=int(k))
            idx = np.atleast_1d(idx)
            listed.append(idx)
            name = f"CPTS test {i + 1:04d}"
            w.writerows((name, code) for code in codes[idx])
    all_idx = np.concatenate(listed)
    distinct = np.unique(all_idx)
    return {"rows": int(len(all_idx)), "cpts": n_cpts, "distinct_communes": int(len(distinct)),
            "mean_cpts_per_listed_commune": round(len(all_idx) / len(distinct), 2),
            "shared_communes": int((np.bincount(all_idx) > 1).sum()), "seed": seed}


STEP_RE = re.compile("^… (?P<step>.+?) : terminé en (?P<s>[\\d\u202f\u00a0 ,]+) s", re.M)


def run_cli(checkout: Path, listing: Path, out: Path) -> dict:
    """``python -m cpts_geo.cli coverage LISTING --out OUT`` with ``checkout`` first on the path."""
    env = dict(os.environ, PYTHONPATH=str(checkout), CPTS_GEO_PROGRESS="1", PYTHONIOENCODING="utf-8")
    with tempfile.TemporaryFile() as so, tempfile.TemporaryFile() as se:
        t = time.perf_counter()
        p = subprocess.Popen([sys.executable, "-m", "cpts_geo.cli", "coverage", str(listing), "--out", str(out)],
                             cwd=checkout, env=env, stdout=so, stderr=se)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t
        p.returncode = os.waitstatus_to_exitcode(status)
        se.seek(0)
        err = se.read().decode("utf-8", "replace")
        so.seek(0)
        stdout = so.read().decode("utf-8", "replace")
    files = {q.name: round(q.stat().st_size / 1e6, 2) for q in sorted(out.iterdir())} if out.exists() else {}
    steps = {m["step"]: float(re.sub(r"\s", "", m["s"]).replace(",", "."))
             for m in STEP_RE.finditer(err)}
    return {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "loadavg_1_5_15": [round(x, 2) for x in os.getloadavg()],
            "exit": p.returncode, "wall_s": round(wall, 1), "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "peak_mb": round(usage.ru_maxrss / 1024), "files_mb": files, "steps_s": steps,
            "stderr_tail": err.strip().splitlines()[-3:], "stdout_lines": len(stdout.splitlines())}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--cpts", type=int, default=1250)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--before", type=Path, help="another checkout to run the same listing through")
    ap.add_argument("--only", choices=("current", "before"),
                    help="run one checkout and keep the other's figures of the last saved run")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_large_"))
    listing = tmp / "liste_200k.csv"
    shape = build_listing(listing, args.rows, args.cpts, args.seed)
    print(f"listing: {shape['rows']:,} rows, {shape['cpts']:,} CPTS, {shape['distinct_communes']:,} distinct "
          f"communes ({shape['shared_communes']:,} in several CPTS, {shape['mean_cpts_per_listed_commune']} CPTS "
          f"per listed commune), {listing.stat().st_size / 1e6:.1f} MB")
    fig: dict = {"listing": shape}
    saved = RESULTS / "large.json"
    if args.only and saved.exists():  # keep the other checkout's run
        old = json.loads(saved.read_text(encoding="utf-8"))["figures"]
        fig.update({k: v for k, v in old.items() if k in ("current", "before") and k != args.only})
    runs = [] if args.only == "before" else [("current", ROOT)]
    if args.before and args.only != "current":
        runs.append(("before", args.before.resolve()))
    for label, checkout in runs:
        r = run_cli(checkout, listing, tmp / f"out_{label}")
        fig[label] = r
        print(f"{label} ({checkout}): exit {r['exit']}, {r['wall_s']:.0f} s wall, {r['cpu_s']:.0f} s CPU, "
              f"peak {r['peak_mb']:,} MB")
        for step, s in r["steps_s"].items():
            print(f"    {step}: {s:.1f} s")
        for name, mb in r["files_mb"].items():
            print(f"    {name}: {mb:.2f} MB")
        if r["exit"]:
            print("    " + "\n    ".join(r["stderr_tail"]))
    if "current" in fig and "before" in fig:
        c, b = fig["current"], fig["before"]
        fig["ratio_wall"] = round(b["wall_s"] / c["wall_s"], 2)
        fig["ratio_peak"] = round(b["peak_mb"] / c["peak_mb"], 2)
        print(f"before / current: time {fig['ratio_wall']}×, peak memory {fig['ratio_peak']}×")
    if save is not None:
        save("large", fig, note="stand-in listing built from the reference (see the script); each checkout's run has its own date and load average")


if __name__ == "__main__":
    main()
