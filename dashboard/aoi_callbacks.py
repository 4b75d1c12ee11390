"""Thin callbacks of the area-of-interest and mining-change panels (importing this module registers them).

The AOI reference lives in the ``ids.AOI`` store, one of the controls ``callbacks.sync_state`` keeps in
step with the URL; these callbacks set it (a lasso or box in AOI mode, an upload, a protected area picked,
clear), draw the panel from the render state, and export. Playing the years happens in the browser: a
clientside callback restyles the map's ``mining-<year>`` layers, another advances the slider.
"""

from __future__ import annotations

import json

from dash import Input, Output, State, callback, clientside_callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashboard import ids, shares
from dashboard.aoi import aoi_report, scored_for_state, screening_for_state
from dashboard.aoi_panel import make_aoi_summary
from dashboard.aoi_store import store_aoi
from dashboard.change_panel import growth_table
from dashboard.change_view import change_csv_table, change_outputs
from dashboard.context import current_settings
from dashboard.data import get_dataset_for
from dashboard.exports import zip_bytes
from dashboard.mining import EARLIER_OPACITY, LAYER_PREFIX, YEAR_OPACITY
from dashboard.state import aoi_reference
from dashboard.uploads import check_upload
from dashboard.views import aoi_label, plural, selection_polygon
from dashboard.workspace import new_workspace_id
from layers.errors import LayerError
from reports.aoi_report import make_aoi_report_html
from reports.palette import MINING_COLOURS
from scoring.change import change_about
from scoring.screen import load_aoi_file
from scoring.writers import LICENCE_NOTES, safe_csv

MAX_PA_OPTIONS = 40


# --- setting the area of interest -------------------------------------------------------------------------------------
@callback(
    Output(ids.AOI, "data", allow_duplicate=True),
    Output(ids.WORKSPACE, "data", allow_duplicate=True),
    Output(ids.OWN_WORKSPACE, "data", allow_duplicate=True),
    Output(ids.AOI_PICK_PA, "value"),
    Input(ids.MAP, "selectedData"),
    Input(ids.AOI_UPLOAD, "contents"),
    Input(ids.AOI_PICK_PA, "value"),
    Input(ids.AOI_CLEAR, "n_clicks"),
    State(ids.AOI_DRAW_MODE, "value"),
    State(ids.AOI_UPLOAD, "filename"),
    State(ids.WORKSPACE, "data"),
    prevent_initial_call=True,
)
def set_aoi(selected, contents, picked, _clear, draw_mode, filename, workspace):
    """(AOI reference, data id, own workspace id, PA picked): an upload is kept in the user's own workspace (made
    on the first one, remembered across reloads like a data upload); a shared snapshot takes none."""
    trigger = ctx.triggered_id
    if trigger == ids.MAP:
        if draw_mode != "aoi":
            raise PreventUpdate  # a selection: callbacks.sync_state's
        ring = selection_polygon(selected)
        if ring is None:
            raise PreventUpdate
        return aoi_reference("draw:" + "~".join(f"{x:.4f},{y:.4f}" for x, y in ring)), no_update, no_update, None
    if trigger == ids.AOI_UPLOAD:
        if not contents:
            raise PreventUpdate
        if shares.token_of(workspace) is not None:
            raise LayerError(
                None,
                "this page shows a read-only shared snapshot: an area of interest cannot be uploaded to it",
                "draw the area on the map or pick a protected area, or open the dashboard's home page to upload it",
            )
        settings = current_settings()
        data = check_upload(filename, contents, kind="aoi", max_mb=float(settings.max_upload_mb))
        new = not workspace
        workspace = workspace or new_workspace_id()

        def validate(path):
            result = load_aoi_file(path, settings)  # LayerError (the alert) when nothing in it is usable
            return result

        digest = store_aoi(settings, workspace, filename, data, validate)
        return f"up:{digest}", *((workspace, workspace) if new else (no_update, no_update)), None
    if trigger == ids.AOI_PICK_PA:
        if not picked:
            raise PreventUpdate
        return aoi_reference(f"pa:{picked}"), no_update, no_update, no_update
    return None, no_update, no_update, None  # cleared


@callback(
    Output(ids.AOI_PICK_PA, "options"),
    Input(ids.AOI_PICK_PA, "search_value"),
    Input(ids.WORKSPACE, "data"),
    State(ids.AOI_PICK_PA, "value"),
)
def protected_area_options(search, workspace, value):
    """Protected areas whose name or id holds the typed text (at most MAX_PA_OPTIONS; the chosen one kept)."""
    dataset = get_dataset_for(current_settings(), workspace)
    pas = dataset.protected_areas
    if pas is None or not len(pas):
        return []
    names = pas["name"].astype("string").fillna("")
    pa_ids = pas["pa_id"].astype("string").fillna("")
    hit = (
        names.str.contains(search, case=False, regex=False) | pa_ids.str.contains(search, case=False, regex=False)
        if search
        else names != ""
    )
    chosen = pa_ids == str(value) if value else None
    if chosen is not None:
        hit = hit | chosen
    sub = pas[hit.fillna(False).to_numpy(dtype=bool)].drop_duplicates("pa_id")
    sub = sub.assign(_n=sub["name"].astype("string")).sort_values("_n").head(MAX_PA_OPTIONS)
    return [
        {"label": f"{n} ({i})", "value": str(i)}
        for n, i in zip(sub["name"].astype("string").fillna(""), sub["pa_id"].astype("string"), strict=True)
    ]


# --- the panel -------------------------------------------------------------------------------------------------------
@callback(
    Output(ids.AOI_SUMMARY, "children"),
    Output(ids.AOI_NOTE, "children"),
    Input(ids.STATE, "data"),
    Input(ids.WORKSPACE, "data"),
    prevent_initial_call=True,
)
def update_aoi_panel(state, workspace):
    state = state or {}
    if not state.get("aoi"):
        return html.P("No area of interest: every site is in view.", className="hint"), ""
    settings = current_settings()
    dataset = get_dataset_for(settings, workspace)
    screening, source = screening_for_state(settings, workspace, state)
    scored = scored_for_state(settings, workspace, state)
    report = aoi_report(settings, dataset, scored, state, screening, source)
    note = f"Area of interest: {plural(len(report.sites), 'site')} inside or within {report.aoi.buffer_km:g} km."
    return make_aoi_summary(report), note


@callback(
    Output(ids.AOI_DOWNLOAD, "data"),
    Input(ids.AOI_REPORT, "n_clicks"),
    State(ids.STATE, "data"),
    State(ids.WORKSPACE, "data"),
    State(ids.URL, "href"),
    prevent_initial_call=True,
)
def download_aoi_report(n, state, workspace, href):
    if not n:
        raise PreventUpdate
    state = state or {}
    if not state.get("aoi"):
        raise LayerError(
            None, "no area of interest to report on", "draw one on the map, upload a file or pick a protected area"
        )
    settings = current_settings()
    dataset = get_dataset_for(settings, workspace)
    screening, source = screening_for_state(settings, workspace, state)
    report = aoi_report(
        settings, dataset, scored_for_state(settings, workspace, state), state, screening, source, share_url=href
    )
    name = "aoi-report-" + "".join(c if c.isalnum() else "-" for c in aoi_label(state["aoi"]))[:40].strip("-") + ".html"
    return dcc.send_bytes(make_aoi_report_html(report).encode("utf-8"), name)


# --- the mining change panel ---------------------------------------------------------------------------------------------
@callback(
    Output(ids.chart(ids.CHANGE_CHART_NAME), "figure"),
    Output(ids.CHANGE_TABLE, "children"),
    Input(ids.STATE, "data"),
    Input(ids.WORKSPACE, "data"),
    Input(ids.CHANGE_STACK, "value"),
    Input(ids.CHANGE_MEASURE, "value"),
    Input(ids.CHANGE_YEAR, "value"),
)
def update_change(state, workspace, by, measure, year):
    settings = current_settings()
    dataset = get_dataset_for(settings, workspace)
    fig, growth = change_outputs(
        settings, dataset, workspace, state or {}, year=year, by=by or "country", measure=measure or "cumulative"
    )
    return fig, growth_table(growth)


@callback(
    Output(ids.CHANGE_DOWNLOAD, "data"),
    Input(ids.CHANGE_EXPORT_CSV, "n_clicks"),
    State(ids.STATE, "data"),
    State(ids.WORKSPACE, "data"),
    prevent_initial_call=True,
)
def download_change_csv(n, state, workspace):
    if not n:
        raise PreventUpdate
    settings = current_settings()
    dataset = get_dataset_for(settings, workspace)
    table = change_csv_table(settings, dataset, workspace, state or {})
    about = change_about(list(dataset.sources), len(table), (), LICENCE_NOTES)
    data = zip_bytes(
        {"mining-by-year.csv": safe_csv(table).encode("utf-8"), "mining-by-year.about.txt": about.encode("utf-8")}
    )
    return dcc.send_bytes(data, "mining-by-year.csv.zip")


# The year on the map: the footprint layers restyled in the browser (no server round trip, no redraw).
clientside_callback(
    """function(year) {
        const gd = document.querySelector(MAP_SELECTOR);
        const layers = gd && gd.layout && gd.layout.map && gd.layout.map.layers;
        if (!layers || year === null || year === undefined) { return dash_clientside.no_update; }
        const update = {};
        layers.forEach(function(layer, i) {
            if (!layer.name || layer.name.indexOf(PREFIX) !== 0) { return; }
            const y = Number(layer.name.slice(PREFIX.length));
            update["map.layers[" + i + "].visible"] = y <= year;
            update["map.layers[" + i + "].color"] = y === year ? YEAR_COLOUR : EARLIER_COLOUR;
            update["map.layers[" + i + "].opacity"] = y === year ? YEAR_OPACITY : EARLIER_OPACITY;
        });
        if (Object.keys(update).length) { Plotly.relayout(gd, update); }
        return year;
    }""".replace("MAP_SELECTOR", json.dumps(f"#{ids.MAP} .js-plotly-plot"))
    .replace("PREFIX", json.dumps(LAYER_PREFIX))
    .replace("YEAR_COLOUR", json.dumps(MINING_COLOURS["year"]))
    .replace("EARLIER_COLOUR", json.dumps(MINING_COLOURS["earlier"]))
    .replace("YEAR_OPACITY", json.dumps(YEAR_OPACITY))
    .replace("EARLIER_OPACITY", json.dumps(EARLIER_OPACITY)),
    Output(ids.CHANGE_APPLIED, "data"),
    Input(ids.CHANGE_YEAR, "value"),
    prevent_initial_call=True,
)

# Play / pause: the interval advances the slider one year a tick and stops at the last year.
clientside_callback(
    """function(clicks, ticks, year, stopped, marks) {
        const nu = dash_clientside.no_update;
        const years = Object.keys(marks || {}).map(Number).filter(function(y) { return !isNaN(y); })
            .sort(function(a, b) { return a - b; });
        if (!years.length) { return [nu, true, "Play"]; }
        const last = years[years.length - 1];
        const fired = (dash_clientside.callback_context.triggered || []).map(function(t) { return t.prop_id; });
        if (fired.indexOf(PLAY + ".n_clicks") >= 0) {
            if (!stopped) { return [nu, true, "Play"]; }
            return [year >= last ? years[0] : year, false, "Pause"];
        }
        const i = years.indexOf(year);
        if (i < 0 || i >= years.length - 1) { return [nu, true, "Play"]; }
        const next = years[i + 1];
        return [next, next >= last, next >= last ? "Play" : "Pause"];
    }""".replace("PLAY", json.dumps(ids.CHANGE_PLAY)),
    Output(ids.CHANGE_YEAR, "value"),
    Output(ids.CHANGE_TICK, "disabled"),
    Output(ids.CHANGE_PLAY, "children"),
    Input(ids.CHANGE_PLAY, "n_clicks"),
    Input(ids.CHANGE_TICK, "n_intervals"),
    State(ids.CHANGE_YEAR, "value"),
    State(ids.CHANGE_TICK, "disabled"),
    State(ids.CHANGE_YEAR, "marks"),
    prevent_initial_call=True,
)
