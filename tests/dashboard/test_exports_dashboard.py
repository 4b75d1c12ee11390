"""Dashboard exports of the filtered view: tables (parsed back), chart HTML, briefing pack, embed page."""

from __future__ import annotations

import io
import json
import re
import sqlite3
import zipfile

import geopandas as gpd
import pandas as pd
import pytest

from benchmarks.synthetic_scored import synthetic_protected_areas, synthetic_scored
from dashboard.briefing import make_briefing_html, top_risk_table
from dashboard.data import Dataset
from dashboard.exports import export_download, figure_html
from dashboard.figures import make_chart_figure
from dashboard.state import default_state
from dashboard.views import prepare_scored, render_state
from settings import Settings

EVIL = '<script>alert("x")</script>'
EXTERNAL_SCRIPT = re.compile(r"<script[^>]*\ssrc=")  # offline: no script loaded from anywhere


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    settings = Settings(cache_dir=tmp_path_factory.mktemp("cache"))
    raw = synthetic_scored(400, seed=7)
    raw.loc[0, "name"] = EVIL
    raw.loc[0, "risk_0_100"] = 99.9
    raw.loc[1, "name"] = "=HYPERLINK(1)"
    raw.loc[1, "country_iso3"] = "GHA"
    countries = gpd.GeoDataFrame(
        {"iso3": ["GHA"], "name": ["Ghana"]},
        geometry=gpd.GeoSeries.from_wkt(["POLYGON((-3 4,1 4,1 11,-3 11,-3 4))"]),
        crs="EPSG:4326",
    )
    dataset = Dataset(
        facts=raw, scored=raw, countries=countries, protected_areas=synthetic_protected_areas(10),
        sources=("sites: synthetic test data", "protected areas: " + EVIL), warnings=(), is_demo=True, n_rejected=0,
    )  # fmt: skip
    state = render_state({**default_state(), "countries": ["COD", "GHA"], "weights": {"mercury": 0.5}})
    return settings, dataset, prepare_scored(raw), state


def _expected_rows(scored, state):
    return int(scored["country_iso3"].isin(state["countries"]).sum())


def _unzip(name: str, data: bytes) -> tuple[str, bytes, str]:
    """(table name, table bytes, about text) of a CSV or GeoJSON export: one zip holding both files."""
    assert name.endswith(".zip")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        assert len(names) == 2
        table = next(n for n in names if not n.endswith(".about.txt"))
        about = next(n for n in names if n.endswith(".about.txt"))
        assert name == table + ".zip" and about == table.rsplit(".", 1)[0] + ".about.txt"
        return table, zf.read(table), zf.read(about).decode("utf-8")


def test_csv_export_parses_and_has_the_weights_beside_it(setup):
    settings, dataset, scored, state = setup
    name, data, about = _unzip(*export_download("csv", settings, dataset, scored, state))
    assert name.endswith(".csv")
    table = pd.read_csv(io.BytesIO(data))
    assert len(table) == _expected_rows(scored, state)
    assert "_row" not in table.columns and "geometry" not in table.columns
    assert list(table.columns[:3]) == ["site_id", "name", "country_iso3"]
    assert "'=HYPERLINK(1)" in table["name"].tolist()  # formula text neutralised
    assert "mercury = 0.5" in about and "SYNTHETIC DEMO DATA" in about and "countries" in about


def test_xlsx_export_has_data_and_method_sheets(setup):
    settings, dataset, scored, state = setup
    name, data = export_download("xlsx", settings, dataset, scored, state)
    assert name.endswith(".xlsx")
    sheets = pd.read_excel(io.BytesIO(data), sheet_name=None)
    assert set(sheets) == {"Risk", "Method"}
    assert len(sheets["Risk"]) == _expected_rows(scored, state)
    method = "\n".join(sheets["Method"].iloc[:, 0].dropna().astype(str))
    assert "mercury = 0.5" in method and "Licences" in method


def test_geojson_and_gpkg_exports_read_back(setup, tmp_path):
    settings, dataset, scored, state = setup
    name, data, about = _unzip(*export_download("geojson", settings, dataset, scored, state))
    gj = json.loads(data)
    assert len(gj["features"]) == _expected_rows(scored, state) and "mercury = 0.5" in about
    assert gj["name"] == name.removesuffix(".geojson")  # the file's name, never a temporary one
    _, data = export_download("gpkg", settings, dataset, scored, state)
    path = tmp_path / "x.gpkg"
    path.write_bytes(data)
    back = gpd.read_file(path)
    assert len(back) == _expected_rows(scored, state) and back.crs.to_epsg() == 4326
    with sqlite3.connect(path) as con:
        meta = " ".join(r[0] for r in con.execute("select metadata from gpkg_metadata"))
    assert "mercury = 0.5" in meta


def test_map_selection_restricts_the_export(setup):
    settings, dataset, scored, state = setup
    box = [[-4.0, 4.0], [1.0, 4.0], [1.0, 10.0], [-4.0, 10.0]]
    chosen = {**state, "selection": box}
    _, data, about = _unzip(*export_download("csv", settings, dataset, scored, chosen))
    inside = (
        scored["country_iso3"].isin(state["countries"]) & scored["lon"].between(-4, 1) & scored["lat"].between(4, 10)
    )
    assert len(pd.read_csv(io.BytesIO(data))) == int(inside.sum()) > 0
    assert "map selection" in about and "-4.0" in about


def test_chart_html_is_offline_and_carries_the_weights(setup):
    settings, dataset, scored, state = setup
    name, data = export_download("chart-html:risk-histogram", settings, dataset, scored, state)
    page = data.decode()
    assert name.startswith("risk-histogram") and not EXTERNAL_SCRIPT.search(page)
    assert "Plotly.newPlot" in page or "Plotly.react" in page
    assert "mercury = 0.5" in page
    assert len(page) > 1_000_000  # plotly.js is inlined


def test_briefing_pack_is_one_escaped_offline_file(setup):
    settings, dataset, scored, state = setup
    name, data = export_download(
        "briefing", settings, dataset, scored, {**state, "countries": []}, share_url="http://x/?c=GHA"
    )
    page = data.decode()
    assert name.startswith("asm-risk-briefing") and name.endswith(".html")
    assert EVIL not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert not EXTERNAL_SCRIPT.search(page)
    for needle in (
        "Top 25 sites by risk",
        "Filters in use",
        "Weights and thresholds in use",
        "mercury = 0.5",
        "Data sources",
        "Licences",
        "SYNTHETIC DEMO DATA",
        "http://x/?c=GHA",
    ):
        assert needle in page, needle
    assert page.count("Plotly.newPlot") >= 6  # the map and five charts


def test_top_risk_table_order(setup):
    _, _, scored, _ = setup
    top = top_risk_table(scored, 5)
    assert top["risk_0_100"].is_monotonic_decreasing and top.iloc[0]["name"] == EVIL


def test_briefing_escapes_filters_and_sources(setup):
    _, _dataset, scored, _ = setup
    fig = make_chart_figure("commodity-mix", scored)
    page = make_briefing_html(
        scored, n_total=len(scored), map_figure=fig, charts={}, filters={EVIL: [EVIL]}, config_toml=EVIL,
        method_version="m", sources=[EVIL], licences=[EVIL], is_demo=False,
    )  # fmt: skip
    assert EVIL not in page


def test_figure_html_escapes_title():
    page = figure_html(make_chart_figure("commodity-mix", pd.DataFrame({"commodity": ["gold"]})), EVIL, about=EVIL)
    assert EVIL not in page


def test_unknown_export_kind(setup):
    settings, dataset, scored, state = setup
    with pytest.raises(ValueError, match="unknown export"):
        export_download("pdf", settings, dataset, scored, state)
