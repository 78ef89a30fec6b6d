"""Issue 12: outputs an ARS can put on the table — French workbook and CSV files, the wrong area,
``cpts-geo compare`` and a scan of every user-facing string produced for the PACA sample."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import cpts_geo
from cpts_geo.cli import main

SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "cpts_paca_sample" / "cpts_04_05_84.csv"

#: internal names that must never be a header of the workbook
RAW_HEADERS = {"cpts_a", "cpts_b", "n_shared", "double_counted_population", "kind", "has_geometry", "border",
               "shared_population", "n_cpts", "source_row", "status", "input", "duplicate", "level", "key"}


@pytest.fixture(scope="module")
def shared_listing(tmp_path_factory) -> Path:
    """The sample with Digne-les-Bains (04070) listed by a second CPTS (an overlap)."""
    m = pd.read_csv(SAMPLE, dtype=str)
    assert (m["code_insee"] == "04070").sum() == 1
    m = pd.concat([m, pd.DataFrame({"cpts": ["CPTS Sud 04"], "code_insee": ["04070"]})])
    path = tmp_path_factory.mktemp("shared") / "cpts_partage.csv"
    m.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def written(shared_listing, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("out")
    cpts_geo.diagnose(cpts_geo.read_members(shared_listing)).write(out, maps=False)
    return out


def _cells(path: Path) -> dict[str, list[tuple]]:
    wb = openpyxl.load_workbook(path, read_only=True)
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb}


def test_workbook_is_french(written):
    book = _cells(written / "diagnostic_cpts.xlsx")
    assert {"Synthèse", "Périmètres", "Zones blanches", "Communes partagées", "Paires de CPTS", "Couverture",
            "Communes", "Codes (rapport)", "Sources"} <= set(book)
    for sheet, rows in book.items():
        header = [h for h in rows[0] if h is not None]
        assert len(header) == len(set(header)), (sheet, header)  # no two columns with one name
        bad = [h for h in header if h in RAW_HEADERS or re.match(r"^(aci|igas|dens7?|cateaav|aav)_", str(h))]
        assert not bad, (sheet, bad)
        for row in rows[1:]:
            for v in row:
                assert not isinstance(v, bool), (sheet, row)  # « oui » / « non », never TRUE/FALSE
                if isinstance(v, str):
                    assert not v.startswith("{") and "': " not in v, (sheet, v)  # no Python dict
    labels = [r[0] for r in book["Synthèse"][1:]]
    assert len(labels) == len(set(labels))
    # the shared commune: its row in French, and the pair on its own sheet
    shared = book["Communes partagées"]
    assert shared[0][:3] == ("code", "commune", "département") and shared[1][0] == "04070"
    assert book["Paires de CPTS"][0][:2] == ("CPTS A", "CPTS B")
    statuses = {r[5] for r in book["Codes (rapport)"][1:]}
    assert "code en vigueur" in statuses and "current" not in statuses
    # Sources: the legal texts and vintages, the reference build and the version, for a person
    sources = "\n".join(f"{a} : {b}" for a, b in book["Sources"][1:])
    for text in ("INSEE, Code officiel géographique 2026", "INSEE, populations légales 2023 (population municipale)",
                 "IGN, ADMIN EXPRESS", "arrêté du 21 août 2019", "Sénat n° 32", "IGAS",
                 cpts_geo.__version__, cpts_geo.reference.build_id()):
        assert text in sources, text
    assert "data/" not in sources and ".json" not in sources  # no internal file path
    # the operating funding is the 2019 envelope in force; the start-up figures only as what they are
    rows = dict(book["Sources"][1:])
    assert "NOR SSAS1924409A" in rows["Financement ACI de fonctionnement (par an)"]
    assert "Sénat n° 32 (2025-2026" in rows["Financement ACI de fonctionnement (par an)"]
    startup = rows["Montants ACI qui ne sont pas un financement de fonctionnement"]
    assert startup.startswith("87\u202f500 / 105\u202f000 / 131\u202f250 / 157\u202f500 €")
    assert "enveloppe d'amorçage" in startup and "Le Pharmacien de France, novembre 2020" in startup
    assert "non relue dans le texte signé" in startup


def test_overlap_csv_one_kind_of_row_per_file(written):
    units = pd.read_csv(written / "overlaps.csv", sep=";", decimal=",", dtype=str, encoding="utf-8-sig")
    pairs = pd.read_csv(written / "overlap_pairs.csv", sep=";", decimal=",", dtype=str, encoding="utf-8-sig")
    assert units["code"].tolist() == ["04070"]
    assert units.loc[0, "CPTS"] == "CPTS Alpes Bléone Durance; CPTS Sud 04"
    assert "CPTS A" not in units.columns and "code" not in pairs.columns
    assert pairs[["CPTS A", "CPTS B", "communes partagées"]].values.tolist() == [
        ["CPTS Alpes Bléone Durance", "CPTS Sud 04", "04070"]]


def test_coverage_by_stage(tmp_path, capsys):
    m = pd.read_csv(SAMPLE, dtype=str)
    names = sorted(m["cpts"].unique())
    # 6 CPTS at each of three stages (alphabetical order, by hand)
    stages = ["lettre d'intention validée", "projet de santé validé", "ACI signé"]
    m["stade"] = m["cpts"].map({n: stages[i % 3] for i, n in enumerate(names)})
    m.to_csv(tmp_path / "stades.csv", index=False)
    d = cpts_geo.diagnose(cpts_geo.read_members(tmp_path / "stades.csv"))
    zone = d.coverage[d.coverage["level"] == "zone"].set_index("stages")
    assert list(zone.index) == ["tous les stades", "lettre d'intention validée ou plus avancé",
                                "projet de santé validé ou plus avancé", "ACI signé"]
    # cumulative: every CPTS has a stage, so « lettre d'intention ou plus » is every CPTS
    assert zone.at["lettre d'intention validée ou plus avancé", "covered_units"] == zone.at[
        "tous les stades", "covered_units"]
    assert zone["covered_units"].is_monotonic_decreasing
    assert main(["coverage", str(tmp_path / "stades.csv")]) == 0
    out = capsys.readouterr().out
    assert "Couverture par stade :" in out and "    projet de santé validé ou plus avancé : " in out


def test_area_without_any_cpts_is_an_error(capsys):
    # region 84 is Auvergne-Rhône-Alpes (INSEE); the sample lies in PACA (93)
    assert main(["coverage", str(SAMPLE), "--region", "84"]) == 2
    err = capsys.readouterr().err
    assert "Auvergne-Rhône-Alpes" in err and "--region" in err and "aucune CPTS" in err
    assert ("04 Alpes-de-Haute-Provence, 05 Hautes-Alpes, 06 Alpes-Maritimes, 13 Bouches-du-Rhône, 83 Var et "
            "84 Vaucluse") in err  # the listing's departments (three CPTS of the sample reach into 06, 13, 83)
    with pytest.raises(cpts_geo.OptionError, match="Auvergne-Rhône-Alpes"):
        cpts_geo.diagnose(cpts_geo.read_members(SAMPLE), region="84")


def test_cpts_outside_the_area_are_named(capsys):
    assert main(["coverage", str(SAMPLE), "--department", "04"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("  Hors de la zone analysée"))
    # CPTS Haute Ouvèze and CPTS du Grand Avignon have only communes of Vaucluse (84)
    assert "CPTS Haute Ouvèze" in line and "CPTS du Grand Avignon" in line
    assert "CPTS Verdon" not in line  # a CPTS of the 04


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory) -> tuple[Path, Path]:
    """Version 2 of the sample: CPTS Haute Ouvèze dropped, CPTS Sud 04 renamed, three communes of
    CPTS Verdon (Allemagne-en-Provence, Esparron-de-Verdon, Gréoux-les-Bains) moved to CPTS Alpes
    Bléone Durance."""
    d = tmp_path_factory.mktemp("versions")
    m = pd.read_csv(SAMPLE, dtype=str)
    m2 = m[m["cpts"] != "CPTS Haute Ouvèze"].copy()
    m2.loc[m2["cpts"] == "CPTS Sud 04", "cpts"] = "CPTS Sud 04 Durance"
    m2.loc[m2["code_insee"].isin(["04004", "04081", "04094"]), "cpts"] = "CPTS Alpes Bléone Durance"
    m.to_csv(d / "v1.csv", index=False)
    m2.to_csv(d / "v2.csv", index=False)
    return d / "v1.csv", d / "v2.csv"


def test_compare_command(two_versions, tmp_path, capsys):
    v1, v2 = two_versions
    assert main(["compare", str(v1), str(v2), "--xlsx", str(tmp_path / "cmp.xlsx")]) == 0
    out = capsys.readouterr().out
    assert ("21 CPTS dans les départements que les deux listes couvrent — 0 créée, 1 supprimée, 1 renommée, "
            "2 modifiées, 17 inchangées") in out
    assert "  Renommée : CPTS Sud 04 → CPTS Sud 04 Durance" in out
    assert "  Supprimée : CPTS Haute Ouvèze" in out
    assert ("communes ajoutées : Allemagne-en-Provence (04004), Esparron-de-Verdon (04081) et "
            "Gréoux-les-Bains (04094)") in out
    units = cpts_geo.reference.units()
    moved = int(units.loc[["04004", "04081", "04094"], "population"].sum())
    book = pd.read_excel(tmp_path / "cmp.xlsx", sheet_name=None, dtype={"code": str})
    rows = book["Évolutions"].set_index("CPTS")
    verdon = rows.loc["CPTS Verdon"]
    assert verdon["évolution"] == "modifiée" and verdon["nb communes avant"] - verdon["nb communes après"] == 3
    assert verdon["population avant"] - verdon["population après"] == moved
    assert rows.loc["CPTS Sud 04 Durance", "ancien nom"] == "CPTS Sud 04"
    assert rows.loc["CPTS Haute Ouvèze", "évolution"] == "supprimée"
    changes = book["Communes"]
    assert sorted(changes.loc[changes["changement"] == "ajoutée", "code"]) == ["04004", "04081", "04094"]


# ------------------------------------------------------------------------------------------
# every user-facing string produced for the sample, scanned for English and "(s)"
# ------------------------------------------------------------------------------------------

ENGLISH = ("edge", "enclosed", "current", "converted", "refused", "unknown", "ambiguous", "zero_padded",
           "none", "true", "false", "nan", "share", "population_year", "inside", "border", "warning",
           "restored", "merged", "split", "not found", "missing", "error", "file", "sheet", "column",
           "row", "kind", "status", "has_geometry", "members", "default", "usage")
_ENGLISH_RE = re.compile(r"\b(" + "|".join(re.escape(w) for w in ENGLISH) + r")\b", re.IGNORECASE)


def _english(text: str) -> list[str]:
    # file names and paths are the user's own (cpts_04_05_84.csv, /tmp/...): left out of the scan
    text = re.sub(r"\S*[/\\]\S*|\S+\.(csv|xlsx|json|html|gpkg|png|pdf)\b", " ", text)
    text = re.sub(r"--[\w-]+|\b[A-Za-z]+\.[A-Za-z_.]+\(?", " ", text)  # option names, Python names
    found = [m.group(0) for m in _ENGLISH_RE.finditer(text)]
    if "(s)" in text:
        found.append("(s)")
    return found


def test_no_english_in_user_text(written, shared_listing, two_versions, tmp_path, capsys):
    texts: dict[str, str] = {}
    v1, v2 = two_versions
    main([])
    texts["aide"] = capsys.readouterr().out
    for command in ("coverage", "map", "validate", "apl", "normalise", "compare", "demo", "app"):
        main([command, "--help"])
        texts["aide"] += capsys.readouterr().out
    for name, argv in (("coverage", ["coverage", str(SAMPLE)]), ("demo", ["demo"]),
                       ("coverage partagée", ["coverage", str(shared_listing), "--department", "04"]),
                       ("compare", ["compare", str(v1), str(v2)]),
                       ("validate", ["validate", "04001,04009,04017", "--existing", str(SAMPLE),
                                     "--html", str(tmp_path / "rapport.html")])):
        main(argv)
        io = capsys.readouterr()
        texts[name] = io.out + io.err
    for sheet, rows in _cells(written / "diagnostic_cpts.xlsx").items():
        texts[f"classeur {sheet}"] = "\n".join(" | ".join(str(v) for v in r if v is not None) for r in rows)
    summary = json.loads((written / "summary.json").read_text("utf-8"))
    texts["summary.json"] = "\n".join(str(summary[k]) for k in ("area", "refused_codes", "duplicates"))
    page = (tmp_path / "rapport.html").read_text("utf-8")
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    texts["rapport HTML"] = html.unescape(re.sub(r"<[^>]+>", " ", body))
    # the scan sees what it must: every text produced, and the words of the list
    assert all(len(v) > 100 for v in texts.values()), {k: len(v) for k, v in texts.items()}
    assert "Vérifications" in texts["rapport HTML"] or "vérification" in texts["rapport HTML"].lower()
    assert _english("type edge, 1 valeur(s) None") == ["edge", "None", "(s)"]
    found = {k: sorted(set(_english(v))) for k, v in texts.items()}
    assert not {k: v for k, v in found.items() if v}


def test_replaces_matches_without_accents_or_case(capsys):
    from cpts_geo.validation.context import match_cpts_names

    names = {"CPTS Ubaye Serre-Ponçon", "CPTS Verdon", "CPTS Sud 04"}
    # accents, case and punctuation ignored: the names of the listing are returned
    assert match_cpts_names(["cpts ubaye serre poncon", "CPTS SUD 04"], names) == (
        "CPTS Ubaye Serre-Ponçon", "CPTS Sud 04")
    with pytest.raises(cpts_geo.OptionError, match="vouliez-vous dire « CPTS Verdon » ?"):
        match_cpts_names(["CPTS Verdun"], names)
    # on the command line: exit 2 with the suggestion
    assert main(["validate", "04001,04009", "--existing", str(SAMPLE), "--replaces", "CPTS Verdun", "-q"]) == 2
    assert "vouliez-vous dire « CPTS Verdon »" in capsys.readouterr().err


def test_apl_estimate_by_cpts(tmp_path, capsys):
    assert main(["apl", "--out", str(tmp_path / "apl.csv"), "--listing", str(SAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "estimation cpts_geo, distincte de l'APL officielle de la DREES" in out
    units = pd.read_csv(tmp_path / "apl.csv", sep=";", decimal=",", dtype={"code": str}, encoding="utf-8-sig")
    per = pd.read_csv(tmp_path / "apl_cpts.csv", sep=";", decimal=",", encoding="utf-8-sig").set_index("CPTS")
    # by hand: population-weighted mean of the commune values over the communes of CPTS Verdon
    m = pd.read_csv(SAMPLE, dtype=str)
    verdon = units.set_index("code").loc[m.loc[m["cpts"] == "CPTS Verdon", "code_insee"]]
    expected = (verdon["apl_estime"] * verdon["population"]).sum() / verdon["population"].sum()
    got = per.at["CPTS Verdon", "APL estimée (cpts_geo, pas l'APL DREES)"]
    assert got == pytest.approx(expected, rel=1e-9)
    assert len(per) == m["cpts"].nunique()
