"""The command line translates the Python parameter named by a library error into its flag, in
one table (``cpts_geo/cli/options.py``: ``PARAMETER_FLAGS``, ``flag_message``)."""

from __future__ import annotations

import argparse

import pytest

from cpts_geo.cli import build_parser, main
from cpts_geo.cli.options import PARAMETER_FLAGS, flag_message
from cpts_geo.errors import InputError, OptionError

SAMPLE = "examples/cpts_paca_sample/cpts_04_05_84.csv"


def test_a_parameter_is_printed_as_its_flag():
    exc = OptionError("by", "commune", "niveau inconnu (departement, epci ou bv)")
    assert flag_message(exc, "map") == "option --par : niveau inconnu (departement, epci ou bv) (valeur « commune »)"
    assert flag_message(OptionError("departments", "99", "inconnu"), "coverage").startswith("option --departement : ")


def test_a_command_can_give_a_parameter_its_own_flag():
    assert flag_message(OptionError("apl", "x.csv", "illisible"), "validate").startswith("option --apl : ")
    assert flag_message(OptionError("existing", "x", "illisible"), "app").startswith("option --existing : ")


def test_flags_raised_by_the_cli_and_other_errors_are_unchanged():
    assert flag_message(OptionError("--port", 0, "hors limites"), "app") == "option --port : hors limites (valeur « 0 »)"
    exc = InputError("code inconnu", "liste.csv", 3, "99999")
    assert flag_message(exc, "coverage") == str(exc)
    unknown = OptionError("stem", "", "texte non vide attendu")  # no flag: the parameter stays
    assert flag_message(unknown, "map") == str(unknown)


def _flags(parser: argparse.ArgumentParser) -> set[str]:
    out = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                out |= _flags(sub)
        out |= {o for o in action.option_strings if o.startswith("--")}
    return out


def test_every_flag_of_the_table_exists_in_the_command_line():
    flags = _flags(build_parser())
    assert not {f for f in PARAMETER_FLAGS.values()} - flags


@pytest.mark.parametrize(("argv", "expected"), [
    (["map", SAMPLE, "--color-by", "taux_couverture", "--etape", "aci", "--html", "c.html"],
     "erreur : option --etape : la liste ne donne pas le stade des CPTS"),
    (["coverage", SAMPLE, "--region", "11", "--out", "sortie"],
     "erreur : option --region : aucune CPTS de la liste n'a de commune dans la zone analysée"),
    (["map", SAMPLE, "--color-by", "colonne_absente", "--html", "c.html"],
     "erreur : option --color-by : colonne absente des périmètres"),
])
def test_the_cli_prints_the_flag_of_a_library_error(capsys, tmp_path, monkeypatch, argv, expected):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "examples").symlink_to(__import__("pathlib").Path(__file__).resolve().parent.parent / "examples")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(expected) and "paramètre" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["examples"]
