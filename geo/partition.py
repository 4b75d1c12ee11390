"""Spatial partitioning of sites and conservative selection of the targets near each partition.

Used by the scale-out engine (``scoring.dask_engine``): each task gets one partition of the
sites and only the targets (protected areas, ecosystem features) that can matter to it,
never the whole layer.

Partitions
----------
Sites are ordered along a Hilbert curve over a 2^16 x 2^16 lon/lat grid (cells of
0.0055° x 0.0027°) and cut into runs of about equal estimated cost (:func:`site_costs`,
:func:`balanced_starts`), so a partition is spatially compact and the partitions take about
equal time: a run in a dense cluster of targets, or at high latitude, holds fewer sites than
one in open country near the equator.

Which targets a partition needs
-------------------------------
For each site ``s`` the proximity engine (``geo.proximity``) needs every target within the
largest buffer ``r_min`` (counts, areas, inside tests) and the nearest target, at some
distance ``D(s)``. So it needs every target within ``R(s) = max(r_min, D(s))`` and no other.

1. *Upper bound of D(s)*: a k-d tree on the unit vectors of a sample of target vertices
   (no antimeridian, no pole) gives a target vertex near each site; the ellipsoidal distance
   (Karney, ``pyproj.Geod.inv``) from a vertex of the site to that vertex bounds the distance
   to that target, so ``D(s) <= U(s)``. ``U`` is widened by 1 % + 0.1 km, which
   covers the engine's choice of closest point on the sphere (a relative deviation ≪ 0.1 %).
2. *Cells*: the sites of a partition are grouped by 1° x 1° lon/lat cells (a cell never
   straddles ±180°); each group gets the radius ``R = max(r_min, max U)`` over its sites.
3. *Envelope*: a lon/lat box that contains every point within geodesic distance ``R`` of the
   group's bounds: latitude span ``R / 110.5`` km per degree (< 110.574 km, the shortest
   meridional degree) and longitude span ``R / (111.3 cos φmax)`` (< a·π/180 = 111.319 km)
   with φmax the largest |latitude| of the latitude-widened box, because a path of length R
   stays within that latitude band and gains at most ``ds / (N cos φ) <= ds / (a cos φmax)``
   radians of longitude per km. At a pole the box spans all 360°; a box past ±180° is split
   into two boxes on both sides of the antimeridian.
4. Every target whose lon/lat bounding box (or, for a target indexed by its parts on both
   sides of ±180°, one of its parts' boxes) meets an envelope of the partition is selected.
   This is the same candidate rule the engine itself uses (with the same constants), so a
   partition's subset holds every target the engine could pick for any of its sites. Target
   positions are returned sorted, so ties (e.g. nested protected areas, both at 0 km) break
   to the same target as in the single-process engine.

Nothing here is measured in degrees: degrees only describe boxes that provably contain a
geodesic neighbourhood.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely

from geo.crs import GEOD, unit_vectors
from geo.curves import hilbert_keys, spatial_order
from geo.nearest import lonlat_envelopes
from geo.targets import PreparedTargets, prepare_targets

__all__ = [
    "SITE_COST_MAX_LAT",
    "SITE_COST_PAIRS",
    "TargetBoxes",
    "balanced_starts",
    "envelope_boxes",
    "first_vertices",
    "hilbert_keys",
    "nearest_upper_bound_km",
    "partition_starts",
    "select_targets",
    "select_targets_in_boxes",
    "site_costs",
    "spatial_order",
    "target_boxes",
    "upper_bound_from_vertices",
]

_UB_REL = 1.01  # widening of the nearest-distance upper bound (relative) ...
_UB_ABS_KM = 0.1  # ... and absolute, km


def partition_starts(n: int, partition_size: int) -> np.ndarray:
    """Boundaries of runs of ``partition_size`` items: partition ``i`` is ``[starts[i], starts[i+1])``.

    Parameters
    ----------
    n : number of items (>= 0).
    partition_size : items per partition (> 0); the last partition may be smaller.

    Returns
    -------
    numpy.ndarray of int64 of length ``ceil(n / partition_size) + 1`` (``[0]`` when n is 0).
    """
    if partition_size < 1:
        raise ValueError(f"partition_size must be positive, got {partition_size}")
    return np.r_[np.arange(0, n, partition_size), n].astype(np.int64) if n else np.zeros(1, dtype=np.int64)


#: a site's own work, in candidate pairs, at the equator: preparing its point, its nearest-PA search
#: per IUCN category (out to 200 km), its share of the scoring and of the Monte Carlo. Fitted on the
#: measured CPU seconds of 80 partitions (25,000 sites on average; 1M synthetic sites x 300k PAs cut
#: by size and by the earlier estimate, docs/performance.md "Dask engine"): a partition's time is
#: ~2.1 µs per candidate pair within 25 km plus ~34 µs per site x 1 / cos(latitude) (r = 0.96; a
#: constant per-site weight explains it with r = 0.81). It only sets how the partitions are cut,
#: never what they compute.
SITE_COST_PAIRS = 16.0
#: latitude (degrees) beyond which a site's own work is taken as at this latitude: the fit above
#: holds sites up to ~80°, and 1 / cos(latitude) would make a site by the pole cost thousands of pairs
SITE_COST_MAX_LAT = 80.0


def site_costs(site_bounds: np.ndarray, target_boxes: np.ndarray, radius_km: float) -> np.ndarray:
    """Estimated proximity cost of each site, in candidate pairs: its own work plus its candidate pairs.

    A site's own work is ``SITE_COST_PAIRS / cos(latitude)`` (latitude capped at
    ``SITE_COST_MAX_LAT``): a fit of measured partition times, not a derivation (plausibly the
    lon/lat envelopes of its category searches, which widen east-west as 1 / cos(latitude)).
    Its candidates are the targets whose box centre lies in the lon/lat cells around the site's
    that its envelope of ``radius_km`` covers, as the engine's envelopes do
    (``geo.nearest.lonlat_envelopes``): cells of ``radius_km`` (at least 0.05°) in latitude, one
    cell either side; in longitude ``1 / cos(latitude)`` cells either side (an envelope widens
    towards the poles). Counted with a summed-area table, so the estimate costs O(sites + targets)
    whatever the radius. Partitions of equal estimated cost take about equal time (see
    ``SITE_COST_PAIRS`` for the fit).

    Parameters
    ----------
    site_bounds : (n, 4) lon/lat bounds of the sites (NaN rows for missing sites: cost SITE_COST_PAIRS).
    target_boxes : (k, 4) lon/lat boxes of the targets (``TargetBoxes.boxes``).
    radius_km : the largest distance within which every target counts (e.g. the largest buffer).

    Returns
    -------
    numpy.ndarray of float64, one cost per site.
    """
    b = np.asarray(site_bounds, dtype=np.float64).reshape(-1, 4)
    cost = np.full(len(b), SITE_COST_PAIRS)
    ok = np.flatnonzero(np.isfinite(b).all(axis=1))
    lat = 0.5 * (b[ok, 1] + b[ok, 3])
    cost[ok] = SITE_COST_PAIRS / np.cos(np.radians(np.minimum(np.abs(lat), SITE_COST_MAX_LAT)))
    tb = np.asarray(target_boxes, dtype=np.float64).reshape(-1, 4)
    if len(ok) == 0 or len(tb) == 0:
        return cost
    cell = max(float(radius_km) / 110.5, 0.05)
    nx, ny = int(np.ceil(360.0 / cell)), int(np.ceil(180.0 / cell))

    def cells(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cx = np.clip(((lon + 180.0) / cell).astype(np.int64), 0, nx - 1)
        cy = np.clip(((lat + 90.0) / cell).astype(np.int64), 0, ny - 1)
        return cx, cy

    tx, ty = cells(0.5 * (tb[:, 0] + tb[:, 2]), 0.5 * (tb[:, 1] + tb[:, 3]))
    grid = np.zeros((ny, nx))
    np.add.at(grid, (ty, tx), 1.0)
    area = np.zeros((ny + 1, nx + 1))  # area[y, x] = targets in cells [0, y) x [0, x)
    area[1:, 1:] = grid.cumsum(axis=0).cumsum(axis=1)
    sx, sy = cells(0.5 * (b[ok, 0] + b[ok, 2]), lat)
    y0, y1 = np.maximum(sy - 1, 0), np.minimum(sy + 2, ny)
    phi = np.minimum(np.abs(lat) + cell, 89.0)  # the envelope's widest latitude
    wx = np.minimum(np.ceil(1.0 / np.cos(np.radians(phi))).astype(np.int64), nx)
    x0, x1 = np.maximum(sx - wx, 0), np.minimum(sx + wx + 1, nx)  # (no wrap at ±180°: an estimate)
    cost[ok] += area[y1, x1] - area[y0, x1] - area[y1, x0] + area[y0, x0]
    return cost


def balanced_starts(cost: np.ndarray, n_parts: int) -> np.ndarray:
    """Boundaries of ``n_parts`` runs of consecutive items of about equal total ``cost``.

    Parameters
    ----------
    cost : non-negative cost of each item, in the order the runs are cut (e.g. along a Hilbert curve).
    n_parts : number of runs, 1 <= n_parts <= len(cost) (0 when there is no item).

    Returns
    -------
    numpy.ndarray of int64 of length ``n_parts + 1``: run ``i`` is ``[starts[i], starts[i+1])``;
    every run holds at least one item.
    """
    c = np.asarray(cost, dtype=np.float64)
    n = len(c)
    if n == 0:
        return np.zeros(1, dtype=np.int64)
    if not 1 <= n_parts <= n:
        raise ValueError(f"n_parts must be between 1 and {n}, got {n_parts}")
    cum = np.cumsum(np.maximum(c, 0.0))
    goal = cum[-1] * np.arange(1, n_parts) / n_parts
    inner = np.searchsorted(cum, goal, side="left") + 1  # the item that reaches the goal closes the run
    starts = np.r_[0, inner, n].astype(np.int64)
    # every run non-empty: at least i items before boundary i and n_parts - i after it
    i = np.arange(n_parts + 1)
    starts = np.maximum(starts, i)
    starts = np.maximum.accumulate(starts - i) + i
    starts = np.minimum(starts, n - (n_parts - i))
    return starts


def first_vertices(geoms: np.ndarray | Sequence[shapely.Geometry]) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat of one vertex of each geometry, the point the nearest-distance bound starts from.

    Parameters
    ----------
    geoms : shapely geometries in lon/lat degrees (EPSG:4326).

    Returns
    -------
    lon, lat : numpy.ndarray of float64, degrees; NaN for missing or empty geometries.
    """
    g = np.asarray(geoms, dtype=object)
    types = shapely.get_type_id(g)
    multi = np.isin(types, (4, 5, 6, 7))
    part = g.copy()
    if multi.any():
        part[multi] = shapely.get_geometry(g[multi], 0)
    ptypes = shapely.get_type_id(part)
    poly = ptypes == 3
    if poly.any():
        part[poly] = shapely.get_exterior_ring(part[poly])
    line = np.isin(shapely.get_type_id(part), (1, 2))
    if line.any():
        part[line] = shapely.get_point(part[line], 0)
    x = shapely.get_x(part)
    y = shapely.get_y(part)
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def _sampled_vertices(geoms: np.ndarray, per_target: int) -> np.ndarray:
    """Up to ``per_target`` vertices of each geometry, spread along its first part's outline.

    Returns an (k, 2) lon/lat array (NaN rows for missing or empty geometries). Vectorised
    with ``shapely.get_point`` so the coordinates of large layers are never all copied.
    """
    g = np.asarray(geoms, dtype=object)
    types = shapely.get_type_id(g)
    part = g.copy()
    multi = np.isin(types, (4, 5, 6, 7))
    if multi.any():
        part[multi] = shapely.get_geometry(g[multi], 0)
    poly = shapely.get_type_id(part) == 3
    if poly.any():
        part[poly] = shapely.get_exterior_ring(part[poly])
    line = np.isin(shapely.get_type_id(part), (1, 2))
    out = [np.column_stack([shapely.get_x(part[~line]), shapely.get_y(part[~line])])]  # points (or NaN)
    lines = part[line]
    n_pts = shapely.get_num_points(lines)
    for j in range(per_target):
        idx = (j * n_pts) // per_target
        pts = shapely.get_point(lines, idx)
        out.append(np.column_stack([shapely.get_x(pts), shapely.get_y(pts)]))
    return np.concatenate(out)


def nearest_upper_bound_km(
    site_geoms: np.ndarray | Sequence[shapely.Geometry],
    targets: PreparedTargets | np.ndarray,
    *,
    vertices_per_target: int = 8,
) -> np.ndarray:
    """An upper bound of each site's geodesic distance to its nearest target.

    The nearest of a sample of target vertices (``vertices_per_target`` per target, evenly
    spread along its first part's outline) is found with a k-d tree on unit vectors, which knows no antimeridian and
    no pole; the ellipsoidal distance from a vertex of the site to that target vertex bounds
    the distance from the site to that target, hence to its nearest target.

    Parameters
    ----------
    site_geoms : shapely geometries in lon/lat degrees (EPSG:4326).
    targets : :class:`geo.targets.PreparedTargets` or shapely geometries in EPSG:4326.
    vertices_per_target : how many vertices of each target enter the k-d tree (only sets
        how tight the bound is).

    Returns
    -------
    numpy.ndarray of float64, km on the WGS84 ellipsoid, already widened by 1 % + 0.1 km
    (see the module docstring); NaN for missing sites or when there is no target.
    """
    tg = targets if isinstance(targets, PreparedTargets) else prepare_targets(targets)
    sites = np.asarray(site_geoms, dtype=object)
    out = np.full(len(sites), np.nan)
    ok = ~(shapely.is_missing(sites) | shapely.is_empty(sites))
    if not ok.any() or len(tg) == 0:
        return out
    geoms = tg.geoms if tg.geoms is not None else tg.geoms_at(np.arange(len(tg)))  # WKB-prepared targets
    tv = _sampled_vertices(geoms, max(1, int(vertices_per_target)))
    slon, slat = first_vertices(sites)
    return upper_bound_from_vertices(slon, slat, tv)


def upper_bound_from_vertices(
    site_lon: np.ndarray, site_lat: np.ndarray, vertices: np.ndarray, *, chunk: int = 200_000
) -> np.ndarray:
    """An upper bound of each site's geodesic distance to the nearest of some target vertices.

    The nearest vertex is found with a k-d tree on unit vectors (no antimeridian, no pole); the
    ellipsoidal distance (Karney) to it, widened by 1 % + 0.1 km, bounds the distance from the
    site to the target that vertex belongs to, hence to its nearest target.

    Parameters
    ----------
    site_lon, site_lat : numpy.ndarray of float, degrees (EPSG:4326); a vertex of each site
        (:func:`first_vertices`), NaN for a missing site.
    vertices : (m, 2) float array of target vertices, lon/lat degrees (rows with NaN ignored),
        e.g. :attr:`TargetBoxes.vertices`.
    chunk : sites queried at once (bounds the memory of the query, not the result).

    Returns
    -------
    numpy.ndarray of float64, km on the WGS84 ellipsoid; NaN for missing sites or without vertices.
    """
    from scipy.spatial import cKDTree

    slon = np.asarray(site_lon, dtype=np.float64)
    slat = np.asarray(site_lat, dtype=np.float64)
    out = np.full(len(slon), np.nan)
    tv = np.asarray(vertices, dtype=np.float64).reshape(-1, 2)
    tv = tv[np.isfinite(tv).all(axis=1)]
    idx = np.flatnonzero(np.isfinite(slon) & np.isfinite(slat))
    if len(tv) == 0 or len(idx) == 0:
        return out
    tree = cKDTree(unit_vectors(tv[:, 0], tv[:, 1]))
    for c0 in range(0, len(idx), chunk):
        sel = idx[c0 : c0 + chunk]
        _, nearest = tree.query(unit_vectors(slon[sel], slat[sel]))
        _, _, dist_m = GEOD.inv(slon[sel], slat[sel], tv[nearest, 0], tv[nearest, 1])
        out[sel] = np.asarray(dist_m, dtype=np.float64) / 1000.0 * _UB_REL + _UB_ABS_KM
    return out


def envelope_boxes(bounds: np.ndarray, radius_km: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat boxes containing every point within geodesic ``radius_km`` of each bounding box.

    Parameters
    ----------
    bounds : (n, 4) float array of (lon_min, lat_min, lon_max, lat_max), degrees; rows with
        NaN give no box.
    radius_km : (n,) float array, km (>= 0; NaN gives no box).

    Returns
    -------
    boxes : (k, 4) float array of boxes within [-180, 180] x [-90, 90]; a box that passes ±180°
        is split in two, a box that reaches a pole spans all longitudes.
    owner : (k,) int64, the input row of each box.
    """
    bounds = np.asarray(bounds, dtype=np.float64).reshape(-1, 4)
    radius_km = np.asarray(radius_km, dtype=np.float64)
    radius_km = np.where(radius_km >= 0, radius_km, np.nan)  # a negative radius gives no box
    boxes, owner, _, _ = lonlat_envelopes(bounds, radius_km)
    return boxes, owner.astype(np.int64)


@dataclass(frozen=True)
class TargetBoxes:
    """What the target selection needs of a layer, without its geometries.

    Built batch by batch with :func:`target_boxes` (and :meth:`concat`), so a layer can be read
    in chunks: memory grows with the number of targets, not with their vertices.

    Attributes
    ----------
    boxes : (k, 4) float64, lon/lat bounding boxes in degrees: one per target, or one per part
        for a multi-part target split at ±180° (a box wider than 180°).
    owner : (k,) int64, the target position of each box.
    vertices : (m, 2) float64, sampled target vertices (lon/lat degrees) for
        :func:`upper_bound_from_vertices`.
    n : int, the number of targets (missing and empty ones included; they have no box).
    """

    boxes: np.ndarray
    owner: np.ndarray
    vertices: np.ndarray
    n: int

    @classmethod
    def concat(cls, parts: Sequence[TargetBoxes]) -> TargetBoxes:
        """The boxes of consecutive batches (each built with its batch's ``offset``)."""
        if not parts:
            return cls(np.zeros((0, 4)), np.zeros(0, np.int64), np.zeros((0, 2)), 0)
        return cls(
            np.concatenate([p.boxes for p in parts]),
            np.concatenate([p.owner for p in parts]),
            np.concatenate([p.vertices for p in parts]),
            sum(p.n for p in parts),
        )


def target_boxes(
    geoms: np.ndarray | Sequence[shapely.Geometry], offset: int = 0, *, vertices_per_target: int = 8
) -> TargetBoxes:
    """The bounding boxes and sampled vertices of a batch of targets (see :class:`TargetBoxes`).

    Parameters
    ----------
    geoms : shapely geometries in lon/lat degrees (EPSG:4326); missing or empty ones get no box
        and no vertex, so they are never selected.
    offset : position of the batch's first target in the layer (the owners are layer positions).
    vertices_per_target : vertices sampled along each target's first part (bound tightness only).

    Returns
    -------
    TargetBoxes
        Multi-part targets whose box is wider than 180° of longitude (split at ±180°) are boxed
        by their parts, as :func:`geo.targets.prepare_targets_wkb` indexes them.
    """
    g = np.asarray(geoms, dtype=object).ravel()
    ok = ~(shapely.is_missing(g) | shapely.is_empty(g))
    b = shapely.bounds(g)
    wide = ok & (b[:, 2] - b[:, 0] > 180.0) & np.isin(shapely.get_type_id(g), (4, 5, 6))
    keep = ok & ~wide
    boxes = [b[keep]]
    owner = [np.flatnonzero(keep).astype(np.int64) + offset]
    if wide.any():
        wide_idx = np.flatnonzero(wide)
        parts, part_of = shapely.get_parts(g[wide_idx], return_index=True)
        pb = shapely.bounds(parts)
        good = np.isfinite(pb).all(axis=1)
        boxes.append(pb[good])
        owner.append(wide_idx[part_of[good]].astype(np.int64) + offset)
    tv = _sampled_vertices_of_batch(g[ok], max(1, int(vertices_per_target)))
    return TargetBoxes(np.concatenate(boxes), np.concatenate(owner), tv, len(g))


def _sampled_vertices_of_batch(geoms: np.ndarray, per_target: int) -> np.ndarray:
    """Up to ``per_target`` distinct vertices of each geometry's first part's outline, (k, 2) lon/lat.

    The same vertices as :func:`_sampled_vertices` without its repeats, through one
    ``get_coordinates`` of the batch: a batch's outlines are small, and this is several times
    faster than one ``get_point`` call per sampled vertex.
    """
    if len(geoms) == 0:
        return np.zeros((0, 2))
    part = geoms.copy()
    multi = np.isin(shapely.get_type_id(geoms), (4, 5, 6, 7))
    if multi.any():
        part[multi] = shapely.get_geometry(geoms[multi], 0)
    poly = shapely.get_type_id(part) == 3
    if poly.any():
        part[poly] = shapely.get_exterior_ring(part[poly])
    coords, idx = shapely.get_coordinates(part, return_index=True)
    counts = np.bincount(idx, minlength=len(part)).astype(np.int64)
    starts = np.r_[0, np.cumsum(counts)[:-1]].astype(np.int64)
    m = np.minimum(counts, per_target)[:, None]
    j = np.arange(per_target, dtype=np.int64)[None, :]
    pos = starts[:, None] + (j * counts[:, None]) // np.maximum(m, 1)
    tv = coords[pos[j < m]]
    return tv[np.isfinite(tv).all(axis=1)]


def select_targets(
    site_geoms: np.ndarray | Sequence[shapely.Geometry],
    partition: np.ndarray,
    targets: PreparedTargets | np.ndarray,
    min_radius_km: float,
    *,
    cell_deg: float = 1.0,
    upper_bound_km: np.ndarray | None = None,
) -> list[np.ndarray]:
    """For each partition, the targets that can matter to its sites (see the module docstring).

    Parameters
    ----------
    site_geoms : shapely geometries in lon/lat degrees (EPSG:4326).
    partition : int array, the partition (0..p-1) of each site.
    targets : :class:`geo.targets.PreparedTargets` or shapely geometries in EPSG:4326.
    min_radius_km : every target within this geodesic distance (km) of a site is selected,
        e.g. the largest buffer distance.
    cell_deg : side of the lon/lat grid cells that group a partition's sites (degrees; only
        sets how tight the selection is, never whether it is correct).
    upper_bound_km : per-site bound of the nearest distance (km), e.g. from
        :func:`nearest_upper_bound_km` (computed when omitted).

    Returns
    -------
    list of ``p`` sorted int64 arrays of target positions; it holds every target within
    ``max(min_radius_km, nearest distance)`` of each of the partition's sites.
    """
    _check_selection_args(min_radius_km, cell_deg)
    tg = targets if isinstance(targets, PreparedTargets) else prepare_targets(targets)
    sites = np.asarray(site_geoms, dtype=object)
    partition = np.asarray(partition, dtype=np.int64)
    if len(partition) != len(sites):
        raise ValueError(f"partition has {len(partition)} entries for {len(sites)} sites")
    n_parts = int(partition.max()) + 1 if len(partition) else 0
    if n_parts == 0 or len(tg) == 0:
        return [np.zeros(0, dtype=np.int64) for _ in range(n_parts)]
    ub = nearest_upper_bound_km(sites, tg) if upper_bound_km is None else np.asarray(upper_bound_km, dtype=float)
    return _select(shapely.bounds(sites), partition, n_parts, ub, tg.tree, tg.owners, len(tg), min_radius_km, cell_deg)


def select_targets_in_boxes(
    site_bounds: np.ndarray,
    partition: np.ndarray,
    targets: TargetBoxes,
    min_radius_km: float,
    upper_bound_km: np.ndarray,
    *,
    cell_deg: float = 1.0,
) -> list[np.ndarray]:
    """:func:`select_targets` from bounding boxes only (sites and targets read in chunks).

    Parameters
    ----------
    site_bounds : (n, 4) float array of site bounds (lon_min, lat_min, lon_max, lat_max),
        degrees; NaN rows for missing sites.
    partition : int array, the partition (0..p-1) of each site.
    targets : :class:`TargetBoxes` of the whole layer.
    min_radius_km : every target within this geodesic distance (km) of a site is selected.
    upper_bound_km : per-site bound of the nearest distance (km), from
        :func:`upper_bound_from_vertices` on ``targets.vertices``.
    cell_deg : side of the lon/lat cells that group a partition's sites (degrees).

    Returns
    -------
    list of ``p`` sorted int64 arrays of target positions, as :func:`select_targets`.
    """
    _check_selection_args(min_radius_km, cell_deg)
    bounds = np.asarray(site_bounds, dtype=np.float64).reshape(-1, 4)
    partition = np.asarray(partition, dtype=np.int64)
    ub = np.asarray(upper_bound_km, dtype=np.float64)
    if len(partition) != len(bounds) or len(ub) != len(bounds):
        raise ValueError(f"partition and upper_bound_km need one entry per site ({len(bounds)} sites)")
    n_parts = int(partition.max()) + 1 if len(partition) else 0
    if n_parts == 0 or targets.n == 0 or len(targets.boxes) == 0:
        return [np.zeros(0, dtype=np.int64) for _ in range(n_parts)]
    b = targets.boxes
    tree = shapely.STRtree(shapely.box(b[:, 0], b[:, 1], b[:, 2], b[:, 3]))
    owner = targets.owner
    return _select(bounds, partition, n_parts, ub, tree, lambda e: owner[e], targets.n, min_radius_km, cell_deg)


def _check_selection_args(min_radius_km: float, cell_deg: float) -> None:
    if not np.isfinite(min_radius_km) or min_radius_km < 0:
        raise ValueError(f"min_radius_km must be a non-negative number of km, got {min_radius_km}")
    if cell_deg <= 0:
        raise ValueError(f"cell_deg must be positive, got {cell_deg}")


def _select(
    b: np.ndarray,
    partition: np.ndarray,
    n_parts: int,
    ub: np.ndarray,
    tree: shapely.STRtree,
    owners,
    n_targets: int,
    min_radius_km: float,
    cell_deg: float,
) -> list[np.ndarray]:
    """The selection proper: site bounds grouped by (partition, cell), envelopes, tree query."""
    radius = np.fmax(ub, float(min_radius_km))  # NaN bound (no target found) -> min radius
    ok = np.isfinite(b).all(axis=1)
    idx = np.flatnonzero(ok)
    # group (partition, cell); a cell never straddles ±180° because the grid starts there
    cx = np.floor((np.clip(b[idx, 0], -180.0, 180.0) + 180.0) / cell_deg).astype(np.int64)
    cy = np.floor((np.clip(b[idx, 1], -90.0, 90.0) + 90.0) / cell_deg).astype(np.int64)
    ncx = int(np.ceil(360.0 / cell_deg)) + 1
    ncy = int(np.ceil(180.0 / cell_deg)) + 1
    key = (partition[idx] * ncy + cy) * ncx + cx
    uniq, grp = np.unique(key, return_inverse=True)
    g = len(uniq)
    gb = np.empty((g, 4))
    gb[:, 0] = np.inf
    gb[:, 1] = np.inf
    gb[:, 2] = -np.inf
    gb[:, 3] = -np.inf
    np.minimum.at(gb[:, 0], grp, b[idx, 0])
    np.minimum.at(gb[:, 1], grp, b[idx, 1])
    np.maximum.at(gb[:, 2], grp, b[idx, 2])
    np.maximum.at(gb[:, 3], grp, b[idx, 3])
    gr = np.zeros(g)
    np.maximum.at(gr, grp, radius[idx])
    gpart = uniq // (ncx * ncy)
    boxes, owner = envelope_boxes(gb, gr)
    qi, entries = tree.query(shapely.box(boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]))
    qt = owners(entries)  # a target may have several tree entries (its parts on both sides of ±180°)
    part_of_pair = gpart[owner[qi]]
    n_t = max(n_targets, 1)
    pairs = np.unique(part_of_pair * n_t + qt.astype(np.int64))
    p, t = pairs // n_t, pairs % n_t
    cuts = np.searchsorted(p, np.arange(n_parts + 1))
    return [t[cuts[i] : cuts[i + 1]].astype(np.int64) for i in range(n_parts)]
