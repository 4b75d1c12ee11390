"""Per-user workspaces on disk (storage only): uploaded sites / protected-area files and their computed facts.

A workspace is ``settings.workspaces / <id>`` where the id is a random URL-safe token
(kept in the browser's localStorage). Every write is atomic (temp file + ``os.replace``);
``manifest.json`` names the files and carries a ``version`` token, so any server worker
(gunicorn runs several) rebuilds the same dataset from disk, and a new upload changes the
version and so invalidates every worker's cache. Nothing here parses an upload: the
validation is the caller's (``dashboard.uploads``), passed in to ``store_upload``; the
datasets are built in ``dashboard.data``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyarrow.parquet as pq

from layers.errors import LayerError
from scoring.pipeline import facts_fingerprint

WORKSPACE_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
AOI_DIR = "aoi"  # uploaded areas of interest: <workspace>/aoi/<content hash>/<file> (dashboard.aoi_store)
KINDS = ("sites", "protected_areas")
MANIFEST = "manifest.json"
FACTS = "facts.parquet"
FACTS_VERSION_KEY = "asm_workspace_version"
REJECTED = "rejected.csv"
LOCK = ".lock"
STALE_S = 3600.0  # a staging folder or temp file this old belongs to a write that was killed


def private_dirs(settings) -> list[Path]:
    """Server folders whose paths never reach the browser (a path under one is shown as its file name)."""
    return [Path(settings.workspaces), Path(settings.cache_dir), Path(tempfile.gettempdir())]


def new_workspace_id() -> str:
    """A fresh unguessable workspace id."""
    return secrets.token_urlsafe(18)


def workspace_dir(settings, workspace_id: str) -> Path:
    """The workspace folder (the id is validated: no path tricks)."""
    if not isinstance(workspace_id, str) or not WORKSPACE_ID.match(workspace_id):
        raise LayerError(None, "invalid workspace id", "reload the page; a new workspace will be created")
    return Path(settings.workspaces) / workspace_id


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so a reader (or a crash, even SIGKILL) sees the old file or the new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())  # the bytes are on disk before the rename makes them visible
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_manifest(settings, workspace_id: str | None) -> dict[str, Any] | None:
    """The workspace's manifest, or None when it has none (or the id is not valid)."""
    if not workspace_id or not WORKSPACE_ID.match(str(workspace_id)):
        return None
    path = workspace_dir(settings, workspace_id) / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def workspace_version(settings, workspace_id: str | None) -> str | None:
    """The version token of a workspace with uploaded sites or protected areas (None: use the default data)."""
    manifest = read_manifest(settings, workspace_id)
    if not manifest or not (manifest.get("sites") or manifest.get("protected_areas")):
        return None
    return str(manifest.get("version"))


def _write_manifest(settings, workspace_id: str, manifest: dict[str, Any]) -> None:
    manifest = {**manifest, "version": secrets.token_hex(8)}
    atomic_write_bytes(workspace_dir(settings, workspace_id) / MANIFEST, json.dumps(manifest, indent=2).encode())


def _safe_name(filename: str) -> str:
    """The user's file name as stored: its last part only, no control characters or leading dots, 200 bytes at most.

    Spaces, accents and brackets stay ("Sites (DRC) 2024.csv"), so the name in the data's ``source``
    column and in every export is the one the user gave; no path part can escape the folder.
    """
    name = Path(str(filename).replace("\\", "/")).name
    name = re.sub(r"[\x00-\x1f\x7f/]", "_", name).strip().lstrip(".")
    stem, dot, ext = name.rpartition(".") if "." in name and len(name.rpartition(".")[2]) <= 10 else (name, "", "")
    while len((stem + dot + ext).encode("utf-8")) > 200:  # file systems allow 255 bytes
        stem = stem[:-1]
    return (stem + dot + ext) if stem else "upload" + dot + ext


Validate = Callable[[Path], tuple[Mapping[str, Any], bytes | None]]


def store_upload(
    settings, workspace_id: str, kind: str, filename: str, data: bytes, validate: Validate
) -> Mapping[str, Any]:
    """Stage ``data``, let ``validate(staged path)`` accept it, then commit it to the workspace (atomically).

    ``validate`` returns (the report to keep in the manifest, the rejected rows as CSV bytes or
    None) or raises (LayerError, shown as the alert): the workspace keeps its previous files then.
    Crash safety: the new file never overwrites the committed one (a re-upload under the same
    name goes to a fresh ``<kind>/<token>/`` folder); the manifest is then replaced atomically
    (the commit point), and only then are older files removed. A crash (even SIGKILL) at any
    moment leaves a manifest that names complete files: the old version until the manifest
    rename, the new one after. Returns the report.
    """
    if kind not in KINDS:
        raise LayerError(filename, f"unknown upload kind {kind!r}", "upload sites or protected areas")
    root = workspace_dir(settings, workspace_id)
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=root))
    try:
        staged = staging / _safe_name(filename)
        atomic_write_bytes(staged, data)
        report, rejected_rows = validate(staged)
        if rejected_rows:
            atomic_write_bytes(staging / REJECTED, rejected_rows)
        folder = root / kind
        folder.mkdir(exist_ok=True)
        token = secrets.token_hex(8)
        final = folder / staged.name
        if final.exists():  # re-upload under the same name: never overwrite the committed file
            final = folder / token / staged.name
            final.parent.mkdir()
        os.replace(staged, final)
        rejected: Path | None = None
        if (staging / REJECTED).exists():
            rejected = folder / f"{token}.{REJECTED}"
            os.replace(staging / REJECTED, rejected)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    with locked(root):  # two uploads of one workspace at once (sites and protected areas) both land
        manifest = read_manifest(settings, workspace_id) or {}
        manifest[kind] = final.relative_to(root).as_posix()
        manifest[f"{kind}_rejected"] = rejected.relative_to(root).as_posix() if rejected else None
        manifest[f"{kind}_report"] = dict(report)
        manifest.pop(f"{kind}_options", None)  # a new file starts from detection: its columns are new
        _write_manifest(settings, workspace_id, manifest)  # the commit point
        _remove_old_versions(
            root, kind, keep={final.relative_to(folder).parts[0]} | ({rejected.name} if rejected else set())
        )
    return report


def update_upload(
    settings,
    workspace_id: str,
    kind: str,
    options: Mapping[str, Any],
    validate: Callable[[Path], tuple[Mapping[str, Any], bytes | None]],
) -> Mapping[str, Any]:
    """Re-read the committed ``kind`` file with new ``options`` (the analyst's columns and defaults) and commit them.

    ``validate(committed path)`` loads it (or raises, leaving the workspace as it was) and returns the
    new report and rejected rows. The manifest is replaced atomically with a new version, so every
    worker rebuilds the dataset with the options; a reload of the page re-applies them.
    """
    root = workspace_dir(settings, workspace_id)
    manifest = read_manifest(settings, workspace_id) or {}
    if not manifest.get(kind):
        raise LayerError(None, f"no {kind.replace('_', ' ')} uploaded in this workspace", "upload a file first")
    report, rejected_rows = validate(root / manifest[kind])
    with locked(root):
        current = read_manifest(settings, workspace_id) or {}
        if current.get(kind) != manifest.get(kind):  # another upload landed meanwhile: it wins
            raise LayerError(None, "the file changed while the options were applied", "apply the options again")
        folder = root / kind
        rejected = None
        if rejected_rows:
            rejected = folder / f"{secrets.token_hex(8)}.{REJECTED}"
            atomic_write_bytes(rejected, rejected_rows)
        old_rejected = current.get(f"{kind}_rejected")
        current[f"{kind}_rejected"] = rejected.relative_to(root).as_posix() if rejected else None
        current[f"{kind}_report"] = dict(report)
        current[f"{kind}_options"] = dict(options)
        _write_manifest(settings, workspace_id, current)  # the commit point
        if old_rejected:
            (root / old_rejected).unlink(missing_ok=True)
    return report


def upload_options(manifest: Mapping[str, Any] | None, kind: str = "sites") -> dict[str, Any]:
    """The analyst's options for the ``kind`` upload of a manifest ({} when none)."""
    value = (manifest or {}).get(f"{kind}_options")
    return dict(value) if isinstance(value, Mapping) else {}


@contextlib.contextmanager
def locked(root: Path) -> Iterator[None]:
    """An exclusive advisory lock on the workspace (across gunicorn workers); released on exit or crash."""
    with open(root / LOCK, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _remove_old_versions(root: Path, kind: str, keep: set[str]) -> None:
    """Older uploads of ``kind`` (and left-overs of interrupted ones), once the manifest names the new one."""
    for old in (root / kind).iterdir():
        if old.name in keep:
            continue
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)
    (root / f"{kind}.rejected.csv").unlink(missing_ok=True)  # layout before version folders
    now = time.time()
    for stale in root.glob(".*"):  # staging / temp files of a write killed mid-way (old enough not to be running)
        try:
            if stale.name != LOCK and now - stale.stat().st_mtime > STALE_S:
                shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
        except OSError:
            pass


def rejected_csv(settings, workspace_id: str, kind: str = "sites") -> bytes | None:
    """The rejected rows of the last upload of ``kind`` as CSV bytes (None when there are none)."""
    manifest = read_manifest(settings, workspace_id) or {}
    rel = manifest.get(f"{kind}_rejected")
    if not rel:
        return None
    path = workspace_dir(settings, workspace_id) / rel
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def clear_workspace(settings, workspace_id: str) -> None:
    """Forget the uploads (back to the server's default data)."""
    root = workspace_dir(settings, workspace_id)
    if root.exists():
        shutil.rmtree(root)


def uploaded_files(manifest: Mapping[str, Any] | None, settings, workspace_id: str) -> dict[str, Path]:
    """Kind -> path of the files a workspace's manifest names (only the kinds uploaded)."""
    return files_in(manifest, workspace_dir(settings, workspace_id))


def files_in(manifest: Mapping[str, Any] | None, root: Path) -> dict[str, Path]:
    """Kind -> path of the files a manifest names, under ``root`` (a workspace or a shared snapshot)."""
    return {kind: root / manifest[kind] for kind in KINDS if manifest and manifest.get(kind)}


def display_names(manifest: Mapping[str, Any] | None) -> dict[str, str]:
    """Kind -> the file name the user uploaded (as shown in messages and exports)."""
    out = {}
    for kind in KINDS:
        report = (manifest or {}).get(f"{kind}_report") or {}
        if (manifest or {}).get(kind) and report.get("filename"):
            out[kind] = str(report["filename"])
    return out


def facts_key(settings, version: str) -> str:
    """The key persisted facts are stored under: the data's version and the facts' contract and settings.

    Facts of an older release (without the per-category distances) or computed with other
    buffers or reach never match, so they are recomputed rather than scored on a weaker basis.
    """
    return f"{version}:{facts_fingerprint(settings)}"


def read_facts(settings, workspace_id: str, version: str) -> gpd.GeoDataFrame | None:
    """The workspace's persisted facts when they were computed for ``version`` with these settings, else None."""
    return read_facts_at(workspace_dir(settings, workspace_id), facts_key(settings, version))


def read_facts_at(folder: Path, version: str) -> gpd.GeoDataFrame | None:
    """The facts persisted in ``folder`` (a workspace or a shared snapshot) when computed for ``version``."""
    path = folder / FACTS
    try:
        meta = pq.read_schema(path).metadata or {}
        attrs = json.loads(meta.get(b"PANDAS_ATTRS", b"{}"))
        if attrs.get(FACTS_VERSION_KEY) != version:
            return None
        return gpd.read_parquet(path)
    except (OSError, ValueError):  # missing, truncated or foreign file: recompute
        return None


def write_facts(settings, workspace_id: str, facts: gpd.GeoDataFrame, version: str) -> None:
    """Persist the facts computed for ``version`` (atomically), for every worker to reuse."""
    write_facts_at(workspace_dir(settings, workspace_id), facts, facts_key(settings, version))


def write_facts_at(root: Path, facts: gpd.GeoDataFrame, version: str) -> None:
    """Persist facts for ``version`` in ``root`` (atomically)."""
    # the version travels INSIDE the file, so a worker that finished computing an older
    # version after a new upload can never pass its facts off as the new version's
    facts.attrs[FACTS_VERSION_KEY] = version
    fd, tmp = tempfile.mkstemp(prefix=".facts.", suffix=".parquet", dir=root)
    os.close(fd)
    try:
        facts.to_parquet(tmp, index=False)
        os.replace(tmp, root / FACTS)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
