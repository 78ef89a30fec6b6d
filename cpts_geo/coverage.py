"""Coverage diagnosis of a CPTS listing: who covers what, overlaps, white zones, coverage rates.

:func:`diagnose` works on codes with set arithmetic (a sparse CPTS × unit incidence matrix) for
overlaps, coverage and white zones, and on the reference coverage for geometry (coverage-aware
union per CPTS, adjacency precomputed once from shared edges, see :mod:`cpts_geo.perimeters`).
Population is the population municipale légale 2023 on the COG 2026 geography; a unit listed by
several CPTS counts in full for each of them (as listed) and the double count is reported.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from cpts_geo import fr, reference
from cpts_geo._version import __version__
from cpts_geo.codes import normalise_codes
from cpts_geo.errors import InputError, NotFoundError, OptionError
from cpts_geo.members import (
    arrondissement_cities,
    expand_cities,
    normalise_stage,
    read_members,
)
from cpts_geo.perimeters import (
    analysis_units,
    build_perimeters,
    dissolve_groups,
    shared_border_km,
    unit_arrays,
    unit_graph,
)
from cpts_geo.rules import ALL_STAGES, STAGE_ACI, STAGES, crs_summary
from cpts_geo.shares import refresh_shared_cities
from cpts_geo.topology import EDGE, ENCLOSED, perimeter_topology
from cpts_geo.topology import white_zones as _zones

ACI_ONLY = STAGE_ACI

SUMMARY_KEYS = (
    "cpts", "units", "covered_units", "white_units", "white_population", "population",
    "covered_population_share", "overlapping_units", "converted_codes", "refused_codes", "bands",
    "cog", "population_year",
)


@dataclass
class Diagnosis:
    """Result of :func:`diagnose`. Populations: municipale légale 2023; geography: COG 2026;
    geometries EPSG:4326; areas km² in the official projected CRS of each zone."""

    units: gpd.GeoDataFrame
    perimeters: gpd.GeoDataFrame
    overlaps: pd.DataFrame
    overlap_pairs: pd.DataFrame
    white_zones: gpd.GeoDataFrame
    coverage: pd.DataFrame
    summary: dict
    meta: dict
    members: pd.DataFrame
    report: pd.DataFrame = field(repr=False)
    arr_cities: frozenset = frozenset()
    _by_unit_cache: dict | None = field(default=None, repr=False)

    def lookup(self, code: object) -> tuple[str, ...]:
        """CPTS covering a commune (code or name, normalised to COG 2026); () when uncovered.

        A whole-city code analysed at arrondissement level returns the CPTS of any of its
        arrondissements; an arrondissement analysed at city level those of its city. Raises
        :class:`~cpts_geo.errors.NotFoundError` (a ``CptsGeoError`` and a ``KeyError``) naming the
        value when the commune is unknown or outside the analysed area and listing.
        """
        norm = normalise_codes([code])
        c = norm["code"].iloc[0]
        if c is None:
            raise NotFoundError(code, f"commune introuvable ({norm['message'].iloc[0]})")
        by_unit = self._by_unit()
        if c in by_unit:
            return by_unit[c]
        if c in self.arr_cities:
            codes = reference.plm_arrondissements(c)
            return tuple(sorted({x for k in codes for x in by_unit.get(k, ())}))
        city = reference.plm_collapse([c])[0]
        if city != c and city in by_unit:
            return by_unit[city]
        raise NotFoundError(code if str(code) == c else f"{code} ({c})",
                            "cette commune n'est ni dans la zone analysée ni dans la liste des CPTS")

    def _by_unit(self) -> dict:
        if self._by_unit_cache is None:
            d = dict(zip(self.units["code"], self.units["cpts"], strict=True))
            p = self.perimeters
            for name, codes in zip(p["cpts"], p["codes"], strict=True):
                for c in codes:
                    if c not in d:
                        d[c] = ()
                    if name not in d[c]:
                        d[c] = tuple(sorted((*d[c], name)))
            self._by_unit_cache = d
        return self._by_unit_cache

    def with_perimeters(self, perimeters: gpd.GeoDataFrame, sources: dict | None = None) -> Diagnosis:
        """A copy with another perimeter table (same rows, columns added, e.g. by
        :func:`cpts_geo.classification.classify_diagnosis`) and ``sources`` added to the
        provenance (``meta['sources']`` and ``summary['sources']``). ``self`` is left unchanged."""
        src = {**self.meta.get("sources", {}), **(sources or {})}
        meta = {**self.meta, "sources": src}
        per = perimeters.copy()
        per.attrs = {**self.perimeters.attrs, **perimeters.attrs, "sources": src}
        return dataclasses.replace(self, perimeters=per, meta=meta, summary={**self.summary, "sources": src})

    def text(self) -> str:
        """Short French summary for a terminal (:func:`cpts_geo.summary.format_summary`)."""
        return _presenter("text")(self)

    def write(
        self,
        out_dir: str | Path,
        *,
        classify: bool = True,
        apl: str | Path | None = None,
        apl_cog: int | None = None,
        apl_year: int | None = None,
        maps: bool = True,
        csv_format: str = "fr",
        overwrite: bool = False,
        apl_estimate: str | Path | None = None,
        color_by: str | None = "auto",
        title: str | None = None,
        rates_by: str | None = None,
        rates_stage: str | None = None,
    ) -> dict[str, Path]:
        """Write every file of ``cpts-geo coverage --out out_dir`` with the same options:
        summary.json, perimeters.gpkg, white_zones.gpkg, overlaps.csv, diagnostic_cpts.xlsx and
        (``maps``) carte_couverture.html/png/pdf; returns their paths. ``classify`` adds the
        classification columns, ``apl`` (DREES file; ``apl_cog``, ``apl_year`` as ``--apl-cog``,
        ``--apl-year``) the official APL per CPTS, ``apl_estimate`` (``--apl-estimee``: the
        ``_cpts.csv`` of ``cpts-geo apl --listing``) the computed estimate, labelled as such;
        ``color_by``, ``title``: the maps' colouring and title; ``rates_by`` / ``rates_stage``
        (``--par`` / ``--etape``): the coverage-rate maps by zone; ``csv_format`` "fr" (``;``, decimal comma) or
        "international" as ``--csv-format``; ``self`` is left unchanged. The folder is written
        atomically (all new files or the previous set, never mixed); one holding files no cpts_geo
        run wrote is refused unless ``overwrite``. See :func:`cpts_geo.export.write_diagnosis`."""
        return _presenter("write")(self, out_dir, classify=classify, apl=apl, apl_cog=apl_cog,
                                   apl_year=apl_year, maps=maps, csv_format=csv_format,
                                   overwrite=overwrite, apl_estimate=apl_estimate,
                                   color_by=color_by, title=title, rates_by=rates_by,
                                   rates_stage=rates_stage)


#: presentation of a Diagnosis (``text``, ``write``), registered by the higher modules that
#: provide it (:mod:`cpts_geo.summary`, :mod:`cpts_geo.export`; the package root imports them), so
#: that the computation never imports its presentation (imports point down the data flow)
_PRESENTERS: dict[str, Callable[..., object]] = {}


def register_presenter(name: str) -> Callable[[Callable[..., object]], Callable[..., object]]:
    """Decorator: ``func`` implements ``Diagnosis.<name>()``."""
    def register(func: Callable[..., object]) -> Callable[..., object]:
        _PRESENTERS[name] = func
        return func

    return register


def _presenter(name: str) -> Callable[..., object]:
    return _PRESENTERS[name]  # registered when the package cpts_geo is imported


# ------------------------------------------------------------------------------------------
# Diagnosis
# ------------------------------------------------------------------------------------------


def _as_members(members: pd.DataFrame | str | Path) -> pd.DataFrame:
    if not isinstance(members, pd.DataFrame):
        return read_members(members)
    if "cpts" not in members.columns or "code" not in members.columns:
        raise InputError("colonnes « cpts » et « code » attendues (lire la liste avec cpts_geo.read_members)",
                         members.attrs.get("source", "liste des CPTS"))
    m = members.copy()
    m.attrs = dict(members.attrs)
    for col, default in (("stage", None), ("date", pd.NaT), ("input", None), ("status", None)):
        if col not in m.columns:
            m[col] = default
    if "source_row" not in m.columns:
        m["source_row"] = np.arange(len(m)) + 1
    return m


@functools.cache
def _code_index(arr_cities: frozenset[str]) -> pd.Index:
    return pd.Index(unit_arrays(arr_cities)["code"])


#: columns of ``Diagnosis.units`` taken from :func:`cpts_geo.perimeters.analysis_units`
UNIT_FRAME_COLUMNS = ["code", "nom", "kind", "dep", "reg", "epci", "population", "area_km2", "has_geometry",
                      "border", "geometry"]


def _cpts_by_unit(names: np.ndarray, group: np.ndarray, unit_idx: np.ndarray, n_cpts_unit: np.ndarray) -> np.ndarray:
    """Tuple of CPTS names (sorted) listing each unit; () for uncovered units."""
    n = len(n_cpts_unit)
    out = np.empty(n, dtype=object)
    out[:] = [()] * n
    order = np.lexsort((group, unit_idx))
    u, g = unit_idx[order], group[order]
    one = n_cpts_unit[u] == 1
    out[u[one]] = list(zip(names[g[one]], strict=True))
    b = np.searchsorted(u, np.arange(n + 1))
    for k in np.flatnonzero(n_cpts_unit > 1):
        out[k] = tuple(names[g[b[k] : b[k + 1]]])
    return out


def _empty_listing_reason(attrs: dict, refused_extra: pd.DataFrame) -> str:
    """Why no CPTS is left to analyse, naming the first refused rows and their values (the reader's
    refusals and those of a hand-built frame)."""
    frames = [f for f in (attrs.get("refused"), refused_extra) if f is not None and len(f)]
    if frames:
        refused = pd.concat(frames, ignore_index=True)

        def cut(v: object, n: int) -> str:  # a garbage cell (and its echo in the message) is cut
            v = str(v)
            return v if len(v) <= n else v[:n - 1] + "…"

        shown = [(f"ligne {r.source_row} : " if pd.notna(r.source_row) else "")
                 + f"« {cut(r.input, 60)} » ({cut(r.message, 300)})" for r in refused.head(3).itertuples()]
        more = len(refused) - len(shown)
        return ("aucune CPTS à analyser : aucun code de la liste n'est reconnu ; "
                + " ; ".join(shown) + (f" ; et {fr.plural(more, 'autre valeur refusée', 'autres valeurs refusées')}"
                                       if more else ""))
    return "aucune CPTS à analyser : la liste est vide"


def _check_codes(m: pd.DataFrame, valid: pd.Index) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Normalise codes of a hand-built frame that are not COG 2026 units; returns (members, refused)."""
    bad = valid.get_indexer(m["code"].to_numpy(dtype=object)) < 0
    if not bad.any():
        return m, pd.DataFrame(columns=["source_row", "cpts", "input", "status", "message"])
    norm = normalise_codes(m.loc[bad, "code"].tolist())
    m = m.copy()
    m.loc[bad, "input"] = m.loc[bad, "code"].to_numpy()
    m.loc[bad, "status"] = norm["status"].to_numpy()
    m.loc[bad, "code"] = norm["code"].to_numpy()
    refused = m[bad & m["code"].isna()].assign(message=norm.loc[norm["code"].isna(), "message"].to_numpy())
    return m[m["code"].notna()], refused[["source_row", "cpts", "input", "status", "message"]]


def _area_mask(ua: dict, region, departments, listed_deps) -> tuple[np.ndarray, str]:
    """Mask of the analysed units and a French label of the area."""
    mask = np.ones(len(ua["dep"]), dtype=bool)
    label = ""
    if departments is not None:
        deps = [departments] if isinstance(departments, (str, int)) else list(departments)
        deps = [str(d).upper().zfill(2) for d in deps]
        unknown = sorted(set(deps) - set(ua["dep_cats"]))
        if unknown:
            raise OptionError("departments", ", ".join(unknown),
                              fr.plural(len(unknown), "département inconnu", "départements inconnus", False))
        mask &= np.isin(ua["dep_i"], np.searchsorted(ua["dep_cats"], deps))
        label = "département" + ("s " if len(deps) > 1 else " ") + ", ".join(deps)
    if region is not None:
        regs = [region] if isinstance(region, (str, int)) else list(region)
        regs = [str(r).zfill(2) for r in regs]
        unknown = sorted(set(regs) - set(ua["reg_cats"]))
        if unknown:
            raise OptionError("region", ", ".join(unknown),
                              fr.plural(len(unknown), "région inconnue", "régions inconnues", False))
        mask &= np.isin(ua["reg_i"], np.searchsorted(ua["reg_cats"], regs))
        rn = reference.load_regions()
        names = dict(zip(rn.iloc[:, 0], rn["nom"], strict=True)) if "nom" in rn else {}
        label = (label + " ; " if label else "") + "région " + ", ".join(f"{r} {names.get(r, '')}".strip() for r in regs)
    if departments is None and region is None:
        mask = np.isin(ua["dep_i"], np.searchsorted(ua["dep_cats"], sorted(listed_deps)))
        label = "départements de la liste : " + ", ".join(sorted(listed_deps))
    return mask, label


def _dep_names(deps: set[str]) -> str:
    """« le département 04 Alpes-de-Haute-Provence » / « les départements 04 …, 05 … et 84 … »."""
    names = reference.load_departements().set_index("code")["nom"]
    items = [f"{d} {names.get(d, '')}".strip() for d in sorted(deps)]
    return ("le département " if len(items) == 1 else "les départements ") + fr.enumeration(items)


def diagnose(
    members: pd.DataFrame | str | Path,
    region: str | int | list | None = None,
    departments: str | list | None = None,
    stages: str | list | None = None,
) -> Diagnosis:
    """Coverage diagnosis of a CPTS listing (output of :func:`cpts_geo.read_members`, or a path).

    The analysed area is the given ``departments`` and/or ``region`` (INSEE codes), by default the
    departments in which the listing's units lie. ``stages`` keeps only CPTS at those stages
    (canonical labels of :data:`cpts_geo.rules.STAGES` or free text). Perimeters are complete
    even when a CPTS extends beyond the area; coverage rates and white zones concern the area.
    """
    m = _as_members(members)
    attrs = dict(m.attrs)
    m = expand_cities(m)
    if stages is not None:
        wanted = {normalise_stage(s) for s in ([stages] if isinstance(stages, str) else stages)}
        listed = len(m)
        m = m[m["stage"].map(normalise_stage).isin(wanted)]
        if listed and m.empty:
            raise InputError("aucune CPTS à analyser : aucune CPTS de la liste n'est au stade demandé "
                             f"({fr.enumeration(sorted(wanted))})", attrs.get("source"))
    arr_cities = arrondissement_cities(m["code"].to_numpy(dtype=object))
    units_all = analysis_units(arr_cities, UNIT_FRAME_COLUMNS)
    ua = unit_arrays(arr_cities)
    idx = _code_index(arr_cities)
    m, refused_extra = _check_codes(m, idx)
    if m.empty:
        raise InputError(_empty_listing_reason(attrs, refused_extra), attrs.get("source"))
    m = expand_cities(m)
    cp = m["cpts"].to_numpy(dtype=object).astype(str)
    ui = idx.get_indexer(m["code"].to_numpy(dtype=object))
    names, group = np.unique(cp, return_inverse=True)
    names = names.astype(object)
    key = np.unique(group.astype(np.int64) * len(ua["code"]) + ui)  # unique (CPTS, unit) pairs
    group, unit_idx = key // len(ua["code"]), key % len(ua["code"])
    n_cpts_total = len(names)

    # --- incidence: set arithmetic on codes
    n_units_all = len(ua["code"])
    n_cpts_unit = np.bincount(unit_idx, minlength=n_units_all)
    cpts_of_unit = _cpts_by_unit(names, group, unit_idx, n_cpts_unit)

    # --- analysed area
    listed_deps = set(ua["dep"][np.unique(unit_idx)])
    in_area, area_label = _area_mask(ua, region, departments, listed_deps)

    # --- perimeters
    per = build_perimeters(names, group, unit_idx, arr_cities, n_cpts_unit, crs=units_all.crs)
    topo = perimeter_topology(group, unit_idx, n_cpts_total, arr_cities)
    at = per.columns.get_loc("shared_units")
    for k, col in enumerate(topo.columns):
        per.insert(at + k, col, topo[col].to_numpy())
    stage_of = m.dropna(subset=["stage"]).drop_duplicates("cpts").set_index("cpts")["stage"] if "stage" in m else {}
    stage_col = per["cpts"].map(stage_of).astype(object)
    per.insert(1, "stage", stage_col.where(stage_col.notna(), None))
    outside = np.bincount(group, weights=(~in_area[unit_idx]).astype(float), minlength=n_cpts_total)
    per.insert(per.columns.get_loc("n_units_without_geometry"), "n_units_outside_area", outside.astype(int))
    in_area_cpts = np.bincount(group, weights=in_area[unit_idx].astype(float), minlength=n_cpts_total) > 0
    if not in_area_cpts.any():  # the area and the listing do not meet: an option error, not « CPTS : 0 »
        option = "--region" if region is not None and departments is None else "--departement"
        value = region if option == "--region" else departments
        value = value if isinstance(value, (str, int)) else ", ".join(map(str, value))
        raise OptionError(option, value, f"aucune CPTS de la liste n'a de commune dans la zone analysée "
                          f"({area_label}) ; la liste couvre {_dep_names(listed_deps)}")
    outside_area = sorted(names[~in_area_cpts].tolist())
    if not in_area_cpts.all():
        per = per[in_area_cpts].reset_index(drop=True)

    # --- units of the area
    units = units_all[in_area].reset_index(drop=True)
    units["n_cpts"] = n_cpts_unit[in_area]
    units["cpts"] = cpts_of_unit[in_area]

    # --- overlaps
    overlaps, overlap_pairs = _overlaps(ua, names, group, unit_idx, n_cpts_unit, cpts_of_unit)

    # --- white zones
    white = _white_zones(ua, in_area, n_cpts_unit, names, group, unit_idx, arr_cities, units_all.crs)

    # --- coverage rates
    stage_by_cpts = dict(zip(per["cpts"], per["stage"], strict=True))
    coverage = _coverage_table(ua, in_area, names, group, unit_idx, stage_by_cpts)

    report = attrs.get("report")
    refused = attrs.get("refused")
    refused = pd.concat([x for x in (refused, refused_extra) if x is not None and len(x)], ignore_index=True) \
        if (refused is not None and len(refused)) or len(refused_extra) else refused_extra
    meta = {
        "cog": reference.COG_YEAR,
        "population_year": reference.POPULATION_YEAR,
        "population_kind": "municipale",
        # units of the area whose population is not of POPULATION_YEAR (Mayotte, COM): said, not hidden
        "population_notes": _population_notes(units["code"]),
        "reference_build": reference.build_id(),
        "cpts_geo_version": __version__,
        "sources": {k: reference.SOURCES[k] for k in ("communes", "population", "geometry", "epci")},
        "listing": attrs.get("source"),
        # most recent date stated in the listing (stage dates), for map credits and reports
        "listing_date": None if m["date"].isna().all() else str(pd.to_datetime(m["date"]).max().date()),
        "area": area_label,
        # CPTS of the listing without any unit in the analysed area (left out of the diagnosis)
        "cpts_outside_area": outside_area,
        "stages": None if stages is None else sorted({normalise_stage(s) for s in (
            [stages] if isinstance(stages, str) else stages)}),
        "arrondissement_cities": sorted(arr_cities),
        "crs": crs_summary(),
    }
    for df in (per, units, white, overlaps, overlap_pairs, coverage):
        df.attrs = dict(meta)
    diag = Diagnosis(
        units=units, perimeters=per, overlaps=overlaps, overlap_pairs=overlap_pairs, white_zones=white,
        coverage=coverage, summary={}, meta=meta, members=m.reset_index(drop=True),
        report=report if report is not None else pd.DataFrame(), arr_cities=arr_cities,
    )
    diag.summary = _summary(diag, attrs, refused)
    # units listed whole by several CPTS: said, with the ACI band of an equal split (cpts_geo.shares)
    return refresh_shared_cities(diag)


def _overlaps(ua, names, group, unit_idx, n_cpts_unit, cpts_of_unit) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Units listed by several CPTS, and shared units / population per pair of CPTS (a < b)."""
    multi = np.flatnonzero(n_cpts_unit > 1)
    overlaps = pd.DataFrame({
        "code": ua["code"][multi], "nom": ua["nom"][multi], "dep": ua["dep"][multi],
        "population": pd.array(ua["population"][multi], dtype="Int64"), "n_cpts": n_cpts_unit[multi],
        "cpts": cpts_of_unit[multi],
    })
    overlaps["double_counted_population"] = overlaps["population"] * (overlaps["n_cpts"] - 1)
    sel = np.isin(unit_idx, multi)
    p = pd.DataFrame({"g": group[sel], "u": unit_idx[sel]})
    pp = p.merge(p, on="u")
    pp = pp[pp["g_x"] < pp["g_y"]].sort_values(["g_x", "g_y", "u"])
    pop = np.nan_to_num(ua["population"])
    codes = ua["code"]
    if pp.empty:
        pairs = pd.DataFrame(columns=["cpts_a", "cpts_b", "n_shared", "shared_population", "codes"])
    else:
        agg = pp.groupby(["g_x", "g_y"], sort=True)["u"].agg(list).reset_index()
        pairs = pd.DataFrame({
            "cpts_a": names[agg["g_x"].to_numpy()], "cpts_b": names[agg["g_y"].to_numpy()],
            "n_shared": agg["u"].map(len).to_numpy(),
            "shared_population": [int(pop[x].sum()) for x in agg["u"]],
            "codes": [tuple(codes[x]) for x in agg["u"]],
        })
    return overlaps, pairs


def _white_zones(ua, in_area, n_cpts_unit, names, memb_group, memb_unit, arr_cities, crs) -> gpd.GeoDataFrame:
    """Contiguous groups of uncovered units of the area, typed enclosed / edge."""
    graph = unit_graph(arr_cities)
    white = in_area & (n_cpts_unit == 0)
    cols = ["zone_id", "codes", "noms", "n_units", "n_units_without_geometry", "population", "area_km2",
            "type", "inside_cpts", "neighbour_cpts", "neighbour_border_km", "geometry"]
    w_idx, label, edge = _zones(graph, white, in_area)
    if len(w_idx) == 0:
        return gpd.GeoDataFrame({c: [] for c in cols[:-1]}, geometry=gpd.GeoSeries([], crs=crs))
    # neighbours of each white unit outside the white set
    g = graph[w_idx].tocoo()
    nb = g.col
    src = label[g.row]
    covered_nb = in_area[nb] & (n_cpts_unit[nb] > 0)
    n_z = label.max() + 1
    # a zone surrounded by one CPTS: a CPTS common to all its neighbours
    inside = np.full(n_z, None, dtype=object)
    enclosed = ~edge
    if enclosed.any():
        sel = covered_nb & enclosed[src]
        zn = np.unique(src[sel].astype(np.int64) * len(in_area) + nb[sel])  # distinct (zone, neighbour)
        z, u = zn // len(in_area), zn % len(in_area)
        n_nbr = np.bincount(z, minlength=n_z)
        # memberships of those neighbours: (zone, CPTS) counted once per neighbour
        order = np.argsort(memb_unit, kind="stable")
        mu, mg = memb_unit[order], memb_group[order]
        lo, hi = np.searchsorted(mu, u, "left"), np.searchsorted(mu, u, "right")
        rep = hi - lo
        zz = np.repeat(z, rep)
        gg = mg[np.repeat(lo, rep) + np.arange(rep.sum()) - np.repeat(np.cumsum(rep) - rep, rep)]
        zg, cnt = np.unique(zz * len(names) + gg, return_counts=True)
        zc, gc = zg // len(names), zg % len(names)
        common = cnt == n_nbr[zc]
        df = pd.DataFrame({"z": zc[common], "name": names[gc[common]]})
        for zone, grp in df.groupby("z")["name"]:
            inside[zone] = " / ".join(sorted(grp))
    neighbour_cpts, neighbour_km = _neighbour_cpts(g, label, n_z, n_cpts_unit, names, memb_group, memb_unit,
                                                   w_idx, arr_cities)
    pop = np.nan_to_num(ua["population"][w_idx])
    area = ua["area_km2"][w_idx]
    has = ua["has_geometry"][w_idx]
    codes = ua["code"][w_idx]
    noms = ua["nom"][w_idx]
    zpop = np.bincount(label, weights=pop, minlength=n_z)
    zarea = np.bincount(label, weights=np.nan_to_num(area), minlength=n_z)
    order = np.lexsort((codes, label))
    b = np.searchsorted(label[order], np.arange(n_z + 1))
    zcodes = [tuple(codes[order][b[k] : b[k + 1]]) for k in range(n_z)]
    znoms = [tuple(noms[order][b[k] : b[k + 1]]) for k in range(n_z)]
    geoms = dissolve_groups(ua["geometry"][w_idx], label, n_z)
    out = gpd.GeoDataFrame({
        "codes": zcodes, "noms": znoms, "n_units": np.bincount(label, minlength=n_z),
        "n_units_without_geometry": np.bincount(label, weights=(~has).astype(float), minlength=n_z).astype(int),
        "population": zpop.round().astype("int64"), "area_km2": zarea,
        "type": np.where(edge, EDGE, ENCLOSED), "inside_cpts": inside,
        "neighbour_cpts": neighbour_cpts, "neighbour_border_km": neighbour_km,
    }, geometry=gpd.GeoSeries(geoms, crs=crs))
    out["_first"] = [c[0] for c in zcodes]
    out = out.sort_values(["population", "_first"], ascending=[False, True]).drop(columns="_first")
    out.insert(0, "zone_id", np.arange(1, n_z + 1))
    return out.reset_index(drop=True)


def _neighbour_cpts(g, label, n_z, n_cpts_unit, names, memb_group, memb_unit, w_idx, arr_cities
                    ) -> tuple[list[tuple], list[tuple]]:
    """CPTS touching each white zone by land, by decreasing shared border (km, local projected
    CRS), and those lengths; a unit listed by several CPTS counts for each of them."""
    covered = n_cpts_unit[g.col] > 0
    wu, nu, z = w_idx[g.row[covered]], g.col[covered], label[g.row[covered]]
    km = shared_border_km(wu, nu, arr_cities)
    order = np.argsort(memb_unit, kind="stable")
    mu, mg = memb_unit[order], memb_group[order]
    lo, hi = np.searchsorted(mu, nu, "left"), np.searchsorted(mu, nu, "right")
    rep = hi - lo
    pos = np.repeat(lo, rep) + np.arange(rep.sum()) - np.repeat(np.cumsum(rep) - rep, rep)
    df = pd.DataFrame({"z": np.repeat(z, rep), "g": mg[pos], "km": np.repeat(km, rep)})
    df = df.groupby(["z", "g"], as_index=False)["km"].sum()
    df["name"] = names[df["g"].to_numpy()]
    df = df.sort_values(["z", "km", "name"], ascending=[True, False, True])
    b = np.searchsorted(df["z"].to_numpy(), np.arange(n_z + 1))
    nm = df["name"].to_numpy(dtype=object)
    km = df["km"].to_numpy().round(1)
    cpts = [tuple(nm[b[k]: b[k + 1]]) for k in range(n_z)]
    lengths = [tuple(km[b[k]: b[k + 1]].tolist()) for k in range(n_z)]
    return cpts, lengths


def _coverage_table(ua, in_area, names, group, unit_idx, stage_by_cpts) -> pd.DataFrame:
    """Share of population and of units covered, for the area, each department and region,
    with all CPTS, with the CPTS at each stage or a later one (« projet de santé validé ou plus avancé »…)
    and with CPTS at stage "ACI signé" only (when stages are known)."""
    filters = {ALL_STAGES: np.ones(len(names), dtype=bool)}
    stages = np.array([stage_by_cpts.get(n) for n in names], dtype=object)
    if pd.notna(stages).any():
        # cumulative by stage: the CPTS at this stage or a later one (ranks of rules.STAGES)
        rank = np.array([STAGES.index(x) if x in STAGES else -1 for x in stages])
        for k, stage in enumerate(STAGES[:-1]):
            if k > 0 and (rank >= k).any():
                filters[f"{stage} ou plus avancé"] = rank >= k
        filters[ACI_ONLY] = stages == STAGE_ACI
    pop = np.nan_to_num(ua["population"])
    rows = []
    for fname, keep in filters.items():
        cov = np.zeros(len(pop), dtype=bool)
        cov[unit_idx[keep[group]]] = True
        for level in ("zone", "reg", "dep"):
            if level == "zone":
                cat, cats = np.zeros(len(pop), dtype=np.int64), np.array(["zone analysée"], dtype=object)
            else:
                cat, cats = ua[f"{level}_i"], ua[f"{level}_cats"]
            sel = in_area & (cat >= 0)
            c = cat[sel]
            n = np.bincount(c, minlength=len(cats))
            present = np.flatnonzero(n)
            rows.append(pd.DataFrame({
                "level": level, "stages": fname, "key": cats[present], "units": n[present],
                "covered_units": np.bincount(c, weights=cov[sel], minlength=len(cats))[present].astype(int),
                "population": np.bincount(c, weights=pop[sel], minlength=len(cats))[present].round().astype("int64"),
                "covered_population": np.bincount(c, weights=(pop * cov)[sel], minlength=len(cats))[present]
                .round().astype("int64"),
            }))
    out = pd.concat(rows, ignore_index=True)
    out["covered_population_share"] = out["covered_population"] / out["population"].where(out["population"] > 0)
    out["covered_units_share"] = out["covered_units"] / out["units"]
    return out


def _duplicates(attrs: dict) -> list[str]:
    dup = attrs.get("duplicates")
    if dup is None or not len(dup):
        return []
    return [f"ligne {r.source_row} : {r.input} → {r.code} déjà listé pour {r.cpts}" for r in dup.itertuples()]


def _summary(d: Diagnosis, attrs: dict, refused: pd.DataFrame | None) -> dict:
    u, p, w = d.units, d.perimeters, d.white_zones
    covered = u["n_cpts"] > 0
    pop = u["population"].astype("float").fillna(0)
    converted = attrs.get("converted")
    conv = {}
    if converted is not None and len(converted):
        conv = {str(i): c for i, c in zip(converted["input"], converted["code"], strict=True)}
    ref: dict[str, str] = {}
    if refused is not None and len(refused):
        for r in refused.itertuples():
            key = str(r.input) if r.input is not None and not pd.isna(r.input) else f"ligne {r.source_row} (vide)"
            where = f"ligne {r.source_row}, {r.cpts}"
            ref[key] = f"{ref[key][:-1]} ; {where})" if key in ref else f"{r.message} ({where})"
    bands = {str(k): int((p["band"] == k).sum()) for k in (1, 2, 3, 4)}
    total_pop = int(pop.sum())
    cov_pop = int(pop[covered].sum())
    aci = d.coverage[(d.coverage["level"] == "zone") & (d.coverage["stages"] == ACI_ONLY)]
    s = {
        "cpts": len(p),
        "units": len(u),
        "covered_units": int(covered.sum()),
        "white_units": int((~covered).sum()),
        "white_population": int(pop[~covered].sum()),
        "population": total_pop,
        "covered_population": cov_pop,
        "covered_population_share": (cov_pop / total_pop) if total_pop else 0.0,
        "covered_units_share": float(covered.mean()) if len(u) else 0.0,
        "covered_population_share_aci": float(aci["covered_population_share"].iloc[0]) if len(aci) else None,
        "overlapping_units": {c: list(t) for c, t in zip(d.overlaps["code"], d.overlaps["cpts"], strict=True)},
        "double_counted_population": int(d.overlaps["double_counted_population"].fillna(0).sum()),
        "white_zones": len(w),
        "white_zones_enclosed": int((w["type"] == "enclosed").sum()),
        "white_zones_inside_one_cpts": int(w["inside_cpts"].notna().sum()),
        "converted_codes": conv,
        "duplicates": _duplicates(attrs),
        "refused_codes": ref,
        # codes read as INSEE codes that are also postcodes of other communes (code → French note)
        "postcode_doubts": dict(attrs.get("postcode_doubts") or {}),
        # ... of which those the printed summary shows: a name contradicts the code, or the listing
        # looks postal (postcodes.doubts_to_show); the others stay in the report rows only
        "postcode_doubts_shown": dict(getattr(attrs.get("postcode_doubts_shown"), "notes", {}) or {}),
        "postcode_doubts_reason": getattr(attrs.get("postcode_doubts_shown"), "reason", None),
        "bands": bands,
        "cpts_with_several_parts": sorted(p.loc[p["n_parts"] > 1, "cpts"].tolist()),
        "cpts_with_islands": {c: list(i) for c, i in zip(p["cpts"], p["islands"], strict=True) if i},
        "cpts_with_enclaves": sorted(p.loc[p["enclaves"].map(len) > 0, "cpts"].tolist()),
        "units_without_geometry": sorted(u.loc[~u["has_geometry"], "code"].tolist()),
        "expanded_cities": attrs.get("expanded_cities", {}),
        "ignored_columns": list(attrs.get("ignored_columns") or []),
        "area": d.meta["area"],
        "cpts_outside_area": d.meta.get("cpts_outside_area", []),
        "listing": d.meta["listing"],
        # how the listing file was read: sheets or layers read, polygons repaired (French sentences)
        "listing_notes": [str(n) for n in attrs.get("notes") or []],
        "stages": d.meta["stages"],
        "cog": d.meta["cog"],
        "population_year": d.meta["population_year"],
        "population_notes": d.meta["population_notes"],
        "reference_build": d.meta["reference_build"],
        "cpts_geo_version": d.meta["cpts_geo_version"],
        "sources": d.meta["sources"],
    }
    return s


def _population_notes(codes: pd.Series) -> list[dict]:
    """Units among ``codes`` whose population is not the legal population of POPULATION_YEAR,
    grouped by vintage: ``[{"population_source": ..., "codes": [...], "population": n}]``."""
    u = reference.units()
    sub = u.reindex(pd.Index(codes.to_numpy(dtype=object), dtype=object))
    standard = f"populations légales {reference.POPULATION_YEAR}"
    odd = sub[sub["population_source"].notna() & (sub["population_source"] != standard)]
    return [{"population_source": src, "codes": sorted(g.index.tolist()),
             "population": int(g["population"].fillna(0).sum())}
            for src, g in odd.groupby("population_source", sort=True)]
