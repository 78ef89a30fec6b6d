"""``cpts-geo demo``: a short tour of the embedded reference."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="Présente le référentiel communal embarqué (COG 2026).")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cpts_geo import fr
    from cpts_geo.codes import STATUS_LABELS, normalise_codes
    from cpts_geo.reference import load_communes

    communes = load_communes()
    a = communes.attrs
    kinds = communes["kind"].value_counts()
    print(f"Référentiel communal : COG {a['cog']}, populations légales {a['population_year']} (municipale)")
    print(f"  communes : {fr.integer(kinds.get('commune', 0))} "
          f"(dont {fr.integer((communes['zone'] == 'drom').sum())} dans les DROM)")
    print(f"  arrondissements municipaux (Paris, Lyon, Marseille) : {fr.integer(kinds.get('arrondissement', 0))}")
    print(f"  collectivités d'outre-mer sans géométrie : {fr.integer(kinds.get('com_outre_mer', 0))}")
    nogeo = communes[communes.geometry.isna() & (communes["kind"] == "commune")]
    for code, nom, why in zip(nogeo["code"], nogeo["nom"], nogeo["geometry_source"], strict=True):
        print(f"  sans contour : {code} {nom} — {why}")
    pop = communes.loc[communes["kind"] == "commune", "population"].sum()
    print(f"  population municipale totale : {fr.integer(pop)}")
    sample = normalise_codes(["05120", "1001", "Forcalquier (04)", "04999"])
    print("Normalisation de codes (exemples) :")
    for row in sample.itertuples():
        print(f"  {row.input!s:>18} → {row.code or '—':>5}  [{STATUS_LABELS.get(row.status, row.status)}] {row.message or ''}")
    return 0
