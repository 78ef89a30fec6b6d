"""INSEE commune codes across COG years: normalisation of listings and conversion of tables.

A listing written years ago, or edited in Excel, carries codes of merged communes, codes that lost
their leading zero, postal codes and names. :func:`normalise_codes` accounts for every input:
each one ends up kept, converted to its COG 2026 code, or refused with a reason and suggestions.
:func:`convert_table` moves a numeric table between COG years like the R package COGugaison
(sum on fusions, split by share of population on défusions).
"""

from __future__ import annotations

import datetime as _dt
import difflib
import functools
import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from cpts_geo import fr, names, reference
from cpts_geo._checks import expect_bool, expect_codes, expect_frame, expect_text, expect_year, fail
from cpts_geo.errors import InputError, OptionError
from cpts_geo.io.tables import INSEE_CODE_RE, cell_text, clean_codes

STATUSES = (
    "current",
    "arrondissement",
    "zero_padded",
    "converted",
    "ambiguous",
    "name",
    "unknown",
    "empty",
)

#: French label of each status, for what a person reads (workbook, terminal)
STATUS_LABELS: dict[str, str] = {
    "current": "code en vigueur", "arrondissement": "arrondissement municipal",
    "zero_padded": "code complété (zéro initial perdu)", "converted": "code converti",
    "ambiguous": "ambigu (refusé)", "name": "nom reconnu", "unknown": "inconnu (refusé)",
    "empty": "vide (refusé)",
}

_CODE_RE = INSEE_CODE_RE  # the one definition lives with the table reader


# ------------------------------------------------------------------------------------------
# Composition of the passage tables
# ------------------------------------------------------------------------------------------


def transition(
    from_year: int, to_year: int = reference.COG_YEAR, steps: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Mapping of every code that changed between two COG years.

    Returns a frame (origin, code, ratio, kinds): ``origin`` is a code valid on 1 January of
    ``from_year``, ``code`` a code valid in ``to_year`` and ``ratio`` the population share of
    the origin that went to it (1 for fusions and changes of code). Codes absent from the frame
    did not change.
    """
    from_year, to_year = _check_years(from_year, to_year)
    expect_frame(steps, "steps", columns=("cog_from", "cog_to", "code_old", "code_new", "ratio", "kind"),
                 optional=True)
    if steps is None:
        return _transition_cached(from_year, to_year).copy()
    return _transition(from_year, to_year, steps)


def _check_years(from_year: object, to_year: object) -> tuple[int, int]:
    """``from_year`` and ``to_year``: years of the embedded code history, in order."""
    first, last = FIRST_COG_YEAR, reference.COG_YEAR
    from_year = expect_year(from_year, "from_year", first=first, last=last)
    to_year = expect_year(to_year, "to_year", first=first, last=last)
    if to_year < from_year:
        fail("to_year", to_year, f"année antérieure à from_year ({from_year}) : les codes ne "
                                 "se convertissent que vers un COG plus récent")
    return from_year, to_year


@functools.cache
def _transition_cached(from_year: int, to_year: int) -> pd.DataFrame:
    return _transition(from_year, to_year, reference.load_steps())


def _transition(from_year: int, to_year: int, steps: pd.DataFrame) -> pd.DataFrame:
    sel = steps[(steps["cog_from"] >= from_year) & (steps["cog_to"] <= to_year)]
    mapping = pd.DataFrame({"origin": [], "code": [], "ratio": [], "kinds": []}).astype(
        {"origin": object, "code": object, "ratio": float, "kinds": object}
    )
    for _, step in sel.groupby(["cog_from", "cog_to"], sort=True):
        st = step[["code_old", "code_new", "ratio", "kind"]]
        moved = mapping.merge(st, left_on="code", right_on="code_old", how="left")
        hit = moved["code_old"].notna()
        moved.loc[hit, "code"] = moved.loc[hit, "code_new"]
        moved.loc[hit, "ratio"] = moved.loc[hit, "ratio_x"] * moved.loc[hit, "ratio_y"]
        moved.loc[~hit, "ratio"] = moved.loc[~hit, "ratio_x"]
        moved.loc[hit, "kinds"] = moved.loc[hit, "kinds"] + "," + moved.loc[hit, "kind"]
        mapping = moved[["origin", "code", "ratio", "kinds"]]
        fresh = st[~st["code_old"].isin(mapping["origin"])]
        fresh = pd.DataFrame(
            {"origin": fresh["code_old"], "code": fresh["code_new"], "ratio": fresh["ratio"], "kinds": fresh["kind"]}
        )
        mapping = pd.concat([mapping, fresh], ignore_index=True)
    mapping = mapping.groupby(["origin", "code"], as_index=False).agg(
        ratio=("ratio", "sum"), kinds=("kinds", "first")
    )
    changed = ~((mapping["origin"] == mapping["code"]) & (mapping["ratio"] > 1 - 1e-12))
    keep = mapping["origin"].isin(mapping.loc[changed, "origin"])
    return mapping[keep].reset_index(drop=True)


@functools.cache
def _steps_by_code() -> tuple[dict[str, list[int]], dict[str, set]]:
    """Rows of the embedded steps by ``code_old``, and the ``cog_from`` of the steps a code is
    kept in (``code_new``): :func:`_last_disappearance` runs for every former name suggested."""
    steps = reference.load_steps()
    by_old: dict[str, list[int]] = {}
    for i, c in enumerate(steps["code_old"].to_numpy(object)):
        by_old.setdefault(c, []).append(i)
    kept_in: dict[str, set] = {}
    for c, y in zip(steps["code_new"].to_numpy(object), steps["cog_from"].to_numpy(), strict=True):
        kept_in.setdefault(c, set()).add(y)
    return by_old, kept_in


@functools.cache
def _step_columns() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``cog_from``, ``cog_to`` and ``date`` of the embedded steps as arrays (read once)."""
    steps = reference.load_steps()
    return (steps["cog_from"].to_numpy(), steps["cog_to"].to_numpy(),
            steps["date"].to_numpy(object))


def _last_disappearance(code: str, steps: pd.DataFrame) -> tuple[int, int, str] | None:
    """(COG year before, COG year after, recorded date) of the step in which ``code`` last
    disappeared (None if it never did)."""
    if steps is reference.load_steps():  # the embedded steps: rows by code (no full scan per code)
        by_old, kept_in = _steps_by_code()
        persisted = kept_in.get(code, set())
        cog_from, cog_to, date = _step_columns()
        gone_rows = [i for i in by_old.get(code, []) if cog_from[i] not in persisted]
        if not gone_rows:
            return None
        # the latest step (a stable sort on cog_from keeps the table order among equal years)
        i = max(gone_rows, key=lambda j: (cog_from[j], j))
        return int(cog_from[i]), int(cog_to[i]), str(date[i])
    else:
        s = steps[steps["code_old"] == code]
        persisted = set(steps.loc[steps["code_new"] == code, "cog_from"])
    if s.empty:
        return None
    gone = s[~s["cog_from"].isin(persisted)]
    if gone.empty:
        return None
    last = gone.sort_values("cog_from").iloc[-1]
    return int(last["cog_from"]), int(last["cog_to"]), str(last["date"])


#: COG steps whose recorded dates (COGugaison ``annee``, ISO form) are the dates of the prefectoral
#: decrees creating the communes nouvelles, not their effective dates: none of the 799 changes
#: between COG 2018 and COG 2019 matches INSEE's effective date (05120 Ristolas → 05001
#: Abriès-Ristolas: decree of 15 October 2018, in force on 1 January 2019)
DECREE_DATED_STEPS = frozenset({(2018, 2019)})


def _parse_step_date(text: str) -> _dt.date | None:
    """``2018-10-15`` (COGugaison, ISO) or ``01/01/2024`` (INSEE, day first) as a date; None for
    anything else (a window ``2024-01-02/2025-01-01``: :func:`_parse_window`)."""
    text = str(text or "").strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return _dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _parse_window(text: str) -> tuple[_dt.date, _dt.date] | None:
    """``2024-01-02/2025-01-01`` (a change known only to lie between two dates) as two dates."""
    first, _, last = str(text or "").partition("/")
    a, b = _parse_step_date(first), _parse_step_date(last)
    return (a, b) if a is not None and b is not None and a <= b else None


def effective_date(cog_from: int, cog_to: int, recorded: str | None) -> tuple[_dt.date | None, str]:
    """When a code change between COG ``cog_from`` and COG ``cog_to`` took effect, as
    (date or None, French phrase « le 1er janvier 2019 »).

    Rule (data/communes/cog_steps.csv): a COG describes the communes on 1 January of its year,
    so a change between two COG took effect in ]1 January ``cog_from``, 1 January ``cog_to``].
    The recorded date is that effective date (INSEE's ``EFF`` / ``DATE_EFF``) when it lies in this
    window and the step is not one of :data:`DECREE_DATED_STEPS`; otherwise it is the date of the
    decree and the change took effect when the next COG starts, on 1 January ``cog_to`` (communes
    nouvelles take effect on 1 January, the date the COG is drawn). Steps without a date spanning
    two years took effect on 1 January of one of them: the phrase names both. The embedded steps
    all carry a date (the COG 2024 → 2026 changes: 1 January 2025, built by
    ``data/build_reference.py``), except four changes of code known only within a window
    (``2024-01-02/2025-01-01``): « le 1er janvier 2025 au plus tard ».

    Parameters
    ----------
    cog_from, cog_to : int
        COG years of the step.
    recorded : str or None
        The step's ``date`` (ISO, day-first, or a window ``first/last``).

    Returns
    -------
    tuple
        (date or None when only a window is known, French phrase).

    Examples
    --------
    >>> effective_date(2024, 2026, "2025-01-01")[1]
    'le 1er janvier 2025'
    >>> effective_date(2024, 2026, "2024-01-02/2025-01-01")[1]
    'le 1er janvier 2025 au plus tard'
    """
    window = _parse_window(recorded or "")
    if window is not None:
        return None, f"le {fr.date(window[1])} au plus tard"
    d = _parse_step_date(recorded or "")
    start, end = _dt.date(cog_from, 1, 1), _dt.date(cog_to, 1, 1)
    decree = (cog_from, cog_to) in DECREE_DATED_STEPS and d is not None and "-" in str(recorded)
    if d is not None and start < d <= end and not decree:
        return d, f"le {fr.date(d)}"
    if d is not None or cog_to - cog_from == 1:
        return end, f"le {fr.date(end)}"
    years = [_dt.date(y, 1, 1) for y in range(cog_from + 1, cog_to + 1)]
    return None, "le " + " ou le ".join(fr.date(y) for y in years)


def carry_labels(
    labels: pd.Series,
    steps: pd.DataFrame,
    from_year: int,
    to_year: int = reference.COG_YEAR,
    weights: pd.Series | None = None,
) -> tuple[pd.Series, dict]:
    """Move a categorical value per commune (density level, AAV, bassin de vie) to a later COG.

    On a fusion the new commune takes the value of its most populous predecessor (``weights``,
    by code of ``from_year``); on a split every part takes the value of the former commune.
    Returns the series indexed by ``to_year`` codes and a report listing fusions whose
    predecessors disagreed.
    """
    tr = transition(from_year, to_year, steps)
    # every labelled commune of from_year, with its COG to_year codes; unchanged ones (and the
    # commune that absorbs others while keeping its code) map to themselves with ratio 1
    rows = pd.DataFrame({"origin": labels.index.astype(object), "label": labels.to_numpy()})
    rows = rows[rows["label"].notna()]
    moved = rows.merge(tr[["origin", "code", "ratio"]], on="origin", how="left")
    moved["code"] = moved["code"].where(moved["code"].notna(), moved["origin"])
    moved["ratio"] = moved["ratio"].fillna(1.0)
    w = weights.reindex(moved["origin"]).fillna(0).to_numpy() if weights is not None else 1.0
    moved["weight"] = w * moved["ratio"].to_numpy()
    best = moved.sort_values(["weight", "origin"], ascending=[False, True]).drop_duplicates("code")
    multi = moved[moved.duplicated("code", keep=False)]
    disagreements = {
        code: sorted(map(str, g["label"].unique()))
        for code, g in multi.groupby("code")
        if g["label"].nunique() > 1
    }
    out = best.set_index("code")["label"]
    converted = int(moved.loc[moved["origin"] != moved["code"], "origin"].nunique())
    return out, {"from_year": from_year, "converted": converted, "disagreements": disagreements}


# ------------------------------------------------------------------------------------------
# Normalisation
# ------------------------------------------------------------------------------------------


@functools.cache
def _nom_dep() -> tuple[dict[str, str], dict[str, str]]:
    """Name and department of every current code, as dicts (for loops over many names)."""
    cur = reference.units()
    return dict(zip(cur.index, cur["nom"], strict=True)), dict(zip(cur.index, cur["dep"], strict=True))


@functools.cache
def _current_set() -> frozenset[str]:
    return frozenset(reference.units().index)


def _as_text(value: object) -> str | None:
    """A value as text: :func:`cpts_geo.io.tables.cell_text` (Unicode normalised, invisible
    characters removed, ``4088,0`` and ``="04088"`` read as the numbers they mean)."""
    return cell_text(value)


def _candidates(codes: Iterable[str], shares: Iterable[float] | None = None) -> list[dict]:
    nom = _nom_dep()[0]
    rows = [{"code": code, "nom": nom.get(code)} for code in codes]
    if shares is not None:
        for row, share in zip(rows, shares, strict=True):
            row["share"] = round(float(share), 4)
    return rows


@functools.cache
def _transition_by_origin(year: int) -> dict[str, list[tuple[str, float]]]:
    """Rows ``(code, ratio)`` of the transition ``year`` → current COG, by origin code, in table
    order (one pass, instead of a full-table mask per converted code)."""
    tr = _transition_cached(year, reference.COG_YEAR)
    out: dict[str, list[tuple[str, float]]] = {}
    for o, c, r in zip(tr["origin"].to_numpy(object), tr["code"].to_numpy(object),
                       tr["ratio"].to_numpy(float), strict=True):
        out.setdefault(o, []).append((c, r))
    return out


@functools.cache
def _last_names() -> dict[str, str]:
    """Code → the last name the embedded name table gives it (current or former)."""
    n = reference.load_names()
    return dict(zip(n["code"].to_numpy(object), n["nom"].to_numpy(object), strict=True))


def _former_label(code: str) -> str:
    """« code 20004 (Ajaccio) »: the code with the last name the name table gives it, or the code
    alone when no name is known (never the code repeated as its own name)."""
    name = _last_names().get(code)
    return f"code {code} ({name})" if name else f"code {code}"


def _convert_old(code: str) -> dict | None:
    steps = reference.load_steps()
    gone = _last_disappearance(code, steps)
    if gone is None:
        return None
    year, year_to, recorded = gone
    _, when = effective_date(year, year_to, recorded)
    rows = _transition_by_origin(year).get(code, ())
    current = _current_set()
    t = pd.DataFrame([r for r in rows if r[0] in current], columns=["code", "ratio"])
    t = t.sort_values("ratio", ascending=False, kind="stable")
    if t.empty:
        return None
    former = _former_label(code)
    if len(t) == 1:
        new = t.iloc[0]["code"]
        return {
            "code": new,
            "status": "converted",
            "message": f"{former} n'existe plus depuis {when} : "
            f"remplacé par {new} ({reference.units().at[new, 'nom']})",
            "candidates": _candidates([new], [1.0]),
        }
    cands = _candidates(t["code"], t["ratio"] / t["ratio"].sum())
    listing = ", ".join(f"{c['code']} {c['nom']} ({fr.percent(c['share'], 0)})" for c in cands)
    return {
        "code": None,
        "status": "ambiguous",
        "message": f"{former} a été scindé {when} : choisir parmi {listing}",
        "candidates": cands,
    }


def _suggest_code(code: str) -> list[dict]:
    cur = reference.units()
    out: list[dict] = []
    postal = reference.load_postal()
    hit = postal.loc[postal["code_postal"] == code, "code"].tolist()
    for c in hit[:5]:
        out.append({"code": c, "nom": cur.at[c, "nom"] if c in cur.index else None, "why": "code postal"})
    dep = code[:3] if code.startswith("97") else code[:2]
    same_dep = [c for c in cur.index if c.startswith(dep)]
    close = difflib.get_close_matches(code, same_dep, n=3, cutoff=0.6)
    for c in close:
        if c not in hit:
            out.append({"code": c, "nom": cur.at[c, "nom"], "why": "code proche"})
    return out


def _match_name(text: str, dep: str | None) -> dict:
    name, dep_in = names.split_dep(text)
    dep = dep or dep_in
    hits = names.lookup(name, dep)
    nom, dep_of = _nom_dep()
    if hits:
        # prefer current communes / arrondissements, then delegated, then former names
        best_rank = hits[0].rank
        codes = []
        for e in hits:
            if e.rank != best_rank:
                break
            if e.code in nom:
                codes.append(e.code)
            else:
                conv = _convert_old(e.code)
                if conv and conv["code"]:
                    codes.append(conv["code"])
        codes = list(dict.fromkeys(codes))
        if len(codes) == 1:
            c = codes[0]
            kind = "nom actuel" if best_rank <= 1 else "ancien nom ou commune déléguée"
            return {
                "code": c,
                "status": "name",
                "message": f"« {text} » reconnu ({kind}) : {c} {nom[c]} ({dep_of[c]})",
                "candidates": _candidates([c]),
            }
        if len(codes) > 1:
            # the same name as an old name elsewhere (« Bellegarde », now Bellegarde-Marsal in 81):
            # one more homonym, which the listing's context may choose
            old = []
            for e in hits:
                if e.rank > best_rank:
                    c = e.code if e.code in nom else (_convert_old(e.code) or {}).get("code")
                    if c and c not in codes and c not in old:
                        old.append(c)
            cands = _candidates(codes)
            cands += [{**x, "why": f"ancien nom : {text}"} for x in _candidates(old)]
            codes = codes + old
            return {
                "code": None,
                "status": "ambiguous",
                "message": f"« {text} » désigne plusieurs communes, préciser le département : {_listing(cands)}",
                "candidates": cands,
                "homonyms": codes,
            }
    cands = [{"code": e.code, "nom": e.nom, "why": e.why} for e in names.suggest(name, dep, n=5)]
    if len(cands) < 5:
        # a near old name (« Belegarde (81) »): its current commune, through the code history
        seen = {c["code"] for c in cands}
        for e in names.near(name, dep, n=10, former=True):
            if e.rank <= 1 or len(cands) >= 5:
                continue
            c = e.code if e.code in nom else (_convert_old(e.code) or {}).get("code")
            if c and c not in seen:
                cands.append({"code": c, "nom": nom[c], "why": f"ancien nom proche : {e.nom}"})
                seen.add(c)
    if dep is not None and len(cands) < 5:
        # the name exists, but in another department
        seen = {c["code"] for c in cands}
        for e in names.lookup(name):
            if e.code in nom and e.code not in seen and len(cands) < 5:
                cands.append({"code": e.code, "nom": e.nom, "why": "autre département"})
                seen.add(e.code)
    where = f" dans le département {dep}" if dep else ""
    hint = (" ; suggestions : " + ", ".join(
        f"{c['code']} {c['nom']}" + (f" ({dep_of[c['code']]})" if c["why"] == "autre département" else
                                     f" ({c['why']})" if c["why"].startswith("ancien nom") else "")
        for c in cands)) if cands else ""
    return {
        "code": None,
        "status": "unknown",
        "message": f"« {text} » : aucune commune de ce nom{where}{hint}",
        "candidates": cands,
    }


def _listing(cands: list[dict]) -> str:
    dep_of = _nom_dep()[1]
    return fr.enumeration((f"{x['code']} {x['nom']} ({dep_of[x['code']]}"
                           + (f", {x['why']})" if str(x.get("why", "")).startswith("ancien nom") else ")")
                           for x in cands), limit=8, other="autre commune", others="autres communes")


_RESOLVED = ("current", "arrondissement", "zero_padded", "converted", "name")


def _resolve_homonyms(out: pd.DataFrame, homonyms: dict[int, tuple[str, list[str]]],
                      area: Iterable[str] | None, groups: list | None) -> None:
    """Choose among homonyms from their context: the analysed ``area``, the departments of the
    unambiguous entries of the same group (CPTS), then of the whole listing. In place: a chosen
    row becomes a ``name`` whose message reports the choice and the other homonyms."""
    nom, dep_of = _nom_dep()
    known = out["code"].notna().to_numpy() & out["status"].isin(_RESOLVED).to_numpy()
    deps = out["code"].map(dep_of)
    listing = set(deps[known].dropna())
    by_group: dict = {}
    if groups is not None:
        for g, d in zip(np.asarray(groups, dtype=object)[known], deps[known], strict=True):
            if isinstance(d, str):
                by_group.setdefault(g, set()).add(d)
    area = None if area is None else {str(d).zfill(2) if str(d).isdigit() else str(d).upper() for d in area}
    for i, (text, codes) in homonyms.items():
        group = None if groups is None else by_group.get(groups[i], set())
        choice = names.resolve_homonyms(codes, listing, area, group)
        if choice.chosen is None:
            continue
        c = choice.chosen
        cands = _candidates([c, *(x for x in choice.candidates if x != c)])
        for row in cands:
            row["why"] = "choisi d'après le contexte" if row["code"] == c else "homonyme"
        out.at[i, "code"] = c
        out.at[i, "status"] = "name"
        out.at[i, "message"] = (
            f"« {text} » : homonyme choisi d'après le contexte ({choice.reason}) : {c} {nom[c]} "
            f"({dep_of[c]}) ; autres communes de ce nom : {_listing(cands[1:])}")
        out.at[i, "candidates"] = cands
        out.at[i, "codes"] = [c]


def _normalise_one(value: object, dep: str | None) -> dict:
    text = _as_text(value)
    if text is None:
        return {"code": None, "status": "empty", "message": "cellule vide", "candidates": []}
    cur = reference.units()
    raw = text.upper().replace(" ", "")
    padded = False
    if re.fullmatch(r"\d{4}", raw):  # "01001" turned into the number 1001 by a spreadsheet
        raw = raw.zfill(5)
        padded = True
    if not _CODE_RE.match(raw):
        if re.search(r"[A-Za-zÀ-ÿ]{2,}", text):
            return _match_name(text, dep)
        return {
            "code": None,
            "status": "unknown",
            "message": f"« {text} » n'est ni un code INSEE à 5 caractères ni un nom de commune",
            "candidates": _suggest_code(raw) if raw.isdigit() else [],
        }
    if raw in cur.index:
        kind = cur.at[raw, "kind"]
        if padded:
            return {
                "code": raw,
                "status": "zero_padded",
                "message": f"« {text} » complété en {raw} ({cur.at[raw, 'nom']}) : zéro initial perdu (Excel)",
                "candidates": _candidates([raw]),
            }
        if kind == "arrondissement":
            return {
                "code": raw,
                "status": "arrondissement",
                "message": f"{raw} est un arrondissement municipal de {cur.at[cur.at[raw, 'parent'], 'nom']}",
                "candidates": _candidates([raw]),
            }
        return {"code": raw, "status": "current", "message": "", "candidates": []}
    conv = _convert_old(raw)
    if conv is not None:
        postal = reference.load_postal()
        also = postal.loc[postal["code_postal"] == raw, "code"].map(cur["nom"]).dropna().unique()
        if len(also):
            conv["message"] += f" ; attention, {raw} est aussi le code postal de " + fr.enumeration(also, limit=3)
        if padded:
            conv["message"] = f"« {text} » complété en {raw} ; " + conv["message"]
        return conv
    sugg = _suggest_code(raw)
    hint = ""
    if sugg:
        hint = " ; suggestions : " + ", ".join(f"{s['code']} {s['nom']} ({s['why']})" for s in sugg)
    return {
        "code": None,
        "status": "unknown",
        "message": f"code {raw} absent du COG {reference.COG_YEAR} (référentiel de cpts_geo) : ni commune "
        f"actuelle, ni ancienne commune{hint} ; code créé après le 1er janvier {reference.COG_YEAR} ? {NEWER_COG}",
        "candidates": sugg,
    }


#: French hint when a code or a listing may be newer than the embedded reference
NEWER_COG = f"mettez à jour cpts_geo (son référentiel est le COG {reference.COG_YEAR})"
#: first COG year of the passage tables
FIRST_COG_YEAR = 1968


def _check_cog_year(cog_year: int | None) -> int | None:
    if cog_year is None:
        return None
    try:
        year = int(cog_year)
    except (TypeError, ValueError):
        raise OptionError("cog_year", cog_year, "année du COG attendue (par exemple 2024)") from None
    if year > reference.COG_YEAR:
        raise OptionError("cog_year", cog_year, f"liste en COG {year}, plus récent que celui de cpts_geo : {NEWER_COG}")
    if year < FIRST_COG_YEAR:
        raise OptionError("cog_year", cog_year, f"les tables de passage commencent au COG {FIRST_COG_YEAR}")
    return year


def _read_in_year(code: str, year: int, tr: pd.DataFrame) -> dict:
    """A code valid on 1 January of ``year`` whose meaning changed since: the COG 2026 codes
    covering its land then (all parts of a split, e.g. 15141 in 2024 -> the five communes)."""
    t = tr[tr["origin"] == code].sort_values(["ratio", "code"], ascending=[False, True])
    cur = reference.units()
    t = t[t["code"].isin(cur.index)]
    former = _former_label(code)
    parts = t["code"].tolist()
    listing = ", ".join(f"{c} ({cur.at[c, 'nom']})" for c in parts)
    if len(parts) == 1:
        msg = f"{former} lu en COG {year} : devenu {listing} en COG {reference.COG_YEAR}"
    else:
        msg = (f"{former} lu en COG {year} : son territoire d'alors forme aujourd'hui "
               f"{len(parts)} communes : {listing}")
    main = code if code in parts else parts[0]
    return {"code": main, "codes": parts, "status": "converted", "message": msg,
            "candidates": _candidates(parts, t["ratio"] / t["ratio"].sum())}


#: splits from this COG year on are recent enough for a listing to predate them
RECENT_SPLITS_FROM = 2023


@functools.cache
def _recent_splits() -> dict[str, str]:
    """Current codes split since COG ``RECENT_SPLITS_FROM`` → French warning (status stays current)."""
    steps = reference.load_steps()
    sel = steps[(steps["kind"] == "split") & (steps["cog_from"] >= RECENT_SPLITS_FROM)]
    cur = reference.units()
    out = {}
    for (cog_from, cog_to, old), g in sel.groupby(["cog_from", "cog_to", "code_old"]):
        if old not in cur.index:
            continue
        _, when = effective_date(int(cog_from), int(cog_to), str(g["date"].iloc[0]))
        parts = ", ".join(f"{c} ({cur.at[c, 'nom']})" for c in g["code_new"] if c in cur.index)
        out[old] = (f"attention : le territoire de {old} a été scindé {when} entre {parts} ; "
                    f"une liste plus ancienne le désignait en entier : préciser l'année du COG de la "
                    f"liste (cog_year)")
    return out


def normalise_codes(
    codes: Iterable[object], deps: Iterable[object] | None = None, cog_year: int | None = None,
    area: Iterable[str] | None = None, context: bool = True, groups: Iterable[object] | None = None,
) -> pd.DataFrame:
    """Normalise INSEE codes or commune names to COG 2026, one output row per input.

    ``codes`` may mix 5-character codes, numbers that lost their leading zero, codes of merged
    communes and names ("Forcalquier (04)", "St-Etienne-les-Orgues"); ``deps`` optionally gives
    the department of each input to disambiguate names. A name shared by several communes is
    resolved from its context when ``context`` is true: the departments of ``area`` (the analysed
    area, when given), of the entries of the same group (``groups``: e.g. the CPTS of each input)
    and of the whole listing that were recognised without doubt, in that order; the row's
    status is then ``name`` and its message says which homonym was chosen and why. When the
    context does not single one out it stays ``ambiguous``. Output columns: ``input``, ``code``
    (COG 2026 code, or None when refused), ``status`` (one of :data:`STATUSES`), ``message``
    (French explanation), ``candidates`` (list of dicts: code, nom, share or why), ``nom`` and
    ``codes`` (every COG 2026 code the input covers: one, none, or all parts of a split).

    ``cog_year``: the COG in which the listing was written (e.g. 2024). Codes are then read in that
    year's geography and converted to COG 2026, a split commune covering all its current parts
    (15141 in 2024 → 15031, 15035, 15047, 15141, 15171), reported as ``converted``. Without it,
    codes are read in COG 2026. A year after 2026 raises :class:`OptionError`
    ("référentiel COG 2026 : mettre à jour cpts_geo").
    """
    expect_codes(codes, "codes")
    expect_codes(deps, "deps", optional=True)
    expect_codes(area, "area", optional=True)
    expect_codes(groups, "groups", optional=True)
    expect_bool(context, "context")
    year = _check_cog_year(cog_year)
    # one string (or number) is one code, not a sequence of characters
    values = [codes] if isinstance(codes, (str, bytes, int, float)) else list(codes)
    if isinstance(deps, (str, bytes, int)):
        deps = [deps]
    if isinstance(groups, (str, bytes)):
        groups = [groups]
    dep_list = [None] * len(values) if deps is None else [_as_text(d) for d in deps]
    if len(dep_list) != len(values):
        raise OptionError("deps", f"{len(dep_list)} valeurs", f"autant de départements que de codes attendus ({len(values)})")
    dep_list = [d.zfill(2) if d and d.isdigit() and len(d) < 2 else (d.upper() if d else None) for d in dep_list]
    cur = reference.units()
    texts = pd.Series([_as_text(v) for v in values], dtype=object)
    # fast path: well-formed current codes (the bulk of any listing)
    kind = texts.map(cur["kind"])
    fast = kind.notna().to_numpy()
    changed = pd.DataFrame(columns=["origin", "code", "ratio"])
    if year is not None and year < reference.COG_YEAR:
        changed = transition(year)
        fast = fast & ~texts.isin(set(changed["origin"])).to_numpy()
    out = pd.DataFrame(
        {
            "input": pd.Series(values, dtype=object),
            "code": texts.where(fast, None),
            "status": np.where(kind == "arrondissement", "arrondissement", "current"),
            "message": "",
            "candidates": [[] for _ in values],
        }
    )
    arr = (kind == "arrondissement").to_numpy()
    if arr.any():
        parent_name = texts[arr].map(cur["parent"]).map(cur["nom"])
        out.loc[arr, "message"] = texts[arr] + " est un arrondissement municipal de " + parent_name
        out.loc[arr, "candidates"] = pd.Series([_candidates([c]) for c in texts[arr]], index=texts[arr].index)
    out["codes"] = [[c] if c is not None else [] for c in out["code"]]
    if year is None:
        # current codes whose territory was split recently: an older listing meant more land
        recent = _recent_splits()
        hit = texts.isin(set(recent)).to_numpy() & fast
        for i in np.flatnonzero(hit):
            out.at[i, "message"] = recent[texts.iat[i]]
    origins = set(changed["origin"])
    cache: dict[tuple, dict] = {}
    homonyms: dict[int, tuple[str, list[str]]] = {}
    slow = np.flatnonzero(~fast)
    res_code, res_status, res_message, res_cands, res_codes = [], [], [], [], []
    for i in slow:
        key = (texts.iat[i], dep_list[i])
        if key not in cache:
            raw = (texts.iat[i] or "").upper().replace(" ", "")
            raw = raw.zfill(5) if re.fullmatch(r"\d{4}", raw) else raw
            if raw in origins:
                cache[key] = _read_in_year(raw, year, changed)
            else:
                cache[key] = _normalise_one(values[i], dep_list[i])
        res = cache[key]
        res_code.append(res["code"])
        res_status.append(res["status"])
        res_message.append(res["message"])
        res_cands.append(res["candidates"])
        res_codes.append(res.get("codes", [res["code"]] if res["code"] is not None else []))
        if "homonyms" in res:
            homonyms[int(i)] = (texts.iat[i], res["homonyms"])
    if len(slow):
        out.loc[slow, "code"] = pd.Series(res_code, index=slow, dtype=object)
        out.loc[slow, "status"] = res_status
        out.loc[slow, "message"] = res_message
        out.loc[slow, "candidates"] = pd.Series(res_cands, index=slow, dtype=object)
        out.loc[slow, "codes"] = pd.Series(res_codes, index=slow, dtype=object)
    if homonyms and context:
        group_list = None if groups is None else list(groups)
        if group_list is not None and len(group_list) != len(values):
            raise OptionError("groups", f"{len(group_list)} valeurs",
                              f"autant de groupes que de codes attendus ({len(values)})")
        _resolve_homonyms(out, homonyms, area, group_list)
    out["nom"] = out["code"].map(cur["nom"])
    out = out[["input", "code", "status", "message", "candidates", "nom", "codes"]]
    out.attrs = {"cog": reference.COG_YEAR, "cog_year_read": year or reference.COG_YEAR,
                 "sources": {"history": reference.SOURCES["history"]}}
    return out


# ------------------------------------------------------------------------------------------
# Table conversion between COG years
# ------------------------------------------------------------------------------------------


#: how a split's shares were computed (column ratio_source of cog_steps.csv), in French
SPLIT_BASIS = {
    "pop2023": f"part de population {reference.POPULATION_YEAR} (populations légales des communes actuelles)",
    "cogugaison": "part de population à la date de la scission (tables de passage COGugaison)",
}


def _split_basis(splits: dict, from_year: int, to_year: int) -> dict[str, str]:
    """French basis of each split's shares: populations 2023 of the parts, or COGugaison's."""
    if not splits:
        return {}
    steps = reference.load_steps()
    sel = steps[(steps["kind"] == "split") & (steps["cog_from"] >= from_year) & (steps["cog_to"] <= to_year)]
    pop_based = set(sel.loc[sel["ratio_source"] == "pop2023", "code_old"])
    return {old: SPLIT_BASIS["pop2023" if old in pop_based else "cogugaison"] for old in splits}


def convert_table(
    table: pd.DataFrame,
    from_year: int,
    to_year: int = reference.COG_YEAR,
    code_col: str = "code",
    value_cols: list[str] | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Convert a numeric table by commune from COG ``from_year`` to COG ``to_year``.

    Counts are summed on fusions and split between the parts of a défusion by their share of
    population, so totals are preserved: populations légales 2023 of the current parts for the
    défusions of 2024-2025 (whose COGugaison ratios are placeholders), COGugaison's population
    ratios at the time for older ones. Returns the converted table (one row per ``to_year`` code)
    and a report with ``fusions`` ({new: [olds]}), ``splits`` ({old: {new: ratio}}),
    ``split_basis`` ({old: French basis of the shares, e.g. "part de population 2023 ..."}),
    ``unknown`` (codes of the
    input that are not valid in ``from_year`` nor converted; their rows are kept unchanged and
    listed) and the totals before and after.
    """
    expect_frame(table, "table")
    expect_text(code_col, "code_col")
    if value_cols is not None and (not isinstance(value_cols, (list, tuple))
                                   or not all(isinstance(c, str) for c in value_cols)):
        fail("value_cols", value_cols, "une liste de noms de colonnes est attendue")
    _check_years(from_year, to_year)
    if code_col not in table.columns:
        raise InputError(f"colonne « {code_col} » absente ; colonnes trouvées : "
                         f"{', '.join(map(str, table.columns))}", "table")
    if value_cols is None:
        value_cols = [c for c in table.columns if c != code_col and pd.api.types.is_numeric_dtype(table[c])]
    df = table[[code_col, *value_cols]].copy()
    df[code_col] = clean_codes(df[code_col])
    tr = transition(from_year, to_year)
    tr = tr[tr["origin"].isin(set(df[code_col]))]
    merged = df.merge(tr.rename(columns={"code": "_new"}), left_on=code_col, right_on="origin", how="left")
    merged["_old"] = merged[code_col]
    hit = merged["origin"].notna()
    merged.loc[hit, code_col] = merged.loc[hit, "_new"]
    merged["ratio"] = merged["ratio"].fillna(1.0)
    for c in value_cols:
        merged[c] = merged[c] * merged["ratio"]
    out = merged.groupby(code_col, as_index=False, sort=True)[value_cols].sum()
    fusions = {
        k: sorted(g["_old"].unique().tolist())
        for k, g in merged[merged[code_col].isin(tr["code"])].groupby(code_col)
        if g["_old"].nunique() > 1 or (g["_old"] != k).any()
    }
    splits = {k: dict(zip(g["code"], g["ratio"].round(6), strict=True)) for k, g in tr.groupby("origin") if len(g) > 1}
    split_basis = _split_basis(splits, from_year, to_year)
    valid_to = set(reference.units().index) if to_year == reference.COG_YEAR else None
    unknown = sorted(set(out[code_col]) - valid_to) if valid_to is not None else []
    report = {
        "from_year": from_year,
        "to_year": to_year,
        "rows_in": len(df),
        "rows_out": len(out),
        "fusions": fusions,
        "splits": splits,
        "split_basis": split_basis,
        "unknown": unknown,
        "totals_in": {c: float(df[c].sum()) for c in value_cols},
        "totals_out": {c: float(out[c].sum()) for c in value_cols},
    }
    out.attrs = {"cog": to_year, "converted_from_cog": from_year}
    return out, report
