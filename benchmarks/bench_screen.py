"""Benchmark: AOI screening (``geo.aoi``) against a plain geopandas sjoin/overlay pipeline, same run.

Data: ``benchmarks/make_synthetic.py``'s sites and protected areas (default 100,000 x 300,000, the
files ``bench_proximity.py`` uses, written once to ``--data-dir``) and a 500-vertex star-shaped AOI
polygon (~5,000 km²) centred on the densest 1° cell of PA centres in the Amazon box, with a 10 km buffer.

Engines, in one process on the same loaded frames (reading is common to both and reported apart),
each warmed up once (numba compilation, PROJ/GEOS caches), then ``--rounds`` rounds interleaved
(ours, baseline, ours, baseline...); wall time and the process's CPU time (steadier on a shared
machine; both engines run single-threaded at this size) are reported. Two modes:

- *one-shot*: every call gets fresh copies of the frames (made outside the timer), so neither engine
  finds a spatial index already built: a CLI run that loads the layers and screens once.
- *warm*: the same frames every call, so a spatial index built by an earlier call is reused (geopandas
  keeps it with the frame): a dashboard screening several AOIs against the loaded layers.

ours       ``geo.aoi.prepare_aoi`` + ``screen_aoi(sites, aoi, protected_areas=pas)``: the selected sites
           (``in_aoi``, geodesic ``dist_aoi_km``, AOI feature), the PAs within the buffer (geodesic
           distance, equal-area overlap km², % of the PA, overlap with the buffer) and the per-unit
           summary (the AOI's protected share, overlapping PAs counted once).
geopandas  the plain pipeline: a Lambert azimuthal equal-area CRS centred on the AOI; the AOI buffered
           10 km there and brought back to lon/lat; ``gpd.sjoin`` of the sites and of the PAs with that
           zone (in lon/lat, so 300,000 PAs are not reprojected); the hits reprojected; ``within`` for
           ``in_aoi``, ``GeoSeries.distance`` for distances, ``gpd.overlay`` for PA ∩ AOI, areas in LAEA,
           and the union of the overlapping PAs ∩ AOI for the protected share.

Accuracy: the selected sites' distances of both engines against a brute-force ``pyproj.Geod``
reference (the AOI outline densified every 0.0001° in lon/lat, RFC 7946 edges), on all selected sites
outside the AOI (at most 400).

Usage::

    .venv/bin/python benchmarks/bench_screen.py [--sites 100000 --polygons 300000 --rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import geopandas as gpd  # noqa: E402
import make_synthetic  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyproj  # noqa: E402
import shapely  # noqa: E402

from geo.aoi import prepare_aoi, screen_aoi  # noqa: E402

GEOD = pyproj.Geod(ellps="WGS84")
BUFFER_KM = 10.0


def make_aoi(pas: gpd.GeoDataFrame, n_vertices: int = 500, radius_km: float = 40.0) -> gpd.GeoDataFrame:
    """A star-shaped AOI polygon of ``n_vertices`` vertices around the densest 1° cell of PA centres in the Amazon."""
    b = shapely.bounds(pas.geometry.to_numpy())
    cx = np.floor(0.5 * (b[:, 0] + b[:, 2]))
    cy = np.floor(0.5 * (b[:, 1] + b[:, 3]))
    amazon = (cx >= -80) & (cx < -45) & (cy >= -20) & (cy < 5)  # the mission's region (make_synthetic's box)
    cells = pd.Series(1, index=pd.MultiIndex.from_arrays([cx[amazon], cy[amazon]])).groupby(level=[0, 1]).size()
    lon0, lat0 = (v + 0.5 for v in cells.idxmax())
    t = np.linspace(0.0, 2 * np.pi, n_vertices, endpoint=False)
    r = radius_km * 1000.0 * (1.0 + 0.2 * np.sin(3 * t) + 0.08 * np.sin(11 * t))
    lon, lat, _ = GEOD.fwd(np.full(n_vertices, lon0), np.full(n_vertices, lat0), np.degrees(t), r)
    poly = shapely.Polygon(np.column_stack([lon, lat]))
    return gpd.GeoDataFrame({"aoi_id": ["bench"], "name": ["Benchmark AOI"]}, geometry=[poly], crs="EPSG:4326")


def run_ours(sites: gpd.GeoDataFrame, pas: gpd.GeoDataFrame, aoi_frame: gpd.GeoDataFrame):
    screen = screen_aoi(sites.geometry, prepare_aoi(aoi_frame, buffer_km=BUFFER_KM), protected_areas=pas)
    return screen.sites, screen.protected_areas, float(screen.units["protected_km2"].iat[0])


def run_geopandas(sites: gpd.GeoDataFrame, pas: gpd.GeoDataFrame, aoi_frame: gpd.GeoDataFrame):
    c = aoi_frame.geometry.iat[0].centroid
    laea = f"+proj=laea +lat_0={c.y} +lon_0={c.x} +ellps=WGS84 +units=m"
    aoi_m = aoi_frame.to_crs(laea)
    zone_m = aoi_m.buffer(BUFFER_KM * 1000.0)
    zone_ll = gpd.GeoDataFrame(geometry=zone_m.to_crs("EPSG:4326"))
    aoi_geom = aoi_m.geometry.iat[0]
    hits = gpd.sjoin(sites[["geometry"]], zone_ll, predicate="intersects")
    hits_m = hits.to_crs(laea)
    site_out = pd.DataFrame(
        {"in_aoi": hits_m.within(aoi_geom).to_numpy(), "dist_aoi_km": hits_m.distance(aoi_geom).to_numpy() / 1000.0},
        index=hits.index,
    ).sort_index()
    near = gpd.sjoin(pas, zone_ll, predicate="intersects").drop(columns="index_right")
    near_m = near.to_crs(laea)
    inter = gpd.overlay(near_m[["pa_id", "geometry"]], aoi_m[["geometry"]], how="intersection")
    overlap = inter.set_index("pa_id").area / 1e6
    pa_out = pd.DataFrame(
        {
            "pa_id": near_m["pa_id"].to_numpy(),
            "name": near_m["name"].to_numpy(),
            "iucn_cat": near_m["iucn_cat"].to_numpy(),
            "designation": near_m["designation"].to_numpy(),
            "dist_km": near_m.distance(aoi_geom).to_numpy() / 1000.0,
            "area_km2": near_m.area.to_numpy() / 1e6,
        }
    )
    pa_out["overlap_km2"] = pa_out["pa_id"].map(overlap).fillna(0.0)
    pa_out["overlap_pct"] = 100.0 * pa_out["overlap_km2"] / pa_out["area_km2"]
    zone_overlap = gpd.overlay(near_m[["pa_id", "geometry"]], gpd.GeoDataFrame(geometry=zone_m), how="intersection")
    pa_out["overlap_with_buffer_km2"] = pa_out["pa_id"].map(zone_overlap.set_index("pa_id").area / 1e6).fillna(0.0)
    protected = inter.union_all().intersection(aoi_geom).area / 1e6 if len(inter) else 0.0
    return site_out, pa_out, protected


def _reference_km(lon: np.ndarray, lat: np.ndarray, poly: shapely.Polygon) -> np.ndarray:
    c = shapely.get_coordinates(shapely.segmentize(poly.exterior, 0.0001))
    out = np.empty(len(lon))
    for i, (x, y) in enumerate(zip(lon, lat, strict=True)):
        _, _, d = GEOD.inv(np.full(len(c), x), np.full(len(c), y), c[:, 0], c[:, 1])
        out[i] = np.min(d) / 1000.0
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sites", type=int, default=100_000)
    ap.add_argument("--polygons", type=int, default=300_000)
    ap.add_argument("--seed", type=int, default=20261130)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "asm-risk-bench")
    a = ap.parse_args()
    t0 = time.perf_counter()
    sites_path, pa_path = make_synthetic.write(a.sites, a.polygons, a.data_dir, a.seed)
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    sites = gpd.read_parquet(sites_path)
    pas = gpd.read_parquet(pa_path)
    t_read = time.perf_counter() - t0
    aoi_frame = make_aoi(pas)
    poly = aoi_frame.geometry.iat[0]
    print(f"data: {len(sites):,} sites, {len(pas):,} PAs (generated/checked in {t_gen:.1f} s, read in {t_read:.1f} s)")
    print(
        f"AOI: {len(poly.exterior.coords) - 1} vertices around ({poly.centroid.x:.2f}, {poly.centroid.y:.2f}), buffer {BUFFER_KM:g} km"
    )

    engines = {"ours": run_ours, "geopandas": run_geopandas}
    results = {}
    for name, fn in engines.items():  # warm-up: numba compilation, GEOS/PROJ caches
        t0 = time.perf_counter()
        results[name] = fn(sites.copy(), pas.copy(), aoi_frame)
        print(f"warm-up {name}: {time.perf_counter() - t0:.2f} s")
    for mode in ("one-shot", "warm"):
        times: dict[str, list[float]] = {k: [] for k in engines}
        cpu: dict[str, list[float]] = {k: [] for k in engines}
        for r in range(a.rounds):
            for name, fn in engines.items():
                s_in, p_in = (sites.copy(), pas.copy()) if mode == "one-shot" else (sites, pas)
                t0, c0 = time.perf_counter(), time.process_time()
                fn(s_in, p_in, aoi_frame)
                times[name].append(time.perf_counter() - t0)
                cpu[name].append(time.process_time() - c0)
            print(
                f"{mode} round {r + 1}: "
                + ", ".join(f"{k} {v[-1]:.3f} s (cpu {cpu[k][-1]:.3f} s)" for k, v in times.items())
            )
        for label, series in (("wall", times), ("cpu", cpu)):
            med = {k: statistics.median(v) for k, v in series.items()}
            print(
                f"{mode}: median {label} time (s): "
                + ", ".join(f"{k} {v:.3f}" for k, v in med.items())
                + f"; ratio geopandas / ours: {med['geopandas'] / med['ours']:.2f}x"
            )
        print()

    (s_ours, p_ours, prot_ours), (s_gp, p_gp, prot_gp) = results["ours"], results["geopandas"]
    print(
        f"\nselected sites: ours {len(s_ours):,} ({int(s_ours['in_aoi'].sum()):,} inside), "
        f"geopandas {len(s_gp):,} ({int(s_gp['in_aoi'].sum()):,} inside); "
        f"only ours {len(s_ours.index.difference(s_gp.index))}, only geopandas {len(s_gp.index.difference(s_ours.index))}"
    )
    print(
        f"protected areas within the buffer: ours {len(p_ours)}, geopandas {len(p_gp)}; "
        f"overlapping the AOI: ours {(p_ours['overlap_km2'] > 0).sum()}, geopandas {(p_gp['overlap_km2'] > 0).sum()}"
    )
    print(
        f"protected share of the AOI: ours {prot_ours:.2f} km², geopandas {prot_gp:.2f} km² (AOI {aoi_frame.to_crs('+proj=cea').area.iat[0] / 1e6:.1f} km²)"
    )
    both = p_ours.set_index("pa_id")[["overlap_km2"]].join(
        p_gp.set_index("pa_id")[["overlap_km2"]].add_suffix("_gp"), how="inner"
    )
    big = both[both["overlap_km2"] > 0.01]
    if len(big):
        rel = (big["overlap_km2"] - big["overlap_km2_gp"]).abs() / big["overlap_km2_gp"]
        print(f"PA overlap km², ours vs geopandas (LAEA): max relative difference {rel.max():.2e} over {len(big)} PAs")
    outside = s_ours.index[~s_ours["in_aoi"].to_numpy()][:400]
    pts = sites.geometry.loc[outside]
    ref = _reference_km(pts.x.to_numpy(), pts.y.to_numpy(), poly)
    err_ours = np.abs(s_ours.loc[outside, "dist_aoi_km"].to_numpy() - ref)
    common = outside.intersection(s_gp.index)
    err_gp = np.abs(s_gp.loc[common, "dist_aoi_km"].to_numpy() - ref[outside.get_indexer(common)])
    print(
        f"site distance error vs brute-force Geod ({len(outside)} sites outside the AOI): "
        f"ours max {err_ours.max() * 1000:.2f} m, geopandas (LAEA) max {err_gp.max() * 1000:.2f} m"
    )


if __name__ == "__main__":
    main()
