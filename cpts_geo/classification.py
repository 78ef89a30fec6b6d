"""Classes of CPTS territories: ACI size band (taille 1-4)."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: ACI CPTS (2019, avenant 2 of 2022): taille 1 < 40,000 ≤ taille 2 < 80,000 ≤ taille 3 < 175,000 ≤ taille 4
ACI_BOUNDS: tuple[int, ...] = (40_000, 80_000, 175_000)


def aci_band(population: pd.Series | np.ndarray | list | float, bounds: tuple[int, ...] = ACI_BOUNDS,
             boundary_upper: bool = True) -> np.ndarray:
    """ACI size band (1-4) of each population (inhabitants).

    With ``boundary_upper=True`` (default) a population equal to a boundary belongs to the upper
    band (40,000 → taille 2), as in the ACI text "de 40 000 à 80 000 habitants". Missing
    populations give 0.
    """
    pop = np.asarray(population, dtype=float)
    side = "right" if boundary_upper else "left"
    band = np.searchsorted(np.asarray(bounds, dtype=float), pop, side=side) + 1
    return np.where(np.isnan(pop), 0, band).astype(int)
