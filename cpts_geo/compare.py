"""Comparison of two versions of a CPTS listing: created, removed, renamed and changed CPTS.

Two listings need not cover the same departments (a 3-department extract against a regional
listing): a CPTS is counted as created or removed only in a department both listings cover; the
CPTS of a department only one of them covers are « hors de l'ancienne liste » / « hors de la
nouvelle liste », and the departments are named (:func:`listing_departments`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cpts_geo import reference, rules
from cpts_geo._checks import expect_number, expect_source
from cpts_geo.coverage import _as_members
from cpts_geo.incidence import Incidence
from cpts_geo.members import arrondissement_cities, expand_cities
from cpts_geo.units import load_units


def _sets(members: pd.DataFrame | str | Path) -> dict[str, frozenset]:
    """Units of each CPTS, read from the listing's :class:`~cpts_geo.incidence.Incidence` (at its
    level: Paris, Lyon, Marseille by arrondissement when it names them); a code that is no unit
    of the reference (a hand-built frame) is kept as given."""
    m = expand_cities(_as_members(members))
    m = m.dropna(subset=["code"])
    cpts, codes = m["cpts"].to_numpy(dtype=object).astype(str), m["code"].to_numpy(dtype=object)
    units = load_units(arrondissement_cities(codes))
    inc = Incidence.from_pairs(units, cpts, codes)
    bounds = np.searchsorted(inc.group, np.arange(inc.n_groups + 1))
    ucode = units.code[inc.unit]
    out = {str(n): frozenset(ucode[bounds[k]:bounds[k + 1]].tolist()) for k, n in enumerate(inc.names)}
    other = units.positions(codes) < 0
    for name, code in zip(cpts[other], codes[other], strict=True):
        out[name] = out.get(name, frozenset()) | {code}
    return out


#: status of a CPTS whose department the old (new) listing does not cover: neither created nor removed
OUTSIDE_OLD = "hors de l'ancienne liste"
OUTSIDE_NEW = "hors de la nouvelle liste"
#: every status, in the order reports show them
STATUSES = ("créée", "supprimée", "renommée", "modifiée", "inchangée", OUTSIDE_OLD, OUTSIDE_NEW)


def main_department(codes: frozenset | set | tuple) -> str | None:
    """The department holding most of the population of ``codes`` (then most units, then the
    smallest code); None when no code is known to the reference.

    Parameters
    ----------
    codes : iterable of str
        COG 2026 unit codes of one CPTS.

    Returns
    -------
    str or None
        Department code, e.g. ``"04"``.

    Examples
    --------
    >>> main_department({"04070", "04112", "83001"})
    '04'
    """
    u = reference.units()
    known = [c for c in codes if c in u.index]
    if not known:
        return None
    t = pd.DataFrame({"dep": u.loc[known, "dep"].to_numpy(),
                      "pop": u.loc[known, "population"].astype(float).fillna(0).to_numpy()})
    g = t.groupby("dep").agg(pop=("pop", "sum"), n=("pop", "size")).reset_index()
    return str(g.sort_values(["pop", "n", "dep"], ascending=[False, False, True]).iloc[0]["dep"])


#: a department whose CPTS based there (main department) cover at least this share of its
#: population is covered by the listing even if none of them lies wholly inside it
COVERED_SHARE = 0.5


def listing_departments(sets: dict[str, frozenset]) -> set[str]:
    """Departments a listing covers: those where one of its CPTS lies wholly, and those whose
    population its CPTS based there (:func:`main_department`) cover at least half of
    (:data:`COVERED_SHARE`). An extract that keeps every CPTS touching three departments — one
    of them reaching a few communes into a fourth, or based in it — does not cover the fourth.

    Parameters
    ----------
    sets : dict
        CPTS name → frozenset of COG 2026 unit codes.

    Returns
    -------
    set of str
        Department codes.
    """
    u = reference.units()
    pop = u["population"].astype(float).fillna(0)
    dep_pop = pop.groupby(u["dep"]).sum()
    covered: set[str] = set()
    based: dict[str, set[str]] = {}
    for codes in sets.values():
        known = [c for c in codes if c in u.index]
        deps = set(u.loc[known, "dep"])
        if len(deps) == 1:
            covered |= deps
        main = main_department(codes)
        if main is not None:
            based.setdefault(main, set()).update(c for c in known if u.at[c, "dep"] == main)
    for dep, codes in based.items():
        if dep_pop.get(dep, 0) and pop.reindex(list(codes)).sum() >= COVERED_SHARE * dep_pop[dep]:
            covered.add(dep)
    return covered


def compare_listings(
    old: pd.DataFrame | str | Path, new: pd.DataFrame | str | Path, rename_threshold: float = 0.5
) -> pd.DataFrame:
    """Compare two versions of a listing (members frames or paths).

    One row per CPTS: ``cpts`` (name in the new listing, or the old name if removed),
    ``previous_name``, ``status`` (:data:`STATUSES`: inchangée, modifiée, renommée, créée,
    supprimée, hors de l'ancienne liste, hors de la nouvelle liste), ``added`` and
    ``removed`` unit codes, ``n_before``, ``n_after``, ``population_before``, ``population_after``
    (populations municipales légales of the reference, 0 when absent) and ``band_before``,
    ``band_after`` (ACI size band, 0 when absent). A CPTS that disappears under one name while
    another appears with at least ``rename_threshold`` of shared units (Jaccard index) is renamed.

    A CPTS is created or removed only in the departments both listings cover
    (:func:`listing_departments`): one with no commune in them has the status « hors de
    l'ancienne liste » (« hors de la nouvelle liste ») instead. ``attrs``: ``created``,
    ``removed``, ``renamed`` ({old: new}), ``departments_both``, ``departments_only_old``,
    ``departments_only_new`` (sorted codes), ``outside_old``, ``outside_new`` (CPTS names).

    Examples
    --------
    >>> cmp = compare_listings(old_members, new_members)   # doctest: +SKIP
    >>> cmp.attrs["departments_only_new"]                   # doctest: +SKIP
    ['06', '13', '83']
    """
    expect_source(old, "old")
    expect_source(new, "new")
    expect_number(rename_threshold, "rename_threshold", minimum=0, maximum=1)
    a, b = _sets(old), _sets(new)
    covered_a, covered_b = listing_departments(a), listing_departments(b)
    # a CPTS lies in the departments both listings cover when any of its communes does
    dep = reference.units()["dep"]

    def in_both(codes: frozenset) -> bool:
        return bool({dep.get(c) for c in codes} & covered_a & covered_b)
    gone, fresh = sorted(set(a) - set(b)), sorted(set(b) - set(a))
    scores = []
    for o in gone:
        for n in fresh:
            inter = len(a[o] & b[n])
            if inter:
                scores.append((inter / len(a[o] | b[n]), o, n))
    renamed: dict[str, str] = {}
    for score, o, n in sorted(scores, key=lambda t: (-t[0], t[1], t[2])):
        if score >= rename_threshold and o not in renamed and n not in renamed.values():
            renamed[o] = n
    rows = []
    for n in sorted(b):
        prev = n if n in a else next((o for o, x in renamed.items() if x == n), None)
        before = a.get(prev, frozenset()) if prev else frozenset()
        after = b[n]
        if prev is None:
            status = "créée" if in_both(after) else OUTSIDE_OLD
        elif prev != n:
            status = "renommée"
        else:
            status = "inchangée" if before == after else "modifiée"
        rows.append((n, prev, status, tuple(sorted(after - before)), tuple(sorted(before - after)),
                     len(before), len(after)))
    for o in gone:
        if o not in renamed:
            status = "supprimée" if in_both(a[o]) else OUTSIDE_NEW
            rows.append((o, o, status, (), tuple(sorted(a[o])), len(a[o]), 0))
    out = pd.DataFrame(rows, columns=["cpts", "previous_name", "status", "added", "removed", "n_before", "n_after"])
    pop = reference.units()["population"].astype(float).fillna(0)
    before = [a.get(p, frozenset()) if isinstance(p, str) and st not in ("créée", OUTSIDE_OLD) else frozenset()
              for p, st in zip(out["previous_name"], out["status"], strict=True)]
    after = [b.get(c, frozenset()) if st not in ("supprimée", OUTSIDE_NEW) else frozenset()
             for c, st in zip(out["cpts"], out["status"], strict=True)]
    for col, sets in (("population_before", before), ("population_after", after)):
        out[col] = [int(round(pop.reindex(list(x)).fillna(0).sum())) for x in sets]
    out["band_before"] = np.where(out["n_before"] > 0, rules.aci_band(out["population_before"]), 0)
    out["band_after"] = np.where(out["n_after"] > 0, rules.aci_band(out["population_after"]), 0)
    status = dict(zip(out["cpts"], out["status"], strict=True))
    out.attrs = {
        "created": sorted(c for c in set(fresh) - set(renamed.values()) if status.get(c) == "créée"),
        "removed": sorted(c for c in set(gone) - set(renamed) if status.get(c) == "supprimée"),
        "renamed": renamed,
        "departments_both": sorted(covered_a & covered_b),
        "departments_only_old": sorted(covered_a - covered_b),
        "departments_only_new": sorted(covered_b - covered_a),
        "outside_old": sorted(c for c, s in status.items() if s == OUTSIDE_OLD),
        "outside_new": sorted(c for c, s in status.items() if s == OUTSIDE_NEW),
        "cog": reference.COG_YEAR,
    }
    return out
