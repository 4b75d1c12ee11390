"""Property tests (hypothesis): random small polygons and points anywhere on Earth.

Checked against the independent reference ``geo.crs.geodesic_point_to_geometry_km`` (boundary
densified geodesically, pyproj.Geod distances) and against GEOS on a geodesic circle for areas.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.crs import GEOD, geodesic_circle, geodesic_point_to_geometry_km
from geo.proximity import compute_protected_area_proximity, count_within_km, nearest_distance_km

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WORLD = shapely.box(-180.0, -90.0, 180.0, 90.0)


def _split_at_antimeridian(lon: np.ndarray, lat: np.ndarray, lon_c: float) -> shapely.Geometry:
    lon = lon_c + (lon - lon_c + 180.0) % 360.0 - 180.0
    poly = shapely.make_valid(shapely.Polygon(np.column_stack([lon, lat])))
    if lon.min() >= -180.0 and lon.max() <= 180.0:
        return poly
    parts = [shapely.affinity.translate(poly, xoff=s).intersection(WORLD) for s in (-360.0, 0.0, 360.0)]
    return shapely.union_all([p for p in parts if not p.is_empty])


@st.composite
def site_and_polygon(draw: st.DrawFn) -> tuple[float, float, shapely.Geometry]:
    """A site anywhere (|lat| <= 89.5) and a star polygon 0-60 km away, radius 0.3-8 km."""
    lon = draw(st.floats(-179.999, 179.999))
    lat = draw(st.floats(-89.5, 89.5))
    dist_km = draw(st.floats(0.0, 60.0))
    az = draw(st.floats(0.0, 360.0))
    clon, clat = (float(v) for v in GEOD.fwd(lon, lat, az, dist_km * 1000.0)[:2])
    if abs(clat) > 89.5:  # keep the pole out of the polygon (lon/lat rings cannot hold it)
        clat = float(np.sign(clat) * 89.5)
    n = draw(st.integers(3, 24))
    radius = draw(st.floats(0.3, 8.0))
    rot = draw(st.floats(0.0, 360.0))
    wobble = np.array(draw(st.lists(st.floats(0.5, 1.0), min_size=n, max_size=n)))
    azs = (rot + np.arange(n) * 360.0 / n) % 360.0
    vlon, vlat, _ = GEOD.fwd(np.full(n, clon), np.full(n, clat), azs, radius * 1000.0 * wobble)
    return lon, lat, _split_at_antimeridian(np.asarray(vlon), np.asarray(vlat), clon)


def _pas(geoms: list[shapely.Geometry]) -> gpd.GeoDataFrame:
    k = len(geoms)
    return gpd.GeoDataFrame(
        {"pa_id": [str(i) for i in range(k)], "name": ["x"] * k, "designation": ["x"] * k, "iucn_cat": ["II"] * k},
        geometry=geoms,
        crs="EPSG:4326",
    )


@SETTINGS
@given(site_and_polygon())
def test_distance_within_tolerance_of_reference_and_zero_iff_intersects(case) -> None:
    lon, lat, poly = case
    dist, idx = nearest_distance_km(np.array([shapely.Point(lon, lat)], dtype=object), np.array([poly], dtype=object))
    ref = geodesic_point_to_geometry_km(lon, lat, poly, spacing_km=0.02)
    assert idx[0] == 0
    assert abs(dist[0] - ref) <= max(0.05, 0.005 * ref), (dist[0], ref)
    assert (dist[0] == 0.0) == bool(poly.intersects(shapely.Point(lon, lat)))


@SETTINGS
@given(st.lists(site_and_polygon(), min_size=2, max_size=5), st.lists(st.floats(0.1, 80.0), min_size=1, max_size=4))
def test_counts_are_monotone_and_consistent_with_distances(cases, ds) -> None:
    lon, lat, _ = cases[0]
    site = np.array([shapely.Point(lon, lat)], dtype=object)
    polys = [c[2] for c in cases]
    per_pa = np.array([nearest_distance_km(site, np.array([p], dtype=object))[0][0] for p in polys])
    counts = [int(count_within_km(site, np.array(polys, dtype=object), d)[0]) for d in sorted(ds)]
    assert counts == sorted(counts)
    for d, c in zip(sorted(ds), counts, strict=True):
        assert c == int((per_pa <= d).sum())
    res = compute_protected_area_proximity(gpd.GeoSeries(site, crs="EPSG:4326"), _pas(polys), buffers_km=sorted(ds))
    assert res["dist_protected_area_km"].iloc[0] == per_pa.min()
    for d, c in zip(sorted(ds), counts, strict=True):
        assert res[f"protected_areas_within_{d:g}km"].iloc[0] == c


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(site_and_polygon(), min_size=1, max_size=4))
def test_area_in_disc_matches_geos_on_a_geodesic_circle(cases) -> None:
    lon, lat, _ = cases[0]
    # densify in lon/lat so straight lon/lat edges and geodesic edges agree to < 1 m
    polys = [shapely.segmentize(c[2], 0.005) for c in cases]
    res = compute_protected_area_proximity(
        gpd.GeoSeries([shapely.Point(lon, lat)], crs="EPSG:4326"), _pas(polys), area_buffer_km=8.0
    )
    got = res["protected_area_km2_within_8km"].iloc[0]
    disc = geodesic_circle(lon, lat, 8.0, n_vertices=2048)
    inter = disc.intersection(shapely.union_all(polys))
    ref = abs(GEOD.geometry_area_perimeter(inter)[0]) / 1e6 if not inter.is_empty else 0.0
    assert 0.0 <= got <= np.pi * 64.0 * 1.0001
    assert abs(got - ref) <= 0.01 + 0.002 * ref, (got, ref)
