"""Checks on hostile input, shared by the CLI (``python app.py score``) and the dashboard uploads.

Everything a user gives us (a path on the command line, an uploaded file, a zip member)
goes through here before any library parses it:

- ``check_input_path``: a local regular file (or a ``.gdb`` folder), never a URL, a GDAL
  virtual path (``/vsicurl/``, ``/vsizip/``…) or a driver connection string (``PG:``,
  ``WFS:``); a known extension; within the size limit (``settings.max_upload_mb``), checked
  with ``stat`` before one byte is read; and content that matches the extension.
- ``check_content``: the first bytes must match the extension (GeoPackage is SQLite, a
  shapefile has its magic number, GeoJSON starts with ``{``…), and GDAL's *virtual* formats
  (OGR VRT, WMS/WFS descriptions) are refused whatever the extension: their XML can point
  GDAL at any local file or URL, so a ``sites.geojson`` holding an ``<OGRVRTDataSource>``
  would otherwise read ``/etc/passwd`` or call a remote server.
- ``extracted_zip`` / ``safe_extract_zip``: the ONE zip extractor (used by ``layers.readers``
  and ``layers.protected_areas``): a private ``tempfile.mkdtemp`` folder (mode 0700); member
  names without absolute paths, drive letters or ``..``; no symlinks; a limit on the member
  count and the total uncompressed size, shared by nested zips; and zip-bomb checks on the
  declared compression ratio AND on the bytes actually written (headers can lie).
- ``harden_gdal``: GDAL configuration that keeps it off the network and away from Python.

Loading never uses pickle (caches are Parquet/JSON), ``eval`` or ``exec``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from layers.errors import LayerError

MAX_ZIP_DEPTH = 3
# Members smaller than this are never refused for their ratio alone (a few kB of zeros compress
# 1000:1 and are harmless); the total-size budget bounds them anyway.
RATIO_MIN_BYTES = 1 << 20
_CHUNK = 1 << 16
_SNIFF = 4096

# GDAL formats whose content names OTHER datasets, files or URLs: refused in any user file.
VIRTUAL_MARKERS: tuple[bytes, ...] = (
    b"<ogrvrtdatasource",
    b"<vrtdataset",
    b"<gdal_wms",
    b"<gdal_wmts",
    b"<wcs_gdal",
    b"<ogrwfsdatasource",
    b"<ogrgmlas",
)
# First bytes expected for each extension (checked after a UTF-8 BOM and leading whitespace for text).
_BINARY_MAGIC: dict[str, tuple[bytes, ...]] = {
    ".gpkg": (b"SQLite format 3\x00",),
    ".sqlite": (b"SQLite format 3\x00",),
    ".parquet": (b"PAR1",),
    ".geoparquet": (b"PAR1",),
    ".zip": (b"PK\x03\x04", b"PK\x05\x06"),
    ".xlsx": (b"PK\x03\x04",),
    ".shp": (b"\x00\x00\x27\x0a",),
    ".fgb": (b"fgb",),
}
_TEXT_START: dict[str, tuple[bytes, ...]] = {
    ".geojson": (b"{", b"["),
    ".json": (b"{", b"["),
    ".kml": (b"<",),
    ".gml": (b"<",),
}
_CONNECTION_PREFIXES = ("/vsi", "\\vsi")


@dataclass(frozen=True)
class ZipLimits:
    """Limits for one archive, nested archives included (one budget for the whole tree).

    No defaults here: the values come from the settings (``settings.py`` defines them once), turned
    into a ZipLimits at the boundary (``scoring.pipeline.zip_limits``) and passed down to every reader.
    """

    max_members: int
    max_total_bytes: int
    max_ratio: float  # a member expanding more than this (x:1) is refused as a zip bomb
    max_depth: int = MAX_ZIP_DEPTH


# --- paths -----------------------------------------------------------------------------------------------
def looks_remote(path: str | Path) -> bool:
    """True for URLs, GDAL virtual file systems and driver connection strings (never local files)."""
    s = str(path).strip()
    low = s.lower()
    if "://" in low or low.startswith(_CONNECTION_PREFIXES):
        return True
    head, sep, _ = s.partition(":")
    # "PG:…", "WFS:…", "GPKG:file:layer", "OAPIF:…"; a single letter before ':' is a Windows drive
    return bool(sep) and len(head) >= 2 and head.replace("_", "").isalnum() and "/" not in head and "\\" not in head


def check_input_path(
    path: str | Path,
    *,
    extensions: Sequence[str],
    max_mb: float,
    label: str = "input",
    allow_dirs: Sequence[str] = (),
) -> Path:
    """The path as a checked local ``Path``, or ``LayerError`` before anything reads it.

    ``extensions`` are lower-case suffixes (".csv", ".gdb.zip"…); ``allow_dirs`` the suffixes
    of folders accepted as datasets (".gdb"). The size is taken from ``stat`` (a folder: the
    sum of its files), so an oversized file is refused without reading it.
    """
    if looks_remote(path):
        raise LayerError(
            path,
            f"{label} is a URL, a GDAL virtual path or a connection string, not a local file",
            "download the data and give the path of the local file",
        )
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise LayerError(p, f"{label}: the file does not exist", "check the path") from None
    except OSError as exc:
        raise LayerError(p, f"{label}: the file cannot be opened ({exc.strerror})", "check the path") from exc
    name = p.name.lower()
    if stat.S_ISDIR(st.st_mode):
        if not name.endswith(tuple(allow_dirs)):
            raise LayerError(
                p, f"{label} is a folder, not a file", "give the data file inside it (or zip a shapefile's files)"
            )
        size = sum(f.stat().st_size for f in p.rglob("*") if f.is_file() and not f.is_symlink())
    elif stat.S_ISREG(st.st_mode):
        size = st.st_size
    else:
        raise LayerError(p, f"{label} is not a regular file (a device, pipe or socket)", "give a data file")
    if not name.endswith(tuple(extensions) + tuple(allow_dirs)):
        hint = " (save .xls workbooks as .xlsx)" if name.endswith(".xls") else ""
        raise LayerError(
            p,
            f"unsupported file type {p.suffix.lower() or '(no extension)'!r}{hint}",
            f"give one of {', '.join(extensions)}",
        )
    check_size(p, size, max_mb)
    if stat.S_ISREG(st.st_mode):
        # a .vrt raster mosaic is accepted where the caller lists .vrt (the operator's own CLI input);
        # harden_gdal keeps it off the network
        check_content(p, allow_virtual=name.endswith(".vrt") and ".vrt" in extensions)
    return p


def check_size(path: str | Path, size_bytes: int, max_mb: float) -> None:
    """LayerError when ``size_bytes`` is over ``max_mb`` megabytes (10^6 bytes)."""
    if size_bytes > max_mb * 1e6:
        raise LayerError(
            path,
            f"the file is {size_bytes / 1e6:.1f} MB, over the {max_mb:g} MB limit",
            "give a smaller extract, or raise ASM_MAX_UPLOAD_MB on a server you control",
        )


def check_content(path: str | Path, *, allow_virtual: bool = False) -> None:
    """LayerError when the first bytes do not match the extension, or name a GDAL virtual format."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            head = fh.read(_SNIFF)
    except OSError as exc:
        raise LayerError(p, f"the file cannot be read ({exc.strerror})", "check the file") from exc
    lowered = head.lower()
    if not allow_virtual and any(m in lowered for m in VIRTUAL_MARKERS):
        raise LayerError(
            p,
            "the file is a GDAL virtual dataset (VRT / web-service description) that points at other files or URLs",
            "give the data itself (GeoPackage, GeoJSON, Shapefile, CSV…), not a VRT",
        )
    suffix = p.suffix.lower()
    if not head:
        raise LayerError(p, "the file is empty", "give a file with a header row and one row per site")
    if suffix in _BINARY_MAGIC and not head.startswith(_BINARY_MAGIC[suffix]):
        what = "not a valid zip (not a readable zip archive: " if suffix == ".zip" else f"not a {suffix} file ("
        raise LayerError(
            p,
            f"the content is {what}wrong or missing signature, truncated or renamed from another format)",
            f"re-export the data as a real {suffix} file",
        )
    if suffix in _TEXT_START:
        text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
        if not text.startswith(_TEXT_START[suffix]):
            raise LayerError(
                p,
                f"the content does not look like {suffix} text",
                f"re-export the data as {suffix} (UTF-8), or use the matching extension",
            )


# --- zip archives ---------------------------------------------------------------------------------------
def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _check_member(zpath: Path, info: zipfile.ZipInfo) -> PurePosixPath:
    name = info.filename
    posix = PurePosixPath(name.replace("\\", "/"))
    win = PureWindowsPath(name)
    if posix.is_absolute() or win.is_absolute() or win.drive or ".." in posix.parts or "\x00" in name:
        raise LayerError(
            zpath,
            f"archive member '{name}' has an absolute path or '..' (would be written outside the extraction folder)",
            "re-create the zip with relative member paths only",
        )
    if _is_symlink(info):
        raise LayerError(
            zpath, f"archive member '{name}' is a symbolic link", "re-create the zip with the files themselves"
        )
    return posix


class _Budget:
    """Bytes and members left for one archive tree (nested zips spend from the same budget)."""

    def __init__(self, limits: ZipLimits) -> None:
        self.limits = limits
        self.members = limits.max_members
        self.bytes = limits.max_total_bytes

    def too_large(self, zpath: Path, detail: str) -> LayerError:
        return LayerError(
            zpath,
            f"archive too large once extracted: {detail}",
            "extract it yourself and give the data file, or raise ASM_MAX_ZIP_MEMBERS / ASM_MAX_UNZIPPED_MB",
        )


def _bomb(zpath: Path, name: str, ratio: float, limit: float) -> LayerError:
    return LayerError(
        zpath,
        f"archive member '{name}' expands {ratio:.0f}:1 (limit {limit:g}:1): this looks like a zip bomb",
        "give the data file itself, or a normally compressed zip",
    )


def _extract_into(zpath: Path, dest: Path, budget: _Budget, depth: int) -> list[Path]:
    limits = budget.limits
    if depth > limits.max_depth:
        raise LayerError(
            zpath, f"zips nested more than {limits.max_depth} deep", "extract the archive and give the data file"
        )
    try:
        zf = zipfile.ZipFile(zpath)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise LayerError(
            zpath,
            f"not a valid zip (not a readable zip archive: {exc})",
            "re-download the file, or zip the .shp, .shx, .dbf and .prj files together",
        ) from exc
    out: list[Path] = []
    root = dest.resolve()
    with zf:
        infos = zf.infolist()
        budget.members -= len(infos)
        if budget.members < 0:
            n = limits.max_members - budget.members
            raise budget.too_large(zpath, f"{n} members (limit {limits.max_members})")
        declared = sum(i.file_size for i in infos)
        if declared > budget.bytes:
            raise budget.too_large(
                zpath, f"{declared / 1e6:.0f} MB declared (limit {limits.max_total_bytes / 1e6:g} MB)"
            )
        members = [(info, _check_member(zpath, info)) for info in infos]
        for info, _rel in members:
            if info.file_size > RATIO_MIN_BYTES and info.file_size > limits.max_ratio * max(info.compress_size, 1):
                raise _bomb(zpath, info.filename, info.file_size / max(info.compress_size, 1), limits.max_ratio)
        for info, rel in members:
            target = (root / rel).resolve()
            if target != root and root not in target.parents:
                raise LayerError(
                    zpath, f"archive member '{info.filename}' escapes the extraction folder", "re-create the zip"
                )
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            written = 0
            try:
                with zf.open(info) as src, open(target, "xb") as dst:
                    while chunk := src.read(_CHUNK):
                        written += len(chunk)
                        budget.bytes -= len(chunk)
                        if budget.bytes < 0:
                            raise budget.too_large(
                                zpath, f"more than {limits.max_total_bytes / 1e6:g} MB actually written"
                            )
                        if written > info.file_size:
                            raise LayerError(
                                zpath,
                                f"archive member '{info.filename}' holds more data than its header declares",
                                "the zip is corrupt or crafted: re-create it",
                            )
                        if written > RATIO_MIN_BYTES and written > limits.max_ratio * max(info.compress_size, 1):
                            raise _bomb(zpath, info.filename, written / max(info.compress_size, 1), limits.max_ratio)
                        dst.write(chunk)
            except FileExistsError:
                raise LayerError(
                    zpath, f"archive member '{info.filename}' appears twice", "re-create the zip"
                ) from None
            except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile, NotImplementedError, RuntimeError) as exc:
                raise LayerError(
                    zpath,
                    f"archive member '{info.filename}' cannot be extracted ({exc})",
                    "re-create the zip (no encryption; deflate or store compression)",
                ) from exc
            except OSError as exc:  # zlib.error is not an OSError; CRC errors are BadZipFile
                raise LayerError(zpath, f"cannot extract '{info.filename}' ({exc})", "check the archive") from exc
            out.append(target)
    nested: list[Path] = []
    for f in out:
        if f.suffix.lower() == ".zip":
            sub = f.with_name(f.stem + "__unzipped")
            sub.mkdir()
            nested += _extract_into(f, sub, budget, depth + 1)
            f.unlink()
        else:
            nested.append(f)
    return nested


def check_zip_archive(zpath: str | Path, limits: ZipLimits) -> None:
    """Member count, declared total size and declared ratios of a zip read in place (e.g. an .xlsx workbook).

    Python's ``zipfile`` never returns more bytes than a member's declared size (it stops there
    and checks the CRC), so for archives read through it the declared sizes are binding. An
    unreadable archive passes: the reader then refuses it in its own words ("cannot open the workbook").
    """
    zpath = Path(zpath)
    try:
        with zipfile.ZipFile(zpath) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return
    budget = _Budget(limits)
    if len(infos) > limits.max_members:
        raise budget.too_large(zpath, f"{len(infos)} members (limit {limits.max_members})")
    declared = sum(i.file_size for i in infos)
    if declared > limits.max_total_bytes:
        raise budget.too_large(zpath, f"{declared / 1e6:.0f} MB declared (limit {limits.max_total_bytes / 1e6:g} MB)")
    for info in infos:
        if info.file_size > RATIO_MIN_BYTES and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise _bomb(zpath, info.filename, info.file_size / max(info.compress_size, 1), limits.max_ratio)


def safe_extract_zip(zpath: str | Path, dest: str | Path, limits: ZipLimits) -> list[Path]:
    """Extract ``zpath`` (and the zips inside it) into ``dest``; the extracted data files.

    Raises LayerError for member paths that are absolute, hold '..' or a drive letter, for
    symlinks, for more members or bytes than ``limits`` allow (one budget for the whole tree,
    counted on the bytes actually written), and for members that expand more than
    ``limits.max_ratio``:1. A nested ``x.zip`` is extracted into ``x__unzipped/`` and removed.
    """
    return _extract_into(Path(zpath), Path(dest), _Budget(limits), 0)


@contextlib.contextmanager
def extracted_zip(zpath: str | Path, limits: ZipLimits) -> Iterator[Path]:
    """A private temporary folder (mode 0700) holding the checked contents of ``zpath``; removed on exit."""
    tmp = Path(tempfile.mkdtemp(prefix="asm-unzip-"))
    try:
        safe_extract_zip(zpath, tmp, limits)
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- GDAL --------------------------------------------------------------------------------------------------
GDAL_HARDENING: dict[str, str] = {
    "GDAL_VRT_ENABLE_PYTHON": "NO",  # VRT pixel functions in Python: never
    "GDAL_VRT_ENABLE_RAWRASTERBAND": "NO",  # VRT raw bands reading arbitrary local files
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".asm-network-disabled",  # /vsicurl/ opens nothing
}


def harden_gdal() -> None:
    """Apply ``GDAL_HARDENING`` to both GDAL copies in the process (pyogrio's and rasterio's); idempotent."""
    for key, value in GDAL_HARDENING.items():
        os.environ.setdefault(key, value)  # rasterio reads the environment when it opens a dataset
    try:
        import pyogrio

        pyogrio.set_gdal_config_options(dict(GDAL_HARDENING))
    except ImportError:  # pragma: no cover - pyogrio is a runtime dependency
        pass
