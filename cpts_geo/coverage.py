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
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from cpts_geo import fr, reference
from cpts_geo._checks import expect_codes, expect_source
from cpts_geo._version import __version__
from cpts_geo.codes import normalise_codes
from cpts_geo.errors import InputError, NotFoundError, OptionError
from cpts_geo.incidence import Incidence
from cpts_geo.io.tables import cell_text
from cpts_geo.members import (
    arrondissement_cities,
    expand_cities,
    normalise_stage,
    read_members,
)
from cpts_geo.perimeters import build_perimeters, dissolve_groups
from cpts_geo.rules import ALL_STAGES, STAGE_ACI, STAGES, crs_summary
from cpts_geo.shares import refresh_shared_cities
from cpts_geo.topology import EDGE, ENCLOSED, perimeter_topology
from cpts_geo.topology import white_zones as _zones
from cpts_geo.units import Units, load_units

ACI_ONLY = STAGE_ACI

SUMMARY_KEYS = (
    "cpts", "units", "covered_units", "white_units", "white_population", "population",
    "covered_population_share", "overlapping_units", "converted_codes", "refused_codes", "bands",
    "cog", "population_year",
)


@dataclass(frozen=True, eq=False)
class Diagnosis:
    """Result of :func:`diagnose`, frozen (a step that changes it returns a copy made with
    :func:`dataclasses.replace`). Populations: municipale légale 2023; geography: COG 2026;
    geometries EPSG:4326; areas km² in the official projected CRS of each zone.

    ``incidence`` (:class:`cpts_geo.incidence.Incidence`) is the model every frame was derived
    from: the CPTS × unit table over the analysis units, with the analysed area.
    """

    units: gpd.GeoDataFrame = field(repr=False)
    perimeters: gpd.GeoDataFrame = field(repr=False)
    overlaps: pd.DataFrame = field(repr=False)
    overlap_pairs: pd.DataFrame = field(repr=False)
    white_zones: gpd.GeoDataFrame = field(repr=False)
    coverage: pd.DataFrame = field(repr=False)
    summary: dict = field(repr=False)
    meta: dict = field(repr=False)
    members: pd.DataFrame = field(repr=False)
    report: pd.DataFrame = field(repr=False)
    arr_cities: frozenset = field(default=frozenset(), repr=False)
    incidence: Incidence | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        s = self.summary
        if not s:
            return f"<Diagnosis: {len(self.perimeters)} CPTS, {len(self.units)} units>"
        return (f"<Diagnosis: {s['cpts']} CPTS, {s['covered_units']}/{s['units']} units covered "
                f"({s['covered_population_share']:.1%} of {s['population']} inhabitants), "
                f"{s['white_zones']} white zones, {len(s['overlapping_units'])} overlapping units; "
                f"{s['area']}>")

    def _repr_html_(self) -> str:
        """The summary table (French), for notebooks."""
        from html import escape

        s = self.summary
        rows = [
            ("Zone analysée", s.get("area")),
            ("CPTS", fr.integer(s.get("cpts", len(self.perimeters)))),
            ("Communes couvertes", f"{fr.integer(s.get('covered_units', 0))} / {fr.integer(s.get('units', 0))}"),
            ("Population couverte", f"{fr.integer(s.get('covered_population', 0))} / "
                                    f"{fr.inhabitants(s.get('population', 0))} "
                                    f"({fr.percent(s.get('covered_population_share', 0.0))})"),
            ("Zones blanches", f"{fr.integer(s.get('white_zones', 0))} ({fr.plural(s.get('white_units', 0), 'commune')}, "
                               f"{fr.inhabitants(s.get('white_population', 0))})"),
            ("Communes dans plusieurs CPTS", fr.integer(len(s.get("overlapping_units") or {}))),
            ("Référentiel", f"COG {s.get('cog')}, populations légales {s.get('population_year')}, "
                            f"build {s.get('reference_build')}"),
        ]
        body = "".join(f"<tr><th style='text-align:left'>{escape(str(k))}</th><td>{escape(str(v))}</td></tr>"
                       for k, v in rows)
        return f"<table><caption>Diagnostic de couverture CPTS</caption>{body}</table>"

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
        found = self._cpts_of_code(c)
        if found is not None:
            return found
        if c in self.arr_cities:
            found = [self._cpts_of_code(k) for k in reference.plm_arrondissements(c)]
            return tuple(sorted({x for f in found if f for x in f}))
        city = reference.plm_collapse([c])[0]
        if city != c:
            found = self._cpts_of_code(city)
            if found is not None:
                return found
        raise NotFoundError(code if str(code) == c else f"{code} ({c})",
                            "cette commune n'est ni dans la zone analysée ni dans la liste des CPTS")

    @functools.cached_property
    def _lookup_table(self) -> dict:
        """code → CPTS of the diagnosis listing it, for the units of the area and the units of
        its CPTS outside the area."""
        d = dict(zip(self.units["code"], self.units["cpts"], strict=True))
        kept = set(self.perimeters["cpts"])
        inc = self.incidence
        if inc is not None:
            for k in np.flatnonzero(~inc.area & (inc.n_cpts > 0)):
                names = tuple(n for n in inc.cpts_of[k] if n in kept)
                if names:
                    d[inc.units.code[k]] = names
        else:
            for name, codes in zip(self.perimeters["cpts"], self.perimeters["codes"], strict=True):
                for c in codes:
                    d[c] = tuple(sorted({*d.get(c, ()), name}))
        return d

    def _cpts_of_code(self, code: str) -> tuple[str, ...] | None:
        return self._lookup_table.get(code)

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
        inputs: tuple[str | Path, ...] = (),
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
        run wrote is refused unless ``overwrite``; ``inputs`` (the listing's path…) are never
        replaced or deleted. See :func:`cpts_geo.export.write_diagnosis`."""
        return _presenter("write")(self, out_dir, classify=classify, apl=apl, apl_cog=apl_cog,
                                   apl_year=apl_year, maps=maps, csv_format=csv_format,
                                   overwrite=overwrite, apl_estimate=apl_estimate,
                                   color_by=color_by, title=title, rates_by=rates_by,
                                   rates_stage=rates_stage, inputs=inputs)


#: presentation of a Diagnosis (``text``, ``write``), registered by the higher modules that
#: provide it (:mod:`cpts_geo.summary`, :mod:`cpts_geo.export`; imported on first use), so
#: that the computation never imports its presentation (imports point down the data flow)
_PRESENTERS: dict[str, Callable[..., object]] = {}


def register_presenter(name: str) -> Callable[[Callable[..., object]], Callable[..., object]]:
    """Decorator: ``func`` implements ``Diagnosis.<name>()``."""
    def register(func: Callable[..., object]) -> Callable[..., object]:
        _PRESENTERS[name] = func
        return func

    return register


def _presenter(name: str) -> Callable[..., object]:
    if name not in _PRESENTERS:  # registered when its module is imported
        importlib.import_module({"text": "cpts_geo.summary", "write": "cpts_geo.export"}[name])
    return _PRESENTERS[name]


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
    nameless = np.array([cell_text(v) is None for v in m["cpts"].tolist()], dtype=bool)
    if nameless.any():  # never a CPTS called « nan »
        i = int(nameless.argmax())
        raise InputError("nom de CPTS manquant", members.attrs.get("source", "tableau"),
                         int(m["source_row"].iloc[i]), m["code"].iloc[i])
    return m


#: columns of ``Diagnosis.units`` taken from :func:`cpts_geo.perimeters.analysis_units`
UNIT_FRAME_COLUMNS = ["code", "nom", "kind", "dep", "reg", "epci", "population", "area_km2", "has_geometry",
                      "border", "geometry"]


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


def _area_mask(ua: Units, region, departments, listed_deps) -> tuple[np.ndarray, str]:
    """Mask of the analysed units and a French label of the area."""
    dep_i, dep_cats = ua.categories("dep")
    reg_i, reg_cats = ua.categories("reg")
    mask = np.ones(len(ua), dtype=bool)
    label = ""
    if departments is not None:
        deps = [departments] if isinstance(departments, (str, int)) else list(departments)
        deps = [str(d).upper().zfill(2) for d in deps]
        unknown = sorted(set(deps) - set(dep_cats))
        if unknown:
            raise OptionError("departments", ", ".join(unknown),
                              fr.plural(len(unknown), "département inconnu", "départements inconnus", False))
        mask &= np.isin(dep_i, np.searchsorted(dep_cats, deps))
        label = "département" + ("s " if len(deps) > 1 else " ") + ", ".join(deps)
    if region is not None:
        regs = [region] if isinstance(region, (str, int)) else list(region)
        regs = [str(r).zfill(2) for r in regs]
        unknown = sorted(set(regs) - set(reg_cats))
        if unknown:
            raise OptionError("region", ", ".join(unknown),
                              fr.plural(len(unknown), "région inconnue", "régions inconnues", False))
        mask &= np.isin(reg_i, np.searchsorted(reg_cats, regs))
        rn = reference.load_regions()
        names = dict(zip(rn.iloc[:, 0], rn["nom"], strict=True)) if "nom" in rn else {}
        label = (label + " ; " if label else "") + "région " + ", ".join(f"{r} {names.get(r, '')}".strip() for r in regs)
    if departments is None and region is None:
        mask = np.isin(dep_i, np.searchsorted(dep_cats, sorted(listed_deps)))
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
    expect_source(members, "members")
    expect_codes(region, "region", optional=True)
    expect_codes(departments, "departments", optional=True)
    expect_codes(stages, "stages", optional=True)
    m = _as_members(members)
    attrs = dict(m.attrs)
    m.attrs = {}  # pandas deep-copies attrs (the reader's report) on every column access: set back at the end
    m = expand_cities(m)
    if stages is not None:
        wanted = {normalise_stage(s) for s in ([stages] if isinstance(stages, str) else stages)}
        listed = len(m)
        m = m[m["stage"].map(normalise_stage).isin(wanted)]
        if listed and m.empty:
            raise InputError("aucune CPTS à analyser : aucune CPTS de la liste n'est au stade demandé "
                             f"({fr.enumeration(sorted(wanted))})", attrs.get("source"))
    arr_cities = arrondissement_cities(m["code"].to_numpy(dtype=object))
    model = load_units(arr_cities)
    m, refused_extra = _check_codes(m, model.index)
    if m.empty:
        raise InputError(_empty_listing_reason(attrs, refused_extra), attrs.get("source"))
    m = expand_cities(m)
    stage_of = m.dropna(subset=["stage"]).drop_duplicates("cpts").set_index("cpts")["stage"] if "stage" in m else {}
    # --- incidence: the one CPTS × unit table every step below reads
    inc = Incidence.from_pairs(model, m["cpts"].to_numpy(dtype=object), m["code"].to_numpy(dtype=object),
                               stages=dict(stage_of))
    names = inc.names

    # --- analysed area
    listed_deps = set(model.dep[np.unique(inc.unit)])
    in_area, area_label = _area_mask(model, region, departments, listed_deps)
    inc = inc.within(in_area)
    in_area_cpts = inc.cpts_in_area
    if not in_area_cpts.any():  # the area and the listing do not meet: an option error, not « CPTS : 0 »
        option = "region" if region is not None and departments is None else "departments"
        value = region if option == "region" else departments
        value = value if isinstance(value, (str, int)) else ", ".join(map(str, value))
        raise OptionError(option, value, f"aucune CPTS de la liste n'a de commune dans la zone analysée "
                          f"({area_label}) ; la liste couvre {_dep_names(listed_deps)}")

    # --- perimeters
    per = build_perimeters(inc)
    topo = perimeter_topology(inc)
    at = per.columns.get_loc("shared_units")
    for k, col in enumerate(topo.columns):
        per.insert(at + k, col, topo[col].to_numpy())
    per.insert(1, "stage", pd.Series(inc.stages, dtype=object))
    outside = np.bincount(inc.group, weights=(~in_area[inc.unit]).astype(float), minlength=len(names))
    per.insert(per.columns.get_loc("n_units_without_geometry"), "n_units_outside_area", outside.astype(int))
    outside_area = sorted(names[~in_area_cpts].tolist())
    if not in_area_cpts.all():
        per = per[in_area_cpts].reset_index(drop=True)

    # --- units of the area
    units = model.frame(UNIT_FRAME_COLUMNS)[in_area].reset_index(drop=True)
    units["n_cpts"] = inc.n_cpts[in_area]
    units["cpts"] = inc.cpts_of[in_area]

    # --- overlaps (units of the area) and white zones
    overlaps, overlap_pairs, shared_outside = _overlaps(inc)
    white = _white_zones(inc)

    # --- coverage rates
    coverage = _coverage_table(inc)

    report = attrs.get("report")
    refused = attrs.get("refused")
    refused = pd.concat([x for x in (refused, refused_extra) if x is not None and len(x)], ignore_index=True) \
        if (refused is not None and len(refused)) or len(refused_extra) else refused_extra
    meta = {
        "cog": reference.COG_YEAR,
        "population_year": reference.POPULATION_YEAR,
        "population_kind": "municipale",
        # units of the area whose population is not of POPULATION_YEAR (Mayotte, COM): said, not hidden
        "population_notes": _population_notes(model, in_area),
        "reference_build": reference.build_id(),
        "cpts_geo_version": __version__,
        "sources": {k: reference.SOURCES[k] for k in ("communes", "population", "geometry", "epci")},
        "listing": attrs.get("source"),
        # most recent date stated in the listing (stage dates), for map credits and reports
        "listing_date": None if m["date"].isna().all() else str(pd.to_datetime(m["date"]).max().date()),
        "area": area_label,
        # CPTS of the listing without any unit in the analysed area (left out of the diagnosis)
        "cpts_outside_area": outside_area,
        # units outside the analysed area listed by several CPTS: named once, never counted
        "shared_units_outside_area": shared_outside,
        "stages": None if stages is None else sorted({normalise_stage(s) for s in (
            [stages] if isinstance(stages, str) else stages)}),
        "arrondissement_cities": sorted(arr_cities),
        "crs": crs_summary(),
    }
    for df in (per, units, white, overlaps, overlap_pairs, coverage):
        df.attrs = dict(meta)
    diag = Diagnosis(
        units=units, perimeters=per, overlaps=overlaps, overlap_pairs=overlap_pairs, white_zones=white,
        coverage=coverage, summary={}, meta=meta, members=_with_attrs(m.reset_index(drop=True), attrs),
        report=report if report is not None else pd.DataFrame(), arr_cities=arr_cities, incidence=inc,
    )
    diag = dataclasses.replace(diag, summary=_summary(diag, attrs, refused))
    # units listed whole by several CPTS: said, with the ACI band of an equal split (cpts_geo.shares)
    return refresh_shared_cities(diag)


def _with_attrs(frame: pd.DataFrame, attrs: dict) -> pd.DataFrame:
    frame.attrs = attrs
    return frame


def _overlaps(inc: Incidence) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, list[str]]]:
    """Units of the analysed area listed by several CPTS, shared units / population per pair of
    CPTS (a < b) over those units, and the shared units outside the area (code → CPTS names)."""
    ua, n_cpts, cpts_of = inc.units, inc.n_cpts, inc.cpts_of
    shared = n_cpts > 1
    multi = np.flatnonzero(shared & inc.area)
    outside = np.flatnonzero(shared & ~inc.area)
    shared_outside = {str(ua.code[k]): list(cpts_of[k]) for k in outside}
    overlaps = pd.DataFrame({
        "code": ua.code[multi], "nom": ua.nom[multi], "dep": ua.dep[multi],
        "population": pd.array(ua.population[multi], dtype="Int64"), "n_cpts": n_cpts[multi],
        "cpts": cpts_of[multi],
    })
    overlaps["double_counted_population"] = overlaps["population"] * (overlaps["n_cpts"] - 1)
    sel = np.isin(inc.unit, multi)
    p = pd.DataFrame({"g": inc.group[sel], "u": inc.unit[sel]})
    pp = p.merge(p, on="u")
    pp = pp[pp["g_x"] < pp["g_y"]].sort_values(["g_x", "g_y", "u"])
    pop = np.nan_to_num(ua.population)
    codes, names = ua.code, inc.names
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
    return overlaps, pairs, shared_outside


def _white_zones(inc: Incidence) -> gpd.GeoDataFrame:
    """Contiguous groups of uncovered units of the area, typed enclosed / edge, with the CPTS
    around them (one neighbour lookup serves both)."""
    ua, in_area, names = inc.units, inc.area, inc.names
    n_cpts_unit = inc.n_cpts
    graph = ua.adjacency
    white = in_area & (n_cpts_unit == 0)
    cols = ["zone_id", "codes", "noms", "n_units", "n_units_without_geometry", "population", "area_km2",
            "type", "inside_cpts", "neighbour_cpts", "neighbour_border_km", "geometry"]
    w_idx, label, edge = _zones(graph, white, in_area)
    if len(w_idx) == 0:
        return gpd.GeoDataFrame({c: [] for c in cols[:-1]}, geometry=gpd.GeoSeries([], crs=ua.crs))
    # covered land neighbours of each white unit, and the CPTS of each (looked up once)
    src, nb = ua.neighbours(w_idx)
    covered = n_cpts_unit[nb] > 0
    src, nb = src[covered], nb[covered]
    z = label[src]
    km = ua.shared_km(w_idx[src], nb)
    rep_at, grp = inc.memberships_of(nb)
    n_z = int(label.max()) + 1
    # a zone surrounded by one CPTS: a CPTS common to all its neighbours (of the area)
    inside = np.full(n_z, None, dtype=object)
    enclosed = ~edge
    if enclosed.any():
        sel = in_area[nb] & enclosed[z]
        zn = np.unique(z[sel].astype(np.int64) * len(in_area) + nb[sel])  # distinct (zone, neighbour)
        n_nbr = np.bincount(zn // len(in_area), minlength=n_z)
        msel = sel[rep_at]
        zz, uu, gg = z[rep_at][msel], nb[rep_at][msel], grp[msel]
        # (zone, neighbour, CPTS) once each, then neighbours per (zone, CPTS)
        zug = np.unique((zz.astype(np.int64) * len(in_area) + uu) * len(names) + gg)
        zg, cnt = np.unique((zug // len(names) // len(in_area)) * len(names) + zug % len(names),
                            return_counts=True)
        zc, gc = zg // len(names), zg % len(names)
        common = cnt == n_nbr[zc]
        zi, ni = zc[common], names[gc[common]]
        order = np.lexsort((ni.astype(str), zi))  # names are sorted: by CPTS index is by name
        zi, ni = zi[order].tolist(), ni[order].tolist()
        for k, zone in enumerate(zi):
            inside[zone] = ni[k] if inside[zone] is None else f"{inside[zone]} / {ni[k]}"
    # CPTS touching each zone by land, by decreasing shared border (a unit listed by several CPTS
    # counts for each of them)
    df = pd.DataFrame({"z": z[rep_at], "g": grp, "km": km[rep_at]})
    df = df.groupby(["z", "g"], as_index=False)["km"].sum()
    df["name"] = names[df["g"].to_numpy()]
    df = df.sort_values(["z", "km", "name"], ascending=[True, False, True])
    b = np.searchsorted(df["z"].to_numpy(), np.arange(n_z + 1))
    nm = df["name"].to_numpy(dtype=object)
    kmr = df["km"].to_numpy().round(1)
    neighbour_cpts = [tuple(nm[b[k]: b[k + 1]]) for k in range(n_z)]
    neighbour_km = [tuple(kmr[b[k]: b[k + 1]].tolist()) for k in range(n_z)]
    pop = np.nan_to_num(ua.population[w_idx])
    area = ua.area_km2[w_idx]
    has = ua.has_geometry[w_idx]
    codes = ua.code[w_idx]
    noms = ua.nom[w_idx]
    zpop = np.bincount(label, weights=pop, minlength=n_z)
    zarea = np.bincount(label, weights=np.nan_to_num(area), minlength=n_z)
    order = np.lexsort((codes, label))
    b = np.searchsorted(label[order], np.arange(n_z + 1))
    codes_o, noms_o = codes[order].tolist(), noms[order].tolist()
    zcodes = [tuple(codes_o[b[k]: b[k + 1]]) for k in range(n_z)]
    znoms = [tuple(noms_o[b[k]: b[k + 1]]) for k in range(n_z)]
    geoms = dissolve_groups(ua.geometry[w_idx], label, n_z)
    out = gpd.GeoDataFrame({
        "codes": zcodes, "noms": znoms, "n_units": np.bincount(label, minlength=n_z),
        "n_units_without_geometry": np.bincount(label, weights=(~has).astype(float), minlength=n_z).astype(int),
        "population": zpop.round().astype("int64"), "area_km2": zarea,
        "type": np.where(edge, EDGE, ENCLOSED), "inside_cpts": inside,
        "neighbour_cpts": neighbour_cpts, "neighbour_border_km": neighbour_km,
    }, geometry=gpd.GeoSeries(geoms, crs=ua.crs))
    out["_first"] = [c[0] for c in zcodes]
    out = out.sort_values(["population", "_first"], ascending=[False, True]).drop(columns="_first")
    out.insert(0, "zone_id", np.arange(1, n_z + 1))
    return out.reset_index(drop=True)


def _coverage_table(inc: Incidence) -> pd.DataFrame:
    """Share of population and of units covered, for the area, each department and region,
    with all CPTS, with the CPTS at each stage or a later one (« projet de santé validé ou plus avancé »…)
    and with CPTS at stage "ACI signé" only (when stages are known)."""
    names = inc.names
    filters = {ALL_STAGES: np.ones(len(names), dtype=bool)}
    stages = np.where(inc.cpts_in_area, inc.stages, None)  # the CPTS of the area
    if pd.notna(stages).any():
        # cumulative by stage: the CPTS at this stage or a later one (ranks of rules.STAGES)
        rank = np.array([STAGES.index(x) if x in STAGES else -1 for x in stages])
        for k, stage in enumerate(STAGES[:-1]):
            if k > 0 and (rank >= k).any():
                filters[f"{stage} ou plus avancé"] = rank >= k
        filters[ACI_ONLY] = stages == STAGE_ACI
    rows = []
    for fname, keep in filters.items():
        for level in ("zone", "reg", "dep"):
            t = inc.by_zone(level, keep)
            t.insert(0, "stages", fname)
            t.insert(0, "level", level)
            rows.append(t)
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
        "shared_units_outside_area": d.meta.get("shared_units_outside_area", {}),
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


def _population_notes(units: Units, mask: np.ndarray) -> list[dict]:
    """Units of ``mask`` whose population is not the legal population of POPULATION_YEAR,
    grouped by vintage: ``[{"population_source": ..., "codes": [...], "population": n}]``."""
    standard = f"populations légales {reference.POPULATION_YEAR}"
    src = units.population_source
    odd = np.flatnonzero(mask & pd.notna(src) & (src != standard))
    out = []
    for source in sorted(set(src[odd].tolist())):
        k = odd[src[odd] == source]
        out.append({"population_source": source, "codes": sorted(units.code[k].tolist()),
                    "population": int(np.nan_to_num(units.population[k]).sum())})
    return out
