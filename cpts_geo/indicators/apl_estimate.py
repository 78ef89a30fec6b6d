"""The computed APL-style estimate (:func:`~cpts_geo.indicators.apl.compute_apl`) per CPTS:
aggregated, written, read back and attached to a coverage diagnosis.

It is an estimate computed by cpts_geo (2SFCA, the DREES method on other inputs), never the
official DREES APL (:mod:`cpts_geo.indicators.apl_official`): every column, header, summary line
and metadata entry says so. ``cpts-geo apl --listing LISTE`` writes the table
(:func:`write_apl_estimate_by_cpts`: ``<sortie>_cpts.csv`` and ``<sortie>_cpts.meta.json``);
``cpts-geo coverage --apl-estimee FICHIER`` reads it back (:func:`attach_apl_estimate`).
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from cpts_geo import fr
from cpts_geo.errors import InputError
from cpts_geo.indicators.apl_official import aggregate_apl
from cpts_geo.io.french import write_csv
from cpts_geo.io.tables import find_column, parse_number, read_table

if TYPE_CHECKING:
    from cpts_geo.coverage import Diagnosis

#: header of the estimate in every table a person reads (CSV, workbook)
ESTIMATE_HEADER = "APL estimée (cpts_geo, pas l'APL DREES)"
#: what the estimate is, in one French sentence (summary, « Sources » sheet)
ESTIMATE_NOTE = ("estimation de type APL calculée par cpts_geo (2SFCA, méthode de la DREES appliquée à "
                 "d'autres données) ; ce n'est pas l'APL publiée par la DREES")
#: attrs of compute_apl too long or too detailed to repeat per CPTS
_HEAVY = ("reasons", "refused", "supply_unreachable_codes", "plm_city_rows_dropped", "_rows")

_HEADERS = {"cpts": "CPTS", "apl_estime": ESTIMATE_HEADER, "population": "population des communes calculées",
            "n_units": "nb communes", "n_missing": "nb communes non calculées",
            "missing_codes": "communes non calculées"}


def apl_estimate_by_cpts(members: pd.DataFrame, apl: pd.Series, population: pd.Series | None = None,
                         listing: str | None = None) -> pd.DataFrame:
    """The estimate ``apl`` (per commune, :func:`compute_apl`) averaged over the units of each
    CPTS of ``members``, weighted by ``population`` (the population of the computation).

    French headers (:data:`ESTIMATE_HEADER`…); the DREES classes (2,5 / 4) are not applied to an
    estimate. ``attrs``: the parameters and sources of the computation, ``listing``,
    ``aggregation``, ``note``."""
    per = aggregate_apl(members, apl, population, name="apl_estime").drop(columns="apl_estime_flag",
                                                                           errors="ignore")
    per["missing_codes"] = per["missing_codes"].map("; ".join)
    out = per.rename(columns=_HEADERS)
    out.attrs = {k: v for k, v in per.attrs.items() if k not in _HEAVY}
    out.attrs.update(indicator="apl_estimate_by_cpts", note=ESTIMATE_NOTE, listing=listing)
    return out


def meta_path(path: str | Path) -> Path:
    """``apl_cpts.csv`` → ``apl_cpts.meta.json`` (the parameters of the estimate beside it)."""
    p = Path(path)
    return p.with_name(p.stem + ".meta.json")


def write_apl_estimate_by_cpts(table: pd.DataFrame, path: str | Path, csv_format: str = "fr",
                               *, inputs: tuple[str | Path, ...] = ()) -> Path:
    """Write the per-CPTS estimate as CSV (French convention by default) and its parameters as
    ``<name>.meta.json`` beside it, each complete or absent and never over one of ``inputs``
    (:func:`cpts_geo.io.atomic.output_file`); returns the metadata path."""
    from cpts_geo.io.atomic import output_file, write_text

    with output_file(path, inputs) as tmp:
        write_csv(table, tmp, csv_format)
    meta = meta_path(path)
    write_text(meta, json.dumps(table.attrs, ensure_ascii=False, indent=1, default=str) + "\n", inputs=inputs)
    return meta


def read_apl_estimate(path: str | Path) -> pd.DataFrame:
    """The table written by ``cpts-geo apl --listing`` read back: columns ``cpts``, ``apl_estime``
    (floats, NaN where the file has no value). ``attrs``: the parameters of its ``.meta.json``
    when present, ``source`` (file name), ``note``. A file without the CPTS and estimate columns,
    or with a value that is not a number, is an :class:`~cpts_geo.errors.InputError`."""
    p = Path(path)
    t = read_table(p, hints=("CPTS", ESTIMATE_HEADER))
    cpts_col = find_column(t.columns, ("CPTS", "cpts", "nom de la CPTS"), what="des CPTS", source=p.name,
                           required=True)
    est_col = find_column(t.columns, (ESTIMATE_HEADER, "apl_estime", "APL estimée"), partial=True,
                          what=f"« {ESTIMATE_HEADER} » (écrite par cpts-geo apl --listing)", source=p.name,
                          required=True)
    rows = t.attrs.get("rows") or list(range(2, len(t) + 2))
    values = []
    for row, v in zip(rows, t[est_col], strict=True):
        x = parse_number(v)
        if x is None:
            raise InputError(f"colonne « {est_col} » : nombre attendu", p.name, row, v)
        values.append(x)
    names = [str(c).strip() if c is not None else None for c in t[cpts_col]]
    for row, n in zip(rows, names, strict=True):
        if not n:
            raise InputError(f"colonne « {cpts_col} » : nom de CPTS vide", p.name, row)
    out = pd.DataFrame({"cpts": names, "apl_estime": values})
    meta = {}
    if meta_path(p).is_file():
        try:
            meta = json.loads(meta_path(p).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"métadonnées illisibles ({exc})", meta_path(p).name) from exc
    out.attrs = {**meta, "source": p.name, "note": ESTIMATE_NOTE,
                 "parameters_file": meta_path(p).name if meta else None}
    return out


def attach_apl_estimate(diagnosis: Diagnosis, path: str | Path) -> Diagnosis:
    """A copy of ``diagnosis`` whose perimeters carry ``apl_estime``, the computed estimate of
    ``path`` (:func:`read_apl_estimate`) matched by CPTS name, and whose provenance records it
    under ``sources['apl_estime']`` (file, parameters, note that it is not the DREES APL).

    CPTS of the file absent from the diagnosis are named in a warning and in
    ``sources['apl_estime']['cpts_not_in_listing']``; a file sharing no CPTS with the diagnosis
    is an :class:`~cpts_geo.errors.InputError`."""
    est = read_apl_estimate(path)
    by = est.drop_duplicates("cpts", keep="first").set_index("cpts")["apl_estime"]
    per = diagnosis.perimeters.copy()
    names = per["cpts"].astype(str)
    if not names.isin(by.index).any():
        raise InputError("aucune CPTS de ce fichier ne figure dans la liste diagnostiquée (noms de CPTS "
                         f"différents ? fichier attendu : sortie de cpts-geo apl --listing) ; CPTS du fichier : "
                         f"{fr.enumeration(by.index, limit=5)}", Path(path).name)
    per["apl_estime"] = names.map(by).astype(float).to_numpy()
    extra = sorted(set(by.index) - set(names))
    if extra:
        warnings.warn(f"{Path(path).name} : {fr.plural(len(extra), 'CPTS absente', 'CPTS absentes')} de la "
                      f"liste diagnostiquée, {fr.plural(len(extra), 'ignorée', with_number=False)} : "
                      f"{fr.enumeration(extra, limit=10)}", UserWarning, stacklevel=2)
    src = {k: v for k, v in est.attrs.items() if not (isinstance(v, float) and math.isnan(v))}
    src["cpts_not_in_listing"] = extra
    return diagnosis.with_perimeters(per, {"apl_estime": src})
