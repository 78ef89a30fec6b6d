"""Map layers of a coverage diagnosis: simplified units dissolved into CPTS perimeters, overlaps,
white zones and department outlines.

Simplification is topology-preserving: :func:`shapely.coverage_simplify` (Visvalingam-Whyatt on
the shared edges of the coverage) runs once on all units of a CRS zone, in that zone's projected
CRS (Lambert-93 for mainland France and Corsica, the official UTM CRS overseas), with a tolerance
in metres. Every layer is then dissolved from these simplified units with
:func:`shapely.coverage_union_all`, so neighbouring CPTS, overlaps and white zones still meet
exactly: no slivers, no gaps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cpts_geo import crs as _crs
from cpts_geo import reference
from cpts_geo._checks import (
    expect_bool,
    expect_diagnosis,
    expect_instance,
    expect_number,
    expect_text,
    fail,
)
from cpts_geo.rules import aci_band

#: bounds of the automatic tolerance (metres)
MIN_TOLERANCE_M = 25.0
MAX_TOLERANCE_M = 1000.0
#: automatic tolerance = diagonal of the mapped extent / this divisor (metres)
TOLERANCE_DIVISOR = 2500.0
#: decimals kept in EPSG:4326 coordinates of the web map (1e-5° ≈ 1 m)
LONLAT_DECIMALS = 5
#: above this many distinct sets of CPTS sharing communes, the overlaps layer is dissolved by
#: the number of CPTS (2, 3, …) instead of by set: a 200,000-row listing with heavy overlaps has
#: ~20,000 sets, one polygon and popup each (benchmarks/bench_large.py)
MAX_OVERLAP_GROUPS = 2000


@dataclass
class MapLayers:
    """Layers ready to draw, all in EPSG:4326 with a ``zone_crs`` column (CRS zone of each row).

    - ``units``: the analysed units (simplified): ``code``, ``nom``, ``dep``, ``population``,
      ``n_cpts``, ``cpts`` (tuple of CPTS covering the unit).
    - ``perimeters``: one row per CPTS, attributes of ``diagnosis.perimeters`` and a geometry
      dissolved from the simplified units.
    - ``overlaps``: units covered by two CPTS or more, dissolved per set of CPTS (``cpts``,
      ``n_cpts``, ``n_units``, ``population``); past :data:`MAX_OVERLAP_GROUPS` sets, per number
      of CPTS (``cpts`` = "communes couvertes par 3 CPTS").
    - ``white_zones``: units of the analysed area covered by no CPTS, dissolved per zone.
    - ``departments``: outlines of the departments of the analysed units.
    - ``tolerance_m``: simplification tolerance used (metres), ``n_vertices_in`` /
      ``n_vertices_out``: vertex counts of the units before and after simplification.
    - ``meta``: vintages and sources (``cog``, ``population_year``, ``sources``,
      ``listing_source``, ``listing_date``).
    """

    units: gpd.GeoDataFrame
    perimeters: gpd.GeoDataFrame
    overlaps: gpd.GeoDataFrame
    white_zones: gpd.GeoDataFrame
    departments: gpd.GeoDataFrame
    tolerance_m: float
    n_vertices_in: int
    n_vertices_out: int
    meta: dict = field(default_factory=dict)

    def projected(self, layer: str, zone: str) -> gpd.GeoDataFrame:
        """Rows of ``layer`` in CRS zone ``zone`` projected to its local CRS (metres)."""
        gdf = getattr(self, layer)
        return gdf[gdf["zone_crs"] == zone].to_crs(_crs.LOCAL_CRS[zone])


def _get(diagnosis: Any, name: str) -> Any:
    if isinstance(diagnosis, dict):
        return diagnosis.get(name)
    return getattr(diagnosis, name, None)


def diagnosis_meta(diagnosis: Any) -> dict:
    """Vintages and sources of a diagnosis, with the listing's source and date when known."""
    meta = dict(_get(diagnosis, "meta") or {})
    ref = reference.metadata()
    meta.setdefault("cog", ref["cog"])
    meta.setdefault("population_year", ref["population_year"])
    sources = dict(ref["sources"])
    sources.update(meta.get("sources") or {})
    meta["sources"] = sources
    src = None
    for key in ("listing_source", "source", "listing", "members_source"):
        if meta.get(key):
            src = meta[key]
            break
    if isinstance(src, dict):
        meta.setdefault("listing_date", src.get("date"))
        src = src.get("source") or src.get("file") or src.get("name")
    meta["listing_source"] = src
    date = None
    for key in ("listing_date", "date", "members_date"):
        if meta.get(key):
            date = meta[key]
            break
    meta["listing_date"] = None if date is None else str(date)
    return meta


def default_tolerance(bounds_m: tuple[float, float, float, float]) -> float:
    """Automatic simplification tolerance (metres) for a projected extent (minx, miny, maxx, maxy):
    its diagonal / 2500, between 25 m and 1 km (≈ 130 m for a region, ≈ 500 m for mainland
    France), well under a screen pixel at the zoom showing the whole extent."""
    minx, miny, maxx, maxy = bounds_m
    diag = float(np.hypot(maxx - minx, maxy - miny))
    return float(np.clip(diag / TOLERANCE_DIVISOR, MIN_TOLERANCE_M, MAX_TOLERANCE_M))


def _isin(s: pd.Series, values: Any) -> np.ndarray:
    """Hash-based ``s.isin(values)`` (pandas' pyarrow-string isin converts each value slowly)."""
    index = pd.Index(pd.unique(np.asarray(list(values), dtype=object)))
    return index.get_indexer(s.to_numpy(dtype=object)) >= 0


def _as_tuple(value: Any) -> tuple:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _source_units(units: pd.DataFrame, extra_codes: set[str]) -> gpd.GeoDataFrame:
    """Reference geometries of every unit to draw. A Paris/Lyon/Marseille city is replaced by its
    arrondissements for the simplification (city and arrondissements overlap) and rebuilt
    from them afterwards."""
    ref = reference.load_communes()
    codes = set(units["code"]) | extra_codes
    wanted = set(reference.plm_expand(list(codes))["unit"])
    src = ref[_isin(ref["code"], wanted)][["code", "dep", "parent", "geometry"]].copy()
    src = src[src.geometry.notna() & ~src.geometry.is_empty]
    src["zone_crs"] = src["dep"].map(_crs.zone_of_dep)
    return src[src["zone_crs"].notna()]


def simplify_units(src: gpd.GeoDataFrame, tolerance_m: float | None = None
                   ) -> tuple[gpd.GeoDataFrame, float]:
    """Coverage-simplify units per CRS zone in the zone's projected CRS (tolerance in metres;
    None = :func:`default_tolerance` of the extent of the largest zone). Returns the units back
    in EPSG:4326 and the tolerance used."""
    zones = _crs.split_by_zone(src)
    if tolerance_m is None:
        biggest = max(zones.values(), key=len) if zones else None
        tolerance_m = MIN_TOLERANCE_M if biggest is None else default_tolerance(
            tuple(biggest.total_bounds))
    parts = []
    for proj in zones.values():
        geoms = shapely.coverage_simplify(proj.geometry.to_numpy(), tolerance_m)
        parts.append(proj.set_geometry(gpd.GeoSeries(geoms, index=proj.index, crs=proj.crs))
                     .to_crs(4326))
    out = pd.concat(parts) if parts else src.iloc[:0].to_crs(4326)
    rounded = shapely.transform(out.geometry.to_numpy(), lambda xy: np.round(xy, LONLAT_DECIMALS))
    out = out.set_geometry(gpd.GeoSeries(rounded, index=out.index, crs=4326))
    return gpd.GeoDataFrame(out, geometry="geometry", crs=4326), float(tolerance_m)


def _dissolve(pairs: pd.DataFrame, geom_of: pd.Series, by: str) -> gpd.GeoDataFrame:
    """Dissolve (``by``, ``code``) pairs into one geometry per ``by`` value with
    coverage_union_all (the simplified units form a coverage)."""
    if pairs.empty:  # object columns: merging on them later works for text keys too
        return gpd.GeoDataFrame({by: pd.Series([], dtype=object), "zone_crs": pd.Series([], dtype=object)},
                                geometry=[], crs=4326)
    p = pairs[_isin(pairs["code"], geom_of.index)]
    g = gpd.GeoDataFrame(
        {by: p[by].to_numpy(), "zone_crs": p["zone_crs"].to_numpy()},
        geometry=geom_of.loc[p["code"]].to_numpy(), crs=4326,
    )
    out = g.dissolve(by=[by, "zone_crs"], method="coverage", sort=False).reset_index()
    return out


def _expand_plm(codes: pd.Series) -> pd.DataFrame:
    """(code, part) pairs: a PLM city maps to its arrondissements, any other unit to itself."""
    pairs = reference.plm_expand(np.asarray(codes, dtype=object))
    return pd.DataFrame({"code": pairs["code"].to_numpy(dtype=object), "part": pairs["unit"].to_numpy(dtype=object)})


def check_map_arguments(diagnosis: object, layers: object = None, *, color_by: object = None,
                        tolerance_m: object = None, title: object = None, tiles: object = None,
                        paper: object = "A4", rates_by: object = "departement",
                        rates_stage: object = None, labels: object = None) -> None:
    """The arguments the map functions share, checked at their entry: ``diagnosis`` a
    :class:`~cpts_geo.coverage.Diagnosis` (or a mapping with ``units`` and ``perimeters``), unless
    prebuilt ``layers`` are given; the options of the right types (their values are checked
    where they are read)."""
    if layers is not None:
        expect_instance(layers, "layers", MapLayers, "des couches MapLayers (résultat de build_layers)")
    elif isinstance(diagnosis, dict):
        missing = [k for k in ("units", "perimeters") if k not in diagnosis]
        if missing:
            fail("diagnosis", diagnosis, "clés absentes : " + ", ".join(missing))
    else:
        expect_diagnosis(diagnosis, "diagnosis")
    expect_text(color_by, "color_by", optional=True)
    expect_number(tolerance_m, "tolerance_m", minimum=0, optional=True)
    expect_instance(title, "title", str, "un texte", optional=True)
    expect_text(tiles, "tiles", optional=True)
    expect_text(paper, "paper")
    expect_text(rates_by, "rates_by")
    expect_text(rates_stage, "rates_stage", optional=True)
    if labels is not None:
        expect_bool(labels, "labels")


def build_layers(diagnosis: Any, tolerance_m: float | None = None) -> MapLayers:
    """Simplified, dissolved layers of a coverage diagnosis (see :class:`MapLayers`).

    ``diagnosis`` is a :class:`cpts_geo.coverage.Diagnosis` (or any object / dict with
    ``units``, ``perimeters``, ``white_zones`` and ``meta`` following docs/architecture.md).
    ``tolerance_m``: simplification tolerance in metres of the local projected CRS
    (None = automatic, see :func:`default_tolerance`; 0 = no simplification).
    """
    units = _get(diagnosis, "units")
    per = _get(diagnosis, "perimeters")
    if units is None or per is None:
        raise TypeError("coverage map: the diagnosis needs `units` and `perimeters` "
                        "(see cpts_geo.diagnose)")
    units = pd.DataFrame(units).copy()
    units["cpts"] = units["cpts"].map(_as_tuple) if "cpts" in units else [()] * len(units)
    if "n_cpts" not in units:
        units["n_cpts"] = units["cpts"].map(len)
    per = pd.DataFrame(per).copy()
    per["codes"] = per["codes"].map(_as_tuple)
    member_pairs = per[["cpts", "codes"]].explode("codes").dropna().rename(columns={"codes": "code"})
    wz = _get(diagnosis, "white_zones")
    wz = pd.DataFrame(wz).copy() if wz is not None else pd.DataFrame()
    if wz.empty and len(units):
        wz = pd.DataFrame({"zone_id": [1], "codes": [tuple(units.loc[units["n_cpts"] == 0, "code"])]})
        wz = wz[wz["codes"].map(len) > 0]
    if not wz.empty:
        wz["codes"] = wz["codes"].map(_as_tuple)

    extra = set(member_pairs["code"])
    if not wz.empty:
        extra |= {c for cs in wz["codes"] for c in cs}
    src = _source_units(units, extra)
    n_in = int(shapely.get_num_coordinates(src.geometry.to_numpy()).sum())
    if tolerance_m == 0:
        simple = src.to_crs(4326)
        tol = 0.0
    else:
        simple, tol = simplify_units(src, tolerance_m)
    n_out = int(shapely.get_num_coordinates(simple.geometry.to_numpy()).sum())
    geom_of = simple.set_index("code").geometry
    zone_of = simple.set_index("code")["zone_crs"]

    def pairs_of(frame: pd.DataFrame, by: str) -> pd.DataFrame:
        ex = _expand_plm(frame["code"].drop_duplicates())
        out = frame.merge(ex, on="code").drop(columns="code").rename(columns={"part": "code"})
        out["zone_crs"] = out["code"].map(zone_of)
        return out.dropna(subset=["zone_crs"])[[by, "code", "zone_crs"]]

    # units (PLM cities rebuilt from their simplified arrondissements)
    plm_units = units["code"].isin(list(reference.PLM_CITIES)).to_numpy()
    direct = units.loc[~plm_units, ["code"]].assign(zone_crs=lambda f: f["code"].map(zone_of))
    direct = direct[_isin(direct["code"], geom_of.index)]
    direct = gpd.GeoDataFrame(direct.assign(key=direct["code"]).set_index("key")[["zone_crs"]],
                              geometry=geom_of.loc[direct["code"]].to_numpy(), crs=4326)
    upairs = pairs_of(units.loc[plm_units, ["code"]].assign(key=lambda f: f["code"]), "key")
    ugeom = pd.concat([direct, _dissolve(upairs, geom_of, "key").set_index("key")])
    ukeep = [c for c in ["code", "nom", "kind", "dep", "reg", "epci", "population", "n_cpts", "cpts"]
             if c in units]
    out_units = units[ukeep].merge(ugeom, left_on="code", right_index=True, how="inner")
    out_units = gpd.GeoDataFrame(out_units, geometry="geometry", crs=4326)

    # perimeters
    pg = _dissolve(pairs_of(member_pairs, "cpts"), geom_of, "cpts")
    if pg["cpts"].duplicated().any():  # a CPTS spanning two CRS zones: one multipolygon
        pg = pg.dissolve(by="cpts", aggfunc="first", sort=False).reset_index()
    attrs = per.drop(columns=["geometry"], errors="ignore")
    perim = gpd.GeoDataFrame(attrs.merge(pg, on="cpts", how="left"), geometry="geometry", crs=4326)
    if "band" not in perim and "population" in perim:
        perim["band"] = aci_band(perim["population"].astype(float))

    # overlaps: units covered twice or more, grouped by the set of CPTS — or, past
    # MAX_OVERLAP_GROUPS sets (a listing with heavy overlaps), by the number of CPTS: a lighter
    # layer (the set of each commune stays in the search box, overlaps.csv and the workbook)
    ov_units = units[units["n_cpts"] >= 2]
    if len(ov_units):
        key = ov_units["cpts"].map(lambda t: " / ".join(sorted(t)))
        by_count = key.nunique() > MAX_OVERLAP_GROUPS
        if by_count:
            key = ov_units["n_cpts"].map(lambda k: f"communes couvertes par {int(k)} CPTS")
        ov_pairs = pairs_of(pd.DataFrame({"code": ov_units["code"], "key": key}), "key")
        ov = _dissolve(ov_pairs, geom_of, "key")
        stats = pd.DataFrame({"key": key, "population": ov_units.get("population")}).groupby(
            "key").agg(n_units=("key", "size"), population=("population", "sum"))
        ov = ov.merge(stats, left_on="key", right_index=True).rename(columns={"key": "cpts"})
        ov["n_cpts"] = ov["cpts"].str.extract(r"par (\d+) CPTS")[0].astype(int) if by_count \
            else ov["cpts"].str.count(" / ") + 1
    else:
        ov = gpd.GeoDataFrame({"cpts": [], "zone_crs": [], "n_units": [], "population": [],
                               "n_cpts": []}, geometry=[], crs=4326)

    # white zones
    if not wz.empty:
        wpairs = wz[["zone_id", "codes"]].explode("codes").rename(columns={"codes": "code"})
        wg = _dissolve(pairs_of(wpairs, "zone_id"), geom_of, "zone_id")
        if wg["zone_id"].duplicated().any():
            wg = wg.dissolve(by="zone_id", aggfunc="first", sort=False).reset_index()
        wattrs = wz.drop(columns=["geometry"], errors="ignore")
        white = gpd.GeoDataFrame(wattrs.merge(wg, on="zone_id", how="inner"),
                                 geometry="geometry", crs=4326)
    else:
        white = gpd.GeoDataFrame({"zone_id": [], "codes": [], "zone_crs": []}, geometry=[],
                                 crs=4326)

    # department outlines of the analysed units
    dpairs = pairs_of(pd.DataFrame({"code": units["code"],
                                    "dep": units["dep"] if "dep" in units else
                                    units["code"].str[:2]}), "dep")
    deps = _dissolve(dpairs, geom_of, "dep")
    names = reference.load_departements()
    name_col = next((c for c in ("nom", "name", "libelle") if c in names), None)
    code_col = next((c for c in ("code", "dep") if c in names), None)
    if name_col and code_col:
        deps["nom"] = deps["dep"].map(names.set_index(code_col)[name_col])

    return MapLayers(
        units=out_units, perimeters=perim, overlaps=ov, white_zones=white, departments=deps,
        tolerance_m=tol, n_vertices_in=n_in, n_vertices_out=n_out, meta=diagnosis_meta(diagnosis),
    )


def label_points(perimeters: gpd.GeoDataFrame, units: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """Where each CPTS's name is written on a map: inside its own communes.

    A CPTS sharing communes with others (« CPTS Toulon Littoral » and « CPTS La Seyne Toulon
    ouest » both list Toulon; three CPTS list Nice) is named inside the communes it holds alone
    when it has some, so that the CPTS of one city are not all named on the same point; a CPTS
    made of shared communes only (Toulon Littoral) is named inside them. Other CPTS: the inside
    point of their perimeter, as before.

    Parameters
    ----------
    perimeters : geopandas.GeoDataFrame
        One row per CPTS (``cpts``, geometry), as :attr:`MapLayers.perimeters`.
    units : geopandas.GeoDataFrame
        The drawn units (``cpts`` tuple of CPTS covering each, geometry), as :attr:`MapLayers.units`.

    Returns
    -------
    geopandas.GeoSeries
        One point per row of ``perimeters``, same index and CRS, always inside the CPTS's outline
        (``representative_point``).
    """
    pts = perimeters.geometry.representative_point()
    if not len(perimeters) or not len(units) or "cpts" not in units.columns:
        return pts
    cpts_of = [_as_tuple(c) for c in units["cpts"]]
    shared = {c for t in cpts_of if len(t) > 1 for c in t}
    if not shared:
        return pts
    geoms = units.geometry.to_numpy()
    own: dict[str, list[int]] = {}
    for i, t in enumerate(cpts_of):
        if len(t) == 1 and t[0] in shared:
            own.setdefault(t[0], []).append(i)
    out = pts.copy()
    for pos, name in enumerate(perimeters["cpts"]):
        rows = own.get(name)
        if name not in shared or not rows:
            continue
        part = shapely.union_all(geoms[rows])
        part = max(getattr(part, "geoms", [part]), key=lambda g: g.area)
        if not part.is_empty:
            out.iloc[pos] = part.representative_point()
    return out
