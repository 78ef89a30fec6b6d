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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cpts_geo import fr
from cpts_geo.errors import InputError, LimitError
from cpts_geo.io.french import from_csv_text
from cpts_geo.io.limits import ReadLimits, exceeded, resolve

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

_SAMPLE_ROWS = 60  # rows looked at to sniff the separator and find the header
#: a whole number written by a spreadsheet or a French export: 4088.0, 4088,0, 4088,00
_WHOLE_RE = re.compile(r"\d+[.,]0+")
#: Excel's way of keeping leading zeros in a CSV export: ="04088"
_EXCEL_TEXT_RE = re.compile(r'="([^"]*)"')
#: characters that print as nothing and are removed from every cell: zero-width space, joiners,
#: word joiner, BOM left inside a cell, soft hyphen
_INVISIBLE_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")


def clean_text(text: str) -> str:
    """Unicode hygiene of every cell: NFKC normalisation (no-break and narrow no-break spaces
    become plain spaces, ligatures and full-width digits their plain letters and digits) and
    removal of invisible characters (zero-width space, joiners, soft hyphen). ASCII text comes
    back unchanged.

    >>> clean_text("04088\u200b"), clean_text("4\xa0088"), clean_text("Saint-E\u0301tienne")
    ('04088', '4 088', 'Saint-Étienne')
    """
    if text.isascii():
        return text
    return _INVISIBLE_RE.sub("", unicodedata.normalize("NFKC", text))


# ------------------------------------------------------------------------------------------
# Cells, codes and column names
# ------------------------------------------------------------------------------------------


def cell_text(value: object) -> str | None:
    """A cell as stripped text (:func:`clean_text`); None when empty. Whole numbers written by a
    spreadsheet or a French export lose their decimals (``1001.0``, ``1001,0`` → ``"1001"``);
    Excel's ``="04088"`` is the text ``04088``; dates at midnight are written ``YYYY-MM-DD``;
    the apostrophe a CSV puts before a formula-like text (``'=x``,
    :func:`cpts_geo.io.french.csv_text`) is dropped, so a file cpts_geo wrote reads back as it was.

    >>> [cell_text(v) for v in ("4088,0", '="04088"', "04088\u200b", 4088.0, "  ")]
    ['4088', '04088', '04088', '4088', None]
    """
    if type(value) is str:  # fast path: every cell of a text table
        text = _written_text(clean_text(value).strip())
        if text[-1:] == "0" and ("." in text or "," in text) and _WHOLE_RE.fullmatch(text):
            return re.split(r"[.,]", text)[0]
        if text[:2] == '="' and _EXCEL_TEXT_RE.fullmatch(text):
            return cell_text(text[2:-1])
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
    return cell_text(str(value))


def clean_code(value: object) -> str | None:
    """An INSEE code as a 5-character string, the one cleaning rule of cpts_geo.

    Stripped; ``1001`` or ``1001.0`` (a code whose leading zero a spreadsheet dropped) →
    ``"01001"``; ``2a004`` → ``"2A004"``; digits grouped by spaces (``4 088``, with a no-break
    space too) are one number. Only 4-digit numbers are padded (a 3-digit number is not
    a code that lost one zero). Text that is not a code (a name, a postcode with spaces…) comes
    back stripped and unchanged, for the caller to refuse or to match as a name; None for an
    empty cell. Cells are read by :func:`cell_text` first (``4088,0``, ``="04088"``, invisible
    characters).

    >>> [clean_code(v) for v in (1001, "1001.0", " 04001 ", "2a004", "123", "Digne", None)]
    ['01001', '01001', '04001', '2A004', '123', 'Digne', None]
    >>> [clean_code(v) for v in ("4\xa0088", "4088,0", '="04088"', "04088\u200b")]
    ['04088', '04088', '04088', '04088']
    """
    text = cell_text(value)
    if text is None:
        return None
    if " " in text and _GROUPED_RE.fullmatch(text) and len(joined := text.replace(" ", "")) in (4, 5):
        text = joined
    if len(text) == 4 and text.isdigit():
        return "0" + text
    upper = text.upper()
    return upper if INSEE_CODE_RE.match(upper) else text


_GROUPED_RE = re.compile(r"\d{1,3}(?: \d{3})+")


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


def check_file(path: str | Path, error: type[InputError] = InputError,
               limits: ReadLimits | None = None) -> Path:
    """``path`` as a Path when it is a non-empty readable file no larger than
    ``limits.file_bytes``; the French error otherwise (:class:`LimitError` for a file too
    large)."""
    path = Path(path)
    if not path.exists():
        raise error("fichier introuvable", str(path))
    if path.is_dir():
        raise error("c'est un dossier, pas un fichier", str(path))
    size = path.stat().st_size
    if size == 0:
        raise error("fichier vide", path.name)
    lim = resolve(limits)
    if size > lim.file_bytes:
        raise LimitError(exceeded("file_bytes", size, lim), path.name, limit="file_bytes")
    return path


def _check_cells(rows: Sequence[Sequence[object]], source: str, limits: ReadLimits,
                 sheet: str | None = None, first_row: int = 1, longest: int | None = None) -> None:
    """Refuse a grid of more rows, cells (rows × widest row) or characters per cell than
    ``limits`` allows, naming the first cell too long (row ``first_row`` is the grid's first;
    ``longest``: the longest line of the text the grid was parsed from, when known)."""
    where = f"feuille « {sheet} » : " if sheet else ""
    if len(rows) > limits.rows:
        raise LimitError(where + exceeded("rows", len(rows), limits), source, limit="rows")
    width = max(map(len, rows), default=0)
    if width * len(rows) > limits.cells:
        raise LimitError(where + exceeded("cells", width * len(rows), limits,
                                          f"{fr.integer(len(rows))} lignes × {fr.integer(width)} colonnes"), source, limit="cells")
    most = limits.cell_chars
    if longest is not None and longest <= most:  # no line of a text file is longer than the limit
        return
    for i, r in enumerate(rows):
        for c in r:
            if type(c) is str and len(c) > most:
                raise LimitError(where + exceeded("cell_chars", len(c), limits,
                                                  f"cellule de {fr.integer(len(c))} caractères"), source,
                                 i + first_row, c[:40] + "…", limit="cell_chars")


#: first bytes of an OLE compound file (Excel 97-2003, or an encrypted Office document)
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
_ENCRYPTED_MESSAGE = ("classeur protégé par un mot de passe (chiffré) : cpts_geo ne peut pas le lire ; "
                      "l'ouvrir dans Excel ou LibreOffice et l'enregistrer sans mot de passe")


def _check_archive(path: Path, limits: ReadLimits, error: type[InputError]) -> None:
    """Check a workbook (XLSX, ODS) from its zip directory before anything is decompressed: a
    password-protected workbook (an OLE file holding an ``EncryptedPackage``) is named as such,
    and the total uncompressed size and each member's compression ratio are bounded
    (``limits.xlsx_bytes``, ``limits.zip_ratio``). The sizes a directory declares bound what
    :mod:`zipfile` later decompresses: it stops at the declared size."""
    import zipfile

    with path.open("rb") as fh:
        head = fh.read(8)
    if head == _OLE_MAGIC:
        if _ENCRYPTED_STREAM in path.read_bytes():
            raise error(_ENCRYPTED_MESSAGE, path.name)
        raise error(f"classeur au format Excel 97-2003 (.xls) enregistré sous l'extension {path.suffix} : "
                    "le renommer en .xls ou l'enregistrer en .xlsx", path.name)
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise error(_workbook_message(exc), path.name) from exc
    total = sum(i.file_size for i in infos)
    if total > limits.xlsx_bytes:
        raise LimitError(exceeded("xlsx_bytes", total, limits), path.name, limit="xlsx_bytes")
    for i in infos:
        ratio = i.file_size / max(i.compress_size, 1)
        if i.file_size > 2**20 and ratio > limits.zip_ratio:
            raise LimitError(exceeded("zip_ratio", ratio, limits, f"élément {i.filename} du classeur, "
                                      f"{i.file_size // 2**20} Mio une fois décompressé, taux de compression"),
                             path.name, limit="zip_ratio")


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
                 layer: str | None = None, *, limits: ReadLimits | None = None):
    """A GIS file (GeoPackage, GeoJSON, shapefile, FlatGeobuf) as a GeoDataFrame (``layer``: the
    layer of a GeoPackage, default the first); a file the GDAL driver cannot open or whose
    geometries GEOS refuses raises ``error`` naming it (other exceptions are bugs and propagate).
    ``limits``: the file size, the number of features (counted by GDAL before they are read) and
    the characters of a text attribute."""
    import geopandas as gpd
    import pyogrio
    import pyogrio.errors
    import shapely.errors

    lim = resolve(limits)
    path = check_file(path, error, lim)
    name = source or path.name
    kw = {"layer": layer} if layer is not None else {}
    try:
        n = int(pyogrio.read_info(path, **kw).get("features", -1))
        if n > lim.features:
            raise LimitError(exceeded("features", n, lim), name, limit="features")
        gdf = gpd.read_file(path, **kw)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, shapely.errors.ShapelyError,
            OSError) as exc:  # GDAL cannot open it, or GEOS refuses its geometries (unclosed ring)
        raise error(f"fichier géographique illisible ({exc})", name) from exc
    if len(gdf) > lim.features:
        raise LimitError(exceeded("features", len(gdf), lim), name, limit="features")
    text = [c for c in gdf.columns if c != gdf.geometry.name and gdf[c].dtype == object]
    if text:
        _check_cells(gdf[text].to_numpy(dtype=object).tolist(), name, lim, first_row=1)
    return gdf


def _stray_byte_as_cp1252(exc: UnicodeError) -> tuple[str, int]:
    """Decoding error handler: one byte that is not UTF-8 read as Windows-1252 (Latin-1 for the
    five bytes Windows-1252 leaves undefined)."""
    assert isinstance(exc, UnicodeDecodeError)
    b = exc.object[exc.start:exc.start + 1]
    try:
        return b.decode("cp1252"), exc.start + 1
    except UnicodeDecodeError:
        return b.decode("latin-1"), exc.start + 1


codecs.register_error("cpts_geo.stray_cp1252", _stray_byte_as_cp1252)


@dataclass(frozen=True)
class StrayByte:
    """A byte of a UTF-8 file that is not UTF-8, read as Windows-1252.

    ``line``: 1-based line of the file; ``byte``: its value; ``char``: the character read."""

    line: int
    byte: int
    char: str

    def describe(self) -> str:
        """French description (« ligne 3 : octet 0xC9 lu « É » »)."""
        return f"ligne {self.line} : octet 0x{self.byte:02X} lu « {self.char} »"


#: stray bytes of a UTF-8 file described one by one (the first ones; every one is decoded)
_STRAY_RECORDED = 1_000
#: beyond this many bytes that are not UTF-8, a file is not « UTF-8 with a few stray bytes »
_STRAY_MAX = 10_000


def _utf8_or_cp1252(raw: bytes) -> tuple[str, str, tuple[StrayByte, ...]] | None:
    """A file that is not wholly UTF-8: UTF-8 with its stray bytes read as Windows-1252 when
    lines holding valid UTF-8 accents are at least as many as lines holding a stray byte (one
    Latin-1 byte in a UTF-8 export) and stray bytes number at most :data:`_STRAY_MAX`, else None
    (the file is Windows-1252)."""
    if raw.decode("utf-8", "replace").count("\ufffd") > _STRAY_MAX:  # counted at C speed
        return None
    utf8, bad = 0, []
    for i, ln in enumerate(raw.split(b"\n")):
        if ln.isascii():
            continue
        try:
            ln.decode("utf-8")
            utf8 += 1
        except UnicodeDecodeError:
            bad.append(i)
    if not bad or utf8 < len(bad):
        return None
    text = raw.decode("utf-8-sig" if raw.startswith(codecs.BOM_UTF8) else "utf-8", "cpts_geo.stray_cp1252")
    lines = raw.split(b"\n")
    stray: list[StrayByte] = []
    for i in bad:
        view = memoryview(lines[i])
        pos = 0
        while len(stray) < _STRAY_RECORDED:
            try:
                codecs.utf_8_decode(view[pos:], "strict", True)  # no copy of the rest of the line
                break
            except UnicodeDecodeError as exc:
                k = pos + exc.start
                byte = lines[i][k:k + 1]
                stray.append(StrayByte(i + 1, byte[0], _stray_byte_as_cp1252(
                    UnicodeDecodeError("utf-8", byte, 0, 1, ""))[0]))
                pos = k + 1
    return text, "utf-8", tuple(stray)


def decode_text(raw: bytes, source: str,
                error: type[InputError] = InputError) -> tuple[str, str, tuple[StrayByte, ...]]:
    """(text, encoding, stray bytes) of the bytes of a text table, decided for the whole file:
    UTF-16 with BOM; UTF-8 (BOM or not); UTF-8 in which a few lines hold a byte that is not
    UTF-8 (one Latin-1 « É » in a UTF-8 export): those bytes alone are read as Windows-1252 and
    returned, line by line, for the caller to report; else Windows-1252. Binary content (NUL or
    control bytes) is refused, never replaced.

    >>> t, enc, stray = decode_text("Étienne\\nÉ".encode() + b"\\n\\xc9cole", "f.csv")
    >>> t.splitlines(), enc, stray[0].describe()
    (['Étienne', 'É', 'École'], 'utf-8', 'ligne 3 : octet 0xC9 lu « É »')
    """
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16"), "utf-16", ()
        except UnicodeDecodeError as exc:
            raise error(f"encodage illisible (UTF-16 invalide à l'octet {exc.start})", source) from exc
    text = enc = None
    stray: tuple[StrayByte, ...] = ()
    last: UnicodeDecodeError | None = None
    for enc in ENCODINGS:
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError as exc:
            last = last or exc
            if enc == "utf-8":
                mixed = _utf8_or_cp1252(raw)
                if mixed is not None:
                    text, enc, stray = mixed
                    break
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
    return text, enc, stray


def decode(raw: bytes, source: str, error: type[InputError] = InputError) -> tuple[str, str]:
    """(text, encoding) of :func:`decode_text` (the stray bytes left out)."""
    text, enc, _ = decode_text(raw, source, error)
    return text, enc


def stray_note(stray: Sequence[StrayByte], limit: int = 5) -> str:
    """French note of the stray bytes of a UTF-8 file (:func:`decode_text`), for a reading report."""
    shown = " ; ".join(s.describe() for s in stray[:limit])
    more = len(stray) - limit
    many = len(stray) >= _STRAY_RECORDED  # the first ones only were described
    return (f"fichier lu en UTF-8 ; {'au moins ' if many else ''}"
            f"{fr.plural(len(stray), 'octet hors UTF-8 lu', 'octets hors UTF-8 lus')} en Windows-1252 : {shown}"
            + (f" (et {fr.plural(more, 'autre')})" if more > 0 else ""))


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


def list_sheets(path: str | Path, error: type[InputError] = InputError, *,
                limits: ReadLimits | None = None) -> list[str]:
    """Names of the sheets of a workbook, hidden ones included (one unnamed sheet, ``[""]``, for
    a text or JSON table)."""
    lim = resolve(limits)
    path = check_file(path, error, lim)
    suffix = path.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        wb = _open_workbook(path, error, lim)
        try:
            return list(wb.sheetnames)
        finally:
            wb.close()
    if suffix in OTHER_SHEET_SUFFIXES:
        return list(_other_sheets(path, None, error, lim))
    return [""]


def _workbook_message(exc: Exception) -> str:
    """French reason of a workbook that cannot be opened (the library's English text left out)."""
    import zipfile

    if isinstance(exc, zipfile.BadZipFile):
        return ("classeur Excel illisible : ce n'est pas un classeur valide (fichier tronqué, ou fichier "
                "d'un autre format renommé)")
    if "encrypt" in str(exc).lower():  # xlrd: "Workbook is encrypted"
        return _ENCRYPTED_MESSAGE
    return f"classeur Excel illisible : fichier endommagé (erreur {type(exc).__name__})"


def _open_workbook(path: Path, error: type[InputError], limits: ReadLimits):
    """The workbook in openpyxl's read-only mode, once its zip directory passed
    :func:`_check_archive`; refused when it holds more than ``limits.sheets`` sheets."""
    import zipfile

    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    _check_archive(path, limits, error)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, TypeError) as exc:
        raise error(_workbook_message(exc), path.name) from exc
    if len(wb.sheetnames) > limits.sheets:
        n = len(wb.sheetnames)
        wb.close()
        raise LimitError(exceeded("sheets", n, limits), path.name, limit="sheets")
    return wb


def _other_sheets(path: Path, sheet: str | int | None, error: type[InputError],
                  limits: ReadLimits) -> dict[str, list[list]]:
    """Raw rows of .ods / .xls sheets through pandas (odfpy / xlrd must be installed)."""
    engine = {".ods": ("odf", "odfpy"), ".xls": ("xlrd", "xlrd")}[path.suffix.lower()]
    try:
        __import__(engine[0])
    except ImportError as exc:
        raise error(f"format {path.suffix.lower()} non pris en charge sans le module {engine[1]} : "
                    "enregistrer le fichier en .xlsx ou .csv", path.name) from exc
    import zipfile
    from xml.sax import SAXParseException

    if engine[0] == "odf":
        _check_archive(path, limits, error)
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
    if len(frames) > limits.sheets:
        raise LimitError(exceeded("sheets", len(frames), limits), path.name, limit="sheets")
    out = {str(k): f.astype(object).where(f.notna(), None).values.tolist() for k, f in frames.items()}
    for k, rows in out.items():
        _check_cells(rows, path.name, limits, k)
    return out


def _excel_rows(wb, name: str, source: str, limits: ReadLimits) -> list[list[object]]:
    """Raw cell values of one sheet, row by row, refused as soon as it passes ``limits`` (rows,
    cells, characters per cell). The dimension the sheet declares is ignored: a row is as wide as
    its last cell, never padded to a far column."""
    ws = wb[name]
    ws.reset_dimensions()
    out: list[list[object]] = []
    cells = 0
    most = limits.cell_chars
    for r in ws.iter_rows(values_only=True):
        row = list(r)
        out.append(row)
        cells += len(row)
        if len(out) > limits.rows or cells > limits.cells:
            _check_cells(out, source, limits, name)
        for c in row:
            if type(c) is str and len(c) > most:
                _check_cells(out, source, limits, name)
    _check_cells(out, source, limits, name, longest=0)  # every cell's length checked above
    return out


def _visible(wb) -> list[str]:
    """Names of the visible sheets of an openpyxl workbook (hidden and « very hidden » left out)."""
    return [n for n in wb.sheetnames if getattr(wb[n], "sheet_state", "visible") == "visible"]


def _sheet_name(names: list[str], sheet: str | int | None, source: str, error: type[InputError],
                visible: list[str] | None = None) -> str:
    """The sheet asked for (name or 0-based position among every sheet); without ``sheet``, the
    first visible one."""
    if sheet is None:
        shown = names if visible is None else visible
        if not shown:
            raise error(f"aucune feuille visible ; feuilles masquées : {', '.join(names)} (indiquer la "
                        "feuille à lire : sheet=)", source)
        return shown[0]
    if isinstance(sheet, int) and not isinstance(sheet, bool):
        if 0 <= sheet < len(names):
            return names[sheet]
    elif sheet in names:
        return str(sheet)
    raise error(f"pas de feuille « {sheet} » ; feuilles du classeur : {', '.join(names)}", source)


def _grid(path: Path, sheet: str | int | None, error: type[InputError],
          limits: ReadLimits) -> tuple[list[list], dict]:
    """Rows of a text table (raw strings, not yet cleaned) or of one sheet (cell texts).

    ``meta``: ``source``, ``sheet``, ``encoding``, ``separator``, ``stray_bytes`` (a UTF-8 file's
    bytes read as Windows-1252, :func:`decode_text`), ``sheets_hidden`` (hidden sheets passed
    over when no sheet was asked for)."""
    suffix = path.suffix.lower()
    meta: dict = {"source": path.name, "sheet": None, "encoding": None, "separator": None,
                  "stray_bytes": (), "sheets_hidden": []}
    if suffix in EXCEL_SUFFIXES:
        wb = _open_workbook(path, error, limits)
        try:
            visible = _visible(wb)
            name = _sheet_name(list(wb.sheetnames), sheet, path.name, error, visible)
            if sheet is None:
                meta["sheets_hidden"] = [n for n in wb.sheetnames if n not in visible]
            raw = _excel_rows(wb, name, path.name, limits)
        except (KeyError, ValueError, TypeError, OSError) as exc:  # a damaged sheet inside the zip
            if isinstance(exc, InputError):
                raise
            raise error(_workbook_message(exc), path.name) from exc
        finally:
            wb.close()
        meta["sheet"] = name
        return [[cell_text(c) for c in r] for r in raw], meta
    if suffix in OTHER_SHEET_SUFFIXES:
        sheets = _other_sheets(path, None, error, limits)
        name = _sheet_name(list(sheets), sheet, path.name, error)
        meta["sheet"] = name
        return [[cell_text(c) for c in r] for r in sheets[name]], meta
    if suffix in JSON_SUFFIXES:
        raise error("un fichier JSON n'est pas lu ligne à ligne : utiliser read_table", path.name)
    text, enc, stray = decode_text(path.read_bytes(), path.name, error)
    # counted before splitting: a file of millions of empty lines never becomes millions of strings
    breaks = max(text.count("\n"), text.count("\r"))
    if breaks > limits.rows + 1:
        raise LimitError(exceeded("rows", breaks, limits), path.name, limit="rows")
    # line i is row i + 1; str.splitlines (fast) also splits on NEL and Unicode line separators
    if "\x85" in text or "\u2028" in text or "\u2029" in text:
        lines = re.split(r"\r\n|\r|\n", text)
        if lines and lines[-1] == "":
            lines.pop()
    else:
        lines = text.splitlines()
    csv.field_size_limit(limits.cell_chars)  # the csv module refuses longer cells itself (the same every call)
    hint = re.fullmatch(r"\s*sep=(.)\s*", lines[0]) if lines else None  # Excel's "sep=;" first line
    sep = hint.group(1) if hint else sniff_separator(lines)
    meta.update(encoding=enc, separator=sep, stray_bytes=stray)
    if len(lines) > limits.rows:
        raise LimitError(exceeded("rows", len(lines), limits), path.name, limit="rows")
    if sep is not None and text.count(sep) + len(lines) > limits.cells:  # before parsing: a cell each
        raise LimitError(exceeded("cells", text.count(sep) + len(lines), limits,
                                  f"{fr.integer(text.count(sep) + len(lines))} cellules au plus"),
                         path.name, limit="cells")
    reader = csv.reader(lines, delimiter=sep or "\x1f")  # one column without separator (quotes removed)
    try:
        rows = list(reader)
    except csv.Error as exc:
        if "field limit" in str(exc):
            raise LimitError("fichier CSV mal formé (guillemets non refermés ou cellule démesurée) : " + exceeded(
                "cell_chars", limits.cell_chars + 1, limits,
                f"cellule de plus de {fr.integer(limits.cell_chars)} caractères"),
                             path.name, reader.line_num, limit="cell_chars") from exc
        raise error("fichier CSV mal formé (guillemets non refermés ou cellule démesurée)", path.name,
                    reader.line_num) from exc
    _check_cells(rows, path.name, limits, longest=max(map(len, lines), default=0))
    return rows, meta


def _clean_rows(rows: Sequence[Sequence[object]]) -> list[list[str | None]]:
    return [[cell_text(c) for c in r] for r in rows]


def read_rows(
    path: str | Path, sheet: str | int | None = None, *, error: type[InputError] = InputError,
    limits: ReadLimits | None = None,
) -> tuple[list[list[str | None]], dict]:
    """Every row of a text table or of one sheet (default: the first visible) as lists of cell
    texts, within ``limits`` (:class:`~cpts_geo.io.limits.ReadLimits`).

    Returns (rows, meta) with ``meta``: ``source`` (file name), ``sheet``, ``encoding`` and
    ``separator`` (text tables). Row ``i`` of the list is row ``i + 1`` of the file.
    """
    lim = resolve(limits)
    path = check_file(path, error, lim)
    rows, meta = _grid(path, sheet, error, lim)
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


#: ``text`` without the apostrophe a CSV puts before a formula-like text (``'=x`` → ``=x``,
#: :func:`cpts_geo.io.french.csv_text`): a file cpts_geo wrote reads back as it was
_written_text = from_csv_text


def _clean_column(values: list) -> list:
    return [(_written_text(v.strip()) or None) if type(v) is str else v for v in values]


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
    limits: ReadLimits | None = None,
) -> pd.DataFrame:
    """A table file as a DataFrame of text cells (object dtype, None when empty).

    CSV/TXT/TSV (encoding and separator detected), XLSX/XLSM (``sheet``: name or 0-based
    position, default the first), ODS/XLS (with odfpy / xlrd), JSON (a list of records or
    ``{"records"|"data"|"items": [...]}``: scalar values as text, lists kept as lists of text).
    The header is row ``header_row`` (1-based; 0: no header, columns named "colonne 1"…) or
    found by :func:`detect_header` with ``hints`` (expected column names). Rows entirely empty are skipped (counted in ``attrs["blank_rows"]``);
    ``attrs["rows"]`` holds the file row of each data row. Without ``sheet``, the first visible
    sheet is read (hidden ones named in ``attrs["sheets_hidden"]``); a UTF-8 file's stray bytes
    read as Windows-1252 are in ``attrs["stray_bytes"]`` (:func:`decode_text`).

    ``limits`` (:class:`~cpts_geo.io.limits.ReadLimits`, default
    :func:`~cpts_geo.io.limits.current_limits`) bounds the file size, rows, cells, characters per
    cell, sheets and a workbook's decompressed size; beyond them :class:`LimitError` names the
    limit and how to raise it.
    """
    lim = resolve(limits)
    path = check_file(source, error, lim)
    if path.suffix.lower() in JSON_SUFFIXES:
        return json_records(read_json(path, error=error, limits=lim), path.name, error=error, limits=lim)
    rows, meta = _grid(path, sheet, error, lim)
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
    limits: ReadLimits | None = None,
) -> dict[str, pd.DataFrame]:
    """Every visible sheet of a workbook read as :func:`read_table` does (sheets without any
    cell, or shorter than a forced ``header_row``, are left out; hidden sheets are not read and
    their names are in each frame's ``attrs["sheets_hidden"]``); a text or JSON table gives one
    entry keyed ``""``. ``limits`` as for :func:`read_table`."""
    lim = resolve(limits)
    path = check_file(source, error, lim)
    suffix = path.suffix.lower()
    if suffix not in SHEET_SUFFIXES:
        return {"": read_table(path, header_row=header_row, hints=hints, error=error, limits=lim)}
    out: dict[str, pd.DataFrame] = {}
    hidden: list[str] = []
    if suffix in EXCEL_SUFFIXES:
        wb = _open_workbook(path, error, lim)
        try:
            visible = _visible(wb)
            hidden = [n for n in wb.sheetnames if n not in visible]
            grids = {n: _excel_rows(wb, n, path.name, lim) for n in visible}
        except (KeyError, ValueError, TypeError, OSError) as exc:
            if isinstance(exc, InputError):
                raise
            raise error(_workbook_message(exc), path.name) from exc
        finally:
            wb.close()
    else:
        grids = _other_sheets(path, None, error, lim)
    for name, raw in grids.items():
        rows = [[cell_text(c) for c in r] for r in raw]
        if not any(any(c is not None for c in r) for r in rows):
            continue
        at = _header_index(rows, header_row, hints, path.name, error)
        if at >= len(rows):  # a forced header row beyond this sheet: not a table of this kind
            continue
        meta = {"source": path.name, "sheet": name, "encoding": None, "separator": None,
                "stray_bytes": (), "sheets_hidden": hidden}
        out[name] = _frame(rows, at, meta, path.name, error)
    if not out:
        if hidden:
            raise error("classeur vide : aucune feuille visible ne contient de cellule ; feuilles masquées, "
                        f"non lues : {', '.join(hidden)} (indiquer la feuille à lire : sheet=)", path.name)
        raise error("classeur vide (aucune feuille ne contient de cellule)", path.name)
    return out


# ------------------------------------------------------------------------------------------
# JSON
# ------------------------------------------------------------------------------------------


def read_json(source: str | Path, *, error: type[InputError] = InputError,
              limits: ReadLimits | None = None) -> object:
    """The parsed content of a JSON file (UTF-8, BOM or not, or Windows-1252), or the French
    error naming the line and column of a syntax error; a file larger than
    ``limits.file_bytes`` or nested too deep for the parser is refused."""
    path = check_file(source, error, limits)
    text, _ = decode(path.read_bytes(), path.name, error)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"JSON mal formé (ligne {exc.lineno}, colonne {exc.colno} : {exc.msg})",
                    path.name, exc.lineno) from exc
    except RecursionError as exc:
        raise error("JSON trop imbriqué (des milliers de crochets ou d'accolades ouverts les uns dans les "
                    "autres) : ce n'est pas une liste de communes ou de CPTS", path.name) from exc


def _json_cell(v: object) -> object:
    if isinstance(v, (list, tuple)):
        return [t for t in (cell_text(x) for x in v) if t is not None]
    if isinstance(v, dict):
        return json.dumps(v, ensure_ascii=False)
    return cell_text(v)


def json_records(data: object, source: str, *, error: type[InputError] = InputError,
                 limits: ReadLimits | None = None) -> pd.DataFrame:
    """A DataFrame of a JSON list of records (or of ``{"records"|"data"|"items": [...]}``), cells as
    text (lists kept as lists of text); ``attrs["rows"]`` numbers the records from 1. ``limits``:
    records (``rows``), cells and characters per value."""
    lim = resolve(limits)
    if isinstance(data, dict):
        for k in ("records", "data", "items"):
            if isinstance(data.get(k), list):
                return json_records(data[k], source, error=error, limits=lim)
        raise error("JSON non reconnu : attendu une liste d'enregistrements", source)
    if not isinstance(data, list):
        raise error("JSON non reconnu : attendu une liste d'enregistrements", source)
    if not data:
        raise error("fichier vide (liste JSON sans enregistrement)", source)
    bad = next((i for i, r in enumerate(data) if not isinstance(r, dict)), None)
    if bad is not None:
        raise error("enregistrement JSON qui n'est pas un objet", source, bad + 1, data[bad])
    if len(data) > lim.rows:
        raise LimitError(exceeded("rows", len(data), lim, f"{fr.integer(len(data))} enregistrements"), source, limit="rows")
    cols = list(dict.fromkeys(k for r in data for k in r))
    grid = [[_json_cell(r.get(c)) for c in cols] for r in data]
    _check_cells([[x for c in r for x in (c if isinstance(c, list) else [c])] for r in grid], source, lim)
    df = pd.DataFrame(grid,
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
