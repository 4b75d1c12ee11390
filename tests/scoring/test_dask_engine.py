"""scoring.dask_engine on a real LocalCluster (2 worker processes): same table as the single engine."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import rasterio
from affine import Affine

from geo.crs import geodesic_circle
from layers.errors import LayerError
from scoring import dask_cluster, dask_engine
from scoring.dask_engine import (
    build_collection,
    plan_partitions,
    read_layer_slice,
    read_sites_partition,
    run_scoring_dask,
    score_partition,
    start_cluster,
)
from scoring.pipeline import LayerSources, load_config, load_scenario, run_scoring
from settings import Settings

N_SITES = 300


@pytest.fixture(scope="module")
def cluster_client():
    """One LocalCluster for the module: 2 processes, 1 thread each, 1 GiB each; always closed."""
    client, cluster = start_cluster(n_workers=2, memory_limit="1GiB")
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _write_inputs(folder: Path) -> LayerSources:
    rng = np.random.default_rng(20261130)
    lon = np.r_[
        rng.uniform(-10, 30, 150),  # around PA cluster A (and far from it)
        rng.uniform(175, 180, 30),  # east of ±180°
        rng.uniform(-180, -175, 30),  # west of ±180°
        rng.uniform(-60, -40, 60),  # no PA anywhere near: the nearest is in another partition
        rng.uniform(-180, 180, 30),  # high Arctic
    ]
    lat = np.r_[rng.uniform(-5, 10, 150), rng.uniform(-20, -15, 60), rng.uniform(-10, 5, 60), rng.uniform(70, 89.5, 30)]
    lon[0], lat[0] = 5.0, 2.0  # inside PA "big" and the nested PA: a tie at 0 km
    pd.DataFrame(
        {
            "site_id": [f"S{i:03d}" for i in range(N_SITES)],
            "name": [f"site {i}" for i in range(N_SITES)],
            "lon": lon,
            "lat": lat,
            "commodity": rng.choice(["gold", "tin", "diamond", "coltan"], N_SITES),
            "mercury_use": rng.choice(["yes", "no", "unknown"], N_SITES),
            "workers": np.where(rng.random(N_SITES) < 0.3, np.nan, rng.integers(5, 500, N_SITES)),
        }
    ).to_csv(folder / "sites.csv", index=False)

    geoms, names = [], []
    for i in range(30):  # cluster A, spread over several partitions
        geoms.append(geodesic_circle(rng.uniform(-10, 30), rng.uniform(-5, 10), rng.uniform(2, 60)))
        names.append(f"PA {i}")
    for i in range(12):  # around the antimeridian; circles crossing it are split into two parts
        geoms.append(geodesic_circle(rng.uniform(176, 184) - 360 * (i % 2), rng.uniform(-20, -10), rng.uniform(5, 40)))
        names.append(f"Fiji {i}")
    geoms += [geodesic_circle(179.99, -17.5, 30.0), geodesic_circle(0.0, 88.0, 100.0)]
    names += ["across", "polar"]
    geoms += [geodesic_circle(5.0, 2.0, 80.0), geodesic_circle(5.0, 2.0, 10.0)]
    names += ["big", "nested"]
    n_pa = len(geoms)
    gpd.GeoDataFrame(
        {
            "WDPAID": np.arange(1, n_pa + 1),
            "NAME": names,
            "DESIG_ENG": "National Park",
            "IUCN_CAT": rng.choice(["Ia", "II", "IV", "VI"], n_pa),
            "STATUS": "Designated",
        },
        geometry=geoms,
        crs="EPSG:4326",
    ).to_file(folder / "pa.gpkg")

    gpd.GeoDataFrame(
        {"name": ["forest A", "forest B"]},
        geometry=[geodesic_circle(15.0, 3.0, 150.0), geodesic_circle(-55.0, -3.0, 200.0)],
        crs="EPSG:4326",
    ).to_file(folder / "rainforest.geojson")
    gpd.GeoDataFrame(
        {"name": ["reef 1", "reef 2", "reef 3"]},
        geometry=gpd.points_from_xy([178.5, -179.0, 20.0], [-18.0, -16.0, -4.0]),
        crs="EPSG:4326",
    ).to_file(folder / "reefs.geojson")

    data = (np.arange(60 * 25, dtype="float32").reshape(25, 60) % 100).astype("float32")
    with rasterio.open(
        folder / "tree.tif",
        "w",
        driver="GTiff",
        width=60,
        height=25,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=Affine(1.0, 0.0, -20.0, 0.0, -1.0, 15.0),
        nodata=-1.0,
    ) as dst:
        dst.write(data, 1)
    return LayerSources(
        sites=folder / "sites.csv",
        protected_areas=folder / "pa.gpkg",
        rainforest=folder / "rainforest.geojson",
        reefs=folder / "reefs.geojson",
        rasters=(("tree_cover_pct", folder / "tree.tif"),),
    )


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> tuple[LayerSources, Settings]:
    folder = tmp_path_factory.mktemp("dask-inputs")
    settings = Settings(cache_dir=folder / "cache", buffer_distances_km=(1, 5, 10, 25))
    return _write_inputs(folder), settings


@pytest.fixture(scope="module")
def single(inputs):
    sources, settings = inputs
    return run_scoring(sources, settings, load_config(settings))


def _assert_same(single_scored: gpd.GeoDataFrame, dask_scored: gpd.GeoDataFrame) -> None:
    assert list(dask_scored.columns) == list(single_scored.columns)
    assert dask_scored.dtypes.to_dict() == single_scored.dtypes.to_dict()
    pd.testing.assert_frame_equal(dask_scored, single_scored, check_exact=False, rtol=0.0, atol=1e-9)
    dist_cols = [c for c in single_scored.columns if c.startswith("dist_") and c.endswith("_km")]
    diff = (dask_scored[dist_cols] - single_scored[dist_cols]).abs().to_numpy()
    assert np.nanmax(diff) <= 1e-9


def test_dask_equals_single_process_across_partitions(inputs, single, cluster_client):
    sources, settings = inputs
    result = run_scoring_dask(
        sources, settings, load_config(settings), client=cluster_client, partition_size=40, progress=False
    )
    _assert_same(single.scored, result.scored)
    assert result.scored["site_id"].tolist() == single.scored["site_id"].tolist()
    assert result.rejected.equals(single.rejected)
    assert result.sources == single.sources
    assert result.scored.attrs == single.scored.attrs  # the risk model's attrs; no benchmark timing left
    # the data really exercises the subtle cases
    s = single.scored
    assert s.loc[0, "nearest_protected_area"] == "big"  # tie at 0 km with "nested": lowest position wins
    assert s["dist_protected_area_km"].max() > 500  # sites whose nearest PA lies far, in other partitions
    assert {"across", "polar"} <= set(s["nearest_protected_area"].dropna())
    plans = [p for p in (Path(settings.cache_dir) / "dask-plans").iterdir() if not p.name.startswith(".")]
    assert plans and all((p / "plan.json").is_file() for p in plans)  # kept for the next run; no scratch left
    assert not list((Path(settings.cache_dir) / "dask-plans").glob(".tmp-*"))


def test_dask_through_a_scheduler_address(inputs, single, cluster_client, capsys):
    sources, settings = inputs
    address = cluster_client.scheduler.address
    result = run_scoring_dask(sources, settings, load_config(settings), scheduler=address, partition_size=120)
    _assert_same(single.scored, result.scored)
    err = capsys.readouterr().err
    assert "Dask dashboard:" in err and "3 partitions" in err and "100% Completed" in err
    assert "partitioning the sites" in err and "reusing" not in err
    # a second run (e.g. new weights) reuses the plan: the sites now come from the layer cache's GeoParquet
    again = run_scoring_dask(sources, settings, load_config(settings), scheduler=address, partition_size=120)
    _assert_same(single.scored, again.scored)
    err = capsys.readouterr().err
    assert "reusing the partition plan" in err and "partitioning the sites" not in err


def test_the_driver_never_reads_the_stored_protected_areas(inputs, single, cluster_client, monkeypatch):
    from layers.cache import StoredLayer

    def refuse(self):
        raise AssertionError("the Dask driver read the whole protected-area layer")

    monkeypatch.setattr(StoredLayer, "data", property(refuse, StoredLayer.data.fset))
    planned_from = {}
    real_inputs = dask_engine._plan_inputs

    def spy(scenario, scratch):
        paths, written = real_inputs(scenario, scratch)
        planned_from.update({name: name not in written for name in paths})
        return paths, written

    monkeypatch.setattr(dask_engine, "_plan_inputs", spy)
    sources, settings = inputs
    result = run_scoring_dask(
        sources, settings, load_config(settings), client=cluster_client, partition_size=100, progress=False
    )
    _assert_same(single.scored, result.scored)
    assert planned_from["protected_areas"] and planned_from["sites"]  # streamed from the layer cache's files
    assert not planned_from["rainforest"]  # an in-memory layer, written to a scratch GeoParquet first


def test_plan_sends_each_task_only_its_targets(inputs, tmp_path):
    sources, settings = inputs
    scenario = load_scenario(sources, settings)
    plan = plan_partitions(scenario, settings, 40, plans_dir=tmp_path / "plans")
    assert plan.n_partitions == -(-N_SITES // 40) and not plan.reused
    assert pq.ParquetFile(plan.sites_path).num_row_groups == plan.n_partitions  # one row group per partition
    n_pa = len(scenario.protected_areas.data)
    per_task = plan.targets_per_task["protected_areas"]
    assert max(per_task) < n_pa and min(per_task) >= 1
    sites = read_sites_partition(str(plan.sites_path), 1)
    names = list(plan.layers)
    layers = [read_layer_slice(plan.layers[name].slice(1)) for name in names]
    assert len(layers[names.index("protected_areas")]) == per_task[1]
    new = score_partition(
        sites,
        *layers,
        layer_names=names,
        settings=settings,
        config=load_config(settings),
        arctic=scenario.arctic,
        rasters=scenario.rasters,
    )
    assert (
        len(new) == plan.starts[2] - plan.starts[1]
        and "risk_0_100" in new.columns
        and "dist_protected_area_km" in new.columns
    )
    assert sorted(new["_asm_pos"]) == sorted(sites["_asm_pos"])


def test_plan_records_each_partitions_estimated_cost_and_cuts_them_about_equal(inputs, tmp_path):
    from geo.partition import site_costs, target_boxes

    sources, settings = inputs
    scenario = load_scenario(sources, settings)
    plan = plan_partitions(scenario, settings, 40, plans_dir=tmp_path / "plans")
    # independently: the estimate of every site in the plan's (Hilbert) order, summed per partition
    sites = gpd.read_parquet(plan.sites_path)
    boxes = target_boxes(scenario.protected_areas.data.geometry.to_numpy()).boxes
    radius = max([*settings.buffer_distances_km, settings.protected_area_km2_buffer_km])
    cost = site_costs(sites.geometry.bounds.to_numpy(), boxes, radius)
    per_part = np.add.reduceat(cost, np.asarray(plan.starts[:-1]))
    np.testing.assert_allclose(plan.estimated_cost, per_part, atol=0.051)  # stored to 0.1 pair
    # each run closes on the site that reaches its share: no partition exceeds a share by a site's cost
    assert max(plan.estimated_cost) <= cost.sum() / plan.n_partitions + cost.max() + 0.051
    again = plan_partitions(scenario, settings, 40, plans_dir=tmp_path / "plans")
    assert again.reused and again.estimated_cost == plan.estimated_cost


def test_the_work_is_a_dask_geopandas_collection(inputs, tmp_path):
    import dask.dataframe as dd
    import dask_geopandas

    sources, settings = inputs
    scenario = load_scenario(sources, settings)
    plan = plan_partitions(scenario, settings, 40, plans_dir=tmp_path / "plans")
    sites, scored, columns = build_collection(plan, settings, load_config(settings), scenario.arctic)
    assert isinstance(sites, dask_geopandas.GeoDataFrame)
    assert isinstance(scored, dd.DataFrame) and not isinstance(scored, dask_geopandas.GeoDataFrame)
    assert sites.npartitions == scored.npartitions == plan.n_partitions
    assert any("score_partition" in str(k) for k in dict(scored.__dask_graph__()))
    assert "_asm_pos" in scored.columns and "risk_0_100" in columns and "site_id" in columns
    part2 = sites.get_partition(2).compute(scheduler="sync")
    assert part2["_asm_pos"].tolist() == read_sites_partition(str(plan.sites_path), 2)["_asm_pos"].tolist()


def test_worker_memory_is_bounded(cluster_client):
    workers = cluster_client.scheduler_info()["workers"].values()
    assert [w["memory_limit"] for w in workers] == [2**30, 2**30]
    assert all(w["nthreads"] == 1 for w in workers)


def test_unreachable_scheduler_is_a_layer_error(inputs, monkeypatch):
    sources, settings = inputs
    monkeypatch.setattr(dask_cluster, "_CONNECT_TIMEOUT_S", 1.0)
    with pytest.raises(LayerError, match="cannot reach the Dask scheduler"):
        run_scoring_dask(sources, settings, load_config(settings), scheduler="tcp://127.0.0.1:9", progress=False)


def test_scheduler_and_workers_together_are_refused():
    with pytest.raises(ValueError, match="either a scheduler address or a number of local workers"):
        start_cluster("tcp://127.0.0.1:9", 2)


def test_bad_partition_size_is_refused(inputs, tmp_path):
    sources, settings = inputs
    scenario = load_scenario(sources, settings)
    with pytest.raises(ValueError, match="partition_size must be positive"):
        plan_partitions(scenario, settings, 0, plans_dir=tmp_path / "plans")


def test_a_worker_killed_mid_run_loses_and_duplicates_no_site(inputs, single):
    """SIGKILL one worker process of a real LocalCluster while it scores a partition: the nanny
    restarts it, the scheduler recomputes what it held, and the table is the single engine's."""
    import os
    import signal
    import threading
    import time

    sources, settings = inputs
    client, cluster = start_cluster(n_workers=2, memory_limit="1GiB")
    try:
        pids = client.run(os.getpid)
        out: dict = {}

        def run() -> None:
            try:
                out["result"] = run_scoring_dask(
                    sources, settings, load_config(settings), client=client, partition_size=15, progress=False
                )
            except BaseException as exc:  # surfaced by the assertion below
                out["error"] = exc

        thread = threading.Thread(target=run)
        thread.start()
        victim = None
        deadline = time.monotonic() + 300
        while victim is None and thread.is_alive() and time.monotonic() < deadline:
            for worker, keys in client.processing().items():
                if any("score_partition" in str(k) for k in keys) and worker in pids:
                    victim = worker
                    break
            else:
                time.sleep(0.02)
        assert victim is not None, "no partition was ever seen running (the run ended first)"
        os.kill(pids[victim], signal.SIGKILL)
        killed_mid_run = thread.is_alive()
        thread.join(timeout=600)
        assert "error" not in out, out.get("error")
        assert killed_mid_run
        scored = out["result"].scored
        assert len(scored) == N_SITES and scored["site_id"].is_unique
        _assert_same(single.scored, scored)
        # the killed process is gone; its nanny started a new one
        assert pids[victim] not in client.run(os.getpid).values()
    finally:
        client.close()
        cluster.close()


def test_workers_get_protected_areas_as_wkb_and_score_them_as_from_geometries(inputs, tmp_path):
    import shapely

    from scoring.dask_engine import read_layer_slice_wkb

    sources, settings = inputs
    scenario = load_scenario(sources, settings)
    plan = plan_partitions(scenario, settings, 40, plans_dir=tmp_path / "plans")
    names = list(plan.layers)
    k = names.index("protected_areas")
    for number in (0, 3):
        s = plan.layers["protected_areas"].slice(number)
        wkb = read_layer_slice_wkb(s)
        gdf = read_layer_slice(s)
        assert not isinstance(wkb, gpd.GeoDataFrame) and isinstance(wkb["geometry"].dtype, pd.ArrowDtype)
        assert list(wkb["pa_id"]) == list(gdf["pa_id"])  # same rows, same (input) order
        assert shapely.equals_exact(shapely.from_wkb(wkb["geometry"].to_numpy()), gdf.geometry.values, 0.0).all()
        sites = read_sites_partition(str(plan.sites_path), number)
        layers = [read_layer_slice(plan.layers[name].slice(number)) for name in names]
        kwargs = dict(layer_names=names, settings=settings, config=load_config(settings), arctic=scenario.arctic)
        from_geoms = score_partition(sites, *layers, **kwargs)
        layers[k] = wkb
        from_wkb = score_partition(sites, *layers, **kwargs)
        pd.testing.assert_frame_equal(from_wkb, from_geoms, check_exact=True)
    # the collection the cluster computes reads the protected areas with the WKB reader
    _, scored, _ = build_collection(plan, settings, load_config(settings), scenario.arctic)
    graph = dict(scored.__dask_graph__())
    assert any("read_layer_slice_wkb" in repr(v) for v in graph.values())
