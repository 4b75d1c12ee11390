"""What the "Your data" panel shows about a workspace or a shared snapshot (pure: a manifest in, components out).

After an upload, and again whenever the page is opened on that workspace: every loader warning, the
row accounting (read, loaded, folded, merged, rejected by reason), the columns the loader read and
a form to choose them (``layers.site_options``) with per-file defaults generated from
``layers.site_columns.DEFAULT_VOCABULARIES``; the read-only links made from the workspace, each with
"Revoke". On a shared snapshot: what it holds, read-only. Datasets are named by the file name the
user gave and its sha256 prefix, never a server path or the workspace id.

Also the data notices of the page header (``data_notices``): no protected-area layer is a state,
shown with how to add one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dash import dcc, html

from dashboard import ids
from dashboard.uploads import UploadReport
from layers.site_columns import COLUMN_ROLES, DEFAULT_VOCABULARIES, ROLE_LABELS

AUTO = "__auto__"  # a role left to detection
NONE = "__none__"  # "this file has no such column"
FROM_FILE = "__file__"  # no default: the file's values only
KIND_TITLES = {"sites": "Sites", "protected_areas": "Protected areas"}
WDPA_URL = "https://www.protectedplanet.net/en/thematic-areas/wdpa"


def file_label(report: Mapping[str, Any]) -> str:
    """'mine.csv (sha256 1a2b3c4d5e6f)': the name the user gave and the content hash prefix."""
    sha = str(report.get("sha256") or "")
    return f"{report.get('filename')}" + (f" (sha256 {sha[:12]})" if sha else "")


def _report_block(kind: str, report: UploadReport, raw: Mapping[str, Any]) -> html.Div:
    reasons = [html.Li(f"{reason}: {n:,}") for reason, n in report.reasons.items()]
    warnings = [html.Li(w) for w in report.warnings]
    return html.Div(
        [
            html.H3(f"{KIND_TITLES[kind]}: {file_label(raw)}"),
            html.P(report.summary(), className="upload-summary"),
            html.P(report.accounting(), className="upload-accounting"),
            html.Div([html.H4("Rejected rows, by reason"), html.Ul(reasons)]) if reasons else None,
            html.Div(
                [html.H4(f"Warnings ({len(warnings)})"), html.Ul(warnings, className="upload-warnings")],
                className="upload-warning-box",
            )
            if warnings
            else html.P("No warnings.", className="hint"),
        ],
        className=f"upload-report upload-report-{kind}",
    )


def _role_value(role: str, chosen: Mapping[str, str]) -> str:
    if role not in chosen:
        return AUTO
    return chosen[role] or NONE


def _column_form(report: UploadReport, options: Mapping[str, Any]) -> html.Details:
    chosen = dict((options or {}).get("columns") or {})
    defaults = dict((options or {}).get("defaults") or {})
    rows = []
    for role in COLUMN_ROLES:
        found = report.column_roles.get(role) or []
        auto = f"automatic ({', '.join(found)})" if found else "automatic (none found)"
        opts = [{"label": auto, "value": AUTO}, {"label": "none: this file has no such column", "value": NONE}]
        opts += [{"label": c, "value": c} for c in report.columns]
        cid = {"type": ids.UPLOAD_COLUMN, "role": role}
        rows.append(
            html.Div(
                [
                    html.Label(ROLE_LABELS.get(role, role), id=f"upload-column-{role}-label"),
                    dcc.Dropdown(
                        id=cid, options=opts, value=_role_value(role, chosen), clearable=False, searchable=True
                    ),
                ],
                className="field",
                role="group",
                **{"aria-labelledby": f"upload-column-{role}-label"},
            )
        )
    default_rows = []
    for key, vocab in DEFAULT_VOCABULARIES.items():
        opts = [{"label": "from the file only", "value": FROM_FILE}] + [{"label": v, "value": v} for v in vocab]
        default_rows.append(
            html.Div(
                [
                    html.Label(f"Default {key.replace('_', ' ')}", id=f"upload-default-{key}-label"),
                    dcc.Dropdown(
                        id={"type": ids.UPLOAD_DEFAULT, "key": key},
                        options=opts,
                        value=defaults.get(key, FROM_FILE),
                        clearable=False,
                    ),
                ],
                className="field",
                role="group",
                **{"aria-labelledby": f"upload-default-{key}-label"},
            )
        )
    attention = any("no commodity column" in w or "not worker counts" in w for w in report.warnings)
    return html.Details(
        [
            html.Summary("Columns and defaults"),
            html.P(
                "Which column is which (automatic: found by its name), and a value for every site whose file gives "
                "none (an empty cell, or no column). Applied to the whole file, kept with your workspace and in the "
                "links you share.",
                className="hint",
            ),
            *rows,
            html.H4("Defaults for the whole file"),
            *default_rows,
            html.Button("Apply columns and defaults", id=ids.UPLOAD_APPLY, className="button-primary"),
        ],
        open=attention,
        className="upload-columns",
    )


def _options_summary(options: Mapping[str, Any]) -> html.P | None:
    lines = [
        f"{role}: column {col!r}" if col else f"{role}: none" for role, col in (options.get("columns") or {}).items()
    ]
    lines += [f"default {k}: {v}" for k, v in (options.get("defaults") or {}).items()]
    return html.P("Columns and defaults in use: " + "; ".join(lines), className="hint") if lines else None


def _share_list(owned: Sequence[Mapping[str, str]], origin: str) -> html.Div | None:
    if not owned:
        return None
    items = [
        html.Li(
            [
                html.Code(f"{origin}s/{s['token']}{s.get('view', '')}", className="share-url"),
                f" made {s.get('created_utc', '')} ",
                html.Button(
                    "Revoke",
                    id={"type": ids.SHARE_REVOKE, "token": s["token"]},
                    className="button-small",
                    **{"aria-label": f"Revoke the link made {s.get('created_utc', '')}"},
                ),
            ]
        )
        for s in owned
    ]
    return html.Div(
        [html.H4("Read-only links you shared"), html.Ul(items, className="share-list")], className="upload-shares"
    )


def workspace_panel(
    manifest: Mapping[str, Any] | None,
    *,
    read_only: bool = False,
    owned: Sequence[Mapping[str, str]] = (),
    origin: str = "/",
) -> html.Div:
    """The 'Your data' status: per uploaded file its report, the column form (sites), the shared links."""
    manifest = manifest or {}
    blocks: list[Any] = []
    if read_only:
        snap = manifest.get("snapshot") or {}
        blocks.append(
            html.Div(
                [
                    html.P(
                        f"You are viewing a read-only shared snapshot, made {snap.get('created_utc', '?')} (UTC). "
                        "Its data and numbers do not change when its owner uploads again.",
                        className="upload-summary",
                    ),
                    html.A("Open the dashboard with your own data", href=origin),
                ],
                className="snapshot-note",
            )
        )
    for kind in ("sites", "protected_areas"):
        raw = manifest.get(f"{kind}_report")
        if not manifest.get(kind) or not isinstance(raw, Mapping):
            continue
        report = UploadReport.from_dict(raw)
        blocks.append(_report_block(kind, report, raw))
        options = manifest.get(f"{kind}_options") or {}
        if kind == "sites" and read_only:
            blocks.append(_options_summary(options))
        elif kind == "sites" and report.columns:
            blocks.append(_options_summary(options))
            blocks.append(_column_form(report, options))
    if not read_only:
        blocks.append(_share_list(owned, origin))
    return html.Div([b for b in blocks if b is not None])


def form_options(
    column_values: Sequence[str | None],
    column_ids: Sequence[Mapping[str, str]],
    default_values: Sequence[str | None],
    default_ids: Sequence[Mapping[str, str]],
) -> tuple[dict[str, str], dict[str, str]]:
    """The column form's values as (columns, defaults) for ``layers.site_options.SiteOptions``."""
    columns: dict[str, str] = {}
    for cid, value in zip(column_ids, column_values, strict=True):
        if value in (None, AUTO):
            continue
        columns[cid["role"]] = "" if value == NONE else str(value)
    defaults = {
        did["key"]: str(v) for did, v in zip(default_ids, default_values, strict=True) if v not in (None, FROM_FILE)
    }
    return columns, defaults


def data_notices(has_protected_areas: bool, is_snapshot: bool) -> list[Any]:
    """Header notices about the data in view: no protected-area layer (with how to add one), a shared snapshot."""
    notices: list[Any] = []
    if is_snapshot:
        notices.append(html.Span("Shared snapshot (read-only)", className="banner-snapshot"))
    if not has_protected_areas:
        notices.append(
            html.Div(
                [
                    html.Strong("No protected-area layer. "),
                    "Distances to protected areas are unknown (not zero) and add nothing to the risk scores. ",
                    "Add one: ",
                    html.A("upload a WDPA extract", href=f"#{ids.UPLOAD_SECTION}"),
                    " under Your data (download it for your countries from ",
                    html.A("protectedplanet.net", href=WDPA_URL, target="_blank", rel="noopener noreferrer"),
                    ": free for non-commercial use, not to be redistributed; docs/data.md explains how).",
                ],
                className="banner-no-pa",
                role="status",
            )
        )
    return notices


def share_controls() -> html.Div:
    """The "Make a read-only link" button, the link it makes and its copy button (in the exports panel)."""
    return html.Div(
        [
            html.Button(
                "Make a read-only link",
                id=ids.SHARE_MAKE,
                className="button-secondary",
                title="A snapshot of your uploaded data and this view, for a colleague",
            ),
            html.Label(
                "Read-only link to a snapshot of your data and this view",
                htmlFor=ids.SHARE_LINK,
                className="visually-hidden",
            ),
            html.Div(
                [
                    dcc.Input(
                        id=ids.SHARE_LINK,
                        type="text",
                        readOnly=True,
                        value="",
                        placeholder="the link appears here",
                        className="search",
                    ),
                    dcc.Clipboard(
                        target_id=ids.SHARE_LINK, id=ids.SHARE_COPY, title="Copy the link", className="clipboard"
                    ),
                ],
                className="share-row",
            ),
            html.P(id=ids.SHARE_NOTE, className="hint", **{"aria-live": "polite"}),
        ],
        className="share-block",
    )
