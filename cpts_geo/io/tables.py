"""Reading any table a user brings: CSV/TXT, Excel (XLSX/XLSM, ODS/XLS when their engine is
installed), JSON records — one behaviour for every reader of cpts_geo.

* text files are decoded as UTF-8 with or without BOM (or UTF-16 with BOM), then Windows-1252;
  never with replacement characters: a file in none of them is an error;
* the separator is sniffed among ``;`` ``,`` tab and ``|`` (a file without any is one column);
* title lines above the header (an ARS export: "Listing CPTS ARS PACA…" on row 1) are skipped:
  the header row is found (or forced with ``header_row=``, 1-based as a spreadsheet numbers it);
* every cell is read as text (``None`` when empty): codes keep their leading zeros;
* ``attrs["rows"]`` gives the 1-based row of each data row in the file, ``attrs["source"]`` the
  file name, ``attrs["sheet"]``, ``attrs["header_row"]``, ``attrs["encoding"]``,
  ``attrs["separator"]``, ``attrs["blank_rows"]`` (empty rows skipped).

Codes are cleaned by :func:`clean_code` (the one place where ``1001`` / ``1001.0`` become
``01001``), columns are found by :func:`find_column` (accents, case, spaces and punctuation
ignored). Every failure raises :class:`cpts_geo.errors.InputError` (or the subclass a caller
passes as ``error=``) naming the file, the row and the value.
"""

from __future__ import annotations

import codecs
import csv
import datetime as _dt
import json
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from cpts_geo.errors import InputError

#: INSEE commune code: five digits, or 2A/2B and three digits (Corsica) — the one definition
INSEE_CODE_PATTERN = r"\d{5}|2[AB]\d{3}"
INSEE_CODE_RE = re.compile(rf"^(?:{INSEE_CODE_PATTERN})$")

#: encodings tried in order for text tables (UTF-16 is taken only with its BOM)
ENCODINGS: tuple[str, ...] = ("utf-8-sig", "utf-8", "cp1252")
#: separators sniffed in text tables
SEPARATORS: tuple[str, ...] = (";", ",", "\t", "|")
EXCEL_SUFFIXES: tuple[str, ...] = (".xlsx", ".xlsm")
OTHER_SHEET_SUFFIXES: tuple[str, ...] = (".ods", ".xls")
SHEET_SUFFIXES = EXCEL_SUFFIXES + OTHER_SHEET_SUFFIXES
JSON_SUFFIXES: tuple[str, ...] = (".json",)

_SAMPLE_ROWS = 60
_WHOLE_RE = re.compile(r"\d+\.0+")  # rows looked at to sniff the separator and find the header


# ------------------------------------------------------------------------------------------
# Cells, codes and column names
# ------------------------------------------------------------------------------------------


def cell_text(value: object) -> str | None:
    """A cell as stripped text; None when empty. Numbers written by a spreadsheet lose their
    ``.0`` (``1001.0`` → ``"1001"``); dates at midnight are written ``YYYY-MM-DD``."""
    if type(value) is str:  # fast path: every cell of a text table
        text = value.strip()
        if text[-1:] == "0" and "." in text and _WHOLE_RE.fullmatch(text):
            return text.split(".")[0]
        return text or None
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return None
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    if isinstance(value, _dt.datetime):
        return value.date().isoformat() if value.time() == _dt.time() else value.isoformat(sep=" ")
    if isinstance(value, _dt.date):
        return value.isoformat()
    text = str(value).strip()
    if re.fullmatch(r"\d+\.0+", text):
        text = text.split(".")[0]
    return text or None


def clean_code(value: object) -> str | None:
    """An INSEE code as a 5-character string, the one cleaning rule of cpts_geo.

    Stripped; ``1001`` or ``1001.0`` (a code whose leading zero a spreadsheet dropped) →
    ``"01001"``; ``2a004`` → ``"2A004"``. Only 4-digit numbers are padded (a 3-digit number is not
    a code that lost one zero). Text that is not a code (a name, a postcode with spaces…) comes
    back stripped and unchanged, for the caller to refuse or to match as a name; None for an
    empty cell.

    >>> [clean_code(v) for v in (1001, "1001.0", " 04001 ", "2a004", "123", "Digne", None)]
    ['01001', '01001', '04001', '2A004', '123', 'Digne', None]
    """
    text = cell_text(value)
    if text is None:
        return None
    if len(text) == 4 and text.isdigit():
        return "0" + text
    upper = text.upper()
    return upper if INSEE_CODE_RE.match(upper) else text


def clean_codes(values: Iterable[object]) -> np.ndarray:
    """:func:`clean_code` of every value, as an object array (fast path for clean 5-char codes)."""
    arr = np.asarray(list(values) if not isinstance(values, (np.ndarray, pd.Series, pd.Index)) else values,
                     dtype=object)
    return np.fromiter((clean_code(v) for v in arr), dtype=object, count=len(arr))


def is_insee_code(value: object) -> bool:
    """True for a string of the INSEE code form (``04001``, ``2A004``); no padding applied."""
    return isinstance(value, str) and INSEE_CODE_RE.match(value) is not None


#: cell texts meaning "no value" in published tables (secret, not available)
MISSING_MARKERS = frozenset({"", "nan", "none", "na", "n/a", "nd", "n.d.", "-", "–", "s", "secret"})


def parse_number(value: object) -> float | None:
    """A cell as a float: decimal comma and spaces (plain, no-break, narrow no-break) accepted;
    NaN for an empty cell or a "no value" marker (``n.d.``, ``secret``…); None when the cell is
    not a number.

    >>> [parse_number(v) for v in ("1\u202f234,5", 3, "", "secret", "beaucoup")]
    [1234.5, 3.0, nan, nan, None]
    """
    if value is None or value is pd.NA:
        return math.nan
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip().replace("\u202f", "").replace("\xa0", "").replace(" ", "")
    if text.lower() in MISSING_MARKERS:
        return math.nan
    try:
        return float(text.replace(",", "."))
    except ValueError:
        return None


def numeric_column(values: pd.Series, source: str, column: str, rows: Sequence[int] | None = None,
                   *, minimum: float | None = 0.0, error: type[InputError] = InputError) -> pd.Series:
    """A column of numbers (:func:`parse_number`) as floats; the first value that is missing, not
    a number or below ``minimum`` raises ``error`` naming the file, its row (``rows``, else the
    position + 2) and the value."""
    num = np.array([parse_number(v) for v in values], dtype=object)
    bad = np.array([x is None or math.isnan(x) or (minimum is not None and x < minimum) for x in num], dtype=bool)
    if bad.any():
        pos = int(bad.argmax())
        row = rows[pos] if rows is not None else pos + 2
        what = "nombre positif attendu" if minimum == 0 else "nombre attendu"
        if cell_text(values.iloc[pos]) is None:  # an empty cell is never read as 0
            raise error(f"colonne « {column} » : valeur manquante ({what} ; une case vide n'est jamais "
                        "comptée comme 0)", source, row)
        raise error(f"colonne « {column} » : {what}", source, row, values.iloc[pos])
    return pd.Series(num.astype(float), index=values.index, name=values.name)


def column_key(name: object) -> str:
    """Key of a column name or any free-text label (stage words) with accents, case, spaces,
    punctuation and a leading article ignored:
    "Code  INSEE" / "code_insee" / "CODE-INSÉE" → "code insee"; "Les communes" → "communes"."""
    s = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode().lower()
    words = re.sub(r"[^a-z0-9]+", " ", s).split()
    if len(words) > 1 and words[0] in ("le", "la", "les", "l"):
        words = words[1:]
    return " ".join(words)


def find_column(
    columns: Iterable[object],
    candidates: Sequence[str] = (),
    *,
    given: object = None,
    what: str | None = None,
    source: str | None = None,
    required: bool = False,
    exclude: Iterable[object] = (),
    partial: bool = False,
    error: type[InputError] = InputError,
) -> object | None:
    """The column among ``columns`` playing a role, or None.

    ``given`` (a name the user gave) must be a column (exactly, else by :func:`column_key`):
    otherwise the error names it and the columns found. Without it, the first of ``candidates``
    (in their order of preference) whose key equals a column's key wins; with ``partial``, a
    column whose key starts or ends with a candidate as whole words ("classe typo", "tv 2012")
    is taken next. ``what`` names the role in the error raised when ``required``.
    """
    cols = [c for c in columns]
    found = ", ".join(map(str, cols))
    if given is not None:
        if given in cols:
            return given
        keyed = [c for c in cols if column_key(c) == column_key(given)]
        if len(keyed) == 1:
            return keyed[0]
        raise error(f"colonne « {given} » absente ; colonnes trouvées : {found}", source)
    skip = set(map(str, exclude))
    keys = [(c, column_key(c)) for c in cols if str(c) not in skip]
    cands = [column_key(k) for k in candidates]
    for cand in cands:
        for c, k in keys:
            if k == cand:
                return c
    if partial:
        for cand in cands:
            for c, k in keys:
                if k.startswith(cand + " ") or k.endswith(" " + cand):
                    return c
    if required:
        label = f"colonne {what} introuvable" if what else "colonne introuvable"
        raise error(f"{label} (attendu : {', '.join(candidates[:6])}) ; colonnes trouvées : {found}", source)
    return None


# ------------------------------------------------------------------------------------------
# Files
# ------------------------------------------------------------------------------------------


def check_file(path: str | Path, error: type[InputError] = InputError) -> Path:
    """``path`` as a Path when it is a non-empty readable file; the French error otherwise."""
    path = Path(path)
    if not path.exists():
        raise error("fichier introuvable", str(path))
    if path.is_dir():
        raise error("c'est un dossier, pas un fichier", str(path))
    if path.stat().st_size == 0:
        raise error("fichier vide", path.name)
    return path


def list_layers(path: str | Path, source: str | None = None,
                error: type[InputError] = InputError) -> list[tuple[str, str | None]]:
    """(name, geometry type) of every layer of a GIS file (one for GeoJSON or a shapefile,
    any number for a GeoPackage); geometry type None for a table without geometry."""
    import pyogrio
    import pyogrio.errors

    path = Path(path)
    try:
        layers = pyogrio.list_layers(path)
    except (pyogrio.errors.DataSourceError, OSError) as exc:
        raise error(f"fichier géographique illisible ({exc})", source or path.name) from exc
    return [(str(n), None if t is None else str(t)) for n, t in layers.tolist()]


def read_geofile(path: str | Path, source: str | None = None, error: type[InputError] = InputError,
                 layer: str | None = None):
    """A GIS file (GeoPackage, GeoJSON, shapefile, FlatGeobuf) as a GeoDataFrame (``layer``: the
    layer of a GeoPackage, default the first); a file the GDAL driver cannot open or whose
    geometries GEOS refuses raises ``error`` naming it (other exceptions are bugs and propagate)."""
    import geopandas as gpd
    import pyogrio.errors
    import shapely.errors

    path = Path(path)
    try:
        return gpd.read_file(path, **({"layer": layer} if layer is not None else {}))
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, shapely.errors.ShapelyError,
            OSError) as exc:  # GDAL cannot open it, or GEOS refuses its geometries (unclosed ring)
        raise error(f"fichier géographique illisible ({exc})", source or path.name) from exc


def decode(raw: bytes, source: str, error: type[InputError] = InputError) -> tuple[str, str]:
    """(text, encoding) of the bytes of a text table: UTF-8 (BOM or not), UTF-16 with BOM, then
    Windows-1252. Binary content (NUL or control bytes) is refused, never replaced."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise error(f"encodage illisible (UTF-16 invalide à l'octet {exc.start})", source) from exc
    text = enc = None
    last: UnicodeDecodeError | None = None
    for enc in ENCODINGS:
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError as exc:
            last = last or exc
    if enc == "utf-8-sig" and not raw.startswith(codecs.BOM_UTF8):
        enc = "utf-8"
    if text is None:
        assert last is not None
        raise error(f"encodage illisible (ni UTF-8 ni Windows-1252 ; octet 0x{raw[last.start]:02X} "
                    f"à la position {last.start})", source)
    bad = re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text[:100_000])
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise error(f"contenu binaire, pas un tableau texte (caractère de contrôle 0x{ord(bad.group()):02X})",
                    source, line)
    return text, enc


def sniff_separator(lines: Sequence[str]) -> str | None:
    """The separator among :data:`SEPARATORS` that splits the most lines into the same number of
    fields (more fields wins a tie); None when no line holds any (one column)."""
    best, best_score = None, (0, 0)
    sample = []
    for ln in lines:
        if ln.strip():
            sample.append(ln)
            if len(sample) == _SAMPLE_ROWS:
                break
    for sep in SEPARATORS:
        if not any(sep in ln for ln in sample):
            continue
        try:
            counts = [len(r) for r in csv.reader(sample, delimiter=sep)]
        except csv.Error:  # a malformed sample: this separator cannot be judged on it
            continue
        multi = [n for n in counts if n > 1]
        if not multi:
            continue
        mode = max(set(multi), key=lambda n: (multi.count(n), n))
        score = (multi.count(mode), mode)
        if score > best_score:
            best, best_score = sep, score
    return best


def list_sheets(path: str | Path, error: type[InputError] = InputError) -> list[str]:
    """Names of the sheets of a workbook (one unnamed sheet, ``[""]``, for a text or JSON table)."""
    path = check_file(path, error)
    suffix = path.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        wb = _open_workbook(path, error)
        try:
            return list(wb.sheetnames)
        finally:
            wb.close()
    if suffix in OTHER_SHEET_SUFFIXES:
        return list(_other_sheets(path, None, error))
    return [""]


def _workbook_message(exc: Exception) -> str:
    """French reason of a workbook that cannot be opened (the library's English text left out)."""
    import zipfile

    if isinstance(exc, zipfile.BadZipFile):
        return ("classeur Excel illisible : ce n'est pas un classeur valide (fichier tronqué, ou fichier "
                "d'un autre format renommé)")
    return f"classeur Excel illisible : fichier endommagé (erreur {type(exc).__name__})"


def _open_workbook(path: Path, error: type[InputError]):
    import zipfile

    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, TypeError) as exc:
        raise error(_workbook_message(exc), path.name) from exc


def _other_sheets(path: Path, sheet: str | int | None, error: type[InputError]) -> dict[str, list[list]]:
    """Raw rows of .ods / .xls sheets through pandas (odfpy / xlrd must be installed)."""
    engine = {".ods": ("odf", "odfpy"), ".xls": ("xlrd", "xlrd")}[path.suffix.lower()]
    try:
        __import__(engine[0])
    except ImportError as exc:
        raise error(f"format {path.suffix.lower()} non pris en charge sans le module {engine[1]} : "
                    "enregistrer le fichier en .xlsx ou .csv", path.name) from exc
    import zipfile
    from xml.sax import SAXParseException

    unreadable: list[type[Exception]] = [ValueError, KeyError, IndexError, OSError, zipfile.BadZipFile,
                                         SAXParseException]
    if engine[0] == "xlrd":
        from xlrd import XLRDError

        unreadable.append(XLRDError)
    try:
        frames = pd.read_excel(path, sheet_name=sheet if sheet is not None else None, header=None,
                               dtype=object, engine=engine[0])
    except tuple(unreadable) as exc:
        raise error(_workbook_message(exc), path.name) from exc
    if isinstance(frames, pd.DataFrame):
        frames = {str(sheet): frames}
    return {str(k): f.astype(object).where(f.notna(), None).values.tolist() for k, f in frames.items()}


def _excel_rows(wb, name: str) -> list[list[object]]:
    return [list(r) for r in wb[name].iter_rows(values_only=True)]


def _sheet_name(names: list[str], sheet: str | int | None, source: str, error: type[InputError]) -> str:
    if sheet is None:
        return names[0]
    if isinstance(sheet, int) and not isinstance(sheet, bool):
        if 0 <= sheet < len(names):
            return names[sheet]
    elif sheet in names:
        return str(sheet)
    raise error(f"pas de feuille « {sheet} » ; feuilles du classeur : {', '.join(names)}", source)


def _grid(path: Path, sheet: str | int | None, error: type[InputError]) -> tuple[list[list], dict]:
    """Rows of a text table (raw strings, not yet cleaned) or of one sheet (cell texts)."""
    suffix = path.suffix.lower()
    meta: dict = {"source": path.name, "sheet": None, "encoding": None, "separator": None}
    if suffix in EXCEL_SUFFIXES:
        wb = _open_workbook(path, error)
        try:
            name = _sheet_name(list(wb.sheetnames), sheet, path.name, error)
            raw = _excel_rows(wb, name)
        except (KeyError, ValueError, TypeError, OSError) as exc:  # a damaged sheet inside the zip
            raise error(_workbook_message(exc), path.name) from exc
        finally:
            wb.close()
        meta["sheet"] = name
        return [[cell_text(c) for c in r] for r in raw], meta
    if suffix in OTHER_SHEET_SUFFIXES:
        sheets = _other_sheets(path, None, error)
        name = _sheet_name(list(sheets), sheet, path.name, error)
        meta["sheet"] = name
        return [[cell_text(c) for c in r] for r in sheets[name]], meta
    if suffix in JSON_SUFFIXES:
        raise error("un fichier JSON n'est pas lu ligne à ligne : utiliser read_table", path.name)
    text, enc = decode(path.read_bytes(), path.name, error)
    # line i is row i + 1; str.splitlines (fast) also splits on NEL and Unicode line separators
    if "\x85" in text or "\u2028" in text or "\u2029" in text:
        lines = re.split(r"\r\n|\r|\n", text)
        if lines and lines[-1] == "":
            lines.pop()
    else:
        lines = text.splitlines()
    hint = re.fullmatch(r"\s*sep=(.)\s*", lines[0]) if lines else None  # Excel's "sep=;" first line
    sep = hint.group(1) if hint else sniff_separator(lines)
    meta.update(encoding=enc, separator=sep)
    reader = csv.reader(lines, delimiter=sep or "\x1f")  # one column without separator (quotes removed)
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise error("fichier CSV mal formé (guillemets non refermés ou cellule démesurée)", path.name,
                    reader.line_num) from exc
    return rows, meta


def _clean_rows(rows: Sequence[Sequence[object]]) -> list[list[str | None]]:
    return [[cell_text(c) for c in r] for r in rows]


def read_rows(
    path: str | Path, sheet: str | int | None = None, *, error: type[InputError] = InputError
) -> tuple[list[list[str | None]], dict]:
    """Every row of a text table or of one sheet (default: the first) as lists of cell texts.

    Returns (rows, meta) with ``meta``: ``source`` (file name), ``sheet``, ``encoding`` and
    ``separator`` (text tables). Row ``i`` of the list is row ``i + 1`` of the file.
    """
    path = check_file(path, error)
    rows, meta = _grid(path, sheet, error)
    return (_clean_rows(rows) if meta["encoding"] else rows), meta


def detect_header(rows: Sequence[Sequence[str | None]], hints: Iterable[str] = ()) -> int:
    """0-based index of the header row among ``rows``.

    The first of the first rows holding a cell named like one of ``hints`` (column keys); else the
    first row filled at least as much as 60 % of the widest row of the sample (title lines above
    a table fill one cell or two). 0 for an empty sample.
    """
    sample = list(rows[:_SAMPLE_ROWS])
    filled = [sum(c is not None for c in r) for r in sample]
    keys = {column_key(h) for h in hints}
    keys.discard("")
    if keys:
        for i, r in enumerate(sample):
            if filled[i] and any(c is not None and column_key(c) in keys for c in r):
                return i
    width = max(filled, default=0)
    if width == 0:
        return 0
    need = max(1, math.ceil(0.6 * width))
    return next(i for i, n in enumerate(filled) if n >= need)


def _clean_column(values: list) -> list:
    return [(v.strip() or None) if type(v) is str else v for v in values]


def _frame(rows: list[list], header_at: int, meta: dict, source: str,
           error: type[InputError]) -> pd.DataFrame:
    """The DataFrame of ``rows`` (raw or cleaned cells) under the header ``rows[header_at]``."""
    if header_at >= len(rows) and rows:
        raise error(f"ligne d'en-tête {header_at + 1} au-delà de la fin du fichier ({len(rows)} lignes)", source)
    header = [cell_text(c) for c in rows[header_at]] if header_at >= 0 and rows else []  # -1: no header row
    body = rows[header_at + 1:]
    width = max(len(header), max(map(len, body), default=0))
    if any(len(r) != width for r in body):  # ragged rows (short lines, blank lines): pad them
        body = [list(r) + [None] * (width - len(r)) if len(r) != width else r for r in body]
    table = pd.DataFrame(body, dtype=object) if body else pd.DataFrame()
    table = table.reindex(columns=range(width))
    cols = {k: _clean_column(table[k].tolist()) for k in range(width)}
    # cells beyond the header get their own column ("colonne 4"), unless all empty: nothing dropped
    while width > len(header) and all(v is None for v in cols[width - 1]):
        width -= 1
    if not any(h is not None for h in header) and (width == 0 or all(
            all(v is None for v in cols[k]) for k in range(width))):
        raise error("fichier vide", source)
    header = header[:width] + [None] * (width - len(header))
    names: list[str] = []
    seen: dict[str, int] = {}
    for k, h in enumerate(header):
        name = h if h is not None else f"colonne {k + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        names.append(name)
    df = pd.DataFrame({names[k]: pd.Series(cols[k], dtype=object) for k in range(width)})
    df.columns = pd.Index(names, dtype=object)
    empty = df.isna().all(axis=1).to_numpy() if width else np.ones(len(body), dtype=bool)
    rownums = (np.arange(len(body)) + header_at + 2)[~empty]
    df = df[~empty].reset_index(drop=True) if empty.any() else df
    df.attrs = {**meta, "source": source, "header_row": header_at + 1 or None, "rows": rownums.tolist(),
                "blank_rows": int(empty.sum())}
    return df


def _header_index(rows: list[list[str | None]], header_row: int | None, hints: Iterable[str],
                  source: str, error: type[InputError]) -> int:
    if header_row is None:
        return detect_header(_clean_rows(rows[:_SAMPLE_ROWS]), hints)
    if isinstance(header_row, bool) or not isinstance(header_row, (int, np.integer)) or header_row < 0:
        raise error("numéro de ligne d'en-tête invalide (entier positif attendu, 0 pour un fichier sans "
                    "en-tête)", source, None, header_row)
    return int(header_row) - 1


def read_table(
    source: str | Path,
    sheet: str | int | None = None,
    *,
    header_row: int | None = None,
    hints: Iterable[str] = (),
    error: type[InputError] = InputError,
) -> pd.DataFrame:
    """A table file as a DataFrame of text cells (object dtype, None when empty).

    CSV/TXT/TSV (encoding and separator detected), XLSX/XLSM (``sheet``: name or 0-based
    position, default the first), ODS/XLS (with odfpy / xlrd), JSON (a list of records or
    ``{"records"|"data"|"items": [...]}``: scalar values as text, lists kept as lists of text).
    The header is row ``header_row`` (1-based; 0: no header, columns named "colonne 1"…) or
    found by :func:`detect_header` with ``hints`` (expected column names). Rows entirely empty are skipped (counted in ``attrs["blank_rows"]``);
    ``attrs["rows"]`` holds the file row of each data row.
    """
    path = check_file(source, error)
    if path.suffix.lower() in JSON_SUFFIXES:
        return json_records(read_json(path, error=error), path.name, error=error)
    rows, meta = _grid(path, sheet, error)
    at = _header_index(rows, header_row, hints, path.name, error) if rows else 0
    return _frame(rows, at, meta, path.name, error)


def table_or_frame(table: pd.DataFrame | str | Path, default_name: str, hints: Iterable[str | None] = (),
                   *, error: type[InputError] = InputError) -> tuple[pd.DataFrame, str]:
    """(frame, name) of a table given as a DataFrame (named ``default_name``) or as a file read by
    :func:`read_table` (named by its file name; ``hints``: expected column names)."""
    if isinstance(table, pd.DataFrame):
        return table, default_name
    df = read_table(table, hints=[h for h in hints if h], error=error)
    return df, df.attrs["source"]


def read_sheets(
    source: str | Path,
    *,
    header_row: int | None = None,
    hints: Iterable[str] = (),
    error: type[InputError] = InputError,
) -> dict[str, pd.DataFrame]:
    """Every sheet of a workbook read as :func:`read_table` does (sheets without any cell, or
    shorter than a forced ``header_row``, are left out); a text or JSON table gives one entry
    keyed ``""``."""
    path = check_file(source, error)
    suffix = path.suffix.lower()
    if suffix not in SHEET_SUFFIXES:
        return {"": read_table(path, header_row=header_row, hints=hints, error=error)}
    out: dict[str, pd.DataFrame] = {}
    if suffix in EXCEL_SUFFIXES:
        wb = _open_workbook(path, error)
        try:
            grids = {n: _excel_rows(wb, n) for n in wb.sheetnames}
        except (KeyError, ValueError, TypeError, OSError) as exc:
            raise error(_workbook_message(exc), path.name) from exc
        finally:
            wb.close()
    else:
        grids = _other_sheets(path, None, error)
    for name, raw in grids.items():
        rows = [[cell_text(c) for c in r] for r in raw]
        if not any(any(c is not None for c in r) for r in rows):
            continue
        at = _header_index(rows, header_row, hints, path.name, error)
        if at >= len(rows):  # a forced header row beyond this sheet: not a table of this kind
            continue
        meta = {"source": path.name, "sheet": name, "encoding": None, "separator": None}
        out[name] = _frame(rows, at, meta, path.name, error)
    if not out:
        raise error("classeur vide (aucune feuille ne contient de cellule)", path.name)
    return out


# ------------------------------------------------------------------------------------------
# JSON
# ------------------------------------------------------------------------------------------


def read_json(source: str | Path, *, error: type[InputError] = InputError) -> object:
    """The parsed content of a JSON file (UTF-8, BOM or not, or Windows-1252), or the French
    error naming the line and column of a syntax error."""
    path = check_file(source, error)
    text, _ = decode(path.read_bytes(), path.name, error)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"JSON mal formé (ligne {exc.lineno}, colonne {exc.colno} : {exc.msg})",
                    path.name, exc.lineno) from exc
    except RecursionError as exc:  # thousands of nested [ or {: no listing is written so
        raise error("JSON trop imbriqué pour être une liste (crochets ou accolades emboîtés "
                    "par milliers)", path.name) from exc


def _json_cell(v: object) -> object:
    if isinstance(v, (list, tuple)):
        return [t for t in (cell_text(x) for x in v) if t is not None]
    if isinstance(v, dict):
        return json.dumps(v, ensure_ascii=False)
    return cell_text(v)


def json_records(data: object, source: str, *, error: type[InputError] = InputError) -> pd.DataFrame:
    """A DataFrame of a JSON list of records (or of ``{"records"|"data"|"items": [...]}``), cells as
    text (lists kept as lists of text); ``attrs["rows"]`` numbers the records from 1."""
    if isinstance(data, dict):
        for k in ("records", "data", "items"):
            if isinstance(data.get(k), list):
                return json_records(data[k], source, error=error)
        raise error("JSON non reconnu : attendu une liste d'enregistrements", source)
    if not isinstance(data, list):
        raise error("JSON non reconnu : attendu une liste d'enregistrements", source)
    if not data:
        raise error("fichier vide (liste JSON sans enregistrement)", source)
    bad = next((i for i, r in enumerate(data) if not isinstance(r, dict)), None)
    if bad is not None:
        raise error("enregistrement JSON qui n'est pas un objet", source, bad + 1, data[bad])
    cols = list(dict.fromkeys(k for r in data for k in r))
    df = pd.DataFrame([[_json_cell(r.get(c)) for c in cols] for r in data],
                      columns=pd.Index(cols, dtype=object), dtype=object)
    df.attrs = {"source": source, "sheet": None, "header_row": None, "rows": list(range(1, len(df) + 1)),
                "blank_rows": 0, "encoding": None, "separator": None}
    return df


def source_rows(df: pd.DataFrame, first: int = 2) -> list[int]:
    """File rows of the data rows of ``df``: ``attrs["rows"]`` when read by :func:`read_table`, else
    ``first``, ``first + 1``… (a DataFrame given directly: header = row 1)."""
    rows = df.attrs.get("rows")
    if rows is not None and len(rows) == len(df):
        return list(rows)
    return list(range(first, first + len(df)))
