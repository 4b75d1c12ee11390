"""The partial plotly.js bundle the page loads (assets/vendor, built by scripts/build_plotly_bundle.sh)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from benchmarks.synthetic_scored import synthetic_scored
from dashboard.figures import CHART_NAMES, make_chart_figure, make_dashboard_map, make_waterfall_figure
from dashboard.state import default_state
from dashboard.views import prepare_scored

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "assets" / "vendor" / "plotly-asm.min.js"
SOURCES = ROOT / "scripts" / "plotly-bundle"


def _registered_traces() -> set[str]:
    entry = (SOURCES / "entry.js").read_text(encoding="utf-8")
    return {"scatter"} | set(re.findall(r"require\('plotly\.js/lib/(\w+)'\)", entry)) - {"core"}


def test_committed_bundle_matches_its_recorded_checksum():
    recorded, name = (SOURCES / "SHA256SUMS").read_text(encoding="utf-8").split()
    assert name == BUNDLE.name
    assert hashlib.sha256(BUNDLE.read_bytes()).hexdigest() == recorded


def test_bundle_is_the_plotly_js_version_that_plotly_python_ships():
    """Upgrading plotly (Python) without rebuilding the bundle would mix two plotly.js versions."""
    from plotly.offline import get_plotlyjs_version

    head = BUNDLE.read_bytes()[:400].decode("utf-8")
    assert f"plotly.js {get_plotlyjs_version()} partial bundle" in head
    lock = (SOURCES / "package-lock.json").read_text(encoding="utf-8")
    assert f'"node_modules/plotly.js": {{\n      "version": "{get_plotlyjs_version()}"' in lock


def test_licences_ship_with_the_bundle():
    text = (BUNDLE.parent / "plotly-asm.LICENSE.txt").read_text(encoding="utf-8")
    assert "plotly.js" in text and "MIT" in text and "maplibre-gl" in text and "BSD-3-Clause" in text


@pytest.fixture(scope="module")
def page_figures():
    """Every figure the dashboard page draws: the map, the linked charts, the site-detail waterfall."""
    scored = prepare_scored(synthetic_scored(300, seed=8))
    state = {**default_state(), "overlays": ["countries", "arctic"]}
    figures = [
        make_dashboard_map(scored, all_sites=scored, countries=None, overlay_frames={"arctic_lat": 66.56}, state=state),
        *[make_chart_figure(name, scored) for name in CHART_NAMES],
        make_waterfall_figure(scored.iloc[0].to_dict()),
    ]
    return figures


def test_bundle_registers_every_trace_type_the_page_draws(page_figures):
    used = {trace.type for fig in page_figures for trace in fig.data}
    assert used <= _registered_traces(), f"add {used - _registered_traces()} to scripts/plotly-bundle/entry.js"
    assert {"scattermap", "bar", "waterfall", "scatter"} <= used  # the check above is not vacuous
