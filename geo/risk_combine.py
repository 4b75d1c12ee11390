"""The weighted part of a risk score, in one pass over the sites (numba).

``geo.risk.score_sites`` splits a score into what the weights do not change (the mercury
release and its quantiles, the land-use index, each receptor's decay term: ``ScoreBasis``)
and what they do: the probabilistic ORs of the weighted terms, the Shapley contributions,
the score at the median release and at its 5th / 95th percentiles, the class, and
``p_high_or_above`` (solved from the score at a mercury index of 0 and 1 and the boundary
index between). That second part is all a weight change costs, so it is one fused loop
here instead of some sixty whole-array NumPy passes, writing the output columns and no
whole-length temporary; its parallel twin (``geo._kernels.twins``) runs it on large inputs.
What it leaves to NumPy is the one step with a special function: the probability that a
release drawn from its distribution exceeds the boundary (scipy's ``ndtr``), for the sites
that need it.

The loop performs the very operations of the NumPy formulas in ``docs/risk-model.md``
(same operands, same order, IEEE arithmetic: no fastmath, no fused multiply-add), so its
results are bitwise those of the NumPy expressions; ``tests/geo/test_risk_combine.py``
checks that against a NumPy transcription, exactly, for both builds.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from geo._kernels.twins import twins


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
    """Risk (0-1) at mercury index ``m``: ``1 - (1 - g m)(1 - K (1 - (1 - w_hg min(1, mu m))(1 - h0)))``."""
    hazard = 1.0 - (1.0 - w_hg * _min1(mu * m)) * (1.0 - h0)
    return 1.0 - (1.0 - g * m) * (1.0 - k * hazard)


@njit(inline="always")
def _m_at(threshold: float, k: float, h0: float, w_hg: float, mu: float, g: float) -> float:
    """The boundary index of one site: the smallest mercury index whose risk reaches ``threshold``.

    risk(m) = 1 - (1 - g m) F(m) with F(m) = a - b m while mu m <= 1 (a = 1 - K h0,
    b = K (1 - h0) w_hg mu) and F = c2 beyond; (1 - g m) F(m) = 1 - threshold is a quadratic in m,
    solved in the cancellation-free form 2c / (B + sqrt(B^2 - 4Ac)). The whole-array NumPy formula's
    operations in its order (``np.maximum`` keeps a NaN; a division by 0 gives inf or NaN as NumPy's does).
    """
    y = 1.0 - threshold
    a = 1.0 - k * h0
    b = k * (1.0 - h0) * w_hg * mu
    big_b = g * a + b
    c = a - y
    disc = big_b * big_b - 4.0 * g * b * c
    if disc < 0.0:  # np.maximum(disc, 0.0): a NaN (never < 0) is kept, -0.0 too
        disc = 0.0
    root = 2.0 * c / (big_b + np.sqrt(disc))
    if root * mu <= 1.0:
        return root
    c2 = a - b / mu  # F once the local index is capped at 1
    return (1.0 - y / c2) / g


@njit(inline="always")
def _clip01(x: float) -> float:
    """``np.clip(x, 0.0, 1.0)`` for a number (NaN propagates; the sign of a zero is never read)."""
    if x != x:
        return x
    return min(max(x, 0.0), 1.0)


@twins(scale=(2, 1), error_model="numpy")  # parallel from 200k sites: below, threads do not pay
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
    size_unknown: np.ndarray,
    p_use: np.ndarray,
    point: np.ndarray,
    m_point: np.ndarray,
    assessed_mask: np.ndarray,
    needed: int,
    thresholds: np.ndarray,
    threshold_high: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``out`` (rows: see :func:`out_rows`), ``risk_class`` (int8 codes), ``complete`` and ``exceed``, per site.

    ``terms`` is (receptors, sites): each receptor's decay term before weighting; ``w_receptor``
    their weights in the same order. P(high or above) (``threshold_high``, 0-1) is final for every
    site but those marked in ``exceed``: their class depends on a release drawn from its
    distribution, and their ``p_high_or_above`` slot holds the boundary mercury index, for
    ``geo.mercury.index_exceedance`` to turn into the probability (NumPy: scipy's ``ndtr``).
    """
    n_rec, n = terms.shape
    f = background
    r = 5 + n_rec
    # allocated here, not by NumPy: a re-score's outputs are fresh memory every time (the dashboard keeps
    # the frames), and NumPy asks for transparent huge pages (madvise) on arrays this large, which on
    # the default kernel setting (defrag=madvise) makes each first touch wait for memory compaction once
    # free memory is fragmented: 2-3x the whole kernel at 1M sites (docs/performance.md). numba's
    # allocator is plain malloc: 4 KiB pages, faulted in by the threads that write them.
    out = np.empty((r + 4, n))
    risk_class = np.empty(n, dtype=np.int8)
    complete = np.empty(n, dtype=np.bool_)
    exceed = np.empty(n, dtype=np.bool_)
    for i in prange(n):
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
        out[r, i] = risk
        go_on = False
        if size_unknown[i]:
            # a mercury user of unknown size: its range and chance of high are not estimated
            out[r + 1, i] = np.nan
            out[r + 2, i] = np.nan
            out[r + 3, i] = np.nan
        else:
            out[r + 1, i] = _clip100(100.0 * _risk_of_m(m_low[i], k, h0, w_hg, mu[i], g))
            out[r + 2, i] = _clip100(100.0 * _risk_of_m(m_high[i], k, h0, w_hg, mu[i], g))
            # P(risk >= threshold): the risk is monotone in the mercury index alone, so only a site with
            # risk(0) < threshold <= risk(1) has an answer other than 0 or 1
            r0 = _risk_of_m(0.0, k, h0, w_hg, mu[i], g)
            r1 = _risk_of_m(1.0, k, h0, w_hg, mu[i], g)
            p = 1.0 if r0 >= threshold_high else 0.0
            if r0 < threshold_high and r1 >= threshold_high:
                if point[i]:
                    # one index when mercury is used: decided at that value, no rounding at the boundary
                    hit = _risk_of_m(m_point[i], k, h0, w_hg, mu[i], g) >= threshold_high
                    p = p_use[i] * (1.0 if hit else 0.0)
                else:
                    p = _clip01(_m_at(threshold_high, k, h0, w_hg, mu[i], g))
                    go_on = True
            out[r + 3, i] = p
        exceed[i] = go_on
        code = 0
        if risk != risk:  # np.searchsorted puts NaN after every threshold
            code = thresholds.shape[0]
        else:
            for t in range(thresholds.shape[0]):
                if risk >= thresholds[t]:
                    code = t + 1
        risk_class[i] = code
        complete[i] = (assessed_mask[i] & needed) == needed
    return out, risk_class, complete, exceed


def out_rows(n_receptors: int) -> tuple[str, ...]:
    """The rows of the kernel's ``out`` array, by name (contributions in ``geo.vocab.CONTRIB_COLUMNS`` order)."""
    return (
        "hazard_index", "sensitivity_index", "contrib_mercury", "contrib_land_use", "contrib_mercury_air",
        *(f"contrib_receptor_{j}" for j in range(n_receptors)),
        "risk_0_100", "risk_0_100_low", "risk_0_100_high", "p_high_or_above",
    )  # fmt: skip
