"""The checks of a proposed CPTS territory and their catalogue.

Each check is a pure function of a :class:`State` (the proposal's units as indices into the
units of France, the existing coverage of every unit, the adjacency graph) returning a
:class:`Check` with a stable ``id``, a ``severity`` (blocking / warning / info), ``passed`` (nothing
to flag), a French ``message`` and the unit codes concerned. Populations are populations
municipales légales 2023 on the COG 2026 geography.

:data:`CATALOGUE` declares every check once (id, French title, default severity, function, what
it says, figures it contributes): the report runs the checks in its order, takes its figures
from it, and the table of docs/validation.md is generated from it (:func:`catalogue_markdown`).
:data:`LEVELS` is the one severity vocabulary (French labels, marks, display order).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import numpy as np
import pandas as pd

from cpts_geo import classification as cl
from cpts_geo import fr, reference, rules, topology
from cpts_geo.codes import normalise_codes
from cpts_geo.errors import OptionError
from cpts_geo.indicators import apl_official
from cpts_geo.validation.context import Coverage, ExistingListing
from cpts_geo.validation.inputs import Proposal


@dataclass(frozen=True)
class Level:
    """A severity (``blocking``, ``warning``, ``info``) or the level ``ok`` of a passed check."""

    id: str
    label: str  # French label
    mark: str  # symbol shown before the label
    rank: int  # display order in reports
    aliases: tuple[str, ...] = ()  # other spellings accepted for an option (French)


#: the one vocabulary of severities and levels (display order: blocking, warning, ok, info)
LEVELS: dict[str, Level] = {lv.id: lv for lv in (
    Level("blocking", "Bloquant", "✗", 0, ("bloquant", "bloquante")),
    Level("warning", "Avertissement", "⚠", 1, ("avertissement", "attention")),
    Level("ok", "Conforme", "✓", 2),
    Level("info", "Information", "ℹ", 3, ("information",)),
)}
#: severities a check can have (``ok`` is only a level)
SEVERITIES: tuple[str, ...] = ("blocking", "warning", "info")
#: level → French label
LEVEL_LABELS: dict[str, str] = {k: lv.label for k, lv in LEVELS.items()}


def parse_severity(value: object, option: str = "overlap") -> str:
    """``"avertissement"`` → ``"warning"``: a severity given in English or French (any case).
    Raises :class:`~cpts_geo.errors.OptionError` naming the accepted values."""
    key = str(value).strip().lower()
    for sev in SEVERITIES:
        if key == sev or key in LEVELS[sev].aliases:
            return sev
    accepted = fr.enumeration([f"{s} ({LEVELS[s].label.lower()})" for s in SEVERITIES])
    raise OptionError(option, value, f"valeur inconnue ; valeurs possibles : {accepted}")


def verdict(checks: list[Check]) -> str:
    """One French sentence: blocking points, warnings, or nothing to report."""
    n_block = sum(c.blocks for c in checks)
    n_warn = sum(c.level == "warning" for c in checks)
    attention = ("point d'attention", "points d'attention")
    if n_block:
        return (f"{fr.plural(n_block, 'point bloquant')} à corriger avant l'envoi du dossier"
                + (f", et {fr.plural(n_warn, *attention)}." if n_warn else "."))
    if n_warn:
        return (f"Aucun point bloquant ; {fr.plural(n_warn, *attention)} à examiner ou à justifier "
                "dans le dossier.")
    return "Aucun point bloquant ni point d'attention."


@dataclass
class Check:
    """One check of a proposal. ``level`` is "ok" when a blocking or warning check passed."""

    id: str
    title: str
    severity: str
    passed: bool
    message: str
    units: tuple[str, ...] = ()
    details: dict = field(default_factory=dict)

    @property
    def level(self) -> str:
        if self.severity == "info":
            return "info"
        return "ok" if self.passed else self.severity

    @property
    def blocks(self) -> bool:
        return self.severity == "blocking" and not self.passed

    def to_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "severity": self.severity, "passed": self.passed,
                "level": self.level, "message": self.message, "units": list(self.units),
                "details": self.details}


@dataclass
class State:
    """Everything the checks read: the proposal, its units (``sel``: sorted indices into
    ``cov.units``), the existing coverage and the options."""

    name: str
    proposal: Proposal
    cov: Coverage
    sel: np.ndarray
    listing: ExistingListing
    options: dict
    figures: dict = field(default_factory=dict)

    @cached_property
    def in_p(self) -> np.ndarray:
        m = np.zeros(len(self.cov.units), dtype=bool)
        m[self.sel] = True
        return m

    @cached_property
    def codes(self) -> np.ndarray:
        return self.cov.codes

    @cached_property
    def noms(self) -> np.ndarray:
        return self.cov.noms

    @cached_property
    def population(self) -> float:
        return float(np.nansum(self.cov.population[self.sel]))


def _names(state: State, idx: np.ndarray, limit: int = 12) -> str:
    idx = np.asarray(idx)
    parts = [f"{state.noms[i]} ({state.codes[i]})" for i in idx[:limit]]
    more = len(idx) - limit
    if more > 0:
        return ", ".join(parts) + " et " + fr.plural(more, "autre")
    return fr.enumeration(parts)


def _verb(n: int, singular: str, plural_form: str) -> str:
    """The form agreed with ``n`` (French rule: singular below 2), without the number."""
    return fr.plural(n, singular, plural_form, with_number=False)


def _unit_rows(state: State, idx: np.ndarray) -> list[dict]:
    return [{"code": state.codes[i], "nom": state.noms[i], "dep": state.cov.dep[i],
             "population": None if np.isnan(state.cov.population[i]) else int(state.cov.population[i])}
            for i in np.asarray(idx)]


def _where(state: State, row: object) -> str:
    label = state.proposal.position_label
    return f"{label} {int(row)}" if row is not None and not pd.isna(row) else "polygone"


# ------------------------------------------------------------------------------------------
# Input checks
# ------------------------------------------------------------------------------------------


@lru_cache(maxsize=2048)
def _suggestions(value: str, dep: str | None) -> tuple:
    """Candidates (code, nom) that :func:`cpts_geo.normalise_codes` proposes for a refused value
    (cached: name look-ups scan every commune name, and what-if variants repeat them)."""
    n = normalise_codes([value], None if dep is None else [dep]).iloc[0]
    return tuple({"code": c["code"], "nom": c.get("nom")} for c in (n["candidates"] or []) if c.get("code"))


def check_unknown_codes(state: State) -> Check:
    rep = state.proposal.report
    bad = rep[rep["code"].isna() & rep["status"].isin(["unknown", "ambiguous"])]
    title = "Codes ou noms non reconnus"
    if bad.empty:
        return Check("unknown_codes", title, "blocking", True,
                     f"Toutes les communes données sont reconnues dans le COG {reference.COG_YEAR}.")
    items, lines = [], []
    for r in bad.itertuples():
        sugg = [dict(c) for c in _suggestions(str(r.input), None if pd.isna(r.dep) else str(r.dep))]
        items.append({"row": None if pd.isna(r.source_row) else int(r.source_row), "input": str(r.input),
                      "status": r.status, "message": r.message, "suggestions": sugg})
        lines.append(f"{_where(state, r.source_row)} « {r.input} » : {r.message}")
    return Check("unknown_codes", title, "blocking", False,
                 fr.plural(len(bad), "valeur") + " "
                 + _verb(len(bad), "ne désigne aucune commune identifiable et n'est pas comptée",
                         "ne désignent aucune commune identifiable et ne sont pas comptées") + " : "
                 + " ; ".join(lines) + ". Corriger ces valeurs avant l'envoi du dossier.",
                 (), {"values": items})


def check_obsolete_codes(state: State) -> Check:
    rep = state.proposal.report
    conv = rep[rep["status"] == "converted"]
    title = "Codes de communes anciennes"
    if conv.empty:
        return Check("obsolete_codes", title, "warning", True,
                     f"Aucun code ancien : tous les codes sont ceux du COG {reference.COG_YEAR}.")
    items = [{"row": None if pd.isna(r.source_row) else int(r.source_row), "input": str(r.input),
              "code": r.code, "nom": r.nom, "message": r.message} for r in conv.itertuples()]
    lines = [f"{_where(state, i['row'])} : {i['message']}" for i in items]
    return Check("obsolete_codes", title, "warning", False,
                 fr.plural(len(conv), "code d'une commune qui n'existe plus a été converti",
                           "codes de communes qui n'existent plus ont été convertis")
                 + f" au COG {reference.COG_YEAR} : " + " ; ".join(lines)
                 + ". Mettre à jour la liste avec les codes actuels.",
                 tuple(dict.fromkeys(conv["code"])), {"converted": items})


def check_interpreted(state: State) -> Check:
    rep = state.proposal.report
    kinds = ["name", "zero_padded", "arrondissement", "empty"]
    # a code read as an INSEE code that is also the postcode of other communes (cpts_geo.postcodes)
    doubt = rep["postcode_doubt"].fillna(False).astype(bool) if "postcode_doubt" in rep.columns else False
    hit = rep[rep["status"].isin(kinds) | doubt]
    flagged = doubt[hit.index].tolist() if isinstance(doubt, pd.Series) else [False] * len(hit)
    title = "Valeurs interprétées"
    if hit.empty:
        return Check("interpreted_inputs", title, "info", True, "Toutes les valeurs sont des codes INSEE à 5 caractères.")
    lines = [f"{_where(state, r.source_row)} : " + (r.message or "") for r in hit.itertuples()]
    return Check("interpreted_inputs", title, "info", False,
                 fr.plural(len(hit), "valeur interprétée") + " : " + " ; ".join(lines) + ".",
                 tuple(dict.fromkeys(hit["code"].dropna())),
                 {"values": [{"row": None if pd.isna(r.source_row) else int(r.source_row), "input": str(r.input),
                              "code": r.code, "status": r.status, "message": r.message,
                              "postcode_doubt": bool(d)}
                             for r, d in zip(hit.itertuples(), flagged, strict=True)]})


def check_duplicates(state: State) -> Check:
    rep = state.proposal.report
    dup = rep[rep["duplicate"].astype(bool)]
    title = "Doublons"
    if dup.empty:
        return Check("duplicates", title, "warning", True, "Aucune commune n'est donnée deux fois.")
    first = rep[~rep["duplicate"].astype(bool) & rep["code"].notna()].drop_duplicates("code").set_index("code")
    items, lines = [], []
    for r in dup.itertuples():
        f = first.loc[r.code] if r.code in first.index else None
        items.append({"row": None if pd.isna(r.source_row) else int(r.source_row), "input": str(r.input),
                      "code": r.code, "first_row": None if f is None else int(f["source_row"]),
                      "first_input": None if f is None else str(f["input"])})
        also = f" (déjà donnée {_where(state, f['source_row'])} sous la forme « {f['input']} »)" if f is not None else ""
        lines.append(f"{_where(state, r.source_row)} « {r.input} » → {r.code} {r.nom}{also}")
    return Check("duplicates", title, "warning", False,
                 fr.plural(len(dup), "commune donnée plusieurs fois, comptée une seule fois",
                           "communes données plusieurs fois, comptées une seule fois")
                 + " : " + " ; ".join(lines) + ".",
                 tuple(dict.fromkeys(dup["code"])), {"duplicates": items})


def check_not_empty(state: State) -> Check:
    title = "Territoire non vide"
    if len(state.sel):
        return Check("territory_empty", title, "blocking", True,
                     f"Le territoire compte {fr.plural(len(state.sel), 'commune reconnue')}.")
    return Check("territory_empty", title, "blocking", False,
                 "Aucune commune reconnue : le territoire proposé est vide.")


def check_cut_units(state: State) -> Check | None:
    cut = state.proposal.cut_units
    if cut is None:
        return None
    title = "Communes coupées par le polygone dessiné"
    thr = state.options.get("threshold", 0.5)
    # an invalid polygon repaired before reading (cpts_geo.members.repair_polygons): said first
    members = state.proposal.members
    names = set(members["cpts"].astype(str))
    repairs = [r for r in members.attrs.get("repairs") or [] if not names or r.get("cpts") in names]
    repaired = "".join(f"{r['message']}. " for r in repairs)
    if cut.empty:
        return Check("cut_units", title, "info", not repairs,
                     repaired + "Le polygone suit les limites communales : aucune commune n'est coupée.",
                     (), {"repairs": repairs} if repairs else {})
    lines = [f"{r.nom} ({r.code}) : {fr.percent(r.share, 0 if r.share >= 0.01 else 1)} de sa surface dans le polygone, "
             + ("incluse" if r.assigned else "exclue") for r in cut.itertuples()]
    return Check("cut_units", title, "info", False,
                 repaired + "Un territoire de CPTS se compose de communes entières. "
                 + fr.plural(len(cut), "commune est coupée", "communes sont coupées")
                 + f" par le polygone ; une commune est retenue quand au moins {fr.percent(thr, 0)} de sa surface "
                 "est à l'intérieur : " + " ; ".join(lines) + ".",
                 tuple(cut["code"]), {"cut": cut.to_dict("records"), "threshold": thr,
                                      **({"repairs": repairs} if repairs else {})})


# ------------------------------------------------------------------------------------------
# Existing CPTS: overlaps and white zones
# ------------------------------------------------------------------------------------------


def _unknown_scope(state: State) -> tuple[np.ndarray, str]:
    """Units of the proposal outside the departments the listing describes, and a sentence."""
    sel = state.sel
    out = sel[~state.cov.known[sel]]
    if not len(out):
        return out, ""
    deps = sorted(set(state.cov.dep[out]))
    return out, (f" La liste fournie ne décrit pas les CPTS {_verb(len(deps), 'du département', 'des départements')} "
                 f"{fr.enumeration(deps)} : {fr.plural(len(out), 'commune')} ({_names(state, out, 6)}) "
                 + _verb(len(out), "n'a pas pu être vérifiée", "n'ont pas pu être vérifiées")
                 + " ; se renseigner auprès de l'ARS concernée.")


def check_overlap(state: State) -> Check:
    title = "Chevauchement avec des CPTS existantes"
    severity = state.options.get("overlap", "blocking")
    if not state.listing.given:
        return Check("overlap", title, "info", True,
                     "Liste des CPTS existantes non fournie : les chevauchements n'ont pas été vérifiés.")
    sel = state.sel
    hit = sel[state.cov.n_cpts[sel] > 0]
    _, scope = _unknown_scope(state)
    if state.listing.replaces:
        n_rep = len(state.listing.replaces)
        scope += (f" {_verb(n_rep, 'CPTS remplacée', 'CPTS remplacées')} par le territoire, "
                  f"{_verb(n_rep, 'non comptée', 'non comptées')} comme chevauchement : "
                  f"{', '.join(state.listing.replaces)}.")
    if not len(hit):
        return Check("overlap", title, severity, True,
                     f"Aucune commune du territoire n'appartient à une CPTS de la liste {state.listing.source}."
                     + scope)
    rows = pd.DataFrame({"u": np.repeat(hit, [len(state.cov.cpts_of[i]) for i in hit]),
                         "cpts": [c for i in hit for c in state.cov.cpts_of[i]]})
    per = []
    for name, g in rows.groupby("cpts", sort=True):
        idx = g["u"].to_numpy()
        pop = float(np.nansum(state.cov.population[idx]))
        per.append({"cpts": name, "n_units": len(idx), "population": int(round(pop)),
                    "units": _unit_rows(state, idx)})
    per.sort(key=lambda d: (-d["population"], d["cpts"]))
    total = float(np.nansum(state.cov.population[hit]))
    lines = [f"{d['cpts']} : {fr.plural(d['n_units'], 'commune')}, {fr.integer(d['population'])} hab. "
             f"({', '.join(u['nom'] + ' (' + u['code'] + ')' for u in d['units'][:10])}"
             f"{' …' if d['n_units'] > 10 else ''})" for d in per]
    tolerated = " (toléré par l'option choisie)" if severity != "blocking" else ""
    return Check("overlap", title, severity, False,
                 f"{fr.plural(len(hit), 'commune')} du territoire, soit {fr.inhabitants(total)} "
                 f"({reference.POPULATION_YEAR}), {_verb(len(hit), 'appartient', 'appartiennent')} déjà "
                 f"à une CPTS existante{tolerated} : "
                 + " ; ".join(lines) + ". Une commune ne relève en principe que d'une seule CPTS : "
                 "retirer ces communes ou obtenir l'accord de la CPTS concernée et de l'ARS." + scope,
                 tuple(state.codes[hit]), {"by_cpts": per, "population": int(round(total))})


def check_contiguity(state: State) -> Check:
    """Parts of the territory (:func:`cpts_geo.topology.territory_parts`): a gap on land is a
    warning; parts joined only across the sea (island parts) are explained, not flagged."""
    title = "Continuité du territoire"
    sel = state.sel
    if len(sel) == 0:
        return Check("contiguity", title, "warning", True, "Territoire vide.")
    g = state.cov.graph
    found = topology.territory_parts(g, state.cov.component, np.zeros(len(sel), dtype=np.int64), sel, 1,
                                     state.cov.population)
    n_parts, n_islands = int(found.attrs["n_parts"][0]), int(found.attrs["n_islands"][0])
    if len(found) == 1:
        return Check("contiguity", title, "warning", True, "Le territoire est d'un seul tenant.")
    parts = [{"n_units": len(r.units), "population": int(round(r.population)), "island": bool(r.island),
              "separate": bool(r.separate), "units": _unit_rows(state, r.units)} for r in found.itertuples()]
    details = {"n_parts": n_parts, "n_islands": n_islands, "parts": parts}
    lines = []
    for i, p in enumerate(parts, start=1):
        names = ", ".join(f"{u['nom']} ({u['code']})" for u in p["units"][:8]) + (" …" if p["n_units"] > 8 else "")
        why = (" — partie insulaire, reliée au reste du territoire par la mer seulement : la discontinuité est "
               "géographique") if p["island"] and not p["separate"] else ""
        lines.append(f"partie {i} : {fr.plural(p['n_units'], 'commune')}, {fr.integer(p['population'])}\u202fhab. "
                     f"({names}){why}")
    if n_parts == 1:
        return Check("contiguity", title, "info", True,
                     f"Le territoire compte {len(parts)} parties, mais les parties séparées sont des îles : "
                     + " ; ".join(lines) + ".", (), details)
    return Check("contiguity", title, "warning", False,
                 f"Le territoire est en {n_parts} morceaux séparés par la terre : " + " ; ".join(lines)
                 + ". Un territoire d'un seul tenant est attendu : ajouter les communes qui relient ces "
                 "parties ou justifier la discontinuité.",
                 tuple(u["code"] for p in parts if p["separate"] for u in p["units"]), details)


def check_enclave(state: State) -> Check:
    """Enclaves of the territory on land adjacency (:func:`cpts_geo.topology.enclaves`)."""
    title = "Enclaves"
    sel = state.sel
    groups = topology.enclaves(state.cov.graph, state.cov.component, np.zeros(len(sel), dtype=np.int64),
                               sel, 1)[0]
    if not groups:
        return Check("enclave", title, "warning", True,
                     "Aucune commune n'est enfermée dans le territoire sans en faire partie.")
    items, lines, codes = [], [], []
    for idx in groups:
        cp = sorted({c for i in idx for c in state.cov.cpts_of[i]})
        border = bool(state.cov.border[idx].any())
        pop = int(round(float(np.nansum(state.cov.population[idx]))))
        status = ("rattachée à " + ", ".join(cp)) if cp else (
            "sans CPTS" if state.cov.known[idx].all() else "couverture inconnue (hors de la liste fournie)")
        items.append({"units": _unit_rows(state, idx), "population": pop, "cpts": cp, "coast_or_border": border})
        lines.append(f"{_names(state, idx)} — {fr.integer(pop)}\u202fhab., {status}"
                     + (" (adossée au littoral ou à la frontière)" if border else ""))
        codes.extend(state.codes[idx])
    return Check("enclave", title, "warning", False,
                 f"{fr.plural(len(groups), 'enclave')} : des communes sont entourées par le territoire sans en "
                 "faire partie : " + " ; ".join(lines) + ". Les inclure, ou expliquer pourquoi elles restent à part.",
                 tuple(codes), {"enclaves": items})


def _white_components(state: State, white: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(indices, zone label, edge flag per zone) of the white units ``white`` (bool mask): white
    zones of :func:`cpts_geo.topology.white_zones`, the analysed area being the departments whose
    coverage the listing describes."""
    return topology.white_zones(state.cov.graph, white, state.cov.known)


def check_white_zone_created(state: State) -> Check:
    title = "Zones blanches créées"
    cov, sel = state.cov, state.sel
    if not state.listing.given:
        return Check("white_zone_created", title, "info", True,
                     "Liste des CPTS existantes non fournie : les zones blanches n'ont pas été évaluées.")
    white0 = cov.known & (cov.n_cpts == 0)
    white1 = white0 & ~state.in_p
    w1, lab1, edge1 = _white_components(state, white1)
    w0, lab0, _ = _white_components(state, white0)
    if not len(w1) or not len(sel):
        return Check("white_zone_created", title, "warning", True,
                     "Le territoire n'isole aucune commune sans CPTS.")
    lab0_of = np.full(len(cov.units), -1)
    lab0_of[w0] = lab0
    size0 = np.bincount(lab0) if len(lab0) else np.array([])
    nb_p = np.unique(cov.graph[sel].indices)
    touching = np.unique(lab1[np.isin(w1, nb_p)])
    g = cov.graph
    items, codes, lines = [], [], []
    for lab in touching:
        idx = w1[lab1 == lab]
        nbrs = np.setdiff1d(np.unique(g[idx].indices), idx)
        if edge1[lab]:  # touches a department whose coverage is unknown
            continue
        if (white1[nbrs]).any():
            continue
        before = size0[lab0_of[idx[0]]] if lab0_of[idx[0]] >= 0 else 0
        if before <= len(idx):
            continue  # already cut off before the proposal
        pop = int(round(float(np.nansum(cov.population[idx]))))
        border = bool(cov.border[idx].any())
        around = sorted({c for i in nbrs for c in cov.cpts_of[i]})
        items.append({"units": _unit_rows(state, idx), "population": pop, "between": around,
                      "coast_or_border": border})
        codes.extend(cov.codes[idx])
        lines.append(f"{_names(state, idx)} ({fr.integer(pop)} hab.), "
                     + (f"{_verb(len(idx), 'coincée', 'coincées')} entre le territoire et {', '.join(around)}"
                        if around else f"{_verb(len(idx), 'entourée', 'entourées')} par le territoire")
                     + (" contre le littoral ou la frontière" if border else ""))
    if not items:
        return Check("white_zone_created", title, "warning", True,
                     "Le territoire n'isole aucune commune sans CPTS : les communes restantes sans CPTS "
                     "restent reliées entre elles.")
    return Check("white_zone_created", title, "warning", False,
                 "Le territoire laisserait "
                 + fr.plural(len(items), "groupe de communes sans CPTS isolé", "groupes de communes sans CPTS isolés")
                 + ", qu'aucune autre CPTS ne pourra facilement reprendre : " + " ; ".join(lines)
                 + ". Envisager de les inclure.", tuple(codes), {"zones": items})


def check_white_zone_absorbed(state: State) -> Check:
    title = "Zones blanches couvertes"
    cov, sel = state.cov, state.sel
    if not state.listing.given:
        return Check("white_zone_absorbed", title, "info", True,
                     "Liste des CPTS existantes non fournie : part de zone blanche non calculée.")
    white0 = cov.known & (cov.n_cpts == 0)
    total_pop = float(np.nansum(cov.population[white0]))
    absorbed = sel[white0[sel]]
    pop = float(np.nansum(cov.population[absorbed]))
    known = sorted(state.listing.known_deps)
    deps = _verb(len(known), "du département", "des départements") + " " + fr.enumeration(known)
    share = pop / total_pop if total_pop else float("nan")
    # the white zones the territory touches (connected on land): the denominator a reader expects
    # of « the share of the white zone it covers »
    w0, lab0, _ = _white_components(state, white0)
    touched = np.isin(lab0, np.unique(lab0[np.isin(w0, absorbed)])) if len(w0) else np.array([], dtype=bool)
    touched_pop = float(np.nansum(cov.population[w0[touched]])) if len(w0) else 0.0
    share_touched = pop / touched_pop if touched_pop else float("nan")
    details = {"white_units_before": int(white0.sum()), "white_population_before": int(round(total_pop)),
               "absorbed_units": len(absorbed), "absorbed_population": int(round(pop)),
               "absorbed_population_share": None if np.isnan(share) else share,
               "touched_white_units": int(touched.sum()), "touched_white_population": int(round(touched_pop)),
               "absorbed_share_of_touched": None if np.isnan(share_touched) else share_touched,
               "departments": sorted(state.listing.known_deps)}
    if not len(absorbed):
        msg = (f"Le territoire ne couvre aucune commune aujourd'hui sans CPTS (zone blanche {deps} : "
               f"{fr.plural(int(white0.sum()), 'commune')}, {fr.integer(total_pop)} hab.).")
        return Check("white_zone_absorbed", title, "info", True, msg, (), details)
    msg = (f"Le territoire couvre {fr.plural(len(absorbed), 'commune')} aujourd'hui sans CPTS, soit "
           f"{fr.integer(pop)} hab. : {fr.percent(share_touched)} de la zone blanche qu'il touche "
           f"({fr.plural(int(touched.sum()), 'commune')}, {fr.integer(touched_pop)} hab.) et "
           f"{fr.percent(share)} de la population en zone blanche {deps} "
           f"({fr.integer(total_pop)} hab. dans {fr.plural(int(white0.sum()), 'commune')} d'après la liste "
           f"{state.listing.source}).")
    return Check("white_zone_absorbed", title, "info", False, msg, tuple(state.codes[absorbed]), details)


# ------------------------------------------------------------------------------------------
# Administrative situation and size
# ------------------------------------------------------------------------------------------

#: departments whose health insurance fund is not a single CPAM named after the department
_CPAM_NOTES = {
    "59": "le Nord compte plusieurs CPAM (Lille-Douai, Roubaix-Tourcoing, Flandres, Hainaut)",
    "62": "le Pas-de-Calais compte deux CPAM (Artois, Côte d'Opale)",
    "971": "CGSS de la Guadeloupe", "972": "CGSS de la Martinique", "973": "CGSS de la Guyane",
    "974": "CGSS de La Réunion", "976": "Caisse de sécurité sociale de Mayotte",
}


def check_cross_border(state: State) -> Check:
    title = "Départements et régions concernés"
    sel = state.sel
    deps = pd.Series(state.cov.dep[sel]).value_counts()
    regs = pd.Series(state.cov.reg[sel]).value_counts()
    dep_names = reference.load_departements().set_index("code")["nom"]
    reg_names = reference.load_regions().set_index("code")["nom"]
    dep_list = [{"code": d, "nom": dep_names.get(d, d), "n_units": int(n)} for d, n in sorted(deps.items())]
    reg_list = [{"code": r, "nom": reg_names.get(r, r), "n_units": int(n)} for r, n in sorted(regs.items())]
    ars = [f"ARS de la région {r['nom']}" for r in reg_list]
    cpam = [f"caisse d'assurance maladie du département {d['code']} ({d['nom']})"
            + (f" — {_CPAM_NOTES[d['code']]}" if d["code"] in _CPAM_NOTES else "") for d in dep_list]
    details = {"departments": dep_list, "regions": reg_list, "ars": ars, "cpam": cpam}
    dtext = ", ".join(f"{d['nom']} ({d['code']}, {fr.plural(d['n_units'], 'commune')})" for d in dep_list)
    if len(reg_list) > 1:
        rtext = ", ".join(r["nom"] for r in reg_list)
        return Check("cross_border", title, "warning", False,
                     f"Le territoire s'étend sur {len(reg_list)} régions ({rtext}) et {len(dep_list)} départements "
                     f"({dtext}). Les ARS concernées ({' ; '.join(ars)}) et les caisses d'assurance maladie de "
                     f"chaque département ({' ; '.join(cpam)}) sont à associer dès le dépôt du projet.",
                     tuple(state.codes[sel][state.cov.reg[sel] != regs.index[0]]), details)
    if len(dep_list) > 1:
        return Check("cross_border", title, "info", False,
                     f"Le territoire s'étend sur {len(dep_list)} départements ({dtext}) d'une même région : "
                     f"interlocuteur {ars[0]} ; caisses d'assurance maladie à associer : {' ; '.join(cpam)}.",
                     (), details)
    if not dep_list:
        return Check("cross_border", title, "info", True, "Territoire vide.", (), details)
    return Check("cross_border", title, "info", True,
                 f"Territoire situé dans un seul département, {dtext} : interlocuteurs {ars[0]} et "
                 f"{cpam[0]}.", (), details)


def _other_vintages(state: State) -> dict[str, list[str]]:
    """Units of the territory whose population is not the legal population of POPULATION_YEAR
    (Mayotte: 2017 census; collectivités d'outre-mer: their own census), by vintage."""
    odd = _odd_vintages()
    out: dict[str, list[str]] = {}
    for c in np.asarray(state.codes)[state.sel]:
        if c in odd:
            out.setdefault(odd[c], []).append(str(c))
    return {k: sorted(out[k]) for k in sorted(out)}


@lru_cache(maxsize=1)
def _odd_vintages() -> dict[str, str]:
    """Unit code → population source, for the units whose population is not the legal
    population of POPULATION_YEAR (read once from the reference)."""
    src = reference.units()["population_source"]
    standard = f"populations légales {reference.POPULATION_YEAR}"
    odd = src[src.notna() & (src != standard)]
    return {str(c): str(v) for c, v in zip(odd.index, odd.to_numpy(), strict=True)}


def _equal_split(state: State) -> tuple[str, dict]:
    """Communes of the territory already in existing CPTS are counted whole: the sentence saying
    so and the ACI band with each of them divided equally between the territory and those CPTS
    (:mod:`cpts_geo.shares`), or ("", {}) when there is none."""
    if not state.listing.given:
        return "", {}
    sel = state.sel
    n = state.cov.n_cpts[sel]
    hit = sel[n > 0]
    if not len(hit):
        return "", {}
    pop = np.nan_to_num(state.cov.population[sel].astype(float))
    eq = float(np.sum(pop / (1 + n)))
    band = int(rules.aci_band([eq])[0])
    text = (f" {_names(state, hit)}, {_verb(len(hit), 'déjà listée', 'déjà listées')} par au moins une CPTS existante, "
            f"{_verb(len(hit), 'est comptée entière', 'sont comptées entières')} pour ce territoire (la ville entière "
            f"est comptée pour chaque CPTS) ; avec un partage égal entre ce territoire et ces CPTS : "
            f"{fr.inhabitants(round(eq))}, taille {band}.")
    return text, {"shared_units": [str(c) for c in state.codes[hit]], "population_equal_split": int(round(eq)),
                  "aci_band_equal_split": band}


def check_size_band(state: State) -> Check:
    figures = state.figures
    pop = state.population
    m = cl.aci_margin([pop]).iloc[0]
    band = int(m["aci_band"])
    shared_text, shared = _equal_split(state)
    return Check("size_band", "Taille ACI", "info", True,
                 f"Population municipale {reference.POPULATION_YEAR} (COG {reference.COG_YEAR}) : "
                 f"{fr.inhabitants(pop)}, soit la taille {band} de l'accord conventionnel interprofessionnel "
                 f"(ACI CPTS : {rules.aci_rule_text()}) ; marge : {m['aci_margin_text']}"
                 + (f" ; à moins de {fr.percent(0.01, 0)} d'un seuil : taille à confirmer avec la population retenue par la CPAM"
                    if bool(m["aci_near_threshold"]) else "") + "."
                 + "".join(f" Attention : {fr.plural(len(c), 'commune')} du territoire "
                           f"{'a' if len(c) < 2 else 'ont'} une population d'un autre millésime : {src}."
                           for src, c in _other_vintages(state).items()) + shared_text,
                 (), {**shared, "population": int(round(pop)), "population_year": reference.POPULATION_YEAR,
                      "population_other_vintages": _other_vintages(state),
                      "aci_band": band, "aci_margin": None if pd.isna(m["aci_margin"]) else int(m["aci_margin"]),
                      "aci_bound_nearest": None if pd.isna(m["aci_bound_nearest"]) else int(m["aci_bound_nearest"]),
                      "aci_near_threshold": bool(m["aci_near_threshold"]),
                      "funding_eur": figures.get("aci_funding_eur")})


def check_igas_range(state: State) -> Check:
    pop = state.population
    t = cl.igas_type([pop]).iloc[0]
    lo, hi = rules.IGAS_VIABLE
    detail = {"population": int(round(pop)), "igas_type": t["igas_type"], "range": [lo, hi],
              "source": rules.IGAS_SOURCE, "nature": "repère, ni règle ni verdict"}
    kind = (f"type de territoire repère « {t['igas_type']} » (annexe 1 du rapport, d'après la population "
            "seule)")
    if bool(t["igas_viable"]):
        # inside the range: information, not « Conforme » (a landmark gives no verdict)
        return Check("igas_range", "Taille repère IGAS", "info", True,
                     f"{fr.inhabitants(pop)} : dans la fourchette repère de {fr.integer(lo)} à "
                     f"{fr.inhabitants(hi)} du rapport IGAS n° 2018-041R (§ 2.2.2 : une CPTS "
                     f"{rules.IGAS_VIABLE_QUOTE}) ; {kind}. Un repère, pas une règle.", (), detail)
    return Check("igas_range", "Taille repère IGAS", "warning", False,
                 # the note of igas_type without its « population inférieure à … : » head
                 f"{fr.inhabitants(pop)} : {t['igas_warning'].split(' : ', 1)[-1]}.", (), detail)


@lru_cache(maxsize=1)
def _epci_names() -> dict[str, str]:
    """EPCI code → name (reference, read once)."""
    epci = reference.load_epci()
    return dict(zip(epci["epci"].tolist(), epci["nom"].tolist(), strict=True))


def check_epci_split(state: State) -> Check:
    title = "Intercommunalités (EPCI) partagées"
    epci_all = state.cov.epci
    mine = pd.Series(epci_all[state.sel]).dropna()
    if mine.empty:
        return Check("epci_split", title, "info", True, "Aucune commune rattachée à un EPCI.")
    counts = mine.value_counts()
    total = state.cov.epci_size.reindex(counts.index)
    names = _epci_names()
    items = []
    for e in sorted(counts.index):
        members = state.cov.epci_positions[e]
        outside = members[~state.in_p[members]]
        items.append({"epci": e, "nom": names.get(e, e), "included": int(counts[e]), "total": int(total[e]),
                      "outside": _unit_rows(state, outside)})
    partial = [i for i in items if i["included"] < i["total"]]
    full = [i for i in items if i["included"] == i["total"]]
    details = {"epci": items}
    if not partial:
        return Check("epci_split", title, "info", True,
                     f"Le territoire regroupe {fr.plural(len(full), 'EPCI entier')} : "
                     + ", ".join(i["nom"] for i in full) + ".", (), details)
    lines = [f"{i['nom']} : {fr.plural(i['included'], 'commune')} sur {fr.integer(i['total'])}" for i in partial]
    return Check("epci_split", title, "info", False,
                 f"{len(partial)} EPCI seulement en partie dans le territoire : " + " ; ".join(lines)
                 + (f" ; EPCI entiers : {', '.join(i['nom'] for i in full)}" if full else "")
                 + ". Cela se justifie souvent (bassins de vie), mais mérite d'être expliqué dans le dossier.",
                 tuple(o["code"] for i in partial for o in i["outside"]), details)


def check_units_without_geometry(state: State) -> Check | None:
    has = state.cov.has_geometry[state.sel]
    if has.all():
        return None
    idx = state.sel[~has]
    return Check("units_without_geometry", "Communes sans contour", "info", False,
                 fr.plural(len(idx), "commune") + " " + _verb(len(idx), "n'a", "n'ont")
                 + " pas de contour dans le référentiel (communes rétablies en 2025 "
                 f"ou collectivités d'outre-mer) : {_names(state, idx)}. Elles sont comptées en population et "
                 "reliées à la commune qui contient leur territoire.", tuple(state.codes[idx]))


# ------------------------------------------------------------------------------------------
# Profiles
# ------------------------------------------------------------------------------------------


def _territory(state: State) -> list[str]:
    """COG 2026 codes of the proposal's units, as the classification profiles take them."""
    return [str(c) for c in state.codes[state.sel]]


def check_density_profile(state: State) -> Check:
    # cl.density_profile(_territory(state)) on the unit arrays already at hand (same values)
    prof = cl.unit_density_profile(state.cov.population[state.sel], state.cov.dens7[state.sel])
    levels = {cl.DENS7_LABELS[k]: float(prof[f"dens7_{k}"]) for k in range(1, 8) if prof[f"dens7_{k}"] > 0}
    three = {cl.DENS3_LABELS[c]: float(prof[f"dens_{c}"]) for c in ("urbain_dense", "intermediaire", "rural")}
    text = ", ".join(f"{k} {fr.percent(v / 100, 0)}" for k, v in three.items())
    return Check("density_profile", "Profil de densité (INSEE)", "info", True,
                 f"Part de la population selon la grille communale de densité INSEE 2024 : {text} ; "
                 f"dominante : {prof['dens_dominant']}.", (),
                 {"dens3": three, "dens7": levels, "dominant": prof["dens_dominant"],
                  "source": cl.SOURCES["dens7"], "year": 2024})


def check_aav_profile(state: State) -> Check:
    # cl.aav_profile(_territory(state)) on the unit arrays already at hand (same values)
    prof = cl.unit_aav_profile(state.cov.population[state.sel], state.cov.cateaav[state.sel])
    three = {cl.AAV3_LABELS[c]: float(prof[f"aav_{c}"]) for c in ("pole", "couronne", "hors_attraction")}
    text = ", ".join(f"{k} {fr.percent(v / 100, 0)}" for k, v in three.items())
    return Check("aav_profile", "Aires d'attraction des villes (INSEE 2020)", "info", True,
                 f"Part de la population selon le zonage en aires d'attraction des villes 2020 : {text} ; "
                 f"dominante : {prof['aav_dominant']}.", (),
                 {"aav3": three, "dominant": prof["aav_dominant"], "source": cl.SOURCES["cateaav2020"], "year": 2020})


def check_apl_profile(state: State) -> Check:
    apl = state.options.get("apl")
    title = "Accessibilité aux médecins généralistes (APL)"
    if apl is None:
        return Check("apl_profile", title, "info", True,
                     "Indicateur APL non fourni : il peut être ajouté à partir du fichier APL aux médecins "
                     "généralistes publié par la DREES.")
    values = apl
    sel_codes = state.codes[state.sel]
    v = values.reindex(sel_codes).to_numpy(dtype=float)
    pop = state.cov.population[state.sel]
    ok = ~np.isnan(v) & ~np.isnan(pop)
    low = ok & (v < rules.APL_THRESHOLDS[0])
    total = float(pop[ok].sum())
    share_low = float(pop[low].sum()) / total if total else float("nan")
    mean = float((v[ok] * pop[ok]).sum() / total) if total else float("nan")
    missing = state.sel[~ok]
    attrs = apl.attrs
    # only the DREES APL reaches here (require_official_apl at every entry): its unit and the
    # zonage threshold of 2.5 apply to it, never to the estimate computed by cpts_geo
    unit = attrs.get("unit") or apl_official.UNIT
    src = attrs.get("source", "fichier APL de la DREES")
    year = attrs.get("apl_year")
    details = {"unit": unit, "apl_mean": None if np.isnan(mean) else mean, "population_share_below_2_5":
               None if np.isnan(share_low) else share_low, "units_below_2_5": list(state.codes[state.sel][low]),
               "missing": list(state.codes[missing]), "source": src, "year": year,
               "weights": f"population municipale {reference.POPULATION_YEAR}"}
    miss = (f" ; {fr.plural(len(missing), 'commune')} sans valeur dans le fichier : {_names(state, missing, 6)}"
            if len(missing) else "")
    msg = (f"APL moyen pondéré par la population : {fr.number(mean, 1)} {unit}"
           + f" ; {fr.percent(share_low)} de la population vit dans une "
           f"commune où l'APL est inférieur à {fr.number(rules.APL_THRESHOLDS[0], 1)} (source : {src}"
           + (f", {year}" if year else "") + f"){miss}.")
    return Check("apl_profile", title, "info", not bool(low.any()), msg,
                 tuple(state.codes[state.sel][low]), details)


def check_irdes_profile(state: State, typology: pd.DataFrame, key: str) -> Check:
    prof = cl.irdes_profile(_territory(state), typology).iloc[0]
    prefix = "irdes25" if typology.attrs.get("typology") == "irdes_com_2025" else "irdes"
    label = prof[f"{prefix}_label"]
    share = prof[f"{prefix}_share"]
    title = typology.attrs.get("title") or "Typologie IRDES"
    return Check(key, title, "info", True,
                 f"Classe dominante : {label} ({fr.percent(share / 100, 0)} de la population)"
                 + f" ; source : {title}.", (),
                 {"class": None if pd.isna(prof[f'{prefix}_class']) else int(prof[f'{prefix}_class']),
                  "label": label, "share": None if pd.isna(share) else float(share),
                  "unclassified_share": float(prof[f"{prefix}_unclassified"])})


# ------------------------------------------------------------------------------------------
# Catalogue
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckSpec:
    """Declaration of one check: the report runs :data:`CATALOGUE` in order."""

    id: str
    #: French title (for the IRDES profiles, the title of the typology given replaces it)
    title: str
    #: default severity (a check may lower it, as ``severity_note`` says)
    severity: str
    function: Callable[[State], Check | None]
    #: what the check says, in English (docs/validation.md)
    doc: str
    severity_note: str = ""
    #: run only when the territory has at least one recognised commune
    needs_units: bool = False
    #: run only when this option (``state.options``) is given
    option: str | None = None
    #: figures of the report taken from the check's details: (figure key, details key), set
    #: when the details hold that key
    figures: tuple[tuple[str, str], ...] = ()


def _irdes_check(key: str, option: str) -> Callable[[State], Check]:
    def run(state: State) -> Check:
        return check_irdes_profile(state, state.options[option], key)

    return run


#: every check, in report order
CATALOGUE: tuple[CheckSpec, ...] = (
    CheckSpec("territory_empty", "Territoire non vide", "blocking", check_not_empty,
              "no commune recognised at all"),
    CheckSpec("unknown_codes", "Codes ou noms non reconnus", "blocking", check_unknown_codes,
              "values that are no commune (unknown code, unknown or ambiguous name, split commune), "
              "with row and suggestions"),
    CheckSpec("obsolete_codes", "Codes de communes anciennes", "warning", check_obsolete_codes,
              f"codes of communes that no longer exist, converted to COG {reference.COG_YEAR} (date of the change)"),
    CheckSpec("duplicates", "Doublons", "warning", check_duplicates,
              "communes given twice (also an old and a new code of the same commune)"),
    CheckSpec("interpreted_inputs", "Valeurs interprétées", "info", check_interpreted,
              "names, lost leading zeros, arrondissements, empty cells"),
    CheckSpec("cut_units", "Communes coupées par le polygone dessiné", "info", check_cut_units,
              "drawn polygon: communes cut by the outline and whether they were kept"),
    CheckSpec("overlap", "Chevauchement avec des CPTS existantes", "blocking", check_overlap,
              "communes already in an existing CPTS: which CPTS, which communes, how many inhabitants",
              "configurable with `overlap=`; info without listing"),
    CheckSpec("contiguity", "Continuité du territoire", "warning", check_contiguity,
              "parts separated by land, each with its communes (cpts_geo.topology); parts reached only "
              "across the sea (island parts) are named and only informative",
              "info when the other parts are island parts",
              figures=(("n_parts", "n_parts"),)),
    CheckSpec("enclave", "Enclaves", "warning", check_enclave,
              "communes outside the territory that it cuts off on land from the rest of their land mass "
              "(their CPTS, or none), on the coast or against a border too (cpts_geo.topology)"),
    CheckSpec("white_zone_created", "Zones blanches créées", "warning", check_white_zone_created,
              "communes without CPTS that the territory would strand between itself and existing CPTS "
              "(they were connected to other uncovered communes before)", "info without listing"),
    CheckSpec("white_zone_absorbed", "Zones blanches couvertes", "info", check_white_zone_absorbed,
              "communes without CPTS the territory covers, and their share of the white zones it "
              "touches and of the white-zone population of the listing's departments (each share names "
              "its area)",
              figures=(("white_population_absorbed", "absorbed_population"),
                       ("white_population_share_absorbed", "absorbed_population_share"),
                       ("white_population_share_of_touched", "absorbed_share_of_touched"),
                       ("white_zone_departments", "departments"))),
    CheckSpec("cross_border", "Départements et régions concernés", "info", check_cross_border,
              "departments and regions crossed; ARS of each region and health insurance fund of each "
              "department to involve", "warning when several regions"),
    CheckSpec("size_band", "Taille ACI", "info", check_size_band,
              f"population municipale {reference.POPULATION_YEAR}, ACI size band and margin to the nearest "
              "boundary, funding of the band", needs_units=True),
    CheckSpec("igas_range", "Taille repère IGAS", "warning", check_igas_range,
              "outside the 20,000–100,000 inhabitants landmark of IGAS report 2018-041R, §2.2.2 "
              "(a landmark to examine, never a rule)", "info inside the range: a landmark gives no "
              "« Conforme »",
              needs_units=True),
    CheckSpec("epci_split", "Intercommunalités (EPCI) partagées", "info", check_epci_split,
              "EPCI only partly included, with their communes left outside", needs_units=True),
    CheckSpec("units_without_geometry", "Communes sans contour", "info", check_units_without_geometry,
              "communes without outline in the reference (restored in 2025, overseas collectivities)",
              needs_units=True),
    CheckSpec("density_profile", "Profil de densité (INSEE)", "info", check_density_profile,
              "INSEE density grid 2024 profile (population shares)", needs_units=True,
              figures=(("dens_dominant", "dominant"),)),
    CheckSpec("aav_profile", "Aires d'attraction des villes (INSEE 2020)", "info", check_aav_profile,
              "INSEE AAV 2020 profile (population shares)", needs_units=True,
              figures=(("aav_dominant", "dominant"),)),
    CheckSpec("apl_profile", "Accessibilité aux médecins généralistes (APL)", "info", check_apl_profile,
              "with an APL file: population-weighted APL and share of the population in communes with "
              "APL < 2.5", needs_units=True,
              figures=(("apl_mean", "apl_mean"), ("apl_population_share_below_2_5", "population_share_below_2_5"))),
    CheckSpec("irdes_profile", "Typologie IRDES", "info", _irdes_check("irdes_profile", "irdes"),
              "with the IRDES typology of territoires de vie-santé (`irdes=`): dominant class and its share",
              needs_units=True, option="irdes"),
    CheckSpec("irdes2025_profile", "Typologie IRDES", "info", _irdes_check("irdes2025_profile", "irdes2025"),
              "with the IRDES 2025 commune typology (`irdes2025=`): dominant class and its share",
              needs_units=True, option="irdes2025"),
)

#: check id → its declaration
CHECKS: dict[str, CheckSpec] = {spec.id: spec for spec in CATALOGUE}


def run_checks(state: State) -> list[Check]:
    """Run the checks of :data:`CATALOGUE` that apply, in order, adding the figures they give
    to ``state.figures``."""
    out = []
    for spec in CATALOGUE:
        if spec.needs_units and not len(state.sel):
            continue
        if spec.option is not None and state.options.get(spec.option) is None:
            continue
        c = spec.function(state)
        if c is None:
            continue
        if c.id != spec.id or c.severity not in SEVERITIES:
            raise RuntimeError(f"check {spec.id}: returned id {c.id!r}, severity {c.severity!r}")
        out.append(c)
        state.figures.update({fig: c.details[key] for fig, key in spec.figures if key in c.details})
    return out


def catalogue_markdown() -> str:
    """The table of checks of docs/validation.md (Markdown), generated from :data:`CATALOGUE`."""
    rows = ["| id | title | severity | what it says | figures |", "|---|---|---|---|---|"]
    for spec in CATALOGUE:
        sev = spec.severity + (f" ({spec.severity_note})" if spec.severity_note else "")
        figs = ", ".join(f"`{fig}`" for fig, _ in spec.figures)
        rows.append(f"| `{spec.id}` | {spec.title} | {sev} | {spec.doc} | {figs} |")
    return "\n".join(rows) + "\n"
