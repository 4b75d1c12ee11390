"""Pure figure builders: data in, ``go.Figure`` out (imports plotly, never dash).

Speed and payload: every per-point array is a NumPy array (float32 where enough), so
plotly serialises it as a typed array; the hover card is one ``hovertemplate`` per
trace reading ``customdata``, never a per-point hover string. See docs/performance.md.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from dashboard.basemap import (  # noqa: F401  (re-exported: the basemap's names were defined here)
    IUCN_GROUPS,
    LAND_COLOUR,
    OFFLINE_BACKGROUND,
    OUTLINE_COLOUR,
    OVERLAY_STYLE,
    arctic_circle_geojson,
    basemap_layers,
    countries_geojson,
    countries_source_url,
    offline_style,
    outline_layer,
    overlay_layers,
    parse_countries_query,
    simplified_geojson,
    tolerance_for_zoom,
)
from dashboard.chart_data import sorted_distances
from dashboard.labels import FACTOR_LABELS
from dashboard.map_bins import Cells, bin_sites, cell_marker_px, mercator_px, view_window
from dashboard.state import RISK_CLASSES
from dashboard.totals import MERCURY_INPUT_COLUMNS
from dashboard.views import (
    BUFFER_MARKS_KM,
    ROW,
    bounds_view,
    commodity_counts,
    contributions,
    countries_bounds,
    data_bounds,
    ecdf,
    mercury_by_country,
    plural,
    risk_by_country,
    share_within,
)
from geo.risk import RiskConfig
from reports.palette import RISK_COLOURS  # the colours every map and chart shares (and why)
from reports.titles import TITLE_MARGIN_TOP, bottom_legend, title_layout

RISK_ORDER = RISK_CLASSES
SELECTED_COLOUR = "#1f6feb"
HOVER = (
    "%{text}<br>risk %{customdata[1]:.0f}/100 (CLASS)"
    "<br>nearest protected area: %{hovertext}<br>distance: %{customdata[2]:.1f} km<extra></extra>"
)
# Above the payload budget the hover card keeps the numbers only (names are in the detail panel and table).
HOVER_LEAN = (
    "risk %{customdata[1]:.0f}/100 (CLASS)<br>nearest protected area: %{customdata[2]:.1f} km"
    "<br><i>click for name and details</i><extra></extra>"
)
HOVER_TEXT_BYTES_PER_SITE = 60.0  # typical JSON size of a site's name, commodity and protected-area name
#: above this many sites in the window around the view the map draws screen cells (dashboard.map_bins):
#: 12,000 markers with their names are ~0.7 MB and ~50 ms to build and serialise (the filter -> redraw budget
#: at 100k sites is 200 ms for the map, the charts and the table); a cell map is ~4,000 markers at most
MAX_MAP_POINTS = 12_000
CELL_HOVER = (
    "<b>%{customdata[1]:,} sites</b> in this cell<br>very high %{customdata[5]:,} · high %{customdata[4]:,}"
    " · moderate %{customdata[3]:,} · low %{customdata[2]:,}<br>mean risk %{customdata[6]:.0f}/100"
    "<br><i>click to zoom in</i><extra></extra>"
)
CHART_NAMES: tuple[str, ...] = (
    "risk-by-country",
    "risk-histogram",
    "pa-distance",
    "commodity-mix",
    "mercury-by-country",
)
#: the charts drawn by their own callback (a Monte Carlo of the view: the other charts, the map and the table
#: never wait for it; see dashboard.callbacks.update_mercury_chart)
MERCURY_CHART = "mercury-by-country"
MONTE_CARLO_CHARTS: tuple[str, ...] = (MERCURY_CHART,)
#: the charts the charts + table callback draws (counts of the view: milliseconds)
COUNT_CHARTS: tuple[str, ...] = tuple(n for n in CHART_NAMES if n not in MONTE_CARLO_CHARTS)
#: the charts no weight or decay changes (distances, commodities, mercury release): a weight change leaves them be
WEIGHT_FREE_CHARTS: tuple[str, ...] = ("pa-distance", "commodity-mix", MERCURY_CHART)
#: the columns the map reads (a filter copies only these for it)
MAP_COLUMNS: tuple[str, ...] = (
    "lon", "lat", "risk_class", "risk_0_100", "dist_protected_area_km", "name", "commodity", "nearest_protected_area",
    "workers", "hg_kg_per_yr", "site_id",
)  # fmt: skip
#: the columns the linked charts read (a filter copies only these for them: dashboard.views.filter_view)
CHART_COLUMNS: tuple[str, ...] = (
    "country_iso3", "risk_class", "risk_0_100", "dist_protected_area_km", "commodity",
    "hg_kg_per_yr_low", "hg_kg_per_yr", "hg_kg_per_yr_high", *MERCURY_INPUT_COLUMNS,
)  # fmt: skip
CHART_TITLES = {
    "risk-by-country": "Sites by country and risk class",
    "risk-histogram": "Risk score distribution",
    "pa-distance": "Distance to the nearest protected area",
    "commodity-mix": "Commodity mix",
    "mercury-by-country": "Estimated mercury release by country",  # kg/yr: on the axis (reports.titles)
}


# --- the map -----------------------------------------------------------------------------------
def _text(frame: pd.DataFrame, col: str, fill: str = "") -> np.ndarray:
    if col not in frame.columns:
        return np.full(len(frame), fill, dtype=object)
    return frame[col].astype("string").fillna(fill).to_numpy(dtype=object)


def _num(frame: pd.DataFrame, col: str, dtype: str = "float32") -> np.ndarray:
    if col not in frame.columns:
        return np.full(len(frame), np.nan, dtype=dtype)
    return frame[col].to_numpy(dtype=dtype, na_value=np.nan)


def marker_sizes(values: np.ndarray, min_px: float = 5.0, max_px: float = 18.0) -> np.ndarray:
    """Marker diameters (px) with area proportional to ``values``; NaN or non-positive get ``min_px``."""
    v = np.asarray(values, dtype="float64")
    finite = np.isfinite(v) & (v > 0)
    out = np.full(v.shape, min_px, dtype="float32")
    if finite.any():
        top = np.nanpercentile(v[finite], 99) or 1.0
        out[finite] = min_px + (max_px - min_px) * np.sqrt(np.clip(v[finite] / top, 0, 1))
    return out


def site_customdata(part: pd.DataFrame, *, lean: bool = False) -> np.ndarray:
    """customdata: row position, risk, distance km, as one float32 array (a typed array in the JSON).

    The names travel as the traces' ``text`` and ``hovertext`` (:func:`site_hover_text`): a 2-D
    customdata of numbers and strings is an object array, which plotly deep-copies element by element
    (~0.2 s for 25,000 sites, against ~0.05 s for a float32 array and two arrays of strings).
    ``lean`` is accepted for the callers of the earlier layout: the numbers are the same either way.
    """
    rows = part[ROW].to_numpy(dtype="float32") if ROW in part.columns else np.arange(len(part), dtype="float32")
    return np.column_stack(
        [rows, np.round(_num(part, "risk_0_100"), 1), np.round(_num(part, "dist_protected_area_km"), 2)]
    ).astype("float32")


def site_ids(part: pd.DataFrame) -> np.ndarray:
    """The points' ids: each site's row position, as text (a click reports its point's id; dcc.Graph
    cannot read a row of a typed-array customdata for clickData)."""
    rows = part[ROW].to_numpy() if ROW in part.columns else np.arange(len(part))
    return rows.astype(str).astype(object)


def site_hover_text(part: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(text, hovertext) of the hover card: "<b>name</b><br>commodity", and the nearest protected area.

    plotly renders a subset of HTML inside hovertemplate substitutions: names from the data are
    escaped here, so "<b>" or "<img onerror=…>" shows as text, never as markup.
    """
    name, commodity = _escaped(_text(part, "name")), _escaped(_text(part, "commodity"))
    text = np.array([f"<b>{n}</b><br>{c}" for n, c in zip(name, commodity, strict=True)], dtype=object)
    return text, _escaped(_text(part, "nearest_protected_area", "—"))


def _escaped(values: np.ndarray) -> np.ndarray:
    """``html.escape`` of every text value (no tag can form without '<'; quotes are left as typed because
    plotly decodes only a few named entities and would show ``&quot;`` literally); ~25 ms for 100k names."""
    return np.array([html.escape(v, quote=False) for v in values], dtype=object)


def make_map_figure(
    scored: pd.DataFrame,
    *,
    basemap_layers: list[dict] | None = None,
    basemap: str = "offline",
    center: dict | None = None,
    zoom: float = 1.3,
    is_demo: bool = False,
    size_by: str = "none",
    selected_site: Mapping[str, Any] | None = None,
    uirevision: str = "map",
    max_payload_mb: float = 5.0,
    max_points: int | None = None,
) -> go.Figure:
    """Sites coloured by risk class (one trace per class, so the legend toggles them), sized by a control.

    The last trace is the selected site (a ring), empty when none is selected. When the
    names would push the figure over ``max_payload_mb`` the hover card keeps the numbers only.
    Above ``max_points`` sites only those in the window around the view are drawn, and when the
    window too holds more, one marker per screen cell instead (``dashboard.map_bins``; a trace's
    ``meta`` says which: "sites" or "cells").
    """
    centre = center or {"lon": 10.0, "lat": 5.0}
    shown, cells = map_content(scored, centre, zoom, MAX_MAP_POINTS if max_points is None else max_points)
    if cells is not None:
        traces = _cell_traces(cells)
        legend_title = "Highest risk class per cell · size: sites"
    else:
        traces = _site_traces(shown, size_by, max_payload_mb)
        legend_title = "Risk class" + {"workers": " · size: workers", "mercury": " · size: mercury kg/yr"}.get(
            size_by, ""
        )
    sel_lon, sel_lat = [], []
    if selected_site and selected_site.get("lon") is not None:
        sel_lon, sel_lat = [float(selected_site["lon"])], [float(selected_site["lat"])]
    traces.append(
        go.Scattermap(
            lon=sel_lon,
            lat=sel_lat,
            mode="markers",
            name="selected site",
            marker={"size": 22, "color": SELECTED_COLOUR, "opacity": 0.45},
            hoverinfo="skip",
            showlegend=False,
        )
    )
    fig = go.Figure(data=traces)
    style = offline_style() if basemap == "offline" else basemap
    fig.update_layout(
        map={
            "style": style,
            "center": centre,
            "zoom": zoom,
            "layers": basemap_layers or [],
        },
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        legend={"title": {"text": legend_title}, "x": 0.01, "y": 0.99, "bgcolor": "rgba(255,255,255,0.85)"},
        uirevision=uirevision,
        # a click opens a site (clickData) and never selects: selecting is the lasso's and the box's job
        clickmode="event",
        # a vertical toolbar down the right edge: never over the legend (top left), whatever the width
        modebar={"orientation": "v"},
        dragmode="pan",
    )
    if is_demo:
        fig.add_annotation(
            text="synthetic demo data",
            xref="paper",
            yref="paper",
            x=0.99,
            y=0.01,
            xanchor="right",
            yanchor="bottom",
            showarrow=False,
            font={"size": 14, "color": "#7a1d1d"},
            bgcolor="rgba(255,255,255,0.85)",
        )
    return fig


def risk_class_codes(frame: pd.DataFrame) -> np.ndarray:
    """Each row's index in RISK_ORDER (-1: none), from a prepared frame's categorical codes when it has them."""
    if "risk_class" not in frame.columns:
        return np.full(len(frame), -1, dtype=np.int64)
    col = frame["risk_class"]
    if not (isinstance(col.dtype, pd.CategoricalDtype) and list(col.cat.categories) == list(RISK_ORDER)):
        col = pd.Categorical(col.astype("string"), categories=list(RISK_ORDER))
        return np.asarray(col.codes, dtype=np.int64)
    return col.cat.codes.to_numpy().astype(np.int64)


def map_follows_view(n_sites: int) -> bool:
    """Whether a map of ``n_sites`` changes with its view (it draws the window or cells), so a pan redraws it."""
    return n_sites > MAX_MAP_POINTS


def map_content(
    scored: pd.DataFrame, centre: Mapping[str, float], zoom: float, max_points: int
) -> tuple[pd.DataFrame | None, Cells | None]:
    """(sites to draw, None), or (None, cells) when the window around the view holds more than ``max_points``."""
    if len(scored) <= max_points:
        return scored, None
    x, y = mercator_px(_num(scored, "lon", "float64"), _num(scored, "lat", "float64"))
    window = view_window(float(centre["lon"]), float(centre["lat"]), float(zoom))
    inside = window.contains(x, y)
    if int(inside.sum()) <= max_points:
        return scored[inside], None
    codes = risk_class_codes(scored)[inside]
    risk = _num(scored, "risk_0_100", "float64")[inside]
    return None, bin_sites(x[inside], y[inside], codes, risk, window=window, n_classes=len(RISK_ORDER))


def _site_traces(scored: pd.DataFrame, size_by: str, max_payload_mb: float) -> list[go.Scattermap]:
    """One trace of site markers per risk class."""
    lean = len(scored) * HOVER_TEXT_BYTES_PER_SITE > max_payload_mb * 1e6 * 0.5
    codes = risk_class_codes(scored)
    size_col = {"workers": "workers", "mercury": "hg_kg_per_yr"}.get(size_by)
    sizes_all = marker_sizes(_num(scored, size_col, "float64")) if size_col else None
    traces = []
    for i, cls in enumerate(RISK_ORDER):
        sel = codes == i
        part = scored[sel]
        size = sizes_all[sel] if sizes_all is not None else 7
        traces.append(
            go.Scattermap(
                lon=_num(part, "lon"),
                lat=_num(part, "lat"),
                mode="markers",
                name=f"{cls} ({len(part):,})",
                legendgroup=cls,
                marker={"size": size, "color": RISK_COLOURS[cls], "opacity": 0.85},
                customdata=site_customdata(part) if len(part) else None,
                ids=site_ids(part) if len(part) else None,
                hovertemplate=(HOVER_LEAN if lean else HOVER).replace("CLASS", cls),
                meta="sites",
                **(
                    {}
                    if lean or not len(part)
                    else dict(zip(("text", "hovertext"), site_hover_text(part), strict=True))
                ),
            )
        )
    return traces


def _cell_traces(cells: Cells) -> list[go.Scattermap]:
    """One trace of cell markers per highest risk class (cells whose sites have no class: grey, when any)."""
    custom = np.column_stack(
        [np.full(len(cells), -1.0), cells.count, *cells.by_class, np.round(cells.mean_risk, 1)]
    ).astype("float32")  # customdata[0] = -1: a cell, not a site's row (its id is "cell-<n>": a click zooms in)
    sizes = cell_marker_px(cells.count)
    groups = [(i, cls, RISK_COLOURS[cls]) for i, cls in enumerate(RISK_ORDER)]
    if (cells.top_class < 0).any():
        groups.append((-1, "no class", "#8a8a8a"))
    traces = []
    for code, name, colour in groups:
        sel = cells.top_class == code
        traces.append(
            go.Scattermap(
                lon=cells.lon[sel].astype("float32"),
                lat=cells.lat[sel].astype("float32"),
                mode="markers",
                name=f"{name} ({plural(int(sel.sum()), 'cell')})",
                legendgroup=name,
                marker={"size": sizes[sel], "color": colour, "opacity": 0.8},
                customdata=custom[sel],
                ids=np.array([f"cell-{k}" for k in np.flatnonzero(sel)], dtype=object),
                hovertemplate=CELL_HOVER,
                meta="cells",
            )
        )
    return traces


# --- linked charts ---------------------------------------------------------------------------------
# plotly_white with the trace defaults of the trace types drawn here only: the whole template (defaults
# for 24 trace types) was validated and copied into every figure, ~30 ms a chart; the look is the same
CHART_TEMPLATE = go.layout.Template(
    layout=pio.templates["plotly_white"].layout,
    data={k: pio.templates["plotly_white"].data[k] for k in ("bar", "scatter", "scattergl")},
)


def _chart_layout(fig: go.Figure, title: str, is_demo: bool) -> go.Figure:
    fig.update_layout(
        **title_layout(title, is_demo=is_demo),
        margin={"l": 50, "r": 10, "t": TITLE_MARGIN_TOP[is_demo], "b": 40},
        template=CHART_TEMPLATE,
        height=320,
        legend=bottom_legend(),
    )
    return fig


def _empty(fig: go.Figure, text: str = "no sites match the filters") -> go.Figure:
    fig.add_annotation(text=text, xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False, font={"size": 14})
    return fig


def make_risk_by_country_figure(view: pd.DataFrame, *, is_demo: bool = False) -> go.Figure:
    """Stacked bars: sites by country and risk class. Clicking a bar filters to that country."""
    tab = risk_by_country(view)
    fig = go.Figure()
    for cls in RISK_ORDER:
        if cls in tab.columns:
            fig.add_bar(
                x=list(tab.index), y=tab[cls].to_numpy(), name=cls, marker_color=RISK_COLOURS[cls],
                customdata=list(tab.index), hovertemplate="%{x}: %{y} " + cls + "<extra></extra>",
            )  # fmt: skip
    fig.update_layout(barmode="stack", xaxis_title="country (ISO3)", yaxis_title="sites")
    if tab.empty:
        _empty(fig)
    return _chart_layout(fig, CHART_TITLES["risk-by-country"], is_demo)


def make_risk_histogram_figure(
    view: pd.DataFrame, *, class_bounds: Sequence[float] = (25.0, 50.0, 75.0), is_demo: bool = False
) -> go.Figure:
    """Histogram of risk_0_100 (pre-binned: 5-point bins), bars coloured by class, class limits marked."""
    edges = np.arange(0, 105, 5, dtype="float64")
    values = _num(view, "risk_0_100", "float64")
    # equal bins given as a count and range: numpy's direct binning, the counts of bins=edges without a search
    counts, _ = np.histogram(values[np.isfinite(values)], bins=len(edges) - 1, range=(edges[0], edges[-1]))
    mids = (edges[:-1] + edges[1:]) / 2
    cls_idx = np.searchsorted(np.asarray(class_bounds), mids, side="right")
    colours = [RISK_COLOURS[RISK_ORDER[i]] for i in cls_idx]
    fig = go.Figure(
        go.Bar(
            x=mids,
            y=counts,
            width=5,
            marker_color=colours,
            customdata=[RISK_ORDER[i] for i in cls_idx],
            hovertemplate="risk %{x:.1f} ± 2.5 (%{customdata}): %{y} sites<extra></extra>",
            showlegend=False,
        )
    )
    for b in class_bounds:
        fig.add_vline(x=b, line_dash="dot", line_color="#555")
    fig.update_layout(xaxis_title="risk score (0-100)", yaxis_title="sites", xaxis_range=[0, 100])
    if not np.isfinite(values).any():
        _empty(fig)
    return _chart_layout(fig, CHART_TITLES["risk-histogram"], is_demo)


DISTANCE_FLOOR_KM = 0.01  # the log axis starts at 10 m: sites inside a protected area (0 km) are drawn there


def distance_axis_range(dist_km: np.ndarray, marks_km: Sequence[float] = BUFFER_MARKS_KM) -> list[float]:
    """The log x range (log10 km) of the distance chart: from the 10 m floor to past the farthest site and mark."""
    finite = dist_km[np.isfinite(dist_km)]
    top = max(float(finite.max()) if finite.size else 0.0, max(marks_km, default=1.0), 1.0)
    return [math.log10(DISTANCE_FLOOR_KM), math.log10(top) + 0.15]


def make_distance_figure(
    view: pd.DataFrame, *, marks_km: Sequence[float] = BUFFER_MARKS_KM, is_demo: bool = False
) -> go.Figure:
    """ECDF of the distance to the nearest protected area on a log km axis, with the share within 1/5/10/25 km.

    A log axis has no 0: sites inside a protected area (0 km) and closer than 10 m start the curve at the
    axis floor (0.01 km), where a marker gives the share inside; the axis title says so. The x range is set
    explicitly (never autoranged over the reference lines), and the reference lines are shapes in km (plotly
    places shapes on a log axis by data value) while their labels are annotations in log10 km.
    """
    dist = _num(view, "dist_protected_area_km", "float64")
    x, y = ecdf(sorted_distances(view), presorted=True)
    shown = np.maximum(x, DISTANCE_FLOOR_KM)
    fig = go.Figure(
        go.Scatter(
            x=shown,
            y=y * 100,
            mode="lines",
            line_shape="hv",
            line={"color": "#24343f"},
            name="sites",
            showlegend=False,
            hovertemplate="%{x:.2f} km: %{y:.1f}% of sites within<extra></extra>",
        )
    )
    finite = dist[np.isfinite(dist)]
    if finite.size:
        inside = float(np.mean(finite <= 0.0)) * 100
        fig.add_scatter(
            x=[DISTANCE_FLOOR_KM], y=[inside], mode="markers+text", marker={"color": "#006d2c", "size": 8},
            text=[f"  inside: {inside:.0f}%"], textposition="top right", showlegend=False,
            hovertemplate=f"inside a protected area: {inside:.1f}% of sites<extra></extra>",
        )  # fmt: skip
    shares = share_within(dist, marks_km)
    for m in marks_km:
        share = shares[m]
        label = f"{m:g} km: {share * 100:.0f}%" if math.isfinite(share) else f"{m:g} km"
        fig.add_shape(type="line", x0=m, x1=m, y0=0, y1=1, xref="x", yref="paper",
                      line={"dash": "dot", "color": "#555", "width": 1})  # fmt: skip
        # vertical, just left of its line, inside the plot: labels of close marks (5 and 10 km) never overlap
        fig.add_annotation(
            x=math.log10(m), y=0.98, yref="paper", text=label, showarrow=False, textangle=-90, xanchor="right",
            yanchor="top", font={"size": 10}, bgcolor="rgba(255,255,255,0.85)",
        )  # fmt: skip
    fig.update_layout(
        xaxis={
            "type": "log",
            "range": distance_axis_range(dist, marks_km),
            # two lines: on one, the title ran past a phone-wide chart (390 px)
            "title": "km to nearest protected area<br>(log scale; inside = 0, drawn at 0.01)",
        },
        yaxis={"title": "% of sites within", "range": [0, 100]},
    )
    if x.size == 0:
        _empty(fig, "no distances (no sites, or no protected-area layer)")
    fig = _chart_layout(fig, CHART_TITLES["pa-distance"], is_demo)
    fig.update_layout(margin_b=62)  # room for the axis title's second line
    return fig


def make_commodity_figure(view: pd.DataFrame, *, is_demo: bool = False) -> go.Figure:
    """Horizontal bars of sites by primary commodity. Clicking a bar filters to that commodity."""
    counts = commodity_counts(view).sort_values()
    fig = go.Figure(
        go.Bar(
            x=counts.to_numpy(),
            y=list(counts.index),
            orientation="h",
            marker_color="#4d6d8a",
            customdata=list(counts.index),
            hovertemplate="%{y}: %{x} sites<extra></extra>",
            showlegend=False,
        )
    )
    fig.update_layout(xaxis_title="sites", yaxis_title=None)
    if counts.empty:
        _empty(fig)
    return _chart_layout(fig, CHART_TITLES["commodity-mix"], is_demo)


def make_mercury_by_country_figure(
    view: pd.DataFrame, *, is_demo: bool = False, config: RiskConfig | None = None
) -> go.Figure:
    """Median mercury total by country with its 90% range (p5–p95 of the summed Monte Carlo draws) as error bars.
    Clicking a bar filters to that country.

    A missing estimate is not 0: mercury-using sites of unknown size add nothing to a bar and are counted in
    its hover card; a country with no estimate at all gets no bar but an "unknown" label, and the y axis
    never goes below 0.
    """
    summary = mercury_by_country(view, config=config)
    n = len(summary)

    def col(name: str) -> np.ndarray:
        if not n or name not in summary.columns:
            return np.full(n, np.nan)
        return summary[name].to_numpy(dtype="float64", na_value=np.nan)

    central, low, high = col("hg_kg_per_yr"), col("hg_kg_per_yr_low"), col("hg_kg_per_yr_high")
    unknown = np.nan_to_num(col("n_hg_unknown_size")).astype("int64")
    estimated = np.nan_to_num(col("n_sites")).astype("int64") - unknown
    no_estimate = (estimated <= 0) & (unknown > 0)
    central = np.where(no_estimate, np.nan, central)
    countries = list(summary.index)
    fig = go.Figure(
        go.Bar(
            x=countries,
            y=central,
            marker_color="#807dba",
            error_y={
                "type": "data",
                "symmetric": False,
                "array": np.nan_to_num(high - central),
                "arrayminus": np.nan_to_num(central - low),
            },
            customdata=np.column_stack([low, high, unknown]) if n else None,
            hovertemplate=(
                "%{x}: %{y:,.0f} kg/yr (90% range %{customdata[0]:,.0f}–%{customdata[1]:,.0f})"
                "<br>sites of unknown size (not counted): %{customdata[2]:,}<extra></extra>"
            ),
            showlegend=False,
        )
    )
    for country in np.asarray(countries, dtype=object)[no_estimate]:
        fig.add_annotation(x=country, y=0, yanchor="bottom", text="unknown", showarrow=False, textangle=-90,
                           font={"size": 10, "color": "#555"})  # fmt: skip
    fig.update_layout(
        xaxis_title="country (ISO3)",
        yaxis={"title": "mercury kg/yr (90% range)", "rangemode": "nonnegative"},
    )
    if not np.isfinite(central).any():
        fig.update_yaxes(range=[0, 1])
        text = "no mercury estimate for these sites"
        if unknown.sum():
            text += f"<br>({plural(int(unknown.sum()), 'mercury-using site')} of unknown size)"
        _empty(fig, text)
    elif not np.nanmax(np.fmax(central, high)) > 0:
        fig.update_yaxes(range=[0, 1])
        _empty(fig, "no mercury release estimated: none of these sites is taken to use mercury")
    return _chart_layout(fig, CHART_TITLES["mercury-by-country"], is_demo)


def make_chart_figure(
    name: str,
    view: pd.DataFrame,
    *,
    is_demo: bool = False,
    class_bounds=(25.0, 50.0, 75.0),
    config: RiskConfig | None = None,
) -> go.Figure:
    """The linked chart called ``name`` (one of CHART_NAMES) for ``view``, scored with ``config``."""
    if name == "risk-by-country":
        return make_risk_by_country_figure(view, is_demo=is_demo)
    if name == "risk-histogram":
        return make_risk_histogram_figure(view, class_bounds=class_bounds, is_demo=is_demo)
    if name == "pa-distance":
        return make_distance_figure(view, is_demo=is_demo)
    if name == "commodity-mix":
        return make_commodity_figure(view, is_demo=is_demo)
    if name == "mercury-by-country":
        return make_mercury_by_country_figure(view, is_demo=is_demo, config=config)
    raise KeyError(f"unknown chart {name!r}; one of {', '.join(CHART_NAMES)}")


# --- site detail ---------------------------------------------------------------------------------------
def make_waterfall_figure(record: Mapping[str, Any]) -> go.Figure:
    """The site's risk score as a waterfall of its ``contrib_*`` points, ending at risk_0_100."""
    parts = contributions(record)
    names = [FACTOR_LABELS.get(p[0], p[0].replace("_", " ")) for p in parts]
    values = [round(p[1], 2) for p in parts]
    total = record.get("risk_0_100")
    fig = go.Figure(
        go.Waterfall(
            x=[*names, "risk score"],
            y=[*values, total if total is not None else sum(values)],
            measure=["relative"] * len(values) + ["total"],
            increasing={"marker": {"color": "#e31a1c"}},
            decreasing={"marker": {"color": "#2166ac"}},
            totals={"marker": {"color": "#24343f"}},
            hovertemplate="%{x}: %{y:.1f} points<extra></extra>",
        )
    )
    fig.update_layout(
        title={"text": "Score breakdown (points of 0-100)", "font": {"size": 13}},
        margin={"l": 40, "r": 10, "t": 36, "b": 60},
        template=CHART_TEMPLATE,
        height=280,
        yaxis={"range": [0, 100]},
    )
    return fig


def map_camera(
    state: Mapping[str, Any],
    countries: gpd.GeoDataFrame | None,
    all_sites: pd.DataFrame,
    map_view: Sequence[float] | None = None,
) -> tuple[dict, float, tuple[float, float, float, float] | None]:
    """(centre, zoom, clip bounds) of the map: a shared view, else the chosen countries, else all the data."""
    fit_bounds = countries_bounds(countries, state.get("countries") or []) if countries is not None else None
    pad = 2.0
    if fit_bounds is None:
        fit_bounds = data_bounds(all_sites)
        pad = 8.0
    if map_view:
        lon, lat, zoom = map_view
        centre = {"lon": float(lon), "lat": float(lat)}
        half_w = 360.0 / 2.0 ** float(zoom)
        clip = (lon - half_w, max(lat - half_w, -90.0), lon + half_w, min(lat + half_w, 90.0))
        return centre, float(zoom), clip
    if fit_bounds is None:
        return {"lon": 10.0, "lat": 5.0}, 1.3, None
    cam = bounds_view(fit_bounds)
    minx, miny, maxx, maxy = fit_bounds
    clip = (minx - pad, max(miny - pad, -90.0), maxx + pad, min(maxy + pad, 90.0))
    return cam["center"], cam["zoom"], clip


def selection_layer(polygon: Sequence[Sequence[float]]) -> dict:
    """The outline of the map selection (a filter), drawn over the sites."""
    ring = [[float(x), float(y)] for x, y in polygon]
    return {
        "sourcetype": "geojson",
        "source": {
            "type": "Feature",
            "properties": {},
            "geometry": {"type": "LineString", "coordinates": [*ring, ring[0]]},
        },
        "type": "line",
        "color": SELECTED_COLOUR,
        "line": {"width": 2, "dash": [2, 1]},
    }


def make_dashboard_map(
    view: pd.DataFrame,
    *,
    all_sites: pd.DataFrame,
    countries: gpd.GeoDataFrame | None,
    overlay_frames: Mapping[str, Any],
    state: Mapping[str, Any],
    basemap: str = "offline",
    max_payload_mb: float = 5.0,
    map_view: Sequence[float] | None = None,
    selected_site: Mapping[str, Any] | None = None,
    is_demo: bool = False,
    countries_url: str | None = None,
    extra_layers: Sequence[dict] = (),
) -> go.Figure:
    """The dashboard's map for a filtered view: camera, offline basemap, overlays within the payload budget, sites.

    ``extra_layers`` (MapLibre layer dicts: the mining footprints by year, the area of interest) are drawn
    over the overlays, below the map selection and the sites.

    With ``countries_url`` (the app's ``/basemap/countries.geojson`` route) the land and outlines are
    fetched by MapLibre from that URL instead of travelling inside the figure: a smaller figure,
    cached by the browser, parsed off the main thread. Standalone files (exports) leave it None.
    """
    centre, zoom, clip = map_camera(state, countries, all_sites, map_view)
    overlays = list(state.get("overlays") or [])
    layers: list[dict] = []
    if countries is not None and len(countries):
        country_tol = max(tolerance_for_zoom(zoom, 1.5), 0.01)
        # land is clipped generously (the user pans around the chosen countries), overlays tightly
        land_bounds = (
            None if clip is None else (clip[0] - 30, max(clip[1] - 30, -90), clip[2] + 30, min(clip[3] + 30, 90))
        )
        if countries_url:
            gj: dict | str = countries_source_url(countries_url, country_tol, land_bounds)
        else:
            gj = countries_geojson(countries, simplify_tolerance_deg=country_tol, bounds=land_bounds)
        if basemap == "offline":
            layers += basemap_layers(gj, outlines="countries" in overlays)
        elif "countries" in overlays:
            layers.append(outline_layer(gj))
    budget = max_payload_mb * 1e6 * 0.6
    layers += overlay_layers(overlay_frames, overlays, zoom=zoom, bounds=clip, budget_bytes=budget)
    layers += list(extra_layers)
    if state.get("selection"):
        layers.append(selection_layer(state["selection"]))
    uirevision = "map|" + ",".join(state.get("countries") or []) + "|" + ",".join(map(str, map_view or []))
    return make_map_figure(
        view,
        basemap_layers=layers,
        basemap=basemap,
        center=centre,
        zoom=zoom,
        is_demo=is_demo,
        size_by=str(state.get("size_by", "none")),
        selected_site=selected_site,
        uirevision=uirevision,
        max_payload_mb=max_payload_mb,
    )


def figure_payload_bytes(fig: go.Figure | Mapping) -> int:
    """Bytes the figure sends to the browser (its plotly JSON)."""
    if isinstance(fig, go.Figure):
        return len(pio.to_json(fig, validate=False))
    return len(json.dumps(fig, default=str))


def make_static_map_figure(
    view: pd.DataFrame,
    *,
    countries: gpd.GeoDataFrame | None,
    bounds: Sequence[float] | None = None,
    is_demo: bool = False,
    max_points: int = 20_000,
) -> go.Figure:
    """A map drawn without MapLibre (plain SVG/WebGL lon/lat axes) for the briefing pack.

    No worker, no tiles, no style: it opens from a file on disk, prints, and needs no network.
    Countries are outlines; sites are coloured by risk class (the ``max_points`` highest-risk ones).
    """
    sites = view.nlargest(max_points, "risk_0_100") if len(view) > max_points else view
    bounds = bounds or data_bounds(sites) or (-180.0, -60.0, 180.0, 80.0)
    minx, miny, maxx, maxy = bounds
    pad = max(maxx - minx, maxy - miny, 2.0) * 0.08
    box = (minx - pad, max(miny - pad, -90.0), maxx + pad, min(maxy + pad, 90.0))
    fig = go.Figure()
    if countries is not None and len(countries):
        gj = countries_geojson(countries, simplify_tolerance_deg=max((box[2] - box[0]) / 400, 0.01), bounds=box)
        xs: list[float | None] = []
        ys: list[float | None] = []
        for feat in gj["features"]:
            geom = feat["geometry"]
            polys = [geom["coordinates"]] if geom["type"] == "Polygon" else geom.get("coordinates", [])
            for poly in polys:
                for ring in poly:
                    xs.extend(p[0] for p in ring)
                    ys.extend(p[1] for p in ring)
                    xs.append(None)
                    ys.append(None)
        fig.add_trace(
            go.Scatter(x=xs, y=ys, mode="lines", line={"color": "#8a8a8a", "width": 0.7}, fill="toself",
                       fillcolor=LAND_COLOUR, hoverinfo="skip", showlegend=False)
        )  # fmt: skip
    kind = go.Scattergl if len(sites) > 5000 else go.Scatter
    classes = sites["risk_class"].astype("string") if "risk_class" in sites.columns else None
    for cls in RISK_ORDER:
        part = sites[(classes == cls).fillna(False).to_numpy(dtype=bool)] if classes is not None else sites.iloc[0:0]
        fig.add_trace(
            kind(
                x=_num(part, "lon"), y=_num(part, "lat"), mode="markers", name=f"{cls} ({len(part):,})",
                marker={"size": 6, "color": RISK_COLOURS[cls], "line": {"width": 0.3, "color": "#333"}},
                customdata=site_customdata(part) if len(part) else None, hovertemplate=HOVER.replace("CLASS", cls),
                **(dict(zip(("text", "hovertext"), site_hover_text(part), strict=True)) if len(part) else {}),
            )
        )  # fmt: skip
    mid_lat = (box[1] + box[3]) / 2
    fig.update_layout(
        template=CHART_TEMPLATE,
        plot_bgcolor=OFFLINE_BACKGROUND,
        xaxis={"range": [box[0], box[2]], "title": "longitude (°)", "showgrid": False, "zeroline": False},
        yaxis={"range": [box[1], box[3]], "title": "latitude (°)", "showgrid": False, "zeroline": False,
               "scaleanchor": "x", "scaleratio": 1 / max(math.cos(math.radians(mid_lat)), 0.2)},
        legend={"title": {"text": "Risk class"}},
        margin={"l": 50, "r": 10, "t": TITLE_MARGIN_TOP[is_demo], "b": 40},
        **title_layout("Sites by risk class", is_demo=is_demo),
        height=560,
    )  # fmt: skip
    return fig
