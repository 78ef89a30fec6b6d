"""Anticipated failures of the library raise a CptsGeoError subclass with a French message
naming the source or option and the value (issue 10, "one error type")."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import cpts_geo as cg
from cpts_geo.io.tables import read_geofile


def test_diagnose_of_a_listing_emptied_by_the_stage_filter_is_an_input_error():
    m = pd.DataFrame({"cpts": ["A"], "code": ["04070"], "stage": ["Projet"]})
    with pytest.raises(cg.InputError, match="aucune CPTS à analyser") as err:
        cg.diagnose(m, stages=["Contrat signé"])
    assert "aucune CPTS de la liste n'est au stade demandé (ACI signé)" in str(err.value)


def test_a_listing_of_unknown_codes_only_names_rows_and_values(tmp_path):
    """Nothing left to analyse: the error names the file, the first refused rows and their values,
    and counts the others (never a bare « liste vide »)."""
    listing = tmp_path / "inconnus.csv"
    listing.write_text("cpts;code\nA;99999\nA;Zzyzx\nB;98765\nB;97999\n", encoding="utf-8")
    with pytest.raises(cg.InputError) as err:
        cg.diagnose(cg.read_members(listing))
    text = str(err.value)
    assert text.startswith("inconnus.csv : aucune CPTS à analyser : aucun code de la liste n'est reconnu")
    assert "ligne 2 : « 99999 » (code 99999 absent du COG 2026" in text
    assert "ligne 3 : « Zzyzx » (" in text and "ligne 4 : « 98765 »" in text
    assert text.endswith("et 1 autre valeur refusée")


def test_diagnose_of_a_table_without_the_listing_columns_is_an_input_error():
    with pytest.raises(cg.InputError, match="« cpts » et « code »"):
        cg.diagnose(pd.DataFrame({"x": [1]}))


def test_normalise_codes_with_deps_of_another_length_is_an_option_error():
    with pytest.raises(cg.OptionError, match="paramètre `deps` : autant de départements que de codes"):
        cg.normalise_codes(["04070", "05061"], deps=["04"])


def test_apl_options_and_inputs_are_typed_errors():
    with pytest.raises(cg.OptionError, match="paramètre `steps` : bornes > 0 et poids ≥ 0 attendus"):
        cg.compute_apl(steps={0: 1.0})
    with pytest.raises(cg.OptionError, match="paramètre `steps` : .*profession « infirmier »"):
        cg.compute_apl(profession="infirmier")
    with pytest.raises(cg.InputError, match="code présent plusieurs fois \\(valeur « 04070 »\\)"):
        cg.compute_apl(pd.Series([1.0, 2.0], index=["04070", "4070"]), pd.Series({"04070": 10.0}))


def test_an_unreadable_geographic_file_names_the_file(tmp_path):
    bad = tmp_path / "cpts.geojson"
    bad.write_text("{ pas du GeoJSON", encoding="utf-8")
    with pytest.raises(cg.MembersError, match=r"cpts\.geojson : fichier géographique illisible"):
        read_geofile(bad, error=cg.MembersError)
    with pytest.raises(cg.MembersError, match=r"cpts\.geojson : fichier géographique illisible"):
        cg.read_members(bad)


def test_a_geographic_file_geos_refuses_names_the_file():
    bad = Path(__file__).parent / "fixtures" / "bad" / "unclosed_ring.geojson"
    with pytest.raises(cg.MembersError, match=r"unclosed_ring\.geojson : fichier géographique illisible"):
        cg.read_members(bad)
