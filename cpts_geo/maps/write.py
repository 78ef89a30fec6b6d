"""Write the coverage maps of a diagnosis into a folder (HTML, PNG, PDF)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from cpts_geo._checks import expect_path, expect_text, fail
from cpts_geo.maps import style as st
from cpts_geo.maps.interactive import coverage_map, save_html
from cpts_geo.maps.layers import build_layers, check_map_arguments


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
    rates_by: str = "departement",
    rates_stage: str | None = None,
    step: Callable[[str], AbstractContextManager] | None = None,
) -> dict[str, Path]:
    """Write ``<stem>.html`` (interactive, offline), ``<stem>.png`` and ``<stem>.pdf`` (A4) of a
    coverage diagnosis into ``out_dir`` (``paper``: "A4" or "A3" landscape); returns format → path.
    The layers are simplified once (``tolerance_m`` in metres, None = automatic) and shared by every
    format. ``step``: reporter of each long step (``step(label)`` is a context manager; default
    silent, see :data:`cpts_geo.export.Step`).

    When the maps are coverage-rate maps (``color_by="taux_couverture"``, or ``"auto"`` with an
    area spanning several regions: :mod:`cpts_geo.maps.rates`, ``rates_by`` / ``rates_stage``),
    ``<stem>.*`` is the choropleth; the interactive map of the CPTS perimeters is written too, as
    ``carte_cpts.html`` (key ``"html_cpts"``), and the rates of every department, EPCI and bassin
    de vie in ``taux_couverture.xlsx`` (key ``"rates_xlsx"``)."""
    check_map_arguments(diagnosis, None, color_by=color_by, tolerance_m=tolerance_m, title=title,
                        tiles=tiles, paper=paper, rates_by=rates_by, rates_stage=rates_stage)
    expect_path(out_dir, "out_dir")
    expect_text(stem, "stem")
    if (isinstance(formats, str) or not isinstance(formats, (tuple, list, set, frozenset))
            or not set(formats) <= {"html", "png", "pdf"}):
        fail("formats", formats, "des formats parmi html, png et pdf sont attendus")
    if step is not None and not callable(step):
        fail("step", step, "une fonction step(libellé) -> contexte est attendue")
    step = step or (lambda label: contextlib.nullcontext())
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rates = st.alternate_map(diagnosis, color_by, "static") is not None
    layers = None
    if not rates:
        with step("carte : simplification des contours"):
            layers = build_layers(diagnosis, tolerance_m)
    opts = {"rates_by": rates_by, "rates_stage": rates_stage}
    paths: dict[str, Path] = {}
    if "html" in formats:
        with step("carte interactive (HTML)"):
            m = coverage_map(diagnosis, color_by, layers=layers, tiles=tiles, title=title,
                             tolerance_m=tolerance_m, **opts)
            paths["html"] = save_html(m, out / f"{stem}.html")
        if rates:  # the CPTS themselves, to zoom in on
            per = diagnosis.perimeters
            known = "stage" in per and per["stage"].notna().any()
            with step("carte interactive des CPTS (HTML)"):
                m = coverage_map(diagnosis, "stage" if known else "cpts", tiles=tiles,
                                 tolerance_m=tolerance_m)
                paths["html_cpts"] = save_html(m, out / "carte_cpts.html")
    if rates:  # every zone's figures, the map shows only those that fit
        from cpts_geo.maps.rates import write_rates_workbook

        with step("tableau des taux de couverture"):
            paths["rates_xlsx"] = write_rates_workbook(diagnosis, out / "taux_couverture.xlsx",
                                                       rates_stage)
    static = [f for f in formats if f in ("png", "pdf", "svg")]
    if static:
        from cpts_geo.maps.static import save_static, static_map  # matplotlib: on first use

        with step("carte imprimable : dessin"):
            fig = static_map(diagnosis, color_by, layers=layers, title=title, paper=paper,
                             tolerance_m=tolerance_m, **opts)
        for fmt in static:
            with step(f"carte imprimable ({fmt.upper()})"):
                paths[fmt] = save_static(fig, out / f"{stem}.{fmt}")
    return paths
