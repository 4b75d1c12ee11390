"""load_protected_areas on a synthetic WDPA (real field names, both schemas, every container) and real files."""

from __future__ import annotations

import dataclasses
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from shapely.geometry import MultiPoint, Polygon, box

from geo.crs import geodesic_area_km2
from layers.errors import LayerError
from layers.schema import CRS_WGS84, PA_COLUMNS
from tests.loaders import ZIP_LIMITS, load_protected_areas

PROPOSED_REASON = "status 'Proposed' excluded (WDPA practice); use --include-proposed to keep"

# (id, status, iucn, marine, rep_area_km2, status_yr, geometry) - polygons then points.
_BOWTIE = Polygon([(26.0, 0.0), (26.2, 0.2), (26.2, 0.0), (26.0, 0.2), (26.0, 0.0)])
POLY_ROWS = [
    (1, "Designated", "II", "0", 490.0, 1970, box(24.0, 0.5, 24.2, 0.7)),
    (2, "Proposed", "Not Reported", "0", 12.0, 0, box(24.5, 0.5, 24.6, 0.6)),
    (3, "Not Reported", "Not Reported", "1", 5.0, 0, box(24.7, 0.5, 24.8, 0.6)),
    (4, "Designated", "IV", "0", 20.0, 1999, _BOWTIE),
    (5, "Inscribed", "Not Applicable", "2", 33.0, 2005, box(25.0, 0.5, 25.1, 0.6)),
]
POINT_ROWS = [
    (6, "Designated", "VI", "0", 100.0, 1988, MultiPoint([(25.0, 1.0)])),
    (7, "Designated", "Ib", "0", 0.0, 1990, MultiPoint([(25.5, 1.0)])),
    (8, "Designated", "III", "1", 50.0, 2001, MultiPoint([(26.0, 1.0), (26.5, 1.0)])),
    (9, "Proposed", "Not Reported", "0", 10.0, 0, MultiPoint([(27.0, 1.0)])),
    (10, "Established", "V", "2", 200.0, 2010, MultiPoint([(179.95, -16.5)])),
]
LOADED_IDS = {"555000001", "555000004", "555000005", "555000006", "555000008", "555000010"}


def _frame(rows: list[tuple], post2025: bool, points: bool) -> gpd.GeoDataFrame:
    """WDPA-shaped layer with the real field names of the chosen release."""
    n = len(rows)
    ids = [555000000.0 + r[0] for r in rows]  # WDPAID is a double in the real files
    common = {
        "DESIG": ["Parc national"] * n,
        "DESIG_ENG": ["National Park"] * n,
        "DESIG_TYPE": ["National"] * n,
        "IUCN_CAT": [r[2] for r in rows],
        "INT_CRIT": ["Not Applicable"] * n,
        "MARINE": [r[3] for r in rows],
        "REP_M_AREA": [0.0] * n,
        "REP_AREA": [r[4] for r in rows],
        "NO_TAKE": ["Not Applicable"] * n,
        "NO_TK_AREA": [0.0] * n,
        "STATUS": [r[1] for r in rows],
        "STATUS_YR": np.array([r[5] for r in rows], dtype="int32"),
        "GOV_TYPE": ["Federal or national ministry or agency"] * n,
        "OWN_TYPE": ["State"] * n,
        "MANG_AUTH": ["ICCN"] * n,
        "MANG_PLAN": ["Not Reported"] * n,
        "VERIF": ["State Verified"] * n,
        "METADATAID": np.full(n, 1832, dtype="int32"),
        "ISO3": ["COD"] * n,
        "SUPP_INFO": ["Not Applicable"] * n,
        "CONS_OBJ": ["Not Applicable"] * n,
    }
    if not points:
        common["GIS_M_AREA"] = [0.0] * n
        common["GIS_AREA"] = [r[4] * 1.01 for r in rows]
    if post2025:
        head = {
            "SITE_ID": ids,
            "SITE_PID": [str(int(i)) for i in ids],
            "SITE_TYPE": ["OECM" if r[0] == 5 else "PA" for r in rows],
            "NAME_ENG": [f"Site {r[0]}" for r in rows],
            "NAME": [f"Site original {r[0]}" for r in rows],
            "PRNT_ISO3": ["COD"] * n,
            "GOVSUBTYPE": ["Not Reported"] * n,
            "OWNSUBTYPE": ["Not Reported"] * n,
            "INLND_WTRS": ["Not Applicable"] * n,
            "OECM_ASMT": ["Not Applicable"] * n,
        }
    else:
        head = {
            "WDPAID": ids,
            "WDPA_PID": [str(int(i)) for i in ids],
            "PA_DEF": ["0" if r[0] == 5 else "1" for r in rows],
            "NAME": [f"Site {r[0]}" for r in rows],
            "ORIG_NAME": [f"Site original {r[0]}" for r in rows],
            "SUB_LOC": ["Not Reported"] * n,
            "PARENT_ISO": ["COD"] * n,
        }
    return gpd.GeoDataFrame({**head, **common}, geometry=[r[6] for r in rows], crs=CRS_WGS84)


def _layers(post2025: bool) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    return _frame(POLY_ROWS, post2025, points=False), _frame(POINT_ROWS, post2025, points=True)


def _write_gpkg(folder: Path, post2025: bool) -> Path:
    polys, pts = _layers(post2025)
    path = folder / "WDPA_Nov2024_Public.gpkg"
    polys.to_file(path, layer="WDPA_poly_Nov2024", driver="GPKG")
    pts.to_file(path, layer="WDPA_point_Nov2024", driver="GPKG")
    return path


def _write_nested_zip(folder: Path, post2025: bool) -> Path:
    """Like the real download: a zip of three zips, each with a points and a polygons shapefile."""
    polys, pts = _layers(post2025)
    outer = folder / "WDPA_Nov2024_Public_shp.zip"
    with zipfile.ZipFile(outer, "w") as zo:
        zo.writestr("WDPA_sources_Nov2024.csv", "METADATAID,DATA_TITLE\n1832,test\n")
        zo.writestr("Summary_table_WDPA_Nov2024.pdf", b"%PDF-1.4 not a real pdf")
        for k, (poly_part, pt_part) in enumerate(
            zip(np.array_split(np.arange(len(polys)), 3), np.array_split(np.arange(len(pts)), 3), strict=True)
        ):
            part_dir = folder / f"part{k}"
            part_dir.mkdir()
            stem = f"WDPA_Nov2024_Public_shp_{k}"
            polys.iloc[poly_part].to_file(part_dir / "WDPA_Nov2024_Public_shp-polygons.shp")
            pts.iloc[pt_part].to_file(part_dir / "WDPA_Nov2024_Public_shp-points.shp")
            inner = folder / f"{stem}.zip"
            with zipfile.ZipFile(inner, "w") as zi:
                for f in sorted(part_dir.iterdir()):
                    zi.write(f, f.name)
            zo.write(inner, inner.name)
    return outer


def _write_gdb(folder: Path, post2025: bool) -> Path:
    if "OpenFileGDB" not in pyogrio.list_drivers(write=True):
        pytest.skip(f"GDAL {pyogrio.__gdal_version_string__} cannot write OpenFileGDB (needs GDAL >= 3.6)")
    polys, pts = _layers(post2025)
    path = folder / "WDPA_Nov2024_Public.gdb"
    polys.to_file(path, layer="WDPA_poly_Nov2024", driver="OpenFileGDB")
    pts.to_file(path, layer="WDPA_point_Nov2024", driver="OpenFileGDB")
    return path


def _zip_dir(folder: Path, out: Path) -> Path:
    with zipfile.ZipFile(out, "w") as z:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                z.write(f, f.relative_to(folder.parent))
    return out


def _check_wdpa(result, include_proposed: bool = False) -> None:
    data = result.data
    assert data.crs.equals(CRS_WGS84)
    assert list(data.columns[: len(PA_COLUMNS)]) == list(PA_COLUMNS)
    assert "DESIG_TYPE" in data.columns  # originals kept after the schema columns
    expected = set(LOADED_IDS) | ({"555000002", "555000003", "555000009"} if include_proposed else set())
    assert set(data["pa_id"]) == expected
    assert len(data) == len(expected)
    rej = result.rejected.set_index(
        result.rejected.columns[result.rejected.columns.str.upper().isin(["WDPAID", "SITE_ID"])][0]
    )
    assert set(rej.index.astype(int) - 555000000) == ({7} if include_proposed else {2, 3, 7, 9})
    if not include_proposed:
        assert rej.loc[555000002.0, "reason"] == PROPOSED_REASON
        assert rej.loc[555000003.0, "reason"] == (
            "status 'Not Reported' excluded (WDPA practice); use --include-proposed to keep"
        )
    assert "REP_AREA 0 or missing" in rej.loc[555000007.0, "reason"]
    assert (result.rejected["row_number"] >= 1).all()

    by_id = data.set_index("pa_id")
    assert by_id.loc["555000001", "name"] == "Site 1"
    assert by_id.loc["555000001", "designation"] == "National Park"
    assert by_id.loc["555000001", "iucn_cat"] == "II"
    assert by_id.loc["555000001", "iso3"] == "COD"
    assert by_id.loc["555000001", "status_yr"] == 1970
    assert by_id.loc["555000005", "site_type"] == "OECM"
    assert by_id.loc["555000001", "site_type"] == "PA"
    assert list(by_id.loc[["555000001", "555000008", "555000010"], "marine"]) == ["0", "1", "2"]
    assert data["status_yr"].dtype == "Int64"
    assert data["from_point"].dtype == bool
    points = {"555000006", "555000008", "555000010"} | ({"555000009"} if include_proposed else set())
    assert set(by_id.index[by_id["from_point"]]) == points
    assert data.geometry.is_valid.all()
    assert set(data.geometry.geom_type) <= {"Polygon", "MultiPolygon"}
    # the repaired bow-tie keeps both triangles
    assert by_id.loc["555000004", "geometry"].area == pytest.approx(0.02, rel=1e-6)
    # point sites: geodesic circles of their reported area (within 1 %)
    for pid in ("555000006", "555000008", "555000010"):
        area = geodesic_area_km2([by_id.loc[pid, "geometry"]])[0]
        assert area == pytest.approx(by_id.loc[pid, "rep_area_km2"], rel=0.01)
    # across the antimeridian: split in two, inside ±180°
    am = by_id.loc["555000010", "geometry"]
    assert am.geom_type == "MultiPolygon"
    assert am.bounds[0] >= -180.0 and am.bounds[2] <= 180.0


@pytest.mark.parametrize("post2025", [False, True], ids=["pre2025", "post2025"])
def test_geopackage_points_and_polygons_layers(tmp_path, post2025):
    result = load_protected_areas(_write_gpkg(tmp_path, post2025))
    _check_wdpa(result)
    assert set(result.rejected["source_layer"]) <= {
        "WDPA_Nov2024_Public.gpkg:WDPA_poly_Nov2024",
        "WDPA_Nov2024_Public.gpkg:WDPA_point_Nov2024",
    }


@pytest.mark.parametrize("post2025", [False, True], ids=["pre2025", "post2025"])
def test_nested_shapefile_zip_reads_every_part(tmp_path, post2025):
    _check_wdpa(load_protected_areas(_write_nested_zip(tmp_path, post2025)))


@pytest.mark.parametrize("post2025", [False, True], ids=["pre2025", "post2025"])
def test_file_geodatabase(tmp_path, post2025):
    _check_wdpa(load_protected_areas(_write_gdb(tmp_path, post2025)))


def test_zipped_file_geodatabase(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    gdb = _write_gdb(src, post2025=True)
    _check_wdpa(load_protected_areas(_zip_dir(gdb, tmp_path / "WDPA_Nov2024_Public.gdb.zip")))


def test_include_proposed_keeps_proposed_and_not_reported(tmp_path):
    result = load_protected_areas(_write_gpkg(tmp_path, post2025=False), include_proposed=True)
    _check_wdpa(result, include_proposed=True)
    assert set(result.data.loc[result.data["pa_id"] == "555000002", "status"]) == {"Proposed"}


def test_layer_option_reads_one_layer(tmp_path):
    result = load_protected_areas(_write_gpkg(tmp_path, post2025=False), layer="WDPA_point_Nov2024")
    assert set(result.data["pa_id"]) == {"555000006", "555000008", "555000010"}
    assert result.data["from_point"].all()


def test_geojson_and_shapefile_single_layer(tmp_path):
    polys, _ = _layers(post2025=False)
    polys.to_file(tmp_path / "wdpa.geojson", driver="GeoJSON")
    polys.to_file(tmp_path / "wdpa.shp")
    for p in (tmp_path / "wdpa.geojson", tmp_path / "wdpa.shp"):
        assert set(load_protected_areas(p).data["pa_id"]) == {"555000001", "555000004", "555000005"}


def test_geoparquet_file_and_a_plain_parquet_is_refused(tmp_path):
    polys, _ = _layers(post2025=True)
    polys.to_parquet(tmp_path / "wdpa.parquet")
    res = load_protected_areas(tmp_path / "wdpa.parquet")
    assert set(res.data["pa_id"]) == {"555000001", "555000004", "555000005"}
    assert res.data.crs.to_epsg() == 4326
    polys.drop(columns="geometry").to_parquet(tmp_path / "table.parquet")
    with pytest.raises(LayerError, match="not GeoParquet"):
        load_protected_areas(tmp_path / "table.parquet")


def test_extraction_dir_is_private_and_removed(tmp_path, monkeypatch):
    made: list[str] = []
    real = tempfile.mkdtemp

    def spy(*args, **kwargs):
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(tempfile, "mkdtemp", spy)
    load_protected_areas(_write_nested_zip(tmp_path, post2025=False))
    assert len(made) == 1 and not Path(made[0]).exists()


@pytest.mark.parametrize("member", ["../evil.shp", "/tmp/evil.shp", "a/../../evil.shp", "C:\\evil.shp"])
def test_zip_members_escaping_the_folder_are_refused(tmp_path, member):
    path = tmp_path / "bad.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(member, b"x")
    with pytest.raises(LayerError, match=r"absolute path or '\.\.'"):
        load_protected_areas(path)


def test_realm_text_and_generic_field_map(tmp_path):
    frame = gpd.GeoDataFrame(
        {
            "code": ["A", "B"],
            "label": ["Alpha", "Beta"],
            "realm": ["Marine", "Terrestrial"],
            "cat": ["Ia", "II"],
            "name": ["x", "y"],
        },
        geometry=[box(0, 0, 1, 1), box(2, 2, 3, 3)],
        crs=CRS_WGS84,
    )
    frame.to_file(tmp_path / "pa.gpkg")
    result = load_protected_areas(
        tmp_path / "pa.gpkg", field_map={"pa_id": "code", "name": "label", "iucn_cat": "cat", "marine": "realm"}
    )
    d = result.data
    assert list(d["pa_id"]) == ["A", "B"]
    assert list(d["name"]) == ["Alpha", "Beta"]
    assert list(d["marine"]) == ["2", "0"]
    assert list(d["iucn_cat"]) == ["Ia", "II"]
    assert list(d["orig_name"]) == ["x", "y"]  # collision with a schema column
    assert list(d["pa_pid"]) == ["A", "B"]


def test_generated_ids_are_stable_and_unique(tmp_path):
    frame = gpd.GeoDataFrame(
        {"Nom": ["Réserve", "Réserve", None]},
        geometry=[box(0, 0, 1, 1), box(0, 0, 1, 1), box(5, 5, 6, 6)],
        crs=CRS_WGS84,
    )
    frame.to_file(tmp_path / "zones.shp")
    a = load_protected_areas(tmp_path / "zones.shp").data
    b = load_protected_areas(tmp_path / "zones.shp").data
    assert list(a["pa_id"]) == list(b["pa_id"])
    assert a["pa_id"].is_unique
    assert list(a["name"]) == ["Réserve", "Réserve", ""]


def test_projected_input_is_reprojected_and_lines_rejected(tmp_path):
    frame = gpd.GeoDataFrame(
        {"NAME": ["utm", "line"]},
        geometry=[box(500_000, 0, 510_000, 10_000), shapely.LineString([(500_000, 0), (510_000, 0)])],
        crs="EPSG:32735",
    )
    frame.to_file(tmp_path / "utm.gpkg")
    result = load_protected_areas(tmp_path / "utm.gpkg")
    assert result.data.crs.equals(CRS_WGS84)
    assert geodesic_area_km2(result.data.geometry)[0] == pytest.approx(100.0, rel=0.002)
    assert "not an area" in result.rejected["reason"].iloc[0]


def test_bad_inputs_raise_layer_error(tmp_path):
    gpkg = _write_gpkg(tmp_path, post2025=False)
    with pytest.raises(LayerError, match="file not found"):
        load_protected_areas(tmp_path / "missing.gpkg")
    with pytest.raises(LayerError, match="layer 'nope' not found"):
        load_protected_areas(gpkg, layer="nope")
    with pytest.raises(LayerError, match="not protected-area schema columns"):
        load_protected_areas(gpkg, field_map={"title": "NAME"})
    with pytest.raises(LayerError, match="not in the file"):
        load_protected_areas(gpkg, field_map={"name": "NO_SUCH_COLUMN"})
    empty_zip = tmp_path / "docs.zip"
    with zipfile.ZipFile(empty_zip, "w") as z:
        z.writestr("readme.txt", "nothing here")
    with pytest.raises(LayerError, match="no vector data"):
        load_protected_areas(empty_zip)
    (tmp_path / "broken.zip").write_bytes(b"not a zip")
    with pytest.raises(LayerError, match="not a valid zip"):
        load_protected_areas(tmp_path / "broken.zip")


def test_zip_bomb_limits(tmp_path):
    with pytest.raises(LayerError, match="too large once extracted"):
        load_protected_areas(
            _write_nested_zip(tmp_path, post2025=False), zip_limits=dataclasses.replace(ZIP_LIMITS, max_members=3)
        )


def test_real_amazon_mining_watch_protected_areas(shared_data):
    result = load_protected_areas(shared_data / "amazon_mining_watch" / "protected_areas_impacts.geojson")
    d = result.data
    assert len(d) == 144 and result.n_rejected == 0
    # the file has ids shared by different sites ('PEnan_0'): kept as given, flagged, pa_pid unique
    assert any("PEnan_0" in w for w in result.warnings)
    assert d["pa_pid"].is_unique
    src = gpd.read_file(
        shared_data / "amazon_mining_watch" / "protected_areas_impacts.geojson",
        columns=["id", "name_field", "type_field"],
    )
    assert list(d["pa_id"]) == list(src["id"])
    assert list(d["name"]) == list(src["name_field"].fillna("").str.strip())
    assert list(d["designation"]) == list(src["type_field"].fillna("").str.strip())
    assert d.geometry.is_valid.all()


def test_real_yangambi_biosphere_zones(shared_data):
    result = load_protected_areas(shared_data / "yangambi_forest" / "mab_ll.shp")
    d = result.data
    assert len(d) == 29
    assert "Réserve de biosphère de Yangambi" in set(d["name"])
    assert d["pa_id"].str.startswith("gen-").all() and d["pa_id"].is_unique
    assert "Nom" in d.columns
