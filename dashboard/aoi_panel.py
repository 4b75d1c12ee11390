"""The area-of-interest panel: how to set the AOI (draw it with the map's lasso or box, upload a file, pick a
protected area), the buffer, and the summary of the AOI in the current view."""

from __future__ import annotations

import pandas as pd
from dash import dcc, html

from dashboard import ids
from dashboard.views import plural
from geo.vocab import RISK_CLASSES
from reports.palette import AOI_COLOURS, MINING_COLOURS
from scoring.screen import AoiReport, risk_profile

DRAW_OPTIONS = [
    {"label": "a selection (a filter)", "value": "selection"},
    {"label": "the area of interest", "value": "aoi"},
]
MAX_PA_ROWS = 15
PA_COLUMNS = (
    ("name", "protected area"), ("iucn_cat", "IUCN"), ("designation", "designation"),
    ("overlap_km2", "overlap km²"), ("overlap_pct", "% of the PA"), ("dist_km", "distance km"),
)  # fmt: skip
HINT = (
    "Screen a concession, a road or a project site: choose 'the area of interest' below and draw it with the map's "
    "lasso or box, upload a file (polygons, lines or points), or pick a protected area. The map, charts, table and "
    "exports then hold only the sites inside it or within the buffer."
)


def mining_legend_items() -> list[html.Li]:
    """The map legend's entries for the mining footprints (the year shown, earlier years) and the AOI."""
    return [
        html.Li(
            [html.Span(className="swatch", style={"background": MINING_COLOURS["year"]}), "mining: the year shown"]
        ),
        html.Li(
            [html.Span(className="swatch", style={"background": MINING_COLOURS["earlier"]}), "mining: earlier years"]
        ),
        html.Li([html.Span(className="swatch", style={"background": AOI_COLOURS["aoi"]}), "area of interest"]),
    ]


def _field(label: str, control, control_id: str, hint: str | None = None) -> html.Div:
    children = [html.Label(label, htmlFor=control_id, id=f"{control_id}-label"), control]
    if hint:
        children.append(html.Small(hint, className="hint"))
    return html.Div(children, className="field", role="group", **{"aria-labelledby": f"{control_id}-label"})


def aoi_panel(settings, initial_aoi: str | None = None) -> html.Section:
    """The panel (controls and an empty summary; ``dashboard.aoi_callbacks`` fills it)."""
    default_km = float(getattr(settings, "aoi_buffer_km", 10.0)) if settings is not None else 10.0
    max_bytes = int(settings.max_upload_mb * 1e6) if settings is not None else None
    return html.Section(
        [
            html.H2("Area of interest"),
            html.P(HINT, className="hint"),
            # "" rather than None: a memory Store holding None reports a change on page load (the URL would lose)
            dcc.Store(id=ids.AOI, data=initial_aoi or ""),
            html.Div(
                [
                    _field(
                        "The map's lasso and box draw",
                        dcc.RadioItems(id=ids.AOI_DRAW_MODE, options=DRAW_OPTIONS, value="selection", inline=True),
                        ids.AOI_DRAW_MODE,
                    ),
                    html.Div(
                        [
                            dcc.Upload(
                                id=ids.AOI_UPLOAD,
                                children=html.Button("Upload an area of interest…"),
                                max_size=max_bytes or -1,
                                multiple=False,
                            ),
                            html.Small(
                                "GeoJSON, GeoPackage, zipped Shapefile, KML, GeoParquet; kept in your workspace.",
                                className="hint",
                            ),
                        ],
                        className="field",
                    ),
                    _field(
                        "Or pick a protected area",
                        dcc.Dropdown(
                            id=ids.AOI_PICK_PA, options=[], searchable=True, placeholder="type a protected area's name"
                        ),
                        ids.AOI_PICK_PA,
                    ),
                    _field(
                        "Buffer (km)",
                        dcc.Slider(
                            id=ids.AOI_KM,
                            min=0,
                            max=100,
                            step=1,
                            value=default_km,
                            marks={0: "0", 10: "10", 25: "25", 50: "50", 100: "100"},
                        ),
                        ids.AOI_KM,
                        "Sites, protected areas and ecosystems within this distance count (geodesic).",
                    ),
                    html.Div(
                        [
                            html.Button("Clear the area of interest", id=ids.AOI_CLEAR, className="button-secondary"),
                            html.Button("AOI report (HTML)", id=ids.AOI_REPORT, className="button-primary"),
                            dcc.Loading(html.Div(dcc.Download(id=ids.AOI_DOWNLOAD)), type="dot"),
                        ],
                        className="button-row",
                    ),
                ],
                className="aoi-controls",
            ),
            dcc.Loading(
                html.Div(
                    html.P("No area of interest: every site is in view.", className="hint"),
                    id=ids.AOI_SUMMARY,
                    role="status",
                    **{"aria-live": "polite"},
                ),
                type="dot",
            ),
        ],
        className="panel panel-wide",
        id=ids.AOI_SECTION,
        **{"aria-label": "Area of interest"},
    )


def _num(value, digits: int = 1) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return "—"
    return f"{float(value):,.{digits}f}"


def _key(label: str, value: str, note: str = "") -> html.Div:
    return html.Div([html.Span(label), html.B(value), html.Small(note)], className="aoi-key")


def _feature(rec: dict) -> str:
    """The AOI feature of a row: its name, else its id."""
    name = rec.get("aoi_name")
    return str(name) if isinstance(name, str) and name.strip() else str(rec.get("aoi_id") or "")


def make_aoi_summary(report: AoiReport) -> html.Div:
    """The AOI's summary in the view: key numbers, protected areas, ecosystems, mercury with its band, risk profile."""
    sites = report.sites
    pas = report.screening.protected_areas
    n_pa = pas["pa_id"].nunique() if len(pas) else 0
    total = report.totals.iloc[0]
    has_hg = total["n_sites"] > 0 and total["hg_kg_per_yr_high"] > 0
    hg = f"{_num(total['hg_kg_per_yr'], 0)} kg/yr" if has_hg else "none estimated"
    band = f"90 % band {_num(total['hg_kg_per_yr_low'], 0)}–{_num(total['hg_kg_per_yr_high'], 0)}" if has_hg else ""
    unknown = int(total["n_hg_unknown_size"]) if total["n_sites"] > 0 else 0
    if unknown:
        band = "; ".join(filter(None, [band, f"{plural(unknown, 'mercury-using site')} of unknown size not counted"]))
    units = report.screening.units
    area = float(units["area_km2"].sum())
    protected = float(units["protected_km2"].sum())
    keys = html.Div(
        [
            _key("Sites in view", f"{len(sites):,}", report.sites_note),
            _key(
                "Protected areas",
                f"{n_pa:,}",
                f"{protected:,.1f} km² of the AOI protected ({_num(100 * protected / area if area else float('nan'))} %)",
            ),
            _key("Estimated mercury release", hg, band),
            _key("Area of interest", f"{area:,.1f} km²", f"{report.aoi_source}"),
        ],
        className="aoi-keys",
    )
    profile = risk_profile(sites)
    risk = html.Ul(
        [
            html.Li(
                f"{cls}: {int(n):,}" + (f" ({int(k):,} inside)" if "polygon" in report.feature_kinds else ""),
                className=f"risk-{cls.replace(' ', '-')}-text",
            )
            for cls, n, k in profile[["risk_class", "n_sites", "n_sites_in_aoi"]].itertuples(index=False)
            if cls in RISK_CLASSES
        ],
        className="aoi-risk",
        **{"aria-label": "Risk profile"},
    )
    shown = pas.head(MAX_PA_ROWS)
    # an AOI of several features has a row per (feature, protected area): the feature is said, or the same park
    # shows on several rows with different overlaps and nothing to tell them apart
    per_feature = units["aoi_id"].nunique() > 1
    heads = [*([("aoi", "area of interest")] if per_feature else []), *PA_COLUMNS]
    pa_table = (
        html.Div(
            html.Table(
                [
                    html.Thead(html.Tr([html.Th(label, scope="col") for _, label in heads])),
                    html.Tbody(
                        [
                            html.Tr(
                                [
                                    *([html.Td(_feature(rec))] if per_feature else []),
                                    html.Td(str(rec.get("name") or "")),
                                    html.Td(str(rec.get("iucn_cat") or "—")),
                                    html.Td(str(rec.get("designation") or "—")),
                                    html.Td(_num(rec.get("overlap_km2"), 2), className="num"),
                                    html.Td(_num(rec.get("overlap_pct"), 1), className="num"),
                                    html.Td(_num(rec.get("dist_km"), 2), className="num"),
                                ]
                            )
                            for rec in shown.to_dict("records")
                        ]
                    ),
                ],
                className="mini-table aoi-pa-table",
            ),
            className="table-scroll",  # six or seven columns: at phone width the table scrolls, not the page
        )
        if len(pas)
        else html.P(f"No protected area within {report.aoi.buffer_km:g} km.", className="hint")
    )
    more = (
        html.P(f"{len(pas) - MAX_PA_ROWS:,} more in the AOI report.", className="hint")
        if len(pas) > MAX_PA_ROWS
        else None
    )
    eco = report.screening.ecosystems
    eco_line = (
        "; ".join(
            f"{r['ecosystem']}: {r['name']} ({_num(r['overlap_km2'], 1)} km² inside)"
            for r in eco.head(6).to_dict("records")
        )
        if len(eco)
        else "none within the buffer (or no ecosystem layer)"
    )
    return html.Div(
        [
            keys,
            html.Div(
                [
                    html.Div([html.H3("Protected areas touched"), pa_table, more], className="aoi-col"),
                    html.Div(
                        [
                            html.H3("Risk profile"),
                            risk,
                            html.H3("Ecosystems"),
                            html.P(eco_line),
                        ],
                        className="aoi-col",
                    ),
                ],
                className="aoi-cols",
            ),
        ]
    )
