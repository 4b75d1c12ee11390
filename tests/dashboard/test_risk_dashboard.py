"""Risk model 2.0 in the dashboard (issue #11): bands, receptors not assessed, labels of every weight,
explanations written only for what is shown. On frames the model itself scored."""

from __future__ import annotations

import json
import math

import flask
import numpy as np
import pandas as pd
import pytest
from dash import html
from dash._callback_context import context_value
from dash._utils import AttributeDict

from benchmarks.synthetic_scored import model_facts, model_scored
from dashboard import callbacks as cb
from dashboard import ids
from dashboard.data import Dataset, rescore
from dashboard.detail import PARTIAL_NOTE, make_detail
from dashboard.figures import make_waterfall_figure
from dashboard.labels import DECAY_HELP, FACTOR_LABELS, PRACTICE_VOCABS, PRACTICE_WORDS, RECEPTOR_WORDS, WEIGHT_HELP
from dashboard.layout import make_grid, make_layout, not_assessed_note
from dashboard.risk_text import (
    band_text,
    complete_cell_text,
    mercury_cell_text,
    not_assessed_summary,
    not_assessed_words,
    practices_text,
    probability_text,
    receptor_status,
    risk_band_text,
    risk_cell_text,
    short_number,
    with_explanations,
)
from dashboard.state import default_state
from dashboard.views import (
    HIDDEN_TABLE_COLUMNS,
    ROW_EXTRAS,
    TABLE_COLUMNS,
    prepare_scored,
    render_state,
    site_detail_record,
    table_page,
)
from geo.risk import score_sites
from geo.vocab import CONTRIB_COLUMNS, DECAY_KEYS, FACTORS, RECEPTORS, WEIGHT_KEYS
from layers.risk_config import default_risk_config
from settings import Settings

CFG = default_risk_config()


def _text(component) -> str:
    return json.dumps(component.to_plotly_json(), default=lambda o: o.to_plotly_json(), ensure_ascii=False)


def _dataset(scored: pd.DataFrame) -> Dataset:
    return Dataset(
        facts=scored, scored=scored, countries=None, protected_areas=None, sources=("sites: synthetic test data",),
        warnings=(), is_demo=True, n_rejected=0,
    )  # fmt: skip


# --- labels: one place, every key ------------------------------------------------------------------
def test_every_weight_and_decay_key_has_a_label_and_help():
    assert set(FACTOR_LABELS) == set(WEIGHT_KEYS) == set(FACTORS)
    assert set(WEIGHT_HELP) == set(WEIGHT_KEYS) and set(DECAY_HELP) == set(DECAY_KEYS)
    assert set(RECEPTOR_WORDS) == set(RECEPTORS)
    for key in WEIGHT_KEYS:
        assert FACTOR_LABELS[key] and "_" not in FACTOR_LABELS[key] and len(WEIGHT_HELP[key]) > 30
    for column, vocab in PRACTICE_VOCABS.items():
        assert set(PRACTICE_WORDS[column]) == set(vocab)
    assert len(set(FACTOR_LABELS.values())) == len(FACTOR_LABELS)  # no two sliders read the same


def test_the_weights_panel_labels_every_slider_including_mercury_to_air():
    weights = {k: 0.5 for k in WEIGHT_KEYS}
    decay = {k: [1.0, 20.0] for k in DECAY_KEYS}
    scored = prepare_scored(model_scored(50))
    page = make_layout(_dataset(scored), Settings(), (weights, decay))
    found = {}

    def walk(node):
        if hasattr(node, "to_plotly_json"):
            props = node.to_plotly_json()["props"]
            if isinstance(props.get("id"), str):
                found[props["id"]] = props.get("children")
            walk(props.get("children"))
        elif isinstance(node, list | tuple):
            for child in node:
                walk(child)

    walk(page)
    for key in WEIGHT_KEYS:
        assert found[f"weight-{key}-label"] == FACTOR_LABELS[key]  # never the bare key ("mercury_air")
        assert found[f"weight-{key}-help"] == WEIGHT_HELP[key]
    for key in DECAY_KEYS:
        assert found[f"decay-{key}-label"].startswith(FACTOR_LABELS[key])
        assert found[f"decay-{key}-help"] == DECAY_HELP[key]
    assert found["weight-mercury_air-label"] == "Mercury to air (global)"


# --- numbers in words --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("x", "text"),
    [(511.2, "511"), (12_345.6, "12,346"), (67.25, "67.2"), (8.8, "8.8"), (0.456, "0.46"), (0.0012, "0.0012"),
     (0.0, "0"), (-3.0, "-3.0")],
)  # fmt: skip
def test_short_number(x, text):
    assert short_number(x) == text


def test_bands_in_words():
    assert band_text(67.2, 8.8, 511.0) == "67.2 (8.8–511)"
    assert band_text(3.0, None, 5.0) == "3.0" and band_text(3.0, math.nan, 5.0) == "3.0"
    assert band_text(3.0, 3.01, 3.04) == "3.0"  # a band that rounds away is not shown
    assert risk_band_text({"risk_0_100": 61.64, "risk_0_100_low": 48.2, "risk_0_100_high": 75.3}) == "61.6 (48–75)"
    assert risk_band_text({"risk_0_100": 10.4, "risk_0_100_low": 10.4, "risk_0_100_high": 10.4}) == "10.4"
    assert risk_band_text({"risk_0_100": None}) == "no score"
    assert risk_cell_text(61.6, 48.0, 75.0, False) == "61.6 (48–75) *"
    assert risk_cell_text(61.6, 48.0, 75.0, np.bool_(True)) == "61.6 (48–75)"
    assert mercury_cell_text(None, None, None) == "unknown" and mercury_cell_text(math.nan, 1, 2) == "unknown"
    assert mercury_cell_text(0.0, 0.0, 0.0) == "0" and mercury_cell_text(67.2, 8.8, 511) == "67.2 (8.8–511)"
    assert complete_cell_text(True, "") == "yes" and complete_cell_text(None, "") == "unknown"
    assert complete_cell_text(np.bool_(False), "coral reefs") == "partial: coral reefs not assessed"


@pytest.mark.parametrize(
    ("p", "text"),
    [(0.0, "0%"), (0.004, "<1%"), (0.006, "1%"), (0.34, "34%"), (0.994, "99%"), (0.996, ">99%"), (1.0, "100%"),
     (None, "unknown"), (math.nan, "unknown")],
)  # fmt: skip
def test_probability_never_rounds_a_possibility_away(p, text):
    assert probability_text(p) == text


def test_practices_in_words():
    assert practices_text({"amalgamation": "whole_ore", "retort": "no", "cyanidation": "yes"}) == (
        "whole-ore amalgamation, no retort, cyanide leaching"
    )
    assert practices_text({}) == "amalgamation type not known, retort use not known, cyanide leaching not known"
    assert practices_text({"amalgamation": "<b>", "retort": None}).startswith("amalgamation type not known")


def test_receptor_status_follows_the_weights():
    record = {"receptors_assessed": "protected_area;rainforest;arctic"}
    assessed, missing, off = receptor_status(record, dict(CFG.weights))
    assert assessed == ["protected areas", "rainforest", "arctic"]
    assert missing == ["coral reefs", "rivers and lakes"] and off == []
    assessed, missing, off = receptor_status(record, {**CFG.weights, "water": 0.0})
    assert missing == ["coral reefs"] and off == ["rivers and lakes"]  # a weight of 0 is a choice, not a gap


def test_not_assessed_per_row_and_per_dataset():
    scored = prepare_scored(model_scored(400, seed=3, without=("reef",)))
    summary = dict(not_assessed_summary(scored, CFG.weights))
    assert summary["reef"] == len(scored)  # no layer: every site
    nan_water = int(scored["dist_water_km"].isna().sum())
    assert 0 < nan_water < len(scored) and summary["water"] == nan_water  # no data at some sites
    assert "protected_area" not in summary or summary["protected_area"] < len(scored)
    words = not_assessed_words(scored, CFG.weights)
    assert all("coral reefs" in w for w in words)
    assert not_assessed_summary(scored, {**CFG.weights, "reef": 0.0, "water": 0.0, "protected_area": 0.0,
                                         "rainforest": 0.0}) == []  # fmt: skip


def test_the_weights_panel_note_says_which_receptors_and_what_that_means():
    text = _text(html.Div(not_assessed_note([("reef", 400), ("water", 31)], 400)))
    assert "coral reefs: no layer loaded" in text and "rivers and lakes: no data for 31 of 400 sites" in text
    assert "not comparable" in text and "weight to 0" in text
    assert "Every receptor with a weight is assessed" in _text(html.Div(not_assessed_note([], 400)))


# --- explanations only for what is shown ----------------------------------------------------------------
def test_rescore_leaves_the_sentence_out_and_the_shown_rows_get_it():
    facts = model_facts(500, seed=4)
    cfg = CFG.with_overrides({"weights.mercury": 0.7})
    full = score_sites(facts, cfg)
    fast = rescore(facts, cfg)
    assert (fast["risk_explanation"] == "").all()
    np.testing.assert_allclose(fast["risk_0_100"], full["risk_0_100"])
    filled = with_explanations(fast.iloc[100:140], cfg)
    assert filled["risk_explanation"].tolist() == full["risk_explanation"].iloc[100:140].tolist()
    assert with_explanations(filled, cfg) is filled  # nothing left to write
    record = site_detail_record(fast, fast["site_id"].iloc[7], cfg)
    assert record["risk_explanation"] == full["risk_explanation"].iloc[7]


# --- the table -------------------------------------------------------------------------------------------
def test_the_grid_shows_bands_probability_and_partial_scores_from_the_server_text():
    defs = {c["field"]: c for c in make_grid().columnDefs}
    assert [c for c in TABLE_COLUMNS if not defs[c].get("hide")][:6] == [
        "site_id", "name", "risk_0_100", "risk_class", "p_high_or_above", "score_complete",
    ]  # fmt: skip
    assert {c for c, d in defs.items() if d.get("hide")} == set(HIDDEN_TABLE_COLUMNS)
    assert "risk_text" in defs["risk_0_100"]["valueFormatter"]["function"]
    assert defs["risk_0_100"]["filter"] == "agNumberColumnFilter" and defs["risk_0_100"]["sort"] == "desc"
    assert defs["risk_0_100"]["tooltipField"] == "risk_explanation"
    assert "hg_text" in defs["hg_kg_per_yr"]["valueFormatter"]["function"]
    assert "'unknown'" in defs["hg_kg_per_yr"]["valueFormatter"]["function"]
    assert "p_high_text" in defs["p_high_or_above"]["valueFormatter"]["function"]
    assert defs["p_high_or_above"]["filter"] == "agNumberColumnFilter"
    assert "score-partial" in defs["score_complete"]["cellClassRules"]


def test_a_table_block_carries_numbers_and_their_words():
    facts = model_facts(300, seed=5, without=("reef",))
    sentences = dict(zip(facts["site_id"], score_sites(facts, CFG)["risk_explanation"], strict=True))
    scored = rescore(facts, CFG)  # as the dashboard re-scores: no sentence yet
    page = table_page(scored, {"startRow": 0, "endRow": 50}, None, CFG)
    rows = page["rowData"]
    assert len(rows) == 50 and page["rowCount"] == 300
    for row in rows:
        assert set(ROW_EXTRAS) <= set(row)
        assert isinstance(row["risk_0_100"], float)  # the column stays a number (sort, filter)
        assert row["risk_text"].startswith(f"{row['risk_0_100']:.1f}") and row["risk_text"].endswith(" *")
        assert row["complete_text"].startswith("partial: ") and "coral reefs" in row["not_assessed"]
        assert row["p_high_text"] == probability_text(row["p_high_or_above"])
        assert row["risk_explanation"] == sentences[row["site_id"]]  # written for the block's rows
    banded = [r for r in rows if r["risk_0_100_low"] is not None and r["risk_0_100_low"] < r["risk_0_100_high"] - 1]
    assert banded and all("(" in r["risk_text"] for r in banded)
    unsized = [r for r in rows if r["risk_0_100_low"] is None]  # mercury users of unknown size: no range
    assert unsized and all(r["risk_text"].endswith("(no range: size unknown) *") for r in unsized)
    assert all(r["p_high_text"] == "unknown" for r in unsized)
    # sorted and filtered on the numbers, not the words
    request = {
        "startRow": 0, "endRow": 300, "sortModel": [{"colId": "p_high_or_above", "sort": "desc"}],
        "filterModel": {"p_high_or_above": {"filterType": "number", "type": "greaterThan", "filter": 0.5}},
    }  # fmt: skip
    page = table_page(scored, request, None, CFG)
    p = [r["p_high_or_above"] for r in page["rowData"]]
    assert p and p == sorted(p, reverse=True) and all(x > 0.5 for x in p)
    assert page["rowCount"] == int((scored["p_high_or_above"] > 0.5).sum())


# --- the site detail -------------------------------------------------------------------------------------
def test_the_detail_shows_band_probability_practices_notes_receptors_and_explanation():
    facts = model_facts(400, seed=6, without=("water",))
    full = score_sites(facts, CFG)
    scored = rescore(facts, CFG)
    users = scored[(scored["hg_kg_per_yr"] > 1) & (scored["notes"] != "")]
    site_id = users["site_id"].iloc[0]
    record = site_detail_record(scored, site_id, CFG)
    text = _text(make_detail(record, _dataset(scored), CFG))
    assert f"{record['risk_0_100']:.1f}/100" in text
    assert f"90% range {record['risk_0_100_low']:.1f}–{record['risk_0_100_high']:.1f}" in text
    assert probability_text(record["p_high_or_above"]) in text and "Chance of class high or very high" in text
    assert f"{short_number(record['hg_kg_per_yr'])} kg/yr (90% range" in text
    assert practices_text(record) in text
    assert "processing 'retort' read as amalgamation of unknown type with a retort" in text
    assert '"Not assessed"' in text and "rivers and lakes" in text and PARTIAL_NOTE in text
    assert full.set_index("site_id").loc[site_id, "risk_explanation"] in text
    assert "How this score was computed" in text and CFG.version in text


def test_a_complete_site_without_mercury_says_so():
    scored = prepare_scored(model_scored(300, seed=8))
    row = scored[(scored["score_complete"]) & (scored["hg_kg_per_yr"] == 0)].iloc[0]
    record = site_detail_record(scored, row["site_id"], CFG)
    text = _text(make_detail(record, _dataset(scored), CFG))
    assert "no range: no uncertain mercury release moves this score" in text
    assert "0 kg/yr (no mercury use assumed)" in text
    assert PARTIAL_NOTE not in text and '"Not assessed"' not in text


def test_a_mercury_user_of_unknown_size_says_its_range_is_not_estimated():
    scored = prepare_scored(model_scored(300, seed=8))
    row = scored[scored["hg_kg_per_yr_high"].isna() & scored["risk_0_100"].notna()].iloc[0]
    record = site_detail_record(scored, row["site_id"], CFG)
    text = _text(make_detail(record, _dataset(scored), CFG))
    assert "its size is unknown" in text and "range is not estimated" in text
    assert "Chance of class high or very high: " in text and '"children": "unknown"' in text


def test_the_waterfall_still_sums_to_the_score_with_every_factor_named():
    scored = prepare_scored(model_scored(200, seed=9))
    for pos in (0, 50, 120):
        record = scored.iloc[pos].to_dict()
        bar = make_waterfall_figure(record).data[0]
        relative = [y for y, m in zip(bar.y, bar.measure, strict=True) if m == "relative"]
        assert bar.y[-1] == pytest.approx(record["risk_0_100"])
        assert sum(relative) == pytest.approx(record["risk_0_100"], abs=0.02)  # bars rounded to 0.01
        assert set(bar.x[:-1]) <= set(FACTOR_LABELS.values())
    assert sum(scored[c].iloc[0] for c in CONTRIB_COLUMNS) == pytest.approx(scored["risk_0_100"].iloc[0])


# --- callbacks ---------------------------------------------------------------------------------------------
@pytest.fixture
def partial_app(tmp_path, monkeypatch):
    raw = model_scored(300, seed=10, without=("reef", "water"))
    dataset = _dataset(raw)
    prepared = prepare_scored(raw)
    monkeypatch.setattr(cb, "get_dataset_for", lambda s, ws: dataset)
    monkeypatch.setattr(cb, "get_scored", lambda s, ws, w, d: prepared)
    server = flask.Flask("test")
    server.config["ASM_SETTINGS"] = Settings(cache_dir=tmp_path / "cache", workspace_dir=tmp_path / "ws")
    context_value.set(AttributeDict(triggered_inputs=[], updated_props={}))
    with server.test_request_context():
        yield prepared


def test_the_weights_panel_note_follows_the_data_and_the_weights(partial_app):
    state = render_state(default_state())
    text = _text(html.Div(cb.update_not_assessed(state, None)))
    assert "coral reefs: no layer loaded" in text and "rivers and lakes: no layer loaded" in text
    off = render_state({**default_state(), "weights": {"reef": 0.0, "water": 0.0}})
    text = _text(html.Div(cb.update_not_assessed(off, None)))
    assert "coral reefs" not in text and "rivers and lakes" not in text  # left out on purpose: not a gap


def test_the_detail_callback_writes_the_sentence_of_the_site_it_shows(partial_app):
    state = render_state(default_state())
    site = partial_app["site_id"].iloc[3]
    detail, lonlat = cb.show_site(site, state, None)
    text = _text(detail)
    assert partial_app["risk_explanation"].iloc[3] in text and "Partial score: coral reefs, rivers and lakes" in text
    page = cb.table_block({"startRow": 0, "endRow": 20}, state, None, None)
    assert all(r["risk_text"].endswith(" *") and r["risk_explanation"] for r in page["rowData"])
    assert lonlat == [partial_app["lon"].iloc[3], partial_app["lat"].iloc[3]]
    assert ids.WEIGHTS_NOT_ASSESSED == "weights-not-assessed"
