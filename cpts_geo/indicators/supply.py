"""Supply of health professionals per commune for APL-style indicators.

The default is the INSEE Base permanente des équipements (BPE) 2021, counts of health
professionals per commune and municipal arrondissement, derived into ``data/supply/`` by
``data/supply/build_supply.py`` and converted from COG 2022 to COG 2026 with
:func:`cpts_geo.convert_table` (sums on fusions, population-ratio split on défusions, so
converted counts may be fractional). Paris, Lyon and Marseille are given by arrondissement only.
Users may bring their own activity or FTE table with :func:`read_supply`.
"""

from __future__ import annotations

import functools
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from cpts_geo import fr, reference
from cpts_geo._checks import (
    expect_bool,
    expect_frame,
    expect_instance,
    expect_int,
    expect_source,
    expect_text,
    expect_year,
)
from cpts_geo.codes import FIRST_COG_YEAR, convert_table
from cpts_geo.errors import InputError, OptionError
from cpts_geo.io.tables import clean_codes, find_column, numeric_column, source_rows, table_or_frame

#: profession → (BPE 2021 variable, French label)
PROFESSIONS: dict[str, tuple[str, str]] = {
    "generaliste": ("NB_D201", "médecins généralistes"),
    "infirmier": ("NB_D232", "infirmiers"),
    "kinesitherapeute": ("NB_D233", "masseurs-kinésithérapeutes"),
    "sage_femme": ("NB_D231", "sages-femmes"),
    "dentiste": ("NB_D221", "chirurgiens-dentistes"),
    "orthophoniste": ("NB_D235", "orthophonistes"),
    "pediatre": ("NB_D210", "pédiatres"),
    "psychiatre": ("NB_D207", "psychiatres"),
    "ophtalmologue": ("NB_D208", "ophtalmologues"),
    "gynecologue": ("NB_D214", "gynécologues"),
}

BPE_YEAR = 2021
BPE_SOURCE = (
    "INSEE, Base permanente des équipements 2021 (équipements de santé par commune, "
    "géographie 2022 convertie au COG 2026), Licence Ouverte"
)


def supply_dir() -> Path:
    return reference.data_dir() / "supply"


@functools.cache
def _bpe() -> pd.DataFrame:
    return pd.read_csv(supply_dir() / "bpe2021_sante_com2026.csv", dtype={"code": str}).set_index("code")


def bpe_build_report() -> dict:
    """Totals and COG conversion report written by ``data/supply/build_supply.py``."""
    return json.loads((supply_dir() / "build_report.json").read_text())


def load_supply(profession: str = "generaliste") -> pd.Series:
    """BPE 2021 count of a profession per commune / municipal arrondissement (COG 2026).

    ``profession`` is a key of :data:`PROFESSIONS` or a raw BPE variable (``NB_D2xx``).
    Paris, Lyon and Marseille are split by arrondissement (no whole-city row).
    """
    expect_text(profession, "profession")
    col, label = _profession(profession)
    s = _bpe()[col].astype(float).rename("supply")
    s.attrs = {
        "supply_source": BPE_SOURCE,
        "supply_year": BPE_YEAR,
        "supply_variable": col,
        "profession": label,
        "supply_unit": ("nombre d'" if label[0] in "aeiouyéèh" else "nombre de ") + label
        + " (BPE, professionnels recensés, non pondérés par l'activité)",
        "cog": reference.COG_YEAR,
    }
    return s


def _profession(profession: str) -> tuple[str, str]:
    if profession in PROFESSIONS:
        return PROFESSIONS[profession]
    if profession in _bpe().columns:
        labels = pd.read_csv(supply_dir() / "bpe2021_variables.csv").set_index("variable")["label"]
        return profession, str(labels.get(profession, profession))
    raise OptionError("profession", profession, f"profession inconnue ; choisir parmi {', '.join(PROFESSIONS)} "
                      "ou une variable BPE NB_D2xx")


def read_supply(
    table: pd.DataFrame | str | Path,
    value_col: str,
    code_col: str = "code",
    cog: int = reference.COG_YEAR,
    source: str | None = None,
    year: int | None = None,
) -> pd.Series:
    """A user's supply table (activity, FTE, headcount) as a Series by COG 2026 code.

    ``table`` is a DataFrame or a table file (any encoding and separator, Excel, JSON:
    :func:`cpts_geo.io.read_table`). Codes of COG ``cog`` are converted (sum on fusions,
    population-ratio split on défusions). A missing column, a missing or non-numeric value raise
    :class:`~cpts_geo.errors.InputError` naming the file, row and value; codes unknown in COG 2026
    are listed in ``attrs["refused"]`` with a warning (as every reader of cpts_geo).
    """
    expect_source(table, "table")
    expect_text(value_col, "value_col")
    expect_text(code_col, "code_col")
    expect_year(cog, "cog", first=FIRST_COG_YEAR, last=reference.COG_YEAR)
    expect_text(source, "source", optional=True)
    expect_int(year, "year", optional=True, minimum=1800, maximum=2100)
    df, name = table_or_frame(table, source or "table", (code_col, value_col))
    code_col = find_column(df.columns, given=code_col, source=name)
    value_col = find_column(df.columns, given=value_col, source=name)
    rows = source_rows(df)
    values = numeric_column(df[value_col], name, str(value_col), rows)
    codes = clean_codes(df[code_col])
    conv, report = convert_table(
        pd.DataFrame({"code": codes, "supply": values.to_numpy()}), from_year=cog, value_cols=["supply"]
    )
    refused = list(report["unknown"])
    if refused:
        first = rows[int(np.flatnonzero(codes == refused[0])[0])]
        warnings.warn(
            f"{name}, ligne {first} : {fr.plural(len(refused), 'code inconnu', 'codes inconnus')} du COG {cog} et du "
            f"COG {reference.COG_YEAR}, {fr.plural(len(refused), 'écarté', with_number=False)} : "
            f"{fr.enumeration(refused, limit=10)} ; voir attrs['refused']",
            UserWarning, stacklevel=2)
        conv = conv[~conv["code"].isin(refused)]
    s = conv.set_index("code")["supply"].astype(float)
    s.attrs = {
        "supply_source": source or name,
        "supply_year": year,
        "supply_variable": value_col,
        "supply_unit": value_col,
        "cog": reference.COG_YEAR,
        "converted_from_cog": cog,
        "conversion": {k: report[k] for k in ("fusions", "splits", "rows_in", "rows_out")},
        "refused": refused,
    }
    return s


def standardised_population(
    population_by_age: pd.DataFrame, weights: dict[str, float] | pd.Series, normalise: bool = True
) -> pd.Series:
    """Demand standardised by age: Σ_g pop_ig · w_g for each commune i.

    ``population_by_age`` is indexed by code with one column per age group; ``weights`` maps the
    same age groups to consumption weights (e.g. mean consultations per inhabitant of each group,
    from the DREES parameters of the year reproduced; none is shipped here). With ``normalise``
    the result is rescaled so that its national total equals the total population, as in the
    DREES "population standardisée".
    """
    expect_frame(population_by_age, "population_by_age")
    expect_instance(weights, "weights", (dict, pd.Series), "un dictionnaire ou une série {groupe d'âge: poids}")
    expect_bool(normalise, "normalise")
    w = pd.Series(weights, dtype=float)
    missing = sorted(set(w.index) - set(population_by_age.columns))
    extra = sorted(set(population_by_age.columns) - set(w.index))
    if missing or extra:
        raise InputError(f"groupes d'âge sans effectif : {missing} ; groupes d'âge sans poids : {extra}",
                         "population par âge")
    pop = population_by_age[list(w.index)].astype(float)
    std = pop.to_numpy() @ w.to_numpy()
    if normalise:
        std = std * pop.to_numpy().sum() / std.sum()
    out = pd.Series(std, index=population_by_age.index, name="population_standardisee")
    out.attrs = {"standardisation": {"weights": w.to_dict(), "normalised": normalise}}
    return out
