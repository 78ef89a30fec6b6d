"""Coverage maps: HTML size and build time, with the simplification ratio.

1. Region map: the real sample listing (21 CPTS) analysed on the whole region PACA (93).
2. National map of ~1,000 CPTS. No national CPTS listing is available offline, so the benchmark
   uses a PROXY: every EPCI 2026 of France as a "CPTS", leaving out one EPCI in five (white zones)
   — the same orders of magnitude (≈ 1,000 territories, 35,000 communes). It is not a real
   listing and nothing from it is shipped.

For each map it prints: build time (layers = simplification + dissolve; map = folium objects;
render = HTML text), HTML size, vertex counts, and the same map without simplification
(tolerance 0) with the ratios. It also compares the topology-preserving coverage simplification
with the naive per-polygon ``GeoSeries.simplify`` (Douglas-Peucker) at the same tolerance: gaps
and overlaps between neighbouring CPTS (km²). With ``chromium`` + ``selenium`` installed, the
national page load time in headless Chromium is measured too.

    python benchmarks/bench_maps.py [--skip-national] [--skip-browser]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

import cpts_geo
from cpts_geo.maps import build_layers, coverage_map, save_html, static_map

try:
    from _results import save
except ImportError:  # imported from elsewhere than benchmarks/
    save = None

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "cpts_paca_sample" / "cpts_04_05_84.csv"


def _timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def _mainland(g: gpd.GeoSeries) -> gpd.GeoSeries:
    """Pieces of mainland France (selection by location only; measures are in Lambert-93)."""
    p = g.to_crs(4326).representative_point()
    return g[((p.x > -6) & (p.x < 10) & (p.y > 41) & (p.y < 52)).to_numpy()]


def _topology_defects(pieces: gpd.GeoSeries) -> tuple[float, float]:
    """(overlap km², gap km²) between the pieces of a map (perimeters + white zones), which
    should tile the analysed area: overlaps between pieces and holes inside their union."""
    g = _mainland(pieces).to_crs(2154).geometry.to_numpy()
    g = g[~shapely.is_empty(g)]
    tree = shapely.STRtree(g)
    a, b = tree.query(g, predicate="intersects")
    keep = a < b
    overlap = shapely.area(shapely.intersection(g[a[keep]], g[b[keep]])).sum() / 1e6
    union = shapely.union_all(g)
    holes = [shapely.Polygon(r) for p in getattr(union, "geoms", [union]) for r in p.interiors]
    gap = sum(h.area for h in holes) / 1e6
    return float(overlap), float(gap)


def measure(label: str, diag, tolerance_m: float | None, render_file: Path | None = None) -> dict:
    lay, t_layers = _timed(build_layers, diag, tolerance_m)
    m, t_map = _timed(coverage_map, diag, "band", layers=lay)
    html, t_render = _timed(m.get_root().render)
    size = len(html.encode("utf-8"))
    if render_file is not None:
        render_file.write_text(html, encoding="utf-8")
    print(f"  {label:<34} tolérance {lay.tolerance_m:6.0f} m | sommets {lay.n_vertices_in:>9,} → "
          f"{lay.n_vertices_out:>9,} | couches {t_layers:5.2f} s, carte {t_map:5.2f} s, rendu "
          f"{t_render:5.2f} s | HTML {size / 1e6:6.2f} Mo")
    return {"layers": lay, "size": size, "time": t_layers + t_map + t_render, "layers_s": t_layers, "map_s": t_map,
            "render_s": t_render}


FIGURES: dict[str, dict] = {}


def compare(diag, name: str) -> dict:
    print(f"\n== {name}: {len(diag.perimeters)} CPTS, {len(diag.units)} unités, "
          f"{len(diag.white_zones)} zones blanches")
    simple = measure("simplifiée (auto)", diag, None)
    raw = measure("sans simplification", diag, 0)
    print(f"  ratio taille HTML sans/avec simplification : {raw['size'] / simple['size']:.2f}×, "
          f"sommets : {raw['layers'].n_vertices_out / simple['layers'].n_vertices_out:.2f}×")
    # naive: per-polygon Douglas-Peucker on the raw perimeters and white zones, same tolerance
    tol = simple["layers"].tolerance_m
    raw_pieces = pd.concat([diag.perimeters.geometry, diag.white_zones.geometry])
    raw_pieces = gpd.GeoSeries(raw_pieces.to_numpy(), crs=4326)
    raw_pieces = raw_pieces[raw_pieces.notna()]
    naive = _mainland(raw_pieces).to_crs(2154).simplify(tol)
    lay = simple["layers"]
    fig = {"cpts": len(diag.perimeters), "units": len(diag.units), "white_zones": len(diag.white_zones),
           "tolerance_m": lay.tolerance_m, "vertices_simplified": lay.n_vertices_out,
           "vertices_raw": raw["layers"].n_vertices_out, "html_mb": simple["size"] / 1e6,
           "html_raw_mb": raw["size"] / 1e6, "layers_s": simple["layers_s"], "map_s": simple["map_s"],
           "render_s": simple["render_s"]}
    ours = gpd.GeoSeries(pd.concat([lay.perimeters.geometry, lay.white_zones.geometry]).to_numpy(),
                         crs=4326)
    for what, g in (("périmètres bruts (référence)", raw_pieces),
                    ("coverage_simplify + coverage_union", ours),
                    ("GeoSeries.simplify (naïf)", naive)):
        g = _mainland(g)
        ov, gap = _topology_defects(g)
        n = int(shapely.get_num_coordinates(g.to_numpy()).sum())
        print(f"  {what:<36} {n:>9,} sommets (CPTS + zones blanches) | chevauchements "
              f"{ov:8.2f} km², trous {gap:8.2f} km²")
        fig[{"périmètres bruts (référence)": "raw", "coverage_simplify + coverage_union": "coverage",
             "GeoSeries.simplify (naïf)": "naive"}[what]] = {"overlap_km2": ov, "holes_km2": gap}
    return fig


def national_proxy() -> pd.DataFrame:
    ref = cpts_geo.load_communes(("commune",))
    ref = ref[ref["epci"].notna() & (ref["epci"] != "")]
    epcis = sorted(ref["epci"].unique())
    kept = {e for i, e in enumerate(epcis) if i % 5 != 4}
    sel = ref[ref["epci"].isin(kept)]
    return pd.DataFrame({"cpts": "Proxy EPCI " + sel["epci"], "code_insee": sel["code"]})


def browser_load(html: Path) -> float | None:
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        return None
    if not (chromium and driver_path):
        return None
    with tempfile.TemporaryDirectory(prefix="cpts-geo-chromium-") as profile:
        opts = webdriver.ChromeOptions()
        opts.binary_location = chromium
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-quic", "--no-first-run",
                    "--disable-component-update", "--disable-sync", "--window-size=1400,1000",
                    f"--user-data-dir={profile}"):
            opts.add_argument(arg)
        d = webdriver.Chrome(service=Service(executable_path=driver_path), options=opts)
        try:
            t = time.perf_counter()
            d.get(html.as_uri())  # returns after the load event: scripts have run
            ok = d.execute_script("return !!(window.cptsGeo && cptsGeo.map)")
            elapsed = time.perf_counter() - t
        finally:
            d.quit()
    return elapsed if ok else None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-national", action="store_true")
    parser.add_argument("--skip-browser", action="store_true")
    args = parser.parse_args()

    members = cpts_geo.read_members(SAMPLE)
    diag, t = _timed(cpts_geo.diagnose, members, region="93")
    print(f"diagnose région 93 : {t:.2f} s")
    FIGURES["region"] = compare(diag, f"Carte régionale PACA (liste réelle, {diag.summary['cpts']} CPTS)")

    if not args.skip_national:
        proxy = national_proxy()
        nat_members, t1 = _timed(cpts_geo.read_members, proxy)
        nat, t2 = _timed(cpts_geo.diagnose, nat_members)
        print(f"\nproxy national : read_members {t1:.2f} s, diagnose {t2:.2f} s")
        FIGURES["national_proxy"] = compare(nat, "Carte nationale (proxy : EPCI 2026 = CPTS)")
        with tempfile.TemporaryDirectory() as tmp:
            page = Path(tmp) / "national.html"
            lay = build_layers(nat)
            m = coverage_map(nat, "band", layers=lay)
            save_html(m, page)
            fig, t_static = _timed(static_map, nat, "band", layers=lay)
            _, t_png = _timed(fig.savefig, Path(tmp) / "national.png", dpi=200)
            print(f"  carte statique nationale (A4, encarts DROM) : figure {t_static:.2f} s, "
                  f"PNG {t_png:.2f} s")
            if not args.skip_browser:
                load = browser_load(page)
                if load is not None:
                    print(f"  chargement dans Chromium headless (page de {page.stat().st_size / 1e6:.1f} "
                          f"Mo) : {load:.2f} s")
                    FIGURES["national_proxy"]["browser_load_s"] = load
    if save:
        save("maps", FIGURES, note="national map: PROXY listing, every EPCI 2026 as a CPTS, one in five left out "
                                   "(no national CPTS listing offline)")


if __name__ == "__main__":
    main()
