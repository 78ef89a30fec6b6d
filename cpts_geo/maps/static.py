"""Static coverage map for print (matplotlib): A4, PNG and PDF, title, legend, scale bar in metres
of the projected CRS, north arrow, sources, and insets for the overseas departments."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import geopandas as gpd
import matplotlib.patheffects as pe
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from cpts_geo import crs as _crs
from cpts_geo import fr
from cpts_geo.maps import style as st
from cpts_geo.maps.interactive import credits_text
from cpts_geo.maps.layers import MapLayers, build_layers
from cpts_geo.rules import CRS_NAMES, DROM_NAMES

A4_IN = (8.27, 11.69)
_NICE_KM = (0.5, 1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500)


def _draw(ax, lay: MapLayers, classes: st.Classes, zone: str, dep: str | None = None,
          labels: bool = False, lw: float = 1.0) -> None:
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
                 alpha=0.85)
    ov = part("overlaps")
    if len(ov):
        ov.plot(ax=ax, facecolor=st.OVERLAP["fill"], edgecolor=st.OVERLAP["edge"], alpha=0.7,
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
    if labels and len(per):
        pts = per.geometry.representative_point()
        for name, p in zip(per["cpts"], pts, strict=True):
            ax.annotate(textwrap.fill(str(name).removeprefix("CPTS "), 16), (p.x, p.y),
                        ha="center", va="center", fontsize=5.5, color="#111",
                        path_effects=[pe.withStroke(linewidth=2, foreground="white")])
    ax.set_aspect("equal")
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_linewidth(0.6)


def _scale_bar(ax, zone: str) -> None:
    """Scale bar in metres of the projected CRS (lower left), with the CRS name."""
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
    ax.text(bx, by - h * 1.2, CRS_NAMES[zone], ha="left", va="top", fontsize=5, color="#444",
            zorder=10)


def _north(ax) -> None:
    ax.annotate("N", xy=(0.96, 0.95), xytext=(0.96, 0.87), xycoords="axes fraction",
                ha="center", va="center", fontsize=8, fontweight="bold",
                arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1})


def static_map(
    diagnosis: Any = None,
    color_by: str | None = "auto",
    *,
    layers: MapLayers | None = None,
    title: str | None = None,
    tolerance_m: float | None = None,
    labels: bool | None = None,
    orientation: str = "auto",
) -> Figure:
    """Print-ready A4 map of a coverage diagnosis (matplotlib ``Figure``).

    Perimeters coloured like :func:`cpts_geo.coverage_map` (``color_by``), overlaps cross-hatched,
    white zones hatched in red, department outlines, CPTS names (``labels``; None = when ≤ 40
    CPTS), title, legend, scale bar in metres of the projected CRS (Lambert-93 on the mainland),
    north arrow, sources (IGN ADMIN EXPRESS, INSEE populations légales, the listing's source and
    date) and one inset per overseas department when the map also covers the mainland.
    ``orientation``: "portrait", "landscape" or "auto" (from the extent).
    """
    lay = layers if layers is not None else build_layers(diagnosis, tolerance_m)
    per = lay.perimeters[lay.perimeters.geometry.notna()].reset_index(drop=True)
    lay = MapLayers(**{**lay.__dict__, "perimeters": per})
    classes = st.classify(per, color_by)
    zones = lay.units["zone_crs"].value_counts() if "zone_crs" in lay.units else None
    if zones is None or zones.empty:
        zones = lay.departments["zone_crs"].value_counts()
    main = "metropole" if "metropole" in zones.index else zones.index[0]
    inset_deps = sorted(d for d in lay.departments["dep"] if d in DROM_NAMES) \
        if main == "metropole" else []
    if labels is None:
        labels = len(per) <= 40

    mdeps = lay.departments[lay.departments["zone_crs"] == main].to_crs(_crs.LOCAL_CRS[main])
    minx, miny, maxx, maxy = mdeps.total_bounds
    if orientation == "auto":
        orientation = "landscape" if (maxx - minx) > 1.15 * (maxy - miny) else "portrait"
    size = A4_IN if orientation == "portrait" else A4_IN[::-1]
    fig = Figure(figsize=size)  # no pyplot: no GUI backend, no global state
    if orientation == "portrait":
        map_box, legend_box = [0.03, 0.20, 0.94, 0.72], [0.03, 0.06, 0.94, 0.13]
    else:
        map_box, legend_box = [0.02, 0.10, 0.70, 0.80], [0.73, 0.10, 0.25, 0.80]
    inset_h = 0.0
    if inset_deps:
        inset_h = 0.12 if orientation == "portrait" else 0.16
        map_box = [map_box[0], map_box[1] + inset_h, map_box[2], map_box[3] - inset_h]
    ax = fig.add_axes(map_box)
    _draw(ax, lay, classes, main, labels=labels)
    _scale_bar(ax, main)
    _north(ax)

    n = len(inset_deps)
    for i, dep in enumerate(inset_deps):
        w = min(map_box[2] / max(n, 1), 0.19)
        iax = fig.add_axes([map_box[0] + i * w + 0.005, map_box[1] - inset_h + 0.005, w - 0.01,
                            inset_h - 0.022])
        _draw(iax, lay, classes, _crs.zone_of_dep(dep), dep=dep, lw=0.6)
        iax.set_title(DROM_NAMES[dep], fontsize=6, pad=2)

    lax = fig.add_axes(legend_box)
    lax.axis("off")
    handles = [Patch(facecolor=c, edgecolor=st.PERIMETER_EDGE, linewidth=0.5, label=k)
               for k, c in classes.legend.items()]
    handles += [
        Patch(facecolor=st.OVERLAP["fill"], edgecolor=st.OVERLAP["edge"], hatch="xxx",
              alpha=0.7, label=st.OVERLAP["label"]),
        Patch(facecolor="white", edgecolor=st.WHITE_ZONE["edge"], hatch="/////",
              label=st.WHITE_ZONE["label"]),
        Line2D([], [], color=st.DEPARTMENT_EDGE, linewidth=1.2, label="Limite de département"),
    ]
    ncol = 2 if orientation == "portrait" and len(handles) > 4 else 1
    leg = lax.legend(handles=handles, loc="upper left", frameon=False, fontsize=7,
                     title=f"Couleur : {classes.title}", title_fontsize=8, ncol=ncol)
    leg._legend_box.align = "left"
    if classes.note:
        lax.text(0.0, 0.0, textwrap.fill(classes.note, 60), fontsize=6, style="italic",
                 transform=lax.transAxes, va="bottom")

    ttl = title or (f"Couverture du territoire par les CPTS — {fr.integer(len(per))} CPTS, départements "
                    + ", ".join(sorted(lay.departments['dep'])) if len(lay.departments) <= 8
                    else f"Couverture du territoire par les CPTS — {fr.integer(len(per))} CPTS")
    fig.text(0.5, 0.975, textwrap.fill(ttl, 90), ha="center", va="top", fontsize=12,
             fontweight="bold")
    meta = lay.meta
    src = (f"Sources : {credits_text(meta)}. Géométries simplifiées (shapely.coverage_simplify, "
           f"tolérance {fr.integer(lay.tolerance_m)}{fr.NNBSP}m, voisins jointifs).")
    fig.text(0.03, 0.012, textwrap.fill(src, 190 if orientation == "landscape" else 135),
             ha="left", va="bottom", fontsize=5.5, color="#333")
    return fig


def save_static(fig: Figure, path: str | Path, dpi: int = 200) -> Path:
    """Save a static map (format from the suffix: .png, .pdf, .svg); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, metadata=None if path.suffix.lower() != ".pdf" else
                {"Title": "Couverture du territoire par les CPTS", "Creator": "cpts_geo"})
    return path
