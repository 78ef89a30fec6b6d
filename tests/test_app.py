"""``cpts-geo app`` API through Starlette's test client, on the sample PACA listing."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from app_support import SAMPLE
from starlette.testclient import TestClient

from cpts_geo.cli import main

#: the departments the sample covers whole (README: `cpts-geo app … --departement 04,05,84`)
SAMPLE_DEPARTMENTS = ["04", "05", "84"]
TRIO = ["04088", "04111", "04138"]  # Forcalquier, Mane, Niozelles (CPTS Sud 04 in the sample)


@pytest.fixture(scope="module")
def client():
    from cpts_geo.app import create_app

    with TestClient(create_app(existing=SAMPLE, departments=SAMPLE_DEPARTMENTS)) as c:
        yield c


def _cli_json(tmp_path, proposal: str, *extra: str) -> str:
    out = tmp_path / "rapport.json"
    code = main(["validate", proposal, "--existing", SAMPLE, "--departement", ",".join(SAMPLE_DEPARTMENTS),
                 "--json", str(out), "--quiet", *extra])
    assert code in (0, 1)
    return out.read_text(encoding="utf-8")


def _error(r, status: int) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"erreur"}
    msg = body["erreur"]
    assert "Traceback" not in msg and "/work/" not in msg and "\\" not in msg
    return msg


# ---------------------------------------------------------------------------------- check


def test_check_is_validate_json(client, tmp_path):
    r = client.post("/api/check", json={"codes": TRIO, "name": "CPTS du Pays de Forcalquier"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert r.text == _cli_json(tmp_path, ",".join(TRIO), "--name", "CPTS du Pays de Forcalquier")
    rep = r.json()
    # INSEE 2023: 5 222 + 1 410 + 274; all three listed by CPTS Sud 04 in the sample
    assert rep["figures"]["population"] == 6906
    assert rep["figures"]["aci_band"] == 1
    overlap = next(c for c in rep["checks"] if c["id"] == "overlap")
    assert overlap["level"] == "blocking" and "CPTS Sud 04" in overlap["message"]


def test_check_with_replaces_is_validate_json(client, tmp_path):
    body = {"codes": TRIO, "replaces": ["CPTS Sud 04"]}
    r = client.post("/api/check", json=body)
    assert r.status_code == 200
    assert r.text == _cli_json(tmp_path, ",".join(TRIO), "--replaces", "CPTS Sud 04")
    assert next(c for c in r.json()["checks"] if c["id"] == "overlap")["level"] == "ok"


def test_check_with_apl_is_validate_json(tmp_path):
    from cpts_geo.app import create_app

    apl = str(Path(__file__).resolve().parent / "fixtures" / "apl" / "apl_medecins_generalistes_2022.csv")
    with TestClient(create_app(existing=SAMPLE, departments=SAMPLE_DEPARTMENTS, apl=apl, apl_cog=2023)) as c:
        r = c.post("/api/check", json={"codes": TRIO})
        assert c.get("/api/config").json()["apl"] is True
    assert r.status_code == 200
    assert r.text == _cli_json(tmp_path, ",".join(TRIO), "--apl", apl, "--apl-cog", "2023")
    assert r.json()["figures"]["apl_mean"] is not None
    assert "/" not in r.json()["meta"]["sources"]["apl"]  # the file name, not the server path


def test_no_state_between_requests(client):
    """Each request carries its whole proposal: another user's request changes nothing."""
    first = client.post("/api/check", json={"codes": TRIO}).text
    client.post("/api/check", json={"codes": ["04070"], "name": "Autre", "replaces": ["CPTS Sud 04"]})
    assert client.post("/api/check", json={"codes": TRIO}).text == first


def test_check_of_other_values_is_validate_json(client, tmp_path):
    """Names, a code without its leading zero, an old code, a repeated commune and an unknown
    value go through the proposal reader: the same report as ``cpts-geo validate``."""
    values = ["Forcalquier", "4111", "04138", "04138", "04999"]
    r = client.post("/api/check", json={"codes": values})
    assert r.status_code == 200
    assert r.text == _cli_json(tmp_path, ",".join(values))
    levels = {c["id"]: c["level"] for c in r.json()["checks"]}
    assert levels["duplicates"] == "warning" and levels["unknown_codes"] == "blocking"


def test_direct_proposal_is_the_readers(client):
    """The app builds a list of distinct current codes directly (speed): the same frames as
    the proposal reader; any other list is left to the reader."""
    from cpts_geo.validation.inputs import read_proposal

    st = client.app.state.cpts
    # Forcalquier, Gap, Avignon, Lille, a Corsican commune (2A004 Ajaccio), Saint-Pierre (97502, an overseas collectivity)
    for codes, name in ((TRIO, None), (["04088", "05061", "84007", "59350", "2A004", "97502"], "CPTS X")):
        fast, slow = st.proposal(codes, name), read_proposal(codes, name)
        pd.testing.assert_frame_equal(fast.members, slow.members, check_exact=True)
        pd.testing.assert_frame_equal(fast.report, slow.report, check_exact=True)
        assert (fast.name, fast.inputs, fast.source, fast.kind, fast.position_label) == \
            (slow.name, slow.inputs, slow.source, slow.kind, slow.position_label)
    # a repeated code, a name, no leading zero, Marseille (arrondissements), an arrondissement,
    # a commune split in 2024 whose old code warns (60054), an unknown code
    for codes in (["04088", "04088"], ["Mane"], ["4111"], ["13055"], ["13201"], ["60054"], ["04999"]):
        assert st.proposal(codes, None) is None


def test_profiles_from_unit_arrays_equal_the_classification():
    """The validation's density and AAV profiles (numpy over the unit arrays) give the values of
    classification.density_profile / aav_profile, units without density level included."""
    import numpy as np

    from cpts_geo import classification as cl
    from cpts_geo.validation import prepare_existing

    cov = prepare_existing(None).coverage(frozenset())
    # Forcalquier + Mane + Niozelles; Saint-Pierre and Miquelon (no density level, no AAV); a
    # commune with no inhabitant (55039 Beaumont-en-Verdunois); 20 communes of Paris' region
    for codes in (TRIO, ["97501", "97502"], ["55039"], ["55039", "04088"],
                  [str(c) for c in cov.codes[cov.reg == "11"][:20]]):
        sel = np.sort(cov.index.get_indexer(codes))
        dens = cl.unit_density_profile(cov.population[sel], cov.dens7[sel])
        aav = cl.unit_aav_profile(cov.population[sel], cov.cateaav[sel])
        for new, old in ((dens, cl.density_profile(codes).iloc[0]), (aav, cl.aav_profile(codes).iloc[0])):
            assert list(new) == list(old.index)
            for k, v in new.items():
                assert (pd.isna(v) and pd.isna(old[k])) or v == old[k], (codes, k, v, old[k])
    # hand check: Saint-Pierre and Miquelon has no density level: all its population is "unknown"
    spm = np.sort(cov.index.get_indexer(["97501", "97502"]))
    assert cl.unit_density_profile(cov.population[spm], cov.dens7[spm])["dens7_unknown"] == 100.0


# --------------------------------------------------------------------------------- search


@pytest.mark.parametrize("query", ["forcalq", "Forcalquier", "FORCALQUIER", "04088", "04300"])
def test_search_finds_forcalquier(client, query):
    r = client.get("/api/search", params={"q": query})
    assert r.status_code == 200
    hits = {h["code"]: h for h in r.json()["results"]}
    assert hits["04088"] == {"code": "04088", "nom": "Forcalquier", "dep": "04", "population": 5222,
                             "cpts": ["CPTS Sud 04"], "white": False, "in_area": True}


def test_search_prefix_ranks_shortest_first(client):
    codes = [h["code"] for h in client.get("/api/search", params={"q": "forcalq"}).json()["results"]]
    assert codes[:2] == ["04088", "83059"]  # Forcalquier (04), then Forcalqueiret (83, outside the area)


def test_search_postcode_lists_every_commune(client):
    from cpts_geo import reference

    codes = [h["code"] for h in client.get("/api/search", params={"q": "04300"}).json()["results"]]
    # every commune of the rows of postcode 04300 in La Poste's table (Forcalquier, Mane, …)
    postal = reference.load_postal()
    expected = set(postal.loc[postal["code_postal"] == "04300", "code"])
    assert set(codes) == expected and len(codes) == len(expected)
    assert {"04088", "04111", "04138"} <= expected


@pytest.mark.parametrize("query", ["saint etienne les orgues", "St-Étienne-les-Orgues",
                                   "SAINT-ETIENNE-LES-ORGUES", "st etienne les org"])
def test_search_ignores_accents_hyphens_case(client, query):
    codes = [h["code"] for h in client.get("/api/search", params={"q": query}).json()["results"]]
    assert codes[0] == "04178"


def test_search_nothing(client):
    assert client.get("/api/search", params={"q": ""}).json()["results"] == []
    assert client.get("/api/search", params={"q": "zzzzqqq"}).json()["results"] == []


# ------------------------------------------------------------------------------- communes


def test_communes_layer(client):
    r = client.get("/api/communes")
    assert r.status_code == 200
    data = r.json()
    props = {f["properties"]["code"]: f["properties"] for f in data["features"]}
    ref = pd.read_csv(SAMPLE, dtype=str)
    # COG 2026: 198 communes in 04, 162 in 05, 151 in 84
    assert len(props) == 198 + 162 + 151
    assert props["04088"]["cpts"] == ["CPTS Sud 04"] and props["04088"]["population"] == 5222
    # the communes touching Forcalquier (IGN outlines): Fontienne, Limans, Mane, Niozelles, Ongles,
    # Pierrerue, Saint-Maime, Sigonce, Villeneuve
    assert sorted(props["04088"]["nb"]) == ["04087", "04104", "04111", "04138", "04141", "04151", "04188",
                                            "04206", "04242"]
    assert all(set(p["nb"]) <= set(props) for p in props.values())  # neighbours shown on the map only
    white = {c for c, p in props.items() if p["white"]}
    assert white == set(props) - set(ref["code_insee"])  # listed in no CPTS of the file
    assert all(not p["cpts"] for c, p in props.items() if c in white)
    names = {lab["name"] for lab in data["labels"]}
    assert names == set(ref["cpts"])


def test_page_and_assets_offline(client):
    page = client.get("/")
    assert page.status_code == 200 and 'lang="fr"' in page.text
    assert not re.search(r"(src|href)=\"https?:", page.text)  # no CDN
    assert client.get("/vendor/leaflet/leaflet.js").status_code == 200
    assert client.get("/static/app.js").status_code == 200
    cfg = client.get("/api/config").json()
    assert cfg["departments"] == ["04", "05", "84"] and cfg["tiles"] is None
    assert "/" not in (cfg["listing"] or "")  # a file name, never a server path


# -------------------------------------------------------------------------------- exports


def test_export_csv_is_a_listing(client, tmp_path):
    from cpts_geo.members import read_members

    r = client.post("/api/export/csv", json={"codes": TRIO, "name": "CPTS du Pays de Forcalquier"})
    assert r.status_code == 200
    assert 'filename="cpts-du-pays-de-forcalquier.csv"' in r.headers["content-disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the accents
    text = r.content.decode("utf-8-sig")
    assert text.splitlines()[0] == "cpts;code_insee;nom"
    path = tmp_path / "liste.csv"
    path.write_bytes(r.content)
    m = read_members(path)
    assert sorted(m["code"]) == TRIO
    assert set(m["cpts"]) == {"CPTS du Pays de Forcalquier"}


def test_export_xlsx(client):
    r = client.post("/api/export/xlsx", json={"codes": TRIO, "name": "T"})
    assert r.status_code == 200
    sheets = pd.read_excel(io.BytesIO(r.content), sheet_name=None, dtype={"code_insee": str})
    communes = sheets["Communes"]
    assert sorted(communes["code_insee"]) == TRIO
    assert communes["population_2023"].sum() == 6906
    assert "Chevauchement avec des CPTS existantes" in set(sheets["Vérifications"]["vérification"])


@pytest.mark.parametrize("kind", ["geojson", "gpkg"])
def test_export_outline(client, kind, tmp_path):
    r = client.post(f"/api/export/{kind}", json={"codes": TRIO, "name": "T"})
    assert r.status_code == 200
    path = tmp_path / f"t.{kind}"
    path.write_bytes(r.content)
    g = gpd.read_file(path)
    assert len(g) == 1 and g.crs.to_epsg() == 4326
    assert g.loc[0, "codes_insee"] == ",".join(TRIO) and g.loc[0, "population"] == 6906
    # one piece: the three communes touch; its area is theirs (IGN: about 43 + 21 + 14 km²)
    area = g.to_crs(2154).area.iloc[0] / 1e6
    assert g.geometry.iloc[0].geom_type == "Polygon" and 60 < area < 100


def test_export_html_is_the_report(client, tmp_path):
    r = client.post("/api/export/html", json={"codes": TRIO, "name": "CPTS du Pays de Forcalquier"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    out = tmp_path / "r.html"
    assert main(["validate", ",".join(TRIO), "--existing", SAMPLE, "--departement", ",".join(SAMPLE_DEPARTMENTS),
                 "--html", str(out), "--quiet", "--name", "CPTS du Pays de Forcalquier"]) == 1
    assert r.text == out.read_text(encoding="utf-8")


def test_export_pdf_is_the_printed_report(client, tmp_path):
    import shutil
    import subprocess

    r = client.post("/api/export/pdf", json={"codes": TRIO, "name": "CPTS du Pays de Forcalquier"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-")
    out = tmp_path / "r.pdf"
    out.write_bytes(r.content)
    if shutil.which("pdftotext"):  # poppler-utils, installed by .ci/run
        text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True).stdout
        assert "CPTS du Pays de Forcalquier" in text and "Forcalquier" in text


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(("body", "status", "word"), [
    ({"codes": []}, 400, "vide"),
    ({}, 400, "codes"),
    ({"codes": "04088"}, 400, "liste"),
    ({"codes": [None]}, 400, "position 1"),
    ({"codes": ["04088"], "name": 3}, 400, "name"),
    ({"codes": ["04088"], "nom": "x"}, 400, "champ inconnu"),
    ({"codes": ["04088"], "replaces": ["CPTS qui n'existe pas"]}, 400, "absente"),
    ({"codes": ["04088"] * 5001}, 413, "trop de communes"),
    ({"codes": ["04088"], "name": "x" * 201}, 400, "trop long"),
])
def test_bad_bodies(client, body, status, word):
    assert word in _error(client.post("/api/check", json=body), status)


def test_not_json(client):
    assert "JSON" in _error(client.post("/api/check", content=b"{codes:", headers={"content-type": "application/json"}), 400)
    assert "JSON" in _error(client.post("/api/check", content=b"[1]", headers={"content-type": "application/json"}), 400)
    assert "JSON" in _error(client.post("/api/check", content=b"codes=04088",
                                        headers={"content-type": "application/x-www-form-urlencoded"}), 415)


def test_oversize_body(client):
    big = json.dumps({"codes": ["04088"], "name": "x" * 1_100_000}).encode()
    assert "volumineuse" in _error(client.post("/api/check", content=big,
                                               headers={"content-type": "application/json"}), 413)


def test_routes_and_methods(client):
    assert "adresse" in _error(client.get("/api/nope"), 404)
    assert "méthode" in _error(client.get("/api/check"), 405)
    assert "export inconnu" in _error(client.post("/api/export/docx", json={"codes": TRIO}), 404)
    assert "trop longue" in _error(client.get("/api/search", params={"q": "a" * 101}), 400)


def test_export_refuses_unknown_codes(client):
    msg = _error(client.post("/api/export/csv", json={"codes": ["04088", "99999"]}), 400)
    assert "99999" in msg


def test_foreign_host_refused(client):
    """DNS rebinding: a page of another site reaching 127.0.0.1 under its own name is refused."""
    assert "adresse refusée" in _error(client.get("/api/config", headers={"host": "evil.example"}), 400)
    assert "adresse refusée" in _error(client.get("/", headers={"host": "evil.example:8765"}), 400)
    assert client.get("/api/config", headers={"host": "127.0.0.1:8765"}).status_code == 200
    assert client.get("/api/config", headers={"host": "[::1]:8765"}).status_code == 200


# ------------------------------------------------------------------------------------ CLI


def test_cli_app_listed_and_options(capsys):
    assert main(["--help"]) == 0
    assert "app" in capsys.readouterr().out
    assert main(["app", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--replaces" in out and "--no-browser" in out and "127.0.0.1" in out


def test_cli_app_refuses_bad_port(capsys):
    assert main(["app", "--port", "0", "--no-browser"]) == 2
    assert "--port" in capsys.readouterr().err


def test_cli_app_warns_on_open_host(monkeypatch, capsys):
    import uvicorn

    from cpts_geo.cli.app import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10")
    served = {}
    monkeypatch.setattr(uvicorn.Server, "run", lambda self: served.setdefault("host", self.config.host))
    from app_support import free_port

    port = str(free_port())
    assert main(["app", "--existing", SAMPLE, "--host", "0.0.0.0", "--port", port, "--no-browser"]) == 0
    err = capsys.readouterr().err
    assert served["host"] == "0.0.0.0"
    assert "attention" in err and "0.0.0.0" in err


# --------------------------------------------------------------------------------- import


def test_import_file_keeps_or_refuses_every_value(client):
    body = b"commune\n04088\nForcalquier\n04111\nCommune Imaginaire\n"
    r = client.post("/api/import", params={"filename": r"C:\Users\promoteur\ma liste.csv"}, content=body,
                    headers={"content-type": "application/octet-stream"})
    assert r.status_code == 200
    j = r.json()
    assert j["codes"] == ["04088", "04111"] and j["file"] == "ma liste.csv"
    assert [x["valeur"] for x in j["refused"]] == ["Commune Imaginaire"]


def test_import_refusals(client):
    assert "format" in _error(client.post("/api/import", params={"filename": "a.exe"}, content=b"x"), 400)
    assert "2 CPTS" in _error(client.post("/api/import", params={"filename": "a.csv"},
                                          content=b"cpts,commune\nA,04088\nB,04111\n"), 400)
    assert "volumineux" in _error(client.post("/api/import", params={"filename": "a.csv"},
                                              content=b"0" * 1_000_001), 413)


def test_unexpected_error_is_french_json_without_traceback(client, monkeypatch):
    def boom(q):
        raise RuntimeError("/work/secret/path exploded")

    monkeypatch.setattr(client.app.state.cpts, "search", boom)
    with TestClient(client.app, raise_server_exceptions=False) as c:
        r = c.get("/api/search", params={"q": "forcalq"})
    msg = _error(r, 500)
    assert "erreur inattendue" in msg and "exploded" not in msg


def test_messages_never_name_a_server_directory():
    from cpts_geo.app.server import _public

    assert _public("/tmp/cpts-geo-app-1x/ma_liste.csv : fichier vide") == "ma_liste.csv : fichier vide"
    assert _public(r"C:\Users\x\AppData\liste.xlsx, ligne 3 : code") == "liste.xlsx, ligne 3 : code"
    assert _public("« 04088 » inconnu") == "« 04088 » inconnu"


def test_without_listing():
    from cpts_geo.app import create_app
    from cpts_geo.errors import OptionError

    with pytest.raises(OptionError, match="paramètre `departments` : sans liste de CPTS existantes"):
        create_app()
    with pytest.raises(OptionError, match="paramètre `departments` : département inconnu"):
        create_app(departments=["99"])
    with TestClient(create_app(departments=["04"])) as c:
        props = [f["properties"] for f in c.get("/api/communes").json()["features"]]
        assert len(props) == 198  # COG 2026: 198 communes in Alpes-de-Haute-Provence
        assert not any(p["white"] or p["known"] or p["cpts"] for p in props)  # coverage unknown
        r = c.post("/api/check", json={"codes": TRIO})
        assert r.status_code == 200 and r.json()["figures"]["population"] == 6906
        assert c.get("/api/config").json()["listing"] is None


# ------------------------------------------------------------------------ units of the core
def test_marseille_arrondissements_are_units_of_the_app_as_of_validate(tmp_path):
    """A listing giving Marseille's arrondissements to two CPTS (the 1st to none): the app's
    search, click layer and labels work by arrondissement and say what ``validate`` says, for
    arrondissements, for the whole city and for ordinary communes."""
    import cpts_geo as cg
    from cpts_geo.app import create_app

    rows = ([("CPTS Marseille A", f"132{k:02d}") for k in range(2, 9)]
            + [("CPTS Marseille B", f"132{k:02d}") for k in range(9, 17)] + [("CPTS Aubagne", "13005")])
    listing = tmp_path / "marseille.csv"
    pd.DataFrame(rows, columns=["cpts", "code_insee"]).to_csv(listing, index=False)
    with TestClient(create_app(existing=str(listing)), base_url="http://127.0.0.1") as c:
        hit = c.get("/api/search", params={"q": "marseille 1er"}).json()["results"][0]
        assert (hit["code"], hit["cpts"], hit["white"]) == ("13201", [], True)
        for code in ("13201", "13202", "13216", "13005", "13001"):
            app = next(h for h in c.get("/api/search", params={"q": code}).json()["results"] if h["code"] == code)
            unit = cg.validate_territory([code], str(listing)).units.iloc[0]
            assert app["cpts"] == list(unit["existing_cpts"]), code
            assert app["white"] == bool(unit["white_zone"]), code
        city = next(h for h in c.get("/api/search", params={"q": "13055"}).json()["results"] if h["code"] == "13055")
        assert city["cpts"] == ["CPTS Marseille A", "CPTS Marseille B"] and not city["white"]
        assert city["units"] == [f"132{k:02d}" for k in range(1, 17)]  # the page adds these
        layer = c.get("/api/communes").json()
    codes = {f["properties"]["code"] for f in layer["features"]}
    assert {f"132{k:02d}" for k in range(1, 17)} <= codes and "13055" not in codes  # each one clickable
    first = next(f["properties"] for f in layer["features"] if f["properties"]["code"] == "13201")
    assert first["white"] and first["cpts"] == []
    labels = {lab["name"]: tuple(lab["pt"]) for lab in layer["labels"]}
    assert len(set(labels.values())) == len(labels) == 3  # one label point per CPTS
# ------------------------------------------------------------------- what the page says


def test_the_xlsx_checks_sheet_is_sorted_by_severity_as_the_reports(client):
    # TRIO is inside CPTS Sud 04: the overlap check blocks, and must head the sheet as in the
    # HTML, PDF and text reports (it is not the first check of the catalogue)
    from cpts_geo.validation import validate_territory
    from cpts_geo.validation.checks import LEVEL_LABELS, LEVELS

    r = client.post("/api/export/xlsx", json={"codes": TRIO, "name": "T"})
    checks = pd.read_excel(io.BytesIO(r.content), sheet_name="Vérifications")
    assert checks["niveau"].iloc[0] == LEVEL_LABELS["blocking"] == "Bloquant"
    rank = {LEVEL_LABELS[k]: lv.rank for k, lv in LEVELS.items()}
    assert list(checks["niveau"].map(rank)) == sorted(checks["niveau"].map(rank))
    report = validate_territory(TRIO, SAMPLE, name="T")
    assert [c.id for c in report.checks].index("overlap") > 0  # the catalogue's order is not the sheet's
    assert checks["vérification"].iloc[0] == report["overlap"].title


def test_sources_panel_is_french_without_internal_paths(client):
    sources = client.get("/api/communes").json()["sources"]
    text = " ".join(sources.values())
    assert "IGN ADMIN EXPRESS" in text and "populations légales 2023" in text
    for english in ("cleaned", "coverage_clean", "column", "via ", "population_source", "data/"):
        assert english not in text, english
    rep = client.post("/api/check", json={"codes": TRIO, "name": "T"}).json()
    # the notes beside the figures (ACI size source): no file of the package
    assert "data/" not in rep["meta"]["aci"] and ".json" not in rep["meta"]["aci"]
    assert "ACI" in rep["meta"]["aci"]


def test_igas_type_carries_the_population_only_qualifier_as_in_the_cli(tmp_path):
    """Marseille 1er (20 547 hab./km²) is « semi-rural / périurbain » by its population alone:
    the page shows the row the text report prints, qualifier included."""
    from cpts_geo.app import create_app

    with TestClient(create_app(existing=SAMPLE, departments=["13"])) as c:
        rep = c.post("/api/check", json={"codes": ["13201"], "name": "Marseille 1er"}).json()
    rows = {x["label"]: x["value"] for x in rep["rows"]}
    label = next(k for k in rows if "IGAS" in k)
    assert "selon la population seule" in label
    assert rows[label].startswith(rep["figures"]["igas_type"])
    out = tmp_path / "m1.json"
    assert main(["validate", "13201", "--existing", SAMPLE, "--departement", "13", "--name", "Marseille 1er",
                 "--json", str(out), "--quiet"]) in (0, 1)
    cli = {x["label"]: x["value"] for x in json.loads(out.read_text(encoding="utf-8"))["rows"]}
    assert cli[label] == rows[label]  # the same words as `cpts-geo validate`
    text = (Path(__file__).resolve().parent.parent / "cpts_geo" / "app" / "static" / "app.js").read_text(
        encoding="utf-8")
    assert "r.rows" in text and "'Type de territoire (IGAS 2018)'" not in text


def test_labels_carry_a_rank_and_shared_city_cpts_are_named_apart():
    """On the ARS PACA CPTS sharing Nice and Toulon: the larger CPTS first, and no two CPTS named
    on the same point although they all list the whole city."""
    from cpts_geo.app import create_app

    shared = str(Path(SAMPLE).parent / "cpts_nice_toulon.csv")
    with TestClient(create_app(existing=shared)) as c:
        labels = c.get("/api/communes").json()["labels"]
    assert sorted(x["rank"] for x in labels) == list(range(len(labels))) and len(labels) == 5
    points = {tuple(x["pt"]) for x in labels}
    assert len(points) == 5
