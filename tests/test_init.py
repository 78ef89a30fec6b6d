"""The package entry point: ``import cpts_geo`` is light, every public name still resolves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import cpts_geo

SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "cpts_paca_sample" / "cpts_04_05_84.csv"
HEAVY = ("matplotlib", "folium", "openpyxl", "starlette", "rasterio", "uvicorn", "scipy", "geopandas",
         "pandas")


def _imported_after(code: str) -> set[str]:
    run = subprocess.run([sys.executable, "-c", f"{code}\nimport sys\nprint(' '.join(sys.modules))"],
                         capture_output=True, text=True, check=True)
    return {m.split(".")[0] for m in run.stdout.split()}


def test_importing_the_package_loads_no_heavy_library():
    loaded = _imported_after("import cpts_geo")
    assert "cpts_geo" in loaded
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_diagnosing_loads_no_writer_library():
    """A script that only reads a listing and diagnoses it loads no map, workbook or web library."""
    loaded = _imported_after("import cpts_geo\nd = cpts_geo.diagnose(cpts_geo.read_members("
                             f"{str(SAMPLE)!r}))\nassert 'Communes couvertes' in d.text(), d.text()")
    assert "pandas" in loaded
    writers = {"matplotlib", "folium", "openpyxl", "starlette", "rasterio", "uvicorn"}
    assert not loaded & writers, sorted(loaded & writers)


@pytest.mark.parametrize("name", cpts_geo.__all__)
def test_every_public_name_resolves_to_the_object_of_its_module(name):
    value = getattr(cpts_geo, name)
    if name in cpts_geo._LAZY:
        module = sys.modules[cpts_geo._LAZY[name]]
        assert getattr(module, name) is value
    assert name in dir(cpts_geo)


def test_a_submodule_is_reachable_as_an_attribute():
    assert cpts_geo.maps.write_maps is cpts_geo.write_maps
    assert cpts_geo.perimeters.__name__ == "cpts_geo.perimeters"


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        cpts_geo.nothing_here  # noqa: B018
