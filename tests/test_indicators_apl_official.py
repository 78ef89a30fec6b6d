"""Official DREES APL: reader on fixtures in the published layout, attach, flags, CPTS aggregation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

import cpts_geo as cg

FIX = Path(__file__).parent / "fixtures" / "apl"
XLSX = FIX / "apl_medecins_generalistes.xlsx"
CSV = FIX / "apl_medecins_generalistes_2022.csv"


@pytest.fixture(scope="module")
def apl2022():
    return cg.read_apl(XLSX)


@pytest.fixture(scope="module")
def attached(apl2022):
    return cg.attach_apl(apl2022).set_index("code")


@pytest.fixture(scope="module")
def members(sample_listing):
    listing = pd.read_csv(sample_listing, dtype=str)
    norm = cg.normalise_codes(listing["code_insee"])
    return pd.DataFrame({"cpts": listing["cpts"], "code": norm["code"]})


def test_reader_locates_header_and_reads_latest_sheet(apl2022):
    a = apl2022.attrs
    assert a["sheet"] == "APL 2022" and a["apl_year"] == 2022
    assert a["header_row"] == 5 and a["cog"] == 2023  # "Géographie communale au 1er janvier 2023"
    assert "habitant standardisé" in a["units"]["APL aux médecins généralistes"]
    assert [r["row"] for r in a["skipped_rows"]] == [a["header_row"] + 2 + len(apl2022) + 1]
    assert list(apl2022.columns[:6]) == ["code", "commune", "apl", "apl_65", "population_standardisee", "population"]
    row = apl2022.set_index("code").loc["19230"]
    assert (row["apl"], row["apl_65"], row["population"]) == (3.0, 2.0, 300)
    assert "01001" in set(apl2022["code"])  # the number 1001 written by Excel, zero-padded
    # every data row of the sheet is read (counted here straight from the workbook)
    ws = openpyxl.load_workbook(XLSX, read_only=True)["APL 2022"]
    n = sum(1 for r in ws.iter_rows(min_row=7, values_only=True) if r and r[0] is not None and r[2] is not None)
    assert len(apl2022) == n


def test_other_sheet_csv_and_errors(apl2022, tmp_path):
    old = cg.read_apl(XLSX, year=2021)
    assert old.attrs["header_row"] == 3 and old.attrs["cog"] == 2022
    assert (old["apl"] == 1.0).all() and len(old) == 10
    with pytest.raises(ValueError, match="APL 2019.*APL 2022"):
        cg.read_apl(XLSX, year=2019)
    csv = cg.read_apl(CSV, cog=2023)
    assert csv.attrs["cog"] == 2023
    cols = ["code", "apl", "apl_65", "population_standardisee", "population"]
    pd.testing.assert_frame_equal(csv[cols].reset_index(drop=True), apl2022[cols].reset_index(drop=True))
    with pytest.raises(ValueError, match=r"apl_bad_value\.csv, ligne 3.*'abc'"):
        cg.read_apl(FIX / "apl_bad_value.csv")
    noheader = tmp_path / "autre.csv"
    noheader.write_text("commune;valeur\n04001;2\n")
    with pytest.raises(ValueError, match="Code commune INSEE"):
        cg.read_apl(noheader)
    with pytest.raises(ValueError, match="COG"):
        cg.attach_apl(cg.read_apl(CSV))  # no title line stating the geography, no cog given


def test_flags_on_boundaries():
    flags = cg.apl_flag([2.49, 2.5, 3.99, 4.0, np.nan])
    assert list(flags) == ["APL < 2,5", "2,5 ≤ APL < 4", "2,5 ≤ APL < 4", "APL ≥ 4", "APL non disponible"]


def test_attach_converts_cog_and_handles_cities(attached):
    # fusion of 19223 (APL 2, pop 100), 19230 (3, 300), 19248 (5, 600): population-weighted mean
    assert attached.loc["19248", "apl"] == pytest.approx((2 * 100 + 3 * 300 + 5 * 600) / 1000)
    assert attached.loc["19248", "apl_65"] == pytest.approx((1.5 * 100 + 2 * 300 + 4 * 600) / 1000)
    assert attached.loc["19248", "apl_status"].startswith("converti : fusion de 19223, 19230")
    assert "19223" not in attached.index
    # split of 15141 in 2025: every part keeps the former value
    for code in ("15031", "15035", "15047", "15141", "15171"):
        assert attached.loc[code, "apl"] == pytest.approx(3.3, rel=1e-12)
        assert attached.loc[code, "apl_status"] == "converti : scission de 15141"
    assert attached.loc["01001", "apl_flag"] == "2,5 ≤ APL < 4"
    assert attached.loc["05061", "apl_flag"] == "APL ≥ 4"
    # Paris listed by arrondissement only: the city is their population-weighted mean
    k = np.arange(20)
    assert attached.loc["75056", "apl"] == pytest.approx(np.average(3.0 + k / 10, weights=k + 1))
    assert attached.loc["75056", "apl_status"] == "moyenne pondérée des arrondissements"
    # units absent from the file stay, visibly
    assert np.isnan(attached.loc["97608", "apl"]) and attached.loc["97608", "apl_status"] == "absent du fichier"
    assert attached.loc["97608", "apl_flag"] == "APL non disponible"
    assert len(attached) == len(cg.load_communes())
    assert attached.attrs["converted_from_cog"] == 2023 and attached.attrs["apl_year"] == 2022


def test_city_value_spread_to_arrondissements(tmp_path):
    f = tmp_path / "lyon.csv"
    f.write_text("Code commune INSEE;APL aux médecins généralistes;Population totale\n69123;3,6;500000\n")
    out = cg.attach_apl(cg.read_apl(f, cog=2026)).set_index("code")
    assert out.loc["69381", "apl"] == 3.6 and out.loc["69381", "apl_status"] == "valeur de la ville entière"
    arr = out.loc[[f"6938{i}" for i in range(1, 10)], "population_apl"]
    assert arr.sum() == pytest.approx(500000)


def test_unknown_code_warns(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("Code commune INSEE;APL aux médecins généralistes\n04001;2\n04999;3\n")
    with pytest.warns(UserWarning, match="04999"):
        out = cg.attach_apl(cg.read_apl(f, cog=2023))
    assert out.attrs["refused"] == ["04999"]


def test_aggregate_to_real_sample_cpts(attached, members):
    values, weights = attached["apl"], attached["population_apl"]
    agg = cg.aggregate_apl(members, values, weights).set_index("cpts")
    assert len(agg) == members["cpts"].nunique() == 21
    # hand computation for one CPTS of the listing
    name = "Drôme Provençale Enclave des Papes"
    num = den = 0.0
    for code in members.loc[members["cpts"] == name, "code"]:
        num += values[code] * weights[code]
        den += weights[code]
    assert agg.loc[name, "apl"] == pytest.approx(num / den)
    assert agg.loc[name, "n_units"] == 4 and agg.loc[name, "n_missing"] == 0
    assert str(agg.loc[name, "apl_flag"]) == str(cg.apl_flag([num / den])[0])
    assert "pondérée par la population" in agg.attrs["aggregation"]


def test_aggregate_lists_missing_and_counts_shared_units():
    members = pd.DataFrame({"cpts": ["A", "A", "A", "B", "B"], "code": ["04070", "04112", "04999", "04112", "04112"]})
    values = pd.Series({"04070": 2.0, "04112": 4.0})
    weights = pd.Series({"04070": 100.0, "04112": 300.0})
    agg = cg.aggregate_apl(members, values, weights).set_index("cpts")
    assert agg.loc["A", "apl"] == pytest.approx((2 * 100 + 4 * 300) / 400)
    assert agg.loc["A", "missing_codes"] == ("04999",) and agg.loc["A", "n_missing"] == 1
    assert agg.loc["B", "apl"] == 4.0 and agg.loc["B", "n_units"] == 1  # duplicate row counted once
    assert agg.loc["A", "apl_flag"] == "2,5 ≤ APL < 4" and agg.loc["B", "apl_flag"] == "APL ≥ 4"
    with pytest.raises(ValueError, match="cpts"):
        cg.aggregate_apl(pd.DataFrame({"code": ["04070"]}), values)


def test_official_apl_by_cpts(members):
    per_unit, per_cpts = cg.official_apl_by_cpts(members, XLSX)
    assert len(per_cpts) == 21
    # the fixture lists the communes of 04, 05 and 84 only: the three CPTS reaching into 06, 13
    # and 83 get no APL and name their missing communes, never an APL of part of their communes
    outside = members.groupby("cpts")["code"].agg(lambda c: sorted(x for x in set(c) if x[:2] not in ("04", "05", "84")))
    reaching = sorted(outside[outside.map(len) > 0].index)
    assert reaching == ["CPTS H3VE", "CPTS Hauts pays du Verdon et Monts d'Azur", "CPTS Val Durance"]
    p = per_cpts.set_index("cpts")
    assert p.drop(index=reaching)["apl"].notna().all() and p.loc[reaching, "apl"].isna().all()
    for name in reaching:
        assert set(outside[name]) <= set(p.at[name, "missing_codes"])
    assert per_cpts.attrs["apl_year"] == 2022 and per_cpts.attrs["source"] == XLSX.name
    assert set(per_unit.columns) >= {"code", "apl", "apl_flag", "apl_status", "population_apl"}


# ------------------------------------------------------------------------------------------
# The DREES APL and the estimate computed by cpts_geo are kept apart
# ------------------------------------------------------------------------------------------

TRIO = ["04088", "04111", "04138"]  # Forcalquier, Mane, Niozelles


@pytest.fixture(scope="module")
def estimate_files(sample_listing, tmp_path_factory):
    """The per-commune and per-CPTS estimate files ``cpts-geo apl --listing`` writes."""
    from cpts_geo.cli import main

    out = tmp_path_factory.mktemp("estimate") / "apl.csv"
    assert main(["apl", "--out", str(out), "--listing", str(sample_listing)]) == 0
    return out, out.with_name("apl_cpts.csv")


@pytest.mark.parametrize("per", [1.0, 100_000])
def test_the_computed_estimate_is_refused_where_the_drees_apl_is_expected(per):
    est = cg.compute_apl(per=per)
    assert est.attrs["indicator"] in cg.indicators.apl_official.ESTIMATE_KINDS
    with pytest.raises(cg.OptionError, match="^paramètre `apl` : estimation"):
        cg.attach_apl(est.rename_axis("code").reset_index())
    with pytest.raises(cg.OptionError, match=r"^paramètre `apl` : estimation de type APL calculée par cpts_geo"):
        cg.validate_territory(TRIO, apl=est)
    # arithmetic keeps the kind; a renamed copy is still refused
    with pytest.raises(cg.OptionError, match="pas l'APL publiée par la DREES"):
        cg.validate_territory(TRIO, apl=(est * 2).rename("apl"))


def test_the_drees_classes_are_never_given_to_an_estimate(members):
    est = cg.compute_apl()
    agg = cg.aggregate_apl(members, est)
    assert "apl_flag" not in agg.columns and agg["apl"].notna().all()
    official = cg.attach_apl(cg.read_apl(XLSX)).set_index("code")["apl"]
    official.attrs = {"indicator": "apl_drees"}
    assert "apl_flag" in cg.aggregate_apl(members, official).columns


def test_a_series_of_unknown_kind_is_refused_and_a_declared_drees_series_is_read_with_its_unit(attached):
    plain = attached["apl"].copy()
    plain.attrs = {}
    with pytest.raises(cg.OptionError, match="paramètre `apl` : série d'APL dont la nature n'est pas connue"):
        cg.validate_territory(TRIO, apl=plain)
    plain.attrs = {"indicator": "apl_drees", "source": XLSX.name, "apl_year": 2022}
    check = next(c for c in cg.validate_territory(TRIO, apl=plain).checks if c.id == "apl_profile")
    assert "consultations par an et par habitant (standardisé)" in check.message
    assert "inférieur à 2,5" in check.message and check.details["unit"].startswith("consultations")
    # the table of read_apl carries its kind and is accepted as it is
    frame = next(c for c in cg.validate_territory(TRIO, apl=cg.read_apl(XLSX)).checks if c.id == "apl_profile")
    assert frame.details["apl_mean"] == pytest.approx(check.details["apl_mean"])


def test_estimate_files_are_refused_by_every_drees_entry(estimate_files, sample_listing, tmp_path, capsys):
    from cpts_geo.app import create_app
    from cpts_geo.cli import main

    per_commune, per_cpts = estimate_files
    for path in (per_commune, per_cpts):
        with pytest.raises(cg.OptionError, match="^paramètre `apl` : estimation"):
            cg.validate_territory(TRIO, apl=path)
        with pytest.raises(cg.OptionError, match="^paramètre `apl` : estimation"):
            cg.diagnose(cg.read_members(sample_listing)).write(tmp_path / "api", apl=path, maps=False)
        with pytest.raises(cg.OptionError, match="^paramètre `apl` : estimation"):
            create_app(existing=sample_listing, apl=path)
        # read directly, the file is named; the other entries name their parameter
        with pytest.raises(cg.InputError, match=f"^{path.name} : estimation de type APL"):
            cg.read_apl(path)
        with pytest.raises(cg.OptionError, match="^paramètre `path` : estimation"):
            cg.official_apl_by_cpts(cg.read_members(sample_listing), path)
    assert not (tmp_path / "api").exists()
    for argv in (["coverage", str(sample_listing), "--apl", str(per_cpts), "--no-maps"],
                 ["validate", ",".join(TRIO), "--existing", str(sample_listing), "--apl", str(per_commune)]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "option --apl : estimation de type APL calculée par cpts_geo" in err and "--apl-estimee" in err
        assert "Traceback" not in err


def test_the_estimate_shown_with_apl_estimee_has_its_own_unit_and_no_drees_threshold(estimate_files,
                                                                                        sample_listing, capsys):
    from cpts_geo.cli import main

    _, per_cpts = estimate_files
    capsys.readouterr()
    assert main(["coverage", str(sample_listing), "--apl-estimee", str(per_cpts)]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "APL estimée" in x)
    assert "unité : nombre de médecins généralistes accessibles pour 100\u202f000 habitants" in line
    assert "pas l'APL de la DREES" in line
    assert "consultations" not in line and "2,5" not in line and "sous" not in line
