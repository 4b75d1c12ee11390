"""geo.risk: hand-computed known answers, config parsing and validation, missing facts."""

from __future__ import annotations

import dataclasses
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from geo.risk import (
    CONTRIB_COLUMNS,
    DEFAULT_RISK_CONFIG_PATH,
    HG_BASES,
    MODEL_VERSION,
    OUTPUT_COLUMNS,
    RISK_CLASSES,
    ConfigTypeError,
    Decay,
    OrderError,
    OutOfRangeError,
    RiskConfig,
    RiskConfigError,
    TomlSyntaxError,
    UnknownKeyError,
    compute_mercury_hazard,
    default_risk_config,
    default_risk_config_text,
    explain_site,
    load_risk_config,
    score_sites,
)

LN_1001 = math.log(1001.0)  # log1p(default saturation of 1000 kg/yr)


def four_sites() -> pd.DataFrame:
    """A: big whole-ore camp inside a category II park and rainforest; B: coltan 5 km from a VI
    area; C: gold of known output, mercury use unknown, 40 km from a PA and 5 km from a reef;
    D: gravity-only gold with no protected-area or reef facts."""
    return pd.DataFrame(
        {
            "site_id": ["A", "B", "C", "D"],
            "country_iso3": ["COD", "COD", "GHA", None],
            "commodity": ["gold", "coltan", "gold", "gold"],
            "commodities": ["gold", "coltan", "gold;silver", "gold"],
            "workers": [1000.0, 50.0, np.nan, np.nan],
            "gold_kg_per_yr": [np.nan, np.nan, 10.0, np.nan],
            "mercury_use": ["yes", "no", "unknown", "unknown"],
            "processing": ["whole_ore_amalgamation", "gravity_only", "unknown", "gravity_only"],
            "in_protected_area": [True, False, False, False],
            "dist_protected_area_km": [0.0, 5.0, 40.0, np.nan],
            "nearest_protected_area": ["Kahuzi-Biega", "Itombwe", "Bia", None],
            "nearest_protected_area_iucn": ["II", "VI", "Not Reported", None],
            "in_rainforest": [True, False, False, False],
            "dist_rainforest_km": [0.0, 3.0, np.nan, 100.0],
            "dist_reef_km": [500.0, 500.0, 5.0, np.nan],
            "in_arctic": [False, False, False, False],
            "dist_arctic_km": [3000.0, 3000.0, 3000.0, 3000.0],
        }
    )


# --------------------------------------------------------------------------- known answers
def test_mercury_hazard_known_answers():
    hz = compute_mercury_hazard(four_sites(), default_risk_config())
    # A: 1000 workers x 26.4 g = 26.4 kg Au; x Hg:Au 3 (2..5) on 22..33 g/worker
    assert hz.loc[0, "gold_kg_per_yr_est"] == pytest.approx(26.4)
    assert hz.loc[0, ["hg_kg_per_yr_low", "hg_kg_per_yr", "hg_kg_per_yr_high"]].tolist() == pytest.approx(
        [22 * 2.0, 26.4 * 3.0, 33 * 5.0]
    )
    assert hz.loc[0, "hg_kg_per_yr_air"] == pytest.approx(79.2 * 0.35)
    assert hz.loc[0, "hg_basis"] == "workers"
    # B: not gold -> no mercury, whatever the processing
    assert hz.loc[1, "hg_kg_per_yr"] == 0.0
    assert hz.loc[1, "hg_basis"] == "no mercury (not gold)"
    # C: 10 kg Au, method unknown -> "unknown_amalgamation" 1.0 / 1.3 / 3.0, flagged as assumed
    assert hz.loc[2, ["hg_kg_per_yr_low", "hg_kg_per_yr", "hg_kg_per_yr_high"]].tolist() == pytest.approx(
        [10.0, 13.0, 30.0]
    )
    assert hz.loc[2, "hg_basis"] == "production; mercury use assumed"
    # D: gravity-only with unknown mercury use -> mercury-free
    assert hz.loc[3, "hg_kg_per_yr"] == 0.0
    assert hz.loc[3, "hg_basis"] == "no mercury (mercury-free processing)"
    assert set(hz["hg_basis"].cat.categories) == set(HG_BASES)


def test_score_known_answers():
    out = score_sites(four_sites(), default_risk_config())

    # A: H = 1 - (1 - m)(1 - 0.6), m = ln(80.2)/ln(1001); S = 1 - (1 - 1.0)(1 - 0.6) = 1
    m_a = math.log(80.2) / LN_1001
    h_a = 1 - (1 - m_a) * (1 - 0.6 * 1.0)
    assert out.loc[0, "hazard_index"] == pytest.approx(h_a)
    assert out.loc[0, "sensitivity_index"] == pytest.approx(1.0)
    assert out.loc[0, "risk_0_100"] == pytest.approx(100 * h_a)  # f + (1 - f) * 1 = 1
    # hazard side scale 100 * (0.2 + 0.8 * 1 / 2) = 60, shared m : 0.6 between mercury and land use
    assert out.loc[0, "contrib_mercury"] == pytest.approx(60 * h_a * m_a / (m_a + 0.6))
    assert out.loc[0, "contrib_land_use"] == pytest.approx(60 * h_a * 0.6 / (m_a + 0.6))
    # sensitivity side scale 100 * 0.8 * H / 2 = 40 H, shared 1.0 : 0.6 between PA and rainforest
    assert out.loc[0, "contrib_protected_area"] == pytest.approx(40 * h_a * 1.0 / 1.6)
    assert out.loc[0, "contrib_rainforest"] == pytest.approx(40 * h_a * 0.6 / 1.6)
    assert out.loc[0, "risk_class"] == "very high"

    # B: H = 0.6 * 0.7 = 0.42; PA at 5 km: decay 0.75 x IUCN VI 0.6 = 0.45;
    # rainforest at 3 km: decay 0.85 x weight 0.6 = 0.51; S = 1 - 0.55 * 0.49 = 0.7305
    assert out.loc[1, "hazard_index"] == pytest.approx(0.42)
    assert out.loc[1, "sensitivity_index"] == pytest.approx(0.7305)
    assert out.loc[1, "risk_0_100"] == pytest.approx(100 * 0.42 * (0.2 + 0.8 * 0.7305))
    assert out.loc[1, "contrib_mercury"] == 0.0
    assert out.loc[1, "risk_class"] == "moderate"

    # C: m = ln(14)/ln(1001); PA at 40 km: 0.5 * 30/60 = 0.25 x 0.7 = 0.175; reef at 5 km:
    # 0.75 x 0.5 = 0.375; S = 1 - 0.825 * 0.625 = 0.484375; rainforest unknown -> missing
    m_c = math.log(14.0) / LN_1001
    h_c = 1 - (1 - m_c) * (1 - 0.6)
    assert out.loc[2, "sensitivity_index"] == pytest.approx(0.484375)
    assert out.loc[2, "risk_0_100"] == pytest.approx(100 * h_c * (0.2 + 0.8 * 0.484375))
    assert out.loc[2, "missing_factors"] == "rainforest;water"

    # D: H = 0.6 (gold land use only), S = 0 -> 100 * 0.6 * 0.2 = 12, all from land use
    assert out.loc[3, "risk_0_100"] == pytest.approx(12.0)
    assert out.loc[3, "contrib_land_use"] == pytest.approx(12.0)
    assert out.loc[3, "risk_class"] == "low"
    assert out.loc[3, "missing_factors"] == "protected_area;reef;water"

    total = out[list(CONTRIB_COLUMNS)].sum(axis=1)
    np.testing.assert_allclose(total, out["risk_0_100"], atol=1e-9)


def test_water_factor_when_layer_given():
    facts = four_sites().iloc[[3]].assign(dist_water_km=0.25)
    out = score_sites(facts)
    # water at 0.25 km: 1 - 0.5 * 0.25 / 0.5 = 0.75, x weight 0.6 = 0.45 -> S = 0.45
    assert out["sensitivity_index"].iloc[0] == pytest.approx(0.45)
    assert out["risk_0_100"].iloc[0] == pytest.approx(100 * 0.6 * (0.2 + 0.8 * 0.45))
    assert out["contrib_water"].iloc[0] == pytest.approx(100 * 0.8 * 0.6 * 0.45 / 2)
    assert "water" not in out["missing_factors"].iloc[0]


@pytest.mark.parametrize(
    ("dist_km", "expected"),
    [(0.0, 1.0), (5.0, 0.75), (10.0, 0.5), (40.0, 0.25), (70.0, 0.0), (500.0, 0.0), (-3.0, 1.0), (np.nan, 0.0)],
)
def test_decay_piecewise_linear(dist_km, expected):
    assert Decay(10.0, 0.5, 70.0)(np.array([dist_km]))[0] == pytest.approx(expected)


def test_explanation_sentence_and_detail_panel():
    out = score_sites(four_sites())
    assert out.loc[0, "risk_explanation"] == (
        "gold, whole-ore amalgamation, ~79.2 kg Hg/yr; inside Kahuzi-Biega (II); main factor: mercury"
    )
    assert out.loc[1, "risk_explanation"].startswith("coltan, no mercury (not gold); 5 km from Itombwe (VI)")
    assert "protected areas not assessed" in out.loc[3, "risk_explanation"]
    text = explain_site(out.loc[0])
    assert "79.2 kg/yr" in text and "very high" in text and "Not assessed (no data): water" in text
    assert score_sites(four_sites(), explain=False)["risk_explanation"].eq("").all()


def test_risk_class_is_ordered_categorical_with_config_thresholds():
    out = score_sites(four_sites())
    assert list(out["risk_class"].cat.categories) == list(RISK_CLASSES)
    assert out["risk_class"].cat.ordered
    cfg = default_risk_config().with_overrides({"classes": {"moderate": 10.0, "high": 12.5, "very_high": 90.0}})
    classes = score_sites(four_sites(), cfg)["risk_class"].tolist()
    assert classes == ["high", "high", "high", "moderate"]  # 85.4, 32.9, 44.2, 12.0


# --------------------------------------------------------------------------- robustness
def test_missing_layers_contribute_zero_and_are_reported():
    sites_only = four_sites()[["site_id", "commodity", "commodities", "workers", "gold_kg_per_yr"]]
    out = score_sites(sites_only)
    assert out["risk_0_100"].notna().all()
    for col in ("contrib_protected_area", "contrib_rainforest", "contrib_reef", "contrib_arctic", "contrib_water"):
        assert (out[col] == 0).all()
    assert set(out.attrs["risk_missing_layers"]) == {"protected_area", "rainforest", "reef", "arctic", "water"}
    assert out["missing_factors"].iloc[0] == "protected_area;rainforest;reef;arctic;water"
    # mercury_use / processing absent -> unknown: gold assumed to use mercury, flagged
    assert out["hg_basis"].iloc[0] == "workers; mercury use assumed"


def test_all_nan_row_gives_a_finite_score():
    facts = four_sites()
    nan_row = dict.fromkeys(facts.columns, np.nan)
    facts = pd.concat([facts, pd.DataFrame([nan_row])], ignore_index=True)
    out = score_sites(facts)
    assert out["risk_0_100"].notna().all() and out[list(CONTRIB_COLUMNS)].notna().all().all()
    assert "commodity" in out["missing_factors"].iloc[-1]


def test_rescoring_a_scored_frame_replaces_columns_and_keeps_facts():
    facts = four_sites()
    once = score_sites(facts)
    twice = score_sites(once, default_risk_config().with_overrides({"weights.mercury": 0.0}))
    assert list(twice.columns) == list(facts.columns) + list(OUTPUT_COLUMNS)
    assert (twice["contrib_mercury"] == 0).all()
    assert list(facts.columns) == list(four_sites().columns)  # input untouched


def test_geodataframe_in_geodataframe_out_and_duplicate_index():
    facts = gpd.GeoDataFrame(four_sites(), geometry=[Point(28.7, -2.3)] * 4, crs="EPSG:4326")
    facts.index = [7, 7, 8, 8]
    out = score_sites(facts)
    assert isinstance(out, gpd.GeoDataFrame) and out.crs == facts.crs
    assert out["risk_0_100"].tolist() == pytest.approx(score_sites(four_sites())["risk_0_100"].tolist())


def test_empty_frame():
    out = score_sites(four_sites().iloc[:0])
    assert len(out) == 0 and set(OUTPUT_COLUMNS) <= set(out.columns)


# --------------------------------------------------------------------------- config
def test_default_config_file_and_version():
    assert default_risk_config_text() == DEFAULT_RISK_CONFIG_PATH.read_text(encoding="utf-8")
    cfg = load_risk_config()
    assert cfg.version == MODEL_VERSION
    assert cfg == default_risk_config()
    assert cfg.hg_au_ratio["whole_ore_amalgamation"].central == 3.0
    assert cfg.decay["protected_area"].near_km == 10.0 and cfg.decay["protected_area"].outer_km == 70.0
    assert cfg.decay["water"].near_km == 0.5
    assert cfg.air_fraction == 0.35


def test_to_toml_round_trip_and_to_dict():
    cfg = default_risk_config().with_overrides({"weights.reef": 0.25, "iucn_weights": {"V": 0.5}})
    again = load_risk_config(cfg.to_toml())
    assert again == cfg and again.fingerprint == cfg.fingerprint and hash(again) == hash(cfg)
    assert again.to_dict()["weights"]["reef"] == 0.25
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
    nested = default_risk_config().with_overrides({"mercury": {"hg_au_ratio": {"retort": {"central": 0.3}}}})
    assert nested.hg_au_ratio["retort"].central == 0.3 and nested.hg_au_ratio["retort"].high == 0.5


@pytest.mark.parametrize(
    ("text", "error", "match"),
    [
        ("[weights]\nmercuri = 0.5\n", UnknownKeyError, r"weights\.mercuri: unknown key.*mercury"),
        ("[wieghts]\nmercury = 0.5\n", UnknownKeyError, r"wieghts: unknown key"),
        ("[land_use]\nunobtainium = 0.5\n", UnknownKeyError, r"land_use\.unobtainium"),
        ("[weights]\nmercury = -0.1\n", OutOfRangeError, r"weights\.mercury: -0\.1 is out of range \[0, 1\]"),
        ("[weights]\nreef = 1.5\n", OutOfRangeError, r"weights\.reef: 1\.5 is out of range \[0, 1\]"),
        ('[weights]\nmercury = "high"\n', ConfigTypeError, r"weights\.mercury: must be a number"),
        ("[weights]\nmercury = true\n", ConfigTypeError, r"weights\.mercury: must be a number"),
        ("weights = 3\n", ConfigTypeError, r"weights: must be a table"),
        ("[classes]\nmoderate = 60.0\n", OrderError, r"classes: thresholds moderate=60, high=50.*out of order"),
        ("[classes]\nvery_high = 100.0\n", OrderError, r"classes: .*out of order"),
        ("[classes]\nmoderate = 0\n", OutOfRangeError, r"classes\.moderate: 0 is out of range \(0, 100\]"),
        ("[mercury.hg_au_ratio.retort]\nlow = 0.9\n", OrderError, r"hg_au_ratio\.retort: low 0\.9, central 0\.25"),
        ("[decay.water]\nouter_km = 0.2\n", OrderError, r"decay\.water: outer_km 0\.2 is not beyond near_km 0\.5"),
        ("[mercury]\nsaturation_kg_per_yr = 0\n", OutOfRangeError, r"saturation_kg_per_yr: 0 is out of range"),
        ("[mercury]\nair_fraction = 1.2\n", OutOfRangeError, r"mercury\.air_fraction: 1\.2"),
        ('version = ""\n', ConfigTypeError, r"version: must be a non-empty string"),
        ("[weights\nmercury = 1\n", TomlSyntaxError, r"not valid TOML"),
    ],
)
def test_config_errors_name_the_key_and_range(text, error, match):
    with pytest.raises(error, match=match) as info:
        load_risk_config(text)
    assert isinstance(info.value, RiskConfigError) and isinstance(info.value, ValueError)
    assert info.value.fix  # the lead wraps (problem, fix) into ConfigError


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


def test_risk_config_type_exported():
    assert isinstance(default_risk_config(), RiskConfig)


def test_worked_example_variants_in_docs():
    site_a = four_sites().iloc[[0]]
    assert score_sites(site_a.assign(mercury_use="no"))["risk_0_100"].iloc[0] == pytest.approx(60.0)
    moved = score_sites(site_a.assign(in_protected_area=False, dist_protected_area_km=40.0))
    assert moved["sensitivity_index"].iloc[0] == pytest.approx(0.7)
    assert moved["risk_0_100"].iloc[0] == pytest.approx(64.9, abs=0.05)
