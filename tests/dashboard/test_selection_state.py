"""A map selection is part of the link: compact, bounded, validated like every other part."""

from __future__ import annotations

from dashboard.state import MAX_SELECTION_VERTICES, decode_state, encode_state


def test_a_selection_round_trips_through_the_link():
    box = [[-4.0, 10.0], [1.0, 10.0], [1.0, 4.0], [-4.0, 4.0]]
    query = encode_state({"selection": box, "countries": ["GHA"]})
    assert "sel=-4.0000,10.0000~1.0000,10.0000~1.0000,4.0000~-4.0000,4.0000" in query
    state = decode_state(query)
    assert state["selection"] == box and state["messages"] == []


def test_a_selection_is_bounded_and_validated():
    too_many = "~".join(f"{i * 0.01:.4f},1.0000" for i in range(MAX_SELECTION_VERTICES + 1))
    for raw in (too_many, "1,2~3,4", "1,2~3,4~5,x", "1,2~3,4~5,95", "1,2,3~4,5~6,7"):
        state = decode_state("?sel=" + raw)
        assert state["selection"] is None
        assert any("'sel'" in m for m in state["messages"])
    longest = encode_state({"selection": [[-179.1234, -89.1234]] * MAX_SELECTION_VERTICES})
    assert len(longest) < 2500
