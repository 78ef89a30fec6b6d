"""Every numeric option and argument is checked at the boundary (issue 13): API and CLI refuse a
value out of range with a French error naming the option and the value (exit 2), before any work."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

import cpts_geo as cg
from cpts_geo.cli import main
from cpts_geo.errors import InputError, OptionError
from cpts_geo.indicators.apl import compute_apl

APL_CSV = Path(__file__).resolve().parent / "fixtures" / "apl" / "apl_medecins_generalistes_2022.csv"


@pytest.mark.parametrize("option,value", [
    ("--steps", "inf:1"),        # was 24 GB of estimated pairs
    ("--steps", "nan:1"),
    ("--steps", "600:1,900:1"),  # seconds, not minutes
    ("--steps", "10:1/0"),
    ("--steps", "abc"),
    ("--speed", "0"), ("--speed", "-50"), ("--speed", "inf"),
    ("--detour", "0"), ("--detour", "0.9"), ("--detour", "nan"),
    ("--per", "0"), ("--per", "-1"), ("--per", "inf"),
])
def test_apl_cli_refuses_out_of_range_options(tmp_path, capsys, option, value):
    out = tmp_path / "apl.csv"
    assert main(["apl", option, value, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert option in err and "Traceback" not in err
    assert not out.exists()


def test_apl_cli_refuses_a_workbook_name(tmp_path, capsys):
    out = tmp_path / "apl.xlsx"
    assert main(["apl", "--out", str(out)]) == 2
    assert "--out" in capsys.readouterr().err and not out.exists()


@pytest.mark.parametrize("kwargs", [
    {"per": 0}, {"per": math.nan}, {"detour": 0.5}, {"speed_kmh": 0}, {"speed_kmh": -1},
    {"speed_kmh": math.inf}, {"steps": {math.inf: 1}}, {"steps": {121: 1}}, {"steps": {10: math.nan}},
])
def test_compute_apl_refuses_out_of_range_parameters(kwargs):
    with pytest.raises(OptionError):
        compute_apl(pd.Series({"04001": 1.0}), pd.Series({"04001": 100.0}),
                    pd.DataFrame({"from": ["04001"], "to": ["04001"], "minutes": [0.0]}), **kwargs)


@pytest.mark.parametrize("what", ["supply", "population"])
def test_compute_apl_refuses_infinite_values(what):
    series = {"supply": pd.Series({"04001": 1.0}), "population": pd.Series({"04001": 100.0})}
    series[what] = pd.Series({"04001": math.inf})
    with pytest.raises(ValueError, match="04001"):
        compute_apl(series["supply"], series["population"],
                    pd.DataFrame({"from": ["04001"], "to": ["04001"], "minutes": [0.0]}))


@pytest.mark.parametrize("args,option", [
    (["--threshold", "2"], "--threshold"), (["--threshold", "-1"], "--threshold"),
    (["--threshold", "0"], "--threshold"), (["--threshold", "nan"], "--threshold"),
    (["--departments", "ZZ"], "--departement"), (["--departement", "ZZ"], "--departement"),
])
def test_validate_refuses_bad_options(capsys, args, option):
    assert main(["validate", "04001,04004", *args]) == 2
    err = capsys.readouterr().err
    assert option in err and "Traceback" not in err


@pytest.mark.parametrize("name", ["propositon.csv", "liste/propositon", "proposition.geojson"])
def test_validate_missing_file_is_not_a_commune_name(capsys, name):
    assert main(["validate", name]) == 2
    err = capsys.readouterr().err
    assert "fichier introuvable" in err and name in err


@pytest.mark.parametrize("argv", [
    ["coverage", "absente.csv"], ["map", "absente.csv", "--html", "x.html"],
    ["normalise", "--file", "absente.csv"], ["apl", "--supply", "absente", "--out", "x.csv"],
])
def test_missing_input_files_exit_2(capsys, argv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert "introuvable" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_string_is_one_code():
    out = cg.normalise_codes("04001")
    assert len(out) == 1 and out["code"].tolist() == ["04001"]
    assert len(cg.normalise_codes(["04001", "04004"])) == 2


def test_negative_apl_or_population_refused(tmp_path):
    text = APL_CSV.read_text(encoding="utf-8").splitlines()
    for col, bad in ((2, "-1,0"), (5, "-480")):
        cells = text[1].split(";")
        cells[col] = bad
        f = tmp_path / f"apl_{col}.csv"
        f.write_text("\n".join([text[0], ";".join(cells), *text[2:]]) + "\n", encoding="utf-8")
        with pytest.raises(InputError, match=r"ligne 2.*négative"):
            cg.read_apl(f)
