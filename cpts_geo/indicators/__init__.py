"""Indicators attached to communes and aggregated to CPTS: population and APL.

* :mod:`~cpts_geo.indicators.population`: legal populations (any COG year, municipale or
  totale) and zonal sums of a population raster;
* :mod:`~cpts_geo.indicators.apl_official`: the DREES APL file (read, attach, aggregate, flag);
* :mod:`~cpts_geo.indicators.apl`: APL-style 2SFCA computation (:func:`compute_apl`);
* :mod:`~cpts_geo.indicators.supply`: supply of professionals (BPE 2021 or a user table);
* :mod:`~cpts_geo.indicators.travel`: estimated travel times (KD-tree over town halls).
"""

from cpts_geo.indicators.apl import DEFAULT_STEPS, compute_apl, default_population, step_weights
from cpts_geo.indicators.apl_official import (
    APL_THRESHOLDS,
    aggregate_apl,
    apl_flag,
    attach_apl,
    attach_official_apl,
    official_apl_by_cpts,
    read_apl,
)
from cpts_geo.indicators.population import (
    attach_population,
    commune_population,
    split_commune_population,
    zonal_population,
)
from cpts_geo.indicators.supply import (
    PROFESSIONS,
    load_supply,
    read_supply,
    standardised_population,
)
from cpts_geo.indicators.travel import estimate_travel_times

__all__ = [
    "APL_THRESHOLDS",
    "DEFAULT_STEPS",
    "PROFESSIONS",
    "aggregate_apl",
    "apl_flag",
    "attach_apl",
    "attach_official_apl",
    "attach_population",
    "commune_population",
    "compute_apl",
    "default_population",
    "estimate_travel_times",
    "load_supply",
    "official_apl_by_cpts",
    "read_apl",
    "read_supply",
    "split_commune_population",
    "standardised_population",
    "step_weights",
    "zonal_population",
]
