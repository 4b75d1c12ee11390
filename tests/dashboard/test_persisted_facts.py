"""Persisted facts are reused only when computed under the same facts contract and settings.

A workspace (or a shared snapshot) keeps its facts on disk so every server worker reuses them.
Facts saved by an older version lack the per-IUCN-category distances that make "adding a
protected area never lowers a score" hold; scoring them would silently fall back to the nearest
protected area alone. They must be recomputed instead.
"""

from __future__ import annotations

import base64
import json

import geopandas as gpd
import pytest

from dashboard import data, workspace
from dashboard.uploads import save_upload
from dashboard.workspace import FACTS, new_workspace_id
from geo.vocab import PA_CATEGORY_DISTANCE_COLUMNS
from scoring.pipeline import facts_fingerprint
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


def _contents(raw: bytes, mime: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(raw).decode()


@pytest.fixture
def settings(tmp_path):
    return Settings(cache_dir=tmp_path / "cache", workspace_dir=tmp_path / "ws", demo_n_sites=200)


@pytest.fixture
def uploaded(settings):
    ws = new_workspace_id()
    save_upload(settings, ws, "sites", "mine.csv", _contents(CSV.encode(), "text/csv"))
    save_upload(
        settings, ws, "protected_areas", "park.geojson", _contents(json.dumps(PARK).encode(), "application/json")
    )
    return ws


def _fresh(settings, ws):
    data._load_workspace_dataset.cache_clear()
    data._scored.cache_clear()
    return data.get_dataset_for(settings, ws)


def test_the_persisted_facts_carry_the_category_distances_and_are_reused(settings, uploaded):
    first = _fresh(settings, uploaded)
    assert first.facts.loc[first.facts["site_id"] == "g1", "dist_protected_area_iucn_ii_km"].iloc[0] == 0.0
    stored = gpd.read_parquet(workspace.workspace_dir(settings, uploaded) / FACTS)
    assert set(PA_CATEGORY_DISTANCE_COLUMNS) <= set(stored.columns)
    again = _fresh(settings, uploaded)
    assert again.facts.equals(first.facts)


def test_facts_saved_by_an_older_version_are_recomputed_not_scored_nearest_only(settings, uploaded, monkeypatch):
    first = _fresh(settings, uploaded)
    folder = workspace.workspace_dir(settings, uploaded)
    version = data.data_version(settings, uploaded)
    old = first.facts.drop(columns=list(PA_CATEGORY_DISTANCE_COLUMNS))
    old.attrs = {}
    workspace.write_facts_at(folder, old, version)  # how the previous release keyed them: the upload version only

    calls = []
    real = data.compute_facts
    monkeypatch.setattr(data, "compute_facts", lambda *a, **k: calls.append(1) or real(*a, **k))
    rebuilt = _fresh(settings, uploaded)
    assert calls == [1]  # recomputed, not read
    assert set(PA_CATEGORY_DISTANCE_COLUMNS) <= set(rebuilt.facts.columns)
    assert rebuilt.scored["risk_0_100"].tolist() == first.scored["risk_0_100"].tolist()


def test_other_buffers_or_reach_give_another_fingerprint(settings):
    base = facts_fingerprint(settings)
    assert facts_fingerprint(settings.model_copy(update={"protected_area_reach_km": 100.0})) != base
    assert facts_fingerprint(settings.model_copy(update={"buffer_distances_km": (1.0, 5.0)})) != base
    assert facts_fingerprint(settings.model_copy(update={"raster_buffer_km": 2.0})) != base
    assert facts_fingerprint(settings.model_copy(update={"demo_n_sites": 10})) == base
