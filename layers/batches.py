"""A vector layer read in record batches, and GeoParquet written a batch at a time.

``layer_batches`` reads one layer of a GDAL dataset (``pyogrio.raw.open_arrow``) or a GeoParquet file
(``pyarrow.parquet.ParquetFile.iter_batches``) and converts every batch to a GeoDataFrame exactly as a
whole-layer read converts the whole layer (``geopandas.read_file(..., use_arrow=True)``, resp.
``geopandas.read_parquet``), so a loader that normalises batch by batch gives the rows the whole-layer
loader gives, with the memory of one batch.

``GeoParquetParts`` writes such batches (different layers may have different columns) to part files
beside the destination and merges them into one GeoParquet file with the union of the columns, in the
types one ``pandas.concat`` of the layers would have stored: the memory is one batch, whatever the size
of the layer.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyogrio
import pyproj
import shapely
from geopandas.io.arrow import _arrow_to_geopandas
from pyogrio.geopandas import _try_parse_datetime

from layers.errors import LayerError
from layers.formats import PARQUET_EXTENSIONS

DEFAULT_BATCH_ROWS = 10_000


def _gdal_batch_frame(batch: pa.RecordBatch, meta: dict[str, Any]) -> gpd.GeoDataFrame:
    """One GDAL Arrow batch as ``pyogrio.read_dataframe(use_arrow=True, datetime_as_string=True)`` converts a layer."""
    df = pa.Table.from_batches([batch]).to_pandas()
    for dtype, column in zip(meta["dtypes"], meta["fields"], strict=True):
        if dtype is not None and dtype.startswith("datetime") and dtype != "datetime64[D]":
            df[column] = _try_parse_datetime(df[column], False, True)  # read_dataframe's defaults
    for subtype, column in zip(meta["ogr_subtypes"], meta["fields"], strict=True):
        if subtype == "OFSTJSON" and pd.api.types.infer_dtype(df[column]) == "string":
            df[column] = df[column].map(json.loads, na_action="ignore")
    wkb = df.pop(meta["geometry_name"] or "wkb_geometry")
    if wkb.dtype != object:
        if isinstance(wkb.dtype, pd.ArrowDtype) and isinstance(wkb.dtype.pyarrow_dtype, pa.BaseExtensionType):
            wkb = pa.array(wkb.array).to_numpy(zero_copy_only=False)
        else:
            wkb = wkb.to_numpy(na_value=None)
    df["geometry"] = shapely.from_wkb(wkb, on_invalid="raise")
    return gpd.GeoDataFrame(df, geometry="geometry", crs=meta["crs"])


@contextlib.contextmanager
def layer_batches(
    path: Path, layer: str | None, batch_rows: int = DEFAULT_BATCH_ROWS
) -> Iterator[tuple[list[str], Iterator[gpd.GeoDataFrame]] | None]:
    """``(attribute columns, batches as GeoDataFrames)`` of one layer, valid inside the block; None without geometry."""
    if path.suffix.lower() in PARQUET_EXTENSIONS:
        with _parquet_batches(path, batch_rows) as batches:
            yield batches
        return
    with contextlib.ExitStack() as stack:
        try:
            meta, reader = stack.enter_context(
                pyogrio.raw.open_arrow(
                    path, layer=layer, batch_size=batch_rows, use_pyarrow=True, datetime_as_string=True
                )
            )
        except Exception as exc:  # pyogrio / GDAL errors vary by driver
            raise LayerError(
                path, f"layer {layer!r} cannot be read ({exc})", "check that the file is complete"
            ) from exc
        if (meta["geometry_name"] or "wkb_geometry") not in reader.schema.names:
            yield None
            return

        def frames() -> Iterator[gpd.GeoDataFrame]:
            try:
                for batch in reader:
                    yield _gdal_batch_frame(batch, meta)
            except Exception as exc:  # a damaged feature mid-layer
                raise LayerError(
                    path, f"layer {layer!r} cannot be read ({exc})", "check that the file is complete"
                ) from exc

        yield [str(c) for c in meta["fields"]], frames()


@contextlib.contextmanager
def _parquet_batches(path: Path, batch_rows: int) -> Iterator[tuple[list[str], Iterator[gpd.GeoDataFrame]]]:
    try:
        f = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 22)
        metadata = f.schema_arrow.metadata or {}
        geo = json.loads(metadata[b"geo"])
    except KeyError as exc:
        raise LayerError(
            path, "this Parquet file is not GeoParquet (no 'geo' metadata)", "write it with geopandas' to_parquet"
        ) from exc
    except Exception as exc:  # pyarrow.ArrowInvalid and friends
        raise LayerError(path, f"cannot read the Parquet file ({exc})", "check that the file is complete") from exc

    def frames() -> Iterator[gpd.GeoDataFrame]:
        schema = f.schema_arrow
        try:
            for batch in f.iter_batches(batch_size=batch_rows):
                table = pa.Table.from_batches([batch], schema=schema)
                yield _arrow_to_geopandas(table, geo)
        except Exception as exc:
            raise LayerError(path, f"cannot read the Parquet file ({exc})", "check that the file is complete") from exc

    empty = _arrow_to_geopandas(f.schema_arrow.empty_table(), geo)
    with contextlib.closing(f):
        yield [str(c) for c in empty.columns if c != empty.geometry.name], frames()


# --- writing ---------------------------------------------------------------------------------


def _geo_table(frame: gpd.GeoDataFrame) -> pa.Table:
    """A GeoDataFrame as an Arrow table, the geometry as WKB in its place, no index."""
    geom_col = frame.geometry.name
    position = list(frame.columns).index(geom_col)
    table = pa.Table.from_pandas(pd.DataFrame(frame.drop(columns=[geom_col])), preserve_index=False)
    wkb = pa.array(shapely.to_wkb(frame.geometry.to_numpy()), type=pa.binary())
    return table.add_column(position, pa.field(geom_col, pa.binary()), wkb)


def _column_type(types: list[pa.DataType]) -> pa.DataType:
    """The stored type of a column seen with ``types`` in the parts (nulls aside)."""
    known = list(dict.fromkeys(t for t in types if not pa.types.is_null(t)))
    if not known:
        return pa.null()
    if len(known) == 1:
        return known[0]
    if all(pa.types.is_integer(t) or pa.types.is_floating(t) for t in known):
        return pa.float64()
    if all(pa.types.is_string(t) or pa.types.is_large_string(t) for t in known):
        return pa.large_string()
    return pa.large_string()  # mixed kinds: text, as the cache stores a mixed-object column


class GeoParquetParts:
    """GeoDataFrames appended batch by batch, merged on ``close`` into one GeoParquet file at ``path``.

    Each ``write`` goes to the current part file while its Arrow schema stays the same, to a new part
    otherwise. ``close`` writes ``path`` with the union of the columns (first-seen order), each in the
    type the parts agree on (integers meeting floats: float64; other mixtures: text), a row group per
    part row group, GeoParquet 1.0 metadata (WKB, CRS, geometry types, bbox), and removes the parts.
    """

    def __init__(self, path: Path, crs: Any) -> None:
        self.path = Path(path)
        self.crs = None if crs is None else pyproj.CRS.from_user_input(crs)
        self._dir = self.path.with_name(f".{self.path.name}.parts-{uuid.uuid4().hex}")
        self._dir.mkdir(parents=True)
        self._parts: list[Path] = []
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        self._empty: list[pd.DataFrame] = []  # a zero-row frame per part: the pandas dtypes to unify
        self._kinds: set[str] = set()
        self._bounds = np.array([np.inf, np.inf, -np.inf, -np.inf])
        self.rows = 0
        self.geom_col: str | None = None

    def write(self, frame: gpd.GeoDataFrame) -> None:
        if not len(frame):
            return
        self.geom_col = frame.geometry.name
        geoms = frame.geometry
        present = geoms[~geoms.isna()]
        self._kinds.update(present.geom_type + np.where(shapely.has_z(present.to_numpy()), " Z", ""))
        if len(present):
            b = present.total_bounds
            self._bounds = np.array([min(self._bounds[0], b[0]), min(self._bounds[1], b[1]),
                                     max(self._bounds[2], b[2]), max(self._bounds[3], b[3])])  # fmt: skip
        table = _geo_table(frame)
        if self._writer is None or not table.schema.equals(self._schema, check_metadata=False):
            self._close_part()
            part = self._dir / f"part-{len(self._parts):05d}.parquet"
            self._writer = pq.ParquetWriter(part, table.schema)
            self._schema = table.schema
            self._parts.append(part)
            self._empty.append(pd.DataFrame(frame.drop(columns=[self.geom_col]).iloc[:0]))
        self._writer.write_table(table, row_group_size=max(len(table), 1))
        self.rows += len(table)

    def _close_part(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def _final_schema(self) -> tuple[pa.Schema, list[str], dict[str, Any]]:
        schemas = [pq.read_schema(p) for p in self._parts]
        names = list(dict.fromkeys(n for s in schemas for n in s.names))
        fields = []
        for name in names:
            types = [s.field(name).type for s in schemas if name in s.names]
            fields.append(pa.field(name, _column_type(types)))
        # pandas metadata (column dtypes such as Int64 or str) of one concat of the parts' frames
        unified = pd.concat(self._empty, ignore_index=True) if self._empty else pd.DataFrame()
        unified = unified[[n for n in names if n != self.geom_col]]
        texted = [f.name for f in fields if pa.types.is_large_string(f.type) and _mixed(f.name, schemas)]
        if texted:  # stored as the cache stores a column of mixed objects: pandas "string"
            unified = unified.astype(dict.fromkeys(texted, "string"))
        pandas_meta = dict(pa.Schema.from_pandas(unified, preserve_index=False).pandas_metadata)
        return pa.schema(fields), texted, pandas_meta

    def close(self) -> dict[str, Any]:
        """Merge the parts into ``path``; the entry metadata of the file (``kind``, ``as_text``, ``rows``)."""
        self._close_part()
        if not self._parts:
            raise ValueError("no rows written")
        schema, texted, pandas_meta = self._final_schema()
        position = schema.names.index(self.geom_col)
        pandas_meta["columns"].insert(
            position,
            {"name": self.geom_col, "field_name": self.geom_col, "pandas_type": "bytes", "numpy_type": "object",
             "metadata": None},
        )  # fmt: skip
        column_meta: dict[str, Any] = {"encoding": "WKB", "geometry_types": sorted(self._kinds)}
        if self.crs is not None:
            column_meta["crs"] = self.crs.to_json_dict()
        if np.isfinite(self._bounds).all():
            column_meta["bbox"] = self._bounds.tolist()
        geo = {"version": "1.0.0", "primary_column": self.geom_col, "columns": {self.geom_col: column_meta}}
        metadata = {b"geo": json.dumps(geo).encode("utf-8"), b"pandas": json.dumps(pandas_meta).encode("utf-8")}
        schema = schema.with_metadata(metadata)
        with pq.ParquetWriter(self.path, schema) as writer:
            for part in self._parts:
                f = pq.ParquetFile(part)
                for i in range(f.num_row_groups):
                    table = f.read_row_group(i)
                    writer.write_table(_conform(table, schema, texted), row_group_size=max(table.num_rows, 1))
                    del table
                f.close()
                part.unlink()
        self.discard()
        return {"kind": "geo", "as_text": texted, "rows": self.rows}

    def discard(self) -> None:
        """Remove the part files (after ``close``, or when the load failed)."""
        self._close_part()
        shutil.rmtree(self._dir, ignore_errors=True)


def _mixed(name: str, schemas: list[pa.Schema]) -> bool:
    kinds = {str(s.field(name).type) for s in schemas if name in s.names and not pa.types.is_null(s.field(name).type)}
    kinds -= {"string", "large_string"} if kinds <= {"string", "large_string"} else set()
    return len(kinds) > 1


def _conform(table: pa.Table, schema: pa.Schema, texted: list[str]) -> pa.Table:
    """``table`` in ``schema``: missing columns as nulls, numbers widened, texted columns as text."""
    columns = []
    for field in schema:
        if field.name not in table.column_names:
            columns.append(pa.nulls(table.num_rows, field.type))
            continue
        column = table.column(field.name)
        if field.name in texted and not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            values = [None if v is None else str(v) for v in column.to_pylist()]
            column = pa.array(values, type=field.type)
        columns.append(column.cast(field.type) if column.type != field.type else column)
    return pa.Table.from_arrays(columns, schema=schema)
