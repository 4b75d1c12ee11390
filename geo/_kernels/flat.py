"""Targets as flat arrays, the layout every kernel walks, and the kernels that build it.

A set of target geometries is held GeoArrow-like in a :class:`Flat`:

* vertices as unit vectors ``vx, vy, vz`` (n-vectors of geodetic longitude/latitude);
* ``brk[k]`` True when vertex ``k`` is the last vertex of its ring/line/point (no segment k -> k+1);
* ``ring_sign[k]`` +1 on exterior rings, -1 on holes, 0 on lines and points; ``orient[k]`` +1 when
  the ring runs with the polygon's interior on its left, -1 otherwise, 0 on lines and points;
* vertices are grouped into *blocks* of consecutive vertices (``blk_v0[b]:blk_v1[b]``), each
  with a bounding spherical cap (centre ``cx, cy, cz``, angular radius ``crad`` in radians) that
  contains the block's vertices, the vertex after it and therefore every great-circle segment
  starting in the block;
* each target owns a contiguous range of blocks ``tgt_blk[t]:tgt_blk[t + 1]``;
* ``seam[k]`` True when edge k -> k+1 lies on the ±180° meridian where the parts of a target
  split there meet (not boundary).

Distances in the kernels are angles on the unit sphere (radians); ``geo.nearest`` turns the
closest points found into ellipsoidal distances with ``pyproj.Geod.inv``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import prange

from geo._kernels.sphere import angle, to_unit
from geo._kernels.twins import jit, twins


class Vertices(NamedTuple):
    """The per-vertex arrays of :class:`Flat`, as the decoders fill them."""

    vx: np.ndarray
    vy: np.ndarray
    vz: np.ndarray
    brk: np.ndarray  # bool
    ring_sign: np.ndarray  # int8
    orient: np.ndarray  # int8


class Flat(NamedTuple):
    """Targets as flat arrays (see the module docstring); passed whole to the kernels."""

    vx: np.ndarray
    vy: np.ndarray
    vz: np.ndarray
    brk: np.ndarray
    ring_sign: np.ndarray
    orient: np.ndarray
    blk_v0: np.ndarray
    blk_v1: np.ndarray
    cx: np.ndarray
    cy: np.ndarray
    cz: np.ndarray
    crad: np.ndarray
    tgt_blk: np.ndarray
    seam: np.ndarray


class Caps(NamedTuple):
    """Bounding spherical caps: unit centres (x, y, z) and angular radii r (rad; inf: no useful cap)."""

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    r: np.ndarray


class SitePoints(NamedTuple):
    """The points of the sites as unit vectors; site ``s`` is points ``sub_start[s]:sub_start[s + 1]``."""

    sx: np.ndarray
    sy: np.ndarray
    sz: np.ndarray
    sub_start: np.ndarray


@jit
def nvectors(lon_deg: np.ndarray, lat_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit vectors (n-vectors) of geodetic longitude/latitude in degrees."""
    n = lon_deg.shape[0]
    x = np.empty(n)
    y = np.empty(n)
    z = np.empty(n)
    for i in range(n):
        x[i], y[i], z[i] = to_unit(lon_deg[i], lat_deg[i])
    return x, y, z


@jit
def flatten_vertices(
    coords: np.ndarray, elem_start: np.ndarray, elem_sign: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Unit vectors of lon/lat ``coords`` (n, 2), ring-end flags and per-vertex ring sign.

    ``elem_start`` (n_elem + 1) gives each ring/line/point's vertex range.
    """
    nv = coords.shape[0]
    vx = np.empty(nv)
    vy = np.empty(nv)
    vz = np.empty(nv)
    brk = np.zeros(nv, dtype=np.bool_)
    sign = np.zeros(nv, dtype=np.int8)
    for i in range(nv):
        vx[i], vy[i], vz[i] = to_unit(coords[i, 0], coords[i, 1])
    for e in range(elem_start.shape[0] - 1):
        a = elem_start[e]
        b = elem_start[e + 1]
        if b > a:
            brk[b - 1] = True
        for k in range(a, b):
            sign[k] = elem_sign[e]
    return vx, vy, vz, brk, sign


@jit
def ring_orientation(coords: np.ndarray, elem_start: np.ndarray, elem_sign: np.ndarray) -> np.ndarray:
    """Per vertex: +1 if its ring runs with the polygon's interior on the left, -1 otherwise, 0 for lines.

    Exteriors should be counter-clockwise and holes clockwise (shoelace sign in lon/lat, which has
    the same orientation as any local east/north plane).
    """
    nv = coords.shape[0]
    out = np.zeros(nv, dtype=np.int8)
    for e in range(elem_start.shape[0] - 1):
        a = elem_start[e]
        b = elem_start[e + 1]
        if elem_sign[e] == 0 or b - a < 3:
            continue
        x0 = coords[a, 0]
        y0 = coords[a, 1]
        s = 0.0
        for k in range(a, b - 1):
            s += (coords[k, 0] - x0) * (coords[k + 1, 1] - y0) - (coords[k + 1, 0] - x0) * (coords[k, 1] - y0)
        ccw = s > 0.0
        want_ccw = elem_sign[e] > 0
        v = 1 if ccw == want_ccw else -1
        for k in range(a, b):
            out[k] = v
    return out


@twins(scale=(1, 10))
def block_caps(
    vx: np.ndarray, vy: np.ndarray, vz: np.ndarray, blk_v0: np.ndarray, blk_vlast: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Bounding cap (unit centre, angular radius in rad) of vertices ``blk_v0[b] ..= blk_vlast[b]``."""
    nb = blk_v0.shape[0]
    cx = np.zeros(nb)
    cy = np.zeros(nb)
    cz = np.zeros(nb)
    crad = np.zeros(nb)
    for b in prange(nb):
        sx = 0.0
        sy = 0.0
        sz = 0.0
        for k in range(blk_v0[b], blk_vlast[b] + 1):
            sx += vx[k]
            sy += vy[k]
            sz += vz[k]
        n = math.sqrt(sx * sx + sy * sy + sz * sz)
        if n < 1e-12:
            sx = vx[blk_v0[b]]
            sy = vy[blk_v0[b]]
            sz = vz[blk_v0[b]]
            n = 1.0
        sx /= n
        sy /= n
        sz /= n
        # largest chord from the centre, then the angle once per block
        c2 = 0.0
        for k in range(blk_v0[b], blk_vlast[b] + 1):
            dx = vx[k] - sx
            dy = vy[k] - sy
            dz = vz[k] - sz
            d2 = dx * dx + dy * dy + dz * dz
            if d2 > c2:
                c2 = d2
        cx[b] = sx
        cy[b] = sy
        cz[b] = sz
        crad[b] = 2.0 * math.asin(min(1.0, 0.5 * math.sqrt(c2))) * (1.0 + 1e-9) + 1e-12
    return cx, cy, cz, crad


@jit
def target_caps(flat: Flat, targets: np.ndarray) -> Caps:
    """One cap around each target's block caps, so around all its vertices and great-circle edges.

    Caps of 90° or more, and those of empty targets, get an infinite radius (they bound nothing).
    """
    tgt_blk, cx, cy, cz, crad = flat.tgt_blk, flat.cx, flat.cy, flat.cz, flat.crad
    n = targets.shape[0]
    tx = np.zeros(n)
    ty = np.zeros(n)
    tz = np.zeros(n)
    tr = np.full(n, np.inf)
    for i in range(n):
        t = targets[i]
        b0 = tgt_blk[t]
        b1 = tgt_blk[t + 1]
        sx = 0.0
        sy = 0.0
        sz = 0.0
        for b in range(b0, b1):
            sx += cx[b]
            sy += cy[b]
            sz += cz[b]
        nn = math.sqrt(sx * sx + sy * sy + sz * sz)
        if b1 == b0 or nn < 1e-9:
            continue
        sx /= nn
        sy /= nn
        sz /= nn
        r = 0.0
        for b in range(b0, b1):
            r = max(r, angle(sx, sy, sz, cx[b], cy[b], cz[b]) + crad[b])
        tx[i] = sx
        ty[i] = sy
        tz[i] = sz
        tr[i] = r * (1.0 + 1e-9) + 1e-12 if r < 0.5 * math.pi else np.inf
    return Caps(tx, ty, tz, tr)
