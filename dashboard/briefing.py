"""The one-click briefing pack: ONE self-contained, offline HTML file.

It holds an interactive offline map (the bundled country outlines, no tiles), the
linked charts, the top-risk table, the filters and weights in use, the method summary
and the data citations. plotly.js is inlined once; every name from the data is
HTML-escaped. Pure: data in, text out (imports plotly, never dash).
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

TOP_COLUMNS: tuple[tuple[str, str], ...] = (
    ("site_id", "Site"), ("name", "Name"), ("country_iso3", "Country"), ("commodity", "Commodity"),
    ("risk_0_100", "Risk (0-100)"), ("risk_class", "Class"), ("hg_kg_per_yr", "Mercury kg/yr"),
    ("nearest_protected_area", "Nearest protected area"), ("dist_protected_area_km", "Distance km"),
)  # fmt: skip
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1200px;padding:1rem;color:#1d2327}
h1{font-size:1.5rem} h2{font-size:1.15rem;border-bottom:1px solid #ccc;padding-bottom:.2rem;margin-top:1.6rem}
.demo{background:#fff3cd;color:#664d03;padding:.4rem .6rem;font-weight:600;border-radius:3px}
table{border-collapse:collapse;font-size:.85rem;width:100%} th,td{border:1px solid #ddd;padding:.25rem .4rem;text-align:left}
th{background:#f0f3f6} td.num{text-align:right} .charts{display:grid;grid-template-columns:1fr 1fr;gap:.5rem}
pre{white-space:pre-wrap;font-size:.78rem;background:#f7f7f7;padding:.5rem;border-radius:3px}
"""


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return "—"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value)


def top_risk_table(view: pd.DataFrame, n: int = 25) -> pd.DataFrame:
    """The ``n`` highest-risk sites of the view, with the briefing's columns."""
    cols = [c for c, _ in TOP_COLUMNS if c in view.columns]
    if "risk_0_100" not in view.columns:
        return view[cols].head(n)
    return view.nlargest(n, "risk_0_100")[cols]


def _table_html(frame: pd.DataFrame) -> str:
    labels = dict(TOP_COLUMNS)
    head = "".join(f"<th scope='col'>{html.escape(labels.get(c, c))}</th>" for c in frame.columns)
    rows = []
    for rec in frame.itertuples(index=False):
        cells = []
        for value in rec:
            cls = " class='num'" if isinstance(value, int | float) and not isinstance(value, bool) else ""
            cells.append(f"<td{cls}>{html.escape(_fmt(value))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _fig_div(fig: go.Figure) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False, "responsive": True})


def make_briefing_html(
    view: pd.DataFrame,
    *,
    n_total: int,
    map_figure: go.Figure,
    charts: Mapping[str, go.Figure],
    filters: Mapping[str, Any],
    config_toml: str,
    method_version: str,
    sources: Sequence[str],
    licences: Sequence[str],
    is_demo: bool,
    share_url: str | None = None,
    top_n: int = 25,
    extra_sections: Sequence[tuple[str, str]] = (),
) -> str:
    """The briefing pack as one HTML string (works offline: plotly.js and the map data are inside).

    ``extra_sections``: (title, HTML) pairs after the top-risk table, built by the caller with every text
    from the data escaped (``dashboard.change_view.briefing_sections``: the mining change).
    """
    esc = html.escape
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    demo = (
        "<p class='demo'>SYNTHETIC DEMO DATA: these sites and protected areas are generated, not real places or observations.</p>"
        if is_demo
        else ""
    )
    counts = view["risk_class"].astype("string").value_counts() if "risk_class" in view.columns and len(view) else {}
    class_line = ", ".join(f"{esc(str(k))}: {int(v):,}" for k, v in dict(counts).items())
    filters_html = (
        "<ul>"
        + "".join(
            f"<li><b>{esc(str(k))}</b>: {esc(json.dumps(v, default=str) if not isinstance(v, str) else v)}</li>"
            for k, v in filters.items()
        )
        + "</ul>"
        if filters
        else "<p>No filters: all sites.</p>"
    )
    link = (
        f"<p>Open this view in the dashboard: <a href='{esc(share_url, quote=True)}'>{esc(share_url)}</a></p>"
        if share_url
        else ""
    )
    chart_divs = "".join(f"<div>{_fig_div(fig)}</div>" for fig in charts.values())
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>ASM risk briefing</title>",
        f"<style>{CSS}</style>",
        f"<script type='text/javascript'>{get_plotlyjs()}</script>",
        "</head><body>",
        "<h1>ASM risk briefing: mine sites, protected areas and mercury</h1>",
        demo,
        f"<p>Generated {esc(now)} · {len(view):,} of {n_total:,} {'site' if n_total == 1 else 'sites'} in this view · {class_line}</p>",
        link,
        "<h2>Map</h2>",
        _fig_div(map_figure),
        "<h2>Charts</h2>",
        f"<div class='charts'>{chart_divs}</div>",
        f"<h2>Top {min(top_n, len(view))} {'site' if min(top_n, len(view)) == 1 else 'sites'} by risk</h2>",
        _table_html(top_risk_table(view, top_n)),
        *(f"<h2>{esc(title)}</h2>{body}" for title, body in extra_sections),  # e.g. the mining change (trusted HTML)
        "<h2>Filters in use</h2>",
        filters_html,
        "<h2>Method</h2>",
        f"<p>{esc(method_version)}. Risk 0-100 = 100 × hazard × (background + (1 − background) × sensitivity); "
        "hazard from the estimated mercury release (kg/yr, low–central–high) and land use of the commodity; "
        "sensitivity from distance-decayed proximity to protected areas (weighted by IUCN category), rainforest, "
        "coral reefs, the Arctic and water. Distances are geodesic on the WGS84 ellipsoid (km). Full model: docs/risk-model.md.</p>",
        "<h3>Weights and thresholds in use</h3>",
        f"<pre>{esc(config_toml)}</pre>",
        "<h2>Data sources</h2>",
        "<ul>" + "".join(f"<li>{esc(s)}</li>" for s in sources) + "</ul>",
        "<h2>Licences</h2>",
        "<ul>" + "".join(f"<li>{esc(s)}</li>" for s in licences) + "</ul>",
        "</body></html>",
    ]
    return "".join(parts)
