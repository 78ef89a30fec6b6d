"""Reading the IRDES typologies of communes and territoires de vie, moved to COG 2026 units.

The typologies (IRDES 2019 by territoire de vie, IRDES 2025 by commune) are described in
``data/classification/irdes_typologies.json`` (labels, colours, sources). The table a user brings
is read by :func:`cpts_geo.io.tables.read_table` (any encoding, separator, Excel sheet); the
profile of a CPTS in these classes is :func:`cpts_geo.classification.irdes_profile`.
"""

from __future__ import annotations

import functools
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from cpts_geo import fr, reference
from cpts_geo._checks import expect_source, expect_text, expect_year
from cpts_geo.codes import FIRST_COG_YEAR, transition
from cpts_geo.errors import InputError, OptionError
from cpts_geo.io.tables import (
    clean_codes,
    column_key,
    find_column,
    is_insee_code,
    read_table,
    source_rows,
)


@functools.cache
def _specs() -> dict:
    path = reference.data_dir() / "classification" / "irdes_typologies.json"
    return json.loads(path.read_text(encoding="utf-8"))["typologies"]


def irdes_typologies() -> dict:
    """Specifications (labels, colours, sources) of the IRDES typologies cpts_geo can read."""
    return json.loads(json.dumps(_specs()))


@functools.cache
def _units() -> pd.DataFrame:
    """Kind, parent city and population of the reference units by code (cached, read-only)."""
    c = reference.load_communes()
    return pd.DataFrame({
        "kind": c["kind"].to_numpy(),
        "parent": c["parent"].to_numpy(),
        "pop": c["population"].astype("float64").to_numpy(),
    }, index=pd.Index(c["code"].to_numpy(dtype=object), dtype=object, name="code"))


_COMMUNE_COLS = ("codgeo", "depcom", "insee_com", "code_commune", "codecommune", "code_insee", "com", "code")
_TV_COLS = ("tv", "code_tv", "codetv", "code_tvs", "tvs", "tv2012", "codtv", "territoire_de_vie")
_CLASS_COLS = ("classe", "class", "typo", "typologie", "typo_irdes", "cluster", "clas", "cl")
_LABEL_COLS = ("libclasse", "lib_classe", "libelle_classe", "label", "libtypo", "lib_typo")
_POP_COLS = ("pop", "pmun", "population", "p_pop", "popmun")


def _find(df: pd.DataFrame, given: str | None, candidates: tuple[str, ...], what: str, source: str,
          required: bool = True) -> str | None:
    if given is None and not required:
        return find_column(df.columns, candidates, partial=True)
    return find_column(df.columns, candidates, given=given, what=what, source=source, partial=True,
                       required=True)


def _read_table(src: str | Path | pd.DataFrame, sheet: str | int | None) -> tuple[pd.DataFrame, str]:
    if isinstance(src, pd.DataFrame):
        df = src.copy()
        df.attrs = {}
        return df, "table"
    df = read_table(src, sheet, hints=_COMMUNE_COLS + _TV_COLS + _CLASS_COLS)
    return df, df.attrs["source"]


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
    expect_source(source, "source")
    expect_text(typology, "typology")
    expect_year(cog_year, "cog_year", first=FIRST_COG_YEAR, last=reference.COG_YEAR, optional=True)
    expect_source(tv_classes, "tv_classes", optional=True)
    for _col, _label in ((commune_col, "commune_col"), (tv_col, "tv_col"), (class_col, "class_col"),
                         (label_col, "label_col"), (population_col, "population_col")):
        expect_text(_col, _label, optional=True)
    if sheet is not None and not isinstance(sheet, int):
        expect_text(sheet, "sheet")
    specs = irdes_typologies()
    if typology not in specs:
        raise OptionError("typology", typology, f"typologie inconnue ; disponibles : {fr.enumeration(sorted(specs))}")
    spec = specs[typology]
    n_classes = int(spec["n_classes"])
    df, src_name = _read_table(source, sheet)
    ccol = _find(df, commune_col, _COMMUNE_COLS, "commune", src_name)
    kcol = _find(df, class_col, _CLASS_COLS, "classe", src_name, required=tv_classes is None)
    pcol = _find(df, population_col, _POP_COLS, "population", src_name, required=False)
    lcol = _find(df, label_col, _LABEL_COLS, "libellé", src_name, required=False)
    table = pd.DataFrame({"row": source_rows(df), "code": clean_codes(df[ccol])})
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
        tv_keys = tv_df[t_tv].map(lambda v: str(v).strip())
        tv_map = pd.Series(tv_df[t_k].to_numpy(), index=tv_keys.to_numpy())
        dup = tv_map.index.duplicated(keep=False)
        if dup.any() and (tv_map[dup].groupby(level=0).nunique() > 1).any():
            bad = tv_map[dup].index[0]
            raise InputError("territoire de vie présent avec plusieurs classes", tv_name, None, bad)
        tv_row = dict(zip(tv_keys.to_numpy()[::-1], source_rows(tv_df)[::-1], strict=True))  # first row of each
        tv_map = tv_map[~tv_map.index.duplicated()]
        tv_codes = df[tcol].map(lambda v: str(v).strip())
        missing_tv = ~tv_codes.isin(tv_map.index)
        if missing_tv.any():
            i = int(np.flatnonzero(missing_tv.to_numpy())[0])
            n = int(missing_tv.sum())
            raise InputError(f"territoire de vie {tv_codes.iloc[i]!r} absent de {tv_name} "
                             f"({fr.plural(n, 'ligne concernée')})", src_name, int(table["row"].iloc[i]))
        table["raw_class"] = tv_codes.map(tv_map).to_numpy()
        table["class_row"] = tv_codes.map(tv_row).to_numpy()
        class_source = tv_name
    # classes: integers 1..n, error naming file, row and value otherwise
    num = pd.to_numeric(table["raw_class"].map(lambda v: str(v).strip().removeprefix("Classe ").removeprefix("classe ")
                                               if v is not None and not (isinstance(v, float) and np.isnan(v)) else None),
                        errors="coerce")
    bad = num.isna() | (num % 1 != 0) | (num < 1) | (num > n_classes)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        row = int(table["row" if kcol is not None else "class_row"].iloc[i])
        others = int(bad.sum()) - 1
        raise InputError(f"classe {table['raw_class'].iloc[i]!r} invalide (attendu 1 à {n_classes} pour {typology})"
                         + (f" ; {fr.plural(others, 'autre ligne invalide')}" if others else ""),
                         class_source if kcol is None else src_name, row)
    table["classe"] = num.astype(int)
    table["w0"] = pd.to_numeric(df[pcol], errors="coerce").to_numpy() if pcol is not None else np.nan
    refused = []
    fmt_bad = ~table["code"].map(is_insee_code).astype(bool)
    for r in table[fmt_bad].itertuples():
        refused.append({"row": int(r.row), "value": r.code, "reason": "code commune illisible"})
    table = table[~fmt_bad]
    dup = table.duplicated("code", keep=False)
    if dup.any() and (table[dup].groupby("code")["classe"].nunique() > 1).any():
        c = table[dup].groupby("code")["classe"].nunique()
        code = c[c > 1].index[0]
        rows = table.loc[table["code"] == code, "row"].tolist()
        raise InputError(f"commune présente avec plusieurs classes (lignes {', '.join(map(str, rows))})",
                         src_name, rows[0], code)
    table = table.drop_duplicates("code")
    rows_in = len(table)
    out, conv = _to_cog2026(table, cog_year)
    refused.extend(conv.pop("refused"))
    out = _complete_plm(out)
    units = _units()
    missing = units.index[~units.index.isin(out["code"])]
    missing_pop = float(units.loc[missing, "pop"].fillna(0).sum())
    labels = {int(k): v for k, v in (spec.get("labels") or {}).items()}
    label_conflicts = {k: v for k, v in file_labels.items() if k in labels and column_key(v) != column_key(labels[k])}
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
        warnings.warn(f"{src_name} : {fr.plural(len(refused), 'ligne refusée')} "
                      f"({fr.enumeration([str(r['value']) for r in refused], limit=10)}), voir attrs['report']['refused']",
                      stacklevel=2)
    out = out.reset_index(drop=True)
    out.attrs = {
        "refused": list(dict.fromkeys(str(r["value"]) for r in refused if r["value"] is not None)),
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
