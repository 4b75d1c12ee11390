"""URL state: encode/decode round trips, validation, and no exception on garbage."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.state import decode_state, default_state, encode_state, sanitise_state


def test_defaults_encode_to_empty_query():
    assert encode_state(default_state()) == ""
    assert decode_state("") == default_state()
    assert decode_state(None) == default_state()


def test_round_trip_of_every_key():
    state = default_state()
    state.update(
        countries=["COD", "GHA"], commodities=["gold", "coltan"], risk_classes=["high", "very high"],
        mercury_use=["yes"], pa_mode="near", pa_km=5.0, ecosystems=["rainforest", "reef"], eco_km=20.0,
        date_from="2019-01-01", date_to="2020-12-31", weights={"mercury": 0.5, "reef": 0.0},
        decay={"protected_area": [5.0, 40.0]}, site="demo-COD-0001", view=[25.1234, -3.5, 5.25],
        size_by="mercury", overlays=[],
    )  # fmt: skip
    query = encode_state(state)
    assert query.startswith("?")
    assert decode_state(query) == state


def test_only_non_default_keys_are_written():
    state = default_state()
    state["countries"] = ["PER"]
    assert encode_state(state) == "?c=PER"


@pytest.mark.parametrize(
    ("query", "bad_key"),
    [
        ("?c=cod1", "c"),
        ("?r=extreme", "r"),
        ("?pakm=-3", "pakm"),
        ("?pakm=nan", "pakm"),
        ("?w=mercury:1.5", "w"),
        ("?w=unknown:0.5", "w"),
        ("?d=reef:50-10", "d"),
        ("?v=1,2", "v"),
        ("?v=500,0,3", "v"),
        ("?from=2020-13-01", "from"),
        ("?site=%3Cscript%3E", "site"),
        ("?pa=sideways", "pa"),
        ("?size=huge", "size"),
    ],
)
def test_invalid_values_fall_back_to_defaults_with_a_message(query, bad_key):
    state = decode_state(query)
    expected = default_state()
    assert {k: v for k, v in state.items() if k != "messages"} == {k: v for k, v in expected.items() if k != "messages"}
    assert any(repr(bad_key) in m for m in state["messages"])


def test_unknown_parameter_is_reported_and_the_rest_kept():
    state = decode_state("?zz=1&c=GHA")
    assert state["countries"] == ["GHA"]
    assert state["messages"] == ["ignored unknown link parameter 'zz'"]


def test_reversed_dates_are_swapped():
    state = decode_state("?from=2021-01-01&to=2020-01-01")
    assert (state["date_from"], state["date_to"]) == ("2020-01-01", "2021-01-01")
    assert state["messages"]


def test_overlong_query_is_refused_not_parsed():
    state = decode_state("?c=" + ",".join(["GHA"] * 10_000))
    assert state["countries"] == []
    assert "too long" in state["messages"][0]


def test_sanitise_drops_invalid_values():
    state = sanitise_state({"countries": ["GHA", "bad!"], "pa_km": 3})
    assert state["countries"] == ["GHA"]  # the invalid item is dropped, and named; the valid one kept
    assert any("'BAD!'" in m for m in state["messages"])
    assert state["pa_km"] == 3.0


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_decode_never_raises_on_garbage(text):
    state = decode_state(text)
    assert set(default_state()) == set(state)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from(["COD", "GHA", "PER", "IDN"]), unique=True),
    st.floats(0, 1000, allow_nan=False),
    st.sampled_from(["any", "inside", "near", "far"]),
)
def test_encode_decode_round_trip_property(countries, km, mode):
    state = default_state()
    state.update(countries=countries, pa_km=round(km, 3), pa_mode=mode)
    assert decode_state(encode_state(state)) == state
