"""layers.guard: the one zip extractor, input-path checks, content signatures and GDAL hardening."""

from __future__ import annotations

import os
import stat
import struct
import zipfile
from pathlib import Path

import pytest

from layers import guard
from layers.errors import LayerError
from layers.guard import ZipLimits, check_content, check_input_path, extracted_zip, looks_remote, safe_extract_zip

LIMITS = ZipLimits(max_members=20, max_total_bytes=5_000_000, max_ratio=100.0)


def _zip(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize(
    "member", ["../evil.txt", "/etc/evil.txt", "a/../../evil.txt", "C:\\evil.txt", "C:evil.txt", "..\\..\\evil.txt"]
)
def test_member_paths_outside_the_folder_are_refused(tmp_path, member):
    z = _zip(tmp_path / "bad.zip", {member: b"x"})
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(LayerError, match=r"absolute path or '\.\.'"):
        safe_extract_zip(z, dest, LIMITS)
    assert not (tmp_path / "evil.txt").exists() and not list(dest.iterdir())


def test_symlink_members_are_refused(tmp_path):
    z = tmp_path / "link.zip"
    with zipfile.ZipFile(z, "w") as zf:
        info = zipfile.ZipInfo("passwd")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(LayerError, match="symbolic link"):
        safe_extract_zip(z, tmp_path, LIMITS)


def test_member_count_limit(tmp_path):
    z = _zip(tmp_path / "many.zip", {f"f{i}.txt": b"x" for i in range(21)})
    with pytest.raises(LayerError, match=r"21 members \(limit 20\)"):
        safe_extract_zip(z, tmp_path, LIMITS)


def test_total_size_limit_on_declared_sizes(tmp_path):
    z = _zip(tmp_path / "big.zip", {"a.bin": os.urandom(3_000_000), "b.bin": os.urandom(3_000_000)}, zipfile.ZIP_STORED)
    with pytest.raises(LayerError, match="too large once extracted"):
        safe_extract_zip(z, tmp_path / "out", LIMITS)


def test_declared_ratio_over_100_is_a_zip_bomb(tmp_path):
    z = _zip(tmp_path / "bomb.zip", {"zeros.shp": b"\0" * 4_000_000})
    with pytest.raises(LayerError, match=r"expands \d+:1 \(limit 100:1\).*zip bomb"):
        safe_extract_zip(z, tmp_path / "out", LIMITS)


def test_small_highly_compressed_members_are_fine(tmp_path):
    """A few kB of padding compress 1000:1 in real shapefiles: not a bomb (the total budget bounds them)."""
    z = _zip(tmp_path / "ok.zip", {"pad.dbf": b" " * 200_000, "sub/data.txt": b"hello"})
    out = tmp_path / "out"
    out.mkdir()
    files = safe_extract_zip(z, out, LIMITS)
    assert sorted(f.relative_to(out).as_posix() for f in files) == ["pad.dbf", "sub/data.txt"]
    assert (out / "sub" / "data.txt").read_bytes() == b"hello"


def _lie_about_size(path: Path, member: str, declared: int) -> None:
    """Rewrite the uncompressed size of ``member`` in the central directory AND the local header."""
    raw = bytearray(path.read_bytes())
    name = member.encode()
    for sig, size_at in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):
        start = 0
        while (i := raw.find(sig, start)) != -1:
            name_at = i + (46 if sig == b"PK\x01\x02" else 30)
            if raw[name_at : name_at + len(name)] == name:
                raw[i + size_at : i + size_at + 4] = struct.pack("<I", declared)
            start = i + 4
    path.write_bytes(bytes(raw))


def test_headers_that_lie_are_caught_while_extracting(tmp_path):
    """The header says 1 kB, the stream holds 3 MB: counting the bytes actually written stops it."""
    z = _zip(tmp_path / "liar.zip", {"data.bin": os.urandom(3_000_000)}, zipfile.ZIP_STORED)
    _lie_about_size(z, "data.bin", 1000)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(LayerError, match=r"more data than its header declares|cannot be extracted \(Bad CRC"):
        safe_extract_zip(z, out, LIMITS)
    assert sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) <= 1000 + (1 << 16)


def test_nested_zips_share_one_budget(tmp_path):
    inner = _zip(tmp_path / "inner.zip", {f"i{i}.txt": b"x" for i in range(12)})
    outer = _zip(tmp_path / "outer.zip", {"inner.zip": inner.read_bytes(), **{f"o{i}.txt": b"x" for i in range(9)}})
    with pytest.raises(LayerError, match="too large once extracted"):  # 10 + 12 > 20 members in all
        safe_extract_zip(outer, tmp_path / "out", LIMITS)
    ok = _zip(tmp_path / "ok.zip", {"inner.zip": inner.read_bytes()})
    out = tmp_path / "ok"
    out.mkdir()
    files = safe_extract_zip(ok, out, LIMITS)
    assert len(files) == 12 and all("inner__unzipped" in f.as_posix() for f in files)
    assert not (out / "inner.zip").exists()


def test_nesting_depth_limit(tmp_path):
    data = b"x"
    for depth in range(5):
        data = _zip(tmp_path / f"d{depth}.zip", {"next.zip" if depth else "leaf.txt": data}).read_bytes()
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(LayerError, match="nested more than 3 deep"):
        safe_extract_zip(tmp_path / "d4.zip", out, LIMITS)


def test_extracted_zip_is_private_and_removed_even_on_error(tmp_path, monkeypatch):
    z = _zip(tmp_path / "a.zip", {"a.txt": b"x"})
    with extracted_zip(z, LIMITS) as folder:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert (folder / "a.txt").read_bytes() == b"x"
    assert not folder.exists()
    made: list[str] = []
    real = guard.tempfile.mkdtemp

    def spy(*a, **k):
        made.append(real(*a, **k))
        return made[-1]

    monkeypatch.setattr(guard.tempfile, "mkdtemp", spy)
    with pytest.raises(LayerError), extracted_zip(_zip(tmp_path / "b.zip", {"ok.txt": b"x", "../x": b"x"}), LIMITS):
        pass
    assert len(made) == 1 and not Path(made[0]).exists()


# --- paths and contents ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "http://example.org/sites.csv",
        "https://x/y.geojson",
        "/vsicurl/http://x/y.gpkg",
        "/vsizip//tmp/a.zip/b.shp",
        "PG:dbname=x",
        "WFS:http://x",
        "GPKG:/tmp/a.gpkg:layer",
    ],
)
def test_remote_and_virtual_paths_are_refused(path):
    assert looks_remote(path)
    with pytest.raises(LayerError, match="URL, a GDAL virtual path or a connection string"):
        check_input_path(path, extensions=(".csv", ".gpkg", ".geojson", ".shp"), max_mb=10)


@pytest.mark.parametrize("path", ["sites.csv", "./data/sites.csv", "C:\\data\\sites.csv", "/tmp/a:b/sites.csv"])
def test_local_paths_are_not_remote(path):
    assert not looks_remote(path)


def test_size_is_checked_with_stat_before_reading(tmp_path, monkeypatch):
    big = tmp_path / "big.csv"
    with open(big, "wb") as fh:  # sparse: 300 MB on paper, nothing on disk
        fh.truncate(300_000_000)
    real_open = Path.open

    def no_read(self, *a, **k):
        if self == big:
            raise AssertionError("read an oversized file")
        return real_open(self, *a, **k)

    monkeypatch.setattr(Path, "open", no_read)
    with pytest.raises(LayerError, match=r"300\.0 MB, over the 200 MB limit"):
        check_input_path(big, extensions=(".csv",), max_mb=200)


def test_unknown_extension_and_special_files(tmp_path):
    (tmp_path / "x.exe").write_bytes(b"MZ")
    with pytest.raises(LayerError, match=r"unsupported file type '\.exe'"):
        check_input_path(tmp_path / "x.exe", extensions=(".csv",), max_mb=1)
    with pytest.raises(LayerError, match="is a folder"):
        check_input_path(tmp_path, extensions=(".csv",), max_mb=1)
    with pytest.raises(LayerError, match="does not exist"):
        check_input_path(tmp_path / "missing.csv", extensions=(".csv",), max_mb=1)
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(LayerError, match="not a regular file"):
        check_input_path(fifo, extensions=(".csv",), max_mb=1)


@pytest.mark.parametrize(
    ("name", "data", "match"),
    [
        ("a.gpkg", b"not sqlite at all", "not a .gpkg file"),
        ("a.parquet", b"PAR0" + b"x" * 20, "not a .parquet file"),
        ("a.shp", b"\x00\x00\x00\x00" * 30, "not a .shp file"),
        ("a.geojson", b"<html>", "does not look like .geojson"),
        ("a.kml", b"{}", "does not look like .kml"),
        ("a.geojson", b"\xef\xbb\xbf  <OGRVRTDataSource>", "GDAL virtual dataset"),
        ("a.kml", b"<?xml version='1.0'?><GDAL_WMS><Service/></GDAL_WMS>", "GDAL virtual dataset"),
        ("a.gml", b"<VRTDataset rasterXSize='1'/>", "GDAL virtual dataset"),
        ("a.csv", b"", "empty"),
    ],
)
def test_content_must_match_the_extension(tmp_path, name, data, match):
    p = tmp_path / name
    p.write_bytes(data)
    with pytest.raises(LayerError, match=match):
        check_content(p)


def test_matching_content_passes(tmp_path):
    (tmp_path / "a.geojson").write_bytes(b'\xef\xbb\xbf\n {"type": "FeatureCollection", "features": []}')
    check_content(tmp_path / "a.geojson")
    (tmp_path / "b.kml").write_bytes(b"<?xml version='1.0'?><kml></kml>")
    check_content(tmp_path / "b.kml")


def test_harden_gdal_keeps_gdal_off_the_network_and_python():
    import pyogrio

    guard.harden_gdal()
    for key, value in guard.GDAL_HARDENING.items():
        assert pyogrio.get_gdal_config_option(key) in (value, False) or str(
            pyogrio.get_gdal_config_option(key)
        ).upper() in (value.upper(), "FALSE")
    assert os.environ["GDAL_VRT_ENABLE_PYTHON"] == "NO"


# --- xlsx: a zip of XML read in place by openpyxl ---------------------------------------------------------
def _xlsx(path: Path) -> Path:
    import pandas as pd

    pd.DataFrame({"site_id": ["a"], "longitude": [1.0], "latitude": [2.0]}).to_excel(path, index=False)
    return path


def _rewrite_member(path: Path, member: str, data: bytes) -> None:
    src = zipfile.ZipFile(path)
    items = [(i, src.read(i.filename)) for i in src.infolist()]
    src.close()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, raw in items:
            zf.writestr(info.filename, data if info.filename == member else raw)


def test_xlsx_zip_bomb_is_refused_before_openpyxl_inflates_it(tmp_path):
    from tests.loaders import read_any

    path = _xlsx(tmp_path / "bomb.xlsx")
    _rewrite_member(path, "xl/worksheets/sheet1.xml", b" " * 30_000_000)
    with pytest.raises(LayerError, match="zip bomb"):
        read_any(path)


def test_xlsx_xml_entity_expansion_is_refused(tmp_path):
    import openpyxl.xml

    from tests.loaders import read_any

    assert openpyxl.xml.DEFUSEDXML, "defusedxml is not installed: openpyxl would parse hostile XML unguarded"
    path = _xlsx(tmp_path / "laughs.xlsx")
    lol = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
        b"<si><t>&lol3;</t></si></sst>"
    )
    _rewrite_member(path, "xl/sharedStrings.xml", lol)
    with pytest.raises(LayerError, match=r"cannot open the workbook|cannot read sheet"):
        read_any(path)


# --- audit: nothing in the code base can turn input into code -----------------------------------------------
ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__"}
FORBIDDEN_MODULES = {"pickle", "cPickle", "dill", "cloudpickle", "shelve", "marshal", "joblib"}


def _source_files() -> list[Path]:
    files = [ROOT / "app.py", ROOT / "settings.py"]
    for pkg in ("layers", "dashboard", "geo"):
        files += sorted((ROOT / pkg).rglob("*.py"))
    return files


def test_no_eval_exec_or_pickle_in_the_code_base():
    import ast

    problems = []
    for path in _source_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FORBIDDEN_CALLS:
                problems.append(f"{where} calls {node.func.id}()")
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
                if any(str(n).split(".")[0] in FORBIDDEN_MODULES for n in names if n):
                    problems.append(f"{where} imports {names}")
            if isinstance(node, ast.Attribute) and node.attr in ("read_pickle", "to_pickle"):
                problems.append(f"{where} uses .{node.attr}")
            explicit_false = (
                isinstance(node, ast.keyword) and isinstance(node.value, ast.Constant) and node.value.value is False
            )
            if isinstance(node, ast.keyword) and node.arg == "allow_pickle" and not explicit_false:
                problems.append(f"{where} passes allow_pickle other than False")
    assert problems == []
