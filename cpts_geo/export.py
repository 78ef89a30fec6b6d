"""Everything ``cpts-geo coverage --out DIR`` writes, as one library function.

:func:`write_diagnosis` (``Diagnosis.write``) enriches a diagnosis the way the CLI does
(:func:`prepare`: official DREES APL per CPTS with ``apl``, classification columns with
``classify``), writes its tables (:func:`cpts_geo.io.outputs.write_tables`) and its maps
(:func:`cpts_geo.maps.write_maps`). The CLI calls the same functions, so the Python API and the
CLI write the same files, columns and values for the same options.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from pathlib import Path

from cpts_geo import reference
from cpts_geo._checks import (
    expect_bool,
    expect_diagnosis,
    expect_instance,
    expect_int,
    expect_path,
    expect_text,
    expect_year,
    fail,
)
from cpts_geo.classification import classify_diagnosis
from cpts_geo.codes import FIRST_COG_YEAR
from cpts_geo.coverage import Diagnosis, register_presenter
from cpts_geo.indicators.apl_estimate import attach_apl_estimate
from cpts_geo.indicators.apl_official import attach_official_apl, require_official_apl
from cpts_geo.io.atomic import list_files_in_summary, output_folder
from cpts_geo.io.french import check_csv_format
from cpts_geo.io.outputs import TABLE_NAMES, write_tables

#: a step reporter: ``step("label")`` is a context manager around one long step. The library
#: never prints; the CLI passes :meth:`cpts_geo.cli.progress.Progress.step` (progress on stderr)
Step = Callable[[str], AbstractContextManager]


def quiet(label: str) -> AbstractContextManager:
    """The default :data:`Step`: does nothing."""
    return contextlib.nullcontext()


def prepare(
    d: Diagnosis,
    *,
    classify: bool = True,
    apl: str | Path | None = None,
    apl_cog: int | None = None,
    apl_year: int | None = None,
    apl_estimate: str | Path | None = None,
) -> Diagnosis:
    """The diagnosis as ``cpts-geo coverage`` writes it: the official APL of the DREES file
    ``apl`` attached (:func:`~cpts_geo.indicators.attach_official_apl`; ``apl_cog``: COG year of
    its codes, ``apl_year``: sheet year), the computed estimate per CPTS of ``apl_estimate`` (the
    ``_cpts.csv`` of ``cpts-geo apl --listing``, :func:`~cpts_geo.indicators.attach_apl_estimate`,
    column ``apl_estime``, labelled as an estimate), then the classification columns when
    ``classify`` (:func:`~cpts_geo.classification.classify_diagnosis`). Returns a copy; ``d`` is
    unchanged."""
    if apl is not None:
        require_official_apl(apl, "apl")  # the computed estimate goes to apl_estimate
        d = attach_official_apl(d, apl, cog=apl_cog, year=apl_year)
    if apl_estimate is not None:
        d = attach_apl_estimate(d, apl_estimate)
    if classify:
        d = classify_diagnosis(d)
    return d


def _has_shapes(d: Diagnosis) -> bool:
    """True when at least one perimeter or unit of the diagnosis has a drawable geometry."""
    for gdf in (d.perimeters, d.units):
        geom = gdf.geometry
        if len(geom) and bool((geom.notna() & ~geom.is_empty).any()):
            return True
    return False


@register_presenter("write")
def write_diagnosis(
    d: Diagnosis,
    out_dir: str | Path,
    *,
    classify: bool = True,
    apl: str | Path | None = None,
    apl_cog: int | None = None,
    apl_year: int | None = None,
    apl_estimate: str | Path | None = None,
    maps: bool = True,
    csv_format: str = "fr",
    overwrite: bool = False,
    color_by: str | None = "auto",
    title: str | None = None,
    rates_by: str | None = None,
    rates_stage: str | None = None,
    step: Step | None = None,
    inputs: Iterable[str | Path] = (),
) -> dict[str, Path]:
    """Write into ``out_dir`` (created) what ``cpts-geo coverage --out`` writes with the same
    options: ``summary.json``, ``perimeters.gpkg``, ``white_zones.gpkg``, ``overlaps.csv``,
    ``diagnostic_cpts.xlsx`` and, with ``maps``, ``carte_couverture.html/png/pdf``. The
    diagnosis is first enriched by :func:`prepare` (``classify``, ``apl``, ``apl_estimate``); a diagnosis already
    prepared is written as it is with ``classify=False``. ``csv_format``: "fr" (default: ``;``,
    decimal comma, UTF-8 with BOM) or "international" (``--csv-format``); ``color_by`` and
    ``title``: the maps' colouring and title (``--color-by``, ``--title``). Returns name → path.

    The folder is written atomically (:func:`cpts_geo.io.atomic.output_folder`): every file is
    written beside it first and moved in only when all are complete, replacing the previous run's
    set (the files its ``summary.json`` lists, in ``files``) as a whole; other files are never
    deleted, and a folder holding files no cpts_geo run wrote is refused
    (:class:`~cpts_geo.errors.OutputError`) unless ``overwrite`` (``--force``). ``step``: reporter
    of the long steps (:data:`Step`; default silent). ``summary.json`` is the folder's manifest
    (the tool's name, each file's SHA-256): only files it lists, unchanged since, are ever
    replaced or deleted; a listed file changed since makes the run refuse (``OutputError`` naming it).

    ``inputs``: the files the diagnosis was read from (the listing…); a file the run would delete
    or replace that is one of them is refused (``OutputError``), with or without ``overwrite``.
    ``apl`` and ``apl_estimate`` are protected the same way without being named here. The
    diagnosis records only its listing's file name, not its path: a script writing into the
    listing's folder passes ``inputs=(listing_path,)``.

    ``rates_by`` / ``rates_stage`` (``--par`` / ``--etape``) draw ``carte_couverture.*`` as the
    covered population share by zone (:mod:`cpts_geo.maps.rates`), as is done by default when the
    area spans several regions; ``carte_cpts.html`` and ``taux_couverture.xlsx`` are then written
    too."""
    expect_diagnosis(d, "d")
    expect_path(out_dir, "out_dir")
    for _flag, _label in ((classify, "classify"), (maps, "maps"), (overwrite, "overwrite")):
        expect_bool(_flag, _label)
    expect_path(apl, "apl", optional=True)
    expect_path(apl_estimate, "apl_estimate", optional=True)
    expect_year(apl_cog, "apl_cog", first=FIRST_COG_YEAR, last=reference.COG_YEAR, optional=True)
    expect_int(apl_year, "apl_year", optional=True, minimum=2000, maximum=2100)
    expect_text(csv_format, "csv_format")
    expect_text(color_by, "color_by", optional=True)
    expect_instance(title, "title", str, "un texte", optional=True)
    expect_text(rates_by, "rates_by", optional=True)
    expect_text(rates_stage, "rates_stage", optional=True)
    if step is not None and not callable(step):
        fail("step", step, "une fonction step(libellé) -> contexte est attendue")
    if isinstance(inputs, (str, os.PathLike)) or not isinstance(inputs, Iterable):
        fail("inputs", inputs, "une liste de chemins de fichiers est attendue")
    inputs = tuple(inputs)
    for path in inputs:
        expect_path(path, "inputs", optional=True)
    check_csv_format(csv_format)  # refuse a bad option before any work
    step = step or quiet
    out = Path(out_dir)
    with output_folder(out, overwrite=overwrite, inputs=(*inputs, apl, apl_estimate), names=TABLE_NAMES) as stage:
        d = prepare(d, classify=classify, apl=apl, apl_cog=apl_cog, apl_year=apl_year,
                    apl_estimate=apl_estimate)
        with step("écriture des tableaux (GeoPackage, CSV, classeur Excel)"):
            paths = write_tables(d, stage, csv_format)
        if maps and not _has_shapes(d):
            warnings.warn("cartes non dessinées : aucune commune de la zone analysée n'a de contour "
                          "dans le référentiel (collectivités d'outre-mer, par exemple) ; les tableaux "
                          "sont écrits", stacklevel=2)
        elif maps:
            from cpts_geo.maps import write_maps  # folium / matplotlib: imported on first use

            # the covered population share by zone when asked (rates_by: departement, epci, bv;
            # rates_stage: None or "aci"), and by default over several regions (cpts_geo.maps.rates)
            asked = rates_by is not None or rates_stage is not None
            paths.update(write_maps(d, stage, "taux_couverture" if asked else color_by, title=title,
                                    rates_by=rates_by or "departement", rates_stage=rates_stage,
                                    step=step))
        list_files_in_summary(stage)
    return {key: out / p.name for key, p in paths.items()}
