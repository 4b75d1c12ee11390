"""scoring.dask_engine's planner: streamed from the stored GeoParquet, cached by content, never stale."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import shapely

from geo.crs import geodesic_circle
from geo.partition import hilbert_keys
from layers.cache import write_frame as cache_write_frame
from layers.errors import LayerError
from scoring import dask_engine, dask_io
from scoring.dask_engine import plan_partitions, read_layer_slice
from scoring.pipeline import LayerSources, Scenario, load_scenario
from settings import Settings

N_SITES = 150


def _write_pas(path: Path, shift_deg: float = 0.0) -> None:
    rng = np.random.default_rng(7)
    geoms = [
        geodesic_circle(rng.uniform(-20, 20) + shift_deg, rng.uniform(-10, 10), rng.uniform(5, 80)) for _ in range(25)
    ]
    geoms.append(geodesic_circle(179.9, 0.0, 40.0))  # split at ±180°: boxed by its parts
    gpd.GeoDataFrame(
        {
            "WDPAID": np.arange(1, len(geoms) + 1),
            "NAME": [f"PA {i}" for i in range(len(geoms))],
            "STATUS": "Designated",
        },
        geometry=geoms,
        crs="EPSG:4326",
    ).to_file(path)


@pytest.fixture()
def inputs(tmp_path) -> tuple[LayerSources, Settings]:
    rng = np.random.default_rng(3)
    lon = np.r_[rng.uniform(-25, 25, N_SITES - 10), rng.uniform(175, 180, 10)]
    lat = rng.uniform(-12, 12, N_SITES)
    pd.DataFrame({"site_id": [f"S{i}" for i in range(N_SITES)], "lon": lon, "lat": lat, "commodity": "gold"}).to_csv(
        tmp_path / "sites.csv", index=False
    )
    _write_pas(tmp_path / "pa.gpkg")
    gpd.GeoDataFrame({"name": ["forest"]}, geometry=[geodesic_circle(10.0, 0.0, 300.0)], crs="EPSG:4326").to_file(
        tmp_path / "rainforest.geojson"
    )
    sources = LayerSources(
        sites=tmp_path / "sites.csv", protected_areas=tmp_path / "pa.gpkg", rainforest=tmp_path / "rainforest.geojson"
    )
    return sources, Settings(cache_dir=tmp_path / "cache", buffer_distances_km=(1, 5, 10, 25))


def _targets(plan) -> dict[str, list[list[int]]]:
    """Each partition's targets as input positions (stable across file layouts)."""
    out = {}
    for name, layer in plan.layers.items():
        pos = pq.read_table(layer.path, columns=["_asm_pos"]).column(0).to_numpy()
        out[name] = [sorted(pos[t].tolist()) for t in layer.targets]
    return out


# ----------------------------------------------------------------------------- plan cache
def test_second_run_reuses_the_plan_without_planning(inputs, monkeypatch):
    sources, settings = inputs
    first = plan_partitions(load_scenario(sources, settings), settings, 40)  # layer-cache miss: sites in memory
    assert not first.reused and first.n_partitions == 4
    second_scenario = load_scenario(sources, settings)  # layer-cache hit: sites from their stored GeoParquet
    assert second_scenario.sites.stored_path is not None

    def no_planning(*_args, **_kwargs):
        raise AssertionError("the plan should have come from the cache")

    monkeypatch.setattr(dask_engine, "_build_plan", no_planning)
    second = plan_partitions(second_scenario, settings, 40)
    assert second.reused and second.directory == first.directory
    assert _targets(second) == _targets(first)


@pytest.mark.parametrize("change", ["partition_size", "buffers", "protected_areas", "rainforest"])
def test_changed_inputs_or_parameters_plan_anew(inputs, change):
    sources, settings = inputs
    first = plan_partitions(load_scenario(sources, settings), settings, 40)
    size = 40
    if change == "partition_size":
        size = 30
    elif change == "buffers":
        settings = Settings(cache_dir=settings.cache_dir, buffer_distances_km=(1, 5, 10, 25, 400))
    elif change == "protected_areas":
        _write_pas(Path(sources.protected_areas), shift_deg=3.0)
    else:
        gpd.GeoDataFrame({"name": ["forest"]}, geometry=[geodesic_circle(-10.0, 0.0, 300.0)], crs="EPSG:4326").to_file(
            sources.rainforest
        )
    again = plan_partitions(load_scenario(sources, settings), settings, size)
    assert not again.reused and again.directory != first.directory
    assert first.directory.is_dir()  # the older plan is left for runs that may still read it
    if change == "buffers":  # a 400 km buffer reaches more PAs from some partition
        assert sum(again.targets_per_task["protected_areas"]) > sum(first.targets_per_task["protected_areas"])


def test_a_damaged_plan_is_rebuilt(inputs):
    sources, settings = inputs
    first = plan_partitions(load_scenario(sources, settings), settings, 40)
    (first.directory / "protected_areas.rows.npy").write_bytes(b"not numpy")
    again = plan_partitions(load_scenario(sources, settings), settings, 40)
    assert not again.reused and again.directory == first.directory
    assert _targets(again) == _targets(first)


# ----------------------------------------------------------------------------- streaming
class _OnDisk:
    """A stored layer whose rows must not be materialised by the planner."""

    def __init__(self, path: Path, n: int) -> None:
        self.stored_path = path
        self.n_loaded = n

    @property
    def data(self):
        raise AssertionError("the planner read the whole layer into memory")


class _Recorder:
    """Wraps ``dask_io._open``: records every batch read from the inputs and forbids whole reads."""

    def __init__(self, inputs: set[Path], real) -> None:
        self.inputs = inputs
        self.real = real
        self.batches: list[int] = []

    def __call__(self, path):
        pf = self.real(path)
        if Path(path) not in self.inputs:
            return pf
        rec = self

        class Guarded:
            metadata = pf.metadata
            schema_arrow = pf.schema_arrow

            def iter_batches(self, batch_size, **kw):
                for b in pf.iter_batches(batch_size=batch_size, **kw):
                    rec.batches.append(len(b))
                    yield b

            def __getattr__(self, name):
                raise AssertionError(f"the planner called ParquetFile.{name} on an input")

        return Guarded()


def test_planning_streams_the_stored_geoparquet_in_small_batches(inputs, tmp_path, monkeypatch):
    sources, settings = inputs
    scenario = load_scenario(sources, settings)
    sites = scenario.sites.data
    pas = scenario.protected_areas.data
    sites_path, pa_path = tmp_path / "sites_stored.parquet", tmp_path / "pa_stored.parquet"
    cache_write_frame(sites, sites_path)
    cache_write_frame(pas, pa_path)
    assert pq.ParquetFile(pa_path).metadata.num_row_groups == 1  # one big row group, as the cache writes it
    reference = plan_partitions(scenario, settings, 40, plans_dir=tmp_path / "plans-memory")

    monkeypatch.setattr(dask_io, "_BATCH_ROWS", (7, 7))  # a row budget far below the layer
    monkeypatch.setattr(dask_engine, "TARGET_ROW_GROUP", 5)  # many layer row groups and spill buckets
    recorder = _Recorder({sites_path, pa_path}, dask_io._open)
    monkeypatch.setattr(dask_io, "_open", recorder)
    on_disk = Scenario(
        sites=_OnDisk(sites_path, len(sites)),
        protected_areas=_OnDisk(pa_path, len(pas)),
        rainforest=scenario.rainforest,
        reefs=None,
        water=None,
        arctic=scenario.arctic,
        rasters=[],
        countries=scenario.countries,
        is_demo=False,
    )
    plan = plan_partitions(on_disk, settings, 40, plans_dir=tmp_path / "plans-stored")

    assert recorder.batches and max(recorder.batches) <= 7
    assert sum(recorder.batches) == 2 * (len(sites) + len(pas))  # two passes over each input, nothing else
    assert _targets(plan) == _targets(reference)
    # the written files: Hilbert order, one row group per partition (sites) / per 5 targets (PAs)
    sorted_sites = pq.read_table(plan.sites_path)
    assert pq.ParquetFile(plan.sites_path).num_row_groups == plan.n_partitions == 4
    keys = hilbert_keys(sorted_sites.column("lon").to_numpy(), sorted_sites.column("lat").to_numpy())
    assert (np.diff(keys) >= 0).all()
    assert sorted(sorted_sites.column("_asm_pos").to_pylist()) == list(range(len(sites)))
    pa_file = pq.ParquetFile(plan.layers["protected_areas"].path)
    assert pa_file.num_row_groups == -(-len(pas) // 5)
    # a partition's slice reads only its row groups and gives its PAs in input order, geometry intact
    s = plan.layers["protected_areas"].slice(2)
    got = read_layer_slice(s)
    positions = pa_file.read(columns=["_asm_pos"]).column(0).to_numpy()[s.rows]
    want = pas.iloc[np.sort(positions)].reset_index(drop=True)
    assert got["pa_id"].tolist() == want["pa_id"].tolist()
    assert shapely.equals_exact(got.geometry.values, want.geometry.values, tolerance=0).all()


def test_a_stored_file_without_geoparquet_metadata_is_a_layer_error(inputs, tmp_path):
    sources, settings = inputs
    scenario = load_scenario(sources, settings)
    plain = tmp_path / "plain.parquet"
    pd.DataFrame({"lon": [1.0], "lat": [2.0], "geometry": [b"x"]}).to_parquet(plain)
    scenario.sites = _OnDisk(plain, 1)
    with pytest.raises(LayerError, match="not a GeoParquet file"):
        plan_partitions(scenario, settings, 40, plans_dir=tmp_path / "plans")
