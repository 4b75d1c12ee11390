"""Scale-out scoring: the proximity and the scoring of ``layers.pipeline`` on a Dask cluster.

``run_scoring_dask`` gives the same table as ``layers.pipeline.run_scoring`` (same rows in
the same order, same columns and dtypes, distances equal to within 1e-9 km) but computes
the facts and the scores partition by partition on dask.distributed workers:

1. The driver loads every layer through the normal loaders (``load_scenario``: validated,
   cached), exactly as the single-process engine does.
2. Sites are ordered along a Hilbert curve (``geo.partition``) and written to a GeoParquet
   in a run directory under the cache dir, one row group per partition; each vector layer
   (protected areas, rainforest, reefs, water) is written Hilbert-ordered in row groups of
   ``TARGET_ROW_GROUP`` rows.
3. For each partition the driver selects the targets that can matter to its sites (every
   target within the largest buffer, and the nearest one: ``geo.partition.select_targets``).
   A task receives only file paths, its row-group number and those target positions, never
   a whole layer; the worker reads its row group and the few target row groups it needs.
4. Each task runs ``layers.pipeline.compute_facts`` and ``score_facts`` on its partition
   (the very functions of the single-process engine); the driver puts the partitions back
   in the input order.

Workers need the project importable (same Python environment, project on ``PYTHONPATH``)
and the run directory visible (shared storage when the cluster is remote); see docs/deploy.md.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from geo import partition as gpart
from geo.proximity import prepare_targets
from geo.risk import SENSITIVITY_FACTORS, RiskConfig
from layers.errors import LayerError
from layers.pipeline import (
    LayerSources,
    Scenario,
    ScoringResult,
    compute_facts,
    load_scenario,
    score_facts,
    scoring_result,
)
from layers.schema import CRS_WGS84, LoadResult

__all__ = [
    "DEFAULT_PARTITION_SIZE",
    "LayerSlice",
    "PartitionTask",
    "Plan",
    "assemble",
    "compute_partition",
    "plan_partitions",
    "run_scoring_dask",
    "start_cluster",
]

DEFAULT_PARTITION_SIZE = 25_000  # sites per task (and per row group of the sites GeoParquet)
TARGET_ROW_GROUP = 2_000  # polygons per row group of a layer GeoParquet: small, so a task reads few
_POS = "_asm_pos"  # original position of a row, stored beside it in the run files
_MAX_WORKER_MEMORY = 4 * 2**30  # default per-worker cap on a LocalCluster, bytes
_CONNECT_TIMEOUT_S = 20.0  # how long to wait for a remote scheduler


@dataclass(frozen=True)
class LayerSlice:
    """Where a task finds its targets of one layer: a GeoParquet and the rows it needs."""

    path: str
    row_groups: tuple[int, ...]
    rows: np.ndarray  # positions in the file (Hilbert order), to take after reading ``row_groups``


@dataclass(frozen=True)
class PartitionTask:
    """Everything one task needs; small (paths and positions), cheap to send."""

    number: int
    sites_path: str
    settings: object
    config: RiskConfig
    layers: dict[str, LayerSlice]
    arctic: object
    rasters: list = field(default_factory=list)


@dataclass
class Plan:
    """The partitions of one run and the files they read."""

    tasks: list[PartitionTask]
    run_dir: Path
    n_sites: int
    targets_per_task: dict[str, list[int]]


# ----------------------------------------------------------------------------- files
def _write_geoparquet(frame: gpd.GeoDataFrame, path: Path, row_group_size: int) -> None:
    """GeoParquet with fixed-size row groups, written atomically (temp file, then rename)."""
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex}")
    try:
        frame.to_parquet(tmp, index=False, row_group_size=row_group_size, compression="lz4")
        os.replace(tmp, path)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise LayerError(
            path,
            f"cannot write the layer as GeoParquet for the Dask workers ({exc})",
            "check that every attribute column holds plain values (text, numbers, dates)",
        ) from exc
    finally:
        tmp.unlink(missing_ok=True)


def _read_geoparquet(path: str, row_groups: Sequence[int], columns: list[str] | None = None) -> gpd.GeoDataFrame:
    """Only the given row groups of a GeoParquet (WKB geometry, EPSG:4326)."""
    pf = pq.ParquetFile(path)
    table = pf.read_row_groups(list(row_groups), columns=columns)
    frame = table.to_pandas()
    frame["geometry"] = gpd.GeoSeries.from_wkb(frame["geometry"], crs=CRS_WGS84).values
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=CRS_WGS84)  # column order as written


def _sorted_layer(frame: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """The layer in Hilbert order of its bounding-box centres, with each row's original position."""
    b = frame.geometry.bounds.to_numpy()
    order = gpart.spatial_order((b[:, 0] + b[:, 2]) / 2.0, (b[:, 1] + b[:, 3]) / 2.0)
    out = frame.iloc[order].reset_index(drop=True)
    out = out.rename_geometry("geometry") if out.geometry.name != "geometry" else out
    out[_POS] = order
    return out, order


def _layer_frames(scenario: Scenario) -> dict[str, gpd.GeoDataFrame]:
    out: dict[str, gpd.GeoDataFrame] = {}
    if scenario.protected_areas is not None and len(scenario.protected_areas.data):
        out["protected_areas"] = scenario.protected_areas.data
    for name in ("rainforest", "reefs", "water"):
        layer = getattr(scenario, name)
        if layer is not None and len(layer):
            out[name] = layer
    return out


# ----------------------------------------------------------------------------- plan
def plan_partitions(
    scenario: Scenario,
    settings,
    config: RiskConfig,
    run_dir: Path,
    partition_size: int = DEFAULT_PARTITION_SIZE,
) -> Plan:
    """Write the run files and build one :class:`PartitionTask` per spatial partition of the sites."""
    if partition_size < 1:
        raise ValueError(f"partition_size must be positive, got {partition_size}")
    run_dir.mkdir(parents=True, exist_ok=True)
    sites = scenario.sites.data
    n = len(sites)
    order = gpart.spatial_order(sites["lon"].to_numpy(dtype="float64"), sites["lat"].to_numpy(dtype="float64"))
    sorted_sites = sites.iloc[order].reset_index(drop=True)
    if sorted_sites.geometry.name != "geometry":
        sorted_sites = sorted_sites.rename_geometry("geometry")
    sorted_sites[_POS] = order
    sites_path = run_dir / "sites.parquet"
    _write_geoparquet(sorted_sites, sites_path, partition_size)
    starts = gpart.partition_starts(n, partition_size)
    n_parts = len(starts) - 1
    part_of = np.repeat(np.arange(n_parts), np.diff(starts))
    site_geoms = sorted_sites.geometry.to_numpy()
    del sorted_sites

    r_pa = max([*settings.buffer_distances_km, settings.protected_area_km2_buffer_km])
    slices: dict[str, list[LayerSlice]] = {}
    for name, frame in _layer_frames(scenario).items():
        valid = ~(frame.geometry.isna() | frame.geometry.is_empty).to_numpy()
        layer_sorted, lorder = _sorted_layer(frame)
        path = run_dir / f"{name}.parquet"
        _write_geoparquet(layer_sorted, path, TARGET_ROW_GROUP)
        # select on the file's (Hilbert) order; missing/empty geometries are never candidates
        tg = prepare_targets(np.where(valid[lorder], layer_sorted.geometry.to_numpy(), None))
        r_min = r_pa if name == "protected_areas" else 0.0
        chosen = gpart.select_targets(site_geoms, part_of, tg, r_min)
        valid_rows = np.flatnonzero(valid[lorder])
        first_valid = int(valid_rows[0]) if len(valid_rows) else 0
        layer_slices = []
        for rows in chosen:
            if len(rows) == 0:  # only sites without geometry: keep one target so the columns exist
                rows = np.array([first_valid], dtype=np.int64)
            groups = tuple(int(g) for g in np.unique(rows // TARGET_ROW_GROUP))
            layer_slices.append(LayerSlice(str(path), groups, rows))
        slices[name] = layer_slices
        del layer_sorted, tg

    tasks = [
        PartitionTask(
            number=i,
            sites_path=str(sites_path),
            settings=settings,
            config=config,
            layers={name: s[i] for name, s in slices.items()},
            arctic=scenario.arctic,
            rasters=list(scenario.rasters),
        )
        for i in range(n_parts)
    ]
    per_task = {name: [len(s.rows) for s in layer_slices] for name, layer_slices in slices.items()}
    return Plan(tasks=tasks, run_dir=run_dir, n_sites=n, targets_per_task=per_task)


# ----------------------------------------------------------------------------- task
def _read_slice(s: LayerSlice) -> gpd.GeoDataFrame:
    frame = _read_geoparquet(s.path, s.row_groups)
    # groups are read in ascending order and all but the file's last are full, so row r sits at
    # (rank of its group among those read) * TARGET_ROW_GROUP + (r within its group)
    groups = np.asarray(s.row_groups, dtype=np.int64)
    local = np.searchsorted(groups, s.rows // TARGET_ROW_GROUP) * TARGET_ROW_GROUP + s.rows % TARGET_ROW_GROUP
    sub = frame.iloc[local]
    sub = sub.iloc[np.argsort(sub[_POS].to_numpy(), kind="stable")]  # original order: same tie-breaks
    return sub.drop(columns=[_POS]).reset_index(drop=True)


def compute_partition(task: PartitionTask) -> tuple[np.ndarray, pd.DataFrame, list[str], dict]:
    """Facts and scores of one partition (runs on a worker).

    Returns (original positions, the scored columns that are not site columns, the scored
    frame's full column order, the scored frame's attrs).
    """
    sites = _read_geoparquet(task.sites_path, [task.number])
    pos = sites.pop(_POS).to_numpy(dtype=np.int64)
    site_cols = list(sites.columns)
    layers = {name: _read_slice(s) for name, s in task.layers.items()}
    pa_frame = layers.get("protected_areas")
    scenario = Scenario(
        sites=LoadResult(data=sites),
        protected_areas=LoadResult(data=pa_frame) if pa_frame is not None else None,
        rainforest=layers.get("rainforest"),
        reefs=layers.get("reefs"),
        water=layers.get("water"),
        arctic=task.arctic,
        rasters=list(task.rasters),
        countries=gpd.GeoDataFrame(geometry=[], crs=CRS_WGS84),
        is_demo=False,
    )
    facts = compute_facts(scenario, task.settings)
    scored = score_facts(facts, task.config)
    columns = list(scored.columns)
    new = pd.DataFrame(scored.drop(columns=[c for c in site_cols if c in scored.columns]))
    return pos, new.reset_index(drop=True), columns, dict(scored.attrs)


# ----------------------------------------------------------------------------- assembly
def _missing_factor_key(label: str) -> int:
    names = ("commodity", *SENSITIVITY_FACTORS)
    return sum(1 << names.index(p) for p in label.split(";") if p in names)


def _concat_partitions(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate partition frames, merging categoricals whose categories differ by partition."""
    cat_cols = {}
    for col in parts[0].columns:
        dtypes = [p[col].dtype for p in parts]
        if isinstance(dtypes[0], pd.CategoricalDtype) and any(d != dtypes[0] for d in dtypes):
            cats: dict[object, None] = {}
            for d in dtypes:
                cats.update(dict.fromkeys(d.categories))
            ordered = list(cats)
            if col == "missing_factors":  # geo.risk orders its labels by their bit mask
                ordered.sort(key=lambda c: _missing_factor_key(str(c)))
            cat_cols[col] = pd.CategoricalDtype(ordered, ordered=dtypes[0].ordered)
    if cat_cols:
        parts = [p.astype(cat_cols) for p in parts]
    return pd.concat(parts, ignore_index=True)


def assemble(
    sites: gpd.GeoDataFrame, results: list[tuple[np.ndarray, pd.DataFrame, list[str], dict]]
) -> gpd.GeoDataFrame:
    """The scored frame in the input order: the driver's site columns plus the workers' new columns."""
    if not results:
        raise ValueError("no partition results to assemble")
    pos = np.concatenate([r[0] for r in results])
    new = _concat_partitions([r[1] for r in results])
    if len(pos) != len(sites) or not np.array_equal(np.sort(pos), np.arange(len(sites))):
        raise RuntimeError(f"partitions returned {len(pos)} rows for {len(sites)} sites")
    inv = np.empty(len(pos), dtype=np.int64)
    inv[pos] = np.arange(len(pos))
    new = new.iloc[inv].set_axis(sites.index)
    columns = results[0][2]
    site_part = sites[[c for c in columns if c in sites.columns]]
    out = pd.concat([site_part, new], axis=1)[columns]
    out = gpd.GeoDataFrame(out, geometry=sites.geometry.name, crs=sites.crs)
    out.attrs = dict(results[0][3])
    return out


# ----------------------------------------------------------------------------- cluster
def _default_memory_limit(n_workers: int) -> int:
    import psutil

    total = psutil.virtual_memory().total
    return int(min(_MAX_WORKER_MEMORY, 0.75 * total / max(n_workers, 1)))


def start_cluster(
    scheduler: str | None = None, n_workers: int | None = None, memory_limit: int | str | None = None
) -> tuple[object, object | None]:
    """A ``distributed.Client``: to ``scheduler`` (tcp://host:port) or to a new LocalCluster.

    The LocalCluster has ``n_workers`` (default: the CPU count) single-threaded worker
    processes, each capped at ``memory_limit`` (default: min(4 GiB, 75 % of RAM / workers)).
    Returns (client, cluster or None); close both.
    """
    from distributed import Client, LocalCluster

    if scheduler is not None:
        if n_workers is not None:
            raise ValueError("give either a scheduler address or a number of local workers, not both")
        try:
            return Client(scheduler, timeout=_CONNECT_TIMEOUT_S), None
        except OSError as exc:
            raise LayerError(
                None,
                f"cannot reach the Dask scheduler at {scheduler} ({exc})",
                "start it (dask scheduler) or check the address, e.g. --scheduler tcp://10.0.0.5:8786",
            ) from exc
    n = n_workers if n_workers is not None else (os.cpu_count() or 1)
    if n < 1:
        raise ValueError(f"--workers must be at least 1, got {n}")
    cluster = LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        memory_limit=memory_limit if memory_limit is not None else _default_memory_limit(n),
        dashboard_address=":0",
        env={"NUMBA_NUM_THREADS": "1"},  # one thread per worker: numba's parallel kernels must not oversubscribe
    )
    try:
        client = Client(cluster)
    except Exception:
        cluster.close()
        raise
    return client, cluster


def _say(enabled: bool):
    def say(msg: str) -> None:
        if enabled:
            print(msg, file=sys.stderr, flush=True)

    return say


def run_scoring_dask(
    sources: LayerSources,
    settings,
    config: RiskConfig,
    *,
    scheduler: str | None = None,
    n_workers: int | None = None,
    progress: bool = True,
    partition_size: int | None = None,
    memory_limit: int | str | None = None,
    client: object | None = None,
) -> ScoringResult:
    """``layers.pipeline.run_scoring`` on a Dask cluster; same result, computed partition by partition.

    ``scheduler`` (tcp://host:port) connects to an existing cluster; otherwise a LocalCluster
    with ``n_workers`` processes is started and closed. ``client`` reuses a connected
    ``distributed.Client`` instead (tests). ``progress`` prints the dashboard link and a
    progress bar on stderr.
    """
    from distributed import progress as dask_progress

    t0 = time.perf_counter()
    say = _say(progress)
    scenario = load_scenario(sources, settings, say)
    size = int(partition_size or DEFAULT_PARTITION_SIZE)
    run_dir = Path(settings.cache_dir) / "dask-runs" / uuid.uuid4().hex
    own_client = client is None
    cluster = None
    try:
        say("partitioning the sites and selecting the targets near each partition")
        plan = plan_partitions(scenario, settings, config, run_dir, size)
        rows: list[tuple[np.ndarray, pd.DataFrame, list[str], dict]] = []
        if plan.tasks:
            if own_client:
                client, cluster = start_cluster(scheduler, n_workers, memory_limit)
            link = getattr(client, "dashboard_link", None)
            if link:
                say(f"Dask dashboard: {link}")
            say(f"scoring {plan.n_sites} sites in {len(plan.tasks)} partitions")
            futures = client.map(compute_partition, plan.tasks, pure=False)
            if progress:
                _progress_to_stderr(dask_progress, futures)
            rows = client.gather(futures)
        scored = assemble(scenario.sites.data, rows) if rows else _empty_scored(scenario, settings, config)
    finally:
        if own_client and client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
        shutil.rmtree(run_dir, ignore_errors=True)
    return scoring_result(scenario, scored, config, t0)


def _progress_to_stderr(dask_progress, futures) -> None:
    """distributed's text progress bar, on stderr so stdout keeps only the result line."""
    out = sys.stdout
    try:
        sys.stdout = sys.stderr
        dask_progress(futures)
    finally:
        sys.stdout = out
    print(file=sys.stderr)


def _empty_scored(scenario: Scenario, settings, config: RiskConfig) -> gpd.GeoDataFrame:
    """No sites: the single-process engine's empty frame (no cluster needed)."""
    return score_facts(compute_facts(scenario, settings), config)
