"""Re-scoring speed of asm-risk-model 2.0 against a named baseline: another checkout's re-score.

The baseline is the re-score of a base commit (e.g. the 1.0 model) run from its own
worktree, on the same synthetic facts, in the same run, interleaved round by round with
this tree's re-score, each in a fresh subprocess (the two trees have the same module names):

    git worktree add --detach /tmp/risk-base <base-commit>
    .venv/bin/python benchmarks/bench_rescore.py --baseline /tmp/risk-base --rows 10000 100000

Each round, each tree: read the facts, score once (warm-up: imports, JIT, caches), then time
``--repeats`` re-scores after a weight change (the dashboard's slider case) with and without
the explanation sentence. Prints the median over rounds of each tree's median, and the ratio.
It also times ``geo.uncertainty.mercury_totals`` (the per-filter totals with Monte Carlo
bands) by country on this tree. Without ``--baseline`` only this tree is measured.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo.vocab import IUCN_SLUGS, pa_category_distance_column  # noqa: E402

COMMODITIES = ["gold", "cassiterite", "coltan", "wolframite", "diamond", "copper", "cobalt", "sand_gravel", "other"]
IUCN = ["Ia", "Ib", "II", "III", "IV", "V", "VI", "Not Reported", "Not Assigned", None]
LEGACY = ["whole_ore_amalgamation", "concentrate_amalgamation", "retort", "cyanidation", "gravity_only", "unknown"]


def make_facts(n: int, seed: int = 20261130) -> pd.DataFrame:
    """Synthetic facts with the columns of both models (1.x ``processing``; 2.0 practices and per-category PAs)."""
    rng = np.random.default_rng(seed)
    commodity = rng.choice(COMMODITIES, n, p=[0.55, 0.08, 0.08, 0.04, 0.08, 0.05, 0.04, 0.04, 0.04])

    def with_nan(x: np.ndarray, share: float = 0.05) -> np.ndarray:
        x = x.astype(float)
        x[rng.random(n) < share] = np.nan
        return x

    dist_pa = with_nan(rng.exponential(25.0, n))
    in_pa = rng.random(n) < 0.1
    dist_pa[in_pa] = 0.0
    dist_rf = with_nan(rng.exponential(30.0, n))
    in_rf = rng.random(n) < 0.2
    dist_rf[in_rf] = 0.0
    facts = pd.DataFrame(
        {
            "site_id": [f"s{i}" for i in range(n)],
            "country_iso3": rng.choice(["COD", "GHA", "PER", "IDN", "BRA"], n),
            "commodity": commodity,
            "commodities": commodity,
            "workers": with_nan(rng.lognormal(4.5, 1.2, n), 0.3),
            "gold_kg_per_yr": with_nan(rng.lognormal(1.5, 1.0, n), 0.8),
            "area_km2": np.where(rng.random(n) < 0.2, rng.lognormal(-2.0, 1.0, n), 0.0),
            "mercury_use": rng.choice(["yes", "no", "unknown"], n, p=[0.5, 0.2, 0.3]),
            "processing": rng.choice(LEGACY, n),
            "amalgamation": rng.choice(["whole_ore", "concentrate", "none", "unknown"], n),
            "retort": rng.choice(["yes", "no", "unknown"], n),
            "cyanidation": rng.choice(["yes", "no", "unknown"], n, p=[0.1, 0.6, 0.3]),
            "in_protected_area": in_pa,
            "dist_protected_area_km": dist_pa,
            "nearest_protected_area": rng.choice(["Kahuzi-Biega", "Okapi", "Bia", "Manu", "Tanjung Puting"], n),
            "nearest_protected_area_iucn": rng.choice(np.asarray(IUCN, dtype=object), n),
            "protected_areas_within_10km": rng.poisson(0.5, n),
            "in_rainforest": in_rf,
            "dist_rainforest_km": dist_rf,
            "dist_reef_km": with_nan(rng.exponential(400.0, n)),
            "in_arctic": np.zeros(n, dtype=bool),
            "dist_arctic_km": rng.uniform(1000.0, 8000.0, n),
            "dist_water_km": with_nan(rng.exponential(2.0, n)),
        }
    )
    for slug in IUCN_SLUGS:  # nearest PA of each category; most categories none within the 200 km reach
        d = rng.exponential(60.0, n)
        facts[pa_category_distance_column(slug)] = np.where(d > 200.0, np.inf, d)
    return facts


# Runs inside the tree being measured (cwd = that tree): loads its own geo.risk and config.
_TIMER = r"""
import json, statistics, sys, time
sys.path.insert(0, ".")
import pandas as pd
from geo.risk import score_sites
try:
    from layers.risk_config import default_risk_config
except ImportError:  # asm-risk-model 1.x kept the loader in geo.risk
    from geo.risk import default_risk_config
facts = pd.read_parquet(sys.argv[1])
repeats, totals = int(sys.argv[2]), sys.argv[3] == "1"
cfg = default_risk_config()
changed = cfg.with_overrides({"weights.mercury": 0.8, "weights.protected_area": 0.9})
score_sites(facts, cfg)
out = {}
for explain in (True, False):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        score_sites(facts, changed, explain=explain)
        times.append(time.perf_counter() - t0)
    out["explain" if explain else "no_explain"] = statistics.median(times)
if totals:
    from geo.uncertainty import mercury_totals
    mercury_totals(facts.iloc[:100], cfg, "country_iso3")
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        mercury_totals(facts, cfg, "country_iso3")
        times.append(time.perf_counter() - t0)
    out["totals_by_country"] = statistics.median(times)
print(json.dumps(out))
"""


def _run(tree: Path, facts_path: Path, repeats: int, totals: bool) -> dict[str, float]:
    r = subprocess.run(
        [sys.executable, "-c", _TIMER, str(facts_path), str(repeats), "1" if totals else "0"],
        cwd=tree,
        capture_output=True,
        text=True,
        check=False,
    )
    if r.returncode != 0:
        raise SystemExit(f"timing in {tree} failed:\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=5, help="timed re-scores per subprocess")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (baseline, this tree)")
    parser.add_argument("--baseline", type=Path, help="worktree of the base commit to compare with")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        for n in args.rows:
            path = Path(tmp) / f"facts_{n}.parquet"
            make_facts(n).to_parquet(path)
            runs: dict[str, list[dict[str, float]]] = {"base": [], "this": []}
            for _ in range(args.rounds):
                if args.baseline is not None:
                    runs["base"].append(_run(args.baseline, path, args.repeats, totals=False))
                runs["this"].append(_run(ROOT, path, args.repeats, totals=True))

            def med(tree: str, key: str, runs: dict = runs) -> float:
                return statistics.median(r[key] for r in runs[tree])

            print(f"rows {n:,} ({args.rounds} interleaved rounds x {args.repeats} re-scores, medians)")
            for key in ("explain", "no_explain"):
                line = f"  re-score {key:11s} this tree {med('this', key) * 1000:8.1f} ms"
                if runs["base"]:
                    line += f"   baseline {med('base', key) * 1000:8.1f} ms   ratio {med('this', key) / med('base', key):5.2f}"
                print(line)
            print(
                f"  mercury_totals by country (Monte Carlo, this tree) {med('this', 'totals_by_country') * 1000:8.1f} ms"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
