"""The library boundary (``cpts_geo/_checks.py`` and its use at the entry of every public
function): None, a value of the wrong type, a frame missing columns, a year outside the embedded
code history or a negative population raise a :class:`cpts_geo.CptsGeoError` naming the Python
parameter, before any work — never an AttributeError or a TypeError from inside pandas.

The sweep is parametrised over ``cpts_geo.__all__``: a new public function whose parameters are
not checked at its entry fails here."""

from __future__ import annotations

import inspect

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

import cpts_geo as cg
from cpts_geo import _checks

SAMPLE = "examples/cpts_paca_sample/cpts_04_05_84.csv"


class Wrong:
    """A value no public parameter accepts."""

    def __repr__(self) -> str:
        return "Wrong()"


PUBLIC_FUNCTIONS = sorted(n for n in cg.__all__
                          if callable(getattr(cg, n)) and not inspect.isclass(getattr(cg, n)))


@pytest.fixture(scope="module")
def diagnosis():
    return cg.diagnose(SAMPLE)


def _stand_ins(diag, tmp_path) -> dict[str, object]:
    """A value of the right type for each required parameter, by name: the entry checks accept
    it (none of them is read, since the parameter under test is refused first)."""
    square = gpd.GeoDataFrame({"id": ["a"]}, geometry=[box(5.7, 43.9, 5.8, 44.0)], crs=4326)
    return {
        "diagnosis": diag, "d": diag, "frame": pd.DataFrame({"code": ["04088"]}), "members": pd.DataFrame({"cpts": ["A"], "code": ["04088"]}),
        "shares": str(tmp_path / "partage.csv"), "values": pd.Series({"04088": 3.0}),
        "path": str(tmp_path / "apl.csv"), "table": pd.DataFrame({"code": ["04088"], "x": [1.0]}),
        "value_col": "x", "code": "04088", "polygons": square, "raster": str(tmp_path / "pop.tif"),
        "population_by_age": pd.DataFrame({"0-14": [10.0]}, index=["04088"]),
        "weights": {"0-14": 1.0}, "old": SAMPLE, "new": SAMPLE, "from_year": 2022,
        "typology": pd.DataFrame({"code": ["04088"], "classe": [1], "weight": [1.0]}),
        "gdf": square, "zone": "metropole", "out_dir": str(tmp_path / "sortie"),
        "population": [1000.0], "band": [1], "perimeters": ["04088"], "apl": pd.DataFrame(
            {"code": ["04088"], "apl": [3.0]}), "dep_or_code": "04", "codes": ["04088"],
        "proposal": ["04088"], "source": pd.DataFrame({"cpts": ["A"], "code": ["04088"]}),
    }


def _parameters(func) -> list[inspect.Parameter]:
    return [p for p in inspect.signature(func).parameters.values()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def _call(func, params, stand_ins, name, value):
    kwargs = {p.name: stand_ins[p.name] for p in params
              if (p.default is p.empty or p.name == "diagnosis") and p.name != name}
    kwargs[name] = value
    return func(**kwargs)


@pytest.mark.parametrize("fname", PUBLIC_FUNCTIONS)
def test_every_parameter_of_every_public_function_refuses_a_wrong_type_naming_itself(
        fname, diagnosis, tmp_path):
    func = getattr(cg, fname)
    params = _parameters(func)
    stand_ins = _stand_ins(diagnosis, tmp_path)
    if not params:  # the reference tables take no argument
        assert fname in ("load_departements", "load_epci", "load_regions")
        return
    for p in params:
        values = [Wrong()] + ([None] if p.default is p.empty else [])
        for value in values:
            with pytest.raises(cg.CptsGeoError) as err:
                _call(func, params, stand_ins, p.name, value)
            assert f"paramètre `{p.name}` : " in str(err.value), (fname, p.name, value, str(err.value))
    assert not list((tmp_path).iterdir())  # nothing written before the refusal


@pytest.mark.parametrize(("call", "parameter", "words"), [
    (lambda d: cg.area_km2(None), "gdf", "un GeoDataFrame ou une GeoSeries est attendu (valeur « None »)"),
    (lambda d: cg.write_diagnosis(None, "sortie"), "d", "un Diagnosis (résultat de cpts_geo.diagnose)"),
    (lambda d: cg.coverage_rates(None), "diagnosis", "un Diagnosis"),
    (lambda d: cg.format_summary(d.perimeters), "d", "(valeur « objet GeoDataFrame »)"),
    (lambda d: cg.load_communes(("communes",)), "kinds", "valeur inconnue ; valeurs possibles : commune"),
    (lambda d: cg.load_communes("commune"), "kinds", "une liste de valeurs"),
    (lambda d: cg.transition(2035), "from_year", "hors de l'historique embarqué de cpts_geo (1968 à 2026)"),
    (lambda d: cg.transition(1800), "from_year", "(valeur « 1800 »)"),
    (lambda d: cg.transition(2024, 2020), "to_year", "antérieure à from_year (2024)"),
    (lambda d: cg.convert_table(pd.DataFrame({"code": ["04088"]}), 1800), "from_year", "historique"),
    (lambda d: cg.commune_population(cog=2035), "cog", "historique"),
    (lambda d: cg.aci_band(-5), "population", "positifs ou nuls et finis sont attendus (valeur « -5 »)"),
    (lambda d: cg.aci_band([30_000, -1.5]), "population", "(valeur « -1.5 »)"),
    (lambda d: cg.aci_band([30_000, np.inf]), "population", "finis"),
    (lambda d: cg.igas_type(pd.Series([-10])), "population", "positifs ou nuls"),
    (lambda d: cg.aci_margin(-1), "population", "positifs ou nuls"),
    (lambda d: cg.aci_band(50_000, bounds=[80_000, 40_000]), "bounds", "strictement croissants"),
    (lambda d: cg.attach_population(pd.DataFrame({"insee": ["04088"]})), "frame", "colonne absente : « code »"),
    (lambda d: cg.compute_apl(travel_times=pd.DataFrame({"from": ["04088"], "to": ["04088"]})),
     "travel_times", "colonne absente : « minutes »"),
    (lambda d: cg.official_apl_by_cpts(pd.DataFrame({"cpts": ["A"]}), "apl.csv"), "members", "« code »"),
    (lambda d: cg.read_members(SAMPLE, threshold=0), "threshold", "strictement supérieur à 0"),
    (lambda d: cg.compare_listings(SAMPLE, SAMPLE, rename_threshold=2), "rename_threshold", "inférieur"),
    (lambda d: cg.classify_diagnosis(d, bounds_typo=1), "bounds_typo", "option inconnue de classify"),
    (lambda d: cg.estimate_travel_times(max_minutes=0), "max_minutes", "strictement supérieur à 0"),
    (lambda d: cg.local_crs(" "), "dep_or_code", "texte non vide"),
    (lambda d: cg.to_local(cg.load_communes().head(2), "corse"), "zone", "valeurs possibles : metropole"),
    (lambda d: cg.area_km2(gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)])), "gdf",
     "système de coordonnées absent"),
])
def test_values_out_of_range_are_refused_naming_the_parameter(diagnosis, call, parameter, words):
    with pytest.raises(cg.OptionError) as err:
        call(diagnosis)
    assert err.value.parameter == parameter
    assert str(err.value).startswith(f"paramètre `{parameter}` : ") and words in str(err.value)


def test_the_accepted_values_still_work(diagnosis):
    assert cg.aci_band([0, 39_999, 40_000, np.nan]).tolist() == [1, 1, 2, 0]
    assert len(cg.transition(2024)) > 0 and cg.transition(2026, 2026).empty
    assert set(cg.load_communes(["arrondissement"])["kind"]) == {"arrondissement"}
    assert cg.local_crs("97411") == 2975
    assert cg.area_km2(cg.load_communes().query("code == '04088'")).round(1).tolist() == [43.4]
    assert cg.coverage_rates(diagnosis, geometry=False)["rate"].between(0, 1).all()


def test_a_diagnosis_is_recognised_through_its_subclasses(diagnosis):
    class Later(type(diagnosis)):
        pass

    assert _checks.expect_diagnosis(diagnosis, "d") is diagnosis
    assert _checks.describe(Later) == "objet type"


@pytest.mark.parametrize(("value", "shown"), [
    (None, "None"), ("A5", "A5"), ("x" * 100, "x" * 60 + "…"), (3.5, "3.5"), ([1], "objet list"),
])
def test_describe_shows_text_and_numbers_and_names_other_types(value, shown):
    assert _checks.describe(value) == shown
