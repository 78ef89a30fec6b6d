"""Safe outputs: a run deletes or replaces only files it can prove a cpts_geo run wrote, never
an input, and its files appear complete or not at all.

**Output folder** (:func:`output_folder`, what ``coverage --out`` and ``Diagnosis.write`` use).
The run writes every file in a staging folder *beside* the target (``.NAME.cpts_geo-XXXX``, same
filesystem, so moving a file is a rename), which also holds the run's marker
(``.cpts_geo-swap.json``). When all files are written, :func:`~cpts_geo.io.manifest.write_manifest`
records each one's SHA-256 in ``summary.json`` (the manifest, with the tool's name). The swap then
moves the previous run's files (those its manifest lists, each checked against its hash) into the
staging folder's ``.precedent``, moves the new ones in (``summary.json`` last) and deletes the
previous set. SIGTERM / SIGINT are held during the swap (a few milliseconds) and swaps into one
folder never overlap (a lock on the folder). A failure or an interruption before the swap leaves
the target untouched and removes the staging folder; a file that cannot be moved (a workbook
held open in Excel on Windows) puts the previous set back.

**Interrupted swap.** A SIGKILL or a power cut during the swap leaves the staging folder with its
marker, which lists both sets with their hashes. The next run into the same folder
(:func:`finish_interrupted`, called by :func:`check_target`) recognises it — its marker names the
folder and its owner no longer holds its lock — and finishes the swap: the new set complete in the
folder, the previous one deleted. A staging folder left by a run killed while writing is removed.

**What is never deleted or replaced.** A file no cpts_geo run wrote: the folder is refused unless
``overwrite=True`` (``--force``), and even then such a file is never replaced (a run whose file
would take its name is refused). A file listed by the previous run whose content changed since
(its hash no longer matches): the run is refused, naming it. A ``summary.json`` written by another
program (no tool name, no hashes): it describes no previous run, so nothing it lists is deleted.
An input of the run (:func:`check_not_input`): an output that resolves to an input file is
refused, with or without ``overwrite``.

**Single files** (:func:`output_file`, :func:`write_text`: ``map --png``, ``validate --json``…):
written beside their name, then renamed over it in one step; a symbolic link at that name is
replaced, never its target. Every output is created with the permissions the umask allows
(0644 under umask 022). A write that fails on a full disk names the output path.

The parts: :mod:`cpts_geo.io.manifest` (``summary.json`` as a manifest),
:mod:`cpts_geo.io.ownership` (what a run may delete or replace), :mod:`cpts_geo.io.staging` (the
staging folder, its marker and lock, the recovery); this module puts them together.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from cpts_geo.errors import OutputError
from cpts_geo.io.manifest import SUMMARY, sha256, write_manifest
from cpts_geo.io.ownership import (
    check_distinct,
    check_not_input,
    check_target,
    input_paths,
    same_file,
)
from cpts_geo.io.staging import (
    BACKUP,
    MARKER,
    STAGING_MARK,
    Terminated,
    acquire_lock,
    finish_interrupted,
    make_stage,
    path_error,
    read_marker,
    release_lock,
    signals,
    write_error,
    write_marker,
)

__all__ = ["BACKUP", "MARKER", "STAGING_MARK", "check_distinct", "check_not_input", "check_target",
           "finish_interrupted", "list_files_in_summary", "on_event", "output_file", "output_folder",
           "same_file", "write_text"]

#: test hook: called as ``on_event(event, file_name)`` at each step of a folder swap —
#: ``"staged"`` (every file written, before the swap), ``"moved-out"`` (a previous file moved
#: aside), ``"moved-in"`` (a new file moved in). None in normal use.
on_event: Callable[[str, str | None], None] | None = None


def _event(name: str, file: str | None = None) -> None:
    if on_event is not None:
        on_event(name, file)


def list_files_in_summary(folder: Path) -> list[dict]:
    """Record the run's files with their SHA-256 and the tool's name in ``folder/summary.json``
    (:func:`cpts_geo.io.manifest.write_manifest`); call it last in the block of
    :func:`output_folder`. Returns the other files' entries."""
    return write_manifest(folder, exclude=(MARKER, MARKER + ".tmp"))


# ------------------------------------------------------------------------------------------
# Output folder
# ------------------------------------------------------------------------------------------

def _new_files(stage: Path) -> list[str]:
    """The run's files in ``stage``, ``summary.json`` last."""
    names = sorted(p.name for p in stage.iterdir() if p.is_file() and p.name not in (MARKER, MARKER + ".tmp"))
    return [n for n in names if n != SUMMARY] + ([SUMMARY] if SUMMARY in names else [])


def _commit(stage: Path, target: Path, overwrite: bool, inputs: list[str], mode: int) -> None:
    """The swap (module doc), under the folder's lock; the staging folder is removed at the end,
    or kept with its marker when the previous set could not be put back."""
    new_names = _new_files(stage)
    for name in new_names:  # every output readable as the umask allows, whatever its writer did
        p = stage / name
        if stat.S_IMODE(p.stat().st_mode) != mode:
            os.chmod(p, mode)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise path_error(exc, target) from exc
    lock = acquire_lock(target, blocking=True)
    try:
        previous = check_target(target, overwrite, inputs, new_names, _locked=True)
        new = {name: sha256(stage / name) or "" for name in new_names}
        write_marker(stage, target, "swapping", previous, new)
        backup = stage / BACKUP
        backup.mkdir()
        old = sorted(previous, key=lambda n: n != SUMMARY)  # the summary first: the folder stops looking complete
        moved_out: list[str] = []
        moved_in: list[str] = []
        try:
            for name in old:
                os.replace(target / name, backup / name)
                moved_out.append(name)
                _event("moved-out", name)
            for name in new_names:  # the summary last: the folder looks complete only when it is
                os.replace(stage / name, target / name)
                moved_in.append(name)
                _event("moved-in", name)
        except OSError as exc:
            restored = True
            for name in reversed(moved_in):
                try:
                    os.replace(target / name, stage / name)
                except OSError:
                    restored = False
            for name in reversed(moved_out):
                try:
                    os.replace(backup / name, target / name)
                except OSError:
                    restored = False
            if not restored:  # the marker stays: the next run finishes the swap
                raise OutputError(exc.filename or target, (
                    "impossible de remplacer ce fichier (ouvert dans un autre programme, Excel par exemple, "
                    f"ou droits insuffisants) ; les fichiers sont gardés dans {stage} et la prochaine "
                    "exécution vers ce dossier terminera le remplacement")) from exc
            write_marker(stage, target, "writing")
            raise OutputError(exc.filename or target, (
                "impossible de remplacer ce fichier (ouvert dans un autre programme, Excel par exemple, "
                "ou droits insuffisants) ; le dossier garde les fichiers de l'exécution précédente")) from exc
        # the previous set, then the marker: a kill in between leaves a marker the next run clears
        shutil.rmtree(backup, ignore_errors=True)
        (stage / MARKER).unlink(missing_ok=True)
        shutil.rmtree(stage, ignore_errors=True)
    finally:
        release_lock(lock)


@contextlib.contextmanager
def output_folder(target: str | os.PathLike, overwrite: bool = False,
                  inputs: Iterable[object] | None = (), names: Iterable[str] = ()) -> Iterator[Path]:
    """Yield a staging folder beside ``target``; on success move its files into ``target``,
    replacing the previous run's set as a whole (see the module doc).

    Call :func:`list_files_in_summary` on the yielded folder before the block ends.

    Parameters
    ----------
    target : path
        The output folder (created when absent).
    overwrite : bool
        Accept a folder holding files no cpts_geo run wrote (``--force``); never deleted.
    inputs : iterable of paths
        The files the run reads; none may be deleted or replaced.
    names : iterable of str
        Names of files the run will surely write, checked before the work
        (:func:`check_target`); the full set is checked again before the swap.

    Yields
    ------
    Path
        The staging folder, where the run writes every file.

    Raises
    ------
    OutputError
        The folder is refused (:func:`check_target`), a file cannot be moved (the previous set is
        put back), or a write fails (a full disk: naming ``target``).
    KeyboardInterrupt
        SIGTERM while writing (the staging folder is removed, ``target`` untouched).
    """
    target = Path(target)
    inputs = input_paths(inputs)
    check_target(target, overwrite, inputs, names)  # refuse before any work
    stage, lock, mode = make_stage(target)
    try:
        try:
            with signals("raise"):
                yield stage
                _event("staged")
        except (Terminated, KeyboardInterrupt, GeneratorExit):
            raise
        except Exception as exc:
            error = write_error(exc, stage, target)
            if error is not None:
                raise error from exc
            raise
        with signals("hold"):
            _commit(stage, target, overwrite, inputs, mode)
    except Terminated:
        raise KeyboardInterrupt from None
    finally:
        marker = read_marker(stage)
        if marker is None or marker["state"] == "writing":  # kept only when a swap is left to finish
            shutil.rmtree(stage, ignore_errors=True)
        release_lock(lock)


# ------------------------------------------------------------------------------------------
# Single files
# ------------------------------------------------------------------------------------------


def _temp_beside(path: Path) -> tuple[Path, int]:
    """A new empty file beside ``path`` (hidden, same suffix), created with mode 0o666 less the
    umask; returns it and that mode."""
    for _ in range(100):
        tmp = path.with_name(f".{path.stem}{STAGING_MARK}{secrets.token_hex(4)}{path.suffix}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
        os.close(fd)
        return tmp, mode
    raise OutputError(path, "impossible de créer un fichier temporaire à côté de ce fichier")


@contextlib.contextmanager
def output_file(path: str | os.PathLike, inputs: Iterable[object] | None = ()) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix); on success it replaces ``path`` in
    one rename, so ``path`` is never seen half-written.

    Parameters
    ----------
    path : path
        The output file. An existing file there is replaced (a symbolic link: the link, never
        its target) unless it is one of ``inputs``.
    inputs : iterable of paths
        The files the run reads (:func:`check_not_input`).

    Yields
    ------
    Path
        The temporary file to write (it exists, empty, with the mode the umask allows).

    Raises
    ------
    OutputError
        ``path`` is an input or a folder, its folder cannot be written, the disk is full
        (naming ``path``), or the rename fails.
    """
    path = Path(path)
    check_not_input(path, inputs)
    if path.is_dir():
        raise OutputError(path, "un dossier existe à ce nom ; indiquer un nom de fichier")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp, mode = _temp_beside(path)
    except OSError as exc:
        raise path_error(exc, path) from exc
    try:
        try:
            with signals("raise"):
                yield tmp
        except (Terminated, KeyboardInterrupt, GeneratorExit):
            raise
        except Exception as exc:
            error = write_error(exc, tmp, path)
            if error is not None:
                raise error from exc
            raise
        try:
            if os.path.exists(tmp) and stat.S_IMODE(os.stat(tmp).st_mode) != mode:
                os.chmod(tmp, mode)  # a writer that replaced the file (Chromium) keeps the umask's mode
            os.replace(tmp, path)
        except OSError as exc:
            raise OutputError(path, "impossible de remplacer ce fichier (ouvert dans un autre programme, "
                              "ou droits insuffisants)") from exc
    except Terminated:
        raise KeyboardInterrupt from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8",
               inputs: Iterable[object] | None = ()) -> Path:
    """Write ``text`` to ``path`` through :func:`output_file`: the file is complete or absent.

    Parameters
    ----------
    path : path
        The output file.
    text : str
        Its content.
    encoding : str
        Text encoding (UTF-8 by default).
    inputs : iterable of paths
        The files the run reads: ``path`` may not be one of them.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    OutputError
        An impossible path, an input, or a full disk, naming ``path``.
    """
    path = Path(path)
    with output_file(path, inputs) as tmp:
        tmp.write_text(text, encoding=encoding)
    return path
