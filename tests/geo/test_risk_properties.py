"""geo.risk properties, tested with hypothesis over random sites and random weights.

* moving a site closer to a protected area never lowers its risk;
* adding mercury use never lowers it;
* scores stay within 0-100 and are never NaN, whatever facts are missing;
* the contrib_* columns sum to the score;
* the score of a site does not depend on the order of the rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.risk import CONTRIB_COLUMNS, FACTORS, default_risk_config, score_sites

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

nan = st.just(float("nan"))
dist = st.one_of(nan, st.floats(0.0, 5000.0, allow_nan=False))
maybe_count = st.one_of(nan, st.floats(0.0, 1e5, allow_nan=False))

site = st.fixed_dictionaries(
    {
        "commodity": st.sampled_from(["gold", "coltan", "diamond", "sand_gravel", "other", "unlisted", None]),
        "commodities": st.sampled_from(["gold", "gold;silver", "coltan", "", None]),
        "workers": maybe_count,
        "gold_kg_per_yr": st.one_of(nan, st.floats(0.0, 5000.0, allow_nan=False)),
        "mercury_use": st.sampled_from(["yes", "no", "unknown", None]),
        "processing": st.sampled_from(
            [
                "whole_ore_amalgamation",
                "concentrate_amalgamation",
                "retort",
                "cyanidation",
                "gravity_only",
                "unknown",
                None,
            ]
        ),
        "in_protected_area": st.one_of(st.booleans(), st.none()),
        "dist_protected_area_km": dist,
        "nearest_protected_area": st.sampled_from(["Okapi", "", None]),
        "nearest_protected_area_iucn": st.sampled_from(["Ia", "II", "IV", "VI", "Not Reported", "bogus", None]),
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
weights = st.fixed_dictionaries({f"weights.{f}": unit for f in FACTORS} | {"combine.background_sensitivity": unit})


def frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows)


def _score(df: pd.DataFrame, cfg=None) -> np.ndarray:
    return score_sites(df, cfg or default_risk_config(), explain=False)["risk_0_100"].to_numpy()


@SETTINGS
@given(rows=sites, w=weights)
def test_bounded_not_nan_and_contributions_sum(rows, w):
    cfg = default_risk_config().with_overrides(w)
    out = score_sites(frame(rows), cfg)
    risk = out["risk_0_100"].to_numpy()
    assert np.all(np.isfinite(risk))
    assert np.all((risk >= 0.0) & (risk <= 100.0))
    contrib = out[list(CONTRIB_COLUMNS)].to_numpy()
    assert np.all(np.isfinite(contrib)) and np.all(contrib >= 0.0)
    np.testing.assert_allclose(contrib.sum(axis=1), risk, rtol=0, atol=1e-9)
    assert out["risk_class"].notna().all()
    assert out["risk_explanation"].notna().all()


@SETTINGS
@given(rows=sites, shrink=st.lists(unit, min_size=12, max_size=12), w=weights)
def test_moving_closer_to_a_protected_area_never_lowers_risk(rows, shrink, w):
    cfg = default_risk_config().with_overrides(w)
    far = frame(rows)
    near = far.copy()
    near["dist_protected_area_km"] = far["dist_protected_area_km"] * np.asarray(shrink[: len(far)])
    assert np.all(_score(near, cfg) >= _score(far, cfg) - 1e-9)
    inside = far.assign(in_protected_area=True, dist_protected_area_km=0.0)
    assert np.all(_score(inside, cfg) >= _score(far, cfg) - 1e-9)


@SETTINGS
@given(rows=sites, w=weights)
def test_adding_mercury_use_never_lowers_risk(rows, w):
    cfg = default_risk_config().with_overrides(w)
    base = frame(rows)
    with_hg = _score(base.assign(mercury_use="yes"), cfg)
    without = _score(base.assign(mercury_use="no"), cfg)
    original = _score(base, cfg)
    assert np.all(with_hg >= original - 1e-9)
    assert np.all(original >= without - 1e-9)


@SETTINGS
@given(rows=sites, seed=st.integers(0, 2**32 - 1))
def test_score_invariant_to_row_order(rows, seed):
    df = frame(rows)
    order = np.random.default_rng(seed).permutation(len(df))
    shuffled = df.iloc[order]
    a = score_sites(df, explain=True)
    b = score_sites(shuffled, explain=True).loc[df.index]
    np.testing.assert_array_equal(a["risk_0_100"].to_numpy(), b["risk_0_100"].to_numpy())
    assert a["risk_explanation"].tolist() == b["risk_explanation"].tolist()
    assert a["missing_factors"].astype(str).tolist() == b["missing_factors"].astype(str).tolist()
