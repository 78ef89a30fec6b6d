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
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import shutil
import signal
import stat
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from cpts_geo.errors import CptsGeoError, OutputError
from cpts_geo.io.manifest import SUMMARY, TOOL, read_manifest, sha256, write_manifest

try:  # POSIX: advisory locks tell a live run from a dead one
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock, hence no automatic recovery
    fcntl = None  # type: ignore[assignment]

STAGING_MARK = ".cpts_geo-"
#: the run's marker, in its staging folder (never in the output folder)
MARKER = ".cpts_geo-swap.json"
#: the previous run's files during a swap, in the staging folder
BACKUP = ".precedent"

#: test hook: called as ``on_event(event, file_name)`` at each step of a folder swap —
#: ``"staged"`` (every file written, before the swap), ``"moved-out"`` (a previous file moved
#: aside), ``"moved-in"`` (a new file moved in). None in normal use.
on_event: Callable[[str, str | None], None] | None = None

#: below this many free bytes, a writer's failure is reported as a full disk
_NEARLY_FULL = 1 << 20


def _event(name: str, file: str | None = None) -> None:
    if on_event is not None:
        on_event(name, file)


# ------------------------------------------------------------------------------------------
# An input is never an output
# ------------------------------------------------------------------------------------------


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True when ``a`` and ``b`` both exist and resolve to one file (same device and inode,
    symbolic links and hard links followed).

    Examples
    --------
    >>> same_file(__file__, __file__)
    True
    >>> same_file(__file__, "/nonexistent")
    False
    """
    try:
        return os.path.samefile(a, b)
    except (OSError, TypeError, ValueError):
        return False


def _paths(inputs: Iterable[object] | None) -> list[str]:
    return [os.fspath(p) for p in inputs or () if isinstance(p, (str, os.PathLike))]


def check_not_input(path: str | os.PathLike, inputs: Iterable[object] | None) -> None:
    """Refuse an output ``path`` that resolves to one of ``inputs`` (paths; other values such as
    a list of codes or a DataFrame are ignored).

    Parameters
    ----------
    path : path
        An output file about to be written or replaced.
    inputs : iterable
        The files the run reads.

    Raises
    ------
    OutputError
        ``path`` is an input (itself, a symbolic link to it or a hard link), with or without
        ``overwrite`` / ``--force``.

    Examples
    --------
    >>> check_not_input("rapport.json", ["proposition.csv"])
    >>> check_not_input(__file__, [__file__])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cpts_geo.errors.OutputError: ... une sortie ne remplace jamais une entrée ...
    """
    for source in _paths(inputs):
        if same_file(path, source):
            via = "" if os.fspath(path) == source else f" ({source})"
            raise OutputError(path, f"c'est un fichier d'entrée de cette exécution{via} : une sortie ne "
                              "remplace jamais une entrée ; choisir un autre nom de sortie")


def check_distinct(paths: Iterable[str | os.PathLike | None]) -> None:
    """Refuse two outputs of one run that name the same file (the second would replace the
    first). ``None`` entries (outputs not asked) are ignored.

    Raises
    ------
    OutputError
        Naming the second path.
    """
    seen: list[str] = []
    for p in paths:
        if p is None:
            continue
        text = os.fspath(p)
        for other in seen:
            if os.path.realpath(text) == os.path.realpath(other) or same_file(text, other):
                raise OutputError(text, f"ce fichier est déjà demandé comme autre sortie ({other}) ; "
                                  "donner un nom différent à chaque sortie")
        seen.append(text)


# ------------------------------------------------------------------------------------------
# Locks, signals, disk full
# ------------------------------------------------------------------------------------------


def _lock(path: Path, blocking: bool) -> int | None:
    """A descriptor holding an exclusive lock on the file or folder ``path`` (released when
    closed, or when the process dies); None when another holder has it (``blocking=False``).
    Without POSIX locks (Windows): -1 when blocking, None otherwise (a lock is never proved free)."""
    if fcntl is None:
        return -1 if blocking else None
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _unlock(fd: int | None) -> None:
    if fd is not None and fd >= 0:
        os.close(fd)


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


def _disk_full(exc: BaseException, folder: Path) -> bool:
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


def _write_error(exc: BaseException, stage: Path, shown: Path) -> OutputError | None:
    """The French error naming ``shown`` (the output path the user asked) for a failure of a
    writer inside ``stage`` (a staging folder or temporary file); None when ``exc`` is not a
    write failure (a bug, or an input that cannot be read, is left as it is)."""
    def rename(p: object) -> Path:
        try:
            rel = Path(os.fspath(p)).relative_to(stage)
        except (TypeError, ValueError):
            return shown
        return shown / rel if rel.parts and stage.is_dir() else shown

    if isinstance(exc, OutputError) and str(exc.path).startswith(str(stage)):
        return OutputError(rename(exc.path), exc.message)
    if isinstance(exc, CptsGeoError):
        return None
    where = stage if stage.is_dir() else stage.parent
    if _disk_full(exc, where):
        return OutputError(shown, DISK_FULL)
    if isinstance(exc, OSError) and exc.filename and str(exc.filename).startswith(str(stage)):
        return OutputError(rename(exc.filename), f"écriture impossible ({exc.strerror or exc})")
    return None


# ------------------------------------------------------------------------------------------
# The staging folder and its marker
# ------------------------------------------------------------------------------------------


def _write_marker(stage: Path, target: Path, state: str, previous: dict | None = None,
                  new: dict | None = None) -> None:
    data = {"tool": TOOL, "target": target.name, "state": state, "pid": os.getpid(),
            "previous": previous or {}, "new": new or {}}
    tmp = stage / (MARKER + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, stage / MARKER)


def _read_marker(stage: Path) -> dict | None:
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
    prefix = f".{target.name}{STAGING_MARK}"
    try:
        found = [p for p in target.parent.iterdir()
                 if p.name.startswith(prefix) and p.is_dir() and not p.is_symlink()]
    except OSError:
        return []
    return [p for p in sorted(found) if (m := _read_marker(p)) is not None and m.get("target") == target.name]


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
        fd = _lock(stage, blocking=False)
        if fd is None:
            continue  # a live run
        try:
            marker = _read_marker(stage)
            if marker is None:
                continue
            if marker["state"] == "swapping":
                target.mkdir(parents=True, exist_ok=True)
                tlock = None if _locked else _lock(target, blocking=True)
                try:
                    _finish_swap(stage, target, marker)
                finally:
                    _unlock(tlock)
            shutil.rmtree(stage, ignore_errors=True)
            done.append(stage)
        finally:
            _unlock(fd)
    return done


# ------------------------------------------------------------------------------------------
# What a run may delete or replace
# ------------------------------------------------------------------------------------------


def check_target(target: str | os.PathLike, overwrite: bool = False, inputs: Iterable[object] | None = (),
                 names: Iterable[str] = (), *, _locked: bool = False) -> dict[str, str]:
    """Refuse an output folder that cannot receive a run; return the previous run's files
    present in it (name → SHA-256, each checked against the manifest), which the run replaces.

    An interrupted swap into ``target`` is finished first (:func:`finish_interrupted`).

    Parameters
    ----------
    target : path
        The output folder (created later when absent).
    overwrite : bool
        Accept a folder holding files no cpts_geo run wrote (``--force``); they are never
        deleted or replaced.
    inputs : iterable of paths
        The files the run reads: none of them may be a file the run deletes or replaces.
    names : iterable of str
        Names of the files the run will write, when known (an input, or a file no run wrote,
        at one of these names is refused before any work).

    Returns
    -------
    dict of str to str
        File name → SHA-256 of the previous run's files present in ``target``, ``summary.json``
        included.

    Raises
    ------
    OutputError
        ``target`` is a file; it holds files no cpts_geo run wrote (without ``overwrite``), or
        one at a name the run writes; a file the previous run listed changed since; a file the
        run would delete or replace is an input.
    """
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise OutputError(target, "ce chemin est un fichier ; le dossier de sortie doit être un dossier")
    lock = _lock(target, blocking=True) if not _locked and target.is_dir() else None
    try:
        with _signals("hold"):
            finish_interrupted(target, _locked=_locked or lock is not None)
        if not target.is_dir():
            return {}
        return _check_contents(target, overwrite, _paths(inputs), set(names))
    finally:
        _unlock(lock)


def _check_contents(target: Path, overwrite: bool, inputs: list[str], names: set[str]) -> dict[str, str]:
    manifest = read_manifest(target)
    present = {p.name: p for p in target.iterdir()}
    previous: dict[str, str] = {}
    if manifest is not None:
        for name, digest in sorted(manifest.files.items()):
            if name not in present:
                continue
            if sha256(present[name]) != digest:
                raise OutputError(present[name], (
                    "ce fichier a changé depuis l'exécution de cpts-geo qui l'a écrit (son contenu ne "
                    "correspond plus à celui que summary.json enregistre) : il est gardé et rien n'est "
                    "écrit ; le déplacer ou le renommer, ou choisir un autre dossier de sortie"))
            previous[name] = digest
        previous[SUMMARY] = sha256(target / SUMMARY) or ""
    for name in sorted(set(previous) | (names & set(present))):
        try:
            check_not_input(present[name], inputs)
        except OutputError as exc:
            raise OutputError(exc.path, exc.message + " (même avec --force, overwrite=True)") from None
    foreign = sorted(set(present) - set(previous))
    if foreign and not overwrite:
        shown = ", ".join(foreign[:5]) + (" …" if len(foreign) > 5 else "")
        if SUMMARY in foreign:
            shown += " ; ce summary.json n'a pas été écrit par cpts-geo"
        raise OutputError(target, (
            "le dossier de sortie contient des fichiers qu'aucune exécution de cpts-geo n'a écrits "
            f"({shown}) ; choisir un dossier vide ou nouveau, ou ajouter --force "
            "(overwrite=True) pour écrire à côté d'eux (ils ne seront ni supprimés ni remplacés)"))
    clash = sorted(set(foreign) & names)
    if clash:
        raise OutputError(target / clash[0], (
            "ce fichier n'a pas été écrit par cpts-geo (summary.json ne le prouve pas) et porte le nom d'un "
            "fichier de cette exécution : il n'est jamais remplacé, même avec --force (overwrite=True) ; "
            "le déplacer ou choisir un autre dossier de sortie"))
    return previous


def list_files_in_summary(folder: Path) -> list[dict]:
    """Record the run's files with their SHA-256 and the tool's name in ``folder/summary.json``
    (:func:`cpts_geo.io.manifest.write_manifest`); call it last in the block of
    :func:`output_folder`. Returns the other files' entries."""
    return write_manifest(folder, exclude=(MARKER, MARKER + ".tmp"))


# ------------------------------------------------------------------------------------------
# Output folder
# ------------------------------------------------------------------------------------------


def _umask_mode(probe: Path) -> int:
    """The permissions a new file gets here (0o666 less the umask), read on ``probe``, a file
    just created with mode 0o666."""
    return stat.S_IMODE(os.stat(probe).st_mode)


def _path_error(exc: OSError, where: Path) -> OutputError:
    if isinstance(exc, PermissionError):
        return OutputError(exc.filename or where, "impossible d'écrire ici (droits insuffisants)")
    if isinstance(exc, (FileExistsError, NotADirectoryError)):
        return OutputError(exc.filename or where, "une partie du chemin de sortie est un fichier, pas un dossier")
    if _disk_full(exc, where if where.is_dir() else where.parent):
        return OutputError(where, DISK_FULL)
    return OutputError(exc.filename or where, f"écriture impossible ({exc.strerror or exc})")


def _make_stage(target: Path) -> tuple[Path, int | None, int]:
    """A new staging folder beside ``target`` with its marker, locked for the life of the run;
    returns it, the lock and the file mode the umask allows."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{target.name}{STAGING_MARK}", dir=target.parent))
    except OSError as exc:
        raise _path_error(exc, target.parent) from exc
    lock = _lock(stage, blocking=True)
    try:
        _write_marker(stage, target, "writing")
        mode = _umask_mode(stage / MARKER)
    except OSError as exc:
        _unlock(lock)
        shutil.rmtree(stage, ignore_errors=True)
        raise _path_error(exc, target) from exc
    return stage, lock, mode


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
        raise _path_error(exc, target) from exc
    lock = _lock(target, blocking=True)
    try:
        previous = check_target(target, overwrite, inputs, new_names, _locked=True)
        new = {name: sha256(stage / name) or "" for name in new_names}
        _write_marker(stage, target, "swapping", previous, new)
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
            _write_marker(stage, target, "writing")
            raise OutputError(exc.filename or target, (
                "impossible de remplacer ce fichier (ouvert dans un autre programme, Excel par exemple, "
                "ou droits insuffisants) ; le dossier garde les fichiers de l'exécution précédente")) from exc
        shutil.rmtree(stage, ignore_errors=True)  # the previous set and the marker
    finally:
        _unlock(lock)


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
    inputs = _paths(inputs)
    check_target(target, overwrite, inputs, names)  # refuse before any work
    stage, lock, mode = _make_stage(target)
    try:
        try:
            with _signals("raise"):
                yield stage
                _event("staged")
        except (_Terminated, KeyboardInterrupt, GeneratorExit):
            raise
        except Exception as exc:
            error = _write_error(exc, stage, target)
            if error is not None:
                raise error from exc
            raise
        with _signals("hold"):
            _commit(stage, target, overwrite, inputs, mode)
    except _Terminated:
        raise KeyboardInterrupt from None
    finally:
        if _read_marker(stage) is None or _read_marker(stage)["state"] == "writing":
            shutil.rmtree(stage, ignore_errors=True)
        _unlock(lock)


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
        raise _path_error(exc, path) from exc
    try:
        try:
            with _signals("raise"):
                yield tmp
        except (_Terminated, KeyboardInterrupt, GeneratorExit):
            raise
        except Exception as exc:
            error = _write_error(exc, tmp, path)
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
    except _Terminated:
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
