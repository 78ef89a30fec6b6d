"""What every ``cpts-geo`` command writes: never over one of its inputs (with or without
``--force``), each file readable as the umask allows, and a full disk named in the error.

Real CLI runs in-process (``cpts_geo.cli.main``) on the real sample listing (its Hautes-Alpes
part where a diagnosis is drawn). The full-disk tests mount a 64 KiB tmpfs (root only; skipped
where mounting is not permitted).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from cpts_geo.cli import main
from cpts_geo.validation.render import chromium_path

AREA = ["--departement", "05"]


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _modes(folder: Path) -> dict[str, int]:
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir() if p.is_file()}


def _contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


@pytest.fixture
def proposal(tmp_path) -> Path:
    p = tmp_path / "p.csv"
    p.write_text("code;remarque\n04001;à garder\n04009;\n", encoding="utf-8")
    return p


# ------------------------------------------------------------------------------------------
# Every writer: files readable as the umask allows; inputs never replaced
# ------------------------------------------------------------------------------------------


def test_coverage_writes_every_file_readable_and_never_over_its_own_listing(sample_listing, tmp_path, umask_022,
                                                                             capsys):
    out = tmp_path / "F"
    assert main(["coverage", str(sample_listing), *AREA, "--out", str(out)]) == 0
    modes = _modes(out)
    assert {"summary.json", "perimeters.gpkg", "diagnostic_cpts.xlsx", "carte_couverture.png",
            "carte_couverture.pdf", "carte_couverture.html"} <= set(modes)
    assert set(modes.values()) == {0o644}, modes
    capsys.readouterr()
    before = _contents(out)
    # the previous run's perimeters.gpkg read back as the listing: never replaced, --force or not
    for force in ([], ["--force"]):
        assert main(["coverage", str(out / "perimeters.gpkg"), "--out", str(out), *force]) == 2
        err = capsys.readouterr().err
        assert "perimeters.gpkg" in err and "fichier d'entrée" in err and "Traceback" not in err
    # the user's own perimeters.gpkg in a folder written beside with --force: never replaced either
    own = tmp_path / "G"
    own.mkdir()
    shutil.copy(out / "perimeters.gpkg", own / "perimeters.gpkg")
    assert main(["coverage", str(own / "perimeters.gpkg"), "--out", str(own), "--force"]) == 2
    assert "fichier d'entrée" in capsys.readouterr().err
    assert _contents(out) == before and _contents(own) == {"perimeters.gpkg": before["perimeters.gpkg"]}


def test_coverage_refuses_a_folder_of_other_files_or_a_file_before_any_work(sample_listing, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "rapport ARS.docx").write_bytes(b"x")
    assert main(["coverage", str(sample_listing), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "rapport ARS.docx" in err and "--force" in err and "Traceback" not in err
    assert [p.name for p in out.iterdir()] == ["rapport ARS.docx"]
    assert main(["coverage", str(sample_listing), "--out", str(out / "rapport ARS.docx")]) == 2
    assert "est un fichier" in capsys.readouterr().err
    assert main(["coverage", str(sample_listing), "--out", str(out / "rapport ARS.docx" / "sous")]) == 2
    err = capsys.readouterr().err
    assert "sous" in err and "une partie du chemin" in err and "Traceback" not in err


def test_map_writes_readable_files_and_never_over_its_listing(sample_listing, tmp_path, umask_022, capsys):
    out = tmp_path / "cartes"
    files = {"--html": out / "c.html", "--png": out / "c.png", "--pdf": out / "c.pdf"}
    argv = ["map", str(sample_listing), *AREA]
    assert main([*argv, *(x for option, path in files.items() for x in (option, str(path)))]) == 0
    assert _modes(out) == {"c.html": 0o644, "c.png": 0o644, "c.pdf": 0o644}
    capsys.readouterr()
    link = tmp_path / "liste.html"  # a name with the right suffix that resolves to the listing
    link.symlink_to(sample_listing)
    assert main([*argv, "--html", str(link)]) == 2
    assert "fichier d'entrée" in capsys.readouterr().err and link.is_symlink()


def test_validate_writes_readable_reports_and_never_over_the_proposal(proposal, tmp_path, umask_022, capsys):
    original = proposal.read_bytes()
    for option in ("--json", "--html", "--markdown", "--pdf"):
        assert main(["validate", str(proposal), option, str(proposal)]) == 2
        err = capsys.readouterr().err
        assert "p.csv" in err and "fichier d'entrée" in err and option in err
    assert proposal.read_bytes() == original
    out = tmp_path / "rapports"
    reports = ["r.json", "r.html", "r.md"] + (["r.pdf"] if chromium_path() else [])
    argv = ["validate", str(proposal), "-q"]
    for name in reports:
        argv += [{"json": "--json", "html": "--html", "md": "--markdown", "pdf": "--pdf"}[name[2:]], str(out / name)]
    assert main(argv) == 0
    assert _modes(out) == dict.fromkeys(reports, 0o644)
    # two outputs at one name: refused before anything is written
    assert main(["validate", str(proposal), "--json", str(tmp_path / "x.txt"), "--markdown",
                 str(tmp_path / "x.txt")]) == 2
    assert "autre sortie" in capsys.readouterr().err and not (tmp_path / "x.txt").exists()


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o027, 0o640)])
def test_normalise_writes_with_the_umask_mode_and_never_over_the_file_it_reads(proposal, tmp_path, capsys,
                                                                              umask, mode):
    old = os.umask(umask)
    try:
        out = tmp_path / "normalise.csv"
        assert main(["normalise", "--file", str(proposal), "--out", str(out)]) == 0
        assert stat.S_IMODE(out.stat().st_mode) == mode
        original = proposal.read_bytes()
        assert main(["normalise", "--file", str(proposal), "--out", str(proposal)]) == 2
        assert "fichier d'entrée" in capsys.readouterr().err and proposal.read_bytes() == original
    finally:
        os.umask(old)


def test_compare_writes_a_readable_workbook_never_over_a_listing(sample_listing, tmp_path, umask_022, capsys):
    new = tmp_path / "nouvelle.csv"
    shutil.copy(sample_listing, new)
    out = tmp_path / "evolutions.xlsx"
    assert main(["compare", str(sample_listing), str(new), "--xlsx", str(out)]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    capsys.readouterr()
    hard = tmp_path / "nouvelle.xlsx"  # a hard link to an input is that input
    os.link(new, hard)
    assert main(["compare", str(sample_listing), str(new), "--xlsx", str(hard)]) == 2
    assert "fichier d'entrée" in capsys.readouterr().err and hard.read_bytes() == sample_listing.read_bytes()


def test_apl_writes_readable_tables_and_never_over_its_listing(sample_listing, tmp_path, umask_022, capsys):
    out = tmp_path / "apl" / "apl.csv"
    assert main(["apl", "--out", str(out), "--listing", str(sample_listing)]) == 0
    assert _modes(out.parent) == {"apl.csv": 0o644, "apl.meta.json": 0o644, "apl_cpts.csv": 0o644,
                                  "apl_cpts.meta.json": 0o644}
    capsys.readouterr()
    listing = tmp_path / "liste.csv"
    shutil.copy(sample_listing, listing)
    assert main(["apl", "--out", str(listing), "--listing", str(listing)]) == 2
    assert "fichier d'entrée" in capsys.readouterr().err
    assert listing.read_bytes() == sample_listing.read_bytes()


# ------------------------------------------------------------------------------------------
# A full disk names the path
# ------------------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 64 KiB tmpfs: writing a diagnosis or a map fills it."""
    mount = tmp_path / "petit_disque"
    mount.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("pas de commande mount")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"montage d'un tmpfs non permis ici ({done.stderr.strip()})")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def test_a_full_disk_during_coverage_names_the_folder_and_leaves_nothing(sample_listing, small_disk, capsys):
    out = small_disk / "diagnostic"
    assert main(["coverage", str(sample_listing), *AREA, "--out", str(out), "--no-maps"]) == 2
    err = capsys.readouterr().err
    assert f"erreur : {out} : écriture impossible : le disque est plein" in err, err
    assert "Traceback" not in err and "erreur inattendue" not in err
    assert list(small_disk.iterdir()) == []  # no staging folder, no half-written file


def test_a_full_disk_during_map_or_validate_names_the_file(sample_listing, proposal, small_disk, capsys):
    page = small_disk / "carte.html"
    assert main(["map", str(sample_listing), *AREA, "--html", str(page)]) == 2
    err = capsys.readouterr().err
    assert f"erreur : {page} : écriture impossible : le disque est plein" in err, err
    report = small_disk / "rapport.html"
    assert main(["validate", str(proposal), "--json", str(small_disk / "r.json"), "--html", str(report)]) == 2
    err = capsys.readouterr().err
    assert f"erreur : {report} : écriture impossible : le disque est plein" in err, err
    assert list(small_disk.iterdir()) == []  # each file complete or absent: the JSON is not left alone
