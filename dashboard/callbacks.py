"""Thin callbacks: read inputs, call one or two pure functions, return outputs."""

from __future__ import annotations

from dash import Input, Output, callback

from dashboard import ids
from dashboard.app_factory import current_settings
from dashboard.data import get_dataset
from dashboard.figures import basemap_layers, countries_geojson, make_map_figure
from dashboard.views import filter_sites


@callback(
    Output(ids.MAP, "figure"),
    Output(ids.COUNT, "children"),
    Input(ids.FILTER_COUNTRY, "value"),
    Input(ids.FILTER_COMMODITY, "value"),
    Input(ids.FILTER_RISK_CLASS, "value"),
)
def update_map(countries, commodities, risk_classes):
    settings = current_settings()
    dataset = get_dataset(settings)
    view = filter_sites(dataset.scored, countries=countries, commodities=commodities, risk_classes=risk_classes)
    layers = basemap_layers(countries_geojson(dataset.countries)) if settings.basemap == "offline" else []
    fig = make_map_figure(view, basemap_layers=layers, basemap=settings.basemap, is_demo=dataset.is_demo)
    return fig, f"{len(view):,} of {len(dataset.scored):,} sites"
