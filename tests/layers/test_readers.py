"""Generic readers: delimiter/encoding sniffing, decimal commas, format dispatch and its errors."""

from __future__ import annotations

import zipfile
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from layers.errors import LayerError
from layers.formats import SITE_EXTENSIONS
from layers.readers import (
    detect_delimiter,
    detect_encoding,
    find_column,
    normalise_column_name,
    to_number,
)
from tests.loaders import ZIP_LIMITS, read_any


@pytest.mark.parametrize("delim", [",", ";", "\t", "|"])
def test_detect_delimiter(delim: str) -> None:
    text = delim.join(["name", "lat", "lon"]) + "\n" + delim.join(["a, b", "1,5", "2,5"]) + "\n"
    if delim == ",":
        text = 'name,lat,lon\n"a, b",1.5,2.5\n'
    assert detect_delimiter(text) == delim


def test_detect_delimiter_prefers_consistent_semicolons_over_decimal_commas() -> None:
    text = "nom;lat;lon\nKamituga;-3,06;28,18\nMisisi;-4,55;28,95\n"
    assert detect_delimiter(text) == ";"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Décharge".encode(), "utf-8-sig"),
        ("\ufeffDécharge".encode(), "utf-8-sig"),
        ("Décharge – “x”".encode("cp1252"), "cp1252"),
        (b"D\xe9charge \x81", "latin-1"),  # 0x81 is undefined in cp1252
    ],
)
def test_detect_encoding(raw: bytes, expected: str) -> None:
    assert detect_encoding(raw) == expected


def test_to_number_decimal_commas_and_bad_text() -> None:
    s = pd.Series(["-3,45", "1.234,5", " 12 ", "abc", None, "", "7.5", "−2,5"], dtype="object")
    values, bad = to_number(s)
    np.testing.assert_allclose(values.to_numpy()[[0, 1, 2, 6, 7]], [-3.45, 1234.5, 12.0, 7.5, -2.5])
    assert bad.tolist() == [False, False, False, True, False, False, False, False]
    assert values.isna().tolist() == [False, False, False, True, True, True, False, False]


def test_to_number_passes_numbers_through() -> None:
    values, bad = to_number(pd.Series([1, 2.5, None], dtype="object"))
    np.testing.assert_allclose(values.to_numpy(), [1.0, 2.5, np.nan])
    assert not bad.any()


@pytest.mark.parametrize(
    ("name", "expected"),
    [("Latitude (DD)", "latitude_dd"), ("Nombre d'orpailleurs", "nombre_d_orpailleurs"), ("  Longitud ", "longitud")],
)
def test_normalise_column_name(name: str, expected: str) -> None:
    assert normalise_column_name(name) == expected


def test_find_column_candidates_then_prefixes() -> None:
    assert find_column(["Nom", "LATITUDE (dd)", "x"], ["lat", "latitude_dd"]) == "LATITUDE (dd)"
    assert find_column(["latitude_sud"], ["lat"], prefixes=("latitude",)) == "latitude_sud"
    assert find_column(["a", "b"], ["lat"]) is None


def test_unsupported_extension_names_the_accepted_ones(tmp_path: Path) -> None:
    p = tmp_path / "sites.dbf"
    p.write_text("x")
    with pytest.raises(LayerError, match=r"unsupported file type '\.dbf'.*\.csv.*\.gpkg"):
        read_any(p)
    assert ".geojson" in SITE_EXTENSIONS


def test_xls_hint(tmp_path: Path) -> None:
    p = tmp_path / "old.xls"
    p.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(LayerError, match=r"save \.xls workbooks as \.xlsx"):
        read_any(p)


@pytest.mark.parametrize("make", ["missing", "dir", "empty"])
def test_missing_dir_empty(tmp_path: Path, make: str) -> None:
    p = tmp_path / "sites.csv"
    if make == "dir":
        p.mkdir()
    elif make == "empty":
        p.write_bytes(b"")
    with pytest.raises(LayerError, match=r"does not exist|folder|empty"):
        read_any(p)


def test_binary_bytes_in_csv(tmp_path: Path) -> None:
    p = tmp_path / "sites.csv"
    p.write_bytes(b"lat,lon\n\x00\x01\x02\x03")
    with pytest.raises(LayerError, match="not a text file"):
        read_any(p)


def test_csv_keeps_text_as_is(tmp_path: Path) -> None:
    p = tmp_path / "s.csv"
    p.write_text("id;lat\n007;-3,5\n")
    t = read_any(p)
    assert t.delimiter == ";"
    assert t.frame["id"].tolist() == ["007"]
    assert t.frame["lat"].tolist() == ["-3,5"]


def test_zip_without_shapefile(tmp_path: Path) -> None:
    p = tmp_path / "s.zip"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("readme.txt", "nothing here")
    with pytest.raises(LayerError, match=r"no shapefile"):
        read_any(p)


def test_zip_with_too_many_members(tmp_path: Path) -> None:
    p = tmp_path / "s.zip"
    with zipfile.ZipFile(p, "w") as zf:
        for i in range(5):
            zf.writestr(f"f{i}.txt", "x")
    with pytest.raises(LayerError, match=r"5 members \(limit 3\)"):
        read_any(p, zip_limits=replace(ZIP_LIMITS, max_members=3))


def test_not_a_zip(tmp_path: Path) -> None:
    p = tmp_path / "s.zip"
    p.write_bytes(b"this is no zip")
    with pytest.raises(LayerError, match="not a readable zip"):
        read_any(p)


def test_zip_with_two_shapefiles_needs_a_layer(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for stem in ("a", "b"):
        gpd.GeoDataFrame({"n": [stem]}, geometry=[shapely.Point(1, 2)], crs="EPSG:4326").to_file(src / f"{stem}.shp")
    p = tmp_path / "two.zip"
    with zipfile.ZipFile(p, "w") as zf:
        for f in src.iterdir():
            zf.write(f, f.name)
    with pytest.raises(LayerError, match=r"several layers \['a', 'b'\]|several layers \['b', 'a'\]"):
        read_any(p)
    assert read_any(p, layer="b").frame["n"].tolist() == ["b"]


def test_xlsx_missing_sheet(tmp_path: Path) -> None:
    p = tmp_path / "s.xlsx"
    pd.DataFrame({"lat": [1.0]}).to_excel(p, sheet_name="Sites", index=False)
    with pytest.raises(LayerError, match=r"no sheet named 'Other'; the sheets are \['Sites'\]"):
        read_any(p, layer="Other")


def test_corrupt_xlsx(tmp_path: Path) -> None:
    p = tmp_path / "s.xlsx"
    p.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(LayerError, match="cannot open the workbook"):
        read_any(p)


def test_corrupt_parquet(tmp_path: Path) -> None:
    p = tmp_path / "s.parquet"
    p.write_bytes(b"PAR1 not really")
    with pytest.raises(LayerError, match="Parquet"):
        read_any(p)


def test_plain_parquet_is_a_table(tmp_path: Path) -> None:
    p = tmp_path / "s.parquet"
    pd.DataFrame({"lat": [1.0], "lon": [2.0]}).to_parquet(p)
    t = read_any(p)
    assert t.kind == "table"
    assert t.frame["lon"].tolist() == [2.0]
