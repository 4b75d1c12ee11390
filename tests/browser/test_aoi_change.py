"""Areas of interest and mining by year in a real headless Chromium (issue #14): drawing an AOI with a real box
drag on the map, its summary, link and report; playing the years over the map's footprint layers; the AOI
report opened from disk with the network off."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import urllib.parse
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import ROOT, map_point_count, open_app, shown_and_total, wait_for_downloads

pytestmark = pytest.mark.browser

SITE_PIXEL = """
const gd = document.querySelector('#map-sites .js-plotly-plot');
const m = gd._fullLayout.map._subplot.map;
const t = gd._fullData.findIndex(t => t.lon && t.lon.length);
const trace = gd._fullData[t];
const canvas = m.getCanvas().getBoundingClientRect();
for (let i = 0; i < trace.lon.length; i++) {
  const p = m.project([trace.lon[i], trace.lat[i]]);
  if (p.x > 90 && p.y > 90 && p.x < canvas.width - 90 && p.y < canvas.height - 90) { return {x: p.x, y: p.y}; }
}
return null;
"""
MINING_LAYERS = """
const gd = document.querySelector('#map-sites .js-plotly-plot');
return (gd.layout.map.layers || []).filter(l => (l.name || '').indexOf('mining-') === 0)
  .map(l => [Number(l.name.slice(7)), l.visible !== false, l.color]);
"""


def _wait(driver, timeout: float = 60) -> WebDriverWait:
    return WebDriverWait(driver, timeout)


def _query(driver) -> dict:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(driver.current_url).query)


def _drag_box(driver, x: float, y: float, half: float = 70) -> None:
    """A real pointer drag of a box around (x, y) on the map's canvas (pixels from its top left)."""
    from selenium.webdriver.common.action_chains import ActionChains

    driver.find_element(By.CSS_SELECTOR, "#map-sites .modebar-btn[data-title='Box Select']").click()
    canvas = driver.find_element(By.CSS_SELECTOR, "#map-sites .maplibregl-canvas")
    w, h = canvas.size["width"], canvas.size["height"]
    chain = ActionChains(driver).move_to_element_with_offset(canvas, x - half - w / 2, y - half - h / 2)
    chain = chain.click_and_hold()
    for _ in range(7):
        chain = chain.move_by_offset(2 * half / 7, 2 * half / 7)
    chain.release().perform()


def test_drawing_an_aoi_filters_everything_and_travels_in_the_link(app_url, browser):
    open_app(browser, app_url + "/?c=BRA")
    shown, total = shown_and_total(browser)
    browser.execute_script("document.getElementById('aoi-section').scrollIntoView()")
    browser.find_element(By.CSS_SELECTOR, "#aoi-draw-mode input[value='aoi']").click()
    browser.execute_script("document.getElementById('map-region').scrollIntoView()")
    site = _wait(browser).until(lambda d: d.execute_script(SITE_PIXEL))
    _drag_box(browser, site["x"], site["y"])
    _wait(browser).until(lambda d: "aoi" in _query(d))
    ref = _query(browser)["aoi"][0]
    assert ref.startswith("draw:") and ref.count("~") == 3 and "sel" not in _query(browser)  # an AOI, no selection
    note = _wait(browser).until(lambda d: d.find_element(By.ID, "aoi-note").text)
    n = int(note.split(": ")[1].split(" site")[0].replace(",", ""))
    assert 0 < n < shown
    _wait(browser).until(lambda d: shown_and_total(d) == (n, total))
    _wait(browser).until(lambda d: map_point_count(d) == n)  # the map, the charts and the table hold the AOI's sites
    bars = browser.execute_script(
        "return document.querySelector('#chart-risk-by-country .js-plotly-plot')._fullData"
        ".reduce((k, t) => k + Array.from(t.y).reduce((a, b) => a + b, 0), 0)"
    )
    assert bars == n
    grid = "const a = dash_ag_grid.getApi('table-risk'); return a ? a.getDisplayedRowCount() : -1"
    _wait(browser).until(lambda d: d.execute_script(grid) in (min(n, 100), n))  # the grid's first block, or all rows
    summary = browser.find_element(By.ID, "aoi-summary").text
    assert "Sites in view" in summary and "Protected areas touched" in summary and "kg/yr" in summary
    layers = browser.execute_script(
        "return document.querySelector('#map-sites .js-plotly-plot').layout.map.layers.map(l => l.name || '')"
    )
    assert "aoi" in layers and "aoi-buffer" in layers  # drawn with its buffer
    # the buffer is part of the link: 25 km takes in at least as many sites
    browser.execute_script("document.getElementById('aoi-section').scrollIntoView()")
    thumb = browser.find_element(By.CSS_SELECTOR, "#aoi-km [role='slider']")
    thumb.click()
    thumb.send_keys(*([Keys.ARROW_RIGHT] * 15))  # 10 -> 25 km from the keyboard
    _wait(browser).until(lambda d: _query(d).get("aoikm") == ["25"])
    _wait(browser).until(lambda d: shown_and_total(d)[0] >= n and d.find_element(By.ID, "aoi-note").text != note)
    wider = shown_and_total(browser)[0]
    # the AOI report downloads (the same HTML as the CLI's) and holds the same sites
    browser.find_element(By.ID, "aoi-report").click()
    (report,) = wait_for_downloads(browser.download_dir, 1)
    text = report.read_text(encoding="utf-8")
    from reports.aoi_report import report_site_count

    assert report.suffix == ".html" and report_site_count(text) == wider
    # a fresh page from the link shows the same AOI and counts; clearing it brings every site back
    link = browser.current_url
    open_app(browser, link)
    _wait(browser).until(lambda d: shown_and_total(d) == (wider, total))
    assert "Area of interest:" in browser.find_element(By.ID, "aoi-note").text
    browser.execute_script("document.getElementById('aoi-clear').scrollIntoView({block: 'center'})")
    browser.find_element(By.ID, "aoi-clear").click()
    _wait(browser).until(lambda d: shown_and_total(d) == (shown, total))
    assert "aoi" not in _query(browser)


def test_picking_a_protected_area_as_the_aoi(app_url, browser):
    open_app(browser, app_url)
    browser.execute_script("document.getElementById('aoi-section').scrollIntoView()")
    browser.find_element(By.ID, "aoi-pick-pa").click()
    search = _wait(browser).until(lambda d: d.find_element(By.CSS_SELECTOR, "input.dash-dropdown-search"))
    search.send_keys("National Park")
    options = _wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, "label.dash-dropdown-option"))
    assert all("National Park" in o.text for o in options)  # matched on the server as the user types
    options[0].click()
    _wait(browser).until(lambda d: "aoi" in _query(d))
    assert _query(browser)["aoi"][0].startswith("pa:")
    text = _wait(browser).until(lambda d: d.find_element(By.ID, "aoi-summary").text)
    _wait(browser).until(lambda d: "100.0" in d.find_element(By.ID, "aoi-summary").text)  # the park: 100 % of it
    assert "National Park" in text


def test_playing_the_years_restyles_the_footprints_on_the_map(app_url, browser):
    open_app(browser, app_url)
    layers = _wait(browser).until(lambda d: d.execute_script(MINING_LAYERS))
    years = [y for y, _, _ in layers]
    assert years == list(range(2018, 2025)) and all(visible for _, visible, _ in layers)
    chart = browser.execute_script(
        "return document.querySelector('#chart-mining-by-year .js-plotly-plot')._fullData.filter(t => t.type === 'bar').length"
    )
    assert chart >= 3  # stacked by country
    # a middle year with the keyboard: later years hidden, the year itself highlighted
    handle = browser.find_element(By.CSS_SELECTOR, "#change-year [role='slider']")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", handle)
    handle.click()
    for _ in range(3):
        handle.send_keys(Keys.ARROW_LEFT)
    _wait(browser).until(lambda d: [v for _, v, _ in d.execute_script(MINING_LAYERS)] == [True] * 4 + [False] * 3)
    colours = {y: c for y, _, c in browser.execute_script(MINING_LAYERS)}
    assert colours[2021] != colours[2020] and colours[2020] == colours[2018]
    # Play runs from there to the last year, one step a tick, then stops. The browser records the last year
    # shown after every restyle of the map (polling from here can miss a 1.5 s step on a loaded machine).
    browser.execute_script(
        "const gd = document.querySelector('#map-sites .js-plotly-plot'); window.__shownYears = [];"
        "gd.on('plotly_relayout', function(update) {"  # the restyle's own update, not the layout since
        "  const layers = gd.layout.map.layers || []; const shown = [];"
        "  Object.keys(update || {}).forEach(function(key) {"
        "    const m = /^map\\.layers\\[(\\d+)\\]\\.visible$/.exec(key);"
        "    const name = m ? (layers[Number(m[1])].name || '') : '';"
        "    if (m && update[key] && name.indexOf('mining-') === 0) { shown.push(Number(name.slice(7))); }"
        "  });"
        "  if (shown.length) { window.__shownYears.push(Math.max.apply(null, shown)); }"
        "});"
    )
    browser.find_element(By.ID, "change-play").click()
    _wait(browser, 90).until(
        lambda d: (
            (d.execute_script("return window.__shownYears") or [None])[-1] == 2024
            and d.find_element(By.ID, "change-play").text == "Play"
        )
    )
    shown = browser.execute_script("return window.__shownYears")
    steps = [y for i, y in enumerate(shown) if i == 0 or y != shown[i - 1]]  # other relayouts repeat a year
    # one year a tick, in order, from the year shown (Play may first apply that year again)
    assert steps[steps[0] == 2021 :] == [2022, 2023, 2024], shown
    assert all(v for _, v, _ in browser.execute_script(MINING_LAYERS))
    # the chart marks the year shown
    widths = browser.execute_script(
        "return document.querySelector('#chart-mining-by-year .js-plotly-plot')._fullData"
        ".filter(t => t.type === 'bar')[0].marker.line.width"
    )
    assert widths[-1] > 0 and widths[0] == 0


def test_the_aoi_report_opens_offline(browser, tmp_path):
    """The CLI's report from disk with the network switched off: it draws its map, tables and charts, and asks
    for nothing."""
    data = ROOT.parent / "shared" / "data" / "amazon_mining_watch"
    if not data.is_dir():
        pytest.skip("../shared/data is absent")
    aoi = tmp_path / "aoi.geojson"
    gpd.GeoDataFrame(
        {"name": ["test concession"]}, geometry=[shapely.box(-57.0, -6.5, -56.0, -5.5)], crs="EPSG:4326"
    ).to_file(aoi)
    out = tmp_path / "report.html"
    r = subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "screen", "--aoi", str(aoi), "--sites",
         str(data / "mining_202400_simplified.geojson"), "--protected-areas", str(data / "protected_areas_impacts.geojson"),
         "--out", str(out), "--no-progress"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0},
    )
    browser.get(out.as_uri())
    _wait(browser).until(lambda d: d.execute_script("return document.readyState") == "complete")
    drawn = _wait(browser).until(
        lambda d: d.execute_script(
            "const gd = document.querySelector('.js-plotly-plot'); return gd && gd._fullData ? gd._fullData.length : 0"
        )
    )
    assert drawn >= 5  # land, protected areas, the AOI, its buffer, sites by class
    requested = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith('file:') && !n.startsWith('data:') && !n.startsWith('blob:'))"
    )
    assert requested == []
    assert "Protected areas the area of interest intersects" in browser.find_element(By.TAG_NAME, "body").text
    assert (
        json.loads(
            browser.execute_script(
                "return JSON.stringify(document.querySelectorAll('script[src], link[href], img[src]').length)"
            )
        )
        == 0
    )
    # on a phone (390 px) nothing runs off the side: long links wrap, wide tables scroll inside themselves
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": False}
    )
    _wait(browser).until(lambda d: d.execute_script("return window.innerWidth") == 390)
    # the charts are responsive: plotly redraws them on the window's resize event (debounced), so the page narrows a
    # moment after the viewport does; wait for it rather than read the width mid-redraw (CI saw 1,216 px there)
    try:
        _wait(browser, 20).until(lambda d: d.execute_script("return document.documentElement.scrollWidth") <= 390)
    except TimeoutException:
        pytest.fail(
            f"the report is {browser.execute_script('return document.documentElement.scrollWidth')} px wide at 390 px"
        )
    out.unlink()
    assert not Path(out).exists()


def test_the_aoi_panel_fits_a_phone_width(app_url, browser):
    """The protected-areas table of the AOI panel scrolls inside itself at 390 px (it pushed the page to 444 px)."""
    open_app(browser, app_url)
    browser.execute_script("document.getElementById('aoi-section').scrollIntoView()")
    browser.find_element(By.ID, "aoi-pick-pa").click()
    search = _wait(browser).until(lambda d: d.find_element(By.CSS_SELECTOR, "input.dash-dropdown-search"))
    search.send_keys("National Park")
    _wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, "label.dash-dropdown-option"))[0].click()
    _wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".aoi-pa-table td"))
    browser.set_window_size(390, 1000)
    _wait(browser).until(lambda d: d.execute_script("return window.innerWidth") == 390)
    widths = "return [document.documentElement.clientWidth, document.documentElement.scrollWidth]"
    with contextlib.suppress(TimeoutException):  # the charts redraw at the new width after a moment
        _wait(browser, 20).until(lambda d: (w := d.execute_script(widths))[1] <= w[0])
    width, scroll = browser.execute_script(widths)
    assert scroll <= width, f"the page is {scroll} px wide in a {width} px viewport"


def test_an_uploaded_aoi_with_a_long_file_name_stays_inside_its_card(app_url, browser, tmp_path):
    """The 'Area of interest' card named the uploaded file, and a long name with no space
    (indigenous_territories_impacts.geojson) ran past the card's edge at 1024 px."""
    path = tmp_path / "indigenous_territories_impacts_of_the_tapajos_basin.geojson"
    gpd.GeoDataFrame(
        {"name": ["Territory North", "Territory South"]},
        geometry=[shapely.box(-57.2, -5.4, -55.6, -4.6), shapely.box(-57.2, -6.2, -55.6, -5.4)],
        crs="EPSG:4326",
    ).to_file(path)
    browser.set_window_size(1024, 1000)
    try:
        open_app(browser, app_url)
        browser.find_element(By.CSS_SELECTOR, "#aoi-upload input[type=file]").send_keys(str(path))
        _wait(browser).until(lambda d: "Sites in view" in d.find_element(By.ID, "aoi-summary").text)
        text = browser.find_element(By.ID, "aoi-summary").text
        assert "indigenous_territories_impacts_of_the_tapajos_basin.geojson" in text
        assert "area of interest" in text and "Territory North" in text  # each PA row says its AOI feature
        overflow = browser.execute_script(
            "return Array.from(document.querySelectorAll('#aoi-summary .aoi-key'))"
            ".filter(k => k.scrollWidth > k.clientWidth + 1).map(k => k.innerText.slice(0, 40))"
        )
        assert overflow == []
    finally:
        browser.set_window_size(1400, 1000)
