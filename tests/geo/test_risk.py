"""geo.risk (asm-risk-model 2.0): hand-computed known answers, the issue's orderings, bands, missing facts."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from scipy.special import ndtri
from shapely.geometry import Point

from geo.risk import (
    CONTRIB_COLUMNS,
    HG_BASES,
    MODEL_VERSION,
    OUTPUT_COLUMNS,
    RECEPTOR_LABELS,
    RISK_CLASSES,
    Decay,
    FactsReachError,
    compute_mercury_hazard,
    explain_site,
    score_sites,
)
from geo.vocab import IUCN_SLUGS, pa_category_distance_column
from layers.risk_config import default_risk_config

CFG = default_risk_config()
LN_1001 = math.log(1001.0)  # log1p(default saturation of 1000 kg/yr)
LN_451 = math.log(451.0)  # log1p(default footprint saturation of 450 ha)

#: no uncertainty at all: every percentile is the deterministic value
EXACT = CFG.with_overrides(
    {
        "mercury.productivity_g_au_per_worker_yr.uncertainty_factor": 1.0,
        "mercury.production_uncertainty_factor": 1.0,
        "mercury.hg_au_ratio.whole_ore.uncertainty_factor": 1.0,
        "mercury.hg_au_ratio.concentrate.uncertainty_factor": 1.0,
        "mercury.hg_au_ratio.unknown.uncertainty_factor": 1.0,
        "mercury.air_fraction_uncertainty_factor": 1.0,
        "footprint.ha_per_worker.uncertainty_factor": 1.0,
    }
)


def pa_facts(**dist_by_slug: float) -> dict[str, float]:
    """Per-IUCN-category distance facts (the proximity engine's contract): +inf where none is within reach."""
    return {pa_category_distance_column(s): float(dist_by_slug.get(s, np.inf)) for s in IUCN_SLUGS}


def site(**kw) -> dict:
    base = {"commodity": "gold", "commodities": "gold", "workers": np.nan, "gold_kg_per_yr": np.nan, "area_km2": 0.0}
    base.update(kw)
    return base


def worked_example() -> pd.DataFrame:
    """Site A of docs/risk-model.md 7: 1,000 workers, whole-ore amalgamation, inside a category II park
    and inside rainforest; reef and Arctic far away; no water layer."""
    return pd.DataFrame(
        [
            site(
                site_id="A",
                workers=1000.0,
                mercury_use="yes",
                amalgamation="whole_ore",
                retort="no",
                cyanidation="no",
                **pa_facts(ii=0.0, vi=12.0),
                in_rainforest=True,
                dist_rainforest_km=0.0,
                dist_reef_km=500.0,
                in_arctic=False,
                dist_arctic_km=3000.0,
            )
        ]
    )


# --------------------------------------------------------------------------- known answers
def test_worked_example_by_hand():
    out = score_sites(worked_example(), CFG)
    row = out.iloc[0]
    hg = 1000 * 22.4 / 1000 * 3.0  # workers x median g/worker-yr -> kg Au, x whole-ore Hg:Au
    assert row["hg_kg_per_yr"] == pytest.approx(hg) and hg == pytest.approx(67.2)
    m = math.log1p(hg) / LN_1001
    lu = 1.0 * math.log1p(1000 * 0.27) / LN_451  # gold intensity x footprint index of 270 ha
    h = 1 - (1 - 1.0 * m) * (1 - 0.6 * lu)
    s = 1 - (1 - 1.0 * 1.0) * (1 - 0.6 * 1.0)  # inside a II park (weight 1) and inside rainforest
    local = h * (0.2 + 0.8 * s)
    g = 0.5 * (1.0 / 3.0) * m  # mercury_air weight x whole-ore air share (1.0 / 3.0) x index
    risk = 100 * (1 - (1 - g) * (1 - local))
    assert row["mercury_index"] == pytest.approx(m)
    assert row["land_use_index"] == pytest.approx(lu)
    assert row["hazard_index"] == pytest.approx(h)
    assert row["sensitivity_index"] == pytest.approx(s)
    assert row["risk_0_100"] == pytest.approx(risk)
    assert risk == pytest.approx(84.28, abs=0.01)
    assert row["risk_class"] == "very high"
    # Shapley split: global term G(1 - L/2), local term L(1 - G/2) shared among its factors
    assert row["contrib_mercury_air"] == pytest.approx(100 * g * (1 - local / 2))
    hazard_scale = 100 * (1 - g / 2) * (0.2 + 0.8 * s / 2)
    assert row["contrib_mercury"] == pytest.approx(hazard_scale * h * m / (m + 0.6 * lu))
    assert row["contrib_land_use"] == pytest.approx(hazard_scale * h * 0.6 * lu / (m + 0.6 * lu))
    sens_scale = 100 * (1 - g / 2) * 0.8 * h / 2
    assert row["contrib_protected_area"] == pytest.approx(sens_scale * 1.0 / 1.6)
    assert row["contrib_rainforest"] == pytest.approx(sens_scale * 0.6 / 1.6)
    assert sum(row[c] for c in CONTRIB_COLUMNS) == pytest.approx(row["risk_0_100"], abs=1e-9)
    assert row["receptors_assessed"] == "protected_area;rainforest;reef;arctic"
    assert not row["score_complete"]  # no water layer: the score is partial, and says so
    assert row["missing_factors"] == "water"


def test_bands_are_exact_lognormal_quantiles():
    out = score_sites(worked_example(), CFG).iloc[0]
    prod, ratio = CFG.productivity_g_au_per_worker_yr, CFG.hg_au_ratio["whole_ore"]
    sigma = math.hypot(prod.sigma, ratio.sigma)  # workers x productivity x ratio: log-variances add
    z = ndtri(0.95)
    assert out["hg_kg_per_yr_low"] == pytest.approx(67.2 * math.exp(-z * sigma))
    assert out["hg_kg_per_yr_high"] == pytest.approx(67.2 * math.exp(z * sigma))
    assert out["hg_kg_per_yr_air"] == pytest.approx(67.2 / 3.0)
    assert out["risk_0_100_low"] < out["risk_0_100"] < out["risk_0_100_high"] <= 100.0
    # the score rises with the release alone, so its percentiles are the score of the release's percentiles
    low = score_sites(worked_example().assign(gold_kg_per_yr=out["hg_kg_per_yr_low"] / 3.0), EXACT).iloc[0]
    # the footprint of a site with production known comes from its workers, unchanged here
    assert low["risk_0_100"] == pytest.approx(out["risk_0_100_low"])


def test_zero_variance_gives_equal_percentiles():
    out = score_sites(worked_example(), EXACT).iloc[0]
    assert out["hg_kg_per_yr_low"] == out["hg_kg_per_yr"] == out["hg_kg_per_yr_high"] == pytest.approx(67.2)
    assert out["risk_0_100_low"] == out["risk_0_100"] == out["risk_0_100_high"]
    assert out["p_high_or_above"] == 1.0  # deterministic and above 50


def test_mercury_hazard_bases():
    facts = pd.DataFrame(
        [
            site(workers=100.0, mercury_use="yes", amalgamation="concentrate", retort="yes"),  # 0 retort
            site(gold_kg_per_yr=10.0, mercury_use="unknown", amalgamation="unknown"),  # 1 uncertain use
            site(workers=50.0, mercury_use="no"),  # 2
            site(commodity="coltan", commodities="coltan", workers=50.0, mercury_use="yes"),  # 3 not gold
            site(area_km2=0.5, mercury_use="unknown", amalgamation="whole_ore"),  # 4 polygon: size from area
            site(mercury_use="yes", amalgamation="unknown"),  # 5 size unknown
            site(workers=20.0, mercury_use="unknown", amalgamation="none", cyanidation="yes"),  # 6 no amalgamation
        ]
    )
    hz = compute_mercury_hazard(facts, EXACT)
    # 0: 100 x 22.4 g = 2.24 kg Au; concentrate 1.3 less the retort's 1.0 x 0.9 -> 0.4
    assert hz.loc[0, "hg_kg_per_yr"] == pytest.approx(2.24 * 0.4)
    assert hz.loc[0, "hg_kg_per_yr_air"] == pytest.approx(2.24 * 0.4 * (0.1 / 0.4))
    assert hz.loc[0, "hg_basis"] == "workers"
    # 1: 10 kg Au x unknown-type 2.0 = 20 kg when used (p = 0.8): median = used, p5 = 0 (the 20 % atom)
    assert hz.loc[1, ["hg_kg_per_yr_low", "hg_kg_per_yr", "hg_kg_per_yr_high"]].tolist() == pytest.approx(
        [0.0, 20.0, 20.0]
    )
    assert hz.loc[1, "p_mercury_use"] == pytest.approx(0.8)
    assert hz.loc[1, "hg_basis"] == "production; mercury use uncertain"
    assert hz.loc[2, "hg_kg_per_yr"] == 0.0 and hz.loc[2, "hg_basis"] == "no mercury (mercury_use = no)"
    assert hz.loc[3, "hg_kg_per_yr"] == 0.0 and hz.loc[3, "hg_basis"] == "no mercury (not gold)"
    # 4: 50 ha / 0.27 ha per worker x 22.4 g = 4.148 kg Au x 3.0
    assert hz.loc[4, "hg_kg_per_yr"] == pytest.approx(50 / 0.27 * 0.0224 * 3.0)
    assert hz.loc[4, "hg_basis"] == "area"
    assert np.isnan(hz.loc[5, "hg_kg_per_yr"]) and hz.loc[5, "hg_basis"] == "unknown size"
    assert hz.loc[5, "mercury_index"] == pytest.approx(CFG.unknown_size_index)
    assert hz.loc[6, "hg_kg_per_yr"] == 0.0 and hz.loc[6, "hg_basis"] == "no mercury (no amalgamation)"
    assert set(hz["hg_basis"].cat.categories) == set(HG_BASES)


def test_a_mercury_user_of_unknown_size_has_no_range_and_no_chance_of_high_rather_than_a_certain_looking_one():
    facts = pd.DataFrame(
        [
            site(mercury_use="yes", amalgamation="whole_ore"),  # 0 size unknown: the score uses unknown_size_index
            site(workers=1000.0, mercury_use="yes", amalgamation="whole_ore"),  # 1 the same practice, a known size
            site(commodity="coltan", commodities="coltan", mercury_use="no"),  # 2 no mercury, size unknown
        ]
    )
    out = score_sites(facts, CFG)
    assert np.isfinite(out.loc[0, "risk_0_100"])  # still scored, on the documented assumption
    assert np.isnan(out.loc[0, "risk_0_100_low"]) and np.isnan(out.loc[0, "risk_0_100_high"])
    assert np.isnan(out.loc[0, "p_high_or_above"])
    assert out.loc[1, "risk_0_100_low"] < out.loc[1, "risk_0_100"] < out.loc[1, "risk_0_100_high"]
    assert 0.0 <= out.loc[1, "p_high_or_above"] <= 1.0
    # no mercury: nothing about the release is unknown, the (zero-width) range stands
    assert out.loc[2, "risk_0_100_low"] == out.loc[2, "risk_0_100"] == out.loc[2, "risk_0_100_high"]


def test_old_processing_column_is_read_through_the_legacy_map():
    facts = pd.DataFrame([site(workers=100.0, mercury_use="unknown", processing="retort")])
    hz = compute_mercury_hazard(facts, EXACT)
    assert hz.loc[0, "p_mercury_use"] == 1.0  # a retort implies mercury
    assert hz.loc[0, "hg_kg_per_yr"] == pytest.approx(2.24 * (2.0 - 0.9))  # unknown type with a retort


def test_cyanidation_of_mercury_bearing_tailings_raises_the_local_mercury_term():
    base = worked_example().assign(**pa_facts(ii=30.0), in_rainforest=False, dist_rainforest_km=200.0)
    plain = score_sites(base, CFG).iloc[0]
    leached = score_sites(base.assign(cyanidation="yes"), CFG).iloc[0]
    assert leached["risk_0_100"] > plain["risk_0_100"]
    assert leached["hg_kg_per_yr"] == plain["hg_kg_per_yr"]  # the same release, more mobile
    assert leached["hazard_index"] == pytest.approx(
        1 - (1 - min(1.0, 2.0 * plain["mercury_index"])) * (1 - 0.6 * plain["land_use_index"])
    )
    assert "cyanidation" in leached["risk_explanation"]


# --------------------------------------------------------------------------- the orderings
def orderings() -> pd.DataFrame:
    return pd.DataFrame(
        [
            site(site_id="big-5km", workers=1000.0, mercury_use="yes", amalgamation="whole_ore", **pa_facts(ii=5.0)),
            site(site_id="panner-inside", workers=1.0, mercury_use="no", amalgamation="none", **pa_facts(ii=0.0)),
            site(site_id="camp-far", workers=10000.0, mercury_use="yes", amalgamation="whole_ore", **pa_facts()),
            site(
                site_id="retort-0.6km",
                gold_kg_per_yr=0.25,
                mercury_use="yes",
                amalgamation="concentrate",
                retort="yes",
                **pa_facts(ii=0.6),
            ),
        ]
    ).set_index("site_id")


def test_large_mercury_user_outranks_a_mercury_free_panner_inside_a_park():
    out = score_sites(orderings(), CFG)["risk_0_100"]
    assert out["big-5km"] > out["panner-inside"]
    assert out["panner-inside"] < 25  # one panner without mercury: low, wherever he is


def test_large_camp_far_from_every_receptor_is_at_least_moderate():
    out = score_sites(orderings(), CFG)
    camp = out.loc["camp-far"]
    assert camp["risk_class"] in ("moderate", "high", "very high")
    assert camp["risk_0_100_low"] >= 25  # even its 5th percentile
    assert camp["contrib_mercury_air"] > 0


def test_a_small_retort_site_near_a_park_is_not_high():
    out = score_sites(orderings(), CFG).loc["retort-0.6km"]
    assert out["hg_kg_per_yr"] == pytest.approx(0.1)  # 0.25 kg Au x (1.3 - 0.9)
    assert out["risk_class"] in ("low", "moderate") and out["p_high_or_above"] < 0.01


def test_adding_a_weaker_protected_area_closer_never_lowers_the_score():
    three_km = site(workers=200.0, mercury_use="yes", amalgamation="concentrate", **pa_facts(ii=3.0))
    with_v = {**three_km, **pa_facts(ii=3.0, v=1.4)}
    out = score_sites(pd.DataFrame([three_km, with_v]), CFG)["risk_0_100"]
    assert out.iloc[1] >= out.iloc[0]
    # the term is the strictest weight x decay within reach: II at 3 km (0.85) beats V at 1.4 km (0.6 x 0.93)
    assert out.iloc[1] == pytest.approx(out.iloc[0])


# --------------------------------------------------------------------------- p_high_or_above
def test_p_high_or_above_matches_brute_force_monte_carlo():
    facts = pd.DataFrame(
        [
            site(workers=300.0, mercury_use="yes", amalgamation="whole_ore", **pa_facts(iv=8.0)),
            site(workers=80.0, mercury_use="unknown", **pa_facts(ii=2.0), dist_water_km=0.3),
            site(
                gold_kg_per_yr=4.0,
                area_km2=0.1,
                mercury_use="yes",
                amalgamation="concentrate",
                cyanidation="yes",
                **pa_facts(vi=20.0),
            ),
        ]
    )
    out = score_sites(facts, CFG)
    rng = np.random.default_rng(7)
    n = 200_000
    for i in range(len(facts)):
        row = out.iloc[i]
        # draw releases from the site's mixture, and score each through the model with zero variance
        sigma = {0: math.hypot(CFG.productivity_g_au_per_worker_yr.sigma, CFG.hg_au_ratio["whole_ore"].sigma),
                 1: math.hypot(CFG.productivity_g_au_per_worker_yr.sigma, CFG.hg_au_ratio["unknown"].sigma),
                 2: math.hypot(math.log(2.0) / ndtri(0.95), CFG.hg_au_ratio["concentrate"].sigma)}[i]  # fmt: skip
        median_used = {0: 300 * 0.0224 * 3.0, 1: 80 * 0.0224 * 2.0, 2: 4.0 * 1.3}[i]
        used = rng.random(n) < row["p_mercury_use"]
        hg = np.where(used, median_used * np.exp(sigma * rng.standard_normal(n)), 0.0)
        m = np.minimum(np.log1p(hg) / LN_1001, 1.0)
        # the exact probability from the model's own monotone map: P(m >= m*) at the class boundary
        grid = np.linspace(0, 1, 2001)
        probe = facts.iloc[[i] * len(grid)].reset_index(drop=True)
        probe = probe.assign(gold_kg_per_yr=np.expm1(grid * LN_1001) / {0: 3.0, 1: 2.0, 2: 1.3}[i], mercury_use="yes")
        probe = probe.assign(amalgamation=["whole_ore", "unknown", "concentrate"][i])
        risk_of_m = score_sites(probe, EXACT, explain=False)["risk_0_100"].to_numpy()
        m_star = grid[np.argmax(risk_of_m >= 50.0)] if (risk_of_m >= 50).any() else 2.0
        brute = (m >= m_star).mean()
        assert row["p_high_or_above"] == pytest.approx(brute, abs=0.01), i


# --------------------------------------------------------------------------- robustness
def test_not_assessed_receptors_are_flagged_not_silently_zero():
    sites_only = pd.DataFrame([site(workers=100.0, mercury_use="yes", amalgamation="whole_ore")])
    out = score_sites(sites_only, CFG)
    assert out["risk_0_100"].notna().all()
    assert out["receptors_assessed"].iloc[0] == "none" and not out["score_complete"].iloc[0]
    assert set(out.attrs["risk_missing_layers"]) == {"protected_area", "rainforest", "reef", "arctic", "water"}
    assert "protected areas not assessed" in out["risk_explanation"].iloc[0]
    assert "not assessed: rainforest, reef, arctic, water" in out["risk_explanation"].iloc[0]
    # complete once every receptor with a weight is assessed (here water is switched off)
    full = worked_example()
    cfg = CFG.with_overrides({"weights.water": 0.0})
    assert score_sites(full, cfg)["score_complete"].iloc[0]
    assert list(out["receptors_assessed"].cat.categories) == list(RECEPTOR_LABELS)


def test_a_decay_beyond_the_facts_reach_is_refused():
    facts = worked_example()
    facts.attrs["protected_area_reach_km"] = 50.0
    with pytest.raises(FactsReachError, match=r"decay\.protected_area\.outer_km: 70 km is beyond the 50 km"):
        score_sites(facts, CFG)
    ok = CFG.with_overrides({"decay.protected_area.outer_km": 50.0})
    assert score_sites(facts, ok)["risk_0_100"].notna().all()


def test_nearest_protected_area_fallback_without_per_category_facts():
    facts = pd.DataFrame(
        [
            site(
                workers=100.0,
                mercury_use="no",
                in_protected_area=False,
                dist_protected_area_km=5.0,
                nearest_protected_area_iucn="VI",
            )
        ]
    )
    out = score_sites(facts, CFG).iloc[0]
    assert out["sensitivity_index"] == pytest.approx(0.75 * 0.6)  # decay at 5 km x category VI weight
    assert out["receptors_assessed"] == "protected_area"


@pytest.mark.parametrize(
    ("dist_km", "expected"),
    [
        (0.0, 1.0),
        (5.0, 0.75),
        (10.0, 0.5),
        (40.0, 0.25),
        (70.0, 0.0),
        (500.0, 0.0),
        (-3.0, 1.0),
        (np.nan, 0.0),
        (np.inf, 0.0),
    ],
)
def test_decay_piecewise_linear(dist_km, expected):
    assert Decay(10.0, 0.5, 70.0)(np.array([dist_km]))[0] == pytest.approx(expected)


def test_explanation_sentence_and_detail_panel():
    out = score_sites(worked_example(), CFG)
    sentence = out["risk_explanation"].iloc[0]
    assert sentence.startswith("gold, whole-ore amalgamation, ~67.2 kg Hg/yr (90% range ")
    assert "inside nearest protected area (II)" in sentence and "not assessed: water" in sentence
    text = explain_site(out.iloc[0], CFG)
    assert "67.2 kg/yr" in text and "very high" in text and MODEL_VERSION in text
    assert "Not assessed (no data, counted as nothing near): water" in text
    assert score_sites(worked_example(), CFG, explain=False)["risk_explanation"].eq("").all()


def test_risk_class_is_ordered_categorical_with_config_thresholds():
    out = score_sites(orderings(), CFG)
    assert list(out["risk_class"].cat.categories) == list(RISK_CLASSES) and out["risk_class"].cat.ordered
    cfg = CFG.with_overrides({"classes": {"moderate": 1.0, "high": 2.0, "very_high": 3.0}})
    assert set(score_sites(orderings(), cfg)["risk_class"]) == {"very high", "high"}


def test_all_nan_row_gives_a_finite_score():
    facts = orderings().reset_index()
    facts = pd.concat([facts, pd.DataFrame([dict.fromkeys(facts.columns, np.nan)])], ignore_index=True)
    out = score_sites(facts, CFG)
    assert out["risk_0_100"].notna().all() and out[list(CONTRIB_COLUMNS)].notna().all().all()
    assert "commodity" in out["missing_factors"].iloc[-1]


def test_rescoring_a_scored_frame_replaces_columns_and_keeps_facts():
    facts = orderings()
    once = score_sites(facts, CFG)
    twice = score_sites(once, CFG.with_overrides({"weights.mercury": 0.0, "weights.mercury_air": 0.0}))
    assert list(twice.columns) == list(facts.columns) + list(OUTPUT_COLUMNS)
    assert (twice["contrib_mercury"] == 0).all() and (twice["contrib_mercury_air"] == 0).all()
    assert '"mercury": 0.0' in twice.attrs["risk_config"]  # the config travels with the frame


def test_geodataframe_in_geodataframe_out_and_duplicate_index():
    facts = gpd.GeoDataFrame(orderings().reset_index(), geometry=[Point(28.7, -2.3)] * 4, crs="EPSG:4326")
    facts.index = [7, 7, 8, 8]
    out = score_sites(facts, CFG)
    assert isinstance(out, gpd.GeoDataFrame) and out.crs == facts.crs
    assert out["risk_0_100"].tolist() == pytest.approx(score_sites(orderings(), CFG)["risk_0_100"].tolist())


def test_empty_frame():
    out = score_sites(orderings().iloc[:0], CFG)
    assert len(out) == 0 and set(OUTPUT_COLUMNS) <= set(out.columns)


def test_config_is_required():
    with pytest.raises(TypeError, match="default_risk_config"):
        score_sites(orderings(), None)  # type: ignore[arg-type]
