"""The declarative check catalogue of the validation report, its severity vocabulary, its docs
table (generated) and the French of its messages, on the real proposals of tests/fixtures.

Run ``PYTHONPATH=. python tests/test_validation_catalogue.py`` to regenerate the table of docs/validation.md.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cpts_geo.errors import OptionError
from cpts_geo.validation import ExistingListing, checks, validate_territory

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "validation.md"
FIX = ROOT / "tests" / "fixtures" / "proposals"
BEGIN = "<!-- checks table: generated"
END = "<!-- end of checks table -->"


def _doc_table(text: str) -> str:
    start = text.index(BEGIN)
    start = text.index("\n", start) + 1
    return text[start:text.index(END)]


@pytest.fixture(scope="module")
def listing(sample_listing):
    return ExistingListing(sample_listing)


@pytest.fixture(scope="module")
def reports(listing):
    names = ("clean.csv", "enclave.csv", "overlap.csv", "cross_region.csv", "codes.txt", "drawn.geojson")
    out = {n: validate_territory(FIX / n, listing) for n in names}
    out["no listing"] = validate_territory(FIX / "clean.csv")
    out["empty"] = validate_territory(["04999"], listing)
    return out


def test_docs_table_is_the_catalogue():
    assert _doc_table(DOC.read_text(encoding="utf-8")) == checks.catalogue_markdown(), (
        "docs/validation.md is out of date: run python tests/test_validation_catalogue.py")


def test_catalogue_declares_each_check_once():
    ids = [spec.id for spec in checks.CATALOGUE]
    assert len(ids) == len(set(ids)) == 21
    assert all(spec.severity in ("blocking", "warning", "info") for spec in checks.CATALOGUE)
    assert {spec.id for spec in checks.CATALOGUE if spec.severity == "blocking"} == {
        "territory_empty", "unknown_codes", "overlap"}


def test_reports_follow_the_catalogue(reports):
    order = {spec.id: k for k, spec in enumerate(checks.CATALOGUE)}
    for name, r in reports.items():
        ids = [c.id for c in r.checks]
        assert ids == sorted(ids, key=order.__getitem__), name
        for c in r.checks:
            # title and severity as declared (severities a check may lower are documented)
            assert c.title == checks.CHECKS[c.id].title, (name, c.id)
            assert c.severity in checks.SEVERITIES
            if not checks.CHECKS[c.id].severity_note:
                assert c.severity == checks.CHECKS[c.id].severity, (name, c.id)
    # a territory without any recognised commune runs no size or profile check
    assert [c.id for c in reports["empty"].checks][:2] == ["territory_empty", "unknown_codes"]
    assert "size_band" not in {c.id for c in reports["empty"].checks}
    assert reports["empty"].figures["n_parts"] == 0


def test_figures_come_from_the_checks(reports):
    r = reports["clean.csv"]
    assert r.figures["n_parts"] == 1
    assert r.figures["dens_dominant"] == r["density_profile"].details["dominant"]
    assert r.figures["aav_dominant"] == r["aav_profile"].details["dominant"]
    assert r.figures["white_population_absorbed"] == r["white_zone_absorbed"].details["absorbed_population"]
    assert "apl_mean" not in r.figures  # no APL file given
    declared = {fig for spec in checks.CATALOGUE for fig, _ in spec.figures}
    assert declared - set(r.figures) == {"apl_mean", "apl_population_share_below_2_5"}


def test_one_severity_vocabulary():
    assert checks.parse_severity("Avertissement") == "warning"
    assert checks.parse_severity("bloquant") == "blocking"
    assert checks.parse_severity("INFO") == "info"
    with pytest.raises(OptionError, match="overlap"):
        checks.parse_severity("souple", "overlap")
    assert checks.LEVEL_LABELS == {"blocking": "Bloquant", "warning": "Avertissement", "ok": "Conforme",
                                   "info": "Information"}
    ranks = sorted(checks.LEVELS, key=lambda k: checks.LEVELS[k].rank)
    assert ranks == ["blocking", "warning", "ok", "info"]


def test_verdict_agrees_in_number(reports):
    # codes.txt: one blocking check (unknown_codes); warnings for obsolete codes and duplicates
    v = reports["codes.txt"].to_dict()["verdict"]
    assert v.startswith("1 point bloquant à corriger"), v
    assert "(s)" not in v


def test_messages_are_french_without_s_in_brackets(reports):
    """Real plurals and French numbers in every message of every proposal."""
    for name, r in reports.items():
        for text in [r.text(), r.to_markdown(), *(c.message for c in r.checks)]:
            assert "(s)" not in text, (name, re.findall(r".{40}\(s\).{0,20}", text)[:3])
    # thousands with a narrow no-break space (16 380 inhabitants in the clean proposal)
    clean = reports["clean.csv"]
    assert clean.figures["population"] == 16380
    assert "16\u202f380 habitants" in clean["size_band"].message and "16\u202f380 habitants" in clean.text()


def _regenerate() -> None:
    text = DOC.read_text(encoding="utf-8")
    old = _doc_table(text)
    DOC.write_text(text.replace(old, checks.catalogue_markdown(), 1), encoding="utf-8")
    print(f"{DOC}: table of checks regenerated")


if __name__ == "__main__":
    _regenerate()
