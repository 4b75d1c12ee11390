"""The nearest protected area of each IUCN category within a reach (``category_reach_km``).

Hand-built cases with known answers, checked against the independent reference
``geo.crs.geodesic_point_to_geometry_km`` (boundary densified geodesically, pyproj.Geod), the
property that the minimum over the categories is the nearest PA, and real AMW data.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.crs import GEOD, geodesic_point_to_geometry_km
from geo.proximity import (
    ProximityInputError,
    compute_protected_area_proximity,
    compute_protected_area_proximity_arrow,
    nearest_distance_km,
)
from geo.vocab import IUCN_CATEGORIES, IUCN_SLUGS

COLS = [f"dist_protected_area_iucn_{s}_km" for s in IUCN_SLUGS]
WORLD = shapely.box(-180.0, -90.0, 180.0, 90.0)


def _pas(geoms: list[shapely.Geometry], cats: list[object]) -> gpd.GeoDataFrame:
    k = len(geoms)
    return gpd.GeoDataFrame(
        {"pa_id": [f"pa{i}" for i in range(k)], "name": ["x"] * k, "designation": ["x"] * k, "iucn_cat": cats},
        geometry=geoms,
        crs="EPSG:4326",
    )


def _sites(*points: tuple[float, float]) -> gpd.GeoSeries:
    return gpd.GeoSeries([shapely.Point(x, y) for x, y in points], crs="EPSG:4326")


def _col(cat: str) -> str:
    return COLS[IUCN_CATEGORIES.index(cat)]


def _close(got: float, ref: float) -> bool:
    """The engine's accuracy bound: within max(50 m, 0.5 %) of the densified-Geod reference."""
    return abs(got - ref) <= max(0.05, 0.005 * ref)


def _east_of(lon: float, lat: float, km: float) -> float:
    return float(GEOD.fwd(lon, lat, 90.0, km * 1000.0)[0])


# ----------------------------------------------------------------------------- known answers
def test_site_inside_a_park_with_a_reserve_nearby() -> None:
    # issue #11's case: a site inside a category II park, a category V reserve 1.4 km east of it
    site = (-60.0, -3.0)
    park = shapely.box(-60.05, -3.05, -59.99, -2.95)
    west = _east_of(*site, 1.4)
    reserve = shapely.box(west, -3.05, west + 0.05, -2.95)
    pas = _pas([park, reserve], ["II", "V"])
    res = compute_protected_area_proximity(_sites(site), pas, category_reach_km=70.0)
    assert list(res.columns[-len(COLS) :]) == COLS
    row = res.iloc[0]
    assert row[_col("II")] == 0.0
    ref = geodesic_point_to_geometry_km(*site, reserve, spacing_km=0.01)
    assert ref == pytest.approx(1.4, abs=0.01)
    assert _close(row[_col("V")], ref)
    for cat in IUCN_CATEGORIES:
        if cat not in ("II", "V"):
            assert row[_col(cat)] == np.inf
    assert row[COLS].min() == row["dist_protected_area_km"] == 0.0
    assert res[COLS].dtypes.eq(np.float64).all()


def test_categories_beyond_the_reach_are_inf_and_come_back_with_a_longer_reach() -> None:
    site = (20.0, 10.0)
    near = shapely.box(*(_east_of(*site, 30.0), 9.9, _east_of(*site, 31.0), 10.1))
    far = shapely.box(*(_east_of(*site, 80.0), 9.9, _east_of(*site, 81.0), 10.1))
    pas = _pas([near, far], ["IV", "Ia"])
    short = compute_protected_area_proximity(_sites(site), pas, category_reach_km=70.0).iloc[0]
    assert _close(short[_col("IV")], geodesic_point_to_geometry_km(*site, near, spacing_km=0.01))
    assert short[_col("Ia")] == np.inf
    long = compute_protected_area_proximity(_sites(site), pas, category_reach_km=90.0).iloc[0]
    assert _close(long[_col("Ia")], geodesic_point_to_geometry_km(*site, far, spacing_km=0.01))
    assert long[_col("IV")] == short[_col("IV")]
    # the nearest PA (30 km) is within both reaches and beyond every buffer: the minimum is it
    assert short[COLS].min() == short["dist_protected_area_km"] == long[COLS].min()


def test_a_pa_just_beyond_the_reach_is_out_and_just_within_is_in() -> None:
    site = (5.0, 45.0)
    pa = shapely.box(_east_of(*site, 10.0), 44.9, _east_of(*site, 11.0), 45.1)
    d = geodesic_point_to_geometry_km(*site, pa, spacing_km=0.005)
    pas = _pas([pa], ["III"])
    assert compute_protected_area_proximity(_sites(site), pas, category_reach_km=d - 0.1).iloc[0][_col("III")] == np.inf
    got = compute_protected_area_proximity(_sites(site), pas, category_reach_km=d + 0.1).iloc[0][_col("III")]
    assert _close(got, d)


@pytest.mark.parametrize(
    ("value", "cat"),
    [
        ("II", "II"),
        (" II ", "II"),  # stripped
        ("Category II", "Not Reported"),
        ("ii", "Not Reported"),  # the WDPA spelling only
        ("", "Not Reported"),
        (None, "Not Reported"),
        ("Not Applicable", "Not Applicable"),
        ("Not Assigned", "Not Assigned"),
    ],
)
def test_unknown_categories_count_as_not_reported(value: object, cat: str) -> None:
    site = (100.0, 15.0)
    pa = shapely.box(_east_of(*site, 2.0), 14.95, _east_of(*site, 3.0), 15.05)
    row = compute_protected_area_proximity(_sites(site), _pas([pa], [value]), category_reach_km=25.0).iloc[0]
    assert np.isfinite(row[_col(cat)])
    assert (np.isfinite(row[COLS].to_numpy(dtype=float))).sum() == 1


def test_across_the_antimeridian() -> None:
    # a category IV PA split at ±180° (as WDPA stores them), the site on the other side of the seam
    east = shapely.box(179.95, -17.2, 180.0, -17.0)
    west = shapely.box(-180.0, -17.2, -179.9, -17.0)
    split = shapely.MultiPolygon([east, west])
    far_west = shapely.box(-179.7, -17.2, -179.6, -17.0)
    pas = _pas([split, far_west], ["IV", "VI"])
    site = (179.9, -17.1)
    row = compute_protected_area_proximity(_sites(site), pas, category_reach_km=70.0).iloc[0]
    assert _close(row[_col("IV")], geodesic_point_to_geometry_km(*site, split, spacing_km=0.01))
    assert row[_col("IV")] < 6.0
    assert _close(row[_col("VI")], geodesic_point_to_geometry_km(*site, far_west, spacing_km=0.01))
    inside = compute_protected_area_proximity(_sites((-179.95, -17.1)), pas, category_reach_km=70.0).iloc[0]
    assert inside[_col("IV")] == 0.0


def test_polygon_sites_line_and_nested_pas() -> None:
    # a mining polygon 2 km from a V reserve that contains a smaller Ia core, and overlapping a II park
    site = shapely.box(30.0, 0.0, 30.02, 0.02)
    park = shapely.box(30.01, 0.01, 30.1, 0.1)
    reserve = shapely.box(_east_of(30.02, 0.01, 2.0), -0.1, 30.5, 0.1)
    core = shapely.box(30.3, -0.05, 30.4, 0.05)
    pas = _pas([park, reserve, core], ["II", "V", "Ia"])
    row = compute_protected_area_proximity(gpd.GeoSeries([site], crs="EPSG:4326"), pas, category_reach_km=50.0).iloc[0]
    assert row[_col("II")] == 0.0
    ref_v = min(
        geodesic_point_to_geometry_km(x, y, reserve, spacing_km=0.01)
        for x, y in shapely.get_coordinates(shapely.segmentize(site.exterior, 0.0005))
    )
    assert _close(row[_col("V")], ref_v)
    assert row[_col("Ia")] > row[_col("V")]


def test_empty_layer_none_and_missing_sites() -> None:
    sites = gpd.GeoSeries([shapely.Point(0, 0), None], crs="EPSG:4326")
    empty = _pas([], []).iloc[:0]
    res = compute_protected_area_proximity(sites, empty, category_reach_km=70.0)
    assert (res[COLS].iloc[0] == np.inf).all()
    assert res[COLS].iloc[1].isna().all()  # no geometry: unknown, like dist_protected_area_km
    pas = _pas([shapely.box(0.1, 0.1, 0.2, 0.2)], ["II"])
    res = compute_protected_area_proximity(sites, pas, category_reach_km=70.0)
    assert res[COLS].iloc[1].isna().all()
    assert res[_col("II")].iloc[0] > 0.0
    assert not any(c in compute_protected_area_proximity(sites, pas).columns for c in COLS)


@pytest.mark.parametrize("reach", [0.0, -5.0, float("nan"), float("inf")])
def test_bad_reach_raises(reach: float) -> None:
    pas = _pas([shapely.box(0.1, 0.1, 0.2, 0.2)], ["II"])
    with pytest.raises(ProximityInputError, match="positive kilometres"):
        compute_protected_area_proximity(_sites((0.0, 0.0)), pas, category_reach_km=reach)


# ----------------------------------------------------------------------------- properties
@st.composite
def site_and_pas(draw: st.DrawFn) -> tuple[tuple[float, float], list[shapely.Geometry], list[str]]:
    """A site anywhere (|lat| <= 85) and 1-8 star polygons 0-90 km away, random categories."""
    lon = draw(st.floats(-179.999, 179.999))
    lat = draw(st.floats(-85.0, 85.0))
    k = draw(st.integers(1, 8))
    polys, cats = [], []
    for _ in range(k):
        dist_km = draw(st.floats(0.0, 90.0))
        az = draw(st.floats(0.0, 360.0))
        clon, clat = (float(v) for v in GEOD.fwd(lon, lat, az, dist_km * 1000.0)[:2])
        n = draw(st.integers(3, 12))
        radius = draw(st.floats(0.3, 6.0))
        azs = (draw(st.floats(0.0, 360.0)) + np.arange(n) * 360.0 / n) % 360.0
        wobble = np.array(draw(st.lists(st.floats(0.5, 1.0), min_size=n, max_size=n)))
        vlon, vlat, _ = GEOD.fwd(np.full(n, clon), np.full(n, clat), azs, radius * 1000.0 * wobble)
        vlon = clon + (np.asarray(vlon) - clon + 180.0) % 360.0 - 180.0
        poly = shapely.make_valid(shapely.Polygon(np.column_stack([vlon, np.asarray(vlat)])))
        if vlon.min() < -180.0 or vlon.max() > 180.0:
            parts = [shapely.affinity.translate(poly, xoff=s).intersection(WORLD) for s in (-360.0, 0.0, 360.0)]
            poly = shapely.union_all([p for p in parts if not p.is_empty])
        polys.append(poly)
        cats.append(draw(st.sampled_from([*IUCN_CATEGORIES, "Category II", ""])))
    return (lon, lat), polys, cats


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(site_and_pas(), st.floats(5.0, 100.0))
def test_each_category_is_its_nearest_pa_and_their_minimum_is_the_nearest(case, reach: float) -> None:
    site, polys, cats = case
    pas = _pas(polys, cats)
    res = compute_protected_area_proximity(_sites(site), pas, buffers_km=(1, 5), category_reach_km=reach)
    row = res.iloc[0]
    nearest = row["dist_protected_area_km"]
    got = row[COLS].to_numpy(dtype=float)
    if nearest <= reach:
        assert got.min() == nearest
    else:
        assert np.isinf(got).all()
    known = [c if c in IUCN_CATEGORIES else "Not Reported" for c in (str(c).strip() for c in cats)]
    point = np.array([shapely.Point(*site)], dtype=object)
    for q, cat in enumerate(IUCN_CATEGORIES):
        mine = [p for p, c in zip(polys, known, strict=True) if c == cat]
        if not mine:
            assert got[q] == np.inf
            continue
        # the engine run on that category alone, and the densified-Geod reference
        alone = nearest_distance_km(point, np.array(mine, dtype=object))[0][0]
        ref = min(geodesic_point_to_geometry_km(*site, p, spacing_km=0.02) for p in mine)
        if alone <= reach:
            assert got[q] == alone
            assert _close(got[q], ref)
        else:
            assert got[q] == np.inf


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(site_and_pas(), st.data())
def test_adding_a_pa_never_lengthens_a_category_distance(case, data) -> None:
    site, polys, cats = case
    k = data.draw(st.integers(0, len(polys) - 1))
    before = compute_protected_area_proximity(_sites(site), _pas(polys[:k], cats[:k]), category_reach_km=70.0)
    after = compute_protected_area_proximity(_sites(site), _pas(polys, cats), category_reach_km=70.0)
    b = before[COLS].to_numpy(dtype=float)
    a = after[COLS].to_numpy(dtype=float)
    assert (a <= b).all()


# ----------------------------------------------------------------------------- the same everywhere
def _grid_case() -> tuple[gpd.GeoSeries, gpd.GeoDataFrame]:
    rng = np.random.default_rng(11)
    lon = rng.uniform(-75.0, -70.0, 60)
    lat = rng.uniform(-12.0, -8.0, 60)
    polys = [
        shapely.box(x, y, x + w, y + w)
        for x, y, w in zip(
            rng.uniform(-76, -69, 120), rng.uniform(-13, -7, 120), rng.uniform(0.01, 0.3, 120), strict=True
        )
    ]
    cats = list(rng.choice([*IUCN_CATEGORIES, "weird"], 120))
    sites = gpd.GeoSeries([shapely.Point(x, y) for x, y in zip(lon, lat, strict=True)], crs="EPSG:4326")
    return sites, _pas(polys, cats)


def _near_the_antimeridian_case() -> tuple[gpd.GeoSeries, gpd.GeoDataFrame]:
    """Sites 20-75 km west of 180°, where a 70 km search envelope wraps and a 25 km one does not,
    among 300 small PAs (several in most 10 km discs)."""
    rng = np.random.default_rng(0)
    lon, lat = rng.uniform(179.3, 179.8, 100), rng.uniform(-11.0, -9.0, 100)
    x, y, w = rng.uniform(179.1, 179.95, 300), rng.uniform(-11.2, -8.8, 300), rng.uniform(0.005, 0.03, 300)
    polys = [shapely.box(a, b, a + c, b + c) for a, b, c in zip(x, y, w, strict=True)]
    sites = gpd.GeoSeries([shapely.Point(a, b) for a, b in zip(lon, lat, strict=True)], crs="EPSG:4326")
    return sites, _pas(polys, list(rng.choice(IUCN_CATEGORIES, 300)))


@pytest.mark.parametrize("case", [_grid_case, _near_the_antimeridian_case])
def test_other_columns_are_unchanged_and_the_arrow_path_agrees(case) -> None:
    # near ±180° the reach's search envelopes wrap where the buffers' do not: the PA areas in each
    # disc must still be summed in the same order (the same frame, bit for bit)
    sites, pas = case()
    base = compute_protected_area_proximity(sites, pas)
    with_cats = compute_protected_area_proximity(sites, pas, category_reach_km=70.0)
    pd.testing.assert_frame_equal(with_cats[base.columns], base, check_exact=True)
    arrow = compute_protected_area_proximity_arrow(
        sites, pa.table(pas.to_arrow(geometry_encoding="WKB")), category_reach_km=70.0
    )
    pd.testing.assert_frame_equal(arrow, with_cats, check_exact=True)
    within = with_cats["dist_protected_area_km"] <= 70.0
    assert (with_cats.loc[within, COLS].min(axis=1) == with_cats.loc[within, "dist_protected_area_km"]).all()


@pytest.mark.parametrize("batch", [1, 7])
def test_site_batches_give_the_same_category_columns(monkeypatch, batch: int) -> None:
    from geo import proximity

    sites, pas = _grid_case()
    whole = compute_protected_area_proximity(sites, pas, category_reach_km=40.0)
    monkeypatch.setattr(proximity, "_SITE_BATCH", batch)
    pd.testing.assert_frame_equal(compute_protected_area_proximity(sites, pas, category_reach_km=40.0), whole)


def test_real_amw_sites_minimum_is_the_nearest_and_each_category_is_its_own_nearest(shared_data) -> None:
    raw = gpd.read_file(shared_data / "amazon_mining_watch" / "protected_areas_impacts.geojson")
    # the AMW file carries no IUCN category: a deterministic label per row, on the real geometry
    cats = [IUCN_CATEGORIES[i % len(IUCN_CATEGORIES)] for i in range(len(raw))]
    pas = gpd.GeoDataFrame(
        {"pa_id": raw["id"].astype(str), "name": "x", "designation": "x", "iucn_cat": cats},
        geometry=raw.geometry.values,
        crs="EPSG:4326",
    )
    mining = gpd.read_file(shared_data / "amazon_mining_watch" / "mining_202400_simplified.geojson").geometry
    sites = gpd.GeoSeries(shapely.centroid(mining.to_numpy()[::4]), crs="EPSG:4326")
    res = compute_protected_area_proximity(sites, pas, category_reach_km=70.0)
    within = res["dist_protected_area_km"] <= 70.0
    assert within.sum() > 500 and (~within).sum() > 10
    assert (res.loc[within, COLS].min(axis=1) == res.loc[within, "dist_protected_area_km"]).all()
    assert np.isinf(res.loc[~within, COLS].to_numpy(dtype=float)).all()
    pts = sites.to_numpy()
    for q, cat in enumerate(IUCN_CATEGORIES):
        alone, _ = nearest_distance_km(pts, pas.geometry.to_numpy()[np.array(cats) == cat])
        expect = np.where(alone <= 70.0, alone, np.inf)
        np.testing.assert_array_equal(res[COLS[q]].to_numpy(), expect, err_msg=cat)
