"""scoring.writers and the output column order: what a spreadsheet user sees in every format."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import zipfile
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import pytest
import shapely

from scoring.pipeline import load_config, ordered_output_columns
from scoring.writers import TABLE_FORMATS, neutralise_formula_text, write_table
from settings import Settings

BUFFERS = ("10", "1", "25", "5", "2.5")  # text order: 1, 10, 2.5, 25, 5


def _frame() -> gpd.GeoDataFrame:
    cols = {"site_id": ["a", "b"], "name": ["=cmd|'/C calc'!A0", "-2+3"]}
    for d in BUFFERS:
        cols[f"protected_areas_within_{d}km"] = [1, 2]
    cols["latitude"] = ["-1.696243", "+3.5"]  # pass-through text of a CSV, as the loader keeps it
    cols["code"] = ["-007", "@SUM(1)"]
    return gpd.GeoDataFrame(cols, geometry=[shapely.Point(0, 0), shapely.Point(1, 1)], crs="EPSG:4326")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-1.696243", "-1.696243"),
        ("+3.5", "+3.5"),
        ("-3,45", "-3,45"),
        ("-1e-5", "-1e-5"),
        ("-.5", "-.5"),
        ("-007", "-007"),
        ("=cmd|'/C calc'!A0", "'=cmd|'/C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("-1.5e3+A1", "'-1.5e3+A1"),
        ("+", "'+"),
        ("-", "'-"),
        ("@SUM(1)", "'@SUM(1)"),
        ("\t-1", "'\t-1"),
        ("-1.2.3", "'-1.2.3"),
    ],
)
def test_formula_neutralisation_leaves_numbers_alone(text: str, expected: str) -> None:
    assert neutralise_formula_text(text) == expected


def _header(path: Path) -> list[str]:
    ext = path.suffix
    if ext == ".csv":
        return next(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    if ext == ".xlsx":
        return [c.value for c in next(openpyxl.load_workbook(path)["Risk"].iter_rows(max_row=1))]
    if ext == ".geojson":
        return list(json.loads(path.read_text(encoding="utf-8"))["features"][0]["properties"])
    if ext == ".gpkg":
        with sqlite3.connect(path) as db:
            return [r[1] for r in db.execute("PRAGMA table_info(asm_risk)") if r[1] not in ("fid", "geom")]
    return [c for c in pq.read_schema(path).names if c != "geometry"]


def test_ordered_output_columns_put_buffers_in_numeric_order() -> None:
    cols = [c for c in ordered_output_columns(_frame()) if c.startswith("protected_areas_within_")]
    assert cols == [f"protected_areas_within_{d}km" for d in ("1", "2.5", "5", "10", "25")]


@pytest.mark.parametrize("ext", TABLE_FORMATS)
def test_every_writer_keeps_the_numeric_buffer_order_and_numbers(tmp_path: Path, ext: str) -> None:
    frame = _frame()
    out = tmp_path / f"risk{ext}"
    write_table(frame[ordered_output_columns(frame)], out, config=load_config(Settings()), sources=[], is_demo=False)
    header = [c for c in _header(out) if c.startswith("protected_areas_within_")]
    assert header == [f"protected_areas_within_{d}km" for d in ("1", "2.5", "5", "10", "25")]
    if ext == ".csv":
        rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
        assert [r["latitude"] for r in rows] == ["-1.696243", "+3.5"]
        assert [r["name"] for r in rows] == ["'=cmd|'/C calc'!A0", "'-2+3"]
        assert [r["code"] for r in rows] == ["-007", "'@SUM(1)"]
    if ext == ".xlsx":
        with zipfile.ZipFile(out) as zf:
            assert "<f>" not in zf.read("xl/worksheets/sheet1.xml").decode()
        sheet = openpyxl.load_workbook(out)["Risk"]
        values = {c.value: [sheet.cell(row=r, column=c.column).value for r in (2, 3)] for c in sheet[1]}
        assert values["latitude"] == ["-1.696243", "+3.5"]
        assert values["name"] == ["'=cmd|'/C calc'!A0", "'-2+3"]


def test_negative_numbers_from_a_csv_round_trip_through_the_cli_csv(tmp_path: Path) -> None:
    """The real case: an IPIS CSV's latitude column passes through as text and must come out as a number."""
    frame = pd.read_csv(io.StringIO("latitude\n-1.696243\n"), dtype="str")
    written = tmp_path / "t.csv"
    write_table(
        gpd.GeoDataFrame(frame, geometry=[shapely.Point(0, 0)], crs="EPSG:4326"),
        written, config=load_config(Settings()), sources=[], is_demo=False,
    )  # fmt: skip
    assert pd.read_csv(written)["latitude"].tolist() == [-1.696243]


def test_geoparquet_is_written_in_one_pass_with_the_about_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One write of the file, never read back (the second pass cost ~12 s at 1M rows), and the file is
    what GeoDataFrame.to_parquet writes plus the 'asm_risk_about' key: same 'geo' and 'pandas' metadata,
    same values."""
    frame = _frame()
    frame["category"] = pd.Categorical(["x", "y"])
    calls: list[str] = []
    real_write, real_read, real_file = pq.write_table, pq.read_table, pq.ParquetFile

    def counted_write(*args, **kwargs):  # the real writer, counted
        calls.append("write")
        return real_write(*args, **kwargs)

    def read_table(*args, **kwargs):
        calls.append("read")
        return real_read(*args, **kwargs)

    def parquet_file(*args, **kwargs):
        calls.append("read")
        return real_file(*args, **kwargs)

    monkeypatch.setattr(pq, "write_table", counted_write)
    monkeypatch.setattr(pq, "read_table", read_table)
    monkeypatch.setattr(pq, "ParquetFile", parquet_file)
    out = tmp_path / "risk.parquet"
    write_table(frame, out, config=load_config(Settings()), sources=["s"], is_demo=False)
    monkeypatch.undo()
    assert calls == ["write"]

    reference = tmp_path / "reference.parquet"
    gpd.GeoDataFrame(frame).astype({"category": "string"}).to_parquet(reference, index=False)
    meta, ref_meta = pq.read_schema(out).metadata, pq.read_schema(reference).metadata
    assert set(meta) == {b"geo", b"pandas", b"asm_risk_about"}
    assert meta[b"geo"] == ref_meta[b"geo"] and meta[b"pandas"] == ref_meta[b"pandas"]
    geo = json.loads(meta[b"geo"])
    assert geo["primary_column"] == "geometry" and geo["columns"]["geometry"]["encoding"] == "WKB"
    assert "Method: " in meta[b"asm_risk_about"].decode("utf-8")
    written = gpd.read_parquet(out)
    assert written.crs == frame.crs
    pd.testing.assert_frame_equal(written, gpd.read_parquet(reference), check_exact=True)
    assert written["category"].tolist() == ["x", "y"] and written.geometry.equals(frame.geometry)


def test_geo_formats_convert_text_columns_without_copying_the_frame() -> None:
    # the geo writers turn categoricals and objects into text on a copy; a deep copy of a
    # million-row risk table took 1.2 s of the CLI's write: the numbers are shared, the caller's
    # frame stays as it was (pandas' copy-on-write)
    import numpy as np

    from scoring.writers import _geo_safe

    frame = gpd.GeoDataFrame(
        {
            "risk_class": pd.Categorical(["low", "high"]),
            "note": pd.Series(["a", None], dtype=object),
            "dist_km": [1.5, 2.5],
        },
        geometry=[shapely.Point(0, 0), shapely.Point(1, 1)],
        crs="EPSG:4326",
    )
    out = _geo_safe(frame)
    assert isinstance(out["risk_class"].dtype, pd.StringDtype) and isinstance(out["note"].dtype, pd.StringDtype)
    assert np.shares_memory(out["dist_km"].to_numpy(), frame["dist_km"].to_numpy())
    out.loc[0, "dist_km"] = 9.0
    assert frame["dist_km"].tolist() == [1.5, 2.5]
    assert isinstance(frame["risk_class"].dtype, pd.CategoricalDtype) and frame["note"].dtype == object
