"""Risk model 2.0 on screen, in headless Chromium: the score's band in the table and the site detail, the
receptors assessed, and receptors not assessed said in the weights panel, the table and the detail."""

from __future__ import annotations

import re

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import open_app

pytestmark = pytest.mark.browser

RISK_CELL = re.compile(r"^\d{1,3}\.\d( \(\d{1,3}–\d{1,3}\))?( \*)?$")  # "61.6 (48–75)", "10.4", "… *"
PERCENT = re.compile(r"^(<1|>99|\d{1,3})%$")


def _wait(driver, timeout: float = 60) -> WebDriverWait:
    return WebDriverWait(driver, timeout)


def _cells(driver, field: str) -> list[str]:
    """The text of a grid column's rendered cells, top row first."""
    from selenium.common.exceptions import StaleElementReferenceException

    try:
        rows = driver.find_elements(By.CSS_SELECTOR, "#table-risk .ag-center-cols-container .ag-row")
        rows = sorted(rows, key=lambda r: int(r.get_attribute("row-index") or 0))
        return [r.find_element(By.CSS_SELECTOR, f"[col-id='{field}']").text for r in rows]
    except StaleElementReferenceException:  # the grid was rebuilt mid-read
        return []


def _open_first_row(driver) -> str:
    row = _wait(driver).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#table-risk .ag-center-cols-container .ag-row[row-index='0']")
    )[0]
    site_id = row.get_attribute("row-id")
    row.find_element(By.CSS_SELECTOR, "[col-id='name']").click()
    return _wait(driver).until(lambda d: (t := d.find_element(By.ID, "detail-site").text) and site_id in t and t)


def test_a_site_opened_from_the_table_shows_its_band_and_the_receptors_assessed(app_url, browser):
    open_app(browser, app_url)
    risk = _wait(browser).until(lambda d: (c := _cells(d, "risk_0_100")) and c[0] and c)
    assert all(RISK_CELL.match(t) for t in risk if t), risk[:5]
    assert any("(" in t for t in risk), "no score of the first block shows a band"
    assert not any(t.endswith("*") for t in risk)  # the demo has every receptor layer
    p_high = _cells(browser, "p_high_or_above")
    assert p_high and all(PERCENT.match(t) for t in p_high if t), p_high[:5]
    assert set(_cells(browser, "score_complete")) <= {"yes", ""}
    first_class = browser.find_element(
        By.CSS_SELECTOR, "#table-risk .ag-center-cols-container .ag-row[row-index='0'] [col-id='risk_class']"
    )
    assert f"risk-{first_class.text.replace(' ', '-')}" in first_class.get_attribute("class")  # class colour
    detail = _open_first_row(browser)
    assert re.search(r"\d+\.\d/100", detail)
    assert "90% range" in detail or "no range" in detail
    assert "Chance of class high or very high" in detail
    assert "Practices" in detail and "Receptors" in detail
    assert "protected areas, rainforest, coral reefs, arctic, rivers and lakes" in detail
    assert "Not assessed" not in detail and "Partial score" not in detail
    assert browser.find_elements(By.CSS_SELECTOR, "#detail-waterfall .js-plotly-plot")
    panel = browser.find_element(By.ID, "weights-not-assessed").text
    assert "Every receptor with a weight is assessed for every site." in panel
    assert browser.find_element(By.ID, "weight-mercury_air-label").text == "Mercury to air (global)"


def test_layers_not_loaded_are_not_assessed_in_the_panel_the_table_and_the_detail(
    browser_server_factory, browser, tmp_path_factory
):
    sites = tmp_path_factory.mktemp("risk-view") / "sites_only.csv"
    sites.write_text(
        "site_id,name,commodity,longitude,latitude,workers,mercury_use,amalgamation,retort\n"
        "g1,Camp one,gold,-1.6,6.7,1200,yes,whole_ore,no\n"
        "g2,Camp two,gold,-2.0,6.2,40,yes,concentrate,yes\n"
        "g3,Pit three,cassiterite,28.8,-2.5,15,no,none,no\n"
    )
    url = browser_server_factory("--sites", str(sites))  # no protected areas, rainforest, reefs or water
    open_app(browser, url)
    panel = browser.find_element(By.ID, "weights-not-assessed").text
    for receptor in ("protected areas", "rainforest", "coral reefs", "rivers and lakes"):
        assert f"{receptor}: no layer loaded" in panel
    assert "arctic" not in panel.lower()  # the Arctic needs no file: assessed
    assert "not comparable" in panel
    risk = _wait(browser).until(lambda d: (c := _cells(d, "risk_0_100")) and all(c) and len(c) == 3 and c)
    assert all(t.endswith(" *") for t in risk), risk
    complete = _cells(browser, "score_complete")
    assert all(t.startswith("partial: protected areas, rainforest, coral reefs, rivers and lakes") for t in complete)
    detail = _open_first_row(browser)
    assert "Camp one" in detail  # the largest mercury user ranks first
    assert "Not assessed" in detail and "Partial score: protected areas, rainforest" in detail
    assert "whole-ore amalgamation, no retort" in detail and "90% range" in detail
