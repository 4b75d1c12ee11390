"""The dashboard's mining change: the change table of a dataset (computed once per dataset and cached), the
part of it a view shows, and the footprints as map layers by year. No dash; the figures are in
``dashboard.change_figures``, the panel in ``dashboard.change_panel``.

The map carries one MapLibre layer per year, named ``mining-<year>``: the year slider shows a year by
restyling those layers in the browser (visible up to the year, the year itself highlighted), so
playing the years never goes back to the server (``dashboard.aoi_callbacks``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import shapely

from dashboard.basemap import (
    CELL_PIXELS,
    MIN_FEATURE_BYTES,
    cells_geojson,
    payload_bytes,
    simplified_geojson,
    tolerance_for_zoom,
)
from dashboard.data import Dataset, get_dataset_for
from dashboard.workspace import workspace_version
from reports.palette import MINING_COLOURS
from scoring.change import change_table
from settings import Settings

LAYER_PREFIX = "mining-"  # the map layers' names: mining-2018, mining-2019...
EARLIER_OPACITY = 0.55
YEAR_OPACITY = 0.85


def mining_years(dataset: Dataset) -> list[int]:
    """The footprints' years, ascending (empty when the dataset has none)."""
    if dataset.mining is None or not len(dataset.mining):
        return []
    return sorted(int(y) for y in pd.unique(dataset.mining["year"]))


def compute_change(dataset: Dataset) -> pd.DataFrame | None:
    """The dataset's change table (protected areas; dated sites join in), or None without footprints or PAs."""
    if dataset.mining is None or not len(dataset.mining) or dataset.protected_areas is None:
        return None
    sites = dataset.scored if "observed_date" in dataset.scored.columns else None
    return change_table(
        dataset.mining, protected_areas=dataset.protected_areas, sites=sites, countries=dataset.countries
    )


@lru_cache(maxsize=8)
def _change(settings_json: str, workspace_id: str | None, version: str | None) -> pd.DataFrame | None:
    return compute_change(get_dataset_for(Settings.model_validate_json(settings_json), workspace_id))


def get_change(settings: Settings, workspace_id: str | None) -> pd.DataFrame | None:
    """The change table of the dataset in view (cached per dataset; read-only)."""
    version = workspace_version(settings, workspace_id) if workspace_id else None
    return _change(settings.model_dump_json(), workspace_id if version else None, version)


def change_in_view(
    table: pd.DataFrame | None, state: Mapping[str, Any], aoi_pa_ids: Sequence[str] | None = None
) -> pd.DataFrame | None:
    """The rows of the change table the view's filters keep: the chosen countries' protected areas, and with an
    area of interest the protected areas it intersects or comes within the buffer of (``aoi_pa_ids``)."""
    if table is None:
        return None
    keep = np.ones(len(table), dtype=bool)
    if state.get("countries") and "country_iso3" in table.columns:
        keep &= table["country_iso3"].isin(list(state["countries"])).fillna(False).to_numpy(dtype=bool)
    if state.get("aoi") and aoi_pa_ids is not None:
        keep &= table["target_id"].astype("string").isin(list(aoi_pa_ids)).fillna(False).to_numpy(dtype=bool)
    return table[keep]


def year_layer_style(layer_year: int, year: int | None) -> dict[str, Any]:
    """How the footprints of ``layer_year`` look when the slider is at ``year``: visible up to it, the year
    itself in the highlight colour (the browser applies the same rule: ``aoi_callbacks``)."""
    shown = year is None or layer_year <= year
    current = year is not None and layer_year == year
    return {
        "visible": bool(shown),
        "color": MINING_COLOURS["year" if current else "earlier"],
        "opacity": YEAR_OPACITY if current else EARLIER_OPACITY,
    }


def mining_layers(
    dataset: Dataset,
    *,
    year: int | None,
    zoom: float,
    bounds: Sequence[float] | None,
    budget_bytes: float,
) -> list[dict]:
    """One MapLibre fill layer per footprint year (``mining-<year>``), clipped to ``bounds``: the footprints
    simplified to the zoom when they fit ``budget_bytes``, else (zoomed out over many footprints) the cells of
    ``CELL_PIXELS`` screen pixels they fall in, the cells doubling until the layers fit. ``year`` None: the last
    year.

    Simplifying never removes a polygon, so polygons alone have a floor (6.5 MB for the seven Amazon Mining Watch
    years at zoom 3), which the browser had to parse and tessellate before the page answered."""
    years = mining_years(dataset)
    if not years:
        return []
    year = years[-1] if year is None else int(year)
    frame = dataset.mining
    by_year = {y: frame[frame["year"] == y] for y in years}

    def layers_of(draw) -> list[dict]:
        return [
            {
                "name": f"{LAYER_PREFIX}{y}",
                "sourcetype": "geojson",
                "source": draw(by_year[y]),
                "type": "fill",
                "below": "traces",
                **year_layer_style(y, year),
            }
            for y in years
        ]

    tol = tolerance_for_zoom(zoom)
    shown = int(shapely.intersects(frame.geometry.values, shapely.box(*bounds)).sum()) if bounds else len(frame)
    layers = (
        None  # polygons cannot fit the budget: do not build them to find out
        if shown * MIN_FEATURE_BYTES > budget_bytes
        else layers_of(lambda f: simplified_geojson(f, tolerance_deg=tol, bounds=bounds))
    )
    cell = tolerance_for_zoom(zoom, CELL_PIXELS)
    for _ in range(12):
        if layers is not None and payload_bytes(layers) <= budget_bytes:
            break
        layers = layers_of(lambda f, c=cell: cells_geojson(f, cell_deg=c, bounds=bounds))
        cell *= 2.0
    return layers


__all__ = [
    "CELL_PIXELS",
    "LAYER_PREFIX",
    "change_in_view",
    "compute_change",
    "get_change",
    "mining_layers",
    "mining_years",
    "year_layer_style",
]
