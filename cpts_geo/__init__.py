"""cpts_geo: territorial diagnosis of French CPTS from communes, offline.

Data flow: reference (COG 2026 communes) → members (listings) → perimeters → coverage →
indicators → classification → report / map.
"""

from cpts_geo._version import __version__
from cpts_geo.classification import (
    aav_profile,
    aci_margin,
    classify,
    classify_diagnosis,
    density_profile,
    igas_type,
    irdes_profile,
    read_irdes_typology,
)
from cpts_geo.codes import convert_table, normalise_codes, transition
from cpts_geo.compare import compare_listings
from cpts_geo.coverage import Diagnosis, diagnose
from cpts_geo.crs import LOCAL_CRS, area_km2, local_crs, split_by_zone, to_local
from cpts_geo.errors import (
    CptsGeoError,
    InputError,
    MembersError,
    NotFoundError,
    OptionError,
    OutputError,
)
from cpts_geo.export import write_diagnosis  # also Diagnosis.write()
from cpts_geo.indicators import (
    aggregate_apl,
    apl_flag,
    attach_apl,
    attach_official_apl,
    attach_population,
    commune_population,
    compute_apl,
    estimate_travel_times,
    load_supply,
    official_apl_by_cpts,
    read_apl,
    read_supply,
    split_commune_population,
    standardised_population,
    zonal_population,
)
from cpts_geo.members import read_members
from cpts_geo.rates import coverage_rates
from cpts_geo.reference import (
    COG_YEAR,
    POPULATION_YEAR,
    load_communes,
    load_departements,
    load_epci,
    load_regions,
)
from cpts_geo.rules import aci_band, aci_funding, aci_near_threshold
from cpts_geo.shares import apply_shares, read_shares
from cpts_geo.summary import format_summary  # also Diagnosis.text()

# Maps (folium, matplotlib) and the validation report are imported on first use, so that
# ``import cpts_geo`` stays fast for scripts that only diagnose.
_LAZY = {
    "coverage_map": "cpts_geo.maps",
    "static_map": "cpts_geo.maps",
    "write_maps": "cpts_geo.maps",
    "Check": "cpts_geo.validation",
    "ExistingListing": "cpts_geo.validation",
    "ValidationReport": "cpts_geo.validation",
    "validate_territory": "cpts_geo.validation",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cpts_geo' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

__all__ = [
    "__version__",
    "COG_YEAR",
    "Check",
    "ExistingListing",
    "Diagnosis",
    "LOCAL_CRS",
    "CptsGeoError",
    "InputError",
    "MembersError",
    "NotFoundError",
    "OptionError",
    "OutputError",
    "POPULATION_YEAR",
    "aav_profile",
    "apply_shares",
    "aggregate_apl",
    "apl_flag",
    "attach_apl",
    "attach_official_apl",
    "attach_population",
    "commune_population",
    "compute_apl",
    "estimate_travel_times",
    "load_supply",
    "official_apl_by_cpts",
    "read_apl",
    "read_supply",
    "split_commune_population",
    "standardised_population",
    "zonal_population",
    "aci_band",
    "aci_funding",
    "aci_margin",
    "aci_near_threshold",
    "area_km2",
    "classify",
    "classify_diagnosis",
    "compare_listings",
    "convert_table",
    "coverage_map",
    "coverage_rates",
    "density_profile",
    "diagnose",
    "format_summary",
    "igas_type",
    "irdes_profile",
    "load_communes",
    "load_departements",
    "load_epci",
    "load_regions",
    "local_crs",
    "normalise_codes",
    "read_irdes_typology",
    "read_members",
    "read_shares",
    "split_by_zone",
    "static_map",
    "to_local",
    "transition",
    "validate_territory",
    "ValidationReport",
    "write_diagnosis",
    "write_maps",
]
