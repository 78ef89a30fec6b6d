"""APL-style accessibility computed with the DREES two-step floating catchment area (2SFCA).

    R_j   = S_j / Σ_k P_k · w(t_kj)          (supply of commune j per inhabitant within reach)
    APL_i = Σ_j R_j · w(t_ij)                (supply accessible from commune i, per inhabitant)

with the same stepped decay ``w`` in both steps, on half-open intervals: with the default
``{10: 1, 15: 2/3, 20: 1/3}``, t < 10 min → 1, 10 ≤ t < 15 → 2/3, 15 ≤ t < 20 → 1/3,
t ≥ 20 → 0, and a commune is 0 minutes from itself. These weights are the stepped decay of
the APL to general practitioners as described by the DREES since the 2015 revision of the
method (recourse falling with road time up to 20 minutes); confirm them against the
"Paramètres" sheet of the DREES file of the year you reproduce, they change with the profession.

Computed from BPE headcounts and estimated travel times (the defaults), the result is an
APL-style *estimate*: the DREES figure uses activity (consultations) of each practitioner,
age-standardised demand and the Metric road distance table. ``attrs`` says so.

The computation is vectorised: neighbour search with a KD-tree, both steps as weighted sums over
the pairs within reach (``numpy.bincount``, the products with the sparse matrix of the weights).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cpts_geo import fr, reference
from cpts_geo._checks import expect_frame, expect_series, expect_text, fail
from cpts_geo.errors import InputError, OptionError
from cpts_geo.indicators import supply as _supply
from cpts_geo.indicators import travel as _travel
from cpts_geo.indicators.population import commune_population
from cpts_geo.io.tables import INSEE_CODE_PATTERN, clean_codes
from cpts_geo.reference import PLM_CITIES
from cpts_geo.rules import APL_DEFAULT_STEPS

#: upper bound of each step (minutes) → weight; DREES APL to general practitioners (cpts_geo.rules)
DEFAULT_STEPS: dict[float, float] = APL_DEFAULT_STEPS

METHOD = (
    "2SFCA à décroissance par paliers (méthode APL DREES) : R_j = S_j / Σ_k P_k·w(t_kj), "
    "APL_i = Σ_j R_j·w(t_ij), paliers semi-ouverts [0, b1), [b1, b2), …"
)


def step_weights(minutes: np.ndarray, steps: Mapping[float, float] = DEFAULT_STEPS) -> np.ndarray:
    """Stepped weight of each travel time on half-open intervals (t < b1 → w1, b1 ≤ t < b2 → w2, …,
    t ≥ last bound → 0)."""
    bounds, weights = check_steps(steps)
    t = np.asarray(minutes, dtype=float)
    # bounds above t, counted with one comparison per bound (a NaN is above none: weight 0); the
    # step of t is len(bounds) - that count (np.searchsorted(bounds, t, side="right"))
    above = np.zeros(t.shape, dtype=np.int8 if len(bounds) < 127 else np.intp)
    for b in bounds:
        above += t < b
    return np.append(weights, 0.0)[::-1][above]


#: largest travel-time bound accepted, in minutes (the DREES steps stop at 20 min; two hours
#: bounds the memory of the estimated pairs, which grows with the square of the bound)
MAX_STEP_MINUTES = 120


def check_steps(steps: Mapping[float, float], option: str = "steps") -> tuple[np.ndarray, np.ndarray]:
    """The decay steps {upper bound in minutes: weight} as sorted arrays (bounds, weights); an
    :class:`OptionError` naming ``option`` (``--steps`` in the CLI) for unreadable steps, bounds
    ≤ 0 or above :data:`MAX_STEP_MINUTES`, negative or non-finite weights."""
    try:
        items = sorted((float(b), float(w)) for b, w in steps.items())
    except (TypeError, ValueError, AttributeError) as exc:
        raise OptionError(option, steps, "paliers illisibles : {minutes: poids} attendu") from exc
    if not items or not all(np.isfinite(b) and np.isfinite(w) for b, w in items):
        raise OptionError(option, dict(steps), "bornes et poids finis attendus")
    if items[0][0] <= 0 or any(w < 0 for _, w in items):
        raise OptionError(option, dict(steps), "bornes > 0 et poids ≥ 0 attendus")
    if items[-1][0] > MAX_STEP_MINUTES:
        raise OptionError(option, dict(steps), f"bornes en minutes attendues, au plus {MAX_STEP_MINUTES}")
    return np.array([b for b, _ in items]), np.array([w for _, w in items])


def check_apl_parameters(per: float, detour: float, speed_kmh: float,
                         names: tuple[str, str, str] = ("per", "detour", "speed_kmh")) -> None:
    """Refuse a scale ``per`` ≤ 0, a detour factor < 1 or a speed (km/h) ≤ 0, or any of them not
    finite (:class:`~cpts_geo.errors.OptionError` naming ``names``: API or CLI option names)."""
    for name, value, ok, why in (
        (names[0], per, lambda v: v > 0, "doit être un nombre fini strictement positif"),
        (names[1], detour, lambda v: v >= 1, "doit être un nombre fini au moins égal à 1"),
        (names[2], speed_kmh, lambda v: v > 0, "doit être une vitesse finie strictement positive (km/h)"),
    ):
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise OptionError(name, value, why) from None
        if not (np.isfinite(v) and ok(v)):
            raise OptionError(name, value, why)


def default_population() -> pd.Series:
    """Population municipale légale 2023 of every unit at the finest level: communes, with
    Paris, Lyon and Marseille by arrondissement (the whole cities are added back to APL results
    as population-weighted means)."""
    pop = commune_population()
    s = pop[~pop.index.isin(list(PLM_CITIES))]
    s.attrs = dict(pop.attrs)
    return s


def compute_apl(
    supply: pd.Series | None = None,
    population: pd.Series | None = None,
    travel_times: pd.DataFrame | None = None,
    steps: Mapping[float, float] | None = None,
    *,
    profession: str = "generaliste",
    per: float = 1.0,
    detour: float = _travel.DETOUR,
    speed_kmh: float = _travel.SPEED_KMH,
    units: gpd.GeoDataFrame | None = None,
) -> pd.Series:
    """APL-style accessibility of each commune (2SFCA with stepped decay, see module docstring).

    Parameters
    ----------
    supply : Series indexed by COG 2026 code (headcount, FTE or activity). Default: BPE 2021
        count of ``profession`` (:func:`cpts_geo.indicators.supply.load_supply`).
    population : Series indexed by code (inhabitants, or age-standardised demand). Default:
        population municipale légale 2023, Paris/Lyon/Marseille by arrondissement.
    travel_times : long table with columns ``from`` (population side), ``to`` (supply side),
        ``minutes``. Default: estimated from town halls (:mod:`cpts_geo.indicators.travel`,
        ``detour`` and ``speed_kmh``), over all of France. Self pairs are always 0 minutes.
    steps : upper bound (minutes) → weight, half-open intervals; weight 0 beyond the last bound.
        Default :data:`DEFAULT_STEPS` for general practitioners only; for any other profession
        pass the steps of the DREES "Paramètres" sheet you reproduce (no default is shipped).
    per : scale of the result (1 = per inhabitant, 100_000 = per 100,000 inhabitants).
    units : GeoDataFrame with the reference columns used for point positions (default: the
        embedded reference).

    Returns a float Series named ``apl`` indexed by the codes of ``population`` (plus the three
    PLM cities as population-weighted means of their arrondissements when only these are
    given). NaN marks communes whose accessibility cannot be computed; ``attrs["reasons"]``
    gives the reason per code. ``attrs`` also records method, steps, sources and vintages,
    travel-time source and parameters, unit, and supply that no population can reach. With
    estimated travel times, codes unknown in COG 2026 are left out with a warning and listed in
    ``attrs["refused"]``.
    """
    expect_series(supply, "supply", optional=True)
    expect_series(population, "population", optional=True)
    expect_frame(travel_times, "travel_times", columns=("from", "to", "minutes"), optional=True)
    if steps is not None and not isinstance(steps, Mapping):
        fail("steps", steps, "un dictionnaire {minutes: poids} est attendu")
    expect_text(profession, "profession")
    expect_frame(units, "units", geo=True, crs=True, optional=True)
    if steps is None:
        if profession != "generaliste":
            raise OptionError(
                "steps", None,
                f"paliers de temps d'accès non fournis pour la profession « {profession} » : "
                "les paliers par défaut sont ceux des médecins généralistes ; reprendre ceux de "
                "l'onglet « Paramètres » du fichier APL de la DREES (steps={minutes: poids})"
            )
        steps = DEFAULT_STEPS
    check_apl_parameters(per, detour, speed_kmh)
    bounds, weights = check_steps(steps)
    max_minutes = float(bounds[-1])
    if supply is None:
        supply = _supply.load_supply(profession)
    if population is None:
        population = default_population()
    supply = _clean_series(supply, "offre", allow_missing=False)
    population = _clean_series(population, "population")
    # a whole PLM city listed with its arrondissements would count twice: keep the arrondissements
    doubled = _plm_doubles(population.index) | _plm_doubles(supply.index)
    population = population.drop(list(doubled), errors="ignore")
    supply = supply.drop(list(doubled), errors="ignore")
    nodes = pd.Index(population.index.union(supply.index), dtype=object)
    reasons: dict[str, str] = {}
    refused: list[str] = []
    if travel_times is None:
        ref = reference.load_communes() if units is None else units
        refused = sorted(nodes.difference(pd.Index(ref["code"].astype(str))))
        if refused:  # no location without the reference: recorded, warned, left out
            warnings.warn(
                f"{fr.plural(len(refused), 'code inconnu', 'codes inconnus')} du référentiel COG "
                f"{reference.COG_YEAR}, {fr.plural(len(refused), 'écarté', with_number=False)} du calcul : "
                f"{fr.enumeration(refused, limit=10)} ; convertir d'abord la table (cpts_geo.convert_table) ; "
                "voir attrs['refused']", UserWarning, stacklevel=2)
            population = population.drop(refused, errors="ignore")
            supply = supply.drop(refused, errors="ignore")
            nodes = nodes.difference(pd.Index(refused, dtype=object))
        ref = ref.set_index(ref["code"].astype(str)).loc[nodes].reset_index(drop=True)
        points = _travel.unit_points(ref)
        i, j, t = _travel.neighbour_pairs(points, max_minutes, detour, speed_kmh)
        tt_attrs = _travel.travel_attrs(points, max_minutes, detour, speed_kmh)
        reasons.update(tt_attrs.pop("left_out"))
        located = (points["point_source"] != "none").to_numpy()
    else:
        i, j, t, tt_attrs = _from_table(travel_times, nodes)
        # a unit absent from the user's table has no known neighbour: not computed (never from
        # its own supply alone), its supply and population left out and counted
        located = tt_attrs.pop("_listed")
        for code in nodes[~located]:
            reasons[code] = "absente de la table des temps de trajet fournie"
    w = step_weights(t, steps)
    keep = w > 0
    listed_i, listed_j = i, j
    i, j, w = i[keep], j[keep], w[keep]
    if travel_times is not None:
        one_way = _one_way_pairs(i, j, w, len(nodes))
        if one_way is None:
            # a pair listed twice in a user table would count twice (estimated pairs are unique)
            _raise_duplicate(tt_attrs["travel_time_source"], nodes, listed_i, listed_j, tt_attrs["_rows"])
        # pairs within reach given in one direction only: the other direction counts as out of
        # reach (legitimate for one-way roads near the last step, else a partial table)
        tt_attrs["pairs_one_way"] = one_way
    tt_attrs.pop("_rows", None)
    P = population.reindex(nodes).fillna(0.0).to_numpy()
    S = supply.reindex(nodes).fillna(0.0).to_numpy()
    # both steps as sums over the pairs within reach: the products W.T @ P and W @ R with the
    # sparse matrix W of the weights, accumulated pair by pair in the same order
    n = len(nodes)
    D = np.bincount(j, weights=w * P[i], minlength=n) if len(w) else np.zeros(n)
    reach = D > 0
    R = np.divide(S, D, out=np.zeros_like(S), where=reach)
    apl = (np.bincount(i, weights=w * R[j], minlength=n) if len(w) else np.zeros(n)) * per
    apl[~located] = np.nan
    out = pd.Series(apl, index=nodes, name="apl").reindex(population.index)
    no_pop = population.isna()
    for code in population.index[no_pop.to_numpy()]:
        reasons.setdefault(code, "population inconnue")
    out[no_pop] = np.nan
    out = _add_plm_cities(out, population, reasons)
    stranded = (~reach) & (S > 0) & located
    supply_attrs = {k: v for k, v in supply.attrs.items() if k.startswith("supply") or k == "profession"}
    if not supply_attrs:
        supply_attrs = {"supply_source": "table fournie par l'utilisateur"}
    est_supply = supply.attrs.get("supply_source") == _supply.BPE_SOURCE
    label = (
        "Estimation de type APL (2SFCA, méthode DREES) calculée à partir "
        + ("des effectifs BPE" if est_supply else "de l'offre fournie")
        + (" et de temps de trajet estimés" if travel_times is None else " et des temps de trajet fournis")
        + " ; ce n'est pas l'APL publié par la DREES (activité en consultations, population "
        "standardisée, distancier Metric)."
    )
    unit_supply = supply.attrs.get("supply_unit", "offre")
    out.attrs = {
        "indicator": "apl_estimate",
        "label": label,
        "method": METHOD,
        "steps": {float(b): float(wt) for b, wt in zip(bounds, weights, strict=True)},
        "unit": f"{unit_supply} accessibles pour {fr.plural(per, 'habitant')}",
        "per": per,
        **supply_attrs,
        "population_source": population.attrs.get("population_source", "table fournie par l'utilisateur"),
        "population_year": population.attrs.get("population_year"),
        "population_kind": population.attrs.get("population_kind"),
        "cog": reference.COG_YEAR,
        **tt_attrs,
        "supply_total": float(S.sum()),
        "supply_unreachable": float(S[stranded].sum()),
        "supply_unreachable_codes": nodes[stranded].tolist(),
        "supply_unlocated": float(S[~located].sum()),
        "population_unlocated": float(P[~located].sum()),
        "plm_cities": "Paris, Lyon, Marseille : moyenne des arrondissements pondérée par la population",
        "plm_city_rows_dropped": sorted(doubled),
        "reasons": {c: reasons.get(c, "non calculable") for c in out.index[out.isna().to_numpy()]},
        "refused": refused,
    }
    return out


def _plm_doubles(codes: pd.Index) -> set[str]:
    """PLM city codes present together with at least one of their arrondissements."""
    plm = [*PLM_CITIES, *(a for c in PLM_CITIES for a in reference.plm_arrondissements(c))]
    codes = pd.Index(codes)
    have = set(codes[codes.isin(plm)])  # vectorised: a set of every code is slow on Arrow strings
    return set(reference.plm_cities(have)) & have


def _clean_series(s: pd.Series, what: str, allow_missing: bool = True) -> pd.Series:
    """Values by 5-char code as floats; a duplicate code, a negative, infinite or non-numeric
    value — or a missing one unless ``allow_missing`` (a missing supply never counts as 0) —
    raise :class:`InputError` naming the code and the value."""
    idx = _clean_codes(pd.Index(s.index))
    if idx.has_duplicates:
        dup = idx[idx.duplicated()][0]
        raise InputError("code présent plusieurs fois", s.attrs.get("source", what), None, dup)
    vals = pd.to_numeric(pd.Series(s.to_numpy(), index=idx), errors="coerce").astype(float)
    bad = (vals < 0) | np.isinf(vals) | (vals.isna() & (s.notna().to_numpy() | (not allow_missing)))
    if bad.any():
        code = vals.index[bad.to_numpy()][0]
        value = s.iloc[int(bad.to_numpy().argmax())]
        why = "valeur manquante" if pd.isna(value) else "valeur invalide"
        raise InputError(f"{what} : {why} pour le code {code} (nombre ≥ 0 attendu ; une valeur manquante "
                         "n'est jamais comptée comme 0)" if why == "valeur manquante" else
                         f"{what} : {why} pour le code {code}", s.attrs.get("source", what), None,
                         "vide" if pd.isna(value) else value)
    out = vals.rename(s.name)
    out.attrs = dict(s.attrs)
    return out


def _clean_codes(codes: pd.Index | pd.Series) -> np.ndarray | pd.Index:
    """Codes as 5-char strings (numbers that lost their leading zero are padded)."""
    text = pd.Index(codes).astype(str)
    if text.str.fullmatch(INSEE_CODE_PATTERN).all():
        return pd.Index(text.to_numpy(dtype=object), dtype=object)
    return pd.Index(clean_codes(codes), dtype=object)


def _positions(col: pd.Series, nodes: pd.Index, value_set: pa.Array | None = None) -> np.ndarray:
    """Position in ``nodes`` of each code of ``col`` (-1 if absent); a hashed lookup in Arrow,
    then codes not found are cleaned ("4070" → "04070") once per distinct value."""
    pos = np.full(len(col), -1, dtype=np.int32)  # int32: the index type of scipy's sparse arrays
    try:
        arr = pa.array(col, from_pandas=True)
        if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
            if value_set is None:
                value_set = pa.array(np.asarray(nodes, dtype=str))
            found = pc.index_in(arr, value_set=value_set)
            if found.null_count:
                found = found.fill_null(-1)
            pos = found.to_numpy(zero_copy_only=False).astype(np.int32)  # writable
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    miss = pos < 0
    if miss.any():
        codes, uniq = pd.factorize(col[miss], use_na_sentinel=False)
        pos[miss] = nodes.get_indexer(_clean_codes(pd.Index(uniq)))[codes]
    return pos


def _from_table(tt: pd.DataFrame, nodes: pd.Index) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Index pairs of a user travel-time table; self pairs forced to 0 minutes."""
    name = tt.attrs.get("source", "table des temps de trajet")
    missing = [c for c in ("from", "to", "minutes") if c not in tt.columns]
    if missing:
        raise InputError(f"{fr.plural(len(missing), 'colonne absente', 'colonnes absentes', with_number=False)} : "
                         f"{fr.enumeration(missing)} (attendu : from, to, minutes)", name)
    minutes = pd.to_numeric(tt["minutes"], errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(minutes) | (minutes < 0)
    if bad.any():
        k = int(bad.argmax())
        raise InputError("durée invalide (minutes ≥ 0 attendues)", name, k + 2, tt["minutes"].iloc[k])
    value_set = pa.array(np.asarray(nodes, dtype=str))
    i = _positions(tt["from"], nodes, value_set)
    j = _positions(tt["to"], nodes, value_set)
    inside = (i >= 0) & (j >= 0)
    if len(nodes) and not inside.any():
        raise InputError(
            f"la table ne couvre pas la zone calculée : aucun de ses {fr.plural(len(tt), 'couple')} ne relie "
            f"deux communes de la population ou de l'offre ({fr.plural(len(nodes), 'commune')}, par exemple "
            f"{fr.enumeration(nodes[:3])}) ; vérifier les colonnes from et to (codes INSEE du COG "
            f"{reference.COG_YEAR})", name, 2, f"{tt['from'].iloc[0]}, {tt['to'].iloc[0]}" if len(tt) else None)
    off_diag = inside & (i != j)
    self_set = inside & (i == j)
    n_self_nonzero = int((minutes[self_set] > 0).sum())
    everywhere = bool(inside.all())  # the usual case: no masked copy of every pair
    listed = np.zeros(len(nodes), dtype=bool)
    listed[i if everywhere else i[inside]] = True
    listed[j if everywhere else j[inside]] = True
    self_ = np.flatnonzero(listed).astype(np.int32)
    unknown = [] if everywhere else pd.unique(pd.concat([tt["from"][i < 0], tt["to"][j < 0]]).astype(str))
    attrs = {
        "travel_time_source": tt.attrs.get("travel_time_source", name),
        "pairs": int(off_diag.sum()),
        "pairs_ignored": 0 if everywhere else int((~inside).sum()),
        "pairs_ignored_codes": [str(c) for c in unknown[:20]],
        "self_times_set_to_zero": n_self_nonzero,
        "absent_from_travel_times": int((~listed).sum()),
        "absent_from_travel_times_examples": nodes[~listed][:20].tolist(),
        "_rows": np.concatenate([np.flatnonzero(off_diag), np.full(len(self_), -1)]),
        "_listed": listed,
    }
    return (
        np.concatenate([i[off_diag], self_]),
        np.concatenate([j[off_diag], self_]),
        np.concatenate([minutes[off_diag], np.zeros(len(self_))]),
        attrs,
    )


def _one_way_pairs(i: np.ndarray, j: np.ndarray, w: np.ndarray, n: int) -> int | None:
    """Number of pairs (i, j) listed without their reverse (j, i); None when a pair is listed
    twice. Linear passes only: the raw compressed rows of the pairs, turned into columns (rows
    sorted within each column), then back into rows (columns sorted within each row); the pairs
    are symmetric when both have the same structure (no per-row sort, no summing of duplicates)."""
    from scipy import sparse  # only for a user's table

    pairs = sparse.coo_array((w, (i, j)), shape=(n, n))
    pairs.has_canonical_format = True  # keep duplicates (to find them) and skip the sort
    raw = pairs.tocsr()
    cols = raw.tocsc()
    rows = cols.tocsr()
    idx, ptr = rows.indices, rows.indptr
    same = idx[1:] == idx[:-1]
    ends = ptr[1:-1] - 1  # last entry of each row but the last one: no pair across two rows
    same[ends[(ends >= 0) & (ends < len(same))]] = False
    if rows.nnz < len(w) or bool(same.any()):
        return None
    if np.array_equal(cols.indptr, rows.indptr) and np.array_equal(cols.indices, rows.indices):
        return 0
    return int(rows.nnz - rows.multiply(cols.T).nnz)  # cols.T: the reverse pairs, as rows


def _raise_duplicate(name: str, nodes: pd.Index, i: np.ndarray, j: np.ndarray, rows: np.ndarray) -> None:
    """Error naming the second row of the first (from, to) pair listed twice."""
    key = pd.Series(i.astype(np.int64) * len(nodes) + j)
    k = int(key.duplicated().to_numpy().argmax())
    raise InputError("couple en double", name, int(rows[k]) + 2, f"{nodes[i[k]]}, {nodes[j[k]]}")


def _add_plm_cities(apl: pd.Series, population: pd.Series, reasons: dict) -> pd.Series:
    """Append Paris, Lyon, Marseille as population-weighted means of their arrondissements."""
    cities = reference.plm_mean(apl, population, [c for c in PLM_CITIES if c not in apl.index])
    if not len(cities):
        return apl
    for city in cities.index[cities.isna().to_numpy()]:
        reasons[city] = "aucun arrondissement calculé"
    attrs = apl.attrs
    out = pd.concat([apl, cities.rename(apl.name)])
    out.attrs = attrs
    return out
