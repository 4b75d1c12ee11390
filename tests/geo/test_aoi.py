"""geo.aoi: screening an area of interest, against hand-built geometries and independent references."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.aoi import (
    UNION_ID,
    AoiInputError,
    compute_aoi_ecosystems,
    compute_aoi_protected_areas,
    compute_aoi_sites,
    prepare_aoi,
    screen_aoi,
)
from tests.geo.references import GEOD, laea_area_km2, ref_distance_km


def _aoi(*geoms, ids=None, names=None) -> gpd.GeoDataFrame:
    data = {}
    if ids is not None:
        data["aoi_id"] = ids
    if names is not None:
        data["name"] = names
    return gpd.GeoDataFrame(data, geometry=list(geoms), crs="EPSG:4326")


def _sites(lon, lat, index=None) -> gpd.GeoSeries:
    return gpd.GeoSeries(shapely.points(np.asarray(lon), np.asarray(lat)), crs="EPSG:4326", index=index)


def _pa(*rows) -> gpd.GeoDataFrame:
    """rows: (pa_id, name, geometry)."""
    return gpd.GeoDataFrame(
        {
            "pa_id": [r[0] for r in rows],
            "name": [r[1] for r in rows],
            "designation": ["National Park"] * len(rows),
            "iucn_cat": ["II"] * len(rows),
        },
        geometry=[r[2] for r in rows],
        crs="EPSG:4326",
    )


def _tolerance_km(d: np.ndarray) -> np.ndarray:
    return np.maximum(0.05, 0.005 * d)


def _scatter(lon0: float, lat0: float, n: int, spread_deg: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return lon0 + rng.uniform(-spread_deg, spread_deg, n), lat0 + rng.uniform(-spread_deg, spread_deg, n) * 0.7


# ----------------------------------------------------------------------------- sites
@pytest.mark.parametrize("lat0", [-5.0, 45.0, 70.0])
def test_polygon_aoi_keeps_sites_inside_or_within_the_buffer_with_geodesic_distances(lat0):
    poly = shapely.Polygon([(-1.0, lat0 - 0.5), (0.6, lat0 - 0.7), (0.9, lat0 + 0.4), (-0.2, lat0 + 0.6)])
    aoi = prepare_aoi(_aoi(poly), buffer_km=10.0)
    lon, lat = _scatter(0.0, lat0, 600, 1.6, seed=int(lat0) + 100)
    out = compute_aoi_sites(_sites(lon, lat), aoi)
    ref = np.array([ref_distance_km(x, y, poly) for x, y in zip(lon, lat, strict=True)])
    expected = np.flatnonzero(ref <= 10.0)
    # every site clearly within (or beyond) the buffer is (or is not) kept; the few within the
    # accuracy bound of 10 km may go either way
    clear = np.abs(ref - 10.0) > _tolerance_km(ref)
    kept = np.zeros(len(lon), dtype=bool)
    kept[out.index.to_numpy()] = True
    assert np.array_equal(kept[clear], (ref <= 10.0)[clear])
    assert len(expected) > 50
    got = out["dist_aoi_km"].to_numpy()
    r = ref[out.index.to_numpy()]
    assert np.all(np.abs(got - r) <= _tolerance_km(r))
    assert np.array_equal(out["in_aoi"].to_numpy(), r == 0.0)
    assert (out["aoi_id"] == "aoi-1").all() and (out["aoi_ids"] == "aoi-1").all()


def test_line_aoi_is_its_corridor_and_distance_is_to_the_road():
    road = shapely.LineString([(-60.0, -5.0), (-59.4, -4.6), (-58.7, -4.9)])
    aoi = prepare_aoi(_aoi(road, ids=["road"], names=["BR-163"]), buffer_km=5.0)
    lon, lat = _scatter(-59.35, -4.8, 800, 0.7, seed=7)
    out = compute_aoi_sites(_sites(lon, lat), aoi)
    ref = np.array([ref_distance_km(x, y, road) for x, y in zip(lon, lat, strict=True)])
    r = ref[out.index.to_numpy()]
    assert len(out) > 30
    assert np.all(np.abs(out["dist_aoi_km"].to_numpy() - r) <= _tolerance_km(r))
    assert out["in_aoi"].all()  # a line's AOI is its corridor
    assert set(np.flatnonzero(ref <= 5.0 - 0.05)) <= set(out.index)
    assert not set(np.flatnonzero(ref > 5.0 + 0.05)) & set(out.index)
    assert (out["aoi_name"] == "BR-163").all()


def test_point_aoi_distances_are_exact_geodesics():
    camp = shapely.Point(25.0, -3.0)
    az = np.linspace(0.0, 350.0, 36)
    d_km = np.linspace(0.5, 14.0, 36)
    lon, lat, _ = GEOD.fwd(np.full(36, 25.0), np.full(36, -3.0), az, d_km * 1000.0)
    out = compute_aoi_sites(_sites(lon, lat), prepare_aoi(_aoi(camp), buffer_km=10.0))
    assert list(out.index) == list(np.flatnonzero(d_km <= 10.0))
    assert np.allclose(out["dist_aoi_km"], d_km[d_km <= 10.0], atol=1e-3)


def test_several_features_nearest_and_members_and_the_union():
    a = shapely.box(10.0, 0.0, 10.5, 0.5)
    b = shapely.box(10.6, 0.0, 11.0, 0.5)  # ~11 km east of a
    frame = _aoi(a, b, ids=["A", "B"], names=["Block A", "Block B"])
    lon = np.array([10.25, 10.55, 10.52, 12.0])
    lat = np.array([0.25, 0.25, 0.25, 0.25])
    sites = _sites(lon, lat, index=pd.Index(["s1", "s2", "s3", "far"], name="site_id"))
    for union in (False, True):
        out = compute_aoi_sites(sites, prepare_aoi(frame, buffer_km=10.0, union=union))
        assert list(out.index) == ["s1", "s2", "s3"]
        assert out.loc["s1", "aoi_ids"] == "A" and out.loc["s1", "in_aoi"]  # inside A, 39 km from B
        assert out.loc["s2", "aoi_ids"] == "A;B"  # 5.6 km from both
        assert out.loc["s3", "aoi_id"] == "A" and out.loc["s3", "aoi_ids"] == "A;B"  # 2.2 km from A, 8.9 km from B
        assert out.loc["s3", "dist_aoi_km"] == pytest.approx(ref_distance_km(10.52, 0.25, a), abs=0.05)
        assert not out.loc["s2", "in_aoi"] and not out.loc["s3", "in_aoi"]


def test_polygon_site_crossing_a_road_is_at_zero():
    road = shapely.LineString([(0.0, 0.0), (1.0, 0.0)])
    site = gpd.GeoSeries([shapely.box(0.4, -0.01, 0.41, 0.01), shapely.box(0.4, 0.05, 0.41, 0.06)], crs="EPSG:4326")
    out = compute_aoi_sites(site, prepare_aoi(_aoi(road), buffer_km=10.0))
    assert out.loc[0, "dist_aoi_km"] == 0.0
    assert out.loc[1, "dist_aoi_km"] == pytest.approx(ref_distance_km(0.405, 0.05, road), abs=0.03)


def test_aoi_split_at_the_antimeridian_finds_sites_on_both_sides():
    west = shapely.box(179.0, -17.0, 180.0, -16.0)
    east = shapely.box(-180.0, -17.0, -179.5, -16.0)
    aoi = prepare_aoi(_aoi(shapely.MultiPolygon([west, east])), buffer_km=15.0)
    lon = np.array([179.5, -179.9, -179.4, 178.95, -179.0])
    lat = np.array([-16.5, -16.5, -16.5, -16.5, -16.5])
    out = compute_aoi_sites(_sites(lon, lat), aoi)
    assert list(out.index) == [0, 1, 2, 3]
    assert out.loc[0, "dist_aoi_km"] == 0.0 and out.loc[1, "dist_aoi_km"] == 0.0
    assert out.loc[2, "dist_aoi_km"] == pytest.approx(ref_distance_km(-179.4, -16.5, east), abs=0.05)
    assert out.loc[3, "dist_aoi_km"] == pytest.approx(ref_distance_km(178.95, -16.5, west), abs=0.05)


def test_no_site_near_gives_an_empty_typed_frame():
    out = compute_aoi_sites(_sites([50.0], [10.0]), prepare_aoi(_aoi(shapely.box(0, 0, 1, 1)), buffer_km=5.0))
    assert len(out) == 0
    assert list(out.columns) == ["in_aoi", "dist_aoi_km", "aoi_id", "aoi_name", "aoi_ids"]
    assert out["dist_aoi_km"].dtype == "float64"


# ----------------------------------------------------------------------------- protected areas
def _outline_distance_km(a: shapely.Geometry, b: shapely.Geometry) -> float:
    """Reference distance between two disjoint polygons: all pairs of their densified outlines."""
    ca = shapely.get_coordinates(shapely.segmentize(a.boundary, 0.002))
    cb = shapely.get_coordinates(shapely.segmentize(b.boundary, 0.002))
    i, j = np.meshgrid(np.arange(len(ca)), np.arange(len(cb)), indexing="ij")
    _, _, d = GEOD.inv(ca[i.ravel(), 0], ca[i.ravel(), 1], cb[j.ravel(), 0], cb[j.ravel(), 1])
    return float(np.min(d)) / 1000.0


def test_protected_areas_overlap_share_and_distance():
    concession = shapely.box(-55.0, -6.0, -54.5, -5.5)
    overlapping = shapely.box(-54.7, -5.8, -54.2, -5.2)
    near = shapely.box(-54.45, -6.15, -54.3, -6.05)  # south-east, ~8 km away
    far = shapely.box(-50.0, -6.0, -49.5, -5.5)
    parcel_a = shapely.box(-55.2, -5.9, -55.1, -5.7)  # one PA in two parcels, one of them overlapping
    parcel_b = shapely.box(-55.05, -5.9, -54.95, -5.8)
    pas = _pa(
        ("1", "Overlap NP", overlapping),
        ("2", "Near NP", near),
        ("3", "Far NP", far),
        ("4", "Two parcels", parcel_a),
        ("4", "Two parcels", parcel_b),
    )
    aoi = prepare_aoi(_aoi(concession, ids=["c"]), buffer_km=10.0)
    out = compute_aoi_protected_areas(aoi, pas).set_index("pa_id")
    assert set(out.index) == {"1", "2", "4"}
    ov = out.loc["1"]
    assert ov["dist_km"] == 0.0
    ref_overlap = laea_area_km2(concession.intersection(overlapping))
    assert ov["overlap_km2"] == pytest.approx(ref_overlap, rel=0.01)
    assert ov["area_km2"] == pytest.approx(laea_area_km2(overlapping), rel=0.01)
    assert ov["overlap_pct"] == pytest.approx(100 * ref_overlap / laea_area_km2(overlapping), rel=0.01)
    zone_ref = laea_area_km2(shapely.intersection(aoi.zone_geoms[0], overlapping))
    assert ov["overlap_with_buffer_km2"] == pytest.approx(zone_ref, rel=0.01)
    nr = out.loc["2"]
    assert nr["overlap_km2"] == 0.0 and nr["overlap_with_buffer_km2"] > 0
    assert nr["dist_km"] == pytest.approx(_outline_distance_km(concession, near), abs=0.05)
    two = out.loc["4"]
    both = shapely.union_all([parcel_a, parcel_b])
    assert two["area_km2"] == pytest.approx(laea_area_km2(both), rel=0.01)
    assert two["overlap_km2"] == pytest.approx(laea_area_km2(concession.intersection(both)), rel=0.01)
    assert list(out.columns[:4]) == ["aoi_id", "aoi_name", "name", "designation"]


def test_union_counts_overlapping_features_once():
    a = shapely.box(0.0, 0.0, 1.0, 1.0)
    b = shapely.box(0.5, 0.0, 1.5, 1.0)
    pa = shapely.box(0.25, 0.25, 1.25, 0.75)
    pas = _pa(("p", "Park", pa))
    each = compute_aoi_protected_areas(prepare_aoi(_aoi(a, b, ids=["a", "b"]), buffer_km=1.0), pas)
    union = compute_aoi_protected_areas(prepare_aoi(_aoi(a, b, ids=["a", "b"]), buffer_km=1.0, union=True), pas)
    assert list(each["aoi_id"]) == ["a", "b"]
    assert len(union) == 1 and union["aoi_id"].iat[0] == UNION_ID
    assert union["overlap_km2"].iat[0] == pytest.approx(laea_area_km2(pa), rel=0.01)
    assert each["overlap_km2"].sum() > union["overlap_km2"].iat[0] * 1.3


def test_line_aoi_overlap_is_the_corridor_in_the_protected_area():
    road = shapely.LineString([(20.0, 1.0), (21.0, 1.0)])
    pa = shapely.box(20.5, 0.5, 21.5, 1.5)
    aoi = prepare_aoi(_aoi(road), buffer_km=5.0)
    out = compute_aoi_protected_areas(aoi, _pa(("p", "Park", pa)))
    ref = laea_area_km2(shapely.intersection(aoi.area_geoms[0], pa))
    assert out["overlap_km2"].iat[0] == pytest.approx(ref, rel=0.01)
    # half the road (55.7 km) times 10 km of corridor, and the round end (half a 5 km disc)
    assert out["overlap_km2"].iat[0] == pytest.approx(55.66 * 10.0 + np.pi * 25 / 2, rel=0.01)


# ----------------------------------------------------------------------------- ecosystems
def test_ecosystems_polygons_hold_a_point_aoi_and_lines_have_no_area():
    forest = gpd.GeoDataFrame({"name": ["Forest"]}, geometry=[shapely.box(0.0, 0.0, 2.0, 2.0)], crs="EPSG:4326")
    reefs = gpd.GeoDataFrame(
        {"name": ["Reef 1", "Reef 2"]},
        geometry=[shapely.LineString([(1.05, 0.9), (1.05, 1.1)]), shapely.LineString([(5, 5), (6, 6)])],
        crs="EPSG:4326",
    )
    aoi = prepare_aoi(_aoi(shapely.Point(1.0, 1.0)), buffer_km=10.0)
    out = compute_aoi_ecosystems(aoi, {"rainforest": forest, "reefs": reefs})
    assert list(out["ecosystem"]) == ["rainforest", "reefs"]
    f = out.iloc[0]
    assert f["dist_km"] == 0.0 and f["overlap_km2"] == pytest.approx(np.pi * 100, rel=0.002)
    r = out.iloc[1]
    assert r["name"] == "Reef 1" and r["overlap_km2"] == 0.0 and np.isnan(r["overlap_pct"])
    assert r["dist_km"] == pytest.approx(ref_distance_km(1.0, 1.0, reefs.geometry.iat[0]), abs=0.05)
    empty = compute_aoi_ecosystems(aoi, {})
    assert len(empty) == 0 and "ecosystem" in empty.columns


# ----------------------------------------------------------------------------- the whole screen
def test_screen_summarises_each_unit_and_select_appends_the_columns():
    a = shapely.box(0.0, 0.0, 0.5, 0.5)
    camp = shapely.Point(2.0, 0.25)
    pa1 = shapely.box(0.2, 0.2, 0.7, 0.7)
    pa2 = shapely.box(0.1, 0.1, 0.4, 0.3)  # overlaps pa1: the protected area of A counts it once
    pas = _pa(("1", "One", pa1), ("2", "Two", pa2))
    sites = gpd.GeoDataFrame(
        {"risk": [10, 20, 30, 40]},
        geometry=shapely.points([0.25, 0.52, 2.01, 5.0], [0.25, 0.25, 0.25, 5.0]),
        crs="EPSG:4326",
    )
    screen = screen_aoi(
        sites.geometry, prepare_aoi(_aoi(a, camp, ids=["A", "camp"]), buffer_km=5.0), protected_areas=pas
    )
    units = screen.units.set_index("aoi_id")
    assert units.loc["A", "n_sites"] == 2 and units.loc["A", "n_sites_in_aoi"] == 1
    assert units.loc["camp", "n_sites"] == 1 and units.loc["camp", "n_sites_in_aoi"] == 1
    cover = laea_area_km2(shapely.union_all([pa1, pa2]).intersection(a))
    assert units.loc["A", "protected_km2"] == pytest.approx(cover, rel=0.01)
    assert units.loc["A", "protected_pct"] == pytest.approx(100 * cover / laea_area_km2(a), rel=0.01)
    assert units.loc["A", "n_protected_areas"] == 2 and units.loc["camp", "n_protected_areas"] == 0
    picked = screen.select(sites)
    assert list(picked.index) == [0, 1, 2]
    assert list(picked.columns) == ["risk", "geometry", "in_aoi", "dist_aoi_km", "aoi_id", "aoi_name", "aoi_ids"]
    with pytest.raises(AoiInputError, match="not in the frame"):
        screen.select(sites.iloc[:1])
    assert len(screen.protected_areas) == 2 and len(screen.ecosystems) == 0


def test_screen_without_protected_areas_gives_empty_tables():
    screen = screen_aoi(_sites([0.1], [0.1]), prepare_aoi(_aoi(shapely.box(0, 0, 1, 1)), buffer_km=0.0))
    assert len(screen.sites) == 1 and screen.sites["in_aoi"].all()
    assert len(screen.protected_areas) == 0 and "overlap_km2" in screen.protected_areas.columns
    assert screen.units["protected_km2"].iat[0] == 0.0


# ----------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize(
    ("frame", "kwargs", "match"),
    [
        (_aoi(shapely.box(0, 0, 1, 1)).to_crs("EPSG:3857"), {}, "not EPSG:4326"),
        (_aoi(None), {}, "no feature with a geometry"),
        (_aoi(shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3), ids=["x", "x"]), {}, "used by several features"),
        (_aoi(shapely.LineString([(0, 0), (1, 1)])), {"buffer_km": 0.0}, "buffer is 0 km"),
        (_aoi(shapely.box(0, 0, 1, 1)), {"buffer_km": -3}, "not a distance"),
        (_aoi(shapely.box(0, 0, 1, 1)), {"buffer_km": "ten"}, "not a distance"),
        (_aoi(shapely.GeometryCollection([shapely.box(0, 0, 1, 1), shapely.Point(3, 3)])), {"buffer_km": 1}, "mixes"),
        (_aoi(shapely.Point(0.0, 89.6)), {"buffer_km": 10}, "North Pole"),
        (_aoi(shapely.LineString([(179.0, 0.0), (-179.0, 0.0)])), {"buffer_km": 10}, "antimeridian"),
    ],
)
def test_bad_aoi_inputs_raise_with_a_fix(frame, kwargs, match):
    with pytest.raises(AoiInputError, match=match):
        prepare_aoi(frame, **kwargs)


def test_sites_in_another_crs_are_refused():
    aoi = prepare_aoi(_aoi(shapely.box(0, 0, 1, 1)), buffer_km=1.0)
    with pytest.raises(AoiInputError, match="not EPSG:4326"):
        compute_aoi_sites(_sites([0.5], [0.5]).to_crs("EPSG:3857"), aoi)
    with pytest.raises(AoiInputError, match="GeoSeries or GeoDataFrame"):
        compute_aoi_sites([shapely.Point(0, 0)], aoi)


def test_invalid_polygon_is_repaired_and_ids_are_generated():
    bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    aoi = prepare_aoi(_aoi(bowtie, shapely.box(5, 5, 6, 6)), buffer_km=0.0)
    assert list(aoi.features["aoi_id"]) == ["aoi-1", "aoi-2"]
    assert aoi.features["area_km2"].iat[0] == pytest.approx(laea_area_km2(shapely.make_valid(bowtie)), rel=0.01)


# ----------------------------------------------------------------------------- real data
def test_a_protected_area_as_the_aoi_on_amazon_mining_watch_data(shared_data):
    from tests.loaders import load_protected_areas

    amw = shared_data / "amazon_mining_watch"
    pas = load_protected_areas(amw / "protected_areas_impacts.geojson").data
    own = pas[pas["pa_id"] == "BR1018_0"]  # Floresta Nacional do Amaná
    mines = gpd.read_file(amw / "mining_202400_simplified.geojson")
    sites = gpd.GeoSeries(mines.geometry.representative_point(), crs="EPSG:4326")
    aoi_frame = gpd.GeoDataFrame(
        {"aoi_id": ["amana"], "name": own["name"].to_numpy()}, geometry=own.geometry.to_numpy(), crs="EPSG:4326"
    )
    screen = screen_aoi(sites, prepare_aoi(aoi_frame, buffer_km=10.0), protected_areas=pas)
    mine = screen.protected_areas.set_index("pa_id").loc["BR1018_0"]
    assert mine["dist_km"] == 0.0 and mine["overlap_pct"] == pytest.approx(100.0, abs=0.01)
    inside = own.geometry.iat[0].covers(sites.to_numpy())
    assert screen.units["n_sites_in_aoi"].iat[0] == int(inside.sum()) > 10
    outside = screen.sites[~screen.sites["in_aoi"]].iloc[:25]
    poly = own.geometry.iat[0]
    ref = np.array([ref_distance_km(p.x, p.y, poly) for p in sites.loc[outside.index]])
    assert np.all(np.abs(outside["dist_aoi_km"].to_numpy() - ref) <= _tolerance_km(ref))


def test_a_far_parcel_of_a_protected_area_near_the_aoi_counts_in_its_area():
    near = shapely.box(0.9, 0.0, 1.2, 0.3)
    far = shapely.box(30.0, 0.0, 30.3, 0.3)  # same pa_id and name, 3,000 km away
    pas = _pa(("7", "Split park", near), ("7", "Split park", far), ("8", "Elsewhere", far))
    out = compute_aoi_protected_areas(prepare_aoi(_aoi(shapely.box(0.0, 0.0, 1.0, 1.0)), buffer_km=5.0), pas)
    assert list(out["pa_id"]) == ["7"]
    assert out["area_km2"].iat[0] == pytest.approx(laea_area_km2(near) + laea_area_km2(far), rel=0.01)
    assert out["overlap_km2"].iat[0] == pytest.approx(laea_area_km2(shapely.box(0.9, 0.0, 1.0, 0.3)), rel=0.01)


def test_same_answer_with_and_without_the_frames_spatial_index():
    pas = _pa(("1", "A", shapely.box(0.9, 0.0, 1.2, 0.3)), ("2", "B", shapely.box(3.0, 3.0, 3.1, 3.1)))
    sites = _sites([0.5, 1.05, 1.5, 3.0], [0.5, 0.1, 0.5, 3.0])
    aoi = prepare_aoi(_aoi(shapely.box(0.0, 0.0, 1.0, 1.0), shapely.Point(3.05, 2.9)), buffer_km=15.0)
    cold = screen_aoi(sites, aoi, protected_areas=pas)
    assert not pas.has_sindex and not sites.has_sindex
    _ = pas.sindex, sites.sindex
    warm = screen_aoi(sites, aoi, protected_areas=pas)
    pd.testing.assert_frame_equal(cold.sites, warm.sites)
    pd.testing.assert_frame_equal(cold.protected_areas, warm.protected_areas)
    assert list(cold.sites.index) == [0, 1, 3]


@pytest.mark.parametrize("d", [0.5, 10.0, 150.0, 480.0])
def test_sites_just_inside_a_buffer_of_any_size_are_kept(d):
    # the search zone that pre-filters candidates must never drop a site within the buffer
    az = np.arange(0.0, 360.0, 15.0)
    inner = d * (1 - 1e-4) - 0.0005
    lon, lat, _ = GEOD.fwd(np.full(len(az), -60.0), np.full(len(az), -10.0), az, np.full(len(az), inner * 1000.0))
    out = compute_aoi_sites(_sites(lon, lat), prepare_aoi(_aoi(shapely.Point(-60.0, -10.0)), buffer_km=d))
    assert len(out) == len(az)
    assert np.allclose(out["dist_aoi_km"], inner, atol=max(0.05, 0.005 * d) * 0.01)


def test_the_refused_feature_is_named_among_several():
    aoi = _aoi(shapely.box(0, 0, 1, 1), shapely.Point(5.0, 89.7), shapely.box(2, 2, 3, 3), ids=["a", "polar", "c"])
    with pytest.raises(AoiInputError, match=r"AOI feature 'polar': a 10 km zone .* North Pole"):
        prepare_aoi(aoi, buffer_km=10)
