"""layers.demo: the deterministic synthetic demo scenario, read back through the real loaders."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
import shapely
from geopandas.testing import assert_geodataframe_equal

from layers import demo as demo_mod
from layers.countries import load_countries
from layers.demo import DemoPaths, demo_dir, ensure_demo_data
from layers.errors import LayerError
from layers.schema import AMALGAMATION, COMMODITIES, CYANIDATION, IUCN_CATEGORIES, MERCURY_USE, RETORT

SEED = 20261130
N_SITES = 3000
WDPA_FIELDS = {
    "WDPAID",
    "WDPA_PID",
    "NAME",
    "DESIG_ENG",
    "IUCN_CAT",
    "STATUS",
    "STATUS_YR",
    "ISO3",
    "MARINE",
    "REP_AREA",
}
PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> DemoPaths:
    return ensure_demo_data(tmp_path_factory.mktemp("demo"), seed=SEED, n_sites=N_SITES)


@pytest.fixture(scope="module")
def raw_sites(demo: DemoPaths) -> gpd.GeoDataFrame:
    return gpd.read_file(demo.sites)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_layout_and_manifest(demo: DemoPaths) -> None:
    assert demo.root.name == f"demo-v3-{SEED}-{N_SITES}"
    for p in (demo.sites, demo.protected_areas, demo.rainforest, demo.reefs, demo.water, demo.tree_cover):
        assert p is not None and p.is_file() and p.parent == demo.root
    manifest = json.loads((demo.root / "demo.json").read_text())
    assert manifest["seed"] == SEED and manifest["counts"]["sites"] == N_SITES
    assert manifest["dataset"] == "synthetic demo data"
    assert not [p for p in demo.root.parent.iterdir() if p.name.startswith(".")]  # no temp dirs left
    assert sorted(pyogrio.list_layers(demo.protected_areas)[:, 0]) == ["wdpa_point", "wdpa_poly"]


def test_same_seed_same_content_other_seed_differs(demo: DemoPaths, tmp_path: Path) -> None:
    again = ensure_demo_data(tmp_path, seed=SEED, n_sites=N_SITES)
    assert again.root != demo.root
    assert _sha(again.tree_cover) == _sha(demo.tree_cover)  # GeoTIFF: byte-identical
    assert (again.root / "demo.json").read_text() == (demo.root / "demo.json").read_text()
    for attr, layers in [
        ("sites", [None]),
        ("protected_areas", ["wdpa_poly", "wdpa_point"]),
        ("rainforest", [None]),
        ("reefs", [None]),
        ("water", [None]),
    ]:
        for layer in layers:  # GeoPackages differ only in GDAL's timestamps: compare content
            a = gpd.read_file(getattr(demo, attr), layer=layer)
            b = gpd.read_file(getattr(again, attr), layer=layer)
            assert_geodataframe_equal(a, b, check_less_precise=False)
    other = gpd.read_file(ensure_demo_data(tmp_path, seed=SEED + 1, n_sites=N_SITES).sites)
    assert not np.allclose(other.geometry.x.to_numpy(), gpd.read_file(demo.sites).geometry.x.to_numpy())


def test_existing_scenario_is_reused(demo: DemoPaths, monkeypatch) -> None:
    monkeypatch.setattr(demo_mod, "_generate", lambda *a, **k: pytest.fail("regenerated"))
    assert ensure_demo_data(demo.root.parent, seed=SEED, n_sites=N_SITES) == demo


def test_incomplete_scenario_is_regenerated(tmp_path: Path, caplog) -> None:
    root = demo_dir(tmp_path, 5, 200)
    root.mkdir(parents=True)
    (root / "sites.gpkg").write_bytes(b"half a file")
    with caplog.at_level(logging.WARNING, logger="layers.demo"):
        paths = ensure_demo_data(tmp_path, seed=5, n_sites=200)
    assert "incomplete" in caplog.text
    assert len(gpd.read_file(paths.sites)) == 200


@pytest.mark.parametrize("n", [0, -5, 10_000_000])
def test_bad_size_is_a_layer_error(tmp_path: Path, n: int) -> None:
    with pytest.raises(LayerError, match="out of range"):
        ensure_demo_data(tmp_path, seed=1, n_sites=n)


def test_sites_lie_inside_their_real_country(raw_sites: gpd.GeoDataFrame) -> None:
    countries = load_countries().set_index("iso3")
    for iso3, group in raw_sites.groupby("country_iso3"):
        assert countries.loc[iso3].geometry.covers(group.geometry).all(), iso3
    counts = raw_sites["country_iso3"].value_counts()
    expected = {"COD", "GHA", "BRA", "PER", "COL", "SUR", "GUY", "BFA", "MLI", "TZA", "IDN", "PHL", "MNG", "MDG"}
    expected |= {"SLE", "ZWE", "GRL", "VEN", "BOL", "SDN"}
    assert set(counts.index) == expected
    assert 1 <= counts["GRL"] <= 20  # a few Arctic sites
    assert counts["COD"] > 200


def test_site_attributes_are_plausible(raw_sites: gpd.GeoDataFrame, demo: DemoPaths) -> None:
    s = raw_sites
    assert len(s) == N_SITES and s["site_id"].is_unique
    assert s["name"].str.fullmatch(r"Demo site [A-Z]{3}-\d{4}").all()
    assert (s["source"] == f"synthetic demo data (asm-risk, seed {SEED})").all()
    assert demo.source_label == f"synthetic demo data (asm-risk, seed {SEED})"
    assert (s["dataset"] == "synthetic demo data").all()
    assert set(s["commodity"]) <= set(COMMODITIES)
    assert set(s["mercury_use"]) <= set(MERCURY_USE)
    assert set(s["amalgamation"]) <= set(AMALGAMATION) and set(s["retort"]) <= set(RETORT)
    assert set(s["cyanidation"]) <= set(CYANIDATION)
    gold = s["commodity"] == "gold"
    assert 0.7 < (s.loc[gold, "mercury_use"] == "yes").mean() < 0.95
    uses = s["mercury_use"] == "yes"
    assert (s.loc[uses, "amalgamation"] != "none").all() and (s.loc[~uses, "retort"] != "yes").all()
    annex_c = uses & (s["cyanidation"] == "yes")  # cyanidation of mercury-contaminated tailings occurs
    assert 0 < annex_c.sum() < 0.2 * uses.sum()
    assert set(s.loc[s["country_iso3"] == "COD", "commodity"]) >= {"gold", "cassiterite", "coltan"}
    assert s.loc[s["country_iso3"] == "MDG", "commodity"].value_counts().index[0] == "sapphire"
    assert s.loc[s["country_iso3"] == "SLE", "commodity"].value_counts().index[0] == "diamond"
    workers = s["workers"].dropna()
    assert 50 < workers.median() < 120 and workers.max() > 1500 and 0.03 < s["workers"].isna().mean() < 0.15
    reported = s["gold_kg_per_yr"].notna()
    assert 0.1 < reported.mean() < 0.4 and (s.loc[reported, "commodity"] == "gold").all()
    # reported production follows the risk model's own productivity (config/risk.toml: median 22.4 g per
    # worker-year, 90 % factor 7.2), so a site's mercury does not jump with the kind of size it reports
    per_worker_g = 1000 * s.loc[reported, "gold_kg_per_yr"] / s.loc[reported, "workers"]
    assert 12 < per_worker_g.median() < 40
    assert 0.02 < (per_worker_g > 22.4 * 7.2).mean() < 0.12
    dates = pd.to_datetime(s["observed_date"])
    assert dates.min() >= pd.Timestamp("2015-01-01") and dates.max() <= pd.Timestamp("2025-12-31")


def test_protected_areas_use_wdpa_fields_and_sit_near_sites(demo: DemoPaths, raw_sites: gpd.GeoDataFrame) -> None:
    poly = gpd.read_file(demo.protected_areas, layer="wdpa_poly")
    point = gpd.read_file(demo.protected_areas, layer="wdpa_point")
    assert set(poly.columns) >= WDPA_FIELDS | {"GIS_AREA"} and set(point.columns) >= WDPA_FIELDS
    both = pd.concat([poly.drop(columns="geometry"), point.drop(columns="geometry")])
    assert both["WDPAID"].is_unique and (both["WDPAID"] > 900_000_000).all()
    assert both["NAME"].str.endswith("(synthetic)").all()
    assert set(both["IUCN_CAT"]) <= set(IUCN_CATEGORIES) and both["IUCN_CAT"].nunique() >= 6
    assert 3 <= (both["STATUS"] == "Proposed").sum() < 0.2 * len(both)
    assert 200 <= len(poly) <= 500 and 6 <= len(point) <= 40
    assert (point["REP_AREA"] > 0).all()
    assert poly.geom_type.eq("MultiPolygon").all() and poly.is_valid.all()
    inside = gpd.sjoin(raw_sites, poly, predicate="within").index.unique().size / len(raw_sites)
    assert 0.05 < inside < 0.4  # some sites inside a park, most outside
    # most sites have a park within 25 km (distances in each country's UTM zone, not degrees)
    near = []
    for iso3, group in raw_sites.groupby("country_iso3"):
        parks = poly[poly["ISO3"] == iso3]
        if parks.empty:
            continue
        utm = group.estimate_utm_crs()
        joined = gpd.sjoin_nearest(group.to_crs(utm), parks.to_crs(utm), distance_col="dist_m")
        near.append(joined.groupby(level=0)["dist_m"].min() <= 25_000)
    assert pd.concat(near).mean() > 0.6


def test_ecosystem_layers(demo: DemoPaths) -> None:
    land = load_countries().union_all()
    rainforest = gpd.read_file(demo.rainforest)
    assert len(rainforest) >= 5 and rainforest["name"].str.contains("synthetic").all()
    assert rainforest.geometry.within(land.buffer(1e-6)).all()
    reefs = gpd.read_file(demo.reefs)
    assert len(reefs) >= 20 and set(reefs["iso3"]) == {"PHL", "IDN", "MDG"}
    on_land = shapely.area(shapely.intersection(reefs.geometry.values, land)) / shapely.area(reefs.geometry.values)
    assert on_land.max() < 1e-6  # offshore (a ratio of areas, so degrees cancel; slivers are rounding)
    water = gpd.read_file(demo.water)
    assert len(water) >= 10 and water.geom_type.eq("MultiLineString").all()


def test_tree_cover_raster(demo: DemoPaths, raw_sites: gpd.GeoDataFrame) -> None:
    with rasterio.open(demo.tree_cover) as src:
        assert src.crs.to_epsg() == 4326 and src.dtypes[0] == "uint8" and src.nodata == 255
        band = src.read(1)
        assert ((band <= 100) | (band == 255)).all()
        assert 0.02 < (band == 255).mean() < 0.5  # outside Peru: nodata
        west, south, east, north = src.bounds
        here = raw_sites.cx[west:east, south:north]
        assert len(here) > 50
        at_sites = np.array([v[0] for v in src.sample(zip(here.geometry.x, here.geometry.y, strict=True))])
    valid = band[band != 255]
    assert at_sites[at_sites != 255].mean() < valid.mean() - 20  # clearings at the mines
    assert valid.mean() > 50


def test_files_load_through_the_project_loaders(demo: DemoPaths) -> None:
    if importlib.util.find_spec("layers.sites") is None or importlib.util.find_spec("layers.ecosystems") is None:
        pytest.skip("the site / ecosystem loaders are not in this tree yet")
    from tests.loaders import load_protected_areas, load_rainforest, load_reefs, load_sites, load_water

    sites = load_sites(demo.sites, source=demo.source_label)
    assert sites.n_loaded == N_SITES and sites.n_rejected == 0
    assert (sites.data["source"] == demo.source_label).all()
    assert set(sites.data["country_iso3"].dropna()) >= {"COD", "PER", "GRL"}
    pas = load_protected_areas(demo.protected_areas, include_proposed=True)
    n_poly = len(gpd.read_file(demo.protected_areas, layer="wdpa_poly"))
    n_point = len(gpd.read_file(demo.protected_areas, layer="wdpa_point"))
    assert pas.n_loaded == n_poly + n_point
    assert pas.data["from_point"].sum() == n_point
    assert len(load_protected_areas(demo.protected_areas).data) < pas.n_loaded  # 'Proposed' dropped by default
    assert len(load_rainforest(demo.rainforest)) >= 5
    assert len(load_reefs(demo.reefs)) >= 20
    assert len(load_water(demo.water)) >= 10


def test_make_demo_data_script(tmp_path: Path, capsys) -> None:
    spec = importlib.util.spec_from_file_location("make_demo_data", PROJECT_ROOT / "scripts" / "make_demo_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--out", str(tmp_path), "--seed", "3", "--n-sites", "150"]) == 0
    assert "demo-v3-3-150" in capsys.readouterr().out
    assert len(gpd.read_file(demo_dir(tmp_path, 3, 150) / "sites.gpkg")) == 150
    assert module.main(["--out", str(tmp_path), "--n-sites", "0"]) == 2


def test_mining_footprints_are_a_rush_into_protected_areas_year_by_year(demo: DemoPaths, tmp_path: Path) -> None:
    """The synthetic footprints load through layers.mining with nothing rejected, one layer per year
    2018-2024, deterministically, and the mined area inside the demo parks grows every year."""
    from geo.change import compute_mining_change
    from layers.guard import ZipLimits
    from layers.mining import load_mining
    from layers.protected_areas import load_protected_areas

    limits = ZipLimits(max_members=10, max_total_bytes=10**9, max_ratio=100.0)
    loaded = load_mining(demo.mining, zip_limits=limits)
    assert len(loaded.rejected) == 0 and loaded.warnings == []
    assert sorted(loaded.data["year"].unique()) == list(demo_mod.MINING_YEARS)
    assert (loaded.data["name"] == "Demo mining clearing (synthetic)").all()
    counts = loaded.data["year"].value_counts().sort_index().to_numpy()
    assert (np.diff(counts) > 0).all()  # more new clearings every year
    again = gpd.read_file(ensure_demo_data(tmp_path, seed=SEED, n_sites=N_SITES).mining)
    assert_geodataframe_equal(again, gpd.read_file(demo.mining))
    pas = load_protected_areas(demo.protected_areas, zip_limits=limits).data
    change = compute_mining_change(loaded.data, pas)
    by_year = change.groupby("year")["mining_km2_cumulative"].sum()
    assert (np.diff(by_year.to_numpy()) > 0).all() and by_year.iloc[-1] > 3 * by_year.iloc[0]
    assert change["target_id"].nunique() >= 10  # the rush reaches many parks, in several countries
    assert pas.set_index("pa_id").loc[change["target_id"].unique(), "iso3"].nunique() >= 5
