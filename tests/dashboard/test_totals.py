"""The mercury-by-country totals are remembered across weight changes, and only across what cannot change them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks.synthetic_scored import model_facts
from dashboard import totals
from dashboard.data import rescore
from dashboard.views import ROW, mercury_by_country
from geo.summary import summarise_by
from layers.risk_config import default_risk_config

CFG = default_risk_config()
HG = ["hg_kg_per_yr_low", "hg_kg_per_yr", "hg_kg_per_yr_high", "n_sites", "n_hg_unknown_size"]


@pytest.fixture
def facts():
    f = model_facts(3000, seed=21)
    f.loc[f.index[:40], "country_iso3"] = None  # sites outside every country form their own group
    return f


@pytest.fixture
def calls(monkeypatch):
    """Count the Monte Carlo runs (the real function is called)."""
    totals.clear()
    seen = []
    real = totals.mercury_totals

    def counting(*args, **kwargs):
        seen.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(totals, "mercury_totals", counting)
    return seen


def test_the_chart_totals_are_those_of_the_summary(facts, calls):
    view = rescore(facts, CFG)
    expected = summarise_by(view, "country_iso3", config=CFG).set_index("country_iso3")[HG]
    got = mercury_by_country(view, top=100, config=CFG)
    pd.testing.assert_frame_equal(got.sort_index(), expected.sort_index(), check_dtype=False)
    assert got.index.isna().any()


def test_a_weight_change_draws_no_new_monte_carlo_and_gives_the_same_totals(facts, calls):
    first = mercury_by_country(rescore(facts, CFG), config=CFG)
    changed = CFG.with_overrides({"weights.mercury": 0.3, "weights.water": 0.0, "decay.reef.outer_km": 20.0,
                                  "iucn_weights.II": 0.5, "combine.background_sensitivity": 0.4})  # fmt: skip
    view = rescore(facts, changed)
    again = mercury_by_country(view, config=changed)
    assert len(calls) == 1  # remembered
    pd.testing.assert_frame_equal(again, first)
    totals.clear()
    pd.testing.assert_frame_equal(mercury_by_country(view, config=changed), first)  # and right: drawn afresh


def test_what_changes_the_mercury_changes_the_totals(facts, calls):
    base = mercury_by_country(rescore(facts, CFG), config=CFG)
    more = facts.copy()
    sized_by_workers = (
        (more["commodity"] == "gold") & (more["mercury_use"] == "yes") & more["workers"].notna()
        & more["gold_kg_per_yr"].isna() & (more["country_iso3"] == "COD")
    )  # fmt: skip
    gold = np.flatnonzero(sized_by_workers.to_numpy())[0]
    more.iloc[gold, more.columns.get_loc("workers")] *= 50
    other_cfg = CFG.with_overrides({"mercury.productivity_g_au_per_worker_yr.median": 40.0})
    cases = [
        (rescore(more, CFG), CFG),  # one site's size
        (rescore(facts, other_cfg), other_cfg),  # a mercury setting
        (rescore(facts.iloc[:-1], CFG), CFG),  # one site fewer
        (rescore(facts.iloc[::-1], CFG).iloc[::-1], CFG),  # same sites, same order after a round trip
    ]
    results = [mercury_by_country(v, config=c) for v, c in cases]
    # the last case is another prepared frame (its own digest): drawn again, to the same totals
    assert len(calls) == 5
    for changed in results[:3]:
        assert not changed.equals(base)
    pd.testing.assert_frame_equal(results[3], base)


def test_the_memo_is_bounded(facts, calls):
    for i in range(totals.MAX_ENTRIES + 5):
        mercury_by_country(rescore(facts.iloc[: 100 + i], CFG), config=CFG)
    assert len(totals._cache) == totals.MAX_ENTRIES


def test_a_view_of_a_prepared_frame_is_keyed_by_the_frame_digest_and_its_rows(facts, calls):
    scored = rescore(facts, CFG)
    assert totals.DIGEST_ATTR in scored.attrs and ROW == "_row"  # the column inputs_key reads by default
    some = scored[scored["country_iso3"].isin(["GHA", "PER"]).to_numpy()]
    key = totals.inputs_key(some, "country_iso3")
    assert key[:2] == ("rows of", scored.attrs[totals.DIGEST_ATTR])
    assert totals.inputs_key(scored.iloc[1:], "country_iso3") != totals.inputs_key(scored.iloc[:-1], "country_iso3")
    reweighted = rescore(facts, CFG.with_overrides({"weights.mercury": 0.2}))
    assert totals.inputs_key(reweighted[reweighted.index.isin(some.index)], "country_iso3") == key
    # without the digest (a frame not prepared by the dashboard) the rows' inputs are hashed, to the same totals
    bare = some.copy()
    bare.attrs = {}
    assert totals.inputs_key(bare, "country_iso3")[0] != "rows of"
    pd.testing.assert_frame_equal(mercury_by_country(bare, config=CFG), mercury_by_country(some, config=CFG))
    assert len(calls) == 2


def test_a_views_monte_carlo_inputs_are_its_rows_of_the_frames_and_give_the_same_totals(facts, monkeypatch):
    """A new view takes its rows' inputs from those of its prepared frame (computed once), to exactly the totals
    computed from the view itself; inputs of another configuration or frame are never used."""
    from geo import uncertainty

    totals.clear()
    scored = rescore(facts, CFG)  # prepare_scored remembers its inputs
    assert len(totals._inputs) == 1
    computed = []
    real = uncertainty.site_mercury
    monkeypatch.setattr(uncertainty, "site_mercury", lambda *a, **k: computed.append(1) or real(*a, **k))
    some = scored[scored["country_iso3"].isin(["GHA", "COD"]).to_numpy() & (scored["risk_0_100"] > 30).to_numpy()]
    got = totals.grouped_mercury_totals(some, CFG, "country_iso3")
    assert computed == []  # taken, not computed
    bare = some.drop(columns=[ROW])  # no positions in a frame: its own inputs, computed here
    pd.testing.assert_frame_equal(got, uncertainty.mercury_totals(bare, CFG, "country_iso3"), check_exact=True)
    assert computed == [1]
    other = CFG.with_overrides({"mercury.productivity_g_au_per_worker_yr.median": 40.0})
    assert totals._view_inputs(some, other) is None  # another mercury configuration: not these inputs
    assert totals._view_inputs(some, CFG.with_overrides({"weights.mercury": 0.2})) is not None  # weights: same
    with pytest.raises(ValueError, match="take its rows"):
        uncertainty.mercury_totals(some, CFG, inputs=uncertainty.draw_inputs(scored, CFG))
