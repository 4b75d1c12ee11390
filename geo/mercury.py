"""Mercury and land-use hazard of each site, with the distribution of its mercury release.

Pure NumPy on the site columns of a facts frame (``commodity``, ``commodities``, ``workers``,
``gold_kg_per_yr``, ``area_km2``, ``mercury_use``, ``amalgamation``, ``retort``,
``cyanidation``; any may be absent or NaN). The model is in ``docs/risk-model.md`` section 3.

A mercury-using site releases ``gold x loss ratio`` kg Hg/yr, where the gold comes from the
reported production, from workers x productivity, or from the mined area (area / hectares per
worker x productivity), and the loss ratio from the amalgamation type (less with a retort).
Each factor is lognormal (``geo.risk_config.Spread``), so the release of a site that uses
mercury is lognormal too, with log-median ``log_median`` and log-sd ``sigma``; a site whose
mercury use is uncertain uses it with probability ``p_use``. Per-site percentiles are exact
quantiles of that mixture; ``geo.uncertainty`` draws the same distributions jointly (with the
world-level parts shared between sites) for group totals.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.special import ndtr, ndtri

from geo.risk_config import RATIO_KEYS, RiskConfig
from geo.vocab import AMALGAMATION, CYANIDATION, HG_BASES, LEGACY_PROCESSING_MAP, MERCURY_USE, RETORT, SIZE_BASES

# codes of the site vocabularies (positions in geo.vocab tuples; -1 = absent or not in the vocabulary)
_WHOLE_ORE, _CONCENTRATE, _NONE, _UNKNOWN = (
    AMALGAMATION.index(a) for a in ("whole_ore", "concentrate", "none", "unknown")
)
_PRODUCTION, _WORKERS, _AREA, _UNKNOWN_SIZE = range(len(SIZE_BASES))
_BASIS_NOT_GOLD, _BASIS_USE_NO, _BASIS_NO_AMALGAMATION = range(3)
_BASIS_SIZE0 = 3  # + size basis; + len(SIZE_BASES) more when use is uncertain


class SiteMercury(NamedTuple):
    """Per-site mercury parameters (arrays of one length; see the module docstring)."""

    is_gold: np.ndarray  # bool
    size_basis: np.ndarray  # int8 index into SIZE_BASES
    ratio_type: np.ndarray  # int8 index into RATIO_KEYS (-1: no mercury)
    retort: np.ndarray  # bool: a retort is used
    cyanide: np.ndarray  # bool: cyanidation of mercury-bearing material (Annex C)
    p_use: np.ndarray  # float64 probability that the site releases mercury
    gold_median: np.ndarray  # float64 kg Au/yr (median; NaN when size unknown or not gold)
    log_median: np.ndarray  # float64 ln(kg Hg/yr) median release if mercury is used (NaN: size unknown)
    sigma: np.ndarray  # float64 total log-sd of the release if used
    sigma_site: np.ndarray  # float64 the site-level part of it
    coef_productivity: np.ndarray  # float64 weight of the world productivity draw (log-space)
    coef_ratio: np.ndarray  # float64 weight of the world loss-ratio draw of the site's type
    air_median: np.ndarray  # float64 median share of the release emitted to air
    basis_code: np.ndarray  # int8 index into HG_BASES


# --------------------------------------------------------------------------- column helpers
def float_col(facts: pd.DataFrame, col: str) -> np.ndarray:
    """A numeric column as float64 (NaN for absent columns and unparseable values)."""
    if col not in facts.columns:
        return np.full(len(facts), np.nan)
    return pd.to_numeric(facts[col], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def bool_col(facts: pd.DataFrame, col: str | None) -> np.ndarray:
    """A boolean column (False for absent columns and missing values)."""
    if col is None or col not in facts.columns:
        return np.zeros(len(facts), dtype=bool)
    s = facts[col]
    if s.dtype == bool:
        return s.to_numpy()
    return s.fillna(False).astype(bool).to_numpy()


def arrow_str(values: pd.Series | np.ndarray, fill: str) -> pa.Array:
    """Strings as an Arrow array (nulls replaced by ``fill``) for vectorised joins."""
    arr = pa.array(values, from_pandas=True)
    if not pa.types.is_string(arr.type):
        arr = pc.cast(arr, pa.string())
    return pc.fill_null(arr, fill)


def codes(facts: pd.DataFrame, col: str, categories: tuple[str, ...] | list[str]) -> np.ndarray:
    """Position of each value in ``categories`` (-1 for absent, missing or unknown values); Arrow kernel."""
    if col not in facts.columns:
        return np.full(len(facts), -1, dtype=np.int64)
    arr = pa.array(facts[col], from_pandas=True)
    if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
        arr = pc.cast(arr, pa.string())
    idx = pc.index_in(arr, value_set=pa.array(list(categories), arr.type))
    return pc.fill_null(idx, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def lookup(codes_: np.ndarray, table, keys, default: float) -> np.ndarray:
    """``table[keys[code]]`` per row; code -1 (or a key missing from the table) gives ``default``."""
    values = np.asarray([table.get(k, default) for k in keys] + [default], dtype=np.float64)
    return values[codes_]


def processing_codes(facts: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Codes of ``amalgamation`` (AMALGAMATION), ``retort`` and ``cyanidation`` (yes/no/unknown).

    A frame of asm-risk-model 1.x with only a ``processing`` column is read through
    ``geo.vocab.LEGACY_PROCESSING_MAP``; columns absent in both forms are unknown.
    """
    n = len(facts)
    legacy = None
    if "processing" in facts.columns and not {"amalgamation", "retort", "cyanidation"} & set(facts.columns):
        keys = list(LEGACY_PROCESSING_MAP)
        legacy = codes(facts, "processing", keys)
        legacy = np.where(legacy < 0, keys.index("unknown"), legacy)
    out = []
    for pos, (col, vocab) in enumerate(
        (("amalgamation", AMALGAMATION), ("retort", RETORT), ("cyanidation", CYANIDATION))
    ):
        unknown = vocab.index("unknown")
        if col in facts.columns:
            c = codes(facts, col, vocab)
        elif legacy is not None:
            mapped = np.asarray([vocab.index(LEGACY_PROCESSING_MAP[k][pos]) for k in LEGACY_PROCESSING_MAP])
            c = mapped[legacy]
        else:
            c = np.full(n, unknown, dtype=np.int64)
        out.append(np.where(c < 0, unknown, c))
    return out[0], out[1], out[2]


def is_gold_site(facts: pd.DataFrame) -> np.ndarray:
    """Primary commodity gold, or gold among the listed commodities."""
    gold = codes(facts, "commodity", ("gold",)) == 0
    if "commodities" in facts.columns:
        listed = pc.match_substring(arrow_str(facts["commodities"], ""), "gold", ignore_case=True)
        gold |= listed.to_numpy(zero_copy_only=False)
    return gold


# --------------------------------------------------------------------------- parameters
def site_mercury(facts: pd.DataFrame, cfg: RiskConfig) -> SiteMercury:
    """The mercury-release distribution of every site (vectorised; see the module docstring)."""
    n = len(facts)
    is_gold = is_gold_site(facts)
    use = codes(facts, "mercury_use", MERCURY_USE)
    amalg, retort_code, cyan_code = processing_codes(facts)
    use_yes, use_no = use == MERCURY_USE.index("yes"), use == MERCURY_USE.index("no")
    retort = retort_code == RETORT.index("yes")
    # mercury_use = yes contradicts "no amalgamation": the type is then unknown (the loader notes it)
    amalg = np.where((amalg == _NONE) & use_yes, _UNKNOWN, amalg)
    certain = use_yes | (amalg == _WHOLE_ORE) | (amalg == _CONCENTRATE) | retort
    releases = is_gold & ~use_no & (amalg != _NONE)
    p_use = np.where(releases, np.where(certain, 1.0, cfg.unknown_use_probability), 0.0)

    # size: reported production, else workers, else mined area (polygon sites)
    gold_rep = float_col(facts, "gold_kg_per_yr")
    workers = float_col(facts, "workers")
    area_ha = float_col(facts, "area_km2") * 100.0
    has_prod = np.isfinite(gold_rep) & (gold_rep >= 0)
    has_workers = ~has_prod & np.isfinite(workers) & (workers >= 0)
    has_area = ~has_prod & ~has_workers & np.isfinite(area_ha) & (area_ha > 0)
    size_basis = np.select([has_prod, has_workers, has_area], [_PRODUCTION, _WORKERS, _AREA], _UNKNOWN_SIZE)

    prod, hpw = cfg.productivity_g_au_per_worker_yr, cfg.footprint_ha_per_worker
    with np.errstate(divide="ignore", invalid="ignore"):
        workers_equiv = np.where(has_workers, workers, area_ha / hpw.median)
        gold_median = np.where(has_prod, gold_rep, workers_equiv * prod.median / 1000.0)
    gold_median = np.where(is_gold & (size_basis != _UNKNOWN_SIZE), gold_median, np.nan)

    ratio_type = np.where(amalg == _WHOLE_ORE, 0, np.where(amalg == _CONCENTRATE, 1, 2)).astype(np.int8)
    ratio_type = np.where(releases, ratio_type, -1).astype(np.int8)
    ratio_median = np.zeros(n)
    ratio_sigma, ratio_shared = np.zeros(n), np.zeros(n)
    air = np.zeros(n)
    for t, key in enumerate(RATIO_KEYS):
        spread = cfg.hg_au_ratio[key]
        for has_retort in (False, True):
            m = (ratio_type == t) & (retort == has_retort)
            ratio_median[m] = cfg.loss_ratio(key, has_retort)
            air[m] = cfg.air_fraction(key, has_retort)
        m = ratio_type == t
        ratio_sigma[m], ratio_shared[m] = spread.sigma_site, spread.sigma_shared

    sig_rep = math.log(cfg.production_uncertainty_factor) / 1.6448536269514722
    uses_prod = (size_basis == _WORKERS) | (size_basis == _AREA)
    site_var = ratio_sigma**2 + np.where(uses_prod, prod.sigma_site**2, 0.0)
    site_var += np.where(size_basis == _PRODUCTION, sig_rep**2, 0.0) + np.where(size_basis == _AREA, hpw.sigma**2, 0.0)
    coef_prod = np.where(uses_prod, prod.sigma_shared, 0.0)
    sigma = np.sqrt(site_var + coef_prod**2 + ratio_shared**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_median = np.log(gold_median * ratio_median)  # -inf for zero production: a release of 0
    log_median = np.where(releases, log_median, np.nan)

    uncertain = releases & ~certain
    basis = np.select(
        [~is_gold, use_no, ~releases],
        [_BASIS_NOT_GOLD, _BASIS_USE_NO, _BASIS_NO_AMALGAMATION],
        _BASIS_SIZE0 + size_basis + np.where(uncertain, len(SIZE_BASES), 0),
    )
    return SiteMercury(
        is_gold=is_gold,
        size_basis=size_basis.astype(np.int8),
        ratio_type=ratio_type,
        retort=retort & releases,
        cyanide=(cyan_code == CYANIDATION.index("yes")) & releases,
        p_use=p_use,
        gold_median=gold_median,
        log_median=log_median,
        sigma=np.where(releases, sigma, 0.0),
        sigma_site=np.where(releases, np.sqrt(site_var), 0.0),
        coef_productivity=np.where(releases, coef_prod, 0.0),
        coef_ratio=np.where(releases, ratio_shared, 0.0),
        air_median=np.where(releases, air, 0.0),
        basis_code=basis.astype(np.int8),
    )


# --------------------------------------------------------------------------- distributions
def release_quantile(sm: SiteMercury, q: float) -> np.ndarray:
    """The ``q``-quantile of each site's release, kg Hg/yr (NaN for a mercury user of unknown size)."""
    uncertain = (sm.p_use > 0) & (sm.p_use < 1)
    z = np.full(len(sm.p_use), float(ndtri(q)))
    qc = np.where(sm.p_use > 0, q, -1.0)
    if uncertain.any():  # only sites of uncertain use need their own level within the 'used' branch
        qc[uncertain] = (q - (1.0 - sm.p_use[uncertain])) / sm.p_use[uncertain]
        z[uncertain] = ndtri(np.clip(qc[uncertain], 1e-300, 1.0 - 1e-16))
    with np.errstate(invalid="ignore", over="ignore"):
        used = np.exp(sm.log_median + sm.sigma * z)
    return np.where(qc > 0, used, 0.0)


def mercury_index(hg_kg_per_yr: np.ndarray, cfg: RiskConfig) -> np.ndarray:
    """``min(1, log(1 + kg/yr) / log(1 + saturation))`` (0-1; NaN stays NaN)."""
    with np.errstate(invalid="ignore"):
        return np.minimum(np.log1p(hg_kg_per_yr) / math.log1p(cfg.mercury_saturation_kg_per_yr), 1.0)


def index_quantile(sm: SiteMercury, q: float, cfg: RiskConfig) -> np.ndarray:
    """The ``q``-quantile of each site's mercury index (0-1); unknown size gives ``unknown_size_index``."""
    hg = release_quantile(sm, q)
    m = mercury_index(hg, cfg)
    return np.where(np.isnan(hg), cfg.unknown_size_index, np.nan_to_num(m))


def index_exceedance(sm: SiteMercury, m_star: np.ndarray, cfg: RiskConfig) -> np.ndarray:
    """P(mercury index >= ``m_star``) per site (exact, from the mixture; ``m_star`` in [0, 1])."""
    m_star = np.asarray(m_star, dtype=np.float64)
    hg_star = np.expm1(m_star * math.log1p(cfg.mercury_saturation_kg_per_yr))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (np.log(hg_star) - sm.log_median) / sm.sigma
        tail = np.where(sm.sigma > 0, ndtr(-z), (sm.log_median >= np.log(hg_star)).astype(np.float64))
    known = np.where(np.isnan(sm.log_median), cfg.unknown_size_index >= m_star, tail)
    return np.where(m_star <= 0, 1.0, sm.p_use * np.where(m_star > 1.0, 0.0, known))


# --------------------------------------------------------------------------- land use
def compute_footprint_ha(facts: pd.DataFrame, cfg: RiskConfig) -> np.ndarray:
    """Median land disturbed by each site, ha: mapped area, else workers (or their gold equivalent) x ha/worker."""
    area_ha = float_col(facts, "area_km2") * 100.0
    workers = float_col(facts, "workers")
    gold = float_col(facts, "gold_kg_per_yr")
    hpw = cfg.footprint_ha_per_worker.median
    from_gold = gold * 1000.0 / cfg.productivity_g_au_per_worker_yr.median * hpw
    out = np.where(np.isfinite(workers) & (workers >= 0), workers * hpw, from_gold)
    out = np.where(np.isfinite(out) & (out >= 0), out, np.nan)
    return np.where(np.isfinite(area_ha) & (area_ha > 0), area_ha, out)


def compute_land_use_index(facts: pd.DataFrame, cfg: RiskConfig, footprint_ha: np.ndarray | None = None) -> np.ndarray:
    """Land-use index 0-1: commodity intensity x log(1 + footprint ha) / log(1 + saturation ha)."""
    keys = [k for k in cfg.land_use if k != "default"]
    intensity = lookup(codes(facts, "commodity", keys), cfg.land_use, keys, cfg.land_use["default"])
    fp = compute_footprint_ha(facts, cfg) if footprint_ha is None else footprint_ha
    size = np.minimum(np.log1p(fp) / math.log1p(cfg.footprint_saturation_ha), 1.0)
    return intensity * np.where(np.isnan(size), cfg.unknown_footprint_index, size)


# --------------------------------------------------------------------------- the public table
def hazard_columns(
    sm: SiteMercury,
    cfg: RiskConfig,
    index: pd.Index,
    quantiles: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> pd.DataFrame:
    """The public mercury columns of :func:`compute_mercury_hazard` from computed parameters (and release quantiles)."""
    low, mid, high = quantiles if quantiles is not None else (release_quantile(sm, q) for q in (0.05, 0.5, 0.95))
    m = mercury_index(mid, cfg)
    return pd.DataFrame(
        {
            "gold_kg_per_yr_est": sm.gold_median,
            "hg_kg_per_yr_low": low,
            "hg_kg_per_yr": mid,
            "hg_kg_per_yr_high": high,
            "hg_kg_per_yr_air": mid * sm.air_median,
            "p_mercury_use": sm.p_use,
            "hg_basis": pd.Categorical.from_codes(sm.basis_code, categories=list(HG_BASES)),
            "mercury_index": np.where(np.isnan(mid), cfg.unknown_size_index, np.nan_to_num(m)),
        },
        index=index,
    )


def compute_mercury_hazard(facts: pd.DataFrame, cfg: RiskConfig) -> pd.DataFrame:
    """Each site's estimated mercury release and its band, kg Hg/yr.

    Returns
    -------
    DataFrame, same index as ``facts``: ``gold_kg_per_yr_est`` (median kg Au/yr of a gold site
    whose size is known), ``hg_kg_per_yr_low`` / ``hg_kg_per_yr`` / ``hg_kg_per_yr_high`` (p5 /
    p50 / p95 of the release; 0 without mercury; NaN for a mercury user of unknown size),
    ``hg_kg_per_yr_air`` (p50 x the method's median air share), ``p_mercury_use`` (0-1),
    ``hg_basis`` (categorical of :data:`geo.vocab.HG_BASES`) and ``mercury_index`` (0-1, of the
    p50 release; ``unknown_size_index`` for a user of unknown size).
    """
    return hazard_columns(site_mercury(facts, cfg), cfg, facts.index)
