"""Shared by the map tests: the coverage diagnosis of the real PACA sample listing."""

from __future__ import annotations

import functools
from pathlib import Path

import cpts_geo

SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "cpts_paca_sample" / "cpts_04_05_84.csv"
#: the departments the sample covers whole (three of its CPTS reach into 06, 13 and 83)
SAMPLE_DEPARTMENTS = ["04", "05", "84"]


@functools.cache
def sample_diagnosis() -> cpts_geo.Diagnosis:
    """Diagnosis of the 21 CPTS of the sample listing on departments 04, 05, 84."""
    return cpts_geo.diagnose(cpts_geo.read_members(SAMPLE), departments=SAMPLE_DEPARTMENTS)
