"""The Dask engine's file side: GeoParquet helpers, the planner's streamed scans and its external sort.

Split from ``scoring.dask_engine`` (which plans, builds the task graph and assembles): everything
here reads or writes the plan's GeoParquet files batch by batch, so the driver never holds a whole
layer.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from geo import partition as gpart
from layers.cache import geoparquet_geometry_column
from layers.cache import write_frame as _cache_write_frame  # the cache's own GeoParquet writer
from layers.errors import LayerError
from layers.schema import CRS_WGS84

_POS = "_asm_pos"  # original position of a row, stored beside it in the plan files
_BATCH_BYTES = 32 * 2**20  # geometry (WKB) per record batch read by the driver
_BATCH_ROWS = (1_000, 250_000)  # ... within these bounds of rows per batch
_IO_BUFFER = 4 * 2**20  # read buffer: a batch is read page by page, not as a whole column chunk


# ----------------------------------------------------------------------------- GeoParquet helpers
def _open(path: Path | str) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path, buffer_size=_IO_BUFFER, pre_buffer=False)
    except (OSError, pa.ArrowException) as exc:
        raise LayerError(path, f"cannot read the GeoParquet for the Dask planner ({exc})", "re-run the load") from exc


def _batch_rows(pf: pq.ParquetFile, column: str) -> int:
    """Rows per record batch so that a batch holds about ``_BATCH_BYTES`` of ``column``."""
    meta = pf.metadata
    if meta.num_rows == 0:
        return _BATCH_ROWS[0]
    j = pf.schema_arrow.get_field_index(column)
    size = sum(meta.row_group(i).column(j).total_uncompressed_size for i in range(meta.num_row_groups))
    per_row = max(size / meta.num_rows, 1.0)
    return int(np.clip(_BATCH_BYTES / per_row, *_BATCH_ROWS))


def _output_schema(schema: pa.Schema, geom_col: str) -> pa.Schema:
    """The input schema plus the position column; the file-wide bbox is dropped from the geo metadata."""
    meta = dict(schema.metadata or {})
    geo = json.loads(meta[b"geo"])
    geo["columns"][geom_col].pop("bbox", None)
    meta[b"geo"] = json.dumps(geo).encode("utf-8")
    return schema.append(pa.field(_POS, pa.int64())).with_metadata(meta)


def _frame_from_table(table: pa.Table, geom_col: str) -> gpd.GeoDataFrame:
    frame = table.to_pandas()
    frame[geom_col] = gpd.GeoSeries.from_wkb(frame[geom_col], crs=CRS_WGS84).values
    out = gpd.GeoDataFrame(frame, geometry=geom_col, crs=CRS_WGS84).reset_index(drop=True)
    return out.rename_geometry("geometry") if geom_col != "geometry" else out


def _read_geoparquet(path: str, row_groups: Sequence[int]) -> gpd.GeoDataFrame:
    """Only the given row groups of a plan GeoParquet (WKB geometry, EPSG:4326), index reset."""
    pf = pq.ParquetFile(path)
    geom_col = geoparquet_geometry_column(pf.schema_arrow, path)
    table = pf.read_row_groups(list(row_groups)) if row_groups else pf.schema_arrow.empty_table()
    return _frame_from_table(table, geom_col)


def _write_frame(frame: gpd.GeoDataFrame, path: Path) -> None:
    """An in-memory layer as GeoParquet, written exactly as the layer cache writes its entries.

    So the bytes, hence the content hash and the plan key, are the same whether the layer came
    from the loader (a cache miss) or from the cache (``stored_path``) on the next run.
    """
    try:
        _cache_write_frame(frame, path)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise LayerError(
            path,
            f"cannot write the layer as GeoParquet for the Dask workers ({exc})",
            "check that every attribute column holds plain values (text, numbers, dates)",
        ) from exc


# ----------------------------------------------------------------------------- streamed scans
@dataclass
class _SiteScan:
    keys: np.ndarray  # Hilbert key of each site (input order)
    bounds: np.ndarray  # (n, 4) lon/lat
    lon1: np.ndarray  # a vertex of each site, for the nearest-distance bound
    lat1: np.ndarray


def _scan_sites(path: Path) -> _SiteScan:
    pf = _open(path)
    geom_col = geoparquet_geometry_column(pf.schema_arrow, path)
    keys, bounds, lon1, lat1 = [], [], [], []
    for batch in pf.iter_batches(batch_size=_batch_rows(pf, geom_col), columns=["lon", "lat", geom_col]):
        lon = batch.column("lon").to_numpy(zero_copy_only=False).astype(np.float64)
        lat = batch.column("lat").to_numpy(zero_copy_only=False).astype(np.float64)
        keys.append(gpart.hilbert_keys(lon, lat))
        geoms = shapely.from_wkb(batch.column(geom_col).to_numpy(zero_copy_only=False))
        bounds.append(shapely.bounds(geoms))
        x, y = gpart.first_vertices(geoms)
        lon1.append(x)
        lat1.append(y)
    if not keys:
        return _SiteScan(np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0), np.zeros(0))
    return _SiteScan(np.concatenate(keys), np.concatenate(bounds), np.concatenate(lon1), np.concatenate(lat1))


def _scan_layer(path: Path) -> tuple[np.ndarray, gpart.TargetBoxes]:
    """Hilbert key of each target's box centre, and the boxes and sampled vertices of the layer."""
    pf = _open(path)
    geom_col = geoparquet_geometry_column(pf.schema_arrow, path)
    keys, parts, offset = [], [], 0
    for batch in pf.iter_batches(batch_size=_batch_rows(pf, geom_col), columns=[geom_col]):
        geoms = shapely.from_wkb(batch.column(0).to_numpy(zero_copy_only=False))
        b = shapely.bounds(geoms)
        keys.append(gpart.hilbert_keys((b[:, 0] + b[:, 2]) / 2.0, (b[:, 1] + b[:, 3]) / 2.0))
        parts.append(gpart.target_boxes(geoms, offset))
        offset += len(geoms)
        del geoms
    return (np.concatenate(keys) if keys else np.zeros(0, np.int64)), gpart.TargetBoxes.concat(parts)


def _external_sort(src: Path, rank: np.ndarray, starts: np.ndarray, out: Path, scratch: Path) -> None:
    """Rewrite ``src`` with row ``i`` at position ``rank[i]``, row group ``g`` holding positions
    ``starts[g]:starts[g + 1]``.

    Two streamed passes: each record batch is sorted and spilled as one row group per bucket it
    touches (a bucket is a run of whole output row groups, about one batch in size); then each
    bucket is read back from its spilled row groups, sorted and written. A column ``_asm_pos``
    holds each row's position in ``src``. Memory: about one batch and one bucket.
    """
    pf = _open(src)
    geom_col = geoparquet_geometry_column(pf.schema_arrow, src)
    schema = _output_schema(pf.schema_arrow, geom_col)
    batch_rows = _batch_rows(pf, geom_col)
    starts = np.asarray(starts, dtype=np.int64)
    # a bucket: the whole row groups that start within one run of about ``batch_rows`` positions
    bucket_of_group = starts[:-1] // max(batch_rows, 1)
    spill = scratch / f"spill-{uuid.uuid4().hex}.parquet"
    spilled: dict[int, list[int]] = {}
    n_spilled = 0
    offset = 0
    with pq.ParquetWriter(spill, schema, compression="none") as writer:  # read once, soon: no codec
        for batch in pf.iter_batches(batch_size=batch_rows):
            n = len(batch)
            r = rank[offset : offset + n]
            order = np.argsort(r, kind="stable")
            table = pa.Table.from_batches([batch]).append_column(_POS, pa.array(np.arange(offset, offset + n)))
            table = table.take(pa.array(order)).cast(schema)
            bucket = bucket_of_group[np.searchsorted(starts, r[order], side="right") - 1]
            cuts = np.r_[0, np.flatnonzero(np.diff(bucket)) + 1, n]
            for s, e in pairwise(cuts):
                writer.write_table(table.slice(s, e - s), row_group_size=int(e - s))
                spilled.setdefault(int(bucket[s]), []).append(n_spilled)
                n_spilled += 1
            offset += n
            del table
    try:
        sp = pq.ParquetFile(spill)
        tmp = out.with_name(f".{out.name}.tmp-{uuid.uuid4().hex}")
        # WKB coordinates do not compress (random doubles): lz4 for the attributes only
        codecs = {name: ("none" if name == geom_col else "lz4") for name in schema.names}
        with pq.ParquetWriter(tmp, schema, compression=codecs) as writer:
            for bucket in sorted(spilled):
                table = sp.read_row_groups(spilled[bucket])
                pos = table.column(_POS).to_numpy()
                ranks = np.sort(rank[pos], kind="stable")
                table = table.take(pa.array(np.argsort(rank[pos], kind="stable")))
                # buckets hold whole groups: one row group per group, whatever its size
                group = np.searchsorted(starts, ranks, side="right") - 1
                cuts = np.r_[0, np.flatnonzero(np.diff(group)) + 1, len(group)]
                for a, b in pairwise(cuts):
                    writer.write_table(table.slice(a, b - a), row_group_size=int(b - a))
            if offset == 0:
                writer.write_table(schema.empty_table())
        os.replace(tmp, out)
    finally:
        spill.unlink(missing_ok=True)
