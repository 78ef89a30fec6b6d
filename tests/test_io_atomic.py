"""Atomic output folder (issue 13): a run's files appear as a whole set or not at all; the
previous run's set is replaced as a whole; files no cpts_geo run wrote are never deleted and a
folder holding them is refused unless --force / overwrite=True. Real PACA sample, real writers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import cpts_geo
import cpts_geo.io.atomic as atomic
import cpts_geo.io.outputs as outputs
from cpts_geo.cli import main
from cpts_geo.errors import OutputError

ROOT = Path(__file__).resolve().parent.parent
#: the table files (maps=False) written by Diagnosis.write, summary.json included
TABLES = {"summary.json", "perimeters.gpkg", "white_zones.gpkg", "overlaps.csv", "overlap_pairs.csv",
          "diagnostic_cpts.xlsx"}


@pytest.fixture(scope="module")
def diag(sample_listing):
    return cpts_geo.diagnose(cpts_geo.read_members(sample_listing))


def _listed(folder: Path) -> dict[str, int | None]:
    summary = json.loads((folder / "summary.json").read_text("utf-8"))
    return {f["name"]: f["size"] for f in summary["files"]}


def _assert_complete(folder: Path) -> dict:
    """Every file summary.json lists is there with the listed size; nothing else of a run."""
    listed = _listed(folder)
    for name, size in listed.items():
        assert (folder / name).is_file(), name
        if size is not None:
            assert (folder / name).stat().st_size == size, name
    return json.loads((folder / "summary.json").read_text("utf-8"))


def test_summary_lists_the_files_and_no_temporary_left(diag, tmp_path):
    out = tmp_path / "out"
    paths = diag.write(out, classify=False, maps=False)
    assert set(_listed(out)) == TABLES == {p.name for p in out.iterdir()}
    assert {p.parent for p in paths.values()} == {out}
    _assert_complete(out)
    # the temporary folder beside the target is gone
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_previous_set_replaced_as_a_whole_other_files_kept(diag, tmp_path):
    out = tmp_path / "out"
    diag.write(out, classify=False, maps=True)
    assert "carte_couverture.html" in _listed(out)
    (out / "notes.txt").write_text("mes notes", encoding="utf-8")
    # a folder holding a file no run wrote is refused, before anything is written
    with pytest.raises(OutputError, match="notes.txt"):
        diag.write(out, classify=False, maps=False)
    assert "carte_couverture.html" in _listed(out)
    # with overwrite: the new set replaces the whole previous one (maps of the previous run
    # removed, since this run writes none), the user's file is kept
    diag.write(out, classify=False, maps=False, overwrite=True)
    assert {p.name for p in out.iterdir()} == TABLES | {"notes.txt"}
    assert (out / "notes.txt").read_text("utf-8") == "mes notes"
    _assert_complete(out)


def test_cli_refuses_a_foreign_folder_exit_2(sample_listing, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "rapport ARS.docx").write_bytes(b"x")
    assert main(["coverage", str(sample_listing), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "rapport ARS.docx" in err and "--force" in err and "Traceback" not in err
    assert [p.name for p in out.iterdir()] == ["rapport ARS.docx"]
    # a path that is a file
    assert main(["coverage", str(sample_listing), "--out", str(out / "rapport ARS.docx")]) == 2
    assert "est un fichier" in capsys.readouterr().err


def test_writer_failing_midway_keeps_the_previous_set(diag, tmp_path, monkeypatch):
    out = tmp_path / "out"
    diag.write(out, classify=False, maps=False)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(*args, **kwargs):
        raise RuntimeError("disque plein simulé")

    monkeypatch.setattr(outputs, "_write_workbook", broken)  # after summary, gpkg and csv
    with pytest.raises(RuntimeError):
        diag.write(out, classify=False, maps=False)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


@pytest.mark.parametrize("phase", ["moving the previous set aside", "moving the new set in"])
def test_file_held_open_while_moving_restores_the_previous_set(diag, tmp_path, monkeypatch, phase):
    """A workbook open in Excel (Windows) cannot be moved: French error, previous set back."""
    out = tmp_path / "out"
    diag.write(out, classify=False, maps=False)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real = os.replace

    def replace(src, dst):
        src, dst = Path(src), Path(dst)
        if phase == "moving the previous set aside":
            fail = src == out / "diagnostic_cpts.xlsx"
        else:  # from the temporary folder, not back from its backup of the previous set
            fail = dst == out / "diagnostic_cpts.xlsx" and src.parent.name != atomic.BACKUP
        if fail:
            raise PermissionError(13, "Permission denied", str(dst))
        return real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    with pytest.raises(OutputError, match="ouvert dans un autre programme"):
        diag.write(out, classify=False, maps=False)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


KILL_SCRIPT = """
import sys, cpts_geo
first = cpts_geo.read_members(sys.argv[1])
d = cpts_geo.diagnose(first)
print("ready", flush=True)
d.write(sys.argv[2], classify=True, maps=True)
print("done", flush=True)
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_killed_run_leaves_previous_or_new_complete_set(diag, sample_listing, tmp_path, sig):
    """A second run writing into the same folder is killed at several moments (after
    0 and 1.5 s of writing, and never): each time the folder holds a complete set, the
    previous one (tables only, no maps) or the new one (with maps)."""
    out = tmp_path / "out"
    diag.write(out, classify=False, maps=False)
    previous = _listed(out)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    outcomes = []
    for delay in (0.0, 1.5, None):
        proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(sample_listing), str(out)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        assert proc.stdout.readline().strip() == "ready"
        if delay is not None:
            time.sleep(delay)
            proc.send_signal(sig)
        proc.communicate(timeout=300)
        listed = _listed(out)
        _assert_complete(out)
        assert set(listed) in (set(previous), TABLES | {"carte_couverture.html", "carte_couverture.png",
                                                         "carte_couverture.pdf"})
        assert {p.name for p in out.iterdir()} == set(listed)
        outcomes.append("new" if "carte_couverture.html" in listed else "previous")
        if delay is not None and outcomes[-1] == "new":  # back to the previous set for the next kill
            diag.write(out, classify=False, maps=False)
    assert outcomes[0] == "previous" and outcomes[-1] == "new"
    # no temporary folder left beside the target after SIGTERM (cleaned up); SIGKILL may leave one
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "out"]
    if sig == signal.SIGTERM:
        assert leftovers == []
    assert all(atomic.STAGING_MARK in name for name in leftovers)


def test_output_file_replaces_in_one_rename(tmp_path):
    path = tmp_path / "apl.csv"
    path.write_text("ancien", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic.output_file(path) as tmp:
        tmp.write_text("nouveau à moi", encoding="utf-8")
        raise RuntimeError("échec au milieu")
    assert path.read_text("utf-8") == "ancien" and [p.name for p in tmp_path.iterdir()] == ["apl.csv"]
    with atomic.output_file(path) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".csv"
        tmp.write_text("nouveau", encoding="utf-8")
    assert path.read_text("utf-8") == "nouveau" and [p.name for p in tmp_path.iterdir()] == ["apl.csv"]
    with pytest.raises(OutputError, match="dossier"), atomic.output_file(tmp_path):
        pass
