"""First page load: the default view drawn into the layout, the basemap served by its own route."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import flask
import geopandas as gpd
import pytest
import shapely

from benchmarks.synthetic_scored import synthetic_scored
from dashboard import app_factory, ids
from dashboard.data import Dataset
from dashboard.figures import (
    LAND_COLOUR,
    OUTLINE_COLOUR,
    countries_source_url,
    make_dashboard_map,
    parse_countries_query,
)
from dashboard.layout import make_layout
from dashboard.state import default_state
from dashboard.views import prepare_scored, render_state
from scoring.errors import UsageError
from settings import Settings

URL = "/basemap/countries.geojson"


@pytest.fixture(scope="module")
def countries() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"iso3": ["GHA", "COD", "PER"], "name": ["Ghana", "Congo", "Peru"]},
        geometry=[shapely.box(-3, 4, 1, 11), shapely.box(12, -13, 31, 5), shapely.box(-81, -18, -69, 0)],
        crs="EPSG:4326",
    )


@pytest.fixture(scope="module")
def scored():
    return prepare_scored(synthetic_scored(500, seed=21))


def _map(scored, countries, overlays, basemap="offline", countries_url=URL):
    state = {**default_state(), "overlays": overlays}
    return make_dashboard_map(
        scored, all_sites=scored, countries=countries, overlay_frames={}, state=state,
        basemap=basemap, countries_url=countries_url,
    )  # fmt: skip


def test_map_fetches_the_countries_from_the_route_in_one_outlined_layer(scored, countries):
    fig = _map(scored, countries, ["countries"])
    (land,) = fig.layout.map.layers
    assert isinstance(land.source, str) and land.source.startswith(URL + "?")
    assert (land.type, land.color, land.fill.outlinecolor) == ("fill", LAND_COLOUR, OUTLINE_COLOUR)
    query = parse_qs(urlsplit(land.source).query)
    tol, bounds = parse_countries_query(query["tol"][0], query["b"][0])
    assert 0.01 <= tol < 1 and bounds is not None and bounds[0] < bounds[2]


def test_outlines_off_keeps_the_land_without_a_visible_outline(scored, countries):
    (land,) = _map(scored, countries, []).layout.map.layers
    assert land.fill.outlinecolor == LAND_COLOUR


def test_online_basemap_draws_outlines_only(scored, countries):
    (outline,) = _map(scored, countries, ["countries"], basemap="carto-positron").layout.map.layers
    assert outline.type == "line" and outline.source.startswith(URL)
    assert _map(scored, countries, [], basemap="carto-positron").layout.map.layers == ()


def test_without_a_route_the_countries_travel_inside_the_figure(scored, countries):
    """Standalone exports (chart HTML, /embed) have no server to fetch from."""
    (land,) = _map(scored, countries, ["countries"], countries_url=None).layout.map.layers
    assert land.source["type"] == "FeatureCollection" and len(land.source["features"]) == 3


def test_source_url_keeps_a_workspace_query_and_rounds_its_values():
    url = countries_source_url(URL + "?ws=abc", 0.123456789, (-10.04, -5.0, 20.0, 30.06))
    query = parse_qs(urlsplit(url).query)
    assert query == {"ws": ["abc"], "tol": ["0.1235"], "b": ["-10.0,-5.0,20.0,30.1"]}


@pytest.mark.parametrize(
    ("tol", "bounds", "match"),
    [
        ("abc", None, "tol must be"),
        ("-1", None, "tol must be"),
        ("nan", None, "tol must be"),
        ("0.1", "1,2,3", "b must be"),
        ("0.1", "5,0,1,10", "b must be"),
        ("0.1", "a,b,c,d", "b must be"),
    ],
)
def test_bad_basemap_queries_are_refused(tol, bounds, match):
    with pytest.raises(UsageError, match=match):
        parse_countries_query(tol, bounds)


@pytest.fixture
def route_client(countries, scored, tmp_path, monkeypatch):
    dataset = Dataset(
        facts=scored, scored=scored, countries=countries, protected_areas=None, sources=(), warnings=(),
        is_demo=True, n_rejected=0,
    )  # fmt: skip
    import dashboard.data

    monkeypatch.setattr(dashboard.data, "get_dataset", lambda settings: dataset)
    dashboard.data._countries_geojson_bytes.cache_clear()
    server = flask.Flask("test")
    server.config["ASM_SETTINGS"] = Settings(cache_dir=tmp_path / "cache")
    app_factory._register_routes(server)
    return server.test_client()


def test_basemap_route_serves_the_clipped_countries_with_cache_headers(route_client):
    resp = route_client.get(URL + "?tol=0.01&b=-10,0,10,20")
    assert resp.status_code == 200 and resp.mimetype == "application/geo+json"
    assert resp.cache_control.max_age == 3600 and resp.cache_control.private
    gj = json.loads(resp.data)
    assert [f["properties"]["iso3"] for f in gj["features"]] == ["GHA"]
    everything = json.loads(route_client.get(URL).data)
    assert len(everything["features"]) == 3


def test_basemap_route_answers_a_bad_query_with_400(route_client):
    resp = route_client.get(URL + "?tol=0.1&b=1,2")
    assert resp.status_code == 400 and b"b must be" in resp.data


def test_layout_carries_the_default_view_and_an_empty_workspace(scored, countries):
    dataset = Dataset(
        facts=scored, scored=scored, countries=countries, protected_areas=None, sources=(), warnings=(),
        is_demo=True, n_rejected=0,
    )  # fmt: skip
    state = render_state(default_state())
    initial = {"state": state, "map": {"data": []}, "count": "500 of 500 sites", "charts": [{"data": []}] * 5}
    layout = make_layout(dataset, Settings(), None, initial)
    found = {}

    def walk(node):
        if hasattr(node, "id") and isinstance(getattr(node, "id", None), str):
            found[node.id] = node
        children = getattr(node, "children", None)
        for child in children if isinstance(children, list | tuple) else [children]:
            if hasattr(child, "to_plotly_json"):
                walk(child)

    walk(layout)
    assert found[ids.STATE].data == state
    assert found[ids.WORKSPACE].data == ""  # equal to an empty store: no callback fires on load
    assert found[ids.MAP].figure == {"data": []}
    assert found[ids.COUNT].children == "500 of 500 sites"
    assert all(found[ids.chart(n)].figure == {"data": []} for n in ("risk-by-country", "commodity-mix"))
