"""File-level completeness (issue 13): every layer of a GeoPackage read or chosen, a repaired
polygon reported with its areas, a partial travel-time table and a missing supply value never
silent, validate's report files complete or absent. Real communes of the embedded reference."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import MultiPolygon, Polygon

import cpts_geo as cg
from cpts_geo.cli import main

SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "cpts_paca_sample" / "cpts_04_05_84.csv"


# ------------------------------------------------------------------------------------------
# GeoPackage with several layers
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_layers(tmp_path_factory) -> tuple[Path, dict[str, set[str]]]:
    """A GeoPackage with one layer of CPTS polygons per department (04 in degrees, 05 in
    Lambert-93, different name columns) and a layer of town-hall points; each polygon is the
    union of the communes of an EPCI, so the communes read are those of the EPCI."""
    communes = cg.load_communes()
    path = tmp_path_factory.mktemp("gpkg") / "cpts_par_departement.gpkg"
    expected = {}
    # two EPCI each within one department (13 communes in 04, 15 in 05)
    for layer, dep, epci, col, crs in (("dep04", "04", "240400440", "cpts", 4326),
                                       ("dep05", "05", "200067452", "nom", 2154)):
        units = communes[(communes["epci"] == epci) & (communes["dep"] == dep)]
        assert len(units) == {"04": 13, "05": 15}[dep]
        name = f"CPTS {layer}"
        expected[name] = set(units["code"])
        # the union buffered inwards by 50 m: no neighbouring commune touched
        shape = units.to_crs(2154).union_all().buffer(-50)
        gpd.GeoDataFrame({col: [name]}, geometry=[shape], crs=2154).to_crs(crs).to_file(path, layer=layer)
    mairie = communes[communes["code"] == "04070"]
    gpd.GeoDataFrame({"code": ["04070"]}, geometry=gpd.points_from_xy(mairie["mairie_lon"], mairie["mairie_lat"]),
                     crs=4326).to_file(path, layer="mairies")
    return path, expected


def test_every_layer_of_cpts_polygons_is_read(two_layers, capsys):
    path, expected = two_layers
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no pyogrio « more than one layer » warning left to say it
        m = cg.read_members(path)
    assert {c: set(g) for c, g in m.groupby("cpts")["code"]} == expected
    assert m.attrs["layers"] == ["dep04", "dep05"]
    assert m.attrs["layers_ignored"] == {"mairies": "géométries Point, pas des polygones"}
    assert main(["coverage", str(path)]) == 0
    out = capsys.readouterr().out
    assert ("  Lecture : 2 couches lues : dep04 et dep05 ; 1 couche ignorée : mairies "
            "(géométries Point, pas des polygones)") in out
    assert "  CPTS : 2 " in out


def test_one_layer_chosen_or_refused_with_the_list(two_layers, tmp_path, capsys):
    path, expected = two_layers
    m = cg.read_members(path, sheet="dep05")
    assert set(m["code"]) == expected["CPTS dep05"]
    for option in ("--couche", "--layer", "--sheet"):
        assert main(["coverage", str(path), option, "dep04"]) == 0
        assert "CPTS : 1 " in capsys.readouterr().out
    assert main(["coverage", str(path), "--couche", "dep06"]) == 2
    err = capsys.readouterr().err
    assert "pas de couche « dep06 »" in err and "dep04, dep05, mairies" in err
    # layers of polygons without any CPTS column: refused, the layers and the option named
    nameless = tmp_path / "sans_nom.gpkg"
    for layer in ("a", "b"):
        gpd.read_file(path, layer="dep04").rename(columns={"cpts": "id"}).to_file(nameless, layer=layer)
    assert main(["coverage", str(nameless)]) == 2
    err = capsys.readouterr().err
    assert "aucune couche ne ressemble à une liste de CPTS" in err and "--couche" in err
    assert "a (pas de colonne de nom de CPTS)" in err and "b (pas de colonne de nom de CPTS)" in err


# ------------------------------------------------------------------------------------------
# Self-intersecting polygons: repaired, said, area kept
# ------------------------------------------------------------------------------------------

H = 8000.0  # metres (Lambert-93)


def _around(code: str) -> tuple[float, float]:
    c = cg.load_communes()
    g = c[c["code"] == code].to_crs(2154).geometry.iloc[0].centroid
    return g.x, g.y


def test_self_overlapping_polygon_keeps_its_drawn_area(tmp_path, capsys):
    """A ring drawn over Digne-les-Bains that crosses itself: the part it winds around twice
    (8 × 12 km = 96 km²) is dropped by the default repair (make_valid « linework »: 576 − 32 − 96
    = 448 km²); the repair kept is the one with the drawn area, 24 × 24 − 8 × 4 = 544 km²."""
    x, y = _around("04070")
    loop = Polygon([(x - H, y - H), (x + H, y - H), (x + H, y + H), (x, y + H), (x, y - H / 2),
                    (x + 2 * H, y - H / 2), (x + 2 * H, y + 2 * H), (x - H, y + 2 * H)])
    # the same outline drawn without crossing itself (a valid polygon)
    outline = Polygon([(x - H, y - H), (x + H, y - H), (x + H, y - H / 2), (x + 2 * H, y - H / 2),
                       (x + 2 * H, y + 2 * H), (x - H, y + 2 * H)])
    assert not loop.is_valid and outline.is_valid
    f = tmp_path / "boucle.geojson"
    gpd.GeoDataFrame({"cpts": ["CPTS Boucle"]}, geometry=[loop], crs=2154).to_file(f, driver="GeoJSON")
    m = cg.read_members(f)
    valid = cg.read_members(gpd.GeoDataFrame({"cpts": ["CPTS Boucle"]}, geometry=[outline], crs=2154))
    assert set(m["code"]) == set(valid["code"]) and len(m) > 10
    (rep,) = m.attrs["repairs"]
    assert rep["area_drawn_km2"] == pytest.approx(544, abs=0.5)
    assert rep["area_km2"] == pytest.approx(544, abs=0.5)
    assert rep["areas_km2"]["make_valid (méthode « linework », par défaut)"] == pytest.approx(448, abs=0.5)
    assert main(["coverage", str(f)]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "réparé" in x)
    assert line.startswith("  Lecture : « CPTS Boucle » (entité 1) : polygone invalide (le contour se recoupe")
    assert ("réparé par make_valid (méthode « structure ») ; surface entourée par le contour dessiné "
            "544,0\u202fkm², après réparation 544,0\u202fkm² (la réparation par défaut n'en gardait que "
            "448,0\u202fkm²)") in line
    # the workbook's « Sources » sheet (forwarded with the tables) says it too
    from cpts_geo.io.outputs import sources_table

    sources = sources_table(cg.diagnose(m)).set_index("donnée")["source"]
    assert sources["Lecture de la liste"] == line.removeprefix("  Lecture : ")


def test_bow_tie_keeps_both_lobes_and_validate_says_repaired(tmp_path, capsys):
    """A bow-tie (two triangles of 16 km base and 8 km height: 2 × 64 = 128 km²) over Digne:
    both lobes kept (buffer(0) would keep one, 64 km²), and the repair is in validate's report."""
    x, y = _around("04070")
    bow = Polygon([(x - H, y - H), (x + H, y + H), (x + H, y - H), (x - H, y + H)])
    lobes = [Polygon([(x - H, y - H), (x, y), (x - H, y + H)]), Polygon([(x + H, y + H), (x, y), (x + H, y - H)])]
    f = tmp_path / "noeud.geojson"
    gpd.GeoDataFrame({"cpts": ["CPTS Noeud"]}, geometry=[bow], crs=2154).to_file(f, driver="GeoJSON")
    m = cg.read_members(f)
    both = cg.read_members(gpd.GeoDataFrame({"cpts": ["CPTS Noeud"]}, geometry=[MultiPolygon(lobes)], crs=2154))
    assert set(m["code"]) == set(both["code"])
    (rep,) = m.attrs["repairs"]
    assert rep["area_drawn_km2"] == pytest.approx(128, abs=0.5) and rep["area_km2"] == pytest.approx(128, abs=0.5)
    assert rep["areas_km2"]["buffer(0)"] == pytest.approx(64, abs=0.5)
    assert main(["validate", str(f), "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "(cut_units) : « CPTS Noeud » (entité 1) : polygone invalide" in out
    assert "après réparation 128,0\u202fkm²" in out
    report = json.loads((tmp_path / "r.json").read_text("utf-8"))
    check = next(c for c in report["checks"] if c["id"] == "cut_units")
    assert check["details"]["repairs"][0]["area_km2"] == pytest.approx(128, abs=0.5)


def test_valid_polygons_are_not_reported(two_layers):
    m = cg.read_members(two_layers[0], sheet="dep04")
    assert m.attrs["repairs"] == [] and m.attrs["notes"] == []


# ------------------------------------------------------------------------------------------
# Travel-time table and supply
# ------------------------------------------------------------------------------------------


def _apl_files(tmp_path: Path, tt_rows: str) -> list[str]:
    codes = ["04070", "04112", "05061", "04209"]  # Digne, Malijai, Gap, Sisteron
    (tmp_path / "pop.csv").write_text("code,population\n" + "".join(
        f"{c},{p}\n" for c, p in zip(codes, [1000, 2000, 500, 1500], strict=True)), encoding="utf-8")
    (tmp_path / "sup.csv").write_text("code;etp\n04070;2\n05061;1\n04209;3\n", encoding="utf-8")
    (tmp_path / "tt.csv").write_text("from,to,minutes\n" + tt_rows, encoding="utf-8")
    return ["apl", "--population", str(tmp_path / "pop.csv"), "--supply", str(tmp_path / "sup.csv"),
            "--supply-column", "etp", "--travel-times", str(tmp_path / "tt.csv"), "--per", "1",
            "--out", str(tmp_path / "apl.csv")]


def test_units_absent_from_the_travel_table_are_said_not_computed(tmp_path, capsys):
    # Sisteron (04209) is in the population and the supply, not in the table
    argv = _apl_files(tmp_path, "04070,04112,8\n04112,04070,8\n04070,05061,12\n05061,04070,12\n04112,05061,18\n")
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "unités calculées : 3 sur 4" in out
    assert ("1 unité absente de la table (par exemple 04209) : non calculée, jamais à partir de sa seule offre ; "
            "sa population (1\u202f500 habitants) et son offre (3,0) ne comptent pas") in out
    assert "1 couple à portée donné dans un seul sens" in out  # 04112 → 05061 without 05061 → 04112
    res = pd.read_csv(tmp_path / "apl.csv", sep=";", decimal=",", dtype={"code": str}).set_index("code")
    assert np.isnan(res.loc["04209", "apl_estime"])  # before: 3 / 1500, its own supply alone
    meta = json.loads((tmp_path / "apl.meta.json").read_text("utf-8"))
    assert meta["absent_from_travel_times"] == 1 and meta["supply_unlocated"] == 3
    # the others are computed from the table alone: Sisteron's 3 ETP reach nobody
    # demand at 04070: 1000 + 2000 + 500·2/3 (weights 1, 1, 2/3 at 0, 8, 12 min); at 05061:
    # 500 + 1000·2/3 + 2000·1/3 (0, 12, 18 min); 04070 reaches 05061 at 12 min (2/3)
    d_a, d_c = 1000 + 2000 + 500 * 2 / 3, 500 + 1000 * 2 / 3 + 2000 / 3
    assert res.loc["04070", "apl_estime"] == pytest.approx(2 / d_a + 1 / d_c * 2 / 3)


def test_travel_table_of_other_units_is_refused(tmp_path, capsys):
    argv = _apl_files(tmp_path, "13201,13202,8\n13202,13201,8\n")  # Marseille, not the area
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "tt.csv" in err and "la table ne couvre pas la zone calculée" in err
    assert not (tmp_path / "apl.csv").exists()


def test_missing_supply_value_is_refused_never_zero(tmp_path, capsys):
    argv = _apl_files(tmp_path, "04070,04112,8\n04112,04070,8\n")
    (tmp_path / "sup.csv").write_text("code;etp\n04070;2\n05061;\n", encoding="utf-8")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "sup.csv, ligne 3 : colonne « etp » : valeur manquante" in err
    with pytest.raises(cg.InputError, match="valeur manquante pour le code 05061"):
        cg.compute_apl(pd.Series({"04070": 2.0, "05061": np.nan}), pd.Series({"04070": 10.0, "05061": 5.0}),
                       pd.DataFrame({"from": ["04070"], "to": ["05061"], "minutes": [12.0]}))


# ------------------------------------------------------------------------------------------
# validate: report files complete or absent, never a verdict before a write failure
# ------------------------------------------------------------------------------------------


def test_validate_outputs_complete_and_nothing_left_beside(tmp_path, capsys):
    out = tmp_path / "rapports"
    assert main(["validate", "04001,04004", "--json", str(out / "r.json"), "--html", str(out / "r.html"),
                 "--markdown", str(out / "r.md")]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["r.html", "r.json", "r.md"]
    assert json.loads((out / "r.json").read_text("utf-8"))["name"]
    assert (out / "r.html").read_text("utf-8").rstrip().endswith("</html>")
    capsys.readouterr()


@pytest.mark.parametrize("where", ["folder", "under_file", "dev_null"])
def test_validate_write_failure_is_exit_2_without_verdict(tmp_path, capsys, where):
    blocker = tmp_path / "occupe.html"
    blocker.mkdir()  # a folder in place of the HTML file
    a_file = tmp_path / "fichier.txt"
    a_file.write_text("x", encoding="utf-8")
    target = {"folder": blocker, "under_file": a_file / "r.html", "dev_null": Path("/dev/null/r.html")}[where]
    json_path = tmp_path / "r.json"
    assert main(["validate", "04001,04004", "--json", str(json_path), "--html", str(target)]) == 2
    captured = capsys.readouterr()
    assert "Aucun point bloquant" not in captured.out and "OK —" not in captured.out
    assert captured.out == ""
    assert "erreur" in captured.err and "Traceback" not in captured.err
    assert str(target) in captured.err or target.name in captured.err or str(target.parent) in captured.err
    # no half set: the JSON written beside was not moved in, nothing temporary left
    assert not json_path.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fichier.txt", "occupe.html"]


def test_sheets_read_and_left_are_said(tmp_path, capsys):
    """One listing sheet per department and a read-me sheet: the summary names both."""
    import openpyxl

    df = pd.read_csv(SAMPLE, dtype=str)
    wb = openpyxl.Workbook()
    wb.active.title = "Lisez-moi"
    wb.active.append(["Liste transmise par l'ARS"])
    for dep in ("04", "05", "84"):
        ws = wb.create_sheet(f"Dép. {dep}")
        ws.append(["cpts", "code_insee"])
        for row in df[df["code_insee"].str[:2] == dep].itertuples(index=False):
            ws.append(list(row))
    path = tmp_path / "par_departement.xlsx"
    wb.save(path)
    note = ("3 feuilles lues : Dép. 04, Dép. 05 et Dép. 84 ; 1 feuille ignorée (pas de colonne de CPTS et de "
            "communes) : Lisez-moi")
    assert cg.diagnose(cg.read_members(path)).summary["listing_notes"] == [note]
    assert main(["coverage", str(path)]) == 0
    assert f"  Lecture : {note}\n" in capsys.readouterr().out
