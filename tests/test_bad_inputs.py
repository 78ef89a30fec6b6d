"""Every CLI command against the bad-input corpus tests/fixtures/bad/ (built by make_bad.py):
never a traceback, never exit 3 (a bug); exit 2 with a French message naming the file, or 0/1
where the input is legitimately readable (issue 13)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import cpts_geo
from cpts_geo.cli import main

FIX = Path(__file__).resolve().parent / "fixtures"
BAD = FIX / "bad"
SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "cpts_paca_sample" / "cpts_04_05_84.csv"
CORPUS = sorted(p.name for p in BAD.iterdir() if p.name != "make_bad.py")

#: inputs a command legitimately reads (exit 0, or 1 for a proposal that validate blocks); every
#: other (command, file) pair must exit 2. Reasons:
#: - normalise reads any first column: codes without header are codes (04001 is kept), names it
#:   cannot find are refused row by row in its output, overseas codes are known to the COG;
#: - coverage / validate --existing accept a listing of overseas collectivities (communes of the
#:   COG without contours: counted in population, no map);
#: - validate PROPOSITION reports unknown codes as a blocking check (exit 1), not a read error;
#: - a supply table with an empty value is a readable list of codes for normalise and validate
#:   (its code column), refused by apl --supply (« valeur manquante », row 3);
#: - a UTF-8 listing with one stray Latin-1 byte is read (that byte alone as Windows-1252, said);
#: - normalise and validate --existing refuse a file in which no value is a code or a commune
#:   name (missing_column.csv, unknown_codes.csv): exit 2.
LEGIT = {
    ("normalise", "headerless_one_column.csv"): 0,
    ("normalise", "overseas_only.csv"): 0,
    ("coverage", "overseas_only.csv"): 0,
    ("validate", "headerless_one_column.csv"): 0, ("validate", "unknown_codes.csv"): 1,
    ("validate", "cp1252_garbage.csv"): 1,
    ("validate-existing", "overseas_only.csv"): 0,
    ("normalise", "supply_missing_value.csv"): 0, ("validate", "supply_missing_value.csv"): 0,
    **{(c, "stray_latin1_byte.csv"): 0 for c in ("normalise", "coverage", "map", "validate", "validate-existing")},
}

#: what the refusal of each hostile input says (coverage command)
HOSTILE = {
    "cell_bomb.xlsx": "(zip_ratio)",
    "password.xlsx": "classeur protégé par un mot de passe (chiffré)",
    "deep_nesting.json": "JSON trop imbriqué",
    "nan_coordinate.geojson": "coordonnée invalide (entité 1",
    "nameless_feature.geojson": "ligne 2 : nom de CPTS manquant (entité 2)",
    "hidden_sheet_only.xlsx": "feuilles masquées, non lues : ancienne liste",
}


def test_an_existing_listing_where_nothing_is_recognised_is_refused(capsys):
    assert main(["validate", "04001,04004", "--existing", str(BAD / "unknown_codes.csv")]) == 2
    err = capsys.readouterr().err
    assert ("unknown_codes.csv : aucune commune reconnue dans la liste des CPTS existantes : ligne 2 : code 99999 "
            "absent du COG 2026") in err


def _argv(command: str, f: Path, tmp: Path) -> list[str]:
    return {
        "normalise": ["normalise", "--file", str(f)],
        "coverage": ["coverage", str(f)],
        "map": ["map", str(f), "--html", str(tmp / "carte.html")],
        "apl-supply": ["apl", "--supply", str(f), "--supply-column", "offre", "--out", str(tmp / "apl.csv")],
        "apl-population": ["apl", "--population", str(f), "--out", str(tmp / "apl.csv")],
        "validate": ["validate", str(f)],
        "validate-existing": ["validate", "04001,04004", "--existing", str(f)],
        "coverage-apl": ["coverage", str(SAMPLE), "--apl", str(f)],
    }[command]


COMMANDS = ("normalise", "coverage", "map", "apl-supply", "apl-population", "validate", "validate-existing",
            "coverage-apl")


def test_corpus_is_built():
    assert {"empty.csv", "truncated.xlsx", "folder.csv", "unclosed_ring.json", "fake.ods",
            "headerless_one_column.csv", "missing_column.csv", "overseas_only.csv", "supply_missing_value.csv",
            "layers_without_cpts.gpkg"} <= set(CORPUS)
    assert (BAD / "folder.csv").is_dir()


@pytest.mark.parametrize("name", CORPUS)
@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_on_every_bad_input(command, name, tmp_path, capsys):
    code = main(_argv(command, BAD / name, tmp_path))
    err = capsys.readouterr().err
    assert "Traceback" not in err and "erreur inattendue" not in err, err
    assert code == LEGIT.get((command, name), 2), err
    if code == 2:
        # one French message naming the file (or the folder given as a file)
        assert name in err or "JSON" in err, err
    # nothing half-written by a refused run
    if code == 2:
        assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_each_hostile_input_is_refused_for_its_own_reason(name, capsys):
    assert main(["coverage", str(BAD / name)]) == 2
    err = capsys.readouterr().err
    assert f"erreur : {name}" in err and HOSTILE[name] in err, err


def test_demo_runs(capsys):
    assert main(["demo"]) == 0
    assert "Traceback" not in capsys.readouterr().err


def test_region_without_any_listed_cpts_with_out(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["coverage", str(SAMPLE), "--region", "11", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "région 11" in err and "--region" in err and "04" in err
    assert not out.exists()


def test_overseas_listing_with_out_writes_tables_without_maps(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["coverage", str(BAD / "overseas_only.csv"), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "cartes non dessinées" in err
    listed = {f["name"] for f in json.loads((out / "summary.json").read_text("utf-8"))["files"]}
    assert listed == {p.name for p in out.iterdir()} == {
        "summary.json", "perimeters.gpkg", "white_zones.gpkg", "overlaps.csv", "overlap_pairs.csv",
        "diagnostic_cpts.xlsx"}
    assert main(["map", str(BAD / "overseas_only.csv"), "--html", str(tmp_path / "c.html")]) == 2
    assert "aucune commune de la zone analysée n'a de contour" in capsys.readouterr().err


@pytest.mark.parametrize("option,name", [("--png", "x.jpg2"), ("--pdf", "x.png"), ("--html", "x.pdf")])
def test_map_output_with_wrong_suffix(tmp_path, capsys, option, name):
    assert main(["map", str(SAMPLE), option, str(tmp_path / name)]) == 2
    assert option in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_impossible_output_paths(tmp_path, capsys):
    a_file = tmp_path / "fichier.txt"
    a_file.write_text("x", encoding="utf-8")
    cases = [
        ["coverage", str(SAMPLE), "--out", str(a_file / "out")],     # a file in the path
        ["map", str(SAMPLE), "--html", str(a_file / "c.html")],
        ["map", str(SAMPLE), "--png", str(tmp_path)],               # wrong suffix (a folder)
        ["apl", "--out", str(a_file / "apl.csv"), "--steps", "10:1"],
        ["validate", "04001,04004", "--json", str(a_file / "r.json")],
    ]
    for argv in cases:
        code = main(argv)
        captured = capsys.readouterr()
        assert code == 2, argv
        assert "Traceback" not in captured.err and "erreur" in captured.err.lower(), argv
        # a write failure never looks like a verdict
        assert "Aucun point bloquant" not in captured.out and "OK —" not in captured.out, argv
    assert a_file.read_text("utf-8") == "x"


def test_postcodes_refused_then_read_with_code_type(tmp_path, capsys):
    """13001…13016 are the postcodes of Marseille's arrondissements and the INSEE codes of
    Aix-en-Provence, Allauch, Alleins…: refused (exit 2) with the likely reading; --code-type decides."""
    f = tmp_path / "marseille.csv"
    f.write_text("cpts;code\n" + "".join(f"CPTS Marseille;130{i:02d}\n" for i in range(1, 17)), encoding="utf-8")
    assert main(["coverage", str(f)]) == 2
    err = capsys.readouterr().err
    assert "codes postaux" in err and "Aix-en-Provence" in err and "--code-type" in err
    assert main(["coverage", str(f), "--code-type", "postal"]) == 0
    out = capsys.readouterr().out
    assert "Codes postaux convertis (16)" in out and "13001 → 13201 (Marseille 1er Arrondissement)" in out
    m = cpts_geo.read_members(f, code_type="postal")
    assert sorted(m["code"]) == [f"132{i:02d}" for i in range(1, 17)]
    m = cpts_geo.read_members(f, code_type="insee")  # the user says they are INSEE codes
    assert "13001" in set(m["code"])
    # Lyon 69001–69009 and Corsican postcodes (no INSEE code since 1976) refused the same way
    for codes in ([f"6900{i}" for i in range(1, 10)], ["20200", "20600", "20290"]):
        f.write_text("cpts;code\n" + "".join(f"CPTS X;{c}\n" for c in codes), encoding="utf-8")
        assert main(["coverage", str(f)]) == 2
        assert "codes postaux" in capsys.readouterr().err
    # the real PACA listing (30 of its 540 codes are also postcodes of other communes) is read
    assert len(cpts_geo.read_members(SAMPLE)) > 400
