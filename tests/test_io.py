"""cpts_geo.io: one table reader for every reader of the library, and French-Excel writers.

The same listing content (built from the real PACA sample) is saved as UTF-8, UTF-8 with BOM
and Windows-1252, and as a workbook with title lines above the header: every reader must read
it identically and keep the accents; the same bad files must raise the same error type
(InputError) from every reader, naming the file.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

import cpts_geo as cg
from cpts_geo.cli.normalise import read_values
from cpts_geo.errors import InputError, MembersError
from cpts_geo.io import clean_code, column_key, find_column, list_sheets, read_sheets, read_table
from cpts_geo.io.french import write_csv, write_workbook
from cpts_geo.validation.inputs import read_proposal

ENCODINGS = ("utf-8", "utf-8-sig", "cp1252")
CODE = "Code commune INSEE"
TITLE = "Listing CPTS ARS PACA – état au 1er octobre 2025"


@pytest.fixture(scope="module")
def content(sample_listing) -> pd.DataFrame:
    """The sample's rows whose code is current and listed once, with the reference's accented
    commune names and made-up values for each reader (APL, population, ETP, IRDES class)."""
    raw = pd.read_csv(sample_listing, dtype=str)
    ref = cg.load_communes().set_index("code")
    raw = raw[raw["code_insee"].isin(ref.index)].drop_duplicates("code_insee").reset_index(drop=True)
    names = ref.loc[raw["code_insee"], "nom"].to_numpy()
    k = np.arange(len(raw))
    df = pd.DataFrame({
        CODE: raw["code_insee"],
        "Commune": names,
        "CPTS": raw["cpts"],
        "APL aux médecins généralistes": [f"{1 + (i % 40) / 10:.1f}".replace(".", ",") for i in k],
        "Population municipale": [str(100 + 7 * i) for i in k],
        "ETP": [str(i % 5) for i in k],
        "CLASSE": [str(1 + i % 7) for i in k],
    })
    # every name survives Windows-1252 (French letters all exist in it) and has accents to lose
    assert all(n.encode("cp1252").decode("cp1252") == n for n in df["Commune"])
    assert df["Commune"].str.contains("[éèêàçôîÉ]").sum() > 50
    assert df["CPTS"].str.contains("[éèç]").any()
    return df


@pytest.fixture(scope="module")
def files(content, tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("encodings")
    text = content.to_csv(sep=";", index=False, lineterminator="\r\n")
    out = {}
    for enc in ENCODINGS:
        p = d / f"liste_{enc}.csv"
        p.write_bytes(text.encode(enc))
        out[enc] = p
    assert out["utf-8-sig"].read_bytes().startswith(codecs.BOM_UTF8)
    assert not out["utf-8"].read_bytes().startswith(codecs.BOM_UTF8)
    assert b"\xe9" in out["cp1252"].read_bytes()  # é as one byte: not UTF-8
    # the ARS way: title lines above the header, codes as text, a second sheet
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Liste"
    ws.append([TITLE])
    ws.append([])
    ws.append(list(content.columns))
    for row in content.itertuples(index=False):
        ws.append(list(row))
    wb.create_sheet("Notes").append(["Document de travail"])
    out["xlsx"] = d / "liste_ars.xlsx"
    wb.save(out["xlsx"])
    return out


READERS = {
    "read_members": lambda p: cg.read_members(p),
    "read_proposal": lambda p: read_proposal(p, name="CPTS du Gapençais").report,
    "read_irdes_typology": lambda p: cg.read_irdes_typology(p, "irdes_com_2025", cog_year=2026),
    "read_supply": lambda p: cg.read_supply(p, "ETP", code_col=CODE),
    "commune_population": lambda p: cg.commune_population(p, code_col=CODE),
    "read_apl": lambda p: cg.read_apl(p, cog=2026),
    "normalise --file": lambda p: pd.Series(read_values(p, CODE)),
}


def _same(a, b) -> None:
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))
    else:
        pd.testing.assert_series_equal(a, b)


@pytest.mark.parametrize("reader", list(READERS))
def test_every_reader_reads_every_encoding_identically(reader, files, content):
    read = READERS[reader]
    results = {enc: read(files[enc]) for enc in ENCODINGS}
    for enc in ENCODINGS[1:]:
        _same(results["utf-8"], results[enc])
    out = results["cp1252"]
    # accents kept and values read, checked against the content written
    if reader == "read_members":
        assert set(out["cpts"]) == set(content["CPTS"])
        assert list(out["source_row"][:3]) == [2, 3, 4]
        assert set(out["code"]) == set(content[CODE])
    elif reader == "read_proposal":
        assert list(out["input"]) == list(content.loc[content["CPTS"] == "CPTS du Gapençais", CODE])
    elif reader == "read_irdes_typology":
        first = content.iloc[0]
        assert out.set_index("code").loc[first[CODE], "classe"] == int(first["CLASSE"])
    elif reader == "read_supply":
        assert out.sum() == pytest.approx(sum(int(x) for x in content["ETP"]))
    elif reader == "commune_population":
        assert out.loc[content[CODE].iloc[3]] == 100 + 7 * 3
    elif reader == "read_apl":
        assert list(out["commune"]) == list(content["Commune"])  # Saint-Étienne…, not Saint-Ã‰tienne
        assert out["apl"].iloc[12] == pytest.approx(1 + 12 / 10)
    else:
        assert list(out) == list(content[CODE])


@pytest.mark.parametrize("reader", ["read_members", "read_irdes_typology", "read_supply", "commune_population",
                                    "read_apl", "normalise --file"])
def test_title_lines_above_the_header_of_a_workbook(reader, files):
    read = READERS[reader]
    csv, xlsx = read(files["utf-8"]), read(files["xlsx"])
    if isinstance(csv, pd.DataFrame) and "source_row" in csv.columns:
        # the same rows two lines further down: title line and blank line above the header
        assert (xlsx["source_row"].to_numpy() == csv["source_row"].to_numpy() + 2).all()
        csv, xlsx = csv.drop(columns="source_row"), xlsx.drop(columns="source_row")
    _same(csv, xlsx)


def test_title_row_header_detection_and_override(files, content):
    df = read_table(files["xlsx"])
    assert df.attrs["header_row"] == 3 and df.attrs["sheet"] == "Liste"
    assert list(df.columns) == list(content.columns)
    assert df.attrs["rows"][:2] == [4, 5]  # file rows: title, blank line, header, then data
    assert df[CODE].iloc[0] == content[CODE].iloc[0]  # text: leading zero kept
    m = cg.read_members(files["xlsx"])
    assert m.attrs["sheet"] == "Liste" and m["source_row"].iloc[0] == 4
    forced = cg.read_members(files["xlsx"], header_row=3)
    _same(m, forced)
    with pytest.raises(MembersError, match="introuvable.*colonnes trouvées : " + TITLE[:12]):
        cg.read_members(files["xlsx"], header_row=1)
    sheets = read_sheets(files["xlsx"])
    assert list(sheets) == ["Liste", "Notes"] and len(sheets["Liste"]) == len(content)
    assert list_sheets(files["xlsx"]) == ["Liste", "Notes"]


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bad")
    out = {
        "missing_column": d / "colonnes.csv",
        "empty": d / "vide.csv",
        "garbage": d / "binaire.csv",
        "directory": d / "dossier.csv",
        "absent": d / "absent.csv",
        "bad_excel": d / "abime.xlsx",
    }
    out["missing_column"].write_text("foo;bar\nx;y\n", encoding="utf-8")
    out["empty"].write_bytes(b"")
    out["garbage"].write_bytes(bytes(range(256)) * 8)
    out["directory"].mkdir()
    out["bad_excel"].write_bytes(b"PK\x03\x04 pas un classeur")
    return out


@pytest.mark.parametrize("reader", list(READERS))
@pytest.mark.parametrize("bad", ["missing_column", "empty", "garbage", "directory", "absent", "bad_excel"])
def test_same_bad_file_same_error_from_every_reader(reader, bad, bad_files):
    path = bad_files[bad]
    with pytest.raises(InputError) as err:
        READERS[reader](path)
    assert path.name in str(err.value)
    assert isinstance(err.value, ValueError)


def test_error_messages_are_specific(bad_files):
    def msg(path):
        with pytest.raises(InputError) as err:
            read_table(path)
        return str(err.value)

    assert msg(bad_files["absent"]).endswith("absent.csv : fichier introuvable")
    assert msg(bad_files["empty"]) == "vide.csv : fichier vide"
    assert "encodage illisible" in msg(bad_files["garbage"])
    assert "dossier" in msg(bad_files["directory"])
    assert "classeur Excel illisible" in msg(bad_files["bad_excel"])
    assert "ce n'est pas un classeur valide" in msg(bad_files["bad_excel"])
    torn = bad_files["empty"].with_name("guillemets.csv")
    torn.write_text('cpts;code\nCPTS A;"' + "x" * 200_000 + "\n", encoding="utf-8")
    assert msg(torn).startswith("guillemets.csv, ligne 2 : fichier CSV mal formé (guillemets non refermés ou "
                                "cellule démesurée) : cellule de plus de")
    with pytest.raises(InputError, match="colonne « code » absente ; colonnes trouvées : foo, bar"):
        cg.read_supply(bad_files["missing_column"], "etp")


def test_clean_code_and_column_matching():
    assert [clean_code(v) for v in (1001, 1001.0, "1001.0", " 04001 ", "2a004", "2B033", "123", None, "")] == [
        "01001", "01001", "01001", "04001", "2A004", "2B033", "123", None, None]
    assert clean_code("Saint-Étienne-les-Orgues") == "Saint-Étienne-les-Orgues"
    assert column_key("  Code_INSÉE ") == column_key("code insee") == column_key("CODE-insee") == "code insee"
    cols = ["Nom de la CPTS", "Code INSEE", "Étape"]
    assert find_column(cols, ["etape", "stage"]) == "Étape"
    assert find_column(cols, ["code insee"]) == "Code INSEE"
    assert find_column(cols, ["classe"]) is None
    assert find_column(["CLASSE_TYPO"], ["classe"], partial=True) == "CLASSE_TYPO"
    with pytest.raises(InputError, match="colonne « nope » absente ; colonnes trouvées : Nom de la CPTS, Code INSEE"):
        find_column(cols, given="nope", source="x.csv")


def test_separators_and_headerless_list(tmp_path):
    for sep in (";", ",", "\t", "|"):
        p = tmp_path / "t.csv"
        p.write_text(f"cpts{sep}code\nCPTS A, B et C{';' if sep != ';' else ','}x{sep}04001\n".replace(
            "CPTS A, B et C;x", '"CPTS A, B et C;x"' if sep == "," else "CPTS A, B et C;x"), encoding="utf-8")
        df = read_table(p)
        assert list(df.columns) == ["cpts", "code"], sep
        assert df["code"].tolist() == ["04001"]
    # a one-column list without header: normalise keeps the first code (row 1)
    p = tmp_path / "codes.csv"
    p.write_text("04001\n4009\n\n05061\n", encoding="utf-8")
    assert read_values(p, None) == ["04001", "4009", "05061"]


def test_french_csv_round_trip(tmp_path):
    df = pd.DataFrame({
        "code": ["04001", "2A004", "05061"],
        "population": [1234.0, np.nan, 41293.0],  # whole numbers with a gap: float in pandas
        "apl": [2.5, 0.1 + 0.2, 4.0],
        "nom": ["Aiglun", "Ajaccio", "Gap"],
    })
    p = tmp_path / "fr.csv"
    write_csv(df, p)
    raw = p.read_bytes()
    assert raw.startswith(codecs.BOM_UTF8)
    text = raw.decode("utf-8-sig")
    assert text.splitlines()[:2] == ["code;population;apl;nom", "04001;1234;2,5;Aiglun"]
    assert ".0" not in text
    back = pd.read_csv(p, sep=";", decimal=",", dtype={"code": str}, encoding="utf-8-sig")
    pd.testing.assert_frame_equal(back, df)
    q = tmp_path / "int.csv"
    write_csv(df, q, csv_format="international")
    assert not q.read_bytes().startswith(codecs.BOM_UTF8)
    pd.testing.assert_frame_equal(pd.read_csv(q, dtype={"code": str}), df)
    # and the French file reads back through the library's own reader
    s = cg.read_supply(p, "apl", cog=2026)
    assert s["05061"] == 4.0
    with pytest.raises(cg.OptionError, match="paramètre `csv_format`"):
        write_csv(df, q, csv_format="excel")


def test_workbook_sheet_formats(tmp_path):
    df = pd.DataFrame({"CPTS": ["CPTS du Gapençais"], "Population": [41293], "Part couverte": [0.873],
                       "Surface": [110.46]})
    p = tmp_path / "classeur.xlsx"
    write_workbook(p, {"Périmètres": df}, formats={"Périmètres": {"Part couverte": "percent", "Surface": "km2"}})
    ws = openpyxl.load_workbook(p)["Périmètres"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:D2"
    assert ws["B2"].number_format == "#,##0" and ws["C2"].number_format == "0.0\"\u00a0\"%"
    assert ws["D2"].number_format == '#,##0.0" km²"'
    assert ws.column_dimensions["A"].width >= len("CPTS du Gapençais")


def test_every_listing_sheet_is_read(content, tmp_path):
    """One listing sheet per department (the ARS way): every sheet is read, and said so (the
    sample's rows of 06, 13 and 83 included: three of its CPTS reach there)."""
    wb = openpyxl.Workbook()
    wb.active.title = "Lisez-moi"
    wb.active.append(["Liste transmise par l'ARS"])
    deps = content[CODE].str[:2]
    sheets = [f"Dép. {d}" for d in sorted(deps.unique())]
    assert sheets == ["Dép. 04", "Dép. 05", "Dép. 06", "Dép. 13", "Dép. 83", "Dép. 84"]
    for dep in sorted(deps.unique()):
        ws = wb.create_sheet(f"Dép. {dep}")
        ws.append([TITLE])
        ws.append(["CPTS", "Code INSEE"] if dep != "84" else ["Nom de la CPTS", "codgeo"])  # other names
        for row in content[deps == dep].itertuples(index=False):
            ws.append([row[2], row[0]])
    ws.append(["CPTS du Grand Avignon", "99999"])  # refused: its sheet and row are given
    p = tmp_path / "par_departement.xlsx"
    wb.save(p)
    m = cg.read_members(p)
    assert m.attrs["sheets"] == sheets
    assert set(m["code"]) == set(content[CODE]) and m["cpts"].nunique() == content["CPTS"].nunique()
    ref = m.attrs["refused"]
    n84 = int((deps == "84").sum())
    assert ref[["sheet", "source_row", "input"]].values.tolist() == [["Dép. 84", 2 + n84 + 1, "99999"]]


def test_row_numbers_survive_blank_lines(tmp_path):
    p = tmp_path / "trous.csv"
    p.write_text("cpts;code\n\nCPTS A;04001\n;\n\nCPTS A;04999\n", encoding="utf-8")
    m = cg.read_members(p)
    assert m.attrs["refused"]["source_row"].tolist() == [6]  # the file's line, blank lines counted
    assert m["source_row"].tolist() == [3]
    assert m.attrs["blank_rows"] == 3


def test_ignored_columns_are_said(tmp_path):
    p = tmp_path / "liste.json"
    p.write_text('[{"cpts": "CPTS Marseille Centre", "communes": ["13055"], "arrondissements": ["13201"],'
                 ' "contact": "secretariat", "commentaire": ""}]', encoding="utf-8")
    m = cg.read_members(p)
    assert m["code"].tolist() == ["13201"]  # the arrondissements key is read (the CPTS covers 13201 only)
    assert m.attrs["ignored_columns"] == ["contact"]  # an empty key is not worth a word


def test_text_list_of_names_in_cp1252(tmp_path):
    names = ["Saint-Étienne-les-Orgues", "Forcalquier", "Manosque"]
    out = []
    for enc in ("utf-8", "cp1252"):
        p = tmp_path / f"noms_{enc}.txt"
        p.write_bytes("\n".join(names).encode(enc))
        out.append(read_proposal(p).report[["input", "code"]])
    _same(*out)
    assert out[1]["input"].tolist() == names and out[1]["code"].tolist() == ["04178", "04088", "04112"]


def test_excel_separator_line(tmp_path):
    p = tmp_path / "excel.csv"
    p.write_text("sep=,\ncpts,code\nCPTS A,04001\n", encoding="utf-8")
    df = read_table(p, hints=["cpts"])
    assert list(df.columns) == ["cpts", "code"] and df.attrs["rows"] == [3]


def test_a_json_file_nested_by_the_thousand_is_refused_naming_the_file(tmp_path, capsys):
    from cpts_geo.cli import main
    from cpts_geo.io.tables import read_json

    deep = tmp_path / "liste.json"
    deep.write_bytes(b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(MembersError, match=r"liste\.json : JSON trop imbriqué"):
        read_json(deep, error=MembersError)
    assert main(["validate", str(deep)]) == 2  # was exit 3, a RecursionError
    assert "liste.json : JSON trop imbriqué" in capsys.readouterr().err
