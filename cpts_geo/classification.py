"""Classes of CPTS territories: ACI size band, IGAS 2018 type, INSEE density and AAV profiles,
IRDES typologies.

Every function works on population municipale légale 2023 of the COG 2026 units of the embedded
reference (:func:`cpts_geo.load_communes`) unless a population column is given. Profiles are
population shares in percent (0-100). Arrondissements of Paris, Lyon and Marseille carry the
density and AAV class of their city (that is how the reference stores them).
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cpts_geo import fr, reference
from cpts_geo._checks import (
    expect_codes,
    expect_columns,
    expect_diagnosis,
    expect_frame,
    expect_non_negative,
    expect_text,
    fail,
)
from cpts_geo.io.irdes import irdes_typologies, read_irdes_typology  # noqa: F401  (re-exported; reader in io)
from cpts_geo.rules import (
    IGAS_BOUNDS,
    IGAS_LABELS,
    IGAS_OUTSIDE_QUOTE,
    IGAS_SOURCE,
    IGAS_VIABLE,
    aci_band,
    aci_bounds,
    aci_funding,
    aci_funding_source,
    aci_funding_version,
    aci_label,
    aci_near_threshold,
    aci_parameters,
    aci_rule,
)

if TYPE_CHECKING:
    from cpts_geo.coverage import Diagnosis

#: INSEE grille communale de densité à 7 niveaux (2024)
DENS7_LABELS: dict[int, str] = {
    1: "Grands centres urbains",
    2: "Centres urbains intermédiaires",
    3: "Petites villes",
    4: "Ceintures urbaines",
    5: "Bourgs ruraux",
    6: "Rural à habitat dispersé",
    7: "Rural à habitat très dispersé",
}
#: the usual 3-level reading of the 7-level grid (INSEE: the 7 levels subdivide the 3 categories)
DENS3_OF_DENS7: dict[int, str] = {1: "urbain_dense", 2: "intermediaire", 3: "intermediaire",
                                  4: "intermediaire", 5: "rural", 6: "rural", 7: "rural"}
DENS3_LABELS: dict[str, str] = {"urbain_dense": "Urbain dense", "intermediaire": "Densité intermédiaire",
                                "rural": "Rural"}
#: INSEE catégorie de commune dans le zonage en aires d'attraction des villes 2020
CATEAAV_LABELS: dict[str, str] = {
    "11": "Commune-centre",
    "12": "Autre commune du pôle principal",
    "13": "Commune d'un pôle secondaire",
    "20": "Commune de la couronne",
    "30": "Commune hors attraction des villes",
}
AAV3_OF_CATEAAV: dict[str, str] = {"11": "pole", "12": "pole", "13": "pole", "20": "couronne",
                                   "30": "hors_attraction"}
AAV3_LABELS: dict[str, str] = {"pole": "Pôle", "couronne": "Couronne",
                               "hors_attraction": "Hors attraction des villes"}

SOURCES = {
    "dens7": "INSEE, grille communale de densité à 7 niveaux 2024 (https://www.insee.fr/fr/information/8571524); "
             "3 levels: INSEE, « La grille communale de densité » (https://www.insee.fr/fr/information/6439600)",
    "cateaav2020": "INSEE, zonage en aires d'attraction des villes 2020, catégorie de la commune (11/12/13/20/30)",
    "aci": ("accord conventionnel interprofessionnel (ACI) CPTS du 20 juin 2019, approuvé par l'arrêté "
            "du 21 août 2019 (JORF n° 0196 du 24 août 2019, NOR SSAS1924409A)"),
    "igas": IGAS_SOURCE,
}


# ------------------------------------------------------------------------------------------
# ACI size band and margin
# ------------------------------------------------------------------------------------------


def aci_margin(population: pd.Series | np.ndarray | list | float,
               bounds: Sequence[float] | None = None,
               boundary_upper: bool | Sequence[bool] | None = None) -> pd.DataFrame:
    """Distance of each population to the nearest ACI band boundary (inhabitants).

    Bounds and boundary sides: :func:`cpts_geo.rules.aci_band`. Columns: ``aci_band``,
    ``aci_bound_nearest`` (the nearest boundary), ``aci_margin`` (population minus that boundary:
    -500 means 500 inhabitants short of the next band, +500 means 500 above the boundary of the
    current band), ``aci_band_if_crossed`` (the band on the other side), ``aci_near_threshold``
    (within 1 % of a boundary: a borderline case) and ``aci_margin_text`` (French sentence).
    """
    expect_non_negative(population, "population")
    band = aci_band(population, bounds, boundary_upper)  # checks bounds and boundary_upper
    band = np.atleast_1d(band)
    pop = np.atleast_1d(np.asarray(population, dtype=float))
    b = np.asarray(aci_bounds() if bounds is None else bounds, dtype=float)
    dist = pop[:, None] - b[None, :]
    nearest = np.argmin(np.abs(np.nan_to_num(dist, nan=np.inf)), axis=1)
    bound = b[nearest]
    margin = pop - bound
    # boundary i separates bands i+1 and i+2: the population is above it when its band is i+2
    above = band == nearest + 2
    other = np.where(above, nearest + 1, nearest + 2)
    nan = np.isnan(pop)
    texts = [
        "population inconnue" if n else
        f"au seuil de {fr.integer(s)} exactement (taille {o} {'en dessous' if a else 'au-dessus'})" if m == 0 else
        (f"{fr.plural(abs(m), 'habitant')} au-dessus du seuil de {fr.integer(s)} (taille {o} en dessous)" if a else
         f"{fr.plural(abs(m), 'habitant')} sous le seuil de {fr.integer(s)} (taille {o} au-dessus)")
        for n, m, s, o, a in zip(nan, margin, bound, other, above, strict=True)
    ]
    return pd.DataFrame({
        "aci_band": band,
        "aci_bound_nearest": pd.array(np.where(nan, np.nan, bound), dtype="Int64"),
        "aci_margin": pd.array(np.where(nan, np.nan, margin), dtype="Int64"),
        "aci_band_if_crossed": pd.array(np.where(nan, np.nan, other), dtype="Int64"),
        "aci_near_threshold": aci_near_threshold(pop, b),
        "aci_margin_text": texts,
    })


# ------------------------------------------------------------------------------------------
# IGAS 2018 type
# ------------------------------------------------------------------------------------------


def _igas_landmark(lo: int, hi: int) -> str:
    """« la fourchette repère … du rapport IGAS … ; un repère, pas une règle … »."""
    return (f"la fourchette repère de {fr.integer(lo)} à {fr.inhabitants(hi)} du rapport IGAS n° 2018-041R "
            f"(§ 2.2.2) ; un repère, pas une règle : selon l'IGAS, ces projets {IGAS_OUTSIDE_QUOTE}")


def igas_type(population: pd.Series | np.ndarray | list | float, bounds: tuple[int, ...] = IGAS_BOUNDS,
              viable: tuple[int, int] = IGAS_VIABLE) -> pd.DataFrame:
    """IGAS 2018 type of each population and where it stands against the report's « viable » range.

    Both are landmarks of IGAS report n° 2018-041R (§ 2.2.2 and annex 1), never a rule nor a
    verdict: the report says projects outside the range « ne devraient pas être exclus a priori
    mais examinés avec plus d'attention ». The type is read from the population alone (the
    report's types also count health professionals).

    Parameters
    ----------
    population : float, list, array or Series
        Inhabitants of each territory (NaN: unknown).
    bounds : tuple of int
        Type bounds (default :data:`cpts_geo.rules.IGAS_BOUNDS`, 30 000 and 80 000).
    viable : tuple of int
        The range (default :data:`cpts_geo.rules.IGAS_VIABLE`, 20 000 to 100 000).

    Returns
    -------
    pandas.DataFrame
        ``igas_type`` (rural < 30 000; semi-rural / périurbain 30 000-80 000; urbain > 80 000),
        ``igas_viable`` (bool: within the range, bounds included) and ``igas_warning`` (French
        note when outside the range, else None).

    Examples
    --------
    >>> "sous la fourchette repère" in igas_type([15_000])["igas_warning"].iloc[0]
    True
    """
    expect_non_negative(population, "population")
    expect_non_negative(bounds, "bounds")
    expect_non_negative(viable, "viable")
    pop = np.atleast_1d(np.asarray(population, dtype=float))
    idx = np.searchsorted(np.asarray(bounds, dtype=float), pop, side="left")
    # 30,000 is semi-rural (30,000-80,000), 80,000 still semi-rural, > 80,000 urbain
    idx = np.where(pop == bounds[0], 1, idx)
    nan = np.isnan(pop)
    types = np.where(nan, None, np.asarray(IGAS_LABELS, dtype=object)[np.clip(idx, 0, 2)])
    lo, hi = viable
    ok = (pop >= lo) & (pop <= hi)
    warn = np.where(
        nan, "population inconnue",
        np.where(pop < lo, f"population inférieure à {fr.inhabitants(lo)} : sous {_igas_landmark(lo, hi)}",
                 np.where(pop > hi, f"population supérieure à {fr.inhabitants(hi)} : au-dessus de "
                                    f"{_igas_landmark(lo, hi)}",
                          None)))
    return pd.DataFrame({"igas_type": types, "igas_viable": ok, "igas_warning": warn})


# ------------------------------------------------------------------------------------------
# Territories as (row, unit code) pairs
# ------------------------------------------------------------------------------------------


def _units() -> pd.DataFrame:
    """Attributes of the reference units by code, from :func:`cpts_geo.reference.units`
    (object index: hash lookups), population as ``pop``."""
    u = reference.units()
    return pd.DataFrame({"pop": u["population"].astype("float64"),
                         "dens7": u["dens7"].astype("float64"), "cateaav2020": u["cateaav2020"]}, index=u.index)


def _as_territories(perimeters: pd.DataFrame | Sequence[str] | str, codes_col: str,
                    name: str) -> tuple[pd.DataFrame, dict]:
    """A perimeter table, or a single list of codes (normalised to COG 2026), as a frame with
    ``codes`` tuples. Codes that cannot be normalised are warned about and listed in
    ``report["refused"]`` (the one rule for unknown codes: recorded and warned, never dropped
    unrecorded)."""
    expect_text(codes_col, "codes_col")
    expect_text(name, "name")
    if isinstance(perimeters, pd.DataFrame):
        expect_columns(perimeters, "perimeters", (codes_col,))
    else:
        expect_codes(perimeters, "perimeters")
    report: dict = {}
    if isinstance(perimeters, str):
        perimeters = [perimeters]
    if not isinstance(perimeters, pd.DataFrame):
        values = list(perimeters)
        from cpts_geo.codes import normalise_codes

        norm = normalise_codes(values)
        bad = norm[norm["code"].isna()]
        if len(bad):
            report["refused"] = [str(v) for v in bad["input"]]
            warnings.warn(
                f"territoire « {name} » : {fr.plural(len(bad), 'code refusé', 'codes refusés')}, "
                f"{fr.plural(len(bad), 'écarté', with_number=False)} de la classification : "
                f"{fr.enumeration(report['refused'], limit=10)} ({bad['message'].iloc[0]}) ; voir attrs['refused']",
                UserWarning, stacklevel=3)
            norm = norm[norm["code"].notna()]
        report["normalisation"] = norm[norm["status"] != "current"][["input", "code", "status", "message"]].to_dict("records")
        codes = tuple(dict.fromkeys(norm["code"]))
        return pd.DataFrame({"cpts": [name], "codes": [codes]}), report
    return perimeters, report


def _long(perimeters: pd.DataFrame, codes_col: str) -> tuple[pd.DataFrame, list[str]]:
    """(row position, code) pairs with the unit attributes of the reference, and the codes
    unknown in the reference (warned, left out)."""
    codes = perimeters[codes_col].map(lambda v: tuple(v) if isinstance(v, (list, tuple, set, np.ndarray, pd.Series)) else
                                      (() if v is None or (isinstance(v, float) and np.isnan(v)) else (v,)))
    lengths = np.asarray([len(t) for t in codes], dtype=np.int64)
    flat = [str(c) for t in codes for c in t]
    long = pd.DataFrame({"row": np.repeat(np.arange(len(perimeters)), lengths),
                         "code": pd.array(flat, dtype=object)})
    long = long.drop_duplicates(["row", "code"])
    long["code"] = long["code"].astype(object)  # pandas 3 infers arrow strings: slow isin
    units = _units()
    unknown = ~long["code"].isin(units.index)
    refused = sorted(set(long.loc[unknown, "code"]))
    if refused:
        first = long[unknown].iloc[0]
        label = perimeters.iloc[int(first["row"])].get("cpts", f"ligne {int(first['row']) + 1}")
        warnings.warn(
            f"« {label} » (ligne {int(first['row']) + 1}) : {fr.plural(len(refused), 'code inconnu', 'codes inconnus')} "
            f"du COG {reference.COG_YEAR}, {fr.plural(len(refused), 'écarté', with_number=False)} de la classification : "
            f"{fr.enumeration(refused, limit=10)} — normalisez les codes avec cpts_geo.normalise_codes ; voir attrs['refused']",
            UserWarning, stacklevel=3)
        long = long[~unknown]
    long = long.join(units, on="code")
    # a PLM city listed with one of its arrondissements (reference.plm_collapse: arrondissement → city)
    code = long["code"].to_numpy(dtype=object)
    city = reference.plm_collapse(code)
    arr = long.loc[city != code, ["row", "code"]].assign(parent=city[city != code])
    both = arr.iloc[:0] if arr.empty else arr.merge(long[["row", "code"]], left_on=["row", "parent"], right_on=["row", "code"],
                                                    suffixes=("", "_city"))
    if len(both):
        first = both.iloc[0]
        label = perimeters.iloc[int(first["row"])].get("cpts", f"ligne {int(first['row']) + 1}")
        warnings.warn(
            f"{label!r} : la ville {first['parent']} et son arrondissement {first['code']} sont tous deux "
            f"listés, leur population est comptée deux fois ({len(both)} cas)", stacklevel=3)
    return long, refused


def _shares(long: pd.DataFrame, key: str, categories: Iterable, n_rows: int, weight: str = "pop") -> pd.DataFrame:
    """Population share (percent) of each category of ``key`` per row; missing keys go to
    ``unknown``. Rows with zero population give NaN."""
    w = long[weight].fillna(0.0)
    cats = list(categories)
    k = long[key]
    table = (pd.DataFrame({"row": long["row"], "k": k.where(k.isin(cats), "unknown"), "w": w})
             .groupby(["row", "k"], sort=False)["w"].sum().unstack("k", fill_value=0.0))
    table = table.reindex(index=range(n_rows), columns=[*cats, "unknown"], fill_value=0.0)
    total = table.sum(axis=1)
    return table.div(total.where(total > 0), axis=0) * 100.0


def _dominant(shares: pd.DataFrame, cats: list) -> pd.Series:
    sub = shares[cats]
    has = sub.notna().all(axis=1) & (sub.sum(axis=1) > 0)
    dom = pd.Series(np.asarray(cats, dtype=object)[np.argmax(sub.fillna(-1).to_numpy(), axis=1)], index=shares.index)
    return dom.where(has, None)


# ------------------------------------------------------------------------------------------
# Density and AAV profiles
# ------------------------------------------------------------------------------------------


def density_profile(perimeters: pd.DataFrame | Sequence[str], codes_col: str = "codes",
                    name: str = "Territoire proposé") -> pd.DataFrame:
    """INSEE density profile (percent of population municipale 2023 per level) of each territory.

    Parameters
    ----------
    perimeters : pandas.DataFrame or sequence of str
        A perimeter table (one row per territory, ``codes_col`` holding the tuple of COG 2026 unit
        codes, as :attr:`Diagnosis.perimeters`), or one territory given as a list of codes or
        names (normalised to COG 2026).
    codes_col : str, default "codes"
        Column of ``perimeters`` holding the codes of each territory.
    name : str, default "Territoire proposé"
        Name of the territory when ``perimeters`` is a list.

    Returns
    -------
    pandas.DataFrame
        One row per territory: ``dens7_1`` … ``dens7_7`` (7-level grid 2024), ``dens7_unknown``
        (units without a level: collectivités d'outre-mer), ``dens_urbain_dense``,
        ``dens_intermediaire``, ``dens_rural`` (3-level reading: 1 / 2-4 / 5-7),
        ``dens_dominant`` (French label of the 3-level class holding the largest share) and
        ``dens7_dominant`` (level 1-7).

    Notes
    -----
    Source: INSEE grille communale de densité à 7 niveaux, géographie au 1er janvier 2024; the
    shares weigh each unit by its population municipale légale 2023.

    Examples
    --------
    >>> p = density_profile(["04070", "04019", "04112"])
    >>> p.loc[0, ["dens_intermediaire", "dens_rural"]].astype(float).round(1).tolist()
    [94.2, 5.8]
    >>> p.loc[0, "dens_dominant"]
    'Densité intermédiaire'
    """
    per, _ = _as_territories(perimeters, codes_col, name)
    long, refused = _long(per, codes_col)
    return _density_from_long(long, len(per)).set_axis(per.index)


def _grouped(shares: pd.DataFrame, fine: str, coarse: str, group_of: dict, labels: dict) -> pd.DataFrame:
    """``shares`` (columns ``fine`` + class) with the coarse groups added: ``coarse`` + group
    (sum of its classes, ``group_of``: class → group) and ``coarse`` + "dominant" (French label
    of the largest group, ``labels``: group → label, in their order)."""
    out = shares.copy()
    for g in labels:
        out[f"{coarse}{g}"] = shares[[f"{fine}{k}" for k, v in group_of.items() if v == g]].sum(axis=1, min_count=1)
    dom = _dominant(out, [f"{coarse}{g}" for g in labels])
    out[f"{coarse}dominant"] = dom.map(lambda c: labels[c[len(coarse):]] if isinstance(c, str) else None)
    return out


def _density_from_long(long: pd.DataFrame, n: int) -> pd.DataFrame:
    s7 = _shares(long, "dens7", [float(i) for i in range(1, 8)], n)
    s7.columns = [f"dens7_{int(c)}" if c != "unknown" else "dens7_unknown" for c in s7.columns]
    out = _grouped(s7, "dens7_", "dens_", DENS3_OF_DENS7, DENS3_LABELS)
    dom7 = _dominant(out, [f"dens7_{i}" for i in range(1, 8)])
    out["dens7_dominant"] = dom7.map(lambda c: int(c[-1]) if isinstance(c, str) else pd.NA).astype("Int64")
    return out


def _unit_shares(pop: np.ndarray, keys: np.ndarray, cats: list) -> np.ndarray:
    """Population shares (percent) of ``cats`` and then "unknown" for one territory given as
    arrays over its distinct units: the arithmetic of :func:`_shares` (NaN population counts 0;
    NaN shares when the population is 0), without the pandas joins and groupbys."""
    w = np.nan_to_num(np.asarray(pop, dtype=float), nan=0.0)
    pos = np.full(len(w), len(cats), dtype=np.int64)
    for i, c in enumerate(cats):
        pos[keys == c] = i
    sums = np.bincount(pos, weights=w, minlength=len(cats) + 1)
    total = float(sums.sum())
    if not total > 0:
        return np.full(len(cats) + 1, np.nan)
    return sums / total * 100.0


def _unit_grouped(out: dict, fine: str, coarse: str, group_of: dict, labels: dict) -> None:
    """:func:`_grouped` for one territory (``out``: column → share, completed in place): the
    same sums of shares in the same order, the same dominant group."""
    for g in labels:
        parts = [out[f"{fine}{k}"] for k, v in group_of.items() if v == g]
        s = 0.0
        for p in parts:
            if not np.isnan(p):
                s += p
        out[f"{coarse}{g}"] = s if any(not np.isnan(p) for p in parts) else np.nan
    out[f"{coarse}dominant"] = _unit_dominant(out, [f"{coarse}{g}" for g in labels], labels, len(coarse))


def _unit_dominant(out: dict, cols: list[str], labels: dict | None = None, cut: int = 0) -> object:
    vals = np.asarray([out[c] for c in cols], dtype=float)
    if np.isnan(vals).any() or not vals.sum() > 0:
        return None
    best = cols[int(np.argmax(vals))]
    return labels[best[cut:]] if labels is not None else best


def unit_density_profile(population: np.ndarray, dens7: np.ndarray) -> dict:
    """:func:`density_profile` of one territory given by the arrays of its distinct units
    (population municipale, INSEE density level 1-7 as float, NaN when unknown): the same
    columns and values, as a dict. For repeated checks (the validation report): no code lookup,
    no pandas."""
    cats = [float(i) for i in range(1, 8)]
    shares = _unit_shares(population, np.asarray(dens7, dtype=float), cats)
    out = {f"dens7_{i}": float(shares[i - 1]) for i in range(1, 8)}
    out["dens7_unknown"] = float(shares[7])
    _unit_grouped(out, "dens7_", "dens_", DENS3_OF_DENS7, DENS3_LABELS)
    dom7 = _unit_dominant(out, [f"dens7_{i}" for i in range(1, 8)])
    out["dens7_dominant"] = int(dom7[-1]) if dom7 is not None else pd.NA
    return out


def unit_aav_profile(population: np.ndarray, cateaav: np.ndarray) -> dict:
    """:func:`aav_profile` of one territory given by the arrays of its distinct units
    (population municipale, AAV 2020 category "11" … "30", missing otherwise): the same columns
    and values, as a dict."""
    cats = list(CATEAAV_LABELS)
    keys = np.asarray([k if isinstance(k, str) else "" for k in cateaav], dtype=object)
    shares = _unit_shares(population, keys, cats)
    out = {f"cateaav_{c}": float(shares[i]) for i, c in enumerate(cats)}
    out["cateaav_unknown"] = float(shares[len(cats)])
    _unit_grouped(out, "cateaav_", "aav_", AAV3_OF_CATEAAV, AAV3_LABELS)
    return out


def aav_profile(perimeters: pd.DataFrame | Sequence[str], codes_col: str = "codes",
                name: str = "Territoire proposé") -> pd.DataFrame:
    """AAV 2020 profile (percent of population municipale 2023) of each territory.

    Parameters
    ----------
    perimeters : pandas.DataFrame or sequence of str
        A perimeter table (one row per territory, ``codes_col`` holding the tuple of COG 2026 unit
        codes, as :attr:`Diagnosis.perimeters`), or one territory given as a list of codes or
        names (normalised to COG 2026).
    codes_col : str, default "codes"
        Column of ``perimeters`` holding the codes of each territory.
    name : str, default "Territoire proposé"
        Name of the territory when ``perimeters`` is a list.

    Returns
    -------
    pandas.DataFrame
        One row per territory: ``cateaav_11`` … ``cateaav_30`` (INSEE category of the commune in
        its aire d'attraction des villes), ``cateaav_unknown``, ``aav_pole`` (11+12+13),
        ``aav_couronne`` (20), ``aav_hors_attraction`` (30) and ``aav_dominant`` (French label).

    Notes
    -----
    Source: INSEE zonage en aires d'attraction des villes 2020 (CATEAAV2020); the shares weigh
    each unit by its population municipale légale 2023.

    Examples
    --------
    >>> a = aav_profile(["04070", "04019", "04112"])
    >>> float(a.loc[0, "aav_pole"]), a.loc[0, "aav_dominant"]
    (100.0, 'Pôle')
    """
    per, _ = _as_territories(perimeters, codes_col, name)
    long, refused = _long(per, codes_col)
    return _aav_from_long(long, len(per)).set_axis(per.index)


def _aav_from_long(long: pd.DataFrame, n: int) -> pd.DataFrame:
    s = _shares(long, "cateaav2020", list(CATEAAV_LABELS), n)
    s.columns = [f"cateaav_{c}" for c in s.columns]
    return _grouped(s, "cateaav_", "aav_", AAV3_OF_CATEAAV, AAV3_LABELS)


# ------------------------------------------------------------------------------------------
# IRDES typologies: CPTS profile (the reader lives in cpts_geo.io.irdes)
# ------------------------------------------------------------------------------------------


def irdes_profile(perimeters: pd.DataFrame | Sequence[str], typology: pd.DataFrame, codes_col: str = "codes",
                  prefix: str | None = None, name: str = "Territoire proposé") -> pd.DataFrame:
    """Population-weighted IRDES class profile of each territory.

    ``typology`` comes from :func:`read_irdes_typology`. Columns (prefix ``irdes`` for the
    2019 typology, ``irdes25`` for the 2025 one): ``<p>_1`` … ``<p>_n`` (percent of population
    municipale 2023), ``<p>_unclassified`` (units absent from the table), ``<p>_class``
    (dominant class), ``<p>_label``, ``<p>_share`` (its share) and ``<p>_color``.
    """
    expect_frame(typology, "typology")
    expect_text(prefix, "prefix", optional=True)
    per, _ = _as_territories(perimeters, codes_col, name)
    long, refused = _long(per, codes_col)
    return _irdes_from_long(long, len(per), typology, prefix).set_axis(per.index)


def _irdes_from_long(long: pd.DataFrame, n: int, typology: pd.DataFrame, prefix: str | None) -> pd.DataFrame:
    a = typology.attrs
    labels: dict[int, str] = a.get("labels") or {}
    colors: dict[int, str] = a.get("colors") or {}
    n_classes = max(labels) if labels else int(typology["classe"].max())
    if prefix is None:
        prefix = "irdes25" if a.get("typology") == "irdes_com_2025" else "irdes"
    m = long[["row", "code", "pop"]].merge(typology[["code", "classe", "weight"]], on="code", how="left")
    m["w"] = m["pop"].fillna(0) * m["weight"].fillna(1.0)
    m["classe"] = m["classe"].astype("Int64").astype(object).where(m["classe"].notna(), "unclassified")
    cats = list(range(1, n_classes + 1))
    s = _shares(m, "classe", cats, n, weight="w")
    s = s.rename(columns={"unknown": "unclassified"})
    s.columns = [f"{prefix}_{c}" for c in s.columns]
    cols = [f"{prefix}_{c}" for c in cats]
    dom = _dominant(s, cols)
    out = s.copy()
    out[f"{prefix}_class"] = dom.map(lambda c: int(c.rsplit("_", 1)[1]) if isinstance(c, str) else pd.NA).astype("Int64")
    out[f"{prefix}_label"] = out[f"{prefix}_class"].map(lambda k: labels.get(int(k)) if pd.notna(k) else None)
    out[f"{prefix}_share"] = np.where(out[f"{prefix}_class"].notna(),
                                      s[cols].max(axis=1), np.nan)
    out[f"{prefix}_color"] = out[f"{prefix}_class"].map(lambda k: colors.get(int(k)) if pd.notna(k) else None)
    return out


# ------------------------------------------------------------------------------------------
# classify
# ------------------------------------------------------------------------------------------


def classify(
    perimeters: pd.DataFrame | Sequence[str] | str,
    *,
    codes_col: str = "codes",
    population_col: str = "population",
    bounds: Sequence[float] | None = None,
    boundary_upper: bool | Sequence[bool] | None = None,
    aci_version: str | None = None,
    irdes: pd.DataFrame | None = None,
    irdes2025: pd.DataFrame | None = None,
    name: str = "Territoire proposé",
) -> pd.DataFrame:
    """Add the classes used by ARS, CPAM and researchers to a perimeter table.

    ``perimeters`` is a (Geo)DataFrame with a ``codes`` column (tuple of COG 2026 unit codes, one
    row per CPTS) or a single proposed territory given as a list of codes (normalised with
    :func:`cpts_geo.normalise_codes`; refused codes raise an error). The population is taken
    from ``population_col`` when present (e.g. population totale), otherwise summed from the
    reference (population municipale légale 2023). Added columns: ACI band and margin
    (:func:`aci_margin`, bounds from ``data/classification/aci_cpts.json`` unless given),
    ``aci_label``, ``aci_funding_eur`` (annual operating funding of the band in force: ACI 2019,
    50 000 to 90 000 €, :func:`cpts_geo.rules.aci_funding`; ``aci_version`` picks another entry
    of the parameter file),
    IGAS 2018 type and the report's « viable » range landmark (:func:`igas_type`), density profile
    (:func:`density_profile`), AAV profile (:func:`aav_profile`) and, when given, IRDES profiles
    (:func:`irdes_profile`). ``attrs['classification']`` records sources and vintages.
    """
    expect_text(population_col, "population_col")
    aci_band(0, bounds, boundary_upper)  # checks bounds and boundary_upper
    expect_text(aci_version, "aci_version", optional=True)
    expect_frame(irdes, "irdes", optional=True)
    expect_frame(irdes2025, "irdes2025", optional=True)
    per, report = _as_territories(perimeters, codes_col, name)
    long, refused = _long(per, codes_col)
    n = len(per)
    out = per.copy()
    if population_col in per.columns:
        pop = pd.to_numeric(per[population_col], errors="coerce").to_numpy(dtype=float)
        pop_source = f"colonne {population_col!r} de la table"
    else:
        pop = long.groupby("row")["pop"].sum(min_count=1).reindex(range(n)).to_numpy(dtype=float)
        out[population_col] = pd.array(np.where(np.isnan(pop), np.nan, pop), dtype="Int64")
        pop_source = f"population municipale légale {reference.POPULATION_YEAR} (COG {reference.COG_YEAR}) du référentiel"
    parts = [aci_margin(pop, bounds, boundary_upper)]
    parts[0]["aci_label"] = parts[0]["aci_band"].map(aci_label)
    parts[0]["aci_funding_eur"] = aci_funding(parts[0]["aci_band"], aci_version).to_numpy()
    parts.append(igas_type(pop))
    parts.append(_density_from_long(long, n))
    parts.append(_aav_from_long(long, n))
    meta_irdes = {}
    for tab in (irdes, irdes2025):
        if tab is not None:
            parts.append(_irdes_from_long(long, n, tab, None))
            meta_irdes[tab.attrs.get("typology", "irdes")] = {
                "title": tab.attrs.get("title"), "labels_source": tab.attrs.get("labels_source"),
                "cog_from": tab.attrs.get("cog_from")}
    added = pd.concat([p.reset_index(drop=True) for p in parts], axis=1).set_axis(per.index)
    out = out.drop(columns=[c for c in added.columns if c in out.columns])
    out = pd.concat([out, added], axis=1)
    if hasattr(per, "geometry") and "geometry" in per.columns:
        import geopandas as gpd

        out = gpd.GeoDataFrame(out, geometry="geometry", crs=per.crs)
    aci = aci_parameters()
    item = aci_funding_version(aci_version)
    applied, sides = aci_rule(bounds, boundary_upper)
    bounds, sides = [int(b) for b in applied], [bool(u) for u in sides]
    refused = list(dict.fromkeys(report.get("refused", []) + refused))
    out.attrs = {**getattr(per, "attrs", {}), "refused": refused, "classification": {
        "cog": reference.COG_YEAR,
        "population_year": reference.POPULATION_YEAR,
        "population": pop_source,
        "aci_bounds": list(bounds),
        "aci_boundary_in_upper_band": sides,
        "aci_boundary_rule": "; ".join(
            f"{fr.integer(b)} habitants : taille {i + 2 if u else i + 1}"
            for i, (b, u) in enumerate(zip(bounds, sides, strict=True))),
        "aci_boundary_note": aci["bands"]["note"] if list(bounds) == list(aci_bounds()) else None,
        "aci_near_threshold_share": aci["bands"].get("near_threshold_share", 0.01),
        "aci_parameters_version": aci["version"],
        "aci_parameters_vintage": aci.get("vintage"),
        "aci_funding": {"item": item["item"], "version": item["version"], "source": item["source"],
                        "text": item.get("text"), "signed": item.get("signed"),
                        "confirmed_by": item.get("confirmed_by"),
                        "statement": aci_funding_source(aci_version)},
        "aci_excluded": [e["item"] for e in aci["excluded"]],
        "igas": {"bounds": list(IGAS_BOUNDS), "viable": list(IGAS_VIABLE), "source": IGAS_SOURCE,
                 "nature": "repère du rapport, ni règle ni verdict ; type selon la population seule"},
        "dens7_year": 2024,
        "aav_year": 2020,
        "sources": dict(SOURCES),
        "irdes": meta_irdes,
        "input": report,
    }}
    return out


def classify_diagnosis(diagnosis: Diagnosis, **options: object) -> Diagnosis:
    """A copy of a coverage diagnosis whose perimeters carry the columns of :func:`classify`
    (ACI band and margin, IGAS type, density and AAV profiles; IRDES with ``irdes=`` /
    ``irdes2025=``), its sources recorded under ``meta['sources']['classification']``. This is
    what ``cpts-geo coverage`` and ``cpts-geo map`` apply before writing; ``options`` go to
    :func:`classify`."""
    expect_diagnosis(diagnosis, "diagnosis")
    accepted = [k for k, p in inspect.signature(classify).parameters.items() if p.kind is p.KEYWORD_ONLY]
    for key in options:
        if key not in accepted:
            fail(key, options[key], "option inconnue de classify ; options possibles : " + ", ".join(accepted))
    if not len(diagnosis.perimeters):
        return diagnosis
    extra = classify(diagnosis.perimeters, **options)
    per = diagnosis.perimeters.copy()
    for c in extra.columns:
        if c not in per.columns:
            per[c] = extra[c].to_numpy()
    sources = {"classification": extra.attrs["classification"]} if "classification" in extra.attrs else {}
    return diagnosis.with_perimeters(per, sources)
