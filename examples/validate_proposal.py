"""Check a proposed CPTS territory against the real PACA sample listing, then try a variant.

The proposal: the largest group of communes of Alpes-de-Haute-Provence that no CPTS of the
sample listing covers (a white zone found by cpts_geo.diagnose), minus its most populous
commune — a promoter's first draft. The report shows that this commune would be left without
CPTS, cut off between the draft and the existing CPTS; the variant adds it back.

Run from the repository root: python examples/validate_proposal.py [output folder]
Writes rapport_brouillon.html / .json / .md and rapport_variante.html into the folder
(default: build/validation_example).
"""

from __future__ import annotations

import sys
from pathlib import Path

import cpts_geo as cg

HERE = Path(__file__).resolve().parent
LISTING = HERE / "cpts_paca_sample" / "cpts_04_05_84.csv"
#: the departments the sample covers whole (three of its CPTS reach into 06, 13 and 83)
DEPARTMENTS = ["04", "05", "84"]


def main(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    existing = cg.ExistingListing(LISTING, DEPARTMENTS)  # read once, reused by every report below
    diag = cg.diagnose(existing.all_members, departments=DEPARTMENTS)
    zone = diag.white_zones.sort_values("population", ascending=False).iloc[0]
    communes = cg.load_communes().set_index("code")
    biggest = max(zone["codes"], key=lambda c: int(communes.at[c, "population"]))
    draft = [c for c in zone["codes"] if c != biggest]

    report = cg.validate_territory(draft, existing, name="Projet de CPTS (brouillon)")
    print(report.text())
    report.to_html(out / "rapport_brouillon.html")
    report.to_json(out / "rapport_brouillon.json")
    (out / "rapport_brouillon.md").write_text(report.to_markdown(), encoding="utf-8")

    variant = report.with_added([biggest])
    print("\nVariante — ce qui change :")
    for line in report.diff(variant)["lines"]:
        print("  " + line)
    variant.to_html(out / "rapport_variante.html")
    print(f"\nRapports écrits dans {out}")
    return variant.exit_code


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("build") / "validation_example"))
