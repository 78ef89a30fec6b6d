"""Estimated road travel times between communes, for APL-style accessibility.

Without a routed distance table (Metric, OSRM, r5py), travel times are *estimated*: the
straight-line distance between town halls, measured in the projected CRS of each zone
(Lambert-93, UTM of each overseas department; never in degrees), times a detour factor, divided
by an average speed. Both parameters are assumptions of this library, not DREES values:

* ``DETOUR = 1.3``: ratio of road to straight-line distance. Circuity studies find national
  averages of about 1.2 to 1.4 on road networks (e.g. Ballou, Rahardja & Sakai 2002,
  *Transportation Research A* 36: 1.17-1.33 depending on the country; Boscoe, Henry &
  Zdeb 2012, *The Professional Geographer* 64: 1.417 in the United States).
* ``SPEED_KMH = 60``: a mean door-to-door car speed over short trips mixing rural roads and
  towns. Dense areas are slower, so the estimate overstates access there.

With those values a 20-minute catchment is a 15.4 km straight-line radius. Neighbour pairs
are found with a KD-tree (scipy), so the search over all of France takes well under a second.
Pairs across department and region borders are kept (the computation is national); zones do not
connect to each other (Réunion is not within 20 minutes of Mayotte).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cpts_geo import fr, reference
from cpts_geo._checks import expect_frame, expect_number
from cpts_geo.crs import LOCAL_CRS, zone_of_dep
from cpts_geo.rules import CRS_NAMES

#: ratio of road distance to straight-line distance (assumption, see module docstring)
DETOUR = 1.3
#: mean car speed in km/h (assumption, see module docstring)
SPEED_KMH = 60.0


def unit_points(units: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """One point per unit for travel-time estimation, in EPSG:4326.

    The town hall (``mairie_lon``/``mairie_lat``) when known, else a point on the surface of the
    unit's polygon (``shapely.point_on_surface``). Units with neither get an empty geometry and
    a French ``reason``. Columns: ``code``, ``dep``, ``point_source`` (mairie, point_on_surface,
    none), ``reason``, ``geometry``. ``units`` defaults to :func:`cpts_geo.load_communes`.
    """
    if units is None:
        units = reference.load_communes()
    units = units.reset_index(drop=True)
    lon = units["mairie_lon"].to_numpy(dtype=float) if "mairie_lon" in units else np.full(len(units), np.nan)
    lat = units["mairie_lat"].to_numpy(dtype=float) if "mairie_lat" in units else np.full(len(units), np.nan)
    has_mairie = ~(np.isnan(lon) | np.isnan(lat))
    pts = gpd.GeoSeries.from_xy(lon, lat, crs=4326)
    geom = units.geometry if isinstance(units, gpd.GeoDataFrame) else gpd.GeoSeries([None] * len(units), crs=4326)
    if geom.crs is not None and geom.crs.to_epsg() != 4326:
        geom = geom.to_crs(4326)
    has_geom = ~geom.isna().to_numpy() & ~geom.is_empty.to_numpy()
    # a point inside the polygon only where the town hall is unknown (point_on_surface is costly)
    need = ~has_mairie & has_geom
    point = pts.to_numpy().copy()
    point[need] = shapely.point_on_surface(geom.to_numpy()[need])
    point[~has_mairie & ~has_geom] = None
    point = gpd.GeoSeries(point, crs=4326)
    source = np.where(has_mairie, "mairie", np.where(has_geom, "point_on_surface", "none"))
    dep = units["dep"].astype(str) if "dep" in units else units["code"].astype(str).str[:2]
    zone = dep.map(_zone_map(dep))
    reason = pd.Series("", index=units.index, dtype=object)
    no_point = source == "none"
    why = units["geometry_source"].astype(str) if "geometry_source" in units else pd.Series("", index=units.index)
    restored = why.str.contains("restored", regex=False).to_numpy()
    reason[no_point] = "ni mairie ni contour connus dans le référentiel"
    reason[no_point & restored] = (
        "ni mairie ni contour connus dans le référentiel (commune rétablie le 1er janvier 2025, "
        "absente des contours IGN utilisés)"
    )
    com = zone.isna().to_numpy()
    reason[com] = "collectivité d'outre-mer : hors du champ (pas de projection officielle ni de voisins)"
    source = np.where(com, "none", source)
    point = point.where(~com, None)
    return gpd.GeoDataFrame(
        {"code": units["code"].astype(str).to_numpy(), "dep": dep.to_numpy(), "point_source": source,
         "reason": reason.to_numpy()},
        geometry=point.to_numpy(), crs=4326,
    )


def _zone_map(dep: pd.Series) -> dict:
    return {d: zone_of_dep(d) for d in pd.unique(dep)}


def _projected_xy(points: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Projected coordinates (metres, CRS of each zone) and a zone id per point (-1: none)."""
    xy = np.full((len(points), 2), np.nan)
    zid = np.full(len(points), -1, dtype=np.int64)
    zone = points["dep"].map(_zone_map(points["dep"])).to_numpy()
    ok = ~points.geometry.isna().to_numpy()
    for k, (name, epsg) in enumerate(LOCAL_CRS.items()):
        m = (zone == name) & ok
        if m.any():
            proj = points.geometry[m].to_crs(epsg)
            xy[m, 0] = proj.x.to_numpy()
            xy[m, 1] = proj.y.to_numpy()
            zid[m] = k
    return xy, zid


def neighbour_pairs(
    points: gpd.GeoDataFrame, max_minutes: float, detour: float = DETOUR, speed_kmh: float = SPEED_KMH
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, minutes) for every ordered pair of points with estimated time ``< max_minutes``,
    self pairs included at 0 minutes. Indices refer to rows of ``points``."""
    from scipy.spatial import cKDTree  # imported on first use: costly, and only the APL needs it

    xy, zid = _projected_xy(points)
    radius_m = max_minutes / 60.0 * speed_kmh * 1000.0 / detour
    ii, jj = [], []
    for k in np.unique(zid[zid >= 0]):
        idx = np.flatnonzero(zid == k)
        tree = cKDTree(xy[idx])
        pairs = tree.query_pairs(radius_m, output_type="ndarray")
        ii.append(idx[pairs[:, 0]])
        jj.append(idx[pairs[:, 1]])
    i = np.concatenate(ii) if ii else np.empty(0, dtype=np.int64)
    j = np.concatenate(jj) if jj else np.empty(0, dtype=np.int64)
    dist_m = np.hypot(xy[i, 0] - xy[j, 0], xy[i, 1] - xy[j, 1])
    minutes = dist_m * detour / (speed_kmh * 1000.0) * 60.0
    keep = minutes < max_minutes
    i, j, minutes = i[keep], j[keep], minutes[keep]
    self_ = np.flatnonzero(zid >= 0)
    return (
        np.concatenate([i, j, self_]),
        np.concatenate([j, i, self_]),
        np.concatenate([minutes, minutes, np.zeros(len(self_))]),
    )


def check_travel_parameters(detour: object, speed_kmh: object) -> None:
    """A detour factor ≥ 1 and a speed (km/h) > 0, both finite."""
    expect_number(detour, "detour", minimum=1)
    expect_number(speed_kmh, "speed_kmh", minimum=0, strict=True)


def estimate_travel_times(
    units: gpd.GeoDataFrame | None = None,
    max_minutes: float = 20.0,
    detour: float = DETOUR,
    speed_kmh: float = SPEED_KMH,
) -> pd.DataFrame:
    """Estimated car travel times (minutes) between units closer than ``max_minutes``.

    Long table with columns ``from``, ``to`` (codes), ``minutes``; both directions and every
    unit to itself (0 minutes) are listed. Distances are straight lines between town halls (see
    :func:`unit_points`) in the projected CRS of each zone, times ``detour``, at ``speed_kmh``.
    ``attrs`` records the method, parameters and the units left out with their reason.
    """
    expect_frame(units, "units", geo=True, crs=True, optional=True)
    expect_number(max_minutes, "max_minutes", minimum=0, strict=True)
    check_travel_parameters(detour, speed_kmh)
    points = unit_points(units)
    i, j, minutes = neighbour_pairs(points, max_minutes, detour, speed_kmh)
    codes = points["code"].to_numpy()
    out = pd.DataFrame({"from": codes[i], "to": codes[j], "minutes": minutes})
    out.attrs = travel_attrs(points, max_minutes, detour, speed_kmh)
    return out


def travel_attrs(points: gpd.GeoDataFrame, max_minutes: float, detour: float, speed_kmh: float) -> dict:
    """Metadata of an estimated travel-time table (JSON-serialisable)."""
    left_out = points[points["point_source"] == "none"]
    return {
        "travel_time_source": (
            "estimation : distance à vol d'oiseau entre mairies (point intérieur du contour à "
            f"défaut) en projection locale ({fr.enumeration(CRS_NAMES.values())}), × {fr.number(detour, 2)} "
            f"(détour) à {fr.number(speed_kmh, 0)}{fr.NNBSP}km/h ; paramètres supposés, pas ceux de la DREES (distancier Metric)"
        ),
        "max_minutes": max_minutes,
        "detour": detour,
        "speed_kmh": speed_kmh,
        "points": {k: int(v) for k, v in points["point_source"].value_counts().items()},
        "left_out": dict(zip(left_out["code"], left_out["reason"], strict=True)),
    }
