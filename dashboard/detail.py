"""The site-detail panel: the score with its band, the mercury estimate, the practices, the receptors
assessed or not, the explanation, the score's waterfall, nearest protected areas, rasters, attributes.

Words come from ``dashboard.risk_text`` and ``dashboard.labels``; the record from
``dashboard.views.site_detail_record`` (explanation written for this one site).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dash import dcc, html

from dashboard import ids
from dashboard.data import Dataset
from dashboard.figures import make_waterfall_figure
from dashboard.risk_text import finite, practices_text, probability_text, receptor_status, short_number
from dashboard.views import detail_attributes, mercury_text, nearest_protected_areas, raster_text, raster_values
from geo.risk import RiskConfig, explain_site
from geo.vocab import RECEPTORS

PARTIAL_NOTE = (
    "A receptor not assessed adds nothing (as if nothing were near): this score is a lower bound, "
    "not comparable with scores that assessed it."
)


def _score_lines(record: Mapping[str, Any]) -> list[Any]:
    risk = record.get("risk_0_100")
    cls = str(record.get("risk_class") or "")
    if not finite(risk):
        return [html.P("No score.", className="hint")]
    low, high = record.get("risk_0_100_low"), record.get("risk_0_100_high")
    if not (finite(low) and finite(high)):
        band = (
            "no range: the site uses mercury but its size is unknown, so the score assumes a mid-sized "
            "release (the model's unknown-size index) and its range is not estimated"
        )
    elif f"{low:.1f}" != f"{high:.1f}":
        band = f"90% range {low:.1f}–{high:.1f} (from the mercury release's uncertainty only)"
    else:
        band = "no range: no uncertain mercury release moves this score"
    return [
        html.P(
            [
                html.Span(f"{cls} risk", className=f"badge risk-{cls.replace(' ', '-')}"),
                html.Strong(f" {risk:.1f}/100", className="detail-score"),
                f" · {record.get('commodity')} · {record.get('country_iso3')} · site {record.get('site_id')}",
            ]
        ),
        html.P(
            [
                html.Span(band, className="detail-band"),
                html.Br(),
                "Chance of class high or very high: ",
                html.Strong(probability_text(record.get("p_high_or_above")), className="detail-p-high"),
            ]
        ),
    ]


def _mercury_rows(record: Mapping[str, Any]) -> list[tuple[str, str]]:
    text = mercury_text(record)
    air = record.get("hg_kg_per_yr_air")
    if finite(air) and air > 0:
        text += f"; {short_number(air)} kg/yr of it to air"
    rows = [("Mercury release", text)]
    p_use = record.get("p_mercury_use")
    if finite(p_use) and 0 < p_use < 1:
        rows.append(("Mercury use", f"not reported: assumed with probability {probability_text(p_use)}"))
    if record.get("hg_basis"):
        rows.append(("Estimated from", str(record["hg_basis"])))
    rows.append(("Practices", practices_text(record)))
    notes = str(record.get("notes") or "").strip()
    if notes:
        rows.append(("Notes", notes))
    return rows


def _receptor_block(record: Mapping[str, Any], weights: Mapping[str, float]) -> list[Any]:
    assessed, missing, off = receptor_status(record, weights)
    rows = [("Assessed", ", ".join(assessed) or "none")]
    if missing:
        rows.append(("Not assessed", ", ".join(missing)))
    if off:
        rows.append(("Switched off (weight 0)", ", ".join(off)))
    out: list[Any] = [
        html.H4("Receptors"),
        html.Table(
            html.Tbody([html.Tr([html.Th(k, scope="row"), html.Td(v)]) for k, v in rows]),
            className="mini-table detail-receptors",
        ),
    ]
    if missing:
        out.append(
            html.P(
                [html.Strong(f"Partial score: {', '.join(missing)} not assessed. "), PARTIAL_NOTE],
                className="notice-partial",
                role="note",
            )
        )
    return out


def _nearest_table(nearest: list[dict[str, Any]]) -> Any:
    if not nearest:
        return html.P("No protected area within 100 km (or no protected-area layer).", className="hint")
    head = html.Thead(html.Tr([html.Th(h, scope="col") for h in ("Protected area", "IUCN", "Designation", "km")]))
    body = html.Tbody(
        [
            html.Tr(
                [
                    html.Td(r.get("name")),
                    html.Td(r.get("iucn_cat")),
                    html.Td(r.get("designation")),
                    html.Td(f"{r['dist_km']:.2f}", className="num"),
                ]
            )
            for r in nearest
        ]
    )
    return html.Table([head, body], className="mini-table")


def make_detail(record: dict, dataset: Dataset, config: RiskConfig | None = None) -> html.Div:
    """The site-detail panel of one scored site (``config``: the configuration it was scored with)."""
    weights = config.weights if config is not None else dict.fromkeys(RECEPTORS, 1.0)
    rasters = raster_values(record, dataset.raster_names)
    facts = html.Table(
        html.Tbody([html.Tr([html.Th(k, scope="row"), html.Td(v)]) for k, v in _mercury_rows(record)]),
        className="mini-table detail-mercury",
    )
    how = (
        html.Details(
            [html.Summary("How this score was computed"), html.Pre(explain_site(record, config), className="explain")]
        )
        if config is not None and finite(record.get("risk_0_100"))
        else None
    )
    raster_block = (
        html.Ul([html.Li(f"{k}: {raster_text(v)}") for k, v in rasters.items()])
        if rasters
        else html.P("No raster layers.", className="hint")
    )
    attrs = html.Details(
        [
            html.Summary("All attributes"),
            html.Table(
                html.Tbody([html.Tr([html.Th(k, scope="row"), html.Td(v)]) for k, v in detail_attributes(record)]),
                className="mini-table",
            ),
        ]
    )
    return html.Div(
        [
            html.H3(str(record.get("name") or record.get("site_id"))),
            *_score_lines(record),
            html.P(str(record.get("risk_explanation") or ""), className="hint detail-explanation"),
            facts,
            *_receptor_block(record, weights),
            dcc.Graph(figure=make_waterfall_figure(record), config={"displayModeBar": False}, id=ids.DETAIL_WATERFALL),
            how,
            html.H4("Nearest protected areas"),
            _nearest_table(nearest_protected_areas(record, dataset.protected_areas, k=5)),
            html.H4("Raster values"),
            raster_block,
            attrs,
        ]
    )
