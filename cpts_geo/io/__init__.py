"""Reading and writing tables: one behaviour for every reader and writer of cpts_geo.

:mod:`cpts_geo.io.tables` reads any table a user brings (encodings, separators, Excel/ODS/CSV/
JSON, header detection, code cleaning, column matching); :mod:`cpts_geo.io.french` writes tables
the French-Excel way; :mod:`cpts_geo.io.irdes` reads the IRDES typologies;
:mod:`cpts_geo.io.limits` holds the bounds every reader checks (:class:`ReadLimits`).
"""

from cpts_geo.io.limits import DEFAULT_LIMITS, ReadLimits, current_limits
from cpts_geo.io.tables import (
    INSEE_CODE_PATTERN,
    INSEE_CODE_RE,
    cell_text,
    clean_code,
    clean_codes,
    clean_text,
    column_key,
    find_column,
    is_insee_code,
    list_sheets,
    read_json,
    read_rows,
    read_sheets,
    read_table,
)

__all__ = [
    "INSEE_CODE_PATTERN",
    "INSEE_CODE_RE",
    "DEFAULT_LIMITS",
    "ReadLimits",
    "cell_text",
    "clean_code",
    "clean_text",
    "clean_codes",
    "column_key",
    "current_limits",
    "find_column",
    "is_insee_code",
    "list_sheets",
    "read_json",
    "read_rows",
    "read_sheets",
    "read_table",
]
