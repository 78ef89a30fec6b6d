"""Progress of the long steps of a CLI command, on stderr, in French.

The library itself never prints: its long functions take an optional ``step`` argument (a
callable returning a context manager, :data:`cpts_geo.export.Step`), and the CLI passes
:meth:`Progress.step`. Progress is shown only when stderr is a terminal (a redirected or piped
stderr stays clean); ``CPTS_GEO_PROGRESS=1`` forces it on (benchmarks read the step times from
it), ``CPTS_GEO_PROGRESS=0`` off.

    … lecture de la liste
    … lecture de la liste : terminé en 3,2 s
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from typing import TextIO

from cpts_geo import fr

#: environment variable forcing progress on ("1") or off ("0")
ENV = "CPTS_GEO_PROGRESS"


def enabled(stream: TextIO | None = None) -> bool:
    """True when progress should be printed on ``stream`` (default stderr)."""
    forced = os.environ.get(ENV, "").strip()
    if forced in ("0", "1"):
        return forced == "1"
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # closed or replaced stream
        return False


class Progress:
    """Prints « … étape » when a step starts and « … étape : terminé en 12,3 s » when it ends
    (with the elapsed time since the command started when it differs), or nothing when disabled."""

    def __init__(self, stream: TextIO | None = None, active: bool | None = None) -> None:
        self.stream = stream
        self.active = enabled(stream) if active is None else active
        self.start = time.perf_counter()

    def _print(self, text: str) -> None:
        stream = sys.stderr if self.stream is None else self.stream
        try:
            print(text, file=stream, flush=True)
        except (OSError, ValueError):  # a closed pipe never stops the work
            self.active = False

    @contextlib.contextmanager
    def step(self, label: str) -> Iterator[None]:
        """Context manager around one step of the command."""
        if not self.active:
            yield
            return
        self._print(f"… {label}")
        t = time.perf_counter()
        yield
        now = time.perf_counter()
        total = f" (depuis le début : {fr.number(now - self.start, 1)} s)" if t - self.start > 0.5 else ""
        self._print(f"… {label} : terminé en {fr.number(now - t, 1)} s{total}")
