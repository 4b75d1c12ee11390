"""Benchmark: the proximity engine's first call in a fresh process, with numba's cache cold and warm.

Each measurement runs in a new interpreter with its own ``NUMBA_CACHE_DIR``: ``cold`` starts
from an empty cache directory (every kernel is compiled), ``warm`` reuses the directory the cold
run filled (every kernel is loaded from disk). Both report

* ``import_s``: ``import geo.proximity``;
* ``serial_s``: the first calls on a tiny input (the path of tests and of a small upload): PA
  facts on both entry points with overlapping PAs (nearest, counts, area and union-area
  kernels, WKB decoding) and a layer's nearest distance;
* ``parallel_s``: the same calls again with the parallel threshold at 0, which builds the
  parallel twins (what a large input needs on top);

and the CPU seconds of the same stages (``*_cpu_s``): compiling is single-threaded CPU work, so
on a shared machine its CPU time is a far steadier figure than its wall time.

Several rounds alternate the code trees given (e.g. a checkout of the previous commit and this
one), so that both see the same machine load.

Usage::

    .venv/bin/python benchmarks/bench_numba_compile.py --roots /tmp/geo-base . --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
t0, c0 = time.perf_counter(), time.process_time()
import geo.proximity as prox
t1, c1 = time.perf_counter(), time.process_time()
import geopandas as gpd
import pyarrow as pa
import shapely

assert prox.__file__.startswith(sys.argv[1]), prox.__file__
pas = gpd.GeoDataFrame(
    {"pa_id": ["a", "b", "c"], "name": ["a", "b", "c"], "designation": ["x"] * 3, "iucn_cat": ["II", "V", "Ia"]},
    geometry=[shapely.box(0, 0, 0.1, 0.1), shapely.box(0.05, 0.0, 0.2, 0.1), shapely.box(1, 1, 1.1, 1.1)],
    crs="EPSG:4326",
)
sites = gpd.GeoSeries([shapely.Point(0.15, 0.05), shapely.Point(3, 3), shapely.box(0.5, 0.5, 0.6, 0.6)], crs="EPSG:4326")
table = pa.table(pas.to_arrow(geometry_encoding="WKB"))


def calls():
    prox.compute_protected_area_proximity(sites, pas)
    prox.compute_protected_area_proximity_arrow(sites, table)
    prox.compute_layer_proximity(sites, pas, "pa")


t2, c2 = time.perf_counter(), time.process_time()
calls()
t3, c3 = time.perf_counter(), time.process_time()
try:
    from geo._kernels import twins as knobs  # this layout

    name = "PARALLEL_MIN"
except ImportError:  # the single-module layout before the split
    knobs, name = prox, "_PARALLEL_MIN"
setattr(knobs, name, 0)
calls()
t4, c4 = time.perf_counter(), time.process_time()
print(json.dumps({
    "import_s": t1 - t0, "serial_s": t3 - t2, "parallel_s": t4 - t3,
    "import_cpu_s": c1 - c0, "serial_cpu_s": c3 - c2, "parallel_cpu_s": c4 - c3,
}))
"""


def measure(root: Path, cache: Path) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(root.resolve())], capture_output=True, text=True, env=env, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--roots", type=Path, nargs="+", default=[ROOT], help="code trees to compare")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    runs: dict[str, dict[str, list[float]]] = {}
    for r in range(a.rounds):
        for root in a.roots:
            with tempfile.TemporaryDirectory(prefix="numba-cold-") as cache:
                t0 = time.perf_counter()
                cold = measure(root, Path(cache))
                warm = measure(root, Path(cache))
                print(f"round {r + 1} {root}: cold {cold} warm {warm} ({time.perf_counter() - t0:.0f} s)", flush=True)
            key = str(root)
            for label, res in (("cold", cold), ("warm", warm)):
                for k, v in res.items():
                    runs.setdefault(key, {}).setdefault(f"{label}_{k}", []).append(v)
    summary = {root: {k: round(statistics.median(v), 2) for k, v in d.items()} for root, d in runs.items()}
    print(json.dumps({"medians": summary, "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
