"""What a person sees on the static map of the real PACA sample: every CPTS numbered on the map
and named in the key, no two numbers on top of each other, legend swatches of the colour the
map shows (pixels of the rendered PNG), ordered palettes in their order, zoomed insets where
perimeters are too small (derived by size), the area's name in the title, technical details in
the file metadata only."""

from __future__ import annotations

import datetime as dt
import itertools
import shutil
import subprocess
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.patches import Patch
from matplotlib.text import Text
from test_maps_support import sample_diagnosis

import cpts_geo
from cpts_geo import fr, reference
from cpts_geo.maps import build_layers, save_static, static_map
from cpts_geo.maps import style as st

#: the sample's README: « 21 CPTS, with all their rows »
SAMPLE_CPTS = 21


@pytest.fixture(scope="module")
def layers():
    return build_layers(sample_diagnosis())


@pytest.fixture(scope="module")
def band_map(layers):
    fig = static_map(sample_diagnosis(), "band", layers=layers)
    FigureCanvasAgg(fig).draw()
    return fig


def _gid_texts(fig, prefix: str) -> dict[int, list[Text]]:
    out: dict[int, list[Text]] = {}
    for t in fig.findobj(match=Text):
        gid = t.get_gid() or ""
        if gid.startswith(prefix):
            out.setdefault(int(gid.removeprefix(prefix)), []).append(t)
    return out


def test_every_cpts_has_a_number_on_the_map_and_a_line_in_the_key(band_map):
    on_map = _gid_texts(band_map, "cpts-number-")
    key = _gid_texts(band_map, "cpts-key-")
    assert sorted(key) == list(range(1, SAMPLE_CPTS + 1))
    assert sorted(on_map) == sorted(key)
    assert all(t.get_text() == str(n) for n, ts in on_map.items() for t in ts)
    key_text = "\n".join(t.get_text() for ts in key.values() for t in ts)
    # names of the listing, as written in examples/cpts_paca_sample/cpts_04_05_84.csv
    for name in ("Alpes Bléone Durance", "Ubaye Serre-Ponçon", "CPTS du Grand Avignon", "Verdon"):
        assert name in key_text
    # numbered in alphabetical order: « Alpes Bléone Durance » is first
    assert key[1][0].get_text().split(maxsplit=1)[1] == "Alpes Bléone Durance"


def test_numbers_never_overlap(band_map):
    renderer = band_map.canvas.get_renderer()
    by_axes: dict[int, list] = {}
    for ts in _gid_texts(band_map, "cpts-number-").values():
        for t in ts:
            by_axes.setdefault(id(t.axes), []).append(t.get_bbox_patch().get_window_extent(renderer))
    for boxes in by_axes.values():
        for a, b in itertools.combinations(boxes, 2):
            assert not a.overlaps(b), (a, b)


def test_legend_swatch_is_the_colour_of_the_map(band_map, tmp_path):
    """Render the PNG, read a pixel inside the perimeter of a band-4 CPTS (away from its number
    and edges) and the pixel at the centre of the « Taille 4 » legend swatch: same colour."""
    png = save_static(band_map, tmp_path / "carte.png", dpi=band_map.dpi)
    img = mpimg.imread(png)[..., :3]
    h = img.shape[0]
    per = build_layers(sample_diagnosis()).perimeters.to_crs(2154)
    avignon = per.loc[per["cpts"] == "CPTS du Grand Avignon"].geometry.iloc[0]
    # Avignon alone has 90 000 inhabitants and the CPTS more than 175 000 (taille 4)
    ax = next(t.axes for t in _gid_texts(band_map, "cpts-number-")[
        _number_of(band_map, "CPTS du Grand Avignon")])
    anchor = shapely.Point(*ax.transData.inverted().transform(
        _gid_texts(band_map, "cpts-number-")[_number_of(band_map, "CPTS du Grand Avignon")][0]
        .get_bbox_patch().get_window_extent().get_points().mean(axis=0)))
    inner = avignon.buffer(-1500).difference(anchor.buffer(4000))
    p = inner.point_on_surface()
    x, y = ax.transData.transform((p.x, p.y))
    map_px = img[int(round(h - y)), int(round(x))]
    legend = next(a for a in band_map.axes if a.get_gid() == "legend").get_legend()
    swatch = next(hd for hd, tx in zip(legend.legend_handles, legend.get_texts(), strict=True)
                  if tx.get_text().startswith("Taille 4"))
    assert isinstance(swatch, Patch)
    sx, sy = swatch.get_window_extent().get_points().mean(axis=0)
    legend_px = img[int(round(h - sy)), int(round(sx))]
    assert np.abs(map_px - legend_px).max() <= 2 / 255, (map_px, legend_px)
    # and it is the palette's taille 4 colour (ColorBrewer Blues #08306b), not a washed-out blend
    assert np.abs(map_px - np.array([0x08, 0x30, 0x6B]) / 255).max() <= 2 / 255


def _number_of(fig, name: str) -> int:
    key = _gid_texts(fig, "cpts-key-")
    short = name.removeprefix("CPTS ")
    return next(n for n, ts in key.items() if ts[0].get_text().split(maxsplit=1)[1] in (name, short))


def test_title_names_the_area_and_footer_is_french_without_technical_details(band_map, tmp_path):
    texts = [t.get_text() for t in band_map.texts]
    title = next(t for t in texts if t.startswith("Couverture"))
    assert "Alpes-de-Haute-Provence, Hautes-Alpes et Vaucluse" in title and "21 CPTS" in title
    footer = next(t for t in texts if t.startswith("Sources"))
    assert fr.date(dt.date.today()) in footer.replace("\n", " ")
    every = " ".join(t.get_text() for t in band_map.findobj(match=Text))
    for technical in ("EPSG", "simplif", "coverage_simplify", "tolérance"):
        assert technical not in every
    pdf = save_static(band_map, tmp_path / "carte.pdf").read_bytes()
    assert b"coverage_simplify" in pdf and b"EPSG:2154" in pdf


def test_region_name_in_titles():
    # INSEE: region 93 is made of departments 04, 05, 06, 13, 83 and 84
    assert st.area_name(["04", "05", "06", "13", "83", "84"]) == "Provence-Alpes-Côte d'Azur"
    assert st.area_name(["04", "05", "84"]) == "Alpes-de-Haute-Provence, Hautes-Alpes et Vaucluse"


def test_a3_landscape(layers):
    fig = static_map(sample_diagnosis(), layers=layers, paper="A3")
    assert tuple(round(v, 2) for v in fig.get_size_inches()) == (16.54, 11.69)  # 420 × 297 mm
    fig4 = static_map(sample_diagnosis(), layers=layers)
    assert tuple(round(v, 2) for v in fig4.get_size_inches()) == (11.69, 8.27)  # 297 × 210 mm
    with pytest.raises(ValueError, match="A4 ou A3"):
        static_map(sample_diagnosis(), layers=layers, paper="A5")


def test_ordered_palettes_and_unknown_stage_in_grey(layers):
    per = layers.perimeters.copy()
    dens = ["Urbain dense", "Rural", "Densité intermédiaire"] * len(per)
    per["dens_dominant"] = dens[: len(per)]
    c = st.classify(per, "densite")
    # density in its order (least dense first), light to dark: not alphabetical
    assert list(c.legend) == ["Rural", "Densité intermédiaire", "Urbain dense"]
    lum = [np.mean([int(v[i:i + 2], 16) for i in (1, 3, 5)]) for v in c.legend.values()]
    assert lum == sorted(lum, reverse=True)
    per["stage"] = (["ACI signé", "en cours"] * len(per))[:len(per)]
    c = st.classify(per, "stage")
    grey = c.legend["en cours"]
    assert grey[1:3] == grey[3:5] == grey[5:7]  # r = g = b: a grey, apart from the stage greens
    assert c.legend["ACI signé"] == st.STAGE_COLORS[-1]


@pytest.fixture(scope="module")
def marseille_map():
    """Department 13 with each of Marseille's 16 arrondissements as its own CPTS and the other
    communes grouped by EPCI: the arrondissements are too small for their number at the
    department's scale, so an inset must show them (derived from sizes, not from the name)."""
    c = reference.load_communes()
    c = c[(c["dep"] == "13") & (c["code"] != "13055")]
    arr = c["code"].str.startswith("132")
    rows = pd.concat([
        pd.DataFrame({"cpts": "CPTS Marseille " + c.loc[arr, "code"], "code_insee": c.loc[arr, "code"]}),
        pd.DataFrame({"cpts": "CPTS EPCI " + c.loc[~arr, "epci"].astype(str),
                      "code_insee": c.loc[~arr, "code"]}),
    ])
    diag = cpts_geo.diagnose(cpts_geo.read_members(rows), departments="13")
    fig = static_map(diag)
    FigureCanvasAgg(fig).draw()
    return fig, diag


def test_dense_area_gets_a_zoomed_inset(marseille_map):
    fig, diag = marseille_map
    insets = [a for a in fig.axes if "agrandissement" in a.get_title(loc="left")]
    assert insets, "no zoomed inset for Marseille's arrondissements"
    numbers = _gid_texts(fig, "cpts-number-")
    assert sorted(numbers) == list(range(1, len(diag.perimeters) + 1))
    key = {n: ts[0].get_text() for n, ts in _gid_texts(fig, "cpts-key-").items()}
    marseille = [n for n, t in key.items() if "Marseille" in t]
    assert len(marseille) == 16
    in_inset = {n for n, ts in numbers.items() for t in ts if t.axes in insets}
    assert len(set(marseille) & in_inset) >= 12


POPPLER = shutil.which("pdftoppm") and shutil.which("pdftotext")


@pytest.mark.skipif(not POPPLER, reason="Debian package poppler-utils not installed")
def test_printed_pdf_legend_colour_and_numbered_key(band_map, tmp_path):
    """The PDF as a printer gets it, rendered by pdftoppm (not matplotlib): the « Taille 4 »
    swatch and the Grand Avignon fill are the same colour; pdftotext reads the 21 lines of the
    key (« 1 Alpes Bléone Durance » … « 21 Verdon ») and every number on the map."""
    FigureCanvasAgg(band_map).draw()  # positions at the figure's dpi (an earlier save changed them)
    num = _number_of(band_map, "CPTS du Grand Avignon")
    badge = _gid_texts(band_map, "cpts-number-")[num][0]
    ax = badge.axes
    avignon = build_layers(sample_diagnosis()).perimeters.to_crs(2154)
    avignon = avignon.loc[avignon["cpts"] == "CPTS du Grand Avignon"].geometry.iloc[0]
    anchor = shapely.Point(*ax.transData.inverted().transform(
        badge.get_bbox_patch().get_window_extent().get_points().mean(axis=0)))
    p = avignon.buffer(-1500).difference(anchor.buffer(4000)).point_on_surface()
    map_xy = ax.transData.transform((p.x, p.y))
    legend = next(a for a in band_map.axes if a.get_gid() == "legend").get_legend()
    swatch = next(hd for hd, tx in zip(legend.legend_handles, legend.get_texts(), strict=True)
                  if tx.get_text().startswith("Taille 4"))
    swatch_xy = swatch.get_window_extent().get_points().mean(axis=0)

    pdf = save_static(band_map, tmp_path / "carte.pdf")
    dpi = 100
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-singlefile", str(pdf), str(tmp_path / "page")],
                   check=True)
    img = mpimg.imread(tmp_path / "page.png")[..., :3]
    w_in, h_in = band_map.get_size_inches()
    assert img.shape[:2] == (round(h_in * dpi), round(w_in * dpi))  # one A4 landscape page

    def pixel(xy: np.ndarray) -> np.ndarray:  # figure pixels (matplotlib) → page pixels
        scale = dpi / band_map.dpi
        return img[int(round(img.shape[0] - xy[1] * scale)), int(round(xy[0] * scale))]

    map_px, legend_px = pixel(map_xy), pixel(swatch_xy)
    assert np.abs(map_px - legend_px).max() <= 3 / 255, (map_px, legend_px)
    assert np.abs(map_px - np.array([0x08, 0x30, 0x6B]) / 255).max() <= 3 / 255  # #08306b

    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    for line in ("1  Alpes Bléone Durance", "8  CPTS du Grand Avignon", "12  H3VE", "21  Verdon"):
        assert " ".join(line.split()) in " ".join(text.split())
    words = set(text.split())
    assert {str(n) for n in range(1, SAMPLE_CPTS + 1)} <= words


def test_static_map_image_is_in_the_docs_and_readme():
    """The static map shown to readers is the A4 landscape figure of the sample (11.69 × 8.27 in
    at the 110 dpi of examples/docs_images.py: 1285 × 909 px, truncated), referenced by README
    and docs."""
    root = Path(__file__).resolve().parent.parent
    png = root / "docs" / "img" / "static_map.png"
    assert png.exists()
    h, w = mpimg.imread(png).shape[:2]
    assert (w, h) == (1285, 909)
    assert "docs/img/static_map.png" in (root / "README.md").read_text(encoding="utf-8")
    docs = (root / "docs" / "maps.md").read_text(encoding="utf-8")
    assert "img/static_map.png" in docs
    # the dense example (insets), drawn by examples/static_map_dense.py at the same size
    assert "img/static_map_dense.png" in docs
    assert mpimg.imread(root / "docs" / "img" / "static_map_dense.png").shape[:2] == (909, 1285)
