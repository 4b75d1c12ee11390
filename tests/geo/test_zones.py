"""geo.zones: geodesic buffers and equal-area measurement against independent references."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geo.zones import ZoneInputError, equal_area_km2, geodesic_buffer, split_at_antimeridian, to_equal_area
from tests.geo.references import GEOD, geod_area_km2, laea_area_km2, ref_distance_km


def _outline_points(zone, step: int = 5) -> np.ndarray:
    parts = shapely.get_parts(zone)
    rings = [shapely.get_coordinates(p.exterior) for p in parts]
    return np.vstack(rings)[::step]


@pytest.mark.parametrize(
    ("lon", "lat", "d"), [(10.0, 0.0, 10.0), (-60.0, -12.0, 25.0), (20.0, 70.0, 10.0), (0.0, 45.0, 300.0)]
)
def test_point_zone_vertices_are_at_the_distance_and_area_is_the_disc(lon, lat, d):
    zone = geodesic_buffer(shapely.Point(lon, lat), d)
    c = shapely.get_coordinates(zone)
    _, _, dist = GEOD.inv(np.full(len(c), lon), np.full(len(c), lat), c[:, 0], c[:, 1])
    assert np.allclose(np.asarray(dist) / 1000.0, d, rtol=1e-6)
    # an inscribed 128-gon: π d² (1 - 4e-4), and the disc on the ellipsoid is within 1e-4 of π d² at these radii
    assert geod_area_km2(zone) == pytest.approx(np.pi * d * d, rel=1e-3)


@pytest.mark.parametrize("lat", [0.0, -8.0, 45.0, 68.0])
def test_line_zone_outline_is_at_the_distance_from_the_line(lat):
    line = shapely.LineString([(-60.0, lat), (-59.2, lat + 0.5), (-58.0, lat - 0.4), (-57.5, lat - 0.4)])
    zone = geodesic_buffer(line, 10.0)
    pts = _outline_points(zone, step=9)
    ref = np.array([ref_distance_km(x, y, line) for x, y in pts])
    # the outline lies on the zone's edge: 10 km, up to the 128-gon's chord sagitta (3 m)
    assert ref.max() == pytest.approx(10.0, abs=0.002)
    assert ref.min() > 10.0 - 0.005
    assert zone.covers(line)


def test_polygon_zone_holds_the_polygon_and_its_outline_is_at_the_distance():
    poly = shapely.Polygon([(-56.0, -6.0), (-55.0, -6.2), (-54.6, -5.1), (-55.5, -5.4), (-56.0, -5.0)])
    zone = geodesic_buffer(poly, 12.5)
    assert zone.covers(poly)
    pts = _outline_points(zone, step=7)
    ref = np.array([ref_distance_km(x, y, poly) for x, y in pts])
    assert np.allclose(ref, 12.5, atol=0.005)
    # holes are not left by the outline pieces
    assert len(shapely.get_parts(zone)) == 1 and len(zone.interiors) == 0


def test_zero_distance_returns_the_polygonal_part():
    poly = shapely.box(0, 0, 1, 1)
    assert geodesic_buffer(poly, 0.0).equals(poly)
    assert geodesic_buffer(shapely.Point(0, 0), 0.0).is_empty


def test_zone_across_the_antimeridian_is_split_and_measures_right():
    line = shapely.MultiLineString([[(179.6, -17.0), (180.0, -17.1)], [(-180.0, -17.1), (-179.7, -17.3)]])
    zone = geodesic_buffer(line, 20.0)
    assert zone.geom_type == "MultiPolygon"
    minx, _, maxx, _ = zone.bounds
    assert minx >= -180.0 and maxx <= 180.0
    # the same line shifted away from ±180° has the same zone area
    shifted = shapely.LineString([(-0.4, -17.0), (0.0, -17.1), (0.3, -17.3)])
    assert equal_area_km2([zone])[0] == pytest.approx(equal_area_km2([geodesic_buffer(shifted, 20.0)])[0], rel=1e-4)
    pts = _outline_points(zone, step=11)
    far = [p for p in pts if abs(abs(p[0]) - 180.0) > 1e-9]  # the cut along ±180° is not the zone's edge
    ref = [min(ref_distance_km(x, y, g) for g in line.geoms) for x, y in far]
    assert np.allclose(ref, 20.0, atol=0.01)


def test_an_edge_jumping_across_the_antimeridian_is_refused():
    with pytest.raises(ZoneInputError, match="antimeridian"):
        geodesic_buffer(shapely.LineString([(179.5, 0.0), (-179.5, 0.0)]), 5.0)


@pytest.mark.parametrize(("lat", "pole"), [(89.3, "North"), (-89.3, "South")])
def test_a_zone_reaching_a_pole_is_refused(lat, pole):
    with pytest.raises(ZoneInputError, match=f"{pole} Pole"):
        geodesic_buffer(shapely.Point(0.0, lat), 50.0)


@pytest.mark.parametrize("d", [-1.0, float("nan"), 501.0])
def test_bad_distances_are_refused(d):
    with pytest.raises(ZoneInputError, match="buffer distance"):
        geodesic_buffer(shapely.Point(0.0, 0.0), d)


def test_near_bounds_give_the_full_zone_where_it_meets_them():
    poly = shapely.Polygon([(-56.0, -6.0), (-53.0, -6.2), (-52.6, -4.1), (-55.5, -4.4)])
    full = geodesic_buffer(poly, 10.0)
    probe = shapely.box(-53.0, -6.3, -52.5, -5.9)  # one corner only
    part = geodesic_buffer(poly, 10.0, near_bounds=np.array([probe.bounds]))
    assert part.intersection(probe).symmetric_difference(full.intersection(probe)).area < 1e-9
    assert equal_area_km2([part])[0] < equal_area_km2([full])[0]


@pytest.mark.parametrize(
    "geom",
    [
        shapely.box(-60.0, -10.0, -59.0, -9.0),
        shapely.box(10.0, 60.0, 14.0, 62.0),
        shapely.Polygon([(100.0, 10.0), (105.0, 12.0), (101.0, 18.0)]),
    ],
)
def test_equal_area_matches_laea_and_geod(geom):
    ea = equal_area_km2([geom])[0]
    assert ea == pytest.approx(laea_area_km2(geom), rel=1e-4)
    assert ea == pytest.approx(geod_area_km2(geom), rel=1e-4)


def test_equal_area_of_points_lines_and_none():
    out = equal_area_km2([shapely.Point(0, 0), shapely.LineString([(0, 0), (1, 1)]), None])
    assert out[0] == 0.0 and out[1] == 0.0 and np.isnan(out[2])


def test_to_equal_area_keeps_missing_and_split_at_antimeridian_is_identity_inside():
    out = to_equal_area(np.array([None, shapely.Point(0, 0)], dtype=object))
    assert out[0] is None and out[1].equals(shapely.Point(0, 0))
    box = shapely.box(0, 0, 1, 1)
    assert split_at_antimeridian(box).equals(box)
    moved = split_at_antimeridian(shapely.box(179.0, 0.0, 181.0, 1.0))
    assert moved.geom_type == "MultiPolygon" and moved.area == pytest.approx(2.0)


def test_a_polygon_edge_jumping_across_the_antimeridian_is_refused_even_without_buffer():
    with pytest.raises(ZoneInputError, match="antimeridian"):
        geodesic_buffer(shapely.Polygon([(179.0, 0.0), (-179.0, 0.0), (-179.0, 1.0), (179.0, 1.0)]), 0.0)


def _mixed_features() -> list:
    """Polygons with holes and many vertices, lines, points, a multi-part, an empty geometry."""
    rng = np.random.default_rng(7)
    feats = []
    for k in range(6):
        ang = np.sort(rng.uniform(0, 2 * np.pi, 400))
        r = 0.3 + 0.1 * rng.uniform(size=400)
        lon0, lat0 = -62.0 + 0.9 * k, -8.0 + 0.4 * k
        feats.append(shapely.Polygon(np.column_stack([lon0 + r * np.cos(ang), lat0 + r * np.sin(ang)])))
    feats[1] = shapely.Polygon(feats[1].exterior, [shapely.Point(-61.1, -7.6).buffer(0.05).exterior])
    feats.append(shapely.LineString(np.column_stack([np.linspace(-50, -49, 300), -3 + 0.05 * np.sin(np.arange(300))])))
    feats.append(shapely.MultiPoint([(-45.0, 1.0), (-45.05, 1.02)]))
    feats.append(shapely.Polygon())
    feats.append(shapely.MultiPolygon([shapely.box(-40, 0, -39.8, 0.2), shapely.box(-39.7, 0, -39.5, 0.2)]))
    return feats


@pytest.mark.parametrize("d", [0.0, 5.0, 25.0])
def test_geodesic_buffers_are_each_geometrys_own_zone_byte_for_byte(d, monkeypatch):
    """The batch builds every zone in one pass, its GEOS buffers in threads: the same polygons as one
    call per geometry, down to the byte, threaded or not."""
    import geo.zones as zones

    feats = _mixed_features()
    one_by_one = [shapely.to_wkb(geodesic_buffer(g, d)) for g in feats]
    monkeypatch.setattr(zones, "BUFFER_THREAD_MIN_VERTICES", 0)  # every batch's buffers go to the threads
    assert [shapely.to_wkb(z) for z in zones.geodesic_buffers(feats, d)] == one_by_one
    monkeypatch.setattr(zones, "BUFFER_THREAD_MIN_VERTICES", 10**12)  # and none does
    assert [shapely.to_wkb(z) for z in zones.geodesic_buffers(feats, d)] == one_by_one
    monkeypatch.setattr(zones, "BUFFER_BATCH_VERTICES", 500)  # a batch every geometry or two
    assert [shapely.to_wkb(z) for z in zones.geodesic_buffers(feats, d)] == one_by_one


def test_threaded_buffers_are_geos_buffers_in_order(monkeypatch):
    import geo.zones as zones

    if zones.thread_pool() is None:
        pytest.skip("one core: the buffers never go to threads here")
    lines = np.array([shapely.LineString([(0, k), (1000 * (k % 7 + 1), k + 3), (50, 2 * k)]) for k in range(41)])
    monkeypatch.setattr(zones, "BUFFER_THREAD_MIN_VERTICES", 0)
    names = []
    real = shapely.buffer

    def spy(geoms, *args, **kwargs):
        import threading

        names.append(threading.current_thread().name)
        return real(geoms, *args, **kwargs)

    monkeypatch.setattr(zones.shapely, "buffer", spy)
    got = zones._buffer_all(lines, 500.0, 8)
    assert all(n.startswith("geo") for n in names) and len(names) > 1  # runs on the pool
    assert list(shapely.to_wkb(got)) == list(shapely.to_wkb(real(lines, 500.0, quad_segs=8)))


def test_geodesic_buffers_name_the_position_of_the_geometry_they_refuse():
    from geo.zones import geodesic_buffers

    feats = [shapely.Point(0, 0), shapely.box(1, 1, 2, 2), shapely.Point(0.0, 89.9), shapely.Point(0.0, -89.9)]
    with pytest.raises(ZoneInputError, match="North Pole") as info:
        geodesic_buffers(feats, 10.0)
    assert info.value.index == 2


def test_geodesic_buffers_take_each_geometrys_own_near_bounds():
    from geo.zones import geodesic_buffers

    feats = _mixed_features()
    rng = np.random.default_rng(3)
    near = [
        np.array([[b[0], b[1], b[0] + 0.1, b[1] + 0.1]]) if rng.uniform() < 0.7 else np.zeros((0, 4))
        for b in [g.bounds if not g.is_empty else (0, 0, 0, 0) for g in feats]
    ]
    want = [shapely.to_wkb(geodesic_buffer(g, 10.0, near_bounds=nb)) for g, nb in zip(feats, near, strict=True)]
    assert [shapely.to_wkb(z) for z in geodesic_buffers(feats, 10.0, near_bounds=near)] == want
    with pytest.raises(ValueError, match="near_bounds has 1 entries for"):
        geodesic_buffers(feats, 10.0, near_bounds=near[:1])
