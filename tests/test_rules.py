"""Business rules (cpts_geo.rules): the ACI operating funding in force and its sources, the figures
that are not operating funding kept apart, as every output prints them."""

from __future__ import annotations

import json

import pytest

import cpts_geo as cg
from cpts_geo import fr, rules
from cpts_geo.cli import main

TRIO = ["04088", "04111", "04138"]  # Forcalquier, Mane, Niozelles: 6 906 inhabitants, taille 1


def test_the_parameter_file_is_versioned_with_its_vintage():
    params = rules.aci_parameters()
    assert params["version"] == "2026.3"
    assert "21 août 2019" in params["vintage"]["amounts_of"]
    assert "Sénat" in params["vintage"]["in_force_by"] and "2025-2026" in params["vintage"]["in_force_by"]
    assert [f["version_key"] for f in params["funding"]] == ["2019"] and params["current_funding"] == "2019"
    # the start-up figures are kept, as what they are, never among the funding versions
    startup = params["not_operating_funding"][0]
    assert startup["amounts"] == {"1": 87500, "2": 105000, "3": 131250, "4": 157500}
    assert "Le Pharmacien de France" in startup["source"] and "non relue" in startup["status"]
    meta = cg.classify(TRIO).attrs["classification"]
    assert meta["aci_parameters_version"] == "2026.3" and meta["aci_parameters_vintage"] == params["vintage"]


def test_aci_funding_of_taille_1_is_the_2019_annual_envelope_in_force():
    assert rules.aci_funding([1]).tolist() == [50_000]
    assert rules.aci_funding([1, 2, 3, 4]).tolist() == [50_000, 60_000, 75_000, 90_000]
    source = rules.aci_funding_source()
    assert source.startswith("ACI CPTS du 20 juin 2019, approuvé par l'arrêté du 21 août 2019")
    assert "NOR SSAS1924409A" in source
    assert "« l'enveloppe est comprise entre 50 000 et 90 000 euros »" in source
    assert rules.aci_funding_source(short=True) == ("arrêté du 21 août 2019 ; en vigueur selon le rapport du "
                                                    "Sénat n° 32 (2025-2026)")
    with pytest.raises(cg.OptionError, match="paramètre `version` : montants ACI disponibles : 2019"):
        rules.aci_funding([1], version="2022")


def test_the_startup_note_says_what_the_87_500_figures_are():
    note = rules.aci_startup_note()
    assert note.startswith("87\u202f500 / 105\u202f000 / 131\u202f250 / 157\u202f500 € : pas un financement "
                           "annuel de fonctionnement, mais une enveloppe d'amorçage proposée par la CNAM")
    assert "+75 %" in note and "31 décembre 2021" in note and "Le Pharmacien de France, novembre 2020" in note
    assert "jamais appliquée par cpts_geo" in note


def test_validate_and_the_app_json_give_the_operating_envelope_alone(sample_listing, tmp_path, capsys):
    # cpts-geo app serves exactly what validate --json writes (tests/test_app.py)
    out = tmp_path / "rapport.json"
    assert main(["validate", ",".join(TRIO), "--existing", str(sample_listing), "--json", str(out)]) in (0, 1)
    capsys.readouterr()
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["figures"]["aci_band"] == 1 and report["figures"]["aci_funding_eur"] == 50_000
    assert report["meta"]["aci_funding"] == rules.aci_funding_source()
    assert "data/" not in report["meta"]["aci"] and "21 août 2019" in report["meta"]["aci"]
    text = json.dumps(report, ensure_ascii=False)
    assert "87 500" not in text and "87500" not in text and "avenant" not in text
    # the text report: the same amount, with the short source
    r = cg.validate_territory(TRIO, sample_listing)
    assert f"{fr.euros(50_000)} par an selon la taille (arrêté du 21 août 2019" in r.text()
