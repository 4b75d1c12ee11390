"""The protected areas streamed into the layer cache a batch at a time equal the whole-layer load.

Each case loads a real file twice: ``load_protected_areas`` (the whole layer in memory) through the
cache, and ``stream_protected_areas`` (tiny batches, so every cross-row rule meets batch boundaries)
through the cache's ``stream=``; the entries read back must be equal, exactly.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from pandas.testing import assert_frame_equal
from shapely.geometry import Point, Polygon, box

from layers import protected_areas
from layers.cache import cached_layer
from layers.errors import LayerError
from layers.schema import CRS_WGS84
from tests.layers.test_protected_areas import _layers, _write_gpkg, _write_nested_zip
from tests.loaders import ZIP_LIMITS, load_protected_areas

ROOT = Path(__file__).resolve().parents[2]


def _both(path: Path, tmp: Path, batch_rows: int = 2, in_memory: bool = True, **kw):
    """(whole-layer entry, streamed entry), both read back from the cache."""
    params = {"include_proposed": kw.get("include_proposed", False)}
    whole = cached_layer(path, "pa", params, lambda: load_protected_areas(path, **kw), tmp / "whole", lazy=True)

    def stream(out: Path):
        return protected_areas.stream_protected_areas(path, out, zip_limits=ZIP_LIMITS, batch_rows=batch_rows, **kw)

    streamed = cached_layer(path, "pa", params, None, tmp / "streamed", lazy=True, stream=stream)
    assert type(streamed).__name__ == "StoredLayer"
    assert_frame_equal(streamed.data, whole.data, check_exact=True)
    assert_frame_equal(streamed.rejected, whole.rejected, check_exact=True)
    assert streamed.warnings == whole.warnings
    assert streamed.source == whole.source
    if in_memory:  # and the in-memory load itself (no parquet round trip on that side)
        fresh = load_protected_areas(path, **kw)
        assert_frame_equal(streamed.data, fresh.data, check_exact=True)
        assert_frame_equal(streamed.rejected, fresh.rejected, check_exact=True)
    return whole, streamed


def test_real_amazon_mining_watch_streamed(shared_data, tmp_path):
    path = shared_data / "amazon_mining_watch" / "protected_areas_impacts.geojson"
    # the nested 'locations' lists come back from Parquet as arrays on both cached sides
    _, streamed = _both(path, tmp_path, batch_rows=7, in_memory=False)
    assert streamed.n_loaded == 144


@pytest.mark.parametrize("post2025", [False, True])
@pytest.mark.parametrize("include_proposed", [False, True])
def test_wdpa_geopackage_points_and_polygons_with_different_columns(tmp_path, post2025, include_proposed):
    path = _write_gpkg(tmp_path, post2025)
    _, streamed = _both(path, tmp_path, include_proposed=include_proposed)
    stored = pq.ParquetFile(streamed.stored_path)
    assert stored.metadata.num_row_groups > 2  # written a batch at a time
    assert "GIS_AREA" in stored.schema_arrow.names  # polygons only: the union of the columns
    points = streamed.rejected[streamed.rejected["source_layer"].str.endswith("point_Nov2024")]
    assert 2 in points["row_number"].tolist()  # the REP_AREA 0 point: its row in the layer, across batches
    assert any("repaired" in w for w in streamed.warnings)
    assert any("Proposed / Not Reported" in w for w in streamed.warnings)


def test_wdpa_nested_shapefile_zip(tmp_path):
    _both(_write_nested_zip(tmp_path, post2025=False), tmp_path)


def test_zipped_shapefile_in_a_custom_crs(tmp_path):
    polys, _ = _layers(post2025=False)
    custom = "+proj=merc +lon_0=20 +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
    folder = tmp_path / "pa"
    folder.mkdir()
    polys.to_crs(custom).to_file(folder / "parks.shp")
    path = tmp_path / "parks.zip"
    with zipfile.ZipFile(path, "w") as z:
        for f in sorted(folder.iterdir()):
            z.write(f, f.name)
    _, streamed = _both(path, tmp_path)
    assert streamed.data.crs == CRS_WGS84


def _no_id_frame(n_copies: int = 3) -> gpd.GeoDataFrame:
    """No id column; the same feature several times (generated ids need -2, -3) and a name clash."""
    rows = []
    for k in range(n_copies):
        rows += [("Alpha", box(10, 0, 11, 1)), ("Beta", box(12, 0, 13, 1)), (f"Gamma {k}", box(14, 0, 15, 1))]
    rows += [("", None), ("Delta", Point(16, 0))]  # rejected: no geometry; a point without REP_AREA
    return gpd.GeoDataFrame(
        {"name": [r[0] for r in rows], "status": ["Designated"] * len(rows)},
        geometry=[r[1] for r in rows],
        crs=CRS_WGS84,
    )


@pytest.mark.parametrize("batch_rows", [1, 2, 4, 100])
def test_generated_ids_and_their_suffixes_across_batches(tmp_path, batch_rows):
    path = tmp_path / "noid.gpkg"
    _no_id_frame().to_file(path)
    _, streamed = _both(path, tmp_path, batch_rows=batch_rows)
    ids = streamed.data["pa_id"]
    assert ids.is_unique and ids.str.endswith("-3").sum() == 2  # Alpha and Beta, three times each
    assert streamed.rejected["row_number"].tolist() == [10, 11]  # counted over the layer, not the batch
    assert any("no id column" in w for w in streamed.warnings)


def test_clashing_ids_and_pid_suffixes_across_batches(tmp_path):
    n = 9
    frame = gpd.GeoDataFrame(
        {
            "id": ["A", "B", "A", "C", "A", "B", "D", "C", "A"],
            "name": ["one", "two", "uno", "three", "one", "two", "four", "tres", "eins"],
            "STATUS": ["Designated", "Proposed", "Designated", "Not Reported"] + ["Designated"] * 4 + ["Proposed"],
        },
        geometry=[box(i, 0, i + 0.5, 0.5) for i in range(n)],
        crs=CRS_WGS84,
    )
    path = tmp_path / "clash.geojson"
    frame.to_file(path)
    for include in (False, True):
        _, streamed = _both(path, tmp_path / str(include), batch_rows=2, include_proposed=include)
        clash = [w for w in streamed.warnings if "differently named" in w]
        assert len(clash) == 1 and "2 id(s)" in clash[0] and "['A', 'C']" in clash[0]
    assert streamed.data["pa_pid"].tolist() == ["A", "B", "A#2", "C", "A#3", "B#2", "D", "C#2", "A#4"]


def test_geoparquet_input_streamed_by_row_batches(tmp_path):
    polys, pts = _layers(post2025=True)
    frame = pd.concat([polys, pts.to_crs(3857).to_crs(CRS_WGS84)], ignore_index=True)
    path = tmp_path / "pa.parquet"
    gpd.GeoDataFrame(frame, geometry="geometry", crs=CRS_WGS84).to_parquet(path, row_group_size=3)
    _both(path, tmp_path, batch_rows=2)


def test_empty_layer(tmp_path):
    path = tmp_path / "empty.gpkg"
    gpd.GeoDataFrame({"name": pd.Series(dtype="str")}, geometry=gpd.GeoSeries([], crs=CRS_WGS84)).to_file(
        path, layer="parks"
    )
    _, streamed = _both(path, tmp_path)
    assert streamed.n_loaded == 0 and streamed.n_rejected == 0


def test_no_crs_lonlat_warned_once_and_projected_refused(tmp_path):
    frame = _no_id_frame().iloc[:-1].reset_index(drop=True)  # polygons only: a shapefile holds one type
    path = tmp_path / "nocrs.shp"
    frame.set_crs(None, allow_override=True).to_file(path)
    _, streamed = _both(path, tmp_path / "a")
    assert sum("no CRS given" in w for w in streamed.warnings) == 1
    far = frame.copy()
    far.loc[len(far) - 2, "geometry"] = box(500_000, 0, 500_100, 100)  # in the last batch but one
    bad = tmp_path / "projected.shp"
    far.set_crs(None, allow_override=True).to_file(bad)
    with pytest.raises(LayerError, match="no CRS and the coordinates are not longitude/latitude"):
        load_protected_areas(bad)
    with pytest.raises(LayerError, match="no CRS and the coordinates are not longitude/latitude"):
        protected_areas.stream_protected_areas(bad, tmp_path / "out.parquet", zip_limits=ZIP_LIMITS, batch_rows=2)
    assert not (tmp_path / "out.parquet").exists()


def test_sites_in_the_protected_area_slot_warned_once(tmp_path):
    frame = _no_id_frame()
    frame["commodity"] = "gold"
    frame["workers"] = 10
    path = tmp_path / "sites.gpkg"
    frame.to_file(path)
    _, streamed = _both(path, tmp_path)
    assert sum("looks like" in w.lower() or "sites" in w.lower() for w in streamed.warnings[:1]) == 1


def test_the_loader_holds_one_batch_at_a_time(tmp_path, monkeypatch):
    """Every normalisation call sees at most ``batch_rows`` features: the layer is never whole in memory."""
    path = _write_gpkg(tmp_path, post2025=False)
    sizes: list[int] = []
    real = protected_areas._normalise_batch

    def counting(frame, state):
        sizes.append(len(frame))
        return real(frame, state)

    monkeypatch.setattr(protected_areas, "_normalise_batch", counting)
    protected_areas.stream_protected_areas(path, tmp_path / "out.parquet", zip_limits=ZIP_LIMITS, batch_rows=2)
    assert sum(sizes) == 10 and max(sizes) == 2 and len(sizes) == 6  # 5 polygons, 5 points: 3 + 3 batches


def test_a_multipolygon_with_holes_round_trips(tmp_path):
    ring = Polygon(box(0, 0, 4, 4).exterior.coords, [box(1, 1, 2, 2).exterior.coords])
    frame = gpd.GeoDataFrame(
        {"pa_id": ["h1", "h2", "h3"], "name": ["hole", "plain", "far"], "when": pd.to_datetime(["2020-01-01"] * 3)},
        geometry=[ring, box(5, 5, 6, 6), box(-179.9, -80, -179.5, -79)],
        crs=CRS_WGS84,
    )
    path = tmp_path / "holes.gpkg"
    frame.to_file(path)
    _both(path, tmp_path, batch_rows=1)
    assert np.isfinite(frame.total_bounds).all()


def test_an_unwritable_cache_says_to_set_asm_cache_dir(tmp_path):
    """A full disk (a file-size limit makes the write fail as ENOSPC/EFBIG would) gives an error, not a traceback."""
    path = _write_gpkg(tmp_path, post2025=False)
    sites = tmp_path / "sites.csv"
    sites.write_text("site_id,name,commodity,longitude,latitude\ns1,A,gold,24.1,0.6\n")
    code = (
        "import resource, signal, subprocess, sys;"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN);"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096));"
        f"sys.exit(subprocess.run([sys.executable, {str(ROOT / 'app.py')!r}, 'score', '--sites', {str(sites)!r},"
        f" '--protected-areas', {str(path)!r}, '--out', {str(tmp_path / 'out.csv')!r}, '--no-progress']).returncode)"
    )
    env = {**__import__("os").environ, "ASM_CACHE_DIR": str(tmp_path / "cache")}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    assert run.returncode == 2, run.stderr[-2000:]
    assert "ASM_CACHE_DIR" in run.stderr and "Traceback" not in run.stderr
    assert not list((tmp_path / "cache" / "layers").glob(".tmp-*"))  # the partial entry is removed


def test_layers_whose_columns_differ_in_type_merge_as_one_concat_would(tmp_path):
    """int in one layer, text in another, a bool and an int column missing from one: as the whole load stores them."""
    a = gpd.GeoDataFrame(
        {"pa_id": ["a1", "a2", "a3"], "code": [1, 2, 3], "flag": [True, False, True], "count": [5, 6, 7]},
        geometry=[box(i, 0, i + 1, 1) for i in range(3)],
        crs=CRS_WGS84,
    )
    b = gpd.GeoDataFrame(
        {"pa_id": ["b1", "b2"], "code": ["x", "y"], "note": ["n1", None]},
        geometry=[box(i, 2, i + 1, 3) for i in range(2)],
        crs=CRS_WGS84,
    )
    path = tmp_path / "mixed.gpkg"
    a.to_file(path, layer="a")
    b.to_file(path, layer="b")
    _, streamed = _both(path, tmp_path, batch_rows=2, in_memory=False)
    assert streamed.data["code"].tolist() == ["1", "2", "3", "x", "y"]
    assert streamed.data["count"].dtype == "float64"
