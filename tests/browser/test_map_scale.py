"""The map at scale in a real browser (headless Chromium): 200,000 synthetic sites served from a sites file.

Zoomed out the map shows cells that count every site; a click on a cell zooms in until the view holds
few enough sites to draw them; a click on a site opens its detail. Every callback response and the page
layout are measured as the browser received them (a fetch hook records their sizes): under 5 MB each.
"""

from __future__ import annotations

import numpy as np
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from dashboard.figures import MAX_MAP_POINTS
from tests.browser.conftest import shown_and_total

N_SITES = 200_000
MAX_BYTES = 5_000_000
CENTRES = ((25.0, -3.0), (-1.5, 7.0), (-60.0, -5.0), (115.0, -1.0))  # fictional clusters

# Recorded before the page's own scripts run: the size of every response the app's fetches receive.
FETCH_HOOK = """
window.__responses = [];
const realFetch = window.fetch;
window.fetch = async function(input, init) {
    const response = await realFetch(input, init);
    const url = typeof input === "string" ? input : input.url;
    response.clone().text().then(t => window.__responses.push({url: url, bytes: t.length,
        body: (init && init.body) ? String(init.body).slice(0, 400) : ""}));
    return response;
};
"""

MAP_STATE = """
const gd = document.querySelector('#map-sites .js-plotly-plot');
if (!gd || !gd._fullData || !gd._fullLayout || !gd._fullLayout.map) { return null; }
const traces = gd._fullData.slice(0, -1);
const kinds = [...new Set(traces.map(t => t.meta))];
const count = traces.reduce((n, t) => n + (t.lon ? t.lon.length : 0), 0);
let sites = 0;
if (kinds.length === 1 && kinds[0] === "cells") {
    for (const t of traces) { if (t.customdata) { for (const row of t.customdata) { sites += row[1]; } } }
}
return {kinds: kinds, markers: count, sites_in_cells: sites, zoom: gd._fullLayout.map.zoom};
"""

# The page position of the fullest cell (or of a site) shown on the map canvas, via MapLibre's projection (the
# server draws a window wider than the screen: markers off the canvas are skipped).
TARGET = """
const gd = document.querySelector('#map-sites .js-plotly-plot');
const m = gd._fullLayout.map._subplot.map;
const rect = m.getCanvas().getBoundingClientRect();
let best = null;
gd._fullData.slice(0, -1).forEach(t => {
    if (!t.lon) { return; }
    for (let i = 0; i < t.lon.length; i++) {
        const p = m.project([t.lon[i], t.lat[i]]);
        if (p.x < 60 || p.y < 60 || p.x > rect.width - 60 || p.y > rect.height - 60) { continue; }
        const w = t.meta === "cells" ? t.customdata[i][1] : 1;
        if (!best || w > best.w) { best = {w: w, x: rect.left + p.x, y: rect.top + p.y, row: t.ids[i]}; }
    }
});
return best;
"""


@pytest.fixture(scope="module")
def big_sites_url(browser_server_factory, tmp_path_factory) -> str:
    rng = np.random.default_rng(2026)
    which = rng.integers(0, len(CENTRES), N_SITES)
    centre = np.asarray(CENTRES)[which]
    lon = np.round(centre[:, 0] + rng.normal(0, 3.0, N_SITES), 5)
    lat = np.round(centre[:, 1] + rng.normal(0, 3.0, N_SITES), 5)
    path = tmp_path_factory.mktemp("big") / "sites_200k.csv"
    workers = rng.integers(5, 3000, N_SITES)
    use = rng.choice(["yes", "no", "unknown"], N_SITES)
    commodity = rng.choice(["gold", "cassiterite", "coltan"], N_SITES, p=[0.7, 0.2, 0.1])
    with open(path, "w") as f:
        f.write("site_id,name,commodity,longitude,latitude,workers,mercury_use\n")
        f.writelines(f"s{i},Site {i},{commodity[i]},{lon[i]},{lat[i]},{workers[i]},{use[i]}\n" for i in range(N_SITES))
    return browser_server_factory("--sites", str(path))


def _map(driver) -> dict | None:
    return driver.execute_script(MAP_STATE)


def _map_answers(driver) -> int:
    """Map figures the server has sent so far (callback responses to a request for the map)."""
    return driver.execute_script(
        "return (window.__responses || []).filter(r => r.url.includes('_dash-update-component')"
        " && r.body.includes('map-sites.figure') && r.bytes > 0).length"
    )


def _click(driver, x: float, y: float) -> None:
    """A real mouse click at page position (x, y): move (plotly picks the marker on hover), press, release."""
    for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
        args = {"type": kind, "x": x, "y": y}
        if kind != "mouseMoved":
            args |= {"button": "left", "clickCount": 1}
        driver.execute_cdp_cmd("Input.dispatchMouseEvent", args)


def test_zoomed_out_cells_then_points_and_a_site_opens(big_sites_url, browser):
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": FETCH_HOOK})
    browser.get(big_sites_url)
    wait = WebDriverWait(browser, 240)
    state = wait.until(lambda d: (s := _map(d)) and s["markers"] > 0 and s)
    assert state["kinds"] == ["cells"], state
    assert shown_and_total(browser) == (N_SITES, N_SITES)
    assert state["sites_in_cells"] == N_SITES  # every site is in one cell
    assert state["markers"] < 5000
    # zoom in by clicking the fullest cell until the map draws sites (each click: two zoom steps)
    for _ in range(6):
        before = _map(browser)
        if before["kinds"] == ["sites"]:
            break
        answers = _map_answers(browser)
        target = browser.execute_script(TARGET)
        _click(browser, target["x"], target["y"])
        wait.until(lambda d, z=before["zoom"]: (s := _map(d)) and s["zoom"] > z + 1.5)  # zoomed in the browser
        wait.until(lambda d, n=answers: _map_answers(d) > n)  # and redrawn by the server for that view
    state = WebDriverWait(browser, 120).until(lambda d: (s := _map(d)) and s["kinds"] == ["sites"] and s)
    assert 0 < state["markers"] <= MAX_MAP_POINTS, state
    # a click on a site opens it
    target = browser.execute_script(TARGET)
    _click(browser, target["x"], target["y"])
    name = f"Site {int(target['row'])}"  # synthetic rows are in file order: row i is site s{i}
    WebDriverWait(browser, 120).until(lambda d: name in d.find_element(By.ID, "detail-site").text)
    # what travelled: the page's layout and every callback response, as the browser received them
    responses = browser.execute_script("return window.__responses")
    updates = [r for r in responses if "_dash-update-component" in r["url"]]
    maps = [r for r in updates if "map-sites.figure" in r["body"]]
    assert maps, [r["body"][:120] for r in updates]
    layout = [r for r in responses if "_dash-layout" in r["url"]]
    for r in layout + updates:
        assert r["bytes"] < MAX_BYTES, (r["url"], r["bytes"], r["body"][:120])
