"""Write the coverage maps of a diagnosis into a folder (HTML, PNG, PDF)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from cpts_geo.maps.interactive import coverage_map, save_html
from cpts_geo.maps.layers import build_layers


def write_maps(
    diagnosis: Any,
    out_dir: str | Path,
    color_by: str | None = "auto",
    *,
    stem: str = "carte_couverture",
    formats: tuple[str, ...] = ("html", "png", "pdf"),
    tolerance_m: float | None = None,
    tiles: str | None = None,
    title: str | None = None,
    paper: str = "A4",
    step: Callable[[str], AbstractContextManager] | None = None,
) -> dict[str, Path]:
    """Write ``<stem>.html`` (interactive, offline), ``<stem>.png`` and ``<stem>.pdf`` (A4) of a
    coverage diagnosis into ``out_dir`` (``paper``: "A4" or "A3" landscape); returns format → path. The layers are simplified once
    (``tolerance_m`` in metres, None = automatic) and shared by every format. ``step``: reporter of
    each long step (``step(label)`` is a context manager; default silent, see
    :data:`cpts_geo.export.Step`)."""
    step = step or (lambda label: contextlib.nullcontext())
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with step("carte : simplification des contours"):
        layers = build_layers(diagnosis, tolerance_m)
    paths: dict[str, Path] = {}
    if "html" in formats:
        with step("carte interactive (HTML)"):
            m = coverage_map(diagnosis, color_by, layers=layers, tiles=tiles, title=title)
            paths["html"] = save_html(m, out / f"{stem}.html")
    static = [f for f in formats if f in ("png", "pdf", "svg")]
    if static:
        from cpts_geo.maps.static import save_static, static_map  # matplotlib: on first use

        with step("carte imprimable : dessin"):
            fig = static_map(diagnosis, color_by, layers=layers, title=title, paper=paper)
        for fmt in static:
            with step(f"carte imprimable ({fmt.upper()})"):
                paths[fmt] = save_static(fig, out / f"{stem}.{fmt}")
    return paths
