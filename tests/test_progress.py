"""Progress of the long CLI steps on stderr: French step lines on a terminal (or when forced),
nothing when stderr is redirected (issue 13: "no four silent minutes"). The library never prints."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from cpts_geo.cli import main
from cpts_geo.cli.progress import ENV, Progress, enabled

SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "cpts_paca_sample" / "cpts_04_05_84.csv"


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_quiet_when_not_a_terminal(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    stream = io.StringIO()  # a redirected stderr: isatty() is False
    assert not enabled(stream)
    p = Progress(stream)
    with p.step("lecture de la liste"):
        pass
    assert stream.getvalue() == ""


def test_french_step_lines_on_a_terminal(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    stream = _Tty()
    p = Progress(stream)
    assert p.active
    with p.step("diagnostic de couverture"):
        pass
    lines = stream.getvalue().splitlines()
    assert lines[0] == "… diagnostic de couverture"
    # the time with a decimal comma, never a point
    assert re.fullmatch(r"… diagnostic de couverture : terminé en \d+,\d s.*", lines[1]), lines[1]


@pytest.mark.parametrize("value,expected", [("1", True), ("0", False)])
def test_environment_variable_forces_it(monkeypatch, value, expected):
    monkeypatch.setenv(ENV, value)
    assert enabled(io.StringIO()) is expected
    assert enabled(_Tty()) is expected


def test_coverage_cli_prints_its_steps_only_when_asked(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv(ENV, raising=False)
    assert main(["coverage", str(SAMPLE)]) == 0
    quiet = capsys.readouterr()
    assert not re.search(r"^… ", quiet.err, re.M)  # pytest's captured stderr is not a terminal
    monkeypatch.setenv(ENV, "1")
    out = tmp_path / "out"
    assert main(["coverage", str(SAMPLE), "--out", str(out)]) == 0
    loud = capsys.readouterr()
    steps = re.findall(r"^… (.+) : terminé en \d+,\d s", loud.err, re.M)
    assert steps[:3] == ["lecture de la liste", "diagnostic de couverture", "classification des CPTS"]
    assert "écriture des tableaux (GeoPackage, CSV, classeur Excel)" in steps
    assert "carte interactive (HTML)" in steps and "carte imprimable (PDF)" in steps
    assert loud.out.startswith(quiet.out)  # stdout holds the same summary
    assert not re.search(r"^… ", loud.out, re.M)  # progress never goes to stdout


def test_map_cli_announces_each_map(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv(ENV, "1")
    assert main(["map", str(SAMPLE), "--html", str(tmp_path / "c.html"), "--png", str(tmp_path / "c.png")]) == 0
    steps = re.findall(r"^… (.+) : terminé en \d+,\d s", capsys.readouterr().err, re.M)
    assert steps == ["lecture de la liste", "diagnostic de couverture", "classification des CPTS",
                     "carte : simplification des contours", "carte interactive (HTML)", "carte imprimable : dessin",
                     "carte imprimable (PNG)"]
