"""Coverage maps of a CPTS diagnosis: interactive (folium, offline) and static (matplotlib, A4).

- :func:`coverage_map` → ``folium.Map`` (see :mod:`cpts_geo.maps.interactive`)
- :func:`static_map` → matplotlib ``Figure`` for print (see :mod:`cpts_geo.maps.static`)
- :func:`write_maps` writes HTML, PNG and PDF into a folder (used by ``cpts-geo coverage --out``)
- :func:`build_layers`: the simplified, dissolved layers both maps draw

matplotlib is imported only when a static map is drawn: importing this package or building an
HTML map does not load it (``static_map`` and ``save_static`` are resolved on first access).
"""

from __future__ import annotations

import importlib
from typing import Any

from cpts_geo.maps.interactive import (
    coverage_map,
    credits_text,
    html_size,
    leaflet_assets,
    save_html,
)
from cpts_geo.maps.layers import MapLayers, build_layers, default_tolerance, simplify_units
from cpts_geo.maps.write import write_maps

#: names of the static (matplotlib) module, imported on first access
_LAZY = {"static_map": "cpts_geo.maps.static", "save_static": "cpts_geo.maps.static"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "MapLayers",
    "build_layers",
    "coverage_map",
    "credits_text",
    "default_tolerance",
    "html_size",
    "leaflet_assets",
    "save_html",
    "save_static",
    "simplify_units",
    "static_map",
    "write_maps",
]
