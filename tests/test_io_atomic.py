"""Output folders and files (cpts_geo.io.atomic): a run deletes or replaces only files its
manifest proves a cpts_geo run wrote, never an input; its files appear complete or not at all;
a run killed in the middle of the swap is finished by the next one.

Real sample listing (its Hautes-Alpes part, so each write takes well under a second), real
writers. The kill tests fork this process after the diagnosis is built and kill the child at the
chosen instant of the swap through the ``atomic.on_event`` hook: no new interpreter per kill.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
from pathlib import Path

import pytest

import cpts_geo
import cpts_geo.io.atomic as atomic
import cpts_geo.io.outputs as outputs
from cpts_geo.errors import OutputError
from cpts_geo.io.manifest import TOOL, read_manifest

#: the table files (maps=False) a diagnosis writes, summary.json included
TABLES = set(outputs.TABLE_NAMES)


@pytest.fixture(scope="module")
def diag(sample_listing):
    return cpts_geo.diagnose(cpts_geo.read_members(sample_listing), departments=["05"])


@pytest.fixture(scope="module")
def previous_run(diag, tmp_path_factory):
    """A folder holding a complete previous run (international CSV, so that its set can be told
    from a new run's, written with the French CSV)."""
    base = tmp_path_factory.mktemp("previous") / "out"
    diag.write(base, classify=False, maps=False, csv_format="international")
    return base


def _copy_of(previous_run: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(previous_run, out)
    return out


def _write_new(diag, out: Path) -> None:
    diag.write(out, classify=False, maps=False, csv_format="fr")


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text("utf-8"))


def _which_set(folder: Path) -> str:
    """"previous" or "new" when the folder holds one complete set (every listed file present
    with its listed hash, nothing else); raises AssertionError otherwise."""
    summary = _manifest(folder)
    listed = {f["name"]: f["sha256"] for f in summary["files"]}
    assert set(listed) == {p.name for p in folder.iterdir()} == TABLES
    for name, digest in listed.items():
        if name != "summary.json":
            assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
    header = (folder / "overlaps.csv").read_text("utf-8-sig").splitlines()[0]
    return "new" if ";" in header else "previous"


def _beside(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name != out.name)


def test_summary_lists_every_file_with_its_sha256_and_the_tool_name(diag, tmp_path):
    out = tmp_path / "out"
    paths = diag.write(out, classify=False, maps=False)
    summary = _manifest(out)
    assert summary["tool"] == TOOL == "cpts_geo"
    assert [f["name"] for f in summary["files"]][-1] == "summary.json"
    for f in summary["files"][:-1]:
        data = (out / f["name"]).read_bytes()
        assert f["sha256"] == hashlib.sha256(data).hexdigest() and f["size"] == len(data)
    assert {p.parent for p in paths.values()} == {out}
    # no bookkeeping file in the folder, no staging folder beside it
    assert {p.name for p in out.iterdir()} == TABLES and _beside(out) == []
    assert read_manifest(out).names == TABLES


def test_the_previous_set_is_replaced_as_a_whole_and_other_files_kept(diag, tmp_path):
    out = tmp_path / "out"
    with atomic.output_folder(out) as stage:  # a previous run that wrote one more file
        outputs.write_tables(diag, stage)
        (stage / "ancienne_carte.html").write_text("<p>carte</p>", encoding="utf-8")
        atomic.list_files_in_summary(stage)
    (out / "notes.txt").write_text("mes notes", encoding="utf-8")
    # a folder holding a file no run wrote is refused, before anything is written
    with pytest.raises(OutputError, match="notes.txt"):
        _write_new(diag, out)
    assert "ancienne_carte.html" in read_manifest(out).names
    # with overwrite: the new set replaces the whole previous one, the user's file is kept
    diag.write(out, classify=False, maps=False, overwrite=True)
    assert {p.name for p in out.iterdir()} == TABLES | {"notes.txt"}
    assert (out / "notes.txt").read_text("utf-8") == "mes notes"


@pytest.mark.parametrize("summary", [
    {"files": [{"name": "these.docx"}, {"name": "summary.json"}]},
    {"tool": "autre_logiciel", "files": [{"name": "these.docx", "sha256": "0" * 64}]},
    {"tool": "cpts_geo", "files": [{"name": "these.docx", "size": 5}, {"name": "summary.json"}]},
    {"tool": "cpts_geo", "files": [{"name": "../these.docx", "sha256": "0" * 64}]},
], ids=["another program's", "another tool's", "without hashes", "naming a path"])
def test_a_summary_json_written_by_another_program_is_never_taken_for_a_previous_run(
        diag, tmp_path, summary):
    out = tmp_path / "f1"
    out.mkdir()
    (out / "these.docx").write_bytes(b"ma these")
    (out / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert read_manifest(out) is None
    with pytest.raises(OutputError, match="aucune exécution de cpts-geo"):
        _write_new(diag, out)
    # --force writes beside foreign files, but never over them: summary.json is not replaced
    with pytest.raises(OutputError, match="summary.json.*jamais remplacé"):
        diag.write(out, classify=False, maps=False, overwrite=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before and _beside(out) == []


def test_a_listed_file_changed_since_is_kept_and_the_run_refused(diag, previous_run, tmp_path):
    out = _copy_of(previous_run, tmp_path)
    with (out / "overlaps.csv").open("a", encoding="utf-8") as f:
        f.write("ma ligne ajoutée à la main\n")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    for overwrite in (False, True):
        with pytest.raises(OutputError, match=r"overlaps\.csv.*a changé depuis"):
            diag.write(out, classify=False, maps=False, overwrite=overwrite)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before and _beside(out) == []


def test_an_input_among_the_files_a_run_replaces_is_refused_even_with_overwrite(diag, previous_run, tmp_path):
    out = _copy_of(previous_run, tmp_path)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    for overwrite in (False, True):
        with pytest.raises(OutputError, match=r"perimeters\.gpkg.*fichier d'entrée"):
            diag.write(out, classify=False, maps=False, overwrite=overwrite, inputs=(out / "perimeters.gpkg",))
    # a hard link to an input is the input
    link = tmp_path / "liste.gpkg"
    os.link(out / "white_zones.gpkg", link)
    with pytest.raises(OutputError, match=r"white_zones\.gpkg.*fichier d'entrée"):
        diag.write(out, classify=False, maps=False, inputs=(link,))
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_the_table_writer_alone_never_writes_over_an_existing_file(diag, tmp_path):
    (tmp_path / "overlaps.csv").write_text("mes chevauchements", encoding="utf-8")
    with pytest.raises(OutputError, match=r"overlaps\.csv.*existe déjà"):
        outputs.write_tables(diag, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["overlaps.csv"]


def test_a_writer_failing_midway_keeps_the_previous_set(diag, previous_run, tmp_path, monkeypatch):
    out = _copy_of(previous_run, tmp_path)

    def broken(*args, **kwargs):
        raise RuntimeError("défaut simulé du classeur")

    monkeypatch.setattr(outputs, "_write_workbook", broken)  # after summary, gpkg and csv
    with pytest.raises(RuntimeError):
        _write_new(diag, out)
    assert _which_set(out) == "previous" and _beside(out) == []


@pytest.mark.parametrize("phase", ["moving the previous set aside", "moving the new set in"])
def test_a_file_held_open_while_moving_restores_the_previous_set(diag, previous_run, tmp_path, monkeypatch,
                                                                  phase):
    """A workbook open in Excel (Windows) cannot be moved: French error, previous set back."""
    out = _copy_of(previous_run, tmp_path)
    real = os.replace

    def replace(src, dst):
        src, dst = Path(src), Path(dst)
        if phase == "moving the previous set aside":
            fail = src == out / "diagnostic_cpts.xlsx"
        else:  # from the staging folder, not back from its backup of the previous set
            fail = dst == out / "diagnostic_cpts.xlsx" and src.parent.name != atomic.BACKUP
        if fail:
            raise PermissionError(13, "Permission denied", str(dst))
        return real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    with pytest.raises(OutputError, match="ouvert dans un autre programme"):
        _write_new(diag, out)
    monkeypatch.undo()
    assert _which_set(out) == "previous" and _beside(out) == []


def test_a_swap_that_cannot_be_undone_is_kept_for_the_next_run_to_finish(diag, previous_run, tmp_path,
                                                                         monkeypatch):
    """The new workbook cannot be moved in, and the previous summary.json cannot be put back: the
    staging folder keeps both sets and its marker, and the next run completes the new set."""
    out = _copy_of(previous_run, tmp_path)
    real = os.replace

    def replace(src, dst):
        src, dst = Path(src), Path(dst)
        if (dst == out / "diagnostic_cpts.xlsx" and src.parent.name != atomic.BACKUP) or (
                src.parent.name == atomic.BACKUP and dst == out / "summary.json"):
            raise PermissionError(13, "Permission denied", str(dst))
        return real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    with pytest.raises(OutputError, match="la prochaine exécution vers ce dossier terminera"):
        _write_new(diag, out)
    monkeypatch.undo()
    assert not (out / "summary.json").exists() and len(_beside(out)) == 1
    atomic.check_target(out)
    assert _which_set(out) == "new" and _beside(out) == []


# ------------------------------------------------------------------------------------------
# Killed runs: fork after the diagnosis is built, kill the child at one instant of the swap
# ------------------------------------------------------------------------------------------


def _run_killed(diag, out: Path, event: str, file: str | None, sig: int) -> int:
    """Write the new set into ``out`` in a forked child that sends itself ``sig`` when the swap
    reaches ``event`` for ``file``; returns the child's wait status."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 0
        try:
            def hook(name, f):
                if name == event and (file is None or f == file):
                    os.kill(os.getpid(), sig)

            atomic.on_event = hook
            _write_new(diag, out)
        except KeyboardInterrupt:
            code = 130
        except BaseException:
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return status


def test_sigterm_while_writing_leaves_the_previous_set_and_no_staging_folder(diag, previous_run, tmp_path):
    out = _copy_of(previous_run, tmp_path)
    status = _run_killed(diag, out, "staged", None, signal.SIGTERM)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 130  # cleaned up, then « interrompu »
    assert _which_set(out) == "previous" and _beside(out) == []


def test_sigterm_during_the_swap_is_held_until_the_new_set_is_complete(diag, previous_run, tmp_path):
    out = _copy_of(previous_run, tmp_path)
    status = _run_killed(diag, out, "moved-out", "summary.json", signal.SIGTERM)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM
    assert _which_set(out) == "new" and _beside(out) == []


def test_a_run_killed_while_writing_leaves_the_previous_set_and_the_next_run_removes_its_staging_folder(
        diag, previous_run, tmp_path):
    out = _copy_of(previous_run, tmp_path)
    status = _run_killed(diag, out, "staged", None, signal.SIGKILL)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    assert _which_set(out) == "previous"
    [left] = _beside(out)
    assert left.startswith(f".out{atomic.STAGING_MARK}")
    assert set(atomic.check_target(out)) == TABLES  # the next run's first step: the previous set is its to replace
    assert _beside(out) == [] and _which_set(out) == "previous"


#: instants of the swap: the previous set moved aside (summary.json first), then the new set
#: moved in (summary.json last)
OLD_ORDER = ["summary.json", *sorted(TABLES - {"summary.json"})]
NEW_ORDER = [*sorted(TABLES - {"summary.json"}), "summary.json"]


@pytest.mark.parametrize("event,file", [
    ("moved-out", OLD_ORDER[0]), ("moved-out", OLD_ORDER[-1]), ("moved-in", NEW_ORDER[0]),
    ("moved-in", NEW_ORDER[-2]), ("moved-in", NEW_ORDER[-1]),
])
def test_a_run_killed_during_the_swap_is_finished_by_the_next_run(diag, previous_run, tmp_path, event, file):
    out = _copy_of(previous_run, tmp_path)
    status = _run_killed(diag, out, event, file, signal.SIGKILL)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    [stage] = [out.parent / n for n in _beside(out)]
    assert (stage / atomic.MARKER).is_file() and not (out / atomic.MARKER).exists()
    if (event, file) != ("moved-in", "summary.json"):  # the folder is left without its summary
        assert not (out / "summary.json").exists()
    finished = atomic.finish_interrupted(out)  # what every run into ``out`` does first
    assert finished == [stage] and _beside(out) == []
    assert _which_set(out) == "new"


def test_after_a_kill_between_the_renames_every_later_run_succeeds(diag, previous_run, tmp_path):
    """The case of the report: killed right after summary.json was moved aside, the folder had no
    summary.json and every later run refused it for ever."""
    out = _copy_of(previous_run, tmp_path)
    _run_killed(diag, out, "moved-out", "summary.json", signal.SIGKILL)
    assert not (out / "summary.json").exists()
    diag.write(out, classify=False, maps=False, csv_format="international")
    assert _which_set(out) == "previous" and _beside(out) == []  # the latest run's set, complete


def test_an_interrupted_swap_into_a_folder_changed_since_is_left_alone_and_named(diag, previous_run, tmp_path):
    out = _copy_of(previous_run, tmp_path)
    _run_killed(diag, out, "moved-out", "summary.json", signal.SIGKILL)
    (out / "perimeters.gpkg").write_bytes(b"la version de l'utilisateur")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(OutputError, match=r"perimeters\.gpkg.*interrompue.*gardés dans"):
        atomic.check_target(out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before and len(_beside(out)) == 1


def test_three_concurrent_runs_leave_one_complete_set(diag, previous_run, tmp_path):
    out = _copy_of(previous_run, tmp_path)
    children = []
    for csv_format in ("fr", "international", "fr"):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                diag.write(out, classify=False, maps=False, csv_format=csv_format)
                code = 0
            finally:
                os._exit(code)
        children.append(pid)
    statuses = [os.waitpid(pid, 0)[1] for pid in children]
    assert all(os.WIFEXITED(s) and os.WEXITSTATUS(s) == 0 for s in statuses)
    assert _which_set(out) in ("previous", "new") and _beside(out) == []


def test_the_staging_folder_of_a_live_run_is_never_touched(tmp_path):
    out = tmp_path / "out"
    with atomic.output_folder(out) as stage:
        (stage / "summary.json").write_text("{}", encoding="utf-8")
        assert atomic.finish_interrupted(out) == [] and stage.is_dir()
        atomic.list_files_in_summary(stage)
    assert {p.name for p in out.iterdir()} == {"summary.json"} and _beside(out) == []


def test_a_run_into_the_current_folder_stages_beside_it_never_inside(tmp_path, monkeypatch):
    here = tmp_path / "dossier"
    here.mkdir()
    monkeypatch.chdir(here)
    for name in ("a.csv", "b.csv"):  # twice: the second run replaces the first one's set
        with atomic.output_folder(".") as stage:
            assert stage.parent == tmp_path
            (stage / "summary.json").write_text("{}", encoding="utf-8")
            (stage / name).write_text(name, encoding="utf-8")
            atomic.list_files_in_summary(stage)
    assert sorted(p.name for p in here.iterdir()) == ["b.csv", "summary.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["dossier"]


# ------------------------------------------------------------------------------------------
# Single files
# ------------------------------------------------------------------------------------------


def test_an_output_file_replaces_its_name_in_one_rename(tmp_path):
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


def test_a_symlink_named_as_output_is_replaced_never_its_target(tmp_path):
    target = tmp_path / "document.txt"
    target.write_text("à garder", encoding="utf-8")
    link = tmp_path / "rapport.json"
    link.symlink_to(target)
    atomic.write_text(link, "{}")
    assert not link.is_symlink() and link.read_text("utf-8") == "{}"
    assert target.read_text("utf-8") == "à garder"


def test_an_output_file_that_resolves_to_an_input_is_refused(tmp_path):
    source = tmp_path / "proposition.csv"
    source.write_text("code\n04001\n", encoding="utf-8")
    link = tmp_path / "lien.json"
    link.symlink_to(source)
    for path in (source, link, tmp_path / "." / "proposition.csv"):
        with pytest.raises(OutputError, match="fichier d'entrée"):
            atomic.write_text(path, "{}", inputs=[source])
    assert source.read_text("utf-8") == "code\n04001\n" and link.is_symlink()
