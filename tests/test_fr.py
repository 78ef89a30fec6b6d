"""French formatting (cpts_geo/fr.py) against literal strings.

Every expected value is written out by hand following French typography (Imprimerie nationale
rules, as the project standards require): thousands separated by a narrow no-break space U+202F,
decimal comma, a narrow no-break space before %, € and km², singular below 2, "1er" for the first
day of a month. The separator is always written as the escape "\u202f" so that a change of
separator (comma, plain space, no-break space U+00A0) fails here.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from cpts_geo import fr

N = "\u202f"  # narrow no-break space, written once as an escape and reused in the literals below


def test_separator_constants():
    assert fr.NNBSP == "\u202f" and len(fr.NNBSP) == 1 and ord(fr.NNBSP) == 0x202F
    assert fr.NBSP == "\u00a0"


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (0, 0, "0"),
        (7, 0, "7"),
        (999, 0, "999"),
        (1000, 0, "1\u202f000"),
        (12345, 0, "12\u202f345"),
        (1234567, 0, "1\u202f234\u202f567"),
        (2_103_778, 0, "2\u202f103\u202f778"),  # Paris, population 2023
        (12345.6, 0, "12\u202f346"),
        (12345.6, 1, "12\u202f345,6"),
        (3.14159, 2, "3,14"),
        (0.5, 1, "0,5"),
        (1234.5, 2, "1\u202f234,50"),
        (-1234, 0, "-1\u202f234"),
        (-46_769.0, 0, "-46\u202f769"),
        (-0.04, 1, "0,0"),  # no "-0,0"
        (-0.4, 0, "0"),  # no "-0"
    ],
)
def test_number(value, decimals, expected):
    assert fr.number(value, decimals) == expected


def test_number_never_uses_a_comma_or_point_for_thousands():
    text = fr.number(1234567.891, 2)
    assert text == "1\u202f234\u202f567,89"
    assert "." not in text and text.count(",") == 1 and " " not in text and "\u00a0" not in text


def test_number_missing_and_infinite():
    assert fr.number(None) == "n.d."
    assert fr.number(float("nan")) == "n.d."
    assert fr.number(pd.NA) == "n.d."
    assert fr.number("abc") == "n.d."
    assert fr.number(None, na="—") == "—"
    assert fr.number(math.inf) == "∞" and fr.number(-math.inf) == "-∞"


def test_integer():
    assert fr.integer(87500) == "87\u202f500"
    assert fr.integer(157_500) == "157\u202f500"
    assert fr.integer(39_999.6) == "40\u202f000"
    assert fr.integer(None) == "n.d."


@pytest.mark.parametrize(
    ("share", "decimals", "expected"),
    [
        (0.4531, 1, "45,3\u202f%"),
        (0.453, 1, "45,3\u202f%"),
        (1.0, 1, "100,0\u202f%"),
        (0.0, 1, "0,0\u202f%"),
        (0.011, 1, "1,1\u202f%"),
        (0.5, 0, "50\u202f%"),
        (0.98765, 2, "98,77\u202f%"),
        (12.5, 0, "1\u202f250\u202f%"),  # a share above 1 keeps its thousands separator
    ],
)
def test_percent(share, decimals, expected):
    assert fr.percent(share, decimals) == expected


def test_percent_is_not_english():
    assert fr.percent(0.453) != "45.3%" and fr.percent(0.453) != "45,3 %" and fr.percent(0.453) != "45,3%"
    assert fr.percent(None) == "n.d." and fr.percent(float("nan")) == "n.d."


def test_euros_and_km2():
    # ACI 2019 operating funding, taille 1 and taille 4 (arrêté du 21 août 2019)
    assert fr.euros(50000) == "50\u202f000\u202f€"
    assert fr.euros(90000) == "90\u202f000\u202f€"
    assert fr.euros(157_500) == "157\u202f500\u202f€"
    assert fr.km2(12.46) == "12,5\u202fkm²"
    assert fr.km2(6_944.0, 0) == "6\u202f944\u202fkm²"
    assert fr.km2(0.04, 2) == "0,04\u202fkm²"


@pytest.mark.parametrize(
    ("n", "expected"),
    [(0, "0 habitant"), (1, "1 habitant"), (2, "2 habitants"), (1234, "1\u202f234 habitants")],
)
def test_inhabitants(n, expected):
    assert fr.inhabitants(n) == expected


@pytest.mark.parametrize(
    ("n", "singular", "plural_form", "expected"),
    [
        # French rule: singular for 0 and 1, plural from 2
        (0, "commune", None, "0 commune"),
        (1, "commune", None, "1 commune"),
        (2, "commune", None, "2 communes"),
        (0, "zone blanche", None, "0 zone blanche"),
        (1, "zone blanche", None, "1 zone blanche"),
        (4, "zone blanche", None, "4 zones blanches"),
        (2, "commune convertie", None, "2 communes converties"),
        (3, "point bloquant", "points bloquants", "3 points bloquants"),
        (1, "point bloquant", "points bloquants", "1 point bloquant"),
        (2, "prix", None, "2 prix"),  # ends in x: unchanged
        (2, "territoire de vie", "territoires de vie", "2 territoires de vie"),
        (12_345, "habitant", None, "12\u202f345 habitants"),
        (None, "commune", None, "0 commune"),
        (-1, "habitant", None, "-1 habitant"),
        (-2, "habitant", None, "-2 habitants"),
    ],
)
def test_plural(n, singular, plural_form, expected):
    assert fr.plural(n, singular, plural_form) == expected


def test_plural_without_number():
    assert fr.plural(3, "CPTS concernée", "CPTS concernées", with_number=False) == "CPTS concernées"
    assert fr.plural(1, "CPTS concernée", "CPTS concernées", with_number=False) == "CPTS concernée"
    assert fr.plural(2, "zone blanche", with_number=False) == "zones blanches"
    assert fr.plural(1, "zone blanche", with_number=False) == "zone blanche"


@pytest.mark.parametrize(
    ("singular", "expected"),
    [("territoire de vie", "2 territoires de vie"), ("CPTS", "2 CPTS"),
     ("niveau régional", "2 niveaux régionaux"), ("zone d'emploi", "2 zones d'emploi")],
)
def test_plural_automatic_form_of_compound_nouns_and_acronyms(singular, expected):
    assert fr.plural(2, singular) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.date(2019, 1, 1), "1er janvier 2019"),
        (dt.date(2019, 8, 21), "21 août 2019"),  # arrêté approving the ACI CPTS
        (dt.date(2018, 10, 15), "15 octobre 2018"),
        (dt.date(2026, 2, 1), "1er février 2026"),
        (dt.date(2021, 12, 20), "20 décembre 2021"),
        (dt.datetime(2023, 6, 2, 14, 30), "2 juin 2023"),
        ("2019-01-01", "1er janvier 2019"),
        ("2024-07-14T10:00:00", "14 juillet 2024"),
        (pd.Timestamp("2025-03-01"), "1er mars 2025"),
        ("janvier 2026", "janvier 2026"),  # not an ISO date: kept as written
        (None, "date inconnue"),
        (float("nan"), "date inconnue"),
    ],
)
def test_date(value, expected):
    assert fr.date(value) == expected


def test_every_month_name():
    names = [fr.date(dt.date(2026, m, 15)).split(" ")[1] for m in range(1, 13)]
    assert names == ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
                     "septembre", "octobre", "novembre", "décembre"]


@pytest.mark.parametrize(
    ("items", "limit", "expected"),
    [
        ([], None, ""),
        (["Digne"], None, "Digne"),
        (["Digne", "Gap"], None, "Digne et Gap"),
        (["a", "b", "c"], None, "a, b et c"),
        (["a", "b", "c"], 2, "a, b et 1 autre"),
        (["a", "b", "c", "d"], 2, "a, b et 2 autres"),
        (["a", "b", "c"], 3, "a, b et c"),
        ([4, 5], None, "4 et 5"),
    ],
)
def test_enumeration(items, limit, expected):
    assert fr.enumeration(items, limit=limit) == expected


def test_enumeration_other_words():
    assert fr.enumeration(["04070", "04112", "05061"], limit=1, other="commune", others="communes") == \
        "04070 et 2 communes"
    assert fr.enumeration(iter(["x", "y"])) == "x et y"


# ------------------------------------------------------------------------------------------
# Real French outputs that go through fr.py
# ------------------------------------------------------------------------------------------


def test_aci_margin_messages():
    import cpts_geo

    m = cpts_geo.aci_margin([79_500, 128_231])
    # 80 000 − 79 500 = 500; 175 000 − 128 231 = 46 769 (thesis CPTS A3)
    assert m["aci_margin_text"].tolist() == [
        "500 habitants sous le seuil de 80\u202f000 (taille 3 au-dessus)",
        "46\u202f769 habitants sous le seuil de 175\u202f000 (taille 4 au-dessus)",
    ]


def test_coverage_summary_lines_of_the_sample(sample_listing):
    import cpts_geo

    d = cpts_geo.diagnose(cpts_geo.read_members(sample_listing), departments=["04", "05", "84"])
    lines = (d.text() if callable(d.text) else d.text).splitlines()
    # by hand from the reference: 511 communes in 04, 05 and 84, 478 of them listed (478 / 511 =
    # 93,54 %); 883 577 inhabitants (2023), 16 515 in white zones: 867 062 covered = 98,13 %
    ref = cpts_geo.load_communes()
    area = ref[(ref["kind"] == "commune") & ref["dep"].isin(["04", "05", "84"])]
    assert len(area) == 511 and int(area["population"].sum()) == 883_577
    listed = set(pd.read_csv(sample_listing, dtype=str)["code_insee"].replace({"05120": "05001"}))
    covered = area[area["code"].isin(listed)]
    assert len(covered) == 478 and int(covered["population"].sum()) == 867_062
    assert "  Communes couvertes : 478 / 511 (93,5\u202f%)" in lines
    assert "  Population couverte : 867\u202f062 / 883\u202f577 habitants (98,1\u202f%)" in lines
    assert any(line.startswith("  Zones blanches : 2 ") and line.endswith(", 33 communes, 16\u202f515 habitants")
               for line in lines)
