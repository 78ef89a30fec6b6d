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
from cpts_geo.units import Units, load_units, units_of_graph

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

    Exact and over every territory at once: the complements of all territories in the land
    masses they touch are one graph, whose components come from one
    :func:`scipy.sparse.csgraph.connected_components` call; the units far from a territory stand
    as a few connected pieces (:func:`_exact_enclaves_batch`), so the graph stays small.
    ``units``: the :class:`~cpts_geo.units.Units` of ``graph`` (found from it when omitted).
    """
    group = np.asarray(group, dtype=np.int64)
    unit = np.asarray(unit, dtype=np.int64)
    out: list[list[np.ndarray]] = [[] for _ in range(n_groups)]
    if not len(unit):
        return out
    units = units if units is not None else units_of_graph(graph)
    for g, pieces in _exact_enclaves_batch(units, np.unique(group), group, unit).items():
        out[g] = pieces
    return out


def _ranges(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated ``arange(lo[k], hi[k])`` and the k of each value."""
    rep = hi - lo
    k = np.repeat(np.arange(len(lo)), rep)
    return np.repeat(lo, rep) + np.arange(rep.sum()) - np.repeat(np.cumsum(rep) - rep, rep), k


def _pieces(units: Units, key: np.ndarray, coo: sparse.coo_matrix) -> dict:
    """Connected pieces of the units sharing ``key`` (components of the edges inside a key),
    with their size, lowest unit, land mass, members and the quotient graph between pieces."""
    n = len(units)
    same = key[coo.row] == key[coo.col]
    sub = sparse.coo_matrix((np.ones(int(same.sum()), dtype=np.int8), (coo.row[same], coo.col[same])), shape=(n, n))
    n_p, lab = csgraph.connected_components(sub, directed=False)
    first = np.full(n_p, np.iinfo(np.int64).max)
    np.minimum.at(first, lab, np.arange(n))
    p_land = np.zeros(n_p, dtype=np.int64)
    p_land[lab] = units.land
    members = np.argsort(lab, kind="stable")
    q = _unique(lab[coo.row[~same]].astype(np.int64) * n_p + lab[coo.col[~same]])
    return {"n": n_p, "of": lab, "size": np.bincount(lab, minlength=n_p), "first": first, "land": p_land,
            "members": members, "mbounds": np.searchsorted(lab[members], np.arange(n_p + 1)),
            "qb": q % n_p, "qbounds": np.searchsorted(q // n_p, np.arange(n_p + 1))}


@functools.lru_cache(maxsize=4)
def _clusters(units: Units) -> tuple[dict, dict, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Two fixed partitions of the units into connected pieces: *fine* (the connected pieces of
    each EPCI within a department; a unit without EPCI alone) nested in *coarse* (the connected
    pieces of each department). Inside a territory's complement, a piece the territory does not
    touch is connected: it can stand for its units as one node. Returns (fine, coarse, coarse
    piece of each fine piece, fine pieces sorted by coarse piece and their bounds, coarse
    pieces by land mass and their bounds)."""
    n = len(units)
    coo = units.adjacency.tocoo()
    dep_i, _ = units.categories("dep")
    epci_i, ecats = units.categories("epci")
    ekey = np.where(epci_i >= 0, epci_i, len(ecats) + np.arange(n)).astype(np.int64)
    fine = _pieces(units, ekey * (int(dep_i.max(initial=0)) + 2) + dep_i + 1, coo)
    coarse = _pieces(units, dep_i.astype(np.int64), coo)
    f_to_c = np.zeros(fine["n"], dtype=np.int64)
    f_to_c[fine["of"]] = coarse["of"]
    f_by_c = np.argsort(f_to_c, kind="stable")
    fcb = np.searchsorted(f_to_c[f_by_c], np.arange(coarse["n"] + 1))
    c_by_land = np.lexsort((np.arange(coarse["n"]), coarse["land"]))
    lbounds = np.searchsorted(coarse["land"][c_by_land], np.arange(int(units.land.max(initial=0)) + 2))
    return fine, coarse, f_to_c, (f_by_c, fcb), (c_by_land, lbounds)


def _exact_enclaves_batch(units: Units, todo: np.ndarray, group: np.ndarray, unit: np.ndarray
                          ) -> dict[int, list[np.ndarray]]:
    """Enclaves of the territories ``todo`` from the components of their complements, found in
    one :func:`scipy.sparse.csgraph.connected_components` call over one graph holding, for each
    territory: the units (outside it) of the fine pieces it touches, one node per other fine
    piece of the coarse pieces it touches, one node per other coarse piece of the land masses it
    touches (:func:`_clusters`). An untouched piece is connected, so the components, their sizes
    in units and their lowest units are those of the full complement: the result is exact."""
    n = len(units)
    fine, coarse, f_to_c, (f_by_c, fcb), (c_by_land, lbounds) = _clusters(units)
    nf, nc, land = fine["n"], coarse["n"], units.land
    fo, co = fine["of"], coarse["of"]
    n_land = int(land.max(initial=0)) + 1
    sel = np.isin(group, todo)
    gid, g_c = np.unique(group[sel], return_inverse=True)
    u_t = unit[sel]
    g_c = g_c.astype(np.int64)
    tkeys = _unique(g_c * n + u_t)
    tf = _unique(g_c * nf + fo[u_t])
    tc = _unique(g_c * nc + co[u_t])
    # units of the touched fine pieces, outside the territory
    pos, k = _ranges(fine["mbounds"][tf % nf], fine["mbounds"][tf % nf + 1])
    ekeys = np.sort((tf // nf)[k] * n + fine["members"][pos])
    ekeys = ekeys[~_in_sorted(tkeys, ekeys)]
    # the other fine pieces of the touched coarse pieces
    pos, k = _ranges(fcb[tc % nc], fcb[tc % nc + 1])
    fkeys = (tc // nc)[k] * nf + f_by_c[pos]
    fkeys = fkeys[~_in_sorted(tf, fkeys)]
    n_g = len(gid)
    n_e, n_f = len(ekeys), len(fkeys)
    eg, eu = ekeys // n, ekeys % n
    fg, ff = fkeys // nf, fkeys % nf
    fnode = np.full((n_g, nf), -1, dtype=np.int64)
    fnode[fg, ff] = n_e + np.arange(n_f)
    # the other coarse pieces of the land masses touched: each group of them connected without the
    # touched pieces is one node. Territories touching the same coarse pieces share that grouping,
    # computed once per distinct set, for all sets in one components call.
    tg_c, tc_c = tc // nc, tc % nc
    tb = np.searchsorted(tg_c, np.arange(n_g + 1))
    s_of_g, _ = pd.factorize(pd.Series([tc_c[tb[i]:tb[i + 1]].tobytes() for i in range(n_g)], dtype=object))
    n_s = int(s_of_g.max(initial=-1)) + 1
    rep = np.unique(s_of_g, return_index=True)[1]  # first territory of each set
    is_rep = np.zeros(n_g, dtype=bool)
    is_rep[rep] = True
    rsel = is_rep[tg_c]
    stc = _unique(s_of_g[tg_c[rsel]].astype(np.int64) * nc + tc_c[rsel])
    sl = _unique((stc // nc) * n_land + coarse["land"][stc % nc])
    pos, k = _ranges(lbounds[sl % n_land], lbounds[sl % n_land + 1])
    skeys = (sl // n_land)[k] * nc + c_by_land[pos]
    skeys = skeys[~_in_sorted(stc, skeys)]
    ss, sc = skeys // nc, skeys % nc
    snode = np.full((max(n_s, 1), nc), -1, dtype=np.int64)
    snode[ss, sc] = np.arange(len(skeys))
    pos3, k3 = _ranges(coarse["qbounds"][sc], coarse["qbounds"][sc + 1])
    to3 = snode[ss[k3], coarse["qb"][pos3]]
    ok3 = to3 >= 0
    sgraph = sparse.coo_matrix((np.ones(int(ok3.sum()), dtype=np.int8), (k3[ok3], to3[ok3])),
                               shape=(len(skeys), len(skeys)))
    n_sc, scomp = csgraph.connected_components(sgraph, directed=False)
    sc_size = np.bincount(scomp, weights=coarse["size"][sc], minlength=n_sc)
    sc_first = np.full(n_sc, np.iinfo(np.int64).max)
    np.minimum.at(sc_first, scomp, coarse["first"][sc])
    sc_land = np.zeros(n_sc, dtype=np.int64)
    sc_land[scomp] = coarse["land"][sc]
    sc_s = np.zeros(n_sc, dtype=np.int64)
    sc_s[scomp] = ss
    by_s = np.argsort(sc_s, kind="stable")
    sbounds = np.searchsorted(sc_s[by_s], np.arange(n_s + 1))
    rank = np.empty(n_sc, dtype=np.int64)
    rank[by_s] = np.arange(n_sc) - sbounds[sc_s[by_s]]
    pieces_of = np.argsort(scomp, kind="stable")  # coarse pieces (rows of skeys) of each S-component
    pbounds = np.searchsorted(scomp[pieces_of], np.arange(n_sc + 1))
    # one copy of its set's components per territory
    count = sbounds[s_of_g + 1] - sbounds[s_of_g]
    base = n_e + n_f + np.cumsum(count) - count
    pos, cg = _ranges(sbounds[s_of_g], sbounds[s_of_g + 1])
    ccomp = by_s[pos]  # S-component of each coarse node
    n_k = len(ccomp)

    def node(g: np.ndarray, f: np.ndarray) -> np.ndarray:
        """Node of fine piece ``f`` (or of its coarse piece's group) for territory ``g``; -1
        when the piece is touched (its units are nodes of their own, or in the territory)."""
        out = fnode[g, f]
        far = np.flatnonzero(out < 0)
        at = snode[s_of_g[g[far]], f_to_c[f[far]]]
        ok = at >= 0
        out[far[ok]] = base[g[far[ok]]] + rank[scomp[at[ok]]]
        return out

    src, w = units.neighbours(eu)
    wk = eg[src] * n + w
    to1 = np.full(len(w), -1, dtype=np.int64)
    hit = _in_sorted(ekeys, wk)
    to1[hit] = np.searchsorted(ekeys, wk[hit])
    to1[~hit] = node(eg[src[~hit]], fo[w[~hit]])
    ok1 = to1 >= 0
    pos, k = _ranges(fine["qbounds"][ff], fine["qbounds"][ff + 1])
    to2 = node(fg[k], fine["qb"][pos])
    ok2 = to2 >= 0
    rows = np.concatenate([src[ok1], n_e + k[ok2]])
    cols = np.concatenate([to1[ok1], to2[ok2]])
    m = n_e + n_f + n_k
    adj = sparse.coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(m, m))
    n_comp, comp = csgraph.connected_components(adj, directed=False)
    size = np.bincount(comp, weights=np.r_[np.ones(n_e), fine["size"][ff], sc_size[ccomp]], minlength=n_comp)
    first = np.full(n_comp, np.iinfo(np.int64).max)
    np.minimum.at(first, comp, np.r_[eu, fine["first"][ff], sc_first[ccomp]])
    key = np.zeros(n_comp, dtype=np.int64)
    key[comp] = np.r_[eg * n_land + land[eu], fg * n_land + fine["land"][ff], cg * n_land + sc_land[ccomp]]
    o = np.lexsort((first, -size, key))
    head = np.r_[True, key[o][1:] != key[o][:-1]][:len(o)]
    enc = np.zeros(n_comp, dtype=bool)
    enc[o[~head]] = True
    # units of the enclaves: their unit nodes and the members of their piece nodes
    ce, cf, ck = comp[:n_e], comp[n_e:n_e + n_f], comp[n_e + n_f:]
    e_sel = np.flatnonzero(enc[ce])
    f_sel = np.flatnonzero(enc[cf])
    c_sel = np.flatnonzero(enc[ck])
    pf, kf = _ranges(fine["mbounds"][ff[f_sel]], fine["mbounds"][ff[f_sel] + 1])
    pp, kp = _ranges(pbounds[ccomp[c_sel]], pbounds[ccomp[c_sel] + 1])  # coarse pieces of those groups
    piece = sc[pieces_of[pp]]
    pc, kc = _ranges(coarse["mbounds"][piece], coarse["mbounds"][piece + 1])
    vu = np.r_[eu[e_sel], fine["members"][pf], coarse["members"][pc]]
    vc = np.r_[ce[e_sel], cf[f_sel][kf], ck[c_sel][kp][kc]]
    order = np.lexsort((vu, vc))
    vu, vc = vu[order], vc[order]
    vg = key[vc] // n_land
    b = np.flatnonzero(np.r_[True, vc[1:] != vc[:-1], True]) if len(vc) else np.zeros(0, dtype=np.int64)
    out: dict[int, list[np.ndarray]] = {int(g): [] for g in gid}
    pieces = sorted(((int(vg[b[i]]), vu[b[i]: b[i + 1]]) for i in range(len(b) - 1)), key=lambda p: (p[0], p[1][0]))
    for g, v in pieces:
        out[int(gid[g])].append(v)
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
