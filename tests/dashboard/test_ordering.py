"""A table block's rows in sort order without sorting the view: the positions pandas' stable sort gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashboard.ordering import sorted_positions


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = 5000
    x = rng.integers(0, 40, n).astype(float)  # many ties
    x[rng.random(n) < 0.1] = np.nan
    x[:3] = [np.inf, -np.inf, -0.0]
    return pd.DataFrame(
        {
            "risk_0_100": x,
            "workers": pd.array(np.where(rng.random(n) < 0.2, None, rng.integers(0, 9, n)), dtype="Int64"),
            "name": pd.array(rng.choice(["b", "a", "c", None], n), dtype="str"),
            "flag": rng.random(n) < 0.5,
        },
        index=rng.permutation(n) * 3,  # not positions
    )


@pytest.mark.parametrize("by", [["risk_0_100"], ["workers"], ["name"], ["flag"], ["name", "risk_0_100"]])
@pytest.mark.parametrize("ascending", [True, False])
@pytest.mark.parametrize("end", [0, 1, 100, 4999, 5000, 6000])
def test_the_block_is_that_of_a_stable_sort_of_the_whole_frame(frame, by, ascending, end):
    want = frame.reset_index(drop=True).sort_values(by, ascending=ascending, na_position="last", kind="stable")
    got = sorted_positions(frame, by, [ascending] * len(by), end)
    np.testing.assert_array_equal(got, want.index.to_numpy()[:end])


@pytest.mark.parametrize(
    "request_",
    [
        {"startRow": 0, "endRow": 100},
        {"startRow": 100, "endRow": 200, "sortModel": [{"colId": "name", "sort": "asc"}]},
        {"startRow": 0, "endRow": 50, "sortModel": [{"colId": "workers", "sort": "desc"}],
         "filterModel": {"commodity": {"filterType": "text", "type": "contains", "filter": "gold"}}},
        {"startRow": 0, "endRow": 100, "filterModel": {"risk_0_100": {"filterType": "number", "type": "greaterThan",
                                                                     "filter": 40}}},
    ],
)  # fmt: skip
def test_a_block_within_the_filters_is_the_block_of_the_filtered_view(request_):
    from benchmarks.synthetic_scored import synthetic_scored
    from dashboard.views import filter_mask, filter_view, prepare_scored, table_page
    from layers.risk_config import default_risk_config

    scored = prepare_scored(synthetic_scored(3000, seed=9, geometry=False))
    state = {"countries": ["COD", "PER"], "risk_classes": ["moderate", "high", "very high"]}
    config = default_risk_config()
    for search in (None, "Site 1"):
        want = table_page(filter_view(scored, state), request_, search, config)
        got = table_page(scored, request_, search, config, within=filter_mask(scored, state))
        assert got == want and 0 < want["rowCount"] < 3000


def test_a_narrow_view_has_the_rows_of_the_whole_view():
    from benchmarks.synthetic_scored import synthetic_scored
    from dashboard.views import ROW, filter_view, prepare_scored

    scored = prepare_scored(synthetic_scored(2000, seed=9, geometry=False))
    state = {"countries": ["GHA"], "risk_classes": ["high", "very high"]}
    narrow = filter_view(scored, state, columns=["risk_0_100", "lon", "absent"])
    assert list(narrow.columns) == ["risk_0_100", "lon", ROW]
    pd.testing.assert_frame_equal(narrow, filter_view(scored, state)[["risk_0_100", "lon", ROW]])
