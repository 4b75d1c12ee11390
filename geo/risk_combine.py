"""The weighted part of a risk score, in one pass over the sites (numba).

``geo.risk.score_sites`` splits a score into what the weights do not change (the mercury
release and its quantiles, the land-use index, each receptor's decay term: ``ScoreBasis``)
and what they do: the probabilistic ORs of the weighted terms, the Shapley contributions,
the score at the median release and at its 5th / 95th percentiles, the class, and the
score at a mercury index of 0 and 1 (from which ``p_high_or_above`` is solved). That
second part is all a weight change costs, so it is one fused loop here instead of some
sixty whole-array NumPy passes.

The loop performs the very operations of the NumPy formulas in ``docs/risk-model.md``
(same operands, same order, IEEE arithmetic: no fastmath, no fused multiply-add), so its
results are bitwise those of the NumPy expressions; ``tests/geo/test_risk_combine.py``
checks that against a NumPy transcription, exactly.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(inline="always")
def _min1(x: float) -> float:
    """``np.minimum(1.0, x)`` (NaN propagates as in NumPy)."""
    return 1.0 if x >= 1.0 else x


@njit(inline="always")
def _clip100(x: float) -> float:
    """``np.clip(x, 0.0, 100.0)`` for a number."""
    if x != x:
        return x
    return min(max(x, 0.0), 100.0)


@njit(inline="always")
def _risk_of_m(m: float, k: float, h0: float, w_hg: float, mu: float, g: float) -> float:
    """``geo.risk._risk_of_m`` for one site: risk (0-1) at mercury index ``m``."""
    hazard = 1.0 - (1.0 - w_hg * _min1(mu * m)) * (1.0 - h0)
    return 1.0 - (1.0 - g * m) * (1.0 - k * hazard)


@njit(cache=True, error_model="numpy")
def weighted_kernel(
    terms: np.ndarray,
    w_receptor: np.ndarray,
    background: float,
    w_hg: float,
    w_lu: float,
    w_air: float,
    land_use_index: np.ndarray,
    mu: np.ndarray,
    air_median: np.ndarray,
    m_low: np.ndarray,
    m_mid: np.ndarray,
    m_high: np.ndarray,
    thresholds: np.ndarray,
    out: np.ndarray,
    risk_class: np.ndarray,
) -> None:
    """Fill ``out`` (rows: see ``OUT_ROWS``) and ``risk_class`` (int8 codes) for every site.

    ``terms`` is (receptors, sites): each receptor's decay term before weighting; ``w_receptor``
    their weights in the same order.
    """
    n_rec, n = terms.shape
    f = background
    for i in range(n):
        # sensitivity S: probabilistic OR of the weighted receptor terms, and each one's share of it
        prod = 1.0
        s = 0.0
        for j in range(n_rec):
            x = w_receptor[j] * terms[j, i]
            prod = (1.0 - x) if j == 0 else prod * (1.0 - x)
            s = x if j == 0 else s + x
        total = 1.0 - prod
        scale = total / s if s > 0 else 0.0
        sens = total
        k = f + (1.0 - f) * sens
        # hazard H: OR of the weighted local mercury index and land-use index
        h0 = w_lu * land_use_index[i]
        x_hg = w_hg * _min1(mu[i] * m_mid[i])
        h_total = 1.0 - (1.0 - x_hg) * (1.0 - h0)
        h_sum = x_hg + h0
        h_scale = h_total / h_sum if h_sum > 0 else 0.0
        hazard = h_total
        local = hazard * k
        g = w_air * air_median[i]
        glob = g * m_mid[i]
        local_share = 100.0 * (1.0 - glob / 2.0)
        global_share = 100.0 * glob * (1.0 - local / 2.0)
        hazard_scale = local_share * (f + (1.0 - f) * sens / 2.0)
        sens_scale = local_share * (1.0 - f) * hazard / 2.0
        risk = _clip100(100.0 * (1.0 - (1.0 - glob) * (1.0 - local)))
        out[0, i] = hazard
        out[1, i] = sens
        out[2, i] = x_hg * h_scale * hazard_scale
        out[3, i] = h0 * h_scale * hazard_scale
        out[4, i] = global_share
        for j in range(n_rec):
            out[5 + j, i] = w_receptor[j] * terms[j, i] * scale * sens_scale
        r = 5 + n_rec
        out[r, i] = risk
        out[r + 1, i] = _clip100(100.0 * _risk_of_m(m_low[i], k, h0, w_hg, mu[i], g))
        out[r + 2, i] = _clip100(100.0 * _risk_of_m(m_high[i], k, h0, w_hg, mu[i], g))
        out[r + 3, i] = _risk_of_m(0.0, k, h0, w_hg, mu[i], g)
        out[r + 4, i] = _risk_of_m(1.0, k, h0, w_hg, mu[i], g)
        code = 0
        if risk != risk:  # np.searchsorted puts NaN after every threshold
            code = thresholds.shape[0]
        else:
            for t in range(thresholds.shape[0]):
                if risk >= thresholds[t]:
                    code = t + 1
        risk_class[i] = code


@njit(cache=True, error_model="numpy")
def m_at_kernel(
    threshold: float,
    k: np.ndarray,
    h0: np.ndarray,
    w_hg: float,
    mu: np.ndarray,
    g: np.ndarray,
    out: np.ndarray,
) -> None:
    """``geo.risk._m_at`` site by site: the smallest mercury index whose risk reaches ``threshold``.

    The NumPy formula's operations in its order (``np.maximum`` keeps a NaN; a division by 0 gives
    inf or NaN as NumPy's does), so the results are bitwise those of the whole-array expression.
    """
    y = 1.0 - threshold
    for i in range(k.shape[0]):
        a = 1.0 - k[i] * h0[i]
        b = k[i] * (1.0 - h0[i]) * w_hg * mu[i]
        big_b = g[i] * a + b
        c = a - y
        disc = big_b * big_b - 4.0 * g[i] * b * c
        if disc < 0.0:  # np.maximum(disc, 0.0): a NaN (never < 0) is kept, -0.0 too
            disc = 0.0
        root = 2.0 * c / (big_b + np.sqrt(disc))
        if root * mu[i] <= 1.0:
            out[i] = root
        else:
            c2 = a - b / mu[i]  # F once the local index is capped at 1
            out[i] = (1.0 - y / c2) / g[i]


def out_rows(n_receptors: int) -> tuple[str, ...]:
    """The rows of the kernel's ``out`` array, by name (contributions in ``geo.vocab.CONTRIB_COLUMNS`` order)."""
    return (
        "hazard_index", "sensitivity_index", "contrib_mercury", "contrib_land_use", "contrib_mercury_air",
        *(f"contrib_receptor_{j}" for j in range(n_receptors)),
        "risk_0_100", "risk_0_100_low", "risk_0_100_high", "risk_at_m0", "risk_at_m1",
    )  # fmt: skip
