"""Benchmark: the Dask engine (``scoring.dask_engine``) against the single-process engine.

Both engines compute the same thing: ``scoring.pipeline.compute_facts`` + ``score_facts`` on
WDPA-like protected areas and ASM-like point sites from ``benchmarks/make_synthetic.py``.

The inputs are what the CLI gets from a warm layer cache: the protected areas as a stored
GeoParquet that is NOT read into a GeoDataFrame (``LoadResult.stored_path``, ``is_loaded``
False), and the sites in memory with their stored GeoParquet beside them. The parent writes
the sites file once (the synthetic points plus the columns the risk model reads), with the
layer cache's own writer. The loaders are not timed (they are the same for both engines).

* "single": ``compute_facts`` (which decodes the stored PA GeoParquet itself: Arrow path)
  + ``score_facts``, in one process; its numba kernels use both cores.
* "dask": plan (cold: into an empty plan directory), plan again (same inputs: from the plan
  cache), LocalCluster start, the dask-geopandas collection computed on the cluster, reassembly.

Each engine runs in a COLD child process. The parent samples the resident memory (psutil,
every 0.2 s) of the child and of every process it starts (the Dask nanny and worker processes)
and reports the peak per process, and records the 1-minute load average before and after each
child (the machine is shared). Reported per run: wall times of the parts, the task durations
(distributed's task stream), the number of targets per task, the peak RSS per process, and the
largest distance difference between the two engines.

Usage (the figures of docs/performance.md, "Dask engine")::

    .venv/bin/python benchmarks/bench_dask.py --sites 1000000 --polygons 300000 --workers 2 \
        --engines single dask dask_count --data /tmp/benchdata
    # the 16- and 64-worker model: the same with --engines dask --partition-size 15625 (then 3907)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


# ----------------------------------------------------------------------------- inputs
def prepare_sites(raw: Path, out: Path) -> Path:
    """The synthetic points with the columns the risk model reads, written as the layer cache writes."""
    import geopandas as gpd
    import numpy as np

    from layers.cache import write_frame

    if out.exists():
        return out
    sites = gpd.read_parquet(raw)
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
    tmp = out.with_suffix(".tmp")
    write_frame(sites, tmp)
    os.replace(tmp, out)
    return out


# ----------------------------------------------------------------------------- child side
def _stored_result_type():
    from layers.schema import LoadResult

    @dataclass
    class StoredResult(LoadResult):
        """A layer left in its GeoParquet (as ``layers.cache.StoredLayer`` before ``data`` is read)."""

        n_rows: int = 0

        @property
        def is_loaded(self) -> bool:
            return False

        @property
        def n_loaded(self) -> int:
            return self.n_rows

    return StoredResult


def _scenario(sites_path: Path, pa_path: Path):
    import geopandas as gpd
    import pyarrow.parquet as pq

    from layers.ecosystems import load_arctic
    from layers.schema import LoadResult
    from scoring.pipeline import Scenario, zip_limits
    from settings import Settings

    settings = Settings()
    stored = _stored_result_type()
    scenario = Scenario(
        sites=LoadResult(data=gpd.read_parquet(sites_path), stored_path=sites_path),
        protected_areas=stored(data=None, stored_path=pa_path, n_rows=pq.ParquetFile(pa_path).metadata.num_rows),
        rainforest=None,
        reefs=None,
        water=None,
        arctic=load_arctic(None, circle_lat=settings.arctic_circle_lat, zip_limits=zip_limits(settings)),
        rasters=[],
        countries=gpd.GeoDataFrame(geometry=[], crs="EPSG:4326"),
        is_demo=False,
    )
    return scenario, settings


def _child(
    engine: str,
    sites_path: Path,
    pa_path: Path,
    workers: int,
    result_path: Path,
    partition_size: int,
    keep_plans: Path | None = None,
) -> None:
    from scoring.pipeline import compute_facts, load_config, score_facts

    t_read = time.perf_counter()
    scenario, settings = _scenario(sites_path, pa_path)
    config = load_config(settings)
    out: dict = {"engine": engine, "n_sites": len(scenario.sites.data), "read_s": time.perf_counter() - t_read}
    t0 = time.perf_counter()
    cpu0 = time.process_time()  # every thread of this process (the single engine's numba threads too)
    if engine == "single":
        scored = score_facts(compute_facts(scenario, settings), config)
        out["total_s"] = time.perf_counter() - t0
        out["total_cpu_s"] = time.process_time() - cpu0
    else:
        if engine == "dask_count":  # the baseline cut: partitions of equal size, not of equal estimated cost
            import numpy as np

            from geo import partition

            # the estimate is still computed (and recorded per partition in the plan); only the cut ignores it
            equal_cost_cut = partition.balanced_starts
            partition.balanced_starts = lambda cost, n_parts: equal_cost_cut(np.ones(len(cost)), n_parts)
        from distributed import get_task_stream

        from scoring import dask_engine

        with tempfile.TemporaryDirectory(dir=result_path.parent) as tmp:
            plans = keep_plans / engine if keep_plans else Path(tmp) / "plans"
            shutil.rmtree(plans, ignore_errors=True)  # a cold plan
            plan = dask_engine.plan_partitions(scenario, settings, partition_size, plans_dir=plans)
            out["plan_s"] = time.perf_counter() - t0
            out["plan_cpu_s"] = time.process_time() - cpu0
            t = time.perf_counter()
            again = dask_engine.plan_partitions(scenario, settings, partition_size, plans_dir=plans)
            out["plan_cached_s"] = time.perf_counter() - t
            assert again.reused and not plan.reused
            t1 = time.perf_counter()
            client, cluster = dask_engine.start_cluster(n_workers=workers)
            out["cluster_start_s"] = time.perf_counter() - t1
            try:
                t2 = time.perf_counter()
                _, collection, columns = dask_engine.build_collection(plan, settings, config, scenario.arctic)
                out["graph_s"] = time.perf_counter() - t2
                with get_task_stream(client) as ts:
                    parts = dask_engine.compute_partitions(client, collection)
                out["tasks_wall_s"] = time.perf_counter() - t2
                out["partition_cpu_s"] = [round(float(p.attrs[dask_engine.CPU_ATTR]), 3) for p in parts]  # in order
                out["task_cpu_s"] = sorted(out["partition_cpu_s"])
                t3 = time.perf_counter()
                scored = dask_engine.assemble(scenario.sites.data, parts, columns)
                out["assemble_s"] = time.perf_counter() - t3
            finally:
                client.close()
                cluster.close()
        durations = []
        first: dict[str, tuple[float, int]] = {}  # worker -> its first partition (it pays the worker's warm-up)
        for rec in ts.data:
            compute = [s for s in rec["startstops"] if s["action"] == "compute"]
            durations += [s["stop"] - s["start"] for s in compute]
            key = rec["key"]
            if compute and isinstance(key, tuple) and "score_partition" in str(key[0]):
                start = min(s["start"] for s in compute)
                if rec["worker"] not in first or start < first[rec["worker"]][0]:
                    first[rec["worker"]] = (start, int(key[-1]))
        out["first_partition_per_worker"] = sorted(p for _, p in first.values())
        out["n_partitions"] = plan.n_partitions
        out["partition_starts"] = list(plan.starts)
        out["partition_estimated_cost"] = list(plan.estimated_cost)
        out["task_s"] = sorted(durations)
        out["targets_per_task"] = plan.targets_per_task["protected_areas"]
        out["n_targets"] = scenario.protected_areas.n_loaded
        out["total_s"] = out["plan_s"] + out["tasks_wall_s"] + out["assemble_s"]
        out["total_with_cached_plan_s"] = out["plan_cached_s"] + out["tasks_wall_s"] + out["assemble_s"]
    cols = ["dist_protected_area_km", "nearest_protected_area_id", "protected_areas_within_25km", "risk_0_100"]
    scored[cols].to_parquet(result_path.with_suffix(".parquet"))
    result_path.write_text(json.dumps(out))


# ----------------------------------------------------------------------------- parent side
def _sample(proc, peaks: dict, labels: dict, stop: threading.Event, cpu: dict | None = None) -> None:
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
            if cpu is not None:
                try:
                    t = p.cpu_times()
                    cpu[p.pid] = max(cpu.get(p.pid, 0.0), t.user + t.system)  # the last sample before it exits
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    pass
        stop.wait(0.2)


def _run(
    engine: str,
    sites_path: Path,
    pa_path: Path,
    workers: int,
    partition_size: int,
    tmp: Path,
    keep_plans: Path | None = None,
) -> dict:
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
        *(["--keep-plans", str(keep_plans)] if keep_plans else []),
    ]
    peaks: dict[int, int] = {}
    labels: dict[int, str] = {}
    cpu: dict[int, float] = {}
    stop = threading.Event()
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env={**os.environ, "ASM_CACHE_DIR": str(tmp / "cache")})  # cold hash memo
    sampler = threading.Thread(target=_sample, args=(proc, peaks, labels, stop, cpu), daemon=True)
    sampler.start()
    rc = proc.wait()
    stop.set()
    sampler.join()
    if rc != 0:
        raise SystemExit(f"{engine} child failed with exit code {rc}")
    out = json.loads(result.read_text())
    out["process_wall_s"] = time.perf_counter() - t0
    out["load_avg_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    out["peak_rss_mb"] = sorted(
        ({"process": labels.get(pid, "?"), "mb": round(rss / 2**20)} for pid, rss in peaks.items()),
        key=lambda d: (d["process"], -d["mb"]),
    )
    # CPU seconds per process over its life (user + system, every thread; sampled every 0.2 s, so a
    # process's last 0.2 s may be missing): the steadier measure of work on a shared machine
    out["process_cpu_s"] = sorted(
        ({"process": labels.get(pid, "?"), "s": round(t, 1)} for pid, t in cpu.items()),
        key=lambda d: (d["process"], -d["s"]),
    )
    out["result_path"] = str(result.with_suffix(".parquet"))
    return out


def cost_model(run: dict, workers: tuple[int, ...] = (1, 2, 16, 64), overhead_s: float = 0.005) -> dict:
    """Modelled wall time of the tasks on n single-threaded workers, from one run's measured costs.

    T(n) = T_serial + max(sum(c) / n, max(c)) + n_tasks * overhead, where c are the partitions' CPU
    seconds (measured on the workers, ``CPU_ATTR``: steady on a shared machine, unlike wall times),
    T_serial the run's driver-side parts (cached plan, graph, assembly) and ``overhead_s`` the
    scheduler's cost per task (distributed's is of the order of a millisecond; 5 ms is generous).
    ``observed_overhead_per_task_s`` is the tasks' wall time beyond the ideal two-worker schedule,
    per task: on a loaded machine it measures the queue for the cores, not the scheduler. The
    partitions are those of this run: with more workers, smaller partitions lower max(c) (see
    docs/performance.md).
    """
    c = run["task_cpu_s"]
    total, longest = sum(c), max(c)
    serial = run["plan_cached_s"] + run.get("graph_s", 0.0) + run["assemble_s"]
    ideal2 = max(total / 2, longest)
    observed = (run["tasks_wall_s"] - run.get("graph_s", 0.0) - ideal2) / max(len(c), 1)
    est = run.get("partition_estimated_cost") or []
    cpu = run.get("partition_cpu_s") or []
    warm = set(run.get("first_partition_per_worker", []))
    rest = [i for i in range(len(cpu)) if i not in warm]  # a worker's first partition also pays its warm-up
    fit = {}
    if len(est) == len(cpu) and len(rest) > 2:
        import numpy as np

        e, m = np.asarray(est)[rest], np.asarray(cpu)[rest]
        fit = {
            "max_over_median_without_first": round(float(m.max() / np.median(m)), 2),
            "corr_estimate_cpu": round(float(np.corrcoef(e, m)[0, 1]), 3) if e.std() > 0 and m.std() > 0 else None,
            "cpu_us_per_estimated_pair": round(float(m.sum() / e.sum() * 1e6), 3),
        }
    return {
        **fit,
        "sum_task_cpu_s": round(total, 2),
        "max_task_cpu_s": round(longest, 2),
        "median_task_cpu_s": round(sorted(c)[len(c) // 2], 2),
        "max_over_median": round(longest / max(sorted(c)[len(c) // 2], 1e-9), 2),
        "serial_s": round(serial, 2),
        "observed_overhead_per_task_s": round(observed, 3),
        **{f"T_{n}_workers_s": round(serial + max(total / n, longest) + len(c) * overhead_s, 1) for n in workers},
    }


def partition_table(engine: str, run: dict) -> str:
    """Each partition's sites, targets, estimated cost (candidate pairs) and measured CPU seconds, in order."""
    cpu = run["partition_cpu_s"]
    est = run.get("partition_estimated_cost") or [float("nan")] * len(cpu)
    starts = run["partition_starts"]
    warm = set(run.get("first_partition_per_worker", []))
    lines = [f"{engine}: partition, sites, PA targets, estimated cost (pairs), CPU s ('*': a worker's first)"]
    for i, (c, e) in enumerate(zip(cpu, est, strict=True)):
        n = starts[i + 1] - starts[i]
        lines.append(f"  {i:4d} {n:8d} {run['targets_per_task'][i]:8d} {e:12.0f} {c:8.2f}{' *' if i in warm else ''}")
    return "\n".join(lines)


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
    ap.add_argument("--tmp", type=Path, default=None, help="scratch directory (plans, results)")
    ap.add_argument("--polygons", type=int, default=300_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--partition-size", type=int, default=25_000)
    ap.add_argument("--engines", nargs="+", default=["single", "dask"], choices=["single", "dask", "dask_count"])
    ap.add_argument("--data", type=Path, default=ROOT / "benchmarks" / "data")
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    ap.add_argument(
        "--keep-plans",
        type=Path,
        default=None,
        help="keep each Dask engine's partition plan in DIR/<engine> (to study the partitions; replaced each run)",
    )
    ap.add_argument("--child", choices=["single", "dask", "dask_count"], help=argparse.SUPPRESS)
    ap.add_argument("--sites-file", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--pa-file", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        _child(a.child, a.sites_file, a.pa_file, a.workers, a.result, a.partition_size, a.keep_plans)
        return

    import make_synthetic

    results = []
    with tempfile.TemporaryDirectory(dir=a.tmp) as tmp:
        for n in a.sites:
            raw_sites, pa_path = make_synthetic.write(n, a.polygons, a.data)
            sites_path = prepare_sites(raw_sites, a.data / f"bench_dask_{raw_sites.name}")
            runs = {
                e: _run(e, sites_path, pa_path, a.workers, a.partition_size, Path(tmp), a.keep_plans) for e in a.engines
            }
            row = {"n_sites": n, "n_polygons": a.polygons, "workers": a.workers, "runs": runs}
            for e in runs:
                if e != "single" and "single" in runs:
                    row[f"agreement_{e}"] = _compare(runs["single"], runs[e])
            for e, r in runs.items():
                if "task_cpu_s" in r:
                    row[f"model_{e}"] = cost_model(r)
            for e, r in runs.items():
                r.pop("result_path")
                if "partition_cpu_s" in r:
                    print(partition_table(e, r), flush=True)
            results.append(row)
            print(json.dumps(row, indent=1), flush=True)
    if a.out:
        a.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
