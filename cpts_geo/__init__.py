"""cpts_geo: territorial diagnosis of French CPTS from communes, offline.

Data flow: reference (COG 2026 communes) → members (listings) → perimeters → coverage →
indicators → classification → report / map.
"""

from cpts_geo._version import __version__

# Every public name is imported on first use (PEP 562): ``import cpts_geo`` loads neither pandas,
# geopandas, scipy nor the writers (matplotlib, folium, openpyxl), so that the CLI, the app and
# scripts pay only for what they use. ``tests/test_init.py`` guards it.
_LAZY = {
    "aav_profile": "cpts_geo.classification", "aci_margin": "cpts_geo.classification",
    "classify": "cpts_geo.classification", "classify_diagnosis": "cpts_geo.classification",
    "density_profile": "cpts_geo.classification", "igas_type": "cpts_geo.classification",
    "irdes_profile": "cpts_geo.classification", "read_irdes_typology": "cpts_geo.classification",
    "convert_table": "cpts_geo.codes", "normalise_codes": "cpts_geo.codes",
    "transition": "cpts_geo.codes",
    "compare_listings": "cpts_geo.compare",
    "diagnose": "cpts_geo.coverage", "Diagnosis": "cpts_geo.coverage",
    "area_km2": "cpts_geo.crs", "LOCAL_CRS": "cpts_geo.crs", "local_crs": "cpts_geo.crs",
    "split_by_zone": "cpts_geo.crs", "to_local": "cpts_geo.crs",
    "CptsGeoError": "cpts_geo.errors", "InputError": "cpts_geo.errors",
    "MembersError": "cpts_geo.errors", "NotFoundError": "cpts_geo.errors",
    "OptionError": "cpts_geo.errors", "OutputError": "cpts_geo.errors",
    "write_diagnosis": "cpts_geo.export",
    "aggregate_apl": "cpts_geo.indicators", "apl_flag": "cpts_geo.indicators",
    "attach_apl": "cpts_geo.indicators", "attach_official_apl": "cpts_geo.indicators",
    "attach_population": "cpts_geo.indicators", "commune_population": "cpts_geo.indicators",
    "compute_apl": "cpts_geo.indicators", "estimate_travel_times": "cpts_geo.indicators",
    "load_supply": "cpts_geo.indicators", "official_apl_by_cpts": "cpts_geo.indicators",
    "read_apl": "cpts_geo.indicators", "read_supply": "cpts_geo.indicators",
    "split_commune_population": "cpts_geo.indicators",
    "standardised_population": "cpts_geo.indicators", "zonal_population": "cpts_geo.indicators",
    "read_members": "cpts_geo.members",
    "coverage_rates": "cpts_geo.rates",
    "COG_YEAR": "cpts_geo.reference", "load_communes": "cpts_geo.reference",
    "load_departements": "cpts_geo.reference", "load_epci": "cpts_geo.reference",
    "load_regions": "cpts_geo.reference", "POPULATION_YEAR": "cpts_geo.reference",
    "aci_band": "cpts_geo.rules", "aci_funding": "cpts_geo.rules",
    "aci_near_threshold": "cpts_geo.rules",
    "apply_shares": "cpts_geo.shares", "read_shares": "cpts_geo.shares",
    "format_summary": "cpts_geo.summary",
    "coverage_map": "cpts_geo.maps", "static_map": "cpts_geo.maps", "write_maps": "cpts_geo.maps",
    "Check": "cpts_geo.validation", "ExistingListing": "cpts_geo.validation",
    "validate_territory": "cpts_geo.validation", "ValidationReport": "cpts_geo.validation",
}


def __getattr__(name: str) -> object:
    import importlib

    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name.startswith("__"):
        raise AttributeError(f"module 'cpts_geo' has no attribute {name!r}")
    try:  # a submodule, as after an eager ``from cpts_geo.x import …``: cpts_geo.maps, …
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as e:
        if e.name != f"{__name__}.{name}":
            raise
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
