"""Postcodes written where INSEE codes are expected (a frequent confusion in listings).

A postcode is also, often, the INSEE code of *another* commune: 13001 is the postcode of Marseille
1er arrondissement and the INSEE code of Aix-en-Provence; 20200 (Bastia's postcode) is no current
INSEE code (Corsica is 2A/2B since 1976). :func:`apply_code_type` refuses a listing whose codes
look like postcodes (``code_type="auto"``), reads them as postcodes (``"postal"``: each postcode
→ every commune it serves) or as INSEE codes (``"insee"``). In ``"auto"``, a listing that is not refused still has each code that
is also the postcode of another commune flagged one by one (:func:`doubts`) in its report row;
:func:`doubts_to_show` keeps for the printed summary only the doubts a reader must see (a name
that contradicts its code, a listing that looks postal). Table: La Poste, "Base officielle des
codes postaux" (``reference.load_postal``).
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from cpts_geo import fr, names, reference
from cpts_geo.errors import MembersError, OptionError
from cpts_geo.io.tables import column_key

CODE_TYPES = ("auto", "insee", "postal")
#: "auto" refuses a listing when at least 5 of its distinct 5-digit codes (3 in a run such as
#: 13001, 13002, 13003), and this share of them, are postcodes of other communes: a real INSEE listing has few (30 of the 540 codes of the
#: 04-05-84 sample; 3 of 5 in a short cross-border proposal), a postcode listing nearly all
POSTAL_SHARE = 0.8
#: ... or at least 2, and this share, when some are no INSEE code at all (Corsican 20xxx, 75001)
NOT_INSEE_SHARE = 0.5
#: a listing not refused still "looks postal" when this share of its distinct 5-digit codes are
#: postcodes of other communes (a real INSEE listing has about 5 %: 30 of the 540 codes of the
#: 04-05-84 sample) and its code column does not say INSEE:
#: its doubtful codes are then printed
LOOKS_POSTAL_SHARE = 0.25
#: words of a column name that say its codes are INSEE codes (« code_insee », « CODGEO », « DEPCOM »)
INSEE_WORDS = frozenset({"insee", "codgeo", "depcom", "cog", "geographique"})
#: words of a column name that say its codes are postcodes (« code postal », « CP »)
POSTAL_WORDS = frozenset({"postal", "postaux", "cp"})


@functools.cache
def _tables() -> tuple[dict[str, tuple[str, ...]], frozenset[str], dict[str, str]]:
    postal = reference.load_postal()
    communes = reference.load_communes()
    grouped: dict[str, list[str]] = {}
    for k, c in zip(postal["code_postal"].to_numpy(object), postal["code"].to_numpy(object), strict=True):
        grouped.setdefault(k, []).append(c)  # plain dict: a groupby over arrow strings takes seconds
    by_post = {k: tuple(sorted(v)) for k, v in grouped.items()}
    plm = set(reference.PLM_CITIES)
    for k, codes in by_post.items():  # a postcode of an arrondissement: the arrondissement only
        if any(c in plm for c in codes) and len(codes) > 1:
            by_post[k] = tuple(c for c in codes if c not in plm)
    names = dict(zip(communes["code"].to_numpy(object), communes["nom"].to_numpy(object), strict=False))
    return by_post, frozenset(names), names


def postal_like(code: str) -> bool:
    """True when ``code`` is a postcode that is not the INSEE code of a commune it serves
    (13001, 04110, 20200); False for 04001 or for a postcode equal to its own commune's code."""
    by_post, insee, _ = _tables()
    served = by_post.get(code)
    return served is not None and (code not in insee or code not in served)


def doubt_note(code: str) -> str | None:
    """French note for a code that is an INSEE code *and* the postcode of other communes, read as
    the INSEE code: "13001 lu comme code INSEE (Aix-en-Provence), mais aussi code postal desservant
    Marseille 1er Arrondissement" (no semicolon: notes are listed with " ; "); None otherwise."""
    by_post, insee, names = _tables()
    served = by_post.get(code)
    if served is None or code not in insee or code in served:
        return None
    return (f"{code} lu comme code INSEE ({names[code]}), mais aussi code postal desservant "
            + fr.enumeration([names.get(c, c) for c in served], limit=3))


def doubts(values: Iterable[object]) -> dict[str, str]:
    """Distinct 5-digit ``values`` that are INSEE codes and postcodes of other communes → their
    note (:func:`doubt_note`), in code order."""
    by_post, insee, _ = _tables()
    codes = {v.strip() for v in values if isinstance(v, str)} & insee & by_post.keys()
    notes = {c: doubt_note(c) for c in sorted(codes)}
    return {c: n for c, n in notes.items() if n}


def says_insee(column: object) -> bool:
    """True when a column name says its codes are INSEE codes.

    Parameters
    ----------
    column : object
        Column name as found in the listing (None when the codes came from no named column).

    Returns
    -------
    bool
        True for « code_insee », « Code INSEE », « CODGEO », « DEPCOM », « COG »; False for
        « code », « codes », « code postal ».

    Examples
    --------
    >>> says_insee("code_insee"), says_insee("Code"), says_insee("CODGEO")
    (True, False, True)
    """
    return column is not None and bool(INSEE_WORDS & set(column_key(column).split()))


def says_postal(column: object) -> bool:
    """True when a column name says its codes are postcodes (« code postal », « CP »).

    Examples
    --------
    >>> says_postal("Code postal"), says_postal("code_insee")
    (True, False)
    """
    return column is not None and bool(POSTAL_WORDS & set(column_key(column).split()))


def postal_share(values: Iterable[object]) -> float:
    """Share of the distinct 5-digit ``values`` that are postcodes of other communes
    (:func:`postal_like`); 0.0 when there is none."""
    distinct = {v.strip() for v in values if isinstance(v, str) and len(v.strip()) == 5 and v.strip().isdigit()}
    return sum(postal_like(c) for c in distinct) / len(distinct) if distinct else 0.0


@dataclass(frozen=True)
class ShownDoubts:
    """The postcode doubts a printed summary shows, and why (:func:`doubts_to_show`).

    Attributes
    ----------
    notes : Mapping[str, str]
        Code → French note, in code order; empty when the summary stays quiet (the report rows
        and the workbook's codes sheet still flag every doubtful code).
    reason : str | None
        ``"name"`` when a commune name given on the row contradicts the code, ``"postal"`` when
        the listing looks postal (:data:`LOOKS_POSTAL_SHARE`, or a code column named « code
        postal »), ``"name+postal"`` for both, None when quiet.
    """

    notes: Mapping[str, str] = field(default_factory=dict)
    reason: str | None = None


def doubts_to_show(notes: Mapping[str, str], *, column: object = None,
                   names_given: Mapping[str, Collection[str]] | None = None,
                   share: float = 0.0) -> ShownDoubts:
    """Keep, of the doubtful codes (:func:`doubts`), those a printed summary must show.

    A code read as an INSEE code that is also the postcode of another commune is doubtful only
    where something says it may be a postcode: the commune name given on its row is not the
    name of that INSEE code (« 13001 ; Marseille 1er »: shown, with the name), or the listing
    looks postal — :data:`LOOKS_POSTAL_SHARE` of its codes are postcodes of other communes, or
    its code column is named « code postal » — while that column does not say INSEE. Quiet when
    the name matches the INSEE commune (« 13001 ; Aix-en-Provence ») or the column says INSEE
    (« code_insee »): the report rows keep the detail.

    Parameters
    ----------
    notes : Mapping[str, str]
        Doubtful code → note, as :func:`doubts` returns them.
    column : object, optional
        Name of the listing's code column (None: no named column).
    names_given : Mapping[str, Collection[str]], optional
        Code → commune names written beside it in the listing (rows holding one code and a name).
    share : float, optional
        Share of the listing's distinct 5-digit codes that are postcodes of other communes
        (:func:`postal_share`).

    Returns
    -------
    ShownDoubts
        The notes to print (code order) and the reason.

    Examples
    --------
    >>> doubts_to_show(doubts(["13001"]), column="code_insee", share=1.0).notes
    {}
    >>> doubts_to_show(doubts(["13001"]), column="code", names_given={"13001": ["Marseille 1er"]}).reason
    'name'
    """
    _, _, ref_names = _tables()
    names_given = names_given or {}
    contradicted: dict[str, str] = {}
    unnamed: list[str] = []
    for code, note in notes.items():
        given = [n for n in names_given.get(code, ()) if isinstance(n, str) and n.strip()]
        if not given:
            unnamed.append(code)
            continue
        own = set(names.name_keys(ref_names.get(code, "")))
        wrong = [n for n in dict.fromkeys(given) if not own & set(names.name_keys(names.split_dep(n)[0]))]
        if wrong:
            contradicted[code] = f"{note} ; nom donné : {fr.enumeration([f'« {n} »' for n in wrong])}"
    looks_postal = not says_insee(column) and (share >= LOOKS_POSTAL_SHARE or says_postal(column))
    shown = dict(contradicted)
    if looks_postal:
        shown.update({c: notes[c] for c in unnamed})
    reason = "+".join(r for r, on in (("name", bool(contradicted)), ("postal", looks_postal and bool(unnamed))) if on)
    return ShownDoubts({c: shown[c] for c in sorted(shown)}, reason or None)


def _describe(code: str) -> str:
    by_post, insee, names = _tables()
    served = by_post[code]
    text = f"{code} : code postal → {fr.enumeration([names.get(c, c) for c in served], limit=3)}"
    text += f", code INSEE → {names[code]}" if code in insee else ", aucun code INSEE"
    return text


def apply_code_type(entries: pd.DataFrame, code_type: str, source: str) -> tuple[pd.DataFrame, list[str]]:
    """Check or convert the ``input`` column of listing entries; returns the entries and the
    French notes of the postcodes converted (``"postal"``). Raises :class:`MembersError` in
    ``"auto"`` when the distinct 5-digit codes look like postcodes (:data:`POSTAL_SHARE`,
    :data:`NOT_INSEE_SHARE`)."""
    if code_type not in CODE_TYPES:
        raise OptionError("code_type", code_type, "valeurs possibles : auto, insee, postal")
    if code_type == "insee":
        return entries, []
    values = [v.strip() if isinstance(v, str) else v for v in entries["input"].to_numpy(object)]
    digits = [isinstance(v, str) and len(v) == 5 and v.isdigit() for v in values]
    distinct = sorted({v for v, d in zip(values, digits, strict=True) if d})
    if code_type == "auto":
        suspects = [c for c in distinct if postal_like(c)]
        _, insee, _ = _tables()
        not_insee = [c for c in suspects if c not in insee]  # 20200, 75001: postcodes only
        share = len(suspects) / len(distinct) if distinct else 0.0
        ints = sorted(int(c) for c in suspects)
        run = sum(b - a == 1 for a, b in zip(ints, ints[1:], strict=False)) >= 2  # 13001, 13002, 13003…
        if ((len(suspects) >= 5 or (len(suspects) >= 3 and run)) and share >= POSTAL_SHARE) or (
                len(suspects) >= 2 and not_insee and share >= NOT_INSEE_SHARE):
            raise MembersError(
                f"{fr.plural(len(suspects), 'code')} sur {fr.integer(len(distinct))} ressemblent à des "
                f"codes postaux, pas à des codes INSEE ({'; '.join(_describe(c) for c in suspects[:3])}"
                f"{' …' if len(suspects) > 3 else ''}) ; préciser --code-type postal (codes postaux "
                "convertis en communes) ou --code-type insee (codes lus comme codes INSEE)", source)
        return entries, []
    by_post, _, names = _tables()
    rows, notes = [], []
    for rec, v, is_code in zip(entries.to_dict("records"), values, digits, strict=True):
        served = by_post.get(v) if is_code else None
        if not served:
            rows.append(rec)
            continue
        notes.append(f"ligne {rec['source_row']} : code postal {v} → "
                     + fr.enumeration([f"{c} ({names.get(c, c)})" for c in served]))
        rows.extend({**rec, "input": c} for c in served)
    out = pd.DataFrame.from_records(rows, columns=entries.columns)
    return out, notes
