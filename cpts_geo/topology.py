"""Topology of territories on LAND adjacency: enclaves, separate parts, white-zone type.

One definition of each notion, used by :func:`cpts_geo.diagnose` and by
:func:`cpts_geo.validate_territory` alike. Everything works on the unit graph of
:func:`cpts_geo.perimeters.unit_graph`: two units are neighbours when they share at least one
boundary segment of the reference coverage (rook adjacency; touching at a point is not enough).
The sea and national borders are not units: they neither join nor open anything.

Definitions (``T`` is a territory: a set of units; "the graph" is the unit graph):

* **land mass**: a connected component of the whole graph — mainland France, Corsica, each
  island or group of islands (Oléron, Belle-Île…), each overseas department. A unit whose land
  is inside another polygon (the communes restored in 2025) is joined to that polygon.
* **enclave of T**: a connected component of the graph restricted to the units outside ``T``,
  lying on a land mass that ``T`` touches, which is not the largest such component of that land
  mass (the largest is "the rest of the land", ties broken by the lowest unit index). All land
  neighbours of an enclave are in ``T``: the sea or a national border behind it does not open it
  (a coastal commune cut off by ``T`` is an enclave). A commune inside ``T``'s outline on land
  is an enclave whatever ``T``'s outline looks like.
* **parts of T**: connected components of the graph restricted to ``T``. The *main* part is the
  most populated one; its land mass is the *main land mass*. A part on another land mass can be
  reached only across the sea: it is an **island part**. Parts on a same land mass are separated
  by land. :func:`territory_parts` reports ``n_parts = 1 + Σ (parts on each land mass − 1)``:
  the number of pieces once pieces joined only by the sea are counted together, so ``n_parts > 1``
  means a gap on land ("en plusieurs morceaux"); island parts are counted and named apart. A
  single commune is one part even when its polygon has islands (Hyères and Porquerolles).
* **white zone**: a connected component of the graph restricted to the uncovered units of the
  analysed area. It is ``edge`` when one of its land neighbours lies outside the analysed area
  (a unit whose coverage is not analysed could join it to more uncovered land), ``enclosed``
  otherwise — on the coast, against a national border, or an island alone included.

All functions are vectorised over many territories at once: ``group`` / ``unit`` are the
(territory, unit index) memberships, unique pairs; unit indices are rows of the graph.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph

from cpts_geo.incidence import Incidence
from cpts_geo.units import Units, load_units

__all__ = ["land_masses", "enclaves", "territory_parts", "perimeter_topology", "white_zones", "EDGE", "ENCLOSED"]

EDGE = "edge"
ENCLOSED = "enclosed"


def land_masses(arr_cities: frozenset | set | tuple = frozenset()) -> np.ndarray:
    """Land-mass label of each unit (rows of :func:`cpts_geo.units.load_units`): the stored
    :attr:`cpts_geo.units.Units.land`."""
    return load_units(arr_cities).land


def _neighbours(graph: sparse.csr_matrix, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(position in ``nodes``, neighbour unit) for every edge leaving ``nodes``."""
    ptr = graph.indptr
    start, stop = ptr[nodes], ptr[nodes + 1]
    deg = stop - start
    src = np.repeat(np.arange(len(nodes)), deg)
    off = np.arange(deg.sum()) - np.repeat(np.cumsum(deg) - deg, deg)
    return src, graph.indices[np.repeat(start, deg) + off]


def _unique(keys: np.ndarray) -> np.ndarray:
    """Sorted distinct values of an int64 array (sort-based: faster than hashing here)."""
    s = np.sort(keys)
    return s[np.r_[True, s[1:] != s[:-1]]] if len(s) else s


def _in_sorted(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    pos = np.searchsorted(sorted_keys, keys)
    pos = np.minimum(pos, len(sorted_keys) - 1)
    return (sorted_keys[pos] == keys) if len(sorted_keys) else np.zeros(len(keys), dtype=bool)


def _key_components(keys: np.ndarray, src: np.ndarray, k: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """Connected components of the (group, unit) ``keys`` (sorted): position ``src`` of a key is
    joined to the neighbour key ``k`` when that one is among ``keys`` (``inside``, returned)."""
    inside = _in_sorted(keys, k)
    m = len(keys)
    adj = sparse.coo_matrix((np.ones(int(inside.sum()), dtype=np.int8),
                             (src[inside], np.searchsorted(keys, k[inside]))), shape=(m, m))
    n_c, comp = csgraph.connected_components(adj, directed=False)
    return n_c, comp, inside


def _component_keys(comp: np.ndarray, n_c: int, unit: np.ndarray, group: np.ndarray,
                    land: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per component: lowest unit index, group and land mass of its (group, unit) members."""
    first = np.full(n_c, np.iinfo(np.int64).max)
    np.minimum.at(first, comp, unit)
    cg = np.zeros(n_c, dtype=np.int64)
    cg[comp] = group
    cl = np.zeros(n_c, dtype=np.int64)
    cl[comp] = land[unit]
    return first, cg, cl


def enclaves(graph: sparse.csr_matrix, land: np.ndarray, group: np.ndarray, unit: np.ndarray,
             n_groups: int, units: Units | None = None) -> list[list[np.ndarray]]:
    """Enclaves of each territory: per group, a list of sorted unit-index arrays (one per enclave,
    ordered by their first unit).

    Exact, without exploring the whole country per territory: the units outside ``T`` next to it
    are grouped into components of the graph they induce; a component with no neighbour outside
    ``T`` and outside the explored ring is complete ("closed"). When, on each land mass, at most
    one component is still open and it is larger than every closed one, the open one is the rest
    of the land and the closed ones are the enclaves; otherwise the ring grows and the
    question is asked again for the territories still undecided; after three rings, those are
    solved exactly on the complement of the territory in the land masses it touches.
    """
    n = graph.shape[0]
    group = np.asarray(group, dtype=np.int64)
    unit = np.asarray(unit, dtype=np.int64)
    out: list[list[np.ndarray]] = [[] for _ in range(n_groups)]
    if not len(unit):
        return out
    tkeys = _unique(group * n + unit)
    src, nb = _neighbours(graph, unit)
    ring = _unique(group[src] * n + nb)
    ring = ring[~_in_sorted(tkeys, ring)]
    rounds = 0
    while len(ring):
        rg, rv = ring // n, ring % n
        s, w = _neighbours(graph, rv)
        k = rg[s] * n + w
        n_c, comp, inside = _key_components(ring, s, k)
        frontier = ~inside & ~_in_sorted(tkeys, k)
        size = np.bincount(comp, minlength=n_c)
        is_open = np.bincount(comp[s[frontier]], minlength=n_c) > 0
        first, cg, cl = _component_keys(comp, n_c, rv, rg, land)
        # per (territory, land mass): decide which component is the rest of the land
        gl, gl_of = np.unique(cg * (int(land.max()) + 1) + cl, return_inverse=True)
        n_open = np.bincount(gl_of, weights=is_open, minlength=len(gl))
        max_closed = np.zeros(len(gl))
        np.maximum.at(max_closed, gl_of, np.where(is_open, 0, size))
        open_size = np.zeros(len(gl))
        np.maximum.at(open_size, gl_of, np.where(is_open, size, 0))
        ok = (n_open == 0) | ((n_open == 1) & (open_size > max_closed))
        undecided = np.unique(cg[~ok[gl_of]])
        done = np.flatnonzero(ok[gl_of])
        # the rest of the land: the open component, else the largest closed one (lowest unit first)
        o = done[np.lexsort((first[done], -size[done], ~is_open[done], gl_of[done]))]
        head = np.r_[True, gl_of[o][1:] != gl_of[o][:-1]][: len(o)]
        enc = o[~head]
        if len(enc):
            keep = np.zeros(n_c, dtype=bool)
            keep[enc] = True
            sel = keep[comp]
            order = np.lexsort((rv[sel], comp[sel]))
            cs, vs, gs = comp[sel][order], rv[sel][order], rg[sel][order]
            b = np.flatnonzero(np.r_[True, cs[1:] != cs[:-1], True])
            pieces = [(int(gs[b[i]]), vs[b[i]: b[i + 1]]) for i in range(len(b) - 1)]
            for g, v in sorted(pieces, key=lambda p: (p[0], p[1][0])):
                out[g].append(v)
        if not len(undecided):
            break
        if rounds == 2:
            # still undecided after three rings (parts far apart, a long cut): exact, on the
            # complement of the territory in the land masses it touches
            for g in undecided:
                out[int(g)] = _exact_enclaves(graph, land, unit[group == g])
            break
        rounds += 1
        # grow the ring of the undecided territories by one unit
        keep_ring = np.isin(rg, undecided)
        grow = frontier & np.isin(rg[s], undecided)
        ring = _unique(np.concatenate([ring[keep_ring], k[grow]]))
    return out


def _exact_enclaves(graph: sparse.csr_matrix, land: np.ndarray, units: np.ndarray) -> list[np.ndarray]:
    """Enclaves of one territory from the components of its complement in the land masses it
    touches (the largest component of each land mass is the rest of the land)."""
    inside = np.zeros(graph.shape[0], dtype=bool)
    inside[units] = True
    src, nb = _neighbours(graph, units)
    nb = nb[~inside[nb]]
    if not len(nb):
        return []
    nodes = np.flatnonzero(np.isin(land, np.unique(land[nb])) & ~inside)
    _, label = csgraph.connected_components(graph[nodes][:, nodes], directed=False)
    size = np.bincount(label)
    first = np.full(len(size), np.iinfo(np.int64).max)
    np.minimum.at(first, label, nodes)
    comp_land = np.zeros(len(size), dtype=np.int64)
    comp_land[label] = land[nodes]
    o = np.lexsort((first, -size, comp_land))
    head = np.r_[True, comp_land[o][1:] != comp_land[o][:-1]]
    enc = np.sort(o[~head])
    pieces = [nodes[label == c] for c in enc]
    return sorted(pieces, key=lambda v: v[0])


def territory_parts(graph: sparse.csr_matrix, land: np.ndarray, group: np.ndarray, unit: np.ndarray,
                    n_groups: int, population: np.ndarray) -> pd.DataFrame:
    """Parts of each territory (see the module docstring).

    Returns one row per part: ``group``, ``part`` (0 = main part, then by decreasing population
    and first unit), ``units`` (sorted unit indices), ``population`` (sum, NaN as 0), ``land``
    (land-mass label) and ``island`` (True when the part lies on another land mass than the main
    part: joined to it only across the sea) and ``separate`` (True when a more populated part lies
    on the same land mass: the gap between them is land). ``attrs["n_parts"]`` (per group: 1 + Σ over land
    masses of (parts − 1), 0 for an empty territory) and ``attrs["n_islands"]`` (island parts).
    """
    n = graph.shape[0]
    group = np.asarray(group, dtype=np.int64)
    unit = np.asarray(unit, dtype=np.int64)
    keys = group * n + unit
    order = np.argsort(keys)
    keys, group, unit = keys[order], group[order], unit[order]
    src, nb = _neighbours(graph, unit)
    n_c, comp, _ = _key_components(keys, src, group[src] * n + nb)
    pop = np.bincount(comp, weights=np.nan_to_num(np.asarray(population, dtype=float)[unit]), minlength=n_c)
    first, cg, cl = _component_keys(comp, n_c, unit, group, land)
    o = np.lexsort((first, -pop, cg))
    rank = np.empty(n_c, dtype=np.int64)
    gsorted = cg[o]
    starts = np.searchsorted(gsorted, gsorted)
    rank[o] = np.arange(n_c) - starts
    main_land = np.full(n_groups, -1, dtype=np.int64)
    main_land[cg[o][rank[o] == 0]] = cl[o][rank[o] == 0]
    island = cl != main_land[cg]
    uo = np.lexsort((unit, comp))
    b = np.searchsorted(comp[uo], np.arange(n_c + 1))
    units = np.split(unit[uo], b[1:-1])
    parts = pd.DataFrame({"group": cg, "part": rank, "units": units, "population": pop, "land": cl,
                          "island": island}).sort_values(["group", "part"]).reset_index(drop=True)
    # parts after the first (most populated) one of their land mass are cut off by land
    parts["separate"] = parts.duplicated(["group", "land"], keep="first").to_numpy()
    n_pieces = np.bincount(cg, minlength=n_groups)
    n_lands = np.bincount(_unique(cg * (land.max() + 1) + cl) // (land.max() + 1), minlength=n_groups)
    parts.attrs["n_parts"] = np.where(n_pieces > 0, 1 + n_pieces - n_lands, 0)
    parts.attrs["n_islands"] = np.bincount(cg[island], minlength=n_groups)
    return parts


def white_zones(graph: sparse.csr_matrix, white: np.ndarray, analysed: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """White zones among the ``white`` units (bool mask): ``(white unit indices, zone label of
    each, edge flag per zone)``. A zone is ``edge`` when a land neighbour is not ``analysed``."""
    w = np.flatnonzero(white)
    if not len(w):
        return w, np.array([], dtype=np.int64), np.array([], dtype=bool)
    _, label = csgraph.connected_components(graph[w][:, w], directed=False)
    src, nb = _neighbours(graph, w)
    n_z = int(label.max()) + 1
    edge = np.bincount(label[src[~analysed[nb]]], minlength=n_z) > 0
    return w, label, edge


def perimeter_topology(incidence: Incidence) -> pd.DataFrame:
    """Topology columns of CPTS perimeters, one row per CPTS of ``incidence``: ``n_parts``
    (pieces separated by land, see the module docstring), ``n_islands`` (island parts: reached
    only across the sea), ``islands`` (codes of the units of the island parts), ``enclaves``
    (codes of the units of all enclaves)."""
    ua = incidence.units
    graph, land, codes = ua.adjacency, ua.land, ua.code
    group, unit, n_groups = incidence.group, incidence.unit, incidence.n_groups
    parts = territory_parts(graph, land, group, unit, n_groups, ua.population)
    isl = parts[parts["island"]]
    islands = [()] * n_groups
    for g, units in isl.groupby("group")["units"]:
        islands[int(g)] = tuple(sorted(codes[np.concatenate(units.tolist())]))
    enc = enclaves(graph, land, group, unit, n_groups, ua)
    return pd.DataFrame({
        "n_parts": parts.attrs["n_parts"].astype(int),
        "n_islands": parts.attrs["n_islands"].astype(int),
        "islands": islands,
        "enclaves": [tuple(sorted(codes[np.concatenate(e)])) if e else () for e in enc],
    })
