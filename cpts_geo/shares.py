"""Cities listed whole by several CPTS: each CPTS's share of their population.

A listing that gives a city (Nice, Toulon…) to several CPTS without a sub-municipal split counts
the whole city for each of them (Nice, 357 737 inhabitants in 2023, three times). Without more
information, :func:`refresh_shared_cities` (applied by :func:`cpts_geo.diagnose`) says so and gives
the ACI band each CPTS would have with an **equal** split (``population_equal_split``,
``band_equal_split``). A table of shares (:func:`read_shares`: commune, CPTS and a share 0-1 or
percent, or a population) applied with :func:`apply_shares` replaces the whole-city count: the
population of each CPTS is Σ population municipale × share over its units (share 1 for a unit it
holds alone), its ACI band follows, the official APL is weighted by the shared population
(:func:`cpts_geo.indicators.aggregate_apl` reads ``members["share"]``) and the classification
(IGAS type, ACI margin) reads the new population. A raster split of a city is
:func:`cpts_geo.indicators.split_commune_population`; its ``population`` column fits here.

Pure functions; this module never imports :mod:`cpts_geo.coverage` at run time (it is imported by
it), a :class:`~cpts_geo.coverage.Diagnosis` is copied with :func:`dataclasses.replace`.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cpts_geo import fr, reference
from cpts_geo.codes import normalise_codes
from cpts_geo.errors import InputError
from cpts_geo.io.tables import cell_text, find_column, parse_number, source_rows, table_or_frame
from cpts_geo.rules import aci_band

if TYPE_CHECKING:
    from cpts_geo.coverage import Diagnosis

COMMUNE_COLUMNS = ("commune", "code commune", "code insee", "code", "codgeo", "insee", "depcom", "ville",
                   "nom commune", "libgeo")
CPTS_COLUMNS = ("cpts", "nom cpts", "nom de la cpts", "nom")
SHARE_COLUMNS = ("part", "share", "part de la population", "part %", "pourcentage", "proportion",
                 "quote part", "repartition", "répartition")
POPULATION_COLUMNS = ("population", "habitants", "nombre d habitants", "pop")
#: tolerance on a sum of shares (rounded percentages such as 33,33 % × 3)
TOLERANCE = 1e-3
METHOD_TABLE = ("population municipale de chaque commune partagée × part de la CPTS (fichier de partage) ; "
                "part 1 pour une commune d'une seule CPTS")
METHOD_WHOLE = "la ville entière est comptée pour chaque CPTS (aucun fichier de partage)"
WHOLE_TEXT = "ville entière comptée pour chaque CPTS"


def _share_value(raw: object, percent_column: bool, source: str, row: int) -> float:
    """A share cell as a fraction 0-1: « 45 % » or a % column → /100; else a number 0-1."""
    text = cell_text(raw)
    percent = percent_column or (text is not None and text.rstrip().endswith("%"))
    value = parse_number(text.rstrip().rstrip("%") if text is not None else None)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise InputError("part illisible (attendu : 0,45 ou 45 %)", source, row, raw)
    if value < 0:
        raise InputError("part négative", source, row, raw)
    if percent:
        value /= 100.0
    if value > 1 + 1e-12:
        raise InputError("part supérieure à 1 : écrire une fraction (0,45) ou un pourcentage (45 %)",
                         source, row, raw)
    return float(value)


def read_shares(table: pd.DataFrame | str | Path, *, name: str | None = None) -> pd.DataFrame:
    """Read a table of shares of shared cities (CSV, XLSX, ODS, JSON: :func:`cpts_geo.io.read_table`).

    Columns (detected by name, accents and case ignored): the commune (INSEE code or name,
    normalised to COG 2026 by :func:`cpts_geo.normalise_codes`), the CPTS (name as in the
    listing) and, on each row, either ``part`` (a fraction 0-1, or a percentage: « 45 % » or a
    column headed with « % ») or ``population`` (inhabitants of the commune living in that CPTS,
    e.g. from :func:`cpts_geo.indicators.split_commune_population`). Returns ``code``, ``nom``,
    ``cpts``, ``share`` (NaN when a population is given), ``population`` (NaN when a share is
    given) and ``source_row``; ``attrs["source"]`` is the file name. A missing or unreadable
    value, an unknown commune, a commune given twice for one CPTS or a share above 1 raises
    :class:`~cpts_geo.errors.InputError` naming the file, row and value. The checks against a
    diagnosis (CPTS of the listing, sums per commune) are done by :func:`apply_shares`.
    """
    df, source = table_or_frame(table, name or "table de partage", (*COMMUNE_COLUMNS[:2], "cpts", "part"))
    source = name or source
    rows = source_rows(df)
    ccol = find_column(df.columns, COMMUNE_COLUMNS, what="de la commune (code INSEE ou nom)", source=source,
                       required=True)
    kcol = find_column(df.columns, CPTS_COLUMNS, what="du nom de la CPTS", source=source, required=True,
                       exclude=[ccol])
    scol = find_column(df.columns, SHARE_COLUMNS, source=source, exclude=[ccol, kcol], partial=True)
    pcol = find_column(df.columns, POPULATION_COLUMNS, source=source, exclude=[ccol, kcol, scol], partial=True)
    if scol is None and pcol is None:
        raise InputError("colonne « part » (0 à 1 ou %) ou « population » attendue ; colonnes trouvées : "
                         + ", ".join(map(str, df.columns)), source)
    percent_column = scol is not None and "%" in str(scol) or (scol is not None and "pourcent" in str(scol).lower())
    if df.empty:
        raise InputError("aucune ligne de partage", source)
    raw_communes = [cell_text(v) for v in df[ccol]]
    norm = normalise_codes([v if v is not None else "" for v in raw_communes])
    records = []
    for k, row in enumerate(rows):
        commune = raw_communes[k]
        cpts = cell_text(df[kcol].iloc[k])
        if commune is None:
            raise InputError("commune manquante", source, row)
        if norm["code"].iloc[k] is None:
            raise InputError(f"commune non reconnue : {norm['message'].iloc[k]}", source, row, commune)
        if cpts is None:
            raise InputError("nom de CPTS manquant", source, row, commune)
        s_raw = cell_text(df[scol].iloc[k]) if scol is not None else None
        p_raw = cell_text(df[pcol].iloc[k]) if pcol is not None else None
        if s_raw is None and p_raw is None:
            raise InputError(f"ni part ni population pour {cpts}", source, row, commune)
        if s_raw is not None and p_raw is not None:
            raise InputError("une part et une population sur la même ligne : n'en donner qu'une", source, row,
                             f"{s_raw} ; {p_raw}")
        share = _share_value(s_raw, percent_column, source, row) if s_raw is not None else math.nan
        population = math.nan
        if p_raw is not None:
            population = parse_number(p_raw)
            if population is None or math.isnan(population):
                raise InputError("population illisible", source, row, p_raw)
            if population < 0:
                raise InputError("population négative", source, row, p_raw)
        records.append({"code": norm["code"].iloc[k], "cpts": cpts.strip(), "share": share,
                        "population": float(population), "source_row": row, "input": commune})
    out = pd.DataFrame.from_records(records)
    out["code"] = out["code"].astype(object)
    dup = out.duplicated(["code", "cpts"], keep=False)
    if dup.any():
        first = out[dup].iloc[0]
        again = out[dup & (out["code"] == first["code"]) & (out["cpts"] == first["cpts"])]["source_row"].tolist()
        raise InputError(f"commune {first['code']} donnée deux fois pour {first['cpts']} (lignes "
                         f"{fr.enumeration(map(str, again))})", source, int(again[-1]), first["input"])
    noms = reference.units()["nom"]
    out.insert(1, "nom", out["code"].map(noms).astype(object))
    out.attrs = {"source": source, "columns": {"commune": ccol, "cpts": kcol, "part": scol, "population": pcol}}
    return out


def _pairs(d: Diagnosis) -> pd.DataFrame:
    """(cpts, code) pairs of the CPTS of the diagnosis, with the unit population (float)."""
    m = d.members[["cpts", "code"]].astype(object).drop_duplicates()
    m["n_cpts"] = m.groupby("code")["cpts"].transform("size").to_numpy()  # every CPTS listing it
    m = m[m["cpts"].isin(set(d.perimeters["cpts"]))].reset_index(drop=True)
    pop = reference.units()["population"].astype("float64")
    m["population"] = m["code"].map(pop).astype(float).fillna(0.0).to_numpy()
    return m


def _check_against(d: Diagnosis, shares: pd.DataFrame) -> pd.DataFrame:
    """The table of :func:`read_shares` checked against the diagnosis: (cpts, code, share)."""
    source = shares.attrs.get("source", "table de partage")
    pairs = _pairs(d)
    listed = set(zip(pairs["cpts"], pairs["code"], strict=True))
    names = set(d.perimeters["cpts"])
    pop = reference.units()["population"].astype("float64")
    noms = reference.units()["nom"]
    out = shares.copy()
    for r in out.itertuples():
        label = f"{r.nom} ({r.code})"
        if r.cpts not in names:
            close = sorted(n for n in names if n.casefold() == str(r.cpts).casefold())
            hint = f" ; vouliez-vous dire « {close[0]} » ?" if close else ""
            raise InputError(f"CPTS absente de la liste analysée{hint}", source, r.source_row, r.cpts)
        if (r.cpts, r.code) not in listed:
            if r.code in d.arr_cities:
                why = ("ville analysée par arrondissement municipal dans cette liste : donner les parts de ses "
                       "arrondissements")
            else:
                why = f"la CPTS « {r.cpts} » ne liste pas {label}"
            raise InputError(why, source, r.source_row, r.input)
        if not math.isnan(r.population):
            total = float(pop.get(r.code, math.nan))
            if not total > 0:
                raise InputError(f"population de {label} inconnue dans le référentiel : donner une part",
                                 source, r.source_row, r.input)
            if r.population > total + 0.5:
                raise InputError(f"population supérieure à celle de {label} ({fr.inhabitants(total)}, "
                                 f"population municipale {reference.POPULATION_YEAR})", source, r.source_row,
                                 fr.integer(r.population))
    pop_of = out["code"].map(pop).astype(float)
    out["share"] = np.where(out["share"].isna(), out["population"] / pop_of, out["share"])
    for code, g in out.groupby("code", sort=True):
        total = float(g["share"].sum())
        if total > 1 + TOLERANCE:
            rows = fr.enumeration(map(str, g["source_row"]))
            if g["population"].notna().all():
                what = (f"les populations données pour {noms.get(code, code)} ({code}) totalisent "
                        f"{fr.inhabitants(g['population'].sum())}, plus que sa population "
                        f"({fr.inhabitants(pop.get(code))})")
                value = fr.integer(g["population"].sum())
            else:
                what = f"les parts de {noms.get(code, code)} ({code}) totalisent plus de 100 %"
                value = fr.percent(total)
            raise InputError(f"{what} (lignes {rows})", source, int(g["source_row"].max()), value)
        holders = pairs.loc[pairs["code"] == code, "cpts"]
        missing = sorted(set(holders) - set(g["cpts"]))
        if missing:
            raise InputError(f"{noms.get(code, code)} ({code}) est aussi listée par "
                             f"{fr.enumeration(missing)}, absente du fichier de partage pour cette commune : "
                             "donner sa part (0 si elle n'en a pas)", source, int(g["source_row"].max()), code)
    return out[["cpts", "code", "share"]]


def _split_text(code: str, split: pd.DataFrame, source: str) -> str:
    """« répartie selon partage.csv : CPTS A 45 %, CPTS B 55 % »."""
    g = split[split["code"] == code]
    return f"répartie selon {source} : " + ", ".join(f"{c} {fr.percent(s)}" for c, s in zip(g["cpts"], g["share"],
                                                                                            strict=True))


def refresh_shared_cities(d: Diagnosis, split: pd.DataFrame | None = None, source: str | None = None) -> Diagnosis:
    """The diagnosis with its shared units accounted for: ``split`` (cpts, code, share), checked,
    gives the shares of the units it names (``source``: its file name); a unit listed by several
    CPTS and absent from it counts whole for each CPTS (as listed). Adds or updates: perimeter
    ``population`` (with ``split``; the whole-unit count kept as ``population_whole_units``) and
    ``band``, ``population_equal_split`` / ``band_equal_split`` (when some shared unit has no
    share: each such unit divided equally between its CPTS), ``members["share"]``, overlap
    ``double_counted_population`` and ``population_split`` (French), ``summary`` (``bands``,
    ``double_counted_population``, ``shared_cities``, ``shares``) and ``meta["shares"]``."""
    pairs = _pairs(d)
    split = pd.DataFrame(columns=["cpts", "code", "share"]) if split is None else split
    key = pd.MultiIndex.from_frame(split[["cpts", "code"]]) if len(split) else None
    given = (pd.Series(split["share"].to_numpy(dtype=float), index=key)
             .reindex(pd.MultiIndex.from_frame(pairs[["cpts", "code"]])).to_numpy()
             if key is not None else np.full(len(pairs), np.nan))
    is_split = ~np.isnan(given)
    split_codes = set(split["code"])
    share = np.where(is_split, given, 1.0)
    unsplit_shared = (pairs["n_cpts"].to_numpy() > 1) & ~pairs["code"].isin(split_codes).to_numpy()
    equal = np.where(unsplit_shared, 1.0 / pairs["n_cpts"].to_numpy(), share)
    pop = pairs["population"].to_numpy()
    by = pd.DataFrame({"cpts": pairs["cpts"], "whole": pop, "shared": pop * share, "equal": pop * equal})
    sums = by.groupby("cpts", sort=False).sum()
    per = d.perimeters.copy()
    at = per.columns.get_loc("band") + 1
    for col in ("population_whole_units", "population_equal_split", "band_equal_split"):
        if col in per.columns:
            per = per.drop(columns=col)
    if len(split):
        per["population"] = per["cpts"].map(sums["shared"]).round().astype("int64").to_numpy()
        per["band"] = aci_band(per["population"].to_numpy(dtype=float))
        per.insert(per.columns.get_loc("population") + 1, "population_whole_units",
                   per["cpts"].map(sums["whole"]).round().astype("int64").to_numpy())
        at = per.columns.get_loc("band") + 1
    if unsplit_shared.any():
        eq = per["cpts"].map(sums["equal"]).round().astype("int64")
        per.insert(at, "population_equal_split", eq.to_numpy())
        per.insert(at + 1, "band_equal_split", aci_band(eq.to_numpy(dtype=float)))
    per.attrs = dict(d.perimeters.attrs)

    members = d.members.copy()
    s_of = pd.Series(share, index=pd.MultiIndex.from_frame(pairs[["cpts", "code"]]))
    members["share"] = s_of.reindex(pd.MultiIndex.from_frame(members[["cpts", "code"]].astype(object))) \
        .fillna(1.0).to_numpy(dtype=float)
    members.attrs = dict(d.members.attrs)

    src = source or "fichier de partage"
    ov = d.overlaps.copy()
    totals = pd.Series(share, index=pairs["code"]).groupby(level=0).sum()
    if len(ov):
        tot = ov["code"].map(totals).fillna(ov["n_cpts"]).to_numpy(dtype=float)
        extra = np.maximum(ov["population"].astype("float64").fillna(0).to_numpy() * (tot - 1), 0).round()
        ov["double_counted_population"] = pd.array(extra, dtype="Int64")
        ov["population_split"] = [_split_text(c, split, src) if c in split_codes else WHOLE_TEXT for c in ov["code"]]
    else:
        ov["population_split"] = pd.Series(dtype=object)
    ov.attrs = dict(d.overlaps.attrs)

    shared_cities = []
    for code, g in pairs[pairs["n_cpts"] > 1].groupby("code", sort=True):
        item = {"code": code, "nom": reference.units()["nom"].get(code, code), "population": int(g["population"].iloc[0]),
                "cpts": sorted(g["cpts"]), "method": "table" if code in split_codes else "whole"}
        if code in split_codes:
            sg = split[split["code"] == code]
            item["shares"] = {c: float(s) for c, s in zip(sg["cpts"], sg["share"], strict=True)}
            item["unassigned_population"] = int(round(item["population"] * max(0.0, 1 - sum(item["shares"].values()))))
        shared_cities.append(item)
    # units held by one CPTS with a share below 1 (the rest outside any CPTS) are reported too
    for code in sorted(split_codes - {c["code"] for c in shared_cities}):
        sg = split[split["code"] == code]
        p = float(reference.units()["population"].get(code, 0) or 0)
        shares_ = {c: float(s) for c, s in zip(sg["cpts"], sg["share"], strict=True)}
        shared_cities.append({"code": code, "nom": reference.units()["nom"].get(code, code), "population": int(p),
                              "cpts": sorted(sg["cpts"]), "method": "table", "shares": shares_,
                              "unassigned_population": int(round(p * max(0.0, 1 - sum(shares_.values()))))})
    shares_meta = None
    if len(split):
        shares_meta = {"source": src, "method": METHOD_TABLE, "units": sorted(split_codes),
                       "population_year": reference.POPULATION_YEAR}
    meta = {**d.meta, "shares": shares_meta}
    for df in (per, ov):
        df.attrs = {**df.attrs, "shares": shares_meta}
    summary = dict(d.summary)
    if summary:
        summary["bands"] = {str(k): int((per["band"] == k).sum()) for k in (1, 2, 3, 4)}
        summary["double_counted_population"] = int(ov["double_counted_population"].fillna(0).sum()) if len(ov) else 0
        summary["shared_cities"] = shared_cities
        summary["shares"] = shares_meta or {"source": None, "method": METHOD_WHOLE}
    return dataclasses.replace(d, perimeters=per, members=members, overlaps=ov, summary=summary, meta=meta)


def apply_shares(diagnosis: Diagnosis, shares: pd.DataFrame | str | Path) -> Diagnosis:
    """A copy of ``diagnosis`` where the cities shared between CPTS are split by ``shares``: a
    file or a frame read by :func:`read_shares` (commune, CPTS, part or population).

    Checked against the diagnosis (:class:`~cpts_geo.errors.InputError` naming the file, row and
    value): every CPTS must be in the listing and list the commune; every CPTS listing a
    commune of the table must have a row (0 allowed); the shares of a commune must not exceed 1
    (populations: its population municipale). Shares summing to less than 1 are accepted: the
    rest of the population is in no CPTS and is reported (``summary["shared_cities"]``). The
    population of each CPTS becomes Σ population × share over its units; its ACI band follows;
    ``members["share"]`` weights the official APL and ``meta["shares"]`` / ``summary["shares"]``
    name the file and the method. ``diagnosis`` is left unchanged."""
    table = shares if isinstance(shares, pd.DataFrame) and "share" in shares.columns and "code" in shares.columns \
        else read_shares(shares)
    source = table.attrs.get("source") or (Path(shares).name if isinstance(shares, (str, Path)) else "table de partage")
    table.attrs.setdefault("source", source)
    split = _check_against(diagnosis, table)
    return refresh_shared_cities(diagnosis, split, source)
