"""Save a benchmark's figures to ``benchmarks/results/<name>.json`` (the figures the docs quote).

Each ``bench_*.py`` calls :func:`save` at the end of its run with the figures it printed, plus
the date, the machine (cores, load average at the end of the run: the development machine is
shared, so timings vary) and the git commit. ``benchmarks/check_docs.py`` checks the figures
quoted in README.md and docs/*.md against these files.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def _commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=RESULTS.parent, capture_output=True,
                             text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def save(name: str, figures: dict, note: str | None = None) -> Path:
    """Write ``figures`` (plain JSON values) with the run's date and machine; return the path."""
    RESULTS.mkdir(exist_ok=True)
    load = os.getloadavg() if hasattr(os, "getloadavg") else (None, None, None)
    record = {
        "benchmark": name,
        "command": f"python benchmarks/{Path(sys.argv[0]).name} {' '.join(sys.argv[1:])}".strip(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _commit(),
        "machine": {"cpus": os.cpu_count(), "loadavg_1_5_15": [round(x, 2) for x in load if x is not None],
                    "python": platform.python_version(), "platform": platform.platform(terse=True)},
        "note": note,
        "figures": figures,
    }
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"figures saved to {path.relative_to(RESULTS.parent.parent)}")
    return path
