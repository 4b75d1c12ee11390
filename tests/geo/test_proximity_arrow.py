"""The Arrow/WKB path of geo.proximity: numba WKB decoding and the GeoParquet entry point.

Every case is checked against the GeoDataFrame path (GEOS geometries), which
tests/geo/test_proximity.py checks against an independent geodesic reference.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely

from geo import proximity
from geo.crs import GEOD
from geo.proximity import (
    ProximityInputError,
    compute_protected_area_proximity,
    compute_protected_area_proximity_arrow,
    prepare_targets_wkb,
)


def _square(lon: float, lat: float, side_deg: float) -> shapely.Polygon:
    return shapely.segmentize(shapely.box(lon, lat, lon + side_deg, lat + side_deg), side_deg / 10)


MIXED = [
    _square(10.0, 0.0, 0.1),
    None,
    shapely.Polygon(
        [(0, 0), (0, 2), (2, 2), (2, 0)], [[(0.5, 0.5), (1, 0.5), (1, 1), (0.5, 0.5)]]
    ),  # clockwise exterior, hole
    shapely.LineString([(0, 0), (3, 4)]),
    shapely.Point(5, 5),
    shapely.Point(),
    shapely.Polygon(),
    shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(3, 3, 4, 4)]),
    shapely.MultiPoint([(1, 1), (2, 2)]),
    shapely.MultiLineString([[(0, 0), (1, 1)], [(2, 2), (3, 1), (4, 0)]]),
    shapely.Polygon([(0, 0, 1), (0, 2, 1), (2, 2, 1), (0, 0, 1)]),  # 3D: z ignored
]


def _flat_equal(a: proximity._Flat, b: proximity._Flat) -> None:
    for f in a._fields:
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)


@pytest.mark.parametrize("typ", [pa.binary(), pa.large_binary()])
@pytest.mark.parametrize("layout", ["chunked", "combined", "sliced"])
def test_wkb_decoding_equals_geos_flattening(typ: pa.DataType, layout: str) -> None:
    geoms = np.array(MIXED, dtype=object)
    wkb = shapely.to_wkb(geoms)
    arr = pa.chunked_array([pa.array(wkb[:4], typ), pa.array(wkb[4:], typ)])
    start = 0
    if layout == "combined":
        arr = arr.combine_chunks()
    elif layout == "sliced":
        start = 2
        arr = arr.combine_chunks().slice(start)
    tg = prepare_targets_wkb(arr)
    ref = proximity._no_missing(geoms[start:])
    _flat_equal(tg.flat.flat, proximity._flatten_geos(ref))
    assert len(tg) == len(ref)
    np.testing.assert_array_equal(tg.polygonal, np.isin(shapely.get_type_id(ref), (3, 6)))
    last = np.array([len(ref) - 1, len(ref) - 4])
    assert shapely.equals(tg.geoms_at(last), ref[last]).all()


def test_flatten_of_shapely_geometries_uses_the_same_decoder() -> None:
    geoms = proximity._no_missing(np.array(MIXED, dtype=object))
    _flat_equal(proximity._flatten(geoms, chunk=3), proximity._flatten_geos(geoms))


def _pa_frame() -> gpd.GeoDataFrame:
    """Antimeridian-split PA, nested PA, two rows of one PA, a hole, an empty geometry."""
    east = shapely.box(179.5, -17.5, 180.0, -17.0)
    west = shapely.box(-180.0, -17.5, -179.5, -17.0)
    outer = shapely.Polygon(
        shapely.segmentize(shapely.box(10.0, 0.0, 10.3, 0.3), 0.01).exterior.coords,
        [shapely.box(10.1, 0.1, 10.2, 0.2).exterior.coords[::-1]],
    )
    geoms = [
        shapely.MultiPolygon([east, west]),
        outer,
        _square(10.12, 0.12, 0.05),  # in the hole of `outer`
        _square(10.5, 0.0, 0.1),
        _square(10.5, 0.2, 0.1),  # same pa_id as the previous row
        shapely.Polygon(),
    ]
    ids = ["fiji", "outer", "nested", "dup", "dup", "empty"]
    return gpd.GeoDataFrame(
        {
            "pa_id": ids,
            "name": [f"Area {i}" for i in ids],
            "designation": ["National Park"] * len(ids),
            "iucn_cat": ["II", "Ia", "IV", "V", "V", "VI"],
        },
        geometry=geoms,
        crs="EPSG:4326",
    )


def _sites() -> gpd.GeoSeries:
    pts = [
        (180.0, -17.2),
        (-179.9, -17.6),
        (10.15, 0.15),
        (10.13, 0.13),
        (10.05, 0.05),
        (10.55, 0.15),
        tuple(GEOD.fwd(10.6, 0.25, 90.0, 3000.0)[:2]),
        (40.0, 40.0),
    ]
    geoms = [shapely.Point(p) for p in pts] + [None, shapely.box(10.28, 0.28, 10.4, 0.4)]
    return gpd.GeoSeries(geoms, crs="EPSG:4326", index=[f"s{i}" for i in range(len(geoms))])


def test_arrow_entry_point_equals_geodataframe_version(tmp_path: Path) -> None:
    frame = _pa_frame()
    path = tmp_path / "pa.parquet"
    frame.to_parquet(path)
    table = pq.read_table(path)
    kw = {"buffers_km": (1, 5, 25, 100), "area_buffer_km": 10.0}
    got = compute_protected_area_proximity_arrow(_sites(), table, **kw)
    want = compute_protected_area_proximity(_sites(), frame, **kw)
    pd.testing.assert_frame_equal(got, want)
    assert got.loc["s0", "in_protected_area"] and got.loc["s0", "nearest_protected_area_id"] == "fiji"
    assert got.loc["s3", "nearest_protected_area_id"] == "nested"
    assert got.loc["s6", "protected_areas_within_5km"] == 1  # two rows of "dup" count once
    assert np.isnan(got.loc["s8", "dist_protected_area_km"])


def test_big_endian_wkb_falls_back_to_geos() -> None:
    frame = _pa_frame()
    table = pa.table(
        {
            **{c: frame[c].to_numpy() for c in ("pa_id", "name", "designation", "iucn_cat")},
            "geometry": pa.array(shapely.to_wkb(frame.geometry.values, byte_order=0), pa.binary()),
        }
    )
    got = compute_protected_area_proximity_arrow(_sites(), table)
    pd.testing.assert_frame_equal(got, compute_protected_area_proximity(_sites(), frame))


def test_empty_table_gives_nan_and_zeros(tmp_path: Path) -> None:
    path = tmp_path / "pa.parquet"
    _pa_frame().iloc[:0].to_parquet(path)
    res = compute_protected_area_proximity_arrow(_sites(), pq.read_table(path))
    assert res["dist_protected_area_km"].isna().all()
    assert (res["protected_areas_within_10km"] == 0).all()


def _table(tmp_path: Path, frame: gpd.GeoDataFrame) -> pa.Table:
    path = tmp_path / "pa.parquet"
    frame.to_parquet(path)
    return pq.read_table(path)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda tmp: _pa_frame(), "pyarrow.Table"),
        (lambda tmp: _table(tmp, _pa_frame().to_crs(3857)), "EPSG:4326"),
        (lambda tmp: _table(tmp, _pa_frame().drop(columns="iucn_cat")), "iucn_cat"),
        (lambda tmp: _table(tmp, _pa_frame()).drop_columns("geometry"), "geometry column"),
    ],
)
def test_arrow_bad_inputs_raise(tmp_path: Path, make, match: str) -> None:
    with pytest.raises(ProximityInputError, match=match):
        compute_protected_area_proximity_arrow(_sites(), make(tmp_path))


def test_arrow_non_positive_buffer_raises(tmp_path: Path) -> None:
    with pytest.raises(ProximityInputError, match="positive"):
        compute_protected_area_proximity_arrow(_sites(), _table(tmp_path, _pa_frame()), buffers_km=(0,))


@pytest.mark.parametrize("batch", [1, 3, 4])
def test_site_batches_give_the_same_frame(tmp_path: Path, monkeypatch, batch: int) -> None:
    # the sites are processed in Hilbert-curve batches; any batch size gives the unbatched result, on
    # both paths (the GeoDataFrame path flattens every PA once when it batches)
    frame = _pa_frame()
    path = tmp_path / "pa.parquet"
    frame.to_parquet(path)
    kw = {"buffers_km": (1, 5, 25, 100), "area_buffer_km": 10.0}
    whole = compute_protected_area_proximity(_sites(), frame, **kw)
    monkeypatch.setattr(proximity, "_SITE_BATCH", batch)
    pd.testing.assert_frame_equal(compute_protected_area_proximity(_sites(), frame, **kw), whole)
    pd.testing.assert_frame_equal(compute_protected_area_proximity_arrow(_sites(), pq.read_table(path), **kw), whole)


def test_site_order_is_a_permutation_that_keeps_neighbours_together() -> None:
    from geo.curves import spatial_order

    bounds = np.array(
        [[10.0, 0.0, 10.0, 0.0], [-170.0, 60.0, -170.0, 60.0], [10.001, 0.001, 10.001, 0.001], [np.nan] * 4]
    )
    order = spatial_order(0.5 * (bounds[:, 0] + bounds[:, 2]), 0.5 * (bounds[:, 1] + bounds[:, 3]))
    assert sorted(order) == [0, 1, 2, 3]
    assert order[0] == 3  # missing first
    pos = {int(v): k for k, v in enumerate(order)}
    assert abs(pos[0] - pos[2]) == 1  # the two sites 150 m apart are neighbours in the order


def test_seams_are_the_matched_antimeridian_edges_only() -> None:
    split = shapely.MultiPolygon(  # one PA split at ±180°: its parts meet along the meridian
        [shapely.box(179.0, -18.0, 180.0, -17.0), shapely.box(-180.0, -18.0, -179.0, -17.0)]
    )
    edge_only = shapely.box(179.0, 10.0, 180.0, 11.0)  # a real boundary on 180°E, no other part
    flat = proximity._flatten(np.array([split, edge_only], dtype=object))
    seam = flat.seam
    assert seam.sum() == 2  # the east part's edge on 180° and the west part's on -180°
    k = np.flatnonzero(seam)
    lon = np.degrees(np.arctan2(flat.vy[k], flat.vx[k]))
    assert np.allclose(np.abs(lon), 180.0)
    assert np.allclose(np.degrees(np.arcsin(flat.vz[k])) + np.degrees(np.arcsin(flat.vz[k + 1])), -35.0)
