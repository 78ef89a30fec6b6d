"""Rendering of a validation report: terminal text, Markdown and a self-contained HTML page.

The HTML page inlines its CSS, the vendored Leaflet 1.9.4 of :mod:`cpts_geo.maps` (CSS images
as data URIs) and the map data, so it opens offline and can be sent by e-mail as one file.
Geometries are simplified with :func:`shapely.coverage_simplify` in the official projected CRS
of their zone (tolerance in metres), so neighbouring communes still meet exactly.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cpts_geo import fr, reference, rules
from cpts_geo.errors import OutputError
from cpts_geo.io.html_safe import JS_ESCAPE, script_json, script_safe, with_csp
from cpts_geo.io.html_safe import escape as _esc
from cpts_geo.maps import leaflet_assets, simplify_units
from cpts_geo.perimeters import dissolve_groups
from cpts_geo.validation.checks import LEVEL_LABELS, LEVELS, verdict

if TYPE_CHECKING:
    from cpts_geo.validation.report import ValidationReport

#: level → mark shown before its label
LEVEL_MARK = {k: lv.mark for k, lv in LEVELS.items()}


def _fig_rows(r: ValidationReport) -> list[tuple[str, str]]:
    f = r.figures
    dep_names = reference.load_departements().set_index("code")["nom"]
    reg_names = reference.load_regions().set_index("code")["nom"]
    rows = [
        ("Communes", fr.integer(f["n_units"])),
        (f"Population municipale {f['population_year']}", f"{fr.integer(f['population'])} habitants"),
        ("Superficie", fr.km2(f["area_km2"]) if f.get("area_km2") is not None else "n.d. (commune sans contour)"),
        ("Densité", f"{fr.integer(f['density'])} hab./km²" if f.get("density") else "n.d."),
        ("Taille ACI", f"Taille {f['aci_band']} — {f['aci_margin_text']}" if f["aci_band"] else "n.d."),
    ]
    if f.get("aci_funding_eur"):
        rows.append(("Financement ACI du fonctionnement",
                     f"{fr.euros(f['aci_funding_eur'])} par an selon la taille "
                     f"({rules.aci_funding_source(short=True)})"))
    rows += [
        ("Type IGAS (selon la population seule)", _igas_text(f.get("igas_type"))),
        ("Départements", ", ".join(f"{dep_names.get(d, d)} ({d})" for d in f["departments"]) or "—"),
        ("Régions", ", ".join(reg_names.get(x, x) for x in f["regions"]) or "—"),
        ("Intercommunalités (EPCI)", fr.integer(f.get("n_epci"))),
        ("Morceaux", fr.integer(f.get("n_parts"))),
    ]
    if f.get("dens_dominant"):
        rows.append(("Densité dominante (INSEE 2024)", f["dens_dominant"]))
    if f.get("aav_dominant"):
        rows.append(("Aire d'attraction des villes (INSEE 2020)", f["aav_dominant"]))
    if f.get("white_population_absorbed") is not None:
        # each share names the area its denominator covers
        deps = f.get("white_zone_departments") or []
        parts = []
        if f.get("white_population_share_of_touched") is not None:
            parts.append(f"{fr.percent(f['white_population_share_of_touched'])} de la zone blanche qu'elle touche")
        if f.get("white_population_share_absorbed") is not None:
            parts.append(f"{fr.percent(f['white_population_share_absorbed'])} de celle "
                         + (f"{'du département' if len(deps) == 1 else 'des départements'} {fr.enumeration(deps)}"
                            if deps else "de la zone analysée"))
        rows.append(("Habitants aujourd'hui sans CPTS couverts",
                     f"{fr.integer(f['white_population_absorbed'])}" + (f" ({' ; '.join(parts)})" if parts else "")))
    if f.get("apl_mean") is not None:
        rows.append(("APL médecins généralistes (moyenne)", fr.number(f["apl_mean"], 1)))
        rows.append((f"Population en commune d'{rules.APL_FLAG_LABELS[0]}", fr.percent(f.get("apl_population_share_below_2_5"))))
    return rows


def _igas_text(kind: str | None) -> str:
    """IGAS 2018 type with its population bounds: the density does not enter this type."""
    if not kind:
        return "n.d."
    lo, hi = rules.IGAS_BOUNDS
    rng = {rules.IGAS_LABELS[0]: f"moins de {fr.inhabitants(lo)}",
           rules.IGAS_LABELS[1]: f"de {fr.integer(lo)} à {fr.inhabitants(hi)}",
           rules.IGAS_LABELS[2]: f"plus de {fr.inhabitants(hi)}"}.get(kind)
    return (f"{kind} ({rng} ; repère du rapport IGAS n° 2018-041R, annexe 1, selon la population seule, "
            "la densité n'y entre pas)" if rng else f"{kind} (repère IGAS selon la population seule)")


def verdict_text(report: ValidationReport) -> str:
    """One French sentence: blocking points, warnings, or nothing to report
    (:func:`~cpts_geo.validation.checks.verdict`)."""
    return verdict(report.checks)


def _sorted_checks(r: ValidationReport) -> list:
    return sorted(r.checks, key=lambda c: LEVELS[c.level].rank)


def sorted_checks(r: ValidationReport) -> list:
    """The checks of ``r`` in display order: blocking first, then warnings, passed, information
    (:data:`~cpts_geo.validation.checks.LEVELS` ranks) — the order of every report and export."""
    return _sorted_checks(r)


def figure_rows(r: ValidationReport) -> list[tuple[str, str]]:
    """The report's figures as (French label, French value) rows, in the order the text, HTML and
    PDF reports print them; also in :meth:`ValidationReport.to_dict` (``rows``) for the app."""
    return _fig_rows(r)


def text(r: ValidationReport) -> str:
    """French summary for a terminal: verdict, figures, then every check."""
    lines = [f"Vérification du territoire « {r.name} »",
             f"Référentiel : COG {r.meta['cog']}, populations légales {r.meta['population_year']} (municipale)"
             + (f" ; CPTS existantes : {r.meta['listing']}" if r.meta.get("listing") else
                " ; aucune liste de CPTS existantes fournie"),
             ("BLOQUANT — " if r.blocking else "OK — ") + verdict(r.checks), ""]
    width = max(len(k) for k, _ in _fig_rows(r))
    lines += [f"  {k.ljust(width)} : {v}" for k, v in _fig_rows(r)]
    lines.append("")
    for c in _sorted_checks(r):
        lines.append(f"[{LEVEL_LABELS[c.level].upper()}] {c.title} ({c.id}) : {c.message}")
    return "\n".join(lines)


def _md(text: object) -> str:
    """A user string for Markdown: ``&``, ``<`` and ``>`` as entities (a Markdown viewer renders
    raw HTML), ``|`` escaped and line breaks as spaces (one table cell)."""
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("|", "\\|").replace("\n", " "))


def markdown(r: ValidationReport) -> str:
    """The report as Markdown (French); user strings through :func:`_md`."""
    out = [f"# Vérification du territoire « {_md(r.name)} »", "",
           f"**{'Bloquant' if r.blocking else 'Aucun point bloquant'}** — {verdict(r.checks)}", "",
           "## Chiffres clés", "", "| Indicateur | Valeur |", "|---|---|"]
    out += [f"| {k} | {v} |" for k, v in _fig_rows(r)]
    out += ["", "## Vérifications", "", "| | Vérification | Résultat |", "|---|---|---|"]
    for c in _sorted_checks(r):
        msg = _md(c.message)
        out.append(f"| {LEVEL_MARK[c.level]} {LEVEL_LABELS[c.level]} | {c.title} (`{c.id}`) | {msg} |")
    out += ["", "## Communes du territoire", "", "| Code | Commune | Dép. | Population | CPTS existante |",
            "|---|---|---|---|---|"]
    for u in r.units.itertuples():
        out.append(f"| {_md(u.code)} | {_md(u.nom)} | {_md(u.dep)} | {fr.integer(u.population)} | "
                   f"{_md(', '.join(u.existing_cpts)) if u.existing_cpts else '—'} |")
    out += ["", "## Sources", ""] + [f"- {_md(s)}" for s in _sources(r)]
    return "\n".join(out) + "\n"


def _sources(r: ValidationReport) -> list[str]:
    m = r.meta
    out = [f"Géographie : code officiel géographique (COG) INSEE {m['cog']} ; population municipale légale "
           f"{m['population_year']} (INSEE).",
           "Contours des communes : IGN ADMIN EXPRESS (Licence Ouverte).",
           "Densité : INSEE, grille communale de densité à 7 niveaux 2024 ; aires d'attraction des villes : "
           "INSEE, zonage 2020.",
           f"Tailles ACI : {_aci_texts()} ; repères de taille : {m['igas']}.",
           f"Liste des CPTS existantes : {m['listing'] or 'non fournie'}"
           + (f" (départements {', '.join(m['listing_departments'])})" if m.get("listing_departments") else "") + ".",
           f"Territoire proposé : {m['proposal_source']}."]
    if "apl" in m["sources"]:
        out.append(f"APL : {m['sources']['apl']}.")
    out.append(f"Rapport produit par cpts_geo {m['cpts_geo_version']}.")
    return out


#: names of the headless Chromium executable, in the order tried
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium_path() -> str | None:
    """Path of a Chromium executable on the PATH (Debian package ``chromium``), or None."""
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


def print_pdf(page: str, path: str | Path, timeout_s: float = 120.0, *, inputs: tuple[str | Path, ...] = ()) -> Path:
    """Print an HTML page (text) to the PDF ``path`` with headless Chromium (A4, the page's print
    stylesheet, no header or footer added by the browser); returns the path, never one of
    ``inputs`` (:func:`cpts_geo.io.atomic.output_file`).

    Raises :class:`~cpts_geo.errors.OutputError` in French when Chromium is not installed or fails.
    """
    path = Path(path)
    exe = chromium_path()
    if exe is None:
        raise OutputError(str(path), "Chromium introuvable : le PDF est imprimé par Chromium sans "
                          "interface ; l'installer (Debian/Ubuntu : apt-get install chromium) ou écrire "
                          "le rapport HTML (--html) et l'imprimer depuis un navigateur")
    from cpts_geo.io.atomic import output_file

    # printed beside ``path`` then renamed: a failed or interrupted print leaves no partial PDF
    with output_file(path, inputs) as out, tempfile.TemporaryDirectory(prefix="cpts-geo-pdf-") as tmp:
        src = Path(tmp) / "rapport.html"
        src.write_text(page, encoding="utf-8")
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--no-first-run", "--disable-background-networking", "--disable-component-update",
               f"--user-data-dir={Path(tmp) / 'profile'}", "--no-pdf-header-footer",
               "--run-all-compositor-stages-before-draw", "--virtual-time-budget=5000",
               f"--print-to-pdf={out.resolve()}", src.as_uri()]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired as exc:
            raise OutputError(str(path), f"Chromium n'a pas imprimé le rapport en {timeout_s:.0f} s") from exc
        if done.returncode != 0 or not out.exists() or out.stat().st_size == 0:
            last = (done.stderr or "").strip().splitlines()[-1:] or ["sans message"]
            raise OutputError(str(path), f"Chromium n'a pas pu imprimer le rapport en PDF (code "
                              f"{done.returncode} : {last[0]})")
    return path


def _aci_texts() -> str:
    """The texts behind the ACI bands and the funding amount shown (not the parameter file)."""
    bands = rules.aci_funding_version("2019")["text"]
    out = f"accord conventionnel interprofessionnel CPTS du 20 juin 2019 ({bands})"
    return out + f" ; financement du fonctionnement : {rules.aci_funding_source()}"


# ------------------------------------------------------------------------------------------
# HTML
# ------------------------------------------------------------------------------------------


def _collection(geoms: list | np.ndarray, props: list[dict]) -> str:
    """GeoJSON FeatureCollection text of geometries and their properties (empty ones skipped)."""
    geoms = np.asarray(geoms, dtype=object)
    ok = ~shapely.is_missing(geoms)
    ok[ok] = ~shapely.is_empty(geoms[ok])
    texts = np.full(len(geoms), None, dtype=object)
    if ok.any():
        texts[ok] = shapely.to_geojson(geoms[ok])
    feats = [f'{{"type":"Feature","properties":{script_json(p)},"geometry":{t}}}'
             for t, p in zip(texts, props, strict=True) if t is not None]
    return '{"type":"FeatureCollection","features":[' + ",".join(feats) + "]}"


def _view_units(r: ValidationReport, margin: float, max_units: int) -> tuple[np.ndarray, tuple]:
    """Units drawn on the map: those meeting the territory's extent enlarged by ``margin``, or,
    when they exceed ``max_units``, the territory and three rings of neighbours."""
    s = r._state
    geoms = s.cov.units.geometry.values
    b = shapely.bounds(geoms[s.sel])
    minx, miny = np.nanmin(b[:, 0]), np.nanmin(b[:, 1])
    maxx, maxy = np.nanmax(b[:, 2]), np.nanmax(b[:, 3])
    dx, dy = (maxx - minx) * margin + 0.05, (maxy - miny) * margin + 0.05
    has = s.cov.has_geometry
    near = np.flatnonzero(shapely.intersects(geoms, shapely.box(minx - dx, miny - dy, maxx + dx, maxy + dy)) & has)
    if len(near) > max_units:
        ring = s.in_p.astype(np.int8)
        for _ in range(3):
            ring = ((s.cov.graph @ ring) > 0).astype(np.int8) | ring
        near = np.flatnonzero(ring.astype(bool) & has)
    near = np.union1d(near, s.sel[has[s.sel]])
    return near, (minx, miny, maxx, maxy)


def map_data(r: ValidationReport, margin: float = 0.25, max_units: int = 2000) -> dict:
    """Layers of the report map as GeoJSON texts: the communes around the territory coloured by
    status (territory, overlap, enclave, stranded, white zone, existing CPTS, unknown coverage),
    the territory's outline, the existing CPTS and the department boundaries, within the
    territory's extent enlarged by ``margin`` (at most ``max_units`` communes, else three rings
    of neighbours)."""
    s = r._state
    cov = s.cov
    if not len(s.sel) or not cov.has_geometry[s.sel].any():
        return {"layers": {}, "bounds": None, "statuses": [], "dep_labels": []}
    near, (minx, miny, maxx, maxy) = _view_units(r, margin, max_units)
    fx, fy = (maxx - minx) * 0.12 + 0.015, (maxy - miny) * 0.12 + 0.01  # shown around the territory
    tol = 60.0 if (maxx - minx) < 1.5 else 150.0
    near_units = gpd.GeoDataFrame({"dep": cov.dep[near]}, geometry=cov.units.geometry.values[near], crs=4326)
    simp_arr = simplify_units(near_units, tol)[0].geometry.reindex(near_units.index).to_numpy()
    simp = dict(zip(near, simp_arr, strict=True))
    in_p = s.in_p
    codes, noms = s.codes, s.noms
    pop = cov.population
    flags = {c.id: set(c.units) for c in r.checks if not c.passed}
    overl = flags.get("overlap", set())
    enclave = flags.get("enclave", set())
    created = flags.get("white_zone_created", set())

    def status_of(i: int) -> str:
        c = codes[i]
        if not s.listing.given:
            return "proposal_nolist" if in_p[i] else ("enclave" if c in enclave else "neighbour")
        if in_p[i]:
            if c in overl:
                return "overlap"
            if cov.known[i] and cov.n_cpts[i] == 0:
                return "white_absorbed"
            if not cov.known[i]:
                return "proposal_unknown"
            return "proposal"
        if c in enclave:
            return "enclave"
        if c in created:
            return "created"
        if cov.known[i] and cov.n_cpts[i] == 0:
            return "white"
        if not cov.known[i]:
            return "unknown"
        return "covered"

    def tip(i: int) -> str:
        cp = cov.cpts_of[i]
        where = ("CPTS : " + ", ".join(cp)) if cp else ("aucune CPTS" if cov.known[i] else "hors de la liste fournie")
        return (f"<b>{_esc(noms[i])}</b> ({_esc(codes[i])})<br>{fr.integer(pop[i])} hab. "
                f"({reference.POPULATION_YEAR})<br>{_esc(where)}"
                + ("<br><i>dans le territoire proposé</i>" if in_p[i] else ""))

    statuses = [status_of(i) for i in near]
    communes = _collection(simp_arr, [{"code": codes[i], "st": st, "tt": tip(i), "in": bool(in_p[i])}
                                      for i, st in zip(near, statuses, strict=True)])
    # the territory's outline
    mine = np.array([simp[i] for i in s.sel if i in simp], dtype=object)
    outline = dissolve_groups(mine, np.zeros(len(mine), dtype=int), 1)
    territoire = _collection(outline, [{"tt": f"<b>{_esc(r.name)}</b><br>"
                                              f"{fr.integer(r.figures['population'])} hab."}])
    # existing CPTS in view, dissolved from the simplified communes drawn
    rows = [(i, n) for i in near for n in cov.cpts_of[i]]
    if rows:
        df = pd.DataFrame(rows, columns=["i", "n"])
        names, grp = np.unique(df["n"].to_numpy(dtype=object), return_inverse=True)
        dg = dissolve_groups(np.array([simp[i] for i in df["i"]], dtype=object), grp, len(names))
        # a permanent label at a point inside the part of each CPTS that is in view
        view = shapely.box(minx - fx, miny - fy, maxx + fx, maxy + fy)
        in_view = shapely.intersection(dg, view)
        in_view = np.where(shapely.is_empty(in_view), dg, in_view)
        lab_pts = shapely.point_on_surface(in_view)
        cpts = _collection(dg, [{"cpts": str(n), "lat": round(float(shapely.get_y(p)), 5),
                                 "lon": round(float(shapely.get_x(p)), 5),
                                 "area": float(shapely.area(g))}
                                for n, p, g in zip(names, lab_pts, in_view, strict=True)])
    else:
        cpts = _collection([], [])
    # department boundaries: shared edges between the departments of the units in view
    dnames, dgrp = np.unique(cov.dep[near].astype(str), return_inverse=True)
    dgeoms = dissolve_groups(simp_arr, dgrp, len(dnames))
    bnd = shapely.boundary(dgeoms)
    lines, lprops = [], []
    for a in range(len(dnames)):
        for b2 in range(a + 1, len(dnames)):
            if shapely.intersects(dgeoms[a], dgeoms[b2]):
                ln = shapely.line_merge(shapely.intersection(bnd[a], bnd[b2]))
                if not ln.is_empty:
                    lines.append(ln)
                    lprops.append({"deps": f"{dnames[a]} / {dnames[b2]}"})
    labels = []
    for n, g in zip(dnames, dgeoms, strict=True):
        if g is not None:
            p = shapely.point_on_surface(g)
            labels.append({"dep": str(n), "lat": round(p.y, 5), "lon": round(p.x, 5)})
    return {
        "layers": {"communes": communes, "territoire": territoire, "cpts": cpts,
                   "departements": _collection(lines, lprops)},
        "statuses": sorted(set(statuses)),
        "dep_labels": labels,
        "bounds": [[float(miny - fy), float(minx - fx)], [float(maxy + fy), float(maxx + fx)]],
        "tolerance_m": tol,
    }


#: map colours and French legend labels of the commune statuses
STATUS_STYLE = {
    "proposal": ("#2c7fb8", "Territoire proposé"),
    "white_absorbed": ("#41ab5d", "Territoire proposé — commune aujourd'hui sans CPTS"),
    "overlap": ("#d7301f", "Territoire proposé — déjà dans une CPTS (chevauchement)"),
    "proposal_unknown": ("#756bb1", "Territoire proposé — couverture inconnue (hors de la liste fournie)"),
    "unknown": ("#dadaeb", "Couverture inconnue (hors de la liste fournie)"),
    "enclave": ("#fd8d3c", "Enclave (entourée par le territoire)"),
    "created": ("#fed976", "Commune sans CPTS isolée par le territoire"),
    "white": ("#ffffff", "Commune sans CPTS (zone blanche)"),
    "proposal_nolist": ("#2c7fb8", "Territoire proposé (CPTS existantes non fournies)"),
    "neighbour": ("#e5e7eb", "Commune voisine"),
    "covered": ("#d9d9d9", "Commune d'une CPTS existante"),
}


def html_page(r: ValidationReport) -> str:
    """The self-contained HTML report (French)."""
    js, css = leaflet_assets()
    data = map_data(r)
    e = _esc
    fig_rows = "\n".join(f"<tr><th scope='row'>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in _fig_rows(r))
    checks_html = []
    for c in _sorted_checks(r):
        checks_html.append(
            f"<li class='check {c.level}' id='check-{e(c.id)}' data-id='{e(c.id)}' data-level='{c.level}'>"
            f"<span class='badge'>{LEVEL_MARK[c.level]} {e(LEVEL_LABELS[c.level])}</span>"
            f"<div><h3>{e(c.title)}</h3><p>{e(c.message)}</p></div></li>")
    unit_rows = []
    for u in r.units.itertuples():
        cp = ", ".join(u.existing_cpts) if u.existing_cpts else (
            "aucune" if u.white_zone is not None else ("inconnue" if r.meta["listing"] else "—"))
        note = "" if u.status in ("current", None) or pd.isna(u.status) else f" <small>(donné : {e(str(u.input))})</small>"
        unit_rows.append(f"<tr><td>{e(u.code)}</td><td>{e(u.nom)}{note}</td><td>{e(u.dep)}</td>"
                         f"<td class='num'>{fr.integer(u.population)}</td><td>{e(cp)}</td></tr>")
    present = set(data["statuses"])
    legend = "".join(f"<div class='lg'><span style='background:{col}'></span>{e(lab)}</div>"
                     for key, (col, lab) in STATUS_STYLE.items() if key in present)
    sources = "".join(f"<li>{e(s)}</li>" for s in _sources(r))
    layers = ",".join(f'"{k}":{v}' for k, v in data["layers"].items())
    rest = json.dumps({"dep_labels": data["dep_labels"], "bounds": data["bounds"]}, ensure_ascii=False)
    payload = script_safe('{"map":{"layers":{' + layers + "}," + rest[1:] + ',"styles":'
                          + json.dumps({k: v[0] for k, v in STATUS_STYLE.items()}) + "}")
    verdict_cls = "bad" if r.blocking else ("warn" if any(c.level == "warning" for c in r.checks) else "good")
    credits = (f"Contours IGN ADMIN EXPRESS (Licence Ouverte) · INSEE, COG {r.meta['cog']}, populations légales "
               f"{r.meta['population_year']} · CPTS existantes : {r.meta['listing'] or 'liste non fournie'} · "
               f"cpts_geo {r.meta['cpts_geo_version']}")
    return with_csp(_TEMPLATE.format(
        title=e(f"Vérification du territoire « {r.name} »"), name=e(r.name), leaflet_css=css, leaflet_js=js,
        verdict_cls=verdict_cls, verdict_head=_VERDICT_HEAD[verdict_cls], verdict=e(verdict(r.checks).removeprefix("Aucun point bloquant ; ").capitalize()), figures=fig_rows, checks="\n".join(checks_html),
        units="\n".join(unit_rows), n_units=len(r.units), legend=legend, sources=sources, payload=payload,
        credits=script_json(credits), pop_year=e(r.meta["population_year"]),
        listing=e(r.meta["listing"] or "aucune liste fournie"), cog=e(r.meta["cog"]), escape_js=JS_ESCAPE,
    ))


_VERDICT_HEAD = {"bad": "À corriger avant l'envoi du dossier", "warn": "Aucun point bloquant, mais des points d'attention",
                 "good": "Rien à signaler"}

_TEMPLATE = """<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{leaflet_css}</style>
<style>
body {{ font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328;
  margin: 0; background: #f6f7f9; }}
main {{ max-width: 1100px; margin: 0 auto; padding: 18px 22px 40px; background: #fff; }}
h1 {{ font-size: 24px; margin: 4px 0 2px; }}
h2 {{ font-size: 19px; margin: 28px 0 10px; border-bottom: 2px solid #e1e4e8; padding-bottom: 4px; }}
h3 {{ font-size: 15px; margin: 0 0 3px; }}
.sub {{ color: #57606a; margin: 0 0 14px; }}
.verdict {{ border-radius: 8px; padding: 12px 16px; font-size: 16px; margin: 10px 0 6px; }}
.verdict strong {{ display: block; font-size: 19px; }}
.verdict.good {{ background: #dafbe1; border-left: 6px solid #1a7f37; }}
.verdict.warn {{ background: #fff8c5; border-left: 6px solid #bf8700; }}
.verdict.bad {{ background: #ffebe9; border-left: 6px solid #cf222e; }}
.help {{ color: #57606a; font-size: 13px; }}
table {{ border-collapse: collapse; width: 100%; }}
table.figures th {{ text-align: left; font-weight: 600; width: 42%; }}
th, td {{ border-bottom: 1px solid #e1e4e8; padding: 5px 8px; vertical-align: top; }}
td.num {{ text-align: right; white-space: nowrap; }}
#map {{ height: 560px; border: 1px solid #d0d7de; border-radius: 6px; background: #eef0f2; }}
.legend {{ display: flex; flex-wrap: wrap; gap: 4px 16px; font-size: 13px; margin: 8px 0; }}
.lg span {{ display: inline-block; width: 16px; height: 12px; border: 1px solid #555; margin-right: 5px;
  vertical-align: -1px; }}
.lg.outline span {{ border: 3px solid #08306b; background: transparent; }}
.lg.cpts span {{ border: 2px dashed #6e7781; background: transparent; }}
.lg.dep span {{ border: 0; border-top: 3px solid #000; height: 0; }}
ul.checks {{ list-style: none; padding: 0; margin: 0; }}
li.check {{ display: flex; gap: 12px; padding: 10px 12px; margin: 8px 0; border-radius: 6px;
  border: 1px solid #e1e4e8; }}
li.check p {{ margin: 0; }}
.badge {{ flex: none; width: 128px; font-weight: 600; font-size: 13px; }}
li.blocking {{ background: #ffebe9; border-color: #ff8182; }} li.blocking .badge {{ color: #cf222e; }}
li.warning {{ background: #fff8c5; border-color: #d4a72c; }} li.warning .badge {{ color: #9a6700; }}
li.ok .badge {{ color: #1a7f37; }} li.info .badge {{ color: #0969da; }}
.dep-label {{ font: 600 12px system-ui, sans-serif; color: #000; background: rgba(255,255,255,.7);
  border: 0; box-shadow: none; padding: 0 3px; }}
footer {{ color: #57606a; font-size: 12px; margin-top: 28px; }}
.cpts-label {{ font: 600 11px/1.15 system-ui, sans-serif; color: #333; background: rgba(255,255,255,.8);
  border: 0; box-shadow: none; padding: 0 3px; white-space: normal; width: max-content; max-width: 150px;
  text-align: center; }}
.cpts-label::before {{ display: none; }}
/* print: A4, the map whole on page 1, no map controls, one page break between sections */
@page {{ size: A4 portrait; margin: 12mm 11mm 12mm 11mm; }}
@media print {{
  body {{ background: #fff; font-size: 10.5pt; }}
  main {{ max-width: none; padding: 0; }}
  h1 {{ font-size: 17pt; }} h2 {{ font-size: 13pt; margin: 10px 0 6px; }}
  .verdict {{ padding: 6px 10px; margin: 4px 0; font-size: 10.5pt; }} .verdict strong {{ font-size: 12pt; }}
  #map {{ width: 186mm; height: 150mm; border-radius: 0; break-inside: avoid; }}
  .leaflet-control-zoom, .leaflet-control-attribution a {{ display: none !important; }}
  .legend {{ font-size: 8.5pt; margin: 4px 0; }}
  .help {{ display: none; }}
  #sheet-map {{ break-inside: avoid; }}
  /* page 1 is the map; then the sections follow one another: a page never ends on a few cards
     of checks with blank below while the next section waits for a new page */
  #sheet-figures {{ break-before: page; }}
  h2 {{ break-after: avoid; }}
  table.figures {{ font-size: 8.5pt; line-height: 1.25; }}
  ul.checks {{ columns: 2; column-gap: 5mm; font-size: 8pt; line-height: 1.25; }}
  li.check {{ break-inside: avoid; padding: 2px 5px; margin: 0 0 2px; display: block; }}
  li.check h3 {{ font-size: 8.5pt; margin: 0; }} li.check .badge {{ width: auto; font-size: 7.5pt; }}
  th, td {{ padding: 1px 5px; }}
  #units {{ font-size: 8pt; line-height: 1.2; }}
  #units tr {{ break-inside: avoid; }}
  footer {{ font-size: 7.5pt; margin-top: 8px; }} footer ul {{ margin: 0; padding-left: 14px; }}
}}
</style>
</head>
<body>
<main>
<h1>{title}</h1>
<p class="sub">Rapport de pré-vérification avant dépôt auprès de l'ARS · COG {cog} · population municipale {pop_year} ·
CPTS existantes : {listing}</p>
<div class="verdict {verdict_cls}" id="verdict"><strong>{verdict_head}</strong>{verdict}</div>
<section id="sheet-map">
<h2>Carte du territoire et de ses voisins</h2>
<div id="map" role="img" aria-label="Carte du territoire proposé"></div>
<div class="legend" id="legend">
<div class="lg outline"><span></span>Contour du territoire proposé</div>
<div class="lg cpts"><span></span>CPTS existante (nom sur la carte)</div>
<div class="lg dep"><span></span>Limite de département</div>
{legend}
</div>
</section>
<p class="help">Comment lire ce rapport : chaque vérification est marquée <b>✗ Bloquant</b> (à corriger avant
l'envoi), <b>⚠ Avertissement</b> (à examiner ou à justifier dans le dossier), <b>✓ Conforme</b> ou
<b>ℹ Information</b>. La carte montre le territoire proposé et ses voisins ; survoler une commune pour voir
son nom, sa population et sa CPTS.</p>

<section class="sheet" id="sheet-figures">
<h2>Chiffres clés</h2>
<table class="figures" id="figures">
{figures}
</table>

<h2>Vérifications</h2>
<ul class="checks" id="checks">
{checks}
</ul>
</section>

<section class="sheet" id="sheet-units">
<h2>Communes du territoire ({n_units})</h2>
<table id="units">
<thead><tr><th>Code INSEE</th><th>Commune</th><th>Dép.</th><th class="num">Population {pop_year}</th>
<th>CPTS existante</th></tr></thead>
<tbody>
{units}
</tbody>
</table>

<footer>
<h2>Sources</h2>
<ul>{sources}</ul>
</footer>
</section>
</main>
<script>{leaflet_js}</script>
<script>
(function() {{
  {escape_js}
  var data = {payload};
  var m = data.map;
  var map = L.map('map', {{zoomSnap: 0.25, attributionControl: true}});
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution(cgEscape({credits}));
  var layers = {{}}, cptsLabels = [];
  function tt(f, l) {{ if (f.properties.tt) l.bindTooltip(f.properties.tt, {{sticky: true}}); }}
  if (m.layers.communes) {{
    layers.communes = L.geoJSON(m.layers.communes, {{
      style: function(f) {{ var st = f.properties.st;
        return {{color: f.properties.in ? '#08306b' : '#8c959f', weight: f.properties.in ? 0.8 : 0.5,
                fillColor: data.styles[st], fillOpacity: f.properties.in ? 0.7 : 0.55}}; }},
      onEachFeature: tt}}).addTo(map);
    layers.cpts = L.geoJSON(m.layers.cpts, {{interactive: false,
      style: {{color: '#6e7781', weight: 2, dashArray: '6 4', fill: false}}}}).addTo(map);
    layers.departements = L.geoJSON(m.layers.departements, {{interactive: false,
      style: {{color: '#000', weight: 2.5}}}}).addTo(map);
    layers.territoire = L.geoJSON(m.layers.territoire, {{interactive: false,
      style: {{color: '#08306b', weight: 3.5, fill: false}}}}).addTo(map);
    // names of the existing CPTS, permanent (they must survive printing); a label overlapping
    // one already shown (larger CPTS first) is dropped, its CPTS keeps its name on hover
    var cptsFeats = (m.layers.cpts.features || []).slice().sort(function(a, b) {{
      return b.properties.area - a.properties.area; }});
    cptsFeats.forEach(function(f) {{
      cptsLabels.push(L.tooltip({{permanent: true, direction: 'center', className: 'cpts-label',
        interactive: false}}).setLatLng([f.properties.lat, f.properties.lon])
        .setContent(cgEscape(f.properties.cpts)).addTo(map)); }});
    // a name is written on its point, else above, below, beside, at a corner, or pushed back
    // inside the map: never cut by the map's edge; with no free place it is dropped
    var SPOTS = [[0, 0], [0, -1], [0, 1], [1, 0], [-1, 0], [1, -1], [-1, -1], [1, 1], [-1, 1],
    [0, -2], [0, 2], [2, 0], [-2, 0], [2, -2], [-2, -2], [2, 2], [-2, 2]];
    function declutter() {{
      var frame = map.getContainer().getBoundingClientRect(), kept = [];
      function free(r) {{
        return r.left >= frame.left + 2 && r.right <= frame.right - 2 && r.top >= frame.top + 2 &&
          r.bottom <= frame.bottom - 2 && !kept.some(function(k) {{ return !(r.right <= k.left ||
          r.left >= k.right || r.bottom <= k.top || r.top >= k.bottom); }});
      }}
      cptsLabels.forEach(function(t) {{
        var el = t.getElement(); if (!el) return;
        el.style.visibility = 'visible'; el.style.marginLeft = '0px'; el.style.marginTop = '0px';
        var r = el.getBoundingClientRect(), spot = null, i, dx, dy, c;
        var cands = SPOTS.map(function(o) {{ return [o[0] * (r.width / 2 + 3), o[1] * (r.height / 2 + 2)]; }});
        // pushed back inside the frame by the width it overflows
        cands.push([Math.max(0, frame.left + 3 - r.left) - Math.max(0, r.right - frame.right + 3),
                    Math.max(0, frame.top + 3 - r.top) - Math.max(0, r.bottom - frame.bottom + 3)]);
        for (i = 0; r.width > 0 && i < cands.length && !spot; i++) {{
          dx = cands[i][0]; dy = cands[i][1];
          c = {{left: r.left + dx, right: r.right + dx, top: r.top + dy, bottom: r.bottom + dy}};
          if (free(c)) spot = [dx, dy, c];
        }}
        if (!spot) {{ el.style.visibility = 'hidden'; return; }}
        el.style.marginLeft = spot[0] + 'px'; el.style.marginTop = spot[1] + 'px'; kept.push(spot[2]);
      }});
      window.cptsGeoReportLabels = {{shown: kept.length, total: cptsLabels.length}};
    }}
    map.on('zoomend moveend resize', declutter);
    (m.dep_labels || []).forEach(function(d) {{
      L.tooltip({{permanent: true, direction: 'center', className: 'dep-label', interactive: false}})
        .setLatLng([d.lat, d.lon]).setContent(cgEscape('Dép. ' + d.dep)).addTo(map); }});
    map.fitBounds(m.bounds, {{padding: [12, 12]}});
    declutter();
    // printing resizes the map: fit it again so the territory stays whole on paper
    var refit = function() {{ map.invalidateSize({{animate: false}});
      map.fitBounds(m.bounds, {{padding: [8, 8], animate: false}}); declutter(); }};
    window.addEventListener('beforeprint', refit);
    if (window.matchMedia) {{ window.matchMedia('print').addListener(function(q) {{ if (q.matches) refit(); }}); }}
  }} else {{
    map.setView([46.6, 2.4], 5);
  }}
  L.control.scale({{imperial: false}}).addTo(map);
  window.cptsGeoReport = {{map: map, layers: layers, cptsLabels: cptsLabels}};
}})();
</script>
</body>
</html>
"""
