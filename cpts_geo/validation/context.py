"""Precomputed state shared by every validation against one existing listing.

:class:`ExistingListing` reads the listing once and caches, per level of analysis of Paris,
Lyon and Marseille (whole cities or arrondissements), the unit table, the adjacency graph and
the coverage of every unit by the existing CPTS: validating a proposal then costs set arithmetic
on a few hundred units, not a full :func:`cpts_geo.diagnose` of the listing.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse

from cpts_geo import fr, reference
from cpts_geo.errors import OptionError
from cpts_geo.incidence import Incidence
from cpts_geo.perimeters import dissolve_groups
from cpts_geo.units import Units, load_units
from cpts_geo.validation.inputs import read_existing


@dataclass
class Coverage:
    """Units of France for one analysis level, with the existing coverage of each unit.

    ``n_cpts``/``cpts_of``: number and names of existing CPTS listing each unit, read from
    ``incidence`` (:class:`cpts_geo.incidence.Incidence`, the model :func:`cpts_geo.diagnose`
    reads too); ``known``: the unit lies in a department of the listing (its coverage is known);
    ``component``: land mass (:attr:`cpts_geo.units.Units.land`; islands and Corsica are
    separate land masses).
    """

    arr_cities: frozenset
    units: gpd.GeoDataFrame
    graph: sparse.csr_matrix
    index: pd.Index
    n_cpts: np.ndarray
    cpts_of: np.ndarray
    known: np.ndarray
    component: np.ndarray
    component_size: np.ndarray
    population: np.ndarray
    dens7: np.ndarray
    cateaav: np.ndarray
    incidence: Incidence

    def __post_init__(self) -> None:
        m: Units = self.incidence.units
        self.codes = m.code
        self.noms = m.nom
        self.dep = m.dep
        self.reg = m.reg
        self.epci = m.epci
        self.border = m.border
        self.has_geometry = m.has_geometry
        self.area = m.area_km2
        self.epci_size = _epci_size(m)

    @functools.cached_property
    def epci_positions(self) -> dict[str, np.ndarray]:
        """Positions of the units of each EPCI, in unit order (computed once)."""
        s = pd.Series(self.epci, dtype=object).dropna()
        return {str(k): np.sort(s.index.to_numpy()[v]) for k, v in s.groupby(s, sort=False).indices.items()}


@functools.cache
def _unit_extras(arr_cities: frozenset) -> tuple[gpd.GeoDataFrame, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    model = load_units(arr_cities)
    units = model.frame()
    ref = reference.units()
    dens7 = ref["dens7"].astype("float64").reindex(model.code).to_numpy()
    cateaav = ref["cateaav2020"].reindex(model.code).to_numpy()
    return units, dens7, cateaav, model.land, np.bincount(model.land)


@functools.cache
def _epci_size(model: Units) -> pd.Series:
    return pd.Series(model.epci).dropna().value_counts()


def match_cpts_names(given: Iterable[str], names: Iterable[str], option: str = "replaces") -> tuple[str, ...]:
    """The CPTS names of ``names`` designated by ``given``, compared without accents, case nor
    punctuation (« cpts du ferion » is « CPTS du Férion »). A name matching none raises one
    :class:`OptionError` listing them, with « vouliez-vous dire » and the closest names."""
    import difflib

    from cpts_geo.names import key

    by_key: dict[str, str] = {}
    for n in sorted(names):
        by_key.setdefault(key(n), n)
    found, unknown = [], []
    for g in given:
        hit = g if g in by_key.values() else by_key.get(key(g))
        (found.append(hit) if hit is not None else unknown.append(g))
    if unknown:
        absent = fr.plural(len(unknown), "absente", with_number=False)
        hints = []
        for g in unknown:
            close = difflib.get_close_matches(key(g), list(by_key), n=3, cutoff=0.6)
            if close:
                hints.append(f"pour « {g} », vouliez-vous dire "
                             + " ou ".join(f"« {by_key[c]} »" for c in close) + " ?")
        raise OptionError(option, ", ".join(unknown), f"CPTS à remplacer {absent} de la liste existante"
                          + (" ; " + " ; ".join(hints) if hints else ""))
    return tuple(dict.fromkeys(found))


class ExistingListing:
    """The existing CPTS listing prepared for repeated validations.

    ``existing``: path of a listing in any members format, a members frame, a
    :class:`cpts_geo.Diagnosis`, or None (no listing: overlaps and white zones are not checked).
    ``departments``: departments whose coverage the listing describes (default: those of its
    units). ``replaces``: names of existing CPTS the proposal replaces (left out of the coverage).
    """

    def __init__(self, existing: object = None, departments: list[str] | None = None,
                 replaces: tuple[str, ...] | list[str] = ()) -> None:
        if existing is None:
            self.members = pd.DataFrame({"cpts": pd.Series([], dtype=object), "code": pd.Series([], dtype=object)})
            self.source = None
        else:
            self.members = read_existing(existing)
            src = self.members.attrs.get("source")
            self.source = str(src) if src is not None else (Path(existing).name if isinstance(existing, (str, Path)) else "liste")
        self.given = existing is not None
        self.all_members = self.members
        names = set(self.members["cpts"].astype(str))
        self.replaces = match_cpts_names(replaces, names)
        if self.replaces:
            self.members = self.members[~self.members["cpts"].astype(str).isin(self.replaces)]
        ref = reference.load_communes()
        dep_of = ref.set_index("code")["dep"]
        if departments is not None:
            self.known_deps = frozenset(str(d).upper().zfill(2) for d in departments)
        else:
            self.known_deps = frozenset(dep_of.reindex(self.members["code"]).dropna().unique())
        self.cpts_names = sorted(names - set(self.replaces))
        self._cov: dict[frozenset, Coverage] = {}
        self._geoms: dict[tuple[frozenset, str], object] = {}

    def coverage(self, arr_cities: frozenset) -> Coverage:
        """Coverage of every unit by the existing CPTS at one level of analysis (cached)."""
        if arr_cities in self._cov:
            return self._cov[arr_cities]
        from cpts_geo.members import expand_cities

        units, dens7, cateaav, comp, comp_size = _unit_extras(arr_cities)
        idx = pd.Index(units["code"])
        m = self.members
        if arr_cities:
            m = expand_cities(m)
            # a listing at arrondissement level for a city the proposal names whole, or the reverse
            pairs = reference.plm_expand(m["code"].to_numpy(dtype=object), arr_cities)
            m = pd.DataFrame({"cpts": m["cpts"].to_numpy(dtype=object)[pairs["row"].to_numpy()],
                              "code": pairs["unit"].to_numpy(dtype=object)})
        else:
            m = pd.DataFrame({"cpts": m["cpts"].to_numpy(dtype=object),
                              "code": reference.plm_collapse(m["code"].to_numpy(dtype=object))})
        model = load_units(arr_cities)
        inc = Incidence.from_pairs(model, m["cpts"].to_numpy(dtype=object), m["code"].to_numpy(dtype=object))
        known = units["dep"].isin(self.known_deps).to_numpy()
        cov = Coverage(arr_cities, units, model.adjacency, idx, inc.n_cpts, inc.cpts_of, known, comp,
                       comp_size, model.population, dens7, cateaav, inc)
        self._cov[arr_cities] = cov
        return cov

    def cpts_geometry(self, arr_cities: frozenset, names: list[str]) -> dict[str, object]:
        """Outline (EPSG:4326) of each named existing CPTS (coverage union, cached)."""
        cov = self.coverage(arr_cities)
        todo = [n for n in names if (arr_cities, n) not in self._geoms]
        if todo:
            members = self.members[self.members["cpts"].astype(str).isin(todo)]
            ui = cov.index.get_indexer(members["code"])
            ok = ui >= 0
            grp_names, grp = np.unique(members["cpts"].astype(str).to_numpy()[ok], return_inverse=True)
            geoms = dissolve_groups(cov.units.geometry.values[ui[ok]], grp, len(grp_names))
            for n, g in zip(grp_names, geoms, strict=True):
                self._geoms[(arr_cities, n)] = g
            for n in todo:
                self._geoms.setdefault((arr_cities, n), None)
        return {n: self._geoms[(arr_cities, n)] for n in names}


_CACHE: dict[tuple, ExistingListing] = {}


def prepare_existing(existing: object = None, departments: list[str] | None = None,
                     replaces: tuple[str, ...] | list[str] = ()) -> ExistingListing:
    """An :class:`ExistingListing`, reused from a small cache when ``existing`` is a file path
    whose size and modification time did not change."""
    if isinstance(existing, ExistingListing):
        if departments is None and tuple(replaces) == existing.replaces:
            return existing
        existing = existing.all_members
    key = None
    if isinstance(existing, (str, Path)):
        p = Path(existing)
        if p.exists():
            st = p.stat()
            key = (str(p.resolve()), st.st_size, st.st_mtime_ns,
                   tuple(departments) if departments else None, tuple(replaces))
    elif existing is None:
        key = (None, tuple(departments) if departments else None, tuple(replaces))
    if key is not None and key in _CACHE:
        return _CACHE[key]
    ctx = ExistingListing(existing, departments, replaces)
    if key is not None:
        if len(_CACHE) > 8:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = ctx
    return ctx
