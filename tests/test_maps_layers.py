"""Where a map writes each CPTS's name (cpts_geo/maps/layers.py: label_points), on the real
ARS PACA CPTS sharing Nice and Toulon (examples/cpts_paca_sample/cpts_nice_toulon.csv)."""

from __future__ import annotations

from pathlib import Path

import shapely

import cpts_geo
from cpts_geo.maps import build_layers
from cpts_geo.maps.layers import label_points

SHARED = Path(__file__).resolve().parent.parent / "examples" / "cpts_paca_sample" / "cpts_nice_toulon.csv"


def test_cpts_sharing_a_city_are_named_inside_their_own_communes():
    lay = build_layers(cpts_geo.diagnose(cpts_geo.read_members(SHARED)))
    per = lay.perimeters.reset_index(drop=True)
    pts = dict(zip(per["cpts"], label_points(per, lay.units), strict=True))
    units = lay.units.set_index("code")
    nice, toulon = units.at["06088", "geometry"], units.at["83137", "geometry"]
    # three CPTS list the whole of Nice, each with communes of its own: named on those, apart
    for name in ("CPTS Nice Centre - Nice Est", "CPTS Nice Nord et ses Collines", "CPTS Nice ouest Vallée"):
        own = units[units["cpts"].map(lambda c, name=name: tuple(c) == (name,))]
        assert len(own), name
        assert shapely.union_all(own.geometry.to_numpy()).contains(pts[name]), name
        assert not nice.contains(pts[name]), name
    # Toulon Littoral lists Toulon alone: named in Toulon; La Seyne Toulon ouest outside Toulon
    assert toulon.contains(pts["CPTS Toulon Littoral"])
    assert not toulon.contains(pts["CPTS La Seyne Toulon ouest"])
    assert len({(p.x, p.y) for p in pts.values()}) == 5
    # every point inside its CPTS's outline
    for name, geom in zip(per["cpts"], per.geometry, strict=True):
        assert geom.contains(pts[name]), name


def test_a_listing_without_shared_communes_keeps_the_perimeter_points(sample_listing):
    lay = build_layers(cpts_geo.diagnose(cpts_geo.read_members(sample_listing), departments=["04", "05", "84"]))
    per = lay.perimeters
    assert label_points(per, lay.units).geom_equals(per.geometry.representative_point()).all()
