"""The request layer of the app's server (``cpts_geo/app/server.py``) against hostile requests:
JSON nested past any proposal, POSTs sent by another site's page, on every POST route."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from app_support import SAMPLE
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from cpts_geo.app.server import MAX_JSON_DEPTH, OriginCheck, json_depth

TRIO = ["04088", "04111", "04138"]  # Forcalquier, Mane, Niozelles
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def client():
    from cpts_geo.app import create_app

    with TestClient(create_app(existing=SAMPLE)) as c:
        yield c


def _error(r, status: int) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"erreur"}
    assert "Traceback" not in body["erreur"]
    return body["erreur"]


def _post_routes(app) -> list[str]:
    """Paths of every POST route of the app (``{kind}`` filled with ``csv``)."""
    return [r.path.replace("{kind}", "csv") for r in app.routes
            if "POST" in (getattr(r, "methods", None) or ())]


# ------------------------------------------------------------------------------- JSON depth


def test_a_hundred_thousand_nested_brackets_get_a_french_400_not_a_server_error(client):
    msg = _error(client.post("/api/check", content=b"[" * 100_000, headers=JSON), 400)
    assert "trop imbriqué" in msg and f"au plus {MAX_JSON_DEPTH} niveaux" in msg


def test_nesting_inside_a_valid_object_is_refused_past_the_limit(client):
    deep = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    body = '{"codes": ["04088"], "replaces": ' + deep + "}"
    assert "trop imbriqué" in _error(client.post("/api/check", content=body.encode(), headers=JSON), 400)
    deep = "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1)
    body = '{"codes": ["04088"], "replaces": ' + deep + "}"  # parsed, then refused as a field
    assert "replaces" in _error(client.post("/api/check", content=body.encode(), headers=JSON), 400)


def test_brackets_inside_a_name_are_text_not_nesting(client):
    name = "[{" * 200 + '\\"' + "]" * 50
    r = client.post("/api/check", json={"codes": TRIO, "name": name[:200]})
    assert r.status_code == 200 and r.json()["figures"]["population"] == 6906


def test_every_export_route_has_the_same_depth_limit(client):
    msg = _error(client.post("/api/export/csv", content=b"{" * 50_000, headers=JSON), 400)
    assert "trop imbriqué" in msg


def test_a_deeply_nested_json_file_uploaded_to_import_is_refused_naming_the_file(client):
    r = client.post("/api/import", params={"filename": "liste.json"},
                    content=b"[" * 100_000 + b"]" * 100_000, headers={"content-type": "application/json"})
    msg = _error(r, 400)
    assert "liste.json" in msg and "imbriqué" in msg


_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.text(alphabet='[]{}"\\ ab\n', max_size=8))
_values = st.recursive(_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(alphabet='[]{}"\\k', max_size=4), inner, max_size=3)),
    max_leaves=25)


def _depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


@settings(max_examples=300, deadline=None)
@given(_values, st.booleans())
def test_json_depth_is_the_nesting_the_parser_sees(value, ascii_only):
    text = json.dumps(value, ensure_ascii=ascii_only)
    assert json_depth(text.encode("utf-8")) == _depth(value)


# ------------------------------------------------------------------------------ Origin check


def test_every_post_route_refuses_a_cross_origin_text_plain_post(client):
    routes = _post_routes(client.app)
    assert {"/api/check", "/api/import", "/api/export/csv"} <= set(routes)
    for path in routes:
        r = client.post(path, params={"filename": "liste.csv"}, content=b"commune\n04088\n",
                        headers={"content-type": "text/plain", "origin": "http://evil.example"})
        msg = _error(r, 403)
        assert "autre page" in msg and "evil.example" in msg, path


@pytest.mark.parametrize("headers", [
    {"origin": "null"},                                  # sandboxed frame, file:// page
    {"origin": "http://localhost:9999"},                 # another local server
    {"origin": "https://testserver"},                    # another scheme and port
    {"origin": "http://testserver.evil.example"},
    {"sec-fetch-site": "cross-site"},                    # a browser that sent no Origin
    {"sec-fetch-site": "same-site"},
])
def test_a_post_from_another_page_is_refused(client, headers):
    r = client.post("/api/check", json={"codes": TRIO}, headers=headers)
    assert "autre page" in _error(r, 403)


@pytest.mark.parametrize("headers", [
    {},                                                  # a script, curl: no browser headers
    {"origin": "http://testserver"},                     # the app's own page
    {"origin": "http://TestServer:80"},
    {"sec-fetch-site": "same-origin"},
    {"sec-fetch-site": "none"},                          # typed by the user
])
def test_the_apps_own_page_and_scripts_are_served(client, headers):
    r = client.post("/api/check", json={"codes": TRIO}, headers=headers)
    assert r.status_code == 200 and r.json()["figures"]["population"] == 6906


def test_the_import_of_the_apps_own_page_is_served(client):
    r = client.post("/api/import", params={"filename": "liste.csv"}, content=b"commune\n04088\n",
                    headers={"content-type": "text/csv", "origin": "http://testserver"})
    assert r.status_code == 200 and r.json()["codes"] == ["04088"]


def test_reading_the_app_is_not_an_origin_matter(client):
    r = client.get("/api/search", params={"q": "forcalq"}, headers={"origin": "http://evil.example"})
    assert r.status_code == 200


def test_the_origin_check_holds_when_the_app_listens_on_every_interface():
    """``--host 0.0.0.0`` turns the Host check off (any name reaches the app); the Origin check
    stays: the origin must be the address the request reached."""
    async def echo(request):
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/api/x", echo, methods=["POST"])], middleware=[Middleware(OriginCheck)])
    with TestClient(app) as c:
        here = {"host": "192.168.1.10:8765"}
        assert c.post("/api/x", headers={**here, "origin": "http://192.168.1.10:8765"}).status_code == 200
        assert c.post("/api/x", headers={**here, "origin": "http://192.168.1.10:8000"}).status_code == 403
        assert c.post("/api/x", headers={**here, "origin": "http://evil.example"}).status_code == 403
