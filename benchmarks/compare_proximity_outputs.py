"""Record the proximity engine's output frames, and compare two recordings bit for bit.

Used to show that a change of the engine's code (a refactor, a new option) leaves its results
unchanged: record with the old code, record with the new code, compare.

``capture`` runs, with the code tree given by ``--root`` (default: this checkout), on

* the synthetic benchmark fixtures of ``make_synthetic.py`` (default 100k point sites x 300k
  WDPA-like polygons, some split at ±180°): ``compute_protected_area_proximity`` (GeoDataFrame
  path), ``compute_protected_area_proximity_arrow`` (GeoParquet path) and
  ``compute_layer_proximity`` (the PAs as a plain polygon layer);
* real data from ../shared/data (read in place, never copied): Amazon Mining Watch 2024 mining
  polygons, as polygons and as their centroids, against the AMW protected areas (both PA entry
  points), the Amazon limit (a basin-wide polygon, inside and boundary distance), Natural Earth
  rivers (lines) and the Peru gold-mining points (a point layer);

and writes one Parquet file per case into OUT, plus ``timings.json`` (wall seconds per case: a
rough figure, the benchmark is ``bench_proximity.py``). The real PAs carry no IUCN category; the
capture gives them one from ``IUCN_CATEGORIES`` by row (a deterministic label on real geometry),
so that the per-category facts have several categories to find.

``compare A B [--drop REGEX]`` checks every frame of A against the same file in B with
``pandas.testing.assert_frame_equal(check_exact=True)`` (dtypes, index, column order, values:
NaN equals NaN, nothing else is tolerated) and exits non-zero if any differs, saying which rows
differ. ``--drop`` leaves out columns whose name matches, e.g. ``'dist_protected_area_iucn_.*'``
to check that a capture with ``--category-reach-km`` changed nothing else.

Usage::

    .venv/bin/python benchmarks/compare_proximity_outputs.py capture /tmp/before --root /tmp/geo-base
    .venv/bin/python benchmarks/compare_proximity_outputs.py capture /tmp/after
    .venv/bin/python benchmarks/compare_proximity_outputs.py compare /tmp/before /tmp/after
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SHARED = ROOT.parent / "shared" / "data"
BUFFERS_KM = (1.0, 5.0, 10.0, 25.0)
IUCN = ("Ia", "Ib", "II", "III", "IV", "V", "VI", "Not Reported", "Not Applicable", "Not Assigned")


def _real_pas(gpd):
    """The AMW protected areas in the PA schema (pa_id, name, designation, iucn_cat)."""
    raw = gpd.read_file(SHARED / "amazon_mining_watch" / "protected_areas_impacts.geojson")
    return gpd.GeoDataFrame(
        {
            "pa_id": raw["id"].astype(str),
            "name": raw["name_field"].fillna("").astype(str),
            "designation": raw["type_field"].fillna("").astype(str),
            "iucn_cat": [IUCN[i % len(IUCN)] for i in range(len(raw))],
        },
        geometry=raw.geometry.values,
        crs="EPSG:4326",
    )


def capture(out: Path, root: Path, n_sites: int, n_polygons: int, data_dir: Path, extra: dict) -> None:
    sys.path.insert(0, str(root))
    sys.path.insert(1, str(HERE))
    import geopandas as gpd
    import make_synthetic
    import pyarrow as pa
    import pyarrow.parquet as pq
    import shapely

    import geo.proximity as prox

    print(f"engine: {prox.__file__}", file=sys.stderr)
    if not Path(prox.__file__).resolve().is_relative_to(root.resolve()):
        raise SystemExit(f"imported {prox.__file__}, not the tree {root}")
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}

    def run(name: str, fn) -> None:
        t0 = time.perf_counter()
        frame = fn()
        timings[name] = round(time.perf_counter() - t0, 3)
        frame.to_parquet(out / f"{name}.parquet")
        print(f"{name}: {frame.shape} in {timings[name]:.1f} s", file=sys.stderr)

    cols = ["pa_id", "name", "designation", "iucn_cat"]
    if n_sites > 0:
        sites_path, pa_path = make_synthetic.write(n_sites, n_polygons, data_dir)
        sites = gpd.read_parquet(sites_path).geometry
        pas = gpd.read_parquet(pa_path)
        table = pq.read_table(pa_path, columns=[*cols, "geometry"])
        run("synth_pa_gdf", lambda: prox.compute_protected_area_proximity(sites, pas, buffers_km=BUFFERS_KM, **extra))
        run(
            "synth_pa_arrow",
            lambda: prox.compute_protected_area_proximity_arrow(sites, table, buffers_km=BUFFERS_KM, **extra),
        )
        run("synth_layer", lambda: prox.compute_layer_proximity(sites, pas.geometry, "pa"))
        del pas, table

    if SHARED.is_dir():
        mining = gpd.read_file(SHARED / "amazon_mining_watch" / "mining_202400_simplified.geojson").geometry
        points = gpd.GeoSeries(shapely.centroid(mining.to_numpy()), index=mining.index, crs=mining.crs)
        pas = _real_pas(gpd)
        table = pa.table(pas.to_arrow(geometry_encoding="WKB"))
        amazon = gpd.read_file(SHARED / "amazon_mining_watch" / "Amazon_ACA.geojson")
        rivers = gpd.read_file(SHARED / "natural_earth" / "ne_10m_rivers_lake_centerlines.json")
        peru = gpd.read_file(SHARED / "amazon_mining_watch" / "BD_MineriaAurifera_Peru-curated2026-04-06.geojson")
        for label, s in (("polys", mining), ("points", points)):
            run(f"real_{label}_pa_gdf", lambda s=s: prox.compute_protected_area_proximity(s, pas, **extra))
            run(f"real_{label}_pa_arrow", lambda s=s: prox.compute_protected_area_proximity_arrow(s, table, **extra))
            run(f"real_{label}_amazon", lambda s=s: prox.compute_layer_proximity(s, amazon, "amazon"))
            # boundary distance from inside a basin-wide outline: every site walks it (500 polygon
            # sites take about 15 s; all 5,232 over 2 min)
            edge_sites = s if label == "points" else s.iloc[:500]
            run(
                f"real_{label}_amazon_edge",
                lambda s=edge_sites: prox.compute_layer_proximity(s, amazon, "amazon", polygonal_inside=False),
            )
            run(f"real_{label}_rivers", lambda s=s: prox.compute_layer_proximity(s, rivers, "river"))
            run(f"real_{label}_peru_points", lambda s=s: prox.compute_layer_proximity(s, peru, "peru"))
    else:
        print(f"no real data at {SHARED}: synthetic cases only", file=sys.stderr)
    (out / "timings.json").write_text(json.dumps(timings, indent=2))


def compare(a: Path, b: Path, drop: str | None = None) -> int:
    import re

    import numpy as np
    import pandas as pd

    names = sorted(p.name for p in a.glob("*.parquet"))
    if not names:
        print(f"no frames in {a}")
        return 2
    bad = 0
    for name in names:
        if not (b / name).exists():
            print(f"{name}: missing in {b}")
            bad += 1
            continue
        fa, fb = pd.read_parquet(a / name), pd.read_parquet(b / name)
        if drop:  # columns only one side computes (e.g. a capture with --category-reach-km)
            fa = fa[[c for c in fa.columns if not re.fullmatch(drop, c)]]
            fb = fb[[c for c in fb.columns if not re.fullmatch(drop, c)]]
        try:
            pd.testing.assert_frame_equal(fa, fb, check_exact=True)
        except AssertionError as exc:
            bad += 1
            print(f"{name}: DIFFERENT\n{exc}")
            for c in fa.columns.intersection(fb.columns):
                x, y = fa[c].to_numpy(), fb[c].to_numpy()
                if len(x) != len(y):
                    continue
                same = (x == y) | (pd.isna(x) & pd.isna(y))
                if not np.all(same):
                    rows = np.flatnonzero(~np.asarray(same, dtype=bool))
                    print(f"  {c}: {len(rows)} rows differ, e.g. {rows[:5].tolist()}")
            continue
        print(f"{name}: identical {fa.shape}")
    extra = sorted({p.name for p in b.glob("*.parquet")} - set(names))
    if extra:
        print(f"only in {b}: {extra}")
    print("ALL IDENTICAL" if bad == 0 else f"{bad} frame(s) differ")
    return 1 if bad else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("capture", help="run the engine on the fixtures and write the frames")
    c.add_argument("out", type=Path)
    c.add_argument("--root", type=Path, default=ROOT, help="code tree to import geo.proximity from")
    c.add_argument("--sites", type=int, default=100_000, help="synthetic sites (0: real data only)")
    c.add_argument("--polygons", type=int, default=300_000)
    c.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "asm-risk-bench")
    c.add_argument("--category-reach-km", type=float, default=None, help="pass category_reach_km to the PA facts")
    k = sub.add_parser("compare", help="compare two captures bit for bit")
    k.add_argument("a", type=Path)
    k.add_argument("b", type=Path)
    k.add_argument("--drop", default=None, help="regex of column names to leave out on both sides")
    a = ap.parse_args()
    if a.cmd == "capture":
        extra = {} if a.category_reach_km is None else {"category_reach_km": a.category_reach_km}
        capture(a.out, a.root, a.sites, a.polygons, a.data_dir, extra)
    else:
        raise SystemExit(compare(a.a, a.b, a.drop))


if __name__ == "__main__":
    main()
