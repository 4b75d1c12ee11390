"""Every export format carries the bands, the receptors assessed, the method version, the configuration
fingerprint and the citations (data sources and the model's references), for a view the dashboard re-scored."""

from __future__ import annotations

import html
import io
import json
import sqlite3
import zipfile

import geopandas as gpd
import pandas as pd
import pytest

from benchmarks.synthetic_scored import model_facts
from dashboard.briefing import BANDS_MEANING
from dashboard.data import Dataset, rescore
from dashboard.exports import export_download
from dashboard.risk_text import probability_text, risk_cell_text
from dashboard.state import default_state
from dashboard.views import render_state
from geo.risk import score_sites
from layers.risk_config import default_risk_config
from scoring.writers import BAND_NOTE, MODEL_REFERENCES
from settings import Settings

BANDS = ("hg_kg_per_yr_low", "hg_kg_per_yr", "hg_kg_per_yr_high", "risk_0_100", "risk_0_100_low",
         "risk_0_100_high", "p_high_or_above")  # fmt: skip
WEIGHTS = {"mercury": 0.8, "water": 0.0}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    facts = model_facts(300, seed=12, without=("reef",))
    base = default_risk_config()
    config = base.with_overrides({f"weights.{k}": v for k, v in WEIGHTS.items()})
    dataset = Dataset(
        facts=facts, scored=score_sites(facts, base), countries=None, protected_areas=None,
        sources=("sites: synthetic test data (fictional)",), warnings=(), is_demo=True, n_rejected=0,
    )  # fmt: skip
    scored = rescore(facts, config)  # the dashboard's re-score: no explanation sentence yet
    state = render_state({**default_state(), "weights": WEIGHTS})
    expected = score_sites(facts, config)
    settings = Settings(cache_dir=tmp_path_factory.mktemp("cache"))
    return settings, dataset, scored, state, config, expected


def _about_says_everything(about: str, config) -> None:
    assert f"Method: {config.version}" in about and "asm-risk-model 2.0" in about
    assert f"Configuration fingerprint: {config.fingerprint}" in about
    assert "sites: synthetic test data (fictional)" in about  # data citation
    assert all(ref in about for ref in MODEL_REFERENCES)  # the model's references
    assert BAND_NOTE in about and "score_complete" in about


def _table_checks(table: pd.DataFrame, setup) -> None:
    _settings, _dataset, _scored, _state, _config, expected = setup
    assert len(table) == len(expected)
    exp = expected.set_index("site_id")
    got = table.set_index("site_id")
    for col in BANDS:
        pd.testing.assert_series_equal(
            pd.to_numeric(got[col]), exp.loc[got.index, col].astype(float), check_names=False, rtol=1e-6
        )
    assert (got["score_complete"].astype(str).str.lower() == "false").all()  # no reef layer
    assert got["receptors_assessed"].astype(str).str.contains("reef").sum() == 0
    # the explanation column is written in full although the dashboard re-scored without it
    assert got["risk_explanation"].tolist() == exp.loc[got.index, "risk_explanation"].tolist()


def _unzip(name: str, data: bytes) -> tuple[bytes, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        table = next(n for n in zf.namelist() if not n.endswith(".about.txt"))
        about = next(n for n in zf.namelist() if n.endswith(".about.txt"))
        return zf.read(table), zf.read(about).decode("utf-8")


def test_csv(setup):
    settings, dataset, scored, state, config, _ = setup
    data, about = _unzip(*export_download("csv", settings, dataset, scored, state))
    _table_checks(pd.read_csv(io.BytesIO(data)), setup)
    _about_says_everything(about, config)


def test_xlsx(setup):
    settings, dataset, scored, state, config, _ = setup
    _, data = export_download("xlsx", settings, dataset, scored, state)
    sheets = pd.read_excel(io.BytesIO(data), sheet_name=None)
    _table_checks(sheets["Risk"], setup)
    _about_says_everything("\n".join(sheets["Method"].iloc[:, 0].dropna().astype(str)), config)


def test_geojson(setup):
    settings, dataset, scored, state, config, _ = setup
    data, about = _unzip(*export_download("geojson", settings, dataset, scored, state))
    features = json.loads(data)["features"]
    _table_checks(pd.DataFrame([f["properties"] for f in features]), setup)
    _about_says_everything(about, config)


def test_gpkg(setup, tmp_path):
    settings, dataset, scored, state, config, _ = setup
    _, data = export_download("gpkg", settings, dataset, scored, state)
    path = tmp_path / "x.gpkg"
    path.write_bytes(data)
    _table_checks(pd.DataFrame(gpd.read_file(path).drop(columns="geometry")), setup)
    with sqlite3.connect(path) as con:
        meta = "\n".join(r[0] for r in con.execute("select metadata from gpkg_metadata"))
    _about_says_everything(html.unescape(meta), config)  # GDAL keeps GeoPackage metadata as XML


@pytest.mark.parametrize("chart", ["mercury-by-country", "risk-histogram"])
def test_chart_html(setup, chart):
    settings, dataset, scored, state, config, _ = setup
    _, data = export_download(f"chart-html:{chart}", settings, dataset, scored, state)
    _about_says_everything(html.unescape(data.decode()), config)


def test_briefing_pack_shows_the_bands_and_what_they_mean(setup):
    settings, dataset, scored, state, config, expected = setup
    _, data = export_download("briefing", settings, dataset, scored, state)
    page = html.unescape(data.decode())
    assert BANDS_MEANING in page
    for header in ("Risk 0-100 (90% range)", "P(high or very high)", "Mercury kg/yr (90% range)", "Score complete"):
        assert f"<th scope='col'>{header}</th>" in page
    top = expected.nlargest(1, "risk_0_100").iloc[0]
    cell = risk_cell_text(round(top["risk_0_100"], 6), top["risk_0_100_low"], top["risk_0_100_high"], False)
    assert f">{cell}<" in page and cell.endswith(" *")
    assert f">{probability_text(top['p_high_or_above'])}<" in page
    assert "partial: coral reefs not assessed" in page  # water has weight 0 here: left out, not missing
    assert "rivers and lakes not assessed" not in page
    assert "Receptors not assessed" in page and f"coral reefs: {len(expected):,} of {len(expected):,} sites" in page
    assert config.version in page and config.fingerprint in page
    assert all(ref in page for ref in MODEL_REFERENCES) and "sites: synthetic test data (fictional)" in page
