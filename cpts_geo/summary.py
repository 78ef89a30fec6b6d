"""French text of a coverage diagnosis (terminal summary), through :mod:`cpts_geo.fr`.

:func:`format_summary` is ``Diagnosis.text()``."""

from __future__ import annotations

from cpts_geo import fr
from cpts_geo.coverage import Diagnosis, register_presenter


@register_presenter("text")
def format_summary(d: Diagnosis) -> str:
    """Short French summary of a diagnosis (populations municipales, COG of the reference)."""
    s = d.summary
    n_white = s["white_zones"]
    n_enclosed = s["white_zones_enclosed"]
    bands = ", ".join(f"taille {k} : {fr.integer(v)}" for k, v in s["bands"].items())
    lines = [
        f"Diagnostic de couverture CPTS — {s['listing'] or 'liste'} ({s['area']})",
        f"Référentiel : COG {s['cog']}, populations légales {s['population_year']} (municipale)",
        f"  CPTS : {fr.integer(s['cpts'])} — tailles ACI : {bands}",
        f"  Communes couvertes : {fr.integer(s['covered_units'])} / {fr.integer(s['units'])} "
        f"({fr.percent(s['covered_units_share'])})",
        f"  Population couverte : {fr.integer(s['covered_population'])} / "
        f"{fr.inhabitants(s['population'])} ({fr.percent(s['covered_population_share'])})",
    ]
    if s.get("covered_population_share_aci") is not None:
        lines.append(f"  dont CPTS à l'ACI signé : {fr.percent(s['covered_population_share_aci'])} "
                     "de la population")
    lines.append(
        f"  Zones blanches : {fr.integer(n_white)} ({fr.plural(n_enclosed, 'enclavée')}, "
        f"{fr.integer(n_white - n_enclosed)} en bordure), {fr.plural(s['white_units'], 'commune')}, "
        f"{fr.inhabitants(s['white_population'])}")
    if s["overlapping_units"]:
        n = len(s["overlapping_units"])
        living = int(d.overlaps["population"].fillna(0).sum())
        extra = s["double_counted_population"]
        lines.append(f"  Chevauchements : {fr.plural(n, 'commune')} dans plusieurs CPTS, où "
                     f"{_agree(living, 'vit', 'vivent')} {fr.inhabitants(living)} ; comptés dans chacune de "
                     f"leurs CPTS, ils ajoutent {fr.inhabitants(extra)} à la somme des populations des CPTS")
    else:
        lines.append("  Chevauchements : aucun")
    if s["cpts_with_several_parts"]:
        lines.append(f"  CPTS en plusieurs morceaux : {', '.join(s['cpts_with_several_parts'])}")
    if s["cpts_with_enclaves"]:
        lines.append(f"  CPTS avec enclaves : {', '.join(s['cpts_with_enclaves'])}")
    if s["converted_codes"]:
        lines.append("  Codes convertis : " + ", ".join(f"{k} → {v}" for k, v in s["converted_codes"].items()))
    if s["duplicates"]:
        lines.append(f"  Doublons ignorés : {fr.integer(len(s['duplicates']))} ({'; '.join(s['duplicates'][:3])})")
    if s["refused_codes"]:
        lines.append(f"  Codes refusés : {fr.integer(len(s['refused_codes']))}")
        lines += [f"    {k} : {v}" for k, v in list(s["refused_codes"].items())[:10]]
    if s["units_without_geometry"]:
        lines.append(f"  Communes sans contour (comptées en population) : {', '.join(s['units_without_geometry'])}")
    return "\n".join(lines)


def _agree(n: float, singular: str, plural_form: str) -> str:
    """The verb agreed with ``n`` (French rule: singular below 2)."""
    return fr.plural(n, singular, plural_form, with_number=False)
