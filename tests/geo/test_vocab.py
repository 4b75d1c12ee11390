"""Each vocabulary is defined once (geo.vocab) and the model, the loaders, the config and the dashboard use it."""

from __future__ import annotations

import pandas as pd

import dashboard.state as state
import geo.risk as risk
import layers.commodities as commodities
import layers.schema as schema
from geo import vocab
from layers.risk_config import default_risk_config


def test_the_loaders_and_the_dashboard_use_the_same_tuples():
    for name in ("COMMODITIES", "MERCURY_USE", "AMALGAMATION", "RETORT", "CYANIDATION", "IUCN_CATEGORIES"):
        assert getattr(schema, name) is getattr(vocab, name), name
    for name in ("RISK_CLASSES", "MERCURY_USE", "WEIGHT_KEYS", "DECAY_KEYS"):
        assert getattr(state, name) is getattr(vocab, name), name
    assert risk.CONTRIB_COLUMNS is vocab.CONTRIB_COLUMNS and risk.FACTORS is vocab.FACTORS
    assert risk.SENSITIVITY_FACTORS is vocab.RECEPTORS and list(risk.RISK_CLASS_DTYPE.categories) == list(
        vocab.RISK_CLASSES
    )


def test_the_config_is_keyed_by_the_vocabularies():
    d = default_risk_config().to_dict()
    assert tuple(d["weights"]) == vocab.WEIGHT_KEYS
    assert tuple(d["decay"]) == vocab.DECAY_KEYS
    assert set(d["land_use"]) == set(vocab.COMMODITIES) | {"default"}
    assert set(d["iucn_weights"]) == set(vocab.IUCN_CATEGORIES) | {"default"}
    assert tuple(d["mercury"]["hg_au_ratio"]) == tuple(a for a in vocab.AMALGAMATION if a != "none")


def test_the_normalisers_only_produce_vocabulary_values():
    text = pd.Series(["minerai entier + cornue", "cyanuration", "", None, "retort", "gravity_only", "amalgamation"])
    out = commodities.normalise_processing(text)
    assert set(out["amalgamation"]) <= set(vocab.AMALGAMATION)
    assert set(out["retort"]) <= set(vocab.RETORT) and set(out["cyanidation"]) <= set(vocab.CYANIDATION)
    for legacy, (a, r, c) in vocab.LEGACY_PROCESSING_MAP.items():
        assert legacy in vocab.LEGACY_PROCESSING
        assert a in vocab.AMALGAMATION and r in vocab.RETORT and c in vocab.CYANIDATION
    assert set(vocab.LEGACY_PROCESSING_NOTES) <= set(vocab.LEGACY_PROCESSING)
    assert set(commodities.normalise_mercury(pd.Series(["oui", "non", "?"]))) <= set(vocab.MERCURY_USE)


def test_the_score_writes_the_vocabularies():
    facts = pd.DataFrame({"commodity": ["gold"], "workers": [10.0], "mercury_use": ["yes"]})
    out = risk.score_sites(facts, default_risk_config())
    assert [c for c in out.columns if c.startswith("contrib_")] == list(vocab.CONTRIB_COLUMNS)
    assert list(out["risk_class"].cat.categories) == list(vocab.RISK_CLASSES)
    assert list(out["hg_basis"].cat.categories) == list(vocab.HG_BASES)
    assert vocab.PA_CATEGORY_DISTANCE_COLUMNS[2] == "dist_protected_area_iucn_ii_km"


def test_the_explanation_and_the_detail_name_practices_with_the_same_words():
    import dashboard.labels as labels

    assert labels.PRACTICE_WORDS is vocab.PRACTICE_WORDS
    for column, vocabulary in (
        ("amalgamation", vocab.AMALGAMATION),
        ("retort", vocab.RETORT),
        ("cyanidation", vocab.CYANIDATION),
    ):
        assert tuple(vocab.PRACTICE_WORDS[column]) == vocabulary
    facts = pd.DataFrame(
        {
            "site_id": ["a", "b"],
            "commodity": ["gold", "gold"],
            "workers": [100.0, 100.0],
            "mercury_use": ["yes", "yes"],
            "amalgamation": ["concentrate", "unknown"],
            "retort": ["no", "no"],
            "cyanidation": ["no", "no"],
        }
    )
    sentences = risk.score_sites(facts, default_risk_config())["risk_explanation"].tolist()
    assert vocab.PRACTICE_WORDS["amalgamation"]["concentrate"] in sentences[0]
    assert vocab.PRACTICE_WORDS["amalgamation"]["unknown"] in sentences[1]
