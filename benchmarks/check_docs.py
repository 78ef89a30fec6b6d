"""Check the benchmark figures quoted in README.md and docs/*.md against the saved benchmark runs.

Each ``benchmarks/bench_*.py`` saves what it measured to ``benchmarks/results/<name>.json``
(``_results.save``). This script rebuilds, from those files, the exact text the docs quote
(figures rounded as written, with the run's date) and reports every quoted text missing from its
document. After re-running a benchmark, run ``python benchmarks/check_docs.py --print`` to get
the text to paste, then this script (or ``pytest tests/test_docs_figures.py``) to confirm.

    python benchmarks/check_docs.py            # exit 1 and list the stale figures
    python benchmarks/check_docs.py --print    # the quoted texts, from the saved results
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def load(name: str) -> dict:
    return json.loads((RESULTS / f"{name}.json").read_text(encoding="utf-8"))


def _day(rec: dict) -> str:
    return rec["date"][:10]


def _load_avg(rec: dict) -> str:
    la = rec["machine"].get("loadavg_1_5_15") or []
    return f"{la[1]:.0f}" if len(la) > 1 else "?"


def _n(x: float) -> str:
    """Thousands with a comma (English docs): 34871 → 34,871."""
    return f"{int(round(x)):,}"


def classification() -> list[tuple[str, str]]:
    r = load("classification")
    f = r["figures"]
    doc = "docs/classification.md"
    return [
        (doc, f"({_n(f['territories'])} territories, {_n(f['communes'])} communes) in {f['classify_s']:.2f} s, "
              f"{f['ratio']:.0f}× faster than a loop over territories computing the same shares "
              f"({f['naive_s']:.1f} s; identical results, checked by the script)"),
        (doc, f"measured on {_day(r)} (load average ≈ {_load_avg(r)} on 2 cores"),
    ]


def coverage() -> list[tuple[str, str]]:
    r = load("coverage")
    f = r["figures"]
    doc = "docs/coverage.md"
    return [
        (doc, f"({_n(f['cpts'])} pseudo-CPTS from EPCI groupings over all communes, "
              f"{100 * f['removed_share']:.0f} % of communes in no CPTS, {100 * f['shared_share']:.1f} % in several)"),
        (doc, f"`diagnose` {f['diagnose_s']:.2f} s (best of 3), `GeoDataFrame.dissolve` {f['dissolve_s']:.1f} s: "
              f"{f['ratio']:.1f}×"),
        (doc, f"adjacency {f['adjacency_s']:.1f} s once per process"),
        (doc, f"measured on {_day(r)} (load average ≈ {_load_avg(r)} on 2 cores"),
    ]


def national() -> list[tuple[str, str]]:
    r = load("national")
    f = r["figures"]
    doc = "docs/coverage.md"
    return [
        (doc, f"({_n(f['cpts'])} CPTS, every EPCI 2026; {_n(f['rows'])} rows; "
              f"{100 * f['uncovered_share']:.1f} % of communes in no CPTS, {100 * f['shared_share']:.1f} % in two)"),
        (doc, f"national stand-in: `diagnose` {f['diagnose_s']:.2f} s (best of 3), `GeoDataFrame.dissolve` "
              f"{f['dissolve_s']:.1f} s: {f['ratio']:.1f}×"),
        *([(doc, f"in CPU time of the process {f['diagnose_cpu_s']:.2f} s and {f['dissolve_cpu_s']:.2f} s: "
                 f"{f['cpu_ratio']:.1f}×")] if "cpu_ratio" in f else []),
        (doc, f"national stand-in measured on {_day(r)} (load average ≈ {_load_avg(r)} on 2 cores"),
    ]


def apl() -> list[tuple[str, str]]:
    r = load("apl")
    f = r["figures"]
    doc = "docs/indicators.md"
    return [
        (doc, f"({_n(f['pairs_units'])} located units, {f['pairs'] / 1e6:.2f} million pairs under 20 minutes)"),
        (doc, f"| `load_communes()` + first `compute_apl()` (reads the BPE file, neighbour search, both steps) | "
              f"{f['load_communes_s'] + f['compute_apl_first_s']:.1f} s |"),
        (doc, f"| `compute_apl()` end to end incl. neighbour search, warm (best of 5) | {f['compute_apl_warm_s']:.2f} s |"),
        (doc, f"| `compute_apl` on the explicit long table (same inputs as `access`, best of 5) | "
              f"{f['compute_apl_long_table_s']:.2f} s |"),
        (doc, f"| `access.fca.two_stage_fca` on the same inputs (best of 2) | {f['access_s']:.1f} s |"),
        (doc, f"| ratio `access` / `compute_apl`, same inputs | {f['ratio']:.1f}× |"),
        *([(doc, f"| the same ratio in CPU time of the process ({f['access_cpu_s']:.2f} s / "
                 f"{f['compute_apl_long_table_cpu_s']:.2f} s) | {f['cpu_ratio']:.1f}× |")] if "cpu_ratio" in f else []),
        (doc, f"measured on {_day(r)} (load average ≈ {_load_avg(r)} on 2 cores"),
        ("README.md", f"identical to PySAL `access` to 1e-9 and ~{f.get('cpu_ratio', f['ratio']):.0f}× faster"),
    ]


def _validation_rows(rows: list[dict]) -> list[str]:
    out = []
    for x in rows:
        out.append(f"{x['proposal']:<14} {x['units']:>5} {x['validate_ms']:>12.1f} {x['to_html_ms']:>11.1f} "
                   f"{x['what_if_ms']:>11.1f} {x['diagnose_ms']:>12.1f} {x['diagnose_ms'] / x['validate_ms']:>5.1f}× "
                   f"{x['diagnose_classify_ms']:>13.1f} {x['diagnose_classify_ms'] / x['validate_ms']:>5.1f}×")
    return out


def validation() -> list[tuple[str, str]]:
    r = load("validation")
    f = r["figures"]
    doc = "docs/validation.md"
    s, n = f["sample"], f["national"]
    out = [(doc, line) for line in _validation_rows(s["rows"]) + _validation_rows(n["rows"])]
    for label, x in (("PACA sample", s), ("national layer", n)):
        out.append((doc, f"{label}: validate_territory vs naive diagnose: median {x['ratio_diagnose_median']:.1f}× "
                         f"(min {x['ratio_diagnose_min']:.1f}×, max {x['ratio_diagnose_max']:.1f}×); vs diagnose + "
                         f"classify: median {x['ratio_classify_median']:.1f}× (min {x['ratio_classify_min']:.1f}×, "
                         f"max {x['ratio_classify_max']:.1f}×)"))
    out += [
        (doc, f"A report takes about {s['validate_ms_median']:.0f} ms on the sample and "
              f"{n['validate_ms_median']:.0f} ms on the national layer (medians)"),
        (doc, f"with `classify` added it takes {s['ratio_classify_median']:.1f}× the report's time on the sample "
              f"and {n['ratio_classify_median']:.1f}× on the national layer"),
        (doc, f"a full `diagnose` alone takes {s['ratio_diagnose_median']:.1f}× the report's time on the sample "
              f"and {n['ratio_diagnose_median']:.1f}× on the national layer"),
        (doc, f"The HTML page adds {min(s['to_html_ms_min'], n['to_html_ms_min']):.0f}–"
              f"{max(s['to_html_ms_max'], n['to_html_ms_max']):.0f} ms"),
        (doc, f"measured on {_day(r)} (load average ≈ {_load_avg(r)} on 2 cores"),
    ]
    return out


def maps() -> list[tuple[str, str]]:
    r = load("maps")
    f = r["figures"]
    doc = "docs/maps.md"
    out = []
    for key, label in (("region", "region PACA, real sample listing"),
                       ("national_proxy", "mainland + DROM, PROXY listing (every EPCI 2026 as a CPTS, one in five left out)")):
        if key not in f:
            continue
        x = f[key]
        browser = f"{x['browser_load_s']:.1f} s" if "browser_load_s" in x else "—"
        out.append((doc, f"| {label} | {_n(x['cpts'])} | {_n(x['units'])} | {_n(x['vertices_simplified'])} / "
                         f"{_n(x['vertices_raw'])} ({x['vertices_raw'] / x['vertices_simplified']:.2f}×) | "
                         f"{x['html_mb']:.2f} MB / {x['html_raw_mb']:.2f} MB ({x['html_raw_mb'] / x['html_mb']:.2f}×) | "
                         f"{x['layers_s']:.2f} + {x['map_s']:.2f} + {x['render_s']:.2f} s | {browser} |"))
    if "national_proxy" in f and "raw" in f["national_proxy"]:
        x = f["national_proxy"]
        out.append((doc, f"(overlaps {x['coverage']['overlap_km2']:.0f} km², holes {_n(x['coverage']['holes_km2'])} km² "
                         f"against {_n(x['raw']['holes_km2'])} km² in the raw perimeters"))
        out.append((doc, f"creates {_n(x['naive']['overlap_km2'])} km² of overlaps and "
                         f"{_n(x['naive']['holes_km2'] - x['raw']['holes_km2'])} km² of extra holes"))
    out.append((doc, f"measured on {_day(r)} (load average ≈ {_load_avg(r)} on 2 cores"))
    if "region" in f:
        out.append(("README.md", f"a region map weighs ~{f['region']['html_mb']:.1f} MB"))
    return out


def app() -> list[tuple[str, str]]:
    r = load("app")
    f = r["figures"]
    doc = "docs/app.md"
    return [
        (doc, f"| start-up (listing prepared, region simplified, caches warmed) | {f['startup_s']:.0f} s |"),
        (doc, f"| `POST /api/check`, {f['n_codes']} communes, {f['requests']} requests over HTTP | median "
              f"{_n(f['check_http_median_ms'])} ms, p95 {_n(f['check_http_p95_ms'])} ms |"),
        (doc, f"| the same check in process: the app's / `validate_territory` on the listing prepared once / "
              f"listing prepared at every check | {_n(f['check_inprocess_median_ms'])} ms / "
              f"{_n(f['check_library_median_ms'])} ms / {_n(f['check_naive_median_ms'])} ms "
              f"(× {f['check_naive_median_ms'] / f['check_inprocess_median_ms']:.1f}) |"),
        (doc, f"| CPU time of that check (report and JSON; what an idle core takes) | "
              f"{_n(f['check_inprocess_cpu_median_ms'])} ms |"),
        (doc, f"| page ready, region 93 ({f['communes_mb']:.2f} MB of communes GeoJSON) | median "
              f"{f['page_ready_median_s']:.2f} s, max {f['page_ready_max_s']:.2f} s |"),
        (doc, f"measured on {_day(r)} (load average ≈ {_load_avg(r)} on 2 cores"),
    ]


def names() -> list[tuple[str, str]]:
    r = load("names")
    f = r["figures"]
    doc = "docs/reference.md"
    return [
        (doc, f"(2,000 real names with one typo; run of {_day(r)}, load average ≈ {_load_avg(r)} on 2 cores"),
        (doc, f"{f['new_cpu_ms']:.2f} ms of CPU per unknown name ({f['new_dep_cpu_ms']:.2f} ms with the department), "
              f"against {f['old_cpu_ms']:.0f} ms for the previous scan"),
        (doc, f"on the same names ({f['ratio_cpu']:.0f}× less)"),
        (doc, f"for {f['recall_new']} of {f['old_sample']} names ({f['recall_old']} before)"),
        (doc, f"({f['first_pass_cpu_s']:.1f} s of CPU for the 2,000 names)"),
        (doc, f"{f['garbage_cpu_ms']:.2f} ms of CPU per random string"),
        (doc, f"(a {_n(f['garbage_cell_chars'])}-character cell of a binary file)"),
    ]


def large() -> list[tuple[str, str]]:
    r = load("large")
    f = r["figures"]
    c, b, li = f["current"], f["before"], f["listing"]
    doc = "README.md"

    def mb(x: dict, name: str) -> str:
        return f"{x['files_mb'][name]:.0f} MB" if name in x["files_mb"] else "—"

    return [
        (doc, f"a {_n(li['rows'])}-row stand-in listing ({_n(li['cpts'])} CPTS, each listed commune in "
              f"{li['mean_cpts_per_listed_commune']:.1f} CPTS on average)"),
        (doc, f"| now | {c['wall_s']:.0f} s | {c['cpu_s']:.0f} s | {_n(c['peak_mb'])} MB | "
              f"{mb(c, 'carte_couverture.html')} | {mb(c, 'diagnostic_cpts.xlsx')} | {c['loadavg_1_5_15'][1]:.0f} |"),
        (doc, f"| before the restructuring | {b['wall_s']:.0f} s | {b['cpu_s']:.0f} s | {_n(b['peak_mb'])} MB | "
              f"{mb(b, 'carte_couverture.html')} | {mb(b, 'diagnostic_cpts.xlsx')} | {b['loadavg_1_5_15'][1]:.0f} |"),
        (doc, f"{c['steps_s']['écriture des tableaux (GeoPackage, CSV, classeur Excel)']:.0f} s of the "
              f"{c['wall_s']:.0f} s with the tables"),
        (doc, f"the CPU time falls by {100 * (1 - c['cpu_s'] / b['cpu_s']):.0f} % and the peak memory by "
              f"{100 * (1 - c['peak_mb'] / b['peak_mb']):.0f} %"),
        (doc, f"(the PDF, vector, weighs {mb(c, 'carte_couverture.pdf')})"),
        (doc, f"« … carte interactive (HTML) : terminé en "
              f"{c['steps_s']['carte interactive (HTML)']:.1f} s »".replace(".", ",")),
        (doc, f"now measured on {c['date']} (load average ≈ {c['loadavg_1_5_15'][1]:.0f}), before on {b['date']} "
              f"(≈ {b['loadavg_1_5_15'][1]:.0f})"),
    ]


def _span(values: list[str]) -> str:
    nums = sorted({int(x) for x in values if x.isdigit()})
    return "?" if not nums else str(nums[0]) if len(nums) == 1 else f"{nums[0]}–{nums[-1]}"


def readme() -> list[tuple[str, str]]:
    c, d, a, v = (load(n) for n in ("classification", "coverage", "apl", "validation"))
    return [
        ("README.md", f"measured on {_day(c)}, load average ≈ {_span([_load_avg(r) for r in (c, d, a, v)])} on 2 cores"),
        ("README.md", f"| `classify`, {_n(c['figures']['territories'])} territories, vs a loop over territories | "
                      f"{c['figures']['ratio']:.0f}× |"),
        ("README.md", f"| `diagnose`, {_n(d['figures']['cpts'])} pseudo-CPTS, vs `GeoDataFrame.dissolve` (outlines "
                      f"only) | {d['figures']['ratio']:.1f}× |"),
        ("README.md", f"| `compute_apl`, all of France, vs PySAL `access` on the same table"
                      f"{' (CPU time)' if 'cpu_ratio' in a['figures'] else ''} | "
                      f"{a['figures'].get('cpu_ratio', a['figures']['ratio']):.1f}× |"),
        ("README.md", f"| `validate_territory` vs `diagnose` + `classify` of the listing, national layer (median) | "
                      f"{v['figures']['national']['ratio_classify_median']:.1f}× |"),
    ]


CHECKS = {"classification": classification, "coverage": coverage, "national": national, "apl": apl, "validation": validation,
          "maps": maps, "app": app, "large": large, "names": names, "readme": readme}


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).casefold()


def problems() -> list[str]:
    """Every quoted text missing from its document (empty when the docs match the saved runs)."""
    out = []
    for name, fn in CHECKS.items():
        if name != "readme" and not (RESULTS / f"{name}.json").exists():
            out.append(f"{name}: no saved run (python benchmarks/bench_{name}.py)")
            continue
        for doc, text in fn():
            if _norm(text) not in _norm((ROOT / doc).read_text(encoding="utf-8")):
                out.append(f"{doc}: figure of benchmarks/results/{name}.json not found: {text!r}")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--print", action="store_true", help="print the quoted texts from the saved results")
    args = p.parse_args(argv)
    if args.print:
        for name, fn in CHECKS.items():
            if name == "readme" or (RESULTS / f"{name}.json").exists():
                print(f"== {name}")
                for doc, text in fn():
                    print(f"[{doc}] {text}")
        return 0
    bad = problems()
    for line in bad:
        print(line)
    print("docs figures match the saved benchmark runs" if not bad else f"{len(bad)} stale figure(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
