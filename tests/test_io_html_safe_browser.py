"""Every HTML page cpts_geo writes, rendered in ONE headless Chromium session with hostile CPTS
names and a hostile listing file name (tests/hostile_support.py): the coverage map, the
coverage-rate map, ``cpts-geo map --title``, ``cpts-geo validate --html``, the app page with the
existing CPTS and the app's HTML export.

On each page: no payload ran (``window.__pwned`` unset, ``document.title`` not « pwned »), no
element with an event-handler attribute exists, and the hostile text is shown, escaped, where a
reader sees it (labels, tooltips, popups, credits, titles). Then the Content-Security-Policy is
checked as a second barrier: a raw handler injected into a generated page does not run, and the
page still works.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("selenium")
pytest.importorskip("uvicorn")
from app_support import serve
from browser_support import NEEDS_CHROMIUM, headless_chromium, wait_for
from hostile_support import (
    HTML_FILE,
    HTML_NAME,
    HTML_PROPOSAL_FILE,
    SAMPLE,
    hostile_listing,
    hostile_proposal,
)

import cpts_geo
from cpts_geo.cli import main
from cpts_geo.io.html_safe import inline_scripts, script_hash
from cpts_geo.maps import save_html

pytestmark = NEEDS_CHROMIUM

#: the first commune of the HTML-named CPTS in the sample (a search for it names that CPTS)
HOSTILE_COMMUNE = next(line.split(",")[1].strip() for line in SAMPLE.read_text(encoding="utf-8")
                       .splitlines() if line.startswith("CPTS Sud 04,"))

#: no payload ran, and none of its elements exists in the page
INERT_JS = ("return {pwned: window.__pwned === undefined ? null : String(window.__pwned),"
            " title: document.title,"
            " handlers: document.querySelectorAll('[onerror],[onload],[onclick],[onmouseover]').length,"
            " errors: (window.__errors || []).filter(function(e) { return !/Content Security/.test(e); })};")


def _text(driver, selector: str) -> str:
    return driver.execute_script(
        "return Array.prototype.map.call(document.querySelectorAll(arguments[0]),"
        " function(e) { return e.textContent; }).join(' | ');", selector)


def _assert_inert(driver, page: str) -> None:
    state = driver.execute_script(INERT_JS)
    assert state["pwned"] is None, (page, state)
    assert state["title"] != "pwned", (page, state)
    assert state["handlers"] == 0, (page, state)
    assert state["errors"] == [], (page, state)


def _policy(page_text: str) -> str:
    start = page_text.index('http-equiv="Content-Security-Policy" content="') + 46
    return page_text[start:page_text.index('"', start)].replace("&#x27;", "'")


def _assert_page_policy(page_text: str) -> None:
    """The page's CSP meta comes before any script and allows exactly its inline scripts."""
    policy = _policy(page_text)
    assert page_text.index("Content-Security-Policy") < page_text.index("<script")
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert "unsafe-hashes" not in policy and "unsafe-eval" not in policy
    scripts = inline_scripts(page_text)
    assert scripts and all(script_hash(s) in policy for s in scripts)


@pytest.fixture(scope="module")
def browser():
    yield from headless_chromium("1280,900")


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("hostile")


@pytest.fixture(scope="module")
def listing(folder) -> Path:
    return hostile_listing(folder)


@pytest.fixture(scope="module")
def diagnosis(listing):
    return cpts_geo.diagnose(listing)


def _open(driver, path: Path, ready_js: str) -> None:
    driver.get(path.as_uri())
    wait_for(driver, ready_js, timeout=30)


def _search(driver, code: str) -> str:
    """Search a commune in a map's search box; the popup's text."""
    driver.execute_script("var i = document.getElementById('cg-q'); i.value = arguments[0];"
                          " i.dispatchEvent(new Event('change'));", code)
    wait_for(driver, "return !!document.querySelector('.leaflet-popup-content');")
    return _text(driver, ".leaflet-popup-content")


def test_the_coverage_map_shows_hostile_names_and_file_name_as_text(browser, diagnosis, folder):
    path = save_html(cpts_geo.coverage_map(diagnosis), folder / "carte.html")
    _assert_page_policy(path.read_text(encoding="utf-8"))
    _open(browser, path, "return !!(window.cptsGeo && window.cptsGeoLabels);")
    _assert_inert(browser, "carte")
    assert HTML_NAME in _text(browser, ".cg-label")
    assert HTML_FILE in _text(browser, ".leaflet-control-attribution")
    browser.execute_script(
        "var n = arguments[0]; cptsGeo.layers.perimetres.eachLayer(function(l) {"
        " if (l.feature.properties.cpts === n) { l.openTooltip(); } });", HTML_NAME)
    assert HTML_NAME in _text(browser, ".leaflet-tooltip")
    browser.execute_script(
        "var n = arguments[0]; cptsGeo.layers.perimetres.eachLayer(function(l) {"
        " if (l.feature.properties.cpts === n) { l.openPopup(); } });", HTML_NAME)
    assert HTML_NAME in _text(browser, ".leaflet-popup-content")
    assert HTML_NAME in _search(browser, HOSTILE_COMMUNE)
    _assert_inert(browser, "carte, après infobulles, fenêtres et recherche")


def test_the_coverage_rate_map_shows_the_hostile_file_name_as_text(browser, diagnosis, folder):
    m = cpts_geo.coverage_map(diagnosis, "taux_couverture")
    path = save_html(m, folder / "taux.html")
    _assert_page_policy(path.read_text(encoding="utf-8"))
    _open(browser, path, "return !!(window.cptsGeo && window.cptsGeoLabels);")
    _assert_inert(browser, "carte des taux")
    assert HTML_FILE in _text(browser, ".leaflet-control-attribution")
    assert HTML_NAME in _search(browser, HOSTILE_COMMUNE)
    _assert_inert(browser, "carte des taux, après recherche")


def test_the_map_title_option_is_written_as_text(browser, listing, folder, capsys):
    path = folder / "titre.html"
    assert main(["map", str(listing), "--html", str(path), "--title", "</title>" + HTML_NAME]) == 0
    page = path.read_text(encoding="utf-8")
    _assert_page_policy(page)
    assert "</title>" + HTML_NAME not in page
    _open(browser, path, "return !!(window.cptsGeo && window.cptsGeoLabels);")
    _assert_inert(browser, "map --title")
    assert browser.title == "</title>" + HTML_NAME
    assert _text(browser, ".cg-title") == "</title>" + HTML_NAME


def test_the_validation_report_shows_hostile_names_and_file_names_as_text(browser, listing, folder, capsys):
    proposal = hostile_proposal(folder)
    path = folder / "rapport.html"
    assert main(["validate", str(proposal), "--existing", str(listing), "--html", str(path), "-q"]) == 1  # blocking
    _assert_page_policy(path.read_text(encoding="utf-8"))
    _open(browser, path, "return !!(window.cptsGeoReport && cptsGeoReport.cptsLabels.length);")
    _assert_inert(browser, "validate --html")
    assert HTML_NAME in _text(browser, "h1")
    assert HTML_NAME in _text(browser, ".cpts-label")  # the existing CPTS, labelled on the map
    assert HTML_NAME in _text(browser, "#units")
    assert HTML_FILE in _text(browser, ".leaflet-control-attribution")
    assert HTML_FILE in _text(browser, ".sub") and HTML_PROPOSAL_FILE in _text(browser, "footer")
    browser.execute_script("var c = arguments[0]; cptsGeoReport.layers.communes.eachLayer(function(l) {"
                           " if (l.feature.properties.code === c) { l.openTooltip(); } });",
                           HOSTILE_COMMUNE)
    assert HTML_NAME in _text(browser, ".leaflet-tooltip")
    _assert_inert(browser, "validate --html, après infobulle")


@pytest.fixture(scope="module")
def app_url(listing):
    from cpts_geo.app import create_app

    with serve(create_app(existing=listing, replaces=[HTML_NAME])) as url:
        yield url


def test_the_app_page_shows_hostile_names_and_file_name_as_text_under_a_policy(browser, app_url):
    with urllib.request.urlopen(app_url + "/") as r:
        policy = r.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy.split("style-src")[0]
    browser.get(app_url + "/")
    wait_for(browser, "return window.cptsApp && cptsApp.ready && !cptsApp.busy &&"
                      " cptsApp.checkedSeq === cptsApp.seq;", timeout=60)
    _assert_inert(browser, "app")
    assert HTML_NAME in _text(browser, ".cg-label")  # the existing CPTS, labelled on the map
    assert HTML_FILE in _text(browser, "#area")
    assert HTML_NAME in _text(browser, "#replaces")
    assert browser.execute_script("return document.getElementById('name').value;") == HTML_NAME
    browser.execute_script("cptsApp.layers[arguments[0]].openTooltip();", HOSTILE_COMMUNE)
    assert HTML_NAME in _text(browser, ".leaflet-tooltip")
    _assert_inert(browser, "app, après infobulle")


def test_the_app_html_export_shows_hostile_names_as_text(browser, app_url, folder, listing):
    body = json.dumps({"codes": [HOSTILE_COMMUNE], "name": HTML_NAME}).encode()
    req = urllib.request.Request(app_url + "/api/export/html", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        assert r.headers["Content-Security-Policy"]
        page = r.read().decode("utf-8")
    _assert_page_policy(page)
    path = folder / "export.html"
    path.write_text(page, encoding="utf-8")
    _open(browser, path, "return !!(window.cptsGeoReport && cptsGeoReport.cptsLabels.length);")
    _assert_inert(browser, "export HTML de l'app")
    assert HTML_NAME in _text(browser, "h1") and HTML_NAME in _text(browser, ".cpts-label")
    assert HTML_FILE in _text(browser, ".leaflet-control-attribution")


@pytest.mark.parametrize("kind", ["carte", "rapport"])
def test_a_handler_injected_raw_into_a_page_is_blocked_by_its_policy(browser, diagnosis, listing,
                                                                      folder, kind):
    """The policy is a second barrier: were a name ever written unescaped, its handler would not
    run, and the page keeps working."""
    if kind == "carte":
        page, ready = cpts_geo.coverage_map(diagnosis).get_root().render(), "return !!window.cptsGeo;"
    else:
        from cpts_geo.validation import validate_territory

        page = validate_territory([HOSTILE_COMMUNE], listing).to_html()
        ready = "return !!window.cptsGeoReport;"
    raw = "<img id=cg-raw src=x onerror=\"window.__pwned='brut'\">"
    path = folder / f"injecte_{kind}.html"
    path.write_text(page.replace("</body>", raw + "</body>", 1), encoding="utf-8")
    _open(browser, path, ready)
    state = browser.execute_script("return [window.__pwned === undefined, "
                                   "!!document.getElementById('cg-raw')];")
    assert state == [True, True]
