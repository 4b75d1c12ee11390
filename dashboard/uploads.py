"""The owner of an upload: check the bytes, load the file once (seeding the layer cache), store it.

Flow of one upload: ``check_upload`` (extension from ``layers.formats``, size, base64; before
anything parses it) -> ``dashboard.workspace.store_upload`` (staged on disk) -> the validation passed
to it, ``scoring.uploads.load_uploaded_layer`` (the one parse: the project's loader through the
layer cache, with the settings' limits) -> committed in the workspace's manifest. Building the
workspace's dataset afterwards (``dashboard.data``) finds the loaded layer in the cache.

``apply_site_options`` re-reads the committed sites file with the analyst's column choices and
defaults (``layers.site_options.SiteOptions``) and commits them to the manifest, so every reload (and
every shared snapshot) applies them.

Messages name a file by the name the user gave it: a loader's error about the staged copy
(``<workspace>/.incoming-*/name``) is re-raised without the server's folders or the workspace id.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from dashboard.views import plural
from dashboard.workspace import private_dirs, store_upload, update_upload
from layers.errors import LayerError
from layers.formats import UPLOAD_EXTENSIONS
from layers.schema import LoadResult
from layers.site_columns import check_options
from layers.site_options import SiteOptions
from scoring.errors import redact_paths
from scoring.uploads import load_uploaded_layer
from scoring.writers import safe_csv
from settings import Settings


@dataclass
class UploadReport:
    """What the user sees after an upload: the row accounting, every warning, the columns used."""

    kind: str
    filename: str
    n_loaded: int
    n_rejected: int
    reasons: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    sha256: str = ""
    n_input_rows: int | None = None
    n_folded: int = 0  # IPIS visits folded into their site's latest visit
    n_merged: int = 0  # duplicate rows of one site merged
    columns: list[str] = field(default_factory=list)  # the file's own columns (the column form offers them)
    column_roles: dict[str, list[str]] = field(default_factory=dict)  # role -> columns read (detected or chosen)

    def summary(self) -> str:
        label = ("site", "sites") if self.kind == "sites" else ("protected area", "protected areas")
        return f"{self.filename}: {plural(self.n_loaded, *label)} loaded, {self.n_rejected:,} rejected"

    def accounting(self) -> str:
        """Every input row accounted for: read = loaded + folded + merged + rejected."""
        n_read = self.n_input_rows if self.n_input_rows is not None else self.n_loaded + self.n_rejected
        unit = "rows" if self.kind == "sites" else "features"
        label = "sites" if self.kind == "sites" else "protected areas"
        parts = [f"{self.n_loaded:,} {label} loaded"]
        if self.n_folded:
            parts.append(f"{self.n_folded:,} earlier visits folded into their site")
        if self.n_merged:
            parts.append(f"{self.n_merged:,} duplicate rows merged")
        parts.append(f"{self.n_rejected:,} rejected")
        return f"Read {n_read:,} {unit}: " + ", ".join(parts) + "."

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> UploadReport:
        """A report from a manifest (keys it does not know, or a manifest written before one, are fine)."""
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in dict(value).items() if k in known})


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


def _as_user_error(exc: LayerError, shown_name: str, settings: Settings) -> LayerError:
    """The loader's error about the stored copy, told about the file the user uploaded."""
    dirs = private_dirs(settings)
    return LayerError(shown_name, redact_paths(exc.problem, dirs), redact_paths(exc.fix, dirs))


def save_upload(settings: Settings, workspace_id: str, kind: str, filename: str, contents: str) -> UploadReport:
    """Check, load (once) and store an upload in the workspace; LayerError when the file cannot be used."""
    data = check_upload(filename, contents, kind=kind, max_mb=float(settings.max_upload_mb))
    shown_name = Path(filename).name
    sha256 = hashlib.sha256(data).hexdigest()

    def validate(staged: Path) -> tuple[dict[str, Any], bytes | None]:
        result = _load(settings, kind, staged, shown_name, None)
        return _report(kind, shown_name, sha256, result, settings).to_dict(), _rejected_csv(result)

    return UploadReport.from_dict(store_upload(settings, workspace_id, kind, filename, data, validate))


def apply_site_options(
    settings: Settings,
    workspace_id: str,
    columns: Mapping[str, str | None],
    defaults: Mapping[str, str | None],
    previous: Mapping[str, Any],
) -> UploadReport:
    """Re-read the workspace's sites file with the analyst's columns and defaults; commit them (LayerError if unusable).

    ``previous`` is the current sites report (its file name and hash are kept).
    """
    options = SiteOptions.from_mappings(columns, defaults)
    shown_name = str(previous.get("filename") or "sites")

    def validate(path: Path) -> tuple[dict[str, Any], bytes | None]:
        try:
            check_options(options, previous.get("columns") or [], shown_name)
        except LayerError as exc:
            raise _as_user_error(exc, shown_name, settings) from exc
        result = _load(settings, "sites", path, shown_name, options)
        report = _report("sites", shown_name, str(previous.get("sha256") or ""), result, settings)
        return report.to_dict(), _rejected_csv(result)

    return UploadReport.from_dict(update_upload(settings, workspace_id, "sites", options.to_dict(), validate))


def _load(settings: Settings, kind: str, path: Path, shown_name: str, options: SiteOptions | None) -> LoadResult:
    try:
        result = load_uploaded_layer(settings, kind, path, options)
    except LayerError as exc:
        raise _as_user_error(exc, shown_name, settings) from exc
    if result.n_loaded == 0:
        reasons = _reasons(result.rejected)
        top = "; ".join(f"{r} ({n})" for r, n in list(reasons.items())[:3]) or "no usable rows"
        raise LayerError(shown_name, f"no usable rows: {top}", "check the coordinate columns and their values")
    return result


def _report(kind: str, filename: str, sha256: str, result: LoadResult, settings: Settings) -> UploadReport:
    attrs = result.data.attrs if result.is_loaded else {}  # a lazy layer (protected areas): counts only
    dirs = private_dirs(settings)
    return UploadReport(
        kind=kind,
        filename=filename,
        sha256=sha256,
        n_loaded=result.n_loaded,
        n_rejected=result.n_rejected,
        n_input_rows=attrs.get("n_input_rows"),
        n_folded=int(attrs.get("n_folded_rows") or 0),
        n_merged=int(attrs.get("n_merged_rows") or 0),
        reasons=_reasons(result.rejected),
        warnings=[redact_paths(str(w), dirs) for w in result.warnings],
        columns=[str(c) for c in attrs.get("source_columns") or []],
        column_roles={str(k): [str(c) for c in v] for k, v in (attrs.get("column_roles") or {}).items()},
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


def overlays_after_upload(overlays: list[str] | None, kind: str, n_areas: int, settings: Settings) -> list[str] | None:
    """The map's overlays after an upload: a protected-area layer the analyst just gave is drawn at once.

    Only for ``protected_areas`` uploads holding 1 to ``settings.pa_overlay_auto_max`` areas (a WDPA-sized
    layer stays off until the analyst ticks it: drawing it costs seconds per view). None: leave them as they are.
    """
    current = list(overlays or [])
    if kind != "protected_areas" or "protected_areas" in current or not 0 < n_areas <= settings.pa_overlay_auto_max:
        return None
    return [*current, "protected_areas"]
