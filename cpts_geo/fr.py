"""French text for people: numbers, percentages, plurals, dates, lists.

The one formatting module: every message, summary, workbook label, map legend and report goes
through it. Thousands are separated by a narrow no-break space (U+202F), decimals by a comma,
``%`` and units follow a narrow no-break space, dates are written the French way.

>>> number(1234567)
'1\u202f234\u202f567'
>>> number(3.14159, 2)
'3,14'
>>> percent(0.4531)
'45,3\u202f%'
>>> plural(1, "commune"), plural(2, "commune")
('1 commune', '2 communes')
>>> date(__import__("datetime").date(2019, 1, 1))
'1er janvier 2019'
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Iterable

#: narrow no-break space: thousands separator and before %, €, km², hab.
NNBSP = "\u202f"
#: no-break space
NBSP = "\u00a0"

MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
          "octobre", "novembre", "décembre")


def number(value: float | int | None, decimals: int = 0, na: str = "n.d.") -> str:
    """``12345.6`` → ``"12 346"`` (``decimals=0``) or ``"12 345,6"`` (``decimals=1``)."""
    if value is None:
        return na
    try:
        x = float(value)
    except (TypeError, ValueError):
        return na
    if math.isnan(x):
        return na
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    text = f"{x:,.{decimals}f}"
    if text.startswith("-") and float(text.replace(",", "")) == 0:
        text = text[1:]  # no "-0"
    return text.replace(",", NNBSP).replace(".", ",")


def integer(value: float | int | None, na: str = "n.d.") -> str:
    """Rounded to the unit with thousands separators: ``87500`` → ``"87 500"``."""
    return number(value, 0, na)


def percent(share: float | None, decimals: int = 1, na: str = "n.d.") -> str:
    """A share in [0, 1] as a French percentage: ``0.4531`` → ``"45,3 %"``."""
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return na
    return number(100 * float(share), decimals) + NNBSP + "%"


def euros(value: float | int | None) -> str:
    """``87500`` → ``"87 500 €"``."""
    return integer(value) + NNBSP + "€"


def km2(value: float | None, decimals: int = 1) -> str:
    """``12.46`` → ``"12,5 km²"``."""
    return number(value, decimals) + NNBSP + "km²"


def inhabitants(value: float | int | None) -> str:
    """``1234`` → ``"1 234 habitants"``, ``1`` → ``"1 habitant"``."""
    return plural(value, "habitant")


#: words that end the part of a noun phrase that agrees ("territoire **de** vie")
_PREPOSITIONS = frozenset({"de", "d'", "du", "des", "à", "au", "aux", "en", "pour", "sur", "sans",
                           "avec", "par", "sous", "dans", "entre", "hors"})


def _plural_word(word: str) -> str:
    if not word[-1:].isalpha() or word[-1:].lower() in "sxz" or (word.isupper() and len(word) > 1):
        return word  # already plural-looking, or an acronym ("CPTS", "EPCI")
    if word.endswith(("au", "eu")):
        return word + "x"
    if word.endswith("al") and word not in ("final", "bal", "festival"):
        return word[:-2] + "aux"
    return word + "s"


def plural(n: float | int | None, singular: str, plural_form: str | None = None,
           with_number: bool = True) -> str:
    """The noun agreed with ``n`` (French rule: singular below 2).

    ``plural(0, "commune")`` → ``"0 commune"``, ``plural(3, "point bloquant")`` → ``"3 points
    bloquants"``. Without ``plural_form`` the words up to the first preposition agree
    (``"territoire de vie"`` → ``"territoires de vie"``, ``"commune convertie"`` →
    ``"communes converties"``); words ending in s, x or z and acronyms (``"CPTS"``) are kept, and
    -au/-eu take an x, -al becomes -aux. Pass ``plural_form`` for any other irregular noun.
    """
    count = 0.0 if n is None else float(n)
    if abs(count) < 2:
        word = singular
    elif plural_form is not None:
        word = plural_form
    else:
        words, out, agree = singular.split(" "), [], True
        for w in words:
            if w.lower() in _PREPOSITIONS or w.lower().startswith("d'"):
                agree = False
            out.append(_plural_word(w) if agree else w)
        word = " ".join(out)
    return f"{integer(count)} {word}" if with_number else word


def date(value: _dt.date | _dt.datetime | str | None, na: str = "date inconnue") -> str:
    """``2019-01-01`` → ``"1er janvier 2019"``; ``2018-10-15`` → ``"15 octobre 2018"``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return na
    if isinstance(value, str):
        try:
            value = _dt.date.fromisoformat(value[:10])
        except ValueError:
            return value
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        value = value.to_pydatetime()
    if isinstance(value, _dt.datetime):
        value = value.date()
    day = "1er" if value.day == 1 else str(value.day)
    return f"{day} {MONTHS[value.month - 1]} {value.year}"


def enumeration(items: Iterable[object], limit: int | None = None, other: str = "autre",
                others: str = "autres") -> str:
    """``["a", "b", "c"]`` → ``"a, b et c"``; with ``limit=2`` → ``"a, b et 1 autre"``."""
    items = [str(i) for i in items]
    if not items:
        return ""
    if limit is not None and len(items) > limit:
        more = len(items) - limit
        return ", ".join(items[:limit]) + " et " + plural(more, other, others)
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " et " + items[-1]
