"""Benchmark: the whole ``python app.py screen`` and ``python app.py change`` commands, each a cold process, against
a plain geopandas script doing the same spatial job, in the same run, rounds interleaved.

screen   100,000 sites, 300,000 protected areas (``make_synthetic.py``'s GeoParquet files, as in
         ``bench_screen.py``) and ``bench_screen.make_aoi``'s 500-vertex AOI (~5,000 km²), 10 km buffer.
         ours: ``app.py screen --out sites.csv``: load and validate the layers (the layer cache: "cold" is a
         new empty cache dir each round, so the 300,000 PAs are parsed and cached; "warm" reuses it), screen,
         the facts and scores of the selected sites, mercury totals, the table and the PA sidecar.
         baseline: a script that reads the same GeoParquet files, buffers the AOI in a local LAEA CRS, selects
         the sites (``gpd.sjoin``), measures their planar distances and the PA overlaps (``gpd.overlay``), and
         writes the same two CSVs. It scores nothing: the ratio is in the baseline's favour.
change   Amazon Mining Watch's seven yearly layers and its 144 protected areas (``../shared/data``).
         ours: ``app.py change --out change.csv``. baseline: a script that reads the GeoJSON files, reprojects
         to EPSG:6933, ``gpd.overlay`` footprints x PAs, ``dissolve`` per PA and year and, for the cumulative
         figure, per PA over the years up to each year (bench_change.py's baseline), writes a CSV.

Each command is timed from process start to exit (imports, reading, work, writing): wall time, and the
children's CPU time (``resource.getrusage``; steadier on a shared machine). Usage::

    .venv/bin/python benchmarks/bench_cli_aoi.py [--rounds 3] [--only screen|change|territories] [--dask] [--base DIR]

territories  ``app.py screen`` with Amazon Mining Watch's 237 indigenous territories as the AOI (``../shared/data``),
         against another checkout (``--base``, e.g. ``git worktree add --detach /tmp/base main``) in the same
         rounds; the two tables are compared byte for byte.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

SCREEN_BASELINE = textwrap.dedent(
    """
    import sys
    import geopandas as gpd
    import pandas as pd

    sites_path, pa_path, aoi_path, out = sys.argv[1:5]
    buffer_km = 10.0
    sites = gpd.read_parquet(sites_path)
    pas = gpd.read_parquet(pa_path)
    aoi = gpd.read_file(aoi_path)
    c = aoi.geometry.iat[0].centroid
    laea = f"+proj=laea +lat_0={c.y} +lon_0={c.x} +ellps=WGS84 +units=m"
    aoi_m = aoi.to_crs(laea)
    zone_m = aoi_m.buffer(buffer_km * 1000.0)
    zone_ll = gpd.GeoDataFrame(geometry=zone_m.to_crs("EPSG:4326"))
    geom = aoi_m.geometry.iat[0]
    hits = gpd.sjoin(sites, zone_ll, predicate="intersects").drop(columns="index_right")
    hits_m = hits.to_crs(laea)
    hits["in_aoi"] = hits_m.within(geom).to_numpy()
    hits["dist_aoi_km"] = hits_m.distance(geom).to_numpy() / 1000.0
    pd.DataFrame(hits.drop(columns="geometry")).to_csv(out, index=False)
    near = gpd.sjoin(pas, zone_ll, predicate="intersects").drop(columns="index_right")
    near_m = near.to_crs(laea)
    inter = gpd.overlay(near_m[["pa_id", "geometry"]], aoi_m[["geometry"]], how="intersection")
    table = pd.DataFrame({"pa_id": near_m["pa_id"].to_numpy(), "name": near_m["name"].to_numpy(),
                          "dist_km": near_m.distance(geom).to_numpy() / 1000.0, "area_km2": near_m.area.to_numpy() / 1e6})
    table["overlap_km2"] = table["pa_id"].map(inter.set_index("pa_id").area / 1e6).fillna(0.0)
    table["overlap_pct"] = 100.0 * table["overlap_km2"] / table["area_km2"]
    table.to_csv(out.replace(".csv", ".protected_areas.csv"), index=False)
    print(len(hits), "sites", len(table), "protected areas")
    """
)

CHANGE_BASELINE = textwrap.dedent(
    """
    import sys
    import geopandas as gpd
    import pandas as pd

    out, pa_path, *mining = sys.argv[1:]
    EA = "EPSG:6933"
    parts = []
    for p in mining:
        f = gpd.read_file(p)
        f["year"] = f["year"].astype(int) // 100
        parts.append(f[["year", "geometry"]])
    fp = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs="EPSG:4326").to_crs(EA)
    fp["geometry"] = fp.make_valid()
    pas = gpd.read_file(pa_path).rename(columns={"id": "pa_id", "name_field": "name"})
    pa = pas[["pa_id", "name", "geometry"]].to_crs(EA)
    pa["geometry"] = pa.make_valid()
    pa = pa.dissolve(by=["pa_id", "name"], as_index=False)
    years = sorted(fp["year"].unique())
    inter = gpd.overlay(fp, pa, how="intersection")
    per_year = inter.dissolve(by=["pa_id", "name", "year"]).area / 1e6
    cum = pd.concat([inter[inter["year"] <= y].dissolve(by=["pa_id", "name"]).area.rename(y) / 1e6 for y in years], axis=1)
    cum = cum.rename_axis(columns="year").stack()
    table = pd.DataFrame({"mining_km2": per_year, "mining_km2_cumulative": cum}).fillna(0.0).reset_index()
    table.to_csv(out, index=False)
    print(len(table), "rows")
    """
)


def run(cmd: list[str], env: dict) -> tuple[float, float]:
    """(wall s, children's CPU s) of one process run to completion; raises when it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])}... failed ({r.returncode}):\n{r.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def compare(label: str, engines: dict[str, callable], rounds: int, base: str = "geopandas script") -> None:
    """Interleaved rounds of each engine (a callable returning (wall, cpu)); medians and ratios to ``base``."""
    wall: dict[str, list[float]] = {k: [] for k in engines}
    cpu: dict[str, list[float]] = {k: [] for k in engines}
    for r in range(rounds):
        for name, fn in engines.items():
            w, c = fn()
            wall[name].append(w)
            cpu[name].append(c)
        print(
            f"{label} round {r + 1}: " + ", ".join(f"{k} {wall[k][-1]:.1f} s (cpu {cpu[k][-1]:.1f} s)" for k in engines)
        )
    for kind, series in (("wall", wall), ("cpu", cpu)):
        med = {k: statistics.median(v) for k, v in series.items()}
        ratios = ", ".join(f"{base} / {k} {med[base] / med[k]:.2f}x" for k in med if k != base)
        print(f"{label}: median {kind} (s): " + ", ".join(f"{k} {v:.1f}" for k, v in med.items()) + f"; {ratios}")
    print()


def bench_screen(rounds: int, tmp: Path, data_dir: Path, with_dask: bool = False) -> None:
    import geopandas as gpd
    import make_synthetic
    from bench_screen import make_aoi

    sites_path, pa_path = make_synthetic.write(100_000, 300_000, data_dir)
    aoi_path = data_dir / "aoi_500_vertices.geojson"
    if not aoi_path.exists():
        make_aoi(gpd.read_parquet(pa_path)).to_file(aoi_path)
    script = tmp / "screen_geopandas.py"
    script.write_text(SCREEN_BASELINE)
    warm_cache = tmp / "warm-cache"
    env = {**os.environ, "ASM_MAX_UPLOAD_MB": "5000"}  # the 612 MB PA file (the input check's limit)
    args = ["screen", "--aoi", str(aoi_path), "--sites", str(sites_path), "--protected-areas", str(pa_path),
            "--buffer-km", "10", "--no-progress"]  # fmt: skip

    def ours(cache: Path, out: str):
        def go() -> tuple[float, float]:
            return run(
                [sys.executable, str(ROOT / "app.py"), *args, "--out", str(tmp / out)],
                {**env, "ASM_CACHE_DIR": str(cache)},
            )

        return go

    def cold() -> tuple[float, float]:
        return ours(Path(tempfile.mkdtemp(dir=tmp, prefix="cold-")), "ours_cold.csv")()

    def baseline() -> tuple[float, float]:
        return run(
            [sys.executable, str(script), str(sites_path), str(pa_path), str(aoi_path), str(tmp / "gp.csv")], env
        )

    def dask() -> tuple[float, float]:
        cmd = [sys.executable, str(ROOT / "app.py"), *args, "--engine", "dask", "--out", str(tmp / "ours_dask.csv")]
        return run(cmd, {**env, "ASM_CACHE_DIR": str(warm_cache)})

    ours(warm_cache, "ours_warm.csv")()  # fills the warm cache (and the numba cache), untimed
    print(f"screen: 100,000 sites, 300,000 protected areas, a 500-vertex AOI ({data_dir})")
    engines = {"ours, cold cache": cold, "ours, warm cache": ours(warm_cache, "ours_warm.csv")}
    if with_dask:
        engines["ours, warm cache, --engine dask"] = dask
    compare("screen", {**engines, "geopandas script": baseline}, rounds)


def bench_change(rounds: int, tmp: Path) -> None:
    data = ROOT.parent / "shared" / "data" / "amazon_mining_watch"
    if not data.is_dir():
        print(f"change: skipped, {data} is absent")
        return
    mining = sorted(str(p) for p in data.glob("mining_20*00_simplified.geojson"))
    pas = str(data / "protected_areas_impacts.geojson")
    script = tmp / "change_geopandas.py"
    script.write_text(CHANGE_BASELINE)
    env = {**os.environ, "ASM_CACHE_DIR": str(tmp / "change-cache")}
    mining_args = [a for p in mining for a in ("--mining", p)]

    def ours() -> tuple[float, float]:
        cmd = [sys.executable, str(ROOT / "app.py"), "change", *mining_args, "--protected-areas", pas,
               "--out", str(tmp / "change.csv"), "--no-progress"]  # fmt: skip
        return run(cmd, env)

    def baseline() -> tuple[float, float]:
        return run([sys.executable, str(script), str(tmp / "change_gp.csv"), pas, *mining], env)

    ours()  # the PA layer into the cache, numba caches: untimed
    print(f"change: {len(mining)} Amazon Mining Watch years x the 144 protected areas")
    compare("change", {"ours": ours, "geopandas script": baseline}, rounds)


def bench_territories(rounds: int, tmp: Path, base_root: Path | None) -> None:
    """An AOI of many detailed features: Amazon Mining Watch's 237 indigenous territories (167,501 vertices) over
    the Peru gold inventory's 1,024 sites with AMW's 144 protected areas, 10 km. Against another checkout
    (``--base``) in the same rounds: the baseline is this project's own earlier command."""
    data = ROOT.parent / "shared" / "data" / "amazon_mining_watch"
    if not data.is_dir():
        print(f"territories: skipped, {data} is absent")
        return
    args = ["screen", "--aoi", str(data / "indigenous_territories_impacts.geojson"),
            "--sites", str(data / "BD_MineriaAurifera_Peru-curated2026-04-06.geojson"),
            "--protected-areas", str(data / "protected_areas_impacts.geojson"), "--no-progress"]  # fmt: skip

    def cli(root: Path, name: str):
        python = str(root / ".venv" / "bin" / "python") if (root / ".venv").exists() else sys.executable
        env = {**os.environ, "ASM_CACHE_DIR": str(tmp / f"cache-{name}")}

        def go() -> tuple[float, float]:
            return run([python, str(root / "app.py"), *args, "--out", str(tmp / f"{name}.csv")], env)

        return go

    engines = {"ours": cli(ROOT, "ours")}
    if base_root is not None:
        engines[f"base {base_root}"] = cli(base_root.resolve(), "base")
    for go in engines.values():
        go()  # the layer and numba caches: untimed
    print("territories: screen with AMW's 237 indigenous territories as the AOI, the Peru inventory, AMW's PAs")
    if base_root is None:
        compare("territories", engines, rounds, base="ours")
        return
    compare("territories", engines, rounds, base=f"base {base_root}")
    same = (tmp / "ours.csv").read_bytes() == (tmp / "base.csv").read_bytes()
    print(f"territories: the two tables are {'the same, byte for byte' if same else 'DIFFERENT'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", choices=("screen", "change", "territories"))
    ap.add_argument("--base", type=Path, default=None, help="another checkout, timed beside this one (territories)")
    ap.add_argument("--dask", action="store_true", help="also time screen --engine dask (a LocalCluster per run)")
    ap.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "asm-risk-bench")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-cli-aoi-") as tmp:
        if a.only in (None, "screen"):
            bench_screen(a.rounds, Path(tmp), a.data_dir, a.dask)
        if a.only in (None, "change"):
            bench_change(a.rounds, Path(tmp))
        if a.only in (None, "territories"):
            bench_territories(a.rounds, Path(tmp), a.base)


if __name__ == "__main__":
    main()
