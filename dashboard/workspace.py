"""Per-user workspaces on disk: uploaded sites / protected-area files and their computed facts.

A workspace is ``settings.workspaces / <id>`` where the id is a random URL-safe token
(kept in the browser's localStorage). Every write is atomic (temp file + ``os.replace``);
``manifest.json`` names the files and carries a ``version`` token, so any server worker
(gunicorn runs several) rebuilds the same dataset from disk, and a new upload changes the
version and so invalidates every worker's cache. Uploads go through the same loaders as
the CLI (``layers.sites.load_sites``, ``layers.protected_areas.load_protected_areas``).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import json
import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from layers.errors import LayerError

WORKSPACE_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
SITE_EXTENSIONS: tuple[str, ...] = (
    ".csv",
    ".tsv",
    ".txt",
    ".xlsx",
    ".geojson",
    ".json",
    ".gpkg",
    ".zip",
    ".parquet",
    ".kml",
)
PA_EXTENSIONS: tuple[str, ...] = (".gpkg", ".geojson", ".json", ".zip", ".parquet", ".kml", ".gdb.zip")
KINDS = ("sites", "protected_areas")
MANIFEST = "manifest.json"
FACTS = "facts.parquet"
FACTS_VERSION_KEY = "asm_workspace_version"
REJECTED = "rejected.csv"
LOCK = ".lock"
STALE_S = 3600.0  # a staging folder or temp file this old belongs to a write that was killed


@dataclass
class UploadReport:
    """What the user sees after an upload."""

    kind: str
    filename: str
    n_loaded: int
    n_rejected: int
    reasons: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        label = "sites" if self.kind == "sites" else "protected areas"
        return f"{self.filename}: {self.n_loaded:,} {label} loaded, {self.n_rejected:,} rejected"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def new_workspace_id() -> str:
    """A fresh unguessable workspace id."""
    return secrets.token_urlsafe(18)


def workspace_dir(settings, workspace_id: str) -> Path:
    """The workspace folder (the id is validated: no path tricks)."""
    if not isinstance(workspace_id, str) or not WORKSPACE_ID.match(workspace_id):
        raise LayerError(None, "invalid workspace id", "reload the page; a new workspace will be created")
    return Path(settings.workspaces) / workspace_id


def _atomic_write_bytes(path: Path, data: bytes) -> None:
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
    _atomic_write_bytes(workspace_dir(settings, workspace_id) / MANIFEST, json.dumps(manifest, indent=2).encode())


def check_upload(filename: str, contents: str, *, kind: str, max_mb: float) -> bytes:
    """The bytes of a dcc.Upload ``contents`` string, after checking extension and size (before decoding)."""
    if kind not in KINDS:
        raise LayerError(filename, f"unknown upload kind {kind!r}", "upload sites or protected areas")
    name = Path(str(filename or "")).name
    lower = name.lower()
    allowed = SITE_EXTENSIONS if kind == "sites" else PA_EXTENSIONS
    if not lower.endswith(allowed):
        raise LayerError(
            name or "upload",
            "this file type is not accepted",
            f"upload one of {', '.join(allowed)} (a shapefile as a .zip with its .shp, .shx, .dbf and .prj)",
        )
    if not isinstance(contents, str) or "," not in contents:
        raise LayerError(name, "the upload is empty or unreadable", "choose the file again")
    payload = contents.split(",", 1)[1]
    size_mb = len(payload) * 3 / 4 / 1e6
    if size_mb > max_mb:
        raise LayerError(
            name,
            f"the file is {size_mb:.1f} MB, over the {max_mb:g} MB upload limit",
            "upload a smaller file, or run the CLI on it",
        )
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise LayerError(name, "the upload is not valid base64 data", "choose the file again") from exc


def _safe_name(filename: str) -> str:
    name = Path(filename).name
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:100].lstrip(".")
    return stem or "upload"


def save_upload(settings, workspace_id: str, kind: str, filename: str, contents: str) -> UploadReport:
    """Validate an upload with the project's loader, then store it in the workspace (atomically).

    Raises LayerError (shown to the user as an alert) when the file cannot be used;
    the workspace keeps its previous files then. Crash safety: the new file never
    overwrites the committed one (a re-upload under the same name goes to a fresh
    ``<kind>/<token>/`` folder); the manifest is then replaced atomically (the commit
    point), and only then are older files removed. A crash (even SIGKILL) at any moment
    leaves a manifest that names complete files: the old version until the manifest
    rename, the new one after.
    """
    data = check_upload(filename, contents, kind=kind, max_mb=float(settings.max_upload_mb))
    root = workspace_dir(settings, workspace_id)
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=root))
    try:
        staged = staging / _safe_name(filename)
        _atomic_write_bytes(staged, data)
        result = _load(kind, staged, settings)
        if result.n_loaded == 0:
            reasons = _reasons(result.rejected)
            top = "; ".join(f"{r} ({n})" for r, n in list(reasons.items())[:3]) or "no usable rows"
            raise LayerError(filename, f"no usable rows: {top}", "check the coordinate columns and their values")
        if result.n_rejected:
            from dashboard.exports import safe_csv

            table = pd.DataFrame(result.rejected.drop(columns=["geometry"], errors="ignore"))
            _atomic_write_bytes(staging / REJECTED, safe_csv(table).encode("utf-8"))
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
    report = UploadReport(
        kind=kind,
        filename=Path(filename).name,
        n_loaded=result.n_loaded,
        n_rejected=result.n_rejected,
        reasons=_reasons(result.rejected),
        warnings=list(result.warnings)[:10],
    )
    with _locked(root):  # two uploads of one workspace at once (sites and protected areas) both land
        manifest = read_manifest(settings, workspace_id) or {}
        manifest[kind] = final.relative_to(root).as_posix()
        manifest[f"{kind}_rejected"] = rejected.relative_to(root).as_posix() if rejected else None
        manifest[f"{kind}_report"] = report.to_dict()
        _write_manifest(settings, workspace_id, manifest)  # the commit point
        _remove_old_versions(
            root, kind, keep={final.relative_to(folder).parts[0]} | ({rejected.name} if rejected else set())
        )
    return report


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
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


def _load(kind: str, path: Path, settings):
    if kind == "sites":
        from layers.sites import load_sites

        return load_sites(path, crs=settings.sites_crs)
    from layers.protected_areas import load_protected_areas

    return load_protected_areas(path, include_proposed=settings.include_proposed_protected_areas)


def _reasons(rejected: pd.DataFrame | None) -> dict[str, int]:
    if rejected is None or len(rejected) == 0 or "reason" not in rejected.columns:
        return {}
    counts = rejected["reason"].astype("string").fillna("unknown").value_counts()
    return {str(k): int(v) for k, v in counts.items()}


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


def workspace_sources(settings, workspace_id: str):
    """The LayerSources of a workspace: its uploads over the server's own layers."""
    from scoring.pipeline import LayerSources

    manifest = read_manifest(settings, workspace_id) or {}
    root = workspace_dir(settings, workspace_id)
    base = LayerSources.from_settings(settings)
    sites = root / manifest["sites"] if manifest.get("sites") else base.sites
    pas = root / manifest["protected_areas"] if manifest.get("protected_areas") else base.protected_areas
    if sites is None:  # demo server, protected areas uploaded: score the demo sites against them
        from layers.demo import ensure_demo_data

        sites = ensure_demo_data(Path(settings.cache_dir), seed=settings.demo_seed, n_sites=settings.demo_n_sites).sites
    return LayerSources(
        sites=sites,
        protected_areas=pas,
        rainforest=base.rainforest,
        reefs=base.reefs,
        arctic=base.arctic,
        water=base.water,
        countries=base.countries,
        rasters=base.rasters,
        sites_crs=base.sites_crs,
        include_proposed=base.include_proposed,
    )


def build_workspace_dataset(settings, workspace_id: str):
    """Load a workspace's layers and facts; the facts are computed once and kept in the workspace."""
    from dashboard.data import dataset_from_scenario
    from scoring.pipeline import compute_facts, load_scenario

    manifest = read_manifest(settings, workspace_id) or {}
    root = workspace_dir(settings, workspace_id)
    scenario = load_scenario(workspace_sources(settings, workspace_id), settings)
    facts_path = root / FACTS
    version = str(manifest.get("version"))
    facts = _read_facts(facts_path, version)
    if facts is None:
        facts = compute_facts(scenario, settings)
        # the version travels INSIDE the file, so a worker that finished computing an older
        # version after a new upload can never pass its facts off as the new version's
        facts.attrs[FACTS_VERSION_KEY] = version
        fd, tmp = tempfile.mkstemp(prefix=".facts.", suffix=".parquet", dir=root)
        os.close(fd)
        try:
            facts.to_parquet(tmp, index=False)
            os.replace(tmp, facts_path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return dataset_from_scenario(scenario, facts, settings, workspace_id=workspace_id)


def _read_facts(path: Path, version: str) -> gpd.GeoDataFrame | None:
    """The persisted facts when they were computed for ``version``, else None."""
    try:
        import pyarrow.parquet as pq

        meta = pq.read_schema(path).metadata or {}
        attrs = json.loads(meta.get(b"PANDAS_ATTRS", b"{}"))
        if attrs.get(FACTS_VERSION_KEY) != version:
            return None
        return gpd.read_parquet(path)
    except (OSError, ValueError):  # missing, truncated or foreign file: recompute
        return None
