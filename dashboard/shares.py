"""Read-only shared snapshots of a workspace (storage only): an unguessable link to the same data and view.

``create_snapshot`` copies what a workspace's manifest names (the uploaded files, their rejected rows,
the analyst's column options and the computed facts) into ``<cache_dir>/shares/<token>/`` together
with the view (the page's query string), and returns the token: ``secrets.token_urlsafe(32)``, 256
random bits. The files are hard links where the file system allows (a workspace never rewrites a file
in place: an upload, the facts and the manifest are always new files renamed into place, so the
owner's later uploads never reach a snapshot), copies otherwise. The snapshot folder is built under a
temporary name and renamed into place in one step: a crash leaves either no snapshot or a complete one.

A snapshot has the layout of a workspace (``manifest.json``, ``sites/``, ``protected_areas/``,
``facts.parquet``, and ``aoi/`` with the uploaded areas of interest), so ``dashboard.data`` builds its
dataset the same way, read-only. The link is
``/s/<token>?<view>``; the dashboard serves it as a normal page whose data id is ``share:<token>``.

Revocation: the owner's workspace lists its links (``shares.json``, beside the manifest so that
listing one never changes the data version) and ``revoke`` deletes a snapshot; an operator can
delete ``<cache_dir>/shares/<token>`` by hand. Snapshots older than ``share_retention_days`` are
refused and swept (docs/security.md).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from dashboard.workspace import (
    AOI_DIR,
    FACTS,
    KINDS,
    MANIFEST,
    atomic_write_bytes,
    locked,
    read_manifest,
    workspace_dir,
)
from layers.errors import LayerError

SHARE_PREFIX = "share:"
TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32): 256 bits
OWNED = "shares.json"  # in a workspace: the links its owner made (token, created, view)


def shares_root(settings) -> Path:
    """The folder holding every snapshot."""
    return Path(settings.cache_dir) / "shares"


def share_id(token: str) -> str:
    """The data id a page viewing snapshot ``token`` works on (never a workspace id: ':' is not in those)."""
    return SHARE_PREFIX + token


def token_of(data_id: object) -> str | None:
    """The snapshot token of a ``share:<token>`` data id (None for a workspace id or anything invalid)."""
    if isinstance(data_id, str) and data_id.startswith(SHARE_PREFIX):
        token = data_id[len(SHARE_PREFIX) :]
        return token if TOKEN.match(token) else None
    return None


def snapshot_dir(settings, token: str) -> Path:
    """The folder of snapshot ``token`` (validated: no path tricks)."""
    if not isinstance(token, str) or not TOKEN.match(token):
        raise LayerError(None, "invalid shared link", "ask for the link again")
    return shares_root(settings) / token


def _expired(created_utc: str | None, retention_days: float) -> bool:
    if not retention_days or retention_days <= 0:
        return False
    try:
        created = dt.datetime.fromisoformat(str(created_utc))
    except ValueError:
        return True
    return dt.datetime.now(dt.UTC) - created > dt.timedelta(days=float(retention_days))


def read_snapshot(settings, token: str | None) -> dict[str, Any] | None:
    """The manifest of snapshot ``token``, or None when it does not exist, was revoked or has expired."""
    if not token or not TOKEN.match(str(token)):
        return None
    try:
        manifest = json.loads((snapshot_dir(settings, token) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    meta = manifest.get("snapshot") or {}
    if _expired(meta.get("created_utc"), settings.share_retention_days):
        return None
    return manifest


def _link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:  # another file system, or links not allowed: a copy (the snapshot owns it)
        shutil.copy2(src, dst)


def create_snapshot(settings, workspace_id: str, view_query: str) -> str:
    """Snapshot the workspace's current data and the view ``view_query``; the new token.

    LayerError when the workspace has nothing uploaded (the page then shows the server's data, which
    its address alone shares).
    """
    root = workspace_dir(settings, workspace_id)
    if not any((read_manifest(settings, workspace_id) or {}).get(kind) for kind in KINDS):
        raise LayerError(
            None,
            "nothing to snapshot: this view shows the server's data, not uploads",
            "copy the page's address instead; it holds the whole view",
        )
    base = shares_root(settings)
    base.mkdir(parents=True, exist_ok=True)
    sweep_expired(settings)
    staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=base))
    try:
        with locked(root):  # an upload cannot replace or remove the files while they are linked
            manifest = read_manifest(settings, workspace_id) or {}  # read again under the lock
            names = [manifest[k] for k in KINDS if manifest.get(k)]
            names += [manifest[f"{k}_rejected"] for k in KINDS if manifest.get(f"{k}_rejected")]
            for rel in names:
                _link_or_copy(root / rel, staging / rel)
            if (root / FACTS).exists():
                _link_or_copy(root / FACTS, staging / FACTS)
            # uploaded areas of interest (immutable, by content hash): the view's aoi=up:<hash> works on the link
            for path in sorted((root / AOI_DIR).glob("[0-9a-f]*/*")) if (root / AOI_DIR).is_dir() else ():
                if path.is_file():
                    _link_or_copy(path, staging / path.relative_to(root))
        created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        view = view_query if isinstance(view_query, str) and view_query.startswith("?") else ""
        snapshot = {**manifest, "snapshot": {"created_utc": created, "view": view[:20_000]}}
        atomic_write_bytes(staging / MANIFEST, json.dumps(snapshot, indent=2).encode("utf-8"))
        token = secrets.token_urlsafe(32)
        os.rename(staging, base / token)  # the commit point: the whole snapshot appears at once
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    _remember(settings, workspace_id, token, created, view)
    return token


def _remember(settings, workspace_id: str, token: str, created: str, view: str) -> None:
    root = workspace_dir(settings, workspace_id)
    with locked(root):
        owned = [s for s in owned_shares(settings, workspace_id) if s["token"] != token]
        owned.append({"token": token, "created_utc": created, "view": view})
        atomic_write_bytes(root / OWNED, json.dumps(owned, indent=2).encode("utf-8"))


def owned_shares(settings, workspace_id: str | None) -> list[dict[str, str]]:
    """The links this workspace made that still work (oldest first)."""
    if not workspace_id or token_of(workspace_id) is not None:
        return []
    try:
        owned = json.loads((workspace_dir(settings, workspace_id) / OWNED).read_text(encoding="utf-8"))
    except (OSError, ValueError, LayerError):
        return []
    return [s for s in owned if isinstance(s, dict) and read_snapshot(settings, s.get("token")) is not None]


def revoke(settings, token: str, workspace_id: str | None = None) -> bool:
    """Delete snapshot ``token`` (the link stops working at once); True if it existed.

    With ``workspace_id`` only a link that workspace made can be revoked.
    """
    if workspace_id is not None and token not in {s["token"] for s in owned_shares(settings, workspace_id)}:
        raise LayerError(None, "this link was not made from your workspace", "only its owner can revoke it")
    folder = snapshot_dir(settings, token)
    if not folder.exists():
        return False
    doomed = folder.with_name(f".revoked-{secrets.token_hex(8)}")
    os.rename(folder, doomed)  # atomic: no request sees a half-deleted snapshot
    shutil.rmtree(doomed, ignore_errors=True)
    return True


def sweep_expired(settings) -> int:
    """Delete expired snapshots and left-overs of interrupted ones (an hour old); how many went."""
    base = shares_root(settings)
    if not base.exists():
        return 0
    gone = 0
    now = time.time()
    for entry in base.iterdir():
        try:
            if entry.name.startswith("."):
                if now - entry.stat().st_mtime > 3600:
                    shutil.rmtree(entry, ignore_errors=True)
                continue
            if TOKEN.match(entry.name) and read_snapshot(settings, entry.name) is None:
                shutil.rmtree(entry, ignore_errors=True)
                gone += 1
        except OSError:
            continue
    return gone
