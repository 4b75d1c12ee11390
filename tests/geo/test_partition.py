"""geo.partition: Hilbert order, conservative envelopes and the per-partition target selection."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.crs import GEOD, geodesic_circle
from geo.partition import (
    envelope_boxes,
    hilbert_keys,
    nearest_upper_bound_km,
    partition_starts,
    select_targets,
    spatial_order,
)
from geo.proximity import nearest_distance_km, prepare_targets, prepare_targets_wkb


def _grid(order: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n = 1 << order
    xs, ys = np.meshgrid(np.arange(n), np.arange(n))
    xs, ys = xs.ravel(), ys.ravel()
    return xs, ys, (xs + 0.5) / n * 360.0 - 180.0, (ys + 0.5) / n * 180.0 - 90.0


@pytest.mark.parametrize("order", [1, 2, 4])
def test_hilbert_keys_are_a_bijection_and_consecutive_cells_touch(order):
    xs, ys, lon, lat = _grid(order)
    keys = hilbert_keys(lon, lat, order)
    assert sorted(keys.tolist()) == list(range(4**order))
    o = np.argsort(keys)
    steps = np.abs(np.diff(xs[o])) + np.abs(np.diff(ys[o]))
    assert (steps == 1).all()


def test_hilbert_keys_clip_edges_and_nan():
    keys = hilbert_keys(np.array([-180.0, 180.0, np.nan]), np.array([-90.0, 90.0, 0.0]), 4)
    assert ((keys >= 0) & (keys < 256)).all()
    with pytest.raises(ValueError, match="order must be"):
        hilbert_keys(np.zeros(1), np.zeros(1), 0)


def test_spatial_order_keeps_neighbours_together():
    rng = np.random.default_rng(3)
    lon = np.r_[rng.uniform(10, 11, 50), rng.uniform(-60, -59, 50)]
    lat = np.r_[rng.uniform(0, 1, 50), rng.uniform(-5, -4, 50)]
    order = spatial_order(lon, lat)
    assert sorted(order.tolist()) == list(range(100))
    first_half = set(order[:50].tolist())
    assert first_half in (set(range(50)), set(range(50, 100)))


@pytest.mark.parametrize(("n", "size", "expected"), [(0, 5, [0]), (10, 5, [0, 5, 10]), (11, 5, [0, 5, 10, 11])])
def test_partition_starts(n, size, expected):
    assert partition_starts(n, size).tolist() == expected


def test_partition_starts_rejects_bad_size():
    with pytest.raises(ValueError, match="partition_size must be positive"):
        partition_starts(10, 0)


def _covered(boxes: np.ndarray, owner: np.ndarray, row: int, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    b = boxes[owner == row]
    inside = (lon[:, None] >= b[None, :, 0]) & (lon[:, None] <= b[None, :, 2])
    inside &= (lat[:, None] >= b[None, :, 1]) & (lat[:, None] <= b[None, :, 3])
    return inside.any(axis=1)


@pytest.mark.parametrize(
    "box",
    [
        (10.0, -1.0, 11.0, 1.0),  # equator
        (179.5, -17.0, 180.0, -16.0),  # on the antimeridian
        (-180.0, 64.0, -179.0, 66.0),  # just west of it, at high latitude
        (20.0, 87.0, 40.0, 89.5),  # near the north pole
        (-70.0, -89.9, -60.0, -85.0),  # near the south pole
    ],
)
@pytest.mark.parametrize("r_km", [1.0, 50.0, 400.0])
def test_envelope_contains_every_point_within_the_radius(box, r_km):
    """Points at geodesic distance <= r from points of the box all fall in the envelope boxes."""
    rng = np.random.default_rng(int(r_km))
    k = 4000
    lon0 = rng.uniform(box[0], box[2], k)
    lat0 = rng.uniform(box[1], box[3], k)
    lon1, lat1, _ = GEOD.fwd(lon0, lat0, rng.uniform(0, 360, k), rng.uniform(0.0, 1.0, k) ** 0.2 * r_km * 1000.0)
    boxes, owner = envelope_boxes(np.array([box]), np.array([r_km]))
    assert (boxes[:, 0] >= -180).all() and (boxes[:, 2] <= 180).all()
    assert _covered(boxes, owner, 0, np.asarray(lon1), np.asarray(lat1)).all()


def test_envelope_wraps_the_antimeridian_and_spans_the_pole():
    boxes, owner = envelope_boxes(np.array([[179.9, 0.0, 179.9, 0.0], [0.0, 89.5, 0.0, 89.5]]), np.array([50.0, 100.0]))
    east = boxes[owner == 0]
    assert len(east) == 2 and (east[:, 0] < -179.0).any()  # a box on the far side of ±180°
    polar = boxes[owner == 1]
    assert polar.tolist() == [[-180.0, polar[0, 1], 180.0, 90.0]]


def test_envelope_skips_missing_rows():
    boxes, owner = envelope_boxes(np.array([[np.nan] * 4, [0.0, 0.0, 1.0, 1.0]]), np.array([5.0, np.nan]))
    assert len(boxes) == 0 and len(owner) == 0


def _pas() -> np.ndarray:
    """PAs in two clusters, across the antimeridian (both parts), nested, and near the north pole."""
    return np.array(
        [
            geodesic_circle(10.0, 0.0, 20.0),  # 0  cluster A
            geodesic_circle(10.5, 0.5, 5.0),  # 1  cluster A, near 0
            geodesic_circle(10.0, 0.0, 3.0),  # 2  nested in 0
            geodesic_circle(-60.0, -5.0, 30.0),  # 3  cluster B
            geodesic_circle(179.95, -16.5, 15.0),  # 4  across ±180° (MultiPolygon)
            geodesic_circle(-179.7, -17.0, 5.0),  # 5  west of ±180°
            geodesic_circle(120.0, 89.7, 8.0),  # 6  near the pole
            geodesic_circle(100.0, 40.0, 10.0),  # 7  far from every site
        ],
        dtype=object,
    )


def _sites() -> tuple[np.ndarray, np.ndarray]:
    """Sites and their partition: partition 0 sits where no PA is, its nearest lie in others."""
    pts = [
        (30.0, 10.0, 0),  # nearest PA is cluster A, hundreds of km away
        (31.0, 11.0, 0),
        (10.0, 0.0, 1),  # inside PA 0 and the nested PA 2
        (10.6, 0.6, 1),
        (-60.1, -5.1, 2),
        (-179.99, -16.6, 3),  # west of ±180°, PA 4 straddles it
        (179.99, -17.0, 3),  # east of ±180°, nearest is PA 5 across it
        (-60.0, 89.9, 4),  # across the pole from PA 6
        (None, None, 4),  # a missing geometry never breaks the selection
    ]
    geoms = np.array([None if x is None else shapely.Point(x, y) for x, y, _ in pts], dtype=object)
    return geoms, np.array([p for _, _, p in pts])


def _distance_matrix(sites: np.ndarray, pas: np.ndarray) -> np.ndarray:
    return np.column_stack([nearest_distance_km(sites, pas[j : j + 1])[0] for j in range(len(pas))])


def test_upper_bound_is_never_below_the_nearest_distance():
    sites, _ = _sites()
    pas = _pas()
    ub = nearest_upper_bound_km(sites, prepare_targets(pas))
    exact, _ = nearest_distance_km(sites, pas)
    ok = np.isfinite(exact)
    assert np.isnan(ub[~ok]).all()
    assert (ub[ok] >= exact[ok]).all()
    assert (ub[ok] <= exact[ok] * 3 + 200.0).all()  # and not uselessly loose


def test_upper_bound_without_targets_is_nan():
    sites, _ = _sites()
    assert np.isnan(nearest_upper_bound_km(sites, np.array([], dtype=object))).all()


@pytest.mark.parametrize("r_min", [0.0, 10.0, 25.0])
def test_selection_holds_the_nearest_and_everything_within_the_radius(r_min):
    sites, part = _sites()
    pas = _pas()
    chosen = select_targets(sites, part, prepare_targets(pas), r_min)
    assert len(chosen) == part.max() + 1
    d = _distance_matrix(sites, pas)
    for s in range(len(sites)):
        if not np.isfinite(d[s]).any():
            continue
        need = np.flatnonzero(d[s] <= max(r_min, np.nanmin(d[s])))
        assert set(need.tolist()) <= set(chosen[part[s]].tolist()), (s, need, chosen[part[s]])
    # the partition only gets what is near it, not the whole layer
    assert 7 not in np.concatenate(chosen).tolist()
    assert 3 not in chosen[1].tolist()
    for c in chosen:
        assert (np.diff(c) > 0).all()  # sorted and distinct: ties break as in the whole layer


def test_nearest_in_another_partition_across_antimeridian_and_pole():
    sites, part = _sites()
    chosen = select_targets(sites, part, prepare_targets(_pas()), 0.0)
    assert {0, 1}.issubset(set(chosen[0].tolist()))  # partition 0 has no PA of its own
    assert {4, 5}.issubset(set(chosen[3].tolist()))  # both sides of ±180°
    assert 6 in chosen[4].tolist()  # across the pole


def test_random_sites_get_the_same_answer_from_their_subset():
    """Proximity on each partition's subset equals proximity on the whole layer."""
    rng = np.random.default_rng(11)
    centres = np.column_stack([rng.uniform(-180, 180, 60), rng.uniform(-70, 85, 60)])
    pas = np.array([geodesic_circle(x, y, rng.uniform(5, 80)) for x, y in centres], dtype=object)
    sites = shapely.points(rng.uniform(-180, 180, 400), rng.uniform(-80, 89, 400))
    order = spatial_order(shapely.get_x(sites), shapely.get_y(sites))
    sites = sites[order]
    part = np.repeat(np.arange(8), 50)
    chosen = select_targets(sites, part, prepare_targets(pas), 25.0)
    full_d, full_i = nearest_distance_km(sites, pas)
    for p, rows in enumerate(chosen):
        sl = slice(p * 50, (p + 1) * 50)
        d, i = nearest_distance_km(sites[sl], pas[rows])
        np.testing.assert_allclose(d, full_d[sl], rtol=0, atol=1e-9)
        np.testing.assert_array_equal(rows[i], full_i[sl])
    assert max(len(c) for c in chosen) < len(pas)


def test_select_targets_rejects_bad_input():
    sites, part = _sites()
    tg = prepare_targets(_pas())
    with pytest.raises(ValueError, match="min_radius_km"):
        select_targets(sites, part, tg, -1.0)
    with pytest.raises(ValueError, match="partition has"):
        select_targets(sites, part[:-1], tg, 1.0)
    with pytest.raises(ValueError, match="cell_deg"):
        select_targets(sites, part, tg, 1.0, cell_deg=0.0)


def test_select_targets_without_targets_gives_empty_selections():
    sites, part = _sites()
    chosen = select_targets(sites, part, np.array([], dtype=object), 5.0)
    assert [len(c) for c in chosen] == [0] * (part.max() + 1)


def test_wkb_prepared_targets_select_what_is_needed():
    """Targets indexed from WKB (split PAs indexed by their parts) select every target that matters."""
    sites, part = _sites()
    pas = _pas()
    got = select_targets(sites, part, prepare_targets_wkb(pa.array(shapely.to_wkb(pas))), 10.0)
    reference = select_targets(sites, part, prepare_targets(pas), 10.0)
    d = _distance_matrix(sites, pas)
    for s in range(len(sites)):
        if np.isfinite(d[s]).any():
            need = np.flatnonzero(d[s] <= max(10.0, np.nanmin(d[s])))
            assert set(need.tolist()) <= set(got[part[s]].tolist())
    for g, r in zip(got, reference, strict=True):
        assert set(g.tolist()) <= set(r.tolist())  # part boxes are never looser than whole boxes


# ----------------------------------------------------------------------------- cost-balanced cuts
@given(st.lists(st.floats(0.0, 1e4), min_size=1, max_size=300), st.data())
@settings(max_examples=200, deadline=None)
def test_balanced_starts_cover_every_item_in_non_empty_runs_of_about_equal_cost(costs, data):
    from geo.partition import balanced_starts

    c = np.asarray(costs)
    k = data.draw(st.integers(1, len(c)))
    starts = balanced_starts(c, k)
    assert len(starts) == k + 1 and starts[0] == 0 and starts[-1] == len(c)
    assert (np.diff(starts) >= 1).all()
    run_costs = np.add.reduceat(c, starts[:-1])
    # a run without its last item stays within an equal share (the last item closes it)
    assert (run_costs - c[starts[1:] - 1] <= c.sum() / k * (1 + 1e-9) + 1e-6).all()


def test_a_dense_cluster_gets_short_partitions():
    from geo.partition import SITE_COST_PAIRS, balanced_starts, site_costs

    rng = np.random.default_rng(1)
    # 50 PAs around (0, 0); none near (50, 0)
    cx, cy = rng.uniform(-0.05, 0.05, 50), rng.uniform(-0.05, 0.05, 50)
    boxes = np.column_stack([cx - 0.01, cy - 0.01, cx + 0.01, cy + 0.01])
    near = np.tile([0.0, 0.0, 0.0, 0.0], (100, 1))
    far = np.tile([50.0, 0.0, 50.0, 0.0], (300, 1))
    sites = np.vstack([near, far, np.full((1, 4), np.nan)])
    cost = site_costs(sites, boxes, 25.0)
    assert np.all(cost[:100] == SITE_COST_PAIRS + 50) and np.all(cost[100:] == SITE_COST_PAIRS)
    starts = balanced_starts(cost, 4)
    sizes = np.diff(starts)
    assert sizes[0] < 100 and sizes[-1] > 100  # the cluster's sites in short runs, open country in long ones


def test_site_costs_follow_the_envelope_east_west_near_the_poles():
    from geo.partition import SITE_COST_PAIRS, site_costs

    # a PA 1° of longitude away: ~111 km at the equator (outside a 25 km envelope), ~19 km at 80°N
    sites = np.array([[0.0, 0.0, 0.0, 0.0], [0.0, 80.0, 0.0, 80.0]])
    pas = np.array([[1.0, 0.0, 1.0, 0.0], [1.0, 80.0, 1.0, 80.0]])
    own = SITE_COST_PAIRS / np.cos(np.radians([0.0, 80.0]))
    np.testing.assert_allclose(site_costs(sites, pas, 25.0), own + np.array([0.0, 1.0]), rtol=1e-12)


@pytest.mark.parametrize("lat", [0.0, 30.0, 60.0, 75.0, -75.0])
def test_a_sites_own_cost_grows_as_one_over_cos_latitude_without_any_target_near(lat):
    """Measured (docs/performance.md, "Dask engine"): the equal-size partitions at 60-80° took 2-4x the
    CPU of equatorial ones with as many candidate pairs; a site's own work must weigh that much."""
    from geo.partition import SITE_COST_MAX_LAT, SITE_COST_PAIRS, site_costs

    pas = np.array([[100.0, 0.0, 100.1, 0.1]])  # far from every site
    sites = np.array([[0.0, lat, 0.0, lat], [10.0, 89.5, 10.0, 89.5]])
    cost = site_costs(sites, pas, 25.0)
    assert cost[0] == pytest.approx(SITE_COST_PAIRS / np.cos(np.radians(lat)), rel=1e-12)
    # by the pole the weight stops growing: at most that of SITE_COST_MAX_LAT
    assert cost[1] == pytest.approx(SITE_COST_PAIRS / np.cos(np.radians(SITE_COST_MAX_LAT)), rel=1e-12)
    # the same with no target at all (the early return)
    np.testing.assert_allclose(site_costs(sites, np.zeros((0, 4)), 25.0), cost)


def test_sites_at_high_latitude_get_shorter_partitions_than_equatorial_ones():
    """1,000 sites in empty country at the equator, then 1,000 at 70°N: cut in two by cost, the first
    partition holds the equatorial sites and (1 - cos 70°) / 2 of the northern ones (an equal-size cut
    would put the boundary between the two runs)."""
    from geo.partition import balanced_starts, site_costs

    sites = np.vstack([np.tile([0.0, 0.0, 0.0, 0.0], (1000, 1)), np.tile([0.0, 70.0, 0.0, 70.0], (1000, 1))])
    cost = site_costs(sites, np.zeros((0, 4)), 25.0)
    starts = balanced_starts(cost, 2)
    # in equatorial-site units the total is 1000 (1 + 1 / cos 70°); half of it is the 1000 equatorial
    # sites and (1 / cos 70° - 1) / 2 x 1000 units of northern sites, each 1 / cos 70° units
    expected = 1000 + 1000 * (1 - np.cos(np.radians(70.0))) / 2
    assert abs(int(starts[1]) - expected) <= 1
