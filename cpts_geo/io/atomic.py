"""Atomic output folder: a run's files appear together, complete, or not at all.

:func:`output_folder` gives a temporary folder *beside* the target (same filesystem, so moving a
file is a rename); the run writes every file there. When the block ends without error, the
previous run's files in the target (those its ``summary.json`` lists) are moved aside, the new
files are moved in (``summary.json`` last, after :func:`list_files_in_summary` has recorded each
file's name and size), then the previous set is deleted. A failure while moving (a workbook held
open in Excel on Windows) puts the previous set back. A failure or an interruption (Ctrl-C,
SIGTERM) before that leaves the target untouched and removes the temporary folder. SIGTERM and
SIGINT are held during the moves (a few milliseconds); only SIGKILL or a power cut in that window
can leave the target without its ``summary.json`` (the temporary folder ``.NAME.cpts_geo-*``
beside it then holds the previous set in ``.precedent``).

Files of the target that no cpts_geo run wrote are never deleted; a target holding such files
is refused (:class:`~cpts_geo.errors.OutputError`) unless ``overwrite=True`` (``--force``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from cpts_geo.errors import OutputError

SUMMARY = "summary.json"
STAGING_MARK = ".cpts_geo-"
BACKUP = ".precedent"


def previous_run_files(target: Path) -> set[str] | None:
    """Names of the files the previous run wrote in ``target`` (from its ``summary.json``,
    itself included); None when the folder holds no readable cpts_geo summary."""
    path = target / SUMMARY
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list):
        return None
    names = {f["name"] if isinstance(f, dict) else f for f in files}
    return {str(n) for n in names if isinstance(n, str) and "/" not in n and "\\" not in n} | {SUMMARY}


def check_target(target: str | os.PathLike, overwrite: bool = False) -> set[str]:
    """Refuse a target that cannot receive a run (a file, a folder holding files no cpts_geo run
    wrote unless ``overwrite``); return the previous run's file names present in it."""
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise OutputError(target, "ce chemin est un fichier ; le dossier de sortie doit être un dossier")
    if not target.is_dir():
        return set()
    previous = previous_run_files(target) or set()
    present = {p.name for p in target.iterdir()}
    foreign = sorted(present - previous)
    if foreign and not overwrite:
        shown = ", ".join(foreign[:5]) + (" …" if len(foreign) > 5 else "")
        raise OutputError(target, (
            "le dossier de sortie contient des fichiers qu'aucune exécution de cpts-geo n'a écrits "
            f"({shown}) ; choisir un dossier vide ou nouveau, ou ajouter --force "
            "(overwrite=True) pour écrire à côté d'eux (ils ne seront pas supprimés)"))
    return previous & present


def list_files_in_summary(folder: Path) -> list[dict]:
    """Add to ``folder/summary.json`` the list of the other files of ``folder`` (``files``:
    ``{name, size}`` with the size in bytes), then rewrite it; returns that list."""
    files = [{"name": p.name, "size": p.stat().st_size} for p in sorted(folder.iterdir())
             if p.is_file() and p.name != SUMMARY]
    path = folder / SUMMARY
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    data["files"] = files + [{"name": SUMMARY, "size": None}]
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return files


class _Terminated(Exception):
    """SIGTERM received while a run writes its files (turned into an exception to clean up)."""


@contextlib.contextmanager
def _signals(mode: str) -> Iterator[None]:
    """``raise``: SIGTERM raises inside the block; ``hold``: SIGTERM / SIGINT are delivered after it.
    Only in the main thread of a POSIX process; elsewhere a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if mode == "hold":
        if not hasattr(signal, "pthread_sigmask"):
            yield
            return
        sigs = {signal.SIGTERM, signal.SIGINT}
        old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
        try:
            yield
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
        return

    def _raise(signum, frame):
        raise _Terminated()

    saved = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, saved)


def _move_in(stage: Path, target: Path, previous: set[str]) -> None:
    new = sorted(p.name for p in stage.iterdir() if p.is_file())
    new = [n for n in new if n != SUMMARY] + ([SUMMARY] if SUMMARY in new else [])
    backup = stage / BACKUP
    backup.mkdir()
    old = [SUMMARY] if SUMMARY in previous else []
    old += sorted(previous - {SUMMARY})
    moved_out: list[str] = []
    moved_in: list[str] = []
    try:
        for name in old:  # the summary first: the folder stops looking complete
            os.replace(target / name, backup / name)
            moved_out.append(name)
        for name in new:  # the summary last: the folder looks complete only when it is
            os.replace(stage / name, target / name)
            moved_in.append(name)
    except OSError as exc:
        for name in reversed(moved_in):
            with contextlib.suppress(OSError):
                os.replace(target / name, stage / name)
        for name in reversed(moved_out):
            with contextlib.suppress(OSError):
                os.replace(backup / name, target / name)
        raise OutputError(exc.filename or target, (
            "impossible de remplacer ce fichier (ouvert dans un autre programme, Excel par exemple, "
            "ou droits insuffisants) ; le dossier garde les fichiers de l'exécution précédente")) from exc


@contextlib.contextmanager
def output_folder(target: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; on success move its files into ``target``
    replacing the previous run's set as a whole (see the module doc). Call
    :func:`list_files_in_summary` on the yielded folder before the block ends."""
    target = Path(target)
    check_target(target, overwrite)  # refuse before any work
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{target.name}{STAGING_MARK}", dir=target.parent))
    except FileExistsError as exc:
        raise OutputError(exc.filename or target.parent,
                          "une partie du chemin du dossier de sortie est un fichier") from exc
    except NotADirectoryError as exc:
        raise OutputError(exc.filename or target.parent,
                          "une partie du chemin du dossier de sortie est un fichier") from exc
    except PermissionError as exc:
        raise OutputError(exc.filename or target.parent,
                          "impossible d'écrire ici (droits insuffisants)") from exc
    try:
        with _signals("raise"):
            yield stage
        with _signals("hold"):
            target.mkdir(parents=True, exist_ok=True)
            _move_in(stage, target, check_target(target, overwrite))
    except _Terminated:
        raise KeyboardInterrupt from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)


@contextlib.contextmanager
def output_file(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix); on success it replaces ``path`` in
    one rename, so ``path`` is never seen half-written."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(path, "un dossier existe à ce nom ; indiquer un nom de fichier")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}{STAGING_MARK}", suffix=path.suffix, dir=path.parent)
    except (FileExistsError, NotADirectoryError) as exc:
        raise OutputError(path, "une partie du chemin est un fichier, pas un dossier"
                          + (f" ({exc.filename})" if exc.filename else "")) from exc
    except PermissionError as exc:
        raise OutputError(path, "impossible d'écrire dans ce dossier (droits insuffisants)"
                          + (f" : {exc.filename}" if exc.filename else "")) from exc
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        with _signals("raise"):
            yield tmp_path
        try:
            os.replace(tmp_path, path)
        except OSError as exc:
            raise OutputError(path, "impossible de remplacer ce fichier (ouvert dans un autre programme, "
                              "ou droits insuffisants)") from exc
    except _Terminated:
        raise KeyboardInterrupt from None
    finally:
        with contextlib.suppress(OSError):
            tmp_path.unlink()


def write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` through :func:`output_file`: the file is complete or absent
    (an impossible path is an :class:`~cpts_geo.errors.OutputError` naming it)."""
    path = Path(path)
    with output_file(path) as tmp:
        try:
            tmp.write_text(text, encoding=encoding)
        except OSError as exc:  # a full disk, a quota
            raise OutputError(path, f"écriture impossible ({exc.strerror or exc})") from exc
    return path
