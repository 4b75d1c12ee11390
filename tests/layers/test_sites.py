"""load_sites: formats, schema, every rejection reason, duplicates, IPIS visits and the real AMW/Peru files."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layers.dates import parse_dates
from layers.errors import LayerError
from layers.schema import AMALGAMATION, COMMODITIES, CYANIDATION, MERCURY_USE, RETORT, SITE_COLUMNS, LoadResult
from layers.site_coordinates import (
    REASON_BAD_WKT,
    REASON_EMPTY_GEOMETRY,
    REASON_LAT_RANGE,
    REASON_LINE,
    REASON_LON_RANGE,
    REASON_MISSING,
    REASON_MULTIPOINT,
    REASON_NO_AREA,
    REASON_NON_NUMERIC,
)
from layers.sites import AMW_SOURCE, REASON_DUPLICATE_ID
from tests.loaders import load_sites

# Real places: Kamituga and Misisi (South Kivu, DRC), Mongbwalu (Ituri, DRC), Madre de Dios (Peru)
KAMITUGA = (28.18, -3.06)
MISISI = (28.95, -4.55)
MONGBWALU = (30.03, 1.95)


def accounted(result: LoadResult) -> int:
    """Every input row: loaded + rejected + folded (IPIS visits) + merged (duplicates)."""
    a = result.data.attrs
    return result.n_loaded + result.n_rejected + a["n_folded_rows"] + a["n_merged_rows"]


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def sites_gdf(n: int = 3) -> gpd.GeoDataFrame:
    pts = [KAMITUGA, MISISI, MONGBWALU][:n]
    return gpd.GeoDataFrame(
        {
            "site_id": [f"K{i}" for i in range(n)],
            "name": ["Kamituga", "Misisi", "Mongbwalu"][:n],
            "mineral": ["or"] * n,
        },
        geometry=[shapely.Point(x, y) for x, y in pts],
        crs="EPSG:4326",
    )


# --- a real-world-like French field-team CSV ---------------------------------------------------------
FRENCH = (
    "Nom du site;Latitude;Longitude;Substance;Nombre d'orpailleurs;Utilisation du mercure;Date de visite\n"
    "Kamituga Décharge;-3,0612;28,1815;Or;350;oui;15/03/2023\n"  # 1
    "Misisi-Lubichako;-4,5531;28,9502;Or et cassitérite;1 200;non;02/11/2022\n"  # 2
    "Site sans coordonnées;;28,5;Or;10;oui;01/01/2023\n"  # 3 missing coordinate
    "Kalima Carrière;abc;26,51;Cassitérite;80;non;03/04/2023\n"  # 4 non-numeric
    "Erreur de saisie;95,2;27,0;Or;5;oui;\n"  # 5 latitude out of range
    "Kamituga Décharge;-3,0612;28,1815;coltan;420;;20/06/2023\n"  # 6 duplicate of 1 -> merged
    "Mongbwalu Adidi;1,9500;30,0300;Or;;Oui;2023-07-01\n"  # 7
)


def test_french_field_team_csv(tmp_path: Path) -> None:
    p = write(tmp_path, "equipe_terrain.csv", FRENCH, encoding="latin-1")
    r = load_sites(p)
    assert accounted(r) == 7
    assert r.n_loaded == 3
    assert r.data.attrs["n_merged_rows"] == 1
    assert sorted(zip(r.rejected["row_number"], r.rejected["reason"], strict=True)) == [
        (3, REASON_MISSING),
        (4, REASON_NON_NUMERIC),
        (5, REASON_LAT_RANGE),
    ]
    d = r.data.set_index("name")
    assert list(d.index) == ["Kamituga Décharge", "Misisi-Lubichako", "Mongbwalu Adidi"]
    k = d.loc["Kamituga Décharge"]
    assert k["lat"] == pytest.approx(-3.0612) and k["lon"] == pytest.approx(28.1815)  # decimal commas
    assert k["commodities"] == "gold;coltan" and k["commodity"] == "gold"  # merged
    assert k["workers"] == 420.0  # max of the merged rows
    assert k["mercury_use"] == "yes"
    assert k["observed_date"] == pd.Timestamp("2023-06-20")  # latest of the merged rows
    m = d.loc["Misisi-Lubichako"]
    assert m["commodities"] == "gold;cassiterite" and m["commodity_original"] == "Or et cassitérite"
    assert m["workers"] == 1200.0  # "1 200" with a thousands space
    assert m["mercury_use"] == "no"
    assert m["observed_date"] == pd.Timestamp("2022-11-02")  # day first
    assert d.loc["Mongbwalu Adidi", "observed_date"] == pd.Timestamp("2023-07-01")
    assert np.isnan(d.loc["Mongbwalu Adidi", "workers"])
    assert set(r.data["country_iso3"]) == {"COD"}
    assert set(r.data["source"]) == {"equipe_terrain.csv"}
    assert any("merged" in w and "rows 6" in w for w in r.warnings)
    assert any("cp1252" in w for w in r.warnings)  # latin-1 bytes of é decode as cp1252 too
    # rejected rows keep their original text, to be fixed and reloaded
    assert r.rejected.set_index("row_number").loc[4, "Latitude"] == "abc"


def test_output_schema_and_types(tmp_path: Path) -> None:
    p = write(tmp_path, "s.csv", "name,lat,lon,commodity,workers\nA,-3.06,28.18,gold,10\n")
    r = load_sites(p)
    d = r.data
    assert list(d.columns[: len(SITE_COLUMNS)]) == list(SITE_COLUMNS)
    # originals follow; those colliding with schema names are kept as orig_<name>
    assert list(d.columns[len(SITE_COLUMNS) :]) == [
        "orig_name",
        "orig_lat",
        "orig_lon",
        "orig_commodity",
        "orig_workers",
    ]
    assert d.crs.to_epsg() == 4326
    assert d["observed_date"].dtype == "datetime64[ns]"
    assert d["workers"].dtype == "float64" and d["area_km2"].dtype == "float64"
    assert d["area_km2"].tolist() == [0.0]
    assert d["orig_lat"].tolist() == ["-3.06"]
    assert set(d["commodity"]) <= set(COMMODITIES)
    assert set(d["mercury_use"]) <= set(MERCURY_USE)
    assert set(d["amalgamation"]) <= set(AMALGAMATION) and set(d["retort"]) <= set(RETORT)
    assert set(d["cyanidation"]) <= set(CYANIDATION) and d["notes"].tolist() == [""]
    assert d.geometry.iloc[0].equals(shapely.Point(28.18, -3.06))


# --- one test per rejection reason --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        (["A,,28.1", "B,-3.1,"], REASON_MISSING),
        (["A,abc,28.1", "B,-3.1,x"], REASON_NON_NUMERIC),
        (["A,95,28.1", "B,-90.5,28.1"], REASON_LAT_RANGE),
        (["A,-3.1,-181", "B,-3.1,400"], REASON_LON_RANGE),
    ],
)
def test_rejection_reasons_csv(tmp_path: Path, rows: list[str], reason: str) -> None:
    p = write(tmp_path, "s.csv", "name,lat,lon\nGood,-3.06,28.18\n" + "\n".join(rows) + "\n")
    r = load_sites(p)
    assert r.n_loaded == 1
    assert r.rejected["reason"].tolist() == [reason, reason]
    assert r.rejected["row_number"].tolist() == [2, 3]
    assert accounted(r) == 3


def test_rejection_empty_geometry(tmp_path: Path) -> None:
    g = gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=[shapely.Point(*KAMITUGA), None], crs="EPSG:4326")
    p = tmp_path / "s.geojson"
    g.to_file(p)
    r = load_sites(p)
    assert r.rejected["reason"].tolist() == [REASON_EMPTY_GEOMETRY]
    assert r.rejected["row_number"].tolist() == [2]


def test_all_null_geometries(tmp_path: Path) -> None:
    g = gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=[None, None], crs="EPSG:4326")
    p = tmp_path / "s.geojson"
    g.to_file(p)
    with pytest.raises(LayerError, match=r"no usable sites: 2 rows rejected, e\.g\. 'empty geometry' ×2"):
        load_sites(p)


def test_rejection_duplicate_site_id(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "s.csv",
        "site_id,name,lat,lon\nX1,A,-3.06,28.18\nX1,B,-4.55,28.95\nX1,A,-4.55,28.95\nX2,A,-3.06,28.18\n",
    )
    r = load_sites(p)
    assert r.rejected["reason"].tolist() == [REASON_DUPLICATE_ID, REASON_DUPLICATE_ID]
    assert r.rejected["row_number"].tolist() == [2, 3]
    assert r.data["site_id"].tolist() == ["X1", "X2"]  # X2 is another id at the same place: a distinct site
    assert accounted(r) == 4


@pytest.mark.parametrize(
    ("geom", "reason"),
    [
        (shapely.LineString([(28, -3), (28.1, -3.1)]), REASON_LINE),
        (shapely.MultiPoint([(28, -3), (28.1, -3.1)]), REASON_MULTIPOINT),
        (shapely.Polygon([(28, -3), (29, -4), (30, -5), (28, -3)]), REASON_NO_AREA),  # collinear: no area
        (shapely.box(28, 89.5, 28.1, 90.5), REASON_LAT_RANGE),
    ],
)
def test_rejection_geometry_reasons(tmp_path: Path, geom: shapely.Geometry, reason: str) -> None:
    g = gpd.GeoDataFrame({"name": ["good", "bad"]}, geometry=[shapely.Point(*KAMITUGA), geom], crs="EPSG:4326")
    p = tmp_path / "s.gpkg"
    g.to_file(p, layer="sites")
    r = load_sites(p)
    assert r.rejected["reason"].tolist() == [reason]
    assert r.rejected["row_number"].tolist() == [2]
    assert "geometry_wkt" in r.rejected.columns


def test_rejection_bad_wkt(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "s.csv",
        'name;wkt\nA;POINT (28.18 -3.06)\nB;POINT (28.18\nC;\nD;"POLYGON ((28 -3, 28.1 -3, 28.1 -3.1, 28 -3.1, 28 -3))"\n',
    )
    r = load_sites(p)
    assert sorted(zip(r.rejected["row_number"], r.rejected["reason"], strict=True)) == [
        (2, REASON_BAD_WKT),
        (3, REASON_EMPTY_GEOMETRY),
    ]
    assert r.data["area_km2"].iloc[1] > 100  # 0.1° × 0.1° near the equator ≈ 123 km²


def test_no_usable_rows_is_a_layer_error(tmp_path: Path) -> None:
    p = write(tmp_path, "s.csv", "name,lat,lon\n" + "A,,\n" * 12)
    with pytest.raises(
        LayerError, match=r"no usable sites: 12 rows rejected, e\.g\. 'missing coordinate' ×12.*Fix: fill in"
    ):
        load_sites(p)


def test_projected_coordinates_without_crs_suggest_crs(tmp_path: Path) -> None:
    p = write(tmp_path, "s.csv", "name,x,y\nA,500000,9660000\n")
    with pytest.raises(LayerError, match=r"no usable sites.*crs='EPSG:"):
        load_sites(p)


def test_no_coordinate_columns_lists_columns(tmp_path: Path) -> None:
    p = write(tmp_path, "s.csv", "site,where\nA,somewhere\n")
    with pytest.raises(LayerError, match=r"no coordinate columns found; the columns are \['site', 'where'\].*latitude"):
        load_sites(p)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("s.csv", b""),
        ("s.csv", b"name,lat,lon\n"),
        ("s.geojson", b'{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Po'),
        ("s.gpkg", b"SQLite format 3\x00 garbage garbage"),
        ("s.shp", b"\x00\x00\x27\x0a garbage"),
        ("s.kml", b"<kml><Document><Placemark><Point><coordinates>28"),
        ("s.xlsx", b"not a workbook"),
        ("s.parquet", b"PAR1garbage"),
        ("s.doc", b"whatever"),
    ],
)
def test_broken_files_raise_layer_error(tmp_path: Path, name: str, content: bytes) -> None:
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(LayerError):
        load_sites(p)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400))
def test_random_bytes_only_raise_layer_error(tmp_path: Path, data: bytes) -> None:
    p = tmp_path / "random.csv"
    p.write_bytes(data)
    try:
        r = load_sites(p)
    except LayerError:
        return
    assert accounted(r) == r.data.attrs["n_input_rows"]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cells=st.lists(
        st.tuples(
            st.sampled_from(["", "abc", "-3,5", "95", "28.1", "1e3", "-", "3°27'S"]),
            st.sampled_from(["", "x", "28,1", "-181", "10"]),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_csv_rows_always_accounted_for(tmp_path: Path, cells: list[tuple[str, str]]) -> None:
    p = tmp_path / "fuzz.csv"
    p.write_text("name;lat;lon\n" + "".join(f"n{i};{a};{b}\n" for i, (a, b) in enumerate(cells)))
    try:
        r = load_sites(p)
    except LayerError as e:
        assert "no usable sites" in str(e)
        return
    assert accounted(r) == len(cells)


# --- coordinates ------------------------------------------------------------------------------------
def test_longitudes_0_360_converted_with_warning(tmp_path: Path) -> None:
    p = write(tmp_path, "s.csv", "name,lat,lon\nA,-3.06,28.18\nB,-12.0,290.0\n")
    r = load_sites(p)
    assert r.data["lon"].tolist() == pytest.approx([28.18, -70.0])
    assert any("0–360" in w for w in r.warnings)


def test_single_longitude_above_180_is_rejected_not_converted(tmp_path: Path) -> None:
    p = write(tmp_path, "s.csv", "name,lat,lon\nA,-3.06,28.18\nB,-12.0,-70.0\nC,-12.0,290.0\n")
    r = load_sites(p)
    assert r.rejected["reason"].tolist() == [REASON_LON_RANGE]


def test_swapped_latitude_longitude_out_of_range_warns(tmp_path: Path) -> None:
    p = write(tmp_path, "s.csv", "name,lat,lon\nA,-3.06,28.18\nB,-70.2,-12.5\nC,98.0,1.0\n")
    r = load_sites(p)
    assert r.rejected["row_number"].tolist() == [3]
    assert any("look swapped" in w and "rows 3" in w for w in r.warnings)


def test_swapped_point_outside_countries_warns(tmp_path: Path) -> None:
    # a Brazilian site (lon -50, lat -7) written swapped falls in the South Atlantic
    p = write(tmp_path, "s.csv", "name,lat,lon\nA,-3.06,28.18\nB,-50.0,-7.0\n")
    r = load_sites(p)
    assert r.n_loaded == 2  # kept: both are valid coordinates
    assert pd.isna(r.data["country_iso3"].iloc[1])
    assert any("swapped" in w and "rows 2" in w for w in r.warnings)


def test_degrees_minutes_seconds(tmp_path: Path) -> None:
    p = write(tmp_path, "s.csv", "name;lat;lon\nA;3°03'40\"S;28°10'53\"E\n")
    r = load_sites(p)
    assert r.data["lat"].iloc[0] == pytest.approx(-(3 + 3 / 60 + 40 / 3600))
    assert r.data["lon"].iloc[0] == pytest.approx(28 + 10 / 60 + 53 / 3600)


def test_projected_csv_with_crs(tmp_path: Path) -> None:
    p = write(tmp_path, "s.csv", "name,x,y\nA,500000,9660000\n")
    r = load_sites(p, crs="EPSG:32735")  # UTM 35S: central meridian 27°E
    assert r.data["lon"].iloc[0] == pytest.approx(27.0)
    assert r.data["lat"].iloc[0] == pytest.approx(-3.0760570, abs=1e-6)
    assert r.data["country_iso3"].iloc[0] == "COD"


def test_unknown_crs(tmp_path: Path) -> None:
    p = write(tmp_path, "s.csv", "name,x,y\nA,500000,9660000\n")
    with pytest.raises(LayerError, match=r"unknown CRS 'EPSG:999999'"):
        load_sites(p, crs="EPSG:999999")


@pytest.mark.parametrize(
    "header", ["Latitude (DD),Longitude (DD)", "LAT_WGS84,LON_DD", "latitud,longitud", "Y_GEO,X_GEO", "Lat,Lng", "y,x"]
)
def test_coordinate_column_names(tmp_path: Path, header: str) -> None:
    p = write(tmp_path, "s.csv", f"{header}\n-3.06,28.18\n")
    assert load_sites(p).data["lon"].tolist() == [28.18]


# --- polygons ----------------------------------------------------------------------------------------
def test_polygon_area_and_representative_point(tmp_path: Path) -> None:
    g = gpd.GeoDataFrame({"name": ["cell"]}, geometry=[shapely.box(0, 0, 1, 1)], crs="EPSG:4326")
    p = tmp_path / "poly.geojson"
    g.to_file(p)
    r = load_sites(p)
    row = r.data.iloc[0]
    assert row["area_km2"] == pytest.approx(12308.78, rel=1e-5)  # 1°×1° at the equator on WGS84
    assert shapely.box(0, 0, 1, 1).contains(shapely.Point(row["lon"], row["lat"]))
    assert row.geometry.geom_type == "Polygon"


def test_invalid_polygon_is_repaired(tmp_path: Path) -> None:
    bowtie = shapely.Polygon([(28, -3), (28.1, -3.1), (28.1, -3), (28, -3.1), (28, -3)])
    assert not bowtie.is_valid
    g = gpd.GeoDataFrame({"name": ["bowtie"]}, geometry=[bowtie], crs="EPSG:4326")
    p = tmp_path / "poly.gpkg"
    g.to_file(p)
    r = load_sites(p)
    geom = r.data.geometry.iloc[0]
    assert geom.is_valid and geom.geom_type == "MultiPolygon"
    assert r.data["area_km2"].iloc[0] == pytest.approx(61.6, rel=0.01)  # two triangles, half of 0.1°×0.1°


def test_projected_vector_is_reprojected(tmp_path: Path) -> None:
    g = gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.Point(500000, 9660000)], crs="EPSG:32735")
    p = tmp_path / "utm.gpkg"
    g.to_file(p)
    r = load_sites(p)
    assert r.data["lon"].iloc[0] == pytest.approx(27.0)
    assert r.data.crs.to_epsg() == 4326


# --- formats ---------------------------------------------------------------------------------------------
def _check_three(r: LoadResult) -> None:
    assert r.n_loaded == 3 and r.n_rejected == 0
    assert sorted(r.data["name"]) == ["Kamituga", "Misisi", "Mongbwalu"]
    assert set(r.data["commodity"]) == {"gold"}
    assert r.data.set_index("name").loc["Misisi", "lon"] == pytest.approx(28.95)


@pytest.mark.parametrize(
    ("name", "sep", "encoding"),
    [
        ("s.csv", ",", "utf-8"),
        ("s.tsv", "\t", "utf-8"),
        ("s.txt", "|", "utf-8"),
        ("s.csv", ";", "utf-8-sig"),
        ("s.csv", ";", "cp1252"),
    ],
)
def test_delimited_formats(tmp_path: Path, name: str, sep: str, encoding: str) -> None:
    rows = [["site_id", "name", "latitude", "longitude", "minerai"]] + [
        [f"K{i}", n, str(y), str(x), "or"]
        for i, (n, (x, y)) in enumerate(
            zip(["Kamituga", "Misisi", "Mongbwalu"], [KAMITUGA, MISISI, MONGBWALU], strict=True)
        )
    ]
    text = "\n".join(sep.join(r) for r in rows) + "\n"
    p = write(tmp_path, name, text, encoding)
    r = load_sites(p)
    _check_three(r)
    assert list(r.data.columns).count("site_id") == 1 and "orig_site_id" in r.data.columns


def test_bom_header_is_clean(tmp_path: Path) -> None:
    p = write(tmp_path, "s.csv", "lat;lon;Nom\n-3,06;28,18;Décharge\n", "utf-8-sig")
    r = load_sites(p)
    assert "orig_lat" in r.data.columns and not any("\ufeff" in c for c in r.data.columns)
    assert r.data["name"].tolist() == ["Décharge"]


def test_cp1252_names(tmp_path: Path) -> None:
    p = write(tmp_path, "s.csv", "nom;lat;lon\nMine “Nord” – Kamituga;-3,06;28,18\n", "cp1252")
    r = load_sites(p)
    assert r.data["name"].tolist() == ["Mine “Nord” – Kamituga"]


def test_xlsx_first_sheet_and_named_sheet(tmp_path: Path) -> None:
    p = tmp_path / "s.xlsx"
    df = pd.DataFrame(sites_gdf().drop(columns="geometry")).assign(
        lat=[KAMITUGA[1], MISISI[1], MONGBWALU[1]], lon=[KAMITUGA[0], MISISI[0], MONGBWALU[0]]
    )
    df["date"] = pd.to_datetime(["2023-01-05", "2023-02-06", "2023-03-07"])
    with pd.ExcelWriter(p) as xl:
        df.to_excel(xl, sheet_name="Sites", index=False)
        df.iloc[:1].to_excel(xl, sheet_name="Other", index=False)
    r = load_sites(p)
    _check_three(r)
    assert r.data["observed_date"].tolist()[0] == pd.Timestamp("2023-01-05")
    assert load_sites(p, layer="Other").n_loaded == 1


def test_xlsx_row_numbers_match_excel_rows(tmp_path: Path) -> None:
    p = tmp_path / "s.xlsx"
    df = pd.DataFrame(
        {
            "name": ["A", None, "C", None, None],
            "lat": [-3.06, None, 95.0, None, None],
            "lon": [28.18, None, 28.0, None, None],
        }
    )
    df.to_excel(p, index=False)  # Excel rows 2..6; rows 5-6 are trailing empties
    r = load_sites(p)
    assert r.n_loaded == 1
    assert r.rejected[["row_number", "reason"]].values.tolist() == [[2, REASON_MISSING], [3, REASON_LAT_RANGE]]


def test_geojson(tmp_path: Path) -> None:
    p = tmp_path / "s.geojson"
    sites_gdf().to_file(p)
    _check_three(load_sites(p))


def test_gpkg_two_layers(tmp_path: Path) -> None:
    p = tmp_path / "s.gpkg"
    sites_gdf().to_file(p, layer="sites")
    sites_gdf(1).to_file(p, layer="visits")
    with pytest.raises(LayerError, match=r"2 layers \['sites', 'visits'\] and none was chosen.*layer="):
        load_sites(p)
    _check_three(load_sites(p, layer="sites"))
    assert load_sites(p, layer="visits").n_loaded == 1
    with pytest.raises(LayerError, match=r"no layer named 'nope'"):
        load_sites(p, layer="nope")


def test_plain_and_zipped_shapefile(tmp_path: Path) -> None:
    shp_dir = tmp_path / "shp"
    shp_dir.mkdir()
    sites_gdf().to_file(shp_dir / "sites.shp")
    _check_three(load_sites(shp_dir / "sites.shp"))
    z = tmp_path / "sites.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in shp_dir.iterdir():
            zf.write(f, f"folder/{f.name}")
    before = set(tmp_path.rglob("*"))
    r = load_sites(z)
    _check_three(r)
    assert set(tmp_path.rglob("*")) == before  # nothing extracted
    assert r.source == "sites.zip"


def test_geoparquet(tmp_path: Path) -> None:
    p = tmp_path / "s.parquet"
    sites_gdf().to_parquet(p)
    _check_three(load_sites(p))


def test_kml(tmp_path: Path) -> None:
    drivers = pyogrio.list_drivers()
    if not ({"KML", "LIBKML"} & set(drivers)) or "w" not in drivers.get("KML", ""):
        pytest.skip("this GDAL has no KML driver")
    p = tmp_path / "s.kml"
    g = sites_gdf()[["name", "geometry"]].rename(columns={"name": "Name"})
    g.to_file(p, driver="KML")
    r = load_sites(p)
    assert r.n_loaded == 3
    assert sorted(r.data["name"]) == ["Kamituga", "Misisi", "Mongbwalu"]


# --- attributes ------------------------------------------------------------------------------------------
def test_generated_ids_are_stable_and_order_independent(tmp_path: Path) -> None:
    a = write(tmp_path, "s.csv", "name,lat,lon\nA,-3.06,28.18\nB,-4.55,28.95\n")
    ids1 = load_sites(a).data.set_index("name")["site_id"]
    (tmp_path / "other").mkdir()
    b = write(tmp_path / "other", "s.csv", "name,lat,lon\nB,-4.55,28.95\nA,-3.06,28.18\n")
    ids2 = load_sites(b).data.set_index("name")["site_id"]
    assert ids1.to_dict() == ids2.to_dict()
    assert ids1["A"].startswith("S") and len(ids1["A"]) == 11
    assert load_sites(a).data["site_id"].tolist() == ids1.tolist()


def test_generated_duplicate_rows_are_merged(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "s.csv",
        "name,lat,lon,commodity,workers\nA,-3.06,28.18,gold,10\nA,-3.06,28.18,diamond,30\nA,-3.07,28.18,gold,5\n",
    )
    r = load_sites(p)
    assert r.n_loaded == 2 and r.data.attrs["n_merged_rows"] == 1
    first = r.data.iloc[0]
    assert first["commodities"] == "gold;diamond" and first["workers"] == 30.0
    assert accounted(r) == 3


def test_country_columns(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "s.csv",
        "name,lat,lon,pays\nA,-3.06,28.18,RDC\nB,-3.06,28.18,brasil\nC,-4.55,28.95,\nD,-4.55,28.95,Atlantis\n",
    )
    r = load_sites(p)
    # names are trusted where they map to a country; blanks and unknown names are filled spatially
    assert r.data["country_iso3"].tolist() == ["COD", "BRA", "COD", "COD"]
    q = write(tmp_path, "t.csv", "name,lat,lon,iso3\nA,-3.06,28.18,cod\nB,-3.06,28.18,XXX\n")
    assert load_sites(q).data["country_iso3"].tolist() == ["COD", "COD"]


def test_countries_argument_is_used(tmp_path: Path) -> None:
    mine = gpd.GeoDataFrame(
        {"iso3": ["ZZZ"], "name": ["Test"], "geometry": [shapely.box(20, -10, 40, 10)]}, crs="EPSG:4326"
    )
    p = write(tmp_path, "s.csv", "name,lat,lon\nA,-3.06,28.18\n")
    assert load_sites(p, countries=mine).data["country_iso3"].tolist() == ["ZZZ"]


def test_mercury_processing_and_production(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "s.csv",
        "name;lat;lon;mercure;traitement;production_or_g_an\n"
        "A;-3,06;28,18;;amalgamation du minerai entier;1500\n"
        "B;-4,55;28,95;non;gravimétrie;250,5\n"
        "C;1,95;30,03;1;retorte;\n",
    )
    result = load_sites(p)
    d = result.data
    assert d["amalgamation"].tolist() == ["whole_ore", "none", "unknown"]
    assert d["retort"].tolist() == ["unknown", "no", "yes"]  # C: the 1.x value 'retort', as free text
    assert d["mercury_use"].tolist() == ["yes", "no", "yes"]  # A: implied by amalgamation
    assert d["gold_kg_per_yr"].tolist()[:2] == pytest.approx([1.5, 0.2505])
    assert np.isnan(d["gold_kg_per_yr"].iloc[2])


def test_old_processing_vocabulary_keeps_loading_mapped_with_a_note(tmp_path: Path) -> None:
    """A file written for asm-risk-model 1.x: one processing column with 'retort' and 'cyanidation'."""
    p = write(
        tmp_path,
        "old.csv",
        "name,lat,lon,commodity,mercury_use,processing\n"
        "A,-3.06,28.18,gold,unknown,retort\n"
        "B,-4.55,28.95,gold,yes,cyanidation\n"
        "C,1.95,30.03,gold,unknown,whole_ore_amalgamation\n"
        "D,1.90,30.00,gold,no,gravity_only\n",
    )
    result = load_sites(p)
    d = result.data
    assert d["amalgamation"].tolist() == ["unknown", "unknown", "whole_ore", "none"]
    assert d["retort"].tolist() == ["yes", "unknown", "unknown", "no"]
    assert d["cyanidation"].tolist() == ["unknown", "yes", "unknown", "no"]
    assert d["mercury_use"].tolist() == ["yes", "yes", "yes", "no"]  # a retort or amalgamation implies mercury
    assert "processing 'retort' read as amalgamation of unknown type with a retort" in d["notes"].iloc[0]
    # B: cyanidation (1.x: mercury-free) at a site that uses mercury -> cyanidation of mercury-bearing material
    assert "processing 'cyanidation'" in d["notes"].iloc[1] and "type read as unknown" in d["notes"].iloc[1]
    assert d["notes"].iloc[2] == "" and d["notes"].iloc[3] == ""
    assert any("old processing vocabulary" in w and "notes column" in w for w in result.warnings)


def test_practice_columns_of_the_new_vocabulary(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "new.csv",
        "name,lat,lon,commodity,mercury_use,amalgamation,retort,cyanidation\n"
        "A,-3.06,28.18,gold,yes,whole_ore,no,yes\n"
        "B,-4.55,28.95,gold,,concentrate,yes,no\n"
        "C,1.95,30.03,gold,no,none,,\n",
    )
    d = load_sites(p).data
    assert d[["mercury_use", "amalgamation", "retort", "cyanidation"]].values.tolist() == [
        ["yes", "whole_ore", "no", "yes"],
        ["yes", "concentrate", "yes", "no"],
        ["no", "none", "unknown", "unknown"],
    ]
    assert (d["notes"] == "").all()


def test_no_commodity_column_warns(tmp_path: Path) -> None:
    r = load_sites(write(tmp_path, "s.csv", "lat,lon\n-3.06,28.18\n"))
    assert r.data["commodity"].tolist() == ["other"]
    assert any("no commodity column" in w for w in r.warnings)


def test_source_argument(tmp_path: Path) -> None:
    r = load_sites(write(tmp_path, "s.csv", "lat,lon\n-3.06,28.18\n"), source="Field survey 2023")
    assert r.source == "Field survey 2023" and r.data["source"].tolist() == ["Field survey 2023"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2023-07-01", "2023-07-01"),
        ("15/03/2023", "2023-03-15"),
        ("15.03.2023", "2023-03-15"),
        ("05/03/23", "2023-03-05"),
        ("2019", "2019-01-01"),
        (201900, "2019-01-01"),
        (45000, "2023-03-15"),  # Excel serial day
        ("not a date", None),
        ("0201-05-03", None),  # a typo, and outside the datetime64[ns] range
        ("-1", None),
        (None, None),
    ],
)
def test_parse_dates(value: object, expected: str | None) -> None:
    out = parse_dates(pd.Series([value], dtype="object"))
    assert out.dtype == "datetime64[ns]"
    if expected is None:
        assert pd.isna(out.iloc[0])
    else:
        assert out.iloc[0] == pd.Timestamp(expected)


# --- IPIS ----------------------------------------------------------------------------------------------
def test_ipis_visits_fold_to_latest(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "ipis.csv",
        "pcode,name,longitude,latitude,visit_date,mineral1,mineral2,mineral3,workers_numb,mercury,province\n"
        "codmine00001,Kamituga A,28.18,-3.06,2015-05-01,Or,,,100,0,Sud-Kivu\n"
        "codmine00001,Kamituga A,28.1801,-3.0601,2019-05-01,Or,Cassitérite,,250,1,Sud-Kivu\n"
        "codmine00002,Misisi,28.95,-4.55,2018-01-01,Or,,,40,,Sud-Kivu\n"
        "codmine00001,Kamituga A,28.18,-3.06,2017-05-01,Or,,,150,0,Sud-Kivu\n"
        "codmine00003,Bad,,,2018-01-01,Coltan,,,5,0,Sud-Kivu\n",
    )
    r = load_sites(p)
    assert r.n_loaded == 2 and r.n_rejected == 1 and r.data.attrs["n_folded_rows"] == 2
    assert accounted(r) == 5
    k = r.data.set_index("site_id").loc["codmine00001"]
    assert k["workers"] == 250.0 and k["commodities"] == "gold;cassiterite" and k["mercury_use"] == "yes"
    assert k["observed_date"] == pd.Timestamp("2019-05-01")
    assert any("2 earlier visits folded" in w for w in r.warnings)
    assert "province" in r.data.columns


# --- real datasets ---------------------------------------------------------------------------------------
def test_real_amazon_mining_watch_2024(shared_data: Path) -> None:
    p = shared_data / "amazon_mining_watch" / "mining_202400_simplified.geojson"
    r = load_sites(p)
    assert accounted(r) == 5232
    d = r.data
    assert (
        set(d["commodity"]) == {"gold"}
        and set(d["mercury_use"]) == {"unknown"}
        and set(d["amalgamation"]) == {"unknown"}
    )
    assert set(d["source"]) == {AMW_SOURCE}
    assert set(d.geometry.geom_type) <= {"Polygon", "MultiPolygon"}
    assert (d["area_km2"] > 0).all()
    # the mined area the detector reports lies inside the polygon (ha = km² × 100; simplification slack 2 %)
    assert (d["Mined area (ha)"] <= d["area_km2"] * 100 * 1.02).all()
    assert set(d["observed_date"].dt.year.unique()) == {2024}
    assert {"BRA", "PER"} <= set(d["country_iso3"].dropna())
    assert d["site_id"].is_unique


def test_real_amazon_basin_cumulative(shared_data: Path) -> None:
    p = shared_data / "amazon_mining_watch" / "amazon_basin_48px_v0.X-SSL4EO-MLPensemble2025Q4diff-clean-gt11ha.geojson"
    r = load_sites(p)
    assert accounted(r) == 1293
    assert r.data["site_id"].is_unique
    # 4 polygons are listed twice in this file: merged, not lost
    assert r.data.attrs["n_merged_rows"] == 4 and r.n_loaded == 1289
    # independent check of the geodesic area: the file's own 'Polygon area (ha)'
    np.testing.assert_allclose(r.data["area_km2"] * 100, r.data["Polygon area (ha)"], rtol=3e-3)


def test_real_peru_inventory(shared_data: Path) -> None:
    p = shared_data / "amazon_mining_watch" / "BD_MineriaAurifera_Peru-curated2026-04-06.geojson"
    r = load_sites(p)
    assert accounted(r) == 1024
    d = r.data
    assert set(d["country_iso3"]) == {"PER"} and set(d["commodity"]) == {"gold"}
    assert (d["area_km2"] == 0).all()
    assert d["site_id"].is_unique
    # ids repeated at another place (ids 1187 and 1196, 120 m and 1.4 km apart) are rejected, not silently dropped
    assert r.rejected["row_number"].tolist() == [796, 805]
    assert set(r.rejected["reason"]) == {REASON_DUPLICATE_ID}
    assert r.rejected["id"].tolist() == [1187, 1196]
