"""Issue 12 (outputs an ARS can put on the table), remaining points: per-row number formats of the
« Synthèse » sheet, the computed APL estimate read back by ``coverage``, effective dates of code
changes, the unknown-code sentence, JSON arrondissements, one department vocabulary across
commands, homonyms resolved with the analysed area."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook

import cpts_geo as cg

PERCENT = '0.0"\u00a0"%'  # a share 0-1 shown by a French Excel as « 96,5 % »


@pytest.fixture(scope="module")
def sample_workbook(sample_listing, tmp_path_factory):
    out = tmp_path_factory.mktemp("synthese")
    cg.diagnose(cg.read_members(sample_listing), departments=["04", "05", "84"]).write(out, maps=False)
    return load_workbook(out / "diagnostic_cpts.xlsx")


def _synthesis_rows(wb) -> dict[str, object]:
    ws = wb["Synthèse"]
    assert [c.value for c in ws[1]] == ["indicateur", "valeur"]
    return {row[0].value: row[1] for row in ws.iter_rows(min_row=2)}


def test_synthesis_sheet_formats_each_row(sample_workbook, communes):
    rows = _synthesis_rows(sample_workbook)
    labels = [r for r in rows]
    assert len(labels) == len(set(labels))  # no two rows with the same label
    # the population of the three departments of the sample, summed from the reference itself
    pop = int(communes.loc[communes["dep"].isin(["04", "05", "84"]) & (communes["kind"] == "commune"),
                           "population"].sum())
    assert rows["Population"].value == pop == 883_577
    # counts: thousands separators, never a percent
    for label in ("CPTS", "Communes", "Communes couvertes", "Population", "Population couverte",
                  "Population en zone blanche", "CPTS de taille 1"):
        assert rows[label].number_format == "#,##0", label
        assert float(rows[label].value).is_integer()
    # shares: a 0-1 value shown as a percent; hand check against the two counts of the sheet
    share = rows["Part de la population couverte"]
    assert share.number_format == PERCENT
    assert share.value == pytest.approx(rows["Population couverte"].value / rows["Population"].value)
    assert 0 < share.value < 1
    units_share = rows["Part des communes couvertes"]
    assert units_share.number_format == PERCENT
    assert units_share.value == pytest.approx(478 / 511)  # « 478 / 511 » in the printed summary
    # an area to 0.1 km²
    area = rows["Surface des zones blanches"]
    assert area.number_format == '#,##0.0" km²"' and area.value > 0
    # text rows keep the general format
    assert rows["Liste"].value == "cpts_04_05_84.csv" and rows["Liste"].number_format == "General"
    assert rows["Géographie"].value == "Code officiel géographique 2026"


def test_write_sheet_per_row_formats(tmp_path):
    import pandas as pd

    from cpts_geo.io.french import write_workbook

    df = pd.DataFrame({"indicateur": ["Liste", "Population", "Part", "Surface"],
                       "valeur": ["liste.csv", 1234, 0.5, 12.34]})
    p = tmp_path / "t.xlsx"
    write_workbook(p, {"Synthèse": df}, {"Synthèse": {"valeur": [None, "integer", "percent", "km2"]}})
    ws = load_workbook(p)["Synthèse"]
    assert [ws.cell(row=r, column=2).number_format for r in range(2, 6)] == [
        "General", "#,##0", PERCENT, '#,##0.0" km²"']
    with pytest.raises(ValueError):
        write_workbook(p, {"Synthèse": df}, {"Synthèse": {"valeur": ["integer"]}})


# ------------------------------------------------------------------------------------------
# The computed APL estimate: apl --listing → coverage --apl-estimee
# ------------------------------------------------------------------------------------------


def test_apl_listing_reads_back_into_coverage(sample_listing, tmp_path, capsys):
    import json

    import pandas as pd

    from cpts_geo.cli import main

    assert main(["apl", "--out", str(tmp_path / "apl.csv"), "--listing", str(sample_listing)]) == 0
    per_cpts = tmp_path / "apl_cpts.csv"
    assert per_cpts.exists() and (tmp_path / "apl_cpts.meta.json").exists()
    written = pd.read_csv(per_cpts, sep=";", decimal=",", encoding="utf-8-sig")
    header = "APL estimée (cpts_geo, pas l'APL DREES)"
    assert header in written.columns and len(written) == 21  # the sample's CPTS
    capsys.readouterr()
    out = tmp_path / "diag"
    assert main(["coverage", str(sample_listing), "--departement", "04,05,84", "--apl-estimee", str(per_cpts),
                 "--out", str(out), "--no-maps"]) == 0
    text = capsys.readouterr().out
    # the summary says it is an estimate and not the DREES APL, with its range over the 21 CPTS
    line = next(x for x in text.splitlines() if "APL estimée" in x)
    assert "pas l'APL de la DREES" in line and "apl_cpts.csv" in line and "21 sur 21 CPTS" in line
    lo, hi = written[header].min(), written[header].max()
    assert f"de {lo:.1f}".replace(".", ",") in line and f"à {hi:.1f}".replace(".", ",") in line
    assert "APL médecins généralistes (DREES" not in text  # the official APL was not given
    # summary.json: its source, parameters file and the note that it is an estimate
    src = json.loads((out / "summary.json").read_text(encoding="utf-8"))["sources"]["apl_estime"]
    assert src["source"] == "apl_cpts.csv" and src["parameters_file"] == "apl_cpts.meta.json"
    assert src["steps"] == {"10.0": 1.0, "15.0": pytest.approx(2 / 3), "20.0": pytest.approx(1 / 3)}
    assert src["listing"] == "cpts_04_05_84.csv" and "pas l'APL publiée par la DREES" in src["note"]
    assert "apl" not in json.loads((out / "summary.json").read_text(encoding="utf-8"))["sources"]
    # workbook: the estimate under its own header, the same values, and a « Sources » row
    wb = load_workbook(out / "diagnostic_cpts.xlsx")
    ws = wb["Périmètres"]
    head = [c.value for c in ws[1]]
    assert header in head and "APL médecins généralistes (DREES)" not in head
    col, name_col = head.index(header), head.index("CPTS")
    values = {row[name_col].value: row[col].value for row in ws.iter_rows(min_row=2)}
    expected = dict(zip(written["CPTS"], written[header], strict=True))
    assert values == pytest.approx(expected)
    sources = {r[0].value: r[1].value for r in wb["Sources"].iter_rows(min_row=2)}
    est = sources["APL estimée (calcul cpts_geo, pas l'APL DREES)"]
    assert "apl_cpts.csv" in est and "jusqu'à 10\u202fmin : poids 1" in est
    # the Python API writes the same: Diagnosis.write(apl_estimate=...)
    api = tmp_path / "api"
    cg.diagnose(cg.read_members(sample_listing)).write(api, apl_estimate=per_cpts, maps=False)
    api_src = json.loads((api / "summary.json").read_text(encoding="utf-8"))["sources"]["apl_estime"]
    assert api_src == src
    # the same English-word and « (s) » scan as the rest of the user text (test_french_outputs)
    from test_french_outputs import _english

    assert _english(text) == [] and _english(est) == []


def test_apl_estimate_file_sharing_no_cpts_is_refused(sample_listing, tmp_path, capsys):
    from cpts_geo.cli import main

    bad = tmp_path / "autre_cpts.csv"
    bad.write_text("CPTS;APL estimée (cpts_geo, pas l'APL DREES)\nCPTS Inconnue;12,5\n", encoding="utf-8")
    assert main(["coverage", str(sample_listing), "--apl-estimee", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "autre_cpts.csv" in err and "aucune CPTS de ce fichier" in err and "CPTS Inconnue" in err
    nonum = tmp_path / "texte.csv"
    nonum.write_text("CPTS;APL estimée (cpts_geo, pas l'APL DREES)\nCPTS Sud 04;beaucoup\n", encoding="utf-8")
    assert main(["coverage", str(sample_listing), "--apl-estime", str(nonum)]) == 2
    err = capsys.readouterr().err
    assert "texte.csv, ligne 2" in err and "beaucoup" in err


# ------------------------------------------------------------------------------------------
# JSON listings: the arrondissements of a record are read
# ------------------------------------------------------------------------------------------


def test_json_arrondissements_are_read(tmp_path, capsys):
    import json

    from cpts_geo.cli import main

    listing = tmp_path / "marseille.json"
    listing.write_text(json.dumps([
        {"cpts": "CPTS Marseille Nord", "communes": ["Marseille"], "arrondissements": ["13e", "14e", "15e", "16e"]},
        {"cpts": "CPTS Marseille Centre", "communes": ["13055"],
         "arrondissements": ["1er", 2, "Marseille 3e Arrondissement", "13207"]},
        {"cpts": "CPTS Marseille Est", "communes": ["Marseille", "Allauch"], "arrondissements": [11, 12],
         "contact": "secretariat@example.org"},
    ], ensure_ascii=False), encoding="utf-8")
    m = cg.read_members(listing)
    by = {c: sorted(g["code"]) for c, g in m.groupby("cpts")}
    # arrondissement n of Marseille is 13200 + n (INSEE codes 13201 to 13216)
    assert by == {"CPTS Marseille Nord": ["13213", "13214", "13215", "13216"],
                  "CPTS Marseille Centre": ["13201", "13202", "13203", "13207"],
                  "CPTS Marseille Est": ["13002", "13211", "13212"]}
    assert m.attrs["columns"]["arr"] == "arrondissements" and m.attrs["ignored_columns"] == ["contact"]
    assert list(m.loc[m["cpts"] == "CPTS Marseille Nord", "input"]) == ["13e", "14e", "15e", "16e"]
    d = cg.diagnose(m)
    assert "13055" not in set(d.units["code"])          # Marseille is not one commune shared by all
    assert d.summary["overlapping_units"] == {}
    assert {"13213", "13201", "13212"} <= set(d.units.loc[d.units["n_cpts"] == 1, "code"])
    assert main(["coverage", str(listing)]) == 0
    out = capsys.readouterr().out
    assert "Chevauchements : aucun" in out
    assert "Non lu dans la liste : la colonne « contact »" in out
    from test_french_outputs import _english

    assert _english(out) == []


def test_arrondissement_number_without_its_city_is_refused(tmp_path):
    import json

    listing = tmp_path / "sans_ville.json"
    listing.write_text(json.dumps([{"cpts": "CPTS X", "communes": ["Allauch"], "arrondissements": ["3e"]}]),
                       encoding="utf-8")
    with pytest.raises(cg.MembersError, match="arrondissement « 3e » donné par son numéro"):
        cg.read_members(listing)
    listing.write_text(json.dumps([{"cpts": "CPTS X", "communes": ["Lyon"], "arrondissements": ["12e"]}]),
                       encoding="utf-8")
    with pytest.raises(cg.MembersError, match="Lyon n'a pas d'arrondissement n° 12"):
        cg.read_members(listing)


# ------------------------------------------------------------------------------------------
# One vocabulary for the analysed area; the area resolves homonyms
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["coverage", "map", "validate", "app"])
@pytest.mark.parametrize("flag", ["--departement", "--department", "--departements", "--departments"])
def test_department_option_is_one_in_every_command(command, flag):
    from cpts_geo.cli import build_parser
    from cpts_geo.cli.options import area_departments, area_from_args

    first = {"coverage": ["liste.csv"], "map": ["liste.csv"], "validate": ["04001"], "app": []}[command]
    args = build_parser().parse_args([command, *first, "--region", "93", flag, "04,05", flag, "84"])
    assert args.department == ["04,05", "84"]
    assert area_from_args(args) == ("93", ["04", "05", "84"])
    # the departments of region 93 (Provence-Alpes-Côte d'Azur: 04, 05, 06, 13, 83, 84)
    assert area_departments(args) == ["04", "05", "06", "13", "83", "84"]


def test_help_shows_one_department_option(capsys):
    from cpts_geo.cli import main

    for command in ("coverage", "map", "validate", "app"):
        assert main([command, "--help"]) == 0
        out = capsys.readouterr().out
        assert "--departement DÉP" in out and "--region RÉGION" in out
        assert "--departments DÉP" not in out  # the former spellings are named once, not listed


@pytest.mark.parametrize("command,first", [
    ("coverage", ["liste.xlsx", "--departement", "04"]), ("map", ["liste.xlsx", "--departement", "04"]),
    ("compare", ["v1.xlsx", "v2.xlsx"]), ("apl", ["--out", "apl.csv", "--listing", "liste.xlsx"])])
def test_listing_options_shared(command, first):
    from cpts_geo.cli import build_parser
    from cpts_geo.cli.options import listing_kwargs

    args = build_parser().parse_args([command, *first, "--name-col", "Commune", "--dep-col", "Dép",
                                      "--stage-col", "Stade", "--header-row", "3", "--sheet", "PACA",
                                      "--cog-year", "2024"])
    kw = listing_kwargs(args)
    assert kw == {"cpts_col": None, "code_col": None, "name_col": "Commune", "dep_col": "Dép",
                  "stage_col": "Stade", "sheet": "PACA", "header_row": 3, "code_type": "auto",
                  "cog_year": 2024, "area": ["04"] if command in ("coverage", "map") else None}


def test_region_resolves_homonyms_of_a_names_only_listing(tmp_path, capsys):
    from cpts_geo.cli import main

    # Beaujeu: 04 and 69; Beynes: 04 and 78 — nothing in the listing itself decides
    listing = tmp_path / "noms.csv"
    listing.write_text("cpts;commune\nCPTS Asse Bléone;Beaujeu\nCPTS Asse Bléone;Beynes\n", encoding="utf-8")
    assert main(["coverage", str(listing)]) == 2
    capsys.readouterr()
    assert main(["coverage", str(listing), "--region", "93"]) == 0
    assert "Communes couvertes : 2 / 946" in capsys.readouterr().out  # PACA has 946 communes
    m = cg.read_members(listing, area=["04", "05", "06", "13", "83", "84"])
    assert sorted(m["code"]) == ["04024", "04028"]  # Beaujeu (04), Beynes (04) in data/communes/names.csv


# ------------------------------------------------------------------------------------------
# Code changes: effective dates written the French way; the unknown-code sentence
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code,message", [
    # decree of 15 October 2018, commune nouvelle Abriès-Ristolas in force on 1 January 2019
    ("05120", "code 05120 (Ristolas) n'existe plus depuis le 1er janvier 2019 : remplacé par 05001 "
              "(Abriès-Ristolas) ; attention, 05120 est aussi le code postal de L'Argentière-la-Bessée, "
              "Saint-Martin-de-Queyrières et Les Vigneaux"),
    # Bellegarde-Marsal, commune nouvelle of 1 January 2016
    ("81155", "code 81155 (Marsal) n'existe plus depuis le 1er janvier 2016 : remplacé par 81026 "
              "(Bellegarde-Marsal)"),
    # recorded by INSEE as « 01/01/2024 » (day first)
    ("08294", "code 08294 (La Moncelle) n'existe plus depuis le 1er janvier 2024 : remplacé par 08053 (Bazeilles)"),
])
def test_conversion_message_names_the_effective_date(code, message):
    assert cg.normalise_codes([code])["message"].iloc[0] == message


def test_effective_date_rule():
    import datetime as dt

    from cpts_geo.codes import effective_date

    assert effective_date(2018, 2019, "2018-10-15") == (dt.date(2019, 1, 1), "le 1er janvier 2019")
    assert effective_date(2016, 2017, "2017-01-01") == (dt.date(2017, 1, 1), "le 1er janvier 2017")
    assert effective_date(2019, 2020, "08/02/2019") == (dt.date(2019, 2, 8), "le 8 février 2019")
    # a recorded date before the step's window is a decree date: in force with the next COG
    assert effective_date(2016, 2017, "2015-12-15") == (dt.date(2017, 1, 1), "le 1er janvier 2017")
    assert effective_date(2024, 2026, "2025/2026") == (None, "le 1er janvier 2025 ou le 1er janvier 2026")


def test_no_iso_date_or_year_pair_in_conversion_messages():
    import re

    from cpts_geo.reference import load_steps

    steps = load_steps()
    gone = steps.loc[steps["code_old"] != steps["code_new"]].groupby(["cog_from", "cog_to"])["code_old"].first()
    messages = cg.normalise_codes(list(gone))["message"]
    assert len(messages) >= 15
    for m in messages:
        assert not re.search(r"\d{4}-\d{2}-\d{2}|\d{2}/\d{2}/\d{4}|\d{4}/\d{4}", m), m


def test_unknown_code_sentence():
    msg = cg.normalise_codes(["99999"])["message"].iloc[0]
    assert msg == ("code 99999 absent du COG 2026 (référentiel de cpts_geo) : ni commune actuelle, ni ancienne "
                   "commune ; code créé après le 1er janvier 2026 ? mettez à jour cpts_geo (son référentiel "
                   "est le COG 2026)")


def test_near_old_names_are_suggested_through_the_code_history():
    r = cg.normalise_codes(["Belegarde (81)", "Ristola (05)", "Bellegarde (81)"])
    # Bellegarde merged with Marsal into Bellegarde-Marsal (81026) on 1 January 2016
    assert r["message"].iloc[0] == ("« Belegarde (81) » : aucune commune de ce nom dans le département 81 ; "
                                    "suggestions : 81026 Bellegarde-Marsal (ancien nom proche : Bellegarde)")
    assert r["candidates"].iloc[0] == [{"code": "81026", "nom": "Bellegarde-Marsal",
                                        "why": "ancien nom proche : Bellegarde"}]
    # Ristolas (05120) is part of Abriès-Ristolas (05001) since 1 January 2019
    assert "05001 Abriès-Ristolas (ancien nom proche : Ristolas)" in r["message"].iloc[1]
    assert r["code"].iloc[1] is None  # a suggestion, never a silent conversion
    assert r["code"].iloc[2] == "81026" and r["status"].iloc[2] == "name"  # the exact old name converts


def test_coverage_reads_a_title_row_workbook_with_the_listing_options(tmp_path, capsys):
    from openpyxl import Workbook

    from cpts_geo.cli import main

    wb = Workbook()
    ws = wb.active
    ws.append(["Listing CPTS ARS PACA — janvier 2026"])
    ws.append(["Territoire", "Nom commune", "Département", "Avancement"])
    ws.append(["CPTS Asse Bléone", "Beaujeu", "04", "ACI signé"])
    ws.append(["CPTS Asse Bléone", "Beynes", "04", "ACI signé"])
    path = tmp_path / "liste_ars.xlsx"
    wb.save(path)
    argv = ["coverage", str(path), "--header-row", "2", "--cpts-col", "Territoire", "--name-col", "Nom commune",
            "--dep-col", "Département", "--stage-col", "Avancement"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    # the two communes of department 04 (not Beaujeu 69018 nor Beynes 78062), at « ACI signé »
    assert "Communes couvertes : 2 / 198" in out  # 04 Alpes-de-Haute-Provence: 198 communes
    assert "dont CPTS à l'ACI signé" in out
    assert main([*argv[:2], "--header-row", "1"]) == 2  # the title line is no header
    assert "colonnes trouvées : Listing CPTS ARS PACA" in capsys.readouterr().err


def test_validate_takes_codes_as_several_arguments(tmp_path, capsys):
    import json

    from cpts_geo.cli import main

    for argv in (["04001", "04009"], ["04001;04009"], ["04001 04009"], ["04001,04009"]):
        assert main(["validate", *argv, "--json", str(tmp_path / "r.json"), "-q"]) in (0, 1)
        report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
        assert sorted(u["code"] for u in report["units"]) == ["04001", "04009"], argv
    capsys.readouterr()
    assert main(["validate", "04001", "liste.csv"]) == 2
    assert "un seul fichier" in capsys.readouterr().err


def test_an_old_name_is_one_more_homonym_the_context_may_choose():
    # « Bellegarde »: three current communes (30, 32, 45) and the old name of 81026 Bellegarde-Marsal
    alone = cg.normalise_codes(["Bellegarde"])
    assert alone["code"].iloc[0] is None and alone["status"].iloc[0] == "ambiguous"
    assert alone["message"].iloc[0] == (
        "« Bellegarde » désigne plusieurs communes, préciser le département : 30034 Bellegarde (30), "
        "32041 Bellegarde (32), 45031 Bellegarde (45) et 81026 Bellegarde-Marsal (81, ancien nom : Bellegarde)")
    # in a listing whose other communes are in the Tarn (81), the old name is chosen and reported
    r = cg.normalise_codes(["Bellegarde", "Castres (81)"], groups=["CPTS Tarn", "CPTS Tarn"])
    assert r["code"].iloc[0] == "81026" and r["status"].iloc[0] == "name"
    assert "homonyme choisi d'après le contexte" in r["message"].iloc[0]


@pytest.mark.parametrize("area,expected", [
    (["--region", "93"], ["04", "05", "06", "13", "83", "84"]),
    (["--departments", "04,05"], ["04", "05"]),      # the former spelling of validate, still read
    (["--departement", "04", "--departement", "05"], ["04", "05"]),
])
def test_validate_area_is_the_analysed_area(sample_listing, tmp_path, area, expected, capsys):
    import json

    from cpts_geo.cli import main

    out = tmp_path / "v.json"
    assert main(["validate", "04001,04009", "--existing", str(sample_listing), *area, "--json", str(out), "-q"]) == 1
    assert json.loads(out.read_text(encoding="utf-8"))["meta"]["listing_departments"] == expected
