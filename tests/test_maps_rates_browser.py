"""The coverage-rate map (choropleth by EPCI of the sample) in a real headless Chromium, offline:
no JavaScript error, no network request, legend swatch = rendered fill pixel of the screenshot,
labels that never overlap at the default zoom, tooltips with the figures.

Needs the Debian packages ``chromium`` and ``chromium-driver`` and the Python package
``selenium`` (``test`` extra); skipped when they are missing.
"""

from __future__ import annotations

import io
import itertools

import numpy as np
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
from test_maps_support import sample_diagnosis  # noqa: E402

import cpts_geo  # noqa: E402
from cpts_geo.maps import rates as mr  # noqa: E402

pytestmark = NEEDS_CHROMIUM

NNBSP = "\u202f"


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    for driver in headless_chromium("1400,1000"):
        m = cpts_geo.coverage_map(sample_diagnosis(), "taux_couverture", rates_by="epci")
        html = tmp_path_factory.mktemp("taux") / "taux.html"
        cpts_geo.maps.save_html(m, html)
        driver.get_log("performance")
        driver.get(html.as_uri())
        driver.find_element(By.ID, "cg-legend")
        wait_for(driver, "return window.cptsGeoLabels && window.cptsGeoLabels.total > 0")
        wait_map_idle(driver, "cptsGeo.map")
        yield driver, m.cpts_geo_rates


def test_offline_without_error(page):
    driver, _ = page
    assert driver.execute_script("return window.__errors") == []
    severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []
    external = [u for u in network_requests(driver) if not u.startswith(("file:", "data:", "about:"))]
    assert external == []
    assert driver.title.startswith("Part de la population couverte par une CPTS, par EPCI")


def test_legend_and_labels(page):
    driver, rates = page
    rows = driver.execute_script("return cptsGeo.legend.rows.map(function(r) { return r.label; })")
    assert rows[:5] == list(mr.rate_class_labels())
    texts = driver.execute_script(
        "return Array.prototype.map.call(document.querySelectorAll('.cg-rate'), "
        "function(e) { return e.dataset.zone + '|' + e.innerText; })")
    by_zone = dict(t.split("|", 1) for t in texts)
    # only the EPCI with people outside any CPTS are labelled, with that population
    assert set(by_zone) == set(rates.loc[rates["white_population"] > 0, "zone"])
    # CC Jabron-Lure-Vançon-Durance: no commune in any CPTS of the sample, the 5 315 inhabitants of
    # its communes of the 04 (populations légales 2023, summed from the reference; one commune is
    # in the Drôme, outside the area) are all outside
    ref = cpts_geo.load_communes()
    pop = int(ref.loc[(ref["epci"] == "200071033") & (ref["kind"] == "commune") & (ref["dep"] == "04"),
                      "population"].sum())
    assert pop == 5315 and f"5{NNBSP}315{NNBSP}hab. hors CPTS" in by_zone["200071033"]


def test_labels_never_overlap_at_the_default_zoom(page):
    driver, _ = page
    boxes = driver.execute_script(
        "return Array.prototype.filter.call(document.querySelectorAll('.cg-label'), "
        "function(e) { return e.style.visibility !== 'hidden'; }).map(function(e) { "
        "var r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })")
    assert len(boxes) >= 2  # CC du Sisteronais-Buëch and CC Jabron-Lure-Vançon-Durance
    for a, b in itertools.combinations(boxes, 2):
        assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)


def test_legend_swatch_is_the_colour_of_the_map(page):
    """Screenshot pixel at the centre of the CC du Briançonnais (100 % covered, no label) and at
    the centre of the « 80 % ou plus » swatch: the same colour, the palette's #253494."""
    import geopandas as gpd
    from PIL import Image

    driver, rates = page
    zone = rates.loc[rates["nom"] == "CC du Briançonnais"]
    assert len(zone) == 1 and zone["rate"].iloc[0] == 1.0
    geom = mr.simplified(rates).set_index("zone").to_crs(2154).geometry[zone["zone"].iloc[0]]
    p = geom.buffer(-1500).point_on_surface()
    ll = gpd.GeoSeries([p], crs=2154).to_crs(4326).iloc[0]
    x, y = driver.execute_script(
        "var m = cptsGeo.map, r = m.getContainer().getBoundingClientRect();"
        f"var pt = m.latLngToContainerPoint([{ll.y}, {ll.x}]); return [r.left + pt.x, r.top + pt.y];")
    # the point lies under no label
    hit = driver.execute_script(f"var e = document.elementFromPoint({x}, {y}); return e.tagName + ' ' + "
                                "(e.getAttribute('class') || '');")
    assert "cg-label" not in hit and hit.startswith("path"), hit
    sx, sy = driver.execute_script(
        "var rows = document.querySelectorAll('#cg-legend .cg-row');"
        "var sw = rows[4].querySelector('.cg-sw').getBoundingClientRect();"
        "return [sw.left + sw.width / 2, sw.top + sw.height / 2];")
    ratio = driver.execute_script("return window.devicePixelRatio") or 1
    img = np.asarray(Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB"))
    map_px = img[int(round(y * ratio)), int(round(x * ratio))].astype(int)
    legend_px = img[int(round(sy * ratio)), int(round(sx * ratio))].astype(int)
    assert np.abs(map_px - legend_px).max() <= 2, (map_px, legend_px)
    assert np.abs(map_px - np.array([0x25, 0x34, 0x94])).max() <= 2, map_px
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / "rates_map_chromium.png"))


def test_national_map_shows_corsica_beside_the_legend_and_overseas_in_insets(tmp_path):
    """By department over metropolitan France, Corsica and the five overseas departments: the
    legend covers no department of the mainland view, and each overseas department is drawn in an
    inset (it is off-screen in the mainland view)."""
    import pandas as pd

    ref = cpts_geo.load_communes(("commune",))
    deps = ("29", "59", "67", "66", "04", "2A", "2B", "971", "972", "973", "974", "976")
    rows = [pd.DataFrame({"cpts": f"CPTS {d}", "code_insee": ref.loc[ref["dep"] == d, "code"].sort_values().iloc[::2]})
            for d in deps]
    diag = cpts_geo.diagnose(cpts_geo.read_members(pd.concat(rows, ignore_index=True)))
    m = cpts_geo.coverage_map(diag)
    html = tmp_path / "national.html"
    cpts_geo.maps.save_html(m, html)
    for driver in headless_chromium("1400,950"):
        driver.get(html.as_uri())
        wait_for(driver, "return window.cptsGeoLabels && window.cptsGeo.insets && true", timeout=60)
        wait_map_idle(driver, "cptsGeo.map")
        legend = driver.execute_script("var r = document.getElementById('cg-legend').getBoundingClientRect();"
                                       " return [r.left, r.top, r.right, r.bottom];")
        # the screen box of every mainland department drawn (Corsica included), clear of the legend
        boxes = driver.execute_script(
            "var out = []; cptsGeo.layers.zones.eachLayer(function(l) {"
            " var z = String(l.feature.properties.zone); if (z.length > 2) return;"
            " var r = l.getElement().getBoundingClientRect(); out.push([r.left, r.top, r.right, r.bottom, z]); });"
            " return out;")
        assert {b[4] for b in boxes} >= {"2A", "2B", "29", "59", "67"}
        for b in boxes:
            clear = b[2] <= legend[0] or legend[2] <= b[0] or b[3] <= legend[1] or legend[3] <= b[1]
            assert clear, (b, legend)
        insets = driver.execute_script("return cptsGeo.insets.map(function(i) { return [i.name, i.n]; });")
        assert insets == [["Guadeloupe et Martinique", 2], ["Guyane", 1], ["La Réunion", 1], ["Mayotte", 1]]
        # an inset draws its department: its map holds one path per zone, inside its box
        paths = driver.execute_script("return Array.from(document.querySelectorAll('.cg-inset-map path')).length")
        assert paths == 5
        driver.save_screenshot(str(ARTIFACTS / "taux_national_encarts.png"))
