"""Save docs/screenshot.png: the dashboard on the built-in demo data, in headless Chromium.

    python scripts/screenshot.py [--url http://127.0.0.1:8050/?c=COD] [--out docs/screenshot.png]

Without --url it starts ``python app.py`` on a free port (demo data in a temporary cache)
and stops it afterwards.
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
DEFAULT_VIEW = "/?c=COD&ov=protected_areas,rainforest,countries&site=demo-COD-0001"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(cache: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = dict(os.environ, ASM_CACHE_DIR=str(cache))
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(port)], cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/", timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    raise SystemExit("the app did not start within 180 s")


def take(url: str, out: Path, width: int = 1400, height: int = 900) -> None:
    """Open ``url``, wait for the map, the table and the detail, and save a PNG."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--window-size={width},{height}",
        "--hide-scrollbars",
    ):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        driver.get(url)
        wait = WebDriverWait(driver, 60)
        wait.until(lambda d: d.execute_script(
            "const g=document.querySelector('#map-sites .js-plotly-plot'); return g && g._fullData && g._fullData.length > 1"
        ))  # fmt: skip
        wait.until(lambda d: "Nearest protected areas" in d.find_element("id", "detail-site").text)
        time.sleep(2.5)  # let MapLibre finish drawing the polygons
        out.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(out))
    finally:
        driver.quit()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="an already running dashboard (with the view to show)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot.png")
    args = parser.parse_args()
    if args.url:
        take(args.url, args.out)
        return 0
    with tempfile.TemporaryDirectory(prefix="asm-shot-") as tmp:
        proc, url = _serve(Path(tmp))
        try:
            take(url + DEFAULT_VIEW, args.out)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
