"""Every chart's title fits a phone-wide chart and says "synthetic demo data" where it is (issue #15 stop review).

At 390 px the page's charts are ~340-360 px wide. Titles with " — synthetic demo data" appended ran past the
right edge (the marker cut, on the mining chart entirely). Each chart builder's demo figure is rendered here by
kaleido (plotly.js in headless Chromium) at 340 px and at the 1000 px of the PNG export, once as built and once
without its title: the pixels that differ are the title's own ink. It must end inside the chart, be as wide at
340 px as at 1000 px (nothing clipped), stay above the plot area, and show the demo marker in its colour.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest
import rasterio
import shapely
from rasterio.errors import NotGeoreferencedWarning

from benchmarks.synthetic_scored import synthetic_scored
from dashboard.change_figures import CHANGE_TITLE, make_mining_by_year_figure
from dashboard.figures import CHART_NAMES, CHART_TITLES, make_chart_figure, make_static_map_figure
from dashboard.views import prepare_scored
from layers.risk_config import default_risk_config
from reports.maps import AOI_MAP_TITLE, make_aoi_map_figure
from reports.titles import DEMO_COLOUR, TITLE_MAX_CHARS
from scoring.pipeline import DEMO_LABEL

PHONE_PX = 340  # the narrowest chart at a 390 px viewport (the mining chart's card is 344 px, less its padding)
EXPORT_PX = 1000  # the width of the PNG / SVG a chart's buttons download (dashboard.callbacks)
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _demo_figures() -> dict[str, go.Figure]:
    """Every chart builder's figure on (fictional) demo data."""
    scored = prepare_scored(synthetic_scored(2000, seed=5, geometry=False))
    config = default_risk_config()
    figs = {name: make_chart_figure(name, scored, is_demo=True, config=config) for name in CHART_NAMES}
    pivot = pd.DataFrame({"COD": [0.5, 1.0, 2.5], "BRA": [0.2, 0.4, 0.9]}, index=[2022, 2023, 2024])
    figs["mining-by-year"] = make_mining_by_year_figure(pivot, year=2023, is_demo=True)
    figs["briefing-map"] = make_static_map_figure(scored, countries=None, is_demo=True)
    box = shapely.box(20.0, -3.0, 21.0, -2.0)
    figs["aoi-map"] = make_aoi_map_figure(
        aoi_features=gpd.GeoDataFrame({"kind": ["polygon"]}, geometry=[box], crs="EPSG:4326"),
        zone_geoms=[box.buffer(0.2)], sites=scored.head(50), is_demo=True, height=600,
    )  # fmt: skip
    return figs


def _untitled(fig: go.Figure) -> go.Figure:
    out = go.Figure(fig)
    out.update_layout(title_text="", title_subtitle_text="")
    return out


def _read_png(path: Path) -> np.ndarray:
    """(rows, cols, 3) uint8 pixels of a PNG, read by GDAL's PNG driver (rasterio)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as src:
            return np.moveaxis(src.read()[:3], 0, -1)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[tuple[str, int], tuple[np.ndarray, np.ndarray, go.Figure]]:
    """{(chart, width): (pixels as built, pixels without the title, figure)}, drawn in one kaleido session."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (scripts/install_browser.sh installs it): kaleido needs it")
    folder = tmp_path_factory.mktemp("titles")
    figs, files, widths, heights, keys = [], [], [], [], []
    for name, fig in _demo_figures().items():
        for width in (PHONE_PX, EXPORT_PX):
            for kind, drawn in (("built", fig), ("untitled", _untitled(fig))):
                figs.append(drawn)
                files.append(folder / f"{name}-{width}-{kind}.png")
                widths.append(width)
                heights.append(int(fig.layout.height or 320))
            keys.append((name, width, fig))
    pio.write_images(figs, files, format="png", width=widths, height=heights)
    return {
        (name, width): (
            _read_png(folder / f"{name}-{width}-built.png"),
            _read_png(folder / f"{name}-{width}-untitled.png"),
            fig,
        )
        for name, width, fig in keys
    }


CHARTS = (*CHART_NAMES, "mining-by-year", "briefing-map", "aoi-map")


def _ink(built: np.ndarray, untitled: np.ndarray) -> np.ndarray:
    """Where the title drew: the pixels that differ from the same figure without its title."""
    return np.abs(built.astype(int) - untitled.astype(int)).max(axis=2) > 24


@pytest.mark.slow
@pytest.mark.parametrize("name", CHARTS)
def test_every_chart_title_and_its_demo_marker_fit_a_phone_wide_chart(rendered, name):
    built, untitled, fig = rendered[(name, PHONE_PX)]
    ink = _ink(built, untitled)
    rows, cols = np.nonzero(ink)
    assert cols.size, f"{name}: no title drawn"
    assert cols.max() <= PHONE_PX - 4, f"{name}: the title runs to the chart's right edge (col {cols.max()})"
    _, wide_cols = np.nonzero(_ink(*rendered[(name, EXPORT_PX)][:2]))
    # nothing clipped: the title's ink is as wide on a phone as in the 1000 px export
    assert abs((cols.max() - cols.min()) - (wide_cols.max() - wide_cols.min())) <= 2, name
    assert rows.max() < fig.layout.margin.t, f"{name}: the title reaches into the plot area"
    # the demo marker is drawn, in its colour, inside the chart
    r, g, b = (int(DEMO_COLOUR[i : i + 2], 16) for i in (1, 3, 5))
    marker = ink & (np.abs(built.astype(int) - np.array([r, g, b])).max(axis=2) < 40)
    assert marker.sum() > 50, f"{name}: no demo marker drawn"
    assert np.nonzero(marker)[1].max() <= PHONE_PX - 4
    assert fig.layout.title.subtitle.text == DEMO_LABEL
    assert fig.layout.modebar.orientation == "v"  # where plotly's toolbar shows, it runs down the right edge


def test_titles_are_one_short_line():
    titles = [*CHART_TITLES.values(), CHANGE_TITLE, AOI_MAP_TITLE]
    for title in titles:
        assert "<br>" not in title and len(title) <= TITLE_MAX_CHARS, title


@pytest.mark.parametrize("name", CHART_NAMES)
def test_real_data_has_no_demo_marker(name):
    scored = prepare_scored(synthetic_scored(200, seed=5, geometry=False))
    fig = make_chart_figure(name, scored, is_demo=False)
    assert fig.layout.title.text == CHART_TITLES[name]
    assert not fig.layout.title.subtitle.text
    assert fig.layout.margin.t == 40
