"""The analysis units of France and their land topology: one frozen :class:`Units` per level.

A *level* says which of Paris, Lyon and Marseille are analysed by municipal arrondissement
(``arr_cities``); every other unit is a commune or a collectivité d'outre-mer of COG 2026. A
:class:`Units` holds, row for row, the codes, names, kind, population (and its vintage),
department, region, EPCI, Lambert-93 areas (official projected CRS of each zone), the land
adjacency graph with the length of every shared border, and the land masses. It is built once
per level (cached) from the embedded reference and read by every step: the incidence of a
listing (:mod:`cpts_geo.incidence`), perimeters, topology, diagnosis, validation and the app.

The **reference topology** (adjacency pairs with shared-border lengths, areas, border flags and
land masses) depends only on the embedded reference: ``data/build_reference.py`` computes it once
(:func:`compute_topology`) and stores it in ``data/communes/topology.npz`` beside
``communes.parquet``; :func:`reference_topology` loads it in milliseconds and recomputes it only
when the file is missing or was built from another ``communes.parquet``.

How the adjacency is derived: the reference forms a valid polygon coverage (adjacent communes
share their edges vertex for vertex), so two units are neighbours ("rook") when they share at
least one boundary segment; a segment owned by one unit only lies on the outer boundary of
France (coast or national border), which marks the unit as a *border* unit. Shared lengths are
measured in the official projected CRS of the zone (Lambert-93 in mainland France and Corsica).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph

from cpts_geo import reference

__all__ = ["Units", "Topology", "load_units", "units_of_graph", "reference_topology", "compute_topology", "TOPOLOGY_FILE"]

#: file of the reference topology, in ``data/communes/``
TOPOLOGY_FILE = "topology.npz"

#: zone levels of :meth:`Units.categories` → attribute
LEVELS = ("dep", "reg", "epci")


# ------------------------------------------------------------------------------------------
# Reference topology (computed by data/build_reference.py, loaded here)
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Topology:
    """Land topology of every row of ``communes.parquet`` (cities and arrondissements both).

    ``code``: unit codes in the file's order; ``area_km2`` (NaN without outline), ``border``
    (touches the coast or a national border); ``a``, ``b`` (row positions, ``a < b``) and ``km``
    (shared border, km, official projected CRS): the adjacency pairs, a commune without outline
    being adjacent to the polygon that holds its land (``km`` 0); ``land``: land-mass label of
    each row (an arrondissement carries the land mass of its city); ``host``: for a commune
    without outline, the row of the polygon that holds its land (-1 otherwise).
    """

    code: np.ndarray
    area_km2: np.ndarray
    border: np.ndarray
    a: np.ndarray
    b: np.ndarray
    km: np.ndarray
    land: np.ndarray
    host: np.ndarray


def _segment_keys(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Canonical (direction-free) keys of every boundary segment, and the geometry index of each."""
    import shapely

    parts, pidx = shapely.get_parts(shapely.boundary(geoms), return_index=True)
    coords, cidx = shapely.get_coordinates(parts, return_index=True)
    same = cidx[1:] == cidx[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    owner = pidx[cidx[:-1][same]]
    swap = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
    p = np.where(swap[:, None], b, a)
    q = np.where(swap[:, None], a, b)
    return np.ascontiguousarray(np.column_stack([p, q])), owner


def _hash_rows(key: np.ndarray) -> np.ndarray:
    """64-bit hash of each row of 4 float64 (exact bit patterns)."""
    bits = key.view(np.uint64)
    mult = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5],
                    dtype=np.uint64)
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


@functools.cache
def _transformer(epsg: int):
    from pyproj import Transformer

    return Transformer.from_crs(4326, epsg, always_xy=True)


def _pair_km(i: np.ndarray, j: np.ndarray, seg: np.ndarray, deps: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct owner pairs (lo, hi) and the total length (km) of the segments they share, each
    segment measured in the official projected CRS of its zone."""
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


def compute_topology(communes: gpd.GeoDataFrame) -> Topology:
    """The land topology of ``communes`` (rows of :func:`cpts_geo.reference.load_communes`, or a
    subset of them, e.g. a few departments): adjacency from the shared segments of both
    coverages (cities whole; arrondissements with the neighbours of their city), shared-border
    lengths, areas and border flags, land masses.

    Parameters
    ----------
    communes : GeoDataFrame
        Columns ``code``, ``kind``, ``parent``, ``dep``, ``geometry_source`` and ``geometry``
        (EPSG:4326), as in ``data/communes/communes.parquet``.

    Returns
    -------
    Topology
        Row for row with ``communes``.

    Examples
    --------
    >>> from cpts_geo import reference
    >>> c = reference.load_communes()
    >>> t = compute_topology(c[c["dep"] == "05"])
    >>> int(t.border.sum()) > 0 and len(t.a) > 300
    True
    """
    import shapely

    from cpts_geo.crs import area_km2

    c = communes.reset_index(drop=True)
    geoms = c.geometry.to_numpy()
    has = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    codes = c["code"].to_numpy(dtype=object)
    kind = c["kind"].to_numpy(dtype=object)
    is_arr = kind == "arrondissement"
    deps = c["dep"].to_numpy(dtype=object)
    area = area_km2(gpd.GeoDataFrame({"code": codes}, geometry=geoms, crs=c.crs)).to_numpy(dtype=float)
    # coverage A: cities whole
    sel_a = np.flatnonzero(has & ~is_arr)
    key_a, own_a = _segment_keys(geoms[sel_a])
    i, j, single_a, seg_a = _pairs_and_singles(key_a, own_a)
    lo, hi, km = _pair_km(i, j, seg_a, deps[sel_a])
    pa, pb, pk = [sel_a[lo]], [sel_a[hi]], [km]
    border = np.zeros(len(c), dtype=bool)
    border[sel_a[np.unique(own_a[single_a])]] = True
    # coverage B, locally: arrondissements and the neighbours of the three cities
    codes_a = codes[sel_a]
    city_idx = [int(np.flatnonzero(codes_a == x)[0]) for x in reference.PLM_CITIES if (codes_a == x).any()]
    if city_idx and (is_arr & has).any():
        nb = np.unique(np.concatenate([j[np.isin(i, city_idx)], i[np.isin(j, city_idx)]]))
        nb = np.setdiff1d(nb, city_idx)
        sel_b = np.concatenate([np.flatnonzero(is_arr & has), sel_a[nb]])
        key_b, own_b = _segment_keys(geoms[sel_b])
        ib, jb, single_b, seg_b = _pairs_and_singles(key_b, own_b)
        keep = is_arr[sel_b][ib] | is_arr[sel_b][jb]
        lo, hi, km = _pair_km(ib[keep], jb[keep], seg_b[keep], deps[sel_b])
        pa.append(sel_b[lo])
        pb.append(sel_b[hi])
        pk.append(km)
        outer = single_b & np.isin(_hash_rows(key_b), _hash_rows(key_a[single_a]))
        own_outer = sel_b[np.unique(own_b[outer])]
        border[own_outer[is_arr[own_outer]]] = True
    # communes without outline: adjacent to the polygon that holds their land (no shared line)
    host = c["geometry_source"].astype(object).str.extract(r"inside the polygon of (\d[\dAB]\d{3})")[0]
    pos = pd.Index(codes)
    hi_ = pos.get_indexer(host.to_numpy(dtype=object))
    guest = np.flatnonzero(host.notna().to_numpy() & (hi_ >= 0))
    pa.append(guest)
    pb.append(hi_[guest])
    pk.append(np.zeros(len(guest)))
    a, b, km = np.concatenate(pa).astype(np.int64), np.concatenate(pb).astype(np.int64), np.concatenate(pk)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    ok = lo != hi
    key, first = np.unique(lo[ok] * len(c) + hi[ok], return_index=True)
    a, b, km = key // len(c), key % len(c), km[ok][first]
    # land masses on the graph of the cities whole; an arrondissement takes its city's label
    whole = ~is_arr
    graph = sparse.coo_matrix((np.ones(2 * len(a), dtype=np.int8), (np.r_[a, b], np.r_[b, a])),
                              shape=(len(c), len(c))).tocsr()
    w = np.flatnonzero(whole)
    _, lab = csgraph.connected_components(graph[w][:, w], directed=False)
    land = np.full(len(c), -1, dtype=np.int64)
    land[w] = lab
    parent = pos.get_indexer(c["parent"].to_numpy(dtype=object))
    arr = np.flatnonzero(is_arr & (parent >= 0))
    land[arr] = land[parent[arr]]
    alone = np.flatnonzero(land < 0)  # an arrondissement without its city in the subset
    land[alone] = lab.max(initial=-1) + 1 + np.arange(len(alone))
    host_row = np.full(len(c), -1, dtype=np.int32)
    host_row[guest] = hi_[guest]
    return Topology(code=codes, area_km2=area, border=border, a=a.astype(np.int32), b=b.astype(np.int32),
                    km=km, land=land.astype(np.int32), host=host_row)


def write_topology(topology: Topology, path: Path, communes_sha256: str) -> None:
    """Store ``topology`` (npz, compressed) with the hash of the ``communes.parquet`` it was
    computed from."""
    np.savez_compressed(path, code=topology.code.astype("U5"), area_km2=topology.area_km2,
                        border=topology.border, a=topology.a, b=topology.b, km=topology.km,
                        land=topology.land, host=topology.host, communes_sha256=np.array(communes_sha256))


@functools.cache
def reference_topology() -> Topology:
    """The topology of the embedded reference: ``data/communes/topology.npz`` when it was built
    from the current ``communes.parquet`` (hash in ``build_report.json``), else recomputed.

    Returns
    -------
    Topology
        Row for row with :func:`cpts_geo.reference.load_communes`.
    """
    c = reference.load_communes()
    codes = c["code"].to_numpy(dtype=object)
    path = reference.data_dir() / "communes" / TOPOLOGY_FILE
    want = reference.build_outputs().get("communes.parquet")
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            fields = ("communes_sha256", "code", "area_km2", "border", "a", "b", "km", "land", "host")
            if all(f in z.files for f in fields) and str(z["communes_sha256"]) == want \
                    and len(z["code"]) == len(codes) and np.array_equal(z["code"].astype(object), codes):
                return Topology(code=codes, area_km2=z["area_km2"], border=z["border"], a=z["a"], b=z["b"],
                                km=z["km"], land=z["land"], host=z["host"])
    return compute_topology(c)


# ------------------------------------------------------------------------------------------
# Units of one level
# ------------------------------------------------------------------------------------------


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    a.flags.writeable = False
    return a


@dataclass(frozen=True, eq=False, repr=False)
class Units:
    """The analysis units of one level, row for row (positions are the unit indices every step
    shares). Built by :func:`load_units`; read-only arrays.

    Attributes
    ----------
    arr_cities : frozenset of str
        Cities (75056, 69123, 13055) analysed by municipal arrondissement at this level.
    code, nom, kind, parent, dep, reg, epci : ndarray of object
        INSEE code (5 characters), name, ``commune`` / ``arrondissement`` / ``com_outre_mer``,
        city of an arrondissement, department, region, EPCI SIREN (None when missing).
    population : ndarray of float
        Population municipale (NaN when unknown); ``population_source`` its vintage in French
        (« populations légales 2023 » for nearly all units).
    area_km2 : ndarray of float
        Area in km², official projected CRS of the zone (Lambert-93 in mainland France); NaN
        without outline.
    has_geometry, border : ndarray of bool
        The unit has an outline; it touches the coast or a national border.
    geometry : ndarray of object
        Outlines, EPSG:4326 (None for the collectivités d'outre-mer).
    adjacency : scipy.sparse.csr_matrix
        Symmetric land adjacency (int8): units sharing a boundary segment.
    border_km : scipy.sparse.csr_matrix
        Same pattern, the length of the shared border in km.
    land : ndarray of int
        Land-mass label (connected component of ``adjacency``).
    """

    arr_cities: frozenset
    code: np.ndarray
    nom: np.ndarray
    kind: np.ndarray
    parent: np.ndarray
    dep: np.ndarray
    reg: np.ndarray
    epci: np.ndarray
    population: np.ndarray
    population_source: np.ndarray
    area_km2: np.ndarray
    has_geometry: np.ndarray
    border: np.ndarray
    host: np.ndarray
    geometry: np.ndarray
    adjacency: sparse.csr_matrix
    border_km: sparse.csr_matrix
    land: np.ndarray
    crs: object = 4326

    def __len__(self) -> int:
        return len(self.code)

    def __repr__(self) -> str:
        kinds = pd.Series(self.kind).value_counts()
        arr = ", ".join(sorted(self.arr_cities)) or "aucune"
        return (f"<Units: {len(self)} units ({', '.join(f'{k} {n}' for k, n in kinds.items())}), "
                f"{self.adjacency.nnz // 2} adjacent pairs; arrondissements of: {arr}>")

    @functools.cached_property
    def index(self) -> pd.Index:
        """Codes as an object index (hash-based ``get_indexer``)."""
        return pd.Index(self.code, dtype=object)

    def positions(self, codes: object) -> np.ndarray:
        """Row of each code (-1 when not a unit of this level)."""
        return self.index.get_indexer(np.asarray(codes, dtype=object))

    @functools.cached_property
    def _categories(self) -> dict:
        out = {}
        for level in LEVELS:
            codes, cats = pd.factorize(pd.Series(getattr(self, level), dtype=object), sort=True)
            out[level] = (_frozen(codes), _frozen(np.asarray(cats, dtype=object)))
        return out

    def categories(self, level: str) -> tuple[np.ndarray, np.ndarray]:
        """Integer category of each unit for ``level`` (``dep``, ``reg`` or ``epci``; -1 when
        missing) and the sorted category codes."""
        return self._categories[level]

    @functools.cached_property
    def _frame(self) -> gpd.GeoDataFrame:
        f = gpd.GeoDataFrame({
            "code": self.code, "nom": self.nom, "kind": self.kind, "parent": self.parent, "dep": self.dep,
            "reg": self.reg, "zone": _zone_of(self.code), "epci": self.epci,
            "population": pd.array(np.where(np.isnan(self.population), None, self.population), dtype="Int64"),
            "has_geometry": self.has_geometry, "area_km2": self.area_km2, "host": self.host,
            "border": self.border,
        }, geometry=gpd.GeoSeries(self.geometry, crs=self.crs))
        f.attrs = reference.metadata()
        return f

    def frame(self, columns: list[str] | None = None) -> gpd.GeoDataFrame:
        """The units as a fresh GeoDataFrame (EPSG:4326): ``code``, ``nom``, ``kind``,
        ``parent``, ``dep``, ``reg``, ``zone``, ``epci``, ``population`` (Int64),
        ``has_geometry``, ``area_km2``, ``host``, ``border``, ``geometry`` (or ``columns``)."""
        f = self._frame
        out = f[columns] if columns is not None else f.copy()
        out.attrs = dict(f.attrs)
        return out

    def neighbours(self, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(position in ``nodes``, neighbour unit) for every land edge leaving ``nodes``."""
        ptr = self.adjacency.indptr
        start, stop = ptr[nodes], ptr[nodes + 1]
        deg = stop - start
        src = np.repeat(np.arange(len(nodes)), deg)
        off = np.arange(deg.sum()) - np.repeat(np.cumsum(deg) - deg, deg)
        return src, self.adjacency.indices[np.repeat(start, deg) + off]

    def shared_km(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Length (km) of the border shared by units ``a[k]`` and ``b[k]``; 0 when not adjacent."""
        a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
        if not len(a):
            return np.zeros(0)
        return np.asarray(self.border_km[a, b]).ravel()


def _zone_of(codes: np.ndarray) -> np.ndarray:
    z = reference.units()["zone"]
    return z.reindex(pd.Index(codes, dtype=object)).to_numpy(dtype=object)


@functools.cache
def _load_units(arr_cities: frozenset) -> Units:
    c = reference.load_communes()
    ref = reference.units()
    topo = reference_topology()
    kind = ref["kind"].to_numpy(dtype=object)
    parent = ref["parent"].to_numpy(dtype=object)
    codes = ref.index.to_numpy(dtype=object)
    is_arr = kind == "arrondissement"
    in_arr = np.isin(parent.astype(str), list(arr_cities)) if arr_cities else np.zeros(len(codes), bool)
    keep = (~is_arr & ~np.isin(codes, list(arr_cities))) | (is_arr & in_arr)
    rows = np.flatnonzero(keep)
    rows = rows[np.argsort(codes[rows], kind="stable")]
    pos = np.full(len(codes), -1, dtype=np.int64)
    pos[rows] = np.arange(len(rows))
    a, b = pos[topo.a], pos[topo.b]
    ok = (a >= 0) & (b >= 0)
    a, b, km = a[ok], b[ok], topo.km[ok]
    n = len(rows)
    adj = sparse.coo_matrix((np.ones(2 * len(a), dtype=np.int8), (np.r_[a, b], np.r_[b, a])), shape=(n, n)).tocsr()
    bkm = sparse.coo_matrix((np.r_[km, km], (np.r_[a, b], np.r_[b, a])), shape=(n, n)).tocsr()
    geoms = c.geometry.to_numpy()[rows]
    import shapely

    has = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    host = np.where(topo.host >= 0, codes[np.maximum(topo.host, 0)], None)
    pop = ref["population"].to_numpy(dtype=float, na_value=np.nan)

    def obj(col: str) -> np.ndarray:
        v = ref[col].to_numpy(dtype=object)[rows]
        return _frozen(np.where(pd.isna(v), None, v))

    out = Units(
        arr_cities=frozenset(arr_cities), code=_frozen(codes[rows]), nom=obj("nom"), kind=_frozen(kind[rows]),
        parent=obj("parent"), dep=obj("dep"), reg=obj("reg"), epci=obj("epci"),
        population=_frozen(pop[rows]), population_source=obj("population_source"),
        area_km2=_frozen(np.asarray(topo.area_km2, dtype=float)[rows]), has_geometry=_frozen(has),
        border=_frozen(np.asarray(topo.border, dtype=bool)[rows]),
        host=_frozen(host[rows]),
        geometry=_frozen(np.asarray(geoms, dtype=object)), adjacency=adj, border_km=bkm,
        land=_frozen(np.asarray(topo.land, dtype=np.int64)[rows]), crs=c.crs)
    _BY_GRAPH[id(adj)] = out
    return out


#: the Units of each adjacency matrix built (levels are cached: never freed)
_BY_GRAPH: dict[int, Units] = {}


def units_of_graph(graph: sparse.csr_matrix) -> Units:
    """The :class:`Units` whose :attr:`~Units.adjacency` is ``graph`` (the same object).

    Raises
    ------
    ValueError
        When ``graph`` is not the adjacency of a level built by :func:`load_units`.
    """
    found = _BY_GRAPH.get(id(graph))
    if found is None or found.adjacency is not graph:
        raise ValueError("graph: not the adjacency of cpts_geo.units.load_units(); pass units=")
    return found


def load_units(arr_cities: frozenset | set | tuple = frozenset()) -> Units:
    """The :class:`Units` of one level (cached per level).

    Parameters
    ----------
    arr_cities : set of str
        Cities among 75056 (Paris), 69123 (Lyon), 13055 (Marseille) analysed by municipal
        arrondissement; the others are one unit each.

    Returns
    -------
    Units
        Sorted by code.

    Examples
    --------
    >>> u = load_units({"13055"})
    >>> "13201" in set(u.code) and "13055" not in set(u.code)
    True
    >>> int(u.land[u.positions(["13201"])[0]] == u.land[u.positions(["04070"])[0]])
    1
    """
    return _load_units(frozenset(arr_cities))
