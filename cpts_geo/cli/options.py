"""Options shared by the ``cpts-geo`` commands: one spelling, one meaning, one help text.

* :func:`add_area_options`: ``--region`` / ``--departement`` = **the analysed area** in every
  command (``coverage``, ``map``, ``validate``, ``app``); the former spellings ``--department``
  and ``--departments`` (``validate``) are still accepted. :func:`area_from_args` reads them.
* :func:`add_listing_options`: how a CPTS listing is read (columns, sheet, header row, code type,
  COG year), for every command that reads one; :func:`listing_kwargs` gives the matching keyword
  arguments of :func:`cpts_geo.read_members`, the analysed area included (homonyms are resolved
  with it).
"""

from __future__ import annotations

import argparse
import re

#: the one table from a Python parameter named by a library error to the flag of the command line
#: (:func:`flag_message`); a ``(command, parameter)`` key overrides the plain parameter
PARAMETER_FLAGS: dict[str | tuple[str, str], str] = {
    "by": "--par", "rates_by": "--par", "stage": "--etape", "rates_stage": "--etape",
    "stages": "--stage", "region": "--region", "departments": "--departement",
    "paper": "--paper", "color_by": "--color-by", "title": "--title", "tiles": "--tiles",
    "tolerance_m": "--tolerance", "csv_format": "--csv-format", "code_type": "--code-type",
    "cog_year": "--cog-year", "header_row": "--header-row", "sheet": "--sheet",
    "cpts_col": "--cpts-col", "code_col": "--code-col", "name_col": "--name-col",
    "dep_col": "--dep-col", "stage_col": "--stage-col", "replaces": "--replaces",
    "overlap": "--overlap", "threshold": "--threshold", "name": "--name",
    "apl_cog": "--apl-cog", "apl_year": "--apl-year", "irdes_cog": "--irdes-cog",
    "profession": "--profession", "steps": "--steps", "per": "--per", "speed_kmh": "--speed",
    "detour": "--detour", "shares": "--partage", "apl_estimate": "--apl-estimee",
    ("coverage", "apl"): "--apl", ("validate", "apl"): "--apl", ("app", "apl"): "--apl",
    ("coverage", "out_dir"): "--out", ("app", "existing"): "--existing",
    ("validate", "existing"): "--existing", ("normalise", "column"): "--column",
}


def flag_message(exc: BaseException, command: str | None) -> str:
    """The message of a library error for the command line: an
    :class:`~cpts_geo.errors.OptionError` about a Python parameter names its flag instead
    (``paramètre `by``` → ``option --par``, :data:`PARAMETER_FLAGS`); other errors unchanged."""
    from cpts_geo.errors import OptionError, option_label

    if not isinstance(exc, OptionError) or exc.option.startswith("-"):
        return str(exc)
    flag = PARAMETER_FLAGS.get((command or "", exc.option)) or PARAMETER_FLAGS.get(exc.option)
    if flag is None:
        return str(exc)
    return f"{option_label(flag)} : {exc.message} (valeur « {exc.value} »)"


#: spellings of the department option: the first is the one documented, the others are accepted
DEPARTMENT_FLAGS = ("--departement", "--department", "--departements", "--departments")
#: former spellings, named once in the help
_FORMER = "anciennes orthographes acceptées : --department, --departments"


def add_area_options(p: argparse.ArgumentParser, what: str = "analysé", default: str = "ceux de la liste") -> None:
    """``--region`` and ``--departement`` (repeatable, or several codes separated by commas,
    semicolons or spaces): the area the command analyses, maps or shows (``what``)."""
    fem = what[:-1] + "ée" if what.endswith("é") else what
    p.add_argument("--region", action="append", metavar="RÉGION",
                   help=f"code INSEE de la région {fem} (ex. 93), répétable")
    p.add_argument(DEPARTMENT_FLAGS[0], action="append", dest="department", metavar="DÉP",
                   help=f"code du département {what} (ex. 04), répétable ou séparés par des virgules ; "
                        f"défaut : {default} ; {_FORMER}")
    # the former spellings: same option, not repeated in the help
    p.add_argument(*DEPARTMENT_FLAGS[1:], action="append", dest="department", help=argparse.SUPPRESS)


def split_codes(values: list[str] | None) -> list[str] | None:
    """["04,05", "84"] → ["04", "05", "84"] (commas, semicolons and spaces separate codes)."""
    if not values:
        return None
    out = [c for v in values for c in re.split(r"[\s,;]+", str(v)) if c]
    return out or None


def area_from_args(args: argparse.Namespace) -> tuple[str | list[str] | None, list[str] | None]:
    """(region, departments) of ``--region`` / ``--departement`` as :func:`cpts_geo.diagnose`
    takes them: one region as a string, several as a list; departments checked against the COG
    ("4" read as "04"; an unknown code is an :class:`~cpts_geo.errors.OptionError`)."""
    from cpts_geo.cli.checks import check_departments, check_regions

    regions = check_regions(split_codes(getattr(args, "region", None)), "--region")
    deps = check_departments(split_codes(getattr(args, "department", None)), "--departement")
    region = regions[0] if regions and len(regions) == 1 else regions
    return region, deps


def area_departments(args: argparse.Namespace) -> list[str] | None:
    """Departments of the analysed area: those of ``--departement`` and of every ``--region``
    (None when neither is given). What homonym resolution and ``validate`` take."""
    from cpts_geo.reference import load_departements

    region, deps = area_from_args(args)
    if region is None and deps is None:
        return None
    regions = [region] if isinstance(region, str) else list(region or [])
    ref = load_departements()
    out = list(deps or [])
    out += ref.loc[ref["region"].astype(str).isin(regions), "code"].tolist()
    return sorted(dict.fromkeys(out))


def add_listing_options(p: argparse.ArgumentParser, stage: bool = True) -> None:
    """How a CPTS listing is read: ``--cpts-col``, ``--code-col``, ``--name-col``, ``--dep-col``,
    ``--stage-col`` (``stage``), ``--sheet`` (alias ``--couche``/``--layer``: layer of a GeoPackage), ``--header-row``, ``--code-type``, ``--cog-year``."""
    p.add_argument("--cpts-col", metavar="COLONNE", help="colonne du nom de la CPTS (sinon détectée)")
    p.add_argument("--code-col", metavar="COLONNE", help="colonne des codes ou noms de communes (sinon détectée)")
    p.add_argument("--name-col", metavar="COLONNE",
                   help="colonne des noms de communes, lue quand le code manque (sinon détectée)")
    p.add_argument("--dep-col", metavar="COLONNE",
                   help="colonne du département de chaque commune, qui départage les homonymes (sinon détectée)")
    if stage:
        p.add_argument("--stage-col", metavar="COLONNE",
                       help="colonne du stade de la CPTS (projet, pré-projet, ACI signé… ; sinon détectée)")
    p.add_argument("--sheet", "--couche", "--layer", dest="sheet", metavar="FEUILLE",
                   help="feuille du classeur ou couche du GeoPackage (sinon toutes celles qui contiennent une "
                   "liste, feuilles masquées exceptées, nommées dans le résumé)")
    p.add_argument("--header-row", type=int, metavar="LIGNE",
                   help="numéro de la ligne d'en-tête (1 = première ligne ; sinon trouvée sous les lignes de titre)")
    p.add_argument("--code-type", choices=("auto", "insee", "postal"), default="auto",
                   help="nature des codes de la liste : auto (défaut : une liste qui ressemble à des codes "
                   "postaux est refusée), insee, ou postal (chaque code postal → les communes qu'il dessert)")
    p.add_argument("--cog-year", type=int, metavar="AAAA",
                   help="année du COG dans lequel la liste est écrite (ex. 2024) ; défaut : COG 2026")


def listing_kwargs(args: argparse.Namespace) -> dict:
    """Keyword arguments of :func:`cpts_geo.read_members` from :func:`add_listing_options` and,
    when given, the analysed area (``area``: its departments, which resolve homonymous names)."""
    from cpts_geo.errors import OptionError

    header_row = getattr(args, "header_row", None)
    if header_row is not None and header_row < 0:
        raise OptionError("--header-row", header_row, "numéro de ligne attendu (1 = première ligne ; 0 = sans en-tête)")
    return {
        "cpts_col": getattr(args, "cpts_col", None), "code_col": getattr(args, "code_col", None),
        "name_col": getattr(args, "name_col", None), "dep_col": getattr(args, "dep_col", None),
        "stage_col": getattr(args, "stage_col", None), "sheet": getattr(args, "sheet", None),
        "header_row": header_row, "code_type": getattr(args, "code_type", "auto"),
        "cog_year": getattr(args, "cog_year", None), "area": area_departments(args),
    }


def read_and_diagnose(args: argparse.Namespace, progress) -> tuple:
    """The first steps of ``coverage`` and ``map``: read the listing (:func:`listing_kwargs`),
    diagnose it over the analysed area (``--region``/``--departement``, ``--stage``) and apply the
    shares of shared cities (``--partage``), each step reported by ``progress``; returns
    ``(members, diagnosis)``."""
    from cpts_geo.coverage import diagnose
    from cpts_geo.members import read_members

    region, departments = area_from_args(args)
    with progress.step("lecture de la liste"):
        members = read_members(args.members, **listing_kwargs(args))
    with progress.step("diagnostic de couverture"):
        diag = diagnose(members, region=region, departments=departments, stages=args.stage)
    if args.partage:
        from cpts_geo.shares import apply_shares

        diag = apply_shares(diag, args.partage)
    return members, diag
