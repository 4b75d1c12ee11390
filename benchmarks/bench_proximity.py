"""Benchmark: geo.proximity against a geopandas sjoin_nearest pipeline in one global metric CRS.

Each engine runs in a COLD subprocess (fresh interpreter; numba's on-disk cache may be warm) that
reads the GeoParquet files itself, so the wall time includes reading, imports of the engine's
libraries and the full computation. Peak RSS is the child's own ``ru_maxrss``, ``cpu_s`` its CPU
seconds (all threads; on a shared machine a steadier figure than the wall time).

Engines
-------
ours      ``geo.proximity.compute_protected_area_proximity_arrow`` (all columns, incl. PA area in 10 km)
          on the PA GeoParquet read with ``layers.cache.read_stored_table`` (the pipeline's path for a
          cached layer: WKB decoded by numba, no GEOS geometries for the PAs).
ours_lean the same without the PA-area column (``area_buffer_km=None``): the columns baseline (a) computes.
ours_cat  ``ours`` plus the nearest PA of each IUCN category within 70 km (``category_reach_km=70``).
ours_gdf  ``geo.proximity.compute_protected_area_proximity`` on ``geopandas.read_parquet`` (the path of a
          layer held in memory, e.g. a fresh upload).
cli       ``python app.py score`` end to end in a cold process (loaders, every fact, the risk score, the
          Parquet output), on a WDPA-named copy of the PA file, with the layer cache warm (a first,
          untimed run fills it; its time is reported as ``cache_fill_s``).
sjoin     baseline (a): reproject to EPSG:8857 (WGS 84 / Equal Earth Greenwich, metres), ``gpd.sjoin_nearest`` for the nearest PA and distance, ``sjoin``
          of site buffers for the 1/5/10/25 km counts, ``sjoin`` within for "inside".
sjoin_area baseline (a) plus the PA area in the 10 km buffer (buffer ∩ PAs, dissolved per site).
duckdb    baseline (b): DuckDB spatial (the extension from the ``duckdb-extension-spatial`` wheel, loaded from
          its file: no network), ``ST_DWithin`` spatial joins in EPSG:8857; the columns of (a).

Accuracy: on a random subsample of sites, each engine's distance and 10 km count is compared
against an independent reference (``geo.crs.geodesic_point_to_geometry_km``: boundary densified
geodesically every 50 m, ``pyproj.Geod`` distances).

Usage::

    .venv/bin/python benchmarks/bench_proximity.py --sites 100000 --polygons 300000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

BUFFERS_KM = (1.0, 5.0, 10.0, 25.0)
METRIC_CRS = "EPSG:8857"
CATEGORY_REACH_KM = 70.0  # the risk model's default decay outer distance


# ----------------------------------------------------------------------------- engines (child side)
def _run_ours(sites_path: Path, pa_path: Path, mode: str = "arrow"):
    import geopandas as gpd

    from geo.proximity import (
        PA_ATTRIBUTE_COLUMNS,
        compute_protected_area_proximity,
        compute_protected_area_proximity_arrow,
    )
    from layers.cache import read_stored_table

    sites = gpd.read_parquet(sites_path)
    if mode == "gdf":  # the path of a layer held in memory (e.g. a fresh upload): GEOS geometries
        pa = gpd.read_parquet(pa_path)
        res = compute_protected_area_proximity(sites.geometry, pa, buffers_km=BUFFERS_KM, area_buffer_km=10.0)
    else:  # the pipeline's path for a stored layer: WKB decoded into flat arrays, no GEOS geometries
        pa = read_stored_table(pa_path, columns=list(PA_ATTRIBUTE_COLUMNS))
        area = None if mode == "lean" else 10.0
        extra = {"category_reach_km": CATEGORY_REACH_KM} if mode == "categories" else {}
        res = compute_protected_area_proximity_arrow(
            sites.geometry, pa, buffers_km=BUFFERS_KM, area_buffer_km=area, **extra
        )
    return res[["dist_protected_area_km", "nearest_protected_area_id", "protected_areas_within_10km"]].rename(
        columns={
            "dist_protected_area_km": "dist_km",
            "nearest_protected_area_id": "pa_id",
            "protected_areas_within_10km": "n10",
        }
    )


def _run_sjoin(sites_path: Path, pa_path: Path, with_area: bool = False, id_col: str = "pa_id"):
    import geopandas as gpd
    import pandas as pd
    import shapely

    sites = gpd.read_parquet(sites_path)
    pa = gpd.read_parquet(pa_path, columns=[id_col, "geometry"]).rename(columns={id_col: "pa_id"})
    s_m = sites[["geometry"]].to_crs(METRIC_CRS)
    pa_m = pa.to_crs(METRIC_CRS)
    near = gpd.sjoin_nearest(s_m, pa_m, how="left", distance_col="dist_m")
    near = near[~near.index.duplicated(keep="first")]
    out = pd.DataFrame({"dist_km": near["dist_m"] / 1000.0, "pa_id": near["pa_id"]}, index=sites.index)
    inside = gpd.sjoin(s_m, pa_m, predicate="intersects")
    out["inside"] = out.index.isin(inside.index)
    for d in BUFFERS_KM:
        buf = gpd.GeoDataFrame(geometry=s_m.buffer(d * 1000.0), crs=METRIC_CRS)
        j = gpd.sjoin(buf, pa_m, predicate="intersects")
        out[f"n{d:g}"] = j.groupby(level=0)["pa_id"].nunique().reindex(sites.index, fill_value=0)
        if with_area and d == 10.0:
            pieces = shapely.intersection(
                buf.geometry.values[j.index.to_numpy()], pa_m.geometry.values[j["index_right"].to_numpy()]
            )
            parts = gpd.GeoDataFrame({"site": j.index.to_numpy()}, geometry=pieces, crs=METRIC_CRS)
            area = parts.dissolve(by="site").area / 1e6
            out["area10_km2"] = area.reindex(sites.index, fill_value=0.0)
    return out if id_col != "pa_id" else out[["dist_km", "pa_id", "n10"]]


def _duckdb_spatial():
    """A DuckDB connection with the spatial extension loaded from its PyPI wheel (no network)."""
    import glob

    import duckdb

    try:
        import duckdb_extension_spatial
    except ImportError as exc:
        raise SystemExit("unavailable: pip install duckdb-extension-spatial (requirements-dev.txt)") from exc
    root = Path(duckdb_extension_spatial.__file__).parent / "extensions"
    found = glob.glob(str(root / f"v{duckdb.__version__}" / "spatial.duckdb_extension"))
    if not found:
        raise SystemExit(f"unavailable: no spatial extension for DuckDB {duckdb.__version__} under {root}")
    con = duckdb.connect()
    con.load_extension(found[0])
    return con


def _run_duckdb(sites_path: Path, pa_path: Path, id_col: str = "pa_id", every_count: bool = False):
    """Baseline (b): DuckDB spatial, the same columns as (a), in the same metric CRS (EPSG:8857).

    ``ST_DWithin`` joins run on DuckDB's SPATIAL_JOIN operator: every (site, PA) pair within 25 km
    with its planar distance gives the counts, "inside" (distance 0) and the nearest PA; sites with
    nothing within 25 km are joined again at 250, 2,500 and 20,000 km until each has a nearest PA.
    """
    import pandas as pd

    con = _duckdb_spatial()
    threads = con.sql("select current_setting('threads')").fetchone()[0]
    tr = f"ST_Transform(geometry, 'EPSG:4326', '{METRIC_CRS}', always_xy := true)"
    con.sql(f"create table pa as select {id_col} as pa_id, {tr} as g from read_parquet('{pa_path}')")
    con.sql(f"create table s as select (row_number() over ()) - 1 as sid, {tr} as g from read_parquet('{sites_path}')")
    counts = ", ".join(f"count(distinct pa_id) filter (where d <= {d * 1000.0}) as n{d:g}" for d in BUFFERS_KM)
    con.sql(
        "create table near as select s.sid, pa.pa_id, ST_Distance(s.g, pa.g) as d "
        f"from s join pa on ST_DWithin(s.g, pa.g, {max(BUFFERS_KM) * 1000.0})"
    )
    con.sql(
        f"create table res as select sid, min(d) / 1000.0 as dist_km, arg_min(pa_id, d) as pa_id, {counts}, "
        "bool_or(d = 0) as inside from near group by sid"
    )
    for radius_km in (250.0, 2500.0, 20000.0):  # nearest PA of the sites with none within 25 km
        con.sql(
            "insert into res select s.sid, min(ST_Distance(s.g, pa.g)) / 1000.0, arg_min(pa.pa_id, ST_Distance(s.g, pa.g)), "
            + ", ".join("0" for _ in BUFFERS_KM)
            + ", false from (select * from s anti join res using (sid)) s "
            + f"join pa on ST_DWithin(s.g, pa.g, {radius_km * 1000.0}) group by s.sid"
        )
    out = con.sql("select * from s anti join res using (sid)").fetchall()
    cols = (
        ["dist_km", "pa_id", *(f"n{d:g}" for d in BUFFERS_KM), "inside"] if every_count else ["dist_km", "pa_id", "n10"]
    )
    frame = con.sql(f"select sid, {', '.join(cols)} from res order by sid").df()
    if out:
        missing = pd.DataFrame({"sid": [r[0] for r in out], "dist_km": float("nan"), "pa_id": None})
        frame = pd.concat([frame, missing]).sort_values("sid")
        frame = frame.fillna({c: (False if c == "inside" else 0) for c in cols if c not in ("dist_km", "pa_id")})
    print(f"duckdb {con.sql('select version()').fetchone()[0]}, threads={threads}", file=sys.stderr)
    return frame.set_index("sid")[cols]


def _warm() -> None:
    import geopandas as gpd
    import pyarrow as pa_
    import shapely

    import geo.proximity
    from geo.proximity import compute_protected_area_proximity, compute_protected_area_proximity_arrow

    try:
        from geo._kernels import twins as knobs  # where the parallel threshold lives

        knob = "PARALLEL_MIN"
    except ImportError:  # a checkout from before the engine was split (a baseline run)
        knobs, knob = geo.proximity, "_PARALLEL_MIN"

    pa = gpd.GeoDataFrame(  # two overlapping PAs: the union-area kernels are compiled too
        {"pa_id": ["a", "b"], "name": ["a", "b"], "designation": ["x", "x"], "iucn_cat": ["II", "II"]},
        geometry=[shapely.box(0, 0, 0.1, 0.1), shapely.box(0.05, 0.0, 0.2, 0.1)],
        crs="EPSG:4326",
    )
    sites = gpd.GeoSeries([shapely.Point(0.15, 0.05)], crs="EPSG:4326")
    default = getattr(knobs, knob)
    for parallel_min in (0, default):  # build (and cache on disk) the parallel and the serial kernels
        setattr(knobs, knob, parallel_min)
        compute_protected_area_proximity(sites, pa)
        compute_protected_area_proximity_arrow(sites, pa_.table(pa.to_arrow(geometry_encoding="WKB")))


def child(engine: str, sites_path: Path, pa_path: Path, out_path: Path) -> None:
    t0 = time.perf_counter()
    if engine == "ours":
        res = _run_ours(sites_path, pa_path)
    elif engine == "ours_lean":
        res = _run_ours(sites_path, pa_path, mode="lean")
    elif engine == "ours_gdf":
        res = _run_ours(sites_path, pa_path, mode="gdf")
    elif engine == "ours_cat":
        res = _run_ours(sites_path, pa_path, mode="categories")
    elif engine == "sjoin":
        res = _run_sjoin(sites_path, pa_path)
    elif engine == "sjoin_area":
        res = _run_sjoin(sites_path, pa_path, with_area=True)
    elif engine == "duckdb":
        res = _run_duckdb(sites_path, pa_path)
    else:
        raise SystemExit(f"unknown engine {engine}")
    wall = time.perf_counter() - t0
    res.to_parquet(out_path)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    rss_mb = usage.ru_maxrss / 1024.0
    cpu_s = usage.ru_utime + usage.ru_stime  # all threads: steadier than the wall time on a shared machine
    print(json.dumps({"engine": engine, "compute_s": wall, "cpu_s": cpu_s, "peak_rss_mb": rss_mb}))


# ----------------------------------------------------------------------------- parent side
def _wdpa_copy(pa_path: Path) -> Path:
    """The synthetic PA file with WDPA field names, as a user would pass it to the CLI."""
    import geopandas as gpd

    dest = pa_path.with_name(pa_path.stem + "_wdpa.parquet")
    if not dest.exists():
        pa = gpd.read_parquet(pa_path)
        wdpa = gpd.GeoDataFrame(
            {
                "WDPAID": pa["pa_id"].astype("int64"),
                "NAME": pa["name"],
                "DESIG_ENG": pa["designation"],
                "IUCN_CAT": pa["iucn_cat"],
                "STATUS": "Designated",
            },
            geometry=pa.geometry.values,
            crs=pa.crs,
        )
        wdpa.to_parquet(dest, row_group_size=20_000)
    return dest


def _run_cli(sites_path: Path, pa_path: Path, work: Path) -> dict:
    """``app.py score`` twice in cold processes: the first fills the layer cache, the second is timed."""
    import pandas as pd

    wdpa = _wdpa_copy(pa_path)
    cache = work / "cli-cache"
    out = work / "cli-out.parquet"
    cmd = [sys.executable, str(ROOT / "app.py"), "score", "--sites", str(sites_path), "--protected-areas", str(wdpa)]
    cmd += ["--out", str(out), "--no-progress"]
    env = dict(os.environ, ASM_CACHE_DIR=str(cache), ASM_MAX_UPLOAD_MB="5000")
    # each run goes through a wrapper process, whose RUSAGE_CHILDREN peak is that one CLI run's own
    wrapper = (
        "import json, resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
        "sys.stderr.write(r.stderr); print(json.dumps({'rc': r.returncode, "
        "'maxrss_mb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))"
    )
    times, peaks = [], []
    for _ in range(2):
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True, env=env)
        times.append(time.perf_counter() - t0)
        info = json.loads(proc.stdout.strip().splitlines()[-1])
        if info["rc"] != 0:
            return {
                "engine": "cli",
                "status": (proc.stderr.strip().splitlines() or ["failed"])[-1],
                "wall_s": times[-1],
            }
        peaks.append(info["maxrss_mb"])
    res = pd.read_parquet(out, columns=["site_id", "dist_protected_area_km", "nearest_protected_area_id"])
    n10 = pd.read_parquet(out, columns=["protected_areas_within_10km"])["protected_areas_within_10km"]
    frame = pd.DataFrame(
        {"dist_km": res["dist_protected_area_km"].to_numpy(), "pa_id": res["nearest_protected_area_id"], "n10": n10}
    )
    result = work / "cli.parquet"
    frame.to_parquet(result)
    return {
        "engine": "cli",
        "status": "ok",
        "wall_s": times[1],
        "cache_fill_s": times[0],
        "peak_rss_mb": peaks[1],
        "cache_fill_peak_rss_mb": peaks[0],
        "result": str(result),
    }


def run_engine(engine: str, sites_path: Path, pa_path: Path, work: Path) -> dict:
    if engine == "cli":
        return _run_cli(sites_path, pa_path, work)
    out = work / f"{engine}.parquet"
    t0 = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            engine,
            "--sites-file",
            str(sites_path),
            "--pa-file",
            str(pa_path),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        msg = (proc.stderr.strip().splitlines() or ["failed"])[-1]
        return {"engine": engine, "status": msg, "wall_s": wall}
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    info.update(status="ok", wall_s=wall, result=str(out))
    return info


def accuracy(results: dict[str, Path], sites_path: Path, pa_path: Path, n: int, seed: int) -> dict:
    """Distance and 10 km count errors against the densified-Geod reference on ``n`` random sites."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import shapely

    from geo.crs import geodesic_point_to_geometry_km

    sites = gpd.read_parquet(sites_path)
    pa = gpd.read_parquet(pa_path)
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(sites), size=min(n, len(sites)), replace=False)
    frames = {k: pd.read_parquet(v) for k, v in results.items()}
    tree = shapely.STRtree(pa.geometry.values)
    ref_d, ref_n10 = [], []
    for i in sample:
        p = sites.geometry.iloc[i]
        # candidates: every PA whose box is within the largest engine distance (+10 %, +12 km) in a
        # generous degree window; the reference then takes the exact minimum among them
        dmax = max(float(f["dist_km"].iloc[i]) for f in frames.values() if np.isfinite(f["dist_km"].iloc[i]))
        r = dmax * 1.1 + 12.0
        dlat = r / 110.5
        dlon = min(180.0, r / (111.3 * max(np.cos(np.radians(min(abs(p.y) + dlat, 89.99))), 1e-3)))
        boxes = [shapely.box(p.x - dlon, p.y - dlat, p.x + dlon, p.y + dlat)]
        boxes += [shapely.box(p.x - dlon + s, p.y - dlat, p.x + dlon + s, p.y + dlat) for s in (-360.0, 360.0)]
        cand = np.unique(np.concatenate([tree.query(b) for b in boxes]))
        d = np.array([geodesic_point_to_geometry_km(p.x, p.y, pa.geometry.iloc[j], spacing_km=0.05) for j in cand])
        ref_d.append(d.min() if len(d) else np.nan)
        ref_n10.append(int(pa["pa_id"].iloc[cand[d <= 10.0]].nunique()))
    ref_d = np.array(ref_d)
    ref_n10 = np.array(ref_n10)
    out = {}
    for k, f in frames.items():
        got = f["dist_km"].to_numpy()[sample]
        err = np.abs(got - ref_d)
        tol = np.maximum(0.05, 0.005 * ref_d)
        rel = np.where(ref_d > 0, err / np.where(ref_d > 0, ref_d, 1), 0.0)
        out[k] = {
            "max_abs_err_km": float(np.nanmax(err)),
            "max_rel_err_pct": float(np.nanmax(rel) * 100),
            "pct_outside_tolerance": float(np.mean(err > tol) * 100),
            "pct_wrong_10km_count": float(np.mean(f["n10"].to_numpy()[sample] != ref_n10) * 100),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description="geo.proximity vs sjoin_nearest in a global metric CRS")
    ap.add_argument("--sites", type=int, default=10_000)
    ap.add_argument("--polygons", type=int, default=30_000)
    ap.add_argument("--seed", type=int, default=20261130)
    ap.add_argument("--engines", default="cli,ours,ours_lean,ours_gdf,ours_cat,sjoin,sjoin_area,duckdb")
    ap.add_argument("--accuracy-sample", type=int, default=200)
    ap.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "asm-risk-bench")
    ap.add_argument("--json", type=Path, default=None, help="write the figures here too")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--sites-file", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--pa-file", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--warm", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.warm:
        _warm()
        return
    if a.child:
        child(a.child, a.sites_file, a.pa_file, a.out)
        return

    import make_synthetic

    t0 = time.perf_counter()
    sites_path, pa_path = make_synthetic.write(a.sites, a.polygons, a.data_dir, a.seed)
    print(f"data: {sites_path.name}, {pa_path.name} ({time.perf_counter() - t0:.1f} s to make or find)")
    # warm numba's on-disk cache once so "ours" is not charged for a one-off compilation
    subprocess.run([sys.executable, __file__, "--warm"], check=True)
    rows = []
    work = a.data_dir / "results"
    work.mkdir(parents=True, exist_ok=True)
    for engine in a.engines.split(","):
        info = run_engine(engine, sites_path, pa_path, work)
        rows.append(info)
        print(json.dumps({k: v for k, v in info.items() if k != "result"}))
    base = next((r for r in rows if r["engine"] == "sjoin" and r["status"] == "ok"), None)
    if base:
        for r in rows:
            if r["status"] == "ok":
                r["speedup_vs_sjoin"] = base["wall_s"] / r["wall_s"]
    ok = {r["engine"]: Path(r["result"]) for r in rows if r["status"] == "ok"}
    acc = accuracy(ok, sites_path, pa_path, a.accuracy_sample, a.seed) if ok and a.accuracy_sample else {}
    summary = {
        "sites": a.sites,
        "polygons": a.polygons,
        "metric_crs_baseline": METRIC_CRS,
        "runs": rows,
        "accuracy": acc,
    }
    print(json.dumps(summary, indent=2))
    if a.json:
        a.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
