"""Business rules of cpts_geo, with their French labels and sources: the one home of every
threshold, bound, amount and vocabulary the other modules apply.

- **ACI CPTS size bands and funding**, read from the versioned parameter file
  ``data/classification/aci_cpts.json`` (editing it changes the results). Band boundaries follow
  the text's own words: taille 1 « < 40 000 », taille 2 « entre 40 000 et 80 000 », taille 3
  « entre 80 000 et 175 000 », taille 4 « > 175 000 » habitants. Hence exactly 40 000 is taille 2
  and exactly 175 000 is taille 3. Exactly 80 000 is named by both tailles 2 and 3: cpts_geo
  puts it in **taille 3** (the reading in favour of the structure, and the one cpts_geo always
  used), and flags every population within 1 % of a boundary (:func:`aci_near_threshold`).
  Operating funding: the annual envelope of the arrêté du 21 août 2019 (50 000 / 60 000 /
  75 000 / 90 000 € by band), still in force by the Sénat report n° 32 (2025-2026). The
  87 500 … 157 500 € figures reported by the press in 2020 are a proposed start-up envelope, kept
  in the file as such (:func:`aci_startup_envelope`) and never applied.
- **IGAS 2018** type bounds and "viable" range: landmarks of report n° 2018-041R (§ 2.2.2 and
  annex 1), never a rule nor a verdict.
- **APL** thresholds (2.5 and 4 consultations per year per inhabitant) and default decay steps.
- **Stages** of a CPTS project (canonical French labels, in order).
- **CRS**: the EPSG code of each zone lives in :mod:`cpts_geo.crs` (``LOCAL_CRS``); its French
  names for maps and reports live here (:data:`CRS_NAMES`, :func:`crs_summary`).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from cpts_geo import fr, reference
from cpts_geo._checks import describe, expect_non_negative, expect_number, expect_path, expect_text
from cpts_geo.crs import LOCAL_CRS
from cpts_geo.errors import InputError, OptionError

# ------------------------------------------------------------------------------------------
# ACI CPTS: parameter file, bands, funding
# ------------------------------------------------------------------------------------------

#: file name of the ACI parameters in ``<data>/classification``
ACI_FILE = "aci_cpts.json"


def aci_parameters_path() -> Path:
    """Path of the versioned ACI parameter file (``<data>/classification/aci_cpts.json``)."""
    return _default_path(os.environ.get("CPTS_GEO_DATA"))


@functools.cache
def _default_path(env: str | None) -> Path:
    """Cached per value of ``$CPTS_GEO_DATA`` (finding the data folder resolves paths)."""
    return reference.data_dir() / "classification" / ACI_FILE


def _read_params(path: str) -> dict:
    """The parameter file, re-read when it changes on disk (cached by path and modification time)."""
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError as exc:
        raise InputError(f"fichier de paramètres ACI introuvable ({exc})", Path(path).name) from exc
    return _read_params_cached(path, mtime)


@functools.cache
def _read_params_cached(path: str, mtime: int) -> dict:
    p = Path(path)
    try:
        params = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"fichier de paramètres ACI illisible ({exc})", p.name) from exc
    bands = params.get("bands", {})
    bounds, upper = bands.get("bounds"), bands.get("boundary_in_upper_band")
    if (not isinstance(bounds, list) or not bounds or sorted(bounds) != bounds
            or not isinstance(upper, list) or len(upper) != len(bounds)):
        raise InputError("« bands.bounds » (seuils croissants) et « bands.boundary_in_upper_band » "
                         "(un booléen par seuil) attendus", p.name, value=bounds)
    b = np.asarray(bounds, dtype=float)
    up = np.asarray(upper, dtype=bool)
    params["_arrays"] = (b, up)
    return params


def _file_rule(path: str | Path | None) -> tuple[np.ndarray, np.ndarray]:
    return _read_params(str(path or aci_parameters_path()))["_arrays"]


def aci_parameters(path: str | Path | None = None) -> dict:
    """The ACI parameter file (bands, funding versions with sources, excluded items), a fresh
    copy; ``path`` defaults to :func:`aci_parameters_path`."""
    params = _read_params(str(path or aci_parameters_path()))
    return json.loads(json.dumps({k: v for k, v in params.items() if k != "_arrays"}))


def aci_bounds(path: str | Path | None = None) -> tuple[int, ...]:
    """ACI band boundaries (inhabitants) of the parameter file: ``(40000, 80000, 175000)``."""
    return tuple(int(b) for b in _file_rule(path)[0])


def aci_boundary_in_upper_band(path: str | Path | None = None) -> tuple[bool, ...]:
    """For each boundary, whether a population exactly equal to it belongs to the upper band
    (40 000 → taille 2: True; 80 000 → taille 3: True; 175 000 → taille 3: False)."""
    return tuple(bool(u) for u in _file_rule(path)[1])


def aci_rule(bounds: Sequence[float] | None = None, boundary_upper: bool | Sequence[bool] | None = None,
             path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(bounds, in_upper_band) arrays actually applied: the parameter file's when ``bounds`` is
    None, else ``bounds`` with ``boundary_upper`` (one bool or one per bound; default True)."""
    if bounds is None:
        b, file_up = _file_rule(path)
        if boundary_upper is None:
            return b, file_up
        file_sides = tuple(file_up)
    else:
        b = expect_non_negative(bounds, "bounds").ravel()
        if not len(b) or (np.diff(b) <= 0).any():
            raise OptionError("bounds", describe(bounds), "seuils strictement croissants attendus")
        file_sides = None
    if boundary_upper is None:
        up = file_sides if file_sides is not None else (True,) * len(b)
    elif isinstance(boundary_upper, bool | np.bool_):
        up = (bool(boundary_upper),) * len(b)
    elif isinstance(boundary_upper, (list, tuple, np.ndarray)):
        up = tuple(bool(u) for u in boundary_upper)
    else:
        raise OptionError("boundary_upper", describe(boundary_upper), "un booléen, ou un booléen par seuil, attendu")
    if len(up) != len(b):
        raise OptionError("boundary_upper", boundary_upper, f"un booléen par seuil attendu ({len(b)} seuils)")
    return b, np.asarray(up, dtype=bool)


def aci_band(population: pd.Series | np.ndarray | list | float,
             bounds: Sequence[float] | None = None,
             boundary_upper: bool | Sequence[bool] | None = None,
             *, path: str | Path | None = None) -> np.ndarray:
    """ACI size band (1-4) of each population (inhabitants); 0 when the population is missing.

    Bounds and boundary sides come from the parameter file unless given: taille 1 < 40 000 ≤
    taille 2 < 80 000 ≤ taille 3 ≤ 175 000 < taille 4. ``boundary_upper`` (one bool, or one per
    bound) overrides where a population equal to a bound goes.
    """
    pop = expect_non_negative(population, "population")
    expect_path(path, "path", optional=True)
    b, up = aci_rule(bounds, boundary_upper, path)
    # bounds crossed: those a population equal to them passes (≥), then the strict ones (>)
    band = (np.searchsorted(b[up], pop, side="right") + np.searchsorted(b[~up], pop, side="left") + 1)
    return np.where(np.isnan(pop), 0, band).astype(int)


def aci_near_threshold(population: pd.Series | np.ndarray | list | float,
                       bounds: Sequence[float] | None = None, share: float | None = None,
                       *, path: str | Path | None = None) -> np.ndarray:
    """True for each population within ``share`` (default: the file's ``near_threshold_share``,
    1 %) of an ACI band boundary, e.g. 79 200 to 80 800 around 80 000; False when missing."""
    expect_non_negative(population, "population")
    if bounds is not None:
        expect_non_negative(bounds, "bounds")
    expect_number(share, "share", minimum=0, maximum=1, optional=True)
    expect_path(path, "path", optional=True)
    params = _read_params(str(path or aci_parameters_path()))
    b = np.asarray(bounds if bounds is not None else params["bands"]["bounds"], dtype=float)
    s = float(share if share is not None else params["bands"].get("near_threshold_share", 0.01))
    pop = np.asarray(population, dtype=float)
    near = (np.abs(pop[..., None] - b) <= s * b).any(axis=-1)
    return np.where(np.isnan(pop), False, near)


def aci_rule_text(path: str | Path | None = None) -> str:
    """The band rule in French, from the parameter file: « taille 1 < 40 000 ≤ taille 2 < … »."""
    b, up = aci_rule(None, None, path)
    out = "taille 1"
    for i, (x, u) in enumerate(zip(b, up, strict=True)):
        out += (f" < {fr.integer(x)} ≤ " if u else f" ≤ {fr.integer(x)} < ") + f"taille {i + 2}"
    return out


def aci_funding_version(version: str | None = None, path: str | Path | None = None) -> dict:
    """The annual operating funding entry of the parameter file.

    Parameters
    ----------
    version : str, optional
        ``version_key`` of a ``funding`` entry ("2019": ACI of 2019, the envelope in force);
        None: the file's ``current_funding``.
    path : str or Path, optional
        Parameter file; defaults to :func:`aci_parameters_path`.

    Returns
    -------
    dict
        A copy of the entry: ``id``, ``item``, ``version``, ``amounts``, ``source``, ``text``,
        ``signed``, ``confirmed_by``, ``status``.

    Raises
    ------
    OptionError
        ``version`` is not a funding entry of the file.

    Examples
    --------
    >>> aci_funding_version()["amounts"]["1"]
    50000
    """
    params = _read_params(str(path or aci_parameters_path()))
    by_version = {str(f["version_key"]): f for f in params["funding"]}
    key = str(params["current_funding"] if version is None else version)
    if key not in by_version:
        raise OptionError("version", version, f"montants ACI disponibles : {', '.join(sorted(by_version))}")
    return json.loads(json.dumps(by_version[key]))


def aci_funding(band: pd.Series | np.ndarray | list | int, version: str | None = None,
                *, path: str | Path | None = None) -> pd.Series:
    """Annual fixed operating funding (EUR) of each ACI band (NA for band 0 / unknown).

    Parameters
    ----------
    band : int, list, array or Series
        ACI size bands (1-4; 0 = population unknown).
    version : str, optional
        Funding entry (:func:`aci_funding_version`); default the envelope in force: the ACI of
        2019 (arrêté du 21 août 2019), 50 000 / 60 000 / 75 000 / 90 000 € a year, confirmed by
        the Sénat report n° 32 (2025-2026). The start-up envelope reported by the press
        (:func:`aci_startup_envelope`) is not operating funding and is never returned.
    path : str or Path, optional
        Parameter file; defaults to :func:`aci_parameters_path`.

    Returns
    -------
    pandas.Series
        ``Int64`` amounts, one per band.

    Raises
    ------
    OptionError
        ``version`` is not a funding entry of the file.

    Examples
    --------
    >>> aci_funding([1, 4]).tolist()
    [50000, 90000]
    """
    expect_non_negative(band, "band")
    expect_text(version, "version", optional=True)
    expect_path(path, "path", optional=True)
    entry = aci_funding_version(version, path)
    amounts = {int(k): v for k, v in entry["amounts"].items()}
    s = pd.Series(np.atleast_1d(np.asarray(band)))
    return s.map(amounts).astype("Int64")


def aci_funding_source(version: str | None = None, path: str | Path | None = None,
                       short: bool = False) -> str:
    """The operating funding's source in one French sentence, the one every output prints.

    Parameters
    ----------
    version, path
        As :func:`aci_funding_version`.
    short : bool
        The entry's ``short_source`` (« arrêté du 21 août 2019 ; en vigueur selon le rapport du
        Sénat n° 32 (2025-2026) »), for a figure beside which the full source is printed.

    Returns
    -------
    str
        The text the amounts come from and what confirms they are in force.

    Examples
    --------
    >>> "21 août 2019" in aci_funding_source() and "Sénat" in aci_funding_source()
    True
    """
    entry = aci_funding_version(version, path)
    if short and entry.get("short_source"):
        return str(entry["short_source"])
    out = str(entry["source"])
    if entry.get("confirmed_by"):
        out += f" ; enveloppe annuelle en vigueur selon le {entry['confirmed_by']}"
    return out


def aci_startup_envelope(path: str | Path | None = None) -> list[dict]:
    """Figures of the parameter file that are NOT annual operating funding (``not_operating_funding``).

    Today one entry: 87 500 / 105 000 / 131 250 / 157 500 €, the start-up envelope (+75 %, for
    CPTS signing before 31/12/2021) the CNAM proposed in 2020, as reported by Le Pharmacien de
    France; not read in the signed avenant 2. Shown in docs and in the workbook's « Sources »
    sheet as what it is; never applied to a territory.

    Parameters
    ----------
    path : str or Path, optional
        Parameter file; defaults to :func:`aci_parameters_path`.

    Returns
    -------
    list of dict
        Copies of the entries: ``item``, ``amounts``, ``source``, ``status``.

    Examples
    --------
    >>> aci_startup_envelope()[0]["amounts"]["1"]
    87500
    """
    params = _read_params(str(path or aci_parameters_path()))
    return json.loads(json.dumps(params.get("not_operating_funding", [])))


def aci_startup_note(path: str | Path | None = None) -> str | None:
    """French sentence on the figures that are not operating funding (the « Sources » sheet).

    Parameters
    ----------
    path : str or Path, optional
        Parameter file; defaults to :func:`aci_parameters_path`.

    Returns
    -------
    str or None
        None when the file lists none.

    Examples
    --------
    >>> aci_startup_note().startswith("87")
    True
    """
    notes = []
    for e in aci_startup_envelope(path):
        amounts = " / ".join(fr.integer(v) for _, v in sorted(e["amounts"].items()))
        notes.append(f"{amounts} € : pas un financement annuel de fonctionnement, mais une {e['item']}, "
                     f"selon {e['source']} ; {e['status']}")
    return " ; ".join(notes) or None


def aci_label(band: int) -> str | None:
    """French label of an ACI band: ``2`` → « Taille 2 », ``0`` → None."""
    return f"Taille {int(band)}" if band else None


# ------------------------------------------------------------------------------------------
# IGAS 2018
# ------------------------------------------------------------------------------------------

#: IGAS 2018 (rapport n° 2018-041R, § 2.2.2 and annex 1): rural < 30 000 ≤ semi-rural /
#: périurbain ≤ 80 000 < urbain, by population only (the report's types also count health
#: professionals, 100 and 300, and dense urban areas: cpts_geo does not)
IGAS_BOUNDS: tuple[int, ...] = (30_000, 80_000)
IGAS_LABELS: tuple[str, ...] = ("rural", "semi-rural / périurbain", "urbain")
#: IGAS 2018 "viable" population range of a CPTS: the report's landmark, never a rule
IGAS_VIABLE: tuple[int, int] = (20_000, 100_000)
IGAS_SOURCE = (
    "IGAS, E. Fauchier-Magnan et V. Wallon, « Déploiement des communautés professionnelles "
    "territoriales de santé. Appui à la DGOS », rapport n° 2018-041R, août 2018, § 2.2.2 et annexe 1"
)
#: the report's words on the range (§ 2.2.2), quoted in outputs
IGAS_VIABLE_QUOTE = ("« devrait couvrir entre 20 000 et 100 000 habitants et mobiliser potentiellement "
                     "entre 50 et 300 professionnels de santé de premier et second recours »")
#: the report's words on projects outside the range (§ 2.2.2): a landmark, not a rule
IGAS_OUTSIDE_QUOTE = "« ne devraient pas être exclus a priori mais examinés avec plus d'attention »"

# ------------------------------------------------------------------------------------------
# APL (DREES accessibilité potentielle localisée)
# ------------------------------------------------------------------------------------------

#: APL thresholds (consultations per year per inhabitant): < 2.5 under-served, 2.5-4, ≥ 4
APL_THRESHOLDS: tuple[float, float] = (2.5, 4.0)
#: French class labels of :data:`APL_THRESHOLDS` (lower bounds belong to the upper class)
APL_FLAG_LABELS: tuple[str, str, str, str] = ("APL < 2,5", "2,5 ≤ APL < 4", "APL ≥ 4", "APL non disponible")
#: default stepped decay of the computed APL (general practitioners): upper bound in minutes →
#: weight, half-open intervals [0, 10), [10, 15), [15, 20); weight 0 beyond 20 minutes
APL_DEFAULT_STEPS: dict[float, float] = {10: 1.0, 15: 2 / 3, 20: 1 / 3}

# ------------------------------------------------------------------------------------------
# Stages of a CPTS project
# ------------------------------------------------------------------------------------------

#: canonical stages of a CPTS project, in order (rank 1-4)
STAGES: tuple[str, ...] = (
    "pré-projet",
    "lettre d'intention validée",
    "projet de santé validé",
    "ACI signé",
)
#: the last stage: the CPTS has signed the ACI
STAGE_ACI = STAGES[-1]
#: label of the coverage computed over every stage
ALL_STAGES = "tous les stades"

# ------------------------------------------------------------------------------------------
# CRS names (EPSG codes: cpts_geo.crs.LOCAL_CRS)
# ------------------------------------------------------------------------------------------

#: geographic CRS of every stored and exchanged geometry
GEOGRAPHIC_EPSG = 4326
#: zone → name of its projected CRS, for map scale bars and reports
CRS_NAMES: dict[str, str] = {
    "metropole": f"Lambert-93 (EPSG:{LOCAL_CRS['metropole']})",
    "antilles": f"RGAF09 / UTM 20N (EPSG:{LOCAL_CRS['antilles']})",
    "guyane": f"RGFG95 / UTM 22N (EPSG:{LOCAL_CRS['guyane']})",
    "reunion": f"RGR92 / UTM 40S (EPSG:{LOCAL_CRS['reunion']})",
    "mayotte": f"RGM04 / UTM 38S (EPSG:{LOCAL_CRS['mayotte']})",
}
#: overseas departments drawn as insets: code → French name
DROM_NAMES: dict[str, str] = {"971": "Guadeloupe", "972": "Martinique", "973": "Guyane",
                              "974": "La Réunion", "976": "Mayotte"}


def crs_summary(french: bool = False) -> str:
    """The CRS statement of outputs: « EPSG:4326 (géométries) ; surfaces en EPSG:2154 / … »."""
    epsg = " / ".join(str(e) for e in dict.fromkeys(LOCAL_CRS.values()))
    if french:
        return f"EPSG:{GEOGRAPHIC_EPSG} (géométries) ; surfaces en EPSG:{epsg}"
    return f"EPSG:{GEOGRAPHIC_EPSG} (geometries); areas in EPSG:{epsg}"
