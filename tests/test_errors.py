"""Errors of the library (``cpts_geo/errors.py``) name the Python parameter; only the command
line speaks of flags, through the one table of ``cpts_geo/cli/options.py``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import cpts_geo as cg
from cpts_geo.errors import OptionError, option_label

PACKAGE = Path(cg.__file__).resolve().parent
SAMPLE = "examples/cpts_paca_sample/cpts_04_05_84.csv"


@pytest.fixture(scope="module")
def diagnosis():
    return cg.diagnose(SAMPLE)


def test_an_option_error_names_a_parameter_or_a_flag():
    assert str(OptionError("by", "commune", "niveau inconnu")) == \
        "paramètre `by` : niveau inconnu (valeur « commune »)"
    assert str(OptionError("--port", 0, "un numéro entre 1 et 65535 est attendu")) == \
        "option --port : un numéro entre 1 et 65535 est attendu (valeur « 0 »)"
    assert option_label("paper") == "paramètre `paper`" and option_label("--paper") == "option --paper"


@pytest.mark.parametrize(("call", "expected"), [
    (lambda d: cg.coverage_rates(d, by="commune"), "paramètre `by` : niveau inconnu"),
    (lambda d: cg.coverage_rates(d, stage="signée"), "paramètre `stage` : étape inconnue"),
    (lambda d: cg.coverage_rates(d, stage="aci"), "paramètre `stage` : la liste ne donne pas le stade"),
    (lambda d: cg.static_map(d, paper="A5"), "paramètre `paper` : format de papier inconnu"),
    (lambda d: cg.diagnose(SAMPLE, region="11"), "paramètre `region` : aucune CPTS de la liste"),
    (lambda d: cg.read_members(SAMPLE, code_type="siren"), "paramètre `code_type` : valeurs possibles"),
    (lambda d: cg.write_diagnosis(d, "sortie", csv_format="excel"), "paramètre `csv_format` : attendu"),
])
def test_library_errors_name_the_python_parameter_never_a_flag(diagnosis, call, expected):
    with pytest.raises(cg.OptionError) as err:
        call(diagnosis)
    assert str(err.value).startswith(expected)
    assert "--" not in str(err.value)


def _flag_options_outside_the_cli() -> list[str]:
    """``OptionError("--flag", …)`` written anywhere in the library but the CLI."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "cli" in path.relative_to(PACKAGE).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "OptionError" and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and str(first.value).startswith("-"):
                    found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {first.value}")
    return found


def test_no_library_module_raises_an_option_error_about_a_flag():
    assert _flag_options_outside_the_cli() == []
