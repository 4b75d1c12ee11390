"""The CLI's engine choice within a memory budget: one pass, or partition by partition in this process.

The one-pass engine (``scoring.pipeline.compute_facts``) reads every protected-area geometry from the
layer cache and decodes it into the proximity kernels' arrays: its memory grows with the layer (about
2.1 GB for a 727 MB WDPA-like GeoPackage, whatever the number of sites). When the estimate of that
need exceeds ``settings.memory_budget_mb`` (``ASM_MEMORY_BUDGET_MB``), the scenario is scored with the
Dask engine's partition plan (``scoring.dask_engine.plan_partitions``: streamed, cached, each partition's
targets selected conservatively by ``geo.partition``) and its partitions are computed one after the
other in this process (``score_plan_in_process``): no cluster, no worker process, the same table.

This module sits above ``scoring.pipeline`` and ``scoring.dask_engine`` (which imports the pipeline), so
neither has to import the other's caller.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyarrow.parquet as pq

from geo.risk import RiskConfig
from layers.cache import geoparquet_geometry_column
from scoring.dask_engine import DEFAULT_PARTITION_SIZE, Plan, plan_partitions, score_plan_in_process
from scoring.pipeline import LayerSources, Scenario, ScoringResult, compute_facts, load_scenario, score_facts
from scoring.pipeline import scoring_result as _scoring_result

Notice = Callable[[str], None]

# The one-pass proximity step's peak above the rest of the process, per byte of the layer's WKB: the Arrow
# table of the WKB itself, the kernels' unit vectors (24 bytes per 16-byte lon/lat vertex), the per-ring
# offsets and boxes, the STRtree. Fitted to measured peaks (ru_maxrss of ``python app.py score`` with 3
# sites, warm layer cache, minus the same run without a protected-area layer, 0.36 GB): 1.84 GB for
# 507 MB of WKB (250,000 WDPA-like polygons) and 3.65 GB for 1,014 MB (500,000): 3.63 and 3.60 per byte.
# (A per-row term cannot be told apart on these files, whose rows all hold ~2 kB; see docs/performance.md.)
BYTES_PER_WKB_BYTE = 3.6
# The rest of a scoring process (interpreter, imports, numba kernels, a few sites): measured 0.36 GB.
BASE_PROCESS_BYTES = 360e6
# Each site's share (its facts and scores, about 80 columns, and the kernels' per-site arrays): about what
# 100,000 sites add in one pass (2.63 GB measured against 300,000 polygons, 2.54 GB estimated without them).
# The sites are held whole by either path (the output is one table), so this share is reported, not
# partitioned: the choice compares the layer's share and the process with the budget.
BYTES_PER_SITE = 4_000.0
MIN_PARTITION_SIZE = 500  # sites: smaller partitions only multiply the per-partition overhead


@dataclass(frozen=True)
class MemoryEstimate:
    """What the one-pass engine would need for a scenario, from the stored layer's footer and the sites."""

    layer_rows: int
    wkb_bytes: int  # uncompressed WKB of the layer's geometry column (Parquet footer)
    vertices: int  # estimated: WKB bytes / 16 (two float64 per lon/lat vertex)
    sites: int
    layer_bytes: int  # the protected-area layer's share of the estimate
    bounded_bytes: int  # the process with the layer: what partitioning bounds, compared with the budget
    total_bytes: int  # the whole process's peak: the layer, the sites and the process itself

    def describe(self, budget_mb: float) -> str:
        return (
            f"the protected-area layer ({self.layer_rows:,} areas, about {self.vertices / 1e6:,.1f} M vertices) "
            f"needs about {_gb(self.bounded_bytes)} in one pass, over the memory budget of {_gb(budget_mb * 1e6)} "
            "(ASM_MEMORY_BUDGET_MB): scoring partition by partition"
        )


def _gb(n_bytes: float) -> str:
    return f"{n_bytes / 1e9:,.1f} GB" if n_bytes >= 1e8 else f"{n_bytes / 1e6:,.0f} MB"


def layer_footprint(path: Path) -> tuple[int, int]:
    """(rows, uncompressed WKB bytes of the geometry column) of a stored GeoParquet, from its footer only."""
    meta = pq.ParquetFile(path).metadata
    schema = meta.schema.to_arrow_schema()
    j = schema.get_field_index(geoparquet_geometry_column(schema, path))
    wkb = sum(meta.row_group(i).column(j).total_uncompressed_size for i in range(meta.num_row_groups))
    return meta.num_rows, int(wkb)


def layer_bytes(wkb_bytes: int) -> float:
    """The one-pass proximity step's memory for a layer holding ``wkb_bytes`` of WKB."""
    return BYTES_PER_WKB_BYTE * wkb_bytes


def estimate_one_pass(scenario: Scenario) -> MemoryEstimate | None:
    """The estimate for ``scenario``, or None when its protected areas are not a stored layer (held in memory,
    or absent): partitioning cannot bound a layer that is already in memory."""
    pa_layer = scenario.protected_areas
    stored = getattr(pa_layer, "stored_path", None) if pa_layer is not None else None
    if pa_layer is None or not pa_layer.n_loaded or stored is None or pa_layer.is_loaded:
        return None
    rows, wkb = layer_footprint(Path(stored))
    n_sites = int(scenario.sites.n_loaded)
    layer = layer_bytes(wkb)
    bounded = BASE_PROCESS_BYTES + layer
    return MemoryEstimate(
        rows, wkb, wkb // 16, n_sites, int(layer), int(bounded), int(bounded + BYTES_PER_SITE * n_sites)
    )


def over_budget(scenario: Scenario, settings) -> MemoryEstimate | None:
    """The estimate when it exceeds ``settings.memory_budget_mb`` (the partitioned path is then taken), else None."""
    estimate = estimate_one_pass(scenario)
    if estimate is None or estimate.bounded_bytes <= float(settings.memory_budget_mb) * 1e6:
        return None
    return estimate


def largest_slice_bytes(plan: Plan, estimate: MemoryEstimate) -> float:
    """The process with the plan's largest protected-area slice (its rows x the layer's mean row size)."""
    lp = plan.layers.get("protected_areas")
    if lp is None or not lp.targets or not estimate.layer_rows:
        return 0.0
    rows = max(len(t) for t in lp.targets)
    return BASE_PROCESS_BYTES + layer_bytes(int(estimate.wkb_bytes * rows / estimate.layer_rows))


def plan_within_budget(
    scenario: Scenario, settings, estimate: MemoryEstimate, say: Notice, partition_size: int | None = None
) -> Plan:
    """The partition plan, with fewer sites per partition once when its largest slice would exceed the budget.

    The first plan uses ``partition_size`` (default: the Dask engine's). A partition whose targets would take
    the process over the budget is cut finer, in proportion (never below ``MIN_PARTITION_SIZE`` sites); the
    second plan is kept whatever it gives (planning rewrites the layer, so it is not repeated). Both plans are
    cached, so a later run on the same inputs reuses them.
    """
    budget = float(settings.memory_budget_mb) * 1e6
    size = int(partition_size or DEFAULT_PARTITION_SIZE)
    plan = plan_partitions(scenario, settings, size, say=say)
    worst = largest_slice_bytes(plan, estimate)
    largest_part = max(np.diff(plan.starts)) if plan.starts else plan.partition_size
    if worst > budget and largest_part > MIN_PARTITION_SIZE:
        finer = max(MIN_PARTITION_SIZE, int(largest_part * budget / worst * 0.8))
        say(
            f"the largest partition's protected areas need about {_gb(worst)}: partitions of {finer:,} sites "
            f"instead of {size:,}"
        )
        plan = plan_partitions(scenario, settings, finer, say=say)
    return plan


@dataclass(frozen=True)
class EngineChoice:
    """How a scenario was scored: ``one-pass`` or ``partitioned`` (with the estimate and the plan used)."""

    engine: str
    estimate: MemoryEstimate | None = None
    plan: Plan | None = None


def score_scenario(
    scenario: Scenario, settings, config: RiskConfig, progress: Notice, notice: Notice | None = None
) -> tuple[gpd.GeoDataFrame, EngineChoice]:
    """The scored sites of a loaded scenario, in one pass or partition by partition (see the module docstring).

    ``notice`` receives the one-line reason when the partitioned path is taken (the CLI prints it on stderr).
    """
    estimate = over_budget(scenario, settings) if scenario.sites.n_loaded else None
    if estimate is None:
        facts = compute_facts(scenario, settings, progress)
        progress("scoring")
        return score_facts(facts, config), EngineChoice("one-pass", estimate_one_pass(scenario))
    if notice is not None:
        notice(estimate.describe(float(settings.memory_budget_mb)))
    return score_partitioned(scenario, settings, config, estimate, progress)


def score_partitioned(
    scenario: Scenario, settings, config: RiskConfig, estimate: MemoryEstimate, progress: Notice
) -> tuple[gpd.GeoDataFrame, EngineChoice]:
    """The scored sites of ``scenario`` partition by partition in this process (the plan sized by the budget)."""
    plan = plan_within_budget(scenario, settings, estimate, progress)
    return score_plan_in_process(plan, scenario, settings, config, progress), EngineChoice(
        "partitioned", estimate, plan
    )


def run_scoring(
    sources: LayerSources, settings, config: RiskConfig, progress: Notice, notice: Notice | None = None
) -> tuple[ScoringResult, EngineChoice]:
    """``scoring.pipeline.run_scoring`` within ``settings.memory_budget_mb``: load, facts and scores, result."""
    t0 = time.perf_counter()
    scenario = load_scenario(sources, settings, progress)
    scored, choice = score_scenario(scenario, settings, config, progress, notice)
    return _scoring_result(scenario, scored, config, t0), choice


__all__ = [
    "EngineChoice",
    "MemoryEstimate",
    "estimate_one_pass",
    "layer_footprint",
    "over_budget",
    "plan_within_budget",
    "run_scoring",
    "score_partitioned",
    "score_scenario",
]
