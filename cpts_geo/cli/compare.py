"""``cpts-geo compare``: what changed between two versions of a CPTS listing."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

#: French headers of the comparison table (stdout and workbook)
HEADERS = {
    "cpts": "CPTS", "previous_name": "ancien nom", "status": "évolution", "n_before": "nb communes avant",
    "n_after": "nb communes après", "added": "communes ajoutées", "removed": "communes retirées",
    "population_before": "population avant", "population_after": "population après",
    "band_before": "taille ACI avant", "band_after": "taille ACI après",
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="Compare deux versions d'une liste de CPTS : créées, supprimées, renommées, modifiées.",
        description="Lit deux versions d'une liste de CPTS (ANCIENNE puis NOUVELLE, mêmes formats que coverage) "
        "et affiche les CPTS créées, supprimées, renommées (au moins la moitié de communes en commun) et "
        "modifiées, avec les communes ajoutées et retirées, la population (municipale légale) et la taille "
        "ACI avant et après ; --xlsx écrit le même tableau dans un classeur.",
    )
    p.add_argument("old", type=Path, metavar="ANCIENNE", help="ancienne version de la liste")
    p.add_argument("new", type=Path, metavar="NOUVELLE", help="nouvelle version de la liste")
    p.add_argument("--xlsx", type=Path, metavar="FICHIER", help="classeur à écrire (feuilles « Évolutions », "
                   "« Communes » et « Départements » : ceux que chaque liste couvre)")
    p.add_argument("--all", action="store_true", help="afficher aussi les CPTS inchangées")
    from cpts_geo.cli.options import add_listing_options

    add_listing_options(p)  # the same reading options for both versions
    p.set_defaults(func=run)


def comparison_table(cmp: pd.DataFrame) -> pd.DataFrame:
    """The comparison as a French table (one row per CPTS, codes joined by « ; »)."""
    out = cmp.copy()
    for col in ("added", "removed"):
        out[col] = out[col].map(lambda t: "; ".join(t))
    out["previous_name"] = [p if p != c else "" for p, c in zip(out["previous_name"], out["cpts"], strict=True)]
    for col in ("band_before", "band_after"):
        out[col] = out[col].map(lambda b: f"taille {b}" if b else "")
    return out[list(HEADERS)].rename(columns=HEADERS)


def unit_changes(cmp: pd.DataFrame) -> pd.DataFrame:
    """One row per commune added to or removed from a CPTS (code, name, CPTS, change)."""
    import pandas as pd

    from cpts_geo import reference

    noms = reference.units()["nom"]
    rows = [(c, code, noms.get(code, ""), change)
            for c, added, removed in zip(cmp["cpts"], cmp["added"], cmp["removed"], strict=True)
            for change, codes in (("ajoutée", added), ("retirée", removed)) for code in codes]
    return pd.DataFrame(rows, columns=["CPTS", "code", "commune", "changement"])


def department_coverage(cmp: pd.DataFrame) -> pd.DataFrame:
    """One row per department either listing covers: code, name, which listing covers it
    (« les deux », « l'ancienne seule », « la nouvelle seule »): the « Départements » sheet."""
    import pandas as pd

    from cpts_geo import reference

    names = reference.load_departements().set_index("code")["nom"]
    rows = [(d, names.get(d, ""), which)
            for key, which in (("departments_both", "les deux"), ("departments_only_old", "l'ancienne seule"),
                               ("departments_only_new", "la nouvelle seule"))
            for d in cmp.attrs.get(key) or []]
    return pd.DataFrame(sorted(rows), columns=["code", "département", "couvert par la liste"])


def format_comparison(cmp: pd.DataFrame, show_all: bool = False) -> str:
    """French text of a comparison (``compare_listings``)."""
    from cpts_geo import fr, reference
    from cpts_geo.compare import OUTSIDE_NEW, OUTSIDE_OLD

    noms = reference.units()["nom"]
    counts = cmp["status"].value_counts()
    parts = [fr.plural(counts.get(k, 0), k if k != "inchangée" else "inchangée", None)
             for k in ("créée", "supprimée", "renommée", "modifiée", "inchangée")]
    compared = len(cmp) - counts.get(OUTSIDE_OLD, 0) - counts.get(OUTSIDE_NEW, 0)
    head = [f"Comparaison de deux listes de CPTS (COG {cmp.attrs.get('cog', reference.COG_YEAR)}) : "
            f"{fr.plural(compared, 'CPTS')} dans les départements que les deux listes couvrent — " + ", ".join(parts)]
    dep_names = reference.load_departements().set_index("code")["nom"]
    both = cmp.attrs.get("departments_both") or []
    if both:
        head.append("  Départements couverts par les deux listes : "
                    + fr.enumeration([f"{d} {dep_names.get(d, '')}".strip() for d in both]))
    for key, which, status in (("departments_only_old", "l'ancienne", OUTSIDE_NEW),
                               ("departments_only_new", "la nouvelle", OUTSIDE_OLD)):
        deps = cmp.attrs.get(key) or []
        if deps:
            n = int(counts.get(status, 0))
            head.append(f"  {fr.plural(len(deps), 'Département couvert', 'Départements couverts', with_number=False)} "
                        f"par {which} liste seule : "
                        + fr.enumeration([f"{d} {dep_names.get(d, '')}".strip() for d in deps])
                        + f" — {fr.plural(n, 'CPTS')} {status}, "
                        + fr.plural(n, "ni créée ni supprimée", "ni créées ni supprimées", with_number=False)
                        + (" (--all pour les lister)" if n and not show_all else ""))
    for r in cmp.itertuples():
        if r.status in ("inchangée", OUTSIDE_OLD, OUTSIDE_NEW) and not show_all:
            continue
        name = r.cpts if r.status != "renommée" else f"{r.previous_name} → {r.cpts}"
        if r.status in (OUTSIDE_OLD, OUTSIDE_NEW):  # listed by one listing only: nothing to compare
            n, pop = (r.n_after, r.population_after) if r.status == OUTSIDE_OLD else (r.n_before, r.population_before)
            head.append(f"  {r.status.capitalize()} : {name} — {fr.plural(n, 'commune')}, population "
                        f"{fr.inhabitants(pop)} (département que l'autre liste ne couvre pas)")
            continue
        line = f"  {r.status.capitalize()} : {name} — {fr.plural(r.n_before, 'commune')} → " \
               f"{fr.plural(r.n_after, 'commune')}, population {fr.integer(r.population_before)} → " \
               f"{fr.inhabitants(r.population_after)}"
        if r.band_before != r.band_after:
            line += f", taille ACI {r.band_before or '—'} → {r.band_after or '—'}"
        head.append(line)
        for label, codes in (("ajoutées", r.added), ("retirées", r.removed)):
            if codes and r.status not in ("créée", "supprimée", OUTSIDE_OLD, OUTSIDE_NEW):
                head.append(f"    communes {label} : " + fr.enumeration(
                    (f"{noms.get(c, '')} ({c})" for c in codes), limit=12))
    return "\n".join(head)


def run(args: argparse.Namespace) -> int:
    from cpts_geo.cli.checks import check_file_argument
    from cpts_geo.cli.options import listing_kwargs
    from cpts_geo.compare import compare_listings
    from cpts_geo.io.french import write_workbook
    from cpts_geo.members import read_members

    for option, value in (("ANCIENNE", args.old), ("NOUVELLE", args.new)):
        check_file_argument(value, option, file_only=True)
    from cpts_geo.cli.checks import check_outputs

    check_outputs({"--xlsx": args.xlsx}, [args.old, args.new])
    kw = listing_kwargs(args)
    cmp = compare_listings(read_members(args.old, **kw), read_members(args.new, **kw))
    print(format_comparison(cmp, show_all=args.all))
    if args.xlsx:
        from cpts_geo.io.atomic import output_file

        with output_file(args.xlsx, [args.old, args.new]) as tmp:  # complete or absent
            write_workbook(tmp, {"Évolutions": comparison_table(cmp), "Communes": unit_changes(cmp),
                                 "Départements": department_coverage(cmp)})
        print(f"Classeur écrit : {args.xlsx}")
    return 0
