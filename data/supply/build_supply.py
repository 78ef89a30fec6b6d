"""Build data/supply/bpe2021_sante_com2026.csv from INSEE BPE 2021 (health professions by commune).

Input (read-only, developer machines and CI only):
    ../shared/data/insee/equip-serv-medical-para-com-2021.csv  (';'-separated, COG 2022,
    one row per commune and per municipal arrondissement; Paris, Lyon and Marseille appear
    both as whole cities and as arrondissements)

Output:
    data/supply/bpe2021_sante_com2026.csv   code + every NB_D2xx column, COG 2026, one row per
                                            commune or municipal arrondissement (the three
                                            whole-city rows are dropped: they equal the sum of
                                            their arrondissements, checked below)
    data/supply/bpe2021_variables.csv       BPE variable → label (from the INSEE meta file)
    data/supply/build_report.json           totals before/after and the COG conversion report

Run from the repository root:  python data/supply/build_supply.py [path/to/shared/data/insee]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

import cpts_geo
from cpts_geo.reference import PLM_CITIES

HERE = Path(__file__).resolve().parent
DEFAULT_SRC = HERE.parent.parent.parent / "shared" / "data" / "insee"
FILE = "equip-serv-medical-para-com-2021.csv"
META = "meta_equip-serv-medical-para-com-2021.csv"
SRC_COG = 2022  # geography of BPE 2021 (INSEE: "géographie au 1er janvier 2022")


def main(src: Path = DEFAULT_SRC) -> None:
    raw = pd.read_csv(src / FILE, sep=";", dtype={"CODGEO": str})
    cols = [c for c in raw.columns if c.startswith("NB_")]
    assert raw["CODGEO"].str.fullmatch(r"\d{5}|2[AB]\d{3}").all(), "unexpected CODGEO values"
    communes = cpts_geo.load_communes()
    parents = communes.loc[communes["kind"] == "arrondissement", ["code", "parent"]]
    # the whole-city rows duplicate their arrondissements: check, then drop them
    for city in PLM_CITIES:
        arr = raw[raw["CODGEO"].isin(parents.loc[parents["parent"] == city, "code"])]
        city_row = raw.loc[raw["CODGEO"] == city, cols]
        assert len(city_row) == 1 and (city_row.iloc[0].to_numpy() == arr[cols].sum().to_numpy()).all(), city
    table = raw[~raw["CODGEO"].isin(list(PLM_CITIES))].rename(columns={"CODGEO": "code"})
    out, report = cpts_geo.convert_table(table, from_year=SRC_COG, code_col="code", value_cols=cols)
    if report["unknown"]:
        raise SystemExit(f"codes not valid in COG 2026 after conversion: {report['unknown']}")
    for c in cols:
        assert abs(report["totals_in"][c] - report["totals_out"][c]) < 1e-6, c
    out[cols] = out[cols].round(6)
    out.to_csv(HERE / "bpe2021_sante_com2026.csv", index=False, float_format="%.6g")
    meta = pd.read_csv(src / META, sep=";", dtype=str)
    meta = meta[meta["COD_VAR"].isin(cols)].drop_duplicates("COD_VAR")[["COD_VAR", "LIB_VAR_LONG"]]
    meta.columns = ["variable", "label"]
    meta.to_csv(HERE / "bpe2021_variables.csv", index=False)
    build = {
        "source": f"INSEE, Base permanente des équipements 2021, {FILE}",
        "source_cog": SRC_COG,
        "cog": cpts_geo.COG_YEAR,
        "rows_in": len(raw),
        "dropped_whole_city_rows": sorted(PLM_CITIES),
        "rows_out": len(out),
        "totals": {c: report["totals_out"][c] for c in cols},
        "fusions": report["fusions"],
        "splits": report["splits"],
        "split_basis": report["split_basis"],
    }
    (HERE / "build_report.json").write_text(json.dumps(build, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(out)} units, médecins généralistes (NB_D201): {report['totals_out']['NB_D201']:.0f}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SRC)
