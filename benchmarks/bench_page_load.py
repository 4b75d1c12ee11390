"""Benchmark: time from navigation to a usable page and a painted map, in headless Chromium.

Starts ``python app.py`` on the demo data (a real server process), opens the page in Debian's
headless Chromium (software WebGL: no GPU here), and reports, per visit:
- dom_s: DOMContentLoaded (the controls respond from here on);
- map_s: the map has drawn its site markers (MapLibre's ``idle`` after the traces are added);
- count_s: the "N of M sites" count is shown (all first callbacks answered).
The first visit has a cold browser cache; later visits are warm. Each row also gives the 1-minute
load average when the visit started (the machine is shared: compare runs made side by side), and
which plotly.js the page ran (the partial bundle from assets/vendor, or Dash's full one).

Before/after in one session: ``--root`` serves another checkout of the project (e.g. an exported
``git archive`` of the previous commit) with this script's browser settings.

Usage: .venv/bin/python benchmarks/bench_page_load.py [--visits 4] [--root DIR]
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

WAIT_MAP = """
const done = arguments[arguments.length - 1];
const t0 = performance.timing.navigationStart;
function check() {
  const gd = document.querySelector('#map-sites .js-plotly-plot');
  const sub = gd && gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
  const n = gd && gd._fullData ? gd._fullData.reduce((k, t) => k + (t.lon ? t.lon.length : 0), 0) : 0;
  if (sub && sub.map && n > 0 && sub.map.loaded() && !sub.map.isMoving()) {
    sub.map.once('idle', () => done(Date.now() - t0));
    sub.map.triggerRepaint();
  } else { setTimeout(check, 20); }
}
check();
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--visits", type=int, default=4)
    ap.add_argument("--root", type=Path, default=ROOT, help="project checkout to serve (default: this one)")
    args = ap.parse_args()
    root = args.root.resolve()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cache = tempfile.mkdtemp(prefix="asm-bench-page-")
    env = dict(os.environ, ASM_CACHE_DIR=cache)
    server = subprocess.Popen([sys.executable, str(root / "app.py"), "--port", str(port)], cwd=root, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(url, timeout=2).close()
                break
            except OSError:
                time.sleep(0.5)
        opts = webdriver.ChromeOptions()
        opts.binary_location = "/usr/bin/chromium"
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--window-size=1400,1000",
                     f"--user-data-dir={tempfile.mkdtemp(prefix='asm-chrome-')}"):  # fmt: skip
            opts.add_argument(flag)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
        driver.set_script_timeout(60)
        print(f"serving {root}")
        print("| visit | cache | load avg | DOMContentLoaded s | count shown s | map painted s | plotly.js |")
        print("|---|---|---|---|---|---|---|")
        try:
            for visit in range(args.visits):
                load = os.getloadavg()[0]
                driver.get(url)
                map_ms = driver.execute_async_script(WAIT_MAP)
                WebDriverWait(driver, 60).until(lambda d: " of " in d.find_element(By.ID, "map-count").text)
                count_ms = driver.execute_script("return Date.now() - performance.timing.navigationStart")
                dom_ms = driver.execute_script(
                    "return performance.timing.domContentLoadedEventEnd - performance.timing.navigationStart"
                )
                bundle = driver.execute_script(
                    "return performance.getEntriesByType('resource').some(e => e.name.includes('plotly-asm'))"
                    " ? 'partial' : 'full'"
                )
                cache_state = "cold" if visit == 0 else "warm"
                print(
                    f"| {visit + 1} | {cache_state} | {load:.2f} | {dom_ms / 1000:.2f} | <= {count_ms / 1000:.2f} "
                    f"| {map_ms / 1000:.2f} | {bundle} |"
                )
        finally:
            driver.quit()
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
