"""The page shell: header, data banner, filters, map and counts."""

from __future__ import annotations

from dash import dcc, html

from dashboard import ids
from dashboard.data import Dataset
from dashboard.figures import RISK_ORDER


def make_layout(dataset: Dataset) -> html.Div:
    scored = dataset.scored
    countries = sorted(scored["country_iso3"].dropna().astype(str).unique())
    commodities = sorted(scored["commodity"].dropna().astype(str).unique())
    banner = (
        html.Div("Synthetic demo data: generated sites and protected areas, not real observations.", id=ids.DATA_BANNER, className="banner-demo")
        if dataset.is_demo
        else html.Div(f"Data: {'; '.join(dataset.sources[:3])}", id=ids.DATA_BANNER, className="banner-data")
    )
    return html.Div(
        [
            dcc.Location(id=ids.URL, refresh=False),
            html.Header([html.H1("ASM risk: mine sites, protected areas and mercury"), banner], className="app-header"),
            html.Div(id=ids.ALERT, role="alert"),
            html.Div(
                [
                    html.Label("Country", htmlFor=ids.FILTER_COUNTRY),
                    dcc.Dropdown(id=ids.FILTER_COUNTRY, options=countries, multi=True, searchable=True, placeholder="All countries"),
                    html.Label("Commodity", htmlFor=ids.FILTER_COMMODITY),
                    dcc.Dropdown(id=ids.FILTER_COMMODITY, options=commodities, multi=True, placeholder="All commodities"),
                    html.Label("Risk class", htmlFor=ids.FILTER_RISK_CLASS),
                    dcc.Checklist(id=ids.FILTER_RISK_CLASS, options=list(RISK_ORDER), value=list(RISK_ORDER), inline=True),
                    html.P(id=ids.COUNT, className="count", **{"aria-live": "polite"}),
                ],
                className="filters",
            ),
            dcc.Loading(dcc.Graph(id=ids.MAP, style={"height": "70vh"}, config={"scrollZoom": True}), type="circle"),
        ],
        className="app",
    )
