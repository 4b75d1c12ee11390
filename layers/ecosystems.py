"""Critical ecosystems: rainforest, coral reefs, water bodies and the Arctic.

Every vector loader returns a GeoDataFrame with ``name`` and ``geometry`` in EPSG:4326.
The Arctic is returned as a :class:`geo.regions.PolarRegion`, kept in its polar CRS:
a pole-containing polygon is never reprojected to EPSG:4326.
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import rasterio
import rasterio.features
import shapely
from affine import Affine
from rasterio.enums import Resampling
from rasterio.errors import RasterioIOError

from geo.regions import PolarRegion
from layers.errors import LayerError
from layers.guard import ZipLimits, check_content
from layers.protected_areas import _polygonal, read_vector_layers, to_wgs84
from layers.readers import pick_column
from layers.schema import CRS_WGS84

RASTER_SUFFIXES = (".tif", ".tiff", ".vrt", ".img", ".nc")
# A tree-cover raster larger than this is read decimated (GDAL average resampling) so the
# number of cells turned into polygons stays bounded: e.g. a 40,000 × 40,000 Hansen tile at
# ~30 m is read at 1/20 resolution (~600 m pixels).
MAX_RASTER_CELLS = 4_000_000

_NAME_GUESSES = ("name", "NAME", "name_en", "nom", "nome", "nombre", "ORIG_NAME", "name_field")


def _read_vector(path: str | Path, where: str | None, zip_limits: ZipLimits) -> gpd.GeoDataFrame:
    warnings: list[str] = []
    frames = []
    if where is not None:
        check_content(path)
        try:
            frame = gpd.read_file(path, where=where, engine="pyogrio")
        except pyogrio.errors.DataSourceError as exc:
            raise LayerError(path, f"cannot be opened ({exc})", "check the path and format") from exc
        except Exception as exc:  # GDAL reports a bad SQL filter as a generic error
            raise LayerError(
                path, f"filter {where!r} cannot be applied ({exc})", "use OGR SQL, e.g. \"featurecla = 'Basin'\""
            ) from exc
        frames.append(to_wgs84(frame, path, warnings))
    else:
        for label, frame in read_vector_layers(path, zip_limits=zip_limits):
            frames.append(to_wgs84(frame, label, warnings))
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    frame = gpd.GeoDataFrame(frame, geometry=frame.geometry.name, crs=CRS_WGS84)
    frame = frame[~(frame.geometry.isna() | frame.geometry.is_empty)]
    if len(frame) == 0:
        raise LayerError(
            path, "no features with a geometry (after the filter, if any)", "check the file and the filter"
        )
    return frame.reset_index(drop=True)


def _names(frame: gpd.GeoDataFrame, default: str, *guesses: str) -> pd.Series:
    cols = [c for c in frame.columns if c != frame.geometry.name]
    col = pick_column(cols, guesses or _NAME_GUESSES)
    if col is None:
        return pd.Series(default, index=frame.index, dtype="str")
    out = (
        frame[col]
        .astype("object")
        .map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))
    )
    return out.astype("str").str.strip().replace({"": default, "Not Reported": default})


def _out(names: pd.Series, geoms: gpd.GeoSeries) -> gpd.GeoDataFrame:
    # Z values (e.g. in Amazon_ACA.geojson) carry no meaning here and upset some engines.
    return gpd.GeoDataFrame(
        {"name": names.to_numpy()}, geometry=shapely.force_2d(np.asarray(geoms.values)), crs=CRS_WGS84
    )


def _polygonal_parts(geoms: np.ndarray) -> np.ndarray:
    invalid = ~shapely.is_valid(geoms)
    fixed = geoms.copy()
    fixed[invalid] = shapely.make_valid(geoms[invalid])
    return np.array([_polygonal(g) for g in fixed] + [None], dtype=object)[:-1]


def load_rainforest(
    path: str | Path, *, threshold_pct: float, zip_limits: ZipLimits, where: str | None = None
) -> gpd.GeoDataFrame:
    """Rainforest polygons (``name``, ``geometry``, EPSG:4326) from a polygon layer or a tree-cover GeoTIFF.

    ``where`` is an OGR SQL filter for vector files, e.g. for Natural Earth regions
    ``"featurecla = 'Basin' AND name IN ('AMAZON BASIN', 'CONGO BASIN')"``.
    A raster is tree cover in percent: pixels >= ``threshold_pct`` become polygons.
    """
    path = Path(path)
    if not path.exists():
        raise LayerError(path, "file not found", "check the rainforest path")
    if path.suffix.lower() in RASTER_SUFFIXES:
        return _rainforest_from_raster(path, threshold_pct)
    frame = _read_vector(path, where, zip_limits)
    polys = _polygonal_parts(np.asarray(frame.geometry.values))
    keep = np.array([g is not None for g in polys])
    if not keep.any():
        raise LayerError(path, "no polygons (rainforest must be areas)", "give a polygon layer or a tree-cover GeoTIFF")
    names = _names(frame, path.stem)
    return _out(names[keep], gpd.GeoSeries(polys[keep]))


def _rainforest_from_raster(path: Path, threshold_pct: float) -> gpd.GeoDataFrame:
    if not 0.0 <= threshold_pct <= 100.0:
        raise LayerError(
            path, f"threshold_pct {threshold_pct} is not a percentage", "use a value between 0 and 100, e.g. 30"
        )
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise LayerError(
                    path, "the tree-cover raster has no CRS", "assign one (gdal_edit.py -a_srs EPSG:4326 FILE.tif)"
                )
            factor = max(1, math.ceil(math.sqrt(src.width * src.height / MAX_RASTER_CELLS)))
            out_h, out_w = math.ceil(src.height / factor), math.ceil(src.width / factor)
            data = src.read(1, out_shape=(out_h, out_w), resampling=Resampling.average, masked=True)
            transform = src.transform @ Affine.scale(src.width / out_w, src.height / out_h)
            crs = pyproj.CRS.from_user_input(src.crs.to_wkt())
    except RasterioIOError as exc:
        raise LayerError(
            path, f"cannot be read as a raster ({exc})", "give a GeoTIFF of tree cover in percent"
        ) from exc
    arr = np.ma.filled(data.astype("float64"), np.nan)
    mask = np.isfinite(arr) & (arr >= threshold_pct)
    if not mask.any():
        finite = arr[np.isfinite(arr)]
        values = np.unique(finite)[:4] if finite.size else finite
        seen = f"values range {finite.min():g}..{finite.max():g}" if finite.size else "every pixel is nodata"
        fix = "give percent tree cover (0-100, e.g. Hansen GFC treecover2000) or forest polygons"
        if 0 < len(values) <= 3:  # a class map (e.g. 2 = forest): the threshold can pick its forest class
            fix += (
                f"; a class map whose forest value is {values.max():g} works with "
                f"ASM_TREE_COVER_THRESHOLD_PCT={values.max():g} (the environment variable of the command or the dashboard)"
            )
        elif finite.size:
            fix += f"; or lower the threshold with ASM_TREE_COVER_THRESHOLD_PCT (default 30, now {threshold_pct:g})"
        raise LayerError(path, f"no pixel has tree cover >= {threshold_pct:g}% ({seen})", fix)
    shapes = [
        shapely.geometry.shape(g)
        for g, _ in rasterio.features.shapes(mask.astype("uint8"), mask=mask, transform=transform)
    ]
    merged = shapely.union_all(shapes)
    parts = gpd.GeoSeries(shapely.get_parts(merged), crs=crs).to_crs(CRS_WGS84)
    return _out(pd.Series(path.stem, index=range(len(parts)), dtype="str"), parts)


def load_reefs(path: str | Path, *, zip_limits: ZipLimits) -> gpd.GeoDataFrame:
    """Coral reefs (polygons, lines or points), UNEP-WCMC or Natural Earth schema: ``name``, ``geometry`` (EPSG:4326)."""
    path = Path(path)
    frame = _read_vector(path, None, zip_limits)
    cols = [c for c in frame.columns if c != frame.geometry.name]
    name_col = pick_column(cols, ("ORIG_NAME", "NAME", "name", "reef_name"))
    default = "coral reef"
    if name_col is None and pick_column(cols, ("featurecla",)):
        names = _names(frame, default, "featurecla")
    else:
        names = _names(frame, default, name_col) if name_col else pd.Series(default, index=frame.index, dtype="str")
    geoms = np.asarray(frame.geometry.values)
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        geoms = geoms.copy()
        geoms[invalid] = shapely.make_valid(geoms[invalid])
    return _out(names, gpd.GeoSeries(geoms))


def load_water(path: str | Path, *, zip_limits: ZipLimits) -> gpd.GeoDataFrame:
    """Rivers and lakes (lines or polygons): ``name``, ``geometry`` (EPSG:4326)."""
    path = Path(path)
    frame = _read_vector(path, None, zip_limits)
    types = frame.geometry.geom_type
    lines_or_areas = types.isin(["LineString", "MultiLineString", "Polygon", "MultiPolygon", "LinearRing"])
    if not lines_or_areas.any():
        raise LayerError(
            path, f"no lines or polygons (found {sorted(types.unique())})", "give rivers as lines or lakes as polygons"
        )
    frame = frame[lines_or_areas.to_numpy()]
    names = _names(frame, "", "name_en", "name", "NAME", "nom", "nome", "nombre")
    return _out(names, frame.geometry)


def load_arctic(path: str | Path | None, *, circle_lat: float, zip_limits: ZipLimits) -> PolarRegion:
    """The Arctic: north of ``circle_lat`` (no file), or a user polygon kept in its own (polar) CRS."""
    if path is None:
        if not 0.0 < circle_lat < 90.0:
            raise LayerError(
                None,
                f"Arctic latitude {circle_lat} is not between 0 and 90",
                "set ASM_ARCTIC_CIRCLE_LAT to a latitude in degrees north, or unset it for the Arctic Circle",
            )
        return PolarRegion(min_lat=float(circle_lat))
    path = Path(path)
    frames = [f for _, f in read_vector_layers(path, zip_limits=zip_limits)]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    crs = frames[0].crs
    if crs is None:
        raise LayerError(path, "the Arctic polygon has no CRS", "save it with its CRS (e.g. EPSG:3995 or EPSG:3413)")
    if any(f.crs != crs for f in frames):
        raise LayerError(path, "layers in different CRSs", "give a single polygon layer")
    geoms = _polygonal_parts(np.asarray(frame.geometry.values))
    geoms = [g for g in geoms if g is not None]
    if not geoms:
        raise LayerError(
            path, "no polygons", "give the Arctic area as a polygon layer (e.g. the AMAP area in EPSG:3995)"
        )
    series = gpd.GeoSeries(geoms, crs=crs)
    if pyproj.CRS.from_user_input(crs).is_geographic:
        minx, _, maxx, maxy = series.total_bounds
        if maxx - minx >= 359.0 and maxy >= 89.9:
            raise LayerError(
                path,
                "the polygon is in longitude/latitude and reaches the pole: its edges along ±180° and 90°N are not a real boundary",
                "give the polygon in a polar CRS (EPSG:3995 or EPSG:3413), or use the Arctic Circle (no file)",
            )
    return PolarRegion(polygons=series)
