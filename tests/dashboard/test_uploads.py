"""One upload, one parse; the app's settings reach the upload's loader."""

from __future__ import annotations

import base64
import io
import json
import zipfile

import geopandas as gpd
import pytest
import shapely
from dash import no_update
from dash._callback_context import context_value
from dash._utils import AttributeDict

from dashboard import callbacks, ids
from dashboard.app_factory import create_app
from dashboard.data import get_dataset_for
from dashboard.uploads import overlays_after_upload, save_upload
from dashboard.workspace import new_workspace_id
from layers import protected_areas, sites
from layers.errors import LayerError
from settings import Settings

CSV = "site_id,name,commodity,longitude,latitude,workers\ng1,Alpha,gold,-1.6,6.7,120\ng2,Beta,gold,-2.0,6.2,40\n"
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


def _contents(raw: bytes, mime: str = "text/csv") -> str:
    return f"data:{mime};base64," + base64.b64encode(raw).decode()


@pytest.fixture
def settings(tmp_path):
    return Settings(cache_dir=tmp_path / "cache", workspace_dir=tmp_path / "ws", demo_n_sites=200)


@pytest.fixture
def count_calls(monkeypatch):
    """Counts the calls of a real loader (it still runs: a spy, not a stand-in)."""
    calls: dict[str, int] = {}

    def spy(module, name):
        real = getattr(module, name)

        def counted(*args, **kwargs):
            calls[name] = calls.get(name, 0) + 1
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, counted)

    spy(sites, "load_sites")
    spy(protected_areas, "stream_protected_areas")  # the cached path streams the file into the cache
    return calls


def test_a_sites_upload_is_parsed_once_from_upload_to_dataset(settings, count_calls):
    ws = new_workspace_id()
    report = save_upload(settings, ws, "sites", "mine.csv", _contents(CSV.encode()))
    assert report.n_loaded == 2 and count_calls == {"load_sites": 1}
    dataset = get_dataset_for(settings, ws)  # what the upload callback does next: the facts, from the cache
    assert sorted(dataset.scored["site_id"]) == ["g1", "g2"]
    assert count_calls == {"load_sites": 1}


def test_a_protected_area_upload_is_parsed_once(settings, count_calls):
    ws = new_workspace_id()
    save_upload(settings, ws, "sites", "mine.csv", _contents(CSV.encode()))
    report = save_upload(settings, ws, "protected_areas", "parks.geojson", _contents(json.dumps(PARK).encode()))
    assert report.n_loaded == 1
    dataset = get_dataset_for(settings, ws)
    assert bool(dataset.scored.set_index("site_id").loc["g1", "in_protected_area"])
    assert count_calls == {"load_sites": 1, "stream_protected_areas": 1}


def _zipped_shapefile() -> bytes:
    frame = gpd.GeoDataFrame({"site_id": ["z1"], "name": ["Zed"]}, geometry=[shapely.Point(-1.6, 6.7)], crs="EPSG:4326")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as tmp:
            frame.to_file(Path(tmp) / "sites.shp")
            for part in sorted(Path(tmp).iterdir()):
                zf.write(part, part.name)
    return buf.getvalue()


def _upload_through_the_app(app, contents: str, filename: str):
    with app.server.test_request_context():
        context_value.set(
            AttributeDict(triggered_inputs=[{"prop_id": f"{ids.UPLOAD_SITES}.contents", "value": contents}])
        )
        return callbacks.upload_layer(contents, None, filename, None, None)


def test_the_apps_zip_limit_reaches_the_upload(settings):
    """create_app(Settings(max_zip_members=1)): a zipped shapefile (4+ files) is refused by that app's limit."""
    contents = _contents(_zipped_shapefile(), "application/zip")
    strict = create_app(settings.model_copy(update={"max_zip_members": 1}))
    with pytest.raises(LayerError, match=r"members \(limit 1\)"):
        _upload_through_the_app(strict, contents, "sites.zip")
    lenient = create_app(settings)
    workspace, status, own, overlays = _upload_through_the_app(lenient, contents, "sites.zip")
    assert workspace and own == workspace and "1 site loaded" in str(status)
    assert overlays is no_update  # a sites upload leaves the map's overlays as they are


def test_a_protected_area_upload_switches_its_overlay_on_unless_it_is_wdpa_sized():
    s = Settings(pa_overlay_auto_max=100)
    assert overlays_after_upload(["countries", "mining"], "protected_areas", 44, s) == [
        "countries", "mining", "protected_areas",
    ]  # fmt: skip
    assert overlays_after_upload(None, "protected_areas", 1, s) == ["protected_areas"]
    assert overlays_after_upload(["countries"], "protected_areas", 101, s) is None  # too many to draw at once
    assert overlays_after_upload(["countries"], "protected_areas", 0, s) is None  # nothing loaded
    assert overlays_after_upload(["countries"], "sites", 44, s) is None  # a sites upload leaves the map alone
    assert overlays_after_upload(["protected_areas"], "protected_areas", 44, s) is None  # already on
    assert overlays_after_upload(["countries"], "protected_areas", 44, Settings(pa_overlay_auto_max=0)) is None


def test_the_date_picker_follows_the_data_in_view(settings):
    """After an upload the picker kept the demo's bounds and its line ("2015-01-01 to 2025-12-29") over data
    without a single date (the NYT/Intercept airstrips), and a dated upload over undated data stayed disabled."""
    import flask

    server = flask.Flask("test")
    server.config["ASM_SETTINGS"] = settings
    undated, dated = new_workspace_id(), new_workspace_id()
    save_upload(settings, undated, "sites", "sites.csv", _contents(CSV.encode()))
    rows = (
        "site_id,commodity,longitude,latitude,observed_date\na,gold,-1.6,6.7,2019-03-02\nb,gold,-2.0,6.2,2023-11-30\n"
    )
    save_upload(settings, dated, "sites", "sites.csv", _contents((rows + "c,gold,-1.9,6.3,\n").encode()))
    with server.test_request_context():
        *_, dmin, dmax, disabled, hint = callbacks.update_data_controls(undated)
        assert (dmin, dmax, disabled, hint) == (None, None, True, "No observation dates in these data.")
        *_, dmin, dmax, disabled, hint = callbacks.update_data_controls(dated)
        assert (dmin, dmax, disabled) == ("2019-03-02", "2023-11-30", False)
        assert hint == "2019-03-02 to 2023-11-30; 1 site without a date drops out when a range is set"
        demo = get_dataset_for(settings, None).scored
        *_, dmin, dmax, disabled, _hint = callbacks.update_data_controls(None)
        assert not disabled and dmin == str(demo["observed_date"].dropna().min())[:10]
