"""The linked charts' axes are readable: no log axis spanning dozens of decades, reference lines where they
belong, and a missing mercury estimate never drawn as 0 (issue #13, items 1 and 7)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from benchmarks.synthetic_scored import synthetic_scored
from dashboard.figures import (
    CHART_NAMES,
    DISTANCE_FLOOR_KM,
    make_chart_figure,
    make_distance_figure,
    make_mercury_by_country_figure,
)
from dashboard.views import BUFFER_MARKS_KM, prepare_scored, share_within
from geo.risk import score_sites
from geo.uncertainty import mercury_totals
from layers.risk_config import default_risk_config


@pytest.fixture(scope="module")
def scored():
    return prepare_scored(synthetic_scored(2000, seed=5, geometry=False))


def test_distance_axis_title_fits_a_phone_wide_chart(scored):
    """At 390 px the chart is ~300 px of axis: ~45 characters of 12 px text. On one line the title ran off
    the chart's right edge (seen in the 390 px screenshot); each line now fits, the floor still explained."""
    fig = make_distance_figure(scored)
    title = fig.layout.xaxis.title.text
    lines = title.split("<br>")
    assert all(len(line) <= 45 for line in lines), lines
    assert "km" in lines[0] and "drawn at 0.01" in title
    assert fig.layout.margin.b >= 60  # room for the second line


def test_distance_chart_has_a_bounded_log_axis_and_lines_at_the_marks(scored):
    fig = make_distance_figure(scored)
    axis = fig.layout.xaxis
    assert axis.type == "log"
    lo, hi = axis.range  # log10 km, set explicitly: plotly never autoranges over the shapes
    assert lo == pytest.approx(math.log10(DISTANCE_FLOOR_KM))
    far = float(np.nanmax(scored["dist_protected_area_km"]))
    assert math.log10(far) < hi < math.log10(far) + 1
    # reference lines: shapes on a log axis are placed by data value (km), their labels by log10(km)
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert sorted(s.x0 for s in lines) == list(BUFFER_MARKS_KM)
    assert all(s.x0 == s.x1 and s.xref == "x" for s in lines)
    labels = {a.text.split(":")[0]: a.x for a in fig.layout.annotations if " km" in (a.text or "")}
    assert labels == {f"{m:g} km": pytest.approx(math.log10(m)) for m in BUFFER_MARKS_KM}
    shares = share_within(scored["dist_protected_area_km"].to_numpy(dtype=float))
    assert any(f"10 km: {shares[10.0] * 100:.0f}%" == a.text for a in fig.layout.annotations)
    assert "inside" in axis.title.text and "0.01" in axis.title.text


def test_distance_chart_shows_the_share_inside_at_the_floor(scored):
    fig = make_distance_figure(scored)
    inside = fig.data[1]
    assert list(inside.x) == [DISTANCE_FLOOR_KM]
    expected = float(np.mean(scored["dist_protected_area_km"].to_numpy() == 0)) * 100
    assert inside.y[0] == pytest.approx(expected)
    assert inside.text[0].strip() == f"inside: {expected:.0f}%"
    assert min(fig.data[0].x) >= DISTANCE_FLOOR_KM  # no x at or below 0 on the log axis


@pytest.mark.parametrize("distances", [[], [np.nan, np.nan], [0.0, 0.0], [0.001, 3.0]])
def test_distance_chart_axis_stays_bounded_for_any_data(scored, distances):
    view = scored.head(len(distances)).copy()
    view["dist_protected_area_km"] = np.asarray(distances, dtype=float)
    lo, hi = make_distance_figure(view).layout.xaxis.range
    assert lo == pytest.approx(-2.0) and math.log10(25) < hi < 2.0


CFG = default_risk_config()


def _mercury_sites(n_cod: int = 6, n_gha: int = 4):
    """Gold sites scored by the model: COD with workers (an estimate), GHA mercury users of unknown size."""
    n = n_cod + n_gha
    facts = pd.DataFrame(
        {
            "site_id": [f"s{i}" for i in range(n)],
            "country_iso3": ["COD"] * n_cod + ["GHA"] * n_gha,
            "commodity": "gold",
            "commodities": "gold",
            "workers": [50.0 * (i + 1) for i in range(n_cod)] + [np.nan] * n_gha,
            "mercury_use": "yes",
            "amalgamation": "whole_ore",
        }
    )
    return prepare_scored(score_sites(facts, CFG))


def test_mercury_chart_with_no_estimate_has_no_negative_axis_and_says_unknown():
    view = _mercury_sites(n_cod=0, n_gha=5)
    assert view["hg_kg_per_yr"].isna().all()  # the model's own answer: unknown size, no estimate
    fig = make_mercury_by_country_figure(view, config=CFG)
    assert fig.layout.yaxis.range == (0, 1)
    assert fig.layout.yaxis.rangemode == "nonnegative"
    bar = fig.data[0]
    assert np.isnan(np.asarray(bar.y, dtype=float)).all()  # no bar drawn at 0
    texts = [a.text for a in fig.layout.annotations]
    assert "unknown" in texts
    assert any(f"{len(view):,} mercury-using sites of unknown size" in t for t in texts)


def test_mercury_chart_counts_unknown_sizes_apart_from_the_estimates():
    view = _mercury_sites()
    fig = make_mercury_by_country_figure(view, config=CFG)
    bar = fig.data[0]
    by_country = dict(zip(bar.x, np.asarray(bar.y, dtype=float), strict=True))
    assert math.isnan(by_country["GHA"])  # unknown, not 0
    cod = view[view["country_iso3"] == "COD"]
    total = mercury_totals(cod, CFG, "country_iso3").set_index("country_iso3")  # summed draws, not summed p50s
    assert by_country["COD"] == pytest.approx(total.loc["COD", "hg_kg_per_yr"])
    unknown = {x: int(cd[2]) for x, cd in zip(bar.x, bar.customdata, strict=True)}
    assert unknown["GHA"] == 4 and unknown["COD"] == 0
    assert "unknown size" in bar.hovertemplate
    assert fig.layout.yaxis.rangemode == "nonnegative"


@pytest.mark.parametrize("name", CHART_NAMES)
def test_no_chart_has_a_negative_count_axis_on_an_empty_view(scored, name):
    fig = make_chart_figure(name, scored.head(0))
    for axis in (fig.layout.xaxis, fig.layout.yaxis):
        if axis.range is not None and axis.type != "log":
            assert axis.range[0] >= 0
