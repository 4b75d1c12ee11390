"""Ecosystem loaders: rainforest (vector and tree-cover raster), reefs, water, Arctic."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin
from shapely.geometry import LineString, Point, Polygon, box

import layers.ecosystems as eco
from geo.crs import geodesic_area_km2
from geo.regions import PolarRegion
from layers.errors import LayerError
from layers.schema import CRS_WGS84
from tests.loaders import load_arctic, load_rainforest, load_reefs, load_water


def _tif(path, data, crs, transform, nodata=None):
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=data.shape[1],
        height=data.shape[0],
        count=1,
        dtype=data.dtype,
        crs=crs,
        transform=transform,
        nodata=nodata,
    ) as dst:
        dst.write(data, 1)
    return path


def _check_out(frame):
    assert list(frame.columns) == ["name", "geometry"]
    assert frame.crs.equals(CRS_WGS84)
    assert not frame.geometry.has_z.any()


def test_rainforest_vector_repairs_and_keeps_polygons(tmp_path):
    bowtie = Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])
    frame = gpd.GeoDataFrame(
        {"NAME": ["bow", "plain"]}, geometry=[bowtie, shapely.force_3d(box(2, 2, 3, 3))], crs=CRS_WGS84
    )
    frame.to_file(tmp_path / "forest.gpkg")
    out = load_rainforest(tmp_path / "forest.gpkg")
    _check_out(out)
    assert list(out["name"]) == ["bow", "plain"]
    assert out.geometry.is_valid.all()
    assert out.geometry.iloc[0].area == pytest.approx(0.5)


def test_rainforest_where_filter(tmp_path):
    frame = gpd.GeoDataFrame(
        {"featurecla": ["Basin", "Basin", "Tundra"], "name": ["AMAZON BASIN", "CONGO BASIN", "TUNDRA"]},
        geometry=[box(-70, -10, -50, 0), box(15, -5, 25, 5), box(0, 70, 10, 75)],
        crs=CRS_WGS84,
    )
    frame.to_file(tmp_path / "regions.geojson", driver="GeoJSON")
    out = load_rainforest(tmp_path / "regions.geojson", where="featurecla = 'Basin'")
    assert sorted(out["name"]) == ["AMAZON BASIN", "CONGO BASIN"]
    with pytest.raises(LayerError, match="no features"):
        load_rainforest(tmp_path / "regions.geojson", where="featurecla = 'Desert'")
    with pytest.raises(LayerError, match="cannot be applied"):
        load_rainforest(tmp_path / "regions.geojson", where="no_such_column = 1")


def test_rainforest_from_tree_cover_raster(tmp_path):
    data = np.zeros((20, 20), dtype="float32")
    data[5:10, 5:15] = 80.0  # 5 × 10 pixels of 0.01° above the threshold
    data[15, 15] = 29.9  # just below
    data[0, 0] = 30.0  # exactly at the threshold counts
    path = _tif(tmp_path / "treecover.tif", data, "EPSG:4326", from_origin(20.0, 1.0, 0.01, 0.01))
    out = load_rainforest(path, threshold_pct=30.0)
    _check_out(out)
    union = shapely.union_all(out.geometry.values)
    assert union.area == pytest.approx(51 * 1e-4)
    assert union.covers(Point(20.10, 0.92)) and not union.covers(Point(20.155, 0.845))
    assert set(out["name"]) == {"treecover"}


def test_rainforest_raster_in_utm_and_decimated(tmp_path, monkeypatch):
    data = np.zeros((200, 200), dtype="uint8")
    data[50:150, 50:150] = 90
    path = _tif(tmp_path / "utm.tif", data, "EPSG:32633", from_origin(500_000, 100_000, 30, 30))
    full = load_rainforest(path)
    assert geodesic_area_km2(full.geometry).sum() == pytest.approx(9.0, rel=0.002)  # 3 km × 3 km
    monkeypatch.setattr(eco, "MAX_RASTER_CELLS", 400)  # read at 1/10 resolution (300 m pixels)
    coarse = load_rainforest(path)
    assert geodesic_area_km2(coarse.geometry).sum() == pytest.approx(9.0, rel=0.002)
    assert sum(len(shapely.get_coordinates(g)) for g in coarse.geometry) <= 20


def test_rainforest_raster_errors(tmp_path):
    low = _tif(tmp_path / "low.tif", np.full((3, 3), 10, "float32"), "EPSG:4326", from_origin(0, 3, 1, 1))
    with pytest.raises(LayerError, match="no pixel has tree cover >= 30") as err:
        load_rainforest(low)
    assert "ASM_TREE_COVER_THRESHOLD_PCT=10 " in str(err.value)  # the setting that exists, not a parameter name
    with pytest.raises(LayerError, match="not a percentage"):
        load_rainforest(low, threshold_pct=150)
    nocrs = _tif(tmp_path / "nocrs.tif", np.full((3, 3), 90, "float32"), None, from_origin(0, 3, 1, 1))
    with pytest.raises(LayerError, match="no CRS"):
        load_rainforest(nocrs)
    with pytest.raises(LayerError, match="not found"):
        load_rainforest(tmp_path / "missing.tif")
    gpd.GeoDataFrame({"n": [1]}, geometry=[LineString([(0, 0), (1, 1)])], crs=CRS_WGS84).to_file(tmp_path / "line.gpkg")
    with pytest.raises(LayerError, match="no polygons"):
        load_rainforest(tmp_path / "line.gpkg")


def test_reefs_unep_wcmc_schema(tmp_path):
    frame = gpd.GeoDataFrame(
        {
            "LAYER_NAME": ["CRR", "CRR", "CRR"],
            "METADATA_I": [1, 1, 2],
            "ORIG_NAME": ["Great Reef", "Not Reported", None],
            "FAMILY": ["Not Reported"] * 3,
            "GENUS": ["Not Reported"] * 3,
            "SPECIES": ["Not Reported"] * 3,
            "DATA_TYPE": ["Polygon", "Polygon", "Point"],
            "START_DATE": ["1954"] * 3,
            "END_DATE": ["2018"] * 3,
            "DATE_TYPE": ["Publication"] * 3,
            "VERIF": ["Not Reported"] * 3,
            "NAME": ["Not Reported"] * 3,
            "LOC_DEF": ["Not Reported"] * 3,
            "SURVEY_MET": ["Not Reported"] * 3,
            "GIS_AREA_K": [1.2, 0.3, 0.0],
            "PARENT_ISO": ["AUS", "AUS", "IDN"],
            "ISO3": ["AUS", "AUS", "IDN"],
        },
        geometry=[box(145, -15, 145.1, -14.9), box(146, -16, 146.1, -15.9), Point(120, -8)],
        crs=CRS_WGS84,
    )
    frame.iloc[:2].to_file(tmp_path / "WCMC008_CoralReef2018_Py_v4_1.shp")
    frame.iloc[2:].to_file(tmp_path / "WCMC008_CoralReef2018_Pt_v4_1.shp")
    out = load_reefs(tmp_path)  # the folder as downloaded: polygons + points shapefiles
    _check_out(out)
    assert sorted(out["name"]) == ["Great Reef", "coral reef", "coral reef"]
    assert set(out.geometry.geom_type) == {"Polygon", "Point"}


def test_water_lines_and_polygons_only(tmp_path):
    frame = gpd.GeoDataFrame(
        {"name": ["Congo", "Lac Tumba", "well"]},
        geometry=[LineString([(15, -4), (18, 0)]), box(18, -1, 18.3, -0.7), Point(1, 1)],
        crs=CRS_WGS84,
    )
    frame.to_file(tmp_path / "water.gpkg")
    out = load_water(tmp_path / "water.gpkg")
    _check_out(out)
    assert list(out["name"]) == ["Congo", "Lac Tumba"]
    frame.iloc[2:].to_file(tmp_path / "points.gpkg")
    with pytest.raises(LayerError, match="no lines or polygons"):
        load_water(tmp_path / "points.gpkg")


def test_arctic_default_is_the_arctic_circle():
    region = load_arctic(None)
    assert isinstance(region, PolarRegion) and region.min_lat == pytest.approx(66.5634)
    assert load_arctic(None, circle_lat=60.0).contains(np.array([0.0]), np.array([61.0])).tolist() == [True]
    with pytest.raises(LayerError, match="not between 0 and 90"):
        load_arctic(None, circle_lat=95.0)


def test_arctic_polygon_kept_in_its_polar_crs(tmp_path):
    disc = Point(0, 0).buffer(2_500_000, quad_segs=64)
    gpd.GeoDataFrame({"name": ["AMAP"]}, geometry=[disc], crs="EPSG:3413").to_file(tmp_path / "amap.gpkg")
    region = load_arctic(tmp_path / "amap.gpkg")
    assert pyproj.CRS(region.polygons.crs).to_epsg() == 3413
    assert region.polygons.iloc[0].equals(disc)
    assert region.contains(np.array([0.0, 123.0, 10.0]), np.array([90.0, 80.0, 40.0])).tolist() == [True, True, False]


def test_arctic_lonlat_polygon_reaching_the_pole_is_refused(tmp_path):
    gpd.GeoDataFrame(geometry=[box(-180, 60, 180, 90)], crs=CRS_WGS84).to_file(tmp_path / "cap.gpkg")
    with pytest.raises(LayerError, match="polar CRS"):
        load_arctic(tmp_path / "cap.gpkg")
    gpd.GeoDataFrame(geometry=[box(-60, 60, -20, 80)], crs=CRS_WGS84).to_file(tmp_path / "greenland.gpkg")
    region = load_arctic(tmp_path / "greenland.gpkg")
    assert region.contains(np.array([-40.0, 0.0]), np.array([70.0, 70.0])).tolist() == [True, False]


def test_real_amazon_limit_and_natural_earth_basins(shared_data):
    aca = load_rainforest(shared_data / "amazon_mining_watch" / "Amazon_ACA.geojson")
    _check_out(aca)
    assert len(aca) == 1 and 6.0e6 < geodesic_area_km2(aca.geometry)[0] < 9.0e6
    basins = load_rainforest(
        shared_data / "natural_earth" / "ne_10m_geography_regions_polys.json",
        where="featurecla = 'Basin' AND name IN ('AMAZON BASIN', 'CONGO BASIN')",
    )
    assert sorted(basins["name"]) == ["AMAZON BASIN", "CONGO BASIN"]


def test_real_natural_earth_reefs_and_rivers(shared_data):
    reefs = load_reefs(shared_data / "natural_earth" / "ne_10m_reefs.json")
    _check_out(reefs)
    src = gpd.read_file(shared_data / "natural_earth" / "ne_10m_reefs.json")
    assert len(reefs) == len(src) == 1043
    assert set(reefs["name"]) == set(src["featurecla"])
    rivers = load_water(shared_data / "natural_earth" / "ne_10m_rivers_lake_centerlines.json")
    _check_out(rivers)
    assert len(rivers) > 1400 and "Congo" in set(rivers["name"])


def test_a_forest_class_mask_is_refused_with_the_setting_that_reads_it(shared_data):
    """Yangambi's 1958 forest mask holds 2 (forest) or nodata: the message named a `threshold_pct` nobody can set."""
    path = shared_data / "yangambi_forest" / "yangambi_forest_mask_resampled.tif"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    with pytest.raises(LayerError, match=r"no pixel has tree cover >= 30% \(values range 2\.\.2\)") as err:
        load_rainforest(path)
    assert "ASM_TREE_COVER_THRESHOLD_PCT=2 " in str(err.value)
    forest = load_rainforest(path, threshold_pct=2.0)  # what that setting does
    assert geodesic_area_km2(forest.geometry).sum() > 100.0
