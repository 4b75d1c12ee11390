"""Areas of interest uploaded to a workspace (storage only): ``<workspace>/aoi/<content hash>/<file name>``.

An AOI file is stored under the hash of its bytes, so the URL state can name it by reference
(``up:<hash>``, never the file inline) and a link keeps meaning the same area: files are immutable, a
second upload of the same bytes is the same reference. Writes are atomic (a staging folder renamed into
place); the validation is the caller's (``dashboard.aoi_callbacks`` loads the file with the AOI loader
before it is kept). The AOI does not change the workspace's data (sites, protected areas): the manifest
and its version are untouched, so no fact is recomputed.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from dashboard import shares
from dashboard.workspace import AOI_DIR, WORKSPACE_ID, workspace_dir

_DIGEST = re.compile(r"^[0-9a-f]{16,64}$")
DIGEST_CHARS = 32


def _safe_name(filename: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(str(filename)).name)[:100].lstrip(".")
    return name or "aoi"


def store_aoi(settings, workspace_id: str, filename: str, data: bytes, validate: Callable[[Path], object]) -> str:
    """Keep an uploaded AOI file in the workspace after ``validate(staged path)`` accepted it; its digest."""
    digest = hashlib.sha256(data).hexdigest()[:DIGEST_CHARS]
    root = workspace_dir(settings, workspace_id) / AOI_DIR
    root.mkdir(parents=True, exist_ok=True)
    final = root / digest
    staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=root))
    try:
        staged = staging / _safe_name(filename)
        staged.write_bytes(data)
        validate(staged)
        if not final.exists():
            try:
                os.rename(staging, final)  # atomic: readers see no folder or the complete one
            except OSError:
                if not final.exists():
                    raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return digest


def aoi_file(settings, workspace_id: str | None, digest: str) -> Path | None:
    """The stored AOI file of ``digest`` in the workspace or shared snapshot (``share:<token>``, which holds the
    AOIs its workspace had), or None (no workspace, unknown digest, a revoked or expired snapshot)."""
    if not workspace_id or not _DIGEST.match(str(digest)):
        return None
    token = shares.token_of(workspace_id)
    if token is not None:
        if shares.read_snapshot(settings, token) is None:
            return None
        root = shares.snapshot_dir(settings, token)
    elif WORKSPACE_ID.match(str(workspace_id)):
        root = workspace_dir(settings, workspace_id)
    else:
        return None
    folder = root / AOI_DIR / digest
    files = sorted(p for p in folder.glob("*") if p.is_file()) if folder.is_dir() else []
    return files[0] if files else None
