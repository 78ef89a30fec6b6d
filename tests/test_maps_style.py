"""cpts_geo.maps.style: names from a listing drawn as typed on the static maps (mathtext off)."""

from __future__ import annotations

import matplotlib
import pandas as pd
from hostile_support import SAMPLE

import cpts_geo
from cpts_geo.maps.static import save_static, static_map


def test_dollar_signs_in_cpts_names_are_drawn_as_typed_on_the_static_maps(tmp_path):
    src = pd.read_csv(SAMPLE, dtype=str)
    src["cpts"] = src["cpts"].replace({"CPTS Sud 04": r"CPTS $\frac{a$ 04",
                                       "CPTS Verdon": "CPTS $x^2$ Verdon"})
    listing = tmp_path / "dollars.csv"
    src.to_csv(listing, index=False)
    d = cpts_geo.diagnose(listing)
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # text kept as text in the SVG
        svg = save_static(static_map(d), tmp_path / "carte.svg").read_text(encoding="utf-8")
    assert "$x^2$ Verdon" in svg  # an invalid formula (« \frac{a ») would have raised
    rates = save_static(static_map(d, "taux_couverture"), tmp_path / "taux.png")
    assert rates.stat().st_size > 0
