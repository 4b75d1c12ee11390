"""Spatial partitioning of sites and conservative selection of the targets near each partition.

Used by the scale-out engine (``layers.dask_engine``): each task gets one partition of the
sites and only the targets (protected areas, ecosystem features) that can matter to it,
never the whole layer.

Partitions
----------
Sites are ordered along a Hilbert curve over a 2^16 x 2^16 lon/lat grid (cells of
0.0055° x 0.0027°) and cut into runs of equal size, so a partition is spatially compact
and the partitions are balanced.

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

import numpy as np
import shapely

from geo.crs import GEOD
from geo.proximity import PreparedTargets, lonlat_envelopes, prepare_targets

__all__ = [
    "envelope_boxes",
    "hilbert_keys",
    "nearest_upper_bound_km",
    "partition_starts",
    "select_targets",
    "spatial_order",
]

_UB_REL = 1.01  # widening of the nearest-distance upper bound (relative) ...
_UB_ABS_KM = 0.1  # ... and absolute, km


def hilbert_keys(lon: np.ndarray, lat: np.ndarray, order: int = 16) -> np.ndarray:
    """Position of each point along a Hilbert curve over the lon/lat rectangle.

    Parameters
    ----------
    lon, lat : numpy.ndarray of float, degrees (EPSG:4326). NaN is sent to the curve's start.
    order : int, 1-31. The grid has ``2**order`` cells per side.

    Returns
    -------
    numpy.ndarray of int64, in ``[0, 4**order)``; nearby keys are nearby on the ground
    (the converse does not always hold).
    """
    if not 1 <= order <= 31:
        raise ValueError(f"order must be in 1..31, got {order}")
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    n = np.int64(1) << order
    x = np.clip(np.floor((np.nan_to_num(lon, nan=-180.0) + 180.0) / 360.0 * n), 0, n - 1).astype(np.int64)
    y = np.clip(np.floor((np.nan_to_num(lat, nan=-90.0) + 90.0) / 180.0 * n), 0, n - 1).astype(np.int64)
    d = np.zeros(x.shape, dtype=np.int64)
    s = n >> 1
    while s > 0:
        rx = (x & s) > 0
        ry = (y & s) > 0
        d += s * s * ((3 * rx.astype(np.int64)) ^ ry.astype(np.int64))
        flip = ~ry & rx
        x = np.where(flip, n - 1 - x, x)
        y = np.where(flip, n - 1 - y, y)
        swap = ~ry
        x, y = np.where(swap, y, x), np.where(swap, x, y)
        s >>= 1
    return d


def spatial_order(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Positions that sort the points along the Hilbert curve (stable: ties keep input order).

    Parameters
    ----------
    lon, lat : numpy.ndarray of float, degrees (EPSG:4326).

    Returns
    -------
    numpy.ndarray of int64, a permutation of ``range(len(lon))``.
    """
    return np.argsort(hilbert_keys(lon, lat), kind="stable").astype(np.int64)


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


def _first_vertex(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat of one vertex of each geometry (NaN for missing or empty)."""
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


def _unit_vectors(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    lo, la = np.radians(lon), np.radians(lat)
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


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
    targets : :class:`geo.proximity.PreparedTargets` or shapely geometries in EPSG:4326.
    vertices_per_target : how many vertices of each target enter the k-d tree (only sets
        how tight the bound is).

    Returns
    -------
    numpy.ndarray of float64, km on the WGS84 ellipsoid, already widened by 1 % + 0.1 km
    (see the module docstring); NaN for missing sites or when there is no target.
    """
    from scipy.spatial import cKDTree

    tg = targets if isinstance(targets, PreparedTargets) else prepare_targets(targets)
    sites = np.asarray(site_geoms, dtype=object)
    out = np.full(len(sites), np.nan)
    ok = ~(shapely.is_missing(sites) | shapely.is_empty(sites))
    if not ok.any() or len(tg) == 0:
        return out
    geoms = tg.geoms if tg.geoms is not None else tg.geoms_at(np.arange(len(tg)))  # WKB-prepared targets
    tv = _sampled_vertices(geoms, max(1, int(vertices_per_target)))
    tv = tv[np.isfinite(tv).all(axis=1)]
    if len(tv) == 0:
        return out
    idx = np.flatnonzero(ok)
    slon, slat = _first_vertex(sites[idx])
    _, nearest = cKDTree(_unit_vectors(tv[:, 0], tv[:, 1])).query(_unit_vectors(slon, slat))
    _, _, dist_m = GEOD.inv(slon, slat, tv[nearest, 0], tv[nearest, 1])
    out[idx] = np.asarray(dist_m, dtype=np.float64) / 1000.0 * _UB_REL + _UB_ABS_KM
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
    targets : :class:`geo.proximity.PreparedTargets` or shapely geometries in EPSG:4326.
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
    if not np.isfinite(min_radius_km) or min_radius_km < 0:
        raise ValueError(f"min_radius_km must be a non-negative number of km, got {min_radius_km}")
    if cell_deg <= 0:
        raise ValueError(f"cell_deg must be positive, got {cell_deg}")
    tg = targets if isinstance(targets, PreparedTargets) else prepare_targets(targets)
    sites = np.asarray(site_geoms, dtype=object)
    partition = np.asarray(partition, dtype=np.int64)
    if len(partition) != len(sites):
        raise ValueError(f"partition has {len(partition)} entries for {len(sites)} sites")
    n_parts = int(partition.max()) + 1 if len(partition) else 0
    if n_parts == 0 or len(tg) == 0:
        return [np.zeros(0, dtype=np.int64) for _ in range(n_parts)]
    ub = nearest_upper_bound_km(sites, tg) if upper_bound_km is None else np.asarray(upper_bound_km, dtype=float)
    radius = np.fmax(ub, float(min_radius_km))  # NaN bound (no target found) -> min radius
    b = shapely.bounds(sites)
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
    qi, entries = tg.tree.query(shapely.box(boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]))
    qt = tg.owners(entries)  # a target may have several tree entries (its parts on both sides of ±180°)
    part_of_pair = gpart[owner[qi]]
    n_t = max(len(tg), 1)
    pairs = np.unique(part_of_pair * n_t + qt.astype(np.int64))
    p, t = pairs // n_t, pairs % n_t
    cuts = np.searchsorted(p, np.arange(n_parts + 1))
    return [t[cuts[i] : cuts[i + 1]].astype(np.int64) for i in range(n_parts)]
