"""Aggregations of scored sites by country, commodity and risk class.

Pure pandas on the output of :func:`geo.risk.score_sites`; the CLI exports and the
dashboard tables both call these, so their numbers agree.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.risk import RISK_CLASS_DTYPE

SUMMARY_KEYS: tuple[str, ...] = ("country_iso3", "commodity", "risk_class")
HG_COLUMNS: tuple[str, ...] = ("hg_kg_per_yr_low", "hg_kg_per_yr", "hg_kg_per_yr_high")


class SummaryError(ValueError):
    """The frame cannot be summarised as asked (e.g. a grouping column is missing)."""


def _bool(scored: pd.DataFrame, col: str) -> pd.Series | None:
    if col not in scored.columns:
        return None
    s = scored[col]
    return s if s.dtype == bool else s.astype("boolean")


def summarise_by(scored: pd.DataFrame, by: str | list[str], *, near_km: float = 10.0) -> pd.DataFrame:
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

    Returns
    -------
    DataFrame, one row per group, sorted by the keys, with:

    * ``n_sites``
    * ``share_in_protected_area``: fraction 0-1 of the group's sites inside a protected
      area (NaN when the frame has no ``in_protected_area`` column; unknown counts as not inside)
    * ``n_within_{near_km}km``: sites inside a protected area or at most ``near_km`` km from one
    * ``hg_kg_per_yr_low``, ``hg_kg_per_yr``, ``hg_kg_per_yr_high``: totals, kg Hg/yr
      (sites of unknown size add nothing; they are counted in ``n_hg_unknown_size``)
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
    if "dist_protected_area_km" in scored.columns:
        dist = pd.to_numeric(scored["dist_protected_area_km"], errors="coerce").to_numpy(dtype=np.float64)
        near |= np.nan_to_num(dist, nan=np.inf) <= near_km
    elif f"protected_areas_within_{near_km:g}km" in scored.columns:
        count = pd.to_numeric(scored[f"protected_areas_within_{near_km:g}km"], errors="coerce")
        near |= count.fillna(0).to_numpy() > 0
    parts["_near"] = near.astype(np.int64)

    for col in HG_COLUMNS:
        parts[col] = (
            pd.to_numeric(scored[col], errors="coerce").to_numpy(dtype=np.float64)
            if col in scored.columns
            else np.full(n, np.nan)
        )
    unknown = np.isnan(parts["hg_kg_per_yr"]) if "hg_kg_per_yr" in scored.columns else np.zeros(n, dtype=bool)
    parts["_hg_unknown"] = unknown.astype(np.int64)
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
        hg_kg_per_yr_low=("hg_kg_per_yr_low", "sum"),
        hg_kg_per_yr=("hg_kg_per_yr", "sum"),
        hg_kg_per_yr_high=("hg_kg_per_yr_high", "sum"),
        n_hg_unknown_size=("_hg_unknown", "sum"),
        mean_risk_0_100=("_risk", "mean"),
        max_risk_0_100=("_risk", "max"),
    )
    if keys == ["risk_class"]:
        all_classes = pd.CategoricalIndex(RISK_CLASS_DTYPE.categories, dtype=RISK_CLASS_DTYPE, name="risk_class")
        out = out.reindex(all_classes)
        fill = {c: 0 for c in ("n_sites", near_col, *HG_COLUMNS, "n_hg_unknown_size")}
        out = out.fillna(fill)
    out = out.reset_index()
    int_cols = ["n_sites", near_col, "n_hg_unknown_size"]
    out[int_cols] = out[int_cols].astype(np.int64)
    return out


def summarise_standard(scored: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The three standard summaries present in ``scored``: by country, commodity and risk class."""
    return {key: summarise_by(scored, key) for key in SUMMARY_KEYS if key in scored.columns}
