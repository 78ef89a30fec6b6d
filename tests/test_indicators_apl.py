"""compute_apl (2SFCA, DREES method), supply and estimated travel times, on real data."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from pyproj import Geod

import cpts_geo as cg
from cpts_geo.cli import main
from cpts_geo.indicators import apl as apl_mod
from cpts_geo.indicators import supply as sup
from cpts_geo.indicators import travel

STEPS = {10: 1, 15: 2 / 3, 20: 1 / 3}


@pytest.fixture(scope="module")
def france():
    return cg.compute_apl()


def test_step_weights_are_half_open():
    t = [0, 9.999, 10, 14.99, 15, 19.999, 20, 25]
    assert apl_mod.step_weights(t).tolist() == [1, 1, 2 / 3, 2 / 3, 1 / 3, 1 / 3, 0, 0]
    with pytest.raises(ValueError):
        apl_mod.step_weights([1.0], {0: 1})


def test_hand_computed_four_communes():
    # Digne (A), Manosque (B), Gap (C), Sisteron (D); supply only in A and C
    a, b, c, d = "04070", "04112", "05061", "04209"
    pop = pd.Series({a: 1000, b: 2000, c: 500, d: 1500})
    supply = pd.Series({a: 2, c: 1})
    times = {(a, b): 8, (a, c): 12, (b, c): 16, (a, d): 20, (b, d): 15, (c, d): 25}
    rows = [(x, y, m) for (x, y), m in times.items()] + [(y, x, m) for (x, y), m in times.items()]
    rows.append((a, a, 5))  # a commune to itself is 0 minutes whatever the table says
    tt = pd.DataFrame(rows, columns=["from", "to", "minutes"])
    out = cg.compute_apl(supply, pop, tt)
    # step 1: demand within reach of each supply commune
    third, two_thirds = Fraction(1, 3), Fraction(2, 3)
    d_a = 1000 * 1 + 2000 * 1 + 500 * two_thirds + 1500 * 0   # A-D is 20 min: weight 0
    d_c = 1000 * two_thirds + 2000 * third + 500 * 1 + 1500 * 0
    r_a, r_c = Fraction(2) / d_a, Fraction(1) / d_c
    expected = {
        a: r_a * 1 + r_c * two_thirds,
        b: r_a * 1 + r_c * third,
        c: r_a * two_thirds + r_c * 1,
        d: Fraction(0),  # B-D is 15 min (weight 1/3) but B has no supply
    }
    for code, value in expected.items():
        assert out[code] == pytest.approx(float(value), abs=1e-15)
    assert out[a] == pytest.approx(0.000963636363636, rel=1e-9)
    # every supply unit is distributed: Σ P_i APL_i = Σ S_j
    assert (out * pop).sum() == pytest.approx(3.0, rel=1e-12)
    assert out.attrs["self_times_set_to_zero"] == 1
    assert "ce n'est pas l'APL publié par la DREES" in out.attrs["label"]
    assert out.attrs["steps"] == {10.0: 1.0, 15.0: 2 / 3, 20.0: 1 / 3}


def test_matches_pysal_access_on_real_subset():
    access = pytest.importorskip("access")
    communes = cg.load_communes()
    sub = communes[communes["dep"].isin(["04", "05"])]
    tt = cg.estimate_travel_times(sub)
    # put some pairs exactly on the bin edges, where ≤ and < differ
    off = tt["from"] != tt["to"]
    idx = tt.index[off.to_numpy()]
    tt.loc[idx[:300:3], "minutes"] = 10.0
    tt.loc[idx[1:300:3], "minutes"] = 15.0
    tt.loc[idx[2:300:3], "minutes"] = 20.0
    pop = apl_mod.default_population().reindex(sub["code"])
    supply = cg.load_supply().reindex(sub["code"]).fillna(0.0)
    ours = cg.compute_apl(supply, pop, tt, STEPS)

    def run_access(weight_fn):
        res = access.fca.two_stage_fca(
            pop.rename("demand").rename_axis("geoid").reset_index(),
            supply.rename("supply").to_frame(),
            tt.rename(columns={"from": "origin", "to": "dest", "minutes": "cost"}),
            max_cost=20, demand_index="geoid", demand_name="demand", supply_name="supply",
            weight_fn=weight_fn,
        )
        return res.reindex(ours.index)

    # access.weights.step_fn uses t <= bound; shift bounds one ulp down for t < bound
    half_open = access.weights.step_fn({np.nextafter(float(b), 0): w for b, w in STEPS.items()})
    theirs = run_access(half_open)
    assert ours.notna().all() and theirs.notna().all()
    assert np.abs(ours - theirs).max() < 1e-9
    assert np.abs(ours - theirs).max() / ours.mean() < 1e-9
    # with its default closed bins the results differ: the edge test is effective
    closed = run_access(access.weights.step_fn(STEPS))
    assert np.abs(ours - closed).max() > 1e-7


def test_france_default_run(france):
    a = france.attrs
    assert a["supply_year"] == 2021 and a["population_year"] == 2023 and a["cog"] == 2026
    assert "BPE" in a["label"] and "temps de trajet estimés" in a["label"]
    assert a["speed_kmh"] == travel.SPEED_KMH and a["detour"] == travel.DETOUR
    # conservation: every located, reachable supply unit is shared among inhabitants
    pop = apl_mod.default_population()
    s = france.drop(["75056", "69123", "13055"])
    distributed = (s * pop.reindex(s.index)).sum()
    assert distributed == pytest.approx(a["supply_total"] - a["supply_unreachable"] - a["supply_unlocated"], rel=1e-9)
    assert a["supply_total"] == pytest.approx(sup.bpe_build_report()["totals"]["NB_D201"])
    # communes restored in 2025: an outline since the rebuild of issue 11, so an APL value
    for code in ("15031", "15035", "15047", "15171"):
        assert not np.isnan(france[code]) and code not in a["reasons"]
    assert np.isnan(france["97501"]) and "collectivité d'outre-mer" in a["reasons"]["97501"]
    assert france.isna().sum() == len(a["reasons"])
    # whole cities = population-weighted mean of their arrondissements
    ref = cg.load_communes(kinds=("arrondissement",))
    arr = ref[ref["parent"] == "69123"]
    w = arr["population"].astype(float).to_numpy()
    assert france["69123"] == pytest.approx(np.average(france[arr["code"]].to_numpy(), weights=w))
    # overseas departments are computed in their own CRS
    assert france[["97411", "97209", "97302", "97611"]].notna().all()


def test_estimated_travel_times_are_metric_symmetric_and_cross_borders():
    communes = cg.load_communes()
    sub = communes[communes["dep"].isin(["04", "05", "974"])]
    tt = cg.estimate_travel_times(sub)
    assert (tt["minutes"] < 20).all()
    self_ = tt[tt["from"] == tt["to"]]
    assert set(self_["from"]) == set(sub["code"]) and (self_["minutes"] == 0).all()
    pairs = tt[tt["from"] != tt["to"]]
    rev = pairs.merge(pairs, left_on=["from", "to"], right_on=["to", "from"])
    assert len(rev) == len(pairs) and np.allclose(rev["minutes_x"], rev["minutes_y"])
    dep = sub.set_index("code")["dep"]
    cross = dep[pairs["from"]].to_numpy() != dep[pairs["to"]].to_numpy()
    assert cross.any()  # 04 ↔ 05 neighbours count
    assert not ((dep[pairs["from"]].to_numpy() == "974") ^ (dep[pairs["to"]].to_numpy() == "974")).any()
    # minutes = geodesic distance (m) × detour / speed: checks metres, not degrees
    pts = travel.unit_points(sub).set_index("code")
    geod = Geod(ellps="GRS80")
    sample = pairs.iloc[:: max(1, len(pairs) // 50)]
    p, q = pts.geometry[sample["from"]], pts.geometry[sample["to"]]
    dist = geod.inv(p.x.to_numpy(), p.y.to_numpy(), q.x.to_numpy(), q.y.to_numpy())[2]
    expected = dist * travel.DETOUR / (travel.SPEED_KMH * 1000) * 60
    np.testing.assert_allclose(sample["minutes"].to_numpy(), expected, rtol=2e-3)


def test_unit_points_fallback_and_reasons(communes):
    pts = travel.unit_points(communes).set_index("code")
    # Saint-Jeannet (04) has no town hall position: a point on its surface is used
    assert pts.loc["04181", "point_source"] == "point_on_surface"
    geom = communes.set_index("code").geometry["04181"]
    assert geom.contains(pts.geometry["04181"])
    assert pts.loc["05061", "point_source"] == "mairie"
    # restored in 2025, no town hall in the source but an outline (since issue 11)
    assert pts.loc["15031", "point_source"] == "point_on_surface"
    assert pts.loc["98714", "point_source"] == "none"


def test_bad_inputs_are_refused_with_reason():
    pop = pd.Series({"04070": 100.0, "99999": 5.0})
    with pytest.warns(UserWarning, match="99999"):
        assert cg.compute_apl(pd.Series({"04070": 1.0}), pop).attrs["refused"] == ["99999"]
    with pytest.raises(ValueError, match="-1"):
        cg.compute_apl(pd.Series({"04070": -1.0}), pd.Series({"04070": 10.0}))
    tt = pd.DataFrame({"from": ["04070", "04070"], "to": ["04070", "04112"], "minutes": [0, "lent"]})
    with pytest.raises(ValueError, match="ligne 3.*lent"):
        cg.compute_apl(pd.Series({"04070": 1.0}), pd.Series({"04070": 10.0, "04112": 5.0}), tt)


def test_read_supply_converts_cog_and_professions(tmp_path):
    f = tmp_path / "etp.csv"
    f.write_text("code;etp\n19223;1,5\n19230;0,5\n19248;2\n4070;3\n")
    s = cg.read_supply(f, "etp", cog=2023)
    assert s["19248"] == 4.0 and s["04070"] == 3.0 and "19223" not in s.index
    assert s.attrs["converted_from_cog"] == 2023
    bad = tmp_path / "bad.csv"
    bad.write_text("code;etp\n04070;2\n04112;beaucoup\n")
    with pytest.raises(ValueError, match=r"bad\.csv, ligne 3.*beaucoup"):
        cg.read_supply(bad, "etp")
    inf = cg.load_supply("infirmier")
    assert inf.attrs["supply_variable"] == "NB_D232" and inf.sum() > cg.load_supply().sum()
    with pytest.raises(ValueError, match="profession inconnue"):
        cg.load_supply("astrologue")


def test_standardised_population():
    by_age = pd.DataFrame({"0-14": [100, 0], "15-64": [300, 200], "65+": [100, 300]}, index=["04070", "04112"])
    s = cg.standardised_population(by_age, {"0-14": 0.5, "15-64": 1.0, "65+": 2.0})
    raw = np.array([100 * 0.5 + 300 + 100 * 2, 200 + 300 * 2])
    np.testing.assert_allclose(s.to_numpy(), raw * 1000 / raw.sum())
    assert s.sum() == pytest.approx(1000)
    with pytest.raises(ValueError, match="65"):
        cg.standardised_population(by_age, {"0-14": 0.5, "15-64": 1.0})


def test_cli_apl(tmp_path, capsys):
    codes = ["04070", "04112", "05061", "04209"]
    (tmp_path / "pop.csv").write_text("code,population\n" + "".join(f"{c},{p}\n" for c, p in zip(codes, [1000, 2000, 500, 1500], strict=True)))
    (tmp_path / "sup.csv").write_text("code;etp\n04070;2\n05061;1\n")
    (tmp_path / "tt.csv").write_text("from,to,minutes\n04070,04112,8\n04112,04070,8\n04070,05061,12\n05061,04070,12\n")
    out = tmp_path / "res" / "apl.csv"
    rc = main(["apl", "--population", str(tmp_path / "pop.csv"), "--supply", str(tmp_path / "sup.csv"),
               "--supply-column", "etp", "--travel-times", str(tmp_path / "tt.csv"), "--per", "1", "--out", str(out)])
    assert rc == 0
    res = pd.read_csv(out, dtype={"code": str}, sep=";", decimal=",").set_index("code")  # French CSV
    d_a = 1000 + 2000 + 500 * 2 / 3
    d_c = 1000 * 2 / 3 + 500
    assert res.loc["04070", "apl_estime"] == pytest.approx(2 / d_a + 1 / d_c * 2 / 3)
    # 04209 is absent from the travel-time table: not computed (never from its own supply alone), said
    assert np.isnan(res.loc["04209", "apl_estime"])
    assert res.loc["04209", "raison"] == "absente de la table des temps de trajet fournie"
    assert (tmp_path / "res" / "apl.meta.json").exists()
    printed = capsys.readouterr().out
    assert "Estimation de type APL" in printed and "fichier tt.csv" in printed
    capsys.readouterr()
    assert main(["apl", "--steps", "10:x", "--out", str(out)]) == 2  # a French error, exit 2
    assert "--steps" in capsys.readouterr().err


def test_duplicate_pair_in_user_table_is_refused():
    tt = pd.DataFrame({"from": ["04070", "04112", "4070"], "to": ["04112", "04070", "04112"], "minutes": [5, 5, 7]})
    with pytest.raises(cg.InputError, match=r"ligne 4 : couple en double \(valeur « 04070, 04112 »\)"):
        cg.compute_apl(pd.Series({"04070": 1.0}), pd.Series({"04070": 10.0, "04112": 5.0}), tt)


def test_other_professions_need_their_own_steps():
    # the default steps are those of general practitioners: never applied silently to nurses
    with pytest.raises(ValueError, match="Paramètres"):
        cg.compute_apl(profession="infirmier")
    pop = pd.Series({"04070": 1000.0, "04112": 500.0})
    out = cg.compute_apl(profession="infirmier", population=pop, steps={15: 1.0, 30: 0.5})
    assert out.attrs["steps"] == {15.0: 1.0, 30.0: 0.5}
    assert out.attrs["profession"] == "infirmiers"
    assert out.attrs["supply_unit"].startswith("nombre d'infirmiers")
    assert "médecins" not in out.attrs["unit"] and "infirmiers" in out.attrs["unit"]


def _sparse_2sfca(supply: pd.Series, pop: pd.Series, tt: pd.DataFrame, steps) -> pd.Series:
    """The two steps written as products with a scipy sparse matrix of the weights (the
    previous algorithm of compute_apl), on a table with every self pair and known codes only."""
    from scipy import sparse

    nodes = pd.Index(pop.index.union(supply.index), dtype=object)
    i, j = nodes.get_indexer(tt["from"]), nodes.get_indexer(tt["to"])
    t = np.where(i == j, 0.0, tt["minutes"].to_numpy(dtype=float))
    w = apl_mod.step_weights(t, steps)
    keep = w > 0
    W = sparse.coo_array((w[keep], (i[keep], j[keep])), shape=(len(nodes), len(nodes)))
    P = pop.reindex(nodes).fillna(0.0).to_numpy()
    S = supply.reindex(nodes).fillna(0.0).to_numpy()
    D = W.T @ P
    R = np.divide(S, D, out=np.zeros_like(S), where=D > 0)
    return pd.Series(W @ R, index=nodes).reindex(pop.index)


@pytest.fixture(scope="module")
def alps():
    """Population, supply and estimated travel times of Alpes-de-Haute-Provence and Hautes-Alpes."""
    communes = cg.load_communes()
    sub = communes[communes["dep"].isin(["04", "05"])]
    tt = cg.estimate_travel_times(sub)
    pop = apl_mod.default_population().reindex(sub["code"])
    supply = sup.load_supply().reindex(pop.index).fillna(0.0)
    return supply, pop, tt


def test_the_two_steps_equal_the_sparse_matrix_products_bit_for_bit(alps):
    supply, pop, tt = alps
    ours = cg.compute_apl(supply, pop, tt, STEPS)
    expected = _sparse_2sfca(supply, pop, tt, STEPS)
    assert ours.index.equals(expected.index)
    assert np.array_equal(ours.to_numpy(), expected.to_numpy())
    assert ours.attrs["pairs_one_way"] == 0


def test_pairs_listed_one_way_are_counted_and_left_out_of_reach(alps):
    supply, pop, tt = alps
    rng = np.random.default_rng(4)
    within = np.flatnonzero(((tt["from"] != tt["to"]) & (tt["minutes"] < 20)).to_numpy())
    dropped = rng.choice(within, size=25, replace=False)
    one_way = tt.drop(tt.index[dropped])
    pairs = set(zip(one_way["from"], one_way["to"], strict=True))
    kept = one_way[one_way["minutes"] < 20]
    expected = sum((b, a) not in pairs or m >= 20 for a, b, m in
                   zip(kept["from"], kept["to"], kept["minutes"], strict=True) if a != b)
    out = cg.compute_apl(supply, pop, one_way, STEPS)
    assert out.attrs["pairs_one_way"] == expected > 0
    assert np.array_equal(out.to_numpy(), _sparse_2sfca(supply, pop, one_way, STEPS).to_numpy())


def test_a_pair_listed_twice_among_many_is_refused_with_its_row(alps):
    supply, pop, tt = alps
    doubled = pd.concat([tt, tt.iloc[[1234]]], ignore_index=True)
    a, b = tt["from"].iloc[1234], tt["to"].iloc[1234]
    with pytest.raises(cg.InputError, match=rf"ligne {len(tt) + 2} : couple en double \(valeur « {a}, {b} »\)"):
        cg.compute_apl(supply, pop, doubled, STEPS)
