"""load_mining: footprints with a year from the real Amazon Mining Watch files and hand-built files in every format."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.zones import equal_area_km2
from layers.errors import LayerError
from layers.mining import (
    MINING_COLUMNS,
    REASON_NO_YEAR,
    REASON_NOT_POLYGON,
    parse_years,
    year_from_file_name,
)
from tests.loaders import load_mining

BOXES = [shapely.box(-60 + i * 0.1, -5.0, -59.95 + i * 0.1, -4.95) for i in range(4)]


def test_the_seven_amazon_mining_watch_years(shared_data):
    files = sorted((shared_data / "amazon_mining_watch").glob("mining_20*00_simplified.geojson"))
    assert len(files) == 7
    res = load_mining(files)
    data = res.data
    assert res.n_rejected == 0 and res.source == "7 mining files"
    assert list(data.columns[: len(MINING_COLUMNS)]) == list(MINING_COLUMNS)
    counts = data.groupby("year").size()
    assert counts.to_dict() == {2018: 5444, 2019: 5970, 2020: 5396, 2021: 5411, 2022: 6201, 2023: 5573, 2024: 5232}
    assert set(data["orig_year"]) == {y * 100 for y in range(2018, 2025)}  # AMW's own column: 201800 = 2018
    assert data["footprint_id"].is_unique
    assert np.allclose(data["mined_km2"], data["Mined area (ha)"] / 100.0)
    sample = data.sample(200, random_state=1)
    assert np.allclose(sample["area_km2"], equal_area_km2(sample.geometry.to_numpy()))
    assert data.geom_type.isin(["Polygon", "MultiPolygon"]).all()


@pytest.mark.parametrize(
    ("name", "year"),
    [
        ("mining_201800_simplified.geojson", 2018),
        ("mines_2019.gpkg", 2019),
        ("amazon_basin_48px_v0.X-SSL4EO-MLPensemble2025Q4diff-clean-gt11ha.geojson", 2025),
        ("footprints.geojson", None),
        ("survey_12019.geojson", None),  # inside a longer number
        ("scars_201912.shp", None),  # not a year with a quarter 00-04
    ],
)
def test_year_from_file_name(name, year):
    assert year_from_file_name(name) == year


def test_two_years_in_a_file_name_are_ambiguous():
    with pytest.raises(LayerError, match="several years"):
        year_from_file_name("mining_2018_2024_difference.geojson")


def test_parse_years():
    values = pd.Series(
        [2019, 201900, 202404, 201905, "2019", "2019-05-03", "03/05/2019", None, "abc", 1800], dtype="object"
    )
    years, bad = parse_years(values)
    assert years.tolist()[:7] == [2019, 2019, 2024, pd.NA, 2019, 2019, 2019]
    assert years.isna().tolist()[7:] == [True, True, True]
    assert bad.tolist() == [False, False, False, True, False, False, False, False, True, True]


def test_one_file_with_a_year_column_and_its_rejects(tmp_path):
    frame = gpd.GeoDataFrame(
        {"year": [2019, "2020", None, "later", 2021]},
        geometry=[BOXES[0], BOXES[1], BOXES[2], BOXES[3], shapely.Point(-59, -5)],
        crs="EPSG:4326",
    )
    frame.to_file(tmp_path / "footprints.gpkg")
    res = load_mining(tmp_path / "footprints.gpkg")
    assert list(res.data["year"]) == [2019, 2020]
    rej = res.rejected.set_index("row_number")["reason"]
    assert rej.loc[3] == REASON_NO_YEAR
    assert rej.loc[4] == "year 'later' in column 'year' is not a year between 1900 and 2100"
    assert rej.loc[5] == REASON_NOT_POLYGON
    assert (res.rejected["source"] == "footprints.gpkg").all()
    assert np.isnan(res.data["mined_km2"]).all()


def test_a_date_column_and_the_file_name_year_for_missing_dates(tmp_path):
    path = tmp_path / "detections_2022.geojson"
    gpd.GeoDataFrame(
        {"detection_date": ["2021-11-30", None, "2022-02-01"]}, geometry=BOXES[:3], crs="EPSG:4326"
    ).to_file(path)
    res = load_mining(path)
    assert list(res.data["year"]) == [2021, 2022, 2022]
    assert any("take the file-name year 2022" in w for w in res.warnings)
    assert any("other than the file-name year 2022" in w for w in res.warnings)


def test_one_file_per_year_from_the_names_in_shapefile_and_geoparquet(tmp_path):
    # a shapefile cuts names to 10 characters: the mined area in hectares as mined_ha
    gpd.GeoDataFrame({"mined_ha": [5.0]}, geometry=BOXES[:1], crs="EPSG:4326").to_file(tmp_path / "scars_2019.shp")
    gpd.GeoDataFrame({"Mined area (ha)": [7.0, 1.0]}, geometry=BOXES[1:3], crs="EPSG:4326").to_parquet(
        tmp_path / "scars_2020.parquet"
    )
    res = load_mining([tmp_path / "scars_2019.shp", tmp_path / "scars_2020.parquet"])
    assert list(res.data["year"]) == [2019, 2020, 2020]
    assert list(res.data["source"]) == ["scars_2019.shp", "scars_2020.parquet", "scars_2020.parquet"]
    assert list(res.data["footprint_id"]) == ["scars_2019:1", "scars_2020:1", "scars_2020:2"]
    assert np.allclose(res.data["mined_km2"], [0.05, 0.07, 0.01])


def test_an_explicit_year_wins(tmp_path):
    gpd.GeoDataFrame({"year": [2001]}, geometry=BOXES[:1], crs="EPSG:4326").to_file(tmp_path / "m_2005.geojson")
    assert list(load_mining(tmp_path / "m_2005.geojson", year=2010).data["year"]) == [2010]


def test_invalid_polygons_are_repaired_and_empty_ones_rejected(tmp_path):
    bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    gpd.GeoDataFrame({"year": [2020, 2020]}, geometry=[bowtie, None], crs="EPSG:4326").to_file(tmp_path / "m.gpkg")
    res = load_mining(tmp_path / "m.gpkg")
    assert len(res.data) == 1 and res.data.geometry.iat[0].is_valid
    assert res.rejected["reason"].tolist() == ["no geometry"]
    assert any("repaired with make_valid" in w for w in res.warnings)


@pytest.mark.parametrize(
    ("setup", "kwargs", "match"),
    [
        (lambda d: gpd.GeoDataFrame(geometry=BOXES[:1], crs="EPSG:4326").to_file(d / "scars.geojson"), {}, "no year"),
        (
            lambda d: gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)], crs="EPSG:4326").to_file(d / "scars.geojson"),
            {"year": 2020},
            "no usable mining footprint",
        ),
        (lambda d: None, {"year": 20}, "not a year"),
    ],
)
def test_unusable_inputs_raise(tmp_path, setup, kwargs, match):
    setup(tmp_path)
    with pytest.raises(LayerError, match=match):
        load_mining(tmp_path / "scars.geojson", **kwargs)


def test_the_same_file_twice_and_no_file_are_refused(tmp_path):
    gpd.GeoDataFrame(geometry=BOXES[:1], crs="EPSG:4326").to_file(tmp_path / "m_2019.geojson")
    with pytest.raises(LayerError, match="given twice"):
        load_mining([tmp_path / "m_2019.geojson", tmp_path / "m_2019.geojson"])
    with pytest.raises(LayerError, match="no mining file"):
        load_mining([])
