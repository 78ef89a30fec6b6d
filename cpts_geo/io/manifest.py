"""The manifest of an output folder: ``summary.json`` names the tool and lists every file of the
run with its size and SHA-256, so that a later run deletes or replaces only files it can prove a
cpts_geo run wrote (:mod:`cpts_geo.io.atomic`).

``summary.json`` carries ``"tool": "cpts_geo"`` and ``files``: one ``{name, size, sha256}`` per
file of the folder, itself last (``size`` and ``sha256`` null: a file cannot hold its own hash).
A ``summary.json`` without the tool's name, without a hash for each file, or naming a path rather
than a file name is another program's: it describes no previous run and nothing it lists is
ever deleted.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

SUMMARY = "summary.json"
#: the value of ``tool`` in every ``summary.json`` a cpts_geo run writes
TOOL = "cpts_geo"
_SHA256 = re.compile(r"[0-9a-f]{64}")


def sha256(path: str | os.PathLike) -> str | None:
    """SHA-256 (hex) of the regular file ``path``; None when it is absent, a symbolic link or not
    a regular file (never one a run wrote).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> _ = p.write_bytes(b"abc")
    >>> sha256(p)[:16]
    'ba7816bf8f01cfea'
    """
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


@dataclass(frozen=True)
class Manifest:
    """The files a cpts_geo run wrote in one folder.

    Attributes
    ----------
    files : dict of str to str
        File name → SHA-256 of every file the run wrote, ``summary.json`` excepted.
    """

    files: dict[str, str]

    @property
    def names(self) -> set[str]:
        """Every file name of the run, ``summary.json`` included."""
        return set(self.files) | {SUMMARY}


def _file_name(name: object) -> bool:
    return (isinstance(name, str) and name not in ("", ".", "..") and "/" not in name
            and "\\" not in name and "\0" not in name)


def read_manifest(folder: str | os.PathLike) -> Manifest | None:
    """The manifest of ``folder/summary.json`` when a cpts_geo run wrote it, else None.

    Parameters
    ----------
    folder : path
        An output folder.

    Returns
    -------
    Manifest or None
        None when ``summary.json`` is absent, not a regular file, not JSON, or lacks the tool's
        name or a SHA-256 for one of its files (another program's summary, or one written by a
        cpts_geo older than the manifest).
    """
    path = Path(folder) / SUMMARY
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("tool") != TOOL or not isinstance(data.get("files"), list):
        return None
    files: dict[str, str] = {}
    for entry in data["files"]:
        if not isinstance(entry, dict) or not _file_name(entry.get("name")):
            return None
        if entry["name"] == SUMMARY:
            continue
        digest = entry.get("sha256")
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            return None
        files[entry["name"]] = digest
    return Manifest(files)


def write_manifest(folder: str | os.PathLike, exclude: tuple[str, ...] = ()) -> list[dict]:
    """Record in ``folder/summary.json`` the tool's name and every other file of ``folder``
    (``files``: ``{name, size, sha256}``, size in bytes), then rewrite it.

    Parameters
    ----------
    folder : path
        The staging folder of a run, holding its files and its ``summary.json``.
    exclude : tuple of str
        Names of the staging folder's own bookkeeping files, never part of the run.

    Returns
    -------
    list of dict
        The entries of the other files (``summary.json``'s own entry excluded).
    """
    folder = Path(folder)
    files = [{"name": p.name, "size": p.stat().st_size, "sha256": sha256(p)}
             for p in sorted(folder.iterdir()) if p.is_file() and p.name not in (SUMMARY, *exclude)]
    path = folder / SUMMARY
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    data["tool"] = TOOL
    data["files"] = files + [{"name": SUMMARY, "size": None, "sha256": None}]
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return files
