"""geo.crs: geodesic helpers with known answers."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest
import shapely

from geo import crs
from geo.crs import GEOD, geodesic_area_km2, geodesic_circle, geodesic_point_to_geometry_km


def test_area_of_one_degree_cell_at_equator() -> None:
    # 1°x1° at the equator on WGS84: 12,308.8 km² (meridian 110.574 km x parallel ~111.3 km)
    area = geodesic_area_km2([shapely.box(0, 0, 1, 1)])[0]
    assert area == pytest.approx(12308.8, rel=1e-3)


def test_area_points_lines_none() -> None:
    out = geodesic_area_km2([shapely.Point(0, 0), shapely.LineString([(0, 0), (1, 1)]), None])
    assert out[0] == 0.0
    assert out[1] == 0.0
    assert np.isnan(out[2])


@pytest.mark.parametrize(("lon", "lat"), [(0.0, 0.0), (-40.0, 75.0), (179.9, -16.0)])
def test_circle_vertices_are_at_radius_and_area_is_pi_r2(lon: float, lat: float) -> None:
    circle = geodesic_circle(lon, lat, 5.0, n_vertices=256)
    coords = shapely.get_coordinates(circle)
    _, _, d = GEOD.inv(np.full(len(coords), lon), np.full(len(coords), lat), coords[:, 0], coords[:, 1])
    assert np.allclose(np.asarray(d) / 1000.0, 5.0, atol=1e-6)
    assert geodesic_area_km2([circle])[0] == pytest.approx(np.pi * 25.0, rel=1e-3)


def test_circle_across_antimeridian_is_split() -> None:
    circle = geodesic_circle(179.99, 0.0, 5.0)
    assert circle.geom_type == "MultiPolygon"
    b = circle.bounds
    assert b[0] >= -180.0 and b[2] <= 180.0


def test_reference_distance_known_answers() -> None:
    square = shapely.box(0.0, 0.0, 0.1, 0.1)
    assert geodesic_point_to_geometry_km(0.05, 0.05, square) == 0.0
    # 0.1° of longitude east of the east edge, at the equator-ish: ~11.13 km
    d = geodesic_point_to_geometry_km(0.2, 0.05, square, spacing_km=0.05)
    assert d == pytest.approx(11.132, abs=0.01)
    assert np.isnan(geodesic_point_to_geometry_km(0.0, 0.0, shapely.Polygon()))


@pytest.mark.parametrize("pole", [90.0, -90.0])
def test_geodesic_circle_around_a_pole_covers_its_centre_and_has_the_right_area(pole):
    lat = 89.9 if pole > 0 else -89.9
    circle = geodesic_circle(10.0, lat, 50.0, n_vertices=256)
    assert circle.is_valid
    assert circle.covers(shapely.Point(10.0, lat))
    assert circle.covers(shapely.Point(-170.0, lat))  # across the pole, still within 50 km
    assert geodesic_area_km2([circle])[0] == pytest.approx(np.pi * 50.0**2, rel=0.01)


# ----------------------------------------------------------------------------- the ellipsoid, once
def test_wgs84_constants_are_pyprojs_ellipsoid() -> None:
    from geo.crs import WGS84_A_KM, WGS84_B_KM, WGS84_E2, WGS84_F, WGS84_MEAN_RADIUS_KM

    assert GEOD.a == WGS84_A_KM * 1000.0
    assert GEOD.f == WGS84_F
    assert pytest.approx(GEOD.es, rel=1e-15) == WGS84_E2
    assert pytest.approx(GEOD.b, rel=1e-15) == WGS84_B_KM * 1000.0
    assert pytest.approx(6371.0088, abs=1e-4) == WGS84_MEAN_RADIUS_KM  # IUGG mean radius R1


def test_extreme_radii_of_curvature_match_geodesic_arcs() -> None:
    # R_MIN: the meridian's radius at the equator; R_MAX: the radius at the poles. A short meridian
    # arc there, measured by Karney's algorithm, is that radius times the angle.
    from geo.crs import R_MAX_KM, R_MIN_KM

    dphi = 1e-3
    _, _, s_eq = GEOD.inv(10.0, -dphi / 2, 10.0, dphi / 2)
    _, _, s_pole = GEOD.inv(10.0, 90.0 - dphi, 190.0, 90.0 - dphi)
    assert s_eq / 1000.0 / np.radians(dphi) == pytest.approx(R_MIN_KM, rel=1e-7)
    assert s_pole / 1000.0 / np.radians(2 * dphi) == pytest.approx(R_MAX_KM, rel=1e-6)


def test_unit_vectors_are_the_ellipsoid_normal() -> None:
    # independent: the normal of the ellipsoid at its geocentric point (x, y, z) is along
    # (x / a², y / a², z / b²); pyproj gives the geocentric point (EPSG:4978)
    import pyproj

    from geo.crs import lonlat_of_unit_vectors, unit_vector, unit_vectors

    rng = np.random.default_rng(3)
    lon = np.r_[rng.uniform(-180, 180, 200), 180.0, -180.0, 0.0, 45.0]
    lat = np.r_[rng.uniform(-90, 90, 200), 0.0, 0.0, 90.0, -90.0]
    ecef = pyproj.Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True)
    x, y, z = ecef.transform(lon, lat, np.zeros_like(lon))
    normal = np.column_stack([np.asarray(x) / GEOD.a**2, np.asarray(y) / GEOD.a**2, np.asarray(z) / GEOD.b**2])
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    got = unit_vectors(lon, lat)
    np.testing.assert_allclose(got, normal, atol=1e-12)
    scalar = np.array([unit_vector(a, b) for a, b in zip(lon, lat, strict=True)])
    np.testing.assert_allclose(scalar, got, atol=1e-15, rtol=0)
    lo, la = lonlat_of_unit_vectors(got[:-2])  # away from the poles, where longitude is undefined
    np.testing.assert_allclose(la, lat[:-2], atol=1e-12)
    np.testing.assert_allclose(np.cos(np.radians(lo - lon[:-2])), 1.0, atol=1e-12)


@pytest.mark.parametrize("angle", [1e-12, 1e-6, 0.3, np.pi / 2, 3.0, np.pi])
def test_angle_between_unit_vectors_is_accurate_at_every_angle(angle: float) -> None:
    from geo.crs import angle_between

    a = np.array([1.0, 0.0, 0.0])
    b = np.array([np.cos(angle), np.sin(angle), 0.0])
    assert angle_between(*a, *b) == pytest.approx(angle, rel=1e-12, abs=1e-15)


def test_the_kernels_compile_the_same_formulas() -> None:
    # the numba kernels use geo.crs's scalar functions, compiled: the same numbers
    from geo._kernels.flat import nvectors
    from geo.crs import unit_vector

    rng = np.random.default_rng(5)
    lon, lat = rng.uniform(-180, 180, 50), rng.uniform(-90, 90, 50)
    x, y, z = nvectors(lon, lat)
    np.testing.assert_array_equal(
        np.column_stack([x, y, z]), [unit_vector(a, b) for a, b in zip(lon, lat, strict=True)]
    )


@pytest.mark.parametrize("n", [0, 7, crs.GEODESIC_THREAD_MIN + 13])
def test_geodesic_m_is_pyprojs_geodesic_bit_for_bit_threaded_or_not(n: int) -> None:
    """Above GEODESIC_THREAD_MIN the pairs are cut into slices measured in threads: the same numbers."""
    rng = np.random.default_rng(n)
    lon1, lon2 = rng.uniform(-180, 180, (2, n))
    lat1, lat2 = rng.uniform(-89.9, 89.9, (2, n))
    got = crs.geodesic_m(lon1, lat1, lon2, lat2)
    want = np.asarray(pyproj.Geod(ellps="WGS84").inv(lon1, lat1, lon2, lat2)[2])
    assert got.dtype == np.float64 and got.shape == (n,)
    np.testing.assert_array_equal(got, want)
    if n:
        assert got[0] == pyproj.Geod(ellps="WGS84").inv(lon1[0], lat1[0], lon2[0], lat2[0])[2]


def test_geodesic_m_works_in_a_process_forked_after_its_threads_started() -> None:
    """gunicorn forks the workers of a preloaded app: the child must not wait on the parent's thread pool."""
    import multiprocessing

    n = crs.GEODESIC_THREAD_MIN + 5
    a, b = np.zeros(n), np.ones(n)
    want = crs.geodesic_m(a, a, b, b)  # the parent's pool is running now
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=lambda: queue.put(crs.geodesic_m(a, a, b, b)[[0, -1]].tolist()))
    child.start()
    child.join(60)
    if child.is_alive():
        child.kill()
        pytest.fail("geodesic_m hung in a forked child")
    assert queue.get(timeout=5) == want[[0, -1]].tolist()
