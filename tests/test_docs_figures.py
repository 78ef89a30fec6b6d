"""The benchmark figures quoted in README.md and docs/*.md match the saved benchmark runs
(benchmarks/results/*.json written by benchmarks/bench_*.py), checked by benchmarks/check_docs.py."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def check_docs():
    spec = importlib.util.spec_from_file_location("check_docs", ROOT / "benchmarks" / "check_docs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_docs_quote_the_saved_benchmark_runs(check_docs):
    assert check_docs.problems() == []


def test_a_changed_figure_is_reported(check_docs, tmp_path, monkeypatch):
    results = tmp_path / "results"
    shutil.copytree(check_docs.RESULTS, results)
    rec = json.loads((results / "classification.json").read_text(encoding="utf-8"))
    rec["figures"]["ratio"] *= 2  # a re-run twice as fast: the docs must be updated
    doubled = f"{rec['figures']['ratio']:.0f}×"
    (results / "classification.json").write_text(json.dumps(rec), encoding="utf-8")
    monkeypatch.setattr(check_docs, "RESULTS", results)
    bad = check_docs.problems()
    # the ratio is quoted twice: in docs/classification.md and in the README's Performance table
    assert len(bad) == 2
    assert "docs/classification.md" in bad[0] and f"{doubled} faster" in bad[0]
    assert "README.md" in bad[1] and f"| {doubled} |" in bad[1]
