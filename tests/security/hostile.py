"""Hand-made hostile input files, shared by the CLI and the upload tests: name -> (path, expected message)."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import geopandas as gpd
import shapely

GOOD_CSV = "site_id,name,commodity,longitude,latitude\ng1,Alpha,gold,-1.6,6.7\ng2,Beta,gold,-2.0,6.2\n"


def _vrt(secret: Path) -> str:
    return (
        "<OGRVRTDataSource><OGRVRTLayer name='secret'>"
        f"<SrcDataSource>{secret}</SrcDataSource><GeometryType>wkbPoint</GeometryType>"
        "<GeometryField encoding='PointFromColumns' x='longitude' y='latitude'/>"
        "</OGRVRTLayer></OGRVRTDataSource>"
    )


def _zip_with(path: Path, members: dict[str, bytes], symlink: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return path


def make_hostile_files(folder: Path) -> dict[str, tuple[Path, str]]:
    """Each hostile file and a regex its (CLI or upload) error message must match."""
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, tuple[Path, str]] = {}

    def add(name: str, data: bytes | str, pattern: str) -> None:
        p = folder / name
        p.write_bytes(data.encode() if isinstance(data, str) else data)
        out[p.name] = (p, pattern)

    add("garbage.csv", bytes(range(256)) * 40, "binary bytes|not a text file")
    add("empty.csv", b"", "empty")
    add("header_only.csv", "site_id,longitude,latitude\n", "no rows")
    add("no_coordinates.csv", "site_id,name,commodity\n1,A,gold\n2,B,gold\n", "coordinate|longitude|latitude")
    add("all_invalid.csv", "site_id,longitude,latitude\na,500,500\nb,abc,\n", "no usable")
    add("unclosed_quote.csv", 'site_id,longitude,latitude\n"a,1,2\nb,3,4\n', r"Fix:")
    add("sites.exe", GOOD_CSV, "file type|not accepted|unsupported")
    gj = gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=[shapely.Point(1, 2), shapely.Point(3, 4)], crs=4326)
    buf = io.BytesIO()
    gj.to_file(buf, driver="GeoJSON")
    add("truncated.geojson", buf.getvalue()[: len(buf.getvalue()) // 2], r"cannot|truncated|Fix:")
    gpkg = folder / "_full.gpkg"
    gj.to_file(gpkg, driver="GPKG")
    add("truncated.gpkg", gpkg.read_bytes()[:3000], r"cannot|truncated|Fix:")
    add("garbage.gpkg", b"\x00" * 5000, "not a .gpkg file|signature")
    add("not_json.geojson", "hello, this is not json", "does not look like .geojson")
    add("truncated.xlsx", b"PK\x03\x04" + b"\x00" * 200, "cannot open the workbook|Fix:")
    add("garbage.parquet", b"PAR1" + b"\x07" * 100, "cannot read the Parquet|Fix:")
    add("truncated.zip", b"PK\x03\x04" + b"\x00" * 100, "not a valid zip|not a readable zip")
    secret = folder / "secret.csv"
    secret.write_text("name,longitude,latitude\nTOPSECRET,1,2\n")
    add("vrt_disguised.geojson", _vrt(secret), "GDAL virtual dataset")
    add("vrt_disguised.kml", _vrt(secret), "GDAL virtual dataset")
    z = _zip_with(folder / "traversal.zip", {"../../evil.shp": b"x"})
    out["traversal.zip"] = (z, r"absolute path or '\.\.'")
    z = _zip_with(folder / "symlink.zip", {"a.txt": b"x"}, symlink="link.shp")
    out["symlink.zip"] = (z, "symbolic link")
    z = _zip_with(folder / "bomb.zip", {"big.shp": b"\x00" * (30 << 20)})
    out["bomb.zip"] = (z, "zip bomb")
    return out
