"""Issue #13 item 6: a dataset is named by its file name and sha256 prefix, never by a server path or the
workspace id: in the page, the header, the messages and every export format."""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from pathlib import Path

import pytest
from dash._callback_context import context_value
from dash._utils import AttributeDict

from dashboard import ids
from dashboard.app_factory import create_app
from dashboard.context import show_error
from dashboard.data import get_dataset_for, get_scored
from dashboard.exports import export_download
from dashboard.figures import CHART_NAMES
from dashboard.layout import banner
from dashboard.state import default_state
from dashboard.uploads import save_upload
from dashboard.views import render_state
from dashboard.workspace import new_workspace_id
from dashboard.workspace_callbacks import panel_for
from layers.errors import LayerError
from settings import Settings

SITES = (
    "site_id,name,commodity,longitude,latitude,workers\n"
    "g1,Alpha,gold,-1.6,6.7,120\ng2,Beta,gold,-2.0,6.2,40\nbad,Far,gold,-1.0,95.0,1\n"
)
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
def setup(tmp_path):
    settings = Settings(cache_dir=tmp_path / "server-cache", workspace_dir=tmp_path / "server-cache" / "workspaces",
                        demo_n_sites=200)  # fmt: skip
    ws = new_workspace_id()
    save_upload(settings, ws, "sites", "Sites DRC (field team).csv", _contents(SITES))
    save_upload(settings, ws, "protected_areas", "parks.geojson", _contents(json.dumps(PARK)))
    secrets = (str(tmp_path), ws)  # the server folders (all under tmp_path) and the private workspace id
    return settings, ws, secrets


def _readable(name: str, data: bytes) -> str:
    """Every text inside an export: XLSX and zip members unzipped, the rest as bytes decoded leniently."""
    if name.endswith((".xlsx", ".zip")):
        with zipfile.ZipFile(__import__("io").BytesIO(data)) as zf:
            return "\n".join(zf.read(n).decode("utf-8", "replace") for n in zf.namelist())
    return data.decode("utf-8", "replace")


def _assert_clean(text: str, secrets: tuple[str, ...], where: str) -> None:
    for secret in secrets:
        assert secret not in text, f"{secret!r} found in {where}"


def test_every_export_names_files_not_server_paths(setup):
    settings, ws, secrets = setup
    sha = hashlib.sha256(SITES.encode()).hexdigest()[:12]
    dataset = get_dataset_for(settings, ws)
    state = render_state(default_state())
    scored = get_scored(settings, ws, {}, {})
    app = create_app(settings)
    kinds = ["csv", "xlsx", "geojson", "gpkg", "briefing", *(f"chart-html:{n}" for n in CHART_NAMES)]
    with app.server.test_request_context():
        for kind in kinds:
            name, data = export_download(kind, settings, dataset, scored, state, "http://host/?c=GHA")
            text = _readable(name, data)  # CSV and GeoJSON come zipped with their .about.txt
            _assert_clean(text, secrets, kind)
            if kind in ("csv", "geojson", "xlsx", "briefing"):
                assert f"Sites DRC (field team).csv (sha256 {sha})" in text, kind
                assert "parks.geojson (sha256 " in text, kind
        assert "Sites DRC (field team).csv" in set(scored["source"])  # the source column too


def test_the_page_header_and_panel_name_files_not_paths(setup):
    settings, ws, secrets = setup
    header = json.dumps(banner(get_dataset_for(settings, ws)).to_plotly_json(), default=lambda o: o.to_plotly_json())
    _assert_clean(header, secrets, "header")
    assert "Sites DRC (field team).csv (sha256 " in header
    app = create_app(settings)
    with app.server.test_request_context():
        panel = json.dumps(panel_for(ws, "http://host/").to_plotly_json(), default=lambda o: o.to_plotly_json())
    _assert_clean(panel, secrets, "upload panel")
    client = app.server.test_client()
    for url in ("/", "/_dash-layout"):
        _assert_clean(client.get(url).get_data(as_text=True), secrets, url)


def test_a_server_configured_file_is_named_not_located(tmp_path):
    folder = tmp_path / "srv" / "private data"
    folder.mkdir(parents=True)
    (folder / "sites.csv").write_text(SITES)
    settings = Settings(cache_dir=tmp_path / "cache", sites_path=folder / "sites.csv")
    page = create_app(settings).server.test_client().get("/_dash-layout").get_data(as_text=True)
    assert str(folder) not in page and "sites.csv (sha256 " in page


def test_messages_name_the_uploaded_file_not_its_stored_copy(setup):
    settings, ws, secrets = setup
    with pytest.raises(LayerError) as info:
        save_upload(settings, ws, "sites", "garbage.csv", _contents("foo,bar\n1,2\n"))
    assert str(info.value).startswith("garbage.csv: no coordinate columns found")
    _assert_clean(str(info.value), secrets, "upload error")
    app = create_app(settings)
    with app.server.test_request_context():
        context_value.set(AttributeDict(triggered_inputs=[], updated_props={}))
        stored = Path(settings.workspaces) / ws / "sites" / "x.gpkg"
        show_error(LayerError(stored, f"cannot read layer 'a' ({stored}: truncated)", "upload it again"))
        alert = context_value.get().updated_props[ids.ALERT]["children"]
    assert alert == "x.gpkg: cannot read layer 'a' (x.gpkg: truncated). Fix: upload it again"


def test_cli_exports_name_inputs_by_file_name_and_hash(tmp_path):
    from tests.cli.test_cli import run_cli

    folder = tmp_path / "my private folder"
    folder.mkdir()
    (folder / "sites.csv").write_text(SITES)
    out = tmp_path / "out" / "risk.csv"
    r = run_cli("score", "--sites", str(folder / "sites.csv"), "--out", str(out), "--no-progress")
    assert r.returncode == 0, r.stderr
    about = out.with_suffix(".about.txt").read_text()
    assert f"sites: sites.csv (sha256 {hashlib.sha256(SITES.encode()).hexdigest()[:12]})" in about
    assert str(folder) not in about
