"""The dashboard's view of the data: the scenario's facts, computed once per process
per dataset and treated as read-only; each callback works on copies or filtered views."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import geopandas as gpd

from layers.pipeline import LayerSources, compute_facts, load_config, load_scenario, score_facts


@dataclass(frozen=True)
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


@lru_cache(maxsize=4)
def _load_dataset(sources: LayerSources, settings_json: str) -> Dataset:
    from settings import Settings

    settings = Settings.model_validate_json(settings_json)
    scenario = load_scenario(sources, settings)
    facts = compute_facts(scenario, settings)
    scored = score_facts(facts, load_config(settings))
    return Dataset(
        facts=facts,
        scored=scored,
        countries=scenario.countries,
        protected_areas=scenario.protected_areas.data if scenario.protected_areas is not None else None,
        sources=tuple(scenario.sources),
        warnings=tuple(scenario.warnings),
        is_demo=scenario.is_demo,
        n_rejected=scenario.sites.n_rejected,
    )


def get_dataset(settings) -> Dataset:
    """The default dataset of this server (from settings: the user's files or the demo)."""
    return _load_dataset(LayerSources.from_settings(settings), settings.model_dump_json())
