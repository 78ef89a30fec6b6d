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
import textwrap
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import matplotlib.patheffects as pe
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from shapely.ops import polylabel

from cpts_geo import crs as _crs
from cpts_geo import fr
from cpts_geo.errors import OptionError
from cpts_geo.maps import style as st
from cpts_geo.maps.interactive import credits_text
from cpts_geo.maps.layers import MapLayers, build_layers
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
        minx, miny, maxx, maxy = deps.total_bounds
        padx, pady = (maxx - minx) * 0.03, (maxy - miny) * 0.03
        ax.set_xlim(minx - padx, maxx + padx)
        ax.set_ylim(miny - pady, maxy + pady)
    ax.set_aspect("equal")
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_linewidth(0.6)


def _scale_bar(ax, zone: str) -> None:
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
        ax.text(bx + xval, by + h * 1.6, lab, ha="center", va="bottom", fontsize=6, zorder=10)


def _north(ax) -> None:
    ax.annotate("N", xy=(0.96, 0.95), xytext=(0.96, 0.87), xycoords="axes fraction",
                ha="center", va="center", fontsize=8, fontweight="bold",
                arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1})


#: paper sizes in inches, landscape (width, height)
PAPER_IN = {"A4": (11.69, 8.27), "A3": (16.54, 11.69)}
#: font size (points) of the numbers on the map
NUMBER_FS = 6.5
#: at most this many zoomed insets of dense areas
MAX_DENSE_INSETS = 3


@dataclass
class _Label:
    number: int
    x: float  # anchor in data coordinates (inside the perimeter)
    y: float
    radius: float  # largest inscribed circle around the anchor (data units, metres)


def _anchors(per: gpd.GeoDataFrame) -> list[tuple[float, float, float]]:
    """Inside point and inscribed radius (metres) of each perimeter (its largest part)."""
    out = []
    for geom in per.geometry:
        if geom is None or geom.is_empty:
            out.append((np.nan, np.nan, 0.0))
            continue
        parts = list(getattr(geom, "geoms", [geom]))
        big = max(parts, key=lambda g: g.area)
        tol = max(np.sqrt(big.area) / 200, 10.0)
        p = polylabel(big, tolerance=tol)
        out.append((p.x, p.y, float(big.exterior.distance(p)) if big.contains(p) else 0.0))
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


def _place_labels(ax, labels: list[_Label], fs: float = NUMBER_FS) -> list:
    """Draw number badges without collisions: at the anchor when the badge fits inside the
    perimeter and is free, else at the nearest free position around it with a leader line."""
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
            for ring in np.arange(1.3, 12.0, 0.7):
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


def _key(fig: Figure, box: list[float], per: gpd.GeoDataFrame, numbers: pd.Series,
         paper_w_in: float) -> list:
    """Numbered key (number → CPTS name) in columns inside ``box`` (figure fraction)."""
    n = len(per)
    left, bottom, width, height = box
    fig.text(left, bottom + height, "Liste des CPTS (numéros de la carte)", fontsize=8,
             fontweight="bold", va="top")
    height -= 0.03
    fs = 6.5 if n <= 60 else 5.5
    line = fs * 1.35 / 72 / (fig.get_figheight())
    rows = max(int(height / line), 1)
    ncol = int(np.ceil(n / rows))
    rows = int(np.ceil(n / max(ncol, 1)))
    colw = width / max(ncol, 1)
    chars = max(int(colw * paper_w_in * 72 / (fs * 0.5)) - 4, 12)
    texts = []
    items = sorted(zip(numbers, per["cpts"], strict=True))
    for k, (num, name) in enumerate(items):
        c, r = divmod(k, rows)
        nm = st.short_name(name)
        if len(nm) > chars:
            nm = nm[: chars - 1] + "…"
        t = fig.text(left + c * colw, bottom + height - r * line, f"{num:>2}  {nm}",
                     fontsize=fs, va="top", ha="left", family="DejaVu Sans")
        t.set_gid(f"cpts-key-{num}")
        texts.append(t)
    return texts


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
) -> Figure:
    """Print-ready map of a coverage diagnosis (matplotlib ``Figure``), A4 (default) or A3.

    Perimeters coloured like :func:`cpts_geo.coverage_map` (``color_by``, opaque fills: the
    legend swatches are the colours seen), overlaps cross-hatched, white zones hatched in red,
    department outlines; every CPTS numbered inside its perimeter (``labels=False`` removes the
    numbers) with the numbered key beside the map; zoomed insets of the dense areas where
    perimeters are too small for their number; title with the area's name (the region's when the
    departments are a whole region); scale bar, north arrow; French footer with sources,
    vintages and the date. ``orientation``: "landscape" (default), "portrait" or "auto".
    Technical details (simplification tolerance, CRS) are in ``fig.cpts_geo_metadata``, written
    into the file's metadata by :func:`save_static`.
    """
    if paper not in PAPER_IN:
        raise OptionError("--paper", paper, "format de papier inconnu (A4 ou A3)")
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
    if labels is None:
        labels = True

    mdeps = lay.departments[lay.departments["zone_crs"] == main].to_crs(_crs.LOCAL_CRS[main])
    minx, miny, maxx, maxy = mdeps.total_bounds
    if orientation == "auto":
        orientation = "landscape" if (maxx - minx) > 1.15 * (maxy - miny) else "portrait"
    size = PAPER_IN[paper] if orientation == "landscape" else PAPER_IN[paper][::-1]
    k = size[0] / PAPER_IN["A4"][0] if orientation == "landscape" else size[1] / PAPER_IN["A4"][0]
    fig = Figure(figsize=size)  # no pyplot: no GUI backend, no global state
    if orientation == "portrait":
        map_box, side_box = [0.03, 0.36, 0.94, 0.57], [0.03, 0.05, 0.94, 0.30]
    else:
        map_box, side_box = [0.01, 0.06, 0.63, 0.86], [0.655, 0.06, 0.335, 0.86]
    drom_h = 0.0
    if inset_deps:
        drom_h = 0.12 if orientation == "portrait" else 0.15
        map_box = [map_box[0], map_box[1] + drom_h, map_box[2], map_box[3] - drom_h]

    # dense areas: perimeters too small for their number at the scale of the whole map
    per_main = per[per["zone_crs"] == main] if "zone_crs" in per else per
    per_main_m = per_main.to_crs(_crs.LOCAL_CRS[main])
    anchors = [_Label(int(numbers[i]), x, y, r) for i, (x, y, r) in
               zip(per_main.index, _anchors(per_main_m), strict=True)]
    fw, fh = fig.get_figwidth() * map_box[2], fig.get_figheight() * map_box[3]
    m_per_pt = max((maxx - minx) * 1.06 / (fw * 72), (maxy - miny) * 1.06 / (fh * 72))
    small = [i for i, a in enumerate(anchors)
             if not np.isnan(a.x) and a.radius / m_per_pt < 0.55 * _badge_pt(a.number)]
    clusters = _dense_clusters(anchors, small, radius_m=45 * m_per_pt) if labels else []
    dense_h = 0.0
    if clusters:
        dense_h = 0.27 if orientation == "landscape" else 0.16
        map_box = [map_box[0], map_box[1] + dense_h, map_box[2], map_box[3] - dense_h]
    ax = fig.add_axes(map_box)
    _draw(ax, lay, classes, main)
    _scale_bar(ax, main)
    _north(ax)
    in_inset = {j for g in clusters for j in g}
    if labels:
        _place_labels(ax, [a for i, a in enumerate(anchors) if i not in in_inset and not np.isnan(a.x)],
                      fs=NUMBER_FS * min(k, 1.3))

    # zoomed insets of the dense areas, lettered A, B, C on the main map
    for ci, group in enumerate(clusters):
        letter = "ABCDEFG"[ci]
        w = map_box[2] / len(clusters)
        iax = fig.add_axes([map_box[0] + ci * w + 0.006, map_box[1] - dense_h + 0.012,
                            w - 0.012, dense_h - 0.04])
        pts = np.array([[anchors[j].x, anchors[j].y] for j in group])
        (gx0, gy0), (gx1, gy1) = pts.min(axis=0), pts.max(axis=0)
        pos = iax.get_position()
        ratio = (pos.width * size[0]) / (pos.height * size[1])  # inset width / height
        need = max(0.55 * _badge_pt(anchors[j].number) / max(anchors[j].radius, 1.0)
                   for j in group)  # points per metre for the smallest to hold its number
        half_h = max((gy1 - gy0) / 2, (gx1 - gx0) / 2 / ratio) * 1.25 + 4 * _badge_pt(99) / need
        half_h = min(half_h, pos.height * size[1] * 72 / need / 2)
        half_h = max(half_h, (gy1 - gy0) / 2 * 1.1, (gx1 - gx0) / 2 / ratio * 1.1, 1500.0)
        cx, cy = (gx0 + gx1) / 2, (gy0 + gy1) / 2
        _draw(iax, lay, classes, main, lw=0.8)
        iax.set_xlim(cx - half_h * ratio, cx + half_h * ratio)
        iax.set_ylim(cy - half_h, cy + half_h)
        ix0, ix1 = iax.get_xlim()
        iy0, iy1 = iax.get_ylim()
        inside = [a for a in anchors if ix0 <= a.x <= ix1 and iy0 <= a.y <= iy1]
        _place_labels(iax, inside, fs=NUMBER_FS * min(k, 1.3))
        iax.set_title(f"{letter} — agrandissement", fontsize=7, pad=2, loc="left")
        ax.add_patch(Rectangle((ix0, iy0), ix1 - ix0, iy1 - iy0, fill=False, edgecolor="#c00000",
                               linewidth=0.9, zorder=15))
        ax.text(ix0, iy1, f" {letter}", color="#c00000", fontsize=8, fontweight="bold",
                ha="right", va="bottom", zorder=16,
                path_effects=[pe.withStroke(linewidth=2, foreground="white")])

    n = len(inset_deps)
    for i, dep in enumerate(inset_deps):
        w = min(map_box[2] / max(n, 1), 0.19)
        iax = fig.add_axes([map_box[0] + i * w + 0.005, 0.06 + 0.005, w - 0.01, drom_h - 0.022])
        _draw(iax, lay, classes, _crs.zone_of_dep(dep), dep=dep, lw=0.6)
        iax.set_title(DROM_NAMES[dep], fontsize=6, pad=2)
        if labels:
            zper = per[per["zone_crs"] == _crs.zone_of_dep(dep)] if "zone_crs" in per else per.iloc[:0]
            zm = zper.to_crs(_crs.LOCAL_CRS[_crs.zone_of_dep(dep)])
            _place_labels(iax, [_Label(int(numbers[i2]), x, y, r) for i2, (x, y, r) in
                                zip(zper.index, _anchors(zm), strict=True) if not np.isnan(x)],
                          fs=NUMBER_FS * 0.8)

    # legend (swatches = fills: same colours, same opacity) then the numbered key
    handles = [Patch(facecolor=c, edgecolor=st.PERIMETER_EDGE, linewidth=0.5,
                     alpha=st.FILL_OPACITY, label=k2) for k2, c in classes.legend.items()]
    handles += [
        Patch(facecolor=st.OVERLAP["fill"], edgecolor=st.OVERLAP["edge"], hatch="xxx",
              alpha=st.OVERLAP_OPACITY, label=st.OVERLAP["label"]),
        Patch(facecolor="white", edgecolor=st.WHITE_ZONE["edge"], hatch="/////",
              label=st.WHITE_ZONE["label"]),
        Line2D([], [], color=st.DEPARTMENT_EDGE, linewidth=1.2, label="Limite de département"),
    ]
    leg_h = min(0.05 + 0.028 * len(handles), 0.40)
    sx, sy, sw, sh = side_box
    lax = fig.add_axes([sx, sy, sw, leg_h])
    lax.axis("off")
    lax.set_gid("legend")
    leg = lax.legend(handles=handles, loc="lower left", frameon=False, fontsize=7,
                     title=f"Couleur : {classes.title}", title_fontsize=8,
                     ncol=2 if orientation == "portrait" and len(handles) > 4 else 1)
    leg._legend_box.align = "left"
    if classes.note:
        lax.text(0.0, 1.0, textwrap.fill(classes.note, 70), fontsize=6, style="italic",
                 transform=lax.transAxes, va="bottom")
    if labels:
        _key(fig, [sx, sy + leg_h + 0.03, sw, sh - leg_h - 0.03], per, numbers, size[0])

    ttl = title or st.default_title(len(per), lay.departments["dep"])
    fig.text(0.5, 0.985, textwrap.fill(ttl, 110), ha="center", va="top", fontsize=12 * min(k, 1.3),
             fontweight="bold")
    meta = lay.meta
    src = (f"Sources : {credits_text(meta)}. Carte établie le {fr.date(_dt.date.today())}.")
    fig.text(0.01, 0.008, textwrap.fill(src, int(200 * k) if orientation == "landscape" else 135),
             ha="left", va="bottom", fontsize=5.5, color="#333")
    fig.cpts_geo_metadata = {
        "Title": ttl,
        "Subject": "Couverture du territoire par les CPTS",
        "Keywords": (f"simplification: shapely.coverage_simplify, tolerance "
                     f"{lay.tolerance_m:.0f} m, topology preserved; CRS: "
                     + ", ".join(f"{z} {CRS_NAMES.get(z, _crs.LOCAL_CRS[z])}" for z in sorted(zones.index))),
        "Creator": "cpts_geo",
    }
    return fig


def save_static(fig: Figure, path: str | Path, dpi: int = 200) -> Path:
    """Save a static map (format from the suffix: .png, .pdf, .svg); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = dict(getattr(fig, "cpts_geo_metadata", None) or {"Title": "Couverture du territoire par les CPTS",
                                                             "Creator": "cpts_geo"})
    suffix = path.suffix.lower()
    if suffix == ".png":
        meta = {"Title": meta.get("Title", ""), "Description": meta.get("Keywords", ""),
                "Software": "cpts_geo"}
    elif suffix == ".svg":
        meta = {"Title": meta.get("Title", ""), "Description": meta.get("Keywords", "")}
    fig.savefig(path, dpi=dpi, metadata=meta)
    return path
