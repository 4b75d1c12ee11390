"""`python app.py screen` and `python app.py change`: the CLI contract (exit codes 0 / 2 / 1, one summary line,
rejected rows with reasons), hand-built files with known answers checked against independent references
(pyproj.Geod distances, Lambert azimuthal equal-area areas), every output format, the AOI report, and the
Amazon Mining Watch layers.

These run the real ``python app.py`` in a subprocess, as a user or a pipeline would.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from tests.cli.test_cli import run_cli
from tests.geo.references import laea_area_km2, ref_distance_km

GEOD = pyproj.Geod(ellps="WGS84")
AOI_BOX = (25.0, -2.5, 25.5, -2.0)  # lon/lat box: the concession
PARK_A = (25.3, -2.4, 25.8, -2.1)  # half inside the concession
PARK_B = (25.75, -2.4, 25.9, -2.1)  # ~28 km east of the concession's edge: beyond a 10 km buffer
PARK_C = (25.1, -1.95, 25.2, -1.9)  # ~5.5 km north of it: within the buffer, no overlap


def _east(lon: float, lat: float, km: float, azimuth: float = 90.0) -> tuple[float, float]:
    x, y, _ = GEOD.fwd(lon, lat, azimuth, km * 1000.0)
    return float(x), float(y)


NEAR = _east(25.5, -2.2, 5.0)  # 5 km east of the east edge
FAR = _east(25.5, -2.3, 20.0)  # 20 km east: outside the buffer
WEST = _east(25.0, -2.1, 9.0, 270.0)  # 9 km west of the west edge


@pytest.fixture
def concession(tmp_path: Path) -> Path:
    path = tmp_path / "concession.geojson"
    gpd.GeoDataFrame({"name": ["Concession A"]}, geometry=[shapely.box(*AOI_BOX)], crs="EPSG:4326").to_file(path)
    return path


@pytest.fixture
def sites_csv(tmp_path: Path) -> Path:
    rows = [
        ("s-in", "Inside", -2.25, 25.25, "2019-05-01"),
        ("s-near", "Near east", NEAR[1], NEAR[0], "2020-03-01"),
        ("s-far", "Far east", FAR[1], FAR[0], "2021-01-01"),
        ("s-west", "Near west", WEST[1], WEST[0], ""),
        ("s-park", "In park A", -2.3, 25.6, "2019-07-01"),
    ]
    text = "site_id,name,lat,lon,commodity,workers,mercury_use,observed_date\n"
    text += "".join(f"{i},{n},{la:.6f},{lo:.6f},gold,50,yes,{d}\n" for i, n, la, lo, d in rows)
    text += "s-bad,Broken,abc,25.3,gold,10,yes,\n"
    path = tmp_path / "sites.csv"
    path.write_text(text)
    return path


@pytest.fixture
def parks(tmp_path: Path) -> Path:
    gdf = gpd.GeoDataFrame(
        {
            "WDPAID": [1, 2, 3], "WDPA_PID": ["1", "2", "3"], "NAME": ["Park A", "Park B", "Park C"],
            "DESIG_ENG": ["National Park", "Forest Reserve", "Nature Reserve"], "IUCN_CAT": ["II", "VI", "Ia"],
            "STATUS": ["Designated"] * 3, "STATUS_YR": [1990] * 3, "ISO3": ["COD"] * 3, "MARINE": ["0"] * 3,
            "REP_AREA": [1.0] * 3, "GIS_AREA": [1.0] * 3,
        },
        geometry=[shapely.box(*PARK_A), shapely.box(*PARK_B), shapely.box(*PARK_C)], crs="EPSG:4326",
    )  # fmt: skip
    path = tmp_path / "parks.gpkg"
    gdf.to_file(path, layer="wdpa_poly", driver="GPKG")
    return path


def _summary(r) -> str:
    lines = [line for line in r.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, r.stdout  # one summary line on stdout
    return lines[0]


# --------------------------------------------------------------------------------- screen: known answers
def test_screen_selects_by_geodesic_distance_and_measures_overlaps(concession, sites_csv, parks, tmp_path):
    out = tmp_path / "screen.csv"
    r = run_cli("screen", "--aoi", str(concession), "--sites", str(sites_csv), "--protected-areas", str(parks),
                "--buffer-km", "10", "--out", str(out), "--no-progress")  # fmt: skip
    assert r.returncode == 0, r.stderr
    line = _summary(r)
    assert (
        line.startswith("screened concession.geojson")
        and "3 sites (1 inside, 2 within 10 km)" in line
        and str(out) in line
    )
    assert "rejected 1 (1 sites)" in line and "screen.rejected.csv" in line
    table = pd.read_csv(out).set_index("site_id")
    assert sorted(table.index) == ["s-in", "s-near", "s-west"]  # s-far (20 km) and the park site (>10 km) are out
    assert list(table.columns[:6]) == ["name", "in_aoi", "dist_aoi_km", "aoi_id", "aoi_name", "aoi_ids"]
    assert table["in_aoi"].to_dict() == {"s-in": True, "s-near": False, "s-west": False}
    box = shapely.box(*AOI_BOX)
    for sid, (lon, lat) in {"s-near": NEAR, "s-west": WEST}.items():
        ref = ref_distance_km(lon, lat, box)
        assert abs(table.loc[sid, "dist_aoi_km"] - ref) <= max(0.05, 0.005 * ref), (sid, ref)
    assert table.loc["s-in", "dist_aoi_km"] == 0.0
    assert list(table.index) == list(table.sort_values("risk_0_100", ascending=False, kind="stable").index)
    for col in ("risk_0_100", "risk_0_100_low", "risk_0_100_high", "p_high_or_above", "hg_kg_per_yr", "risk_class"):
        assert col in table.columns  # the full score contract
    assert (out.with_suffix(".about.txt")).read_text().count("buffer km") == 1

    pas = pd.read_csv(tmp_path / "screen.protected_areas.csv").set_index("name")
    assert sorted(pas.index) == ["Park A", "Park C"]  # Park B lies ~28 km away
    overlap = shapely.box(*AOI_BOX).intersection(shapely.box(*PARK_A))
    ref_overlap, ref_park = laea_area_km2(overlap), laea_area_km2(shapely.box(*PARK_A))
    assert pas.loc["Park A", "overlap_km2"] == pytest.approx(ref_overlap, rel=0.01)
    assert pas.loc["Park A", "overlap_pct"] == pytest.approx(100 * ref_overlap / ref_park, rel=0.01)
    assert pas.loc["Park A", "dist_km"] == 0.0 and pas.loc["Park A", "iucn_cat"] == "II"
    assert pas.loc["Park C", "overlap_km2"] == 0.0
    ref_c = min(ref_distance_km(x, y, box) for x, y in shapely.box(*PARK_C).exterior.coords)
    assert pas.loc["Park C", "dist_km"] == pytest.approx(ref_c, rel=0.005, abs=0.05)

    rejected = pd.read_csv(tmp_path / "screen.rejected.csv")
    assert rejected["layer"].tolist() == ["sites"] and "s-bad" in rejected.to_string()
    assert rejected["reason"].str.len().min() > 10


def test_screen_scores_equal_the_score_command(concession, sites_csv, parks, tmp_path):
    """The selection's facts are computed for the selected sites only: the same numbers as a full `score`."""
    screen_out, score_out = tmp_path / "screen.csv", tmp_path / "score.csv"
    common = ("--sites", str(sites_csv), "--protected-areas", str(parks), "--no-progress")
    assert run_cli("screen", "--aoi", str(concession), "--out", str(screen_out), *common).returncode == 0
    assert run_cli("score", "--out", str(score_out), *common).returncode == 0
    screened = pd.read_csv(screen_out).set_index("site_id")
    scored = pd.read_csv(score_out).set_index("site_id").loc[screened.index]
    # the same contract: every column of score (bands, per-IUCN-category distances...) plus the AOI's
    aoi_columns = ["in_aoi", "dist_aoi_km", "aoi_id", "aoi_name", "aoi_ids"]
    assert [c for c in screened.columns if c not in aoi_columns] == list(scored.columns)
    assert any(c.startswith("dist_protected_area_iucn_") for c in scored.columns)
    numeric = [c for c in scored.columns if pd.api.types.is_numeric_dtype(scored[c])]
    for col in numeric:
        np.testing.assert_allclose(
            screened[col].to_numpy(float), scored[col].to_numpy(float), rtol=1e-9, atol=1e-9, err_msg=col
        )
    assert (screened["risk_class"] == scored["risk_class"]).all()


def test_screen_reads_local_files_of_any_size_and_says_when_no_protected_area_layer(concession, sites_csv, tmp_path):
    """As `score`: ASM_MAX_UPLOAD_MB bounds browser uploads, not the files named on the command line
    (the AOI included); without a protected-area layer the summary says so."""
    out = tmp_path / "screen.csv"
    r = run_cli("screen", "--aoi", str(concession), "--sites", str(sites_csv), "--out", str(out), "--no-progress",
                env_extra={"ASM_MAX_UPLOAD_MB": "0.00001"})  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert _summary(r).endswith("; NO protected-area layer (see the first warning)")
    assert "no protected-area layer" in r.stderr.splitlines()[0].lower()


@pytest.mark.parametrize("ext", [".csv", ".xlsx", ".geojson", ".gpkg", ".parquet"])
def test_screen_writes_every_table_format(ext, concession, sites_csv, parks, tmp_path):
    out = tmp_path / f"screen{ext}"
    r = run_cli("screen", "--aoi", str(concession), "--sites", str(sites_csv), "--protected-areas", str(parks),
                "--out", str(out), "--no-progress")  # fmt: skip
    assert r.returncode == 0, r.stderr
    if ext == ".csv":
        frame = pd.read_csv(out)
    elif ext == ".xlsx":
        frame = pd.read_excel(out, sheet_name="Risk")
        method = pd.read_excel(out, sheet_name="Method").iloc[:, 0].astype(str).str.cat(sep="\n")
        assert "buffer km" in method and "concession.geojson" in method
    elif ext == ".parquet":
        frame = gpd.read_parquet(out)
    else:
        frame = gpd.read_file(out)
    assert sorted(frame["site_id"]) == ["s-in", "s-near", "s-west"]
    assert frame["in_aoi"].astype(bool).sum() == 1
    assert (tmp_path / "screen.protected_areas.csv").exists() and (tmp_path / "screen.ecosystems.csv").exists()


def test_screen_report_is_offline_and_complete(concession, sites_csv, parks, tmp_path):
    from reports.aoi_report import report_site_count

    out = tmp_path / "report.html"
    r = run_cli("screen", "--aoi", str(concession), "--sites", str(sites_csv), "--protected-areas", str(parks),
                "--out", str(out), "--no-progress")  # fmt: skip
    assert r.returncode == 0, r.stderr
    text = out.read_text(encoding="utf-8")
    for needle in ("Concession A", "Park A", "Park C", "National Park", "Mercury release", "Method",
                   "Data sources", "s-in", "s-near", "s-west", "kg/yr", "% of the PA"):  # fmt: skip
        assert needle in text, needle
    assert "Park B" not in text and "s-far" not in text
    assert report_site_count(text) == 3
    # nothing to fetch: no external script, stylesheet, image, font or frame
    assert not re.search(r"<(script|img|iframe|link|source)[^>]+(src|href)\s*=\s*['\"]?(https?:)?//", text, re.I)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", text, re.I)
    assert text.count("<script type='text/javascript'>/**") <= 1  # plotly.js inlined once


def test_screen_report_says_which_scores_are_partial(concession, sites_csv, parks, tmp_path):
    """With sites and protected areas only, rainforest, reefs and water were not assessed: the report says so
    (per site, and how many sites per receptor), as the dashboard's table and briefing pack do."""
    out = tmp_path / "report.html"
    r = run_cli("screen", "--aoi", str(concession), "--sites", str(sites_csv), "--protected-areas", str(parks),
                "--out", str(out), "--no-progress")  # fmt: skip
    assert r.returncode == 0, r.stderr
    text = out.read_text(encoding="utf-8")
    assert "Receptors not assessed" in text and "these scores are partial" in text
    for label in ("rainforest", "coral reefs", "rivers and lakes"):
        assert f"<li>{label}: 3 of 3 sites</li>" in text, label
    assert not re.search(r"<li>protected areas: [\d,]+ of", text)  # loaded, so assessed
    assert "receptors not assessed (partial score)" in text
    assert (
        len(re.findall(r"<td>rainforest, coral reefs, rivers and lakes</td>", text)) == 3
    )  # each site: what its score lacks


def test_screen_union_and_a_road_with_a_buffer(sites_csv, parks, tmp_path):
    """Two overlapping polygons screened as their union, and a line (a road) screened within its buffer."""
    two = tmp_path / "two.geojson"
    gpd.GeoDataFrame(
        {"aoi_id": ["w", "e"], "name": ["west", "east"]},
        geometry=[shapely.box(25.0, -2.5, 25.3, -2.0), shapely.box(25.2, -2.5, 25.5, -2.0)], crs="EPSG:4326",
    ).to_file(two)  # fmt: skip
    out = tmp_path / "union.csv"
    r = run_cli("screen", "--aoi", str(two), "--union", "--sites", str(sites_csv), "--protected-areas", str(parks),
                "--out", str(out), "--no-progress")  # fmt: skip
    assert r.returncode == 0, r.stderr
    table = pd.read_csv(out).set_index("site_id")
    assert sorted(table.index) == ["s-in", "s-near", "s-west"]
    assert table["aoi_id"].to_dict() == {"s-near": "e", "s-in": "w", "s-west": "w"}  # each site's nearest feature
    pas = pd.read_csv(tmp_path / "union.protected_areas.csv").set_index("name")
    assert (pas["aoi_id"] == "union").all()  # one screening unit: overlaps of the union, counted once
    overlap = shapely.box(*AOI_BOX).intersection(shapely.box(*PARK_A))
    assert pas.loc["Park A", "overlap_km2"] == pytest.approx(laea_area_km2(overlap), rel=0.01)
    road = tmp_path / "road.geojson"
    line = shapely.LineString([(25.25, -2.6), (25.25, -1.9)])
    gpd.GeoDataFrame({"name": ["road"]}, geometry=[line], crs="EPSG:4326").to_file(road)
    out2 = tmp_path / "road.csv"
    r = run_cli("screen", "--aoi", str(road), "--buffer-km", "5", "--sites", str(sites_csv),
                "--out", str(out2), "--no-progress")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert pd.read_csv(out2)["site_id"].tolist() == ["s-in"]  # 0 km from the road; the others are > 25 km
    # a line's AOI is its corridor: the summary says where the site lies, not "(1 inside)" a line
    assert "1 site (all within 5 km of the lines)" in _summary(r), r.stdout
    # a road with no buffer encloses nothing: a usage problem, exit 2, and the message says how to fix it
    r = run_cli("screen", "--aoi", str(road), "--buffer-km", "0", "--sites", str(sites_csv),
                "--out", str(tmp_path / "x.csv"), "--no-progress")  # fmt: skip
    assert r.returncode == 2 and "buffer" in r.stderr and "Fix:" in r.stderr and "Traceback" not in r.stderr


def test_screen_rejects_unusable_aoi_rows_with_reasons(sites_csv, tmp_path):
    aoi = tmp_path / "mixed.geojson"
    aoi.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"name": "ok"},
                        "geometry": shapely.box(*AOI_BOX).__geo_interface__,
                    },
                    {"type": "Feature", "properties": {"name": "no geometry"}, "geometry": None},
                ],
            }
        )
    )
    out = tmp_path / "s.csv"
    r = run_cli("screen", "--aoi", str(aoi), "--sites", str(sites_csv), "--out", str(out), "--no-progress")
    assert r.returncode == 0, r.stderr
    rejected = pd.read_csv(tmp_path / "s.rejected.csv")
    assert set(rejected["layer"]) == {"aoi", "sites"}
    assert rejected.loc[rejected["layer"] == "aoi", "reason"].str.contains("geometry").all()


@pytest.mark.parametrize(
    "args, needle",
    [
        (("--out", "x.txt"), "unknown format"),
        (("--out", "x.csv", "--buffer-km", "-3"), "--buffer-km"),
        (("--out", "x.csv", "--buffer-km", "900"), "--buffer-km"),
    ],
)
def test_screen_usage_errors_exit_2(args, needle, concession, sites_csv, tmp_path):
    r = run_cli("screen", "--aoi", str(concession), "--sites", str(sites_csv), *args, cwd=tmp_path)
    assert r.returncode == 2 and needle in r.stderr and "Traceback" not in r.stderr


def test_screen_needs_sites_and_a_readable_aoi(concession, sites_csv, tmp_path):
    r = run_cli("screen", "--aoi", str(concession), "--out", str(tmp_path / "x.csv"))
    assert r.returncode == 2 and "--sites" in r.stderr
    r = run_cli(
        "screen",
        "--aoi",
        str(tmp_path / "missing.geojson"),
        "--sites",
        str(sites_csv),
        "--out",
        str(tmp_path / "x.csv"),
    )
    assert r.returncode == 2 and "missing.geojson" in r.stderr and "Traceback" not in r.stderr
    empty = tmp_path / "empty.geojson"
    empty.write_text('{"type": "FeatureCollection", "features": []}')
    r = run_cli("screen", "--aoi", str(empty), "--sites", str(sites_csv), "--out", str(tmp_path / "x.csv"))
    assert r.returncode == 2 and "error:" in r.stderr and "Traceback" not in r.stderr


# --------------------------------------------------------------------------------- change: known answers
@pytest.fixture
def footprints(tmp_path: Path) -> list[Path]:
    """2019: F1 inside park A, F2 across its west edge (x = 25.3); 2020: F3 overlapping F1 (mined again) and a
    point (a site, not a footprint: rejected)."""
    f1 = shapely.box(25.40, -2.30, 25.45, -2.25)
    f2 = shapely.box(25.28, -2.20, 25.32, -2.16)
    f3 = shapely.box(25.43, -2.30, 25.48, -2.25)
    p2019 = tmp_path / "mining_2019.geojson"
    gpd.GeoDataFrame({"id": [1, 2]}, geometry=[f1, f2], crs="EPSG:4326").to_file(p2019)
    p2020 = tmp_path / "mining_2020.geojson"
    gpd.GeoDataFrame({"id": [3, 4]}, geometry=[f3, shapely.Point(25.5, -2.2)], crs="EPSG:4326").to_file(p2020)
    return [p2019, p2020]


def test_change_areas_per_year_and_cumulative_match_equal_area_references(footprints, parks, sites_csv, tmp_path):
    out = tmp_path / "change.csv"
    r = run_cli("change", "--mining", str(footprints[0]), "--mining", str(footprints[1]), "--protected-areas",
                str(parks), "--sites", str(sites_csv), "--buffer-km", "10", "--out", str(out), "--no-progress")  # fmt: skip
    assert r.returncode == 0, r.stderr
    line = _summary(r)
    assert line.startswith("change: 3 mining footprints 2019-2020 inside 1 protected area with mining")
    assert "rejected 2 (1 mining, 1 sites)" in line
    table = pd.read_csv(out)
    park_a = table[table["target_name"] == "Park A"].set_index("year")
    a = shapely.box(*PARK_A)
    f1, f2, f3 = (shapely.box(25.40, -2.30, 25.45, -2.25), shapely.box(25.28, -2.20, 25.32, -2.16),
                  shapely.box(25.43, -2.30, 25.48, -2.25))  # fmt: skip
    lon0, lat0 = 25.55, -2.25
    ref_2019 = laea_area_km2(shapely.union_all([f1, f2]).intersection(a), lon0, lat0)
    ref_2020 = laea_area_km2(f3.intersection(a), lon0, lat0)
    ref_cum = laea_area_km2(shapely.union_all([f1, f2, f3]).intersection(a), lon0, lat0)
    assert park_a.loc[2019, "mining_km2"] == pytest.approx(ref_2019, rel=0.01)
    assert park_a.loc[2020, "mining_km2"] == pytest.approx(ref_2020, rel=0.01)
    assert park_a.loc[2019, "mining_km2_cumulative"] == pytest.approx(ref_2019, rel=0.01)
    assert park_a.loc[2020, "mining_km2_cumulative"] == pytest.approx(ref_cum, rel=0.01)
    assert park_a.loc[2020, "mining_km2_cumulative"] < park_a.loc[2019, "mining_km2"] + park_a.loc[2020, "mining_km2"]
    ref_all = laea_area_km2(shapely.union_all([f1, f2, f3]), lon0, lat0)  # every footprint lies within 10 km
    assert park_a.loc[2020, "mining_km2_cumulative_within_10km"] == pytest.approx(ref_all, rel=0.01)
    assert park_a.loc[2020, "mined_pct_cumulative"] == pytest.approx(100 * ref_cum / laea_area_km2(a), rel=0.01)
    assert (park_a["country_iso3"] == "COD").all() and (park_a["iucn_cat"] == "II").all()
    # the dated sites inside park A: s-park first observed in 2019, s-near in 2020
    assert park_a["sites_new"].to_dict() == {2019: 1, 2020: 1}
    assert park_a["sites_cumulative"].to_dict() == {2019: 1, 2020: 2}
    assert "Park B" not in set(table["target_name"])  # no mining in it or within 10 km? it is 28 km off F3's east
    rejected = pd.read_csv(tmp_path / "change.rejected.csv")
    assert rejected["layer"].tolist() == ["mining", "sites"] and "not a polygon" in rejected["reason"].iat[0]
    about = (tmp_path / "change.about.txt").read_text()
    assert "mining_2019.geojson (sha256 " in about and "EPSG:6933" in about  # named as every dataset: name and hash
    assert str(tmp_path) not in about  # never a folder


def test_change_summary_names_an_unnamed_protected_area_by_its_id(footprints, tmp_path):
    """A protected-area file without a name column: the summary said "fastest growth  (+… km2)"."""
    park = tmp_path / "unnamed_park.geojson"
    gpd.GeoDataFrame({"area_ha": [1.0]}, geometry=[shapely.box(*PARK_A)], crs="EPSG:4326").to_file(park)
    out = tmp_path / "change.csv"
    r = run_cli("change", "--mining", str(footprints[0]), "--mining", str(footprints[1]), "--protected-areas",
                str(park), "--out", str(out), "--no-progress")  # fmt: skip
    assert r.returncode == 0, r.stderr
    pa_id = pd.read_csv(out)["target_id"].iat[0]
    assert re.search(rf", fastest growth unnamed \({re.escape(str(pa_id))}\) \(\+[0-9.]+ km2\)", _summary(r)), r.stdout


@pytest.mark.parametrize("ext", [".xlsx", ".geojson", ".gpkg", ".parquet"])
def test_change_writes_every_format(ext, footprints, parks, tmp_path):
    out = tmp_path / f"change{ext}"
    r = run_cli("change", "--mining", str(footprints[0]), "--mining", str(footprints[1]), "--protected-areas",
                str(parks), "--out", str(out), "--no-progress")  # fmt: skip
    assert r.returncode == 0, r.stderr
    if ext == ".xlsx":
        frame = pd.read_excel(out, sheet_name="Mining by year")
        assert "Method" in pd.ExcelFile(out).sheet_names
    else:
        frame = gpd.read_parquet(out) if ext == ".parquet" else gpd.read_file(out)
        park = frame[frame["target_name"] == "Park A"]
        assert (
            park.geometry.iloc[0].equals_exact(shapely.box(*PARK_A).normalize(), 1e-9)
            or park.geometry.iloc[0].symmetric_difference(shapely.box(*PARK_A)).area < 1e-12
        )
    assert sorted(frame["year"].unique()) == [2019, 2020]


def test_change_contract_errors(footprints, parks, tmp_path):
    r = run_cli("change", "--mining", str(footprints[0]), "--out", str(tmp_path / "c.csv"))
    assert r.returncode == 2 and "--protected-areas" in r.stderr
    r = run_cli(
        "change", "--mining", str(footprints[0]), "--protected-areas", str(parks), "--out", str(tmp_path / "c.txt")
    )
    assert r.returncode == 2 and "unknown format" in r.stderr
    r = run_cli("change", "--protected-areas", str(parks), "--out", str(tmp_path / "c.csv"))
    assert r.returncode == 2 and "--mining" in r.stderr
    nameless = tmp_path / "footprints.geojson"
    gpd.GeoDataFrame({"id": [1]}, geometry=[shapely.box(25.4, -2.3, 25.45, -2.25)], crs="EPSG:4326").to_file(nameless)
    r = run_cli("change", "--mining", str(nameless), "--protected-areas", str(parks), "--out", str(tmp_path / "c.csv"))
    assert r.returncode == 2 and "no year" in r.stderr and "Fix:" in r.stderr


@pytest.mark.parametrize("command", ["score", "screen", "change"])
def test_the_commands_never_import_the_dashboard(command, concession, sites_csv, parks, footprints, tmp_path):
    """The CLI writes through scoring.writers and reports/ (plotly, never dash): no `dashboard`, `dash` or
    `flask` module is ever loaded, the AOI report included."""
    import subprocess

    root = Path(__file__).resolve().parents[2]
    args = {
        "score": ["score", "--sites", str(sites_csv), "--out", str(tmp_path / "o.csv")],
        "screen": [
            "screen",
            "--aoi",
            str(concession),
            "--sites",
            str(sites_csv),
            "--protected-areas",
            str(parks),
            "--out",
            str(tmp_path / "o.html"),
        ],
        "change": [
            "change",
            "--mining",
            str(footprints[0]),
            "--protected-areas",
            str(parks),
            "--out",
            str(tmp_path / "o.csv"),
        ],
    }[command]
    probe = (
        "import os, sys, runpy; sys.argv = ['app.py', *sys.argv[1:], '--no-progress']\n"
        "def _exit(code):\n    raise SystemExit(code)\n"
        "os._exit = _exit  # app.exit_now skips the teardown: let this probe look at the modules first\n"
        f"try:\n    runpy.run_path({str(root / 'app.py')!r}, run_name='__main__')\n"
        "except SystemExit as exc:\n    code = exc.code\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('dashboard', 'dash', 'flask'))\n"
        "print('EXIT', code, 'LOADED', loaded)\n"
    )
    r = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=300, cwd=root)
    assert "EXIT 0 LOADED []" in r.stdout, r.stdout + r.stderr


# --------------------------------------------------------------------------------- real data
AMW = "amazon_mining_watch"
YEARS = range(2018, 2025)


@pytest.mark.slow
def test_change_on_the_seven_amw_years(shared_data, tmp_path):
    data = shared_data / AMW
    mining = [data / f"mining_{y}00_simplified.geojson" for y in YEARS]
    out = tmp_path / "amw.csv"
    args = [a for p in mining for a in ("--mining", str(p))]
    r = run_cli("change", *args, "--protected-areas", str(data / "protected_areas_impacts.geojson"),
                "--out", str(out), "--no-progress")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "39,227 mining footprints 2018-2024" in r.stdout
    table = pd.read_csv(out)
    assert sorted(table["year"].unique()) == list(YEARS)
    assert set(table["country_iso3"].dropna()) >= {"BRA", "PER", "BOL"}
    # Tambopata (Peru): our cumulative figure against an independent LAEA area of the clipped union
    pas = gpd.read_file(data / "protected_areas_impacts.geojson")
    park = shapely.union_all(pas.loc[pas["id"] == "PERN09_0"].geometry.values)
    shapely.prepare(park)
    feet = []
    for p in mining:
        g = gpd.read_file(p).geometry.values
        feet.extend(g[shapely.intersects(g, park)])
    ref = laea_area_km2(shapely.union_all(shapely.make_valid(np.asarray(feet))).intersection(park))
    ours = table[(table["target_id"] == "PERN09_0") & (table["year"] == 2024)]["mining_km2_cumulative"].iat[0]
    assert ours == pytest.approx(ref, rel=0.01)


@pytest.mark.slow
def test_screen_a_protected_area_as_the_aoi_on_amw_data(shared_data, tmp_path):
    data = shared_data / AMW
    pas = gpd.read_file(data / "protected_areas_impacts.geojson")
    crepori = pas[pas["id"] == "BR561_0"][["name_field", "geometry"]].rename(columns={"name_field": "name"})
    aoi = tmp_path / "crepori.geojson"
    crepori.to_file(aoi)
    out = tmp_path / "crepori.csv"
    sites = data / "mining_202400_simplified.geojson"
    r = run_cli("screen", "--aoi", str(aoi), "--buffer-km", "10", "--sites", str(sites), "--protected-areas",
                str(data / "protected_areas_impacts.geojson"), "--out", str(out), "--no-progress")  # fmt: skip
    assert r.returncode == 0, r.stderr
    table = pd.read_csv(out)
    footprints = gpd.read_file(sites)
    park = crepori.geometry.iat[0]
    inside_ref = int(shapely.intersects(footprints.geometry.values, park).sum())
    assert int(table["in_aoi"].sum()) == inside_ref
    # the buffer's edge against an independent planar distance in a local equal-area projection
    laea = f"+proj=laea +lat_0={park.centroid.y} +lon_0={park.centroid.x} +ellps=WGS84 +units=m"
    d_km = footprints.to_crs(laea).distance(crepori.to_crs(laea).geometry.iat[0]).to_numpy() / 1000
    assert (d_km < 9.9).sum() <= len(table) <= (d_km < 10.1).sum()
    listed = pd.read_csv(tmp_path / "crepori.protected_areas.csv").set_index("pa_id")
    assert listed.loc["BR561_0", "overlap_pct"] == pytest.approx(100.0, abs=0.01)


@pytest.mark.slow
def test_screen_on_the_dask_engine_gives_the_same_table(concession, sites_csv, parks, tmp_path):
    """`--engine dask` scores the selection on a LocalCluster (the score engine's machinery): same rows, same numbers."""
    single, dask = tmp_path / "single.csv", tmp_path / "dask.csv"
    common = ("--aoi", str(concession), "--sites", str(sites_csv), "--protected-areas", str(parks), "--no-progress")
    assert run_cli("screen", *common, "--out", str(single)).returncode == 0
    r = run_cli("screen", *common, "--engine", "dask", "--out", str(dask))
    assert r.returncode == 0, r.stderr
    a, b = pd.read_csv(single), pd.read_csv(dask)
    assert list(a["site_id"]) == list(b["site_id"]) and list(a.columns) == list(b.columns)
    for col in ("risk_0_100", "hg_kg_per_yr", "dist_protected_area_km", "dist_aoi_km"):
        np.testing.assert_allclose(a[col].to_numpy(), b[col].to_numpy(), rtol=1e-9, atol=1e-9)


def test_screen_a_site_far_from_every_protected_area_gets_the_same_facts_as_score(parks, tmp_path):
    """Beyond the facts' reach (200 km) the nearest protected area may be anywhere: such a site is computed on the
    whole layer, and equals `score`'s row (400 km to park B, the nearest)."""
    far = _east(25.8, -2.25, 450.0)
    sites = tmp_path / "far.csv"
    sites.write_text(
        f"site_id,name,lat,lon,commodity,workers,mercury_use\nfar,Far,{far[1]:.6f},{far[0]:.6f},gold,40,yes\n"
    )
    aoi = tmp_path / "far.geojson"
    gpd.GeoDataFrame({"name": ["remote"]}, geometry=[shapely.Point(*far).buffer(0.05)], crs="EPSG:4326").to_file(aoi)
    common = ("--sites", str(sites), "--protected-areas", str(parks), "--no-progress")
    assert run_cli("screen", "--aoi", str(aoi), "--out", str(tmp_path / "s.csv"), *common).returncode == 0
    assert run_cli("score", "--out", str(tmp_path / "r.csv"), *common).returncode == 0
    screened, scored = pd.read_csv(tmp_path / "s.csv"), pd.read_csv(tmp_path / "r.csv")
    assert screened["dist_protected_area_km"].iat[0] > 400
    assert screened["nearest_protected_area"].iat[0] == scored["nearest_protected_area"].iat[0] == "Park B"
    for col in ("dist_protected_area_km", "risk_0_100", "hg_kg_per_yr"):
        assert screened[col].iat[0] == pytest.approx(scored[col].iat[0], rel=1e-12)


def test_a_protected_area_in_two_distant_parcels_counts_whole(concession, sites_csv, tmp_path):
    """The screen reads only the areas near the AOI from the layer cache, but every parcel of those areas: a park
    whose second parcel lies 500 km away has its whole area behind '% of the PA'."""
    near_parcel = shapely.box(25.3, -2.4, 25.8, -2.1)
    far_parcel = shapely.box(30.0, -2.4, 30.5, -2.1)
    gdf = gpd.GeoDataFrame(
        {"WDPAID": [7, 7], "WDPA_PID": ["7_A", "7_B"], "NAME": ["Split Park", "Split Park"], "DESIG_ENG": ["National Park"] * 2,
         "IUCN_CAT": ["II"] * 2, "STATUS": ["Designated"] * 2, "STATUS_YR": [1990] * 2, "ISO3": ["COD"] * 2,
         "MARINE": ["0"] * 2, "REP_AREA": [1.0] * 2, "GIS_AREA": [1.0] * 2},
        geometry=[near_parcel, far_parcel], crs="EPSG:4326",
    )  # fmt: skip
    path = tmp_path / "split.gpkg"
    gdf.to_file(path, layer="wdpa_poly", driver="GPKG")
    r = run_cli("screen", "--aoi", str(concession), "--sites", str(sites_csv), "--protected-areas", str(path),
                "--out", str(tmp_path / "s.csv"), "--no-progress")  # fmt: skip
    assert r.returncode == 0, r.stderr
    pas = pd.read_csv(tmp_path / "s.protected_areas.csv")
    assert len(pas) == 1 and pas["name"].iat[0] == "Split Park"
    whole = laea_area_km2(near_parcel) + laea_area_km2(far_parcel)
    overlap = laea_area_km2(shapely.box(*AOI_BOX).intersection(near_parcel))
    assert pas["area_km2"].iat[0] == pytest.approx(whole, rel=0.01)
    assert pas["overlap_pct"].iat[0] == pytest.approx(100 * overlap / whole, rel=0.01)


def test_screen_summary_says_when_the_mercury_of_sites_of_unknown_size_is_not_counted(concession, parks, tmp_path):
    """Sites that use mercury but whose size is unknown have no release estimate: the summary says how many
    were left out, instead of 'mercury 0 kg/yr (90 % band 0-0)' (seen on the Peru gold-mining inventory)."""
    sites = tmp_path / "no_size.csv"
    sites.write_text("site_id,lat,lon,commodity,mercury_use\na,-2.25,25.25,gold,yes\nb,-2.3,25.3,gold,yes\n")
    out = tmp_path / "screen.csv"
    r = run_cli("screen", "--aoi", str(concession), "--sites", str(sites), "--protected-areas", str(parks),
                "--out", str(out), "--no-progress")  # fmt: skip
    assert r.returncode == 0, r.stderr
    line = _summary(r)
    assert "mercury not estimated (2 mercury-using sites of unknown size)" in line, line
    assert "0 kg/yr" not in line
