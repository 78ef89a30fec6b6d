"""A listing with heavy overlaps gets a lighter overlaps layer (issue 13: "large listings produce a
usable map"): past MAX_OVERLAP_GROUPS sets of CPTS, overlaps are dissolved by number of CPTS."""

from __future__ import annotations

import pandas as pd

import cpts_geo as cg
from cpts_geo.maps import layers as lay


def test_overlaps_dissolved_by_number_of_cpts_past_the_limit(sample_listing, monkeypatch):
    # the PACA sample, plus a CPTS "X" over parts of three CPTS and a CPTS "Y" over two communes
    # of the first of them (covered three times)
    m = cg.read_members(sample_listing)
    first = [g["code"].head(k).tolist() for k, (_, g) in zip((5, 5, 3), m.groupby("cpts"), strict=False)]
    extra = pd.DataFrame({"cpts": ["X"] * 13 + ["Y"] * 2, "code": sum(first, []) + first[0][:2]})
    d = cg.diagnose(cg.read_members(pd.concat([m[["cpts", "code"]], extra], ignore_index=True)))
    shared = d.units[d.units["n_cpts"] >= 2]
    assert shared["n_cpts"].value_counts().to_dict() == {2: 11, 3: 2}
    by_set = lay.build_layers(d)
    assert (by_set.overlaps["cpts"].str.contains(" / ")).all()
    monkeypatch.setattr(lay, "MAX_OVERLAP_GROUPS", 0)
    by_count = lay.build_layers(d)
    counts = shared["n_cpts"].value_counts()
    assert sorted(by_count.overlaps["cpts"].unique()) == sorted(f"communes couvertes par {k} CPTS" for k in counts.index)
    got = by_count.overlaps.groupby("n_cpts")["n_units"].first().to_dict()
    assert got == counts.to_dict()
    # the same units, fewer polygons
    assert by_count.overlaps["n_units"].groupby(by_count.overlaps["cpts"]).first().sum() == len(shared)
    assert len(by_count.overlaps) <= len(by_set.overlaps)
    # the interactive map draws it (tooltips say the number of CPTS)
    html = cg.coverage_map(d, layers=by_count).get_root().render()
    assert "communes couvertes par 2 CPTS" in html
