"""geo.uncertainty: the Monte Carlo of group totals (shared world draws, independent site draws)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import ndtri

from geo.mercury import release_quantile, site_mercury
from geo.uncertainty import NORMAL_TABLE, mercury_totals, site_keys, total_draws
from layers.risk_config import default_risk_config

CFG = default_risk_config()
ZERO_VARIANCE = CFG.with_overrides(
    {
        "mercury.productivity_g_au_per_worker_yr.uncertainty_factor": 1.0,
        "mercury.production_uncertainty_factor": 1.0,
        **{f"mercury.hg_au_ratio.{k}.uncertainty_factor": 1.0 for k in ("whole_ore", "concentrate", "unknown")},
        "mercury.air_fraction_uncertainty_factor": 1.0,
        "footprint.ha_per_worker.uncertainty_factor": 1.0,
        "mercury.unknown_use.probability": 1.0,
    }
)


def country_sites(n_per_country: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = []
    for iso in ("COD", "GHA", "PER"):
        for i in range(n_per_country):
            rows.append(
                {
                    "site_id": f"{iso}-{i}",
                    "country_iso3": iso,
                    "commodity": "gold",
                    "commodities": "gold",
                    "workers": float(rng.integers(5, 3000)),
                    "gold_kg_per_yr": np.nan if i % 4 else float(rng.uniform(0.5, 50.0)),
                    "mercury_use": ("yes", "unknown", "no")[i % 3],
                    "amalgamation": ("whole_ore", "concentrate", "unknown")[i % 3],
                    "retort": "yes" if i % 7 == 0 else "no",
                }
            )
    rows.append({"site_id": "size-unknown", "country_iso3": "COD", "commodity": "gold", "mercury_use": "yes"})
    return pd.DataFrame(rows)


def site_percentiles(frame: pd.DataFrame, cfg=CFG) -> pd.DataFrame:
    sm = site_mercury(frame, cfg)
    return pd.DataFrame({q: release_quantile(sm, q / 100) for q in (5, 50, 95)}, index=frame.index)


def test_zero_variance_totals_are_the_deterministic_sums():
    sites = country_sites()
    totals = mercury_totals(sites, ZERO_VARIANCE, "country_iso3").set_index("country_iso3")
    exact = site_percentiles(sites, ZERO_VARIANCE)[50].groupby(sites["country_iso3"]).sum()
    for col in ("hg_kg_per_yr_low", "hg_kg_per_yr", "hg_kg_per_yr_high"):
        np.testing.assert_allclose(totals[col], exact, rtol=1e-9)
    assert totals.loc["COD", "n_hg_unknown_size"] == 1 and totals.loc["GHA", "n_hg_unknown_size"] == 0


def test_a_country_total_is_narrower_than_the_sum_of_site_percentiles():
    sites = country_sites()
    totals = mercury_totals(sites, CFG, "country_iso3").set_index("country_iso3")
    per_site = site_percentiles(sites).groupby(sites["country_iso3"]).sum()
    for iso in ("COD", "GHA", "PER"):
        assert totals.loc[iso, "hg_kg_per_yr_high"] < per_site.loc[iso, 95]  # not every site high at once
        assert totals.loc[iso, "hg_kg_per_yr_low"] > per_site.loc[iso, 5]
        low, mid, high = totals.loc[iso, ["hg_kg_per_yr_low", "hg_kg_per_yr", "hg_kg_per_yr_high"]]
        assert 0 < low < mid < high
        air = totals.loc[iso, ["hg_kg_per_yr_air_low", "hg_kg_per_yr_air", "hg_kg_per_yr_air_high"]].to_numpy()
        assert 0 < air[0] < air[1] < air[2] and air[1] < mid


def test_one_site_draws_follow_its_exact_percentiles():
    one = pd.DataFrame(
        [{"site_id": "x", "commodity": "gold", "workers": 400.0, "mercury_use": "unknown", "amalgamation": "unknown"}]
    )
    cfg = CFG.with_overrides({"uncertainty.n_draws": 20_000})
    hg, _, _ = total_draws(one, cfg)
    exact = site_percentiles(one, cfg).iloc[0]
    draws = hg[:, 0]
    p_use = 0.8
    assert (draws == 0).mean() == pytest.approx(1 - p_use, abs=0.02)  # the world use probability averages to 0.8
    for q in (50, 95):
        # the empirical quantile's own sampling error at n = 20,000 is about 2 % of the level here
        assert np.percentile(draws, q) == pytest.approx(exact[q], rel=0.08)


def test_draws_belong_to_sites_not_to_rows_subsets_or_order():
    sites = country_sites(20)
    cfg = CFG.with_overrides({"uncertainty.n_draws": 200})
    whole, _, _ = total_draws(sites, cfg)
    codes = (sites["country_iso3"] == "GHA").to_numpy().astype(np.int64)
    split, _, _ = total_draws(sites, cfg, codes, 2)
    np.testing.assert_allclose(split.sum(axis=1), whole[:, 0], rtol=1e-12)  # totals add up draw by draw
    gha, _, _ = total_draws(sites[sites["country_iso3"] == "GHA"], cfg)
    np.testing.assert_allclose(gha[:, 0], split[:, 1], rtol=1e-12)  # a subset alone sees the same draws
    shuffled, _, _ = total_draws(sites.sample(frac=1.0, random_state=5), cfg)
    np.testing.assert_allclose(shuffled[:, 0], whole[:, 0], rtol=1e-12)
    other_seed, _, _ = total_draws(sites, cfg.with_overrides({"uncertainty.seed": 1}))
    assert not np.allclose(other_seed[:, 0], whole[:, 0])


def test_world_draws_are_shared_site_draws_are_not():
    """Two identical sites: their draws differ (site level) but move together with the world draws."""
    twins = pd.DataFrame(
        [
            {"site_id": s, "commodity": "gold", "workers": 100.0, "mercury_use": "yes", "amalgamation": "whole_ore"}
            for s in ("a", "b")
        ]
    )
    cfg = CFG.with_overrides({"uncertainty.n_draws": 4000})
    hg, _, _ = total_draws(twins, cfg, np.array([0, 1]), 2)
    assert not np.allclose(hg[:, 0], hg[:, 1])
    corr = np.corrcoef(np.log(hg[:, 0]), np.log(hg[:, 1]))[0, 1]
    prod, ratio = CFG.productivity_g_au_per_worker_yr, CFG.hg_au_ratio["whole_ore"]
    expected = (prod.sigma_shared**2 + ratio.sigma_shared**2) / (prod.sigma**2 + ratio.sigma**2)
    assert corr == pytest.approx(expected, abs=0.05)


def test_site_keys_and_normal_table():
    a = site_keys(pd.DataFrame({"site_id": ["x", "y", "x"]}))
    assert a[0] == a[2] != a[1] and a.dtype == np.uint64
    assert len(NORMAL_TABLE) == 65536 and NORMAL_TABLE.mean() == pytest.approx(0.0, abs=1e-12)
    assert NORMAL_TABLE.std() == pytest.approx(1.0, abs=1e-3) and NORMAL_TABLE[-1] == pytest.approx(
        ndtri(1 - 0.5 / 65536)
    )


def test_one_total_for_all_sites_and_empty_frames():
    sites = country_sites(10)
    one = mercury_totals(sites, CFG)
    assert len(one) == 1 and one["n_sites"].iloc[0] == len(sites)
    empty = mercury_totals(sites.iloc[:0], CFG, "country_iso3")
    assert len(empty) == 0
    none = mercury_totals(sites.iloc[:0], CFG)
    assert none["hg_kg_per_yr"].iloc[0] == 0.0


def _mix64(x: np.ndarray) -> np.ndarray:
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _reference_totals(args: tuple, n_threads: int) -> tuple[np.ndarray, np.ndarray]:
    """The kernel's sums written out in NumPy, site by site in the kernel's order (each thread's chunk)."""
    key, med, cls, prod, rtype, unc, a_med, group, n_groups, wp, wr, p_use, air_mult, factor, seed = args
    n_draws, n = len(wp), len(key)
    streams = _mix64(seed ^ (np.arange(n_draws, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)))
    hg, air = np.zeros((n_threads, n_draws, n_groups)), np.zeros((n_threads, n_draws, n_groups))
    chunk = -(-n // n_threads)
    for t in range(n_threads):
        for s in range(t * chunk, min(n, (t + 1) * chunk)):
            h = _mix64(key[s] ^ streams)
            v = med[s] * factor[cls[s], (h & np.uint64(0xFFFF)).astype(np.int64)] * wr[rtype[s]]
            if prod[s]:
                v = v * wp
            used = ~unc[s] | ((h >> np.uint64(40)).astype(np.float64) * (1.0 / 16777216.0) < p_use)
            hg[t, used, group[s]] += v[used]
            air[t, used, group[s]] += v[used] * np.minimum(1.0, a_med[s] * air_mult[used])
    return hg.sum(axis=0), air.sum(axis=0)


@pytest.mark.parametrize("n_threads", [1, 3])
def test_the_kernel_adds_exactly_the_documented_draws(n_threads):
    """Bitwise the sums of each site's draws that use mercury, added in site order (any loop layout must keep it)."""
    from geo.uncertainty import _totals_kernel

    rng = np.random.default_rng(8)
    n, n_groups, n_draws = 257, 5, 400
    args = (
        rng.integers(0, 2**63, n).astype(np.uint64), rng.lognormal(0.0, 1.0, n),
        np.sort(rng.integers(0, 3, n)).astype(np.int64), rng.random(n) < 0.5, rng.integers(0, 3, n).astype(np.int64),
        rng.random(n) < 0.4, rng.random(n), rng.integers(0, n_groups, n).astype(np.int64), n_groups,
        rng.lognormal(0.0, 0.3, n_draws), rng.lognormal(0.0, 0.3, (3, n_draws)), rng.random(n_draws),
        rng.lognormal(0.0, 0.2, n_draws), np.exp(rng.standard_normal((3, 1 << 16))), np.uint64(42),
    )  # fmt: skip
    hg, air = _totals_kernel(*args, n_threads)
    ref_hg, ref_air = _reference_totals(args, n_threads)
    assert hg.shape == (n_draws, n_groups)
    np.testing.assert_array_equal(hg, ref_hg)
    np.testing.assert_allclose(air, ref_air, rtol=1e-14)  # x * y + z may be one fused multiply-add there
