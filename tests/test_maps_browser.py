"""The interactive map in a real headless Chromium, offline: no JavaScript error, no network
request, the expected layers, legend, credits and search box, and a screenshot.

Needs the Debian packages ``chromium`` and ``chromium-driver`` and the Python package
``selenium`` (``test`` extra); skipped when they are missing.
"""

from __future__ import annotations

import itertools

import pytest

selenium = pytest.importorskip("selenium")
from browser_support import (  # noqa: E402
    ARTIFACTS,
    NEEDS_CHROMIUM,
    headless_chromium,
    network_requests,
    wait_for,
    wait_map_idle,
)
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from test_maps_support import sample_diagnosis  # noqa: E402

import cpts_geo  # noqa: E402
from cpts_geo.maps.interactive import LAYER_NAMES  # noqa: E402

pytestmark = NEEDS_CHROMIUM


@pytest.fixture(scope="module")
def browser():
    yield from headless_chromium("1400,1000")


@pytest.fixture(scope="module")
def page(browser, tmp_path_factory):
    diag = sample_diagnosis()
    m = cpts_geo.coverage_map(diag, color_by="band")
    html = tmp_path_factory.mktemp("map") / "carte.html"
    cpts_geo.maps.save_html(m, html)
    browser.get_log("performance")  # drop earlier entries
    browser.get(html.as_uri())
    browser.implicitly_wait(2)
    browser.find_element(By.ID, "cg-legend")
    return browser, diag


def test_page_loads_offline_without_js_error(page):
    driver, _ = page
    errors = driver.execute_script("return window.__errors")
    severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [] and severe == [], (errors, severe)
    external = [u for u in network_requests(driver) if not u.startswith(("file:", "data:", "about:"))]
    assert external == [], f"the offline map requested {external}"
    assert driver.execute_script("return typeof L !== 'undefined' && L.version") == "1.9.4"


def test_layers_and_legend_present(page):
    driver, diag = page
    labels = driver.execute_script(
        "return Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))"
        ".map(function(l) { return l.textContent.trim(); })")
    for key in ("perimetres", "zones_blanches", "chevauchements", "departements", "communes",
                "noms"):
        assert LAYER_NAMES[key] in labels
    counts = driver.execute_script(
        "var o = {}; for (var k in cptsGeo.layers) { o[k] = cptsGeo.layers[k].getLayers().length; }"
        " return o;")
    n_cpts = len(diag.perimeters)
    assert counts["perimetres"] == n_cpts
    assert counts["zones_blanches"] == len(diag.white_zones)
    assert counts["noms"] == n_cpts
    on_map = driver.execute_script(
        "return cptsGeo.map.hasLayer(cptsGeo.layers.perimetres) && "
        "!cptsGeo.map.hasLayer(cptsGeo.layers.communes)")
    assert on_map  # perimeters shown, commune boundaries on demand
    fits = driver.execute_script(
        "var m = cptsGeo.map; return [m.getBounds().contains(cptsGeo.layers.perimetres.getBounds()),"
        " m.getMaxZoom()]")
    assert fits == [True, 18]  # the whole area in view; zoom range set although there are no tiles
    # one SVG path per drawn feature: perimeters + white zones + departments
    n_paths = len(driver.find_elements(By.CSS_SELECTOR, ".leaflet-overlay-pane path"))
    assert n_paths >= n_cpts + len(diag.white_zones)
    legend = driver.find_element(By.ID, "cg-legend").text
    assert "Taille ACI" in legend and "Zone blanche" in legend and "Chevauchement" in legend
    bands = set(cpts_geo.classification.aci_band(diag.perimeters["population"].astype(float)))
    for b in bands:
        assert f"Taille {b}" in legend
    credits = driver.find_element(By.CSS_SELECTOR, ".leaflet-control-attribution").text
    assert "IGN ADMIN EXPRESS" in credits and "populations légales 2023" in credits
    assert "cpts_04_05_84.csv" in credits
    hatched = driver.execute_script(
        "var l = cptsGeo.layers.zones_blanches.getLayers()[0];"
        " return l._path.getAttribute('fill');")
    assert hatched == "url(#cg-hatch)"


def test_title_and_names_never_overlap_at_the_default_zoom(page):
    driver, diag = page
    # the sample covers departments 04, 05 and 84 (its README): named, not numbered
    assert driver.title == ("Couverture du territoire par les CPTS — Alpes-de-Haute-Provence, "
                            "Hautes-Alpes et Vaucluse (21 CPTS)")
    wait_map_idle(driver, "cptsGeo.map")
    state = wait_for(driver, "var s = window.cptsGeoLabels, m = cptsGeo.map;"
                             " return s && s.zoom === m.getZoom() && s.center.equals(m.getCenter()) && s;")
    assert state["total"] == len(diag.perimeters)
    boxes = driver.execute_script(
        "return Array.from(document.querySelectorAll('.cg-label')).filter(function(e) {"
        " return getComputedStyle(e).visibility === 'visible'; }).map(function(e) {"
        " var r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom, e.textContent]; })")
    assert len(boxes) == state["shown"] >= len(diag.perimeters) // 2  # most names readable
    for a, b in itertools.combinations(boxes, 2):
        disjoint = a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
        assert disjoint, (a, b)
    # zooming in brings hidden names back
    hidden = state["total"] - state["shown"]
    if hidden:
        driver.execute_script("cptsGeo.map.setZoom(cptsGeo.map.getZoom() + 2, {animate: false})")
        wait_map_idle(driver, "cptsGeo.map")
        more = wait_for(driver, "var s = window.cptsGeoLabels, m = cptsGeo.map;"
                                " return s && s.zoom === m.getZoom() && s;")
        assert more["shown"] >= state["shown"]
        driver.execute_script("cptsGeo.map.fitBounds(cptsGeo.layers.perimetres.getBounds(),"
                              " {animate: false})")
        wait_map_idle(driver, "cptsGeo.map")


def test_popup_and_search(page):
    driver, diag = page
    # popup of the first CPTS lists its name and population
    name = driver.execute_script(
        "var l = cptsGeo.layers.perimetres.getLayers()[0]; l.openPopup();"
        " return l.feature.properties.cpts;")
    popup = driver.execute_script(
        "return document.querySelector('.leaflet-popup-content').textContent")
    assert name in popup and "Population 2023" in popup and "Communes (" in popup
    # the search box finds a commune by its name without accents, zooms and tells its CPTS
    box = driver.find_element(By.ID, "cg-q")
    box.clear()
    box.send_keys("Forcalquier", Keys.ENTER)
    # wait for the state (search done, map at rest), never for a fixed time
    found = wait_for(driver, "var s = cptsGeo.lastSearch; return s && s.code === '04088' && s;")
    wait_map_idle(driver, "cptsGeo.map")
    assert found["nom"] == "Forcalquier"
    units = diag.units.set_index("code")
    assert found["cpts"] == list(units.at["04088", "cpts"])
    assert found["population"] == units.at["04088", "population"]
    shown = driver.execute_script(
        "var p = document.querySelectorAll('.leaflet-popup-content');"
        " return p[p.length - 1].textContent")
    assert "Forcalquier" in shown and found["cpts"][0] in shown
    # zoomed in on the commune: Forcalquier (~43 km², ~8 km across) fills the view at zoom >= 10
    zoom, inside = driver.execute_script(
        "var m = cptsGeo.map, b = cptsGeo.search('04088')[4];"
        " return [m.getZoom(), m.getBounds().contains([[b[1], b[0]], [b[3], b[2]]])];")
    assert zoom >= 10 and inside  # the whole commune in view
    box.clear()
    box.send_keys("Valreas", Keys.ENTER)  # accent-insensitive
    assert wait_for(driver, "var s = cptsGeo.lastSearch; return s && s.code === '84138' && s.code;")
    wait_map_idle(driver, "cptsGeo.map")


def test_screenshot(page):
    driver, _ = page
    driver.execute_script("cptsGeo.map.closePopup(); cptsGeo.map.fitBounds("
                          "cptsGeo.layers.perimetres.getBounds(), {animate: false});")
    wait_map_idle(driver, "cptsGeo.map")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    out = ARTIFACTS / "coverage_map_chromium.png"
    assert driver.save_screenshot(str(out))
    assert out.stat().st_size > 20_000  # a blank page compresses to a few kB


def test_shared_city_cpts_are_named_at_the_region_zoom(browser, tmp_path):
    """The sample and the ARS PACA CPTS sharing Nice and Toulon, on the region: « Toulon
    Littoral » and « Nice ouest Vallée » are named at the default zoom (they were not before zoom
    13), every shown name inside the map and clear of the others."""
    import pandas as pd
    from test_maps_support import SAMPLE

    shared = SAMPLE.parent / "cpts_nice_toulon.csv"
    listing = pd.concat([pd.read_csv(SAMPLE, dtype=str), pd.read_csv(shared, dtype=str)], ignore_index=True)
    diag = cpts_geo.diagnose(cpts_geo.read_members(listing), region="93")
    html = tmp_path / "carte.html"
    cpts_geo.maps.save_html(cpts_geo.coverage_map(diag, color_by="band"), html)
    browser.get(html.as_uri())
    wait_map_idle(browser, "cptsGeo.map")
    state = wait_for(browser, "var s = window.cptsGeoLabels, m = cptsGeo.map;"
                              " return s && s.zoom === m.getZoom() && s.center.equals(m.getCenter()) && s;")
    assert state["zoom"] < 13 and state["total"] == len(diag.perimeters) == 26
    frame = browser.execute_script("var r = cptsGeo.map.getContainer().getBoundingClientRect();"
                                   " return [r.left, r.top, r.right, r.bottom];")
    boxes = browser.execute_script(
        "return Array.from(document.querySelectorAll('.cg-label')).filter(function(e) {"
        " return getComputedStyle(e).visibility === 'visible'; }).map(function(e) {"
        " var r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom, e.textContent]; })")
    names = {b[4] for b in boxes}
    browser.save_screenshot(str(ARTIFACTS / "carte_villes_partagees.png"))
    assert {"Toulon Littoral", "Nice ouest Vallée", "La Seyne Toulon ouest"} <= names, names
    for b in boxes:
        assert frame[0] <= b[0] and b[2] <= frame[2] and frame[1] <= b[1] and b[3] <= frame[3], b
    for a, b in itertools.combinations(boxes, 2):
        assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
    browser.save_screenshot(str(ARTIFACTS / "carte_villes_partagees.png"))
