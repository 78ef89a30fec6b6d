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
from pathlib import Path

import pandas as pd

from cpts_geo import reference
from cpts_geo.codes import _as_text, convert_table

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
    raise ValueError(
        f"profession inconnue : {profession!r} ; choisir parmi {', '.join(PROFESSIONS)} "
        "ou une variable BPE NB_D2xx"
    )


def read_supply(
    table: pd.DataFrame | str | Path,
    value_col: str,
    code_col: str = "code",
    cog: int = reference.COG_YEAR,
    source: str | None = None,
    year: int | None = None,
) -> pd.Series:
    """A user's supply table (activity, FTE, headcount) as a Series by COG 2026 code.

    ``table`` is a DataFrame or a CSV path (``,`` or ``;``). Codes of COG ``cog`` are converted
    (sum on fusions, population-ratio split on défusions). A missing or non-numeric value raises
    ``ValueError`` naming the file, row and value; codes unknown in COG 2026 raise too.
    """
    name = str(table) if not isinstance(table, pd.DataFrame) else (source or "table")
    df = table if isinstance(table, pd.DataFrame) else pd.read_csv(table, sep=None, engine="python", dtype=str, keep_default_na=False)
    for c in (code_col, value_col):
        if c not in df.columns:
            raise ValueError(f"{name} : colonne {c!r} absente (colonnes : {', '.join(map(str, df.columns))})")
    values = _numeric(df[value_col], name, value_col)
    codes = df[code_col].map(_as_text).map(lambda c: c.zfill(5) if c and c.isdigit() else c)
    conv, report = convert_table(
        pd.DataFrame({"code": codes.to_numpy(), "supply": values.to_numpy()}), from_year=cog, value_cols=["supply"]
    )
    if report["unknown"]:
        bad = report["unknown"][0]
        row = int(codes.reset_index(drop=True).eq(bad).idxmax()) + 2
        raise ValueError(f"{name}, ligne {row} : code {bad!r} inconnu du COG {cog} et du COG 2026")
    s = conv.set_index("code")["supply"].astype(float)
    s.attrs = {
        "supply_source": source or name,
        "supply_year": year,
        "supply_variable": value_col,
        "supply_unit": value_col,
        "cog": reference.COG_YEAR,
        "converted_from_cog": cog,
        "conversion": {k: report[k] for k in ("fusions", "splits", "rows_in", "rows_out")},
    }
    return s


def _numeric(col: pd.Series, name: str, label: str) -> pd.Series:
    """Parse numbers (decimal comma accepted); error naming file, row and value otherwise."""
    text = col.astype(str).str.strip().str.replace("\u202f", "").str.replace(" ", "").str.replace(",", ".")
    num = pd.to_numeric(text.where(col.notna(), None), errors="coerce")
    bad = num.isna() | (num < 0)
    if bad.any():
        pos = int(bad.to_numpy().argmax())
        raise ValueError(
            f"{name}, ligne {pos + 2}, colonne {label!r} : valeur {col.iloc[pos]!r} invalide "
            "(nombre positif attendu)"
        )
    return num.astype(float)


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
    w = pd.Series(weights, dtype=float)
    missing = sorted(set(w.index) - set(population_by_age.columns))
    extra = sorted(set(population_by_age.columns) - set(w.index))
    if missing or extra:
        raise ValueError(f"groupes d'âge sans effectif : {missing} ; groupes d'âge sans poids : {extra}")
    pop = population_by_age[list(w.index)].astype(float)
    std = pop.to_numpy() @ w.to_numpy()
    if normalise:
        std = std * pop.to_numpy().sum() / std.sum()
    out = pd.Series(std, index=population_by_age.index, name="population_standardisee")
    out.attrs = {"standardisation": {"weights": w.to_dict(), "normalised": normalise}}
    return out
