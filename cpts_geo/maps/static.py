"""Static coverage map for print (matplotlib): A4 or A3 landscape, PNG and PDF.

Every CPTS is identifiable: a number inside each perimeter (collision-free: moved with a leader
line when it does not fit or collides), a numbered key beside the map (number → CPTS name),
automatic zoomed insets where perimeters are too small to hold their number (dense cities),
title with the region's name, French footer (sources, vintages, date); technical details
(simplification tolerance, CRS) go to the file metadata only. Insets for the overseas
departments when the map also covers the mainland.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import matplotlib.patheffects as pe
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.textpath import TextToPath
from shapely.ops import polylabel

from cpts_geo import crs as _crs
from cpts_geo import fr, reference
from cpts_geo._checks import expect_text
from cpts_geo.errors import OptionError
from cpts_geo.maps import style as st
from cpts_geo.maps.interactive import credits_text
from cpts_geo.maps.layers import MapLayers, build_layers, check_map_arguments
from cpts_geo.rules import CRS_NAMES, DROM_NAMES

_NICE_KM = (0.5, 1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500)


def _draw(ax, lay: MapLayers, classes: st.Classes, zone: str, dep: str | None = None,
          lw: float = 1.0) -> None:
    """Draw every layer of ``zone`` (optionally one department) in its projected CRS."""
    def part(name: str) -> gpd.GeoDataFrame:
        g = lay.projected(name, zone)
        return g

    per = lay.perimeters.assign(_color=classes.colors.to_numpy())
    per = per[per["zone_crs"] == zone] if "zone_crs" in per else per
    per = per[per.geometry.notna()].to_crs(_crs.LOCAL_CRS[zone])
    deps = part("departments")
    if dep is not None:
        deps = deps[deps["dep"] == dep]
    if len(per):
        per.plot(ax=ax, color=per["_color"], edgecolor=st.PERIMETER_EDGE, linewidth=0.45 * lw,
                 alpha=st.FILL_OPACITY)
    ov = part("overlaps")
    if len(ov):
        ov.plot(ax=ax, facecolor=st.OVERLAP["fill"], edgecolor=st.OVERLAP["edge"],
                alpha=st.OVERLAP_OPACITY,
                hatch="xxx", linewidth=0.5 * lw)
    wz = part("white_zones")
    if len(wz):
        wz.plot(ax=ax, facecolor="white", edgecolor=st.WHITE_ZONE["edge"], hatch="/////",
                linewidth=0.4 * lw)
    if len(deps):
        deps.boundary.plot(ax=ax, color=st.DEPARTMENT_EDGE, linewidth=1.0 * lw)
    st.frame_axes(ax, deps.total_bounds if len(deps) else None)


def _scale_bar(ax, zone: str, fs: float = 6) -> None:
    """Scale bar in metres of the projected CRS (lower left); the CRS is named in the metadata."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    target = (x1 - x0) * 0.2 / 1000
    km = max([k for k in _NICE_KM if k <= target] or [_NICE_KM[0]])
    length = km * 1000
    bx, by = x0 + (x1 - x0) * 0.04, y0 + (y1 - y0) * 0.04
    h = (y1 - y0) * 0.008
    for i in range(4):
        ax.add_patch(Rectangle((bx + i * length / 4, by), length / 4, h,
                               facecolor="black" if i % 2 == 0 else "white",
                               edgecolor="black", linewidth=0.5, zorder=10))
    fmt = fr.number
    for xval, lab in ((0, "0"), (length / 2, fmt(km / 2, 1 if km / 2 % 1 else 0)),
                      (length, f"{fmt(km, 1 if km % 1 else 0)}{fr.NNBSP}km")):
        ax.text(bx + xval, by + h * 1.6, lab, ha="center", va="bottom", fontsize=fs, zorder=10)


def _north(ax, fs: float = 8) -> None:
    ax.annotate("N", xy=(0.96, 0.95), xytext=(0.96, 0.87), xycoords="axes fraction",
                ha="center", va="center", fontsize=fs, fontweight="bold",
                arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1})


#: paper sizes in inches, landscape (width, height)
PAPER_IN = {"A4": (11.69, 8.27), "A3": (16.54, 11.69)}
#: font size (points) of the numbers on the map (A4)
NUMBER_FS = 6.5
#: text size factor on A3: the sheet is 1.41 × A4 in each direction, the text only 1.15 ×, so
#: that A3 gains map detail (more perimeters hold their number) instead of enlarging A4
A3_TEXT = 1.15
#: page margin (inches, ≈ 6 mm: inside the printable area of office printers), gap between blocks
MARGIN_IN = 0.25
GAP_IN = 0.12
#: at most this many zoomed insets of dense areas (fewer when the strip is too short for them)
MAX_DENSE_INSETS = 4
#: an inset must magnify its area at least this much, else its CPTS stay on the main map
MIN_INSET_ZOOM = 2.0
#: smallest side of the strip of zoomed insets (inches at A4)
MIN_INSET_IN = 1.7
#: a part of a CPTS separated by land from its largest part gets its own number from this area
#: (km², about half the median area of a French commune: a patch seen at region scale)
MIN_PART_KM2 = 5.0
#: widest column of the numbered key (inches at A4); longer names are cut with « … »
KEY_COL_MAX_IN = 2.4
#: narrowest column of the key (inches at A4, ≈ 18 characters at 5.5 pt): when the key of every
#: CPTS does not fit in such columns, the numbers are left out (``labels=None``), said in the legend
KEY_MIN_COL_IN = 1.0

_TEXT_PATH = TextToPath()
KEY_TITLE = "Liste des CPTS (numéros de la carte)"


@dataclass
class _Label:
    number: int
    x: float  # anchor in data coordinates (inside the perimeter)
    y: float
    radius: float  # largest inscribed circle around the anchor (data units, metres)


@functools.cache
def _char_w(char: str, bold: bool) -> float:
    """Advance width (points) of one character in DejaVu Sans at 10 points."""
    prop = FontProperties(family="DejaVu Sans", size=10, weight="bold" if bold else "normal")
    return _TEXT_PATH.get_text_width_height_descent(char, prop, ismath=False)[0]


def _text_w(text: str, fs: float, bold: bool = False) -> float:
    """Width (inches) of ``text`` in DejaVu Sans (matplotlib's default font) at ``fs`` points:
    sum of the character widths (cached) + 6 % for kerning and the pixel rounding of small
    text on screen and PNG (≈ 3.5 % at 5.5 pt, 100 dpi)."""
    return sum(_char_w(c, bold) for c in text) * fs / 10 * 1.06 / 72


def _wrap(text: str, fs: float, width_in: float, bold: bool = False) -> list[str]:
    """Greedy word wrap of ``text`` to lines narrower than ``width_in`` inches."""
    lines: list[str] = []
    for para in text.split("\n"):
        cur = ""
        for word in para.split(" "):
            cand = f"{cur} {word}" if cur else word
            if cur and _text_w(cand, fs, bold) > width_in:
                lines.append(cur)
                cur = word
            else:
                cur = cand
        lines.append(cur)
    return lines


def _fit(text: str, fs: float, width_in: float) -> str:
    """``text`` cut with « … » to fit ``width_in`` inches."""
    if _text_w(text, fs) <= width_in:
        return text
    lo, hi = 1, len(text)
    while lo < hi:  # longest prefix that fits with the ellipsis
        mid = (lo + hi + 1) // 2
        if _text_w(text[:mid].rstrip() + "…", fs) <= width_in:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + "…"


def _pole(poly: Any) -> tuple[float, float, float]:
    """Pole of inaccessibility of a polygon and the radius (metres) of its inscribed circle."""
    tol = max(np.sqrt(poly.area) / 200, 10.0)
    p = polylabel(poly, tolerance=tol)
    return p.x, p.y, float(poly.exterior.distance(p)) if poly.contains(p) else 0.0


def _anchors(per: gpd.GeoDataFrame) -> list[tuple[float, float, float]]:
    """Inside point and inscribed radius (metres) of each perimeter (its largest part)."""
    out = []
    for geom in per.geometry:
        if geom is None or geom.is_empty:
            out.append((np.nan, np.nan, 0.0))
            continue
        out.append(_pole(max(getattr(geom, "geoms", [geom]), key=lambda g: g.area)))
    return out


def _town_halls(codes: set[str], crs: Any) -> gpd.GeoSeries:
    """Town hall of each unit (a point inside the polygon when unknown), indexed by code, in
    ``crs``; a Paris/Lyon/Marseille city code stands for its arrondissements."""
    units = reference.plm_expand(sorted(codes))
    ref = reference.load_communes()
    ref = ref[ref["code"].isin(set(units["unit"]))].set_index("code")
    pts = gpd.GeoSeries(gpd.points_from_xy(ref["mairie_lon"], ref["mairie_lat"]), index=ref.index,
                        crs=4326)
    missing = ref["mairie_lon"].isna() | ref["mairie_lat"].isna()
    pts[missing] = ref.geometry[missing].representative_point()
    pts = pts.to_crs(crs)
    pair = units.set_index("unit")["code"]
    return gpd.GeoSeries(pts.to_numpy(), index=pair.reindex(pts.index).to_numpy(), crs=crs)


def _part_anchors(per_m: gpd.GeoDataFrame, numbers: pd.Series) -> list[_Label]:
    """Number positions of the other significant parts of multi-part CPTS.

    A part (polygon of the drawn perimeter other than its largest one) gets its own number
    when the CPTS is in several parts separated by land (``n_parts`` > 1, the land-adjacency
    definition of :mod:`cpts_geo.topology`), the part covers at least :data:`MIN_PART_KM2` and
    holds the town hall of a member commune that is not an island part (``islands``): islands
    of a commune (Porquerolles for Hyères) and parts across the sea get no number.
    """
    if "codes" not in per_m:
        return []
    multi = per_m.geometry.notna() & (per_m.geometry.geom_type == "MultiPolygon")
    if "n_parts" in per_m:
        multi &= pd.to_numeric(per_m["n_parts"], errors="coerce").fillna(1).to_numpy() > 1
    rows = per_m[multi]
    if rows.empty:
        return []
    halls = _town_halls({c for cs in rows["codes"] for c in cs}, per_m.crs)
    out = []
    for i, row in rows.iterrows():
        islands = set(row["islands"]) if "islands" in row and isinstance(row["islands"], tuple | list) else set()
        own = halls[halls.index.isin([c for c in row["codes"] if c not in islands])]
        parts = sorted(row.geometry.geoms, key=lambda g: -g.area)[1:]
        for part in parts:
            if part.area < MIN_PART_KM2 * 1e6 or not own.within(part).any():
                continue
            out.append(_Label(int(numbers[i]), *_pole(part)))
    return out


def _numbers(per: gpd.GeoDataFrame) -> pd.Series:
    """Number of each CPTS: alphabetical order of names (accents and « CPTS » ignored)."""
    def key(name: str) -> str:
        n = unicodedata.normalize("NFD", str(name).removeprefix("CPTS ").strip())
        return "".join(c for c in n if not unicodedata.combining(c)).casefold()
    order = sorted(range(len(per)), key=lambda i: (key(per["cpts"].iloc[i]), str(per["cpts"].iloc[i])))
    num = np.empty(len(per), dtype=int)
    num[order] = np.arange(1, len(per) + 1)
    return pd.Series(num, index=per.index)


def _badge_pt(number: int, fs: float = NUMBER_FS) -> float:
    """Approximate size (points) of a number badge (circle around the digits)."""
    return fs * (0.62 * len(str(number)) + 0.9)


def _place_labels(ax, labels: list[_Label], fs: float = NUMBER_FS,
                  avoid: list[tuple[float, float, float, float]] = ()) -> list:
    """Draw number badges without collisions: at the anchor when the badge fits inside the
    perimeter and is free, else at the nearest free position around it with a leader line.
    ``avoid``: display boxes (x0, y0, x1, y1) no badge may cover (scale bar, inset letters)."""
    ax.apply_aspect()
    to_disp = ax.transData
    dpi_scale = ax.figure.dpi / 72.0
    x0, y0, x1, y1 = ax.bbox.extents
    texts = []
    # placed badges bucketed in a grid of cells (pixels): a test looks at the cells it touches
    # only, so placing n badges costs O(n), not O(n²) (1,250 CPTS: seconds, not minutes)
    cell = max(_badge_pt(9999, fs) * dpi_scale * 2, 1.0)
    grid: dict[tuple[int, int], list[tuple[float, float, float, float]]] = {}

    def cells(a: float, b: float, c: float, d: float):
        return ((i, j) for i in range(int(a // cell), int(c // cell) + 1)
                for j in range(int(b // cell), int(d // cell) + 1))

    for box in avoid:
        for k in cells(*box):
            grid.setdefault(k, []).append(box)

    def free(cx: float, cy: float, half: float) -> bool:
        if cx - half < x0 or cx + half > x1 or cy - half < y0 or cy + half > y1:
            return False
        return all(cx + half <= a or cx - half >= c or cy + half <= b or cy - half >= d
                   for k in cells(cx - half, cy - half, cx + half, cy + half) for a, b, c, d in grid.get(k, ()))

    scale = abs(to_disp.transform((1, 0))[0] - to_disp.transform((0, 0))[0])  # px per metre
    order = sorted(labels, key=lambda lab: -lab.radius)
    for lab in order:
        size = _badge_pt(lab.number, fs) * dpi_scale
        half = size / 2 + 0.5 * dpi_scale
        ax_pt = to_disp.transform((lab.x, lab.y))
        fits = lab.radius * scale >= 0.5 * size
        pos = None
        if fits and free(ax_pt[0], ax_pt[1], half):
            pos = ax_pt
        else:
            for ring in np.arange(1.3, 16.0, 0.7):
                for ang in np.linspace(0, 2 * np.pi, 16, endpoint=False) + ring:
                    cand = (ax_pt[0] + ring * size * np.cos(ang), ax_pt[1] + ring * size * np.sin(ang))
                    if free(cand[0], cand[1], half):
                        pos = cand
                        break
                if pos is not None:
                    break
            if pos is None:  # nowhere free: keep the anchor rather than lose the number
                pos = ax_pt
        box = (pos[0] - half, pos[1] - half, pos[0] + half, pos[1] + half)
        for k in cells(*box):
            grid.setdefault(k, []).append(box)
        xy_text = ax.transData.inverted().transform(pos)
        moved = pos is not ax_pt
        t = ax.annotate(
            str(lab.number), (lab.x, lab.y), xytext=tuple(xy_text), textcoords="data",
            ha="center", va="center", fontsize=fs, fontweight="bold", color="#111", zorder=20,
            bbox={"boxstyle": "circle,pad=0.18", "facecolor": "white", "edgecolor": "#333",
                  "linewidth": 0.4},
            arrowprops={"arrowstyle": "-", "color": "#222", "linewidth": 0.5,
                        "shrinkA": 0, "shrinkB": 0} if moved else None)
        t.set_gid(f"cpts-number-{lab.number}")
        texts.append(t)
    return texts


def _dense_clusters(anchors: list[_Label], small: list[int], radius_m: float,
                    limit: int = MAX_DENSE_INSETS) -> list[list[int]]:
    """Dense areas: groups of CPTS too small to hold their number, each within ``radius_m``
    metres of its centre (the small CPTS with the most small neighbours), largest groups first."""
    left = list(small)
    groups: list[list[int]] = []
    xy = np.array([[anchors[i].x, anchors[i].y] for i in range(len(anchors))])
    while left and len(groups) < limit:
        pts = xy[left]
        d = np.hypot(pts[:, None, 0] - pts[None, :, 0], pts[:, None, 1] - pts[None, :, 1])
        counts = (d <= radius_m).sum(axis=1)
        best = int(np.argmax(counts))
        if counts[best] < 2:
            break
        members = [left[j] for j in np.flatnonzero(d[best] <= radius_m)]
        groups.append(members)
        left = [i for i in left if i not in members]
    return groups


def _frame(group: list[int], anchors: list[_Label], ratio: float, h_pt: float, fs: float
           ) -> tuple[float, float, float, float]:
    """Extent (minx, miny, maxx, maxy, metres) shown by the inset of ``group``: its anchors with
    a margin, at the scale where its smallest perimeter holds its number when possible; the
    width / height ratio is the inset's."""
    pts = np.array([[anchors[j].x, anchors[j].y] for j in group])
    (gx0, gy0), (gx1, gy1) = pts.min(axis=0), pts.max(axis=0)
    need = max(0.55 * _badge_pt(anchors[j].number, fs) / max(anchors[j].radius, 1.0)
               for j in group)  # points per metre for the smallest to hold its number
    half_h = max((gy1 - gy0) / 2, (gx1 - gx0) / 2 / ratio) * 1.25 + 4 * _badge_pt(99, fs) / need
    half_h = min(half_h, h_pt / need / 2)
    half_h = max(half_h, (gy1 - gy0) / 2 * 1.1, (gx1 - gx0) / 2 / ratio * 1.1, 1500.0)
    cx, cy = (gx0 + gx1) / 2, (gy0 + gy1) / 2
    return cx - half_h * ratio, cy - half_h, cx + half_h * ratio, cy + half_h


def _boxes_meet(a: tuple, b: tuple, margin: float = 0.0) -> bool:
    return not (a[2] + margin <= b[0] or b[2] + margin <= a[0]
                or a[3] + margin <= b[1] or b[3] + margin <= a[1])


def _choose_insets(candidates: list[list[int]], anchors: list[_Label], slot, m_per_pt: float,
                   fs: float, k_max: int = MAX_DENSE_INSETS) -> tuple[list[list[int]], list[tuple]]:
    """Dense groups that get an inset and the extent of each, frames never overlapping.

    ``slot(n)`` gives (width / height ratio, height in points) of each inset when there are
    ``n``. Rule, repeated until it holds: the (at most ``k_max``) largest groups
    are kept; when an inset would not magnify its area :data:`MIN_INSET_ZOOM` times the main
    map, one inset fewer is made (wider insets), or the group is dropped when alone; when two frames overlap (or come closer than a number badge), the two groups
    are merged into one inset if it still magnifies enough, else the smaller group is dropped.
    The CPTS of a dropped group keep their number on the main map (with a leader line)."""
    groups = sorted((list(g) for g in candidates), key=len, reverse=True)
    margin = _badge_pt(99, fs) * m_per_pt
    k = k_max
    while groups:
        sel = groups[:k]
        ratio, h_pt = slot(len(sel))
        frames = [_frame(g, anchors, ratio, h_pt, fs) for g in sel]
        zoom = [h_pt / (f[3] - f[1]) * m_per_pt for f in frames]
        weak = [i for i, z in enumerate(zoom) if z < MIN_INSET_ZOOM]
        if weak:  # fewer, larger insets first; a group too spread for one inset is dropped
            if len(sel) > 1:
                k = len(sel) - 1
            else:
                del groups[weak[-1]]
            continue
        clash = next(((i, j) for i in range(len(sel)) for j in range(i + 1, len(sel))
                      if _boxes_meet(frames[i], frames[j], margin)), None)
        if clash is None:
            return sel, frames
        i, j = clash
        merged = groups[i] + groups[j]
        ratio2, h2 = slot(len(sel) - 1)
        f = _frame(merged, anchors, ratio2, h2, fs)
        del groups[j]
        if h2 / (f[3] - f[1]) * m_per_pt >= MIN_INSET_ZOOM:
            groups[i] = merged
        groups.sort(key=len, reverse=True)
    return [], []


def _fit_box(w: float, h: float, aspect: float) -> tuple[float, float]:
    """Largest (width, height) of ratio ``aspect`` inside a ``w`` × ``h`` box."""
    return (w, w / aspect) if w / h <= aspect else (h * aspect, h)


def _key(fig: Figure, x_in: float, top_in: float, entries: list[tuple[int, str]], fs: float,
         colw: float, rows: int, title_fs: float) -> list:
    """Numbered key (number → CPTS name) in columns of ``colw`` inches from (x_in, top_in)."""
    W, H = fig.get_size_inches()
    t = fig.text(x_in / W, top_in / H, KEY_TITLE, fontsize=title_fs,
                 fontweight="bold", va="top")
    t.set_gid("key-title")
    top = top_in - title_fs * 1.6 / 72
    line = fs * 1.35 / 72
    digits = len(str(max((n for n, _ in entries), default=1)))
    texts = []
    for k, (num, name) in enumerate(entries):
        c, r = divmod(k, rows)
        label = f"{num:\u2007>{digits}}  {name}"  # figure spaces: numbers right-aligned
        t = fig.text((x_in + c * colw) / W, (top - r * line) / H, _fit(label, fs, colw - 0.1),
                     fontsize=fs, va="top", ha="left", family="DejaVu Sans")
        t.set_gid(f"cpts-key-{num}")
        texts.append(t)
    return texts


@st.plain_text
def static_map(
    diagnosis: Any = None,
    color_by: str | None = "auto",
    *,
    layers: MapLayers | None = None,
    title: str | None = None,
    tolerance_m: float | None = None,
    labels: bool | None = None,
    orientation: str = "landscape",
    paper: str = "A4",
    rates_by: str = "departement",
    rates_stage: str | None = None,
) -> Figure:
    """Print-ready map of a coverage diagnosis (matplotlib ``Figure``), A4 (default) or A3.

    Perimeters coloured like :func:`cpts_geo.coverage_map` (``color_by``, opaque fills: the
    legend swatches are the colours seen), overlaps cross-hatched, white zones hatched in red,
    department outlines; every CPTS numbered inside its perimeter (and inside each other part
    separated by land, from :data:`MIN_PART_KM2`) with the numbered key beside the map —
    ``labels=None`` (default): numbers and key when the key fits on the sheet (about 280 CPTS on
    A4 landscape, 480 on A3), else neither and a note in the legend; ``labels=False``: none;
    ``labels=True``: always; zoomed insets of the dense areas where perimeters are too
    small for their number (frames never overlap); title with the area's name (the region's when
    the departments are a whole region); scale bar, north arrow; French footer with sources,
    vintages and the date. ``orientation``: "landscape" (default), "portrait" or "auto". The
    layout is computed in inches from the measured text (key columns, legend, title, footer) so
    that the map takes all the remaining paper, on A4 as on A3.
    Technical details (simplification tolerance, CRS) are in ``fig.cpts_geo_metadata``, written
    into the file's metadata by :func:`save_static`.

    ``color_by="taux_couverture"`` (and ``"auto"`` when the area spans several regions) draws the
    covered population share by zone instead (:func:`cpts_geo.maps.rates.rates_static`;
    ``rates_by``: departement, epci or bv; ``rates_stage``: None or "aci").
    """
    check_map_arguments(diagnosis, layers, color_by=color_by, tolerance_m=tolerance_m, title=title,
                        paper=paper, rates_by=rates_by, rates_stage=rates_stage, labels=labels)
    expect_text(orientation, "orientation", choices=("landscape", "portrait", "auto"))
    if paper not in PAPER_IN:
        raise OptionError("paper", paper, "format de papier inconnu (A4 ou A3)")
    other = st.alternate_map(diagnosis, color_by, "static")
    if other is not None:
        return other(diagnosis, color_by, title=title, tolerance_m=tolerance_m, paper=paper,
                     rates_by=rates_by, rates_stage=rates_stage)
    lay = layers if layers is not None else build_layers(diagnosis, tolerance_m)
    per = lay.perimeters[lay.perimeters.geometry.notna()].reset_index(drop=True)
    lay = MapLayers(**{**lay.__dict__, "perimeters": per})
    classes = st.classify(per, color_by)
    numbers = _numbers(per)
    zones = lay.units["zone_crs"].value_counts() if "zone_crs" in lay.units else None
    if zones is None or zones.empty:
        zones = lay.departments["zone_crs"].value_counts()
    main = "metropole" if "metropole" in zones.index else zones.index[0]
    inset_deps = sorted(d for d in lay.departments["dep"] if d in DROM_NAMES) \
        if main == "metropole" else []
    auto_labels = labels is None
    labels = True if labels is None else bool(labels)

    mdeps = lay.departments[lay.departments["zone_crs"] == main].to_crs(_crs.LOCAL_CRS[main])
    minx, miny, maxx, maxy = mdeps.total_bounds
    if orientation == "auto":
        orientation = "landscape" if (maxx - minx) > 1.15 * (maxy - miny) else "portrait"
    size = PAPER_IN[paper] if orientation == "landscape" else PAPER_IN[paper][::-1]
    W, H = size
    s = A3_TEXT if paper == "A3" else 1.0
    num_fs = NUMBER_FS * s
    M, G = MARGIN_IN, GAP_IN
    fig = Figure(figsize=size)  # no pyplot: no GUI backend, no global state

    # --- text blocks measured first: title, footer, legend, key (inches) ---
    ttl = title or st.default_title(len(per), lay.departments["dep"])
    ttl_fs = 12 * s
    # the closing « (25 CPTS) » is never split across lines
    ttl_lines = [ln.replace("\u00a0", " ") for ln in
                 _wrap(re.sub(r" (?=[^ (]*\)$)", "\u00a0", ttl), ttl_fs, W - 2 * M, bold=True)]
    title_h = 0.7 * M + len(ttl_lines) * ttl_fs * 1.25 / 72 + G
    src = f"Sources : {credits_text(lay.meta)}. Carte établie le {fr.date(_dt.date.today())}."
    foot_fs = 5.5 * s
    foot_lines = _wrap(src, foot_fs, W - 2 * M)
    footer_h = 0.6 * M + len(foot_lines) * foot_fs * 1.3 / 72 + G

    handles = [Patch(facecolor=c, edgecolor=st.PERIMETER_EDGE, linewidth=0.5,
                     alpha=st.FILL_OPACITY, label=k2) for k2, c in classes.legend.items()]
    handles += [
        Patch(facecolor=st.OVERLAP["fill"], edgecolor=st.OVERLAP["edge"], hatch="xxx",
              alpha=st.OVERLAP_OPACITY, label=st.OVERLAP["label"]),
        Patch(facecolor="white", edgecolor=st.WHITE_ZONE["edge"], hatch="/////",
              label=st.WHITE_ZONE["label"]),
        Line2D([], [], color=st.DEPARTMENT_EDGE, linewidth=1.2, label="Limite de département"),
    ]
    leg_fs, leg_title = 7 * s, f"Couleur : {classes.title}"
    legend_w = max([_text_w(h.get_label(), leg_fs) + 0.45 * s for h in handles]
                   + [_text_w(leg_title, 8 * s) + 0.1])
    legend_w = max(legend_w, 2.2 * s)
    portrait_two_col = orientation == "portrait" and len(handles) > 4
    leg_rows = int(np.ceil(len(handles) / 2)) if portrait_two_col else len(handles)
    if portrait_two_col:
        legend_w *= 2
    note_lines = _wrap(classes.note, 6 * s, legend_w) if classes.note else []
    leg_h = (8 * s * 1.7 + leg_rows * leg_fs * 1.75 + 6) / 72 + len(note_lines) * 6 * s * 1.3 / 72

    if auto_labels and len(per):  # numbers only when the key fits on the sheet
        n_all = len(per)
        fs_all = (6.5 if n_all <= 60 else 5.5) * s
        line_all = fs_all * 1.35 / 72
        if orientation == "landscape":
            rows_max = max(int((H - title_h - footer_h - leg_h - 8 * s * 1.6 / 72 - 2 * G) / line_all), 1)
            room = 0.45 * (W - 2 * M)
        else:
            rows_max = max(int((0.4 * H - 8 * s * 1.6 / 72) / line_all), 1)
            room = W - 2 * M - legend_w - G
        if np.ceil(n_all / rows_max) * KEY_MIN_COL_IN * s > room:
            labels = False
            note_lines += _wrap(f"Numéros des CPTS non imprimés : {fr.integer(n_all)} CPTS ne tiennent "
                                f"pas dans la liste d'une feuille {paper} (voir la carte interactive).",
                                6 * s, legend_w)
            leg_h = (8 * s * 1.7 + leg_rows * leg_fs * 1.75 + 6) / 72 + len(note_lines) * 6 * s * 1.3 / 72

    entries = sorted((int(num), st.short_name(name))
                     for num, name in zip(numbers, per["cpts"], strict=True)) if labels else []
    n = len(entries)
    key_fs = (6.5 if n <= 60 else 5.5) * s
    line = key_fs * 1.35 / 72
    key_title_h = 8 * s * 1.6 / 72
    digits = len(str(n))
    colw = (min(max(_text_w(f"{num:\u2007>{digits}}  {nm}", key_fs) for num, nm in entries) + 0.15 * s,
                KEY_COL_MAX_IN * s) if n else 0.0)
    rows = 1
    if orientation == "landscape":
        side_w = legend_w
        if n:
            avail = H - title_h - footer_h - leg_h - key_title_h - 2 * G
            rows = max(int(avail / line), 1)
            ncol = int(np.ceil(n / rows))
            rows = int(np.ceil(n / ncol))
            side_max = 0.45 * (W - 2 * M)
            if ncol * colw > side_max:
                colw = side_max / ncol
            side_w = max(ncol * colw, legend_w, _text_w(KEY_TITLE, 8 * s, bold=True) + 0.05)
        region = (M, footer_h, W - M - side_w - G, H - title_h)
    else:
        band_h = leg_h
        key_w = W - 2 * M - legend_w - G
        if n:
            ncol = max(1, int(key_w / colw))
            rows = int(np.ceil(n / ncol))
            band_h = max(leg_h, key_title_h + rows * line)
            if band_h > 0.4 * H:
                rows = max(int((0.4 * H - key_title_h) / line), 1)
                ncol = int(np.ceil(n / rows))
                colw = key_w / ncol
                band_h = 0.4 * H
        region = (M, footer_h + band_h + G, W - M, H - title_h)
    rx0, ry0, rx1, ry1 = region
    rw = rx1 - rx0
    drom_h = 0.0
    if inset_deps:
        drom_h = min(1.25 * s, 0.22 * (ry1 - ry0))
        ry0 += drom_h + G
    rh = ry1 - ry0
    aspect = (maxx - minx) / max(maxy - miny, 1.0)

    # --- dense areas: perimeters too small for their number at the scale of the main map ---
    per_main = per[per["zone_crs"] == main] if "zone_crs" in per else per
    per_main_m = per_main.to_crs(_crs.LOCAL_CRS[main])
    anchors = [_Label(int(numbers[i]), x, y, r) for i, (x, y, r) in
               zip(per_main.index, _anchors(per_main_m), strict=True)]
    extra = _part_anchors(per_main_m, numbers) if labels else []

    def dense(mw: float, radius_pt: float, limit: int) -> tuple[float, list[list[int]]]:
        m_per_pt = (maxx - minx) * 1.06 / (mw * 72)
        small = [i for i, a in enumerate(anchors)
                 if not np.isnan(a.x) and a.radius / m_per_pt < 0.55 * _badge_pt(a.number, num_fs)]
        return m_per_pt, _dense_clusters(anchors, small, radius_pt * m_per_pt, limit=limit)

    mw, mh = _fit_box(rw, rh, aspect)
    clusters, frames, strip = [], [], None
    row_h = col_w = 0.0

    def slot_box(k: int) -> tuple[float, float]:
        """(width, height) in inches of each of ``k`` insets, between 1:1.6 and 2.2:1."""
        if strip == "row":
            w_i, h_i = (rw - (k - 1) * G) / k, row_h - inset_title_h
            return min(w_i, 2.2 * h_i), h_i
        w_i, h_i = col_w, (rh - (k - 1) * G) / k - inset_title_h
        return w_i, min(h_i, 1.6 * w_i)
    inset_title_h = 7 * s * 1.5 / 72
    if labels and dense(mw, 45, 1)[1]:
        # the strip of insets takes the paper the main map leaves free, at least 30 % of it
        lo = max(MIN_INSET_IN * s, 0.3 * rh)
        row_h = float(np.clip(rh - mh - G, lo, 0.45 * rh))
        col_w = float(np.clip(rw - mw - G, max(MIN_INSET_IN * s, 0.3 * rw), 0.4 * rw))
        m_row = _fit_box(rw, rh - row_h - G, aspect)
        m_col = _fit_box(rw - col_w - G, rh, aspect)
        strip = "row" if m_row[0] * m_row[1] >= m_col[0] * m_col[1] else "column"
        mw, mh = m_row if strip == "row" else m_col
        length = rw if strip == "row" else rh
        k_max = int(min(MAX_DENSE_INSETS, max(1, (length + G) // (MIN_INSET_IN * s + G))))

        def slot(k: int) -> tuple[float, float]:
            w_i, h_i = slot_box(k)
            return w_i / h_i, h_i * 72

        # a dense area must fit in one inset magnified MIN_INSET_ZOOM times (with its margin)
        r_i, h_pt = slot(k_max)
        radius_pt = min(h_pt, h_pt * r_i) / 2 / (MIN_INSET_ZOOM * 1.4)
        m_per_pt, cands = dense(mw, radius_pt, 12)
        clusters, frames = _choose_insets(cands, anchors, slot, m_per_pt, num_fs, k_max)
    if not clusters:
        strip = None
        mw, mh = _fit_box(rw, rh, aspect)
    # landscape: the map (and a column of insets) centred with the key beside it, not apart
    used = mw + (G + col_w if strip == "column" else 0.0)
    shift = (rw - used) / 2 if orientation == "landscape" and strip != "row" else 0.0
    # portrait: the legend, the key and the overseas insets right under the map, not apart
    used_h = mh + (G + row_h if strip == "row" else 0.0)
    if strip == "column":
        h_col = slot_box(len(clusters))[1] + inset_title_h
        used_h = max(mh, len(clusters) * (h_col + G) - G)
    lift = max(rh - used_h, 0.0) if orientation == "portrait" else 0.0
    if strip == "column":
        mx0, my0 = rx0 + shift, ry1 - mh
    else:
        mx0, my0 = rx0 + (rw - mw) / 2, ry1 - mh
    ax = fig.add_axes([mx0 / W, my0 / H, mw / W, mh / H])
    ax.set_gid("main-map")
    _draw(ax, lay, classes, main)
    _scale_bar(ax, main, fs=6 * s)
    _north(ax, fs=8 * s)
    ax.apply_aspect()
    to_disp = ax.transAxes.transform
    # scale bar (lower left) and north arrow (upper right): no number on them
    avoid = [(*to_disp((0.02, 0.02)), *to_disp((0.30, 0.11))),
             (*to_disp((0.92, 0.82)), *to_disp((1.0, 1.0)))]

    # zoomed insets of the dense areas, lettered A, B, C, framed on the main map
    framed: dict[int, tuple] = {}
    for ci, (group, fr_box) in enumerate(zip(clusters, frames, strict=True)):
        letter = "ABCDEFG"[ci]
        k_ins = len(clusters)
        w_i, h_i = slot_box(k_ins)
        if strip == "row":  # centred under the main map, inside the map area
            total = k_ins * w_i + (k_ins - 1) * G
            start = min(max(mx0 + (mw - total) / 2, rx0), rx1 - total)
            x_i, y_i = start + ci * (w_i + G), my0 - G - row_h
        else:
            x_i, y_i = mx0 + mw + G, ry1 - (ci + 1) * (h_i + inset_title_h) - ci * G
        iax = fig.add_axes([x_i / W, y_i / H, w_i / W, h_i / H])
        iax.set_gid(f"inset-{letter}")
        ix0, iy0, ix1, iy1 = fr_box
        _draw(iax, lay, classes, main, lw=0.8)
        iax.set_xlim(ix0, ix1)
        iax.set_ylim(iy0, iy1)
        inside = [a for a in anchors + extra if ix0 <= a.x <= ix1 and iy0 <= a.y <= iy1]
        _place_labels(iax, inside, fs=num_fs)
        iax.set_title(f"{letter} — agrandissement", fontsize=7 * s, pad=2, loc="left")
        rect = Rectangle((ix0, iy0), ix1 - ix0, iy1 - iy0, fill=False, edgecolor="#c00000",
                         linewidth=0.9, zorder=15)
        rect.set_gid(f"inset-frame-{letter}")
        ax.add_patch(rect)
        ax.text(ix0, iy1, f" {letter}", color="#c00000", fontsize=8 * s, fontweight="bold",
                ha="right", va="bottom", zorder=16,
                path_effects=[pe.withStroke(linewidth=2, foreground="white")])
        lx, ly = ax.transData.transform((ix0, iy1))
        px = fig.dpi / 72
        avoid.append((lx - 9 * s * px, ly, lx, ly + 11 * s * px))
        for j in group:
            framed[anchors[j].number] = fr_box
    if labels:
        def hidden(a: _Label) -> bool:  # shown in its inset instead
            f = framed.get(a.number)
            return f is not None and f[0] <= a.x <= f[2] and f[1] <= a.y <= f[3]
        _place_labels(ax, [a for a in anchors + extra if not np.isnan(a.x) and not hidden(a)],
                      fs=num_fs, avoid=avoid)

    nd = len(inset_deps)
    block = rw - 2 * shift  # under the map block: the key column moved left by ``shift``
    for i, dep in enumerate(inset_deps):
        w = min((block + G) / max(nd, 1), 0.19 * W)
        iax = fig.add_axes([(rx0 + shift + i * w) / W, (region[1] + lift + inset_title_h * 0.3) / H,
                            (w - G) / W, (drom_h - inset_title_h) / H])
        iax.set_gid(f"drom-{dep}")
        _draw(iax, lay, classes, _crs.zone_of_dep(dep), dep=dep, lw=0.6)
        iax.set_title(DROM_NAMES[dep], fontsize=6 * s, pad=2)
        if labels:
            zper = per[per["zone_crs"] == _crs.zone_of_dep(dep)] if "zone_crs" in per else per.iloc[:0]
            zm = zper.to_crs(_crs.LOCAL_CRS[_crs.zone_of_dep(dep)])
            _place_labels(iax, [_Label(int(numbers[i2]), x, y, r) for i2, (x, y, r) in
                                zip(zper.index, _anchors(zm), strict=True) if not np.isnan(x)],
                          fs=num_fs * 0.8)

    # legend (swatches = fills: same colours, same opacity) then the numbered key
    if orientation == "landscape":
        sx = W - M - side_w - shift
        lax = fig.add_axes([sx / W, footer_h / H, side_w / W, leg_h / H])
    else:
        sx = M
        lax = fig.add_axes([M / W, (footer_h + lift) / H, legend_w / W, leg_h / H])
    lax.axis("off")
    lax.set_gid("legend")
    leg = lax.legend(handles=handles, loc="lower left", frameon=False, fontsize=leg_fs,
                     title=leg_title, title_fontsize=8 * s, borderaxespad=0.0, borderpad=0.2,
                     ncol=2 if portrait_two_col else 1)
    leg._legend_box.align = "left"
    if note_lines:
        lax.text(0.0, 1.0, "\n".join(note_lines), fontsize=6 * s, style="italic",
                 transform=lax.transAxes, va="top")
    if labels and n:
        if orientation == "landscape":
            _key(fig, sx, H - title_h, entries, key_fs, colw, rows, 8 * s)
        else:
            _key(fig, M + legend_w + G, footer_h + lift + band_h, entries, key_fs, colw, rows, 8 * s)

    t = fig.text(0.5, 1 - 0.7 * M / H, "\n".join(ttl_lines), ha="center", va="top",
                 fontsize=ttl_fs, fontweight="bold")
    t.set_gid("title")
    t = fig.text(M / W, 0.6 * M / H, "\n".join(foot_lines), ha="left", va="bottom",
                 fontsize=foot_fs, color="#333")
    t.set_gid("footer")
    fig.cpts_geo_metadata = {
        "Title": ttl,
        "Subject": "Couverture du territoire par les CPTS",
        "Keywords": (f"simplification: shapely.coverage_simplify, tolerance "
                     f"{lay.tolerance_m:.0f} m, topology preserved; CRS: "
                     + ", ".join(f"{z} {CRS_NAMES.get(z, _crs.LOCAL_CRS[z])}" for z in sorted(zones.index))),
        "Creator": "cpts_geo",
    }
    return fig


@st.plain_text
def save_static(fig: Figure, path: str | Path, dpi: int = 200, *,
                inputs: tuple[str | Path, ...] = ()) -> Path:
    """Save a static map (format from the suffix: .png, .pdf, .svg), complete or absent and never
    over one of ``inputs`` (:func:`cpts_geo.io.atomic.output_file`); returns the path."""
    from cpts_geo.io.atomic import output_file

    path = Path(path)
    meta = dict(getattr(fig, "cpts_geo_metadata", None) or {"Title": "Couverture du territoire par les CPTS",
                                                             "Creator": "cpts_geo"})
    suffix = path.suffix.lower()
    if suffix == ".png":
        meta = {"Title": meta.get("Title", ""), "Description": meta.get("Keywords", ""),
                "Software": "cpts_geo"}
    elif suffix == ".svg":
        meta = {"Title": meta.get("Title", ""), "Description": meta.get("Keywords", "")}
    with output_file(path, inputs) as tmp:
        fig.savefig(tmp, dpi=dpi, metadata=meta)
    return path
