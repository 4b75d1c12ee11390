"""The risk model's numbers and states in words, for the table, the site detail and the weights panel.

Pure (no dash): bands ('61.6 (48–75)'), probabilities ('<1%'), practices, which receptors a site or a
dataset did not assess, and the explanation sentence written on demand for the rows shown (the
dashboard re-scores without it: ``dashboard.data.rescore``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from dashboard.labels import PRACTICE_VOCABS, PRACTICE_WORDS, RECEPTOR_WORDS
from geo.risk import RiskConfig, assessed_receptors, risk_explanations
from geo.vocab import RECEPTORS


def short_number(x: float) -> str:
    """A number as an analyst reads it: whole (with thousands commas) from 100, one decimal from 1,
    two significant digits below 1 (the rule of the explanation sentence and of the table's cells)."""
    a = abs(x)
    if a >= 100:
        return f"{x:,.0f}"
    if a >= 1:
        return f"{x:.1f}"
    if a == 0:
        return "0"
    return f"{x:.2g}"


def finite(value: Any) -> bool:
    """A real, finite number (not a bool, None or NaN)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def band_text(
    central: float,
    low: Any,
    high: Any,
    *,
    fmt: Callable[[float], str] = short_number,
    band_fmt: Callable[[float], str] | None = None,
) -> str:
    """'central (low–high)'; the central value alone when the band is missing or has no width."""
    band_fmt = band_fmt or fmt
    text = fmt(central)
    if not (finite(low) and finite(high)):
        return text
    lo, hi = band_fmt(low), band_fmt(high)
    return text if lo == hi else f"{text} ({lo}–{hi})"


def risk_band_text(record: Mapping[str, Any]) -> str:
    """The score with its 90 % range, as the table shows it: '61.6 (48–75)'."""
    risk = record.get("risk_0_100")
    if not finite(risk):
        return "no score"
    if not (finite(record.get("risk_0_100_low")) and finite(record.get("risk_0_100_high"))):
        return f"{risk:.1f} (no range: size unknown)"  # a mercury user of unknown size (geo.risk)
    return band_text(
        risk, record.get("risk_0_100_low"), record.get("risk_0_100_high"), fmt=lambda x: f"{x:.1f}",
        band_fmt=lambda x: f"{x:.0f}",
    )  # fmt: skip


def probability_text(p: Any) -> str:
    """A probability as a whole percentage that never rounds a possibility away: '<1%', '>99%'."""
    if not finite(p):
        return "unknown"
    if 0 < p < 0.005:
        return "<1%"
    if 0.995 <= p < 1:
        return ">99%"
    return f"{100 * p:.0f}%"


def practices_text(record: Mapping[str, Any]) -> str:
    """The site's mercury practices in words: 'whole-ore amalgamation, no retort, no cyanide leaching'."""
    parts = []
    for column, words in PRACTICE_WORDS.items():
        value = record.get(column)
        value = value if value in PRACTICE_VOCABS[column] else "unknown"
        parts.append(words[value])
    return ", ".join(parts)


def receptor_status(record: Mapping[str, Any], weights: Mapping[str, float]) -> tuple[list[str], list[str], list[str]]:
    """(assessed, not assessed, switched off) receptors of a site, in words.

    A receptor is switched off when its weight is 0 (left out on purpose); not assessed when it
    has a weight but the site has no fact for it (no layer, or no data at the site).
    """
    assessed_set = set(str(record.get("receptors_assessed") or "").split(";"))
    assessed, missing, off = [], [], []
    for r in RECEPTORS:
        if float(weights.get(r, 0.0)) <= 0:
            off.append(RECEPTOR_WORDS[r])
        elif r in assessed_set:
            assessed.append(RECEPTOR_WORDS[r])
        else:
            missing.append(RECEPTOR_WORDS[r])
    return assessed, missing, off


def not_assessed_words(frame: pd.DataFrame, weights: Mapping[str, float]) -> list[str]:
    """Per row, the receptors with a weight that the row did not assess, in words ('' when none)."""
    assessed = assessed_receptors(frame)
    needed = [r for r in RECEPTORS if float(weights.get(r, 0.0)) > 0]
    words = np.full(len(frame), "", dtype=object)
    for r in needed:
        gap = ~assessed[r]
        words[gap] = np.where(words[gap] == "", RECEPTOR_WORDS[r], words[gap] + ", " + RECEPTOR_WORDS[r])
    return words.tolist()


def not_assessed_summary(scored: pd.DataFrame, weights: Mapping[str, float]) -> list[tuple[str, int]]:
    """(receptor, sites not assessed) for each receptor with a weight that some site did not assess.

    Counted over the distinct ``receptors_assessed`` values (a categorical's codes), not row by row.
    """
    n = len(scored)
    if n == 0 or "receptors_assessed" not in scored.columns:
        return []
    assessed = assessed_receptors(scored)
    return [
        (r, missing)
        for r in RECEPTORS
        if float(weights.get(r, 0.0)) > 0 and (missing := int(n - np.count_nonzero(assessed[r]))) > 0
    ]


def with_explanations(frame: pd.DataFrame, config: RiskConfig) -> pd.DataFrame:
    """``frame`` with its empty ``risk_explanation`` cells written (the dashboard re-scores without them).

    The sentence is built only for the rows that lack it, so a table block or one site costs
    a few rows' worth; an export of a re-scored view writes every row's sentence here.
    """
    if "risk_explanation" not in frame.columns or "risk_0_100" not in frame.columns or len(frame) == 0:
        return frame
    current = frame["risk_explanation"].astype("string").fillna("").to_numpy(dtype=object)
    todo = np.flatnonzero(current == "")
    if len(todo) == 0:
        return frame
    current[todo] = risk_explanations(frame.iloc[todo], config).to_numpy(dtype=object)
    return frame.assign(risk_explanation=pd.array(current, dtype="str"))


def risk_cell_text(risk: Any, low: Any, high: Any, complete: Any = True) -> str:
    """The table's risk cell: '61.6 (48–75)', with ' *' when the score is partial (a receptor not assessed)."""
    text = risk_band_text({"risk_0_100": risk, "risk_0_100_low": low, "risk_0_100_high": high})
    return text + " *" if is_false(complete) else text


def mercury_cell_text(hg: Any, low: Any, high: Any) -> str:
    """The table's mercury cell: '67.2 (8.8–511)' kg/yr, '0', or 'unknown' (a user of unknown size)."""
    if not finite(hg):
        return "unknown"
    return band_text(hg, low, high) if hg > 0 else "0"


def complete_cell_text(complete: Any, not_assessed: str) -> str:
    """The table's score_complete cell: 'yes', or 'partial: <receptors> not assessed'."""
    if is_false(complete):
        return f"partial: {not_assessed} not assessed" if not_assessed else "partial"
    return "yes" if isinstance(complete, bool | np.bool_) else "unknown"


def is_false(value: Any) -> bool:
    """A boolean False (Python or NumPy), not a missing value."""
    return isinstance(value, bool | np.bool_) and not value
