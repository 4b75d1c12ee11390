"""geo.risk properties, tested with hypothesis over random sites, random protected-area sets and random weights.

* moving closer to a protected area, or adding one (of any category), never lowers the score;
* more workers, more gold, a larger mined area or mercury use never lower it;
* scores stay within 0-100, are never NaN whatever facts are missing, and the contributions add up;
* the band holds the central score (low <= central <= high) and p_high_or_above is a probability;
* with no uncertainty the band collapses onto the central score;
* the score of a site does not depend on the order of the rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.risk import CONTRIB_COLUMNS, score_sites
from geo.vocab import AMALGAMATION, CYANIDATION, IUCN_SLUGS, MERCURY_USE, RETORT, WEIGHT_KEYS
from geo.vocab import pa_category_distance_column as pa_col
from layers.risk_config import default_risk_config

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CFG = default_risk_config()

nan = st.just(float("nan"))
dist = st.one_of(nan, st.floats(0.0, 5000.0, allow_nan=False))
pa_dist = st.one_of(st.just(float("inf")), st.floats(0.0, 300.0, allow_nan=False))
maybe_count = st.one_of(nan, st.floats(0.0, 1e5, allow_nan=False))

site = st.fixed_dictionaries(
    {
        "site_id": st.text("abcdef0123", min_size=1, max_size=6),
        "commodity": st.sampled_from(["gold", "coltan", "diamond", "sand_gravel", "other", "unlisted", None]),
        "commodities": st.sampled_from(["gold", "gold;silver", "coltan", "", None]),
        "workers": maybe_count,
        "gold_kg_per_yr": st.one_of(nan, st.floats(0.0, 5000.0, allow_nan=False)),
        "area_km2": st.one_of(nan, st.floats(0.0, 50.0, allow_nan=False)),
        "mercury_use": st.sampled_from([*MERCURY_USE, None]),
        "amalgamation": st.sampled_from([*AMALGAMATION, None]),
        "retort": st.sampled_from([*RETORT, None]),
        "cyanidation": st.sampled_from([*CYANIDATION, None]),
        **{pa_col(s): pa_dist for s in IUCN_SLUGS},
        "in_rainforest": st.one_of(st.booleans(), st.none()),
        "dist_rainforest_km": dist,
        "dist_reef_km": dist,
        "in_arctic": st.booleans(),
        "dist_arctic_km": dist,
        "dist_water_km": dist,
    }
)
sites = st.lists(site, min_size=1, max_size=12)

unit = st.floats(0.0, 1.0, allow_nan=False)
weights = st.fixed_dictionaries({f"weights.{f}": unit for f in WEIGHT_KEYS} | {"combine.background_sensitivity": unit})
pa_sets = st.lists(st.tuples(st.sampled_from(IUCN_SLUGS), st.floats(0.0, 200.0, allow_nan=False)), max_size=6)


def frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows)


def _score(df: pd.DataFrame, cfg=CFG, col: str = "risk_0_100") -> np.ndarray:
    return score_sites(df, cfg, explain=False)[col].to_numpy()


def _never_lower(after: np.ndarray, before: np.ndarray) -> bool:
    """after >= before everywhere; a range not estimated (NaN: a mercury user of unknown size) stays so."""
    both_nan = np.isnan(after) & np.isnan(before)
    return bool(np.all(both_nan | (after >= before - 1e-9)))


def _with_pas(df: pd.DataFrame, pas: list[tuple[str, float]]) -> pd.DataFrame:
    """The same sites with protected areas added: each (category, distance) lowers that category's distance."""
    out = df.copy()
    for slug, d in pas:
        out[pa_col(slug)] = np.minimum(out[pa_col(slug)].to_numpy(dtype=float), d)
    return out


@SETTINGS
@given(rows=sites, w=weights)
def test_bounded_not_nan_contributions_sum_and_band(rows, w):
    cfg = CFG.with_overrides(w)
    out = score_sites(frame(rows), cfg)
    risk = out["risk_0_100"].to_numpy()
    assert np.all(np.isfinite(risk)) and np.all((risk >= 0.0) & (risk <= 100.0))
    contrib = out[list(CONTRIB_COLUMNS)].to_numpy()
    assert np.all(np.isfinite(contrib)) and np.all(contrib >= -1e-12)
    np.testing.assert_allclose(contrib.sum(axis=1), risk, rtol=0, atol=1e-9)
    # a mercury user of unknown size has no estimated range and no chance of high (NaN); everyone else has both
    unknown = out["hg_kg_per_yr_high"].isna().to_numpy()
    for col in ("risk_0_100_low", "risk_0_100_high", "p_high_or_above"):
        assert np.array_equal(out[col].isna().to_numpy(), unknown), col
    known = ~unknown
    assert np.all(out["risk_0_100_low"].to_numpy()[known] <= risk[known] + 1e-9)
    assert np.all(risk[known] <= out["risk_0_100_high"].to_numpy()[known] + 1e-9)
    p = out["p_high_or_above"].to_numpy()
    assert np.all((p[known] >= 0) & (p[known] <= 1))
    # a site whose whole band is high is surely high; one whose band is below it is not
    assert np.all(p[out["risk_0_100_low"].to_numpy() >= cfg.class_thresholds[1]] >= 0.95 - 1e-9)
    assert np.all(p[out["risk_0_100_high"].to_numpy() < cfg.class_thresholds[1]] <= 0.05 + 1e-9)
    assert out["risk_class"].notna().all() and out["risk_explanation"].notna().all()


@SETTINGS
@given(rows=sites, pas=pa_sets, w=weights)
def test_adding_protected_areas_never_lowers_risk(rows, pas, w):
    cfg = CFG.with_overrides(w)
    before = frame(rows)
    after = _with_pas(before, pas)
    for col in ("risk_0_100", "risk_0_100_low", "risk_0_100_high", "p_high_or_above"):
        assert _never_lower(_score(after, cfg, col), _score(before, cfg, col)), col


@SETTINGS
@given(rows=sites, shrink=st.lists(unit, min_size=12, max_size=12), w=weights)
def test_moving_closer_to_protected_areas_never_lowers_risk(rows, shrink, w):
    cfg = CFG.with_overrides(w)
    far = frame(rows)
    near = far.copy()
    factor = np.asarray(shrink[: len(far)])
    for s in IUCN_SLUGS:
        d = far[pa_col(s)].to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):  # inf x 0: none within reach stays so
            near[pa_col(s)] = np.where(np.isinf(d), d, d * factor)
    assert np.all(_score(near, cfg) >= _score(far, cfg) - 1e-9)


@SETTINGS
@given(rows=sites, grow=st.lists(st.floats(1.0, 100.0), min_size=12, max_size=12), w=weights)
def test_a_larger_site_never_scores_lower(rows, grow, w):
    cfg = CFG.with_overrides(w)
    small = frame(rows)
    g = np.asarray(grow[: len(small)])
    big = small.assign(
        workers=small["workers"] * g, gold_kg_per_yr=small["gold_kg_per_yr"] * g, area_km2=small["area_km2"] * g
    )
    for col in ("risk_0_100", "risk_0_100_low", "risk_0_100_high", "p_high_or_above"):
        assert _never_lower(_score(big, cfg, col), _score(small, cfg, col)), col


@SETTINGS
@given(rows=sites, w=weights)
def test_mercury_use_never_lowers_risk(rows, w):
    cfg = CFG.with_overrides(w)
    base = frame(rows)
    with_hg = _score(base.assign(mercury_use="yes"), cfg)
    unknown = _score(base.assign(mercury_use="unknown"), cfg)
    without = _score(base.assign(mercury_use="no"), cfg)
    assert np.all(with_hg >= unknown - 1e-9) and np.all(unknown >= without - 1e-9)


@SETTINGS
@given(rows=sites)
def test_no_uncertainty_collapses_the_band(rows):
    exact = CFG.with_overrides(
        {
            "mercury.productivity_g_au_per_worker_yr.uncertainty_factor": 1.0,
            "mercury.production_uncertainty_factor": 1.0,
            **{f"mercury.hg_au_ratio.{k}.uncertainty_factor": 1.0 for k in ("whole_ore", "concentrate", "unknown")},
            "footprint.ha_per_worker.uncertainty_factor": 1.0,
            "mercury.unknown_use.probability": 1.0,
        }
    )
    out = score_sites(frame(rows), exact, explain=False)
    out = out[out["hg_kg_per_yr_high"].notna()]  # a user of unknown size has no range at all (tested apart)
    np.testing.assert_allclose(out["hg_kg_per_yr_low"], out["hg_kg_per_yr"], rtol=1e-12)
    np.testing.assert_allclose(out["hg_kg_per_yr_high"], out["hg_kg_per_yr"], rtol=1e-12)
    np.testing.assert_allclose(out["risk_0_100_low"], out["risk_0_100"], atol=1e-9)
    np.testing.assert_allclose(out["risk_0_100_high"], out["risk_0_100"], atol=1e-9)
    expected = (out["risk_0_100"].to_numpy() >= exact.class_thresholds[1] - 1e-9).astype(float)
    np.testing.assert_array_equal(out["p_high_or_above"].to_numpy(), expected)


@SETTINGS
@given(rows=sites, seed=st.integers(0, 2**32 - 1))
def test_score_invariant_to_row_order(rows, seed):
    df = frame(rows)
    order = np.random.default_rng(seed).permutation(len(df))
    a = score_sites(df, CFG)
    b = score_sites(df.iloc[order], CFG).loc[df.index]
    for col in ("risk_0_100", "risk_0_100_low", "risk_0_100_high", "p_high_or_above", "hg_kg_per_yr"):
        np.testing.assert_array_equal(a[col].to_numpy(), b[col].to_numpy())
    assert a["risk_explanation"].tolist() == b["risk_explanation"].tolist()
    assert a["receptors_assessed"].astype(str).tolist() == b["receptors_assessed"].astype(str).tolist()
