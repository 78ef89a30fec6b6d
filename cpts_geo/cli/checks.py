"""Checks of CLI arguments at the boundary: a French error naming the option and the value
(:class:`~cpts_geo.errors.OptionError`, :class:`~cpts_geo.errors.InputError`; exit 2)."""

from __future__ import annotations

import math
from pathlib import Path

from cpts_geo.errors import InputError, OptionError

#: suffixes that make an argument a file name rather than a code or a commune name
FILE_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xls", ".ods", ".json", ".geojson", ".gpkg",
                 ".parquet", ".shp", ".zip")


def looks_like_path(text: str) -> bool:
    """True for ``propositon.csv``, ``data/liste`` or ``C:\\liste``: a suffix of a table or
    geometry file, or a path separator."""
    return "/" in text or "\\" in text or text.lower().endswith(FILE_SUFFIXES)


def check_file_argument(value: str | Path | None, option: str, file_only: bool = False) -> None:
    """An argument that looks like a file name (any value when ``file_only``) must be an existing
    file ("fichier introuvable" otherwise); a folder where a file is expected is refused too."""
    if value is None:
        return
    text = str(value)
    path = Path(text)
    if path.is_dir():
        raise InputError("un dossier a été donné là où un fichier est attendu", text)
    if (file_only or looks_like_path(text)) and not path.exists():
        raise InputError(f"fichier introuvable ({option})", text)


def check_outputs(outputs: dict[str, str | Path | None], inputs: list[object]) -> None:
    """Output files of a command (option → path, None when not asked), checked before any work:
    none is an input (:func:`cpts_geo.io.ownership.check_not_input`, even with ``--force``), none
    is a folder or under a file, no two are the same file."""
    from cpts_geo.errors import OutputError
    from cpts_geo.io.ownership import check_creatable, check_distinct, check_not_input

    asked = {option: path for option, path in outputs.items() if path is not None}
    for option, path in asked.items():
        try:
            check_not_input(path, inputs)
        except OutputError as exc:
            raise OutputError(exc.path, f"{exc.message} ({option})") from None
        if Path(path).is_dir():
            raise OutputError(path, f"un dossier existe à ce nom ; indiquer un nom de fichier ({option})")
        check_creatable(path)
    check_distinct(asked.values())


def check_fraction(value: float, option: str) -> None:
    """A share in ]0, 1]."""
    if not (isinstance(value, (int, float)) and math.isfinite(value) and 0 < value <= 1):
        raise OptionError(option, value, "part attendue entre 0 (exclu) et 1 (inclus), ex. 0,5")


def check_departments(codes: list[str] | None, option: str) -> list[str] | None:
    """Department codes of the COG (``04``, ``2A``, ``971``); "4" is read as "04"."""
    if not codes:
        return codes
    from cpts_geo.reference import load_communes

    known = set(load_communes()["dep"].astype(str))
    out = []
    for code in codes:
        c = code.strip().upper()
        if c.isdigit() and len(c) == 1:
            c = "0" + c
        if c not in known:
            raise OptionError(option, code, "code de département inconnu (ex. 04, 2A, 971)")
        out.append(c)
    return out


def check_regions(codes: list[str] | None, option: str) -> list[str] | None:
    """Region codes of the COG (``93``, ``01`` Guadeloupe); "1" is read as "01"."""
    if not codes:
        return codes
    from cpts_geo.reference import load_regions

    known = set(load_regions()["code"].astype(str))
    out = []
    for code in codes:
        c = code.strip()
        if c.isdigit() and len(c) == 1:
            c = "0" + c
        if c not in known:
            raise OptionError(option, code, "code de région inconnu (ex. 93 Provence-Alpes-Côte d'Azur, "
                                            "84 Auvergne-Rhône-Alpes)")
        out.append(c)
    return out
