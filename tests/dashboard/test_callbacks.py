"""Callbacks called as plain functions (a Flask app context for the settings, Dash's context for the trigger)."""

from __future__ import annotations

import base64
import io
import zipfile

import flask
import pandas as pd
import pytest
from dash import no_update
from dash._callback_context import context_value
from dash._utils import AttributeDict
from dash.exceptions import PreventUpdate

from benchmarks.synthetic_scored import synthetic_protected_areas, synthetic_scored
from dashboard import callbacks as cb
from dashboard import ids, totals
from dashboard.context import basemap_url, show_error
from dashboard.data import Dataset
from dashboard.figures import (
    CHART_COLUMNS,
    CHART_NAMES,
    CHART_TITLES,
    COUNT_CHARTS,
    MERCURY_CHART,
    WEIGHT_FREE_CHARTS,
)
from dashboard.render import chart_outputs, initial_outputs
from dashboard.state import decode_state, default_state
from dashboard.views import filter_view, prepare_scored, render_state
from layers.errors import LayerError
from settings import Settings

N_CONTROLS = len(cb._CONTROLS)


@pytest.fixture
def dataset():
    raw = synthetic_scored(600, seed=11)
    return Dataset(
        facts=raw, scored=raw, countries=None, protected_areas=synthetic_protected_areas(5),
        sources=("sites: synthetic test data",), warnings=(), is_demo=True, n_rejected=0,
    )  # fmt: skip


@pytest.fixture
def app(tmp_path, monkeypatch, dataset):
    settings = Settings(cache_dir=tmp_path / "cache", workspace_dir=tmp_path / "ws")
    prepared = prepare_scored(dataset.scored)
    monkeypatch.setattr(cb, "get_dataset_for", lambda s, ws: dataset)
    monkeypatch.setattr(cb, "get_scored", lambda s, ws, w, d: prepared)
    server = flask.Flask("test")
    server.config["ASM_SETTINGS"] = settings
    with server.test_request_context():
        yield prepared


def trigger(prop_id: str | None, value=None) -> AttributeDict:
    """Set Dash's callback context as the renderer would (None: the initial call, nothing triggered)."""
    inputs = [] if prop_id is None else [{"prop_id": prop_id, "value": value}]
    ctx = AttributeDict(triggered_inputs=inputs, updated_props={})
    context_value.set(ctx)
    return ctx


def _controls(**changes):
    defaults = default_state()
    values = {key: defaults[key] for _, _, key in cb._CONTROLS}
    values.update(changes)
    return [values[key] for _, _, key in cb._CONTROLS]


WEIGHT_IDS = [{"type": ids.WEIGHT, "key": k} for k in ("mercury", "land_use", "protected_area")]
DECAY_IDS = [{"type": ids.DECAY, "key": "protected_area"}]


def _sync(
    search,
    controls,
    weights=(1.0, 0.6, 1.0),
    decay=((10.0, 70.0),),
    site=None,
    relayout=None,
    current=None,
    view=None,
    selected=None,
    clear=None,
    workspace=None,
    draw_mode="selection",
):
    return cb.sync_state(
        search, *controls, list(weights), [list(d) for d in decay], site, relayout, selected, clear,
        WEIGHT_IDS, DECAY_IDS, current, view, workspace, draw_mode,
    )  # fmt: skip


def test_sync_restores_controls_from_a_shared_link(app):
    trigger(None)
    out = _sync("?c=GHA,COD&w=mercury:0.3&site=S000001&v=10,5,4", _controls())
    url, state = out[0], out[1]
    controls = out[2 : 2 + N_CONTROLS]
    weights, decay, site, view = out[2 + N_CONTROLS :]
    assert url is no_update
    assert state["countries"] == ["GHA", "COD"] and "site" not in state and "view" not in state
    assert controls[0] == ["GHA", "COD"]
    assert weights == [0.3, 0.6, 1.0] and decay == [[10.0, 70.0]]
    assert (site, view) == ("S000001", [10.0, 5.0, 4.0])


def test_sync_reports_a_garbage_link_in_the_alert(app):
    ctx = trigger("app-url.search", "?c=1234&zz=y")
    out = _sync("?c=1234&zz=y", _controls())
    assert out[1]["countries"] == []
    assert "ignored" in ctx.updated_props[ids.ALERT]["children"]


def test_sync_writes_the_url_when_a_control_changes(app):
    trigger(f"{ids.FILTER_COUNTRY}.value", ["PER"])
    out = _sync("?v=1,2,3", _controls(countries=["PER"]), weights=(0.5, 0.6, 1.0))
    assert decode_state(out[0])["countries"] == ["PER"]
    assert decode_state(out[0])["weights"] == {"mercury": 0.5}
    assert decode_state(out[0])["view"] is None  # a new country choice re-fits the map
    assert out[-1] is None  # and forgets where the user had moved it
    assert out[1]["countries"] == ["PER"]
    assert all(v is no_update for v in out[2 : 2 + N_CONTROLS])


def test_sync_map_pan_updates_the_url_but_does_not_redraw(app):
    trigger(f"{ids.MAP}.relayoutData", {})
    out = _sync("?c=PER", _controls(countries=["PER"]), relayout={"map.center": {"lon": -70, "lat": -9}, "map.zoom": 5})
    assert decode_state(out[0])["view"] == [-70.0, -9.0, 5.0]
    assert out[1] is no_update  # the charts and the table stay
    assert out[-1] == [-70.0, -9.0, 5.0, cb.PANNED]  # the map's view: update_map decides whether it redraws


def test_a_pan_redraws_only_a_map_of_many_sites(app, monkeypatch):
    from dash.exceptions import PreventUpdate

    from dashboard import figures

    state = render_state(default_state())
    trigger(f"{ids.MAP_VIEW}.data", [-1.5, 7.0, 7.0])
    with pytest.raises(PreventUpdate):  # 600 sites: every one is drawn whatever the view
        cb.update_map(state, None, [-1.5, 7.0, 7.0], None)
    monkeypatch.setattr(figures, "MAX_MAP_POINTS", 100)  # as if there were too many to draw at once
    far, _ = cb.update_map(state, None, [10.0, 5.0, 0.5], None)
    assert {t.meta for t in far.data[:-1]} == {"cells"}
    near, _ = cb.update_map(state, None, [-1.5, 7.0, 9.0, cb.PANNED], None)  # one cluster, close up
    assert {t.meta for t in near.data[:-1]} == {"sites"}
    assert 0 < sum(len(t.lon) for t in near.data[:-1]) <= 100
    # drawn for where the user is: the camera is the view, and a later pan's answer will not move it back
    assert near.layout.map.zoom == 9.0 and near.layout.uirevision == "map|panned|"
    assert far.layout.uirevision != near.layout.uirevision  # a link's view is applied
    trigger(f"{ids.STATE}.data", state)  # a filter change redraws whatever the size
    assert cb.update_map(state, None, [-1.5, 7.0, 7.0], None)[0].data


def test_update_map_and_count(app):
    state = render_state({**default_state(), "countries": ["GHA"]})
    fig, count = cb.update_map(state, None, None, None)
    n = int((app["country_iso3"] == "GHA").sum())
    assert count == f"{n:,} of {len(app):,} sites"
    assert sum(len(t.lon) for t in fig.data[:4]) == n


def test_charts_and_table_follow_filters_and_map_selection(app):
    state = render_state({**default_state(), "commodities": ["gold"]})
    *figures, grid, note, hidden, _drawn = cb.update_charts_and_table(state, None)
    assert len(figures) == len(COUNT_CHARTS) == 4 and grid.id == ids.TABLE and note == "" and hidden
    box = [[-4.0, 4.0], [1.0, 4.0], [1.0, 10.0], [-4.0, 10.0]]  # around Ghana
    chosen = state | {"selection": box}
    expected = app[(app["commodity"] == "gold") & app["lon"].between(-4, 1) & app["lat"].between(4, 10)]
    *_, note, hidden, _drawn = cb.update_charts_and_table(chosen, None)
    assert note == f"Map selection: {len(expected):,} sites in the drawn area." and not hidden
    page = cb.table_block({"startRow": 0, "endRow": 500}, chosen, None, None)
    assert page["rowCount"] == len(expected) > 0
    assert sorted(r["site_id"] for r in page["rowData"]) == sorted(expected["site_id"])


def test_sync_a_map_selection_goes_into_the_link_and_the_render_state(app):
    trigger(f"{ids.MAP}.selectedData", {})
    selected = {"points": [], "range": {"map": [[-4.0, 10.0], [1.0, 4.0]]}}
    out = _sync("?c=GHA", _controls(countries=["GHA"]), selected=selected)
    assert "sel=-4.0000,10.0000~1.0000,10.0000~1.0000,4.0000~-4.0000,4.0000" in out[0]
    assert out[1]["selection"] == [[-4.0, 10.0], [1.0, 10.0], [1.0, 4.0], [-4.0, 4.0]]
    # the clear button (or a double-click, selectedData None) drops it
    trigger(f"{ids.SELECTION_CLEAR}.n_clicks", 1)
    out = _sync(out[0], _controls(countries=["GHA"]), clear=1)
    assert "sel=" not in out[0] and out[1]["selection"] is None and out[1]["countries"] == ["GHA"]


def test_sync_a_map_click_never_touches_the_selection(app):
    trigger(f"{ids.SELECTED_SITE}.data", "S000003")
    out = _sync("?c=GHA", _controls(countries=["GHA"]), site="S000003")
    assert decode_state(out[0])["site"] == "S000003" and decode_state(out[0])["selection"] is None
    assert out[1] is no_update  # opening a site redraws nothing


def test_table_block_pages_and_sorts(app):
    state = render_state(default_state())
    page = cb.table_block(
        {"startRow": 0, "endRow": 10, "sortModel": [{"colId": "risk_0_100", "sort": "asc"}]}, state, None, None
    )
    risks = [r["risk_0_100"] for r in page["rowData"]]
    assert len(risks) == 10 and risks == sorted(risks) and page["rowCount"] == len(app)


def test_select_site_from_table_row_and_from_map_point(app):
    trigger(f"{ids.TABLE}.cellClicked")
    assert cb.select_site(None, {"rowId": "S000007"}, None, None) == "S000007"
    trigger(f"{ids.MAP}.clickData")
    assert cb.select_site({"points": [{"customdata": [12.0, 50.0, 1.0]}]}, None, None, None) == app["site_id"].iloc[12]
    # as the browser sends it: the point's id is its row (a typed-array customdata is not in clickData)
    assert cb.select_site({"points": [{"id": "12", "lon": 1.0}]}, None, None, None) == app["site_id"].iloc[12]
    assert cb.select_site({"points": [{"id": "cell-4"}]}, None, None, None) is no_update  # a cell zooms in instead
    assert cb.select_site({"points": [{}]}, None, None, None) is no_update


def test_show_site_detail_and_missing_site(app):
    state = render_state(default_state())
    detail, lonlat = cb.show_site("S000003", state, None)
    assert lonlat == [pytest.approx(app["lon"].iloc[3]), pytest.approx(app["lat"].iloc[3])]
    assert "Nearest protected areas" in str(detail)
    detail, lonlat = cb.show_site("nope", state, None)
    assert lonlat is None and "not in these data" in str(detail)


def test_clicking_a_bar_filters(app):
    trigger(f"{ids.chart('risk-by-country')}.clickData")
    assert cb.filter_from_chart({"points": [{"x": "GHA", "customdata": "GHA"}]}, None, None, None) == (
        ["GHA"],
        no_update,
        no_update,
    )
    trigger(f"{ids.chart('commodity-mix')}.clickData")
    assert cb.filter_from_chart(None, None, {"points": [{"y": "gold", "customdata": "gold"}]}, None) == (
        no_update,
        ["gold"],
        no_update,
    )
    trigger(f"{ids.chart('risk-histogram')}.clickData")
    assert cb.filter_from_chart(None, None, None, {"points": [{"x": 62.5, "customdata": "high"}]}) == (
        no_update,
        no_update,
        ["high"],
    )


def test_reset_weights_returns_the_config_defaults(app):
    weights, decay = cb.reset_weights(1, WEIGHT_IDS, DECAY_IDS)
    assert weights == [1.0, 0.6, 1.0] and decay == [[10.0, 70.0]]


def test_export_csv_download_is_the_filtered_view(app):
    trigger(f"{ids.EXPORT_CSV}.n_clicks", 1)
    state = render_state({**default_state(), "countries": ["COD"]})
    download = cb.export_view(1, None, None, None, None, [None], state, None, "http://x/")
    assert download["filename"].endswith(".csv.zip")  # one download: the table and its about text
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(download["content"]))) as zf:
        names = zf.namelist()
        frame = pd.read_csv(io.BytesIO(zf.read(next(n for n in names if n.endswith(".csv")))))
        about = zf.read(next(n for n in names if n.endswith(".about.txt"))).decode()
    assert len(frame) == int((app["country_iso3"] == "COD").sum())
    assert "Weights and thresholds in use" in about


def test_upload_errors_become_one_alert(app):
    with pytest.raises(LayerError, match="file type is not accepted"):
        trigger(f"{ids.UPLOAD_SITES}.contents")
        cb.upload_layer("data:x;base64,AAAA", None, "virus.exe", None, None)
    ctx = trigger(None)
    show_error(LayerError("virus.exe", "this file type is not accepted", "upload a CSV"))
    assert ctx.updated_props[ids.ALERT]["children"] == "virus.exe: this file type is not accepted. Fix: upload a CSV"
    show_error(RuntimeError("boom"))
    assert "RuntimeError" in ctx.updated_props[ids.ALERT]["children"]


def test_download_rejected_without_upload_is_an_error(app):
    with pytest.raises(LayerError, match="no rejected rows"):
        cb.download_rejected(1, None)


# --- first page load: the layout already shows the default view -------------------------------------------------
@pytest.mark.parametrize("prop_id", [None, "app-url.search"])  # Location reports its search on mount
def test_sync_leaves_the_drawn_default_view_alone_on_page_load(app, prop_id):
    from dash.exceptions import PreventUpdate

    trigger(prop_id, "")
    with pytest.raises(PreventUpdate):
        _sync("", _controls(), current=render_state(default_state()))


def test_sync_back_to_a_plain_url_after_changes_restores_the_defaults(app):
    trigger("app-url.search", "")
    out = _sync("", _controls(countries=["PER"]), current=render_state({**default_state(), "countries": ["PER"]}))
    assert out[1] == render_state(default_state()) and out[2] == []
    trigger("app-url.search", "")
    out = _sync("", _controls(), current=render_state(default_state()), view=[10.0, 5.0, 4.0])
    assert out[-1] is None  # a plain link also resets a zoomed map


def test_sync_ignores_a_map_relayout_without_a_view_change(app):
    from dash.exceptions import PreventUpdate

    trigger(f"{ids.MAP}.relayoutData", {"autosize": True})
    with pytest.raises(PreventUpdate):
        _sync("?c=PER", _controls(countries=["PER"]), relayout={"autosize": True})


def test_initial_outputs_are_what_the_callbacks_draw_for_the_default_state(app, dataset):
    first = initial_outputs(Settings(), dataset, app, basemap_url())
    assert first["state"] == render_state(default_state())
    fig, count = cb.update_map(first["state"], None, None, None)
    assert first["count"] == count == f"{len(app):,} of {len(app):,} sites"
    assert first["map"].to_json() == fig.to_json()
    *figures, _grid, _note, _hidden, _drawn = cb.update_charts_and_table(first["state"], None)
    figures.insert(CHART_NAMES.index(MERCURY_CHART), cb.update_mercury_chart(first["state"], None)[0])
    assert [f.to_json() for f in first["charts"]] == [f.to_json() for f in figures]


def test_the_charts_and_table_never_wait_for_the_monte_carlo(app, monkeypatch):
    """The mercury chart is its own request: the charts + table callback draws no Monte Carlo, and the
    mercury callback draws the chart the page and the embed route draw for the same state."""
    totals.clear()
    draws = []
    real = totals.mercury_totals
    monkeypatch.setattr(totals, "mercury_totals", lambda *a, **k: draws.append(1) or real(*a, **k))
    state = render_state({**default_state(), "countries": ["GHA", "COD"]})
    *figures, _grid, _note, _hidden, charts_drawn = cb.update_charts_and_table(state, None)
    titles = [f.layout.title.text for f in figures]  # "synthetic demo data" is the subtitle
    assert draws == [] and titles == [CHART_TITLES[n] for n in COUNT_CHARTS]
    fig, drawn = cb.update_mercury_chart(state, None)
    assert draws == [1] and fig.layout.title.text.startswith(CHART_TITLES[MERCURY_CHART])
    assert sorted(fig.data[0].x) == ["COD", "GHA"]
    settings = Settings()
    dataset = cb.get_dataset_for(settings, None)
    view = filter_view(app, state, columns=CHART_COLUMNS)
    (direct,) = chart_outputs(settings, dataset, view, state, (MERCURY_CHART,))
    assert fig.to_json() == direct.to_json() and draws == [1]  # the same figure, from the memo
    # a weight or decay change leaves the chart alone (no release depends on them): not even a memo lookup
    reweighted = render_state({**state, "weights": {"mercury": 0.3}, "decay": {"reef": [5.0, 40.0]}})
    inputs_key = totals.inputs_key
    monkeypatch.setattr(totals, "inputs_key", None)  # a lookup would call it
    with pytest.raises(PreventUpdate):
        cb.update_mercury_chart(reweighted, None, drawn)
    monkeypatch.setattr(totals, "inputs_key", inputs_key)
    _fig, other = cb.update_mercury_chart(render_state({**state, "countries": ["GHA"]}), None, drawn)
    assert other != drawn  # a filter change draws it
    assert cb.update_mercury_chart(state, "another-workspace", drawn)[1] != drawn  # and other data
    # the other charts: a weight change redraws the classes and scores, not the distances or commodities
    assert charts_drawn == drawn
    *figures, grid, _note, _hidden, again = cb.update_charts_and_table(reweighted, None, charts_drawn)
    changed = dict(zip(COUNT_CHARTS, figures, strict=True))
    assert again == charts_drawn and grid.id == ids.TABLE
    assert all((changed[n] is no_update) == (n in WEIGHT_FREE_CHARTS) for n in COUNT_CHARTS)
    *figures, _grid, _note, _hidden, _k = cb.update_charts_and_table({**reweighted, "countries": ["GHA"]}, None, drawn)
    assert not any(f is no_update for f in figures)  # a filter change redraws them all


def test_basemap_url_follows_the_path_prefix(app):
    flask.current_app.config["ASM_PATH_PREFIX"] = "/asm/"
    assert basemap_url() == "/asm/basemap/countries.geojson"


def test_sync_names_the_countries_and_commodities_a_link_drops(app):
    ctx = trigger("app-url.search", "?c=GHA,XYZ,12&m=gold,unobtainium")
    out = _sync("?c=GHA,XYZ,12&m=gold,unobtainium", _controls())
    assert out[1]["countries"] == ["GHA"] and out[1]["commodities"] == ["gold"]
    alert = ctx.updated_props[ids.ALERT]["children"]
    assert "'12'" in alert and "countries not in these data: XYZ" in alert
    assert "commodities not in these data: unobtainium" in alert


def test_the_alert_clears_after_a_later_success_and_the_rejected_button_says_why(app, tmp_path):
    assert cb.clear_alert_after_success("sites.csv: 2 sites loaded, 0 rejected") is None
    disabled, title = cb.update_rejected_button(None, None)
    assert disabled and "No rejected rows" in title


def test_the_mercury_card_says_it_is_computing_over_its_last_figure():
    from dashboard.layout import COMPUTING_TEXT, _chart_card

    loading = _chart_card(MERCURY_CHART).children[0]
    assert loading.custom_spinner.children == COMPUTING_TEXT and loading.custom_spinner.role == "status"
    assert loading.overlay_style["visibility"] == "visible"  # the last figure stays, dimmed: not a blank card
    assert getattr(_chart_card("risk-histogram").children[0], "custom_spinner", None) is None


def test_new_data_in_the_same_workspace_redraws_the_charts_no_weight_changes(app):
    """A second upload into a workspace (same id, new data version) redraws the distances, commodities and mercury."""
    from dashboard.data import data_version
    from dashboard.uploads import save_upload
    from dashboard.workspace import new_workspace_id

    ws = new_workspace_id()
    settings = flask.current_app.config["ASM_SETTINGS"]
    csv = "site_id,lon,lat,commodity\na,-1.9,6.2,gold\nb,-1.8,6.3,tin\n"
    content = "data:text/csv;base64," + base64.b64encode(csv.encode()).decode()
    save_upload(settings, ws, "sites", "sites.csv", content)
    first = data_version(settings, ws)
    state = render_state(default_state())
    *_, drawn = cb.update_charts_and_table(state, ws)
    _fig, mercury_drawn = cb.update_mercury_chart(state, ws)
    save_upload(settings, ws, "sites", "sites.csv", content.replace("tin", "copper"))
    assert data_version(settings, ws) != first
    *figures, _grid, _note, _hidden, _key = cb.update_charts_and_table(state, ws, drawn)
    assert not any(f is no_update for f in figures)
    assert cb.update_mercury_chart(state, ws, mercury_drawn)[1] != mercury_drawn
