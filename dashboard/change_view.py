"""What the change panel, the exports and the briefing pack show of the mining change for a view: the chart
and the fastest-growth table, filtered like everything else (the chosen countries, the area of interest).
Pure: data in, figures, frames and HTML out (no dash)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from dashboard.aoi import aoi_pa_ids, aoi_report, screening_for_state
from dashboard.change_figures import make_mining_by_year_figure
from dashboard.data import Dataset
from dashboard.mining import change_in_view, get_change, mining_years
from reports.aoi_report import aoi_summary_html
from reports.html import figure_div, table_html
from scoring.change import fastest_growth, mining_by_year, target_label
from settings import Settings

GROWTH_COLUMNS = (
    ("target_name", "protected area"), ("country_iso3", "country"), ("iucn_cat", "IUCN"),
    ("mining_km2_first", "km² first year"), ("mining_km2_last", "km² last year"), ("growth_km2", "growth km²"),
    ("growth_km2_per_yr", "km² / year"), ("new_km2_last_year", "new last year km²"), ("mined_pct_last", "% of the PA mined"),
)  # fmt: skip
NO_MINING = (
    "No mining footprints are loaded. Start the dashboard with --mining PATH (repeatable: one file per year, e.g. "
    "Amazon Mining Watch's mining_2018..2024 layers) or set ASM_MINING_PATHS."
)


def change_for_view(
    settings: Settings, dataset: Dataset, workspace_id: str | None, state: Mapping[str, Any]
) -> pd.DataFrame | None:
    """The change table rows of the view (None when the data have no footprints or no protected areas)."""
    found = screening_for_state(settings, workspace_id, state)
    return change_in_view(get_change(settings, workspace_id), state, aoi_pa_ids(found[0] if found else None))


def change_outputs(
    settings: Settings,
    dataset: Dataset,
    workspace_id: str | None,
    state: Mapping[str, Any],
    *,
    year: int | None = None,
    by: str = "country",
    measure: str = "cumulative",
) -> tuple[go.Figure, pd.DataFrame]:
    """(the mining-by-year chart, the fastest-growth table) of the view."""
    table = change_for_view(settings, dataset, workspace_id, state)
    if table is None:
        note = NO_MINING if not mining_years(dataset) else "no protected-area layer: nothing to measure the mining in"
        return make_mining_by_year_figure(pd.DataFrame(), is_demo=dataset.is_demo, note=note), fastest_growth(
            table_empty()
        )
    pivot = mining_by_year(table, by=by, measure=measure)
    sites = None
    if "sites_cumulative" in table.columns and len(table):
        pas = table[table["target_kind"] == "protected_area"]
        sites = pas.groupby("year")["sites_cumulative"].sum()
    fig = make_mining_by_year_figure(
        pivot, measure=measure, by=by, year=year, sites_cumulative=sites, is_demo=dataset.is_demo
    )
    return fig, fastest_growth(table, n=10)


def table_empty() -> pd.DataFrame:
    """An empty change table (the fastest-growth table's input when there is none)."""
    return pd.DataFrame(
        columns=["target_kind", "target_id", "target_name", "year", "mining_km2", "mining_km2_cumulative"]
    )


def growth_for_display(growth: pd.DataFrame) -> pd.DataFrame:
    """The fastest-growth rows as the tables show them: a protected area without a name (a polygon file
    without a name column) is "unnamed (its id)", not an empty cell."""
    if growth.empty or "target_name" not in growth.columns:
        return growth
    out = growth.copy()
    ids = out["target_id"] if "target_id" in out.columns else pd.Series(pd.NA, index=out.index)
    out["target_name"] = [target_label(n, i) for n, i in zip(out["target_name"], ids, strict=True)]
    return out


def growth_table_html(growth: pd.DataFrame) -> str:
    """The fastest-growth table as escaped HTML (the briefing pack and the report)."""
    return table_html(
        growth_for_display(growth), GROWTH_COLUMNS, formats={"mined_pct_last": lambda v: "—" if v != v else f"{v:.2f} %"},
        empty="No protected area with mining in this view.",
    )  # fmt: skip


def briefing_sections(
    settings: Settings,
    dataset: Dataset,
    workspace_id: str | None,
    state: Mapping[str, Any],
    scored: pd.DataFrame | None = None,
) -> list[tuple[str, str]]:
    """The briefing pack's extra sections, (title, HTML) pairs: the area of interest (with an AOI and ``scored``,
    the frame with its columns) and the mining change (with footprints)."""
    sections: list[tuple[str, str]] = []
    found = screening_for_state(settings, workspace_id, state)
    if found is not None and scored is not None:
        report = aoi_report(settings, dataset, scored, state, found[0], found[1])
        sections.append(("Area of interest", aoi_summary_html(report)))
    if not mining_years(dataset):
        return sections
    fig, growth = change_outputs(settings, dataset, workspace_id, state)
    note = (
        "<p>Satellite-detected mining footprints inside the protected areas of this view, by year (areas equal-area, "
        "overlapping footprints counted once; the cumulative figure is the union of every footprint up to the year).</p>"
    )
    return [
        *sections,
        ("Mining year by year", note + figure_div(fig)),
        ("Protected areas with the fastest growth", growth_table_html(growth)),
    ]


def change_csv_table(
    settings: Settings, dataset: Dataset, workspace_id: str | None, state: Mapping[str, Any]
) -> pd.DataFrame:
    """The change table of the view, for the CSV download."""
    table = change_for_view(settings, dataset, workspace_id, state)
    return table if table is not None else table_empty()
