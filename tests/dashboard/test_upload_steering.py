"""Uploads an analyst can steer (issue #13 item 3): every warning and the row accounting in the page, the column
form and per-file defaults, kept in the workspace's manifest and re-applied on reload."""

from __future__ import annotations

import base64
import json

import geopandas as gpd
import pytest
import shapely
from dash._callback_context import context_value
from dash._utils import AttributeDict

from dashboard import data as data_mod
from dashboard import ids, workspace_callbacks
from dashboard.app_factory import create_app
from dashboard.data import build_workspace_dataset, get_dataset_for
from dashboard.layout import banner
from dashboard.upload_panel import AUTO, FROM_FILE, NONE, form_options, workspace_panel
from dashboard.uploads import apply_site_options, save_upload
from dashboard.workspace import new_workspace_id, read_manifest, workspace_version
from layers.errors import LayerError
from layers.site_columns import COLUMN_ROLES, DEFAULT_VOCABULARIES
from settings import Settings

IPIS = (
    "vid,pcode,name,longitude,latitude,visit_date,mineral1,mineral2\n"
    "11,codmine00001,Kamituga,28.1794,-3.0612,2019-05-01,Or,\n"
    "12,codmine00002,Misisi,28.9876,-4.5431,2018-01-01,Or,Cassitérite\n"
    "13,codmine00003,Lugushwa,27.75,-1.696243,2020-03-04,Cassitérite,\n"
    "14,codmine00003,Lugushwa,27.75,-1.696243,2019-03-04,Cassitérite,\n"
    "15,codmine00004,Nowhere,,,2020-03-04,Or,\n"
)


def _contents(raw: bytes, mime: str = "text/csv") -> str:
    return f"data:{mime};base64," + base64.b64encode(raw).decode()


def _ghana_polygons() -> bytes:
    frame = gpd.GeoDataFrame(
        {"fid_det": [1, 2, 3], "area_ha": [2.5, 4.0, 1.2]},
        geometry=[shapely.box(-1.90 + i / 50, 6.20, -1.89 + i / 50, 6.21) for i in range(3)],
        crs="EPSG:4326",
    )
    return frame.to_json().encode()


@pytest.fixture
def settings(tmp_path):
    return Settings(cache_dir=tmp_path / "cache", workspace_dir=tmp_path / "ws", demo_n_sites=200)


def _text(component) -> str:
    return json.dumps(component.to_plotly_json(), default=lambda o: o.to_plotly_json(), ensure_ascii=False)


def test_the_panel_shows_every_warning_and_the_row_accounting(settings):
    ws = new_workspace_id()
    report = save_upload(settings, ws, "sites", "ipis export.csv", _contents(IPIS.encode()))
    assert (report.n_input_rows, report.n_loaded, report.n_folded, report.n_rejected) == (5, 3, 1, 1)
    assert report.accounting() == "Read 5 rows: 3 sites loaded, 1 earlier visits folded into their site, 1 rejected."
    panel = _text(workspace_panel(read_manifest(settings, ws)))
    assert "Read 5 rows: 3 sites loaded, 1 earlier visits folded into their site, 1 rejected." in panel
    assert "missing coordinate: 1" in panel
    for warning in report.warnings:
        assert json.dumps(warning, ensure_ascii=False)[1:-1] in panel
    assert "ipis export.csv (sha256 " in panel and "Columns and defaults" in panel
    # the column form offers every role, with what detection found, and every vocabulary value as a default
    assert all(json.dumps({"type": ids.UPLOAD_COLUMN, "role": r})[1:-1] in panel for r in COLUMN_ROLES)
    assert "automatic (mineral1, mineral2)" in panel and "automatic (none found)" in panel
    assert all(v in panel for vocab in DEFAULT_VOCABULARIES.values() for v in vocab)


def test_every_warning_is_kept_not_the_first_ten(settings):
    from dashboard.uploads import _report
    from layers.schema import LoadResult

    data = gpd.GeoDataFrame({"site_id": ["a"]}, geometry=[shapely.Point(0, 0)], crs="EPSG:4326")
    warnings = [f"warning {i} about {settings.workspaces}/abc/.incoming-x/s.csv" for i in range(15)]
    report = _report("sites", "s.csv", "", LoadResult(data=data, warnings=warnings), settings)
    assert report.warnings == [f"warning {i} about s.csv" for i in range(15)]  # all, and no server path


def test_ghana_polygons_get_a_default_commodity_kept_and_reapplied(settings):
    ws = new_workspace_id()
    report = save_upload(settings, ws, "sites", "ghana.geojson", _contents(_ghana_polygons(), "application/json"))
    assert any("no commodity column found" in w and "Default commodity" in w for w in report.warnings)
    assert set(get_dataset_for(settings, ws).scored["commodity"]) == {"other"}
    version = workspace_version(settings, ws)
    manifest = read_manifest(settings, ws)
    columns, defaults = form_options(
        [AUTO, NONE], [{"role": "commodity"}, {"role": "workers"}],
        ["gold", "yes", FROM_FILE], [{"key": "commodity"}, {"key": "mercury_use"}, {"key": "amalgamation"}],
    )  # fmt: skip
    assert (columns, defaults) == ({"workers": ""}, {"commodity": "gold", "mercury_use": "yes"})
    new = apply_site_options(settings, ws, columns, defaults, manifest["sites_report"])
    assert not any("no commodity column" in w for w in new.warnings)
    assert workspace_version(settings, ws) != version  # every worker's caches move on
    manifest = read_manifest(settings, ws)
    assert manifest["sites_options"] == {
        "columns": {"workers": ""},
        "defaults": {"commodity": "gold", "mercury_use": "yes"},
    }
    scored = get_dataset_for(settings, ws).scored
    assert set(scored["commodity"]) == {"gold"} and set(scored["mercury_use"]) == {"yes"}
    # a new process (another worker, a restart) re-applies them from the manifest
    data_mod._load_workspace_dataset.cache_clear()
    rebuilt = build_workspace_dataset(settings, ws).scored
    assert set(rebuilt["commodity"]) == {"gold"}
    panel = _text(workspace_panel(manifest))
    assert "default commodity: gold" in panel and "workers: none" in panel
    # a new file starts from detection again
    save_upload(settings, ws, "sites", "ghana.geojson", _contents(_ghana_polygons(), "application/json"))
    assert "sites_options" not in read_manifest(settings, ws)
    assert set(get_dataset_for(settings, ws).scored["commodity"]) == {"other"}


def test_a_bad_choice_is_an_alert_and_keeps_the_workspace(settings):
    ws = new_workspace_id()
    save_upload(settings, ws, "sites", "ipis.csv", _contents(IPIS.encode()))
    version = workspace_version(settings, ws)
    report = read_manifest(settings, ws)["sites_report"]
    with pytest.raises(LayerError, match=r"ipis.csv: the column 'mineral9' chosen for commodity is not in the file"):
        apply_site_options(settings, ws, {"commodity": "mineral9"}, {}, report)
    with pytest.raises(LayerError, match=r"'unobtainium' is not a commodity value"):
        apply_site_options(settings, ws, {}, {"commodity": "unobtainium"}, report)
    with pytest.raises(LayerError, match=r"ipis.csv: no usable sites: 5 rows rejected"):
        apply_site_options(settings, ws, {"lat": "name", "lon": "name"}, {}, report)
    assert workspace_version(settings, ws) == version


def test_the_apply_callback_redraws_with_the_same_workspace(settings):
    app = create_app(settings)
    ws = new_workspace_id()
    save_upload(settings, ws, "sites", "ghana.geojson", _contents(_ghana_polygons(), "application/json"))
    with app.server.test_request_context():
        context_value.set(AttributeDict(triggered_inputs=[{"prop_id": f"{ids.UPLOAD_APPLY}.n_clicks", "value": 1}]))
        out_ws, panel = workspace_callbacks.apply_columns(
            1, [AUTO], [{"type": ids.UPLOAD_COLUMN, "role": "commodity"}],
            ["gold"], [{"type": ids.UPLOAD_DEFAULT, "key": "commodity"}], ws, "http://127.0.0.1:8050/",
        )  # fmt: skip
    assert out_ws == ws and "default commodity: gold" in _text(panel)
    assert set(get_dataset_for(settings, ws).scored["commodity"]) == {"gold"}


def test_no_protected_area_layer_is_said_in_the_header(settings):
    ws = new_workspace_id()
    save_upload(settings, ws, "sites", "ipis.csv", _contents(IPIS.encode()))
    dataset = get_dataset_for(settings, ws)  # a demo server: the uploaded sites have no protected areas
    assert dataset.protected_areas is None
    header = _text(banner(dataset))
    assert "No protected-area layer" in header and "protectedplanet.net" in header and "docs/data.md" in header
    assert f"#{ids.UPLOAD_SECTION}" in header
    assert "No protected-area layer" not in _text(banner(get_dataset_for(settings, None)))  # the demo has them
