"""Upload workspaces: checks before parsing, the project's loaders, atomic manifest, persistence, isolation."""

from __future__ import annotations

import base64
import json

import pytest

from dashboard import data as data_mod
from dashboard.data import build_workspace_dataset
from dashboard.uploads import check_upload, save_upload
from dashboard.workspace import (
    FACTS,
    MANIFEST,
    clear_workspace,
    new_workspace_id,
    read_manifest,
    rejected_csv,
    workspace_dir,
    workspace_version,
)
from layers.errors import LayerError
from settings import Settings

CSV = (
    "site_id,name,commodity,longitude,latitude,workers\n"
    "g1,Alpha,gold,-1.6,6.7,120\n"
    "g2,Beta,gold,-2.0,6.2,40\n"
    "g3,Gamma,diamond,-1.1,7.9,15\n"
    "bad1,Too far north,gold,-1.0,95.0,10\n"
    "bad2,No longitude,gold,,6.0,10\n"
)


def _contents(text: str | bytes, mime: str = "text/csv") -> str:
    raw = text.encode() if isinstance(text, str) else text
    return f"data:{mime};base64," + base64.b64encode(raw).decode()


@pytest.fixture
def settings(tmp_path):
    return Settings(cache_dir=tmp_path / "cache", workspace_dir=tmp_path / "ws", max_upload_mb=0.01)


def test_new_ids_are_random_and_valid(settings):
    a, b = new_workspace_id(), new_workspace_id()
    assert a != b and workspace_dir(settings, a).parent == settings.workspaces


@pytest.mark.parametrize("bad", ["../etc", "short", "a/b" * 10, "", None])
def test_invalid_workspace_ids_are_refused(settings, bad):
    with pytest.raises(LayerError, match="invalid workspace id"):
        workspace_dir(settings, bad)
    assert read_manifest(settings, bad) is None


@pytest.mark.parametrize(
    ("name", "contents", "kind", "match"),
    [
        ("sites.exe", _contents("x"), "sites", "file type is not accepted"),
        ("sites.csv.exe", _contents("x"), "sites", "file type is not accepted"),
        ("pa.csv", _contents("x"), "protected_areas", "file type is not accepted"),
        ("sites.csv", "no comma here", "sites", "empty or unreadable"),
        ("sites.csv", "data:text/csv;base64,@@@notbase64", "sites", "not valid base64"),
        ("sites.csv", _contents("x" * 20_000), "sites", "over the 0.01 MB upload limit"),
        ("sites.csv", _contents("x"), "rasters", "unknown upload kind"),
    ],
)
def test_check_upload_refuses_before_parsing(name, contents, kind, match):
    with pytest.raises(LayerError, match=match):
        check_upload(name, contents, kind=kind, max_mb=0.01)


def test_check_upload_returns_bytes():
    assert check_upload("Sites.CSV", _contents("a,b\n1,2\n"), kind="sites", max_mb=1) == b"a,b\n1,2\n"


def test_save_upload_reports_loaded_and_rejected_rows(settings):
    ws = new_workspace_id()
    report = save_upload(settings, ws, "sites", "my sites.csv", _contents(CSV))
    assert (report.n_loaded, report.n_rejected) == (3, 2)
    assert sum(report.reasons.values()) == 2
    assert "3 sites loaded, 2 rejected" in report.summary()
    manifest = json.loads((workspace_dir(settings, ws) / MANIFEST).read_text())
    assert manifest["sites"] == "sites/my sites.csv" and manifest["version"]  # the name the user gave
    rejected = rejected_csv(settings, ws, "sites").decode()
    assert "reason" in rejected.splitlines()[0] and "bad1" in rejected and "bad2" in rejected
    assert not list(workspace_dir(settings, ws).glob(".incoming-*"))  # staging cleaned up


def test_a_file_with_no_usable_rows_is_an_error_and_keeps_the_workspace(settings):
    ws = new_workspace_id()
    save_upload(settings, ws, "sites", "good.csv", _contents(CSV))
    version = workspace_version(settings, ws)
    bad = "site_id,longitude,latitude\nx,500,500\n"
    with pytest.raises(LayerError):
        save_upload(settings, ws, "sites", "bad.csv", _contents(bad))
    assert workspace_version(settings, ws) == version
    assert read_manifest(settings, ws)["sites"] == "sites/good.csv"


def test_workspace_dataset_is_built_once_persisted_and_isolated(settings):
    ws_a, ws_b = new_workspace_id(), new_workspace_id()
    save_upload(settings, ws_a, "sites", "a.csv", _contents(CSV))
    dataset = build_workspace_dataset(settings, ws_a)
    assert sorted(dataset.scored["site_id"]) == ["g1", "g2", "g3"] and not dataset.is_demo
    facts_path = workspace_dir(settings, ws_a) / FACTS
    stamp = facts_path.stat().st_mtime_ns
    again = build_workspace_dataset(settings, ws_a)  # another worker: reads the persisted facts
    assert facts_path.stat().st_mtime_ns == stamp
    assert sorted(again.scored["site_id"]) == ["g1", "g2", "g3"]
    # per-user isolation through the cached accessors
    data_mod._load_workspace_dataset.cache_clear()
    data_mod._scored.cache_clear()
    only_b = "site_id,name,commodity,longitude,latitude\nb1,Bee,gold,-1.5,6.5\n"
    save_upload(settings, ws_b, "sites", "b.csv", _contents(only_b))
    assert sorted(data_mod.get_scored(settings, ws_a, {}, {})["site_id"]) == ["g1", "g2", "g3"]
    assert list(data_mod.get_scored(settings, ws_b, {}, {})["site_id"]) == ["b1"]
    reweighted = data_mod.get_scored(settings, ws_a, {"mercury": 0.0}, {})
    base = data_mod.get_scored(settings, ws_a, {}, {})
    assert reweighted["contrib_mercury"].sum() == 0.0 and base["contrib_mercury"].sum() > 0.0
    clear_workspace(settings, ws_b)
    assert workspace_version(settings, ws_b) is None


def test_protected_area_upload_is_used_for_the_facts(settings):
    ws = new_workspace_id()
    save_upload(settings, ws, "sites", "a.csv", _contents(CSV))
    pas = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "WDPAID": 1,
                    "NAME": "Test Park",
                    "DESIG_ENG": "National Park",
                    "IUCN_CAT": "II",
                    "STATUS": "Designated",
                },
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[-1.7, 6.6], [-1.5, 6.6], [-1.5, 6.8], [-1.7, 6.8], [-1.7, 6.6]]],
                },
            }
        ],
    }
    big = Settings(cache_dir=settings.cache_dir, workspace_dir=settings.workspace_dir, max_upload_mb=5)
    report = save_upload(
        big, ws, "protected_areas", "parks.geojson", _contents(json.dumps(pas), "application/geo+json")
    )
    assert (report.n_loaded, report.n_rejected) == (1, 0)
    dataset = build_workspace_dataset(big, ws)
    by_id = dataset.scored.set_index("site_id")
    assert bool(by_id.loc["g1", "in_protected_area"]) and by_id.loc["g1", "nearest_protected_area"] == "Test Park"
    assert by_id.loc["g3", "dist_protected_area_km"] > 100  # about 1.1 degrees of latitude north
