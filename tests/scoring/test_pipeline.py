"""scoring.pipeline: the PA layer stays on disk (lazy cache entry) and the proximity engine decodes
its GeoParquet itself; the result equals the in-memory GeoDataFrame path exactly."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from geopandas.testing import assert_geodataframe_equal

from geo.crs import geodesic_circle
from layers.cache import StoredLayer, read_stored_table
from scoring.pipeline import LayerSources, compute_facts, load_config, load_scenario, run_scoring
from settings import Settings


def _inputs(folder: Path) -> LayerSources:
    rng = np.random.default_rng(7)
    n = 120
    lon = np.r_[rng.uniform(-2, 12, n - 20), rng.uniform(178, 180, 10), rng.uniform(-180, -178, 10)]
    lat = np.r_[rng.uniform(-3, 6, n - 20), rng.uniform(-19, -16, 20)]
    lon[0], lat[0] = 5.0, 2.0  # inside the big PA and the nested one
    pd.DataFrame(
        {"site_id": [f"S{i:03d}" for i in range(n)], "lon": lon, "lat": lat, "commodity": "gold", "mercury_use": "yes"}
    ).to_csv(folder / "sites.csv", index=False)
    geoms = [geodesic_circle(rng.uniform(-2, 12), rng.uniform(-3, 6), rng.uniform(2, 40)) for _ in range(25)]
    geoms += [geodesic_circle(179.95, -17.5, 30.0), geodesic_circle(5.0, 2.0, 80.0), geodesic_circle(5.0, 2.0, 10.0)]
    k = len(geoms)
    gpd.GeoDataFrame(
        {
            "WDPAID": np.arange(1, k + 1),
            "NAME": [f"PA {i}" for i in range(k)],
            "DESIG_ENG": "National Park",
            "IUCN_CAT": rng.choice(["Ia", "II", "IV", "VI"], k),
            "STATUS": "Designated",
        },
        geometry=geoms,
        crs="EPSG:4326",
    ).to_file(folder / "pa.gpkg")
    return LayerSources(sites=folder / "sites.csv", protected_areas=folder / "pa.gpkg")


@pytest.fixture
def setup(tmp_path: Path) -> tuple[LayerSources, Settings]:
    return _inputs(tmp_path), Settings(cache_dir=tmp_path / "cache")


def test_pa_layer_is_scored_from_its_stored_file_without_a_geodataframe(setup) -> None:
    sources, settings = setup
    scenario = load_scenario(sources, settings)
    pa = scenario.protected_areas
    assert isinstance(pa, StoredLayer) and not pa.is_loaded  # lazy even on the first (miss) load
    assert pa.n_loaded == 28
    facts = compute_facts(scenario, settings)
    assert not pa.is_loaded  # the Arrow path read the file, never the GeoDataFrame
    assert facts["in_protected_area"].iloc[0]
    assert facts["protected_areas_within_1km"].iloc[0] == 2

    # the in-memory path (what a freshly uploaded layer takes) gives the very same frame
    eager = load_scenario(sources, settings)
    eager.protected_areas.data  # noqa: B018  # load it: compute_facts then takes the GeoDataFrame path
    assert eager.protected_areas.is_loaded
    assert_geodataframe_equal(compute_facts(eager, settings), facts, check_dtype=True, check_crs=True)


def test_run_scoring_hit_equals_miss(setup) -> None:
    sources, settings = setup
    config = load_config(settings)
    first = run_scoring(sources, settings, config)  # cache miss
    second = run_scoring(sources, settings, config)  # cache hit
    assert_geodataframe_equal(second.scored, first.scored, check_dtype=True)
    assert len(first.scored) == 120


def test_read_stored_table_adds_the_geometry_column(setup) -> None:
    sources, settings = setup
    pa = load_scenario(sources, settings).protected_areas
    table = read_stored_table(pa.stored_path, columns=["pa_id", "name"])
    assert table.column_names == ["pa_id", "name", "geometry"]
    assert b"geo" in table.schema.metadata and table.num_rows == 28


def test_zero_area_buffer_leaves_the_area_column_out(setup, tmp_path: Path) -> None:
    sources, _ = setup
    settings = Settings(cache_dir=tmp_path / "cache0", protected_area_km2_buffer_km=0)
    scored = run_scoring(sources, settings, load_config(settings)).scored
    assert not any(c.startswith("protected_area_km2_within_") for c in scored.columns)
    assert scored["in_protected_area"].iloc[0]
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        Settings(protected_area_km2_buffer_km=-1)


# --- the default scenario when fetch-data left damaged files --------------------------------------------------
def _fake_fetch_manifest(cache: Path, **entries) -> Path:
    import json

    from layers.fetch import DATASETS

    folder = cache / "data"
    folder.mkdir(parents=True)
    files = {}
    for name, sha in entries.items():
        item = next(d for d in DATASETS if d.name == name)
        files[name] = {"file": item.filename, "sha256": sha or item.sha256, "size": item.size}
    (folder / "manifest.json").write_text(json.dumps({"version": 1, "files": files}))
    return folder


@pytest.mark.parametrize(
    ("entries", "problem"),
    [
        ({"amw_mining_2024": None}, "mining_202400_simplified.geojson is missing"),
        ({"ne_10m_reefs": "0" * 64}, "ne_10m_reefs.json was fetched for another pinned version"),
    ],
)
def test_damaged_fetched_data_is_an_error_not_a_silent_demo(tmp_path, entries, problem):
    from layers.fetch import FetchError

    folder = _fake_fetch_manifest(tmp_path, **entries)
    settings = Settings(cache_dir=tmp_path)
    with pytest.raises(FetchError, match=re.escape(problem) + r".*Fix: run 'python app.py fetch-data' again") as info:
        load_scenario(LayerSources(), settings)
    assert str(folder) in info.value.fix  # ... or delete the folder to use the demo


def test_unreadable_fetch_manifest_is_an_error(tmp_path):
    from layers.fetch import FetchError

    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(FetchError, match=r"manifest\.json cannot be read"):
        load_scenario(LayerSources(), Settings(cache_dir=tmp_path))


def test_no_fetched_data_means_the_demo(tmp_path):
    scenario = load_scenario(LayerSources(), Settings(cache_dir=tmp_path, demo_n_sites=200))
    assert scenario.is_demo
