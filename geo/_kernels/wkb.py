"""WKB decoding straight into the flat vertex arrays (:class:`geo._kernels.flat.Vertices`).

Little-endian WKB (ISO and EWKB flavours, 2D/Z/M/ZM) of Point, LineString, Polygon and their
Multi* variants is walked straight into unit vectors: no GEOS geometry is built. Doubles are
read through ``f8``, a (8, m) float64 view of the byte buffer with strides (1, 8), so that the
double at byte p is ``f8[p & 7, p >> 3]`` whatever its alignment. Anything else (big-endian WKB,
geometry collections) is reported as unsupported, and the caller decodes it with GEOS.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from geo._kernels.flat import Vertices
from geo._kernels.sphere import to_unit
from geo._kernels.twins import jit, twins

_WKB_UNSUPPORTED = -1


@jit
def _u32(data: np.ndarray, p: int) -> int:
    return (
        np.int64(data[p]) | (np.int64(data[p + 1]) << 8) | (np.int64(data[p + 2]) << 16) | (np.int64(data[p + 3]) << 24)
    )


@jit
def _wkb_header(data: np.ndarray, p: int) -> tuple[int, int, int]:
    """(base geometry type 1..7, number of ordinates per vertex, position after the header)."""
    if data[p] != 1:  # big-endian: not handled here
        return _WKB_UNSUPPORTED, 0, p
    t = _u32(data, p + 1)
    p += 5
    ndim = 2
    if t & 0x80000000:
        ndim += 1
    if t & 0x40000000:
        ndim += 1
    if t & 0x20000000:
        p += 4  # EWKB SRID
    t = t & 0x0FFFFFFF
    if t >= 1000:
        dims = t // 1000
        ndim += 2 if dims == 3 else 1
        t = t % 1000
    return t, ndim, p


@jit
def _wkb_walk(
    data: np.ndarray,
    f8: np.ndarray,
    p: int,
    fill: bool,
    v: int,
    verts: Vertices,
    bnd: np.ndarray,
) -> tuple[int, int]:
    """Walk one WKB geometry at byte ``p``; with ``fill`` write its vertices into ``verts`` from index ``v``.

    Returns (number of vertices, base type) or (-1, -1) when unsupported. ``bnd`` (4,) receives
    lon/lat bounds (NaN when empty).
    """
    base, ndim, p = _wkb_header(data, p)
    if base < 1 or base > 6:
        return -1, -1
    vx, vy, vz, brk, ring_sign, orient = verts
    multi = base >= 4
    nparts = 1
    if multi:
        nparts = _u32(data, p)
        p += 4
    v0 = v
    xmin = np.inf
    ymin = np.inf
    xmax = -np.inf
    ymax = -np.inf
    for _ in range(nparts):
        sb = base
        if multi:
            sb, ndim, p = _wkb_header(data, p)
            if sb != base - 3:
                return -1, -1
        if sb == 1 or sb == 2:
            nrings = 1
        else:
            nrings = _u32(data, p)
            p += 4
        for r in range(nrings):
            if sb == 1:
                n = 1
                if f8[p & 7, p >> 3] != f8[p & 7, p >> 3]:  # empty point: NaN coordinates
                    p += 8 * ndim
                    continue
            else:
                n = _u32(data, p)
                p += 4
            if fill and n > 0:
                sgn = 0 if sb != 3 else (1 if r == 0 else -1)
                x0 = f8[p & 7, p >> 3]
                y0 = f8[(p + 8) & 7, (p + 8) >> 3]
                area2 = 0.0
                px = 0.0
                py = 0.0
                for k in range(n):
                    q = p + 8 * ndim * k
                    lon = f8[q & 7, q >> 3]
                    lat = f8[(q + 8) & 7, (q + 8) >> 3]
                    xmin = min(xmin, lon)
                    ymin = min(ymin, lat)
                    xmax = max(xmax, lon)
                    ymax = max(ymax, lat)
                    if k > 0:
                        area2 += px * (lat - y0) - (lon - x0) * py
                    px = lon - x0
                    py = lat - y0
                    vx[v + k], vy[v + k], vz[v + k] = to_unit(lon, lat)
                    brk[v + k] = False
                    ring_sign[v + k] = sgn
                brk[v + n - 1] = True
                o = 0
                if sgn != 0 and n >= 3:
                    o = 1 if (area2 > 0.0) == (sgn > 0) else -1
                for k in range(n):
                    orient[v + k] = o
            p += 8 * ndim * n
            v += n
    if v == v0:
        xmin = ymin = xmax = ymax = np.nan
    bnd[0] = xmin
    bnd[1] = ymin
    bnd[2] = xmax
    bnd[3] = ymax
    return v - v0, base


@twins(scale=(1, 10))
def wkb_count(data: np.ndarray, f8: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertices and base type (1..6; -1 unsupported, 0 null) of each WKB geometry, without decoding.

    Geometry g is the bytes ``starts[g]:ends[g]`` of ``data`` (none when ``ends[g] <= starts[g]``).
    """
    n = starts.shape[0]
    nv = np.zeros(n, dtype=np.int64)
    gtype = np.zeros(n, dtype=np.int8)
    dummy = np.empty(0)
    dummyi = np.empty(0, dtype=np.int8)
    nothing = Vertices(dummy, dummy, dummy, np.empty(0, dtype=np.bool_), dummyi, dummyi)
    for g in prange(n):
        if ends[g] <= starts[g]:
            continue
        bnd = np.empty(4)
        k, t = _wkb_walk(data, f8, starts[g], np.bool_(False), np.int64(0), nothing, bnd)
        nv[g] = max(k, 0)
        gtype[g] = t
    return nv, gtype


@twins(scale=(10, 1))
def wkb_fill(
    data: np.ndarray,
    f8: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    tgt_v: np.ndarray,
    verts: Vertices,
    bounds: np.ndarray,
) -> int:
    """Decode WKB geometry g into vertices ``tgt_v[g]:tgt_v[g + 1]``; returns the number of mismatches."""
    n = starts.shape[0]
    bad = np.zeros(n, dtype=np.int64)
    for g in prange(n):
        if ends[g] <= starts[g]:
            for j in range(4):
                bounds[g, j] = np.nan
            bad[g] = tgt_v[g + 1] != tgt_v[g]
            continue
        bnd = np.empty(4)
        k, _ = _wkb_walk(data, f8, starts[g], np.bool_(True), tgt_v[g], verts, bnd)
        for j in range(4):
            bounds[g, j] = bnd[j]
        bad[g] = k != tgt_v[g + 1] - tgt_v[g]
    return int(bad.sum())
