"""Comparison of two versions of a CPTS listing: created, removed, renamed and changed CPTS."""

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


def compare_listings(
    old: pd.DataFrame | str | Path, new: pd.DataFrame | str | Path, rename_threshold: float = 0.5
) -> pd.DataFrame:
    """Compare two versions of a listing (members frames or paths).

    One row per CPTS: ``cpts`` (name in the new listing, or the old name if removed),
    ``previous_name``, ``status`` (inchangée, modifiée, renommée, créée, supprimée), ``added`` and
    ``removed`` unit codes, ``n_before``, ``n_after``, ``population_before``, ``population_after``
    (populations municipales légales of the reference, 0 when absent) and ``band_before``,
    ``band_after`` (ACI size band, 0 when absent). A CPTS that disappears under one name while
    another appears with at least ``rename_threshold`` of shared units (Jaccard index) is renamed.
    ``attrs``: ``created``, ``removed``, ``renamed`` ({old: new}).
    """
    expect_source(old, "old")
    expect_source(new, "new")
    expect_number(rename_threshold, "rename_threshold", minimum=0, maximum=1)
    a, b = _sets(old), _sets(new)
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
            status = "créée"
        elif prev != n:
            status = "renommée"
        else:
            status = "inchangée" if before == after else "modifiée"
        rows.append((n, prev, status, tuple(sorted(after - before)), tuple(sorted(before - after)),
                     len(before), len(after)))
    for o in gone:
        if o not in renamed:
            rows.append((o, o, "supprimée", (), tuple(sorted(a[o])), len(a[o]), 0))
    out = pd.DataFrame(rows, columns=["cpts", "previous_name", "status", "added", "removed", "n_before", "n_after"])
    pop = reference.units()["population"].astype(float).fillna(0)
    before = [a.get(p, frozenset()) if isinstance(p, str) and st != "créée" else frozenset()
              for p, st in zip(out["previous_name"], out["status"], strict=True)]
    after = [b.get(c, frozenset()) if st != "supprimée" else frozenset()
             for c, st in zip(out["cpts"], out["status"], strict=True)]
    for col, sets in (("population_before", before), ("population_after", after)):
        out[col] = [int(round(pop.reindex(list(x)).fillna(0).sum())) for x in sets]
    out["band_before"] = np.where(out["n_before"] > 0, rules.aci_band(out["population_before"]), 0)
    out["band_after"] = np.where(out["n_after"] > 0, rules.aci_band(out["population_after"]), 0)
    out.attrs = {
        "created": sorted(set(fresh) - set(renamed.values())),
        "removed": sorted(set(gone) - set(renamed)),
        "renamed": renamed,
        "cog": reference.COG_YEAR,
    }
    return out
