"""Behaviour unchanged? Score the same inputs with two checkouts and compare the outputs exactly.

    python scripts/compare_scored.py --base main
    python scripts/compare_scored.py --base 7cd8df0 --sites ../shared/data/amazon_mining_watch/mining_202400_simplified.geojson \
        --protected-areas ../shared/data/amazon_mining_watch/protected_areas_impacts.geojson

The base ref is checked out into a temporary ``git worktree`` (removed afterwards); the other
side is this working tree. Each side runs, in its own subprocess, with its own fresh cache dir:

1. ``python app.py score --sites S [--protected-areas P] --out risk.parquet`` (the CLI);
2. the dashboard's dataset builder on the built-in demo data (``dashboard.data.get_dataset``);
3. the dashboard's upload path: S (and P) uploaded into a workspace, then that workspace's dataset
   built (``save_upload`` + ``build_workspace_dataset``, wherever the checkout keeps them).

Every frame is compared with ``pandas.testing.assert_frame_equal(check_exact=True)`` (geometries
as WKB bytes). Exit 0 when all are identical, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from pandas.testing import assert_frame_equal

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "amazon_mining_watch"

# Runs inside a checkout (cwd): writes the demo dataset and the upload workspace's dataset as Parquet.
DASHBOARD_PROBE = r"""
import base64, sys
from pathlib import Path
sys.path.insert(0, ".")
from settings import Settings
from dashboard.data import get_dataset
try:  # this tree's layout
    from dashboard.uploads import save_upload
    from dashboard.data import build_workspace_dataset
except ImportError:  # before the upload owner existed
    from dashboard.workspace import save_upload, build_workspace_dataset
from dashboard.workspace import new_workspace_id

out, cache, sites, pas, n_demo = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
settings = Settings(cache_dir=cache, workspace_dir=cache / "ws", demo_n_sites=n_demo, max_upload_mb=500)
get_dataset(settings).scored.to_parquet(out / "demo_dataset.parquet")
ws = new_workspace_id()
for kind, path in (("sites", sites), ("protected_areas", pas)):
    if path:
        raw = Path(path).read_bytes()
        save_upload(settings, ws, kind, Path(path).name, "data:;base64," + base64.b64encode(raw).decode())
build_workspace_dataset(settings, ws).scored.to_parquet(out / "upload_dataset.parquet")
"""


def _run(cmd: list[str], cwd: Path, cache: Path) -> None:
    env = {**os.environ, "ASM_CACHE_DIR": str(cache), "PYTHONHASHSEED": "0"}
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:3])}... failed in {cwd} (exit {r.returncode}):\n{r.stderr[-3000:]}")


def run_side(checkout: Path, out: Path, sites: Path, pas: Path | None, n_demo: int) -> None:
    """Every output of one checkout into ``out``."""
    out.mkdir(parents=True)
    python = sys.executable
    cli = [python, "app.py", "score", "--sites", str(sites), "--out", str(out / "cli.parquet"), "--no-progress"]
    if pas is not None:
        cli += ["--protected-areas", str(pas)]
    _run(cli, checkout, out / "cache-cli")
    probe = [python, "-c", DASHBOARD_PROBE, str(out), str(out / "cache-dash"), str(sites), str(pas or ""), str(n_demo)]
    _run(probe, checkout, out / "cache-dash")


def _frame(path: Path) -> pd.DataFrame:
    """A Parquet table with geometries as WKB bytes (no float re-encoding on the way)."""
    return pq.read_table(path).to_pandas()


def compare(base: Path, head: Path) -> list[str]:
    """One line per output: identical, or the first difference."""
    lines = []
    for name in ("cli.parquet", "demo_dataset.parquet", "upload_dataset.parquet"):
        a, b = _frame(base / name), _frame(head / name)
        try:
            assert_frame_equal(a, b, check_exact=True)
            lines.append(f"identical  {name}: {len(b)} rows x {b.shape[1]} columns")
        except AssertionError as exc:
            lines.append(f"DIFFERENT  {name}: {str(exc).splitlines()[0:6]}")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base", default="main", help="git ref to compare against (default: main)")
    p.add_argument("--sites", type=Path, default=SHARED / "BD_MineriaAurifera_Peru-curated2026-04-06.geojson")
    p.add_argument("--protected-areas", type=Path, default=SHARED / "protected_areas_impacts.geojson")
    p.add_argument("--demo-sites", type=int, default=3000, help="sites in the demo scenario (default: the app's 3000)")
    a = p.parse_args(argv)
    sites, pas = a.sites.resolve(), a.protected_areas.resolve() if a.protected_areas else None
    for f in (sites, pas):
        if f is not None and not f.exists():
            raise SystemExit(f"{f} not found (the real datasets live in ../shared/data)")
    with tempfile.TemporaryDirectory(prefix="compare-scored-") as tmp:
        tmp = Path(tmp)
        base_tree = tmp / "base-tree"
        subprocess.run(["git", "worktree", "add", "--detach", str(base_tree), a.base], cwd=ROOT, check=True,
                       capture_output=True)  # fmt: skip
        try:
            run_side(base_tree, tmp / "base", sites, pas, a.demo_sites)
            run_side(ROOT, tmp / "head", sites, pas, a.demo_sites)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base_tree)], cwd=ROOT, capture_output=True)
        lines = compare(tmp / "base", tmp / "head")
    print(f"base {a.base} vs working tree; sites {sites.name}; protected areas {pas.name if pas else '-'}")
    print("\n".join(lines))
    return 0 if all(line.startswith("identical") for line in lines) else 1


if __name__ == "__main__":
    sys.exit(main())
