"""The one error type of cpts_geo and its subclasses.

Every anticipated failure (a file that cannot be read, a missing column, a bad value, an invalid
option, an output that cannot be written) raises a :class:`CptsGeoError` whose message is French
and names what is wrong: the file, the row and the value, or the option and the value. The CLI
prints that message and exits 2; anything else is a bug (exit 3, traceback in a log file).

Submodules import from here, never from the package root.
"""

from __future__ import annotations


class CptsGeoError(ValueError):
    """Base class of every error cpts_geo raises on purpose (a ``ValueError``)."""


class InputError(CptsGeoError):
    """Bad input: the message names the source (file name), the 1-based row and the value.

    >>> str(InputError("code inconnu", "liste.csv", 12, "99999"))
    'liste.csv, ligne 12 : code inconnu (valeur « 99999 »)'
    """

    def __init__(self, message: str, source: str | None = None, row: int | None = None,
                 value: object = None) -> None:
        self.message, self.source, self.row, self.value = message, source, row, value
        where = source or "entrée"
        if row is not None:
            where += f", ligne {row}"
        text = f"{where} : {message}"
        if value is not None:
            text += f" (valeur « {value} »)"
        super().__init__(text)


class LimitError(InputError):
    """An input beyond a reading limit (:class:`cpts_geo.io.limits.ReadLimits`): the message names
    the limit, its value and how to raise it; ``limit`` is the limit's name (``"rows"``…)."""

    def __init__(self, message: str, source: str | None = None, row: int | None = None,
                 value: object = None, *, limit: str = "") -> None:
        self.limit = limit
        super().__init__(message, source, row, value)


class MembersError(InputError):
    """A CPTS listing that cannot be read (kept name of the first reader's error)."""


class OptionError(CptsGeoError):
    """An invalid argument value: the message names the Python parameter and the value.

    Library functions name their parameter (``by``, ``paper``…); only the command line speaks of
    flags: a name starting with ``-`` is a flag, raised by the CLI itself, and the CLI translates
    a parameter into its flag when it prints the error (``cpts_geo.cli.options.PARAMETER_FLAGS``).

    >>> str(OptionError("paper", "A5", "format de papier inconnu (A4 ou A3)"))
    'paramètre `paper` : format de papier inconnu (A4 ou A3) (valeur « A5 »)'
    >>> str(OptionError("--speed", 0, "doit être strictement positive"))
    'option --speed : doit être strictement positive (valeur « 0 »)'
    """

    def __init__(self, option: str, value: object, message: str) -> None:
        self.option, self.value, self.message = option, value, message
        super().__init__(f"{option_label(option)} : {message} (valeur « {value} »)")

    @property
    def parameter(self) -> str:
        """The Python parameter (or, raised by the CLI, the flag) the error is about."""
        return self.option


def option_label(name: str) -> str:
    """``paramètre `by``` for a Python parameter, ``option --par`` for a command-line flag.

    >>> option_label("by"), option_label("--par")
    ('paramètre `by`', 'option --par')
    """
    return f"option {name}" if name.startswith("-") else f"paramètre `{name}`"


class NotFoundError(CptsGeoError, KeyError):
    """A code or an identifier asked for that does not exist here (also a ``KeyError``, as a
    dictionary lookup): the message names the value.

    >>> str(NotFoundError("04999", "code inconnu du COG 2026"))
    '04999 : code inconnu du COG 2026'
    """

    def __init__(self, value: object, message: str) -> None:
        self.value, self.message = value, message
        super().__init__(f"{value} : {message}")

    __str__ = BaseException.__str__  # KeyError would quote the message


class OutputError(CptsGeoError):
    """An output that cannot be written (path, permission, file held open by another program)."""

    def __init__(self, path: object, message: str) -> None:
        self.path, self.message = path, message
        super().__init__(f"{path} : {message}")
