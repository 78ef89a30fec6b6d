"""Benchmark of cpts_geo.validate_territory: time per report once the reference and the existing
listing are loaded, against the naive approach measured in the same run.

Listings:

* the real PACA sample (21 CPTS with communes in 04, 05, 84), with the six proposals of
  tests/fixtures/proposals (clean, overlap, enclave, cross-region, codes, drawn polygon);
* a national layer of ~1,000 pseudo-CPTS built from the EPCI of France (the layer of
  benchmarks/bench_coverage.py), with proposals made of its white zones.

Timed, warm (reference, adjacency and listing loaded once, as in a session or a server):

* ``validate_territory(proposal, prepared_listing)`` — every check (codes, overlap, contiguity,
  enclaves, white zones created/absorbed, borders, size, EPCI, density/AAV profiles);
* ``report.to_html()`` — the self-contained HTML page with its map, separately;
* ``report.with_added([...])`` — a what-if variant;
* the naive approach: ``cpts_geo.diagnose`` of the listing with the proposal added as one more
  CPTS (what one would do with the coverage module alone: it recomputes every perimeter, the
  overlaps and the white zones of the whole listing for each proposal), alone and followed by
  ``cpts_geo.classify`` of the proposal's perimeter (size band, IGAS, density and AAV profiles,
  which the report also gives). Both include reading the proposal, as validate_territory does.

Run: ``python benchmarks/bench_validation.py`` (best of 5 runs per proposal).
"""

from __future__ import annotations

import importlib.util
import statistics
import time
from pathlib import Path

import pandas as pd

import cpts_geo as cg
from cpts_geo.validation import ExistingListing, read_proposal, validate_territory

try:
    from _results import save
except ImportError:  # imported from elsewhere than benchmarks/
    save = None

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "cpts_paca_sample" / "cpts_04_05_84.csv"
FIX = ROOT / "tests" / "fixtures" / "proposals"
RUNS = 5


def best(fn, runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def naive(members: pd.DataFrame, proposal_path: object, with_classify: bool = False) -> None:
    """Full diagnosis of the listing plus the proposal as one more CPTS (and, optionally, the
    classification of the proposal's perimeter for the size / density / AAV profiles)."""
    p = read_proposal(proposal_path)
    extra = p.members[["code"]].assign(cpts="__proposition__")
    d = cg.diagnose(pd.concat([members[["cpts", "code"]], extra], ignore_index=True))
    if with_classify:
        cg.classify(d.perimeters[d.perimeters["cpts"] == "__proposition__"])


ROWS: dict[str, list[dict]] = {}


def run(label: str, members: pd.DataFrame, listing: ExistingListing, proposals: dict[str, object]) -> list[float]:
    print(f"\n{label}: {members['cpts'].nunique()} CPTS, {len(members)} memberships")
    print(f"  {'proposal':<14} {'units':>5} {'validate ms':>12} {'to_html ms':>11} {'what-if ms':>11} "
          f"{'diagnose ms':>12} {'ratio':>6} {'+classify ms':>13} {'ratio':>6}")
    ratios = []
    for name, prop in proposals.items():
        r = validate_territory(prop, listing)
        t_val = best(lambda prop=prop: validate_territory(prop, listing))
        t_html = best(r.to_html, 3)
        extra = [c for c in r["enclave"].units[:1]] or list(r.codes[:1])
        t_if = best(lambda r=r, extra=extra: r.with_added(extra), 3)
        t_naive = best(lambda prop=prop: naive(members, prop), 3)
        t_naive2 = best(lambda prop=prop: naive(members, prop, True), 2)
        ratios.append((t_naive / t_val, t_naive2 / t_val))
        ROWS.setdefault(label, []).append({
            "proposal": name, "units": len(r.codes), "validate_ms": 1000 * t_val, "to_html_ms": 1000 * t_html,
            "what_if_ms": 1000 * t_if, "diagnose_ms": 1000 * t_naive, "diagnose_classify_ms": 1000 * t_naive2})
        print(f"  {name:<14} {len(r.codes):>5} {1000 * t_val:>12.1f} {1000 * t_html:>11.1f} {1000 * t_if:>11.1f} "
              f"{1000 * t_naive:>12.1f} {t_naive / t_val:>5.1f}× {1000 * t_naive2:>13.1f} {t_naive2 / t_val:>5.1f}×")
    return ratios


def national() -> tuple[pd.DataFrame, dict[str, list[str]]]:
    spec = importlib.util.spec_from_file_location("bench_coverage", Path(__file__).with_name("bench_coverage.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    members = mod.national_layer()
    diag = cg.diagnose(members)
    wz = diag.white_zones.sort_values("n_units", ascending=False)
    proposals = {}
    for _, z in wz.head(3).iterrows():
        proposals[f"zone {z['zone_id']}"] = list(z["codes"])
    # a proposal overlapping an existing pseudo-CPTS: its communes plus a white neighbour zone
    per = diag.perimeters.sort_values("population").iloc[len(diag.perimeters) // 2]
    proposals["overlap"] = list(per["codes"]) + list(wz.iloc[0]["codes"])[:5]
    return members, proposals


def main() -> None:
    t = time.perf_counter()
    cg.load_communes()
    t_ref_ms = 1000 * (time.perf_counter() - t)
    print(f"reference load (cold): {t_ref_ms:.0f} ms")
    t = time.perf_counter()
    members = cg.read_members(SAMPLE)
    listing = ExistingListing(members)
    listing.coverage(frozenset())
    t_prep_ms = 1000 * (time.perf_counter() - t)
    print(f"sample listing read + prepared (cold, adjacency built once): {t_prep_ms:.0f} ms")
    cg.diagnose(members)  # warm the naive path too
    proposals = {p.stem: p for p in sorted(FIX.glob("*")) if p.suffix in (".csv", ".txt", ".geojson")}
    ratios = run("PACA sample listing", members, listing, proposals)
    n_sample = len(ratios)
    t = time.perf_counter()
    nat_members, nat_props = national()
    nat_listing = ExistingListing(nat_members)
    nat_listing.coverage(frozenset())
    t_nat = time.perf_counter() - t
    print(f"\nnational layer built, diagnosed and prepared in {t_nat:.1f} s (once)")
    ratios += run("National layer", nat_members, nat_listing, nat_props)
    figures = {"reference_load_ms": t_ref_ms, "sample_prepare_ms": t_prep_ms, "national_prepare_s": t_nat}
    for (label, rs), key in zip((("PACA sample", ratios[:n_sample]), ("national layer", ratios[n_sample:])),
                                ("sample", "national"), strict=True):
        a = [x for x, _ in rs]
        b = [y for _, y in rs]
        rows = ROWS["PACA sample listing" if key == "sample" else "National layer"]
        figures[key] = {
            "rows": rows,
            "validate_ms_median": statistics.median(r["validate_ms"] for r in rows),
            "to_html_ms_min": min(r["to_html_ms"] for r in rows),
            "to_html_ms_max": max(r["to_html_ms"] for r in rows),
            "ratio_diagnose_median": statistics.median(a), "ratio_diagnose_min": min(a),
            "ratio_diagnose_max": max(a), "ratio_classify_median": statistics.median(b),
            "ratio_classify_min": min(b), "ratio_classify_max": max(b)}
        print(f"{label}: validate_territory vs naive diagnose: median {statistics.median(a):.1f}× "
              f"(min {min(a):.1f}×, max {max(a):.1f}×); vs diagnose + classify: median "
              f"{statistics.median(b):.1f}× (min {min(b):.1f}×, max {max(b):.1f}×)")
    if save:
        save("validation", figures)


if __name__ == "__main__":
    main()
