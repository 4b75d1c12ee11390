"""Read-only shared snapshots (issue #13 item 4): unguessable, immutable, atomic, revocable, behind the login."""

from __future__ import annotations

import base64
import json

import pandas as pd
import pytest
from werkzeug.security import generate_password_hash

from dashboard import shares
from dashboard.app_factory import create_app
from dashboard.data import get_dataset_for, get_scored
from dashboard.uploads import apply_site_options, save_upload
from dashboard.workspace import MANIFEST, clear_workspace, new_workspace_id, read_manifest
from layers.errors import LayerError
from settings import Settings

SITES = "site_id,name,commodity,longitude,latitude,workers\ng1,Alpha,gold,-1.6,6.7,120\ng2,Beta,,-2.0,6.2,40\n"
OTHER = "site_id,name,commodity,longitude,latitude\nz9,Zed,diamond,10.0,5.0\n"
PARK = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"WDPAID": 1, "NAME": "Test Park", "IUCN_CAT": "II", "STATUS": "Designated"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[-1.7, 6.6], [-1.5, 6.6], [-1.5, 6.8], [-1.7, 6.8], [-1.7, 6.6]]],
            },
        }
    ],
}


def _contents(raw: str) -> str:
    return "data:text/csv;base64," + base64.b64encode(raw.encode()).decode()


@pytest.fixture
def settings(tmp_path):
    return Settings(cache_dir=tmp_path / "cache", workspace_dir=tmp_path / "ws", demo_n_sites=200)


@pytest.fixture
def shared(settings):
    """A workspace with sites, protected areas and a default commodity, and a snapshot of it."""
    ws = new_workspace_id()
    save_upload(settings, ws, "sites", "Mes sites (DRC).csv", _contents(SITES))
    save_upload(settings, ws, "protected_areas", "parks.geojson", _contents(json.dumps(PARK)))
    apply_site_options(settings, ws, {}, {"commodity": "gold"}, read_manifest(settings, ws)["sites_report"])
    before = get_dataset_for(settings, ws).scored.copy()
    token = shares.create_snapshot(settings, ws, "?c=GHA&site=g1")
    return ws, token, before


def test_the_token_is_unguessable(shared):
    _ws, token, _ = shared
    assert shares.TOKEN.match(token)
    assert len(base64.urlsafe_b64decode(token + "=")) * 8 >= 128  # 256 random bits


def test_the_snapshot_gives_the_same_sites_and_numbers(settings, shared):
    _ws, token, before = shared
    snap = get_dataset_for(settings, shares.share_id(token)).scored
    cols = ["site_id", "commodity", "in_protected_area", "dist_protected_area_km", "risk_0_100"]
    pd.testing.assert_frame_equal(snap[cols].reset_index(drop=True), before[cols].reset_index(drop=True))
    assert set(snap["commodity"]) == {"gold"}  # the owner's default travels with the snapshot
    weighted = get_scored(settings, shares.share_id(token), {"mercury": 0.0}, {})
    assert weighted["contrib_mercury"].sum() == 0.0


def test_the_owners_later_uploads_never_change_a_snapshot(settings, shared):
    ws, token, before = shared
    save_upload(settings, ws, "sites", "Mes sites (DRC).csv", _contents(OTHER))  # same name, new content
    assert list(get_dataset_for(settings, ws).scored["site_id"]) == ["z9"]
    clear_workspace(settings, ws)
    snap = get_dataset_for(settings, shares.share_id(token)).scored
    assert sorted(snap["site_id"]) == sorted(before["site_id"])
    manifest = shares.read_snapshot(settings, token)
    assert manifest["snapshot"]["view"] == "?c=GHA&site=g1"
    assert ws not in json.dumps(manifest)  # the owner's workspace id is not in the snapshot


def test_a_snapshot_is_written_whole_or_not_at_all(settings, monkeypatch):
    ws = new_workspace_id()
    save_upload(settings, ws, "sites", "s.csv", _contents(SITES))
    real = shares._link_or_copy
    calls = []

    def dies_on_the_second_file(src, dst):
        calls.append(src)
        if len(calls) == 2:
            raise OSError("disk full")
        real(src, dst)

    save_upload(settings, ws, "protected_areas", "parks.geojson", _contents(json.dumps(PARK)))
    monkeypatch.setattr(shares, "_link_or_copy", dies_on_the_second_file)
    with pytest.raises(OSError):
        shares.create_snapshot(settings, ws, "")
    assert list(shares.shares_root(settings).iterdir()) == []  # no token folder, no staging left


def test_nothing_to_snapshot_without_uploads(settings):
    with pytest.raises(LayerError, match="nothing to snapshot"):
        shares.create_snapshot(settings, new_workspace_id(), "")


def test_revoke_and_expiry(settings, shared):
    ws, token, _ = shared
    assert [s["token"] for s in shares.owned_shares(settings, ws)] == [token]
    with pytest.raises(LayerError, match="not made from your workspace"):
        shares.revoke(settings, token, workspace_id=new_workspace_id())
    assert shares.revoke(settings, token, workspace_id=ws)
    assert shares.read_snapshot(settings, token) is None and shares.owned_shares(settings, ws) == []
    assert get_dataset_for(settings, shares.share_id(token)).is_demo  # a revoked id is no data at all
    second = shares.create_snapshot(settings, ws, "")
    path = shares.snapshot_dir(settings, second) / MANIFEST
    manifest = json.loads(path.read_text())
    manifest["snapshot"]["created_utc"] = "2000-01-01T00:00:00+00:00"
    path.write_text(json.dumps(manifest))
    assert shares.read_snapshot(settings, second) is None  # older than share_retention_days
    assert shares.sweep_expired(settings) == 1 and not path.parent.exists()
    forever = settings.model_copy(update={"share_retention_days": 0})
    third = shares.create_snapshot(forever, ws, "")
    assert shares.read_snapshot(forever, third) is not None


@pytest.mark.parametrize("bad", ["../x", "share:../../etc", "a" * 42, None, 7, "share:" + "a" * 44])
def test_bad_tokens_are_no_data(settings, bad):
    assert shares.token_of(bad) is None or shares.read_snapshot(settings, shares.token_of(bad)) is None
    with pytest.raises(LayerError):
        shares.snapshot_dir(settings, bad if isinstance(bad, str) else "x")


def test_the_link_opens_the_page_and_sends_a_bare_link_to_its_view(settings, shared):
    ws, token, _ = shared
    client = create_app(settings).server.test_client()
    bare = client.get(f"/s/{token}")
    assert bare.status_code == 302 and bare.headers["Location"].endswith(f"/s/{token}?c=GHA&site=g1")
    page = client.get(f"/s/{token}?c=GHA&site=g1")
    assert page.status_code == 200 and b"_dash-renderer" in page.data
    for leak in (ws, str(settings.cache_dir), str(settings.workspaces)):
        assert leak.encode() not in page.data
    assert client.get(f"/s/{'A' * 43}").status_code == 404
    shares.revoke(settings, token)
    gone = client.get(f"/s/{token}?c=GHA")
    assert gone.status_code == 404 and b"revoked" in gone.data


def test_with_authentication_only_signed_in_users_open_a_link(settings, shared, tmp_path):
    _ws, token, _ = shared
    users = tmp_path / "users"
    users.write_text(f"alice:{generate_password_hash('s3cret')}\n")
    client = create_app(settings.model_copy(update={"auth_htpasswd": users})).server.test_client()
    assert client.get(f"/s/{token}?c=GHA").status_code == 401
    ok = {"Authorization": "Basic " + base64.b64encode(b"alice:s3cret").decode()}
    assert client.get(f"/s/{token}?c=GHA", headers=ok).status_code == 200
