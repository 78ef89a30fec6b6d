"""The staging folder of an output folder, and the recovery of a swap a killed run left
half-done (see :mod:`cpts_geo.io.atomic` for the whole protocol).

A run writes its files in ``.NAME.cpts_geo-XXXX`` beside the target ``NAME`` and holds an
exclusive lock on that folder for its whole life (a POSIX ``flock``, released by the kernel when
the process dies, SIGKILL included). The folder holds the run's marker ``.cpts_geo-swap.json``:
the tool's name, the target's name, the state (``writing``, then ``swapping`` with both sets of
files and their SHA-256) — never a file in the output folder itself. :func:`finish_interrupted`
takes in hand a staging folder only when its marker names the target and its lock is free.

Also here: what every writer needs around a run — signals held or turned into an exception, a
full disk told from a bug, the French error naming the output path.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from cpts_geo.errors import CptsGeoError, OutputError
from cpts_geo.io.manifest import SUMMARY, TOOL, sha256

try:  # POSIX: advisory locks tell a live run from a dead one
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock, hence no automatic recovery
    fcntl = None  # type: ignore[assignment]

STAGING_MARK = ".cpts_geo-"
#: the run's marker, in its staging folder (never in the output folder)
MARKER = ".cpts_geo-swap.json"
#: the previous run's files during a swap, in the staging folder
BACKUP = ".precedent"
#: below this many free bytes, a writer's failure is reported as a full disk
_NEARLY_FULL = 1 << 20

def absolute(path: str | os.PathLike) -> Path:
    """``path`` made absolute without resolving links: ``.`` or ``sortie/..`` get a real name and
    parent, so the staging folder is always beside the target, never inside it."""
    return Path(os.path.abspath(path))


def acquire_lock(path: Path, blocking: bool) -> int | None:
    """A descriptor holding an exclusive lock on the file or folder ``path`` (released when
    closed, or when the process dies); None when another holder has it (``blocking=False``).
    Without POSIX locks (Windows, a filesystem without locks): -1 when blocking, None otherwise
    (a lock is never proved free, so a staging folder is never taken for a dead run's)."""
    if fcntl is None:
        return -1 if blocking else None
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # a folder that cannot be opened for reading: no lock, as without POSIX locks
        return -1 if blocking else None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        os.close(fd)
        return None
    except OSError:  # a filesystem without locks (some network shares)
        os.close(fd)
        return -1 if blocking else None
    return fd


def release_lock(fd: int | None) -> None:
    if fd is not None and fd >= 0:
        os.close(fd)


class Terminated(Exception):
    """SIGTERM received while a run writes its files (turned into an exception to clean up)."""


@contextlib.contextmanager
def signals(mode: str) -> Iterator[None]:
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
        raise Terminated()

    saved = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, saved)


def disk_full(exc: BaseException, folder: Path) -> bool:
    """True when ``exc`` (or an exception it chains) is a full disk or quota, or when the
    filesystem of ``folder`` has less than 1 MiB left (writers such as GDAL report a full disk as
    their own error, without errno)."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        e = e.__cause__ or e.__context__
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):
        return False
    return st.f_bavail * st.f_frsize < _NEARLY_FULL


DISK_FULL = ("écriture impossible : le disque est plein (ou le quota atteint) ; libérer de la place ou "
             "choisir un autre emplacement")


def write_error(exc: BaseException, stage: Path, shown: Path) -> OutputError | None:
    """The French error naming ``shown`` (the output path the user asked) for a failure of a
    writer inside ``stage`` (a staging folder or temporary file); None when ``exc`` is not a
    write failure (a bug, or an input that cannot be read, is left as it is)."""
    def rename(p: object) -> Path:
        try:
            rel = Path(os.fspath(p)).relative_to(stage)
        except (TypeError, ValueError):
            return shown
        return shown / rel if rel.parts and stage.is_dir() else shown

    inside = isinstance(exc, OutputError) and str(exc.path).startswith(str(stage))
    if isinstance(exc, CptsGeoError) and not inside:
        return None
    named = rename(exc.path) if inside else shown
    if disk_full(exc, stage if stage.is_dir() else stage.parent):
        return OutputError(named, DISK_FULL)
    if inside:
        return OutputError(named, exc.message)
    if isinstance(exc, OSError) and exc.filename and str(exc.filename).startswith(str(stage)):
        return OutputError(rename(exc.filename), f"écriture impossible ({exc.strerror or exc})")
    return None


def write_marker(stage: Path, target: Path, state: str, previous: dict | None = None,
                 new: dict | None = None) -> None:
    """Write the run's marker in ``stage`` (replaced in one rename): the tool, the target's name,
    the state (``writing`` or ``swapping``) and, while swapping, both sets (name → SHA-256)."""
    data = {"tool": TOOL, "target": absolute(target).name, "state": state, "pid": os.getpid(),
            "previous": previous or {}, "new": new or {}}
    tmp = stage / (MARKER + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, stage / MARKER)


def read_marker(stage: Path) -> dict | None:
    """The marker of the staging folder ``stage``; None when absent or not a cpts_geo marker."""
    try:
        data = json.loads((stage / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (not isinstance(data, dict) or data.get("tool") != TOOL or data.get("state") not in ("writing", "swapping")
            or not isinstance(data.get("previous"), dict) or not isinstance(data.get("new"), dict)):
        return None
    return data


def _staging_folders(target: Path) -> list[Path]:
    """Staging folders beside ``target`` whose marker names it."""
    target = absolute(target)
    prefix = f".{target.name}{STAGING_MARK}"
    try:
        found = [p for p in target.parent.iterdir()
                 if p.name.startswith(prefix) and p.is_dir() and not p.is_symlink()]
    except OSError:
        return []
    return [p for p in sorted(found) if (m := read_marker(p)) is not None and m.get("target") == target.name]


def _finish_swap(stage: Path, target: Path, marker: dict) -> None:
    """Complete the swap an interrupted run began (see the module doc): previous files still in
    ``target`` moved aside, new files still in ``stage`` moved in, ``summary.json`` last."""
    old, new = marker["previous"], marker["new"]
    target.mkdir(parents=True, exist_ok=True)
    backup = stage / BACKUP
    backup.mkdir(exist_ok=True)
    out, inn, changed = [], [], []
    for name, digest in old.items():
        here = target / name
        if not os.path.lexists(here) or (name in new and not os.path.lexists(stage / name)):
            continue  # already moved aside, or replaced by the new file
        (out if sha256(here) == digest else changed).append(name)
    for name in new:
        if os.path.lexists(stage / name):
            if os.path.lexists(target / name) and name not in out:
                changed.append(name)
            inn.append(name)
    if changed:
        raise OutputError(target / sorted(changed)[0], (
            "une exécution de cpts-geo a été interrompue pendant le remplacement de ses fichiers dans ce "
            "dossier, et ce fichier a changé depuis : rien n'est déplacé ni supprimé ; les fichiers de "
            f"cette exécution sont gardés dans {stage} (à récupérer ou supprimer à la main)"))
    for name in sorted(out, key=lambda n: n != SUMMARY):  # the summary first
        os.replace(target / name, backup / name)
    for name in sorted(inn, key=lambda n: n == SUMMARY):  # the summary last
        os.replace(stage / name, target / name)


def finish_interrupted(target: str | os.PathLike, *, _locked: bool = False) -> list[Path]:
    """Finish the output swaps into ``target`` that a killed run left half-done, and remove the
    staging folders of runs killed while writing.

    A staging folder is taken in hand only when its marker names ``target`` and no live process
    holds its lock (the run that made it is dead). Called by :func:`check_target`, hence by every
    run writing into ``target``.

    Parameters
    ----------
    target : path
        An output folder.

    Returns
    -------
    list of Path
        The staging folders finished and removed.

    Raises
    ------
    OutputError
        A file of ``target`` changed since the interrupted swap: nothing is moved, and the
        staging folder, which keeps both sets, is named.
    """
    target = Path(target)
    done: list[Path] = []
    for stage in _staging_folders(target):
        fd = acquire_lock(stage, blocking=False)
        if fd is None:
            continue  # a live run
        try:
            marker = read_marker(stage)
            if marker is None:
                continue
            if marker["state"] == "swapping":
                target.mkdir(parents=True, exist_ok=True)
                tlock = None if _locked else acquire_lock(target, blocking=True)
                try:
                    _finish_swap(stage, target, marker)
                finally:
                    release_lock(tlock)
            shutil.rmtree(stage, ignore_errors=True)
            done.append(stage)
        finally:
            release_lock(fd)
    return done


def _umask_mode(probe: Path) -> int:
    """The permissions a new file gets here (0o666 less the umask), read on ``probe``, a file
    just created with mode 0o666."""
    return stat.S_IMODE(os.stat(probe).st_mode)


def path_error(exc: OSError, where: Path) -> OutputError:
    """The French error for an output path ``where`` that cannot be created (rights, a file in
    the way, a full disk), naming it and, when another, the part of the path at fault."""
    part = f" : {exc.filename}" if exc.filename and os.fspath(exc.filename) != os.fspath(where) else ""
    if isinstance(exc, PermissionError):
        return OutputError(where, f"impossible d'écrire ici (droits insuffisants{part})")
    if isinstance(exc, (FileExistsError, NotADirectoryError)):
        return OutputError(where, f"une partie du chemin de sortie est un fichier, pas un dossier{part}")
    if disk_full(exc, where if where.is_dir() else where.parent):
        return OutputError(where, DISK_FULL)
    return OutputError(where, f"écriture impossible ({exc.strerror or exc}{part})")


def make_stage(target: Path) -> tuple[Path, int | None, int]:
    """A new staging folder beside ``target`` with its marker, locked for the life of the run;
    returns it, the lock and the file mode the umask allows."""
    try:
        anchor = absolute(target)
        anchor.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{anchor.name}{STAGING_MARK}", dir=anchor.parent))
    except OSError as exc:
        raise path_error(exc, target) from exc
    lock = acquire_lock(stage, blocking=True)
    try:
        write_marker(stage, target, "writing")
        mode = _umask_mode(stage / MARKER)
    except OSError as exc:
        release_lock(lock)
        shutil.rmtree(stage, ignore_errors=True)
        raise path_error(exc, target) from exc
    return stage, lock, mode
