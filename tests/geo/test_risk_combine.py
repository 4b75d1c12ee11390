"""The cached re-score (geo.risk.score_basis + weighted_columns, the numba kernel of geo.risk_combine).

A weight change recombines what no weight changes; these tests hold it to the model's NumPy
formulas bitwise, and to a fresh ``score_sites`` exactly, for weights, classes and the background
sensitivity, and check that any other change of the configuration rebuilds what it must.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import pytest

from benchmarks.synthetic_scored import model_facts
from geo._kernels import twins
from geo.mercury import (
    compute_footprint_ha,
    index_exceedance,
    index_quantile,
    mercury_index,
    release_quantile,
    site_mercury,
)
from geo.risk import (
    CONTRIB_COLUMNS,
    RISK_CLASSES,
    WEIGHTED_COLUMNS,
    compute_land_use_index,
    compute_sensitivity_terms,
    score_basis,
    score_sites,
    weighted_columns,
)
from geo.risk_combine import weighted_kernel
from geo.vocab import RECEPTORS
from layers.risk_config import default_risk_config

CFG = default_risk_config()


@pytest.fixture(scope="module")
def facts() -> pd.DataFrame:
    """Synthetic facts of every kind (NaNs, per-category PAs, cyanidation) plus hand-made edge rows."""
    f = model_facts(4000, seed=7)
    edge = f.iloc[:6].copy()
    edge.index = [f"edge{i}" for i in range(6)]
    edge["site_id"] = list(edge.index)
    edge.loc["edge0", ["workers", "gold_kg_per_yr", "area_km2"]] = [np.nan, np.nan, np.nan]  # size unknown
    edge.loc["edge1", "workers"] = 1e9  # saturated release and footprint
    edge.loc["edge2", ["workers", "gold_kg_per_yr", "area_km2"]] = [0.0, np.nan, 0.0]
    edge.loc["edge3", ["mercury_use", "cyanidation", "amalgamation"]] = ["yes", "yes", "whole_ore"]
    edge.loc["edge4", "commodity"] = None
    edge.loc["edge5", ["dist_rainforest_km", "dist_reef_km", "dist_water_km"]] = [np.nan, np.nan, np.nan]
    out = pd.concat([f, edge])
    out.attrs = dict(f.attrs)
    return out


def _por(xs: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Probabilistic OR and proportional shares: the model's NumPy formulas (docs/risk-model.md)."""
    total = 1.0 - np.prod([1.0 - x for x in xs], axis=0)
    s = np.sum(xs, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(s > 0, total / s, 0.0)
    return total, [x * scale for x in xs]


class _Parts(NamedTuple):
    """Everything but the mercury index, per site: risk(m) = 1 - (1 - g m)(1 - K (1 - (1 - w_hg min(1, mu m))(1 - h0)))."""

    K: np.ndarray  # f + (1 - f) S
    h0: np.ndarray  # w_land_use x land-use index
    w_hg: float
    mu: np.ndarray  # cyanidation factor (1 without)
    g: np.ndarray  # w_mercury_air x air share


def _risk_of_m(m: np.ndarray, p: _Parts) -> np.ndarray:
    """Risk (0-1) for mercury index ``m``: the model's formula as whole-array NumPy."""
    hazard = 1.0 - (1.0 - p.w_hg * np.minimum(1.0, p.mu * m)) * (1.0 - p.h0)
    return 1.0 - (1.0 - p.g * m) * (1.0 - p.K * hazard)


def _m_at(threshold: float, p) -> np.ndarray:
    """The boundary index as whole-array NumPy (the model's formula before its numba pass)."""
    y = 1.0 - threshold
    a = 1.0 - p.K * p.h0
    b = p.K * (1.0 - p.h0) * p.w_hg * p.mu
    big_b = p.g * a + b
    c = a - y
    root = 2.0 * c / (big_b + np.sqrt(np.maximum(big_b * big_b - 4.0 * p.g * b * c, 0.0)))
    c2 = a - b / p.mu
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        beyond = (1.0 - y / c2) / p.g
    return np.where(root * p.mu <= 1.0, root, beyond)


def reference_weighted(facts: pd.DataFrame, cfg) -> dict[str, np.ndarray]:
    """The weighted columns as whole-array NumPy, transcribed from the model before the kernel."""
    w, f = cfg.weights, cfg.background_sensitivity
    sm = site_mercury(facts, cfg)
    footprint = compute_footprint_ha(facts, cfg)
    lu = compute_land_use_index(facts, cfg, footprint)
    terms, assessed, _ = compute_sensitivity_terms(facts, cfg)
    S, b = _por([w[r] * terms[r] for r in RECEPTORS])
    K = f + (1.0 - f) * S
    mu = np.where(sm.cyanide, cfg.cyanidation_index_factor, 1.0)
    parts = _Parts(K, w["land_use"] * lu, w["mercury"], mu, w["mercury_air"] * sm.air_median)
    m_low, m_mid, m_high = (
        np.where(np.isnan(hg), cfg.unknown_size_index, np.nan_to_num(mercury_index(hg, cfg)))
        for hg in (release_quantile(sm, q) for q in (0.05, 0.5, 0.95))
    )
    H, (a_hg, a_lu) = _por([w["mercury"] * np.minimum(1.0, mu * m_mid), parts.h0])
    L, G = H * K, parts.g * m_mid
    local_share, global_share = 100.0 * (1.0 - G / 2.0), 100.0 * G * (1.0 - L / 2.0)
    hazard_scale = local_share * (f + (1.0 - f) * S / 2.0)
    sens_scale = local_share * (1.0 - f) * H / 2.0
    out = {"hazard_index": H, "sensitivity_index": S}
    out |= {"contrib_mercury": a_hg * hazard_scale, "contrib_land_use": a_lu * hazard_scale}
    out["contrib_mercury_air"] = global_share
    out |= {f"contrib_{r}": bj * sens_scale for r, bj in zip(RECEPTORS, b, strict=True)}
    risk = np.clip(100.0 * (1.0 - (1.0 - G) * (1.0 - L)), 0.0, 100.0)
    out["risk_0_100"] = risk
    size_unknown = np.isnan(release_quantile(sm, 0.95))
    out["risk_0_100_low"] = np.where(size_unknown, np.nan, np.clip(100.0 * _risk_of_m(m_low, parts), 0.0, 100.0))
    out["risk_0_100_high"] = np.where(size_unknown, np.nan, np.clip(100.0 * _risk_of_m(m_high, parts), 0.0, 100.0))
    # P(high or above), solved for every site at once
    threshold = cfg.class_thresholds[1] / 100.0 - 1e-12
    r0, r1 = _risk_of_m(np.zeros(len(K)), parts), _risk_of_m(np.ones(len(K)), parts)
    p = np.where(r0 >= threshold, 1.0, 0.0)
    active = np.flatnonzero((r0 < threshold) & (r1 >= threshold))
    sub = _Parts(K[active], parts.h0[active], parts.w_hg, mu[active], parts.g[active])
    sub_sm = type(sm)(*(x[active] for x in sm))
    pa = index_exceedance(sub_sm, np.clip(_m_at(threshold, sub), 0.0, 1.0), cfg)
    point = (sub_sm.sigma == 0) | ~np.isfinite(sub_sm.log_median)
    m_used = index_quantile(sub_sm, 1.0 - 1e-12, cfg)
    p[active] = np.where(point, sub_sm.p_use * (_risk_of_m(m_used, sub) >= threshold), pa)
    out["p_high_or_above"] = np.where(size_unknown, np.nan, p)
    # how many sites take each way to P(high or above): certain (0 or 1), one index (point), a drawn release
    known = ~size_unknown
    out["branches"] = {
        "size unknown": int(size_unknown.sum()),
        "1: high at any release": int((known & (r0 >= threshold)).sum()),
        "0: never high": int((known & ~(r0 >= threshold) & ~np.isin(np.arange(len(K)), active)).sum()),
        "point": int((known[active] & point).sum()),
        "drawn release": int((known[active] & ~point).sum()),
    }
    out["risk_class"] = np.searchsorted(np.asarray(cfg.class_thresholds), risk, side="right")
    needed = [r for r in RECEPTORS if w[r] > 0]
    out["score_complete"] = np.logical_and.reduce([assessed[r] for r in needed]) if needed else np.ones(len(K), bool)
    return out


WEIGHT_CHANGES = [
    {},
    {"weights.mercury": 0.35, "weights.protected_area": 0.9},
    {"weights.mercury_air": 0.0, "weights.land_use": 0.0},
    {f"weights.{r}": 0.0 for r in RECEPTORS},  # no receptor: every share's denominator is 0
    {"weights.mercury": 0.0, "weights.land_use": 0.0, "weights.mercury_air": 0.0},
    {"weights.water": 0.0, "weights.reef": 1.0, "weights.arctic": 1.0},  # fewer receptors needed for 'complete'
    {"combine.background_sensitivity": 0.0},
    {"combine.background_sensitivity": 1.0},
    {"classes.moderate": 10.0, "classes.high": 30.0, "classes.very_high": 60.0},
    {"classes.high": 90.0, "classes.very_high": 95.0},
]


@pytest.mark.parametrize("build", ["serial", "parallel"])
@pytest.mark.parametrize("change", WEIGHT_CHANGES, ids=lambda c: ",".join(c) or "defaults")
def test_the_kernel_equals_the_numpy_formulas_bitwise(facts, change, build, monkeypatch):
    monkeypatch.setattr(twins, "PARALLEL_MIN", 1 if build == "parallel" else 10**12)
    assert weighted_kernel.for_work(len(facts)) is getattr(weighted_kernel, build)
    cfg = CFG.with_overrides(change)
    got = weighted_columns(score_basis(facts, cfg), cfg)
    want = reference_weighted(facts, cfg)
    assert list(got) == list(WEIGHTED_COLUMNS)
    for col in WEIGHTED_COLUMNS:
        g = got[col].codes if col == "risk_class" else got[col]
        np.testing.assert_array_equal(g, want[col], err_msg=col, strict=False)
    if not change:  # the facts take every way to P(high or above), so each is compared above
        assert min(want["branches"].values()) >= 5, want["branches"]
    # and the documented identity still holds: the contributions add up to the score
    total = np.sum([got[c] for c in CONTRIB_COLUMNS], axis=0)
    np.testing.assert_allclose(total, got["risk_0_100"], rtol=0, atol=1e-9)


def _assert_same_score(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert a.attrs == b.attrs


@pytest.mark.parametrize("change", WEIGHT_CHANGES[1:], ids=lambda c: ",".join(c))
def test_a_cached_rescore_equals_score_sites_exactly(facts, change):
    basis = score_basis(facts, CFG)  # built once under the defaults, as the dashboard does
    cfg = CFG.with_overrides(change)
    cached = score_sites(facts, cfg, explain=False, basis=basis)
    _assert_same_score(cached, score_sites(facts, cfg, explain=False))
    with_sentences = score_sites(facts, cfg, basis=basis)
    _assert_same_score(with_sentences, score_sites(facts, cfg))
    assert basis.hazard is score_basis(facts, cfg, reuse=basis).hazard  # nothing rebuilt for a weight change


def test_a_decay_change_rebuilds_the_receptor_half_only(facts):
    basis = score_basis(facts, CFG)
    cfg = CFG.with_overrides({"decay.protected_area.outer_km": 120.0, "weights.reef": 0.2})
    with pytest.raises(ValueError, match="build it again with score_basis"):
        weighted_columns(basis, cfg)
    rebuilt = score_basis(facts, cfg, reuse=basis)
    assert rebuilt.hazard is basis.hazard
    assert rebuilt.receptors is not basis.receptors
    _assert_same_score(score_sites(facts, cfg, basis=basis), score_sites(facts, cfg))


@pytest.mark.parametrize(
    "change",
    [
        {"mercury.saturation_kg_per_yr": 300.0},
        {"mercury.unknown_size_index": 0.6},
        {"mercury.cyanidation_index_factor": 1.0},
        {"mercury.hg_au_ratio.whole_ore.median": 2.0},
        {"mercury.unknown_use.probability": 0.9},
        {"footprint.saturation_ha": 50.0},
        {"footprint.ha_per_worker.median": 0.5},
        {"land_use.gold": 0.2},
        {"iucn_weights.II": 0.3, "iucn_weights.default": 0.1},
        {"decay.water.near_km": 0.1, "decay.water.outer_km": 1.0},
    ],
    ids=lambda c: ",".join(c),
)
def test_any_other_change_of_the_configuration_is_never_served_from_a_stale_basis(facts, change):
    basis = score_basis(facts, CFG)
    cfg = CFG.with_overrides(change)
    fresh = score_sites(facts, cfg, explain=False)
    assert not fresh["risk_0_100"].equals(score_sites(facts, CFG, explain=False)["risk_0_100"])  # it matters
    with pytest.raises(ValueError, match="another mercury, footprint, land-use, decay or IUCN configuration"):
        weighted_columns(basis, cfg)
    _assert_same_score(score_sites(facts, cfg, explain=False, basis=basis), fresh)


def test_a_basis_of_other_facts_is_refused(facts):
    basis = score_basis(facts, CFG)
    with pytest.raises(ValueError, match="built on other facts"):
        score_sites(facts.iloc[:-1], CFG, basis=basis)
    with pytest.raises(ValueError, match="built on other facts"):
        score_sites(facts.set_axis([f"x{i}" for i in range(len(facts))]), CFG, basis=basis)


def test_classes_come_from_the_recombination(facts):
    cfg = CFG.with_overrides({"classes.moderate": 1.0, "classes.high": 2.0, "classes.very_high": 3.0})
    got = weighted_columns(score_basis(facts, CFG), cfg)
    assert list(got["risk_class"].categories) == list(RISK_CLASSES)
    np.testing.assert_array_equal(np.asarray(got["risk_class"] == "very high"), got["risk_0_100"] >= 3.0)
