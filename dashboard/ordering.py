"""The rows of one table block in sort order, without sorting the whole view (pure; no dash imports).

The grid asks for rows ``start:end`` of a view sorted by some columns. Sorting a million-row view
(every column reordered) to send 100 rows cost more than a second; here only the sort keys are
ordered, and for one numeric key only the ``end`` smallest keys (a partition, then a sort of those):
the positions are those ``DataFrame.sort_values(..., kind="stable", na_position="last")`` gives.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def sorted_positions(frame: pd.DataFrame, by: Sequence[str], ascending: Sequence[bool], end: int) -> np.ndarray:
    """Row positions of ``frame`` sorted by ``by`` (stable, missing values last): the first ``end`` of them."""
    if (
        len(by) == 1
        and pd.api.types.is_numeric_dtype(frame[by[0]].dtype)
        and not pd.api.types.is_bool_dtype(frame[by[0]].dtype)
    ):
        return _top_numeric(frame[by[0]].to_numpy(dtype="float64", na_value=np.nan), ascending[0], end)
    keys = frame[list(by)].reset_index(drop=True)
    order = keys.sort_values(list(by), ascending=list(ascending), na_position="last", kind="stable").index
    return order.to_numpy()[:end]


def _top_numeric(values: np.ndarray, ascending: bool, end: int) -> np.ndarray:
    """The first ``end`` positions of a stable sort of ``values`` (NaN last), in O(n) plus O(end log end)."""
    finite = ~np.isnan(values)
    present = np.flatnonzero(finite)
    key = values[present] if ascending else -values[present]
    if end < len(key):
        kth = np.partition(key, end - 1)[end - 1] if end > 0 else -np.inf
        keep = key <= kth  # every key before the end-th, and all its ties (stable: by position)
        present, key = present[keep], key[keep]
    order = present[np.argsort(key, kind="stable")]
    if len(order) < end:
        order = np.concatenate([order, np.flatnonzero(~finite)])
    return order[:end]
