"""The thin CLI end to end on the real sample listing and reference."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd

from cpts_geo.cli import main

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def test_demo(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    # every commune has an outline since the rebuild of issue 11 (15031 & co. included)
    assert "COG 2026" in out and "34\u202f875" in out and "sans contour :" not in out


def test_normalise_cli(tmp_path, capsys):
    assert main(["normalise", "05120", "1001", "04999"]) == 0
    rows = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out), dtype=str, sep=";")  # French CSV
    assert rows["status"].tolist() == ["converted", "zero_padded", "unknown"]
    assert main(["normalise"]) == 2


def test_coverage_with_official_apl(sample_listing, tmp_path):
    apl_file = FIXTURES / "apl" / "apl_medecins_generalistes.xlsx"
    assert main(["coverage", str(sample_listing), "--departement", "04,05,84", "--apl", str(apl_file),
                 "--out", str(tmp_path)]) == 0
    per = gpd.read_file(tmp_path / "perimeters.gpkg")
    assert len(per) == 21
    # the APL fixture lists the communes of 04, 05 and 84 only: a CPTS reaching into 06, 13 or 83
    # gets no APL (« APL non disponible »), never one computed on part of its communes
    raw = pd.read_csv(sample_listing, dtype=str)
    reaching = set(raw.loc[~raw["code_insee"].str[:2].isin(["04", "05", "84"]), "cpts"])
    outside = per["cpts"].isin(reaching)
    assert outside.sum() == len(reaching) == 3
    assert per.loc[~outside, "apl"].notna().all() and per.loc[outside, "apl"].isna().all()
    assert set(per["apl_flag"]) <= {"APL < 2,5", "2,5 ≤ APL < 4", "APL ≥ 4", "APL non disponible"}
    assert {"aci_band", "igas_type", "dens_rural"} <= set(per.columns)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["sources"]["apl"]["sheet"].startswith("APL ")
    assert summary["sources"]["classification"]["population_year"] == 2023


def test_coverage_unreadable_input(tmp_path, capsys):
    bad = tmp_path / "vide.csv"
    bad.write_text("")
    assert main(["coverage", str(bad)]) == 2
    assert "vide.csv" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------
# Error policy of the entry point (exit codes 0 / 2 / 3, French argparse, any console)
# ------------------------------------------------------------------------------------------

def test_no_command_prints_french_help(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("utilisation : cpts-geo")
    assert "affiche cette aide et quitte" in out and "commandes :" in out
    for english in ("usage:", "show this help", "positional arguments"):
        assert english not in out


def test_version(capsys):
    from importlib.metadata import version

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"cpts-geo {version('cpts_geo')}"


def test_bad_options_are_french_exit_2(capsys):
    assert main(["coverage"]) == 2
    err = capsys.readouterr().err
    assert "arguments obligatoires manquants : LISTE" in err
    assert "the following arguments" not in err
    assert main(["coverage", "x.csv", "--nope"]) == 2
    assert "arguments non reconnus : --nope" in capsys.readouterr().err


def test_impossible_output_path_exit_2(sample_listing, tmp_path, capsys):
    blocker = tmp_path / "fichier"
    blocker.write_text("x")
    rc = main(["validate", str(FIXTURES / "proposals" / "clean.csv"), "--existing", str(sample_listing),
               "--json", str(blocker / "rapport.json"), "-q"])
    assert rc == 2
    captured = capsys.readouterr()
    assert "rapport.json" in captured.err and "Traceback" not in captured.err
    assert captured.out == ""  # no verdict printed before the failed write


def test_unexpected_error_exit_3_with_log(monkeypatch, capsys):
    import cpts_geo.cli.demo as demo

    def boom(args):
        raise RuntimeError("défaut simulé")

    monkeypatch.setattr(demo, "run", boom)
    assert main(["demo"]) == 3
    err = capsys.readouterr().err
    assert "erreur inattendue" in err and "Traceback" not in err
    log = Path(err.split("enregistré dans ")[1].split(" ;")[0])
    try:
        text = log.read_text(encoding="utf-8")
        assert "RuntimeError: défaut simulé" in text and "Traceback" in text
    finally:
        log.unlink()


def test_cp1252_console_never_fails(sample_listing):
    import os
    import subprocess
    import sys

    env = dict(os.environ, PYTHONIOENCODING="cp1252")
    res = subprocess.run([sys.executable, "-m", "cpts_geo.cli", "coverage", str(sample_listing)],
                         capture_output=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr.decode("cp1252", "replace")
    out = res.stdout.decode("cp1252")
    assert "Traceback" not in out and "COG 2026" in out
    assert "\u00a0" in out  # narrow no-break spaces fell back to no-break spaces
