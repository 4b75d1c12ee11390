"""The page shell: header, alert, controls (filters, map, weights, exports, upload), map, detail, charts, table."""

from __future__ import annotations

import json

import dash_ag_grid as dag
from dash import dcc, html

from dashboard import ids, shares
from dashboard.aoi_panel import aoi_panel, mining_legend_items
from dashboard.change_panel import change_panel
from dashboard.data import Dataset
from dashboard.figures import (
    CHART_NAMES,
    CHART_TITLES,
    IUCN_GROUPS,
    MONTE_CARLO_CHARTS,
    OVERLAY_STYLE,
    RISK_COLOURS,
    RISK_ORDER,
)
from dashboard.labels import DECAY_HELP, FACTOR_LABELS, RECEPTOR_WORDS, WEIGHT_HELP
from dashboard.risk_text import not_assessed_summary
from dashboard.state import DECAY_KEYS, MERCURY_USE, WEIGHT_KEYS, default_state
from dashboard.upload_panel import data_notices, share_controls
from dashboard.views import (
    HIDDEN_TABLE_COLUMNS,
    NUMERIC_TABLE_COLUMNS,
    TABLE_COLUMNS,
    commodity_options,
    country_options,
    date_bounds,
    date_hint,
    filters_key,
    plural,
)

DECAY_MAX_KM = {"protected_area": 200, "rainforest": 200, "reef": 200, "arctic": 500, "water": 50}
OVERLAY_OPTIONS = [
    {"label": "Protected areas (by IUCN category)", "value": "protected_areas"},
    {"label": "Rainforest", "value": "rainforest"},
    {"label": "Coral reefs", "value": "reefs"},
    {"label": "Arctic boundary", "value": "arctic"},
    {"label": "Country outlines", "value": "countries"},
    {"label": "Mining footprints by year", "value": "mining"},
]


def dom_id(component_id: str | dict) -> str:
    """The id attribute Dash writes for a component id (a pattern-matching dict becomes sorted, compact JSON)."""
    if isinstance(component_id, str):
        return component_id
    return "{" + ",".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in sorted(component_id.items())) + "}"


def banner(dataset: Dataset) -> html.Div:
    """The data banner: a loud notice for the demo data, the sources otherwise; no protected-area layer is said."""
    notices = data_notices(dataset.protected_areas is not None, shares.token_of(dataset.workspace_id) is not None)
    if dataset.is_demo:
        return html.Div(
            [
                html.Div(
                    "Synthetic demo data: generated sites and protected areas, not real observations.",
                    className="banner-demo",
                ),
                *notices,
            ]
        )
    extra = f" · {plural(dataset.n_rejected, 'row')} rejected on load" if dataset.n_rejected else ""
    return html.Div([*notices, html.Div(f"Data: {'; '.join(dataset.sources[:3])}{extra}", className="banner-data")])


def _labelled(label: str, control, control_id: str, hint: str | None = None, hint_id: str | None = None) -> html.Div:
    children = [html.Label(label, htmlFor=control_id, id=f"{control_id}-label"), control]
    if hint:
        children.append(html.Small(hint, className="hint", **({"id": hint_id} if hint_id else {})))
    return html.Div(children, className="field", role="group", **{"aria-labelledby": f"{control_id}-label"})


def _filters(dataset: Dataset) -> html.Section:
    state = default_state()
    dmin, dmax = date_bounds(dataset.scored)
    return html.Section(
        [
            html.H2("Filters"),
            _labelled(
                "Country",
                dcc.Dropdown(
                    id=ids.FILTER_COUNTRY,
                    options=country_options(dataset.scored, dataset.countries),
                    multi=True,
                    searchable=True,
                    placeholder="All countries (type to search)",
                ),
                ids.FILTER_COUNTRY,
                "Selecting countries zooms the map to them.",
            ),
            _labelled(
                "Commodity",
                dcc.Dropdown(
                    id=ids.FILTER_COMMODITY,
                    options=commodity_options(dataset.scored),
                    multi=True,
                    placeholder="All commodities",
                ),
                ids.FILTER_COMMODITY,
            ),
            _labelled(
                "Risk class",
                dcc.Checklist(
                    id=ids.FILTER_RISK_CLASS,
                    options=[{"label": c, "value": c} for c in RISK_ORDER],
                    value=list(RISK_ORDER),
                    inline=True,
                ),
                ids.FILTER_RISK_CLASS,
            ),
            _labelled(
                "Mercury use",
                dcc.Checklist(id=ids.FILTER_MERCURY, options=list(MERCURY_USE), value=[], inline=True),
                ids.FILTER_MERCURY,
                "None ticked: all sites.",
            ),
            _labelled(
                "Protected areas",
                dcc.RadioItems(
                    id=ids.FILTER_PA_MODE,
                    options=[
                        {"label": "all sites", "value": "any"},
                        {"label": "inside", "value": "inside"},
                        {"label": "inside or near", "value": "near"},
                        {"label": "farther", "value": "far"},
                    ],
                    value=state["pa_mode"],
                    inline=True,
                ),
                ids.FILTER_PA_MODE,
            ),
            _labelled(
                "Near: within (km)",
                dcc.Slider(
                    id=ids.FILTER_PA_KM,
                    min=0,
                    max=50,
                    step=1,
                    value=state["pa_km"],
                    marks={0: "0", 5: "5", 10: "10", 25: "25", 50: "50"},
                ),
                ids.FILTER_PA_KM,
            ),
            _labelled(
                "Ecosystem (inside or within the distance below)",
                dcc.Checklist(
                    id=ids.FILTER_ECOSYSTEM,
                    options=[
                        {"label": "rainforest", "value": "rainforest"},
                        {"label": "coral reef", "value": "reef"},
                        {"label": "Arctic", "value": "arctic"},
                    ],
                    value=[],
                    inline=True,
                ),
                ids.FILTER_ECOSYSTEM,
            ),
            _labelled(
                "Ecosystem distance (km)",
                dcc.Slider(
                    id=ids.FILTER_ECO_KM,
                    min=0,
                    max=100,
                    step=1,
                    value=state["eco_km"],
                    marks={0: "0", 10: "10", 25: "25", 50: "50", 100: "100"},
                ),
                ids.FILTER_ECO_KM,
            ),
            _labelled(
                "Observed between",
                dcc.DatePickerRange(
                    id=ids.FILTER_DATE,
                    start_date_id=ids.FILTER_DATE_START,
                    end_date_id=ids.FILTER_DATE_END,
                    min_date_allowed=dmin,
                    max_date_allowed=dmax,
                    disabled=dmin is None,
                    clearable=True,
                    display_format="YYYY-MM-DD",
                    start_date_placeholder_text="from",
                    end_date_placeholder_text="to",
                ),
                ids.FILTER_DATE_START,
                date_hint(dataset.scored),
                ids.FILTER_DATE_HINT,
            ),
            html.Button("Reset filters", id=ids.FILTER_RESET, className="button-secondary"),
        ],
        className="panel",
        **{"aria-label": "Filters"},
    )


def _map_controls() -> html.Section:
    legend = html.Ul(
        [
            html.Li([html.Span(className="swatch", style={"background": colour}), label])
            for label, (_, colour) in IUCN_GROUPS.items()
        ]
        + [
            html.Li([html.Span(className="swatch", style={"background": OVERLAY_STYLE[k]["color"]}), k])
            for k in ("rainforest", "reefs", "arctic")
        ]
        + mining_legend_items(),
        className="legend-list",
        **{"aria-label": "Overlay colours"},
    )
    return html.Section(
        [
            html.H2("Map"),
            _labelled(
                "Marker size",
                dcc.RadioItems(
                    id=ids.MAP_SIZE_BY,
                    options=[
                        {"label": "fixed", "value": "none"},
                        {"label": "workers", "value": "workers"},
                        {"label": "mercury estimate", "value": "mercury"},
                    ],
                    value="workers",
                    inline=True,
                ),
                ids.MAP_SIZE_BY,
            ),
            _labelled(
                "Overlays",
                dcc.Checklist(id=ids.MAP_OVERLAYS, options=OVERLAY_OPTIONS, value=default_state()["overlays"]),
                ids.MAP_OVERLAYS,
            ),
            legend,
        ],
        className="panel",
        **{"aria-label": "Map options"},
    )


def not_assessed_note(missing: list[tuple[str, int]], n_sites: int) -> list:
    """The weights panel's word on receptors not assessed (``views.not_assessed_summary``): which ones,
    for how many sites, and what that does to the scores."""
    if not missing:
        return [html.P("Every receptor with a weight is assessed for every site.", className="hint")]
    items = [
        html.Li(
            f"{RECEPTOR_WORDS[r]}: "
            + ("no layer loaded" if n == n_sites else f"no data for {n:,} of {plural(n_sites, 'site')}")
        )
        for r, n in missing
    ]
    return [
        html.Strong("Not assessed in these data:"),
        html.Ul(items),
        html.P(
            "A receptor not assessed adds nothing to a score (as if nothing were near): those scores are lower "
            "bounds, marked partial in the table, and not comparable with runs that assessed it. Load the layer, "
            "or set its weight to 0 to leave it out on purpose.",
            className="hint",
        ),
    ]


def _weights(
    weights: dict[str, float], decay: dict[str, list[float]], not_assessed: list | None = None
) -> html.Section:
    rows = []
    for key in WEIGHT_KEYS:
        if key not in weights:
            continue
        wid = {"type": ids.WEIGHT, "key": key}
        box_id = {"type": ids.WEIGHT_BOX, "key": key}
        rows.append(
            html.Div(
                [
                    html.Label(FACTOR_LABELS[key], id=f"weight-{key}-label", htmlFor=dom_id(box_id)),
                    html.Div(
                        [
                            dcc.Slider(
                                id=wid,
                                min=0,
                                max=1,
                                step=0.05,
                                value=weights[key],
                                marks={0: "0", 0.5: "0.5", 1: "1"},
                                tooltip={"placement": "bottom"},
                                allow_direct_input=False,  # the box beside it applies on Enter and refuses 5
                            ),
                            dcc.Input(
                                id=box_id,
                                type="number",
                                step=0.05,
                                value=weights[key],
                                debounce=True,  # applied on Enter or when the box loses focus
                                className="weight-box",
                            ),
                        ],
                        className="slider-with-box",
                    ),
                    html.Small(WEIGHT_HELP[key], id=f"weight-{key}-help", className="hint"),
                    html.Div(id={"type": ids.WEIGHT_ERROR, "key": key}, className="field-error", role="status"),
                ],
                className="field",
                role="group",
                **{"aria-labelledby": f"weight-{key}-label", "aria-describedby": f"weight-{key}-help"},
            )
        )
    for key in DECAY_KEYS:
        if key not in decay:
            continue
        rows.append(
            html.Div(
                [
                    html.Label(f"{FACTOR_LABELS[key]}: near / outer distance (km)", id=f"decay-{key}-label"),
                    dcc.RangeSlider(
                        id={"type": ids.DECAY, "key": key},
                        min=0,
                        max=DECAY_MAX_KM[key],
                        step=0.5,
                        value=decay[key],
                        allowCross=False,
                        pushable=0.5,
                        marks=None,
                        tooltip={"placement": "bottom", "always_visible": False},
                    ),
                    html.Small(DECAY_HELP[key], id=f"decay-{key}-help", className="hint"),
                ],
                className="field",
                role="group",
                **{"aria-labelledby": f"decay-{key}-label", "aria-describedby": f"decay-{key}-help"},
            )
        )
    return html.Section(
        [
            html.H2("Risk-model weights"),
            html.P(
                "Factor strengths (0 switches a factor off) and distance decay: full effect inside, half at the near distance, none beyond the outer one.",
                className="hint",
            ),
            html.Div(not_assessed, id=ids.WEIGHTS_NOT_ASSESSED, className="not-assessed", role="status"),
            *rows,
            html.Button("Reset to defaults", id=ids.WEIGHTS_RESET, className="button-secondary"),
        ],
        className="panel",
        **{"aria-label": "Risk-model weights"},
    )


def _exports(settings) -> html.Section:
    return html.Section(
        [
            html.H2("Export the current view"),
            html.Div(
                [
                    html.Button("CSV (.zip with the method)", id=ids.EXPORT_CSV),
                    html.Button("Excel (XLSX)", id=ids.EXPORT_XLSX),
                    html.Button("GeoJSON (.zip with the method)", id=ids.EXPORT_GEOJSON),
                    html.Button("GeoPackage", id=ids.EXPORT_GPKG),
                    html.Button("Briefing pack (HTML)", id=ids.EXPORT_BRIEFING, className="button-primary"),
                ],
                className="button-row",
            ),
            html.P(
                "Every export carries the filters, the weights in use, the method and the data citations.",
                className="hint",
            ),
            dcc.Loading(html.Div(dcc.Download(id=ids.DOWNLOAD)), type="dot"),
            html.Div(
                [
                    html.Span("Share this view: the link holds the filters, weights, selected site and map view. "),
                    dcc.Clipboard(id=ids.SHARE, title="Copy the link to this view", className="clipboard"),
                ],
                className="hint",
            ),
            share_controls(),
        ],
        className="panel",
        **{"aria-label": "Exports"},
    )


def _upload(settings) -> html.Section:
    max_bytes = int(settings.max_upload_mb * 1e6)
    return html.Section(
        [
            html.H2("Your data"),
            html.P(
                "Upload a sites file (CSV, XLSX, GeoJSON, GeoPackage, zipped Shapefile, GeoParquet, KML) and optionally protected areas. Kept in your browser's workspace on this server.",
                className="hint",
            ),
            dcc.Upload(
                id=ids.UPLOAD_SITES,
                children=html.Button("Upload sites…"),
                max_size=max_bytes,
                multiple=False,
            ),
            dcc.Upload(
                id=ids.UPLOAD_PA,
                children=html.Button("Upload protected areas…"),
                max_size=max_bytes,
                multiple=False,
            ),
            dcc.Loading(html.Div(id=ids.UPLOAD_STATUS, role="status", **{"aria-live": "polite"}), type="dot"),
            html.Div(
                [
                    html.Button(
                        "Download rejected rows (CSV)",
                        id=ids.UPLOAD_REJECTED,
                        className="button-secondary",
                        disabled=True,
                    ),
                    html.Button("Back to the server's data", id=ids.WORKSPACE_RESET, className="button-secondary"),
                ],
                className="button-row",
            ),
            dcc.Download(id=ids.DOWNLOAD_REJECTED),
        ],
        className="panel",
        id=ids.UPLOAD_SECTION,
        **{"aria-label": "Upload your data"},
    )


#: what the mercury chart's card shows while its Monte Carlo runs
COMPUTING_TEXT = "Computing the mercury totals (1,000 Monte Carlo draws of every site in view)…"


def _chart_card(name: str, figure=None) -> html.Div:
    buttons = [
        html.Button(
            fmt.upper(),
            id={"type": ids.CHART_EXPORT, "chart": name, "fmt": fmt},
            className="button-small",
            **{"aria-label": f"Download '{CHART_TITLES[name]}' as {fmt.upper()}"},
        )
        for fmt in ("png", "svg", "html")
    ]
    # a Monte Carlo chart arrives after the others (its own callback): its last figure stays in view, dimmed,
    # under a message saying what is being computed (not a blank card, not a silent stale chart)
    computing = (
        {
            "custom_spinner": html.Div(COMPUTING_TEXT, className="chart-computing", role="status"),
            "overlay_style": {"visibility": "visible", "opacity": 0.35},
        }
        if name in MONTE_CARLO_CHARTS
        else {}
    )
    return html.Div(
        [
            dcc.Loading(
                dcc.Graph(
                    id=ids.chart(name),
                    figure=figure,
                    config={"displayModeBar": False},
                    style={"height": "320px"},
                ),
                type="dot",
                **computing,
            ),
            html.Div(buttons, className="button-row chart-exports"),
        ],
        className="chart-card",
    )


def _shown_text(field: str, fallback: str = "params.value") -> dict:
    """A valueFormatter showing the server's display text of the cell (``views.ROW_EXTRAS``), the value kept."""
    return {"function": f"params.data && params.data.{field} != null ? params.data.{field} : {fallback}"}


# cells that show more than their value: (display-text field, header, width px); the column stays the number
_BAND_CELLS = {
    "risk_0_100": ("risk_text", "risk_0_100 (90% range)", 240),
    "hg_kg_per_yr": ("hg_text", "hg_kg_per_yr (90% range)", 250),
    "p_high_or_above": ("p_high_text", "p_high_or_above", 180),
    "score_complete": ("complete_text", "score_complete", 180),
}
_PARTIAL = {"score-partial": "params.data && params.data.score_complete === false"}


def make_grid() -> dag.AgGrid:
    """The risk table: AG Grid's infinite row model, so rows come from the server one block at a time
    (sorted and filtered there): a 100k-site view never ships 100k rows to the browser."""
    column_defs = []
    for col in TABLE_COLUMNS:
        numeric = col in NUMERIC_TABLE_COLUMNS
        cdef = {"field": col, "headerName": col, "filter": "agNumberColumnFilter" if numeric else "agTextColumnFilter"}
        if col == "site_id":
            cdef["pinned"] = "left"
        if col == "risk_0_100":
            cdef["sort"] = "desc"
            cdef["tooltipField"] = "risk_explanation"
        if col.startswith("hg_kg_per_yr"):  # a missing mercury estimate is unknown, not 0 (nor a blank)
            cdef["valueFormatter"] = {"function": "params.data && params.value == null ? 'unknown' : params.value"}
        if col in _BAND_CELLS:
            text_field, cdef["headerName"], cdef["width"] = _BAND_CELLS[col]
            cdef["headerTooltip"] = cdef["headerName"]
            cdef["valueFormatter"] = _shown_text(
                text_field, cdef.get("valueFormatter", {}).get("function", "params.value")
            )
        if col in ("risk_0_100", "score_complete"):
            cdef["cellClassRules"] = _PARTIAL
        if col in HIDDEN_TABLE_COLUMNS:
            cdef["hide"] = True
        if col == "risk_class":
            cdef["cellClassRules"] = {f"risk-{c.replace(' ', '-')}": f"params.value == '{c}'" for c in RISK_ORDER}
        column_defs.append(cdef)
    return dag.AgGrid(
        id=ids.TABLE,
        columnDefs=column_defs,
        rowModelType="infinite",
        defaultColDef={
            "sortable": True,
            "filter": True,
            "resizable": True,
            "minWidth": 90,
            "filterParams": {"maxNumConditions": 2},
        },
        dashGridOptions={
            "rowSelection": {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True},
            "cacheBlockSize": 100,
            "maxBlocksInCache": 50,
            "infiniteInitialRowCount": 100,
            "rowBuffer": 20,
            "animateRows": False,
            "tooltipShowDelay": 400,  # the risk cell's explanation
        },
        getRowId="params.data.site_id",
        style={"height": "420px", "width": "100%"},
        className="ag-theme-quartz",
    )


def _table() -> html.Section:
    return html.Section(
        [
            html.H2("Risk table"),
            html.P(
                "Sort by clicking a header, filter from a header's menu; click a row to open the site. An alternative to the map.",
                className="hint",
            ),
            html.P(
                "Scores and mercury estimates show their 90% range (5th–95th percentile) in brackets; hover a score "
                "for its explanation. * partial score: a receptor with a weight was not assessed for the site "
                "(see score_complete): a lower bound, not comparable with complete scores.",
                className="hint",
            ),
            _labelled(
                "Quick search (id, name, country, commodity, protected area, class)",
                dcc.Input(
                    id=ids.TABLE_SEARCH, type="search", debounce=0.4, placeholder="text to find", className="search"
                ),
                ids.TABLE_SEARCH,
            ),
            dcc.Loading(html.Div(make_grid(), id=ids.TABLE_WRAP), type="dot"),
        ],
        className="panel panel-wide",
        id=ids.TABLE_REGION,
        tabIndex="-1",  # the skip link's target
        **{"aria-label": "Risk table"},
    )


def make_layout(
    dataset: Dataset, settings=None, weight_defaults: tuple[dict, dict] | None = None, initial: dict | None = None
) -> html.Div:
    """The whole page. Controls start at the defaults; a shared link's state is applied by a callback.

    ``initial`` (``callbacks.initial_outputs``) holds the default view already drawn: the render
    state, the map figure, the count and the chart figures. With it the first paint needs no callback.
    """
    weights, decay = weight_defaults or ({}, {})
    initial = initial or {}
    drawn = filters_key(initial["state"], None) if "state" in initial else None
    charts = initial.get("charts") or [None] * len(CHART_NAMES)
    legend_classes = html.Ul(
        [html.Li([html.Span(className="swatch", style={"background": RISK_COLOURS[c]}), c]) for c in RISK_ORDER],
        className="legend-list legend-inline",
        **{"aria-label": "Risk class colours"},
    )
    return html.Div(
        [
            html.Nav(
                [
                    html.A("Skip to the map", href=f"#{ids.MAP_REGION}", className="skip-link"),
                    html.A("Skip to the table", href=f"#{ids.TABLE_REGION}", className="skip-link"),
                ],
                className="skip-links",
                **{"aria-label": "Skip links"},
            ),
            dcc.Location(id=ids.URL, refresh=False),
            dcc.Store(id=ids.STATE, data=initial.get("state")),
            # the page's charts are drawn for the first state: a weight change then leaves those no weight changes
            dcc.Store(id=ids.MERCURY_DRAWN, data=drawn),
            dcc.Store(id=ids.CHARTS_DRAWN, data=drawn),
            # "" (no workspace) rather than None: a Store whose value equals its stored value fires no
            # callback on page load, so the first visit keeps the page as drawn; a stored workspace id fires
            dcc.Store(id=ids.OWN_WORKSPACE, storage_type="local", data=""),
            # the data in view (the own workspace, or share:<token> on /s/<token>): set from the two above
            dcc.Store(id=ids.WORKSPACE, data=""),
            dcc.Store(id=ids.SELECTED_SITE),
            dcc.Store(id=ids.SELECTED_LONLAT),
            dcc.Store(id=ids.MAP_VIEW),
            html.Header(
                [
                    html.H1("ASM risk: mine sites, protected areas and mercury"),
                    html.Div(banner(dataset), id=ids.DATA_BANNER),
                ],
                className="app-header",
            ),
            html.Div(
                [
                    html.Div(id=ids.ALERT, role="alert", **{"aria-live": "assertive"}),
                    html.Button("Dismiss", id=ids.ALERT_CLOSE, className="button-small"),
                ],
                className="alert-bar",
            ),
            html.Div(
                [
                    html.Aside(
                        [
                            _filters(dataset),
                            _map_controls(),
                            _weights(
                                weights,
                                decay,
                                not_assessed_note(not_assessed_summary(dataset.scored, weights), len(dataset.scored)),
                            ),
                            _exports(settings),
                            _upload(settings),
                        ],
                        className="sidebar",
                    ),
                    html.Main(
                        [
                            html.Div(
                                [
                                    html.P(
                                        initial.get("count"), id=ids.COUNT, className="count", **{"aria-live": "polite"}
                                    ),
                                    legend_classes,
                                    html.Span(id=ids.SELECTION_NOTE, className="hint", **{"aria-live": "polite"}),
                                    html.Span(id=ids.AOI_NOTE, className="hint", **{"aria-live": "polite"}),
                                    html.Button(
                                        "Clear map selection",
                                        id=ids.SELECTION_CLEAR,
                                        className="button-small",
                                        hidden=not (initial.get("state") or {}).get("selection"),
                                    ),
                                ],
                                className="count-bar",
                            ),
                            html.Div(
                                [
                                    dcc.Loading(
                                        dcc.Graph(
                                            id=ids.MAP,
                                            figure=initial.get("map"),
                                            style={"height": "62vh"},
                                            config={
                                                "scrollZoom": True,
                                                "displaylogo": False,
                                                "modeBarButtonsToAdd": ["lasso2d", "select2d"],
                                            },
                                        ),
                                        type="circle",
                                        className="map-wrap",
                                    ),
                                    html.Section(
                                        [
                                            html.H2("Site detail"),
                                            html.Div(
                                                html.P(
                                                    "Click a site on the map or a row in the table.", className="hint"
                                                ),
                                                id=ids.DETAIL,
                                            ),
                                        ],
                                        className="detail panel",
                                        **{"aria-label": "Site detail", "aria-live": "polite"},
                                    ),
                                ],
                                className="map-row",
                                id=ids.MAP_REGION,
                                tabIndex="-1",  # the skip link's target
                                role="region",
                                **{"aria-label": "Map and site detail"},
                            ),
                            aoi_panel(settings, (initial.get("state") or {}).get("aoi")),
                            html.Div(
                                [_chart_card(name, fig) for name, fig in zip(CHART_NAMES, charts, strict=True)],
                                className="charts",
                            ),
                            change_panel(dataset),
                            _table(),
                        ],
                        className="main",
                    ),
                ],
                className="body",
            ),
        ],
        className="app",
    )
