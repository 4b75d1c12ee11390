"""Where each site is: coordinate columns, WKT or geometries, to WGS84 points and polygons (layers.sites).

Per input row: the WGS84 geometry, a representative lon/lat, or the reason the row is rejected.
Handles decimal commas and degrees-minutes-seconds text, 0-360 longitudes, projected CRSs, lines,
multi-points, invalid polygons and out-of-range coordinates, each with its own rejection reason.
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from layers.errors import LayerError
from layers.readers import RawTable, find_column, to_number
from layers.schema import CRS_WGS84

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

LAT_NAMES = ("lat", "latitude", "y", "y_geo", "lat_dd", "latitud", "lat_wgs84", "latitude (dd)", "latitude_dd",
             "latitude_wgs84", "lat_deg", "ycoord", "y_coord", "coord_y", "decimallatitude", "latitude_decimal",
             "lat_y", "latitude_y", "northing")  # fmt: skip
LON_NAMES = ("lon", "long", "lng", "longitude", "x", "x_geo", "longitud", "lon_dd", "long_dd", "longitude (dd)",
             "longitude_dd", "lon_wgs84", "long_wgs84", "longitude_wgs84", "lon_deg", "xcoord", "x_coord", "coord_x",
             "decimallongitude", "longitude_decimal", "lon_x", "longitude_x", "easting")  # fmt: skip
WKT_NAMES = ("geometry", "wkt", "geom", "the_geom", "shape", "geometry_wkt")


class Located:
    """Per input row: WGS84 geometry, display lon/lat, and the rejection reason (NaN when kept)."""

    def __init__(self, index: pd.Index) -> None:
        self.geometry = pd.Series(None, index=index, dtype="object")
        self.lon = pd.Series(np.nan, index=index)
        self.lat = pd.Series(np.nan, index=index)
        self.reason = pd.Series(np.nan, index=index, dtype="object")
        self.swapped_out_of_range: list[int] = []  # row indices rejected for lat range that look swapped


def locate(
    raw: RawTable,
    frame: pd.DataFrame,
    path: Path,
    crs: str | None,
    warnings: list[str],
    *,
    lat_col: object | None = None,
    lon_col: object | None = None,
) -> Located:
    """Where each row is; ``lat_col`` / ``lon_col`` are the coordinate columns (found by name when None)."""
    loc = Located(frame.index)
    if lat_col is None:
        lat_col = find_column(frame.columns, LAT_NAMES, prefixes=("latitude", "latitud"))
    if lon_col is None:
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
    loc: Located,
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


def _classify_geometries(loc: Located, index: pd.Index, geoms: np.ndarray, source_crs: object, path: Path) -> None:
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
