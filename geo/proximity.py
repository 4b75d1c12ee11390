"""Geodesic proximity of sites to protected areas and ecosystem layers: the facts per site.

Every distance is an ellipsoidal geodesic distance on WGS84 (km); nothing is measured in
degrees or in a global projected CRS. This module validates the inputs and assembles the
per-site frames; the engine behind it is split by concern:

=====================  ======================================================================
``geo.targets``        target preparation: STRtree, flat unit-vector arrays, WKB decoding
``geo.nearest``        candidate search, exact closest points, nearest target, counts
``geo.disc_area``      area of (the union of) polygons within a geodesic disc
``geo._kernels``       the numba kernels behind them (serial/parallel twins)
=====================  ======================================================================

Input paths: shapely geometries (:func:`prepare_targets`, GeoDataFrames) are turned into the
kernels' flat arrays through ``shapely.to_wkb`` and the numba WKB walker; GeoArrow/GeoParquet WKB
columns (:func:`prepare_targets_wkb`, :func:`compute_protected_area_proximity_arrow`) go straight
from Arrow's buffers to those arrays, with an STRtree of bounding boxes, so no GEOS geometry is
built for them except for the targets a site may lie inside. Both paths give identical results.

Counts and nearest come from the same per-pair distances, so ``protected_areas_within_{d}km``
always equals the number of PAs with distance <= d, and ``dist_protected_area_km`` is the
smallest of them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyproj
import shapely

from geo._kernels import closest as kclosest
from geo._kernels.flat import Flat
from geo.crs import GEOD, R_MAX_KM, R_MIN_KM, WGS84_A_KM, WGS84_E2  # noqa: F401  (re-exported, see below)
from geo.curves import spatial_order
from geo.disc_area import area_within_disc_km2
from geo.nearest import (
    complete_nearest,
    count_within_km,
    group_index,
    intersecting_pairs,
    lonlat_envelopes,
    nearest_all,
    nearest_distance_km,
    nearest_in_groups,
    pairs_within,
    prepare_sites,
)
from geo.targets import (
    TARGETS_FORMAT,
    FlatSet,
    PreparedTargets,
    as_geom_array,
    flatten,
    flatten_geos,
    no_missing,
    prepare_targets,
    prepare_targets_wkb,
    targets_arrays,
    targets_from_arrays,
)
from geo.vocab import IUCN_CATEGORIES, IUCN_SLUGS

__all__ = [
    "PA_ATTRIBUTE_COLUMNS",
    "TARGETS_FORMAT",
    "PreparedTargets",
    "ProximityInputError",
    "compute_layer_proximity",
    "compute_protected_area_proximity",
    "compute_protected_area_proximity_arrow",
    "count_within_km",
    "lonlat_envelopes",
    "nearest_distance_km",
    "nearest_features",
    "prepare_pa_targets",
    "prepare_targets",
    "prepare_targets_wkb",
    "targets_arrays",
    "targets_from_arrays",
]

#: the PA attribute columns the PA proximity functions read (``layers.schema.PA_COLUMNS`` names)
PA_ATTRIBUTE_COLUMNS = ("pa_id", "name", "designation", "iucn_cat")
_PA_REQUIRED = PA_ATTRIBUTE_COLUMNS
_SITE_BATCH = 50_000  # sites per batch of the PA facts: bounds the candidate-pair arrays (~20 per site)

# Names geo.proximity had before the engine was split into the modules above; tests, benchmarks and
# other packages imported them from here (so do the WGS84 constants imported from geo.crs).
_Flat = Flat
_FlatSet = FlatSet
_as_geom_array = as_geom_array
_flatten = flatten
_flatten_geos = flatten_geos
_no_missing = no_missing


class ProximityInputError(ValueError):
    """Input to the proximity engine is unusable; the message says what is wrong and how to fix it."""

    def __init__(self, problem: str, fix: str) -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem}. Fix: {fix}")


def _check_geographic(obj: object, what: str) -> None:
    crs = getattr(obj, "crs", None)
    if crs is not None and crs.to_epsg() != 4326:
        raise ProximityInputError(
            f"{what} are in {crs.to_string()}, not EPSG:4326 longitude/latitude",
            "reproject them first with .to_crs('EPSG:4326') (the loaders in layers/ do this)",
        )


def _site_array(sites: gpd.GeoSeries | gpd.GeoDataFrame) -> np.ndarray:
    if not isinstance(sites, gpd.GeoSeries | gpd.GeoDataFrame):
        raise ProximityInputError(
            f"sites must be a GeoSeries, got {type(sites).__name__}", "pass the `geometry` column of the sites frame"
        )
    _check_geographic(sites, "sites")
    return as_geom_array(sites)


def _check_buffers(buffers_km: Sequence[float]) -> list[float]:
    out = [float(d) for d in buffers_km]
    if any(not np.isfinite(d) or d <= 0 for d in out):
        raise ProximityInputError(
            f"buffer distances must be positive kilometres, got {list(buffers_km)}", "use e.g. (1, 5, 10, 25)"
        )
    return out


def compute_protected_area_proximity(
    sites: gpd.GeoSeries,
    protected_areas: gpd.GeoDataFrame,
    *,
    buffers_km: Sequence[float] = (1, 5, 10, 25),
    area_buffer_km: float | None = 10.0,
    category_reach_km: float | None = None,
) -> pd.DataFrame:
    """Protected-area facts per site: inside, nearest PA, counts within buffers, PA area in a disc.

    Parameters
    ----------
    sites : GeoSeries of Point or (Multi)Polygon in EPSG:4326.
    protected_areas : GeoDataFrame with ``pa_id``, ``name``, ``designation``, ``iucn_cat`` and
        (Multi)Polygon geometry in EPSG:4326 (``layers.schema.PA_COLUMNS``). PAs split at ±180°
        into parts on both sides are handled.
    buffers_km : distances (km) for ``protected_areas_within_{d:g}km``.
    area_buffer_km : radius (km) of the geodesic disc for ``protected_area_km2_within_{r:g}km``;
        None leaves that column out (it is the costliest fact: about half of the time on
        WDPA-sized layers, where many sites have several overlapping PAs in the disc).
    category_reach_km : radius (km) within which the nearest PA of each IUCN category is found
        (one ``dist_protected_area_iucn_{slug}_km`` column per ``geo.vocab.IUCN_CATEGORIES``);
        None (the default) leaves those columns out and changes nothing else.

    Returns
    -------
    pandas.DataFrame indexed like ``sites``:
        ``in_protected_area`` (bool), ``dist_protected_area_km`` (float, km, 0 inside, NaN without
        PAs), ``nearest_protected_area``, ``nearest_protected_area_id``, ``nearest_protected_area_iucn``,
        ``nearest_protected_area_designation`` (str, <NA> when none), one
        ``protected_areas_within_{d:g}km`` (int64: distinct ``pa_id`` with distance <= d) per buffer,
        and, unless ``area_buffer_km`` is None, ``protected_area_km2_within_{area_buffer_km:g}km``
        (float, km²: area of the union of PAs
        inside the geodesic disc around the site);
        with ``category_reach_km``, one ``dist_protected_area_iucn_{slug}_km`` per slug of
        ``geo.vocab.IUCN_SLUGS`` (float64, km: geodesic distance to the nearest PA whose ``iucn_cat``,
        stripped, is that category, with any other value counting as "Not Reported"; 0 inside;
        ``+inf`` when no PA of that category lies within ``category_reach_km``; NaN for a site
        without geometry). Their minimum equals ``dist_protected_area_km`` wherever that is within
        reach. They come out of the same candidate search as the other facts (one pass).

    Raises
    ------
    ProximityInputError
        sites not a GeoSeries, a CRS other than EPSG:4326, missing PA columns, or non-positive
        buffers or reach.
    """
    geoms = _site_array(sites)
    if not isinstance(protected_areas, gpd.GeoDataFrame):
        raise ProximityInputError(
            f"protected_areas must be a GeoDataFrame, got {type(protected_areas).__name__}",
            "load it with layers.protected_areas.load_protected_areas",
        )
    _check_geographic(protected_areas, "protected_areas")
    missing = [c for c in _PA_REQUIRED if c not in protected_areas.columns]
    if missing:
        raise ProximityInputError(
            f"protected_areas lacks the column(s) {missing}",
            "load it with layers.protected_areas.load_protected_areas (WDPA schema: pa_id, name, designation, iucn_cat)",
        )
    valid = ~(protected_areas.geometry.isna() | protected_areas.geometry.is_empty).to_numpy()
    pa_rows = protected_areas[valid]
    tg = prepare_targets(pa_rows.geometry) if len(pa_rows) and len(geoms) else None
    return _pa_facts(geoms, sites.index, tg, pa_rows, buffers_km, area_buffer_km, category_reach_km)


def _pa_facts(
    geoms: np.ndarray,
    index: pd.Index,
    tg: PreparedTargets | None,
    attrs: pd.DataFrame,
    buffers_km: Sequence[float],
    area_buffer_km: float | None,
    category_reach_km: float | None = None,
) -> pd.DataFrame:
    """Core of the PA proximity: ``attrs`` holds the PA columns, row i describing target i."""
    buffers = _check_buffers(buffers_km)
    area_r = _check_buffers([area_buffer_km])[0] if area_buffer_km is not None else None
    reach = _check_buffers([category_reach_km])[0] if category_reach_km is not None else None
    n = len(geoms)
    out = pd.DataFrame(index=index)
    str_cols = {
        "nearest_protected_area": "name",
        "nearest_protected_area_id": "pa_id",
        "nearest_protected_area_iucn": "iucn_cat",
        "nearest_protected_area_designation": "designation",
    }
    area_col = f"protected_area_km2_within_{area_r:g}km" if area_r is not None else None
    radii = [*buffers, *([area_r] if area_r is not None else [])]
    if tg is None or len(tg) == 0 or n == 0:
        out["in_protected_area"] = np.zeros(n, dtype=bool)
        out["dist_protected_area_km"] = np.full(n, np.nan)
        for col in str_cols:
            out[col] = pd.Series(pd.NA, index=index, dtype="string")
        for d in buffers:
            out[f"protected_areas_within_{d:g}km"] = np.zeros(n, dtype=np.int64)
        if area_col is not None:
            out[area_col] = np.zeros(n)
        if reach is not None:
            _put_category_columns(out, np.full((n, len(IUCN_CATEGORIES)), np.inf), geoms)
        return out

    # Sites are taken along a Hilbert curve (neighbours share PAs, so the kernels find the PA
    # vertices in cache) and in batches (the candidate pairs of a million sites would take GBs).
    # Every per-site result is independent of the order and of the batch, and is put back in
    # input order. Sites without geometry (NaN bounds) go to the curve's start.
    b = shapely.bounds(geoms)
    order = spatial_order(0.5 * (b[:, 0] + b[:, 2]), 0.5 * (b[:, 1] + b[:, 3]))
    if tg.flat is None and n > _SITE_BATCH:  # flatten every target once, not once per batch
        tg = replace(tg, flat=FlatSet(flatten(tg.geoms), np.arange(len(tg), dtype=np.int64)))
    codes, uniq_codes = pd.factorize(attrs["pa_id"].astype("string"), use_na_sentinel=False)
    dup_ids = len(uniq_codes) < len(attrs)
    thresholds = np.asarray(buffers, dtype=float)
    best = np.full(n, np.nan)
    arg = np.full(n, -1, dtype=np.int64)
    counts = np.zeros((n, len(buffers)), dtype=np.int64)
    in_pa = np.zeros(n, dtype=bool)
    area = np.zeros(n) if area_r is not None else None
    n_cat = len(IUCN_CATEGORIES)
    if reach is not None:
        category = _iucn_codes(attrs["iucn_cat"])
        cat_min = np.full((n, n_cat), np.inf)
        groups = None  # per-category trees, built on first need
    for b0 in range(0, n, _SITE_BATCH):
        rows = order[b0 : b0 + _SITE_BATCH]
        m = len(rows)
        site_prep = prepare_sites(geoms[rows])
        inside = intersecting_pairs(site_prep, tg)
        # exact distances where a count, the area selection or the nearest PA depends on them
        if reach is None:
            ps, pt, dist, fs = pairs_within(site_prep, tg, np.full(m, max(radii)), inside, None, np.asarray(radii))
        else:  # the same search, where it also makes the nearest PA of each category exact
            r_near = max(radii)
            ps, pt, dist, fs = pairs_within(
                site_prep, tg, np.full(m, r_near), inside, None, np.asarray(radii), category, r_near
            )
            within = dist <= reach
            key = ps[within] * n_cat + category[pt[within]]
            b_cat = kclosest.min_at(m * n_cat, key, dist[within]).reshape(m, n_cat)
            if reach > r_near:  # categories with no PA that near: searched among their own PAs only
                if groups is None:
                    groups = group_index(tg, category, n_cat)
                valid = np.isfinite(site_prep.bounds).all(axis=1)
                s_far, c_far = np.nonzero(np.isinf(b_cat) & valid[:, None])
                b_cat[s_far, c_far] = nearest_in_groups(site_prep, tg, groups, s_far, c_far, reach)
            cat_min[rows] = b_cat
        b_best, b_arg, b_counts = kclosest.site_reduce(m, ps, pt, dist, thresholds)
        if dup_ids:  # several rows of one PA count once, at their smallest distance
            g = pd.DataFrame({"s": ps, "c": codes[pt], "d": dist}).groupby(["s", "c"], sort=False)["d"].min()
            gs = g.index.get_level_values(0).to_numpy()
            gc = g.index.get_level_values(1).to_numpy()
            _, _, b_counts = kclosest.site_reduce(m, gs, gc, g.to_numpy(), thresholds)
        best[rows], arg[rows] = complete_nearest(site_prep, tg, inside, b_best, b_arg)
        counts[rows] = b_counts
        in_pa[rows[inside[0]]] = True
        if area is not None:
            sel = dist <= area_r
            area[rows] = area_within_disc_km2(site_prep, tg, ps[sel], pt[sel], area_r, fs)
        del ps, pt, dist, inside, site_prep

    out["in_protected_area"] = in_pa
    out["dist_protected_area_km"] = best
    has = arg >= 0
    for col, src in str_cols.items():
        vals = pd.array(np.full(n, None, dtype=object), dtype="string")
        vals[has] = attrs[src].astype("string").to_numpy()[arg[has]]
        out[col] = vals
    for q, d in enumerate(buffers):
        out[f"protected_areas_within_{d:g}km"] = counts[:, q]
    if area is not None:
        out[area_col] = area
    if reach is not None:
        _put_category_columns(out, cat_min, geoms)
    return out


def _iucn_codes(iucn: pd.Series) -> np.ndarray:
    """Position in ``IUCN_CATEGORIES`` of each PA's category (stripped); any other value, or none,
    counts as "Not Reported"."""
    values = iucn.astype("string").str.strip().to_numpy(dtype=object, na_value=None)
    codes = pd.Index(IUCN_CATEGORIES).get_indexer(values).astype(np.int64)
    codes[codes < 0] = IUCN_CATEGORIES.index("Not Reported")
    return codes


def _put_category_columns(out: pd.DataFrame, cat_min: np.ndarray, geoms: np.ndarray) -> None:
    """One ``dist_protected_area_iucn_{slug}_km`` column per category; NaN for sites without geometry."""
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    cat_min[missing] = np.nan
    for q, slug in enumerate(IUCN_SLUGS):
        out[f"dist_protected_area_iucn_{slug}_km"] = cat_min[:, q]


def _geoparquet_geometry(table: pa.Table) -> tuple[str, object]:
    """Primary geometry column of a GeoParquet/GeoArrow table and its CRS metadata (None if absent)."""
    meta = (table.schema.metadata or {}).get(b"geo")
    info = json.loads(meta) if meta else {}
    col = info.get("primary_column", "geometry")
    col_meta = info.get("columns", {}).get(col, {})
    if col not in table.column_names:
        raise ProximityInputError(f"the table has no geometry column {col!r}", "write it as GeoParquet (WKB geometry)")
    enc = col_meta.get("encoding", "WKB")
    if str(enc).upper() != "WKB":
        raise ProximityInputError(f"geometry encoding {enc!r} is not WKB", "write the GeoParquet with WKB encoding")
    if "crs" in col_meta:  # GeoParquet: absent means OGC:CRS84
        return col, col_meta["crs"]
    field_meta = table.schema.field(col).metadata or {}
    ext = json.loads(field_meta.get(b"ARROW:extension:metadata", b"{}") or b"{}")
    return col, ext.get("crs", "OGC:CRS84" if meta else None)


def _check_pa_table(protected_areas: pa.Table) -> str:
    """The geometry column of a PA Arrow table, after checking its type, CRS and columns."""
    if not isinstance(protected_areas, pa.Table):
        raise ProximityInputError(
            f"protected_areas must be a pyarrow.Table, got {type(protected_areas).__name__}",
            "read the GeoParquet with pyarrow.parquet.read_table",
        )
    col, crs = _geoparquet_geometry(protected_areas)
    if crs is not None and not pyproj.CRS.from_user_input(crs).equals(pyproj.CRS("OGC:CRS84"), ignore_axis_order=True):
        raise ProximityInputError(
            f"protected_areas are in {pyproj.CRS.from_user_input(crs).to_string()}, not EPSG:4326",
            "reproject them to EPSG:4326 longitude/latitude first",
        )
    missing = [c for c in _PA_REQUIRED if c not in protected_areas.column_names]
    if missing:
        raise ProximityInputError(
            f"protected_areas lacks the column(s) {missing}",
            "use the WDPA schema columns pa_id, name, designation, iucn_cat",
        )
    return col


def prepare_pa_targets(protected_areas: pa.Table) -> PreparedTargets:
    """The geometries of a PA Arrow table decoded for the proximity engine (:func:`prepare_targets_wkb`),
    to pass as ``targets`` to :func:`compute_protected_area_proximity_arrow` (or to store with
    :func:`geo.targets.targets_arrays`). Checks the table as that function does."""
    return prepare_targets_wkb(protected_areas.column(_check_pa_table(protected_areas)))


def compute_protected_area_proximity_arrow(
    sites: gpd.GeoSeries,
    protected_areas: pa.Table,
    *,
    buffers_km: Sequence[float] = (1, 5, 10, 25),
    area_buffer_km: float | None = 10.0,
    category_reach_km: float | None = None,
    targets: PreparedTargets | None = None,
) -> pd.DataFrame:
    """:func:`compute_protected_area_proximity` for PAs given as a GeoArrow/GeoParquet Arrow table.

    Same output, but the PA geometries are decoded from WKB straight into flat arrays
    (:func:`prepare_targets_wkb`) instead of going through GEOS: reading a WDPA-sized GeoParquet
    with ``pyarrow.parquet.read_table`` and calling this is several times faster and needs far
    less memory than ``geopandas.read_parquet`` followed by the GeoDataFrame version.

    Parameters
    ----------
    sites : GeoSeries of Point or (Multi)Polygon in EPSG:4326.
    protected_areas : pyarrow.Table with ``pa_id``, ``name``, ``designation``, ``iucn_cat`` and a
        WKB geometry column (GeoParquet ``geo`` metadata: its primary column, else ``geometry``) in
        EPSG:4326 / OGC:CRS84 (the GeoParquet default when no CRS is given).
    buffers_km, area_buffer_km, category_reach_km : as in :func:`compute_protected_area_proximity`.
    targets : the table's geometries already prepared (:func:`prepare_pa_targets`, or
        :func:`geo.targets.targets_from_arrays` of a stored copy); None decodes them here.

    Returns
    -------
    pandas.DataFrame
        exactly as :func:`compute_protected_area_proximity`.

    Raises
    ------
    ProximityInputError
        as :func:`compute_protected_area_proximity`, or a table that is not GeoArrow WKB in lon/lat.
    """
    geoms = _site_array(sites)
    col = _check_pa_table(protected_areas)
    attrs = protected_areas.select(list(_PA_REQUIRED)).to_pandas()
    if targets is not None and len(targets) != protected_areas.num_rows:
        raise ValueError(f"targets hold {len(targets)} areas, the table {protected_areas.num_rows} rows")
    tg = None
    if protected_areas.num_rows and len(geoms):
        tg = targets if targets is not None else prepare_targets_wkb(protected_areas.column(col))
    return _pa_facts(geoms, sites.index, tg, attrs, buffers_km, area_buffer_km, category_reach_km)


def compute_layer_proximity(
    sites: gpd.GeoSeries,
    layer: gpd.GeoDataFrame | gpd.GeoSeries,
    name: str,
    *,
    polygonal_inside: bool = True,
) -> pd.DataFrame:
    """Inside flag and geodesic distance from each site to the nearest feature of a layer.

    Parameters
    ----------
    sites : GeoSeries of Point or (Multi)Polygon in EPSG:4326.
    layer : polygons, lines or points in EPSG:4326 (e.g. rainforest, reefs, rivers).
    name : column stem, e.g. ``"rainforest"`` gives ``in_rainforest`` and ``dist_rainforest_km``.
    polygonal_inside : if True a site inside a polygon feature is at 0 km; if False the
        distance is to the polygon's boundary even from inside.

    Returns
    -------
    pandas.DataFrame indexed like ``sites``: ``in_{name}`` (bool: intersects a polygon feature;
    always False for line/point features) and ``dist_{name}_km`` (float, km on WGS84; 0 when
    inside or touching; NaN when the layer is empty).
    """
    geoms = _site_array(sites)
    if not isinstance(layer, gpd.GeoSeries | gpd.GeoDataFrame):
        raise ProximityInputError(
            f"layer {name!r} must be a GeoDataFrame or GeoSeries, got {type(layer).__name__}",
            "load it with the layers/ loaders",
        )
    _check_geographic(layer, f"layer {name!r}")
    if not name or not name.isidentifier():
        raise ProximityInputError(f"layer name {name!r} is not a valid column stem", "use e.g. 'rainforest'")
    lg = as_geom_array(layer)
    lg = lg[~(shapely.is_missing(lg) | shapely.is_empty(lg))]
    n = len(geoms)
    out = pd.DataFrame(index=sites.index)
    if len(lg) == 0 or n == 0:
        out[f"in_{name}"] = np.zeros(n, dtype=bool)
        out[f"dist_{name}_km"] = np.full(n, np.nan)
        return out
    tg = prepare_targets(lg)
    sp = prepare_sites(geoms)
    inside = intersecting_pairs(sp, tg)
    in_flag = np.zeros(n, dtype=bool)
    in_flag[inside[0]] = True
    # lines and points: touching means distance 0 through the kernel itself
    dist, _ = nearest_all(sp, tg, inside if polygonal_inside else None)
    out[f"in_{name}"] = in_flag
    out[f"dist_{name}_km"] = dist
    return out


def nearest_features(
    lon: float, lat: float, layer: gpd.GeoDataFrame, k: int = 5, max_km: float = 100.0
) -> pd.DataFrame:
    """The ``k`` features of ``layer`` nearest to (lon, lat) within ``max_km``, sorted by distance.

    Parameters
    ----------
    lon, lat : degrees, EPSG:4326.
    layer : GeoDataFrame in EPSG:4326 (e.g. protected areas).
    k : at most this many rows.
    max_km : search radius in km (geodesic).

    Returns
    -------
    pandas.DataFrame: the layer's attribute columns (no geometry) of the nearest features plus
    ``dist_km`` (float, km on WGS84, 0 inside), sorted by ``dist_km``, original index kept.
    """
    if not isinstance(layer, gpd.GeoDataFrame):
        raise ProximityInputError(f"layer must be a GeoDataFrame, got {type(layer).__name__}", "pass a loaded layer")
    _check_geographic(layer, "layer")
    if not (np.isfinite(lon) and np.isfinite(lat) and -180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise ProximityInputError(
            f"({lon}, {lat}) is not a longitude/latitude", "give lon in [-180, 180], lat in [-90, 90]"
        )
    if k < 1 or not np.isfinite(max_km) or max_km <= 0:
        raise ProximityInputError(f"k={k}, max_km={max_km}", "use k >= 1 and a positive max_km")
    attrs = layer.drop(columns=layer.geometry.name)
    valid = ~(layer.geometry.isna() | layer.geometry.is_empty).to_numpy()
    if not valid.any():
        return attrs.iloc[:0].assign(dist_km=pd.Series(dtype=float))
    pos = np.flatnonzero(valid)
    tg = prepare_targets(layer.geometry.to_numpy()[pos])
    sp = prepare_sites(np.array([shapely.Point(lon, lat)], dtype=object))
    inside = intersecting_pairs(sp, tg)
    _, pt, dist, _ = pairs_within(sp, tg, np.array([float(max_km)]), inside)
    order = np.lexsort((pt, dist))[:k]
    res = attrs.iloc[pos[pt[order]]].copy()
    res["dist_km"] = dist[order]
    return res
