"""The dashboard's weight change: the cached re-score (dashboard.data.recombined, get_scored) gives the very
frame a full re-score gives (dashboard.data.rescore = prepare_scored(score_facts(..., explain=False)))."""

from __future__ import annotations

import time

import geopandas as gpd
import pandas as pd
import pytest

from benchmarks.synthetic_scored import model_facts
from dashboard import data
from dashboard.data import Dataset, get_scored, recombined, rescore, risk_config
from dashboard.views import filter_view, prepare_scored, render_state
from geo.risk import score_basis
from layers.risk_config import default_risk_config
from scoring.pipeline import score_facts
from settings import Settings

CFG = default_risk_config()


@pytest.fixture(scope="module")
def facts() -> gpd.GeoDataFrame:
    return model_facts(3000, seed=11, without=("reef",))


def _assert_same_frame(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert type(got) is type(want)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert got.attrs == want.attrs
    if isinstance(want, gpd.GeoDataFrame):
        assert got.geometry.name == want.geometry.name and got.crs == want.crs


@pytest.mark.parametrize(
    "change",
    [
        {"weights.mercury": 0.4, "weights.protected_area": 0.8},
        {"weights.water": 0.0, "weights.rainforest": 1.0, "combine.background_sensitivity": 0.05},
        {"classes.high": 40.0},
        {"decay.protected_area.outer_km": 150.0, "decay.water.near_km": 1.0},
    ],
    ids=lambda c: ",".join(c),
)
def test_recombined_equals_a_full_rescore_exactly(facts, change):
    default = prepare_scored(score_facts(facts, CFG))  # the dataset's frame: default weights, with sentences
    basis = score_basis(facts, CFG)
    config = CFG.with_overrides(change)
    basis = score_basis(facts, config, reuse=basis)  # a decay change rebuilds the receptor half
    got = recombined(default, basis, config, facts.attrs)
    _assert_same_frame(got, rescore(facts, config))
    assert (got["risk_explanation"] == "").all()  # written later, for the rows shown
    assert default["risk_explanation"].str.len().min() > 0  # the dataset's own frame is untouched
    assert not got[["risk_0_100", "risk_class"]].equals(default[["risk_0_100", "risk_class"]])  # it changed


def test_get_scored_serves_a_weight_change_from_the_cached_basis(facts, tmp_path, monkeypatch):
    settings = Settings(cache_dir=tmp_path / "cache")
    dataset = Dataset(
        facts=facts, scored=score_facts(facts, risk_config(settings)), countries=None, protected_areas=None,
        sources=(), warnings=(), is_demo=False, n_rejected=0,
    )  # fmt: skip
    monkeypatch.setattr(data, "get_dataset_for", lambda s, ws: dataset)
    data._scored.cache_clear()
    data._basis.cache_clear()
    for weights, decay in (({"mercury": 0.3}, {}), ({"reef": 0.0, "land_use": 1.0}, {"water": [1.0, 4.0]})):
        got = get_scored(settings, None, weights, decay)
        _assert_same_frame(got, rescore(facts, risk_config(settings, weights, decay)))
    assert data._basis.cache_info().currsize == 2  # the default decay's basis, and one for the decay change
    # filtering a recombined frame is filtering the full re-score
    state = render_state({"countries": ["GHA"], "risk_classes": ["high", "very high"]})
    got = filter_view(get_scored(settings, None, {"mercury": 0.3}, {}), state)
    _assert_same_frame(got, filter_view(rescore(facts, risk_config(settings, {"mercury": 0.3}, {})), state))


def test_callbacks_arriving_together_re_score_once(facts, tmp_path, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    settings = Settings(cache_dir=tmp_path / "cache")
    dataset = Dataset(
        facts=facts, scored=score_facts(facts, risk_config(settings)), countries=None, protected_areas=None,
        sources=(), warnings=(), is_demo=False, n_rejected=0,
    )  # fmt: skip
    monkeypatch.setattr(data, "get_dataset_for", lambda s, ws: dataset)
    data._scored.cache_clear()
    data._basis.cache_clear()
    calls = []
    real = data.recombined

    def slow(*args):  # long enough that, unguarded, every thread would miss the cache and re-score
        calls.append(1)
        time.sleep(0.3)
        return real(*args)

    monkeypatch.setattr(data, "recombined", slow)
    with ThreadPoolExecutor(3) as pool:  # the map, the charts and the table block of one slider move
        frames = list(pool.map(lambda _: get_scored(settings, None, {"mercury": 0.25}, {}), range(3)))
    assert len(calls) == 1 and frames[0] is frames[1] is frames[2]
