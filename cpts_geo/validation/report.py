"""``validate_territory``: check a proposed CPTS territory before it goes to the ARS.

The existing listing is prepared once (:class:`~cpts_geo.validation.context.ExistingListing`,
cached for a file path), so one report costs a few tens of milliseconds: set arithmetic and
sparse-graph components over the proposal's units and their neighbours.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from cpts_geo import classification as cl
from cpts_geo import fr, reference, rules
from cpts_geo._checks import (
    expect_codes,
    expect_instance,
    expect_number,
    expect_path,
    expect_source,
    expect_text,
    expect_year,
)
from cpts_geo._version import __version__
from cpts_geo.codes import FIRST_COG_YEAR, normalise_codes
from cpts_geo.errors import InputError, NotFoundError, OptionError
from cpts_geo.indicators.apl_official import attach_apl, read_apl, require_official_apl
from cpts_geo.io.tables import check_file
from cpts_geo.members import arrondissement_cities
from cpts_geo.perimeters import dissolve_groups
from cpts_geo.validation import checks as ck
from cpts_geo.validation.context import ExistingListing, prepare_existing
from cpts_geo.validation.inputs import Proposal, read_proposal


@dataclass
class ValidationReport:
    """Result of :func:`validate_territory`.

    ``blocking``: at least one blocking check failed; ``checks``: list of
    :class:`~cpts_geo.validation.checks.Check`; ``figures``: population (municipale légale 2023,
    COG 2026), area (km², official projected CRS), density, ACI size band and margin, IGAS type,
    departments and regions, EPCI, profiles; ``units``: one row per commune of the territory;
    ``meta``: sources and vintages.
    """

    name: str
    checks: list
    figures: dict
    units: pd.DataFrame
    meta: dict
    _state: ck.State = field(repr=False)

    # --------------------------------------------------------------------------------------
    @property
    def blocking(self) -> bool:
        return any(c.blocks for c in self.checks)

    @property
    def codes(self) -> tuple[str, ...]:
        """COG 2026 codes of the units of the territory."""
        return tuple(self.units["code"])

    def check(self, check_id: str) -> ck.Check:
        """The check with this id; :class:`~cpts_geo.errors.NotFoundError` (a ``CptsGeoError`` and a
        ``KeyError``) naming the id and the checks of the report when it was not run."""
        for c in self.checks:
            if c.id == check_id:
                return c
        raise NotFoundError(check_id, "aucun contrôle de cet identifiant dans le rapport (contrôles : "
                                      + fr.enumeration([c.id for c in self.checks]) + ")")

    def __getitem__(self, check_id: str) -> ck.Check:
        return self.check(check_id)

    @property
    def geometry(self):
        """Outline of the territory (EPSG:4326), coverage union of its communes."""
        if "_geometry" not in self.meta:
            s = self._state
            geoms = dissolve_groups(s.cov.units.geometry.values[s.sel], np.zeros(len(s.sel), dtype=int), 1)
            self.meta["_geometry"] = geoms[0] if len(s.sel) else None
        return self.meta["_geometry"]

    @property
    def exit_code(self) -> int:
        """0 when nothing blocks, 1 when a check blocks (the CLI's exit code)."""
        return 1 if self.blocking else 0

    # --------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """Plain JSON-serialisable dictionary; ``rows`` holds the figures as the text report
        prints them (French label and value, e.g. « Type IGAS (selon la population seule) »), so
        that every page showing them (the app) says the same thing."""
        from cpts_geo.validation.render import figure_rows

        units = self.units.astype(object).where(self.units.notna(), None)
        return {
            "name": self.name,
            "blocking": self.blocking,
            "verdict": ck.verdict(self.checks),
            "figures": self.figures,
            "rows": [{"label": label, "value": value} for label, value in figure_rows(self)],
            "checks": [c.to_dict() for c in self.checks],
            "units": units.to_dict("records"),
            "meta": {k: v for k, v in self.meta.items() if not k.startswith("_")},
        }

    def to_json(self, path: str | Path | None = None, *, inputs: tuple[str | Path, ...] = ()) -> str:
        """JSON text of :meth:`to_dict` (UTF-8, French kept); written to ``path`` when given,
        complete or absent, never over one of ``inputs`` (the proposal's path…: the report
        records only file names)."""
        text = json.dumps(self.to_dict(), ensure_ascii=False, indent=2, default=_json_default)
        if path is not None:
            from cpts_geo.io.atomic import write_text

            write_text(path, text, inputs=inputs)  # complete or absent
        return text

    def to_markdown(self) -> str:
        """The report as Markdown (French)."""
        from cpts_geo.validation.render import markdown

        return markdown(self)

    def to_html(self, path: str | Path | None = None, *, inputs: tuple[str | Path, ...] = ()) -> str:
        """One self-contained HTML page (inline CSS, Leaflet and data; works offline) with the
        map of the territory and its neighbours, the figures and the checks. Written to ``path``
        when given (never over one of ``inputs``, see :meth:`to_json`); returns the HTML text."""
        from cpts_geo.validation.render import html_page

        text = html_page(self)
        if path is not None:
            from cpts_geo.io.atomic import write_text

            write_text(path, text, inputs=inputs)  # complete or absent
        return text

    def to_pdf(self, path: str | Path, timeout_s: float = 120.0, *, inputs: tuple[str | Path, ...] = ()) -> Path:
        """The HTML report printed to an A4 PDF by headless Chromium (Debian package
        ``chromium``): the map whole on page 1, figures and checks, then the communes.
        Raises :class:`cpts_geo.errors.OutputError` (French) when Chromium is missing or fails."""
        from cpts_geo.validation.render import print_pdf

        return print_pdf(self.to_html(), path, timeout_s=timeout_s, inputs=inputs)

    def text(self) -> str:
        """Short French summary for a terminal."""
        from cpts_geo.validation.render import text

        return text(self)

    def __str__(self) -> str:
        return self.text()

    # --------------------------------------------------------------------------------------
    def with_added(self, communes: list | tuple | str) -> ValidationReport:
        """The report of the territory with these communes (codes or names) added."""
        values = [communes] if isinstance(communes, str) else list(communes)
        p = self._state.proposal
        inputs = [*p.inputs, *[(v, None) for v in values]]
        return self._rerun(inputs)

    def with_removed(self, communes: list | tuple | str) -> ValidationReport:
        """The report of the territory without these communes (codes or names). Raises
        InputError naming any commune that is not in the territory."""
        values = [communes] if isinstance(communes, str) else list(communes)
        norm = normalise_codes(values)
        bad = norm[norm["code"].isna()]
        if len(bad):
            raise InputError(f"commune à retirer non reconnue ({bad['message'].iloc[0]})", "without()", None,
                             bad["input"].iloc[0])
        drop = set(norm["code"])
        missing = sorted(drop - set(self.codes) - set(self._state.proposal.members["code"]))
        if missing:
            absent = fr.plural(len(missing), "commune absente", with_number=False)
            raise OptionError("communes", ", ".join(missing), f"{absent} du territoire")
        p = self._state.proposal
        rep = p.report
        if p.kind == "polygone":
            inputs = [(c, d) for c, d in p.inputs if c not in drop]
        else:
            keep = ~rep["code"].isin(drop).to_numpy()
            inputs = [x for x, k in zip(p.inputs, keep, strict=True) if k]
        return self._rerun(inputs)

    def _rerun(self, inputs: list[tuple[object, object]]) -> ValidationReport:
        values = [v for v, _ in inputs]
        deps = [d for _, d in inputs]
        frame = pd.DataFrame({"cpts": self.name, "commune": pd.Series(values, dtype=object)})
        if any(d is not None and not pd.isna(d) for d in deps):
            frame["dep"] = pd.Series(deps, dtype=object)
        from cpts_geo.validation.inputs import _from_values

        prop = _from_values(values, deps if "dep" in frame else None, self.name, "variante", "liste", "position")
        return _validate(prop, self._state.listing, self._state.options)

    def diff(self, other: ValidationReport) -> dict:
        """What changes from this report to ``other``: added / removed communes, figures before and
        after, and checks whose level changed. ``lines`` holds the same in French."""
        a, b = set(self.codes), set(other.codes)
        keys = ("n_units", "population", "aci_band", "area_km2", "igas_type")
        figs = {k: (self.figures.get(k), other.figures.get(k)) for k in keys
                if self.figures.get(k) != other.figures.get(k)}
        before = {c.id: c.level for c in self.checks}
        after = {c.id: c.level for c in other.checks}
        changed = {k: (before.get(k), after.get(k)) for k in sorted(set(before) | set(after))
                   if before.get(k) != after.get(k)}
        names = reference.load_communes().set_index("code")["nom"]
        lines = []
        if b - a:
            lines.append("Communes ajoutées : " + ", ".join(f"{names.get(c, c)} ({c})" for c in sorted(b - a)))
        if a - b:
            lines.append("Communes retirées : " + ", ".join(f"{names.get(c, c)} ({c})" for c in sorted(a - b)))
        labels = {"n_units": "Communes", "population": f"Population {reference.POPULATION_YEAR}",
                  "aci_band": "Taille ACI", "area_km2": "Superficie (km²)", "igas_type": "Type IGAS"}
        for k, (x, y) in figs.items():
            fx = fr.integer(x) if isinstance(x, (int, float)) else x
            fy = fr.integer(y) if isinstance(y, (int, float)) else y
            lines.append(f"{labels[k]} : {fx} → {fy}")
        titles = {c.id: c.title for c in [*self.checks, *other.checks]}
        for k, (x, y) in changed.items():
            lines.append(f"{titles[k]} : {ck.LEVEL_LABELS.get(x, 'absente')} → {ck.LEVEL_LABELS.get(y, 'absente')}")
        return {"added": sorted(b - a), "removed": sorted(a - b), "figures": figs, "checks": changed,
                "lines": lines}


def _json_default(obj: object) -> object:
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return None if np.isnan(obj) else float(obj)
    if isinstance(obj, (np.ndarray, tuple, set, frozenset)):
        return list(obj)
    if isinstance(obj, (pd.Timestamp,)):
        return obj.isoformat()
    if obj is pd.NA or obj is pd.NaT:
        return None
    return str(obj)


# ------------------------------------------------------------------------------------------
# Options
# ------------------------------------------------------------------------------------------

_APL_CACHE: dict[tuple, pd.Series] = {}


def _apl_values(apl: object, apl_cog: int | None) -> pd.Series | None:
    """APL per COG 2026 unit (Series indexed by code) from a DREES file path, a frame of
    :func:`cpts_geo.read_apl` / :func:`cpts_geo.attach_apl`, or a Series indexed by code."""
    if apl is None:
        return None
    require_official_apl(apl, "apl")  # the computed estimate is not the DREES APL
    if isinstance(apl, pd.Series):
        return apl
    if isinstance(apl, (str, Path)):
        p = check_file(apl)
        key = (str(p.resolve()), p.stat().st_mtime_ns, apl_cog)
        if key not in _APL_CACHE:
            _APL_CACHE[key] = _apl_values(read_apl(p, cog=apl_cog), apl_cog)
        return _APL_CACHE[key]
    if isinstance(apl, pd.DataFrame):
        frame = apl if "apl_status" in apl.columns else attach_apl(apl, cog=apl_cog)
        s = frame.set_index("code")["apl"].astype(float)
        s.attrs = {k: v for k, v in frame.attrs.items()
                   if k in ("source", "apl_year", "cog", "label", "unit", "indicator")}
        s.attrs.setdefault("source", apl.attrs.get("source"))
        s.attrs.setdefault("apl_year", apl.attrs.get("apl_year"))
        return s
    raise TypeError("apl : attendu un chemin de fichier DREES, une table read_apl/attach_apl ou une série par code")


def _typology(t: object, kind: str, cog_year: int | None = None) -> pd.DataFrame | None:
    """A typology table of :func:`cpts_geo.read_irdes_typology`, or a commune-level file read
    with it (``cog_year``: COG vintage of its codes)."""
    if t is None or isinstance(t, pd.DataFrame) and "classe" in t.columns:
        return t
    if isinstance(t, (str, Path)):
        return cl.read_irdes_typology(t, kind, cog_year=cog_year)
    raise TypeError("typologie IRDES : attendu une table read_irdes_typology ou un fichier communal")


# ------------------------------------------------------------------------------------------
# Validation
# ------------------------------------------------------------------------------------------


def _check_arguments(proposal: object, existing: object, name: object, overlap: object,
                     replaces: object, departments: object, apl: object, apl_cog: object,
                     irdes: object, irdes2025: object, irdes_cog: object, threshold: object) -> None:
    """The types and ranges of the arguments of :func:`validate_territory`, at its entry."""
    import shapely

    if not isinstance(proposal, (Proposal, pd.DataFrame, shapely.Geometry, os.PathLike)):
        expect_codes(proposal, "proposal")
    if existing is not None and not isinstance(existing, (ExistingListing, pd.DataFrame)) \
            and not any(c.__name__ == "Diagnosis" for c in type(existing).__mro__):
        expect_path(existing, "existing")
    expect_text(name, "name", optional=True)
    expect_text(overlap, "overlap")
    if not isinstance(replaces, str):
        expect_instance(replaces, "replaces", (tuple, list, set, frozenset),
                        "un nom de CPTS ou une liste de noms")
        for r in replaces:
            expect_text(r, "replaces")
    expect_codes(departments, "departments", optional=True)
    if not isinstance(apl, pd.Series):  # a Series: its kind is checked by require_official_apl
        expect_source(apl, "apl", optional=True)
    for value, label in ((irdes, "irdes"), (irdes2025, "irdes2025")):
        expect_source(value, label, optional=True)
    expect_year(apl_cog, "apl_cog", first=FIRST_COG_YEAR, last=reference.COG_YEAR, optional=True)
    expect_year(irdes_cog, "irdes_cog", first=FIRST_COG_YEAR, last=reference.COG_YEAR, optional=True)
    expect_number(threshold, "threshold", minimum=0, maximum=1, strict=True)


def validate_territory(
    proposal: object,
    existing: object = None,
    *,
    name: str | None = None,
    overlap: str = "blocking",
    replaces: tuple[str, ...] | list[str] | str = (),
    departments: list[str] | None = None,
    apl: object = None,
    apl_cog: int | None = None,
    irdes: object = None,
    irdes2025: object = None,
    irdes_cog: int | None = None,
    threshold: float = 0.5,
) -> ValidationReport:
    """Check a proposed CPTS territory against the reference and the existing listing.

    - ``proposal``: list of codes or names, text "04013, 04016", a file in any members format
      (a one-column file of communes is enough; a file of several CPTS needs ``name``), or a
      drawn polygon (shapely geometry in EPSG:4326, GeoDataFrame or GIS file; communes with at
      least ``threshold`` of their area inside are included).
    - ``existing``: current listing (path in any members format, members frame,
      :class:`cpts_geo.Diagnosis`), or an :class:`ExistingListing` prepared once for many
      proposals. Its coverage is known for ``departments`` (default: those of its communes).
    - ``overlap``: severity of the overlap check, "blocking" (default) or "warning" / "info"
      where border sharing is tolerated. ``replaces``: existing CPTS the proposal replaces.
    - ``apl`` (+ ``apl_cog``): DREES APL file or table, for the APL profile; ``irdes`` /
      ``irdes2025``: IRDES typologies (:func:`cpts_geo.read_irdes_typology` tables; a
      commune-level file is read directly, ``irdes_cog`` giving the COG vintage of its codes).

    Raises :class:`cpts_geo.MembersError` when an input cannot be read.
    """
    _check_arguments(proposal, existing, name, overlap, replaces, departments, apl, apl_cog, irdes,
                     irdes2025, irdes_cog, threshold)
    sev = ck.parse_severity(overlap, "overlap")
    replaces = (replaces,) if isinstance(replaces, str) else tuple(replaces)
    listing = prepare_existing(existing, departments, replaces)
    prop = read_proposal(proposal, name, threshold)
    options = {"overlap": sev, "threshold": threshold, "apl": _apl_values(apl, apl_cog),
               "irdes": _typology(irdes, "irdes_tv_2019", irdes_cog),
               "irdes2025": _typology(irdes2025, "irdes_com_2025", irdes_cog)}
    return _validate(prop, listing, options)


def _validate(prop: Proposal, listing: ExistingListing, options: dict) -> ValidationReport:
    codes = prop.members["code"].dropna().astype(str)
    arr = frozenset(arrondissement_cities(codes) | arrondissement_cities(listing.members["code"]))
    if arr:
        codes = pd.Series(reference.plm_expand(codes.to_numpy(dtype=object), arr)["unit"].to_numpy(), dtype=object)
    cov = listing.coverage(arr)
    pos = cov.index.get_indexer(pd.Index(codes.unique()))
    sel = np.unique(pos[pos >= 0])
    state = ck.State(prop.name, prop, cov, sel, listing, options)
    state.figures = _figures(state)
    checks = ck.run_checks(state)  # the catalogue's order; adds the figures the checks give
    figures = state.figures
    units = _units_table(state)
    meta = {
        "cog": reference.COG_YEAR,
        "population_year": reference.POPULATION_YEAR,
        "population_kind": "municipale",
        "proposal_source": prop.source,
        "proposal_kind": prop.kind,
        "listing": listing.source,
        "listing_departments": sorted(listing.known_deps),
        "replaces": list(listing.replaces),
        "overlap_severity": options["overlap"],
        "sources": {k: reference.SOURCES[k] for k in ("communes", "population", "geometry", "epci", "dens7",
                                                      "cateaav2020")},
        "aci": cl.SOURCES["aci"], "aci_funding": rules.aci_funding_source(),
        "igas": rules.IGAS_SOURCE,
        "crs": rules.crs_summary(french=True),
        "cpts_geo_version": __version__,
    }
    if options.get("apl") is not None:
        meta["sources"]["apl"] = str(options["apl"].attrs.get("source"))
    return ValidationReport(prop.name, checks, figures, units, meta, state)


def _figures(state: ck.State) -> dict:
    cov, sel = state.cov, state.sel
    pop = state.population
    areas = cov.area[sel]
    area = float(np.nansum(areas)) if len(sel) and not np.isnan(areas).all() else float("nan")
    margin = cl.aci_margin([pop]).iloc[0]
    band = int(margin["aci_band"])
    funding = rules.aci_funding([band]).iloc[0] if band else pd.NA
    igas = cl.igas_type([pop]).iloc[0]
    deps = sorted(set(cov.dep[sel]))
    regs = sorted({r for r in cov.reg[sel] if isinstance(r, str)})
    return {
        "name": state.name,
        "n_units": len(sel),
        "population": int(round(pop)),
        "population_year": reference.POPULATION_YEAR,
        "cog": reference.COG_YEAR,
        "area_km2": None if np.isnan(area) else area,
        "density": pop / area if area > 0 else None,
        "departments": deps,
        "regions": regs,
        "aci_band": band,
        "aci_margin": None if pd.isna(margin["aci_margin"]) else int(margin["aci_margin"]),
        "aci_margin_text": margin["aci_margin_text"],
        "aci_funding_eur": None if pd.isna(funding) else int(funding),
        "igas_type": igas["igas_type"],
        "n_epci": int(pd.Series(cov.epci[sel]).nunique()),
        "n_parts": 1 if len(sel) else 0,  # replaced by the contiguity check when it counts parts
    }


def _units_table(state: ck.State) -> pd.DataFrame:
    cov, sel = state.cov, state.sel
    u = cov.units.iloc[sel]
    rep = state.proposal.report
    first = rep[rep["code"].notna()].drop_duplicates("code").set_index("code")
    codes = u["code"].to_numpy(dtype=object)
    white = cov.known[sel] & (cov.n_cpts[sel] == 0)
    return pd.DataFrame({
        "code": codes,
        "nom": u["nom"].to_numpy(dtype=object),
        "dep": u["dep"].to_numpy(dtype=object),
        "epci": u["epci"].to_numpy(dtype=object),
        "population": u["population"].astype("Int64").to_numpy(),
        "input": first["input"].reindex(codes).astype(object).to_numpy(),
        "status": first["status"].reindex(codes).astype(object).to_numpy(),
        "existing_cpts": [tuple(x) for x in cov.cpts_of[sel]],
        "white_zone": np.where(cov.known[sel], white, None),
    })


__all__ = ["ExistingListing", "ValidationReport", "validate_territory"]
