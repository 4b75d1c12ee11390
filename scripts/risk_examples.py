"""Score issue #11's worked examples through ``python app.py score`` of one or more checkouts.

    .venv/bin/python scripts/risk_examples.py                      # this tree
    .venv/bin/python scripts/risk_examples.py --tree /tmp/risk-base --tree .   # before / after

The sites sit on the parallel 2 degrees south next to a category II park (a disc of 0.2
degrees around 25 E, 2 S); a second run adds a category V reserve 1.4 km from the site 3 km
from the park. The sites file carries both the 1.x ``processing`` column and the 2.0 columns
(``amalgamation``, ``retort``), so each model reads the same site in its own vocabulary.
Prints risk_0_100 (and the class) per site, per tree and per protected-area set.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from pyproj import Geod

ROOT = Path(__file__).resolve().parents[1]
GEOD = Geod(ellps="WGS84")

# name, distance from the park edge (km; 0 inside, None far), workers, gold kg/yr, mercury_use,
# processing (1.x), amalgamation, retort, inside rainforest
EXAMPLES = [
    ("A: docs worked example, inside II + rainforest", 0.0, 1000, None, "yes", "whole_ore_amalgamation", "whole_ore", "no", True),
    ("retort site 0.6 km from the park", 0.6, None, 0.4, "yes", "retort", "concentrate", "yes", False),
    ("10,000-worker whole-ore camp, far", None, 10000, None, "yes", "whole_ore_amalgamation", "whole_ore", "no", False),
    ("one panner, no mercury, inside II", 0.0, 1, None, "no", "gravity_only", "none", "no", False),
    ("1,000-worker whole-ore site 5 km from II", 5.0, 1000, None, "yes", "whole_ore_amalgamation", "whole_ore", "no", False),
    ("200-worker concentrate site 3 km from II", -3.0, 200, None, "yes", "concentrate_amalgamation", "concentrate", "no", False),
]  # fmt: skip


def _point(km: float | None) -> tuple[float, float]:
    if km is None:
        return 30.5, -2.0
    if km == 0.0:
        return 25.0, -2.0
    edge, azimuth = ((25.2, -2.0), 90.0) if km > 0 else ((24.8, -2.0), 270.0)
    lon, lat, _ = GEOD.fwd(edge[0], edge[1], azimuth, abs(km) * 1000.0)
    return lon, lat


def write_inputs(tmp: Path) -> tuple[Path, Path, Path, Path]:
    rows = []
    for name, km, workers, gold, hg, proc, amalg, retort, rainforest in EXAMPLES:
        lon, lat = _point(km)
        rows.append((name, lon, lat, "gold", workers, gold, hg, proc, amalg, retort, rainforest))
    sites = pd.DataFrame(
        rows,
        columns=["name", "lon", "lat", "commodity", "workers", "gold_kg_per_yr", "mercury_use", "processing",
                 "amalgamation", "retort", "in_rf"],
    )  # fmt: skip
    sites_path = tmp / "sites.csv"
    sites.drop(columns="in_rf").to_csv(sites_path, index=False)
    forest = gpd.GeoDataFrame(
        geometry=[
            shapely.Point(lon, lat).buffer(0.01)
            for lon, lat, f in zip(sites.lon, sites.lat, sites.in_rf, strict=True)
            if f
        ],
        crs="EPSG:4326",
    )
    forest_path = tmp / "rainforest.gpkg"
    forest.to_file(forest_path, driver="GPKG")
    paths = []
    for with_reserve in (False, True):
        geoms = [shapely.Point(25.0, -2.0).buffer(0.2)]
        attrs = [("Test Park", "II", 101)]
        if with_reserve:
            mid = _point(-3.0)
            lon, lat, _ = GEOD.fwd(mid[0], mid[1], 270.0, 1400.0)
            geoms.append(shapely.box(lon - 0.05, lat - 0.02, lon, lat + 0.02))
            attrs.append(("Test Reserve", "V", 102))
        gdf = gpd.GeoDataFrame(
            {"WDPAID": [a[2] for a in attrs], "WDPA_PID": [str(a[2]) for a in attrs], "NAME": [a[0] for a in attrs],
             "DESIG_ENG": "Park", "IUCN_CAT": [a[1] for a in attrs], "STATUS": "Designated", "STATUS_YR": 1970,
             "ISO3": "COD", "MARINE": "0", "REP_AREA": 100.0, "GIS_AREA": 100.0},
            geometry=geoms, crs="EPSG:4326",
        )  # fmt: skip
        path = tmp / ("pa_reserve.gpkg" if with_reserve else "pa_park.gpkg")
        gdf.to_file(path, layer="wdpa_poly", driver="GPKG")
        paths.append(path)
    return sites_path, forest_path, paths[0], paths[1]


def score(tree: Path, sites: Path, forest: Path, pas: Path, out: Path) -> pd.DataFrame:
    r = subprocess.run(
        [sys.executable, str(tree / "app.py"), "score", "--sites", str(sites), "--protected-areas", str(pas),
         "--rainforest", str(forest), "--out", str(out), "--no-progress"],
        cwd=tree, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if r.returncode != 0:
        raise SystemExit(f"{tree}: {r.stderr}")
    return pd.read_csv(out).set_index("name")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", type=Path, action="append", help="checkout to run (repeatable; default: this one)")
    args = parser.parse_args(argv)
    trees = [t.resolve() for t in (args.tree or [ROOT])]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        sites, forest, park, reserve = write_inputs(tmp)
        table = {}
        for i, tree in enumerate(trees):
            for label, pas in (("park", park), ("+V reserve", reserve)):
                out = score(tree, sites, forest, pas, tmp / f"out_{i}_{label[:4]}.csv")
                table[f"{tree.name} {label}"] = [
                    f"{r:5.1f} {c}" + (f" [{lo:.1f}-{hi:.1f}]" if "risk_0_100_low" in out.columns else "")
                    for r, c, lo, hi in zip(
                        out["risk_0_100"],
                        out["risk_class"],
                        out.get("risk_0_100_low", out["risk_0_100"]),
                        out.get("risk_0_100_high", out["risk_0_100"]),
                        strict=True,
                    )
                ]
        frame = pd.DataFrame(table, index=[e[0] for e in EXAMPLES])
        with pd.option_context("display.width", 250, "display.max_columns", 20, "display.max_colwidth", 60):
            print(frame.to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
