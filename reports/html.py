"""Pieces of an offline HTML report: the page shell with plotly.js inlined once, escaped tables, figures.

Every text from the data is HTML-escaped; nothing is fetched: no external script, style, font or image.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1200px;padding:1rem;color:#1d2327}
h1{font-size:1.5rem} h2{font-size:1.15rem;border-bottom:1px solid #ccc;padding-bottom:.2rem;margin-top:1.6rem}
.demo{background:#fff3cd;color:#664d03;padding:.4rem .6rem;font-weight:600;border-radius:3px}
table{border-collapse:collapse;font-size:.85rem;width:100%;margin:.4rem 0} th,td{border:1px solid #ddd;padding:.25rem .4rem;text-align:left}
th{background:#f0f3f6} td.num{text-align:right;font-variant-numeric:tabular-nums} caption{text-align:left;font-weight:600;padding:.2rem 0}
.key{display:grid;grid-template-columns:repeat(auto-fit,minmax(220px,1fr));gap:.5rem;margin:.5rem 0}
.key div{background:#f4f6f8;border-radius:4px;padding:.5rem .7rem} .key b{display:block;font-size:1.25rem}
.scroll{max-height:36rem;overflow:auto} pre{white-space:pre-wrap;font-size:.78rem;background:#f7f7f7;padding:.5rem;border-radius:3px}
.note{color:#555;font-size:.85rem} a{overflow-wrap:anywhere}
@media (max-width:700px){table{display:block;overflow-x:auto}}
@media print{.scroll{max-height:none;overflow:visible}}
"""

Formatter = Callable[[Any], str]


def missing(value: Any) -> bool:
    """True for None, NaN, pd.NA and NaT."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def fmt_number(value: Any) -> str:
    """A number for a table: thousands separators, fewer decimals as it grows ('—' when missing)."""
    if missing(value):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    x = float(value)
    if x == 0:
        return "0"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 1:
        return f"{x:,.2f}"
    return f"{x:.3g}"


def fmt_text(value: Any) -> str:
    """Text for a table ('—' when missing; booleans as yes/no)."""
    if missing(value):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def table_html(
    frame: pd.DataFrame,
    columns: Sequence[tuple[str, str]],
    *,
    caption: str | None = None,
    formats: dict[str, Formatter] | None = None,
    empty: str = "None.",
) -> str:
    """An HTML table of ``frame``'s ``columns`` ((column, header) pairs; absent columns skipped), escaped."""
    formats = formats or {}
    cols = [(c, label) for c, label in columns if c in frame.columns]
    if frame.empty or not cols:
        return f"<p class='note'>{html.escape(empty)}</p>"
    head = "".join(f"<th scope='col'>{html.escape(label)}</th>" for _, label in cols)
    body = []
    for rec in frame[[c for c, _ in cols]].itertuples(index=False):
        cells = []
        for (col, _), value in zip(cols, rec, strict=True):
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            text = formats[col](value) if col in formats else (fmt_number(value) if numeric else fmt_text(value))
            cells.append(f"<td{' class=num' if numeric else ''}>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def figure_div(fig: go.Figure) -> str:
    """A figure as a div and its script (plotly.js must already be on the page)."""
    return fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False, "responsive": True})


def page(title: str, body: Sequence[str]) -> str:
    """The whole self-contained page: plotly.js inlined once, the CSS, then ``body``'s parts."""
    return "".join(
        [
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
            "<meta name='viewport' content='width=device-width, initial-scale=1'>",
            f"<title>{html.escape(title)}</title>",
            f"<style>{CSS}</style>",
            f"<script type='text/javascript'>{get_plotlyjs()}</script>",
            "</head><body>",
            *body,
            "</body></html>",
        ]
    )
