"""A site named with an XSS payload, uploaded in a real headless Chromium: hover card, table and detail panel
show the characters as text, and the payload never runs (``window.__xss`` stays undefined).

Marked ``browser`` (real Chromium, ~20 s): run or skip it with ``-m browser`` / ``-m "not browser"``.
"""

from __future__ import annotations

import contextlib

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import app_url, browser, browser_server_factory, open_app, shown_and_total  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

IMG = '<img src=x onerror="window.__xss=1">'
SCRIPT = "<script>window.__xss=1</script>"
SVG = "<svg onload=window.__xss=1>"
MARKUP = '<b>Bold</b> <a href="https://example.org/">link</a>'  # plotly renders <b> and <a> unless escaped

POINTS = """
const gd = document.querySelector('#map-sites .js-plotly-plot');
return gd._fullData.flatMap((t, c) => t.hoverinfo === 'skip' ? [] : [...Array(t.lon ? t.lon.length : 0).keys()].map(p => [c, p]));
"""
HOVER = """
const gd = document.querySelector('#map-sites .js-plotly-plot');
Plotly.Fx.hover(gd, [{curveNumber: arguments[0], pointNumber: arguments[1]}], 'map');
"""
LABEL = "const l = document.querySelector('#map-sites .hoverlayer'); return l ? l.textContent : '';"


def _hover_labels(driver) -> str:
    """The hover card of every site point (plotly throttles hover events: one at a time, waited for)."""
    labels = []
    for curve, point in driver.execute_script(POINTS):
        previous = driver.execute_script(LABEL)
        driver.execute_script(HOVER, curve, point)
        with contextlib.suppress(TimeoutException):  # two sites with the same card: no change to wait for
            _wait(driver, 5).until(lambda d, prev=previous: (t := d.execute_script(LABEL)) and t != prev)
        labels.append(driver.execute_script(LABEL))
    return "\n".join(labels)


def _wait(driver, timeout: float = 60) -> WebDriverWait:
    return WebDriverWait(driver, timeout)


def test_xss_payload_in_site_names_never_executes(app_url, browser, tmp_path):  # noqa: F811
    open_app(browser, app_url)
    upload = tmp_path / "evil_sites.csv"
    upload.write_text(
        "site_id,name,commodity,longitude,latitude,workers\n"
        f'x1,"{IMG.replace(chr(34), chr(34) * 2)}",gold,-1.6,6.7,120\n'
        f"x2,{SCRIPT},gold,-2.0,6.2,40\n"
        f"x3,{SVG},gold,-1.2,7.0,10\n"
        f'x4,"{MARKUP.replace(chr(34), chr(34) * 2)}",gold,-1.4,6.9,10\n'
    )
    browser.find_element(By.CSS_SELECTOR, "#upload-sites input[type=file]").send_keys(str(upload))
    _wait(browser, 120).until(lambda d: "loaded" in d.find_element(By.ID, "upload-status").text)
    _wait(browser).until(lambda d: shown_and_total(d) == (4, 4))

    # map hover cards: every name is shown as the characters typed (plotly would render <b>/<a> otherwise)
    labels = _hover_labels(browser)
    for name in (IMG, SCRIPT, SVG, MARKUP):
        assert name in labels, (name, labels)
    assert browser.execute_script("return document.querySelectorAll('#map-sites .hoverlayer img').length") == 0

    # table: the names are cell text
    _wait(browser).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#table-risk .ag-row")) >= 3)
    table_text = browser.find_element(By.ID, "table-risk").text
    assert "<script>window.__xss=1</script>" in table_text and "<svg onload" in table_text
    assert (
        browser.execute_script("return document.querySelectorAll('#table-risk img, #table-risk svg[onload]').length")
        == 0
    )

    # detail panel: open each site from its table row
    for site_id, name in (("x1", IMG), ("x2", SCRIPT), ("x3", SVG), ("x4", MARKUP)):
        browser.find_element(By.CSS_SELECTOR, f"#table-risk .ag-row[row-id='{site_id}'] .ag-cell").click()
        _wait(browser).until(lambda d, n=name: n in d.find_element(By.ID, "detail-site").text)
    assert (
        browser.execute_script(
            "return document.querySelectorAll('#detail-site img, #detail-site script, #detail-site a[href^=https]').length"
        )
        == 0
    )

    assert browser.execute_script("return typeof window.__xss") == "undefined"
    assert not [e for e in browser.get_log("browser") if "xss" in e.get("message", "").lower()]
    browser.find_element(By.ID, "upload-workspace-reset").click()
    _wait(browser).until(lambda d: shown_and_total(d)[1] > 3)
