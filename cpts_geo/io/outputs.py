"""Table files of a coverage diagnosis: ``summary.json``, ``perimeters.gpkg``,
``white_zones.gpkg``, ``overlaps.csv`` and the workbook ``diagnostic_cpts.xlsx``
(:func:`write_tables`). What ``cpts-geo coverage --out`` and ``Diagnosis.write`` write in all
(classification, official APL, maps) is :func:`cpts_geo.export.write_diagnosis`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from cpts_geo import fr
from cpts_geo.codes import STATUS_LABELS
from cpts_geo.errors import OutputError
from cpts_geo.io.french import check_csv_format, write_csv, write_workbook

if TYPE_CHECKING:
    from cpts_geo.coverage import Diagnosis


def _flat(df: pd.DataFrame) -> pd.DataFrame:
    """Tuples as "a; b" strings for GPKG / CSV / Excel."""
    out = df.copy()
    for c in out.columns:
        if c != getattr(out, "_geometry_column_name", None) and out[c].dtype == object:
            if out[c].map(lambda v: isinstance(v, (tuple, list))).any():
                out[c] = out[c].map(lambda v: "; ".join(map(str, v)) if isinstance(v, (tuple, list)) else v)
    return out


def _km_list(values: object) -> object:
    """Border lengths of one white zone with each neighbouring CPTS, as a person reads them in a
    workbook cell: « 2,4 ; 2,1 ; 1,6 » (French decimals, in the order of « CPTS voisines »)."""
    if not isinstance(values, (tuple, list)):
        return values
    return " ; ".join(fr.number(float(v), 1) for v in values) if len(values) else None


def summary_json(d: Diagnosis) -> str:
    """The summary as JSON text (UTF-8, French labels kept)."""
    return json.dumps(d.summary, ensure_ascii=False, indent=2, default=str)


#: the files :func:`write_tables` writes, whatever the options (known before the work, so that a
#: folder where one of them is an input or another program's file is refused at once)
TABLE_NAMES = ("summary.json", "perimeters.gpkg", "white_zones.gpkg", "overlaps.csv", "overlap_pairs.csv",
               "diagnostic_cpts.xlsx")


def write_tables(d: Diagnosis, out_dir: str | Path, csv_format: str = "fr") -> dict[str, Path]:
    """Write the tables of a diagnosis as they are into ``out_dir`` (created): ``summary.json``,
    ``perimeters.gpkg``, ``white_zones.gpkg``, ``overlaps.csv`` (``csv_format`` "fr": ``;``,
    decimal comma, UTF-8 with BOM; "international": ``,`` and a decimal point, see
    :func:`cpts_geo.io.french.write_csv`) and the workbook ``diagnostic_cpts.xlsx``; returns name → path. :func:`cpts_geo.export.write_diagnosis`
    (``Diagnosis.write``) adds the classification, the official APL and the maps first, and
    replaces a previous run's files; this function never writes over an existing file
    (:class:`~cpts_geo.errors.OutputError` naming it, before anything is written)."""
    check_csv_format(csv_format)  # before writing anything
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "summary": out / "summary.json", "perimeters": out / "perimeters.gpkg",
        "white_zones": out / "white_zones.gpkg", "overlaps": out / "overlaps.csv",
        "overlap_pairs": out / "overlap_pairs.csv",
        "workbook": out / "diagnostic_cpts.xlsx",
    }
    for path in paths.values():  # never over a file: replacing a previous run is Diagnosis.write's
        if os.path.lexists(path):
            raise OutputError(path, "ce fichier existe déjà : write_tables écrit dans un dossier sans ses "
                              "fichiers ; pour remplacer une exécution précédente, Diagnosis.write (qui "
                              "vérifie son summary.json)")
    paths["summary"].write_text(summary_json(d), encoding="utf-8")
    for key, gdf in (("perimeters", d.perimeters), ("white_zones", d.white_zones)):
        _flat(gdf).to_file(paths[key], layer=key, driver="GPKG")
    write_csv(overlap_units_table(d), paths["overlaps"], csv_format)
    write_csv(overlap_pairs_table(d), paths["overlap_pairs"], csv_format)
    _write_workbook(d, paths["workbook"])
    return paths


#: French labels of the unit kinds and the white-zone types (workbook cells)
KIND_LABELS = {"commune": "commune", "arrondissement": "arrondissement municipal",
               "com_outre_mer": "commune d'outre-mer (COM)"}
WHITE_ZONE_TYPES = {"edge": "en bordure", "enclosed": "enclavée"}
LEVEL_LABELS = {"zone": "zone analysée", "reg": "région", "dep": "département"}

#: French headers of the classification columns (cpts_geo.classification)
CLASSIFICATION_HEADERS = {
    "aci_bound_nearest": "seuil ACI le plus proche", "aci_margin": "écart au seuil ACI (habitants)",
    "aci_band_if_crossed": "taille ACI si le seuil est franchi", "aci_near_threshold": "proche d'un seuil ACI (1 %)",
    "aci_margin_text": "écart au seuil ACI", "aci_label": "taille ACI (libellé)",
    "aci_funding_eur": "financement ACI de fonctionnement (€/an)", "igas_type": "type de territoire (repère IGAS 2018, selon la population)",
    "igas_viable": "dans la fourchette repère IGAS (20 000 à 100 000 habitants)",
    "igas_warning": "hors de la fourchette repère IGAS",
    "dens7_unknown": "densité inconnue (% pop.)", "dens_urbain_dense": "urbain dense (% pop.)",
    "dens_intermediaire": "densité intermédiaire (% pop.)", "dens_rural": "rural (% pop.)",
    "dens_dominant": "densité dominante", "dens7_dominant": "niveau de densité dominant (1 à 7)",
    "cateaav_11": "AAV catégorie 11 : commune-centre (% pop.)",
    "cateaav_12": "AAV catégorie 12 : autre commune du pôle principal (% pop.)",
    "cateaav_13": "AAV catégorie 13 : commune d'un pôle secondaire (% pop.)",
    "cateaav_20": "AAV catégorie 20 : commune de la couronne (% pop.)",
    "cateaav_30": "AAV catégorie 30 : hors attraction des villes (% pop.)",
    "cateaav_unknown": "AAV : catégorie inconnue (% pop.)",
    "aav_pole": "AAV : pôle (% pop.)", "aav_couronne": "AAV : couronne (% pop.)",
    "aav_hors_attraction": "AAV : hors attraction (% pop.)", "aav_dominant": "AAV dominante",
    "apl": "APL médecins généralistes (DREES)", "apl_flag": "classe d'APL",
    "apl_estime": "APL estimée (cpts_geo, pas l'APL DREES)",
}
DENS7_LEVELS = {1: "grands centres urbains", 2: "centres urbains intermédiaires", 3: "ceintures urbaines",
                4: "petites villes", 5: "bourgs ruraux", 6: "rural à habitat dispersé",
                7: "rural à habitat très dispersé"}
CLASSIFICATION_HEADERS.update({f"dens7_{k}": f"densité {k} : {v} (% pop.)" for k, v in DENS7_LEVELS.items()})


def _yes_no(df: pd.DataFrame) -> pd.DataFrame:
    """Boolean columns as « oui » / « non » (never True/False in a French workbook)."""
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_bool_dtype(out[c].dtype):
            out[c] = out[c].map({True: "oui", False: "non"})
        elif out[c].dtype == object and out[c].map(lambda v: isinstance(v, bool)).any():
            out[c] = out[c].map(lambda v: ("oui" if v else "non") if isinstance(v, bool) else v)
    return out


def overlap_units_table(d: Diagnosis) -> pd.DataFrame:
    """``overlaps.csv``: one row per commune listed by several CPTS, French headers."""
    return _flat(d.overlaps).rename(columns={
        "code": "code", "nom": "commune", "dep": "département", "population": "population",
        "n_cpts": "nb CPTS", "cpts": "CPTS", "double_counted_population": "habitants comptés en plus",
        "population_split": "répartition de la population"})


def overlap_pairs_table(d: Diagnosis) -> pd.DataFrame:
    """``overlap_pairs.csv``: one row per pair of CPTS sharing communes, French headers."""
    return _flat(d.overlap_pairs).rename(columns={
        "cpts_a": "CPTS A", "cpts_b": "CPTS B", "n_shared": "nb communes partagées",
        "shared_population": "population des communes partagées", "codes": "communes partagées"})


def sources_table(d: Diagnosis) -> pd.DataFrame:
    """The « Sources » sheet: each figure's source text and vintage, written for a person."""
    from cpts_geo import rules

    s = d.summary
    year = s["population_year"]
    rows = [
        ("Communes et codes INSEE", f"INSEE, Code officiel géographique {s['cog']} (communes au 1er janvier {s['cog']})"),
        ("Population", f"INSEE, populations légales {year} (population municipale), en vigueur au 1er janvier "
                       f"{year + 3}"),
        ("Contours des communes", "IGN, ADMIN EXPRESS (contours rendus jointifs), Licence Ouverte"),
        ("EPCI", f"INSEE / DGCL, composition des EPCI au 1er janvier {s['cog']}"),
        ("Historique des codes", "INSEE, historique des communes (fusions, rétablissements, changements de code) ; "
                                 "tables de passage COGugaison"),
        ("Tailles ACI des CPTS", "Accord conventionnel interprofessionnel (ACI) CPTS du 20 juin 2019, approuvé par "
                                 "l'arrêté du 21 août 2019 (JORF n° 0196 du 24 août 2019)"),
        ("Financement ACI de fonctionnement (par an)", rules.aci_funding_source()),
        *([("Montants ACI qui ne sont pas un financement de fonctionnement", note)]
          if (note := rules.aci_startup_note()) else []),
        ("Types de territoire et fourchette repère de taille (repères, pas des règles)", rules.IGAS_SOURCE),
        ("Densité", "INSEE, grille communale de densité à 7 niveaux 2024"),
        ("Aires d'attraction des villes", "INSEE, zonage en aires d'attraction des villes 2020"),
    ]
    apl = (s.get("sources") or {}).get("apl")
    if apl:
        where = ", ".join(str(apl[k]) for k in ("sheet", "source") if isinstance(apl, dict) and apl.get(k))
        rows.append(("APL médecins généralistes", "DREES, accessibilité potentielle localisée"
                     + (f" ({where})" if where else "")))
    est = (s.get("sources") or {}).get("apl_estime")
    if est:
        rows.append(("APL estimée (calcul cpts_geo, pas l'APL DREES)", _estimate_source(est)))
    for note in s.get("population_notes", []):
        rows.append((f"Population ({len(note['codes'])} communes d'un autre millésime)", str(note["population_source"])))
    if (s.get("shares") or {}).get("source"):
        rows.append(("Parts des villes partagées entre CPTS", f"fichier {s['shares']['source']} fourni par "
                     "l'utilisateur (part ou population de chaque CPTS)"))
    rows += [("Liste des CPTS", s["listing"] or "liste fournie")]
    # how the listing file was read: sheets or layers, polygons repaired (never silent)
    rows += [("Lecture de la liste", str(note)) for note in s.get("listing_notes") or []]
    rows += [("Version de cpts_geo", s["cpts_geo_version"]),
             ("Référentiel de cpts_geo (identifiant)", s["reference_build"])]
    return pd.DataFrame(rows, columns=["donnée", "source"])


#: French headers of the shared-city columns (cpts_geo.shares)
SHARES_HEADERS = {
    "population_whole_units": "population en comptant entières les villes partagées",
    "population_equal_split": "population si les villes partagées l'étaient à parts égales",
    "band_equal_split": "taille ACI si les villes partagées l'étaient à parts égales",
}


def _shares_rows(s: dict) -> list[tuple[str, object]]:
    """Synthèse rows on the cities listed by several CPTS: method and shares file."""
    cities = s.get("shared_cities") or []
    if not cities:
        return []
    shares = s.get("shares") or {}
    rows = [("Villes partagées entre CPTS", ", ".join(f"{c['nom']} ({c['code']})" for c in cities)),
            ("Population des villes partagées", shares.get("method"))]
    if shares.get("source"):
        rows.append(("Fichier de partage", shares["source"]))
    return rows


def _estimate_source(est: dict) -> str:
    """The computed APL estimate in one French sentence: what it is, its file and parameters."""
    from cpts_geo import fr

    parts = [str(est.get("label") or est.get("note") or "estimation de type APL calculée par cpts_geo")]
    parts.append(f"fichier {est.get('source')}" + (f" (paramètres : {est['parameters_file']})"
                                                  if est.get("parameters_file") else ""))
    if est.get("unit"):
        parts.append(f"unité : {est['unit']}")
    steps = est.get("steps")
    if isinstance(steps, dict) and steps:
        parts.append("paliers de temps d'accès : " + ", ".join(
            f"jusqu'à {fr.number(float(b))}{fr.NNBSP}min : poids {fr.number(float(w), 2)}" for b, w in steps.items()))
    if est.get("listing"):
        parts.append(f"liste des CPTS : {est['listing']}")
    if est.get("aggregation"):
        parts.append(str(est["aggregation"]))
    return " ; ".join(parts)


def synthesis_table(d: Diagnosis) -> tuple[pd.DataFrame, list[str | None]]:
    """The « Synthèse » sheet (indicateur, valeur) and the number format of each row: its value
    column mixes counts (thousands separators), shares 0–1 (shown as percents), areas (0.1 km²)
    and text, so each row carries its own format (:func:`cpts_geo.io.french.write_sheet`)."""
    s = d.summary
    wz_area = float(d.white_zones["area_km2"].fillna(0).sum()) if "area_km2" in d.white_zones.columns else None
    rows: list[tuple[str, object, str | None]] = [
        ("Liste", s["listing"], None), ("Zone analysée", s["area"], None), ("CPTS", s["cpts"], "integer"),
        ("Communes", s["units"], "integer"), ("Communes couvertes", s["covered_units"], "integer"),
        ("Part des communes couvertes", s["covered_units_share"], "percent"),
        ("Population", s["population"], "integer"), ("Population couverte", s["covered_population"], "integer"),
        ("Part de la population couverte", s["covered_population_share"], "percent"),
        ("Part couverte par des CPTS à l'ACI signé", s["covered_population_share_aci"], "percent"),
        ("Zones blanches", s["white_zones"], "integer"), ("Communes en zone blanche", s["white_units"], "integer"),
        ("Population en zone blanche", s["white_population"], "integer"),
        *([("Surface des zones blanches", wz_area, "km2")] if wz_area is not None else []),
        ("Communes dans plusieurs CPTS", len(s["overlapping_units"]), "integer"),
        ("Population des communes dans plusieurs CPTS", int(d.overlaps["population"].fillna(0).sum()), "integer"),
        ("Habitants comptés en plus dans la somme des populations des CPTS", s["double_counted_population"],
         "integer"),
        *[(label, value, None) for label, value in _shares_rows(s)],
        *[(f"CPTS de taille {k}", v, "integer") for k, v in s["bands"].items()],
        ("Géographie", f"Code officiel géographique {s['cog']}", None),
        ("Population de référence", f"population municipale légale {s['population_year']}", None),
    ]
    frame = pd.DataFrame([(label, value) for label, value, _ in rows], columns=["indicateur", "valeur"])
    frame["valeur"] = frame["valeur"].astype(object).where(frame["valeur"].notna(), None)
    return frame, [fmt for _, _, fmt in rows]


def _write_workbook(d: Diagnosis, path: Path) -> None:
    from cpts_geo import reference

    s = d.summary
    pop = f"population {s['population_year']}"
    synth, synth_formats = synthesis_table(d)
    per = d.perimeters.drop(columns="geometry")
    if "aci_band" in per.columns and "band" in per.columns:
        per = per.drop(columns="aci_band")  # the same figure as « taille ACI »
    per = _yes_no(_flat(per)).rename(columns={
        "cpts": "CPTS", "stage": "stade", "codes": "communes", "n_units": "nb communes",
        "n_units_outside_area": "nb communes hors zone", "n_units_without_geometry": "nb communes sans contour",
        "population": pop, "area_km2": "surface km²",
        "density": "densité hab/km²", "deps": "départements", "regs": "régions", "epci_full": "EPCI entiers",
        "epci_partial": "EPCI partiels", "n_parts": "nb morceaux", "n_islands": "nb îles",
        "islands": "îles", "enclaves": "enclaves", "aci_band": "taille ACI",
        "shared_units": "communes partagées", "band": "taille ACI", **CLASSIFICATION_HEADERS, **SHARES_HEADERS})
    wz = d.white_zones.drop(columns="geometry")
    if "neighbour_border_km" in wz.columns:  # a list per zone: French decimals (« 2,4 ; 2,1 »), never « 2.4; 2.1 »
        wz = wz.assign(neighbour_border_km=wz["neighbour_border_km"].map(_km_list))
    wz = _yes_no(_flat(wz)).rename(columns={
        "zone_id": "zone", "codes": "communes", "noms": "noms", "n_units": "nb communes",
        "n_units_without_geometry": "nb sans contour", "population": pop,
        "area_km2": "surface km²", "type": "type", "inside_cpts": "enclavée dans",
        "neighbour_cpts": "CPTS voisines", "neighbour_border_km": "limite commune km"})
    wz["type"] = wz["type"].map(lambda t: WHITE_ZONE_TYPES.get(t, t))
    units = d.units.drop(columns=["geometry", "host"], errors="ignore")
    units = _yes_no(_flat(units.assign(kind=units["kind"].map(lambda k: KIND_LABELS.get(k, k))))).rename(columns={
        "code": "code", "nom": "nom", "kind": "type", "dep": "département", "reg": "région", "epci": "EPCI",
        "population": pop, "area_km2": "surface km²", "has_geometry": "contour connu",
        "border": "en limite de la France (côte ou frontière)", "n_cpts": "nb CPTS", "cpts": "CPTS"})
    deps = reference.load_departements().set_index("code")["nom"]
    regs = reference.load_regions().set_index("code")["nom"]
    cov = d.coverage
    names = [deps.get(k, "") if lv == "dep" else regs.get(k, "") if lv == "reg" else s["area"]
             for lv, k in zip(cov["level"], cov["key"], strict=True)]
    cov = cov.assign(level=cov["level"].map(LEVEL_LABELS), key=cov["key"].where(cov["level"] != "zone", ""),
                     nom=names)
    cov = cov[["level", "key", "nom", *[c for c in cov.columns if c not in ("level", "key", "nom")]]].rename(columns={
        "level": "niveau", "stages": "stades", "key": "code", "nom": "nom", "units": "nb communes",
        "covered_units": "nb communes couvertes", "population": pop,
        "covered_population": "population couverte", "covered_population_share": "part de la population couverte",
        "covered_units_share": "part des communes couvertes"})
    sheets = {
        "Synthèse": synth, "Périmètres": per, "Zones blanches": wz,
        "Communes partagées": overlap_units_table(d), "Paires de CPTS": overlap_pairs_table(d),
        "Couverture": cov, "Communes": units,
    }
    rep = d.report
    if rep is not None and len(rep):
        cols = [c for c in ("source_row", "cpts", "input", "code", "nom", "status", "message", "duplicate")
                if c in rep.columns]
        rep = rep[cols].copy()
        if "status" in rep.columns:
            rep["status"] = rep["status"].map(lambda v: STATUS_LABELS.get(v, v))
        sheets["Codes (rapport)"] = _yes_no(rep).rename(columns={
            "source_row": "ligne", "cpts": "CPTS", "input": "valeur lue", "code": "code", "nom": "commune",
            "status": "statut", "message": "motif", "duplicate": "doublon"})
    sheets["Sources"] = sources_table(d)
    # frozen header, autofilter, fitted widths, thousands separators; shares as %, areas to 0.1 km²
    formats = {
        "Périmètres": {"surface km²": "km2", "densité hab/km²": "decimal1",
                       **{v: "decimal1" for k, v in CLASSIFICATION_HEADERS.items() if "% pop." in v}},
        "Zones blanches": {"surface km²": "km2"},
        "Couverture": {"part de la population couverte": "percent", "part des communes couvertes": "percent"},
        "Synthèse": {"valeur": synth_formats},
        "Communes": {"surface km²": "km2"},
    }
    write_workbook(path, sheets, formats)

