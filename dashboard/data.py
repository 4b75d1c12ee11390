"""The dashboard's view of the data: the scenario's facts, computed once per process
per dataset and treated as read-only; each callback works on copies or filtered views.

Every dataset, the server's and each workspace's, is built in one place, ``build_dataset``:
load the scenario (``scoring.pipeline.load_scenario``; uploads come from the layer cache that
``dashboard.uploads`` seeded), compute the facts once (or read a workspace's persisted facts),
score them with the default weights.

Caches are ``lru_cache``s keyed by immutable values (the settings as JSON, the
workspace id and its manifest version, the weight overrides): no per-user state is
kept at module level, and any gunicorn worker rebuilds a workspace's dataset from
disk (``dashboard.workspace``).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from dashboard import shares, workspace
from dashboard.figures import countries_geojson
from dashboard.views import prepare_scored
from dashboard.weights import config_overrides, default_weights, overrides_key
from geo.risk import RiskConfig, ScoreBasis, score_attrs, score_basis, weighted_columns
from layers.site_options import SiteOptions
from scoring.pipeline import (
    LayerSources,
    Scenario,
    compute_facts,
    load_config,
    load_scenario,
    score_facts,
)
from scoring.uploads import sources_with_uploads
from settings import Settings


@dataclass(frozen=True, eq=False)
class Dataset:
    """Facts and default scores for one set of layers (read-only by contract)."""

    facts: gpd.GeoDataFrame
    scored: gpd.GeoDataFrame
    countries: gpd.GeoDataFrame
    protected_areas: gpd.GeoDataFrame | None
    sources: tuple[str, ...]
    warnings: tuple[str, ...]
    is_demo: bool
    n_rejected: int
    rainforest: gpd.GeoDataFrame | None = None
    reefs: gpd.GeoDataFrame | None = None
    arctic_lat: float | None = None
    raster_names: tuple[str, ...] = ()
    workspace_id: str | None = None
    mining: gpd.GeoDataFrame | None = None  # mining footprints with a year (the change panel)


def dataset_from_scenario(
    scenario: Scenario, facts: gpd.GeoDataFrame, settings: Settings, workspace_id: str | None = None
) -> Dataset:
    """A Dataset from a loaded scenario and its facts (scored with the default weights)."""
    scored = score_facts(facts, load_config(settings))
    arctic = scenario.arctic
    return Dataset(
        facts=facts,
        scored=scored,
        countries=scenario.countries,
        protected_areas=scenario.protected_areas.data if scenario.protected_areas is not None else None,
        sources=tuple(scenario.sources),
        warnings=tuple(scenario.warnings),
        is_demo=scenario.is_demo,
        n_rejected=scenario.sites.n_rejected,
        rainforest=scenario.rainforest,
        reefs=scenario.reefs,
        arctic_lat=getattr(arctic, "min_lat", None) or settings.arctic_circle_lat,
        raster_names=tuple(layer.name for layer in scenario.rasters),
        workspace_id=workspace_id,
        mining=scenario.mining.data if scenario.mining is not None else None,
    )


def build_dataset(
    settings: Settings,
    sources: LayerSources,
    *,
    workspace_id: str | None = None,
    version: str | None = None,
    facts_dir: Path | None = None,
    keep_facts: bool = True,
) -> Dataset:
    """The one place a Dataset is built: load, facts (the persisted ones in ``facts_dir`` when current), scores.

    ``facts_dir`` is a workspace (facts written back when computed) or a shared snapshot
    (``keep_facts=False``: read-only).
    """
    scenario = load_scenario(sources, settings)
    if facts_dir is None and workspace_id and version and shares.token_of(workspace_id) is None:
        facts_dir = workspace.workspace_dir(settings, workspace_id)
    # persisted facts are reused only for this upload version AND the facts contract and settings
    # they were computed with (older facts lack the per-category distances: recompute, never fall back)
    facts_key = workspace.facts_key(settings, version) if version else None
    facts = workspace.read_facts_at(facts_dir, facts_key) if facts_dir is not None and facts_key else None
    if facts is None:
        facts = compute_facts(scenario, settings)
        if facts_dir is not None and facts_key and keep_facts:
            workspace.write_facts_at(facts_dir, facts, facts_key)
    return dataset_from_scenario(scenario, facts, settings, workspace_id=workspace_id)


def _folder_and_manifest(settings: Settings, data_id: str) -> tuple[Path, dict[str, Any], bool]:
    """Where a data id's files are, its manifest, and whether it may be written (a workspace; not a snapshot)."""
    token = shares.token_of(data_id)
    if token is not None:
        return shares.snapshot_dir(settings, token), shares.read_snapshot(settings, token) or {}, False
    return workspace.workspace_dir(settings, data_id), workspace.read_manifest(settings, data_id) or {}, True


def sources_of_manifest(settings: Settings, manifest: dict[str, Any], folder: Path) -> LayerSources:
    """The layers of a workspace or snapshot manifest: its uploads (with their options and names) over the server's."""
    options = workspace.upload_options(manifest, "sites")
    return sources_with_uploads(
        settings,
        workspace.files_in(manifest, folder),
        options=SiteOptions.from_mappings(options.get("columns"), options.get("defaults")),
        names=workspace.display_names(manifest),
    )


def build_workspace_dataset(settings: Settings, workspace_id: str) -> Dataset:
    """A workspace's (or shared snapshot's) dataset: its uploads over the server's layers; facts computed once.

    ``workspace_id`` is a workspace id or ``share:<token>`` (``dashboard.shares``).
    """
    folder, manifest, writable = _folder_and_manifest(settings, workspace_id)  # read once: files and version agree
    return build_dataset(
        settings,
        sources_of_manifest(settings, manifest, folder),
        workspace_id=workspace_id,
        version=str(manifest.get("version")),
        facts_dir=folder,
        keep_facts=writable,
    )


def data_version(settings: Settings, data_id: str | None) -> str | None:
    """The version of a workspace's or snapshot's data (None: the server's default dataset)."""
    token = shares.token_of(data_id)
    if token is not None:
        manifest = shares.read_snapshot(settings, token)
        return str(manifest.get("version")) if manifest else None
    return workspace.workspace_version(settings, data_id) if data_id else None


@lru_cache(maxsize=4)
def _load_dataset(sources: LayerSources, settings_json: str) -> Dataset:
    return build_dataset(Settings.model_validate_json(settings_json), sources)


def get_dataset(settings: Settings) -> Dataset:
    """The default dataset of this server (from settings: the user's files or the demo)."""
    return _load_dataset(LayerSources.from_settings(settings), settings.model_dump_json())


@lru_cache(maxsize=8)
def _load_workspace_dataset(settings_json: str, workspace_id: str, version: str) -> Dataset:
    return build_workspace_dataset(Settings.model_validate_json(settings_json), workspace_id)


def get_dataset_for(settings: Settings, workspace_id: str | None) -> Dataset:
    """The dataset of a user's workspace (uploaded files) or shared snapshot, or the server's default dataset."""
    version = data_version(settings, workspace_id)
    if not version:
        return get_dataset(settings)
    args = (settings.model_dump_json(), workspace_id, version)
    # after an upload every callback asks for the new dataset at once: one builds it (reads, scores), the others
    # wait for it instead of building it too
    with _DATASET_LOCKS[hash(args) % len(_DATASET_LOCKS)]:
        return _load_workspace_dataset(*args)


_DATASET_LOCKS = tuple(threading.RLock() for _ in range(16))


@lru_cache(maxsize=16)
def _scored(settings_json: str, workspace_id: str | None, version: str | None, key: tuple) -> pd.DataFrame:
    settings = Settings.model_validate_json(settings_json)
    dataset = get_dataset_for(settings, workspace_id)
    weights = {k: v for k, v in key[0]}
    decay = {k: (a, b) for k, a, b in key[1]}
    if not weights and not decay:
        return prepare_scored(dataset.scored)
    default = _scored(settings_json, workspace_id, version, ((), ()))
    basis = _basis(settings_json, workspace_id, version, key[1])
    return recombined(default, basis, risk_config(settings, weights, decay), dataset.facts.attrs)


@lru_cache(maxsize=4)  # ~250 bytes a site: 250 MB for 1M sites
def _basis(settings_json: str, workspace_id: str | None, version: str | None, decay_key: tuple) -> ScoreBasis:
    """What no weight changes, per dataset and decay setting (the hazard half is shared with the default decay's)."""
    settings = Settings.model_validate_json(settings_json)
    facts = get_dataset_for(settings, workspace_id).facts
    config = risk_config(settings, None, {k: (a, b) for k, a, b in decay_key})
    reuse = _basis(settings_json, workspace_id, version, ()) if decay_key else None
    return score_basis(facts, config, reuse=reuse)


def rescore(facts: gpd.GeoDataFrame, config: RiskConfig) -> pd.DataFrame:
    """The facts scored with a session's weights and prepared for filtering, from scratch (no cache).

    Without the explanation sentence (the bulk of a re-score on 100k sites): the table block, the
    site detail and the exports write it for the rows they show (``dashboard.risk_text.with_explanations``).
    The dashboard itself re-scores with :func:`recombined`, which gives this very frame.
    """
    return prepare_scored(score_facts(facts, config, explain=False))


def recombined(
    prepared: pd.DataFrame, basis: ScoreBasis, config: RiskConfig, facts_attrs: dict[str, Any]
) -> pd.DataFrame:
    """A prepared scored frame of the same facts re-scored with ``config``: what a weight change costs.

    Only the weighted columns are computed (``geo.risk.weighted_columns`` on the cached ``basis``);
    every other column is shared with ``prepared`` (read-only by contract, copy-on-write), so the
    frame equals ``rescore(facts, config)`` without copying a million rows. The explanation sentence
    is left empty, as :func:`rescore` leaves it.
    """
    cols = weighted_columns(basis, config)
    cols["risk_explanation"] = _no_explanations(prepared.index)
    frame = pd.DataFrame(
        {c: cols[c] if c in cols else prepared[c] for c in prepared.columns}, index=prepared.index, copy=False
    )
    if isinstance(prepared, gpd.GeoDataFrame):
        # copy=False: without it the frame's ~60 column blocks are consolidated, a copy of every row (1.2 s at 1M)
        frame = gpd.GeoDataFrame(frame, geometry=prepared.geometry.name, crs=prepared.crs, copy=False)
    frame.attrs = {**score_attrs(facts_attrs, config, basis.receptors.absent), **_dashboard_attrs(prepared)}
    return frame


def _no_explanations(index: pd.Index) -> pd.Series:
    """An empty explanation for every row: one Series per frame size shared by its re-scored frames (copy-on-write
    keeps them apart), where each weight change built a million empty strings (~30 ms)."""
    if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:
        return _empty_strings(len(index))
    return pd.Series("", index=index, dtype="str")


@lru_cache(maxsize=4)
def _empty_strings(n: int) -> pd.Series:
    return pd.Series("", index=pd.RangeIndex(n), dtype="str")


def _dashboard_attrs(prepared: pd.DataFrame) -> dict[str, Any]:
    """The attrs ``prepare_scored`` adds (none the score writes)."""
    return {k: v for k, v in prepared.attrs.items() if k.startswith("dashboard_")}


@lru_cache(maxsize=32)
def _risk_config(settings_json: str, key: tuple) -> RiskConfig:
    weights = {k: v for k, v in key[0]}
    decay = {k: (a, b) for k, a, b in key[1]}
    return load_config(Settings.model_validate_json(settings_json), overrides=config_overrides(weights, decay) or None)


def risk_config(
    settings: Settings, weights: dict[str, float] | None = None, decay: dict[str, Any] | None = None
) -> RiskConfig:
    """The risk configuration in use: the server's file with the session's weight overrides (immutable, cached)."""
    return _risk_config(settings.model_dump_json(), overrides_key(weights or {}, decay or {}))


def weight_defaults(settings: Settings) -> tuple[dict[str, float], dict[str, list[float]]]:
    """The slider defaults (factor weights, decay near/outer km) of the server's risk configuration."""
    return default_weights(risk_config(settings).to_dict())


def get_scored(
    settings: Settings, workspace_id: str | None, weights: dict[str, float], decay: dict[str, Any]
) -> pd.DataFrame:
    """The prepared scored frame (categorical filter columns) for a workspace and weight overrides (read-only)."""
    version = data_version(settings, workspace_id)
    ws = workspace_id if version else None
    args = (settings.model_dump_json(), ws, version, overrides_key(weights or {}, decay or {}))
    # the map, charts and table callbacks of one change arrive together: one of them re-scores, the
    # others wait for its frame instead of re-scoring too (per process; a striped lock, bounded)
    with _SCORED_LOCKS[hash(args) % len(_SCORED_LOCKS)]:
        return _scored(*args)


_SCORED_LOCKS = tuple(threading.Lock() for _ in range(16))


def countries_geojson_bytes(settings: Settings, tolerance_deg: float, bounds: tuple[float, ...] | None) -> bytes:
    """The server's country polygons (workspaces share them) as GeoJSON bytes for the map, simplified and clipped."""
    return _countries_geojson_bytes(settings.model_dump_json(), float(tolerance_deg), bounds)


@lru_cache(maxsize=64)  # ~100 kB each; keyed by the settings and the (rounded) view in the URL
def _countries_geojson_bytes(settings_json: str, tolerance_deg: float, bounds: tuple[float, ...] | None) -> bytes:
    countries = get_dataset(Settings.model_validate_json(settings_json)).countries
    gj = countries_geojson(countries, simplify_tolerance_deg=tolerance_deg, bounds=bounds)
    return json.dumps(gj, separators=(",", ":")).encode("utf-8")
