"""PolarRegion: inside tests and geodesic distances near the pole and across the antimeridian."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from shapely.geometry import Point, box

from geo.regions import PolarRegion

GEOD = pyproj.Geod(ellps="WGS84")
ARCTIC_CIRCLE = 66.5634
TO_LONLAT = pyproj.Transformer.from_crs("EPSG:3995", "EPSG:4326", always_xy=True)


def _meridian_arc_km(lat1: float, lat2: float, n: int = 200_001) -> float:
    """Independent reference: integral of the meridian radius of curvature M(φ) dφ (WGS84)."""
    a, f = 6378.137, 1 / 298.257223563
    e2 = f * (2 - f)
    phi = np.radians(np.linspace(lat1, lat2, n))
    m = a * (1 - e2) / (1 - e2 * np.sin(phi) ** 2) ** 1.5
    return float(np.trapezoid(m, phi))


def _pole_disc(radius_m: float = 2_000_000.0) -> gpd.GeoSeries:
    """A disc centred on the North Pole in EPSG:3995: its boundary is a parallel."""
    return gpd.GeoSeries([Point(0, 0).buffer(radius_m, quad_segs=512)], crs="EPSG:3995")


def test_default_region_contains_by_latitude():
    r = PolarRegion(min_lat=ARCTIC_CIRCLE)
    lon = np.array([0.0, 0.0, 123.0, 179.99, -179.99, 10.0, np.nan])
    lat = np.array([66.6, 66.5, 90.0, 70.0, 70.0, np.nan, 80.0])
    assert r.contains(lon, lat).tolist() == [True, False, True, True, True, False, False]
    d = r.distance_km(lon, lat)
    assert d[0] == 0.0 and d[2] == 0.0 and np.isnan(d[5]) and np.isnan(d[6])


@pytest.mark.parametrize("lon", [0.0, 45.0, 179.99, -179.99])
def test_default_distance_at_60n_is_the_meridian_arc(lon):
    r = PolarRegion(min_lat=ARCTIC_CIRCLE)
    d = r.distance_km(np.array([lon]), np.array([60.0]))[0]
    assert d == pytest.approx(_meridian_arc_km(60.0, ARCTIC_CIRCLE), abs=1e-3)  # 1 m
    _, _, ref_m = GEOD.inv(lon, 60.0, lon, ARCTIC_CIRCLE)
    assert d == pytest.approx(ref_m / 1000.0, abs=1e-3)


def test_region_needs_exactly_one_definition():
    with pytest.raises(ValueError, match="exactly one"):
        PolarRegion()
    with pytest.raises(ValueError, match="exactly one"):
        PolarRegion(min_lat=66.0, polygons=_pole_disc())
    with pytest.raises(ValueError, match="need a CRS"):
        PolarRegion(polygons=gpd.GeoSeries([box(0, 0, 1, 1)]))
    with pytest.raises(ValueError, match="latitude"):
        PolarRegion(min_lat=95.0)
    with pytest.raises(ValueError, match="same shape"):
        PolarRegion(min_lat=66.0).contains(np.zeros(2), np.zeros(3))


def test_polar_stereographic_disc_contains_the_pole():
    r = PolarRegion(polygons=_pole_disc())
    _, boundary_lat = TO_LONLAT.transform(2_000_000.0, 0.0)  # ≈ 71.74°N
    lon = np.array([0.0, 77.0, 179.9, -179.9, 0.0, 100.0, -100.0])
    lat = np.array([90.0, 89.999, 80.0, 80.0, boundary_lat + 0.01, boundary_lat - 0.01, 50.0])
    assert r.contains(lon, lat).tolist() == [True, True, True, True, True, False, False]
    assert r.distance_km(lon[:5], lat[:5]).tolist() == [0.0] * 5


@pytest.mark.parametrize(("lon", "lat"), [(0.0, 60.0), (179.99, 65.0), (-179.99, 65.0), (-120.0, 30.0), (45.0, -10.0)])
def test_distance_to_pole_disc_is_the_meridian_arc(lon, lat):
    """The disc's boundary is a parallel, so the nearest boundary point is due north."""
    r = PolarRegion(polygons=_pole_disc())
    _, boundary_lat = TO_LONLAT.transform(2_000_000.0, 0.0)
    d = r.distance_km(np.array([lon]), np.array([lat]))[0]
    _, _, ref_m = GEOD.inv(lon, lat, lon, boundary_lat)
    assert d == pytest.approx(ref_m / 1000.0, abs=0.05)


def test_box_across_the_antimeridian_in_polar_crs():
    # x from -300 km to +300 km around the 180° meridian (which points up in EPSG:3995)
    r = PolarRegion(polygons=gpd.GeoSeries([box(-300_000, 1_000_000, 300_000, 2_000_000)], crs="EPSG:3995"))
    lon = np.array([179.5, -179.5, 170.0, -170.0, 0.0, 90.0])
    lat = np.array([75.0, 75.0, 75.0, 75.0, 75.0, 75.0])
    # (±179.5, 75) -> x = ±14 km; (±170, 75) -> x = ±285 km: all inside; 0° and 90°E are outside.
    assert r.contains(lon, lat).tolist() == [True, True, True, True, False, False]
    d = r.distance_km(lon, lat)
    assert (d[:4] == 0).all()
    # from (0°, 75°N) the nearest boundary point is the bottom edge's midpoint, on the 180° meridian, across the pole
    _, lat_edge = TO_LONLAT.transform(0.0, 1_000_000.0)
    _, _, ref_m = GEOD.inv(0.0, 75.0, 180.0, lat_edge)
    assert d[4] == pytest.approx(ref_m / 1000.0, abs=0.05)


def test_distances_match_brute_force_over_all_boundary_vertices():
    # an irregular pole-containing polygon (AMAP-like) in EPSG:3413
    ang = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    rad = 2_500_000 + 600_000 * np.sin(3 * ang) + 300_000 * np.cos(7 * ang)
    poly = shapely.Polygon(np.column_stack([rad * np.cos(ang), rad * np.sin(ang)]))
    r = PolarRegion(polygons=gpd.GeoSeries([poly], crs="EPSG:3413"), densify_km=5.0)
    rng = np.random.default_rng(7)
    lon = rng.uniform(-180, 180, 150)
    lat = rng.uniform(20, 90, 150)
    d = r.distance_km(lon, lat)
    verts = r.boundary_lonlat
    outside = ~r.contains(lon, lat)
    assert outside.sum() > 30 and (~outside).sum() > 30
    for i in np.flatnonzero(outside):
        _, _, dm = GEOD.inv(np.full(len(verts), lon[i]), np.full(len(verts), lat[i]), verts[:, 0], verts[:, 1])
        assert d[i] == pytest.approx(dm.min() / 1000.0, rel=1e-9)
    assert (d[~outside] == 0).all()


def test_points_that_cannot_be_projected_are_outside():
    r = PolarRegion(polygons=_pole_disc())
    # the South Pole is at infinity in the north polar stereographic projection
    assert r.contains(np.array([0.0]), np.array([-90.0])).tolist() == [False]
    assert np.isfinite(r.distance_km(np.array([0.0]), np.array([-90.0]))[0])
