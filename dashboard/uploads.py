"""The owner of an upload: check the bytes, load the file once (seeding the layer cache), store it.

Flow of one upload: ``check_upload`` (extension from ``layers.formats``, size, base64; before
anything parses it) -> ``dashboard.workspace.store_upload`` (staged on disk) -> the validation passed
to it, ``scoring.uploads.load_uploaded_layer`` (the one parse: the project's loader through the
layer cache, with the settings' limits) -> committed in the workspace's manifest. Building the
workspace's dataset afterwards (``dashboard.data``) finds the loaded layer in the cache.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from dashboard.views import plural
from dashboard.workspace import store_upload
from layers.errors import LayerError
from layers.formats import UPLOAD_EXTENSIONS
from layers.schema import LoadResult
from scoring.uploads import load_uploaded_layer
from scoring.writers import safe_csv
from settings import Settings


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
        label = ("site", "sites") if self.kind == "sites" else ("protected area", "protected areas")
        return f"{self.filename}: {plural(self.n_loaded, *label)} loaded, {self.n_rejected:,} rejected"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_upload(filename: str, contents: str, *, kind: str, max_mb: float) -> bytes:
    """The bytes of a dcc.Upload ``contents`` string, after checking extension and size (before decoding)."""
    if kind not in UPLOAD_EXTENSIONS:
        raise LayerError(filename, f"unknown upload kind {kind!r}", "upload sites or protected areas")
    name = Path(str(filename or "")).name
    lower = name.lower()
    allowed = UPLOAD_EXTENSIONS[kind]
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


def save_upload(settings: Settings, workspace_id: str, kind: str, filename: str, contents: str) -> UploadReport:
    """Check, load (once) and store an upload in the workspace; LayerError when the file cannot be used."""
    data = check_upload(filename, contents, kind=kind, max_mb=float(settings.max_upload_mb))
    shown_name = Path(filename).name

    def validate(staged: Path) -> tuple[dict[str, Any], bytes | None]:
        result = load_uploaded_layer(settings, kind, staged)
        if result.n_loaded == 0:
            reasons = _reasons(result.rejected)
            top = "; ".join(f"{r} ({n})" for r, n in list(reasons.items())[:3]) or "no usable rows"
            raise LayerError(filename, f"no usable rows: {top}", "check the coordinate columns and their values")
        return _report(kind, shown_name, result).to_dict(), _rejected_csv(result)

    return UploadReport(**store_upload(settings, workspace_id, kind, filename, data, validate))


def _report(kind: str, filename: str, result: LoadResult) -> UploadReport:
    return UploadReport(
        kind=kind,
        filename=filename,
        n_loaded=result.n_loaded,
        n_rejected=result.n_rejected,
        reasons=_reasons(result.rejected),
        warnings=list(result.warnings)[:10],
    )


def _rejected_csv(result: LoadResult) -> bytes | None:
    if not result.n_rejected:
        return None
    table = pd.DataFrame(result.rejected.drop(columns=["geometry"], errors="ignore"))
    return safe_csv(table).encode("utf-8")


def _reasons(rejected: pd.DataFrame | None) -> dict[str, int]:
    if rejected is None or len(rejected) == 0 or "reason" not in rejected.columns:
        return {}
    counts = rejected["reason"].astype("string").fillna("unknown").value_counts()
    return {str(k): int(v) for k, v in counts.items()}
