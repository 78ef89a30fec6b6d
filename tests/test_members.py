"""read_members on the real PACA listing and on built listings in every supported form."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import cpts_geo
from cpts_geo.members import MembersError, expand_cities, normalise_stage, split_cell

FIX = Path(__file__).resolve().parent / "fixtures" / "members"


def test_sample_every_row_accounted_for(sample_listing):
    raw = pd.read_csv(sample_listing, dtype=str)
    m = cpts_geo.read_members(sample_listing)
    rep = m.attrs["report"]
    assert len(rep) == len(raw)  # one report row per input row
    assert sorted(rep["source_row"]) == list(range(2, len(raw) + 2))
    kept = len(m) + len(m.attrs["refused"]) + len(m.attrs["duplicates"])
    assert kept == len(raw)
    assert m["cpts"].nunique() == raw["cpts"].nunique() == 21  # examples/cpts_paca_sample/README.md
    # the pre-2019 code 05120 (Ristolas) becomes Abriès-Ristolas 05001, already listed → duplicate
    conv = m.attrs["converted"]
    assert conv.set_index("input").loc["05120", "code"] == "05001"
    dup = m.attrs["duplicates"]
    assert list(dup["input"]) == ["05120"] and list(dup["code"]) == ["05001"]
    valid = set(cpts_geo.load_communes()["code"])
    assert set(m["code"]) <= valid
    assert m.attrs["cog"] == 2026 and m.attrs["source"] == sample_listing.name


def test_xlsx_any_sheet_detects_columns_and_normalises():
    m = cpts_geo.read_members(FIX / "long_multisheet.xlsx")
    assert m.attrs["sheet"] == "Liste"
    cols = m.attrs["columns"]
    assert cols["cpts"] == "Nom de la CPTS" and cols["code"] == "Code INSEE"
    assert cols["stage"] == "Étape" and cols["date"] == "Date de signature"
    f = m[m["cpts"] == "CPTS Test Forcalquier"].set_index("input")
    assert f.loc["4112", "code"] == "04112" and f.loc["4112", "status"] == "zero_padded"
    assert f.loc["Saint-Étienne-les-Orgues", "code"] == "04178"
    assert f.loc["05120", "code"] == "05001"
    assert (f["stage"] == "ACI signé").all()
    assert (f["date"] == pd.Timestamp("2023-03-15")).all()
    v = m[m["cpts"] == "CPTS Test Verdon"]
    assert set(v["stage"]) == {"lettre d'intention validée"}
    assert (v["date"] == pd.Timestamp("2024-01-10")).all()  # ISO date not read day-first
    # the postal code 04300 is refused with a reason pointing at Forcalquier, at its spreadsheet row
    ref = m.attrs["refused"]
    assert list(ref["input"]) == ["04300"] and list(ref["source_row"]) == [6]
    assert "04088 Forcalquier (code postal)" in ref["message"].iloc[0]


def test_wide_csv_and_json_forms_agree():
    wide = cpts_geo.read_members(FIX / "wide.csv")
    js = cpts_geo.read_members(FIX / "listing.json")
    rec = cpts_geo.read_members(FIX / "records.json")

    def sets(m):
        return {k: set(g["code"]) for k, g in m.groupby("cpts")}

    assert sets(wide) == sets(js) == sets(rec)
    assert sets(js)["CPTS Test Apt"] == {"84003", "84006", "84020"}
    assert set(wide.loc[wide["cpts"] == "CPTS Test Noms", "status"]) == {"name"}
    assert set(wide.loc[wide["cpts"] == "CPTS Test Apt", "stage"]) == {"projet de santé validé"}
    assert list(rec["source_row"]) == [1, 2, 3, 4, 5]


def test_split_cell():
    assert split_cell("04001 04009; Forcalquier (04), Saint Michel l'Observatoire\n4112") == [
        "04001", "04009", "Forcalquier (04)", "Saint Michel l'Observatoire", "4112"]
    assert split_cell(["2A004", " 2B033 "]) == ["2A004", "2B033"]
    assert split_cell(None) == []


@pytest.mark.parametrize("name", ["polygons.geojson", "polygons.gpkg"])
def test_drawn_polygons_assigned_by_area_share(name, sample_listing):
    m = cpts_geo.read_members(FIX / name)
    apt = cpts_geo.read_members(sample_listing)
    truth = set(apt.loc[apt["cpts"] == "CPTS du Pays d'Apt", "code"])
    drawn = m[m["cpts"] == "CPTS Dessin Apt"]
    assert set(drawn["code"]) == truth  # 30 m of slack around real outlines changes nothing
    f = set(m.loc[m["cpts"] == "CPTS Dessin Forcalquier", "code"])
    assert f == {"04088", "04111"}  # 70 % of Forcalquier ≥ 50 % threshold
    cut = m.attrs["cut_units"]
    assert list(cut["code"]) == ["04088"] and cut["share"].iloc[0] == pytest.approx(0.7, abs=0.01)
    assert set(m["status"]) == {"area_share"}
    # a stricter threshold drops Forcalquier, and the drawn polygon is still reported as cut
    strict = cpts_geo.read_members(FIX / name, threshold=0.8)
    assert set(strict.loc[strict["cpts"] == "CPTS Dessin Forcalquier", "code"]) == {"04111"}
    assert not strict.attrs["cut_units"]["assigned"].iloc[0]


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("empty.csv", "empty.csv : fichier vide"),
        ("header_only.csv", "aucune ligne"),
        ("missing_cpts.csv", "missing_cpts.csv, ligne 4 : nom de CPTS manquant (valeur « 04017 »)"),
        ("unknown_columns.csv", "colonnes trouvées : foo, bar"),
        ("malformed.json", "malformed.json, ligne 2 : JSON mal formé"),
        ("bad_date.csv", "bad_date.csv, ligne 3 : date illisible (valeur « le mois prochain »)"),
        ("does_not_exist.csv", "fichier introuvable"),
    ],
)
def test_bad_input_one_clear_error(name, needle):
    with pytest.raises(MembersError) as err:
        cpts_geo.read_members(FIX / name)
    assert needle in str(err.value)
    assert isinstance(err.value, ValueError)


def test_column_overrides(tmp_path):
    p = tmp_path / "odd.csv"
    p.write_text("structure porteuse;territoire\nCPTS X;04001\nCPTS X;04009\n", encoding="utf-8")
    with pytest.raises(MembersError, match="colonne du nom de CPTS introuvable"):
        cpts_geo.read_members(p)
    m = cpts_geo.read_members(p, cpts_col="structure porteuse", code_col="territoire")
    assert list(m["code"]) == ["04001", "04009"]
    with pytest.raises(MembersError, match="colonne « nope » absente"):
        cpts_geo.read_members(p, cpts_col="nope")


def test_arrondissements_expand_whole_city():
    df = pd.DataFrame({
        "cpts": ["CPTS Marseille Centre"] * 3 + ["CPTS Marseille Tout"],
        "code": ["13201", "13202", "13203", "13055"],
    })
    m = cpts_geo.read_members(df)
    arr = cpts_geo.load_communes(("arrondissement",))
    marseille = set(arr.loc[arr["parent"] == "13055", "code"])
    assert len(marseille) == 16
    assert set(m.loc[m["cpts"] == "CPTS Marseille Tout", "code"]) == marseille
    assert set(m.loc[m["cpts"] == "CPTS Marseille Centre", "code"]) == {"13201", "13202", "13203"}
    assert "13055" not in set(m["code"])
    assert m.attrs["expanded_cities"] == {"13055": ["CPTS Marseille Tout"]}
    # idempotent
    assert len(expand_cities(m)) == len(m)


def test_whole_city_without_arrondissements_stays_one_unit():
    df = pd.DataFrame({"cpts": ["A", "B", "C"], "code": ["13055", "13055", "13055"]})
    m = cpts_geo.read_members(df)
    assert list(m["code"]) == ["13055"] * 3


def test_stage_labels():
    assert normalise_stage("ACI signé le 3/5/2022") == "ACI signé"
    assert normalise_stage("Contrat signé") == "ACI signé"
    assert normalise_stage("LI validée") == "lettre d'intention validée"
    assert normalise_stage("Projet de santé") == "projet de santé validé"
    assert normalise_stage("Pré-projet") == "pré-projet"
    assert normalise_stage("en réflexion") == "en réflexion"
    assert normalise_stage("  ") is None


def test_drawn_polygons_cut_a_city_at_arrondissement_level_only_when_cut():
    """A polygon over Paris 1er-4e (a cut city) lists those arrondissements; one over the whole
    of Lyon lists the city 69123, not its nine arrondissements (reference.plm_* mapping)."""
    import geopandas as gpd

    ref = cpts_geo.load_communes().set_index("code")
    paris = ref.loc[["75101", "75102", "75103", "75104"], "geometry"].union_all()
    lyon = ref.loc[[f"6938{i}" for i in range(1, 10)], "geometry"].union_all()
    gdf = gpd.GeoDataFrame({"cpts": ["CPTS Paris Centre", "CPTS Lyon"]}, geometry=[paris, lyon], crs=4326)
    m = cpts_geo.read_members(gdf)
    assert sorted(m.loc[m["cpts"] == "CPTS Paris Centre", "code"]) == ["75101", "75102", "75103", "75104"]
    assert list(m.loc[m["cpts"] == "CPTS Lyon", "code"]) == ["69123"]


# ------------------------------------------------------------------------------------------
# Drawn polygons: one area per CPTS, refused features named
# ------------------------------------------------------------------------------------------

#: a square over Forcalquier (EPSG:4326) holding ≥ 50 % of 7 communes, Revest-Saint-Martin (04164)
#: by 56 % only
SQUARE = (5.70, 43.92, 5.86, 44.02)
SQUARE_CODES = {"04087", "04088", "04104", "04111", "04138", "04151", "04164"}


def _drawn(geoms, names, **columns):
    import geopandas as gpd

    return gpd.GeoDataFrame({"cpts": names, **columns}, geometry=list(geoms), crs=4326)


def test_a_cpts_drawn_as_two_features_is_one_area_for_the_area_rule():
    from shapely import box

    x0, y0, x1, y1 = SQUARE
    cut = 5.823  # through Revest-Saint-Martin: each half holds under 50 % of it
    halves = [box(cut, y0, x1, y1), box(x0, y0, cut, y1)]  # east, then west
    whole = cpts_geo.read_members(_drawn([box(*SQUARE)], ["CPTS Carré"]))
    assert set(whole["code"]) == SQUARE_CODES
    apart = cpts_geo.read_members(_drawn(halves, ["A", "B"]))  # two CPTS: each half on its own
    assert "04164" not in set(apart["code"])
    m = cpts_geo.read_members(_drawn(halves, ["CPTS Carré", "CPTS Carré"], stage=["ACI signé", None]))
    assert set(m["code"]) == SQUARE_CODES
    # each commune is reported on the first feature that touches it: Limans lies wholly in the west
    rows = m.set_index("code")["source_row"]
    assert rows["04104"] == 2 and rows["04151"] == 1 and rows["04164"] == 1
    assert set(m["stage"]) == {"ACI signé"}


def test_a_cpts_drawn_as_100000_grid_cells_gives_the_communes_of_its_square(tmp_path):
    import numpy as np
    import shapely

    n = 316  # 99,856 cells
    x0, y0, x1, y1 = SQUARE
    xs, ys = np.linspace(x0, x1, n + 1), np.linspace(y0, y1, n + 1)
    lx, ly = np.meshgrid(xs[:-1], ys[:-1])
    hx, hy = np.meshgrid(xs[1:], ys[1:])
    cells = shapely.box(lx.ravel(), ly.ravel(), hx.ravel(), hy.ravel())
    grid = _drawn(cells, ["CPTS Grille"] * len(cells))
    m = cpts_geo.read_members(grid)
    assert set(m["code"]) == SQUARE_CODES
    assert m.attrs["refused"].empty and len(m.attrs["report"]) == len(SQUARE_CODES)
    # the same grid as a GeoPackage passes the reading limits (features counted before reading)
    grid.to_file(tmp_path / "grille.gpkg")
    assert set(cpts_geo.read_members(tmp_path / "grille.gpkg")["code"]) == SQUARE_CODES


def test_overlapping_features_of_one_cpts_are_united_not_summed():
    from shapely import box

    x0, y0, x1, y1 = SQUARE
    # the same square twice and a copy shifted by half: overlaps never count an area twice
    shifted = box(x0 + 0.08, y0, x1 + 0.08, y1)
    m = cpts_geo.read_members(_drawn([box(*SQUARE), box(*SQUARE), shifted], ["C"] * 3))
    ref = cpts_geo.read_members(_drawn([box(x0, y0, x1 + 0.08, y1)], ["C"]))
    assert set(m["code"]) == set(ref["code"])
    cut = m.attrs["cut_units"].set_index("code")["share"]
    assert (cut <= 1.0).all()
    assert cut.to_dict() == pytest.approx(ref.attrs["cut_units"].set_index("code")["share"].to_dict(), abs=1e-4)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")], ids=["nan", "inf"])
def test_a_nan_or_infinite_coordinate_is_refused_naming_the_feature(bad, tmp_path):
    import json

    from shapely import box

    good = box(*SQUARE).__geo_interface__
    ring = [list(p) for p in good["coordinates"][0]]
    ring[2] = [bad, 43.95]
    feats = [{"type": "Feature", "properties": {"cpts": "CPTS Carré"}, "geometry": good},
             {"type": "Feature", "properties": {"cpts": "CPTS Nan"},
              "geometry": {"type": "Polygon", "coordinates": [ring]}}]
    path = tmp_path / "nan.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}), encoding="utf-8")
    with pytest.raises(MembersError) as err:
        cpts_geo.read_members(path)
    assert str(err.value).startswith("nan.geojson, ligne 2 : coordonnée invalide (entité 2, sommet (")
    assert "(valeur « CPTS Nan »)" in str(err.value)


def test_a_feature_without_a_cpts_name_is_refused_naming_it_never_nan(tmp_path):
    from shapely import box

    x0, y0, x1, y1 = SQUARE
    gdf = _drawn([box(*SQUARE), box(x1, y0, x1 + 0.1, y1)], ["CPTS Carré", None])
    with pytest.raises(MembersError, match=r"^tableau, ligne 2 : nom de CPTS manquant \(entité 2\)"):
        cpts_geo.read_members(gdf)
    gdf.to_file(tmp_path / "p.geojson")
    with pytest.raises(MembersError, match=r"^p.geojson, ligne 2 : nom de CPTS manquant \(entité 2\)"):
        cpts_geo.read_members(tmp_path / "p.geojson")
    gpkg = tmp_path / "p.gpkg"
    gdf.iloc[:1].to_file(gpkg, layer="nord")
    _drawn([box(x1, y0, x1 + 0.1, y1)], [" \u200b"]).to_file(gpkg, layer="sud")
    with pytest.raises(MembersError, match=r"^p.gpkg, ligne 1 : nom de CPTS manquant \(couche sud, entité 1\)"):
        cpts_geo.read_members(gpkg)


@pytest.mark.parametrize("missing", [None, float("nan"), "", " \u00a0"], ids=["none", "nan", "empty", "nbsp"])
def test_a_row_without_a_cpts_name_is_refused_in_long_wide_and_frame_inputs(missing, tmp_path):
    long = pd.DataFrame({"cpts": ["CPTS A", missing], "code": ["04001", "04009"]})
    with pytest.raises(MembersError, match=r"^tableau, ligne 3 : nom de CPTS manquant \(valeur « 04009 »\)"):
        cpts_geo.read_members(long)
    wide = pd.DataFrame({"cpts": ["CPTS A", missing], "communes": ["04001; 04004", "04009; 04017"]})
    with pytest.raises(MembersError, match=r"^tableau, ligne 3 : nom de CPTS manquant"):
        cpts_geo.read_members(wide)
    # a frame handed to diagnose as it is (columns cpts and code) is refused too, never a CPTS « nan »
    with pytest.raises(cpts_geo.CptsGeoError, match=r"ligne 2 : nom de CPTS manquant \(valeur « 04009 »\)"):
        cpts_geo.diagnose(long)
