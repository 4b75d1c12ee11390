"""The dashboard's area of interest (AOI): the reference in the URL state resolved to features, screened once
per dataset, AOI and buffer (cached), joined to the scored sites so every view (map, charts, table, exports)
filters to it, the AOI report of the view, and the map's extra layers. No dash: the panel is in
``dashboard.aoi_panel``, the callbacks in ``dashboard.aoi_callbacks``.

A reference (``dashboard.state.aoi_reference``) is ``pa:<id>`` (a protected area of the data), ``up:<hash>``
(a file uploaded to the user's workspace, ``dashboard.aoi_store``) or ``draw:<lon,lat~...>`` (a polygon
drawn with the map's lasso or box, inline in the link).
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from dashboard.aoi_store import aoi_file
from dashboard.basemap import payload_bytes, simplified_geojson, tolerance_for_zoom
from dashboard.data import Dataset, data_version, get_dataset_for, get_scored, risk_config
from dashboard.figures import map_camera
from dashboard.mining import mining_layers
from dashboard.state import aoi_polygon
from dashboard.views import ROW, aoi_label, bounds_view, filter_view, filters_summary
from geo.aoi import AoiScreening, PreparedAoi
from layers.errors import LayerError
from reports.palette import AOI_COLOURS
from scoring.screen import (
    AOI_SITE_COLUMNS,
    AoiReport,
    aoi_mercury_totals,
    describe_aoi,
    ecosystem_layers,
    load_aoi_file,
    order_by_risk,
    prepare,
    report_layers,
    screen_layers,
)
from scoring.writers import LICENCE_NOTES
from settings import Settings

NO_AOI_FIX = "clear the area of interest (or upload the file again in this browser)"


def _drawn_frame(reference: str) -> gpd.GeoDataFrame:
    ring = np.asarray(aoi_polygon(reference) or [], dtype="float64")
    if len(ring) < 3:
        raise LayerError(
            None, "the drawn area of interest has fewer than 3 corners", "draw it again with the lasso or box"
        )
    shift = 360.0 * np.round(np.mean(ring[:, 0]) / 360.0)  # a lasso drawn on a wrapped copy of the world
    polygon = shapely.make_valid(shapely.Polygon(np.column_stack([ring[:, 0] - shift, ring[:, 1]])))
    return gpd.GeoDataFrame({"aoi_id": ["drawn"], "name": ["drawn on the map"]}, geometry=[polygon], crs="EPSG:4326")


def aoi_features(
    settings: Settings, dataset: Dataset, workspace_id: str | None, reference: str
) -> tuple[gpd.GeoDataFrame, str]:
    """(features, a label of their source) of an AOI reference; LayerError (the alert) when it cannot be found."""
    kind, _, rest = reference.partition(":")
    if kind == "pa":
        pas = dataset.protected_areas
        rows = pas[pas["pa_id"].astype("string") == rest] if pas is not None else None
        if rows is None or not len(rows):
            raise LayerError(
                None, f"protected area {rest!r} is not in these data", "pick another one, or clear the area of interest"
            )
        name = str(rows["name"].iat[0])
        geom = rows.geometry.iat[0] if len(rows) == 1 else shapely.union_all(np.asarray(rows.geometry.values))
        frame = gpd.GeoDataFrame({"aoi_id": [rest], "name": [name]}, geometry=[geom], crs="EPSG:4326")
        return frame, f"protected area {name} ({rest})"
    if kind == "up":
        path = aoi_file(settings, workspace_id, rest)
        if path is None:
            raise LayerError(
                None, "the uploaded area of interest of this link is not in this browser's workspace", NO_AOI_FIX
            )
        return load_aoi_file(path, settings).data, f"uploaded file {path.name}"
    if kind == "draw":
        return _drawn_frame(reference), "drawn on the map"
    raise LayerError(None, f"unknown area of interest {reference[:40]!r}", NO_AOI_FIX)


@lru_cache(maxsize=16)
def _screen(
    settings_json: str, workspace_id: str | None, version: str | None, reference: str, buffer_km: float
) -> tuple[AoiScreening, str]:
    settings = Settings.model_validate_json(settings_json)
    dataset = get_dataset_for(settings, workspace_id)
    frame, source = aoi_features(settings, dataset, workspace_id, reference)
    aoi = prepare(frame, buffer_km=buffer_km, union=False, where=source)
    eco = ecosystem_layers(dataset.rainforest, dataset.reefs)
    return screen_layers(dataset.facts, aoi, dataset.protected_areas, eco), source


def get_screening(
    settings: Settings, workspace_id: str | None, reference: str, buffer_km: float
) -> tuple[AoiScreening, str]:
    """The AOI screened against the dataset in view: (screening, source label); cached per dataset, AOI, buffer."""
    version = data_version(settings, workspace_id)
    args = (settings.model_dump_json(), workspace_id, version, reference, round(float(buffer_km), 3))
    with _SCREEN_LOCKS[hash(args) % len(_SCREEN_LOCKS)]:
        return _screen(*args)


#: the callbacks of one change (map, charts, table, the AOI panel) arrive together and each asks for the screening
#: and the scored frame with its AOI columns: one computes them, the others wait for its result instead of
#: computing them too (an uploaded AOI of 237 territories took 12 s to screen alone, 65 s when five did it at once);
#: per process, striped. One array per kind, always taken in the same order (a scored frame's lock, then its
#: screening's, then the dataset's), so two threads never hold each other's stripe
_SCREEN_LOCKS = tuple(threading.RLock() for _ in range(16))
_SCORED_AOI_LOCKS = tuple(threading.RLock() for _ in range(16))


def with_aoi_columns(scored: pd.DataFrame, screening: AoiScreening) -> pd.DataFrame:
    """``scored`` with the AOI columns (``in_aoi``, ``dist_aoi_km``, ``aoi_id``, ``aoi_name``, ``aoi_ids``): filled
    for the selected sites, missing (``dist_aoi_km`` NaN, ``in_aoi`` False) for the others."""
    out = scored.drop(columns=[c for c in AOI_SITE_COLUMNS if c in scored.columns])
    sites = screening.sites.reindex(scored.index)
    out["in_aoi"] = sites["in_aoi"].fillna(False).astype(bool)
    for c in AOI_SITE_COLUMNS[1:]:
        out[c] = sites[c]
    return out


@lru_cache(maxsize=16)
def _scored_aoi(
    settings_json: str, workspace_id: str | None, weights: str, decay: str, reference: str, buffer_km: float
) -> pd.DataFrame:
    settings = Settings.model_validate_json(settings_json)
    scored = get_scored(settings, workspace_id, json.loads(weights), json.loads(decay))
    screening, _ = get_screening(settings, workspace_id, reference, buffer_km)
    return with_aoi_columns(scored, screening)


def scored_for_state(settings: Settings, workspace_id: str | None, state: Mapping[str, Any]) -> pd.DataFrame:
    """The prepared scored frame for a render state: with the AOI columns when the state has an AOI (cached)."""
    weights, decay = state.get("weights") or {}, state.get("decay") or {}
    if not state.get("aoi"):
        return get_scored(settings, workspace_id, weights, decay)
    version = data_version(settings, workspace_id)
    ws = workspace_id if (version or str(state["aoi"]).startswith("up:")) else None
    args = (
        settings.model_dump_json(), ws, json.dumps(weights, sort_keys=True), json.dumps(decay, sort_keys=True),
        str(state["aoi"]), round(float(state.get("aoi_km", 10.0)), 3),
    )  # fmt: skip
    with _SCORED_AOI_LOCKS[hash(args) % len(_SCORED_AOI_LOCKS)]:
        return _scored_aoi(*args)


def screening_for_state(
    settings: Settings, workspace_id: str | None, state: Mapping[str, Any]
) -> tuple[AoiScreening, str] | None:
    """The screening of the state's AOI (None without one)."""
    if not state.get("aoi"):
        return None
    return get_screening(settings, workspace_id, str(state["aoi"]), float(state.get("aoi_km", 10.0)))


def aoi_report(
    settings: Settings,
    dataset: Dataset,
    scored: pd.DataFrame,
    state: Mapping[str, Any],
    screening: AoiScreening,
    source: str,
    *,
    share_url: str | None = None,
) -> AoiReport:
    """The AOI report of the view: the AOI's sites that pass the other filters, its protected areas and
    ecosystems, mercury totals with their band over those sites, the filters and weights in use."""
    config = risk_config(settings, state.get("weights"), state.get("decay"))
    view = order_by_risk(filter_view(scored, state).drop(columns=[ROW], errors="ignore"))
    others = {**state, "aoi": None}
    eco = ecosystem_layers(dataset.rainforest, dataset.reefs)
    pas, eco_near = report_layers(screening, dataset.protected_areas, eco)
    return AoiReport(
        title=f"Area of interest: {source}",
        aoi_source=describe_aoi(screening.aoi, source),
        aoi=screening.aoi,
        screening=screening,
        sites=view,
        n_screened=len(filter_view(scored, others)),
        totals=aoi_mercury_totals(view, config),
        config=config,
        sources=[f"area of interest: {source}", *dataset.sources],
        licences=LICENCE_NOTES,
        is_demo=dataset.is_demo,
        countries=dataset.countries,
        protected_areas=pas,
        ecosystems=eco_near,
        filters=filters_summary(state),
        share_url=share_url,
    )


#: the share of ``settings.max_map_payload_mb`` the area of interest's two outlines may take on the map
AOI_PAYLOAD_SHARE = 0.2


def aoi_map_layers(
    aoi: PreparedAoi, *, zoom: float = 0.0, bounds: Sequence[float] | None = None, budget_bytes: float = math.inf
) -> list[dict]:
    """The AOI's outline (solid) and its buffer's (dashed) as MapLibre line layers over the overlays and under the
    sites (a 3 px outline over 237 territories hid the sites along it), drawn for the
    map's view: clipped to ``bounds``, simplified to about a screen pixel at ``zoom`` (coordinates to 1e-4°), the
    tolerance doubling until both fit ``budget_bytes``. A real AOI is heavy: Amazon Mining Watch's 237 indigenous
    territories (167,501 vertices, a 142,358-vertex buffer) made 10.4 MB of GeoJSON on every map update, and the
    page stopped answering. Display only: the screening measures the full geometries."""

    def outlines(geoms: np.ndarray) -> gpd.GeoDataFrame:
        lines = shapely.boundary(np.asarray(geoms, dtype=object))
        return gpd.GeoDataFrame(geometry=gpd.GeoSeries(lines, crs="EPSG:4326"), crs="EPSG:4326")

    zone, area = outlines(aoi.zone_geoms), outlines(aoi.area_geoms)
    tol = tolerance_for_zoom(zoom)
    for _ in range(24):  # 2^24 pixels: a whole-world tolerance, where any outline is a handful of points
        layers = [
            {"name": "aoi-buffer", "sourcetype": "geojson", "type": "line", "color": AOI_COLOURS["zone"], "below": "traces",
             "line": {"width": 2, "dash": [3, 2]}, "source": simplified_geojson(zone, tolerance_deg=tol, bounds=bounds)},
            {"name": "aoi", "sourcetype": "geojson", "type": "line", "color": AOI_COLOURS["aoi"], "below": "traces",
             "line": {"width": 3}, "source": simplified_geojson(area, tolerance_deg=tol, bounds=bounds)},
        ]  # fmt: skip
        if payload_bytes(layers) <= budget_bytes:
            break
        tol *= 2.0
    return layers


def extra_map_layers(
    settings: Settings,
    dataset: Dataset,
    scored: pd.DataFrame,
    state: Mapping[str, Any],
    map_view: list[float] | None,
    workspace_id: str | None,
    year: int | None = None,
) -> list[dict]:
    """The map's layers beyond the basemap and overlays: the mining footprints by year (overlay ``mining``)
    and the area of interest with its buffer."""
    layers: list[dict] = []
    mining = "mining" in (state.get("overlays") or []) and dataset.mining is not None and len(dataset.mining)
    found = screening_for_state(settings, workspace_id, state)
    if not mining and found is None:
        return layers
    _centre, zoom, clip = map_camera(state, dataset.countries, scored, map_view)
    if mining:
        budget = settings.max_map_payload_mb * 1e6 * 0.3
        layers += mining_layers(dataset, year=year, zoom=zoom, bounds=clip, budget_bytes=budget)
    if found is not None:
        budget = settings.max_map_payload_mb * 1e6 * AOI_PAYLOAD_SHARE
        layers += aoi_map_layers(found[0].aoi, zoom=zoom, bounds=clip, budget_bytes=budget)
    return layers


def aoi_map_view(screening: AoiScreening) -> list[float]:
    """[lon, lat, zoom] that frames the AOI and its buffer (the map's view when the user chose none)."""
    zones = np.asarray(screening.aoi.zone_geoms, dtype=object)
    minx, miny, maxx, maxy = shapely.total_bounds(zones)
    cam = bounds_view((minx, miny, maxx, maxy))
    return [round(float(cam["center"]["lon"]), 4), round(float(cam["center"]["lat"]), 4), round(float(cam["zoom"]), 2)]


def aoi_view(settings: Settings, workspace_id: str | None, state: Mapping[str, Any]) -> list[float] | None:
    """The map view framing the state's AOI, or None without one."""
    found = screening_for_state(settings, workspace_id, state)
    return aoi_map_view(found[0]) if found is not None else None


def aoi_pa_ids(screening: AoiScreening | None) -> list[str] | None:
    """The ids of the protected areas the AOI touches (None without an AOI)."""
    if screening is None:
        return None
    return screening.protected_areas["pa_id"].astype("string").dropna().unique().tolist()


__all__ = [
    "aoi_features",
    "aoi_label",
    "aoi_map_layers",
    "aoi_map_view",
    "aoi_pa_ids",
    "aoi_report",
    "aoi_view",
    "extra_map_layers",
    "get_screening",
    "scored_for_state",
    "screening_for_state",
    "with_aoi_columns",
]
