"""cpts_geo.io.tables, reading hygiene: one stray byte does not change a file's encoding, Unicode
is normalised and invisible characters removed, numeric cells become the codes they mean, hidden
sheets are not read but named, a password-protected workbook is named as such, a file in which
nothing is recognised is an error.

Every file is written here into tmp_path from real commune names and codes of the embedded
reference (04088 is Forcalquier, 04178 Saint-Étienne-les-Orgues).
"""

from __future__ import annotations

import io

import msoffcrypto.format.ooxml
import openpyxl
import pytest

import cpts_geo as cg
from cpts_geo.cli import main
from cpts_geo.errors import InputError, MembersError
from cpts_geo.io import clean_code, read_table
from cpts_geo.io.tables import decode_text

FORCALQUIER = "04088"
SAINT_ETIENNE = "04178"
CERESTE = "04045"


@pytest.fixture(scope="module")
def names(communes):
    ref = communes.set_index("code")["nom"]
    assert ref[SAINT_ETIENNE] == "Saint-Étienne-les-Orgues" and ref[FORCALQUIER] == "Forcalquier"
    return ref


def test_one_stray_latin1_byte_leaves_the_rest_of_a_utf8_file_in_utf8(tmp_path, names):
    raw = ("cpts;commune\n"
           f"CPTS Forcalquier;{names[SAINT_ETIENNE]}\n"
           f"CPTS Forcalquier;{names[FORCALQUIER]}\n").encode()
    raw += b"CPTS Forcalquier;Lurs\n" + b"CPTS Forcalquier;C\xe9reste-en-Luberon\n"  # é in Latin-1
    path = tmp_path / "melange.csv"
    path.write_bytes(raw)
    m = cg.read_members(path)
    assert set(m["code"]) == {SAINT_ETIENNE, FORCALQUIER, "04106", CERESTE}  # Lurs
    assert m.attrs["report"]["code"].notna().all()
    stray = m.attrs["stray_bytes"]
    assert [(s.line, s.byte, s.char) for s in stray] == [(5, 0xE9, "é")]
    assert ("fichier lu en UTF-8 ; 1 octet hors UTF-8 lu en Windows-1252 : ligne 5 : octet 0xE9 lu « é »"
            in m.attrs["notes"])


def test_a_file_wholly_in_windows_1252_is_still_read_as_windows_1252(names):
    text, enc, stray = decode_text(f"commune\n{names[SAINT_ETIENNE]}\nNiozelles\n".encode("cp1252"), "f.csv")
    assert enc == "cp1252" and stray == () and names[SAINT_ETIENNE] in text


def test_many_stray_bytes_are_counted_without_describing_each(names):
    utf8 = f"{names[SAINT_ETIENNE]}\n".encode() * 3
    text, enc, stray = decode_text(utf8 + b"C\xe9reste" * 5_000 + b"\n", "f.csv")
    assert enc == "utf-8" and len(stray) == 1_000 and text.count("Céreste") == 5_000
    # past 10,000 stray bytes the file is not « UTF-8 with a stray byte »: Windows-1252 as a whole
    text, enc, stray = decode_text(utf8 + b"C\xe9reste" * 20_000 + b"\n", "f.csv")
    assert enc == "cp1252" and stray == ()


@pytest.mark.parametrize("cell", [
    "4088", "4088.0", "4088,0", "4088,00", '="04088"', "4\u00a0088", "4\u202f088", "04088\u200b",
    "\u200b04088", "\ufeff04088", "０４０８８",
], ids=["int", "dot", "comma", "comma2", "excel-text", "nbsp", "narrow-nbsp", "zwsp-after", "zwsp-before",
        "bom", "fullwidth"])
def test_a_numeric_cell_is_read_as_the_code_it_means_without_spurious_codes(cell, tmp_path):
    assert clean_code(cell) == FORCALQUIER
    path = tmp_path / "codes.csv"
    path.write_text(f"cpts;code_insee\nCPTS Forcalquier;{cell}\nCPTS Forcalquier;04001\n", encoding="utf-8")
    m = cg.read_members(path)
    assert sorted(m["code"]) == ["04001", FORCALQUIER]
    assert len(m.attrs["report"]) == 2 and m.attrs["refused"].empty


def test_numeric_cells_of_a_workbook_and_of_a_frame_are_read_as_codes(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(["cpts", "code_insee"])
    for v in (4088, 4088.0, "4088,0", "4\u00a0088"):  # ="04088" would be written as a formula
        wb.active.append(["CPTS Forcalquier", v])
    wb.save(tmp_path / "codes.xlsx")
    m = cg.read_members(tmp_path / "codes.xlsx")
    assert m["code"].tolist() == [FORCALQUIER] and m.attrs["refused"].empty
    assert len(m.attrs["report"]) == 4
    import pandas as pd

    frame = pd.DataFrame({"cpts": ["A"] * 4, "code": [4088.0, "4088,0", "04088\u200b", "4\u00a0088"]})
    m = cg.read_members(frame)
    assert m["code"].tolist() == [FORCALQUIER] and m.attrs["refused"].empty


def test_cpts_names_equal_but_for_case_accents_and_spaces_are_one_cpts_and_the_merge_is_said(tmp_path):
    spellings = ["CPTS du Pays de Forcalquier", "CPTS du Pays de Forcalquier", "cpts du pays de forcalquier",
                 "CPTS  du Pays de Forcalquier\u00a0", "CPTS du Pays de Forcalquïer", "CPTS du Pays\u200b de Forcalquier",
                 "CPTS du Pays-de-Forcalquier"]
    codes = ["04088", "04106", "04137", "04174", "04001", "04004", "04006"]
    path = tmp_path / "noms.csv"
    path.write_text("cpts;code_insee\n" + "".join(f"{n};{c}\n" for n, c in zip(spellings, codes, strict=True))
                    + "CPTS Durance;04007\n", encoding="utf-8")
    m = cg.read_members(path)
    assert m.groupby("cpts")["code"].count().to_dict() == {"CPTS du Pays de Forcalquier": 7, "CPTS Durance": 1}
    merged = m.attrs["name_merges"]["CPTS du Pays de Forcalquier"]
    assert merged == ["CPTS du Pays de Forcalquier", "cpts du pays de forcalquier", "CPTS du Pays de Forcalquïer",
                      "CPTS du Pays-de-Forcalquier"]
    note = next(n for n in m.attrs["notes"] if n.startswith("CPTS « CPTS du Pays de Forcalquier »"))
    assert "écrite de 4 façons, lues comme une seule CPTS" in note and "« CPTS du Pays-de-Forcalquier »" in note
    # the summary of a diagnosis carries the note (« Lecture : … »)
    d = cg.diagnose(m)
    assert any("écrite de 4 façons" in n for n in d.summary["listing_notes"])


def test_a_hidden_sheet_is_not_read_and_is_named(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "liste 2026"
    wb.active.append(["cpts", "code_insee"])
    wb.active.append(["CPTS Forcalquier", FORCALQUIER])
    old = wb.create_sheet("ancienne liste")
    old.append(["cpts", "code_insee"])
    old.append(["CPTS Ancienne", "04001"])
    old.sheet_state = "hidden"
    wb.save(tmp_path / "masquee.xlsx")
    m = cg.read_members(tmp_path / "masquee.xlsx")
    assert m["cpts"].unique().tolist() == ["CPTS Forcalquier"]
    assert m.attrs["sheets_hidden"] == ["ancienne liste"]
    assert m.attrs["notes"][0] == "1 feuille lue : liste 2026 ; 1 feuille masquée non lue : ancienne liste (pour la lire : sheet=)"
    assert read_table(tmp_path / "masquee.xlsx").attrs["sheets_hidden"] == ["ancienne liste"]
    # asked for by name, it is read
    assert cg.read_members(tmp_path / "masquee.xlsx", sheet="ancienne liste")["cpts"].unique().tolist() == ["CPTS Ancienne"]
    # a workbook whose only listing is hidden is refused naming the sheet
    wb.active.sheet_state = "hidden"
    wb.active = 1
    wb["ancienne liste"].sheet_state = "visible"
    wb["ancienne liste"].delete_rows(1, 2)
    wb.save(tmp_path / "seule_masquee.xlsx")
    with pytest.raises(MembersError, match=r"feuilles masquées, non lues : liste 2026"):
        cg.read_members(tmp_path / "seule_masquee.xlsx")


def test_a_password_protected_workbook_is_named_as_such(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(["cpts", "code_insee"])
    wb.active.append(["CPTS Forcalquier", FORCALQUIER])
    plain = io.BytesIO()
    wb.save(plain)
    plain.seek(0)
    with open(tmp_path / "protege.xlsx", "wb") as out:
        msoffcrypto.format.ooxml.OOXMLFile(plain).encrypt("secret", out)
    with pytest.raises(InputError) as err:
        cg.read_members(tmp_path / "protege.xlsx")
    assert str(err.value) == ("protege.xlsx : classeur protégé par un mot de passe (chiffré) : cpts_geo ne peut pas "
                              "le lire ; l'ouvrir dans Excel ou LibreOffice et l'enregistrer sans mot de passe")
    assert "tronqué" not in str(err.value)


def test_normalise_on_a_file_where_nothing_is_recognised_exits_2(tmp_path, capsys):
    path = tmp_path / "rien.csv"
    path.write_text("commune\nAtlantide\nEldorado\n99999\n", encoding="utf-8")
    assert main(["normalise", "--file", str(path)]) == 2
    err = capsys.readouterr().err
    assert "rien.csv : aucune des 3 valeurs n'est un code INSEE ni un nom de commune reconnu" in err
    path.write_text("commune\nAtlantide\nForcalquier\n", encoding="utf-8")
    assert main(["normalise", "--file", str(path)]) == 0
