"""Safe exports: CSV/XLSX formula injection neutralised (OWASP), names with HTML shown as text everywhere."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest

from benchmarks.synthetic_scored import synthetic_protected_areas, synthetic_scored
from dashboard.briefing import make_briefing_html
from dashboard.data import Dataset
from dashboard.detail import make_detail
from dashboard.exports import export_download
from dashboard.figures import make_map_figure, make_static_map_figure, site_customdata, site_hover_text
from dashboard.layout import make_grid
from dashboard.render import embed_page
from dashboard.state import decode_state, default_state
from dashboard.views import prepare_scored, render_state, site_record
from scoring.pipeline import load_config
from scoring.writers import neutralise_frame, write_table, write_xlsx
from settings import Settings

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>window.__xss=1</script>"
IMG_ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"
FORMULAS = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\t=1", "\r=1", '=HYPERLINK("http://x","y")']


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "name": [*FORMULAS, "plain", "-5"],
            "risk_0_100": [-1.5, 2.0, -0.0, 3.25, -100.0, 0.5, 7.0, 8.0, -5.0],
            "workers": pd.array([-3, 1, 2, 3, 4, 5, 6, 7, -8], dtype="Int64"),
        }
    )


def test_neutralise_frame_prefixes_formula_text_and_keeps_numbers():
    out = neutralise_frame(_table())
    assert out["name"].tolist() == [*("'" + f for f in FORMULAS), "plain", "-5"]  # a number as text stays
    pd.testing.assert_series_equal(out["risk_0_100"], _table()["risk_0_100"])
    pd.testing.assert_series_equal(out["workers"], _table()["workers"])


def test_csv_export_is_neutralised_and_negative_numbers_stay_numbers(tmp_path):
    config = load_config(Settings(cache_dir=tmp_path))
    path = write_table(_table(), tmp_path / "t.csv", config=config, sources=["s"], is_demo=False)
    with path.open(newline="", encoding="utf-8") as fh:  # the csv module: quoted CR/tab kept as written
        rows = list(csv.DictReader(fh))
    assert [r["name"] for r in rows] == [*("'" + f for f in FORMULAS), "plain", "-5"]
    assert [float(r["risk_0_100"]) for r in rows] == _table()["risk_0_100"].tolist()
    assert [r["risk_0_100"] for r in rows][:2] == ["-1.5", "2.0"]  # a negative number is not prefixed
    assert [int(r["workers"]) for r in rows] == [-3, 1, 2, 3, 4, 5, 6, 7, -8]
    for r in rows:
        for value in r.values():
            assert not value.startswith(("=", "+", "@", "\t", "\r")), value


def test_a_carriage_return_inside_a_cell_cannot_start_a_formula_row(tmp_path):
    """pandas writes a bare CR unquoted with its default line end; a spreadsheet then starts a new row."""
    config = load_config(Settings(cache_dir=tmp_path))
    table = pd.DataFrame({"name": ['Site\r=HYPERLINK("http://x")', "b"], "n": [1, 2]})
    path = write_table(table, tmp_path / "cr.csv", config=config, sources=["s"], is_demo=False)
    raw = path.read_bytes()
    assert b'"Site\r=HYPERLINK(""http://x"")"' in raw  # quoted: one cell, one row
    with path.open(newline="", encoding="utf-8") as fh:
        assert len(list(csv.reader(fh))) == 3


def test_xlsx_has_no_formula_cells_and_prefixed_text(tmp_path):
    path = tmp_path / "t.xlsx"
    write_xlsx(_table(), path, "=cmd|' /C calc'!A0\n@about")
    book = openpyxl.load_workbook(path)  # formulas stay formulas here (data_only=False)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str) and cell.value != "-5":  # a number written as text is no formula
                    assert not cell.value.startswith(("=", "+", "-", "@", "\t", "\r")), cell.value
    risk = book["Risk"]
    header = [c.value for c in risk[1]]
    # xlsxwriter stores a CR as the OOXML escape _x000D_ (Excel shows a line break)
    names = [r[header.index("name")].replace("_x000D_", "\r") for r in risk.iter_rows(min_row=2, values_only=True)]
    assert names == [*("'" + f for f in FORMULAS), "plain", "-5"]
    numbers = [r[header.index("risk_0_100")] for r in risk.iter_rows(min_row=2, values_only=True)]
    assert numbers == _table()["risk_0_100"].tolist() and all(isinstance(v, int | float) for v in numbers)
    workers = [r[header.index("workers")] for r in risk.iter_rows(min_row=2, values_only=True)]
    assert workers == [-3, 1, 2, 3, 4, 5, 6, 7, -8]
    method = [r[0] for r in book["Method"].iter_rows(min_row=2, values_only=True)]
    assert method[:2] == ["'=cmd|' /C calc'!A0", "'@about"]


# --- HTML in names ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def evil(tmp_path_factory):
    settings = Settings(cache_dir=tmp_path_factory.mktemp("cache"))
    raw = synthetic_scored(60, seed=3)
    raw.loc[0, "name"] = IMG
    raw.loc[1, "name"] = SCRIPT
    raw.loc[0, "nearest_protected_area"] = SCRIPT
    raw.loc[0, "risk_0_100"] = 99.9
    raw.loc[1, "risk_0_100"] = 99.8
    pas = synthetic_protected_areas(5)
    pas.loc[0, "name"] = IMG
    dataset = Dataset(
        facts=raw, scored=raw, countries=None, protected_areas=pas,
        sources=("sites: " + IMG,), warnings=(), is_demo=False, n_rejected=0,
    )  # fmt: skip
    return settings, dataset, prepare_scored(raw)


def test_hover_customdata_is_escaped(evil):
    _, _, scored = evil
    text, pa_names = site_hover_text(scored)
    names = {t.removeprefix("<b>").split("</b><br>")[0] for t in text}
    assert IMG_ESCAPED in names and "&lt;script&gt;window.__xss=1&lt;/script&gt;" in names
    # the only markup is the card's own bold and line break around the escaped values
    assert not any("<" in t.replace("<b>", "", 1).replace("</b><br>", "", 1) for t in text)
    assert not any("<" in str(v) for v in pa_names)
    fig = make_map_figure(scored)
    payload = fig.to_json()
    assert IMG not in payload and SCRIPT not in payload
    static = make_static_map_figure(scored, countries=None, is_demo=False).to_json()
    assert IMG not in static and SCRIPT not in static


def test_lean_hover_still_has_no_names(evil):
    _, _, scored = evil
    assert site_customdata(scored, lean=True).dtype == np.float32


def test_briefing_html_shows_names_as_text(evil):
    settings, dataset, scored = evil
    _, data = export_download("briefing", settings, dataset, scored, render_state(default_state()))
    page = data.decode()
    assert IMG not in page and SCRIPT not in page
    assert IMG_ESCAPED in page  # the top-risk table and the source list show it as text


def test_briefing_with_hostile_filters_and_share_url():
    page = make_briefing_html(
        pd.DataFrame({"name": [IMG], "risk_0_100": [1.0]}), n_total=1,
        map_figure=make_map_figure(pd.DataFrame({"name": [IMG], "risk_0_100": [1.0], "lon": [0.0], "lat": [0.0]})),
        charts={}, filters={IMG: [SCRIPT]}, config_toml=SCRIPT, method_version=IMG, sources=[IMG], licences=[],
        is_demo=False, share_url="javascript:alert(1)//'><img src=x onerror=alert(1)>",
    )  # fmt: skip
    assert IMG not in page and SCRIPT not in page and "'><img" not in page


@pytest.mark.parametrize("chart", ["map", "risk-histogram"])
def test_embed_page_shows_names_as_text(evil, chart):
    settings, dataset, scored = evil
    page = embed_page(chart, decode_state(""), settings, dataset, scored, plotlyjs_src="/embed/plotly.min.js")
    assert IMG not in page and SCRIPT not in page and "onerror=alert(1)>" not in page
    if chart == "map":
        assert IMG_ESCAPED in page


def _walk(component):
    yield component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list | tuple) else [children]:
        if child is not None and not isinstance(child, str | int | float):
            yield from _walk(child)


def test_detail_panel_renders_names_as_text_nodes(evil):
    _, dataset, scored = evil
    record = site_record(scored, str(scored.iloc[0]["site_id"]))
    panel = make_detail(record, dataset)
    texts = []
    for comp in _walk(panel):
        props = comp.to_plotly_json()["props"] if hasattr(comp, "to_plotly_json") else {}
        assert "dangerouslySetInnerHTML" not in json.dumps(props, default=str)
        if isinstance(getattr(comp, "children", None), str):
            texts.append(comp.children)
    assert IMG in texts  # a React text node: shown as the characters, never parsed as HTML


def test_table_has_no_html_renderers():
    grid = make_grid().to_plotly_json()["props"]
    blob = json.dumps(grid, default=str)
    assert "cellRenderer" not in blob and "dangerously_allow_code" not in blob and "innerHTML" not in blob


def test_geojson_export_keeps_names_verbatim(evil, tmp_path):
    """GeoJSON/GPKG are data formats, not spreadsheets or pages: names are kept exactly (no prefix)."""
    settings, dataset, scored = evil
    _, archive = export_download("geojson", settings, dataset, scored, render_state(default_state()))
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        data = zf.read(next(n for n in zf.namelist() if n.endswith(".geojson")))
    back = gpd.read_file(io.BytesIO(data))
    assert IMG in back["name"].tolist()
