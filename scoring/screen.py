"""Screening an area of interest (AOI): shared by ``python app.py screen`` and the dashboard's AOI panel.

``run_screen`` loads the AOI and the scenario, screens the AOI (``geo.aoi.screen_aoi``: the sites
inside it or within the buffer, the protected areas and ecosystems it touches), computes the facts
and scores of the selected sites only (a site's facts and score do not depend on the other sites,
so they equal those of a full ``score`` run), and takes the mercury totals with their uncertainty
band over the selection (``geo.uncertainty.mercury_totals``). ``AoiReport`` gathers what the AOI
report shows; ``reports.aoi_report`` renders it (the CLI's ``--out report.html`` and the dashboard's
download are the same HTML).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from geo.aoi import SITE_COLUMNS, AoiInputError, AoiScreening, PreparedAoi, compute_aoi_sites, prepare_aoi, screen_aoi
from geo.proximity import lonlat_envelopes
from geo.risk import RiskConfig
from geo.uncertainty import mercury_totals
from geo.vocab import RISK_CLASSES
from layers.aoi import load_aoi
from layers.cache import geoparquet_geometry_column, read_entry_arrays, write_entry_arrays
from layers.errors import LayerError
from layers.schema import LoadResult
from scoring.pipeline import (
    LayerSources,
    Progress,
    Scenario,
    compute_facts,
    load_scenario,
    ordered_output_columns,
    score_facts,
    zip_limits,
)
from scoring.run import over_budget, score_partitioned
from scoring.writers import LICENCE_NOTES, atomic_path, safe_csv, write_rejected, write_table

#: the AOI columns of a screened site, in output order (geo.aoi's, defined once there)
AOI_SITE_COLUMNS: tuple[str, ...] = SITE_COLUMNS
AOI_METHOD = (
    "Sites are kept when they lie inside the area of interest or within the buffer distance of it. "
    "Distances are geodesic on the WGS84 ellipsoid (km; 0 inside a polygon), from the proximity engine "
    "(within max(50 m, 0.5 %) of a pyproj.Geod reference). A line or a point stands for its geodesic "
    "corridor or disc of the buffer distance. Buffers are geodesic; overlap areas are equal-area "
    "(EPSG:6933), in km2; '% of the PA' is the share of the protected area's own area inside the AOI. "
    "Mercury totals are Monte Carlo sums over the selected sites (5th-95th percentile band), with the "
    "shared uncertainties drawn once per draw, so a total is neither as certain as the sum of medians "
    "nor as uncertain as the sum of the sites' worst cases (docs/risk-model.md)."
)


def _noop(_: str) -> None:
    return None


def aoi_layer_error(exc: AoiInputError, where: str | Path | None) -> LayerError:
    """An AOI the screen cannot use, as the loaders' error (exit 2, HTTP 400, the alert)."""
    return LayerError(where, exc.problem, exc.fix)


def prepare(frame: gpd.GeoDataFrame, *, buffer_km: float, union: bool, where: str | Path | None) -> PreparedAoi:
    """``geo.aoi.prepare_aoi`` with its errors turned into ``LayerError`` naming ``where`` (the AOI's file)."""
    try:
        return prepare_aoi(frame, buffer_km=buffer_km, union=union)
    except AoiInputError as exc:
        raise aoi_layer_error(exc, where) from exc


def load_aoi_file(path: str | Path, settings, *, layer: str | None = None) -> LoadResult:
    """An AOI file through ``layers.aoi.load_aoi`` with the settings' archive limits."""
    return load_aoi(path, layer=layer, zip_limits=zip_limits(settings))


def ecosystem_layers(
    rainforest: gpd.GeoDataFrame | None, reefs: gpd.GeoDataFrame | None
) -> dict[str, gpd.GeoDataFrame]:
    """The ecosystem layers to screen, by label (only those given)."""
    layers = {"rainforest": rainforest, "coral reefs": reefs}
    return {k: v for k, v in layers.items() if v is not None and len(v)}


def screen_layers(
    sites: gpd.GeoDataFrame,
    aoi: PreparedAoi,
    protected_areas: gpd.GeoDataFrame | None,
    ecosystems: Mapping[str, gpd.GeoDataFrame],
) -> AoiScreening:
    """``geo.aoi.screen_aoi`` with errors as ``LayerError`` (the AOI is fine by now: a bad layer is the user's)."""
    try:
        return screen_aoi(sites, aoi, protected_areas=protected_areas, ecosystems=dict(ecosystems))
    except AoiInputError as exc:
        raise aoi_layer_error(exc, None) from exc


def _stored_bounds(path: Path) -> np.ndarray:
    """The (n, 4) lon/lat bounds of every row of a stored layer, computed once per layer-cache entry and kept
    beside its file (``aoi-bounds-v1/``; decoding 300,000 WKB polygons costs seconds; the bounds file, milliseconds)."""
    import pyarrow.parquet as pq

    rows = pq.ParquetFile(path).metadata.num_rows
    stored = read_entry_arrays(path, "aoi-bounds", 1)
    if stored is not None and stored.get("bounds") is not None and stored["bounds"].shape == (rows, 4):
        return stored["bounds"]
    # batch by batch: the whole layer's WKB and GEOS geometries are never held at once
    f = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 22)
    geom = geoparquet_geometry_column(f.schema_arrow, path)
    parts = [
        shapely.bounds(shapely.from_wkb(batch.column(0).to_numpy(zero_copy_only=False)))
        for batch in f.iter_batches(batch_size=20_000, columns=[geom])
    ]
    bounds = np.concatenate(parts) if parts else np.zeros((0, 4))
    write_entry_arrays(path, "aoi-bounds", 1, {"bounds": bounds})
    return bounds


def _rows_in_boxes(bounds: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Which rows' bounds meet any of the lon/lat ``boxes``."""
    near = np.zeros(len(bounds), dtype=bool)
    if len(boxes) > 64:  # many sites: an STRtree of the boxes
        tree = shapely.STRtree(shapely.box(*boxes.T))
        near[np.unique(tree.query(shapely.box(*bounds.T))[0])] = True
        return near
    for x0, y0, x1, y1 in boxes:
        near |= (bounds[:, 0] <= x1) & (bounds[:, 2] >= x0) & (bounds[:, 1] <= y1) & (bounds[:, 3] >= y0)
    return near


def _read_rows(path: Path, keep: np.ndarray, columns: Sequence[str]) -> gpd.GeoDataFrame:
    """The rows ``keep`` (a boolean mask) of a stored GeoParquet layer, batch by batch (never the whole layer's
    geometry decoded or held as objects), as a GeoDataFrame in lon/lat."""
    import pyarrow.parquet as pq

    from layers.cache import geoparquet_geometry_column

    f = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 22)
    geom = geoparquet_geometry_column(f.schema_arrow, path)
    cols = [c for c in columns if c in f.schema_arrow.names]
    parts, start = [], 0
    for batch in f.iter_batches(batch_size=20_000, columns=[*cols, geom]):
        mask = keep[start : start + batch.num_rows]
        start += batch.num_rows
        if mask.any():
            parts.append(batch.filter(pa.array(mask)))
    table = pa.Table.from_batches(parts, schema=parts[0].schema) if parts else None
    frame = pd.DataFrame({c: pd.Series(dtype="string") for c in cols})
    geoms = np.zeros(0, dtype=object)
    if table is not None:
        frame = table.drop_columns([geom]).to_pandas()
        geoms = shapely.from_wkb(table.column(geom).to_numpy(zero_copy_only=False))
    for c in cols:
        frame[c] = frame[c].astype("string")
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"), crs="EPSG:4326")


@dataclass
class NearbyAreas:
    """The protected areas a screen needs, read once from the layer cache: ``screen`` for ``screen_aoi`` (the
    AOI's envelope, every parcel of those areas), ``facts`` for the selected sites' facts (``LoadResult`` of
    every area within the facts' reach of them); ``full`` is the whole layer, for the rare site with no area
    within that reach (its nearest one may be anywhere)."""

    screen: gpd.GeoDataFrame | None
    facts: LoadResult | None
    full: LoadResult | None
    reach_km: float = float("inf")


def facts_reach_km(settings) -> float:
    """How far from a site the facts look at protected areas one by one (counts, areas, per-category distances);
    beyond it only the nearest area matters."""
    return float(
        max(settings.protected_area_reach_km, *settings.buffer_distances_km, settings.protected_area_km2_buffer_km)
    )


def nearby_protected_areas(
    result: LoadResult | None, aoi: PreparedAoi, site_geoms: gpd.GeoSeries, settings
) -> NearbyAreas:
    """The protected areas near the AOI (for the screen) and near the selected sites (for their facts).

    A layer left in the layer cache (``LoadResult.stored_path``, not loaded) is not decoded whole: per-row
    bounds (computed once, beside the cached file) pick the rows whose bounds meet the AOI's conservative
    lon/lat envelope (the proximity engine's rule, ``lonlat_envelopes``), with the rows sharing their
    ``pa_id``, and those within the facts' reach of a selected site; one pass reads them. ``screen_aoi`` then
    finds exactly the protected areas it finds on the whole layer (it starts from the same envelope test), and
    a site whose nearest area lies within the reach gets the same facts (every area within the reach is
    there); the others are computed on the whole layer (``score_selection``).
    """
    if result is None:
        return NearbyAreas(None, None, None)
    stored = getattr(result, "stored_path", None)
    if result.is_loaded or stored is None:
        return NearbyAreas(result.data, result, result)
    path = Path(stored)
    bounds = _stored_bounds(path)
    feats = shapely.bounds(np.asarray(aoi.features.geometry.values, dtype=object))
    aoi_boxes, _, _, _ = lonlat_envelopes(feats, np.full(len(feats), aoi.buffer_km + 1e-3))
    near_aoi = _rows_in_boxes(bounds, aoi_boxes)
    reach = facts_reach_km(settings)
    site_bounds = shapely.bounds(np.asarray(site_geoms.values, dtype=object))
    site_boxes, _, _, _ = lonlat_envelopes(site_bounds, np.full(len(site_bounds), reach + 1e-3))
    near_sites = _rows_in_boxes(bounds, site_boxes) if len(site_boxes) else np.zeros(len(bounds), dtype=bool)
    if near_aoi.any():  # every parcel of a protected area near the AOI (geo.aoi groups parcels by id)
        import pyarrow.parquet as pq

        pa_ids = pq.read_table(path, columns=["pa_id"]).column("pa_id").to_pandas().astype("string")
        near_aoi = pa_ids.isin(pa_ids[near_aoi].unique()).to_numpy(dtype=bool)
    keep = near_aoi | near_sites
    rows = _read_rows(path, keep, ("pa_id", "pa_pid", "name", "designation", "iucn_cat", "iso3"))
    order = np.flatnonzero(keep)
    screen = rows.iloc[np.flatnonzero(near_aoi[order])].reset_index(drop=True)
    facts = rows.iloc[np.flatnonzero(near_sites[order])].reset_index(drop=True)
    return NearbyAreas(screen, LoadResult(data=facts, source=result.source), result, reach)


def order_by_risk(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows by risk (highest first), then distance to the AOI, then site id: the report's and the tables' order."""
    keys = [c for c in ("risk_0_100", "dist_aoi_km", "site_id") if c in frame.columns]
    if not keys:
        return frame
    ascending = [c != "risk_0_100" for c in keys]
    return frame.sort_values(keys, ascending=ascending, na_position="last", kind="stable")


def screen_output_columns(frame: pd.DataFrame) -> list[str]:
    """The score contract's column order with the AOI columns right after the site's id and name."""
    cols = [c for c in ordered_output_columns(frame) if c not in AOI_SITE_COLUMNS]
    head = [c for c in ("site_id", "name") if c in cols]
    aoi = [c for c in AOI_SITE_COLUMNS if c in frame.columns]
    return head + aoi + [c for c in cols if c not in head]


def aoi_mercury_totals(selected: pd.DataFrame, config: RiskConfig, *, per_unit: bool = True) -> pd.DataFrame:
    """Mercury totals (kg/yr, p5 / p50 / p95) over the selected sites: one row ``all`` and, with several
    screening units, one per unit (``aoi_id``; a site near two features counts in both units)."""
    if len(selected) == 0:
        return pd.DataFrame(
            {
                "scope": ["all"],
                "n_sites": [0],
                "n_hg_unknown_size": [0],
                **{
                    c: [0.0]
                    for c in (
                        "hg_kg_per_yr_low",
                        "hg_kg_per_yr",
                        "hg_kg_per_yr_high",
                        "hg_kg_per_yr_air_low",
                        "hg_kg_per_yr_air",
                        "hg_kg_per_yr_air_high",
                    )
                },
            }
        )
    out = mercury_totals(selected, config)
    out.insert(0, "scope", "all")
    if per_unit and "aoi_ids" in selected.columns:
        units = selected["aoi_ids"].astype("string").fillna("").str.split(";")
        exploded = selected.assign(_unit=units).explode("_unit")
        if exploded["_unit"].nunique() > 1:
            by = mercury_totals(exploded.reset_index(drop=True), config, by="_unit").rename(columns={"_unit": "scope"})
            out = pd.concat([out, by], ignore_index=True)
    return out


def sites_in_view_note(n_inside: int, n_sites: int, kinds: set[str], buffer_km: float) -> str:
    """Where the sites in view lie against the AOI. A line's or point's AOI is its corridor (every site
    in view is in it), so "inside" is said only of polygons, and the sites near them are counted."""
    d = f"{buffer_km:g} km"
    near = n_sites - n_inside
    if n_sites == 0:
        return f"none inside or within {d}" if buffer_km > 0 else "none inside"
    if "polygon" not in kinds:
        what = " and ".join(f"{k}s" for k in ("line", "point") if k in kinds) or "features"
        return f"all within {d} of the {what}"
    if kinds == {"polygon"}:
        return f"{n_inside:,} inside, {near:,} within {d}" if buffer_km > 0 else f"{n_inside:,} inside"
    return f"{n_inside:,} inside a polygon or within {d} of a line or point, {near:,} within {d} of a polygon"


def risk_profile(selected: pd.DataFrame) -> pd.DataFrame:
    """Sites by risk class (all classes, in order), inside the AOI and within the buffer."""
    classes = selected["risk_class"].astype("string") if "risk_class" in selected.columns else pd.Series(dtype="string")
    inside = selected["in_aoi"].fillna(False).astype(bool) if "in_aoi" in selected.columns else None
    rows = []
    for cls in RISK_CLASSES:
        hit = (classes == cls).fillna(False).to_numpy(dtype=bool)
        rows.append(
            {
                "risk_class": cls,
                "n_sites": int(hit.sum()),
                "n_sites_in_aoi": int((hit & inside.to_numpy()).sum()) if inside is not None else int(hit.sum()),
            }
        )
    return pd.DataFrame(rows)


def describe_aoi(aoi: PreparedAoi, source: str) -> str:
    """The AOI in a few words: its source, features, kinds and buffer."""
    feats = aoi.features
    names = [n for n in feats["name"].astype("string").fillna("") if n]
    kinds = ", ".join(f"{n} {k}{'s' if n > 1 else ''}" for k, n in feats["kind"].value_counts().items())
    named = f": {', '.join(names[:5])}{' ...' if len(names) > 5 else ''}" if names else ""
    union = ", screened as their union" if aoi.union and len(feats) > 1 else ""
    return f"{source} ({kinds}{named}{union}; buffer {aoi.buffer_km:g} km)"


@dataclass
class AoiReport:
    """What the AOI report shows (``reports.aoi_report.make_aoi_report_html``); plain data, no renderer."""

    title: str
    aoi_source: str
    aoi: PreparedAoi
    screening: AoiScreening
    sites: pd.DataFrame  # the selected, scored sites with the AOI columns, ordered by risk
    n_screened: int  # sites looked at (the whole inventory, or the filtered view)
    totals: pd.DataFrame
    config: RiskConfig
    sources: Sequence[str]
    licences: Sequence[str]
    is_demo: bool
    countries: gpd.GeoDataFrame | None = None
    protected_areas: gpd.GeoDataFrame | None = None  # the screened PAs' geometries (for the map)
    ecosystems: Mapping[str, gpd.GeoDataFrame] = field(default_factory=dict)
    filters: Mapping[str, object] = field(default_factory=dict)
    share_url: str | None = None

    @property
    def feature_kinds(self) -> set[str]:
        """The kinds of the AOI's features: 'polygon', 'line', 'point'."""
        return set(self.aoi.features["kind"].astype(str))

    @property
    def sites_note(self) -> str:
        """Where the selected sites lie against the AOI (:func:`sites_in_view_note`), for the CLI, dashboard and report."""
        n_in = int(self.sites["in_aoi"].sum()) if "in_aoi" in self.sites.columns else len(self.sites)
        return sites_in_view_note(n_in, len(self.sites), self.feature_kinds, self.aoi.buffer_km)


def report_layers(
    screening: AoiScreening, protected_areas: gpd.GeoDataFrame | None, ecosystems: Mapping[str, gpd.GeoDataFrame]
) -> tuple[gpd.GeoDataFrame | None, dict[str, gpd.GeoDataFrame]]:
    """The geometries the report's map draws: the screened protected areas, and the ecosystem features
    that meet the AOI's search zone."""
    pas = None
    if protected_areas is not None and len(screening.protected_areas):
        ids = set(screening.protected_areas["pa_id"].astype("string"))
        pas = protected_areas[protected_areas["pa_id"].astype("string").isin(ids)]
    zone = gpd.GeoSeries(screening.aoi.search_geoms, crs="EPSG:4326")
    eco = {}
    for label, layer in ecosystems.items():
        if layer is None or not len(layer):
            continue
        near = layer.iloc[np.unique(layer.sindex.query(zone.values, predicate="intersects")[1])]
        if len(near):
            eco[label] = near
    return pas, eco


@dataclass
class ScreenResult:
    """Everything ``run_screen`` found."""

    report: AoiReport
    rejected: pd.DataFrame
    warnings: list[str]
    elapsed_s: float

    @property
    def table(self) -> gpd.GeoDataFrame:
        """The selected sites in the output contract's order (score contract + AOI columns), by risk."""
        sites = self.report.sites
        return sites[screen_output_columns(sites)]

    def summary(self) -> str:
        """The CLI's one-line summary (without the rejected detail, the elapsed time and the output)."""
        r = self.report
        pas = r.screening.protected_areas
        n_pa = pas["pa_id"].nunique() if len(pas) else 0
        total = r.totals.iloc[0]
        # mercury users of unknown size have no estimate: say how many, never a bare 0 kg/yr for them
        unknown = int(total["n_hg_unknown_size"]) if total["n_sites"] > 0 else 0
        unknown_sites = f"{unknown:,} mercury-using site{'' if unknown == 1 else 's'} of unknown size"
        if total["n_sites"] == 0:
            hg = "mercury none"
        elif unknown and not total["hg_kg_per_yr_high"] > 0:
            hg = f"mercury not estimated ({unknown_sites})"
        else:
            hg = (
                f"mercury {total['hg_kg_per_yr']:,.0f} kg/yr (90 % band {total['hg_kg_per_yr_low']:,.0f}"
                f"-{total['hg_kg_per_yr_high']:,.0f})" + (f", {unknown_sites} not counted" if unknown else "")
            )
        return (
            f"screened {r.aoi_source}: {len(r.sites):,} site{'' if len(r.sites) == 1 else 's'} ({r.sites_note}), {n_pa:,} protected areas, {hg}, "
            f"rejected {len(self.rejected):,}"
        )


@dataclass(frozen=True)
class Written:
    """What a screen's writer wrote: the output, its sidecars and the rejected rows (None when none)."""

    out: Path
    sidecars: tuple[Path, ...]
    rejected: Path | None

    @property
    def where(self) -> str:
        """The summary line's pointer to the rejected rows ('' when none)."""
        return f", see {self.rejected}" if self.rejected else ""


def sidecar(out: Path, name: str) -> Path:
    """``<out stem>.<name>.csv`` beside ``out``."""
    return out.with_name(f"{out.stem}.{name}.csv")


def write_screen_tables(result: ScreenResult, out: str | Path) -> Written:
    """The selected sites in a table format (through ``write_table``: the method, weights, AOI and citations
    travel with them), the protected areas and ecosystems in ``<stem>.protected_areas.csv`` /
    ``<stem>.ecosystems.csv``, and ``<stem>.rejected.csv`` when rows were rejected."""
    out = Path(out)
    report = result.report
    write_table(
        result.table, out, config=report.config, sources=report.sources, is_demo=report.is_demo,
        filters=dict(report.filters),
    )  # fmt: skip
    sidecars = []
    for name, frame in (
        ("protected_areas", report.screening.protected_areas),
        ("ecosystems", report.screening.ecosystems),
    ):
        path = sidecar(out, name)
        with atomic_path(path) as tmp:
            safe_csv(frame, tmp)
        sidecars.append(path)
    return Written(out, tuple(sidecars), write_rejected(result.rejected, out))


def _subset(scenario: Scenario, index: pd.Index, protected_areas: LoadResult | None = None) -> Scenario:
    """The scenario with only the sites at ``index`` (and ``protected_areas`` instead of its own, when given)."""
    sites = scenario.sites
    subset = LoadResult(data=sites.data.loc[index], rejected=sites.rejected, source=sites.source)
    if protected_areas is None:
        return replace(scenario, sites=subset)
    return replace(scenario, sites=subset, protected_areas=protected_areas)


def score_selection(
    scenario: Scenario,
    index: pd.Index,
    settings,
    config: RiskConfig,
    progress: Progress = _noop,
    engine: str = "single",
    nearby: NearbyAreas | None = None,
    notice: Progress | None = None,
) -> gpd.GeoDataFrame:
    """Facts and scores of the sites at ``index`` only, equal to a full ``score`` run's rows.

    With ``nearby`` the facts use the protected areas within the facts' reach of the sites; a site whose nearest
    area is farther (or that has none) is computed again on the whole layer, or, when that layer would need
    more than ``settings.memory_budget_mb`` in one pass, the selection is scored partition by partition in
    this process (``scoring.run``; ``notice`` gets the reason). ``engine="dask"``: on a Dask cluster, the
    ``score --engine dask`` machinery over the subset (whole layers).
    """
    if engine == "dask" and len(index):
        from scoring.dask_engine import score_scenario_dask  # deliberate lazy import: dask and distributed

        return score_scenario_dask(_subset(scenario, index), settings, config, progress=progress)
    use_nearby = nearby is not None and nearby.facts is not None and nearby.full is not nearby.facts
    facts = compute_facts(_subset(scenario, index, nearby.facts if use_nearby else None), settings, progress)
    if use_nearby:
        dist = facts["dist_protected_area_km"] if "dist_protected_area_km" in facts else pd.Series(np.nan, facts.index)
        has_geom = ~(facts.geometry.isna() | facts.geometry.is_empty)
        far = (dist.isna() | (dist > nearby.reach_km)) & has_geom
        if far.any():  # the nearest protected area may be anywhere: the whole layer for these sites
            far_sites = _subset(scenario, facts.index[far], nearby.full)
            estimate = over_budget(far_sites, settings)
            if estimate is not None:
                (notice or progress)(estimate.describe(float(settings.memory_budget_mb)))
                return score_partitioned(_subset(scenario, index), settings, config, estimate, progress)[0]
            progress(f"facts of {int(far.sum()):,} sites with no protected area within {nearby.reach_km:g} km")
            again = compute_facts(far_sites, settings, progress)
            # all far: their facts as they come (a concat with the empty near part, which has no protected-area
            # columns when no area lies within the reach, would turn the counts into floats)
            facts = again.loc[facts.index] if far.all() else pd.concat([facts[~far], again]).loc[facts.index]
            facts = gpd.GeoDataFrame(facts, geometry="geometry", crs=scenario.sites.data.crs)
    progress("scoring")
    return score_facts(facts, config)


def rejected_rows(scenario: Scenario, aoi: LoadResult) -> pd.DataFrame:
    """Every rejected row, labelled by layer: the AOI's, the sites', the protected areas' and the footprints'."""
    parts = []
    for label, result in (("aoi", aoi), ("sites", scenario.sites), ("protected_areas", scenario.protected_areas)):
        if result is not None and result.n_rejected:
            part = result.rejected.copy()
            part.insert(0, "layer", label)
            parts.append(part)
    if not parts:
        return pd.DataFrame(columns=["layer", "row_number", "reason"])
    return pd.concat(parts, ignore_index=True)


def run_screen(
    aoi_path: str | Path,
    sources: LayerSources,
    settings,
    config: RiskConfig,
    *,
    buffer_km: float,
    union: bool = False,
    aoi_layer: str | None = None,
    progress: Progress = _noop,
    engine: str = "single",
    licences: Sequence[str] = LICENCE_NOTES,
    notice: Progress | None = None,
) -> ScreenResult:
    """The whole headless screen: load the AOI and the layers, screen, score the selection, total the mercury."""
    t0 = time.perf_counter()
    progress(f"loading the area of interest {Path(aoi_path).name}")
    aoi_result = load_aoi_file(aoi_path, settings, layer=aoi_layer)
    aoi = prepare(aoi_result.data, buffer_km=buffer_km, union=union, where=Path(aoi_path).name)
    scenario = load_scenario(sources, settings, progress)
    eco = ecosystem_layers(scenario.rainforest, scenario.reefs)
    progress("screening the area of interest")
    site_rows = compute_aoi_sites(scenario.sites.data, aoi)  # the sites first: the areas near them are read next
    sites = scenario.sites.data.geometry.loc[site_rows.index]
    nearby = nearby_protected_areas(scenario.protected_areas, aoi, sites, settings)
    screening = screen_layers(scenario.sites.data, aoi, nearby.screen, eco)
    progress(f"facts for the {len(screening.site_index):,} sites selected")
    scored = score_selection(scenario, screening.site_index, settings, config, progress, engine, nearby, notice)
    pas = nearby.screen
    selected = order_by_risk(screening.select(scored))
    progress("mercury totals")
    totals = aoi_mercury_totals(selected, config)
    map_pas, map_eco = report_layers(screening, pas, eco)
    source = Path(aoi_path).name
    report = AoiReport(
        title=f"Area of interest: {source}",
        aoi_source=describe_aoi(aoi, source),
        aoi=aoi,
        screening=screening,
        sites=selected,
        n_screened=scenario.sites.n_loaded,
        totals=totals,
        config=config,
        sources=[f"area of interest: {source}", *scenario.sources],
        licences=licences,
        is_demo=scenario.is_demo,
        countries=scenario.countries,
        protected_areas=map_pas,
        ecosystems=map_eco,
        filters=aoi_filters(aoi, source),
    )
    warnings = [*aoi_result.warnings, *scenario.warnings]
    return ScreenResult(report, rejected_rows(scenario, aoi_result), warnings, time.perf_counter() - t0)


def aoi_filters(aoi: PreparedAoi, source: str) -> dict[str, object]:
    """The screen's parameters as the exports' "filters in use"."""
    return {
        "area of interest": source,
        "AOI features": len(aoi.features),
        "buffer km": aoi.buffer_km,
        "screened as their union": bool(aoi.union),
    }


__all__ = [
    "AOI_METHOD",
    "AOI_SITE_COLUMNS",
    "AoiReport",
    "ScreenResult",
    "aoi_mercury_totals",
    "describe_aoi",
    "ecosystem_layers",
    "load_aoi_file",
    "order_by_risk",
    "prepare",
    "report_layers",
    "risk_profile",
    "run_screen",
    "score_selection",
    "screen_layers",
    "screen_output_columns",
    "sites_in_view_note",
    "write_screen_tables",
]
