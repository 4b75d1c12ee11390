"""Visual check before a stop: the dashboard on the demo and on real data, full-page and per-chart screenshots at
1400, 1024 and 390 px wide, written to a folder outside git. Look at every PNG.

    python scripts/visual_check.py [--out /tmp/visual] [--data ../shared/data] [--large N] [--only-large]

It starts ``python app.py`` twice on free ports (each with a temporary cache): the built-in demo, and
Amazon Mining Watch's 2024 mining polygons with its protected areas (``--sites
amazon_mining_watch/mining_202400_simplified.geojson --protected-areas
amazon_mining_watch/protected_areas_impacts.geojson`` under ``--data``; skipped when absent). For each, at
each width: the full page, the map, each chart, the site detail (a site opened from the table), the table,
the weights panel and the standalone ``/embed/pa-distance`` page; then an area of interest (the demo's Tapajós box,
or the Crepori national forest on real data, where the seven Amazon Mining Watch years are loaded with
``--mining``): the map and the AOI panel, the map with the year slider on 2021, the mining-by-year chart and panel,
and the downloaded AOI report. It also prints the Tab presses from the top of the page to the table.
A first run serves ``--large`` (200,000) synthetic sites from a generated CSV and shoots the map zoomed out
(cells), a cell's hover card, and zoomed in (the sites of the view); ``--only-large`` shoots that run alone.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WIDTHS = {1400: 900, 1024: 768, 390: 844}
CHARTS = ("risk-by-country", "risk-histogram", "pa-distance", "commodity-mix", "mercury-by-country")
REAL = ("amazon_mining_watch/mining_202400_simplified.geojson", "amazon_mining_watch/protected_areas_impacts.geojson")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(args: list[str], cache: Path) -> tuple[subprocess.Popen, str]:
    """``python app.py <args>`` on a free port with its own cache; (process, base URL) once it answers."""
    port = _free_port()
    env = dict(os.environ, ASM_CACHE_DIR=str(cache))
    log = open(cache / "server.log", "w")  # noqa: SIM115 (closed with the process)
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "--port", str(port), *args], cwd=ROOT, env=env, stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the app exited: {(cache / 'server.log').read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/", timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    raise SystemExit("the app did not start within 600 s")


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars"):
        opts.add_argument(flag)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


def _viewport(driver, width: int, height: int) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )


def _ready(driver) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, 120)
    wait.until(lambda d: d.execute_script(
        "const g=document.querySelector('#map-sites .js-plotly-plot'); return g && g._fullData && g._fullData.length > 1"
    ))  # fmt: skip
    wait.until(lambda d: len(d.find_elements("css selector", ".charts .js-plotly-plot")) == len(CHARTS))
    time.sleep(2.5)  # MapLibre draws the land and the overlays


def _element_shot(driver, selector: str, out: Path, block: str = "center") -> None:
    found = driver.find_elements("css selector", selector)
    if found:
        driver.execute_script(f"arguments[0].scrollIntoView({{block: '{block}'}})", found[0])
        time.sleep(0.3)
        found[0].screenshot(str(out))


def _full_page(driver, width: int, out: Path) -> None:
    height = driver.execute_script("return document.documentElement.scrollHeight")
    _viewport(driver, width, min(int(height), 8000))
    time.sleep(1.0)
    driver.save_screenshot(str(out))


def tabs_to_table(driver) -> int:
    """Tab presses from the top of a fresh page until the focus is in the risk table (no skip link used)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    for n in range(1, 300):
        ActionChains(driver).send_keys(Keys.TAB).perform()
        if driver.execute_script("return !!document.activeElement.closest('#table-risk')"):
            return n
    return -1


def shoot(url: str, name: str, out: Path, query: str) -> list[Path]:
    """Every screenshot of one dataset; returns the files written."""
    files: list[Path] = []
    driver = browser()
    try:
        for width, height in WIDTHS.items():
            prefix = out / f"{name}-{width}"
            _viewport(driver, width, height)
            driver.get(url + "/" + query)
            _ready(driver)
            driver.save_screenshot(str(f := Path(f"{prefix}-first-screen.png")))
            files.append(f)
            _element_shot(driver, "#map-region", f := Path(f"{prefix}-map.png"))
            files.append(f)
            for chart in CHARTS:
                _element_shot(driver, f"#chart-{chart}", f := Path(f"{prefix}-chart-{chart}.png"))
                files.append(f)
            rows = driver.find_elements("css selector", "#table-risk .ag-center-cols-container .ag-row .ag-cell")
            if rows:
                driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", rows[0])
                rows[0].click()
                from selenium.webdriver.support.ui import WebDriverWait

                WebDriverWait(driver, 120).until(
                    lambda d: "Nearest protected areas" in d.find_element("id", "detail-site").text
                )
                time.sleep(1.0)
                _element_shot(driver, ".detail", f := Path(f"{prefix}-site-detail.png"))
                files.append(f)
            _element_shot(driver, "#table-region", f := Path(f"{prefix}-table.png"))
            files.append(f)
            # the top of the weights panel (the sidebar scrolls: what fits on the screen from the panel's start)
            _element_shot(
                driver, "section[aria-label='Risk-model weights']", f := Path(f"{prefix}-weights.png"), "start"
            )
            files.append(f)
            _full_page(driver, width, f := Path(f"{prefix}-full-page.png"))
            files.append(f)
            _viewport(driver, width, height)
            driver.get(url + "/embed/pa-distance" + query)
            time.sleep(3)
            driver.save_screenshot(str(f := Path(f"{prefix}-embed-pa-distance.png")))
            files.append(f)
        _viewport(driver, 1400, 900)
        driver.get(url + "/" + query)
        _ready(driver)
        print(f"{name}: {tabs_to_table(driver)} Tab presses from the top of the page to the table (no skip link)")
    finally:
        driver.quit()
    return files


MINING_YEARS = range(2018, 2025)
DEMO_AOI = "aoi=draw:-57.2,-6.2~-55.6,-6.2~-55.6,-4.6~-57.2,-4.6"  # the demo's Tapajós hotspot
REAL_AOI = "aoi=pa:BR561_0"  # Floresta Nacional do Crepori, an Amazon Mining Watch protected area


def _download(driver, button_id: str, folder: Path, timeout: float = 120) -> Path | None:
    """Click a download button and wait for the file (headless Chromium downloads into ``folder``)."""
    folder.mkdir(parents=True, exist_ok=True)
    before = set(folder.iterdir())
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)})
    button = driver.find_element("id", button_id)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    button.click()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = [p for p in set(folder.iterdir()) - before if not p.name.endswith(".crdownload")]
        if new:
            return new[0]
        time.sleep(0.3)
    return None


def shoot_aoi_change(url: str, name: str, out: Path, query: str) -> list[Path]:
    """The area of interest and the mining change: the AOI drawn with its summary panel, the map with the year
    slider on a middle year, the mining-by-year chart and panel, and the AOI report page; at every width."""
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    files: list[Path] = []
    driver = browser()
    try:
        for width, height in WIDTHS.items():
            prefix = out / f"{name}-{width}"
            _viewport(driver, width, height)
            driver.get(url + "/" + query)
            _ready(driver)
            WebDriverWait(driver, 120).until(lambda d: "Sites in view" in d.find_element("id", "aoi-summary").text)
            time.sleep(2.0)
            _element_shot(driver, "#map-region", f := Path(f"{prefix}-aoi-map.png"))
            files.append(f)
            _element_shot(driver, "#aoi-section", f := Path(f"{prefix}-aoi-panel.png"))
            files.append(f)
            thumbs = driver.find_elements("css selector", "#change-year [role='slider']")
            if thumbs and thumbs[0].get_attribute("aria-disabled") != "true":
                driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", thumbs[0])
                thumbs[0].click()
                thumbs[0].send_keys(Keys.ARROW_LEFT, Keys.ARROW_LEFT, Keys.ARROW_LEFT)  # 2024 -> 2021
                time.sleep(2.5)
                _element_shot(driver, "#map-region", f := Path(f"{prefix}-year-2021-map.png"))
                files.append(f)
            _element_shot(driver, "#chart-mining-by-year", f := Path(f"{prefix}-chart-mining-by-year.png"))
            files.append(f)
            _element_shot(driver, "#change-section", f := Path(f"{prefix}-change-panel.png"))
            files.append(f)
            # a folder per width: Chromium overwrites a same-named file, which then never shows up as new
            report = _download(driver, "aoi-report", out / f"{name}-{width}-downloads")
            if report is not None:
                driver.get(report.as_uri())
                time.sleep(3.0)
                driver.save_screenshot(str(f := Path(f"{prefix}-aoi-report-first-screen.png")))
                files.append(f)
                _full_page(driver, width, f := Path(f"{prefix}-aoi-report-full.png"))
                files.append(f)
    finally:
        driver.quit()
    return files


LARGE_CENTRES = ((25.0, -3.0), (-1.5, 7.0), (-60.0, -5.0), (115.0, -1.0))  # fictional clusters


def write_large_sites(path: Path, n: int, seed: int = 2026) -> Path:
    """``n`` synthetic sites (fictional, four clusters) as a CSV the app reads with ``--sites``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    centre = np.asarray(LARGE_CENTRES)[rng.integers(0, len(LARGE_CENTRES), n)]
    lon, lat = centre[:, 0] + rng.normal(0, 3.0, n), centre[:, 1] + rng.normal(0, 3.0, n)
    workers, use = rng.integers(5, 3000, n), rng.choice(["yes", "no", "unknown"], n)
    commodity = rng.choice(["gold", "cassiterite", "coltan"], n, p=[0.7, 0.2, 0.1])
    with open(path, "w") as f:
        f.write("site_id,name,commodity,longitude,latitude,workers,mercury_use\n")
        f.writelines(
            f"s{i},Site {i},{commodity[i]},{lon[i]:.5f},{lat[i]:.5f},{workers[i]},{use[i]}\n" for i in range(n)
        )
    return path


def shoot_large(url: str, name: str, out: Path) -> list[Path]:
    """The map of a large dataset at each width: zoomed out (cells), a cell's hover card, and zoomed in (sites)."""
    files: list[Path] = []
    driver = browser()
    try:
        for width, height in WIDTHS.items():
            prefix = out / f"{name}-{width}"
            _viewport(driver, width, height)
            for label, query in (("cells", "?ov=countries"), ("sites", "?ov=countries&v=28.0,-3.0,8.5")):
                driver.get(url + "/" + query)
                _ready(driver)
                driver.save_screenshot(str(f := Path(f"{prefix}-{label}-first-screen.png")))
                files.append(f)
                _element_shot(driver, "#map-region", f := Path(f"{prefix}-{label}-map.png"))
                files.append(f)
                if label == "cells":  # the hover card of the fullest cell
                    driver.execute_script(
                        "const gd = document.querySelector('#map-sites .js-plotly-plot');"
                        "const t = gd._fullData.findIndex(t => t.meta === 'cells' && t.lon && t.lon.length);"
                        "const c = gd._fullData[t].customdata; let best = 0;"
                        "for (let i = 0; i < c.length; i++) { if (c[i][1] > c[best][1]) { best = i; } }"
                        "Plotly.Fx.hover(gd, [{curveNumber: t, pointNumber: best}], 'map');"
                    )
                    time.sleep(1.0)
                    _element_shot(driver, "#map-region", f := Path(f"{prefix}-cells-hover.png"))
                    files.append(f)
    finally:
        driver.quit()
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    out = Path(tempfile.gettempdir()) / "visual"
    parser.add_argument("--out", type=Path, default=out, help=f"folder for the screenshots (default {out})")
    parser.add_argument(
        "--data",
        type=Path,
        default=ROOT.parent / "shared" / "data",
        help="the shared data folder holding amazon_mining_watch/ (default ../shared/data); demo only without it",
    )
    parser.add_argument("--large", type=int, default=200_000, help="sites of the synthetic large dataset (0: none)")
    parser.add_argument("--only-large", action="store_true", help="shoot the large dataset only")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    runs = [("demo", [], "?c=COD&ov=protected_areas,rainforest,countries", f"?{DEMO_AOI}")]
    sites, pas = (args.data / p for p in REAL)
    if sites.exists() and pas.exists():
        years = [args.data / f"amazon_mining_watch/mining_{y}00_simplified.geojson" for y in MINING_YEARS]
        mining = [a for p in years if p.exists() for a in ("--mining", str(p))]
        runs.append(
            (
                "amazon-mining-watch",
                ["--sites", str(sites), "--protected-areas", str(pas), *mining],
                "?ov=protected_areas,countries",
                f"?ov=protected_areas,countries,mining&{REAL_AOI}",
            )
        )
    else:
        print(f"real data not found under {args.data}: demo only")
    written: list[Path] = []
    if args.large:  # the map at scale: cells zoomed out, sites zoomed in (docs/performance.md)
        with tempfile.TemporaryDirectory(prefix="asm-visual-") as tmp:
            sites_csv = write_large_sites(Path(tmp) / f"sites_{args.large}.csv", args.large)
            proc, url = serve(["--sites", str(sites_csv)], Path(tmp))
            try:
                written += shoot_large(url, f"large-{args.large // 1000}k", args.out)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    for name, app_args, query, aoi_query in [] if args.only_large else runs:
        with tempfile.TemporaryDirectory(prefix="asm-visual-") as tmp:
            proc, url = serve(app_args, Path(tmp))
            try:
                written += shoot(url, name, args.out, query)
                written += shoot_aoi_change(url, name, args.out, aoi_query)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    print(f"{len(written)} screenshots in {args.out}:")
    for f in written:
        print(f"  {f.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
