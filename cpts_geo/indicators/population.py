"""Population of communes (legal populations, any COG year) and zonal sums from a raster grid.

The default is the population municipale légale 2023 of the embedded reference (COG 2026). A
user's table of any COG year (population municipale or totale) is converted to COG 2026 with
:func:`cpts_geo.convert_table` (sums on fusions, population-ratio split on défusions).
:func:`zonal_population` sums a population raster (e.g. the INSEE Filosofi 200 m grid or a 1 km
grid, in a projected CRS) inside drawn polygons, so that a city shared by several CPTS can be
split; :func:`split_commune_population` scales those sums to the commune's legal population.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cpts_geo import fr, reference
from cpts_geo._checks import (
    expect_frame,
    expect_int,
    expect_path,
    expect_series,
    expect_source,
    expect_text,
    expect_year,
)
from cpts_geo.codes import FIRST_COG_YEAR, convert_table
from cpts_geo.crs import LOCAL_CRS, local_crs
from cpts_geo.errors import InputError, OptionError
from cpts_geo.io.tables import clean_codes, find_column, numeric_column, source_rows, table_or_frame
from cpts_geo.rules import CRS_NAMES

KINDS = ("municipale", "totale")
_VALUE_NAMES = {
    "municipale": ("population", "pmun", "population municipale", "pop_mun", "p_mun"),
    "totale": ("population", "ptot", "population totale", "pop_tot", "p_tot"),
}


def commune_population(
    table: pd.DataFrame | str | Path | None = None,
    *,
    cog: int = reference.COG_YEAR,
    kind: str = "municipale",
    year: int | None = None,
    code_col: str = "code",
    value_col: str | None = None,
    source: str | None = None,
) -> pd.Series:
    """Population per COG 2026 unit (communes, arrondissements, collectivités d'outre-mer).

    Parameters
    ----------
    table : pandas.DataFrame, str, pathlib.Path or None, default None
        None: the population municipale légale 2023 of the embedded reference. Otherwise a
        DataFrame or a table file (any encoding and separator, Excel, JSON:
        :func:`cpts_geo.io.read_table`) with one row per commune of COG ``cog``.
    cog : int, default 2026
        COG year of the codes of ``table``; its rows are converted to COG 2026 (mergers summed,
        splits shared by population).
    kind : {"municipale", "totale"}, default "municipale"
        Which legal population ``table`` holds (recorded in ``attrs``).
    year : int or None, default None
        Vintage of the population of ``table`` (recorded in ``attrs``).
    code_col : str, default "code"
        Column of INSEE codes in ``table``.
    value_col : str or None, default None
        Column of population in ``table``; default: a column named population, PMUN/PTOT,
        "population municipale/totale".
    source : str or None, default None
        Name of the source to record in ``attrs`` (default: the file name).

    Returns
    -------
    pandas.Series
        Population (float) indexed by COG 2026 unit code; ``attrs`` gives
        ``population_source``, ``population_year``, ``population_kind`` and ``cog``, and for a
        table the codes refused and the conversion made.

    Raises
    ------
    OptionError
        ``kind`` is not "municipale" or "totale", or "totale" is asked of the reference.
    InputError
        A missing column or a non-numeric value, naming the file and row. Codes unknown in
        COG 2026 are listed in ``attrs["refused"]`` with a warning.

    Examples
    --------
    >>> s = commune_population()
    >>> float(s["04070"]), s.attrs["population_year"]
    (17979.0, 2023)
    >>> t = pd.DataFrame({"code": ["04070", "05061"], "population": [18000, 20000]})
    >>> commune_population(t, cog=2024).loc[["04070", "05061"]].tolist()
    [18000.0, 20000.0]
    """
    expect_source(table, "table", optional=True)
    expect_year(cog, "cog", first=FIRST_COG_YEAR, last=reference.COG_YEAR)
    expect_text(kind, "kind")
    expect_int(year, "year", optional=True, minimum=1800, maximum=2100)
    expect_text(code_col, "code_col")
    expect_text(value_col, "value_col", optional=True)
    expect_text(source, "source", optional=True)
    if kind not in KINDS:
        raise OptionError("kind", kind, "attendu 'municipale' ou 'totale'")
    if table is None:
        if kind != "municipale":
            raise OptionError("kind", kind, "le référentiel embarqué ne contient que la population municipale ; "
                              "fournir une table de population totale (table=..., kind='totale')")
        c = reference.load_communes()
        s = pd.Series(c["population"].astype(float).to_numpy(), index=c["code"].to_numpy(), name="population")
        s.attrs = {
            "population_source": reference.SOURCES["population"],
            "population_year": reference.POPULATION_YEAR,
            "population_kind": "municipale",
            "cog": reference.COG_YEAR,
        }
        return s
    df, read_name = table_or_frame(table, "table de population", (code_col, value_col, *_VALUE_NAMES[kind]))
    name = source or read_name
    code_col = find_column(df.columns, given=code_col, source=name)
    if value_col is None:
        value_col = find_column(df.columns, _VALUE_NAMES[kind], what="de population (préciser value_col)",
                                source=name, required=True)
    else:
        value_col = find_column(df.columns, given=value_col, source=name)
    values = numeric_column(df[value_col], name, str(value_col), source_rows(df))
    codes = clean_codes(df[code_col])
    conv, report = convert_table(
        pd.DataFrame({"code": codes, "population": values.to_numpy()}), from_year=cog,
        value_cols=["population"],
    )
    if report["unknown"]:
        warnings.warn(
            f"{name} : {fr.plural(len(report['unknown']), 'code inconnu', 'codes inconnus')} du COG {cog} et du "
            f"COG {reference.COG_YEAR}, {fr.plural(len(report['unknown']), 'écarté', with_number=False)} : "
            f"{fr.enumeration(report['unknown'], limit=10)}",
            UserWarning,
            stacklevel=2,
        )
    conv = conv[~conv["code"].isin(report["unknown"])]
    s = conv.set_index("code")["population"].astype(float)
    s.attrs = {
        "population_source": name,
        "population_year": year,
        "population_kind": kind,
        "cog": reference.COG_YEAR,
        "converted_from_cog": cog,
        "refused": report["unknown"],
        "conversion": {k: report[k] for k in ("fusions", "splits", "totals_in", "totals_out")},
    }
    return s


def attach_population(
    frame: pd.DataFrame, population: pd.Series | None = None, code_col: str = "code", column: str = "population"
) -> pd.DataFrame:
    """Copy of ``frame`` with a column of population looked up by code.

    Parameters
    ----------
    frame : pandas.DataFrame
        Any table with a column of COG 2026 unit codes.
    population : pandas.Series or None, default None
        Population by code (:func:`commune_population`); default: the embedded reference.
    code_col : str, default "code"
        Column of ``frame`` holding the codes.
    column : str, default "population"
        Name of the column added.

    Returns
    -------
    pandas.DataFrame
        A copy of ``frame`` with ``column`` (float; NaN when the code has no population);
        ``attrs`` gains the population source, year and kind.

    Examples
    --------
    >>> f = attach_population(pd.DataFrame({"code": ["04070", "13201", "99999"]}))
    >>> f["population"].tolist()
    [17979.0, 37599.0, nan]
    """
    expect_text(code_col, "code_col")
    expect_text(column, "column")
    expect_frame(frame, "frame", columns=(code_col,))
    expect_series(population, "population", optional=True)
    if population is None:
        population = commune_population()
    out = frame.copy()
    out[column] = out[code_col].map(population).astype(float)
    out.attrs = {**frame.attrs, **{k: v for k, v in population.attrs.items() if k.startswith("population")}}
    return out


def _check_raster_args(raster: object, polygons: object, band: object, id_col: object) -> None:
    """The arguments shared by :func:`zonal_population` and :func:`split_commune_population`."""
    if not hasattr(raster, "read"):
        expect_path(raster, "raster")
    expect_frame(polygons, "polygons", geo=True, series=True, crs=True)
    expect_int(band, "band", minimum=1)
    expect_text(id_col, "id_col", optional=True)
    if id_col is not None:
        expect_frame(polygons, "polygons", geo=True, columns=(id_col,))


def zonal_population(
    raster, polygons: gpd.GeoDataFrame | gpd.GeoSeries, band: int = 1, id_col: str | None = None
) -> pd.Series:
    """Sum of a population raster inside each polygon, with partial pixels counted by area.

    ``raster`` is a path or an open rasterio dataset in a projected CRS (e.g. Lambert-93 grid
    of 200 m or 1 km). Polygons are reprojected to the raster CRS; each pixel contributes its
    value × the fraction of its area inside the polygon (population assumed uniform within a
    pixel; pixels fully inside count whole). Nodata pixels count 0 and are reported in
    ``attrs["nodata_pixels"]``. Returns a Series (index: ``id_col`` or the polygons' index).
    """
    _check_raster_args(raster, polygons, band, id_col)
    import rasterio
    from rasterio.windows import Window

    own = not hasattr(raster, "read")
    src = rasterio.open(raster) if own else raster
    try:
        if src.crs is None or not src.crs.is_projected:
            raise InputError(f"le raster doit être dans une projection métrique ({CRS_NAMES['metropole']} "
                             f"en métropole), pas {src.crs}", Path(str(getattr(src, "name", raster))).name)
        tr = src.transform
        if tr.b != 0 or tr.d != 0:
            raise InputError("raster tourné non pris en charge", Path(str(src.name)).name)
        geoms = polygons.geometry if isinstance(polygons, gpd.GeoDataFrame) else polygons
        if geoms.crs is None:
            raise InputError("les polygones n'ont pas de système de coordonnées (crs)", "polygones")
        geoms = geoms.to_crs(src.crs)
        index = polygons[id_col] if id_col is not None else geoms.index
        pixel_area = abs(tr.a * tr.e)
        nodata_total = 0
        sums = np.zeros(len(geoms))
        for k, geom in enumerate(geoms.to_numpy()):
            if geom is None or geom.is_empty:
                sums[k] = np.nan
                continue
            minx, miny, maxx, maxy = geom.bounds
            cols = np.sort([(minx - tr.c) / tr.a, (maxx - tr.c) / tr.a])
            rows_ = np.sort([(miny - tr.f) / tr.e, (maxy - tr.f) / tr.e])
            c0, c1 = max(int(np.floor(cols[0])), 0), min(int(np.ceil(cols[1])), src.width)
            r0, r1 = max(int(np.floor(rows_[0])), 0), min(int(np.ceil(rows_[1])), src.height)
            if c1 <= c0 or r1 <= r0:
                continue  # polygon outside the raster: 0
            win = Window(c0, r0, c1 - c0, r1 - r0)
            data = src.read(band, window=win, masked=True)
            rows, cols = np.indices(data.shape)
            x0 = tr.c + (cols + win.col_off) * tr.a
            y0 = tr.f + (rows + win.row_off) * tr.e
            x1, y1 = x0 + tr.a, y0 + tr.e
            boxes = shapely.box(np.minimum(x0, x1), np.minimum(y0, y1), np.maximum(x0, x1), np.maximum(y0, y1)).ravel()
            shapely.prepare(geom)
            inside = shapely.contains_properly(geom, boxes)
            edge = ~inside & shapely.intersects(geom, boxes)
            frac = inside.astype(float)
            frac[edge] = shapely.area(shapely.intersection(boxes[edge], geom)) / pixel_area
            vals = data.filled(np.nan).astype(float).ravel()
            nod = np.isnan(vals) & (frac > 0)
            nodata_total += int(nod.sum())
            sums[k] = float(np.nansum(np.where(frac > 0, vals, 0.0) * frac))
        out = pd.Series(sums, index=pd.Index(index), name="population")
        out.attrs = {
            "population_source": f"raster {Path(str(src.name)).name}, bande {band}",
            "method": "somme zonale : valeur de chaque pixel × part de sa surface dans le polygone",
            "raster_crs": str(src.crs),
            "pixel_size_m": [abs(tr.a), abs(tr.e)],
            "nodata_pixels": nodata_total,
        }
        return out
    finally:
        if own:
            src.close()


def split_commune_population(
    code: str, polygons: gpd.GeoDataFrame | gpd.GeoSeries, raster, band: int = 1, id_col: str | None = None
) -> pd.DataFrame:
    """Share of a commune's legal population falling in each polygon (e.g. the parts of a city
    shared by several CPTS), estimated from a population raster.

    Polygons are clipped to the commune outline (reference, COG 2026); each part's raster sum
    divided by the raster sum over the whole commune gives its ``share``, and ``population`` is
    that share of the population municipale légale 2023. Columns: ``share``, ``raster_sum``,
    ``population``; ``attrs`` records both sources.
    """
    expect_text(code, "code")
    _check_raster_args(raster, polygons, band, id_col)
    ref = reference.load_communes()
    row = ref[ref["code"] == code]
    if row.empty or row.geometry.isna().all():
        raise InputError(f"commune inconnue ou sans contour dans le référentiel COG {reference.COG_YEAR}",
                         "code", None, code)
    epsg = local_crs(code)
    outline = row.to_crs(epsg).geometry.iloc[0]
    geoms = polygons.geometry if isinstance(polygons, gpd.GeoDataFrame) else polygons
    parts = gpd.GeoSeries(shapely.intersection(geoms.to_crs(epsg).to_numpy(), outline), index=geoms.index, crs=epsg)
    whole = zonal_population(raster, gpd.GeoSeries([outline], crs=epsg), band=band).iloc[0]
    sums = zonal_population(raster, parts, band=band)
    if id_col is not None:
        sums.index = pd.Index(polygons[id_col])
    pop = float(row["population"].iloc[0])
    share = sums / whole if whole > 0 else sums * np.nan
    out = pd.DataFrame({"share": share, "raster_sum": sums, "population": share * pop})
    out.attrs = {
        **sums.attrs,
        "commune": code,
        "population_legale": pop,
        "population_year": reference.POPULATION_YEAR,
        "population_kind": "municipale",
        "crs": f"EPSG:{epsg}" if epsg in LOCAL_CRS.values() else str(epsg),
        "uncovered_share": float(1 - share.sum()) if whole > 0 else None,
    }
    return out
