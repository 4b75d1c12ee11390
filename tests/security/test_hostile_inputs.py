"""Hostile, garbage, empty and truncated inputs: exit code 2 and a clear message from the CLI (a real
subprocess), a LayerError (the dashboard's alert) from the upload path, never a traceback."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from dashboard.uploads import save_upload
from dashboard.workspace import new_workspace_id, read_manifest
from layers.errors import LayerError
from scoring.errors import describe_error
from settings import Settings

ROOT = Path(__file__).resolve().parents[2]
# every hostile file goes through the upload path (in-process, fast); the CLI (a cold ~2 s Python start
# each) gets one file of each kind: garbage, empty, truncated, no coordinates, all rows invalid, hostile
CASES = (
    "garbage.csv", "empty.csv", "header_only.csv", "no_coordinates.csv", "all_invalid.csv", "unclosed_quote.csv",
    "sites.exe", "truncated.geojson", "truncated.gpkg", "garbage.gpkg", "not_json.geojson", "truncated.xlsx",
    "garbage.parquet", "truncated.zip", "vrt_disguised.geojson", "vrt_disguised.kml", "traversal.zip",
    "symlink.zip", "bomb.zip",
)  # fmt: skip
CLI_CASES = ("garbage.csv", "empty.csv", "truncated.gpkg", "no_coordinates.csv", "all_invalid.csv")


def _run_cli(args: list[str], cache: Path, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, ASM_CACHE_DIR=str(cache), PYTHONUNBUFFERED="1", **(env_extra or {}))
    return subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "score", "--no-progress", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.fixture(scope="module")
def cli_results(hostile_files, tmp_path_factory) -> dict[str, subprocess.CompletedProcess]:
    """Every CLI case run once, concurrently (each is a cold Python start of ~2 s)."""
    out = tmp_path_factory.mktemp("cli-out")
    cache = tmp_path_factory.mktemp("cli-cache")
    good = out / "good.csv"
    good.write_text("site_id,name,commodity,longitude,latitude\ng1,A,gold,-1.6,6.7\n")
    jobs: dict[str, tuple[list[str], dict[str, str] | None]] = {
        name: (["--sites", str(hostile_files[name][0]), "--out", str(out / f"{i}.csv")], None)
        for i, name in enumerate(CLI_CASES)
    }
    jobs["vsicurl"] = (["--sites", "/vsicurl/http://127.0.0.1:9/sites.csv", "--out", str(out / "u.csv")], None)
    jobs["pa_vrt"] = (
        ["--sites", str(good), "--protected-areas", str(hostile_files["vrt_disguised.geojson"][0]),
         "--out", str(out / "w.csv")],
        None,
    )  # fmt: skip
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {k: pool.submit(_run_cli, args, cache, env) for k, (args, env) in jobs.items()}
        return {k: f.result() for k, f in futures.items()}


def _assert_clean_refusal(proc: subprocess.CompletedProcess, pattern: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    assert proc.stderr.startswith("error: "), proc.stderr
    assert "Fix:" in proc.stderr
    assert re.search(pattern, proc.stderr), proc.stderr


@pytest.mark.parametrize("name", CLI_CASES)
def test_cli_refuses_hostile_file_with_exit_2(cli_results, hostile_files, name):
    _assert_clean_refusal(cli_results[name], hostile_files[name][1])


@pytest.mark.parametrize(
    ("case", "pattern"),
    [
        ("vsicurl", "URL, a GDAL virtual path"),
        ("pa_vrt", "GDAL virtual dataset"),
    ],
)
def test_cli_refuses_remote_and_virtual_inputs(cli_results, case, pattern):
    _assert_clean_refusal(cli_results[case], pattern)


def test_cli_never_read_the_vrt_target(cli_results):
    assert all("TOPSECRET" not in (p.stdout + p.stderr) for p in cli_results.values())


# --- the upload path (the function the upload callback calls) -----------------------------------------------
@pytest.fixture
def settings(tmp_path):
    return Settings(cache_dir=tmp_path / "cache", workspace_dir=tmp_path / "ws", max_upload_mb=50)


def _contents(path: Path) -> str:
    return "data:application/octet-stream;base64," + base64.b64encode(path.read_bytes()).decode()


UPLOAD_CASES = [c for c in CASES if c != "sites.exe"]


@pytest.mark.parametrize("name", UPLOAD_CASES)
def test_upload_refuses_hostile_file_with_a_clear_alert(settings, hostile_files, name):
    path, pattern = hostile_files[name]
    ws = new_workspace_id()
    with pytest.raises(LayerError) as info:
        save_upload(settings, ws, "sites", path.name, _contents(path))
    alert = describe_error(info.value).message
    assert re.search(pattern, alert) and "Fix:" in alert and "Traceback" not in alert
    assert read_manifest(settings, ws) is None  # nothing was committed


@pytest.mark.parametrize("name", ["sites.exe", "vrt_disguised.geojson", "truncated.zip", "traversal.zip", "bomb.zip"])
def test_protected_area_upload_refuses_hostile_file(settings, hostile_files, name):
    path, pattern = hostile_files[name]
    name_for_upload = "pa.exe" if name == "sites.exe" else path.name
    with pytest.raises(LayerError, match=pattern if name != "sites.exe" else "not accepted"):
        save_upload(settings, new_workspace_id(), "protected_areas", name_for_upload, _contents(path))


def test_upload_size_is_checked_before_decoding(settings, monkeypatch):
    import dashboard.uploads as ws_mod

    def no_decode(*_a, **_k):
        raise AssertionError("decoded an oversized upload")

    monkeypatch.setattr(ws_mod.base64, "b64decode", no_decode)
    small = Settings(cache_dir=settings.cache_dir, workspace_dir=settings.workspaces, max_upload_mb=0.001)
    big = "data:text/csv;base64," + "A" * 4000
    with pytest.raises(LayerError, match=r"over the 0\.001 MB upload limit"):
        save_upload(small, new_workspace_id(), "sites", "s.csv", big)


def test_a_failed_upload_keeps_the_previous_one(settings, hostile_files):
    ws = new_workspace_id()
    good = "site_id,name,commodity,longitude,latitude\ng1,A,gold,-1.6,6.7\n"
    save_upload(settings, ws, "sites", "good.csv", "data:text/csv;base64," + base64.b64encode(good.encode()).decode())
    before = read_manifest(settings, ws)
    for name in ("all_invalid.csv", "bomb.zip", "vrt_disguised.geojson"):
        path = hostile_files[name][0]
        with pytest.raises(LayerError):
            save_upload(settings, ws, "sites", path.name, _contents(path))
    assert read_manifest(settings, ws) == before
