"""The map's cells (dashboard.map_bins): Web Mercator pixels against pyproj, every site in one cell, cells by brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pyproj import Transformer

from dashboard.map_bins import (
    CELL_PX,
    HALF_WIDTH_PX,
    WORLD_PX,
    bin_sites,
    cell_marker_px,
    lonlat_of_px,
    mercator_px,
    view_window,
)

R = 6378137.0  # EPSG:3857's sphere


def test_world_pixels_are_web_mercator_metres_scaled():
    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(-180, 180, 500), rng.uniform(-85, 85, 500)
    mx, my = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True).transform(lon, lat)
    x, y = mercator_px(lon, lat)
    np.testing.assert_allclose(x, (mx + math.pi * R) / (2 * math.pi * R) * WORLD_PX, atol=1e-9)
    np.testing.assert_allclose(y, (math.pi * R - my) / (2 * math.pi * R) * WORLD_PX, atol=1e-9)
    back_lon, back_lat = lonlat_of_px(x, y)
    np.testing.assert_allclose(back_lon, lon, atol=1e-9)
    np.testing.assert_allclose(back_lat, lat, atol=1e-9)


def test_the_window_is_the_screen_around_the_centre_and_wraps_at_the_antimeridian():
    w = view_window(179.0, 0.0, 5.0)
    half_deg = HALF_WIDTH_PX / (WORLD_PX * 2**5) * 360.0  # 22.5 degrees each way at zoom 5
    x, y = mercator_px(np.array([179.0, -179.0, 179.0 - half_deg + 0.1, 179.0 - half_deg - 0.1, 179.0]),
                       np.array([0.0, 0.0, 0.0, 0.0, 30.0]))  # fmt: skip
    assert w.contains(x, y).tolist() == [True, True, True, False, False]
    assert view_window(0.0, 0.0, 0.5).covers_world()


def _cell_of(lon: float, lat: float, zoom: float) -> tuple[int, int]:
    """A point's cell from its own screen pixel at ``zoom`` (Mercator by the textbook formula)."""
    px = (lon + 180.0) / 360.0 * WORLD_PX * 2**zoom
    s = math.sin(math.radians(lat))
    py = (0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)) * WORLD_PX * 2**zoom
    return math.floor(py / CELL_PX), math.floor(px / CELL_PX)


@pytest.mark.parametrize("centre, zoom", [((0.0, 0.0), 1.0), ((25.0, -3.0), 4.3), ((178.0, 10.0), 6.0)])
def test_every_site_falls_in_one_cell_and_cells_match_a_brute_force(centre, zoom):
    rng = np.random.default_rng(7)
    n = 4000
    lon = np.mod(centre[0] + rng.normal(0, 600 / 2**zoom, n) + 180.0, 360.0) - 180.0
    lat = np.clip(centre[1] + rng.normal(0, 200 / 2**zoom, n), -80, 80)
    codes = rng.integers(-1, 4, n)
    risk = np.where(codes < 0, np.nan, rng.uniform(0, 100, n))
    window = view_window(*centre, zoom)
    x, y = mercator_px(lon, lat)
    inside = window.contains(x, y)
    assert 0 < inside.sum() < n or zoom == 1.0
    lon, lat, codes, risk = lon[inside], lat[inside], codes[inside], risk[inside]
    cells = bin_sites(x[inside], y[inside], codes, risk, window=window, n_classes=4)
    members: dict[tuple[int, int], list[int]] = {}
    for i in range(len(lon)):
        members.setdefault(_cell_of(lon[i], lat[i], zoom), []).append(i)
    assert len(cells) == len(members) and cells.count.sum() == len(lon)
    for j in range(len(cells)):
        m = members.pop(_cell_of(cells.lon[j], cells.lat[j], zoom))  # a cell's mean position lies in the cell
        assert cells.count[j] == len(m)
        assert cells.by_class[:, j].tolist() == [int((codes[m] == c).sum()) for c in range(4)]
        assert cells.top_class[j] == (codes[m].max() if (codes[m] >= 0).any() else -1)
        if np.isfinite(risk[m]).any():
            assert cells.mean_risk[j] == pytest.approx(np.nanmean(risk[m]), abs=1e-9)
        else:
            assert np.isnan(cells.mean_risk[j])
    assert not members


def test_cells_do_not_move_when_the_map_pans():
    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(10, 30, 3000), rng.uniform(-10, 10, 3000)
    x, y = mercator_px(lon, lat)
    a = bin_sites(x, y, np.zeros(3000), np.ones(3000), window=view_window(20.0, 0.0, 3.0), n_classes=4)
    b = bin_sites(x, y, np.zeros(3000), np.ones(3000), window=view_window(21.7, 0.9, 3.0), n_classes=4)
    assert sorted(zip(a.count, np.round(a.lon, 9), strict=True)) == sorted(
        zip(b.count, np.round(b.lon, 9), strict=True)
    )


def test_marker_sizes_grow_with_the_count():
    px = cell_marker_px(np.array([1, 10, 1000, 100000]))
    assert px[0] == pytest.approx(9.0) and px[-1] == pytest.approx(CELL_PX) and (np.diff(px) > 0).all()


# --- the map figure: points or cells by what the window around the view holds --------------------------------
@pytest.fixture(scope="module")
def big():
    from benchmarks.synthetic_scored import synthetic_scored
    from dashboard.views import prepare_scored

    return prepare_scored(synthetic_scored(60_000, seed=4, geometry=False))


def test_zoomed_out_over_many_sites_the_map_sends_cells_that_count_every_site(big):
    from dashboard.figures import figure_payload_bytes, make_map_figure

    fig = make_map_figure(big, center={"lon": 10.0, "lat": 5.0}, zoom=1.0)
    cells = [t for t in fig.data if t.meta == "cells"]
    assert len(cells) == 4 and fig.data[-1].name == "selected site"  # the ring stays the last trace
    assert sum(float(c.customdata[:, 1].sum()) for c in cells) == len(big)
    assert all((c.customdata[:, 0] == -1).all() for c in cells)  # a click on a cell is no site
    by_class = sum(c.customdata[:, 2:6].sum(axis=0) for c in cells)
    assert by_class.tolist() == big["risk_class"].value_counts().reindex(list(RISK)).tolist()
    assert figure_payload_bytes(fig) < 300_000
    assert "cell" in fig.layout.legend.title.text


RISK = ("low", "moderate", "high", "very high")


def test_zoomed_in_the_map_sends_the_window_s_sites_and_a_click_finds_them(big):
    from dashboard.figures import make_map_figure
    from dashboard.views import site_id_at

    centre = {"lon": -1.5, "lat": 7.0}  # one of the synthetic clusters (GHA)
    fig = make_map_figure(big, center=centre, zoom=6.0)
    sites = [t for t in fig.data if t.meta == "sites"]
    assert len(sites) == 4
    window = view_window(centre["lon"], centre["lat"], 6.0)
    inside = window.contains(*mercator_px(big["lon"].to_numpy(), big["lat"].to_numpy()))
    from dashboard.figures import MAX_MAP_POINTS

    assert 0 < inside.sum() <= MAX_MAP_POINTS
    rows = np.concatenate([t.customdata[:, 0].astype(float) for t in sites if t.customdata is not None])
    assert sorted(rows.astype(int).tolist()) == np.flatnonzero(inside).tolist()
    first = sites[0].customdata[0]
    assert site_id_at(big, first[0]) == big["site_id"].iloc[int(first[0])]
    assert sites[0].text[0] == f"<b>{big['name'].iloc[int(first[0])]}</b><br>{big['commodity'].iloc[int(first[0])]}"


def test_few_sites_are_all_drawn_whatever_the_view(big):
    from dashboard.figures import make_map_figure

    fig = make_map_figure(big.iloc[:2000], center={"lon": 150.0, "lat": -30.0}, zoom=9.0)
    assert sum(len(t.lon) for t in fig.data if t.meta == "sites") == 2000
