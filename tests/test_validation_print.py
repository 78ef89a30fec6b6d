"""The validation report on paper: PDF printed by headless Chromium (the ``--pdf`` path), read
back with poppler (pdfinfo, pdftotext, pdftoppm): at most 3 A4 pages for a one-department
proposal, the map and its legend whole on page 1 without zoom buttons, figures and checks on
page 2; the names of the neighbouring CPTS written on the map; the texts behind the ACI amount
and the IGAS type; the title from the file name; a French error when Chromium is missing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from browser_support import CHROMIUM

from cpts_geo import fr
from cpts_geo.cli import main
from cpts_geo.errors import OutputError
from cpts_geo.validation import render, validate_territory

FIX = Path(__file__).resolve().parent / "fixtures" / "proposals"
POPPLER = shutil.which("pdfinfo") and shutil.which("pdftotext") and shutil.which("pdftoppm")
needs_pdf = pytest.mark.skipif(not (CHROMIUM and POPPLER),
                               reason="Debian packages chromium and poppler-utils not installed")


def _pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(next(ln.split()[-1] for ln in info.splitlines() if ln.startswith("Pages:")))


def _page_text(pdf: Path, page: int) -> str:
    return subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-layout", str(pdf), "-"],
                          capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def printed(sample_listing, tmp_path_factory):
    out = {}
    tmp = tmp_path_factory.mktemp("pdf")
    for name in ("overlap.csv", "clean.csv"):  # one department each: 04
        report = validate_territory(FIX / name, sample_listing, departments=["04", "05", "84"])
        out[name] = (report, report.to_pdf(tmp / f"{Path(name).stem}.pdf"))
    return out


@needs_pdf
@pytest.mark.parametrize("name", ["overlap.csv", "clean.csv"])
def test_one_department_proposal_prints_on_three_a4_pages(printed, name):
    report, pdf = printed[name]
    assert set(report.figures["departments"]) in ({"84"}, {"04"})
    assert 2 <= _pages(pdf) <= 3
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    size = next(ln for ln in info.splitlines() if ln.startswith("Page size"))
    assert "(A4)" in size and "594.96 x 841.92" in size  # A4 portrait, points (210 × 297 mm)
    p1, p2 = _page_text(pdf, 1), _page_text(pdf, 2)
    # page 1: title, verdict, the map with its legend; the zoom buttons are not printed
    assert "Vérification du territoire" in p1 and "Carte du territoire et de ses voisins" in p1
    assert "Contour du territoire proposé" in p1 and "Limite de département" in p1
    assert "Zoom" not in p1 and "−" not in p1  # Leaflet's buttons: « + » / « − » (U+2212)
    # page 2 starts a new section: figures then checks
    assert "Chiffres clés" in p2 and "Chiffres clés" not in p1
    assert "Vérifications" in p2


@needs_pdf
def test_page_one_shows_the_map(printed, tmp_path):
    """Render page 1 and count the map's colours: the proposal's fill is there, not a blank box."""
    _, pdf = printed["overlap.csv"]
    subprocess.run(["pdftoppm", "-f", "1", "-l", "1", "-r", "40", "-png", str(pdf), str(tmp_path / "p")],
                   check=True)
    import matplotlib.image as mpimg
    import numpy as np

    img = mpimg.imread(next(tmp_path.glob("p*.png")))[..., :3]
    # the overlap commune's fill #d7301f (render.STATUS_STYLE) over white at 70 % opacity
    target = 0.7 * np.array([0xD7, 0x30, 0x1F]) / 255 + 0.3
    near = (np.abs(img - target).max(axis=-1) < 0.08).sum()
    assert near > 100


@needs_pdf
def test_neighbouring_cpts_are_named_on_the_printed_map(printed):
    _, pdf = printed["overlap.csv"]
    p1 = " ".join(_page_text(pdf, 1).split())
    # Revest-du-Bion (04163) is in CPTS Sud 04; Les Omergues (04140) touches it and the Drôme,
    # north of it CPTS Buech-Devoluy
    assert "CPTS Sud 04" in p1
    assert "CPTS Buech-Devoluy" in p1


def test_aci_amount_igas_type_and_sources_are_named_texts(sample_listing):
    report = validate_territory(FIX / "overlap.csv", sample_listing)
    rows = dict(render._fig_rows(report))
    funding = next(v for k, v in rows.items() if k.startswith("Financement ACI"))
    # 7 539 inhabitants: taille 1, 50 000 € a year (arrêté du 21 août 2019, in force by the Sénat 2025)
    assert funding.startswith(f"{fr.euros(50_000)} par an") and "21 août 2019" in funding
    assert "Sénat n° 32 (2025-2026" in funding and "avenant" not in funding and "87" not in funding
    igas = rows["Type IGAS (selon la population seule)"]
    # 7 539 inhabitants < 30 000: « rural » for IGAS whatever the density (IGAS 2018 report)
    assert igas.startswith("rural") and "population seule" in igas
    sources = " ".join(render._sources(report))
    assert "aci_cpts.json" not in sources and "data/" not in sources
    assert "arrêté du 21 août 2019" in sources


def test_title_from_the_file_name(sample_listing):
    report = validate_territory(FIX / "codes.txt", sample_listing)
    assert report.name == "Codes"  # tests/fixtures/proposals/codes.txt has no CPTS column


def test_pdf_without_chromium_is_a_french_error(sample_listing, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(render, "chromium_path", lambda: None)
    report = validate_territory(FIX / "overlap.csv", sample_listing)
    with pytest.raises(OutputError, match="Chromium introuvable"):
        report.to_pdf(tmp_path / "r.pdf")
    code = main(["validate", str(FIX / "overlap.csv"), "-e", str(sample_listing), "--pdf",
                 str(tmp_path / "r.pdf"), "-q"])
    assert code == 2
    err = capsys.readouterr().err
    assert "Chromium introuvable" in err and "apt-get install chromium" in err
    assert not (tmp_path / "r.pdf").exists()


@needs_pdf
@pytest.mark.parametrize("name", ["overlap.csv", "clean.csv"])
def test_no_page_but_the_last_ends_on_a_few_cards_and_blank_below(printed, name, tmp_path):
    """Rendered pages (pdftoppm): on every page but the last, ink reaches the lower part of the
    page — the checks that overflow a page are followed by the next section, not by blank."""
    import matplotlib.image as mpimg
    import numpy as np

    _, pdf = printed[name]
    n = _pages(pdf)
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(pdf), str(tmp_path / "p")], check=True)
    pages = sorted(tmp_path.glob("p*.png"))
    assert len(pages) == n
    for page in pages[:-1]:
        img = mpimg.imread(page)[..., :3]
        inked = np.flatnonzero((img < 0.85).any(axis=(1, 2)))
        assert inked.size and inked[-1] / img.shape[0] > 0.75, (page.name, inked[-1] / img.shape[0])
