"""Comparison of two listings that do not cover the same departments (cpts_geo.compare): CPTS are
created or removed only in the departments both cover, the others are named, on the real PACA
sample listings."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cpts_geo import reference
from cpts_geo.cli import main
from cpts_geo.compare import (
    OUTSIDE_NEW,
    OUTSIDE_OLD,
    compare_listings,
    listing_departments,
    main_department,
)
from cpts_geo.members import read_members

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "cpts_paca_sample"
NICE_TOULON = EXAMPLES / "cpts_nice_toulon.csv"


@pytest.fixture(scope="module")
def listings(sample_listing):
    """The 04/05/84 sample, and a wider listing: the same minus its first CPTS, plus the five CPTS
    of Nice and Toulon (06, 83)."""
    old = pd.read_csv(sample_listing, dtype=str)
    dropped = old["cpts"].iloc[0]
    new = pd.concat([old[old["cpts"] != dropped], pd.read_csv(NICE_TOULON, dtype=str)], ignore_index=True)
    return read_members(old), read_members(new), dropped


def test_a_department_is_covered_only_where_a_cpts_lies_wholly_or_covers_half_of_it(sample_listing):
    from cpts_geo.compare import _sets

    sets = _sets(read_members(sample_listing))
    covered = listing_departments(sets)
    assert covered == {"04", "05", "84"}
    # every CPTS of the sample has its main department among them or reaches into them
    units = reference.units()
    for codes in sets.values():
        assert {units.at[c, "dep"] for c in codes} & covered
    assert listing_departments(_sets(read_members(NICE_TOULON))) == {"06", "83"}
    # a CPTS reaching a few communes into a neighbour does not make the listing cover it
    assert main_department({"04070", "04112", "83001"}) == "04"
    assert listing_departments({"A": frozenset({"04070", "83001"})}) == set()


def test_cpts_of_departments_only_one_listing_covers_are_neither_created_nor_removed(listings):
    old, new, dropped = listings
    cmp = compare_listings(old, new).set_index("cpts")
    nice_toulon = set(pd.read_csv(NICE_TOULON, dtype=str)["cpts"])
    assert set(cmp.index[cmp["status"] == OUTSIDE_OLD]) == nice_toulon
    assert cmp.attrs["created"] == [] and cmp.attrs["removed"] == [dropped]
    assert cmp.loc[dropped, "status"] == "supprimée"
    assert cmp.attrs["departments_both"] == ["04", "05", "84"]
    assert cmp.attrs["departments_only_new"] == ["06", "83"] and cmp.attrs["departments_only_old"] == []
    assert sorted(cmp.attrs["outside_old"]) == sorted(nice_toulon)
    # the other way round: the same CPTS are outside the new listing, the dropped one is created
    back = compare_listings(new, old).set_index("cpts")
    assert set(back.index[back["status"] == OUTSIDE_NEW]) == nice_toulon
    assert back.attrs["created"] == [dropped] and back.attrs["removed"] == []
    assert back.attrs["departments_only_old"] == ["06", "83"]


def test_the_command_counts_changes_in_common_departments_and_names_the_others(listings, tmp_path, capsys):
    old, new, dropped = listings
    old_csv, new_csv = tmp_path / "ancienne.csv", tmp_path / "nouvelle.csv"
    for frame, path in ((old, old_csv), (new, new_csv)):
        frame[["cpts", "code"]].rename(columns={"code": "code_insee"}).to_csv(path, index=False)
    assert main(["compare", str(old_csv), str(new_csv)]) == 0
    out = capsys.readouterr().out
    n_common = old["cpts"].nunique()
    assert (f"{n_common} CPTS dans les départements que les deux listes couvrent — 0 créée, 1 supprimée"
            in out)
    assert ("Départements couverts par la nouvelle liste seule : 06 Alpes-Maritimes et 83 Var — 5 CPTS "
            "hors de l'ancienne liste, ni créées ni supprimées") in out
    assert "Créée" not in out and f"Supprimée : {dropped}" in out
    assert "CPTS Toulon Littoral" not in out  # listed only with --all
    book = tmp_path / "cmp.xlsx"
    assert main(["compare", str(old_csv), str(new_csv), "--xlsx", str(book)]) == 0
    capsys.readouterr()
    deps = pd.read_excel(book, sheet_name="Départements", dtype=str)
    assert deps.values.tolist() == [["04", "Alpes-de-Haute-Provence", "les deux"], ["05", "Hautes-Alpes", "les deux"],
                                    ["06", "Alpes-Maritimes", "la nouvelle seule"],
                                    ["83", "Var", "la nouvelle seule"], ["84", "Vaucluse", "les deux"]]
    assert main(["compare", str(old_csv), str(new_csv), "--all"]) == 0
    listed = capsys.readouterr().out
    assert ("Hors de l'ancienne liste : CPTS Toulon Littoral — 1 commune, population "
            in listed) and "(département que l'autre liste ne couvre pas)" in listed
