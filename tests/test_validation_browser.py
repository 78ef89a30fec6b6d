"""The HTML validation report in a real headless Chromium, offline: no JavaScript error, no
network request, the map layers drawn, the checks and figures shown, and a screenshot.

Needs the Debian packages ``chromium`` and ``chromium-driver`` and the Python package
``selenium``; skipped when they are missing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

selenium = pytest.importorskip("selenium")
from browser_support import ARTIFACTS, NEEDS_CHROMIUM, headless_chromium, network_requests  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

from cpts_geo.validation import validate_territory  # noqa: E402

pytestmark = NEEDS_CHROMIUM

FIX = Path(__file__).resolve().parent / "fixtures" / "proposals"


@pytest.fixture(scope="module")
def browser():
    yield from headless_chromium("1280,2000")


@pytest.fixture(scope="module", params=["overlap.csv", "enclave.csv", "cross_region.csv"])
def page(request, browser, sample_listing, tmp_path_factory):
    report = validate_territory(FIX / request.param, sample_listing, departments=["04", "05", "84"])
    path = tmp_path_factory.mktemp("report") / f"rapport_{Path(request.param).stem}.html"
    report.to_html(path)
    browser.get_log("performance")
    browser.get(path.as_uri())
    browser.implicitly_wait(2)
    browser.find_element(By.ID, "checks")
    return browser, report, request.param


def test_loads_offline_without_error(page):
    driver, _, _ = page
    errors = driver.execute_script("return window.__errors")
    severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [] and severe == [], (errors, severe)
    external = [u for u in network_requests(driver) if not u.startswith(("file:", "data:", "about:"))]
    assert external == [], external
    assert driver.execute_script("return L.version") == "1.9.4"


def test_map_and_content(page):
    driver, report, name = page
    counts = driver.execute_script(
        "var o = {}; var l = cptsGeoReport.layers; for (var k in l) { o[k] = l[k].getLayers().length; } return o;")
    assert counts["territoire"] == 1
    assert counts["communes"] > len(report.units)  # the territory and its neighbours
    inside = driver.execute_script(
        "return cptsGeoReport.layers.communes.getLayers().filter(function(l) {"
        " return l.feature.properties.in; }).map(function(l) { return l.feature.properties.code; });")
    assert sorted(inside) == sorted(report.codes)
    drawn = len(driver.find_elements(By.CSS_SELECTOR, ".leaflet-overlay-pane path"))
    assert drawn >= counts["communes"] + 1
    # every check is listed with its level; the blocking ones first
    levels = [li.get_attribute("data-level") for li in driver.find_elements(By.CSS_SELECTOR, "li.check")]
    assert len(levels) == len(report.checks)
    assert levels == sorted(levels, key=["blocking", "warning", "ok", "info"].index)
    verdict = driver.find_element(By.ID, "verdict").text
    assert ("corriger" in verdict) == report.blocking
    figures = driver.find_element(By.ID, "figures").text
    assert "Population municipale 2023" in figures and "Taille ACI" in figures
    rows = driver.find_elements(By.CSS_SELECTOR, "#units tbody tr")
    assert len(rows) == len(report.units)
    credits = driver.find_element(By.CSS_SELECTOR, ".leaflet-control-attribution").text
    assert "IGN ADMIN EXPRESS" in credits and "populations légales 2023" in credits
    # hovering a commune of the territory shows its name
    tip = driver.execute_script(
        "var l = cptsGeoReport.layers.communes.getLayers().filter(function(l) {"
        " return l.feature.properties.in; })[0]; l.openTooltip(); "
        "return [l.feature.properties.code, l.getTooltip().getElement().textContent];")
    nom = report.units.set_index("code").at[tip[0], "nom"]
    assert nom in tip[1] and "territoire proposé" in tip[1]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    out = ARTIFACTS / f"validation_{Path(name).stem}_chromium.png"
    assert driver.save_screenshot(str(out))
    assert out.stat().st_size > 20_000


def test_cpts_names_are_never_cut_by_the_map_edge(page):
    """Each CPTS name shown on the report's map lies whole inside the map (it used to read
    « CPTS Vallée des Paillons et de la Banquiè » or « CPTS Va » at the edge), and no two overlap."""
    import itertools

    driver, _, _ = page
    state = driver.execute_script("return window.cptsGeoReportLabels")
    assert state and state["total"] >= 1
    frame = driver.execute_script("var r = cptsGeoReport.map.getContainer().getBoundingClientRect();"
                                  " return [r.left, r.top, r.right, r.bottom];")
    boxes = driver.execute_script(
        "return cptsGeoReport.cptsLabels.map(function(t) { return t.getElement(); }).filter(function(e) {"
        " return e && getComputedStyle(e).visibility === 'visible'; }).map(function(e) {"
        " var r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom, e.textContent]; })")
    assert len(boxes) == state["shown"] >= 1
    for b in boxes:
        assert frame[0] <= b[0] and b[2] <= frame[2] and frame[1] <= b[1] and b[3] <= frame[3], b
    for a, b in itertools.combinations(boxes, 2):
        assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
