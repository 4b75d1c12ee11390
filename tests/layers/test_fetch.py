"""layers.fetch: pinned downloads over a real loopback HTTP server (with Range support) serving ../shared/data."""

from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from layers.errors import LayerError
from layers.fetch import DATASETS, FetchError, fetch_data, fetched_defaults, url_for

SHARED_FOLDERS = ("natural_earth", "amazon_mining_watch")


@dataclass
class ServerState:
    files: dict[str, Path]  # URL path -> local file
    ignore_range: bool = False
    corrupt: set[str] = field(default_factory=set)  # URL paths served with one byte flipped
    requests: list[tuple[str, str | None, int]] = field(default_factory=list)  # (path, Range header, status)


def _handler(state: ServerState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep pytest output clean
            pass

        def do_GET(self) -> None:
            rng = self.headers.get("Range")
            local = state.files.get(self.path)
            if local is None:
                self._reply(404, b"not found", rng)
                return
            body = local.read_bytes()
            if self.path in state.corrupt:
                body = bytes([body[0] ^ 0xFF]) + body[1:]
            m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng or "")
            if m and not state.ignore_range:
                start = int(m.group(1))
                end = int(m.group(2)) if m.group(2) else len(body) - 1
                if start >= len(body):
                    self._reply(416, b"", rng, {"Content-Range": f"bytes */{len(body)}"})
                    return
                end = min(end, len(body) - 1)
                self._reply(206, body[start : end + 1], rng, {"Content-Range": f"bytes {start}-{end}/{len(body)}"})
                return
            self._reply(200, body, rng)

        def _reply(self, status: int, body: bytes, rng: str | None, headers: dict[str, str] | None = None) -> None:
            state.requests.append((self.path, rng, status))
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            self.wfile.write(body)

    return Handler


@pytest.fixture
def server(shared_data: Path) -> Iterator[tuple[ServerState, dict[str, str]]]:
    """A loopback server laid out as <repo>/<commit>/<path>, like raw.githubusercontent.com."""
    files: dict[str, Path] = {}
    for item in DATASETS:
        local = _shared_copy(shared_data, item.filename)
        if not local.is_file():
            pytest.skip(f"{item.filename} not in {shared_data}")
        files[f"/{item.repo}/{item.commit}/{item.path}"] = local
    state = ServerState(files=files)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    base_urls = {item.repo: f"{base}/{item.repo}" for item in DATASETS}
    try:
        yield state, base_urls
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _shared_copy(shared_data: Path, filename: str) -> Path:
    """The copy of ``filename`` in ../shared/data (a non-existent path when absent)."""
    return next(
        (shared_data / d / filename for d in SHARED_FOLDERS if (shared_data / d / filename).is_file()),
        shared_data / filename,
    )


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_urls_are_built_from_repo_commit_and_path() -> None:
    ne = next(d for d in DATASETS if d.name == "ne_10m_reefs")
    assert url_for(ne) == (
        "https://raw.githubusercontent.com/martynafford/natural-earth-geojson/"
        "0b9a6ceb0a7032713abd9460ac1e995a9c60cd1e/10m/physical/ne_10m_reefs.json"
    )
    pa = next(d for d in DATASETS if d.name == "amw_protected_areas_impacts")
    assert "/00549d6138bb8fc95ee470176e895765ecc991c3/" in url_for(pa)
    assert url_for(ne, {ne.repo: "http://mirror.example/ne/"}).startswith("http://mirror.example/ne/0b9a6ceb")


def test_pinned_checksums_match_the_shared_copies(shared_data: Path) -> None:
    for item in DATASETS:
        local = _shared_copy(shared_data, item.filename)
        assert local.stat().st_size == item.size, item.name
        assert _sha(local) == item.sha256, item.name


def test_full_fetch_verifies_and_writes_manifest(server, tmp_path: Path) -> None:
    state, base_urls = server
    assert fetched_defaults(tmp_path) == {}
    report = fetch_data(tmp_path, base_urls=base_urls, progress=False)
    assert sorted(report.fetched) == sorted(d.name for d in DATASETS)
    assert report.bytes_downloaded == sum(d.size for d in DATASETS)
    for item in DATASETS:
        path = tmp_path / "data" / item.filename
        assert _sha(path) == item.sha256
        assert not path.with_name(path.name + ".part").exists()
    manifest = json.loads((tmp_path / "data" / "manifest.json").read_text())
    assert manifest["files"]["amw_mining_2024"]["commit"] == "bbbcb2d722c930626f322bec751a22e4acb22750"
    assert manifest["files"]["amw_mining_2024"]["licence"] == "CC BY 4.0"
    assert set(fetched_defaults(tmp_path)) == {
        "countries",
        "reefs",
        "rainforest",
        "mining_polygons",
        "protected_areas_impacts",
    }
    # a second run downloads nothing
    n_requests = len(state.requests)
    again = fetch_data(tmp_path, base_urls=base_urls, progress=False)
    assert again.fetched == [] and len(again.already_present) == len(DATASETS)
    assert len(state.requests) == n_requests


def test_resume_from_truncated_part_uses_range(server, tmp_path: Path, shared_data: Path) -> None:
    state, base_urls = server
    item = next(d for d in DATASETS if d.name == "ne_10m_reefs")
    part = tmp_path / "data" / (item.filename + ".part")
    part.parent.mkdir(parents=True)
    half = item.size // 2
    part.write_bytes((shared_data / "natural_earth" / item.filename).read_bytes()[:half])
    report = fetch_data(tmp_path, base_urls=base_urls, progress=False, names=["ne_10m_reefs"])
    assert report.resumed == ["ne_10m_reefs"]
    assert report.bytes_downloaded == item.size - half
    assert state.requests == [(f"/{item.repo}/{item.commit}/{item.path}", f"bytes={half}-", 206)]
    assert _sha(tmp_path / "data" / item.filename) == item.sha256
    assert not part.exists()


def test_server_ignoring_range_restarts_cleanly(server, tmp_path: Path) -> None:
    state, base_urls = server
    state.ignore_range = True
    item = next(d for d in DATASETS if d.name == "ne_10m_reefs")
    part = tmp_path / "data" / (item.filename + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(b"GARBAGE-NOT-A-PREFIX" * 10)
    report = fetch_data(tmp_path, base_urls=base_urls, progress=False, names=["ne_10m_reefs"])
    assert report.resumed == []
    assert state.requests[0][1] == "bytes=200-" and state.requests[0][2] == 200
    assert _sha(tmp_path / "data" / item.filename) == item.sha256


def test_part_longer_than_file_starts_over(server, tmp_path: Path) -> None:
    state, base_urls = server
    item = next(d for d in DATASETS if d.name == "ne_10m_reefs")
    part = tmp_path / "data" / (item.filename + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(b"x" * (item.size + 10))
    fetch_data(tmp_path, base_urls=base_urls, progress=False, names=["ne_10m_reefs"])
    assert state.requests[0][1] is None
    assert _sha(tmp_path / "data" / item.filename) == item.sha256


def test_sha_mismatch_raises_and_leaves_no_file(server, tmp_path: Path) -> None:
    state, base_urls = server
    item = next(d for d in DATASETS if d.name == "amw_amazon_limit")
    state.corrupt.add(f"/{item.repo}/{item.commit}/{item.path}")
    with pytest.raises(FetchError, match=r"sha256 .* expected .*partial file was deleted"):
        fetch_data(tmp_path, base_urls=base_urls, progress=False, names=["amw_amazon_limit"])
    assert not (tmp_path / "data" / item.filename).exists()
    assert not (tmp_path / "data" / (item.filename + ".part")).exists()
    assert "rainforest" not in fetched_defaults(tmp_path)


def test_damaged_existing_file_is_downloaded_again(server, tmp_path: Path) -> None:
    _, base_urls = server
    item = next(d for d in DATASETS if d.name == "ne_10m_reefs")
    fetch_data(tmp_path, base_urls=base_urls, progress=False, names=["ne_10m_reefs"])
    dest = tmp_path / "data" / item.filename
    dest.write_bytes(b"tampered")
    assert "reefs" not in fetched_defaults(tmp_path)
    report = fetch_data(tmp_path, base_urls=base_urls, progress=False, names=["ne_10m_reefs"])
    assert report.fetched == ["ne_10m_reefs"]
    assert _sha(dest) == item.sha256


def test_http_404_is_a_clear_error(server, tmp_path: Path) -> None:
    state, base_urls = server
    state.files.clear()
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch_data(tmp_path, base_urls=base_urls, progress=False, names=["ne_10m_reefs"])


def test_one_failing_file_does_not_stop_the_others(server, tmp_path: Path) -> None:
    state, base_urls = server
    ne = next(d for d in DATASETS if d.name == "ne_50m_admin_0_countries")
    del state.files[f"/{ne.repo}/{ne.commit}/{ne.path}"]
    with pytest.raises(FetchError, match=r"ne_50m_admin_0_countries.json: the server answered HTTP 404"):
        fetch_data(tmp_path, base_urls=base_urls, progress=False, names=["ne_50m_admin_0_countries", "ne_10m_reefs"])
    assert fetched_defaults(tmp_path) == {"reefs": tmp_path / "data" / "ne_10m_reefs.json"}


def test_server_down_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base_urls = {d.repo: f"http://127.0.0.1:{port}/{d.repo}" for d in DATASETS}
    with pytest.raises(LayerError, match=r"cannot download ne_10m_reefs.json .*Fix: check the internet connection"):
        fetch_data(tmp_path, base_urls=base_urls, progress=False, names=["ne_10m_reefs"], timeout_s=5)
    assert not (tmp_path / "data" / "ne_10m_reefs.json").exists()


def test_unknown_dataset_name_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="unknown dataset"):
        fetch_data(tmp_path, names=["wdpa"], progress=False)


def test_fetched_real_data_becomes_the_default_scenario(server, tmp_path: Path) -> None:
    """After fetch-data, the dashboard's default (no data options) is the real AMW data, not the demo."""
    from scoring.pipeline import LayerSources, compute_facts, load_scenario
    from settings import Settings

    _, base_urls = server
    fetch_data(tmp_path, base_urls=base_urls, progress=False)
    settings = Settings(cache_dir=tmp_path)
    scenario = load_scenario(LayerSources(), settings)
    assert not scenario.is_demo
    assert scenario.sites.n_loaded == 5232  # every AMW 2024 detection polygon
    assert scenario.protected_areas is not None and scenario.protected_areas.n_loaded > 100
    assert scenario.rainforest is not None and scenario.reefs is not None
    assert any("ne_50m_admin_0_countries" in s for s in scenario.sources)
    assert not any("synthetic" in s for s in scenario.sources)
    facts = compute_facts(scenario, settings)
    # AMW detections sit in the Amazon: nearly all inside the Amazon limit polygon
    assert facts["in_rainforest"].mean() > 0.9
    assert set(facts["country_iso3"].dropna()) >= {"BRA", "PER"}


def test_the_natural_earth_50m_countries_file_is_documented_as_verified(shared_data):
    """Issue #13 item 11: the pinned .json is the git blob the upstream tree lists (a57de91d…), so no caveat."""
    (pinned,) = [d for d in DATASETS if d.name == "ne_50m_admin_0_countries"]
    raw = (shared_data / "natural_earth" / pinned.filename).read_bytes()
    blob_id = hashlib.sha1(b"blob %d\x00" % len(raw) + raw).hexdigest()  # what `git hash-object` prints
    assert hashlib.sha256(raw).hexdigest() == pinned.sha256
    doc = (Path(__file__).resolve().parents[2] / "docs" / "data-sources.md").read_text(encoding="utf-8")
    assert blob_id in doc  # the upstream tree's blob id at the pinned commit, documented
    assert "Unverified" not in doc.split("## Supplied by the user")[0]
