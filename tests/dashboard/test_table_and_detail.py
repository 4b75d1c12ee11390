"""The table, the site detail and the exports as an analyst reads them (issue #13, items 7 and 9)."""

from __future__ import annotations

import io
import json
import math
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest
from dash import html

from benchmarks.synthetic_scored import synthetic_protected_areas, synthetic_scored
from dashboard.data import Dataset
from dashboard.detail import make_detail
from dashboard.exports import export_download
from dashboard.layout import make_grid
from dashboard.state import default_state
from dashboard.views import (
    HG_UNKNOWN,
    NO_RASTER_DATA,
    TABLE_COLUMNS,
    count_text,
    detail_attributes,
    mercury_text,
    plural,
    prepare_scored,
    render_state,
    selection_note,
    site_record,
    table_rows,
)
from settings import Settings

HG = ("hg_kg_per_yr_low", "hg_kg_per_yr", "hg_kg_per_yr_high")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    raw = synthetic_scored(200, seed=9)
    for col in HG:
        raw.loc[:9, col] = np.nan  # ten gold sites of unknown size
    raw.loc[:9, "commodity"] = "gold"
    raw.loc[0, "tree_cover_pct"] = np.nan  # outside the raster
    dataset = Dataset(
        facts=raw, scored=raw, countries=None, protected_areas=synthetic_protected_areas(5),
        sources=("sites: synthetic test data",), warnings=(), is_demo=True, n_rejected=0,
        raster_names=("tree_cover_pct",),
    )  # fmt: skip
    settings = Settings(cache_dir=tmp_path_factory.mktemp("cache"))
    return settings, dataset, prepare_scored(raw)


def test_risk_score_and_class_come_right_after_the_id_and_name():
    assert TABLE_COLUMNS[:4] == ("site_id", "name", "risk_0_100", "risk_class")
    fields = [c["field"] for c in make_grid().columnDefs]
    assert fields[:4] == ["site_id", "name", "risk_0_100", "risk_class"]


def test_the_grid_shows_a_missing_mercury_estimate_as_unknown(setup):
    _settings, _dataset, scored = setup
    defs = {c["field"]: c for c in make_grid().columnDefs}
    for col in HG:
        assert "'unknown'" in defs[col]["valueFormatter"]["function"]
    rows = table_rows(scored.head(12))
    assert rows[0]["hg_kg_per_yr"] is None and rows[11]["hg_kg_per_yr"] is not None  # null, never 0


def _text(component) -> str:
    return json.dumps(component.to_plotly_json(), default=lambda o: o.to_plotly_json())


def test_site_detail_says_unknown_mercury_and_no_raster_data(setup):
    _settings, dataset, scored = setup
    record = site_record(scored, scored["site_id"].iloc[0])
    assert record["tree_cover_pct"] is None
    text = _text(make_detail(record, dataset))
    assert "tree_cover_pct: None" not in text and f"tree_cover_pct: {NO_RASTER_DATA}" in text
    assert '"Mercury release"' in text and json.dumps(HG_UNKNOWN) in text  # a row of the detail's table
    attrs = dict(detail_attributes(record))
    assert attrs["hg_kg_per_yr"] == "unknown" and attrs["tree_cover_pct"] == "no data"
    assert "None" not in attrs.values() and attrs["hg_kg_per_yr"] != "0"


def test_mercury_text():
    assert mercury_text({"hg_kg_per_yr": None}) == HG_UNKNOWN
    assert mercury_text({"hg_kg_per_yr": math.nan}) == HG_UNKNOWN
    assert mercury_text({"hg_kg_per_yr": 0.0}) == "0 kg/yr (no mercury use assumed)"
    assert mercury_text({"hg_kg_per_yr": 12.34, "hg_kg_per_yr_low": 5.0, "hg_kg_per_yr_high": 30.0}) == (
        "12.3 kg/yr (90% range 5.0–30.0)"
    )


def test_plurals():
    assert plural(1, "site") == "1 site" and plural(2, "site") == "2 sites" and plural(0, "site") == "0 sites"
    assert plural(1, "protected area", "protected areas") == "1 protected area"
    assert count_text(1, 1) == "1 of 1 site" and count_text(1, 3000) == "1 of 3,000 sites"
    assert selection_note(1) == "Map selection: 1 site in the drawn area."


def _unzip_table(name: str, data: bytes, ext: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read(next(n for n in zf.namelist() if n.endswith(ext)))


def test_exports_leave_a_missing_mercury_estimate_empty_not_zero(setup):
    settings, dataset, scored = setup
    state = render_state(default_state())
    unknown = set(scored["site_id"].iloc[:10])
    csv = pd.read_csv(io.BytesIO(_unzip_table(*export_download("csv", settings, dataset, scored, state), ".csv")))
    rows = csv[csv["site_id"].isin(unknown)]
    assert len(rows) == 10 and rows[list(HG)].isna().all().all()
    _name, data = export_download("xlsx", settings, dataset, scored, state)
    sheet = openpyxl.load_workbook(io.BytesIO(data))["Risk"]
    header = [c.value for c in sheet[1]]
    col = header.index("hg_kg_per_yr")
    by_id = {r[header.index("site_id")].value: r[col].value for r in sheet.iter_rows(min_row=2)}
    assert all(by_id[s] is None for s in unknown)  # an empty cell, not 0
    gj = json.loads(_unzip_table(*export_download("geojson", settings, dataset, scored, state), ".geojson"))
    props = {f["properties"]["site_id"]: f["properties"] for f in gj["features"]}
    assert all(props[s]["hg_kg_per_yr"] is None for s in unknown)


def test_the_xlsx_has_a_frozen_header_and_an_autofilter(setup):
    settings, dataset, scored = setup
    _name, data = export_download("xlsx", settings, dataset, scored, render_state(default_state()))
    sheet = openpyxl.load_workbook(io.BytesIO(data))["Risk"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(sheet.max_column)}{len(scored) + 1}"


def test_detail_headline_is_plain_text(setup):
    _settings, dataset, scored = setup
    detail = make_detail(site_record(scored, scored["site_id"].iloc[20]), dataset)
    assert isinstance(detail, html.Div)
    assert '"Mercury release"' in _text(detail) and "kg/yr" in _text(detail)


def test_a_typed_weight_outside_0_to_1_is_refused_in_words():
    from dashboard.weights import typed_weight

    assert typed_weight(0.25, 1.0) == (0.25, "")
    assert typed_weight(0, 1.0) == (0.0, "")
    value, message = typed_weight(5, 0.6)
    assert value is None and message.startswith("5 is outside 0 to 1: not applied; the weight stays at 0.6")
    value, message = typed_weight(None, 0.6)
    assert value is None and "Not a number" in message
    assert typed_weight(-0.1, 0.6)[0] is None
