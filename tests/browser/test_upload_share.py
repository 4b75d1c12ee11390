"""Issue #13 in a real browser: upload messages an analyst can read and act on, and a shared read-only link.

Uploads go through the page's own file inputs; the share link is opened in a second Chromium with a fresh
profile (no localStorage, no cookies), as a colleague would.
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import CHROMEDRIVER, CHROMIUM, open_app, shown_and_total

pytestmark = pytest.mark.browser

IPIS = (
    "vid,pcode,name,longitude,latitude,visit_date,mineral1,mineral2\n"
    "11,codmine00001,Kamituga,28.1794,-3.0612,2019-05-01,Or,\n"
    "12,codmine00002,Misisi,28.9876,-4.5431,2018-01-01,Or,Cassitérite\n"
    "13,codmine00003,Lugushwa,27.75,-1.696243,2020-03-04,Cassitérite,\n"
    "14,codmine00003,Lugushwa,27.75,-1.696243,2019-03-04,Cassitérite,\n"
    "15,codmine00004,Nowhere,,,2020-03-04,Or,\n"
)
PARK = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {
                "WDPAID": 1,
                "NAME": "Test Park",
                "DESIG_ENG": "National Park",
                "IUCN_CAT": "II",
                "STATUS": "Designated",
            },
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[-1.7, 6.6], [-1.5, 6.6], [-1.5, 6.8], [-1.7, 6.8], [-1.7, 6.6]]],
            },
        }
    ],
}

#: whether the map draws the uploaded park (a GeoJSON layer holding a feature named "Test Park")
PARK_DRAWN = (
    "const gd = document.querySelector('#map-sites .js-plotly-plot');"
    "return !!gd && (gd.layout.map.layers || []).some(l => ((l.source || {}).features || [])"
    ".some(f => (f.properties || {}).name === 'Test Park'));"
)


def _wait(driver, timeout: float = 90) -> WebDriverWait:
    return WebDriverWait(driver, timeout)


def _status(driver) -> str:
    return driver.find_element(By.ID, "upload-status").text


def _upload(driver, slot: str, path: Path) -> None:
    driver.find_element(By.CSS_SELECTOR, f"#{slot} input[type=file]").send_keys(str(path))


def _fresh_chromium(profile: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--window-size=1400,1000", f"--user-data-dir={profile}"):  # fmt: skip
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)


def test_an_upload_shows_every_warning_and_the_row_accounting(app_url, browser, tmp_path):
    open_app(browser, app_url)
    ipis = tmp_path / "ipis_drc.csv"
    ipis.write_text(IPIS, encoding="utf-8")
    _upload(browser, "upload-sites", ipis)
    text = _wait(browser).until(lambda d: (t := _status(d)) and "Read 5 rows" in t and t)
    assert "Read 5 rows: 3 sites loaded, 1 earlier visits folded into their site, 1 rejected." in text
    assert "missing coordinate: 1" in text
    assert "IPIS visits: 1 earlier visits folded" in text and "1 of 5 rows rejected" in text
    assert "ipis_drc.csv (sha256 " in text
    _wait(browser).until(lambda d: shown_and_total(d) == (3, 3))
    # uploaded sites on a server without protected areas: said at the top, with how to add one
    header = browser.find_element(By.ID, "app-data-banner").text
    assert "No protected-area layer" in header and "protectedplanet.net" in header
    assert browser.find_element(By.CSS_SELECTOR, ".banner-no-pa").is_displayed()
    # the reload shows the same report (kept in the workspace)
    open_app(browser, app_url)
    _wait(browser).until(lambda d: "Read 5 rows: 3 sites loaded" in _status(d))


def test_no_commodity_column_is_said_and_a_default_commodity_fixes_it(app_url, browser, tmp_path):
    open_app(browser, app_url)
    polygons = tmp_path / "ghana_mining.geojson"
    gpd.GeoDataFrame(
        {"fid_det": [1, 2, 3], "area_ha": [2.5, 4.0, 1.2]},
        geometry=[shapely.box(-1.90 + i / 50, 6.20, -1.89 + i / 50, 6.21) for i in range(3)], crs="EPSG:4326",
    ).to_file(polygons)  # fmt: skip
    _upload(browser, "upload-sites", polygons)
    text = _wait(browser).until(lambda d: (t := _status(d)) and "no commodity column found" in t and t)
    assert "Default commodity" in text and "--default-commodity gold" in text
    # the form is open (the warning asks for it): choose gold for the whole file and apply
    box = browser.find_element(By.CSS_SELECTOR, "[id*='upload-default'][id*='\"commodity\"']")
    box.click()
    search = _wait(browser).until(lambda d: d.find_element(By.CSS_SELECTOR, "input.dash-dropdown-search"))
    search.send_keys("gold")
    search.send_keys(Keys.ENTER)  # a single choice closes the menu
    browser.find_element(By.ID, "upload-apply-columns").click()
    _wait(browser).until(lambda d: "default commodity: gold" in _status(d))
    assert "no commodity column found" not in _status(browser)
    _wait(browser).until(lambda d: "gold" in d.find_element(By.ID, "chart-commodity-mix").text)
    # kept with the workspace: a reload applies it again
    open_app(browser, app_url)
    _wait(browser).until(lambda d: "default commodity: gold" in _status(d))


def test_protected_areas_in_the_sites_slot_are_a_warning_with_the_fix(app_url, browser, tmp_path):
    open_app(browser, app_url)
    parks = tmp_path / "parks.geojson"
    parks.write_text(json.dumps(PARK))
    _upload(browser, "upload-sites", parks)
    text = _wait(browser).until(lambda d: (t := _status(d)) and "looks like protected areas" in t and t)
    assert "Upload protected areas" in text


def test_a_read_only_link_opens_the_same_data_and_view_in_a_fresh_browser(app_url, browser, tmp_path):
    open_app(browser, app_url)
    sites = tmp_path / "ghana_sites.csv"
    sites.write_text("site_id,name,commodity,longitude,latitude\ng1,Alpha,gold,-1.6,6.7\ng2,Beta,gold,-2.0,6.2\n"
                     "g3,Gamma,diamond,-1.1,7.9\n")  # fmt: skip
    parks = tmp_path / "park.geojson"
    parks.write_text(json.dumps(PARK))
    _upload(browser, "upload-sites", sites)
    _wait(browser).until(lambda d: shown_and_total(d) == (3, 3))
    _upload(browser, "upload-protected-areas", parks)
    _wait(browser).until(lambda d: "Protected areas: park.geojson" in _status(d))
    # the areas just given are drawn at once: the overlay is switched on and the map carries them
    pa_box = browser.find_element(By.CSS_SELECTOR, "#map-overlays input[value='protected_areas']")
    _wait(browser).until(lambda d: pa_box.is_selected())
    _wait(browser).until(lambda d: d.execute_script(PARK_DRAWN))
    open_app(browser, app_url + "/?pa=inside&site=g1")
    _wait(browser).until(lambda d: shown_and_total(d) == (1, 3))  # the server's data first, then the workspace
    browser.find_element(By.ID, "share-make").click()
    link = _wait(browser).until(lambda d: d.find_element(By.ID, "share-link").get_attribute("value"))
    token = urllib.parse.urlsplit(link).path.rsplit("/", 1)[-1]
    assert len(token) == 43 and "pa=inside" in link
    colleague = _fresh_chromium(tmp_path / "colleague-profile")
    try:
        colleague.get(link)  # the page first draws the server's data, then the snapshot's
        _wait(colleague).until(lambda d: d.find_element(By.ID, "map-count").text == "1 of 3 sites")
        _wait(colleague).until(lambda d: "Alpha" in d.find_element(By.ID, "detail-site").text)
        assert "Shared snapshot (read-only)" in colleague.find_element(By.ID, "app-data-banner").text
        _wait(colleague).until(lambda d: "read-only shared snapshot" in _status(d))
        assert "ghana_sites.csv (sha256 " in _status(colleague)
        # the owner uploads another file: the colleague's link still shows the snapshot
        other = tmp_path / "other.csv"
        other.write_text("site_id,name,commodity,longitude,latitude\nz9,Zed,gold,10.0,5.0\n")
        open_app(browser, app_url)
        _upload(browser, "upload-sites", other)
        _wait(browser).until(lambda d: shown_and_total(d) == (1, 1))
        colleague.get(link)
        _wait(colleague).until(lambda d: d.find_element(By.ID, "map-count").text == "1 of 3 sites")
        _wait(colleague).until(lambda d: "Shared snapshot" in d.find_element(By.ID, "app-data-banner").text)
        # revoked by its owner: the link opens nothing any more
        _wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".share-list button"))
        browser.find_element(By.CSS_SELECTOR, ".share-list button").click()
        _wait(browser).until(lambda d: "Link revoked" in d.find_element(By.ID, "share-note").text)
        colleague.get(link)
        assert "revoked" in colleague.find_element(By.TAG_NAME, "body").text
        severe = [e for e in colleague.get_log("browser") if e.get("level") == "SEVERE" and "404" not in e["message"]]
        assert not severe, severe
    finally:
        colleague.quit()
