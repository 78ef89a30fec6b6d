"""Coverage rates by zone (department, EPCI, bassin de vie): the covered population share that
DGOS, FCPTS and the Sénat map at national or multi-region scale.

:func:`coverage_rates` reads a :class:`cpts_geo.coverage.Diagnosis` (its analysed units and the
CPTS covering each one) and groups the units by department, EPCI 2026 or bassin de vie 2022 of the
reference unit table (:func:`cpts_geo.reference.units`). A unit listed by several CPTS counts once
in the covered population. Populations: municipale légale 2023 (the units of another vintage are
named in ``attrs["population_notes"]``); geography: COG 2026. Zone outlines are dissolved from the
reference outlines of the analysed units (cached), in EPSG:4326.
"""

from __future__ import annotations

import functools
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cpts_geo import fr, reference
from cpts_geo._checks import expect_bool, expect_diagnosis, expect_text
from cpts_geo.errors import OptionError
from cpts_geo.rules import ALL_STAGES, STAGE_ACI

#: zone levels: French option value → column of :func:`cpts_geo.reference.units`
LEVELS: dict[str, str] = {"departement": "dep", "epci": "epci", "bv": "bv2022"}
#: spellings accepted for a level (CLI ``--par``, Python ``by``)
LEVEL_ALIASES: dict[str, str] = {
    "departement": "departement", "département": "departement", "departements": "departement",
    "départements": "departement", "dep": "departement", "epci": "epci", "bv": "bv",
    "bv2022": "bv", "bassin_de_vie": "bv", "bassin de vie": "bv", "bassins de vie": "bv",
}
#: French names of the levels (singular, plural) for titles and tables
LEVEL_LABELS: dict[str, tuple[str, str]] = {
    "departement": ("département", "départements"),
    "epci": ("EPCI", "EPCI"),
    "bv": ("bassin de vie", "bassins de vie"),
}
#: stage filters: option value → canonical stage (None = every stage)
STAGE_FILTERS: dict[str, str | None] = {"toutes": None, "tous": None, "all": None, "aci": STAGE_ACI}

COLUMNS = ("zone", "nom", "dep", "population", "covered_population", "rate", "white_population",
           "n_units", "n_white_units", "partial")


def level_of(by: str) -> str:
    """Canonical level (``departement``, ``epci``, ``bv``) of a ``by`` value, else OptionError."""
    key = LEVEL_ALIASES.get(str(by).strip().lower())
    if key is None:
        raise OptionError("by", by, "niveau inconnu (departement, epci ou bv)")
    return key


def stage_of(stage: str | None) -> str | None:
    """Canonical stage filter: None (every stage) or :data:`cpts_geo.rules.STAGE_ACI`."""
    if stage is None or stage == ALL_STAGES:
        return None
    if stage == STAGE_ACI:
        return STAGE_ACI
    key = str(stage).strip().lower()
    if key not in STAGE_FILTERS:
        raise OptionError("stage", stage, "étape inconnue (toutes ou aci)")
    return STAGE_FILTERS[key]


def stage_label(stage: str | None) -> str:
    """« toutes les CPTS » or « CPTS ayant signé l'ACI »."""
    return "toutes les CPTS" if stage is None else "CPTS ayant signé l'ACI"


def _get(diagnosis: Any, name: str) -> Any:
    return diagnosis.get(name) if isinstance(diagnosis, dict) else getattr(diagnosis, name, None)


def _zone_names(level: str, codes: np.ndarray) -> np.ndarray:
    """French name of each zone code: department name, EPCI name, « Bassin de vie de <pole> »."""
    if level == "departement":
        names = reference.load_departements().set_index("code")["nom"]
        return np.array([names.get(c, c) for c in codes], dtype=object)
    if level == "epci":
        names = reference.load_epci().set_index("epci")["nom"]
        return np.array([names.get(c, f"EPCI {c}") for c in codes], dtype=object)
    # INSEE names a bassin de vie after its pole commune, whose code is the bassin's code
    u = reference.units()["nom"]
    return np.array([f"Bassin de vie de {u.get(c)}" if u.get(c) else f"Bassin de vie {c}"
                     for c in codes], dtype=object)


@functools.lru_cache(maxsize=8192)
def _outline(codes: tuple[str, ...]) -> shapely.Geometry | None:
    """Union of the reference outlines of ``codes`` (a polygon coverage: coverage union)."""
    geom = _geometries()
    geoms = [geom[c] for c in codes if geom.get(c) is not None]
    if not geoms:
        return None
    return shapely.coverage_union_all(np.asarray(geoms, dtype=object))


@functools.cache
def _geometries() -> dict:
    """code → reference outline (EPSG:4326); None for the units without one."""
    c = reference.load_communes()
    return dict(zip(c["code"].to_numpy(dtype=object), c.geometry.to_numpy(), strict=True))


@functools.cache
def _reference_counts(level: str) -> pd.Series:
    """Number of units (communes and PLM cities, arrondissements excluded) of each zone."""
    u = reference.units()
    u = u[(u["kind"] != "arrondissement").to_numpy()]
    return u[LEVELS[level]].value_counts()


def coverage_rates(diagnosis: Any, by: str = "departement", stage: str | None = None,
                   geometry: bool = True) -> gpd.GeoDataFrame:
    """Covered population share of each zone of the analysed area.

    - ``by``: ``"departement"`` (default), ``"epci"`` (EPCI 2026) or ``"bv"`` (bassins de vie
      2022, named after their pole commune).
    - ``stage``: None / ``"toutes"`` (every CPTS of the diagnosis) or ``"aci"`` (only the CPTS at
      stage « ACI signé »; OptionError when the listing gives no stage).
    - ``geometry``: dissolve the zone outlines (EPSG:4326; False = ``None`` geometries, faster).

    One row per zone, largest white population first: ``zone`` (code), ``nom``, ``dep`` (main
    department), ``population`` (municipale légale 2023 of the analysed units), ``covered_population``
    (units covered by at least one CPTS, counted once), ``rate`` (0–1, NaN without population),
    ``white_population`` and ``n_white_units`` (uncovered units), ``n_units``, ``partial`` (True when
    part of the zone lies outside the analysed area: the figures are those of the analysed part).
    ``attrs``: level, stage, vintages, sources, listing and ``population_notes``.
    """
    expect_diagnosis(diagnosis, "diagnosis")
    expect_text(by, "by")
    expect_text(stage, "stage", optional=True)
    expect_bool(geometry, "geometry")
    level = level_of(by)
    stage = stage_of(stage)
    units = _get(diagnosis, "units")
    per = _get(diagnosis, "perimeters")
    meta = dict(_get(diagnosis, "meta") or {})
    codes = units["code"].to_numpy(dtype=object)
    if stage is not None:
        stages = dict(zip(per["cpts"], per["stage"], strict=True)) if "stage" in per else {}
        if not any(s is not None and not pd.isna(s) for s in stages.values()):
            raise OptionError("stage", "aci", "la liste ne donne pas le stade des CPTS : "
                              "taux de couverture par des CPTS ayant signé l'ACI impossible")
    inc = _get(diagnosis, "incidence")
    if inc is not None:  # the core model: the units of the area and what covers them
        cpts_mask = None if stage is None else (inc.stages == stage) & inc.cpts_in_area
        covered = inc.covered(cpts_mask)[inc.area]
    else:  # a plain mapping of frames
        cpts = units["cpts"].to_numpy(dtype=object)
        aci = set() if stage is None else {n for n, s in stages.items() if s == stage}
        covered = np.array([len(c) > 0 if stage is None else any(x in aci for x in c) for c in cpts], dtype=bool)
    ref = reference.units()
    idx = pd.Index(codes, dtype=object)
    zone = ref[LEVELS[level]].reindex(idx).to_numpy(dtype=object)
    pop = pd.to_numeric(ref["population"].reindex(idx), errors="coerce").to_numpy(dtype=float)
    dep = ref["dep"].reindex(idx).to_numpy(dtype=object)
    has_zone = pd.notna(zone)
    frame = pd.DataFrame({
        "zone": zone[has_zone], "code": codes[has_zone], "dep": dep[has_zone],
        "pop": np.nan_to_num(pop[has_zone]), "known": ~np.isnan(pop[has_zone]),
        "covered": covered[has_zone],
    })
    frame["cov_pop"] = frame["pop"] * frame["covered"]
    frame["white_pop"] = frame["pop"] * ~frame["covered"]
    frame["white"] = ~frame["covered"]
    g = frame.groupby("zone", sort=True)
    out = pd.DataFrame({
        "population": g["pop"].sum().round().astype("int64"),
        "covered_population": g["cov_pop"].sum().round().astype("int64"),
        "white_population": g["white_pop"].sum().round().astype("int64"),
        "n_units": g.size().astype("int64"),
        "n_white_units": g["white"].sum().astype("int64"),
        "known": g["known"].any(),
    })
    # main department of each zone: the one holding most of its analysed units
    counts = frame.groupby(["zone", "dep"], sort=True).size().reset_index(name="n")
    counts = counts.sort_values(["zone", "n", "dep"], ascending=[True, False, True])
    out["dep"] = counts.drop_duplicates("zone").set_index("zone")["dep"].reindex(out.index)
    out["rate"] = (out["covered_population"] / out["population"].where(out["population"] > 0)).where(
        out["known"])
    # a zone is partial when it has more units in the reference than in the analysed area
    analysed = pd.Series(reference.plm_collapse(frame["code"].to_numpy(dtype=object)),
                         dtype=object).groupby(frame["zone"].to_numpy()).nunique()
    out["partial"] = (_reference_counts(level).reindex(out.index).fillna(0).to_numpy()
                      > analysed.reindex(out.index).to_numpy())
    out = out.reset_index()
    out["nom"] = _zone_names(level, out["zone"].to_numpy(dtype=object))
    if geometry:
        f = frame.sort_values(["zone", "code"])
        zs, cs = f["zone"].to_numpy(dtype=object), f["code"].to_numpy(dtype=object)
        starts = np.flatnonzero(np.r_[True, zs[1:] != zs[:-1]])
        bounds = dict(zip(zs[starts], zip(starts, np.r_[starts[1:], len(zs)], strict=True),
                          strict=True))
        geoms = [_outline(tuple(cs[bounds[z][0]:bounds[z][1]])) for z in out["zone"]]
    else:
        geoms = [None] * len(out)
    out = gpd.GeoDataFrame(out[list(COLUMNS)], geometry=gpd.GeoSeries(geoms, crs=4326))
    out = out.sort_values(["white_population", "zone"], ascending=[False, True], ignore_index=True)
    std = f"populations légales {reference.POPULATION_YEAR}"
    src = ref["population_source"].reindex(idx)
    odd = src[src.notna() & (src != std)]
    out.attrs = {
        "level": level,
        "level_label": LEVEL_LABELS[level][0],
        "stage": stage,
        "stage_label": stage_label(stage),
        "cog": meta.get("cog", reference.COG_YEAR),
        "population_year": meta.get("population_year", reference.POPULATION_YEAR),
        "population_kind": "municipale",
        "population_notes": [{"population_source": s, "codes": sorted(grp.index.tolist())}
                             for s, grp in odd.groupby(odd, sort=True)],
        "zones": {"departement": "départements, COG 2026", "epci": "EPCI au 1er janvier 2026",
                  "bv": "bassins de vie 2022 (INSEE), au COG 2026"}[level],
        "sources": {k: v for k, v in (meta.get("sources") or {}).items()},
        "listing": meta.get("listing"),
        "listing_date": meta.get("listing_date"),
        "area": meta.get("area"),
        "covered_rule": "une commune listée par plusieurs CPTS compte une fois",
    }
    return out


def rate_text(row: Any) -> str:
    """« Vaucluse : 99,4 % de la population couverte (3 108 habitants hors CPTS, 2 communes) »."""
    r = row._asdict() if hasattr(row, "_asdict") else dict(row)
    return (f"{r['nom']} : {fr.percent(r['rate'])} de la population couverte "
            f"({fr.plural(r['white_population'], 'habitant')} hors CPTS, "
            f"{fr.plural(r['n_white_units'], 'commune')})")


def spans_regions(diagnosis: Any) -> bool:
    """True when the analysed area lies in more than one region (the choropleth is then the
    default map)."""
    units = _get(diagnosis, "units")
    if units is None or "reg" not in units:
        return False
    return pd.Series(units["reg"]).dropna().nunique() > 1


__all__ = ["LEVELS", "coverage_rates", "level_of", "rate_text", "spans_regions", "stage_of"]
