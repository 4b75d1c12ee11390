"""The risk model's configuration: an immutable, validated :class:`RiskConfig`.

Pure: this module validates nested dicts (the layout of ``config/risk.toml``) and writes
TOML text; it reads no file. Reading and parsing the TOML file is
``layers.risk_config``'s job (the defaults ship in ``config/risk.toml``, one source of truth).
Every number's source is in ``config/risk.toml`` and ``docs/risk-model.md``.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from geo.vocab import AMALGAMATION, RECEPTORS, WEIGHT_KEYS

MODEL_VERSION = "asm-risk-model 2.0"

#: standard-normal quantile of 0.95: a lognormal's p95 is median * exp(Z95 * sigma)
Z95 = 1.6448536269514722

#: amalgamation types that use mercury, each with its own Hg:Au loss ratio
RATIO_KEYS: tuple[str, ...] = tuple(a for a in AMALGAMATION if a != "none")

#: keys of asm-risk-model 1.x files and what replaced them (for the error message)
RENAMED_KEYS: Mapping[str, str] = MappingProxyType(
    {
        "mercury.air_fraction": "air fractions are derived per method now (docs/risk-model.md 3.2); "
        "tune mercury.amalgam_hg_per_au, mercury.retort_recovery or mercury.air_fraction_uncertainty_factor",
        "mercury.unknown_mercury_use_weight": "use mercury.unknown_use.probability",
        "mercury.hg_au_ratio.whole_ore_amalgamation": "use mercury.hg_au_ratio.whole_ore",
        "mercury.hg_au_ratio.concentrate_amalgamation": "use mercury.hg_au_ratio.concentrate",
        "mercury.hg_au_ratio.retort": "a retort is an add-on now: see mercury.retort_recovery",
        "mercury.hg_au_ratio.unknown_amalgamation": "use mercury.hg_au_ratio.unknown",
    }
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
    """A key that the model does not know (usually a typo, or a key of an older model version)."""


class ConfigTypeError(RiskConfigError):
    """A value of the wrong type (e.g. a string where a number is expected)."""


class OutOfRangeError(RiskConfigError):
    """A number outside its valid range (e.g. a negative weight)."""


class OrderError(RiskConfigError):
    """Values that must be ordered are not (class thresholds, decay distances, retort recovery vs loss ratio)."""


class FactsReachError(RiskConfigError):
    """The configuration asks for facts beyond what the spatial join measured (e.g. a decay past the reach)."""


# --------------------------------------------------------------------------- value types
@dataclass(frozen=True)
class Spread:
    """An uncertain positive quantity: lognormal with a median and a 90 % uncertainty factor.

    The 5th and 95th percentiles are ``median / uncertainty_factor`` and ``median *
    uncertainty_factor`` (factor 1: no uncertainty). ``shared`` is the part of the
    log-variance common to every site within one Monte Carlo draw (a global parameter such
    as the world mean productivity); the rest varies independently from site to site.
    """

    median: float
    uncertainty_factor: float
    shared: float

    @property
    def sigma(self) -> float:
        """Standard deviation of the natural log."""
        return math.log(self.uncertainty_factor) / Z95

    @property
    def sigma_shared(self) -> float:
        return self.sigma * math.sqrt(self.shared)

    @property
    def sigma_site(self) -> float:
        return self.sigma * math.sqrt(1.0 - self.shared)

    def to_dict(self) -> dict[str, float]:
        return {"median": self.median, "uncertainty_factor": self.uncertainty_factor, "shared": self.shared}


@dataclass(frozen=True)
class Decay:
    """Piecewise-linear distance decay: 1 at 0 km, ``near_value`` at ``near_km``, 0 from ``outer_km`` on."""

    near_km: float
    near_value: float
    outer_km: float

    def __call__(self, dist_km: np.ndarray) -> np.ndarray:
        """Decay factor in [0, 1] for distances in km (negative treated as 0; NaN and +inf give 0)."""
        d = np.maximum(np.asarray(dist_km, dtype=np.float64), 0.0)
        inner = 1.0 - (1.0 - self.near_value) * d / self.near_km
        outer = self.near_value * (self.outer_km - d) / (self.outer_km - self.near_km)
        with np.errstate(invalid="ignore"):
            out = np.where(d <= self.near_km, inner, np.where(d < self.outer_km, outer, 0.0))
        return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)

    def to_dict(self) -> dict[str, float]:
        return {"near_km": self.near_km, "near_value": self.near_value, "outer_km": self.outer_km}


@dataclass(frozen=True)
class RiskConfig:
    """Every number of the risk model. Immutable; build one with ``layers.risk_config.load_risk_config``.

    Mapping fields are read-only views. ``to_dict()`` / ``to_toml()`` give the full
    configuration (for exports: a file written by ``to_toml`` reloads to an equal config).
    """

    version: str
    class_thresholds: tuple[float, float, float]  # lower bounds of moderate, high, very high (0-100)
    background_sensitivity: float
    weights: Mapping[str, float]
    mercury_saturation_kg_per_yr: float
    unknown_size_index: float
    amalgam_hg_per_au: float
    retort_recovery: float
    air_fraction_uncertainty_factor: float
    cyanidation_index_factor: float
    production_uncertainty_factor: float
    productivity_g_au_per_worker_yr: Spread
    hg_au_ratio: Mapping[str, Spread]
    unknown_use_probability: float
    unknown_use_concentration: float
    footprint_ha_per_worker: Spread
    footprint_saturation_ha: float
    unknown_footprint_index: float
    land_use: Mapping[str, float]
    decay: Mapping[str, Decay]
    iucn_weights: Mapping[str, float]
    n_draws: int
    seed: int
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

    # ---- derived numbers (docs/risk-model.md 3.2 shows the arithmetic)
    def loss_ratio(self, amalgamation: str, retort: bool) -> float:
        """Median Hg lost per Au produced (kg/kg) of an amalgamation type, with or without a retort.

        A retort recovers ``retort_recovery`` of the mercury in the amalgam (``amalgam_hg_per_au``
        kg per kg of gold), which would otherwise be burnt off to air.
        """
        ratio = self.hg_au_ratio[amalgamation].median
        return ratio - self.amalgam_hg_per_au * self.retort_recovery if retort else ratio

    def air_fraction(self, amalgamation: str, retort: bool) -> float:
        """Median share of the released mercury emitted directly to air (the burnt amalgam), 0-1."""
        burnt = self.amalgam_hg_per_au * (1.0 - self.retort_recovery if retort else 1.0)
        return min(1.0, burnt / self.loss_ratio(amalgamation, retort))

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
                "unknown_size_index": self.unknown_size_index,
                "amalgam_hg_per_au": self.amalgam_hg_per_au,
                "retort_recovery": self.retort_recovery,
                "air_fraction_uncertainty_factor": self.air_fraction_uncertainty_factor,
                "cyanidation_index_factor": self.cyanidation_index_factor,
                "production_uncertainty_factor": self.production_uncertainty_factor,
                "productivity_g_au_per_worker_yr": self.productivity_g_au_per_worker_yr.to_dict(),
                "hg_au_ratio": {k: v.to_dict() for k, v in self.hg_au_ratio.items()},
                "unknown_use": {
                    "probability": self.unknown_use_probability,
                    "concentration": self.unknown_use_concentration,
                },
            },
            "footprint": {
                "saturation_ha": self.footprint_saturation_ha,
                "unknown_index": self.unknown_footprint_index,
                "ha_per_worker": self.footprint_ha_per_worker.to_dict(),
            },
            "land_use": dict(self.land_use),
            "decay": {k: v.to_dict() for k, v in self.decay.items()},
            "iucn_weights": dict(self.iucn_weights),
            "uncertainty": {"n_draws": self.n_draws, "seed": self.seed},
        }

    def to_toml(self) -> str:
        """The configuration as TOML text (no comments; see ``config/risk.toml`` for the sources)."""
        header = f"# {self.version} risk configuration (fingerprint {self.fingerprint}); sources: docs/risk-model.md\n"
        return header + dump_toml(self.to_dict())

    def with_overrides(self, overrides: Mapping[str, Any]) -> RiskConfig:
        """A new config with some values replaced, validated like a file.

        ``overrides`` may be nested (``{"weights": {"mercury": 0.8}}``) or use dotted
        keys (``{"weights.mercury": 0.8}``), e.g. a per-session dict from the dashboard.
        """
        return config_from_dict(deep_merge(self.to_dict(), expand_dotted(overrides), prefix=""))


# --------------------------------------------------------------------------- merging
def expand_dotted(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``{"weights.mercury": 0.8}`` -> ``{"weights": {"mercury": 0.8}}`` (nested dicts pass through)."""
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
            value = expand_dotted(value)
            existing = node.get(parts[-1])
            if isinstance(existing, dict):
                value = deep_merge(existing, value, prefix="", check_keys=False)
        node[parts[-1]] = value
    return out


def deep_merge(base: dict[str, Any], new: Mapping[str, Any], prefix: str, check_keys: bool = True) -> dict[str, Any]:
    """``base`` updated with ``new``; with ``check_keys`` a key not in ``base`` is an :class:`UnknownKeyError`."""
    out = dict(base)
    for key, value in new.items():
        dotted = f"{prefix}{key}"
        if check_keys and key not in base:
            if dotted in RENAMED_KEYS:
                raise UnknownKeyError(dotted, "a key of asm-risk-model 1.x, not used any more", RENAMED_KEYS[dotted])
            valid = ", ".join(sorted(str(k) for k in base))
            raise UnknownKeyError(dotted, "unknown key", f"use one of: {valid}")
        if isinstance(base.get(key), dict):
            if not isinstance(value, Mapping):
                raise ConfigTypeError(dotted, f"must be a table, got {value!r}", f"write [{dotted}] with its keys")
            out[key] = deep_merge(base[key], value, prefix=f"{dotted}.", check_keys=check_keys)
        else:
            if isinstance(value, Mapping) and check_keys:
                raise ConfigTypeError(dotted, "must be a single value, not a table", "give a number or string")
            out[key] = value
    return out


# --------------------------------------------------------------------------- validation
def _number(d: Mapping[str, Any], key: str, dotted: str, lo: float, hi: float, *, lo_open: bool = False) -> float:
    if key not in d:
        raise UnknownKeyError(dotted, "missing", f"give {dotted} (a number between {lo:g} and {hi:g})")
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


def _integer(d: Mapping[str, Any], key: str, dotted: str, lo: int, hi: int) -> int:
    value = d[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or float(value) != int(value):
        raise ConfigTypeError(dotted, f"must be a whole number, got {value!r}", f"give an integer from {lo} to {hi}")
    if not lo <= int(value) <= hi:
        raise OutOfRangeError(
            dotted, f"{int(value)} is out of range [{lo}, {hi}]", f"give an integer from {lo} to {hi}"
        )
    return int(value)


def _spread(d: Mapping[str, Any], dotted: str, hi: float) -> Spread:
    if not isinstance(d, Mapping):
        raise ConfigTypeError(
            dotted, f"must be a table, got {d!r}", f"write [{dotted}] with median, uncertainty_factor"
        )
    return Spread(
        median=_number(d, "median", f"{dotted}.median", 0.0, hi, lo_open=True),
        uncertainty_factor=_number(d, "uncertainty_factor", f"{dotted}.uncertainty_factor", 1.0, 1e6),
        shared=_number(d, "shared", f"{dotted}.shared", 0.0, 1.0),
    )


def config_from_dict(d: Mapping[str, Any]) -> RiskConfig:
    """Validate a nested dict in the layout of ``config/risk.toml`` (every key present) into a RiskConfig.

    Raises
    ------
    RiskConfigError
        A ``ValueError`` subclass naming the key and the valid range.
    """
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
    weights = {k: _number(d["weights"], k, f"weights.{k}", 0.0, 1.0) for k in WEIGHT_KEYS}

    hg = d["mercury"]
    saturation = _number(hg, "saturation_kg_per_yr", "mercury.saturation_kg_per_yr", 0.0, 1e9, lo_open=True)
    unknown_size = _number(hg, "unknown_size_index", "mercury.unknown_size_index", 0.0, 1.0)
    amalgam = _number(hg, "amalgam_hg_per_au", "mercury.amalgam_hg_per_au", 0.0, 100.0)
    recovery = _number(hg, "retort_recovery", "mercury.retort_recovery", 0.0, 1.0)
    air_factor = _number(hg, "air_fraction_uncertainty_factor", "mercury.air_fraction_uncertainty_factor", 1.0, 100.0)
    cyanide = _number(hg, "cyanidation_index_factor", "mercury.cyanidation_index_factor", 1.0, 100.0)
    production = _number(hg, "production_uncertainty_factor", "mercury.production_uncertainty_factor", 1.0, 1e6)
    productivity = _spread(hg["productivity_g_au_per_worker_yr"], "mercury.productivity_g_au_per_worker_yr", 1e6)
    ratios = {k: _spread(hg["hg_au_ratio"][k], f"mercury.hg_au_ratio.{k}", 1000.0) for k in RATIO_KEYS}
    for k, r in ratios.items():
        if not amalgam * recovery < r.median:
            raise OrderError(
                f"mercury.hg_au_ratio.{k}.median",
                f"{r.median:g} is not above the mercury a retort recovers ({amalgam:g} x {recovery:g})",
                "raise the loss ratio, or lower mercury.amalgam_hg_per_au or mercury.retort_recovery",
            )
    use = hg["unknown_use"]
    use_p = _number(use, "probability", "mercury.unknown_use.probability", 0.0, 1.0)
    use_k = _number(use, "concentration", "mercury.unknown_use.concentration", 0.0, 1e6, lo_open=True)

    fp = d["footprint"]
    fp_sat = _number(fp, "saturation_ha", "footprint.saturation_ha", 0.0, 1e9, lo_open=True)
    fp_unknown = _number(fp, "unknown_index", "footprint.unknown_index", 0.0, 1.0)
    ha_per_worker = _spread(fp["ha_per_worker"], "footprint.ha_per_worker", 1e6)

    decay: dict[str, Decay] = {}
    for name in RECEPTORS:
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

    unc = d["uncertainty"]
    return RiskConfig(
        version=version.strip(),
        class_thresholds=thresholds,  # type: ignore[arg-type]
        background_sensitivity=background,
        weights=MappingProxyType(weights),
        mercury_saturation_kg_per_yr=saturation,
        unknown_size_index=unknown_size,
        amalgam_hg_per_au=amalgam,
        retort_recovery=recovery,
        air_fraction_uncertainty_factor=air_factor,
        cyanidation_index_factor=cyanide,
        production_uncertainty_factor=production,
        productivity_g_au_per_worker_yr=productivity,
        hg_au_ratio=MappingProxyType(ratios),
        unknown_use_probability=use_p,
        unknown_use_concentration=use_k,
        footprint_ha_per_worker=ha_per_worker,
        footprint_saturation_ha=fp_sat,
        unknown_footprint_index=fp_unknown,
        land_use=MappingProxyType(land_use),
        decay=MappingProxyType(decay),
        iucn_weights=MappingProxyType(iucn),
        n_draws=_integer(unc, "n_draws", "uncertainty.n_draws", 10, 100_000),
        seed=_integer(unc, "seed", "uncertainty.seed", 0, 2**63 - 1),
    )


# --------------------------------------------------------------------------- TOML text
def _toml_key(key: str) -> str:
    bare = key.replace("_", "").replace("-", "").isalnum() and key.isascii()
    return key if bare else json.dumps(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    raise TypeError(f"cannot write {value!r} as TOML")


def dump_toml(d: Mapping[str, Any], prefix: str = "") -> str:
    """Nested dicts of numbers and strings as TOML text (tables after their parent's scalars)."""
    scalars = [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in d.items() if not isinstance(v, Mapping)]
    lines = [f"\n[{prefix}]"] if prefix and scalars else []
    lines += scalars
    text = "\n".join(lines) + ("\n" if lines else "")
    for k, v in d.items():
        if isinstance(v, Mapping):
            text += dump_toml(v, f"{prefix}.{_toml_key(k)}" if prefix else _toml_key(k))
    return text
