"""Target geometries prepared for the proximity engine: an STRtree and flat unit-vector arrays.

Build a :class:`PreparedTargets` once per layer and query it many times. Two ways in:

* :func:`prepare_targets` from shapely geometries: an STRtree of the geometries; the flat arrays
  the kernels walk (``geo._kernels.flat.Flat``) are built per query for the candidate targets only
  (:func:`flat_for`), decoded from ``shapely.to_wkb`` by the numba WKB walker (``geo._kernels.wkb``),
  or by GEOS for what the walker does not read (collections);
* :func:`prepare_targets_wkb` from a GeoArrow/GeoParquet WKB column: every target is decoded once,
  straight from Arrow's buffers into the flat arrays, and the STRtree holds the targets' lon/lat
  bounding boxes, so no GEOS geometry is built except for the targets a site may lie inside.

Both give identical arrays (tests compare them), hence identical results. Targets split at ±180°
(as WDPA stores them) get their seam edges flagged (:func:`_seams`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pyarrow as pa
import shapely

from geo._kernels import flat as kflat
from geo._kernels import wkb as kwkb
from geo._kernels.flat import Flat, Vertices

__all__ = [
    "TARGETS_FORMAT",
    "FlatSet",
    "PreparedTargets",
    "flat_for",
    "prepare_targets",
    "prepare_targets_wkb",
    "targets_arrays",
    "targets_from_arrays",
]

_BLOCK = 16  # vertices per bounding cap
#: version of the arrays :func:`targets_arrays` gives: a stored copy of another version is rebuilt.
#: Raise it whenever the decoding (the flat arrays, blocks, seams or tree boxes) changes.
TARGETS_FORMAT = 2  # 2: the WKB column stored with the arrays


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
    flat: FlatSet | None = None
    wkb: pa.Array | pa.ChunkedArray | None = None
    tree_owner: np.ndarray | None = None  # target of each tree entry, when not the identity
    tree_bounds: np.ndarray | None = None  # lon/lat box of each tree entry (NaN: no entry), WKB path only

    def owners(self, entries: np.ndarray) -> np.ndarray:
        """Target positions of STRtree entries."""
        return entries if self.tree_owner is None else self.tree_owner[entries]

    def __len__(self) -> int:
        return len(self.polygonal)

    def geoms_at(self, idx: np.ndarray) -> np.ndarray:
        """Shapely geometries of targets ``idx`` (built from the WKB when not kept)."""
        if self.geoms is not None:
            return self.geoms[idx]
        return shapely.from_wkb(take_wkb(self.wkb, np.asarray(idx, dtype=np.int64)))


@dataclass(frozen=True)
class FlatSet:
    """Flat arrays of a subset of the targets; ``remap[t]`` is t's position in it, -1 if absent."""

    flat: Flat
    remap: np.ndarray


def as_geom_array(geoms: object) -> np.ndarray:
    if isinstance(geoms, gpd.GeoDataFrame):
        geoms = geoms.geometry
    arr = np.asarray(getattr(geoms, "values", geoms), dtype=object)
    return arr.ravel() if arr.ndim != 1 else arr


def no_missing(geoms: np.ndarray) -> np.ndarray:
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
    geoms = no_missing(as_geom_array(geoms))
    return PreparedTargets(geoms, shapely.STRtree(geoms), np.isin(shapely.get_type_id(geoms), (3, 6)))


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
    verts = _alloc_vertices(int(tgt_v[-1]))
    bounds = np.empty((n, 4))
    g0 = 0
    for d, st, en in parts:
        g1 = g0 + len(st)
        _fill_wkb(d, st, en, tgt_v[g0 : g1 + 1], verts, bounds[g0:g1])
        g0 = g1
    flat = _flat_from_vertices(tgt_v, verts)
    ok = nv > 0
    # targets split at ±180° (one box spanning > 180° of longitude) are indexed by their parts'
    # boxes, so that the degree-space nearest query does not see them everywhere in their band
    wide = np.flatnonzero(ok & (bounds[:, 2] - bounds[:, 0] > 180.0) & np.isin(gtype, (4, 5, 6)))
    owner = None
    if len(wide):
        ok[wide] = False
        wide_geoms = shapely.from_wkb(take_wkb(wkb, wide))
        parts, part_of = shapely.get_parts(wide_geoms, return_index=True)
        pb = shapely.bounds(parts)
        bounds = np.concatenate([bounds, pb])
        owner = np.concatenate([np.arange(n), wide[part_of]])
        ok = np.concatenate([ok, ~np.isnan(pb).any(axis=1)])
    bounds[~ok] = np.nan
    polygonal = np.isin(gtype, (3, 6))
    return _wkb_targets(flat, bounds, owner, polygonal, wkb)


def _wkb_targets(
    flat: Flat,
    tree_bounds: np.ndarray,
    owner: np.ndarray | None,
    polygonal: np.ndarray,
    wkb: pa.Array | pa.ChunkedArray,
) -> PreparedTargets:
    """The :class:`PreparedTargets` of decoded WKB: an STRtree of the entries' boxes (NaN rows: no entry)."""
    ok = ~np.isnan(tree_bounds).any(axis=1)
    boxes = np.full(len(ok), None, dtype=object)
    boxes[ok] = shapely.box(tree_bounds[ok, 0], tree_bounds[ok, 1], tree_bounds[ok, 2], tree_bounds[ok, 3])
    n = len(polygonal)
    return PreparedTargets(
        None, shapely.STRtree(boxes), polygonal, FlatSet(flat, np.arange(n)), wkb, owner, tree_bounds
    )


#: dtype of every array of :func:`targets_arrays` (the kernels are compiled for these types)
_ARRAY_DTYPES = {
    **{f: np.dtype(np.float64) for f in ("vx", "vy", "vz", "cx", "cy", "cz", "crad")},
    **{f: np.dtype(np.int64) for f in ("blk_v0", "blk_v1", "tgt_blk", "tree_owner")},
    **{f: np.dtype(np.int8) for f in ("ring_sign", "orient")},
    **{f: np.dtype(np.bool_) for f in ("brk", "seam", "polygonal", "wkb_valid")},
    "tree_bounds": np.dtype(np.float64),
    "wkb_offsets": np.dtype(np.int64),
    "wkb_data": np.dtype(np.uint8),
}


def targets_arrays(tg: PreparedTargets) -> dict[str, np.ndarray]:
    """The arrays of WKB-prepared targets (:func:`prepare_targets_wkb`) that rebuild them with
    :func:`targets_from_arrays`: every decoded array, the tree entries' boxes and owners, and the
    WKB itself (offsets, validity, and its bytes as a list of the column's chunks, not copied:
    ``layers.cache.write_entry_arrays`` writes them as one array), so a stored copy is read
    without decoding a Parquet column.

    Decoding a WDPA-sized layer takes seconds; storing these beside the layer's file lets the next
    run skip it (``layers.cache.write_entry_arrays``). Version: :data:`TARGETS_FORMAT`.
    """
    if tg.flat is None or tg.tree_bounds is None or tg.geoms is not None:
        raise ValueError("only targets prepared from WKB (prepare_targets_wkb) can be stored")
    arrays = dict(tg.flat.flat._asdict())
    arrays.update(
        polygonal=tg.polygonal,
        tree_bounds=tg.tree_bounds,
        tree_owner=tg.tree_owner if tg.tree_owner is not None else np.zeros(0, np.int64),
    )
    # the WKB chunk by chunk (a list of byte arrays, one .npy when stored): no copy of the column
    chunks = tg.wkb.chunks if isinstance(tg.wkb, pa.ChunkedArray) else [tg.wkb]
    data, offsets, valid, end = [], [np.zeros(1, np.int64)], [], 0
    for c in chunks:
        if len(c) == 0:
            continue
        off, buf = _binary_chunk(c)
        data.append(buf[off[0] : off[-1]])
        offsets.append(off[1:] - off[0] + end)
        valid.append(c.is_valid().to_numpy(zero_copy_only=False))
        end += int(off[-1] - off[0])
    arrays.update(
        wkb_offsets=np.concatenate(offsets),
        wkb_data=data,
        wkb_valid=np.concatenate(valid) if valid else np.zeros(0, np.bool_),
    )
    return arrays


def targets_from_arrays(arrays: dict[str, np.ndarray]) -> PreparedTargets:
    """:class:`PreparedTargets` from :func:`targets_arrays`' output.

    The same arrays, hence the same results, as :func:`prepare_targets_wkb` (tested); only the
    STRtree of the entries' boxes is built again. ``wkb`` is a ``large_binary`` Arrow array over
    ``wkb_data`` and ``wkb_offsets`` without a copy (memory-mapped arrays stay mapped).

    Raises
    ------
    ValueError
        when an array is missing, of another dtype, or of a length that does not fit the others
        (a damaged copy: decode the WKB again).
    """
    if isinstance(arrays.get("wkb_data"), list):  # as targets_arrays gives it
        arrays = {**arrays, "wkb_data": np.concatenate([*arrays["wkb_data"], np.zeros(0, np.uint8)])}
    missing = sorted(set(_ARRAY_DTYPES) - set(arrays))
    if missing:
        raise ValueError(f"stored targets lack the arrays {missing}")
    for name, dtype in _ARRAY_DTYPES.items():
        if arrays[name].dtype != dtype or (arrays[name].ndim != 1) != (name == "tree_bounds"):
            raise ValueError(f"stored targets' {name} is {arrays[name].dtype} {arrays[name].shape}, not {dtype}")
    n = len(arrays["polygonal"])
    nv, nb = len(arrays["vx"]), len(arrays["blk_v0"])
    tb, owner = arrays["tree_bounds"], arrays["tree_owner"]
    w_off, w_data, w_valid = arrays["wkb_offsets"], arrays["wkb_data"], arrays["wkb_valid"]
    lengths_ok = (
        len(w_off) == n + 1
        and len(w_valid) == n
        and int(w_off[0]) == 0
        and int(w_off[-1]) == len(w_data)
        and bool((np.diff(w_off) >= 0).all())
        and all(len(arrays[f]) == nv for f in ("vy", "vz", "brk", "ring_sign", "orient", "seam"))
        and all(len(arrays[f]) == nb for f in ("blk_v1", "cx", "cy", "cz", "crad"))
        and len(arrays["tgt_blk"]) == n + 1
        and (n == 0 or (int(arrays["tgt_blk"][-1]) == nb and (nb == 0 or int(arrays["blk_v1"].max()) <= nv)))
        and tb.shape[1:] == (4,)
        and tb.shape[0] >= n
        and (len(owner) == 0 if tb.shape[0] == n else len(owner) == tb.shape[0])
    )
    if not lengths_ok:
        raise ValueError("stored targets' array lengths do not fit together")
    flat = Flat(*(arrays[f] for f in Flat._fields))
    validity = None if w_valid.all() else pa.array(w_valid).buffers()[1]
    wkb = pa.Array.from_buffers(
        pa.large_binary(), n, [validity, pa.py_buffer(w_off), pa.py_buffer(w_data)], null_count=int(n - w_valid.sum())
    )
    return _wkb_targets(flat, tb, owner if len(owner) else None, arrays["polygonal"], wkb)


def flatten(geoms: np.ndarray, chunk: int = 20_000) -> Flat:
    """Flat unit-vector arrays of shapely geometries, decoded from WKB in chunks by a numba walker.

    Only one chunk of WKB is alive next to the vertex arrays (preallocated from GEOS's coordinate
    counts); collections and anything the walker does not decode go through GEOS instead.
    """
    n = len(geoms)
    types = shapely.get_type_id(geoms)
    if n == 0 or (types == 7).any():
        return flatten_geos(geoms)
    tgt_v = np.r_[0, np.cumsum(shapely.get_num_coordinates(geoms))].astype(np.int64)
    verts = _alloc_vertices(int(tgt_v[-1]))
    bounds = np.empty((n, 4))
    try:
        for c0 in range(0, n, chunk):
            c1 = min(c0 + chunk, n)
            buf, offsets = _wkb_buffer(shapely.to_wkb(geoms[c0:c1], output_dimension=2, byte_order=1))
            _fill_wkb(buf, offsets[:-1], offsets[1:], tgt_v[c0 : c1 + 1], verts, bounds[c0:c1])
    except _Unsupported:
        return flatten_geos(geoms)
    return _flat_from_vertices(tgt_v, verts)


def flatten_geos(geoms: np.ndarray) -> Flat:
    """GEOS fallback of :func:`flatten` (any geometry type, incl. collections)."""
    tgt_v, elem_start, sign, coords = _flatten_mixed(geoms, shapely.get_type_id(geoms))
    vx, vy, vz, brk, ring_sign = kflat.flatten_vertices(coords, elem_start, sign)
    orient = kflat.ring_orientation(coords, elem_start, sign)
    del coords
    return _flat_from_vertices(tgt_v, Vertices(vx, vy, vz, brk, ring_sign, orient))


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


def _alloc_vertices(nv: int) -> Vertices:
    return Vertices(
        np.empty(nv),
        np.empty(nv),
        np.empty(nv),
        np.empty(nv, dtype=np.bool_),
        np.empty(nv, dtype=np.int8),
        np.empty(nv, dtype=np.int8),
    )


def _flat_from_vertices(tgt_v: np.ndarray, verts: Vertices) -> Flat:
    vx, vy, vz, brk, ring_sign, orient = verts
    return Flat(vx, vy, vz, brk, ring_sign, orient, *_blocks(tgt_v, vx, vy, vz), _seams(tgt_v, vx, vy, vz, brk))


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


def _f8_view(buf: np.ndarray) -> np.ndarray:
    """(8, m) float64 view of a byte buffer: the double at byte p is ``[p & 7, p >> 3]`` (no copy).

    Read-only, as the byte buffers are (:func:`_readonly`): one type for every call of the
    decoding kernels, so numba compiles them once.
    """
    m = (len(buf) - 7) // 8
    if m <= 0:  # too short to hold a double: a view of zeros
        buf, m = np.zeros(16, np.uint8), 1
    view = np.ndarray(shape=(8, m), dtype="<f8", buffer=buf, offset=0, strides=(1, 8))
    view.flags.writeable = False
    return view


def _readonly(a: np.ndarray) -> np.ndarray:
    """``a``, read-only (the WKB kernels are compiled for read-only byte buffers only)."""
    a.flags.writeable = False
    return a


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
    verts: Vertices,
    bounds: np.ndarray,
) -> None:
    """Decode geometries ``buf[starts[g]:ends[g]]`` into ``verts`` at ``tgt_v[g]:tgt_v[g + 1]``."""
    if kwkb.wkb_fill.for_work(int(tgt_v[-1] - tgt_v[0]))(buf, _f8_view(buf), starts, ends, tgt_v, verts, bounds):
        raise _Unsupported("vertex counts disagree")


def _binary_chunk(c: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Zero-copy (offsets as int64, ``len(c) + 1`` of them; the read-only byte buffer) of one binary /
    large_binary Arrow chunk; ``_Unsupported`` for any other type."""
    if pa.types.is_large_binary(c.type):
        otype = np.int64
    elif pa.types.is_binary(c.type):
        otype = np.int32
    else:
        raise _Unsupported(f"geometry column of type {c.type}")
    _, off_buf, data_buf = c.buffers()[:3]
    offsets = np.frombuffer(off_buf, dtype=otype)[c.offset : c.offset + len(c) + 1].astype(np.int64)
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else _readonly(np.zeros(0, np.uint8))
    return offsets, data


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
        offsets, data = _binary_chunk(c)
        starts, ends = offsets[:-1].copy(), offsets[1:].copy()
        if c.null_count:
            nulls = c.is_null().to_numpy(zero_copy_only=False)
            ends[nulls] = starts[nulls]
        out.append((data, starts[:-1], ends[:-1]))
        last = data[starts[-1] : ends[-1]]
        tail = _readonly(np.concatenate([last, np.zeros(8, np.uint8)]))
        out.append((tail, np.zeros(1, np.int64), np.array([len(last)], np.int64)))
    return out


def take_wkb(wkb: pa.Array | pa.ChunkedArray, idx: np.ndarray) -> np.ndarray:
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


def subset(n: int, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values of ``idx`` (< n) and ``idx`` renumbered into them, without sorting."""
    mask = np.zeros(n, dtype=bool)
    mask[idx] = True
    uniq = np.flatnonzero(mask)
    remap = np.full(n, -1, dtype=np.int64)
    remap[uniq] = np.arange(len(uniq))
    return uniq, remap[idx]


def flat_for(tg: PreparedTargets, pt: np.ndarray, reuse: FlatSet | None = None) -> tuple[FlatSet, np.ndarray]:
    """Flat arrays covering the targets ``pt`` (reusing ``reuse`` when it covers them) and ``pt`` renumbered."""
    if tg.flat is not None:
        return tg.flat, tg.flat.remap[pt]
    if reuse is not None:
        local = reuse.remap[pt]
        if len(local) == 0 or local.min() >= 0:
            return reuse, local
    uniq, local = subset(len(tg), pt)
    remap = np.full(len(tg), -1, dtype=np.int64)
    remap[uniq] = np.arange(len(uniq))
    return FlatSet(flatten(tg.geoms[uniq]), remap), local
