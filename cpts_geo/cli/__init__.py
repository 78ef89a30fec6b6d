"""Command-line interface ``cpts-geo``: one module per sub-command, each exposing
``register(subparsers)`` that adds its parser and sets ``func`` (returning an exit code).

Exit codes of every command: 0 done, 1 a validation check blocks (``validate``), 2 an anticipated
failure (bad input, missing or unreadable file, impossible output path, invalid option value:
one French message naming the file or option and the value), 3 an unexpected error (a bug: a
short French message and the path of a log file holding the traceback).
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import datetime as dt
import importlib
import sys
import tempfile
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path

#: sub-command modules of cpts_geo.cli, in help order
COMMANDS = ("demo", "normalise", "coverage", "map", "apl", "validate", "compare", "app")

#: argparse's own messages in French (argparse takes them through gettext)
ARGPARSE_FR = {
    "usage: ": "utilisation : ",
    # section titles: argparse appends ":" itself, the space gives French "options :"
    "options": "options ",
    "positional arguments": "arguments ",
    "show this help message and exit": "affiche cette aide et quitte",
    "show program's version number and exit": "affiche la version de cpts-geo et quitte",
    "%(prog)s: error: %(message)s\n": "%(prog)s : erreur : %(message)s\n",
    "the following arguments are required: %s": "arguments obligatoires manquants : %s",
    "unrecognized arguments: %s": "arguments non reconnus : %s",
    "invalid choice: %(value)r (choose from %(choices)s)":
        "choix invalide : %(value)r (choix possibles : %(choices)s)",
    "invalid %(type)s value: %(value)r": "valeur invalide (%(type)s attendu) : %(value)r",
    "argument %(argument_name)s: %(message)s": "argument %(argument_name)s : %(message)s",
    "expected one argument": "une valeur attendue",
    "expected at least one argument": "au moins une valeur attendue",
    "expected at most one argument": "au plus une valeur attendue",
    "ambiguous option: %(option)s could match %(matches)s":
        "option ambiguë : %(option)s peut désigner %(matches)s",
    "not allowed with argument %s": "incompatible avec l'argument %s",
    "one of the arguments %s is required": "l'un des arguments %s est obligatoire",
    "ignored explicit argument %r": "valeur ignorée : %r",
    "can't open '%(filename)s': %(error)s": "impossible d'ouvrir « %(filename)s » : %(error)s",
    "unknown parser %(parser_name)r (choices: %(choices)s)":
        "commande inconnue %(parser_name)r (commandes : %(choices)s)",
}

#: characters a legacy console (e.g. Windows cp1252) may lack, and their closest fallback
CONSOLE_FALLBACK = {"\u202f": "\u00a0", "≤": "<=", "≥": ">=", "→": "->", "←": "<-", "—": "-",
                    "–": "-", "’": "'", "…": "...", "œ": "oe", "Œ": "OE", "²": "2", "×": "x"}


def _console_fallback(exc: UnicodeError) -> tuple[str, int]:
    bad = exc.object[exc.start:exc.end]
    return "".join(CONSOLE_FALLBACK.get(ch, "?") for ch in bad), exc.end


codecs.register_error("cpts_geo_console", _console_fallback)


@contextlib.contextmanager
def french_argparse() -> Iterator[None]:
    """argparse speaks French inside this block (its messages go through ``argparse._``)."""
    saved = argparse._
    argparse._ = lambda text: ARGPARSE_FR.get(text, text)
    try:
        yield
    finally:
        argparse._ = saved


#: French placeholders of option values (argparse would show the English option name upper-cased)
METAVARS_FR = {
    "file": "FICHIER", "column": "COLONNE", "sheet": "FEUILLE", "header_row": "LIGNE", "out": "SORTIE",
    "region": "RÉGION", "department": "DÉP", "stage": "STADE", "cpts_col": "COLONNE", "code_col": "COLONNE",
    "apl": "FICHIER", "apl_cog": "AAAA", "apl_year": "AAAA", "color_by": "COLONNE", "html": "FICHIER",
    "png": "FICHIER", "pdf": "FICHIER", "title": "TITRE", "tiles": "FOND", "tolerance": "MÈTRES",
    "listing_date": "DATE", "supply": "FICHIER", "supply_column": "COLONNE", "supply_code_column": "COLONNE",
    "supply_cog": "AAAA", "population": "FICHIER", "population_column": "COLONNE", "population_cog": "AAAA",
    "travel_times": "FICHIER", "profession": "PROFESSION", "steps": "PALIERS", "per": "N", "speed": "KM/H",
    "detour": "FACTEUR", "name": "NOM", "threshold": "PART", "port": "PORT", "host": "ADRESSE",
    "name_col": "COLONNE", "dep_col": "COLONNE", "stage_col": "COLONNE", "members": "LISTE",
}


def _french_metavars(parser: argparse.ArgumentParser) -> None:
    """Arguments left without a metavar get a French placeholder (:data:`METAVARS_FR`)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _french_metavars(sub)
        elif action.metavar is None and action.nargs != 0 and action.choices is None and action.dest in METAVARS_FR:
            action.metavar = METAVARS_FR[action.dest]


def _version() -> str:
    from cpts_geo._version import __version__

    return __version__


def build_parser() -> argparse.ArgumentParser:
    with french_argparse():
        parser = argparse.ArgumentParser(
            prog="cpts-geo",
            description="Diagnostic territorial des CPTS : périmètres, couverture, zones blanches, "
                        "indicateurs, cartes et vérification d'un territoire proposé.",
            epilog="Codes de sortie : 0 terminé, 1 une vérification bloque (validate), 2 entrée, "
                   "fichier ou option invalide, 3 erreur inattendue. Aide d'une commande : "
                   "cpts-geo COMMANDE --help. Limites de lecture des fichiers (taille, lignes, "
                   "caractères par cellule…) : variable d'environnement CPTS_GEO_LIMITS, "
                   "ex. CPTS_GEO_LIMITS=\"rows=5000000\".",
        )
        parser.add_argument("--version", action="version", version=f"cpts-geo {_version()}",
                            help="affiche la version de cpts-geo et quitte")
        sub = parser.add_subparsers(dest="command", metavar="COMMANDE", title="commandes ")
        for name in COMMANDS:
            try:
                module = importlib.import_module(f"cpts_geo.cli.{name}")
            except ModuleNotFoundError as exc:
                if exc.name == f"cpts_geo.cli.{name}":
                    continue  # command not shipped in this version
                raise
            module.register(sub)
        _french_metavars(parser)
    return parser


def _os_message(exc: OSError) -> str:
    path = exc.filename if exc.filename is not None else ""
    if isinstance(exc, FileNotFoundError):
        return f"fichier ou dossier introuvable : {path}"
    if isinstance(exc, PermissionError):
        return f"accès refusé (droits insuffisants, ou fichier ouvert dans un autre programme) : {path}"
    if isinstance(exc, IsADirectoryError):
        return f"un dossier a été donné là où un fichier est attendu : {path}"
    if isinstance(exc, NotADirectoryError):
        return f"chemin impossible (une partie du chemin est un fichier, pas un dossier) : {path}"
    if isinstance(exc, FileExistsError):
        return f"existe déjà : {path}"
    return f"erreur d'entrée-sortie ({exc.strerror or exc})" + (f" : {path}" if path != "" else "")


def _log_bug(exc: BaseException) -> Path:
    """Write the traceback of an unexpected error to a log file outside any output folder."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = Path(tempfile.gettempdir()) / f"cpts-geo-erreur-{stamp}.log"
    path.write_text("cpts-geo " + _version() + "\n" + " ".join(sys.argv) + "\n\n"
                    + "".join(traceback.format_exception(exc)), encoding="utf-8")
    return path


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings reach the user as one French line, without Python source paths."""
    print(f"attention : {message}", file=file or sys.stderr)


def _safe_console() -> None:
    """Never fail printing on a console that cannot encode a character (cp1252, ascii…)."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure") and (stream.encoding or "").lower().replace("-", "") != "utf8":
            stream.reconfigure(errors="cpts_geo_console")


def main(argv: list[str] | None = None) -> int:
    """Run ``cpts-geo`` with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    from cpts_geo.errors import CptsGeoError

    _safe_console()
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    with french_argparse():
        if not argv:
            parser.print_help()
            return 0
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # --help, --version (0) or a bad option (2)
            return int(exc.code or 0)
        if getattr(args, "func", None) is None:
            parser.print_help()
            return 0
    saved = warnings.showwarning
    warnings.showwarning = _show_warning
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # output piped into `head` and the like
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except CptsGeoError as exc:  # library errors name parameters; here they name flags
        from cpts_geo.cli.options import flag_message

        print(f"erreur : {flag_message(exc, args.command)}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"erreur : {_os_message(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrompu", file=sys.stderr)
        return 130
    except Exception as exc:  # the one catch-all: a bug, logged with its traceback
        log = _log_bug(exc)
        print(f"erreur inattendue (défaut de cpts-geo) : {type(exc).__name__}: {exc}\n"
              f"Le détail technique est enregistré dans {log} ; joignez ce fichier à votre "
              "signalement.", file=sys.stderr)
        return 3
    finally:
        warnings.showwarning = saved


if __name__ == "__main__":
    sys.exit(main())
