"""Hand-built cases with known answers for geo.proximity, checked against an independent geodesic reference."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.crs import GEOD, geodesic_circle, geodesic_point_to_geometry_km
from geo.proximity import (
    ProximityInputError,
    compute_layer_proximity,
    compute_protected_area_proximity,
    count_within_km,
    nearest_distance_km,
    nearest_features,
)


def _tol_km(ref_km: float) -> float:
    return max(0.05, 0.005 * ref_km)


def _pas(geoms: list[shapely.Geometry], ids: list[str] | None = None) -> gpd.GeoDataFrame:
    ids = ids or [f"pa{i}" for i in range(len(geoms))]
    return gpd.GeoDataFrame(
        {
            "pa_id": ids,
            "name": [f"Area {i}" for i in ids],
            "designation": ["National Park"] * len(geoms),
            "iucn_cat": ["II"] * len(geoms),
        },
        geometry=geoms,
        crs="EPSG:4326",
    )


def _square_km(lon: float, lat: float, side_km: float) -> shapely.Polygon:
    """A square of about ``side_km`` with its south-west corner at (lon, lat), edges densified."""
    dlat = side_km / 110.574
    dlon = side_km / (111.320 * np.cos(np.radians(lat + dlat / 2)))
    return shapely.segmentize(shapely.box(lon, lat, lon + dlon, lat + dlat), min(dlat, dlon) / 20)


def _sites(points: list[tuple[float, float]] | list[shapely.Geometry]) -> gpd.GeoSeries:
    geoms = [p if isinstance(p, shapely.Geometry) else shapely.Point(p) for p in points]
    return gpd.GeoSeries(geoms, crs="EPSG:4326", index=[f"s{i}" for i in range(len(geoms))])


def _ref(lon: float, lat: float, geom: shapely.Geometry) -> float:
    return geodesic_point_to_geometry_km(lon, lat, geom, spacing_km=0.02)


EQUATOR_SQUARE = _square_km(10.0, 0.0, 10.0)
# point 5 km due east of the square's east edge, level with its middle
_east_lon = EQUATOR_SQUARE.bounds[2]
_mid_lat = (EQUATOR_SQUARE.bounds[1] + EQUATOR_SQUARE.bounds[3]) / 2
EAST_5KM = tuple(GEOD.fwd(_east_lon, _mid_lat, 90.0, 5000.0)[:2])

CASES = {
    # name: (site lon/lat, PA geometry, expected km or None to use the reference only)
    "equator_5km_east": (EAST_5KM, EQUATOR_SQUARE, 5.0),
    "greenland_75N": ((-38.0, 75.3), _square_km(-40.0, 75.0, 20.0), None),
    "svalbard_79N_north": ((15.0, 79.5), _square_km(14.0, 79.0, 15.0), None),
    "antimeridian_east_site": (
        (179.95, -16.5),
        shapely.MultiPolygon(
            [shapely.box(-180.0, -17.0, -179.9, -16.0), shapely.box(179.99, -17.0, 180.0, -16.0)]
        ).normalize(),
        None,
    ),
    "antimeridian_pa_west_only": (
        (179.95, 65.0),
        shapely.segmentize(shapely.box(-179.9, 64.5, -179.5, 65.5), 0.02),
        None,
    ),
    "north_pole_89_5N": (
        (30.0, 89.5),
        shapely.segmentize(shapely.box(-180.0, 89.7, 180.0, 89.9), 0.5),
        None,
    ),
    "south_pole_cap": (
        (0.0, -88.0),
        shapely.segmentize(shapely.box(-180.0, -90.0, 180.0, -89.0), 0.5),
        None,
    ),
    "tropics_far_1000km": ((20.0, 9.0), EQUATOR_SQUARE, None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_distance_matches_geodesic_reference(case: str) -> None:
    (lon, lat), geom, expected = CASES[case]
    res = compute_protected_area_proximity(_sites([(lon, lat)]), _pas([geom]))
    got = res["dist_protected_area_km"].iloc[0]
    ref = _ref(lon, lat, geom)
    assert ref > 0
    assert abs(got - ref) <= _tol_km(ref), (got, ref)
    if expected is not None:
        assert got == pytest.approx(expected, abs=0.05)
    assert not res["in_protected_area"].iloc[0]
    assert res["nearest_protected_area_id"].iloc[0] == "pa0"


def test_antimeridian_distance_is_short_both_ways() -> None:
    pa = _pas([shapely.segmentize(shapely.box(-179.9, -1.0, -179.5, 1.0), 0.05)])
    res = compute_protected_area_proximity(_sites([(179.95, 0.0), (-179.95, 0.0), (180.0, 0.0)]), pa)
    d = res["dist_protected_area_km"].to_numpy()
    # 0.15°, 0.05° and 0.1° of longitude at the equator
    np.testing.assert_allclose(d, [0.15, 0.05, 0.1] * np.array(111.319), rtol=0.005)


@pytest.mark.parametrize("lon", [180.0, -180.0])
def test_site_on_antimeridian_inside_split_pa(lon: float) -> None:
    split = shapely.MultiPolygon([shapely.box(179.5, 10.0, 180.0, 11.0), shapely.box(-180.0, 10.0, -179.5, 11.0)])
    res = compute_protected_area_proximity(_sites([(lon, 10.5)]), _pas([split]))
    assert res["in_protected_area"].iloc[0]
    assert res["dist_protected_area_km"].iloc[0] == 0.0


def test_point_inside_is_zero_and_flagged() -> None:
    res = compute_protected_area_proximity(_sites([(10.04, 0.04)]), _pas([EQUATOR_SQUARE]))
    assert res["in_protected_area"].iloc[0]
    assert res["dist_protected_area_km"].iloc[0] == 0.0
    assert res["protected_areas_within_1km"].iloc[0] == 1


def test_polygon_site_overlapping_pa_is_zero() -> None:
    site = shapely.box(10.08, 0.08, 10.12, 0.12)  # straddles the square's north-east corner
    res = compute_protected_area_proximity(_sites([site]), _pas([EQUATOR_SQUARE]))
    assert res["in_protected_area"].iloc[0]
    assert res["dist_protected_area_km"].iloc[0] == 0.0


def test_polygon_site_distance_is_from_its_outline() -> None:
    # a 1 km-wide site whose west edge is 3 km east of the square
    west = GEOD.fwd(_east_lon, _mid_lat, 90.0, 3000.0)[0]
    east = GEOD.fwd(_east_lon, _mid_lat, 90.0, 4000.0)[0]
    site = shapely.box(west, _mid_lat - 0.005, east, _mid_lat + 0.005)
    res = compute_protected_area_proximity(_sites([site]), _pas([EQUATOR_SQUARE]))
    assert res["dist_protected_area_km"].iloc[0] == pytest.approx(3.0, abs=0.03)
    assert not res["in_protected_area"].iloc[0]


def test_nearest_picks_the_closest_of_several() -> None:
    far = _square_km(10.5, 0.0, 5.0)
    res = compute_protected_area_proximity(_sites([EAST_5KM]), _pas([far, EQUATOR_SQUARE], ["far", "near"]))
    assert res["nearest_protected_area_id"].iloc[0] == "near"
    assert res["nearest_protected_area"].iloc[0] == "Area near"
    assert res["nearest_protected_area_iucn"].iloc[0] == "II"
    assert res["nearest_protected_area_designation"].iloc[0] == "National Park"


@pytest.mark.parametrize(("lon0", "lat0"), [(20.0, 0.0), (-40.0, 75.0), (179.99, -16.0), (0.0, -85.0)])
def test_buffer_counts_at_exact_boundaries(lon0: float, lat0: float) -> None:
    # thin triangles pointing at the site: their nearest point is the apex, at a known geodesic distance
    dists = [0.999, 1.001, 4.999, 5.001, 9.999, 10.001, 24.999, 25.001]
    geoms = []
    for i, d in enumerate(dists):
        az = 45.0 * i
        apex = GEOD.fwd(lon0, lat0, az, d * 1000.0)[:2]
        left = GEOD.fwd(lon0, lat0, az - 0.5, (d + 1.0) * 1000.0)[:2]
        right = GEOD.fwd(lon0, lat0, az + 0.5, (d + 1.0) * 1000.0)[:2]
        ring = np.array([apex, left, right])
        ring[:, 0] = lon0 + (ring[:, 0] - lon0 + 180.0) % 360.0 - 180.0  # unwrap, then split at ±180°
        tri = shapely.Polygon(ring)
        parts = [
            shapely.affinity.translate(tri, s).intersection(shapely.box(-180, -90, 180, 90)) for s in (-360, 0, 360)
        ]
        geoms.append(shapely.union_all([p for p in parts if not p.is_empty]))
    res = compute_protected_area_proximity(_sites([(lon0, lat0)]), _pas(geoms), buffers_km=(1, 5, 10, 25))
    counts = {d: int(res[f"protected_areas_within_{d:g}km"].iloc[0]) for d in (1, 5, 10, 25)}
    assert counts == {1: 1, 5: 3, 10: 5, 25: 7}
    assert res["dist_protected_area_km"].iloc[0] == pytest.approx(0.999, abs=1e-6)
    assert res["nearest_protected_area_id"].iloc[0] == "pa0"


def test_counts_distinct_pa_ids() -> None:
    # two rows of the same PA (pa_id) count once
    pa = _pas([EQUATOR_SQUARE, _square_km(10.0, -0.2, 5.0)], ["same", "same"])
    res = compute_protected_area_proximity(_sites([EAST_5KM]), pa, buffers_km=(100,))
    assert res["protected_areas_within_100km"].iloc[0] == 1


def test_area_in_disc_matches_geodesic_intersection() -> None:
    lon, lat = EAST_5KM
    overlapping = _square_km(10.05, 0.02, 8.0)  # overlaps the first square: the union counts once
    pa = _pas([EQUATOR_SQUARE, overlapping])
    res = compute_protected_area_proximity(_sites([(lon, lat)]), pa, area_buffer_km=10.0)
    disc = geodesic_circle(lon, lat, 10.0, n_vertices=4096)
    inter = disc.intersection(shapely.union_all(pa.geometry.values))
    ref = abs(GEOD.geometry_area_perimeter(inter)[0]) / 1e6
    assert res["protected_area_km2_within_10km"].iloc[0] == pytest.approx(ref, rel=1e-3)


@pytest.mark.parametrize("lat", [0.0, 68.0])
def test_area_in_disc_of_many_overlapping_pas_matches_geos(lat: float) -> None:
    # 14 overlapping wobbly rings, one with a hole, two identical (coincident edges), densified so
    # the disc holds hundreds of boundary pieces (the crossing grid has many cells); the union
    # inside the geodesic disc must match GEOS on a 4096-gon disc
    rng = np.random.default_rng(3)
    lon0 = 20.0
    polys = []
    for _ in range(12):
        c_lon = lon0 + rng.uniform(-0.08, 0.08) / np.cos(np.radians(lat))
        c_lat = lat + rng.uniform(-0.08, 0.08)
        ring = geodesic_circle(c_lon, c_lat, float(rng.uniform(2.0, 9.0)), n_vertices=int(rng.integers(40, 160)))
        polys.append(shapely.segmentize(ring, 0.002))
    outer = geodesic_circle(lon0, lat, 7.0, n_vertices=300)
    hole = geodesic_circle(lon0 + 0.01, lat, 2.5, n_vertices=120)
    polys.append(shapely.Polygon(outer.exterior.coords, [hole.exterior.coords[::-1]]))
    polys.append(polys[0])  # an exact duplicate: its edges coincide and count once
    res = compute_protected_area_proximity(_sites([(lon0, lat)]), _pas(polys), area_buffer_km=10.0)
    disc = geodesic_circle(lon0, lat, 10.0, n_vertices=4096)
    inter = disc.intersection(shapely.union_all(polys))
    ref = abs(GEOD.geometry_area_perimeter(inter)[0]) / 1e6
    assert 0.0 < ref < np.pi * 100.0
    assert res["protected_area_km2_within_10km"].iloc[0] == pytest.approx(ref, rel=2e-3)


@pytest.mark.parametrize("lat", [0.0, 75.0, -89.0])
def test_area_of_disc_fully_inside_is_pi_r2(lat: float) -> None:
    big = shapely.segmentize(shapely.box(-10.0, lat - 0.9 if lat > -89 else -90.0, 10.0, min(lat + 0.9, 90.0)), 0.1)
    res = compute_protected_area_proximity(_sites([(0.0, lat)]), _pas([big]), area_buffer_km=5.0)
    # geodesic disc area on the ellipsoid differs from πr² by < 1e-6 at r = 5 km
    assert res["protected_area_km2_within_5km"].iloc[0] == pytest.approx(np.pi * 25.0, rel=1e-4)


def test_empty_pa_layer_gives_nan_and_zeros() -> None:
    res = compute_protected_area_proximity(_sites([(0.0, 0.0)]), _pas([]).iloc[:0])
    assert np.isnan(res["dist_protected_area_km"].iloc[0])
    assert not res["in_protected_area"].iloc[0]
    assert res["protected_areas_within_10km"].iloc[0] == 0
    assert pd.isna(res["nearest_protected_area"].iloc[0])


def test_output_index_columns_and_dtypes() -> None:
    sites = _sites([(0.0, 0.0), (10.04, 0.04)])
    res = compute_protected_area_proximity(sites, _pas([EQUATOR_SQUARE]), buffers_km=(2.5, 10))
    assert list(res.index) == list(sites.index)
    assert list(res.columns) == [
        "in_protected_area",
        "dist_protected_area_km",
        "nearest_protected_area",
        "nearest_protected_area_id",
        "nearest_protected_area_iucn",
        "nearest_protected_area_designation",
        "protected_areas_within_2.5km",
        "protected_areas_within_10km",
        "protected_area_km2_within_10km",
    ]
    assert res["in_protected_area"].dtype == bool
    assert res["protected_areas_within_10km"].dtype == np.int64
    assert res["dist_protected_area_km"].dtype == np.float64


def test_missing_site_geometry_gives_nan() -> None:
    sites = gpd.GeoSeries([None, shapely.Point(EAST_5KM)], crs="EPSG:4326")
    res = compute_protected_area_proximity(sites, _pas([EQUATOR_SQUARE]))
    assert np.isnan(res["dist_protected_area_km"].iloc[0])
    assert res["dist_protected_area_km"].iloc[1] == pytest.approx(5.0, abs=0.05)


def test_layer_proximity_polygons_lines_points() -> None:
    sites = _sites([(10.04, 0.04), EAST_5KM])
    poly = compute_layer_proximity(sites, gpd.GeoSeries([EQUATOR_SQUARE], crs="EPSG:4326"), "rainforest")
    assert poly["in_rainforest"].tolist() == [True, False]
    assert poly["dist_rainforest_km"].iloc[0] == 0.0
    assert poly["dist_rainforest_km"].iloc[1] == pytest.approx(5.0, abs=0.05)
    # a reef line along the meridian 11°E and a point reef: lines/points are never "inside"
    line = shapely.LineString([(11.0, -1.0), (11.0, 1.0)])
    reef = gpd.GeoDataFrame(geometry=[line, shapely.Point(10.04, 0.5)], crs="EPSG:4326")
    res = compute_layer_proximity(sites, reef, "reef")
    assert res["in_reef"].tolist() == [False, False]
    for i, (lon, lat) in enumerate([(10.04, 0.04), EAST_5KM]):
        ref = min(_ref(lon, lat, line), _ref(lon, lat, shapely.Point(10.04, 0.5)))
        assert abs(res["dist_reef_km"].iloc[i] - ref) <= _tol_km(ref)
    # a site on the line is at 0 km
    on = compute_layer_proximity(_sites([(11.0, 0.3)]), reef, "reef")
    assert on["dist_reef_km"].iloc[0] == pytest.approx(0.0, abs=1e-6)


def test_layer_proximity_polygonal_inside_false_measures_to_boundary() -> None:
    res = compute_layer_proximity(
        _sites([(10.04, 0.045)]), gpd.GeoSeries([EQUATOR_SQUARE], crs="EPSG:4326"), "water", polygonal_inside=False
    )
    assert res["in_water"].iloc[0]
    ref = geodesic_point_to_geometry_km(10.04, 0.045, EQUATOR_SQUARE.boundary, spacing_km=0.02)
    assert abs(res["dist_water_km"].iloc[0] - ref) <= _tol_km(ref)


def test_nearest_features_sorted_within_max() -> None:
    pa = _pas([_square_km(10.5, 0.0, 5.0), EQUATOR_SQUARE, _square_km(30.0, 0.0, 5.0)], ["mid", "near", "far"])
    res = nearest_features(EAST_5KM[0], EAST_5KM[1], pa, k=5, max_km=100.0)
    assert res["pa_id"].tolist() == ["near", "mid"]
    assert res["dist_km"].is_monotonic_increasing
    assert "geometry" not in res.columns
    one = nearest_features(EAST_5KM[0], EAST_5KM[1], pa, k=1, max_km=100.0)
    assert one["pa_id"].tolist() == ["near"]


def test_core_functions_on_shapely_arrays() -> None:
    sites = np.array([shapely.Point(EAST_5KM), shapely.Point(10.04, 0.04)], dtype=object)
    targets = np.array([_square_km(30.0, 0.0, 5.0), EQUATOR_SQUARE], dtype=object)
    dist, idx = nearest_distance_km(sites, targets)
    assert idx.tolist() == [1, 1]
    assert dist[0] == pytest.approx(5.0, abs=0.05)
    assert dist[1] == 0.0
    assert count_within_km(sites, targets, 4.0).tolist() == [0, 1]
    assert count_within_km(sites, targets, 6.0).tolist() == [1, 1]


def test_far_site_without_pa_within_buffers_still_gets_nearest() -> None:
    res = compute_protected_area_proximity(_sites([(-150.0, -45.0)]), _pas([EQUATOR_SQUARE]))
    ref = _ref(-150.0, -45.0, EQUATOR_SQUARE)
    assert abs(res["dist_protected_area_km"].iloc[0] - ref) <= _tol_km(ref)
    assert res["protected_areas_within_25km"].iloc[0] == 0


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: compute_protected_area_proximity([shapely.Point(0, 0)], _pas([EQUATOR_SQUARE])), "GeoSeries"),
        (
            lambda: compute_protected_area_proximity(_sites([(0, 0)]).to_crs(3857), _pas([EQUATOR_SQUARE])),
            "EPSG:4326",
        ),
        (
            lambda: compute_protected_area_proximity(_sites([(0, 0)]), _pas([EQUATOR_SQUARE]).drop(columns="iucn_cat")),
            "iucn_cat",
        ),
        (
            lambda: compute_protected_area_proximity(_sites([(0, 0)]), _pas([EQUATOR_SQUARE]), buffers_km=(0, 5)),
            "positive",
        ),
        (lambda: compute_layer_proximity(_sites([(0, 0)]), _pas([EQUATOR_SQUARE]), "bad name"), "column stem"),
        (lambda: nearest_features(200.0, 0.0, _pas([EQUATOR_SQUARE])), "longitude"),
        (lambda: nearest_features(0.0, 0.0, _pas([EQUATOR_SQUARE]), k=0), "k >= 1"),
    ],
)
def test_bad_inputs_raise(call, match: str) -> None:
    with pytest.raises(ProximityInputError, match=match):
        call()


def test_polygon_sites_far_from_every_line_target_match_the_reference():
    """Far polygon sites take the point-proxy path (nearest within D_p + r of a point on the site)."""
    from geo.crs import _densified_coords
    from geo.proximity import compute_layer_proximity

    sites = gpd.GeoSeries(
        [
            shapely.Point(-60.0, -5.0).buffer(0.02),
            shapely.Polygon([(-55.0, -8.0), (-54.9, -8.0), (-54.9, -7.95), (-55.0, -7.9)]),
            shapely.Point(-70.0, 2.0).buffer(0.05),
        ],
        crs="EPSG:4326",
    )
    lines = gpd.GeoDataFrame(
        {"name": ["a", "b", "c"]},
        geometry=[
            shapely.LineString([(-40.0, -20.0), (-39.0, -21.0), (-38.5, -23.0)]),
            shapely.LineString([(-80.0, 10.0), (-79.0, 12.0)]),
            shapely.LineString([(-35.0, -5.0), (-34.8, -6.0)]),
        ],
        crs="EPSG:4326",
    )
    got = compute_layer_proximity(sites, lines, "reef")["dist_reef_km"].to_numpy()
    for i, site in enumerate(sites):
        s = _densified_coords(site.boundary, 0.2)
        best = np.inf
        for line in lines.geometry:
            t = _densified_coords(line, 0.2)
            _, _, d = GEOD.inv(
                np.repeat(s[:, 0], len(t)),
                np.repeat(s[:, 1], len(t)),
                np.tile(t[:, 0], len(s)),
                np.tile(t[:, 1], len(s)),
            )
            best = min(best, float(np.min(d)) / 1000.0)
        assert got[i] > 500
        assert abs(got[i] - best) <= max(0.05, 0.005 * best), (i, got[i], best)


def test_sites_inside_a_huge_polygon_are_at_zero_without_walking_its_outline():
    from geo.proximity import compute_layer_proximity

    ring = [(-75.0 + 20.0 * np.cos(a), -5.0 + 12.0 * np.sin(a)) for a in np.linspace(0, 2 * np.pi, 50_000)]
    basin = gpd.GeoDataFrame({"name": ["basin"]}, geometry=[shapely.Polygon(ring)], crs="EPSG:4326")
    sites = gpd.GeoSeries([shapely.Point(-75.0 + 0.01 * i, -5.0).buffer(0.005) for i in range(200)], crs="EPSG:4326")
    out = compute_layer_proximity(sites, basin, "rainforest")
    assert out["in_rainforest"].all()
    assert (out["dist_rainforest_km"] == 0.0).all()


def test_area_column_can_be_left_out_and_nothing_else_changes() -> None:
    sites = _sites([EAST_5KM, (10.04, 0.04), (30.0, 30.0)])
    pa = _pas([EQUATOR_SQUARE, _square_km(10.05, 0.02, 8.0)])
    full = compute_protected_area_proximity(sites, pa, area_buffer_km=10.0)
    lean = compute_protected_area_proximity(sites, pa, area_buffer_km=None)
    assert "protected_area_km2_within_10km" in full.columns
    assert not any(c.startswith("protected_area_km2_within_") for c in lean.columns)
    pd.testing.assert_frame_equal(lean, full.drop(columns="protected_area_km2_within_10km"))
    empty = compute_protected_area_proximity(sites, pa.iloc[:0], area_buffer_km=None)
    assert list(empty.columns) == list(lean.columns)


def test_disc_inside_one_of_several_overlapping_pas_is_the_whole_disc() -> None:
    # the union kernel's shortcut: the centre is inside a PA whose boundary stays outside the disc
    big = shapely.segmentize(shapely.box(9.0, -1.0, 11.0, 1.0), 0.05)
    small = _square_km(10.0, 0.0, 6.0)  # overlaps the disc, inside the big one
    res = compute_protected_area_proximity(_sites([(10.0, 0.0)]), _pas([small, big]), area_buffer_km=5.0)
    assert res["protected_areas_within_1km"].iloc[0] == 2
    assert res["protected_area_km2_within_5km"].iloc[0] == pytest.approx(np.pi * 25.0, rel=1e-4)


def test_area_in_disc_across_the_antimeridian_with_overlapping_split_pas() -> None:
    # two PAs split at ±180° into parts (as WDPA stores them), overlapping where their parts meet;
    # their seam edges along the meridian are not boundary: the union must not count or lose
    # anything there. Reference: the same circles, unsplit, in an equal-area projection at the site.
    import pyproj

    centres = [(179.99, -17.5, 6.0), (-179.995, -17.49, 8.0)]
    pas = [geodesic_circle(lon, lat, r, n_vertices=720) for lon, lat, r in centres]
    assert all(p.geom_type == "MultiPolygon" for p in pas)
    site = (179.999, -17.5)
    res = compute_protected_area_proximity(_sites([site]), _pas(pas), area_buffer_km=10.0)

    laea = pyproj.Transformer.from_crs(
        "EPSG:4326", f"+proj=laea +lat_0={site[1]} +lon_0={site[0]} +ellps=WGS84 +units=m", always_xy=True
    )

    def projected_circle(lon: float, lat: float, r_km: float, n: int) -> shapely.Polygon:
        az = np.linspace(0.0, 360.0, n, endpoint=False)
        lons, lats, _ = GEOD.fwd(np.full(n, lon), np.full(n, lat), az, np.full(n, r_km * 1000.0))
        return shapely.Polygon(np.column_stack(laea.transform(lons, lats)))

    union = shapely.union_all([projected_circle(lon, lat, r, 720) for lon, lat, r in centres])
    ref = projected_circle(*site, 10.0, 4096).intersection(union).area / 1e6
    assert res["protected_areas_within_1km"].iloc[0] == 2
    assert res["protected_area_km2_within_10km"].iloc[0] == pytest.approx(ref, rel=2e-3)


class _CountingTree:
    """A real STRtree that counts the geometries its nearest queries are asked about."""

    def __init__(self, tree: shapely.STRtree) -> None:
        self.tree, self.asked = tree, 0

    def query_nearest(self, geoms, *args, **kwargs):
        self.asked += len(geoms)
        return self.tree.query_nearest(geoms, *args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self.tree, name)


def test_the_nearest_search_asks_for_copies_across_the_antimeridian_only_near_it() -> None:
    """Every site far from all targets was also searched as two copies 360° away, the tree's longest searches
    (54k sites outside every country: 14.9 s of a first 1M-site run); near ±180° the copies still find the
    nearest target across it."""
    from dataclasses import replace

    from geo.nearest import nearest_distance_km
    from geo.targets import prepare_targets
    from tests.geo.references import ref_distance_km

    across = shapely.segmentize(shapely.box(-179.9, -1.0, -179.5, 1.0), 0.05)
    far = shapely.box(10.0, 40.0, 11.0, 41.0)
    tg = prepare_targets([across, far])
    counting = _CountingTree(tg.tree)
    tg = replace(tg, tree=counting)
    points = [(179.3, 0.0), (60.0, 45.0), (-20.0, 30.0)]  # all farther than the first 10 km from any target
    dist, idx = nearest_distance_km(np.array([shapely.Point(p) for p in points]), tg)
    assert counting.asked == 3 + 1  # each site once, the one beside ±180° once more (its copy 360° west)
    assert idx.tolist() == [0, 1, 1]
    for (lon, lat), d, i in zip(points, dist, idx, strict=True):
        ref = ref_distance_km(lon, lat, [across, far][i])
        assert abs(d - ref) <= _tol_km(ref), (d, ref)
