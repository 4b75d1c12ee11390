"""The command-line contract: help, exit codes, formats, sidecars and metadata.

These run the real ``python app.py`` in a subprocess, as a user or a pipeline would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, cwd: Path | None = None, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, str(ROOT / "app.py"), *args],
        capture_output=True, text=True, timeout=300, cwd=cwd or ROOT, env=env,
    )  # fmt: skip


@pytest.fixture
def pa_file(tmp_path: Path) -> Path:
    """A small WDPA-shaped GeoPackage: one park around (25.0, -2.0), one Proposed."""
    park = shapely.Point(25.0, -2.0).buffer(0.2)
    proposed = shapely.Point(26.0, -2.0).buffer(0.2)
    gdf = gpd.GeoDataFrame(
        {
            "WDPAID": [101, 102], "WDPA_PID": ["101", "102"], "NAME": ["Test Park", "Future Park"],
            "DESIG_ENG": ["National Park", "National Park"], "IUCN_CAT": ["II", "II"],
            "STATUS": ["Designated", "Proposed"], "STATUS_YR": [1970, 0], "ISO3": ["COD", "COD"],
            "MARINE": ["0", "0"], "REP_AREA": [1900.0, 1900.0], "GIS_AREA": [1900.0, 1900.0],
        },
        geometry=[park, proposed], crs="EPSG:4326",
    )  # fmt: skip
    path = tmp_path / "wdpa_test.gpkg"
    gdf.to_file(path, layer="wdpa_poly", driver="GPKG")
    return path


@pytest.fixture
def french_csv(tmp_path: Path) -> Path:
    """A field team's export: ';' separated, decimal commas, latin-1, accents, broken rows."""
    text = (
        "Nom du site;Latitude;Longitude;Substance;Nombre d'orpailleurs;Utilisation du mercure;Date de visite\n"
        "Kamituga Décharge;-3,0612;28,1794;Or;350;Oui;12/03/2021\n"
        "Misisi-Lubichako;-4,5431;28,9876;or, cassitérite;1200;oui;2021-05-14\n"
        "Mukungwe;-2,7200;28,6400;Cassitérite;80;Non;\n"
        "Site sans coordonnées;;28,1;Or;10;Oui;\n"
        "Site illisible;abc;28,2;Or;10;Oui;\n"
        "Site hors limites;95,0;28,3;Or;10;Oui;\n"
        "Près du parc;-2,0;25,25;Or;40;oui;01/01/2022\n"
    )
    path = tmp_path / "sites_fr.csv"
    path.write_bytes(text.encode("latin-1"))
    return path


def test_help_lists_score_and_every_option():
    r = run_cli("--help")
    assert r.returncode == 0
    for word in ("score", "fetch-data", "--host", "--port", "--debug", "--sites", "--protected-areas", "--rainforest",
                 "--reefs", "--arctic", "--raster"):  # fmt: skip
        assert word in r.stdout
    r = run_cli("score", "--help")
    assert r.returncode == 0
    for word in ("--out", "--config", "--sites", ".xlsx", ".gpkg", ".parquet", "rejected"):
        assert word in r.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("score", "--sites", "no_such_file.csv", "--out", "out.csv"), "does not exist"),
        (("score", "--sites", "{csv}", "--out", "out.txt"), "unknown format"),
        (("score", "--out", "out.csv"), "needs --sites"),
        (("score", "--sites", "{csv}", "--out", "out.csv", "--raster", "nonsense"), "NAME=PATH"),
        (("score", "--sites", "{csv}", "--out", "out.csv", "--config", "{badcfg}"), "risk configuration"),
    ],
)
def test_bad_usage_exits_2_with_a_message_and_no_traceback(tmp_path, french_csv, args, expected):
    bad_cfg = tmp_path / "bad.toml"
    bad_cfg.write_text("this is = = not toml\n")
    args = tuple(a.format(csv=french_csv, badcfg=bad_cfg) for a in args)
    r = run_cli(*args, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert expected in r.stderr
    assert "Traceback" not in r.stderr


def test_garbage_sites_file_exits_2(tmp_path):
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(bytes(range(256)) * 20)
    r = run_cli("score", "--sites", str(garbage), "--out", str(tmp_path / "out.csv"))
    assert r.returncode == 2, r.stderr
    assert "garbage.csv" in r.stderr
    assert "Traceback" not in r.stderr


def test_debug_shows_the_traceback(tmp_path):
    r = run_cli("score", "--sites", "missing.csv", "--out", str(tmp_path / "o.csv"), "--debug")
    assert r.returncode != 0
    assert "Traceback" in r.stderr


def test_french_field_csv_every_row_accounted_for(tmp_path, french_csv, pa_file):
    out = tmp_path / "risk.csv"
    r = run_cli("score", "--sites", str(french_csv), "--protected-areas", str(pa_file), "--out", str(out))
    assert r.returncode == 0, r.stderr
    table = pd.read_csv(out)
    rejected = pd.read_csv(tmp_path / "risk.rejected.csv")
    site_rows = rejected[rejected["layer"] == "sites"]
    assert len(table) + len(site_rows) == 7
    assert len(site_rows) == 3
    assert set(site_rows["reason"].str.lower().str.extract(r"(missing|non-numeric|out of range)")[0]) == {
        "missing", "non-numeric", "out of range"
    }  # fmt: skip
    # the Proposed park is excluded by WDPA practice, and reported rather than dropped
    assert (rejected["layer"] == "protected_areas").sum() == 1
    kamituga = table[table["name"] == "Kamituga Décharge"].iloc[0]
    assert kamituga["lat"] == pytest.approx(-3.0612)
    assert kamituga["lon"] == pytest.approx(28.1794)
    assert kamituga["commodity"] == "gold"
    assert kamituga["mercury_use"] == "yes"
    assert kamituga["country_iso3"] == "COD"
    near = table[table["name"] == "Près du parc"].iloc[0]
    assert near["nearest_protected_area"] == "Test Park"
    assert not near["in_protected_area"]
    assert 0 < near["dist_protected_area_km"] < 10
    assert table["risk_0_100"].min() >= 0 and table["risk_0_100"].max() <= 100
    contrib = table[[c for c in table.columns if c.startswith("contrib_")]].sum(axis=1)
    assert contrib.to_numpy() == pytest.approx(table["risk_0_100"].to_numpy(), abs=1e-6)
    about = (tmp_path / "risk.about.txt").read_text()
    assert "Method:" in about and "Data sources:" in about and "weights" in about.lower()
    last = r.stdout.strip().splitlines()[-1]
    assert last.startswith("scored 4 sites, rejected 4 (3 sites, 1 protected areas)") and "elapsed" in last


def test_a_finished_command_skips_the_teardown_but_says_and_writes_everything(tmp_path, french_csv, pa_file):
    """``python app.py score`` ends with ``os._exit`` once everything is written (the interpreter's module
    teardown is 0.3-0.5 s of every run): an exit hook shows it is skipped, while the output, its sidecars, the
    last line on stdout, the warnings on stderr and the exit code are all there; a bad input still exits 2."""
    out = tmp_path / "risk.parquet"
    probe = (
        "import atexit, runpy, sys\n"
        "atexit.register(lambda: print('TEARDOWN RAN', flush=True))\n"
        "sys.argv = ['app.py', *sys.argv[1:]]\n"
        f"runpy.run_path({str(ROOT / 'app.py')!r}, run_name='__main__')\n"
    )
    args = ["score", "--sites", str(french_csv), "--protected-areas", str(pa_file), "--out", str(out), "--no-progress"]
    r = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "TEARDOWN RAN" not in r.stdout
    assert r.stdout.strip().splitlines()[-1].startswith("scored 4 sites, rejected 4")
    assert "warning:" in r.stderr
    assert len(pd.read_parquet(out)) == 4 and (tmp_path / "risk.rejected.csv").exists()
    assert not list(tmp_path.glob("*.tmp*")) and not list(tmp_path.glob(".*"))  # nothing half-written
    bad = subprocess.run(
        [sys.executable, "-c", probe, "score", "--sites", str(tmp_path / "absent.csv"), "--out", str(out)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert bad.returncode == 2 and "absent.csv" in bad.stderr and "TEARDOWN RAN" not in bad.stdout
    # the dashboard is not a batch command: it ends as any program does
    assert run_cli("--help").returncode == 0


def test_under_a_profiler_a_finished_command_ends_normally_so_the_profile_is_written(tmp_path, french_csv):
    """``python -m cProfile -o F app.py score ...`` (or coverage, a debugger) writes its results at exit:
    the fast exit steps aside when a profiler or tracer is active."""
    prof = tmp_path / "score.prof"
    args = ["score", "--sites", str(french_csv), "--out", str(tmp_path / "r.csv"), "--no-progress"]
    r = subprocess.run(
        [sys.executable, "-m", "cProfile", "-o", str(prof), str(ROOT / "app.py"), *args],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert prof.exists() and prof.stat().st_size > 0


@pytest.mark.parametrize("ext", [".xlsx", ".geojson", ".gpkg", ".parquet"])
def test_every_output_format_carries_method_and_sources(tmp_path, french_csv, pa_file, ext):
    out = tmp_path / f"risk{ext}"
    r = run_cli("score", "--sites", str(french_csv), "--protected-areas", str(pa_file), "--out", str(out))
    assert r.returncode == 0, r.stderr
    if ext == ".xlsx":
        sheets = pd.read_excel(out, sheet_name=None)
        assert set(sheets) == {"Risk", "Method"}
        assert len(sheets["Risk"]) == 4
        method_text = "\n".join(sheets["Method"].iloc[:, 0].fillna("").astype(str))
        assert "Method:" in method_text and "Data sources:" in method_text
    elif ext == ".geojson":
        gdf = gpd.read_file(out)
        assert len(gdf) == 4 and "risk_0_100" in gdf.columns
        assert (tmp_path / "risk.about.txt").exists()
    elif ext == ".gpkg":
        import pyogrio

        info = pyogrio.read_info(out, layer="asm_risk")
        assert info["features"] == 4
        meta = pyogrio.read_info(out)["dataset_metadata"] or {}
        assert "Method:" in meta.get("asm_risk_about", "")
    else:
        import pyarrow.parquet as pq

        meta = pq.read_schema(out).metadata
        assert b"Method:" in meta[b"asm_risk_about"]
        assert b"geo" in meta  # still valid GeoParquet
        assert len(gpd.read_parquet(out)) == 4


def test_no_rejections_leaves_no_stale_sidecar(tmp_path, pa_file):
    csv = tmp_path / "ok.csv"
    csv.write_text("name,lat,lon,commodity\nA,-2.5,25.1,gold\nB,-2.6,25.2,diamond\n")
    stale = tmp_path / "out.rejected.csv"
    stale.write_text("old\n")
    r = run_cli("score", "--sites", str(csv), "--out", str(tmp_path / "out.csv"))
    assert r.returncode == 0, r.stderr
    assert not stale.exists()
    assert r.stdout.strip().splitlines()[-1].startswith("scored 2 sites, rejected 0, elapsed")
    assert "no protected-area layer given" in r.stderr


def test_dask_engine_from_the_cli_equals_the_single_engine(tmp_path, french_csv, pa_file):
    single, dask_out = tmp_path / "single.csv", tmp_path / "dask.csv"
    common = ("score", "--sites", str(french_csv), "--protected-areas", str(pa_file), "--no-progress")
    r1 = run_cli(*common, "--out", str(single))
    r2 = run_cli(*common, "--out", str(dask_out), "--engine", "dask", "--workers", "2", "--partition-size", "2")
    assert r1.returncode == 0, r1.stderr
    assert r2.returncode == 0, r2.stderr
    a, b = pd.read_csv(single), pd.read_csv(dask_out)
    pd.testing.assert_frame_equal(a, b, check_exact=False, atol=1e-9, rtol=0)


def test_scheduler_without_dask_engine_is_a_usage_error(tmp_path, french_csv):
    r = run_cli("score", "--sites", str(french_csv), "--out", str(tmp_path / "o.csv"), "--workers", "2")
    assert r.returncode == 2
    assert "need --engine dask" in r.stderr
    r = run_cli("score", "--sites", str(french_csv), "--out", str(tmp_path / "o.csv"), "--partition-size", "10")
    assert r.returncode == 2 and "need --engine dask" in r.stderr


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (("--port", "99999"), {}, "port"),
        (("score", "--sites", "x.csv", "--out", "y.csv"), {"ASM_BUFFER_DISTANCES_KM": "[-1]"}, "buffer_distances_km"),
    ],
)
def test_invalid_settings_are_usage_errors(tmp_path, args, env, expected):
    r = run_cli(*args, cwd=tmp_path, env_extra=env)
    assert r.returncode == 2, r.stderr
    assert expected in r.stderr and "Traceback" not in r.stderr
