"""Diagnosis of the real PACA sample listing for the map tests.

Uses ``cpts_geo.diagnose`` when the coverage module provides it; otherwise builds the contract
frames of docs/architecture.md (units, perimeters, white_zones, meta) directly from the real
reference and the real listing, so the map code is tested on the same data either way.
"""

from __future__ import annotations

import functools
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import pandas as pd
import shapely

import cpts_geo
from cpts_geo.classification import aci_band

SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "cpts_paca_sample" / "cpts_04_05_84.csv"


def has_diagnose() -> bool:
    return hasattr(cpts_geo, "diagnose") and hasattr(cpts_geo, "read_members")


def contract_diagnosis(path: Path = SAMPLE, stages: dict[str, str] | None = None) -> SimpleNamespace:
    """Contract frames built from the listing with normalise_codes (fallback for diagnose)."""
    raw = pd.read_csv(path, dtype=str)
    norm = cpts_geo.normalise_codes(raw["code_insee"])
    members = pd.DataFrame({"cpts": raw["cpts"], "code": norm["code"].to_numpy()}).dropna()
    members = members.drop_duplicates()
    ref = cpts_geo.load_communes()
    deps = sorted(ref.loc[ref["code"].isin(members["code"]), "dep"].unique())
    units = ref[ref["dep"].isin(deps) & (ref["kind"] != "arrondissement")].copy()
    cov = members.groupby("code")["cpts"].agg(lambda s: tuple(sorted(s)))
    units["cpts"] = units["code"].map(cov).map(lambda v: v if isinstance(v, tuple) else ())
    units["n_cpts"] = units["cpts"].map(len)
    units = units[["code", "nom", "kind", "dep", "reg", "epci", "population", "geometry",
                   "n_cpts", "cpts"]]
    pop = units.set_index("code")["population"]
    per = members.groupby("cpts", sort=True)["code"].agg(tuple).rename("codes").reset_index()
    per["stage"] = per["cpts"].map(stages or {}).astype(object)
    per["n_units"] = per["codes"].map(len)
    per["population"] = per["codes"].map(lambda cs: int(pop.reindex(list(cs)).sum()))
    geoms = units.set_index("code").geometry
    per["geometry"] = [shapely.coverage_union_all(geoms.reindex(list(cs)).dropna().to_numpy())
                       for cs in per["codes"]]
    per = gpd.GeoDataFrame(per, geometry="geometry", crs=4326)
    per["area_km2"] = cpts_geo.area_km2(per, code_col=None)
    per["density"] = per["population"] / per["area_km2"]
    per["deps"] = per["codes"].map(lambda cs: tuple(sorted({c[:2] for c in cs})))
    per["band"] = aci_band(per["population"])
    free = units[units["n_cpts"] == 0]
    comp = shapely.coverage_union_all(free.geometry.to_numpy())
    parts = list(getattr(comp, "geoms", [comp]))
    rows = []
    pts = free.geometry.representative_point()
    for i, part in enumerate(parts, start=1):
        codes = tuple(free.loc[pts.within(part).to_numpy(), "code"])
        if codes:
            rows.append({"zone_id": i, "codes": codes, "n_units": len(codes),
                         "population": int(pop.reindex(list(codes)).sum())})
    white = pd.DataFrame(rows)
    meta = {"cog": 2026, "population_year": 2023, "listing_source": path.name,
            "listing_date": None}
    return SimpleNamespace(units=units, perimeters=per, white_zones=white, meta=meta)


@functools.cache
def sample_diagnosis():
    """Diagnosis of the 18 CPTS of the sample listing (real diagnose when available)."""
    if has_diagnose():
        return cpts_geo.diagnose(cpts_geo.read_members(SAMPLE))
    return contract_diagnosis()
