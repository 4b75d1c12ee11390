"""Pure figure builders for the mining change: data in, ``go.Figure`` out (imports plotly, never dash)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from reports.palette import MINING_COLOURS
from reports.titles import TITLE_MARGIN_TOP, bottom_legend, title_layout

CHANGE_TITLE = "Mining inside protected areas by year"  # km²: on the axis (reports.titles)
MEASURE_LABELS = {"cumulative": "cumulative footprint", "new": "new footprint that year"}
BY_LABELS = {"country": "country", "target": "protected area"}
OTHER_COLOUR = "#b8b8b8"


def make_mining_by_year_figure(
    pivot: pd.DataFrame,
    *,
    measure: str = "cumulative",
    by: str = "country",
    year: int | None = None,
    sites_cumulative: pd.Series | None = None,
    is_demo: bool = False,
    note: str | None = None,
) -> go.Figure:
    """Stacked bars of the mined area (km²) inside protected areas by year, one colour per country or protected
    area (``scoring.change.mining_by_year``), the slider's year outlined, and the sites first observed inside
    the protected areas up to each year as a line on a second axis when given."""
    fig = go.Figure()
    palette = list(qualitative.Safe) + list(qualitative.Vivid)
    years = [int(y) for y in pivot.index] if len(pivot) else []
    for i, col in enumerate(pivot.columns):
        colour = OTHER_COLOUR if col == "other protected areas" else palette[i % len(palette)]
        values = pivot[col].to_numpy(dtype="float64")
        widths = [2.5 if y == year else 0.0 for y in years]
        fig.add_bar(
            x=years, y=values, name=str(col), marker={"color": colour, "line": {"color": MINING_COLOURS["year"], "width": widths}},
            hovertemplate=f"{str(col).replace('%', '%%')}<br>%{{x}}: %{{y:,.2f}} km²<extra></extra>",
        )  # fmt: skip
    if sites_cumulative is not None and len(sites_cumulative) and sites_cumulative.max() > 0:
        fig.add_scatter(
            x=[int(y) for y in sites_cumulative.index], y=sites_cumulative.to_numpy(), name="sites observed inside (cumulative)",
            yaxis="y2", mode="lines+markers", line={"color": "#24343f", "dash": "dot"},
            hovertemplate="%{x}: %{y:,} sites first observed inside by then<extra></extra>",
        )  # fmt: skip
        fig.update_layout(
            yaxis2={
                "title": "sites",
                "overlaying": "y",
                "side": "right",
                "rangemode": "tozero",
                "showgrid": False,
                "tickformat": ",d",
            }
        )
    fig.update_layout(
        barmode="stack",
        xaxis={"title": "year", "tickmode": "array", "tickvals": years, "ticktext": [str(y) for y in years]},
        yaxis={"title": f"km² ({MEASURE_LABELS.get(measure, measure)})", "rangemode": "nonnegative"},
        **title_layout(CHANGE_TITLE, is_demo=is_demo),
        template="plotly_white",
        height=380,
        margin={"l": 60, "r": 60, "t": TITLE_MARGIN_TOP[is_demo], "b": 40},
        legend=bottom_legend(font={"size": 11}, title={"text": BY_LABELS.get(by, by) + ": "}),
    )
    if pivot.empty or not np.isfinite(pivot.to_numpy(dtype="float64")).any() or not pivot.to_numpy().any():
        fig.add_annotation(
            text=note or "no mining footprint inside the protected areas of this view", xref="paper", yref="paper",
            x=0.5, y=0.5, showarrow=False, font={"size": 14},
        )  # fmt: skip
    return fig
