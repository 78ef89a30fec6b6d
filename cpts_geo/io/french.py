"""Writing tables the way a French Excel opens them.

:func:`write_csv`: ``csv_format="fr"`` (default) writes ``;``-separated CSV with a decimal comma,
UTF-8 with BOM (Excel detects the encoding), integers without ``.0``; ``"international"`` writes
``,`` and a decimal point, UTF-8 without BOM. Either reads back with
``pd.read_csv(path, sep=";", decimal=",")`` / ``pd.read_csv(path)``.

:func:`write_sheet`: one workbook sheet with its header frozen, an autofilter, column widths fitted
to the content and number formats (thousands separators, percent, 0.1 km²) that Excel shows with
the reader's own separators (a French Excel: ``1 234,5``).

One cell-writing rule for both: a text beginning with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return (:data:`FORMULA_TRIGGERS`: a CPTS called « =HYPERLINK(…) ») is written as text,
never as a formula — in a workbook a string cell with Excel's quote prefix (:func:`text_cell`), in
CSV behind a leading apostrophe (:func:`csv_text`, the OWASP rule against CSV injection). Only text
cells: numbers, negative ones included, stay numbers. The tool writes no formula of its own.
"""

from __future__ import annotations

import io
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from cpts_geo.errors import OptionError, OutputError

CSV_FORMATS: tuple[str, ...] = ("fr", "international")
_DIALECTS = {
    "fr": {"sep": ";", "decimal": ",", "encoding": "utf-8-sig"},
    "international": {"sep": ",", "decimal": ".", "encoding": "utf-8"},
}

#: Excel number formats by name (format codes are locale-independent: Excel displays ``#,##0``
#: with the reader's thousands separator, a narrow space in French)
NUMBER_FORMATS: dict[str, str] = {
    "integer": "#,##0",
    "decimal1": "#,##0.0",
    "decimal2": "#,##0.00",
    # a share 0-1 shown as 12.3 % (a French Excel: « 12,3 % », no-break space before %)
    "percent": '0.0"\u00a0"%',
    "percent_value": '0.0" %"',  # a value already in percent (12.3) shown as 12.3 %
    "km2": '#,##0.0" km²"',
    "date": "dd/mm/yyyy",
    "text": "@",
}


#: first characters that make a spreadsheet read a text cell as a formula (OWASP, CSV injection)
FORMULA_TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
#: first characters put behind the apostrophe in a CSV: the triggers, and the line feed a CR
#: becomes (:func:`csv_text`)
_AFTER_APOSTROPHE = frozenset((*FORMULA_TRIGGERS, "\n"))
_FIRST = frozenset((*_AFTER_APOSTROPHE, "'"))


def is_formula_text(value: object) -> bool:
    """True when ``value`` is a text a spreadsheet would read as a formula (:data:`FORMULA_TRIGGERS`).

    Parameters
    ----------
    value : object
        A cell value; only a ``str`` can be formula-like (numbers never are).

    Returns
    -------
    bool

    Examples
    --------
    >>> is_formula_text("=HYPERLINK('http://x')"), is_formula_text("-2"), is_formula_text(-2)
    (True, True, False)
    """
    return isinstance(value, str) and value[:1] in FORMULA_TRIGGERS


def _needs_apostrophe(value: object) -> bool:
    """A formula-like text (or one starting with the line feed a CR becomes), or one that already
    starts with the apostrophe of the rule (doubled, so that :func:`from_csv_text` drops one)."""
    return isinstance(value, str) and (value[:1] in _AFTER_APOSTROPHE or (
        value[:1] == "'" and value[1:2] in _AFTER_APOSTROPHE))


def csv_text(value: object) -> object:
    """``value`` as a CSV cell: a text :func:`is_formula_text` behind a leading apostrophe (OWASP),
    carriage returns inside a text written as line feeds (a bare CR is not quoted by the CSV
    writer and would split the row); any other value unchanged.

    Parameters
    ----------
    value : object
        A cell value.

    Returns
    -------
    object
        The text to write, or ``value`` itself when it is not a text.

    Examples
    --------
    >>> csv_text("=1+1"), csv_text("@SUM(A1)"), csv_text("CPTS Sud 04"), csv_text(-5)
    ("'=1+1", "'@SUM(A1)", 'CPTS Sud 04', -5)
    """
    if not isinstance(value, str):
        return value
    text = "'" + value if _needs_apostrophe(value) else value
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def from_csv_text(text: str) -> str:
    """The text a CSV cell written by :func:`csv_text` stands for: one leading apostrophe dropped
    before a formula-like text (``'=x`` → ``=x``, ``''=x`` → ``'=x``); any other text unchanged.
    :mod:`cpts_geo.io.tables` reads every CSV cell through it.

    Parameters
    ----------
    text : str
        A cell as read (stripped).

    Returns
    -------
    str

    Examples
    --------
    >>> from_csv_text("'=1+1"), from_csv_text("'simple"), from_csv_text(csv_text("'=x"))
    ('=1+1', "'simple", "'=x")
    """
    return text[1:] if text[:1] == "'" and _needs_apostrophe(text[1:]) else text


def _csv_column(col: pd.Series) -> pd.Series:
    """``col`` with its formula-like texts behind an apostrophe (text columns only)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        col = col.astype(object)
    if not (pd.api.types.is_object_dtype(col.dtype) or pd.api.types.is_string_dtype(col.dtype)):
        return col
    if isinstance(col.dtype, pd.StringDtype):  # vectorised: no Python loop over clean columns
        texts = col.str
        hit = (texts.slice(0, 1).isin(list(_FIRST)) | texts.contains("\r", regex=False)).fillna(False)
        if not hit.any():
            return col
        hit = hit.to_numpy(dtype=bool)
        values = col.to_numpy(dtype=object)
    else:
        values = col.to_numpy(dtype=object)
        hit = np.fromiter((isinstance(v, str) and (v[:1] in _FIRST or "\r" in v) for v in values),
                          dtype=bool, count=len(values))
        if not hit.any():
            return col
    values = values.copy()
    values[hit] = [csv_text(v) for v in values[hit]]
    return pd.Series(values, index=col.index, name=col.name, dtype=object)


def csv_cells(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``df`` whose text cells, headers and index labels follow the cell rule of
    :func:`csv_text`; numbers stay numbers (:func:`write_csv` writes through it).

    Parameters
    ----------
    df : pandas.DataFrame

    Returns
    -------
    pandas.DataFrame
        A copy; columns holding a formula-like text become ``object`` columns.
    """
    out = df.copy()
    for i in range(out.shape[1]):
        before = out.iloc[:, i]
        col = _csv_column(before)
        if col is not before:
            out.isetitem(i, col)
    out.columns = [csv_text(c) for c in out.columns]
    if not isinstance(out.index, pd.MultiIndex) and (
            pd.api.types.is_object_dtype(out.index.dtype) or pd.api.types.is_string_dtype(out.index.dtype)):
        out.index = pd.Index([csv_text(v) for v in out.index], name=csv_text(out.index.name))
    return out


def text_cell(cell: object) -> object:
    """Make the openpyxl ``cell`` holding a formula-like text (:func:`is_formula_text`) a string
    cell with Excel's quote prefix: shown as typed, never evaluated, even once edited.

    Parameters
    ----------
    cell : openpyxl.cell.Cell or openpyxl.cell.WriteOnlyCell
        A cell whose value is set.

    Returns
    -------
    object
        The same cell (any other value left as it is).
    """
    if is_formula_text(cell.value):
        cell.data_type = "s"
        cell.quotePrefix = True
    return cell


def check_csv_format(csv_format: str) -> str:
    """``csv_format`` when it is one of :data:`CSV_FORMATS`; an :class:`OptionError` otherwise."""
    if csv_format not in CSV_FORMATS:
        raise OptionError("csv_format", csv_format, f"attendu {' ou '.join(CSV_FORMATS)}")
    return csv_format


def _integral(col: pd.Series) -> bool:
    if not pd.api.types.is_float_dtype(col.dtype):
        return False
    v = col.to_numpy(dtype=float, na_value=np.nan)
    v = v[~np.isnan(v)]
    return bool(np.isfinite(v).all() and (v == np.round(v)).all() and (np.abs(v) < 2**53).all())


def csv_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``df`` ready for CSV: float columns holding only whole numbers become integers
    (``1000`` rather than ``1000.0``; missing values stay empty)."""
    out = df.copy()
    for c in out.columns:
        if _integral(out[c]):
            out[c] = out[c].astype("Int64")
    return out


def write_csv(df: pd.DataFrame, path: str | os.PathLike | io.TextIOBase, csv_format: str = "fr",
              *, index: bool = False) -> None:
    """Write ``df`` as CSV in the French (default) or international convention (module doc).

    ``path`` is a file path or an open text stream (no BOM is written to a stream such as
    standard output). A path that cannot be written raises :class:`OutputError` in French.
    """
    d = _DIALECTS[check_csv_format(csv_format)]
    frame = csv_cells(csv_frame(df))
    if not isinstance(path, (str, os.PathLike)):
        frame.to_csv(path, sep=d["sep"], decimal=d["decimal"], index=index, lineterminator="\n")
        return
    try:
        frame.to_csv(path, sep=d["sep"], decimal=d["decimal"], encoding=d["encoding"], index=index,
                     lineterminator="\n")
    except IsADirectoryError as exc:
        raise OutputError(path, "c'est un dossier : impossible d'y écrire le fichier CSV") from exc
    except PermissionError as exc:
        raise OutputError(path, "écriture refusée (droits insuffisants, ou fichier ouvert dans un autre "
                                "programme comme Excel)") from exc
    except OSError as exc:
        raise OutputError(path, f"écriture impossible ({exc.strerror or exc})") from exc


# ------------------------------------------------------------------------------------------
# Workbook sheets
# ------------------------------------------------------------------------------------------

_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def sheet_title(name: str) -> str:
    """A valid Excel sheet name: forbidden characters ``[]:*?/\\`` replaced, 31 characters at most."""
    return _SHEET_FORBIDDEN.sub("-", str(name)).strip("'")[:31] or "Feuille"


def _default_format(col: pd.Series) -> str | None:
    if pd.api.types.is_bool_dtype(col.dtype):
        return None
    if pd.api.types.is_integer_dtype(col.dtype) or _integral(col):
        return NUMBER_FORMATS["integer"]
    if pd.api.types.is_float_dtype(col.dtype):
        return NUMBER_FORMATS["decimal2"]
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        return NUMBER_FORMATS["date"]
    return None


def _width(col: pd.Series, header: str) -> float:
    sample = col.head(2000)
    lengths = [len(str(v)) for v in sample if v is not None and not (isinstance(v, float) and math.isnan(v))]
    longest = max([len(str(header)), *lengths]) if lengths else len(str(header))
    return float(min(max(longest + 2, 8), 60))


def _format_code(fmt: str | None) -> str | None:
    return NUMBER_FORMATS.get(fmt, fmt) if fmt is not None else None


def write_sheet(writer: pd.ExcelWriter, df: pd.DataFrame, name: str,
                formats: Mapping[str, str | Sequence[str | None]] | None = None) -> str:
    """Write ``df`` on sheet ``name`` of an openpyxl ``pd.ExcelWriter`` with a frozen, filtered
    header row, fitted column widths and number formats.

    ``formats`` maps a column to a key of :data:`NUMBER_FORMATS` (``"percent"``, ``"km2"``…) or to
    an Excel format code; other numeric columns get ``#,##0`` (whole numbers) or ``#,##0.00``.
    A column whose rows hold different kinds of figures (a « valeur » column mixing counts,
    shares and areas) takes a sequence of one format per row instead (``None``: no format, e.g.
    a text cell). Returns the sheet name used (:func:`sheet_title`).
    """
    from openpyxl.utils import get_column_letter

    title = sheet_title(name)
    df.to_excel(writer, sheet_name=title, index=False)
    ws = writer.sheets[title]
    for row in ws.iter_rows():  # the cell rule (module doc): pandas writes "=…" as a formula
        for cell in row:
            if isinstance(cell.value, str):
                text_cell(cell)
    ws.freeze_panes = "A2"
    n_rows, n_cols = len(df) + 1, len(df.columns)
    if n_cols:
        ws.auto_filter.ref = f"A1:{get_column_letter(n_cols)}{n_rows}"
    formats = dict(formats or {})
    for k, col in enumerate(df.columns, start=1):
        letter = get_column_letter(k)
        ws.column_dimensions[letter].width = _width(df[col], str(col))
        fmt = formats.get(col)
        if fmt is not None and not isinstance(fmt, str):
            per_row = list(fmt)
            if len(per_row) != len(df):
                raise ValueError(f"{len(per_row)} formats for {len(df)} rows of column {col!r}")
            for (cell,), f in zip(ws.iter_rows(min_row=2, max_row=n_rows, min_col=k, max_col=k), per_row,
                                  strict=True):
                code = _format_code(f)
                if code is not None and not isinstance(cell.value, str):
                    cell.number_format = code
            continue
        fmt = _format_code(fmt) if fmt is not None else _default_format(df[col])
        if fmt is None:
            continue
        for (cell,) in ws.iter_rows(min_row=2, max_row=n_rows, min_col=k, max_col=k):
            cell.number_format = fmt
    return title


def _cell_value(v: object) -> object:
    """A value openpyxl writes: None for missing, Python scalars for numpy ones."""
    if v is None or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
        return None
    if v is pd.NA:
        return None
    if isinstance(v, np.generic):
        v = v.item()
        return None if isinstance(v, float) and math.isnan(v) else v
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    return v


def _write_streamed(path: Path, sheets: Mapping[str, pd.DataFrame],
                    formats: Mapping[str, Mapping[str, str | Sequence[str | None]]]) -> None:
    """The sheets of :func:`write_workbook` in openpyxl's write-only mode: rows are streamed to the
    file, so memory stays flat whatever the number of rows (the same header, frozen row, filter,
    widths and number formats, per column or per row, as :func:`write_sheet`)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    thin = Side(style="thin")
    head_font, head_border = Font(bold=True), Border(left=thin, right=thin, top=thin, bottom=thin)
    head_align = Alignment(horizontal="center", vertical="top")
    for name, df in sheets.items():
        ws = wb.create_sheet(sheet_title(name))
        ws.freeze_panes = "A2"
        n_rows, n_cols = len(df) + 1, len(df.columns)
        if n_cols:
            ws.auto_filter.ref = f"A1:{get_column_letter(n_cols)}{n_rows}"
        fmts = dict(formats.get(name) or {})
        col_formats = []
        for k, col in enumerate(df.columns, start=1):
            ws.column_dimensions[get_column_letter(k)].width = _width(df[col], str(col))
            fmt = fmts.get(col)
            if fmt is not None and not isinstance(fmt, str):  # one format per row
                per_row = [_format_code(f) for f in fmt]
                if len(per_row) != len(df):
                    raise ValueError(f"{len(per_row)} formats for {len(df)} rows of column {col!r}")
                col_formats.append(per_row)
            else:
                col_formats.append(_format_code(fmt) if fmt is not None else _default_format(df[col]))
        header = []
        for col in df.columns:
            c = text_cell(WriteOnlyCell(ws, value=str(col)))
            c.font, c.border, c.alignment = head_font, head_border, head_align
            header.append(c)
        ws.append(header)
        columns = [df[c].to_numpy(dtype=object) for c in df.columns]
        for i in range(len(df)):
            row = []
            for j, fmt in enumerate(col_formats):
                v = _cell_value(columns[j][i])
                if isinstance(fmt, list):  # per-row formats never apply to a text cell
                    fmt = None if isinstance(v, str) else fmt[i]
                if is_formula_text(v):  # the cell rule (module doc): text, never a formula
                    row.append(text_cell(WriteOnlyCell(ws, value=v)))
                elif fmt is None or v is None:
                    row.append(v)
                else:
                    c = WriteOnlyCell(ws, value=v)
                    c.number_format = fmt
                    row.append(c)
            ws.append(row)
    wb.save(path)


def write_workbook(path: str | os.PathLike, sheets: Mapping[str, pd.DataFrame],
                   formats: Mapping[str, Mapping[str, str | Sequence[str | None]]] | None = None) -> None:
    """Write several sheets (:func:`write_sheet`) into the workbook ``path``; ``formats`` maps a
    sheet name to its column formats. Raises :class:`OutputError` when the file cannot be written."""
    formats = formats or {}
    try:
        _write_streamed(Path(path), sheets, formats)
    except PermissionError as exc:
        raise OutputError(path, "écriture refusée (droits insuffisants, ou classeur ouvert dans Excel)") from exc
    except IsADirectoryError as exc:
        raise OutputError(path, "c'est un dossier : impossible d'y écrire le classeur") from exc
    except OSError as exc:
        raise OutputError(path, f"écriture impossible ({exc.strerror or exc})") from exc
