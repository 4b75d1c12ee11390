"""Generate the built-in synthetic demo scenario (deterministic) and print where it is.

    python scripts/make_demo_data.py [--out DIR] [--seed N] [--n-sites N]

Defaults come from settings.py (ASM_CACHE_DIR, ASM_DEMO_SEED, ASM_DEMO_N_SITES). An
existing scenario with the same seed and size is reused. See docs/demo-data.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from layers.demo import ensure_demo_data
from layers.errors import LayerError
from settings import get_settings


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, generate (or reuse) the demo data, print the paths; return the exit code."""
    settings = get_settings()
    parser = argparse.ArgumentParser(description="Generate the synthetic demo scenario (fictional sites and layers).")
    parser.add_argument("--out", type=Path, default=settings.cache_dir, help="cache directory (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=settings.demo_seed, help="random seed (default: %(default)s)")
    parser.add_argument(
        "--n-sites", type=int, default=settings.demo_n_sites, help="number of sites (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        paths = ensure_demo_data(args.out, seed=args.seed, n_sites=args.n_sites)
    except LayerError as exc:
        print(f"make_demo_data: {exc}", file=sys.stderr)
        return 2
    print(f"demo data ready in {paths.root} ({time.perf_counter() - start:.1f} s)")
    for name in ("sites", "protected_areas", "rainforest", "reefs", "water", "tree_cover"):
        print(f"  {name:16s} {getattr(paths, name)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
