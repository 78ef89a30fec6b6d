"""Sphinx configuration: the reference site, built offline and strictly (``-W``).

Build: ``python -m sphinx -W --keep-going -b html docs docs/_build/html`` (also in ``.ci/run``).
The narrative pages are the Markdown files of ``docs/`` (MyST); the API reference is generated from
the numpydoc docstrings of the public modules (``docs/api/*.rst``).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

project = "cpts_geo"
author = "cpts_geo contributors"
copyright = "2026, cpts_geo contributors"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "img/*.md"]
language = "en"

# offline: no intersphinx, no remote images, no external theme assets
html_theme = "alabaster"
html_static_path: list[str] = []
html_show_sourcelink = False

autodoc_typehints = "none"  # numpydoc's Parameters section carries the types
autodoc_member_order = "bysource"
autosummary_generate = False
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]
suppress_warnings = [
    # docs pages link to repository files outside docs/ (data READMEs, examples): kept as links
    "myst.xref_missing",
]
