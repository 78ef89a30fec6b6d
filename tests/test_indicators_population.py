"""Population: legal populations by COG year and zonal sums of a raster written by the test."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine
from shapely.geometry import box

import cpts_geo as cg

X0, Y0 = 700_000.0, 6_600_000.0  # top-left corner of the test grid, Lambert-93 (metres)
VALUES = np.array([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]], dtype="float32")


@pytest.fixture
def grid(tmp_path):
    """A 4 × 3 grid of 1 km pixels in Lambert-93; pixel (row 2, col 3) is nodata."""
    path = tmp_path / "pop_1km.tif"
    data = VALUES.copy()
    data[2, 3] = -1
    with rasterio.open(path, "w", driver="GTiff", height=3, width=4, count=1, dtype="float32",
                       crs="EPSG:2154", transform=Affine(1000, 0, X0, 0, -1000, Y0), nodata=-1) as dst:
        dst.write(data, 1)
    return path


def test_default_population_is_the_legal_population(communes):
    s = cg.commune_population()
    ref = communes.set_index("code")["population"].astype(float)
    assert s["84007"] == ref["84007"] and len(s) == len(ref)
    assert s.attrs["population_year"] == 2023 and s.attrs["population_kind"] == "municipale"
    with pytest.raises(ValueError, match="totale"):
        cg.commune_population(kind="totale")


def test_user_table_converted_from_older_cog(tmp_path):
    f = tmp_path / "ptot_2023.csv"
    f.write_text("CODGEO;PTOT\n19223;100\n19230;300\n19248;600\n15141;1000\n4070;18500\n")
    s = cg.commune_population(f, cog=2023, kind="totale", year=2020, code_col="CODGEO")
    assert s["19248"] == 1000  # fusion of three communes: summed
    # défusion of 2025: split by the population ratios of the COGugaison/INSEE passage table
    assert s["15031"] == pytest.approx(1000 * 0.13955, rel=1e-5)
    assert s["15141"] == pytest.approx(1000 * 0.529904, rel=1e-5)
    assert s["04070"] == 18500
    assert s.sum() == pytest.approx(100 + 300 + 600 + 1000 + 18500)
    assert s.attrs["population_kind"] == "totale" and s.attrs["population_year"] == 2020
    assert s.attrs["converted_from_cog"] == 2023


def test_user_table_errors_and_refusals(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("code,population\n04070,100\n04112,n/a\n")
    with pytest.raises(ValueError, match=r"bad\.csv, ligne 3.*n/a"):
        cg.commune_population(bad)
    odd = pd.DataFrame({"code": ["04070", "99999"], "population": [10, 20]})
    with pytest.warns(UserWarning, match="99999"):
        s = cg.commune_population(odd)
    assert s.attrs["refused"] == ["99999"] and "99999" not in s.index


def test_attach_population():
    frame = pd.DataFrame({"code": ["04070", "05061", "97501"]})
    out = cg.attach_population(frame)
    assert out["population"].tolist()[:2] == [17979, 41293]
    assert out.attrs["population_year"] == 2023


def test_zonal_sums_on_written_geotiff(grid):
    polys = gpd.GeoDataFrame(
        {"name": ["aligned", "half", "triangle", "outside", "nodata"]},
        geometry=[
            box(X0, Y0 - 2000, X0 + 2000, Y0),                  # pixels (0,0),(0,1),(1,0),(1,1)
            box(X0 + 2000, Y0 - 1000, X0 + 2500, Y0),           # left half of pixel (0,2)
            shapely.Polygon([(X0, Y0), (X0 + 1000, Y0), (X0, Y0 - 1000)]),  # half of pixel (0,0)
            box(X0 + 10_000, Y0, X0 + 11_000, Y0 + 1000),
            box(X0 + 2000, Y0 - 3000, X0 + 4000, Y0 - 2000),    # pixels (2,2) and nodata (2,3)
        ],
        crs=2154,
    )
    s = cg.zonal_population(grid, polys, id_col="name")
    assert s["aligned"] == pytest.approx(1 + 2 + 5 + 6)
    assert s["half"] == pytest.approx(3 / 2)
    assert s["triangle"] == pytest.approx(1 / 2)
    assert s["outside"] == 0
    assert s["nodata"] == pytest.approx(11)
    assert s.attrs["nodata_pixels"] == 1
    # the same polygons given in degrees are reprojected to the raster CRS
    s4326 = cg.zonal_population(grid, polys.to_crs(4326), id_col="name")
    np.testing.assert_allclose(s4326.to_numpy(), s.to_numpy(), rtol=1e-6)


def test_geographic_raster_is_refused(tmp_path):
    path = tmp_path / "deg.tif"
    with rasterio.open(path, "w", driver="GTiff", height=2, width=2, count=1, dtype="float32",
                       crs="EPSG:4326", transform=Affine(0.01, 0, 5, 0, -0.01, 44)) as dst:
        dst.write(np.ones((2, 2), dtype="float32"), 1)
    with pytest.raises(ValueError, match="projection"):
        cg.zonal_population(path, gpd.GeoSeries([box(5, 43.99, 5.01, 44)], crs=4326))


def test_split_real_city_between_two_polygons(tmp_path, communes):
    """Avignon split by a vertical line: on a uniform raster the shares equal the area shares."""
    avignon = communes[communes["code"] == "84007"].to_crs(2154).geometry.iloc[0]
    minx, miny, maxx, maxy = avignon.bounds
    x0, y0 = np.floor(minx / 200) * 200 - 400, np.ceil(maxy / 200) * 200 + 400
    w, h = int((maxx - x0) // 200) + 3, int((y0 - miny) // 200) + 3
    path = tmp_path / "uniform_200m.tif"
    with rasterio.open(path, "w", driver="GTiff", height=h, width=w, count=1, dtype="float32",
                       crs="EPSG:2154", transform=Affine(200, 0, x0, 0, -200, y0)) as dst:
        dst.write(np.full((h, w), 3.0, dtype="float32"), 1)
    cx = avignon.centroid.x
    halves = gpd.GeoDataFrame({"cpts": ["ouest", "est"]},
                              geometry=[box(minx - 1, miny - 1, cx, maxy + 1), box(cx, miny - 1, maxx + 1, maxy + 1)],
                              crs=2154)
    out = cg.split_commune_population("84007", halves, path, id_col="cpts")
    west_area = avignon.intersection(halves.geometry[0]).area
    assert out.loc["ouest", "share"] == pytest.approx(west_area / avignon.area, rel=1e-6)
    assert out["share"].sum() == pytest.approx(1.0, rel=1e-9)
    assert out["population"].sum() == pytest.approx(92188)
    assert out.loc["ouest", "raster_sum"] == pytest.approx(3.0 * west_area / 200**2, rel=1e-6)
