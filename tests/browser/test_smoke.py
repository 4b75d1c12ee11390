"""Open the app in a real browser: the map renders with the demo sites."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

pytestmark = pytest.mark.browser


def test_map_renders_with_sites_and_count(app_url, browser):
    browser.get(app_url)
    wait = WebDriverWait(browser, 60)
    # MapLibre draws into a canvas inside the plotly map container
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#map-sites .maplibregl-canvas")))
    count = wait.until(lambda d: d.find_element(By.ID, "map-count").text or None)
    shown, total = [int(x.replace(",", "")) for x in count.split(" sites")[0].split(" of ")]
    assert shown == total > 1000
    # the site traces carry the points (plotly keeps the data on the graph div)
    n_points = browser.execute_script(
        "const gd = document.querySelector('#map-sites .js-plotly-plot');"
        "return gd.data.reduce((n, t) => n + (t.lon ? t.lon.length : 0), 0);"
    )
    assert n_points == total
    assert "synthetic demo data" in browser.find_element(By.TAG_NAME, "body").text.lower()
