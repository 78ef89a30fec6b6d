"""Colours, classes and French labels shared by the interactive and the static map."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely

from cpts_geo import fr
from cpts_geo.errors import OptionError
from cpts_geo.rules import STAGES, aci_band, aci_rule

#: qualitative colour-blind-safe palette (Paul Tol "light" without its grey, then Okabe-Ito):
#: pale enough for black labels on top, distinct under deuteranopia and protanopia
QUALITATIVE = ("#77aadd", "#ee8866", "#eedd88", "#ffaabb", "#99ddff", "#44bb99", "#bbcc33",
               "#aaaa00", "#e69f00", "#56b4e9", "#009e73", "#cc79a7", "#0072b2", "#d55e00")
#: sequential palettes (ColorBrewer, colour-blind safe), light = low, dark = high
SEQUENTIAL = ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494")
SEQUENTIAL_7 = ("#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#0c2c84")
#: ACI size bands 1-4 (ColorBrewer Blues)
BAND_COLORS = {1: "#c6dbef", 2: "#6baed6", 3: "#2171b5", 4: "#08306b"}
#: missing or unknown values: neutral grey, outside every palette
MISSING_COLOR = "#bdbdbd"
#: stage text outside the canonical stages (e.g. « en cours »): greys, clearly apart from the greens
UNKNOWN_STAGE_COLORS = ("#969696", "#d9d9d9", "#737373", "#f0f0f0")
#: canonical stages of cpts_geo.members.STAGES, from early (light) to contracted (dark green)
STAGE_COLORS = ("#fee08b", "#d9ef8b", "#91cf60", "#1a9850")
#: fill opacity of perimeters, identical in the HTML map, the static map and their legends
#: (opaque: a legend swatch is exactly the colour seen on the map)
FILL_OPACITY = 1.0
#: fill opacity of overlaps (drawn over the perimeters, cross-hatched)
OVERLAP_OPACITY = 0.7

WHITE_ZONE = {"fill": "#ffffff", "edge": "#c51b1b", "label": "Zone blanche (aucune CPTS)"}
OVERLAP = {"fill": "#7b3294", "edge": "#40004b", "label": "Chevauchement (plusieurs CPTS)"}
PERIMETER_EDGE = "#303030"
DEPARTMENT_EDGE = "#000000"

#: other maps reached through ``color_by``: name → (wants(diagnosis, color_by), interactive
#: map(diagnosis, color_by, **options), static map(diagnosis, color_by, **options)); registered
#: by :mod:`cpts_geo.maps.rates` (« taux_couverture »), which imports the map modules
ALTERNATE_MAPS: dict[str, tuple] = {}


def alternate_map(diagnosis: Any, color_by: str | None, kind: str) -> Any:
    """The ``kind`` ("interactive" or "static") drawing function of the registered map that
    ``color_by`` selects for this diagnosis, or None (the map of the CPTS perimeters)."""
    for wants, interactive, static in ALTERNATE_MAPS.values():
        if wants(diagnosis, color_by):
            return interactive if kind == "interactive" else static
    return None


def _ordered_levels() -> dict[str, tuple[str, ...]]:
    """Ordered categorical variables (column → labels from low to high), from classification."""
    from cpts_geo.classification import AAV3_LABELS, DENS3_LABELS, DENS7_LABELS
    from cpts_geo.rules import IGAS_LABELS
    dens3 = tuple(DENS3_LABELS[k] for k in ("rural", "intermediaire", "urbain_dense"))
    return {
        # density: from the least dense to the densest (INSEE level 7 → 1)
        "dens_dominant": dens3,
        "dens7": tuple(DENS7_LABELS[k] for k in sorted(DENS7_LABELS, reverse=True)),
        "igas_type": tuple(IGAS_LABELS),
        "aav_dominant": tuple(AAV3_LABELS[k] for k in ("hors_attraction", "couronne", "pole")),
    }


def sequential(n: int) -> tuple[str, ...]:
    """``n`` ordered colours (light → dark) of the sequential palette, n ≤ 7."""
    if n <= 0:
        return ()
    idx = np.round(np.linspace(0, len(SEQUENTIAL_7) - 1, n)).astype(int) if n > 1 else [3]
    return tuple(SEQUENTIAL_7[i] for i in idx)


COLOR_BY_TITLES = {
    "stage": "Stade du projet",
    "band": "Taille ACI (population 2023)",
    "cpts": "CPTS",
    "irdes_label": "Typologie IRDES (classe dominante)",
    "irdes25_label": "Typologie IRDES 2025 (classe dominante)",
    "igas_type": "Type de territoire (IGAS)",
    "dens_dominant": "Densité dominante (grille INSEE)",
    "aav_dominant": "Aire d'attraction des villes (dominante)",
    "apl": "APL aux médecins généralistes",
}
#: short names accepted by ``color_by`` → columns written by cpts_geo.classify / indicators
COLOR_BY_ALIASES = {
    "irdes": "irdes_label",
    "irdes2025": "irdes25_label",
    "igas": "igas_type",
    "densite": "dens_dominant",
    "density": "dens_dominant",
    "aav": "aav_dominant",
}


#: French reading of the white-zone types of cpts_geo.topology (land adjacency only)
WHITE_ZONE_TYPES = {
    "enclosed": "enclavée : entourée de CPTS (ou de la mer, d'une frontière)",
    "edge": "en bordure : touche des communes hors de la zone analysée",
}


def neighbours_text(cpts: Any, km: Any = None) -> str:
    """« CPTS A (92,4 km de limite commune), CPTS B (50,8 km) »: CPTS touching a white zone."""
    names = list(cpts or ())
    kms = list(km) if km is not None and not isinstance(km, float) else [None] * len(names)
    out = []
    for i, (n, k) in enumerate(zip(names, kms + [None] * (len(names) - len(kms)), strict=False)):
        if k is None or pd.isna(k):
            out.append(str(n))
        else:
            unit = f"{fr.NNBSP}km de limite commune" if i == 0 else f"{fr.NNBSP}km"
            out.append(f"{n} ({fr.number(k, 1)}{unit})")
    return ", ".join(out)


def short_name(name: object) -> str:
    """CPTS name for a label: without its leading « CPTS » unless an article follows
    (« CPTS Sud 04 » → « Sud 04 », « CPTS du Gapençais » kept whole)."""
    text = str(name)
    rest = text.removeprefix("CPTS ")
    return rest if rest and (rest[:1].isupper() or rest[:1].isdigit()) else text


def area_name(deps: Any) -> str:
    """French name of a set of department codes for titles: the region's name when they are
    exactly the departments of one or more regions (« Provence-Alpes-Côte d'Azur »), else the
    department names (« Alpes-de-Haute-Provence, Hautes-Alpes et Vaucluse »)."""
    from cpts_geo import reference
    deps = sorted({str(d) for d in deps})
    if not deps:
        return ""
    dep_table = reference.load_departements()
    regions = reference.load_regions()
    reg_name = dict(zip(regions["code"], regions["nom"], strict=True))
    dep_name = dict(zip(dep_table["code"], dep_table["nom"], strict=True))
    reg_of = dict(zip(dep_table["code"], dep_table["region"], strict=True))
    regs = sorted({reg_of.get(d) for d in deps if reg_of.get(d)})
    full = all(set(dep_table.loc[dep_table["region"] == r, "code"]) <= set(deps) for r in regs)
    if regs and full and {d for d in deps if d in reg_of} == set(
            dep_table.loc[dep_table["region"].isin(regs), "code"]) and len(regs) <= 3:
        return fr.enumeration(reg_name.get(r, r) for r in regs)
    if len(deps) > 6:
        return fr.plural(len(deps), "département")
    return fr.enumeration(dep_name.get(d, d) for d in deps)


def default_title(n_cpts: int, deps: Any) -> str:
    """Map title: « Couverture du territoire par les CPTS — Provence-Alpes-Côte d'Azur (70 CPTS) »."""
    return (f"Couverture du territoire par les CPTS — {area_name(deps)} "
            f"({fr.integer(n_cpts)} CPTS)")


def band_label(band: int) -> str:
    """Legend label of an ACI band from the rule in force: « Taille 4 (> 175 000 hab.) »."""
    bounds, upper = aci_rule()
    if band not in range(1, len(bounds) + 2):
        return "Population inconnue"
    hab = fr.NNBSP + "hab."
    if band == 1:
        rng = f"{'<' if upper[0] else '≤'} {fr.integer(bounds[0])}{hab}"
    elif band == len(bounds) + 1:
        rng = f"{'≥' if upper[-1] else '>'} {fr.integer(bounds[-1])}{hab}"
    else:
        rng = f"{fr.integer(bounds[band - 2])} à {fr.integer(bounds[band - 1])}{hab}"
    return f"Taille {band} ({rng})"


@dataclass
class Classes:
    """Class label and colour of each CPTS, and the legend (ordered label → colour)."""

    title: str
    labels: pd.Series
    colors: pd.Series
    legend: dict[str, str]
    note: str | None = None


def neighbour_colors(geoms: np.ndarray, palette: tuple[str, ...] = QUALITATIVE) -> list[str]:
    """Greedy colouring so that touching or overlapping perimeters get different colours."""
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left != right
    neighbours: dict[int, set[int]] = {}
    for a, b in zip(left[keep], right[keep], strict=True):
        neighbours.setdefault(int(a), set()).add(int(b))
    order = sorted(range(len(geoms)), key=lambda i: -len(neighbours.get(i, ())))
    chosen: dict[int, int] = {}
    for i in order:
        used = {chosen[j] for j in neighbours.get(i, ()) if j in chosen}
        chosen[i] = next(k for k in range(len(palette) + len(used) + 1) if k not in used)
    return [palette[chosen[i] % len(palette)] for i in range(len(geoms))]


def classify(perimeters: pd.DataFrame, color_by: str | None = "auto") -> Classes:
    """Colour classes of the CPTS perimeters.

    ``color_by``: ``"stage"``, ``"band"`` (ACI size band, computed from ``population`` when
    the column is absent), ``"cpts"`` (one colour per CPTS, neighbours differ), any other column
    of the perimeters (categorical, or 5 quantile classes when numeric with many values), or
    ``"auto"`` / None: ``stage`` when at least one stage is known, else ``cpts``.
    """
    per = perimeters
    if color_by in (None, "auto"):
        has_stage = "stage" in per and per["stage"].notna().any()
        color_by = "stage" if has_stage else "cpts"
    color_by = COLOR_BY_ALIASES.get(color_by, color_by)
    title = COLOR_BY_TITLES.get(color_by, color_by)
    if color_by == "cpts":
        colors = neighbour_colors(per.geometry.to_numpy()) if len(per) else []
        return Classes(title, per["cpts"].astype(str), pd.Series(colors, index=per.index,
                                                                  dtype=object), {},
                       note="Une couleur par CPTS (deux CPTS voisines ont des couleurs différentes)")
    if color_by == "band":
        band = per["band"] if "band" in per else None
        if band is None:
            band = pd.Series(aci_band(per["population"].astype(float)), index=per.index)
        band = pd.to_numeric(band, errors="coerce").fillna(0).astype(int)
        labels = band.map(band_label)
        legend = {band_label(b): BAND_COLORS[b] for b in sorted(BAND_COLORS) if (band == b).any()}
        if (~band.isin(list(BAND_COLORS))).any():
            legend["Population inconnue"] = MISSING_COLOR
        return Classes(title, labels, labels.map(legend), legend)
    if color_by not in per:
        available = ", ".join(c for c in per.columns if c not in (
            "geometry", "codes", "cpts", "stage", "band", "zone_crs"))
        raise OptionError("color_by", color_by, "colonne absente des périmètres "
                          f"(disponibles : stage, band, cpts, {available} ; irdes, igas, densite "
                          "et aav demandent cpts_geo.classify)")
    values = per[color_by]
    missing_label = "Stade non renseigné" if color_by == "stage" else "Non renseigné"
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if numeric and values.nunique() > 7:
        v = values.astype(float)
        qs = np.unique(np.nanquantile(v.dropna(), np.linspace(0, 1, 6)))
        idx = np.clip(np.searchsorted(qs, v, side="right") - 1, 0, len(qs) - 2)
        names = [f"{fr.number(qs[i], 1)} à {fr.number(qs[i + 1], 1)}" for i in range(len(qs) - 1)]
        labels = pd.Series([names[i] if not np.isnan(x) else missing_label
                            for i, x in zip(idx, v, strict=True)], index=per.index, dtype=object)
        palette = SEQUENTIAL if len(names) <= len(SEQUENTIAL) else QUALITATIVE
        legend = {n: palette[i] for i, n in enumerate(names) if (labels == n).any()}
    else:
        labels = values.map(lambda x: missing_label if pd.isna(x) else str(x)).astype(object)
        cats = sorted(set(labels) - {missing_label})
        legend = {c: QUALITATIVE[i % len(QUALITATIVE)] for i, c in enumerate(cats)}
        ordered = _ordered_levels()
        levels = next((lv for lv in ([ordered.get(color_by, ())] + list(ordered.values()))
                       if lv and set(cats) <= set(lv)), None)
        if color_by == "stage":  # canonical stages first, in project order; others in grey
            known = dict(zip(STAGES, STAGE_COLORS, strict=True))
            others = [c for c in cats if c not in known]
            legend = {c: col for c, col in known.items() if c in cats}
            legend.update({c: UNKNOWN_STAGE_COLORS[i % len(UNKNOWN_STAGE_COLORS)]
                           for i, c in enumerate(others)})
        elif levels is not None:  # ordered variable: its own order, sequential colours
            pal = sequential(len(levels))
            legend = {lv: pal[i] for i, lv in enumerate(levels) if lv in cats}
        given = color_by.removesuffix("_label") + "_color"
        if color_by.endswith("_label") and given in per:  # official colours of a typology
            official = dict(zip(labels, per[given], strict=True))
            legend.update({c: official[c] for c in cats if isinstance(official.get(c), str)})
    if (labels == missing_label).any():
        legend[missing_label] = MISSING_COLOR
    return Classes(title, labels, labels.map(legend), legend)


def frame_axes(ax: Any, bounds: Any | None = None, pad: float = 0.03) -> None:
    """A map's matplotlib axes: limits on ``bounds`` (minx, miny, maxx, maxy, in the axes' CRS
    units) with ``pad`` of their extent around, equal aspect, no ticks or labels, thin frame."""
    if bounds is not None:
        minx, miny, maxx, maxy = bounds
        padx, pady = (maxx - minx) * pad, (maxy - miny) * pad
        ax.set_xlim(minx - padx, maxx + padx)
        ax.set_ylim(miny - pady, maxy + pady)
    ax.set_aspect("equal")
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_linewidth(0.6)


def plain_text(func: Callable) -> Callable:
    """Decorator: run ``func`` (a static map drawing or saving) with matplotlib's mathtext off, so
    a CPTS called « $x^2$ » or « $\\frac{a$ » is drawn as typed, never parsed as a formula nor
    refused with a parser error. matplotlib is imported on the call, not with this module.

    Parameters
    ----------
    func : callable

    Returns
    -------
    callable
        ``func`` run inside ``matplotlib.rc_context({"text.parse_math": False})``.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import matplotlib

        with matplotlib.rc_context({"text.parse_math": False}):
            return func(*args, **kwargs)

    return wrapper
