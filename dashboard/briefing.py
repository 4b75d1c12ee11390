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

from dashboard.labels import RECEPTOR_WORDS
from dashboard.risk_text import (
    complete_cell_text,
    mercury_cell_text,
    not_assessed_summary,
    not_assessed_words,
    probability_text,
    risk_cell_text,
)
from geo.vocab import RECEPTORS

TOP_COLUMNS: tuple[tuple[str, str], ...] = (
    ("site_id", "Site"), ("name", "Name"), ("country_iso3", "Country"), ("commodity", "Commodity"),
    ("risk_0_100", "Risk 0-100 (90% range)"), ("risk_class", "Class"), ("p_high_or_above", "P(high or very high)"),
    ("hg_kg_per_yr", "Mercury kg/yr (90% range)"), ("score_complete", "Score complete"),
    ("nearest_protected_area", "Nearest protected area"), ("dist_protected_area_km", "Distance km"),
)  # fmt: skip
#: columns the top table reads to write its cells (the bands, the receptors assessed) but does not show
BAND_COLUMNS: tuple[str, ...] = (
    "risk_0_100_low", "risk_0_100_high", "hg_kg_per_yr_low", "hg_kg_per_yr_high", "receptors_assessed",
)  # fmt: skip
BANDS_MEANING = (
    "Each score and mercury estimate comes with its 90% range in brackets: the 5th to 95th percentile of what "
    "the uncertain inputs (gold per worker, mercury lost per gold, mercury use where not reported, the share "
    "to air) allow. A score's range is the score at the low and high mercury release; the median score is shown "
    "first. P(high or very high) is the chance that the site's class is high or very high. A score marked "
    "partial did not assess a receptor with a weight (no layer, or no data there): that receptor adds nothing, "
    "so the score is a lower bound, not comparable with complete scores."
)
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1200px;padding:1rem;color:#1d2327}
h1{font-size:1.5rem} h2{font-size:1.15rem;border-bottom:1px solid #ccc;padding-bottom:.2rem;margin-top:1.6rem}
.demo{background:#fff3cd;color:#664d03;padding:.4rem .6rem;font-weight:600;border-radius:3px}
table{border-collapse:collapse;font-size:.85rem;width:100%} th,td{border:1px solid #ddd;padding:.25rem .4rem;text-align:left}
th{background:#f0f3f6} td.num{text-align:right} .charts{display:grid;grid-template-columns:1fr 1fr;gap:.5rem}
@media (max-width:760px){.charts{grid-template-columns:1fr}}
pre{white-space:pre-wrap;font-size:.78rem;background:#f7f7f7;padding:.5rem;border-radius:3px}
"""


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return "—"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value)


def top_risk_table(view: pd.DataFrame, n: int = 25) -> pd.DataFrame:
    """The ``n`` highest-risk sites of the view, with the briefing's columns (and the band columns they show)."""
    cols = [c for c, _ in TOP_COLUMNS if c in view.columns] + [c for c in BAND_COLUMNS if c in view.columns]
    if "risk_0_100" not in view.columns:
        return view[cols].head(n)
    return view.nlargest(n, "risk_0_100")[cols]


def _cell(col: str, rec: Mapping[str, Any], not_assessed: str) -> tuple[str, bool]:
    """(text, numeric) of one cell of the top table: bands and probabilities in words."""
    value = rec.get(col)
    if col == "risk_0_100":
        complete = rec.get("score_complete", True)
        return risk_cell_text(value, rec.get("risk_0_100_low"), rec.get("risk_0_100_high"), complete), True
    if col == "hg_kg_per_yr":
        return mercury_cell_text(value, rec.get("hg_kg_per_yr_low"), rec.get("hg_kg_per_yr_high")), True
    if col == "p_high_or_above":
        return probability_text(value), True
    if col == "score_complete":
        return complete_cell_text(value, not_assessed), False
    return _fmt(value), isinstance(value, int | float) and not isinstance(value, bool)


def _table_html(frame: pd.DataFrame, weights: Mapping[str, float] | None = None) -> str:
    labels = dict(TOP_COLUMNS)
    shown = [c for c in frame.columns if c in labels]
    head = "".join(f"<th scope='col'>{html.escape(labels[c])}</th>" for c in shown)
    missing = not_assessed_words(frame, weights if weights is not None else dict.fromkeys(RECEPTORS, 1.0))
    rows = []
    for rec, gap in zip(frame.to_dict("records"), missing, strict=True):
        cells = []
        for col in shown:
            text, numeric = _cell(col, rec, gap)
            attr = " class='num'" if numeric else ""
            cells.append(f"<td{attr}>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _not_assessed_html(view: pd.DataFrame, weights: Mapping[str, float] | None) -> str:
    if weights is None:
        return ""
    missing = not_assessed_summary(view, weights)
    if not missing:
        return "<p>Every receptor with a weight was assessed for every site in this view.</p>"
    items = "".join(f"<li>{html.escape(RECEPTOR_WORDS[r])}: {n:,} of {len(view):,} sites</li>" for r, n in missing)
    return f"<p><b>Receptors not assessed</b> (these scores are partial):</p><ul>{items}</ul>"


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
    fingerprint: str = "",
    references: Sequence[str] = (),
    weights: Mapping[str, float] | None = None,
    extra_sections: Sequence[tuple[str, str]] = (),
) -> str:
    """The briefing pack as one HTML string (works offline: plotly.js and the map data are inside).

    ``weights`` (the configuration's) say which receptors count for the partial-score marks.
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
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
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
        f"<p class='bands'>{esc(BANDS_MEANING)}</p>",
        _table_html(top_risk_table(view, top_n), weights),
        _not_assessed_html(view, weights),
        *(f"<h2>{esc(title)}</h2>{body}" for title, body in extra_sections),  # e.g. the mining change (trusted HTML)
        "<h2>Filters in use</h2>",
        filters_html,
        "<h2>Method</h2>",
        f"<p>{esc(method_version)}"
        + (f" (configuration fingerprint {esc(fingerprint)})" if fingerprint else "")
        + ". Risk 0-100 = 100 × (1 − (1 − G)(1 − L)): a local term L = hazard × (background + (1 − background) × "
        "sensitivity), where the hazard grows with the site's estimated mercury release (kg/yr) and land use (its size "
        "times the commodity's intensity) and the sensitivity with its distance-decayed proximity to protected areas "
        "(every one within reach, at the strictest IUCN category), rainforest, coral reefs, the Arctic and water; and a "
        "global term G for the mercury emitted to air, wherever the site is. Distances are geodesic on the WGS84 "
        "ellipsoid (km). The mercury release is uncertain: the ranges above are its 5th-95th percentiles and the "
        "score's. Full model: docs/risk-model.md.</p>",
        "<h3>Weights and thresholds in use</h3>",
        f"<pre>{esc(config_toml)}</pre>",
        "<h2>Data sources</h2>",
        "<ul>" + "".join(f"<li>{esc(s)}</li>" for s in sources) + "</ul>",
        "<h2>Licences</h2>",
        "<ul>" + "".join(f"<li>{esc(s)}</li>" for s in licences) + "</ul>",
        "<h2>Model references</h2>" if references else "",
        "<ul>" + "".join(f"<li>{esc(s)}</li>" for s in references) + "</ul>" if references else "",
        "</body></html>",
    ]
    return "".join(parts)
