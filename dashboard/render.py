"""The views drawn from a render state: shared by the callbacks, the app factory (the first page) and the
embed route, so a chart in an iframe is the chart on screen.

Takes the dataset and the scored frame as arguments (the callers fetch them from ``dashboard.data``);
returns figures and text.
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from dashboard.aoi import extra_map_layers
from dashboard.data import Dataset, risk_config
from dashboard.figures import CHART_NAMES, CHART_TITLES, MAP_COLUMNS, make_chart_figure, make_dashboard_map
from dashboard.state import default_state
from dashboard.views import count_text, filter_view, render_state, site_record
from scoring.errors import NotFoundError
from settings import Settings


def map_figure(
    settings: Settings,
    dataset: Dataset,
    scored: pd.DataFrame,
    state: dict,
    map_view: list[float] | None,
    *,
    view: pd.DataFrame | None = None,
    selected: dict | None = None,
    countries_url: str | None = None,
    extra_layers: tuple[dict, ...] | list[dict] = (),
) -> go.Figure:
    """The map of the sites passing ``state``'s filters, with the overlays of ``dataset`` and ``extra_layers``."""
    return make_dashboard_map(
        filter_view(scored, state) if view is None else view,
        all_sites=scored,
        countries=dataset.countries,
        overlay_frames={
            "protected_areas": dataset.protected_areas,
            "rainforest": dataset.rainforest,
            "reefs": dataset.reefs,
            "arctic_lat": dataset.arctic_lat,
        },
        state=state,
        basemap=settings.basemap,
        max_payload_mb=settings.max_map_payload_mb,
        map_view=map_view,
        selected_site=selected,
        is_demo=dataset.is_demo,
        countries_url=countries_url,
        extra_layers=extra_layers,
    )


def map_outputs(
    settings: Settings,
    dataset: Dataset,
    scored: pd.DataFrame,
    state: dict,
    map_view: list[float] | None,
    site_id: str | None,
    countries_url: str,
    extra_layers: tuple[dict, ...] | list[dict] = (),
) -> tuple[go.Figure, str]:
    """(map figure, 'N of M sites') for a render state: shared by the callback and the first page."""
    view = filter_view(scored, state, columns=MAP_COLUMNS)  # what the map reads: no copy of the other columns
    fig = map_figure(
        settings, dataset, scored, state, map_view,
        view=view, selected=site_record(scored, site_id), countries_url=countries_url, extra_layers=extra_layers,
    )  # fmt: skip
    return fig, count_text(len(view), len(scored))


def chart_outputs(
    settings: Settings, dataset: Dataset, view: pd.DataFrame, state: dict, names: tuple[str, ...] = CHART_NAMES
) -> list[go.Figure]:
    """The linked charts' figures (all, or ``names``) for a filtered view drawn with the state's weights."""
    config = risk_config(settings, state.get("weights"), state.get("decay"))
    return [
        make_chart_figure(name, view, is_demo=dataset.is_demo, class_bounds=config.class_thresholds, config=config)
        for name in names
    ]


def initial_outputs(settings: Settings, dataset: Dataset, scored: pd.DataFrame, countries_url: str) -> dict[str, Any]:
    """The default view of the server's data, drawn into the page itself (see docs/performance.md, page load).

    The first visit then paints the map and the charts as soon as plotly.js is ready, without waiting
    for a chain of callbacks; ``sync_state`` leaves them alone while the URL holds no state.
    """
    state = render_state(default_state())
    extra = extra_map_layers(settings, dataset, scored, state, None, None)  # the mining footprints by year
    fig, count = map_outputs(settings, dataset, scored, state, None, None, countries_url, extra_layers=extra)
    return {
        "state": state,
        "map": fig,
        "count": count,
        "charts": chart_outputs(settings, dataset, filter_view(scored, state), state),
    }


def require_chart(chart: str) -> None:
    """NotFoundError unless ``chart`` is 'map' or a name in CHART_NAMES."""
    if chart != "map" and chart not in CHART_NAMES:
        raise NotFoundError(f"unknown chart {chart!r}: use map or one of {', '.join(CHART_NAMES)}")


def embed_page(
    chart: str, state: dict, settings: Settings, dataset: Dataset, scored: pd.DataFrame, *, plotlyjs_src: str
) -> str:
    """A standalone page with one chart ('map' or a name in CHART_NAMES) for ``state``, for an iframe."""
    require_chart(chart)
    view = filter_view(scored, render_state(state))
    if chart == "map":
        extra = extra_map_layers(settings, dataset, scored, state, state["view"], dataset.workspace_id)
        fig = map_figure(settings, dataset, scored, state, state["view"], view=view, extra_layers=extra)
        title = "ASM sites by risk class"
    else:
        (fig,) = chart_outputs(settings, dataset, view, state, (chart,))
        title = CHART_TITLES[chart]
    fig.update_layout(autosize=True, height=None)
    body = fig.to_html(
        full_html=False,
        include_plotlyjs=plotlyjs_src,
        default_height="100vh",
        config={"displaylogo": False, "responsive": True},
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"  # a phone lays it out at its width
        f"<title>{html.escape(title)}</title><style>html,body{{margin:0;height:100%}}</style></head>"
        f"<body>{body}</body></html>"
    )
