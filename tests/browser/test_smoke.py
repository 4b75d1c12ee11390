"""Open the app in a real browser: the map renders with the demo sites, the table and the charts fill."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import map_point_count, open_app, shown_and_total

pytestmark = pytest.mark.browser

LAND_LOADED = """
const done = arguments[arguments.length - 1];
const gd = document.querySelector('#map-sites .js-plotly-plot');
const url = gd.layout.map.layers[0].source;
const m = gd._fullLayout.map._subplot.map;
// plotly names a layout layer's MapLibre source 'source-<uid>-map-<i>'
const land = Object.keys(m.getStyle().sources).filter(k => /-map-0$/.test(k));
const drawn = land.length === 1 && m.isSourceLoaded(land[0]) ? m.querySourceFeatures(land[0]).length : 0;
if (typeof url !== 'string') { done([String(typeof url), 0, drawn]); return; }
fetch(url).then(r => r.json()).then(gj => done([url, gj.features.length, drawn]), e => done([url, -1, drawn]));
"""


def test_map_renders_with_sites_and_count(app_url, browser):
    open_app(browser, app_url)
    wait = WebDriverWait(browser, 60)
    # MapLibre draws into a canvas inside the plotly map container
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#map-sites .maplibregl-canvas")))
    shown, total = shown_and_total(browser)
    assert shown == total > 1000
    assert map_point_count(browser) == total
    assert "synthetic demo data" in browser.find_element(By.TAG_NAME, "body").text.lower()
    # the table (an alternative to the map) and the five linked charts are filled
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#table-risk .ag-row")) >= 5)
    assert len(browser.find_elements(By.CSS_SELECTOR, ".charts .js-plotly-plot")) == 5
    # the page runs the partial plotly.js bundle from assets/vendor, never Dash's full one
    from plotly.offline import get_plotlyjs_version

    assert browser.execute_script("return window.Plotly && Plotly.version") == get_plotlyjs_version()
    loaded = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert any("/assets/vendor/plotly-asm.min.js" in n for n in loaded)
    assert not any("package_data/plotly.min.js" in n for n in loaded)
    # the land comes from the basemap route, fetched and parsed by MapLibre
    url, n_countries, n_drawn = browser.execute_async_script(LAND_LOADED)
    assert "/basemap/countries.geojson?" in url and n_countries > 50 and n_drawn > 0
    # every control has a label
    for control_id in ("filter-country", "filter-commodity", "filter-risk-class", "filter-pa-mode", "table-search"):
        assert browser.find_elements(By.CSS_SELECTOR, f"label[for='{control_id}']"), control_id


def test_controls_are_keyboard_reachable(app_url, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    open_app(browser, app_url)
    reached = set()
    for _ in range(25):
        ActionChains(browser).send_keys(Keys.TAB).perform()
        reached.add(browser.switch_to.active_element.get_attribute("id"))
    assert {"filter-country", "filter-commodity", "filter-reset"} <= reached


def test_embed_route_serves_one_chart(app_url, browser):
    browser.get(app_url + "/embed/risk-by-country?c=GHA")
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .bars"))
    assert "Sites by country" in browser.page_source
    assert browser.execute_script("return document.querySelector('.js-plotly-plot').data[0].x.length") == 1
