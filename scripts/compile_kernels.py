"""Compile every numba kernel that scoring and the dashboard run, into numba's on-disk cache.

    python scripts/compile_kernels.py

``make run`` and ``make test`` run it once after installing (and again when a kernel's source
changes), so that a fresh clone's first ``python app.py score`` and first dashboard start load
the kernels from disk instead of compiling them (numba compiles a kernel on its first call,
which is most of a first run's time: docs/performance.md, "The first run").

It scores the built-in demo scenario (generated into the cache dir, as the dashboard's first start
does; ASM_CACHE_DIR is honoured) through the same pipeline as the CLI, twice: once with the
parallel threshold at 0, which builds the parallel twins a large input needs, and once as
configured, which builds the serial twins small inputs use; then the paths the pipeline does not
take on the demo (a protected-area layer held in memory, as an upload; the Monte Carlo totals
per country, as the dashboard and the summaries draw them). The kernels are cached under
geo/_kernels/__pycache__ (numba's default, next to their source; see geo/_kernels/twins.py).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def compile_kernels() -> float:
    """Run every kernel once per build it has; returns the seconds it took."""
    t0 = time.perf_counter()
    from geo import proximity
    from geo._kernels import twins
    from geo.summary import summarise_standard
    from geo.uncertainty import mercury_totals
    from scoring.pipeline import demo_sources, load_config, load_protected_areas_cached, run_scoring
    from settings import get_settings

    settings = get_settings()
    sources, _label = demo_sources(settings)  # the scenario `make run` serves, as the CLI's pipeline builds it
    config = load_config(settings)
    default = twins.PARALLEL_MIN
    try:
        for parallel_min in (0, default):
            twins.PARALLEL_MIN = parallel_min
            result = run_scoring(sources, settings, config)
            scored = result.scored
            # a PA layer held in memory (an upload before it is cached): the GEOS entry point
            pas = load_protected_areas_cached(sources, settings).data
            proximity.compute_protected_area_proximity(
                scored.geometry.iloc[:50],
                pas,
                buffers_km=settings.buffer_distances_km,
                category_reach_km=settings.protected_area_reach_km,
            )
            mercury_totals(scored, config, by="country_iso3")
            summarise_standard(scored, config)
    finally:
        twins.PARALLEL_MIN = default
    return time.perf_counter() - t0


def main() -> int:
    seconds = compile_kernels()
    print(f"numba kernels compiled and cached ({seconds:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
