"""Thin callbacks: read inputs, call one or two pure functions, return outputs.

Flow: the controls and the URL are kept in step by ``sync_state`` (one callback that
both reads and writes them, so a shared link restores every control); it writes the
render state to ``ids.STATE``, from which the map, charts and table are drawn (by
``dashboard.render``, shared with the first page and the embed route). Errors raised here
reach ``dashboard.context.show_error`` (Dash's ``on_error``), which turns them into the
visible alert through the one error table (``scoring.errors``).
"""

from __future__ import annotations

import json

import dash
from dash import ALL, MATCH, Input, Output, State, callback, clientside_callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashboard import ids, shares
from dashboard.aoi import aoi_view, extra_map_layers, scored_for_state
from dashboard.context import basemap_url, current_settings
from dashboard.data import data_version, get_dataset_for, get_scored, risk_config, weight_defaults
from dashboard.detail import make_detail
from dashboard.exports import export_download
from dashboard.figures import (
    CHART_COLUMNS,
    COUNT_CHARTS,
    MERCURY_CHART,
    MONTE_CARLO_CHARTS,
    WEIGHT_FREE_CHARTS,
    map_follows_view,
)
from dashboard.layout import banner, make_grid, not_assessed_note
from dashboard.render import chart_outputs, map_outputs
from dashboard.risk_text import not_assessed_summary
from dashboard.state import decode_state, default_state, encode_state
from dashboard.uploads import overlays_after_upload, save_upload
from dashboard.views import (
    CONTROL_KEYS,
    commodity_options,
    controls_from_state,
    country_options,
    date_bounds,
    date_hint,
    drop_absent,
    filter_mask,
    filter_view,
    filters_key,
    render_state,
    selection_note,
    selection_polygon,
    site_detail_record,
    site_id_at,
    state_from_controls,
    table_page,
    view_from_relayout,
)
from dashboard.weights import typed_weight
from dashboard.workspace import clear_workspace, new_workspace_id, rejected_csv
from dashboard.workspace_callbacks import panel_for
from layers.errors import LayerError
from settings import Settings

_CONTROLS = (
    (ids.FILTER_COUNTRY, "value", "countries"),
    (ids.FILTER_COMMODITY, "value", "commodities"),
    (ids.FILTER_RISK_CLASS, "value", "risk_classes"),
    (ids.FILTER_MERCURY, "value", "mercury_use"),
    (ids.FILTER_PA_MODE, "value", "pa_mode"),
    (ids.FILTER_PA_KM, "value", "pa_km"),
    (ids.FILTER_ECOSYSTEM, "value", "ecosystems"),
    (ids.FILTER_ECO_KM, "value", "eco_km"),
    (ids.FILTER_DATE, "start_date", "date_from"),
    (ids.FILTER_DATE, "end_date", "date_to"),
    (ids.MAP_SIZE_BY, "value", "size_by"),
    (ids.MAP_OVERLAYS, "value", "overlays"),
    (ids.AOI, "data", "aoi"),  # the area of interest: set by dashboard.aoi_callbacks, kept in the URL
    (ids.AOI_KM, "value", "aoi_km"),
)
assert tuple(c[2] for c in _CONTROLS) == CONTROL_KEYS
_EXPORT_KINDS = {
    ids.EXPORT_CSV: "csv",
    ids.EXPORT_XLSX: "xlsx",
    ids.EXPORT_GEOJSON: "geojson",
    ids.EXPORT_GPKG: "gpkg",
    ids.EXPORT_BRIEFING: "briefing",
}
_WEIGHTS = {"type": ids.WEIGHT, "key": ALL}
PANNED = "panned"  # the last item of a map view the user moved to (the map-view store), after [lon, lat, zoom]
_DECAY = {"type": ids.DECAY, "key": ALL}


def _context(state: dict | None, workspace: str | None, settings: Settings | None = None):
    """Settings, dataset, scored frame (with the state's weights) and the render state."""
    settings = settings or current_settings()
    state = state or render_state(default_state())
    dataset = get_dataset_for(settings, workspace)
    scored = get_scored(settings, workspace, state.get("weights") or {}, state.get("decay") or {})
    if state.get("aoi"):
        scored = scored_for_state(settings, workspace, state)  # with the AOI's columns (dashboard.aoi)
    return settings, dataset, scored, state


# --- URL <-> controls ------------------------------------------------------------------------------
@callback(
    Output(ids.URL, "search"),
    Output(ids.STATE, "data"),
    *[Output(cid, prop) for cid, prop, _ in _CONTROLS],
    Output(_WEIGHTS, "value"),
    Output(_DECAY, "value"),
    Output(ids.SELECTED_SITE, "data"),
    Output(ids.MAP_VIEW, "data"),
    Input(ids.URL, "search"),
    *[Input(cid, prop) for cid, prop, _ in _CONTROLS],
    Input(_WEIGHTS, "value"),
    Input(_DECAY, "value"),
    Input(ids.SELECTED_SITE, "data"),
    Input(ids.MAP, "relayoutData"),
    Input(ids.MAP, "selectedData"),
    Input(ids.SELECTION_CLEAR, "n_clicks"),
    State(_WEIGHTS, "id"),
    State(_DECAY, "id"),
    State(ids.STATE, "data"),
    State(ids.MAP_VIEW, "data"),
    State(ids.WORKSPACE, "data"),
    State(ids.AOI_DRAW_MODE, "value"),
)
def sync_state(search, *args):
    n = len(_CONTROLS)
    values, (weights, decay, site, relayout, selected, _clear, weight_ids, decay_ids, current, map_view, workspace) = (
        args[:n],
        args[n:-1],
    )
    draw_mode = args[-1]
    defaults = weight_defaults(current_settings())
    wkeys, dkeys = [w["key"] for w in weight_ids], [d["key"] for d in decay_ids]
    keep = [no_update] * n
    trigger = ctx.triggered_id
    if trigger is None or trigger == ids.URL:  # page load or back/forward: the URL wins
        state = decode_state(search)
        if state["countries"] or state["commodities"]:
            scored = get_dataset_for(current_settings(), workspace).scored
            present = {
                c: scored[c].dropna().astype(str).unique() if c in scored else [] for c in ("country_iso3", "commodity")
            }
            state = drop_absent(state, present["country_iso3"], present["commodity"])
        if state == default_state() and current == render_state(state) and site is None and map_view is None:
            # the page already shows the default view (drawn into the layout; see initial_outputs):
            # redrawing it would only delay the first paint
            raise PreventUpdate
        if state["messages"]:
            dash.set_props(
                ids.ALERT, {"children": "Some parts of the link were ignored: " + "; ".join(state["messages"])}
            )
        controls, w, d = controls_from_state(state, defaults)
        return (
            no_update,
            render_state(state),
            *[controls[key] for _, _, key in _CONTROLS],
            [w.get(k) for k in wkeys],
            [d.get(k) for k in dkeys],
            state["site"],
            state["view"],
        )
    previous = decode_state(search)
    view, selection = previous["view"], previous["selection"]
    prop = ctx.triggered[0]["prop_id"].rsplit(".", 1)[-1] if ctx.triggered else ""
    if trigger == ids.MAP and prop == "selectedData":
        if draw_mode == "aoi":  # the lasso drew the area of interest (dashboard.aoi_callbacks), not a selection
            raise PreventUpdate
        selection = selection_polygon(selected)  # a lasso or box; None when the map is double-clicked
        if selection == previous["selection"]:
            raise PreventUpdate
    elif trigger == ids.SELECTION_CLEAR:
        selection = None
    elif trigger == ids.MAP:
        view = view_from_relayout(relayout)
        if view is None:  # e.g. the autosize event of the first draw: the view did not change
            raise PreventUpdate
    elif trigger == ids.FILTER_COUNTRY:
        view = None  # a new country choice re-fits the map
    state = state_from_controls(
        {key: v for (_, _, key), v in zip(_CONTROLS, values, strict=True)},
        dict(zip(wkeys, weights, strict=True)),
        dict(zip(dkeys, decay, strict=True)),
        defaults,
        site=site,
        view=view,
        selection=selection,
    )
    view_only = trigger == ids.SELECTED_SITE or (trigger == ids.MAP and prop != "selectedData")
    render = no_update if view_only else render_state(state)
    panned = trigger == ids.MAP and prop != "selectedData"
    return (
        encode_state(state),
        render,
        *keep,
        [no_update] * len(wkeys),
        [no_update] * len(dkeys),
        no_update,
        # the view the user moved the map to, marked as such (a map of many sites is drawn for it, update_map);
        # a new country choice re-fits the map
        [*view, PANNED] if panned and view else (None if trigger == ids.FILTER_COUNTRY else no_update),
    )


@callback(
    Output(ids.FILTER_COUNTRY, "value", allow_duplicate=True),
    Output(ids.FILTER_COMMODITY, "value", allow_duplicate=True),
    Output(ids.FILTER_RISK_CLASS, "value", allow_duplicate=True),
    Output(ids.FILTER_MERCURY, "value", allow_duplicate=True),
    Output(ids.FILTER_PA_MODE, "value", allow_duplicate=True),
    Output(ids.FILTER_ECOSYSTEM, "value", allow_duplicate=True),
    Output(ids.FILTER_DATE, "start_date", allow_duplicate=True),
    Output(ids.FILTER_DATE, "end_date", allow_duplicate=True),
    Input(ids.FILTER_RESET, "n_clicks"),
    prevent_initial_call=True,
)
def reset_filters(_n):
    d = default_state()
    return (
        d["countries"],
        d["commodities"],
        d["risk_classes"],
        d["mercury_use"],
        d["pa_mode"],
        d["ecosystems"],
        None,
        None,
    )


@callback(
    Output(_WEIGHTS, "value", allow_duplicate=True),
    Output(_DECAY, "value", allow_duplicate=True),
    Input(ids.WEIGHTS_RESET, "n_clicks"),
    State(_WEIGHTS, "id"),
    State(_DECAY, "id"),
    prevent_initial_call=True,
)
def reset_weights(_n, weight_ids, decay_ids):
    weights, decay = weight_defaults(current_settings())
    return [weights[w["key"]] for w in weight_ids], [decay[d["key"]] for d in decay_ids]


@callback(
    Output({"type": ids.WEIGHT, "key": MATCH}, "value", allow_duplicate=True),
    Output({"type": ids.WEIGHT_BOX, "key": MATCH}, "value"),
    Output({"type": ids.WEIGHT_ERROR, "key": MATCH}, "children"),
    Input({"type": ids.WEIGHT_BOX, "key": MATCH}, "value"),
    Input({"type": ids.WEIGHT, "key": MATCH}, "value"),
    prevent_initial_call=True,
)
def sync_weight_box(typed, slider):
    """A weight's slider and its box in step: the box applies on Enter or blur, and refuses a value outside 0-1
    with a visible message instead of clamping it (one callback for both directions: no cycle)."""
    if isinstance(ctx.triggered_id, dict) and ctx.triggered_id.get("type") == ids.WEIGHT:
        return no_update, slider, ""
    value, message = typed_weight(typed, slider)
    if value is None:
        return no_update, slider, message
    return value, no_update, ""


# --- linked charts -> filters ------------------------------------------------------------------------
@callback(
    Output(ids.FILTER_COUNTRY, "value", allow_duplicate=True),
    Output(ids.FILTER_COMMODITY, "value", allow_duplicate=True),
    Output(ids.FILTER_RISK_CLASS, "value", allow_duplicate=True),
    Input(ids.chart("risk-by-country"), "clickData"),
    Input(ids.chart("mercury-by-country"), "clickData"),
    Input(ids.chart("commodity-mix"), "clickData"),
    Input(ids.chart("risk-histogram"), "clickData"),
    prevent_initial_call=True,
)
def filter_from_chart(by_country, hg_country, commodity, histogram):
    click = {
        ids.chart("risk-by-country"): by_country,
        ids.chart("mercury-by-country"): hg_country,
        ids.chart("commodity-mix"): commodity,
        ids.chart("risk-histogram"): histogram,
    }[ctx.triggered_id]
    point = (click or {}).get("points", [{}])[0]
    value = point.get("customdata")
    if value is None or isinstance(value, list):
        value = point.get("x") if ctx.triggered_id != ids.chart("commodity-mix") else point.get("y")
    if ctx.triggered_id == ids.chart("commodity-mix"):
        return no_update, [value], no_update
    if ctx.triggered_id == ids.chart("risk-histogram"):
        return no_update, no_update, [point.get("customdata")]
    return [value], no_update, no_update


# --- map, charts, table ---------------------------------------------------------------------------------
@callback(
    Output(ids.MAP, "figure"),
    Output(ids.COUNT, "children"),
    Input(ids.STATE, "data"),
    Input(ids.WORKSPACE, "data"),
    Input(ids.MAP_VIEW, "data"),
    State(ids.SELECTED_SITE, "data"),
    State(ids.CHANGE_YEAR, "value"),
    prevent_initial_call=True,
)
def update_map(state, workspace, map_view, site_id, year=None):
    settings, dataset, scored, state = _context(state, workspace)
    panned = bool(map_view) and map_view[-1] == PANNED  # where the user moved the map (sync_state), not a link's
    map_view = map_view[:3] if panned else map_view
    if {t["prop_id"] for t in ctx.triggered} == {f"{ids.MAP_VIEW}.data"} and not map_follows_view(
        int(filter_mask(scored, state).sum())
    ):
        raise PreventUpdate  # a pan or zoom over a map that draws every site: nothing to redraw
    map_view = map_view or aoi_view(settings, workspace, state)  # a new AOI is framed unless a link set the view
    extra = extra_map_layers(settings, dataset, scored, state, map_view, workspace, year)  # mining by year, the AOI
    fig, count = map_outputs(settings, dataset, scored, state, map_view, site_id, basemap_url(), extra_layers=extra)
    if panned:  # drawn for the user's camera, which stays where it is: a late answer never moves it back
        fig.update_layout(uirevision="map|panned|" + ",".join(state.get("countries") or []))
    return fig, count


@callback(
    *[Output(ids.chart(name), "figure") for name in COUNT_CHARTS],
    Output(ids.TABLE_WRAP, "children"),
    Output(ids.SELECTION_NOTE, "children"),
    Output(ids.SELECTION_CLEAR, "hidden"),
    Output(ids.CHARTS_DRAWN, "data"),
    Input(ids.STATE, "data"),
    Input(ids.WORKSPACE, "data"),
    State(ids.CHARTS_DRAWN, "data"),
    prevent_initial_call=True,
)
def update_charts_and_table(state, workspace, drawn=None):
    """The charts that count the view (milliseconds), the table and the selection note; not the Monte Carlo.
    A weight or decay change redraws only the charts it changes (the classes and scores), not the distances
    or the commodities of the same sites."""
    key = filters_key(state, workspace, data_version(current_settings(), workspace))
    settings, dataset, scored, state = _context(state, workspace)
    names = tuple(n for n in COUNT_CHARTS if key != drawn or n not in WEIGHT_FREE_CHARTS)
    view = filter_view(scored, state, columns=CHART_COLUMNS)  # the charts' columns only: no copy of the rest
    figures = dict(zip(names, chart_outputs(settings, dataset, view, state, names), strict=True))
    note = selection_note(len(view)) if state.get("selection") else ""
    # a fresh grid asks for its first block
    return *[figures.get(n, no_update) for n in COUNT_CHARTS], make_grid(), note, not state.get("selection"), key


@callback(
    Output(ids.chart(MERCURY_CHART), "figure"),
    Output(ids.MERCURY_DRAWN, "data"),
    Input(ids.STATE, "data"),
    Input(ids.WORKSPACE, "data"),
    State(ids.MERCURY_DRAWN, "data"),
    prevent_initial_call=True,
)
def update_mercury_chart(state, workspace, drawn=None):
    """The mercury totals by country: a Monte Carlo of the view's sites (1,000 draws each, remembered per view),
    in its own request so that the map, the counts, the other charts and the table never wait for it; its
    card says it is computing meanwhile (``layout._chart_card``). A weight or decay change leaves it alone:
    no site's release depends on them, so nothing is drawn, looked up or hashed."""
    key = filters_key(state, workspace, data_version(current_settings(), workspace))
    if key == drawn:
        raise PreventUpdate
    settings, dataset, scored, state = _context(state, workspace)
    view = filter_view(scored, state, columns=CHART_COLUMNS)
    (figure,) = chart_outputs(settings, dataset, view, state, MONTE_CARLO_CHARTS)
    return figure, key


@callback(
    Output(ids.TABLE_WRAP, "children", allow_duplicate=True),
    Input(ids.TABLE_SEARCH, "value"),
    prevent_initial_call=True,
)
def search_table(_text):
    return make_grid()


@callback(
    Output(ids.TABLE, "getRowsResponse"),
    Input(ids.TABLE, "getRowsRequest"),
    State(ids.STATE, "data"),
    State(ids.WORKSPACE, "data"),
    State(ids.TABLE_SEARCH, "value"),
    prevent_initial_call=True,
)
def table_block(request, state, workspace, search):
    settings, _dataset, scored, state = _context(state, workspace)
    config = risk_config(settings, state.get("weights"), state.get("decay"))
    return table_page(scored, request, search, config, within=filter_mask(scored, state))  # no copy of the view


# --- site selection and detail ------------------------------------------------------------------------------
@callback(
    Output(ids.SELECTED_SITE, "data", allow_duplicate=True),
    Input(ids.MAP, "clickData"),
    Input(ids.TABLE, "cellClicked"),
    State(ids.STATE, "data"),
    State(ids.WORKSPACE, "data"),
    prevent_initial_call=True,
)
def select_site(map_click, cell, state, workspace):
    if ctx.triggered_id == ids.TABLE:
        return (cell or {}).get("rowId") or no_update
    _settings, _dataset, scored, _state = _context(state, workspace)
    points = (map_click or {}).get("points") or [{}]
    # a site's row position is its point id (a customdata held as a typed array never reaches clickData)
    row = points[0].get("id")
    custom = points[0].get("customdata")
    if row is None and isinstance(custom, list) and custom:
        row = custom[0]
    site = site_id_at(scored, row) if row is not None else None
    return site or no_update


@callback(
    Output(ids.DETAIL, "children"),
    Output(ids.SELECTED_LONLAT, "data"),
    Input(ids.SELECTED_SITE, "data"),
    Input(ids.STATE, "data"),
    State(ids.WORKSPACE, "data"),
    prevent_initial_call=True,
)
def show_site(site_id, state, workspace):
    settings, dataset, scored, state = _context(state, workspace)
    config = risk_config(settings, state.get("weights"), state.get("decay"))
    record = site_detail_record(scored, site_id, config)
    if record is None:
        msg = (
            "Click a site on the map or a row in the table."
            if site_id is None
            else f"Site {site_id} is not in these data."
        )
        return html.P(msg, className="hint"), None
    return make_detail(record, dataset, config), [record["lon"], record["lat"]]


@callback(
    Output(ids.WEIGHTS_NOT_ASSESSED, "children"),
    Input(ids.STATE, "data"),
    Input(ids.WORKSPACE, "data"),
    prevent_initial_call=True,  # the page is drawn with the server's data and default weights
)
def update_not_assessed(state, workspace):
    """The weights panel's receptors not assessed, for the data in view and the weights in use (0: left out)."""
    settings = current_settings()
    dataset = get_dataset_for(settings, workspace)  # which receptors were assessed does not depend on the weights
    weights = risk_config(settings, (state or {}).get("weights"), (state or {}).get("decay")).weights
    return not_assessed_note(not_assessed_summary(dataset.scored, weights), len(dataset.scored))


# The selected-site ring is the map's last trace: moved in the browser, so the map is not rebuilt.
clientside_callback(
    """function(lonlat) {
        const gd = document.querySelector(MAP_SELECTOR);
        if (!gd || !gd.data || !gd.data.length) { return dash_clientside.no_update; }
        const xy = lonlat || [];
        Plotly.restyle(gd, {lon: [xy.length ? [xy[0]] : []], lat: [xy.length ? [xy[1]] : []]}, [gd.data.length - 1]);
        return dash_clientside.no_update;
    }""".replace("MAP_SELECTOR", json.dumps(f"#{ids.MAP} .js-plotly-plot")),
    Output(ids.SELECTED_LONLAT, "modified_timestamp"),
    Input(ids.SELECTED_LONLAT, "data"),
    prevent_initial_call=True,
)


# A click on a cell of the aggregated map (point ids 'cell-<n>'; a site's id is its row, see figures.MAX_MAP_POINTS) zooms
# in two steps around it, in the browser; the relayout event then asks the server for the closer view.
clientside_callback(
    """function(click) {
        const p = click && click.points && click.points[0];
        if (!p || String(p.id || "").indexOf("cell-") !== 0) { return dash_clientside.no_update; }
        const gd = document.querySelector(MAP_SELECTOR);
        if (!gd || !gd._fullLayout || !gd._fullLayout.map) { return dash_clientside.no_update; }
        const zoom = Math.min(gd._fullLayout.map.zoom + 2, 18);
        Plotly.relayout(gd, {"map.center": {lon: p.lon, lat: p.lat}, "map.zoom": zoom});
        return dash_clientside.no_update;
    }""".replace("MAP_SELECTOR", json.dumps(f"#{ids.MAP} .js-plotly-plot")),
    Output(ids.MAP_VIEW, "modified_timestamp"),
    Input(ids.MAP, "clickData"),
    prevent_initial_call=True,
)


# --- table quick search, chart image downloads (in the browser) ------------------------------------------------
# PNG and SVG are made by plotly.js in the browser (Plotly.downloadImage): the exact figure on
# screen, no Chrome process on the server (kaleido 1 would need one per export, under gunicorn).
clientside_callback(
    """function(clicks) {
        const t = dash_clientside.callback_context.triggered_id;
        if (!t || t.fmt === "html" || !clicks.some(Boolean)) { return dash_clientside.no_update; }
        const gd = document.querySelector("#" + CHART_PREFIX + t.chart + " .js-plotly-plot");
        if (gd) { Plotly.downloadImage(gd, {format: t.fmt, filename: t.chart, width: 1000, height: 500}); }
        return dash_clientside.no_update;
    }""".replace("CHART_PREFIX", json.dumps(ids.CHART_PREFIX)),  # the graph IDs of ids.chart(name)
    Output(ids.SHARE, "className"),
    Input({"type": ids.CHART_EXPORT, "chart": ALL, "fmt": ALL}, "n_clicks"),
    prevent_initial_call=True,
)

clientside_callback(
    """function(n) { return window.location.href; }""",
    Output(ids.SHARE, "content"),
    Input(ids.SHARE, "n_clicks"),
    prevent_initial_call=True,
)


@callback(
    Output(ids.ALERT, "children", allow_duplicate=True),
    Input(ids.ALERT_CLOSE, "n_clicks"),
    prevent_initial_call=True,
)
def dismiss_alert(_n):
    return None


# --- exports --------------------------------------------------------------------------------------------------------
@callback(
    Output(ids.DOWNLOAD, "data"),
    Input(ids.EXPORT_CSV, "n_clicks"),
    Input(ids.EXPORT_XLSX, "n_clicks"),
    Input(ids.EXPORT_GEOJSON, "n_clicks"),
    Input(ids.EXPORT_GPKG, "n_clicks"),
    Input(ids.EXPORT_BRIEFING, "n_clicks"),
    Input({"type": ids.CHART_EXPORT, "chart": ALL, "fmt": "html"}, "n_clicks"),
    State(ids.STATE, "data"),
    State(ids.WORKSPACE, "data"),
    State(ids.URL, "href"),
    prevent_initial_call=True,
)
def export_view(*args):
    state, workspace, href = args[-3:]
    if not ctx.triggered or not ctx.triggered[0].get("value"):
        return no_update
    settings, dataset, scored, state = _context(state, workspace)
    trigger = ctx.triggered_id
    kind = _EXPORT_KINDS.get(trigger) if isinstance(trigger, str) else f"chart-html:{trigger['chart']}"
    name, data = export_download(kind, settings, dataset, scored, state, share_url=href, workspace_id=workspace)
    return dcc.send_bytes(data, name)  # one click, one download


# --- uploads ---------------------------------------------------------------------------------------------------------
@callback(
    Output(ids.WORKSPACE, "data"),
    Output(ids.UPLOAD_STATUS, "children"),
    Output(ids.OWN_WORKSPACE, "data"),
    Output(ids.MAP_OVERLAYS, "value", allow_duplicate=True),
    Input(ids.UPLOAD_SITES, "contents"),
    Input(ids.UPLOAD_PA, "contents"),
    State(ids.UPLOAD_SITES, "filename"),
    State(ids.UPLOAD_PA, "filename"),
    State(ids.WORKSPACE, "data"),
    State(ids.URL, "href"),
    State(ids.MAP_OVERLAYS, "value"),
    prevent_initial_call=True,
)
def upload_layer(sites_contents, pa_contents, sites_name, pa_name, workspace, href=None, overlays=None):
    settings = current_settings()
    is_sites = ctx.triggered_id == ids.UPLOAD_SITES
    if shares.token_of(workspace) is not None:
        raise LayerError(
            None, "this page shows a read-only shared snapshot", "open the dashboard's home page to upload"
        )
    workspace = workspace or new_workspace_id()
    kind = "sites" if is_sites else "protected_areas"
    save_upload(
        settings, workspace, kind, sites_name if is_sites else pa_name, sites_contents if is_sites else pa_contents
    )
    dataset = get_dataset_for(settings, workspace)  # the facts now, under the progress indicator (no re-parse)
    pas = dataset.protected_areas
    shown = overlays_after_upload(overlays, kind, 0 if pas is None else len(pas), settings)
    return workspace, panel_for(workspace, href), workspace, no_update if shown is None else shown


@callback(
    Output(ids.ALERT, "children", allow_duplicate=True),
    Input(ids.UPLOAD_STATUS, "children"),
    prevent_initial_call=True,
)
def clear_alert_after_success(_status):
    """A new upload status means the last upload (or reset) succeeded: an earlier error no longer applies."""
    return None


@callback(
    Output(ids.UPLOAD_REJECTED, "disabled"),
    Output(ids.UPLOAD_REJECTED, "title"),
    Input(ids.WORKSPACE, "data"),
    Input(ids.UPLOAD_STATUS, "children"),
)
def update_rejected_button(workspace, _status):
    """'Download rejected rows' only when the last sites upload rejected some (else disabled, and it says why)."""
    has_rows = bool(workspace) and rejected_csv(current_settings(), workspace, "sites") is not None
    return not has_rows, None if has_rows else "No rejected rows: the last sites upload kept every row."


@callback(
    Output(ids.DOWNLOAD_REJECTED, "data"),
    Input(ids.UPLOAD_REJECTED, "n_clicks"),
    State(ids.WORKSPACE, "data"),
    prevent_initial_call=True,
)
def download_rejected(_n, workspace):
    data = rejected_csv(current_settings(), workspace, "sites") if workspace else None
    if data is None:
        raise LayerError(
            None, "no rejected rows to download", "upload a sites file first; rows it cannot use are listed here"
        )
    return dcc.send_bytes(data, "rejected_sites.csv")


@callback(
    Output(ids.WORKSPACE, "data", allow_duplicate=True),
    Output(ids.UPLOAD_STATUS, "children", allow_duplicate=True),
    Output(ids.OWN_WORKSPACE, "data", allow_duplicate=True),
    Input(ids.WORKSPACE_RESET, "n_clicks"),
    State(ids.WORKSPACE, "data"),
    prevent_initial_call=True,
)
def reset_workspace(_n, workspace):
    if shares.token_of(workspace) is not None:
        raise LayerError(None, "this page shows a read-only shared snapshot", "open the dashboard's home page")
    if workspace:
        clear_workspace(current_settings(), workspace)
    return None, "Back to the server's data.", ""


@callback(
    Output(ids.FILTER_COUNTRY, "options"),
    Output(ids.FILTER_COMMODITY, "options"),
    Output(ids.DATA_BANNER, "children"),
    Output(ids.FILTER_DATE, "min_date_allowed"),
    Output(ids.FILTER_DATE, "max_date_allowed"),
    Output(ids.FILTER_DATE, "disabled"),
    Output(ids.FILTER_DATE_HINT, "children"),
    Input(ids.WORKSPACE, "data"),
    prevent_initial_call=True,  # the page has the server's options; a stored workspace id fires this on load
)
def update_data_controls(workspace):
    """The controls that depend on the data: countries, commodities, the banner and the date picker (its
    bounds, and disabled with a line saying so when the data hold no date)."""
    dataset = get_dataset_for(current_settings(), workspace)
    dmin, dmax = date_bounds(dataset.scored)
    return (
        country_options(dataset.scored, dataset.countries),
        commodity_options(dataset.scored),
        banner(dataset),
        dmin,
        dmax,
        dmin is None,
        date_hint(dataset.scored),
    )
