"""Scale-out scoring: the proximity and the scoring of ``scoring.pipeline`` on a Dask cluster.

``run_scoring_dask`` gives the same table as ``scoring.pipeline.run_scoring`` (same rows in
the same order, same columns and dtypes, distances equal to within 1e-9 km) but computes
the facts and the scores partition by partition, as a dask-geopandas collection computed on
dask.distributed workers:

1. **Load** (driver): ``load_scenario``, the normal validated, cached loaders. A cached layer
   is a GeoParquet file (``LoadResult.stored_path``); the driver does not read it whole.
2. **Plan** (driver, streamed, cached): :func:`plan_partitions` reads the sites and each vector
   layer in record batches (about ``_BATCH_BYTES`` of geometry each, ``ParquetFile.iter_batches``)
   and keeps per row only a Hilbert key, a bounding box and a few sampled vertices. It orders
   the sites along a Hilbert curve (``geo.partition``), cuts them into partitions and selects,
   per partition, the targets that can matter to its sites (every target within the largest
   buffer, and the nearest one: ``geo.partition.select_targets_in_boxes``). It then writes the
   sites (one row group per partition) and each layer (row groups of ``TARGET_ROW_GROUP``) in
   Hilbert order by an external sort: batches are spilled as per-bucket row groups, then each
   bucket is read back, sorted and written. The driver's memory follows the batch and bucket
   sizes and a few numbers per row, never the whole layer's geometry. The plan is stored under
   ``<cache_dir>/dask-plans/<key>/``, keyed by the content of the inputs (``layers.cache.
   content_hash``) and the partitioning parameters: a second run on the same inputs (e.g. after
   a weight change) reuses it; any change of input or parameter plans anew.
3. **Compute** (workers): the sites are a ``dask_geopandas.GeoDataFrame`` with one partition per
   Hilbert partition (``dask.dataframe.from_map`` over the row groups); each layer's targets are a
   second collection with the same partitions, whose partition ``i`` reads only the row groups
   holding partition ``i``'s targets. ``map_partitions(score_partition, ...)`` runs
   ``compute_facts`` and ``score_facts`` (the very functions of the single-process engine) on
   each partition; the per-partition frames are computed on the distributed Client.
4. **Assemble** (driver): the partitions are put back in input order next to the driver's site
   columns, with the categories of categorical columns merged as ``geo.risk`` orders them.

Workers need the project importable (same Python environment, project on ``PYTHONPATH``)
and the plan directory visible (shared storage when the cluster is remote); see docs/deploy.md.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from itertools import pairwise
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from geo import partition as gpart
from geo.regions import PolarRegion
from geo.risk import SENSITIVITY_FACTORS, RiskConfig
from layers.cache import content_hash, discard_entry, geoparquet_geometry_column
from layers.schema import CRS_WGS84, LoadResult
from scoring.dask_cluster import start_cluster
from scoring.dask_io import _POS, _external_sort, _read_geoparquet, _scan_layer, _scan_sites, _SiteScan, _write_frame
from scoring.pipeline import (
    LayerSources,
    Scenario,
    ScoringResult,
    compute_facts,
    load_scenario,
    score_facts,
    scoring_result,
)

__all__ = [
    "DEFAULT_PARTITION_SIZE",
    "PLAN_VERSION",
    "LayerPlan",
    "LayerSlice",
    "Plan",
    "assemble",
    "build_collection",
    "compute_partitions",
    "partition_meta",
    "plan_partitions",
    "read_layer_slice",
    "read_layer_slice_wkb",
    "read_sites_partition",
    "run_scoring_dask",
    "score_partition",
    "score_plan_in_process",
    "score_scenario_dask",
    "start_cluster",
]

PLAN_VERSION = 3  # bump when the plan files or the selection rule change: older plans are then never used
DEFAULT_PARTITION_SIZE = 25_000  # sites per partition (and per row group of the sites GeoParquet)
TARGET_ROW_GROUP = 2_000  # polygons per row group of a layer GeoParquet: small, so a task reads few
LAYER_NAMES = ("protected_areas", "rainforest", "reefs", "water")
_PLAN_FILE = "plan.json"
CPU_ATTR = "asm_partition_cpu_s"  # attrs key of a partition frame: its CPU time on the worker (benchmarks)


# ----------------------------------------------------------------------------- plan objects
@dataclass(frozen=True)
class LayerSlice:
    """Where a partition finds its targets of one layer: a GeoParquet and the rows it needs."""

    path: str
    row_groups: tuple[int, ...]
    rows: np.ndarray  # sorted positions in the file (Hilbert order), to take after reading ``row_groups``


@dataclass(frozen=True)
class LayerPlan:
    """One layer of a plan: its Hilbert-ordered GeoParquet and each partition's target rows in it."""

    path: Path
    targets: tuple[np.ndarray, ...]  # per partition, sorted file positions

    def slice(self, number: int) -> LayerSlice:
        rows = self.targets[number]
        groups = tuple(int(g) for g in np.unique(rows // TARGET_ROW_GROUP))
        return LayerSlice(str(self.path), groups, rows)


@dataclass(frozen=True)
class Plan:
    """The partitions of the sites and the files they read (a directory of the plan cache)."""

    directory: Path
    key: str
    n_sites: int
    partition_size: int  # sites per partition on average (the partitions are cut by estimated cost)
    layers: dict[str, LayerPlan]
    reused: bool  # True when the plan came from the cache
    starts: tuple[int, ...] = ()  # partition i holds Hilbert positions starts[i]:starts[i + 1]
    estimated_cost: tuple[float, ...] = ()  # per partition, ``geo.partition.site_costs`` summed (candidate pairs)

    @property
    def sites_path(self) -> Path:
        return self.directory / "sites.parquet"

    @property
    def n_partitions(self) -> int:
        return (
            len(self.starts) - 1 if self.starts else len(gpart.partition_starts(self.n_sites, self.partition_size)) - 1
        )

    @property
    def targets_per_task(self) -> dict[str, list[int]]:
        return {name: [len(t) for t in lp.targets] for name, lp in self.layers.items()}


# ----------------------------------------------------------------------------- plan
def _inverse(order: np.ndarray) -> np.ndarray:
    inv = np.empty(len(order), dtype=np.int64)
    inv[order] = np.arange(len(order), dtype=np.int64)
    return inv


def _min_radius_km(name: str, settings) -> float:
    """Every target within this distance of a site matters (counts, areas); beyond it only the nearest."""
    if name == "protected_areas":
        return float(
            max(
                [*settings.buffer_distances_km, settings.protected_area_km2_buffer_km, settings.protected_area_reach_km]
            )
        )
    return 0.0


def _stored_path(result: LoadResult) -> Path | None:
    """The GeoParquet holding exactly ``result.data`` (``LoadResult.stored_path``), if any."""
    path = getattr(result, "stored_path", None)
    return Path(path) if path is not None else None


def _plan_inputs(scenario: Scenario, scratch: Path) -> tuple[dict[str, Path], set[str]]:
    """Each input of the plan as a GeoParquet path; in-memory layers are written to ``scratch``.

    Returns (paths by name, the names whose file was written here).
    """
    paths: dict[str, Path] = {}
    written: set[str] = set()

    def add(name: str, result: LoadResult | None, frame: gpd.GeoDataFrame | None) -> None:
        stored = _stored_path(result) if result is not None else None
        if stored is not None:
            paths[name] = stored
            return
        data = result.data if result is not None else frame
        if data is None or (name != "sites" and len(data) == 0):
            return
        path = scratch / f"input-{name}.parquet"
        _write_frame(data, path)
        paths[name] = path
        written.add(name)

    add("sites", scenario.sites, None)
    pa_result = scenario.protected_areas
    if pa_result is not None and pa_result.n_loaded:
        add("protected_areas", pa_result, None)
    for name in LAYER_NAMES[1:]:
        layer = getattr(scenario, name)
        if layer is not None and len(layer):
            add(name, None, layer)
    return paths, written


def _plan_key(paths: dict[str, Path], written: set[str], settings, partition_size: int) -> str:
    cache_dir = Path(settings.cache_dir)
    blob = {
        "plan_version": PLAN_VERSION,
        "partition_size": int(partition_size),
        "target_row_group": TARGET_ROW_GROUP,
        "inputs": {
            name: {
                # a written file is new each run: hash it without remembering it
                "content_sha256": content_hash(path, None if name in written else cache_dir),
                "min_radius_km": _min_radius_km(name, settings),
            }
            for name, path in sorted(paths.items())
        },
    }
    return hashlib.sha256(json.dumps(blob, sort_keys=True).encode("utf-8")).hexdigest()


def _save_targets(directory: Path, name: str, targets: list[np.ndarray]) -> None:
    offsets = np.r_[0, np.cumsum([len(t) for t in targets])].astype(np.int64)
    rows = np.concatenate(targets) if targets else np.zeros(0, np.int64)
    np.save(directory / f"{name}.offsets.npy", offsets, allow_pickle=False)
    np.save(directory / f"{name}.rows.npy", rows.astype(np.int64), allow_pickle=False)


def _load_plan(directory: Path, key: str) -> Plan:
    meta = json.loads((directory / _PLAN_FILE).read_text(encoding="utf-8"))
    if meta.get("plan_version") != PLAN_VERSION or meta.get("key") != key:
        raise ValueError("plan.json belongs to another key or plan version")
    starts = tuple(int(x) for x in meta["starts"])
    n_parts = len(starts) - 1
    if starts[0] != 0 or starts[-1] != int(meta["n_sites"]) or any(b <= a for a, b in pairwise(starts)):
        raise ValueError("plan.json's partition boundaries do not cover the sites")
    if n_parts and pq.ParquetFile(directory / "sites.parquet").metadata.num_row_groups != n_parts:
        raise ValueError("sites.parquet does not have one row group per partition")
    layers = {}
    for name in meta["layers"]:
        offsets = np.load(directory / f"{name}.offsets.npy", allow_pickle=False)
        rows = np.load(directory / f"{name}.rows.npy", allow_pickle=False)
        if len(offsets) != n_parts + 1 or offsets[-1] != len(rows):
            raise ValueError(f"{name} target files do not match the partitions")
        targets = tuple(rows[offsets[i] : offsets[i + 1]] for i in range(n_parts))
        layers[name] = LayerPlan(directory / f"{name}.parquet", targets)
    cost = tuple(float(x) for x in meta.get("estimated_cost", ()))
    return Plan(directory, key, int(meta["n_sites"]), int(meta["partition_size"]), layers, True, starts, cost)


def _cost_radius_km(settings) -> float:
    """Every PA within this distance is walked for every site: what a site's cost grows with."""
    return float(max([*settings.buffer_distances_km, settings.protected_area_km2_buffer_km]))


def _plan_layer(name: str, scan, sites: _SiteScan, part_of: np.ndarray, settings, src: Path, out: Path, scratch: Path):
    """Select each partition's targets of one layer, and write the layer in Hilbert order."""
    keys, boxes = scan
    lrank = _inverse(np.argsort(keys, kind="stable"))
    ub = gpart.upper_bound_from_vertices(sites.lon1, sites.lat1, boxes.vertices)
    chosen = gpart.select_targets_in_boxes(sites.bounds, part_of, boxes, _min_radius_km(name, settings), ub)
    first = int(boxes.owner.min()) if len(boxes.owner) else 0
    targets = []
    for rows in chosen:  # input positions -> positions in the Hilbert-ordered file
        if len(rows) == 0:  # only sites without geometry: keep one target so the columns exist
            rows = np.array([first], dtype=np.int64)
        targets.append(np.sort(lrank[rows]))
    del boxes, ub
    starts = gpart.partition_starts(len(keys), TARGET_ROW_GROUP)
    _external_sort(src, lrank, starts, out / f"{name}.parquet", scratch)
    _save_targets(out, name, targets)


def _build_plan(paths: dict[str, Path], settings, partition_size: int, out: Path, scratch: Path) -> dict:
    """Write the plan files into ``out`` (streamed; see the module docstring). Returns plan.json's content.

    The scans of the inputs, then the per-layer selections and the sorted rewrites, run in
    threads (GEOS, Arrow and the k-d tree release the GIL): a first run plans in about the time
    of its largest layer instead of the sum of all.
    """
    names = [name for name in LAYER_NAMES if name in paths]
    with ThreadPoolExecutor(max_workers=max(1, min(len(names) + 1, os.cpu_count() or 1, 4))) as pool:
        site_job = pool.submit(_scan_sites, paths["sites"])
        scans = {name: pool.submit(_scan_layer, paths[name]) for name in names}
        sites = site_job.result()
        n = len(sites.keys)
        order = np.argsort(sites.keys, kind="stable")
        n_parts = len(gpart.partition_starts(n, partition_size)) - 1
        if "protected_areas" in scans and n:  # partitions of equal estimated cost, not of equal size
            pa_boxes = scans["protected_areas"].result()[1].boxes
            cost = gpart.site_costs(sites.bounds[order], pa_boxes, _cost_radius_km(settings))
        else:
            cost = np.ones(n)
        starts = gpart.balanced_starts(cost, n_parts)
        estimated = np.add.reduceat(cost, starts[:-1]) if n else np.zeros(0)
        rank = _inverse(order)
        del order, cost
        part_of = np.searchsorted(starts, rank, side="right") - 1
        jobs = [pool.submit(_external_sort, paths["sites"], rank, starts, out / "sites.parquet", scratch)]
        layer_meta = {}
        for name in names:
            scan = scans.pop(name).result()
            layer_meta[name] = {"rows": len(scan[0])}
            jobs.append(pool.submit(_plan_layer, name, scan, sites, part_of, settings, paths[name], out, scratch))
            del scan
        for job in jobs:
            job.result()
    return {
        "n_sites": n,
        "partition_size": int(partition_size),
        "starts": [int(x) for x in starts],
        "estimated_cost": [round(float(x), 1) for x in estimated],
        "layers": layer_meta,
    }


def plan_partitions(
    scenario: Scenario,
    settings,
    partition_size: int = DEFAULT_PARTITION_SIZE,
    *,
    plans_dir: Path | None = None,
    say: Callable[[str], None] | None = None,
) -> Plan:
    """The partitions of the sites and each partition's targets, from the plan cache or planned now.

    Inputs are read from their GeoParquet (``LoadResult.stored_path``) in record batches; layers
    held only in memory are first written to a scratch GeoParquet. The plan lives in
    ``plans_dir`` (default ``<cache_dir>/dask-plans``) under a key made of the inputs' content
    hashes and the partitioning parameters, and is written atomically (temporary directory, then
    rename), so concurrent runs never see half a plan.
    """
    if partition_size < 1:
        raise ValueError(f"partition_size must be positive, got {partition_size}")
    say = say or (lambda _msg: None)
    root = Path(plans_dir) if plans_dir is not None else Path(settings.cache_dir) / "dask-plans"
    root.mkdir(parents=True, exist_ok=True)
    scratch = root / f".tmp-{uuid.uuid4().hex}"
    scratch.mkdir()
    try:
        paths, written = _plan_inputs(scenario, scratch)
        key = _plan_key(paths, written, settings, partition_size)
        entry = root / key
        if entry.exists():
            try:
                plan = _load_plan(entry, key)
                os.utime(entry)  # last use, for an age-based clean-up of <cache_dir>/dask-plans
                say(f"reusing the partition plan {entry}")
                return plan
            except (OSError, ValueError, KeyError, TypeError, pa.ArrowException) as exc:
                say(f"the partition plan {entry} is unreadable ({exc}); planning anew")
                discard_entry(entry)
        say("partitioning the sites and selecting the targets near each partition")
        build = scratch / "plan"
        build.mkdir()
        meta = _build_plan(paths, settings, partition_size, build, scratch)
        meta.update({"plan_version": PLAN_VERSION, "key": key, "created_unix_s": time.time()})
        (build / _PLAN_FILE).write_text(json.dumps(meta, sort_keys=True), encoding="utf-8")
        try:
            os.rename(build, entry)
        except OSError:
            if not entry.exists():
                raise
            # another run wrote the same plan first: same inputs, same content; use that one
        plan = _load_plan(entry, key)
        return replace(plan, reused=False)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# ----------------------------------------------------------------------------- partitions (workers)
def read_sites_partition(path: str, number: int) -> gpd.GeoDataFrame:
    """The sites of partition ``number`` (one row group), with their input positions in ``_asm_pos``."""
    return _read_geoparquet(path, [number])


def read_layer_slice(s: LayerSlice) -> gpd.GeoDataFrame:
    """The targets of one partition, in the layer's input order (so ties break as in the single engine)."""
    frame = _read_geoparquet(s.path, s.row_groups)
    # groups are read in ascending order and all but the file's last are full, so row r sits at
    # (rank of its group among those read) * TARGET_ROW_GROUP + (r within its group)
    groups = np.asarray(s.row_groups, dtype=np.int64)
    local = np.searchsorted(groups, s.rows // TARGET_ROW_GROUP) * TARGET_ROW_GROUP + s.rows % TARGET_ROW_GROUP
    sub = frame.iloc[local]
    sub = sub.iloc[np.argsort(sub[_POS].to_numpy(), kind="stable")]
    return sub.drop(columns=[_POS]).reset_index(drop=True)


def read_layer_slice_wkb(s: LayerSlice) -> pd.DataFrame:
    """:func:`read_layer_slice` without GEOS: the targets' attribute columns and their WKB as an
    Arrow-backed ``geometry`` column (``pd.ArrowDtype(binary)``: no Python object per row), which the
    worker hands to the proximity engine as an Arrow table, decoded straight into the kernels'
    arrays as the single engine decodes a cached layer (``compute_protected_area_proximity_arrow``)."""
    pf = pq.ParquetFile(s.path)
    geom_col = geoparquet_geometry_column(pf.schema_arrow, s.path)
    table = pf.read_row_groups(list(s.row_groups)) if s.row_groups else pf.schema_arrow.empty_table()
    groups = np.asarray(s.row_groups, dtype=np.int64)
    local = np.searchsorted(groups, s.rows // TARGET_ROW_GROUP) * TARGET_ROW_GROUP + s.rows % TARGET_ROW_GROUP
    table = table.take(pa.array(local, type=pa.int64()))
    order = np.argsort(table.column(_POS).to_numpy(), kind="stable")  # the layer's input order, as the single engine
    table = table.take(pa.array(order, type=pa.int64())).drop_columns([_POS])
    geom = table.column(geom_col).combine_chunks()
    frame = table.drop_columns([geom_col]).to_pandas()
    frame["geometry"] = pd.Series(pd.arrays.ArrowExtensionArray(geom), index=frame.index)
    return frame


@dataclass
class ArrowLayer(LoadResult):
    """A layer handed to ``compute_facts`` as an Arrow table with a WKB ``geometry`` column (a worker's
    protected areas): the proximity engine decodes it itself; no GeoDataFrame is built."""

    table: pa.Table | None = None

    @property
    def is_loaded(self) -> bool:
        return False

    @property
    def n_loaded(self) -> int:
        return self.table.num_rows if self.table is not None else 0


def _layer_result(frame: pd.DataFrame) -> LoadResult:
    if isinstance(frame, gpd.GeoDataFrame):
        return LoadResult(data=frame)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    return ArrowLayer(data=gpd.GeoDataFrame(geometry=[], crs=CRS_WGS84), table=table)


def _score_frame(
    sites: gpd.GeoDataFrame,
    layers: dict[str, gpd.GeoDataFrame],
    settings,
    config: RiskConfig,
    arctic: PolarRegion,
    rasters: Sequence,
) -> gpd.GeoDataFrame:
    pa_frame = layers.get("protected_areas")
    scenario = Scenario(
        sites=LoadResult(data=sites),
        protected_areas=_layer_result(pa_frame) if pa_frame is not None else None,
        rainforest=layers.get("rainforest"),
        reefs=layers.get("reefs"),
        water=layers.get("water"),
        arctic=arctic,
        rasters=list(rasters),
        countries=gpd.GeoDataFrame(geometry=[], crs=CRS_WGS84),
        is_demo=False,
    )
    return score_facts(compute_facts(scenario, settings), config)


def score_partition(
    sites: gpd.GeoDataFrame,
    *layers: gpd.GeoDataFrame,
    layer_names: Sequence[str],
    settings,
    config: RiskConfig,
    arctic: PolarRegion,
    rasters: Sequence = (),
) -> pd.DataFrame:
    """Facts and scores of one partition (``map_partitions`` function; runs on a worker).

    Returns ``_asm_pos`` (each site's input position) and the scored columns that are not site
    columns, in the scored frame's order; ``attrs`` are the scored frame's plus ``CPU_ATTR``
    (the partition's CPU seconds, which the benchmark reads; :func:`assemble` drops it).
    """
    cpu0 = time.process_time()
    pos = sites[_POS].to_numpy(dtype=np.int64)
    site_part = sites.drop(columns=[_POS])
    scored = _score_frame(site_part, dict(zip(layer_names, layers, strict=True)), settings, config, arctic, rasters)
    new = pd.DataFrame(scored.drop(columns=[c for c in site_part.columns if c in scored.columns]))
    new = new.reset_index(drop=True)
    new.insert(0, _POS, pos)
    new.attrs = {**scored.attrs, CPU_ATTR: time.process_time() - cpu0}
    return new


def build_collection(
    plan: Plan, settings, config: RiskConfig, arctic: PolarRegion, rasters: Sequence = ()
) -> tuple[object, object, list[str]]:
    """The dask-geopandas collections of one run.

    Returns (the sites as a ``dask_geopandas.GeoDataFrame`` with one partition per Hilbert
    partition, the scored partitions as a ``dask.dataframe.DataFrame`` from
    ``sites.map_partitions(score_partition, <one target collection per layer>)``, the full
    column order of the scored table).
    """
    import dask
    import dask.dataframe as dd
    import dask_geopandas  # noqa: F401  (registers the GeoDataFrame backend of from_map / map_partitions)

    n = plan.n_partitions
    names = [name for name in LAYER_NAMES if name in plan.layers]
    site_meta, layer_meta, meta, columns = partition_meta(plan, settings, config, arctic, rasters)
    with dask.config.set({"dataframe.convert-string": False}):  # keep pandas' own dtypes: same as single
        sites = dd.from_map(
            read_sites_partition, [str(plan.sites_path)] * n, list(range(n)), meta=site_meta, label="asm-sites"
        )
        targets = [
            dd.from_map(
                _SLICE_READERS.get(name, read_layer_slice),
                [plan.layers[name].slice(i) for i in range(n)],
                meta=layer_meta[name],
                label=f"asm-{name}",
            )
            for name in names
        ]
        scored = sites.map_partitions(
            score_partition,
            *targets,
            layer_names=tuple(names),
            settings=settings,
            config=config,
            arctic=arctic,
            rasters=tuple(rasters),
            meta=meta,
            align_dataframes=False,  # partition i of every collection is the same Hilbert partition
        )
    return sites, scored, columns


def partition_meta(
    plan: Plan, settings, config: RiskConfig, arctic: PolarRegion, rasters: Sequence = ()
) -> tuple[gpd.GeoDataFrame, dict[str, pd.DataFrame], pd.DataFrame, list[str]]:
    """The empty frames of one run: (sites, each layer's targets, a scored partition, the scored table's columns).

    Computed by the partition function on no sites and one target of each layer (cheap, on the driver).
    """
    names = [name for name in LAYER_NAMES if name in plan.layers]
    site_meta = _read_geoparquet(str(plan.sites_path), [])
    layer_meta = {}
    one_target = {}
    for name in names:
        s = plan.layers[name].slice(0)
        first = LayerSlice(s.path, (int(s.rows[0] // TARGET_ROW_GROUP),), s.rows[:1])
        one_target[name] = _SLICE_READERS.get(name, read_layer_slice)(first)
        layer_meta[name] = one_target[name].iloc[:0]
    scored_meta = _score_frame(site_meta.drop(columns=[_POS]), one_target, settings, config, arctic, rasters)
    columns = list(scored_meta.columns)
    meta = pd.DataFrame(scored_meta.drop(columns=[c for c in site_meta.columns if c in scored_meta.columns]))
    meta.insert(0, _POS, pd.Series(dtype="int64"))
    return site_meta, layer_meta, meta, columns


def score_plan_in_process(
    plan: Plan,
    scenario: Scenario,
    settings,
    config: RiskConfig,
    say: Callable[[str], None] | None = None,
) -> gpd.GeoDataFrame:
    """The partitions of ``plan`` computed one after the other in this process (no cluster, no worker).

    Each partition reads its sites and its slice of every layer (``read_sites_partition``, the
    ``_SLICE_READERS``), runs :func:`score_partition` and lets them go: memory is about one
    partition's slice plus the plan's per-partition row lists, not the whole layer. Same functions,
    same partitions and same assembly as the Dask engine, so the same table.
    """
    say = say or (lambda _msg: None)
    names = [name for name in LAYER_NAMES if name in plan.layers]
    columns = partition_meta(plan, settings, config, scenario.arctic, scenario.rasters)[3]
    parts = []
    n = plan.n_partitions
    for i in range(n):
        say(f"scoring partition {i + 1} of {n}")
        sites = read_sites_partition(str(plan.sites_path), i)
        targets = [_SLICE_READERS.get(name, read_layer_slice)(plan.layers[name].slice(i)) for name in names]
        part = score_partition(
            sites, *targets, layer_names=tuple(names), settings=settings, config=config,
            arctic=scenario.arctic, rasters=tuple(scenario.rasters),
        )  # fmt: skip
        parts.append(part)
        del sites, targets
    return assemble(scenario.sites.data, parts, columns)


#: how a worker reads its targets of a layer: protected areas as WKB (the bulk of the work and of
#: the bytes), the few large polygons of the other layers as GeoDataFrames (GEOS tests "inside")
_SLICE_READERS: dict[str, Callable[[LayerSlice], pd.DataFrame]] = {"protected_areas": read_layer_slice_wkb}


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


def assemble(sites: gpd.GeoDataFrame, parts: list[pd.DataFrame], columns: list[str]) -> gpd.GeoDataFrame:
    """The scored frame in the input order: the driver's site columns plus the partitions' new columns."""
    if not parts:
        raise ValueError("no partition results to assemble")
    new = _concat_partitions(parts)
    pos = new.pop(_POS).to_numpy(dtype=np.int64)
    if len(pos) != len(sites) or not np.array_equal(np.sort(pos), np.arange(len(sites))):
        raise RuntimeError(f"partitions returned {len(pos)} rows for {len(sites)} sites")
    new = new.iloc[_inverse(pos)].set_axis(sites.index)
    site_part = sites[[c for c in columns if c in sites.columns]]
    out = pd.concat([site_part, new], axis=1)[columns]
    out = gpd.GeoDataFrame(out, geometry=sites.geometry.name, crs=sites.crs)
    out.attrs = {k: v for k, v in parts[0].attrs.items() if k != CPU_ATTR}
    return out


def _say(enabled: bool) -> Callable[[str], None]:
    def say(msg: str) -> None:
        if enabled:
            print(msg, file=sys.stderr, flush=True)

    return say


def compute_partitions(client: object, scored: object, progress: bool = False) -> list[pd.DataFrame]:
    """Every partition of ``scored`` computed on ``client``, in partition order."""
    import dask

    with dask.config.set({"dataframe.convert-string": False}):
        futures = client.compute(scored.to_delayed())
    if progress:
        from distributed import progress as dask_progress

        _progress_to_stderr(dask_progress, futures)
    return client.gather(futures)


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
    """``scoring.pipeline.run_scoring`` on a Dask cluster; same result, computed partition by partition.

    ``scheduler`` (tcp://host:port) connects to an existing cluster; otherwise a LocalCluster
    with ``n_workers`` processes is started and closed. ``client`` reuses a connected
    ``distributed.Client`` instead (tests). ``progress`` prints the dashboard link and a
    progress bar on stderr. The partition plan is cached under ``<cache_dir>/dask-plans``.
    """
    t0 = time.perf_counter()
    say = _say(progress)
    scenario = load_scenario(sources, settings, say)
    scored = score_scenario_dask(
        scenario, settings, config, scheduler=scheduler, n_workers=n_workers, progress=progress,
        partition_size=partition_size, memory_limit=memory_limit, client=client,
    )  # fmt: skip
    return scoring_result(scenario, scored, config, t0)


def score_scenario_dask(
    scenario: Scenario,
    settings,
    config: RiskConfig,
    *,
    scheduler: str | None = None,
    n_workers: int | None = None,
    progress: bool | Callable[[str], None] = True,
    partition_size: int | None = None,
    memory_limit: int | str | None = None,
    client: object | None = None,
) -> gpd.GeoDataFrame:
    """The facts and scores of a loaded scenario's sites on a Dask cluster (the sites in input order).

    ``run_scoring_dask`` loads the scenario and calls this; ``scoring.screen`` calls it with the sites
    an area of interest selected. ``progress`` is a flag (stderr) or a stage callback.
    """
    say = progress if callable(progress) else _say(progress)
    show_bar = bool(progress) and not callable(progress)
    if scenario.sites.n_loaded == 0:  # nothing to partition: the single engine's empty table
        return _empty_scored(scenario, settings, config)
    plan = plan_partitions(scenario, settings, int(partition_size or DEFAULT_PARTITION_SIZE), say=say)
    own_client = client is None
    cluster = None
    try:
        _, scored, columns = build_collection(plan, settings, config, scenario.arctic, scenario.rasters)
        if own_client:
            client, cluster = start_cluster(scheduler, n_workers, memory_limit)
        link = getattr(client, "dashboard_link", None)
        if link:
            say(f"Dask dashboard: {link}")
        say(f"scoring {plan.n_sites} sites in {plan.n_partitions} partitions")
        parts = compute_partitions(client, scored, show_bar)
    finally:
        if own_client and client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    return assemble(scenario.sites.data, parts, columns)


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
