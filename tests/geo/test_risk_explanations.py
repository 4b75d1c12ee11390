"""The explanation sentence written on demand (geo.risk.risk_explanations) equals the one score_sites writes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks.synthetic_scored import model_facts
from geo.risk import RECEPTORS, assessed_receptors, risk_explanations, score_sites
from layers.risk_config import default_risk_config

CFG = default_risk_config()


@pytest.fixture(scope="module")
def facts():
    return model_facts(2000, seed=5)


@pytest.mark.parametrize("without", [(), ("water",), ("protected_area", "reef")])
def test_sentences_on_demand_equal_those_of_the_score(facts, without):
    data = model_facts(600, seed=6, without=without)
    full = score_sites(data, CFG)
    bare = score_sites(data, CFG, explain=False)
    assert (bare["risk_explanation"] == "").all()  # the re-score leaves it out
    rng = np.random.default_rng(1)
    rows = rng.permutation(len(bare))[:250]  # any subset, any order
    got = risk_explanations(bare.iloc[rows], CFG)
    assert got.index.equals(bare.index[rows])
    assert got.tolist() == full["risk_explanation"].iloc[rows].tolist()


def test_sentences_from_a_frame_whose_text_columns_are_plain_strings(facts):
    """After a round trip through a file (or the dashboard's categoricals), hg_basis is text: same sentence."""
    full = score_sites(facts, CFG)
    plain = score_sites(facts, CFG, explain=False).astype({"hg_basis": "string", "receptors_assessed": "string"})
    plain["processing"] = plain["processing"].astype("category")
    assert risk_explanations(plain, CFG).tolist() == full["risk_explanation"].tolist()


def test_sentences_under_changed_weights_and_duplicate_labels(facts):
    cfg = CFG.with_overrides({"weights.water": 0.0, "decay.protected_area.outer_km": 30.0})
    data = facts.iloc[:300].copy()
    data.index = [0] * len(data)  # duplicate labels: positions must be kept
    full = score_sites(data, cfg)
    assert risk_explanations(score_sites(data, cfg, explain=False), cfg).tolist() == full["risk_explanation"].tolist()


def test_assessed_receptors_read_from_the_labels(facts):
    scored = score_sites(model_facts(400, seed=7, without=("reef",)), CFG)
    assessed = assessed_receptors(scored)
    assert set(assessed) == set(RECEPTORS)
    assert not assessed["reef"].any()
    water = scored["dist_water_km"].notna().to_numpy()
    np.testing.assert_array_equal(assessed["water"], water)  # NaN water facts: not assessed for those rows
    as_text = assessed_receptors(scored.astype({"receptors_assessed": "string"}))
    for r in RECEPTORS:
        np.testing.assert_array_equal(as_text[r], assessed[r])


def test_empty_frame():
    scored = score_sites(model_facts(5, seed=8), CFG, explain=False).iloc[:0]
    out = risk_explanations(scored, CFG)
    assert len(out) == 0 and isinstance(out, pd.Series)
