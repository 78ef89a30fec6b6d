"""Coverage maps on the real reference and the real PACA sample listing (no browser here; see
test_maps_browser.py for the headless Chromium test)."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import shapely
from test_maps_support import SAMPLE, sample_diagnosis

import cpts_geo
from cpts_geo.classification import aci_band
from cpts_geo.cli import main
from cpts_geo.maps import build_layers, coverage_map, html_size, static_map, write_maps
from cpts_geo.maps.style import classify


@pytest.fixture(scope="module")
def diag():
    return sample_diagnosis()


@pytest.fixture(scope="module")
def layers(diag):
    return build_layers(diag)


@pytest.fixture(scope="module")
def overlap_diag():
    """The real listing with Forcalquier (04088, CPTS Sud 04) also claimed by its neighbour
    CPTS Alpes Bléone Durance: one overlap."""
    raw = pd.read_csv(SAMPLE, dtype=str)
    extra = pd.DataFrame({"cpts": ["CPTS Alpes Bléone Durance"], "code_insee": ["04088"]})
    members = cpts_geo.read_members(pd.concat([raw, extra], ignore_index=True))
    return cpts_geo.diagnose(members)


def _l93(gdf):
    return gdf.to_crs(2154)


# ------------------------------------------------------------------------------------------
# layers: topology-preserving simplification
# ------------------------------------------------------------------------------------------


def test_layers_keep_every_cpts_and_white_zone(diag, layers):
    assert sorted(layers.perimeters["cpts"]) == sorted(diag.perimeters["cpts"])
    assert layers.perimeters.geometry.notna().all()
    assert layers.perimeters.geometry.is_valid.all()
    assert len(layers.white_zones) == len(diag.white_zones)
    assert sorted(layers.departments["dep"]) == sorted(diag.units["dep"].unique())
    assert len(layers.units) == len(diag.units)


def test_simplified_neighbours_still_meet(diag, layers):
    """Perimeters and white zones of the simplified map form a valid coverage (no overlap, no
    sliver) whose union matches the analysed area, and neighbouring CPTS share a border."""
    parts = pd.concat([_l93(layers.perimeters).geometry, _l93(layers.white_zones).geometry])
    geoms = parts.to_numpy()
    assert shapely.coverage_is_valid(geoms)
    deps = _l93(layers.departments).geometry.to_numpy()
    area_parts = shapely.coverage_union_all(geoms).area
    inside = sum(shapely.intersection(shapely.coverage_union_all(deps), g).area for g in geoms)
    area_deps = shapely.coverage_union_all(deps).area
    assert abs(inside - area_deps) / area_deps < 1e-6  # no gap inside the analysed area
    assert area_parts >= area_deps * (1 - 1e-6)
    # raw perimeters that touch still touch after simplification, along a line
    raw = _l93(diag.perimeters.set_index("cpts").geometry)
    simple = _l93(layers.perimeters.set_index("cpts").geometry)
    tree = shapely.STRtree(raw.to_numpy())
    a, b = tree.query(raw.to_numpy(), predicate="touches")
    pairs = [(raw.index[i], raw.index[j]) for i, j in zip(a, b, strict=True) if i < j]
    shared = [p for p in pairs if raw[p[0]].intersection(raw[p[1]]).length > 1000]
    assert len(shared) >= 15
    for x, y in shared:
        assert simple[x].intersection(simple[y]).length > 500, (x, y)


def test_simplified_areas_close_to_the_diagnosis(diag, layers):
    per = layers.perimeters.set_index("cpts")
    area = cpts_geo.area_km2(per.reset_index(), code_col=None).to_numpy()
    expected = diag.perimeters.set_index("cpts").loc[per.index, "area_km2"].to_numpy()
    assert np.allclose(area, expected, rtol=0.01)


def test_tolerance_is_in_metres_and_reduces_vertices(diag):
    exact = build_layers(diag, tolerance_m=0)
    coarse = build_layers(diag, tolerance_m=1000)
    assert exact.n_vertices_out == exact.n_vertices_in
    assert coarse.n_vertices_out < 0.7 * coarse.n_vertices_in
    assert coarse.tolerance_m == 1000
    # a 1 km tolerance moves borders by about a kilometre at most
    a = _l93(exact.perimeters.set_index("cpts").geometry)
    b = _l93(coarse.perimeters.set_index("cpts").geometry).loc[a.index]
    assert (a.hausdorff_distance(b) < 3000).all()
    assert shapely.coverage_is_valid(b.to_numpy())


def test_overlaps_layer(overlap_diag):
    lay = build_layers(overlap_diag)
    assert len(lay.overlaps) == 1
    row = lay.overlaps.iloc[0]
    assert row["cpts"] == "CPTS Alpes Bléone Durance / CPTS Sud 04"
    assert row["n_cpts"] == 2 and row["n_units"] == 1
    ref = cpts_geo.load_communes().set_index("code")
    assert row["population"] == ref.at["04088", "population"]
    forcalquier = _l93(ref.loc[["04088"]]).geometry.iloc[0]
    got = _l93(lay.overlaps).geometry.iloc[0]
    assert abs(got.area - forcalquier.area) / forcalquier.area < 0.02


def test_paris_lyon_marseille_layers():
    """A city listed whole and a city listed by arrondissement: both drawn without overlap."""
    listing = pd.DataFrame({
        "cpts": ["CPTS Marseille Nord"] * 4 + ["CPTS Marseille Centre"] * 3 + ["CPTS Lyon"],
        "code_insee": ["13213", "13214", "13215", "13216", "13201", "13202", "13203", "69123"],
    })
    d = cpts_geo.diagnose(cpts_geo.read_members(listing))
    lay = build_layers(d)
    per = _l93(lay.perimeters.set_index("cpts").geometry)
    assert per.is_valid.all()
    ref = _l93(cpts_geo.load_communes().set_index("code"))
    lyon = ref.geometry["69123"].area
    assert abs(per["CPTS Lyon"].area - lyon) / lyon < 0.02
    nord = ref.geometry[["13213", "13214", "13215", "13216"]].area.sum()
    assert abs(per["CPTS Marseille Nord"].area - nord) / nord < 0.02
    assert per["CPTS Marseille Nord"].intersection(per["CPTS Marseille Centre"]).area < 1


# ------------------------------------------------------------------------------------------
# colours and legend
# ------------------------------------------------------------------------------------------


def test_band_classes_follow_aci_band(layers):
    cls = classify(layers.perimeters, "band")
    bands = aci_band(layers.perimeters["population"].astype(float))
    assert [int(re.match(r"Taille (\d)", lab).group(1)) for lab in cls.labels] == list(bands)
    assert len(cls.legend) == len(set(bands))


def test_cpts_colours_differ_between_neighbours(layers):
    cls = classify(layers.perimeters, "cpts")
    g = layers.perimeters.geometry.to_numpy()
    a, b = shapely.STRtree(g).query(g, predicate="intersects")
    pairs = [(i, j) for i, j in zip(a, b, strict=True) if i != j]
    assert pairs
    assert all(cls.colors.iloc[i] != cls.colors.iloc[j] for i, j in pairs)


def test_stage_classes_in_project_order(layers):
    per = layers.perimeters.copy()
    per["stage"] = (["ACI signé", "pré-projet", None] * len(per))[:len(per)]
    cls = classify(per, "stage")
    assert list(cls.legend) == ["pré-projet", "ACI signé", "Stade non renseigné"]
    assert (cls.labels == "Stade non renseigné").sum() == len(per) // 3
    assert classify(per, "auto").title == "Stade du projet"
    assert classify(layers.perimeters.assign(stage=None), "auto").title == "CPTS"


def test_unknown_colour_column_is_refused(layers):
    with pytest.raises(ValueError, match="irdes_label"):
        classify(layers.perimeters, "irdes")


# ------------------------------------------------------------------------------------------
# interactive map
# ------------------------------------------------------------------------------------------


def test_html_is_offline_and_credited(diag, layers):
    m = coverage_map(diag, "band", layers=layers)
    page = m.get_root().render()
    # no external script, stylesheet or tile
    assert not re.search(r"<(script|link)[^>]+(src|href)=\"https?:", page)
    assert "tile.openstreetmap" not in page and "L.tileLayer" not in page
    assert "Leaflet 1.9.4" in page or "\"1.9.4\"" in page
    for text in ("IGN ADMIN EXPRESS", "populations légales 2023", "COG 2026",
                 diag.meta["listing"], "Zone blanche (aucune CPTS)", "Rechercher une commune",
                 "Périmètres des CPTS", "Zones blanches", "Chevauchements",
                 "Limites départementales", "Limites communales"):
        as_json = json.dumps(text)[1:-1].replace("'", "\\u0027")  # inside the JS payload
        assert text in page or as_json in page, text


def test_search_index_matches_lookup(diag, layers):
    m = coverage_map(diag, layers=layers)
    extras = next(c for c in m._children.values() if type(c).__name__ == "_Extras")
    index, names = extras.payload["search"], extras.payload["search_cpts"]
    assert len(index) == len(diag.units)
    by_code = {row[1]: row for row in index}
    for code in ("04088", "84138", "05061", "04112"):
        assert tuple(names[i] for i in by_code[code][3]) == tuple(diag.lookup(code))


def test_tiles_option_adds_an_online_layer(diag, layers):
    page = coverage_map(diag, layers=layers, tiles="OpenStreetMap").get_root().render()
    assert "tile.openstreetmap.org" in page


def test_region_map_size_near_its_documented_value(diag):
    d = cpts_geo.diagnose(cpts_geo.read_members(SAMPLE), region="93")
    m = coverage_map(d, "band")
    assert d.units["dep"].nunique() == 6
    # docs/maps.md (bench_maps.py): region PACA map 1.55 MB simplified, 1.77 MB raw. Within 10 % of
    # 1.55 MB — and below the raw size, so the simplification is really applied
    assert 1_400_000 < html_size(m) < 1_700_000


def test_overlap_on_the_map(overlap_diag):
    page = coverage_map(overlap_diag).get_root().render()
    assert json.dumps("CPTS Alpes Bléone Durance / CPTS Sud 04")[1:-1] in page


# ------------------------------------------------------------------------------------------
# static map
# ------------------------------------------------------------------------------------------


def test_static_map_a4_png_pdf(diag, layers, tmp_path):
    fig = static_map(diag, "band", layers=layers)
    w, h = fig.get_size_inches()
    assert sorted((round(w, 2), round(h, 2))) == [8.27, 11.69]
    texts = " ".join(t.get_text() for ax in fig.axes for t in ax.texts) + " ".join(
        t.get_text() for t in fig.texts)
    assert "km" in texts and "Lambert-93" not in texts  # the CRS is for the metadata only
    assert "Lambert-93 (EPSG:2154)" in fig.cpts_geo_metadata["Keywords"]
    assert "IGN ADMIN EXPRESS" in texts and "populations légales 2023" in texts
    paths = write_maps(diag, tmp_path, "band")
    assert set(paths) == {"html", "png", "pdf"}
    assert paths["pdf"].read_bytes().startswith(b"%PDF")
    from PIL import Image

    with Image.open(paths["png"]) as im:
        assert sorted(im.size) == [round(8.27 * 200), round(11.69 * 200)]


def test_scale_bar_is_in_projected_metres(diag, layers):
    fig = static_map(diag, layers=layers)
    ax = fig.axes[0]
    x0, x1 = ax.get_xlim()
    bounds = _l93(layers.departments).total_bounds
    span = bounds[2] - bounds[0]
    assert abs((x1 - x0) - span * 1.06) / span < 0.01  # 3 % margins each side, in metres
    bar = [p for p in ax.patches if p.get_zorder() == 10]
    total = sum(p.get_width() for p in bar)
    label = [t.get_text() for t in ax.texts if t.get_text().endswith("\u202fkm")][0]  # fr: narrow nbsp
    assert total == pytest.approx(float(label.removesuffix("\u202fkm").replace("\u202f", "").replace(",", ".")) * 1000)


def test_national_map_has_overseas_insets():
    raw = pd.read_csv(SAMPLE, dtype=str)
    gp = pd.DataFrame({"cpts": "CPTS Nord Basse-Terre", "code_insee": ["97104", "97109", "97124"]})
    d = cpts_geo.diagnose(cpts_geo.read_members(pd.concat([raw, gp], ignore_index=True)))
    fig = static_map(d)
    titles = [ax.get_title() for ax in fig.axes]
    assert "Guadeloupe" in titles
    inset = fig.axes[titles.index("Guadeloupe")]
    assert inset.get_xlim()[1] - inset.get_xlim()[0] < 200_000  # UTM 20N metres, not degrees


def test_overseas_only_map_uses_its_local_crs():
    listing = pd.DataFrame({"cpts": "CPTS Ouest Réunion", "code_insee": ["97407", "97415", "97413"]})
    d = cpts_geo.diagnose(cpts_geo.read_members(listing))
    lay = build_layers(d)
    assert set(lay.units["zone_crs"]) == {"reunion"}
    fig = static_map(d, layers=lay)
    assert "RGR92 / UTM 40S (EPSG:2975)" in fig.cpts_geo_metadata["Keywords"]
    assert not any(ax.get_title() for ax in fig.axes)  # no inset on an overseas-only map
    page = coverage_map(d, layers=lay).get_root().render()
    assert "Ouest R" in page


# ------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------


def test_cli_map(tmp_path, capsys):
    html, png = tmp_path / "carte.html", tmp_path / "carte.png"
    rc = main(["map", str(SAMPLE), "--departement", "04,05,84", "--color-by", "band", "--html", str(html),
               "--png", str(png), "--listing-date", "janvier 2026"])
    out = capsys.readouterr().out
    assert rc == 0
    assert html.stat().st_size > 100_000 and png.stat().st_size > 50_000
    assert "cpts_04_05_84.csv (janvier 2026)" in html.read_text(encoding="utf-8")
    # white zones derived from the data: communes of 04, 05 and 84 absent from the listing, grouped
    # by shared boundary (plain geometric test)
    n = _white_zone_count(SAMPLE, ("04", "05", "84"))
    assert n == 2
    assert "21 CPTS" in out
    assert f"{n} zones blanches" in out and "(s)" not in out


def _white_zone_count(listing, deps) -> int:
    """Connected groups of communes of ``deps`` listed in no CPTS (union-find on touching outlines)."""
    ref = cpts_geo.load_communes()
    area = ref[(ref["kind"] == "commune") & ref["dep"].isin(deps)]
    listed = set(pd.read_csv(listing, dtype=str)["code_insee"].str.zfill(5))
    white = area[~area["code"].isin(listed)].to_crs(2154).reset_index(drop=True)
    parent = list(range(len(white)))

    def root(i):
        while parent[i] != i:
            i = parent[i]
        return i

    g = white.geometry.values
    for i in range(len(g)):
        for j in range(i + 1, len(g)):
            if shapely.intersection(g[i], g[j]).length > 0:  # a shared boundary, not a single point
                parent[root(i)] = root(j)
    return len({root(i) for i in range(len(g))})


def test_cli_map_errors(tmp_path, capsys):
    assert main(["map", str(SAMPLE)]) == 2
    assert "--html" in capsys.readouterr().err
    rc = main(["map", str(SAMPLE), "--color-by", "nimporte", "--html", str(tmp_path / "x.html")])
    assert rc == 2
    assert "nimporte" in capsys.readouterr().err
