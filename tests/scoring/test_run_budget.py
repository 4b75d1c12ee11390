"""scoring.run: over the memory budget, the sites are scored partition by partition in this process,
each partition's proximity seeing only its slice of the protected-area layer, with the one-pass table."""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from geo import proximity
from scoring import run as budget_run
from scoring.pipeline import LayerSources, load_config, load_scenario, run_scoring
from settings import Settings

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
from make_synthetic import make_protected_areas  # noqa: E402


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> LayerSources:
    """4,000 synthetic WDPA-like polygons over the world (a real GeoPackage) and 60 sites in three clusters."""
    folder = tmp_path_factory.mktemp("budget")
    pas = make_protected_areas(4_000)
    wdpa = pas.rename(columns={"pa_id": "WDPAID", "pa_pid": "WDPA_PID", "name": "NAME", "designation": "DESIG_ENG",
                               "iucn_cat": "IUCN_CAT"})  # fmt: skip
    wdpa["STATUS"] = "Designated"
    wdpa.to_file(folder / "wdpa.gpkg", layer="wdpa_poly", driver="GPKG")
    rng = np.random.default_rng(7)
    centres = [(-60.0, -5.0), (20.0, 0.0), (110.0, 5.0)]
    lon = np.concatenate([rng.normal(x, 1.0, 20) for x, _ in centres])
    lat = np.concatenate([rng.normal(y, 1.0, 20) for _, y in centres])
    pd.DataFrame(
        {"site_id": [f"s{i}" for i in range(60)], "commodity": "gold", "longitude": lon, "latitude": lat}
    ).to_csv(folder / "sites.csv", index=False)
    return LayerSources(sites=folder / "sites.csv", protected_areas=folder / "wdpa.gpkg")


class _RowsSeen:
    """Records how many protected areas each proximity call was given, and calls the real function."""

    def __init__(self, real):
        self.real = real
        self.rows: list[int] = []

    def __call__(self, sites, table, **kwargs):
        self.rows.append(table.num_rows)
        return self.real(sites, table, **kwargs)


def test_over_the_budget_no_proximity_call_sees_the_whole_layer(world, tmp_path, monkeypatch) -> None:
    spy = _RowsSeen(proximity.compute_protected_area_proximity_arrow)
    monkeypatch.setattr(proximity, "compute_protected_area_proximity_arrow", spy)
    settings = Settings(cache_dir=tmp_path / "cache", memory_budget_mb=1)
    config = load_config(settings)
    notes: list[str] = []
    result, choice = budget_run.run_scoring(world, settings, config, lambda _s: None, notes.append)
    assert choice.engine == "partitioned"
    n_layer = choice.estimate.layer_rows
    assert n_layer > 3_900  # (a few synthetic polygons may be rejected by the loader)
    # every partition's call saw a slice: a tenth of the layer at most (clusters 40-90 degrees apart)
    assert spy.rows and max(spy.rows) < n_layer / 10, spy.rows
    assert len(notes) == 1 and "scoring partition by partition" in notes[0] and "ASM_MEMORY_BUDGET_MB" in notes[0]

    # the same run within a large budget is the one-pass engine: one call with every area
    spy.rows.clear()
    roomy = Settings(cache_dir=tmp_path / "cache", memory_budget_mb=100_000)
    one_pass, choice = budget_run.run_scoring(world, roomy, config, lambda _s: None)
    assert choice.engine == "one-pass"
    assert spy.rows == [n_layer]
    pd.testing.assert_frame_equal(result.scored, one_pass.scored, check_exact=True)


def test_the_estimate_reads_the_stored_layer_footer(world, tmp_path) -> None:
    settings = Settings(cache_dir=tmp_path / "cache")
    scenario = load_scenario(world, settings)
    estimate = budget_run.estimate_one_pass(scenario)
    stored = scenario.protected_areas.stored_path
    table = pq.read_table(stored)
    wkb_lengths = pd.Series(table.column("geometry").to_pylist()).map(len).sum()
    assert estimate.layer_rows == table.num_rows == scenario.protected_areas.n_loaded
    # the footer's uncompressed size is the WKB plus a length prefix per value and the page headers
    assert wkb_lengths <= estimate.wkb_bytes <= 1.05 * wkb_lengths + 4 * table.num_rows + 10_000
    assert estimate.vertices == estimate.wkb_bytes // 16
    assert estimate.sites == 60
    assert estimate.total_bytes > estimate.layer_bytes > budget_run.BYTES_PER_WKB_BYTE * wkb_lengths
    assert budget_run.over_budget(scenario, Settings(cache_dir=tmp_path / "cache", memory_budget_mb=1)) == estimate
    assert budget_run.over_budget(scenario, Settings(cache_dir=tmp_path / "cache", memory_budget_mb=1e5)) is None


def test_a_layer_held_in_memory_has_no_estimate(world, tmp_path) -> None:
    """Nothing to bound: a layer already in memory (an upload, a cache failure) stays on the one-pass engine."""
    settings = Settings(cache_dir=tmp_path / "cache", memory_budget_mb=1)
    scenario = load_scenario(world, settings)
    _ = scenario.protected_areas.data  # read: now in memory
    assert budget_run.estimate_one_pass(scenario) is None
    _, choice = budget_run.score_scenario(scenario, settings, load_config(settings), lambda _s: None)
    assert choice.engine == "one-pass"


def test_real_data_scores_the_same_partition_by_partition(shared_data, tmp_path) -> None:
    """The Peru gold-mining inventory (1,024 sites) against the Amazon Mining Watch protected areas: the
    one-pass table and the partitioned one (budget 1 MB: partitions cut down to 500 sites) are equal, exactly."""
    data = shared_data / "amazon_mining_watch"
    sources = LayerSources(
        sites=data / "BD_MineriaAurifera_Peru-curated2026-04-06.geojson",
        protected_areas=data / "protected_areas_impacts.geojson",
    )
    settings = Settings(cache_dir=tmp_path / "cache")
    config = load_config(settings)
    one_pass = run_scoring(sources, settings, config)
    low = Settings(cache_dir=tmp_path / "cache", memory_budget_mb=1)
    bounded, choice = budget_run.run_scoring(sources, low, config, lambda _s: None)
    # one partition of 25,000 sites would take the process over 1 MB: the plan was cut down to 500 sites
    assert choice.engine == "partitioned" and choice.plan.partition_size == budget_run.MIN_PARTITION_SIZE
    assert choice.plan.n_partitions >= 2
    assert isinstance(bounded.scored, gpd.GeoDataFrame)
    pd.testing.assert_frame_equal(bounded.scored, one_pass.scored, check_exact=True)
    assert bounded.scored.attrs == one_pass.scored.attrs
