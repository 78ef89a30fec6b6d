"""Dissolved perimeters of CPTS, and frame views of the analysis units.

The units, their adjacency and the reference topology are the core model of
:mod:`cpts_geo.units` (computed once by ``data/build_reference.py``); the memberships are an
:class:`~cpts_geo.incidence.Incidence`. This module exploits the reference coverage (adjacent
communes share their edges vertex for vertex):

* a CPTS perimeter is the coverage-aware union (``shapely.coverage_union_all``) of its units,
  about 10× faster than a general union and exact on a valid coverage (holes are kept);
* areas are sums of unit areas measured in the official projected CRS of each zone
  (:func:`cpts_geo.area_km2`), never in degrees;
* :func:`analysis_units`, :func:`unit_graph`, :func:`adjacency_pairs` and
  :func:`shared_border_km` are views of :class:`cpts_geo.units.Units` for frame-minded callers.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse

from cpts_geo import reference
from cpts_geo.incidence import Incidence
from cpts_geo.rules import aci_band
from cpts_geo.units import load_units, reference_topology

#: city code -> name of the three cities with municipal arrondissements
PLM_CITIES = dict(reference.PLM_CITIES)

UNIT_COLUMNS = ["code", "nom", "kind", "parent", "dep", "reg", "zone", "epci", "population", "geometry"]


# ------------------------------------------------------------------------------------------
# Units of analysis (the model is cpts_geo.units; these are its frame views)
# ------------------------------------------------------------------------------------------


def adjacency_pairs() -> pd.DataFrame:
    """Pairs of unit codes (a < b) sharing an edge, over all units (cities and arrondissements).

    From the reference topology (:func:`cpts_geo.units.reference_topology`, computed once by
    ``data/build_reference.py``). ``km``: length of the shared boundary in km, measured in the
    official projected CRS of the zone (Lambert-93 in mainland France and Corsica). The communes
    without outline (restored in 2025) are adjacent to the polygon that holds their land (``km`` 0).
    """
    t = reference_topology()
    a, b = t.code[t.a], t.code[t.b]
    lo, hi = np.where(a < b, a, b), np.where(a < b, b, a)
    return pd.DataFrame({"a": lo, "b": hi, "km": np.asarray(t.km, dtype=float)})


def analysis_units(arr_cities: frozenset[str] | set[str] | tuple = frozenset(),
                   columns: list[str] | None = None) -> gpd.GeoDataFrame:
    """All units of France (COG 2026) for an analysis as a GeoDataFrame: the frame of
    :func:`cpts_geo.units.load_units` (communes, collectivités d'outre-mer, and for each city of
    ``arr_cities`` its arrondissements instead of the city), row for row.

    Columns: those of the reference in :data:`UNIT_COLUMNS`, plus ``has_geometry``, ``area_km2``
    (km², local projected CRS; NaN without outline), ``border`` (touches the coast or a national
    border) and ``host`` (for a commune without outline, the unit whose polygon holds its land).
    ``columns``: only those columns (a fresh frame either way).
    """
    return load_units(arr_cities).frame(columns)


def unit_graph(arr_cities: frozenset[str] | set[str] | tuple = frozenset()) -> sparse.csr_matrix:
    """Symmetric adjacency matrix (CSR, int8) over the rows of :func:`analysis_units`
    (:attr:`cpts_geo.units.Units.adjacency`)."""
    return load_units(arr_cities).adjacency


def shared_border_km(a: np.ndarray, b: np.ndarray, arr_cities: frozenset[str] = frozenset()) -> np.ndarray:
    """Length in km of the boundary shared by units ``a[k]`` and ``b[k]`` (rows of
    :func:`analysis_units`): measured in the official projected CRS of their zone (Lambert-93 in
    mainland France and Corsica); 0 when they share no edge."""
    return load_units(arr_cities).shared_km(a, b)


# ------------------------------------------------------------------------------------------
# Dissolve
# ------------------------------------------------------------------------------------------


def dissolve_groups(geoms: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Coverage-aware union of ``geoms`` per integer ``group`` (0..n_groups-1).

    The geometries of a group must form a valid coverage (any subset of the reference does), so
    the union is valid without repair. Missing geometries are ignored; a group without any
    geometry gets None. Holes are kept.
    """
    geoms = np.asarray(geoms, dtype=object)
    ok = ~shapely.is_missing(geoms)
    g, grp = geoms[ok], np.asarray(group)[ok]
    order = np.argsort(grp, kind="stable")
    g, grp = g[order], grp[order]
    bounds = np.searchsorted(grp, np.arange(n_groups + 1))
    sizes = np.diff(bounds)
    out = np.full(n_groups, None, dtype=object)
    single = np.flatnonzero(sizes == 1)
    out[single] = g[bounds[single]]
    union = shapely.coverage_union_all
    for k in np.flatnonzero(sizes > 1):
        out[k] = union(g[bounds[k] : bounds[k + 1]])
    return out


# ------------------------------------------------------------------------------------------
# Perimeters
# ------------------------------------------------------------------------------------------


def _split(values: np.ndarray, bounds: np.ndarray) -> list[tuple]:
    return [tuple(values[bounds[k] : bounds[k + 1]]) for k in range(len(bounds) - 1)]


def _grouped_cats(group: np.ndarray, cat: np.ndarray, cats: np.ndarray, n: int) -> tuple[list[tuple], np.ndarray, np.ndarray]:
    """Distinct categories per group as sorted tuples, plus the (group, category) pairs."""
    ok = cat >= 0
    key = np.unique(group[ok].astype(np.int64) * (len(cats) + 1) + cat[ok])
    g, c = key // (len(cats) + 1), key % (len(cats) + 1)
    return _split(cats[c], np.searchsorted(g, np.arange(n + 1))), g, c


def build_perimeters(incidence: Incidence) -> gpd.GeoDataFrame:
    """Perimeter of each CPTS of ``incidence``, from its memberships.

    Parameters
    ----------
    incidence : Incidence
        The listing over its units (:class:`cpts_geo.incidence.Incidence`).

    Returns
    -------
    GeoDataFrame
        One row per CPTS (EPSG:4326): ``cpts``, ``codes``, ``n_units``,
        ``n_units_without_geometry``, ``population`` (population municipale 2023, each unit
        counted in full), ``area_km2`` (sum of unit areas in the local projected CRS),
        ``density`` (inhabitants/km²), ``deps``, ``regs``, ``epci_full``, ``epci_partial``
        (SIREN), ``shared_units`` (units also listed by another CPTS), ``band`` (ACI size 1-4)
        and ``geometry``. Parts and enclaves are topology (:mod:`cpts_geo.topology`), added by
        :func:`cpts_geo.diagnose`.
    """
    ua = incidence.units
    names, group, unit_idx = incidence.names, incidence.group, incidence.unit
    n_cpts_per_unit = incidence.n_cpts
    crs = ua.crs
    n = len(names)
    order = np.lexsort((unit_idx, group))
    group, unit_idx = group[order], unit_idx[order]
    bounds = np.searchsorted(group, np.arange(n + 1))
    codes = ua.code
    n_units = np.diff(bounds)
    popsum = np.bincount(group, weights=np.nan_to_num(ua.population[unit_idx]), minlength=n)
    areasum = np.bincount(group, weights=np.nan_to_num(ua.area_km2[unit_idx]), minlength=n)
    nogeo = np.bincount(group, weights=(~ua.has_geometry[unit_idx]).astype(float), minlength=n).astype(int)
    geoms = dissolve_groups(ua.geometry[unit_idx], group, n)

    dep_i, dep_cats = ua.categories("dep")
    reg_i, reg_cats = ua.categories("reg")
    epci_i, ecats = ua.categories("epci")
    deps, _, _ = _grouped_cats(group, dep_i[unit_idx], dep_cats, n)
    regs, _, _ = _grouped_cats(group, reg_i[unit_idx], reg_cats, n)
    # EPCI fully or partly covered: units per (CPTS, EPCI) against units per EPCI
    ei = epci_i[unit_idx]
    _, g, c = _grouped_cats(group, ei, ecats, n)
    per_epci = np.bincount(epci_i[epci_i >= 0], minlength=len(ecats))
    ok = ei >= 0
    k = np.bincount(group[ok].astype(np.int64) * (len(ecats) + 1) + ei[ok],
                    minlength=n * (len(ecats) + 1))[g * (len(ecats) + 1) + c]
    full = k == per_epci[c]
    epci_full = _split(ecats[c[full]], np.searchsorted(g[full], np.arange(n + 1)))
    epci_part = _split(ecats[c[~full]], np.searchsorted(g[~full], np.arange(n + 1)))

    shared = n_cpts_per_unit[unit_idx] > 1
    shared_units = _split(codes[unit_idx[shared]], np.searchsorted(group[shared], np.arange(n + 1)))

    with np.errstate(divide="ignore", invalid="ignore"):
        density = np.where(areasum > 0, popsum / areasum, np.nan)
    return gpd.GeoDataFrame(
        {
            "cpts": names,
            "codes": _split(codes[unit_idx], bounds),
            "n_units": n_units,
            "n_units_without_geometry": nogeo,
            "population": popsum.round().astype("int64"),
            "area_km2": areasum,
            "density": density,
            "deps": deps,
            "regs": regs,
            "epci_full": epci_full,
            "epci_partial": epci_part,
            "shared_units": shared_units,
            "band": aci_band(popsum),
        },
        geometry=gpd.GeoSeries(geoms, crs=crs),
    )
