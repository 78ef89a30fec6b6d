"""Classes of CPTS territories: ACI size band, IGAS 2018 type, INSEE density and AAV profiles,
IRDES typologies.

Every function works on population municipale légale 2023 of the COG 2026 units of the embedded
reference (:func:`cpts_geo.load_communes`) unless a population column is given. Profiles are
population shares in percent (0-100). Arrondissements of Paris, Lyon and Marseille carry the
density and AAV class of their city (that is how the reference stores them).
"""

from __future__ import annotations

import functools
import json
import re
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from cpts_geo import fr, reference
from cpts_geo.rules import (
    IGAS_BOUNDS,
    IGAS_LABELS,
    IGAS_SOURCE,
    IGAS_VIABLE,
    aci_band,
    aci_bounds,
    aci_funding,
    aci_funding_version,
    aci_label,
    aci_near_threshold,
    aci_parameters,
    aci_rule,
)

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
    "aci": "data/classification/aci_cpts.json (ACI CPTS 2019 et avenant 2)",
    "igas": IGAS_SOURCE,
}


# ------------------------------------------------------------------------------------------
# Parameter files
# ------------------------------------------------------------------------------------------


def _params_dir() -> Path:
    return reference.data_dir() / "classification"


@functools.cache
def _read_json(name: str) -> dict:
    return json.loads((_params_dir() / name).read_text(encoding="utf-8"))


def irdes_typologies() -> dict:
    """Specifications (labels, colours, sources) of the IRDES typologies cpts_geo can read."""
    return json.loads(json.dumps(_read_json("irdes_typologies.json")["typologies"]))


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
    pop = np.atleast_1d(np.asarray(population, dtype=float))
    b = np.asarray(aci_bounds() if bounds is None else bounds, dtype=float)
    band = aci_band(pop, bounds, boundary_upper)
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


def igas_type(population: pd.Series | np.ndarray | list | float, bounds: tuple[int, ...] = IGAS_BOUNDS,
              viable: tuple[int, int] = IGAS_VIABLE) -> pd.DataFrame:
    """IGAS 2018 type of each population and the "viable" range warning.

    Columns: ``igas_type`` (rural < 30,000; semi-rural / périurbain 30,000-80,000; urbain >
    80,000), ``igas_viable`` (bool: 20,000 ≤ population ≤ 100,000) and ``igas_warning`` (French
    text or None). The viable range is a warning only, never a rule.
    """
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
        np.where(pop < lo, f"population inférieure à {fr.inhabitants(lo)} : en dessous de la taille jugée viable par l'IGAS (2018)",
                 np.where(pop > hi, f"population supérieure à {fr.inhabitants(hi)} : au-dessus de la taille jugée viable par l'IGAS (2018)",
                          None)))
    return pd.DataFrame({"igas_type": types, "igas_viable": ok, "igas_warning": warn})


# ------------------------------------------------------------------------------------------
# Territories as (row, unit code) pairs
# ------------------------------------------------------------------------------------------


def _units() -> pd.DataFrame:
    """Attributes of the reference units by code, from :func:`cpts_geo.reference.units`
    (object index: hash lookups), population as ``pop``."""
    u = reference.units()
    return pd.DataFrame({"kind": u["kind"], "parent": u["parent"], "pop": u["population"].astype("float64"),
                         "dens7": u["dens7"].astype("float64"), "cateaav2020": u["cateaav2020"]}, index=u.index)


def _as_territories(perimeters: pd.DataFrame | Sequence[str] | str, codes_col: str,
                    name: str) -> tuple[pd.DataFrame, dict]:
    """A perimeter table, or a single list of codes (normalised to COG 2026), as a frame with
    ``codes`` tuples. Unknown codes are refused with an error naming the row and value."""
    report: dict = {}
    if isinstance(perimeters, str):
        perimeters = [perimeters]
    if not isinstance(perimeters, pd.DataFrame):
        values = list(perimeters)
        from cpts_geo.codes import normalise_codes

        norm = normalise_codes(values)
        bad = norm[norm["code"].isna()]
        if len(bad):
            first = bad.iloc[0]
            raise ValueError(
                f"territoire {name!r} : code {first['input']!r} (position {int(bad.index[0]) + 1}) "
                f"refusé : {first['message']}" + (f" ; {fr.plural(len(bad) - 1, 'autre refusé', 'autres refusés')}"
                                                 if len(bad) > 1 else "")
            )
        report["normalisation"] = norm[norm["status"] != "current"][["input", "code", "status", "message"]].to_dict("records")
        codes = tuple(dict.fromkeys(norm["code"]))
        return pd.DataFrame({"cpts": [name], "codes": [codes]}), report
    if codes_col not in perimeters.columns:
        raise KeyError(f"perimeter table has no {codes_col!r} column (tuple of COG 2026 unit codes)")
    return perimeters, report


def _long(perimeters: pd.DataFrame, codes_col: str) -> pd.DataFrame:
    """(row position, code) pairs with the unit attributes of the reference."""
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
    if unknown.any():
        first = long[unknown].iloc[0]
        label = perimeters.iloc[int(first["row"])].get("cpts", f"ligne {int(first['row']) + 1}")
        raise ValueError(
            f"{label!r} (ligne {int(first['row']) + 1}) : code {first['code']!r} absent du COG {reference.COG_YEAR}"
            + (f" ; {fr.plural(int(unknown.sum()) - 1, 'autre code inconnu')}" if unknown.sum() > 1 else "")
            + " — normalisez les codes avec cpts_geo.normalise_codes"
        )
    long = long.join(units, on="code")
    arr = long[long["kind"] == "arrondissement"]
    both = arr.iloc[:0] if arr.empty else arr.merge(long[["row", "code"]], left_on=["row", "parent"], right_on=["row", "code"],
                     suffixes=("", "_city"))
    if len(both):
        first = both.iloc[0]
        label = perimeters.iloc[int(first["row"])].get("cpts", f"ligne {int(first['row']) + 1}")
        warnings.warn(
            f"{label!r} : la ville {first['parent']} et son arrondissement {first['code']} sont tous deux "
            f"listés, leur population est comptée deux fois ({len(both)} cas)", stacklevel=3)
    return long


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

    Columns ``dens7_1`` … ``dens7_7`` (7-level grid 2024), ``dens7_unknown`` (units without a
    level: collectivités d'outre-mer), ``dens_urbain_dense``, ``dens_intermediaire``,
    ``dens_rural`` (3-level reading: 1 / 2-4 / 5-7), ``dens_dominant`` (French label of the
    3-level class holding the largest share) and ``dens7_dominant`` (level 1-7).
    """
    per, _ = _as_territories(perimeters, codes_col, name)
    long = _long(per, codes_col)
    return _density_from_long(long, len(per)).set_axis(per.index)


def _density_from_long(long: pd.DataFrame, n: int) -> pd.DataFrame:
    s7 = _shares(long, "dens7", [float(i) for i in range(1, 8)], n)
    s7.columns = [f"dens7_{int(c)}" if c != "unknown" else "dens7_unknown" for c in s7.columns]
    out = s7.copy()
    for cls in ("urbain_dense", "intermediaire", "rural"):
        levels = [f"dens7_{k}" for k, v in DENS3_OF_DENS7.items() if v == cls]
        out[f"dens_{cls}"] = s7[levels].sum(axis=1, min_count=1)
    dom3 = _dominant(out, ["dens_urbain_dense", "dens_intermediaire", "dens_rural"])
    out["dens_dominant"] = dom3.map(lambda c: DENS3_LABELS[c[5:]] if isinstance(c, str) else None)
    dom7 = _dominant(out, [f"dens7_{i}" for i in range(1, 8)])
    out["dens7_dominant"] = dom7.map(lambda c: int(c[-1]) if isinstance(c, str) else pd.NA).astype("Int64")
    return out


def aav_profile(perimeters: pd.DataFrame | Sequence[str], codes_col: str = "codes",
                name: str = "Territoire proposé") -> pd.DataFrame:
    """AAV 2020 profile (percent of population municipale 2023) of each territory.

    Columns ``cateaav_11`` … ``cateaav_30``, ``cateaav_unknown``, ``aav_pole`` (11+12+13),
    ``aav_couronne`` (20), ``aav_hors_attraction`` (30) and ``aav_dominant`` (French label).
    """
    per, _ = _as_territories(perimeters, codes_col, name)
    long = _long(per, codes_col)
    return _aav_from_long(long, len(per)).set_axis(per.index)


def _aav_from_long(long: pd.DataFrame, n: int) -> pd.DataFrame:
    s = _shares(long, "cateaav2020", list(CATEAAV_LABELS), n)
    s.columns = [f"cateaav_{c}" for c in s.columns]
    out = s.copy()
    for cls in ("pole", "couronne", "hors_attraction"):
        cats = [f"cateaav_{k}" for k, v in AAV3_OF_CATEAAV.items() if v == cls]
        out[f"aav_{cls}"] = s[cats].sum(axis=1, min_count=1)
    dom = _dominant(out, ["aav_pole", "aav_couronne", "aav_hors_attraction"])
    out["aav_dominant"] = dom.map(lambda c: AAV3_LABELS[c[4:]] if isinstance(c, str) else None)
    return out


# ------------------------------------------------------------------------------------------
# IRDES typologies: loader and CPTS profile
# ------------------------------------------------------------------------------------------

_COMMUNE_COLS = ("codgeo", "depcom", "insee_com", "code_commune", "codecommune", "code_insee", "com", "code")
_TV_COLS = ("tv", "code_tv", "codetv", "code_tvs", "tvs", "tv2012", "codtv", "territoire_de_vie")
_CLASS_COLS = ("classe", "class", "typo", "typologie", "typo_irdes", "cluster", "clas", "cl")
_LABEL_COLS = ("libclasse", "lib_classe", "libelle_classe", "label", "libtypo", "lib_typo")
_POP_COLS = ("pop", "pmun", "population", "p_pop", "popmun")


def _norm(col: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(col).strip().lower()).strip("_")


def _find(df: pd.DataFrame, given: str | None, candidates: tuple[str, ...], what: str, source: str,
          required: bool = True) -> str | None:
    if given is not None:
        if given not in df.columns:
            raise KeyError(f"{source} : colonne {given!r} absente (colonnes : {list(df.columns)})")
        return given
    by_norm = {_norm(c): c for c in df.columns}
    for cand in candidates:
        if cand in by_norm:
            return by_norm[cand]
    for cand in candidates:  # prefix match: "CLASSE_TYPO", "TV_2012"
        for n, c in by_norm.items():
            if n.startswith(cand + "_") or n.endswith("_" + cand):
                return c
    if required:
        raise KeyError(f"{source} : colonne {what} introuvable (colonnes : {list(df.columns)}) ; "
                       f"indiquez-la explicitement")
    return None


def _read_table(src: str | Path | pd.DataFrame, sheet: str | int | None) -> tuple[pd.DataFrame, str]:
    if isinstance(src, pd.DataFrame):
        return src.copy(), "table"
    path = Path(src)
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls"):
        df = pd.read_excel(path, sheet_name=0 if sheet is None else sheet, dtype=str)
    elif suffix in (".csv", ".txt"):
        df = pd.read_csv(path, sep=None, engine="python", dtype=str, encoding_errors="replace")
    else:
        raise ValueError(f"{path.name} : format non pris en charge (xlsx, xls, csv)")
    return df, path.name


def _clean_code(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    s = str(value).strip().upper()
    if s.endswith(".0"):
        s = s[:-2]
    if s.isdigit() and len(s) < 5:
        s = s.zfill(5)
    return s or None


def read_irdes_typology(
    source: str | Path | pd.DataFrame,
    typology: str = "irdes_tv_2019",
    cog_year: int | None = None,
    *,
    tv_classes: str | Path | pd.DataFrame | None = None,
    commune_col: str | None = None,
    tv_col: str | None = None,
    class_col: str | None = None,
    label_col: str | None = None,
    population_col: str | None = None,
    sheet: str | int | None = None,
) -> pd.DataFrame:
    """Read an IRDES typology table and move it to COG 2026 units.

    ``source`` is a commune table (xlsx/xls/csv or DataFrame) holding either the class directly
    (commune → class, e.g. the 2025 commune-level typology) or a territoire de vie code; in the
    latter case ``tv_classes`` gives the territoire de vie → class table (a single file holding
    commune, territoire de vie and class works too). Columns are detected from usual names
    (CODGEO / DEPCOM / INSEE_COM, TV / Code_TVS, CLASSE / TYPO) or given explicitly.
    ``cog_year`` is the COG vintage of the commune codes (e.g. 2016): codes are moved to COG
    2026 with :func:`cpts_geo.transition`; a commune formed by a fusion of communes of
    different classes gets fractional weights (by the population column of the file when
    present, equal otherwise). Arrondissements of Paris, Lyon, Marseille take their city's
    class when the file has the city only, and conversely.

    Returns one row per (COG 2026 unit, class): ``code``, ``classe`` (int), ``weight`` (share of
    the unit in the class, summing to 1 per unit). ``attrs``: ``typology``, ``labels`` (class →
    French label), ``colors``, ``source``, ``cog_from`` and ``report`` (rows read, converted
    codes, fusions with disagreeing classes, refused rows with reasons, reference units
    without class).
    """
    specs = irdes_typologies()
    if typology not in specs:
        raise KeyError(f"typologie {typology!r} inconnue ; disponibles : {sorted(specs)}")
    spec = specs[typology]
    n_classes = int(spec["n_classes"])
    df, src_name = _read_table(source, sheet)
    ccol = _find(df, commune_col, _COMMUNE_COLS, "commune", src_name)
    kcol = _find(df, class_col, _CLASS_COLS, "classe", src_name, required=tv_classes is None)
    pcol = _find(df, population_col, _POP_COLS, "population", src_name, required=False)
    lcol = _find(df, label_col, _LABEL_COLS, "libellé", src_name, required=False)
    table = pd.DataFrame({"row": np.arange(len(df)) + 2, "code": df[ccol].map(_clean_code)})  # +2: header line
    file_labels: dict[int, str] = {}
    class_source = src_name
    if kcol is not None:
        table["raw_class"] = df[kcol].to_numpy()
        if lcol is not None:
            file_labels.update(_labels_from(df[kcol], df[lcol]))
    else:
        tcol = _find(df, tv_col, _TV_COLS, "territoire de vie", src_name)
        tv_df, tv_name = _read_table(tv_classes, None)
        t_tv = _find(tv_df, tv_col if tv_col in tv_df.columns else None, _TV_COLS, "territoire de vie", tv_name)
        t_k = _find(tv_df, class_col, _CLASS_COLS, "classe", tv_name)
        t_l = _find(tv_df, label_col, _LABEL_COLS, "libellé", tv_name, required=False)
        if t_l is not None:
            file_labels.update(_labels_from(tv_df[t_k], tv_df[t_l]))
        tv_map = pd.Series(tv_df[t_k].to_numpy(), index=tv_df[t_tv].map(lambda v: str(v).strip()))
        dup = tv_map.index.duplicated(keep=False)
        if dup.any() and (tv_map[dup].groupby(level=0).nunique() > 1).any():
            bad = tv_map[dup].index[0]
            raise ValueError(f"{tv_name} : territoire de vie {bad!r} présent avec plusieurs classes")
        tv_map = tv_map[~tv_map.index.duplicated()]
        tv_codes = df[tcol].map(lambda v: str(v).strip())
        missing_tv = ~tv_codes.isin(tv_map.index)
        if missing_tv.any():
            i = int(np.flatnonzero(missing_tv.to_numpy())[0])
            raise ValueError(f"{src_name}, ligne {i + 2} : territoire de vie {tv_codes.iloc[i]!r} absent de "
                             f"{tv_name} ({int(missing_tv.sum())} ligne(s) concernée(s))")
        table["raw_class"] = tv_codes.map(tv_map).to_numpy()
        class_source = tv_name
    # classes: integers 1..n, error naming file, row and value otherwise
    num = pd.to_numeric(table["raw_class"].map(lambda v: str(v).strip().removeprefix("Classe ").removeprefix("classe ")
                                               if v is not None and not (isinstance(v, float) and np.isnan(v)) else None),
                        errors="coerce")
    bad = num.isna() | (num % 1 != 0) | (num < 1) | (num > n_classes)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueError(f"{class_source if kcol is None else src_name}, ligne {int(table['row'].iloc[i])} : "
                         f"classe {table['raw_class'].iloc[i]!r} invalide (attendu 1 à {n_classes} pour {typology})"
                         + (f" ; {int(bad.sum()) - 1} autre(s) ligne(s) invalide(s)" if bad.sum() > 1 else ""))
    table["classe"] = num.astype(int)
    table["w0"] = pd.to_numeric(df[pcol], errors="coerce").to_numpy() if pcol is not None else np.nan
    refused = []
    fmt_bad = ~table["code"].fillna("").str.match(r"^(\d{5}|2[AB]\d{3})$")
    for r in table[fmt_bad].itertuples():
        refused.append({"row": int(r.row), "value": r.code, "reason": "code commune illisible"})
    table = table[~fmt_bad]
    dup = table.duplicated("code", keep=False)
    if dup.any() and (table[dup].groupby("code")["classe"].nunique() > 1).any():
        c = table[dup].groupby("code")["classe"].nunique()
        code = c[c > 1].index[0]
        rows = table.loc[table["code"] == code, "row"].tolist()
        raise ValueError(f"{src_name} : commune {code} présente avec plusieurs classes (lignes {rows})")
    table = table.drop_duplicates("code")
    rows_in = len(table)
    out, conv = _to_cog2026(table, cog_year)
    refused.extend(conv.pop("refused"))
    out = _complete_plm(out)
    units = _units()
    missing = units.index[~units.index.isin(out["code"])]
    missing_pop = float(units.loc[missing, "pop"].fillna(0).sum())
    labels = {int(k): v for k, v in (spec.get("labels") or {}).items()}
    label_conflicts = {k: v for k, v in file_labels.items() if k in labels and _norm(v) != _norm(labels[k])}
    for k in range(1, n_classes + 1):
        labels.setdefault(k, file_labels.get(k, f"Classe {k}"))
    report = {
        "source": src_name,
        "class_source": class_source,
        "rows_read": int(len(df)),
        "rows_used": rows_in,
        "refused": refused,
        **conv,
        "reference_units_without_class": int(len(missing)),
        "reference_population_without_class": missing_pop,
        "label_conflicts": label_conflicts,
    }
    if refused:
        warnings.warn(f"{src_name} : {len(refused)} ligne(s) refusée(s), voir attrs['report']['refused']",
                      stacklevel=2)
    out = out.reset_index(drop=True)
    out.attrs = {
        "typology": typology,
        "title": spec["title"],
        "labels": labels,
        "labels_source": spec.get("labels_source") or (
            f"libellés lus dans {class_source}" if file_labels else spec.get("labels_note")),
        "colors": {int(k): v for k, v in spec["colors"].items()},
        "source": spec.get("labels_source", spec["title"]),
        "cog_from": cog_year,
        "cog": reference.COG_YEAR,
        "report": report,
    }
    return out


def _labels_from(classes: pd.Series, labels: pd.Series) -> dict[int, str]:
    pairs = pd.DataFrame({"k": pd.to_numeric(classes, errors="coerce"), "l": labels}).dropna()
    pairs = pairs[pairs["k"] % 1 == 0]
    return {int(k): str(g["l"].mode().iloc[0]).strip() for k, g in pairs.groupby("k")}


def _to_cog2026(table: pd.DataFrame, cog_year: int | None) -> tuple[pd.DataFrame, dict]:
    """(code, classe, w0) of ``cog_year`` → (code, classe, weight) of COG 2026."""
    from cpts_geo.codes import transition

    current = set(_units().index)
    refused: list[dict] = []
    if cog_year is None or cog_year >= reference.COG_YEAR:
        tr = pd.DataFrame(columns=["origin", "code", "ratio"])
    else:
        tr = transition(cog_year)
    moved = table.merge(tr[["origin", "code", "ratio"]].rename(columns={"code": "new"}),
                        left_on="code", right_on="origin", how="left")
    hit = moved["origin"].notna()
    moved["new"] = moved["new"].where(hit, moved["code"])
    moved["ratio"] = moved["ratio"].fillna(1.0)
    unknown = ~moved["new"].isin(current)
    for r in moved[unknown].drop_duplicates("row").itertuples():
        refused.append({"row": int(r.row), "value": r.code,
                        "reason": f"code absent du COG {reference.COG_YEAR} et sans passage connu depuis le COG {cog_year}"})
    moved = moved[~unknown]
    has_pop = moved["w0"].notna().all() and len(moved) > 0
    moved["w"] = moved["ratio"] * (moved["w0"].astype(float) if has_pop else 1.0)
    agg = moved.groupby(["new", "classe"], as_index=False)["w"].sum()
    total = agg.groupby("new")["w"].transform("sum")
    agg["weight"] = np.where(total > 0, agg["w"] / total.where(total > 0, 1.0), 1.0 / agg.groupby("new")["w"].transform("size"))
    n_cls = agg.groupby("new")["classe"].nunique()
    disagreements = {
        code: {int(k): round(float(w), 4) for k, w in zip(g["classe"], g["weight"], strict=True)}
        for code, g in agg[agg["new"].isin(n_cls[n_cls > 1].index)].groupby("new")
    }
    out = agg.rename(columns={"new": "code"})[["code", "classe", "weight"]]
    return out, {
        "converted_codes": int(hit.sum()),
        "fusion_weights": "population of the file" if has_pop else "equal (no population column)",
        "units_with_several_classes": disagreements,
        "refused": refused,
    }


def _complete_plm(out: pd.DataFrame) -> pd.DataFrame:
    """Give arrondissements their city's class, and cities the population mix of their
    arrondissements, when the table has only one of them."""
    units = _units()
    arr = units[units["kind"] == "arrondissement"]
    have = set(out["code"])
    add = []
    missing_arr = arr[~arr.index.isin(have) & arr["parent"].isin(have)]
    if len(missing_arr):
        m = out[out["code"].isin(missing_arr["parent"])].rename(columns={"code": "parent"})
        add.append(missing_arr[["parent"]].reset_index().merge(m, on="parent")[["code", "classe", "weight"]])
    cities = set(arr["parent"]) - have
    from_arr = out[out["code"].isin(arr.index)].copy()
    from_arr["parent"] = from_arr["code"].map(arr["parent"])
    from_arr = from_arr[from_arr["parent"].isin(cities)]
    if len(from_arr):
        from_arr["w"] = from_arr["weight"] * from_arr["code"].map(units["pop"]).fillna(0)
        g = from_arr.groupby(["parent", "classe"], as_index=False)["w"].sum()
        g["weight"] = g["w"] / g.groupby("parent")["w"].transform("sum")
        add.append(g.rename(columns={"parent": "code"})[["code", "classe", "weight"]])
    return pd.concat([out, *add], ignore_index=True) if add else out


def irdes_profile(perimeters: pd.DataFrame | Sequence[str], typology: pd.DataFrame, codes_col: str = "codes",
                  prefix: str | None = None, name: str = "Territoire proposé") -> pd.DataFrame:
    """Population-weighted IRDES class profile of each territory.

    ``typology`` comes from :func:`read_irdes_typology`. Columns (prefix ``irdes`` for the
    2019 typology, ``irdes25`` for the 2025 one): ``<p>_1`` … ``<p>_n`` (percent of population
    municipale 2023), ``<p>_unclassified`` (units absent from the table), ``<p>_class``
    (dominant class), ``<p>_label``, ``<p>_share`` (its share) and ``<p>_color``.
    """
    per, _ = _as_territories(perimeters, codes_col, name)
    long = _long(per, codes_col)
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
    ``aci_label``, ``aci_funding_eur`` (sourced operating funding by band; ``aci_version``
    "2022" = avenant 2, current, default; "2019" = ACI 2019),
    IGAS 2018 type and viability warning (:func:`igas_type`), density profile
    (:func:`density_profile`), AAV profile (:func:`aav_profile`) and, when given, IRDES profiles
    (:func:`irdes_profile`). ``attrs['classification']`` records sources and vintages.
    """
    per, report = _as_territories(perimeters, codes_col, name)
    long = _long(per, codes_col)
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
    out.attrs = {**getattr(per, "attrs", {}), "classification": {
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
        "aci_funding": {"item": item["item"], "version": item["version"], "source": item["source"],
                        "text": item.get("text"), "signed": item.get("signed")},
        "aci_excluded": [e["item"] for e in aci["excluded"]],
        "igas": {"bounds": list(IGAS_BOUNDS), "viable": list(IGAS_VIABLE), "source": IGAS_SOURCE},
        "dens7_year": 2024,
        "aav_year": 2020,
        "sources": dict(SOURCES),
        "irdes": meta_irdes,
        "input": report,
    }}
    return out
