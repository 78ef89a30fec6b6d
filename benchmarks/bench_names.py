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


CPU: list[float] = []  # process CPU time of the last timed() call (the machine may be shared)


def timed(fn, *args) -> tuple[float, object]:
    t, c = time.perf_counter(), time.process_time()
    out = fn(*args)
    CPU[:] = [time.process_time() - c]
    return time.perf_counter() - t, out


def per_name(total: float, n: int) -> str:
    return f"{total / n * 1000:.3f} ms per name (CPU {CPU[0] / n * 1000:.3f} ms)"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--old-sample", type=int, default=300)
    ap.add_argument("--ref", default="af755c5")
    args = ap.parse_args()

    t_build, _ = timed(names.index)
    t_tri, _ = timed(names._trigrams)
    print(f"index built in {t_build:.2f} s (+ trigrams {t_tri:.2f} s), {len(names.index().frame):,} names")
    typos, deps, truth = unknown_names()
    cg.normalise_codes(["Forcalquer"])  # warm
    t_new, out = timed(cg.normalise_codes, typos)
    found = sum(bool(c) for c in out["candidates"])
    print(f"new: {N:,} unknown names in {t_new:.2f} s = {per_name(t_new, N)}, "
          f"{found:,} with suggestions")
    t_dep, _ = timed(cg.normalise_codes, typos, deps)  # the usual "Nom (04)"
    print(f"new, with the department: {per_name(t_dep, N)}")

    old = load_old(args.ref)
    old.normalise_codes(["Forcalquer"])  # warm: its name table
    sample = typos if args.old_sample <= 0 else typos[: args.old_sample]
    t_old, out_old = timed(old.normalise_codes, sample)
    old_txt = per_name(t_old, len(sample))
    t_new_s, out_new = timed(cg.normalise_codes, sample)
    print(f"old ({args.ref}): {len(sample):,} of the same names in {t_old:.2f} s = {old_txt}; "
          f"new on the same names {per_name(t_new_s, len(sample))}; ratio {t_old / t_new_s:.0f}x")
    t_old_d, _ = timed(old.normalise_codes, sample, deps[: len(sample)])
    old_txt = per_name(t_old_d, len(sample))
    t_new_d, _ = timed(cg.normalise_codes, sample, deps[: len(sample)])
    print(f"with the department: old {old_txt}; new {per_name(t_new_d, len(sample))}")
    def recall(out) -> int:  # the real name (before the typo) among the suggestions
        return sum(code in {c["code"] for c in cands} for code, cands in zip(truth, out["candidates"], strict=False))

    print(f"real name among the suggestions: old {recall(out_old)}/{len(sample)}, "
          f"new {recall(out_new)}/{len(sample)} (all 2,000: new {recall(out)})")

    listing = reference.load_names().query("kind == 'current'")["nom"].tolist()
    t_list, res = timed(cg.normalise_codes, listing)
    print(f"all {len(listing):,} current names as a listing: {t_list:.2f} s (CPU {CPU[0]:.2f} s), "
          f"{(res['status'] == 'name').sum():,} resolved, {(res['status'] == 'ambiguous').sum():,} homonyms")


if __name__ == "__main__":
    main()
