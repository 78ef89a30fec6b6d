"""Coverage map of the sample listing (the 21 CPTS of ARS PACA with communes in 04, 05 and 84).

Writes ``carte_couverture.html`` (interactive, works offline), ``carte_couverture.png`` and
``carte_couverture.pdf`` (A4) into OUT_DIR (default ``build/examples``). With ``--screenshot
FILE`` it also takes a headless Chromium screenshot of the HTML page (Debian package
``chromium``), as used for the README.

    python examples/coverage_map.py [OUT_DIR] [--color-by band] [--screenshot docs/img/coverage_map.png]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

import cpts_geo

HERE = Path(__file__).resolve().parent
LISTING = HERE / "cpts_paca_sample" / "cpts_04_05_84.csv"
#: the departments the sample covers whole (three of its CPTS reach into 06, 13 and 83)
DEPARTMENTS = ["04", "05", "84"]


def screenshot(html: Path, png: Path, size: str = "1400,950") -> Path:
    """Screenshot of a local HTML page with headless Chromium, network disabled."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("chromium introuvable : apt-get install chromium")
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cpts-geo-chromium-") as profile:
        subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--disable-background-networking", "--disable-quic", "--no-first-run",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
             f"--window-size={size}", "--virtual-time-budget=3000",
             f"--screenshot={png.resolve()}", html.resolve().as_uri()],
            check=True, capture_output=True, timeout=120,
        )
    return png


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=Path("build/examples"))
    parser.add_argument("--color-by", default="band")
    parser.add_argument("--screenshot", type=Path)
    args = parser.parse_args()

    members = cpts_geo.read_members(LISTING)
    diag = cpts_geo.diagnose(members, departments=DEPARTMENTS)
    print(diag.text())
    paths = cpts_geo.write_maps(diag, args.out, args.color_by)
    for fmt, path in paths.items():
        print(f"{fmt:>4} : {path} ({path.stat().st_size / 1e6:.2f} Mo)")
    if args.screenshot:
        print(f"capture : {screenshot(paths['html'], args.screenshot)}")


if __name__ == "__main__":
    main()
