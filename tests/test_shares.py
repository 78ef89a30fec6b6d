"""Cities listed whole by several CPTS (issue 15): the whole city counted for each CPTS and the
ACI band of an equal split, or the shares of a table applied to populations, bands and APL.

Real case: the five CPTS of the ARS PACA listing (January 2026) that share Nice (06088, three
CPTS) and Toulon (83137, two CPTS), ``examples/cpts_paca_sample/cpts_nice_toulon.csv``. The shares
file ``examples/exemple_partage_nice_toulon.csv`` is an invented example (format only).

Expected values are hand computations from the populations légales 2023 (INSEE, population
municipale, in force on 1 January 2026) written below as literals, and the ACI bands of the
arrêté du 21 août 2019: taille 1 < 40 000 ≤ taille 2 < 80 000 ≤ taille 3 ≤ 175 000 < taille 4.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import cpts_geo as cg
from cpts_geo import reference
from cpts_geo.cli import main
from cpts_geo.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
LISTING = ROOT / "examples" / "cpts_paca_sample" / "cpts_nice_toulon.csv"
EXAMPLE = ROOT / "examples" / "exemple_partage_nice_toulon.csv"

# populations légales 2023 (population municipale, INSEE)
POP = {"06088": 357_737, "83137": 179_116,  # Nice, Toulon
       "06011": 3_874, "06059": 2_144, "06121": 1_531, "06159": 5_008,  # Nice Centre - Nice Est
       "06006": 2_346, "06060": 2_185,  # Nice Nord et ses Collines
       "06046": 3_409,  # Nice ouest Vallée
       "83090": 14_568, "83103": 4_074, "83126": 63_732, "83153": 6_000}  # La Seyne Toulon ouest
NCE, NORD, OUEST = "CPTS Nice Centre - Nice Est", "CPTS Nice Nord et ses Collines", "CPTS Nice ouest Vallée"
SEYNE, LITTORAL = "CPTS La Seyne Toulon ouest", "CPTS Toulon Littoral"
OTHERS = {NCE: 3_874 + 2_144 + 1_531 + 5_008, NORD: 2_346 + 2_185, OUEST: 3_409,
          SEYNE: 14_568 + 4_074 + 63_732 + 6_000, LITTORAL: 0}
NSP = "\u202f"  # narrow no-break space of French numbers


def _band(p: float) -> int:
    """ACI band from the literal thresholds of the ACI text."""
    return 1 if p < 40_000 else 2 if p < 80_000 else 3 if p <= 175_000 else 4


def _plain(text: str) -> str:
    return text.replace(NSP, " ").replace("\xa0", " ")


@pytest.fixture(scope="module")
def diag():
    return cg.diagnose(cg.read_members(LISTING))


def _write(tmp_path: Path, text: str, name: str = "partage.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_reference_has_the_legal_populations_used_by_hand():
    pop = reference.units()["population"]
    assert {c: int(pop[c]) for c in POP} == POP


def test_without_table_the_whole_city_counts_for_each_cpts_and_the_equal_split_band_is_given(diag):
    per = diag.perimeters.set_index("cpts")
    # whole city counted for each CPTS, as listed: taille 4 for all five
    assert per.loc[NCE, "population"] == 357_737 + OTHERS[NCE] == 370_294
    assert (per["band"] == 4).all()
    # equal split: Nice / 3, Toulon / 2
    expected = {NCE: 357_737 / 3 + OTHERS[NCE], NORD: 357_737 / 3 + OTHERS[NORD],
                OUEST: 357_737 / 3 + OTHERS[OUEST], SEYNE: 179_116 / 2 + OTHERS[SEYNE],
                LITTORAL: 179_116 / 2}
    for name, p in expected.items():
        assert per.loc[name, "population_equal_split"] == round(p)
        assert per.loc[name, "band_equal_split"] == _band(p)
    # 131 803, 123 777, 122 655 → taille 3; 177 932 → taille 4; 89 558 → taille 3
    assert per["band_equal_split"].to_dict() == {SEYNE: 4, NCE: 3, NORD: 3, OUEST: 3, LITTORAL: 3}
    cities = {c["code"]: c for c in diag.summary["shared_cities"]}
    assert cities["06088"]["method"] == "whole" and len(cities["06088"]["cpts"]) == 3
    assert diag.summary["shares"]["source"] is None


def test_without_table_the_summary_says_the_whole_city_is_counted_and_gives_the_equal_split_band(diag):
    text = _plain(diag.text())
    assert "Nice (06088, 357 737 habitants) est listée par 3 CPTS sans répartition : la ville entière est " \
           "comptée pour chaque CPTS" in text
    assert "Toulon (83137, 179 116 habitants) est listée par 2 CPTS sans répartition" in text
    assert "CPTS Nice Centre - Nice Est : taille 3 (131 803 habitants au lieu de 370 294)" in text
    assert "CPTS Toulon Littoral : taille 3 (89 558 habitants au lieu de 179 116)" in text
    # issue 12 sentence: people living in the shared communes, and the extra count (Nice twice, Toulon once)
    assert f"où vivent {357_737 + 179_116:,} habitants".replace(",", " ") in text
    assert f"ils ajoutent {2 * 357_737 + 179_116:,} habitants".replace(",", " ") in text


def test_without_table_the_workbook_and_summary_json_state_it(diag, tmp_path):
    from cpts_geo.io.outputs import write_tables

    write_tables(diag, tmp_path)
    book = pd.read_excel(tmp_path / "diagnostic_cpts.xlsx", sheet_name=None)
    per = book["Périmètres"].set_index("CPTS")
    assert per.loc[LITTORAL, "taille ACI si les villes partagées l'étaient à parts égales"] == 3
    assert per.loc[LITTORAL, "taille ACI"] == 4
    shared = pd.read_excel(tmp_path / "diagnostic_cpts.xlsx", sheet_name="Communes partagées",
                           dtype={"code": str}).set_index("code")
    assert shared.loc["06088", "répartition de la population"] == "ville entière comptée pour chaque CPTS"
    synth = dict(zip(book["Synthèse"]["indicateur"], book["Synthèse"]["valeur"], strict=True))
    assert "la ville entière est comptée pour chaque CPTS" in synth["Population des villes partagées"]
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert [c["code"] for c in summary["shared_cities"]] == ["06088", "83137"]


def test_a_listing_without_shared_city_gets_no_equal_split_column(sample_listing):
    d = cg.diagnose(cg.read_members(sample_listing))
    assert "band_equal_split" not in d.perimeters.columns
    assert d.summary["shared_cities"] == []
    assert "sans répartition" not in d.text()


def test_the_example_table_splits_the_populations_and_bands(diag):
    d = cg.apply_shares(diag, EXAMPLE)
    per = d.perimeters.set_index("cpts")
    # Nice: 45 %, 25 %, 30 %; Toulon: 45 000 and 130 000 inhabitants (175 000 of 179 116)
    expected = {NCE: 0.45 * 357_737 + OTHERS[NCE], NORD: 0.25 * 357_737 + OTHERS[NORD],
                OUEST: 0.30 * 357_737 + OTHERS[OUEST], SEYNE: 45_000 + OTHERS[SEYNE], LITTORAL: 130_000}
    assert per["population"].to_dict() == {k: round(v) for k, v in expected.items()}
    assert per.loc[NCE, "population"] == 173_539  # 160 981,65 + 12 557: just under 175 000
    assert per["band"].to_dict() == {k: _band(v) for k, v in expected.items()} == dict.fromkeys(expected, 3)
    assert per.loc[NCE, "population_whole_units"] == 370_294
    assert "band_equal_split" not in per.columns  # every shared city has its shares
    assert d.summary["bands"] == {"1": 0, "2": 0, "3": 5, "4": 0}
    assert d.summary["double_counted_population"] == 0
    toulon = {c["code"]: c for c in d.summary["shared_cities"]}["83137"]
    assert toulon["unassigned_population"] == 179_116 - 175_000
    assert d.summary["shares"]["source"] == EXAMPLE.name == d.meta["shares"]["source"]
    assert "part de la CPTS" in d.summary["shares"]["method"]
    # the diagnosis given is unchanged
    assert diag.perimeters.set_index("cpts").loc[NCE, "population"] == 370_294
    text = _plain(d.text())
    assert "aucun habitant n'est compté deux fois" in text
    assert "Toulon (83137, 179 116 habitants) est répartie selon exemple_partage_nice_toulon.csv" in text
    assert "4 116 habitants dans aucune CPTS" in text
    assert "sans répartition" not in text


def test_classification_reads_the_shared_population(diag):
    d = cg.classify_diagnosis(cg.apply_shares(diag, EXAMPLE)).perimeters.set_index("cpts")
    assert d.loc[NORD, "aci_band"] == 3
    assert bool(d.loc[NORD, "igas_viable"])  # 93 965 ≤ 100 000: no longer above the IGAS range
    assert not bool(cg.classify_diagnosis(diag).perimeters.set_index("cpts").loc[NORD, "igas_viable"])


def test_official_apl_is_weighted_by_the_shared_population(diag, tmp_path):
    apl = _write(tmp_path, "Code commune INSEE;Commune;APL\n06088;Nice;3,0\n06046;Colomars;5,0\n", "apl.csv")
    whole = cg.attach_official_apl(diag, apl, cog=2026).perimeters.set_index("cpts")
    split = cg.attach_official_apl(cg.apply_shares(diag, EXAMPLE), apl, cog=2026).perimeters.set_index("cpts")
    # weights: population légale 2023 × share (Nice 30 % for Nice ouest Vallée)
    assert whole.loc[OUEST, "apl"] == pytest.approx((3 * 357_737 + 5 * 3_409) / (357_737 + 3_409))
    assert split.loc[OUEST, "apl"] == pytest.approx((3 * 0.30 * 357_737 + 5 * 3_409) / (0.30 * 357_737 + 3_409))


def test_a_data_frame_of_populations_is_accepted(diag):
    table = pd.DataFrame({"code": ["06088"] * 3, "cpts": [NCE, NORD, OUEST],
                          "population": [150_000, 100_000, 107_737]})
    per = cg.apply_shares(diag, table).perimeters.set_index("cpts")
    assert per.loc[NORD, "population"] == 100_000 + OTHERS[NORD]
    # Toulon has no share: still counted whole, with its equal-split band
    assert per.loc[LITTORAL, "population"] == 179_116 and per.loc[LITTORAL, "band_equal_split"] == 3
    shares = pd.DataFrame({"code": ["06088"] * 3, "cpts": [NCE, NORD, OUEST], "share": [0.5, 0.25, 0.25]})
    per = cg.apply_shares(diag, shares).perimeters.set_index("cpts")
    assert per.loc[NCE, "population"] == round(0.5 * 357_737 + OTHERS[NCE]) == 191_426


@pytest.mark.parametrize("text, message, row", [
    ("commune;cpts;part\nNice;" + NCE + ";60 %\nNice;" + NORD + ";30 %\nNice;" + OUEST + ";20 %\n",
     "les parts de Nice (06088) totalisent plus de 100 % (lignes 2, 3 et 4)", 4),
    ("commune;cpts;population\n83137;" + SEYNE + ";100000\n83137;" + LITTORAL + ";90000\n",
     "les populations données pour Toulon (83137) totalisent 190 000 habitants, plus que sa population", 3),
    ("commune;cpts;population\n83137;" + SEYNE + ";200000\n83137;" + LITTORAL + ";0\n",
     "population supérieure à celle de Toulon (83137)", 2),
    ("commune;cpts;part\nNice;CPTS Nice Sud;0,5\n", "CPTS absente de la liste analysée", 2),
    ("commune;cpts;part\nNice;" + LITTORAL + ";0,5\n", f"la CPTS « {LITTORAL} » ne liste pas Nice (06088)", 2),
    ("commune;cpts;part\nNice;" + NCE + ";45\n", "part supérieure à 1", 2),
    ("commune;cpts;part\nNice;" + NCE + ";0,5\nNice;" + NORD + ";0,5\n",
     f"Nice (06088) est aussi listée par {OUEST}", 3),
    ("commune;cpts;part\nNiçe-Ville-Imaginaire;" + NCE + ";0,5\n", "commune non reconnue", 2),
    ("commune;cpts;part\nNice;" + NCE + ";beaucoup\n", "part illisible", 2),
    ("commune;cpts\nNice;" + NCE + "\n", "colonne « part » (0 à 1 ou %) ou « population » attendue", None),
])
def test_bad_tables_are_refused_with_a_french_message(diag, tmp_path, text, message, row):
    path = _write(tmp_path, text)
    with pytest.raises(InputError) as err:
        cg.apply_shares(diag, path)
    assert message in _plain(str(err.value))
    assert err.value.source == "partage.csv" and err.value.row == row


def test_cli_partage_applies_the_table_and_refuses_a_bad_one_with_exit_2(tmp_path, capsys):
    assert main(["coverage", str(LISTING), "--partage", str(EXAMPLE), "--out", str(tmp_path / "out")]) == 0
    out = _plain(capsys.readouterr().out)
    assert "tailles ACI : taille 1 : 0, taille 2 : 0, taille 3 : 5, taille 4 : 0" in out
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["shares"]["source"] == EXAMPLE.name
    bad = _write(tmp_path, "commune;cpts;part\nToulon;" + SEYNE + ";0,7\nToulon;" + LITTORAL + ";0,4\n")
    assert main(["coverage", str(LISTING), "--partage", str(bad)]) == 2
    err = _plain(capsys.readouterr().err)
    assert "partage.csv, ligne 3 : les parts de Toulon (83137) totalisent plus de 100 %" in err
    assert main(["coverage", str(LISTING), "--partage", str(tmp_path / "absent.csv")]) == 2
    assert "fichier introuvable (--partage)" in capsys.readouterr().err


def test_validation_gives_the_equal_split_band_of_communes_already_in_existing_cpts():
    report = cg.validate_territory(["06088", "06046"], existing=LISTING)
    check = report["size_band"]
    # Nice is in 3 existing CPTS (÷ 4 with the territory), Colomars in 1 (÷ 2)
    expected = 357_737 / 4 + 3_409 / 2
    assert check.details["population"] == 357_737 + 3_409
    assert check.details["population_equal_split"] == round(expected) == 91_139
    assert check.details["aci_band_equal_split"] == _band(expected) == 3
    assert "la ville entière est comptée pour chaque CPTS" in check.message
    assert f"91{NSP}139" in check.message


def test_a_share_of_a_commune_held_by_one_cpts_leaves_the_rest_in_no_cpts_and_is_reported(diag, tmp_path):
    path = _write(tmp_path, "commune;cpts;part\n06046;" + OUEST + ";0,4\n")
    d = cg.apply_shares(diag, path)
    per = d.perimeters.set_index("cpts")
    # Colomars 40 % (3 409 × 0,4 = 1 363,6); Nice, without a share, still counted whole
    assert per.loc[OUEST, "population"] == round(357_737 + 0.4 * 3_409) == 359_101
    assert per.loc[OUEST, "band_equal_split"] == _band(357_737 / 3 + 0.4 * 3_409)
    assert per.loc[OUEST, "population_equal_split"] == round(357_737 / 3 + 0.4 * 3_409)
    colomars = {c["code"]: c for c in d.summary["shared_cities"]}["06046"]
    assert colomars["unassigned_population"] == round(0.6 * 3_409) == 2_045
    assert "2 045 habitants dans aucune CPTS" in _plain(d.text())


def test_a_city_analysed_by_arrondissement_is_refused_with_its_reason(tmp_path):
    listing = pd.DataFrame({"cpts": ["CPTS A", "CPTS B"], "code": ["13201", "13055"]})
    d = cg.diagnose(listing)  # 13201 listed: Marseille analysed by arrondissement
    path = _write(tmp_path, "commune;cpts;part\n13055;CPTS B;0,5\n")
    with pytest.raises(InputError, match="analysée par arrondissement municipal"):
        cg.apply_shares(d, path)


def test_the_map_popup_gives_the_equal_split_band(diag):
    html = cg.coverage_map(diag).get_root().render()
    # popups are JSON in the page: accents and narrow spaces escaped
    assert "\\u00e0 parts \\u00e9gales : taille 3 (89\\u202f558 habitants)" in html  # Toulon Littoral


def test_cli_map_partage_colours_the_split_bands(tmp_path):
    page = tmp_path / "carte.html"
    assert main(["map", str(LISTING), "--partage", str(EXAMPLE), "--color-by", "band", "--html", str(page)]) == 0
    html = page.read_text(encoding="utf-8")
    assert "Taille 3 (80\\u202f000" in html and "Taille 4" not in html  # every CPTS is taille 3 once split
    bad = _write(tmp_path, "commune;cpts;part\nNice;CPTS Nice Sud;0,5\n")
    assert main(["map", str(LISTING), "--partage", str(bad), "--html", str(page)]) == 2
