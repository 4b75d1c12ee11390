"""Pure views: filters, table pages, site detail, summaries, camera, controls <-> state."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from benchmarks.synthetic_scored import synthetic_scored
from dashboard.state import default_state
from dashboard.views import (
    ROW,
    bounds_view,
    commodity_options,
    contributions,
    controls_from_state,
    count_text,
    date_bounds,
    ecdf,
    filter_sites,
    filter_view,
    mercury_by_country,
    prepare_scored,
    render_state,
    risk_by_country,
    selection_polygon,
    share_within,
    site_id_at,
    site_record,
    state_from_controls,
    table_page,
    table_rows,
    view_from_relayout,
)
from dashboard.weights import config_overrides, default_weights, weight_changes
from layers.risk_config import default_risk_config


@pytest.fixture
def small() -> pd.DataFrame:
    """Five hand-made sites with known attributes."""
    frame = pd.DataFrame(
        {
            "site_id": ["a", "b", "c", "d", "e"],
            "name": ["Alpha", "Beta", "Gamma <b>", "Delta", "Epsilon"],
            "country_iso3": pd.array(["GHA", "GHA", "COD", "PER", None], dtype="string"),
            "commodity": ["gold", "diamond", "gold", "gold", "coltan"],
            "mercury_use": ["yes", "no", "unknown", "yes", "no"],
            "lon": [-1.0, -1.5, 25.0, -72.0, 30.0],
            "lat": [7.0, 6.0, -3.0, -10.0, 70.0],
            "workers": [10.0, np.nan, 300.0, 50.0, 5.0],
            "in_protected_area": [True, False, False, False, False],
            "dist_protected_area_km": [0.0, 4.0, 12.0, np.nan, 30.0],
            "nearest_protected_area": ["Park A", "Park A", "Park C", None, "Park E"],
            "in_rainforest": [False, False, True, False, False],
            "dist_rainforest_km": [50.0, 8.0, 0.0, 200.0, 900.0],
            "dist_reef_km": [300.0, 400.0, 1000.0, 5.0, 2000.0],
            "in_arctic": [False, False, False, False, True],
            "dist_arctic_km": [6000.0, 6100.0, 7000.0, 8000.0, 0.0],
            "observed_date": pd.to_datetime(["2019-05-01", "2020-01-01", None, "2021-06-30", "2018-01-01"]),
            "hg_kg_per_yr_low": [1.0, 0.0, 10.0, 2.0, 0.0],
            "hg_kg_per_yr": [2.0, 0.0, 20.0, 4.0, 0.0],
            "hg_kg_per_yr_high": [4.0, 0.0, 40.0, 8.0, 0.0],
            "risk_0_100": [80.123, 10.0, 55.5, 30.0, 5.0],
            "risk_class": ["very high", "low", "high", "moderate", "low"],
            "contrib_mercury": [50.0, 0.0, 30.0, 20.0, 0.0],
            "contrib_protected_area": [30.123, 10.0, 25.5, 10.0, 5.0],
        }
    )
    return prepare_scored(frame)


def _ids(frame: pd.DataFrame) -> list[str]:
    return frame["site_id"].tolist()


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, ["a", "b", "c", "d", "e"]),
        ({"countries": ["GHA"]}, ["a", "b"]),
        ({"countries": ["GHA", "PER"]}, ["a", "b", "d"]),
        ({"commodities": ["gold"]}, ["a", "c", "d"]),
        ({"risk_classes": ["low"]}, ["b", "e"]),
        ({"risk_classes": []}, []),
        ({"mercury_use": ["yes", "unknown"]}, ["a", "c", "d"]),
        ({"pa_mode": "inside"}, ["a"]),
        ({"pa_mode": "near", "pa_km": 5.0}, ["a", "b"]),
        ({"pa_mode": "far", "pa_km": 5.0}, ["c", "e"]),  # an unknown distance is neither near nor far
        ({"ecosystems": ["rainforest"], "eco_km": 10.0}, ["b", "c"]),
        ({"ecosystems": ["reef"], "eco_km": 10.0}, ["d"]),
        ({"ecosystems": ["arctic"]}, ["e"]),
        ({"ecosystems": ["arctic", "reef"], "eco_km": 10.0}, ["d", "e"]),
        ({"date_from": "2019-01-01"}, ["a", "b", "d"]),
        ({"date_from": "2019-01-01", "date_to": "2020-01-01"}, ["a", "b"]),
        ({"countries": ["GHA"], "commodities": ["gold"]}, ["a"]),
    ],
)
def test_filter_view(small, changes, expected):
    state = {**default_state(), **changes}
    assert _ids(filter_view(small, state)) == expected


def test_filter_by_map_selection_polygon(small):
    box = [[-2.0, 5.0], [0.0, 5.0], [0.0, 8.0], [-2.0, 8.0]]  # around a and b (Ghana)
    assert _ids(filter_view(small, {**default_state(), "selection": box})) == ["a", "b"]
    triangle = [[-1.2, 6.5], [0.0, 8.0], [-2.0, 8.0]]  # holds a (-1, 7), not b (-1.5, 6)
    assert _ids(filter_view(small, {**default_state(), "selection": triangle})) == ["a"]
    # a selection is one more filter: it combines with the others
    state = {**default_state(), "selection": box, "commodities": ["diamond"]}
    assert _ids(filter_view(small, state)) == ["b"]


def test_categorical_and_string_filters_agree():
    raw = synthetic_scored(2000, geometry=False)
    state = {**default_state(), "countries": ["COD", "PER"], "commodities": ["gold"], "risk_classes": ["high"]}
    fast = filter_view(prepare_scored(raw), state)
    slow = filter_view(raw, state)
    assert fast["site_id"].tolist() == slow["site_id"].tolist()
    assert len(fast) > 0


def test_category_filters_agree_with_pandas_with_missing_values_and_many_categories():
    rng = np.random.default_rng(5)
    names = np.array([f"C{i:03d}" for i in range(300)], dtype=object)  # int16 codes
    raw = pd.DataFrame({"country_iso3": rng.choice(names, 5000), "commodity": rng.choice(["gold", "tin"], 5000)})
    raw.loc[rng.random(5000) < 0.1, "country_iso3"] = None  # code -1: never matches a choice
    prepared = prepare_scored(raw)
    for chosen in (["C000"], ["C001", "C299", "XYZ"], ["XYZ"], list(names)):
        state = {**default_state(), "countries": chosen}
        expected = raw["country_iso3"].isin(chosen).to_numpy()
        assert (filter_view(prepared, state)[ROW].to_numpy() == np.flatnonzero(expected)).all()


def test_prepared_text_columns_are_one_chunk_and_equal(tmp_path):
    """Text read in row groups is one Arrow chunk once prepared (a take of 100 rows no longer joins them all)."""
    raw = synthetic_scored(3000, geometry=False)
    raw.to_parquet(tmp_path / "s.parquet", row_group_size=500)
    read = pd.read_parquet(tmp_path / "s.parquet")
    assert read["name"].array._pa_array.num_chunks > 1
    prepared = prepare_scored(read)
    for col in ("site_id", "name", "nearest_protected_area"):
        assert prepared[col].array._pa_array.num_chunks == 1 and prepared[col].dtype == read[col].dtype
        pd.testing.assert_series_equal(prepared[col], read[col])


def test_filter_sites_keeps_the_old_keyword_interface(small):
    assert _ids(filter_sites(small, countries=["GHA"], risk_classes=["low"])) == ["b"]
    assert _ids(filter_sites(small)) == ["a", "b", "c", "d", "e"]


def test_prepare_adds_row_positions_and_categoricals(small):
    assert small[ROW].tolist() == [0, 1, 2, 3, 4]
    assert isinstance(small["country_iso3"].dtype, pd.CategoricalDtype)
    assert list(small["risk_class"].cat.categories) == ["low", "moderate", "high", "very high"]


def test_count_text():
    assert count_text(1234, 100000) == "1,234 of 100,000 sites"


def test_selection_polygon_from_a_box_and_a_lasso():
    assert selection_polygon(None) is None
    assert selection_polygon({"points": []}) is None  # a double-click clears the selection
    box = selection_polygon({"points": [], "range": {"map": [[-2, 8], [0, 5]]}})
    assert box == [[-2.0, 8.0], [0.0, 8.0], [0.0, 5.0], [-2.0, 5.0]]
    lasso = [[10 + math.cos(t), 5 + math.sin(t)] for t in np.linspace(0, 2 * math.pi, 2000)]
    poly = selection_polygon({"points": [], "lassoPoints": {"map": lasso}})
    assert 8 <= len(poly) <= 100  # bounded: a long lasso is simplified for the link
    assert all(abs(math.hypot(x - 10, y - 5) - 1) < 0.05 for x, y in poly)


def test_site_id_at(small):
    assert site_id_at(small, 2.0) == "c"
    assert site_id_at(small, 99) is None
    assert site_id_at(small, "x") is None


def test_table_rows_are_lean_and_rounded(small):
    rows = table_rows(small)
    assert len(rows) == 5
    first = rows[0]
    assert ROW not in first and "contrib_mercury" not in first
    assert first["risk_0_100"] == 80.1
    assert first["observed_date"] == "2019-05-01"
    assert rows[1]["workers"] is None
    assert rows[2]["observed_date"] is None
    assert rows[4]["country_iso3"] is None


def test_table_page_sorts_filters_searches_and_slices(small):
    page = table_page(small, {"startRow": 0, "endRow": 2})
    assert [r["site_id"] for r in page["rowData"]] == ["a", "c"]  # default: risk descending
    assert page["rowCount"] == 5
    page = table_page(small, {"startRow": 1, "endRow": 10, "sortModel": [{"colId": "name", "sort": "asc"}]})
    assert [r["site_id"] for r in page["rowData"]] == ["b", "d", "e", "c"]
    number = {"risk_0_100": {"filterType": "number", "type": "greaterThan", "filter": 20}}
    assert table_page(small, {"filterModel": number})["rowCount"] == 3
    text = {"name": {"filterType": "text", "type": "contains", "filter": "ta"}}
    assert sorted(r["site_id"] for r in table_page(small, {"filterModel": text})["rowData"]) == ["b", "d"]
    combined = {
        "risk_0_100": {
            "filterType": "number",
            "operator": "OR",
            "conditions": [
                {"filterType": "number", "type": "lessThan", "filter": 6},
                {"filterType": "number", "type": "inRange", "filter": 50, "filterTo": 60},
            ],
        }
    }
    assert sorted(r["site_id"] for r in table_page(small, {"filterModel": combined})["rowData"]) == ["c", "e"]
    assert [r["site_id"] for r in table_page(small, {}, search="park a")["rowData"]] == ["a", "b"]


def test_site_record_and_contributions(small):
    rec = site_record(small, "c")
    assert rec["name"] == "Gamma <b>" and rec["observed_date"] is None and ROW not in rec
    assert site_record(small, "zzz") is None and site_record(small, None) is None
    parts = contributions(rec)
    assert parts[0] == ("mercury", 30.0)
    assert math.isclose(sum(v for _, v in parts), rec["risk_0_100"])


def test_summaries(small):
    tab = risk_by_country(small)
    assert tab.loc["GHA"].tolist() == [1, 0, 0, 1]
    assert mercury_by_country(small).empty  # no configuration: no totals, rather than sums of percentiles
    hg = mercury_by_country(small, config=default_risk_config())  # p5/p50/p95 of summed Monte Carlo draws
    assert hg.index[0] == "COD" and hg.loc["COD", "hg_kg_per_yr"] > 0
    assert (hg["hg_kg_per_yr_low"] <= hg["hg_kg_per_yr"]).all() and (
        hg["hg_kg_per_yr"] <= hg["hg_kg_per_yr_high"]
    ).all()
    assert risk_by_country(small.iloc[0:0]).empty


def test_ecdf_and_shares():
    values = np.array([0.0, 0.5, 2.0, 7.0, np.nan, 30.0])
    x, y = ecdf(values)
    assert x.tolist() == [0.0, 0.5, 2.0, 7.0, 30.0] and y[-1] == 1.0
    shares = share_within(values)
    assert shares[1.0] == pytest.approx(0.4) and shares[25.0] == pytest.approx(0.8)
    x, y = ecdf(np.arange(10_000.0), max_points=100)
    assert len(x) <= 100 and x[-1] == 9999.0


def test_bounds_view_zooms_in_on_small_areas():
    world = bounds_view((-180, -60, 180, 80))
    ghana = bounds_view((-3.3, 4.7, 1.2, 11.2))
    assert ghana["zoom"] > world["zoom"] + 3
    assert ghana["center"]["lon"] == pytest.approx(-1.05)
    assert 4.7 < ghana["center"]["lat"] < 11.2


def test_weights_helpers():
    defaults = default_weights(
        "[weights]\nmercury = 1.0\nreef = 0.5\n[decay.reef]\nnear_km = 10.0\nnear_value = 0.5\nouter_km = 50.0\n"
    )
    assert defaults == ({"mercury": 1.0, "reef": 0.5}, {"reef": [10.0, 50.0]})
    changed = weight_changes({"mercury": 1.0, "reef": 0.2}, {"reef": [10.0, 40.0]}, defaults)
    assert changed == ({"reef": 0.2}, {"reef": [10.0, 40.0]})
    assert config_overrides(*changed) == {
        "weights": {"reef": 0.2},
        "decay": {"reef": {"near_km": 10.0, "outer_km": 40.0}},
    }
    assert config_overrides({}, {}) == {}


def test_controls_state_round_trip():
    defaults = ({"mercury": 1.0}, {"reef": [10.0, 50.0]})
    controls = {
        "countries": ["GHA"], "commodities": None, "risk_classes": ["high"], "mercury_use": [], "pa_mode": "near",
        "pa_km": 5, "ecosystems": [], "eco_km": 10, "date_from": "2020-01-01T00:00:00", "date_to": None,
        "size_by": "mercury", "overlays": ["countries"],
    }  # fmt: skip
    state = state_from_controls(controls, {"mercury": 0.4}, {"reef": [10.0, 50.0]}, defaults, site="a", view=[1, 2, 3])
    assert state["countries"] == ["GHA"] and state["date_from"] == "2020-01-01"
    assert state["weights"] == {"mercury": 0.4} and state["decay"] == {}
    back, weights, decay = controls_from_state(state, defaults)
    assert back["pa_mode"] == "near" and weights == {"mercury": 0.4} and decay == {"reef": [10.0, 50.0]}
    assert "view" not in render_state(state) and "site" not in render_state(state)


def test_view_from_relayout():
    assert view_from_relayout({"map.center": {"lon": 10.123456, "lat": -2.0}, "map.zoom": 4.567}) == [
        10.1235,
        -2.0,
        4.57,
    ]
    assert view_from_relayout({"autosize": True}) is None
    assert view_from_relayout(None) is None


def test_options_and_dates(small):
    countries = pd.DataFrame({"iso3": ["GHA", "COD"], "name": ["Ghana", "Dem. Rep. Congo"]})
    from dashboard.views import country_options

    assert country_options(small, countries)[0] == {"label": "Dem. Rep. Congo (COD)", "value": "COD"}
    assert {"label": "PER (PER)", "value": "PER"} in country_options(small, countries)
    assert commodity_options(small)[0] == {"label": "coltan", "value": "coltan"}
    assert date_bounds(small) == ("2018-01-01", "2021-06-30")
    assert date_bounds(small.drop(columns=["observed_date"])) == (None, None)


def test_a_views_sorted_distances_come_off_the_prepared_frame_and_equal_a_sort():
    from dashboard.chart_data import DIST_DIGEST_ATTR, sorted_distances
    from dashboard.figures import CHART_COLUMNS, make_distance_figure

    raw = synthetic_scored(4000, seed=4, geometry=False)
    raw.loc[raw.index[::7], "dist_protected_area_km"] = np.nan  # not assessed: not in the curve
    raw.loc[raw.index[::11], "dist_protected_area_km"] = 0.0  # inside: ties
    prepared = prepare_scored(raw)
    assert prepared.attrs[DIST_DIGEST_ATTR]
    for state in (default_state(), {**default_state(), "countries": ["COD", "PER"], "risk_classes": ["high"]}):
        view = filter_view(prepared, state, columns=CHART_COLUMNS)
        dist = view["dist_protected_area_km"].to_numpy(dtype="float64", na_value=np.nan)
        np.testing.assert_array_equal(sorted_distances(view), np.sort(dist[np.isfinite(dist)]))
        plain = pd.DataFrame({"dist_protected_area_km": dist})  # no prepared frame behind it: sorted here
        assert make_distance_figure(view).to_json() == make_distance_figure(plain).to_json()
    other = prepared.copy()
    other["dist_protected_area_km"] = other["dist_protected_area_km"][::-1].to_numpy()
    prepare_scored(other.drop(columns=[ROW]))  # another frame's distances under another digest: no mix-up
    np.testing.assert_array_equal(sorted_distances(prepared), np.sort(raw["dist_protected_area_km"].dropna()))
