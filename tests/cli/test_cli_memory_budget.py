"""`score` and `screen` within ASM_MEMORY_BUDGET_MB / --memory-budget-mb: the reason on stderr, the same output."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geo.crs import geodesic_circle
from tests.cli.test_cli import run_cli

MESSAGE = "over the memory budget of 1 MB (ASM_MEMORY_BUDGET_MB): scoring partition by partition"


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Sites near two parks and far from any (Sahara, > 1,000 km), a WDPA-shaped GeoPackage, an AOI there."""
    centres = [(25.0, -2.0), (29.0, 1.0), (27.0, -6.0)]
    gpd.GeoDataFrame(
        {
            "WDPAID": [101, 102, 103], "WDPA_PID": ["101", "102", "103"], "NAME": ["Park A", "Park B", "Park C"],
            "DESIG_ENG": "National Park", "IUCN_CAT": ["II", "Ia", "IV"], "STATUS": "Designated",
        },
        geometry=[geodesic_circle(lon, lat, 30.0) for lon, lat in centres], crs="EPSG:4326",
    ).to_file(tmp_path / "wdpa.gpkg", layer="wdpa_poly", driver="GPKG")  # fmt: skip
    lon = [25.1, 25.5, 26.0, 28.7, 29.5, 27.2, 10.0, 10.3, 11.0]
    lat = [-2.0, -1.6, -2.5, 1.2, 0.4, -5.5, 22.0, 22.4, 21.8]
    pd.DataFrame(
        {"site_id": [f"s{i}" for i in range(len(lon))], "commodity": "gold", "longitude": lon, "latitude": lat}
    ).to_csv(tmp_path / "sites.csv", index=False)
    gpd.GeoDataFrame(geometry=[shapely.box(9.5, 21.5, 11.5, 22.5)], crs="EPSG:4326").to_file(tmp_path / "aoi.geojson")
    return tmp_path / "sites.csv", tmp_path / "wdpa.gpkg", tmp_path / "aoi.geojson"


def test_score_over_the_budget_says_so_and_writes_the_same_table(inputs, tmp_path: Path) -> None:
    sites, pas, _ = inputs
    args = ["score", "--sites", str(sites), "--protected-areas", str(pas)]
    low = run_cli(*args, "--out", str(tmp_path / "low.parquet"), env_extra={"ASM_MEMORY_BUDGET_MB": "1"})
    assert low.returncode == 0, low.stderr
    assert MESSAGE in low.stderr
    assert "the protected-area layer (3 areas" in low.stderr
    roomy = run_cli(*args, "--out", str(tmp_path / "roomy.parquet"))
    assert roomy.returncode == 0, roomy.stderr
    assert "memory budget" not in roomy.stderr
    low_t = gpd.read_parquet(tmp_path / "low.parquet")
    pd.testing.assert_frame_equal(low_t, gpd.read_parquet(tmp_path / "roomy.parquet"), check_exact=True)
    # the option overrides the environment
    opt = run_cli(*args, "--out", str(tmp_path / "opt.parquet"), "--memory-budget-mb", "1")
    assert opt.returncode == 0 and MESSAGE in opt.stderr
    # --no-progress keeps stderr quiet
    quiet = run_cli(*args, "--out", str(tmp_path / "q.parquet"), "--memory-budget-mb", "1", "--no-progress")
    assert quiet.returncode == 0 and "memory budget" not in quiet.stderr


def test_screen_over_the_budget_scores_far_sites_partition_by_partition(inputs, tmp_path: Path) -> None:
    """The AOI's sites have no protected area within the facts' reach: over the budget they are scored
    partition by partition instead of against the whole layer in one pass; the same table either way."""
    sites, pas, aoi = inputs
    args = ["screen", "--aoi", str(aoi), "--sites", str(sites), "--protected-areas", str(pas)]
    low = run_cli(*args, "--out", str(tmp_path / "low.csv"), "--memory-budget-mb", "1")
    assert low.returncode == 0, low.stderr
    assert MESSAGE in low.stderr
    roomy = run_cli(*args, "--out", str(tmp_path / "roomy.csv"))
    assert roomy.returncode == 0, roomy.stderr
    assert "memory budget" not in roomy.stderr
    low_t, roomy_t = pd.read_csv(tmp_path / "low.csv"), pd.read_csv(tmp_path / "roomy.csv")
    assert len(low_t) == 3
    pd.testing.assert_frame_equal(low_t, roomy_t, check_exact=True)


def test_a_budget_that_is_not_positive_is_refused(inputs, tmp_path: Path) -> None:
    sites, pas, _ = inputs
    bad = run_cli("score", "--sites", str(sites), "--protected-areas", str(pas), "--out", str(tmp_path / "x.csv"),
                  "--memory-budget-mb", "0")  # fmt: skip
    assert bad.returncode == 2
    assert "memory_budget_mb" in bad.stderr
