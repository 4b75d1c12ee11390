"""axe-core (npm, pinned in tests/browser/axe/package-lock.json) run in headless Chromium on the page in its
main states: the demo, a filtered view, a site's detail open, the uploads panel after an upload. No critical
or serious WCAG 2.0/2.1 A/AA violation may remain, whichever component causes it (issue #13, item 10)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import open_app

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
RUN_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']})
  .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: ' + n.failureSummary.slice(0, 200)),
      count: v.nodes.length}))))
  .catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: [], count: 1}]));
"""


def axe_violations(driver) -> list[dict]:
    """Critical and serious violations on the current page (axe-core injected into it)."""
    if not AXE.exists():
        pytest.skip("axe-core is not installed: run scripts/install_browser.sh (npm ci in tests/browser/axe)")
    driver.set_script_timeout(120)
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    found = driver.execute_async_script(RUN_AXE)
    return [v for v in found if v["impact"] in ("critical", "serious")]


def _assert_clean(driver, state: str) -> None:
    bad = axe_violations(driver)
    assert not bad, f"{state}: " + json.dumps(bad, indent=1)


def _wait(driver, timeout: float = 60) -> WebDriverWait:
    return WebDriverWait(driver, timeout)


def test_the_demo_page_has_no_serious_violation(app_url, browser):
    open_app(browser, app_url)
    _wait(browser).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#table-risk .ag-row")) >= 5)
    _assert_clean(browser, "demo")


def test_a_filtered_view_with_a_site_open_has_no_serious_violation(app_url, browser):
    open_app(browser, app_url + "/?c=COD&pa=near&r=high,very+high")
    _assert_clean(browser, "filtered")
    open_app(browser, app_url + "/?c=COD&site=demo-COD-0001")
    _wait(browser).until(lambda d: "Nearest protected areas" in d.find_element(By.ID, "detail-site").text)
    _assert_clean(browser, "site detail")


def test_the_uploads_panel_after_an_upload_has_no_serious_violation(app_url, browser, tmp_path):
    open_app(browser, app_url)
    good = tmp_path / "a11y_sites.csv"
    good.write_text("site_id,name,commodity,longitude,latitude\nu1,One,gold,-1.6,6.7\nbad,Bad,gold,-1,95\n")
    browser.find_element(By.CSS_SELECTOR, "#upload-sites input[type=file]").send_keys(str(good))
    _wait(browser, 90).until(lambda d: "loaded" in d.find_element(By.ID, "upload-status").text)
    _assert_clean(browser, "uploads")
    browser.find_element(By.ID, "upload-workspace-reset").click()
