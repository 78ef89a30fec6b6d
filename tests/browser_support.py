"""Headless Chromium for the browser tests (maps and validation report), offline.

Needs the Debian packages ``chromium`` and ``chromium-driver`` and the Python package ``selenium``
(``test`` extra); the test modules skip when they are missing.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
#: mark of every browser test: skipped without Chromium (a skip fails the run in CI: conftest.py)
NEEDS_CHROMIUM = pytest.mark.skipif(not (CHROMIUM and DRIVER),
                                    reason="Debian packages chromium and chromium-driver not installed")
ARTIFACTS = Path(__file__).resolve().parent.parent / "build" / "test-artifacts"

#: installed before any page script: records uncaught errors, rejections and console.error calls
ERROR_HOOK = """
window.__errors = [];
window.addEventListener('error', function(e) { window.__errors.push(String(e.message)); });
window.addEventListener('unhandledrejection', function(e) { window.__errors.push(String(e.reason)); });
var __ce = console.error; console.error = function() {
  window.__errors.push(Array.prototype.join.call(arguments, ' ')); __ce.apply(console, arguments); };
"""


def headless_chromium(window_size: str) -> Iterator:
    """Yield a selenium driver of a fresh headless Chromium with networking off (fixture body)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="cpts-geo-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-quic", "--no-first-run",
                "--disable-component-update", "--disable-sync", f"--window-size={window_size}",
                f"--user-data-dir={profile}"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=opts)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": ERROR_HOOK})
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def network_requests(driver) -> list[str]:
    """URLs the page requested since the performance log was last read."""
    import json

    urls = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    return urls


#: true when the Leaflet map ``m`` is at rest: no zoom, pan or fly animation in progress
MAP_IDLE_JS = ("(function(m) { return !m._animatingZoom && !m._flyToFrame &&"
               " !(m._panAnim && m._panAnim._inProgress); })")


def wait_for(driver, script: str, timeout: float = 15.0):
    """Poll ``script`` (JavaScript returning a value) until it is truthy; return that value.

    Browser tests wait for a *state* of the page, never for a fixed time: the assertion that
    follows reads a settled page however slow the machine is. Times out with the last value.
    """
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    last = []

    def poll(d):
        value = d.execute_script(script)
        last[:] = [value]
        return value

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.05).until(poll)
    except TimeoutException as exc:  # say which state never came
        raise AssertionError(f"page state not reached in {timeout} s: {script!r} -> {last}") from exc


def wait_map_idle(driver, map_js: str, timeout: float = 15.0) -> None:
    """Wait until the Leaflet map ``map_js`` (a JS expression) has no animation in progress."""
    wait_for(driver, f"return {MAP_IDLE_JS}({map_js});", timeout)

