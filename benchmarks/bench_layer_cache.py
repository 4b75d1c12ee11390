"""Benchmark: loading a WDPA-sized protected-area layer cold vs from the layer cache.

Baseline: ``layers.protected_areas.load_protected_areas`` on the GeoPackage (parsing,
validation, make_valid, schema mapping) in a cold process. Then the same call through
``layers.cache.cached_layer``: the first time (a miss: load + write the GeoParquet entry)
and the second time (a hit: read the GeoParquet entry), each in its own cold process, as
a user restarting the dashboard would see it.

Usage: .venv/bin/python benchmarks/bench_layer_cache.py --polygons 300000 [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
t0 = time.perf_counter()
from layers.protected_areas import load_protected_areas as _load_protected_areas
from scoring.pipeline import zip_limits
from settings import Settings
from layers.cache import cached_layer
def load_protected_areas(path):
    return _load_protected_areas(path, zip_limits=zip_limits(Settings()))
path, mode, cache_dir = Path({path!r}), {mode!r}, Path({cache!r})
if mode == "direct":
    result = load_protected_areas(path)
else:
    result = cached_layer(path, "protected_areas", {{"include_proposed": False}},
                          lambda: load_protected_areas(path), cache_dir)
elapsed = time.perf_counter() - t0
print(json.dumps({{"s": elapsed, "n": len(result.data), "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def make_wdpa_gpkg(n: int, out: Path) -> Path:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from make_synthetic import make_protected_areas

    pas = make_protected_areas(n)
    wdpa = pas.rename(columns={"pa_id": "WDPAID", "pa_pid": "WDPA_PID", "name": "NAME", "designation": "DESIG_ENG",
                               "iucn_cat": "IUCN_CAT"})  # fmt: skip
    wdpa["STATUS"] = "Designated"
    wdpa["STATUS_YR"] = 2000
    wdpa["ISO3"] = "XXX"
    wdpa["MARINE"] = "0"
    wdpa["REP_AREA"] = 0.0
    wdpa["GIS_AREA"] = 0.0
    path = out / f"wdpa_like_{n}.gpkg"
    wdpa.to_file(path, layer="wdpa_poly", driver="GPKG")
    return path


def run(path: Path, mode: str, cache: Path) -> dict:
    code = CHILD.format(root=str(ROOT), path=str(path), mode=mode, cache=str(cache))
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["wall_s"] = time.perf_counter() - t0
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--polygons", type=int, default=300_000)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    work = (args.workdir or Path(tempfile.mkdtemp(prefix="asm-bench-cache-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    path = work / f"wdpa_like_{args.polygons}.gpkg"
    if args.generate_only:
        make_wdpa_gpkg(args.polygons, work)
        return
    if not path.exists():
        # in a child process: Linux keeps ru_maxrss across exec, so a big parent would
        # inflate every measured child's peak memory
        t0 = time.perf_counter()
        cmd = [sys.executable, __file__, "--generate-only", "--polygons", str(args.polygons), "--workdir", str(work)]
        subprocess.run(cmd, check=True)
        print(f"generated {path} in {time.perf_counter() - t0:.1f} s ({path.stat().st_size / 1e6:.0f} MB)")
    cache = work / "cache"
    direct = run(path, "direct", cache)
    miss = run(path, "cached", cache)
    hit = run(path, "cached", cache)
    print(f"polygons loaded: {direct['n']}")
    print("| path | wall s (cold process) | in-process s | peak MB | vs direct load |")
    print("|---|---|---|---|---|")
    for label, r in (("direct load (baseline)", direct), ("cache miss (load + write)", miss), ("cache hit", hit)):
        print(
            f"| {label} | {r['wall_s']:.1f} | {r['s']:.1f} | {r['peak_mb']:.0f} | {direct['wall_s'] / r['wall_s']:.2f}x |"
        )


if __name__ == "__main__":
    main()
