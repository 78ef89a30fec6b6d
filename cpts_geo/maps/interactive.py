"""Interactive coverage map (folium / Leaflet) that works offline.

Leaflet 1.9.4 is vendored under ``cpts_geo/maps/vendor/leaflet`` (BSD-2-Clause) and inlined in
the page, so the HTML file opens without internet: no CDN, no tiles by default (blank
background); ``tiles=`` adds an online tile provider. The page exposes ``window.cptsGeo``
(``map``, ``layers``) for scripting and tests.
"""

from __future__ import annotations

import base64
import functools
import re
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import Element, Figure, MacroElement
from jinja2 import Template

from cpts_geo import crs as _crs
from cpts_geo import fr, reference
from cpts_geo import names as commune_names
from cpts_geo._checks import expect_bool, expect_int, fail
from cpts_geo._version import __version__
from cpts_geo.io import html_safe
from cpts_geo.maps import style as st
from cpts_geo.maps.layers import MapLayers, build_layers, check_map_arguments, label_points
from cpts_geo.rules import aci_near_threshold

VENDOR = Path(__file__).resolve().parent / "vendor" / "leaflet"
BACKGROUND = "#eef0f2"
#: layer keys (window.cptsGeo.layers) → French names shown in the layer control
LAYER_NAMES = {
    "departements": "Limites départementales",
    "perimetres": "Périmètres des CPTS",
    "chevauchements": "Chevauchements",
    "zones_blanches": "Zones blanches",
    "communes": "Limites communales",
    "noms": "Noms des CPTS",
}
#: indicators shown in popups when the perimeters have them (column → French label)
DEFAULT_INDICATORS = {
    "aci_margin_text": "Marge au seuil ACI",
    "igas_type": "Type de territoire (IGAS)",
    "dens_dominant": "Densité dominante (INSEE)",
    "aav_dominant": "Aire d'attraction des villes",
    "irdes_label": "Typologie IRDES",
    "irdes25_label": "Typologie IRDES 2025",
    "apl": "APL médecins généralistes (consultations/an/hab.)",
    "apl_flag": "Classe APL",
}


@functools.cache
def leaflet_assets() -> tuple[str, str]:
    """(JS, CSS) of the vendored Leaflet 1.9.4, CSS images inlined as data URIs (offline pages)."""
    js = (VENDOR / "leaflet.js").read_text(encoding="utf-8")
    css = (VENDOR / "leaflet.css").read_text(encoding="utf-8")

    def inline(m: re.Match) -> str:
        data = base64.b64encode((VENDOR / m.group(1)).read_bytes()).decode()
        return f"url(data:image/png;base64,{data})"

    css = re.sub(r"url\((images/[\w.-]+\.png)\)", inline, css)
    return js, css


def credits_text(meta: dict) -> str:
    """Source credits (French) of a coverage map."""
    listing = meta.get("listing_source") or "source non renseignée"
    date = fr.date(meta.get("listing_date"), na="date non renseignée")
    return (f"Contours : IGN ADMIN EXPRESS (Licence Ouverte) · Populations : INSEE, populations "
            f"légales {meta.get('population_year', reference.POPULATION_YEAR)}, COG "
            f"{meta.get('cog', reference.COG_YEAR)}"
            + "".join(f" (sauf {fr.plural(len(n['codes']), 'commune')} : {n['population_source']})"
                      for n in meta.get("population_notes") or [])
            + f" · Liste des CPTS : {listing} ({date}) · cpts_geo {__version__}"
            + (f", référentiel {meta['reference_build']}" if meta.get("reference_build") else ""))


def _geojson(gdf: gpd.GeoDataFrame, props: pd.DataFrame) -> dict:
    frame = gpd.GeoDataFrame(props.reset_index(drop=True),
                             geometry=gdf.geometry.reset_index(drop=True), crs=4326)
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    return frame.to_geo_dict(drop_id=True)


#: the one Python-side escaping of the maps (:func:`cpts_geo.io.html_safe.escape`)
_esc = html_safe.escape


def _names_of(codes: tuple, names: dict[str, str], limit: int) -> str:
    shown = [f"{_esc(names.get(c, c))} ({c})" for c in codes[:limit]]
    more = len(codes) - limit
    text = ", ".join(shown)
    return text + (f" … et {more} autres" if more > 0 else "")


def _other_vintage_sources() -> dict[str, str]:
    """Population source of each unit whose population is not of POPULATION_YEAR (a few codes)."""
    src = reference.units()["population_source"]
    src = src[src.notna() & (src != f"populations légales {reference.POPULATION_YEAR}")]
    return dict(zip(src.index, src, strict=True))


def _other_vintages(codes: object, other: dict[str, str]) -> dict[str, int]:
    """Count of units among ``codes`` whose population is not of POPULATION_YEAR, by vintage
    (``other``: :func:`_other_vintage_sources`)."""
    if not isinstance(codes, tuple | list) or not codes:
        return {}
    counts: dict[str, int] = {}
    for c in codes:
        if c in other:
            counts[other[c]] = counts.get(other[c], 0) + 1
    return {str(k): int(v) for k, v in sorted(counts.items())}


def _perimeter_popups(per: gpd.GeoDataFrame, classes: st.Classes, names: dict[str, str],
                      indicators: dict[str, str], limit: int, pop_year: int) -> list[str]:
    out = []
    other = _other_vintage_sources()
    for i, row in enumerate(per.itertuples(index=False)):
        r = row._asdict()
        lines = [f"<b>{_esc(r['cpts'])}</b>"]
        stage = r.get("stage")
        lines.append(f"Stade : {_esc(stage) if stage is not None and not pd.isna(stage) else 'non renseigné'}")
        lines.append(f"Population {pop_year} : {fr.plural(r.get('population'), 'habitant')}")
        for src, n in _other_vintages(r.get("codes"), other).items():
            lines.append(f"dont {fr.plural(n, 'commune')} avec une population d'un autre millésime : "
                         f"{_esc(src)}")
        if r.get("band") is not None and not pd.isna(r.get("band")):
            near = bool(aci_near_threshold(float(r["population"]))) if r.get("population") is not None \
                and not pd.isna(r.get("population")) else False
            lines.append(f"Taille ACI : {_esc(st.band_label(int(r['band'])))}"
                         + (" — à moins de 1 % d'un seuil, taille à confirmer" if near else ""))
        if classes.title not in ("Stade du projet", "CPTS") and not classes.title.startswith(
                "Taille") and classes.title not in indicators.values():
            lines.append(f"{_esc(classes.title)} : {_esc(classes.labels.iloc[i])}")
        if r.get("area_km2") is not None and not pd.isna(r.get("area_km2")):
            lines.append(f"Superficie : {fr.km2(r['area_km2'])}")
        if r.get("density") is not None and not pd.isna(r.get("density")):
            lines.append(f"Densité : {fr.number(r['density'], 1)}{fr.NNBSP}hab./km²")
        if r.get("deps") is not None:
            lines.append(f"Départements : {_esc(', '.join(map(str, r['deps'])))}")
        for col, label in indicators.items():
            v = r.get(col)
            if v is None or (not isinstance(v, (tuple, list)) and pd.isna(v)):
                continue
            text = fr.number(v, 2) if isinstance(v, (int, float)) and not isinstance(
                v, bool) else _esc(v)
            lines.append(f"{_esc(label)} : {text}")
        n_parts = r.get("n_parts")
        if n_parts is not None and not pd.isna(n_parts) and int(n_parts) > 1:
            lines.append(f"En {fr.integer(int(n_parts))} morceaux séparés par des terres")
        islands = r.get("islands")
        if isinstance(islands, (tuple, list)) and len(islands):
            lines.append(f"Communes séparées par la mer : {_names_of(tuple(islands), names, limit)}")
        shared = r.get("shared_units")
        if shared is not None and not (isinstance(shared, float) and pd.isna(shared)) and len(
                tuple(shared) if not isinstance(shared, (int, float)) else ()):
            lines.append(f"Communes partagées : {_names_of(tuple(shared), names, limit)}")
        eq = r.get("band_equal_split")  # cpts_geo.shares: shared city counted whole for each CPTS
        if eq is not None and not pd.isna(eq) and not pd.isna(r.get("population_equal_split")):
            lines.append(f"Ville partagée comptée entière ; à parts égales : taille {int(eq)} "
                         f"({fr.inhabitants(int(r['population_equal_split']))})")
        codes = tuple(r.get("codes") or ())
        lines.append(f"Communes ({fr.integer(len(codes))}) : {_names_of(codes, names, limit)}")
        out.append("<br>".join(lines))
    return out


class _Extras(MacroElement):
    """Legend, title, commune search box, credits and the window.cptsGeo registry."""

    _template = Template("""
{% macro header(this, kwargs) %}
<style>
.leaflet-container { background: {{ this.background }}; }
.cg-box { background: rgba(255,255,255,.94); padding: 6px 9px; border-radius: 5px;
  box-shadow: 0 1px 4px rgba(0,0,0,.35); font: 12px/1.35 system-ui, sans-serif; color: #222; }
.cg-legend { max-height: 60vh; overflow-y: auto; max-width: 290px; }
.cg-legend h4 { margin: 0 0 4px; font-size: 13px; }
.cg-legend .cg-row { display: flex; align-items: center; margin: 2px 0; }
.cg-legend .cg-sw { width: 18px; height: 12px; margin-right: 6px; flex: none;
  border: 1px solid #303030; }
.cg-title { position: absolute; top: 8px; left: 50%; transform: translateX(-50%); z-index: 800;
  font: 600 15px system-ui, sans-serif; pointer-events: none; max-width: 60%; text-align: center; }
.leaflet-control-attribution { max-width: 62vw; font-size: 10px; line-height: 1.3; }
.cg-label { font: 600 10.5px/1.15 system-ui, sans-serif; color: #111; text-align: center;
  width: max-content; max-width: 120px; white-space: normal; text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 2px #fff;
  transform: translate(-50%, -50%); pointer-events: none; }
.cg-search input { width: 210px; font-size: 12px; padding: 3px; }
.cg-search .cg-msg { color: #a00; font-size: 11px; }
</style>
{% endmacro %}
{% macro script(this, kwargs) %}
(function() {
  var map = {{ this._parent.get_name() }};
  {{ this.escape_js }}
  // without a tile layer Leaflet has no zoom range and fitBounds cannot zoom: set one
  map.setMinZoom(2); map.setMaxZoom(18);
  var data = {{ this.payload_json }};
  var layers = {};
  {% for key, name in this.layer_vars.items() %}layers[{{ key|tojson }}] = {{ name }};
  {% endfor %}
  // white-zone hatching: an SVG pattern referenced as fill="url(#cg-hatch)"
  var defs = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  defs.setAttribute('style', 'position:absolute;width:0;height:0');
  defs.innerHTML = '<defs><pattern id="cg-hatch" patternUnits="userSpaceOnUse" width="8" height="8"' +
    ' patternTransform="rotate(45)"><rect width="8" height="8" fill="' + data.white.fill + '"/>' +
    '<line x1="0" y1="0" x2="0" y2="8" stroke="' + data.white.edge + '" stroke-width="2.5"/></pattern></defs>';
  document.body.appendChild(defs);

  var title = L.DomUtil.create('div', 'cg-title cg-box', map.getContainer());
  title.textContent = data.title;

  var legend = L.control({position: 'bottomright'});
  legend.onAdd = function() {
    var div = L.DomUtil.create('div', 'cg-box cg-legend');
    div.id = 'cg-legend';
    var h = document.createElement('h4'); h.textContent = data.legend.title; div.appendChild(h);
    data.legend.rows.forEach(function(r) {
      var row = L.DomUtil.create('div', 'cg-row', div);
      var sw = L.DomUtil.create('span', 'cg-sw', row);
      sw.style.background = r.fill; sw.style.borderColor = r.edge || '#303030';
      if (r.opacity !== undefined && r.opacity < 1) {  // same translucency as the map fill
        var fill = L.DomUtil.create('span', '', sw); fill.style.cssText = 'display:block;' +
          'width:100%;height:100%;background:' + r.fill + ';opacity:' + r.opacity;
        sw.style.background = data.background; }
      if (r.dash) { sw.style.borderStyle = 'dashed'; sw.style.borderWidth = '2px'; }
      if (r.hatch) { sw.style.background = 'repeating-linear-gradient(45deg,' + r.edge +
        ' 0 2px,#fff 2px 6px)'; }
      var t = L.DomUtil.create('span', '', row); t.textContent = r.label;
    });
    if (data.legend.note) { var n = L.DomUtil.create('div', '', div); n.style.fontStyle = 'italic';
      n.textContent = data.legend.note; }
    L.DomEvent.disableClickPropagation(div); L.DomEvent.disableScrollPropagation(div);
    return div;
  };
  legend.addTo(map);

  // commune search box (offline: the index is embedded in the page, with each name's key
  // computed by cpts_geo.names.key; norm() and findIn() come from cpts_geo.names.JS_SEARCH)
  {{ this.search_js }}
  var entries = data.search.concat(data.search_cities);
  var idx = entries.map(function(c) { return {c: c, k: c[5], k2: c[6], code: c[1]}; });
  function find(q) { return findIn(idx, q); }  // an empty query finds nothing
  var search = L.control({position: 'topleft'});
  search.onAdd = function() {
    var div = L.DomUtil.create('div', 'cg-box cg-search');
    div.innerHTML = '<label for="cg-q">Rechercher une commune</label><br>' +
      '<input id="cg-q" list="cg-communes" placeholder="Nom ou code INSEE" autocomplete="off">' +
      '<datalist id="cg-communes"></datalist><div class="cg-msg"></div>';
    var dl = div.querySelector('datalist');
    entries.forEach(function(c) { var o = document.createElement('option');
      o.value = c[0] + ' (' + c[1] + ')'; dl.appendChild(o); });
    var input = div.querySelector('input'), msg = div.querySelector('.cg-msg');
    function go() {
      msg.textContent = '';
      if (!input.value.trim()) return;
      var c = find(input.value);
      if (!c) { msg.textContent = 'Commune introuvable dans la zone cartographiée'; return; }
      var b = c[4]; map.fitBounds([[b[1], b[0]], [b[3], b[2]]], {maxZoom: 12, animate: false});
      var names = c[3].map(function(i) { return data.search_cpts[i]; });
      var cp = names.length ? 'CPTS : ' + names.join(', ') : 'Zone blanche : aucune CPTS';
      var pop = c[2] === null ? 'n.d.' : c[2].toLocaleString('fr-FR');
      var box = L.DomUtil.create('div');
      box.innerHTML = '<b></b> (' + cgEscape(c[1]) + ')<br>Population ' + cgEscape(data.pop_year) +
        ' : ' + cgEscape(pop) +
        ' hab.<br><span></span>';
      box.querySelector('b').textContent = c[0]; box.querySelector('span').textContent = cp;
      L.popup().setLatLng([(b[1] + b[3]) / 2, (b[0] + b[2]) / 2]).setContent(box).openOn(map);
      window.cptsGeo.lastSearch = {nom: c[0], code: c[1], population: c[2], cpts: names};
    }
    L.DomEvent.on(input, 'change', go);
    L.DomEvent.on(input, 'keydown', function(e) { if (e.key === 'Enter') go(); });
    L.DomEvent.disableClickPropagation(div); L.DomEvent.disableScrollPropagation(div);
    return div;
  };
  search.addTo(map);

  L.control.scale({imperial: false, position: 'bottomleft'}).addTo(map);

  // declutter the CPTS names: larger CPTS first; a name is written on its point, else just
  // above, below, beside or at a corner of it, wherever its box overlaps no name already written
  // and stays inside the map; a name with no free place is hidden (zooming in brings it back)
  var SPOTS = [[0, 0], [0, -1], [0, 1], [1, 0], [-1, 0], [1, -1], [-1, -1], [1, 1], [-1, 1],
    [0, -2], [0, 2], [2, 0], [-2, 0], [2, -2], [-2, -2], [2, 2], [-2, 2]];
  function declutter() {
    var frame = map.getContainer().getBoundingClientRect();
    var els = Array.prototype.slice.call(document.querySelectorAll('.cg-label'));
    els.sort(function(a, b) { return (+a.dataset.rank) - (+b.dataset.rank); });
    var kept = [];
    function free(r) {
      return r.left >= frame.left && r.right <= frame.right && r.top >= frame.top && r.bottom <= frame.bottom &&
        !kept.some(function(k) {
          return !(r.right <= k.left || r.left >= k.right || r.bottom <= k.top || r.top >= k.bottom); });
    }
    els.forEach(function(el) {
      el.style.visibility = 'visible'; el.style.marginLeft = '0px'; el.style.marginTop = '0px';
      var r = el.getBoundingClientRect(), spot = null;
      for (var i = 0; r.width > 0 && i < SPOTS.length && !spot; i++) {
        var dx = SPOTS[i][0] * (r.width / 2 + 3), dy = SPOTS[i][1] * (r.height / 2 + 2);
        var c = {left: r.left + dx, right: r.right + dx, top: r.top + dy, bottom: r.bottom + dy};
        if (free(c)) spot = [dx, dy, c];
      }
      if (!spot) { el.style.visibility = 'hidden'; return; }
      el.style.marginLeft = spot[0] + 'px'; el.style.marginTop = spot[1] + 'px';
      kept.push(spot[2]);
    });
    // state read by the tests: the labels are settled for this view
    window.cptsGeoLabels = {zoom: map.getZoom(), center: map.getCenter(), shown: kept.length,
                            total: els.length};
  }
  map.on('zoomend moveend overlayadd', declutter);
  setTimeout(declutter, 0);
  map.attributionControl.addAttribution(cgEscape(data.credits));
  window.cptsGeo = {map: map, layers: layers, legend: data.legend, title: data.title,
                    search: find, searchBox: search, declutter: declutter};
  // overseas zones (national maps): one small map each in a box at the bottom left, over the
  // sea; a click on one brings the main map there
  var insetBox = null;
  if ((data.insets || []).length) {
    var ctl = L.control({position: 'bottomleft'});
    ctl.onAdd = function() {
      var div = L.DomUtil.create('div', 'cg-box cg-insets'); div.id = 'cg-insets';
      L.DomEvent.disableClickPropagation(div); L.DomEvent.disableScrollPropagation(div);
      return div; };
    ctl.addTo(map); insetBox = ctl.getContainer();
    var feats = layers.zones ? layers.zones.toGeoJSON().features : [];
    window.cptsGeo.insets = data.insets.map(function(ins) {
      var cell = L.DomUtil.create('div', 'cg-inset', insetBox);
      var cap = L.DomUtil.create('div', 'cg-inset-name', cell); cap.textContent = ins.name;
      var box = L.DomUtil.create('div', 'cg-inset-map', cell);
      var mini = L.map(box, {zoomControl: false, attributionControl: false, dragging: false,
        scrollWheelZoom: false, doubleClickZoom: false, boxZoom: false, keyboard: false,
        touchZoom: false, zoomSnap: 0.25});
      mini.setMinZoom(2); mini.setMaxZoom(14);
      var mine = feats.filter(function(f) { return ins.zones.indexOf(String(f.properties.zone)) >= 0; });
      L.geoJSON({type: 'FeatureCollection', features: mine}, {interactive: false,
        style: function(f) { return f.properties.style; }}).addTo(mini);
      var b = L.latLngBounds(ins.bounds);
      mini.fitBounds(b, {animate: false, padding: [3, 3]});
      cell.title = ins.name + ' : cliquer pour afficher';
      L.DomEvent.on(cell, 'click', function() { map.fitBounds(b, {animate: false}); });
      return {name: ins.name, map: mini, n: mine.length};
    });
  }
  // whole area in view, without animation: the names are decluttered for the final view; with
  // data.fit_beside (national maps) the land is fitted beside the legend and the insets, never
  // under them (Corsica stays in view)
  function fitView() {
    var opts = {animate: false};
    if (data.fit_beside) {
      var lg = document.getElementById('cg-legend'), fr = map.getContainer().getBoundingClientRect();
      var right = lg ? lg.getBoundingClientRect().width + 20 : 0;
      var left = insetBox ? insetBox.getBoundingClientRect().width + 20 : 0;
      var top = title.getBoundingClientRect().bottom - fr.top + 8;
      var credits = map.attributionControl.getContainer().getBoundingClientRect().height + 6;
      if (right + left < fr.width * 0.6 && top + credits < fr.height * 0.4) {
        opts.paddingBottomRight = [right, credits]; opts.paddingTopLeft = [left, top]; }
    }
    map.fitBounds(data.bounds, opts);
  }
  window.cptsGeo.fitView = fitView;
  fitView();
  declutter();
})();
{% endmacro %}
""")

    def __init__(self, payload: dict, layer_vars: dict[str, str], background: str) -> None:
        super().__init__()
        self._name = "CptsGeoExtras"
        self.payload = payload
        self.payload_json = html_safe.script_json(payload)  # never re-read as a template
        self.layer_vars = layer_vars
        self.background = background
        self.search_js = commune_names.JS_SEARCH
        self.escape_js = html_safe.JS_ESCAPE


class _Page(Figure):
    """The page of a map: its charset declared first, its ``<title>`` escaped, and a
    Content-Security-Policy allowing only the page's own inline scripts
    (:func:`cpts_geo.io.html_safe.with_csp`) added when rendered."""

    _template = Template(
        "<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n"
        "{% if this.title %}<title>{{ this.title|e }}</title>{% endif %}"
        "    {{this.header.render(**kwargs)}}\n</head>\n<body>\n"
        "    {{this.html.render(**kwargs)}}\n</body>\n<script>\n"
        "    {{this.script.render(**kwargs)}}\n</script>\n</html>\n")

    def __init__(self, remote_images: bool = False) -> None:
        super().__init__()
        self.header._children.pop("meta_http", None)  # the charset comes first, in the template
        self.remote_images = remote_images

    def render(self, **kwargs: Any) -> str:
        return html_safe.with_csp(super().render(**kwargs), remote_images=self.remote_images)


def _inline_leaflet(m: folium.Map) -> None:
    """Replace folium's CDN links (Leaflet, jQuery, Bootstrap, fonts) by inlined Leaflet."""
    m.default_js = []
    m.default_css = []
    js, css = leaflet_assets()
    m.get_root().header.add_child(
        Element(f"<style>{css}</style>\n<script>{js}</script>"), name="cpts_geo_leaflet")


def _base_map(bounds: Any, zoom_start: int, tiles: str | None) -> folium.Map:
    """An offline folium map centred on ``bounds`` (minx, miny, maxx, maxy in degrees): inlined
    Leaflet, no tiles unless ``tiles`` is given (then as the "Fond de carte" layer)."""
    html_safe.make_templates_inert()  # user names written « {{ … }} » are never evaluated
    minx, miny, maxx, maxy = bounds
    m = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=zoom_start, tiles=None,
                   control_scale=False, zoom_snap=0.25)
    _Page(remote_images=bool(tiles)).add_child(m)  # escaped title, CSP
    _inline_leaflet(m)
    if tiles:
        folium.TileLayer(tiles, name="Fond de carte", control=True).add_to(m)
    return m


#: tooltips (``tt``) and popups (``pp``) are HTML built in Python, every user string in them
#: through :func:`_esc` (:func:`cpts_geo.io.html_safe.escape`)
_ON_EACH = folium.JsCode("""function(feature, layer) {
  var p = feature.properties;
  if (p.tt) layer.bindTooltip(p.tt, {sticky: true});
  if (p.pp) layer.bindPopup(p.pp, {maxWidth: 380, maxHeight: 320});
  layer.on('mouseover', function() { layer.setStyle({weight: (p.style.weight || 1) + 2}); });
  layer.on('mouseout', function() { layer.setStyle({weight: p.style.weight || 1}); });
}""")


def coverage_map(
    diagnosis: Any,
    color_by: str | None = "auto",
    *,
    tiles: str | None = None,
    communes: bool | None = None,
    tolerance_m: float | None = None,
    title: str | None = None,
    indicators: dict[str, str] | None = None,
    max_listed_communes: int = 80,
    layers: MapLayers | None = None,
    rates_by: str = "departement",
    rates_stage: str | None = None,
) -> folium.Map:
    """Interactive map of a coverage diagnosis (``cpts_geo.diagnose``), working offline.

    - ``color_by``: ``"stage"``, ``"band"`` (ACI size band), ``"cpts"``, any column of the
      perimeters (e.g. ``"irdes"``), or ``"auto"`` (stage when known, else one colour per CPTS).
    - ``tiles``: None (default) = blank background, no network; or a folium / xyzservices tile
      provider name ("OpenStreetMap", "CartoDB positron") that needs the internet.
    - ``communes``: add the commune boundaries layer (hidden until ticked); None = only when the
      area has ≤ 5,000 units.
    - ``tolerance_m``: simplification tolerance in metres of the local projected CRS
      (None = automatic, see :func:`cpts_geo.maps.layers.default_tolerance`).
    - ``indicators``: perimeter columns shown in popups (column → French label); None = those
      of :data:`DEFAULT_INDICATORS` present (written by ``cpts_geo.classify`` / indicators).

    Layers: départements, périmètres (coloured by class), chevauchements, zones blanches
    (hatched), communes. French legend, layer control, tooltips and popups, commune search box,
    credits (IGN ADMIN EXPRESS, INSEE populations légales, the listing's source and date).

    ``color_by="taux_couverture"`` (and ``"auto"`` when the area spans several regions) draws the
    covered population share by zone instead (:func:`cpts_geo.maps.rates.rates_map`;
    ``rates_by``: departement, epci or bv; ``rates_stage``: None or "aci").
    """
    check_map_arguments(diagnosis, layers, color_by=color_by, tolerance_m=tolerance_m, title=title,
                        tiles=tiles, rates_by=rates_by, rates_stage=rates_stage)
    if communes is not None:
        expect_bool(communes, "communes")
    if indicators is not None and not isinstance(indicators, dict):
        fail("indicators", indicators, "un dictionnaire {colonne: libellé} est attendu")
    expect_int(max_listed_communes, "max_listed_communes", minimum=0)
    other = st.alternate_map(diagnosis, color_by, "interactive")
    if other is not None:
        return other(diagnosis, color_by, tiles=tiles, title=title, tolerance_m=tolerance_m,
                     rates_by=rates_by, rates_stage=rates_stage)
    lay = layers if layers is not None else build_layers(diagnosis, tolerance_m)
    meta = lay.meta
    pop_year = int(meta.get("population_year", reference.POPULATION_YEAR))
    per = lay.perimeters
    per = per[per.geometry.notna()].reset_index(drop=True)
    classes = st.classify(per, color_by)
    if indicators is None:
        indicators = {c: lab for c, lab in DEFAULT_INDICATORS.items() if c in per}
    ref = reference.load_communes()
    ref_names = dict(zip(ref["code"], ref["nom"], strict=True))  # a dict: one lookup per listed code

    minx, miny, maxx, maxy = bounds = lay.units.total_bounds if len(lay.units) else per.total_bounds
    m = _base_map(bounds, 8, tiles)

    layer_vars: dict[str, str] = {}

    def add(key: str, gdf: gpd.GeoDataFrame, props: pd.DataFrame, show: bool = True,
            **options: Any) -> None:
        gj = folium.GeoJson(_geojson(gdf, props), name=LAYER_NAMES[key], show=show,
                            on_each_feature=_ON_EACH, **options)
        gj.add_to(m)
        layer_vars[key] = gj.get_name()

    if communes is None:
        communes = len(lay.units) <= 5000
    if communes:
        u = lay.units
        tt = [f"{_esc(n)} ({c})<br>{fr.plural(p, 'habitant')} · "
              + (_esc(", ".join(cp)) if len(cp) else "aucune CPTS")
              for n, c, p, cp in zip(u["nom"], u["code"], u["population"], u["cpts"], strict=True)]
        style = {"color": "#606060", "weight": 0.5, "fill": True, "fillOpacity": 0,
                 "dashArray": "2 2"}
        add("communes", u, pd.DataFrame({"code": u["code"].to_numpy(), "tt": tt,
                                         "style": [style] * len(u)}), show=False)

    pstyles = [{"color": st.PERIMETER_EDGE, "weight": 1.2, "fillColor": c,
                "fillOpacity": st.FILL_OPACITY}
               for c in classes.colors]
    ptt = [f"<b>{_esc(n)}</b><br>{_esc(lab)}"
           for n, lab in zip(per["cpts"], classes.labels, strict=True)]
    ppp = _perimeter_popups(per, classes, ref_names, indicators, max_listed_communes, pop_year)
    add("perimetres", per, pd.DataFrame({"cpts": per["cpts"].to_numpy(), "classe": classes.labels
                                          .to_numpy(), "tt": ptt, "pp": ppp, "style": pstyles}))

    ov = lay.overlaps
    ostyle = {"color": st.OVERLAP["edge"], "weight": 2, "fillColor": st.OVERLAP["fill"],
              "fillOpacity": st.OVERLAP_OPACITY}
    ott = [f"<b>Chevauchement</b> ({int(k)} CPTS)<br>{_esc(c)}<br>{fr.plural(n, 'commune')}, "
           f"{fr.plural(p, 'habitant')}" for c, k, n, p in
           zip(ov["cpts"], ov["n_cpts"], ov["n_units"], ov["population"], strict=True)]
    add("chevauchements", ov, pd.DataFrame({"cpts": ov["cpts"].to_numpy(), "tt": ott,
                                             "pp": ott, "style": [ostyle] * len(ov)}))

    wz = lay.white_zones
    wstyle = {"color": st.WHITE_ZONE["edge"], "weight": 1.5, "dashArray": "5 3",
              "fillColor": "url(#cg-hatch)", "fillOpacity": 0.9}
    wcodes = wz["codes"] if "codes" in wz else pd.Series([()] * len(wz))
    none = pd.Series([None] * len(wz), index=wz.index, dtype=object)
    wtt = [f"<b>Zone blanche</b> ({fr.plural(len(cs), 'commune')}, {fr.plural(p, 'habitant')} en {pop_year})"
           + (f" · {_esc(st.WHITE_ZONE_TYPES.get(t, t))}" if isinstance(t, str) else "")
           + (f"<br>CPTS voisines : {_esc(st.neighbours_text(nb, km))}"
              if isinstance(nb, (tuple, list)) and len(nb) else "")
           for cs, p, t, nb, km in zip(wcodes, wz.get("population", none), wz.get("type", none),
                                       wz.get("neighbour_cpts", none),
                                       wz.get("neighbour_border_km", none), strict=True)]
    wpp = [t + "<br>Communes : " + _names_of(tuple(cs), ref_names, max_listed_communes)
           for t, cs in zip(wtt, wcodes, strict=True)]
    add("zones_blanches", wz, pd.DataFrame({"zone_id": wz["zone_id"].to_numpy(), "tt": wtt,
                                             "pp": wpp, "style": [wstyle] * len(wz)}))

    # names of the CPTS, always on; the page hides those whose box would overlap a label of a
    # larger CPTS at the current zoom (declutter), they come back when zooming in
    names = folium.FeatureGroup(name=LAYER_NAMES["noms"], show=True)
    pts = label_points(per, lay.units)  # shared-city CPTS named inside their own communes
    area = per.to_crs(_crs.LOCAL_CRS["metropole"]).area if len(per) else pd.Series(dtype=float)
    for rank, i in enumerate(np.argsort(-area.to_numpy(), kind="stable")):
        label = _esc(st.short_name(per["cpts"].iloc[i]))
        pt = pts.iloc[i]
        folium.Marker([round(pt.y, 5), round(pt.x, 5)], icon=folium.DivIcon(
            html=f'<div class="cg-label" data-rank="{rank}">{label}</div>', icon_size=(0, 0)),
            interactive=False).add_to(names)
    names.add_to(m)
    layer_vars["noms"] = names.get_name()

    dep = lay.departments
    dstyle = {"color": st.DEPARTMENT_EDGE, "weight": 2.2, "fill": False}
    add("departements", dep, pd.DataFrame({"dep": dep["dep"].to_numpy(),
                                           "style": [dstyle] * len(dep)}), interactive=False)

    rows = [{"label": k, "fill": v, "opacity": st.FILL_OPACITY} for k, v in classes.legend.items()]
    rows.append({"label": st.OVERLAP["label"], "fill": st.OVERLAP["fill"],
                 "edge": st.OVERLAP["edge"], "opacity": st.OVERLAP_OPACITY})
    rows.append({"label": st.WHITE_ZONE["label"], "fill": st.WHITE_ZONE["fill"],
                 "edge": st.WHITE_ZONE["edge"], "hatch": True})
    rows.append({"label": "Limite de département", "fill": "transparent",
                 "edge": st.DEPARTMENT_EDGE})
    u = lay.units
    cpts_names = sorted({c for cp in u["cpts"] for c in cp})
    search, search_cities = _search_index(u, cpts_names)
    payload = {
        "title": title or _default_title(lay, classes),
        "legend": {"title": f"Couleur : {classes.title}", "rows": rows, "note": classes.note},
        "white": st.WHITE_ZONE,
        "background": BACKGROUND,
        "credits": credits_text(meta),
        "search": search,
        "search_cities": search_cities,
        "search_cpts": cpts_names,
        "pop_year": pop_year,
        "bounds": [[float(miny), float(minx)], [float(maxy), float(maxx)]],
    }
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    m.add_child(_Extras(payload, layer_vars, BACKGROUND))
    m.get_root().title = payload["title"]
    return m


def _search_index(u: gpd.GeoDataFrame, cpts_names: list[str]) -> tuple[list, list]:
    """Compact search index of the units: [nom, code, population, CPTS indices into
    ``cpts_names``, bounds (1e-4°), key of the name (:func:`cpts_geo.names.key`), second key or
    None (:func:`cpts_geo.names.name_keys`)], and one such
    row per Paris / Lyon / Marseille whose arrondissements are mapped (the whole city: its name
    finds the city, not its 1er arrondissement)."""
    ub = u.geometry.bounds.round(4)
    pos = {c: i for i, c in enumerate(cpts_names)}
    keys = commune_names.keys(u["nom"].tolist())
    search = [[n, c, None if pd.isna(p) else int(p), [pos[x] for x in cp],
               [b.minx, b.miny, b.maxx, b.maxy], k, _second_key(n)]
              for n, c, p, cp, b, k in zip(u["nom"], u["code"], u["population"], u["cpts"],
                                           ub.itertuples(), keys, strict=True)]
    ref = reference.units()
    arr = ref[(ref["kind"] == "arrondissement").to_numpy()]
    parent = u["code"].map(dict(zip(arr.index, arr["parent"], strict=True)))
    cities = []
    for city, rows in u.groupby(parent.to_numpy(), sort=True):
        b = ub.loc[rows.index]
        pop = rows["population"]
        cp = sorted({pos[x] for cps in rows["cpts"] for x in cps})
        name = reference.PLM_CITIES[city]
        cities.append([name, city, None if pop.isna().any() else int(pop.sum()), cp,
                       [b.minx.min(), b.miny.min(), b.maxx.max(), b.maxy.max()], commune_names.key(name),
                       None])
    return search, cities


def _second_key(name: str) -> str | None:
    """The name's key without (or with a glued) leading article, when it has one: "L'Isle-sur-la-
    Sorgue" is found by "Isle-sur-la-Sorgue" too."""
    ks = commune_names.name_keys(name) if name[:1] in ("L", "l") else ()
    return ks[1] if len(ks) > 1 else None


def _default_title(lay: MapLayers, classes: st.Classes) -> str:
    return st.default_title(len(lay.perimeters), lay.departments["dep"])


def save_html(m: folium.Map, path: str | Path, *, inputs: tuple[str | Path, ...] = ()) -> Path:
    """Write the self-contained HTML page of a map, complete or absent and never over one of
    ``inputs`` (:func:`cpts_geo.io.atomic.output_file`); returns the path."""
    from cpts_geo.io.atomic import output_file

    path = Path(path)
    with output_file(path, inputs) as tmp:
        m.save(str(tmp))
    return path


def html_size(m: folium.Map) -> int:
    """Size in bytes of the rendered HTML page."""
    return len(m.get_root().render().encode("utf-8"))


__all__ = ["coverage_map", "credits_text", "html_size", "save_html"]
