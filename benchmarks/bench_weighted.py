"""The re-score of a weight change alone (``geo.risk.weighted_columns``), against another checkout's.

    git worktree add --detach /tmp/rescore-base 8b6e3dc
    .venv/bin/python benchmarks/bench_weighted.py --baseline /tmp/rescore-base --sizes 100000 1000000

Each tree, in a fresh subprocess per round (rounds interleaved): the basis of ``model_facts(n)`` built
once, then ``--repeats`` weight changes (a different weight each, as a slider moving), each result
**kept**, as the dashboard keeps its re-scored frames (``dashboard.data._scored``): every change writes
fresh memory, as in the server. Wall and process CPU time, medians.

``--memory`` also times the first touch of fresh memory as each allocator gives it (the cost that
dominated the re-score at 1M): a block of a re-score's size filled right after NumPy allocated it
(NumPy madvises arrays of 4 MB and more for transparent huge pages) and after numba allocated it
(plain malloc), 16 blocks kept (as many as the dashboard keeps re-scored frames). Prints /sys/kernel/mm/transparent_hugepage/{enabled,defrag}.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.synthetic_scored import model_facts  # noqa: E402

_TIMER = r"""
import json, statistics, sys, time
sys.path.insert(0, ".")
import pandas as pd
from geo.risk import score_basis, weighted_columns
from layers.risk_config import default_risk_config

facts = pd.read_parquet(sys.argv[1])
repeats = int(sys.argv[2])
cfg = default_risk_config()
basis = score_basis(facts, cfg)
weighted_columns(basis, cfg)  # warm-up: the kernel loaded, its threads started
kept, wall, cpu = [], [], []
for i in range(repeats):
    c = cfg.with_overrides({"weights.mercury": 0.5 + 0.05 * (i % 9), "weights.protected_area": 0.9})
    t, p = time.perf_counter(), time.process_time()
    kept.append(weighted_columns(basis, c))
    wall.append(time.perf_counter() - t)
    cpu.append(time.process_time() - p)
print(json.dumps({"wall": statistics.median(wall), "cpu": statistics.median(cpu)}))
"""

_MEMORY = r"""
import json, statistics, sys, time
import numpy as np
from numba import njit

@njit(cache=False)
def numba_block(rows, n):
    return np.empty((rows, n))

rows, n, repeats = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
numba_block(1, 1)
out = {}
for name, alloc in (("numpy", lambda: np.empty((rows, n))), ("numba", lambda: numba_block(rows, n))):
    kept, times = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        block = alloc()
        block.fill(1.0)  # the first touch of every page
        times.append(time.perf_counter() - t)
        kept.append(block)
    out[name] = statistics.median(times)
    out[name + "_max"] = max(times)
print(json.dumps(out))
"""


def _run(tree: Path, code: str, *args: str) -> dict[str, float]:
    r = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=tree, capture_output=True, text=True, check=False
    )  # fmt: skip
    if r.returncode != 0:
        raise SystemExit(f"timing in {tree} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def _thp() -> str:
    parts = []
    for knob in ("enabled", "defrag"):
        try:
            parts.append(f"{knob}: {Path('/sys/kernel/mm/transparent_hugepage', knob).read_text().strip()}")
        except OSError:
            parts.append(f"{knob}: -")
    return "; ".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", type=Path, help="checkout to compare with (interleaved)")
    parser.add_argument("--memory", action="store_true", help="also time the first touch of fresh memory")
    args = parser.parse_args()
    print(f"transparent huge pages: {_thp()}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            path = Path(tmp) / f"facts_{n}.parquet"
            model_facts(n).drop(columns="geometry").to_parquet(path)
            runs: dict[str, list[dict[str, float]]] = {"this": [], "base": []}
            for _ in range(args.rounds):
                if args.baseline is not None:
                    runs["base"].append(_run(args.baseline, _TIMER, str(path), str(args.repeats)))
                runs["this"].append(_run(ROOT, _TIMER, str(path), str(args.repeats)))
            print(f"\n{n:,} sites: weighted_columns, results kept ({args.rounds} rounds x {args.repeats} changes)")
            print("| | this tree | baseline | ratio |\n|---|---|---|---|")
            for key in ("wall", "cpu"):
                this = statistics.median(r[key] for r in runs["this"])
                if runs["base"]:
                    base = statistics.median(r[key] for r in runs["base"])
                    print(f"| {key} (ms) | {this * 1e3:,.0f} | {base * 1e3:,.0f} | {this / base:.2f} |")
                else:
                    print(f"| {key} (ms) | {this * 1e3:,.0f} | - | - |")
            if args.memory:
                rows = 14  # the re-score's float64 output columns
                # as many blocks as the dashboard keeps re-scored frames (dashboard.data._scored: 16)
                mem = [_run(ROOT, _MEMORY, str(rows), str(n), "16") for _ in range(args.rounds)]
                mb = rows * n * 8 / 1e6
                print(f"\nfirst touch of a fresh {mb:,.0f} MB block, 16 blocks kept (median; slowest):")
                for name in ("numpy", "numba"):
                    med = statistics.median(m[name] for m in mem) * 1e3
                    print(f"- allocated by {name}: {med:,.0f} ms; {max(m[name + '_max'] for m in mem) * 1e3:,.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
