"""Deterministic WDPA-like protected areas and ASM-like sites for the proximity benchmark.

Polygons: irregular star-shaped rings built geodesically (``pyproj.Geod.fwd``) around a centre,
20-500 vertices (more for bigger areas), areas log-normal from ~0.1 km² to ~10,000 km² (long tail),
clustered in land-like boxes in the tropics and beyond, some at high latitude (Greenland, Svalbard,
Siberia, the Antarctic Peninsula) and some across the antimeridian (Fiji, Chukotka), where they are
split into parts on both sides of ±180° as in WDPA. About 10 % are nested inside a bigger PA.
Sites: points, 70 % scattered around PA clusters, 30 % anywhere in the same land boxes.

Usage: ``.venv/bin/python benchmarks/make_synthetic.py --sites 10000 --polygons 30000 --out DIR``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import shapely

GEOD = pyproj.Geod(ellps="WGS84")
IUCN = np.array(["Ia", "Ib", "II", "III", "IV", "V", "VI", "Not Reported", "Not Applicable", "Not Assigned"])
DESIG = np.array(["National Park", "Forest Reserve", "Nature Reserve", "Ramsar Site", "Natura 2000", "Game Reserve"])

# (lon_min, lat_min, lon_max, lat_max, weight): land-like regions
REGIONS = np.array(
    [
        (-80, -20, -45, 5, 6),  # Amazon
        (-20, 4, 40, 15, 6),  # West / Central Africa
        (10, -15, 40, 4, 5),  # Congo basin / East Africa
        (95, -8, 140, 20, 6),  # SE Asia, Indonesia, PNG
        (-10, 36, 40, 60, 6),  # Europe
        (-125, 30, -70, 50, 4),  # North America
        (70, 8, 90, 30, 3),  # India
        (115, -38, 150, -15, 2),  # Australia
        (-55, 68, -20, 80, 1),  # Greenland (high latitude)
        (10, 77, 30, 80, 1),  # Svalbard
        (90, 65, 140, 75, 1),  # Siberia
        (-70, -70, -55, -62, 1),  # Antarctic Peninsula
        (176, -20, 180, -15, 1),  # Fiji, across the antimeridian
        (-180, -20, -177, -15, 1),
        (172, 62, 180, 70, 1),  # Chukotka, across the antimeridian
        (-180, 62, -170, 70, 1),
    ],
    dtype=float,
)


def _random_in_regions(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    w = REGIONS[:, 4] / REGIONS[:, 4].sum()
    reg = rng.choice(len(REGIONS), size=n, p=w)
    r = REGIONS[reg]
    lon = rng.uniform(r[:, 0], r[:, 2])
    # uniform on the sphere within the band
    s0, s1 = np.sin(np.radians(r[:, 1])), np.sin(np.radians(r[:, 3]))
    lat = np.degrees(np.arcsin(rng.uniform(s0, s1)))
    return lon, lat


def _wrap(lon: np.ndarray) -> np.ndarray:
    return (lon + 180.0) % 360.0 - 180.0


def _star_polygons(
    rng: np.random.Generator, lon: np.ndarray, lat: np.ndarray, area_km2: np.ndarray, nvert: np.ndarray
) -> np.ndarray:
    """Irregular star-shaped polygons of roughly ``area_km2``, vertices placed geodesically."""
    n = len(lon)
    total = int(nvert.sum())
    owner = np.repeat(np.arange(n), nvert)
    start = np.r_[0, np.cumsum(nvert)[:-1]]
    rank = np.arange(total) - start[owner]
    # sorted random azimuths: jittered regular spacing keeps the ring simple
    az = (rank + rng.uniform(0.1, 0.9, total)) / nvert[owner] * 360.0 + rng.uniform(0, 360, n)[owner]
    # smooth radial noise: a few random harmonics per polygon
    phase = rng.uniform(0, 2 * np.pi, (n, 3))
    amp = rng.uniform(0.05, 0.25, (n, 3))
    t = np.radians(az)
    wobble = 1.0
    for h, k in enumerate((2, 3, 5)):
        wobble = wobble + amp[owner, h] * np.sin(k * t + phase[owner, h])
    wobble = wobble * rng.uniform(0.92, 1.08, total)
    r0_km = np.sqrt(area_km2 / np.pi)
    dist_m = np.maximum(r0_km[owner] * wobble, 0.05 * r0_km[owner]) * 1000.0
    vlon, vlat, _ = GEOD.fwd(lon[owner], lat[owner], az % 360.0, dist_m)
    vlon = np.asarray(vlon)
    vlat = np.asarray(vlat)
    # unwrap around the centre so rings crossing ±180° stay continuous, split afterwards
    vlon = lon[owner] + _wrap(vlon - lon[owner])
    # close the rings
    first = np.r_[0, np.cumsum(nvert)[:-1]]
    coords = np.column_stack([vlon, vlat])
    closed = np.insert(coords, np.cumsum(nvert), coords[first], axis=0)
    offsets_ring = np.r_[0, np.cumsum(nvert + 1)]
    offsets_poly = np.arange(n + 1)
    polys = shapely.from_ragged_array(shapely.GeometryType.POLYGON, closed, (offsets_ring, offsets_poly))
    b = shapely.bounds(polys)
    cross = np.flatnonzero((b[:, 0] < -180.0) | (b[:, 2] > 180.0))
    world = shapely.box(-180.0, -90.0, 180.0, 90.0)
    for i in cross:
        parts = [shapely.affinity.translate(polys[i], xoff=s).intersection(world) for s in (-360.0, 0.0, 360.0)]
        polys[i] = shapely.union_all([p for p in parts if not p.is_empty])
    bad = ~shapely.is_valid(polys)
    if bad.any():
        polys[bad] = shapely.make_valid(polys[bad])
    return polys


def make_protected_areas(n: int, seed: int = 20261130) -> gpd.GeoDataFrame:
    """``n`` WDPA-like protected areas (PA schema columns used by geo.proximity)."""
    rng = np.random.default_rng(seed)
    n_clusters = max(1, n // 100)
    clon, clat = _random_in_regions(rng, n_clusters)
    cl = rng.integers(0, n_clusters, n)
    spread_deg = rng.uniform(0.3, 2.5, n_clusters)[cl]
    lat = np.clip(clat[cl] + rng.normal(0, 1, n) * spread_deg * 0.6, -84.0, 84.0)
    lon = _wrap(clon[cl] + rng.normal(0, 1, n) * spread_deg / np.maximum(np.cos(np.radians(lat)), 0.2))
    # long-tailed areas: log10(km²) ~ N(0.8, 0.9) in [-1, 4]
    area = 10 ** np.clip(rng.normal(0.8, 0.9, n), -1.0, 4.0)
    # ~10 % nested inside an earlier, bigger PA
    nested = np.flatnonzero(rng.random(n) < 0.10)
    nested = nested[nested > 0]
    parent = rng.integers(0, nested, len(nested)) if len(nested) else nested
    lon[nested], lat[nested] = lon[parent], lat[parent]
    area[nested] = area[parent] * rng.uniform(0.05, 0.4, len(nested))
    nvert = np.clip((20 + 60 * (np.log10(area) + 1.0) * rng.uniform(0.5, 1.5, n)).astype(int), 20, 500)
    geoms = _star_polygons(rng, lon, lat, area, nvert)
    ids = np.arange(1, n + 1)
    return gpd.GeoDataFrame(
        {
            "pa_id": ids.astype(str),
            "pa_pid": ids.astype(str),
            "name": np.char.add("PA ", ids.astype(str)),
            "designation": DESIG[rng.integers(0, len(DESIG), n)],
            "iucn_cat": IUCN[rng.integers(0, len(IUCN), n)],
        },
        geometry=geoms,
        crs="EPSG:4326",
    )


def make_sites(n: int, protected_areas: gpd.GeoDataFrame, seed: int = 20261130) -> gpd.GeoDataFrame:
    """``n`` point sites: 70 % within ~0-60 km of a PA, 30 % anywhere in the land boxes."""
    rng = np.random.default_rng(seed + 1)
    near = int(n * 0.7)
    c = shapely.centroid(protected_areas.geometry.values[rng.integers(0, len(protected_areas), near)])
    az = rng.uniform(0, 360, near)
    d = rng.gamma(1.5, 12.0, near) * 1000.0
    lon1, lat1, _ = GEOD.fwd(shapely.get_x(c), shapely.get_y(c), az, d)
    lon2, lat2 = _random_in_regions(rng, n - near)
    lon = np.r_[np.asarray(lon1), lon2]
    lat = np.r_[np.asarray(lat1), lat2]
    perm = rng.permutation(n)
    return gpd.GeoDataFrame(
        {"site_id": [f"S{i:07d}" for i in range(n)]},
        geometry=shapely.points(lon[perm], lat[perm]),
        crs="EPSG:4326",
    )


def write(n_sites: int, n_polygons: int, out: Path, seed: int = 20261130) -> tuple[Path, Path]:
    """Write (or reuse) ``pa_{n}.parquet`` and ``sites_{n}_{m}.parquet`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    pa_path = out / f"pa_{n_polygons}_{seed}.parquet"
    site_path = out / f"sites_{n_sites}_{n_polygons}_{seed}.parquet"
    if not pa_path.exists():
        make_protected_areas(n_polygons, seed).to_parquet(pa_path)
    if not site_path.exists():
        pa = gpd.read_parquet(pa_path)
        make_sites(n_sites, pa, seed).to_parquet(site_path)
    return site_path, pa_path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sites", type=int, default=10_000)
    ap.add_argument("--polygons", type=int, default=30_000)
    ap.add_argument("--seed", type=int, default=20261130)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/data"))
    a = ap.parse_args()
    s, p = write(a.sites, a.polygons, a.out, a.seed)
    print(s, p)


if __name__ == "__main__":
    main()
