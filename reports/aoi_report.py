"""The AOI report: ONE self-contained, offline HTML file (``python app.py screen --out report.html`` and the
dashboard's "AOI report" download render the same thing from a ``scoring.screen.AoiReport``).

It holds the AOI's summary (per screening unit), a map (plain lon/lat axes: no tiles, no network), the
protected areas the AOI intersects or comes within the buffer of, the ecosystems, the mercury totals with
their uncertainty band, the risk profile, the site list by risk, the parameters, the method and the
citations. plotly.js is inlined once; every name from the data is HTML-escaped.
"""

from __future__ import annotations

import datetime as dt
import html
import json

import numpy as np
import pandas as pd

from geo.risk import assessed_receptors
from geo.vocab import FACTOR_LABELS, RECEPTORS
from reports.html import figure_div, fmt_number, page, table_html
from reports.maps import make_aoi_map_figure
from scoring.screen import AOI_METHOD, AoiReport, risk_profile

#: rows of the site list in the report; the rest are in the table outputs (CSV, XLSX...)
MAX_SITE_ROWS = 5000
DEMO_NOTICE = "SYNTHETIC DEMO DATA: these sites and protected areas are generated, not real places or observations."
RISK_METHOD = (
    "Risk 0-100 = 100 × hazard × (background + (1 − background) × sensitivity); hazard from the estimated mercury "
    "release (kg/yr) and land use of the commodity; sensitivity from distance-decayed proximity to protected areas "
    "(weighted by IUCN category), rainforest, coral reefs, the Arctic and water. The low and high values are the "
    "score at the 5th and 95th percentiles of the site's mercury release. Full model: docs/risk-model.md."
)
UNIT_COLUMNS = (
    ("aoi_id", "AOI"), ("name", "name"), ("kind", "kind"), ("area_km2", "area km²"),
    ("zone_km2", "area with buffer km²"), ("n_sites", "sites within the buffer"), ("n_sites_in_aoi", "sites inside"),
    ("n_protected_areas", "protected areas"), ("protected_km2", "protected km²"), ("protected_pct", "protected % of AOI"),
)  # fmt: skip
PA_COLUMNS = (
    ("aoi_id", "AOI"), ("name", "protected area"), ("iucn_cat", "IUCN category"), ("designation", "designation"),
    ("overlap_km2", "overlap km²"), ("overlap_pct", "% of the PA"), ("overlap_with_buffer_km2", "overlap with buffer km²"),
    ("area_km2", "PA area km²"), ("dist_km", "distance km"), ("pa_id", "id"),
)  # fmt: skip
ECO_COLUMNS = (
    ("aoi_id", "AOI"), ("ecosystem", "ecosystem"), ("name", "name"), ("overlap_km2", "overlap km²"),
    ("overlap_pct", "% of the feature"), ("overlap_with_buffer_km2", "overlap with buffer km²"), ("dist_km", "distance km"),
)  # fmt: skip
TOTAL_COLUMNS = (
    ("scope", "sites of"), ("n_sites", "sites"), ("n_hg_unknown_size", "mercury users of unknown size (not counted)"),
    ("hg_kg_per_yr_low", "mercury kg/yr, 5th pct"), ("hg_kg_per_yr", "median"), ("hg_kg_per_yr_high", "95th pct"),
    ("hg_kg_per_yr_air", "to air kg/yr, median"),
)  # fmt: skip
SITE_COLUMNS = (
    ("site_id", "site"), ("name", "name"), ("country_iso3", "country"), ("commodity", "commodity"),
    ("risk_0_100", "risk"), ("risk_0_100_low", "risk low"), ("risk_0_100_high", "risk high"), ("risk_class", "class"),
    ("not_assessed", "receptors not assessed (partial score)"), ("p_high_or_above", "P(high or above)"), ("hg_kg_per_yr", "mercury kg/yr"), ("hg_kg_per_yr_low", "low"),
    ("hg_kg_per_yr_high", "high"), ("in_aoi", "inside the AOI"), ("dist_aoi_km", "km from the AOI"),
    ("nearest_protected_area", "nearest protected area"), ("dist_protected_area_km", "km to it"),
)  # fmt: skip
PROFILE_COLUMNS = (("risk_class", "risk class"), ("n_sites", "sites within the buffer"), ("n_sites_in_aoi", "inside"))


def _share(value) -> str:
    return "—" if value is None or value != value else f"{float(value):.1f} %"


def _pct(value) -> str:
    return "—" if value is None or value != value else f"{float(value):.0%}"


def _key_numbers(report: AoiReport) -> str:
    sites = report.sites
    total = report.totals.iloc[0] if len(report.totals) else None
    pas = report.screening.protected_areas
    n_pa = pas["pa_id"].nunique() if "pa_id" in pas.columns and len(pas) else 0
    n_pa_in = pas.loc[pas["overlap_km2"] > 0, "pa_id"].nunique() if len(pas) else 0
    if total is not None and total["n_sites"] > 0:
        hg = (
            f"{fmt_number(total['hg_kg_per_yr'])} kg/yr"
            f"<small> (90 % band {fmt_number(total['hg_kg_per_yr_low'])}–{fmt_number(total['hg_kg_per_yr_high'])})</small>"
        )
        unknown = int(total["n_hg_unknown_size"])
        hg_note = f"<small>{unknown:,} mercury-using site(s) of unknown size not counted</small>" if unknown else ""
    else:
        hg, hg_note = "none", ""
    high = int(sites["risk_class"].astype("string").isin(["high", "very high"]).sum()) if "risk_class" in sites else 0
    cells = [
        (
            "Sites inside or within the buffer",
            f"{len(sites):,}",
            report.sites_note,
        ),
        ("High or very high risk", f"{high:,}", f"of {len(sites):,} selected"),
        ("Protected areas within the buffer", f"{n_pa:,}", f"{n_pa_in:,} overlapping the area of interest"),
        ("Estimated mercury release", hg, hg_note),
    ]
    return "<div class='key'>" + "".join(f"<div>{html.escape(a)}<b>{b}</b>{c}</div>" for a, b, c in cells) + "</div>"


def _pa_table(report: AoiReport) -> str:
    pas = report.screening.protected_areas
    cols = PA_COLUMNS if report.screening.units["aoi_id"].nunique() > 1 else PA_COLUMNS[1:]
    return table_html(
        pas, cols, formats={"overlap_pct": _share},
        empty=f"No protected area within {report.aoi.buffer_km:g} km of the area of interest.",
    )  # fmt: skip


def _not_assessed(sites: pd.DataFrame, weights) -> tuple[np.ndarray, list[tuple[str, int]]]:
    """Per site, the receptors with a weight that its score did not assess (their layer was not loaded), in
    words ('' when none), and (receptor words, sites) for each such receptor: a partial score is said, not
    passed off as a site far from that receptor."""
    words = np.full(len(sites), "", dtype=object)
    if "receptors_assessed" not in sites.columns:
        return words, []
    assessed, counts = assessed_receptors(sites), []
    for r in RECEPTORS:
        gap = ~assessed[r]
        if float(weights.get(r, 0.0)) <= 0 or not gap.any():
            continue
        label = FACTOR_LABELS[r].lower()
        words[gap] = np.where(words[gap] == "", label, words[gap] + ", " + label)
        counts.append((label, int(gap.sum())))
    return words, counts


def _sites_table(report: AoiReport) -> str:
    sites = report.sites
    words, counts = _not_assessed(sites, report.config.weights)
    shown = sites.head(MAX_SITE_ROWS)
    if counts:
        shown = shown.assign(not_assessed=words[: len(shown)])
    note = (
        f"<p class='note'>The {MAX_SITE_ROWS:,} highest-risk sites of {len(sites):,}; the full list is in the table "
        "outputs (python app.py screen --out sites.csv, or the dashboard's exports).</p>"
        if len(sites) > MAX_SITE_ROWS
        else ""
    )
    if counts:
        items = "".join(f"<li>{html.escape(label)}: {n:,} of {len(sites):,} sites</li>" for label, n in counts)
        note += (
            "<p><b>Receptors not assessed</b>: these scores are partial (the layer was not loaded, so the receptor "
            f"counts neither as near nor as far; load it to complete them):</p><ul>{items}</ul>"
        )
    table = table_html(
        shown, SITE_COLUMNS,
        formats={"p_high_or_above": _pct, "risk_0_100": lambda v: fmt_number(v if v != v else round(v, 1))},
        empty="No site lies inside the area of interest or within the buffer.",
    )  # fmt: skip
    return f"{note}<div class='scroll'>{table}</div>"


def _parameters(report: AoiReport) -> str:
    items = "".join(
        f"<li><b>{html.escape(str(k))}</b>: {html.escape(v if isinstance(v, str) else json.dumps(v, default=str))}</li>"
        for k, v in report.filters.items()
    )
    return f"<ul>{items}</ul>" if items else "<p>No other filter: every site of the inventory was screened.</p>"


def aoi_summary_html(report: AoiReport) -> str:
    """The report's summary (key numbers and the protected areas touched), for other pages (the briefing pack)."""
    return (
        f"<p>{html.escape(report.aoi_source)}</p>"
        + _key_numbers(report)
        + f"<h3>Protected areas within {report.aoi.buffer_km:g} km</h3>"
        + _pa_table(report)
    )


def make_aoi_report_html(report: AoiReport) -> str:
    """The AOI report as one HTML string (works offline: plotly.js and the map's data are inside)."""
    esc = html.escape
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    cfg = report.config
    fig = make_aoi_map_figure(
        aoi_features=report.aoi.features, zone_geoms=list(report.aoi.zone_geoms), sites=report.sites,
        countries=report.countries, protected_areas=report.protected_areas, ecosystems=report.ecosystems,
        is_demo=report.is_demo,
    )  # fmt: skip
    link = (
        f"<p>Open this view in the dashboard: <a href='{esc(report.share_url, quote=True)}'>{esc(report.share_url)}</a></p>"
        if report.share_url
        else ""
    )
    profile = risk_profile(report.sites)
    units = report.screening.units
    unit_caption = "The area of interest" + (" (each feature)" if len(units) > 1 else "")
    no_eco = "No ecosystem layer given, or no ecosystem feature within the buffer."
    body = [
        f"<h1>{esc(report.title)}</h1>",
        f"<p class='demo'>{DEMO_NOTICE}</p>" if report.is_demo else "",
        f"<p>Generated {esc(now)} · {esc(report.aoi_source)} · {len(report.sites):,} of "
        f"{report.n_screened:,} sites screened are inside the area of interest or within "
        f"{report.aoi.buffer_km:g} km of it.</p>",
        link,
        "<h2>Summary</h2>",
        _key_numbers(report),
        table_html(units, UNIT_COLUMNS, caption=unit_caption, formats={"protected_pct": _share}),
        "<h2>Map</h2>",
        figure_div(fig),
        f"<h2>Protected areas the area of interest intersects or comes within {report.aoi.buffer_km:g} km of</h2>",
        "<p class='note'>Overlap: area of the protected area inside the area of interest (equal-area km²); % of the "
        "PA: that overlap as a share of the protected area's own area; distance: geodesic, 0 where they meet.</p>",
        _pa_table(report),
        "<h2>Ecosystems</h2>",
        table_html(report.screening.ecosystems, ECO_COLUMNS, formats={"overlap_pct": _share}, empty=no_eco),
        "<h2>Mercury release of the selected sites</h2>",
        "<p class='note'>Totals over the sites inside the area of interest or within the buffer: the median and the "
        "5th–95th percentile band of a Monte Carlo sum with the shared uncertainties drawn once per draw. Sites "
        "near two features of the area of interest count in both features' rows.</p>",
        table_html(report.totals, TOTAL_COLUMNS),
        "<h2>Risk profile</h2>",
        table_html(profile, PROFILE_COLUMNS),
        "<h2>Sites, highest risk first</h2>",
        _sites_table(report),
        "<h2>Parameters and filters</h2>",
        _parameters(report),
        "<h2>Method</h2>",
        f"<p>{esc(AOI_METHOD)}</p>",
        f"<p>{esc(cfg.version)}. {esc(RISK_METHOD)}</p>",
        f"<details><summary>Weights and thresholds in use</summary><pre>{esc(cfg.to_toml())}</pre></details>",
        "<h2>Data sources</h2>",
        "<ul>" + "".join(f"<li>{esc(str(s))}</li>" for s in report.sources) + "</ul>",
        "<h2>Licences</h2>",
        "<ul>" + "".join(f"<li>{esc(str(s))}</li>" for s in report.licences) + "</ul>",
    ]
    return page(report.title, body)


def report_site_count(html_text: str) -> int:
    """Rows of the report's site table (for tests and checks)."""
    start = html_text.find("<h2>Sites, highest risk first</h2>")
    if start < 0:
        return 0
    part = html_text[start:]
    end = part.find("<h2>", 5)
    part = part[: end if end > 0 else None]
    body = part.find("<tbody>")
    return 0 if body < 0 else part[body:].count("<tr>")


__all__ = ["MAX_SITE_ROWS", "aoi_summary_html", "make_aoi_report_html", "report_site_count"]
