"""Re-scoring speed: geo.risk.score_sites on 100 000 synthetic facts rows.

Named baseline: ``naive_rowwise_score``, the same model written the obvious way as a
``DataFrame.apply(axis=1)`` over rows, measured in the same run on the same data.
Both are checked to give the same scores before timing.

    .venv/bin/python benchmarks/bench_rescore.py            # 100k rows, 7 repeats
    .venv/bin/python benchmarks/bench_rescore.py --rows 20000 --repeats 3

Prints the median time of each and their ratio. Target: the vectorised re-score
well under 1 s for 100k sites (it does no spatial join: the facts are precomputed).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geo.risk import (
    AMALGAMATION_PROCESSES,
    MERCURY_FREE_PROCESSES,
    SENSITIVITY_FACTORS,
    RiskConfig,
    default_risk_config,
    score_sites,
)

COMMODITIES = ["gold", "cassiterite", "coltan", "wolframite", "diamond", "copper", "cobalt", "sand_gravel", "other"]
PROCESSING = [*AMALGAMATION_PROCESSES, *MERCURY_FREE_PROCESSES, "unknown"]
IUCN = ["Ia", "Ib", "II", "III", "IV", "V", "VI", "Not Reported", "Not Assigned", None]


def make_facts(n: int, seed: int = 20261130) -> pd.DataFrame:
    """Synthetic facts with the column contract of scoring.pipeline.compute_facts (and ~5 % NaN)."""
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
    return pd.DataFrame(
        {
            "site_id": [f"s{i}" for i in range(n)],
            "country_iso3": rng.choice(["COD", "GHA", "PER", "IDN", "BRA"], n),
            "commodity": commodity,
            "commodities": commodity,
            "workers": with_nan(rng.lognormal(4.5, 1.2, n), 0.3),
            "gold_kg_per_yr": with_nan(rng.lognormal(1.5, 1.0, n), 0.8),
            "mercury_use": rng.choice(["yes", "no", "unknown"], n, p=[0.5, 0.2, 0.3]),
            "processing": rng.choice(PROCESSING, n),
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


def _decay(d: float, spec) -> float:
    if d is None or (isinstance(d, float) and math.isnan(d)):
        return 0.0
    d = max(d, 0.0)
    if d <= spec.near_km:
        return 1.0 - (1.0 - spec.near_value) * d / spec.near_km
    if d < spec.outer_km:
        return spec.near_value * (spec.outer_km - d) / (spec.outer_km - spec.near_km)
    return 0.0


def _rowwise(row: pd.Series, cfg: RiskConfig) -> float:
    """One site's risk_0_100, in plain Python (the baseline)."""
    commodity = str(row["commodity"]).lower()
    is_gold = commodity == "gold" or "gold" in str(row["commodities"]).lower()
    mu, proc = row["mercury_use"], row["processing"]
    amalg = proc in AMALGAMATION_PROCESSES
    if not is_gold or mu == "no":
        weight = 0.0
    elif mu == "yes" or amalg:
        weight = 1.0
    elif proc in MERCURY_FREE_PROCESSES:
        weight = 0.0
    else:
        weight = cfg.unknown_mercury_use_weight
    mercury_index = 0.0
    if weight > 0:
        ratio = cfg.hg_au_ratio[proc if amalg else "unknown_amalgamation"].central
        gold, workers = row["gold_kg_per_yr"], row["workers"]
        if not math.isnan(gold) and gold >= 0:
            au = gold
        elif not math.isnan(workers) and workers >= 0:
            au = workers * cfg.productivity_g_au_per_worker_yr.central / 1000.0
        else:
            au = float("nan")
        if math.isnan(au):
            mercury_index = cfg.unknown_size_index * weight
        else:
            mercury_index = min(math.log1p(au * ratio * weight) / math.log1p(cfg.mercury_saturation_kg_per_yr), 1.0)
    land = cfg.land_use.get(commodity, cfg.land_use["default"])
    w = cfg.weights
    hazard = 1.0 - (1.0 - w["mercury"] * mercury_index) * (1.0 - w["land_use"] * land)
    terms = {
        "protected_area": _decay(
            0.0 if row["in_protected_area"] else row["dist_protected_area_km"], cfg.decay["protected_area"]
        )
        * cfg.iucn_weights.get(row["nearest_protected_area_iucn"], cfg.iucn_weights["default"]),
        "rainforest": _decay(0.0 if row["in_rainforest"] else row["dist_rainforest_km"], cfg.decay["rainforest"]),
        "reef": _decay(row["dist_reef_km"], cfg.decay["reef"]),
        "arctic": _decay(0.0 if row["in_arctic"] else row["dist_arctic_km"], cfg.decay["arctic"]),
        "water": _decay(row["dist_water_km"], cfg.decay["water"]),
    }
    keep = 1.0
    for name in SENSITIVITY_FACTORS:
        keep *= 1.0 - w[name] * terms[name]
    f = cfg.background_sensitivity
    return min(max(100.0 * hazard * (f + (1.0 - f) * (1.0 - keep)), 0.0), 100.0)


def naive_rowwise_score(facts: pd.DataFrame, cfg: RiskConfig) -> pd.Series:
    """The baseline: the same score via DataFrame.apply(axis=1)."""
    return facts.apply(_rowwise, axis=1, cfg=cfg)


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--baseline-repeats", type=int, default=1, help="the row-wise baseline is slow")
    args = parser.parse_args(argv)

    cfg = default_risk_config()
    facts = make_facts(args.rows)
    reweighted = cfg.with_overrides({"weights.mercury": 0.8, "weights.protected_area": 0.9})

    fast = score_sites(facts, cfg)["risk_0_100"].to_numpy()
    check = facts.sample(n=min(2000, len(facts)), random_state=1)
    slow = naive_rowwise_score(check, cfg).to_numpy()
    np.testing.assert_allclose(fast[check.index.to_numpy()], slow, rtol=0, atol=1e-9)

    t_fast = _median_time(lambda: score_sites(facts, reweighted), args.repeats)
    t_fast_noexpl = _median_time(lambda: score_sites(facts, reweighted, explain=False), args.repeats)
    t_slow = _median_time(lambda: naive_rowwise_score(facts, reweighted), args.baseline_repeats)

    print(f"rows: {len(facts):,}  (same scores as the baseline on a 2,000-row sample, atol 1e-9)")
    print(f"score_sites, with explanations   median of {args.repeats}: {t_fast * 1000:8.1f} ms")
    print(f"score_sites, explain=False       median of {args.repeats}: {t_fast_noexpl * 1000:8.1f} ms")
    print(f"baseline DataFrame.apply(axis=1) median of {args.baseline_repeats}: {t_slow * 1000:8.1f} ms")
    print(f"speed-up vs baseline: {t_slow / t_fast:.0f}x (with explanations), {t_slow / t_fast_noexpl:.0f}x (without)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
