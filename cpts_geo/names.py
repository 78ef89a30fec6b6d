"""The one commune-name index: every way cpts_geo matches a commune name goes through here.

Built once (cached) from ``data/communes/names.csv`` (:func:`cpts_geo.reference.load_names`):
names of current communes and arrondissements (COG 2026) and of communes déléguées, associées and
former communes, each with its code and department. Names are compared through :func:`key`, which
ignores accents, case, hyphens, apostrophes and other punctuation, a leading article and the
"St"/"Saint", "Ste"/"Sainte" spelling; a name with a leading article (Le, La, Les, L') is filed both
with and without it (:func:`name_keys`), so "Abergement-Clémenciat", "L'Abergement-Clémenciat" and
"labergement clemenciat" all find 01001.

Searches:

* :func:`lookup` — exact match on the key (optionally within departments);
* :func:`prefix` — names whose key starts with the query key (what a search box does);
* :func:`near` — near names (typos, a missing word), through a trigram index and a bounded set of
  candidates scored with :class:`difflib.SequenceMatcher` (well under 1 ms per name, see
  ``benchmarks/bench_names.py``);
* :func:`resolve_homonyms` — picks one of several homonyms from a context (departments of the
  analysed area, of the other communes of the same CPTS, of the listing's unambiguous entries)
  and says why, or refuses to guess.

:func:`split_dep` reads a department written after a name: "Forcalquier (04)", "Ajaccio 2A".
The index is below :mod:`cpts_geo.codes` (which converts codes of former communes): it returns
codes as written in the reference, with their ``kind``.
"""

from __future__ import annotations

import bisect
import difflib
import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from cpts_geo import fr, reference

#: order of preference between kinds of names: current names first, former names last
KIND_RANK = {"current": 0, "arrondissement": 1, "deleguee": 2, "associee": 2, "former": 3}

_ARTICLES = frozenset({"le", "la", "les", "l"})
_SAINTS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}
_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss",
                            "'": "", "’": "", "ʼ": "", "`": "", "´": ""})
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_ELISIONS = frozenset({"l", "d"})
_ELIDED = re.compile(r"(?i)^\s*l['’ʼ`´]\s*\w")


def _words(name: object) -> list[str]:
    s = unicodedata.normalize("NFKD", str(name).translate(_LIGATURES))
    s = _NON_ALNUM.sub(" ", s.encode("ascii", "ignore").decode().lower())
    words = [_SAINTS.get(w, w) for w in s.split()]
    # an elided l/d written with a space ("Villeneuve d Ascq") reads as with its apostrophe
    out: list[str] = []
    i = 0
    while i < len(words):
        if words[i] in _ELISIONS and i + 1 < len(words):
            out.append(words[i] + words[i + 1])
            i += 2
        else:
            out.append(words[i])
            i += 1
    return out


def _key(name: object) -> str:
    words = _words(name)
    while len(words) > 1 and words[0] in _ARTICLES:
        words = words[1:]
    return " ".join(words)


@functools.lru_cache(maxsize=65536)
def key(name: object) -> str:
    """Comparison key of a commune name: accents, case, punctuation and a leading article written
    as a word (Le, La, Les) ignored, "St"/"Ste" read "Saint"/"Sainte", an apostrophe removed and
    an elided l or d glued to the next word, apostrophe or not.

    "St-Étienne-les-Orgues" → "saint etienne les orgues", "Œuilly" → "oeuilly", "LES MÉES" →
    "mees", "Villeneuve d Ascq" → "villeneuve dascq", "L'Haÿ-les-Roses" → "lhay les roses" (as
    typed "lhay les roses": the elided article stays glued; the index also knows every name
    without its article, see :func:`name_keys`).
    """
    return _key(name)


def name_keys(name: object) -> tuple[str, ...]:
    """Every key under which the index files a reference name: :func:`key`, plus the key without
    an elided article and the key with a leading article glued ("L'Abergement-Clémenciat" →
    "labergement clemenciat", "abergement clemenciat"; "Le Mans" → "mans", "lemans")."""
    words = _words(name)
    out = [_key(name)]
    if _ELIDED.match(str(name)) and len(words[0]) > 1:
        out.append(" ".join([words[0][1:], *words[1:]]))
    elif len(words) > 1 and words[0] in _ARTICLES:
        out.append(" ".join([words[0] + words[1], *words[2:]]))
    return tuple(dict.fromkeys(k for k in out if k))


def keys(names: Iterable[object]) -> np.ndarray:
    """:func:`key` of many names at once (computed once per distinct value), as an object array."""
    s = np.array([str(v) for v in names], dtype=object)
    codes, uniq = pd.factorize(s)
    folded = np.array([_key(v) for v in uniq], dtype=object)
    return folded[codes] if len(codes) else np.array([], dtype=object)


# ------------------------------------------------------------------------------------------
# Department written after a name
# ------------------------------------------------------------------------------------------

_NAME_DEP_RE = re.compile(r"^(.*?)[\s,;]*[\(\[]?\s*(\d{2,3}|2[ABab])\s*[\)\]]?$")
_LETTER_RE = re.compile(r"[A-Za-zÀ-ÿ]")


def split_dep(text: str) -> tuple[str, str | None]:
    """("Forcalquier (04)") → ("Forcalquier", "04"); "Ajaccio 2A" → ("Ajaccio", "2A");
    a name without a department → (name, None)."""
    m = _NAME_DEP_RE.match(str(text).strip())
    if m and m.group(1) and _LETTER_RE.search(m.group(1)):
        return m.group(1).strip(" ,;-"), m.group(2).upper().zfill(2)
    return str(text).strip(), None


def dep_of(code: str) -> str:
    """Department of a COG code: "04088" → "04", "2A004" → "2A", "97411" → "974"."""
    return code[:3] if code.startswith("97") else code[:2]


# ------------------------------------------------------------------------------------------
# The index
# ------------------------------------------------------------------------------------------


class Entry(NamedTuple):
    """One name of the index: the commune's code, the name as written, its department, its kind
    (current, arrondissement, deleguee, associee, former) and the rank of that kind
    (:data:`KIND_RANK`). Near-name searches fill ``score`` (1 = same key), suggestions ``why``."""

    code: str
    nom: str
    dep: str
    kind: str
    rank: int
    score: float = 1.0
    why: str = ""


@dataclass(frozen=True, eq=False)
class NameIndex:
    """Names of the reference with their keys, sorted by key, then kind rank, then code.

    ``frame`` columns: ``code``, ``nom``, ``dep``, ``kind``, ``key``, ``rank`` (:data:`KIND_RANK`),
    ``current`` (code valid in COG 2026); ``records`` the same rows as :class:`Entry`. ``ukeys``
    are the distinct keys in order and ``starts[i]:starts[i + 1]`` the rows of ``ukeys[i]``.
    A name with a leading article has a second row (see :func:`name_keys`).
    """

    frame: pd.DataFrame
    ukeys: list[str]
    starts: np.ndarray
    position: dict[str, int]
    records: list[Entry]

    def entries(self, k: str) -> list[Entry]:
        i = self.position.get(k)
        return [] if i is None else self.records[self.starts[i]:self.starts[i + 1]]


@functools.cache
def index() -> NameIndex:
    """The cached index (built on first use: about 1 s, most of it computing 40,000 keys)."""
    names = reference.load_names()
    # object columns: hash-based isin and fast iteration (arrow strings loop in Python)
    base = pd.DataFrame({c: pd.Series(names[c].to_numpy(dtype=object), dtype=object)
                         for c in ("code", "nom", "dep", "kind")})
    base["key"] = pd.Series(keys(base["nom"].tolist()), dtype=object)
    # names with a leading article are also filed without it (elided) or with it glued
    art = base["nom"].str.match(r"(?i)^\s*(l['’ʼ`´]|les?\W|la\W)").to_numpy(dtype=bool)
    extra = base[art].copy()
    extra["key"] = [next(iter(name_keys(n)[1:]), k)
                    for n, k in zip(extra["nom"].tolist(), extra["key"].tolist(), strict=True)]
    frame = pd.concat([base, extra[extra["key"].to_numpy() != base.loc[art, "key"].to_numpy()]],
                      ignore_index=True)
    frame["rank"] = frame["kind"].map(KIND_RANK).fillna(9).astype(int)
    frame["current"] = frame["kind"].isin(["current", "arrondissement"]).to_numpy()
    frame = frame.sort_values(["key", "rank", "code"], kind="stable").reset_index(drop=True)
    k = frame["key"].to_numpy(dtype=object)
    first = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    ukeys = k[first].tolist()
    starts = np.r_[first, len(k)]
    records = [Entry(*r) for r in zip(frame["code"].tolist(), frame["nom"].tolist(), frame["dep"].tolist(),
                                      frame["kind"].tolist(), frame["rank"].tolist(), strict=True)]
    return NameIndex(frame, ukeys, starts, {u: i for i, u in enumerate(ukeys)}, records)


def _depset(deps: Iterable[str] | str | None) -> frozenset[str] | None:
    if deps is None:
        return None
    return frozenset({deps} if isinstance(deps, str) else deps)


def lookup(name: str, deps: Iterable[str] | str | None = None) -> list[Entry]:
    """Every name of the reference whose key equals ``key(name)`` (within departments ``deps``
    if given), best kinds first (current names, then delegated/associated, then former)."""
    out = index().entries(key(name))
    ds = _depset(deps)
    return out if ds is None else [e for e in out if e.dep in ds]


def prefix(text: str, deps: Iterable[str] | str | None = None, limit: int | None = 20,
           current_only: bool = False, whole_words: bool = False) -> list[Entry]:
    """Names whose key starts with ``key(text)``, shortest keys first ("forcalq" → Forcalquier,
    then Forcalqueiret), within ``deps`` if given; ``whole_words``: names that add words to the
    text ("Saint-Vincent" → Saint-Vincent-sur-Jabron, not Saint-Vincentais). An empty query finds
    nothing."""
    k = key(text)
    if not k:
        return []
    if whole_words:
        k += " "
    idx = index()
    lo = bisect.bisect_left(idx.ukeys, k)
    hi = bisect.bisect_left(idx.ukeys, k + "\x7f")
    ds = _depset(deps)
    hits = [(len(idx.ukeys[i]), e.rank, e.code, e)
            for i in range(lo, hi) for e in idx.records[idx.starts[i]:idx.starts[i + 1]]
            if (ds is None or e.dep in ds) and (not current_only or e.rank <= 1)]
    hits.sort(key=lambda h: h[:3])
    seen: set[tuple[str, str]] = set()
    rows = []
    for *_, e in hits:
        if (e.code, e.nom) not in seen:
            seen.add((e.code, e.nom))
            rows.append(e)
    return rows if limit is None else rows[:limit]


# --- near names: trigram index over the distinct keys ----------------------------------------


@dataclass(frozen=True, eq=False)
class _Trigrams:
    grams: np.ndarray  # sorted distinct trigram codes
    offsets: np.ndarray  # postings of grams[i]: keys[offsets[i]:offsets[i + 1]]
    keys: np.ndarray  # key ids (positions in NameIndex.ukeys)
    count: np.ndarray  # number of distinct trigrams of each key
    chars: np.ndarray  # (keys × 37) count of each character (a-z, 0-9, space) in each key
    length: np.ndarray  # length of each key


def _char_codes(b: np.ndarray) -> np.ndarray:
    """Column of each ASCII byte of a key in ``_Trigrams.chars``: a-z → 0-25, 0-9 → 26-35, space → 36."""
    return np.where(b >= 97, b - 97, np.where(b >= 48, b - 22, 36))


_COMMON = 1500  # postings above which a trigram counts as common


def _padded(k: str) -> bytes:
    return ("  " + k + " ").encode("ascii")


@functools.cache
def _trigrams() -> _Trigrams:
    ukeys = index().ukeys
    blobs = [_padded(k) for k in ukeys]
    lengths = np.fromiter((len(b) for b in blobs), dtype=np.int64, count=len(blobs))
    buf = np.frombuffer(b"".join(blobs), dtype=np.uint8).astype(np.int64)
    ends = np.cumsum(lengths)
    per = lengths - 2  # trigrams per padded key
    owner = np.repeat(np.arange(len(blobs)), per)
    local = np.arange(int(per.sum())) - np.repeat(np.cumsum(per) - per, per)
    pos = np.repeat(ends - lengths, per) + local
    codes = (buf[pos] << 16) | (buf[pos + 1] << 8) | buf[pos + 2]
    pairs = np.sort(codes * len(blobs) + owner)  # sort-based distinct: faster than np.unique here
    pairs = pairs[np.r_[True, pairs[1:] != pairs[:-1]]]
    gram, kid = np.divmod(pairs, len(blobs))
    first = np.flatnonzero(np.r_[True, gram[1:] != gram[:-1]])
    # character counts (what difflib's quick_ratio compares), with the 3 padding spaces removed
    owner_b = np.repeat(np.arange(len(blobs)), lengths)
    chars = np.bincount(owner_b * 37 + _char_codes(buf), minlength=len(blobs) * 37).reshape(len(blobs), 37)
    chars[:, 36] -= 3
    return _Trigrams(gram[first], np.r_[first, len(gram)], kid, np.bincount(kid, minlength=len(blobs)),
                     chars.astype(np.int16), lengths - 3)


def _query_grams(k: str) -> np.ndarray:
    b = _padded(k)
    return np.unique(np.array([(b[i] << 16) | (b[i + 1] << 8) | b[i + 2] for i in range(len(b) - 2)],
                              dtype=np.int64))


@functools.lru_cache(maxsize=256)
def _key_mask(deps: frozenset[str] | None, former: bool = False) -> np.ndarray:
    """Keys that have at least one current name (any name with ``former``), in ``deps`` when given."""
    idx = index()
    f = idx.frame
    cur = np.ones(len(f), dtype=bool) if former else f["current"].to_numpy()
    hit = cur if deps is None else cur & f["dep"].isin(deps).to_numpy()
    kid = np.searchsorted(idx.starts, np.flatnonzero(hit), side="right") - 1
    mask = np.zeros(len(idx.ukeys), dtype=bool)
    mask[kid] = True
    return mask


@functools.lru_cache(maxsize=64)
def _postings(k: str) -> tuple[int, np.ndarray, np.ndarray]:
    """Number of trigrams of key ``k``, and the keys sharing trigrams with it with the count of
    trigrams shared (cached: :func:`cpts_geo.normalise_codes` asks for current names, then for
    former names, of the same unknown name)."""
    tg = _trigrams()
    q = _query_grams(k)
    at = np.minimum(np.searchsorted(tg.grams, q), len(tg.grams) - 1)
    at = at[tg.grams[at] == q]
    if not len(at):
        return len(q), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    # very common trigrams (" sa", "int", "es "…) are skipped when enough rarer ones remain: they
    # would make most of the work and rank little
    sizes = tg.offsets[at + 1] - tg.offsets[at]
    if (sizes <= _COMMON).sum() >= 3:
        at = at[sizes <= _COMMON]
    post = np.concatenate([tg.keys[tg.offsets[i]:tg.offsets[i + 1]] for i in at])
    cand, common = np.unique(post, return_counts=True)
    return len(q), cand, common


@functools.lru_cache(maxsize=4096)
def _ratio(k: str, kid: int) -> float:
    """difflib's ratio between key ``k`` and indexed key ``kid`` (cached, as :func:`_postings`)."""
    return difflib.SequenceMatcher(None, index().ukeys[kid], k, autojunk=False).ratio()


@functools.cache
def _longest_key() -> int:
    return max(map(len, index().ukeys))


def near(name: str, deps: Iterable[str] | str | None = None, n: int = 5, cutoff: float = 0.75,
         pool: int = 30, former: bool = False) -> list[Entry]:
    """Current communes whose name is close to ``name`` (typos, a letter missing or swapped),
    best first, at most ``n``, within ``deps`` if given; ``score`` is the similarity. With
    ``former``, delegated, associated and former names too (their ``code`` may be a code that no
    longer exists: :func:`cpts_geo.normalise_codes` converts it through the code history).

    The ``pool`` keys sharing most trigrams with the query are scored with
    :class:`difflib.SequenceMatcher`; those with a ratio ≥ ``cutoff`` are kept. The cost is
    bounded by ``pool``, not by the size of the reference. Exact matches come first (score 1).
    """
    k = key(name)
    if not k or len(k) > _longest_key() * (2 - cutoff) / cutoff:
        # difflib's ratio is at most 2·min(len)/(sum of lens): a text that long (a garbage cell,
        # a pasted paragraph) cannot reach the cutoff with any name; its cost stays bounded
        return []
    idx, tg = index(), _trigrams()
    n_grams, cand, common = _postings(k)
    if not len(cand):
        return []
    ds = _depset(deps)
    keep = _key_mask(ds, former)[cand]
    cand, common = cand[keep], common[keep]
    if not len(cand):
        return []
    dice = common / (n_grams + tg.count[cand])
    if len(cand) > pool:
        keep = np.argpartition(-dice, pool - 1)[:pool]
        cand = cand[keep]
    # difflib's quick_ratio (an upper bound of its ratio), vectorised over the candidates
    qchars = np.bincount(_char_codes(np.frombuffer(k.encode("ascii"), dtype=np.uint8).astype(np.int64)),
                         minlength=37)
    bound = 2 * np.minimum(tg.chars[cand], qchars).sum(axis=1) / (len(k) + tg.length[cand])
    cand = cand[bound >= cutoff]
    scored = []
    for kid in cand.tolist():
        r = _ratio(k, kid)
        if r >= cutoff:
            scored.append((-r, idx.ukeys[kid], kid))
    scored.sort()
    out: list[Entry] = []
    seen: set[str] = set()
    for r, _, kid in scored:
        for e in idx.records[idx.starts[kid]:idx.starts[kid + 1]]:
            if (e.rank <= 1 or former) and (ds is None or e.dep in ds) and e.code not in seen:
                seen.add(e.code)
                out.append(e._replace(score=round(-r, 4)))
    return out[:n]


def suggest(name: str, deps: Iterable[str] | str | None = None, n: int = 5) -> list[Entry]:
    """Suggestions for a name not found, ``why`` saying which kind: within ``deps``, current
    communes whose name extends it word by word ("Saint-Vincent" in 04 →
    Saint-Vincent-sur-Jabron, "nom plus long"); then near names ("nom proche"). Nationally a bare
    "Saint-Vincent" would extend to dozens of names: only near names are given."""
    k = key(name)
    if not k:
        return []
    out = [e._replace(why="nom plus long") for e in prefix(k, deps, limit=n, current_only=True, whole_words=True)] \
        if deps is not None else []
    seen = {e.code for e in out}
    for e in near(name, deps, n=n):
        if e.code not in seen:
            out.append(e._replace(why="nom proche"))
            seen.add(e.code)
    return out[:n]


def frame(entries: Iterable[Entry]) -> pd.DataFrame:
    """Search results as a DataFrame (columns of :class:`Entry`)."""
    return pd.DataFrame(list(entries), columns=list(Entry._fields))


# ------------------------------------------------------------------------------------------
# Homonyms
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """Outcome of :func:`resolve_homonyms`: the chosen row (or None) among ``candidates``, and
    ``reason`` — the context that decided, in French ("" when nothing was chosen)."""

    chosen: str | None
    candidates: tuple[str, ...]
    reason: str


def resolve_homonyms(codes: Iterable[str], deps: Iterable[str], area: Iterable[str] | None = None,
                     group: Iterable[str] | None = None) -> Choice:
    """Choose among homonyms ``codes`` (codes of current communes) from their context.

    Contexts, in order, each narrowing what the previous ones left: ``area`` (departments of the
    analysed area), ``group`` (departments of the other entries of the same CPTS), ``deps``
    (departments of the listing's unambiguous entries). A context that keeps none or all of the
    remaining candidates is skipped. The choice is made only when exactly one candidate is left;
    otherwise ``chosen`` is None (never guessed).
    """
    cands = tuple(dict.fromkeys(codes))
    contexts = []
    if area is not None:
        contexts.append((frozenset(area), "zone analysée"))
    if group is not None:
        contexts.append((frozenset(group), "départements des autres communes de la même CPTS"))
    contexts.append((frozenset(deps), "départements des autres communes de la liste"))
    left, why = cands, []
    for ctx, label in contexts:
        inside = tuple(c for c in left if dep_of(c) in ctx)
        if not inside or len(inside) == len(left):
            continue
        shown = fr.enumeration(sorted(ctx), limit=6)
        left = inside
        why.append(f"{label} : {shown}")
        if len(left) == 1:
            return Choice(left[0], cands, " ; ".join(why))
    return Choice(None, cands, "")


# ------------------------------------------------------------------------------------------
# The same key in JavaScript (maps' search box)
# ------------------------------------------------------------------------------------------

#: JavaScript of the maps' search box: ``norm(s)`` is :func:`key` (the search payload carries the
#: Python keys of the names; tests check both agree on every name of the reference) and
#: ``findIn(idx, q)`` finds a query in ``idx`` (objects {c: row, k: key, k2: second key or null
#: (:func:`name_keys`), code}): a code, else the exact key, else the shortest key starting with the
#: query; an empty query finds nothing.
JS_SEARCH = r"""function norm(s) {
  var w = String(s).replace(/œ/g, 'oe').replace(/Œ/g, 'OE').replace(/æ/g, 'ae').replace(/Æ/g, 'AE')
    .replace(/ß/g, 'ss').replace(/['’ʼ`´]/g, '').normalize('NFKD').replace(/[^\x00-\x7f]/g, '')
    .toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim().split(' ').filter(function(x) { return x; })
    .map(function(x) { return x === 'st' ? 'saint' : x === 'ste' ? 'sainte' : x === 'sts' ? 'saints'
      : x === 'stes' ? 'saintes' : x; });
  var g = [];
  for (var i = 0; i < w.length; i++) {
    if ((w[i] === 'l' || w[i] === 'd') && i + 1 < w.length) { g.push(w[i] + w[i + 1]); i++; }
    else g.push(w[i]);
  }
  w = g;
  while (w.length > 1 && (w[0] === 'le' || w[0] === 'la' || w[0] === 'les' || w[0] === 'l')) w.shift();
  return w.join(' ');
}
function findIn(idx, q) {
  q = String(q || '');
  var code = (q.match(/\b(\d[\dAB]\d{3})\b/i) || [])[1];
  if (code) { var byCode = idx.filter(function(e) { return e.code === code.toUpperCase(); });
    if (byCode.length) return byCode[0].c; }
  var name = norm(q.replace(/\(.*\)/, ''));
  if (!name) return null;
  var exact = idx.filter(function(e) { return e.k === name || e.k2 === name; });
  if (exact.length) return exact[0].c;
  var start = idx.filter(function(e) { return e.k.indexOf(name) === 0 || (e.k2 || '').indexOf(name) === 0; });
  start.sort(function(a, b) { return a.k.length - b.k.length; });
  return start.length ? start[0].c : null;
}"""
