"""geo.crs: geodesic helpers with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

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
