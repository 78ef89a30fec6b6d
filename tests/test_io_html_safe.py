"""The one escaping rule of the HTML pages (cpts_geo.io.html_safe) and their
Content-Security-Policy, without a browser (tests/test_io_html_safe_browser.py renders every page
in Chromium)."""

from __future__ import annotations

import json
import re

import pytest
from hostile_support import HTML_FILE, HTML_NAME, hostile_listing, hostile_proposal

from cpts_geo.io.html_safe import (
    JS_ESCAPE,
    escape,
    inline_scripts,
    page_policy,
    script_hash,
    script_json,
    with_csp,
)

HOSTILE = [HTML_NAME, "</script><script>window.__pwned=1</script>", "<!--<script>", "a\u2028b",
           "'\"&<>", "javascript:alert(1)"]


@pytest.mark.parametrize("text", HOSTILE)
def test_escaped_text_holds_no_markup(text):
    out = escape(text)
    assert not set("<>\"'") & set(out)
    import html

    assert html.unescape(out) == text


def test_none_is_escaped_as_nothing():
    assert escape(None) == "" and escape(12) == "12"


@pytest.mark.parametrize("text", HOSTILE)
def test_json_in_a_script_cannot_close_it_and_keeps_its_value(text):
    out = script_json({"cpts": text, "n": [1, -2.5]})
    assert not re.search(r"[<>&\u2028\u2029]", out)
    assert json.loads(out) == {"cpts": text, "n": [1, -2.5]}


PAGE = """<!DOCTYPE html>
<html><head><title>t</title>
<script>var a = 1;</script>
<script src="/static/app.js"></script>
</head><body><script type="text/javascript">
var b = "x";\r\nvar c = 2;
</script></body></html>"""


def test_the_policy_comes_first_in_the_head_and_allows_exactly_the_inline_scripts():
    page = with_csp(PAGE)
    head = page.index("<head>") + len("<head>")
    assert page[head:].lstrip().startswith('<meta http-equiv="Content-Security-Policy"')
    policy = re.search(r'content="([^"]+)"', page).group(1).replace("&#x27;", "'")
    scripts = inline_scripts(PAGE)
    assert scripts == ["var a = 1;", '\nvar b = "x";\r\nvar c = 2;\n']
    hashes = re.findall(r"'sha256-[^']+'", policy)
    assert hashes == [script_hash(s) for s in scripts]
    # the browser hashes the text after the HTML parser turned CR LF into LF
    assert script_hash(scripts[1]) == script_hash(scripts[1].replace("\r\n", "\n"))
    assert "unsafe-inline" not in policy.split("style-src")[0]
    assert "unsafe-hashes" not in policy and "unsafe-eval" not in policy
    assert "default-src 'none'" in policy and "base-uri 'none'" in policy


def test_the_policy_reads_tile_images_only_when_asked():
    assert "https:" not in page_policy(["'sha256-x'"])
    assert "img-src data: blob: https: http:" in page_policy(["'sha256-x'"], remote_images=True)


def test_a_page_without_head_is_refused():
    with pytest.raises(ValueError, match="head"):
        with_csp("<p>no head</p>")


def test_the_js_helper_escapes_the_same_five_characters():
    assert all(ch in JS_ESCAPE for ch in ("&amp;", "&lt;", "&gt;", "&quot;", "&#39;"))
    assert JS_ESCAPE.startswith("function cgEscape(s)")


# ------------------------------------------------------------------------------------------
# The pages
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def listing(tmp_path_factory):
    return hostile_listing(tmp_path_factory.mktemp("hostile"))


def test_a_map_title_is_escaped_and_the_map_page_carries_its_policy(listing):
    import cpts_geo

    m = cpts_geo.coverage_map(cpts_geo.diagnose(listing), title="</title>" + HTML_NAME)
    page = m.get_root().render()
    assert "<title>&lt;/title&gt;&lt;img" in page
    assert HTML_NAME not in page and HTML_FILE not in page  # the file name: only escaped JSON
    assert page.index("Content-Security-Policy") < page.index("<script")
    assert len(inline_scripts(page)) >= 2
    assert all(script_hash(s) in page.replace("&#x27;", "'") for s in inline_scripts(page))


def test_the_validation_report_writes_hostile_names_only_escaped(listing, tmp_path):
    from cpts_geo.validation import validate_territory

    proposal = hostile_proposal(tmp_path)
    report = validate_territory(proposal, listing)
    page = report.to_html()
    assert HTML_NAME not in page and HTML_FILE not in page
    assert escape(HTML_NAME) in page
    assert "Content-Security-Policy" in page
    md = report.to_markdown()
    assert HTML_NAME not in md and "&lt;img src=x" in md


def test_an_online_tile_address_is_escaped_in_the_app_credits():
    from cpts_geo.app.server import _tiles, app_policy

    tiles = _tiles("https://<img src=x onerror=alert(1)>.exemple/{z}/{x}/{y}.png")
    assert "<img" not in tiles["attribution"] and "&lt;img" in tiles["attribution"]
    assert "script-src 'self';" in app_policy() and "https:" not in app_policy()
    assert "img-src 'self' data: blob: https:" in app_policy(remote_images=True)


def test_a_map_with_online_tiles_may_load_their_images_and_nothing_else():
    from cpts_geo.maps.interactive import _base_map

    offline = _base_map((4.0, 43.0, 6.0, 45.0), 8, None).get_root().render()
    online = _base_map((4.0, 43.0, 6.0, 45.0), 8, "OpenStreetMap").get_root().render()
    assert "img-src data: blob:;" in offline
    assert "img-src data: blob: https: http:;" in online and "default-src &#x27;none&#x27;" in online


def test_a_name_written_as_a_template_is_never_evaluated_in_the_html_map(tmp_path):
    """folium / branca compile a rendered map element as a Jinja template again: a CPTS named
    « {{ 7*7 }} » must reach the page as that text (JSON escape or character reference), never as
    « 49 »."""
    import pandas as pd

    import cpts_geo as cg

    name = "CPTS {{ 7*7 }} Z {% if 1 %}si{% endif %}"
    listing = pd.DataFrame({"cpts": [name, name], "code": ["04070", "04019"]})
    page = cg.coverage_map(cg.diagnose(listing)).get_root().render()
    assert "CPTS 49 Z" not in page and "Z si" not in page
    assert "CPTS {\\u007b 7*7 }} Z" in page or "CPTS &#123;&#123; 7*7 }} Z" in page
