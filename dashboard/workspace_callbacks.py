"""Thin callbacks of the "Your data" panel and the read-only links: which data is in view, the column form, sharing.

The data in view (``ids.WORKSPACE``, what every other callback reads) is the user's own workspace
(``ids.OWN_WORKSPACE``, kept in localStorage) or, on a shared link ``/s/<token>``, ``share:<token>``:
the page's path decides, in the browser. Uploads write both stores. Registered by importing this
module (``dashboard.app_factory``).
"""

from __future__ import annotations

import urllib.parse

from dash import ALL, Input, Output, State, callback, clientside_callback, ctx, no_update
from dash.exceptions import PreventUpdate

from dashboard import ids, shares
from dashboard.context import current_settings, path_prefix
from dashboard.state import decode_state
from dashboard.upload_panel import form_options, workspace_panel
from dashboard.uploads import apply_site_options
from dashboard.workspace import read_manifest
from layers.errors import LayerError

# /s/<token> (under the app's path prefix) -> share:<token>; elsewhere the own workspace id
clientside_callback(
    """function(own, pathname, current) {
        const m = /\\/s\\/([A-Za-z0-9_-]{43})\\/?$/.exec(pathname || "");
        const next = m ? SHARE_PREFIX + m[1] : (own || "");
        return next === (current || "") ? dash_clientside.no_update : next;
    }""".replace("SHARE_PREFIX", '"' + shares.SHARE_PREFIX + '"'),
    Output(ids.WORKSPACE, "data", allow_duplicate=True),
    Input(ids.OWN_WORKSPACE, "data"),
    Input(ids.URL, "pathname"),
    State(ids.WORKSPACE, "data"),
    prevent_initial_call="initial_duplicate",
)


def origin_of(href: str | None) -> str:
    """The app's base address ('https://host/prefix/') from the page's address, for the links shown."""
    parts = urllib.parse.urlsplit(href or "")
    prefix = path_prefix()
    return f"{parts.scheme}://{parts.netloc}{prefix}" if parts.scheme and parts.netloc else prefix


def panel_for(data_id: str | None, href: str | None = None):
    """The 'Your data' panel of a workspace or shared snapshot."""
    settings = current_settings()
    token = shares.token_of(data_id)
    origin = origin_of(href)
    if token is not None:
        manifest = shares.read_snapshot(settings, token)
        if manifest is None:
            raise LayerError(None, "this shared link has expired or was revoked", "ask its owner for a new link")
        return workspace_panel(manifest, read_only=True, origin=origin)
    manifest = read_manifest(settings, data_id) if data_id else None
    return workspace_panel(manifest, owned=shares.owned_shares(settings, data_id), origin=origin)


@callback(
    Output(ids.UPLOAD_STATUS, "children", allow_duplicate=True),
    Input(ids.WORKSPACE, "data"),
    State(ids.URL, "href"),
    prevent_initial_call=True,
)
def show_workspace_panel(data_id, href):
    """On page load (a stored workspace or a shared link) and after every change: the panel from the manifest."""
    if not data_id:
        raise PreventUpdate
    return panel_for(data_id, href)


@callback(
    Output(ids.WORKSPACE, "data", allow_duplicate=True),
    Output(ids.UPLOAD_STATUS, "children", allow_duplicate=True),
    Input(ids.UPLOAD_APPLY, "n_clicks"),
    State({"type": ids.UPLOAD_COLUMN, "role": ALL}, "value"),
    State({"type": ids.UPLOAD_COLUMN, "role": ALL}, "id"),
    State({"type": ids.UPLOAD_DEFAULT, "key": ALL}, "value"),
    State({"type": ids.UPLOAD_DEFAULT, "key": ALL}, "id"),
    State(ids.WORKSPACE, "data"),
    State(ids.URL, "href"),
    prevent_initial_call=True,
)
def apply_columns(n, column_values, column_ids, default_values, default_ids, data_id, href):
    """Re-read the sites file with the chosen columns and defaults; the map and charts follow (same id, new version)."""
    if not n:
        raise PreventUpdate
    if not data_id or shares.token_of(data_id) is not None:
        raise LayerError(None, "there is no uploaded sites file of yours in view", "upload a sites file first")
    settings = current_settings()
    manifest = read_manifest(settings, data_id) or {}
    columns, defaults = form_options(column_values, column_ids, default_values, default_ids)
    apply_site_options(settings, data_id, columns, defaults, manifest.get("sites_report") or {})
    return data_id, panel_for(data_id, href)


@callback(
    Output(ids.SHARE_LINK, "value"),
    Output(ids.SHARE_NOTE, "children"),
    Output(ids.UPLOAD_STATUS, "children", allow_duplicate=True),
    Input(ids.SHARE_MAKE, "n_clicks"),
    State(ids.WORKSPACE, "data"),
    State(ids.URL, "search"),
    State(ids.URL, "href"),
    prevent_initial_call=True,
)
def make_share_link(n, data_id, search, href):
    """A read-only link: a snapshot of the uploads (and this view) when there are any, else this view's address."""
    if not n:
        raise PreventUpdate
    settings = current_settings()
    origin = origin_of(href)
    view = search or ""
    token = shares.token_of(data_id)
    if token is not None:  # re-sharing a snapshot: the same immutable data, with this view
        return f"{origin}s/{token}{view}", "A link to the same read-only snapshot, with this view.", no_update
    manifest = read_manifest(settings, data_id) if data_id else None
    if not manifest or not (manifest.get("sites") or manifest.get("protected_areas")):
        note = "The server's own data: this page's address shares the view."
        if str(decode_state(view).get("aoi") or "").startswith("up:"):  # kept in this browser's workspace only
            note += (
                " Not your uploaded area of interest: it stays in this browser's workspace, and the address opens"
                " without it elsewhere. Draw the area or pick a protected area to share it, or upload your sites"
                " too to make a read-only snapshot that holds it."
            )
        return f"{origin}{view}", note, no_update
    token = shares.create_snapshot(settings, data_id, view)
    note = (
        "A read-only snapshot of your uploads and this view. Anyone with the link"
        + (" who can sign in" if settings.auth_htpasswd or settings.auth_proxy_header else "")
        + f" sees the same data; it is kept {settings.share_retention_days:g} days unless you revoke it below."
    )
    return f"{origin}s/{token}{view}", note, panel_for(data_id, href)


@callback(
    Output(ids.UPLOAD_STATUS, "children", allow_duplicate=True),
    Output(ids.SHARE_NOTE, "children", allow_duplicate=True),
    Input({"type": ids.SHARE_REVOKE, "token": ALL}, "n_clicks"),
    State(ids.WORKSPACE, "data"),
    State(ids.URL, "href"),
    prevent_initial_call=True,
)
def revoke_share(clicks, data_id, href):
    """Delete a snapshot made from this workspace: its link stops working at once."""
    trigger = ctx.triggered_id
    if not trigger or not any(clicks or []):
        raise PreventUpdate
    shares.revoke(current_settings(), trigger["token"], workspace_id=data_id)
    return panel_for(data_id, href), "Link revoked: it no longer opens anything."
