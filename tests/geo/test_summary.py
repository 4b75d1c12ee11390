"""geo.summary: hand-built scored frames with known group totals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo.risk import RISK_CLASS_DTYPE, score_sites
from geo.summary import SummaryError, summarise_by, summarise_standard


def scored() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site_id": ["s1", "s2", "s3", "s4", "s5"],
            "country_iso3": ["COD", "COD", "COD", "GHA", None],
            "commodity": ["gold", "gold", "coltan", "gold", "gold"],
            "risk_class": pd.Categorical(["high", "moderate", "low", "very high", "moderate"], dtype=RISK_CLASS_DTYPE),
            "in_protected_area": [True, False, False, False, False],
            "dist_protected_area_km": [0.0, 5.0, 30.0, 10.0, np.nan],
            "hg_kg_per_yr_low": [1.0, np.nan, 0.0, 4.0, 1.0],
            "hg_kg_per_yr": [2.0, np.nan, 0.0, 5.0, 1.0],
            "hg_kg_per_yr_high": [3.0, np.nan, 0.0, 6.0, 1.0],
            "risk_0_100": [60.0, 40.0, 10.0, 80.0, 30.0],
        }
    )


def test_by_country_known_answers():
    out = summarise_by(scored(), "country_iso3").set_index("country_iso3", drop=False)
    assert len(out) == 3  # COD, GHA and the site outside every country
    cod = out.loc["COD"]
    assert cod["n_sites"] == 3
    assert cod["share_in_protected_area"] == pytest.approx(1 / 3)
    assert cod["n_within_10km"] == 2  # s1 inside, s2 at 5 km; s3 at 30 km is not
    assert (cod["hg_kg_per_yr_low"], cod["hg_kg_per_yr"], cod["hg_kg_per_yr_high"]) == (1.0, 2.0, 3.0)
    assert cod["n_hg_unknown_size"] == 1
    assert cod["mean_risk_0_100"] == pytest.approx((60 + 40 + 10) / 3)
    assert cod["max_risk_0_100"] == 60.0
    gha = out.loc["GHA"]
    assert gha["n_within_10km"] == 1  # exactly 10 km counts
    assert gha["hg_kg_per_yr"] == 5.0
    outside = out[out["country_iso3"].isna()].iloc[0]
    assert outside["n_sites"] == 1 and outside["n_within_10km"] == 0 and outside["hg_kg_per_yr_high"] == 1.0


def test_by_commodity_known_answers():
    out = summarise_by(scored(), "commodity")
    assert out["commodity"].tolist() == ["coltan", "gold"]
    gold = out.iloc[1]
    assert gold["n_sites"] == 4
    assert gold["share_in_protected_area"] == pytest.approx(0.25)
    assert gold["n_within_10km"] == 3
    assert gold["hg_kg_per_yr"] == pytest.approx(8.0)
    assert gold["hg_kg_per_yr_low"] == pytest.approx(6.0)
    assert gold["hg_kg_per_yr_high"] == pytest.approx(10.0)


def test_by_risk_class_lists_all_classes_in_order():
    out = summarise_by(scored().iloc[[0, 1, 3, 4]], "risk_class")  # no "low" site
    assert out["risk_class"].astype(str).tolist() == ["low", "moderate", "high", "very high"]
    assert out["n_sites"].tolist() == [0, 2, 1, 1]
    assert out["n_within_10km"].tolist() == [0, 1, 1, 1]
    assert out["hg_kg_per_yr"].tolist() == [0.0, 1.0, 2.0, 5.0]
    assert np.isnan(out["mean_risk_0_100"].iloc[0])
    assert out["n_sites"].dtype == np.int64


def test_two_keys():
    out = summarise_by(scored(), ["country_iso3", "risk_class"])
    cod = out[out["country_iso3"] == "COD"]
    assert cod["risk_class"].astype(str).tolist() == ["low", "moderate", "high"]
    assert cod["n_sites"].tolist() == [1, 1, 1]
    assert out["n_sites"].sum() == 5


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


def test_with_score_sites_output():
    facts = pd.DataFrame(
        {
            "country_iso3": ["COD", "COD", "PER"],
            "commodity": ["gold", "cassiterite", "gold"],
            "commodities": ["gold", "cassiterite", "gold"],
            "workers": [100.0, 20.0, 500.0],
            "gold_kg_per_yr": [np.nan, np.nan, np.nan],
            "mercury_use": ["yes", "no", "yes"],
            "processing": ["concentrate_amalgamation", "gravity_only", "retort"],
            "in_protected_area": [False, True, False],
            "dist_protected_area_km": [8.0, 0.0, 50.0],
        }
    )
    result = score_sites(facts)
    tables = summarise_standard(result)
    assert set(tables) == {"country_iso3", "commodity", "risk_class"}
    by_country = tables["country_iso3"].set_index("country_iso3")
    # COD gold: 100 workers x 26.4 g x 1.3 = 3.432 kg; PER: 500 x 26.4 g x 0.25 = 3.3 kg
    assert by_country.loc["COD", "hg_kg_per_yr"] == pytest.approx(3.432)
    assert by_country.loc["PER", "hg_kg_per_yr"] == pytest.approx(3.3)
    assert by_country.loc["COD", "n_within_10km"] == 2
    assert tables["risk_class"]["n_sites"].sum() == 3
    assert tables["commodity"]["hg_kg_per_yr"].sum() == pytest.approx(result["hg_kg_per_yr"].sum())
