"""docs/architecture.md draws the layers of tests/test_architecture.py: every module of LAYERS
appears in the drawing, in the layer the test gives it."""

from __future__ import annotations

import re
from pathlib import Path

from test_architecture import LAYERS

DOC = Path(__file__).resolve().parent.parent / "docs" / "architecture.md"


def _drawing() -> dict[int, str]:
    """Text of each numbered layer of the first code block."""
    block = DOC.read_text(encoding="utf-8").split("```")[1]
    layers: dict[int, str] = {}
    current = None
    for line in block.splitlines():
        m = re.match(r"^(\d) ", line)
        if m:
            current = int(m.group(1))
        if current is not None:
            layers[current] = layers.get(current, "") + line + "\n"
    return layers


def test_the_drawing_places_every_module_in_its_tested_layer():
    drawing = _drawing()
    assert sorted(drawing) == list(range(len(LAYERS)))
    for rank, entries in enumerate(LAYERS):
        for module in entries:
            name = module.removeprefix("cpts_geo.")
            if name == "_version":
                continue
            assert re.search(rf"(?<![\w/]){re.escape(name)}\b", drawing[rank]), (name, rank)
