"""Builds the Dash app for a given Settings object."""

from __future__ import annotations

import logging
from pathlib import Path

import dash
import flask

from dashboard.data import get_dataset

ASSETS = Path(__file__).resolve().parents[1] / "assets"
log = logging.getLogger(__name__)


def current_settings():
    """The Settings of the app serving this request (set by create_app; never a module global)."""
    return flask.current_app.config["ASM_SETTINGS"]


def show_error(err: Exception) -> None:
    """The one place where a callback's exception becomes the visible alert (never a traceback)."""
    from dashboard import ids
    from dashboard.views import error_message
    from layers.errors import LayerError

    if not isinstance(err, LayerError):
        log.error("dashboard callback failed", exc_info=err)
    dash.set_props(ids.ALERT, {"children": error_message(err)})


def _register_routes(server: flask.Flask) -> None:
    """``/embed/<chart>?<state>``: one chart (or the map) alone, for an iframe; plotly.js served locally."""

    @server.route("/embed/plotly.min.js")
    def embed_plotlyjs():
        from plotly.offline import get_plotlyjs

        resp = flask.Response(get_plotlyjs(), mimetype="application/javascript")
        resp.cache_control.max_age = 86400
        return resp

    @server.route("/embed/<chart>")
    def embed_chart(chart: str):
        from dashboard.exports import embed_html
        from layers.errors import LayerError

        try:
            page = embed_html(
                chart,
                flask.request.query_string.decode("utf-8", "replace"),
                current_settings(),
                flask.request.args.get("ws"),
                plotlyjs_src="/embed/plotly.min.js",
            )
        except KeyError as exc:
            return flask.Response(str(exc.args[0]), status=404, mimetype="text/plain")
        except LayerError as exc:
            return flask.Response(str(exc), status=400, mimetype="text/plain")
        return flask.Response(page, mimetype="text/html")


def create_app(settings) -> dash.Dash:
    """A Dash app serving the dashboard on ``settings``; loads (and caches) its dataset up front."""
    from dashboard import callbacks  # noqa: F401  (registers the callbacks)
    from dashboard.data import weight_defaults
    from dashboard.layout import make_layout

    app = dash.Dash(
        __name__,
        title="ASM risk — mining, protected areas and mercury",
        assets_folder=str(ASSETS),
        serve_locally=True,
        suppress_callback_exceptions=True,
        update_title=None,
        on_error=show_error,
    )
    app.server.config["ASM_SETTINGS"] = settings
    _register_routes(app.server)
    dataset = get_dataset(settings)  # warm the cache so the first page is fast
    with app.server.app_context():
        defaults = weight_defaults(settings)
    app.layout = make_layout(dataset, settings, defaults)
    return app
