"""`scripts/visual_check.py --help` says what the script does and what each option is (it stopped mid-sentence)."""

from __future__ import annotations

import subprocess
import sys

from tests.browser.conftest import ROOT


def test_visual_check_help_is_whole():
    r = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "visual_check.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    text = " ".join(r.stdout.split())
    assert "1400, 1024 and 390 px wide" in text  # the first docstring line alone ended at "screenshots at"
    assert "Amazon Mining Watch" in text
    assert "folder for the screenshots" in text and "shared data folder" in text
