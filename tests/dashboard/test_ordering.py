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
