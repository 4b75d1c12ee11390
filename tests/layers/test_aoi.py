"""load_aoi: polygons, lines and points in every vector format, several features and layers, every rejected row with its reason."""

from __future__ import annotations

import zipfile

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo.aoi import prepare_aoi, screen_aoi
from layers.aoi import AOI_COLUMNS, REASON_MIXED
from layers.errors import LayerError
from layers.vectors import REASON_ANTIMERIDIAN, REASON_NO_GEOMETRY, REASON_POLE
from tests.loaders import load_aoi

CONCESSION = shapely.box(-56.0, -6.0, -55.5, -5.5)
ROAD = shapely.LineString([(-57.0, -7.0), (-56.0, -6.8), (-55.0, -7.5)])
CAMP = shapely.Point(-55.5, -6.2)


def _mixed() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": ["C-1", "R-1", "P-1"], "nombre": ["Concession", "Road", "Camp"], "area_ha": [1.0, None, None]},
        geometry=[CONCESSION, ROAD, CAMP],
        crs="EPSG:4326",
    )


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".parquet", ".kml"])
def test_polygons_lines_and_points_in_one_file(tmp_path, suffix):
    path = tmp_path / f"aoi{suffix}"
    frame = _mixed()
    if suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_file(path, driver={".kml": "KML"}.get(suffix))
    res = load_aoi(path)
    data = res.data
    assert list(data.columns[: len(AOI_COLUMNS)]) == list(AOI_COLUMNS)
    assert list(data["kind"]) == ["polygon", "line", "point"]
    assert data.crs.to_epsg() == 4326
    if suffix != ".kml":  # KML keeps Name/Description only
        assert list(data["aoi_id"]) == ["C-1", "R-1", "P-1"]
        assert list(data["name"]) == ["Concession", "Road", "Camp"]
    assert data.geometry.iat[0].equals_exact(CONCESSION, 1e-9)
    assert res.n_rejected == 0


def test_shapefile_in_a_projected_crs_is_reprojected(tmp_path):
    road = gpd.GeoDataFrame({"name": ["BR-163"]}, geometry=[ROAD], crs="EPSG:4326").to_crs("EPSG:32721")
    road.to_file(tmp_path / "road.shp")
    data = load_aoi(tmp_path / "road.shp").data
    assert data.crs.to_epsg() == 4326 and data["kind"].iat[0] == "line"
    assert np.allclose(shapely.get_coordinates(data.geometry.iat[0]), shapely.get_coordinates(ROAD), atol=1e-7)
    assert data["aoi_id"].iat[0] == "aoi-1" and data["name"].iat[0] == "BR-163"


def test_zipped_shapefile(tmp_path):
    gpd.GeoDataFrame({"id": [7]}, geometry=[CONCESSION], crs="EPSG:4326").to_file(tmp_path / "c.shp")
    with zipfile.ZipFile(tmp_path / "c.zip", "w") as z:
        for ext in ("shp", "shx", "dbf", "prj", "cpg"):
            if (tmp_path / f"c.{ext}").exists():
                z.write(tmp_path / f"c.{ext}", f"c.{ext}")
    data = load_aoi(tmp_path / "c.zip").data
    assert list(data["aoi_id"]) == ["7"] and data["kind"].iat[0] == "polygon"


def test_every_layer_of_a_geopackage_unless_one_is_chosen(tmp_path):
    path = tmp_path / "project.gpkg"
    gpd.GeoDataFrame(
        {"name": ["Block A", "Block B"]}, geometry=[CONCESSION, shapely.box(-55, -6, -54.5, -5.5)], crs="EPSG:4326"
    ).to_file(path, layer="blocks")
    gpd.GeoDataFrame({"name": ["Access road"]}, geometry=[ROAD], crs="EPSG:4326").to_file(path, layer="roads")
    both = load_aoi(path).data
    assert list(both["source_layer"]) == ["blocks", "blocks", "roads"]
    assert list(both["aoi_id"]) == ["aoi-1", "aoi-2", "aoi-3"]
    assert list(both["kind"]) == ["polygon", "polygon", "line"]
    roads = load_aoi(path, layer="roads").data
    assert list(roads["name"]) == ["Access road"] and list(roads["source_layer"]) == [""]


def test_unusable_rows_are_rejected_with_reasons_and_the_rest_kept(tmp_path):
    bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    frame = gpd.GeoDataFrame(
        {"name": ["ok", "empty", "jump", "pole", "mixed", "bowtie"]},
        geometry=[
            CONCESSION,
            None,
            shapely.LineString([(179.0, 0.0), (-179.0, 0.0)]),
            shapely.Point(10.0, 89.9),
            shapely.GeometryCollection([CAMP, ROAD]),
            bowtie,
        ],
        crs="EPSG:4326",
    )
    path = tmp_path / "aoi.gpkg"
    frame.to_file(path)
    res = load_aoi(path)
    assert list(res.data["name"]) == ["ok", "bowtie"]
    assert res.data.geometry.iat[1].is_valid and res.data["kind"].iat[1] == "polygon"
    rej = res.rejected.set_index("row_number")
    assert rej.loc[2, "reason"] == REASON_NO_GEOMETRY
    assert rej.loc[3, "reason"] == REASON_ANTIMERIDIAN
    assert rej.loc[4, "reason"] == REASON_POLE
    assert rej.loc[5, "reason"] == REASON_MIXED
    assert list(rej["name"]) == ["empty", "jump", "pole", "mixed"]
    assert any("4 of 6 features rejected" in w for w in res.warnings)
    assert any("repaired with make_valid" in w for w in res.warnings)


def test_a_non_unique_id_column_is_replaced_by_generated_ids(tmp_path):
    path = tmp_path / "aoi.geojson"
    gpd.GeoDataFrame({"id": [1, 1]}, geometry=[CONCESSION, CAMP], crs="EPSG:4326").to_file(path)
    res = load_aoi(path)
    assert list(res.data["aoi_id"]) == ["aoi-1", "aoi-2"]
    assert any("not a unique id" in w for w in res.warnings)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda p: p.with_suffix(".csv").write_text("lon,lat\n1,2\n"), "is a table, not a vector file"),
        (lambda p: None, "does not exist"),
        (lambda p: p.write_text('{"type": "FeatureCollection", "features": []}'), "no rows"),
    ],
)
def test_bad_files_raise_a_layer_error(tmp_path, make, match):
    path = tmp_path / "aoi.geojson"
    make(path)
    target = path.with_suffix(".csv") if match.startswith("is a table") else path
    with pytest.raises(LayerError, match=match):
        load_aoi(target)


def test_a_file_with_only_unusable_features_says_why(tmp_path):
    path = tmp_path / "aoi.gpkg"
    gpd.GeoDataFrame({"name": ["x"]}, geometry=[shapely.Point(0.0, 89.95)], crs="EPSG:4326").to_file(path)
    with pytest.raises(LayerError, match="no usable area of interest: the feature reaches a pole"):
        load_aoi(path)


def test_projected_coordinates_without_a_crs_are_refused(tmp_path):
    path = tmp_path / "aoi.shp"
    with pytest.warns(UserWarning, match="crs"):
        gpd.GeoDataFrame(geometry=[shapely.box(500000, 9300000, 510000, 9310000)]).to_file(path)
    with pytest.raises(LayerError, match="no CRS"):
        load_aoi(path)


def test_loaded_aoi_screens_real_sites(tmp_path, shared_data):
    path = tmp_path / "aoi.geojson"
    _mixed().to_file(path)
    aoi = prepare_aoi(load_aoi(path).data, buffer_km=10.0)
    mines = gpd.read_file(shared_data / "amazon_mining_watch" / "mining_202400_simplified.geojson")
    screen = screen_aoi(mines.geometry, aoi)
    assert set(screen.units["aoi_id"]) == {"C-1", "R-1", "P-1"}
    assert screen.units.set_index("aoi_id").loc["C-1", "n_sites"] > 0
