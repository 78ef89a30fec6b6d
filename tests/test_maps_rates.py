"""What a person sees on the coverage-rate map (choropleth by zone): legend swatch = rendered
fill (pixels of the PNG), French legend classes and labels, the choropleth chosen by default for
a listing spanning two regions (Python, ``cpts-geo map`` and ``cpts-geo coverage --out``)."""

from __future__ import annotations

import json
import subprocess
import sys

import matplotlib.image as mpimg
import numpy as np
import pytest
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.patches import Patch
from matplotlib.text import Text
from test_maps_support import SAMPLE, sample_diagnosis
from test_rates import TWO_REGION_DEPARTMENTS, two_region_diagnosis, two_region_listing

import cpts_geo
from cpts_geo import fr
from cpts_geo.maps import rates as mr
from cpts_geo.maps import save_static, static_map

NNBSP = "\u202f"


@pytest.fixture(scope="module")
def epci_map():
    fig = static_map(sample_diagnosis(), "taux_couverture", rates_by="epci")
    FigureCanvasAgg(fig).draw()
    return fig


def _labels(fig) -> dict[str, Text]:
    return {t.get_gid().removeprefix("rate-label-"): t for t in fig.findobj(match=Text)
            if (t.get_gid() or "").startswith("rate-label-")}


def test_legend_classes_and_labels_in_french():
    assert mr.rate_class_labels() == (
        f"moins de 20{NNBSP}%", f"de 20{NNBSP}% à moins de 40{NNBSP}%",
        f"de 40{NNBSP}% à moins de 60{NNBSP}%", f"de 60{NNBSP}% à moins de 80{NNBSP}%",
        f"80{NNBSP}% ou plus")
    assert mr.outside_label(12345) == f"12{NNBSP}345{NNBSP}hab. hors CPTS"
    assert mr.outside_label(0) == "entièrement couvert"
    assert mr.pct(0.99996) == f"99,9{NNBSP}%" and mr.pct(1.0) == f"100{NNBSP}%"
    c = mr.rate_classes(__import__("pandas").Series([0.0, 0.2, 0.5, 0.79, 0.8, 1.0, float("nan")]))
    assert list(c.labels) == [*mr.rate_class_labels()[:1], mr.rate_class_labels()[1],
                              mr.rate_class_labels()[2], mr.rate_class_labels()[3],
                              mr.rate_class_labels()[4], mr.rate_class_labels()[4],
                              "Population inconnue"]
    # sequential palette, light (low coverage) to dark
    lum = [np.mean([int(v[i:i + 2], 16) for i in (1, 3, 5)]) for v in mr.RATE_COLORS]
    assert lum == sorted(lum, reverse=True)


def test_every_uncovered_epci_is_labelled_or_listed(epci_map):
    rates = epci_map.cpts_geo_rates
    labelled = _labels(epci_map)
    rows = {t.get_gid().removeprefix("rate-row-") for t in epci_map.findobj(match=Text)
            if (t.get_gid() or "").startswith("rate-row-")}
    uncovered = set(rates.loc[rates["white_population"] > 0, "zone"])
    assert uncovered and uncovered <= set(labelled) | rows
    # the CC du Sisteronais-Buëch: its label gives its rate and its people outside any CPTS
    r = rates.set_index("zone").loc["200068765"]
    text = labelled["200068765"].get_text()
    assert text.startswith("CC du Sisteronais-Buëch")
    assert fr.percent(r["rate"]) in text
    assert f"{fr.integer(r['white_population'])}{NNBSP}hab. hors CPTS" in text
    title = next(t.get_text() for t in epci_map.texts if t.get_text().startswith("Part"))
    assert "par EPCI" in title and "Alpes-de-Haute-Provence" in title
    footer = next(t.get_text() for t in epci_map.texts if t.get_text().startswith("Sources"))
    assert "populations légales 2023" in footer and "COG 2026" in footer.replace("\n", " ")


def test_legend_swatch_is_the_colour_of_the_map(epci_map, tmp_path):
    """A pixel inside the CC Jabron-Lure-Vançon-Durance (0 % covered: « moins de 20 % »), away
    from its label and edges, and the pixel at the centre of that legend swatch: same colour, the
    palette's #ffffcc."""
    png = save_static(epci_map, tmp_path / "taux.png", dpi=epci_map.dpi)
    img = mpimg.imread(png)[..., :3]
    h = img.shape[0]
    rates = epci_map.cpts_geo_rates.set_index("zone")
    zone = "200071033"
    assert rates.loc[zone, "nom"].startswith("CC Jabron-Lure-Vançon-Durance")
    assert rates.loc[zone, "rate"] < 0.2
    ax = next(a for a in epci_map.axes if a.get_gid() == "rates-map")
    geom = mr.simplified(epci_map.cpts_geo_rates).set_index("zone").to_crs(2154).geometry[zone]
    inv = ax.transData.inverted()
    (x0, y0), (x1, y1) = inv.transform(_labels(epci_map)[zone].get_window_extent().get_points())
    inner = geom.buffer(-2000).difference(shapely.box(x0, y0, x1, y1).buffer(2000))
    p = inner.point_on_surface()
    x, y = ax.transData.transform((p.x, p.y))
    map_px = img[int(round(h - y)), int(round(x))]
    legend = next(a for a in epci_map.axes if a.get_gid() == "legend").get_legend()
    swatch = next(hd for hd, tx in zip(legend.legend_handles, legend.get_texts(), strict=True)
                  if tx.get_text() == f"moins de 20{NNBSP}%")
    assert isinstance(swatch, Patch)
    sx, sy = swatch.get_window_extent().get_points().mean(axis=0)
    legend_px = img[int(round(h - sy)), int(round(sx))]
    assert np.abs(map_px - legend_px).max() <= 2 / 255, (map_px, legend_px)
    assert np.abs(map_px - np.array([0xFF, 0xFF, 0xCC]) / 255).max() <= 2 / 255


def test_labels_never_overlap(epci_map):
    renderer = epci_map.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in _labels(epci_map).values()]
    # the EPCI with people outside any CPTS: CC du Sisteronais-Buëch and CC Jabron-Lure-Vançon-Durance
    assert len(boxes) >= 2
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b)


def test_two_regions_get_the_choropleth_by_default():
    d = two_region_diagnosis()
    fig = static_map(d)
    assert hasattr(fig, "cpts_geo_rates")
    assert sorted(fig.cpts_geo_rates["zone"]) == ["04", "05", "26", "84"]
    m = cpts_geo.coverage_map(d)
    assert m.get_root().title.startswith("Part de la population couverte par une CPTS, par département")
    # one region: the map of the CPTS perimeters, as before
    assert not hasattr(static_map(sample_diagnosis(), layers=None), "cpts_geo_rates")


def _cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cpts_geo.cli", *args], capture_output=True,
                          text=True, cwd=cwd, encoding="utf-8")


def test_cli_map_and_coverage_default_to_the_choropleth_over_two_regions(tmp_path):
    listing = tmp_path / "deux_regions.csv"
    two_region_listing().to_csv(listing, index=False)
    deps = ",".join(TWO_REGION_DEPARTMENTS)
    r = _cli("map", str(listing), "--departement", deps, "--etape", "aci", "--png", str(tmp_path / "taux.png"))
    assert r.returncode == 0, r.stderr
    assert "Carte des taux de couverture par département (CPTS ayant signé l'ACI)" in r.stdout
    assert "4 départements" in r.stdout
    out = tmp_path / "sorties"
    r = _cli("coverage", str(listing), "--departement", deps, "--out", str(out))
    assert r.returncode == 0, r.stderr
    page = (out / "carte_couverture.html").read_text(encoding="utf-8")
    assert "<title>Part de la population couverte par une CPTS, par département" in page
    assert (out / "carte_cpts.html").exists()  # the CPTS themselves, to zoom in on
    files = {f["name"] for f in json.loads((out / "summary.json").read_text(encoding="utf-8"))["files"]}
    assert {"carte_couverture.html", "carte_couverture.png", "carte_couverture.pdf",
            "carte_cpts.html"} <= files


def test_cli_refuses_the_aci_view_without_stages(tmp_path):
    r = _cli("map", str(SAMPLE), "--color-by", "taux_couverture", "--etape", "aci", "--html",
             str(tmp_path / "c.html"))
    assert r.returncode == 2
    assert "ne donne pas le stade des CPTS" in r.stderr and "--etape" in r.stderr
    assert not (tmp_path / "c.html").exists()


def test_cli_coverage_par_epci_writes_the_choropleth_and_the_rates_workbook(tmp_path):
    import openpyxl

    from cpts_geo import reference

    out = tmp_path / "sorties"
    r = _cli("coverage", str(SAMPLE), "--par", "epci", "--out", str(out))
    assert r.returncode == 0, r.stderr
    page = (out / "carte_couverture.html").read_text(encoding="utf-8")
    assert "<title>Part de la population couverte par une CPTS, par EPCI" in page
    assert (out / "carte_cpts.html").exists()
    wb = openpyxl.load_workbook(out / "taux_couverture.xlsx")
    assert wb.sheetnames == ["Par département", "Par EPCI", "Par bassin de vie", "Sources"]
    rows = list(wb["Par EPCI"].iter_rows(values_only=True))
    head = rows[0]
    assert head[:3] == ("code", "nom", "département") and "population hors CPTS" in head
    row = next(x for x in rows if x[0] == "200068625")
    # independent: communes of that EPCI absent from the listing file, by a plain loop
    listed = set(__import__("pandas").read_csv(SAMPLE, dtype=str)["code_insee"])
    c = reference.load_communes()
    outside = sum(int(p) for code, e, p in zip(c["code"], c["epci"], c["population"], strict=True)
                  if e == "200068625" and code not in listed)
    assert row[head.index("population hors CPTS")] == outside
    dep = {x[0]: x for x in wb["Par département"].iter_rows(values_only=True)}
    assert set(dep) >= {"04", "05", "84"}  # codes kept as text


def test_diagnosis_write_takes_the_rates_options_as_the_cli(tmp_path):
    """``Diagnosis.write(rates_by=...)`` writes what ``coverage --par`` writes: the same files."""
    out_cli, out_api = tmp_path / "cli", tmp_path / "api"
    r = _cli("coverage", str(SAMPLE), "--par", "bv", "--out", str(out_cli))
    assert r.returncode == 0, r.stderr
    d = cpts_geo.diagnose(cpts_geo.read_members(SAMPLE))
    paths = d.write(out_api, rates_by="bv")
    assert {p.name for p in paths.values()} == {p.name for p in out_cli.iterdir()}
    assert "taux_couverture.xlsx" in {p.name for p in paths.values()}
    page = (out_api / "carte_couverture.html").read_text(encoding="utf-8")
    assert "<title>Part de la population couverte par une CPTS, par bassin de vie" in page
