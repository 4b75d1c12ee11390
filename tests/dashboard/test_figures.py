"""Figure builders: traces, hover cards from customdata, payload budget, simplification, charts."""

from __future__ import annotations

import json

import numpy as np
import plotly.io as pio
import pytest

from benchmarks.synthetic_scored import synthetic_protected_areas, synthetic_scored
from dashboard.figures import (
    CHART_NAMES,
    HOVER_LEAN,
    RISK_ORDER,
    figure_payload_bytes,
    make_chart_figure,
    make_dashboard_map,
    make_map_figure,
    make_waterfall_figure,
    marker_sizes,
    overlay_layers,
    simplified_geojson,
    tolerance_for_zoom,
)
from dashboard.state import default_state
from dashboard.views import prepare_scored, site_record
from layers.risk_config import default_risk_config


@pytest.fixture(scope="module")
def scored():
    return prepare_scored(synthetic_scored(3000, seed=3))


def test_map_has_one_trace_per_class_plus_selection(scored):
    fig = make_map_figure(scored, size_by="workers")
    names = [t.name for t in fig.data]
    assert [n.split(" (")[0] for n in names[:4]] == list(RISK_ORDER)
    assert fig.data[-1].name == "selected site" and len(fig.data[-1].lon) == 0
    assert sum(len(t.lon) for t in fig.data[:4]) == len(scored)
    style = fig.layout.map.style
    assert style["name"] == "asm-offline"  # offline: no tile, glyph or sprite source at all
    assert all(src["type"] == "geojson" for src in style["sources"].values())
    assert "glyphs" not in style and "sprite" not in style


def test_hover_numbers_are_a_typed_array_and_names_travel_once(scored):
    fig = make_map_figure(scored)
    trace = fig.data[2]
    assert trace.customdata.dtype == np.float32 and trace.customdata.shape[1] == 3  # row, risk, distance
    assert (
        "%{text}" in trace.hovertemplate and "%{hovertext}" in trace.hovertemplate and "(high)" in trace.hovertemplate
    )
    row = trace.customdata[0]
    rec = site_record(scored, scored["site_id"].iloc[int(row[0])])
    assert trace.text[0] == f"<b>{rec['name']}</b><br>{rec['commodity']}"
    assert trace.hovertext[0] == rec["nearest_protected_area"]
    assert rec["risk_class"] == "high"
    assert isinstance(trace.lon, np.ndarray) and trace.lon.dtype == np.float32


def test_large_views_switch_to_a_lean_numeric_hover_card():
    big = prepare_scored(synthetic_scored(60_000, seed=4, geometry=False))  # 60k x 60 B of names > 2.5 MB
    fig = make_map_figure(big, max_payload_mb=5.0, max_points=100_000)  # points allowed: the lean card
    assert fig.data[0].customdata.dtype == np.float32 and fig.data[0].text is None
    assert fig.data[0].hovertemplate == HOVER_LEAN.replace("CLASS", "low")
    assert figure_payload_bytes(fig) < 5e6


def test_selected_site_ring(scored):
    rec = site_record(scored, scored["site_id"].iloc[10])
    fig = make_map_figure(scored, selected_site=rec)
    assert list(fig.data[-1].lon) == [pytest.approx(rec["lon"])]


def test_marker_sizes_area_scaled_and_nan_safe():
    sizes = marker_sizes(np.array([np.nan, 0.0, 1.0, 100.0]))
    assert sizes[0] == sizes[1] == 5.0
    assert sizes[3] > sizes[2] > 5.0


def test_simplified_geojson_clips_and_shrinks():
    pas = synthetic_protected_areas(50, vertices=400)
    full = simplified_geojson(pas, tolerance_deg=0.0001)
    coarse = simplified_geojson(pas, tolerance_deg=tolerance_for_zoom(2))
    assert len(json.dumps(coarse)) < len(json.dumps(full)) / 4
    clipped = simplified_geojson(pas, tolerance_deg=0.01, bounds=(0, 0, 20, 20))
    assert 0 < len(clipped["features"]) < len(full["features"])
    for feat in clipped["features"]:
        coords = np.array(feat["geometry"]["coordinates"][0])
        assert coords[:, 0].min() >= -1e-9 and coords[:, 0].max() <= 20 + 1e-9


def test_overlays_respect_the_payload_budget():
    pas = synthetic_protected_areas(800, vertices=400)
    layers = overlay_layers({"protected_areas": pas}, ["protected_areas"], zoom=8, bounds=None, budget_bytes=1e6)
    size = sum(len(json.dumps(layer["source"])) for layer in layers)
    assert 0 < size <= 1e6
    colours = {layer["color"] for layer in layers}
    assert len(colours) >= 3  # IUCN groups get their own colours


def test_a_wdpa_sized_overlay_zoomed_out_is_drawn_as_cells_within_the_budget_and_covers_every_area():
    """Simplifying never removes a polygon: 40,000 parks cost at least 100 bytes each, twice (fill and outline),
    so no tolerance brought them under the budget (a 100,000-PA layer took 127 s and sent 21 MB at zoom 1).
    Zoomed out they are the screen cells they fall in: within the budget, every park still drawn."""
    import geopandas as gpd
    import shapely

    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(-170, 170, 40_000), rng.uniform(-60, 70, 40_000)
    cats = np.array(["Ia", "II", "IV", "VI", "Not Reported"])[rng.integers(0, 5, 40_000)]
    pas = gpd.GeoDataFrame(
        {"name": [f"park {i}" for i in range(40_000)], "iucn_cat": cats},
        geometry=shapely.box(lon, lat, lon + 0.05, lat + 0.05), crs="EPSG:4326",
    )  # fmt: skip
    budget = 1e6
    layers = overlay_layers({"protected_areas": pas}, ["protected_areas"], zoom=1.0, bounds=None, budget_bytes=budget)
    assert 0 < sum(len(json.dumps(layer["source"])) for layer in layers) <= budget
    assert {layer["type"] for layer in layers} == {"fill"}  # cells: no outline layer drawing the grid
    drawn = shapely.union_all(
        [shapely.geometry.shape(f["geometry"]) for la in layers for f in la["source"]["features"]]
    )
    inside = shapely.covers(drawn, shapely.point_on_surface(np.asarray(pas.geometry.values)))
    assert inside.all(), f"{int((~inside).sum())} protected areas not drawn"
    # zoomed in on a few parks they are polygons again, with their names for the hover card
    x0, y0 = lon[0], lat[0]
    near = overlay_layers(
        {"protected_areas": pas}, ["protected_areas"], zoom=10.0, bounds=(x0 - 0.1, y0 - 0.1, x0 + 0.2, y0 + 0.2),
        budget_bytes=budget,
    )  # fmt: skip
    names = {f["properties"].get("name") for layer in near for f in layer["source"]["features"]}
    assert "park 0" in names and {"fill", "line"} <= {layer["type"] for layer in near}


def test_dashboard_map_payload_under_budget_with_every_overlay():
    import geopandas as gpd
    import shapely

    scored = prepare_scored(synthetic_scored(20_000, seed=5))
    pas = synthetic_protected_areas(600, vertices=300)
    countries = gpd.GeoDataFrame(
        {"iso3": ["GHA", "COD"], "name": ["Ghana", "Congo"]},
        geometry=[shapely.box(-3, 4, 1, 11), shapely.box(12, -13, 31, 5)],
        crs="EPSG:4326",
    )
    state = {**default_state(), "overlays": ["protected_areas", "rainforest", "reefs", "arctic", "countries"]}
    fig = make_dashboard_map(
        scored, all_sites=scored, countries=countries,
        overlay_frames={"protected_areas": pas, "rainforest": pas, "reefs": pas, "arctic_lat": 66.56},
        state=state, max_payload_mb=5.0,
    )  # fmt: skip
    assert len(pio.to_json(fig)) <= 5e6
    state["countries"] = ["GHA"]
    zoomed = make_dashboard_map(
        scored, all_sites=scored, countries=countries, overlay_frames={"protected_areas": pas},
        state={**state, "overlays": ["protected_areas"]}, max_payload_mb=5.0,
    )  # fmt: skip
    assert zoomed.layout.map.zoom > fig.layout.map.zoom
    assert -3 < zoomed.layout.map.center.lon < 1


@pytest.mark.parametrize("name", CHART_NAMES)
def test_every_chart_builds_for_data_and_for_an_empty_view(scored, name):
    fig = make_chart_figure(name, scored, is_demo=True)
    assert fig.layout.title.subtitle.text == "synthetic demo data"  # its own line: it fits a phone-wide chart
    assert len(fig.data) >= 1
    empty = make_chart_figure(name, scored.iloc[0:0])
    assert any("no " in (a.text or "") for a in empty.layout.annotations)


def test_unknown_chart_raises(scored):
    with pytest.raises(KeyError, match="unknown chart"):
        make_chart_figure("pie", scored)


def test_distance_chart_marks_the_buffer_distances(scored):
    fig = make_chart_figure("pa-distance", scored)
    labels = [a.text for a in fig.layout.annotations]
    assert [lbl.split(":")[0] for lbl in labels] == ["1 km", "5 km", "10 km", "25 km"]


def test_mercury_chart_has_low_high_error_bars(scored):
    fig = make_chart_figure("mercury-by-country", scored, config=default_risk_config())
    bar = fig.data[0]
    assert len(bar.y) > 0 and len(bar.error_y.array) == len(bar.y) and len(bar.error_y.arrayminus) == len(bar.y)
    assert (np.asarray(bar.error_y.array) >= 0).all()


def test_waterfall_ends_at_the_score(scored):
    rec = site_record(scored, scored["site_id"].iloc[0])
    fig = make_waterfall_figure(rec)
    wf = fig.data[0]
    assert list(wf.measure).count("total") == 1
    assert wf.y[-1] == pytest.approx(rec["risk_0_100"])
    assert sum(wf.y[:-1]) == pytest.approx(rec["risk_0_100"], abs=0.05)
