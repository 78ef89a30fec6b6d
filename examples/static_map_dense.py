"""Static map of a dense region: zoomed insets (image of docs/maps.md).

The listing is SYNTHETIC, cut from real communes: region 93 (Provence-Alpes-Côte d'Azur) in
144 "CPTS", one around each of its 144 most populated units (Marseille's 16 arrondissements
included), every unit joining the nearest — twice the 70 CPTS of the real ARS PACA listing, with
many small CPTS in Marseille, Toulon, Nice and Avignon. The same cut is tested in
tests/test_maps_static_layout.py.

    python examples/static_map_dense.py [OUT.png] [--paper A4|A3]   # default docs/img/static_map_dense.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

import cpts_geo
from cpts_geo import reference
from cpts_geo.maps import save_static, static_map

ROOT = Path(__file__).resolve().parent.parent


def dense_listing(n: int = 144) -> pd.DataFrame:
    """Synthetic listing: region 93 cut around its ``n`` most populated units (nearest unit)."""
    c = reference.load_communes()
    c = c[(c["reg"] == "93") & (c["code"] != "13055")].to_crs(2154)  # Marseille: its arrondissements
    pts = c.geometry.representative_point()
    xy = np.c_[pts.x, pts.y]
    seeds = np.argsort(-c["population"].to_numpy(), kind="stable")[:n]
    d = np.hypot(xy[:, None, 0] - xy[None, seeds, 0], xy[:, None, 1] - xy[None, seeds, 1])
    names = "CPTS " + c["nom"].to_numpy(dtype=object)[seeds]
    return pd.DataFrame({"cpts": names[d.argmin(axis=1)], "code_insee": c["code"].to_numpy()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=ROOT / "docs" / "img" / "static_map_dense.png")
    parser.add_argument("--paper", default="A4", choices=["A4", "A3"])
    args = parser.parse_args()
    diag = cpts_geo.diagnose(cpts_geo.read_members(dense_listing()), region="93")
    fig = static_map(diag, "cpts", paper=args.paper,
                     title="Carte d'essai — Provence-Alpes-Côte d'Azur découpée en 144 CPTS fictives")
    print(save_static(fig, args.out, dpi=110))


if __name__ == "__main__":
    main()
