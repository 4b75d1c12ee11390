"""The request context: the settings of the app serving this request, its URL prefix, and the one error sink.

Kept apart from ``app_factory`` (which builds the app and imports the callbacks to register them),
so the callbacks can reach the settings without importing the factory.
"""

from __future__ import annotations

import logging

import dash
import flask

from dashboard import ids
from dashboard.workspace import private_dirs
from scoring.errors import describe_error
from settings import Settings

log = logging.getLogger("dashboard")

SETTINGS_KEY = "ASM_SETTINGS"
PREFIX_KEY = "ASM_PATH_PREFIX"


def current_settings() -> Settings:
    """The Settings of the app serving this request (set by create_app; never a module global)."""
    return flask.current_app.config[SETTINGS_KEY]


def path_prefix() -> str:
    """The app's URL path prefix ('/' unless Dash serves under a sub-path)."""
    return flask.current_app.config.get(PREFIX_KEY, "/")


def basemap_url() -> str:
    """Where MapLibre fetches the offline basemap's countries (the app's route, under the path prefix).

    Workspaces share the server's country layer, so the URL names no workspace.
    """
    return path_prefix().rstrip("/") + "/basemap/countries.geojson"


def show_error(err: Exception) -> None:
    """Dash's ``on_error``: the one place where a callback's exception becomes the visible alert (never a traceback).

    Server folders (cache, workspaces, temporary files) are cut from the message: a file is named, not
    where the server keeps it, and no workspace id reaches the page.
    """
    dirs = private_dirs(current_settings()) if flask.has_app_context() else []
    outcome = describe_error(err, private_dirs=dirs)
    if not outcome.expected:
        log.error("dashboard callback failed", exc_info=err)
    dash.set_props(ids.ALERT, {"children": outcome.message})
