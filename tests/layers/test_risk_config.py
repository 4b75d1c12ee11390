"""layers.risk_config: reading config/risk.toml and user files; geo.risk_config validation."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import pytest

from geo.risk_config import (
    MODEL_VERSION,
    ConfigTypeError,
    OrderError,
    OutOfRangeError,
    RiskConfig,
    RiskConfigError,
    TomlSyntaxError,
    UnknownKeyError,
)
from layers.errors import ConfigError
from layers.risk_config import (
    DEFAULT_RISK_CONFIG_PATH,
    default_risk_config,
    default_risk_config_text,
    load_risk_config,
    load_risk_config_file,
)

TAGS = ("[SOURCE]", "[DERIVED]", "[ASSUMPTION]")


def test_default_config_file_and_version():
    assert default_risk_config_text() == DEFAULT_RISK_CONFIG_PATH.read_text(encoding="utf-8")
    cfg = load_risk_config()
    assert cfg.version == MODEL_VERSION == "asm-risk-model 2.0"
    assert cfg == default_risk_config() and isinstance(cfg, RiskConfig)
    assert cfg.hg_au_ratio["whole_ore"].median == 3.0 and cfg.hg_au_ratio["concentrate"].median == 1.3
    assert cfg.decay["protected_area"].near_km == 10.0 and cfg.decay["protected_area"].outer_km == 70.0
    assert cfg.n_draws == 1000


def test_every_default_is_tagged_with_its_basis():
    """Every table of config/risk.toml says where its numbers come from: a tag in the comments above or in it."""
    text = default_risk_config_text()
    blocks = re.split(r"\n(?=\[)", text)
    for block in blocks[1:]:
        header = block.splitlines()[0]
        previous = blocks[blocks.index(block) - 1].rsplit("\n\n", 1)[-1]  # the comment paragraph above the table
        assert any(t in block or t in previous for t in TAGS), header


def test_derived_air_fractions_and_retort_ratios():
    cfg = default_risk_config()
    assert cfg.loss_ratio("whole_ore", False) == 3.0
    assert cfg.loss_ratio("whole_ore", True) == pytest.approx(3.0 - 1.0 * 0.9)
    assert cfg.loss_ratio("concentrate", True) == pytest.approx(0.4)
    assert cfg.air_fraction("whole_ore", False) == pytest.approx(1 / 3)
    assert cfg.air_fraction("concentrate", False) == pytest.approx(1 / 1.3)
    assert cfg.air_fraction("concentrate", True) == pytest.approx(0.1 / 0.4)
    spread = cfg.productivity_g_au_per_worker_yr
    assert spread.median * spread.uncertainty_factor == pytest.approx(
        spread.median * math.exp(1.6448536 * spread.sigma)
    )
    assert spread.sigma_shared**2 + spread.sigma_site**2 == pytest.approx(spread.sigma**2)


def test_to_toml_round_trip_and_to_dict():
    cfg = default_risk_config().with_overrides(
        {"weights.reef": 0.25, "iucn_weights": {"V": 0.5}, "uncertainty.seed": 7}
    )
    again = load_risk_config(cfg.to_toml())
    assert again == cfg and again.fingerprint == cfg.fingerprint and hash(again) == hash(cfg)
    assert again.to_dict()["weights"]["reef"] == 0.25 and again.seed == 7
    assert cfg.fingerprint != default_risk_config().fingerprint


def test_config_is_immutable():
    cfg = default_risk_config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.background_sensitivity = 0.5  # type: ignore[misc]
    with pytest.raises(TypeError):
        cfg.weights["mercury"] = 0.0  # type: ignore[index]


def test_partial_file_and_overrides_per_call():
    cfg = load_risk_config("[weights]\nmercury = 0.5\n", overrides={"weights.land_use": 0.1})
    assert cfg.weights["mercury"] == 0.5 and cfg.weights["land_use"] == 0.1
    assert cfg.weights["protected_area"] == 1.0  # default kept
    nested = default_risk_config().with_overrides({"mercury": {"hg_au_ratio": {"concentrate": {"median": 1.5}}}})
    assert (
        nested.hg_au_ratio["concentrate"].median == 1.5 and nested.hg_au_ratio["concentrate"].uncertainty_factor == 1.3
    )


@pytest.mark.parametrize(
    ("text", "error", "match"),
    [
        ("[weights]\nmercuri = 0.5\n", UnknownKeyError, r"weights\.mercuri: unknown key.*mercury"),
        ("[wieghts]\nmercury = 0.5\n", UnknownKeyError, r"wieghts: unknown key"),
        ("[land_use]\nunobtainium = 0.5\n", UnknownKeyError, r"land_use\.unobtainium"),
        ("[mercury]\nair_fraction = 0.35\n", UnknownKeyError, r"mercury\.air_fraction: a key of asm-risk-model 1\.x"),
        ("[mercury.hg_au_ratio.retort]\nlow = 0.1\n", UnknownKeyError, r"retort is an add-on now"),
        ("[weights]\nmercury = -0.1\n", OutOfRangeError, r"weights\.mercury: -0\.1 is out of range \[0, 1\]"),
        ("[weights]\nmercury_air = 1.5\n", OutOfRangeError, r"weights\.mercury_air: 1\.5 is out of range \[0, 1\]"),
        ('[weights]\nmercury = "high"\n', ConfigTypeError, r"weights\.mercury: must be a number"),
        ("[weights]\nmercury = true\n", ConfigTypeError, r"weights\.mercury: must be a number"),
        ("weights = 3\n", ConfigTypeError, r"weights: must be a table"),
        ("[classes]\nmoderate = 60.0\n", OrderError, r"classes: thresholds moderate=60, high=50.*out of order"),
        ("[classes]\nmoderate = 0\n", OutOfRangeError, r"classes\.moderate: 0 is out of range \(0, 100\]"),
        ("[mercury.hg_au_ratio.concentrate]\nmedian = 0.5\n", OrderError, r"concentrate\.median: 0\.5 is not above"),
        ("[mercury.productivity_g_au_per_worker_yr]\nuncertainty_factor = 0.5\n", OutOfRangeError,
         r"uncertainty_factor: 0\.5 is out of range \[1, "),
        ("[mercury.unknown_use]\nprobability = 1.2\n", OutOfRangeError, r"unknown_use\.probability: 1\.2"),
        ("[decay.water]\nouter_km = 0.2\n", OrderError, r"decay\.water: outer_km 0\.2 is not beyond near_km 0\.5"),
        ("[uncertainty]\nn_draws = 2.5\n", ConfigTypeError, r"uncertainty\.n_draws: must be a whole number"),
        ("[uncertainty]\nn_draws = 5\n", OutOfRangeError, r"uncertainty\.n_draws: 5 is out of range \[10, "),
        ('version = ""\n', ConfigTypeError, r"version: must be a non-empty string"),
        ("[weights\nmercury = 1\n", TomlSyntaxError, r"not valid TOML"),
    ],
)  # fmt: skip
def test_config_errors_name_the_key_and_range(text, error, match):
    with pytest.raises(error, match=match) as info:
        load_risk_config(text)
    assert isinstance(info.value, RiskConfigError) and isinstance(info.value, ValueError)
    assert info.value.fix


@pytest.mark.parametrize(
    ("overrides", "error", "match"),
    [
        ({"weights.mercury": -1}, OutOfRangeError, r"weights\.mercury: -1 is out of range"),
        ({"weights.nope": 0.5}, UnknownKeyError, r"weights\.nope: unknown key"),
        ({"classes": {"high": 20.0}}, OrderError, r"classes"),
    ],
)
def test_override_errors(overrides, error, match):
    with pytest.raises(error, match=match):
        default_risk_config().with_overrides(overrides)


def test_file_errors_name_the_file(tmp_path: Path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[weights]\nmercury = 2\n")
    with pytest.raises(
        ConfigError, match=r"bad\.toml: invalid risk configuration: weights\.mercury: 2 is out of range"
    ):
        load_risk_config_file(bad)
    with pytest.raises(ConfigError, match=r"cannot read the risk configuration"):
        load_risk_config_file(tmp_path / "missing.toml")
    latin = tmp_path / "latin.toml"
    latin.write_bytes("# caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_risk_config_file(latin)
    good = tmp_path / "good.toml"
    good.write_text("[weights]\nwater = 0.0\n")
    assert load_risk_config_file(good, {"weights.reef": 0.1}).weights["water"] == 0.0
