"""A single code that is an INSEE code and the postcode of another commune is read as the INSEE
code and flagged one by one (issue 13), in the report rows, the summary and the validation
report; a listing of such codes is refused as a whole (tests/test_bad_inputs.py)."""

from __future__ import annotations

import pandas as pd

import cpts_geo as cg

# 13001: INSEE code of Aix-en-Provence, postcode of Marseille 1er arrondissement (the example of
# the issue); 13100: INSEE code of Saint-Rémy-de-Provence, postcode of Aix-en-Provence (La Poste);
# 13055 (Marseille) and 04070 (Forcalquier, postcode 04300) are INSEE codes only
LISTING = pd.DataFrame({"cpts": ["A", "A", "A", "B"], "code": ["13001", "13100", "13055", "04070"]})


def test_codes_also_postcodes_are_flagged_one_by_one():
    m = cg.read_members(LISTING)
    assert sorted(m["code"]) == ["04070", "13001", "13055", "13100"]  # read as INSEE codes
    notes = m.attrs["postcode_doubts"]
    assert list(notes) == ["13001", "13100"]
    assert notes["13001"] == ("13001 lu comme code INSEE (Aix-en-Provence), mais aussi code postal desservant "
                              "Marseille 1er Arrondissement")
    assert notes["13100"].startswith("13100 lu comme code INSEE (Saint-Rémy-de-Provence), mais aussi code "
                                     "postal desservant Aix-en-Provence")
    rep = m.attrs["report"].set_index("input")
    assert rep.loc["13001", "postcode_doubt"] and rep.loc["13001", "message"] == notes["13001"]
    assert not rep.loc["13055", "postcode_doubt"] and not rep.loc["04070", "postcode_doubt"]


def test_summary_and_text_name_each_flagged_code():
    d = cg.diagnose(cg.read_members(LISTING))
    assert list(d.summary["postcode_doubts"]) == ["13001", "13100"]
    text = d.text()
    assert "2 codes INSEE qui sont aussi des codes postaux" in text
    assert "13001 lu comme code INSEE (Aix-en-Provence), mais aussi code postal desservant Marseille 1er" in text


def test_code_type_insee_is_the_users_decision_and_not_flagged():
    m = cg.read_members(LISTING, code_type="insee")
    assert m.attrs["postcode_doubts"] == {}
    assert "13001" in set(m["code"])


def test_validation_report_lists_the_code_among_interpreted_values():
    report = cg.validate_territory(["13001", "13003", "13103"])
    # 13003 Alleins / postcode of Marseille 3e; 13103 Salon-de-Provence / postcode of Mas-Blanc-des-Alpilles
    check = report.check("interpreted_inputs")
    assert not check.passed and check.severity == "info"
    assert "13001 lu comme code INSEE (Aix-en-Provence), mais aussi code postal desservant Marseille 1er" \
        in check.message
    assert {v["input"] for v in check.details["values"]} == {"13001", "13003", "13103"}
    assert report.check("unknown_codes").passed  # the codes are counted, not refused
