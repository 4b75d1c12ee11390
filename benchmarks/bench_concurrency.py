"""Concurrency benchmark: N simulated browser sessions against gunicorn, on loopback only.

    python benchmarks/bench_concurrency.py [--sessions 20] [--workers 4] [--requests 10] [--cap-s 120]

Starts ``gunicorn -w W -b 127.0.0.1:PORT app:server`` with a private ``ASM_CACHE_DIR``
(and so private workspaces), then runs the sessions from threads with ``urllib``. Each
session behaves like one browser tab and drives the real Dash callbacks (POSTs to
``/_dash-update-component`` built from ``/_dash-layout`` and ``/_dash-dependencies``):

  layout, dependencies, [upload its own sites CSV], URL state -> filter, map, charts,
  one table block, CSV export, site detail   (at most ``--requests`` requests)

Every second session uploads a CSV of its own (ids ``sessNN-...``, a different number
of sites each). Checked: every response is HTTP 200 with no error alert in it; no
session ever sees another's upload (table counts and ids, export ids); memory is
sampled (RSS of each gunicorn worker, psutil, every 0.2 s). The run stops at
``--cap-s`` seconds of wall time whatever happens. Reported: requests, p50/p95 latency,
errors, leaks, max RSS per worker (numbers in docs/performance.md, ## Concurrency).
"""

from __future__ import annotations

import argparse
import base64
import csv
import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"  # loopback only, always
ERROR_MARKERS = ("Something went wrong", "Invalid input:", "Traceback")


# --- a tiny Dash client ------------------------------------------------------------------------------
def _id_key(cid: Any) -> str:
    return json.dumps(cid, sort_keys=True, separators=(",", ":")) if isinstance(cid, dict) else str(cid)


def _walk(node: Any) -> Iterator[dict]:
    if isinstance(node, dict):
        if "props" in node and "type" in node:
            yield node
            yield from _walk(node["props"].get("children"))
            for v in node["props"].values():
                if isinstance(v, dict | list) and v is not node["props"].get("children"):
                    yield from _walk(v)
    elif isinstance(node, list):
        for child in node:
            yield from _walk(child)


def _split_output(sig: str) -> list[tuple[Any, str]]:
    """'..a.b...c.d..' or 'a.b' -> [(id, prop), ...]; dict ids are JSON; '@hash' suffixes kept on the prop."""
    parts = sig[2:-2].split("...") if sig.startswith("..") else [sig]
    out = []
    for part in parts:
        cid, _, prop = part.rpartition(".")
        out.append((json.loads(cid) if cid.startswith("{") else cid, prop))
    return out


def _matches(pattern: dict, cid: Any) -> bool:
    if not isinstance(cid, dict) or set(pattern) != set(cid):
        return False
    return all(v == ["ALL"] or v == cid[k] for k, v in pattern.items())


class DashClient:
    """Builds ``/_dash-update-component`` bodies the way the Dash renderer does, from the layout and deps."""

    def __init__(self, layout: dict, deps: list[dict]) -> None:
        self.components = {_id_key(c["props"]["id"]): c for c in _walk(layout) if "id" in c["props"]}
        self.deps = deps

    def dep(self, output_startswith: str) -> dict:
        hits = [d for d in self.deps if d["output"].lstrip(".").startswith(output_startswith)]
        if len(hits) != 1:
            raise KeyError(f"{len(hits)} callbacks with output {output_startswith!r}")
        return hits[0]

    def _value(self, cid: Any, prop: str, values: dict) -> Any:
        key = (_id_key(cid), prop)
        if key in values:
            return values[key]
        comp = self.components.get(_id_key(cid))
        return None if comp is None else comp["props"].get(prop)

    def _entries(self, cid: Any, prop: str, values: dict, with_value: bool = True) -> Any:
        if isinstance(cid, str) and cid.startswith("{"):  # /_dash-dependencies gives pattern ids as JSON text
            cid = json.loads(cid)
        if isinstance(cid, dict) and any(v == ["ALL"] for v in cid.values()):
            found = [c["props"]["id"] for c in self.components.values() if _matches(cid, c["props"]["id"])]
            return [
                {"id": f, "property": prop, **({"value": self._value(f, prop, values)} if with_value else {})}
                for f in found
            ]
        entry = {"id": cid, "property": prop}
        if with_value:
            entry["value"] = self._value(cid, prop, values)
        return entry

    def body(self, output_startswith: str, values: dict[tuple[str, str], Any], changed: list[str]) -> dict:
        dep = self.dep(output_startswith)
        outs = [self._entries(cid, prop, values, with_value=False) for cid, prop in _split_output(dep["output"])]
        return {
            "output": dep["output"],
            "outputs": outs if dep["output"].startswith("..") else outs[0],
            "inputs": [self._entries(i["id"], i["property"], values) for i in dep["inputs"]],
            "state": [self._entries(s["id"], s["property"], values) for s in dep["state"]],
            "changedPropIds": changed,
        }


# --- sessions ----------------------------------------------------------------------------------------
@dataclass
class Stats:
    latencies_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    sessions_done: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, latency: float, error: str | None = None) -> None:
        with self.lock:
            self.latencies_s.append(latency)
            if error:
                self.errors.append(error)


def session_csv(k: int, n: int) -> str:
    rows = [f"sess{k:02d}-{i},Site {k}-{i},gold,{-2.4 + 0.01 * i:.3f},{6.2 + 0.01 * k:.3f}" for i in range(n)]
    return "site_id,name,commodity,longitude,latitude\n" + "\n".join(rows) + "\n"


class Session:
    """One browser tab: at most ``max_requests`` requests, stops at ``deadline`` (time.monotonic)."""

    def __init__(self, base: str, k: int, stats: Stats, deadline: float, max_requests: int, upload: bool) -> None:
        self.base, self.k, self.stats, self.deadline, self.max_requests = base, k, stats, deadline, max_requests
        self.upload = upload
        self.n_sites = 3 + k  # a different count per session: a leak shows as a wrong count
        self.n_requests = 0

    def _request(self, path: str, body: dict | None = None) -> Any:
        if self.n_requests >= self.max_requests or time.monotonic() > self.deadline:
            raise TimeoutError("session budget used up")
        self.n_requests += 1
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method="POST" if body is not None else "GET")
        req.add_header("Content-Type", "application/json")
        t0 = time.perf_counter()
        error = None
        payload: Any = None
        try:
            timeout = max(1.0, self.deadline - time.monotonic())
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read()
                if resp.status not in (200, 204):  # 204: the callback changed nothing (PreventUpdate)
                    error = f"{path}: HTTP {resp.status}"
                payload = json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            error = f"{path}: HTTP {exc.code} {exc.read()[:300]!r}"
        except (OSError, ValueError) as exc:
            error = f"{path}: {type(exc).__name__}: {exc}"
        if error is None and body is not None:
            side = json.dumps((payload or {}).get("sideUpdate") or {})
            if "app-alert" in side or any(m in json.dumps(payload)[:200_000] for m in ERROR_MARKERS):
                error = f"{path}: error payload for {body['output'][:60]}: {side[:300]}"
        self.stats.add(time.perf_counter() - t0, error)
        if error:
            raise RuntimeError(error)
        return payload

    def _leak(self, what: str) -> None:
        with self.stats.lock:
            self.stats.leaks.append(f"session {self.k}: {what}")

    def run(self) -> None:
        try:
            self._run()
            with self.stats.lock:
                self.stats.sessions_done += 1
        except TimeoutError:
            pass
        except RuntimeError:
            pass  # already counted as an error

    def _run(self) -> None:
        client = DashClient(self._request("/_dash-layout"), self._request("/_dash-dependencies"))
        ws = None
        if self.upload:
            contents = "data:text/csv;base64," + base64.b64encode(session_csv(self.k, self.n_sites).encode()).decode()
            out = self._request(
                "/_dash-update-component",
                client.body(
                    "app-data-id.data...upload-status",
                    {("upload-sites", "contents"): contents, ("upload-sites", "filename"): f"s{self.k}.csv"},
                    ["upload-sites.contents"],
                ),
            )
            ws = out["response"]["app-data-id"]["data"]  # the data in view (dashboard.ids.WORKSPACE)
        search = "" if self.upload else ("?c=COD" if self.k % 4 == 1 else "?r=high,very+high")
        out = self._request(
            "/_dash-update-component", client.body("app-url.search", {("app-url", "search"): search}, [])
        )
        # a plain URL answers 204 (no update): the page already shows the default view
        state = out["response"]["app-state"]["data"] if out else client._value("app-state", "data", {})
        common = {("app-state", "data"): state, ("app-data-id", "data"): ws}
        out = self._request("/_dash-update-component", client.body("map-sites.figure", common, ["app-state.data"]))
        count_text = json.dumps(out["response"]["map-count"]["children"])
        self._request(
            "/_dash-update-component", client.body("chart-risk-by-country.figure", common, ["app-state.data"])
        )
        req = {"startRow": 0, "endRow": 100, "sortModel": [], "filterModel": {}}
        out = self._request(
            "/_dash-update-component",
            client.body(
                "table-risk.getRowsResponse",
                {**common, ("table-risk", "getRowsRequest"): req},
                ["table-risk.getRowsRequest"],
            ),
        )
        block = out["response"]["table-risk"]["getRowsResponse"]
        ids = [r["site_id"] for r in block["rowData"]]
        foreign = [i for i in ids if i.startswith("sess") and not i.startswith(f"sess{self.k:02d}-")]
        if foreign:
            self._leak(f"table shows other sessions' sites {foreign[:3]}")
        if self.upload:
            if block["rowCount"] != self.n_sites or sorted(ids) != sorted(
                f"sess{self.k:02d}-{i}" for i in range(self.n_sites)
            ):
                self._leak(f"table has {block['rowCount']} rows, expected its own {self.n_sites}")
            if f"{self.n_sites}" not in count_text:
                self._leak(f"map count {count_text!r} is not its own {self.n_sites} sites")
        out = self._request(
            "/_dash-update-component",
            client.body("export-download.data", {**common, ("export-csv", "n_clicks"): 1}, ["export-csv.n_clicks"]),
        )
        dl = out["response"]["export-download"]["data"]
        raw = base64.b64decode(dl["content"]) if dl.get("base64") else dl["content"].encode("utf-8")
        if dl["filename"].endswith(".zip"):  # the CSV export is one zip: the table and its about text
            with zipfile.ZipFile(io.BytesIO(raw)) as zf:
                raw = zf.read(next(n for n in zf.namelist() if n.endswith(".csv")))
        text = raw.decode("utf-8")
        exported = [r["site_id"] for r in csv.DictReader(io.StringIO(text))]
        if self.upload and sorted(exported) != sorted(f"sess{self.k:02d}-{i}" for i in range(self.n_sites)):
            self._leak(f"export has {len(exported)} rows, not its own {self.n_sites}")
        if not self.upload and any(i.startswith("sess") for i in exported):
            self._leak("export of the server's data holds uploaded sites")
        if ids:
            self._request(
                "/_dash-update-component",
                client.body(
                    "detail-site.children",
                    {**common, ("app-selected-site", "data"): ids[0]},
                    ["app-selected-site.data"],
                ),
            )


# --- server and memory -----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_gunicorn(
    workers: int, cache_dir: Path, env_extra: dict[str, str] | None = None
) -> tuple[subprocess.Popen, str]:
    """``gunicorn -w N -b 127.0.0.1:PORT app:server`` with a private cache; waits until it answers."""
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    port = free_port()
    env = dict(os.environ, ASM_CACHE_DIR=str(cache_dir), PYTHONUNBUFFERED="1", **(env_extra or {}))
    log = open(cache_dir / "gunicorn.log", "w")  # noqa: SIM115 (closed with the process by the OS)
    proc = subprocess.Popen(
        [gunicorn, "-w", str(workers), "-b", f"{HOST}:{port}", "--timeout", "120", "app:server"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://{HOST}:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {(cache_dir / 'gunicorn.log').read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(base + "/_dash-layout", timeout=5) as r:
                if r.status == 200 and len(_worker_pids(proc)) == workers:
                    return proc, base
        except OSError:
            pass
        time.sleep(0.5)
    stop_gunicorn(proc)
    raise RuntimeError(f"gunicorn did not answer in 180 s: {(cache_dir / 'gunicorn.log').read_text()[-3000:]}")


def _worker_pids(proc: subprocess.Popen) -> list[int]:
    import psutil

    try:
        return [c.pid for c in psutil.Process(proc.pid).children()]
    except psutil.Error:
        return []


def stop_gunicorn(proc: subprocess.Popen) -> None:
    proc.terminate()  # the master stops its workers
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class RssSampler(threading.Thread):
    """Max RSS (MB) of each gunicorn worker, sampled every ``every_s`` seconds."""

    def __init__(self, proc: subprocess.Popen, every_s: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.proc, self.every_s = proc, every_s
        self.max_mb: dict[int, float] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        import psutil

        while not self.stop.is_set():
            for pid in _worker_pids(self.proc):
                try:
                    mb = psutil.Process(pid).memory_info().rss / 1e6
                except psutil.Error:
                    continue
                self.max_mb[pid] = max(self.max_mb.get(pid, 0.0), mb)
            self.stop.wait(self.every_s)


# --- the run -----------------------------------------------------------------------------------------------
@dataclass
class Report:
    sessions: int
    sessions_done: int
    requests: int
    errors: list[str]
    leaks: list[str]
    p50_ms: float
    p95_ms: float
    max_ms: float
    wall_s: float
    max_rss_mb: dict[int, float]

    def summary(self) -> str:
        rss = ", ".join(f"{v:.0f}" for v in sorted(self.max_rss_mb.values()))
        return (
            f"{self.sessions} sessions ({self.sessions_done} completed), {self.requests} requests in {self.wall_s:.1f} s; "
            f"latency p50 {self.p50_ms:.0f} ms, p95 {self.p95_ms:.0f} ms, max {self.max_ms:.0f} ms; "
            f"errors {len(self.errors)}, leaks {len(self.leaks)}; max RSS per worker (MB): {rss}"
        )


def run_sessions(base: str, proc: subprocess.Popen, n_sessions: int, max_requests: int, cap_s: float) -> Report:
    """``n_sessions`` concurrent sessions (every second one uploads), stopped at ``cap_s`` seconds."""
    stats = Stats()
    sampler = RssSampler(proc)
    sampler.start()
    t0 = time.monotonic()
    deadline = t0 + cap_s
    sessions = [Session(base, k, stats, deadline, max_requests, upload=k % 2 == 0) for k in range(n_sessions)]
    threads = [threading.Thread(target=s.run, daemon=True) for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.monotonic()) + 5)
    wall = time.monotonic() - t0
    sampler.stop.set()
    sampler.join(timeout=5)
    lat = sorted(stats.latencies_s) or [0.0]
    q = statistics.quantiles(lat, n=20) if len(lat) >= 2 else [lat[0]] * 19
    unfinished = [
        f"session {s.k} did not finish ({s.n_requests} requests)"
        for s, t in zip(sessions, threads, strict=True)
        if t.is_alive()
    ]
    return Report(
        sessions=n_sessions,
        sessions_done=stats.sessions_done,
        requests=len(stats.latencies_s),
        errors=stats.errors + unfinished,
        leaks=stats.leaks,
        p50_ms=statistics.median(lat) * 1000,
        p95_ms=q[18] * 1000,
        max_ms=lat[-1] * 1000,
        wall_s=wall,
        max_rss_mb=dict(sampler.max_mb),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--requests", type=int, default=10, help="at most this many requests per session")
    parser.add_argument("--cap-s", type=float, default=120.0, help="total wall-time cap of the sessions")
    parser.add_argument("--demo-sites", type=int, default=None, help="ASM_DEMO_N_SITES for the server")
    args = parser.parse_args(argv)
    cache = Path(tempfile.mkdtemp(prefix="asm-bench-concurrency-"))
    env = {"ASM_DEMO_N_SITES": str(args.demo_sites)} if args.demo_sites else {}
    try:
        t0 = time.monotonic()
        proc, base = start_gunicorn(args.workers, cache, env)
        print(f"gunicorn -w {args.workers} on {base} ready in {time.monotonic() - t0:.1f} s", flush=True)
        try:
            report = run_sessions(base, proc, args.sessions, args.requests, args.cap_s)
        finally:
            stop_gunicorn(proc)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    print(report.summary())
    for line in (report.errors + report.leaks)[:20]:
        print("  " + line)
    return 0 if not report.errors and not report.leaks and report.sessions_done == report.sessions else 1


if __name__ == "__main__":
    sys.exit(main())
