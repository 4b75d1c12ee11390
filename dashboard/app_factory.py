"""Builds the Dash app for a given Settings object: the page, the callbacks, the Flask routes, optional auth."""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Callable
from pathlib import Path

import dash
import flask
from plotly.offline import get_plotlyjs
from werkzeug.security import check_password_hash, generate_password_hash

from dashboard import aoi_callbacks, callbacks, shares, workspace_callbacks  # noqa: F401  (importing them registers the callbacks)
from dashboard.aoi import scored_for_state
from dashboard.context import PREFIX_KEY, SETTINGS_KEY, basemap_url, current_settings, show_error
from dashboard.data import countries_geojson_bytes, get_dataset, get_dataset_for, get_scored, weight_defaults
from dashboard.figures import parse_countries_query
from dashboard.layout import make_layout
from dashboard.render import embed_page, initial_outputs, require_chart
from dashboard.state import decode_state
from dashboard.workspace import private_dirs
from layers.errors import ConfigError
from scoring.errors import NotFoundError, describe_error
from settings import Settings

ASSETS = Path(__file__).resolve().parents[1] / "assets"
log = logging.getLogger(__name__)


def _answer_errors(route: Callable[..., flask.Response]) -> Callable[..., flask.Response]:
    """A route's exceptions answered through the one error table (status and text; tracebacks only logged)."""

    @functools.wraps(route)
    def wrapped(*args, **kwargs) -> flask.Response:
        try:
            return route(*args, **kwargs)
        except Exception as exc:
            outcome = describe_error(exc, private_dirs=private_dirs(current_settings()))
            if not outcome.expected:
                log.error("route %s failed", flask.request.path, exc_info=exc)
            return flask.Response(outcome.message, status=outcome.http_status, mimetype="text/plain")

    return wrapped


def _cache_fingerprinted_assets(app: dash.Dash) -> None:
    """Let the browser keep /assets files between visits without asking again.

    Dash links every asset with its modification time (``?m=...``), so a changed file gets a new
    URL; Flask would otherwise send ``no-cache`` and every warm visit revalidates plotly.js (3 MB).
    """
    prefix = app.config.routes_pathname_prefix.rstrip("/") + "/" + app.config.assets_url_path.strip("/") + "/"

    @app.server.after_request
    def _assets_cache(resp: flask.Response) -> flask.Response:
        req = flask.request
        if req.path.startswith(prefix) and "m" in req.args and resp.status_code == 200:
            resp.cache_control.no_cache = None
            resp.cache_control.private = True
            resp.cache_control.max_age = 31_536_000
            resp.cache_control.immutable = True
        return resp


def _register_routes(server: flask.Flask) -> None:
    """``/embed/<chart>?<state>``: one chart (or the map) alone, for an iframe; plotly.js served locally."""

    @server.route("/embed/plotly.min.js")
    @_answer_errors
    def embed_plotlyjs():
        resp = flask.Response(get_plotlyjs(), mimetype="application/javascript")
        resp.cache_control.max_age = 86400
        return resp

    @server.route("/basemap/countries.geojson")
    @_answer_errors
    def basemap_countries():
        """The offline basemap's land, simplified (``tol`` degrees) and clipped (``b``), fetched by MapLibre."""
        args = flask.request.args
        tolerance, bounds = parse_countries_query(args.get("tol"), args.get("b"))  # UsageError: 400
        body = countries_geojson_bytes(current_settings(), tolerance, bounds)
        resp = flask.Response(body, mimetype="application/geo+json")
        resp.cache_control.private = True
        resp.cache_control.max_age = 3600  # a pure function of the URL and the server's country layer
        return resp

    @server.route("/embed/<chart>")
    @_answer_errors
    def embed_chart(chart: str):
        require_chart(chart)  # 404 before any data is loaded
        settings = current_settings()
        workspace_id = flask.request.args.get("ws")
        state = decode_state(flask.request.query_string.decode("utf-8", "replace"))
        dataset = get_dataset_for(settings, workspace_id)
        scored = scored_for_state(settings, workspace_id, state)  # with the AOI's columns when the link has one
        page = embed_page(chart, state, settings, dataset, scored, plotlyjs_src="/embed/plotly.min.js")
        return flask.Response(page, mimetype="text/html")


def _register_share_route(app: dash.Dash) -> None:
    """``/s/<token>``: a read-only shared snapshot (``dashboard.shares``); 404 once revoked or expired.

    The page is the dashboard itself (its data id ``share:<token>`` comes from the path, in the
    browser); a bare link is sent on to the view stored with the snapshot. Authentication, when on,
    applies here as to every route.
    """

    @app.server.route(app.config.routes_pathname_prefix + "s/<token>")
    @_answer_errors
    def shared_snapshot(token: str):
        manifest = shares.read_snapshot(current_settings(), token)
        if manifest is None:
            raise NotFoundError(
                "this shared link does not exist, was revoked or has expired: ask its owner for a new one"
            )
        view = str((manifest.get("snapshot") or {}).get("view") or "")
        if not flask.request.query_string and view.startswith("?"):
            return flask.redirect(flask.request.path + view, code=302)
        return app.index()


# --- optional authentication (off by default) --------------------------------------------------------
def load_htpasswd(path: str | Path) -> dict[str, str]:
    """``user:hash`` lines (werkzeug ``generate_password_hash`` hashes; '#' comments) as a dict."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(path, f"cannot read the password file ({exc.strerror})", "check ASM_AUTH_HTPASSWD") from exc
    users: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, hashed = line.partition(":")
        if not sep or not user or "$" not in hashed:
            raise ConfigError(
                path,
                f"line {n} is not 'user:<password hash>'",
                'make lines with: python -c "from werkzeug.security import generate_password_hash as g; '
                "print('alice:' + g('secret'))\"",
            )
        users[user] = hashed
    if not users:
        raise ConfigError(path, "the password file has no users", "add at least one 'user:<password hash>' line")
    return users


def install_auth(server: flask.Flask, settings: Settings) -> str | None:
    """Require a login on every route when ``settings`` asks for it; the mode installed ('basic', 'proxy') or None.

    - ``auth_htpasswd``: HTTP Basic auth against werkzeug password hashes (no plain-text passwords
      anywhere). Serve it behind HTTPS: Basic auth sends the password with every request.
    - ``auth_proxy_header``: a trusted reverse proxy authenticates and sets this header (e.g.
      ``X-Forwarded-User``); requests without it get 401. Only safe when the app is reachable
      through that proxy alone (bind to 127.0.0.1 or a private network).
    """
    realm = str(settings.auth_realm).replace('"', "")
    if settings.auth_htpasswd:
        users = load_htpasswd(settings.auth_htpasswd)
        # unknown users are checked against a dummy hash, so timing does not reveal which names exist
        dummy = generate_password_hash(secrets.token_urlsafe(16))

        @server.before_request
        def _basic_auth():
            auth = flask.request.authorization
            user = auth.username if auth and auth.type == "basic" and auth.username else ""
            password = (auth.password or "") if auth else ""
            ok = check_password_hash(users.get(user, dummy), password) and user in users
            if not ok:
                resp = flask.Response("Login required.", status=401, mimetype="text/plain")
                resp.headers["WWW-Authenticate"] = f'Basic realm="{realm}", charset="UTF-8"'
                return resp
            flask.g.asm_user = user
            return None

        return "basic"
    if settings.auth_proxy_header:
        header = str(settings.auth_proxy_header)

        @server.before_request
        def _proxy_auth():
            user = (flask.request.headers.get(header) or "").strip()
            if not user:
                return flask.Response(f"Login required (no {header} header from the proxy).", status=401)
            flask.g.asm_user = user
            return None

        return "proxy"
    return None


def create_app(settings: Settings) -> dash.Dash:
    """A Dash app serving the dashboard on ``settings``; loads (and caches) its dataset up front."""
    app = dash.Dash(
        __name__,
        title="ASM risk — mining, protected areas and mercury",
        assets_folder=str(ASSETS),
        serve_locally=True,
        suppress_callback_exceptions=True,
        update_title=None,
        on_error=show_error,
    )
    app.index_string = app.index_string.replace("<html>", '<html lang="en">', 1)  # WCAG 3.1.1
    app.server.config[SETTINGS_KEY] = settings
    app.server.config[PREFIX_KEY] = app.config.requests_pathname_prefix
    install_auth(app.server, settings)
    _register_routes(app.server)
    _register_share_route(app)
    _cache_fingerprinted_assets(app)
    dataset = get_dataset(settings)  # warm the cache so the first page is fast
    with app.server.app_context():
        defaults = weight_defaults(settings)
        scored = get_scored(settings, None, {}, {})
        initial = initial_outputs(settings, dataset, scored, basemap_url())  # the default view, drawn into the page
    app.layout = make_layout(dataset, settings, defaults, initial)
    return app
