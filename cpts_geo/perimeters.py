"""Units of analysis, their adjacency, and the dissolved perimeters of CPTS.

The embedded reference forms a valid polygon coverage (adjacent communes share their edges
vertex for vertex), with Paris, Lyon and Marseille either whole or split into their 45
arrondissements. This module exploits it:

* adjacency ("rook": two units sharing at least one edge) is derived once from the shared
  segments of the coverage and cached; a segment that belongs to one unit only lies on the outer
  boundary of France (coast or national border), which marks the unit as a *border* unit;
* a CPTS perimeter is the coverage-aware union (``shapely.coverage_union_all``) of its units,
  about 10× faster than a general union and exact on a valid coverage (holes are kept);
* areas are sums of unit areas measured in the official projected CRS of each zone
  (:func:`cpts_geo.area_km2`), never in degrees.
"""

from __future__ import annotations

import functools

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse

from cpts_geo import reference
from cpts_geo.crs import area_km2
from cpts_geo.rules import aci_band

#: city code -> name of the three cities with municipal arrondissements
PLM_CITIES = dict(reference.PLM_CITIES)

UNIT_COLUMNS = ["code", "nom", "kind", "parent", "dep", "reg", "zone", "epci", "population", "geometry"]


# ------------------------------------------------------------------------------------------
# Units of analysis
# ------------------------------------------------------------------------------------------


@functools.cache
def _reference_units() -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Every unit of the reference's unit table (:func:`cpts_geo.reference.units`: cities and
    arrondissements both) with its outline, area and border flag, and the adjacency pairs."""
    c = reference.load_communes()
    ref = reference.units()
    if not np.array_equal(ref.index.to_numpy(), c["code"].to_numpy(dtype=object)):
        ref = ref.reindex(c["code"].to_numpy(dtype=object))
    attrs = [k for k in UNIT_COLUMNS if k not in ("code", "geometry")]
    u = gpd.GeoDataFrame(ref[attrs].reset_index(), geometry=c.geometry.to_numpy(), crs=c.crs)[UNIT_COLUMNS]
    u["has_geometry"] = ~shapely.is_missing(u.geometry.values) & ~shapely.is_empty(u.geometry.values)
    u["area_km2"] = area_km2(u).to_numpy()
    # the four communes restored in 2025 have no outline: their land lies inside another polygon
    host = c["geometry_source"].astype(object).str.extract(r"inside the polygon of (\d[\dAB]\d{3})")[0]
    u["host"] = host.to_numpy()
    pairs, border = _shared_edges(u)
    u["border"] = u["code"].isin(border).to_numpy()
    u.attrs = c.attrs
    return u, pairs


def _all_units() -> gpd.GeoDataFrame:
    return _reference_units()[0]


def _segment_keys(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Canonical (direction-free) keys of every boundary segment, and the geometry index of each."""
    parts, pidx = shapely.get_parts(shapely.boundary(geoms), return_index=True)
    coords, cidx = shapely.get_coordinates(parts, return_index=True)
    same = cidx[1:] == cidx[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    owner = pidx[cidx[:-1][same]]
    swap = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
    p = np.where(swap[:, None], b, a)
    q = np.where(swap[:, None], a, b)
    key = np.ascontiguousarray(np.column_stack([p, q]))
    return key, owner


def _hash_rows(key: np.ndarray) -> np.ndarray:
    """64-bit hash of each row of 4 float64 (exact bit patterns)."""
    bits = key.view(np.uint64)
    mult = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5], dtype=np.uint64)
    with np.errstate(over="ignore"):
        h = bits * mult
        return (h[:, 0] ^ (h[:, 1] >> np.uint64(7)) ^ h[:, 2] ^ (h[:, 3] >> np.uint64(3))) * mult[0]


def _pairs_and_singles(key: np.ndarray, owner: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of owners sharing a segment, the mask of segments owned by a single geometry, and
    the shared segments (one row per pair)."""
    order = np.argsort(_hash_rows(key))
    ks, ow = key[order], owner[order]
    dup = (ks[1:] == ks[:-1]).all(axis=1)
    i, j = ow[:-1][dup], ow[1:][dup]
    single = np.ones(len(ks), dtype=bool)
    single[1:][dup] = False
    single[:-1][dup] = False
    singles = np.zeros(len(ks), dtype=bool)
    singles[order] = single
    return i, j, singles, ks[:-1][dup]


def _pair_km(i: np.ndarray, j: np.ndarray, seg: np.ndarray, deps: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct owner pairs (lo, hi) and the total length (km) of the segments they share, each
    segment measured in the official projected CRS of its zone (Lambert-93 in mainland France)."""
    from cpts_geo.crs import LOCAL_CRS, zone_of_dep

    dcat, dinv = np.unique(deps[i].astype(str), return_inverse=True)
    zone = np.array([zone_of_dep(d) for d in dcat], dtype=object)[dinv]
    length = np.zeros(len(seg))
    for z, epsg in LOCAL_CRS.items():
        m = zone == z
        if m.any():
            t = _transformer(epsg)
            x1, y1 = t.transform(seg[m, 0], seg[m, 1])
            x2, y2 = t.transform(seg[m, 2], seg[m, 3])
            length[m] = np.hypot(np.asarray(x2) - x1, np.asarray(y2) - y1) / 1000
    n = int(max(i.max(initial=0), j.max(initial=0))) + 1
    pid, inv = np.unique(np.minimum(i, j).astype(np.int64) * n + np.maximum(i, j), return_inverse=True)
    return pid // n, pid % n, np.bincount(inv, weights=length, minlength=len(pid))


@functools.cache
def _transformer(epsg: int):
    from pyproj import Transformer

    return Transformer.from_crs(4326, epsg, always_xy=True)


def _shared_edges(u: gpd.GeoDataFrame) -> tuple[pd.DataFrame, set[str]]:
    """Adjacency pairs (codes) and border units, from the shared segments of both coverages."""
    has = u["has_geometry"].to_numpy()
    codes = u["code"].to_numpy()
    is_arr = (u["kind"] == "arrondissement").to_numpy()
    # coverage A: cities whole
    sel_a = np.flatnonzero(has & ~is_arr)
    key_a, own_a = _segment_keys(u.geometry.values[sel_a])
    i, j, single_a, seg_a = _pairs_and_singles(key_a, own_a)
    deps = u["dep"].to_numpy(dtype=object)
    lo, hi, km = _pair_km(i, j, seg_a, deps[sel_a])
    pairs = [np.column_stack([codes[sel_a][lo], codes[sel_a][hi]])]
    kms = [km]
    border = set(codes[sel_a][np.unique(own_a[single_a])])
    # coverage B, locally: arrondissements and the neighbours of the three cities
    city_idx = {int(np.flatnonzero(codes[sel_a] == c)[0]) for c in PLM_CITIES if (codes[sel_a] == c).any()}
    nb = np.unique(np.concatenate([j[np.isin(i, list(city_idx))], i[np.isin(j, list(city_idx))]]))
    nb = np.setdiff1d(nb, list(city_idx))
    sel_b = np.concatenate([np.flatnonzero(is_arr & has), sel_a[nb]])
    key_b, own_b = _segment_keys(u.geometry.values[sel_b])
    ib, jb, single_b, seg_b = _pairs_and_singles(key_b, own_b)
    cb = codes[sel_b]
    keep = is_arr[sel_b][ib] | is_arr[sel_b][jb]
    lo, hi, km = _pair_km(ib[keep], jb[keep], seg_b[keep], deps[sel_b])
    pairs.append(np.column_stack([cb[lo], cb[hi]]))
    kms.append(km)
    outer = single_b & np.isin(_hash_rows(key_b), _hash_rows(key_a[single_a]))
    own_outer = np.unique(own_b[outer])
    border |= set(cb[own_outer[is_arr[sel_b][own_outer]]])
    # communes without outline: adjacent to the polygon that holds their land (no shared line)
    host = u.loc[u["host"].notna(), ["code", "host"]].to_numpy()
    pairs.append(host)
    kms.append(np.zeros(len(host)))
    p = np.concatenate(pairs).astype(object)
    km = np.concatenate(kms)
    a, b = p[:, 0], p[:, 1]
    lo = np.where(a < b, a, b)
    hi = np.where(a < b, b, a)
    p = pd.DataFrame({"a": lo[a != b], "b": hi[a != b], "km": km[a != b]})
    return p.drop_duplicates(["a", "b"]).reset_index(drop=True), border


def adjacency_pairs() -> pd.DataFrame:
    """Pairs of unit codes (a < b) sharing an edge, over all units (cities and arrondissements).

    Computed once from the shared segments of the reference coverage, then cached. ``km``: length
    of the shared boundary in km, measured in the official projected CRS of the zone (Lambert-93
    in mainland France and Corsica). The communes without outline (restored in 2025) are adjacent
    to the polygon that holds their land (``km`` 0).
    """
    return _reference_units()[1].copy()


@functools.cache
def _units_cached(arr_cities: frozenset[str]) -> gpd.GeoDataFrame:
    u = _all_units()
    arr = (u["kind"] == "arrondissement") & u["parent"].isin(arr_cities)
    keep = ((u["kind"] != "arrondissement") & ~u["code"].isin(arr_cities)) | arr
    out = u[keep.to_numpy()].sort_values("code").reset_index(drop=True)
    out.attrs = u.attrs
    return out


def analysis_units(arr_cities: frozenset[str] | set[str] | tuple = frozenset(),
                   columns: list[str] | None = None) -> gpd.GeoDataFrame:
    """All units of France (COG 2026) for an analysis: communes, collectivités d'outre-mer, and for
    each city of ``arr_cities`` (75056, 69123, 13055) its arrondissements instead of the city.

    Columns: those of the reference in :data:`UNIT_COLUMNS`, plus ``has_geometry``, ``area_km2``
    (km², local projected CRS; NaN without outline), ``border`` (touches the coast or a national
    border) and ``host`` (for a commune without outline, the unit whose polygon holds its land).
    ``columns``: only those columns (a fresh frame either way).
    """
    u = _units_cached(frozenset(arr_cities))
    return u[columns] if columns is not None else u.copy()


@functools.cache
def _graph_cached(arr_cities: frozenset[str]) -> sparse.csr_matrix:
    u = _units_cached(arr_cities)
    idx = pd.Index(u["code"])
    p = adjacency_pairs()
    a, b = idx.get_indexer(p["a"]), idx.get_indexer(p["b"])
    ok = (a >= 0) & (b >= 0)
    a, b = a[ok], b[ok]
    n = len(u)
    m = sparse.coo_matrix((np.ones(2 * len(a), dtype=np.int8), (np.r_[a, b], np.r_[b, a])), shape=(n, n))
    return m.tocsr()


def unit_graph(arr_cities: frozenset[str] | set[str] | tuple = frozenset()) -> sparse.csr_matrix:
    """Symmetric adjacency matrix (CSR, int8) over the rows of :func:`analysis_units`."""
    return _graph_cached(frozenset(arr_cities))


@functools.cache
def _km_cached(arr_cities: frozenset[str]) -> sparse.csr_matrix:
    u = _units_cached(arr_cities)
    idx = pd.Index(u["code"])
    p = _reference_units()[1]
    a, b = idx.get_indexer(p["a"]), idx.get_indexer(p["b"])
    ok = (a >= 0) & (b >= 0)
    a, b, km = a[ok], b[ok], p["km"].to_numpy()[ok]
    n = len(u)
    return sparse.coo_matrix((np.r_[km, km], (np.r_[a, b], np.r_[b, a])), shape=(n, n)).tocsr()


def shared_border_km(a: np.ndarray, b: np.ndarray, arr_cities: frozenset[str] = frozenset()) -> np.ndarray:
    """Length in km of the boundary shared by units ``a[k]`` and ``b[k]`` (rows of
    :func:`analysis_units`), from :func:`adjacency_pairs`: measured in the official projected
    CRS of their zone (Lambert-93 in mainland France and Corsica); 0 when they share no edge."""
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    if not len(a):
        return np.zeros(0)
    return np.asarray(_km_cached(frozenset(arr_cities))[a, b]).ravel()


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


@functools.cache
def unit_arrays(arr_cities: frozenset[str] = frozenset()) -> dict:
    """Columns of :func:`analysis_units` as numpy arrays (cached; do not modify): ``code``,
    ``nom``, ``dep``, ``reg``, ``epci`` (object, None when missing), ``population`` (float, NaN
    when missing), ``area_km2``, ``has_geometry``, ``border``, ``geometry`` (object), integer
    category codes ``dep_i``, ``reg_i``, ``epci_i`` (-1 when missing) with their sorted
    ``*_cats``."""
    u = _units_cached(frozenset(arr_cities))
    out: dict = {}
    for c in ("code", "nom", "dep", "reg", "epci", "kind"):
        v = u[c].to_numpy(dtype=object)
        out[c] = np.where(pd.isna(v), None, v)
    out["population"] = u["population"].to_numpy(dtype=float, na_value=np.nan)
    out["area_km2"] = u["area_km2"].to_numpy(dtype=float)
    out["has_geometry"] = u["has_geometry"].to_numpy(dtype=bool)
    out["border"] = u["border"].to_numpy(dtype=bool)
    out["geometry"] = np.asarray(u.geometry.array, dtype=object)
    for c in ("dep", "reg", "epci"):
        codes, cats = pd.factorize(pd.Series(out[c], dtype=object), sort=True)
        out[f"{c}_i"], out[f"{c}_cats"] = codes, np.asarray(cats, dtype=object)
    for v in out.values():
        if isinstance(v, np.ndarray):
            v.flags.writeable = False
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


def build_perimeters(
    names: np.ndarray,
    group: np.ndarray,
    unit_idx: np.ndarray,
    arr_cities: frozenset[str] = frozenset(),
    n_cpts_per_unit: np.ndarray | None = None,
    crs: object = 4326,
) -> gpd.GeoDataFrame:
    """Perimeter of each CPTS from its membership.

    ``names``: CPTS names (position = group number); ``group``/``unit_idx``: one entry per
    (CPTS, unit) membership, unique pairs, ``unit_idx`` indexing rows of
    :func:`analysis_units` for ``arr_cities``. Returns a GeoDataFrame (EPSG:4326) with ``cpts``,
    ``codes``, ``n_units``, ``n_units_without_geometry``, ``population`` (population municipale
    2023, each unit counted in full), ``area_km2`` (sum of unit areas in the local projected CRS),
    ``density`` (inhabitants/km²), ``deps``, ``regs``, ``epci_full``, ``epci_partial`` (SIREN),
    ``shared_units`` (units also listed by another CPTS), ``band`` (ACI size 1-4) and
    ``geometry``. Parts and enclaves are topology (:mod:`cpts_geo.topology`), added by
    :func:`cpts_geo.diagnose`.
    """
    ua = unit_arrays(frozenset(arr_cities))
    n = len(names)
    order = np.lexsort((unit_idx, group))
    group, unit_idx = group[order], unit_idx[order]
    bounds = np.searchsorted(group, np.arange(n + 1))
    codes = ua["code"]
    n_units = np.diff(bounds)
    popsum = np.bincount(group, weights=np.nan_to_num(ua["population"][unit_idx]), minlength=n)
    areasum = np.bincount(group, weights=np.nan_to_num(ua["area_km2"][unit_idx]), minlength=n)
    nogeo = np.bincount(group, weights=(~ua["has_geometry"][unit_idx]).astype(float), minlength=n).astype(int)
    geoms = dissolve_groups(ua["geometry"][unit_idx], group, n)

    deps, _, _ = _grouped_cats(group, ua["dep_i"][unit_idx], ua["dep_cats"], n)
    regs, _, _ = _grouped_cats(group, ua["reg_i"][unit_idx], ua["reg_cats"], n)
    # EPCI fully or partly covered: units per (CPTS, EPCI) against units per EPCI
    ei = ua["epci_i"][unit_idx]
    ecats = ua["epci_cats"]
    _, g, c = _grouped_cats(group, ei, ecats, n)
    per_epci = np.bincount(ua["epci_i"][ua["epci_i"] >= 0], minlength=len(ecats))
    ok = ei >= 0
    k = np.bincount(group[ok].astype(np.int64) * (len(ecats) + 1) + ei[ok],
                    minlength=n * (len(ecats) + 1))[g * (len(ecats) + 1) + c]
    full = k == per_epci[c]
    epci_full = _split(ecats[c[full]], np.searchsorted(g[full], np.arange(n + 1)))
    epci_part = _split(ecats[c[~full]], np.searchsorted(g[~full], np.arange(n + 1)))

    if n_cpts_per_unit is None:
        n_cpts_per_unit = np.bincount(unit_idx, minlength=len(codes))
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
