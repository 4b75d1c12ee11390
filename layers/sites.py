"""Loading ASM site inventories into the normalised site schema (``layers.schema.SITE_COLUMNS``).

Any table or vector file that ``layers.readers`` reads is accepted. Three published
schemas are recognised by their columns and mapped natively: IPIS open data (DRC
ASM sites, one row per visit), Amazon Mining Watch detection polygons and the Peru
gold-mining inventory. Split by concern: column names and attributes here, coordinates and
geometries in ``layers.site_coordinates``, countries in ``layers.site_countries``, dates in
``layers.dates``. Every input row ends up in exactly one of: ``data`` (a
site), ``rejected`` (with ``row_number`` and a ``reason``), or folded/merged into
another row (counted in ``warnings`` and in ``data.attrs``), so that::

    n_input_rows == n_loaded + n_rejected + n_folded_rows + n_merged_rows
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import GEOD, geodesic_area_km2
from layers import commodities as vocab
from layers.dates import parse_dates
from layers.errors import LayerError
from layers.guard import ZipLimits
from layers.readers import find_column, normalise_column_name, read_any, row_list, to_number, to_text
from layers.schema import CRS_WGS84, SITE_COLUMNS, LoadResult
from layers.site_columns import (
    NO_COLUMN,
    SiteOptions,
    apply_defaults,
    check_options,
    looks_like_protected_areas,
    protected_areas_in_sites_slot_warning,
)
from layers.site_coordinates import (
    LAT_NAMES,
    LON_NAMES,
    REASON_EMPTY_GEOMETRY,
    REASON_LAT_RANGE,
    REASON_LON_RANGE,
    REASON_MISSING,
    REASON_NON_NUMERIC,
    locate,
)
from layers.site_countries import countries_of, warn_swapped

AMW_SOURCE = "Amazon Mining Watch (Earth Genome), CC BY 4.0"
MERGE_TOLERANCE_M = 1.5  # rows of one site repeated with GPS jitter below this are the same site
REASON_DUPLICATE_ID = "duplicate site_id"

ID_NAMES = ("site_id", "pcode", "id", "id_site", "site_code", "code_site", "code", "site_no", "identifiant", "codigo",
            "objectid")  # fmt: skip
NAME_NAMES = ("name", "site_name", "nom", "nom du site", "nom_site", "site", "nome", "nome do sitio", "nome_garimpo",
              "garimpo", "nombre", "nombre del sitio", "mine", "mine_name", "nom de la mine", "localite", "locality",
              "localidad", "localidade", "village")  # fmt: skip
COMMODITY_NAMES = ("commodity", "commodities", "mineral", "minerals", "minerai", "minerais", "substance", "substances",
                   "substance principale", "main commodity", "primary commodity", "commodity_type", "mineral_type",
                   "type de minerai", "minerio", "mineral explotado", "tipo de mineral", "produit", "resource",
                   "ressource", "recurso")  # fmt: skip
WORKER_NAMES = ("workers", "workers_numb", "n_workers", "nb_workers", "num_workers", "number_of_workers", "miners",
                "n_miners", "nombre d'orpailleurs", "nombre de creuseurs", "nombre de travailleurs", "orpailleurs",
                "creuseurs", "effectif", "trabalhadores", "numero de trabalhadores", "garimpeiros", "mineros",
                "numero de mineros", "trabajadores", "numero de trabajadores")  # fmt: skip
WORKER_STEMS = ("worker", "orpailleur", "creuseur", "trabalhador", "garimpeiro", "minero", "trabajador", "miner")
DATE_NAMES = ("observed_date", "date", "visit_date", "vdate", "date_visite", "date de visite", "date_visit",
              "survey_date", "date d'observation", "data", "data da visita", "fecha", "fecha de visita", "year",
              "annee", "ano", "anio")  # fmt: skip


# ------------------------------------------------------------------------------------------------
def load_sites(
    path: str | Path,
    *,
    crs: str | None = None,
    layer: str | None = None,
    countries: gpd.GeoDataFrame | None = None,
    source: str | None = None,
    zip_limits: ZipLimits,
    options: SiteOptions | None = None,
) -> LoadResult:
    """Read a site inventory; return sites in the normalised schema plus every rejected row with its reason.

    ``crs`` is the CRS of CSV/XLSX coordinates (EPSG:4326 when None; vector files carry
    their own). ``layer`` chooses a GeoPackage/KML layer, zipped shapefile or XLSX sheet.
    ``countries`` (iso3, name, geometry) defaults to ``layers.countries.load_countries()``.
    ``zip_limits`` bound a zipped shapefile or an XLSX workbook (from the settings, at the boundary).
    ``options`` (``layers.site_columns.SiteOptions``) name the columns to read (overriding detection)
    and per-file defaults; the columns used are in ``data.attrs["column_roles"]``.
    """
    p = Path(path)
    options = options or SiteOptions()
    raw = read_any(p, layer, zip_limits=zip_limits)
    frame = raw.frame.reset_index(drop=True)
    n_input = len(frame)
    if n_input == 0:
        raise LayerError(
            p, "the file has no rows (only a header, or an empty layer)", "give a file with one row per site"
        )
    kind = _detect_schema(frame.columns)
    src = source or (AMW_SOURCE if kind == "amw" else p.name)
    warnings = list(raw.warnings)
    geom_col = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    originals = pd.DataFrame(frame.drop(columns=[geom_col]) if geom_col else frame)
    row_number = pd.Series(np.arange(1, n_input + 1), index=frame.index)
    check_options(options, originals.columns, p)
    roles = _column_roles(originals.columns, kind, options)

    loc = locate(raw, frame, p, crs, warnings, lat_col=_one(roles, "lat"), lon_col=_one(roles, "lon"))
    kept = loc.reason.isna()
    rejected_parts = [_rejected(originals, loc.reason, row_number, ~kept, frame, geom_col)]

    if not kept.any():
        raise _no_usable_sites(p, loc.reason)

    idx = kept[kept].index
    attr_input, attr_roles = apply_defaults(originals.loc[idx], roles, options.default_map)
    attrs = _attributes(attr_input, kind, warnings, attr_roles)
    geometry = gpd.GeoSeries(loc.geometry.loc[idx], crs=CRS_WGS84)
    table = attrs.assign(lon=loc.lon.loc[idx], lat=loc.lat.loc[idx], geometry=geometry.values)
    table["area_km2"] = 0.0
    poly = geometry.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    if poly.any():
        table.loc[poly, "area_km2"] = geodesic_area_km2(geometry.to_numpy()[poly])
    table["source"] = src

    n_folded = 0
    if kind == "ipis":
        table, n_folded = _fold_ipis_visits(table, originals, row_number, warnings)

    table["site_id"] = _site_ids(originals.loc[table.index], table, _one(roles, "site_id"), src)
    table, dup_reason, n_merged = _merge_duplicates(table, row_number, warnings)
    if dup_reason.notna().any():
        rejected_parts.append(_rejected(originals, dup_reason, row_number, dup_reason.notna(), frame, geom_col))
        table = table.loc[dup_reason.reindex(table.index).isna()]

    table["country_iso3"] = countries_of(table, originals.loc[table.index], kind, countries, warnings)
    warn_swapped(table, loc, row_number, countries, warnings)
    _warn_unknown_commodities(table, warnings)
    if geom_col is not None:
        _warn_protected_areas(frame, kept, originals.columns, warnings)

    data = _assemble(table, originals)
    parts = [r for r in rejected_parts if len(r)] or rejected_parts[:1]
    rejected = pd.concat(parts, ignore_index=True).sort_values("row_number", kind="stable").reset_index(drop=True)
    data.attrs.update({"n_input_rows": n_input, "n_folded_rows": n_folded, "n_merged_rows": n_merged})
    data.attrs["source_columns"] = [str(c) for c in originals.columns]
    data.attrs["column_roles"] = {role: [str(c) for c in cols] for role, cols in roles.items()}
    assert len(data) + len(rejected) + n_folded + n_merged == n_input, "row accounting"
    if len(rejected):
        counts = rejected["reason"].value_counts()
        detail = "; ".join(f"{r!r} ×{n}" for r, n in counts.items())
        warnings.insert(0, f"{len(rejected)} of {n_input} rows rejected: {detail}")
    return LoadResult(data=data, rejected=rejected, warnings=warnings, source=src)


# --- schema detection ------------------------------------------------------------------------
def _detect_schema(columns: pd.Index) -> str:
    cols = {normalise_column_name(c) for c in columns}
    if "pcode" in cols and cols & {"mineral1", "visit_date", "vdate", "workers_numb"}:
        return "ipis"
    if "mined_area_ha" in cols:
        return "amw"
    if {"x_geo", "y_geo", "area_ha", "region"} <= cols:
        return "peru"
    return "generic"


# --- attributes -----------------------------------------------------------------------------------
def _column_roles(cols: pd.Index, kind: str, options: SiteOptions) -> dict[str, list[object]]:
    """Role -> the file's columns it is read from: detected by name, unless the analyst chose (``options``)."""
    known = kind in ("amw", "peru")  # published schemas: gold, mercury and processing implied by the dataset
    production = _production_column(cols)
    detected: dict[str, object | list[object] | None] = {
        "site_id": find_column(cols, ("pcode",) if kind == "ipis" else ID_NAMES),
        "name": find_column(cols, NAME_NAMES),
        "commodity": [] if known else _commodity_columns(cols),
        "workers": find_column(cols, WORKER_NAMES) or _column_with_stem(cols, WORKER_STEMS),
        "gold_kg_per_yr": production[0] if production else None,
        **{key: None if known else find_column(cols, names) for key, names in vocab.PRACTICE_COLUMN_NAMES.items()},
        "observed_date": find_column(cols, DATE_NAMES),
        "lat": find_column(cols, LAT_NAMES, prefixes=("latitude", "latitud")),
        "lon": find_column(cols, LON_NAMES, prefixes=("longitude", "longitud")),
    }
    roles = {k: (v if isinstance(v, list) else ([] if v is None else [v])) for k, v in detected.items()}
    for role, col in options.columns:
        roles[role] = [] if col == NO_COLUMN else [next(c for c in cols if str(c) == col)]
    return roles


def _one(roles: dict[str, list[object]], role: str) -> object | None:
    cols = roles.get(role) or []
    return cols[0] if cols else None


def _attributes(orig: pd.DataFrame, kind: str, warnings: list[str], roles: dict[str, list[object]]) -> pd.DataFrame:
    cols = orig.columns
    out = pd.DataFrame(index=orig.index)
    name_col = _one(roles, "name")
    out["name"] = to_text(orig[name_col]) if name_col is not None else pd.Series("", index=orig.index, dtype="str")

    comm_cols = roles["commodity"]
    if comm_cols:
        parts = [to_text(orig[c]) for c in comm_cols]
        comm = parts[0]
        for part in parts[1:]:
            comm = (comm + "; " + part).str.strip("; ")
    elif kind in ("amw", "peru"):
        comm = pd.Series("gold", index=orig.index)
    else:
        comm = pd.Series("", index=orig.index, dtype="str")
        warnings.append(_no_commodity_warning(cols))
    out = out.join(vocab.normalise_commodities(comm))
    if kind in ("amw", "peru") and not comm_cols:
        out["commodity_original"] = ""  # the file names no commodity: gold is implied by the dataset

    worker_col = _one(roles, "workers")
    if worker_col is not None:
        workers, bad = to_number(orig[worker_col])
        negative = workers < 0
        if bad.any() or negative.any():
            warnings.append(
                f"{int(bad.sum() + negative.sum())} values of {worker_col!r} are not worker counts (set to NaN)"
            )
        out["workers"] = workers.where(~negative)
    else:
        out["workers"] = np.nan
    out["gold_kg_per_yr"] = _gold_production(orig, warnings, _one(roles, "gold_kg_per_yr"))

    if kind in ("amw", "peru"):
        out["mercury_use"] = "unknown"
        for col in ("amalgamation", "retort", "cyanidation"):
            out[col] = "unknown"
        out["notes"] = ""
    else:
        out = out.join(_processing(orig, warnings, roles))

    date_col = _one(roles, "observed_date")
    out["observed_date"] = (
        parse_dates(orig[date_col])
        if date_col is not None
        else pd.Series(pd.NaT, index=orig.index, dtype="datetime64[ns]")
    )
    return out


def _processing(orig: pd.DataFrame, warnings: list[str], roles: dict[str, list[object]]) -> pd.DataFrame:
    """``mercury_use``, ``amalgamation``, ``retort``, ``cyanidation`` and ``notes`` (layers.commodities.site_practices).

    The practice columns are the roles' (detected by name, or the analyst's choice; a per-file default
    is a filled column by then, ``layers.site_columns.apply_defaults``).
    """
    found = {name: _one(roles, name) for name in vocab.PRACTICE_COLUMN_NAMES}
    if found["amalgamation"] is not None and found["amalgamation"] == found["processing"]:
        found["amalgamation"] = None
    given = {name: (orig[col] if col is not None else None) for name, col in found.items()}
    out, n_legacy = vocab.site_practices(given, orig.index)
    if n_legacy:
        warnings.append(
            f"{n_legacy} rows use the old processing vocabulary ('retort', 'cyanidation'); read as amalgamation "
            "type + retort + cyanidation, see the notes column"
        )
    return out


def _commodity_columns(cols: pd.Index) -> list[object]:
    numbered = [
        c
        for c in cols
        if re.fullmatch(r"(mineral|commodity|substance|minerai|mineraux|minerals)_?\d+", normalise_column_name(c))
    ]
    if numbered:
        return sorted(numbered, key=lambda c: int(re.findall(r"\d+", normalise_column_name(c))[-1]))
    main = find_column(cols, COMMODITY_NAMES)
    if main is None:
        return []
    extra = [
        c
        for c in cols
        if c != main
        and re.search(
            r"(substance|commodity|mineral|minerai).*(secondaire|secondary|secundari)", normalise_column_name(c)
        )
    ]
    return [main, *extra]


def _column_with_stem(cols: pd.Index, stems: tuple[str, ...]) -> object | None:
    """The first column with a word that is one of ``stems``, plural or with a count prefix ("nb_miners").

    Whole words only: "mineral1" holds the letters of "miner" but names a mineral (IPIS).
    """
    word = re.compile(rf"(?:n|nb|nbr|no|num|number|total)?(?:{'|'.join(map(re.escape, stems))})(?:s|es)?")
    for c in cols:
        words = re.split(r"[_\d]+", normalise_column_name(c))
        if any(word.fullmatch(w) for w in words) and not any(
            w in words for w in ("percent", "pct", "femme", "femmes", "women", "mulher", "mulheres", "enfant",
                                  "enfants", "child", "children", "share", "ratio")
        ):  # fmt: skip
            return c
    return None


# gold production columns, by the unit written in the column name -> factor to kg per year
_PRODUCTION_UNITS = (
    (r"kg_?(?:per_?|/|_)?(?:yr|year|an|ano|anno|annee|y|a)$", 1.0),
    (r"(?<!k)g_?(?:per_?|/|_)?(?:yr|year|an|ano|annee|y|a)$", 1e-3),
    (r"(?:^|_)t_?(?:per_?|/|_)?(?:yr|year|an|ano|annee|y|a)$", 1e3),
    (r"oz_?(?:per_?|/|_)?(?:yr|year|an|ano|annee|y|a)$", 0.0311034768),
    (r"kg_?(?:per_?|/|_)?(?:month|mois|mes)$", 12.0),
    (r"(?<!k)g_?(?:per_?|/|_)?(?:month|mois|mes)$", 12e-3),
    (r"(?<!k)g_?(?:per_?|/|_)?(?:day|jour|j|dia)$", 365e-3),
)


def _production_column(cols: pd.Index) -> tuple[object, float] | None:
    """The gold production column and its factor to kg per year, from the unit in its name."""
    for c in cols:
        n = normalise_column_name(c)
        if n == "gold_kg_per_yr":
            return c, 1.0
        if re.search(r"(gold|or|ouro|oro|production|prod|au)", n) and re.search(
            r"(yr|year|an|ano|annee|month|mois|mes|day|jour|dia)$", n
        ):
            factor = next((f for pat, f in _PRODUCTION_UNITS if re.search(pat, n)), None)
            if factor is not None:
                return c, factor
    return None


def _gold_production(orig: pd.DataFrame, warnings: list[str], column: object | None) -> pd.Series:
    """Gold production in kg/yr from ``column`` (its unit read from its name; a column the analyst chose is kg/yr)."""
    if column is None:
        return pd.Series(np.nan, index=orig.index)
    detected = _production_column(pd.Index([column]))
    factor = detected[1] if detected else 1.0
    values, bad = to_number(orig[column])
    if bad.any():
        warnings.append(f"{int(bad.sum())} values of {column!r} are not numbers (gold_kg_per_yr set to NaN)")
    if factor == 365e-3:
        warnings.append(
            f"gold production {column!r} is per day; converted assuming 365 working days a year (an upper bound)"
        )
    return values * factor


# --- IPIS visits, ids and duplicates -------------------------------------------------------------------
def _fold_ipis_visits(
    table: pd.DataFrame, orig: pd.DataFrame, rows: pd.Series, warnings: list[str]
) -> tuple[pd.DataFrame, int]:
    """One site per pcode: the latest visit (by date, then file order); earlier visits are folded, not rejected."""
    pcode = to_text(orig.loc[table.index, find_column(orig.columns, ("pcode",))])
    order = pd.DataFrame({"pcode": pcode, "date": table["observed_date"], "row": rows.loc[table.index]})
    order = order.sort_values(["date", "row"], na_position="first")
    folded = order["pcode"].ne("") & order["pcode"].duplicated(keep="last")
    n = int(folded.sum())
    if n:
        n_sites = int(order.loc[folded, "pcode"].nunique())
        warnings.append(
            f"IPIS visits: {n} earlier visits folded into the latest visit of their site ({n_sites} sites visited more than "
            "once; one site per pcode)"
        )
    return table.drop(index=order.index[folded]), n


def _site_ids(orig: pd.DataFrame, table: pd.DataFrame, id_col: object | None, src: str) -> pd.Series:
    given = to_text(orig[id_col]) if id_col is not None else pd.Series("", index=orig.index, dtype="str")
    missing = given == ""
    if missing.any():
        given = given.astype("object")
        given[missing] = _generated_ids(table.loc[missing], src)
    return given.astype("str")


def _generated_ids(table: pd.DataFrame, src: str) -> list[str]:
    """'S' + 10 hex digits of a hash of source, name and location (coordinates to 5 decimals, or the polygon)."""
    names = vocab.fold_series(table["name"])
    geoms = table["geometry"].to_numpy()
    is_point = shapely.get_type_id(geoms) == 0
    where = table["lon"].map("{:.5f}".format) + "," + table["lat"].map("{:.5f}".format)
    if not is_point.all():
        wkb = shapely.to_wkb(shapely.set_precision(geoms[~is_point], 1e-7), hex=True)
        where = where.where(is_point, pd.Series(wkb, index=table.index[~is_point]).reindex(table.index))
    keys = (src + "|" + names + "|" + where).tolist()
    return ["S" + hashlib.blake2b(k.encode(), digest_size=5).hexdigest() for k in keys]


def _merge_duplicates(
    table: pd.DataFrame, row_number: pd.Series, warnings: list[str]
) -> tuple[pd.DataFrame, pd.Series, int]:
    """Rows sharing a site_id: same name within MERGE_TOLERANCE_M -> merged into the first; otherwise rejected."""
    dup_reason = pd.Series(np.nan, index=table.index, dtype="object")
    dup = table["site_id"].duplicated(keep=False)
    if not dup.any():
        return table, dup_reason, 0
    merged_rows: list[int] = []
    table = table.copy()
    for _, group in table[dup].groupby("site_id", sort=False):
        first = group.index[0]
        anchor = group.loc[first]
        absorbed = [first]
        for i in group.index[1:]:
            row = group.loc[i]
            same_name = vocab.fold_text(row["name"]) == vocab.fold_text(anchor["name"])
            if same_name and _same_place(anchor, row):
                absorbed.append(i)
                merged_rows.append(i)
            else:
                dup_reason[i] = REASON_DUPLICATE_ID
        if len(absorbed) > 1:
            _combine_into(table, first, absorbed)
    if merged_rows:
        nums = sorted(row_number.loc[merged_rows].tolist())
        warnings.append(
            f"{len(merged_rows)} duplicate rows merged into the same site (same site and name, within {MERGE_TOLERANCE_M:g} m; "
            f"commodities combined, workers = max): rows {row_list(nums)}"
        )
    n_dup = int(dup_reason.notna().sum())
    if n_dup:
        warnings.append(
            f"{n_dup} rows rejected because their site_id was already used by a different site (another name or place)"
        )
    return table.drop(index=merged_rows), dup_reason, len(merged_rows)


def _same_place(a: pd.Series, b: pd.Series) -> bool:
    ga, gb = a["geometry"], b["geometry"]
    if ga.geom_type == "Point" and gb.geom_type == "Point":
        _, _, d = GEOD.inv(a["lon"], a["lat"], b["lon"], b["lat"])
        return bool(d <= MERGE_TOLERANCE_M)
    return bool(shapely.equals_exact(ga, gb, tolerance=1e-5)) or bool(ga.equals(gb))


def _combine_into(table: pd.DataFrame, first: object, rows: list[object]) -> None:
    part = table.loc[rows]
    commodities = vocab.merge_commodity_lists(part["commodities"])
    table.at[first, "commodities"] = commodities
    table.at[first, "commodity"] = vocab.primary_commodity(commodities.split(";"))
    originals = [o for o in dict.fromkeys(part["commodity_original"]) if o]
    table.at[first, "commodity_original"] = "; ".join(originals)
    table.at[first, "workers"] = part["workers"].max()
    table.at[first, "gold_kg_per_yr"] = part["gold_kg_per_yr"].max()
    merc = set(part["mercury_use"])
    table.at[first, "mercury_use"] = "yes" if "yes" in merc else ("no" if "no" in merc else "unknown")
    for col in ("amalgamation", "retort", "cyanidation"):
        known = [p for p in part[col] if p != "unknown"]
        table.at[first, col] = known[0] if known else "unknown"
    table.at[first, "notes"] = "; ".join(n for n in dict.fromkeys(part["notes"]) if n)
    table.at[first, "observed_date"] = part["observed_date"].max()


def _no_commodity_warning(cols: pd.Index) -> str:
    """No commodity column: what that means for the risk, and how to say what the sites mine."""
    return (
        "no commodity column found (looked for 'commodity', 'mineral', 'substance', 'minerai' and others among "
        f"{[str(c) for c in cols][:12]}): every site's commodity is 'other', which the risk model takes as mining "
        "without mercury (only gold is amalgamated). Fix: name the commodity column (dashboard: 'Columns and "
        "defaults' under Your data; CLI: --column commodity=COLUMN), or set one commodity for the whole file "
        "(dashboard: 'Default commodity'; CLI: --default-commodity gold)"
    )


def _warn_protected_areas(frame: gpd.GeoDataFrame, kept: pd.Series, columns: pd.Index, warnings: list[str]) -> None:
    """A warning (with the fix) when the 'sites' look like protected areas: polygons with WDPA-like columns."""
    geoms = frame.geometry[kept.to_numpy()]
    n_poly = int(geoms.geom_type.isin(["Polygon", "MultiPolygon"]).sum())
    found = looks_like_protected_areas(columns, n_poly, len(geoms))
    if found:
        warnings.insert(0, protected_areas_in_sites_slot_warning(found, n_poly))


def _warn_unknown_commodities(table: pd.DataFrame, warnings: list[str]) -> None:
    other = int((table["commodity"] == "other").sum())
    listed = int(((table["commodity"] == "other") & (table["commodity_original"] != "")).sum())
    if listed:
        examples = table.loc[
            (table["commodity"] == "other") & (table["commodity_original"] != ""), "commodity_original"
        ].unique()[:5]
        warnings.append(
            f"{listed} of {other} sites with commodity 'other' name an unrecognised commodity, e.g. {list(examples)}"
        )


# --- output ---------------------------------------------------------------------------------------------------
def _assemble(table: pd.DataFrame, originals: pd.DataFrame) -> gpd.GeoDataFrame:
    schema = pd.DataFrame(
        {
            "site_id": table["site_id"].astype("str"),
            "name": table["name"].astype("str"),
            "country_iso3": table["country_iso3"].astype("string"),
            "commodity": table["commodity"].astype("str"),
            "commodities": table["commodities"].astype("str"),
            "commodity_original": table["commodity_original"].astype("str"),
            "workers": table["workers"].astype("float64"),
            "gold_kg_per_yr": table["gold_kg_per_yr"].astype("float64"),
            "mercury_use": table["mercury_use"].astype("str"),
            "amalgamation": table["amalgamation"].astype("str"),
            "retort": table["retort"].astype("str"),
            "cyanidation": table["cyanidation"].astype("str"),
            "notes": table["notes"].astype("str"),
            "observed_date": table["observed_date"].astype("datetime64[ns]"),
            "source": table["source"].astype("str"),
            "area_km2": table["area_km2"].astype("float64"),
            "lon": table["lon"].astype("float64"),
            "lat": table["lat"].astype("float64"),
        },
        index=table.index,
    )
    extra = originals.loc[table.index]
    extra = extra.rename(columns={c: f"orig_{c}" for c in extra.columns if c in SITE_COLUMNS})
    frame = pd.concat([schema, extra], axis=1)
    data = gpd.GeoDataFrame(
        frame, geometry=gpd.GeoSeries(table["geometry"].to_numpy(), index=table.index, crs=CRS_WGS84), crs=CRS_WGS84
    )
    order = list(SITE_COLUMNS) + [c for c in data.columns if c not in SITE_COLUMNS]
    return data[order].reset_index(drop=True)


def _rejected(
    originals: pd.DataFrame,
    reason: pd.Series,
    row_number: pd.Series,
    mask: pd.Series,
    frame: pd.DataFrame,
    geom_col: str | None,
) -> pd.DataFrame:
    mask = mask.reindex(originals.index, fill_value=False)
    rej = originals.loc[mask].copy()
    if geom_col is not None:
        g = frame.loc[mask, geom_col]
        rej["geometry_wkt"] = shapely.to_wkt(g.to_numpy(), rounding_precision=7) if len(g) else pd.Series(dtype="str")
    rej.insert(0, "reason", reason.reindex(originals.index).loc[mask].astype("str"))
    rej.insert(0, "row_number", row_number.loc[mask].astype("int64"))
    return rej.reset_index(drop=True)


def _no_usable_sites(path: Path, reason: pd.Series) -> LayerError:
    counts = reason.value_counts()
    top = counts.index[0]
    examples = ", ".join(f"'{r}' ×{n}" for r, n in counts.items())
    fixes = {
        REASON_MISSING: "fill in the latitude and longitude of each site (decimal degrees)",
        REASON_NON_NUMERIC: "write coordinates as decimal degrees, e.g. -3.45 or -3,45",
        REASON_LAT_RANGE: "check the columns are not swapped; if the coordinates are projected (e.g. UTM metres), pass crs='EPSG:32735' or the right EPSG code",
        REASON_LON_RANGE: "if the coordinates are projected (e.g. UTM metres), pass crs='EPSG:32735' or the right EPSG code",
        REASON_EMPTY_GEOMETRY: "give each feature a point or polygon geometry",
    }
    fix = fixes.get(top, "see the reasons and correct the rows")
    return LayerError(path, f"no usable sites: {len(reason.dropna())} rows rejected, e.g. {examples}", fix)
