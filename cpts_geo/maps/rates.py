"""Coverage-rate maps: a choropleth of the covered population share by department, EPCI or
bassin de vie (:func:`cpts_geo.rates.coverage_rates`), the view DGOS, FCPTS and the Sénat publish
at national or multi-region scale, where one colour per CPTS says nothing.

Five classes of 20 points (ColorBrewer YlGnBu, colour-blind safe, light = low coverage), opaque
fills (legend swatch = colour seen), each zone labelled with its name, rate and population outside
any CPTS (« 12 345 hab. hors CPTS »). :func:`rates_map` (folium, offline, same page machinery as
:func:`cpts_geo.maps.coverage_map`) and :func:`rates_static` (matplotlib, A4 / A3) are reached
through ``color_by="taux_couverture"`` of both maps, and chosen by ``color_by="auto"`` when the
analysed area spans more than one region.
"""

from __future__ import annotations

import datetime as _dt
import textwrap
from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.ops import polylabel

from cpts_geo import crs as _crs
from cpts_geo import fr, reference
from cpts_geo.errors import OptionError
from cpts_geo.maps import style as st
from cpts_geo.maps.interactive import (
    _ON_EACH,
    BACKGROUND,
    _base_map,
    _esc,
    _Extras,
    _search_index,
    credits_text,
)
from cpts_geo.maps.layers import default_tolerance, diagnosis_meta
from cpts_geo.rates import LEVEL_LABELS, coverage_rates, level_of, spans_regions, stage_of
from cpts_geo.rules import CRS_NAMES, DROM_NAMES

if TYPE_CHECKING:  # matplotlib is imported when a static map is drawn, not with this module
    from matplotlib.figure import Figure

#: ``color_by`` values that select the coverage-rate map
RATE_COLOR_BY = ("taux_couverture", "taux", "coverage_rate", "rates")
#: class bounds of the covered population share (lower bound included, 1 in the last class)
RATE_BOUNDS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
#: one colour per class, light = low coverage (ColorBrewer YlGnBu 5, colour-blind safe)
RATE_COLORS = st.SEQUENTIAL
#: layer keys (window.cptsGeo.layers) → French names in the layer control
LAYER_NAMES = {"zones": "Taux de couverture", "etiquettes": "Population hors CPTS",
               "departements": "Limites départementales",
               "zones_blanches": "Zones blanches (aucune CPTS)"}


def rate_class_labels() -> tuple[str, ...]:
    """« moins de 20 % », « de 20 % à moins de 40 % », …, « 80 % ou plus »."""
    b = RATE_BOUNDS
    out = [f"moins de {fr.percent(b[1], 0)}"]
    out += [f"de {fr.percent(lo, 0)} à moins de {fr.percent(hi, 0)}" for lo, hi in zip(b[1:-2], b[2:-1],
                                                                                      strict=True)]
    out.append(f"{fr.percent(b[-2], 0)} ou plus")
    return tuple(out)


def rate_classes(rate: pd.Series) -> st.Classes:
    """Class label and fill colour of each rate (0–1); NaN → « Population inconnue » in grey."""
    names = rate_class_labels()
    v = pd.to_numeric(rate, errors="coerce").to_numpy(dtype=float)
    k = np.clip(np.searchsorted(np.asarray(RATE_BOUNDS[1:-1]), v, side="right"), 0, len(names) - 1)
    missing = "Population inconnue"
    labels = pd.Series([missing if np.isnan(x) else names[i] for x, i in zip(v, k, strict=True)],
                       index=rate.index, dtype=object)
    legend = dict(zip(names, RATE_COLORS, strict=True))
    if (labels == missing).any():
        legend[missing] = st.MISSING_COLOR
    return st.Classes("Part de la population couverte", labels, labels.map(legend), legend)


def outside_label(white_population: float, stage: str | None = None) -> str:
    """« 12 345 hab. hors CPTS » (narrow no-break spaces), « entièrement couvert » at 0."""
    if white_population is None or pd.isna(white_population):
        return "population inconnue"
    if int(white_population) == 0:
        return "entièrement couvert"
    where = "hors CPTS" if stage is None else "hors CPTS à l'ACI"
    return f"{fr.integer(white_population)}{fr.NNBSP}hab. {where}"


def pct(rate: float | None) -> str:
    """A rate as a French percentage, « 100 % » and « 0 % » only when exact: « 99,96 % » is
    never rounded up to 100."""
    if rate is None or pd.isna(rate):
        return "n.d."
    if rate in (0.0, 1.0):
        return fr.percent(rate, 0)
    return fr.percent(min(rate, 0.999), 1) if rate > 0.999 else fr.percent(max(rate, 0.001), 1)


def wants_rates(diagnosis: Any, color_by: str | None) -> bool:
    """True for ``color_by="taux_couverture"``, and for ``"auto"`` / None when the analysed area
    spans more than one region."""
    if color_by in RATE_COLOR_BY:
        return True
    return color_by in (None, "auto") and diagnosis is not None and spans_regions(diagnosis)


def default_rates_title(rates: gpd.GeoDataFrame, deps: Any) -> str:
    """« Part de la population couverte par une CPTS, par département — Provence-Alpes-Côte d'Azur »."""
    level = rates.attrs.get("level", "departement")
    by = LEVEL_LABELS[level][0]
    who = "une CPTS" if rates.attrs.get("stage") is None else "une CPTS ayant signé l'ACI"
    return f"Part de la population couverte par {who}, par {by} — {st.area_name(deps)}"


def _zone_crs(rates: gpd.GeoDataFrame) -> pd.Series:
    return rates["dep"].map(_crs.zone_of_dep)


def simplified(rates: gpd.GeoDataFrame, tolerance_m: float | None = None) -> gpd.GeoDataFrame:
    """Zones with a geometry, coverage-simplified per CRS zone in its projected CRS (metres; the
    zones form a coverage, so neighbours still meet), back in EPSG:4326, with ``zone_crs``."""
    g = rates[rates.geometry.notna() & ~rates.geometry.is_empty].copy()
    g["zone_crs"] = _zone_crs(g)
    g = g[g["zone_crs"].notna()]
    parts = []
    for zone, grp in g.groupby("zone_crs", sort=False):
        proj = grp.to_crs(_crs.LOCAL_CRS[zone])
        tol = default_tolerance(tuple(proj.total_bounds)) if tolerance_m is None else tolerance_m
        if tol:
            proj = proj.set_geometry(gpd.GeoSeries(
                shapely.coverage_simplify(proj.geometry.to_numpy(), tol), index=proj.index,
                crs=proj.crs))
        parts.append(proj.to_crs(4326))
    out = pd.concat(parts) if parts else g
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=4326)
    out.attrs = dict(rates.attrs)
    return out


def short_zone_name(name: str) -> str:
    """Zone name for a label: « Bassin de vie de Sisteron » → « Sisteron » (the title says the
    level); other names unchanged."""
    return str(name).removeprefix("Bassin de vie de ").removeprefix("Bassin de vie ")


def _anchor(geom_m: shapely.Geometry) -> shapely.Point:
    """Pole of inaccessibility of the largest part (projected coordinates)."""
    parts = list(getattr(geom_m, "geoms", [geom_m]))
    big = max(parts, key=lambda p: p.area)
    return polylabel(big, tolerance=max(np.sqrt(big.area) / 100, 10.0))


def _anchors(zones: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """Label point of each zone in EPSG:4326 (computed in its projected CRS)."""
    out = pd.Series([None] * len(zones), index=zones.index, dtype=object)
    for zone, grp in zones.groupby("zone_crs", sort=False):
        proj = grp.to_crs(_crs.LOCAL_CRS[zone])
        pts = gpd.GeoSeries([_anchor(g) for g in proj.geometry], index=proj.index, crs=proj.crs)
        out.loc[grp.index] = pts.to_crs(4326).to_numpy()
    return gpd.GeoSeries(out.to_numpy(), index=zones.index, crs=4326)


def _credits(diagnosis: Any, rates: gpd.GeoDataFrame) -> str:
    return (credits_text(diagnosis_meta(diagnosis))
            + f" · Zones : {rates.attrs.get('zones', '')} · une commune de plusieurs CPTS compte une fois")


def _department_outlines(diagnosis: Any, tolerance_m: float | None) -> gpd.GeoDataFrame:
    return simplified(coverage_rates(diagnosis, "departement"), tolerance_m)


def _white_zones(diagnosis: Any, tolerance_m: float | None) -> gpd.GeoDataFrame | None:
    """White zones of the diagnosis (EPSG:4326), simplified in their projected CRS for the web
    page (an overlay: small gaps with the zones below do not matter)."""
    wz = diagnosis.get("white_zones") if isinstance(diagnosis, dict) else getattr(
        diagnosis, "white_zones", None)
    if wz is None or not len(wz) or "geometry" not in wz:
        return None
    w = gpd.GeoDataFrame(wz[["codes", "population"]], geometry=wz.geometry,
                         crs=wz.crs or 4326).to_crs(4326)
    w = w[w.geometry.notna() & ~w.geometry.is_empty]
    w["zone_crs"] = _crs.zone_of_code(w["codes"].map(lambda c: c[0])).to_numpy()
    w = w[w["zone_crs"].notna()]
    parts = []
    for zone, grp in w.groupby("zone_crs", sort=False):
        proj = grp.to_crs(_crs.LOCAL_CRS[zone])
        tol = default_tolerance(tuple(proj.total_bounds)) if tolerance_m is None else tolerance_m
        parts.append(proj.simplify(tol).to_frame("geometry").assign(
            codes=proj["codes"], population=proj["population"]).set_crs(proj.crs).to_crs(4326))
    return gpd.GeoDataFrame(pd.concat(parts), geometry="geometry", crs=4326) if parts else None


def _partial_note(rates: gpd.GeoDataFrame) -> str | None:
    n = int(rates["partial"].sum())
    if not n:
        return None
    by = LEVEL_LABELS[rates.attrs.get("level", "departement")]
    return (f"* {fr.plural(n, by[0], by[1])} en partie hors de la zone analysée : taux de la seule "
            "partie analysée")


# ------------------------------------------------------------------------------------------
# Interactive map
# ------------------------------------------------------------------------------------------


def rates_map(diagnosis: Any, by: str = "departement", stage: str | None = None, *,
              tiles: str | None = None, title: str | None = None,
              tolerance_m: float | None = None) -> folium.Map:
    """Interactive choropleth of the covered population share (offline page, like
    :func:`cpts_geo.coverage_map`): one polygon per zone (``by``: departement, epci, bv) in its rate
    class, a label per zone (name, rate, population outside any CPTS; labels that would overlap a
    label of a zone with more uncovered people are hidden at that zoom), tooltips with the
    figures, department outlines, commune search box, French legend, title and credits.
    ``stage``: None / "toutes" or "aci" (CPTS at stage « ACI signé » only)."""
    level, stage = level_of(by), stage_of(stage)
    rates = coverage_rates(diagnosis, level, stage)
    zones = simplified(rates, tolerance_m)
    classes = rate_classes(zones["rate"])
    units = diagnosis.units if not isinstance(diagnosis, dict) else diagnosis["units"]
    deps = units["dep"].dropna().unique()
    meta = diagnosis_meta(diagnosis)
    pop_year = int(meta.get("population_year", reference.POPULATION_YEAR))
    zc = zones["zone_crs"].value_counts()
    main = "metropole" if "metropole" in zc.index else zc.index[0]
    # the view opens on the mainland (overseas zones: pan, zoom out or search)
    minx, miny, maxx, maxy = bounds = zones[zones["zone_crs"] == main].total_bounds
    m = _base_map(bounds, 7, tiles)
    layer_vars: dict[str, str] = {}
    by_label = LEVEL_LABELS[level][0]
    tips = []
    for r in zones.itertuples():
        part = "<br><i>Partie dans la zone analysée seulement</i>" if r.partial else ""
        tips.append(
            f"<b>{_esc(r.nom)}</b> ({_esc(by_label)} {_esc(r.zone)})<br>"
            f"Population couverte : {pct(r.rate)} ({fr.integer(r.covered_population)} sur "
            f"{fr.plural(r.population, 'habitant')}, {pop_year})<br>"
            f"Hors CPTS : {fr.plural(r.white_population, 'habitant')}, "
            f"{fr.plural(r.n_white_units, 'commune')} sur {fr.integer(r.n_units)}{part}")
    styles = [{"color": "#505050", "weight": 0.8, "fillColor": c, "fillOpacity": st.FILL_OPACITY}
              for c in classes.colors]
    props = pd.DataFrame({"zone": zones["zone"].to_numpy(), "classe": classes.labels.to_numpy(),
                          "couleur": classes.colors.to_numpy(), "tt": tips, "pp": tips,
                          "style": styles})
    frame = gpd.GeoDataFrame(props, geometry=zones.geometry.reset_index(drop=True), crs=4326)
    gj = folium.GeoJson(frame.to_geo_dict(drop_id=True), name=LAYER_NAMES["zones"],
                        on_each_feature=_ON_EACH)
    gj.add_to(m)
    layer_vars["zones"] = gj.get_name()
    if level != "departement":
        dep = _department_outlines(diagnosis, tolerance_m)
        dframe = gpd.GeoDataFrame({"dep": dep["zone"].to_numpy(), "style": [
            {"color": st.DEPARTMENT_EDGE, "weight": 2.2, "fill": False}] * len(dep)},
            geometry=dep.geometry.reset_index(drop=True), crs=4326)
        dj = folium.GeoJson(dframe.to_geo_dict(drop_id=True), name=LAYER_NAMES["departements"],
                            interactive=False, on_each_feature=_ON_EACH)
        dj.add_to(m)
        layer_vars["departements"] = dj.get_name()
    white = _white_zones(diagnosis, tolerance_m) if stage is None else None
    if white is not None and len(white):  # where the people outside any CPTS live (ticked on demand)
        wtips = [f"<b>Zone blanche</b> : {fr.plural(len(c), 'commune')}, "
                 f"{fr.plural(p, 'habitant')} ({pop_year}), aucune CPTS"
                 for c, p in zip(white["codes"], white["population"], strict=True)]
        wstyle = {"color": st.WHITE_ZONE["edge"], "weight": 1.2, "dashArray": "4 3",
                  "fillColor": "url(#cg-hatch)", "fillOpacity": 0.9}
        wframe = gpd.GeoDataFrame({"tt": wtips, "pp": wtips, "style": [wstyle] * len(white)},
                                  geometry=white.geometry.reset_index(drop=True), crs=4326)
        wj = folium.GeoJson(wframe.to_geo_dict(drop_id=True), name=LAYER_NAMES["zones_blanches"],
                            show=False, on_each_feature=_ON_EACH)
        wj.add_to(m)
        layer_vars["zones_blanches"] = wj.get_name()
    labels = folium.FeatureGroup(name=LAYER_NAMES["etiquettes"], show=True)
    pts = _anchors(zones)
    # rank: the zones with the most people outside any CPTS keep their label first
    keep = (zones["white_population"] > 0).to_numpy() if level != "departement" else \
        np.ones(len(zones), dtype=bool)  # many small zones: label those with people outside
    for rank, (r, pt) in enumerate(zip(zones[keep].itertuples(), pts[keep], strict=True)):
        text = (f"<b>{_esc(short_zone_name(r.nom))}{' *' if r.partial else ''}</b><br>{pct(r.rate)}<br>"
                f"{_esc(outside_label(r.white_population, stage))}")
        folium.Marker([round(pt.y, 5), round(pt.x, 5)], icon=folium.DivIcon(
            html=f'<div class="cg-label cg-rate" data-rank="{rank}" data-zone="{_esc(r.zone)}">'
                 f"{text}</div>", icon_size=(0, 0)), interactive=False).add_to(labels)
    labels.add_to(m)
    layer_vars["etiquettes"] = labels.get_name()
    rows = [{"label": k, "fill": v, "opacity": st.FILL_OPACITY} for k, v in classes.legend.items()]
    if level != "departement":
        rows.append({"label": "Limite de département", "fill": "transparent",
                     "edge": st.DEPARTMENT_EDGE})
    if "zones_blanches" in layer_vars:
        rows.append({"label": "Zone blanche (aucune CPTS ; couche à cocher)",
                     "fill": st.WHITE_ZONE["fill"], "edge": st.WHITE_ZONE["edge"], "hatch": True})
    note = " ; ".join(x for x in (
        f"Population municipale {pop_year} couverte par {rates.attrs['stage_label']} ; "
        "une commune de plusieurs CPTS compte une fois", _partial_note(zones)) if x)
    u = units if "geometry" in units else None
    search, cities, cpts_names = [], [], []
    if u is not None and len(u):
        u = gpd.GeoDataFrame(u[u.geometry.notna()], geometry="geometry", crs=4326)
        cpts_names = sorted({c for cp in u["cpts"] for c in cp})
        search, cities = _search_index(u, cpts_names)
    ttl = title or default_rates_title(zones, deps)
    payload = {
        "title": ttl,
        "legend": {"title": classes.title, "rows": rows, "note": note},
        "white": st.WHITE_ZONE, "background": BACKGROUND,
        "credits": _credits(diagnosis, rates),
        "search": search, "search_cities": cities, "search_cpts": cpts_names,
        "pop_year": pop_year,
        "bounds": [[float(miny), float(minx)], [float(maxy), float(maxx)]],
    }
    # national maps: the overseas zones in insets, the land fitted beside the legend and insets
    payload["insets"] = _insets(zones, units, main)
    payload["fit_beside"] = True
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    m.add_child(_Extras(payload, layer_vars, BACKGROUND))
    m.get_root().header.add_child(folium.Element(
        "<style>.cg-label.cg-rate { font-weight: 500; font-size: 10px; max-width: none;"
        " white-space: nowrap; }"
        ".cg-insets { display: flex; flex-direction: column; gap: 3px; padding: 4px 5px; }"
        ".cg-inset { cursor: pointer; } .cg-inset-name { font-size: 10px; font-weight: 600; }"
        f".cg-inset-map {{ width: 118px; height: 74px; background: {BACKGROUND};"
        " border: 1px solid #9aa5b1; }</style>"), name="cpts_geo_rates")
    m.get_root().title = ttl
    m.cpts_geo_rates = rates
    return m


def _insets(zones: gpd.GeoDataFrame, units: Any, main: str) -> list[dict]:
    """One inset per overseas CRS zone of the map (Antilles, Guyane, La Réunion, Mayotte) when
    the view opens on the mainland: its French name (the departments drawn there), bounds
    (EPSG:4326, [[south, west], [north, east]]) and the codes of its zones."""
    if main != "metropole":
        return []
    dnames = reference.load_departements().set_index("code")["nom"]
    deps = sorted({str(d) for d in pd.Series(units["dep"]).dropna().unique()})
    out = []
    for key in _crs.LOCAL_CRS:
        part = zones[zones["zone_crs"] == key]
        if key == main or not len(part):
            continue
        x0, y0, x1, y1 = part.total_bounds
        names = [dnames.get(d, d) for d in deps if _crs.zone_of_dep(d) == key]
        out.append({"name": fr.enumeration(names) if names else key,
                    "bounds": [[float(y0), float(x0)], [float(y1), float(x1)]],
                    "zones": part["zone"].astype(str).tolist()})
    return out


# ------------------------------------------------------------------------------------------
# Static map
# ------------------------------------------------------------------------------------------

#: paper sizes in inches, landscape (width, height)
PAPER_IN = {"A4": (11.69, 8.27), "A3": (16.54, 11.69)}
LABEL_FS = 6.0


def _draw_zones(ax, zones: gpd.GeoDataFrame, colors: pd.Series, zone_crs: str,
                deps: gpd.GeoDataFrame | None, lw: float = 1.0) -> gpd.GeoDataFrame:
    z = zones[zones["zone_crs"] == zone_crs]
    proj = z.to_crs(_crs.LOCAL_CRS[zone_crs])
    proj.plot(ax=ax, color=colors.loc[z.index].to_numpy(), edgecolor="#505050",
              linewidth=0.35 * lw, alpha=st.FILL_OPACITY)
    if deps is not None and len(deps):
        d = deps[deps["zone_crs"] == zone_crs].to_crs(_crs.LOCAL_CRS[zone_crs])
        d.boundary.plot(ax=ax, color=st.DEPARTMENT_EDGE, linewidth=0.9 * lw)
    st.frame_axes(ax, proj.total_bounds)
    return proj


def _place(ax, proj: gpd.GeoDataFrame, stage: str | None, fs: float, level: str,
           renderer: Any) -> list:
    """Labels (name, rate, population outside any CPTS) at each zone's pole of inaccessibility,
    most uncovered people first; a label that would overlap one already placed or leave the map
    is left out (the side table and the tooltip-free table of the file give every zone)."""
    import matplotlib.patheffects as pe

    ax.apply_aspect()
    x0, y0, x1, y1 = ax.bbox.extents
    placed: list = []
    texts = []
    for r in proj.sort_values(["white_population", "zone"], ascending=[False, True]).itertuples():
        if level != "departement" and r.white_population == 0:
            continue  # many small zones: only those with people outside any CPTS are labelled
        p = _anchor(r.geometry)
        t = ax.text(p.x, p.y, f"{short_zone_name(r.nom)}{' *' if r.partial else ''}\n{pct(r.rate)}\n{outside_label(r.white_population, stage)}",
                    ha="center", va="center", fontsize=fs, color="#111", zorder=20, linespacing=1.1,
                    path_effects=[pe.withStroke(linewidth=2.2, foreground="white")])
        bb = t.get_window_extent(renderer=renderer)
        inside = bb.x0 >= x0 and bb.x1 <= x1 and bb.y0 >= y0 and bb.y1 <= y1
        if not inside or any(bb.overlaps(o) for o in placed):
            t.remove()
            continue
        placed.append(bb)
        t.set_gid(f"rate-label-{r.zone}")
        texts.append(t)
    return texts


@st.plain_text
def rates_static(diagnosis: Any, by: str = "departement", stage: str | None = None, *,
                 title: str | None = None, paper: str = "A4",
                 tolerance_m: float | None = None) -> Figure:
    """Print choropleth of the covered population share (matplotlib ``Figure``, A4 or A3
    landscape): zones in their rate class (opaque fills = legend swatches), labels with the name,
    rate and population outside any CPTS where they fit, the zones with the most people outside
    any CPTS listed beside the map, department outlines, French title and footer (sources,
    vintages, date). Overseas departments in insets when the map also covers the mainland."""
    if paper not in PAPER_IN:
        raise OptionError("paper", paper, "format de papier inconnu (A4 ou A3)")
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    level, stage = level_of(by), stage_of(stage)
    rates = coverage_rates(diagnosis, level, stage)
    zones = simplified(rates, tolerance_m)
    classes = rate_classes(zones["rate"])
    deps = _department_outlines(diagnosis, tolerance_m) if level != "departement" else None
    units = diagnosis.units if not isinstance(diagnosis, dict) else diagnosis["units"]
    size = PAPER_IN[paper]
    k = size[0] / PAPER_IN["A4"][0]
    fig = Figure(figsize=size)  # no canvas while plotting: geopandas would redraw it at each plot
    zc = zones["zone_crs"].value_counts()
    main = "metropole" if "metropole" in zc.index else zc.index[0]
    others = [z for z in zc.index if z != main]
    map_box = [0.01, 0.06, 0.63, 0.86]
    if others:
        map_box = [0.01, 0.21, 0.63, 0.71]
    ax = fig.add_axes(map_box)
    ax.set_gid("rates-map")
    proj = _draw_zones(ax, zones, classes.colors, main, deps)
    to_label = [(ax, proj, LABEL_FS * min(k, 1.3))]
    for i, zone in enumerate(others):
        w = min(map_box[2] / len(others), 0.16)
        iax = fig.add_axes([0.01 + i * w + 0.004, 0.065, w - 0.008, 0.13])
        ip = _draw_zones(iax, zones, classes.colors, zone, deps, lw=0.6)
        names = sorted({DROM_NAMES.get(d, d) for d in ip["dep"]})
        iax.set_title(", ".join(names), fontsize=6, pad=2)
        to_label.append((iax, ip, LABEL_FS * 0.8))
    renderer = RendererAgg(int(size[0] * fig.dpi), int(size[1] * fig.dpi), fig.dpi)
    for a, p, fs in to_label:  # labels measured once every zone is drawn
        _place(a, p, stage, fs, level, renderer)

    handles = [Patch(facecolor=c, edgecolor="#505050", linewidth=0.5, alpha=st.FILL_OPACITY, label=lab)
               for lab, c in classes.legend.items()]
    if deps is not None:
        handles.append(Line2D([], [], color=st.DEPARTMENT_EDGE, linewidth=1.2,
                              label="Limite de département"))
    lax = fig.add_axes([0.655, 0.55, 0.335, 0.37])
    lax.axis("off")
    lax.set_gid("legend")
    leg = lax.legend(handles=handles, loc="upper left", frameon=False, fontsize=7.5,
                     title=f"{classes.title} ({rates.attrs['stage_label']})", title_fontsize=8.5)
    leg._legend_box.align = "left"
    fh = fig.get_figheight() * fig.dpi
    y = leg.get_window_extent(renderer).y0 / fh - 0.01  # just below the legend
    pop_year = rates.attrs["population_year"]
    note = (f"Population municipale {pop_year} ; une commune listée par plusieurs CPTS compte "
            "une fois." + (f" {_partial_note(zones)}." if _partial_note(zones) else ""))
    t = fig.text(0.655, y, textwrap.fill(note, 75), fontsize=6, style="italic", va="top")
    y = t.get_window_extent(renderer).y0 / fh - 0.03

    # the zones with the most people outside any CPTS, as many as fit
    by_l = LEVEL_LABELS[level]
    top = rates[rates["white_population"] > 0]
    head = f"{by_l[1].capitalize()} les moins couverts (habitants hors CPTS)"
    fig.text(0.655, y, head, fontsize=8, fontweight="bold", va="top")
    line = 6.5 * 1.4 / 72 / size[1]
    y -= 0.025
    n_rows = max(int((y - 0.06) / line), 1)
    shown = top.head(n_rows if len(top) <= n_rows else n_rows - 1)
    for i, r in enumerate(shown.itertuples()):
        name = short_zone_name(r.nom)
        name = name if len(name) <= 34 else name[:33] + "…"
        star = " *" if r.partial else ""
        t = fig.text(0.655, y - i * line, f"{name}{star} : {fr.integer(r.white_population)}"
                     f"{fr.NNBSP}hab. (couverture {pct(r.rate)})", fontsize=6.5, va="top")
        t.set_gid(f"rate-row-{r.zone}")
    if len(top) > len(shown):
        rest = len(top) - len(shown)
        fig.text(0.655, y - len(shown) * line,
                 f"… et {fr.integer(rest)} autres (tableau complet : taux_couverture.xlsx de "
                 "cpts-geo coverage --out)", fontsize=6, style="italic", va="top")
    if top.empty:
        fig.text(0.655, y, "Aucun habitant hors CPTS dans la zone analysée.", fontsize=6.5,
                 va="top")

    ttl = title or default_rates_title(zones, units["dep"].dropna().unique())
    fig.text(0.5, 0.985, textwrap.fill(ttl, 110), ha="center", va="top",
             fontsize=12 * min(k, 1.3), fontweight="bold")
    undrawn = len(rates) - len(zones)
    src = (f"Sources : {_credits(diagnosis, rates)}."
           + (f" {fr.plural(undrawn, 'zone')} sans contour (collectivités d'outre-mer) : dans le "
              "tableau, pas sur la carte." if undrawn else "")
           + f" Carte établie le {fr.date(_dt.date.today())}.")
    fig.text(0.01, 0.008, textwrap.fill(src, int(200 * k)), ha="left", va="bottom", fontsize=5.5,
             color="#333")
    fig.cpts_geo_metadata = {
        "Title": ttl,
        "Subject": "Part de la population couverte par les CPTS",
        "Keywords": ("simplification: shapely.coverage_simplify of the zones; CRS: "
                     + ", ".join(f"{z} {CRS_NAMES.get(z, _crs.LOCAL_CRS[z])}" for z in sorted(zc.index))),
        "Creator": "cpts_geo",
    }
    fig.cpts_geo_rates = rates
    return fig


#: French headers of the coverage-rate table (workbook)
RATE_HEADERS = {"zone": "code", "nom": "nom", "dep": "département", "population": "population",
                "covered_population": "population couverte", "rate": "part de la population couverte",
                "white_population": "population hors CPTS", "n_units": "nb communes",
                "n_white_units": "nb communes hors CPTS", "partial": "en partie hors de la zone analysée"}


def rates_table(rates: gpd.GeoDataFrame) -> pd.DataFrame:
    """The coverage rates with French headers, for a workbook (no geometry)."""
    out = pd.DataFrame(rates.drop(columns="geometry"))[list(RATE_HEADERS)]
    out["partial"] = out["partial"].map({True: "oui", False: "non"})
    year = rates.attrs.get("population_year", reference.POPULATION_YEAR)
    return out.rename(columns={**RATE_HEADERS, "population": f"population {year}"})


def write_rates_workbook(diagnosis: Any, path: Any, stage: str | None = None) -> Any:
    """``taux_couverture.xlsx``: one sheet per level (département, EPCI, bassin de vie) with the
    covered population share of every zone (``stage``: None or "aci"), and a « Sources » sheet."""
    from pathlib import Path

    from cpts_geo.io.french import write_workbook

    sheets, formats = {}, {}
    for level, name in (("departement", "Par département"), ("epci", "Par EPCI"),
                        ("bv", "Par bassin de vie")):
        rates = coverage_rates(diagnosis, level, stage, geometry=False)
        sheets[name] = rates_table(rates)
        formats[name] = {RATE_HEADERS["rate"]: "percent"}
    meta = diagnosis_meta(diagnosis)
    sheets["Sources"] = pd.DataFrame([
        ("Population", f"INSEE, populations légales {rates.attrs['population_year']} (population "
                       "municipale), COG " + str(rates.attrs["cog"])),
        ("Couverture", f"{rates.attrs['stage_label']} ; une commune listée par plusieurs CPTS "
                       "compte une fois"),
        ("Zones", "départements COG 2026 ; EPCI au 1er janvier 2026 ; bassins de vie 2022 (INSEE), "
                  "nommés d'après leur commune pôle"),
        ("Liste des CPTS", f"{meta.get('listing_source') or 'non renseignée'} "
                           f"({fr.date(meta.get('listing_date'), na='date non renseignée')})"),
        ("Zone analysée", meta.get("area") or ""),
    ], columns=["donnée", "source"])
    path = Path(path)
    write_workbook(path, sheets, formats)
    return path


def _interactive_hook(diagnosis: Any, color_by: str | None, **kw: Any) -> folium.Map:
    return rates_map(diagnosis, kw.pop("rates_by", "departement"), kw.pop("rates_stage", None),
                     tiles=kw.get("tiles"), title=kw.get("title"), tolerance_m=kw.get("tolerance_m"))


def _static_hook(diagnosis: Any, color_by: str | None, **kw: Any) -> Figure:
    return rates_static(diagnosis, kw.pop("rates_by", "departement"), kw.pop("rates_stage", None),
                        title=kw.get("title"), paper=kw.get("paper", "A4"),
                        tolerance_m=kw.get("tolerance_m"))


st.ALTERNATE_MAPS["rates"] = (wants_rates, _interactive_hook, _static_hook)

__all__ = ["RATE_BOUNDS", "RATE_COLORS", "outside_label", "rate_classes", "rates_map",
           "rates_static", "rates_table", "wants_rates", "write_rates_workbook"]
