"""Postcode doubts (cpts_geo/postcodes.py) printed only where there is a doubt: on the real
sample (column ``code_insee``) the summary stays quiet and the workbook keeps every flag; a name
that contradicts its code, or a listing that looks postal, gets its line."""

from __future__ import annotations

import pandas as pd
import pytest

import cpts_geo as cg
from cpts_geo import postcodes


@pytest.fixture(scope="module")
def sample_diag(sample_listing):
    return cg.diagnose(cg.read_members(sample_listing), departments=["04", "05", "84"])


def test_an_insee_column_keeps_the_summary_quiet_and_the_rows_flagged(sample_listing, sample_diag):
    raw = pd.read_csv(sample_listing, dtype=str)
    expected = {c for c in set(raw["code_insee"]) if postcodes.doubt_note(c)}
    assert len(expected) == 29  # codes that are INSEE codes and postcodes of other communes
    assert set(sample_diag.summary["postcode_doubts"]) == expected  # the detail is kept
    assert sample_diag.summary["postcode_doubts_shown"] == {}
    assert sample_diag.summary["postcode_doubts_reason"] is None
    assert "codes postaux" not in sample_diag.text()
    rep = sample_diag.report
    assert set(rep.loc[rep["postcode_doubt"], "input"]) == expected
    assert rep.loc[rep["postcode_doubt"], "message"].str.contains("mais aussi code postal").all()


def test_the_readme_command_prints_no_postcode_paragraph(sample_listing, tmp_path, capsys):
    from cpts_geo.cli import main

    assert main(["coverage", str(sample_listing), "--departement", "04,05,84", "--no-maps",
                 "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "codes postaux" not in out and "lu comme code INSEE" not in out
    codes = pd.read_excel(tmp_path / "diagnostic_cpts.xlsx", sheet_name="Codes (rapport)", dtype=str)
    assert codes["motif"].fillna("").str.contains("mais aussi code postal").sum() >= 29


def test_a_name_that_contradicts_its_code_gets_a_line():
    # 13001 is Aix-en-Provence's INSEE code and Marseille 1er's postcode; the name says Marseille
    listing = pd.DataFrame({"cpts": ["A", "A", "A"], "code_insee": ["13001", "13100", "13055"],
                            "commune": ["Marseille 1er", "Saint-Rémy-de-Provence", "Marseille"]})
    m = cg.read_members(listing)
    shown = m.attrs["postcode_doubts_shown"]
    assert list(m.attrs["postcode_doubts"]) == ["13001", "13100"]
    assert list(shown.notes) == ["13001"] and shown.reason == "name"  # 13100's name matches its code
    assert shown.notes["13001"].endswith("nom donné : « Marseille 1er »")
    text = cg.diagnose(m).text()
    assert "1 code INSEE qui est aussi un code postal (le nom de commune donné ne correspond pas au code" in text
    assert "13100" not in text.split("code postal (")[1]


def test_names_matching_the_insee_communes_keep_the_summary_quiet():
    listing = pd.DataFrame({"cpts": ["A", "A", "B", "B"], "code": ["13001", "13100", "13055", "04070"],
                            "commune": ["Aix-en-Provence (13)", "St-Rémy-de-Provence", "Marseille", "Forcalquier"]})
    m = cg.read_members(listing)
    assert list(m.attrs["postcode_doubts"]) == ["13001", "13100"]
    assert m.attrs["postcode_doubts_shown"].notes == {}
    assert "codes postaux" not in cg.diagnose(m).text()


def test_a_listing_that_looks_postal_gets_a_line():
    # half of the codes are postcodes of other communes and the column does not say INSEE
    listing = pd.DataFrame({"cpts": ["A", "A", "A", "B"], "code": ["13001", "13100", "13055", "04070"]})
    shown = cg.read_members(listing).attrs["postcode_doubts_shown"]
    assert list(shown.notes) == ["13001", "13100"] and shown.reason == "postal"
    share = postcodes.postal_share(listing["code"])
    assert share == pytest.approx(0.5) and share >= postcodes.LOOKS_POSTAL_SHARE
    # the same codes under a column that says INSEE: quiet
    insee = listing.rename(columns={"code": "code_insee"})
    assert cg.read_members(insee).attrs["postcode_doubts_shown"].notes == {}


def test_column_names_that_say_insee_or_postal():
    for name in ("code_insee", "Code INSEE", "CODGEO", "DEPCOM", "code commune INSEE"):
        assert postcodes.says_insee(name), name
    for name in ("code", "codes", "Code postal", "CP"):
        assert not postcodes.says_insee(name), name
    assert postcodes.says_postal("Code postal") and postcodes.says_postal("CP")
    assert not postcodes.says_postal("code_insee")
