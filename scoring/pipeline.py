"""Orchestration shared by the CLI and the dashboard: load every layer, compute the
spatial facts once, then score (cheaply, as often as the weights change).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow as pa

from geo import proximity
from geo.regions import PolarRegion
from geo.risk import RiskConfig, score_sites
from geo.vocab import PA_CATEGORY_DISTANCE_COLUMNS
from layers import countries as countries_mod
from layers import ecosystems, mining, protected_areas, rasters, sites
from layers.cache import (
    cached_layer,
    content_hash,
    geoparquet_geometry_column,
    read_entry_arrays,
    read_stored_table,
    write_entry_arrays,
)
from layers.demo import ensure_demo_data
from layers.errors import LayerError
from layers.fetch import fetched_defaults
from layers.guard import ZipLimits
from layers.risk_config import load_risk_config_file
from layers.schema import LoadResult, WrittenLayer
from layers.site_options import SiteOptions

log = logging.getLogger(__name__)

DEMO_LABEL = "synthetic demo data"
NO_PROTECTED_AREAS = (
    "no protected-area layer given: protected areas are not assessed (distances unknown, not zero; the scores "
    "leave them out and every row says so in receptors_assessed and score_complete). Fix: add a protected-area layer, e.g. a WDPA extract for your countries (CLI: --protected-areas "
    "PATH; dashboard: 'Upload protected areas…'), downloaded from protectedplanet.net (free for non-commercial "
    "use, not to be redistributed; docs/data.md, 'Getting the WDPA', explains how)"
)

Progress = Callable[[str], None]


def _noop(_: str) -> None:
    return None


@dataclass(frozen=True)
class LayerSources:
    """Where each layer comes from. ``None`` everywhere means the built-in demo scenario."""

    sites: Path | None = None
    protected_areas: Path | None = None
    rainforest: Path | None = None
    reefs: Path | None = None
    arctic: Path | None = None
    water: Path | None = None
    countries: Path | None = None
    rasters: tuple[tuple[str, Path], ...] = ()
    sites_crs: str | None = None
    sites_layer: str | None = None
    # the analyst's column choices and per-file defaults
    sites_options: SiteOptions = field(default_factory=SiteOptions)
    display_names: tuple[tuple[str, str], ...] = ()  # kind -> the name the user gave the file (uploads)
    include_proposed: bool = False
    mining: tuple[Path, ...] = ()  # mining footprints with a year (layers.mining): the change figures

    @property
    def is_demo(self) -> bool:
        return self.sites is None

    @classmethod
    def from_settings(cls, settings) -> LayerSources:
        return cls(
            sites=settings.sites_path,
            protected_areas=settings.protected_areas_path,
            rainforest=settings.rainforest_path,
            reefs=settings.reefs_path,
            arctic=settings.arctic_path,
            water=settings.water_path,
            countries=settings.countries_path,
            rasters=tuple(sorted((k, Path(v)) for k, v in settings.rasters.items())),
            sites_crs=settings.sites_crs,
            sites_layer=settings.sites_layer,
            sites_options=SiteOptions.from_mappings(settings.sites_columns, settings.sites_defaults),
            include_proposed=settings.include_proposed_protected_areas,
            mining=tuple(Path(p) for p in settings.mining_paths),
        )


@dataclass
class Scenario:
    """Every loaded layer, ready for ``compute_facts``."""

    sites: LoadResult
    protected_areas: LoadResult | None
    rainforest: gpd.GeoDataFrame | None
    reefs: gpd.GeoDataFrame | None
    water: gpd.GeoDataFrame | None
    arctic: PolarRegion
    rasters: list[rasters.RasterLayer]
    countries: gpd.GeoDataFrame
    is_demo: bool
    sources: list[str] = field(default_factory=list)  # citations / provenance, one line each
    warnings: list[str] = field(default_factory=list)
    mining: LoadResult | None = None  # footprints by year (layers.mining), when given


def describe_file(path: Path | str) -> str:
    """A file as a user reads it in a message: its name and size ("wdpa.gpkg, 727 MB"), never its folder."""
    p = Path(path)
    try:
        size = p.stat().st_size if p.is_file() else sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
    except OSError:
        return p.name
    return f"{p.name}, {size / 1e6:,.1f} MB" if size >= 1e5 else f"{p.name}, {size / 1e3:,.0f} kB"


def zip_limits(settings) -> ZipLimits:
    """The archive limits of ``settings`` (one budget per archive tree), as every loader takes them."""
    return ZipLimits(
        max_members=int(settings.max_zip_members),
        max_total_bytes=int(float(settings.max_unzipped_mb) * 1e6),
        max_ratio=float(settings.max_zip_ratio),
    )


def demo_sources(settings) -> tuple[LayerSources, str]:
    """The built-in demo scenario's layer files (generated into the cache dir on first use) and its label."""
    paths = ensure_demo_data(Path(settings.cache_dir), seed=settings.demo_seed, n_sites=settings.demo_n_sites)
    raster_list: tuple[tuple[str, Path], ...] = ()
    if paths.tree_cover is not None and Path(paths.tree_cover).exists():
        raster_list = (("tree_cover_pct", Path(paths.tree_cover)),)
    sources = LayerSources(
        sites=paths.sites,
        protected_areas=paths.protected_areas,
        rainforest=paths.rainforest,
        reefs=paths.reefs,
        water=paths.water,
        rasters=raster_list,
        mining=(Path(paths.mining),) if paths.mining is not None else (),
    )
    return sources, paths.source_label


def demo_sites_path(settings) -> Path:
    """The built-in demo scenario's sites file (generated into the cache dir on first use)."""
    return Path(
        ensure_demo_data(Path(settings.cache_dir), seed=settings.demo_seed, n_sites=settings.demo_n_sites).sites
    )


def _fetched_sources(settings) -> LayerSources | None:
    """The open real datasets downloaded by ``fetch-data``, when present (a damaged download is an error)."""
    found = fetched_defaults(Path(settings.cache_dir), strict=True)
    if "mining_polygons" not in found:
        return None
    return LayerSources(
        sites=found["mining_polygons"],
        protected_areas=found.get("protected_areas_impacts"),
        rainforest=found.get("rainforest"),
        reefs=found.get("reefs"),
        countries=found.get("countries"),
    )


def default_sources(settings) -> tuple[LayerSources, bool, str | None]:
    """What to load when the user gave no data: fetched real data if present, else the demo.

    Returns (sources, is_demo, site source label).
    """
    fetched = _fetched_sources(settings)
    if fetched is not None:
        return fetched, False, None
    demo, label = demo_sources(settings)
    return demo, True, label


def load_sites_cached(sources: LayerSources, settings, countries: gpd.GeoDataFrame, label: str | None) -> LoadResult:
    """The sites of ``sources`` through the layer cache (parsed once per file content and parameters)."""
    params = {
        "crs": sources.sites_crs,
        "layer": sources.sites_layer,
        "countries": str(sources.countries or "builtin"),
        "source": label,
    }
    if sources.sites_options:  # no options: the same key as before options existed
        params["options"] = sources.sites_options.to_dict()

    def load() -> LoadResult:
        return sites.load_sites(
            sources.sites, crs=sources.sites_crs, layer=sources.sites_layer, countries=countries, source=label,
            zip_limits=zip_limits(settings), options=sources.sites_options,
        )  # fmt: skip

    return cached_layer(Path(sources.sites), "sites", params, load, Path(settings.cache_dir))


def load_protected_areas_cached(sources: LayerSources, settings) -> LoadResult:
    """The protected areas of ``sources`` through the layer cache, lazily (rows stay in the stored GeoParquet).

    A miss streams the file into the cache entry a batch at a time (``stream_protected_areas``), so
    the memory stays bounded whatever the size of the file.
    """
    params = {"include_proposed": sources.include_proposed}

    def stream(out: Path) -> WrittenLayer:
        return protected_areas.stream_protected_areas(
            sources.protected_areas, out, include_proposed=sources.include_proposed, zip_limits=zip_limits(settings)
        )

    # lazy: the proximity engine decodes the stored GeoParquet itself (no GeoDataFrame of a
    # WDPA-sized layer); the dashboard reads ``.data`` when it draws the outlines
    return cached_layer(
        Path(sources.protected_areas),
        "protected_areas",
        params,
        None,
        Path(settings.cache_dir),
        lazy=True,
        stream=stream,
    )


def dataset_label(path: Path | str, cache_dir: Path | None = None, display_name: str | None = None) -> str:
    """A dataset as users and exports name it: its original file name and sha256 prefix, never its folder.

    ``display_name`` is the name the user gave the file (an upload is stored under the workspace);
    a raster given as ``netcdf:FILE:VARIABLE`` keeps its variable.
    """
    text = str(path)
    prefix, sep, rest = text.partition(":")
    variable = ""
    if sep and prefix.lower() in ("netcdf", "hdf5") and rest:
        text, _, variable = rest.rpartition(":") if rest.count(":") else (rest, "", "")
    p = Path(text)
    name = (display_name or p.name) + (f":{variable}" if variable else "")
    try:
        digest = content_hash(p, cache_dir)[:12]
    except (LayerError, OSError):
        return name
    return f"{name} (sha256 {digest})"


def _provenance(sources: LayerSources, settings, is_demo: bool, label: str | None) -> list[str]:
    """One line per layer: what it is and where it came from, by file name and content hash (no server path)."""
    cache = Path(settings.cache_dir)
    names = dict(sources.display_names)

    def named(kind: str, path: Path) -> str:
        return DEMO_LABEL if is_demo else dataset_label(path, cache, names.get(kind))

    lines = [f"sites: {label or DEMO_LABEL}" if is_demo else f"sites: {named('sites', sources.sites)}"]
    for what, kind, path in (
        ("protected areas", "protected_areas", sources.protected_areas),
        ("rainforest", "rainforest", sources.rainforest),
        ("coral reefs", "reefs", sources.reefs),
        ("water", "water", sources.water),
    ):
        if path is not None:
            lines.append(f"{what}: {named(kind, path)}")
    arctic = (
        f"region north of the Arctic Circle ({settings.arctic_circle_lat:.4f}°N), computed"
        if sources.arctic is None
        else dataset_label(sources.arctic, cache)
    )
    lines.append(f"arctic: {arctic}")
    lines.append(
        "countries: Natural Earth 1:110m admin-0 (public domain)"
        if sources.countries is None
        else f"countries: {dataset_label(sources.countries, cache)}"
    )
    lines.extend(f"raster {name}: {dataset_label(path, cache)}" for name, path in sources.rasters)
    return lines


def load_scenario(sources: LayerSources, settings, progress: Progress = _noop) -> Scenario:
    """Load and validate every layer named in ``sources`` (or the default scenario).

    Sites and protected areas go through the on-disk layer cache (keyed by file
    content), so a large WDPA layer is parsed once.
    """
    is_demo = False
    label: str | None = None
    limits = zip_limits(settings)
    user_mining = sources.mining  # footprints given with the default data stay the user's
    if sources.is_demo:
        progress("preparing the default data")
        sources, is_demo, label = default_sources(settings)
        if user_mining:
            sources = replace(sources, mining=user_mining)
    progress("loading countries")
    countries = countries_mod.load_countries(sources.countries)
    progress(f"loading sites: {describe_file(sources.sites)}")
    site_result = load_sites_cached(sources, settings, countries, label)
    pa_result = None
    if sources.protected_areas is not None:
        progress(f"loading protected areas: {describe_file(sources.protected_areas)}")
        pa_result = load_protected_areas_cached(sources, settings)
    rainforest = None
    if sources.rainforest is not None:
        progress(f"loading rainforest: {describe_file(sources.rainforest)}")
        rainforest = ecosystems.load_rainforest(
            sources.rainforest, threshold_pct=settings.tree_cover_threshold_pct, zip_limits=limits
        )
    reefs = ecosystems.load_reefs(sources.reefs, zip_limits=limits) if sources.reefs is not None else None
    water = ecosystems.load_water(sources.water, zip_limits=limits) if sources.water is not None else None
    arctic = ecosystems.load_arctic(sources.arctic, circle_lat=settings.arctic_circle_lat, zip_limits=limits)
    raster_layers = [rasters.open_raster(path, name) for name, path in sources.rasters]
    provenance = _provenance(sources, settings, is_demo, label)
    warnings = list(site_result.warnings)
    if pa_result is not None:
        warnings.extend(pa_result.warnings)
    else:
        warnings.insert(0, NO_PROTECTED_AREAS)
    mining_result = load_mining_layer(sources, settings, progress)
    if mining_result is not None:
        provenance.append(mining_provenance(sources.mining, is_demo and not user_mining, Path(settings.cache_dir)))
        warnings.extend(mining_result.warnings)
    return Scenario(
        sites=site_result,
        protected_areas=pa_result,
        rainforest=rainforest,
        reefs=reefs,
        water=water,
        arctic=arctic,
        rasters=raster_layers,
        countries=countries,
        is_demo=is_demo,
        sources=provenance,
        warnings=warnings,
        mining=mining_result,
    )


def load_mining_layer(sources: LayerSources, settings, progress: Progress = _noop) -> LoadResult | None:
    """The mining footprints of ``sources`` (every file, each row with its year), or None when none is given."""
    if not sources.mining:
        return None
    progress(f"loading mining footprints ({len(sources.mining)} file{'s' if len(sources.mining) > 1 else ''})")
    return mining.load_mining(list(sources.mining), zip_limits=zip_limits(settings))


def mining_provenance(paths: tuple[Path, ...], is_demo: bool, cache_dir: Path | None = None) -> str:
    """The provenance line of the mining footprints: file names and content hashes (never a server folder)."""
    if is_demo:
        return f"mining footprints: {DEMO_LABEL}"
    names = [dataset_label(p, cache_dir) for p in paths]
    shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    return f"mining footprints: {shown}"


#: the facts' column contract; raise it when compute_facts gains or changes a column (2: the
#: per-IUCN-category distances the risk model 2.0 needs for "adding a protected area never lowers a score")
FACTS_SCHEMA = 2


def facts_fingerprint(settings) -> str:
    """What persisted facts must have been computed with to be reused: the contract and the settings that shape them.

    Facts saved by an older version (without the per-category distances) or with other buffers,
    reach or raster window are recomputed rather than silently scored on a weaker basis.
    """
    blob = {
        "schema": FACTS_SCHEMA,
        "buffers_km": [float(b) for b in settings.buffer_distances_km],
        "area_buffer_km": float(settings.protected_area_km2_buffer_km),
        "reach_km": float(settings.protected_area_reach_km),
        "raster_buffer_km": settings.raster_buffer_km,
    }
    return hashlib.sha256(json.dumps(blob, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def compute_facts(scenario: Scenario, settings, progress: Progress = _noop) -> gpd.GeoDataFrame:
    """The sites with every spatial fact (proximity, ecosystems, raster values). Expensive: do it once."""
    try:
        return _compute_facts(scenario, settings, progress)
    except proximity.ProximityInputError as exc:
        raise LayerError(None, exc.problem, exc.fix) from exc


#: a cached PA layer of at least this many vertices keeps its decoded arrays beside its file
#: (decoding 45 M vertices takes ~3 s of a run; a small layer decodes in milliseconds)
STORE_TARGETS_MIN_VERTICES = 1_000_000
_TARGETS_ARRAYS = "proximity-targets"


def stored_pa_table(stored_path: Path, min_vertices: int | None = None) -> tuple[pa.Table, proximity.PreparedTargets]:
    """A cached PA layer's table (the proximity attributes and the WKB) and its geometries prepared
    for the proximity engine.

    From the arrays stored beside the cache entry when an earlier run stored them
    (``proximity-targets-v<format>/``: memory-mapped, so neither the WKB column nor its decoding is
    read again); else the GeoParquet file is read and decoded and, for a layer of ``min_vertices``
    (default :data:`STORE_TARGETS_MIN_VERTICES`) or more, the arrays are stored for the next run.
    The same arrays and bytes either way, hence the same facts (tests/scoring/test_stored_targets.py).
    """
    columns = list(proximity.PA_ATTRIBUTE_COLUMNS)
    arrays = read_entry_arrays(stored_path, _TARGETS_ARRAYS, proximity.TARGETS_FORMAT)
    if arrays is not None:
        try:
            tg = proximity.targets_from_arrays(arrays)
            attrs = read_stored_table(stored_path, columns=columns, geometry=False)
            if attrs.num_rows != len(tg):
                raise ValueError(f"they hold {len(tg)} areas, the layer {attrs.num_rows}")
            geom = geoparquet_geometry_column(attrs.schema, stored_path)
            table = attrs.append_column(pa.field(geom, pa.large_binary()), tg.wkb)
            return table.replace_schema_metadata(attrs.schema.metadata), tg
        except ValueError as exc:
            log.warning("stored proximity arrays beside %s do not fit the layer (%s); decoding it", stored_path, exc)
    table = read_stored_table(stored_path, columns=columns)
    tg = proximity.prepare_pa_targets(table)
    least = STORE_TARGETS_MIN_VERTICES if min_vertices is None else min_vertices
    if tg.flat is not None and len(tg.flat.flat.vx) >= least:
        write_entry_arrays(stored_path, _TARGETS_ARRAYS, proximity.TARGETS_FORMAT, proximity.targets_arrays(tg))
    return table, tg


def _compute_facts(scenario: Scenario, settings, progress: Progress) -> gpd.GeoDataFrame:
    site_gdf = scenario.sites.data
    geoms = site_gdf.geometry
    parts: list[pd.DataFrame] = []
    pa_layer = scenario.protected_areas
    if pa_layer is not None and pa_layer.n_loaded:
        progress("proximity to protected areas")
        kwargs = {
            "buffers_km": settings.buffer_distances_km,
            "area_buffer_km": settings.protected_area_km2_buffer_km or None,  # 0: no area column
            # the nearest area of each IUCN category within the reach: the risk model's PA term
            "category_reach_km": settings.protected_area_reach_km,
        }
        table = getattr(pa_layer, "table", None)  # handed over as Arrow (scoring.dask_engine.ArrowLayer)
        targets = None
        if table is None and not pa_layer.is_loaded and pa_layer.stored_path is not None:
            if len(geoms):  # decoded once and kept beside the cached file (or read from there)
                table, targets = stored_pa_table(pa_layer.stored_path)
            else:
                table = read_stored_table(pa_layer.stored_path, columns=list(proximity.PA_ATTRIBUTE_COLUMNS))
        if table is not None:
            # WKB decoded straight into the kernels' arrays: faster and about half the memory
            parts.append(proximity.compute_protected_area_proximity_arrow(geoms, table, targets=targets, **kwargs))
            del table, targets
        else:
            parts.append(proximity.compute_protected_area_proximity(geoms, pa_layer.data, **kwargs))
    for name, layer in (("rainforest", scenario.rainforest), ("reef", scenario.reefs), ("water", scenario.water)):
        if layer is not None and len(layer):
            progress(f"proximity to {name}")
            parts.append(proximity.compute_layer_proximity(geoms, layer, name))
    progress("arctic")
    lon = site_gdf["lon"].to_numpy(dtype="float64")
    lat = site_gdf["lat"].to_numpy(dtype="float64")
    parts.append(
        pd.DataFrame(
            {"in_arctic": scenario.arctic.contains(lon, lat), "dist_arctic_km": scenario.arctic.distance_km(lon, lat)},
            index=site_gdf.index,
        )
    )
    for layer in scenario.rasters:
        progress(f"sampling raster {layer.name}")
        sample = rasters.sample_raster(layer, lon, lat, buffer_km=settings.raster_buffer_km)
        cols = {layer.name: sample.values}
        if sample.buffer_mean is not None:
            cols[f"{layer.name}_mean_{settings.raster_buffer_km:g}km"] = sample.buffer_mean
        parts.append(pd.DataFrame(cols, index=site_gdf.index))
    facts = gpd.GeoDataFrame(pd.concat([site_gdf, *parts], axis=1), geometry="geometry", crs=site_gdf.crs)
    if any(c in facts.columns for c in PA_CATEGORY_DISTANCE_COLUMNS):
        # the per-category distances stop at this reach: geo.risk refuses a decay that goes further
        facts.attrs["protected_area_reach_km"] = float(settings.protected_area_reach_km)
    return facts


def load_config(settings, path: Path | None = None, overrides: Mapping | None = None) -> RiskConfig:
    """The risk-model configuration from a TOML file (default: config/risk.toml); see layers.risk_config."""
    return load_risk_config_file(Path(path) if path is not None else settings.default_risk_config, overrides)


@dataclass
class ScoringResult:
    scored: gpd.GeoDataFrame
    rejected: pd.DataFrame
    warnings: list[str]
    sources: list[str]
    config: RiskConfig
    is_demo: bool
    elapsed_s: float


def score_facts(facts: gpd.GeoDataFrame, config: RiskConfig, *, explain: bool = True) -> gpd.GeoDataFrame:
    """Facts + risk columns (cheap; safe to call on every weight change).

    ``explain=False`` leaves ``risk_explanation`` empty (``geo.risk.risk_explanations`` writes it later
    for the rows shown): the sentence is most of a re-score's time on a large frame.
    """
    scored = score_sites(facts, config, explain=explain)
    if not isinstance(scored, gpd.GeoDataFrame):
        scored = gpd.GeoDataFrame(scored, geometry="geometry", crs=facts.crs)
    return scored


def run_scoring(sources: LayerSources, settings, config: RiskConfig, progress: Progress = _noop) -> ScoringResult:
    """The whole headless pipeline: load, facts, score."""
    t0 = time.perf_counter()
    scenario = load_scenario(sources, settings, progress)
    facts = compute_facts(scenario, settings, progress)
    progress("scoring")
    return scoring_result(scenario, score_facts(facts, config), config, t0)


def scoring_result(scenario: Scenario, scored: gpd.GeoDataFrame, config: RiskConfig, t0: float) -> ScoringResult:
    """The result of either engine: the scored sites plus every rejected row, labelled by layer."""
    rejected = scenario.sites.rejected.copy()
    rejected.insert(0, "layer", "sites")
    if scenario.protected_areas is not None and scenario.protected_areas.n_rejected:
        pa_rej = scenario.protected_areas.rejected.copy()
        pa_rej.insert(0, "layer", "protected_areas")
        rejected = pd.concat([rejected, pa_rej], ignore_index=True)
    return ScoringResult(
        scored=scored,
        rejected=rejected,
        warnings=scenario.warnings,
        sources=scenario.sources,
        config=config,
        is_demo=scenario.is_demo,
        elapsed_s=time.perf_counter() - t0,
    )


def _distance_km(column: str) -> float:
    """The distance in a ``..._within_{d}km`` column name, for numeric order (1, 5, 10, 25; not 1, 10, 25, 5)."""
    match = re.search(r"_within_([0-9.]+)km$", column)
    try:
        return float(match.group(1)) if match else float("inf")
    except ValueError:
        return float("inf")


def ordered_output_columns(frame: pd.DataFrame) -> list[str]:
    """The output contract's column order: identity, PA facts, ecosystems, mercury & risk, then the rest."""
    head = [
        "site_id", "name", "country_iso3", "commodity", "commodities", "lon", "lat", "area_km2", "workers",
        "gold_kg_per_yr", "mercury_use", "amalgamation", "retort", "cyanidation", "notes", "observed_date", "source",
        "in_protected_area", "dist_protected_area_km", "nearest_protected_area", "nearest_protected_area_id",
        "nearest_protected_area_iucn", "nearest_protected_area_designation", *PA_CATEGORY_DISTANCE_COLUMNS,
    ]  # fmt: skip
    head += sorted((c for c in frame.columns if c.startswith("protected_areas_within_")), key=_distance_km)
    head += sorted((c for c in frame.columns if c.startswith("protected_area_km2_within_")), key=_distance_km)
    head += ["in_rainforest", "dist_rainforest_km", "dist_reef_km", "in_arctic", "dist_arctic_km", "dist_water_km"]
    head += [
        "hg_kg_per_yr_low", "hg_kg_per_yr", "hg_kg_per_yr_high", "hg_kg_per_yr_air", "p_mercury_use", "hg_basis",
        "risk_0_100", "risk_0_100_low", "risk_0_100_high", "p_high_or_above", "risk_class", "score_complete",
        "receptors_assessed",
    ]  # fmt: skip
    head += sorted(c for c in frame.columns if c.startswith("contrib_"))
    cols = [c for c in head if c in frame.columns]
    cols += [c for c in frame.columns if c not in cols]
    return cols


__all__ = [
    "DEMO_LABEL",
    "LayerError",
    "LayerSources",
    "Scenario",
    "ScoringResult",
    "compute_facts",
    "demo_sources",
    "load_config",
    "load_scenario",
    "ordered_output_columns",
    "run_scoring",
    "score_facts",
]
