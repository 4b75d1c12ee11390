"""Benchmark: a fresh clone's first run against its second (numba compiles its kernels on first use).

For each mode, a fresh ``git clone`` of this repository's HEAD goes to a temporary directory (its
``.venv`` a link to this one's, so nothing is installed; numba's cache, which lives in
``geo/_kernels/__pycache__`` of the clone, starts empty), with an empty ``ASM_CACHE_DIR``. Then,
each a cold process timed from outside:

* ``score``: ``python app.py score`` on real data (default: the Peru gold-mining inventory,
  2,757 sites, against the Amazon Mining Watch protected areas from ../shared/data), first and
  second run;
* ``serve``: ``python app.py --port P`` on the built-in demo, from the start of the process to the
  first page served (``GET /`` answered: the default view is drawn into the page on the server,
  ``dashboard.render.initial_outputs``), first and second start.

Modes: ``plain`` runs nothing before (a clone whose owner never ran ``make run`` / ``make test``);
``make`` first runs ``scripts/compile_kernels.py``, which both make targets run after installing
(its time is reported as ``setup_s``). The ratio first / second is the figure of issue #15
(target: <= 3).

Usage::

    .venv/bin/python benchmarks/bench_first_run.py [--modes plain,make] [--sites FILE --protected-areas FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "amazon_mining_watch"


def timed(cmd: list[str], cwd: Path, env: dict) -> dict:
    code = (
        "import json, resource, subprocess, sys, time; t = time.perf_counter(); "
        "r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
        "u = resource.getrusage(resource.RUSAGE_CHILDREN); sys.stderr.write(r.stderr[-1500:]); "
        "print(json.dumps({'rc': r.returncode, 'wall_s': time.perf_counter() - t, 'cpu_s': u.ru_utime + u.ru_stime}))"
    )
    proc = subprocess.run([sys.executable, "-c", code, *cmd], capture_output=True, text=True, cwd=cwd, env=env)
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    if info["rc"]:
        raise SystemExit(f"{cmd} failed:\n{proc.stderr}")
    return {"wall_s": round(info["wall_s"], 2), "cpu_s": round(info["cpu_s"], 2), "load": os.getloadavg()[0]}


def first_page(python: str, clone: Path, env: dict) -> dict:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    server = subprocess.Popen([python, "app.py", "--port", str(port)], cwd=clone, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        while True:
            if server.poll() is not None:
                raise SystemExit("the dashboard exited before serving a page")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=60).read()
                break
            except OSError:
                time.sleep(0.1)
        return {"wall_s": round(time.perf_counter() - t0, 2), "load": os.getloadavg()[0]}
    finally:
        server.terminate()
        server.wait(timeout=20)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--modes", default="plain,make")
    ap.add_argument("--sites", type=Path, default=DATA / "BD_MineriaAurifera_Peru-curated2026-04-06.geojson")
    ap.add_argument("--protected-areas", type=Path, default=DATA / "protected_areas_impacts.geojson")
    ap.add_argument("--no-serve", action="store_true", help="time the score command only")
    a = ap.parse_args()
    if not a.sites.exists():
        raise SystemExit(f"no {a.sites}: give --sites and --protected-areas")
    python = str(ROOT / ".venv" / "bin" / "python")
    results = {}
    for mode in a.modes.split(","):
        work = Path(tempfile.mkdtemp(prefix=f"asm-first-{mode}-"))
        try:
            clone = work / "clone"
            subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
            (clone / ".venv").symlink_to(ROOT / ".venv")
            env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "ASM_"))}
            env["ASM_CACHE_DIR"] = str(work / "cache")
            res: dict = {"mode": mode}
            if mode == "make":
                res["setup"] = timed([python, "scripts/compile_kernels.py"], clone, env)
            score = [python, "app.py", "score", "--sites", str(a.sites), "--protected-areas", str(a.protected_areas),
                     "--out", str(work / "out.parquet"), "--no-progress"]  # fmt: skip
            res["score_first"] = timed(score, clone, env)
            res["score_second"] = timed(score, clone, env)
            res["score_ratio"] = round(res["score_first"]["wall_s"] / res["score_second"]["wall_s"], 2)
            if not a.no_serve:
                # a clone of its own, so the dashboard's first start is not warmed by the score runs
                shutil.rmtree(clone)
                subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
                (clone / ".venv").symlink_to(ROOT / ".venv")
                env["ASM_CACHE_DIR"] = str(work / "cache-serve")
                if mode == "make":
                    res["setup_serve"] = timed([python, "scripts/compile_kernels.py"], clone, env)
                res["serve_first"] = first_page(python, clone, env)
                res["serve_second"] = first_page(python, clone, env)
                res["serve_ratio"] = round(res["serve_first"]["wall_s"] / res["serve_second"]["wall_s"], 2)
            results[mode] = res
            print(json.dumps(res), flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
