"""The embedded national commune reference (COG 2026, populations légales 2023).

Everything here reads files under ``data/communes/`` (see its README for sources, vintages and
licences) and caches them: the first :func:`load_communes` call reads the GeoParquet, later calls
return a copy of the cached frame.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

COG_YEAR = 2026
POPULATION_YEAR = 2023
#: French note for the units whose population is not of POPULATION_YEAR (column population_source)
POPULATION_NOTE = (
    "Populations légales 2023, sauf Mayotte (recensement 2017, population légale en vigueur), "
    "Nouvelle-Calédonie (recensement 2025), Polynésie française (recensement 2022) et "
    "Wallis-et-Futuna (recensement 2023) : voir la colonne population_source."
)

class _Sources(Mapping):
    """Descriptions of the sources of each column (``"population"``, ``"geometry"``...), with the
    versions of the packages they came from: written by ``data/build_reference.py`` into
    ``build_report.json`` and read from it on first use."""

    def _data(self) -> dict:
        return _build_report()["sources"]

    def __getitem__(self, key: str) -> str:
        return self._data()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data())

    def __len__(self) -> int:
        return len(self._data())

    def __repr__(self) -> str:
        return f"SOURCES({self._data()!r})"


SOURCES: Mapping[str, str] = _Sources()

#: the sources of the reference as a person reads them (app, reports): French, no file path, no
#: package version (those stay in :data:`SOURCES` and ``build_report.json``)
SOURCES_FR: Mapping[str, str] = {
    "communes": f"INSEE, code officiel géographique {COG_YEAR} (communes au 1er janvier {COG_YEAR})",
    "population": (f"INSEE, populations légales {POPULATION_YEAR} (population municipale), en vigueur "
                   f"au 1er janvier {POPULATION_YEAR + 3}"),
    "geometry": ("contours des communes IGN ADMIN EXPRESS (Licence Ouverte), rendus jointifs (sans trou "
                 "ni recouvrement entre communes voisines)"),
    "epci": f"INSEE / DGCL, composition des EPCI au 1er janvier {COG_YEAR}",
}

#: (arrondissement code prefix, city code) of Paris, Lyon and Marseille
PLM_CITIES = {"75056": "Paris", "69123": "Lyon", "13055": "Marseille"}


def data_dir() -> Path:
    """Folder holding the embedded data (``$CPTS_GEO_DATA`` overrides it)."""
    env = os.environ.get("CPTS_GEO_DATA")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parent.parent / "data"
    if (repo / "communes" / "communes.parquet").exists():
        return repo
    installed = Path(sys.prefix) / "share" / "cpts_geo"
    if (installed / "communes" / "communes.parquet").exists():
        return installed
    raise FileNotFoundError(
        "cpts_geo reference data not found: set CPTS_GEO_DATA to the data/ folder of a cpts_geo checkout"
    )


@functools.cache
def _communes() -> gpd.GeoDataFrame:
    gdf = gpd.read_parquet(data_dir() / "communes" / "communes.parquet")
    gdf.attrs = metadata()
    return gdf


@functools.cache
def _build_report() -> dict:
    return json.loads((data_dir() / "communes" / "build_report.json").read_text())


def build_id() -> str:
    """Identifier (hash of the data files) of the embedded reference build, to cite in outputs."""
    return _build_report()["build_id"]


def build_outputs() -> dict[str, str]:
    """SHA-256 of each data file the reference build wrote (``build_report.json``)."""
    return dict(_build_report().get("outputs_sha256", {}))


def metadata() -> dict:
    """Vintages, sources and build identifier of the embedded reference (a fresh dict on each
    call). ``sources`` and ``inputs`` (package versions, file hashes) are those the build wrote."""
    build = _build_report()
    return {
        "cog": COG_YEAR,
        "population_year": POPULATION_YEAR,
        "population_kind": "municipale",
        "population_note": POPULATION_NOTE,
        "crs_note": "EPSG:4326; use cpts_geo.area_km2 / split_by_zone for areas and distances",
        "gap_width_m": build["gap_width_m"],
        "build_id": build["build_id"],
        "sources": dict(build["sources"]),
        "inputs": {k: dict(v) for k, v in build["inputs"].items()},
    }


#: the kinds of units of the reference (``kind`` column of :func:`load_communes`)
UNIT_KINDS: tuple[str, ...] = ("commune", "arrondissement", "com_outre_mer")


def load_communes(
    kinds: tuple[str, ...] = ("commune", "arrondissement", "com_outre_mer"),
) -> gpd.GeoDataFrame:
    """All units of COG 2026 as a GeoDataFrame in EPSG:4326.

    Parameters
    ----------
    kinds : tuple of str, default ("commune", "arrondissement", "com_outre_mer")
        Kinds of unit to keep: ``"commune"``, ``"arrondissement"`` (the 45 municipal
        arrondissements of Paris, Lyon and Marseille) and ``"com_outre_mer"`` (communes of the
        collectivités d'outre-mer, without geometry).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per unit. Columns: ``code`` (5-char INSEE code), ``nom``, ``kind``, ``parent``
        (city code of an arrondissement), ``dep``, ``reg``, ``zone`` (metro / drom / com),
        ``epci`` (SIREN), ``population`` (population municipale légale 2023),
        ``population_source`` (its vintage and kind in French: "populations légales 2023" for
        nearly all; Mayotte "recensement 2017 (population légale en vigueur)", the census year of
        each collectivité d'outre-mer that holds its own), ``dens7`` (INSEE density level 1-7,
        2024), ``aav2020``, ``cateaav2020``, ``bv2022``, ``mairie_lon``/``mairie_lat`` (town hall,
        degrees), ``geometry_source`` and ``geometry``. ``attrs`` holds vintages, sources and the
        build identifier.

    Notes
    -----
    Every commune of mainland France, Corsica and the DROM has an outline and together they form
    a valid coverage without holes (except Llívia, a Spanish exclave); the collectivités
    d'outre-mer have no geometry. Provenance: ``data/communes/README.md``.

    Examples
    --------
    >>> c = load_communes()
    >>> c["kind"].value_counts().to_dict()
    {'commune': 34875, 'com_outre_mer': 94, 'arrondissement': 45}
    >>> c.loc[c["code"] == "04070", ["nom", "dep", "population"]].values.tolist()
    [['Digne-les-Bains', '04', 17979]]
    """
    from cpts_geo._checks import expect_choices

    wanted = expect_choices(kinds, "kinds", UNIT_KINDS, optional=True)
    gdf = _communes()
    out = gdf[gdf["kind"].isin(wanted)].copy() if wanted else gdf.copy()
    out.attrs = metadata()
    return out


@functools.cache
def load_steps() -> pd.DataFrame:
    """Code changes between consecutive COG years, 1968 → 2026 (one row per old→new code):
    ``ratio`` is the share of the old commune's population going to the new one; for splits,
    ``ratio_source`` says whose populations: ``pop2023`` (populations légales 2023 of the current
    parts: défusions of 2024-2025) or ``cogugaison`` (COGugaison, at the time of the split)."""
    steps = pd.read_csv(
        data_dir() / "communes" / "cog_steps.csv",
        dtype={"code_old": str, "code_new": str, "kind": str, "date": str, "ratio_source": str},
        keep_default_na=False, na_values={"ratio": [""]},
    )
    # object columns: hash-based isin/merge (arrow-backed strings fall back to Python loops)
    for col in ("code_old", "code_new", "kind", "date", "ratio_source"):
        steps[col] = steps[col].astype(object)
    return steps


@functools.cache
def load_names() -> pd.DataFrame:
    """Names of current, delegated, associated and former communes with their code and dep."""
    return pd.read_csv(data_dir() / "communes" / "names.csv", dtype=str, keep_default_na=False)


@functools.cache
def load_postal() -> pd.DataFrame:
    """Postal code → commune code (a frequent confusion in listings)."""
    return pd.read_csv(data_dir() / "communes" / "postal.csv", dtype=str)


@functools.cache
def _epci() -> pd.DataFrame:
    return pd.read_csv(
        data_dir() / "communes" / "epci.csv", dtype={"epci": str, "population_dgcl": "Int64"}
    )


def load_epci() -> pd.DataFrame:
    """The EPCI of 2026 (intercommunalités à fiscalité propre).

    Returns
    -------
    pandas.DataFrame
        One row per EPCI: ``epci`` (SIREN), ``nom``, ``type``, ``n_communes``, ``population``
        (sum of its communes' populations légales 2023, the vintage of every other figure) and
        ``population_dgcl`` (the figure of the DGCL list, an older vintage, kept for reference).
        ``attrs`` holds the population year and the source.

    Examples
    --------
    >>> e = load_epci()
    >>> len(e)
    1255
    >>> e.loc[e["epci"] == "200067122", "n_communes"].item()
    11
    """
    out = _epci().copy()
    out.attrs = {"population_year": POPULATION_YEAR, "sources": {"epci": SOURCES["epci"]}}
    return out


@functools.cache
def load_departements() -> pd.DataFrame:
    """The departments of COG 2026.

    Returns
    -------
    pandas.DataFrame
        One row per department: ``code`` (``"01"``, ``"2A"``, ``"974"``), ``nom``, ``region``
        (region code) and ``zone`` (metro / drom / com).

    Examples
    --------
    >>> d = load_departements()
    >>> d.loc[d["code"] == "04", ["nom", "region"]].values.tolist()
    [['Alpes-de-Haute-Provence', '93']]
    """
    return pd.read_csv(data_dir() / "communes" / "departements.csv", dtype=str)


@functools.cache
def load_regions() -> pd.DataFrame:
    """The regions of COG 2026.

    Returns
    -------
    pandas.DataFrame
        One row per region: ``code`` (``"93"``), ``nom`` and ``zone`` (metro / drom / com).

    Examples
    --------
    >>> r = load_regions()
    >>> r.loc[r["code"] == "93", "nom"].item()
    "Provence-Alpes-Côte d'Azur"
    """
    return pd.read_csv(data_dir() / "communes" / "regions.csv", dtype=str)


# ------------------------------------------------------------------------------------------
# The one unit table, and Paris / Lyon / Marseille (city ↔ municipal arrondissements)
# ------------------------------------------------------------------------------------------

#: attribute columns of :func:`units` (no geometry: :func:`load_communes` has it)
UNIT_ATTRIBUTES = ("nom", "kind", "parent", "dep", "reg", "zone", "epci", "population",
                   "population_source", "dens7", "aav2020", "cateaav2020", "bv2022")


@functools.cache
def _units() -> pd.DataFrame:
    c = _communes()
    code = c["code"].to_numpy(dtype=object)
    cols = {}
    for k in UNIT_ATTRIBUTES:
        if k in ("population", "dens7"):
            cols[k] = c[k].reset_index(drop=True)
        else:
            v = c[k].to_numpy(dtype=object)
            cols[k] = pd.Series(np.where(pd.isna(v), None, v), dtype=object)
    # no attrs: pandas deep-copies them on every access (.at cost 290 µs instead of 70 µs);
    # vintages and sources are in metadata()
    return pd.DataFrame(cols).set_axis(pd.Index(code, dtype=object, name="code"))


def units() -> pd.DataFrame:
    """The unit table of the reference: one row per unit of COG 2026 (communes, municipal
    arrondissements, collectivités d'outre-mer), indexed by ``code`` (object dtype: hash-based
    ``isin``/``reindex``/``get_indexer``). Columns: those of :data:`UNIT_ATTRIBUTES`, texts and
    codes as object (None when missing), ``population`` (municipale 2023, Int64) and ``dens7``
    (Int8) as in :func:`load_communes`.

    Cached and shared: do not modify it in place (copy it first)."""
    return _units()


@functools.cache
def _plm_table() -> pd.DataFrame:
    u = _units()
    arr = u.index[(u["kind"] == "arrondissement").to_numpy()]
    t = pd.DataFrame({"city": pd.Series(u.loc[arr, "parent"].to_numpy(dtype=object), dtype=object),
                      "arrondissement": pd.Series(arr.to_numpy(dtype=object), dtype=object)})
    # object columns: hash-based isin / merge (arrow-backed strings make isin a Python loop)
    return t.sort_values(["city", "arrondissement"], ignore_index=True)


def plm_arrondissements(city: str) -> tuple[str, ...]:
    """Codes of the municipal arrondissements of ``city`` (75056, 69123, 13055), sorted; () for
    any other code."""
    t = _plm_table()
    return tuple(t.loc[t["city"] == city, "arrondissement"])


def plm_cities(codes: object) -> frozenset[str]:
    """Cities (75056, 69123, 13055) of which at least one arrondissement is among ``codes``."""
    t = _plm_table()
    values = codes if isinstance(codes, (set, frozenset)) else set(np.asarray(codes, dtype=object).reshape(-1).tolist())
    return frozenset(c for c, a in zip(t["city"], t["arrondissement"], strict=True) if a in values)


def plm_expand(codes: object, cities: Iterable[str] | None = None) -> pd.DataFrame:
    """Expand whole-city codes into their arrondissements.

    One row per (input position, unit): ``row`` (position in ``codes``), ``code`` (the input code)
    and ``unit`` — the arrondissements of a city of ``cities`` (default: the three), the code
    itself otherwise (missing codes included). Rows keep the input order, arrondissements sorted.
    """
    codes = np.asarray(codes, dtype=object).reshape(-1)
    t = _plm_table()
    if cities is not None:
        t = t[t["city"].isin(set(cities))]
    city = t["city"].to_numpy(dtype=object)
    arr = t["arrondissement"].to_numpy(dtype=object)
    cities_idx = pd.Index(pd.unique(city), dtype=object)
    which = cities_idx.get_indexer(codes) if len(t) else np.full(len(codes), -1)
    hit = which >= 0
    # table rows of each city (sorted by city, then arrondissement)
    start = np.searchsorted(city, cities_idx.to_numpy())
    count = np.searchsorted(city, cities_idx.to_numpy(), side="right") - start
    rep = np.where(hit, count[which], 1)
    row = np.repeat(np.arange(len(codes)), rep)
    unit = np.repeat(codes, rep).astype(object)
    h = np.repeat(hit, rep)
    if h.any():
        first = np.repeat(np.where(hit, start[which], 0), rep)
        offset = np.arange(len(row)) - np.repeat(np.cumsum(rep) - rep, rep)
        unit[h] = arr[(first + offset)[h]]
    return pd.DataFrame({"row": row, "code": pd.Series(np.repeat(codes, rep), dtype=object),
                         "unit": pd.Series(unit, dtype=object)})


def plm_mean(values: pd.Series, weights: pd.Series | None = None, cities: Iterable[str] | None = None) -> pd.Series:
    """Value of each whole city (75056, 69123, 13055; or those of ``cities``) as the weighted
    mean of its arrondissements' ``values`` (Series by code), for the cities all of whose
    arrondissements are in ``values.index``. ``weights`` (Series by code, default 1) are
    typically populations; NaN values and weights that are NaN or ≤ 0 are left out; NaN for a
    city with nothing left. Indexed by city code (object), float."""
    t = _plm_table()
    if cities is not None:
        t = t[t["city"].isin(set(cities))]
    idx = pd.Index(values.index)  # a set of every code is slow on Arrow strings: look up the few
    have = t["arrondissement"].isin(set(idx[idx.isin(t["arrondissement"].tolist())]))
    complete = have.groupby(t["city"]).all()
    t = t[t["city"].isin(set(complete.index[complete.to_numpy()]))]
    arr = pd.Index(t["arrondissement"].to_numpy(dtype=object))
    v = values.reindex(arr).to_numpy(dtype=float)
    w = np.ones(len(arr)) if weights is None else weights.reindex(arr).to_numpy(dtype=float)
    ok = ~np.isnan(v) & (w > 0)
    city = t["city"].to_numpy(dtype=object)
    num = pd.Series(np.where(ok, v * np.where(ok, w, 0.0), 0.0)).groupby(city).sum()
    den = pd.Series(np.where(ok, w, 0.0)).groupby(city).sum()
    out = (num / den.where(den > 0)).astype(float)
    out.index = pd.Index(out.index, dtype=object)
    return out


def plm_collapse(codes: object) -> np.ndarray:
    """Each arrondissement code replaced by its city code, any other value unchanged (object
    array, same length as ``codes``)."""
    codes = np.asarray(codes, dtype=object).reshape(-1)
    city_of = _plm_city_of()
    # isin over the few arrondissements, then a dict for the hits: 3x faster than get_indexer
    hit = np.flatnonzero(pd.Index(codes, dtype=object).isin(list(city_of)))
    out = codes.copy()
    out[hit] = [city_of[c] for c in codes[hit]]
    return out


@functools.cache
def _plm_city_of() -> dict[str, str]:
    t = _plm_table()
    return dict(zip(t["arrondissement"], t["city"], strict=True))
