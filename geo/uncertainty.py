"""Monte Carlo of mercury totals over groups of sites (countries, commodities, any filter).

A site's release is lognormal given that it uses mercury (``geo.mercury``); part of its
log-variance is *shared*: the world mean productivity and the mean loss ratio of each
amalgamation type are unknown once for all sites, so within one draw every site sees the
same value. The rest (a site's own productivity, practice, reporting) is drawn independently
per site, as is whether a site of uncertain practice uses mercury (with a world-level
probability drawn once per draw from a Beta). The air share of each method is scaled by one
world-level draw. A group total is the sum of its sites' draws, draw by draw, so its
percentiles account for the shared parts (totals of 100 sites are not 100 times as certain as
one site) and for the independent parts (nor are they as uncertain as 100 worst cases).

Site-level draws come from a counter-based hash of (seed, site key, draw), so a site gets the
same draws whatever the row order, the subset or the Dask partition it is summed in; the
site key is a hash of ``site_id`` (the row position when there is none).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numba
import numpy as np
import pandas as pd
from numba import njit, prange
from scipy.special import ndtri

from geo.mercury import SiteMercury, site_mercury
from geo.risk_config import RATIO_KEYS, Z95, RiskConfig

#: standard-normal quantiles at the midpoints of 2**16 equal-probability bins: a site-level normal
#: draw is one of these, picked by 16 bits of the hash (bins of 1/65536 probability)
NORMAL_TABLE = ndtri((np.arange(1 << 16, dtype=np.float64) + 0.5) / float(1 << 16))

#: percentiles reported for totals
PERCENTILES = (5.0, 50.0, 95.0)


@njit(cache=True, inline="always")
def _mix64(x: np.uint64) -> np.uint64:
    """SplitMix64 finaliser (Steele, Lea & Flood 2014): a bijective 64-bit hash."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@njit(parallel=True, fastmath=True, cache=True)
def _totals_kernel(
    key: np.ndarray,
    median: np.ndarray,
    spread_class: np.ndarray,
    shares_productivity: np.ndarray,
    ratio_type: np.ndarray,
    uncertain: np.ndarray,
    air_median: np.ndarray,
    group: np.ndarray,
    n_groups: int,
    world_productivity: np.ndarray,
    world_ratio: np.ndarray,
    p_use: np.ndarray,
    air_mult: np.ndarray,
    site_factor: np.ndarray,
    seed: np.uint64,
    n_threads: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Per draw and group: sum of ``median x world factors x site factor`` over the sites that use mercury.

    Sites are split into one contiguous chunk per thread (each thread adds into its own
    accumulators, summed at the end); within a chunk the caller sorts the sites by
    ``spread_class`` so that the row of ``site_factor`` in use stays in cache. A site's draws
    are one pass over contiguous rows (the accumulators are group x draw), without a branch: a
    draw in which the site uses no mercury adds exactly 0.0, so the sums are those of adding only
    the draws that use it, in the same order (the loop vectorises; ~2x fewer cycles a draw).
    """
    n_draws = world_productivity.shape[0]
    n = key.shape[0]
    hg = np.zeros((n_threads, n_groups, n_draws))
    air = np.zeros((n_threads, n_groups, n_draws))
    streams = np.empty(n_draws, np.uint64)
    for k in range(n_draws):
        streams[k] = _mix64(seed ^ (np.uint64(k) * np.uint64(0x9E3779B97F4A7C15)))
    no_productivity = np.ones(n_draws)  # x 1.0 is exact: a site without the shared productivity term
    chunk = (n + n_threads - 1) // n_threads
    for t in prange(n_threads):
        for s in range(t * chunk, min(n, (t + 1) * chunk)):
            ks, med, a_med = key[s], median[s], air_median[s]
            hg_row, air_row = hg[t, group[s]], air[t, group[s]]
            factor, ratio = site_factor[spread_class[s]], world_ratio[ratio_type[s]]
            productivity = world_productivity if shares_productivity[s] else no_productivity
            if uncertain[s]:
                for k in range(n_draws):
                    h = _mix64(ks ^ streams[k])
                    v = med * factor[np.int64(h & np.uint64(0xFFFF))] * ratio[k] * productivity[k]
                    v = v if float(h >> np.uint64(40)) * (1.0 / 16777216.0) < p_use[k] else 0.0
                    hg_row[k] += v
                    air_row[k] += v * min(1.0, a_med * air_mult[k])
            else:
                for k in range(n_draws):
                    h = _mix64(ks ^ streams[k])
                    v = med * factor[np.int64(h & np.uint64(0xFFFF))] * ratio[k] * productivity[k]
                    hg_row[k] += v
                    air_row[k] += v * min(1.0, a_med * air_mult[k])
    return hg.sum(axis=0).T.copy(), air.sum(axis=0).T.copy()


def site_keys(frame: pd.DataFrame) -> np.ndarray:
    """uint64 key of each row: a hash of ``site_id`` (stable across runs), else of the row position."""
    if "site_id" in frame.columns:
        values = frame["site_id"].astype("string").fillna("").to_numpy(dtype=object)
        return pd.util.hash_array(values, categorize=False)
    return pd.util.hash_array(np.arange(len(frame), dtype=np.int64))


def world_draws(cfg: RiskConfig) -> dict[str, np.ndarray]:
    """World-level draws shared by every site: productivity and loss-ratio multipliers, use probability, air scale."""
    rng = np.random.default_rng(cfg.seed)
    n = cfg.n_draws
    z_prod = rng.standard_normal(n)
    z_ratio = rng.standard_normal((3, n))
    p, conc = cfg.unknown_use_probability, cfg.unknown_use_concentration
    if 0.0 < p < 1.0:
        p_use = rng.beta(p * conc, (1.0 - p) * conc, n)
    else:
        rng.standard_normal(n)  # keep the stream aligned whatever p is
        p_use = np.full(n, p)
    air_mult = np.exp(math.log(cfg.air_fraction_uncertainty_factor) / Z95 * rng.standard_normal(n))
    productivity = np.exp(cfg.productivity_g_au_per_worker_yr.sigma_shared * z_prod)
    ratio = np.exp(np.array([[cfg.hg_au_ratio[k].sigma_shared] for k in RATIO_KEYS]) * z_ratio)
    return {"productivity": productivity, "ratio": ratio, "p_use": p_use, "air_mult": air_mult}


class DrawInputs(NamedTuple):
    """What the Monte Carlo reads of each site (arrays of one length, one entry a row).

    Row by row (:func:`draw_inputs`), so the inputs of a subset of rows are those rows' entries
    (:meth:`take`): a caller that draws totals for many subsets of one frame computes them once.
    """

    key: np.ndarray  # uint64: the site key that seeds its draws (site_keys)
    p_use: np.ndarray  # float64 probability that the site releases mercury
    log_median: np.ndarray  # float64 ln(kg Hg/yr) median release if used (NaN: size unknown or none)
    sigma_site: np.ndarray  # float64 the site-level log-sd
    shares_productivity: np.ndarray  # bool: the world productivity draw applies
    ratio_type: np.ndarray  # int8 index into RATIO_KEYS (-1: no mercury)
    air_median: np.ndarray  # float64 median share of the release emitted to air

    def take(self, rows: np.ndarray) -> DrawInputs:
        """The inputs of ``rows`` (positions), in their order."""
        return DrawInputs(*(a[rows] for a in self))


def draw_inputs(frame: pd.DataFrame, cfg: RiskConfig, sm: SiteMercury | None = None) -> DrawInputs:
    """The Monte Carlo inputs of every row of ``frame`` (``sm``: its ``site_mercury``, when computed already)."""
    sm = site_mercury(frame, cfg) if sm is None else sm
    return DrawInputs(
        site_keys(frame), sm.p_use, sm.log_median, sm.sigma_site, sm.coef_productivity > 0, sm.ratio_type,
        sm.air_median,
    )  # fmt: skip


def _draws(d: DrawInputs, cfg: RiskConfig, group: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    take = (d.p_use > 0) & np.isfinite(d.log_median) & (group >= 0)
    w = world_draws(cfg)
    idx = np.flatnonzero(take)
    # the site-level log-sd takes a few values (size basis x amalgamation type): one row of exp(sd x z) each
    spreads, spread_class = np.unique(np.round(d.sigma_site[idx], 12), return_inverse=True)
    order = idx[np.argsort(spread_class, kind="stable")]
    spread_class = np.sort(spread_class, kind="stable")
    return _totals_kernel(
        d.key[order],
        np.exp(d.log_median[order]),
        spread_class.astype(np.int64),
        d.shares_productivity[order],
        d.ratio_type[order].astype(np.int64),
        d.p_use[order] < 1.0,
        d.air_median[order],
        group[order],
        int(n_groups),
        w["productivity"],
        w["ratio"],
        w["p_use"],
        w["air_mult"],
        np.exp(spreads[:, None] * NORMAL_TABLE[None, :]) if len(spreads) else np.ones((1, 1)),
        np.uint64(cfg.seed),
        numba.get_num_threads(),
    )


def total_draws(
    frame: pd.DataFrame, cfg: RiskConfig, group: np.ndarray | None = None, n_groups: int = 1
) -> tuple[np.ndarray, np.ndarray, SiteMercury]:
    """Monte Carlo draws of each group's mercury release and air emission, kg/yr.

    Parameters
    ----------
    frame : DataFrame
        Sites (the site columns of a facts or scored frame).
    cfg : RiskConfig
        ``n_draws`` and ``seed`` are in ``cfg`` ([uncertainty]).
    group : int array, optional
        Group code of each row (0 .. n_groups-1; -1 leaves a row out). Default: one group.

    Returns
    -------
    hg, air : float64 arrays (n_draws, n_groups), kg/yr. Sites of unknown size add nothing.
    sm : the sites' :class:`geo.mercury.SiteMercury`.
    """
    sm = site_mercury(frame, cfg)
    group = np.zeros(len(frame), dtype=np.int64) if group is None else np.asarray(group, dtype=np.int64)
    hg, air = _draws(draw_inputs(frame, cfg, sm), cfg, group, n_groups)
    return hg, air, sm


def mercury_totals(
    frame: pd.DataFrame,
    cfg: RiskConfig,
    by: str | Sequence[str] | None = None,
    *,
    group: np.ndarray | None = None,
    n_groups: int | None = None,
    inputs: DrawInputs | None = None,
) -> pd.DataFrame:
    """Mercury totals with 90 % bands, for the whole frame or per group (any subset of sites).

    Parameters
    ----------
    frame : DataFrame
        Sites, e.g. a filtered view of :func:`geo.risk.score_sites` output.
    cfg : RiskConfig
        The configuration the sites were scored with.
    by : column name(s), optional
        Group keys (missing values form their own group); None gives one row for all sites.
    group, n_groups : optional
        Group codes computed by the caller (0 .. n_groups-1, e.g. ``groupby(...).ngroup()``)
        instead of ``by``; the result then has no key columns, one row per code.
    inputs : DrawInputs, optional
        The rows' Monte Carlo inputs when the caller holds them (e.g. ``draw_inputs`` of a larger frame,
        taken at these rows); default: computed from ``frame``. The totals are the same either way.

    Returns
    -------
    DataFrame, one row per group (sorted by the keys): ``n_sites``, ``n_hg_unknown_size``
    (mercury users whose size is unknown: not in the totals), ``hg_kg_per_yr_low``,
    ``hg_kg_per_yr``, ``hg_kg_per_yr_high`` (p5 / p50 / p95 of the group total, kg/yr) and the
    same for ``hg_kg_per_yr_air``. Percentiles of sums of draws, so the p95 of a total is at most
    the sum of its sites' p95 (with equality only if every site were fully correlated).
    """
    keys = [] if by is None else ([by] if isinstance(by, str) else list(by))
    if group is not None:
        codes = np.asarray(group, dtype=np.int64)
        n = int(n_groups if n_groups is not None else codes.max(initial=-1) + 1)
        out = pd.DataFrame({"n_sites": np.bincount(codes[codes >= 0], minlength=n).astype(np.int64)})
    elif keys:
        grouped = frame.groupby(keys, dropna=False, observed=True, sort=True)
        codes = grouped.ngroup().to_numpy(dtype=np.int64)
        out = grouped.size().rename("n_sites").reset_index()
    else:
        codes = np.zeros(len(frame), dtype=np.int64)
        out = pd.DataFrame({"n_sites": [len(frame)]})
    if inputs is None:
        inputs = draw_inputs(frame, cfg)
    elif len(inputs.key) != len(frame):
        raise ValueError(f"inputs for {len(inputs.key):,} rows given for a frame of {len(frame):,}: take its rows")
    hg, air = _draws(inputs, cfg, codes, len(out))
    unknown = (inputs.p_use > 0) & np.isnan(inputs.log_median) & (codes >= 0)
    out["n_hg_unknown_size"] = np.bincount(codes[unknown], minlength=len(out)).astype(np.int64)
    for name, draws in (("hg_kg_per_yr", hg), ("hg_kg_per_yr_air", air)):
        low, mid, high = np.percentile(draws, PERCENTILES, axis=0)
        out[f"{name}_low"], out[name], out[f"{name}_high"] = low, mid, high
    return out
