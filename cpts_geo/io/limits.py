"""Bounds on what a reader of cpts_geo accepts: file size, cell length, rows, cells, sheets,
features, and the decompressed size of a workbook.

A listing, a proposal or a table a user brings is read whole into memory; a hostile or broken
file (a 100 KB workbook whose one cell holds 100 million characters, a zip bomb, a GeoJSON of
ten million features) would hold the machine for minutes. Every reader of :mod:`cpts_geo.io`
checks these bounds as early as it can — the size of a file before reading it, the sizes a
workbook's zip directory declares before openpyxl parses anything, the number of features
before GDAL reads them — and raises :class:`~cpts_geo.errors.LimitError` naming the limit and
how to raise it.

The defaults sit far above real use: the national listing is about 40,000 rows, the largest
benchmark listing 200,000 rows (``benchmarks/bench_large.py``); a CPTS drawn as 100,000
features and a 5,000-character name pass.

Raising a limit: ``limits=ReadLimits(rows=5_000_000)`` (or ``DEFAULT_LIMITS.replace(...)``) to
:func:`cpts_geo.read_members`, :func:`cpts_geo.io.read_table` and the other readers; for the
command line and the local app, the environment variable ``CPTS_GEO_LIMITS``, e.g.
``CPTS_GEO_LIMITS="rows=5000000,cell_chars=1000000"``, read by :func:`current_limits` whenever
no ``limits`` is given.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass

from cpts_geo.errors import CptsGeoError

#: name of the environment variable read by :func:`current_limits`
ENV_VAR = "CPTS_GEO_LIMITS"

_MIB = 2**20


@dataclass(frozen=True)
class ReadLimits:
    """The bounds of one reading (frozen: a value, replaced with :meth:`replace`).

    Parameters
    ----------
    file_bytes : int
        Size of an input file, in bytes (default 512 Mio).
    cell_chars : int
        Characters in one cell, one JSON value or one GIS attribute (default 100,000: a wide
        listing of 300 communes by name fills under 15,000).
    rows : int
        Rows of a table or of one sheet, records of a JSON file (default 2,000,000).
    cells : int
        Rows × columns of one table (default 40,000,000: a row padded to a far column costs
        that many cells).
    sheets : int
        Sheets of a workbook (default 1,000).
    features : int
        Features of a GIS file, all layers together (default 2,000,000).
    xlsx_bytes : int
        Total uncompressed size of the members of a workbook (XLSX, ODS), as its zip directory
        declares it (default 1 Gio).
    zip_ratio : float
        Uncompressed / compressed size of one workbook member larger than 1 Mio (default 500;
        real workbooks stay under 100, the 100-million-character cell is about 1,000).

    Examples
    --------
    >>> ReadLimits().rows
    2000000
    >>> ReadLimits().replace(rows=10).rows
    10
    """

    file_bytes: int = 512 * _MIB
    cell_chars: int = 100_000
    rows: int = 2_000_000
    cells: int = 40_000_000
    sheets: int = 1_000
    features: int = 2_000_000
    xlsx_bytes: int = 1024 * _MIB
    zip_ratio: float = 500.0

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
                raise CptsGeoError(f"limite de lecture « {f.name} » : nombre strictement positif attendu "
                                   f"(valeur « {v} »)")

    def replace(self, **changes: float) -> ReadLimits:
        """A copy with some limits changed (``limits.replace(rows=5_000_000)``).

        Raises
        ------
        CptsGeoError
            For a name that is not a limit or a value that is not a positive number.
        """
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise CptsGeoError(f"limite de lecture inconnue : {', '.join(sorted(unknown))} ; limites : "
                               + ", ".join(f.name for f in dataclasses.fields(self)))
        return dataclasses.replace(self, **changes)


#: the limits used when neither ``limits=`` nor :data:`ENV_VAR` says otherwise
DEFAULT_LIMITS = ReadLimits()


def parse_limits(text: str, base: ReadLimits = DEFAULT_LIMITS) -> ReadLimits:
    """``base`` with the limits written ``name=value,name=value`` (the form of :data:`ENV_VAR`).

    Parameters
    ----------
    text : str
        Comma-separated ``name=value`` pairs; ``_`` may group digits (``rows=5_000_000``).
    base : ReadLimits
        Limits kept for the names not given.

    Returns
    -------
    ReadLimits

    Raises
    ------
    CptsGeoError
        Naming the variable and the pair that cannot be read.

    Examples
    --------
    >>> parse_limits("rows=10, cell_chars=1_000").cell_chars
    1000
    """
    changes: dict[str, float] = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = pair.partition("=")
        try:
            if not sep:
                raise ValueError
            number = float(value.replace("_", "").strip())
            changes[name.strip()] = int(number) if number.is_integer() and name.strip() != "zip_ratio" else number
        except ValueError:
            raise CptsGeoError(f"variable d'environnement {ENV_VAR} : « {pair} » n'est pas de la forme "
                               "nom=nombre (ex. rows=5000000)") from None
    try:
        return base.replace(**changes)
    except CptsGeoError as exc:
        raise CptsGeoError(f"variable d'environnement {ENV_VAR} : {exc}") from None


def current_limits(environ: Mapping[str, str] | None = None) -> ReadLimits:
    """:data:`DEFAULT_LIMITS` with the changes written in :data:`ENV_VAR`, if set.

    Examples
    --------
    >>> current_limits({"CPTS_GEO_LIMITS": "sheets=3"}).sheets
    3
    """
    env = os.environ if environ is None else environ
    text = env.get(ENV_VAR, "").strip()
    return parse_limits(text) if text else DEFAULT_LIMITS


def resolve(limits: ReadLimits | None) -> ReadLimits:
    """``limits`` when given, else :func:`current_limits`; anything else is refused naming
    the parameter."""
    if limits is None:
        return current_limits()
    if not isinstance(limits, ReadLimits):
        raise CptsGeoError(f"paramètre `limits` : ReadLimits attendu (valeur « {limits!r} »)")
    return limits


_LABELS = {
    "file_bytes": "taille de fichier", "cell_chars": "caractères par cellule", "rows": "lignes",
    "cells": "cellules (lignes × colonnes)", "sheets": "feuilles", "features": "entités géographiques",
    "xlsx_bytes": "taille décompressée du classeur", "zip_ratio": "taux de compression d'un élément du classeur",
}


def _amount(name: str, value: float) -> str:
    from cpts_geo import fr

    if name.endswith("_bytes"):
        return f"{fr.number(value / _MIB, 1 if value < 10 * _MIB else 0)} Mio"
    if name == "zip_ratio":
        return f"{fr.number(value, 0)} pour 1"
    return fr.integer(value)


def exceeded(name: str, found: float, limits: ReadLimits, what: str | None = None) -> str:
    """French text of a limit exceeded: what was found, the limit, and how to raise it.

    Examples
    --------
    >>> print(exceeded("rows", 3_000_000, DEFAULT_LIMITS).split(" ; ")[1])
    pour la relever : limits=ReadLimits(rows=…) en Python, ou variable d'environnement CPTS_GEO_LIMITS="rows=…"
    """
    limit = getattr(limits, name)
    label = _LABELS[name]
    if name.endswith("_bytes") or name == "zip_ratio":
        head = f"{what or label} : {_amount(name, found)}"
        bound = f"au-delà de la limite de lecture de {_amount(name, limit)} ({name})"
    else:
        head = what or f"{_amount(name, found)} {label}"
        bound = f"au-delà de la limite de lecture de {_amount(name, limit)} {label} ({name})"
    return (f"{head} : {bound} ; pour la relever : limits=ReadLimits({name}=…) en Python, ou variable "
            f"d'environnement {ENV_VAR}=\"{name}=…\"")
