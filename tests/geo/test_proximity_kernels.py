"""How the proximity engine's numba kernels are built (geo._kernels.twins): cache names, twins."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import numpy as np
import pytest
from numba.core.caching import NullCache
from numba.core.registry import CPUDispatcher

import geo
import geo._kernels
from geo._kernels import twins

GEO = Path(geo.__file__).parent


def _kernel_modules() -> list:
    return [importlib.import_module(f"geo._kernels.{m.name}") for m in pkgutil.iter_modules(geo._kernels.__path__)]


def test_source_fingerprint_changes_with_any_source(tmp_path: Path) -> None:
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("x = 1\n")
    b.write_text("y = 2\n")
    before = twins.source_fingerprint([a, b])
    assert twins.source_fingerprint([a, b]) == before
    b.write_text("y = 3\n")
    assert twins.source_fingerprint([a, b]) != before
    assert twins.source_fingerprint([a, tmp_path / "missing.py"]) != before  # unreadable: still a value


def test_the_fingerprint_covers_every_source_the_kernels_compile() -> None:
    # numba's cache checks only the compiled function's own file: every file whose code ends up in
    # a kernel must be in the fingerprint. The kernels can call what their modules' namespaces
    # hold: every numba function there, and every Python function they compile, must come from a
    # fingerprinted file (the _kernels package and geo.crs).
    covered = {p.resolve() for p in twins.KERNEL_SOURCES}
    assert {p.resolve() for p in (GEO / "_kernels").glob("*.py")} <= covered
    assert (GEO / "crs.py").resolve() in covered
    for mod in _kernel_modules():
        for name, obj in vars(mod).items():
            builds = (obj.serial, obj.parallel) if isinstance(obj, twins.Twins) else (obj,)
            for d in builds:
                if isinstance(d, CPUDispatcher):
                    source = Path(inspect.getfile(d.py_func)).resolve()
                    assert source in covered, f"{mod.__name__}.{name} compiles {source}, outside the fingerprint"


def test_every_kernel_is_cached_under_the_fingerprint() -> None:
    found = 0
    for mod in _kernel_modules():
        for name, obj in vars(mod).items():
            builds = (obj.serial, obj.parallel) if isinstance(obj, twins.Twins) else (obj,)
            for d in builds:
                if isinstance(d, CPUDispatcher):
                    found += 1
                    assert d.py_func.__qualname__.endswith(f"__{twins.FINGERPRINT}"), f"{mod.__name__}.{name}"
                    assert not isinstance(d._cache, NullCache), f"{mod.__name__}.{name} is not cached on disk"
    assert found >= 20


def test_twins_pick_the_parallel_build_from_the_threshold(monkeypatch) -> None:
    from geo._kernels.flat import block_caps

    monkeypatch.setattr(twins, "PARALLEL_MIN", 1000)
    assert block_caps.for_work(99) is block_caps.serial  # block caps count tenfold: 1000 // 10 = 100
    assert block_caps.for_work(100) is block_caps.parallel
    v = np.array([1.0, 0.0, 1.0, 0.0])  # vertices (1, 0, 0), (0, 1, 0), twice
    w = np.array([0.0, 1.0, 0.0, 1.0])
    z = np.zeros(4)
    b0, b1 = np.array([0, 2], dtype=np.int64), np.array([1, 3], dtype=np.int64)
    for build in (block_caps.serial, block_caps.parallel):  # the same numbers either way
        cx, cy, cz, crad = build(v, w, z, b0, b1)
        np.testing.assert_allclose(crad, np.pi / 4 * (1 + 1e-9) + 1e-12)
        np.testing.assert_allclose(np.c_[cx, cy, cz], [[np.sqrt(0.5), np.sqrt(0.5), 0.0]] * 2)


@pytest.mark.parametrize(
    "name",
    ["pair_nearest", "union_disc_area", "pair_disc_area", "isolated_in_group", "wkb_count", "wkb_fill", "block_caps"],
)
def test_the_parallel_builds_have_their_own_cache_name(name: str) -> None:
    t = next(getattr(m, name) for m in _kernel_modules() if hasattr(m, name))
    assert t.serial.py_func.__qualname__ != t.parallel.py_func.__qualname__
    assert t.parallel.targetoptions.get("parallel")


def test_cap_bounds_hold_the_exact_distance() -> None:
    # the category search drops (site, PA) pairs on these bounds before walking them: they must
    # bracket the engine's exact distance (to the boundary) for every pair
    import shapely

    from geo._kernels import closest as kclosest
    from geo._kernels.flat import target_caps
    from geo.crs import GEOD
    from geo.nearest import exact_km, prepare_sites
    from geo.targets import flat_for, prepare_targets

    rng = np.random.default_rng(8)
    lon = rng.uniform(-179.9, 179.9, 40)
    lat = rng.uniform(-80.0, 80.0, 40)
    points = [shapely.Point(x, y) for x, y in zip(lon, lat, strict=True)]
    lines = [shapely.LineString([(x, y), (x + 0.05, y + 0.03), (x + 0.1, y)]) for x, y in zip(lon, lat, strict=True)]
    sites = prepare_sites(np.array(points + lines, dtype=object))
    polys = []
    for x, y in zip(lon, lat, strict=True):
        az = rng.uniform(0.0, 360.0)
        cx, cy, _ = GEOD.fwd(x, y, az, rng.uniform(0.0, 300e3))
        ring = GEOD.fwd(np.full(7, cx), np.full(7, cy), np.arange(7) * 360 / 7, rng.uniform(2e3, 40e3, 7))
        polys.append(shapely.Polygon(np.column_stack(ring[:2])))
    tg = prepare_targets(np.array(polys, dtype=object))
    n = len(sites.geoms)
    ps = np.repeat(np.arange(n), len(polys))
    pt = np.tile(np.arange(len(polys)), n)
    fs, local = flat_for(tg, pt)
    caps = target_caps(fs.flat, np.arange(len(polys)))
    lo, hi = kclosest.pair_bounds_km(sites.points, kclosest.site_caps(sites.points), ps, local, caps)
    dist, _ = exact_km(sites, tg, ps, pt, np.full(len(ps), np.inf))
    assert np.isfinite(dist).all()
    assert (lo <= dist).all()
    assert (dist <= hi).all()
    assert np.median(hi - lo) < 200.0  # and they are useful bounds, not 0 and inf


def test_each_kernel_compiles_once_for_the_usual_inputs() -> None:
    # every extra signature is a full numba compilation on a first run (seconds each): literal
    # arguments (0, False) and read-only vs writable buffers used to double several kernels.
    # In a fresh interpreter (the on-disk cache makes it quick), run both PA entry points on a
    # chunked Arrow column, with and without the category reach, and a layer's distance.
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(
        """
        import importlib, pkgutil
        import geopandas as gpd, pyarrow as pa, shapely
        from numba.core.registry import CPUDispatcher
        import geo._kernels
        from geo._kernels.twins import Twins
        from geo.proximity import (
            compute_layer_proximity, compute_protected_area_proximity, compute_protected_area_proximity_arrow,
        )

        pas = gpd.GeoDataFrame(
            {"pa_id": list("abc"), "name": list("abc"), "designation": ["x"] * 3, "iucn_cat": ["II", "V", "?"]},
            geometry=[shapely.box(0, 0, 0.1, 0.1), shapely.box(0.05, 0, 0.2, 0.1), shapely.box(1, 1, 1.1, 1.1)],
            crs="EPSG:4326",
        )
        sites = gpd.GeoSeries(
            [shapely.Point(0.15, 0.05), shapely.Point(3, 3), shapely.box(0.5, 0.5, 0.6, 0.6)], crs="EPSG:4326"
        )
        wkb = pa.table(pas.to_arrow(geometry_encoding="WKB"))
        chunked = pa.Table.from_batches(wkb.to_batches(max_chunksize=2))
        for reach in (None, 70.0):
            compute_protected_area_proximity(sites, pas, category_reach_km=reach)
            compute_protected_area_proximity_arrow(sites, chunked, category_reach_km=reach)
        compute_layer_proximity(sites, pas, "pa")
        for m in pkgutil.iter_modules(geo._kernels.__path__):
            mod = importlib.import_module("geo._kernels." + m.name)
            for name, obj in vars(mod).items():
                for d in (obj.serial, obj.parallel) if isinstance(obj, Twins) else (obj,):
                    if isinstance(d, CPUDispatcher) and len(d.signatures) > 1:
                        print(mod.__name__, name, d.signatures)
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=GEO.parent, check=True)
    assert proc.stdout == "", proc.stdout


def test_pair_nearest_walks_the_given_pairs_in_place_and_both_builds_agree() -> None:
    # exact_km walks every pair, then again a subset (pairs that may be a site's nearest): the kernel
    # writes each walked pair's result at its own index and leaves the others as they are, in the
    # serial and the threaded build alike
    import shapely

    from geo._kernels import closest as kclosest
    from geo.nearest import prepare_sites
    from geo.targets import flat_for, prepare_targets

    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(-10.0, 10.0, 60), rng.uniform(-10.0, 10.0, 60)
    sites = prepare_sites(np.array([shapely.Point(x, y) for x, y in zip(lon, lat, strict=True)], dtype=object))
    polys = np.array([shapely.Point(x, y).buffer(rng.uniform(0.05, 0.5), 12) for x, y in zip(lat, lon, strict=True)])
    tg = prepare_targets(polys)
    ps = np.repeat(np.arange(60), 60).astype(np.int64)
    pt = np.tile(np.arange(60), 60).astype(np.int64)
    fs, local = flat_for(tg, pt)
    local = np.ascontiguousarray(local, dtype=np.int64)
    cutoff = np.full(len(ps), 0.05)  # about 320 km: some pairs are beyond it
    no_bands = np.zeros(0)

    def run(build, walk: np.ndarray) -> tuple[np.ndarray, ...]:
        ang, lower = np.full(len(ps), -7.0), np.full(len(ps), -7.0)  # marks: left alone unless walked
        close, sub = np.full((len(ps), 3), -7.0), np.full(len(ps), -7, dtype=np.int64)
        build(sites.points, ps, local, cutoff, walk, fs.flat, no_bands, no_bands, ang, close, sub, lower)
        return ang, close, sub, lower

    every = np.arange(len(ps), dtype=np.int64)
    whole = run(kclosest.pair_nearest.serial, every)
    assert np.isinf(whole[0]).any() and np.isfinite(whole[0]).any()
    assert (whole[2][np.isinf(whole[0])] == -1).all()
    np.testing.assert_array_equal(whole[0], whole[3])  # no bands: the exact angle, twice
    shuffled = rng.permutation(every)
    for build in (kclosest.pair_nearest.serial, kclosest.pair_nearest.parallel):
        for got, want in zip(run(build, shuffled), whole, strict=True):  # any walk order: the same
            np.testing.assert_array_equal(got, want)
        part = np.sort(rng.choice(every, 500, replace=False))
        ang, close, sub, lower = run(build, part)
        rest = np.setdiff1d(every, part)
        np.testing.assert_array_equal(ang[part], whole[0][part])
        np.testing.assert_array_equal(close[part], whole[1][part])
        np.testing.assert_array_equal(sub[part], whole[2][part])
        np.testing.assert_array_equal(lower[part], whole[3][part])
        assert (ang[rest] == -7.0).all() and (lower[rest] == -7.0).all()
        assert (close[rest] == -7.0).all() and (sub[rest] == -7).all()


def test_a_process_forked_after_a_parallel_kernel_ran_computes_with_the_serial_build() -> None:
    # GNU OpenMP terminates a forked child that starts threads again once its parent has used them
    # (gunicorn's workers of a preloaded app, a fork-started pool): the child got SIGTERM on its first
    # parallel kernel. Run in a fresh interpreter, which forks nothing else.
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(
        """
        import os, sys
        import numpy as np
        from geo._kernels import twins
        from geo._kernels.flat import block_caps

        twins.PARALLEL_MIN = 1
        rng = np.random.default_rng(1)
        v = rng.normal(size=(3, 4000))
        v /= np.linalg.norm(v, axis=0)
        b0 = np.arange(0, 4000, 16, dtype=np.int64)
        args = (v[0].copy(), v[1].copy(), v[2].copy(), b0, b0 + 15)
        assert block_caps.for_work(len(b0)) is block_caps.parallel
        want = block_caps.for_work(len(b0))(*args)
        pid = os.fork()
        if pid == 0:
            build = block_caps.for_work(len(b0))
            got = build(*args)
            same = build is block_caps.serial and all(np.array_equal(g, w) for g, w in zip(got, want))
            os._exit(0 if same else 3)
        _, status = os.waitpid(pid, 0)
        print(status)
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=GEO.parent, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "0", (proc.stdout, proc.stderr)
