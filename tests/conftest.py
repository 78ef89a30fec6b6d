"""Shared fixtures: the real embedded reference and the real PACA sample listing."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
#: the departments the sample covers whole (examples/cpts_paca_sample/README.md)
SAMPLE_DEPARTMENTS = ["04", "05", "84"]


@pytest.fixture(scope="session")
def communes():
    import cpts_geo

    return cpts_geo.load_communes()


@pytest.fixture(scope="session")
def sample_listing() -> Path:
    """The 21 CPTS of the ARS PACA listing with communes in 04, 05 and 84, all their rows (three
    reach into 06, 13 and 83: analyse it on ``SAMPLE_DEPARTMENTS``)."""
    return EXAMPLES / "cpts_paca_sample" / "cpts_04_05_84.csv"


# ------------------------------------------------------------------------------------------
# In CI a skipped browser test is a failure, not a silent pass
# ------------------------------------------------------------------------------------------


def _in_ci() -> bool:
    import os

    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _is_browser_module(path) -> bool:
    """Browser test modules, and the app's (its server is the ``app`` extra, which ``.[test]``
    includes: a skip there means a broken install)."""
    name = Path(str(path)).name
    return name.endswith("_browser.py") or name.startswith("test_app")


def _skip_reason(longrepr) -> str:
    # a skip's longrepr is (file, line, "Skipped: reason")
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """CI=true: a browser test (``tests/*_browser.py``) that was skipped (no chromium, no selenium)
    fails, so the maps and report pages are never counted as tested when they were not."""
    outcome = yield
    rep = outcome.get_result()
    if rep.skipped and _in_ci() and _is_browser_module(item.path) and not hasattr(rep, "wasxfail"):
        rep.outcome = "failed"
        rep.longrepr = (f"browser test skipped in CI (CI=true): {_skip_reason(rep.longrepr)} — "
                        "install chromium, chromium-driver and selenium (see .ci/run) and pip install -e \".[test]\"")


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """CI=true: a browser test module skipped as a whole (``pytest.importorskip``) fails too."""
    outcome = yield
    rep = outcome.get_result()
    if rep.skipped and _in_ci() and isinstance(collector, pytest.Module) and _is_browser_module(collector.path):
        rep.outcome = "failed"
        rep.longrepr = (f"browser test module skipped in CI (CI=true): {_skip_reason(rep.longrepr)} — "
                        "install chromium, chromium-driver and selenium (see .ci/run) and pip install -e \".[test]\"")
