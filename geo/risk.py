"""Mercury-risk model for artisanal and small-scale mining (ASM) sites.

The model is documented in full, with the source of every default, in
``docs/risk-model.md``; the defaults live in ``config/risk.toml``.

Two steps, kept apart so that a weight change never re-runs a spatial join:

1. ``layers.pipeline.compute_facts`` (elsewhere) measures the spatial facts once:
   distances to protected areas, rainforest, reefs, the Arctic and water.
2. :func:`score_sites` turns those facts into a score with plain NumPy arithmetic
   (no per-row Python): re-scoring 100 000 sites takes ~0.06-0.15 s (benchmarks/bench_rescore.py).

Score structure
---------------
Every factor has a term in [0, 1] and a weight in [0, 1].

* hazard ``H = 1 - (1 - w_hg * mercury_index) * (1 - w_lu * land_use_index)``
* sensitivity ``S = 1 - prod_j (1 - w_j * s_j)`` over protected area, rainforest,
  reef, Arctic and water, where ``s_j`` is a distance decay (times the IUCN
  category weight for protected areas)
* ``risk_0_100 = 100 * H * (f + (1 - f) * S)`` with ``f`` the background sensitivity.

The score rises with every term (so moving closer to a protected area or adding
mercury use never lowers it) and stays within 0-100. It is split into
``contrib_*`` columns that add up to it exactly: each side is first shared among
its factors in proportion to their weighted terms, then the ``H * S`` product is
shared half-and-half between the two sides (the Shapley split of a product).
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

MODEL_VERSION = "asm-risk-model 1.0"

#: The repository's default configuration. :func:`default_risk_config_text` reads it;
#: this is the one file geo/ reads, by design (the defaults must ship with the model).
DEFAULT_RISK_CONFIG_PATH = Path(__file__).resolve().parents[1] / "config" / "risk.toml"

RISK_CLASSES: tuple[str, ...] = ("low", "moderate", "high", "very high")
RISK_CLASS_DTYPE = pd.CategoricalDtype(list(RISK_CLASSES), ordered=True)

HAZARD_FACTORS: tuple[str, ...] = ("mercury", "land_use")
SENSITIVITY_FACTORS: tuple[str, ...] = ("protected_area", "rainforest", "reef", "arctic", "water")
FACTORS: tuple[str, ...] = HAZARD_FACTORS + SENSITIVITY_FACTORS
CONTRIB_COLUMNS: tuple[str, ...] = tuple(f"contrib_{f}" for f in FACTORS)

AMALGAMATION_PROCESSES: tuple[str, ...] = ("whole_ore_amalgamation", "concentrate_amalgamation", "retort")
MERCURY_FREE_PROCESSES: tuple[str, ...] = ("gravity_only", "cyanidation")
RATIO_KEYS: tuple[str, ...] = (*AMALGAMATION_PROCESSES, "unknown_amalgamation")

HAZARD_COLUMNS: tuple[str, ...] = (
    "gold_kg_per_yr_est",
    "hg_kg_per_yr_low",
    "hg_kg_per_yr",
    "hg_kg_per_yr_high",
    "hg_kg_per_yr_air",
    "hg_basis",
)
OUTPUT_COLUMNS: tuple[str, ...] = (
    *HAZARD_COLUMNS,
    "mercury_index",
    "land_use_index",
    "hazard_index",
    "sensitivity_index",
    *CONTRIB_COLUMNS,
    "risk_0_100",
    "risk_class",
    "missing_factors",
    "risk_explanation",
)

# Fact columns read by each sensitivity factor: (distance column, inside flag or None).
_SENSITIVITY_COLUMNS: dict[str, tuple[str, str | None]] = {
    "protected_area": ("dist_protected_area_km", "in_protected_area"),
    "rainforest": ("dist_rainforest_km", "in_rainforest"),
    "reef": ("dist_reef_km", None),
    "arctic": ("dist_arctic_km", "in_arctic"),
    "water": ("dist_water_km", None),
}

_PROCESS_LABELS: dict[str, str] = {
    "whole_ore_amalgamation": "whole-ore amalgamation",
    "concentrate_amalgamation": "concentrate amalgamation",
    "retort": "amalgamation with retort",
    "cyanidation": "cyanidation",
    "gravity_only": "gravity only",
    "unknown": "processing unknown",
}

# hg_basis vocabulary (a categorical column; codes index this tuple).
HG_BASES: tuple[str, ...] = (
    "no mercury (not gold)",
    "no mercury (mercury_use = no)",
    "no mercury (mercury-free processing)",
    "production",
    "workers",
    "unknown size",
    "production; mercury use assumed",
    "workers; mercury use assumed",
    "unknown size; mercury use assumed",
    "no mercury (mercury use unknown, assumed none)",
)


# --------------------------------------------------------------------------- errors
class RiskConfigError(ValueError):
    """A risk configuration value is invalid.

    ``key`` is the dotted TOML key (e.g. ``weights.mercury``); ``problem`` and ``fix``
    are the two halves of the message, so the caller can wrap them into
    ``layers.errors.ConfigError(path, problem, fix)``.
    """

    def __init__(self, key: str, problem: str, fix: str) -> None:
        self.key = key
        self.problem = f"{key}: {problem}" if key else problem
        self.fix = fix
        super().__init__(f"{self.problem}. Fix: {fix}")


class TomlSyntaxError(RiskConfigError):
    """The text is not valid TOML."""


class UnknownKeyError(RiskConfigError):
    """A key that the model does not know (usually a typo)."""


class ConfigTypeError(RiskConfigError):
    """A value of the wrong type (e.g. a string where a number is expected)."""


class OutOfRangeError(RiskConfigError):
    """A number outside its valid range (e.g. a negative weight)."""


class OrderError(RiskConfigError):
    """Values that must be increasing are not (class thresholds, low <= central <= high, decay distances)."""


# --------------------------------------------------------------------------- config
@dataclass(frozen=True)
class Range3:
    """A low / central / high triple (same unit as the key it belongs to)."""

    low: float
    central: float
    high: float

    def to_dict(self) -> dict[str, float]:
        return {"low": self.low, "central": self.central, "high": self.high}


@dataclass(frozen=True)
class Decay:
    """Piecewise-linear distance decay: 1 at 0 km, ``near_value`` at ``near_km``, 0 from ``outer_km`` on."""

    near_km: float
    near_value: float
    outer_km: float

    def __call__(self, dist_km: np.ndarray) -> np.ndarray:
        """Decay factor in [0, 1] for distances in km (negative treated as 0, NaN gives 0)."""
        d = np.maximum(np.asarray(dist_km, dtype=np.float64), 0.0)
        inner = 1.0 - (1.0 - self.near_value) * d / self.near_km
        outer = self.near_value * (self.outer_km - d) / (self.outer_km - self.near_km)
        with np.errstate(invalid="ignore"):
            out = np.where(d <= self.near_km, inner, np.where(d < self.outer_km, outer, 0.0))
        return np.nan_to_num(out, nan=0.0)

    def to_dict(self) -> dict[str, float]:
        return {"near_km": self.near_km, "near_value": self.near_value, "outer_km": self.outer_km}


@dataclass(frozen=True)
class RiskConfig:
    """Every number of the risk model. Immutable; build one with :func:`load_risk_config`.

    Mapping fields are read-only views. ``to_dict()`` / ``to_toml()`` give the full
    configuration (for exports: a file written by ``to_toml`` reloads to an equal config).
    """

    version: str
    class_thresholds: tuple[float, float, float]  # lower bounds of moderate, high, very high (0-100)
    background_sensitivity: float
    weights: Mapping[str, float]
    mercury_saturation_kg_per_yr: float
    air_fraction: float
    unknown_mercury_use_weight: float
    unknown_size_index: float
    productivity_g_au_per_worker_yr: Range3
    hg_au_ratio: Mapping[str, Range3]
    decay: Mapping[str, Decay]
    iucn_weights: Mapping[str, float]
    land_use: Mapping[str, float]
    _fingerprint: str = field(default="", repr=False, compare=False)

    def __hash__(self) -> int:
        return hash(self.fingerprint)

    @property
    def fingerprint(self) -> str:
        """Short SHA-256 of the canonical configuration (for cache keys and export metadata)."""
        if not self._fingerprint:
            canon = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
            object.__setattr__(self, "_fingerprint", hashlib.sha256(canon.encode()).hexdigest()[:16])
        return self._fingerprint

    def to_dict(self) -> dict[str, Any]:
        """The configuration as plain nested dicts, in the layout of ``config/risk.toml``."""
        moderate, high, very_high = self.class_thresholds
        return {
            "version": self.version,
            "classes": {"moderate": moderate, "high": high, "very_high": very_high},
            "combine": {"background_sensitivity": self.background_sensitivity},
            "weights": dict(self.weights),
            "mercury": {
                "saturation_kg_per_yr": self.mercury_saturation_kg_per_yr,
                "air_fraction": self.air_fraction,
                "unknown_mercury_use_weight": self.unknown_mercury_use_weight,
                "unknown_size_index": self.unknown_size_index,
                "productivity_g_au_per_worker_yr": self.productivity_g_au_per_worker_yr.to_dict(),
                "hg_au_ratio": {k: v.to_dict() for k, v in self.hg_au_ratio.items()},
            },
            "decay": {k: v.to_dict() for k, v in self.decay.items()},
            "iucn_weights": dict(self.iucn_weights),
            "land_use": dict(self.land_use),
        }

    def to_toml(self) -> str:
        """The configuration as TOML text (no comments; see ``config/risk.toml`` for the sources)."""
        header = f"# {self.version} risk configuration (fingerprint {self.fingerprint}); sources: docs/risk-model.md\n"
        return header + _dump_toml(self.to_dict())

    def with_overrides(self, overrides: Mapping[str, Any]) -> RiskConfig:
        """A new config with some values replaced, validated like a file.

        ``overrides`` may be nested (``{"weights": {"mercury": 0.8}}``) or use dotted
        keys (``{"weights.mercury": 0.8}``), e.g. a per-session dict from the dashboard.
        """
        merged = _deep_merge(self.to_dict(), _expand_dotted(overrides), prefix="")
        return _config_from_dict(merged)


def default_risk_config_text() -> str:
    """The text of the repository's ``config/risk.toml``."""
    return DEFAULT_RISK_CONFIG_PATH.read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _default_dict_cached() -> str:
    # Cached as canonical JSON (immutable); each caller gets a fresh dict from json.loads.
    text = default_risk_config_text()
    return json.dumps(_parse_toml(text))


def _default_dict() -> dict[str, Any]:
    return json.loads(_default_dict_cached())


def load_risk_config(text: str | None = None, overrides: Mapping[str, Any] | None = None) -> RiskConfig:
    """Parse and validate a risk configuration.

    Parameters
    ----------
    text : str or None
        TOML text (the caller reads the file). It may hold only the keys it changes:
        the others keep the repository defaults (``config/risk.toml``). None means
        the defaults alone.
    overrides : mapping, optional
        Values applied on top of ``text``, nested or with dotted keys
        (``{"weights.mercury": 0.8}``): per-call or per-session tweaks.

    Returns
    -------
    RiskConfig

    Raises
    ------
    RiskConfigError
        A ``ValueError`` subclass naming the key and the valid range:
        :class:`TomlSyntaxError`, :class:`UnknownKeyError`, :class:`ConfigTypeError`,
        :class:`OutOfRangeError` or :class:`OrderError`.
    """
    merged = _default_dict()
    if text is not None:
        merged = _deep_merge(merged, _parse_toml(text), prefix="")
    if overrides:
        merged = _deep_merge(merged, _expand_dotted(overrides), prefix="")
    return _config_from_dict(merged)


def _parse_toml(text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TomlSyntaxError("", f"not valid TOML ({exc})", "correct the TOML syntax at the line given") from exc


def _expand_dotted(overrides: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in overrides.items():
        if not isinstance(key, str):
            raise UnknownKeyError(repr(key), "override keys must be strings", "use dotted names like 'weights.mercury'")
        parts = key.split(".")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigTypeError(key, "conflicts with another override", "give each key once")
        if isinstance(value, Mapping):
            value = _expand_dotted(value)
            existing = node.get(parts[-1])
            if isinstance(existing, dict):
                value = _deep_merge(existing, value, prefix="", check_keys=False)
        node[parts[-1]] = value
    return out


def _deep_merge(base: dict[str, Any], new: Mapping[str, Any], prefix: str, check_keys: bool = True) -> dict[str, Any]:
    out = dict(base)
    for key, value in new.items():
        dotted = f"{prefix}{key}"
        if check_keys and key not in base:
            valid = ", ".join(sorted(str(k) for k in base))
            raise UnknownKeyError(dotted, "unknown key", f"use one of: {valid}")
        if isinstance(base.get(key), dict):
            if not isinstance(value, Mapping):
                raise ConfigTypeError(dotted, f"must be a table, got {value!r}", f"write [{dotted}] with its keys")
            out[key] = _deep_merge(base[key], value, prefix=f"{dotted}.", check_keys=check_keys)
        else:
            if isinstance(value, Mapping) and check_keys:
                raise ConfigTypeError(dotted, "must be a single value, not a table", "give a number or string")
            out[key] = value
    return out


def _number(d: Mapping[str, Any], key: str, dotted: str, lo: float, hi: float, *, lo_open: bool = False) -> float:
    value = d[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigTypeError(dotted, f"must be a number, got {value!r}", f"give a number between {lo:g} and {hi:g}")
    value = float(value)
    bad_lo = value <= lo if lo_open else value < lo
    if math.isnan(value) or bad_lo or value > hi:
        bracket = "(" if lo_open else "["
        raise OutOfRangeError(
            dotted, f"{value:g} is out of range {bracket}{lo:g}, {hi:g}]", f"give a value between {lo:g} and {hi:g}"
        )
    return value


def _range3(d: Mapping[str, Any], dotted: str, hi: float) -> Range3:
    low, central, high = (_number(d, k, f"{dotted}.{k}", 0.0, hi) for k in ("low", "central", "high"))
    if not low <= central <= high:
        raise OrderError(
            dotted,
            f"low {low:g}, central {central:g}, high {high:g} are out of order",
            "make low <= central <= high",
        )
    return Range3(low, central, high)


def _config_from_dict(d: Mapping[str, Any]) -> RiskConfig:
    version = d["version"]
    if not isinstance(version, str) or not version.strip():
        raise ConfigTypeError("version", f"must be a non-empty string, got {version!r}", f'e.g. "{MODEL_VERSION}"')

    cls = d["classes"]
    thresholds = tuple(
        _number(cls, k, f"classes.{k}", 0.0, 100.0, lo_open=True) for k in ("moderate", "high", "very_high")
    )
    if not thresholds[0] < thresholds[1] < thresholds[2] < 100.0:
        raise OrderError(
            "classes",
            f"thresholds moderate={thresholds[0]:g}, high={thresholds[1]:g}, very_high={thresholds[2]:g} are out of order",
            "make 0 < moderate < high < very_high < 100",
        )

    background = _number(d["combine"], "background_sensitivity", "combine.background_sensitivity", 0.0, 1.0)
    weights = {k: _number(d["weights"], k, f"weights.{k}", 0.0, 1.0) for k in FACTORS}

    hg = d["mercury"]
    saturation = _number(hg, "saturation_kg_per_yr", "mercury.saturation_kg_per_yr", 0.0, 1e9, lo_open=True)
    air = _number(hg, "air_fraction", "mercury.air_fraction", 0.0, 1.0)
    unknown_use = _number(hg, "unknown_mercury_use_weight", "mercury.unknown_mercury_use_weight", 0.0, 1.0)
    unknown_size = _number(hg, "unknown_size_index", "mercury.unknown_size_index", 0.0, 1.0)
    productivity = _range3(hg["productivity_g_au_per_worker_yr"], "mercury.productivity_g_au_per_worker_yr", 1e6)
    ratios = {k: _range3(hg["hg_au_ratio"][k], f"mercury.hg_au_ratio.{k}", 1000.0) for k in RATIO_KEYS}

    decay: dict[str, Decay] = {}
    for name in SENSITIVITY_FACTORS:
        dd, dotted = d["decay"][name], f"decay.{name}"
        near = _number(dd, "near_km", f"{dotted}.near_km", 0.0, 20000.0, lo_open=True)
        near_value = _number(dd, "near_value", f"{dotted}.near_value", 0.0, 1.0)
        outer = _number(dd, "outer_km", f"{dotted}.outer_km", 0.0, 20000.0, lo_open=True)
        if not outer > near:
            raise OrderError(dotted, f"outer_km {outer:g} is not beyond near_km {near:g}", "make outer_km > near_km")
        decay[name] = Decay(near, near_value, outer)

    iucn = {str(k): _number(d["iucn_weights"], k, f"iucn_weights.{k}", 0.0, 1.0) for k in d["iucn_weights"]}
    land_use = {str(k): _number(d["land_use"], k, f"land_use.{k}", 0.0, 1.0) for k in d["land_use"]}
    for table, values in (("iucn_weights", iucn), ("land_use", land_use)):
        if "default" not in values:
            raise UnknownKeyError(f"{table}.default", "missing", f"give {table}.default (a number in [0, 1])")

    return RiskConfig(
        version=version.strip(),
        class_thresholds=thresholds,  # type: ignore[arg-type]
        background_sensitivity=background,
        weights=MappingProxyType(weights),
        mercury_saturation_kg_per_yr=saturation,
        air_fraction=air,
        unknown_mercury_use_weight=unknown_use,
        unknown_size_index=unknown_size,
        productivity_g_au_per_worker_yr=productivity,
        hg_au_ratio=MappingProxyType(ratios),
        decay=MappingProxyType(decay),
        iucn_weights=MappingProxyType(iucn),
        land_use=MappingProxyType(land_use),
    )


def _toml_key(key: str) -> str:
    bare = key.replace("_", "").replace("-", "").isalnum() and key.isascii()
    return key if bare else json.dumps(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(float(value))
    if isinstance(value, str):
        return json.dumps(value)
    raise TypeError(f"cannot write {value!r} as TOML")


def _dump_toml(d: Mapping[str, Any], prefix: str = "") -> str:
    scalars = [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in d.items() if not isinstance(v, Mapping)]
    lines = [f"\n[{prefix}]"] if prefix and scalars else []
    lines += scalars
    text = "\n".join(lines) + ("\n" if lines else "")
    for k, v in d.items():
        if isinstance(v, Mapping):
            text += _dump_toml(v, f"{prefix}.{_toml_key(k)}" if prefix else _toml_key(k))
    return text


@lru_cache(maxsize=1)
def default_risk_config() -> RiskConfig:
    """The repository defaults (cached; RiskConfig is immutable)."""
    return load_risk_config(None)


# --------------------------------------------------------------------------- facts helpers
def _float_col(facts: pd.DataFrame, col: str) -> np.ndarray:
    if col not in facts.columns:
        return np.full(len(facts), np.nan)
    return pd.to_numeric(facts[col], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _bool_col(facts: pd.DataFrame, col: str | None) -> np.ndarray:
    if col is None or col not in facts.columns:
        return np.zeros(len(facts), dtype=bool)
    s = facts[col]
    if s.dtype == bool:
        return s.to_numpy()
    return s.fillna(False).astype(bool).to_numpy()


def _codes(facts: pd.DataFrame, col: str, categories: tuple[str, ...] | list[str]) -> np.ndarray:
    """Position of each value in ``categories`` (-1 for absent, missing or unknown values); Arrow kernel."""
    if col not in facts.columns:
        return np.full(len(facts), -1, dtype=np.int64)
    arr = pa.array(facts[col], from_pandas=True)
    if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
        arr = pc.cast(arr, pa.string())
    idx = pc.index_in(arr, value_set=pa.array(list(categories), arr.type))
    return pc.fill_null(idx, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def _lookup(
    codes: np.ndarray, table: Mapping[str, float], keys: tuple[str, ...] | list[str], default: float
) -> np.ndarray:
    values = np.asarray([table.get(k, default) for k in keys] + [default], dtype=np.float64)
    return values[codes]  # code -1 picks the trailing default


# --------------------------------------------------------------------------- hazard
def compute_mercury_hazard(facts: pd.DataFrame, config: RiskConfig | None = None) -> pd.DataFrame:
    """Estimated mercury release of each site, kg/yr, as low, central and high values.

    Gold output is taken from ``gold_kg_per_yr`` when known, otherwise from
    ``workers`` x productivity (g Au per worker per year). It is multiplied by the
    Hg:Au ratio of the processing method. Non-gold sites, sites with
    ``mercury_use = "no"`` and sites whose processing is stated as mercury-free
    (gravity only, cyanidation) while mercury use is unknown release nothing.
    A gold site with unknown mercury use and unknown processing is assumed to use
    mercury (times ``unknown_mercury_use_weight``), flagged in ``hg_basis``.

    Parameters
    ----------
    facts : DataFrame
        Site columns ``commodity``, ``commodities``, ``workers``, ``gold_kg_per_yr``,
        ``mercury_use``, ``processing``; any may be absent or NaN.
    config : RiskConfig, optional
        Defaults to :func:`default_risk_config`.

    Returns
    -------
    DataFrame, same index as ``facts``, with ``gold_kg_per_yr_est`` (kg/yr, central),
    ``hg_kg_per_yr_low``, ``hg_kg_per_yr``, ``hg_kg_per_yr_high``, ``hg_kg_per_yr_air``
    (kg Hg/yr; NaN when a mercury-using site has unknown size; 0 without mercury),
    ``hg_basis`` (categorical, see :data:`HG_BASES`) and ``mercury_index`` (0-1).
    """
    cfg = config or default_risk_config()
    n = len(facts)
    is_gold = _codes(facts, "commodity", ("gold",)) == 0
    if "commodities" in facts.columns:
        listed = pc.match_substring(_arrow_str(facts["commodities"], ""), "gold", ignore_case=True)
        is_gold |= listed.to_numpy(zero_copy_only=False)

    # Vocabularies as in layers/schema.py (MERCURY_USE, PROCESSING); anything else counts as unknown.
    mercury_use = _codes(facts, "mercury_use", ("yes", "no"))
    proc_keys = (*AMALGAMATION_PROCESSES, *MERCURY_FREE_PROCESSES)
    processing = _codes(facts, "processing", proc_keys)
    uses_yes = mercury_use == 0
    uses_no = mercury_use == 1
    uses_unknown = mercury_use < 0
    amalgam = (processing >= 0) & (processing < len(AMALGAMATION_PROCESSES))
    mercury_free = processing >= len(AMALGAMATION_PROCESSES)

    # Weight of the mercury estimate: 1 when mercury is used (said so, or implied by an
    # amalgamation method), the "unknown" weight when nothing is known, else 0.
    certain = uses_yes | (uses_unknown & amalgam)
    assumed = uses_unknown & ~amalgam & ~mercury_free
    weight = np.where(certain, 1.0, np.where(assumed, cfg.unknown_mercury_use_weight, 0.0)) * is_gold

    # Hg:Au ratio: the method's own when it is an amalgamation method, otherwise "unknown_amalgamation".
    ratio = {}
    for part in ("low", "central", "high"):
        r = np.full(n, getattr(cfg.hg_au_ratio["unknown_amalgamation"], part))
        for i, proc in enumerate(AMALGAMATION_PROCESSES):
            r[processing == i] = getattr(cfg.hg_au_ratio[proc], part)
        ratio[part] = r

    gold = _float_col(facts, "gold_kg_per_yr")
    workers = _float_col(facts, "workers")
    has_prod = np.isfinite(gold) & (gold >= 0)
    has_workers = ~has_prod & np.isfinite(workers) & (workers >= 0)
    prod = cfg.productivity_g_au_per_worker_yr
    gold_est = {}
    for part in ("low", "central", "high"):
        from_workers = workers * getattr(prod, part) / 1000.0  # g -> kg
        gold_est[part] = np.where(has_prod, gold, np.where(has_workers, from_workers, np.nan))

    emits = weight > 0
    hg = {}
    for part in ("low", "central", "high"):
        with np.errstate(invalid="ignore"):
            hg[part] = np.where(emits, gold_est[part] * ratio[part] * weight, 0.0)

    size_known = np.isfinite(hg["central"])
    with np.errstate(invalid="ignore", divide="ignore"):
        idx_known = np.minimum(np.log1p(hg["central"]) / math.log1p(cfg.mercury_saturation_kg_per_yr), 1.0)
    mercury_index = np.where(
        emits, np.where(size_known, np.nan_to_num(idx_known), cfg.unknown_size_index * weight), 0.0
    )

    # hg_basis codes into HG_BASES.
    size_code = np.where(has_prod, 3, np.where(has_workers, 4, 5))
    basis = np.select(
        [~is_gold, uses_no, ~emits & mercury_free, emits & assumed],
        [0, 1, 2, size_code + 3],
        default=np.where(emits, size_code, 9),
    )

    return pd.DataFrame(
        {
            "gold_kg_per_yr_est": np.where(is_gold, gold_est["central"], np.nan),
            "hg_kg_per_yr_low": hg["low"],
            "hg_kg_per_yr": hg["central"],
            "hg_kg_per_yr_high": hg["high"],
            "hg_kg_per_yr_air": hg["central"] * cfg.air_fraction,
            "hg_basis": pd.Categorical.from_codes(basis.astype(np.int8), categories=list(HG_BASES)),
            "mercury_index": mercury_index,
        },
        index=facts.index,
    )


def compute_land_use_index(facts: pd.DataFrame, config: RiskConfig | None = None) -> np.ndarray:
    """Land-use pressure of each site's primary commodity (0-1, ``config.land_use``; unknown -> default)."""
    cfg = config or default_risk_config()
    keys = [k for k in cfg.land_use if k != "default"]
    return _lookup(_codes(facts, "commodity", keys), cfg.land_use, keys, cfg.land_use["default"])


# --------------------------------------------------------------------------- sensitivity
def compute_sensitivity_terms(
    facts: pd.DataFrame, config: RiskConfig | None = None
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], list[str]]:
    """Sensitivity term (0-1) of each receptor, before weighting.

    Returns
    -------
    terms : dict factor -> float64 array in [0, 1]
    missing : dict factor -> bool array, True where the fact is absent or NaN (term 0)
    absent_layers : list of factors whose distance column is not in ``facts`` at all
    """
    cfg = config or default_risk_config()
    terms: dict[str, np.ndarray] = {}
    missing: dict[str, np.ndarray] = {}
    absent: list[str] = []
    for name in SENSITIVITY_FACTORS:
        dist_col, inside_col = _SENSITIVITY_COLUMNS[name]
        if dist_col not in facts.columns and (inside_col is None or inside_col not in facts.columns):
            absent.append(name)
        dist = _float_col(facts, dist_col)
        inside = _bool_col(facts, inside_col)
        dist = np.where(inside, 0.0, dist)
        missing[name] = np.isnan(dist)
        terms[name] = cfg.decay[name](dist)
    # Protected areas: weighted by the IUCN category of the nearest one.
    keys = [k for k in cfg.iucn_weights if k != "default"]
    w = _lookup(_codes(facts, "nearest_protected_area_iucn", keys), cfg.iucn_weights, keys, cfg.iucn_weights["default"])
    terms["protected_area"] = terms["protected_area"] * w
    return terms, missing, absent


# --------------------------------------------------------------------------- score
def _combine(xs: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Probabilistic OR of weighted terms, and each term's proportional share of it."""
    total = 1.0 - np.prod([1.0 - x for x in xs], axis=0)
    s = np.sum(xs, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(s > 0, total / s, 0.0)
    return total, [x * scale for x in xs]


def score_sites(facts: pd.DataFrame, config: RiskConfig | None = None, *, explain: bool = True) -> pd.DataFrame:
    """Score every site: hazard, sensitivity, ``risk_0_100``, ``risk_class`` and ``contrib_*``.

    Pure and vectorised: no spatial operation, no per-row Python, so a weight change
    re-scores a precomputed facts frame in milliseconds.

    Parameters
    ----------
    facts : DataFrame or GeoDataFrame
        Sites plus proximity facts (``docs/architecture.md``). Any fact column may be
        absent (layer not given) or NaN: that factor then contributes 0 and is named
        in ``missing_factors``; absent layers are also listed in
        ``result.attrs["risk_missing_layers"]``.
    config : RiskConfig, optional
        Defaults to :func:`default_risk_config` (``config/risk.toml``).
    explain : bool, default True
        Build the ``risk_explanation`` sentence (vectorised; False leaves it empty).

    Returns
    -------
    A new frame: ``facts`` (unchanged, previous score columns replaced) plus
    :data:`OUTPUT_COLUMNS`. ``risk_0_100`` is a float in [0, 100]; the ``contrib_*``
    columns (score points) sum to it; ``risk_class`` is an ordered categorical
    low < moderate < high < very high; ``mercury_index``, ``land_use_index``,
    ``hazard_index`` and ``sensitivity_index`` are the 0-1 terms.
    """
    cfg = config or default_risk_config()
    w = cfg.weights
    f = cfg.background_sensitivity

    hazard = compute_mercury_hazard(facts, cfg)
    mercury_index = hazard["mercury_index"].to_numpy()
    land_use_index = compute_land_use_index(facts, cfg)
    H, (a_hg, a_lu) = _combine([w["mercury"] * mercury_index, w["land_use"] * land_use_index])

    terms, missing, absent = compute_sensitivity_terms(facts, cfg)
    S, b = _combine([w[name] * terms[name] for name in SENSITIVITY_FACTORS])

    hazard_scale = 100.0 * (f + (1.0 - f) * S / 2.0)
    sens_scale = 100.0 * (1.0 - f) * H / 2.0
    contrib = {"contrib_mercury": a_hg * hazard_scale, "contrib_land_use": a_lu * hazard_scale}
    for name, bj in zip(SENSITIVITY_FACTORS, b, strict=True):
        contrib[f"contrib_{name}"] = bj * sens_scale
    risk = np.clip(100.0 * H * (f + (1.0 - f) * S), 0.0, 100.0)

    codes = np.searchsorted(np.asarray(cfg.class_thresholds), risk, side="right").astype(np.int8)
    risk_class = pd.Categorical.from_codes(codes, dtype=RISK_CLASS_DTYPE)

    commodity_missing = (
        facts["commodity"].isna().to_numpy() if "commodity" in facts.columns else np.ones(len(facts), dtype=bool)
    )
    missing_all = {"commodity": commodity_missing, **missing}
    missing_factors = _missing_labels(missing_all)

    out_cols: dict[str, Any] = {c: hazard[c] for c in HAZARD_COLUMNS}
    out_cols.update(
        mercury_index=mercury_index,
        land_use_index=land_use_index,
        hazard_index=H,
        sensitivity_index=S,
        **contrib,
        risk_0_100=risk,
        risk_class=risk_class,
        missing_factors=missing_factors,
    )
    new = pd.DataFrame(out_cols, index=facts.index)
    if explain:
        new["risk_explanation"] = _explanations(facts, new, terms, missing, cfg)
    else:
        new["risk_explanation"] = pd.Series("", index=facts.index, dtype="str")

    base = facts.drop(columns=[c for c in OUTPUT_COLUMNS if c in facts.columns])
    # .array: positional assignment, no index alignment (facts may have duplicate labels).
    result = base.assign(**{c: new[c].array for c in new.columns})
    result.attrs = {
        **facts.attrs,
        "risk_model_version": cfg.version,
        "risk_config_fingerprint": cfg.fingerprint,
        "risk_missing_layers": absent,
    }
    return result


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


def _arrow_str(values: pd.Series | np.ndarray, fill: str) -> pa.Array:
    """Strings as an Arrow array (nulls replaced by ``fill``) for vectorised joins."""
    arr = pa.array(values, from_pandas=True)
    if not pa.types.is_string(arr.type):
        arr = pc.cast(arr, pa.string())
    return pc.fill_null(arr, fill)


def _arrow_col(facts: pd.DataFrame, col: str, fill: str) -> pa.Array:
    if col not in facts.columns:
        return pa.array(np.full(len(facts), fill, dtype=object), pa.string())
    return _arrow_str(facts[col], fill)


def _arrow_num(values: np.ndarray, digits: int) -> pa.Array:
    """Numbers rounded and written as text ("3.2", "11"); NaN becomes ""."""
    arr = pa.array(np.round(values, digits), from_pandas=True)
    return pc.fill_null(pc.cast(arr, pa.string()), "")


def _join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _explanations(
    facts: pd.DataFrame,
    scored: pd.DataFrame,
    terms: Mapping[str, np.ndarray],
    missing: Mapping[str, np.ndarray],
    cfg: RiskConfig,
) -> pd.Series:
    """One short sentence per site, built with vectorised Arrow string kernels."""
    commodity = _arrow_col(facts, "commodity", "unknown commodity")
    labels = pa.array([*_PROCESS_LABELS.values(), "processing unknown"], pa.string())
    proc_label = pc.take(labels, pa.array(_codes(facts, "processing", list(_PROCESS_LABELS)) % len(labels)))
    basis_cat = scored["hg_basis"].array
    basis = pc.take(pa.array(list(basis_cat.categories), pa.string()), pa.array(basis_cat.codes))

    hg = scored["hg_kg_per_yr"].to_numpy()
    emits = pa.array(scored["mercury_index"].to_numpy() > 0)
    hg_txt = pc.if_else(pa.array(np.isfinite(hg)), _join("~", _arrow_num(hg, 1), " kg Hg/yr"), "mercury, size unknown")
    hazard_part = pc.if_else(emits, _join(commodity, ", ", proc_label, ", ", hg_txt), _join(commodity, ", ", basis))

    dist = _float_col(facts, "dist_protected_area_km")
    inside = _bool_col(facts, "in_protected_area")
    name = _arrow_col(facts, "nearest_protected_area", "")
    name = pc.if_else(pc.equal(name, ""), "nearest protected area", name)
    iucn = _arrow_col(facts, "nearest_protected_area_iucn", "")
    iucn = pc.if_else(pc.equal(iucn, ""), "category unknown", iucn)
    pa_name = _join(name, " (", iucn, ")")
    outer = cfg.decay["protected_area"].outer_km
    pa_part = pc.if_else(
        pa.array(inside),
        _join("inside ", pa_name),
        pc.if_else(
            pa.array(missing["protected_area"]),
            "protected areas not assessed",
            pc.if_else(
                pa.array(np.nan_to_num(dist, nan=np.inf) < outer),
                _join(_arrow_num(dist, 1), " km from ", pa_name),
                f"no protected area within {outer:g} km",
            ),
        ),
    )

    contrib = np.column_stack([scored[c].to_numpy() for c in CONTRIB_COLUMNS])
    top = pa.array(np.argmax(contrib, axis=1))
    factor_labels = pa.array([f.replace("_", " ") for f in FACTORS], pa.string())
    top_part = pc.if_else(
        pa.array(scored["risk_0_100"].to_numpy() > 0), _join("; main factor: ", pc.take(factor_labels, top)), ""
    )
    sentence = _join(hazard_part, "; ", pa_part, top_part)
    return pd.Series(pd.array(sentence, dtype="str"), index=facts.index)


def explain_site(row: Mapping[str, Any] | pd.Series, config: RiskConfig | None = None) -> str:
    """A multi-line explanation of one scored site, for the dashboard's detail panel.

    Parameters
    ----------
    row : a row of :func:`score_sites` output (Series or mapping)
    config : the RiskConfig used to score it (for the weights shown)
    """
    cfg = config or default_risk_config()
    get = row.get
    score = float(get("risk_0_100", float("nan")))
    lines = [f"Risk {score:.1f} / 100 ({get('risk_class', '?')}), model {cfg.version}."]
    hg = get("hg_kg_per_yr")
    if hg is not None and np.isfinite(hg) and hg > 0:
        lines.append(
            f"Mercury: {hg:.1f} kg/yr (range {get('hg_kg_per_yr_low', float('nan')):.1f}-"
            f"{get('hg_kg_per_yr_high', float('nan')):.1f}; {get('hg_kg_per_yr_air', float('nan')):.1f} to air), "
            f"basis: {get('hg_basis', '?')}."
        )
    else:
        lines.append(f"Mercury: {get('hg_basis', 'not estimated')}.")
    parts = sorted(((float(get(c, 0.0) or 0.0), c) for c in CONTRIB_COLUMNS), reverse=True)
    shown = [f"{c.removeprefix('contrib_').replace('_', ' ')} {v:.1f}" for v, c in parts if v > 0]
    lines.append("Contributions (points): " + (", ".join(shown) if shown else "none") + ".")
    missing = str(get("missing_factors", "") or "")
    if missing:
        lines.append(f"Not assessed (no data): {missing.replace(';', ', ')}.")
    expl = get("risk_explanation")
    if expl:
        lines.append(str(expl))
    return "\n".join(lines)
