"""The risk-model weights a session sets (pure, no dash imports): the defaults of a configuration, what differs
from them (what goes in the URL), a typed weight checked, and the overrides as ``geo.risk`` takes them and as a
cache key.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from typing import Any

from dashboard.state import DECAY_KEYS, WEIGHT_KEYS


def default_weights(config: Mapping[str, Any] | str) -> tuple[dict[str, float], dict[str, list[float]]]:
    """The factor weights and decay (near_km, outer_km) of a risk configuration (TOML text or its dict)."""
    cfg = tomllib.loads(config) if isinstance(config, str) else config
    weights = {k: float(v) for k, v in cfg.get("weights", {}).items() if k in WEIGHT_KEYS}
    decay = {
        k: [float(v["near_km"]), float(v["outer_km"])]
        for k, v in cfg.get("decay", {}).items()
        if k in DECAY_KEYS and "near_km" in v and "outer_km" in v
    }
    return weights, decay


def weight_changes(
    weights: Mapping[str, float],
    decay: Mapping[str, Sequence[float]],
    defaults: tuple[dict[str, float], dict[str, list[float]]],
) -> tuple[dict[str, float], dict[str, list[float]]]:
    """Only the weights and decay ranges that differ from the defaults (what goes in the URL)."""
    dw, dd = defaults
    w = {k: float(v) for k, v in weights.items() if v is not None and k in dw and abs(float(v) - dw[k]) > 1e-9}
    d = {
        k: [float(v[0]), float(v[1])]
        for k, v in decay.items()
        if v is not None and k in dd and (abs(v[0] - dd[k][0]) > 1e-9 or abs(v[1] - dd[k][1]) > 1e-9)
    }
    return w, d


def typed_weight(value: Any, current: float | None) -> tuple[float | None, str]:
    """(weight to apply or None, message) for a value typed in a weight box: 0-1, else refused in words."""
    keep = f"; the weight stays at {current:g}" if isinstance(current, int | float) else ""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None, f"Not a number{keep}. Type a weight from 0 (factor off) to 1."
    if not math.isfinite(x) or not 0.0 <= x <= 1.0:
        return None, f"{value:g} is outside 0 to 1: not applied{keep}. A weight runs from 0 (factor off) to 1."
    return x, ""


def config_overrides(weights: Mapping[str, float], decay: Mapping[str, Sequence[float]]) -> dict[str, Any]:
    """Nested TOML-shaped overrides for ``geo.risk.load_risk_config(text, overrides)``."""
    out: dict[str, Any] = {}
    if weights:
        out["weights"] = {k: float(v) for k, v in sorted(weights.items())}
    if decay:
        out["decay"] = {k: {"near_km": float(v[0]), "outer_km": float(v[1])} for k, v in sorted(decay.items())}
    return out


def overrides_key(weights: Mapping[str, float], decay: Mapping[str, Sequence[float]]) -> tuple:
    """A hashable form of the overrides, for caches."""
    return (
        tuple(sorted((k, round(float(v), 6)) for k, v in weights.items())),
        tuple(sorted((k, round(float(v[0]), 6), round(float(v[1]), 6)) for k, v in decay.items())),
    )
