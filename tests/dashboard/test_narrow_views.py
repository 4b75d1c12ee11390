"""The callbacks copy only the columns a reader needs: the charts drawn from their narrow view are the charts
drawn from the whole view."""

from __future__ import annotations

import plotly.io as pio

from benchmarks.synthetic_scored import model_scored
from dashboard import totals
from dashboard.figures import CHART_COLUMNS, CHART_NAMES, make_chart_figure
from dashboard.views import filter_view, prepare_scored
from layers.risk_config import default_risk_config

CFG = default_risk_config()


def test_the_charts_of_the_narrow_view_are_those_of_the_whole_view():
    scored = prepare_scored(model_scored(2500, seed=12))
    state = {"countries": ["GHA", "PER", "COD"], "risk_classes": ["moderate", "high", "very high"]}
    whole, narrow = filter_view(scored, state), filter_view(scored, state, columns=CHART_COLUMNS)
    assert len(narrow.columns) < len(whole.columns) / 2
    for name in CHART_NAMES:
        totals.clear()  # each side draws its own Monte Carlo
        a = pio.to_json(make_chart_figure(name, whole, class_bounds=CFG.class_thresholds, config=CFG))
        totals.clear()
        b = pio.to_json(make_chart_figure(name, narrow, class_bounds=CFG.class_thresholds, config=CFG))
        assert a == b, name


def test_the_map_of_the_narrow_view_is_the_map_of_the_whole_view():
    from dashboard.figures import MAP_COLUMNS, make_map_figure

    scored = prepare_scored(model_scored(2500, seed=12))
    state = {"countries": ["GHA", "PER"], "risk_classes": ["moderate", "high", "very high"]}
    whole, narrow = filter_view(scored, state), filter_view(scored, state, columns=MAP_COLUMNS)
    for size_by in ("none", "workers", "mercury"):
        for kw in ({}, {"max_points": 100}):  # sites, and cells
            a = make_map_figure(whole, size_by=size_by, zoom=2.0, **kw)
            b = make_map_figure(narrow, size_by=size_by, zoom=2.0, **kw)
            assert pio.to_json(a) == pio.to_json(b)
