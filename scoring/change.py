"""Mining year by year inside protected areas and ecosystems: shared by ``python app.py change`` and the
dashboard's change panel.

``change_table`` runs ``geo.change.compute_mining_change`` for the protected areas and each ecosystem
polygon layer, adds the protected areas' country, IUCN category and designation, the share of each
target mined, and (when dated sites are given) ``geo.change.count_sites_by_year``'s counts of sites
by first-observed year. ``fastest_growth`` and ``mining_by_year`` are the tables behind the
dashboard's chart and table, the briefing pack and the AOI report.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.change import CHANGE_KEYS, ChangeInputError, compute_mining_change, count_sites_by_year
from layers import countries as countries_mod
from layers import ecosystems
from layers.errors import LayerError
from layers.schema import LoadResult
from scoring.pipeline import (
    DEMO_LABEL,
    LayerSources,
    Progress,
    dataset_label,
    load_mining_layer,
    load_protected_areas_cached,
    load_sites_cached,
    mining_provenance,
    zip_limits,
)
from scoring.writers import LICENCE_NOTES, write_rejected, write_with_about

#: attributes of a protected area carried into the change table (PA schema -> output column)
PA_ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("iso3", "country_iso3"),
    ("iucn_cat", "iucn_cat"),
    ("designation", "designation"),
)
CHANGE_METHOD = (
    "Mining footprints (satellite-detected polygons, one layer per year or a year column) inside each protected "
    "area and ecosystem polygon: mining_km2 is the area of that year's footprints inside the target (footprints "
    "of one year that overlap count once); mining_km2_cumulative is the area of the union of every footprint up "
    "to and including that year (ground mined again later is not counted twice). Areas are equal-area "
    "(EPSG:6933 after segmentizing to 0.01 degree), within 1 % of Lambert azimuthal equal-area references; "
    "buffers are geodesic. Sites join in by the year they were first observed (sites_new, sites_cumulative)."
)


def _noop(_: str) -> None:
    return None


def _change_error(exc: ChangeInputError) -> LayerError:
    return LayerError(None, exc.problem, exc.fix)


def _with_ids(layer: gpd.GeoDataFrame, prefix: str) -> gpd.GeoDataFrame:
    """An ecosystem layer with an id per polygon (``<prefix>-1``...) and only its polygons."""
    geoms = np.asarray(layer.geometry.values, dtype=object)
    poly = np.isin(shapely.get_type_id(geoms), (3, 6))
    out = layer[poly].copy()
    out["eco_id"] = [f"{prefix}-{i + 1}" for i in np.flatnonzero(poly)]
    return out


def change_table(
    footprints: gpd.GeoDataFrame,
    *,
    protected_areas: gpd.GeoDataFrame | None,
    ecosystems: Mapping[str, gpd.GeoDataFrame] | None = None,
    sites: gpd.GeoDataFrame | None = None,
    buffers_km: Sequence[float] = (),
    include_empty: bool = False,
    countries: gpd.GeoDataFrame | None = None,
    progress: Progress = _noop,
) -> pd.DataFrame:
    """One row per target (protected area, then each ecosystem polygon) per year.

    Columns: ``target_kind``, ``target_id`` (the protected area's ``pa_id``), ``target_name``,
    ``country_iso3``, ``iucn_cat``, ``designation`` (protected areas; empty for ecosystems), ``year``,
    ``target_area_km2``, ``mining_km2``, ``mining_km2_cumulative``, ``mined_pct_cumulative`` (% of the
    target), per buffer d ``mining_km2_within_{d}km`` / ``mining_km2_cumulative_within_{d}km``, and with
    dated ``sites`` the counts ``sites_new`` / ``sites_cumulative`` (and within the buffers).
    """
    years = sorted(int(y) for y in pd.unique(footprints["year"]))
    parts: list[pd.DataFrame] = []
    targets: list[tuple[gpd.GeoDataFrame, str, str, str]] = []
    if protected_areas is not None and len(protected_areas):
        targets.append((protected_areas, "pa_id", "name", "protected_area"))
    for label, layer in (ecosystems or {}).items():
        if layer is not None and len(layer):
            kind = label.replace(" ", "_")
            targets.append((_with_ids(layer, kind), "eco_id", "name", kind))
    for layer, id_col, name_col, kind in targets:
        progress(f"mining inside {kind.replace('_', ' ')}s")
        try:
            part = compute_mining_change(
                footprints, layer, id_column=id_col, name_column=name_col, kind=kind, buffers_km=buffers_km,
                years=years, include_empty=include_empty,
            )  # fmt: skip
            if sites is not None and len(sites) and "observed_date" in sites.columns:
                counts = count_sites_by_year(
                    sites, layer, id_column=id_col, name_column=name_col, kind=kind, buffers_km=buffers_km,
                    years=years, include_empty=True,
                )  # fmt: skip
                part = part.merge(counts, on=list(CHANGE_KEYS), how="left")
                for c in counts.columns:
                    if c.startswith("sites_"):
                        part[c] = part[c].fillna(0).astype("int64")
        except ChangeInputError as exc:
            raise _change_error(exc) from exc
        if kind == "protected_area":
            part = _with_pa_attributes(part, layer, countries)
        parts.append(part)
    if not parts:
        return _empty_table(buffers_km)
    out = pd.concat(parts, ignore_index=True)
    for _, col in PA_ATTRIBUTES:
        if col not in out.columns:
            out[col] = pd.Series(pd.NA, index=out.index, dtype="string")
        out[col] = out[col].astype("string")
    with np.errstate(invalid="ignore", divide="ignore"):
        out["mined_pct_cumulative"] = np.where(
            out["target_area_km2"] > 0, 100.0 * out["mining_km2_cumulative"] / out["target_area_km2"], np.nan
        )
    return out[change_columns(out)]


def change_columns(frame: pd.DataFrame) -> list[str]:
    """The change table's column order: keys, target attributes, year, areas, shares, site counts."""
    head = ["target_kind", "target_id", "target_name", *(c for _, c in PA_ATTRIBUTES), "year", "target_area_km2"]
    head += ["mining_km2", "mining_km2_cumulative", "mined_pct_cumulative"]
    head += [c for c in frame.columns if c.startswith("mining_km2_") and c not in head]
    head += [c for c in frame.columns if c.startswith("sites_")]
    cols = [c for c in head if c in frame.columns]
    return cols + [c for c in frame.columns if c not in cols]


def _empty_table(buffers_km: Sequence[float]) -> pd.DataFrame:
    from geo.change import mining_change_columns

    cols = mining_change_columns(buffers_km)
    out = pd.DataFrame(
        {
            c: pd.Series(dtype="string" if c.startswith("target_") and c != "target_area_km2" else "float64")
            for c in cols
        }
    )
    out["year"] = out["year"].astype("int64")
    for _, c in PA_ATTRIBUTES:
        out[c] = pd.Series(dtype="string")
    out["mined_pct_cumulative"] = pd.Series(dtype="float64")
    return out[change_columns(out)]


def _with_pa_attributes(part: pd.DataFrame, pas: gpd.GeoDataFrame, countries: gpd.GeoDataFrame | None) -> pd.DataFrame:
    """The protected areas' country, IUCN category and designation (from each area's first row). A protected
    area without a country code (not every layer has WDPA's ISO3) takes the country under its
    representative point, from ``countries``."""
    present = [(src, dst) for src, dst in PA_ATTRIBUTES if src in pas.columns]
    attrs = pd.DataFrame(pas[["pa_id", "name", *(s for s, _ in present)]]).copy()
    attrs["target_id"] = attrs["pa_id"].astype("string").fillna("")
    attrs["target_name"] = attrs["name"].astype("string").fillna("")
    attrs["_geometry"] = pas.geometry.to_numpy()
    attrs = attrs.drop_duplicates(["target_id", "target_name"]).rename(columns=dict(present))
    if "country_iso3" not in attrs.columns:
        attrs["country_iso3"] = pd.Series(pd.NA, index=attrs.index, dtype="string")
    wanted = attrs.merge(part[["target_id", "target_name"]].drop_duplicates(), on=["target_id", "target_name"])
    unknown = wanted["country_iso3"].isna() | (wanted["country_iso3"].astype("string").str.strip() == "")
    if countries is not None and len(countries) and unknown.any():
        points = gpd.GeoSeries(shapely.point_on_surface(wanted.loc[unknown, "_geometry"].to_numpy()), crs="EPSG:4326")
        points.index = wanted.index[unknown]
        joined = gpd.sjoin(gpd.GeoDataFrame(geometry=points), countries[["iso3", "geometry"]], predicate="within")
        found = joined[~joined.index.duplicated()]["iso3"]
        wanted.loc[found.index, "country_iso3"] = found.astype("string")
    keep = ["target_id", "target_name", *(d for _, d in PA_ATTRIBUTES if d in wanted.columns)]
    return part.merge(wanted[keep], on=["target_id", "target_name"], how="left")


def target_label(name: object, target_id: object) -> str:
    """A target's name for people: its name, or ``unnamed (ID)`` where the layer gives none (a polygon file
    without a name column), so a summary or a table row still says which target it is."""
    if isinstance(name, str) and name.strip():
        return name
    return f"unnamed ({target_id})" if pd.notna(target_id) and str(target_id).strip() else "unnamed"


def fastest_growth(table: pd.DataFrame, *, kind: str | None = "protected_area", n: int = 10) -> pd.DataFrame:
    """The targets whose mined area grew the most between the first and the last year, largest first.

    Columns: ``target_id``, ``target_name``, ``country_iso3``, ``iucn_cat``, ``first_year``,
    ``last_year``, ``mining_km2_first`` / ``mining_km2_last`` (cumulative footprint at each end),
    ``growth_km2`` (new ground after the first year), ``growth_km2_per_yr``, ``new_km2_last_year`` and
    ``mined_pct_last`` (% of the target mined by the last year).
    """
    cols = [
        "target_kind", "target_id", "target_name", "country_iso3", "iucn_cat", "first_year", "last_year",
        "mining_km2_first", "mining_km2_last", "growth_km2", "growth_km2_per_yr", "new_km2_last_year",
        "mined_pct_last",
    ]  # fmt: skip
    sub = table if kind is None else table[table["target_kind"] == kind]
    if sub.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in cols})
    sub = sub.sort_values("year", kind="stable")
    keys = ["target_kind", "target_id", "target_name"]
    grouped = sub.groupby(keys, sort=False, dropna=False)
    first, last = grouped.head(1).set_index(keys), grouped.tail(1).set_index(keys)
    last = last.loc[first.index]
    out = pd.DataFrame(index=first.index)
    for c in ("country_iso3", "iucn_cat"):
        out[c] = last[c] if c in last.columns else pd.NA
    out["first_year"] = first["year"].to_numpy()
    out["last_year"] = last["year"].to_numpy()
    out["mining_km2_first"] = first["mining_km2_cumulative"].to_numpy()
    out["mining_km2_last"] = last["mining_km2_cumulative"].to_numpy()
    out["growth_km2"] = out["mining_km2_last"] - out["mining_km2_first"]
    span = (out["last_year"] - out["first_year"]).to_numpy(dtype="float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        out["growth_km2_per_yr"] = np.where(span > 0, out["growth_km2"].to_numpy() / span, np.nan)
    out["new_km2_last_year"] = last["mining_km2"].to_numpy()
    out["mined_pct_last"] = last["mined_pct_cumulative"].to_numpy() if "mined_pct_cumulative" in last else np.nan
    out = out.reset_index()
    out = out.sort_values(["growth_km2", "mining_km2_last", "target_id"], ascending=[False, False, True], kind="stable")
    return out[cols].head(n).reset_index(drop=True)


def mining_by_year(
    table: pd.DataFrame,
    *,
    by: str = "country",
    measure: str = "cumulative",
    kind: str = "protected_area",
    top: int = 8,
) -> pd.DataFrame:
    """Mined area inside the targets by year (rows) and group (columns), km², for a stacked chart.

    ``by``: ``"country"`` (the protected areas' country) or ``"target"`` (each protected area; the
    ``top`` largest by the last year, the rest summed as "other protected areas"). ``measure``:
    ``"cumulative"`` (``mining_km2_cumulative``) or ``"new"`` (``mining_km2``: that year's footprints).
    Sums over targets: ground under two overlapping protected areas counts in both.
    """
    if by not in ("country", "target") or measure not in ("cumulative", "new"):
        raise ValueError(f"by={by!r} / measure={measure!r}: use by='country'|'target', measure='cumulative'|'new'")
    sub = table[table["target_kind"] == kind]
    value = "mining_km2_cumulative" if measure == "cumulative" else "mining_km2"
    if sub.empty:
        return pd.DataFrame()
    if by == "country":
        group = sub["country_iso3"].astype("string").fillna("unknown country") if "country_iso3" in sub else "all"
    else:
        label = sub["target_name"].astype("string").fillna("") + " (" + sub["target_id"].astype("string") + ")"
        last_year = sub["year"].max()
        size = sub[sub["year"] == last_year].assign(_g=label).groupby("_g")["mining_km2_cumulative"].sum()
        keep = set(size.sort_values(ascending=False, kind="stable").head(top).index)
        group = label.where(label.isin(keep), "other protected areas")
    pivot = sub.assign(_g=group).pivot_table(index="year", columns="_g", values=value, aggfunc="sum", fill_value=0.0)
    order = pivot.iloc[-1].sort_values(ascending=False, kind="stable").index.tolist()
    if "other protected areas" in order:
        order = [c for c in order if c != "other protected areas"] + ["other protected areas"]
    pivot = pivot[order]
    pivot.columns.name = None
    return pivot


@dataclass
class ChangeResult:
    """Everything ``run_change`` found."""

    table: pd.DataFrame
    geometries: gpd.GeoDataFrame  # one row per target: target_kind, target_id, target_name, geometry
    mining: LoadResult
    rejected: pd.DataFrame
    warnings: list[str]
    sources: list[str]
    is_demo: bool
    elapsed_s: float
    years: list[int] = field(default_factory=list)
    buffers_km: tuple[float, ...] = ()

    def summary(self) -> str:
        """The CLI's one-line summary (without the rejected detail, the elapsed time and the output)."""
        t = self.table
        kinds = t.drop_duplicates(["target_kind", "target_id", "target_name"])["target_kind"].value_counts()
        parts = [f"{n:,} {k.replace('_', ' ')}{'s' if n != 1 else ''}" for k, n in kinds.items()] or ["no target"]
        span = f"{self.years[0]}-{self.years[-1]}" if self.years else "no year"
        top = fastest_growth(t, kind=None, n=1)
        lead = (
            f", fastest growth {target_label(top['target_name'].iat[0], top['target_id'].iat[0])} "
            f"(+{top['growth_km2'].iat[0]:,.2f} km2)"
            if len(top) and top["growth_km2"].iat[0] > 0
            else ""
        )
        n_foot = len(self.mining.data)
        return (
            f"change: {n_foot:,} mining footprints {span} inside {' and '.join(parts)} with mining{lead}, "
            f"{len(t):,} rows, rejected {len(self.rejected):,}"
        )


def target_geometries(
    protected_areas: gpd.GeoDataFrame | None, ecosystems: Mapping[str, gpd.GeoDataFrame], table: pd.DataFrame
) -> gpd.GeoDataFrame:
    """The geometry of each target in ``table`` (the parcels of a protected area unioned), for the geo formats."""
    rows = []
    wanted = table[["target_kind", "target_id", "target_name"]].drop_duplicates()
    layers: list[tuple[str, gpd.GeoDataFrame, str]] = []
    if protected_areas is not None:
        layers.append(("protected_area", protected_areas, "pa_id"))
    for label, layer in ecosystems.items():
        if layer is not None and len(layer):
            kind = label.replace(" ", "_")
            layers.append((kind, _with_ids(layer, kind), "eco_id"))
    for kind, layer, id_col in layers:
        ids = set(wanted.loc[wanted["target_kind"] == kind, "target_id"].astype("string"))
        if not ids:
            continue
        sub = layer[layer[id_col].astype("string").isin(ids)]
        for (tid, name), grp in sub.groupby([sub[id_col].astype("string"), sub["name"].astype("string")], sort=False):
            geom = grp.geometry.iat[0] if len(grp) == 1 else shapely.union_all(np.asarray(grp.geometry.values))
            rows.append({"target_kind": kind, "target_id": tid, "target_name": name, "geometry": geom})
    frame = pd.DataFrame(rows, columns=["target_kind", "target_id", "target_name", "geometry"])
    return gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")


def run_change(
    sources: LayerSources,
    settings,
    *,
    buffers_km: Sequence[float] = (),
    include_empty: bool = False,
    progress: Progress = _noop,
) -> ChangeResult:
    """The whole headless change computation: load the footprints and the targets, tabulate by year."""
    t0 = time.perf_counter()
    limits = zip_limits(settings)
    mining_result = load_mining_layer(sources, settings, progress)
    if mining_result is None:
        raise LayerError(None, "no mining footprints given", "give --mining PATH (repeatable: one file per year)")
    pas = None
    pa_result = None
    if sources.protected_areas is not None:
        progress(f"loading protected areas: {Path(sources.protected_areas).name}")
        pa_result = load_protected_areas_cached(sources, settings)
        pas = pa_result.data
    eco: dict[str, gpd.GeoDataFrame] = {}
    if sources.rainforest is not None:
        progress(f"loading rainforest: {Path(sources.rainforest).name}")
        eco["rainforest"] = ecosystems.load_rainforest(
            sources.rainforest, threshold_pct=settings.tree_cover_threshold_pct, zip_limits=limits
        )
    if pas is None and not eco:
        raise LayerError(
            None,
            "no protected areas or ecosystem polygons to measure the mining in",
            "give --protected-areas PATH and/or --rainforest PATH",
        )
    countries = countries_mod.load_countries(sources.countries)
    sites_result = None
    if sources.sites is not None:
        progress(f"loading sites: {Path(sources.sites).name}")
        sites_result = load_sites_cached(sources, settings, countries, None)
    table = change_table(
        mining_result.data, protected_areas=pas, ecosystems=eco,
        sites=sites_result.data if sites_result is not None else None, buffers_km=buffers_km,
        include_empty=include_empty, countries=countries, progress=progress,
    )  # fmt: skip
    geoms = target_geometries(pas, eco, table)
    cache = Path(settings.cache_dir)
    provenance = [mining_provenance(sources.mining, False, cache)]
    for what, path in (("protected areas", sources.protected_areas), ("rainforest", sources.rainforest),
                       ("sites", sources.sites)):  # fmt: skip
        if path is not None:
            provenance.append(f"{what}: {dataset_label(path, cache)}")
    warnings = list(mining_result.warnings)
    rejected = []
    for label, result in (("mining", mining_result), ("protected_areas", pa_result), ("sites", sites_result)):
        if result is not None:
            if label != "mining":
                warnings.extend(result.warnings)
            if result.n_rejected:
                part = result.rejected.copy()
                part.insert(0, "layer", label)
                rejected.append(part)
    rejected_frame = (
        pd.concat(rejected, ignore_index=True) if rejected else pd.DataFrame(columns=["layer", "row_number", "reason"])
    )
    years = sorted(int(y) for y in pd.unique(mining_result.data["year"]))
    return ChangeResult(
        table=table, geometries=geoms, mining=mining_result, rejected=rejected_frame, warnings=warnings,
        sources=provenance, is_demo=False, elapsed_s=time.perf_counter() - t0, years=years,
        buffers_km=tuple(float(d) for d in buffers_km),
    )  # fmt: skip


def write_change(result: ChangeResult, out: str | Path) -> Path | None:
    """The change table by extension (geo formats carry each target's geometry), its method and citations
    beside or inside it; ``<stem>.rejected.csv`` when rows were rejected (returned, else None)."""
    out = Path(out)
    table = result.table
    if out.suffix.lower() in (".geojson", ".gpkg", ".parquet"):
        keys = ["target_kind", "target_id", "target_name"]
        table = gpd.GeoDataFrame(
            table.merge(result.geometries, on=keys, how="left"), geometry="geometry", crs="EPSG:4326"
        )
    about = change_about(result.sources, len(table), result.buffers_km, LICENCE_NOTES)
    write_with_about(table, out, about, sheet="Mining by year")
    return write_rejected(result.rejected, out)


def change_about(
    result_sources: Sequence[str], n_rows: int, buffers_km: Sequence[float], licences: Sequence[str]
) -> str:
    """The method and citations that travel with a change table (its ``.about.txt``, XLSX sheet, metadata)."""
    import datetime as dt

    lines = [
        "Mining footprints inside protected areas and ecosystems, year by year",
        f"Generated: {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}",
        f"Rows: {n_rows}",
        f"Buffers (km): {', '.join(f'{d:g}' for d in buffers_km) or 'none'}",
        "",
        "Method: " + CHANGE_METHOD,
        "",
        "Data sources:",
        *[f"  - {s}" for s in result_sources],
        "",
        "Licences:",
        *[f"  - {s}" for s in licences],
    ]
    return "\n".join(lines) + "\n"


__all__ = [
    "CHANGE_METHOD",
    "DEMO_LABEL",
    "ChangeResult",
    "change_about",
    "change_columns",
    "change_table",
    "fastest_growth",
    "mining_by_year",
    "run_change",
    "target_geometries",
    "target_label",
    "write_change",
]
