"""The dashboard's area of interest and mining change on the built-in demo (its real loaders and files):
the URL state, the screening joined to every view, the callbacks called as functions, the exports, the
briefing pack and the AOI report; independent references for the AOI's membership."""

from __future__ import annotations

import base64
import io
import json
import zipfile

import flask
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from dash import no_update
from dash._callback_context import context_value
from dash._utils import AttributeDict
from dash.exceptions import PreventUpdate

from dashboard import aoi_callbacks as acb
from dashboard import callbacks as cb
from dashboard import ids, shares
from dashboard import workspace_callbacks as wcb
from dashboard.aoi import aoi_features, get_screening, scored_for_state, with_aoi_columns
from dashboard.aoi_store import aoi_file
from dashboard.change_figures import CHANGE_TITLE
from dashboard.data import get_dataset
from dashboard.exports import export_download
from dashboard.mining import LAYER_PREFIX, change_in_view, get_change, mining_layers, year_layer_style
from dashboard.state import decode_state, default_state, encode_state
from dashboard.uploads import save_upload
from dashboard.views import filter_view, render_state
from dashboard.workspace import clear_workspace, new_workspace_id
from layers.errors import LayerError
from reports.aoi_report import report_site_count
from settings import Settings
from tests.geo.references import ref_distance_km

BOX = "draw:-57.2,-6.2~-55.6,-6.2~-55.6,-4.6~-57.2,-4.6"  # around the demo's Tapajós hotspot (Brazil)


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    return Settings(cache_dir=tmp_path_factory.mktemp("cache"), demo_n_sites=600)


@pytest.fixture(scope="module")
def dataset(settings):
    return get_dataset(settings)


@pytest.fixture
def server(settings):
    app = flask.Flask("test")
    app.config["ASM_SETTINGS"] = settings
    with app.test_request_context():
        yield app


def trigger(prop_id: str | None, value=None) -> AttributeDict:
    inputs = [] if prop_id is None else [{"prop_id": prop_id, "value": value}]
    ctx = AttributeDict(triggered_inputs=inputs, updated_props={})
    context_value.set(ctx)
    return ctx


def state_with(**changes) -> dict:
    return render_state({**default_state(), **changes})


# ------------------------------------------------------------------------------------------ URL state
def test_aoi_references_round_trip_and_bad_ones_are_dropped_with_a_message():
    for ref in ("pa:900000012", "up:" + "a" * 32, "draw:1.0000,2.0000~3.0000,2.0000~3.0000,4.0000"):
        state = {**default_state(), "aoi": ref, "aoi_km": 25.0}
        assert decode_state(encode_state(state))["aoi"] == ref
        assert decode_state(encode_state(state))["aoi_km"] == 25.0
    loose = encode_state({**default_state(), "aoi": "draw:1,2~3,2~3,4"})
    assert decode_state(loose)["aoi"] == "draw:1.0000,2.0000~3.0000,2.0000~3.0000,4.0000"  # canonical form
    for query in ("?aoi=evil:1", "?aoi=draw:1,2~3,4", "?aoi=up:../../etc", "?aoi=pa:%3Cscript%3E", "?aoikm=900"):
        state = decode_state(query)
        assert state["aoi"] is None and state["aoi_km"] == 10.0 and state["messages"], query


# ------------------------------------------------------------------------------------------ screening and filtering
def test_a_drawn_aoi_filters_to_the_sites_within_the_buffer_by_an_independent_reference(settings, dataset):
    state = state_with(aoi=BOX, aoi_km=10.0)
    scored = scored_for_state(settings, None, state)
    view = filter_view(scored, state)
    polygon = shapely.box(-57.2, -6.2, -55.6, -4.6)
    lon, lat = dataset.scored["lon"].to_numpy(), dataset.scored["lat"].to_numpy()
    near = np.flatnonzero((lon > -57.6) & (lon < -55.2) & (lat > -6.6) & (lat < -4.2))  # a generous box first
    ref = np.array([ref_distance_km(lon[i], lat[i], polygon) for i in near])
    assert len(view) > 20
    assert set(view["site_id"]) >= set(dataset.scored["site_id"].iloc[near[ref <= 9.9]])
    assert set(view["site_id"]) <= set(dataset.scored["site_id"].iloc[near[ref <= 10.1]])
    inside = view.set_index("site_id")["in_aoi"]
    for i in near:
        sid = dataset.scored["site_id"].iat[i]
        if sid in inside.index:
            assert inside[sid] == polygon.covers(shapely.Point(lon[i], lat[i]))
    # other filters combine with it, and without the AOI every site is back
    assert len(filter_view(scored, {**state, "risk_classes": ["high", "very high"]})) < len(view)
    assert len(filter_view(scored_for_state(settings, None, state_with()), state_with())) == len(dataset.scored)


def test_a_frame_without_the_aoi_columns_shows_nothing_rather_than_everything(dataset):
    assert len(filter_view(dataset.scored, state_with(aoi=BOX))) == 0


def test_a_protected_area_as_the_aoi(settings, dataset):
    pas = dataset.protected_areas
    pa_id = str(pas["pa_id"].iat[0])
    _frame, source = aoi_features(settings, dataset, None, f"pa:{pa_id}")
    assert source.startswith("protected area ") and pa_id in source
    screening, _ = get_screening(settings, None, f"pa:{pa_id}", 0.0)
    own = screening.protected_areas.set_index("pa_id").loc[pa_id]
    assert own["overlap_pct"] == pytest.approx(100.0, abs=0.01) and own["dist_km"] == 0.0
    with pytest.raises(LayerError, match="not in these data"):
        aoi_features(settings, dataset, None, "pa:no-such-park")


def test_with_aoi_columns_marks_only_the_selected_sites(settings, dataset):
    screening, _ = get_screening(settings, None, BOX, 10.0)
    out = with_aoi_columns(dataset.scored, screening)
    picked = out["dist_aoi_km"].notna()
    assert picked.sum() == len(screening.sites) and not out.loc[~picked, "in_aoi"].any()
    assert (out.loc[picked, "dist_aoi_km"] >= 0).all()


# ------------------------------------------------------------------------------------------ callbacks
def test_the_lasso_sets_the_aoi_only_in_aoi_mode(server):
    box = {"points": [], "range": {"map": [[-57.2, -4.6], [-55.6, -6.2]]}}
    trigger(f"{ids.MAP}.selectedData", box)
    ref, workspace, own, picked = acb.set_aoi(box, None, None, None, "aoi", None, None)
    assert ref.startswith("draw:") and decode_state("?aoi=" + ref)["aoi"] == ref
    assert workspace is no_update and own is no_update and picked is None
    with pytest.raises(PreventUpdate):
        acb.set_aoi(box, None, None, None, "selection", None, None)
    # and the selection callback leaves a lasso alone in AOI mode (no selection filter)
    controls = [default_state()[k] for _, _, k in cb._CONTROLS]
    with pytest.raises(PreventUpdate):
        cb.sync_state("", *controls, [], [], None, None, box, None, [], [], None, None, None, "aoi")


def test_an_uploaded_aoi_is_kept_in_the_workspace_by_its_content_hash(server, settings, tmp_path):
    gj = gpd.GeoDataFrame({"name": ["concession"]}, geometry=[shapely.box(-57.0, -6.0, -56.0, -5.0)], crs="EPSG:4326")
    raw = gj.to_json().encode()
    contents = "data:application/geo+json;base64," + base64.b64encode(raw).decode()
    trigger(f"{ids.AOI_UPLOAD}.contents", contents)
    ref, workspace, own, _ = acb.set_aoi(None, contents, None, None, "selection", "concession.geojson", None)
    assert ref.startswith("up:") and isinstance(workspace, str)
    assert own == workspace  # the new workspace is the browser's own (localStorage): the upload survives a reload
    path = aoi_file(settings, workspace, ref[3:])
    assert path is not None and path.read_bytes() == raw and path.name == "concession.geojson"
    again, ws2, own2, _ = acb.set_aoi(None, contents, None, None, "selection", "copy.geojson", workspace)
    assert again == ref and ws2 is no_update and own2 is no_update  # the same bytes: the same reference
    state = state_with(aoi=ref, aoi_km=0.0)
    _summary, note = acb.update_aoi_panel(state, workspace)
    assert "Area of interest:" in note
    # in another browser (another workspace) the link's upload is not there: a clear message, not all sites
    with pytest.raises(LayerError, match="not in this browser's workspace"):
        scored_for_state(settings, None, state)
    bad = "data:text/csv;base64," + base64.b64encode(b"a,b\n1,2\n").decode()
    with pytest.raises(LayerError):
        acb.set_aoi(None, bad, None, None, "selection", "points.csv", workspace)


def test_a_read_only_link_keeps_the_uploaded_aoi_and_takes_no_new_one(server, settings):
    """A snapshot (/s/<token>) of a workspace with uploaded sites and an uploaded AOI shows the same AOI
    selection; the owner's workspace going away changes nothing; revoked, the AOI is gone with it."""
    sites = "site_id,name,commodity,longitude,latitude\nin1,Inside,gold,-56.5,-5.5\nout1,Outside,gold,-50.0,-2.0\n"
    workspace = new_workspace_id()
    save_upload(
        settings, workspace, "sites", "sites.csv", "data:text/csv;base64," + base64.b64encode(sites.encode()).decode()
    )
    gj = gpd.GeoDataFrame({"name": ["concession"]}, geometry=[shapely.box(-57.0, -6.0, -56.0, -5.0)], crs="EPSG:4326")
    contents = "data:application/geo+json;base64," + base64.b64encode(gj.to_json().encode()).decode()
    trigger(f"{ids.AOI_UPLOAD}.contents", contents)
    ref, ws, own, _ = acb.set_aoi(None, contents, None, None, "selection", "concession.geojson", workspace)
    assert ws is no_update and own is no_update  # kept in the workspace in view
    state = state_with(aoi=ref, aoi_km=0.0)
    mine = filter_view(scored_for_state(settings, workspace, state), state)
    assert list(mine["site_id"]) == ["in1"]
    token = shares.create_snapshot(settings, workspace, "?" + encode_state(state).lstrip("?"))
    share = shares.share_id(token)
    clear_workspace(settings, workspace)
    assert aoi_file(settings, share, ref[3:]) is not None
    theirs = filter_view(scored_for_state(settings, share, state), state)
    assert list(theirs["site_id"]) == ["in1"]
    with pytest.raises(LayerError, match="read-only shared snapshot"):
        acb.set_aoi(None, contents, None, None, "selection", "concession.geojson", share)
    box = {"points": [], "range": {"map": [[-57.0, -5.0], [-56.0, -6.0]]}}
    trigger(f"{ids.MAP}.selectedData", box)
    drawn, *_ = acb.set_aoi(box, None, None, None, "aoi", None, share)  # drawing stays possible on a link
    assert drawn.startswith("draw:")
    shares.revoke(settings, token)
    assert aoi_file(settings, share, ref[3:]) is None


def test_a_link_without_uploaded_data_says_it_leaves_the_uploaded_aoi_behind(server, settings):
    gj = gpd.GeoDataFrame({"name": ["concession"]}, geometry=[shapely.box(-57.0, -6.0, -56.0, -5.0)], crs="EPSG:4326")
    contents = "data:application/geo+json;base64," + base64.b64encode(gj.to_json().encode()).decode()
    trigger(f"{ids.AOI_UPLOAD}.contents", contents)
    ref, workspace, _own, _ = acb.set_aoi(None, contents, None, None, "selection", "concession.geojson", None)
    view = encode_state(state_with(aoi=ref))
    link, note, _ = wcb.make_share_link(1, workspace, view, "http://host/" + view)
    assert link == "http://host/" + view and "Not your uploaded area of interest" in note
    _link, plain, _ = wcb.make_share_link(1, workspace, encode_state(state_with(aoi=BOX)), "http://host/")
    assert "area of interest" not in plain  # a drawn AOI is in the address itself


def test_the_panel_and_the_report_of_the_view(server, settings, dataset):
    state = state_with(aoi=BOX, aoi_km=10.0)
    summary, note = acb.update_aoi_panel(state, None)
    text = json.dumps(summary.to_plotly_json(), default=str)
    n = len(filter_view(scored_for_state(settings, None, state), state))
    assert f"Area of interest: {n:,} sites inside or within 10 km." == note
    for needle in ("Protected areas touched", "kg/yr", "90 % band", "Risk profile"):
        assert needle in text
    sent = acb.download_aoi_report(1, state, None, "http://x/?aoi=...")
    html_text = base64.b64decode(sent["content"]).decode()
    assert sent["filename"].startswith("aoi-report-") and sent["filename"].endswith(".html")
    assert report_site_count(html_text) == n and "SYNTHETIC DEMO DATA" in html_text
    assert "<script src" not in html_text
    with pytest.raises(LayerError, match="no area of interest"):
        acb.download_aoi_report(1, state_with(), None, None)


def test_exports_and_the_briefing_follow_the_aoi(server, settings, dataset):
    state = state_with(aoi=BOX, aoi_km=10.0)
    scored = scored_for_state(settings, None, state)
    name, data = export_download("csv", settings, dataset, scored, state)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        table = pd.read_csv(zf.open(name.removesuffix(".zip")))
        about = zf.read(name.removesuffix(".csv.zip") + ".about.txt").decode()
    assert len(table) == len(filter_view(scored, state)) and {"in_aoi", "dist_aoi_km"} <= set(table.columns)
    assert "area of interest" in about
    _, page = export_download("briefing", settings, dataset, scored, state)
    text = page.decode()
    assert "<h2>Area of interest</h2>" in text and "<h2>Mining year by year</h2>" in text
    assert "Protected areas with the fastest growth" in text
    _, chart = export_download("chart-html:mining-by-year", settings, dataset, scored, state)
    assert CHANGE_TITLE.encode() in chart and b"synthetic demo data" in chart


# ------------------------------------------------------------------------------------------ the mining change
def test_the_change_of_the_demo_and_its_view(settings, dataset):
    table = get_change(settings, None)
    assert sorted(table["year"].unique()) == list(range(2018, 2025))
    assert {"country_iso3", "iucn_cat", "sites_new", "sites_cumulative", "mined_pct_cumulative"} <= set(table.columns)
    per_year = table.groupby("year")["mining_km2_cumulative"].sum()
    assert (np.diff(per_year.to_numpy()) > 0).all()
    bra = change_in_view(table, {"countries": ["BRA"]})
    assert len(bra) and set(bra["country_iso3"]) == {"BRA"}
    screening, _ = get_screening(settings, None, BOX, 10.0)
    ids_in_aoi = set(screening.protected_areas["pa_id"].astype(str))
    in_aoi = change_in_view(table, {"aoi": BOX}, sorted(ids_in_aoi))
    assert set(in_aoi["target_id"]) <= ids_in_aoi


def test_the_change_panel_callbacks(server, settings, dataset):
    fig, _growth = acb.update_change(state_with(), None, "country", "cumulative", 2021)
    bars = [t for t in fig.data if t.type == "bar"]
    assert bars and all(list(t.x) == list(range(2018, 2025)) for t in bars)
    assert all(t.marker.line.width[3] == 2.5 and t.marker.line.width[0] == 0 for t in bars)  # 2021 outlined
    by_pa, _ = acb.update_change(state_with(), None, "target", "new", None)
    assert len([t for t in by_pa.data if t.type == "bar"]) <= 9  # the 8 largest and 'other protected areas'
    sent = acb.download_change_csv(1, state_with(countries=["PER"]), None)
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(sent["content"]))) as zf:
        table = pd.read_csv(zf.open("mining-by-year.csv"))
        assert "EPSG:6933" in zf.read("mining-by-year.about.txt").decode()
    assert set(table["country_iso3"]) == {"PER"}


def test_the_map_carries_one_layer_per_year_and_the_aoi(server, settings, dataset):
    layers = mining_layers(dataset, year=2020, zoom=3.0, bounds=None, budget_bytes=5e6)
    assert [layer["name"] for layer in layers] == [f"{LAYER_PREFIX}{y}" for y in range(2018, 2025)]
    assert [layer["visible"] for layer in layers] == [True, True, True, False, False, False, False]
    assert year_layer_style(2020, 2020)["color"] != year_layer_style(2019, 2020)["color"]
    small = mining_layers(dataset, year=None, zoom=3.0, bounds=None, budget_bytes=20_000)
    assert sum(len(json.dumps(layer["source"])) for layer in small) <= 20_000 or len(small) == 7
    trigger(f"{ids.STATE}.data")  # a state change, as the renderer calls it (not a pan): the map redraws
    fig, count = cb.update_map(state_with(aoi=BOX), None, None, None, 2019)
    names = [layer.name for layer in fig.layout.map.layers]
    assert "aoi" in names and "aoi-buffer" in names and f"{LAYER_PREFIX}2019" in names
    assert fig.layout.map.zoom > 5  # framed on the AOI
    assert count.startswith(
        f"{len(filter_view(scored_for_state(settings, None, state_with(aoi=BOX)), state_with(aoi=BOX))):,} of"
    )
    off, _ = cb.update_map(state_with(overlays=["countries"]), None, None, None, None)
    assert not [layer for layer in off.layout.map.layers if (layer.name or "").startswith(LAYER_PREFIX)]


def test_the_panel_says_plainly_when_the_mercury_of_every_site_is_unknown(server, settings):
    """Sites using mercury with no size (the Peru gold inventory: points with no workers or production) have no
    release estimate: the key reads 'none estimated' and the count left out, without a stray leading '; '."""
    sites = "site_id,commodity,mercury_use,longitude,latitude\na,gold,yes,-56.5,-5.5\nb,gold,yes,-56.4,-5.4\n"
    workspace = new_workspace_id()
    save_upload(
        settings, workspace, "sites", "sites.csv", "data:text/csv;base64," + base64.b64encode(sites.encode()).decode()
    )
    summary, _note = acb.update_aoi_panel(state_with(aoi=BOX, aoi_km=0.0), workspace)
    text = json.dumps(summary.to_plotly_json(), default=str)
    assert "none estimated" in text
    assert "Small('2 mercury-using sites of unknown size not counted')" in text, text[:3000]


def test_zoomed_out_mining_layers_fit_the_budget_as_cells_and_cover_every_footprint(dataset):
    """Simplifying never removes a polygon, so many footprints have a payload floor (7.1 MB for the seven AMW years
    at any zoom: the page sent it in its layout and headless Chromium hung parsing it). Over the budget, the layers
    are the screen cells the footprints fall in: within the budget, and every footprint is still drawn."""
    roomy = mining_layers(dataset, year=None, zoom=3.0, bounds=None, budget_bytes=1e9)
    by_year = {y: dataset.mining[dataset.mining["year"] == y] for y in sorted(dataset.mining["year"].unique())}
    for layer, (year, feet) in zip(roomy, by_year.items(), strict=True):  # within the budget: the polygons
        assert layer["name"] == f"{LAYER_PREFIX}{year}" and len(layer["source"]["features"]) == len(feet)
    polygons = sum(len(json.dumps(layer["source"])) for layer in roomy)
    budget = polygons / 4
    cells = mining_layers(dataset, year=None, zoom=3.0, bounds=None, budget_bytes=budget)
    assert sum(len(json.dumps(layer["source"])) for layer in cells) <= budget
    for layer, (year, feet) in zip(cells, by_year.items(), strict=True):
        assert layer["name"] == f"{LAYER_PREFIX}{year}" and layer["type"] == "fill"
        drawn = shapely.union_all([shapely.geometry.shape(f["geometry"]) for f in layer["source"]["features"]])
        inside = shapely.covers(drawn, shapely.point_on_surface(np.asarray(feet.geometry.values)))
        assert inside.all(), f"{year}: {int((~inside).sum())} footprints not drawn"
    # zoomed in on a few footprints, they are polygons again
    first = dataset.mining.geometry.iloc[0]
    x0, y0, x1, y1 = first.bounds
    near = mining_layers(
        dataset, year=None, zoom=12.0, bounds=(x0 - 0.01, y0 - 0.01, x1 + 0.01, y1 + 0.01), budget_bytes=budget
    )
    assert any(f["geometry"]["type"] == "Polygon" for layer in near for f in layer["source"]["features"])


def test_an_unnamed_protected_area_is_named_by_its_id_in_the_growth_tables():
    """A polygon file without a name column (Amazon Mining Watch's Amazon limit as the protected areas) gave an
    empty cell in the fastest-growth tables: which area grew was not said."""
    from dashboard.change_panel import growth_table
    from dashboard.change_view import growth_table_html

    growth = pd.DataFrame(
        {
            "target_kind": ["protected_area", "protected_area"], "target_id": ["gen-69a25f8763fa", "555"],
            "target_name": [np.nan, "Parque Nacional Yanachaga"], "country_iso3": ["BRA", "PER"],
            "iucn_cat": ["Not Reported", "II"], "mining_km2_first": [9630.2, 1.0], "mining_km2_last": [11631.1, 2.0],
            "growth_km2": [2000.9, 1.0], "growth_km2_per_yr": [2000.9, 1.0], "new_km2_last_year": [2000.9, 1.0],
            "mined_pct_last": [0.14, 0.5],
        }
    )  # fmt: skip
    page = growth_table_html(growth)
    assert "unnamed (gen-69a25f8763fa)" in page and "Parque Nacional Yanachaga" in page
    cells = [str(td.children) for tr in growth_table(growth).children.children[1].children for td in tr.children]
    assert "unnamed (gen-69a25f8763fa)" in cells and "Parque Nacional Yanachaga" in cells
    assert pd.isna(growth["target_name"].iat[0])  # the caller's frame (and the exported table) is left as it is


def _star(lon: float, lat: float, n: int, r_deg: float) -> shapely.Polygon:
    """A polygon of ``n`` vertices whose radius wobbles (every vertex matters to its outline)."""
    a = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    r = r_deg * (1.0 + 0.05 * np.sin(37.0 * a) + 0.02 * np.cos(411.0 * a))
    return shapely.Polygon(np.column_stack([lon + r * np.cos(a) / np.cos(np.radians(lat)), lat + r * np.sin(a)]))


def test_a_heavy_uploaded_aoi_is_drawn_within_the_map_budget_at_every_zoom(server, settings):
    """A real AOI (Amazon Mining Watch's 237 indigenous territories: 167,501 vertices) sent its full outline and
    buffer with every map update, 10.4 MB of GeoJSON, and the page stopped answering; they are drawn for the view."""
    from dashboard.aoi import AOI_PAYLOAD_SHARE
    from dashboard.basemap import payload_bytes, tolerance_for_zoom

    area = _star(-56.3, -5.4, 120_000, 0.6)
    raw = gpd.GeoDataFrame({"name": ["heavy concession"]}, geometry=[area], crs="EPSG:4326").to_json().encode()
    contents = "data:application/geo+json;base64," + base64.b64encode(raw).decode()
    trigger(f"{ids.AOI_UPLOAD}.contents", contents)
    ref, workspace, _own, _ = acb.set_aoi(None, contents, None, None, "selection", "heavy.geojson", None)
    state = state_with(aoi=ref, aoi_km=5.0)
    budget = settings.max_map_payload_mb * 1e6 * AOI_PAYLOAD_SHARE
    fig, _count = cb.update_map(state, workspace, None, None)  # framed on the AOI
    layers = [layer.to_plotly_json() for layer in fig.layout.map.layers if layer.name in ("aoi", "aoi-buffer")]
    assert [layer["name"] for layer in layers] == ["aoi-buffer", "aoi"]
    assert [layer.get("below") for layer in layers] == ["traces", "traces"]  # under the sites, not over them
    assert payload_bytes(layers) <= budget
    outline = shapely.from_geojson(json.dumps(layers[1]["source"]["features"][0]["geometry"]))
    tol = tolerance_for_zoom(fig.layout.map.zoom)  # about a pixel: the outline still traces the AOI there
    assert shapely.hausdorff_distance(outline, area.exterior) < 8 * tol
    # zoomed in on the edge: only the part in view, in more detail, still within the budget
    lon, lat = area.exterior.coords[0]
    fig, _count = cb.update_map(state, workspace, [lon, lat, 12.0], None)
    near = next(layer.to_plotly_json() for layer in fig.layout.map.layers if layer.name == "aoi")["source"]
    coords = np.vstack(
        [shapely.get_coordinates(shapely.from_geojson(json.dumps(f["geometry"]))) for f in near["features"]]
    )
    half = 360.0 / 2.0**12
    assert (np.abs(coords - [lon, lat]) <= half + 1e-4).all()  # clipped to the view (coordinates to 1e-4°)
    assert payload_bytes([{"source": near}]) <= budget


def test_callbacks_arriving_together_screen_the_aoi_and_build_an_upload_once(server, settings, monkeypatch):
    """The map, charts, table and panel callbacks of one change ask for the same screening (and, after an
    upload, the same dataset) at once: each computed it, and a 12 s screening of a real AOI took 65 s."""
    import threading
    import time

    from dashboard import aoi as aoi_mod
    from dashboard import data as data_mod
    from dashboard.aoi import screening_for_state
    from dashboard.data import get_dataset_for

    calls = {"prepare": 0, "build": 0}

    real_prepare, real_build = aoi_mod.prepare, data_mod.build_workspace_dataset

    def prepare(*args, **kwargs):
        calls["prepare"] += 1
        time.sleep(0.5)
        return real_prepare(*args, **kwargs)

    def build(*args, **kwargs):
        calls["build"] += 1
        time.sleep(0.5)
        return real_build(*args, **kwargs)

    monkeypatch.setattr(aoi_mod, "prepare", prepare)
    monkeypatch.setattr(data_mod, "build_workspace_dataset", build)
    sites = "site_id,commodity,longitude,latitude\na,gold,-56.5,-5.5\nb,gold,-56.4,-5.4\n"
    workspace = new_workspace_id()
    save_upload(
        settings, workspace, "sites", "s.csv", "data:text/csv;base64," + base64.b64encode(sites.encode()).decode()
    )
    state = state_with(aoi=BOX, aoi_km=7.25)  # a buffer no other test screens (the cache is per process)
    results: list = []

    def callback():
        with server.app_context():
            results.append((get_dataset_for(settings, workspace), screening_for_state(settings, workspace, state)))

    threads = [threading.Thread(target=callback) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and calls == {"prepare": 1, "build": 1}
    assert all(r[0] is results[0][0] and r[1][0] is results[0][1][0] for r in results)


def test_the_panel_says_which_feature_of_the_aoi_each_protected_area_row_belongs_to(server, settings):
    """An AOI of several features (237 indigenous territories) listed the same park on several rows with different
    overlaps and no way to tell which territory each was."""
    feats = gpd.GeoDataFrame(
        {"name": ["Territory North", "Territory South"]},
        geometry=[shapely.box(-57.2, -5.4, -55.6, -4.6), shapely.box(-57.2, -6.2, -55.6, -5.4)],
        crs="EPSG:4326",
    )
    contents = "data:application/geo+json;base64," + base64.b64encode(feats.to_json().encode()).decode()
    trigger(f"{ids.AOI_UPLOAD}.contents", contents)
    ref, workspace, _own, _ = acb.set_aoi(None, contents, None, None, "selection", "territories.geojson", None)
    summary, _note = acb.update_aoi_panel(state_with(aoi=ref, aoi_km=10.0), workspace)
    table = json.dumps(summary.to_plotly_json(), default=str)
    assert "Th(children='area of interest', scope='col')" in table
    assert "Td('Territory North')" in table and "Td('Territory South')" in table
    one, _note = acb.update_aoi_panel(state_with(aoi=BOX, aoi_km=10.0), None)  # one feature: no such column
    assert "area of interest', scope" not in json.dumps(one.to_plotly_json(), default=str)
