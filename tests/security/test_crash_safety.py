"""Crash safety: a server killed (SIGKILL) in the middle of an upload leaves the previous workspace intact.

A child process saves a large upload into a workspace that already holds a small one, and
stops at a chosen point of the save (the staged file written, the manifest's temp file
written but not renamed, the old files being removed). The test kills it there with
SIGKILL, then checks the workspace still loads and equals the previous version (or, once
the manifest was renamed, the new one), and that the next upload works.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from dashboard.uploads import save_upload
from dashboard.workspace import read_manifest, workspace_dir
from settings import Settings
from tests.loaders import load_sites

ROOT = Path(__file__).resolve().parents[2]
SMALL = "site_id,name,commodity,longitude,latitude\ns1,A,gold,-1.6,6.7\ns2,B,gold,-2.0,6.2\n"
N_BIG = 20_000

CHILD = textwrap.dedent(
    """
    import os, sys, time
    sys.path.insert(0, sys.argv[1])
    from settings import Settings
    import dashboard.workspace as w
    from dashboard.uploads import save_upload

    ws_dir, ws_id, stop_at, csv_path, name = sys.argv[2:7]
    real_replace = os.replace

    def pause(where):
        print("AT " + where, flush=True)
        time.sleep(120)  # the parent kills us here

    def replace(src, dst):
        d = str(dst)
        if stop_at == "staged" and ".incoming-" in d:
            pause(stop_at)
        if stop_at == "manifest" and d.endswith("manifest.json"):
            pause(stop_at)
        real_replace(src, dst)

    os.replace = replace
    real_remove = w._remove_old_versions

    def remove(*a, **k):
        if stop_at == "cleanup":
            pause(stop_at)
        return real_remove(*a, **k)

    w._remove_old_versions = remove
    settings = Settings(cache_dir=ws_dir + "/cache", workspace_dir=ws_dir, max_upload_mb=50)
    import base64
    data = open(csv_path, "rb").read()
    save_upload(settings, ws_id, "sites", name, "data:text/csv;base64," + base64.b64encode(data).decode())
    print("DONE", flush=True)
    """
)


def _contents(text: str) -> str:
    return "data:text/csv;base64," + base64.b64encode(text.encode()).decode()


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("big") / "big.csv"
    rows = [
        f"b{i},Site {i},gold,{-2.5 + (i % 1000) * 0.002:.4f},{6 + (i // 1000) * 0.1:.4f}" for i in range(N_BIG)
    ]  # Ghana, on land
    path.write_text("site_id,name,commodity,longitude,latitude\n" + "\n".join(rows) + "\n")
    return path


def _site_ids(settings, ws) -> list[str]:
    manifest = read_manifest(settings, ws)
    assert manifest is not None, "the manifest is unreadable after the crash"
    return sorted(load_sites(workspace_dir(settings, ws) / manifest["sites"]).data["site_id"])


@pytest.mark.parametrize(
    ("stop_at", "name", "expect"),
    [
        ("staged", "small.csv", "old"),  # new bytes written to staging, nothing committed
        ("manifest", "small.csv", "old"),  # same name as the committed file: must not overwrite it
        ("manifest", "other.csv", "old"),  # manifest temp written, not renamed
        ("cleanup", "small.csv", "new"),  # committed, old files not yet removed
    ],
)
def test_sigkill_mid_upload_leaves_a_loadable_workspace(tmp_path, big_csv, stop_at, name, expect):
    settings = Settings(cache_dir=tmp_path / "cache", workspace_dir=tmp_path / "ws", max_upload_mb=50)
    ws = "crash-test-workspace-0001"
    save_upload(settings, ws, "sites", "small.csv", _contents(SMALL))
    before_manifest = read_manifest(settings, ws)
    before_ids = _site_ids(settings, ws)
    assert before_ids == ["s1", "s2"]

    child = tmp_path / "child.py"
    child.write_text(CHILD)
    env = dict(os.environ, ASM_CACHE_DIR=str(tmp_path / "cache"))
    proc = subprocess.Popen(
        [sys.executable, str(child), str(ROOT), str(settings.workspaces), ws, stop_at, str(big_csv), name],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        line = proc.stdout.readline()  # blocks until the child reaches the stop point (or dies)
        assert line.strip() == f"AT {stop_at}", (line, proc.stderr.read() if proc.poll() is not None else "")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL

    after_ids = _site_ids(settings, ws)
    if expect == "old":
        assert read_manifest(settings, ws) == before_manifest
        assert after_ids == before_ids
    else:
        assert len(after_ids) == N_BIG and read_manifest(settings, ws)["version"] != before_manifest["version"]

    # the workspace keeps working: the next upload commits and clears what the crash left behind
    for f in workspace_dir(settings, ws).glob(".*"):
        if f.name != ".lock":
            os.utime(f, (time.time() - 7200, time.time() - 7200))  # as if the crash were two hours ago
    save_upload(settings, ws, "sites", "third.csv", _contents(SMALL.replace("s1", "t1")))
    assert _site_ids(settings, ws) == ["s2", "t1"]
    leftovers = [p.name for p in workspace_dir(settings, ws).glob(".*") if p.name != ".lock"]
    assert leftovers == []
    assert sorted(p.name for p in (workspace_dir(settings, ws) / "sites").iterdir()) == ["third.csv"]


def test_facts_cache_is_tied_to_its_version(tmp_path):
    """Facts computed for an older upload are never served for a newer one (the version is in the file)."""
    from dashboard.data import build_workspace_dataset
    from dashboard.workspace import FACTS, read_facts

    settings = Settings(cache_dir=tmp_path / "cache", workspace_dir=tmp_path / "ws")
    ws = "facts-version-workspace-01"
    save_upload(settings, ws, "sites", "a.csv", _contents(SMALL))
    build_workspace_dataset(settings, ws)
    facts_path = workspace_dir(settings, ws) / FACTS
    v1 = read_manifest(settings, ws)["version"]
    assert read_facts(settings, ws, v1) is not None
    save_upload(settings, ws, "sites", "b.csv", _contents(SMALL.replace("s1", "t1")))
    v2 = read_manifest(settings, ws)["version"]
    assert read_facts(settings, ws, v2) is None  # the old facts file is still there, but not for v2
    assert sorted(build_workspace_dataset(settings, ws).scored["site_id"]) == ["s2", "t1"]
    facts_path.write_bytes(facts_path.read_bytes()[:100])  # truncated by a crash
    assert read_facts(settings, ws, v2) is None
