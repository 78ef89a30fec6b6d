"""The local web app of ``cpts-geo app``: a Starlette application served by uvicorn.

:func:`create_app` prepares once, at start-up, everything the requests share read-only: the
existing listing (:func:`cpts_geo.validation.prepare_existing`), the simplified communes of the
area as GeoJSON (simplified as the coverage maps are, :func:`cpts_geo.maps.build_layers`) and
the search table. Requests carry the whole proposal (the page holds it): the server keeps no
state a second user could see.

API (JSON in and out, French error messages, never a traceback or a server path):

- ``GET /api/config``: the area, the existing CPTS and their communes, the starting proposal;
- ``GET /api/communes``: GeoJSON of the area's communes (``code``, ``nom``, ``dep``,
  ``population``, ``cpts``, ``white``: known and covered by no CPTS, ``nb``: neighbours on land
  in the area) and of the CPTS labels;
- ``GET /api/search?q=``: communes by name, name prefix, INSEE code or postcode;
- ``POST /api/check`` ``{"codes": [...], "name": "...", "replaces": [...]}``: the validation
  report exactly as ``cpts-geo validate --json`` writes it;
- ``POST /api/import?filename=…`` (the file as the body): the communes of a proposal file;
- ``POST /api/export/{csv,xlsx,geojson,gpkg,html,pdf}``: the proposal as a listing (one row per
  commune, ``cpts;code_insee;nom``), its outline, or the validation report page.
"""

from __future__ import annotations

import io
import json
import logging
import re
import tempfile
import threading
import unicodedata
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pandas as pd
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from cpts_geo import fr, names, reference
from cpts_geo._version import __version__
from cpts_geo.errors import CptsGeoError, OptionError
from cpts_geo.io import html_safe

STATIC = Path(__file__).resolve().parent / "static"
LEAFLET = Path(__file__).resolve().parent.parent / "maps" / "vendor" / "leaflet"

#: largest request body accepted (bytes)
MAX_BODY_BYTES = 1_000_000
#: deepest nesting of arrays and objects accepted in a JSON body (a proposal needs 2)
MAX_JSON_DEPTH = 20
#: largest number of communes in a proposal
MAX_CODES = 5000
#: longest territory name / commune value / search query (characters)
MAX_NAME = 200
MAX_VALUE = 100
MAX_QUERY = 100
#: search results returned
SEARCH_LIMIT = 20
#: listings prepared for distinct ``replaces`` choices kept in memory
LISTING_CACHE = 8
#: the shape of an INSEE code (the direct proposal is tried only for such values)
_CODE_SHAPE = re.compile(r"\d[\dAB]\d{3}")
#: hosts accepted in the Host header when the app listens on the loopback interface
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1", "testserver")

EXPORT_KINDS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
}

log = logging.getLogger("cpts_geo.app")


class ApiError(Exception):
    """A request the API refuses: HTTP status and French message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


# ------------------------------------------------------------------------------------------
# Start-up: the shared, read-only state
# ------------------------------------------------------------------------------------------


def _area_departments(region: object, departments: object, listing_deps: frozenset) -> list[str]:
    """Departments shown on the map: those of ``region`` / ``departments``, else the listing's."""
    deps_ref = reference.load_departements()
    known = set(deps_ref["code"])
    out: list[str] = []
    regions = [region] if isinstance(region, str) else list(region or [])
    for r in regions:
        r = str(r).strip().zfill(2)
        found = deps_ref.loc[deps_ref["region"].astype(str) == r, "code"].tolist()
        if not found:
            raise OptionError("region", r, "région inconnue du COG " + str(reference.COG_YEAR))
        out += found
    deps = [departments] if isinstance(departments, str) else list(departments or [])
    for d in deps:
        d = str(d).strip().upper().zfill(2)
        if d not in known:
            raise OptionError("departments", d, "département inconnu du COG " + str(reference.COG_YEAR))
        out.append(d)
    if not out:
        out = sorted(listing_deps)
    if not out:
        raise OptionError("departments", "aucun",
                          "sans liste de CPTS existantes, indiquer la région ou les départements à afficher")
    return sorted(dict.fromkeys(out))


def _tiles(tiles: str | None) -> dict | None:
    """URL template and attribution of an online background (None: blank, offline)."""
    if not tiles:
        return None
    if "{z}" in tiles and tiles.startswith(("http://", "https://")):
        return {"url": tiles, "attribution": "Fond de carte : " + html_safe.escape(tiles.split("/")[2])}
    try:
        import xyzservices

        p = xyzservices.providers.query_name(tiles)
    except (ImportError, ValueError) as exc:
        raise OptionError("tiles", tiles, "fond de carte inconnu (ex. « OpenStreetMap », "
                          "« CartoDB positron » ou une adresse https://…/{z}/{x}/{y}.png)") from exc
    return {"url": p.build_url(), "attribution": p.get("html_attribution") or p.get("attribution", "")}


def _slug(text: str) -> str:
    s = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", s).strip("-")[:60] or "territoire"


class AppState:
    """Everything the requests share, built once and then only read."""

    def __init__(self, existing: object = None, region: object = None, departments: object = None,
                 replaces: tuple[str, ...] | list[str] | str | None = None, apl: object = None,
                 tiles: str | None = None, title: str | None = None, apl_cog: int | None = None) -> None:
        from cpts_geo.indicators.apl_official import require_official_apl
        from cpts_geo.validation import prepare_existing

        require_official_apl(apl, "apl")  # refused before the listing is prepared
        self.existing = existing
        self.apl, self.apl_cog = apl, apl_cog
        self.base = prepare_existing(existing)
        self._listings: OrderedDict[tuple[str, ...], object] = OrderedDict({(): self.base})
        self._lock = threading.Lock()
        replaces = (replaces,) if isinstance(replaces, str) else tuple(replaces or ())
        unknown = [r for r in replaces if r not in self.base.cpts_names]
        if unknown:
            raise OptionError("replaces", unknown[0], "CPTS absente de la liste existante")
        self.area_deps = _area_departments(region, departments, self.base.known_deps)
        # departments given: the listing's coverage is known there only (as `validate --departement`),
        # e.g. the sample on 04, 05, 84 although three of its CPTS reach into 06, 13 and 83
        self.known = None
        if departments is not None and existing is not None:
            self.known = [d for d in self.area_deps if d in self.base.known_deps]
            self.base = prepare_existing(existing, self.known)
            self._listings = OrderedDict({(): self.base})
        self.tiles = _tiles(tiles)
        # the units of the core, at the level of the listing: Paris, Lyon and Marseille by
        # arrondissement when the listing names arrondissements there, as diagnose and validate do
        from cpts_geo.members import arrondissement_cities

        self.level = arrondissement_cities(self.base.members["code"].to_numpy(dtype=object))
        self.cov = self.base.coverage(self.level)
        cov = self.cov
        self.in_area = np.isin(cov.dep, self.area_deps)
        self.white = cov.known & (cov.n_cpts == 0)
        inc = cov.incidence  # the units of each CPTS at this level (a whole city listed: its arrondissements)
        bounds = np.searchsorted(inc.group, np.arange(inc.n_groups + 1))
        codes = inc.units.code[inc.unit]
        self.cpts_codes = {str(n): sorted(codes[bounds[k]:bounds[k + 1]].tolist()) for k, n in enumerate(inc.names)}
        start_codes: list[str] = []
        for r in replaces:
            start_codes += [c for c in self.cpts_codes.get(r, []) if c not in start_codes]
        self.start = {"codes": start_codes, "replaces": list(replaces),
                      "name": replaces[0] if len(replaces) == 1 else ""}
        dep_names = reference.load_departements().set_index("code")["nom"]
        area_label = ", ".join(f"{dep_names.get(d, d)} ({d})" for d in self.area_deps)
        self.config = {
            "title": title or "Composer un territoire de CPTS",
            "area": area_label,
            "departments": self.area_deps,
            "listing": self.base.source,
            "listing_given": self.base.given,
            "cpts": [{"name": n, "n_units": len(self.cpts_codes.get(n, ()))} for n in self.base.cpts_names],
            "cpts_codes": self.cpts_codes,
            "start": self.start,
            "tiles": self.tiles,
            "population_year": reference.POPULATION_YEAR,
            "cog": reference.COG_YEAR,
            "apl": apl is not None,
            "version": __version__,
            "limits": {"codes": MAX_CODES, "body_bytes": MAX_BODY_BYTES},
        }
        self._plain: dict[str, str | None] = {}  # value → name when a plain current code, else None
        self.communes_json = json.dumps(self._communes(), ensure_ascii=False,
                                        separators=(",", ":")).encode("utf-8")
        self._search_table()

    # -- map data ----------------------------------------------------------------------------
    def _communes(self) -> dict:
        """Simplified communes of the area (EPSG:4326) with their CPTS and white-zone flag, and
        one label point per existing CPTS."""
        from cpts_geo import crs as _crs
        from cpts_geo.maps import build_layers
        from cpts_geo.maps.layers import label_points
        from cpts_geo.maps.style import neighbour_colors

        cov, mask = self.cov, self.in_area
        idx = np.flatnonzero(mask)
        units = pd.DataFrame({
            "code": cov.codes[idx], "nom": cov.noms[idx], "dep": cov.dep[idx],
            "population": cov.population[idx], "cpts": list(cov.cpts_of[idx]),
            "n_cpts": cov.n_cpts[idx],
        })
        # each CPTS's units of the area, from the incidence (sorted by CPTS, then unit)
        inc = cov.incidence
        sel = mask[inc.unit]
        g, u = inc.group[sel], inc.unit[sel]
        present = np.unique(g)
        bounds = np.searchsorted(g, np.r_[present, inc.n_groups])
        per = pd.DataFrame({"cpts": pd.Series(inc.names[present], dtype=object),
                            "codes": pd.Series([tuple(cov.codes[u[bounds[k]:bounds[k + 1]]]) for k in range(len(present))],
                                               dtype=object)})
        white_codes = tuple(cov.codes[idx][self.white[idx]])
        wz = pd.DataFrame({"zone_id": [1], "codes": [white_codes]}) if white_codes else \
            pd.DataFrame({"zone_id": [], "codes": []})
        layers = build_layers({"units": units, "perimeters": per, "white_zones": wz,
                               "meta": {"listing_source": self.base.source}})
        pg = layers.perimeters[layers.perimeters.geometry.notna()].reset_index(drop=True)
        colors = dict(zip(pg["cpts"], neighbour_colors(pg.geometry.to_numpy()), strict=True)) if len(pg) else {}
        u = layers.units
        white = dict(zip(cov.codes[idx], self.white[idx], strict=True))
        known = dict(zip(cov.codes[idx], cov.known[idx], strict=True))
        pts = u.geometry.representative_point()
        # neighbours on land within the area (keyboard users add them from a list)
        pos = {c: i for i, c in enumerate(cov.codes)}
        shown = set(cov.codes[idx])
        graph = cov.graph
        feats = []
        for row, geom, pt in zip(u.itertuples(index=False), u.geometry, pts, strict=True):
            feats.append({"type": "Feature", "geometry": geom.__geo_interface__, "properties": {
                "code": row.code, "nom": row.nom, "dep": row.dep,
                "population": None if pd.isna(row.population) else int(row.population),
                "cpts": list(row.cpts), "white": bool(white.get(row.code)),
                "known": bool(known.get(row.code)),
                "nb": [str(c) for c in cov.codes[graph[pos[row.code]].indices] if c in shown] if row.code in pos else [],
                "pt": [round(pt.y, 5), round(pt.x, 5)]}})
        labels = []
        # rank: larger CPTS first when names are decluttered on the page
        area = pg.to_crs(_crs.LOCAL_CRS["metropole"]).area.to_numpy() if len(pg) else np.array([])
        rank = np.empty(len(pg), dtype=int)
        rank[np.argsort(-area, kind="stable")] = np.arange(len(pg))
        for name, p, r in zip(pg["cpts"], label_points(pg, layers.units), rank, strict=True):
            labels.append({"name": name, "pt": [round(p.y, 5), round(p.x, 5)], "color": colors[name],
                           "rank": int(r)})
        outlines = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": g.__geo_interface__, "properties": {"cpts": n, "color": colors[n]}}
            for n, g in zip(pg["cpts"], pg.geometry, strict=True)]}
        return {"type": "FeatureCollection", "features": feats, "labels": labels, "perimeters": outlines,
                "colors": colors, "tolerance_m": layers.tolerance_m,
                "sources": {"geometry": reference.SOURCES_FR["geometry"],
                            "population": reference.SOURCES_FR["population"]}}

    # -- search ------------------------------------------------------------------------------
    def _search_table(self) -> None:
        cov = self.cov
        self.unit_pos = {c: i for i, c in enumerate(cov.codes)}
        ref = reference.load_communes()
        codes = ref["code"].tolist()  # plain lists: iterating arrow columns is slow
        self.parent = {c: p for c, p in zip(codes, ref["parent"].tolist(), strict=True) if isinstance(p, str)}
        pops = ref["population"].astype("float64").tolist()
        self.ref_info = dict(zip(codes, zip(ref["nom"].tolist(), ref["dep"].tolist(), pops, strict=True),
                                 strict=True))
        postal = reference.load_postal()
        self.postal: dict[str, list[str]] = {}
        for cp, c in zip(postal["code_postal"].tolist(), postal["code"].tolist(), strict=True):
            self.postal.setdefault(cp, []).append(c)
        self.postal_keys = sorted(self.postal)

    def describe(self, code: str) -> dict | None:
        """One search result: code, name, department, population and current CPTS."""
        info = self.ref_info.get(code)
        if info is None:
            return None
        nom, dep, pop = info
        pos = self.unit_pos.get(code)
        if pos is None and isinstance(self.parent.get(code), str):  # arrondissement → its city
            pos = self.unit_pos.get(self.parent[code])
        units = None
        if pos is not None:
            cpts, white = list(self.cov.cpts_of[pos]), bool(self.white[pos])
        elif code in self.level:  # a city analysed by arrondissement: what its arrondissements have
            units = [a for a in reference.plm_arrondissements(code) if a in self.unit_pos]
            arr = [self.unit_pos[a] for a in units]
            cpts = sorted({c for a in arr for c in self.cov.cpts_of[a]})
            white = bool(arr) and bool(self.white[arr].all())
        else:
            cpts, white = [], False
        out = {"code": code, "nom": nom, "dep": dep,
               "population": None if pd.isna(pop) else int(pop), "cpts": cpts,
               "white": white, "in_area": dep in self.area_deps}
        if units is not None:  # the page adds these units (the map's), not the city
            out["units"] = units
        return out

    def search(self, q: str) -> list[dict]:
        q = q.strip()
        codes: list[str] = []
        digits = q.replace(" ", "")
        if re.fullmatch(r"\d[\dABab]\d{0,3}", digits):
            d = digits.upper()
            if len(d) == 5 and d in self.ref_info:
                codes.append(d)
            if d.isdigit():  # postcodes starting with the digits typed
                i = np.searchsorted(self.postal_keys, d)
                while i < len(self.postal_keys) and self.postal_keys[i].startswith(d) and len(codes) < 200:
                    codes += self.postal[self.postal_keys[i]]
                    i += 1
        elif q:
            codes = search_names(q)
        seen: set[str] = set()
        out = []
        for c in codes:
            if c not in seen:
                seen.add(c)
                r = self.describe(c)
                if r is not None:
                    out.append(r)
        out.sort(key=lambda r: not r["in_area"])  # stable: the area's communes first
        return out[:SEARCH_LIMIT]

    # -- validation --------------------------------------------------------------------------
    def listing_for(self, replaces: tuple[str, ...]) -> object:
        """The existing listing without the replaced CPTS (prepared once per choice, bounded)."""
        from cpts_geo.validation import prepare_existing

        with self._lock:
            if replaces in self._listings:
                self._listings.move_to_end(replaces)
                return self._listings[replaces]
        unknown = [r for r in replaces if r not in self.base.cpts_names]
        if unknown:
            raise ApiError(400, f"CPTS à remplacer absente de la liste existante : « {unknown[0]} »")
        listing = prepare_existing(self.existing, self.known, replaces)
        with self._lock:
            self._listings[replaces] = listing
            while len(self._listings) > LISTING_CACHE:
                self._listings.popitem(last=False)
        return listing

    def _plain_names(self, codes: list[str]) -> list[str] | None:
        """Names of ``codes`` when every one is a current commune code that the proposal reader
        keeps as it is, without a message (not Paris / Lyon / Marseille, not an arrondissement);
        else None. ``normalise_codes`` decides, once per distinct value (remembered)."""
        from cpts_geo.codes import normalise_codes

        known = self._plain
        todo = list(dict.fromkeys(c for c in codes if c not in known))
        if todo:
            if not all(_CODE_SHAPE.fullmatch(c) for c in todo):
                return None  # names and other values: the reader and its reports
            norm = normalise_codes(todo)
            for value, code, status, message, nom in zip(
                    norm["input"].tolist(), norm["code"].tolist(), norm["status"].tolist(),
                    norm["message"].tolist(), norm["nom"].tolist(), strict=True):
                plain = (status == "current" and not (isinstance(message, str) and message) and code == value
                         and value not in reference.PLM_CITIES)
                known[value] = nom if plain else None
        names = [known[c] for c in codes]
        return None if any(n is None for n in names) else names

    def proposal(self, codes: list[str], name: str | None):
        """The proposal of a list of distinct current commune codes, built directly as the
        proposal reader builds it (same frames: ``tests/test_app.py`` compares them), or None
        for any other list (names, old or repeated codes, arrondissements…), which goes through
        the reader and its reports. The page sends such lists: this skips the table reader."""
        from cpts_geo.validation.inputs import DEFAULT_NAME, Proposal

        if len(set(codes)) != len(codes):
            return None
        noms = self._plain_names(codes)
        if noms is None:
            return None
        name = name or DEFAULT_NAME
        n = len(codes)
        rows = np.arange(1, n + 1, dtype=np.int64)
        none = pd.Series([None] * n, dtype=object)
        nat = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
        cpts = pd.Series([name] * n, dtype="str")
        code = pd.Series(codes, dtype="str")
        current = pd.Series(["current"] * n, dtype="str")
        from cpts_geo.postcodes import doubts

        doubt = doubts(codes)  # codes that are also postcodes of other communes, flagged as the reader does
        report = pd.DataFrame({
            "cpts": cpts, "input": code, "dep": none, "stage_input": none, "date_input": none,
            "source_row": rows, "code": code, "status": current,
            "message": pd.Series([doubt.get(c, "") for c in codes], dtype="str"),
            "nom": pd.Series(noms, dtype="str"), "stage": none, "date": nat,
            "duplicate": np.zeros(n, dtype=bool), "postcode_doubt": np.array([c in doubt for c in codes], dtype=bool)})
        members = pd.DataFrame({"cpts": cpts, "code": code, "stage": none, "date": nat, "source_row": rows,
                                "input": pd.Series(codes, dtype=object), "status": current})
        return Proposal(name, members, report, [(c, None) for c in codes], "liste", "liste", "position")

    def validate(self, codes: list[str], name: str | None, replaces: tuple[str, ...]):
        from cpts_geo.validation import validate_territory

        listing = self.listing_for(replaces)
        proposal = self.proposal(codes, name)
        try:
            return validate_territory(codes if proposal is None else proposal, listing, name=name or None,
                                      replaces=replaces, apl=self.apl, apl_cog=self.apl_cog)
        except CptsGeoError as exc:
            raise ApiError(400, _public(str(exc))) from exc


def search_names(q: str) -> list[str]:
    """Codes of current communes whose name starts like ``q`` (accents, case, hyphens and a
    leading article ignored), shortest names first, through the one commune-name index."""
    return [e.code for e in names.prefix(q, limit=200, current_only=True)]


def _public(message: str) -> str:
    """A message without any absolute file path of the server."""
    return re.sub(r"(?:[A-Za-z]:)?[\\/](?:[^\s\\/«»:;,()]+[\\/])+([^\s\\/«»:;,()]+)", r"\1", message)


# ------------------------------------------------------------------------------------------
# Requests
# ------------------------------------------------------------------------------------------


async def _read_body(request: Request, too_big: str) -> bytearray:
    """The request body, refused (413, ``too_big`` in French) beyond MAX_BODY_BYTES, whether the
    client states its length or streams it."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise ApiError(413, f"{too_big} : au plus {fr.integer(MAX_BODY_BYTES)} octets")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise ApiError(413, f"{too_big} : au plus {fr.integer(MAX_BODY_BYTES)} octets")
    return body


def json_depth(body: bytes) -> int:
    r"""Deepest nesting of ``[`` and ``{`` in a JSON text (brackets inside strings ignored),
    counted without parsing and in linear time, so that a hostile body never reaches the
    recursive parser.

    >>> json_depth(b'{"codes": ["04088", "[[\\"["]}'), json_depth(b"[" * 1000)
    (2, 1000)
    """
    chars = np.frombuffer(bytes(body), dtype=np.uint8)
    n = len(chars)
    if not n:
        return 0
    pos = np.arange(n)
    backslash = chars == ord("\\")
    # backslashes right before each position: a quote after an odd number of them is escaped
    last_other = np.maximum.accumulate(np.where(backslash, -1, pos))
    run = np.concatenate(([0], pos[:-1] - last_other[:-1]))
    quote = (chars == ord('"')) & (run % 2 == 0)
    inside = (np.cumsum(quote) - quote) % 2 == 1  # after an odd number of quotes: in a string
    step = np.zeros(n, dtype=np.int64)
    step[((chars == ord("[")) | (chars == ord("{"))) & ~inside & ~quote] = 1
    step[((chars == ord("]")) | (chars == ord("}"))) & ~inside & ~quote] = -1
    return int(np.cumsum(step).max(initial=0))


async def _read_json(request: Request) -> dict:
    ctype = request.headers.get("content-type", "")
    if not ctype.split(";")[0].strip().lower() == "application/json":
        raise ApiError(415, "type de contenu refusé : envoyer du JSON (Content-Type: application/json)")
    body = await _read_body(request, "requête trop volumineuse")
    opening = body.count(b"[") + body.count(b"{")  # a bound, counted in C: the usual body stops here
    if opening > MAX_JSON_DEPTH and json_depth(body) > MAX_JSON_DEPTH:
        raise ApiError(400, f"corps de requête trop imbriqué : au plus {MAX_JSON_DEPTH} niveaux de "
                            "crochets ou d'accolades (une proposition en compte 2)")
    try:
        data = json.loads(bytes(body).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, "corps de requête illisible : un objet JSON en UTF-8 est attendu") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "corps de requête invalide : un objet JSON est attendu, "
                            "par exemple {\"codes\": [\"04088\"]}")
    return data


def _proposal(data: dict) -> tuple[list[str], str | None, tuple[str, ...]]:
    """(codes, name, replaces) of a request body, or a 400 naming the field."""
    unknown = sorted(set(data) - {"codes", "name", "replaces"})
    if unknown:
        raise ApiError(400, f"champ inconnu : « {unknown[0]} » (champs possibles : codes, name, replaces)")
    codes = data.get("codes")
    if not isinstance(codes, list):
        raise ApiError(400, "champ « codes » manquant ou invalide : une liste de codes INSEE est attendue")
    if not codes:
        raise ApiError(400, "proposition vide : ajouter au moins une commune")
    if len(codes) > MAX_CODES:
        raise ApiError(413, f"trop de communes : {fr.integer(len(codes))} données, au plus {fr.integer(MAX_CODES)}")
    clean = []
    for i, c in enumerate(codes, start=1):
        if isinstance(c, bool) or not isinstance(c, (str, int)):
            raise ApiError(400, f"codes, position {i} : un code INSEE (texte) est attendu")
        c = str(c).strip()
        if not c or len(c) > MAX_VALUE:
            raise ApiError(400, f"codes, position {i} : valeur vide ou trop longue")
        clean.append(c)
    name = data.get("name")
    if name is not None and not isinstance(name, str):
        raise ApiError(400, "champ « name » invalide : un texte est attendu")
    name = (name or "").strip()
    if len(name) > MAX_NAME:
        raise ApiError(400, f"nom du territoire trop long : au plus {MAX_NAME} caractères")
    rep = data.get("replaces") or []
    if isinstance(rep, str):
        rep = [rep]
    if not isinstance(rep, list) or not all(isinstance(r, str) for r in rep) or len(rep) > 50:
        raise ApiError(400, "champ « replaces » invalide : une liste de noms de CPTS existantes est attendue")
    return clean, name or None, tuple(dict.fromkeys(r.strip() for r in rep if r.strip()))


def _state(request: Request) -> AppState:
    return request.app.state.cpts


async def page(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "no-store"})


async def escape_js(request: Request) -> Response:
    """The one JavaScript escaping helper (:data:`cpts_geo.io.html_safe.JS_ESCAPE`) as a script."""
    return Response(html_safe.JS_ESCAPE + "\nwindow.cgEscape = cgEscape;\n",
                    media_type="text/javascript; charset=utf-8")


async def config(request: Request) -> Response:
    return JSONResponse(_state(request).config)


async def communes(request: Request) -> Response:
    return Response(_state(request).communes_json, media_type="application/geo+json")


async def search(request: Request) -> Response:
    q = request.query_params.get("q", "")
    if len(q) > MAX_QUERY:
        raise ApiError(400, f"recherche trop longue : au plus {MAX_QUERY} caractères")
    st = _state(request)
    results = await run_in_threadpool(st.search, q)
    return JSONResponse({"query": q, "results": results})


async def check(request: Request) -> Response:
    codes, name, replaces = _proposal(await _read_json(request))
    report = await run_in_threadpool(_state(request).validate, codes, name, replaces)
    return Response(report.to_json(), media_type="application/json; charset=utf-8")


IMPORT_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xls", ".ods", ".json")


def _import_file(data: bytes, filename: str) -> dict:
    """Communes of an uploaded proposal file (any format ``cpts-geo validate`` reads), with the
    values that were not recognised and why."""
    from cpts_geo.validation import read_proposal

    base = Path(filename.replace("\\", "/")).name[:100] or "proposition.csv"
    suffix = Path(base).suffix.lower()
    if suffix not in IMPORT_SUFFIXES:
        raise ApiError(400, f"fichier « {base} » : format non pris en charge (CSV, TXT, XLSX, ODS ou JSON)")
    safe = re.sub(r"[^\w.-]+", "_", base)
    with tempfile.TemporaryDirectory(prefix="cpts-geo-app-") as tmp:
        path = Path(tmp) / safe
        path.write_bytes(data)
        try:
            prop = read_proposal(path)
        except CptsGeoError as exc:
            raise ApiError(400, _public(str(exc))) from exc
    rep = prop.report
    codes = list(dict.fromkeys(prop.members["code"].dropna().astype(str)))
    bad = rep[rep["code"].isna()]
    refused = [{"valeur": str(v), "raison": str(m)} for v, m in zip(bad["input"], bad["message"], strict=True)]
    from cpts_geo.validation.inputs import DEFAULT_NAME

    return {"codes": codes, "name": "" if prop.name == DEFAULT_NAME else prop.name,
            "refused": refused, "file": base}


async def import_file(request: Request) -> Response:
    body = await _read_body(request, "fichier trop volumineux")
    if not body:
        raise ApiError(400, "fichier vide")
    result = await run_in_threadpool(_import_file, bytes(body), request.query_params.get("filename", ""))
    if len(result["codes"]) > MAX_CODES:
        raise ApiError(413, f"trop de communes : au plus {fr.integer(MAX_CODES)}")
    return JSONResponse(result)


def _listing_frame(report) -> pd.DataFrame:
    u = report.units
    return pd.DataFrame({"cpts": report.name, "code_insee": u["code"].astype(str).to_numpy(),
                         "nom": u["nom"].astype(str).to_numpy()})


def _export_bytes(kind: str, report) -> bytes:
    from cpts_geo.io.french import write_csv, write_sheet

    if kind == "csv":
        text = io.StringIO()
        write_csv(_listing_frame(report), text)  # French CSV (";"), as cpts-geo writes them
        return text.getvalue().encode("utf-8-sig")  # BOM: Excel reads the accents
    if kind == "xlsx":
        buf = io.BytesIO()
        from cpts_geo.validation.render import sorted_checks

        # severity first (« Bloquant », « Avertissement »…), as the HTML, PDF and text reports
        checks = pd.DataFrame([{"vérification": c.title, "niveau": _level(c.level), "message": c.message}
                               for c in sorted_checks(report)])
        frame = _listing_frame(report)
        frame[f"population_{reference.POPULATION_YEAR}"] = report.units["population"].astype("Int64").to_numpy()
        with pd.ExcelWriter(buf, engine="openpyxl") as xl:
            write_sheet(xl, frame, "Communes")
            write_sheet(xl, checks, "Vérifications")
        return buf.getvalue()
    if kind == "html":
        return report.to_html().encode("utf-8")
    if kind == "pdf":  # the same printed report as `cpts-geo validate --pdf` (headless Chromium)
        with tempfile.TemporaryDirectory(prefix="cpts-geo-app-") as tmp:
            return report.to_pdf(Path(tmp) / "rapport.pdf").read_bytes()
    import geopandas as gpd

    f = report.figures
    gdf = gpd.GeoDataFrame({
        "nom": [report.name], "n_communes": [f["n_units"]], "population": [f["population"]],
        "annee_population": [f["population_year"]], "taille_aci": [f["aci_band"]],
        "codes_insee": [",".join(report.codes)], "cog": [f["cog"]],
    }, geometry=[report.geometry], crs=4326)
    if kind == "geojson":
        return gdf.to_json(ensure_ascii=False, drop_id=True).encode("utf-8")
    with tempfile.TemporaryDirectory(prefix="cpts-geo-app-") as tmp:
        path = Path(tmp) / "territoire.gpkg"
        gdf.to_file(path, layer="territoire", driver="GPKG")
        return path.read_bytes()


def _level(level: str) -> str:
    from cpts_geo.validation.checks import LEVEL_LABELS

    return LEVEL_LABELS.get(level, level)


async def export(request: Request) -> Response:
    kind = request.path_params["kind"]
    if kind not in EXPORT_KINDS:
        raise ApiError(404, f"export inconnu : « {kind[:20]} » (csv, xlsx, geojson, gpkg, html ou pdf)")
    codes, name, replaces = _proposal(await _read_json(request))
    st = _state(request)
    report = await run_in_threadpool(st.validate, codes, name, replaces)
    bad = report.check("unknown_codes")
    if bad.level != "ok":
        raise ApiError(400, "export impossible : " + bad.message)
    data = await run_in_threadpool(_export_bytes, kind, report)
    filename = f"{_slug(report.name)}.{kind}"
    return Response(data, media_type=EXPORT_KINDS[kind],
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# ------------------------------------------------------------------------------------------
# Errors: French JSON, never a traceback
# ------------------------------------------------------------------------------------------

HTTP_MESSAGES = {404: "adresse inconnue", 405: "méthode non autorisée pour cette adresse",
                 400: "requête invalide"}


async def _api_error(request: Request, exc: ApiError) -> Response:
    return JSONResponse({"erreur": exc.message}, status_code=exc.status)


async def _http_error(request: Request, exc: HTTPException) -> Response:
    msg = HTTP_MESSAGES.get(exc.status_code, "requête refusée")
    return JSONResponse({"erreur": msg}, status_code=exc.status_code, headers=getattr(exc, "headers", None))


async def _server_error(request: Request, exc: Exception) -> Response:
    log.error("erreur inattendue sur %s", request.url.path, exc_info=exc)
    return JSONResponse({"erreur": "erreur inattendue du serveur (défaut de cpts-geo) : le détail est "
                                   "dans la console qui a lancé cpts-geo app"}, status_code=500)


class HostCheck:
    """Refuse (400, French JSON) a request whose Host header is not one of ``allowed_hosts``: a
    page of another site that reaches 127.0.0.1 through its own domain name (DNS rebinding)
    cannot read the app."""

    def __init__(self, app, allowed_hosts: tuple[str, ...] | list[str]) -> None:
        self.app, self.allowed = app, {h.strip("[]").lower() for h in allowed_hosts}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] in ("http", "websocket"):
            host = Headers(scope=scope).get("host", "").lower()
            name = host[1:host.find("]")] if host.startswith("[") else host.split(":")[0]
            if name not in self.allowed:
                resp = JSONResponse({"erreur": "adresse refusée : ouvrir l'application par "
                                               "http://localhost ou http://127.0.0.1"}, status_code=400)
                await resp(scope, receive, send)
                return
        await self.app(scope, receive, send)


def app_policy(remote_images: bool = False) -> str:
    """Content-Security-Policy of every answer of the app: scripts, styles and data from the app
    itself only (no inline script or event handler runs), images also as ``data:``/``blob:`` and,
    with an online background (``remote_images``), from tile servers; no framing."""
    images = "'self' data: blob:" + (" https: http:" if remote_images else "")
    return ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            f"img-src {images}; connect-src 'self'; object-src 'none'; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'")


class SecurityHeaders:
    """Add the app's Content-Security-Policy (:func:`app_policy`) and ``X-Content-Type-Options:
    nosniff`` to every HTTP answer."""

    def __init__(self, app, policy: str) -> None:
        self.app = app
        self.headers = [(b"content-security-policy", policy.encode("ascii")),
                        (b"x-content-type-options", b"nosniff")]

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message = dict(message)
                message["headers"] = list(message.get("headers", [])) + [
                    h for h in self.headers if h[0] not in names]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class OriginCheck:
    """Refuse (403, French JSON) a POST (any method that changes or computes: all but GET, HEAD,
    OPTIONS) sent by a page of another site: its ``Origin`` header, when the browser gives one,
    must be the app's own address (the ``Host`` the request reached); without ``Origin``, a
    browser's ``Sec-Fetch-Site`` must say ``same-origin`` (or ``none``: typed by the user).
    Clients that are not browsers (scripts, ``curl``) send neither and are served: they could
    reach the API anyway; what is refused is a page the user visits posting to the app behind
    their back (a cross-origin ``text/plain`` form or ``fetch`` needs no CORS preflight)."""

    SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

    def __init__(self, app) -> None:
        self.app = app

    @staticmethod
    def _site(origin: str, host: str) -> bool:
        """True when ``origin`` (``http://name:port``) names the same server as ``host``."""
        from urllib.parse import urlsplit

        try:
            o = urlsplit(origin)
            h = urlsplit("//" + host)
            ports = (o.port or {"http": 80, "https": 443}.get(o.scheme), h.port or 80)
        except ValueError:
            return False
        return (o.scheme in ("http", "https") and bool(o.hostname)
                and o.hostname == h.hostname and ports[0] == ports[1])

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] not in self.SAFE_METHODS:
            headers = Headers(scope=scope)
            origin = headers.get("origin")
            site = headers.get("sec-fetch-site")
            if origin is not None:
                refused = not self._site(origin.strip().lower(), headers.get("host", "").lower())
            else:
                refused = site is not None and site.lower() not in ("same-origin", "none")
            if refused:
                shown = (origin or site or "")[:100]
                resp = JSONResponse({"erreur": f"requête refusée : elle vient d'une autre page que "
                                               f"l'application (origine « {shown} ») ; ouvrir "
                                               "l'application par son adresse"}, status_code=403)
                await resp(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(existing: object = None, region: object = None, departments: object = None,
               replaces: tuple[str, ...] | list[str] | str | None = None, apl: object = None,
               tiles: str | None = None, title: str | None = None, apl_cog: int | None = None,
               allowed_hosts: list[str] | tuple[str, ...] | None = LOOPBACK_HOSTS) -> Starlette:
    """The Starlette application of ``cpts-geo app``.

    ``existing``: current CPTS listing (path in any members format or a members frame; None: no
    overlap or white-zone check); ``region`` / ``departments``: INSEE codes of the area shown
    (default: the listing's departments); ``replaces``: existing CPTS the page starts from and the
    proposal replaces; ``apl`` (+ ``apl_cog``, COG year of its codes): DREES APL file
    for the APL profile; ``tiles``: online background
    (a provider name as for ``cpts-geo map`` or a URL template; default none, offline);
    ``allowed_hosts``: Host headers accepted (default loopback names; None accepts any).

    The listing is prepared and the map data simplified here, once (a few seconds for a region).
    Raises :class:`cpts_geo.errors.CptsGeoError` on an unreadable listing or an invalid option.
    """
    state = AppState(existing, region, departments, replaces, apl, tiles, title, apl_cog)
    # warm the caches and imports (report rendering) before the first user
    state.validate(state.start["codes"] or [state.cov.codes[np.flatnonzero(state.in_area)[0]]],
                   None, tuple(state.start["replaces"])).to_json()
    routes = [
        Route("/", page),
        Route("/api/config", config),
        Route("/api/communes", communes),
        Route("/api/search", search),
        Route("/api/check", check, methods=["POST"]),
        Route("/api/export/{kind}", export, methods=["POST"]),
        Route("/api/import", import_file, methods=["POST"]),
        Route("/static/escape.js", escape_js),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
        Mount("/vendor/leaflet", StaticFiles(directory=LEAFLET), name="leaflet"),
    ]
    middleware = [Middleware(SecurityHeaders, policy=app_policy(state.tiles is not None))]
    middleware += [Middleware(HostCheck, allowed_hosts=allowed_hosts)] if allowed_hosts else []
    middleware.append(Middleware(OriginCheck))  # every POST, whatever the interface listened on
    app = Starlette(routes=routes, middleware=middleware, exception_handlers={
        ApiError: _api_error, HTTPException: _http_error, Exception: _server_error})
    app.state.cpts = state
    return app
