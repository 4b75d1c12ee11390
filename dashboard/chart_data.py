"""The numbers behind the linked charts (pure, no dash imports): counts by country and risk class, by
commodity, mercury totals by country, the distance ECDF.

They count on a prepared frame's categorical codes (``dashboard.views.prepare_scored``) where they can:
a filter change on a million sites redraws the charts from ``bincount`` over small integer codes.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
import pandas as pd

from dashboard.state import RISK_CLASSES
from dashboard.totals import grouped_mercury_totals
from geo.risk import RiskConfig
from geo.summary import config_of

BUFFER_MARKS_KM: tuple[float, ...] = (1.0, 5.0, 10.0, 25.0)
#: the distance the ECDF chart draws
DIST_COLUMN = "dist_protected_area_km"
#: ``attrs`` key of a prepared frame's digest of its distance column (``remember_sorted_distances``)
DIST_DIGEST_ATTR = "dashboard_dist_digest"
_SORTED_MAX = 8  # prepared frames whose sorted distances are kept (8 bytes + 4 a site each)
_sorted: OrderedDict[str, tuple[np.ndarray, np.ndarray]] = OrderedDict()
_sorted_lock = threading.Lock()


def risk_by_country(view: pd.DataFrame, top: int = 25) -> pd.DataFrame:
    """Site counts by country (rows) and risk class (columns), the ``top`` countries by count."""
    if view.empty:
        return pd.DataFrame(columns=list(RISK_CLASSES))
    # count on the categorical codes (prepare_scored): no string conversion, no group-by of 1M rows
    country, risk = view["country_iso3"], view["risk_class"]
    if isinstance(country.dtype, pd.CategoricalDtype) and list(getattr(risk.dtype, "categories", [])) == list(
        RISK_CLASSES
    ):
        names = [*country.cat.categories.astype(str), "—"]  # a missing country last, as add_categories put it
        cc = np.where(country.cat.codes.to_numpy() < 0, len(names) - 1, country.cat.codes.to_numpy())
        kc = risk.cat.codes.to_numpy()
        ok = kc >= 0
        k = len(RISK_CLASSES)
        counts = np.bincount(cc[ok].astype(np.int64) * k + kc[ok], minlength=len(names) * k).reshape(-1, k)
        tab = pd.DataFrame(counts, index=pd.Index(names, name="country_iso3"), columns=list(RISK_CLASSES))
        tab = tab[tab.sum(axis=1) > 0]
        return tab.loc[tab.sum(axis=1).sort_values(ascending=False).index[:top]]
    if isinstance(country.dtype, pd.CategoricalDtype) and country.isna().any():
        country = country.cat.add_categories(["—"]).fillna("—")
    elif not isinstance(country.dtype, pd.CategoricalDtype):
        country = country.astype("string").fillna("—")
    tab = view.groupby([country, view["risk_class"]], observed=True).size().unstack(fill_value=0)
    tab.columns = tab.columns.astype(str)
    tab.index = tab.index.astype(str)
    tab = tab.reindex(columns=list(RISK_CLASSES), fill_value=0)
    tab = tab[tab.sum(axis=1) > 0]
    return tab.loc[tab.sum(axis=1).sort_values(ascending=False).index[:top]]


def commodity_counts(view: pd.DataFrame) -> pd.Series:
    """Site counts by primary commodity, largest first."""
    if view.empty:
        return pd.Series(dtype="int64")
    col = view["commodity"]
    if isinstance(col.dtype, pd.CategoricalDtype):  # a prepared frame: count the codes, no strings built
        counts = pd.Series(np.bincount(col.cat.codes.to_numpy() + 1, minlength=len(col.cat.categories) + 1),
                           index=["—", *col.cat.categories.astype(str)], name="count")  # fmt: skip
        return counts[counts > 0].sort_values(ascending=False, kind="stable")
    counts = col.astype("string").fillna("—").value_counts()
    return counts[counts > 0]


def mercury_by_country(view: pd.DataFrame, top: int = 25, *, config: RiskConfig | None = None) -> pd.DataFrame:
    """Mercury estimate (kg/yr) by country: hg_kg_per_yr, hg_kg_per_yr_low, hg_kg_per_yr_high, n_sites and
    n_hg_unknown_size (mercury-using sites of unknown size: not in the totals).

    The band is p5-p95 of the country's summed Monte Carlo draws (``geo.uncertainty.mercury_totals``, as
    ``geo.summary.summarise_by`` gives them) under ``config``, the configuration the view was scored with
    (default: the one stored in ``view.attrs``); remembered across weight changes (``dashboard.totals``).
    """
    cols = ["hg_kg_per_yr_low", "hg_kg_per_yr", "hg_kg_per_yr_high"]
    empty = pd.DataFrame(columns=[*cols, "n_sites", "n_hg_unknown_size"])
    if view.empty or any(c not in view.columns for c in cols) or "country_iso3" not in view.columns:
        return empty
    config = config if config is not None else config_of(view)
    if config is None:  # no risk configuration to draw the totals from
        return empty
    summary = grouped_mercury_totals(view, config, "country_iso3").set_index("country_iso3")
    out = summary[[*cols, "n_sites", "n_hg_unknown_size"]]
    return out.sort_values(["hg_kg_per_yr", "n_hg_unknown_size"], ascending=False).head(top)


def remember_sorted_distances(prepared: pd.DataFrame) -> None:
    """Sort a prepared frame's distances once (per dataset), for :func:`sorted_distances` of its views.

    Sets ``attrs[DIST_DIGEST_ATTR]`` (a digest of the column in row order) and keeps the stable sort
    order and the sorted values under it (per process, bounded; a memo of a pure function, not user state).
    """
    if DIST_COLUMN not in prepared.columns:
        return
    dist = prepared[DIST_COLUMN].to_numpy(dtype="float64", na_value=np.nan)
    digest = hashlib.blake2b(np.ascontiguousarray(dist).tobytes(), digest_size=16).hexdigest()
    prepared.attrs[DIST_DIGEST_ATTR] = digest
    order = np.argsort(dist, kind="stable").astype(np.int32)  # NaN last
    with _sorted_lock:
        _sorted[digest] = (order, dist[order])
        _sorted.move_to_end(digest)
        while len(_sorted) > _SORTED_MAX:
            _sorted.popitem(last=False)


def sorted_distances(view: pd.DataFrame, *, row_column: str = "_row") -> np.ndarray:
    """The finite distances of ``view``, sorted.

    A view of a prepared frame (``row_column`` its rows' positions there, ``attrs`` the frame's distance
    digest) reads them off the frame's sorted distances: one pass over the frame's rows, where a weight
    change on a million sites sorted the million distances again (~50-80 ms). Small views are sorted.
    """
    if DIST_COLUMN not in view.columns:
        return np.empty(0)
    dist = view[DIST_COLUMN].to_numpy(dtype="float64", na_value=np.nan)
    digest = view.attrs.get(DIST_DIGEST_ATTR)
    with _sorted_lock:
        memo = _sorted.get(digest) if digest is not None else None
    if memo is not None and row_column in view.columns and len(view) * 16 >= len(memo[0]):
        order, whole = memo
        in_view = np.zeros(len(order), dtype=bool)
        in_view[view[row_column].to_numpy()] = True
        x = whole[in_view[order]]
        return x[np.isfinite(x)]
    return np.sort(dist[np.isfinite(dist)])


def ecdf(values: np.ndarray, max_points: int = 400, *, presorted: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Empirical CDF (x sorted, share 0-1) of the finite values, thinned to at most ``max_points`` steps.

    ``presorted``: ``values`` are finite and sorted already (:func:`sorted_distances`).
    """
    x = values if presorted else np.sort(values[np.isfinite(values)])
    if x.size == 0:
        return x, x
    y = np.arange(1, x.size + 1, dtype="float64") / x.size
    if x.size > max_points:
        idx = np.unique(np.linspace(0, x.size - 1, max_points).astype(int))
        x, y = x[idx], y[idx]
    return x, y


def share_within(values: np.ndarray, marks_km: Sequence[float] = BUFFER_MARKS_KM) -> dict[float, float]:
    """Share (0-1) of the finite distances at or under each mark."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return dict.fromkeys(marks_km, math.nan)
    return {m: float(np.mean(finite <= m)) for m in marks_km}
