"""The change panel: a year slider with a play control over the map's mining footprints, the chart of mining
inside protected areas by year (stacked by country or by protected area) and the fastest-growth table."""

from __future__ import annotations

import pandas as pd
from dash import dcc, html

from dashboard import ids
from dashboard.change_view import GROWTH_COLUMNS, NO_MINING, growth_for_display
from dashboard.data import Dataset
from dashboard.mining import mining_years

PLAY_INTERVAL_MS = 1500


def _field(label: str, control, control_id: str) -> html.Div:
    return html.Div(
        [html.Label(label, htmlFor=control_id, id=f"{control_id}-label"), control],
        className="field",
        role="group",
        **{"aria-labelledby": f"{control_id}-label"},
    )


def change_panel(dataset: Dataset) -> html.Section:
    """The panel, with the dataset's years on the slider (disabled, with how to add footprints, when none)."""
    years = mining_years(dataset)
    last = years[-1] if years else 0
    slider = dcc.Slider(
        id=ids.CHANGE_YEAR,
        min=years[0] if years else 0,
        max=last,
        step=1,
        value=last,
        marks={y: str(y) for y in years} or {0: "—"},
        disabled=not years,
        included=True,
    )
    exports = [
        html.Button(
            fmt.upper(),
            id={"type": ids.CHART_EXPORT, "chart": ids.CHANGE_CHART_NAME, "fmt": fmt},
            className="button-small",
            **{"aria-label": f"Download the mining-by-year chart as {fmt.upper()}"},
        )
        for fmt in ("png", "svg", "html")
    ]
    exports.append(
        html.Button("CSV (mining by protected area and year)", id=ids.CHANGE_EXPORT_CSV, className="button-small")
    )
    return html.Section(
        [
            html.H2("Mining year by year"),
            html.P(
                "Satellite-detected mining footprints by year: move the slider or press Play to watch the map "
                "(this year's footprints in magenta, earlier ones in brown; the map's 'Mining footprints' overlay); "
                "the chart and the table follow the filters and the area of interest."
                if years
                else NO_MINING,
                className="hint",
            ),
            html.Div(
                [
                    html.Button(
                        "Play",
                        id=ids.CHANGE_PLAY,
                        className="button-secondary",
                        disabled=not years,
                        **{"aria-label": "Play the years on the map"},
                    ),
                    html.Div(_field("Year on the map", slider, ids.CHANGE_YEAR), className="change-slider"),
                    dcc.Interval(id=ids.CHANGE_TICK, interval=PLAY_INTERVAL_MS, disabled=True),
                    dcc.Store(id=ids.CHANGE_APPLIED),
                ],
                className="change-controls",
            ),
            html.Div(
                [
                    _field(
                        "Stack the bars by",
                        dcc.RadioItems(
                            id=ids.CHANGE_STACK,
                            options=[
                                {"label": "country", "value": "country"},
                                {"label": "protected area", "value": "target"},
                            ],
                            value="country",
                            inline=True,
                        ),
                        ids.CHANGE_STACK,
                    ),
                    _field(
                        "Show",
                        dcc.RadioItems(
                            id=ids.CHANGE_MEASURE,
                            options=[
                                {"label": "cumulative footprint", "value": "cumulative"},
                                {"label": "new footprint that year", "value": "new"},
                            ],
                            value="cumulative",
                            inline=True,
                        ),
                        ids.CHANGE_MEASURE,
                    ),
                ],
                className="change-options",
            ),
            html.Div(
                [
                    dcc.Loading(
                        dcc.Graph(
                            id=ids.chart(ids.CHANGE_CHART_NAME),
                            config={"displayModeBar": False},
                            style={"height": "380px"},
                        ),
                        type="dot",
                    ),
                    html.Div(exports, className="button-row chart-exports"),
                    dcc.Download(id=ids.CHANGE_DOWNLOAD),
                ],
                className="chart-card",
            ),
            html.H3("Protected areas with the fastest growth"),
            html.P(
                "Growth: the footprint added after the first year (km², union of the years' footprints inside the area).",
                className="hint",
            ),
            dcc.Loading(html.Div(id=ids.CHANGE_TABLE), type="dot"),
        ],
        className="panel panel-wide",
        id=ids.CHANGE_SECTION,
        **{"aria-label": "Mining year by year"},
    )


def _cell(value, col: str) -> str:
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return "—"
    if col == "mined_pct_last":
        return f"{value:.2f} %"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def growth_table(growth: pd.DataFrame) -> html.Div:
    """The fastest-growth table (at most ten protected areas)."""
    if growth.empty:
        return html.P("No protected area with mining in this view.", className="hint")
    cols = [(c, label) for c, label in GROWTH_COLUMNS if c in growth.columns]
    head = html.Thead(html.Tr([html.Th(label, scope="col") for _, label in cols]))
    body = html.Tbody(
        [
            html.Tr(
                [
                    html.Td(_cell(rec[c], c), className="num" if isinstance(rec[c], int | float) else None)
                    for c, _ in cols
                ]
            )
            for rec in growth_for_display(growth).to_dict("records")
        ]
    )
    return html.Div(html.Table([head, body], className="mini-table growth-table"), className="table-scroll")
