"""Loading ASM site inventories into the normalised site schema (``layers.schema.SITE_COLUMNS``).

Any table or vector file that ``layers.readers`` reads is accepted. Three published
schemas are recognised by their columns and mapped natively: IPIS open data (DRC
ASM sites, one row per visit), Amazon Mining Watch detection polygons and the Peru
gold-mining inventory. Every input row ends up in exactly one of: ``data`` (a
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
import pyproj
import shapely

from geo.crs import GEOD, geodesic_area_km2
from layers import commodities as vocab
from layers.countries import assign_country_iso3, load_countries
from layers.errors import LayerError
from layers.readers import RawTable, find_column, normalise_column_name, read_any, to_number
from layers.schema import CRS_WGS84, SITE_COLUMNS, LoadResult

AMW_SOURCE = "Amazon Mining Watch (Earth Genome), CC BY 4.0"
MERGE_TOLERANCE_M = 1.5  # rows of one site repeated with GPS jitter below this are the same site

# Distinct rejection reasons (one message each, tested one by one).
REASON_MISSING = "missing coordinate"
REASON_NON_NUMERIC = "non-numeric coordinate"
REASON_LAT_RANGE = "latitude out of range [-90, 90]"
REASON_LON_RANGE = "longitude out of range [-180, 180]"
REASON_EMPTY_GEOMETRY = "empty geometry"
REASON_NO_AREA = "invalid polygon with no area left after repair"
REASON_BAD_WKT = "unreadable WKT geometry"
REASON_LINE = "line geometry (a site must be a point or a polygon)"
REASON_MULTIPOINT = "multi-point geometry (give one point per site)"
REASON_TRANSFORM = "coordinate cannot be transformed to WGS84 from the given CRS"
REASON_DUPLICATE_ID = "duplicate site_id"

LAT_NAMES = ("lat", "latitude", "y", "y_geo", "lat_dd", "latitud", "lat_wgs84", "latitude (dd)", "latitude_dd",
             "latitude_wgs84", "lat_deg", "ycoord", "y_coord", "coord_y", "decimallatitude", "latitude_decimal",
             "lat_y", "latitude_y", "northing")  # fmt: skip
LON_NAMES = ("lon", "long", "lng", "longitude", "x", "x_geo", "longitud", "lon_dd", "long_dd", "longitude (dd)",
             "longitude_dd", "lon_wgs84", "long_wgs84", "longitude_wgs84", "lon_deg", "xcoord", "x_coord", "coord_x",
             "decimallongitude", "longitude_decimal", "lon_x", "longitude_x", "easting")  # fmt: skip
WKT_NAMES = ("geometry", "wkt", "geom", "the_geom", "shape", "geometry_wkt")
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
ISO3_NAMES = ("country_iso3", "iso3", "iso_a3", "iso", "country_code", "iso_code", "code_pays", "cod_pais")
COUNTRY_NAMES = ("country", "pays", "pais", "country_name", "nation")

# Country names that Natural Earth spells differently, in the languages of the field teams.
_COUNTRY_ALIASES = {
    "drc": "COD", "rdc": "COD", "rd congo": "COD", "dr congo": "COD", "congo-kinshasa": "COD",
    "democratic republic of the congo": "COD", "democratic republic of congo": "COD",
    "republique democratique du congo": "COD", "congo, dem. rep.": "COD", "congo-brazzaville": "COG",
    "republic of the congo": "COG", "republique du congo": "COG", "cote d'ivoire": "CIV", "ivory coast": "CIV",
    "brasil": "BRA", "bresil": "BRA", "peru": "PER", "perou": "PER", "colombie": "COL", "bolivie": "BOL",
    "equateur": "ECU", "guyane": "FRA", "french guiana": "FRA", "tanzanie": "TZA", "tanzania": "TZA",
    "ouganda": "UGA", "burkina": "BFA", "guinee": "GIN", "guinea": "GIN", "senegal": "SEN", "niger": "NER",
    "mali": "MLI", "ghana": "GHA", "centrafrique": "CAF", "central african republic": "CAF",
    "republique centrafricaine": "CAF", "south sudan": "SSD", "soudan du sud": "SSD", "suriname": "SUR",
    "venezuela": "VEN", "guyana": "GUY", "indonesie": "IDN", "philippines": "PHL", "mongolie": "MNG",
}  # fmt: skip


# ------------------------------------------------------------------------------------------------
def load_sites(
    path: str | Path,
    *,
    crs: str | None = None,
    layer: str | None = None,
    countries: gpd.GeoDataFrame | None = None,
    source: str | None = None,
) -> LoadResult:
    """Read a site inventory; return sites in the normalised schema plus every rejected row with its reason.

    ``crs`` is the CRS of CSV/XLSX coordinates (EPSG:4326 when None; vector files carry
    their own). ``layer`` chooses a GeoPackage/KML layer, zipped shapefile or XLSX sheet.
    ``countries`` (iso3, name, geometry) defaults to ``layers.countries.load_countries()``.
    """
    from settings import get_settings

    p = Path(path)
    settings = get_settings()
    raw = read_any(p, layer, max_zip_members=settings.max_zip_members, max_unzipped_mb=settings.max_unzipped_mb)
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

    loc = _locate(raw, frame, p, crs, warnings)
    kept = loc.reason.isna()
    rejected_parts = [_rejected(originals, loc.reason, row_number, ~kept, frame, geom_col)]

    if not kept.any():
        raise _no_usable_sites(p, loc.reason)

    idx = kept[kept].index
    attrs = _attributes(originals.loc[idx], kind, warnings)
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

    table["site_id"] = _site_ids(originals.loc[table.index], table, kind, src)
    table, dup_reason, n_merged = _merge_duplicates(table, row_number, warnings)
    if dup_reason.notna().any():
        rejected_parts.append(_rejected(originals, dup_reason, row_number, dup_reason.notna(), frame, geom_col))
        table = table.loc[dup_reason.reindex(table.index).isna()]

    table["country_iso3"] = _countries_of(table, originals.loc[table.index], kind, countries, warnings)
    _warn_swapped(table, loc, row_number, countries, warnings)
    _warn_unknown_commodities(table, warnings)

    data = _assemble(table, originals)
    parts = [r for r in rejected_parts if len(r)] or rejected_parts[:1]
    rejected = pd.concat(parts, ignore_index=True).sort_values("row_number", kind="stable").reset_index(drop=True)
    data.attrs.update({"n_input_rows": n_input, "n_folded_rows": n_folded, "n_merged_rows": n_merged})
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


# --- geometry ---------------------------------------------------------------------------------
class _Located:
    """Per input row: WGS84 geometry, display lon/lat, and the rejection reason (NaN when kept)."""

    def __init__(self, index: pd.Index) -> None:
        self.geometry = pd.Series(None, index=index, dtype="object")
        self.lon = pd.Series(np.nan, index=index)
        self.lat = pd.Series(np.nan, index=index)
        self.reason = pd.Series(np.nan, index=index, dtype="object")
        self.swapped_out_of_range: list[int] = []  # row indices rejected for lat range that look swapped


def _locate(raw: RawTable, frame: pd.DataFrame, path: Path, crs: str | None, warnings: list[str]) -> _Located:
    loc = _Located(frame.index)
    lat_col = find_column(frame.columns, LAT_NAMES, prefixes=("latitude", "latitud"))
    lon_col = find_column(frame.columns, LON_NAMES, prefixes=("longitude", "longitud"))
    has_geom = isinstance(frame, gpd.GeoDataFrame) and (
        frame.geometry.notna().any() or lat_col is None or lon_col is None  # all-null geometries: 'empty geometry'
    )
    wkt_col = None if has_geom else find_column(frame.columns, WKT_NAMES)
    if has_geom:
        source_crs = raw.crs
        if source_crs is None:
            source_crs = crs or CRS_WGS84
            warnings.append(f"the file declares no CRS; coordinates read as {source_crs}")
        elif crs is not None and not pyproj.CRS.from_user_input(source_crs).equals(_parse_crs(crs, path)):
            warnings.append(f"crs={crs!r} ignored: the file declares its own CRS")
        geoms = frame.geometry.to_numpy()
        _classify_geometries(loc, frame.index, geoms, source_crs, path)
        null = pd.Series(shapely.is_missing(geoms) | shapely.is_empty(geoms), index=frame.index)
        if null.any() and lat_col is not None and lon_col is not None:
            # rows without a geometry but with coordinate columns (GDAL keeps them as attributes)
            _coordinates_from_columns(loc, frame.loc[null], lat_col, lon_col, crs, path, warnings)
        return loc
    if wkt_col is not None and (lat_col is None or lon_col is None):
        text = frame[wkt_col].astype("object")
        missing = text.isna() | (text.astype("str").str.strip() == "")
        geoms = shapely.from_wkt(text.where(~missing, None).to_numpy(), on_invalid="ignore")
        loc.reason[missing] = REASON_EMPTY_GEOMETRY
        bad = ~missing & pd.Series(shapely.is_missing(geoms), index=frame.index)
        loc.reason[bad] = REASON_BAD_WKT
        ok = loc.reason.isna()
        _classify_geometries(loc, frame.index[ok], geoms[ok.to_numpy()], crs or CRS_WGS84, path)
        return loc
    if lat_col is None or lon_col is None:
        found = [str(c) for c in frame.columns][:30]
        raise LayerError(
            path,
            f"no coordinate columns found; the columns are {found}",
            f"add latitude and longitude columns in decimal degrees (accepted names: {', '.join(LAT_NAMES[:8])}… and "
            f"{', '.join(LON_NAMES[:8])}…), or a WKT column named geometry/wkt",
        )
    _coordinates_from_columns(loc, frame, lat_col, lon_col, crs, path, warnings)
    return loc


def _parse_crs(crs: str, path: Path) -> pyproj.CRS:
    try:
        return pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise LayerError(
            path, f"unknown CRS {crs!r}", "give an EPSG code such as 'EPSG:4326' or 'EPSG:32735' (UTM 35S)"
        ) from exc


_DMS = re.compile(
    r"^\s*([NSEWO])?\s*(\d+(?:[.,]\d+)?)\s*[°º:d\s]\s*(?:(\d+(?:[.,]\d+)?)\s*['′:m\s]\s*)?"
    r"(?:(\d+(?:[.,]\d+)?)\s*(?:[\"″s]|'')?\s*)?([NSEWO])?\s*$",
    re.IGNORECASE,
)


def _parse_dms(text: object) -> float:
    """Degrees from '3°27\\'15"S', "S 3 27 15", '28°51,5\\'E' (the few rows that are not decimal); NaN otherwise."""
    m = _DMS.match(str(text))
    if not m:
        return float("nan")
    h1, d, mi, se, h2 = m.groups()
    hemi = (h1 or h2 or "").upper()
    try:
        value = (
            float(d.replace(",", "."))
            + float((mi or "0").replace(",", ".")) / 60
            + float((se or "0").replace(",", ".")) / 3600
        )
    except ValueError:
        return float("nan")
    return -value if hemi in ("S", "W", "O") else value


def _coordinates_from_columns(
    loc: _Located,
    frame: pd.DataFrame,
    lat_col: object,
    lon_col: object,
    crs: str | None,
    path: Path,
    warnings: list[str],
) -> None:
    lat, lat_bad = to_number(frame[lat_col])
    lon, lon_bad = to_number(frame[lon_col])
    for values, bad in ((lat, lat_bad), (lon, lon_bad)):
        if bad.any():  # degrees-minutes-seconds text, parsed row by row (rare)
            dms = frame.loc[bad, lat_col if values is lat else lon_col].map(_parse_dms)
            values.loc[bad] = dms
            bad.loc[bad] = dms.isna()
    missing = (lat.isna() & ~lat_bad) | (lon.isna() & ~lon_bad)
    non_numeric = ~missing & (lat_bad | lon_bad)
    reason = pd.Series(np.nan, index=frame.index, dtype="object")
    reason[missing] = REASON_MISSING
    reason[non_numeric] = REASON_NON_NUMERIC
    ok = reason.isna()
    geographic = crs is None or _parse_crs(crs, path).is_geographic
    if geographic and ok.any():
        valid_lon = lon[ok]
        if valid_lon.between(0, 360).all() and (valid_lon > 180).any():
            lon.loc[ok] = np.where(valid_lon > 180, valid_lon - 360, valid_lon)
            warnings.append(
                f"longitudes are in the 0–360° convention; {int((valid_lon > 180).sum())} values above 180 converted to −180…180"
            )
    if crs is not None and not geographic:
        transformer = pyproj.Transformer.from_crs(_parse_crs(crs, path), CRS_WGS84, always_xy=True)
        x, y = transformer.transform(lon[ok].to_numpy(), lat[ok].to_numpy(), errcheck=False)
        lon.loc[ok], lat.loc[ok] = x, y
        failed = ok & ~(np.isfinite(lon) & np.isfinite(lat))
        reason[failed] = REASON_TRANSFORM
        ok = reason.isna()
    elif crs is not None and not _parse_crs(crs, path).equals(pyproj.CRS.from_user_input(CRS_WGS84)):
        transformer = pyproj.Transformer.from_crs(_parse_crs(crs, path), CRS_WGS84, always_xy=True)
        x, y = transformer.transform(lon[ok].to_numpy(), lat[ok].to_numpy(), errcheck=False)
        lon.loc[ok], lat.loc[ok] = x, y
    lat_out = ok & ~lat.between(-90, 90)
    lon_out = ok & ~lat_out & ~lon.between(-180, 180)
    reason[lat_out] = REASON_LAT_RANGE
    reason[lon_out] = REASON_LON_RANGE
    swapped = lat_out & lon.abs().le(90) & lat.abs().le(180)
    loc.swapped_out_of_range.extend(swapped[swapped].index.tolist())
    ok = reason.isna()
    loc.reason.loc[frame.index] = reason
    loc.lon.loc[ok[ok].index] = lon[ok]
    loc.lat.loc[ok[ok].index] = lat[ok]
    loc.geometry.loc[ok[ok].index] = shapely.points(lon[ok].to_numpy(), lat[ok].to_numpy())


def _classify_geometries(loc: _Located, index: pd.Index, geoms: np.ndarray, source_crs: object, path: Path) -> None:
    """Fill ``loc`` for rows that have a geometry: repair polygons, reject lines, empties and out-of-range."""
    if len(index) == 0:
        return
    series = gpd.GeoSeries(geoms, index=index, crs=source_crs)
    if not pyproj.CRS.from_user_input(source_crs).equals(pyproj.CRS.from_user_input(CRS_WGS84)):
        try:
            series = series.to_crs(CRS_WGS84)
        except Exception as exc:  # pyproj.ProjError
            raise LayerError(
                path, f"cannot transform the geometries to WGS84 ({exc})", "check the file's CRS (.prj)"
            ) from exc
    arr = series.to_numpy()
    reason = pd.Series(np.nan, index=index, dtype="object")
    empty = shapely.is_missing(arr) | shapely.is_empty(arr)
    reason[empty] = REASON_EMPTY_GEOMETRY
    types = pd.Series(
        shapely.get_type_id(arr), index=index
    )  # 0 point, 1 line, 2 ring, 3 polygon, 4 mpoint, 5 mline, 6 mpoly, 7 coll
    reason[~empty & types.isin([1, 2, 5]).to_numpy()] = REASON_LINE
    mpoint = ~empty & (types == 4).to_numpy()
    if mpoint.any():
        n_parts = shapely.get_num_geometries(arr[mpoint])
        arr[mpoint] = np.where(n_parts == 1, shapely.get_geometry(arr[mpoint], 0), arr[mpoint])
        reason[np.flatnonzero(mpoint)[n_parts > 1]] = REASON_MULTIPOINT  # positional: index aligned below
    areal = ~empty & types.isin([3, 6, 7]).to_numpy()
    if areal.any():
        fixed = _polygonal(arr[areal])
        arr[areal] = fixed
        no_area = np.asarray([g is None for g in fixed])
        reason.iloc[np.flatnonzero(areal)[no_area]] = REASON_NO_AREA
    ok = reason.isna().to_numpy()
    bounds = shapely.bounds(arr[ok])
    reps = shapely.get_coordinates(shapely.point_on_surface(arr[ok]))
    lat_out = ~((bounds[:, 1] >= -90) & (bounds[:, 3] <= 90))
    lon_out = ~lat_out & ~((bounds[:, 0] >= -180) & (bounds[:, 2] <= 180))
    ok_pos = np.flatnonzero(ok)
    reason.iloc[ok_pos[lat_out]] = REASON_LAT_RANGE
    reason.iloc[ok_pos[lon_out]] = REASON_LON_RANGE
    keep = ~(lat_out | lon_out)
    good_idx = index[ok_pos[keep]]
    loc.geometry.loc[good_idx] = arr[ok_pos[keep]]
    loc.lon.loc[good_idx] = reps[keep, 0]
    loc.lat.loc[good_idx] = reps[keep, 1]
    loc.reason.loc[index] = reason


def _polygonal(geoms: np.ndarray) -> list[object]:
    """Valid (Multi)Polygons: invalid ones repaired with make_valid; None where nothing polygonal is left."""
    out: list[object] = []
    valid = shapely.is_valid(geoms)
    for g, ok in zip(geoms, valid, strict=True):
        if ok and g.geom_type in ("Polygon", "MultiPolygon") and g.area > 0:
            out.append(g)
            continue
        fixed = shapely.make_valid(g) if not ok else g
        parts = [
            p for p in getattr(fixed, "geoms", [fixed]) if p.geom_type in ("Polygon", "MultiPolygon") and not p.is_empty
        ]
        if not parts:
            out.append(None)
            continue
        merged = shapely.union_all(parts) if len(parts) > 1 else parts[0]
        out.append(merged if merged.area > 0 else None)
    return out


# --- attributes -----------------------------------------------------------------------------------
def _attributes(orig: pd.DataFrame, kind: str, warnings: list[str]) -> pd.DataFrame:
    cols = orig.columns
    out = pd.DataFrame(index=orig.index)
    name_col = find_column(cols, NAME_NAMES)
    out["name"] = _text(orig[name_col]) if name_col is not None else pd.Series("", index=orig.index, dtype="str")

    if kind in ("amw", "peru"):
        comm = pd.Series("gold", index=orig.index)
    else:
        comm_cols = _commodity_columns(cols)
        if comm_cols:
            parts = [_text(orig[c]) for c in comm_cols]
            comm = parts[0]
            for part in parts[1:]:
                comm = (comm + "; " + part).str.strip("; ")
        else:
            comm = pd.Series("", index=orig.index, dtype="str")
            warnings.append(
                "no commodity column found (e.g. 'commodity', 'substance', 'minerai'); commodity set to 'other'"
            )
    out = out.join(vocab.normalise_commodities(comm))
    if kind in ("amw", "peru"):
        out["commodity_original"] = ""  # the file names no commodity: gold is implied by the dataset

    worker_col = find_column(cols, WORKER_NAMES) or _column_with_stem(cols, WORKER_STEMS)
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
    out["gold_kg_per_yr"] = _gold_production(orig, warnings)

    if kind in ("amw", "peru"):
        out["mercury_use"] = "unknown"
        for col in ("amalgamation", "retort", "cyanidation"):
            out[col] = "unknown"
        out["notes"] = ""
    else:
        out = out.join(_processing(orig, cols, warnings))
    date_col = find_column(cols, DATE_NAMES)
    out["observed_date"] = (
        parse_dates(orig[date_col])
        if date_col is not None
        else pd.Series(pd.NaT, index=orig.index, dtype="datetime64[ns]")
    )
    return out


def _processing(orig: pd.DataFrame, cols: pd.Index, warnings: list[str]) -> pd.DataFrame:
    """``mercury_use``, ``amalgamation``, ``retort``, ``cyanidation`` and ``notes`` (layers.commodities.site_practices)."""
    found = {name: find_column(cols, names) for name, names in vocab.PRACTICE_COLUMN_NAMES.items()}
    if found["amalgamation"] == found["processing"]:
        found["amalgamation"] = None
    given = {name: (orig[col] if col is not None else None) for name, col in found.items()}
    out, n_legacy = vocab.site_practices(given, orig.index)
    if n_legacy:
        warnings.append(
            f"{n_legacy} rows use the old processing vocabulary ('retort', 'cyanidation'); read as amalgamation "
            "type + retort + cyanidation, see the notes column"
        )
    return out


def _text(values: pd.Series) -> pd.Series:
    """Strings with surrounding blanks removed; '' for missing; numbers like 12.0 written as '12'."""
    if pd.api.types.is_string_dtype(values.dtype):
        return values.fillna("").astype("str").str.strip()
    obj = values.astype("object")
    whole = obj.map(lambda v: isinstance(v, float | np.floating) and float(v).is_integer())
    obj = obj.where(
        ~whole, obj.map(lambda v: str(int(v)) if isinstance(v, float | np.floating) and v.is_integer() else v)
    )
    return obj.where(obj.notna(), "").astype("str").str.strip()


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
    for c in cols:
        n = normalise_column_name(c)
        if any(s in n for s in stems) and not any(
            w in n for w in ("percent", "pct", "femme", "women", "mulher", "enfant", "child")
        ):
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


def _gold_production(orig: pd.DataFrame, warnings: list[str]) -> pd.Series:
    for c in orig.columns:
        n = normalise_column_name(c)
        if n == "gold_kg_per_yr" or (
            re.search(r"(gold|or|ouro|oro|production|prod|au)", n)
            and re.search(r"(yr|year|an|ano|annee|month|mois|mes|day|jour|dia)$", n)
        ):
            factor = (
                1.0 if n == "gold_kg_per_yr" else next((f for pat, f in _PRODUCTION_UNITS if re.search(pat, n)), None)
            )
            if factor is None:
                continue
            values, bad = to_number(orig[c])
            if bad.any():
                warnings.append(f"{int(bad.sum())} values of {c!r} are not numbers (gold_kg_per_yr set to NaN)")
            if factor == 365e-3:
                warnings.append(
                    f"gold production {c!r} is per day; converted assuming 365 working days a year (an upper bound)"
                )
            return values * factor
    return pd.Series(np.nan, index=orig.index)


def parse_dates(values: pd.Series) -> pd.Series:
    """datetime64[ns] from ISO dates, day-first dates (31/12/2023, 31.12.2023), Excel dates, years (2019, 201900).

    Dates before 1800 or after 2200 (typos such as '0201-05-03') become NaT.
    """
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        out = values
        if getattr(out.dt, "tz", None) is not None:
            out = out.dt.tz_convert("UTC").dt.tz_localize(None)
        return out.where(out.dt.year.between(1800, 2200)).astype("datetime64[ns]")
    obj = values.astype("object")
    uniques = pd.unique(obj[obj.notna()].to_numpy())
    table: dict[object, pd.Timestamp] = {}
    text_keys: list[object] = []
    for u in uniques:
        if isinstance(u, pd.Timestamp | np.datetime64) or hasattr(u, "year"):
            ts = pd.Timestamp(u)
            table[u] = ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo else ts
        elif isinstance(u, int | float | np.integer | np.floating) and not isinstance(u, bool):
            table[u] = _date_from_number(float(u))
        else:
            text_keys.append(u)
    if text_keys:
        text = pd.Series([str(t).strip() for t in text_keys], dtype="str")
        number = pd.to_numeric(text, errors="coerce")
        iso = pd.to_datetime(text.where(~text.str.fullmatch(r"\d+")), format="ISO8601", errors="coerce")
        rest = iso.isna() & number.isna()
        dayfirst = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
        for fmt in (
            "%d/%m/%Y",
            "%d-%m-%Y",
            "%d.%m.%Y",
            "%d/%m/%y",
            "%d-%m-%y",
            "%d.%m.%y",
            "%d/%m/%Y %H:%M",
            "%d/%m/%Y %H:%M:%S",
        ):
            todo = rest & dayfirst.isna()
            if not todo.any():
                break
            dayfirst[todo] = pd.to_datetime(text[todo], format=fmt, errors="coerce")
        for i, key in enumerate(text_keys):
            if pd.notna(iso.iloc[i]):
                ts = pd.Timestamp(iso.iloc[i])
                table[key] = ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo else ts
            elif pd.notna(number.iloc[i]):
                table[key] = _date_from_number(float(number.iloc[i]))
            else:
                table[key] = dayfirst.iloc[i]
    table = {k: (v if pd.notna(v) and 1800 <= v.year <= 2200 else pd.NaT) for k, v in table.items()}
    present = obj.notna()
    out = obj.where(present).map(table).where(present)
    return pd.to_datetime(out, errors="coerce").astype("datetime64[ns]")


def _date_from_number(v: float) -> pd.Timestamp:
    """A year (2019), an AMW layer year (201900 = 2019) or an Excel serial day number."""
    if not np.isfinite(v):
        return pd.NaT
    if 1900 <= v <= 2100 and v.is_integer():
        return pd.Timestamp(int(v), 1, 1)
    if 190000 <= v <= 210000 and v.is_integer() and v % 100 == 0:
        return pd.Timestamp(int(v // 100), 1, 1)
    if 20000 <= v <= 80000:  # Excel serial date (days since 1899-12-30), 1954–2119
        return pd.Timestamp("1899-12-30") + pd.Timedelta(days=v)
    return pd.NaT


# --- IPIS visits, ids and duplicates -------------------------------------------------------------------
def _fold_ipis_visits(
    table: pd.DataFrame, orig: pd.DataFrame, rows: pd.Series, warnings: list[str]
) -> tuple[pd.DataFrame, int]:
    """One site per pcode: the latest visit (by date, then file order); earlier visits are folded, not rejected."""
    pcode = _text(orig.loc[table.index, find_column(orig.columns, ("pcode",))])
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


def _site_ids(orig: pd.DataFrame, table: pd.DataFrame, kind: str, src: str) -> pd.Series:
    id_col = find_column(orig.columns, ("pcode",) if kind == "ipis" else ID_NAMES)
    given = _text(orig[id_col]) if id_col is not None else pd.Series("", index=orig.index, dtype="str")
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
            f"commodities combined, workers = max): rows {_list_rows(nums)}"
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


def _list_rows(nums: list[int], limit: int = 15) -> str:
    shown = ", ".join(str(n) for n in nums[:limit])
    return shown + (f" … (+{len(nums) - limit} more)" if len(nums) > limit else "")


# --- countries -------------------------------------------------------------------------------------------
def _countries_of(
    table: pd.DataFrame, orig: pd.DataFrame, kind: str, countries: gpd.GeoDataFrame | None, warnings: list[str]
) -> pd.Series:
    iso = pd.Series(pd.NA, index=table.index, dtype="string")
    if kind == "peru":
        return pd.Series("PER", index=table.index, dtype="string")
    if countries is None:
        countries = load_countries()
    known = set(countries["iso3"].astype("str"))
    iso_col = find_column(orig.columns, ISO3_NAMES)
    if iso_col is not None:
        codes = _text(orig[iso_col]).str.upper()
        iso = codes.where(codes.isin(known)).astype("string")
    name_col = find_column(orig.columns, COUNTRY_NAMES)
    if name_col is not None and iso.isna().any():
        lookup = {vocab.fold_text(n): c for n, c in zip(countries["name"], countries["iso3"], strict=True)}
        lookup.update({vocab.fold_text(c): c for c in known})
        lookup.update({k: v for k, v in _COUNTRY_ALIASES.items() if v in known})
        names = _text(orig[name_col]).map(vocab.fold_text)
        iso = iso.fillna(names.map(lookup).astype("string"))
    todo = iso.isna()
    if todo.any():
        geoms = gpd.GeoSeries(table.loc[todo, "geometry"].to_numpy(), index=table.index[todo], crs=CRS_WGS84)
        iso.loc[todo] = assign_country_iso3(geoms, countries).astype("string")
    return iso.astype("string")


def _warn_swapped(
    table: pd.DataFrame, loc: _Located, row_number: pd.Series, countries: gpd.GeoDataFrame | None, warnings: list[str]
) -> None:
    if loc.swapped_out_of_range:
        nums = sorted(row_number.loc[loc.swapped_out_of_range].tolist())
        warnings.append(
            f"{len(nums)} rows have a latitude beyond ±90 but a longitude within ±90: latitude and longitude look swapped "
            f"(rows {_list_rows(nums)}); they were rejected, swap the columns and reload"
        )
    outside = table["country_iso3"].isna() & (shapely.get_type_id(table["geometry"].to_numpy()) == 0)
    if not outside.any():
        return
    cand = table.loc[outside & table["lon"].between(-90, 90)]
    if cand.empty:
        return
    if countries is None:
        countries = load_countries()
    swapped = gpd.GeoDataFrame(
        geometry=shapely.points(cand["lat"].to_numpy(), cand["lon"].to_numpy()), index=cand.index, crs=CRS_WGS84
    )
    hit = gpd.sjoin(swapped, countries[["iso3", "geometry"]], how="inner", predicate="within")
    if len(hit):
        nums = sorted(row_number.loc[hit.index.unique()].tolist())
        warnings.append(
            f"{len(nums)} sites fall outside every country but would fall in one with latitude and longitude swapped "
            f"(rows {_list_rows(nums)}); check the coordinate columns"
        )


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
