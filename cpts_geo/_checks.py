"""Checks of the arguments of the public functions, at their entry.

Every public function of cpts_geo checks the types and ranges of its arguments before any work
and raises an :class:`~cpts_geo.errors.OptionError` naming the Python parameter and the value
(``paramètre `gdf` : un GeoDataFrame ou une GeoSeries est attendu (valeur « None »)``), never
an ``AttributeError`` or a ``TypeError`` from deep inside pandas. The command line translates the
parameter into its flag (``cpts_geo.cli.options.PARAMETER_FLAGS``).

Each ``expect_*`` returns the value (converted where it says so), so a check reads as an
assignment at the top of a function::

    gdf = expect_frame(gdf, "gdf", geo=True)
    year = expect_year(from_year, "from_year", first=1968, last=2026)

Foundation layer: imports nothing of cpts_geo but :mod:`cpts_geo.errors`.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterable, Sequence
from typing import NoReturn

import numpy as np
import pandas as pd

from cpts_geo.errors import OptionError

#: characters of a value shown in an error message
SHOWN = 60
#: what a function taking a diagnosis expects
DIAGNOSIS = "un Diagnosis (résultat de cpts_geo.diagnose)"


def describe(value: object) -> str:
    """A short text of ``value`` for an error message: the value itself for text and numbers
    (text cut at :data:`SHOWN` characters), the type otherwise.

    >>> describe(None), describe("A5"), describe(-5), describe([1, 2]), describe(pd.DataFrame())
    ('None', 'A5', '-5', 'objet list', 'objet DataFrame')
    """
    if value is None or isinstance(value, (bool, numbers.Number)):
        return str(value)
    if isinstance(value, str):
        return value if len(value) <= SHOWN else value[:SHOWN] + "…"
    if isinstance(value, os.PathLike):
        return describe(os.fspath(value))
    return f"objet {type(value).__name__}"


def fail(name: str, value: object, message: str) -> NoReturn:
    """Raise the :class:`~cpts_geo.errors.OptionError` of parameter ``name``."""
    raise OptionError(name, describe(value), message)


def expect_instance(value: object, name: str, types: type | tuple[type, ...], what: str, *,
                    optional: bool = False) -> object:
    """``value`` as given, if an instance of ``types`` (or None when ``optional``); ``what`` is the
    French name of what is expected (« un Diagnosis (résultat de diagnose) »)."""
    if value is None and optional:
        return None
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        fail(name, value, f"{what} est attendu")
    if not isinstance(value, types):
        fail(name, value, f"{what} est attendu")
    return value


def expect_diagnosis(value: object, name: str) -> object:
    """A :class:`~cpts_geo.coverage.Diagnosis` (or a subclass), recognised by its class name:
    this foundation module may not import the coverage layer."""
    if not any(c.__name__ == "Diagnosis" for c in type(value).__mro__):
        fail(name, value, f"{DIAGNOSIS} est attendu")
    return value


def expect_columns(frame: pd.DataFrame, name: str, columns: Iterable[str]) -> pd.DataFrame:
    """``frame``, if it has every column of ``columns``."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        present = ", ".join(map(str, list(frame.columns)[:10])) or "aucune"
        raise OptionError(name, f"colonnes {present}",
                          "colonne absente : " + ", ".join(f"« {c} »" for c in missing))
    return frame


def expect_frame(value: object, name: str, *, columns: Iterable[str] = (), geo: bool = False,
                 series: bool = False, crs: bool = False, optional: bool = False) -> pd.DataFrame | None:
    """A DataFrame (a GeoDataFrame when ``geo``; a GeoSeries also accepted when ``geo`` and
    ``series``) holding ``columns``, with a coordinate reference system when ``crs``."""
    if value is None and optional:
        return None
    if geo:
        import geopandas as gpd

        types = (gpd.GeoDataFrame, gpd.GeoSeries) if series else gpd.GeoDataFrame
        what = "un GeoDataFrame ou une GeoSeries" if series else "un GeoDataFrame"
        expect_instance(value, name, types, what)
        if crs and value.crs is None:
            fail(name, value, "système de coordonnées absent (crs) : le déclarer avec set_crs, "
                              "par exemple set_crs(4326) pour des longitudes et latitudes")
    else:
        expect_instance(value, name, pd.DataFrame, "un tableau (DataFrame)")
    if isinstance(value, pd.DataFrame):
        expect_columns(value, name, columns)
    return value


def expect_series(value: object, name: str, *, optional: bool = False,
                  arrays: bool = False) -> pd.Series | None:
    """A pandas Series (an array or a list too when ``arrays``)."""
    if value is None and optional:
        return None
    if arrays:
        expect_instance(value, name, (pd.Series, np.ndarray, list, tuple),
                        "une série (Series), un tableau numpy ou une liste")
    else:
        expect_instance(value, name, pd.Series, "une série (Series) indexée par code INSEE")
    return value


def expect_text(value: object, name: str, *, optional: bool = False,
                choices: Sequence[str] | None = None) -> str | None:
    """A non-empty string (one of ``choices`` when given)."""
    if value is None and optional:
        return None
    if not isinstance(value, str):
        fail(name, value, "un texte est attendu")
    if not value.strip():
        fail(name, value, "un texte non vide est attendu")
    if choices is not None and value not in choices:
        fail(name, value, "valeurs possibles : " + ", ".join(choices))
    return value


def expect_choices(value: object, name: str, choices: Sequence[str], *,
                   optional: bool = False) -> tuple[str, ...] | None:
    """Several values among ``choices``: a list, tuple or set of them (not one bare string);
    returned as a tuple."""
    if value is None and optional:
        return None
    if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
        fail(name, value, "une liste de valeurs parmi " + ", ".join(choices) + " est attendue")
    for v in value:
        if v not in choices:
            fail(name, v, "valeur inconnue ; valeurs possibles : " + ", ".join(choices))
    return tuple(value)


def expect_path(value: object, name: str, *, optional: bool = False) -> str | os.PathLike | None:
    """A file name: a non-empty string or a path object."""
    if value is None and optional:
        return None
    if isinstance(value, os.PathLike):
        return value
    if not isinstance(value, str):
        fail(name, value, "un chemin de fichier (texte ou Path) est attendu")
    if not value.strip():
        fail(name, value, "un chemin de fichier non vide est attendu")
    return value


def expect_source(value: object, name: str, *, columns: Iterable[str] = (),
                  optional: bool = False) -> object:
    """A table given as a DataFrame (holding ``columns``) or as a file name."""
    if value is None and optional:
        return None
    if isinstance(value, pd.DataFrame):
        return expect_columns(value, name, columns)
    if isinstance(value, (str, os.PathLike)):
        return expect_path(value, name)
    fail(name, value, "un tableau (DataFrame) ou un chemin de fichier est attendu")


def expect_int(value: object, name: str, *, optional: bool = False, minimum: int | None = None,
               maximum: int | None = None) -> int | None:
    """An integer (numpy integers accepted, booleans refused) within [minimum, maximum]."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        fail(name, value, "un nombre entier est attendu")
    value = int(value)
    if minimum is not None and value < minimum:
        fail(name, value, f"un entier supérieur ou égal à {minimum} est attendu")
    if maximum is not None and value > maximum:
        fail(name, value, f"un entier inférieur ou égal à {maximum} est attendu")
    return value


def expect_number(value: object, name: str, *, optional: bool = False,
                  minimum: float | None = None, maximum: float | None = None,
                  strict: bool = False) -> float | None:
    """A finite real number within [minimum, maximum] (]minimum, maximum] when ``strict``)."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        fail(name, value, "un nombre fini est attendu")
    value = float(value)
    if minimum is not None and (value <= minimum if strict else value < minimum):
        fail(name, value, f"un nombre {'strictement ' if strict else ''}supérieur"
                          f"{'' if strict else ' ou égal'} à {minimum:g} est attendu")
    if maximum is not None and value > maximum:
        fail(name, value, f"un nombre inférieur ou égal à {maximum:g} est attendu")
    return value


def expect_bool(value: object, name: str) -> bool:
    """True or False (numpy booleans accepted)."""
    if not isinstance(value, (bool, np.bool_)):
        fail(name, value, "True ou False est attendu")
    return bool(value)


def expect_year(value: object, name: str, *, first: int, last: int,
                optional: bool = False) -> int | None:
    """A year of the embedded history, within [first, last] (a COG year, a population year)."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        fail(name, value, f"une année est attendue (entre {first} et {last})")
    value = int(value)
    if not first <= value <= last:
        fail(name, value, f"année hors de l'historique embarqué de cpts_geo ({first} à {last})")
    return value


def expect_non_negative(value: object, name: str) -> np.ndarray:
    """Numbers ≥ 0 (a number, a list, an array or a Series; missing values allowed), returned
    as a float array; the first negative or infinite value is named."""
    if value is None or isinstance(value, (str, bytes, bool, dict)):
        fail(name, value, "un nombre ou une suite de nombres est attendu")
    if isinstance(value, (pd.Series, pd.Index)):
        values = value.to_numpy()
    else:
        values = value
    try:
        arr = np.asarray(values, dtype="float64")
    except (TypeError, ValueError):
        fail(name, value, "des nombres sont attendus")
    bad = np.flatnonzero((arr.ravel() < 0) | np.isinf(arr.ravel()))
    if len(bad):
        v = arr.ravel()[bad[0]]
        raise OptionError(name, describe(float(v) if not float(v).is_integer() else int(v)),
                          "des nombres positifs ou nuls et finis sont attendus")
    return arr


def expect_codes(value: object, name: str, *, optional: bool = False) -> object:
    """Codes or names of communes: one text or number, or an iterable of them (not a mapping,
    not None)."""
    if value is None and optional:
        return None
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        return value
    if isinstance(value, (str, pd.Series, pd.Index, np.ndarray, list, tuple, set, frozenset)):
        return value
    if isinstance(value, (bytes, dict, pd.DataFrame)) or not isinstance(value, Iterable):
        fail(name, value, "un code INSEE ou une liste de codes est attendu")
    return value
