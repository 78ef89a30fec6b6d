"""validate_territory on proposals built from the real reference and the real PACA sample listing
(tests/fixtures/proposals/make_fixtures.py), and the ``cpts-geo validate`` command.

Expected values come from the reference, the COG history and cpts_geo.diagnose of the listing,
not from the validation code itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

import cpts_geo
from cpts_geo import reference
from cpts_geo.cli import main
from cpts_geo.perimeters import adjacency_pairs
from cpts_geo.validation import ExistingListing, ValidationReport, validate_territory

FIX = Path(__file__).resolve().parent / "fixtures" / "proposals"
#: the departments the sample covers whole (examples/cpts_paca_sample/README.md)
SAMPLE_DEPARTMENTS = ["04", "05", "84"]
MADE = json.loads((FIX / "fixtures.json").read_text(encoding="utf-8"))

STABLE_IDS = {"territory_empty", "unknown_codes", "obsolete_codes", "duplicates", "interpreted_inputs",
              "overlap", "contiguity", "enclave", "white_zone_created", "white_zone_absorbed",
              "cross_border", "size_band", "igas_range", "epci_split", "density_profile", "aav_profile",
              "apl_profile"}


@pytest.fixture(scope="module")
def listing(sample_listing):
    return ExistingListing(sample_listing, SAMPLE_DEPARTMENTS)


@pytest.fixture(scope="module")
def diag(sample_listing):
    return cpts_geo.diagnose(cpts_geo.read_members(sample_listing), departments=SAMPLE_DEPARTMENTS)


@pytest.fixture(scope="module")
def ref():
    return reference.load_communes().set_index("code")


def _codes(name: str) -> list[str]:
    return pd.read_csv(FIX / name, dtype=str)["code_insee"].tolist()


def _neighbours(code: str) -> set[str]:
    p = adjacency_pairs()
    return set(p.loc[p["a"] == code, "b"]) | set(p.loc[p["b"] == code, "a"])


# ------------------------------------------------------------------------------------------
# The five proposals
# ------------------------------------------------------------------------------------------


def test_clean_proposal(listing, diag, ref):
    r = validate_territory(FIX / "clean.csv", listing)
    assert isinstance(r, ValidationReport)
    assert not r.blocking and r.exit_code == 0
    assert STABLE_IDS <= {c.id for c in r.checks}
    assert len({c.id for c in r.checks}) == len(r.checks)
    for cid in ("overlap", "contiguity", "enclave", "white_zone_created", "unknown_codes"):
        assert r[cid].passed, r[cid].message
    codes = _codes("clean.csv")
    assert sorted(r.codes) == sorted(codes)
    pop = int(ref.loc[codes, "population"].sum())
    assert r.figures["population"] == pop and r.figures["population_year"] == 2023
    assert r.figures["aci_band"] == int(cpts_geo.aci_band([pop])[0])
    assert r.figures["area_km2"] == pytest.approx(cpts_geo.area_km2(ref.loc[codes].reset_index()).sum(), rel=1e-6)
    # every commune is a white-zone commune of the diagnosis: the share absorbed follows
    white = diag.summary["white_population"]
    absorbed = r["white_zone_absorbed"]
    assert absorbed.details["white_population_before"] == white
    assert absorbed.details["absorbed_population_share"] == pytest.approx(pop / white)
    assert set(r.units["white_zone"]) == {True}
    # IGAS range: a warning exactly when outside 20,000-100,000
    assert r["igas_range"].passed == (20_000 <= pop <= 100_000)
    assert r["size_band"].details["population"] == pop


def test_the_white_zone_share_names_the_area_its_denominator_covers(listing, diag):
    from cpts_geo import fr
    from cpts_geo.validation import render

    # clean.csv is a whole white zone of the sample: 100 % of the white zone it touches, and a
    # smaller share of the white population of the listing's departments
    clean = validate_territory(FIX / "clean.csv", listing)
    d = clean["white_zone_absorbed"].details
    assert d["absorbed_share_of_touched"] == 1.0
    assert d["touched_white_population"] == d["absorbed_population"]
    assert d["absorbed_population_share"] == pytest.approx(d["absorbed_population"] / diag.summary["white_population"])
    row = dict(render._fig_rows(clean))["Habitants aujourd'hui sans CPTS couverts"]
    deps = fr.enumeration(sorted(listing.known_deps))
    assert row == (f"{fr.integer(d['absorbed_population'])} ({fr.percent(1.0)} de la zone blanche qu'elle "
                   f"touche ; {fr.percent(d['absorbed_population_share'])} de celle des départements {deps})")
    assert "qu'il touche" in clean["white_zone_absorbed"].message
    # enclave.csv leaves one commune of that white zone out: below 100 % of the zone it touches
    enclave = validate_territory(FIX / "enclave.csv", listing)["white_zone_absorbed"].details
    assert enclave["touched_white_population"] == d["touched_white_population"]
    assert enclave["absorbed_share_of_touched"] == pytest.approx(
        enclave["absorbed_population"] / d["touched_white_population"]) and enclave["absorbed_share_of_touched"] < 1


def test_the_igas_check_cites_the_report_section_and_says_it_is_a_landmark(listing):
    # Forcalquier, Mane, Niozelles: 6 906 inhabitants, below the range; adding Manosque and its
    # neighbours brings it inside
    below = validate_territory(["04088", "04111", "04138"], listing)["igas_range"]
    inside = validate_territory(["04070", "04112", "04001", "04019", "04049", "04088"], listing)["igas_range"]
    assert not below.passed and inside.passed
    # a point of attention outside the range, information inside: never « Conforme »
    assert below.level == "warning" and inside.level == "info"
    for check in (below, inside):
        assert "fourchette repère de 20\u202f000 à 100\u202f000 habitants du rapport IGAS n° 2018-041R" in check.message
        assert "pas une règle" in check.message and "viable" not in check.message
        assert "§ 2.2.2" in check.details["source"] and check.details["nature"] == "repère, ni règle ni verdict"
    assert below.message.startswith("6\u202f906 habitants : sous la fourchette repère")
    assert "« devrait couvrir entre 20 000 et 100 000 habitants" in inside.message
    assert "annexe 1 du rapport, d'après la population seule" in inside.message
    assert "« ne devraient pas être exclus a priori mais examinés avec plus d'attention »" in below.message


def test_overlap_names_the_cpts_and_population(listing, ref):
    r = validate_territory(FIX / "overlap.csv", listing)
    assert r.name == "CPTS Haut Jabron (projet)"  # the file's CPTS column
    assert r.blocking and r.exit_code == 1
    ov = r["overlap"]
    assert ov.blocks and ov.severity == "blocking"
    taken = MADE["overlap"]["taken"]
    members = cpts_geo.read_members(Path(__file__).resolve().parent.parent / "examples" / "cpts_paca_sample" /
                                    "cpts_04_05_84.csv")
    owners = sorted(members.loc[members["code"] == taken, "cpts"])
    assert [d["cpts"] for d in ov.details["by_cpts"]] == owners
    pop = int(ref.at[taken, "population"])
    assert ov.details["population"] == pop
    assert ov.units == (taken,)
    for name in owners:
        assert name in ov.message
    # Revest-du-Bion (04163, CPTS Sud 04), population municipale 2023: 480
    assert taken == "04163" and pop == 480 and owners == ["CPTS Sud 04"]
    assert "480 hab" in ov.message
    # tolerated sharing: same finding, not blocking
    tol = validate_territory(FIX / "overlap.csv", listing, overlap="warning")
    assert not tol.blocking and tol["overlap"].level == "warning" and tol["overlap"].units == (taken,)


def test_enclave(listing):
    r = validate_territory(FIX / "enclave.csv", listing)
    hole = MADE["enclave"]["removed"]
    proposal = set(_codes("enclave.csv"))
    assert hole not in proposal and _neighbours(hole) <= proposal  # really enclosed
    assert not r["enclave"].passed and r["enclave"].units == (hole,)
    assert r["enclave"].level == "warning" and not r.blocking
    # the enclosed commune has no CPTS: the proposal isolates it
    assert r["white_zone_created"].units == (hole,)
    assert r["contiguity"].passed  # the territory itself is in one piece
    # what-if: adding it back removes both warnings
    fixed = r.with_added([hole])
    assert fixed["enclave"].passed and fixed["white_zone_created"].passed
    d = r.diff(fixed)
    assert d["added"] == [hole] and d["removed"] == []
    assert d["checks"]["enclave"] == ("warning", "ok")
    assert any(hole in line for line in d["lines"])


def test_cross_region(listing, ref):
    r = validate_territory(FIX / "cross_region.csv", listing)
    codes = _codes("cross_region.csv")
    regs = sorted(ref.loc[codes, "reg"].unique())
    deps = sorted(ref.loc[codes, "dep"].unique())
    assert len(regs) == 2
    cb = r["cross_border"]
    assert cb.level == "warning" and not r.blocking
    assert [x["code"] for x in cb.details["regions"]] == regs
    assert [x["code"] for x in cb.details["departments"]] == deps
    names = reference.load_regions().set_index("code")["nom"]
    for reg in regs:
        assert f"ARS de la région {names[reg]}" in cb.message
    assert r.figures["regions"] == regs
    # communes of a department the listing does not describe: coverage unknown, said so
    outside = [c for c in codes if ref.at[c, "dep"] not in listing.known_deps]
    assert outside and r["overlap"].passed
    assert "ne décrit pas les CPTS" in r["overlap"].message
    assert all(c in r["overlap"].message for c in outside)
    assert all(v is None for v in r.units.set_index("code").loc[outside, "white_zone"])


def test_obsolete_and_unknown_codes(listing, ref):
    r = validate_territory(FIX / "codes.txt", listing)
    made = MADE["codes"]
    lines = (FIX / "codes.txt").read_text(encoding="utf-8").splitlines()
    assert r.blocking and r["unknown_codes"].blocks
    bad = {v["input"]: v for v in r["unknown_codes"].details["values"]}
    assert set(bad) == {made["unknown"], made["misspelt"]}
    assert bad[made["unknown"]]["row"] == lines.index(made["unknown"]) + 1
    # the misspelt name gets the real commune as suggestion
    real = made["misspelt"][:-1]
    assert real in [s["nom"] for s in bad[made["misspelt"]]["suggestions"]]
    # old codes converted as the COG history says (fusions)
    steps = reference.load_steps()
    conv = {v["input"]: v["code"] for v in r["obsolete_codes"].details["converted"]}
    assert r["obsolete_codes"].level == "warning"
    for new, old in made["old"].items():
        assert conv[old] == new == steps.loc[steps["code_old"] == old, "code_new"].iloc[-1]
    dup = r["duplicates"].details["duplicates"]
    assert [(d["code"], d["row"], d["first_row"]) for d in dup] == [
        (made["duplicate"], len(lines) - 2, lines.index(made["duplicate"]) + 1)]
    values = r["interpreted_inputs"].details["values"]
    interp = {v["status"] for v in values if not v["postcode_doubt"]}
    assert interp == {"name", "zero_padded"}
    # a current code that is also the postcode of other communes is listed too (issue 13)
    assert all(v["status"] == "current" and "mais aussi code postal" in v["message"]
               for v in values if v["postcode_doubt"])
    # no silent loss: each line is a unit of the territory, a duplicate or a refused value
    assert len(r.units) + len(dup) + len(bad) == len(lines)
    assert sorted(r.codes) == sorted(MADE["clean"])


def test_drawn_polygon(listing, ref):
    r = validate_territory(FIX / "drawn.geojson", listing)
    assert sorted(r.codes) == sorted(MADE["drawn"])
    cut = r["cut_units"]
    assert {c["code"] for c in cut.details["cut"]} == set(MADE["drawn"])
    assert all(0.5 <= c["share"] < 0.95 for c in cut.details["cut"])
    # the same polygon as a shapely geometry
    geom = gpd.read_file(FIX / "drawn.geojson").geometry.iloc[0]
    r2 = validate_territory(geom, listing, name="Dessin")
    assert r2.name == "Dessin" and sorted(r2.codes) == sorted(MADE["drawn"])
    # a stricter threshold keeps fewer communes, never more
    r3 = validate_territory(geom, listing, threshold=0.9)
    assert set(r3.codes) < set(r2.codes)


# ------------------------------------------------------------------------------------------
# Other inputs and options
# ------------------------------------------------------------------------------------------


def test_list_of_names_and_text(listing, ref):
    codes = MADE["drawn"]
    names = [f"{ref.at[c, 'nom']} ({ref.at[c, 'dep']})" for c in codes]
    r = validate_territory(names, listing)
    assert sorted(r.codes) == sorted(codes)
    assert [v["row"] for v in r["interpreted_inputs"].details["values"]] == list(range(1, len(codes) + 1))
    assert validate_territory(", ".join(codes), listing).codes == r.codes


@pytest.fixture(scope="module")
def crossed_listing(sample_listing, tmp_path_factory) -> Path:
    """The sample plus two CPTS built to exercise the cross-check: a ring of every land neighbour of
    Gap (05061), which encloses Gap and takes communes of its neighbours' CPTS, and a CPTS in two
    pieces over Manosque, Forcalquier and Apt, each already in a sample CPTS."""
    raw = pd.read_csv(sample_listing, dtype=str)
    ring = sorted(_neighbours("05061"))
    extra = pd.DataFrame({"cpts": ["CPTS Couronne de Gap"] * len(ring) + ["CPTS Trait d'union"] * 3,
                          "code_insee": [*ring, "04112", "04088", "84003"]})
    path = tmp_path_factory.mktemp("crossed") / "cpts_croisees.csv"
    pd.concat([raw, extra], ignore_index=True).to_csv(path, index=False)
    return path


def _cross_check(path: Path) -> tuple[set, dict]:
    """validate_territory of each CPTS of ``path`` against the rest, compared with diagnose."""
    diag = cpts_geo.diagnose(cpts_geo.read_members(path))
    members = ExistingListing(path).all_members
    pairs = diag.overlap_pairs
    seen_pairs, seen_enclaves = set(), {}
    for name in diag.perimeters["cpts"]:
        r = validate_territory(path, members, name=name, replaces=name)
        expected = set(pairs.loc[pairs["cpts_a"] == name, "cpts_b"]) | set(pairs.loc[pairs["cpts_b"] == name, "cpts_a"])
        got = {d["cpts"] for d in r["overlap"].details.get("by_cpts", [])}
        assert got == expected, name
        seen_pairs |= {tuple(sorted((name, other))) for other in got}
        per = diag.perimeters.set_index("cpts").loc[name]
        assert r.figures["population"] == per["population"]
        assert r.figures["n_parts"] == per["n_parts"]
        assert set(r["enclave"].units) == set(per["enclaves"]), name
        if per["enclaves"]:
            seen_enclaves[name] = set(per["enclaves"])
    return seen_pairs, seen_enclaves


def test_each_sample_cpts_overlaps_as_diagnose_says(sample_listing):
    # the published sample: its CPTS share no commune and enclose none (the comparison is of empties;
    # the built listing below is the one that exercises it)
    pairs, enclaves = _cross_check(sample_listing)
    assert pairs == set() and enclaves == {}
    # without replaces, a CPTS of the listing overlaps itself entirely
    r = validate_territory(sample_listing, sample_listing, name="CPTS du Gapençais")
    assert r["overlap"].units == r.codes and r.blocking


def test_overlaps_and_enclaves_agree_with_diagnose_on_a_listing_that_has_them(crossed_listing, sample_listing):
    pairs, enclaves = _cross_check(crossed_listing)
    # expected by construction: the ring overlaps every sample CPTS owning one of Gap's neighbours,
    # the three-commune CPTS overlaps the owners of 04112, 04088 and 84003
    raw = pd.read_csv(sample_listing, dtype=str)
    owners = {c: set(raw.loc[raw["code_insee"] == c, "cpts"]) for c in [*_neighbours("05061"), "04112", "04088", "84003"]}
    ring_owners = set().union(*(owners[c] for c in _neighbours("05061")))
    union_owners = owners["04112"] | owners["04088"] | owners["84003"]
    assert ring_owners and union_owners
    expected = ({tuple(sorted(("CPTS Couronne de Gap", o))) for o in ring_owners}
                | {tuple(sorted(("CPTS Trait d'union", o))) for o in union_owners})
    assert pairs == expected
    assert enclaves == {"CPTS Couronne de Gap": {"05061"}}  # Gap, surrounded by its neighbours


def test_contiguity_and_islands(ref):
    # two white zones far apart: two pieces
    r = validate_territory([*MADE["clean"], *MADE["drawn"]])
    assert r["contiguity"].level == "warning" and r["contiguity"].details["n_parts"] == 2
    assert r.figures["n_parts"] == 2
    # an island commune with no land neighbour: explained, not a warning
    island = next(c for c in ("29083", "85113", "56069") if not _neighbours(c))
    coast = sorted(_neighbours("29168") | {"29168"})
    r = validate_territory([*coast, island])
    c = r["contiguity"]
    # two pieces, but joined across the sea only: one part on land, one island part
    assert c.level == "info" and c.details["n_parts"] == 1 and c.details["n_islands"] == 1
    assert [p["island"] for p in c.details["parts"]] == [False, True]
    assert "insulaire" in c.message
    # without a listing, overlaps and white zones are not checked, and say so
    assert r["overlap"].level == "info" and "non fournie" in r["overlap"].message


def test_with_removed(listing, ref):
    r = validate_territory(FIX / "overlap.csv", listing)
    taken = MADE["overlap"]["taken"]
    r2 = r.with_removed([f"{ref.at[taken, 'nom']} ({ref.at[taken, 'dep']})"])
    assert not r2.blocking and r2["overlap"].passed
    assert r.figures["population"] - r2.figures["population"] == int(ref.at[taken, "population"])
    assert r2.diff(r)["added"] == [taken]
    with pytest.raises(ValueError, match="absente"):
        r2.with_removed([taken])


def test_existing_as_diagnosis_or_frame(diag, sample_listing):
    a = validate_territory(FIX / "overlap.csv", diag)
    b = validate_territory(FIX / "overlap.csv", cpts_geo.read_members(sample_listing))
    assert a["overlap"].details == b["overlap"].details
    assert a.meta["listing"] == "cpts_04_05_84.csv"


def test_apl_profile_from_a_drees_layout_file(listing, ref):
    path = Path(__file__).resolve().parent / "fixtures" / "apl" / "apl_medecins_generalistes_2022.csv"
    raw = pd.read_csv(path, sep=";", dtype=str, decimal=",")
    apl = pd.Series(raw.iloc[:, 2].str.replace(",", ".").astype(float).to_numpy(), index=raw.iloc[:, 0])
    codes = [c for c in apl.index if c.startswith("04") and c in ref.index][:12]
    r = validate_territory(codes, listing, apl=path, apl_cog=2023)
    pop = ref.loc[codes, "population"].astype(float)
    v = apl.reindex(codes)
    assert r.figures["apl_mean"] == pytest.approx(float((v * pop).sum() / pop.sum()))
    assert r.figures["apl_population_share_below_2_5"] == pytest.approx(float(pop[v < 2.5].sum() / pop.sum()))
    assert set(r["apl_profile"].units) == set(v[v < 2.5].index)
    assert "apl_medecins_generalistes_2022.csv" in r["apl_profile"].message


def test_unreadable_inputs(sample_listing, tmp_path):
    with pytest.raises(cpts_geo.MembersError, match="introuvable"):
        validate_territory(tmp_path / "absent.csv")
    with pytest.raises(cpts_geo.MembersError, match="21 CPTS"):
        validate_territory(sample_listing)
    (tmp_path / "vide.csv").write_text("")
    with pytest.raises(cpts_geo.MembersError, match="vide"):
        validate_territory(tmp_path / "vide.csv")
    with pytest.raises(ValueError, match="overlap"):
        validate_territory(MADE["drawn"], overlap="sometimes")
    with pytest.raises(ValueError, match="remplacer"):
        validate_territory(MADE["drawn"], sample_listing, replaces="CPTS inexistante")
    # everything refused: a report (blocking), not a crash
    r = validate_territory(["99999", "Nullepart-sur-Rien"])
    assert r.blocking and not r["territory_empty"].passed and r.figures["n_units"] == 0


# ------------------------------------------------------------------------------------------
# Outputs
# ------------------------------------------------------------------------------------------


def test_json_markdown_html(listing, tmp_path):
    r = validate_territory(FIX / "enclave.csv", listing)
    out = tmp_path / "r.json"
    r.to_json(out)
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["blocking"] is False and data["name"] == r.name
    assert [c["id"] for c in data["checks"]] == [c.id for c in r.checks]
    assert {c["level"] for c in data["checks"]} <= {"blocking", "warning", "info", "ok"}
    assert data["meta"]["cog"] == 2026 and data["meta"]["population_year"] == 2023
    assert len(data["units"]) == len(r.units)
    md = r.to_markdown()
    assert md.startswith("# Vérification du territoire")
    for c in r.checks:
        assert f"`{c.id}`" in md
    page = r.to_html(tmp_path / "r.html")
    assert (tmp_path / "r.html").read_text(encoding="utf-8") == page
    assert "<script src" not in page and "<link" not in page  # self-contained
    assert "https://" not in page.split("<script>", 1)[0].split("</style>", 1)[1][:20000]
    assert page.count("<li class='check") == len(r.checks)
    assert "Leaflet 1.9.4" in page or "1.9.4" in page
    assert 'lang="fr"' in page and "Chiffres clés" in page and "Carte du territoire" in page
    assert page.count("<tr><td>") == len(r.units)


def test_cli_exit_codes(sample_listing, tmp_path, capsys):
    S = str(sample_listing)
    assert main(["validate", str(FIX / "clean.csv"), "--existing", S, "--departement", "04,05,84"]) == 0
    out = capsys.readouterr().out
    assert "Aucun point bloquant" in out and "Population municipale 2023" in out
    html = tmp_path / "o.html"
    js = tmp_path / "o.json"
    assert main(["validate", str(FIX / "overlap.csv"), "-e", S, "--departement", "04,05,84", "--html", str(html),
                 "--json", str(js)]) == 1
    out = capsys.readouterr().out
    assert "[BLOQUANT]" in out and html.exists() and json.loads(js.read_text())["blocking"] is True
    assert main(["validate", str(FIX / "overlap.csv"), "-e", S, "--departement", "04,05,84", "--overlap",
                 "avertissement", "-q"]) == 0
    assert main(["validate", str(FIX / "codes.txt"), "-e", S, "--departement", "04,05,84", "-q"]) == 1
    assert main(["validate", str(tmp_path / "absent.csv")]) == 2
    err = capsys.readouterr().err
    assert "absent.csv" in err and "introuvable" in err
    assert main(["validate", S]) == 2  # several CPTS, no --name
    assert main(["validate", S, "--name", "CPTS Verdon", "-e", S, "--departement", "04,05,84", "--replaces",
                 "CPTS Verdon", "-q"]) == 0
    assert main(["validate", ",".join(MADE["drawn"]), "-e", S, "--departement", "04,05,84", "-q"]) == 0
    assert main(["validate", str(FIX / "clean.csv"), "-e", str(tmp_path / "absent.csv")]) == 2


def test_areas_never_in_degrees(listing, ref):
    r = validate_territory(MADE["drawn"], listing)
    lambert = gpd.GeoSeries(ref.loc[MADE["drawn"]].geometry, crs=4326).to_crs(2154).area.sum() / 1e6
    assert r.figures["area_km2"] == pytest.approx(lambert, rel=1e-3)
    assert np.isclose(r.figures["density"], r.figures["population"] / r.figures["area_km2"], rtol=1e-2)


def test_names_and_replaced_cpts(listing, sample_listing):
    r = validate_territory(FIX / "overlap.csv", listing, name="Mon projet")
    assert r.name == "Mon projet" and r["overlap"].blocks  # a one-CPTS file takes the given name
    r = validate_territory(sample_listing, sample_listing, name="CPTS Verdon", replaces=["CPTS Verdon"])
    assert r.name == "CPTS Verdon" and "CPTS Verdon" in r["overlap"].message
    assert r.meta["replaces"] == ["CPTS Verdon"]


def test_irdes_profile(listing, ref):
    """IRDES 2025 commune typology in its published layout (fixture with fictional classes)."""
    path = Path(__file__).resolve().parent / "fixtures" / "irdes" / "typo_communes_2025.xlsx"
    typo = cpts_geo.read_irdes_typology(path, "irdes_com_2025", cog_year=2024)
    codes = MADE["clean"]
    r = validate_territory(codes, listing, irdes2025=typo)
    w = typo[typo["code"].isin(codes)].assign(
        pop=lambda t: t["code"].map(ref["population"].astype(float)) * t["weight"])
    share = w.groupby("classe")["pop"].sum() / ref.loc[codes, "population"].sum()
    c = r["irdes2025_profile"]
    assert c.details["class"] == int(share.idxmax())
    assert c.details["share"] == pytest.approx(100 * share.max())
    assert c.details["label"] == typo.attrs["labels"][int(share.idxmax())]
    # the same from the file, as the command line reads it
    assert main(["validate", ",".join(codes), "--irdes2025", str(path), "--irdes-cog", "2024", "-q"]) == 0
