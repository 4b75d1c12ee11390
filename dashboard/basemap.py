"""The map's offline basemap and overlays: the MapLibre style, the land, country outlines, protected areas by
IUCN group, rainforest, reefs and the Arctic Circle, simplified to the zoom and clipped, within a payload budget.

Pure: frames in, GeoJSON and MapLibre layer dicts out (no dash, no plotly). Display only: degree tolerances
are fine for drawing; no measurement is made here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from reports.palette import (  # the colours are defined once there (figures.py re-exports them)
    IUCN_GROUPS,
    LAND_COLOUR,
    OFFLINE_BACKGROUND,
    OUTLINE_COLOUR,
    OVERLAY_STYLE,
)
from scoring.errors import UsageError


def offline_style() -> dict:
    """A MapLibre style with no tile source at all: a sea-coloured background.

    Land comes from the bundled country polygons added as GeoJSON layers, so the map
    needs no network (no tiles, no glyphs, no sprites).
    """
    return {
        "version": 8,
        "name": "asm-offline",
        # an (empty) source, because plotly.js prunes an empty ``sources`` object on updates and
        # MapLibre then rejects the style ('missing required property "sources"')
        "sources": {"asm-none": {"type": "geojson", "data": {"type": "FeatureCollection", "features": []}}},
        "layers": [{"id": "sea", "type": "background", "paint": {"background-color": OFFLINE_BACKGROUND}}],
    }


# --- polygons for the map --------------------------------------------------------------------
def tolerance_for_zoom(zoom: float, pixels: float = 1.0) -> float:
    """Simplification tolerance (degrees) of about ``pixels`` screen pixels at a web-map zoom level."""
    return pixels * 360.0 / (512.0 * 2.0 ** max(0.0, float(zoom)))


def simplified_geojson(
    frame: gpd.GeoDataFrame,
    *,
    tolerance_deg: float,
    bounds: Sequence[float] | None = None,
    properties: Sequence[str] = (),
    precision: int = 4,
) -> dict:
    """A lean GeoJSON FeatureCollection: clipped to ``bounds`` (lon/lat), simplified, coordinates rounded.

    Display only (degree tolerance is fine for drawing; no measurement is made here).
    """
    if frame is None or len(frame) == 0:
        return {"type": "FeatureCollection", "features": []}
    geoms = np.asarray(frame.geometry.values)
    if bounds is not None:
        minx, miny, maxx, maxy = bounds
        box = shapely.box(minx, miny, maxx, maxy)
        keep = shapely.intersects(geoms, box)
        geoms = shapely.clip_by_rect(geoms[keep], minx, miny, maxx, maxy)
        frame = frame[keep]
    geoms = shapely.simplify(geoms, tolerance_deg, preserve_topology=True)
    geoms = shapely.set_precision(geoms, 10.0**-precision, mode="valid_output")
    features = []
    props = [frame[p].astype("string").fillna("").tolist() for p in properties if p in frame.columns]
    names = [p for p in properties if p in frame.columns]
    for i, g in enumerate(geoms):
        if g is None or shapely.is_empty(g):
            continue
        features.append(
            {
                "type": "Feature",
                "properties": {n: col[i] for n, col in zip(names, props, strict=True)},
                "geometry": json.loads(shapely.to_geojson(g)),
            }
        )
    return {"type": "FeatureCollection", "features": features}


MIN_FEATURE_BYTES = 100  # a simplified polygon's GeoJSON feature is never smaller (a ring of 4 rounded points)
CELL_PIXELS = 2.0  # zoomed out, polygons too many to draw one by one are drawn as cells of this many pixels


def cells_geojson(frame: pd.DataFrame, *, cell_deg: float, bounds: Sequence[float] | None) -> dict:
    """The polygons (mining footprints, protected areas...) as the square cells (``cell_deg`` wide, a grid fixed to the world) their bounding boxes
    touch, for footprints of at most 2 x 2 cells; larger ones as their own polygons simplified to half a cell.

    Display only, for a zoomed-out map: a footprint smaller than a cell is smaller than two screen pixels, so it
    shows as the cell it falls in (as a point would) and is never dropped. Horizontal runs of cells are merged
    into one rectangle, so a dense mining district costs a few rectangles per row of cells.
    """
    geoms = np.asarray(frame.geometry.values)
    if bounds is not None:
        keep = shapely.intersects(geoms, shapely.box(*bounds))
        geoms, frame = geoms[keep], frame[keep]
    if len(geoms) == 0:
        return {"type": "FeatureCollection", "features": []}
    b = shapely.bounds(geoms)
    i0, j0 = np.floor(b[:, 0] / cell_deg).astype(np.int64), np.floor(b[:, 1] / cell_deg).astype(np.int64)
    i1, j1 = np.floor(b[:, 2] / cell_deg).astype(np.int64), np.floor(b[:, 3] / cell_deg).astype(np.int64)
    small = (i1 - i0 <= 1) & (j1 - j0 <= 1)
    ii, jj = [], []
    for di in (0, 1):
        for dj in (0, 1):
            m = small & (i0 + di <= i1) & (j0 + dj <= j1)
            ii.append(i0[m] + di)
            jj.append(j0[m] + dj)
    cells = np.unique(np.stack([np.concatenate(jj), np.concatenate(ii)], axis=1), axis=0)  # sorted by row, column
    features = []
    if len(cells):
        row, col = cells[:, 0], cells[:, 1]
        start = np.ones(len(cells), dtype=bool)
        start[1:] = (row[1:] != row[:-1]) | (col[1:] != col[:-1] + 1)  # a new run of adjacent cells in a row
        first = np.flatnonzero(start)
        last = np.append(first[1:], len(cells)) - 1
        x0, x1 = col[first] * cell_deg, (col[last] + 1) * cell_deg
        y0, y1 = row[first] * cell_deg, (row[first] + 1) * cell_deg
        rings = [
            [[[a, c], [b_, c], [b_, d], [a, d], [a, c]]]
            for a, b_, c, d in zip(
                np.round(x0, 5).tolist(),
                np.round(x1, 5).tolist(),
                np.round(y0, 5).tolist(),
                np.round(y1, 5).tolist(),
                strict=True,
            )
        ]
        features.append(
            {"type": "Feature", "properties": {}, "geometry": {"type": "MultiPolygon", "coordinates": rings}}
        )
    if (~small).any():
        features += simplified_geojson(frame[~small], tolerance_deg=cell_deg / 2.0, bounds=bounds)["features"]
    return {"type": "FeatureCollection", "features": features}


def countries_geojson(
    countries: gpd.GeoDataFrame, simplify_tolerance_deg: float = 0.05, bounds: Sequence[float] | None = None
) -> dict:
    """Country outlines as GeoJSON for the offline basemap (simplified for display only)."""
    return simplified_geojson(
        countries, tolerance_deg=simplify_tolerance_deg, bounds=bounds, properties=("iso3", "name"), precision=3
    )


def basemap_layers(countries_gj: dict | str, outlines: bool = True) -> list[dict]:
    """Land fill and (optionally) country outlines, below the site markers.

    ``countries_gj`` is a GeoJSON dict, or the URL of one (MapLibre's worker then fetches and parses
    it off the page's main thread). The outlines are the fill's own outline, so the countries are one
    source and one layer, not two copies of the same GeoJSON.
    """
    return [
        {
            "sourcetype": "geojson",
            "source": countries_gj,
            "type": "fill",
            "color": LAND_COLOUR,
            "fill": {"outlinecolor": OUTLINE_COLOUR if outlines else LAND_COLOUR},
            "below": "traces",
        }
    ]


def outline_layer(countries_gj: dict | str) -> dict:
    """Country outlines alone (over an online tile basemap, which has its own land)."""
    return {
        "sourcetype": "geojson",
        "source": countries_gj,
        "type": "line",
        "color": OUTLINE_COLOUR,
        "line": {"width": 0.6},
        "below": "traces",
    }


def countries_source_url(base_url: str, tolerance_deg: float, bounds: Sequence[float] | None) -> str:
    """URL of the countries GeoJSON at a tolerance and clip box (served by the app: ``/basemap/countries.geojson``).

    The values are rounded, so the URL (and the server's cache key) repeats for the same view.
    """
    params = {"tol": f"{tolerance_deg:.4g}"}
    if bounds is not None:
        params["b"] = ",".join(f"{v:.1f}" for v in bounds)
    return base_url + ("&" if "?" in base_url else "?") + urlencode(params)


def parse_countries_query(
    tol: str | None, bounds: str | None
) -> tuple[float, tuple[float, float, float, float] | None]:
    """(tolerance in degrees, clip box) from the ``tol`` and ``b`` query values; UsageError when invalid."""
    try:
        tolerance = float(tol) if tol else 0.05
    except ValueError:
        tolerance = math.nan
    if not math.isfinite(tolerance) or not 0.0 <= tolerance <= 10.0:
        raise UsageError("tol must be a number of degrees between 0 and 10")
    if not bounds:
        return tolerance, None
    try:
        box = tuple(float(v) for v in bounds.split(","))
    except ValueError:
        box = ()
    if len(box) != 4 or not all(math.isfinite(v) for v in box) or box[0] >= box[2] or box[1] >= box[3]:
        raise UsageError("b must be minlon,minlat,maxlon,maxlat (numbers, min < max)")
    return tolerance, box  # type: ignore[return-value]


def arctic_circle_geojson(lat: float) -> dict:
    """The Arctic Circle as a GeoJSON line (for the overlay)."""
    lons = np.linspace(-180, 180, 181)
    coords = [[float(x), float(lat)] for x in lons]
    return {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": {}, "geometry": {"type": "LineString", "coordinates": coords}}],
    }


_POLYGON_OVERLAYS = ("protected_areas", "rainforest", "reefs")


def overlay_layers(
    layers: Mapping[str, Any],
    overlays: Sequence[str],
    *,
    zoom: float,
    bounds: Sequence[float] | None,
    budget_bytes: float,
) -> list[dict]:
    """MapLibre layers for the toggled overlays, simplified to the zoom and clipped to ``bounds``, within
    ``budget_bytes`` of GeoJSON.

    ``layers`` maps 'protected_areas', 'rainforest', 'reefs' to GeoDataFrames (or None) and 'arctic_lat' to
    the Arctic boundary latitude. The polygons are drawn simplified to the zoom (once more twice coarser when
    that is less than twice the budget); when even that cannot fit (a WDPA-sized layer zoomed out: simplifying never
    removes a polygon, and every one costs at least ``MIN_FEATURE_BYTES``) they are drawn as the cells of
    ``CELL_PIXELS`` screen pixels they fall in (``cells_geojson``), the cells doubling until the layers fit, so no
    view ships more than the budget and none waits for hundreds of thousands of polygons to be simplified.
    """
    shown = dict(layers)  # the polygons within the view: what the drawing and its estimate work on
    if bounds is not None:
        box = shapely.box(*bounds)
        for k in _POLYGON_OVERLAYS:
            f = layers.get(k)
            if k in overlays and f is not None and len(f):
                shown[k] = f[shapely.intersects(f.geometry.values, box)]
    tol = tolerance_for_zoom(zoom)
    arctic = (
        [{"sourcetype": "geojson", "source": arctic_circle_geojson(layers["arctic_lat"]), **OVERLAY_STYLE["arctic"]}]
        if "arctic" in overlays and layers.get("arctic_lat") is not None
        else []
    )
    arctic_bytes = payload_bytes(arctic)

    def polygons(t: float):
        return lambda f, props=(): simplified_geojson(f, tolerance_deg=t, bounds=bounds, properties=props)

    n = sum(len(shown[k]) for k in _POLYGON_OVERLAYS if k in overlays and shown.get(k) is not None)
    # a few polygons are drawn at once (that drawing is its own estimate); many are estimated from a sample
    out = _overlay_layers_at(shown, overlays, polygons(tol)) if n <= _ESTIMATE_SAMPLE else None
    estimate = payload_bytes(out) if out is not None else _estimated_bytes(shown, overlays, polygons(tol), n)
    if estimate <= 1.5 * budget_bytes:
        for _ in range(2):
            out = out if out is not None else _overlay_layers_at(shown, overlays, polygons(tol))
            size = payload_bytes(out) + arctic_bytes
            if size <= budget_bytes:
                return out + arctic
            if size > 2.0 * budget_bytes:  # a coarser pass would not halve it: cells at once
                break
            tol *= 2.0
            out = None
    cell = tolerance_for_zoom(zoom, CELL_PIXELS)
    for _ in range(12):
        out = _overlay_layers_at(
            shown, overlays, lambda f, props=(), c=cell: cells_geojson(f, cell_deg=c, bounds=bounds), cells=True
        )
        if payload_bytes(out) + arctic_bytes <= budget_bytes:
            break
        cell *= 2.0
    return out + arctic


#: polygons drawn to estimate a view's GeoJSON size (:func:`_estimated_bytes`); fewer are simply drawn
_ESTIMATE_SAMPLE = 400


def _estimated_bytes(layers: Mapping[str, Any], overlays: Sequence[str], draw, n: int) -> float:
    """The GeoJSON bytes of ``_overlay_layers_at(layers, overlays, draw)`` for ``n`` polygons, from the same drawing
    of a sample of them (the same fraction of each layer): a few hundred simplifications decide whether drawing
    them all can fit the budget."""
    q = _ESTIMATE_SAMPLE / n
    rng = np.random.default_rng(0)
    part = dict(layers)
    for k in _POLYGON_OVERLAYS:
        f = layers.get(k)
        if k in overlays and f is not None and len(f):
            part[k] = f.iloc[np.sort(rng.choice(len(f), size=max(1, round(q * len(f))), replace=False))]
    return payload_bytes(_overlay_layers_at(part, overlays, draw)) / q


def payload_bytes(layers: list[dict]) -> int:
    """The GeoJSON bytes of map layers' sources, as sent."""
    return sum(len(json.dumps(layer["source"])) for layer in layers)  # default separators, as sent


def _overlay_layers_at(layers: Mapping[str, Any], overlays: Sequence[str], draw, *, cells: bool = False) -> list[dict]:
    """The polygon overlays' layers with each frame drawn by ``draw(frame, properties)``; ``cells``: fills only
    (a cell's outline would draw the grid)."""
    out: list[dict] = []
    for name in _POLYGON_OVERLAYS[1:]:
        frame = layers.get(name)
        if name in overlays and frame is not None and len(frame):
            out.append({"sourcetype": "geojson", "source": draw(frame), "below": "traces", **OVERLAY_STYLE[name]})
    pas = layers.get("protected_areas")
    if "protected_areas" in overlays and pas is not None and len(pas):
        group_of = {m: label for label, (members, _) in IUCN_GROUPS.items() for m in members}
        cats = pas["iucn_cat"] if "iucn_cat" in pas.columns else pd.Series(pd.NA, index=pas.index)
        labels = cats.astype("string").map(group_of).fillna("no category").to_numpy(dtype=object)
        for label, (_members, colour) in IUCN_GROUPS.items():
            part = pas[labels == label]
            if len(part) == 0:
                continue
            gj = draw(part, ("name", "iucn_cat"))
            out.append(
                {
                    "sourcetype": "geojson",
                    "source": gj,
                    "type": "fill",
                    "color": colour,
                    "opacity": 0.45,
                    "below": "traces",
                }
            )
            if not cells:
                out.append(
                    {
                        "sourcetype": "geojson",
                        "source": gj,
                        "type": "line",
                        "color": colour,
                        "line": {"width": 1},
                        "below": "traces",
                    }
                )
    return out
