"""Which CPTS lists which unit: the one incidence of a listing, read by every step.

An :class:`Incidence` is the CPTS × unit matrix of a listing over the :class:`~cpts_geo.units.Units`
of one level, with the CPTS names and stages and the analysed area. It is the only place where
CPTS are counted per unit: :func:`cpts_geo.diagnose` (overlaps, white zones, coverage rates,
perimeters, topology), :func:`cpts_geo.coverage_rates`, the validation context
(:mod:`cpts_geo.validation.context`) and the app all read ``n_cpts``, ``cpts_of``,
``covered`` and ``by_zone`` from it (the pattern of tobler's explicit ``table`` in
``area_interpolate``: the membership is a value passed along, never re-derived).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import sparse

from cpts_geo.units import Units

__all__ = ["Incidence"]


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    a.flags.writeable = False
    return a


@dataclass(frozen=True, eq=False, repr=False)
class Incidence:
    """The memberships of a listing: unique (CPTS, unit) pairs over one level of :class:`Units`.

    Attributes
    ----------
    units : Units
        The analysis units (rows are the unit indices of ``unit``).
    names : ndarray of object
        CPTS names, sorted (position = CPTS index of ``group``).
    stages : ndarray of object
        Stage of each CPTS (canonical label of :data:`cpts_geo.rules.STAGES`, None unknown).
    group, unit : ndarray of int64
        One entry per membership, sorted by CPTS then unit.
    area : ndarray of bool
        The analysed area (per unit): the scope of overlaps, white zones and every count.

    Examples
    --------
    >>> from cpts_geo.units import load_units
    >>> inc = Incidence.from_pairs(load_units(), ["A", "A", "B"], ["05061", "05023", "05061"])
    >>> inc.n_cpts[inc.units.positions(["05061", "05023", "05001"])].tolist()
    [2, 1, 0]
    >>> inc.cpts_of[inc.units.positions(["05061"])[0]]
    ('A', 'B')
    """

    units: Units
    names: np.ndarray
    stages: np.ndarray
    group: np.ndarray
    unit: np.ndarray
    area: np.ndarray

    @classmethod
    def from_pairs(cls, units: Units, cpts: object, codes: object, stages: dict | None = None,
                   area: np.ndarray | None = None) -> Incidence:
        """The incidence of (CPTS name, unit code) pairs; codes that are not units of ``units``
        are ignored (the caller refuses or converts them first), repeated pairs count once.

        Parameters
        ----------
        units : Units
        cpts, codes : array-like
            One entry per listed (CPTS, unit) row.
        stages : dict, optional
            CPTS name → stage.
        area : ndarray of bool, optional
            Analysed area (default: every unit).
        """
        group, names = pd.factorize(pd.Series(np.asarray(cpts, dtype=object)).astype(str), sort=True)
        names = np.asarray(names, dtype=object)
        ui = units.positions(codes)
        ok = ui >= 0
        n = len(units)
        key = np.unique(group[ok].astype(np.int64) * n + ui[ok])
        st = np.array([(stages or {}).get(x) for x in names], dtype=object)
        area = np.ones(n, dtype=bool) if area is None else np.asarray(area, dtype=bool)
        return cls(units, _frozen(names), _frozen(st), _frozen(key // n), _frozen(key % n), _frozen(area))

    def __repr__(self) -> str:
        return (f"<Incidence: {len(self.names)} CPTS, {len(self.group)} memberships over {len(self.units)} "
                f"units; area {int(self.area.sum())} units, {int(self.covered()[self.area].sum())} covered>")

    @property
    def n_groups(self) -> int:
        """Number of CPTS."""
        return len(self.names)

    def within(self, area: np.ndarray) -> Incidence:
        """The same memberships with another analysed area (bool mask over the units)."""
        return replace(self, area=_frozen(np.asarray(area, dtype=bool)))

    @functools.cached_property
    def matrix(self) -> sparse.csr_matrix:
        """CPTS × unit sparse matrix (int8, 1 where the CPTS lists the unit)."""
        return sparse.csr_matrix((np.ones(len(self.group), dtype=np.int8), (self.group, self.unit)),
                                 shape=(self.n_groups, len(self.units)))

    @functools.cached_property
    def n_cpts(self) -> np.ndarray:
        """Number of CPTS listing each unit."""
        return _frozen(np.bincount(self.unit, minlength=len(self.units)))

    @functools.cached_property
    def _by_unit(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Memberships sorted by unit then CPTS: (units, groups, bounds per unit)."""
        order = np.lexsort((self.group, self.unit))
        u, g = self.unit[order], self.group[order]
        return u, g, np.searchsorted(u, np.arange(len(self.units) + 1))

    def memberships_of(self, units: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every (position in ``units``, CPTS index) membership of the given unit indices."""
        _, g, b = self._by_unit
        units = np.asarray(units, dtype=np.int64)
        lo, hi = b[units], b[units + 1]
        rep = hi - lo
        pos = np.repeat(lo, rep) + np.arange(rep.sum()) - np.repeat(np.cumsum(rep) - rep, rep)
        return np.repeat(np.arange(len(units)), rep), g[pos]

    @functools.cached_property
    def cpts_of(self) -> np.ndarray:
        """Tuple of the names (sorted) of the CPTS listing each unit; () when uncovered."""
        n = len(self.units)
        out = np.empty(n, dtype=object)
        out[:] = [()] * n
        u, g, b = self._by_unit
        nc = self.n_cpts
        one = nc[u] == 1
        out[u[one]] = list(zip(self.names[g[one]], strict=True))
        for k in np.flatnonzero(nc > 1):
            out[k] = tuple(self.names[g[b[k]: b[k + 1]]])
        return _frozen(out)

    def covered(self, cpts: np.ndarray | None = None) -> np.ndarray:
        """Units listed by at least one CPTS (of the bool mask ``cpts`` over the CPTS, if given)."""
        if cpts is None:
            return self.n_cpts > 0
        out = np.zeros(len(self.units), dtype=bool)
        out[self.unit[np.asarray(cpts, dtype=bool)[self.group]]] = True
        return out

    @functools.cached_property
    def cpts_in_area(self) -> np.ndarray:
        """CPTS with at least one unit in the analysed area (bool per CPTS)."""
        return np.bincount(self.group, weights=self.area[self.unit], minlength=self.n_groups) > 0

    def by_zone(self, level: str, cpts: np.ndarray | None = None) -> pd.DataFrame:
        """Units and population of the analysed area, and how much of them is covered, per zone.

        Parameters
        ----------
        level : str
            ``"zone"`` (the whole analysed area, key « zone analysée »), ``"dep"``, ``"reg"``
            or ``"epci"``.
        cpts : ndarray of bool, optional
            Only these CPTS cover (e.g. those that signed the ACI).

        Returns
        -------
        DataFrame
            ``key``, ``units``, ``covered_units``, ``population``, ``covered_population``
            (population municipale, NaN as 0; a unit listed by several CPTS counts once), one row
            per zone present in the area, sorted by key.
        """
        u = self.units
        pop = np.nan_to_num(u.population)
        cov = self.covered(cpts)
        if level == "zone":
            cat, cats = np.zeros(len(u), dtype=np.int64), np.array(["zone analysée"], dtype=object)
        else:
            cat, cats = u.categories(level)
        sel = self.area & (cat >= 0)
        c = cat[sel]
        n = np.bincount(c, minlength=len(cats))
        present = np.flatnonzero(n)
        return pd.DataFrame({
            "key": cats[present], "units": n[present],
            "covered_units": np.bincount(c, weights=cov[sel], minlength=len(cats))[present].astype(int),
            "population": np.bincount(c, weights=pop[sel], minlength=len(cats))[present].round().astype("int64"),
            "covered_population": np.bincount(c, weights=(pop * cov)[sel], minlength=len(cats))[present]
            .round().astype("int64"),
        })
