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
from collections.abc import Iterator, Mapping
from pathlib import Path

import geopandas as gpd
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


def load_communes(
    kinds: tuple[str, ...] = ("commune", "arrondissement", "com_outre_mer"),
) -> gpd.GeoDataFrame:
    """All units of COG 2026 as a GeoDataFrame in EPSG:4326.

    Columns: ``code`` (5-char INSEE code), ``nom``, ``kind`` (commune, arrondissement,
    com_outre_mer), ``parent`` (city code of an arrondissement), ``dep``, ``reg``, ``zone``
    (metro / drom / com), ``epci`` (SIREN), ``population`` (population municipale légale 2023),
    ``population_source`` (its vintage and kind in French: "populations légales 2023" for nearly
    all; Mayotte "recensement 2017 (population légale en vigueur)", the census year of each
    collectivité d'outre-mer that holds its own), ``dens7`` (INSEE density level 1-7, 2024), ``aav2020``, ``cateaav2020``, ``bv2022``,
    ``mairie_lon``/``mairie_lat`` (town hall, degrees), ``geometry_source`` and ``geometry``.
    Every commune of mainland France, Corsica and the DROM has an outline and together they form
    a valid coverage without holes (except Llívia, a Spanish exclave); the collectivités
    d'outre-mer have no geometry. ``attrs`` holds vintages, sources and the build identifier.
    """
    gdf = _communes()
    out = gdf[gdf["kind"].isin(kinds)].copy() if kinds else gdf.copy()
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
    """EPCI 2026: ``epci`` (SIREN), ``nom``, ``type``, ``n_communes``, ``population`` (sum of its
    communes' populations légales 2023, the vintage of every other figure) and
    ``population_dgcl`` (the figure of the DGCL list, an older vintage, kept for reference)."""
    out = _epci().copy()
    out.attrs = {"population_year": POPULATION_YEAR, "sources": {"epci": SOURCES["epci"]}}
    return out


@functools.cache
def load_departements() -> pd.DataFrame:
    return pd.read_csv(data_dir() / "communes" / "departements.csv", dtype=str)


@functools.cache
def load_regions() -> pd.DataFrame:
    return pd.read_csv(data_dir() / "communes" / "regions.csv", dtype=str)
