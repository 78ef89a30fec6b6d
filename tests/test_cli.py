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
    assert "COG 2026" in out and "34875" in out and "15031" in out


def test_normalise_cli(tmp_path, capsys):
    assert main(["normalise", "05120", "1001", "04999"]) == 0
    rows = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out), dtype=str, sep=";")  # French CSV
    assert rows["status"].tolist() == ["converted", "zero_padded", "unknown"]
    assert main(["normalise"]) == 2


def test_coverage_with_official_apl(sample_listing, tmp_path):
    apl_file = FIXTURES / "apl" / "apl_medecins_generalistes.xlsx"
    assert main(["coverage", str(sample_listing), "--apl", str(apl_file), "--out", str(tmp_path)]) == 0
    per = gpd.read_file(tmp_path / "perimeters.gpkg")
    assert len(per) == 18
    assert per["apl"].notna().all()
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
