"""Normalisation of codes and names, and conversion of tables between COG years (real data)."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cpts_geo
from cpts_geo import codes as codes_mod
from cpts_geo import reference

SHARED = reference.data_dir().parent.parent / "shared" / "data"
# tables of older COG years come from the developers' shared data (present in CI, not on a
# user's machine): the two conversion tests on them are skipped where it is absent
needs_shared = pytest.mark.skipif(not SHARED.exists(), reason="../shared/data (developer data) not present")


def one(value, dep=None) -> pd.Series:
    out = cpts_geo.normalise_codes([value], None if dep is None else [dep])
    assert len(out) == 1
    return out.iloc[0]


def test_current_and_corsica():
    assert one("01001")[["code", "status"]].tolist() == ["01001", "current"]
    assert one("2A004")[["code", "status"]].tolist() == ["2A004", "current"]
    assert one("2b033")["code"] == "2B033"
    assert one(" 97411 ")["code"] == "97411"


def test_fusion_converted():
    r = one("05120")  # Ristolas, merged into Abriès-Ristolas on 2019-01-01
    assert r["status"] == "converted" and r["code"] == "05001"
    assert "Ristolas" in r["message"] and "Abriès-Ristolas" in r["message"]


def test_chain_of_changes():
    # Arlod merged into Bellegarde-sur-Valserine (01033) in 1971, itself merged into Valserhône
    assert one("01018")["code"] == "01033"


def test_2025_fusion_from_decoupage_administratif():
    # Longraye (14376) → Aurseulles, whose code became 14581 in 2025
    r = one("14376")
    assert r["status"] == "converted" and r["code"] == "14581"


@pytest.mark.parametrize(("old", "new", "name"), [("97123", "97701", "Saint-Barthélemy"),
                                                   ("97127", "97801", "Saint-Martin")])
def test_the_2007_overseas_collectivities_are_converted_from_their_guadeloupe_codes(old, new, name):
    r = one(old)
    assert r["status"] == "converted" and r["code"] == new
    assert r["message"].startswith(f"code {old} ({name}) n'existe plus depuis le 1er janvier 2008 : "
                                   f"remplacé par {new} ({name})")
    # a listing of the COG 2007 reads them too
    assert cpts_geo.normalise_codes([old], cog_year=2007)["code"].iloc[0] == new


def test_every_change_since_cog_2024_names_its_exact_effective_date():
    steps = reference.load_steps()
    recent = steps[steps["cog_from"] == 2024]
    # merges and the Cantal split: 1 January 2025; four changes of code known within a window
    assert set(recent.loc[recent["kind"] != "change", "date"]) == {"2025-01-01"}
    assert set(recent.loc[recent["kind"] == "change", "code_old"]) == {"12076", "14011", "49069", "69159"}
    assert set(recent.loc[recent["kind"] == "change", "date"]) == {"2024-01-02/2025-01-01"}
    assert not steps["date"].isin(["2025/2026"]).any()
    assert one("93059")["message"] == ("code 93059 (Pierrefitte-sur-Seine) n'existe plus depuis le "
                                       "1er janvier 2025 : remplacé par 93066 (Saint-Denis)")
    assert one("12076")["message"].startswith("code 12076 (Conques-en-Rouergue) n'existe plus depuis le "
                                              "1er janvier 2025 au plus tard : remplacé par 12218")
    split = one("15141")["message"]
    assert "a été scindé le 1er janvier 2025 entre 15141 (Neussargues-Moissac), 15031 (Celles)" in split
    for code in ("93059", "12076", "15141", "14376"):
        assert "ou le 1er janvier 2026" not in one(code)["message"] and "(COG 2026)" not in one(code)["message"]


@pytest.mark.parametrize(("code", "name"), [("20004", "Ajaccio"), ("55227", "Han-devant-Pierrepont"),
                                            ("14376", "Longraye")])
def test_former_codes_are_printed_with_their_name_never_with_the_code_again(code, name):
    message = one(code)["message"]
    assert message.startswith(f"code {code} ({name}) n'existe plus depuis ")
    # a code whose name no table knows is printed alone, not as « 01341 (01341) »
    assert one("01341")["message"].startswith("code 01341 n'existe plus depuis le 1er janvier 2019")


@pytest.mark.parametrize("value", [1001, "1001", 1001.0, "1001.0"])
def test_zero_padded(value):
    r = one(value)
    assert r["status"] == "zero_padded" and r["code"] == "01001"


def test_arrondissement():
    r = one("13201")
    assert r["status"] == "arrondissement" and r["code"] == "13201"
    assert "Marseille" in r["message"]


def test_split_is_ambiguous_with_shares():
    r = one("15062")  # Drignac, split between Ally and Brageac
    assert r["status"] == "ambiguous" and r["code"] is None
    cands = {c["code"]: c["share"] for c in r["candidates"]}
    assert set(cands) == {"15003", "15024"}
    assert sum(cands.values()) == pytest.approx(1.0)


def test_unknown_with_suggestions_in_same_department():
    r = one("04999")
    assert r["status"] == "unknown" and r["code"] is None
    assert r["candidates"] and all(c["code"].startswith("04") for c in r["candidates"])


def test_postal_code_hint():
    r = one("84300")  # postal code of Cavaillon, never an INSEE code
    assert r["status"] == "unknown"
    assert any(c["why"] == "code postal" and c["nom"] == "Cavaillon" for c in r["candidates"])
    r = one("04100")  # INSEE code of the former Larche and postal code of Manosque
    assert r["status"] == "converted" and "Manosque" in r["message"]


@pytest.mark.parametrize(
    ("text", "dep", "code"),
    [
        ("Forcalquier (04)", None, "04088"),
        ("St-Etienne-les-Orgues", None, "04178"),
        ("saint etienne les orgues", "04", "04178"),
        ("Abergement Clemenciat", None, "01001"),
        ("L'ABERGEMENT-CLÉMENCIAT", "1", "01001"),
        ("Drain", "49", "49126"),  # commune déléguée of Orée d'Anjou
        ("Ristolas", "05", "05001"),  # former commune
    ],
)
def test_names(text, dep, code):
    r = one(text, dep)
    assert r["code"] == code, r["message"]
    assert r["status"] == "name"


def test_ambiguous_and_unknown_names():
    r = one("Saint-Martin")
    assert r["status"] == "ambiguous" and len(r["candidates"]) == 5  # 32, 54, 65, 67, 978
    assert one("Saint-Martin", "32")["code"] == "32389"
    r = one("Forcalquer (04)")
    assert r["status"] == "unknown"
    assert "04088" in [c["code"] for c in r["candidates"]]


def test_empty_and_garbage():
    assert one(None)["status"] == "empty"
    assert one("")["status"] == "empty"
    assert one(float("nan"))["status"] == "empty"
    assert one("12")["status"] == "unknown"


def test_report_has_vintage():
    out = cpts_geo.normalise_codes(["01001"])
    assert out.attrs["cog"] == 2026
    assert list(out.columns) == ["input", "code", "status", "message", "candidates", "nom", "codes"]


_current_codes = cpts_geo.load_communes()["code"].tolist()
_history = reference.load_steps()["code_old"].unique().tolist()
_names = reference.load_names()["nom"].unique().tolist()
inputs = st.one_of(
    st.sampled_from(_current_codes),
    st.sampled_from(_history),
    st.sampled_from(_names),
    st.integers(min_value=0, max_value=99999),
    st.text(max_size=12),
    st.none(),
    st.floats(allow_nan=True, allow_infinity=False),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(inputs, max_size=25))
def test_normalisation_never_drops_an_input(values):
    out = cpts_geo.normalise_codes(values)
    assert len(out) == len(values)
    assert list(out["input"]) == values or all(
        (a is b) or (a == b) or (a != a and b != b) for a, b in zip(out["input"], values, strict=True)
    )
    assert set(out["status"]) <= set(codes_mod.STATUSES)
    kept = out["status"].isin(["current", "arrondissement", "zero_padded", "converted", "name"])
    assert out.loc[kept, "code"].notna().all()
    assert out.loc[~kept, "code"].isna().all()
    assert (out.loc[~kept, "message"].str.len() > 0).all()
    current = set(_current_codes)
    assert out.loc[kept, "code"].isin(current).all()


@needs_shared
def test_convert_table_preserves_totals_and_sums_fusions():
    pop = pd.read_csv(SHARED / "cogugaison" / "cog2024_communes_pop.csv", dtype={"CODGEO": str})
    out, rep = cpts_geo.convert_table(pop.rename(columns={"CODGEO": "code"}), 2024, value_cols=["POP"])
    assert rep["totals_in"]["POP"] == pytest.approx(rep["totals_out"]["POP"])
    assert not rep["unknown"]
    ref = cpts_geo.load_communes()
    assert set(out["code"]) == set(ref.loc[ref["kind"] == "commune", "code"])
    # Orée d'Anjou kept its land but took the code 49126 in 2025 (was 49069)
    assert rep["fusions"]["49126"] == ["49069"]
    # every 2025-2026 fusion target holds the sum of its 2024 predecessors
    fused = {k: v for k, v in rep["fusions"].items() if len(v) > 1}
    assert len(fused) >= 20
    src = pop.set_index("CODGEO")["POP"]
    got = out.set_index("code")["POP"]
    for new, olds in fused.items():
        assert got[new] == pytest.approx(src[olds].sum()), new
    # the 2025 défusion of Neussargues en Pinatelle splits 15141 by 2023 population
    parts = rep["splits"]["15141"]
    assert set(parts) == {"15141", "15031", "15035", "15047", "15171"}
    assert sum(parts.values()) == pytest.approx(1.0, abs=1e-5)


@needs_shared
def test_convert_table_from_older_year_keeps_totals():
    bpe = pd.read_csv(SHARED / "insee" / "equip-serv-medical-para-com-2021.csv", sep=";", dtype={"CODGEO": str})
    communes_only = bpe[~bpe["CODGEO"].isin(cpts_geo.load_communes(kinds=("arrondissement",))["code"])]
    out, rep = cpts_geo.convert_table(communes_only, 2022, code_col="CODGEO", value_cols=["NB_D201"])
    assert rep["totals_out"]["NB_D201"] == pytest.approx(rep["totals_in"]["NB_D201"])
    assert out["CODGEO"].is_unique


@needs_shared
def test_zonings_follow_the_most_populous_predecessor():
    """Density level (grid 2024) of communes merged since: the level of their most populous
    2024 part, including the commune that kept its code (Merdrignac absorbing Saint-Launeuc)."""
    grid = pd.read_csv(SHARED / "insee" / "grille_densite_7_niveaux_2024.csv", dtype=str).set_index("CODGEO")
    grid["PMUN21"] = grid["PMUN21"].astype(float)
    ref = cpts_geo.load_communes().set_index("code")
    tr = cpts_geo.transition(2024)
    fused = tr[tr["kinds"] == "fusion"].groupby("code")["origin"].apply(set)
    assert len(fused) >= 20
    for new, olds in fused.items():
        parts = grid.loc[sorted(olds | ({new} & set(grid.index)))]
        expected = int(parts.sort_values("PMUN21", ascending=False)["DENS"].iloc[0])
        assert ref.at[new, "dens7"] == expected, new
    assert ref.at["22147", "dens7"] == 5
