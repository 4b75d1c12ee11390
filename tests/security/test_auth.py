"""Optional authentication: off by default; Basic auth against werkzeug hashes; a trusted proxy header."""

from __future__ import annotations

import base64

import flask
import pytest
from werkzeug.security import generate_password_hash

from dashboard.app_factory import install_auth, load_htpasswd
from layers.errors import ConfigError
from settings import Settings


def _server(settings) -> flask.Flask:
    server = flask.Flask("auth-test")
    mode = install_auth(server, settings)
    server.config["MODE"] = mode

    @server.route("/")
    def index():
        return "dashboard"

    @server.route("/_dash-update-component", methods=["POST"])
    def update():
        return {"ok": True}

    return server


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def htpasswd(tmp_path):
    path = tmp_path / "users.htpasswd"
    path.write_text(
        "# team members\n"
        f"alice:{generate_password_hash('correct horse')}\n"
        f"bob:{generate_password_hash('battery staple')}\n"
    )
    return path


def test_auth_is_off_by_default(tmp_path):
    server = _server(Settings(cache_dir=tmp_path))
    assert server.config["MODE"] is None
    assert server.test_client().get("/").status_code == 200


def test_basic_auth_requires_valid_credentials(tmp_path, htpasswd):
    server = _server(Settings(cache_dir=tmp_path, auth_htpasswd=htpasswd))
    client = server.test_client()
    assert server.config["MODE"] == "basic"
    r = client.get("/")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert client.post("/_dash-update-component", json={}).status_code == 401  # callbacks too
    assert client.get("/", headers=_basic("alice", "wrong")).status_code == 401
    assert client.get("/", headers=_basic("mallory", "correct horse")).status_code == 401
    assert client.get("/", headers={"Authorization": "Bearer abc"}).status_code == 401
    assert client.get("/", headers=_basic("alice", "correct horse")).status_code == 200
    assert client.post("/_dash-update-component", json={}, headers=_basic("bob", "battery staple")).status_code == 200


def test_password_file_holds_no_plain_text(tmp_path, htpasswd):
    users = load_htpasswd(htpasswd)
    assert set(users) == {"alice", "bob"}
    assert "correct horse" not in htpasswd.read_text()


@pytest.mark.parametrize(("text", "match"), [("alice:plaintext\n", "line 1"), ("# nobody\n", "no users")])
def test_bad_password_files_are_config_errors(tmp_path, text, match):
    path = tmp_path / "bad.htpasswd"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_htpasswd(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_htpasswd(tmp_path / "missing.htpasswd")


def test_trusted_proxy_header(tmp_path):
    server = _server(Settings(cache_dir=tmp_path, auth_proxy_header="X-Forwarded-User"))
    client = server.test_client()
    assert server.config["MODE"] == "proxy"
    assert client.get("/").status_code == 401
    assert client.get("/", headers={"X-Forwarded-User": "  "}).status_code == 401
    assert client.get("/", headers={"X-Forwarded-User": "alice@example.org"}).status_code == 200


def test_settings_from_environment(tmp_path, monkeypatch, htpasswd):
    monkeypatch.setenv("ASM_AUTH_HTPASSWD", str(htpasswd))
    settings = Settings(cache_dir=tmp_path)
    assert settings.auth_htpasswd == htpasswd
    assert _server(settings).test_client().get("/").status_code == 401
