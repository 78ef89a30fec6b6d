"""Projected coordinate systems for areas and distances: never compute them in degrees.

Mainland France and Corsica use Lambert-93 (EPSG:2154); each overseas department uses its
official local projection: RGAF09 / UTM 20N (EPSG:5490) for Guadeloupe and Martinique,
RGFG95 / UTM 22N (EPSG:2972) for Guyane, RGR92 / UTM 40S (EPSG:2975) for La Réunion and
RGM04 / UTM 38S (EPSG:4471) for Mayotte.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from cpts_geo._checks import expect_frame, expect_text
from cpts_geo.errors import InputError

#: zone name -> EPSG code of the projected CRS used for areas and distances
LOCAL_CRS: dict[str, int] = {
    "metropole": 2154,
    "antilles": 5490,
    "guyane": 2972,
    "reunion": 2975,
    "mayotte": 4471,
}

_DROM_ZONE = {"971": "antilles", "972": "antilles", "973": "guyane", "974": "reunion", "976": "mayotte"}


def zone_of_dep(dep: str) -> str | None:
    """CRS zone of a department code ("04", "2A", "974"); None for collectivités d'outre-mer."""
    dep = str(dep)
    if dep in _DROM_ZONE:
        return _DROM_ZONE[dep]
    if dep.startswith("97") or dep.startswith("98"):
        return None
    return "metropole"


def zone_of_code(codes: pd.Series | list[str]) -> pd.Series:
    """CRS zone of each INSEE commune code (5-char string)."""
    s = pd.Series(codes, dtype=object).astype(str)
    dep = np.where(s.str.startswith("97") | s.str.startswith("98"), s.str[:3], s.str[:2])
    return pd.Series([zone_of_dep(d) for d in dep], index=s.index, dtype=object)


def local_crs(dep_or_code: str) -> int:
    """EPSG code of the projected CRS for a department or commune code.

    Parameters
    ----------
    dep_or_code : str
        A department code (``"04"``, ``"2A"``, ``"974"``) or a 5-character INSEE commune code.

    Returns
    -------
    int
        Lambert-93 (2154) for mainland France and Corsica, the official local projection for
        each overseas department (see :data:`LOCAL_CRS`).

    Raises
    ------
    InputError
        For a collectivité d'outre-mer (Saint-Barthélemy, Saint-Martin, Polynésie…), which has
        no official projected CRS in the reference.

    Examples
    --------
    >>> local_crs("2A004"), local_crs("97411"), local_crs("973")
    (2154, 2975, 2972)
    """
    s = str(expect_text(dep_or_code, "dep_or_code")).strip()
    dep = s[:3] if s.startswith(("97", "98")) else s[:2]
    zone = zone_of_dep(dep)
    if zone is None:
        raise InputError("aucun système de coordonnées projeté officiel pour ce code (collectivité d'outre-mer)",
                         "code", None, s)
    return LOCAL_CRS[zone]


def _zones(gdf: gpd.GeoDataFrame, code_col: str | None) -> pd.Series:
    if "zone_crs" in gdf.columns:
        return gdf["zone_crs"]
    if "dep" in gdf.columns:
        return gdf["dep"].map(zone_of_dep)
    if code_col is not None and code_col in gdf.columns:
        return zone_of_code(gdf[code_col]).set_axis(gdf.index)
    # fall back to location: centroid longitude in EPSG:4326 (safe: only used to pick a zone)
    c = gdf.geometry.to_crs(4326).representative_point()
    x, y = c.x.to_numpy(), c.y.to_numpy()
    zone = np.full(len(gdf), "metropole", dtype=object)
    zone[(x < -50) & (x > -65) & (y > 14) & (y < 19)] = "antilles"
    zone[(x < -50) & (x > -56) & (y > 1) & (y < 7)] = "guyane"
    zone[(x > 54) & (x < 57) & (y < -20) & (y > -22)] = "reunion"
    zone[(x > 44) & (x < 46) & (y < -12) & (y > -13.2)] = "mayotte"
    zone[(zone == "metropole") & ((x < -10) | (x > 20))] = None
    return pd.Series(zone, index=gdf.index, dtype=object)


def area_km2(gdf: gpd.GeoDataFrame | gpd.GeoSeries, code_col: str | None = "code") -> pd.Series:
    """Area in km², each geometry measured in the projected CRS of its zone.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame or geopandas.GeoSeries
        Geometries in any CRS (the reference is in EPSG:4326).
    code_col : str or None, default "code"
        Column of INSEE codes used to find each row's zone when there is no ``dep`` column.

    Returns
    -------
    pandas.Series
        Area of each row in km², on the index of ``gdf``.

    Notes
    -----
    Areas are never computed in degrees: each row is projected to the CRS of its zone
    (:data:`LOCAL_CRS`: Lambert-93 for the mainland and Corsica, the official UTM projection of
    each overseas department). Zones come from a ``dep`` column, else from the codes in
    ``code_col``, else from the location. Collectivités d'outre-mer get NaN.

    Examples
    --------
    >>> import cpts_geo as cg
    >>> c = cg.load_communes()
    >>> area_km2(c[c["code"].isin(["04070", "97411"])]).round(1).tolist()
    [105.6, 141.6]
    """
    expect_frame(gdf, "gdf", geo=True, series=True, crs=True)
    if code_col is not None:
        expect_text(code_col, "code_col")
    if isinstance(gdf, gpd.GeoSeries):
        gdf = gpd.GeoDataFrame(geometry=gdf)
    zones = _zones(gdf, code_col)
    out = pd.Series(np.nan, index=gdf.index, dtype=float)
    for zone, epsg in LOCAL_CRS.items():
        m = (zones == zone).to_numpy()
        if m.any():
            out[m] = gdf.geometry[m].to_crs(epsg).area.to_numpy() / 1e6
    return out


def to_local(gdf: gpd.GeoDataFrame, zone: str) -> gpd.GeoDataFrame:
    """Rows of ``gdf`` in one CRS zone, projected to that zone's CRS.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Units with a ``zone_crs``, ``dep`` or ``code`` column.
    zone : str
        A key of :data:`LOCAL_CRS`: ``"metropole"``, ``"antilles"``, ``"guyane"``,
        ``"reunion"`` or ``"mayotte"``.

    Returns
    -------
    geopandas.GeoDataFrame
        The rows of that zone, in its projected CRS.

    Examples
    --------
    >>> import cpts_geo as cg
    >>> c = cg.load_communes()
    >>> to_local(c[c["dep"] == "974"], "reunion").crs.to_epsg()
    2975
    """
    expect_frame(gdf, "gdf", geo=True, crs=True)
    expect_text(zone, "zone", choices=tuple(LOCAL_CRS))
    zones = _zones(gdf, "code")
    return gdf[(zones == zone).to_numpy()].to_crs(LOCAL_CRS[zone])


def split_by_zone(gdf: gpd.GeoDataFrame) -> dict[str, gpd.GeoDataFrame]:
    """Rows of ``gdf`` split by CRS zone, each part projected in its zone's CRS.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Units with a ``zone_crs``, ``dep`` or ``code`` column.

    Returns
    -------
    dict of str to geopandas.GeoDataFrame
        Zone name → its rows in its projected CRS; zones without rows are omitted.

    Examples
    --------
    >>> import cpts_geo as cg
    >>> c = cg.load_communes()
    >>> list(split_by_zone(c[c["code"].isin(["04070", "97411", "97101"])]))
    ['metropole', 'antilles', 'reunion']
    """
    expect_frame(gdf, "gdf", geo=True, crs=True)
    zones = _zones(gdf, "code")
    return {
        z: gdf[(zones == z).to_numpy()].to_crs(epsg)
        for z, epsg in LOCAL_CRS.items()
        if (zones == z).any()
    }
