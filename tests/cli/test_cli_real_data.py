"""The CLI on real-world files (issue #13): size limits, column mapping and defaults, the no-PA state, names."""

from __future__ import annotations

import io
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from tests.cli.test_cli import run_cli

SITES = "site_id,name,commodity,longitude,latitude\ng1,A,gold,-1.6,6.7\ng2,B,gold,-1.7,6.8\n"


def test_the_upload_limit_does_not_apply_to_a_local_file(tmp_path: Path) -> None:
    """ASM_MAX_UPLOAD_MB bounds browser uploads; the CLI reads any local file the user names."""
    sites = tmp_path / "sites.csv"
    sites.write_text(SITES)
    out = tmp_path / "risk.csv"
    r = run_cli("score", "--sites", str(sites), "--out", str(out), "--no-progress",
                env_extra={"ASM_MAX_UPLOAD_MB": "0.00001"})  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert len(pd.read_csv(out)) == 2


IPIS_CSV = (
    "vid,pcode,name,longitude,latitude,visit_date,mineral1,mineral2\n"
    "11,codmine00001,Kamituga,28.1794,-3.0612,2019-05-01,Or,\n"
    "12,codmine00002,Misisi,28.9876,-4.5431,2018-01-01,Or,Cassitérite\n"
    "13,codmine00003,Lugushwa,27.7500,-1.696243,2020-03-04,Cassitérite,Coltan\n"
)


def test_an_ipis_file_scores_as_an_analyst_expects(tmp_path: Path) -> None:
    """Issue #13 item 8: mineral1 is no worker count, negative numbers stay numbers, buffers in numeric order."""
    sites = tmp_path / "ipis.csv"
    sites.write_text(IPIS_CSV, encoding="utf-8")
    parks = tmp_path / "parks.geojson"
    gpd.GeoDataFrame(
        {"WDPAID": [1], "NAME": ["Itombwe"], "IUCN_CAT": ["II"], "STATUS": ["Designated"]},
        geometry=[shapely.box(28.0, -3.5, 28.5, -3.0)], crs="EPSG:4326",
    ).to_file(parks)  # fmt: skip
    out = tmp_path / "risk.csv"
    r = run_cli("score", "--sites", str(sites), "--protected-areas", str(parks), "--out", str(out), "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "worker" not in r.stderr
    table = pd.read_csv(out)
    assert table["workers"].isna().all()
    assert table.set_index("site_id").loc["codmine00003", "latitude"] == -1.696243  # a number, no apostrophe
    assert "'-1.696243" not in out.read_text(encoding="utf-8")
    buffers = [c for c in table.columns if c.startswith("protected_areas_within_")]
    assert buffers == ["protected_areas_within_1km", "protected_areas_within_5km", "protected_areas_within_10km",
                       "protected_areas_within_25km"]  # fmt: skip


def _polygons_without_commodity(tmp_path: Path) -> Path:
    """Satellite-detected mining polygons as a Ghana analyst gets them: no commodity column at all."""
    frame = gpd.GeoDataFrame(
        {"fid_det": [1, 2, 3], "area_ha": [2.5, 4.0, 1.2]},
        geometry=[shapely.box(-1.90 + i / 50, 6.20, -1.89 + i / 50, 6.21) for i in range(3)],
        crs="EPSG:4326",
    )
    path = tmp_path / "ghana_mining.geojson"
    frame.to_file(path)
    return path


def test_a_file_without_commodity_says_how_to_set_one_and_the_default_applies(tmp_path: Path) -> None:
    sites = _polygons_without_commodity(tmp_path)
    r = run_cli("score", "--sites", str(sites), "--out", str(tmp_path / "a.csv"), "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "no commodity column found" in r.stderr
    assert "--default-commodity gold" in r.stderr and "--column commodity=" in r.stderr
    assert set(pd.read_csv(tmp_path / "a.csv")["commodity"]) == {"other"}
    r = run_cli("score", "--sites", str(sites), "--out", str(tmp_path / "b.csv"), "--no-progress",
                "--default-commodity", "gold", "--default-mercury-use", "yes")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "no commodity column" not in r.stderr
    b = pd.read_csv(tmp_path / "b.csv")
    assert set(b["commodity"]) == {"gold"} and set(b["mercury_use"]) == {"yes"}


def test_column_options_reach_the_loader(tmp_path: Path) -> None:
    sites = tmp_path / "s.csv"
    sites.write_text("code,label,what,lat,lon\nA1,Alpha,Diamant,-3.0,28.0\n", encoding="utf-8")
    out = tmp_path / "o.csv"
    r = run_cli("score", "--sites", str(sites), "--out", str(out), "--no-progress",
                "--column", "commodity=what", "--column", "site_id=code", "--column", "name=label")  # fmt: skip
    assert r.returncode == 0, r.stderr
    row = pd.read_csv(out).iloc[0]
    assert (row["site_id"], row["name"], row["commodity"]) == ("A1", "Alpha", "diamond")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--column", "colour=what"), "expected ROLE=COLUMN with ROLE one of site_id"),
        (("--column", "commodity"), "expected ROLE=COLUMN"),
        (("--column", "commodity=Mineral"), "'Mineral' chosen for commodity is not in the file"),
        (("--default-commodity", "unobtainium"), "'unobtainium' is not a commodity value"),
    ],
)
def test_bad_column_options_exit_2_with_the_fix(tmp_path: Path, args, expected) -> None:
    sites = tmp_path / "s.csv"
    sites.write_text("code,what,lat,lon\nA1,gold,-3.0,28.0\n", encoding="utf-8")
    r = run_cli("score", "--sites", str(sites), "--out", str(tmp_path / "o.csv"), "--no-progress", *args)
    assert r.returncode == 2, r.stderr
    assert expected in r.stderr and "Traceback" not in r.stderr


def test_no_protected_area_layer_is_said_first_with_the_fix(tmp_path: Path) -> None:
    sites = tmp_path / "sites.csv"
    sites.write_text(SITES)
    r = run_cli("score", "--sites", str(sites), "--out", str(tmp_path / "o.csv"), "--no-progress")
    assert r.returncode == 0, r.stderr
    first = r.stderr.splitlines()[0]
    assert first.startswith("warning: no protected-area layer given")
    assert "--protected-areas" in first and "protectedplanet.net" in first and "docs/data.md" in first
    assert r.stdout.strip().endswith("NO protected-area layer (see the first warning)")


def test_a_large_input_is_announced_before_its_first_read(tmp_path: Path, monkeypatch, capsys) -> None:
    import app as cli

    sites = tmp_path / "sites.csv"
    sites.write_text(SITES)
    monkeypatch.setattr(cli, "LARGE_INPUT_MB", 0.00001)
    monkeypatch.setenv("ASM_CACHE_DIR", str(tmp_path / "cache"))
    assert cli.main(["score", "--sites", str(sites), "--out", str(tmp_path / "o.csv")]) == 0
    err = capsys.readouterr().err
    assert "reading sites from sites.csv (0 MB): the first run parses the whole file" in err
    assert str(tmp_path) not in err.split("\n")[0]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_line_keeps_moving_during_one_long_stage() -> None:
    import app as cli

    term = _Terminal()
    progress = cli._StageProgress(enabled=True, stream=term, delay_s=0.0)
    progress("loading protected areas: wdpa.gpkg, 727.2 MB")
    deadline = time.monotonic() + 20
    while term.getvalue().count("loading protected areas") < 2 and time.monotonic() < deadline:
        time.sleep(0.1)  # the ticker redraws the same stage with a new elapsed time
    progress.close()
    assert term.getvalue().count("loading protected areas: wdpa.gpkg, 727.2 MB") >= 2
