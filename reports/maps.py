"""Maps for offline reports: plain plotly lon/lat axes (no MapLibre, no tiles, no worker), so a report opens
from a file on disk with the network off, and prints.

Display only: polygons are clipped to the map's box and simplified in degrees for drawing (no measurement
here; every number in a report comes from ``geo``).
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import shapely
from shapely.geometry.base import BaseGeometry

from reports.palette import (
    AOI_COLOURS,
    IUCN_GROUPS,
    LAND_COLOUR,
    OFFLINE_BACKGROUND,
    OUTLINE_COLOUR,
    OVERLAY_STYLE,
    RISK_COLOURS,
    iucn_group,
)
from reports.titles import TITLE_MARGIN_TOP, title_layout

#: the AOI map's title (its buffer, the protected areas and the sites are named in the legend)
AOI_MAP_TITLE = "Area of interest and its surroundings"

Box = tuple[float, float, float, float]


def padded_box(bounds: Sequence[float], pad_share: float = 0.12, min_deg: float = 0.05) -> Box:
    """``bounds`` (minlon, minlat, maxlon, maxlat) widened by a share of their size (at least ``min_deg``)."""
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    pad = max(maxx - minx, maxy - miny, min_deg) * pad_share + min_deg / 2
    return (minx - pad, max(miny - pad, -90.0), maxx + pad, min(maxy + pad, 90.0))


def _rings(geom: BaseGeometry, *, exterior_only: bool) -> Iterable[np.ndarray]:
    for part in shapely.get_parts(geom):
        kind = shapely.get_type_id(part)
        if kind == 3:  # Polygon
            yield shapely.get_coordinates(part.exterior)
            if not exterior_only:
                for hole in part.interiors:
                    yield shapely.get_coordinates(hole)
        elif kind in (1, 2):  # LineString, LinearRing
            yield shapely.get_coordinates(part)
        elif kind == 7:
            yield from _rings(part, exterior_only=exterior_only)


def geometry_xy(
    geoms: Iterable[BaseGeometry | None],
    box: Box | None = None,
    tolerance_deg: float = 0.0,
    *,
    exterior_only: bool = False,
) -> tuple[list[float | None], list[float | None]]:
    """Coordinates of polygons' rings and lines as x/y lists with None between parts (one plotly trace)."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    for g in geoms:
        if g is None or g.is_empty:
            continue
        if box is not None:
            g = shapely.clip_by_rect(g, *box)
            if g.is_empty:
                continue
        if tolerance_deg > 0:
            g = shapely.simplify(g, tolerance_deg, preserve_topology=True)
        for ring in _rings(g, exterior_only=exterior_only):
            xs.extend(np.round(ring[:, 0], 5).tolist())
            ys.extend(np.round(ring[:, 1], 5).tolist())
            xs.append(None)
            ys.append(None)
    return xs, ys


def _area_trace(geoms, box: Box, tol: float, *, name: str, colour: str, opacity: float, line: str | None = None,
                hover: str | None = None, legend: bool = True) -> go.Scatter:  # fmt: skip
    xs, ys = geometry_xy(geoms, box, tol, exterior_only=True)
    return go.Scatter(
        x=xs, y=ys, mode="lines", fill="toself", fillcolor=_rgba(colour, opacity),
        line={"color": line or colour, "width": 0.8}, name=name, showlegend=legend,
        hoverinfo="skip" if hover is None else "text", text=hover, hoveron="fills",
    )  # fmt: skip


def _rgba(hex_colour: str, opacity: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{opacity:.2f})"


def site_hover(frame: pd.DataFrame) -> list[str]:
    """One hover text per site: name, risk and class, distance to the AOI (names HTML-escaped)."""
    n = len(frame)

    def text(col: str, fill: str = "") -> pd.Series:
        if col not in frame.columns:
            return pd.Series([fill] * n, index=frame.index, dtype="string")
        return frame[col].astype("string").fillna(fill)

    names = text("name").where(text("name") != "", text("site_id")).map(lambda v: html.escape(v, quote=False))
    risk = (
        frame["risk_0_100"].astype("float64") if "risk_0_100" in frame.columns else pd.Series(np.nan, index=frame.index)
    )
    risk_txt = ("risk " + risk.round(0).astype("Int64").astype("string") + "/100 (" + text("risk_class") + ")").fillna(
        "risk unknown"
    )
    dist = (
        frame["dist_aoi_km"].astype("float64")
        if "dist_aoi_km" in frame.columns
        else pd.Series(np.nan, index=frame.index)
    )
    dist_txt = ("<br>" + dist.map(lambda d: f"{d:.2f}") + " km from the area of interest").where(dist.notna(), "")
    return ("<b>" + names + "</b><br>" + risk_txt + dist_txt).astype(str).tolist()


def make_aoi_map_figure(
    *,
    aoi_features: gpd.GeoDataFrame,
    zone_geoms: Sequence[BaseGeometry],
    sites: pd.DataFrame,
    countries: gpd.GeoDataFrame | None = None,
    protected_areas: gpd.GeoDataFrame | None = None,
    ecosystems: Mapping[str, gpd.GeoDataFrame] | None = None,
    is_demo: bool = False,
    height: int = 600,
) -> go.Figure:
    """The AOI, its buffer, the protected areas and ecosystems near it, and the selected sites by risk class."""
    zone_union = shapely.union_all(np.asarray([z for z in zone_geoms if z is not None], dtype=object))
    bounds = zone_union.bounds if not zone_union.is_empty else aoi_features.total_bounds
    view = padded_box(bounds)
    # the aspect lock widens one axis beyond the view: polygons are clipped to a box wide enough for either
    w, h = view[2] - view[0], view[3] - view[1]
    box = (view[0] - h, max(view[1] - w, -90.0), view[2] + h, min(view[3] + w, 90.0))
    tol = max(max(w, h) / 1500.0, 1e-5)
    fig = go.Figure()
    if countries is not None and len(countries):
        fig.add_trace(
            _area_trace(countries.geometry.values, box, tol, name="land", colour=LAND_COLOUR, opacity=1.0,
                        line=OUTLINE_COLOUR, legend=False)
        )  # fmt: skip
    for label, layer in (ecosystems or {}).items():
        if layer is None or not len(layer):
            continue
        style = OVERLAY_STYLE["reefs" if "reef" in label else "rainforest"]
        fig.add_trace(
            _area_trace(layer.geometry.values, box, tol, name=label, colour=style["color"], opacity=style["opacity"])
        )
    if protected_areas is not None and len(protected_areas):
        groups = protected_areas["iucn_cat"].map(iucn_group) if "iucn_cat" in protected_areas else None
        for label, (_members, colour) in IUCN_GROUPS.items():
            part = protected_areas if groups is None else protected_areas[(groups == label).to_numpy()]
            if len(part):
                fig.add_trace(
                    _area_trace(part.geometry.values, box, tol, name=f"protected areas: {label}", colour=colour,
                                opacity=0.45)
                )  # fmt: skip
            if groups is None:
                break
    zx, zy = geometry_xy(zone_geoms, box, tol)
    fig.add_trace(
        go.Scatter(x=zx, y=zy, mode="lines", name="buffer", line={"color": AOI_COLOURS["zone"], "width": 1.5, "dash": "dash"},
                   hoverinfo="skip")
    )  # fmt: skip
    kinds = (
        aoi_features["kind"].astype("string")
        if "kind" in aoi_features
        else pd.Series("polygon", index=aoi_features.index)
    )
    geoms = np.asarray(aoi_features.geometry.values, dtype=object)
    areal = geoms[(kinds != "point").to_numpy()]
    ax, ay = geometry_xy(areal, box, tol)
    fig.add_trace(
        go.Scatter(x=ax, y=ay, mode="lines", name="area of interest", line={"color": AOI_COLOURS["aoi"], "width": 2.5},
                   hoverinfo="skip")
    )  # fmt: skip
    points = shapely.get_coordinates(geoms[(kinds == "point").to_numpy()])
    if len(points):
        fig.add_trace(
            go.Scatter(x=points[:, 0], y=points[:, 1], mode="markers", name="area of interest (point)",
                       marker={"symbol": "star", "size": 14, "color": AOI_COLOURS["aoi"]}, hoverinfo="skip")
        )  # fmt: skip
    classes = sites["risk_class"].astype("string") if "risk_class" in sites.columns else None
    for cls, colour in RISK_COLOURS.items():
        part = sites[(classes == cls).fillna(False).to_numpy(dtype=bool)] if classes is not None else sites.iloc[:0]
        fig.add_trace(
            go.Scatter(
                x=part["lon"].to_numpy(dtype="float64") if len(part) else [],
                y=part["lat"].to_numpy(dtype="float64") if len(part) else [],
                mode="markers", name=f"{cls} risk ({len(part):,})",
                marker={"size": 8, "color": colour, "line": {"width": 0.5, "color": "#222"}},
                text=site_hover(part) if len(part) else None, hovertemplate="%{text}<extra></extra>",
            )
        )  # fmt: skip
    mid_lat = (view[1] + view[3]) / 2
    fig.update_layout(
        template="plotly_white",
        plot_bgcolor=OFFLINE_BACKGROUND,
        xaxis={"range": [view[0], view[2]], "title": "longitude (°)", "showgrid": False, "zeroline": False},
        yaxis={"range": [view[1], view[3]], "title": "latitude (°)", "showgrid": False, "zeroline": False,
               "scaleanchor": "x", "scaleratio": 1 / max(math.cos(math.radians(mid_lat)), 0.2)},
        legend={"orientation": "h", "y": -0.12, "font": {"size": 11}},
        margin={"l": 55, "r": 10, "t": TITLE_MARGIN_TOP[is_demo], "b": 40},
        **title_layout(AOI_MAP_TITLE, is_demo=is_demo),
        height=height,
    )  # fmt: skip
    return fig
