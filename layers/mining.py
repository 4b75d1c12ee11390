"""Mining footprints with a year: one file per year, or one file with a year or date column.

Amazon Mining Watch (Earth Genome) publishes one GeoJSON per year,
``mining_{YYYY}00_simplified.geojson`` with ``year = YYYY00`` (so 201800 is 2018) and the
detector's ``Mined area (ha)``; any polygon file with a year works the same way.

Where a row's year comes from, first found wins:

1. ``year=`` given to :func:`load_mining` (for every file);
2. a year column (``year``, ``ano``, ``año``, ``annee``, ``jahr``): 2019, 201900 (AMW: the year
   followed by a quarter 00-04), "2019" or a date;
3. a date column (``date``, ``observed_date``, ``detection_date``, ``fecha``, ``data``...): its year
   (ISO, day-first, Excel dates: ``layers.sites.parse_dates``);
4. a year in the file name: four digits 19xx/20xx not inside a longer number, or AMW's ``YYYY00``
   (``mining_201800_simplified.geojson`` → 2018). A name with two different years is ambiguous.

A row whose column value is missing takes the file-name year when there is one. Output
(``LoadResult.data``): ``footprint_id`` (``<file stem>:<row>``), ``year`` (int64), ``source`` (file
name), ``area_km2`` (equal-area, ``geo.zones``), ``mined_km2`` (the detector's mined area,
``Mined area (ha)`` / 100, NaN when the file has none) and the (Multi)Polygon geometry in
EPSG:4326, then the file's columns (``orig_<name>`` where they clash). Points, lines, rows
without a usable year and unusable geometries are rejected with their reason.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.zones import equal_area_km2
from layers.dates import parse_dates
from layers.errors import LayerError
from layers.guard import ZipLimits
from layers.readers import find_column, normalise_column_name, to_number
from layers.schema import CRS_WGS84, LoadResult
from layers.vectors import geometry_problems, read_vector_features, rejected_rows

MINING_COLUMNS: tuple[str, ...] = ("footprint_id", "year", "source", "area_km2", "mined_km2", "geometry")
YEAR_NAMES: tuple[str, ...] = ("year", "ano", "año", "annee", "année", "jahr", "yr")
DATE_NAMES: tuple[str, ...] = (
    "date",
    "observed_date",
    "detection_date",
    "acquisition_date",
    "image_date",
    "fecha",
    "data",
    "datum",
)
MINED_HA_NAMES: tuple[str, ...] = ("mined_area_ha", "mined_ha")
MIN_YEAR, MAX_YEAR = 1900, 2100
REASON_NOT_POLYGON = "not a polygon (mining footprints are areas; a point or line is a site, load it as sites)"
REASON_NO_YEAR = "no year: the year/date column is empty and the file name holds no year"
REASON_NO_AREA = "invalid polygon with no area left after repair"
_YEAR_IN_NAME = re.compile(r"(?<!\d)((?:19|20)\d{2})(?:0[0-4])?(?!\d)")


def year_from_file_name(path: str | Path) -> int | None:
    """The year in a file name (``mining_201800_simplified.geojson`` → 2018), None if none.

    Raises LayerError when the name holds two different years.
    """
    found = {int(m) for m in _YEAR_IN_NAME.findall(Path(path).stem)}
    if len(found) > 1:
        raise LayerError(
            path,
            f"the file name holds several years {sorted(found)}, so the footprints' year is ambiguous",
            "rename the file with one year, add a 'year' column, or give year= explicitly",
        )
    return found.pop() if found else None


def parse_years(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Years (Int64) from 2019, 201900 (AMW: year and quarter 00-04), "2019" or dates.

    Returns
    -------
    (years, bad): <NA> where missing or unusable, and True where a value was given but is not a
    year between 1900 and 2100.
    """
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        years = values.dt.year.astype("Int64")
        missing = values.isna()
    else:
        numbers, not_number = to_number(values)
        whole = numbers.notna() & (numbers == numbers.round())
        years = pd.Series(pd.NA, index=values.index, dtype="Int64")
        plain = whole & numbers.between(MIN_YEAR, MAX_YEAR)
        amw = whole & numbers.between(MIN_YEAR * 100, MAX_YEAR * 100 + 4) & ((numbers % 100) <= 4)
        years[plain] = numbers[plain].astype("int64")
        years[amw] = (numbers[amw] // 100).astype("int64")
        text = not_number & values.notna()
        if text.any():  # dates written as text
            dates = parse_dates(values[text])
            years[text] = dates.dt.year.astype("Int64")
        missing = values.isna() | (values.astype("string").str.strip() == "").fillna(True)
    years = years.where(years.between(MIN_YEAR, MAX_YEAR))
    bad = years.isna() & ~missing
    return years, bad


def _row_years(frame: pd.DataFrame, path: Path, year: int | None, warnings: list[str]) -> tuple[pd.Series, np.ndarray]:
    """Year per row and the rejection reasons of rows without one."""
    reasons = np.full(len(frame), "", dtype=object)
    if year is not None:
        return pd.Series(int(year), index=frame.index, dtype="Int64"), reasons
    cols = [c for c in frame.columns if c not in ("geometry", "row_number", "source_layer")]
    from_name = year_from_file_name(path)
    col = find_column(cols, YEAR_NAMES)
    kind = "year"
    if col is None:
        col = find_column(cols, DATE_NAMES)
        kind = "date"
    if col is None:
        if from_name is None:
            raise LayerError(
                path,
                "the footprints have no year: no year or date column, and no year in the file name",
                "add a 'year' column, name the file like mining_2019.geojson, or give year= explicitly",
            )
        return pd.Series(from_name, index=frame.index, dtype="Int64"), reasons
    values = frame[col]
    years, bad = parse_years(values) if kind == "year" else _date_years(values)
    for i in np.flatnonzero(bad.to_numpy()):
        reasons[i] = f"{kind} {values.iat[i]!r} in column {col!r} is not a year between {MIN_YEAR} and {MAX_YEAR}"
    empty = years.isna() & ~bad
    if empty.any():
        if from_name is not None:
            years[empty] = from_name
            warnings.append(
                f"{path.name}: {int(empty.sum())} row(s) without a {kind} take the file-name year {from_name}"
            )
        else:
            reasons[empty.to_numpy()] = REASON_NO_YEAR
    if from_name is not None:
        other = years.notna() & (years != from_name)
        if other.any():
            warnings.append(
                f"{path.name}: {int(other.sum())} row(s) have a {kind} other than the file-name year {from_name} "
                f"(e.g. {int(years[other].iat[0])}); the column was used"
            )
    return years, reasons


def _date_years(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    dates = parse_dates(values)
    missing = values.isna() | (values.astype("string").str.strip() == "").fillna(True)
    years = dates.dt.year.astype("Int64").where(dates.dt.year.between(MIN_YEAR, MAX_YEAR))
    return years, years.isna() & ~missing


def _polygons(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """2-D polygons; invalid ones repaired (polygonal part kept); reason per non-polygon."""
    geoms = shapely.force_2d(geoms)
    reasons = np.full(len(geoms), "", dtype=object)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    types = shapely.get_type_id(geoms)
    reasons[ok & ~np.isin(types, (3, 6, 7))] = REASON_NOT_POLYGON
    bad = np.flatnonzero(ok & (reasons == "") & (~shapely.is_valid(geoms) | (types == 7)))
    n_repaired = 0
    for i in bad:
        parts = shapely.get_parts(shapely.get_parts(shapely.make_valid(geoms[i])))
        polys = parts[shapely.get_type_id(parts) == 3]
        if types[i] == 7 and len(polys) < len(parts):
            reasons[i] = REASON_NOT_POLYGON
            continue
        n_repaired += types[i] != 7
        geoms[i] = shapely.union_all(polys) if len(polys) else None
        if not len(polys):
            reasons[i] = REASON_NO_AREA
    return geoms, reasons, n_repaired


def _load_one(
    path: Path, year: int | None, layer: str | None, limits: dict
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, list[str]]:
    frame, warnings = read_vector_features(path, layer=layer, what="mining footprints", **limits)
    geoms = np.asarray(frame.geometry.values, dtype=object)
    reasons = geometry_problems(geoms)
    geoms, poly_reasons, n_repaired = _polygons(geoms)
    reasons = np.where(reasons == "", poly_reasons, reasons)
    if n_repaired:
        warnings.append(f"{path.name}: {n_repaired} invalid polygon(s) repaired with make_valid (polygonal parts kept)")
    years, year_reasons = _row_years(frame, path, year, warnings)
    reasons = np.where(reasons == "", year_reasons, reasons)
    keep = reasons == ""
    rejected = rejected_rows(frame, reasons, path.name)
    cols = [c for c in frame.columns if c not in ("geometry", "row_number", "source_layer")]
    mined_col = next((c for c in cols if normalise_column_name(c) in MINED_HA_NAMES), None)
    mined = (
        to_number(frame.loc[keep, mined_col])[0].to_numpy() / 100.0
        if mined_col is not None
        else np.full(int(keep.sum()), np.nan)
    )
    originals = pd.DataFrame(frame.loc[keep, cols]).reset_index(drop=True)
    originals.columns = [f"orig_{c}" if c in MINING_COLUMNS else c for c in originals.columns]
    rows = frame.loc[keep, "row_number"].to_numpy()
    layers = frame.loc[keep, "source_layer"].astype("str").to_numpy()
    ids = [f"{path.stem}:{lyr + ':' if lyr else ''}{r}" for lyr, r in zip(layers, rows, strict=True)]
    kept_geoms = geoms[keep]
    data = pd.DataFrame(
        {
            "footprint_id": pd.array(ids, dtype="string"),
            "year": years[keep].astype("int64").to_numpy(),
            "source": pd.array([path.name] * len(ids), dtype="string"),
            "area_km2": equal_area_km2(kept_geoms),
            "mined_km2": mined.astype("float64"),
        }
    )
    data = pd.concat([data, originals], axis=1)
    data = gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(kept_geoms, crs=CRS_WGS84), crs=CRS_WGS84)
    return data, rejected, warnings


def load_mining(
    paths: str | Path | Sequence[str | Path],
    *,
    year: int | None = None,
    layer: str | None = None,
    zip_limits: ZipLimits,
    max_mb: float | None = None,
) -> LoadResult:
    """Mining footprints from one or several files, each row with its year; every unusable row rejected with its reason."""
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    if not items:
        raise LayerError(None, "no mining file given", "give at least one file of mining footprints")
    if year is not None and not (isinstance(year, int | np.integer) and MIN_YEAR <= int(year) <= MAX_YEAR):
        raise LayerError(None, f"year={year!r} is not a year between {MIN_YEAR} and {MAX_YEAR}", "give e.g. year=2019")
    limits = {"zip_limits": zip_limits, "max_mb": max_mb}
    data_parts, rejected_parts, warnings = [], [], []
    names = [Path(p).name for p in items]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise LayerError(None, f"the same file name is given twice: {dup}", "give each file once")
    for p in items:
        d, r, w = _load_one(Path(p), year, layer, limits)
        data_parts.append(d)
        if len(r):
            rejected_parts.append(r)
        warnings.extend(w)
    data = pd.concat(data_parts, ignore_index=True)
    data = gpd.GeoDataFrame(data, geometry="geometry", crs=CRS_WGS84)
    data = data[[*MINING_COLUMNS, *[c for c in data.columns if c not in MINING_COLUMNS]]]
    rejected = (
        pd.concat(rejected_parts, ignore_index=True)
        if rejected_parts
        else pd.DataFrame(columns=["row_number", "source", "source_layer", "reason"])
    )
    source = names[0] if len(names) == 1 else f"{len(names)} mining files"
    if len(data) == 0:
        counts = rejected["reason"].value_counts()
        raise LayerError(
            None if len(items) > 1 else items[0],
            "no usable mining footprint: " + "; ".join(f"{r} ×{n}" for r, n in counts.items()),
            "give polygons with a year (a year/date column or a year in the file name)",
        )
    if len(rejected):
        counts = rejected["reason"].value_counts()
        warnings.insert(
            0, f"{len(rejected)} footprints rejected: " + "; ".join(f"{r!r} ×{n}" for r, n in counts.items())
        )
    return LoadResult(data=data, rejected=rejected, warnings=warnings, source=source)
