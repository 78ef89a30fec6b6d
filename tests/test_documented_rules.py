"""Documented thresholds and defaults pinned on both sides of their boundary.

A test at 95 % cannot tell a 50 % rule from a 90 % one: each rule here is checked just below and
just above its documented value, with cases built by hand from real communes of the reference.

- ``compare_listings``: a CPTS that disappears under one name while another appears with at least
  50 % of shared communes (Jaccard index, docs/coverage.md) is renamed;
- drawn polygons (``read_members``): a commune belongs to the polygon when at least 50 % of its area
  lies inside (``members.AREA_THRESHOLD``, docs/coverage.md);
- ACI CPTS size bands and operating funding by band, from the texts (arrêté du 21 août 2019,
  in force by the Sénat report n° 32, 2025-2026).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import cpts_geo

# ------------------------------------------------------------------------------------------
# compare_listings: rename at Jaccard >= 50 %
# ------------------------------------------------------------------------------------------

#: twenty communes of the Hautes-Alpes (COG 2026 codes, no conversion)
CODES = ["05006", "05010", "05017", "05023", "05025", "05036", "05040", "05046", "05050", "05053",
         "05054", "05059", "05061", "05062", "05065", "05070", "05071", "05092", "05096", "05103"]


def _listing(name: str, codes: list[str]) -> pd.DataFrame:
    return cpts_geo.read_members(pd.DataFrame({"cpts": name, "code_insee": codes}))


@pytest.mark.parametrize(
    ("kept", "renamed"),
    [
        (9, False),  # 9 shared / 20 in the union = 45 %: a removed CPTS and a created one
        (10, True),  # 10 / 20 = 50 %: the boundary belongs to the rename ("at least")
        (11, True),  # 11 / 20 = 55 %: renamed
    ],
)
def test_rename_rule_is_jaccard_50_percent(kept, renamed):
    old = _listing("CPTS Ancienne", CODES)  # 20 communes
    new = _listing("CPTS Nouvelle", CODES[:kept])  # a subset: union = 20, intersection = kept
    cmp = cpts_geo.compare_listings(old, new)
    if renamed:
        assert cmp.attrs["renamed"] == {"CPTS Ancienne": "CPTS Nouvelle"}
        assert cmp.attrs["created"] == [] and cmp.attrs["removed"] == []
        row = cmp.set_index("cpts").loc["CPTS Nouvelle"]
        assert row["status"] == "renommée" and row["previous_name"] == "CPTS Ancienne"
        assert row["n_before"] == 20 and row["n_after"] == kept and len(row["removed"]) == 20 - kept
    else:
        assert cmp.attrs["renamed"] == {}
        assert cmp.attrs["created"] == ["CPTS Nouvelle"] and cmp.attrs["removed"] == ["CPTS Ancienne"]
        status = cmp.set_index("cpts")["status"]
        assert status["CPTS Nouvelle"] == "créée" and status["CPTS Ancienne"] == "supprimée"


def test_rename_rule_counts_the_union_not_the_old_size():
    # 11 shared communes (55 % of the old 20) but 9 new ones: 11 / 29 = 38 % < 50 %: not a rename
    extra = ["04001", "04009", "04017", "04020", "04030", "04036", "04040", "04042", "04043"]
    cmp = cpts_geo.compare_listings(_listing("CPTS Ancienne", CODES),
                                    _listing("CPTS Nouvelle", CODES[:11] + extra))
    assert cmp.attrs["renamed"] == {}


# ------------------------------------------------------------------------------------------
# Drawn polygons: a commune is a member when >= 50 % of its area is inside
# ------------------------------------------------------------------------------------------


def _cut_at(geom: shapely.Geometry, share: float) -> shapely.Geometry:
    """The western part of ``geom`` (Lambert-93) holding ``share`` of its area, by bisection on x."""
    minx, miny, maxx, maxy = geom.bounds
    lo, hi = minx, maxx
    for _ in range(60):
        mid = (lo + hi) / 2
        part = geom.intersection(shapely.box(minx - 1, miny - 1, mid, maxy + 1))
        if part.area / geom.area < share:
            lo = mid
        else:
            hi = mid
    return geom.intersection(shapely.box(minx - 1, miny - 1, hi, maxy + 1))


@pytest.fixture(scope="module")
def l93():
    ref = cpts_geo.load_communes().set_index("code")
    return ref.loc[["04088", "04111"]].geometry.to_crs(2154)


@pytest.mark.parametrize(("share", "member"), [(0.45, False), (0.55, True)])
def test_area_default_is_half_of_the_commune(l93, share, member):
    # Forcalquier (04088) cut so that 45 % or 55 % of its area is inside, plus the whole of Niozelles
    # (04111) so that the polygon always has a member
    part = _cut_at(l93["04088"], share)
    assert part.area / l93["04088"].area == pytest.approx(share, abs=1e-4)
    poly = shapely.union(part, l93["04111"])
    gdf = gpd.GeoDataFrame({"cpts": ["CPTS Dessin"]}, geometry=[poly], crs=2154)
    m = cpts_geo.read_members(gdf)  # default threshold
    codes = set(m["code"])
    assert "04111" in codes
    assert ("04088" in codes) is member
    cut = m.attrs["cut_units"].set_index("code")
    assert cut.at["04088", "share"] == pytest.approx(share, abs=0.005)
    assert bool(cut.at["04088", "assigned"]) is member
    assert m.attrs["threshold"] == 0.5


# ------------------------------------------------------------------------------------------
# ACI CPTS amounts against the text
# ------------------------------------------------------------------------------------------


def test_aci_operating_funding_by_band_from_the_texts():
    # ACI CPTS du 20 juin 2019, approuvé par arrêté du 21 août 2019 (JORF du 24 août 2019, NOR
    # SSAS1924409A): 50 000 € (taille 1), 60 000 € (taille 2), 75 000 € (taille 3), 90 000 €
    # (taille 4) par an; still the envelope in force by the Sénat report n° 32 (2025-2026, MECSS):
    # « l'enveloppe est comprise entre 50 000 et 90 000 euros »
    assert cpts_geo.aci_funding([1, 2, 3, 4]).tolist() == [50_000, 60_000, 75_000, 90_000]
    assert pd.isna(cpts_geo.aci_funding([0]).iloc[0])
    # 87 500 / 105 000 / 131 250 / 157 500 € (1.75 × each): the CNAM's proposed start-up envelope
    # (Le Pharmacien de France, Nov. 2020), kept apart in the file and never applied
    from cpts_geo import rules

    startup = rules.aci_startup_envelope()
    assert [startup[0]["amounts"][k] for k in "1234"] == [round(1.75 * a) for a in (50_000, 60_000, 75_000, 90_000)]
    assert "amorçage" in startup[0]["item"] and "non relue" in startup[0]["status"]


def test_aci_bands_from_the_words_of_the_text():
    # taille 1 "< 40 000", taille 2 "entre 40 000 et 80 000", taille 3 "entre 80 000 et 175 000",
    # taille 4 "> 175 000" habitants; 80 000, named by both, is taille 3 by the project's documented choice
    bands = cpts_geo.aci_band([39_999, 40_000, 79_999, 80_000, 174_999, 175_000, 175_001])
    assert np.asarray(bands).tolist() == [1, 2, 2, 3, 3, 3, 4]
