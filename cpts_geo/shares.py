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
import functools
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cpts_geo import fr, reference
from cpts_geo._checks import expect_diagnosis, expect_source, expect_text
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
    expect_source(table, "table")
    expect_text(name, "name", optional=True)
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


@functools.cache
def _unit_index() -> tuple[pd.Index, np.ndarray]:
    """Codes of the reference units (object index: hash lookups) and their population (0 if unknown)."""
    u = reference.units()
    return (pd.Index(u.index.to_numpy(dtype=object), dtype=object),
            np.nan_to_num(u["population"].to_numpy(dtype=float)))


def _pairs(d: Diagnosis) -> dict[str, np.ndarray]:
    """Unique (cpts, code) pairs of the CPTS of the diagnosis as arrays: ``cpts``, ``code``
    (object), ``n_cpts`` (CPTS of the listing holding the unit), ``population`` (float, 0 when
    unknown). Read from the diagnosis's :class:`~cpts_geo.incidence.Incidence` (the one count
    of CPTS per unit); a diagnosis without one: integer factorisation of its members."""
    inc = getattr(d, "incidence", None)
    if inc is not None:
        kept = pd.Index(d.perimeters["cpts"].to_numpy(dtype=object), dtype=object).get_indexer(inc.names) >= 0
        sel = kept[inc.group]
        g, u = inc.group[sel], inc.unit[sel]
        return {"cpts": inc.names[g], "code": inc.units.code[u], "n_cpts": inc.n_cpts[u],
                "population": np.nan_to_num(inc.units.population[u])}
    ci, cnames = pd.factorize(d.members["cpts"].to_numpy(dtype=object))
    ui, unames = pd.factorize(d.members["code"].to_numpy(dtype=object))
    size = max(len(unames), 1)
    key = np.unique(ci.astype(np.int64) * size + ui)
    ci, ui = key // size, key % size
    n_cpts = np.bincount(ui, minlength=len(unames))[ui]
    keep = pd.Index(d.perimeters["cpts"].to_numpy(dtype=object), dtype=object).get_indexer(
        np.asarray(cnames, dtype=object))[ci] >= 0
    codes = np.asarray(unames, dtype=object)[ui[keep]]
    index, popv = _unit_index()
    at = index.get_indexer(codes)
    return {"cpts": np.asarray(cnames, dtype=object)[ci[keep]], "code": codes, "n_cpts": n_cpts[keep],
            "population": np.where(at >= 0, popv[at], 0.0)}


def _check_against(d: Diagnosis, shares: pd.DataFrame) -> pd.DataFrame:
    """The table of :func:`read_shares` checked against the diagnosis: (cpts, code, share)."""
    source = shares.attrs.get("source", "table de partage")
    pairs = _pairs(d)
    listed = set(zip(pairs["cpts"].tolist(), pairs["code"].tolist(), strict=True))
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
        holders = pairs["cpts"][pairs["code"] == code]
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
    split_codes = set(split["code"])
    given = dict(zip(zip(split["cpts"], split["code"], strict=True), split["share"].astype(float), strict=True))
    codes, names = pairs["code"], pairs["cpts"]
    in_split = pd.Series(codes, dtype=object).isin(split_codes).to_numpy() if split_codes else np.zeros(len(codes), bool)
    share = np.ones(len(codes))
    for k in np.flatnonzero(in_split):  # the few rows of the split cities
        share[k] = given[(names[k], codes[k])]
    n = pairs["n_cpts"]
    unsplit_shared = (n > 1) & ~in_split
    equal = np.where(unsplit_shared, 1.0 / n, share)
    pop = pairs["population"]
    gi = pd.Index(d.perimeters["cpts"].to_numpy(dtype=object)).get_indexer(names)
    n_per = len(d.perimeters)
    whole_sum = np.bincount(gi, weights=pop, minlength=n_per)
    per = d.perimeters.copy()
    per = per.drop(columns=[c for c in ("population_whole_units", "population_equal_split", "band_equal_split")
                            if c in per.columns])
    if len(split):
        per["population"] = np.bincount(gi, weights=pop * share, minlength=n_per).round().astype("int64")
        per["band"] = aci_band(per["population"].to_numpy(dtype=float))
        per.insert(per.columns.get_loc("population") + 1, "population_whole_units", whole_sum.round().astype("int64"))
    if unsplit_shared.any():
        eq = np.bincount(gi, weights=pop * equal, minlength=n_per).round().astype("int64")
        at = per.columns.get_loc("band") + 1
        per.insert(at, "population_equal_split", eq)
        per.insert(at + 1, "band_equal_split", aci_band(eq.astype(float)))
    per.attrs = dict(d.perimeters.attrs)

    members = d.members.copy()
    m_share = np.ones(len(members))
    if split_codes:
        mc = members["code"].to_numpy(dtype=object)
        mn = members["cpts"].to_numpy(dtype=object)
        for k in np.flatnonzero(pd.Series(mc, dtype=object).isin(split_codes).to_numpy()):
            m_share[k] = given.get((mn[k], mc[k]), 1.0)
    members["share"] = m_share
    members.attrs = dict(d.members.attrs)

    src = source or "fichier de partage"
    noms = reference.units()["nom"]
    ov = d.overlaps.copy()
    if len(ov):
        tot = ov["n_cpts"].to_numpy(dtype=float).copy()
        for k, c in enumerate(ov["code"]):
            if c in split_codes:
                tot[k] = float(split.loc[split["code"] == c, "share"].sum())
        extra = np.maximum(ov["population"].astype("float64").fillna(0).to_numpy() * (tot - 1), 0).round()
        ov["double_counted_population"] = pd.array(extra, dtype="Int64")
        ov["population_split"] = [_split_text(c, split, src) if c in split_codes else WHOLE_TEXT for c in ov["code"]]
    else:
        ov["population_split"] = pd.Series(dtype=object)
    ov.attrs = dict(d.overlaps.attrs)

    shared_cities = []
    sel = np.flatnonzero(n > 1)
    order = sel[np.lexsort((names[sel].astype(str), codes[sel].astype(str)))]
    bounds = np.flatnonzero(np.r_[True, codes[order][1:] != codes[order][:-1], True]) if len(order) else [0]
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        rows = order[lo:hi]
        code = codes[rows[0]]
        shared_cities.append({"code": code, "nom": noms.get(code, code), "population": int(pop[rows[0]]),
                              "cpts": list(names[rows]), "method": "table" if code in split_codes else "whole"})
    # units held by one CPTS only but given a share (the rest in no CPTS) are reported too
    listed = {c["code"] for c in shared_cities}
    for code in sorted(split_codes - listed):
        sg = split[split["code"] == code]
        shared_cities.append({"code": code, "nom": noms.get(code, code),
                              "population": int(reference.units()["population"].get(code, 0) or 0),
                              "cpts": sorted(sg["cpts"]), "method": "table"})
    for item in shared_cities:
        if item["method"] == "table":
            sg = split[split["code"] == item["code"]]
            item["shares"] = {c: float(v) for c, v in zip(sg["cpts"], sg["share"], strict=True)}
            item["unassigned_population"] = int(round(item["population"] * max(0.0, 1 - sum(item["shares"].values()))))
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
    expect_diagnosis(diagnosis, "diagnosis")
    expect_source(shares, "shares")
    read = {"code", "nom", "cpts", "share", "population", "source_row", "input"}  # output of read_shares
    table = shares if isinstance(shares, pd.DataFrame) and read <= set(shares.columns) else read_shares(shares)
    source = table.attrs.get("source") or (Path(shares).name if isinstance(shares, (str, Path)) else "table de partage")
    table.attrs.setdefault("source", source)
    split = _check_against(diagnosis, table)
    return refresh_shared_cities(diagnosis, split, source)
