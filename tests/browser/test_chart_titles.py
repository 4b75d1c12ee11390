"""Chart titles fit a phone-wide page in a real headless Chromium (issue #15 stop review): every chart's title
and its "synthetic demo data" line end inside the chart at 390 px, on the page and in an embed."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from dashboard.figures import CHART_NAMES
from dashboard.ids import CHANGE_CHART_NAME, chart
from tests.browser.conftest import open_app

pytestmark = pytest.mark.browser

# the drawn title and subtitle of a plot, and the plot's own box (client px); null until plotly has drawn them
TITLE_BOXES = """
const gd = document.querySelector(arguments[0]);
const svg = gd && gd.querySelector('.main-svg');
const title = gd && gd.querySelector('.gtitle');
if (!svg || !title || !title.textContent) { return null; }
const box = e => { const r = e.getBoundingClientRect(); return [r.left, r.right, r.top, r.bottom]; };
const sub = gd.querySelector('.gtitle-subtitle');
const bar = gd.querySelector('.modebar');
return {plot: box(svg), title: box(title), text: title.textContent,
        subtitle: sub ? box(sub) : null, subtext: sub ? sub.textContent : null, top: gd._fullLayout.margin.t,
        modebar: bar && bar.getBoundingClientRect().width ? box(bar) : null};
"""


def _phone(driver) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}
    )


def _problems(driver, selector: str) -> tuple[list[str], dict]:
    """What is wrong with the title of the plot at ``selector`` (nothing: []), and its boxes."""
    boxes = WebDriverWait(driver, 60).until(lambda d: d.execute_script(TITLE_BOXES, selector))
    left, right, top, _bottom = boxes["plot"]
    problems = [] if right - left <= 390 else [f"the chart is {right - left:.0f} px wide"]
    for part in ("title", "subtitle"):
        if boxes[part] is None:
            problems.append(f"no {part}")
            continue
        p_left, p_right, _p_top, p_bottom = boxes[part]
        if p_left < left or p_right > right - 2:
            problems.append(f"the {part} runs past the chart's edge ({p_right:.0f} > {right - 2:.0f} px)")
        if p_bottom > top + boxes["top"]:
            problems.append(f"the {part} reaches into the plot area")
    if boxes["subtext"] != "synthetic demo data":
        problems.append(f"the subtitle is {boxes['subtext']!r}")
    return problems, boxes


def test_every_chart_title_fits_a_390px_page_and_says_demo(app_url, browser):
    _phone(browser)
    open_app(browser, app_url)
    found = {}
    for name in (*CHART_NAMES, CHANGE_CHART_NAME):
        browser.execute_script("document.getElementById(arguments[0]).scrollIntoView()", chart(name))
        problems, boxes = _problems(browser, f"#{chart(name)} .js-plotly-plot")
        if problems:
            found[name] = (problems, boxes["text"])
    assert not found, found


def _overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]


def test_an_embedded_chart_title_fits_a_phone_and_its_toolbar_leaves_it_clear(app_url, browser):
    _phone(browser)
    browser.get(app_url + "/embed/mercury-by-country")  # the longest title of the linked charts
    problems, boxes = _problems(browser, ".js-plotly-plot")  # laid out at the phone's width (viewport meta)
    assert not problems, (problems, boxes)
    # plotly's toolbar shows over a touched or hovered chart: across the top it covered the title
    ActionChains(browser).move_to_element(browser.find_element(By.CSS_SELECTOR, ".js-plotly-plot")).perform()
    boxes = WebDriverWait(browser, 20).until(
        lambda d: (b := d.execute_script(TITLE_BOXES, ".js-plotly-plot"))["modebar"] and b
    )
    assert not _overlap(boxes["modebar"], boxes["title"]) and not _overlap(boxes["modebar"], boxes["subtitle"]), boxes


# the legend, the x-axis title and tick labels of a plot, and the plot's own box (client px)
LEGEND_BOXES = """
const gd = document.querySelector(arguments[0]);
const svg = gd && gd.querySelector('.main-svg');
const legend = gd && gd.querySelector('.legend rect.bg');  // the legend as drawn (a long one scrolls inside)
const xtitle = gd && gd.querySelector('.xtitle');
if (!svg || !xtitle || !xtitle.textContent) { return null; }
const box = e => { const r = e.getBoundingClientRect(); return [r.left, r.right, r.top, r.bottom]; };
const ticks = [...gd.querySelectorAll('.xtick text')].map(box);
return {plot: box(svg), legend: legend && legend.getBoundingClientRect().height ? box(legend) : null,
        xtitle: box(xtitle), ticks: ticks};
"""


@pytest.mark.parametrize("width", [390, 1400])
def test_no_chart_legend_sits_on_its_axis_title(app_url, browser, width):
    # at 390 px the risk-by-country legend wraps to two rows and its first row lay on "country (ISO3)"
    # (seen in the phone-width screenshot); a legend goes under the axis title and inside the chart
    if width == 390:
        _phone(browser)
    else:
        browser.set_window_size(width, 1000)
    open_app(browser, app_url)
    found, legends = {}, 0
    for name in (*CHART_NAMES, CHANGE_CHART_NAME):
        browser.execute_script("document.getElementById(arguments[0]).scrollIntoView()", chart(name))
        sel = f"#{chart(name)} .js-plotly-plot"
        boxes = WebDriverWait(browser, 60).until(lambda d, s=sel: d.execute_script(LEGEND_BOXES, s))
        if boxes["legend"] is None:
            continue
        legends += 1
        legend = boxes["legend"]
        problems = [f"on the {part}" for part in ("xtitle",) if _overlap(legend, boxes[part])]
        problems += ["on a tick label" for tick in boxes["ticks"] if _overlap(legend, tick)][:1]
        if legend[3] > boxes["plot"][3] + 1 or legend[0] < boxes["plot"][0] - 1:
            problems.append("outside the chart")
        if problems:
            found[name] = (problems, boxes)
    assert legends >= 2  # risk by country and mining by year have one
    assert not found, found
