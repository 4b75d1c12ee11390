"""Benchmark: mining change year by year (``geo.change``) against a plain geopandas overlay + dissolve, same run.

Data: the seven Amazon Mining Watch years (``mining_2018..2024 00_simplified.geojson``, 39,227 footprints)
and the 144 protected areas they touch (``protected_areas_impacts.geojson``) from ``../shared/data``
(``--data-dir``), loaded once with ``layers.mining.load_mining`` and
``layers.protected_areas.load_protected_areas`` (load times reported apart; common to both engines).

Engines, in one process on the same frames, each warmed up once, then ``--rounds`` rounds interleaved:

ours       ``geo.compute_mining_change(footprints, pas)``: per PA and year ``mining_km2`` (overlaps within a
           year once) and ``mining_km2_cumulative`` (union of the footprints up to the year).
geopandas  the plain pipeline: both layers ``to_crs("EPSG:6933")`` (equal-area), ``gpd.overlay(footprints,
           pas, how="intersection")`` once, ``dissolve(by=[pa, year])`` for the per-year area and, per
           year, ``dissolve(by=pa)`` of the pieces up to that year for the cumulative area.

With ``--buffer-km D`` the zone columns are timed too: ours with geodesic zones (``geo.zones``), the
baseline with ``GeoSeries.buffer(D * 1000)`` in EPSG:6933 (a cylindrical equal-area CRS: its buffer
distances are off by the projection's scale, ~8-15 % in the Amazon, which a careful analyst would
avoid; it is only the plain pipeline's cost).

The answers are compared: the largest difference between the two cumulative figures per PA and year.

Usage::

    .venv/bin/python benchmarks/bench_change.py [--rounds 3] [--buffer-km 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from geo.change import compute_mining_change  # noqa: E402
from layers.mining import load_mining  # noqa: E402
from layers.protected_areas import load_protected_areas  # noqa: E402
from scoring.pipeline import zip_limits  # noqa: E402
from settings import Settings  # noqa: E402

EA = "EPSG:6933"


def run_ours(foot: gpd.GeoDataFrame, pas: gpd.GeoDataFrame, buffer_km: float | None) -> pd.DataFrame:
    out = compute_mining_change(foot, pas, buffers_km=(buffer_km,) if buffer_km else ())
    return out.rename(columns={"target_id": "pa_id", "target_name": "name"})


def run_geopandas(foot: gpd.GeoDataFrame, pas: gpd.GeoDataFrame, buffer_km: float | None) -> pd.DataFrame:
    fp = foot[["year", "geometry"]].to_crs(EA)
    pa = pas[["pa_id", "name", "geometry"]].to_crs(EA).dissolve(by=["pa_id", "name"], as_index=False)
    years = sorted(fp["year"].unique())
    regions = {"": pa}
    if buffer_km:
        regions[f"_within_{buffer_km:g}km"] = pa.assign(geometry=pa.buffer(buffer_km * 1000.0))
    frames = []
    for suffix, region in regions.items():
        inter = gpd.overlay(fp, region, how="intersection")
        per_year = inter.dissolve(by=["pa_id", "name", "year"]).area / 1e6
        cum = []
        for y in years:
            c = inter[inter["year"] <= y].dissolve(by=["pa_id", "name"]).area / 1e6
            cum.append(c.rename(y))
        cum = pd.concat(cum, axis=1).rename_axis(columns="year").stack()
        frames.append(pd.DataFrame({f"mining_km2{suffix}": per_year, f"mining_km2_cumulative{suffix}": cum}))
    return pd.concat(frames, axis=1).fillna(0.0).reset_index()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data" / "amazon_mining_watch")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--buffer-km", type=float, default=None)
    a = ap.parse_args()
    t0 = time.perf_counter()
    foot = load_mining(
        zip_limits=zip_limits(Settings()), paths=sorted(a.data_dir.glob("mining_20*00_simplified.geojson"))
    ).data
    t_mining = time.perf_counter() - t0
    t0 = time.perf_counter()
    pas = load_protected_areas(a.data_dir / "protected_areas_impacts.geojson", zip_limits=zip_limits(Settings())).data
    t_pas = time.perf_counter() - t0
    print(
        f"data: {len(foot):,} footprints ({foot['year'].min()}-{foot['year'].max()}, loaded in {t_mining:.1f} s), "
        f"{len(pas)} protected areas (loaded in {t_pas:.1f} s); buffer: {a.buffer_km or 'none'}"
    )
    engines = {"ours": run_ours, "geopandas": run_geopandas}
    results = {}
    for name, fn in engines.items():
        t0 = time.perf_counter()
        results[name] = fn(foot, pas, a.buffer_km)
        print(f"warm-up {name}: {time.perf_counter() - t0:.2f} s")
    times: dict[str, list[float]] = {k: [] for k in engines}
    for r in range(a.rounds):
        for name, fn in engines.items():
            t0 = time.perf_counter()
            fn(foot, pas, a.buffer_km)
            times[name].append(time.perf_counter() - t0)
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()))
    med = {k: statistics.median(v) for k, v in times.items()}
    print("\nmedian wall time (s): " + ", ".join(f"{k} {v:.2f}" for k, v in med.items()))
    print(f"ratio geopandas / ours: {med['geopandas'] / med['ours']:.2f}x")

    keys = ["pa_id", "name", "year"]
    both = results["ours"].merge(results["geopandas"], on=keys, how="outer", suffixes=("", "_gp")).fillna(0.0)
    col = "mining_km2_cumulative"
    diff = (both[col] - both[f"{col}_gp"]).abs()
    rel = diff / both[f"{col}_gp"].where(both[f"{col}_gp"] > 0.01)
    print(
        f"\ncumulative km² per PA and year, ours vs geopandas (EPSG:6933 overlay): {len(both)} rows, "
        f"max abs difference {diff.max():.2e} km², max relative {np.nanmax(rel):.2e} (rows > 0.01 km²)"
    )
    last = both[both["year"] == both["year"].max()]
    if a.buffer_km:
        zc = f"mining_km2_cumulative_within_{a.buffer_km:g}km"
        print(
            f"cumulative within {a.buffer_km:g} km by {int(both['year'].max())}: ours (geodesic zones) "
            f"{last[zc].sum():.1f} km², geopandas (buffer in EPSG:6933) {last[f'{zc}_gp'].sum():.1f} km²"
        )
    print(
        f"total cumulative in the {len(last)} PAs by {int(both['year'].max())}: ours {last[col].sum():.1f} km², geopandas {last[f'{col}_gp'].sum():.1f} km²"
    )


if __name__ == "__main__":
    main()
