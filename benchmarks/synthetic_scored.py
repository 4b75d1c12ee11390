"""Synthetic scored frames that follow the output contract (for the benchmarks and the dashboard tests, which import it from here).

Fictional values only: drawn from a seeded generator, no real place or observation.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

COUNTRIES = ("COD", "GHA", "PER", "BRA", "IDN", "TZA", "CAN", "MNG")
COMMODITIES = ("gold", "cassiterite", "coltan", "diamond", "copper", "cobalt")
CLASSES = ("low", "moderate", "high", "very high")
CONTRIB = ("mercury", "land_use", "protected_area", "rainforest", "reef", "arctic", "water")


def synthetic_scored(n: int, seed: int = 1, *, geometry: bool = True) -> pd.DataFrame:
    """``n`` fictional scored sites with every output-contract column."""
    rng = np.random.default_rng(seed)
    iso = rng.choice(COUNTRIES, n)
    centre = {
        "COD": (25, -3),
        "GHA": (-1.5, 7),
        "PER": (-72, -10),
        "BRA": (-55, -5),
        "IDN": (115, -1),
        "TZA": (34, -6),
        "CAN": (-100, 68),
        "MNG": (105, 47),
    }
    lon = np.array([centre[c][0] for c in iso]) + rng.normal(0, 2, n)
    lat = np.array([centre[c][1] for c in iso]) + rng.normal(0, 2, n)
    contrib = rng.dirichlet(np.ones(len(CONTRIB)), n) * rng.uniform(0, 100, n)[:, None]
    risk = contrib.sum(axis=1)
    hg = np.where(rng.random(n) < 0.5, rng.gamma(2.0, 20.0, n), 0.0)
    dist_pa = np.where(rng.random(n) < 0.1, 0.0, rng.gamma(1.2, 15.0, n))
    frame = pd.DataFrame(
        {
            "site_id": [f"S{i:06d}" for i in range(n)],
            "name": [f"Site {i}" for i in range(n)],
            "country_iso3": pd.array(iso, dtype="string"),
            "commodity": rng.choice(COMMODITIES, n),
            "commodities": "gold",
            "lon": lon,
            "lat": lat,
            "area_km2": 0.0,
            "workers": np.where(rng.random(n) < 0.2, np.nan, rng.integers(5, 2000, n).astype(float)),
            "mercury_use": rng.choice(("yes", "no", "unknown"), n),
            "processing": "unknown",
            "observed_date": pd.to_datetime("2015-01-01") + pd.to_timedelta(rng.integers(0, 3650, n), unit="D"),
            "source": "synthetic test data",
            "in_protected_area": dist_pa == 0.0,
            "dist_protected_area_km": dist_pa,
            "nearest_protected_area": [f"Park {i % 50}" for i in range(n)],
            "nearest_protected_area_id": [str(i % 50) for i in range(n)],
            "nearest_protected_area_iucn": rng.choice(("II", "IV", "VI", "Not Reported"), n),
            "nearest_protected_area_designation": "National Park",
            "protected_areas_within_1km": rng.integers(0, 2, n),
            "protected_areas_within_5km": rng.integers(0, 3, n),
            "protected_areas_within_10km": rng.integers(0, 4, n),
            "protected_areas_within_25km": rng.integers(0, 6, n),
            "protected_area_km2_within_10km": rng.uniform(0, 300, n),
            "in_rainforest": rng.random(n) < 0.3,
            "dist_rainforest_km": rng.gamma(1.0, 30.0, n),
            "dist_reef_km": rng.gamma(2.0, 300.0, n),
            "in_arctic": lat > 66.5634,
            "dist_arctic_km": np.maximum(0, (66.5634 - lat) * 111.0),
            "hg_kg_per_yr_low": hg * 0.5,
            "hg_kg_per_yr": hg,
            "hg_kg_per_yr_high": hg * 1.8,
            "risk_0_100": risk,
            "risk_class": pd.Categorical(
                np.array(CLASSES)[np.clip((risk // 25).astype(int), 0, 3)], categories=CLASSES
            ),
            "tree_cover_pct": rng.uniform(0, 100, n),
        }
    )
    for j, name in enumerate(CONTRIB):
        frame[f"contrib_{name}"] = contrib[:, j]
    if geometry:
        return gpd.GeoDataFrame(frame, geometry=shapely.points(lon, lat), crs="EPSG:4326")
    return frame


def synthetic_protected_areas(n: int, seed: int = 2, vertices: int = 200) -> gpd.GeoDataFrame:
    """``n`` fictional round protected areas with many vertices (to exercise simplification)."""
    rng = np.random.default_rng(seed)
    lon = rng.uniform(-80, 120, n)
    lat = rng.uniform(-20, 60, n)
    angles = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    polys = [
        shapely.Polygon(np.column_stack([x + r * np.cos(angles), y + r * np.sin(angles)]))
        for x, y, r in zip(lon, lat, rng.uniform(0.1, 1.5, n), strict=True)
    ]
    return gpd.GeoDataFrame(
        {
            "pa_id": [str(i) for i in range(n)],
            "name": [f"Park {i}" for i in range(n)],
            "designation": "National Park",
            "iucn_cat": rng.choice(("Ia", "II", "IV", "V", "Not Reported"), n),
        },
        geometry=polys,
        crs="EPSG:4326",
    )


#: fact columns of each receptor layer (dropped by ``model_facts(without=...)`` as if the layer were not given)
LAYER_COLUMNS = {
    "protected_area": ("in_protected_area", "dist_protected_area_km", "nearest_protected_area",
                       "nearest_protected_area_iucn", "protected_areas_within_10km"),
    "rainforest": ("in_rainforest", "dist_rainforest_km"),
    "reef": ("dist_reef_km",),
    "arctic": ("in_arctic", "dist_arctic_km"),
    "water": ("dist_water_km",),
}  # fmt: skip


def model_facts(n: int, seed: int = 20261130, *, without: tuple[str, ...] = ()) -> gpd.GeoDataFrame:
    """``n`` fictional sites with the facts of every receptor layer (the re-score benchmark's, some NaN), a name,
    coordinates and a point geometry; ``without`` leaves out the facts of those receptors' layers."""
    from benchmarks.bench_rescore import make_facts
    from geo.vocab import PA_CATEGORY_DISTANCE_COLUMNS

    facts = make_facts(n, seed)
    rng = np.random.default_rng(seed + 1)
    facts["name"] = [f"Site {i}" for i in range(n)]
    facts["lon"] = rng.uniform(-80.0, 40.0, n)
    facts["lat"] = rng.uniform(-15.0, 15.0, n)
    facts["notes"] = np.where(
        facts["processing"] == "retort", "processing 'retort' read as amalgamation of unknown type with a retort", ""
    )
    drop = [c for layer in without for c in LAYER_COLUMNS[layer]]
    if "protected_area" in without:
        drop += list(PA_CATEGORY_DISTANCE_COLUMNS)
    facts = facts.drop(columns=drop)
    gdf = gpd.GeoDataFrame(facts, geometry=gpd.points_from_xy(facts["lon"], facts["lat"]), crs="EPSG:4326")
    if "protected_area" not in without:
        gdf.attrs["protected_area_reach_km"] = 200.0
    return gdf


def model_scored(n: int, seed: int = 20261130, *, without: tuple[str, ...] = (), config=None) -> gpd.GeoDataFrame:
    """:func:`model_facts` scored by the model itself (``geo.risk.score_sites``, default configuration unless given)."""
    from geo.risk import score_sites
    from layers.risk_config import default_risk_config

    return score_sites(model_facts(n, seed, without=without), config or default_risk_config())
