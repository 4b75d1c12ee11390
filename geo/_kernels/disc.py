"""Area within a disc: the plane around a site, and the area of one polygon inside the disc.

Areas are computed with Green's theorem in a gnomonic plane centred on the site and scaled by the
ellipsoid's radii of curvature there (east: N, north: M); each polygon edge contributes the signed
area of (disc ∩ triangle(centre, edge)), so the circle is exact (no polygon approximation). Where
several polygons lie in one disc, ``geo._kernels.union`` counts their union once;
:func:`isolated_in_group` tells which polygons of a disc are certainly apart from the others.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import prange

from geo._kernels.flat import Flat, target_caps
from geo._kernels.sphere import angle
from geo._kernels.twins import jit, twins
from geo.crs import R_MIN_KM, WGS84_A_KM, WGS84_E2


@jit
def sector_or_triangle(ax: float, ay: float, bx: float, by: float, r: float) -> float:
    """Signed area of the intersection of the disc (0, r) with the triangle (0, A, B)."""
    dx = bx - ax
    dy = by - ay
    # points of the segment where |A + t (B - A)| = r
    qa = dx * dx + dy * dy
    qb = 2.0 * (ax * dx + ay * dy)
    qc = ax * ax + ay * ay - r * r
    ts = np.empty(4)
    n = 0
    ts[n] = 0.0
    n += 1
    if qa > 0.0:
        disc = qb * qb - 4.0 * qa * qc
        if disc > 0.0:
            sq = math.sqrt(disc)
            t1 = (-qb - sq) / (2.0 * qa)
            t2 = (-qb + sq) / (2.0 * qa)
            if 0.0 < t1 < 1.0:
                ts[n] = t1
                n += 1
            if 0.0 < t2 < 1.0:
                ts[n] = t2
                n += 1
    ts[n] = 1.0
    n += 1
    area = 0.0
    for i in range(n - 1):
        t0 = ts[i]
        t1 = ts[i + 1]
        px = ax + t0 * dx
        py = ay + t0 * dy
        qx = ax + t1 * dx
        qy = ay + t1 * dy
        mx = ax + 0.5 * (t0 + t1) * dx
        my = ay + 0.5 * (t0 + t1) * dy
        cross = px * qy - py * qx
        if mx * mx + my * my <= r * r:
            area += 0.5 * cross
        else:
            area += 0.5 * r * r * math.atan2(cross, px * qx + py * qy)
    return area


class Frame(NamedTuple):
    """The local plane of :func:`project` at a site."""

    ox: float  # the site's unit vector O
    oy: float
    oz: float
    ex: float  # east unit vector at O
    ey: float
    ez: float
    nx: float  # north unit vector at O
    ny: float
    nz: float
    rn: float  # prime-vertical radius of curvature at O (km)
    rm: float  # meridional radius of curvature at O (km)


@jit
def local_frame(lon_deg: float, lat_deg: float) -> Frame:
    """The frame of :func:`project` at a site (lon/lat in degrees) on the WGS84 ellipsoid."""
    la = math.radians(lat_deg)
    lo = math.radians(lon_deg)
    sl = math.sin(la)
    cl = math.cos(la)
    so = math.sin(lo)
    co = math.cos(lo)
    w = math.sqrt(1.0 - WGS84_E2 * sl * sl)
    rn = WGS84_A_KM / w
    rm = WGS84_A_KM * (1.0 - WGS84_E2) / (w * w * w)
    return Frame(cl * co, cl * so, sl, -so, co, 0.0, -sl * co, -sl * so, cl, rn, rm)


@jit
def project(x: float, y: float, z: float, f: Frame) -> tuple[float, float]:
    """Gnomonic projection of unit vector (x, y, z) about O, scaled by the radii of curvature at O
    (km, east/north)."""
    d = x * f.ox + y * f.oy + z * f.oz
    if d < 1e-6:
        d = 1e-6
    return f.rn * (x * f.ex + y * f.ey + z * f.ez) / d, f.rm * (x * f.nx + y * f.ny + z * f.nz) / d


@twins(scale=(1, 20))
def pair_disc_area(
    lon0: np.ndarray, lat0: np.ndarray, pair_site: np.ndarray, pair_tgt: np.ndarray, r_km: float, flat: Flat
) -> np.ndarray:
    """Area (km²) of (target polygon) ∩ (geodesic disc of radius ``r_km`` around the site) per pair.

    Green's theorem over the polygon's rings in a local plane centred on the site: each edge adds
    the signed area of disc ∩ triangle(centre, edge). Rings are summed with their absolute value,
    positive for exteriors and negative for holes (``ring_sign[k]`` of the ring's vertices).
    Blocks whose cap lies wholly outside the disc add only a circular sector, computed from their
    end points (a chain inside a cap that excludes the centre cannot wind around it).
    """
    vx, vy, vz, brk, ring_sign = flat.vx, flat.vy, flat.vz, flat.brk, flat.ring_sign
    blk_v0, blk_v1, tgt_blk = flat.blk_v0, flat.blk_v1, flat.tgt_blk
    cx, cy, cz, crad = flat.cx, flat.cy, flat.cz, flat.crad
    m = pair_site.shape[0]
    res = np.zeros(m)
    theta_r = r_km / R_MIN_KM  # conservative angular radius of the disc
    for i in prange(m):
        s = pair_site[i]
        t = pair_tgt[i]
        fr = local_frame(lon0[s], lat0[s])
        total = 0.0
        ring_area = 0.0
        for b in range(tgt_blk[t], tgt_blk[t + 1]):
            k0 = blk_v0[b]
            k1 = blk_v1[b]
            far = angle(fr.ox, fr.oy, fr.oz, cx[b], cy[b], cz[b]) - crad[b] > theta_r * 1.01 + 1e-12
            k = k0
            while k < k1:
                if far:
                    # jump to the end of the block or to the end of the ring, whichever is first
                    j = k
                    while j < k1 - 1 and not brk[j]:
                        j += 1
                    last = j if brk[j] else j + 1
                    if last > k:
                        ax, ay = project(vx[k], vy[k], vz[k], fr)
                        bx, by = project(vx[last], vy[last], vz[last], fr)
                        ring_area += 0.5 * r_km * r_km * math.atan2(ax * by - ay * bx, ax * bx + ay * by)
                    k = j
                elif not brk[k]:
                    ax, ay = project(vx[k], vy[k], vz[k], fr)
                    bx, by = project(vx[k + 1], vy[k + 1], vz[k + 1], fr)
                    ring_area += sector_or_triangle(ax, ay, bx, by, r_km)
                if brk[k]:
                    total += ring_sign[k] * abs(ring_area)
                    ring_area = 0.0
                k += 1
        res[i] = max(total, 0.0)
    return res


@twins(scale=(1, 20))
def isolated_in_group(group_ptr: np.ndarray, item: np.ndarray, flat: Flat) -> np.ndarray:
    """Per item: True when target ``item[i]`` is certainly disjoint from every other target of its group.

    Groups are CSR ranges ``group_ptr[g]:group_ptr[g + 1]`` over ``item``. Each target gets one cap
    around its block caps (so around all its vertices and great-circle edges); targets whose caps
    are apart are disjoint. Caps of 90° or more (or of empty targets) are never called disjoint.
    """
    n = item.shape[0]
    tx, ty, tz, tr = target_caps(flat, item)
    out = np.ones(n, dtype=np.bool_)
    for g in prange(group_ptr.shape[0] - 1):  # a group's items are its own: threads never share one
        for i in range(group_ptr[g], group_ptr[g + 1]):
            for j in range(i + 1, group_ptr[g + 1]):
                if not (angle(tx[i], ty[i], tz[i], tx[j], ty[j], tz[j]) > tr[i] + tr[j]):
                    out[i] = False
                    out[j] = False
    return out
