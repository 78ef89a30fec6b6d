"""Official APL (DREES): read the published file, attach it to COG 2026 units, aggregate to CPTS.

The DREES file "Indicateur d'accessibilité potentielle localisée (APL) aux médecins
généralistes" is an xlsx workbook with one sheet per year ("APL 2022", ...): a few title lines,
a header row beginning with "Code commune INSEE", a units row, then one row per commune with
the APL, the APL to general practitioners aged 65 or under, the standardised population and the
population. :func:`read_apl` locates the header (no hard-coded row numbers) and also reads a CSV
with the same columns. The unit is consultations per year per (standardised) inhabitant.

Aggregation to CPTS is the population-weighted mean of the communes' APL, the rule used to
aggregate APL to territoires de vie-santé in the zonage of general practitioners (arrêté of
13 November 2017 on the zonage methodology, as amended; check the text in force), and flags mark values under 2.5 and from 2.5 to under 4 consultations per year per inhabitant.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cpts_geo import fr, reference
from cpts_geo._checks import (
    expect_diagnosis,
    expect_frame,
    expect_int,
    expect_path,
    expect_series,
    expect_text,
    expect_year,
    fail,
)
from cpts_geo.codes import FIRST_COG_YEAR, convert_table
from cpts_geo.errors import InputError, OptionError
from cpts_geo.io.tables import (
    clean_code,
    column_key,
    is_insee_code,
    list_sheets,
    parse_number,
    read_rows,
)
from cpts_geo.reference import PLM_CITIES
from cpts_geo.rules import APL_FLAG_LABELS, APL_THRESHOLDS

if TYPE_CHECKING:
    from cpts_geo.coverage import Diagnosis

#: APL thresholds of the zonage (< 2.5, 2.5 to < 4, ≥ 4) and their labels: see cpts_geo.rules
FLAG_LABELS = APL_FLAG_LABELS
UNIT = "consultations par an et par habitant (standardisé)"
AGGREGATION_RULE = "moyenne des APL communaux pondérée par la population (règle du zonage)"
#: ``attrs["indicator"]`` of the official DREES APL (:func:`read_apl`, :func:`attach_apl`)
OFFICIAL_KIND = "apl_drees"
#: ``attrs["indicator"]`` of the estimates computed by cpts_geo (:func:`cpts_geo.compute_apl`,
#: :func:`cpts_geo.indicators.apl_estimate.apl_estimate_by_cpts`): never the DREES APL
ESTIMATE_KINDS = ("apl_estimate", "apl_estimate_by_cpts")
#: column headers that only an estimate file written by cpts_geo carries
_ESTIMATE_COLUMNS = ("apl_estime", "apl estimée (cpts_geo, pas l'apl drees)")
_NOT_OFFICIAL = ("estimation de type APL calculée par cpts_geo (compute_apl, cpts-geo apl), pas l'APL "
                 "publiée par la DREES : l'APL officielle s'attend ici (fichier APL de la DREES, table "
                 "read_apl ou attach_apl) ; une estimation se montre à part, avec son unité et sans les "
                 "seuils de la DREES")


def _not_official(parameter: str) -> str:
    """:data:`_NOT_OFFICIAL` with where an estimate goes: an option in the CLI, a parameter else."""
    where = "--apl-estimee" if parameter.startswith("--") else "Diagnosis.write(apl_estimate=...)"
    return f"{_NOT_OFFICIAL} ({where})"


def _estimate_file(path: Path) -> bool:
    """True when ``path`` is a table written by ``cpts-geo apl``: its ``.meta.json`` says so, or
    its first line (CSV) carries the estimate's column."""
    meta = path.with_name(path.stem + ".meta.json")
    if meta.is_file():
        try:
            import json

            if json.loads(meta.read_text(encoding="utf-8")).get("indicator") in ESTIMATE_KINDS:
                return True
        except (OSError, ValueError):
            pass
    if path.suffix.lower() in (".csv", ".txt"):
        try:
            with path.open("rb") as fh:
                first = fh.readline(4096).decode("utf-8-sig", errors="replace")
        except OSError:
            return False
        cells = {column_key(c.strip().strip('"')) for c in re.split(r"[;,\t]", first)}
        return any(column_key(h) in cells for h in _ESTIMATE_COLUMNS)
    return False


def require_official_apl(apl: object, parameter: str = "apl") -> None:
    """Refuse, where the official DREES APL is expected, anything that is not it.

    The DREES APL and the estimate computed by cpts_geo share a name but not a unit nor a
    meaning (the estimate counts headcounts or the supply given, not consultations; no DREES
    threshold applies to it). Each carries its kind in ``attrs["indicator"]``
    (:data:`OFFICIAL_KIND`, :data:`ESTIMATE_KINDS`); this is checked at every entry that
    expects the official APL (``validate_territory(apl=...)``, ``Diagnosis.write(apl=...)``,
    ``create_app(apl=...)``, ``--apl``).

    Parameters
    ----------
    apl : path, DataFrame or Series
        A DREES file path, a table of :func:`read_apl` / :func:`attach_apl`, or a Series indexed
        by code whose ``attrs["indicator"]`` is :data:`OFFICIAL_KIND`. None passes.
    parameter : str
        Name of the parameter (or, in the CLI, the option) the value was given to.

    Raises
    ------
    OptionError
        ``apl`` is an estimate (a :func:`cpts_geo.compute_apl` result, a table or file written
        by ``cpts-geo apl``) or a Series of unknown kind; the message names ``parameter``.

    Examples
    --------
    >>> import cpts_geo as cg
    >>> require_official_apl(cg.compute_apl(), "apl")
    Traceback (most recent call last):
    ...
    cpts_geo.errors.OptionError: option apl : estimation de type APL calculée par cpts_geo ...
    """
    if apl is None:
        return
    if isinstance(apl, (str, Path)):
        if _estimate_file(Path(apl)):
            raise OptionError(parameter, Path(apl).name, _not_official(parameter))
        return
    if isinstance(apl, (pd.Series, pd.DataFrame)):
        kind = apl.attrs.get("indicator")
        cols = [apl.name] if isinstance(apl, pd.Series) else list(apl.columns)
        if kind in ESTIMATE_KINDS or any(column_key(str(c)) in map(column_key, _ESTIMATE_COLUMNS)
                                         for c in cols):
            raise OptionError(parameter, "estimation cpts_geo", _not_official(parameter))
        if isinstance(apl, pd.Series) and kind != OFFICIAL_KIND:
            raise OptionError(parameter, "série sans nature déclarée",
                              "série d'APL dont la nature n'est pas connue : passez le fichier APL de la "
                              "DREES ou la table de read_apl / attach_apl (ou, si la série vient bien "
                              f"de la DREES, déclarez-la : serie.attrs['indicator'] = '{OFFICIAL_KIND}')")


def _column_role(header: str) -> str | None:
    k = column_key(header)
    if k.startswith("code commune") or k in {"codgeo", "code insee", "code"}:
        return "code"
    if "apl" in k:
        return "apl_65" if re.search(r"65 ans|moins de 65", k) else "apl"
    if "standardis" in k:
        return "population_standardisee"
    if k.startswith("population") or k.startswith("pop "):
        return "population"
    if k.startswith("commune") or k.startswith("libelle") or k == "nom":
        return "commune"
    return None


def _code_of(value: object) -> str | None:
    code = clean_code(value)
    return code if is_insee_code(code) else None


_number = parse_number


def _read_grid(path: Path, sheet: str | None, year: int | None) -> tuple[list[list[object]], str | None]:
    """Raw cells of the sheet (workbook) or of the CSV, and the sheet name used."""
    names = list_sheets(path)
    if names != [""]:
        if sheet is None:
            years = {int(m.group(1)): n for n in names if (m := re.fullmatch(r"\s*APL[\s_-]*(\d{4})\s*", n, re.I))}
            if year is not None:
                if year not in years:
                    raise InputError(f"pas de feuille « APL {year} » (feuilles : {', '.join(names)})", path.name)
                sheet = years[year]
            else:
                sheet = years[max(years)] if years else names[0]
        elif sheet not in names:
            raise InputError(f"pas de feuille {sheet!r} (feuilles : {', '.join(names)})", path.name)
    grid, meta = read_rows(path, sheet)
    return grid, meta["sheet"]


def _check_apl_file(path: object, sheet: object, year: object, cog: object) -> None:
    """The arguments naming a DREES APL file, its sheet, its APL year and the COG of its codes."""
    expect_path(path, "path")
    expect_text(sheet, "sheet", optional=True)
    expect_int(year, "year", optional=True, minimum=2000, maximum=2100)
    expect_year(cog, "cog", first=FIRST_COG_YEAR, last=reference.COG_YEAR, optional=True)


def read_apl(
    path: str | Path, sheet: str | None = None, year: int | None = None, cog: int | None = None
) -> pd.DataFrame:
    """Read a DREES APL file (xlsx as published, or CSV with the same columns).

    ``sheet`` names the sheet; by default the sheet "APL <year>" for ``year``, else the latest
    "APL YYYY" sheet. The header row is the first row whose first non-empty cell starts with
    "Code commune"; rows between it and the first commune row (units) are kept in
    ``attrs["units"]``. Output columns: ``code`` (5-char INSEE code), ``commune``, ``apl``,
    ``apl_65``, ``population_standardisee``, ``population`` (those present) and ``source_row``
    (1-based row in the file). ``cog`` is the geography of the codes; when not given it is read
    from the title lines ("géographie au 1er janvier 2023", "COG 2023") if they state it.
    The file is read by :func:`cpts_geo.io.read_rows` (any encoding and separator). A file that
    cannot be read, a missing header or a row whose code or value cannot be read raises
    :class:`~cpts_geo.errors.InputError` (a ``ValueError``) naming the file, row and value.
    """
    _check_apl_file(path, sheet, year, cog)
    path = Path(path)
    if _estimate_file(path):
        raise InputError(_NOT_OFFICIAL, path.name)
    grid, sheet = _read_grid(path, sheet, year)
    where = f"{path.name}" + (f" [{sheet}]" if sheet else "")
    header_at = None
    for r, row in enumerate(grid):
        first = next((c for c in row if c is not None and str(c).strip() != ""), None)
        if first is not None and column_key(first).startswith("code commune"):
            header_at = r
            break
    if header_at is None:
        raise InputError("aucune ligne d'en-tête commençant par « Code commune INSEE »", where)
    header = ["" if c is None else str(c).strip() for c in grid[header_at]]
    roles: dict[str, int] = {}
    extra: dict[str, int] = {}
    for k, h in enumerate(header):
        if not h:
            continue
        role = _column_role(h)
        if role is not None and role not in roles:
            roles[role] = k
        else:
            extra[h] = k
    if "code" not in roles or "apl" not in roles:
        raise InputError(f"colonnes « Code commune INSEE » et APL attendues ; colonnes trouvées : "
                         f"{', '.join(h for h in header if h)}", where, header_at + 1)
    title = [" ".join(str(c) for c in row if c not in (None, "")) for row in grid[:header_at]]
    year_found = year
    if year_found is None and sheet and (m := re.search(r"(\d{4})", sheet)):
        year_found = int(m.group(1))
    cog_found = cog
    if cog_found is None:
        for line in title:
            m = re.search(r"(?:g[ée]ographie|COG).{0,60}?\b((?:19|20)\d\d)\b", line, re.I)
            if m:
                cog_found = int(m.group(1))
                break
    value_cols = [r for r in ("apl", "apl_65", "population_standardisee", "population") if r in roles]
    units: dict[str, str] = {}
    records, skipped = [], []
    started = False
    code_col = roles["code"]
    for r in range(header_at + 1, len(grid)):
        row = grid[r] + [None] * (len(header) - len(grid[r]))
        raw_code = row[code_col]
        code = _code_of(raw_code)
        nums = {c: _number(row[roles[c]]) for c in value_cols}
        empty_values = all(v is not None and np.isnan(v) for v in nums.values())
        if code is None:
            text = " ".join(str(c) for c in row if c not in (None, "")).strip()
            if not started:
                units.update({h: str(row[k]) for h, k in zip(header, range(len(header)), strict=False) if h and row[k] not in (None, "")})
                continue
            if empty_values:
                if text:
                    skipped.append({"row": r + 1, "text": text})
                continue
            raise InputError(f"code commune {raw_code!r} illisible", where, r + 1)
        started = True
        for c, v in nums.items():
            if v is None:
                raise InputError(f"colonne « {header[roles[c]]} » : valeur {row[roles[c]]!r} non numérique", where, r + 1)
            if not np.isnan(v) and (v < 0 or np.isinf(v)):
                raise InputError(f"colonne « {header[roles[c]]} » : valeur négative ou infinie (≥ 0 attendu)",
                                 where, r + 1, row[roles[c]])
        rec = {"code": code, "source_row": r + 1, **nums}
        if "commune" in roles:
            name = row[roles["commune"]]
            rec["commune"] = None if name is None or str(name).strip() == "" else str(name)
        for h, k in extra.items():
            rec[h] = row[k]
        records.append(rec)
    if not records:
        raise InputError(f"aucune ligne de commune après l'en-tête (ligne {header_at + 1})", where)
    out = pd.DataFrame.from_records(records)
    dup = out["code"].duplicated()
    if dup.any():
        d = out[dup].iloc[0]
        raise InputError("code en double", where, int(d["source_row"]), d["code"])
    cols = ["code", *(["commune"] if "commune" in roles else []), *value_cols, "source_row", *extra]
    out = out[cols]
    out.attrs = {
        "source": path.name,
        "sheet": sheet,
        "apl_year": year_found,
        "cog": cog_found,
        "unit": UNIT,
        "title": [t for t in title if t],
        "units": units,
        "header_row": header_at + 1,
        "skipped_rows": skipped,
        "columns": {role: header[k] for role, k in roles.items()},
        "indicator": "apl_drees",
        "label": "APL publié par la DREES (aux médecins généralistes)",
    }
    return out


def apl_flag(values: pd.Series | np.ndarray, thresholds: tuple[float, float] = APL_THRESHOLDS) -> pd.Categorical:
    """French class of each APL value: "APL < 2,5", "2,5 ≤ APL < 4", "APL ≥ 4" or
    "APL non disponible" (NaN); lower bounds belong to the upper class (2.5 → "2,5 ≤ APL < 4")."""
    expect_series(values, "values", arrays=True)
    if not isinstance(thresholds, (tuple, list)) or len(thresholds) != 2:
        fail("thresholds", thresholds, "deux seuils croissants sont attendus, par exemple (2.5, 4.0)")
    v = np.asarray(values, dtype=float)
    k = np.searchsorted(np.asarray(thresholds, dtype=float), v, side="right")
    k = np.where(np.isnan(v), 3, k)
    return pd.Categorical.from_codes(k, categories=list(FLAG_LABELS))


def attach_apl(apl: pd.DataFrame, cog: int | None = None, units: pd.DataFrame | None = None) -> pd.DataFrame:
    """Official APL per COG 2026 unit (communes, arrondissements, collectivités d'outre-mer).

    ``apl`` comes from :func:`read_apl`; ``cog`` (default ``apl.attrs["cog"]``) is the
    geography of its codes. Codes are converted to COG 2026: on a fusion the APL is the mean of
    the former communes weighted by their population (file column ``population``, else equal
    weights), on a split every part takes the former value. Paris, Lyon and Marseille get the
    weighted mean of their arrondissements when the file lists only these, and arrondissements
    the city value in the opposite case. Columns: ``code``, ``nom``, ``apl``, ``apl_65`` (if in
    the file), ``population_apl`` (weights of the file), ``apl_flag``, ``apl_status`` (French).
    Codes unknown in COG 2026 are listed in ``attrs["refused"]`` and reported by a warning.
    """
    expect_frame(apl, "apl", columns=("code", "apl"))
    expect_year(cog, "cog", first=FIRST_COG_YEAR, last=reference.COG_YEAR, optional=True)
    expect_frame(units, "units", optional=True)
    require_official_apl(apl, "apl")
    cog = cog if cog is not None else apl.attrs.get("cog")
    source = apl.attrs.get("source", "table APL")
    if cog is None:
        raise InputError("année du COG des codes inconnue ; la préciser (cog=2023 par exemple, "
                         "option --apl-cog en ligne de commande)", source)
    cog = int(cog)
    if units is None:
        units = reference.load_communes()
    has_pop = "population" in apl.columns and apl["population"].notna().any()
    w = apl["population"].fillna(0.0).to_numpy(dtype=float) if has_pop else np.ones(len(apl))
    inds = [c for c in ("apl", "apl_65") if c in apl.columns]
    df = pd.DataFrame({"code": apl["code"].to_numpy(), "_w": w})
    for c in inds:
        v = apl[c].to_numpy(dtype=float)
        ok = ~np.isnan(v)
        df[f"_{c}_num"] = np.where(ok, v * w, 0.0)
        df[f"_{c}_den"] = np.where(ok, w, 0.0)
    if cog == reference.COG_YEAR:
        conv = df.groupby("code", as_index=False).sum()
        report = {"fusions": {}, "splits": {}, "unknown": sorted(set(conv["code"]) - set(units["code"]))}
    else:
        conv, report = convert_table(df, from_year=cog, code_col="code")
    conv = conv.set_index("code")
    out = pd.DataFrame({"code": units["code"].to_numpy(), "nom": units["nom"].to_numpy()}).set_index("code", drop=False)
    for c in inds:
        num, den = conv[f"_{c}_num"], conv[f"_{c}_den"]
        out[c] = (num / den.where(den > 0)).reindex(out.index).astype(float)
    out["population_apl"] = conv["_w"].reindex(out.index).astype(float) if has_pop else np.nan
    status = pd.Series("absent du fichier", index=out.index, dtype=object)
    status[out["apl"].notna() | out.index.isin(conv.index)] = "fichier"
    status[out.index.isin(conv.index) & out["apl"].isna()] = "valeur manquante dans le fichier"
    for new, olds in report["fusions"].items():
        if new in status.index and len(olds) > 1:
            status[new] = "converti : fusion de " + ", ".join(olds)
        elif new in status.index:
            status[new] = f"converti : ancien code {olds[0]}"
    for old, parts in report["splits"].items():
        for new in parts:
            if new in status.index:
                status[new] = f"converti : scission de {old}"
    _plm(out, status, inds, has_pop, units)
    out["apl_flag"] = apl_flag(out["apl"])
    out["apl_status"] = status
    refused = [c for c in report["unknown"] if c not in out.index]
    if refused:
        warnings.warn(
            f"{source} : {fr.plural(len(refused), 'code inconnu', 'codes inconnus')} du COG {cog} et du COG "
            f"{reference.COG_YEAR}, {fr.plural(len(refused), 'ignoré', with_number=False)} : "
            f"{fr.enumeration(refused, limit=10)}",
            UserWarning,
            stacklevel=2,
        )
    out = out.reset_index(drop=True)
    out.attrs = {
        **{k: apl.attrs.get(k) for k in ("source", "sheet", "apl_year", "unit", "indicator", "label")},
        "cog": reference.COG_YEAR,
        "converted_from_cog": cog,
        "weights": "population du fichier DREES" if has_pop else "poids égaux (pas de colonne population)",
        "thresholds": list(APL_THRESHOLDS),
        "refused": refused,
        "conversion": {"fusions": report["fusions"], "splits": report["splits"]},
    }
    return out


def _plm(out: pd.DataFrame, status: pd.Series, inds: list[str], has_pop: bool, units: pd.DataFrame) -> None:
    for city in PLM_CITIES:
        arr = list(reference.plm_arrondissements(city))
        if not arr or city not in out.index:
            continue
        city_known = status[city] != "absent du fichier"
        arr_known = (status[arr] != "absent du fichier").all()
        if arr_known and not city_known:
            wts = out.loc[arr, "population_apl"] if has_pop else None
            for c in inds:
                out.loc[city, c] = reference.plm_mean(out.loc[arr, c], wts, [city]).get(city, np.nan)
            if has_pop:
                out.loc[city, "population_apl"] = float(np.nansum(wts.to_numpy(dtype=float)))
            status[city] = "moyenne pondérée des arrondissements"
        elif city_known and not arr_known:
            for c in inds:
                out.loc[arr, c] = out.loc[city, c]
            if has_pop:  # share the city's weight by the reference population of each arrondissement
                ref_pop = units.set_index("code").loc[arr, "population"].to_numpy(dtype=float)
                out.loc[arr, "population_apl"] = out.loc[city, "population_apl"] * ref_pop / ref_pop.sum()
            status[arr] = "valeur de la ville entière"


def aggregate_apl(
    members: pd.DataFrame, values: pd.Series, weights: pd.Series | None = None, name: str = "apl"
) -> pd.DataFrame:
    """Population-weighted mean of a per-commune value over the units of each CPTS.

    ``members`` has columns ``cpts`` and ``code`` (one row per CPTS × unit, as
    :func:`cpts_geo.read_members` returns); ``values`` and ``weights`` (default: population
    municipale légale 2023 of the reference) are indexed by code. A unit shared by several CPTS
    counts fully in each, unless ``members`` has a ``share`` column (:func:`cpts_geo.apply_shares`:
    the CPTS's share of a city listed by several CPTS), which multiplies its weight. Units without
    a value or weight are left out of the mean and listed.
    Columns: ``cpts``, ``<name>``, ``population`` (weights summed over units with a value),
    ``n_units``, ``n_missing``, ``missing_codes`` (tuple), ``<name>_flag`` (French classes of the
    DREES thresholds; left out when ``values`` is an estimate computed by cpts_geo, whose
    ``attrs["indicator"]`` is one of :data:`ESTIMATE_KINDS`).
    """
    expect_frame(members, "members")
    expect_series(values, "values")
    expect_series(weights, "weights", optional=True)
    expect_text(name, "name")
    for c in ("cpts", "code"):
        if c not in members.columns:
            raise InputError(f"colonne « {c} » absente (colonnes cpts, code attendues) ; colonnes trouvées : "
                             f"{', '.join(map(str, members.columns))}", "table des membres")
    m = members[["cpts", "code", *(["share"] if "share" in members.columns else [])]].dropna(subset=["code"])
    m = m.drop_duplicates(["cpts", "code"])
    if weights is None:
        ref = reference.load_communes()
        weights = pd.Series(ref["population"].astype(float).to_numpy(), index=ref["code"].to_numpy())
    v = values.reindex(m["code"]).to_numpy(dtype=float)
    w = weights.reindex(m["code"]).to_numpy(dtype=float)
    if "share" in m.columns:  # shared city split between CPTS (cpts_geo.shares)
        w = w * m["share"].astype(float).fillna(1.0).to_numpy()
    ok = ~np.isnan(v) & ~np.isnan(w)
    t = pd.DataFrame({"cpts": m["cpts"].to_numpy(), "code": m["code"].to_numpy(),
                      "vw": np.where(ok, v * w, 0.0), "w": np.where(ok, w, 0.0), "ok": ok})
    g = t.groupby("cpts", sort=True)
    out = pd.DataFrame({"w": g["w"].sum(), "vw": g["vw"].sum(), "n_units": g.size(), "n_ok": g["ok"].sum()})
    out[name] = (out["vw"] / out["w"].where(out["w"] > 0)).astype(float)
    missing = t[~t["ok"]].groupby("cpts")["code"].agg(tuple)
    out = pd.DataFrame({
        "cpts": out.index,
        name: out[name].to_numpy(),
        "population": out["w"].to_numpy(),
        "n_units": out["n_units"].to_numpy(),
        "n_missing": (out["n_units"] - out["n_ok"]).to_numpy(),
        "missing_codes": [missing.get(c, ()) for c in out.index],
    })
    if values.attrs.get("indicator") not in ESTIMATE_KINDS:  # the DREES classes never apply to an estimate
        out[f"{name}_flag"] = apl_flag(out[name])
    out.attrs = {**{k: v for k, v in values.attrs.items() if k != "reasons"}, "aggregation": AGGREGATION_RULE}
    return out


def official_apl_by_cpts(
    members: pd.DataFrame, path: str | Path, cog: int | None = None, sheet: str | None = None,
    year: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read a DREES APL file and return (per unit, per CPTS) tables: :func:`read_apl`,
    :func:`attach_apl`, then :func:`aggregate_apl` weighted by the file's population (the
    reference population when the file has none)."""
    expect_frame(members, "members", columns=("cpts", "code"))
    _check_apl_file(path, sheet, year, cog)
    require_official_apl(path, "path")
    per_unit = attach_apl(read_apl(path, sheet=sheet, year=year, cog=cog), cog=cog)
    s = per_unit.set_index("code")
    weights = s["population_apl"] if s["population_apl"].notna().any() else None
    values = s["apl"].copy()
    values.attrs = per_unit.attrs
    per_cpts = aggregate_apl(members, values, weights)
    return per_unit, per_cpts


def attach_official_apl(
    diagnosis: Diagnosis, path: str | Path, cog: int | None = None, year: int | None = None,
    sheet: str | None = None,
) -> Diagnosis:
    """A copy of a coverage diagnosis whose perimeters carry ``apl`` and ``apl_flag``: the
    official DREES APL of ``path`` aggregated to each CPTS (:func:`official_apl_by_cpts` over the
    diagnosis' members), its source (file, sheet, APL year) recorded under
    ``meta['sources']['apl']``. What ``cpts-geo coverage --apl`` applies."""
    expect_diagnosis(diagnosis, "diagnosis")
    _check_apl_file(path, sheet, year, cog)
    _, per_cpts = official_apl_by_cpts(diagnosis.members, path, cog=cog, sheet=sheet, year=year)
    by_cpts = per_cpts.set_index("cpts")
    per = diagnosis.perimeters.copy()
    for c in ("apl", "apl_flag"):
        per[c] = per["cpts"].map(by_cpts[c]).to_numpy()
    source = {k: per_cpts.attrs.get(k) for k in ("source", "sheet", "apl_year") if k in per_cpts.attrs}
    return diagnosis.with_perimeters(per, {"apl": source})
