"""scoring.errors: the one table from exception types to the CLI exit code, the HTTP status and the alert text."""

from __future__ import annotations

import flask
import pytest
from dash._callback_context import context_value
from dash._utils import AttributeDict

import app as cli
from dashboard import app_factory, ids
from dashboard.context import show_error
from geo.summary import SummaryError
from layers.errors import ConfigError, LayerError
from layers.fetch import FetchError
from scoring.errors import ERROR_TABLE, NotFoundError, UsageError, describe_error
from settings import Settings


@pytest.mark.parametrize(
    ("exc", "exit_code", "status", "message"),
    [
        (LayerError("sites.csv", "no coordinate columns", "add lat/lon"), 2, 400,
         "sites.csv: no coordinate columns. Fix: add lat/lon"),
        (ConfigError("risk.toml", "bad weight", "use 0-1"), 2, 400, "risk.toml: bad weight. Fix: use 0-1"),
        (FetchError("data", "damaged", "run fetch-data"), 2, 400, "data: damaged. Fix: run fetch-data"),
        (UsageError("--out x.pdf: unknown format"), 2, 400, "--out x.pdf: unknown format"),
        (NotFoundError("unknown chart 'pie'"), 2, 404, "unknown chart 'pie'"),
        (SummaryError("cannot summarise"), 1, 500, "Invalid input: cannot summarise"),
        (RuntimeError("boom"), 1, 500, "Something went wrong (RuntimeError: boom)"),
        (KeyboardInterrupt(), 130, 503, "interrupted"),
    ],
)  # fmt: skip
def test_the_table(exc, exit_code, status, message):
    outcome = describe_error(exc)
    assert (outcome.exit_code, outcome.http_status) == (exit_code, status)
    assert outcome.message.startswith(message)


def test_every_exception_has_a_row_and_the_catch_all_is_last():
    assert ERROR_TABLE[-1].kind is BaseException
    kinds = [r.kind for r in ERROR_TABLE]
    for i, kind in enumerate(kinds):  # no row is shadowed by a broader one above it
        assert not any(issubclass(kind, earlier) for earlier in kinds[:i])


def test_cli_prints_the_tables_line_and_exits_with_its_code(tmp_path, capsys):
    code = cli.main(["score", "--sites", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "o.csv")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and "does not exist" in err


def test_dashboard_alert_is_the_tables_message():
    for exc in (LayerError("f", "p", "x"), ValueError("v"), RuntimeError("r")):
        ctx = AttributeDict(triggered_inputs=[], updated_props={})
        context_value.set(ctx)
        show_error(exc)
        assert ctx.updated_props[ids.ALERT]["children"] == describe_error(exc).message


def test_routes_answer_through_the_table(tmp_path):
    server = flask.Flask("test")
    server.config["ASM_SETTINGS"] = Settings(cache_dir=tmp_path / "cache", demo_n_sites=200)
    app_factory._register_routes(server)
    client = server.test_client()
    resp = client.get("/embed/pie")
    assert resp.status_code == 404 and b"unknown chart 'pie'" in resp.data
    resp = client.get("/basemap/countries.geojson?tol=abc")
    assert resp.status_code == 400 and b"tol must be a number" in resp.data
