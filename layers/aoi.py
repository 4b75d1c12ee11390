"""Areas of interest (AOI) from any vector file the loaders read: polygons, lines, points.

A concession boundary, a road corridor (a line, screened within the buffer distance), a project
site (a point) or several of them in one file (every layer of a GeoPackage unless one is chosen).
Output (``LoadResult.data``): ``aoi_id`` (from an id-like column when its values are unique, else
``aoi-1``, ``aoi-2``... in file order), ``name``, ``kind`` (``polygon``/``line``/``point``,
``geo.aoi.AOI_KINDS``, from ``geo.aoi.feature_kinds``), ``source_layer`` and the geometry in EPSG:4326 (Z dropped, invalid polygons
repaired), then the file's own columns (renamed ``orig_<name>`` where they clash). Rows that cannot
be used are in ``LoadResult.rejected`` with their reason; ``geo.aoi.prepare_aoi`` takes the frame.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.aoi import MIXED_KIND, normalise_features
from layers.errors import LayerError
from layers.guard import ZipLimits
from layers.readers import find_column
from layers.schema import CRS_WGS84, LoadResult
from layers.vectors import geometry_problems, read_vector_features, rejected_rows

AOI_COLUMNS: tuple[str, ...] = ("aoi_id", "name", "kind", "source_layer", "geometry")
ID_NAMES: tuple[str, ...] = ("aoi_id", "id", "fid", "objectid", "code", "codigo", "site_id", "pa_id", "wdpaid")
NAME_NAMES: tuple[str, ...] = ("name", "nombre", "nome", "nom", "label", "title", "titulo", "name_eng", "name_field")
REASON_MIXED = "the geometry collection mixes polygons, lines or points: make one feature per type"
REASON_NO_AREA = "invalid polygon with no area left after repair"


def _ids(frame: pd.DataFrame, warnings: list[str], path: Path) -> pd.Series:
    col = find_column([c for c in frame.columns if c not in ("row_number", "source_layer", "geometry")], ID_NAMES)
    generated = pd.Series([f"aoi-{i + 1}" for i in range(len(frame))], index=frame.index, dtype="string")
    if col is None:
        return generated
    given = frame[col].astype("string").str.strip()
    if given.isna().any() or (given == "").any() or given.duplicated().any():
        warnings.append(
            f"{path.name}: column {col!r} is not a unique id for every feature; ids aoi-1, aoi-2... used instead"
        )
        return generated
    return given


def load_aoi(
    path: str | Path,
    *,
    layer: str | None = None,
    zip_limits: ZipLimits,
    max_mb: float | None = None,
) -> LoadResult:
    """An AOI file as features with ``aoi_id``, ``name``, ``kind`` and lon/lat geometry; every unusable row rejected with its reason."""
    p = Path(path)
    frame, warnings = read_vector_features(
        p,
        layer=layer,
        what="areas of interest",
        zip_limits=zip_limits,
        max_mb=max_mb,
    )
    geoms = np.asarray(frame.geometry.values, dtype=object)
    reasons = geometry_problems(geoms)
    geoms, kinds, n_repaired = normalise_features(geoms)
    reasons[(reasons == "") & (kinds == MIXED_KIND)] = REASON_MIXED
    reasons[(reasons == "") & (shapely.is_missing(geoms) | shapely.is_empty(geoms))] = REASON_NO_AREA
    if n_repaired:
        warnings.append(f"{p.name}: {n_repaired} invalid polygon(s) repaired with make_valid (polygonal parts kept)")
    keep = reasons == ""
    rejected = rejected_rows(frame, reasons, p.name)
    if not keep.any():
        counts = pd.Series(reasons[reasons != ""]).value_counts()
        raise LayerError(
            p,
            "no usable area of interest: " + "; ".join(f"{r} ×{n}" for r, n in counts.items()),
            "give polygons, lines or points in a valid vector file",
        )
    ids = _ids(frame.loc[keep], warnings, p)
    name_col = find_column(
        [c for c in frame.columns if c not in ("row_number", "source_layer", "geometry")], NAME_NAMES
    )
    names = (
        frame.loc[keep, name_col].astype("string").fillna("").str.strip()
        if name_col is not None
        else pd.Series("", index=frame.index[keep], dtype="string")
    )
    originals = pd.DataFrame(frame.loc[keep].drop(columns=["geometry", "row_number", "source_layer"]))
    originals.columns = [f"orig_{c}" if c in AOI_COLUMNS else c for c in originals.columns]
    data = pd.DataFrame(
        {
            "aoi_id": ids.to_numpy(),
            "name": names.to_numpy(),
            "kind": pd.array(kinds[keep].astype(str), dtype="string"),
            "source_layer": frame.loc[keep, "source_layer"].astype("string").to_numpy(),
        }
    )
    for c in ("aoi_id", "name", "source_layer"):
        data[c] = data[c].astype("string")
    data = pd.concat([data, originals.reset_index(drop=True)], axis=1)
    data = gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms[keep], crs=CRS_WGS84), crs=CRS_WGS84)
    data = data[[*AOI_COLUMNS, *originals.columns]]
    if len(rejected):
        counts = rejected["reason"].value_counts()
        warnings.insert(
            0,
            f"{len(rejected)} of {len(frame)} features rejected: "
            + "; ".join(f"{r!r} ×{n}" for r, n in counts.items()),
        )
    return LoadResult(data=data, rejected=rejected, warnings=warnings, source=p.name)
