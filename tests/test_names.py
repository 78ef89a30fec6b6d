"""The commune-name index (cpts_geo.names) and its users, on the embedded reference."""

from __future__ import annotations

import json
import shutil
import subprocess

import pandas as pd
import pytest

import cpts_geo
from cpts_geo import names, reference


def codes(entries) -> list[str]:
    return [e.code for e in entries]


# --- the key ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("L'Haÿ-les-Roses", "lhay les roses"),  # apostrophe and diaeresis
        ("St-Étienne", "saint etienne"),
        ("Ste-Maxime", "SAINTE MAXIME"),
        ("Les Mées", "mees"),  # leading article
        ("Le Mans", "mans"),
        ("Œuilly", "oeuilly"),  # ligature, not dropped
        ("Saint-Étienne-les-Orgues", "St Etienne les Orgues"),
        ("Villeneuve-d'Ascq", "villeneuve d ascq"),  # apostrophe lost in an export
        ("L'Isle-sur-la-Sorgue", "L Isle sur la Sorgue"),
    ],
)
def test_key_equalities(a, b):
    assert names.key(a) == names.key(b)


def test_key_literals():
    assert names.key("L'Haÿ-les-Roses") == "lhay les roses"
    assert names.key("St-Étienne-les-Orgues") == "saint etienne les orgues"
    assert names.key("Les") == "les"  # an article alone stays
    assert names.key("Lens") != names.key("Ens")  # a leading L is not an article


def test_keys_vectorised_equals_key():
    nom = reference.load_names()["nom"].tolist()
    assert names.keys(nom).tolist() == [names.key(n) for n in nom]


# --- exact, prefix, near ------------------------------------------------------------------------


def test_lookup_exact():
    assert codes(names.lookup("St-Étienne")) == ["42218"]
    assert codes(names.lookup("Ste-Maxime")) == ["83115"]
    assert codes(names.lookup("lhay les roses")) == ["94038"]
    # the name without its article finds it too (a second key of the index)
    assert "94038" in codes(names.lookup("Haÿ-les-Roses"))
    assert codes(names.lookup("Abergement-Clémenciat")) == ["01001"]
    assert codes(names.lookup("Oeuilly")) == ["02565", "51410"]
    assert codes(names.lookup("Oeuilly", "51")) == ["51410"]
    assert names.lookup("Forcalquier", "05") == []


def test_prefix():
    found = names.prefix("forcalq")
    assert codes(found) == ["04088", "83059"]  # Forcalquier (shortest key) before Forcalqueiret
    assert names.prefix("marseille")[0].code == "13055"  # the city before its arrondissements
    assert names.prefix("") == [] and names.prefix(" - ") == []
    assert codes(names.prefix("forcalq", "83")) == ["83059"]
    # Saint-Vincent-les-Forts (commune déléguée), Saint-Vincent-sur-Jabron (current)
    assert codes(names.prefix("Saint-Vincent", "04", whole_words=True)) == ["04198", "04199"]
    assert codes(names.prefix("Saint-Vincent", "04", whole_words=True, current_only=True)) == ["04199"]
    assert names.prefix("Forcalq", whole_words=True) == []


def test_near_names():
    found = names.near("Forcalquer")
    assert found[0].code == "04088" and found[0].score < 1
    assert codes(names.near("Forcalquer", "04")) == ["04088"]
    assert codes(names.near("Valreas"))[:1] == ["84138"]  # exact key: score 1
    assert names.near("zzzzqqq") == []


def test_suggestions_extend_a_name_within_its_department():
    # issue 12: "Saint-Vincent (04)" → Saint-Vincent-sur-Jabron
    sugg = names.suggest("Saint-Vincent", "04")
    assert sugg[0].code == "04199" and sugg[0].why == "nom plus long"
    r = cpts_geo.normalise_codes(["Saint-Vincent (04)"]).iloc[0]
    assert r["status"] == "unknown"
    assert r["candidates"][0]["code"] == "04199"
    assert "04199 Saint-Vincent-sur-Jabron" in r["message"]


def test_name_in_another_department_is_suggested():
    r = cpts_geo.normalise_codes(["Forcalquier (05)"]).iloc[0]
    assert r["status"] == "unknown"
    assert {"code": "04088", "nom": "Forcalquier", "why": "autre département"} in r["candidates"]


def test_split_dep():
    assert names.split_dep("Forcalquier (04)") == ("Forcalquier", "04")
    assert names.split_dep("Ajaccio 2a") == ("Ajaccio", "2A")
    assert names.split_dep("Saint-Denis [974]") == ("Saint-Denis", "974")
    assert names.split_dep("Forcalquier") == ("Forcalquier", None)
    assert names.split_dep("04088") == ("04088", None)


# --- homonyms ------------------------------------------------------------------------------------


def test_homonym_without_context_is_refused():
    assert codes(names.lookup("Beaujeu")) == ["04024", "69018"]
    r = cpts_geo.normalise_codes(["Beaujeu"]).iloc[0]
    assert r["status"] == "ambiguous" and r["code"] is None
    assert {c["code"] for c in r["candidates"]} == {"04024", "69018"}


def test_resolve_homonyms():
    c = names.resolve_homonyms(["04024", "69018"], {"04"})
    assert c.chosen == "04024" and "04" in c.reason
    assert names.resolve_homonyms(["04024", "69018"], {"04", "69"}).chosen is None
    assert names.resolve_homonyms(["04024", "69018"], set()).chosen is None
    # the analysed area decides first; the listing then narrows what the area left
    assert names.resolve_homonyms(["04024", "69018"], {"69"}, area={"04", "05"}).chosen == "04024"
    assert names.resolve_homonyms(["04024", "69018"], {"69"}, area={"04", "69"}).chosen == "69018"


def test_listing_entirely_in_04_resolves_its_homonyms():
    # issue 12: a promoter's list entirely in 04 had "Les Mées", "Montfort", "Curel" refused
    out = cpts_geo.normalise_codes(["Forcalquier", "04112", "Les Mées", "Montfort", "Curel", "Beaujeu"])
    assert out["code"].tolist() == ["04088", "04112", "04116", "04127", "04067", "04024"]
    assert out["status"].tolist() == ["name", "current", "name", "name", "name", "name"]
    msg = out.set_index("input").at["Les Mées", "message"]
    assert "homonyme choisi d'après le contexte" in msg and "72192" in msg  # Les Mées (72)
    cands = out.set_index("input").at["Montfort", "candidates"]
    assert cands[0] == {"code": "04127", "nom": "Montfort", "why": "choisi d'après le contexte"}
    # Montfort (64), and two old names: 25399 Montfort (now 25460 Le Val), 49207 Montfort (delegated
    # commune of 49125 Doué-en-Anjou), data/communes/names.csv
    assert {c["code"] for c in cands} == {"04127", "64403", "25460", "49125"}


def test_context_can_be_switched_off_and_given_by_the_area():
    out = cpts_geo.normalise_codes(["04088", "Beaujeu"], context=False)
    assert out["status"].tolist() == ["current", "ambiguous"]
    out = cpts_geo.normalise_codes(["Beaujeu"], area=["69"])
    assert out.at[0, "code"] == "69018" and "zone analysée" in out.at[0, "message"]


def test_context_that_does_not_decide_keeps_refusing():
    out = cpts_geo.normalise_codes(["04088", "69123", "Beaujeu"])  # 04 and 69 in the listing
    assert out.at[2, "status"] == "ambiguous"


def test_read_members_reports_the_choice(tmp_path):
    path = tmp_path / "liste.csv"
    path.write_text("cpts;commune\nCPTS A;Forcalquier\nCPTS A;Les Mées\nCPTS A;Manosque\n", encoding="utf-8")
    m = cpts_geo.read_members(path)
    assert sorted(m["code"]) == ["04088", "04112", "04116"]
    conv = m.attrs["converted"].set_index("input")
    assert "homonyme choisi" in conv.at["Les Mées", "message"]


# --- the maps' search box ----------------------------------------------------------------------


def test_search_index_has_keys_and_whole_cities():
    from cpts_geo.maps.interactive import _search_index

    units = cpts_geo.load_communes()
    u = units[units["code"].str.startswith("132") | units["code"].isin(["04088"])].copy()
    u["cpts"] = [("CPTS Marseille Nord",) if c < "13208" else ("CPTS Marseille Sud",) for c in u["code"]]
    u.loc[u["code"] == "04088", "cpts"] = pd.Series([()], index=u.index[u["code"] == "04088"])
    cpts = ["CPTS Marseille Nord", "CPTS Marseille Sud"]
    rows, cities = _search_index(u, cpts)
    assert len(rows) == 17  # 16 arrondissements + Forcalquier
    assert {r[5] for r in rows} >= {"forcalquier", "marseille 1er arrondissement"}
    assert {r[6] for r in rows} == {None}
    assert len(cities) == 1
    name, code, pop, cp, bounds, k, k2 = cities[0]
    assert (name, code, cp, k) == ("Marseille", "13055", [0, 1], "marseille")
    assert pop == int(u.loc[u["code"].str.startswith("132"), "population"].sum())
    arr = u[u["code"].str.startswith("132")].total_bounds
    assert bounds == pytest.approx(list(arr), abs=1e-4)


NODE = shutil.which("node")


def _node(script: str):
    return json.loads(subprocess.run([NODE], input=script, check=True, capture_output=True,
                                     text=True, encoding="utf-8").stdout)


@pytest.mark.skipif(NODE is None, reason="node not installed")
def test_js_key_equals_python_key_on_every_reference_name():
    nom = sorted(set(reference.load_names()["nom"]) | {"Œuilly", "L’Haÿ", "Saint Sts Stes", "Ste", "le la",
                                                         "Villeneuve d Ascq", "l d", "d"})
    script = names.JS_SEARCH + f"\nconsole.log(JSON.stringify({json.dumps(nom)}.map(norm)));"
    assert _node(script) == [names.key(n) for n in nom]


@pytest.mark.skipif(NODE is None, reason="node not installed")
def test_js_find():
    from cpts_geo.maps.interactive import _second_key

    entries = [["Marseille 1er Arrondissement", "13201"], ["Marseille 2e Arrondissement", "13202"],
               ["Forcalquier", "04088"], ["Forcalqueiret", "83059"], ["Marseille", "13055"],
               ["L'Isle-sur-la-Sorgue", "84054"]]
    idx = [{"c": e, "k": names.key(e[0]), "k2": _second_key(e[0]), "code": e[1]} for e in entries]
    queries = ["", "   ", "Marseille", "marseil", "forcalq", "FORCALQUIER", "Forcalquier (04088)",
               "13202", "Marseille 2e", "Lyon", "Isle-sur-la-Sorgue", "l'isle sur", "isle"]
    script = (names.JS_SEARCH + f"\nvar idx = {json.dumps(idx)};\nconsole.log(JSON.stringify("
              f"{json.dumps(queries)}.map(function(q) {{ var c = findIn(idx, q); return c && c[1]; }})));")
    assert _node(script) == [None, None, "13055", "13055", "04088", "04088", "04088", "13202", "13202", None,
                             "84054", "84054", "84054"]


def test_homonyms_resolved_per_cpts(tmp_path):
    # Aiglun exists in 04 and 06: each CPTS's other communes decide, and the message says so
    path = tmp_path / "liste.csv"
    path.write_text("cpts;commune\nCPTS A;Forcalquier\nCPTS A;Aiglun\nCPTS B;Nice\nCPTS B;Aiglun\n"
                    "CPTS C;Aiglun\n", encoding="utf-8")
    m = cpts_geo.read_members(path)
    assert sorted(zip(m["cpts"], m["code"], strict=True)) == [
        ("CPTS A", "04001"), ("CPTS A", "04088"), ("CPTS B", "06001"), ("CPTS B", "06088")]
    refused = m.attrs["refused"]
    assert refused["cpts"].tolist() == ["CPTS C"] and refused["status"].tolist() == ["ambiguous"]
    conv = m.attrs["converted"]
    msg = conv.loc[(conv["cpts"] == "CPTS B") & (conv["input"] == "Aiglun"), "message"].iloc[0]
    assert "même CPTS : 06" in msg and "04001 Aiglun (04)" in msg


def test_read_members_area_decides_for_a_lone_homonym(tmp_path):
    # a CPTS made of one homonym only: no context in the listing, the analysed area decides
    path = tmp_path / "liste.csv"
    path.write_text("cpts;commune\nCPTS A;Beaujeu\n", encoding="utf-8")
    assert cpts_geo.read_members(path).empty
    m = cpts_geo.read_members(path, area=["69"])
    assert m["code"].tolist() == ["69018"]
    assert "zone analysée : 69" in m.attrs["converted"].at[0, "message"]


def test_results_as_a_frame():
    f = names.frame(names.suggest("Saint-Vincent", "04"))
    assert list(f.columns) == ["code", "nom", "dep", "kind", "rank", "score", "why"]
    assert f["code"].tolist()[:1] == ["04199"] and f["why"].iloc[0] == "nom plus long"
