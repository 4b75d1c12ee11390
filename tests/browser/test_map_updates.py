"""Two figures reaching the map in quick succession (issue #15 stop: a flaky CI run of
test_a_shared_url_restores_the_same_state): the second Plotly.react ran while maplibre was still
loading the first one's style and threw "Style is not done loading" into the console.
assets/plotly_updates.js makes each chart take one update at a time; the last figure wins."""

from __future__ import annotations

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from dashboard.ids import MAP
from tests.browser.conftest import open_app

pytestmark = pytest.mark.browser

RACE = """
const gd = document.querySelector('#' + arguments[0] + ' .js-plotly-plot');
const div = document.createElement('div');
div.id = 'map-race'; div.style.width = '600px'; div.style.height = '400px';
document.body.appendChild(div);
const data = JSON.parse(JSON.stringify(gd.data));
const layout = JSON.parse(JSON.stringify(gd.layout));
Plotly.newPlot(div, data, layout);  // the map starts loading its style
const zoomed = JSON.parse(JSON.stringify(layout));
zoomed.map.zoom = (zoomed.map.zoom || 1) + 1;
Plotly.react(div, data, zoomed);  // before it has: this threw
const faded = JSON.parse(JSON.stringify(zoomed));
(faded.map.layers || []).forEach(l => { l.opacity = 0.5; });
Plotly.react(div, data.slice(0, 2), faded);
return [data.length, (layout.map.layers || []).length, zoomed.map.zoom];
"""

FINAL = """
const g = document.getElementById('map-race');
if (!g || g.__asmPending) { return null; }  // an update still queued (assets/plotly_updates.js): not the end yet
const m = g._fullLayout && g._fullLayout.map;
if (!m || !m._subplot || !m._subplot.map || !m._subplot.map.isStyleLoaded()) { return null; }
return [g.data.length, m.zoom, m.layers.map(l => l.opacity)];
"""


def test_quick_successive_map_figures_draw_the_last_one_without_errors(app_url, browser):
    open_app(browser, app_url)
    n_traces, n_layers, zoom = browser.execute_script(RACE, MAP)
    assert n_traces > 2 and n_layers > 0  # the real map figure: site traces and basemap layers
    final = WebDriverWait(browser, 60).until(lambda d: d.execute_script(FINAL))
    assert final[0] == 2 and final[1] == pytest.approx(zoom)
    assert set(final[2]) == {0.5}
    # and no "Style is not done loading" in the console: the browser fixture fails the test on it
