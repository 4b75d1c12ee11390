"""geo.change: mining area in targets year by year, against equal-area references built independently
(shapely overlays in lon/lat measured in a Lambert azimuthal equal-area projection)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from geo.change import ChangeInputError, compute_mining_change, count_sites_by_year, mining_change_columns
from tests.geo.references import laea_area_km2

T = shapely.box(-60.0, -5.0, -59.0, -4.0)  # the target: a 1° protected area


def _foot(rows) -> gpd.GeoDataFrame:
    """rows: (year, geometry[, mined_km2])."""
    data = {"year": [r[0] for r in rows]}
    if len(rows[0]) > 2:
        data["mined_km2"] = [r[2] for r in rows]
    return gpd.GeoDataFrame(data, geometry=[r[1] for r in rows], crs="EPSG:4326")


def _targets(*rows) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"pa_id": [r[0] for r in rows], "name": [r[1] for r in rows]}, geometry=[r[2] for r in rows], crs="EPSG:4326"
    )


FOOT = [
    (2019, shapely.box(-59.8, -4.8, -59.7, -4.7)),  # inside
    (2019, shapely.box(-59.05, -4.5, -58.95, -4.4)),  # half inside, across the east edge
    (2019, shapely.box(-59.5, -4.5, -59.4, -4.4)),  # inside, overlapping the next one
    (2019, shapely.box(-59.45, -4.45, -59.35, -4.35)),
    (2020, shapely.box(-59.75, -4.75, -59.65, -4.65)),  # overlaps the first: partly new ground
    (2020, shapely.box(-58.99, -4.9, -58.96, -4.85)),  # outside, 1-4 km east: in the 10 km zone only
    (2020, shapely.box(-50.0, -4.5, -49.9, -4.4)),  # far away
    (2022, shapely.box(-59.3, -4.2, -59.2, -4.1)),  # inside
]


def _ref(fp: list, year_filter, region) -> float:
    geoms = [g for y, g, *_ in fp if year_filter(y)]
    if not geoms:
        return 0.0
    return laea_area_km2(shapely.intersection(shapely.union_all(geoms), region), -59.5, -4.5)


def _laea_zone(region: shapely.Geometry, d_km: float) -> shapely.Geometry:
    """Reference zone: a planar buffer in a LAEA projection centred on the target (scale error < 1e-4 here)."""
    fwd = pyproj.Transformer.from_crs("EPSG:4326", "+proj=laea +lat_0=-4.5 +lon_0=-59.5 +ellps=WGS84", always_xy=True)
    inv = pyproj.Transformer.from_crs("+proj=laea +lat_0=-4.5 +lon_0=-59.5 +ellps=WGS84", "EPSG:4326", always_xy=True)
    m = shapely.transform(shapely.segmentize(region, 0.001), lambda xy: np.column_stack(fwd.transform(*xy.T)))
    z = shapely.buffer(m, d_km * 1000.0, quad_segs=64)
    return shapely.transform(z, lambda xy: np.column_stack(inv.transform(*xy.T)))


def test_year_by_year_and_cumulative_areas_match_the_equal_area_reference():
    out = compute_mining_change(_foot(FOOT), _targets(("T1", "Target", T)), buffers_km=(10,), years=range(2019, 2023))
    assert list(out.columns) == mining_change_columns((10,))
    assert list(out["year"]) == [2019, 2020, 2021, 2022]
    zone = _laea_zone(T, 10.0)
    for _, row in out.iterrows():
        y = row["year"]
        assert row["mining_km2"] == pytest.approx(_ref(FOOT, lambda v, y=y: v == y, T), rel=0.01, abs=1e-9)
        assert row["mining_km2_cumulative"] == pytest.approx(_ref(FOOT, lambda v, y=y: v <= y, T), rel=0.01)
        assert row["mining_km2_within_10km"] == pytest.approx(
            _ref(FOOT, lambda v, y=y: v == y, zone), rel=0.01, abs=1e-9
        )
        assert row["mining_km2_cumulative_within_10km"] == pytest.approx(
            _ref(FOOT, lambda v, y=y: v <= y, zone), rel=0.01
        )
    r = out.set_index("year")
    # overlaps within 2019 count once; 2020's footprint overlapping 2019's adds only its new ground
    summed = sum(laea_area_km2(g.intersection(T)) for y, g in FOOT if y == 2019)
    assert r.loc[2019, "mining_km2"] < summed - 25  # the two overlapping boxes share 0.05° x 0.05° (31 km²)
    assert r.loc[2020, "mining_km2_cumulative"] < r.loc[2019, "mining_km2_cumulative"] + r.loc[2020, "mining_km2"] - 25
    assert (
        r.loc[2021, "mining_km2"] == 0.0
        and r.loc[2021, "mining_km2_cumulative"] == r.loc[2020, "mining_km2_cumulative"]
    )
    assert r.loc[2020, "mining_km2_within_10km"] > r.loc[2020, "mining_km2"] + 5  # the footprint just outside
    assert r["target_area_km2"].iloc[0] == pytest.approx(laea_area_km2(T), rel=1e-3)


def test_cumulative_includes_years_before_the_reported_ones():
    out = compute_mining_change(_foot(FOOT), _targets(("T1", "Target", T)), years=[2022])
    assert len(out) == 1
    assert out["mining_km2_cumulative"].iat[0] == pytest.approx(_ref(FOOT, lambda v: True, T), rel=0.01)


def test_parcels_of_one_target_are_dissolved_and_shared_ids_with_other_names_are_not():
    west = shapely.box(-60.0, -5.0, -59.5, -4.0)
    east = shapely.box(-59.5, -5.0, -59.0, -4.0)
    targets = _targets(
        ("T1", "Target", west), ("T1", "Target", east), ("T1", "Other", shapely.box(-59.1, -4.6, -58.9, -4.3))
    )
    out = compute_mining_change(_foot(FOOT), targets)
    names = out.drop_duplicates(["target_id", "target_name"])[["target_id", "target_name"]].values.tolist()
    assert names == [["T1", "Target"], ["T1", "Other"]]
    whole = out[(out["target_name"] == "Target") & (out["year"] == 2022)]
    assert whole["mining_km2_cumulative"].iat[0] == pytest.approx(_ref(FOOT, lambda v: True, T), rel=0.01)


def test_targets_without_mining_are_left_out_unless_asked():
    targets = _targets(("T1", "Target", T), ("T2", "Empty", shapely.box(10, 10, 11, 11)))
    assert set(compute_mining_change(_foot(FOOT), targets)["target_id"]) == {"T1"}
    full = compute_mining_change(_foot(FOOT), targets, include_empty=True)
    assert (full.loc[full["target_id"] == "T2", "mining_km2_cumulative"] == 0).all()
    assert len(full) == 2 * 3  # every target, every footprint year (2019, 2020, 2022)


def test_share_column_is_apportioned_by_area_and_summed():
    fp = [(2019, shapely.box(-59.05, -4.5, -58.95, -4.4), 2.0), (2020, shapely.box(-59.8, -4.8, -59.7, -4.7), 1.0)]
    out = compute_mining_change(_foot(fp), _targets(("T1", "Target", T)), share_column="mined_km2").set_index("year")
    half = laea_area_km2(fp[0][1].intersection(T)) / laea_area_km2(fp[0][1])
    assert out.loc[2019, "mined_km2"] == pytest.approx(2.0 * half, rel=1e-3)
    assert out.loc[2020, "mined_km2_cumulative"] == pytest.approx(2.0 * half + 1.0, rel=1e-3)


def test_target_split_at_the_antimeridian():
    target = shapely.MultiPolygon([shapely.box(179.5, -17.0, 180.0, -16.5), shapely.box(-180.0, -17.0, -179.5, -16.5)])
    fp = [(2020, shapely.box(179.9, -16.8, 180.0, -16.7)), (2020, shapely.box(-180.0, -16.8, -179.9, -16.7))]
    out = compute_mining_change(_foot(fp), _targets(("fj", "Fiji", target)), buffers_km=(5,))
    both = laea_area_km2(fp[0][1], 180.0, -16.75) + laea_area_km2(fp[1][1], 180.0, -16.75)
    assert out["mining_km2"].iat[0] == pytest.approx(both, rel=0.01)
    assert out["mining_km2_within_5km"].iat[0] == pytest.approx(both, rel=0.01)


def test_no_footprint_near_any_target():
    out = compute_mining_change(_foot(FOOT[6:7]), _targets(("T1", "Target", T)))
    assert len(out) == 0 and list(out.columns) == mining_change_columns()


# ----------------------------------------------------------------------------- sites join in
def test_sites_are_counted_by_their_first_observed_year():
    sites = gpd.GeoDataFrame(
        {
            "site_id": ["a", "a", "b", "c", "d", "e"],
            "observed_date": pd.to_datetime(
                ["2021-03-01", "2019-05-01", "2020-01-01", None, "2020-06-01", "2022-01-01"]
            ),
        },
        geometry=shapely.points([-59.5, -59.5, -59.2, -59.3, -58.95, -40.0], [-4.5, -4.5, -4.2, -4.3, -4.5, -4.5]),
        crs="EPSG:4326",
    )
    out = count_sites_by_year(sites, _targets(("T1", "Target", T)), buffers_km=(10,)).set_index("year")
    # a: 2019 (its first visit), b: 2020, c: no date, d: 5.5 km outside (zone only), e: far
    assert list(out.index) == [2019, 2020, 2022]
    assert list(out["sites_new"]) == [1, 1, 0]
    assert list(out["sites_cumulative"]) == [1, 2, 2]
    assert list(out["sites_new_within_10km"]) == [1, 2, 0]
    assert list(out["sites_cumulative_within_10km"]) == [1, 3, 3]


# ----------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize(
    ("foot", "targets", "kwargs", "match"),
    [
        (_foot(FOOT).drop(columns="year"), None, {}, "no 'year' column"),
        (_foot(FOOT).assign(year=2019.5), None, {}, "whole-number year"),
        (_foot([(2019, shapely.Point(0, 0))]), None, {}, "not polygons"),
        (_foot(FOOT).to_crs("EPSG:3857"), None, {}, "not EPSG:4326"),
        (_foot(FOOT), _targets(("r", "Road", shapely.LineString([(0, 0), (1, 1)]))), {}, "not polygons"),
        (_foot(FOOT), None, {"buffers_km": (-1,)}, "positive"),
        (_foot(FOOT), None, {"id_column": "WDPAID"}, "lack the column"),
        (_foot(FOOT), None, {"share_column": "nope"}, "no column 'nope'"),
        (_foot(FOOT), _targets(("n", "North", shapely.box(0, 89.2, 1, 89.4))), {"buffers_km": (100,)}, "Pole"),
        ("not a frame", None, {}, "must be a GeoDataFrame"),
    ],
)
def test_bad_inputs_raise_with_a_fix(foot, targets, kwargs, match):
    targets = targets if targets is not None else _targets(("T1", "Target", T))
    with pytest.raises(ChangeInputError, match=match):
        compute_mining_change(foot, targets, **kwargs)


# ----------------------------------------------------------------------------- real data
def test_amazon_mining_watch_seven_years_match_an_overlay_reference(shared_data):
    from tests.loaders import load_mining, load_protected_areas

    amw = shared_data / "amazon_mining_watch"
    foot = load_mining(sorted(amw.glob("mining_20*00_simplified.geojson"))).data
    pas = load_protected_areas(amw / "protected_areas_impacts.geojson").data
    out = compute_mining_change(foot, pas)
    assert sorted(out["year"].unique()) == list(range(2018, 2025))
    steps = out.groupby(["target_id", "target_name"])["mining_km2_cumulative"].diff().dropna()
    assert (steps >= -1e-9).all()
    for pa_id in ("PERN09_0", "BR1018_0", "BR561_0"):  # Tambopata (3 parcels), Amaná, Crepori
        rows = pas[pas["pa_id"] == pa_id]
        region = shapely.union_all(rows.geometry.to_numpy())
        c = region.centroid
        near = foot[foot.intersects(region)]
        mine = out[out["target_id"] == pa_id].set_index("year")
        for year in (2018, 2021, 2024):
            union = shapely.union_all(near.loc[near["year"] <= year].geometry.to_numpy())
            ref = laea_area_km2(shapely.intersection(union, region), c.x, c.y)
            assert mine.loc[year, "mining_km2_cumulative"] == pytest.approx(ref, rel=0.01)
            this = shapely.union_all(near.loc[near["year"] == year].geometry.to_numpy())
            assert mine.loc[year, "mining_km2"] == pytest.approx(
                laea_area_km2(shapely.intersection(this, region), c.x, c.y), rel=0.01
            )
