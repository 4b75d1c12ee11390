"""Benchmark: the Dask engine (``layers.dask_engine``) against the single-process engine.

Both engines compute the same thing: ``layers.pipeline.compute_facts`` + ``score_facts`` on
WDPA-like protected areas and ASM-like point sites from ``benchmarks/make_synthetic.py``.
The loaders are not timed (they are the same for both engines): each engine starts from the
GeoParquet files read into a ``Scenario``.

Each engine runs in a COLD child process (fresh interpreter; numba's on-disk cache may be
warm). The parent samples the resident memory (psutil, every 0.2 s) of the child and of every
process it starts (the Dask nanny and worker processes) and reports the peak per process.

Reported per run: wall time of the engine (and, for Dask, its parts: serial planning on the
driver = Hilbert sort + GeoParquet writing + target selection; the cluster start; the tasks;
the reassembly), the task durations (from distributed's task stream), the number of targets
each task received, the peak RSS per process, and the largest distance difference between
the two engines when both ran.

Usage::

    .venv/bin/python benchmarks/bench_dask.py --sites 100000 300000 1000000 --polygons 300000 --workers 2
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


# ----------------------------------------------------------------------------- child side
def _scenario(sites_path: Path, pa_path: Path):
    import geopandas as gpd
    import numpy as np

    from layers.ecosystems import load_arctic
    from layers.pipeline import Scenario
    from layers.schema import LoadResult
    from settings import Settings

    settings = Settings()
    sites = gpd.read_parquet(sites_path)
    rng = np.random.default_rng(7)
    n = len(sites)
    sites["name"] = sites["site_id"]
    sites["commodity"] = rng.choice(["gold", "tin", "diamond"], n)
    sites["mercury_use"] = rng.choice(["yes", "no", "unknown"], n)
    sites["processing"] = "unknown"
    sites["workers"] = np.where(rng.random(n) < 0.5, np.nan, rng.integers(5, 500, n).astype(float))
    sites["area_km2"] = 0.0
    sites["lon"] = sites.geometry.x
    sites["lat"] = sites.geometry.y
    pa = gpd.read_parquet(pa_path)
    scenario = Scenario(
        sites=LoadResult(data=sites),
        protected_areas=LoadResult(data=pa),
        rainforest=None,
        reefs=None,
        water=None,
        arctic=load_arctic(None, circle_lat=settings.arctic_circle_lat),
        rasters=[],
        countries=gpd.GeoDataFrame(geometry=[], crs="EPSG:4326"),
        is_demo=False,
    )
    return scenario, settings


def _child(engine: str, sites_path: Path, pa_path: Path, workers: int, result_path: Path, partition_size: int) -> None:
    from layers.pipeline import compute_facts, load_config, score_facts

    t_read = time.perf_counter()
    scenario, settings = _scenario(sites_path, pa_path)
    config = load_config(settings)
    out: dict = {"engine": engine, "n_sites": len(scenario.sites.data), "read_s": time.perf_counter() - t_read}
    t0 = time.perf_counter()
    if engine == "single":
        scored = score_facts(compute_facts(scenario, settings), config)
        out["total_s"] = time.perf_counter() - t0
    else:
        from distributed import get_task_stream

        from layers import dask_engine

        with tempfile.TemporaryDirectory(dir=settings.cache_dir if settings.cache_dir.exists() else None) as tmp:
            plan = dask_engine.plan_partitions(scenario, settings, config, Path(tmp), partition_size)
            out["plan_s"] = time.perf_counter() - t0
            t1 = time.perf_counter()
            client, cluster = dask_engine.start_cluster(n_workers=workers)
            out["cluster_start_s"] = time.perf_counter() - t1
            try:
                t2 = time.perf_counter()
                with get_task_stream(client) as ts:
                    rows = client.gather(client.map(dask_engine.compute_partition, plan.tasks, pure=False))
                out["tasks_wall_s"] = time.perf_counter() - t2
                t3 = time.perf_counter()
                scored = dask_engine.assemble(scenario.sites.data, rows)
                out["assemble_s"] = time.perf_counter() - t3
            finally:
                client.close()
                cluster.close()
        durations = []
        for rec in ts.data:
            compute = [s for s in rec["startstops"] if s["action"] == "compute"]
            durations += [s["stop"] - s["start"] for s in compute]
        out["n_partitions"] = len(plan.tasks)
        out["task_s"] = sorted(durations)
        out["targets_per_task"] = plan.targets_per_task["protected_areas"]
        out["n_targets"] = len(scenario.protected_areas.data)
        out["total_s"] = out["plan_s"] + out["tasks_wall_s"] + out["assemble_s"]
    cols = ["dist_protected_area_km", "nearest_protected_area_id", "protected_areas_within_25km", "risk_0_100"]
    scored[cols].to_parquet(result_path.with_suffix(".parquet"))
    result_path.write_text(json.dumps(out))


# ----------------------------------------------------------------------------- parent side
def _sample(proc, peaks: dict, labels: dict, stop: threading.Event) -> None:
    import psutil

    root = psutil.Process(proc.pid)
    while not stop.is_set():
        try:
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        for p in procs:
            try:
                rss = p.memory_info().rss
                if p.pid not in labels:
                    cmd = " ".join(p.cmdline())
                    labels[p.pid] = "driver" if p.pid == root.pid else ("worker" if "spawn" in cmd else "helper")
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            peaks[p.pid] = max(peaks.get(p.pid, 0), rss)
        stop.wait(0.2)


def _run(engine: str, sites_path: Path, pa_path: Path, workers: int, partition_size: int, tmp: Path) -> dict:
    result = tmp / f"{engine}_{sites_path.stem}.json"
    cmd = [
        sys.executable,
        __file__,
        "--child",
        engine,
        "--sites-file",
        str(sites_path),
        "--pa-file",
        str(pa_path),
        "--workers",
        str(workers),
        "--partition-size",
        str(partition_size),
        "--result",
        str(result),
    ]
    peaks: dict[int, int] = {}
    labels: dict[int, str] = {}
    stop = threading.Event()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd)
    sampler = threading.Thread(target=_sample, args=(proc, peaks, labels, stop), daemon=True)
    sampler.start()
    rc = proc.wait()
    stop.set()
    sampler.join()
    if rc != 0:
        raise SystemExit(f"{engine} child failed with exit code {rc}")
    out = json.loads(result.read_text())
    out["process_wall_s"] = time.perf_counter() - t0
    out["peak_rss_mb"] = sorted(
        ({"process": labels.get(pid, "?"), "mb": round(rss / 2**20)} for pid, rss in peaks.items()),
        key=lambda d: (d["process"], -d["mb"]),
    )
    out["result_path"] = str(result.with_suffix(".parquet"))
    return out


def _compare(a: dict, b: dict) -> dict:
    import numpy as np
    import pandas as pd

    x = pd.read_parquet(a["result_path"])
    y = pd.read_parquet(b["result_path"])
    d = np.abs(x["dist_protected_area_km"].to_numpy() - y["dist_protected_area_km"].to_numpy())
    return {
        "max_abs_dist_diff_km": float(np.nanmax(d)) if len(d) else 0.0,
        "same_nearest_id": bool((x["nearest_protected_area_id"] == y["nearest_protected_area_id"]).all()),
        "same_counts_25km": bool((x["protected_areas_within_25km"] == y["protected_areas_within_25km"]).all()),
        "max_abs_risk_diff": float(np.nanmax(np.abs(x["risk_0_100"].to_numpy() - y["risk_0_100"].to_numpy()))),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sites", type=int, nargs="+", default=[100_000])
    ap.add_argument("--polygons", type=int, default=300_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--partition-size", type=int, default=25_000)
    ap.add_argument("--engines", nargs="+", default=["single", "dask"], choices=["single", "dask"])
    ap.add_argument("--data", type=Path, default=ROOT / "benchmarks" / "data")
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    ap.add_argument("--child", choices=["single", "dask"], help=argparse.SUPPRESS)
    ap.add_argument("--sites-file", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--pa-file", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        _child(a.child, a.sites_file, a.pa_file, a.workers, a.result, a.partition_size)
        return

    import make_synthetic

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in a.sites:
            sites_path, pa_path = make_synthetic.write(n, a.polygons, a.data)
            runs = {e: _run(e, sites_path, pa_path, a.workers, a.partition_size, Path(tmp)) for e in a.engines}
            row = {"n_sites": n, "n_polygons": a.polygons, "workers": a.workers, "runs": runs}
            if len(runs) == 2:
                row["agreement"] = _compare(runs["single"], runs["dask"])
            for r in runs.values():
                r.pop("result_path")
            results.append(row)
            print(json.dumps(row, indent=1), flush=True)
    if a.out:
        a.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
