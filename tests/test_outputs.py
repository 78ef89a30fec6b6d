"""The Python API writes what the CLI writes: ``cpts-geo coverage --out A`` and
``diagnose(read_members(...)).write(B)`` give the same files, columns and values (real sample)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

import cpts_geo
from cpts_geo.cli import main

FIXTURES = Path(__file__).resolve().parent / "fixtures"
APL_FILE = FIXTURES / "apl" / "apl_medecins_generalistes.xlsx"
#: the files `cpts-geo coverage --out` writes (its --help and docs/coverage.md list them)
EXPECTED_FILES = {
    "summary.json", "perimeters.gpkg", "white_zones.gpkg", "overlaps.csv", "overlap_pairs.csv", "diagnostic_cpts.xlsx",
    "carte_couverture.html", "carte_couverture.png", "carte_couverture.pdf",
}


#: the departments the sample covers whole (examples/cpts_paca_sample/README.md)
SAMPLE_DEPARTMENTS = ["04", "05", "84"]


def _reaching(listing) -> set[str]:
    """CPTS of the sample with communes outside 04, 05 and 84 (H3VE, Hauts pays du Verdon et
    Monts d'Azur, Val Durance): the APL fixture has no value for those communes."""
    raw = pd.read_csv(listing, dtype=str)
    return set(raw.loc[~raw["code_insee"].str[:2].isin(SAMPLE_DEPARTMENTS), "cpts"])

def _assert_same_outputs(a: Path, b: Path) -> None:
    files_a = {p.name for p in a.iterdir()}
    assert files_a == {p.name for p in b.iterdir()}
    assert files_a == EXPECTED_FILES
    sa, sb = (json.loads((x / "summary.json").read_text("utf-8")) for x in (a, b))
    # summary.json lists the run's files: the same names (sizes may differ by a zip timestamp)
    assert {f["name"] for f in sa.pop("files")} == {f["name"] for f in sb.pop("files")} == EXPECTED_FILES
    assert sa == sb
    for name in ("perimeters.gpkg", "white_zones.gpkg"):
        ga, gb = gpd.read_file(a / name), gpd.read_file(b / name)
        assert list(ga.columns) == list(gb.columns), name
        pd.testing.assert_frame_equal(pd.DataFrame(ga.drop(columns="geometry")),
                                      pd.DataFrame(gb.drop(columns="geometry")), obj=name)
        assert ga.geometry.geom_equals_exact(gb.geometry, tolerance=0).all(), name
    pd.testing.assert_frame_equal(pd.read_csv(a / "overlaps.csv", sep=";", dtype=str),
                                  pd.read_csv(b / "overlaps.csv", sep=";", dtype=str))
    book_a = pd.read_excel(a / "diagnostic_cpts.xlsx", sheet_name=None)
    book_b = pd.read_excel(b / "diagnostic_cpts.xlsx", sheet_name=None)
    assert list(book_a) == list(book_b)
    for sheet in book_a:
        pd.testing.assert_frame_equal(book_a[sheet], book_b[sheet], obj=sheet)


def test_api_writes_what_the_cli_writes(sample_listing, tmp_path):
    assert main(["coverage", str(sample_listing), "--out", str(tmp_path / "cli")]) == 0
    diag = cpts_geo.diagnose(cpts_geo.read_members(sample_listing))
    diag.write(tmp_path / "api")
    _assert_same_outputs(tmp_path / "cli", tmp_path / "api")
    per = gpd.read_file(tmp_path / "api" / "perimeters.gpkg")
    # classification columns are written by default, as by the CLI, without APL
    assert {"aci_band", "aci_margin", "igas_type", "dens_rural"} <= set(per.columns)
    assert "apl" not in per.columns
    # write() leaves the diagnosis as diagnose() returned it
    assert "aci_margin" not in diag.perimeters.columns and "classification" not in diag.meta["sources"]


def test_api_writes_what_the_cli_writes_with_official_apl(sample_listing, tmp_path, capsys):
    assert main(["coverage", str(sample_listing), "--departement", "04,05,84", "--apl", str(APL_FILE),
                 "--out", str(tmp_path / "cli")]) == 0
    printed = capsys.readouterr().out
    cpts_geo.diagnose(cpts_geo.read_members(sample_listing), departments=SAMPLE_DEPARTMENTS).write(
        tmp_path / "api", apl=APL_FILE)
    _assert_same_outputs(tmp_path / "cli", tmp_path / "api")
    per = gpd.read_file(tmp_path / "api" / "perimeters.gpkg")
    # the APL fixture lists the communes of 04, 05 and 84: the three CPTS reaching beyond get none
    inside = ~per["cpts"].isin(_reaching(sample_listing))
    assert per.loc[inside, "apl"].notna().all() and per.loc[~inside, "apl"].isna().all()
    assert {"apl_flag", "aci_band"} <= set(per.columns)
    summary = json.loads((tmp_path / "api" / "summary.json").read_text("utf-8"))
    assert summary["sources"]["apl"]["sheet"].startswith("APL ")
    book = pd.read_excel(tmp_path / "api" / "diagnostic_cpts.xlsx", sheet_name="Périmètres")
    assert book["APL médecins généralistes (DREES)"].notna().sum() == inside.sum()
    # the printed summary mentions the APL, its sheet and the CPTS under 2.5 (issue 12)
    low = int((per["apl"] < 2.5).sum())
    assert "APL médecins généralistes (DREES, APL 2022" in printed
    assert f"{low} CPTS sous 2,5" in printed


def test_library_steps_of_the_cli(sample_listing):
    """classify_diagnosis and attach_official_apl return enriched copies with their provenance."""
    diag = cpts_geo.diagnose(cpts_geo.read_members(sample_listing), departments=SAMPLE_DEPARTMENTS)
    classified = cpts_geo.classify_diagnosis(diag)
    assert classified is not diag and "aci_band" not in diag.perimeters.columns
    # ACI bands from the population column: taille 1 < 40 000 ≤ taille 2 < 80 000 ≤ taille 3
    per = classified.perimeters
    assert (per.loc[per["population"] < 40_000, "aci_band"] == 1).all()
    assert (per.loc[(per["population"] >= 40_000) & (per["population"] < 80_000), "aci_band"] == 2).all()
    assert classified.summary["sources"]["classification"]["population_year"] == 2023
    with_apl = cpts_geo.attach_official_apl(classified, APL_FILE)
    p = with_apl.perimeters
    assert p.loc[~p["cpts"].isin(_reaching(sample_listing)), "apl"].notna().all()
    assert set(with_apl.meta["sources"]) == set(classified.meta["sources"]) | {"apl"}
    assert "apl" not in classified.perimeters.columns


def test_write_without_classification_or_maps(sample_listing, tmp_path):
    diag = cpts_geo.diagnose(cpts_geo.read_members(sample_listing))
    paths = diag.write(tmp_path, classify=False, maps=False)
    assert {p.name for p in tmp_path.iterdir()} == EXPECTED_FILES - {
        "carte_couverture.html", "carte_couverture.png", "carte_couverture.pdf"}
    assert set(paths) == {"summary", "perimeters", "white_zones", "overlaps", "overlap_pairs", "workbook"}
    assert "aci_band" not in gpd.read_file(tmp_path / "perimeters.gpkg").columns
    # the workbook opens right in Excel: frozen header, autofilter, shares as percentages
    from openpyxl import load_workbook

    ws = load_workbook(tmp_path / "diagnostic_cpts.xlsx")["Couverture"]
    header = [c.value for c in ws[1]]
    share = header.index("part de la population couverte") + 1
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref.startswith("A1:")
    assert ws.cell(row=2, column=share).number_format == "0.0\"\u00a0\"%"  # Excel FR: 96,5 %


def test_bad_apl_file_is_a_french_error(sample_listing, tmp_path, capsys):
    bad = tmp_path / "apl.csv"
    bad.write_text("a;b\n1;2\n", encoding="utf-8")
    assert main(["coverage", str(sample_listing), "--apl", str(bad)]) == 2
    assert "erreur" in capsys.readouterr().err
    with pytest.raises(ValueError):
        cpts_geo.diagnose(cpts_geo.read_members(sample_listing)).write(tmp_path / "out", apl=bad)


def test_overlap_sentence_gives_residents_and_extra_counts(sample_listing, tmp_path):
    """A commune in two CPTS: the people living there, and the extra count they add (issue 12)."""
    listing = pd.read_csv(sample_listing, dtype=str)
    assert (listing["code_insee"] == "04070").sum() == 1  # Digne-les-Bains, in one CPTS only
    listing = pd.concat([listing, pd.DataFrame({"cpts": ["CPTS Sud 04"], "code_insee": ["04070"]})])
    diag = cpts_geo.diagnose(cpts_geo.read_members(listing))
    text = diag.text()
    ref = cpts_geo.load_communes().set_index("code")
    pop = f"{int(ref.at['04070', 'population']):,}".replace(",", "\u202f")
    # shared by two CPTS: its residents are counted once more in the sum of CPTS populations
    assert (f"Chevauchements : 1 commune dans plusieurs CPTS, où vivent {pop} habitants ; "
            f"comptés dans chacune de leurs CPTS, ils ajoutent {pop} habitants") in text
    assert "(s)" not in text
    # the workbook says the same in two rows
    diag.write(tmp_path, classify=False, maps=False)
    synth = pd.read_excel(tmp_path / "diagnostic_cpts.xlsx", sheet_name="Synthèse").set_index("indicateur")
    value = int(ref.at["04070", "population"])
    assert int(synth.at["Population des communes dans plusieurs CPTS", "valeur"]) == value
    assert int(synth.at["Habitants comptés en plus dans la somme des populations des CPTS", "valeur"]) == value
    assert synth.index.is_unique  # one row per label
    # overlaps.csv opens in a French Excel: ";", UTF-8 with BOM, integers without ".0"
    raw = (tmp_path / "overlaps.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b";") > raw.count(b",")
    fr_rows = pd.read_csv(tmp_path / "overlaps.csv", sep=";", decimal=",", dtype=str, encoding="utf-8-sig")
    commune = fr_rows.iloc[0]  # one kind of row per file: communes here, pairs in overlap_pairs.csv
    assert commune["code"] == "04070" and commune["population"] == str(value)
    assert commune["habitants comptés en plus"] == str(value)
    diag.write(tmp_path / "intl", classify=False, maps=False, csv_format="international")
    intl = pd.read_csv(tmp_path / "intl" / "overlaps.csv", dtype=str)
    pd.testing.assert_frame_equal(intl, fr_rows)
    with pytest.raises(cpts_geo.OptionError, match="paramètre `csv_format`"):
        diag.write(tmp_path / "bad", csv_format="excel")
    assert not (tmp_path / "bad").exists()  # refused before writing anything


def test_summary_prints_coverage_by_department(sample_listing):
    """One line per department of the area; every commune of Hautes-Alpes is in a CPTS of the sample."""
    text = cpts_geo.diagnose(cpts_geo.read_members(sample_listing), departments=SAMPLE_DEPARTMENTS).text()
    ref = cpts_geo.load_communes()
    n05 = int(((ref["dep"] == "05") & (ref["kind"] == "commune")).sum())
    assert "Couverture par département :" in text
    assert f"05 Hautes-Alpes : {n05} / {n05} communes, 100,0\u202f% de la population" in text
    lines = [x for x in text.splitlines() if x.startswith("    0") or x.startswith("    8")]
    assert [x.split()[0] for x in lines] == ["04", "05", "84"]


def test_summary_lists_real_code_changes_by_row():
    """« Codes convertis » holds only real code changes (05120 Ristolas merged into 05001 on the
    fixture's row 5); the name and the code missing its leading zero are counted apart (issue 12)."""
    xlsx = FIXTURES / "members" / "long_multisheet.xlsx"
    text = cpts_geo.diagnose(cpts_geo.read_members(xlsx)).text()
    assert "Codes convertis : ligne 5 : 05120 → 05001 (Abriès-Ristolas)" in text
    assert "Saint-Étienne-les-Orgues →" not in text and "4112 →" not in text
    assert "Valeurs interprétées : 1 nom reconnu, 1 code complété (zéro initial perdu)" in text


def test_igas_columns_are_headed_as_the_report_landmark_and_funding_as_the_operating_envelope():
    from cpts_geo.io.outputs import CLASSIFICATION_HEADERS as H

    assert H["igas_viable"] == "dans la fourchette repère IGAS (20 000 à 100 000 habitants)"
    assert H["igas_warning"] == "hors de la fourchette repère IGAS"
    assert "repère" in H["igas_type"] and "selon la population" in H["igas_type"]
    assert not any("viable" in h or "jugée" in h for h in H.values())
    assert H["aci_funding_eur"] == "financement ACI de fonctionnement (€/an)"
