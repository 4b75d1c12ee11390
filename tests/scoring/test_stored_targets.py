"""A cached protected-area layer keeps its decoded proximity arrays (and its WKB) beside its file, so a
later run neither reads the geometry column nor decodes it; the facts are the same, bit for bit,
whether the arrays were decoded or read.

geo.targets.targets_arrays / targets_from_arrays (pure), layers.cache.write_entry_arrays /
read_entry_arrays (files), scoring.pipeline.stored_pa_table (the two together)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, box

from geo import proximity
from geo.targets import prepare_targets_wkb, targets_arrays, targets_from_arrays
from layers.cache import read_entry_arrays, write_entry_arrays
from scoring import pipeline
from scoring.pipeline import stored_pa_table

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
from make_synthetic import make_protected_areas  # noqa: E402

KW = {"buffers_km": (1, 5, 10, 25), "area_buffer_km": 10.0, "category_reach_km": 200.0}


def _stored(frame: gpd.GeoDataFrame, folder: Path) -> tuple[pa.Table, Path]:
    """The layer written as a cache entry's GeoParquet, read back as the pipeline reads it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "data.parquet"
    frame.to_parquet(path)
    return pq.read_table(path), path


def _layer() -> gpd.GeoDataFrame:
    """800 WDPA-like polygons, a park split at the antimeridian as WDPA stores them, and a point PA."""
    pas = make_protected_areas(800)[["pa_id", "name", "designation", "iucn_cat", "geometry"]]
    fiji = MultiPolygon([box(178.5, -17.5, 180.0, -16.5), box(-180.0, -17.5, -179.0, -16.5)])
    extra = gpd.GeoDataFrame(
        {
            "pa_id": ["fiji", "pt"],
            "name": ["Split", "Point"],
            "designation": ["Park", "Site"],
            "iucn_cat": ["II", "Ia"],
        },
        geometry=[fiji, Point(10.0, 10.0)],
        crs="EPSG:4326",
    )
    return pd.concat([pas, extra], ignore_index=True)


def _sites() -> gpd.GeoSeries:
    rng = np.random.default_rng(3)
    lon = np.r_[rng.uniform(-180, 180, 300), 179.9, -179.5, 10.0]
    lat = np.r_[rng.uniform(-60, 70, 300), -17.0, -17.0, 10.02]
    return gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs="EPSG:4326")


def _same_targets(a, b) -> None:
    arrays_b = targets_arrays(b)
    for name, x in targets_arrays(a).items():
        if name == "wkb_data":  # the column's chunks (compared below as WKB)
            continue
        y = arrays_b[name]
        assert x.dtype == y.dtype and x.shape == y.shape, name
        np.testing.assert_array_equal(x, y, err_msg=name)
    assert a.wkb.to_pylist() == b.wkb.to_pylist()


def test_arrays_rebuild_the_same_targets_and_the_same_facts(tmp_path) -> None:
    table, _ = _stored(_layer(), tmp_path)
    decoded = proximity.prepare_pa_targets(table)
    assert decoded.tree_owner is not None  # the split park is indexed by its parts
    rebuilt = targets_from_arrays(targets_arrays(decoded))
    _same_targets(decoded, rebuilt)
    sites = _sites()
    fresh = proximity.compute_protected_area_proximity_arrow(sites, table, **KW)
    given = proximity.compute_protected_area_proximity_arrow(sites, table, targets=rebuilt, **KW)
    pd.testing.assert_frame_equal(fresh, given, check_exact=True)
    assert given.loc[300, "dist_protected_area_km"] == 0.0 and given.loc[301, "in_protected_area"]


def test_a_run_stores_the_arrays_and_the_next_reads_them_with_the_same_facts(tmp_path, monkeypatch) -> None:
    frame = _layer()
    frame.loc[5, "geometry"] = None  # a null geometry keeps its place
    _, path = _stored(frame, tmp_path / "entry")
    table1, first = stored_pa_table(path, min_vertices=0)
    folder = path.parent / f"proximity-targets-v{proximity.TARGETS_FORMAT}"
    assert (folder / "arrays.json").exists() and (folder / "vx.npy").exists() and (folder / "wkb_data.npy").exists()

    def no_decoding(_table):
        raise AssertionError("decoded although the arrays were stored")

    monkeypatch.setattr(proximity, "prepare_pa_targets", no_decoding)
    table2, second = stored_pa_table(path, min_vertices=0)
    _same_targets(first, second)
    assert second.wkb.null_count == 1 and second.wkb[5].as_py() is None
    assert isinstance(second.flat.flat.vx.base, np.memmap)  # mapped, not read
    assert second.flat.flat.vx.flags.writeable  # a plain writable array: the kernels' compiled type
    assert table2.column_names == table1.column_names and table2.schema.metadata == table1.schema.metadata
    assert table2.drop_columns("geometry").equals(table1.drop_columns("geometry"))
    sites = _sites()
    pd.testing.assert_frame_equal(
        proximity.compute_protected_area_proximity_arrow(sites, table1, targets=first, **KW),
        proximity.compute_protected_area_proximity_arrow(sites, table2, targets=second, **KW),
        check_exact=True,
    )


def test_a_small_layer_stores_nothing(tmp_path) -> None:
    _, path = _stored(_layer(), tmp_path)
    stored_pa_table(path)  # ~40k vertices: decoding is cheaper than the files
    assert not list(tmp_path.glob("proximity-targets-*"))


def test_damaged_foreign_or_stale_arrays_are_decoded_again(tmp_path, caplog) -> None:
    _, path = _stored(_layer(), tmp_path)
    _, reference = stored_pa_table(path, min_vertices=0)
    folder = path.parent / f"proximity-targets-v{proximity.TARGETS_FORMAT}"
    # a truncated file (a crash of the machine while the OS wrote it back)
    with open(folder / "vz.npy", "r+b") as f:
        f.truncate(1000)
    assert read_entry_arrays(path, "proximity-targets", proximity.TARGETS_FORMAT) is None
    assert "unreadable" in caplog.text and not folder.exists()  # removed, so the next run writes it again
    _, again = stored_pa_table(path, min_vertices=0)
    _same_targets(reference, again)
    # arrays of another layer (same version, copied over): they do not fit this layer's table
    _, other_path = _stored(_layer().iloc[:400], tmp_path / "other")
    stored_pa_table(other_path, min_vertices=0)
    shutil.rmtree(folder)
    shutil.copytree(other_path.parent / folder.name, folder)
    meta = json.loads((folder / "arrays.json").read_text())
    meta["data_bytes"] = path.stat().st_size
    (folder / "arrays.json").write_text(json.dumps(meta))
    caplog.clear()
    _, rebuilt = stored_pa_table(path, min_vertices=0)
    assert "hold 400 areas, the layer 802" in caplog.text
    _same_targets(reference, rebuilt)
    # a data file rewritten after the arrays were stored: they no longer belong to it
    shutil.rmtree(folder)
    stored_pa_table(path, min_vertices=0)
    meta = json.loads((folder / "arrays.json").read_text())
    meta["data_bytes"] += 1
    (folder / "arrays.json").write_text(json.dumps(meta))
    assert read_entry_arrays(path, "proximity-targets", proximity.TARGETS_FORMAT) is None
    # another version's folder is not read
    write_entry_arrays(path, "proximity-targets", proximity.TARGETS_FORMAT + 1, {"vx": np.zeros(3)})
    assert read_entry_arrays(path, "proximity-targets", proximity.TARGETS_FORMAT + 7) is None


def test_wrong_dtypes_or_lengths_are_refused(tmp_path) -> None:
    table, _ = _stored(_layer(), tmp_path)
    arrays = targets_arrays(prepare_targets_wkb(table.column("geometry")))
    arrays["wkb_data"] = np.concatenate(arrays["wkb_data"])
    for name, bad in (
        ("vx", arrays["vx"].astype(np.float32)),
        ("brk", arrays["brk"][:-1]),
        ("tgt_blk", arrays["tgt_blk"][:-1]),
        ("tree_owner", np.zeros(0, np.int64)),
        ("wkb_offsets", arrays["wkb_offsets"][:-1]),
        ("wkb_data", arrays["wkb_data"][:-1]),
    ):
        with pytest.raises(ValueError, match="stored targets"):
            targets_from_arrays({**arrays, name: bad})
    with pytest.raises(ValueError, match="lack the arrays"):
        targets_from_arrays({k: v for k, v in arrays.items() if k != "seam"})


def test_an_unwritable_folder_leaves_no_arrays_and_no_temporary_files(tmp_path) -> None:
    """A full disk (a file-size limit makes the write fail as ENOSPC/EFBIG would): False, nothing left behind."""
    path = tmp_path / "data.parquet"
    path.write_bytes(b"x" * 100)
    code = (
        "import resource, signal, sys, numpy as np;"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN);"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536));"
        "from layers.cache import write_entry_arrays;"
        f"ok = write_entry_arrays({str(path)!r}, 'proximity-targets', 1, {{'vx': np.zeros(100_000)}});"
        "sys.exit(0 if ok is False else 1)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "could not store arrays" in run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.parquet"]


def test_real_protected_areas_through_the_cli_pipeline_give_the_same_facts(shared_data, tmp_path, monkeypatch) -> None:
    """Amazon Mining Watch's protected areas and the Peru inventory, scored by the pipeline twice: the
    second run reads the stored arrays and writes the same facts."""
    from scoring.pipeline import LayerSources, compute_facts, load_scenario
    from settings import Settings

    data = shared_data / "amazon_mining_watch"
    peru = next(data.glob("BD_MineriaAurifera_Peru*.geojson"))
    monkeypatch.setattr(pipeline, "STORE_TARGETS_MIN_VERTICES", 0)
    settings = Settings(cache_dir=tmp_path / "cache")
    sources = LayerSources(sites=peru, protected_areas=data / "protected_areas_impacts.geojson")
    first = compute_facts(load_scenario(sources, settings), settings)
    assert list((tmp_path / "cache" / "layers").glob("protected_areas-*/proximity-targets-v*/arrays.json"))
    seen = []
    read_geometry = []
    real_read = pipeline.read_stored_table
    monkeypatch.setattr(pipeline, "read_stored_table", lambda *a, **k: read_geometry.append(k) or real_read(*a, **k))
    real = proximity.prepare_pa_targets
    monkeypatch.setattr(proximity, "prepare_pa_targets", lambda t: seen.append(1) or real(t))
    second = compute_facts(load_scenario(sources, settings), settings)
    assert seen == []  # read, not decoded
    assert read_geometry == [{"columns": list(proximity.PA_ATTRIBUTE_COLUMNS), "geometry": False}]
    pd.testing.assert_frame_equal(pd.DataFrame(first), pd.DataFrame(second), check_exact=True)
    assert first["dist_protected_area_km"].notna().sum() > 1000


def test_a_chunked_and_sliced_wkb_column_is_stored_whole_and_in_order(tmp_path) -> None:
    """Tables are read in record batches: the stored WKB is the chunks' bytes in order, sliced chunks included."""
    table, path = _stored(_layer(), tmp_path)
    col = table.column("geometry").combine_chunks()
    chunked = pa.chunked_array([col.slice(0, 100), col.slice(100, 0), col.slice(100, 450), col.slice(550)])
    decoded = prepare_targets_wkb(chunked)
    write_entry_arrays(path, "t", 1, targets_arrays(decoded))
    rebuilt = targets_from_arrays(read_entry_arrays(path, "t", 1))
    assert rebuilt.wkb.to_pylist() == col.to_pylist()
    _same_targets(decoded, rebuilt)


def test_the_screens_row_bounds_are_kept_beside_the_cached_file_too(tmp_path) -> None:
    """scoring.screen keeps its per-row bounds with the same mechanism (and they go with the entry)."""
    from scoring.screen import _stored_bounds

    frame = _layer()
    _, path = _stored(frame, tmp_path)
    first = _stored_bounds(path)
    np.testing.assert_array_equal(first, shapely.bounds(frame.geometry.to_numpy()))
    assert (tmp_path / "aoi-bounds-v1" / "bounds.npy").exists()
    again = _stored_bounds(path)
    assert isinstance(again.base, np.memmap)  # read back, not computed
    np.testing.assert_array_equal(first, again)


def test_a_folder_left_by_a_killed_writer_is_removed_after_a_day(tmp_path) -> None:
    _, path = _stored(_layer(), tmp_path)
    stored_pa_table(path, min_vertices=0)
    old, fresh = tmp_path / ".tmp-0123", tmp_path / ".tmp-4567"
    for folder in (old, fresh):
        folder.mkdir()
        (folder / "vx.npy").write_bytes(b"partial")
    day_ago = time.time() - 25 * 3600
    os.utime(old, (day_ago, day_ago))
    assert read_entry_arrays(path, "proximity-targets", proximity.TARGETS_FORMAT) is not None
    assert not old.exists() and fresh.exists()  # a live writer's folder (less than a day old) is left alone


def test_two_workers_storing_the_same_arrays_at_once_leave_one_whole_copy(tmp_path) -> None:
    """Dashboard workers share the cache: concurrent writers race to rename; each is told the arrays are
    stored, one whole folder remains, no temporary folder is left, and it reads back."""
    from concurrent.futures import ThreadPoolExecutor

    _, path = _stored(_layer(), tmp_path)
    arrays = targets_arrays(prepare_targets_wkb(pq.read_table(path).column("geometry")))
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: write_entry_arrays(path, "proximity-targets", 99, arrays), range(4)))
    assert results == [True] * 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.parquet", "proximity-targets-v99"]
    again = targets_from_arrays(read_entry_arrays(path, "proximity-targets", 99))
    assert again.wkb.to_pylist() == pq.read_table(path).column("geometry").to_pylist()
