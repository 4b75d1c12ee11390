"""layers.cache.write_geoparquet: a GeoParquet written a row group at a time reads back equal to the frame."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import shapely
from geopandas.testing import assert_geodataframe_equal

from layers.cache import write_geoparquet


def _frame(n: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(7)
    geoms = [shapely.Point(rng.uniform(-10, 10), rng.uniform(-10, 10)).buffer(0.5) for _ in range(n)]
    geoms[3] = shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3)])
    geoms[5] = None
    frame = gpd.GeoDataFrame(
        {
            "pa_id": [f"id{i}" for i in range(n)],
            "status_yr": pd.array([2000 + i if i % 3 else None for i in range(n)], dtype="Int64"),
            "from_point": [bool(i % 2) for i in range(n)],
            "when": pd.to_datetime(["2020-01-02"] * n),
            "area": rng.uniform(0, 100, n),
        },
        geometry=geoms,
        crs="EPSG:4326",
        index=pd.RangeIndex(100, 100 + 2 * n, 2),
    )
    frame["after_geometry"] = "x"  # the geometry column sits in the middle, as in the PA schema
    frame.attrs["n_input_rows"] = n
    return frame


def test_round_trip_in_several_row_groups(tmp_path: Path) -> None:
    frame = _frame(23)
    path = tmp_path / "f.parquet"
    write_geoparquet(frame, path, rows_per_group=5)
    assert pq.ParquetFile(path).num_row_groups == 5
    back = gpd.read_parquet(path)
    assert_geodataframe_equal(back, frame, check_like=False)
    assert list(back.columns) == list(frame.columns) and back.attrs == {"n_input_rows": 23}
    geo = json.loads(pq.read_schema(path).metadata[b"geo"])
    assert geo["columns"]["geometry"]["geometry_types"] == ["MultiPolygon", "Polygon"]
    np.testing.assert_allclose(geo["columns"]["geometry"]["bbox"], frame.total_bounds)


def test_an_empty_frame_round_trips(tmp_path: Path) -> None:
    frame = _frame(8).iloc[:0]
    frame.attrs = {}
    write_geoparquet(frame, tmp_path / "e.parquet")
    back = gpd.read_parquet(tmp_path / "e.parquet")
    assert len(back) == 0 and list(back.columns) == list(frame.columns) and back.crs == frame.crs


def test_the_same_file_as_to_parquet_reads(tmp_path: Path) -> None:
    """What geopandas' own writer gives and what this writer gives read back the same."""
    frame = _frame(12)
    frame.to_parquet(tmp_path / "a.parquet", index=True)
    write_geoparquet(frame, tmp_path / "b.parquet")
    assert_geodataframe_equal(gpd.read_parquet(tmp_path / "a.parquet"), gpd.read_parquet(tmp_path / "b.parquet"))
