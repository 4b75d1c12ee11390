"""Aggregations of scored sites by country, commodity and risk class.

Pure pandas on the output of :func:`geo.risk.score_sites`; the CLI exports and the
dashboard tables both call these, so their numbers agree. Mercury totals and their 90 %
bands come from the Monte Carlo of ``geo.uncertainty`` (sums of draws, not of percentiles).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from geo.risk import RISK_CLASS_DTYPE
from geo.risk_config import RiskConfig, config_from_dict
from geo.uncertainty import mercury_totals
from geo.vocab import PA_CATEGORY_DISTANCE_COLUMNS

SUMMARY_KEYS: tuple[str, ...] = ("country_iso3", "commodity", "risk_class")
HG_COLUMNS: tuple[str, ...] = ("hg_kg_per_yr_low", "hg_kg_per_yr", "hg_kg_per_yr_high")
HG_AIR_COLUMNS: tuple[str, ...] = ("hg_kg_per_yr_air_low", "hg_kg_per_yr_air", "hg_kg_per_yr_air_high")


def config_of(scored: pd.DataFrame) -> RiskConfig | None:
    """The configuration a frame was scored with (``attrs["risk_config"]``, set by ``score_sites``), if any."""
    text = scored.attrs.get("risk_config")
    return config_from_dict(json.loads(text)) if isinstance(text, str) else None


class SummaryError(ValueError):
    """The frame cannot be summarised as asked (e.g. a grouping column is missing)."""


def _bool(scored: pd.DataFrame, col: str) -> pd.Series | None:
    if col not in scored.columns:
        return None
    s = scored[col]
    return s if s.dtype == bool else s.astype("boolean")


def summarise_by(
    scored: pd.DataFrame, by: str | list[str], *, near_km: float = 10.0, config: RiskConfig | None = None
) -> pd.DataFrame:
    """Sites, protected-area exposure and estimated mercury per group.

    Parameters
    ----------
    scored : DataFrame
        Output of :func:`geo.risk.score_sites` (any frame with the columns used).
    by : str or list of str
        Grouping column(s), usually ``"country_iso3"``, ``"commodity"`` or ``"risk_class"``.
        Missing values form their own group (e.g. sites outside every country).
    near_km : float, default 10
        Distance in km for the ``n_within_{near_km}km`` count (10 km, after Durán et al. 2013).
    config : RiskConfig, optional
        The configuration the sites were scored with (default: the one ``score_sites`` stored
        in ``scored.attrs``). Without either, the mercury columns are left out.

    Returns
    -------
    DataFrame, one row per group, sorted by the keys, with:

    * ``n_sites``
    * ``share_in_protected_area``: fraction 0-1 of the group's sites inside a protected
      area (NaN when the frame has no ``in_protected_area`` column; unknown counts as not inside)
    * ``n_within_{near_km}km``: sites inside a protected area or at most ``near_km`` km from one
    * ``hg_kg_per_yr_low``, ``hg_kg_per_yr``, ``hg_kg_per_yr_high``: p5 / p50 / p95 of the group's
      total release, kg Hg/yr, from summed Monte Carlo draws (sites of unknown size add nothing;
      they are counted in ``n_hg_unknown_size``); the same for ``hg_kg_per_yr_air*``
    * ``n_hg_unknown_size``: mercury-using sites whose release could not be estimated
    * ``mean_risk_0_100``, ``max_risk_0_100``

    Grouping by ``risk_class`` alone lists all four classes, empty ones with zeros.

    Raises
    ------
    SummaryError
        When a grouping column is not in ``scored``.
    """
    keys = [by] if isinstance(by, str) else list(by)
    if not keys:
        raise SummaryError("no grouping column given; use e.g. 'country_iso3', 'commodity' or 'risk_class'")
    absent = [k for k in keys if k not in scored.columns]
    if absent:
        raise SummaryError(
            f"cannot summarise by {absent}: not in the scored frame; use one of "
            f"{[k for k in SUMMARY_KEYS if k in scored.columns] or list(scored.columns)}"
        )

    n = len(scored)
    parts: dict[str, pd.Series | np.ndarray] = {k: scored[k].to_numpy() for k in keys}
    in_pa = _bool(scored, "in_protected_area")
    inside = np.zeros(n, dtype=bool) if in_pa is None else in_pa.fillna(False).to_numpy(dtype=bool)
    parts["_in_pa"] = inside.astype(np.float64) if in_pa is not None else np.full(n, np.nan)

    near = inside.copy()
    cat_cols = [c for c in PA_CATEGORY_DISTANCE_COLUMNS if c in scored.columns]
    if "dist_protected_area_km" not in scored.columns and cat_cols:  # per-category facts only: the nearest of them
        d = np.column_stack([pd.to_numeric(scored[c], errors="coerce").to_numpy(dtype=np.float64) for c in cat_cols])
        near |= np.nan_to_num(d, nan=np.inf).min(axis=1) <= near_km
    elif "dist_protected_area_km" in scored.columns:
        dist = pd.to_numeric(scored["dist_protected_area_km"], errors="coerce").to_numpy(dtype=np.float64)
        near |= np.nan_to_num(dist, nan=np.inf) <= near_km
    elif f"protected_areas_within_{near_km:g}km" in scored.columns:
        count = pd.to_numeric(scored[f"protected_areas_within_{near_km:g}km"], errors="coerce")
        near |= count.fillna(0).to_numpy() > 0
    parts["_near"] = near.astype(np.int64)

    risk = (
        pd.to_numeric(scored["risk_0_100"], errors="coerce").to_numpy(dtype=np.float64)
        if "risk_0_100" in scored.columns
        else np.full(n, np.nan)
    )
    parts["_risk"] = risk

    frame = pd.DataFrame(parts, index=pd.RangeIndex(n))
    for k in keys:  # keep categorical keys (risk_class) categorical so the order is low < ... < very high
        if isinstance(scored[k].dtype, pd.CategoricalDtype):
            frame[k] = scored[k].array
    near_col = f"n_within_{near_km:g}km"
    grouped = frame.groupby(keys, dropna=False, observed=True, sort=True)
    out = grouped.agg(
        n_sites=("_near", "size"),
        share_in_protected_area=("_in_pa", "mean"),
        **{near_col: ("_near", "sum")},
        mean_risk_0_100=("_risk", "mean"),
        max_risk_0_100=("_risk", "max"),
    )
    cfg = config if config is not None else config_of(scored)
    hg_cols: tuple[str, ...] = ()
    if cfg is not None:
        totals = mercury_totals(scored, cfg, group=grouped.ngroup().to_numpy(dtype=np.int64), n_groups=len(out))
        hg_cols = (*HG_COLUMNS, *HG_AIR_COLUMNS, "n_hg_unknown_size")
        for col in hg_cols:
            out[col] = totals[col].to_numpy()
    if keys == ["risk_class"]:
        all_classes = pd.CategoricalIndex(RISK_CLASS_DTYPE.categories, dtype=RISK_CLASS_DTYPE, name="risk_class")
        out = out.reindex(all_classes)
        out = out.fillna({c: 0 for c in ("n_sites", near_col, *hg_cols)})
    out = out.reset_index()
    int_cols = ["n_sites", near_col] + (["n_hg_unknown_size"] if hg_cols else [])
    out[int_cols] = out[int_cols].astype(np.int64)
    return out


def summarise_standard(scored: pd.DataFrame, config: RiskConfig | None = None) -> dict[str, pd.DataFrame]:
    """The three standard summaries present in ``scored``: by country, commodity and risk class."""
    return {key: summarise_by(scored, key, config=config) for key in SUMMARY_KEYS if key in scored.columns}
