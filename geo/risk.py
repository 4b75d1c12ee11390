"""Mercury-risk model for artisanal and small-scale mining (ASM) sites, ``asm-risk-model 2.0``.

The model is documented in full, with the source of every default, in
``docs/risk-model.md``; the defaults live in ``config/risk.toml`` (read by
``layers.risk_config``: this package reads no file).

Two steps, kept apart so that a weight change never re-runs a spatial join:

1. ``scoring.pipeline.compute_facts`` measures the spatial facts once: distances to
   protected areas (per IUCN category), rainforest, reefs, the Arctic and water.
2. :func:`score_sites` turns facts into scores with vectorised NumPy (no per-row Python).

Score structure (every term in [0, 1])
--------------------------------------
* local hazard ``H = 1 - (1 - w_hg * m_local) * (1 - w_lu * land_use_index)``, where the
  mercury index ``m`` grows with the site's release (``geo.mercury``) and the land-use index
  with its footprint; ``m_local`` is ``m`` (times a factor for cyanidation of mercury-bearing
  material, capped at 1);
* sensitivity ``S = 1 - prod_j (1 - w_j * s_j)`` over the receptors, ``s_j`` a distance decay;
  for protected areas the largest IUCN weight x decay over the categories within reach;
* local term ``L = H * (f + (1 - f) * S)``: proximity modulates the hazard, never replaces it;
* global term ``G = w_air * air_share * m``: mercury emitted to air reaches the global pool
  wherever the site is;
* ``risk_0_100 = 100 * (1 - (1 - G) * (1 - L))``.

The score never decreases when the release, the footprint, a receptor's proximity or an
added protected area grows. It is split exactly into ``contrib_*`` columns (Shapley shares).
The release is uncertain; the score increases with it, so the score's percentiles are the
score of the release's percentiles (``risk_0_100_low`` / ``_high``), and ``p_high_or_above``
is the exact probability that the site's class is high or very high.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from geo.mercury import (
    SiteMercury,
    arrow_str,
    bool_col,
    codes,
    compute_footprint_ha,
    compute_land_use_index,
    compute_mercury_hazard,
    float_col,
    hazard_columns,
    index_exceedance,
    index_quantile,
    lookup,
    mercury_index,
    processing_codes,
    release_quantile,
    site_mercury,
)
from geo.risk_combine import out_rows, weighted_kernel
from geo.risk_config import (
    MODEL_VERSION,
    RATIO_KEYS,
    ConfigTypeError,
    Decay,
    FactsReachError,
    OrderError,
    OutOfRangeError,
    RiskConfig,
    RiskConfigError,
    Spread,
    TomlSyntaxError,
    UnknownKeyError,
)
from geo.vocab import (
    AMALGAMATION,
    CONTRIB_COLUMNS,
    FACTORS,
    HAZARD_FACTORS,
    HG_BASES,
    IUCN_CATEGORIES,
    PA_CATEGORY_DISTANCE_COLUMNS,
    PRACTICE_WORDS,
    RECEPTORS,
    RISK_CLASSES,
)

RISK_CLASS_DTYPE = pd.CategoricalDtype(list(RISK_CLASSES), ordered=True)
SENSITIVITY_FACTORS: tuple[str, ...] = RECEPTORS  # the name used before 2.0

HAZARD_COLUMNS: tuple[str, ...] = (
    "gold_kg_per_yr_est",
    "hg_kg_per_yr_low",
    "hg_kg_per_yr",
    "hg_kg_per_yr_high",
    "hg_kg_per_yr_air",
    "p_mercury_use",
    "hg_basis",
)
OUTPUT_COLUMNS: tuple[str, ...] = (
    *HAZARD_COLUMNS,
    "footprint_ha_est",
    "mercury_index",
    "land_use_index",
    "hazard_index",
    "sensitivity_index",
    *CONTRIB_COLUMNS,
    "risk_0_100",
    "risk_0_100_low",
    "risk_0_100_high",
    "p_high_or_above",
    "risk_class",
    "receptors_assessed",
    "score_complete",
    "missing_factors",
    "risk_explanation",
)

#: ``receptors_assessed`` labels: every subset of RECEPTORS, in bit-mask order ("none" for the empty set)
RECEPTOR_LABELS: tuple[str, ...] = tuple(
    ";".join(r for bit, r in enumerate(RECEPTORS) if mask >> bit & 1) or "none" for mask in range(1 << len(RECEPTORS))
)

# Fact columns of the receptors other than protected areas: (distance column, inside flag or None).
_RECEPTOR_COLUMNS: dict[str, tuple[str, str | None]] = {
    "rainforest": ("dist_rainforest_km", "in_rainforest"),
    "reef": ("dist_reef_km", None),
    "arctic": ("dist_arctic_km", "in_arctic"),
    "water": ("dist_water_km", None),
}

__all__ = [
    "CONTRIB_COLUMNS",
    "FACTORS",
    "HAZARD_FACTORS",
    "HG_BASES",
    "MODEL_VERSION",
    "OUTPUT_COLUMNS",
    "RATIO_KEYS",
    "RECEPTOR_LABELS",
    "RISK_CLASSES",
    "RISK_CLASS_DTYPE",
    "SENSITIVITY_FACTORS",
    "WEIGHTED_COLUMNS",
    "ConfigTypeError",
    "Decay",
    "FactsReachError",
    "OrderError",
    "OutOfRangeError",
    "RiskConfig",
    "RiskConfigError",
    "ScoreBasis",
    "Spread",
    "TomlSyntaxError",
    "UnknownKeyError",
    "assessed_receptors",
    "compute_land_use_index",
    "compute_mercury_hazard",
    "compute_sensitivity_terms",
    "explain_site",
    "risk_explanations",
    "score_basis",
    "score_sites",
    "weighted_columns",
]


# --------------------------------------------------------------------------- sensitivity
def _protected_area_term(facts: pd.DataFrame, cfg: RiskConfig) -> tuple[np.ndarray, np.ndarray, bool]:
    """Protected-area term (0-1), whether it was assessed per row, and whether the layer was given.

    With the per-category facts (``dist_protected_area_iucn_*_km``) the term is the largest
    ``iucn_weight x decay`` over the categories: a closer or an added protected area can only
    raise it, and overlapping designations of the same land (a national park that is also a
    Ramsar and a World Heritage site) count once, at the strictest category. Without them it
    falls back to the nearest protected area and its category.
    """
    n = len(facts)
    decay = cfg.decay["protected_area"]
    present = [(c, col) for c, col in zip(IUCN_CATEGORIES, PA_CATEGORY_DISTANCE_COLUMNS, strict=True) if col in facts]
    if present:
        reach = facts.attrs.get("protected_area_reach_km")
        if reach is not None and decay.outer_km > float(reach) + 1e-9:
            raise FactsReachError(
                "decay.protected_area.outer_km",
                f"{decay.outer_km:g} km is beyond the {float(reach):g} km up to which the facts measured protected areas",
                f"lower decay.protected_area.outer_km to at most {float(reach):g}, or compute the facts again with "
                f"ASM_PROTECTED_AREA_REACH_KM of at least {decay.outer_km:g}",
            )
        term = np.zeros(n)
        assessed = np.zeros(n, dtype=bool)
        for category, col in present:
            dist = float_col(facts, col)
            assessed |= ~np.isnan(dist)
            term = np.maximum(term, cfg.iucn_weights.get(category, cfg.iucn_weights["default"]) * decay(dist))
        return term, assessed, True
    has_layer = "dist_protected_area_km" in facts.columns or "in_protected_area" in facts.columns
    dist = np.where(bool_col(facts, "in_protected_area"), 0.0, float_col(facts, "dist_protected_area_km"))
    keys = [k for k in cfg.iucn_weights if k != "default"]
    w = lookup(codes(facts, "nearest_protected_area_iucn", keys), cfg.iucn_weights, keys, cfg.iucn_weights["default"])
    return decay(dist) * w, ~np.isnan(dist), has_layer


def compute_sensitivity_terms(
    facts: pd.DataFrame, cfg: RiskConfig
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], list[str]]:
    """Sensitivity term (0-1) of each receptor, before weighting.

    Returns
    -------
    terms : dict receptor -> float64 array in [0, 1] (0 where not assessed)
    assessed : dict receptor -> bool array, False where the fact is absent or NaN
    absent_layers : receptors whose facts are not in ``facts`` at all (layer not given)
    """
    terms: dict[str, np.ndarray] = {}
    assessed: dict[str, np.ndarray] = {}
    absent: list[str] = []
    terms["protected_area"], assessed["protected_area"], has_pa = _protected_area_term(facts, cfg)
    if not has_pa:
        absent.append("protected_area")
    for name, (dist_col, inside_col) in _RECEPTOR_COLUMNS.items():
        if dist_col not in facts.columns and (inside_col is None or inside_col not in facts.columns):
            absent.append(name)
        dist = np.where(bool_col(facts, inside_col), 0.0, float_col(facts, dist_col))
        assessed[name] = ~np.isnan(dist)
        terms[name] = cfg.decay[name](dist)
    return {r: terms[r] for r in RECEPTORS}, {r: assessed[r] for r in RECEPTORS}, [r for r in RECEPTORS if r in absent]


# --------------------------------------------------------------------------- what no weight changes
#: configuration parts only the recombination reads (:func:`weighted_columns`): a basis serves every
#: configuration that agrees with its own outside them
WEIGHT_CONFIG_PARTS: tuple[str, ...] = ("classes", "combine", "weights")
#: parts only the receptor half of a basis reads: a change there keeps the hazard half
RECEPTOR_ONLY_PARTS: tuple[str, ...] = ("decay", "iucn_weights")
#: the output columns a weight (or the background sensitivity, or a class threshold) changes, in output order
WEIGHTED_COLUMNS: tuple[str, ...] = (
    "hazard_index", "sensitivity_index", *CONTRIB_COLUMNS, "risk_0_100", "risk_0_100_low", "risk_0_100_high",
    "p_high_or_above", "risk_class", "score_complete",
)  # fmt: skip


def config_key(cfg: RiskConfig, leave_out: tuple[str, ...]) -> str:
    """A digest of a configuration without the parts in ``leave_out`` (canonical JSON, SHA-256 prefix).

    The halves of a basis are keyed by what they may *not* depend on, so a part added to the
    configuration later invalidates a basis until it is declared irrelevant here.
    """
    kept = {k: v for k, v in cfg.to_dict().items() if k not in leave_out}
    canon = json.dumps(kept, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()[:16]


def _hazard_key(cfg: RiskConfig) -> str:
    return config_key(cfg, WEIGHT_CONFIG_PARTS + RECEPTOR_ONLY_PARTS)


def _receptor_key(cfg: RiskConfig) -> str:
    return config_key(cfg, WEIGHT_CONFIG_PARTS)


class HazardBasis(NamedTuple):
    """The mercury and land-use side of every site's score: all of a configuration but the weights and the receptors' parts."""

    key: str
    sm: SiteMercury
    footprint: np.ndarray  # ha, median
    land_use_index: np.ndarray  # 0-1
    mu: np.ndarray  # cyanidation factor of the local mercury index (1 without)
    m_index: tuple[np.ndarray, np.ndarray, np.ndarray]  # mercury index at the release's p5, p50, p95
    hazard: pd.DataFrame  # the HAZARD_COLUMNS, on the facts' index
    commodity_missing: np.ndarray  # bool
    size_unknown: np.ndarray  # bool: a mercury user of unknown size (no release range)
    point: np.ndarray  # bool: one mercury index when mercury is used (no spread, or size unknown)
    m_point: np.ndarray  # that index where ``point`` (NaN elsewhere)


class ReceptorBasis(NamedTuple):
    """The receptor side (all of a configuration but the weights): each receptor's decay term and whether it was assessed."""

    key: str
    terms: np.ndarray  # (len(RECEPTORS), n) float64, 0-1, before weighting
    assessed: dict[str, np.ndarray]
    absent: list[str]  # receptors whose layer is not in the facts at all
    assessed_mask: np.ndarray  # int64 bit mask over RECEPTORS
    receptors_assessed: pd.Categorical  # RECEPTOR_LABELS
    missing_factors: pd.Categorical


class ScoreBasis(NamedTuple):
    """What a score needs from the facts that no weight changes: built once, recombined on every weight change."""

    hazard: HazardBasis
    receptors: ReceptorBasis

    @property
    def n_sites(self) -> int:
        return len(self.hazard.mu)


def hazard_basis(facts: pd.DataFrame, cfg: RiskConfig) -> HazardBasis:
    """The mercury release (and its percentiles), the footprint and the land-use index of every site."""
    sm = site_mercury(facts, cfg)
    footprint = compute_footprint_ha(facts, cfg)
    quantiles = tuple(release_quantile(sm, q) for q in (0.05, 0.5, 0.95))
    # a mercury user of unknown size (release NaN) gets the unknown-size index
    m_index = tuple(
        np.where(np.isnan(hg), cfg.unknown_size_index, np.nan_to_num(mercury_index(hg, cfg))) for hg in quantiles
    )
    commodity_missing = (
        facts["commodity"].isna().to_numpy() if "commodity" in facts.columns else np.ones(len(facts), dtype=bool)
    )
    hz = hazard_columns(sm, cfg, facts.index, quantiles)  # type: ignore[arg-type]
    # P(high or above) of a site whose index takes one value when mercury is used is decided at that
    # value (so that a site exactly on the boundary does not depend on rounding): the value, once
    point = (sm.sigma == 0) | ~np.isfinite(sm.log_median)
    m_point = np.full(len(facts), np.nan)
    at = np.flatnonzero(point)
    if len(at):  # element by element: the same numbers as computing every site
        sub = sm._replace(p_use=sm.p_use[at], log_median=sm.log_median[at], sigma=sm.sigma[at])
        m_point[at] = index_quantile(sub, 1.0 - 1e-12, cfg)
    return HazardBasis(
        key=_hazard_key(cfg),
        sm=sm,
        footprint=footprint,
        land_use_index=compute_land_use_index(facts, cfg, footprint),
        mu=np.where(sm.cyanide, cfg.cyanidation_index_factor, 1.0),
        m_index=m_index,  # type: ignore[arg-type]
        hazard=hz[list(HAZARD_COLUMNS)],
        commodity_missing=commodity_missing,
        size_unknown=np.isnan(quantiles[2]),  # the release's upper range needs a size the site does not have
        point=point,
        m_point=m_point,
    )


def receptor_basis(facts: pd.DataFrame, cfg: RiskConfig, commodity_missing: np.ndarray) -> ReceptorBasis:
    """Every receptor's decay term (:func:`compute_sensitivity_terms`) and the assessed / missing labels."""
    terms, assessed, absent = compute_sensitivity_terms(facts, cfg)
    mask = np.zeros(len(facts), dtype=np.int64)
    for bit, r in enumerate(RECEPTORS):
        mask |= assessed[r].astype(np.int64) << bit
    missing = {"commodity": commodity_missing, **{r: ~assessed[r] for r in RECEPTORS}}
    return ReceptorBasis(
        key=_receptor_key(cfg),
        terms=np.ascontiguousarray(np.stack([terms[r] for r in RECEPTORS])),
        assessed=assessed,
        absent=absent,
        assessed_mask=mask,
        receptors_assessed=pd.Categorical.from_codes(mask, categories=list(RECEPTOR_LABELS)),
        missing_factors=_missing_labels(missing),
    )


def score_basis(facts: pd.DataFrame, config: RiskConfig, *, reuse: ScoreBasis | None = None) -> ScoreBasis:
    """The weight-independent parts of :func:`score_sites` for ``facts`` under ``config``.

    Parameters
    ----------
    facts : DataFrame or GeoDataFrame
        As for :func:`score_sites`.
    config : RiskConfig
    reuse : ScoreBasis, optional
        A basis of the *same facts* under another configuration: each half whose configuration
        parts agree with ``config``'s is kept (a decay change rebuilds the receptor half only).

    Returns
    -------
    ScoreBasis; ``score_sites(facts, c, basis=...)`` for any ``c`` that agrees with ``config``
    outside the weights, ``[combine]`` and ``[classes]`` equals ``score_sites(facts, c)`` exactly.

    Raises
    ------
    FactsReachError
        When ``decay.protected_area.outer_km`` exceeds the facts' protected-area reach.
    """
    if reuse is not None and not reuse.hazard.hazard.index.equals(facts.index):
        raise ValueError(
            f"the basis to reuse was built on other facts ({reuse.n_sites:,} sites, these have {len(facts):,} "
            "or another index): build a new one with score_basis(facts, config)"
        )
    hz = reuse.hazard if reuse is not None and reuse.hazard.key == _hazard_key(config) else None
    hz = hz if hz is not None else hazard_basis(facts, config)
    rec = reuse.receptors if reuse is not None and reuse.receptors.key == _receptor_key(config) else None
    return ScoreBasis(hz, rec if rec is not None else receptor_basis(facts, config, hz.commodity_missing))


# --------------------------------------------------------------------------- what the weights change
def weighted_columns(basis: ScoreBasis, config: RiskConfig) -> dict[str, Any]:
    """The :data:`WEIGHTED_COLUMNS` of every site: the basis recombined with ``config``'s weights.

    Parameters
    ----------
    basis : ScoreBasis
        From :func:`score_basis` under a configuration that agrees with ``config`` outside
        :data:`WEIGHT_CONFIG_PARTS`.
    config : RiskConfig

    Returns
    -------
    dict column -> array (``risk_class`` an ordered categorical), in output order.

    Raises
    ------
    ValueError
        When the basis was built under a configuration that disagrees with ``config`` outside the weights.
    """
    cfg = config
    hz, rec = basis.hazard, basis.receptors
    if hz.key != _hazard_key(cfg) or rec.key != _receptor_key(cfg):
        raise ValueError(
            "this score basis was built under another mercury, footprint, land-use, decay or IUCN configuration: "
            "build it again with score_basis(facts, config)"
        )
    w, f, n = cfg.weights, cfg.background_sensitivity, basis.n_sites
    m_low, m_mid, m_high = hz.m_index
    rows = out_rows(len(RECEPTORS))
    needed = sum(1 << bit for bit, r in enumerate(RECEPTORS) if w[r] > 0)
    # P(high or above): the tiny tolerance keeps p = 1 exactly on the threshold
    threshold = cfg.class_thresholds[1] / 100.0 - 1e-12
    # the output columns themselves (rows of one block, shared by the frame), and no other whole-length array
    out, codes_, complete, exceed = weighted_kernel.for_work(n)(
        rec.terms, np.asarray([w[r] for r in RECEPTORS], dtype=np.float64), float(f), float(w["mercury"]),
        float(w["land_use"]), float(w["mercury_air"]), hz.land_use_index, hz.mu, hz.sm.air_median,
        m_low, m_mid, m_high, hz.size_unknown, hz.sm.p_use, hz.point, hz.m_point, rec.assessed_mask, needed,
        np.asarray(cfg.class_thresholds, dtype=np.float64), float(threshold),
    )  # fmt: skip
    row = dict(zip(rows, out, strict=True))
    # the sites whose class depends on a release drawn from its distribution: the kernel left each one's
    # boundary mercury index in its slot; P(index >= boundary) is NumPy (scipy's ndtr), on those sites only
    p_high = row["p_high_or_above"]
    drawn = np.flatnonzero(exceed)
    if len(drawn):
        sm = hz.sm._replace(p_use=hz.sm.p_use[drawn], log_median=hz.sm.log_median[drawn], sigma=hz.sm.sigma[drawn])
        p_high[drawn] = index_exceedance(sm, p_high[drawn], cfg)
    cols: dict[str, Any] = {"hazard_index": row["hazard_index"], "sensitivity_index": row["sensitivity_index"]}
    for j, name in enumerate(CONTRIB_COLUMNS):
        cols[name] = out[2 + j]
    cols.update(
        risk_0_100=row["risk_0_100"],
        # a mercury user of unknown size: the score stands on the assumed unknown_size_index, and its
        # range and chance of high are not estimated (NaN, from the kernel), rather than a zero-width
        # range that looks certain
        risk_0_100_low=row["risk_0_100_low"],
        risk_0_100_high=row["risk_0_100_high"],
        p_high_or_above=p_high,
        risk_class=pd.Categorical.from_codes(codes_, dtype=RISK_CLASS_DTYPE),
        score_complete=complete,
    )
    return cols


# --------------------------------------------------------------------------- score
def score_sites(
    facts: pd.DataFrame, config: RiskConfig, *, explain: bool = True, basis: ScoreBasis | None = None
) -> pd.DataFrame:
    """Score every site: hazard, sensitivity, ``risk_0_100`` with its band, class and contributions.

    Pure and vectorised: no spatial operation, no per-row Python, so a weight change
    re-scores a precomputed facts frame in milliseconds.

    Parameters
    ----------
    facts : DataFrame or GeoDataFrame
        Sites plus proximity facts (``docs/architecture.md``). Any fact column may be absent
        (layer not given) or NaN: that receptor is then *not assessed* for the row (it adds
        nothing, ``receptors_assessed`` and ``score_complete`` say so), and absent layers are
        listed in ``result.attrs["risk_missing_layers"]``. ``attrs["protected_area_reach_km"]``,
        when set, is the reach of the per-category protected-area facts.
    config : RiskConfig
        E.g. ``layers.risk_config.default_risk_config()`` (``config/risk.toml``).
    explain : bool, default True
        Build the ``risk_explanation`` sentence (vectorised; False leaves it empty).
    basis : ScoreBasis, optional
        :func:`score_basis` of these facts: its halves are reused where their configuration
        parts agree with ``config`` (a weight change then costs only :func:`weighted_columns`).

    Returns
    -------
    A new frame: ``facts`` (unchanged, previous score columns replaced) plus
    :data:`OUTPUT_COLUMNS`. ``risk_0_100`` (0-100) is the score of the median release and the
    ``contrib_*`` columns (score points) add up to it; ``risk_0_100_low`` / ``_high`` are its
    5th / 95th percentiles and ``p_high_or_above`` the probability of class high or very high;
    ``risk_class`` is an ordered categorical low < moderate < high < very high.

    Raises
    ------
    FactsReachError
        When ``decay.protected_area.outer_km`` exceeds the facts' protected-area reach.
    """
    cfg = config
    if not isinstance(cfg, RiskConfig):
        raise TypeError("score_sites needs a RiskConfig, e.g. layers.risk_config.default_risk_config()")
    basis = score_basis(facts, cfg, reuse=basis)
    hz, rec = basis.hazard, basis.receptors
    weighted = weighted_columns(basis, cfg)
    out_cols: dict[str, Any] = {c: hz.hazard[c] for c in HAZARD_COLUMNS}
    out_cols.update(footprint_ha_est=hz.footprint, mercury_index=hz.m_index[1], land_use_index=hz.land_use_index)
    out_cols.update({c: weighted[c] for c in WEIGHTED_COLUMNS if c != "score_complete"})
    out_cols.update(
        receptors_assessed=rec.receptors_assessed,
        score_complete=weighted["score_complete"],
        missing_factors=rec.missing_factors,
    )
    new = pd.DataFrame(out_cols, index=facts.index)
    if explain:
        new["risk_explanation"] = _explanations(facts, new, rec.assessed, cfg)
    else:
        new["risk_explanation"] = pd.Series("", index=facts.index, dtype="str")

    base = facts.drop(columns=[c for c in OUTPUT_COLUMNS if c in facts.columns])
    # one concat instead of a column insert per output column; positional (facts may have duplicate labels)
    new.index = base.index
    result = pd.concat([base, new], axis=1) if len(base.columns) else new
    if isinstance(facts, gpd.GeoDataFrame) and not isinstance(result, gpd.GeoDataFrame):
        result = gpd.GeoDataFrame(result, geometry=facts.geometry.name, crs=facts.crs)
    result.attrs = score_attrs(facts.attrs, cfg, rec.absent)
    return result


def score_attrs(facts_attrs: Mapping[str, Any], cfg: RiskConfig, absent: list[str]) -> dict[str, Any]:
    """The ``attrs`` of a :func:`score_sites` result: the facts' own plus the model, configuration and missing layers."""
    return {
        **facts_attrs,
        "risk_model_version": cfg.version,
        "risk_config_fingerprint": cfg.fingerprint,
        # as JSON text: pandas deep-copies attrs on every operation, a string costs nothing to copy
        "risk_config": json.dumps(cfg.to_dict(), sort_keys=True),
        "risk_missing_layers": list(absent),
    }


def _missing_labels(missing: Mapping[str, np.ndarray]) -> pd.Categorical:
    """Categorical of ";"-joined factor names per row (bit mask -> label, no per-row Python)."""
    names = list(missing)
    n = len(next(iter(missing.values())))
    mask = np.zeros(n, dtype=np.int64)
    for bit, name in enumerate(names):
        mask |= missing[name].astype(np.int64) << bit
    present = np.flatnonzero(np.bincount(mask, minlength=1 << len(names)))
    lut = np.full(1 << len(names), -1, dtype=np.int32)
    lut[present] = np.arange(len(present), dtype=np.int32)
    labels = [";".join(name for bit, name in enumerate(names) if (int(u) >> bit) & 1) for u in present]
    return pd.Categorical.from_codes(lut[mask], categories=labels)


# --------------------------------------------------------------------------- explanations
def _arrow_col(facts: pd.DataFrame, col: str, fill: str) -> pa.Array:
    if col not in facts.columns:
        return pa.array(np.full(len(facts), fill, dtype=object), pa.string())
    return arrow_str(facts[col], fill)


def _arrow_num(values: np.ndarray) -> pa.Array:
    """Numbers as short text: whole from 100, one decimal from 1, two significant digits below; NaN gives ""."""
    v = np.asarray(values, dtype=np.float64)
    a = np.abs(v)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = 10.0 ** np.clip(1 - np.floor(np.log10(np.where(a > 0, a, 1.0))), 2, 12)
        rounded = np.where(a >= 100, np.round(v), np.where(a >= 1, np.round(v, 1), np.round(v * scale) / scale))
    whole = np.isfinite(rounded) & (rounded == np.round(rounded))
    as_int = pc.cast(pa.array(np.where(whole, rounded, 0).astype(np.int64)), pa.string())
    as_float = pc.cast(pa.array(np.where(whole, 0.5, rounded), from_pandas=True), pa.string())
    return pc.fill_null(pc.if_else(pa.array(whole), as_int, as_float), "")


def _join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _process_label(facts: pd.DataFrame) -> pa.Array:
    amalg, retort, cyan = processing_codes(facts)
    labels = pa.array([PRACTICE_WORDS["amalgamation"][a] for a in AMALGAMATION], pa.string())
    text = pc.take(labels, pa.array(amalg))
    text = pc.if_else(pa.array(retort == 0), _join(text, " with retort"), text)
    return pc.if_else(pa.array(cyan == 0), _join(text, ", cyanidation"), text)


def _explanations(
    facts: pd.DataFrame, scored: pd.DataFrame, assessed: Mapping[str, np.ndarray], cfg: RiskConfig
) -> pd.Series:
    """One short sentence per site, built with vectorised Arrow string kernels."""
    n = len(facts)
    commodity = _arrow_col(facts, "commodity", "unknown commodity")
    basis_cat = scored["hg_basis"].array
    basis = pc.take(pa.array(list(basis_cat.categories), pa.string()), pa.array(basis_cat.codes))
    hg, low, high = (
        scored[c].to_numpy(dtype=np.float64) for c in ("hg_kg_per_yr", "hg_kg_per_yr_low", "hg_kg_per_yr_high")
    )
    p_use = scored["p_mercury_use"].to_numpy(dtype=np.float64)
    hg_txt = pc.if_else(
        pa.array(np.isfinite(hg)),
        _join("~", _arrow_num(hg), " kg Hg/yr (90% range ", _arrow_num(low), "-", _arrow_num(high), ")"),
        "mercury, size unknown",
    )
    hg_txt = pc.if_else(pa.array((p_use > 0) & (p_use < 1)), _join(hg_txt, ", mercury use uncertain"), hg_txt)
    hazard_part = pc.if_else(
        pa.array(p_use > 0), _join(commodity, ", ", _process_label(facts), ", ", hg_txt), _join(commodity, ", ", basis)
    )

    dist = float_col(facts, "dist_protected_area_km")
    inside = bool_col(facts, "in_protected_area")
    name = _arrow_col(facts, "nearest_protected_area", "")
    name = pc.if_else(pc.equal(name, ""), "nearest protected area", name)
    iucn = _arrow_col(facts, "nearest_protected_area_iucn", "")
    cat_cols = [c for c in PA_CATEGORY_DISTANCE_COLUMNS if c in facts.columns]
    if cat_cols and "dist_protected_area_km" not in facts.columns:  # only the per-category facts: nearest of them
        d = np.column_stack([float_col(facts, c) for c in cat_cols])
        d = np.where(np.isnan(d), np.inf, d)
        dist = np.where(np.isfinite(d.min(axis=1)), d.min(axis=1), np.nan)
        inside = dist == 0
        cats = pa.array([IUCN_CATEGORIES[PA_CATEGORY_DISTANCE_COLUMNS.index(c)] for c in cat_cols], pa.string())
        iucn = pc.take(cats, pa.array(np.argmin(d, axis=1)))
    iucn = pc.if_else(pc.equal(iucn, ""), "category unknown", iucn)
    pa_name = _join(name, " (", iucn, ")")
    outer = cfg.decay["protected_area"].outer_km
    pa_part = pc.if_else(
        pa.array(~assessed["protected_area"]),
        "protected areas not assessed",
        pc.if_else(
            pa.array(inside),
            _join("inside ", pa_name),
            pc.if_else(
                pa.array(np.nan_to_num(dist, nan=np.inf) < outer),
                _join(_arrow_num(dist), " km from ", pa_name),
                f"no protected area within {outer:g} km",
            ),
        ),
    )
    contrib = np.column_stack([scored[c].to_numpy() for c in CONTRIB_COLUMNS])
    factor_labels = pa.array([f.replace("_", " ") for f in FACTORS], pa.string())
    top_part = pc.if_else(
        pa.array(scored["risk_0_100"].to_numpy() > 0),
        _join("; main factor: ", pc.take(factor_labels, pa.array(np.argmax(contrib, axis=1)))),
        "",
    )
    missing = [r for r in RECEPTORS if r != "protected_area" and cfg.weights[r] > 0]
    mask = np.zeros(n, dtype=np.int64)
    for bit, r in enumerate(missing):
        mask |= (~assessed[r]).astype(np.int64) << bit
    labels = [
        "; not assessed: " + ", ".join(r.replace("_", " ") for b, r in enumerate(missing) if m >> b & 1)
        for m in range(1 << len(missing))
    ]
    labels[0] = ""
    not_part = pc.take(pa.array(labels, pa.string()), pa.array(mask))
    sentence = _join(hazard_part, "; ", pa_part, top_part, not_part)
    return pd.Series(pd.array(sentence, dtype="str"), index=facts.index)


def assessed_receptors(scored: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per receptor, whether each row of a scored frame assessed it (from ``receptors_assessed``).

    Reads the column's labels once per distinct value (a categorical's categories), not once per row.
    """
    n = len(scored)
    if "receptors_assessed" not in scored.columns:
        return {r: np.zeros(n, dtype=bool) for r in RECEPTORS}
    col = scored["receptors_assessed"]
    if isinstance(col.dtype, pd.CategoricalDtype):
        row_codes, labels = col.cat.codes.to_numpy(), list(col.cat.categories.astype(str))
    else:
        row_codes, uniques = pd.factorize(col.astype("string"), use_na_sentinel=True)
        labels = [str(u) for u in uniques]
    sets = [set(label.split(";")) for label in labels] + [set()]  # code -1 (missing): nothing assessed
    return {r: np.asarray([r in s for s in sets], dtype=bool)[row_codes] for r in RECEPTORS}


def risk_explanations(scored: pd.DataFrame, config: RiskConfig) -> pd.Series:
    """The ``risk_explanation`` sentence of the rows of a scored frame, as :func:`score_sites` writes it.

    For a caller that scored with ``explain=False`` (a dashboard re-scoring on every weight change)
    and needs the sentence only for the rows it shows: a site's detail, a table block, an export.

    Parameters
    ----------
    scored : a :func:`score_sites` output (facts and score columns), any subset or order of its rows
    config : the RiskConfig it was scored with

    Returns
    -------
    Series of str on ``scored.index``; equal to ``score_sites(facts, config)["risk_explanation"]``
    on those rows.
    """
    if len(scored) == 0:
        return pd.Series([], index=scored.index, dtype="str")
    frame = scored
    if not isinstance(frame["hg_basis"].dtype, pd.CategoricalDtype):
        frame = frame.assign(hg_basis=pd.Categorical(frame["hg_basis"], categories=list(HG_BASES)))
    return _explanations(frame, frame, assessed_receptors(frame), config)


def explain_site(row: Mapping[str, Any] | pd.Series, config: RiskConfig) -> str:
    """A multi-line explanation of one scored site, for the dashboard's detail panel.

    Parameters
    ----------
    row : a row of :func:`score_sites` output (Series or mapping)
    config : the RiskConfig used to score it (for the version shown)
    """
    get = row.get

    def num(key: str) -> float:
        value = get(key)
        return float("nan") if value is None else float(value)

    score, low, high, p_high = (num(k) for k in ("risk_0_100", "risk_0_100_low", "risk_0_100_high", "p_high_or_above"))
    if np.isfinite(low) and np.isfinite(high):
        band = f"90% range {low:.1f}-{high:.1f}; chance of high or very high {100 * p_high:.0f}%"
    else:  # a mercury user of unknown size (score_sites)
        band = "range and chance of high not estimated: the site's size is unknown"
    lines = [f"Risk {score:.1f} / 100 ({get('risk_class', '?')}), {band}; model {config.version}."]
    hg = get("hg_kg_per_yr")
    if hg is not None and np.isfinite(hg) and float(get("p_mercury_use", 0.0) or 0.0) > 0:
        lines.append(
            f"Mercury: {hg:.1f} kg/yr (90% range {get('hg_kg_per_yr_low', float('nan')):.1f}-"
            f"{get('hg_kg_per_yr_high', float('nan')):.1f}; {get('hg_kg_per_yr_air', float('nan')):.1f} to air), "
            f"basis: {get('hg_basis', '?')}."
        )
    else:
        lines.append(f"Mercury: {get('hg_basis', 'not estimated')}.")
    parts = sorted(((float(get(c, 0.0) or 0.0), c) for c in CONTRIB_COLUMNS), reverse=True)
    shown = [f"{c.removeprefix('contrib_').replace('_', ' ')} {v:.1f}" for v, c in parts if v > 0]
    lines.append("Contributions (points): " + (", ".join(shown) if shown else "none") + ".")
    missing = [r for r in RECEPTORS if r not in str(get("receptors_assessed", "") or "").split(";")]
    if missing:
        lines.append(
            f"Not assessed (no data, counted as nothing near): {', '.join(r.replace('_', ' ') for r in missing)}."
        )
    expl = get("risk_explanation")
    if expl:
        lines.append(str(expl))
    return "\n".join(lines)
