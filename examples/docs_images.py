"""Images of docs/img/ (README and docs): what an ARS analyst sees, from the sample listing.

- ``coverage_map.png``: the interactive map (HTML) in headless Chromium, default view;
- ``static_map.png``: the A4 static map (numbered CPTS, key), coloured by ACI size band;
- ``rates_map.png`` / ``rates_map_html.png``: the coverage-rate map of the sample by EPCI (A4
  static map, and the HTML page in headless Chromium);
- ``rates_map_france.png``: the coverage-rate map by department at national scale, drawn from a
  PROXY listing (every EPCI 2026 as a "CPTS", one in five left out: no national CPTS listing is
  available offline), titled as such;
- ``validation_report_page1.png``: page 1 of the PDF validation report of a proposal
  (tests/fixtures/proposals/overlap.csv), printed by headless Chromium, rendered by pdftoppm.

Needs the Debian packages ``chromium`` and ``poppler-utils``.

    python examples/docs_images.py [OUT_DIR]   # default docs/img
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from coverage_map import DEPARTMENTS, LISTING, screenshot

import cpts_geo
from cpts_geo.maps import save_static, static_map

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
# the national PROXY listing of the maps benchmark (every EPCI 2026 as a "CPTS", one in five left
# out): the image and the benchmark row of docs/maps.md describe the same listing
from bench_maps import national_proxy  # noqa: E402

PROPOSAL = ROOT / "tests" / "fixtures" / "proposals" / "overlap.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    diag = cpts_geo.diagnose(cpts_geo.read_members(LISTING), departments=DEPARTMENTS)
    with tempfile.TemporaryDirectory(prefix="cpts-geo-docs-") as tmp:
        tmp = Path(tmp)
        paths = cpts_geo.write_maps(diag, tmp, "band", formats=("html",))
        print(screenshot(paths["html"], out / "coverage_map.png"))
        print(save_static(static_map(diag, "band"), out / "static_map.png", dpi=110))
        rates = cpts_geo.write_maps(diag, tmp, "taux_couverture", stem="taux", formats=("html",),
                                    rates_by="epci")
        print(screenshot(rates["html"], out / "rates_map_html.png"))
        print(save_static(static_map(diag, "taux_couverture", rates_by="epci"),
                          out / "rates_map.png", dpi=110))
        nat = cpts_geo.diagnose(cpts_geo.read_members(national_proxy()))
        print(save_static(static_map(nat, "taux_couverture", title=(
            "Démonstration sur une liste fictive (chaque EPCI 2026 compté comme une CPTS, un EPCI "
            "sur cinq omis) — part de la population couverte, par département")),
            out / "rates_map_france.png", dpi=110))
        report = cpts_geo.validate_territory(PROPOSAL, LISTING, departments=DEPARTMENTS)
        pdf = report.to_pdf(tmp / "rapport.pdf")
        if shutil.which("pdftoppm") is None:
            raise SystemExit("pdftoppm introuvable : apt-get install poppler-utils")
        subprocess.run(["pdftoppm", "-f", "1", "-l", "1", "-r", "70", "-png", "-singlefile", str(pdf),
                        str(out / "validation_report_page1")], check=True)
        print(out / "validation_report_page1.png")


if __name__ == "__main__":
    main()
