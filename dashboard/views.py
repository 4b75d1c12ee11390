"""Pure filtering of the scored sites for the dashboard (no dash imports)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def filter_sites(
    scored: pd.DataFrame,
    *,
    countries: Sequence[str] | None = None,
    commodities: Sequence[str] | None = None,
    risk_classes: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Rows matching every given filter; an empty or None filter means 'all'."""
    mask = np.ones(len(scored), dtype=bool)
    if countries:
        mask &= scored["country_iso3"].isin(list(countries)).to_numpy()
    if commodities:
        mask &= scored["commodity"].isin(list(commodities)).to_numpy()
    if risk_classes is not None:
        mask &= scored["risk_class"].astype("string").isin(list(risk_classes)).fillna(False).to_numpy()
    return scored[mask]
