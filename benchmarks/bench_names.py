"""Benchmark of commune-name matching: 2,000 unknown names (real names with one typo).

Timed in the same run:

* the current path: ``cpts_geo.normalise_codes`` through the commune-name index of
  ``cpts_geo/names.py`` (exact key lookup, then suggestions from a trigram index and a bounded
  candidate set);
* the previous path: ``normalise_codes`` of ``cpts_geo/codes.py`` as it was before the index
  (``git show <ref>:cpts_geo/codes.py``, default ``af755c5``: a scan of the 40,000 names with
  ``difflib.get_close_matches`` over the names starting with the same two letters), on a sample
  of the same names (``--old-sample``, default 300, it is slow) or all of them (``--old-sample 0``).

Both are warm (the reference, and each path's index, are built before timing) and both resolve
each distinct name once. Also timed: a listing of the 34,969 current names (exact matches, homonyms resolved from context).

Run: ``python benchmarks/bench_names.py [--old-sample N] [--ref REF]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cpts_geo as cg
from cpts_geo import names, reference

try:
    from _results import save
except ImportError:  # imported from elsewhere than benchmarks/
    save = None

ROOT = Path(__file__).resolve().parent.parent
N = 2000


def unknown_names(n: int = N, seed: int = 1) -> tuple[list[str], list[str], list[str]]:
    """Real current names with one letter changed, kept only when no name has that key, with the
    department and the code of the real name."""
    rng = random.Random(seed)
    ref = reference.load_names()
    cur = ref[ref["kind"] == "current"]
    pool = list(zip(cur["nom"].tolist(), cur["dep"].tolist(), cur["code"].tolist(), strict=True))
    known = set(names.index().ukeys)
    out: list[str] = []
    deps: list[str] = []
    truth: list[str] = []
    while len(out) < n:
        name, dep, code = rng.choice(pool)
        letters = [i for i, ch in enumerate(name) if ch.isalpha()]
        if len(letters) < 4:
            continue
        i = rng.choice(letters[1:])
        typo = name[:i] + rng.choice("aeioubcdlmnrst") + name[i + 1:]
        if names.key(typo) not in known:
            out.append(typo)
            deps.append(dep)
            truth.append(code)
    return out, deps, truth


def load_old(ref: str):
    source = subprocess.run(["git", "show", f"{ref}:cpts_geo/codes.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "codes_old.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("codes_old", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["codes_old"] = mod
    spec.loader.exec_module(mod)
    return mod


def timed(fn, *args) -> tuple[float, float, object]:
    """Wall time, process CPU time (the machine may be shared: CPU time is the stabler figure) and
    the result of ``fn(*args)``."""
    for cached in (getattr(names, "_postings", None), getattr(names, "_ratio", None)):
        if cached is not None:  # per-name caches: each timing starts cold (the index stays built)
            cached.cache_clear()
    t, c = time.perf_counter(), time.process_time()
    out = fn(*args)
    return time.perf_counter() - t, time.process_time() - c, out


def per_name(wall: float, cpu: float, n: int) -> str:
    return f"{wall / n * 1000:.3f} ms per name (CPU {cpu / n * 1000:.3f} ms)"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--old-sample", type=int, default=300)
    ap.add_argument("--ref", default="af755c5")
    args = ap.parse_args()
    fig: dict = {"unknown_names": N}

    t_build, _, _ = timed(names.index)
    t_tri, _, _ = timed(names._trigrams)
    fig.update(index_s=round(t_build, 3), trigrams_s=round(t_tri, 3), index_names=len(names.index().frame))
    print(f"index built in {t_build:.2f} s (+ trigrams {t_tri:.2f} s), {len(names.index().frame):,} names")
    typos, deps, truth = unknown_names()
    cg.normalise_codes(["Forcalquer"])  # warm: the index
    # first pass: also builds, once per process, the code-history transitions that suggestions of
    # former names go through (one table per COG year met); then every timing is warm
    wall, cpu, _ = timed(cg.normalise_codes, typos)
    fig.update(first_pass_s=wall, first_pass_cpu_s=cpu)
    print(f"first pass (builds the code-history transitions met): {wall:.1f} s (CPU {cpu:.1f} s)")
    wall, cpu, out = timed(cg.normalise_codes, typos)
    found = sum(bool(c) for c in out["candidates"])
    fig.update(new_ms=wall / N * 1000, new_cpu_ms=cpu / N * 1000, with_suggestions=found)
    print(f"new: {N:,} unknown names in {wall:.2f} s = {per_name(wall, cpu, N)}, {found:,} with suggestions")
    wall, cpu, _ = timed(cg.normalise_codes, typos, deps)  # the usual "Nom (04)"
    fig.update(new_dep_ms=wall / N * 1000, new_dep_cpu_ms=cpu / N * 1000)
    print(f"new, with the department: {per_name(wall, cpu, N)}")

    old = load_old(args.ref)
    old.normalise_codes(["Forcalquer"])  # warm: its name table
    sample = typos if args.old_sample <= 0 else typos[: args.old_sample]
    n = len(sample)
    o_wall, o_cpu, out_old = timed(old.normalise_codes, sample)
    n_wall, n_cpu, out_new = timed(cg.normalise_codes, sample)
    fig.update(old_ref=args.ref, old_sample=n, old_ms=o_wall / n * 1000, old_cpu_ms=o_cpu / n * 1000,
               new_sample_ms=n_wall / n * 1000, new_sample_cpu_ms=n_cpu / n * 1000,
               ratio_cpu=o_cpu / n_cpu)
    print(f"old ({args.ref}): {n:,} of the same names in {o_wall:.2f} s = {per_name(o_wall, o_cpu, n)}; "
          f"new on the same names {per_name(n_wall, n_cpu, n)}; CPU ratio {o_cpu / n_cpu:.0f}x")
    o_wall, o_cpu, _ = timed(old.normalise_codes, sample, deps[:n])
    n_wall, n_cpu, _ = timed(cg.normalise_codes, sample, deps[:n])
    fig.update(old_dep_cpu_ms=o_cpu / n * 1000, new_dep_sample_cpu_ms=n_cpu / n * 1000)
    print(f"with the department: old {per_name(o_wall, o_cpu, n)}; new {per_name(n_wall, n_cpu, n)}")

    def recall(res) -> int:  # the real name (before the typo) among the suggestions
        return sum(code in {c["code"] for c in cands} for code, cands in zip(truth, res["candidates"], strict=False))

    fig.update(recall_old=recall(out_old), recall_new=recall(out_new), recall_new_all=recall(out))
    print(f"real name among the suggestions: old {recall(out_old)}/{n}, new {recall(out_new)}/{n} "
          f"(all {N:,}: new {recall(out)})")

    # garbage: the cp1252 bytes of tests/fixtures/bad (a 2,460-character cell) and 2,000 random
    # strings of letters and symbols, 5 to 60 characters: each unknown, each bounded
    rng = random.Random(2)
    alphabet = "abcdefghijklmnopqrstuvwxyzéèàç-' €‚ƒ„…†‡ˆ‰Š‹Œ"
    garbage = ["".join(rng.choice(alphabet) for _ in range(rng.randint(5, 60))) for _ in range(N)]
    cell = (bytes(range(0x80, 0x100)).replace(b"\x81", b"").replace(b"\x8d", b"").replace(b"\x8f", b"")
            .replace(b"\x90", b"").replace(b"\x9d", b"") * 20).decode("cp1252")
    wall, cpu, _ = timed(cg.normalise_codes, garbage)
    fig.update(garbage_ms=wall / N * 1000, garbage_cpu_ms=cpu / N * 1000)
    wall, cpu, _ = timed(cg.normalise_codes, [cell])
    fig.update(garbage_cell_chars=len(cell), garbage_cell_ms=wall * 1000)
    print(f"garbage: {N:,} random strings {per_name(fig['garbage_ms'] / 1000 * N, fig['garbage_cpu_ms'] / 1000 * N, N)}; "
          f"one {len(cell):,}-character cell {wall * 1000:.1f} ms")

    listing = reference.load_names().query("kind == 'current'")["nom"].tolist()
    wall, cpu, res = timed(cg.normalise_codes, listing)
    fig.update(listing_names=len(listing), listing_s=wall, listing_cpu_s=cpu,
               listing_resolved=int((res["status"] == "name").sum()),
               listing_homonyms=int((res["status"] == "ambiguous").sum()))
    print(f"all {len(listing):,} current names as a listing: {wall:.2f} s (CPU {cpu:.2f} s), "
          f"{fig['listing_resolved']:,} resolved, {fig['listing_homonyms']:,} homonyms")
    if save is not None:
        save("names", {k: round(v, 4) if isinstance(v, float) else v for k, v in fig.items()})


if __name__ == "__main__":
    main()
