"""layers.cache: content-keyed on-disk cache of LoadResults (GeoParquet + JSON, no pickle)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from geopandas.testing import assert_geodataframe_equal
from shapely.geometry import Point, Polygon

from layers import cache as cache_mod
from layers.cache import CACHE_VERSION, cache_key, cached_layer, content_hash
from layers.errors import LayerError
from layers.schema import LoadResult

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "site_id": pd.Series(["a", "b", "c"], dtype="str"),
            "workers": [10.0, np.nan, 3000.0],
            "status_yr": pd.array([1990, None, 2020], dtype="Int64"),
            "in_pa": [True, False, True],
            "observed_date": pd.to_datetime(["2015-01-02", None, "2025-12-31"]).astype("datetime64[ns]"),
        },
        geometry=[Point(28.1, -3.0), Point(-69.9, -12.9), Polygon([(0, 0), (1, 0), (1, 1)])],
        crs="EPSG:4326",
    )


class CountingLoader:
    """A loader that reads the text file (so content matters) and counts its calls."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.calls = 0

    def __call__(self) -> LoadResult:
        self.calls += 1
        frame = _frame()
        frame["content"] = self.path.read_text() if self.path.is_file() else "dir"
        rejected = pd.DataFrame(
            {"row_number": [4, 5], "reason": ["latitude out of range", "no geometry"], "raw": [Point(1, 99), 7]}
        )
        return LoadResult(data=frame, rejected=rejected, warnings=["row 2: swapped lat/lon?"], source=self.path.name)


@pytest.fixture
def layer_file(tmp_path: Path) -> Path:
    p = tmp_path / "sites.csv"
    p.write_text("site_id,lat,lon\na,1,2\n")
    return p


def test_miss_then_hit_returns_equal_result(layer_file: Path, tmp_path: Path) -> None:
    load = CountingLoader(layer_file)
    first = cached_layer(layer_file, "sites", {"crs": None}, load, tmp_path / "cache")
    second = cached_layer(layer_file, "sites", {"crs": None}, load, tmp_path / "cache")
    assert load.calls == 1
    assert_geodataframe_equal(second.data, first.data, check_dtype=True, check_crs=True)
    assert second.warnings == ["row 2: swapped lat/lon?"]
    assert second.source == "sites.csv"
    assert list(second.rejected["reason"]) == ["latitude out of range", "no geometry"]
    assert list(second.rejected["raw"]) == ["POINT (1 99)", "7"]  # mixed objects are kept as text
    assert second.data.crs.to_epsg() == 4326
    # stored as Parquet + JSON, never pickle
    (entry,) = [p for p in (tmp_path / "cache" / "layers").iterdir() if p.name.startswith("sites-")]
    assert sorted(p.name for p in entry.iterdir()) == ["data.parquet", "meta.json", "rejected.parquet"]
    assert json.loads((entry / "meta.json").read_text())["cache_version"] == CACHE_VERSION


def test_hit_returns_a_fresh_copy(layer_file: Path, tmp_path: Path) -> None:
    load = CountingLoader(layer_file)
    cached_layer(layer_file, "sites", {}, load, tmp_path / "cache")
    hit = cached_layer(layer_file, "sites", {}, load, tmp_path / "cache")
    hit.data.loc[:, "workers"] = -1.0
    hit.warnings.append("mutated")
    again = cached_layer(layer_file, "sites", {}, load, tmp_path / "cache")
    assert again.data["workers"].iloc[0] == 10.0
    assert again.warnings == ["row 2: swapped lat/lon?"]
    assert load.calls == 1


@pytest.mark.parametrize(
    ("loader_name", "params"),
    [("sites", {"crs": "EPSG:32735"}), ("protected_areas", {"crs": None}), ("sites", {"crs": None, "extra": [1, 2]})],
)
def test_other_loader_or_params_miss(layer_file: Path, tmp_path: Path, loader_name: str, params: dict) -> None:
    load = CountingLoader(layer_file)
    cached_layer(layer_file, "sites", {"crs": None}, load, tmp_path / "cache")
    cached_layer(layer_file, loader_name, params, load, tmp_path / "cache")
    assert load.calls == 2


def test_params_order_and_tuple_vs_list_do_not_matter(layer_file: Path) -> None:
    a = cache_key(layer_file, "x", {"a": 1, "b": (1.0, 5.0)})
    b = cache_key(layer_file, "x", {"b": [1.0, 5.0], "a": 1})
    assert a == b


def test_changed_file_invalidates_even_with_same_size_and_mtime(layer_file: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    load = CountingLoader(layer_file)
    first = cached_layer(layer_file, "sites", {}, load, cache)
    st = layer_file.stat()
    layer_file.write_text("site_id,lat,lon\nb,1,2\n")  # same size
    os.utime(layer_file, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the old mtime
    second = cached_layer(layer_file, "sites", {}, load, cache)
    assert load.calls == 2
    assert first.data["content"].iloc[0] != second.data["content"].iloc[0]
    assert second.data["content"].iloc[0].startswith("site_id,lat,lon\nb")


def test_remembered_hash_is_used_only_for_old_unchanged_files(layer_file: Path, tmp_path: Path, monkeypatch) -> None:
    cache = tmp_path / "cache"
    old = layer_file.stat().st_mtime_ns - 10_000_000_000
    os.utime(layer_file, ns=(old, old))
    digest = content_hash(layer_file, cache)
    calls = []
    real = cache_mod._hash_files
    monkeypatch.setattr(cache_mod, "_hash_files", lambda p, f: calls.append(p) or real(p, f))
    # the file's ctime is "now" (utime changes ctime), so it is inside the racy window: hashed again
    assert content_hash(layer_file, cache) == digest
    assert len(calls) == 1
    # pretend it was hashed long after its last change: the remembered hash is trusted
    (index,) = (cache / "layers" / "hashes").iterdir()
    meta = json.loads(index.read_text())
    meta["hashed_at_ns"] += 10_000_000_000
    index.write_text(json.dumps(meta))
    assert content_hash(layer_file, cache) == digest
    assert len(calls) == 1
    # but a wrong remembered hash is never used once the file changes
    layer_file.write_text("changed")
    assert content_hash(layer_file, cache) != digest
    assert len(calls) == 2


def test_directory_layer_member_change_invalidates(tmp_path: Path) -> None:
    gdb = tmp_path / "wdpa.gdb"
    gdb.mkdir()
    (gdb / "a00000001.gdbtable").write_bytes(b"\x00" * 100)
    (gdb / "a00000002.gdbtable").write_bytes(b"\x01" * 100)
    h1 = content_hash(gdb)
    (gdb / "a00000002.gdbtable").write_bytes(b"\x02" * 100)
    h2 = content_hash(gdb)
    (gdb / "a00000002.gdbtable").rename(gdb / "a00000003.gdbtable")  # same bytes, another name
    h3 = content_hash(gdb)
    assert len({h1, h2, h3}) == 3
    load = CountingLoader(gdb)
    cached_layer(gdb, "pa", {}, load, tmp_path / "cache")
    cached_layer(gdb, "pa", {}, load, tmp_path / "cache")
    assert load.calls == 1


@pytest.mark.parametrize(
    "damage",
    [
        lambda e: (e / "data.parquet").write_bytes((e / "data.parquet").read_bytes()[:100]),
        lambda e: (e / "rejected.parquet").unlink(),
        lambda e: (e / "meta.json").write_text("{not json"),
        lambda e: (e / "meta.json").write_text(json.dumps({"cache_version": CACHE_VERSION, "key": "other"})),
        lambda e: (e / "data.parquet").write_bytes(b"\x80\x04 pickle-looking garbage"),
    ],
    ids=["truncated-data", "missing-rejected", "bad-json", "wrong-key", "garbage"],
)
def test_corrupt_entry_is_rebuilt_with_warning(layer_file: Path, tmp_path: Path, caplog, damage) -> None:
    cache = tmp_path / "cache"
    load = CountingLoader(layer_file)
    cached_layer(layer_file, "sites", {}, load, cache)
    (entry,) = [p for p in (cache / "layers").iterdir() if p.name.startswith("sites-")]
    damage(entry)
    with caplog.at_level(logging.WARNING, logger="layers.cache"):
        rebuilt = cached_layer(layer_file, "sites", {}, load, cache)
    assert load.calls == 2
    assert "unreadable" in caplog.text
    assert len(rebuilt.data) == 3
    hit = cached_layer(layer_file, "sites", {}, load, cache)  # the rebuilt entry is good
    assert load.calls == 2
    assert_geodataframe_equal(hit.data, rebuilt.data)


def test_unwritable_cache_still_returns_the_result(layer_file: Path, tmp_path: Path, caplog, monkeypatch) -> None:
    def boom(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(cache_mod, "write_frame", boom)
    load = CountingLoader(layer_file)
    with caplog.at_level(logging.WARNING, logger="layers.cache"):
        result = cached_layer(layer_file, "sites", {}, load, tmp_path / "cache")
    assert len(result.data) == 3
    assert "No space left" in caplog.text
    assert not [p for p in (tmp_path / "cache" / "layers").iterdir() if p.name.startswith(("sites-", ".tmp-"))]


def test_loader_error_propagates_and_nothing_is_cached(layer_file: Path, tmp_path: Path) -> None:
    def bad() -> LoadResult:
        raise LayerError(layer_file, "no latitude column", "name the column 'lat'")

    with pytest.raises(LayerError, match="no latitude column"):
        cached_layer(layer_file, "sites", {}, bad, tmp_path / "cache")
    load = CountingLoader(layer_file)
    cached_layer(layer_file, "sites", {}, load, tmp_path / "cache")
    assert load.calls == 1


def test_missing_file_is_a_layer_error(tmp_path: Path) -> None:
    with pytest.raises(LayerError, match="file not found"):
        cached_layer(tmp_path / "nope.gpkg", "sites", {}, CountingLoader(tmp_path / "nope.gpkg"), tmp_path / "c")


_WORKER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    import geopandas as gpd
    from shapely.geometry import Point
    from layers.cache import cached_layer
    from layers.schema import LoadResult

    path, cache, tag = Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
    n = 2000
    def load():
        frame = gpd.GeoDataFrame({"i": range(n)}, geometry=[Point(i % 180, i % 90) for i in range(n)], crs=4326)
        return LoadResult(data=frame, warnings=[tag], source="race")
    for k in range(15):
        r = cached_layer(path, "race", {"k": k}, load, cache)
        assert len(r.data) == n and list(r.data["i"][:3]) == [0, 1, 2], k
    print("ok")
    """
)


def test_concurrent_writers_do_not_corrupt(layer_file: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    script = tmp_path / "worker.py"
    script.write_text(_WORKER)
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(PROJECT_ROOT), str(layer_file), str(cache), tag],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("p1", "p2")
    ]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert out.strip() == "ok"
    entries = [p for p in (cache / "layers").iterdir() if p.name.startswith("race-")]
    assert len(entries) == 15
    assert not list((cache / "layers").glob(".tmp-*"))
    for k in range(15):
        r = cached_layer(layer_file, "race", {"k": k}, lambda: pytest.fail("should hit"), cache)
        assert len(r.data) == 2000
        assert r.warnings in (["p1"], ["p2"])


# --- lazy entries (StoredLayer) ------------------------------------------------------


def test_lazy_hit_reads_rows_only_on_access(layer_file: Path, tmp_path: Path, monkeypatch) -> None:
    cache = tmp_path / "cache"
    load = CountingLoader(layer_file)
    eager = cached_layer(layer_file, "sites", {}, load, cache)
    reads: list[Path] = []
    real_read = cache_mod._read_frame
    monkeypatch.setattr(cache_mod, "_read_frame", lambda p, info: reads.append(Path(p).name) or real_read(p, info))
    lazy = cached_layer(layer_file, "sites", {}, load, cache, lazy=True)
    assert isinstance(lazy, cache_mod.StoredLayer)
    assert reads == ["rejected.parquet"]  # the rows are not read yet
    assert not lazy.is_loaded and lazy.n_loaded == 3 and lazy.n_rejected == 2
    assert lazy.stored_path is not None and lazy.stored_path.name == "data.parquet"
    assert lazy.warnings == ["row 2: swapped lat/lon?"] and lazy.source == "sites.csv"
    assert_geodataframe_equal(lazy.data, eager.data, check_dtype=True, check_crs=True)
    assert reads == ["rejected.parquet", "data.parquet"] and lazy.is_loaded
    lazy.data  # noqa: B018  # read once only
    assert reads.count("data.parquet") == 1
    assert load.calls == 1


def test_lazy_miss_writes_the_entry_and_releases_the_loaded_rows(layer_file: Path, tmp_path: Path) -> None:
    load = CountingLoader(layer_file)
    lazy = cached_layer(layer_file, "sites", {}, load, tmp_path / "cache", lazy=True)
    assert load.calls == 1
    assert isinstance(lazy, cache_mod.StoredLayer) and not lazy.is_loaded
    assert lazy.stored_path is not None and lazy.stored_path.exists()
    assert list(lazy.data["site_id"]) == ["a", "b", "c"]


def test_lazy_open_of_truncated_entry_rebuilds(layer_file: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    load = CountingLoader(layer_file)
    cached_layer(layer_file, "sites", {}, load, cache)
    (entry,) = [p for p in (cache / "layers").iterdir() if p.name.startswith("sites-")]
    data = entry / "data.parquet"
    data.write_bytes(data.read_bytes()[:-40])  # footer gone
    lazy = cached_layer(layer_file, "sites", {}, load, cache, lazy=True)
    assert load.calls == 2
    assert list(lazy.data["site_id"]) == ["a", "b", "c"]


def test_lazy_rows_damaged_after_open_are_loaded_again(layer_file: Path, tmp_path: Path, caplog) -> None:
    cache = tmp_path / "cache"
    load = CountingLoader(layer_file)
    cached_layer(layer_file, "sites", {}, load, cache)
    lazy = cached_layer(layer_file, "sites", {}, load, cache, lazy=True)
    assert lazy.stored_path is not None
    lazy.stored_path.write_bytes(b"PAR1 this is not parquet PAR1")
    with caplog.at_level(logging.WARNING, logger="layers.cache"):
        frame = lazy.data
    assert list(frame["site_id"]) == ["a", "b", "c"]
    assert load.calls == 2  # loaded again from the source, and cached again
    assert "unreadable" in caplog.text
    assert lazy.stored_path is None  # the damaged file no longer stands for the rows
    again = cached_layer(layer_file, "sites", {}, load, cache, lazy=True)
    assert load.calls == 2 and list(again.data["site_id"]) == ["a", "b", "c"]
