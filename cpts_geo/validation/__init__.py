"""Validation of a proposed CPTS territory before submission to the ARS.

:func:`validate_territory` returns a :class:`ValidationReport` (checks with stable ids, French
messages, figures, JSON / Markdown / self-contained HTML output, what-if variants).

- :mod:`~cpts_geo.validation.inputs`: reading the proposal and the existing listing
- :mod:`~cpts_geo.validation.context`: the existing listing prepared once for many proposals
- :mod:`~cpts_geo.validation.checks`: the checks
- :mod:`~cpts_geo.validation.report`: :func:`validate_territory` and the report object
- :mod:`~cpts_geo.validation.render`: terminal text, Markdown and HTML
"""

from cpts_geo.validation.checks import Check
from cpts_geo.validation.context import ExistingListing, prepare_existing
from cpts_geo.validation.inputs import read_proposal
from cpts_geo.validation.report import ValidationReport, validate_territory

__all__ = [
    "Check",
    "ExistingListing",
    "ValidationReport",
    "prepare_existing",
    "read_proposal",
    "validate_territory",
]
