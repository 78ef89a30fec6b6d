"""Reading CPTS listings (which commune belongs to which CPTS) in the forms they really come in.

Supported inputs (:func:`read_members`):

* long table, one row per CPTS × commune (CSV with any separator / encoding, XLSX on any sheet);
* wide table, one row per CPTS with its communes in one cell, separated by ``;``, ``,``, line
  breaks or spaces (codes) — names are kept whole;
* JSON: a list of records (long or wide, a list value is a list of communes), or an object
  ``{cpts: [communes]}``;
* GeoJSON / GeoPackage / Shapefile of drawn CPTS polygons: a commune is assigned to a CPTS when at
  least ``threshold`` (default 50 %) of its area lies in the polygon; communes cut between 5 % and
  95 % are reported in ``attrs["cut_units"]``.

Every commune value goes through :func:`cpts_geo.normalise_codes` (obsolete codes, lost leading
zeros, names, postal codes); the report of every input, kept, converted or refused, is in
``attrs["report"]``. Paris, Lyon and Marseille: when a listing names arrondissements of a city, the
whole-city code in that listing stands for all its arrondissements (:func:`expand_cities`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.errors

from cpts_geo import fr, reference
from cpts_geo._checks import expect_codes, expect_int, expect_number, expect_source, expect_text
from cpts_geo.codes import normalise_codes
from cpts_geo.errors import LimitError, MembersError
from cpts_geo.io.limits import ReadLimits, exceeded, resolve
from cpts_geo.io.tables import (
    SHEET_SUFFIXES,
    cell_text,
    check_file,
    clean_code,
    clean_text,
    column_key,
    find_column,
    json_records,
    list_layers,
    read_geofile,
    read_json,
    read_sheets,
    read_table,
    source_rows,
    stray_note,
)
from cpts_geo.postcodes import apply_code_type, doubts_to_show, postal_share
from cpts_geo.postcodes import doubts as postcode_doubts
from cpts_geo.rules import STAGES

#: default share of a commune's area a drawn polygon must hold to include it
AREA_THRESHOLD = 0.5
#: communes whose share in a polygon lies between these bounds are reported as cut
CUT_BOUNDS = (0.05, 0.95)

MEMBER_COLUMNS = ["cpts", "code", "stage", "date", "source_row", "input", "status"]


# ------------------------------------------------------------------------------------------
# Column detection
# ------------------------------------------------------------------------------------------

_CPTS_KEYS = ("cpts", "nom cpts", "cpts nom", "nom de la cpts", "libelle cpts", "communaute")
_CODE_KEYS = (
    "code insee", "code", "insee", "codgeo", "depcom", "code commune", "code commune insee",
    "cog", "com", "codes insee", "codes", "code geo", "code officiel geographique",
)
_NAME_KEYS = ("commune", "communes", "nom commune", "libelle commune", "libgeo", "nom de la commune",
              "liste des communes", "communes membres", "nom com", "ville")
_DEP_KEYS = ("dep", "departement", "dept", "dpt", "code departement", "code dep", "num dep")
_STAGE_KEYS = ("stage", "etape", "statut", "stade", "avancement", "etat", "etat d avancement", "phase",
               "etat avancement", "niveau d avancement", "status")
_DATE_KEYS = ("date", "date signature", "date de signature", "date aci", "date de validation")
#: a column / JSON key listing the municipal arrondissements of Paris, Lyon or Marseille a CPTS covers
_ARR_KEYS = ("arrondissements", "arrondissement", "arrondissements municipaux", "arrondissement municipal",
             "arrdts", "arrdt", "arr")


def _find(columns: list, keys: Iterable[str], exclude: Iterable[object] = ()) -> str | None:
    return find_column(columns, keys, exclude=[c for c in exclude if c is not None])


def detect_columns(columns: list, cpts_col: str | None = None, code_col: str | None = None) -> dict:
    """Guess the role of each column: cpts, code, name, dep, stage, date (None when absent)."""
    cols = list(columns)
    out: dict[str, str | None] = {
        role: None if given is None else find_column(cols, given=given, error=MembersError)
        for role, given in (("cpts", cpts_col), ("code", code_col))}
    if out["cpts"] is None:
        out["cpts"] = _find(cols, _CPTS_KEYS) or next(
            (c for c in cols if "cpts" in column_key(c).split() and not {"code", "id", "siret", "finess"} & set(column_key(c).split())),
            None,
        )
    if out["code"] is None:
        out["code"] = _find(cols, _CODE_KEYS, exclude=[out["cpts"]]) or next(
            (c for c in cols if ("insee" in column_key(c) or "codgeo" in column_key(c)) and c != out["cpts"]), None
        )
    used = {out["cpts"], out["code"]}
    out["name"] = _find(cols, _NAME_KEYS, exclude=used)
    if out["cpts"] is None:  # "nom" / "name" alone means the CPTS name
        out["cpts"] = _find(cols, ("nom", "name", "libelle", "structure"), exclude=used)
    used |= {out["cpts"], out["name"]}
    out["dep"] = _find(cols, _DEP_KEYS, exclude=used)
    out["stage"] = _find(cols, _STAGE_KEYS, exclude=used)
    out["date"] = _find(cols, _DATE_KEYS, exclude=used) or next(
        (c for c in cols if "date" in column_key(c).split() and c not in used), None
    )
    out["arr"] = _find(cols, _ARR_KEYS, exclude=used | {out["dep"], out["stage"], out["date"]})
    return out


# ------------------------------------------------------------------------------------------
# CPTS names
# ------------------------------------------------------------------------------------------


def name_key(name: str) -> str:
    """The key under which two spellings of a CPTS name are the same CPTS: case, accents,
    punctuation and spaces (no-break, doubled, zero-width) ignored.

    >>> name_key("CPTS du Lubéron") == name_key("cpts  du  LUBERON") == name_key("CPTS du Lub\\u200beron")
    True
    >>> name_key("CPTS Nord") == name_key("CPTS Sud")
    False
    """
    text = unicodedata.normalize("NFKD", clean_text(str(name)))
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[\W_]+", " ", text).split())


def merge_spellings(names: Iterable[str]) -> tuple[list[str], dict[str, list[str]]]:
    """One spelling per CPTS: names equal under :func:`name_key` (« CPTS du Lubéron », « CPTS
    du Luberon », « cpts du luberon ») are one CPTS, written as its most frequent spelling (the
    first seen on a tie). cpts_geo merges them rather than refusing the listing: a listing typed
    by hand often writes one CPTS two ways, while two different CPTS are not named that close;
    the merge is always said (:func:`_merge_notes`).

    Returns the names with the chosen spellings, and chosen spelling → every spelling met (in
    order of first appearance), for the CPTS written more than one way.

    >>> merge_spellings(["CPTS Lubéron", "CPTS Luberon", "CPTS Lubéron", "CPTS Nord"])
    (['CPTS Lubéron', 'CPTS Lubéron', 'CPTS Lubéron', 'CPTS Nord'], {'CPTS Lubéron': ['CPTS Lubéron', 'CPTS Luberon']})
    """
    names = list(names)
    counts: dict[str, dict[str, int]] = {}
    keys = {}
    for n in names:
        k = keys.get(n)
        if k is None:
            k = keys[n] = name_key(n)
        spell = counts.setdefault(k, {})
        spell[n] = spell.get(n, 0) + 1
    chosen = {k: max(sp, key=lambda s, sp=sp: sp[s]) for k, sp in counts.items()}  # first seen wins a tie
    merges = {chosen[k]: list(sp) for k, sp in counts.items() if len(sp) > 1}
    if not merges:
        return names, {}
    return [chosen[keys[n]] for n in names], merges


def _merge_notes(merges: dict[str, list[str]]) -> list[str]:
    """French notes of the CPTS names merged by :func:`merge_spellings`."""
    return [f"CPTS « {c} » écrite de {len(sp)} façons, lues comme une seule CPTS (casse, accents, espaces ou "
            f"ponctuation seuls diffèrent) : {', '.join(f'« {s} »' for s in sp)}" for c, sp in merges.items()]


# ------------------------------------------------------------------------------------------
# Stages
# ------------------------------------------------------------------------------------------


def normalise_stage(value: object) -> str | None:
    """Canonical stage (one of :data:`STAGES`) of a free-text stage, or the text itself when not
    recognised, or None when empty. "ACI signé", "contrat signé" → "ACI signé"; "LI validée" →
    "lettre d'intention validée"; "projet de santé" → "projet de santé validé"; "émergence" →
    "pré-projet"."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    text = str(value).strip()
    if not text:
        return None
    k = column_key(text)
    words = set(k.split())
    if "aci" in words or "signe" in words or "signee" in words or "contrat" in words or "fonctionnement" in words:
        return STAGES[3]
    if "projet de sante" in k or k in ("ps", "ps valide"):
        return STAGES[2]
    if "lettre" in words or "intention" in words or k in ("li", "li validee", "li valide"):
        return STAGES[1]
    if "pre projet" in k or "preprojet" in k or "emergence" in k or "amorcage" in k:
        return STAGES[0]
    return text


def stage_rank(stage: object) -> int:
    """Rank 1-4 of a canonical stage, 0 for an unknown or missing one."""
    return STAGES.index(stage) + 1 if stage in STAGES else 0


# ------------------------------------------------------------------------------------------
# Paris, Lyon, Marseille
# ------------------------------------------------------------------------------------------


def arrondissement_cities(codes: Iterable[str]) -> frozenset[str]:
    """Cities (75056, 69123, 13055) of which at least one arrondissement is in ``codes``
    (:func:`cpts_geo.reference.plm_cities`)."""
    return reference.plm_cities(codes)


def expand_cities(members: pd.DataFrame) -> pd.DataFrame:
    """Replace whole-city rows by one row per arrondissement for each city whose arrondissements
    appear in ``members`` (the listing works at arrondissement level there). Idempotent; the rows
    added keep the source row and input of the city row and get status ``city_expanded``."""
    codes = members["code"].to_numpy(dtype=object)
    cities = arrondissement_cities(codes)
    if not cities:
        return members
    hit = np.isin(codes, list(cities))
    if not hit.any():
        return members
    hit = pd.Series(hit, index=members.index)
    pairs = reference.plm_expand(codes[hit.to_numpy()], cities)
    ex = members[hit].iloc[pairs["row"].to_numpy()].reset_index(drop=True)
    ex["code"] = pairs["unit"].to_numpy()
    ex["status"] = "city_expanded"
    out = pd.concat([members[~hit], ex], ignore_index=True)
    out = out.sort_values(["source_row", "code"], kind="stable").reset_index(drop=True)
    out.attrs = dict(members.attrs)
    return out


# ------------------------------------------------------------------------------------------
# Reading
# ------------------------------------------------------------------------------------------

_SEP_RE = re.compile(r"[;,\n\r\t|]+")
_CODES_ONLY_RE = re.compile(r"^\s*(?:[0-9][0-9AaBb]\d{2,3}\s+)+[0-9][0-9AaBb]\d{2,3}\s*$")


def split_cell(cell: object) -> list[str]:
    """Communes of a wide-table cell: split on ``;`` ``,`` ``|`` tabs and line breaks, and on spaces
    between codes ("04001 04009"); names with spaces ("Saint-Michel l'Observatoire") stay whole."""
    if isinstance(cell, (list, tuple)):
        return [str(x).strip() for x in cell if str(x).strip()]
    if cell is None or (isinstance(cell, float) and np.isnan(cell)):
        return []
    out = []
    for piece in _SEP_RE.split(str(cell)):
        piece = piece.strip()
        if not piece:
            continue
        out.extend(piece.split() if _CODES_ONLY_RE.match(piece) else [piece])
    return out


#: names whose presence in a row marks the header row of a listing (title lines above are skipped)
HEADER_HINTS = (*_CPTS_KEYS, *_CODE_KEYS, *_NAME_KEYS)


_ROLES = ("cpts", "code", "name", "dep", "stage", "date", "arr")

_ARR_NUMBER_RE = re.compile(r"^\s*(\d{1,2})\s*(?:er|e|eme|ème|è|°)?(?:\s+arr\w*\.?)?\s*$", re.IGNORECASE)
_CITY_KEYS = {"paris": "75056", "lyon": "69123", "marseille": "13055"}


def _city_of_value(value: str) -> str | None:
    """The PLM city code a commune value designates (``13055``, « Marseille »…), else None."""
    code = clean_code(value)
    if code in reference.PLM_CITIES:
        return code
    return _CITY_KEYS.get(column_key(value))


def _arrondissement_values(values: list[str], arr_values: list[str], source: str,
                           row: int) -> tuple[list[str], list[tuple[str, str]]]:
    """A record's communes with its ``arrondissements`` applied: each arrondissement given by its
    INSEE code (13203), its name (« Marseille 3e Arrondissement ») or its number (3, « 3e », with
    the city among the record's communes); the city itself is then left out of the record (the
    CPTS covers those arrondissements, not the whole city). Returns the communes kept and the
    arrondissements as (value to normalise, value as given)."""
    cities = [c for c in (_city_of_value(v) for v in values) if c]
    out_arr = []
    for a in arr_values:
        m = _ARR_NUMBER_RE.match(a)
        if m is None:  # a code or a name: its arrondissement code when it names one, else as given
            code = normalise_codes([a])["code"].iloc[0]
            out_arr.append((code if isinstance(code, str) and reference.plm_cities([code]) else a, a))
            continue
        if len(set(cities)) != 1:
            raise MembersError(f"arrondissement « {a} » donné par son numéro : indiquer sa ville (Paris, Lyon ou "
                               "Marseille) parmi les communes de la CPTS, ou son code INSEE (ex. 13203)", source, row, a)
        arrs = reference.plm_arrondissements(cities[0])
        n = int(m.group(1))
        if not 1 <= n <= len(arrs):
            raise MembersError(f"{reference.PLM_CITIES[cities[0]]} n'a pas d'arrondissement n° {n} "
                               f"(1 à {len(arrs)})", source, row, a)
        out_arr.append((arrs[n - 1], a))
    covered = set(reference.plm_cities([v for v, _ in out_arr]))
    kept = [v for v in values if _city_of_value(v) not in covered]
    return kept, out_arr


def _read_table(path: Path, sheet: str | int | None, header_row: int | None = None,
                limits: ReadLimits | None = None) -> tuple[pd.DataFrame, str | None]:
    """The listing table of a file: the given sheet, else every sheet with a CPTS column and a
    commune column (one listing sheet per department is common), stacked with their columns
    aligned by role (``attrs["sheets"]``: sheets read, ``attrs["row_sheets"]``: sheet of each row);
    the first sheet when none looks like a listing."""
    if path.suffix.lower() not in SHEET_SUFFIXES or sheet is not None:
        df = read_table(path, sheet, header_row=header_row, hints=HEADER_HINTS, error=MembersError, limits=limits)
        return df, df.attrs.get("sheet")
    sheets = read_sheets(path, header_row=header_row, hints=HEADER_HINTS, error=MembersError, limits=limits)
    hidden = next(iter(sheets.values())).attrs.get("sheets_hidden") or []
    listings = {}
    for name, df in sheets.items():
        cols = detect_columns(list(df.columns))
        if cols["cpts"] is not None and (cols["code"] or cols["name"]):
            listings[name] = (df, cols)
    if not listings:
        name, df = next(iter(sheets.items()))
        return df, name
    ignored = [n for n in sheets if n not in listings]
    if len(listings) == 1:
        name, (df, _) = next(iter(listings.items()))
        df.attrs["sheets"] = [name]
        df.attrs["sheets_ignored"] = ignored
        df.attrs["sheets_hidden"] = hidden
        return df, name
    # the column name of each role: the first sheet's that has one
    canon = {r: next((c[r] for _, c in listings.values() if c[r] is not None), None) for r in _ROLES}
    frames, rows, row_sheets, blank = [], [], [], 0
    for name, (df, cols) in listings.items():
        rename = {cols[r]: canon[r] for r in _ROLES if cols[r] is not None}
        frames.append(df[list(rename)].rename(columns=rename))
        rows += source_rows(df)
        row_sheets += [name] * len(df)
        blank += df.attrs.get("blank_rows", 0)
    out = pd.concat(frames, ignore_index=True).astype(object)
    out = out.where(out.notna(), None)
    out.attrs = {"source": path.name, "rows": rows, "row_sheets": row_sheets, "blank_rows": blank,
                 "sheets": list(listings), "sheets_ignored": ignored, "sheets_hidden": hidden}
    return out, ", ".join(listings)


def _records_from_json(data: object, source: str, limits: ReadLimits) -> pd.DataFrame:
    if isinstance(data, dict):
        for k in ("cpts", "data", "records", "items", "listing"):
            if isinstance(data.get(k), list):
                return _records_from_json(data[k], source, limits)
        if all(isinstance(v, (list, str)) for v in data.values()):
            return json_records([{"cpts": k, "communes": v} for k, v in data.items()], source,
                                error=MembersError, limits=limits)
        raise MembersError("JSON non reconnu : attendu une liste d'enregistrements ou {cpts: [communes]}", source)
    if isinstance(data, list):
        if not data:
            raise MembersError("fichier vide", source)
        return json_records(data, source, error=MembersError, limits=limits)
    raise MembersError("JSON non reconnu", source)


def read_members(
    source: str | Path | pd.DataFrame,
    cpts_col: str | None = None,
    code_col: str | None = None,
    name_col: str | None = None,
    dep_col: str | None = None,
    stage_col: str | None = None,
    date_col: str | None = None,
    sheet: str | int | None = None,
    threshold: float = AREA_THRESHOLD,
    header_row: int | None = None,
    cog_year: int | None = None,
    area: Iterable[str] | None = None,
    code_type: str = "auto",
    *,
    limits: ReadLimits | None = None,
) -> pd.DataFrame:
    """Read a CPTS listing into one row per (CPTS × unit) in COG 2026.

    ``code_type``: "auto" refuses a listing whose codes look like postcodes (13001…13016, Corsican
    20xxx), "postal" reads them as postcodes (each → every commune it serves, listed in
    ``attrs["postcodes"]``), "insee" reads them as INSEE codes (:mod:`cpts_geo.postcodes`). In
    "auto", each code kept as an INSEE code that is also the postcode of other communes (13001: Aix-
    en-Provence, and the postcode of Marseille 1er) is flagged: ``attrs["postcode_doubts"]`` (code →
    French note), the note in its report row's ``message`` and ``postcode_doubt`` True.

    ``cog_year``: COG year the listing's codes are written in (e.g. 2024); they are converted to
    COG 2026 (a commune split since covers all its current parts), see
    :func:`cpts_geo.normalise_codes`. Default: codes read in COG 2026.

    Columns: ``cpts``, ``code`` (commune, or arrondissement where the listing works at that level),
    ``stage`` (canonical :data:`STAGES` label when recognised), ``date``, ``source_row`` (row in the
    file as a spreadsheet numbers it: header = 1; feature or record number for JSON / GIS files),
    ``input`` (value as given), ``status``. ``attrs``: ``report`` (every input, kept, converted or
    refused, with a French message), ``refused``, ``converted``, ``duplicates``, ``cut_units``
    (drawn polygons), ``columns`` (detected roles), ``ignored_columns`` (columns or JSON keys
    holding values that no role reads), ``source``, ``cog``, ``population_year``.
    Tables are read by :func:`cpts_geo.io.read_table` (any encoding and separator, title lines
    above the header skipped; ``header_row`` forces the 1-based header row).
    A commune name shared by several communes is chosen from its context (``area``: departments
    of the analysed area, then the other communes of the same CPTS, then of the listing) and the
    choice reported; see :func:`cpts_geo.normalise_codes`.
    CPTS names are read with Unicode normalised (NFKC) and invisible characters removed; names
    equal but for case, accents, spaces or punctuation (« CPTS du Lubéron », « cpts du luberon »)
    are one CPTS, written as its most frequent spelling, and the merge is said in
    ``attrs["notes"]`` and ``attrs["name_merges"]`` (:func:`merge_spellings`). A row or a feature
    without a CPTS name is refused naming it. Drawn polygons: the features of one CPTS are united
    before the area rule. Reading notes (``attrs["notes"]``, shown as « Lecture » in the
    summary): sheets read and left (hidden sheets are never read unless ``sheet`` names one),
    bytes of a UTF-8 file read as Windows-1252, merged spellings, repaired polygons.

    ``limits`` (:class:`cpts_geo.io.limits.ReadLimits`; default
    :func:`cpts_geo.io.limits.current_limits`, the defaults changed by the environment variable
    ``CPTS_GEO_LIMITS``) bounds the file size, rows, cells, characters per cell, sheets,
    features and a workbook's decompressed size; beyond them :class:`cpts_geo.errors.LimitError`
    names the limit and how to raise it.

    Raises :class:`MembersError` (a ValueError) naming file, row and value on unreadable input.
    """
    expect_source(source, "source")
    for _col, _label in ((cpts_col, "cpts_col"), (code_col, "code_col"), (name_col, "name_col"),
                         (dep_col, "dep_col"), (stage_col, "stage_col"), (date_col, "date_col")):
        expect_text(_col, _label, optional=True)
    if sheet is not None and not isinstance(sheet, int):
        expect_text(sheet, "sheet")
    expect_number(threshold, "threshold", minimum=0, maximum=1, strict=True)
    expect_int(header_row, "header_row", optional=True, minimum=0)
    expect_codes(area, "area", optional=True)
    expect_text(code_type, "code_type")
    limits = resolve(limits)
    name = "tableau" if isinstance(source, pd.DataFrame) else Path(source).name
    sheet_used = None
    if isinstance(source, pd.DataFrame):
        if isinstance(source, gpd.GeoDataFrame) and source.geometry.notna().any():
            return _from_polygons(source, name, cpts_col, stage_col, date_col, threshold)
        df = source.copy()
        row0 = 2
    else:
        path = check_file(source, MembersError, limits)
        suffix = path.suffix.lower()
        data = read_json(path, error=MembersError, limits=limits) if suffix == ".json" else None
        if suffix in (".geojson", ".gpkg", ".shp", ".fgb") or (
                isinstance(data, dict) and data.get("type") in ("FeatureCollection", "Feature")):
            # a FeatureCollection saved as .json is read the same way as a .geojson
            gdf = read_drawn_polygons(path, sheet, name, cpts_col, limits=limits)
            out = _from_polygons(gdf, name, cpts_col, stage_col, date_col, threshold)
            if gdf.attrs.get("layers"):
                out.attrs["layers"] = gdf.attrs["layers"]
                out.attrs["layers_ignored"] = gdf.attrs["layers_ignored"]
                out.attrs["notes"] = [_layers_note(gdf.attrs)] + out.attrs["notes"]
            return out
        if suffix == ".json":
            df = _records_from_json(data, name, limits)
            row0 = 1
        else:
            df, sheet_used = _read_table(path, sheet, header_row, limits)
            row0 = 2
    if df.empty or len(df.columns) == 0:
        raise MembersError("fichier vide (aucune ligne de données)", name)
    cpts_col, code_col = (None if g is None else find_column(df.columns, given=g, source=name, error=MembersError)
                          for g in (cpts_col, code_col))
    cols = detect_columns(list(df.columns), cpts_col, code_col)
    for role, given in (("name", name_col), ("dep", dep_col), ("stage", stage_col), ("date", date_col)):
        if given is not None:
            cols[role] = find_column(df.columns, given=given, source=name, error=MembersError)
    if cols["cpts"] is None:
        raise MembersError(
            "colonne du nom de CPTS introuvable (attendu cpts / nom / name, ou cpts_col=) ; colonnes trouvées : "
            + ", ".join(map(str, df.columns)), name)
    if cols["code"] is None and cols["name"] is None:
        raise MembersError(
            "colonne des communes introuvable (attendu code / code_insee / codgeo / insee / commune, ou code_col=) ; "
            "colonnes trouvées : " + ", ".join(map(str, df.columns)), name)
    entries = _entries(df, cols, name, row0)
    entries, postcodes = apply_code_type(entries, code_type, name)
    names_given = _names_given(entries)
    share = postal_share(entries["input"].to_numpy(object)) if code_type == "auto" else 0.0
    entries = entries.drop(columns="name_given", errors="ignore")
    out = _finish(entries, name, cols, cog_year=cog_year, area=area)
    out.attrs["postcodes"] = postcodes
    out.attrs["postcode_doubts"] = _flag_postcode_doubts(out.attrs["report"]) if code_type == "auto" else {}
    out.attrs["postcode_doubts_shown"] = doubts_to_show(out.attrs["postcode_doubts"], column=cols["code"],
                                                        names_given=names_given, share=share)
    # columns (or JSON keys) given but not read: said, never silently left out
    used = {str(c) for c in cols.values() if c is not None}
    out.attrs["ignored_columns"] = [str(c) for c in df.columns if str(c) not in used
                                    and any(v is not None and v != "" and v != [] for v in df[c].tolist())]
    notes = []
    if sheet_used is not None:
        out.attrs["sheet"] = sheet_used
        out.attrs["sheets"] = df.attrs.get("sheets", [sheet_used])
        ignored = df.attrs.get("sheets_ignored") or []
        hidden = df.attrs.get("sheets_hidden") or []
        out.attrs["sheets_hidden"] = list(hidden)
        if len(out.attrs["sheets"]) > 1 or ignored or hidden:  # several sheets: say which were read
            note = f"{fr.plural(len(out.attrs['sheets']), 'feuille lue', 'feuilles lues')} : {fr.enumeration(out.attrs['sheets'])}"
            if ignored:
                note += (f" ; {fr.plural(len(ignored), 'feuille ignorée', 'feuilles ignorées')} (pas de colonne "
                         f"de CPTS et de communes) : {fr.enumeration(ignored)}")
            if hidden:
                note += (f" ; {fr.plural(len(hidden), 'feuille masquée non lue', 'feuilles masquées non lues')} "
                         f": {fr.enumeration(hidden)} (pour la lire : sheet=)")
            notes.append(note)
    stray = df.attrs.get("stray_bytes") or ()
    if stray:
        notes.append(stray_note(stray))
    out.attrs["stray_bytes"] = list(stray)
    out.attrs["name_merges"] = entries.attrs.get("name_merges") or {}
    notes += _merge_notes(out.attrs["name_merges"])
    if notes:
        out.attrs["notes"] = notes
    return out


def _text(v: object) -> str | None:
    """A cell as text (:func:`cpts_geo.io.cell_text`: Unicode normalised, invisible characters
    removed), None when empty or NaN; a list joined by « ; »."""
    if isinstance(v, (list, tuple)):
        return "; ".join(map(str, v)) if v else None
    return cell_text(v)


def _entries(df: pd.DataFrame, cols: dict, source: str, row0: int) -> pd.DataFrame:
    """One entry per commune value of the table (long or wide)."""
    rows = []
    blank = df.attrs.get("blank_rows", 0)
    row_sheets = df.attrs.get("row_sheets") or [None] * len(df)
    file_rows = source_rows(df, row0)
    plain = df.copy(deep=False)
    plain.attrs = {}  # pandas deep-copies attrs (a list of every file row) at each column access
    for row, sheet, rec in zip(file_rows, row_sheets, plain.to_dict("records"), strict=True):
        cpts = _text(rec.get(cols["cpts"]))
        code_v = rec.get(cols["code"]) if cols["code"] else None
        name_v = rec.get(cols["name"]) if cols["name"] else None
        if not isinstance(code_v, (list, tuple)):  # 4088.0, "4088,0", ="04088" given in a frame
            code_v = cell_text(code_v)
        values = split_cell(code_v) if _text(code_v) else []
        # the commune name written beside a single code: it confirms or contradicts a code that
        # is also a postcode (postcodes.doubts_to_show); never read as the commune
        name_given = _text(name_v) if len(values) == 1 else None
        use_dep = True
        if not values and _text(name_v):
            values = split_cell(name_v) if isinstance(name_v, (list, tuple)) or _SEP_RE.search(str(name_v)) else [str(name_v).strip()]
        arr_v = rec.get(cols["arr"]) if cols.get("arr") else None
        given = {}
        if _text(arr_v):
            values, arr_codes = _arrondissement_values(values, split_cell(arr_v), source, row)
            given = {len(values) + i: g for i, (_, g) in enumerate(arr_codes)}
            values = values + [v for v, _ in arr_codes]
        if len(values) > 1:
            use_dep = False  # a department column of a wide row is ambiguous per value
        if cpts is None:
            if values or any(_text(v) for v in rec.values()):
                raise MembersError("nom de CPTS manquant", source, row, values[0] if values else _text(next(
                    (v for v in rec.values() if _text(v)), None)))
            blank += 1
            continue
        cpts = re.sub(r"\s+", " ", cpts)
        dep = _text(rec.get(cols["dep"])) if cols["dep"] and use_dep else None
        stage_in = _text(rec.get(cols["stage"])) if cols["stage"] else None
        date_in = _text(rec.get(cols["date"])) if cols["date"] else None
        if not values:
            values = [None]
        for i, v in enumerate(values):
            rows.append({"cpts": cpts, "input": v, "dep": dep, "stage_input": stage_in,
                         "date_input": date_in, "source_row": row, **({"sheet": sheet} if sheet else {}),
                         **({"name_given": name_given} if name_given else {}),
                         **({"given": given[i]} if i in given else {})})
    if not rows:
        raise MembersError("fichier vide (aucune ligne de données)", source)
    out = pd.DataFrame(rows)
    out["cpts"], merges = merge_spellings(out["cpts"].tolist())
    out.attrs["blank_rows"] = blank
    out.attrs["name_merges"] = merges
    return out


def _parse_dates(values: pd.Series, rows: pd.Series, source: str) -> pd.Series:
    iso = values.astype("string").str.match(r"^\d{4}-\d{2}-\d{2}").fillna(False).to_numpy(dtype=bool)
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    if iso.any():
        out[iso] = pd.to_datetime(values[iso], errors="coerce", format="ISO8601")
    if (~iso).any():
        out[~iso] = pd.to_datetime(values[~iso], errors="coerce", dayfirst=True, format="mixed")
    bad = values.notna() & out.isna()
    if bad.any():
        i = bad.to_numpy().nonzero()[0][0]
        raise MembersError("date illisible", source, int(rows.iloc[i]), values.iloc[i])
    return out


def _names_given(entries: pd.DataFrame) -> dict[str, list[str]]:
    """Code as written → the commune names written beside it (rows of one code and a name)."""
    if "name_given" not in entries.columns:
        return {}
    out: dict[str, list[str]] = {}
    for v, n in zip(entries["input"].to_numpy(object), entries["name_given"].to_numpy(object), strict=True):
        if isinstance(v, str) and isinstance(n, str):
            out.setdefault(v.strip(), []).append(n)
    return out


def _flag_postcode_doubts(rep: pd.DataFrame) -> dict[str, str]:
    """Codes read as INSEE codes that are also postcodes of other communes: the note goes into
    the report row's message and ``postcode_doubt``; returns code → note."""
    inputs = [v.strip() if isinstance(v, str) else None for v in rep["input"].to_numpy(object)]
    notes = postcode_doubts(inputs)
    rep["postcode_doubt"] = False
    if notes:
        hit = np.array([v in notes and v == c for v, c in zip(inputs, rep["code"].to_numpy(object), strict=True)],
                       dtype=bool)
        rep.loc[hit, "postcode_doubt"] = True
        rep.loc[hit, "message"] = [((m + " ; ") if isinstance(m, str) and m else "") + notes[c]
                                   for m, c in zip(rep.loc[hit, "message"], rep.loc[hit, "code"], strict=True)]
        kept = set(rep.loc[hit, "code"])
        notes = {c: n for c, n in notes.items() if c in kept}
    return notes


def _finish(entries: pd.DataFrame, source: str, cols: dict, statuses: pd.DataFrame | None = None,
            cog_year: int | None = None, area: Iterable[str] | None = None) -> pd.DataFrame:
    if statuses is None:
        norm = normalise_codes(entries["input"].tolist(), entries["dep"].tolist(), cog_year=cog_year,
                               groups=entries["cpts"].tolist(), area=area)
        rep = entries.reset_index(drop=True).assign(
            code=norm["code"].to_numpy(), status=norm["status"].to_numpy(), message=norm["message"].to_numpy(),
            nom=norm["nom"].to_numpy(), _codes=norm["codes"].to_numpy(),
        )
        if "given" in rep.columns:  # arrondissements given by number: the report shows the value as given
            rep["input"] = rep["given"].where(rep["given"].notna(), rep["input"])
            rep = rep.drop(columns="given")
        # a code read in an older COG may cover several current communes (all parts of a split)
        if (rep["_codes"].map(len) > 1).any():
            rep = rep.explode("_codes", ignore_index=True)
            rep["code"] = rep["_codes"].where(rep["_codes"].notna(), rep["code"])
            rep["nom"] = rep["code"].map(reference.load_communes().set_index("code")["nom"])
        rep = rep.drop(columns="_codes")
    else:
        rep = entries.reset_index(drop=True).join(statuses.reset_index(drop=True))
    rep["stage"] = rep["stage_input"].map(normalise_stage)
    rep["date"] = _parse_dates(rep["date_input"], rep["source_row"], source)
    # the whole-city code means all arrondissements when the listing names some of them
    cities = arrondissement_cities(rep["code"].dropna())
    expanded = {}
    if cities:
        for city in cities:
            hit = rep["code"] == city
            if hit.any():
                n = len(reference.plm_arrondissements(city))
                rep.loc[hit, "message"] = rep.loc[hit, "message"].fillna("") + (
                    f" ; la liste décrit {reference.PLM_CITIES[city]} par arrondissements : la ville entière "
                    f"compte pour ses {n} arrondissements").lstrip(" ;")
                expanded[city] = sorted(rep.loc[hit, "cpts"].unique().tolist())
    if "sheet" in rep.columns:  # several sheets: sheet by sheet, in the workbook's order
        rank = rep["sheet"].map({n: i for i, n in enumerate(dict.fromkeys(rep["sheet"]))})
        rep = rep.assign(_rank=rank).sort_values(["_rank", "source_row"], kind="stable").drop(columns="_rank")
        rep = rep.reset_index(drop=True)
    else:
        rep = rep.sort_values(["source_row"], kind="stable").reset_index(drop=True)
    rep["duplicate"] = rep["code"].notna() & rep.duplicated(["cpts", "code"], keep="first")
    members = rep[rep["code"].notna() & ~rep["duplicate"]][
        ["cpts", "code", "stage", "date", "source_row", "input", "status"]].copy()
    members["input"] = members["input"].astype(object)
    members = expand_cities(members)
    members = members.drop_duplicates(["cpts", "code"], keep="first").reset_index(drop=True)
    # one stage per CPTS: the most advanced one given
    conflicts = {}
    st = members.dropna(subset=["stage"])
    if not st.empty:
        best = {}
        for cpts, g in st.groupby("cpts"):
            vals = sorted(set(g["stage"]), key=lambda s: (stage_rank(s), s))
            best[cpts] = vals[-1]
            if len(vals) > 1:
                conflicts[cpts] = vals
        members["stage"] = members["cpts"].map(best)
    members["stage"] = members["stage"].astype(object)
    members = members[MEMBER_COLUMNS]
    refused_rep = rep[rep["code"].isna()]
    where = ["sheet", "source_row"] if "sheet" in rep.columns else ["source_row"]  # rows of several sheets
    converted = rep[rep["status"].isin(["converted", "zero_padded", "name"])]
    if converted.duplicated([*where, "cpts", "input"]).any():
        # one report row per input: a code read in an older COG may cover several communes
        converted = converted.groupby([*where, "cpts", "input"], sort=False, as_index=False).agg(
            code=("code", ", ".join), status=("status", "first"), message=("message", "first"))
    members.attrs = {
        "source": source,
        "columns": {k: (None if v is None else str(v)) for k, v in cols.items()},
        "report": rep,
        "refused": refused_rep[[*where, "cpts", "input", "status", "message"]].reset_index(drop=True),
        "converted": converted[[*where, "cpts", "input", "code", "status", "message"]].reset_index(drop=True),
        "duplicates": rep[rep["duplicate"]][[*where, "cpts", "input", "code"]].reset_index(drop=True),
        "expanded_cities": expanded,
        "stage_conflicts": conflicts,
        "blank_rows": entries.attrs.get("blank_rows", 0),
        "cog": reference.COG_YEAR,
        "cog_year_read": cog_year or reference.COG_YEAR,
        "population_year": reference.POPULATION_YEAR,
    }
    return members


def _polygon_layer(kind: str | None) -> bool:
    """A layer whose declared geometry type may hold polygons (generic types included)."""
    k = (kind or "").lower()
    return "polygon" in k or "surface" in k or k.startswith(("unknown", "geometry"))


def _layer_name(layers: list[str], sheet: str | int, source: str) -> str:
    if isinstance(sheet, int) and not isinstance(sheet, bool) and 0 <= sheet < len(layers):
        return layers[sheet]
    if str(sheet) in layers:
        return str(sheet)
    raise MembersError(f"pas de couche « {sheet} » ; couches du fichier : {', '.join(layers)}", source)


def read_drawn_polygons(path: str | Path, sheet: str | int | None = None, source: str | None = None,
                        cpts_col: str | None = None, *, limits: ReadLimits | None = None) -> gpd.GeoDataFrame:
    """The drawn polygons of a GIS file: the given layer (``sheet``), else every layer of
    polygons with a CPTS column (a GeoPackage may hold one layer per department), stacked with
    their columns aligned by role, as :func:`_read_table` does for the sheets of a workbook.
    ``attrs``: ``layers`` (read, when the file has several), ``layers_ignored`` (name → reason),
    ``rows`` (feature number in its layer), ``row_sheets`` (layer of each feature). ``limits``:
    as :func:`cpts_geo.io.tables.read_geofile` (features counted over every layer read)."""
    path = Path(path)
    source = source or path.name
    limits = resolve(limits)
    if path.suffix.lower() != ".gpkg" and sheet is None:
        return read_geofile(path, source, MembersError, limits=limits)
    layers = list_layers(path, source, MembersError)
    names = [n for n, _ in layers]
    if sheet is not None:
        return read_geofile(path, source, MembersError, layer=_layer_name(names, sheet, source), limits=limits)
    if len(layers) == 1:
        return read_geofile(path, source, MembersError, layer=names[0], limits=limits)
    listings, ignored = {}, {}
    total = 0
    for name, kind in layers:
        if not _polygon_layer(kind):
            ignored[name] = "pas de polygones" if kind is None else f"géométries {kind}, pas des polygones"
            continue
        gdf = read_geofile(path, source, MembersError, layer=name, limits=limits)
        total += len(gdf)
        if total > limits.features:  # every layer counts
            raise LimitError(exceeded("features", total, limits), source, limit="features")
        cols = detect_columns([c for c in gdf.columns if c != gdf.geometry.name], cpts_col, None)
        if gdf.empty:
            ignored[name] = "couche vide"
        elif cols["cpts"] is None:
            ignored[name] = "pas de colonne de nom de CPTS"
        else:
            listings[name] = (gdf, cols)
    if not listings:
        raise MembersError(
            "aucune couche ne ressemble à une liste de CPTS (polygones avec une colonne de nom de CPTS) ; "
            "couches du fichier : " + "; ".join(f"{n} ({why})" for n, why in ignored.items())
            + " ; indiquer la couche (option --couche de coverage et map, sheet= en Python) et la colonne "
            "du nom (--cpts-col, cpts_col=)", source)
    if len(listings) == 1:
        name, (gdf, _) = next(iter(listings.items()))
        gdf.attrs = {"layers": [name], "layers_ignored": ignored}
        return gdf
    canon = {r: next((c[r] for _, c in listings.values() if c[r] is not None), None) for r in ("cpts", "stage", "date")}
    frames, rows, row_sheets = [], [], []
    for name, (gdf, cols) in listings.items():
        if gdf.crs is None:
            raise MembersError(f"couche « {name} » : système de coordonnées absent (CRS) : impossible de "
                               "situer les polygones", source)
        rename = {cols[r]: canon[r] for r in canon if cols[r] is not None}
        part = gdf[list(rename)].rename(columns=rename)
        frames.append(gpd.GeoDataFrame(part, geometry=gdf.geometry.to_crs(4326).values, crs=4326))
        rows += list(range(1, len(gdf) + 1))
        row_sheets += [name] * len(gdf)
    out = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=4326)
    out.attrs = {"layers": list(listings), "layers_ignored": ignored, "rows": rows, "row_sheets": row_sheets}
    return out


def _layers_note(attrs: dict) -> str:
    """French sentence: the layers of a GeoPackage read, and those left with their reason."""
    read = attrs["layers"]
    text = f"{fr.plural(len(read), 'couche lue', 'couches lues')} : {fr.enumeration(read)}"
    ignored = attrs.get("layers_ignored") or {}
    if ignored:
        text += (f" ; {fr.plural(len(ignored), 'couche ignorée', 'couches ignorées')} : "
                 + ", ".join(f"{n} ({why})" for n, why in ignored.items()))
    return text


#: share of the drawn area a repair may lose before another repair is preferred and said
REPAIR_TOLERANCE = 0.01

_GEOS_REASONS = {
    "Self-intersection": "le contour se recoupe", "Ring Self-intersection": "un anneau se recoupe",
    "Too few points": "trop peu de points", "Hole lies outside shell": "un trou sort du contour",
    "Nested shells": "des contours emboîtés", "Interior is disconnected": "intérieur coupé en morceaux",
    "Nested holes": "des trous emboîtés", "Duplicate Rings": "anneaux en double",
    "Invalid Coordinate": "coordonnée invalide", "Ring is not closed": "anneau non fermé",
}


def _polygonal(g: object) -> object:
    """The polygons of a geometry (a repair may leave lines or points beside them)."""
    parts = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _enclosed(rings: list) -> object:
    """Every area enclosed by ``rings`` as drawn (faces of the noded rings), each counted once."""
    if not rings:
        return shapely.Polygon()
    faces = shapely.get_parts(shapely.polygonize([shapely.union_all(rings)]))
    return shapely.union_all(faces) if len(faces) else shapely.Polygon()


def _drawn(g: object) -> object:
    """The area a drawn polygon means: enclosed by its outer rings, less what its holes enclose."""
    parts = shapely.get_parts(g)
    outer = _enclosed([shapely.get_exterior_ring(p) for p in parts])
    holes = _enclosed([h for p in parts for h in shapely.get_rings(p)[1:]])
    return outer.difference(holes) if not holes.is_empty else outer


def _reason(g: object) -> str:
    """French reason GEOS gives for an invalid geometry, with its place (degrees)."""
    why = shapely.is_valid_reason(g)
    m = re.match(r"([^\[]+)\[([-\d.eE+]+) ([-\d.eE+]+)", why)
    if not m:
        return why
    kind = _GEOS_REASONS.get(m.group(1).strip(), m.group(1).strip())
    return f"{kind} vers {fr.number(float(m.group(3)), 4)}° N, {fr.number(float(m.group(2)), 4)}° E"


def repair_polygons(geoms: np.ndarray, labels: list[str]) -> tuple[np.ndarray, list[dict]]:
    """Valid polygons for ``geoms`` (EPSG:4326): each invalid one is repaired by the method among
    make_valid « linework » (the default), make_valid « structure » and buffer(0) whose area is
    closest to the area enclosed by its outer rings as drawn (a self-overlapping ring loses its
    doubly drawn part with « linework », a bow-tie loses a lobe with buffer(0)). Returns the
    geometries and one record per repair: ``feature`` (index), ``label``, ``reason``, ``method``,
    ``area_drawn_km2``, ``area_km2`` (kept), ``areas_km2`` (method → area), ``message`` (French,
    « réparé »). Areas in the projected CRS of the zone (Lambert-93, local CRS overseas)."""
    from cpts_geo.crs import area_km2

    geoms = np.asarray(geoms, dtype=object).copy()
    records = []
    for k in np.flatnonzero(~shapely.is_valid(geoms)):
        g = geoms[k]
        cands = {
            "make_valid (méthode « linework », par défaut)": _polygonal(shapely.make_valid(g)),
            "make_valid (méthode « structure »)": _polygonal(
                shapely.make_valid(g, method="structure", keep_collapsed=False)),
            "buffer(0)": _polygonal(shapely.buffer(g, 0)),
        }
        drawn = _drawn(g)
        areas = area_km2(gpd.GeoSeries([drawn, *cands.values()], crs=4326), None).fillna(0.0).to_numpy()
        before, after = float(areas[0]), dict(zip(cands, map(float, areas[1:]), strict=True))
        method = min(cands, key=lambda m: abs(after[m] - before))  # ties: the first (the default)
        geoms[k] = cands[method]
        kept = after[method]
        text = (f"{labels[k]} : polygone invalide ({_reason(g)}), réparé par {method} ; surface entourée par "
                f"le contour dessiné {fr.km2(before)}, après réparation {fr.km2(kept)}")
        default = next(iter(cands))
        if method != default and after[default] < kept * (1 - REPAIR_TOLERANCE):
            text += f" (la réparation par défaut n'en gardait que {fr.km2(after[default])})"
        elif before > 0 and kept < before * (1 - REPAIR_TOLERANCE):
            text += f" : {fr.percent(1 - kept / before)} de la surface dessinée perdue, vérifier le contour"
        records.append({"feature": int(k), "label": labels[k], "reason": shapely.is_valid_reason(g),
                        "method": method, "area_drawn_km2": before, "area_km2": kept, "areas_km2": after,
                        "message": text})
    return geoms, records


def _from_polygons(
    gdf: gpd.GeoDataFrame, source: str, cpts_col: str | None, stage_col: str | None,
    date_col: str | None, threshold: float,
) -> pd.DataFrame:
    """Members of drawn CPTS polygons: communes with at least ``threshold`` of their area inside
    the union of the features of their CPTS (a CPTS drawn as several features, or as a grid of
    cells, is one area: :func:`union_by_cpts`). A feature without a CPTS name, without a polygon or
    with a NaN or infinite coordinate is refused naming it. Invalid polygons are repaired
    (:func:`repair_polygons`) and each repair reported (``attrs["repairs"]``, ``attrs["notes"]``)."""
    if gdf.empty:
        raise MembersError("fichier vide (aucun polygone)", source)
    cols = detect_columns([c for c in gdf.columns if c != gdf.geometry.name], cpts_col, None)
    if stage_col:
        cols["stage"] = stage_col
    if date_col:
        cols["date"] = date_col
    if cols["cpts"] is None:
        raise MembersError("colonne du nom de CPTS introuvable dans les polygones (cpts_col=)", source)
    if gdf.crs is None:
        raise MembersError("système de coordonnées absent (CRS) : impossible de situer les polygones", source)
    rows = np.asarray(gdf.attrs.get("rows") or range(1, len(gdf) + 1))
    layer_of = gdf.attrs.get("row_sheets")
    where = [f"couche {lay}, entité {r}" if layer_of else f"entité {r}"
             for r, lay in zip(rows, layer_of or [None] * len(gdf), strict=True)]
    raw_names = [_text(v) for v in gdf[cols["cpts"]].tolist()]
    _check_features(gdf.geometry.values, raw_names, rows, where, source)
    names, merges = merge_spellings(raw_names)
    geoms = gdf.geometry.to_crs(4326).values
    labels = [f"« {n} » ({w})" for n, w in zip(names, where, strict=True)]
    geoms, repairs = repair_polygons(np.asarray(geoms), labels)
    for r in repairs:
        r["cpts"] = names[r["feature"]]
    cpts_names, group_of, areas = union_by_cpts(geoms, names)
    first_of = np.full(len(cpts_names), len(gdf))
    np.minimum.at(first_of, group_of, np.arange(len(gdf)))
    ref = reference.load_communes(("commune", "arrondissement"))
    ref = ref[ref.geometry.notna()].reset_index(drop=True)
    tree = shapely.STRtree(ref.geometry.values)
    pi, ui = tree.query(areas, predicate="intersects")
    inter = shapely.intersection(areas[pi], ref.geometry.values[ui])
    from cpts_geo.crs import area_km2

    part = gpd.GeoDataFrame({"dep": ref["dep"].to_numpy()[ui]}, geometry=inter, crs=4326)
    whole = gpd.GeoDataFrame({"dep": ref["dep"].to_numpy()[ui]}, geometry=ref.geometry.values[ui], crs=4326)
    share = (area_km2(part, None) / area_km2(whole, None)).to_numpy()
    pairs = pd.DataFrame({
        "group": pi, "unit": ui, "code": ref["code"].to_numpy()[ui], "nom": ref["nom"].to_numpy()[ui],
        "share": share,
    })
    pairs = pairs[pairs["share"] > 1e-6]
    # cities: arrondissement level when a city is cut between polygons, else whole
    code = pairs["code"].to_numpy(dtype=object)
    city_of = reference.plm_collapse(code)  # the city of an arrondissement, else the code itself
    is_city = pd.Index(code).isin(list(reference.PLM_CITIES))
    cut_cities = list(set(code[is_city & (pairs["share"].to_numpy() < CUT_BOUNDS[1])]))
    in_cut = pd.Index(city_of).isin(cut_cities)
    pairs = pairs[np.where(city_of != code, in_cut, ~in_cut)]
    pairs["cpts"] = cpts_names[pairs["group"].to_numpy()]
    pairs["assigned"] = pairs["share"] >= threshold
    cut = pairs[(pairs["share"] > CUT_BOUNDS[0]) & (pairs["share"] < CUT_BOUNDS[1])]
    sel = pairs[pairs["assigned"]].sort_values(["group", "code"])
    # each commune is reported on the first feature of its CPTS that touches it
    f = _first_feature(geoms, group_of, sel["group"].to_numpy(), ref.geometry.values[sel["unit"].to_numpy()],
                       first_of)
    stage = gdf[cols["stage"]].to_numpy() if cols["stage"] else np.full(len(gdf), None)
    date = gdf[cols["date"]].to_numpy() if cols["date"] else np.full(len(gdf), None)
    entries = pd.DataFrame({
        "cpts": sel["cpts"].to_numpy(), "input": [f"{c} ({fr.percent(s, 0)} de la surface dans le polygone)" for c, s in
                                                   zip(sel["code"], sel["share"], strict=True)],
        "dep": None, "stage_input": [_text(x) for x in stage[f]], "date_input": [_text(x) for x in date[f]],
        "source_row": rows[f], **({"sheet": np.asarray(layer_of, dtype=object)[f]} if layer_of else {}),
    })
    statuses = pd.DataFrame({"code": sel["code"].to_numpy(), "status": "area_share", "message": "",
                             "nom": sel["nom"].to_numpy()})
    empty = first_of[sorted(set(range(len(cpts_names))) - set(sel["group"]))]
    if len(empty):
        extra = pd.DataFrame({"cpts": np.asarray(names, dtype=object)[empty], "input": "polygone", "dep": None,
                              "stage_input": [_text(x) for x in stage[empty]],
                              "date_input": [_text(x) for x in date[empty]], "source_row": rows[empty],
                              **({"sheet": np.asarray(layer_of, dtype=object)[empty]} if layer_of else {})})
        entries = pd.concat([entries, extra], ignore_index=True)
        statuses = pd.concat([statuses, pd.DataFrame({
            "code": [None] * len(empty), "status": "unknown",
            "message": [f"aucune commune n'a au moins {fr.percent(threshold, 0)} de sa surface dans ce polygone"] * len(empty),
            "nom": None})], ignore_index=True)
    out = _finish(entries, source, cols, statuses)
    out.attrs["cut_units"] = cut[["cpts", "code", "nom", "share", "assigned"]].sort_values(
        ["cpts", "code"]).reset_index(drop=True)
    out.attrs["threshold"] = threshold
    out.attrs["repairs"] = repairs
    out.attrs["name_merges"] = merges
    out.attrs["notes"] = [r["message"] for r in repairs] + _merge_notes(merges)
    return out


def _check_features(geoms: np.ndarray, names: list[str | None], rows: np.ndarray, where: list[str],
                    source: str) -> None:
    """Refuse the first feature without a CPTS name, without a polygon, or with a NaN or
    infinite coordinate, naming it (its number, and its layer when there are several)."""
    missing = next((i for i, n in enumerate(names) if n is None), None)
    if missing is not None:
        raise MembersError(f"nom de CPTS manquant ({where[missing]}) : chaque polygone doit porter le nom de sa "
                           "CPTS", source, int(rows[missing]))
    kind = shapely.get_type_id(geoms)
    bad = ~np.isin(kind, (3, 6)) | shapely.is_empty(geoms)
    if bad.any():
        i = int(bad.argmax())
        raise MembersError(f"géométrie absente ou non polygonale ({where[i]})", source, int(rows[i]), names[i])
    coords, idx = shapely.get_coordinates(geoms, include_z=False, return_index=True)
    nonfinite = ~np.isfinite(coords).all(axis=1)
    if nonfinite.any():
        k = int(nonfinite.argmax())
        i = int(idx[k])
        x, y = coords[k]
        raise MembersError(f"coordonnée invalide ({where[i]}, sommet ({x}, {y})) : chaque sommet doit avoir deux "
                           "nombres finis", source, int(rows[i]), names[i])


def union_by_cpts(geoms: np.ndarray, names: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The area of each CPTS: the union of its features (a CPTS drawn in several pieces, or as a
    grid of cells, is tested against the area rule as one area, never piece by piece).

    Parameters
    ----------
    geoms : numpy.ndarray
        Valid polygons, one per feature.
    names : list of str
        The CPTS of each feature (spellings already merged: :func:`merge_spellings`).

    Returns
    -------
    (cpts, group, areas)
        ``cpts``: the CPTS names in order of first appearance; ``group``: the index in ``cpts``
        of each feature; ``areas``: one (multi)polygon per CPTS.

    Examples
    --------
    >>> from shapely import box
    >>> cpts, group, areas = union_by_cpts(np.array([box(0, 0, 1, 1), box(1, 0, 2, 1)]), ["A", "A"])
    >>> list(cpts), group.tolist(), areas[0].area
    (['A'], [0, 0], 2.0)
    """
    codes, uniques = pd.factorize(pd.Series(names, dtype=object), sort=False)
    areas = np.empty(len(uniques), dtype=object)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    for g in range(len(uniques)):
        part = geoms[order[bounds[g]:bounds[g + 1]]]
        areas[g] = part[0] if len(part) == 1 else _union(part)
    return np.asarray(uniques, dtype=object), codes, areas


def _union(parts: np.ndarray) -> object:
    """The union of polygons: GEOS coverage union (linear, 0.4 s for 100,000 grid cells) when
    the parts form a coverage — its result is valid and its area the sum of theirs, which holds
    only without overlaps —, else the general union (9 s for the same cells)."""
    try:
        fast = shapely.coverage_union_all(parts)
    except shapely.errors.GEOSException:
        fast = None
    if fast is not None and shapely.is_valid(fast):
        total = float(shapely.area(parts).sum())
        if abs(fast.area - total) <= 1e-9 * max(total, 1e-300):
            return fast
    return shapely.union_all(parts)


def _first_feature(geoms: np.ndarray, group_of: np.ndarray, groups: np.ndarray, units: np.ndarray,
                   first_of: np.ndarray) -> np.ndarray:
    """For each (CPTS group, commune) pair, the first feature of the group that intersects the
    commune (the group's first feature when none does, as for a commune held by the union only)."""
    out = first_of[groups].copy() if len(groups) else np.zeros(0, dtype=int)
    if not len(groups) or len(geoms) == len(first_of):  # one feature per CPTS
        return out
    pair, feat = shapely.STRtree(geoms).query(units, predicate="intersects")
    ok = group_of[feat] == groups[pair]
    best = np.full(len(groups), len(geoms))
    np.minimum.at(best, pair[ok], feat[ok])
    return np.where(best < len(geoms), best, out)
