"""Builds the Dash app for a given Settings object."""

from __future__ import annotations

from pathlib import Path

import dash
import flask

from dashboard.data import get_dataset

ASSETS = Path(__file__).resolve().parents[1] / "assets"


def current_settings():
    """The Settings of the app serving this request (set by create_app; never a module global)."""
    return flask.current_app.config["ASM_SETTINGS"]


def create_app(settings) -> dash.Dash:
    """A Dash app serving the dashboard on ``settings``; loads (and caches) its dataset up front."""
    from dashboard import callbacks  # noqa: F401  (registers the callbacks)
    from dashboard.layout import make_layout

    app = dash.Dash(
        __name__,
        title="ASM risk — mining, protected areas and mercury",
        assets_folder=str(ASSETS),
        serve_locally=True,
        suppress_callback_exceptions=True,
        update_title=None,
    )
    app.server.config["ASM_SETTINGS"] = settings
    dataset = get_dataset(settings)  # warm the cache so the first page is fast
    app.layout = make_layout(dataset)
    return app
