"""geo._kernels.union's shortcuts: the crossing-count winding number, the grid's polygon runs, and the
union-area column's independence of the threads' schedule."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo import proximity
from geo._kernels import twins
from geo._kernels import union as ku
from geo.crs import geodesic_circle


def _winding_by_angles(x: np.ndarray, y: np.ndarray) -> float:
    """The swept angle of the closed chain (x, y) around the origin over 2π (the kernel's former way)."""
    ax, ay, bx, by = x, y, np.roll(x, -1), np.roll(y, -1)
    return float(np.sum(np.arctan2(ax * by - ay * bx, ax * bx + ay * by)) / (2 * math.pi))


def _chains() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(7)
    chains = []
    for _ in range(300):  # star-shaped rings around a random centre, either way round
        n = int(rng.integers(3, 40))
        t = np.sort(rng.uniform(0, 2 * math.pi, n))
        r = rng.uniform(0.5, 3.0, n)
        cx, cy = rng.uniform(-2.5, 2.5, 2)
        x, y = cx + r * np.cos(t), cy + r * np.sin(t)
        if rng.random() < 0.5:
            x, y = x[::-1], y[::-1]
        chains.append((x, y))
    # vertices on the half-line and on its opposite, an edge along the line, a ring twice round
    chains.append((np.array([1.0, 0.0, -1.0, 0.0]), np.array([0.0, 1.0, 0.0, -1.0])))
    chains.append((np.array([2.0, 1.0, -1.0, -1.0, 1.0]), np.array([0.0, 0.0, -1.0, 1.0, 1.0])))
    chains.append((np.array([1.0, 3.0, 2.0, 5.0]), np.array([0.0, 0.0, 1.0, -1.0])))
    t = np.linspace(0, 4 * math.pi, 9)[:-1]
    chains.append((np.cos(t) * (1 + 0.1 * np.arange(8)), np.sin(t) * (1 + 0.1 * np.arange(8))))
    return chains


def test_crossing_count_is_the_winding_number() -> None:
    seen = set()
    for x, y in _chains():
        count = sum(ku._crossing(x[i], y[i], x[(i + 1) % len(x)], y[(i + 1) % len(x)]) for i in range(len(x)))
        assert count == round(_winding_by_angles(x, y))
        seen.add(count)
    assert {-1, 0, 1} <= seen  # both ways round, and outside


def _pieces(rng: np.random.Generator, n_poly: int, per_poly: int, r: float) -> ku.Pieces:
    n = n_poly * per_poly
    ax, ay = rng.uniform(-r, r, n), rng.uniform(-r, r, n)
    bx, by = ax + rng.normal(0, r / 5, n), ay + rng.normal(0, r / 5, n)
    poly = np.repeat(np.arange(n_poly, dtype=np.int64), per_poly)  # as the kernel makes them: polygon by polygon
    return ku.Pieces(
        ax, ay, bx, by, poly, np.ones(n, np.int8), np.arange(n, dtype=np.int64), np.ones(n, bool), np.ones(n, bool)
    )


@pytest.mark.parametrize(("n_poly", "per_poly"), [(1, 50), (3, 40), (12, 30)])
def test_grid_runs_end_where_the_polygon_changes(n_poly: int, per_poly: int) -> None:
    pieces = _pieces(np.random.default_rng(n_poly), n_poly, per_poly, 10.0)
    grid = ku._piece_grid(pieces, n_poly * per_poly, 10.0, 1e-8)
    assert len(grid.run_end) == len(grid.cell_items)
    for c in range(grid.g * grid.g):
        lo, hi = grid.cell_ptr[c], grid.cell_ptr[c + 1]
        items = grid.cell_items[lo:hi]
        assert (np.diff(items) > 0).all()  # piece order, so grouped by polygon
        poly = pieces.spoly[items]
        for it in range(lo, hi):
            end = grid.run_end[it]
            assert it < end <= hi
            assert (poly[it - lo : end - lo] == poly[it - lo]).all()
            assert end == hi or poly[end - lo] != poly[it - lo]


def _overlapping_pas() -> gpd.GeoDataFrame:
    rng = np.random.default_rng(11)
    geoms = [
        shapely.segmentize(
            geodesic_circle(float(rng.uniform(-0.3, 0.3)), float(rng.uniform(-0.3, 0.3)), float(rng.uniform(3, 12))),
            0.01,
        )
        for _ in range(40)
    ]
    n = len(geoms)
    return gpd.GeoDataFrame(
        {"pa_id": [str(i) for i in range(n)], "name": "pa", "designation": "d", "iucn_cat": "II"},
        geometry=geoms,
        crs="EPSG:4326",
    )


def test_union_area_is_the_same_serial_and_threaded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The parallel twin takes sites in chunks as threads come free (geo.disc_area._UNION_CHUNK):
    every site's area is its own, so the column is bit for bit the serial one."""
    rng = np.random.default_rng(5)
    sites = gpd.GeoSeries(
        gpd.points_from_xy(rng.uniform(-0.35, 0.35, 400), rng.uniform(-0.35, 0.35, 400)), crs="EPSG:4326"
    )
    pas = _overlapping_pas()
    serial = proximity.compute_protected_area_proximity(sites, pas, area_buffer_km=10.0)
    monkeypatch.setattr(twins, "PARALLEL_MIN", 1)  # every kernel runs its parallel build
    threaded = proximity.compute_protected_area_proximity(sites, pas, area_buffer_km=10.0)
    col = "protected_area_km2_within_10km"
    assert (serial[col] > 0).mean() > 0.9 and (serial[col] == math.pi * 100).any()  # unions and covered discs
    pd.testing.assert_series_equal(threaded[col], serial[col], check_exact=True)
