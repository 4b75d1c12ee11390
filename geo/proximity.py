"""Geodesic proximity of sites to protected areas and ecosystem layers.

Every distance is an ellipsoidal geodesic distance on WGS84 (km); nothing is measured in
degrees or in a global projected CRS.

How it works
------------
1. *Candidates*: a shapely ``STRtree`` over the targets in lon/lat is queried with a
   conservative degree envelope around each site, derived from the search radius in km
   (latitude span ``d / 110.5`` km per degree, below the shortest meridional degree of
   110.574 km; longitude span ``d / (111.3 cos φmax)`` with φmax the highest |latitude| of
   the envelope, the whole 360° when the envelope reaches a pole). Envelopes that cross
   ±180° are wrapped, so targets on the other side of the antimeridian are found.
2. *Exact closest point*: a numba kernel (``geo._kernels``) walks the candidate target's
   boundary as great-circle segments between unit vectors (n-vectors), visiting blocks of
   16 vertices nearest bounding cap first and stopping at the first cap farther than the best
   distance so far, and returns the closest boundary point. Line and polygon *sites* are
   walked as their outline densified to 0.0004° (<= 44.5 m, so <= 22 m of error).
3. *Ellipsoidal distance*: ``pyproj.Geod.inv`` (Karney) between the site and that closest
   point. Choosing the closest point on the sphere instead of the ellipsoid changes the
   distance only to second order (relative error ≪ 0.1 %); tests compare against an
   independent densified ``Geod`` reference (``geo.crs.geodesic_point_to_geometry_km``).
4. *Inside*: shapely ``intersects`` in lon/lat (prepared, through the tree); sites at
   exactly ±180° are also tested against their ±360° twin so PAs split at the antimeridian
   are caught. Inside (or touching) means distance 0.

Input paths: shapely geometries (:func:`prepare_targets`, GeoDataFrames) are turned into the
kernels' flat arrays through ``shapely.to_wkb`` and the numba WKB walker of ``geo._kernels``;
GeoArrow/GeoParquet WKB columns (:func:`prepare_targets_wkb`,
:func:`compute_protected_area_proximity_arrow`) go straight from Arrow's buffers to those arrays,
with an STRtree of bounding boxes, so no GEOS geometry is built for them except for the targets a
site may lie inside. Both paths give identical results.

Radius safety: the n-vector angle θ between two points and their geodesic distance s obey
``s >= θ · a(1 - e²)`` (the largest curvature of the ellipsoid), so pruning on
``θ > d / 6335.439 km`` never drops a target within ``d``.

The nearest target is found with the same machinery: all targets within the largest
buffer first; for the remaining sites a degree-space ``query_nearest`` gives one
candidate whose exact distance D is an upper bound, then every target within D is
checked exactly. Counts and nearest come from the same per-pair distances, so
``protected_areas_within_{d}km`` always equals the number of PAs with distance <= d.

Area within the buffer disc: computed exactly with Green's theorem in a gnomonic plane centred
on the site and scaled by the ellipsoid's radii of curvature there (east: N, north: M). Each
edge contributes the signed area of (disc ∩ triangle(centre, edge)); the circle is exact (no
polygon approximation). Where several PAs lie in a disc, only the parts of their edges outside
the other PAs count (and the arcs of the circle inside any PA), so overlapping PAs count once;
no GEOS overlay is needed (``geo._kernels.union_disc_area``). Error bound: the plane is
isometric at the centre; over a 10 km disc its scale differs from the ellipsoid by < 2e-5
(change of the meridional curvature 3e²·sinφ·cosφ·Δφ ≈ 1.6e-5; gnomonic tan θ/θ - 1 ≈ 1e-6),
so the area error is < 5e-5 relative (< 0.02 km² on a full 314 km² disc). PA edges are taken
as great-circle arcs, as ``geodesic_area_km2`` and the distance reference take them as
geodesics; for very long edges this differs from a straight line in lon/lat. For polygon sites
the disc is centred on the site's representative point (``shapely.point_on_surface``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from geo._kernels import closest as kclosest
from geo._kernels import disc as kdisc
from geo._kernels import flat as kflat
from geo._kernels import union as kunion
from geo._kernels import wkb as kwkb
from geo._kernels.flat import Flat, Vertices
from geo.crs import GEOD, R_MAX_KM, R_MIN_KM, WGS84_A_KM, WGS84_E2, lonlat_of_unit_vectors  # noqa: F401
from geo.curves import spatial_order

__all__ = [
    "PreparedTargets",
    "ProximityInputError",
    "compute_layer_proximity",
    "compute_protected_area_proximity",
    "compute_protected_area_proximity_arrow",
    "count_within_km",
    "nearest_distance_km",
    "nearest_features",
    "prepare_targets",
    "prepare_targets_wkb",
]

_LAT_DEG_KM = 110.5  # < 110.574 km, the shortest meridional degree
_LON_DEG_KM = 111.3  # < a·π/180 = 111.319 km, a degree of longitude at the equator
_BLOCK = 16  # vertices per bounding cap
_SITE_SPACING_DEG = 0.0004  # densification of line/polygon sites: <= 44.5 m, so error <= 22 m
#: the PA attribute columns the PA proximity functions read (``layers.schema.PA_COLUMNS`` names)
PA_ATTRIBUTE_COLUMNS = ("pa_id", "name", "designation", "iucn_cat")
_PA_REQUIRED = PA_ATTRIBUTE_COLUMNS
_SITE_BATCH = 50_000  # sites per batch of the PA facts: bounds the candidate-pair arrays (~20 per site)


# ----------------------------------------------------------------------------- preparation
@dataclass(frozen=True)
class PreparedTargets:
    """Target geometries (EPSG:4326) with their STRtree; build once, query many times. Read-only.

    From :func:`prepare_targets` (shapely geometries): the flat unit-vector arrays the kernels walk
    are built per query, only for the targets that are candidates of that query. From
    :func:`prepare_targets_wkb` (GeoArrow WKB): ``geoms`` is None, the tree holds the targets'
    lon/lat bounding boxes, every target is decoded once into ``flat``, and shapely geometries are
    built from ``wkb`` only for the targets a site may lie inside.
    """

    geoms: np.ndarray | None
    tree: shapely.STRtree
    polygonal: np.ndarray  # bool per target: (Multi)Polygon
    flat: _FlatSet | None = None
    wkb: pa.Array | pa.ChunkedArray | None = None
    tree_owner: np.ndarray | None = None  # target of each tree entry, when not the identity

    def owners(self, entries: np.ndarray) -> np.ndarray:
        """Target positions of STRtree entries."""
        return entries if self.tree_owner is None else self.tree_owner[entries]

    def __len__(self) -> int:
        return len(self.polygonal)

    def geoms_at(self, idx: np.ndarray) -> np.ndarray:
        """Shapely geometries of targets ``idx`` (built from the WKB when not kept)."""
        if self.geoms is not None:
            return self.geoms[idx]
        return shapely.from_wkb(_take_wkb(self.wkb, np.asarray(idx, dtype=np.int64)))


_Flat = Flat  # the targets' flat arrays (see geo._kernels.flat)


def _as_geom_array(geoms: object) -> np.ndarray:
    if isinstance(geoms, gpd.GeoDataFrame):
        geoms = geoms.geometry
    arr = np.asarray(getattr(geoms, "values", geoms), dtype=object)
    return arr.ravel() if arr.ndim != 1 else arr


def _no_missing(geoms: np.ndarray) -> np.ndarray:
    missing = shapely.is_missing(geoms)
    if missing.any():
        geoms = geoms.copy()
        geoms[missing] = shapely.Point()
    return geoms


def prepare_targets(geoms: gpd.GeoSeries | np.ndarray | Sequence[shapely.Geometry]) -> PreparedTargets:
    """Index target geometries for repeated proximity queries.

    Parameters
    ----------
    geoms : array-like of shapely geometries in lon/lat degrees (EPSG:4326): points, lines,
        polygons and their multi-parts. None or empty geometries never match.

    Returns
    -------
    PreparedTargets
    """
    geoms = _no_missing(_as_geom_array(geoms))
    return PreparedTargets(geoms, shapely.STRtree(geoms), np.isin(shapely.get_type_id(geoms), (3, 6)))


def _flatten_mixed(geoms: np.ndarray, types: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Vertex ranges, element (ring/line/point) ranges, ring signs and coordinates of any geometries."""
    n = len(geoms)
    single = types <= 3  # Point, LineString, LinearRing, Polygon: no parts to split
    if single.all():
        parts, part_owner = geoms, np.arange(n)
    else:
        multi = np.flatnonzero(~single)
        mparts, mown = shapely.get_parts(geoms[multi], return_index=True)
        one = np.flatnonzero(single)
        parts = np.concatenate([geoms[one], mparts])
        part_owner = np.concatenate([one, multi[mown]])
        order = np.argsort(part_owner, kind="stable")
        parts, part_owner = parts[order], part_owner[order]
    is_poly = shapely.get_type_id(parts) == 3
    if is_poly.all():
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        elems, owner = rings, part_owner[ring_part]
        sign = np.where(np.r_[True, ring_part[1:] != ring_part[:-1]], 1.0, -1.0) if len(ring_part) else np.zeros(0)
    else:
        poly_idx = np.flatnonzero(is_poly)
        rings, ring_part = shapely.get_rings(parts[poly_idx], return_index=True)
        ring_first = np.r_[True, ring_part[1:] != ring_part[:-1]] if len(ring_part) else np.zeros(0, bool)
        other_idx = np.flatnonzero(~is_poly)
        elems = np.concatenate([rings, parts[other_idx]])
        owner = np.concatenate([part_owner[poly_idx][ring_part], part_owner[other_idx]])
        sign = np.concatenate([np.where(ring_first, 1.0, -1.0), np.zeros(len(other_idx))])
        order = np.argsort(owner, kind="stable")
        elems, owner, sign = elems[order], owner[order], sign[order]
    coords = shapely.get_coordinates(elems)
    elem_start = np.r_[0, np.cumsum(shapely.get_num_coordinates(elems))].astype(np.int64)
    tgt_v = elem_start[np.searchsorted(owner, np.arange(n + 1))]  # vertex range per target
    return tgt_v, elem_start, sign.astype(np.int8), coords


def _blocks(tgt_v: np.ndarray, vx: np.ndarray, vy: np.ndarray, vz: np.ndarray) -> tuple[np.ndarray, ...]:
    """Blocks of ``_BLOCK`` consecutive vertices per target and their bounding caps."""
    n = len(tgt_v) - 1
    nblk = -(-np.diff(tgt_v) // _BLOCK)
    tgt_blk = np.r_[0, np.cumsum(nblk)].astype(np.int64)
    blk_t = np.repeat(np.arange(n), nblk)
    blk_v0 = (tgt_v[blk_t] + (np.arange(tgt_blk[-1]) - tgt_blk[blk_t]) * _BLOCK).astype(np.int64)
    blk_v1 = np.minimum(blk_v0 + _BLOCK, tgt_v[blk_t + 1]).astype(np.int64)
    blk_vlast = np.minimum(blk_v1, tgt_v[blk_t + 1] - 1).astype(np.int64)
    cx, cy, cz, crad = kflat.block_caps.for_work(len(blk_v0))(vx, vy, vz, blk_v0, blk_vlast)
    return blk_v0, blk_v1, cx, cy, cz, crad, tgt_blk


def _f8_view(buf: np.ndarray) -> np.ndarray:
    """(8, m) float64 view of a byte buffer: the double at byte p is ``[p & 7, p >> 3]`` (no copy)."""
    m = max((len(buf) - 7) // 8, 0)
    if m == 0:
        return np.zeros((8, 1))
    return np.ndarray(shape=(8, m), dtype="<f8", buffer=buf, offset=0, strides=(1, 8))


class _Unsupported(Exception):
    """WKB the numba walker does not decode (big-endian, GeometryCollection): use GEOS instead."""


def _wkb_buffer(wkb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One byte buffer and offsets from an object array of WKB ``bytes`` (None -> empty)."""
    lens = np.fromiter((0 if w is None else len(w) for w in wkb), dtype=np.int64, count=len(wkb))
    offsets = np.r_[0, np.cumsum(lens)].astype(np.int64)
    buf = np.frombuffer(b"".join(w for w in wkb if w is not None) + bytes(8), dtype=np.uint8)
    return buf, offsets


def _fill_wkb(
    buf: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    tgt_v: np.ndarray,
    arrays: tuple[np.ndarray, ...],
    bounds: np.ndarray,
) -> None:
    """Decode geometries ``buf[starts[g]:ends[g]]`` into ``arrays`` at ``tgt_v[g]:tgt_v[g + 1]``."""
    if kwkb.wkb_fill.for_work(int(tgt_v[-1] - tgt_v[0]))(buf, _f8_view(buf), starts, ends, tgt_v, arrays, bounds):
        raise _Unsupported("vertex counts disagree")


def _alloc_vertices(nv: int) -> Vertices:
    return Vertices(
        np.empty(nv),
        np.empty(nv),
        np.empty(nv),
        np.empty(nv, dtype=np.bool_),
        np.empty(nv, dtype=np.int8),
        np.empty(nv, dtype=np.int8),
    )


def _flat_from_vertices(tgt_v: np.ndarray, arrays: tuple[np.ndarray, ...]) -> _Flat:
    vx, vy, vz, brk, ring_sign, orient = arrays
    return _Flat(vx, vy, vz, brk, ring_sign, orient, *_blocks(tgt_v, vx, vy, vz), _seams(tgt_v, vx, vy, vz, brk))


def _seams(tgt_v: np.ndarray, vx: np.ndarray, vy: np.ndarray, vz: np.ndarray, brk: np.ndarray) -> np.ndarray:
    """Edges (by start vertex) on the ±180° meridian of a target whose parts meet there.

    A polygon split at the antimeridian (as WDPA stores them) has its parts' edges along ±180°
    running both ways over the same stretch: they are not boundary, the parts join there. Such
    edges are flagged when a target's edges on ±180° cancel as a whole (as much length runs north
    as south); a target with a real boundary along ±180° (unmatched) keeps it.
    """
    on = (vy < 1e-12) & (vy > -1e-12) & (vx < 0.0)  # lon = ±180° (no float temporary of |vy|)
    seam = np.zeros(len(vx), dtype=bool)
    if len(vx) < 2:
        return seam
    edge = on[:-1] & on[1:] & ~brk[:-1]
    k = np.flatnonzero(edge)
    if len(k) == 0:
        return seam
    owner = np.searchsorted(tgt_v, k, side="right") - 1
    dz = vz[k + 1] - vz[k]
    n = len(tgt_v) - 1
    north = np.bincount(owner, weights=np.maximum(dz, 0.0), minlength=n)
    south = np.bincount(owner, weights=np.maximum(-dz, 0.0), minlength=n)
    joined = (north > 0.0) & (np.abs(north - south) <= 1e-12)
    seam[k[joined[owner]]] = True
    return seam


def _flatten_geos(geoms: np.ndarray) -> _Flat:
    """GEOS fallback of :func:`_flatten` (any geometry type, incl. collections)."""
    tgt_v, elem_start, sign, coords = _flatten_mixed(geoms, shapely.get_type_id(geoms))
    vx, vy, vz, brk, ring_sign = kflat.flatten_vertices(coords, elem_start, sign)
    orient = kflat.ring_orientation(coords, elem_start, sign)
    del coords
    return _flat_from_vertices(tgt_v, Vertices(vx, vy, vz, brk, ring_sign, orient))


def _flatten(geoms: np.ndarray, chunk: int = 20_000) -> _Flat:
    """Flat unit-vector arrays of shapely geometries, decoded from WKB in chunks by a numba walker.

    Only one chunk of WKB is alive next to the vertex arrays (preallocated from GEOS's coordinate
    counts); collections and anything the walker does not decode go through GEOS instead.
    """
    n = len(geoms)
    types = shapely.get_type_id(geoms)
    if n == 0 or (types == 7).any():
        return _flatten_geos(geoms)
    tgt_v = np.r_[0, np.cumsum(shapely.get_num_coordinates(geoms))].astype(np.int64)
    arrays = _alloc_vertices(int(tgt_v[-1]))
    bounds = np.empty((n, 4))
    try:
        for c0 in range(0, n, chunk):
            c1 = min(c0 + chunk, n)
            buf, offsets = _wkb_buffer(shapely.to_wkb(geoms[c0:c1], output_dimension=2, byte_order=1))
            _fill_wkb(buf, offsets[:-1], offsets[1:], tgt_v[c0 : c1 + 1], arrays, bounds[c0:c1])
    except _Unsupported:
        return _flatten_geos(geoms)
    return _flat_from_vertices(tgt_v, arrays)


def _arrow_wkb_chunks(wkb: pa.Array | pa.ChunkedArray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Zero-copy (bytes, starts, ends) of each chunk of a binary / large_binary WKB Arrow array.

    The last geometry of a chunk gets its own padded copy, so that reading a double through
    :func:`_f8_view` never runs past the end of Arrow's buffer.
    """
    chunks = wkb.chunks if isinstance(wkb, pa.ChunkedArray) else [wkb]
    out = []
    for c in chunks:
        if len(c) == 0:
            continue
        if pa.types.is_large_binary(c.type):
            otype = np.int64
        elif pa.types.is_binary(c.type):
            otype = np.int32
        else:
            raise _Unsupported(f"geometry column of type {c.type}")
        _, off_buf, data_buf = c.buffers()[:3]
        offsets = np.frombuffer(off_buf, dtype=otype)[c.offset : c.offset + len(c) + 1].astype(np.int64)
        starts, ends = offsets[:-1].copy(), offsets[1:].copy()
        if c.null_count:
            nulls = c.is_null().to_numpy(zero_copy_only=False)
            ends[nulls] = starts[nulls]
        data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
        out.append((data, starts[:-1], ends[:-1]))
        last = data[starts[-1] : ends[-1]]
        tail = np.concatenate([last, np.zeros(8, np.uint8)])
        out.append((tail, np.zeros(1, np.int64), np.array([len(last)], np.int64)))
    return out


def _take_wkb(wkb: pa.Array | pa.ChunkedArray, idx: np.ndarray) -> np.ndarray:
    """WKB ``bytes`` (None for nulls) of rows ``idx``, taken chunk by chunk (``ChunkedArray.take``
    concatenates the chunks first, a copy of the whole column)."""
    chunks = wkb.chunks if isinstance(wkb, pa.ChunkedArray) else [wkb]
    ends = np.cumsum([len(c) for c in chunks])
    which = np.searchsorted(ends, idx, side="right")
    out = np.empty(len(idx), dtype=object)
    for c in np.unique(which):
        sel = np.flatnonzero(which == c)
        local = idx[sel] - (ends[c] - len(chunks[c]))
        out[sel] = chunks[c].take(pa.array(local, type=pa.int64())).to_numpy(zero_copy_only=False)
    return out


def prepare_targets_wkb(wkb: pa.Array | pa.ChunkedArray) -> PreparedTargets:
    """Index targets given as WKB (a GeoArrow ``geoarrow.wkb`` / binary Arrow column, lon/lat degrees).

    The WKB is decoded straight into the kernels' flat unit-vector arrays by a numba walker, and the
    STRtree is built on each target's lon/lat bounding box, so no GEOS geometry is created except
    for the few targets a site may lie inside. Much faster and lighter than
    ``prepare_targets(shapely.from_wkb(...))`` for large layers (e.g. all WDPA polygons).

    Parameters
    ----------
    wkb : pyarrow binary or large_binary array (or chunked array) of little-endian WKB (ISO or
        EWKB, 2D/Z/M) points, lines, polygons and their multi-parts, in EPSG:4326. Nulls and empty
        geometries never match. Geometry collections or big-endian WKB fall back to GEOS.

    Returns
    -------
    PreparedTargets
        with ``geoms`` None (see :meth:`PreparedTargets.geoms_at`).
    """
    try:
        parts = _arrow_wkb_chunks(wkb)
        counted = [kwkb.wkb_count.for_work(len(st))(d, _f8_view(d), st, en) for d, st, en in parts]
        if any((gt < 0).any() for _, gt in counted):
            raise _Unsupported("WKB type")
    except _Unsupported:
        return prepare_targets(shapely.from_wkb(wkb.to_numpy(zero_copy_only=False)))
    nv = np.concatenate([c[0] for c in counted]) if counted else np.zeros(0, np.int64)
    gtype = np.concatenate([c[1] for c in counted]) if counted else np.zeros(0, np.int8)
    n = len(nv)
    tgt_v = np.r_[0, np.cumsum(nv)].astype(np.int64)
    arrays = _alloc_vertices(int(tgt_v[-1]))
    bounds = np.empty((n, 4))
    g0 = 0
    for d, st, en in parts:
        g1 = g0 + len(st)
        _fill_wkb(d, st, en, tgt_v[g0 : g1 + 1], arrays, bounds[g0:g1])
        g0 = g1
    flat = _flat_from_vertices(tgt_v, arrays)
    ok = nv > 0
    # targets split at ±180° (one box spanning > 180° of longitude) are indexed by their parts'
    # boxes, so that the degree-space nearest query does not see them everywhere in their band
    wide = np.flatnonzero(ok & (bounds[:, 2] - bounds[:, 0] > 180.0) & np.isin(gtype, (4, 5, 6)))
    owner = None
    if len(wide):
        ok[wide] = False
        wide_geoms = shapely.from_wkb(_take_wkb(wkb, wide))
        parts, part_of = shapely.get_parts(wide_geoms, return_index=True)
        pb = shapely.bounds(parts)
        bounds = np.concatenate([bounds, pb])
        owner = np.concatenate([np.arange(n), wide[part_of]])
        ok = np.concatenate([ok, ~np.isnan(pb).any(axis=1)])
    boxes = np.full(len(ok), None, dtype=object)
    boxes[ok] = shapely.box(bounds[ok, 0], bounds[ok, 1], bounds[ok, 2], bounds[ok, 3])
    polygonal = np.isin(gtype, (3, 6))
    return PreparedTargets(None, shapely.STRtree(boxes), polygonal, _FlatSet(flat, np.arange(n)), wkb, owner)


def _subset(n: int, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values of ``idx`` (< n) and ``idx`` renumbered into them, without sorting."""
    mask = np.zeros(n, dtype=bool)
    mask[idx] = True
    uniq = np.flatnonzero(mask)
    remap = np.full(n, -1, dtype=np.int64)
    remap[uniq] = np.arange(len(uniq))
    return uniq, remap[idx]


@dataclass(frozen=True)
class _FlatSet:
    """Flat arrays of a subset of the targets; ``remap[t]`` is t's position in it, -1 if absent."""

    flat: _Flat
    remap: np.ndarray


def _flat_for(tg: PreparedTargets, pt: np.ndarray, reuse: _FlatSet | None = None) -> tuple[_FlatSet, np.ndarray]:
    """Flat arrays covering the targets ``pt`` (reusing ``reuse`` when it covers them) and ``pt`` renumbered."""
    if tg.flat is not None:
        return tg.flat, tg.flat.remap[pt]
    if reuse is not None:
        local = reuse.remap[pt]
        if len(local) == 0 or local.min() >= 0:
            return reuse, local
    uniq, local = _subset(len(tg), pt)
    remap = np.full(len(tg), -1, dtype=np.int64)
    remap[uniq] = np.arange(len(uniq))
    return _FlatSet(_flatten(tg.geoms[uniq]), remap), local


@dataclass(frozen=True)
class _Sites:
    geoms: np.ndarray
    sx: np.ndarray
    sy: np.ndarray
    sz: np.ndarray
    slon: np.ndarray
    slat: np.ndarray
    sub_start: np.ndarray
    bounds: np.ndarray  # (n, 4) lon/lat, NaN for missing


def _prepare_sites(geoms: np.ndarray) -> _Sites:
    geoms = _no_missing(geoms)
    is_point = np.isin(shapely.get_type_id(geoms), (0, 4))
    pts = geoms
    if not is_point.all():
        # lines and polygons: their densified outline; the inside is handled by intersects
        pts = geoms.copy()
        other = ~is_point
        line_like = np.isin(shapely.get_type_id(geoms[other]), (1, 2, 5))
        outline = np.where(line_like, geoms[other], shapely.boundary(geoms[other]))
        pts[other] = shapely.segmentize(outline, _SITE_SPACING_DEG)
    coords, idx = shapely.get_coordinates(pts, return_index=True)
    sub_start = np.searchsorted(idx, np.arange(len(geoms) + 1)).astype(np.int64)
    lon = np.ascontiguousarray(coords[:, 0])
    lat = np.ascontiguousarray(coords[:, 1])
    sx, sy, sz = kflat.nvectors(lon, lat)
    return _Sites(geoms, sx, sy, sz, lon, lat, sub_start, shapely.bounds(geoms))


# ----------------------------------------------------------------------------- candidates
def lonlat_envelopes(
    bounds: np.ndarray, radius_km: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Conservative lon/lat boxes around each site's bounds (the one envelope rule, shared with
    ``geo.partition``, whose target selection is only correct if it uses the same boxes).

    Returns (box bounds (k, 4), site index per box, boolean per box: wrapped part, full_lon per site).
    """
    ok = np.isfinite(bounds).all(axis=1) & np.isfinite(radius_km)
    site = np.flatnonzero(ok)
    b = bounds[ok]
    r = radius_km[ok]
    dlat = r / _LAT_DEG_KM
    ymin = b[:, 1] - dlat
    ymax = b[:, 3] + dlat
    phimax = np.maximum(np.abs(ymin), np.abs(ymax))
    polar = phimax >= 89.999
    dlon = np.where(polar, 360.0, r / (_LON_DEG_KM * np.cos(np.radians(np.minimum(phimax, 89.999)))))
    full = polar | (b[:, 2] - b[:, 0] + 2 * dlon >= 360.0)
    xmin = np.where(full, -180.0, b[:, 0] - dlon)
    xmax = np.where(full, 180.0, b[:, 2] + dlon)
    ymin = np.maximum(ymin, -90.0)
    ymax = np.minimum(ymax, 90.0)
    boxes = [np.column_stack([np.maximum(xmin, -180.0), ymin, np.minimum(xmax, 180.0), ymax])]
    owners = [site]
    west = xmin < -180.0
    east = xmax > 180.0
    boxes.append(np.column_stack([xmin[west] + 360.0, ymin[west], np.full(west.sum(), 180.0), ymax[west]]))
    owners.append(site[west])
    boxes.append(np.column_stack([np.full(east.sum(), -180.0), ymin[east], xmax[east] - 360.0, ymax[east]]))
    owners.append(site[east])
    wrapped = np.zeros(len(bounds), dtype=bool)
    wrapped[site[west | east]] = True
    return np.concatenate(boxes), np.concatenate(owners), wrapped, ok


def _candidates(sites: _Sites, tg: PreparedTargets, radius_km: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (site, target) pairs whose lon/lat boxes meet the site's envelope of ``radius_km``."""
    boxes, owner, wrapped, _ = lonlat_envelopes(sites.bounds, radius_km)
    qi, pt = tg.tree.query(shapely.box(boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]))
    ps = owner[qi]
    dup = wrapped[ps]
    if tg.tree_owner is not None:  # a target with several entries (parts) can meet an envelope twice
        dup |= tg.tree_owner[pt] != pt
        pt = tg.owners(pt)
    if dup.any():  # a target can meet both halves of a wrapped envelope
        s2, t2 = _unique_pairs(ps[dup], pt[dup], len(tg))
        ps = np.concatenate([ps[~dup], s2])
        pt = np.concatenate([pt[~dup], t2])
    return ps, pt


def _unique_pairs(site: np.ndarray, tgt: np.ndarray, n_tgt: int) -> tuple[np.ndarray, np.ndarray]:
    n = max(n_tgt, 1)
    key = np.unique(site.astype(np.int64) * n + tgt.astype(np.int64))
    return key // n, key % n


def _shifted(geoms: np.ndarray, dlon: float) -> np.ndarray:
    return shapely.transform(geoms, lambda c: c + np.array([dlon, 0.0]))


def _intersecting_pairs(sites: _Sites, tg: PreparedTargets) -> tuple[np.ndarray, np.ndarray]:
    """(site, polygonal target) pairs that intersect in lon/lat, with ±360° twins of sites on ±180°."""
    b = sites.bounds
    parts_s, parts_t = [], []
    for shift, mask in ((0.0, None), (-360.0, b[:, 2] >= 180.0), (360.0, b[:, 0] <= -180.0)):
        idx = np.arange(len(sites.geoms)) if mask is None else np.flatnonzero(mask)
        if len(idx) == 0:
            continue
        g = sites.geoms[idx] if shift == 0.0 else _shifted(sites.geoms[idx], shift)
        # boxes first, then the exact test against PREPARED targets: a predicate query would
        # prepare each site instead, and test a basin-wide polygon unprepared (~1 ms per site)
        s2, t2 = tg.tree.query(g)
        t2 = tg.owners(t2)
        keep = tg.polygonal[t2]
        s2, t2 = s2[keep], t2[keep]
        if len(t2):
            uniq, local = _subset(len(tg), t2)
            targets = tg.geoms[uniq] if tg.geoms is not None else tg.geoms_at(uniq)
            shapely.prepare(targets)
            hit = shapely.intersects(targets[local], g[s2])
            s2, t2 = s2[hit], t2[hit]
        parts_s.append(idx[s2])
        parts_t.append(t2)
    if not parts_s:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return _unique_pairs(np.concatenate(parts_s), np.concatenate(parts_t), len(tg))


def _exact_km(
    sites: _Sites,
    tg: PreparedTargets,
    ps: np.ndarray,
    pt: np.ndarray,
    cutoff_km: np.ndarray,
    reuse: _FlatSet | None = None,
    thresholds_km: np.ndarray | None = None,
) -> tuple[np.ndarray, _FlatSet | None]:
    """Ellipsoidal distance (km) per pair from the site to the target's boundary (or line/point).

    ``inf`` where the pair is certainly farther than ``cutoff_km``. Also returns the flat arrays used.

    With ``thresholds_km``, ``pyproj.Geod`` is only run where its answer can matter: the unit-vector
    angle θ between two points bounds their geodesic distance s by θ·a(1-e²) <= s <= θ·a/√(1-e²)
    (the normal turns at least at the smallest and at most at the largest principal curvature
    along any path, and the Gauss map of the ellipsoid is one-to-one). A pair whose bounds hold
    no threshold and cannot be its site's nearest (its lower bound exceeds the smallest upper
    bound of the site) gets a value inside its bounds: it then compares with every threshold,
    and loses the nearest, exactly as its true distance would.
    """
    out = np.full(len(ps), np.inf)
    if len(ps) == 0:
        return out, reuse
    fs, local = _flat_for(tg, pt, reuse)
    cutoff = np.where(np.isfinite(cutoff_km), cutoff_km / R_MIN_KM * (1 + 1e-9) + 1e-12, np.inf)
    no_bands = np.zeros(0)
    band_lo, band_hi = no_bands, no_bands
    if thresholds_km is not None and len(thresholds_km):
        # angles at which a pair could be on either side of a threshold (see the bounds above)
        d = np.asarray(thresholds_km, dtype=float)
        band_lo = d / (R_MAX_KM * (1 + 1e-9)) * (1 - 1e-12)
        band_hi = d / (R_MIN_KM * (1 - 1e-9)) * (1 + 1e-12)

    def walk(sel: np.ndarray | slice, lo_b: np.ndarray, hi_b: np.ndarray) -> tuple[np.ndarray, ...]:
        # pairs of the same target one after the other: its vertices stay in cache (about 2x faster
        # than in site order on WDPA-sized layers); the results are put back in the pairs' order
        by_t = np.argsort(local[sel], kind="stable")
        p_s, p_t, p_c = ps[sel][by_t], local[sel][by_t], cutoff[sel][by_t]
        points = kflat.SitePoints(sites.sx, sites.sy, sites.sz, sites.sub_start)
        res = kclosest.pair_nearest.for_work(len(p_s))(points, p_s, p_t, p_c, fs.flat, lo_b, hi_b)
        back = np.empty_like(by_t)
        back[by_t] = np.arange(len(by_t))
        return tuple(r[back] for r in res)

    # first walk: a pair stops as soon as its distance is known to lie between two thresholds
    ang, close, sub, lower = walk(slice(None), band_lo, band_hi)
    ok = np.isfinite(ang)
    if thresholds_km is not None and ok.any():
        lo = lower * (R_MIN_KM * (1 - 1e-9))
        hi = ang * (R_MAX_KM * (1 + 1e-9))
        min_hi = np.full(len(sites.sub_start) - 1, np.inf)
        np.minimum.at(min_hi, ps[ok], hi[ok])
        need = lo <= min_hi[ps]
        for d in thresholds_km:
            need |= (lo <= d) & (d <= hi)
        redo = np.flatnonzero(ok & need & (lower < ang))
        if len(redo):  # may be the site's nearest: walk these to the exact closest point
            ang[redo], close[redo], sub[redo], _ = walk(redo, no_bands, no_bands)
        approx = ok & ~need
        out[approx] = 0.5 * (lo[approx] + hi[approx])
        ok &= need
    if ok.any():
        lon2, lat2 = lonlat_of_unit_vectors(close[ok])
        _, _, dist_m = GEOD.inv(sites.slon[sub[ok]], sites.slat[sub[ok]], lon2, lat2)
        out[ok] = np.asarray(dist_m) / 1000.0
    return out, fs


def _pairs_within(
    sites: _Sites,
    tg: PreparedTargets,
    radius_km: np.ndarray,
    inside: tuple[np.ndarray, np.ndarray] | None,
    reuse: _FlatSet | None = None,
    thresholds_km: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, _FlatSet | None]:
    """All (site, target, dist_km) with dist_km <= radius_km[site]; pairs in ``inside`` are at 0 km.

    Inside pairs always meet the envelope (it contains the site's bounds, and sites on ±180°
    have wrapped envelopes), so they are among the candidates. With ``thresholds_km`` (which must
    include every radius), distances are exact only where they matter (see :func:`_exact_km`).
    """
    ps, pt = _candidates(sites, tg, radius_km)
    hit = np.zeros(len(ps), dtype=bool)
    if inside is not None and len(inside[0]):
        in_site = np.zeros(len(sites.geoms), dtype=bool)
        in_site[inside[0]] = True
        cand = np.flatnonzero(in_site[ps])
        n = max(len(tg), 1)
        hit[cand] = np.isin(ps[cand] * n + pt[cand], inside[0] * n + inside[1])
    # inside pairs are at 0 km: walking a huge outline (a basin-wide rainforest polygon) for
    # every site inside it would cost seconds for nothing
    dist = np.zeros(len(ps))
    out = ~hit
    dist[out], fs = _exact_km(sites, tg, ps[out], pt[out], radius_km[ps[out]], reuse, thresholds_km)
    keep = dist <= radius_km[ps]
    return ps[keep], pt[keep], dist[keep], fs


def _nearest(
    sites: _Sites,
    tg: PreparedTargets,
    inside: tuple[np.ndarray, np.ndarray] | None,
    best: np.ndarray,
    arg: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Complete the nearest target for sites where ``best`` is inf (nothing within the first radius).

    One candidate per site from a degree-space nearest query (also across ±180°) gives an upper
    bound D of the distance; then every target within D is checked exactly.
    """
    n = len(sites.geoms)
    best, arg = best.copy(), arg.copy()
    valid = np.isfinite(sites.bounds).all(axis=1)
    todo = np.flatnonzero(valid & ~np.isfinite(best))
    extended = todo[np.diff(sites.sub_start)[todo] > 1]
    if len(extended) and len(tg):
        _nearest_extended(sites, tg, extended, best, arg)
        todo = np.setdiff1d(todo, extended)
    if len(todo) and len(tg):
        cand_s, cand_t = [], []
        for shift in (0.0, -360.0, 360.0):
            g = sites.geoms[todo] if shift == 0.0 else _shifted(sites.geoms[todo], shift)
            qi, qt = tg.tree.query_nearest(g)
            qt = tg.owners(qt)
            cand_s.append(todo[qi])
            cand_t.append(qt)
        cs, ct = _unique_pairs(np.concatenate(cand_s), np.concatenate(cand_t), len(tg))
        d0, _ = _exact_km(sites, tg, cs, ct, np.full(len(cs), np.inf))
        ub = np.full(n, np.inf)
        np.minimum.at(ub, cs, d0)
        radius = np.full(n, np.nan)
        radius[todo] = ub[todo] * (1 + 1e-9) + 1e-9
        ps, pt, d, _ = _pairs_within(sites, tg, radius, inside)
        b2, a2, _ = kclosest.site_reduce(n, ps, pt, d, np.zeros(0))
        best[todo] = b2[todo]
        arg[todo] = a2[todo]
    best[~np.isfinite(best)] = np.nan
    return best, arg


def _nearest_extended(sites: _Sites, tg: PreparedTargets, todo: np.ndarray, best: np.ndarray, arg: np.ndarray) -> None:
    """Nearest target of line/polygon sites far from everything, in place in ``best``/``arg``.

    Walking a site's densified outline against every target within the nearest distance is
    quadratic, and far from any target (a mining scar 1,500 km from the nearest reef) that
    radius holds hundreds of targets. Instead each site is first reduced to a point p on it
    (``point_on_surface``) and r, an upper bound of the geodesic distance from p to any vertex
    of its outline. With D_p the nearest distance from p (<= the site's own nearest distance
    D* + r, and >= D* since p lies on the site), the site's true nearest target T* satisfies
    d_p(T*) <= d_site(T*) + r = D* + r <= D_p + r; so only targets within D_p + r of p need the
    exact outline walk. The sites here intersect no target (they had none within the first radius).
    """
    geoms = sites.geoms[todo]
    proxy = _prepare_sites(shapely.point_on_surface(geoms))
    best_p, _ = _nearest_all(proxy, tg, None)
    # r: largest angle from p to the site's outline vertices, as an upper bound in km
    counts = np.diff(sites.sub_start)[todo]
    owner = np.repeat(np.arange(len(todo)), counts)
    vert = np.concatenate([np.arange(sites.sub_start[i], sites.sub_start[i + 1]) for i in todo])
    dot = sites.sx[vert] * proxy.sx[owner] + sites.sy[vert] * proxy.sy[owner] + sites.sz[vert] * proxy.sz[owner]
    ang = np.arccos(np.clip(dot, -1.0, 1.0))
    r_ang = np.zeros(len(todo))
    np.maximum.at(r_ang, owner, ang)
    r_km = r_ang * R_MAX_KM * (1 + 1e-9) + 1e-6
    radius = np.where(np.isfinite(best_p), best_p * (1 + 1e-9) + r_km + 1e-9, np.nan)
    pi, pt, _, _ = _pairs_within(proxy, tg, radius, None)
    ps = todo[pi]
    # the cutoff lets the kernel skip boundary blocks that cannot be nearer (a 100k-vertex
    # rainforest outline would otherwise be walked whole for every outline vertex of a site)
    d, _ = _exact_km(sites, tg, ps, pt, radius[pi])
    b2, a2, _ = kclosest.site_reduce(len(sites.geoms), ps, pt, d, np.zeros(0))
    best[todo] = b2[todo]
    arg[todo] = a2[todo]


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


def _nearest_all(
    sites: _Sites, tg: PreparedTargets, inside: tuple[np.ndarray, np.ndarray] | None, first_radius_km: float = 10.0
) -> tuple[np.ndarray, np.ndarray]:
    n = len(sites.geoms)
    if len(tg) == 0:
        return np.full(n, np.nan), np.full(n, -1, dtype=np.int64)
    ps, pt, d, _ = _pairs_within(sites, tg, np.full(n, first_radius_km), inside)
    best, arg, _ = kclosest.site_reduce(n, ps, pt, d, np.zeros(0))
    return _nearest(sites, tg, inside, best, arg)


# ----------------------------------------------------------------------------- public core
def nearest_distance_km(
    site_geoms: gpd.GeoSeries | np.ndarray | Sequence[shapely.Geometry],
    target_geoms: gpd.GeoSeries | np.ndarray | Sequence[shapely.Geometry] | PreparedTargets,
    *,
    polygonal_inside: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Geodesic distance from each site to its nearest target, and that target's position.

    Parameters
    ----------
    site_geoms : shapely geometries in lon/lat degrees (EPSG:4326): points, lines or polygons.
    target_geoms : shapely geometries in lon/lat degrees, or a :class:`PreparedTargets`.
    polygonal_inside : if True a site inside (or touching) a polygon target is at 0 km;
        if False the distance is to the polygon's boundary even from inside.

    Returns
    -------
    dist_km : numpy.ndarray of float64, km on the WGS84 ellipsoid; NaN for missing sites or
        when there is no target.
    nearest_index : numpy.ndarray of int64, positional index into the targets; -1 when none.
    """
    tg = target_geoms if isinstance(target_geoms, PreparedTargets) else prepare_targets(target_geoms)
    sites = _prepare_sites(_as_geom_array(site_geoms))
    inside = _intersecting_pairs(sites, tg) if polygonal_inside else None
    return _nearest_all(sites, tg, inside)


def count_within_km(
    site_geoms: gpd.GeoSeries | np.ndarray | Sequence[shapely.Geometry],
    target_geoms: gpd.GeoSeries | np.ndarray | Sequence[shapely.Geometry] | PreparedTargets,
    d_km: float,
    *,
    groups: np.ndarray | None = None,
) -> np.ndarray:
    """Number of distinct targets at geodesic distance <= ``d_km`` (inside counts as 0 km).

    Parameters
    ----------
    site_geoms, target_geoms : as in :func:`nearest_distance_km`.
    d_km : distance in km (> 0).
    groups : optional integer code per target; targets with the same code count once
        (e.g. several rows of the same protected area).

    Returns
    -------
    numpy.ndarray of int64, one count per site.
    """
    tg = target_geoms if isinstance(target_geoms, PreparedTargets) else prepare_targets(target_geoms)
    sites = _prepare_sites(_as_geom_array(site_geoms))
    n = len(sites.geoms)
    if len(tg) == 0:
        return np.zeros(n, dtype=np.int64)
    inside = _intersecting_pairs(sites, tg)
    ps, pt, _, _ = _pairs_within(sites, tg, np.full(n, float(d_km)), inside)
    if groups is not None:
        codes = np.asarray(groups)[pt]
        ps, _ = _unique_pairs(ps, codes, int(codes.max()) + 1 if len(codes) else 1)
    return np.bincount(ps, minlength=n).astype(np.int64)


# ----------------------------------------------------------------------------- area in disc
def _area_within_disc_km2(
    sites: _Sites, tg: PreparedTargets, ps: np.ndarray, pt: np.ndarray, r_km: float, reuse: _FlatSet | None = None
) -> np.ndarray:
    """Geodesic area (km²) of the union of the PAs in pairs (ps, pt) inside each site's disc.

    A site with one PA in its disc gets the exact area of PA ∩ disc (``pair_disc_area``); a site
    with several gets the exact area of their union ∩ disc (``union_disc_area``), so overlapping
    PAs count once. No GEOS overlay is involved.
    """
    n = len(sites.geoms)
    out = np.zeros(n)
    if len(ps) == 0:
        return out
    k = np.bincount(ps, minlength=n)
    used = np.flatnonzero(k)
    rep = shapely.point_on_surface(sites.geoms[used])
    lon0 = np.full(n, np.nan)
    lat0 = np.full(n, np.nan)
    lon0[used] = shapely.get_x(rep)
    lat0[used] = shapely.get_y(rep)

    # a PA whose bounding cap (it holds every great-circle edge) meets no other PA's cap around the
    # same site is disjoint from them: its area adds up, so only PAs that may overlap go through
    # the (costlier) union kernel
    direct = k[ps] < 2
    multi = np.flatnonzero(~direct)
    if len(multi):
        order = multi[np.argsort(ps[multi], kind="stable")]
        us = ps[order]
        starts = np.r_[0, np.flatnonzero(us[1:] != us[:-1]) + 1, len(us)].astype(np.int64)
        fs, local = _flat_for(tg, pt[order], reuse)
        direct[order] = kdisc.isolated_in_group(starts, local, fs.flat)
    union_site = np.zeros(n, dtype=bool)
    union_site[ps[~direct]] = True
    if direct.any():
        fs, local = _flat_for(tg, pt[direct], reuse)
        area = kdisc.pair_disc_area(lon0, lat0, ps[direct], local, float(r_km), fs.flat)
        np.add.at(out, ps[direct], area)
    if union_site.any():
        sel = np.flatnonzero(~direct)
        order = sel[np.argsort(ps[sel], kind="stable")]
        us, ut = ps[order], pt[order]
        starts = np.r_[0, np.flatnonzero(us[1:] != us[:-1]) + 1]
        site_ids = us[starts]
        site_ptr = np.r_[starts, len(us)].astype(np.int64)
        fs, local = _flat_for(tg, ut, reuse)
        kernel = kunion.union_disc_area.for_work(len(site_ids))
        area = kernel(lon0, lat0, site_ids, site_ptr, local, float(r_km), fs.flat)
        out[site_ids] += area
    return out


# ----------------------------------------------------------------------------- public API
def _site_array(sites: gpd.GeoSeries | gpd.GeoDataFrame) -> np.ndarray:
    if not isinstance(sites, gpd.GeoSeries | gpd.GeoDataFrame):
        raise ProximityInputError(
            f"sites must be a GeoSeries, got {type(sites).__name__}", "pass the `geometry` column of the sites frame"
        )
    _check_geographic(sites, "sites")
    return _as_geom_array(sites)


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

    Returns
    -------
    pandas.DataFrame indexed like ``sites``:
        ``in_protected_area`` (bool), ``dist_protected_area_km`` (float, km, 0 inside, NaN without
        PAs), ``nearest_protected_area``, ``nearest_protected_area_id``, ``nearest_protected_area_iucn``,
        ``nearest_protected_area_designation`` (str, <NA> when none), one
        ``protected_areas_within_{d:g}km`` (int64: distinct ``pa_id`` with distance <= d) per buffer,
        and, unless ``area_buffer_km`` is None, ``protected_area_km2_within_{area_buffer_km:g}km``
        (float, km²: area of the union of PAs
        inside the geodesic disc around the site).

    Raises
    ------
    ProximityInputError
        sites not a GeoSeries, a CRS other than EPSG:4326, missing PA columns, or non-positive buffers.
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
    return _pa_facts(geoms, sites.index, tg, pa_rows, buffers_km, area_buffer_km)


def _pa_facts(
    geoms: np.ndarray,
    index: pd.Index,
    tg: PreparedTargets | None,
    attrs: pd.DataFrame,
    buffers_km: Sequence[float],
    area_buffer_km: float | None,
) -> pd.DataFrame:
    """Core of the PA proximity: ``attrs`` holds the PA columns, row i describing target i."""
    buffers = _check_buffers(buffers_km)
    area_r = _check_buffers([area_buffer_km])[0] if area_buffer_km is not None else None
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
        return out

    # Sites are taken along a Hilbert curve (neighbours share PAs, so the kernels find the PA
    # vertices in cache) and in batches (the candidate pairs of a million sites would take GBs).
    # Every per-site result is independent of the order and of the batch, and is put back in
    # input order. Sites without geometry (NaN bounds) go to the curve's start.
    b = shapely.bounds(geoms)
    order = spatial_order(0.5 * (b[:, 0] + b[:, 2]), 0.5 * (b[:, 1] + b[:, 3]))
    if tg.flat is None and n > _SITE_BATCH:  # flatten every target once, not once per batch
        tg = replace(tg, flat=_FlatSet(_flatten(tg.geoms), np.arange(len(tg), dtype=np.int64)))
    codes, uniq_codes = pd.factorize(attrs["pa_id"].astype("string"), use_na_sentinel=False)
    dup_ids = len(uniq_codes) < len(attrs)
    thresholds = np.asarray(buffers, dtype=float)
    best = np.full(n, np.nan)
    arg = np.full(n, -1, dtype=np.int64)
    counts = np.zeros((n, len(buffers)), dtype=np.int64)
    in_pa = np.zeros(n, dtype=bool)
    area = np.zeros(n) if area_r is not None else None
    for b0 in range(0, n, _SITE_BATCH):
        rows = order[b0 : b0 + _SITE_BATCH]
        m = len(rows)
        site_prep = _prepare_sites(geoms[rows])
        inside = _intersecting_pairs(site_prep, tg)
        # exact distances where a count, the area selection or the nearest PA depends on them
        ps, pt, dist, fs = _pairs_within(site_prep, tg, np.full(m, max(radii)), inside, None, np.asarray(radii))
        b_best, b_arg, b_counts = kclosest.site_reduce(m, ps, pt, dist, thresholds)
        if dup_ids:  # several rows of one PA count once, at their smallest distance
            g = pd.DataFrame({"s": ps, "c": codes[pt], "d": dist}).groupby(["s", "c"], sort=False)["d"].min()
            gs = g.index.get_level_values(0).to_numpy()
            gc = g.index.get_level_values(1).to_numpy()
            _, _, b_counts = kclosest.site_reduce(m, gs, gc, g.to_numpy(), thresholds)
        best[rows], arg[rows] = _nearest(site_prep, tg, inside, b_best, b_arg)
        counts[rows] = b_counts
        in_pa[rows[inside[0]]] = True
        if area is not None:
            sel = dist <= area_r
            area[rows] = _area_within_disc_km2(site_prep, tg, ps[sel], pt[sel], area_r, fs)
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
    return out


def _geoparquet_geometry(table: pa.Table) -> tuple[str, object]:
    """Primary geometry column of a GeoParquet/GeoArrow table and its CRS metadata (None if absent)."""
    import json

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


def compute_protected_area_proximity_arrow(
    sites: gpd.GeoSeries,
    protected_areas: pa.Table,
    *,
    buffers_km: Sequence[float] = (1, 5, 10, 25),
    area_buffer_km: float | None = 10.0,
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
    buffers_km, area_buffer_km : as in :func:`compute_protected_area_proximity`.

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
    if not isinstance(protected_areas, pa.Table):
        raise ProximityInputError(
            f"protected_areas must be a pyarrow.Table, got {type(protected_areas).__name__}",
            "read the GeoParquet with pyarrow.parquet.read_table",
        )
    col, crs = _geoparquet_geometry(protected_areas)
    if crs is not None:
        import pyproj

        if not pyproj.CRS.from_user_input(crs).equals(pyproj.CRS("OGC:CRS84"), ignore_axis_order=True):
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
    attrs = protected_areas.select(list(_PA_REQUIRED)).to_pandas()
    tg = prepare_targets_wkb(protected_areas.column(col)) if protected_areas.num_rows and len(geoms) else None
    return _pa_facts(geoms, sites.index, tg, attrs, buffers_km, area_buffer_km)


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
    lg = _as_geom_array(layer)
    lg = lg[~(shapely.is_missing(lg) | shapely.is_empty(lg))]
    n = len(geoms)
    out = pd.DataFrame(index=sites.index)
    if len(lg) == 0 or n == 0:
        out[f"in_{name}"] = np.zeros(n, dtype=bool)
        out[f"dist_{name}_km"] = np.full(n, np.nan)
        return out
    tg = prepare_targets(lg)
    sp = _prepare_sites(geoms)
    inside = _intersecting_pairs(sp, tg)
    in_flag = np.zeros(n, dtype=bool)
    in_flag[inside[0]] = True
    # lines and points: touching means distance 0 through the kernel itself
    dist, _ = _nearest_all(sp, tg, inside if polygonal_inside else None)
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
    sp = _prepare_sites(np.array([shapely.Point(lon, lat)], dtype=object))
    inside = _intersecting_pairs(sp, tg)
    _, pt, dist, _ = _pairs_within(sp, tg, np.array([float(max_km)]), inside)
    order = np.lexsort((pt, dist))[:k]
    res = attrs.iloc[pos[pt[order]]].copy()
    res["dist_km"] = dist[order]
    return res
