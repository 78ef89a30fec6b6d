"""The version of cpts_geo, written only in ``pyproject.toml``.

Read from the installed distribution's metadata (:mod:`importlib.metadata`); in a source tree
that is not installed, read from the ``pyproject.toml`` next to the package.
"""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path


def _version() -> str:
    try:
        return metadata.version("cpts_geo")
    except metadata.PackageNotFoundError:
        pass
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    try:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "0+unknown"
    return str(project["version"]) if project.get("name") == "cpts_geo" else "0+unknown"


__version__: str = _version()
