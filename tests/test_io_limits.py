"""cpts_geo.io.limits: every reader bounded, each limit named in French with the way to raise it,
the defaults far above real use.

The hostile files are generated here into tmp_path (nothing large is committed): a workbook of
about 100 KB whose one cell holds 100 million characters (a zip bomb for openpyxl), a cell of
150,000 characters in a CSV and in a workbook, a workbook of too many sheets, a GeoJSON of too
many features. Real use, which must pass: the 200,000-row stand-in listing of
``benchmarks/bench_large.py``, a 5,000-character CPTS name.
"""

from __future__ import annotations

import io
import json
import random
import string
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import pytest

import cpts_geo as cg
from cpts_geo.cli import main
from cpts_geo.errors import CptsGeoError, InputError, LimitError
from cpts_geo.io import read_table
from cpts_geo.io.limits import DEFAULT_LIMITS, ENV_VAR, ReadLimits, current_limits, parse_limits
from cpts_geo.validation import read_proposal

ROOT = Path(__file__).resolve().parent.parent


def _bomb_xlsx(path: Path, n_chars: int) -> Path:
    """A real workbook (openpyxl) whose cell « PLACEHOLDER » is replaced, streamed into the zip,
    by ``n_chars`` letters: the file stays about 100 KB for 100 million characters."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["cpts", "code_insee"])
    ws.append(["PLACEHOLDER", "04001"])
    buf = io.BytesIO()
    wb.save(buf)
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if b"PLACEHOLDER" not in data:
                dst.writestr(info, data)
                continue
            head, tail = data.split(b"PLACEHOLDER")
            member = zipfile.ZipInfo(info.filename)
            member.compress_type = zipfile.ZIP_DEFLATED
            with dst.open(member, "w", force_zip64=True) as out:
                out.write(head)
                chunk = b"x" * 2**20
                for _ in range(n_chars // len(chunk)):
                    out.write(chunk)
                out.write(b"x" * (n_chars % len(chunk)))
                out.write(tail)
    return path


def _listing(path: Path, name: str, rows: int = 3) -> Path:
    codes = ["04001", "04004", "04006", "04007", "04009"]
    path.write_text("cpts;code_insee\n" + "".join(f"{name};{codes[i % 5]}\n" for i in range(rows)),
                    encoding="utf-8")
    return path


def test_a_workbook_whose_one_cell_holds_100_million_characters_is_refused_at_once(tmp_path):
    bomb = _bomb_xlsx(tmp_path / "bombe.xlsx", 100_000_000)
    assert bomb.stat().st_size < 200_000
    tracemalloc.start()
    t0 = time.perf_counter()
    with pytest.raises(LimitError) as err:
        cg.read_members(bomb)
    elapsed = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert elapsed < 1.0
    assert peak < 20 * 2**20
    msg = str(err.value)
    assert msg.startswith("bombe.xlsx : élément xl/worksheets/sheet1.xml du classeur, 95 Mio une fois décompressé")
    assert "(zip_ratio)" in msg and "limits=ReadLimits(zip_ratio=…)" in msg and ENV_VAR in msg
    assert err.value.limit == "zip_ratio"


def test_the_app_import_of_the_same_workbook_is_refused_by_the_same_limit(tmp_path):
    from cpts_geo.app.server import ApiError, _import_file

    data = _bomb_xlsx(tmp_path / "bombe.xlsx", 100_000_000).read_bytes()
    t0 = time.perf_counter()
    with pytest.raises(ApiError) as err:
        _import_file(data, "bombe.xlsx")
    assert time.perf_counter() - t0 < 1.0
    assert err.value.status == 400 and "(zip_ratio)" in str(err.value.message)


def test_the_total_decompressed_size_of_a_workbook_is_bounded_before_parsing(tmp_path):
    book = _bomb_xlsx(tmp_path / "gros.xlsx", 3_000_000)
    with pytest.raises(LimitError) as err:
        read_table(book, limits=ReadLimits(xlsx_bytes=2 * 2**20))
    assert err.value.limit == "xlsx_bytes"
    assert "taille décompressée du classeur : 2,9 Mio : au-delà de la limite de lecture de 2,0 Mio" in str(err.value)
    # under a raised ratio and size the same workbook is read, and its long cell then refused
    with pytest.raises(LimitError) as err:
        read_table(book, limits=ReadLimits(zip_ratio=10_000))
    assert err.value.limit == "cell_chars" and err.value.row == 2


def test_a_cell_longer_than_the_limit_is_refused_in_a_csv_and_in_a_workbook(tmp_path):
    long = "".join(random.Random(1).choices(string.ascii_letters, k=150_000))
    csv_file = tmp_path / "long.csv"
    csv_file.write_text(f"cpts;code_insee\n{long};04001\n", encoding="utf-8")
    with pytest.raises(LimitError) as err:
        cg.read_members(csv_file)
    assert err.value.limit == "cell_chars" and "(cell_chars)" in str(err.value)
    # a workbook cell holds at most 32,767 characters (Excel's own bound): a lower limit shows the check
    wb = openpyxl.Workbook()
    wb.active.append(["cpts", "code_insee"])
    wb.active.append(["CPTS A", "04001"])
    wb.active.append([long[:25_000], "04004"])
    wb.save(tmp_path / "long.xlsx")
    with pytest.raises(LimitError) as err:
        cg.read_members(tmp_path / "long.xlsx", limits=ReadLimits(cell_chars=20_000))
    assert err.value.limit == "cell_chars" and err.value.row == 3
    assert "cellule de 25\u202f000 caractères : au-delà de la limite de lecture de 20\u202f000" in str(err.value)
    # within the limits (the defaults, or raised by the caller) the same files are read
    assert set(cg.read_members(tmp_path / "long.xlsx")["cpts"]) == {"CPTS A", long[:25_000]}
    m = cg.read_members(csv_file, limits=ReadLimits(cell_chars=200_000))
    assert m["cpts"].tolist() == [long]


def test_a_5000_character_cpts_name_is_read(tmp_path):
    name = "CPTS " + "é" * 4_995
    m = cg.read_members(_listing(tmp_path / "nom.csv", name))
    assert m["cpts"].unique().tolist() == [name]


def test_rows_sheets_and_file_size_limits_name_the_limit(tmp_path):
    listing = _listing(tmp_path / "l.csv", "CPTS A", rows=30)
    with pytest.raises(LimitError, match=r"31 lignes : au-delà de la limite de lecture de 20 lignes \(rows\)"):
        read_table(listing, limits=ReadLimits(rows=20))
    with pytest.raises(LimitError) as err:
        read_table(listing, limits=ReadLimits(file_bytes=100))
    assert err.value.limit == "file_bytes" and err.value.source == "l.csv"
    wb = openpyxl.Workbook()
    for k in range(4):
        wb.create_sheet(f"f{k}").append(["cpts", "code_insee"])
    wb.save(tmp_path / "feuilles.xlsx")
    with pytest.raises(LimitError, match=r"5 feuilles : au-delà de la limite de lecture de 3 feuilles \(sheets\)"):
        cg.read_members(tmp_path / "feuilles.xlsx", limits=ReadLimits(sheets=3))
    records = tmp_path / "l.json"
    records.write_text(json.dumps([{"cpts": "A", "code": "04001"}] * 30), encoding="utf-8")
    with pytest.raises(LimitError, match=r"30 enregistrements : au-delà"):
        cg.read_members(records, limits=ReadLimits(rows=20))


def test_the_features_of_a_gis_file_are_counted_before_they_are_read(tmp_path):
    from shapely import box

    feats = [{"type": "Feature", "properties": {"cpts": "A"},
              "geometry": box(6.2 + i * 0.001, 44.0, 6.2 + (i + 1) * 0.001, 44.1).__geo_interface__}
             for i in range(50)]
    path = tmp_path / "p.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}), encoding="utf-8")
    with pytest.raises(LimitError, match=r"50 entités géographiques : au-delà de la limite de lecture de 40"):
        cg.read_members(path, limits=ReadLimits(features=40))


def test_the_limits_are_one_frozen_value_raised_by_keyword_or_environment(monkeypatch):
    assert current_limits({}) is DEFAULT_LIMITS
    with pytest.raises(AttributeError):
        DEFAULT_LIMITS.rows = 1  # type: ignore[misc]
    assert parse_limits("rows=5_000_000, zip_ratio=2000").rows == 5_000_000
    assert current_limits({ENV_VAR: "sheets=3"}).sheets == 3
    with pytest.raises(CptsGeoError, match="CPTS_GEO_LIMITS : « lignes=3 »|limite de lecture inconnue : lignes"):
        parse_limits("lignes=3")
    with pytest.raises(CptsGeoError, match="« rows » : nombre strictement positif attendu"):
        ReadLimits(rows=0)
    with pytest.raises(CptsGeoError, match="paramètre `limits` : ReadLimits attendu"):
        read_table(ROOT / "examples" / "cpts_paca_sample" / "cpts_04_05_84.csv", limits={"rows": 3})


def test_the_command_line_reads_its_limits_from_the_environment(tmp_path, monkeypatch, capsys):
    listing = _listing(tmp_path / "l.csv", "CPTS A", rows=30)
    monkeypatch.setenv(ENV_VAR, "rows=20")
    assert main(["normalise", "--file", str(listing)]) == 2
    err = capsys.readouterr().err
    assert "l.csv : 31 lignes : au-delà de la limite de lecture de 20 lignes (rows)" in err
    assert "Traceback" not in err
    monkeypatch.setenv(ENV_VAR, "rows=zéro")
    assert main(["normalise", "--file", str(listing)]) == 2
    assert "variable d'environnement CPTS_GEO_LIMITS : « rows=zéro »" in capsys.readouterr().err
    monkeypatch.delenv(ENV_VAR)
    assert main(["normalise", "--file", str(listing)]) == 0


def test_a_proposal_file_is_bounded_too(tmp_path):
    with pytest.raises(InputError) as err:
        read_proposal(_bomb_xlsx(tmp_path / "p.xlsx", 5_000_000))
    assert isinstance(err.value, LimitError)


def test_the_200000_row_listing_of_the_large_benchmark_is_read_within_the_defaults(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_large import build_listing

    path = tmp_path / "large.csv"
    shape = build_listing(path)
    df = read_table(path)
    assert len(df) == 200_000 and shape["rows"] == 200_000
    assert df.attrs["rows"][-1] == 200_001


def test_millions_of_empty_lines_or_separators_are_refused_before_they_are_split(tmp_path):
    lines = tmp_path / "lignes.csv"
    lines.write_bytes(b"cpts;code\n" + b"\n" * 3_000_000)
    tracemalloc.start()
    with pytest.raises(LimitError) as err:
        read_table(lines)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert err.value.limit == "rows" and peak < 40 * 2**20  # the text, never 3 million strings
    seps = tmp_path / "separateurs.csv"
    seps.write_bytes(b"cpts;code\n" + (b";" * 999 + b"\n") * 50)
    with pytest.raises(LimitError) as err:
        read_table(seps, limits=ReadLimits(cells=10_000))
    assert err.value.limit == "cells" and "50\u202f002 cellules au plus" in str(err.value)
