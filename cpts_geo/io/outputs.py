"""Table files of a coverage diagnosis: ``summary.json``, ``perimeters.gpkg``,
``white_zones.gpkg``, ``overlaps.csv`` and the workbook ``diagnostic_cpts.xlsx``
(:func:`write_tables`). What ``cpts-geo coverage --out`` and ``Diagnosis.write`` write in all
(classification, official APL, maps) is :func:`cpts_geo.export.write_diagnosis`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from cpts_geo.io.french import check_csv_format, write_csv, write_workbook

if TYPE_CHECKING:
    from cpts_geo.coverage import Diagnosis


def _flat(df: pd.DataFrame) -> pd.DataFrame:
    """Tuples as "a; b" strings for GPKG / CSV / Excel."""
    out = df.copy()
    for c in out.columns:
        if c != getattr(out, "_geometry_column_name", None) and out[c].dtype == object:
            if out[c].map(lambda v: isinstance(v, (tuple, list))).any():
                out[c] = out[c].map(lambda v: "; ".join(map(str, v)) if isinstance(v, (tuple, list)) else v)
    return out


def summary_json(d: Diagnosis) -> str:
    """The summary as JSON text (UTF-8, French labels kept)."""
    return json.dumps(d.summary, ensure_ascii=False, indent=2, default=str)


def write_tables(d: Diagnosis, out_dir: str | Path, csv_format: str = "fr") -> dict[str, Path]:
    """Write the tables of a diagnosis as they are into ``out_dir`` (created): ``summary.json``,
    ``perimeters.gpkg``, ``white_zones.gpkg``, ``overlaps.csv`` (``csv_format`` "fr": ``;``,
    decimal comma, UTF-8 with BOM; "international": ``,`` and a decimal point, see
    :func:`cpts_geo.io.french.write_csv`) and the workbook ``diagnostic_cpts.xlsx``; returns name → path. :func:`cpts_geo.export.write_diagnosis`
    (``Diagnosis.write``) adds the classification, the official APL and the maps first."""
    check_csv_format(csv_format)  # before writing anything
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "summary": out / "summary.json", "perimeters": out / "perimeters.gpkg",
        "white_zones": out / "white_zones.gpkg", "overlaps": out / "overlaps.csv",
        "workbook": out / "diagnostic_cpts.xlsx",
    }
    paths["summary"].write_text(summary_json(d), encoding="utf-8")
    for key, gdf in (("perimeters", d.perimeters), ("white_zones", d.white_zones)):
        if paths[key].exists():
            paths[key].unlink()
        _flat(gdf).to_file(paths[key], layer=key, driver="GPKG")
    write_csv(_flat(_overlap_table(d)), paths["overlaps"], csv_format)
    _write_workbook(d, paths["workbook"])
    return paths


def _overlap_table(d: Diagnosis) -> pd.DataFrame:
    pairs = d.overlap_pairs.assign(type="paire de CPTS")
    units = d.overlaps.assign(type="commune")
    return pd.concat([units, pairs], ignore_index=True)[
        ["type", "code", "nom", "dep", "population", "n_cpts", "cpts", "double_counted_population",
         "cpts_a", "cpts_b", "n_shared", "shared_population", "codes"]]


def _write_workbook(d: Diagnosis, path: Path) -> None:
    s = d.summary
    synth = pd.DataFrame([
        ("Liste", s["listing"]), ("Zone analysée", s["area"]), ("CPTS", s["cpts"]),
        ("Communes", s["units"]), ("Communes couvertes", s["covered_units"]),
        ("Part des communes couvertes", round(s["covered_units_share"], 4)),
        ("Population", s["population"]), ("Population couverte", s["covered_population"]),
        ("Part de la population couverte", round(s["covered_population_share"], 4)),
        ("Part couverte par des CPTS à l'ACI signé", s["covered_population_share_aci"]),
        ("Zones blanches", s["white_zones"]), ("Communes en zone blanche", s["white_units"]),
        ("Population en zone blanche", s["white_population"]),
        ("Communes dans plusieurs CPTS", len(s["overlapping_units"])),
        ("Population des communes dans plusieurs CPTS", int(d.overlaps["population"].fillna(0).sum())),
        ("Habitants comptés en plus dans la somme des populations des CPTS", s["double_counted_population"]),
        *[(f"CPTS de taille {k}", v) for k, v in s["bands"].items()],
        ("Géographie", f"COG {s['cog']}"), ("Population de référence", f"population municipale légale {s['population_year']}"),
        *[(f"Source : {k}", v) for k, v in s["sources"].items()],
    ], columns=["indicateur", "valeur"])
    per = _flat(d.perimeters.drop(columns="geometry")).rename(columns={
        "cpts": "CPTS", "stage": "stade", "codes": "communes", "n_units": "nb communes",
        "n_units_outside_area": "nb communes hors zone", "n_units_without_geometry": "nb communes sans contour",
        "population": f"population {s['population_year']}", "area_km2": "surface km²",
        "density": "densité hab/km²", "deps": "départements", "regs": "régions", "epci_full": "EPCI entiers",
        "epci_partial": "EPCI partiels", "n_parts": "nb morceaux", "n_islands": "nb îles",
        "islands": "îles", "enclaves": "enclaves",
        "shared_units": "communes partagées", "band": "taille ACI"})
    wz = _flat(d.white_zones.drop(columns="geometry")).rename(columns={
        "zone_id": "zone", "codes": "communes", "noms": "noms", "n_units": "nb communes",
        "n_units_without_geometry": "nb sans contour", "population": f"population {s['population_year']}",
        "area_km2": "surface km²", "type": "type", "inside_cpts": "enclavée dans",
        "neighbour_cpts": "CPTS voisines", "neighbour_border_km": "limite commune km"})
    wz["type"] = wz["type"].map({"edge": "en bordure", "enclosed": "enclavée"})
    units = _flat(d.units.drop(columns=["geometry", "host"], errors="ignore"))
    cov = d.coverage.assign(level=d.coverage["level"].map(
        {"zone": "zone analysée", "reg": "région", "dep": "département"})).rename(columns={
            "level": "niveau", "stages": "stades", "key": "code", "units": "nb communes",
            "covered_units": "nb communes couvertes", "population": f"population {s['population_year']}",
            "covered_population": "population couverte", "covered_population_share": "part de la population couverte",
            "covered_units_share": "part des communes couvertes"})
    sheets = {
        "Synthèse": synth, "Périmètres": per, "Zones blanches": wz,
        "Communes partagées": _flat(d.overlaps), "Paires de CPTS": _flat(d.overlap_pairs),
        "Couverture": cov, "Communes": units,
    }
    rep = d.report
    if rep is not None and len(rep):
        cols = [c for c in ("source_row", "cpts", "input", "code", "nom", "status", "message", "duplicate")
                if c in rep.columns]
        sheets["Codes (rapport)"] = rep[cols]
    # frozen header, autofilter, fitted widths, thousands separators; shares as %, areas to 0.1 km²
    formats = {
        "Périmètres": {"surface km²": "km2", "densité hab/km²": "decimal1"},
        "Zones blanches": {"surface km²": "km2"},
        "Couverture": {"part de la population couverte": "percent", "part des communes couvertes": "percent"},
        "Communes": {"area_km2": "km2"},
    }
    write_workbook(path, sheets, formats)
