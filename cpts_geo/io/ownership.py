"""What a run may delete or replace: files the previous run's manifest proves a cpts_geo run
wrote, unchanged since, and never an input (see :mod:`cpts_geo.io.atomic`).

A file no cpts_geo run wrote: its folder is refused unless ``overwrite=True`` (``--force``), and
even then such a file is never replaced (a run whose file would take its name is refused). A
file listed by the previous run whose content changed since (its hash no longer matches): the run
is refused, naming it. A ``summary.json`` written by another program (no tool name, no hashes):
it describes no previous run, so nothing it lists is deleted. An input of the run: an output that
resolves to it (itself, a symbolic or a hard link) is refused, with or without ``overwrite``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from cpts_geo.errors import OutputError
from cpts_geo.io.manifest import SUMMARY, read_manifest, sha256
from cpts_geo.io.staging import acquire_lock, finish_interrupted, release_lock, signals


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


def input_paths(inputs: Iterable[object] | None) -> list[str]:
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
    for source in input_paths(inputs):
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


def check_creatable(path: str | os.PathLike) -> None:
    """Refuse, before any work, an output path under a file (``rapport.docx/sortie``): its nearest
    existing ancestor must be a folder.

    Raises
    ------
    OutputError
        Naming ``path`` and the file in the way.
    """
    path = Path(path)
    parent = path.parent
    while not os.path.lexists(parent) and parent != parent.parent:
        parent = parent.parent
    if os.path.lexists(parent) and not parent.is_dir():
        raise OutputError(path, f"une partie du chemin de sortie est un fichier, pas un dossier : {parent}")


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
    check_creatable(target)
    lock = acquire_lock(target, blocking=True) if not _locked and target.is_dir() else None
    try:
        with signals("hold"):
            finish_interrupted(target, _locked=_locked or lock is not None)
        if not target.is_dir():
            return {}
        return _check_contents(target, overwrite, input_paths(inputs), set(names))
    finally:
        release_lock(lock)


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
            shown += (" ; ce summary.json ne prouve pas qu'une exécution de cpts-geo les a écrits : ni nom "
                      "d'outil ni empreintes SHA-256 (autre programme, ou version antérieure de cpts-geo)")
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
