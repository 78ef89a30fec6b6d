"""French text of a coverage diagnosis (terminal summary), through :mod:`cpts_geo.fr`.

:func:`format_summary` is ``Diagnosis.text()``."""

from __future__ import annotations

import re

from cpts_geo import fr, reference
from cpts_geo._checks import expect_diagnosis
from cpts_geo.coverage import Diagnosis, register_presenter
from cpts_geo.rules import ALL_STAGES, APL_THRESHOLDS, STAGE_ACI


@register_presenter("text")
def format_summary(d: Diagnosis) -> str:
    """Short French summary of a diagnosis (populations municipales, COG of the reference)."""
    expect_diagnosis(d, "d")
    s = d.summary
    n_white = s["white_zones"]
    n_enclosed = s["white_zones_enclosed"]
    bands = ", ".join(f"taille {k} : {fr.integer(v)}" for k, v in s["bands"].items())
    lines = [
        f"Diagnostic de couverture CPTS — {s['listing'] or 'liste'} ({s['area']})",
        f"Référentiel : COG {s['cog']}, populations légales {s['population_year']} (municipale) ; "
        f"cpts_geo {s['cpts_geo_version']}, référentiel {s['reference_build']}",
        *(f"  Lecture : {note}" for note in s.get("listing_notes") or []),
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
    for note in s.get("population_notes", []):
        lines.append(f"  Attention : {fr.plural(len(note['codes']), 'commune')} avec une population "
                     f"d'un autre millésime — {note['population_source']} "
                     f"({fr.inhabitants(note['population'])})")
    outside = s.get("cpts_outside_area") or []
    if outside:
        lines.append(f"  Hors de la zone analysée (non comptées) : {fr.plural(len(outside), 'CPTS')} — "
                     f"{fr.enumeration(outside)}")
    shared_out = s.get("shared_units_outside_area") or {}
    if shared_out:
        noms = reference.units()["nom"]
        lines.append("  Communes partagées hors de la zone analysée (non comptées) : "
                     + fr.enumeration(f"{noms.get(c, c)} ({c}, {fr.plural(len(k), 'CPTS')})"
                                      for c, k in shared_out.items()))
    lines += _stage_lines(d)
    lines += _department_lines(d)
    if "apl" in d.perimeters.columns:
        lines.append(_apl_line(d))
    if "apl_estime" in d.perimeters.columns:
        lines.append(_apl_estimate_line(d))
    if s["overlapping_units"]:
        lines.append(_overlap_line(d))
    else:
        lines.append("  Chevauchements : aucun")
    lines += _shared_city_lines(d)
    if s["cpts_with_several_parts"]:
        lines.append(f"  CPTS en plusieurs morceaux : {', '.join(s['cpts_with_several_parts'])}")
    if s.get("cpts_with_islands"):
        noms = reference.units()["nom"]
        lines.append("  Parties insulaires (séparées par la mer seulement, non comptées comme morceaux) : "
                     + " ; ".join(f"{c} : {fr.enumeration(noms.get(x, x) for x in codes)}"
                                  for c, codes in s["cpts_with_islands"].items()))
    if s["cpts_with_enclaves"]:
        lines.append(f"  CPTS avec enclaves : {', '.join(s['cpts_with_enclaves'])}")
    lines += _conversion_lines(d)
    if s["duplicates"]:
        lines.append(f"  Doublons ignorés : {fr.integer(len(s['duplicates']))} ({'; '.join(s['duplicates'][:3])})")
    if s["refused_codes"]:
        lines.append(f"  Codes refusés : {fr.integer(len(s['refused_codes']))}")
        lines += [f"    {k} : {v}" for k, v in list(s["refused_codes"].items())[:10]]
    if s.get("ignored_columns"):
        cols = s["ignored_columns"]
        lines.append("  Non lu dans la liste : " + ("la colonne " if len(cols) == 1 else "les colonnes ")
                     + fr.enumeration(f"« {c} »" for c in cols) + " (aucun rôle reconnu : nom de CPTS, commune, "
                     "département, stade, date, arrondissements)")
    if s["units_without_geometry"]:
        lines.append(f"  Communes sans contour (comptées en population) : {', '.join(s['units_without_geometry'])}")
    return "\n".join(lines)


def _overlap_line(d: Diagnosis) -> str:
    """Communes listed by several CPTS, the people living there and the extra count in the sum of
    the CPTS populations (communes split by a shares file are not counted twice)."""
    s = d.summary
    n = len(s["overlapping_units"])
    living = int(d.overlaps["population"].fillna(0).sum())
    extra = s["double_counted_population"]
    head = (f"  Chevauchements : {fr.plural(n, 'commune')} dans plusieurs CPTS, où "
            f"{_agree(living, 'vit', 'vivent')} {fr.inhabitants(living)}")
    split = (s.get("shares") or {}).get("units") or []
    n_split = int(d.overlaps["code"].isin(split).sum())
    if not n_split:
        return (f"{head} ; comptés dans chacune de leurs CPTS, ils ajoutent {fr.inhabitants(extra)} à la somme "
                "des populations des CPTS")
    where = f"{fr.plural(n_split, 'répartie', 'réparties', with_number=False)} selon {s['shares']['source']}"
    if n_split == n:
        return f"{head} ; {where}, aucun habitant n'est compté deux fois dans la somme des populations des CPTS"
    return (f"{head} ; {fr.plural(n_split, 'commune')} {where}, les autres, comptées dans chacune de leurs CPTS, "
            f"ajoutent {fr.inhabitants(extra)} à la somme des populations des CPTS")


def _shared_city_lines(d: Diagnosis, limit: int = 10) -> list[str]:
    """Cities listed whole by several CPTS (:mod:`cpts_geo.shares`): the whole city counted for
    each CPTS and the ACI band of an equal split, or the shares applied from a file."""
    cities = d.summary.get("shared_cities") or []
    out = []
    whole = [c for c in cities if c["method"] == "whole"]
    split = [c for c in cities if c["method"] == "table"]
    for c in split[:limit]:
        parts = ", ".join(f"{k} {fr.percent(v)}" for k, v in c["shares"].items())
        rest = (f" ; {fr.inhabitants(c['unassigned_population'])} dans aucune CPTS" if c["unassigned_population"]
                else "")
        out.append(f"  {c['nom']} ({c['code']}, {fr.inhabitants(c['population'])}) est répartie selon "
                   f"{d.summary['shares']['source']} : {parts}{rest}")
    for c in whole[:limit]:
        out.append(f"  {c['nom']} ({c['code']}, {fr.inhabitants(c['population'])}) est listée par "
                   f"{fr.plural(len(c['cpts']), 'CPTS')} sans répartition : la ville entière est comptée pour "
                   f"chaque CPTS ({fr.enumeration(c['cpts'])})")
    if len(whole) > limit:
        out.append(f"  … et {fr.plural(len(whole) - limit, 'autre ville', 'autres villes')} dans ce cas")
    p = d.perimeters
    if whole and "band_equal_split" in p.columns:
        held = {k for c in whole for k in c["cpts"]}
        rows = p[p["cpts"].isin(held)]
        items = [f"{r.cpts} : taille {r.band_equal_split} ({fr.inhabitants(r.population_equal_split)} au lieu de "
                 f"{fr.integer(r.population)})" for r in rows.head(limit).itertuples()]
        out.append("  Taille ACI avec un partage égal de ces villes entre leurs CPTS : " + " ; ".join(items)
                   + (" …" if len(rows) > limit else "") + " — pour donner les vraies parts : fichier de partage "
                   "(cpts-geo coverage --partage, cpts_geo.apply_shares)")
    return out


def _agree(n: float, singular: str, plural_form: str) -> str:
    """The verb agreed with ``n`` (French rule: singular below 2)."""
    return fr.plural(n, singular, plural_form, with_number=False)


def _apl_line(d: Diagnosis) -> str:
    """The official APL attached to the CPTS (``Diagnosis.write(apl=...)``, ``--apl``)."""
    apl = d.perimeters["apl"].astype(float)
    src = d.meta.get("sources", {}).get("apl") or {}
    where = ", ".join(str(x) for x in (src.get("sheet"), src.get("source")) if x)
    low = int((apl < APL_THRESHOLDS[0]).sum())
    known = apl.dropna()
    if known.empty:
        return f"  APL médecins généralistes (DREES{', ' + where if where else ''}) : aucune valeur pour ces CPTS"
    return (f"  APL médecins généralistes (DREES{', ' + where if where else ''}) : de "
            f"{fr.number(known.min(), 1)} à {fr.number(known.max(), 1)} consultations par an et par habitant "
            f"selon les CPTS ; {fr.plural(low, 'CPTS')} sous {fr.number(APL_THRESHOLDS[0], 1)}")


def _apl_estimate_line(d: Diagnosis) -> str:
    """The computed APL-style estimate attached with ``--apl-estimee`` (never the DREES APL)."""
    est = d.perimeters["apl_estime"].astype(float).dropna()
    src = d.meta.get("sources", {}).get("apl_estime") or {}
    what = f"APL estimée par cpts_geo ({src.get('source', 'fichier fourni')} ; estimation 2SFCA, pas l'APL de la DREES)"
    if est.empty:
        return f"  {what} : aucune valeur pour ces CPTS"
    unit = re.sub(r" \([^)]*\)", "", str(src.get("unit") or ""))  # the unit without its details
    return (f"  {what} : de {fr.number(est.min(), 1)} à {fr.number(est.max(), 1)} selon les CPTS "
            f"(connue pour {fr.integer(len(est))} sur {fr.plural(len(d.perimeters), 'CPTS')}"
            + (f" ; unité : {unit}" if unit else "") + ")")


def _stage_lines(d: Diagnosis) -> list[str]:
    """Coverage of the analysed area by the CPTS at each stage (when the listing gives stages)."""
    cov = d.coverage[(d.coverage["level"] == "zone") & (d.coverage["stages"] != ALL_STAGES)]
    if cov.empty:
        return []
    out = ["  Couverture par stade :"]
    for r in cov.itertuples():
        out.append(f"    {r.stages} : {fr.integer(r.covered_units)} / {fr.plural(r.units, 'commune')}, "
                   f"{fr.percent(r.covered_population_share)} de la population")
    return out


def _department_lines(d: Diagnosis) -> list[str]:
    """Coverage by department of the analysed area (all CPTS, and CPTS at « ACI signé » when
    stages are known), when the area has several departments."""
    cov = d.coverage[d.coverage["level"] == "dep"]
    every = cov[cov["stages"] == ALL_STAGES].set_index("key")
    if len(every) < 2:
        return []
    aci = cov[cov["stages"] == STAGE_ACI].set_index("key")["covered_population_share"]
    names = reference.load_departements().set_index("code")["nom"]
    out = ["  Couverture par département :"]
    for dep, r in every.iterrows():
        line = (f"    {dep} {names.get(dep, '')} : {fr.integer(r['covered_units'])} / "
                f"{fr.plural(r['units'], 'commune')}, {fr.percent(r['covered_population_share'])} de la population")
        if dep in aci.index:
            line += f" (dont ACI signé : {fr.percent(aci[dep])})"
        out.append(line)
    return out


def _conversion_lines(d: Diagnosis) -> list[str]:
    """Real code changes row by row (homonyms never hide each other); names recognised and
    zeros restored counted on one line each (the workbook's « Codes (rapport) » has every row)."""
    rep = d.report
    if rep is None or not len(rep) or "status" not in rep.columns:
        conv = d.summary.get("converted_codes") or {}
        return ["  Codes convertis : " + ", ".join(f"{k} → {v}" for k, v in conv.items())] if conv else []
    out = []
    conv = rep[rep["status"] == "converted"]
    if len(conv):
        items = [f"ligne {r.source_row} : {r.input} → {r.code}" + (f" ({r.nom})" if isinstance(r.nom, str) else "")
                 for r in conv.itertuples()]
        out.append("  Codes convertis : " + " ; ".join(items))
    counts = rep["status"].value_counts()
    extra = [fr.plural(counts[k], one, many) for k, one, many in (
        ("name", "nom reconnu", "noms reconnus"), ("zero_padded", "code complété (zéro initial perdu)",
                                                   "codes complétés (zéro initial perdu)"))
        if counts.get(k, 0)]
    if extra:
        out.append("  Valeurs interprétées : " + ", ".join(extra))
    return out + _postcode_lines(d)


#: why the printed summary shows postcode doubts (postcodes.ShownDoubts.reason)
_DOUBT_REASONS = {
    "name": "le nom de commune donné ne correspond pas au code",
    "postal": "la liste ressemble à une liste de codes postaux",
    "name+postal": "nom de commune donné différent, liste qui ressemble à une liste de codes postaux",
}


def _postcode_lines(d: Diagnosis) -> list[str]:
    """Codes read as INSEE codes that are also postcodes of other communes, one by one (the first
    ten), only where there is a doubt: a name given contradicts the code, or the listing looks
    postal (:func:`cpts_geo.postcodes.doubts_to_show`). Quiet for an INSEE listing whose column
    says INSEE or whose names match: the workbook's « Codes (rapport) » flags every row."""
    notes = list((d.summary.get("postcode_doubts_shown") or {}).values())
    if not notes:
        return []
    head = fr.plural(len(notes), "code INSEE qui est aussi un code postal", "codes INSEE qui sont aussi des codes postaux")
    why = _DOUBT_REASONS.get(d.summary.get("postcode_doubts_reason") or "", "")
    return [f"  {head} ({why + ' ; ' if why else ''}--code-type postal pour les lire comme codes postaux) : "
            + " ; ".join(notes[:10]) + (" …" if len(notes) > 10 else "")]
