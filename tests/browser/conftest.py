"""Real-browser fixtures: the app served by a real process, driven by Debian's headless Chromium.

Every test fails on browser console errors (SEVERE), and saves a screenshot and the
page source under test-artifacts/ when it fails.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report


@pytest.fixture(scope="session")
def browser_server_factory(tmp_path_factory):
    """Start ``python app.py`` (a real server process) with given extra args; stopped at session end."""
    procs: list[subprocess.Popen] = []

    def start(*args: str, env_extra: dict | None = None) -> str:
        port = _free_port()
        cache = tmp_path_factory.mktemp("browser-cache")
        env = dict(os.environ, ASM_CACHE_DIR=str(cache), PYTHONUNBUFFERED="1")
        env.update(env_extra or {})
        log = open(cache / "server.log", "w")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), "--port", str(port), *args],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"server exited with {proc.returncode}: {(cache / 'server.log').read_text()[-3000:]}"
                )
            try:
                with urllib.request.urlopen(url + "/", timeout=2) as r:
                    if r.status == 200:
                        return url
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"server did not answer within 180 s: {(cache / 'server.log').read_text()[-3000:]}")

    yield start
    for p in procs:
        p.terminate()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()


@pytest.fixture(scope="session")
def app_url(browser_server_factory) -> str:
    """The dashboard on the built-in demo data."""
    return browser_server_factory()


@pytest.fixture
def browser(request, tmp_path):
    """Headless Chromium via chromedriver; fails the test on console errors."""
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip("Debian chromium and chromium-driver are not installed (scripts/install_browser.sh installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--window-size=1400,1000", f"--user-data-dir={tmp_path / 'chrome-profile'}",
    ):  # fmt: skip
        opts.add_argument(flag)
    download_dir = tmp_path / "downloads"
    download_dir.mkdir()
    opts.add_experimental_option(
        "prefs", {"download.default_directory": str(download_dir), "download.prompt_for_download": False}
    )
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(download_dir)})
    driver.download_dir = download_dir
    driver.set_page_load_timeout(60)
    yield driver
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    console_errors = []
    try:
        console_errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    except Exception:
        console_errors = []
    if failed or console_errors:
        ARTIFACTS.mkdir(exist_ok=True)
        name = request.node.name.replace("/", "_")
        driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))
        (ARTIFACTS / f"{name}.html").write_text(driver.page_source)
    driver.quit()
    if console_errors and not failed:
        pytest.fail(f"browser console errors: {console_errors}")


# --- helpers shared by the browser tests -------------------------------------------------------------
COUNT_ID = "map-count"


def shown_and_total(driver) -> tuple[int, int]:
    """The 'N of M sites' counter as two integers."""
    text = driver.find_element("id", COUNT_ID).text  # "1,234 of 3,000 sites", "1 of 1 site"
    shown, total = (int(x.replace(",", "")) for x in text.split(" site")[0].split(" of "))
    return shown, total


def map_point_count(driver) -> int:
    """Points drawn by the map's site traces (plotly's full data; the last trace is the selection ring)."""
    return driver.execute_script(
        "const gd = document.querySelector('#map-sites .js-plotly-plot');"
        "if (!gd || !gd._fullData) { return -1; }"
        "return gd._fullData.slice(0, -1).reduce((n, t) => n + (t.lon ? t.lon.length : 0), 0);"
    )


def open_app(driver, url: str, timeout: float = 60) -> None:
    """Load a page of the app and wait until the map has drawn the sites and the counter agrees."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    wait = WebDriverWait(driver, timeout)
    wait.until(lambda d: d.find_element("id", COUNT_ID).text)
    wait.until(lambda d: map_point_count(d) == shown_and_total(d)[0])


def wait_for_downloads(directory: Path, n: int, timeout: float = 60) -> list[Path]:
    """The ``n`` finished files in the browser's download directory (waits for them)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        files = [p for p in directory.iterdir() if not p.name.endswith((".crdownload", ".tmp"))]
        partial = [p for p in directory.iterdir() if p.name.endswith(".crdownload")]
        if len(files) >= n and not partial:
            return sorted(files)
        time.sleep(0.25)
    raise AssertionError(f"expected {n} downloads in {directory}, found {sorted(p.name for p in directory.iterdir())}")
