"""``cpts-geo apl``: APL-style accessibility (2SFCA, DREES method) of every commune."""

from __future__ import annotations

import argparse
import json
import sys
from fractions import Fraction
from pathlib import Path

from cpts_geo.errors import OptionError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "apl",
        help="Calcule une estimation de type APL (2SFCA, méthode DREES) pour chaque commune.",
        description=(
            "Estimation de type APL : par défaut effectifs BPE 2021 et temps de trajet estimés "
            "(distance à vol d'oiseau entre mairies × détour / vitesse). Ce n'est pas l'APL publié "
            "par la DREES (pour l'attacher aux CPTS : cpts-geo coverage --apl FICHIER)."
        ),
    )
    p.add_argument("--supply", type=Path, help="CSV de l'offre par commune (défaut : BPE 2021)")
    p.add_argument("--supply-column", help="colonne de l'offre dans --supply (ETP, activité, effectif)")
    p.add_argument("--supply-code-column", default="code", help="colonne des codes dans --supply (défaut : code)")
    p.add_argument("--supply-cog", type=int, default=None, help="année du COG des codes de --supply (défaut : 2026)")
    p.add_argument("--population", type=Path, help="CSV de population par commune (défaut : population municipale 2023)")
    p.add_argument("--population-column", help="colonne de population dans --population")
    p.add_argument("--population-cog", type=int, default=None, help="année du COG des codes de --population")
    p.add_argument("--travel-times", type=Path, help="CSV/Parquet des temps de trajet (colonnes from, to, minutes)")
    p.add_argument("--profession", default="generaliste", help="profession BPE (generaliste, infirmier, kinesitherapeute, sage_femme, dentiste, …)")
    from cpts_geo.rules import APL_DEFAULT_STEPS

    default = ",".join(f"{b:g}:{Fraction(w).limit_denominator(12)}" for b, w in APL_DEFAULT_STEPS.items())
    p.add_argument("--steps", default=None, help=f"paliers « borne:poids » en minutes, ex. « {default} » (défaut)")
    from cpts_geo import fr

    p.add_argument("--per", type=float, default=100_000,
                   help=f"résultat pour N habitants (défaut : {fr.integer(100_000)})")
    p.add_argument("--speed", type=float, default=None, help="vitesse moyenne supposée en km/h pour l'estimation des temps (défaut : 60)")
    p.add_argument("--detour", type=float, default=None, help="facteur de détour supposé (défaut : 1,3)")
    p.add_argument("--out", type=Path, required=True, help="fichier de sortie (.csv ou .parquet) ; métadonnées dans <nom>.meta.json")
    p.add_argument("--listing", type=Path, metavar="LISTE",
                   help="liste des CPTS : écrit aussi <sortie>_cpts.csv, l'APL estimée moyenne (pondérée par la "
                   "population) de chaque CPTS — une estimation cpts_geo, distincte de l'APL officielle DREES (--apl "
                   "de coverage)")
    p.add_argument("--csv-format", choices=("fr", "international"), default="fr",
                   help="fr : « ; » et virgule décimale, UTF-8 avec BOM (défaut) ; international : « , » et point")
    from cpts_geo.cli.options import add_listing_options

    add_listing_options(p)  # how --listing is read
    p.set_defaults(func=run)


def parse_steps(text: str) -> dict[float, float]:
    """"10:1,15:2/3,20:1/3" → {10.0: 1.0, 15.0: 0.666…, 20.0: 0.333…}."""
    steps = {}
    for part in text.split(","):
        try:
            bound, weight = part.split(":")
            steps[float(bound)] = float(Fraction(weight.strip()))
        except (ValueError, ZeroDivisionError) as exc:
            raise OptionError("--steps", part, "palier illisible (forme attendue 10:1,15:2/3,20:1/3, "
                              "bornes en minutes)") from exc
    return steps


def run(args: argparse.Namespace) -> int:
    from cpts_geo.cli.checks import check_file_argument

    for option, value in (("--supply", args.supply), ("--population", args.population), ("--travel-times", args.travel_times),
                          ("--listing", getattr(args, "listing", None))):
        check_file_argument(value, option, file_only=True)
    import pandas as pd

    from cpts_geo import fr
    from cpts_geo.indicators import supply as sup
    from cpts_geo.indicators import travel
    from cpts_geo.indicators.apl import check_apl_parameters, check_steps, compute_apl
    from cpts_geo.indicators.population import commune_population
    from cpts_geo.reference import COG_YEAR, load_communes

    if args.out.suffix.lower() not in (".csv", ".parquet"):
        raise OptionError("--out", args.out, "fichier .csv ou .parquet attendu (pas de classeur Excel pour ce tableau)")
    from cpts_geo.cli.checks import check_outputs
    from cpts_geo.indicators.apl_estimate import meta_path as estimate_meta

    inputs = [args.supply, args.population, args.travel_times, getattr(args, "listing", None)]
    per_cpts = args.out.with_name(args.out.stem + "_cpts.csv") if getattr(args, "listing", None) else None
    check_outputs({"--out": args.out, "--out (métadonnées)": args.out.with_name(args.out.stem + ".meta.json"),
                   "--out (par CPTS)": per_cpts,
                   "--out (métadonnées par CPTS)": estimate_meta(per_cpts) if per_cpts else None}, inputs)
    steps = parse_steps(args.steps) if args.steps else None
    if steps is not None:
        check_steps(steps, "--steps")
    detour = travel.DETOUR if args.detour is None else args.detour
    speed = travel.SPEED_KMH if args.speed is None else args.speed
    check_apl_parameters(args.per, detour, speed, ("--per", "--detour", "--speed"))
    supply = None
    if args.supply is not None:
        if not args.supply_column:
            print("--supply demande --supply-column (colonne de l'offre)", file=sys.stderr)
            return 2
        supply = sup.read_supply(args.supply, args.supply_column, code_col=args.supply_code_column,
                                 cog=args.supply_cog or COG_YEAR, source=args.supply.name)
    population = None
    if args.population is not None:
        population = commune_population(args.population, cog=args.population_cog or COG_YEAR,
                                           value_col=args.population_column, source=args.population.name)
    tt = None
    if args.travel_times is not None:
        if args.travel_times.suffix.lower() == ".parquet":
            tt = pd.read_parquet(args.travel_times)
        else:
            from cpts_geo.io.tables import read_table

            tt = read_table(args.travel_times, hints=("from", "to", "minutes"))
            tt.attrs = {}
        tt.attrs["source"] = args.travel_times.name
        tt.attrs["travel_time_source"] = f"fichier {args.travel_times.name}"
    result = compute_apl(
        supply, population, tt, steps, profession=args.profession, per=args.per,
        detour=detour, speed_kmh=speed,
    )
    ref = load_communes().set_index("code")
    a = result.attrs
    pop = (population if population is not None else commune_population()).reindex(result.index)
    sup_s = (supply if supply is not None else sup.load_supply(args.profession)).reindex(result.index)
    table = pd.DataFrame({
        "code": result.index,
        "nom": ref["nom"].reindex(result.index).to_numpy(),
        "dep": ref["dep"].reindex(result.index).to_numpy(),
        "population": pop.to_numpy(),
        "offre": sup_s.to_numpy(),
        "apl_estime": result.to_numpy(),
        "raison": [a["reasons"].get(c, "") for c in result.index],
    })
    from cpts_geo.io.atomic import output_file

    with output_file(args.out, inputs) as tmp:  # written beside, then renamed: never seen half-written
        if args.out.suffix.lower() == ".parquet":
            table.to_parquet(tmp, index=False)
        else:
            from cpts_geo.io.french import write_csv

            write_csv(table, tmp, args.csv_format)
    meta_path = args.out.with_name(args.out.stem + ".meta.json")
    with output_file(meta_path, inputs) as tmp:
        tmp.write_text(json.dumps(a, ensure_ascii=False, indent=1, default=str) + "\n", encoding="utf-8")
    ok = table["apl_estime"].notna()
    w = table.loc[ok, "population"].fillna(0)
    mean = float((table.loc[ok, "apl_estime"] * w).sum() / w.sum()) if w.sum() > 0 else float("nan")
    print(a["label"])
    print(f"  unités calculées : {fr.integer(int(ok.sum()))} sur {fr.integer(len(table))} ; unité : {a['unit']}")
    print(f"  moyenne pondérée par la population : {fr.number(mean, 2)}")
    print(f"  temps de trajet : {a['travel_time_source']}")
    if tt is not None:
        _table_coverage(a)
    print(f"  offre : {a.get('supply_source')} ; offre hors de portée de toute population : "
          f"{fr.number(a['supply_unreachable'], 1)}, non localisable : {fr.number(a['supply_unlocated'], 1)}")
    reasons = pd.Series(a["reasons"]).value_counts()
    for why, n in reasons.items():
        print(f"  non calculé ({fr.plural(n, 'unité', 'unités')}) : {why}")
    print(f"  écrit : {args.out} (+ {meta_path.name})")
    if getattr(args, "listing", None) is not None:
        _by_cpts(args, result, table)
    return 0


def _table_coverage(a: dict) -> None:
    """What a user travel-time table left out, and what it changed (never silent)."""
    from cpts_geo import fr

    print(f"    {fr.plural(a['pairs'], 'couple lu', 'couples lus')} entre communes distinctes")
    if a["pairs_ignored"]:
        print(f"    {fr.plural(a['pairs_ignored'], 'couple ignoré', 'couples ignorés')} : code hors de la population "
              f"et de l'offre ({fr.enumeration(a['pairs_ignored_codes'], limit=5)})")
    if a["absent_from_travel_times"]:
        one = a["absent_from_travel_times"] == 1
        its, their = ("sa", "son") if one else ("leur", "leur")
        print(f"    {fr.plural(a['absent_from_travel_times'], 'unité absente', 'unités absentes')} de la table "
              f"(par exemple {fr.enumeration(a['absent_from_travel_times_examples'], limit=5)}) : non "
              f"{fr.plural(a['absent_from_travel_times'], 'calculée', with_number=False)}, jamais à partir de {its} "
              f"seule offre ; {its} population ({fr.inhabitants(a['population_unlocated'])}) et {their} offre "
              f"({fr.number(a['supply_unlocated'], 1)}) ne comptent pas dans le calcul des autres")
    if a["pairs_one_way"]:
        print(f"    {fr.plural(a['pairs_one_way'], 'couple à portée donné', 'couples à portée donnés')} dans un "
              "seul sens (l'autre sens est compté comme hors de portée)")


def _by_cpts(args: argparse.Namespace, result: object, table: object) -> None:
    """The computed estimate averaged over the communes of each CPTS of ``--listing`` (weights:
    the population of the computation), written next to ``--out`` as ``<name>_cpts.csv`` with its
    parameters in ``<name>_cpts.meta.json`` (read back by ``coverage --apl-estimee``)."""
    import pandas as pd

    from cpts_geo import fr
    from cpts_geo.cli.options import listing_kwargs
    from cpts_geo.indicators.apl_estimate import apl_estimate_by_cpts, write_apl_estimate_by_cpts
    from cpts_geo.members import expand_cities, read_members

    members = expand_cities(read_members(args.listing, **listing_kwargs(args)))
    weights = pd.Series(table["population"].to_numpy(dtype=float), index=table["code"].to_numpy())
    per = apl_estimate_by_cpts(members, result, weights, listing=args.listing.name)
    per.attrs["commune_file"] = args.out.name
    path = args.out.with_name(args.out.stem + "_cpts.csv")
    meta = write_apl_estimate_by_cpts(per, path, getattr(args, "csv_format", "fr"),
                                      inputs=(args.listing, args.supply, args.population, args.travel_times))
    print(f"APL estimée par CPTS ({args.listing.name}, {result.attrs.get('unit', '')} ; moyenne pondérée par "
          "la population ; estimation cpts_geo, distincte de l'APL officielle de la DREES) :")
    for r in per.itertuples(index=False):
        print(f"  {r[0]} : {fr.number(r[1], 2)}")
    print(f"  écrit : {path} (+ {meta.name}) ; à joindre au diagnostic : cpts-geo coverage LISTE "
          f"--apl-estimee {path}")
