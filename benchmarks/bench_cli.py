"""Benchmark: the whole scoring command against two whole-command baselines, as a user runs them.

Every run is a cold process (interpreter start, imports, reading both files, computing, writing a
Parquet of the sites with their facts), timed from outside; peak RSS is that process's own
``ru_maxrss`` (read by a wrapper process through ``RUSAGE_CHILDREN``). The engines run in
interleaved rounds (the order rotates each round), so machine load hits them alike; the load
average is printed beside every run.

Commands
--------
cli     ``python app.py score --sites S --protected-areas P --out x.parquet`` with the DEFAULT
        settings (PA area in 10 km on, per-IUCN-category distances out to
        ``settings.protected_area_reach_km``, risk model 2.0 with its Monte Carlo bands), warm layer
        cache and numba cache (a first, untimed run fills them; its time is printed as ``fill``).
sjoin   baseline (a): geopandas: read both files, reproject to EPSG:8857, ``sjoin_nearest`` for the
        nearest PA and its distance, ``sjoin`` intersects for "inside" and of site buffers for the
        1/5/10/25 km counts (``bench_proximity._run_sjoin``), join to the sites, write Parquet.
duckdb  baseline (b): DuckDB spatial (the ``duckdb-extension-spatial`` wheel, loaded from its file):
        ``ST_DWithin`` joins in EPSG:8857 for the same columns (``bench_proximity._run_duckdb``),
        join to the sites, write Parquet.

Both baselines compute fewer facts than the CLI (no PA area, no category distances, no ecosystems,
no risk score) and planar distances (wrong by kilometres, see docs/performance.md); they are the
"what a GIS analyst would script" yardsticks of issue #15. All three read the same two files: the
sites and a WDPA-named copy of the synthetic PAs (``bench_proximity._wdpa_copy``).

Usage::

    .venv/bin/python benchmarks/bench_cli.py --sites 100000 --polygons 300000 --rounds 3 [--base /tmp/perf-base]

``--base DIR`` (a checkout of another commit, e.g. ``git worktree add --detach /tmp/perf-base main``)
adds its ``app.py score`` as ``cli_base`` to the same rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

WRAPPER = (
    "import json, resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
    "sys.stderr.write(r.stderr[-2000:]); print(json.dumps({'rc': r.returncode, "
    "'maxrss_mb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, "
    "'cpu_s': resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime + resource.getrusage(resource.RUSAGE_CHILDREN).ru_stime}))"
)


def baseline_command(engine: str, sites_path: Path, pa_path: Path, out: Path) -> None:
    """Child side of (a) and (b): the whole command in this process."""
    import geopandas as gpd
    from bench_proximity import _run_duckdb, _run_sjoin

    if engine == "sjoin":
        facts = _run_sjoin(sites_path, pa_path, id_col="WDPAID")
    else:
        facts = _run_duckdb(sites_path, pa_path, id_col="WDPAID", every_count=True)
    sites = gpd.read_parquet(sites_path)
    facts = facts.rename(columns={"dist_km": "dist_protected_area_km", "pa_id": "nearest_protected_area_id"})
    facts.index = sites.index
    sites.join(facts).to_parquet(out)


def run(cmd: list[str], env: dict | None = None) -> dict:
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", WRAPPER, *cmd], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    if info["rc"] != 0:
        raise SystemExit(f"{cmd[:4]} failed: {proc.stderr.strip()[-800:]}")
    return {"wall_s": wall, "peak_gb": info["maxrss_mb"] / 1024, "cpu_s": info["cpu_s"], "load_before": load}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sites", type=int, default=100_000)
    ap.add_argument("--polygons", type=int, default=300_000)
    ap.add_argument("--seed", type=int, default=20261130)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--engines", default="cli,sjoin,duckdb")
    ap.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "asm-risk-bench")
    ap.add_argument("--root", type=Path, default=ROOT, help="checkout whose app.py runs as 'cli' (default: this one)")
    ap.add_argument("--base", type=Path, default=None, help="another checkout, run as 'cli_base' in the same rounds")
    ap.add_argument(
        "--base-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an environment variable for cli_base only (repeatable), e.g. --base /this/tree "
        "--base-env ASM_MEMORY_BUDGET_MB=100000 to time this tree's one-pass engine against its default",
    )
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--sites-file", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--pa-file", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        baseline_command(a.child, a.sites_file, a.pa_file, a.out)
        return

    import make_synthetic
    from bench_proximity import _wdpa_copy

    sites_path, pa_path = make_synthetic.write(a.sites, a.polygons, a.data_dir, a.seed)
    wdpa = _wdpa_copy(pa_path)
    work = a.data_dir / "cli-bench"
    work.mkdir(parents=True, exist_ok=True)

    def cli_command(root: Path, name: str, extra: dict | None = None) -> tuple[list[str], dict]:
        python = str(root / ".venv" / "bin" / "python") if (root / ".venv").exists() else sys.executable
        env = dict(os.environ, ASM_CACHE_DIR=str(work / f"cache-{name}"), ASM_MAX_UPLOAD_MB="100000", **(extra or {}))
        cmd = [python, str(root / "app.py"), "score", "--sites", str(sites_path), "--protected-areas", str(wdpa)]
        return [*cmd, "--out", str(work / f"{name}.parquet"), "--no-progress"], env

    base_env = dict(kv.split("=", 1) for kv in a.base_env)
    commands = {
        "cli": cli_command(a.root.resolve(), "cli"),
        **({"cli_base": cli_command(a.base.resolve(), "cli_base", base_env)} if a.base else {}),
        **{
            e: (
                [
                    sys.executable,
                    __file__,
                    "--child",
                    e,
                    "--sites-file",
                    str(sites_path),
                    "--pa-file",
                    str(wdpa),
                    "--out",
                    str(work / f"{e}.parquet"),
                ],
                None,
            )
            for e in ("sjoin", "duckdb")
        },
    }
    engines = a.engines.split(",") + (["cli_base"] if a.base else [])
    for engine in ("cli", "cli_base"):
        if engine in engines:
            fill = run(*commands[engine])
            print(json.dumps({"engine": engine, "round": "fill (layer + numba caches)", **fill}), flush=True)
    rows = []
    for r in range(a.rounds):
        for engine in engines[r % len(engines) :] + engines[: r % len(engines)]:
            res = {"engine": engine, "round": r + 1, **run(*commands[engine])}
            rows.append(res)
            print(json.dumps(res), flush=True)
    summary = {}
    for engine in engines:
        mine = [x for x in rows if x["engine"] == engine]
        walls = [x["wall_s"] for x in mine]
        summary[engine] = {
            "wall_median_s": statistics.median(walls),
            "wall_min_s": min(walls),
            "wall_max_s": max(walls),
            "cpu_median_s": statistics.median(x["cpu_s"] for x in mine),
            "peak_gb_max": max(x["peak_gb"] for x in mine),
        }
    if "cli" in summary:
        for engine in engines:
            if engine != "cli":  # ratio per round (same round = same load), then the median
                ratios = [
                    b["wall_s"] / c["wall_s"]
                    for c in rows
                    if c["engine"] == "cli"
                    for b in rows
                    if b["engine"] == engine and b["round"] == c["round"]
                ]
                summary[engine]["cli_speedup_median"] = statistics.median(ratios)
                summary[engine]["cli_speedup_range"] = [min(ratios), max(ratios)]
    out = {"sites": a.sites, "polygons": a.polygons, "rounds": rows, "summary": summary}
    print(json.dumps(summary, indent=2))
    if a.json:
        a.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
