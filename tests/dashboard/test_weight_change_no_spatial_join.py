"""A weight or decay change re-scores the stored facts: it never runs a spatial join again."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard import data
from geo import proximity
from scoring import pipeline
from settings import Settings


@pytest.fixture
def settings(tmp_path):
    return Settings(cache_dir=tmp_path / "cache", workspace_dir=tmp_path / "ws", demo_n_sites=300)


def test_a_weight_or_decay_change_reuses_the_facts(settings, monkeypatch):
    default = data.get_scored(settings, None, {}, {})  # the facts, computed once

    def refuse(*_args, **_kwargs):
        raise AssertionError("a weight change ran a spatial computation")

    for module, name in (
        (pipeline, "compute_facts"),
        (data, "compute_facts"),
        (proximity, "compute_protected_area_proximity"),
        (proximity, "compute_protected_area_proximity_arrow"),
        (proximity, "compute_layer_proximity"),
    ):
        monkeypatch.setattr(module, name, refuse)
    weights, decay = data.weight_defaults(settings)
    heavier = {**weights, "land_use": weights["land_use"] / 2}
    rescored = data.get_scored(settings, None, heavier, {})
    assert len(rescored) == len(default)
    assert not np.allclose(rescored["risk_0_100"].to_numpy(), default["risk_0_100"].to_numpy())
    near, outer = decay["protected_area"]
    closer = {"protected_area": (near / 2, outer / 2)}
    assert len(data.get_scored(settings, None, weights, closer)) == len(default)
