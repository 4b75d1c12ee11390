"""Mining footprints inside target polygons (protected areas, ecosystems), year by year.

Inputs are mining footprints (polygons with a ``year``, e.g. Amazon Mining Watch's per-year
detections) and target polygons. For every target and year:

- ``mining_km2``: area of that year's footprints inside the target. Footprints of one year that
  overlap each other count once (the area of their union).
- ``mining_km2_cumulative``: area of the union of every footprint up to and including that year
  inside the target, so ground mined again in a later year is not counted twice.
- with buffers d: the same inside the target's geodesic zone of d km (the target and the ground
  within d km of it): ``mining_km2_within_{d}km`` and ``mining_km2_cumulative_within_{d}km``.

Method (no overlay of the whole layers, no union per target unless needed):

1. Everything is projected to EPSG:6933 (cylindrical equal-area on WGS84, ``geo.zones``) after
   segmentizing to 0.01°, so overlays are planar and areas exact to the projection (< 0.1 %
   against Lambert azimuthal equal-area references in the tests).
2. An STRtree over the footprints keeps only those meeting a target or zone.
3. Within each year, footprints whose interiors overlap (``relate`` pattern ``T********``) are
   merged by connected components; every other footprint is kept as is. The year's pieces are
   then disjoint, so the area of their union inside a target is a sum.
4. New ground: each piece minus the earlier years' pieces it overlaps (only where it overlaps any).
   New pieces are disjoint from every earlier one, so the cumulative area inside a target is a
   running sum of the new areas; no union of a growing footprint layer is ever built.
5. Attribution: targets and zones are cut into tiles of at most 256 vertices (they partition the
   target, so areas add up); (tile, piece) pairs come from an STRtree; a piece the tile covers
   (prepared ``covers``) adds its own area, and only pieces crossing a tile's edge are intersected,
   with a small tile rather than a whole protected area.

Sites with dates join in: :func:`count_sites_by_year` counts point sites by the year they were
first observed, inside each target (and within its zones).
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from geo.proximity import lonlat_envelopes
from geo.zones import ZoneInputError, geodesic_buffers, segmentize_lonlat, to_equal_area

__all__ = [
    "CHANGE_KEYS",
    "ChangeInputError",
    "compute_mining_change",
    "count_sites_by_year",
    "mining_change_columns",
]

#: the columns identifying a row of the change table
CHANGE_KEYS: tuple[str, ...] = ("target_kind", "target_id", "target_name", "year")
_POLYGONAL = (3, 6)
_TILE_VERTICES = 256


class ChangeInputError(ValueError):
    """Footprints, targets or sites the change computation cannot use; the message says how to fix it."""

    def __init__(self, problem: str, fix: str) -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem}. Fix: {fix}")


def mining_change_columns(buffers_km: Sequence[float] = (), *, share_column: str | None = None) -> list[str]:
    """Columns of :func:`compute_mining_change`'s table, in order."""
    cols = [*CHANGE_KEYS, "target_area_km2", "mining_km2", "mining_km2_cumulative"]
    for d in buffers_km:
        cols += [f"mining_km2_within_{float(d):g}km", f"mining_km2_cumulative_within_{float(d):g}km"]
    if share_column:
        cols += [share_column, f"{share_column}_cumulative"]
    return cols


# ----------------------------------------------------------------------------- validation
def _check_frame(obj: object, what: str) -> gpd.GeoDataFrame:
    if not isinstance(obj, gpd.GeoDataFrame):
        raise ChangeInputError(f"{what} must be a GeoDataFrame, got {type(obj).__name__}", "load it first")
    if obj.crs is not None and obj.crs.to_epsg() != 4326:
        raise ChangeInputError(
            f"{what} are in {obj.crs.to_string()}, not EPSG:4326 longitude/latitude",
            "reproject with .to_crs('EPSG:4326') (the loaders in layers/ do this)",
        )
    return obj


def _years_of(frame: gpd.GeoDataFrame, what: str) -> np.ndarray:
    if "year" not in frame.columns:
        raise ChangeInputError(f"{what} have no 'year' column", "load them with layers.mining.load_mining")
    y = pd.to_numeric(frame["year"], errors="coerce")
    bad = y.isna() | (y != y.round())
    if bad.any():
        raise ChangeInputError(
            f"{int(bad.sum())} of {what} have no whole-number year (e.g. {frame['year'][bad].iloc[0]!r})",
            "give every footprint a year such as 2019 (layers.mining.load_mining parses 201900, dates and file names)",
        )
    return y.to_numpy(dtype=np.int64)


def _check_buffers(buffers_km: Sequence[float]) -> list[float]:
    out = []
    for d in buffers_km:
        try:
            v = float(d)
        except (TypeError, ValueError):
            v = float("nan")
        if not np.isfinite(v) or v <= 0:
            raise ChangeInputError(f"buffer distances must be positive km, got {list(buffers_km)}", "use e.g. (10,)")
        out.append(v)
    return out


def _targets(targets: gpd.GeoDataFrame, id_column: str, name_column: str, kind: str) -> tuple[pd.DataFrame, np.ndarray]:
    """One row per (id, name) with its dissolved lon/lat polygon, in first-appearance order."""
    _check_frame(targets, "targets")
    missing = [c for c in (id_column, name_column) if c not in targets.columns]
    if missing:
        raise ChangeInputError(
            f"targets lack the column(s) {missing}",
            f"pass id_column/name_column naming columns among {list(targets.columns)[:20]}",
        )
    geoms = np.asarray(targets.geometry.values, dtype=object)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    not_poly = ok & ~np.isin(shapely.get_type_id(geoms), _POLYGONAL)
    if not_poly.any():
        raise ChangeInputError(
            f"{int(not_poly.sum())} target(s) are not polygons (e.g. {shapely.get_type_id(geoms[not_poly])[0]!r})",
            "give protected areas or ecosystems as polygon layers",
        )
    keys = pd.DataFrame(
        {
            "target_id": targets[id_column].astype("string").fillna("").to_numpy(),
            "target_name": targets[name_column].astype("string").fillna("").to_numpy(),
        }
    )[ok].reset_index(drop=True)
    geoms = geoms[ok]
    codes = keys.groupby(["target_id", "target_name"], sort=False).ngroup().to_numpy()
    first = pd.Series(np.arange(len(codes))).groupby(codes, sort=True).first().to_numpy()
    counts = np.bincount(codes, minlength=len(first))
    out = np.empty(len(first), dtype=object)
    for c in range(len(first)):
        out[c] = geoms[first[c]] if counts[c] == 1 else shapely.union_all(geoms[codes == c])
    invalid = ~shapely.is_valid(out)
    if invalid.any():
        out[invalid] = shapely.make_valid(out[invalid])
    keys = keys.iloc[first].reset_index(drop=True)
    keys.insert(0, "target_kind", kind)
    return keys, out


def _zones_ea(targets_ll: np.ndarray, buffers: list[float], keys: pd.DataFrame, near: np.ndarray) -> list[np.ndarray]:
    """Each target's geodesic zone per buffer, in EPSG:6933, complete wherever it meets ``near``.

    Only the outline pieces that may come within d of a footprint are buffered (see
    ``geo.zones.geodesic_buffer``'s ``near_bounds``): the zones are exact where footprints are.
    """
    zones = []
    near_bounds = shapely.bounds(near)
    tree = shapely.STRtree(shapely.box(*near_bounds.T)) if len(near) else None
    for d in buffers:
        z = np.empty(len(targets_ll), dtype=object)
        boxes, owner, _, _ = lonlat_envelopes(shapely.bounds(targets_ll), np.full(len(targets_ll), d))
        if tree is not None:
            q_box, q_near = tree.query(shapely.box(*boxes.T))
            q_tgt = owner[q_box]
        else:
            q_tgt = q_near = np.zeros(0, dtype=np.int64)
        order = np.argsort(q_tgt, kind="stable")
        cuts = np.searchsorted(q_tgt[order], np.arange(len(targets_ll) + 1))
        mine = [near_bounds[np.unique(q_near[order[cuts[k] : cuts[k + 1]]])] for k in range(len(targets_ll))]
        try:
            z[:] = geodesic_buffers(targets_ll, d, near_bounds=mine)
        except ZoneInputError as exc:
            raise ChangeInputError(f"target {keys['target_id'].iat[exc.index]!r}: {exc.problem}", exc.fix) from exc
        zones.append(to_equal_area(segmentize_lonlat(z)))
    return zones


# ----------------------------------------------------------------------------- footprint pieces
def _relevant(foot: np.ndarray, regions: np.ndarray) -> np.ndarray:
    """Positions of footprints meeting any region (bounding boxes first, then prepared intersects)."""
    tree = shapely.STRtree(foot)
    shapely.prepare(regions)
    _, f = tree.query(regions, predicate="intersects")
    return np.unique(f)


def _overlapping_pairs(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(i, j), i < j, of geometries whose interiors overlap."""
    tree = shapely.STRtree(geoms)
    i, j = tree.query(geoms, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    if len(i):
        inner = shapely.relate_pattern(geoms[i], geoms[j], "T********")
        i, j = i[inner], j[inner]
    return i, j


def _disjoint_by_year(geoms: np.ndarray, years: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each year's footprints with overlapping ones merged: pieces disjoint within a year."""
    i, j = _overlapping_pairs(geoms)
    same = years[i] == years[j]
    i, j = i[same], j[same]
    if len(i) == 0:
        return geoms, years
    n = len(geoms)
    graph = coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    sizes = np.bincount(label)
    alone = sizes[label] == 1
    merged_labels = np.flatnonzero(sizes > 1)
    merged = np.empty(len(merged_labels), dtype=object)
    merged_years = np.empty(len(merged_labels), dtype=np.int64)
    order = np.argsort(label, kind="stable")
    bounds = np.searchsorted(label[order], merged_labels)
    for k, lab in enumerate(merged_labels):
        members = order[bounds[k] : bounds[k] + sizes[lab]]
        merged[k] = shapely.union_all(geoms[members])
        merged_years[k] = years[members[0]]
    return np.concatenate([geoms[alone], merged]), np.concatenate([years[alone], merged_years])


def _new_ground(pieces: np.ndarray, years: np.ndarray) -> np.ndarray:
    """Each piece minus the pieces of earlier years it overlaps."""
    i, j = _overlapping_pairs(pieces)
    # orient each pair (later, earlier); pairs within one year do not overlap any more
    later = np.where(years[i] > years[j], i, j)
    earlier = np.where(years[i] > years[j], j, i)
    keep = years[i] != years[j]
    later, earlier = later[keep], earlier[keep]
    out = pieces.copy()
    if len(later) == 0:
        return out
    order = np.argsort(later, kind="stable")
    later, earlier = later[order], earlier[order]
    starts = np.r_[0, np.flatnonzero(np.diff(later)) + 1]
    ends = np.r_[starts[1:], len(later)]
    single = ends - starts == 1
    a = later[starts[single]]
    out[a] = shapely.difference(pieces[a], pieces[earlier[starts[single]]])
    for s, e in zip(starts[~single], ends[~single], strict=True):
        out[later[s]] = shapely.difference(pieces[later[s]], shapely.union_all(pieces[earlier[s:e]]))
    return out


def _tiles(regions: np.ndarray, max_vertices: int = _TILE_VERTICES) -> tuple[np.ndarray, np.ndarray]:
    """Regions cut into tiles of at most ``max_vertices`` vertices (halving the longer side of the
    bounding box), and the region of each tile. Tiles partition their region, so areas add up;
    intersecting a small footprint with a tile costs little, with a whole basin-wide polygon a lot."""
    geoms = np.asarray(regions, dtype=object)
    owner = np.arange(len(geoms))
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    geoms, owner = geoms[keep], owner[keep]
    done_g, done_o = [], []
    while len(geoms):
        big = shapely.get_num_coordinates(geoms) > max_vertices
        done_g.append(geoms[~big])
        done_o.append(owner[~big])
        g, o = geoms[big], owner[big]
        if len(g) == 0:
            break
        b = shapely.bounds(g)
        wide = (b[:, 2] - b[:, 0]) >= (b[:, 3] - b[:, 1])
        mx = 0.5 * (b[:, 0] + b[:, 2])
        my = 0.5 * (b[:, 1] + b[:, 3])
        lo = np.column_stack([b[:, 0], b[:, 1], np.where(wide, mx, b[:, 2]), np.where(wide, b[:, 3], my)])
        hi = np.column_stack([np.where(wide, mx, b[:, 0]), np.where(wide, b[:, 1], my), b[:, 2], b[:, 3]])
        halves = np.concatenate([_clip(g, lo), _clip(g, hi)])
        halves_owner = np.concatenate([o, o])
        polygonal = ~shapely.is_empty(halves) & (shapely.area(halves) > 0)
        geoms, owner = halves[polygonal], halves_owner[polygonal]
    return np.concatenate(done_g) if done_g else geoms, np.concatenate(done_o) if done_o else owner


def _clip(geoms: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Each geometry clipped to its box: GEOS's fast rectangle clip, or a full intersection where
    the clip's output is not valid (it does not promise validity)."""
    out = np.array([shapely.clip_by_rect(g, *bx) for g, bx in zip(geoms, boxes, strict=True)] + [None], dtype=object)[
        :-1
    ]
    bad = np.flatnonzero(~shapely.is_valid(out))
    if len(bad):
        out[bad] = shapely.intersection(geoms[bad], shapely.box(*boxes[bad].T))
    return out


def _area_by_region_year(
    tiles: tuple[np.ndarray, np.ndarray],
    n_regions: int,
    geoms: np.ndarray,
    year_pos: np.ndarray,
    n_years: int,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Matrix (region, year) of the area (km²) of ``geoms`` inside each region (EA metres in).

    ``tiles`` from :func:`_tiles`. With ``weights``, each geometry contributes
    ``weight × (area inside / own area)`` instead.
    """
    out = np.zeros((n_regions, n_years))
    tile_geoms, tile_owner = tiles
    if len(geoms) == 0 or len(tile_geoms) == 0:
        return out
    tree = shapely.STRtree(geoms)
    shapely.prepare(tile_geoms)
    t, g = tree.query(tile_geoms, predicate="intersects")
    if len(t) == 0:
        return out
    own = shapely.area(geoms) / 1e6
    inside = np.where(shapely.covers(tile_geoms[t], geoms[g]), own[g], np.nan)
    cut = np.flatnonzero(np.isnan(inside))
    if len(cut):
        inside[cut] = shapely.area(shapely.intersection(geoms[g[cut]], tile_geoms[t[cut]])) / 1e6
    if weights is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            inside = np.where(own[g] > 0, weights[g] * inside / own[g], 0.0)
    np.add.at(out, (tile_owner[t], year_pos[g]), inside)
    return out


# ----------------------------------------------------------------------------- public
def compute_mining_change(
    footprints: gpd.GeoDataFrame,
    targets: gpd.GeoDataFrame,
    *,
    id_column: str = "pa_id",
    name_column: str = "name",
    kind: str = "protected_area",
    buffers_km: Sequence[float] = (),
    years: Sequence[int] | None = None,
    include_empty: bool = False,
    share_column: str | None = None,
) -> pd.DataFrame:
    """Mining area inside each target, per year and cumulative, optionally within geodesic zones.

    Parameters
    ----------
    footprints : GeoDataFrame in EPSG:4326 with a whole-number ``year`` and (Multi)Polygon
        geometry (``layers.mining.load_mining``). Rows without geometry are ignored.
    targets : polygons in EPSG:4326 (protected areas, ecosystem polygons). Rows sharing the id and
        the name (the parcels of one protected area) are one target.
    id_column, name_column : the targets' id and name columns (``pa_id``/``name`` for the PA schema).
    kind : label written to ``target_kind`` (e.g. ``"protected_area"``, ``"rainforest"``).
    buffers_km : distances d (km) for the zone columns ``mining_km2_within_{d:g}km`` and
        ``mining_km2_cumulative_within_{d:g}km`` (the target and the ground within d km of it).
    years : the years to report (default: every footprint year). Cumulative figures always
        include every footprint up to the year, reported or not.
    include_empty : also give rows for targets with no mining at all (zeros).
    share_column : a footprint column (e.g. ``mined_km2``) apportioned to targets by the share of
        each footprint's area inside them, summed per year (``{share_column}``) and as a running
        sum (``{share_column}_cumulative``): Earth Genome's way to turn a detection's mined area
        into a per-area figure. Overlaps are not removed from it.

    Returns
    -------
    pandas.DataFrame with :func:`mining_change_columns`: ``target_kind``, ``target_id``,
    ``target_name``, ``year`` (int64), ``target_area_km2`` and the area columns (float64, km²,
    equal-area), one row per target (with mining in any reported year or zone, unless
    ``include_empty``) per year, sorted by target (input order) then year.

    Raises
    ------
    ChangeInputError
        frames not GeoDataFrames in EPSG:4326, a missing or non-whole year, non-polygon
        footprints or targets, missing id/name columns, non-positive buffers, or a zone reaching a pole.
    """
    foot = _check_frame(footprints, "footprints")
    buffers = _check_buffers(buffers_km)
    fg = np.asarray(foot.geometry.values, dtype=object)
    has = ~(shapely.is_missing(fg) | shapely.is_empty(fg))
    fy = _years_of(foot.loc[has], "footprints") if has.any() else np.zeros(0, dtype=np.int64)
    fg = fg[has]
    not_poly = ~np.isin(shapely.get_type_id(fg), _POLYGONAL)
    if not_poly.any():
        raise ChangeInputError(
            f"{int(not_poly.sum())} footprint(s) are not polygons",
            "give mining footprints as polygons (points are sites: use count_sites_by_year)",
        )
    weights = None
    if share_column is not None:
        if share_column not in foot.columns:
            raise ChangeInputError(f"footprints have no column {share_column!r}", "pass an existing column or None")
        weights = pd.to_numeric(foot.loc[has, share_column], errors="coerce").fillna(0.0).to_numpy(dtype=float)
    keys, tgt_ll = _targets(targets, id_column, name_column, kind)
    grid = np.array(sorted(set(fy.tolist())) if years is None else sorted({int(y) for y in years}), dtype=np.int64)
    all_years = np.union1d(np.unique(fy), grid)
    cols = mining_change_columns(buffers, share_column=share_column)
    invalid = ~shapely.is_valid(fg)
    if invalid.any():
        fg = fg.copy()
        fg[invalid] = shapely.make_valid(fg[invalid])
    regions = [to_equal_area(segmentize_lonlat(tgt_ll)), *_zones_ea(tgt_ll, buffers, keys, fg)]
    fe = to_equal_area(segmentize_lonlat(fg))
    tiles = [_tiles(reg) for reg in regions]
    every_tile = np.concatenate([t[0] for t in tiles])
    rel = _relevant(fe, every_tile) if len(fe) and len(every_tile) else np.zeros(0, dtype=np.int64)
    fe, fy_rel = fe[rel], fy[rel]
    pieces, py = _disjoint_by_year(fe, fy_rel)
    new = _new_ground(pieces, py)
    py_pos = np.searchsorted(all_years, py)
    fy_pos = np.searchsorted(all_years, fy_rel)
    grid_pos = np.searchsorted(all_years, grid)
    values: dict[str, np.ndarray] = {}
    n_t = len(keys)
    for r, tile in enumerate(tiles):
        suffix = "" if r == 0 else f"_within_{buffers[r - 1]:g}km"
        year_area = _area_by_region_year(tile, n_t, pieces, py_pos, len(all_years))
        cum_area = np.cumsum(_area_by_region_year(tile, n_t, new, py_pos, len(all_years)), axis=1)
        values[f"mining_km2{suffix}"] = year_area[:, grid_pos]
        values[f"mining_km2_cumulative{suffix}"] = cum_area[:, grid_pos]
    if weights is not None:
        w = _area_by_region_year(tiles[0], n_t, fe, fy_pos, len(all_years), weights[rel])
        values[share_column] = w[:, grid_pos]
        values[f"{share_column}_cumulative"] = np.cumsum(w, axis=1)[:, grid_pos]

    n_y = len(grid)
    any_mining = np.zeros(n_t, dtype=bool)
    for v in values.values():
        any_mining |= (v > 0).any(axis=1)
    shown = np.arange(n_t) if include_empty else np.flatnonzero(any_mining)
    out = keys.iloc[np.repeat(shown, n_y)].reset_index(drop=True)
    out["year"] = np.tile(grid, len(shown))
    out["target_area_km2"] = np.repeat(shapely.area(regions[0][shown]) / 1e6, n_y)
    for c, v in values.items():
        out[c] = v[shown].reshape(-1)
    for c in ("target_kind", "target_id", "target_name"):
        out[c] = out[c].astype("string")
    return out[cols]


def count_sites_by_year(
    sites: gpd.GeoDataFrame,
    targets: gpd.GeoDataFrame,
    *,
    id_column: str = "pa_id",
    name_column: str = "name",
    kind: str = "protected_area",
    date_column: str = "observed_date",
    site_id_column: str | None = "site_id",
    buffers_km: Sequence[float] = (),
    years: Sequence[int] | None = None,
    include_empty: bool = False,
) -> pd.DataFrame:
    """Sites inside each target by the year they were first observed, per year and cumulative.

    Parameters
    ----------
    sites : GeoDataFrame in EPSG:4326 with ``date_column`` (datetimes; sites without a date are
        left out) and point or polygon geometry. Rows sharing ``site_id_column`` are one site,
        first observed at its earliest date.
    targets, id_column, name_column, kind, buffers_km, years, include_empty : as in
        :func:`compute_mining_change` (``years`` defaults to the sites' first-observed years).

    Returns
    -------
    pandas.DataFrame: ``target_kind``, ``target_id``, ``target_name``, ``year``, ``sites_new``
    (sites first observed that year inside the target), ``sites_cumulative`` (first observed up to
    that year), and per buffer d ``sites_new_within_{d:g}km`` / ``sites_cumulative_within_{d:g}km``
    (int64); one row per target with any dated site (unless ``include_empty``) per year.
    """
    _check_frame(sites, "sites")
    buffers = _check_buffers(buffers_km)
    if date_column not in sites.columns:
        raise ChangeInputError(f"sites have no column {date_column!r}", "load them with layers.sites.load_sites")
    dates = pd.to_datetime(sites[date_column], errors="coerce")
    geoms = np.asarray(sites.geometry.values, dtype=object)
    ok = dates.notna().to_numpy() & ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    year = dates.dt.year.to_numpy()
    if site_id_column and site_id_column in sites.columns and ok.any():
        sid = sites[site_id_column].astype("string").to_numpy()
        first = pd.Series(year[ok], index=sid[ok]).groupby(level=0).transform("min").to_numpy()
        keep = ~pd.Series(sid[ok]).duplicated().to_numpy()  # the site's first row carries its first year
        pos = np.flatnonzero(ok)[keep]
        year_ok = first[keep].astype(np.int64)
    else:
        pos = np.flatnonzero(ok)
        year_ok = year[ok].astype(np.int64)
    g = geoms[pos]
    keys, tgt_ll = _targets(targets, id_column, name_column, kind)
    grid = np.array(sorted(set(year_ok.tolist())) if years is None else sorted({int(y) for y in years}), dtype=np.int64)
    all_years = np.union1d(np.unique(year_ok), grid)
    ypos = np.searchsorted(all_years, year_ok)
    grid_pos = np.searchsorted(all_years, grid)
    zones = [tgt_ll]
    for d in buffers:
        try:
            zones.append(geodesic_buffers(tgt_ll, d))
        except ZoneInputError as exc:
            raise ChangeInputError(exc.problem, exc.fix) from exc
    tree = shapely.STRtree(g)
    values = {}
    for r, reg in enumerate(zones):
        suffix = "" if r == 0 else f"_within_{buffers[r - 1]:g}km"
        counts = np.zeros((len(keys), len(all_years)), dtype=np.int64)
        if len(g) and len(reg):
            shapely.prepare(reg)
            t, s = tree.query(reg, predicate="intersects")
            np.add.at(counts, (t, ypos[s]), 1)
        values[f"sites_new{suffix}"] = counts[:, grid_pos]
        values[f"sites_cumulative{suffix}"] = np.cumsum(counts, axis=1)[:, grid_pos]
    n_y = len(grid)
    any_site = np.zeros(len(keys), dtype=bool)
    for c, v in values.items():
        if c.startswith("sites_cumulative"):
            any_site |= (v > 0).any(axis=1)
    shown = np.arange(len(keys)) if include_empty else np.flatnonzero(any_site)
    out = keys.iloc[np.repeat(shown, n_y)].reset_index(drop=True)
    out["year"] = np.tile(grid, len(shown))
    for c, v in values.items():
        out[c] = v[shown].reshape(-1)
    for c in ("target_kind", "target_id", "target_name"):
        out[c] = out[c].astype("string")
    return out
