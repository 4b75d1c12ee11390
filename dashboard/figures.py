"""Pure figure builders: data in, ``go.Figure`` out (imports plotly, never dash)."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import plotly.graph_objects as go

# ColorBrewer YlOrRd, 4 classes (colour-blind safe, ordered light to dark).
RISK_COLOURS = {"low": "#fecc5c", "moderate": "#fd8d3c", "high": "#e31a1c", "very high": "#800026"}
RISK_ORDER = tuple(RISK_COLOURS)
OFFLINE_BACKGROUND = "#dde8f0"
LAND_COLOUR = "#f7f5ef"


def offline_style() -> dict:
    """A MapLibre style with no tile source at all: a sea-coloured background.

    Land comes from the bundled country polygons added as GeoJSON layers, so the map
    needs no network (no tiles, no glyphs, no sprites).
    """
    return {
        "version": 8,
        "name": "asm-offline",
        "sources": {},
        "layers": [{"id": "sea", "type": "background", "paint": {"background-color": OFFLINE_BACKGROUND}}],
    }


def countries_geojson(countries: gpd.GeoDataFrame, simplify_tolerance_deg: float = 0.05) -> dict:
    """Country outlines as GeoJSON for the offline basemap (simplified for display only)."""
    simple = countries[["iso3", "name", "geometry"]].copy()
    simple["geometry"] = simple.geometry.simplify(simplify_tolerance_deg, preserve_topology=True)
    return json.loads(simple.to_json(drop_id=True))


def make_map_figure(
    scored: pd.DataFrame,
    *,
    basemap_layers: list[dict] | None = None,
    basemap: str = "offline",
    center: dict | None = None,
    zoom: float = 1.3,
    is_demo: bool = False,
) -> go.Figure:
    """Sites coloured by risk class (one trace per class, so the legend toggles them)."""
    fig = go.Figure()
    for cls in RISK_ORDER:
        part = scored[scored["risk_class"].astype("string") == cls] if "risk_class" in scored else scored.iloc[0:0]
        custom = np.column_stack(
            [
                part["name"].astype("string").fillna("").to_numpy(dtype=object),
                part["commodity"].astype("string").fillna("").to_numpy(dtype=object),
                part["risk_0_100"].to_numpy(dtype="float32"),
                part.get("nearest_protected_area", pd.Series("", index=part.index)).astype("string").fillna("—").to_numpy(dtype=object),
                part.get("dist_protected_area_km", pd.Series(np.nan, index=part.index)).to_numpy(dtype="float32"),
                part["site_id"].astype("string").to_numpy(dtype=object),
            ]
        ) if len(part) else None
        fig.add_trace(
            go.Scattermap(
                lon=part["lon"].to_numpy(dtype="float32"),
                lat=part["lat"].to_numpy(dtype="float32"),
                mode="markers",
                name=cls,
                marker={"size": 7, "color": RISK_COLOURS[cls], "opacity": 0.85},
                customdata=custom,
                hovertemplate=(
                    "<b>%{customdata[0]}</b><br>%{customdata[1]}<br>risk %{customdata[2]:.0f}/100 (" + cls + ")"
                    "<br>nearest PA: %{customdata[3]} (%{customdata[4]:.1f} km)<extra></extra>"
                ),
            )
        )
    style = offline_style() if basemap == "offline" else basemap
    fig.update_layout(
        map={
            "style": style,
            "center": center or {"lon": 10.0, "lat": 5.0},
            "zoom": zoom,
            "layers": basemap_layers or [],
        },
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        legend={"title": {"text": "Risk class"}, "x": 0.01, "y": 0.99, "bgcolor": "rgba(255,255,255,0.85)"},
        uirevision="map",
    )
    if is_demo:
        fig.add_annotation(
            text="synthetic demo data",
            xref="paper", yref="paper", x=0.99, y=0.01, xanchor="right", yanchor="bottom",
            showarrow=False, font={"size": 14, "color": "#7a1d1d"}, bgcolor="rgba(255,255,255,0.85)",
        )  # fmt: skip
    return fig


def basemap_layers(countries_gj: dict) -> list[dict]:
    """Land fill and country outlines (below the site markers)."""
    return [
        {"sourcetype": "geojson", "source": countries_gj, "type": "fill", "color": LAND_COLOUR, "below": "traces"},
        {"sourcetype": "geojson", "source": countries_gj, "type": "line", "color": "#9a9a9a", "line": {"width": 0.6}, "below": "traces"},
    ]
