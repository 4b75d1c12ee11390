"""geo.summary: hand-built scored frames with known group counts, and mercury totals with bands."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo.risk import RISK_CLASS_DTYPE, score_sites
from geo.summary import SummaryError, config_of, summarise_by, summarise_standard
from geo.uncertainty import mercury_totals
from geo.vocab import pa_category_distance_column
from layers.risk_config import default_risk_config

CFG = default_risk_config()


def scored() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site_id": ["s1", "s2", "s3", "s4", "s5"],
            "country_iso3": ["COD", "COD", "COD", "GHA", None],
            "commodity": ["gold", "gold", "coltan", "gold", "gold"],
            "commodities": ["gold", "gold", "coltan", "gold", "gold"],
            "workers": [100.0, np.nan, 20.0, 500.0, 50.0],
            "mercury_use": ["yes", "yes", "no", "yes", "yes"],
            "amalgamation": ["concentrate", "unknown", "none", "whole_ore", "concentrate"],
            "risk_class": pd.Categorical(["high", "moderate", "low", "very high", "moderate"], dtype=RISK_CLASS_DTYPE),
            "in_protected_area": [True, False, False, False, False],
            "dist_protected_area_km": [0.0, 5.0, 30.0, 10.0, np.nan],
            "risk_0_100": [60.0, 40.0, 10.0, 80.0, 30.0],
        }
    )


def test_by_country_counts_and_exposure():
    out = summarise_by(scored(), "country_iso3", config=CFG).set_index("country_iso3", drop=False)
    assert len(out) == 3  # COD, GHA and the site outside every country
    cod = out.loc["COD"]
    assert cod["n_sites"] == 3
    assert cod["share_in_protected_area"] == pytest.approx(1 / 3)
    assert cod["n_within_10km"] == 2  # s1 inside, s2 at 5 km; s3 at 30 km is not
    assert cod["n_hg_unknown_size"] == 1  # s2 uses mercury but has no size
    assert cod["mean_risk_0_100"] == pytest.approx((60 + 40 + 10) / 3) and cod["max_risk_0_100"] == 60.0
    assert out.loc["GHA", "n_within_10km"] == 1  # exactly 10 km counts
    outside = out[out["country_iso3"].isna()].iloc[0]
    assert outside["n_sites"] == 1 and outside["n_within_10km"] == 0


def test_mercury_columns_are_the_monte_carlo_totals():
    s = scored()
    out = summarise_by(s, "country_iso3", config=CFG).set_index("country_iso3", drop=False)
    direct = mercury_totals(s, CFG, "country_iso3").set_index("country_iso3")
    for col in ("hg_kg_per_yr_low", "hg_kg_per_yr", "hg_kg_per_yr_high", "hg_kg_per_yr_air"):
        assert out.loc["COD", col] == pytest.approx(direct.loc["COD", col])
    assert 0 < out.loc["COD", "hg_kg_per_yr_low"] < out.loc["COD", "hg_kg_per_yr"] < out.loc["COD", "hg_kg_per_yr_high"]


def test_without_a_config_the_mercury_columns_are_left_out():
    out = summarise_by(scored(), "commodity")
    assert "hg_kg_per_yr" not in out.columns and out["n_sites"].tolist() == [1, 4]


def test_by_risk_class_lists_all_classes_in_order():
    out = summarise_by(scored().iloc[[0, 1, 3, 4]], "risk_class", config=CFG)  # no "low" site
    assert out["risk_class"].astype(str).tolist() == ["low", "moderate", "high", "very high"]
    assert out["n_sites"].tolist() == [0, 2, 1, 1]
    assert out["n_within_10km"].tolist() == [0, 1, 1, 1]
    assert out["hg_kg_per_yr"].iloc[0] == 0.0 and (out["hg_kg_per_yr"].iloc[1:] > 0).all()
    assert np.isnan(out["mean_risk_0_100"].iloc[0])
    assert out["n_sites"].dtype == np.int64


def test_two_keys():
    out = summarise_by(scored(), ["country_iso3", "risk_class"], config=CFG)
    cod = out[out["country_iso3"] == "COD"]
    assert cod["risk_class"].astype(str).tolist() == ["low", "moderate", "high"]
    assert cod["n_sites"].tolist() == [1, 1, 1] and out["n_sites"].sum() == 5


def test_missing_columns():
    df = scored().drop(columns=["in_protected_area", "dist_protected_area_km"])
    df["protected_areas_within_10km"] = [2, 0, 1, 0, 0]
    out = summarise_by(df, "country_iso3").set_index("country_iso3")
    assert np.isnan(out.loc["COD", "share_in_protected_area"])
    assert out.loc["COD", "n_within_10km"] == 2  # falls back to the buffer count
    with pytest.raises(SummaryError, match=r"cannot summarise by \['region'\]"):
        summarise_by(scored(), "region")
    with pytest.raises(SummaryError, match="no grouping column"):
        summarise_by(scored(), [])


def test_with_score_sites_output_the_config_travels_in_attrs():
    facts = pd.DataFrame(
        {
            "site_id": ["a", "b", "c"],
            "country_iso3": ["COD", "COD", "PER"],
            "commodity": ["gold", "cassiterite", "gold"],
            "commodities": ["gold", "cassiterite", "gold"],
            "workers": [100.0, 20.0, 500.0],
            "mercury_use": ["yes", "no", "yes"],
            "amalgamation": ["concentrate", "none", "concentrate"],
            "retort": ["no", "no", "yes"],
            pa_category_distance_column("ii"): [8.0, 0.0, np.inf],
        }
    )
    cfg = CFG.with_overrides({"uncertainty.n_draws": 500})
    result = score_sites(facts, cfg)
    assert config_of(result) == cfg
    tables = summarise_standard(result)
    assert set(tables) == {"country_iso3", "commodity", "risk_class"}
    by_country = tables["country_iso3"].set_index("country_iso3")
    assert by_country.loc["COD", "n_within_10km"] == 2  # from the per-category distances
    # one site in PER: its total's median is the site's median (500 x 22.4 g x (1.3 - 0.9 with the retort))
    assert result.loc[2, "hg_kg_per_yr"] == pytest.approx(500 * 0.0224 * 0.4)
    assert by_country.loc["PER", "hg_kg_per_yr"] == pytest.approx(500 * 0.0224 * 0.4, rel=0.15)
    assert tables["risk_class"]["n_sites"].sum() == 3
    # a filtered view keeps the config too (the dashboard summarises views)
    assert config_of(result[result["country_iso3"] == "COD"]) == cfg
