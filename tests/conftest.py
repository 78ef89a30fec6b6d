"""Shared fixtures: the real embedded reference and the real PACA sample listing."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session")
def communes():
    import cpts_geo

    return cpts_geo.load_communes()


@pytest.fixture(scope="session")
def sample_listing() -> Path:
    """The 18 CPTS of the ARS PACA listing in 04, 05 and 84 (copied into examples/)."""
    return EXAMPLES / "cpts_paca_sample" / "cpts_04_05_84.csv"
