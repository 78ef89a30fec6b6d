"""Which reference made a figure, and which populations are not of the stated vintage."""

from __future__ import annotations

import json

import pandas as pd

import cpts_geo as cg
from cpts_geo import reference


def _mayotte_and_04():
    m = pd.DataFrame({"cpts": ["CPTS Mayotte Nord"] * 3 + ["CPTS Forcalquier"],
                      "code": ["97601", "97602", "97603", "04088"]})
    return cg.diagnose(cg.read_members(m))


def test_mayotte_population_vintage_is_stated():
    d = _mayotte_and_04()
    notes = d.summary["population_notes"]
    # Mayotte's legal population in force is the 2017 census: 256 518 inhabitants in 17 communes
    # (INSEE, populations légales en vigueur); the 04 commune is of the stated vintage (2023)
    assert len(notes) == 1
    assert notes[0]["population"] == 256_518 and len(notes[0]["codes"]) == 17
    assert "2017" in notes[0]["population_source"]
    assert "04088" not in notes[0]["codes"]
    text = d.text()
    assert "17 communes avec une population d'un autre millésime" in text
    assert "256\u202f518 habitants" in text


def test_no_note_when_every_population_is_of_the_vintage(sample_listing):
    d = cg.diagnose(cg.read_members(sample_listing))
    assert d.summary["population_notes"] == []
    assert "autre millésime" not in d.text()


def test_outputs_cite_version_and_reference_build(sample_listing, tmp_path):
    d = cg.diagnose(cg.read_members(sample_listing))
    build = json.loads((reference.data_dir() / "communes" / "build_report.json").read_text())
    assert d.summary["reference_build"] == build["build_id"]
    assert d.summary["cpts_geo_version"] == cg.__version__
    assert build["build_id"] in d.text()


def test_validation_states_mayotte_population_vintage():
    from cpts_geo.validation import validate_territory

    msg = validate_territory(["97601", "97602"])["size_band"].message
    assert "Attention : 2 communes du territoire ont une population d'un autre millésime : " \
           "recensement 2017 (population légale en vigueur)." in msg
    one = validate_territory(["97601"])["size_band"]
    assert "1 commune du territoire a une population d'un autre millésime" in one.message
    assert one.details["population_other_vintages"] == {
        "recensement 2017 (population légale en vigueur)": ["97601"]}
    assert "autre millésime" not in validate_territory(["04088"])["size_band"].message


def test_map_credits_and_popups_state_other_vintages(sample_listing):
    from cpts_geo.maps.interactive import _other_vintage_sources, _other_vintages, credits_text

    d = _mayotte_and_04()
    credits = credits_text(d.meta)
    assert "(sauf 17 communes : recensement 2017 (population légale en vigueur))" in credits
    assert d.summary["reference_build"] in credits
    per = d.perimeters.set_index("cpts")
    # the three listed Mayotte communes (97601-97603) carry the 2017 census; Forcalquier 2023
    assert _other_vintages(tuple(per.at["CPTS Mayotte Nord", "codes"]), _other_vintage_sources()) == {
        "recensement 2017 (population légale en vigueur)": 3}
    assert _other_vintages(tuple(per.at["CPTS Forcalquier", "codes"]), _other_vintage_sources()) == {}
    sample = cg.diagnose(cg.read_members(sample_listing))
    assert "sauf" not in credits_text(sample.meta)
