"""The public API documents itself: numpydoc sections and runnable examples on the real reference.

The reference site (``docs/``, Sphinx + numpydoc, built strictly in ``.ci/run``) is generated from
these docstrings, so a documented callable is checked here twice: its sections are complete
(``numpydoc.validate``) and its Examples run as doctests on the embedded data.
"""

from __future__ import annotations

import doctest
import importlib

import pytest

numpydoc_validate = pytest.importorskip("numpydoc.validate")

#: public callables whose docstrings are complete numpydoc with Examples (grows until it is the
#: whole public API; a callable listed here may not lose a section)
DOCUMENTED = [
    "cpts_geo.crs.area_km2",
    "cpts_geo.crs.local_crs",
    "cpts_geo.crs.to_local",
    "cpts_geo.crs.split_by_zone",
    "cpts_geo.reference.load_communes",
    "cpts_geo.reference.load_epci",
    "cpts_geo.reference.load_departements",
    "cpts_geo.reference.load_regions",
    "cpts_geo.indicators.population.commune_population",
    "cpts_geo.indicators.population.attach_population",
    "cpts_geo.classification.density_profile",
    "cpts_geo.classification.aav_profile",
]

#: numpydoc checks that a documented callable must pass: a docstring, every parameter documented
#: and no unknown one, a Returns section, Examples
REQUIRED = {"GL08", "PR01", "PR02", "RT01", "EX01"}


def _resolve(path: str):
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("path", DOCUMENTED)
def test_a_documented_callable_has_every_numpydoc_section(path):
    result = numpydoc_validate.validate(path)
    missing = [(code, msg) for code, msg in result["errors"] if code in REQUIRED]
    assert not missing, f"{path}: {missing}"


@pytest.mark.parametrize("path", DOCUMENTED)
def test_the_examples_of_a_documented_callable_run_on_the_embedded_data(path):
    obj = _resolve(path)
    module = importlib.import_module(obj.__module__)
    finder = doctest.DocTestFinder(recurse=False)
    tests = [t for t in finder.find(obj, path, globs=dict(vars(module))) if t.examples]
    assert tests, f"{path} has no Examples to run"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for t in tests:
        runner.run(t)
    assert runner.failures == 0, f"{path}: {runner.failures} failing example(s)"
