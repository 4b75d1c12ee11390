"""On-disk cache of loaded layers, keyed by file content, so a big layer is parsed once.

A cache entry is a directory ``<cache_dir>/layers/<loader>-<key>/`` holding
``data.parquet`` (GeoParquet), ``rejected.parquet`` and ``meta.json`` (warnings,
source). The key is the sha256 of the file's bytes (for a directory such as a
``.gdb``: of every file in it, in sorted order, names included), the loader name,
its parameters and ``CACHE_VERSION``; so a changed file can never hit a stale entry.

Safety:
- no pickle anywhere: entries are Parquet and JSON, so a planted cache file can at
  worst fail to parse (it is then ignored and rebuilt);
- entries are written into a temporary directory and renamed into place, so readers
  see a whole entry or none, and concurrent writers of the same entry do not collide;
- a corrupt or partial entry logs a warning and is rebuilt; a failure to *write* the
  cache logs a warning and returns the freshly loaded result.

Hashing a multi-gigabyte file takes seconds, so the content hash of each path is
remembered next to its ``os.stat`` signature (device, inode, size, mtime and ctime in
nanoseconds). The remembered hash is trusted only when the signature is unchanged
AND the file's last change is more than ``_RACY_WINDOW_NS`` older than the moment it
was hashed (as git does for its index): file timestamps are coarse, so a file hashed
right after a write could be rewritten within the same clock tick. ctime cannot be
set by user tools, so ``touch -d`` or ``cp -p`` cannot fake an unchanged file.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa

from layers.errors import LayerError
from layers.schema import LoadResult, WrittenLayer

log = logging.getLogger(__name__)

CACHE_VERSION = 2  # 2: site schema with amalgamation, retort, cyanidation and notes (asm-risk-model 2.0)
_CHUNK_BYTES = 4 * 1024 * 1024
_RACY_WINDOW_NS = 2_000_000_000
_STALE_TMP_S = 24 * 3600
_DATA = "data.parquet"
_REJECTED = "rejected.parquet"
_META = "meta.json"


# --- content hashing -------------------------------------------------------------


def _files_of(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted((p for p in path.rglob("*") if p.is_file()), key=lambda p: p.relative_to(path).as_posix())
    return [path]


def _signature(path: Path, files: list[Path]) -> list[list[Any]]:
    sig = []
    for f in files:
        st = f.stat()
        rel = f.relative_to(path).as_posix() if f != path else ""
        sig.append([rel, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns])
    return sig


def _hash_files(path: Path, files: list[Path]) -> str:
    h = hashlib.sha256()
    for f in files:
        if f != path:  # a directory: the member names are part of the content
            name = f.relative_to(path).as_posix().encode("utf-8")
            h.update(len(name).to_bytes(8, "big") + name + f.stat().st_size.to_bytes(8, "big"))
        with f.open("rb") as fh:
            while chunk := fh.read(_CHUNK_BYTES):
                h.update(chunk)
    return h.hexdigest()


def content_hash(path: Path, cache_dir: Path | None = None) -> str:
    """sha256 of a file's bytes (or of a directory's files, names included).

    With ``cache_dir`` the hash is remembered against the file's stat signature and
    reused while the file is provably unchanged (see the module docstring).
    """
    path = Path(path)
    if not path.exists():
        raise LayerError(path, "file not found", "check the path, or pick the file again")
    files = _files_of(path)
    sig = _signature(path, files)
    index = None
    if cache_dir is not None:
        key = hashlib.sha256(str(path.resolve()).encode("utf-8")).hexdigest()
        index = Path(cache_dir) / "layers" / "hashes" / f"{key}.json"
        remembered = _read_json(index)
        if (
            remembered
            and remembered.get("signature") == sig
            and isinstance(remembered.get("sha256"), str)
            and _newest_change_ns(sig) < int(remembered.get("hashed_at_ns", 0)) - _RACY_WINDOW_NS
        ):
            return remembered["sha256"]
    hashed_at_ns = time.time_ns()
    digest = _hash_files(path, files)
    if index is not None and _signature(path, _files_of(path)) == sig:  # unchanged while we read it
        _write_json_atomic(index, {"path": str(path), "signature": sig, "sha256": digest, "hashed_at_ns": hashed_at_ns})
    return digest


def _newest_change_ns(sig: list[list[Any]]) -> int:
    return max((max(int(s[4]), int(s[5])) for s in sig), default=0)


def _canonical(value: Any) -> Any:
    """Params as plain JSON (sorted keys; tuples and sets as lists; paths and others as strings)."""
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_canonical(v) for v in value), key=repr)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def cache_key(path: Path, loader_name: str, params: Mapping[str, Any], cache_dir: Path | None = None) -> str:
    """The entry key: sha256 over CACHE_VERSION, loader name, params and the file content hash."""
    blob = json.dumps(
        {
            "cache_version": CACHE_VERSION,
            "loader": loader_name,
            "params": _canonical(params),
            "content_sha256": content_hash(path, cache_dir),
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


# --- entries ---------------------------------------------------------------------


def _entry_dir(cache_dir: Path, loader_name: str, key: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", loader_name)[:60] or "layer"
    return Path(cache_dir) / "layers" / f"{safe}-{key}"


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _write_json_atomic(path: Path, value: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex}")
    try:
        tmp.write_text(json.dumps(value, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _storable(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """A copy Parquet can store: columns of mixed Python objects become text (listed).

    A shallow copy (copy-on-write): only the columns turned into text are new.
    """
    out = frame.copy(deep=False)
    out.columns = [str(c) for c in out.columns]
    texted = []
    for col in out.columns:
        if isinstance(out, gpd.GeoDataFrame) and col == out.geometry.name:
            continue
        if out[col].dtype != object:
            continue
        try:
            pa.array(out[col], from_pandas=True)
        except (pa.ArrowException, TypeError, ValueError):
            out[col] = pd.Series(
                [None if _isna(v) else (v.wkt if hasattr(v, "wkt") else str(v)) for v in out[col]],
                index=out.index,
                dtype="string",
            )
            texted.append(col)
    return out, texted


def _isna(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):  # arrays and other containers
        return False


def write_frame(frame: pd.DataFrame, path: Path) -> dict[str, Any]:
    """Write a frame as the cache stores it (GeoParquet when it has geometry; mixed-object columns as text).

    Returns the entry metadata of the file: ``kind``, ``as_text`` and ``rows``.
    """
    stored, texted = _storable(frame)
    if isinstance(stored, gpd.GeoDataFrame) and stored._geometry_column_name in stored.columns:
        write_geoparquet(stored, path)
        kind = "geo"
    else:
        pd.DataFrame(stored).to_parquet(path, index=True)
        kind = "plain"
    return {"kind": kind, "as_text": texted, "rows": len(frame)}


GEOPARQUET_ROWS_PER_GROUP = 50_000


def write_geoparquet(frame: gpd.GeoDataFrame, path: Path, rows_per_group: int = GEOPARQUET_ROWS_PER_GROUP) -> None:
    """``frame`` as GeoParquet 1.0 (WKB, index kept, ``frame.attrs`` kept), the geometry encoded a row group at a time.

    ``GeoDataFrame.to_parquet`` encodes every geometry to WKB at once, beside the frame: for a
    WDPA-sized layer (700 MB on disk) that doubled the memory of the whole load. Here the attribute
    columns become one Arrow table (sliced without copies) and the geometries are encoded per row
    group, so the extra memory is one row group's WKB. ``geopandas.read_parquet`` reads the file back
    equal to ``frame``.
    """
    import pyarrow.parquet as pq
    import shapely

    geom_col = frame.geometry.name
    columns = list(frame.columns)
    position = columns.index(geom_col)
    attrs = pa.Table.from_pandas(pd.DataFrame(frame.drop(columns=[geom_col])), preserve_index=True)
    geoms = frame.geometry.to_numpy()
    present = frame.geometry[~frame.geometry.isna()]
    kinds = present.geom_type + np.where(shapely.has_z(present.to_numpy()), " Z", "")
    column_meta: dict[str, Any] = {"encoding": "WKB", "geometry_types": sorted(set(kinds))}
    if frame.crs is not None:
        column_meta["crs"] = frame.crs.to_json_dict()
    bounds = present.total_bounds.tolist() if len(present) else []
    if bounds and np.isfinite(bounds).all():
        column_meta["bbox"] = bounds
    geo = {"version": "1.0.0", "primary_column": geom_col, "columns": {geom_col: column_meta}}
    metadata = dict(attrs.schema.metadata or {})
    metadata[b"geo"] = json.dumps(geo).encode("utf-8")
    if frame.attrs:
        metadata[b"PANDAS_ATTRS"] = json.dumps(frame.attrs, default=str).encode("utf-8")
    schema = attrs.schema.insert(position, pa.field(geom_col, pa.binary())).with_metadata(metadata)
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, max(len(frame), 1), rows_per_group):
            part = geoms[start : start + rows_per_group]
            wkb = pa.array(shapely.to_wkb(part), type=pa.binary())
            chunk = attrs.slice(start, len(part)).add_column(position, schema.field(geom_col), wkb)
            writer.write_table(chunk.replace_schema_metadata(metadata), row_group_size=rows_per_group)
            del wkb, chunk


def _read_frame(path: Path, info: Mapping[str, Any]) -> pd.DataFrame:
    frame = gpd.read_parquet(path) if info.get("kind") == "geo" else pd.read_parquet(path)
    if len(frame) != info.get("rows"):
        raise ValueError(f"{path.name} has {len(frame)} rows, meta says {info.get('rows')}")
    return frame


def _entry_meta(entry: Path, key: str) -> dict[str, Any]:
    meta = _read_json(entry / _META)
    if meta is None:
        raise ValueError("meta.json missing or unreadable")
    if meta.get("cache_version") != CACHE_VERSION or meta.get("key") != key:
        raise ValueError("meta.json does not belong to this key or cache version")
    warnings = meta.get("warnings", [])
    if not isinstance(warnings, list) or not all(isinstance(w, str) for w in warnings):
        raise ValueError("meta.json warnings are not a list of strings")
    if meta.get("data", {}).get("kind") != "geo":
        raise ValueError("data.parquet holds no geometry")
    return meta


def _read_entry(entry: Path, key: str) -> LoadResult:
    meta = _entry_meta(entry, key)
    data = _read_frame(entry / _DATA, meta["data"])
    if not isinstance(data, gpd.GeoDataFrame):
        raise ValueError("data.parquet holds no geometry")
    rejected = _read_frame(entry / _REJECTED, meta["rejected"])
    return LoadResult(
        data=data,
        rejected=rejected,
        warnings=list(meta["warnings"]),
        source=str(meta.get("source", "")),
        stored_path=entry / _DATA,
    )


class StoredLayer(LoadResult):
    """A cached layer whose rows stay in its GeoParquet file until ``data`` is first read.

    ``n_loaded``, ``rejected``, ``warnings`` and ``stored_path`` are known without reading the
    rows, so an engine that decodes the file itself (``geo.proximity``'s Arrow path, the Dask
    planner) never materialises a GeoDataFrame of a WDPA-sized layer. The file's footer is
    checked when the entry is opened; if the rows turn out unreadable later, the entry is
    discarded and the layer is loaded again from its source.
    """

    def __init__(self, entry: Path, meta: Mapping[str, Any], rejected: pd.DataFrame, reload: Callable[[], LoadResult]):
        self._data: gpd.GeoDataFrame | None = None
        self._rows = int(meta["data"]["rows"])
        self._meta_data = dict(meta["data"])
        self._entry = entry
        self._reload = reload
        super().__init__(
            data=None,  # type: ignore[arg-type]  # read on first access
            rejected=rejected,
            warnings=list(meta.get("warnings", [])),
            source=str(meta.get("source", "")),
            stored_path=entry / _DATA,
        )

    @property  # type: ignore[override]
    def data(self) -> gpd.GeoDataFrame:
        if self._data is None:
            try:
                frame = _read_frame(self._entry / _DATA, self._meta_data)
                if not isinstance(frame, gpd.GeoDataFrame):
                    raise ValueError("data.parquet holds no geometry")
            except Exception as exc:  # damaged after it was opened: rebuild from the source
                log.warning("cache entry %s is unreadable (%s); loading the layer again", self._entry, exc)
                discard_entry(self._entry)
                fresh = self._reload()
                self.stored_path = None
                frame = fresh.data
            self._data = frame
        return self._data

    @data.setter
    def data(self, value: gpd.GeoDataFrame | None) -> None:
        self._data = value

    @property
    def is_loaded(self) -> bool:
        return self._data is not None

    @property
    def n_loaded(self) -> int:
        return self._rows if self._data is None else len(self._data)


def geoparquet_geometry_column(schema: pa.Schema, path: Path | str) -> str:
    """The primary geometry column of a GeoParquet file (WKB-encoded); a LayerError otherwise."""
    try:
        geo = json.loads((schema.metadata or {})[b"geo"])
        name = geo["primary_column"]
        encoding = str(geo["columns"][name].get("encoding", "WKB"))
    except (KeyError, ValueError, TypeError) as exc:
        raise LayerError(
            path, "not a GeoParquet file (no valid 'geo' metadata)", "write it with geopandas' to_parquet"
        ) from exc
    if encoding.upper() != "WKB":
        raise LayerError(
            path,
            f"GeoParquet geometry encoded as {encoding}, the engines read WKB",
            "write the layer with geometry_encoding='WKB' (geopandas' default)",
        )
    return name


def read_stored_table(path: Path, columns: list[str] | None = None, *, geometry: bool = True) -> pa.Table:
    """A stored GeoParquet file (``LoadResult.stored_path``) as a pyarrow Table, schema metadata kept.

    ``columns``: the attribute columns to read (the primary geometry column is added unless
    ``geometry`` is False); None for all.

    Read in record batches through a small buffer: ``pyarrow.parquet.read_table`` pre-buffers
    whole column chunks and peaks at about three times a WDPA-sized geometry column.
    """
    import pyarrow.parquet as pq

    f = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 22)
    if columns is not None and geometry:  # the primary geometry column comes along
        geom = geoparquet_geometry_column(f.schema_arrow, path)
        columns = [*columns, *([geom] if geom not in columns else [])]
    batches = list(f.iter_batches(batch_size=20_000, columns=columns))
    schema = f.schema_arrow if columns is None else pa.schema([f.schema_arrow.field(c) for c in columns])
    return pa.Table.from_batches(batches, schema=schema.with_metadata(f.schema_arrow.metadata))


_ARRAYS_META = "arrays.json"


def _arrays_dir(stored_path: Path, name: str, version: int) -> Path:
    return Path(stored_path).parent / f"{name}-v{int(version)}"


def read_entry_arrays(stored_path: Path, name: str, version: int) -> dict[str, np.ndarray] | None:
    """Arrays stored beside a cache entry's data file by :func:`write_entry_arrays`, or None.

    Memory-mapped copy-on-write (``np.load(mmap_mode="c")``): nothing is read until used, the pages
    come from the OS page cache, and the arrays are ordinary writable ndarrays (the numba kernels
    take them as they take freshly computed ones). None when absent, of another version, or
    damaged (a missing or truncated file, another size than recorded): the caller computes them.
    """
    folder = _arrays_dir(stored_path, name, version)
    _sweep_stale_tmp(folder.parent)  # a writer killed mid-write (SIGKILL, power loss) left its folder
    meta = _read_json(folder / _ARRAYS_META)
    if meta is None:
        return None
    try:
        if meta.get("version") != int(version) or meta.get("data_bytes") != Path(stored_path).stat().st_size:
            raise ValueError("written for another version or another data file")
        out = {}
        for key, nbytes in meta["arrays"].items():
            f = folder / f"{key}.npy"
            if f.stat().st_size != nbytes:
                raise ValueError(f"{f.name} has {f.stat().st_size} bytes, {nbytes} were written")
            arr = np.load(f, mmap_mode="c", allow_pickle=False) if nbytes > 4096 else np.load(f, allow_pickle=False)
            out[key] = np.asarray(arr)  # a plain ndarray over the mapping, not an np.memmap
        return out
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("stored arrays %s are unreadable (%s); computing them again", folder, exc)
        shutil.rmtree(folder, ignore_errors=True)
        return None


def write_entry_arrays(
    stored_path: Path, name: str, version: int, arrays: Mapping[str, np.ndarray | list[np.ndarray]]
) -> bool:
    """Store ``arrays`` (``.npy`` files) beside a cache entry's data file, atomically; False if it could not.

    A list of 1-D arrays of one dtype is stored as their concatenation, written a piece at a time
    (no copy of the whole in memory).

    Written into a temporary folder and renamed into place, so a reader sees all of them or none; a
    concurrent writer of the same arrays keeps the first. Discarded with the entry. Failing to write
    (a full disk, a read-only cache) logs a warning and changes nothing: the arrays are an
    accelerator, computed again next time.
    """
    folder = _arrays_dir(stored_path, name, version)
    if folder.exists():
        return True
    _sweep_stale_tmp(folder.parent)  # left by a writer that crashed
    tmp = folder.with_name(f".tmp-{uuid.uuid4().hex}")
    try:
        tmp.mkdir()
        sizes = {}
        for key, arr in arrays.items():
            if not re.fullmatch(r"[A-Za-z0-9_]+", key):
                raise ValueError(f"array name {key!r}")
            if isinstance(arr, list):
                _save_pieces(tmp / f"{key}.npy", arr)
            else:
                np.save(tmp / f"{key}.npy", np.ascontiguousarray(arr), allow_pickle=False)
            sizes[key] = (tmp / f"{key}.npy").stat().st_size
        meta = {"version": int(version), "data_bytes": Path(stored_path).stat().st_size, "arrays": sizes}
        (tmp / _ARRAYS_META).write_text(json.dumps(meta, sort_keys=True), encoding="utf-8")
        os.rename(tmp, folder)
        return True
    except OSError as exc:
        if folder.exists():  # written concurrently: same content
            return True
        log.warning("could not store arrays beside %s (%s); they are computed again next time", stored_path, exc)
        return False
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _save_pieces(path: Path, pieces: list[np.ndarray]) -> None:
    """One ``.npy`` file of the concatenation of 1-D arrays of one dtype, written piece by piece."""
    dtype = pieces[0].dtype if pieces else np.dtype(np.uint8)
    n = sum(len(p) for p in pieces)
    with open(path, "wb") as f:
        np.lib.format.write_array_header_2_0(
            f, {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": (n,)}
        )
        for piece in pieces:
            f.write(np.ascontiguousarray(piece, dtype=dtype).data)


def _open_entry_lazily(entry: Path, key: str, reload: Callable[[], LoadResult]) -> StoredLayer:
    import pyarrow.parquet as pq

    meta = _entry_meta(entry, key)
    footer = pq.ParquetFile(entry / _DATA).metadata  # a truncated file fails here
    if footer.num_rows != meta["data"].get("rows") or b"geo" not in (footer.metadata or {}):
        raise ValueError(f"{_DATA} has {footer.num_rows} rows or no GeoParquet metadata, unlike meta.json")
    rejected = _read_frame(entry / _REJECTED, meta["rejected"])
    return StoredLayer(entry, meta, rejected, reload)


def _write_entry(
    cache_dir: Path,
    entry: Path,
    key: str,
    loader_name: str,
    params: Mapping,
    result: LoadResult | None,
    stream: Callable[[Path], WrittenLayer] | None = None,
) -> WrittenLayer | None:
    """Write an entry atomically: from ``result``, or by ``stream`` writing the data file itself."""
    root = entry.parent
    root.mkdir(parents=True, exist_ok=True)
    _sweep_stale_tmp(root)
    tmp = root / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        if stream is not None:
            written = stream(tmp / _DATA)
            source, warnings, data_meta, rejected = written.source, written.warnings, written.data, written.rejected
        else:
            assert result is not None
            written = None
            source, warnings, rejected = result.source, result.warnings, result.rejected
            data_meta = write_frame(result.data, tmp / _DATA)
        meta = {
            "cache_version": CACHE_VERSION,
            "key": key,
            "loader": loader_name,
            "params": _canonical(params),
            "source": source,
            "warnings": [str(w) for w in warnings],
            "data": data_meta,
            "rejected": write_frame(rejected, tmp / _REJECTED),
            "created_unix_s": time.time(),
        }
        (tmp / _META).write_text(json.dumps(meta, sort_keys=True), encoding="utf-8")
        try:
            os.rename(tmp, entry)  # atomic; fails if the entry exists
        except OSError:
            if entry.exists():  # another process wrote the same key first: same content
                log.debug("cache entry %s written concurrently; keeping that one", entry.name)
            else:
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return written


_NO_ROOM = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR)
_NO_ROOM_TEXT = (
    "No space left",
    "Disk quota",
    "File too large",
    "Permission denied",
    "Read-only file system",
)  # pyarrow's IOErrors


def cache_write_error(cache_dir: Path, exc: OSError) -> LayerError:
    """The error of a layer cache that cannot be written (full disk, read-only or foreign folder)."""
    log.warning("layer cache %s cannot be written: %s", cache_dir, exc)  # the folder for the log, not the user
    return LayerError(
        None,
        f"the layer cache folder cannot be written ({exc.strerror or exc}); a large layer is read into it a batch at a time",
        "set ASM_CACHE_DIR to a writable folder with free space of about the size of the layer file",
    )


def discard_entry(entry: Path) -> None:
    """Remove a cache directory atomically: renamed aside first, so no reader sees half of it."""
    trash = entry.with_name(f".tmp-bad-{uuid.uuid4().hex}")
    try:
        os.rename(entry, trash)
    except FileNotFoundError:
        return
    shutil.rmtree(trash, ignore_errors=True)


def _sweep_stale_tmp(root: Path) -> None:
    """Remove temp dirs left by crashed writers (older than a day, so never a live one)."""
    now = time.time()
    for p in root.glob(".tmp-*"):
        try:
            if now - p.stat().st_mtime > _STALE_TMP_S:
                shutil.rmtree(p, ignore_errors=True)
        except FileNotFoundError:
            continue


def cached_layer(
    path: Path,
    loader_name: str,
    params: Mapping[str, Any],
    load: Callable[[], LoadResult] | None,
    cache_dir: Path,
    *,
    lazy: bool = False,
    stream: Callable[[Path], WrittenLayer] | None = None,
) -> LoadResult:
    """``load()``'s result for ``path``, from the disk cache when the same content was loaded before.

    Each call returns new frames (read from disk on a hit, the loader's own on a
    miss), so callers may modify them. Errors raised by the loader propagate unchanged
    and nothing is cached. Results from the cache carry ``stored_path``.

    With ``lazy=True`` the rows are not read: a :class:`StoredLayer` is returned (on a hit,
    and on a miss once the entry is written; the loader's frame is then released), whose
    ``data`` is read on first access.

    With ``stream`` (instead of ``load``) a miss calls ``stream(data_path)``, which writes the
    entry's GeoParquet file itself (a batch at a time) and returns the rest: the rows are
    never all in memory. There is then no in-memory result to fall back on: a cache that cannot
    be written (full disk, read-only folder) raises a LayerError that says to set ASM_CACHE_DIR.
    """
    if (load is None) == (stream is None):
        raise TypeError("give exactly one of load and stream")
    cache_dir = Path(cache_dir)
    key = cache_key(Path(path), loader_name, params, cache_dir)
    entry = _entry_dir(cache_dir, loader_name, key)

    def rebuild() -> LoadResult:
        return cached_layer(path, loader_name, params, load, cache_dir, stream=stream)

    if entry.exists():
        try:
            return _open_entry_lazily(entry, key, rebuild) if lazy else _read_entry(entry, key)
        except Exception as exc:  # any damage (truncated parquet, bad JSON, ...) means: rebuild
            log.warning("cache entry %s is unreadable (%s); rebuilding it from %s", entry, exc, path)
            discard_entry(entry)
    if stream is not None:
        try:
            _write_entry(cache_dir, entry, key, loader_name, params, None, stream)
        except OSError as exc:
            if exc.errno in _NO_ROOM or any(t in str(exc) for t in _NO_ROOM_TEXT):
                raise cache_write_error(cache_dir, exc) from exc
            raise
        return _open_entry_lazily(entry, key, rebuild) if lazy else _read_entry(entry, key)
    assert load is not None
    result = load()
    try:
        _write_entry(cache_dir, entry, key, loader_name, params, result)
    except Exception as exc:  # a full disk or an unstorable column must not stop the load
        log.warning("could not write cache entry for %s (%s); continuing without the cache", path, exc)
        return result
    if lazy:
        try:
            return _open_entry_lazily(entry, key, rebuild)
        except Exception as exc:
            log.warning("cache entry %s cannot be reopened (%s); using the loaded layer", entry, exc)
    return result
