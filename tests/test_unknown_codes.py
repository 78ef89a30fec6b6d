"""One rule for unknown codes across the library: every reader and indicator that meets a
commune code absent from COG 2026 keeps the known rows, warns (UserWarning naming the code) and
records the code in the output's ``attrs["refused"]`` — never drops it unrecorded (issue 10)."""

from __future__ import annotations

import pandas as pd
import pytest

import cpts_geo as cg

UNKNOWN = "04999"  # département 04 has no commune 999 (Alpes-de-Haute-Provence: 04001-04245)
KNOWN = "04070"  # Digne-les-Bains


def _csv(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def _population(tmp_path):
    return cg.commune_population(_csv(tmp_path, "pop.csv", f"code;population\n{KNOWN};10\n{UNKNOWN};20\n"), cog=2026)


def _supply(tmp_path):
    return cg.read_supply(_csv(tmp_path, "etp.csv", f"code;etp\n{KNOWN};1\n{UNKNOWN};2\n"), "etp", cog=2026)


def _apl_official(tmp_path):
    f = _csv(tmp_path, "apl.csv", f"Code commune INSEE;APL aux médecins généralistes\n{KNOWN};2\n{UNKNOWN};3\n")
    return cg.attach_apl(cg.read_apl(f, cog=2026))


def _irdes(tmp_path):
    f = _csv(tmp_path, "com.csv", f"CODGEO,CLASSE\n{KNOWN},1\n{UNKNOWN},2\n")
    return cg.read_irdes_typology(f, "irdes_com_2025", cog_year=2026)


def _apl_computed(tmp_path):
    supply = pd.Series({KNOWN: 1.0, UNKNOWN: 2.0})
    return cg.compute_apl(supply, pd.Series({KNOWN: 100.0, UNKNOWN: 50.0}))


def _classify_list(tmp_path):
    return cg.classify([KNOWN, UNKNOWN])


def _classify_table(tmp_path):
    return cg.classify(pd.DataFrame({"cpts": ["CPTS X"], "codes": [(KNOWN, UNKNOWN)]}))


@pytest.mark.parametrize("read", [_population, _supply, _apl_official, _apl_computed, _irdes, _classify_list,
                                  _classify_table],
                         ids=lambda f: f.__name__.strip("_"))
def test_the_same_unknown_code_is_warned_and_recorded_everywhere(read, tmp_path):
    with pytest.warns(UserWarning, match=UNKNOWN):
        out = read(tmp_path)
    assert out.attrs["refused"] == [UNKNOWN]


def test_computed_apl_keeps_the_known_codes():
    with pytest.warns(UserWarning, match=UNKNOWN):
        out = cg.compute_apl(pd.Series({KNOWN: 1.0, UNKNOWN: 2.0}), pd.Series({KNOWN: 100.0, UNKNOWN: 50.0}))
    # alone with its own supply: 1 FTE for 100 inhabitants (weight 1 at 0 minutes)
    assert list(out.index) == [KNOWN] and out[KNOWN] == pytest.approx(1 / 100)


def test_classify_keeps_the_known_codes_of_a_territory_with_an_unknown_one():
    with pytest.warns(UserWarning, match=UNKNOWN):
        out = cg.classify(pd.DataFrame({"cpts": ["CPTS X"], "codes": [(KNOWN, UNKNOWN)]}))
    ref = cg.load_communes().set_index("code")
    assert out.loc[0, "population"] == ref.loc[KNOWN, "population"]
