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
    """An invalid option or argument value: the message names the option and the value.

    >>> str(OptionError("--speed", 0, "doit être strictement positive"))
    'option --speed : doit être strictement positive (valeur « 0 »)'
    """

    def __init__(self, option: str, value: object, message: str) -> None:
        self.option, self.value, self.message = option, value, message
        super().__init__(f"option {option} : {message} (valeur « {value} »)")


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
