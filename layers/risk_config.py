"""Reading the risk-model configuration: ``config/risk.toml`` and user files (TOML).

The model and the validation are pure (``geo.risk_config``); this module does the I/O:
it reads the repository defaults, parses TOML text and merges a user's partial file and
per-call overrides on top, so that a user file may give only the keys it changes.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from geo.risk_config import (
    RiskConfig,
    RiskConfigError,
    TomlSyntaxError,
    config_from_dict,
    deep_merge,
    expand_dotted,
)
from layers.errors import ConfigError

#: The repository's default configuration (the one place the model's defaults live).
DEFAULT_RISK_CONFIG_PATH = Path(__file__).resolve().parents[1] / "config" / "risk.toml"


def default_risk_config_text() -> str:
    """The text of the repository's ``config/risk.toml``."""
    return DEFAULT_RISK_CONFIG_PATH.read_text(encoding="utf-8")


def parse_risk_toml(text: str) -> dict[str, Any]:
    """TOML text as nested dicts; :class:`geo.risk_config.TomlSyntaxError` when it is not TOML."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TomlSyntaxError("", f"not valid TOML ({exc})", "correct the TOML syntax at the line given") from exc


@lru_cache(maxsize=1)
def _default_dict_cached() -> str:
    # cached as canonical JSON (immutable); each caller gets a fresh dict from json.loads
    return json.dumps(parse_risk_toml(default_risk_config_text()))


def load_risk_config(text: str | None = None, overrides: Mapping[str, Any] | None = None) -> RiskConfig:
    """Parse and validate a risk configuration.

    ``text`` is TOML (the caller reads the file) holding only the keys it changes; the others
    keep the repository defaults. ``overrides`` are applied on top, nested or with dotted keys
    (``{"weights.mercury": 0.8}``). Raises :class:`geo.risk_config.RiskConfigError` (a
    ``ValueError``) naming the key and the valid range.
    """
    merged = json.loads(_default_dict_cached())
    if text is not None:
        merged = deep_merge(merged, parse_risk_toml(text), prefix="")
    if overrides:
        merged = deep_merge(merged, expand_dotted(overrides), prefix="")
    return config_from_dict(merged)


@lru_cache(maxsize=1)
def default_risk_config() -> RiskConfig:
    """The repository defaults (cached; RiskConfig is immutable)."""
    return load_risk_config(None)


def load_risk_config_file(path: str | Path, overrides: Mapping[str, Any] | None = None) -> RiskConfig:
    """Read a TOML risk configuration; errors are :class:`layers.errors.ConfigError` naming the file."""
    cfg_path = Path(path)
    try:
        text = cfg_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            cfg_path, f"cannot read the risk configuration ({exc.strerror})", "give a readable TOML file"
        ) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(cfg_path, "the risk configuration is not UTF-8 text", "save the file as UTF-8") from exc
    try:
        return load_risk_config(text, overrides=overrides)
    except RiskConfigError as exc:
        raise ConfigError(cfg_path, f"invalid risk configuration: {exc.problem}", exc.fix) from exc


__all__ = [
    "DEFAULT_RISK_CONFIG_PATH",
    "default_risk_config",
    "default_risk_config_text",
    "load_risk_config",
    "load_risk_config_file",
    "parse_risk_toml",
]
