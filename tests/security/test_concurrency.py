"""Concurrent sessions against a real gunicorn (2 workers, loopback only): no errors, no leaks, bounded memory.

The CI-sized version of ``benchmarks/bench_concurrency.py`` (20 sessions, 4 workers): 8 sessions of
at most 10 requests each, half of them uploading their own sites, all driving the real Dash callbacks.
"""

from __future__ import annotations

import pytest

from benchmarks.bench_concurrency import HOST, run_sessions, start_gunicorn, stop_gunicorn

pytest.importorskip("gunicorn")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    cache = tmp_path_factory.mktemp("gunicorn-cache")
    proc, base = start_gunicorn(2, cache, {"ASM_DEMO_N_SITES": "300"})
    yield proc, base, cache
    stop_gunicorn(proc)


def test_concurrent_sessions_are_isolated_and_error_free(server):
    proc, base, cache = server
    assert base.startswith(f"http://{HOST}:")
    report = run_sessions(base, proc, n_sessions=8, max_requests=10, cap_s=60)
    print(report.summary())
    assert report.errors == []
    assert report.leaks == []
    assert report.sessions_done == 8
    assert report.requests == 4 * 9 + 4 * 8  # uploading sessions make one request more
    assert len(report.max_rss_mb) == 2 and max(report.max_rss_mb.values()) < 2000
    # every uploading session got a workspace of its own, on disk under the private cache
    workspaces = [p for p in (cache / "workspaces").iterdir() if p.is_dir()]
    assert len(workspaces) == 4
