"""A code or check id that does not exist is a French CptsGeoError naming the value, not a bare
KeyError (issue 13); it stays a KeyError for callers that catch one."""

from __future__ import annotations

import pytest

import cpts_geo as cg
from cpts_geo.errors import CptsGeoError, NotFoundError


@pytest.fixture(scope="module")
def sample_diag(sample_listing):
    return cg.diagnose(cg.read_members(sample_listing), departments=["04", "05", "84"])


def test_lookup_of_an_unknown_code_names_the_value(sample_diag):
    # 04999: no commune of the Alpes-de-Haute-Provence has that number (the COG stops at 04245)
    with pytest.raises(NotFoundError) as e:
        sample_diag.lookup("04999")
    msg = str(e.value)
    assert msg.startswith("04999 : commune introuvable"), msg
    assert "'" not in msg[:6]  # not the quoted repr of a KeyError
    assert isinstance(e.value, CptsGeoError) and isinstance(e.value, KeyError)


def test_lookup_of_a_commune_outside_the_area_and_the_listing(sample_diag):
    # 75056 Paris: a real commune, outside the three departments of the sample
    with pytest.raises(cg.CptsGeoError, match="^75056 : cette commune n'est ni dans la zone analysée"):
        sample_diag.lookup("75056")
    # a name is normalised first; the message shows what was asked and the code it was read as
    with pytest.raises(cg.CptsGeoError, match=r"^Nice \(06\) \(06088\) : cette commune n'est ni"):
        sample_diag.lookup("Nice (06)")


def test_report_check_of_an_unknown_id_lists_the_checks():
    report = cg.validate_territory(["04070", "04001"])
    assert report.check("duplicates").id == "duplicates"
    with pytest.raises(cg.CptsGeoError) as e:
        report.check("doublons")
    msg = str(e.value)
    assert msg.startswith("doublons : aucun contrôle de cet identifiant"), msg
    assert "duplicates" in msg and "overlap" in msg
    with pytest.raises(KeyError):
        report["doublons"]
