"""Reading a proposed territory and the existing listing for :func:`validate_territory`.

A proposal comes as a list of codes or names, a text of codes separated by commas, a file in any
format :func:`cpts_geo.read_members` reads (with or without a CPTS column: a file of one column
of communes is a proposal on its own), a plain text file (one commune per line), or a drawn
polygon (shapely geometry in EPSG:4326, GeoDataFrame, GeoJSON / GeoPackage / Shapefile).
Every input value ends up in the members frame or in its normalisation report
(``attrs["report"]``); nothing is dropped silently.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry.base import BaseGeometry

from cpts_geo.io.tables import check_file, decode, read_json, read_table, source_rows
from cpts_geo.members import (
    HEADER_HINTS,
    MembersError,
    detect_columns,
    expand_cities,
    read_drawn_polygons,
    read_members,
)

DEFAULT_NAME = "Territoire proposé"
_GIS_SUFFIXES = (".geojson", ".gpkg", ".shp", ".fgb")
_TABLE_SUFFIXES = (".csv", ".tsv", ".xlsx", ".xlsm", ".xls", ".ods", ".json")


@dataclass
class Proposal:
    """A proposal read into one CPTS of a members frame.

    ``members``: rows (cpts, code, ...) of the accepted units; ``report``: every input value
    with its normalisation status and message; ``inputs``: (value, dep) of every input, for
    what-if variants; ``position_label``: "ligne" (file rows) or "position" (list items).
    """

    name: str
    members: pd.DataFrame
    report: pd.DataFrame
    inputs: list[tuple[object, object]]
    source: str
    kind: str  # "liste", "fichier", "polygone"
    position_label: str = "ligne"
    cut_units: pd.DataFrame | None = None
    extra: dict = field(default_factory=dict)


def _looks_like_path(text: str) -> bool:
    return bool(os.sep in text or "/" in text or Path(text).suffix.lower() in (*_GIS_SUFFIXES, *_TABLE_SUFFIXES, ".txt"))


def _from_values(values: list, deps: list | None, name: str, source: str, kind: str,
                 position_label: str) -> Proposal:
    values = list(values)
    if not values:
        raise MembersError("proposition vide : aucune commune donnée", source)
    frame = pd.DataFrame({"cpts": name, "commune": pd.Series(values, dtype=object)})
    if deps is not None:
        frame["dep"] = pd.Series(list(deps), dtype=object)
    m = _read_frame(frame, source)
    rep = m.attrs["report"].copy()
    if position_label == "position":  # read_members numbers a frame's rows from 2 (header = 1)
        rep["source_row"] = rep["source_row"] - 1
        m["source_row"] = m["source_row"] - 1
    inputs = list(zip(values, deps if deps is not None else [None] * len(values), strict=True))
    return Proposal(name, m, rep, inputs, source, kind, position_label)


def _read_frame(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    try:
        m = read_members(frame)
    except MembersError as exc:
        text = str(exc)
        text = text.removeprefix("tableau : ").removeprefix("tableau, ")
        raise MembersError(re.sub(r"^ligne \d+ : ", "", text), source, exc.row) from exc
    m.attrs["source"] = source
    return m


def _plain_table(path: Path) -> pd.DataFrame:
    """A one-column (or code-only) table without a CPTS column, header or not (first sheet)."""
    return read_table(path, hints=HEADER_HINTS, error=MembersError)


def _select(m: pd.DataFrame, name: str | None, source: str) -> str:
    names = list(dict.fromkeys(m.attrs["report"]["cpts"].astype(str)))
    if name is not None and name in names:
        return name
    if len(names) == 1:
        return names[0]
    raise MembersError(
        f"le fichier décrit {len(names)} CPTS ({', '.join(names[:6])}{' …' if len(names) > 6 else ''}) : "
        "préciser laquelle valider (name= / --name)", source)


def _restrict(m: pd.DataFrame, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    rep = m.attrs["report"]
    rep = rep[rep["cpts"].astype(str) == name].reset_index(drop=True)
    out = m[m["cpts"].astype(str) == name].reset_index(drop=True)
    out.attrs = dict(m.attrs)
    return out, rep


def _from_members(m: pd.DataFrame, name: str | None, source: str, kind: str) -> Proposal:
    chosen = _select(m, name, source)
    members, rep = _restrict(m, chosen)
    cut = m.attrs.get("cut_units")
    if cut is not None:
        cut = cut[cut["cpts"].astype(str) == chosen].reset_index(drop=True)
    if kind == "polygone":
        inputs = [(c, None) for c in members["code"]]
    else:
        dep = rep["dep"] if "dep" in rep.columns else pd.Series([None] * len(rep))
        inputs = list(zip(rep["input"], dep, strict=True))
    # a name given for a one-CPTS file names the territory
    display = name if name is not None and chosen != name else chosen
    return Proposal(display, members, rep, inputs, source, kind, "ligne", cut)


def _from_polygons(gdf: gpd.GeoDataFrame, name: str | None, source: str, threshold: float) -> Proposal:
    cols = detect_columns([c for c in gdf.columns if c != gdf.geometry.name])
    gdf = gdf.copy()
    if cols["cpts"] is None:
        gdf["cpts"] = name or DEFAULT_NAME
    try:
        m = read_members(gdf, threshold=threshold)
    except MembersError as exc:
        raise MembersError(str(exc).removeprefix("tableau : "), source) from exc
    m.attrs["source"] = source
    return _from_members(m, name, source, "polygone")


def read_proposal(
    proposal: object, name: str | None = None, threshold: float = 0.5
) -> Proposal:
    """Read a proposed territory (see module docstring) into a :class:`Proposal`.

    Raises :class:`cpts_geo.MembersError` (naming file, row and value) when the input cannot be
    read: missing or malformed file, several CPTS in a file without ``name``, empty proposal.
    """
    if isinstance(proposal, Proposal):
        return proposal
    if isinstance(proposal, BaseGeometry):
        gdf = gpd.GeoDataFrame({"cpts": [name or DEFAULT_NAME]}, geometry=[proposal], crs=4326)
        return _from_polygons(gdf, name, "polygone dessiné", threshold)
    if isinstance(proposal, gpd.GeoDataFrame) and proposal.geometry.notna().any():
        return _from_polygons(proposal, name, "polygone dessiné", threshold)
    if isinstance(proposal, pd.DataFrame):
        cols = detect_columns(list(proposal.columns))
        if cols["cpts"] is None:
            frame = proposal.copy()
            frame.insert(0, "cpts", name or DEFAULT_NAME)
            m = _read_frame(frame, "tableau")
        else:
            m = _read_frame(proposal, "tableau")
        return _from_members(m, name, "tableau", "fichier")
    if isinstance(proposal, str) and not Path(proposal).exists() and not _looks_like_path(proposal):
        values = [v.strip() for v in re.split(r"[;,\n]+", proposal) if v.strip()]
        return _from_values(values, None, name or DEFAULT_NAME, "liste", "liste", "position")
    if isinstance(proposal, (str, os.PathLike)):
        return _from_path(Path(proposal), name, threshold)
    if isinstance(proposal, Iterable):
        values = list(proposal.tolist() if isinstance(proposal, (pd.Series, np.ndarray)) else proposal)
        return _from_values(values, None, name or DEFAULT_NAME, "liste", "liste", "position")
    raise TypeError(f"proposition non reconnue : {type(proposal).__name__} (liste de codes, fichier ou polygone)")


def _file_title(path: Path) -> str:
    """Territory name from a proposal's file name: « projet_haute-durance.csv » → « Projet haute-durance »."""
    stem = re.sub(r"[_\s]+", " ", path.stem).strip()
    return (stem[:1].upper() + stem[1:]) if stem else DEFAULT_NAME


def _from_path(path: Path, name: str | None, threshold: float) -> Proposal:
    source = path.name
    check_file(path, MembersError)
    suffix = path.suffix.lower()
    if suffix in _GIS_SUFFIXES or (suffix == ".json" and b'"FeatureCollection"' in path.read_bytes()[:2000]):
        gdf = read_drawn_polygons(path, source=source)  # every layer of CPTS polygons of a GeoPackage
        if gdf.crs is None:
            raise MembersError("système de coordonnées absent (CRS) : impossible de situer les polygones", source)
        if detect_columns([c for c in gdf.columns if c != gdf.geometry.name])["cpts"] is None:
            name = name or _file_title(path)
        return _from_polygons(gdf, name, source, threshold)
    if suffix == ".txt":
        lines = decode(path.read_bytes(), source, MembersError)[0].splitlines()
        values = [ln.strip() for ln in lines]
        rows = [i + 1 for i, v in enumerate(values) if v]
        values = [v for v in values if v]
        p = _from_values(values, None, name or _file_title(path), source, "fichier", "position")
        # positions are the line numbers of the text file
        remap = dict(enumerate(rows, start=1))
        p.report["source_row"] = p.report["source_row"].map(remap)
        p.members["source_row"] = p.members["source_row"].map(remap)
        p.position_label = "ligne"
        return p
    if suffix == ".json":
        data = read_json(path, error=MembersError)
        if isinstance(data, list) and all(isinstance(v, (str, int)) for v in data):
            return _from_values(data, None, name or _file_title(path), source, "fichier", "position")
        return _from_members(read_members(path), name, source, "fichier")
    if suffix in (".xlsx", ".xlsm", ".xls", ".ods"):  # read_members picks the right sheet
        try:
            return _from_members(read_members(path), name, source, "fichier")
        except MembersError as exc:
            if "colonne du nom de CPTS introuvable" not in str(exc):
                raise
        df = _plain_table(path)
    else:
        df = _plain_table(path)
        if detect_columns(list(df.columns))["cpts"] is not None:
            return _from_members(read_members(path), name, source, "fichier")
    cols = detect_columns(list(df.columns))
    # a plain list of communes: no CPTS column
    if cols["code"] is None and cols["name"] is None:
        if len(df.columns) != 1:
            raise MembersError(
                "colonne des communes introuvable (attendu code_insee / code / commune) ; colonnes trouvées : "
                + ", ".join(map(str, df.columns)), source)
        # no header: the first line is a commune
        header = str(df.columns[0])
        file_rows = [df.attrs.get("header_row") or 1, *source_rows(df)]
        p = _from_values([header, *df.iloc[:, 0].tolist()], None, name or _file_title(path), source, "fichier", "ligne")
        remap = dict(enumerate(file_rows, start=2))  # a frame's rows are numbered from 2
        p.report["source_row"] = p.report["source_row"].map(remap)
        p.members["source_row"] = p.members["source_row"].map(remap)
        return p
    frame = df.copy()
    frame.insert(0, "cpts", name or _file_title(path))
    frame.attrs = {}
    m = _read_frame(frame.reset_index(drop=True), source)
    # keep the file's row numbers (title and blank lines skipped by the reader)
    rows = dict(enumerate(source_rows(df), start=2))
    m["source_row"] = m["source_row"].map(rows)
    m.attrs["report"]["source_row"] = m.attrs["report"]["source_row"].map(rows)
    return _from_members(m, name, source, "fichier")


def read_existing(existing: object) -> pd.DataFrame:
    """Members frame of the existing listing (path, members frame or Diagnosis), cities expanded."""
    if hasattr(existing, "members") and hasattr(existing, "perimeters"):
        m = existing.members.copy()
        m.attrs = {"source": existing.meta.get("listing"), "report": getattr(existing, "report", None)}
    elif isinstance(existing, pd.DataFrame) and {"cpts", "code"} <= set(existing.columns):
        m = existing.copy()
        m.attrs = dict(existing.attrs)
    else:
        m = read_members(existing)
        if m.empty:  # a listing file in which nothing is recognised is an error, not an empty listing
            first = m.attrs["refused"].head(3)
            raise MembersError("aucune commune reconnue dans la liste des CPTS existantes : " + " ; ".join(
                f"ligne {r.source_row} : {r.message}" for r in first.itertuples()), m.attrs.get("source"))
    src = m.attrs.get("source")
    m = expand_cities(m.dropna(subset=["code"]))
    m.attrs.setdefault("source", src)
    return m
