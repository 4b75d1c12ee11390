"""Every feature of a vector file as one lon/lat frame, with per-row checks shared by the AOI and
mining loaders (``layers.aoi``, ``layers.mining``).

Reading goes through ``layers.readers.read_any`` (path and content checks of ``layers.guard``,
zip extraction, GDAL errors turned into ``LayerError``). A GeoPackage with several layers is
read whole (each row remembers its ``source_layer``) unless one layer is chosen.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.errors import LayerError
from layers.formats import TABLE_EXTENSIONS, VECTOR_EXTENSIONS
from layers.guard import ZipLimits, check_input_path, harden_gdal
from layers.protected_areas import to_wgs84
from layers.readers import list_layers, read_any
from layers.schema import CRS_WGS84

REASON_NO_GEOMETRY = "no geometry"
REASON_ANTIMERIDIAN = "an edge jumps more than 180° of longitude: split the feature at ±180° into parts on both sides"
REASON_POLE = "the feature reaches a pole, which a longitude/latitude geometry cannot hold"
REASON_OUT_OF_RANGE = "coordinates outside longitude [-180, 180] / latitude [-90, 90]"
_POLE_LAT = 89.5


def read_vector_features(
    path: str | Path,
    *,
    layer: str | None = None,
    what: str = "features",
    zip_limits: ZipLimits,
    max_mb: float | None = None,
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """All rows of a vector file (all layers of a GeoPackage unless ``layer``) in EPSG:4326.

    Adds ``row_number`` (1-based within its layer) and ``source_layer`` (the layer name, or "").
    Tables (CSV, XLSX) are refused: they hold no geometries.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in TABLE_EXTENSIONS:
        raise LayerError(
            p,
            f"{p.suffix} is a table, not a vector file of {what}",
            "give a GeoJSON, GeoPackage, Shapefile or GeoParquet",
        )
    limits = {"zip_limits": zip_limits, "max_mb": max_mb}
    names: list[str | None] = [layer]
    if layer is None and suffix == ".gpkg":
        check_input_path(p, extensions=VECTOR_EXTENSIONS, max_mb=float("inf") if max_mb is None else max_mb)
        harden_gdal()
        names = list(list_layers(p)) or [None]
    warnings: list[str] = []
    frames = []
    for name in names:
        raw = read_any(p, name, **limits)
        warnings.extend(raw.warnings)
        frame = raw.frame
        if not isinstance(frame, gpd.GeoDataFrame):
            if len(names) > 1:
                continue  # an attribute table beside the spatial layers
            raise LayerError(p, f"the file has no geometry column, so no {what}", "give a vector file with geometries")
        label = p.name if name is None else f"{p.name}:{name}"
        frame = to_wgs84(frame.reset_index(drop=True), label, warnings)
        frame = frame.rename_geometry("geometry") if frame.geometry.name != "geometry" else frame
        frame.insert(0, "source_layer", "" if name is None or len(names) == 1 else str(name))
        frame.insert(0, "row_number", np.arange(1, len(frame) + 1, dtype=np.int64))
        frames.append(frame)
    if not frames:
        raise LayerError(p, f"no layer of the file has geometries, so no {what}", "give a vector file with geometries")
    data = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    data = gpd.GeoDataFrame(data, geometry="geometry", crs=CRS_WGS84)
    if len(data) == 0:
        raise LayerError(p, f"the file has no rows, so no {what}", f"give a file with at least one of the {what}")
    return data, warnings


def geometry_problems(geoms: np.ndarray) -> np.ndarray:
    """Per geometry: "" when usable in lon/lat, else why not (missing, out of range, jump across ±180°, pole)."""
    geoms = np.asarray(geoms, dtype=object)
    out = np.full(len(geoms), "", dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    out[missing] = REASON_NO_GEOMETRY
    ok = np.flatnonzero(~missing)
    if len(ok) == 0:
        return out
    b = shapely.bounds(geoms[ok])
    with np.errstate(invalid="ignore"):
        bad_range = ~((b[:, 0] >= -180) & (b[:, 2] <= 180) & (b[:, 1] >= -90) & (b[:, 3] <= 90))
        pole = ~bad_range & ((b[:, 3] >= _POLE_LAT) | (b[:, 1] <= -_POLE_LAT))
    out[ok[bad_range]] = REASON_OUT_OF_RANGE
    out[ok[pole]] = REASON_POLE
    parts, owner = shapely.get_parts(geoms[ok], return_index=True)
    rings = shapely.get_rings(parts, return_index=True)  # polygons: their rings; others: nothing
    lines_mask = np.isin(shapely.get_type_id(parts), (1, 2))
    seqs = np.concatenate([parts[lines_mask], rings[0]])
    seq_owner = np.concatenate([owner[lines_mask], owner[rings[1]]])
    coords, idx = shapely.get_coordinates(seqs, return_index=True)
    if len(coords) > 1:
        same = idx[1:] == idx[:-1]
        jump = same & (np.abs(np.diff(coords[:, 0])) > 180.0)
        bad = np.unique(seq_owner[idx[1:][jump]])
        jumped = ok[bad]
        out[jumped[out[jumped] == ""]] = REASON_ANTIMERIDIAN
    return out


def rejected_rows(frame: pd.DataFrame, reasons: np.ndarray, source: str) -> pd.DataFrame:
    """The rows with a reason, as ``row_number``, ``source``, ``source_layer``, ``reason`` and their attributes."""
    mask = reasons != ""
    cols = [c for c in frame.columns if c not in ("geometry", "row_number", "source_layer")]
    out = pd.DataFrame(
        {
            "row_number": frame.loc[mask, "row_number"].to_numpy(dtype=np.int64),
            "source": source,
            "source_layer": frame.loc[mask, "source_layer"].astype("str").to_numpy(),
            "reason": pd.array(reasons[mask].astype(str), dtype="str"),
        }
    )
    attrs = pd.DataFrame(frame.loc[mask, cols]).reset_index(drop=True)
    attrs.columns = [f"orig_{c}" if c in out.columns else c for c in attrs.columns]
    return pd.concat([out, attrs], axis=1)
