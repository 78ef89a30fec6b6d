"""``cpts-geo app`` in headless Chromium (offline): compose a territory by search and by clicks,
see the figures and the checks change, undo, export the listing.

Every step waits for a state of the page (the check answered for the current proposal), never
for a fixed time.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest
from app_support import SAMPLE, serve
from browser_support import (
    ARTIFACTS,
    NEEDS_CHROMIUM,
    headless_chromium,
    network_requests,
    wait_for,
    wait_map_idle,
)

pytestmark = NEEDS_CHROMIUM
pytest.importorskip("selenium")
pytest.importorskip("uvicorn")

NNBSP = "\u202f"
#: the page has answered the check of its current proposal
SETTLED = ("return window.cptsApp && cptsApp.ready && !cptsApp.busy && "
           "cptsApp.checkedSeq === cptsApp.seq;")


@pytest.fixture(scope="module")
def base_url():
    from cpts_geo.app import create_app

    # a promoter redrawing the perimeter of CPTS Sud 04 (whose communes then are no overlap)
    app = create_app(existing=SAMPLE, replaces=["CPTS Sud 04"])
    with serve(app) as url:
        yield url


@pytest.fixture
def driver(tmp_path):
    gen = headless_chromium("1400,900")
    d = next(gen)
    d.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    try:
        yield d
    finally:
        gen.close()


def _settled(driver) -> None:
    wait_for(driver, SETTLED, timeout=60)


def _codes(driver) -> list[str]:
    return driver.execute_script("return cptsApp.state.codes.slice();")


def _check(driver, check_id: str) -> tuple[str, str]:
    li = driver.find_element("css selector", f'#checks li[data-id="{check_id}"]')
    return li.get_attribute("data-level"), li.text


def _search_and_pick(driver, text: str, code: str) -> None:
    box = driver.find_element("id", "search")
    box.clear()
    box.send_keys(text)
    wait_for(driver, f"return !!document.querySelector('#results li[data-code=\"{code}\"]');", timeout=30)
    while driver.execute_script("return document.querySelector('#results li[aria-selected=\"true\"]')"
                                ".getAttribute('data-code');") != code:
        box.send_keys("\ue015")  # arrow down to the wanted commune (keyboard only)
    box.send_keys("\ue007")  # Enter


def _click_commune(driver, code: str) -> None:
    """A real mouse click on the commune's interior point, as a user clicks on the map."""
    from selenium.webdriver.common.action_chains import ActionChains

    x, y = driver.execute_script(
        "var p = cptsApp.layers[arguments[0]].feature.properties.pt;"
        "var c = cptsApp.map.latLngToContainerPoint(p); return [c.x, c.y];", code)
    el = driver.find_element("id", "map")
    w, h = el.size["width"], el.size["height"]
    assert 0 < x < w and 0 < y < h, (code, x, y)
    ActionChains(driver).move_to_element_with_offset(el, int(x - w / 2), int(y - h / 2)).click().perform()


def _wait_file(folder: Path, suffix: str, timeout: float = 30.0) -> Path:
    """Wait for the browser to finish a download (the file exists, no partial .crdownload)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [p for p in folder.iterdir() if p.suffix == suffix]
        if done and not any(p.suffix == ".crdownload" for p in folder.iterdir()):
            return done[0]
        time.sleep(0.05)
    raise AssertionError(f"aucun fichier {suffix} téléchargé dans {folder}")


def test_compose_check_undo_export(driver, base_url, tmp_path):
    driver.get(base_url)
    _settled(driver)
    # started from CPTS Sud 04 (--replaces), 48 communes in the sample listing
    assert len(_codes(driver)) == 48
    assert "CPTS Sud 04" in driver.find_element("id", "replaces").text
    driver.find_element("id", "clear").click()
    _settled(driver)
    assert _codes(driver) == []

    # Forcalquier by search (a prefix, keyboard only)
    _search_and_pick(driver, "forcalq", "04088")
    _settled(driver)
    assert _codes(driver) == ["04088"]

    # two neighbours by click on the map (zoomed on Forcalquier as a user would)
    driver.execute_script("cptsApp.map.setView(cptsApp.layers['04088'].feature.properties.pt, 11, {animate: false});")
    wait_map_idle(driver, "cptsApp.map")
    _click_commune(driver, "04111")  # Mane
    wait_for(driver, "return cptsApp.state.codes.length === 2;")
    _settled(driver)
    _click_commune(driver, "04138")  # Niozelles
    wait_for(driver, "return cptsApp.state.codes.length === 3;")
    _settled(driver)
    assert _codes(driver) == ["04088", "04111", "04138"]

    figures = driver.find_element("id", "figures").text
    # INSEE 2023: Forcalquier 5 222 + Mane 1 410 + Niozelles 274 = 6 906, under 40 000: taille 1
    assert f"6{NNBSP}906 habitants" in figures
    assert "Taille 1" in figures and "sous le seuil de 40" in figures
    assert _check(driver, "overlap")[0] == "ok"  # CPTS Sud 04 is replaced
    assert [li.get_attribute("data-code") for li in
            driver.find_elements("css selector", "#communes li")] == ["04088", "04111", "04138"]

    # a commune of another existing CPTS: the overlap check turns blocking and names it
    _search_and_pick(driver, "04070", "04070")  # Digne-les-Bains, by its INSEE code
    _settled(driver)
    level, text = _check(driver, "overlap")
    assert level == "blocking"
    assert "CPTS Alpes Bléone Durance" in text

    driver.find_element("id", "undo").click()
    _settled(driver)
    assert _codes(driver) == ["04088", "04111", "04138"]
    assert _check(driver, "overlap")[0] == "ok"

    driver.find_element("css selector", '#exports button[data-kind="csv"]').click()
    path = _wait_file(tmp_path, ".csv")
    df = pd.read_csv(path, sep=";", dtype=str, encoding="utf-8-sig")
    assert list(df.columns) == ["cpts", "code_insee", "nom"]
    assert sorted(df["code_insee"]) == ["04088", "04111", "04138"]
    assert set(df["nom"]) == {"Forcalquier", "Mane", "Niozelles"}

    assert driver.execute_script("return window.__errors;") == []
    outside = [u for u in network_requests(driver) if u.startswith(("http:", "https:", "ws:", "wss:"))
               and not u.startswith(base_url)]
    assert outside == []


def _tab_to(driver, script: str, back: bool = False, limit: int = 120) -> None:
    """Press Tab (Shift+Tab with ``back``) until ``script`` (JavaScript on the focused element
    ``e``) is true: moving through the page as a keyboard user does."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    for _ in range(limit):
        chain = ActionChains(driver)
        (chain.key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT) if back else chain.send_keys(Keys.TAB)).perform()
        if driver.execute_script(f"var e = document.activeElement; return !!({script});"):
            return
    raise AssertionError(f"focus never reached: {script}")


def _keys(driver, *keys: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(*keys).perform()


def test_compose_with_the_keyboard_only(driver, base_url):
    """No mouse: empty the proposal, add Forcalquier by search, a neighbour from the list of
    neighbouring communes, a commune under the map's cross-hair, and undo."""
    from selenium.webdriver.common.keys import Keys

    driver.get(base_url)
    _settled(driver)
    _tab_to(driver, "e.id === 'clear'")
    _keys(driver, Keys.ENTER)
    _settled(driver)
    assert _codes(driver) == []

    _tab_to(driver, "e.id === 'search'", back=True)
    _keys(driver, "forcalq")
    wait_for(driver, "return !!document.querySelector('#results li[data-code=\"04088\"][aria-selected=\"true\"]');")
    _keys(driver, Keys.ENTER)
    _settled(driver)
    assert _codes(driver) == ["04088"]
    assert driver.find_element("id", "announce").get_attribute("textContent") == \
        "Forcalquier (04088) ajoutée au territoire (1\u00a0commune)."

    # the communes touching Forcalquier (Fontienne, Limans, Mane, Niozelles, Ongles, Pierrerue,
    # Saint-Maime, Sigonce, Villeneuve: the IGN outlines), in alphabetical order, each with a button
    listed = [li.get_attribute("data-code") for li in driver.find_elements("css selector", "#neighbours li")]
    assert listed == ["04087", "04104", "04111", "04138", "04141", "04151", "04188", "04206", "04242"]
    _tab_to(driver, "(e.getAttribute('aria-label') || '').startsWith('Ajouter Mane (04111)')")
    _keys(driver, Keys.ENTER)
    _settled(driver)
    assert _codes(driver) == ["04088", "04111"]
    # the focus stays in the list of neighbours (on the button now where Mane's was)
    assert driver.execute_script("return document.activeElement.closest('#neighbours') !== null;")

    # the map is one tab stop (not one per commune): its cross-hair names the commune under it
    driver.execute_script("cptsApp.map.setView(cptsApp.layers['04138'].feature.properties.pt, 12, {animate: false});")
    _tab_to(driver, "e.id === 'map'", back=True)
    aim = driver.find_element("id", "aim")
    assert aim.is_displayed() and aim.text.startswith("Viseur : Niozelles (04138), 274"), aim.text
    _keys(driver, " ")  # Space, as Enter, adds the commune under the cross-hair
    _settled(driver)
    assert _codes(driver) == ["04088", "04111", "04138"]
    assert "dans le territoire" in aim.text
    assert f"6{NNBSP}906 habitants" in driver.find_element("id", "figures").text  # 5 222 + 1 410 + 274
    _keys(driver, Keys.ENTER)  # again: removed
    _settled(driver)
    assert _codes(driver) == ["04088", "04111"]
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).key_down(Keys.CONTROL).send_keys("z").key_up(Keys.CONTROL).perform()  # undo
    _settled(driver)
    assert _codes(driver) == ["04088", "04111", "04138"]
    assert driver.execute_script("return window.__errors;") == []


def test_file_picker_is_french(driver, base_url, tmp_path):
    """The native file input is hidden behind a French button and says the chosen file."""
    driver.get(base_url)
    _settled(driver)
    assert driver.find_element("id", "file-button").text == "Choisir un fichier…"
    assert driver.find_element("id", "file-name").text == "Aucun fichier choisi"
    assert driver.find_element("id", "file").size["width"] <= 1  # visually hidden, still focusable
    path = tmp_path / "projet_forcalquier.csv"
    path.write_text("code_insee\n04088\n04111\n", encoding="utf-8")
    driver.find_element("id", "file").send_keys(str(path))
    wait_for(driver, "return cptsApp.state.codes.length === 2;", timeout=30)
    _settled(driver)
    assert _codes(driver) == ["04088", "04111"]
    assert driver.find_element("id", "file-name").text == "projet_forcalquier.csv"


def test_page_passes_axe(driver, base_url):
    """axe-core (WCAG 2 A and AA rules) finds no violation on the page with a territory."""
    axe = pytest.importorskip("axe_selenium_python")
    driver.get(base_url)
    _settled(driver)
    a = axe.Axe(driver)
    a.inject()
    result = a.run(options='{"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa"]}}')
    assert result["violations"] == [], a.report(result["violations"])
    assert len(result["passes"]) >= 15  # the rules did run


def test_names_are_decluttered_on_the_coast_at_the_region_zoom(driver, tmp_path):
    """The sample with the CPTS sharing Nice and Toulon, on the whole region: no two CPTS names
    overlap at the default zoom, none is cut by the map's edge, and the coast's CPTS are named;
    the Sources line is French."""
    import itertools

    from cpts_geo.app import create_app

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    sample = Path(SAMPLE)
    listing = tmp_path / "paca.csv"
    pd.concat([pd.read_csv(sample, dtype=str), pd.read_csv(sample.parent / "cpts_nice_toulon.csv", dtype=str)],
              ignore_index=True).to_csv(listing, index=False)
    with serve(create_app(existing=str(listing), region="93")) as url:
        driver.get(url)
        state = wait_for(driver, "return window.cptsApp && cptsApp.ready && cptsApp.labels;", timeout=90)
        assert state["total"] == 26 and state["shown"] >= 24
        frame = driver.execute_script("var r = cptsApp.map.getContainer().getBoundingClientRect();"
                                      " return [r.left, r.top, r.right, r.bottom];")
        boxes = driver.execute_script(
            "return Array.from(document.querySelectorAll('.cg-label')).filter(function(e) {"
            " return getComputedStyle(e).visibility === 'visible'; }).map(function(e) {"
            " var r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom, e.textContent]; })")
        assert len(boxes) == state["shown"]
        for a, b in itertools.combinations(boxes, 2):
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
        for b in boxes:
            assert frame[0] <= b[0] and b[2] <= frame[2] and frame[1] <= b[1] and b[3] <= frame[3], b
        names = {b[4] for b in boxes}
        assert {"CPTS Toulon Littoral", "CPTS La Seyne Toulon ouest"} <= names, names
        sources = driver.find_element("id", "sources").text
        assert sources.startswith("Sources : contours des communes IGN ADMIN EXPRESS") and "cleaned" not in sources
        driver.save_screenshot(str(ARTIFACTS / "app_region_noms.png"))
