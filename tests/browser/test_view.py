"""The main view in a real headless Chromium (issue #13: readable charts, click vs map selection, responsive
layout, keyboard, table). One shared demo server; each test opens its own page."""

from __future__ import annotations

import math
import urllib.parse

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import map_point_count, open_app, shown_and_total

pytestmark = pytest.mark.browser

# pixel x of each reference line and of its km value on the axis, and the axis range, as plotly drew them
DISTANCE_AXIS = """
const gd = document.querySelector(arguments[0]);
const ax = gd._fullLayout.xaxis;
const lines = Array.from(gd.querySelectorAll('.shapelayer path')).map(p => {
  const m = /^M([-\\d.]+),/.exec(p.getAttribute('d')); return m ? parseFloat(m[1]) : null; });
const marks = (gd.layout.shapes || []).map(s => s.x0);
return {range: ax.range, type: ax.type, lines: lines,
        expected: marks.map(m => ax._offset + ax.l2p(Math.log10(m))), marks: marks};
"""


def _wait(driver, timeout: float = 40) -> WebDriverWait:
    return WebDriverWait(driver, timeout)


def _check_distance_axis(driver, selector: str) -> None:
    _wait(driver).until(lambda d: d.execute_script(f"return !!document.querySelector({selector!r})?._fullLayout"))
    axis = driver.execute_script(DISTANCE_AXIS, selector)
    assert axis["type"] == "log"
    lo, hi = axis["range"]
    assert lo >= -2.5 and hi <= 4.5, axis["range"]  # 10 m to at most ~30,000 km: a few decades, never 10^-68
    assert axis["marks"] == [1, 5, 10, 25]
    assert len(axis["lines"]) == 4
    for drawn, expected in zip(sorted(axis["lines"]), sorted(axis["expected"]), strict=True):
        assert math.isclose(drawn, expected, abs_tol=1.5), axis  # each line sits at its km on the axis


def test_distance_chart_is_readable_on_the_page_and_in_the_embed(app_url, browser):
    open_app(browser, app_url)
    _check_distance_axis(browser, "#chart-pa-distance .js-plotly-plot")
    # the mercury axis never dips below 0
    lo = browser.execute_script(
        "return document.querySelector('#chart-mercury-by-country .js-plotly-plot')._fullLayout.yaxis.range[0]"
    )
    assert lo >= 0
    browser.get(app_url + "/embed/pa-distance?c=COD")
    _check_distance_axis(browser, ".js-plotly-plot")


def test_shared_link_state_is_kept(app_url, browser):
    open_app(browser, app_url + "/?c=COD")
    shown, total = shown_and_total(browser)
    assert 0 < shown < total
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(browser.current_url).query)["c"] == ["COD"]
    assert browser.find_elements(By.ID, "map-sites")


# the pixel position (relative to the map canvas) of the first drawn site, from MapLibre's projection
SITE_PIXEL = """
const gd = document.querySelector('#map-sites .js-plotly-plot');
const m = gd._fullLayout.map._subplot.map;
const t = gd._fullData.findIndex(t => t.lon && t.lon.length);
const trace = gd._fullData[t];
const canvas = m.getCanvas().getBoundingClientRect();
for (let i = 0; i < trace.lon.length; i++) {
  const p = m.project([trace.lon[i], trace.lat[i]]);
  if (p.x > 60 && p.y > 60 && p.x < canvas.width - 60 && p.y < canvas.height - 60) {
    return {x: p.x, y: p.y, w: canvas.width, h: canvas.height, name: trace.text[i].split('</b>')[0].replace('<b>', '')};
  }
}
return null;
"""


def _click_canvas(driver, x: float, y: float) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    canvas = driver.find_element(By.CSS_SELECTOR, "#map-sites .maplibregl-canvas")
    size = canvas.size
    ActionChains(driver).move_to_element_with_offset(
        canvas, x - size["width"] / 2, y - size["height"] / 2
    ).click().perform()


def _query(driver) -> dict:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(driver.current_url).query)


def test_clicking_a_site_opens_it_and_filters_nothing(app_url, browser):
    open_app(browser, app_url + "/?c=COD")
    before = shown_and_total(browser)
    site = _wait(browser).until(lambda d: d.execute_script(SITE_PIXEL))
    _click_canvas(browser, site["x"], site["y"])  # a real pointer click on the marker
    _wait(browser).until(lambda d: "Nearest protected areas" in d.find_element(By.ID, "detail-site").text)
    _wait(browser).until(lambda d: "site" in _query(d))
    assert shown_and_total(browser) == before  # no one-point "selection"
    assert browser.find_element(By.ID, "map-selection-note").text == ""
    assert "sel" not in _query(browser)
    assert map_point_count(browser) == before[0]
    ring = browser.execute_script(
        "const gd=document.querySelector('#map-sites .js-plotly-plot'); return gd._fullData[gd._fullData.length-1].lon.length"
    )
    assert ring == 1  # highlighted


def _table_row_count(driver) -> int:
    return driver.execute_script(
        "const api = dash_ag_grid.getApi('table-risk'); return api ? api.getDisplayedRowCount() : -1"
    )


def test_box_selection_is_a_visible_clearable_filter_in_the_link(app_url, browser):
    from selenium.webdriver.common.action_chains import ActionChains

    open_app(browser, app_url + "/?c=COD")
    shown, total = shown_and_total(browser)
    browser.find_element(By.CSS_SELECTOR, "#map-sites .modebar-btn[data-title='Box Select']").click()
    site = _wait(browser).until(lambda d: d.execute_script(SITE_PIXEL))
    canvas = browser.find_element(By.CSS_SELECTOR, "#map-sites .maplibregl-canvas")
    w, h = canvas.size["width"], canvas.size["height"]
    x0, y0 = site["x"] - 50 - w / 2, site["y"] - 50 - h / 2  # a 100 px box around a site
    chain = ActionChains(browser).move_to_element_with_offset(canvas, x0, y0).click_and_hold()
    for _ in range(4):
        chain = chain.move_by_offset(25, 25)
    chain.release().perform()
    note = _wait(browser).until(lambda d: d.find_element(By.ID, "map-selection-note").text)
    selected = int(note.split(": ")[1].split(" site")[0].replace(",", ""))
    assert 0 < selected < shown
    _wait(browser).until(lambda d: shown_and_total(d) == (selected, total))
    _wait(browser).until(lambda d: map_point_count(d) == selected)
    # the grid's infinite row model learns the row count (the selection) from the first block's rowCount
    _wait(browser).until(lambda d: _table_row_count(d) == selected)
    bars = browser.execute_script(
        "return document.querySelector('#chart-risk-by-country .js-plotly-plot')._fullData"
        ".reduce((n, t) => n + Array.from(t.y).reduce((a, b) => a + b, 0), 0)"
    )
    assert bars == selected  # the charts hold the same sites
    sel = _query(browser)["sel"][0]
    assert len(sel) < 2500 and sel.count("~") == 3  # a box: four corners
    assert browser.find_element(By.ID, "map-selection-clear").is_displayed()
    # the link restores the selection in a fresh page
    link = browser.current_url
    open_app(browser, link)
    assert shown_and_total(browser) == (selected, total)
    assert "Map selection" in browser.find_element(By.ID, "map-selection-note").text
    # and the clear button removes it
    browser.find_element(By.ID, "map-selection-clear").click()
    _wait(browser).until(lambda d: shown_and_total(d) == (shown, total))
    assert "sel" not in _query(browser)
    assert not browser.find_element(By.ID, "map-selection-clear").is_displayed()


def _viewport(driver, width: int, height: int, mobile: bool = False) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
    )


RECT = (
    "const r = document.querySelector(arguments[0]).getBoundingClientRect(); return [r.top, r.bottom, r.left, r.right];"
)


def _choose_country(driver, name: str) -> None:
    from selenium.webdriver.common.keys import Keys

    driver.find_element(By.ID, "filter-country").click()
    search = _wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, "input.dash-dropdown-search"))
    search.send_keys(name)
    search.send_keys(Keys.ENTER)
    search.send_keys(Keys.ESCAPE)


def test_at_1024x768_the_counter_and_the_map_stay_in_view_after_a_filter_change(app_url, browser):
    _viewport(browser, 1024, 768)
    open_app(browser, app_url)
    _, total = shown_and_total(browser)
    for step in ("country", "inside"):
        if step == "country":
            _choose_country(browser, "Ghana")
        else:
            browser.find_element(By.CSS_SELECTOR, "#filter-pa-mode input[value='inside']").click()
        _wait(browser).until(lambda d: shown_and_total(d)[0] < total)
        height = browser.execute_script("return window.innerHeight")
        top, bottom, _, _ = browser.execute_script(RECT, "#map-count")
        assert top >= 0 and bottom <= height, (step, top, bottom)
        map_top, map_bottom, _, _ = browser.execute_script(RECT, "#map-sites")
        assert map_top >= 0 and min(map_bottom, height) - map_top >= 300, (step, map_top, map_bottom)


def test_at_390px_nothing_scrolls_sideways_and_the_legend_is_clear_of_the_toolbar(app_url, browser):
    _viewport(browser, 390, 844, mobile=True)
    open_app(browser, app_url)
    widths = browser.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth, window.innerWidth]"
    )
    assert widths[0] <= widths[1], widths
    legend = browser.execute_script(RECT, "#map-sites .legend")
    modebar = browser.execute_script(RECT, "#map-sites .modebar")
    overlap = not (
        legend[1] <= modebar[0] or modebar[1] <= legend[0] or legend[3] <= modebar[2] or modebar[3] <= legend[2]
    )
    assert not overlap, (legend, modebar)


def _tabs_until(driver, selector: str, limit: int = 200) -> int:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    for n in range(1, limit + 1):
        ActionChains(driver).send_keys(Keys.TAB).perform()
        if driver.execute_script("return !!document.activeElement.closest(arguments[0])", selector):
            return n
    return limit + 1


def test_a_skip_link_is_first_and_reaches_the_map_and_the_table(app_url, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    open_app(browser, app_url)  # nothing focused yet: the first Tab goes to the first focusable element
    ActionChains(browser).send_keys(Keys.TAB).perform()
    first = browser.switch_to.active_element
    assert first.text == "Skip to the map" and first.is_displayed()  # visible when focused
    first.send_keys(Keys.ENTER)
    assert browser.execute_script("return !!document.activeElement.closest('#map-region')")
    open_app(browser, app_url)
    ActionChains(browser).send_keys(Keys.TAB).send_keys(Keys.TAB).perform()
    link = browser.switch_to.active_element
    assert link.text == "Skip to the table"
    link.send_keys(Keys.ENTER)
    assert browser.execute_script("return document.activeElement.id") == "table-region"
    # from there the quick search, then the grid: 2 Tab presses + Enter + 2 (was about 97 Tab presses)
    assert _tabs_until(browser, "#table-risk", limit=5) <= 2


MERCURY_BOX = "input[id*='\"mercury\"'][id*='weights-box']"


def test_a_weight_box_applies_on_enter_and_refuses_out_of_range_visibly(app_url, browser):
    from selenium.webdriver.common.keys import Keys

    open_app(browser, app_url)
    box = browser.find_element(By.CSS_SELECTOR, MERCURY_BOX)
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys("0.25")
    box.send_keys(Keys.ENTER)  # Enter alone applies it (no Tab, no blur)
    _wait(browser).until(lambda d: _query(d).get("w") == ["mercury:0.25"])
    slider = browser.find_element(By.CSS_SELECTOR, "[id*='\"mercury\"'][id*='weights-weight'] [role=slider]")
    assert slider.get_attribute("aria-valuenow") == "0.25"
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys("5")
    box.send_keys(Keys.ENTER)
    error = _wait(browser).until(
        lambda d: d.find_element(By.CSS_SELECTOR, "[id*='\"mercury\"'][id*='weights-error']").text
    )
    assert "5 is outside 0 to 1" in error and "stays at 0.25" in error
    assert _query(browser).get("w") == ["mercury:0.25"]  # not clamped to 1
    assert slider.get_attribute("aria-valuenow") == "0.25"
    _wait(browser).until(lambda d: d.find_element(By.CSS_SELECTOR, MERCURY_BOX).get_attribute("value") == "0.25")


def test_the_error_bar_clears_after_a_later_success_and_rejected_rows_say_none(app_url, browser, tmp_path):
    open_app(browser, app_url)
    assert not browser.find_element(By.ID, "upload-rejected").is_enabled()  # nothing uploaded, nothing rejected
    bad = tmp_path / "sites.exe"
    bad.write_bytes(b"MZ not a table")
    browser.find_element(By.CSS_SELECTOR, "#upload-sites input[type=file]").send_keys(str(bad))
    _wait(browser).until(lambda d: d.find_element(By.ID, "app-alert").text)
    good = tmp_path / "clean_sites.csv"
    good.write_text("site_id,name,commodity,longitude,latitude\nu1,One,gold,-1.6,6.7\n")
    browser.find_element(By.CSS_SELECTOR, "#upload-sites input[type=file]").send_keys(str(good))
    _wait(browser, 90).until(lambda d: "1 site loaded" in d.find_element(By.ID, "upload-status").text)
    _wait(browser).until(lambda d: d.find_element(By.ID, "app-alert").text == "")
    assert not browser.find_element(By.ID, "app-alert").is_displayed()
    button = browser.find_element(By.ID, "upload-rejected")
    assert not button.is_enabled() and "No rejected rows" in button.get_attribute("title")
    browser.find_element(By.ID, "upload-workspace-reset").click()
    _wait(browser).until(lambda d: shown_and_total(d)[1] > 1000)
