"""Numba kernels of the proximity engine (private: called by ``geo.proximity`` only).

Geometry is passed as flat arrays (GeoArrow-like):

* vertices as unit vectors ``vx, vy, vz`` (n-vectors of geodetic latitude/longitude),
* ``brk[k]`` True when vertex ``k`` is the last vertex of its ring/line/point (no segment k -> k+1),
* vertices are grouped into *blocks* of consecutive vertices, each with a bounding spherical cap
  (centre ``cx, cy, cz`` and angular radius ``crad``, radians) that contains the block's vertices,
  the vertex after it and therefore every great-circle segment starting in the block,
* each target owns a contiguous range of blocks ``tgt_blk[t]:tgt_blk[t + 1]``.

Distances here are *angles on the unit sphere* (radians); ``geo.proximity`` turns the closest
point found into an ellipsoidal distance with ``pyproj.Geod.inv``.
"""

from __future__ import annotations

import math
import types

import numpy as np
from numba import njit, prange

from geo.crs import angle_between, unit_vector

# the unit-vector formulas of geo.crs, compiled
_angle = njit(cache=True)(angle_between)
_unit_vector = njit(cache=True)(unit_vector)


@njit(cache=True)
def _nearest_on_target(
    px: float,
    py: float,
    pz: float,
    t: int,
    best: float,
    vx: np.ndarray,
    vy: np.ndarray,
    vz: np.ndarray,
    brk: np.ndarray,
    blk_v0: np.ndarray,
    blk_v1: np.ndarray,
    cx: np.ndarray,
    cy: np.ndarray,
    cz: np.ndarray,
    crad: np.ndarray,
    tgt_blk: np.ndarray,
    out: np.ndarray,
    lb: np.ndarray,
    order: np.ndarray,
    band_lo: np.ndarray,
    band_hi: np.ndarray,
) -> tuple[float, float]:
    """Smallest angle from P to target ``t`` if below ``best``; closest point written to ``out``.

    Blocks are visited nearest cap first and the walk stops at the first cap farther than ``best``.
    ``lb`` and ``order`` are scratch space of at least the target's number of blocks.

    Returns (upper, lower): bounds of the angle. They are equal (the exact smallest angle) unless
    ``band_lo``/``band_hi`` are given: then the walk also stops as soon as no band
    [band_lo[q], band_hi[q]] meets [lower, upper], i.e. the angle is known to lie on the same side
    of every band (the remaining caps are at least ``lower`` away).
    """
    b0 = tgt_blk[t]
    nb = tgt_blk[t + 1] - b0
    nk = 0
    for u in range(nb):
        d = _angle(px, py, pz, cx[b0 + u], cy[b0 + u], cz[b0 + u]) - crad[b0 + u]
        if d <= best:  # best only decreases: a block beyond it is never needed
            lb[nk] = d
            order[nk] = u
            nk += 1
    if nk <= 32:  # few blocks survive the cutoff: insertion sort, no allocation
        for w in range(1, nk):
            d = lb[w]
            u = order[w]
            k = w
            while k > 0 and lb[k - 1] > d:
                lb[k] = lb[k - 1]
                order[k] = order[k - 1]
                k -= 1
            lb[k] = d
            order[k] = u
    else:
        srt = np.argsort(lb[:nk])
        tmp = order[:nk][srt]
        lb[:nk] = lb[:nk][srt]
        order[:nk] = tmp
    # inside the blocks, candidates are compared by squared chord |P - X|² (monotonic in the angle,
    # computed from differences so it stays precise for small distances): no trigonometry per vertex
    best_c2 = (2.0 * math.sin(0.5 * best)) ** 2 if best < math.pi else np.inf
    n_bands = band_lo.shape[0]
    for w in range(nk):
        if lb[w] > best:
            break
        if n_bands > 0 and w > 0 and lb[w] < best:
            # everything left is at least lb[w] away: stop if [lb[w], best] meets no band
            decided = True
            for q in range(n_bands):
                if band_lo[q] <= best and lb[w] <= band_hi[q]:
                    decided = False
                    break
            if decided:
                return best, lb[w]
        u = order[w]
        b = b0 + u
        for k in range(blk_v0[b], blk_v1[b]):
            ax = vx[k]
            ay = vy[k]
            az = vz[k]
            dx = px - ax
            dy = py - ay
            dz = pz - az
            c2 = dx * dx + dy * dy + dz * dz
            if c2 < best_c2:
                best_c2 = c2
                best = 2.0 * math.asin(min(1.0, 0.5 * math.sqrt(c2)))
                out[0] = ax
                out[1] = ay
                out[2] = az
            if brk[k]:
                continue
            bx = vx[k + 1]
            by = vy[k + 1]
            bz = vz[k + 1]
            # normal of the great circle through A and B
            nx = ay * bz - az * by
            ny = az * bx - ax * bz
            nz = ax * by - ay * bx
            nn = math.sqrt(nx * nx + ny * ny + nz * nz)
            if nn < 1e-15:
                continue
            nx /= nn
            ny /= nn
            nz /= nn
            s = px * nx + py * ny + pz * nz
            qx = px - s * nx
            qy = py - s * ny
            qz = pz - s * nz
            qn = math.sqrt(qx * qx + qy * qy + qz * qz)
            if qn < 1e-15:
                continue
            # foot of the perpendicular must lie between A and B on the arc
            if ((ay * qz - az * qy) * nx + (az * qx - ax * qz) * ny + (ax * qy - ay * qx) * nz) <= 0.0:
                continue
            if ((qy * bz - qz * by) * nx + (qz * bx - qx * bz) * ny + (qx * by - qy * bx) * nz) <= 0.0:
                continue
            ux = qx / qn
            uy = qy / qn
            uz = qz / qn
            dx = px - ux
            dy = py - uy
            dz = pz - uz
            c2 = dx * dx + dy * dy + dz * dz
            if c2 < best_c2:
                best_c2 = c2
                best = 2.0 * math.asin(min(1.0, 0.5 * math.sqrt(c2)))
                out[0] = ux
                out[1] = uy
                out[2] = uz
    return best, best


def _pair_nearest_py(
    sx: np.ndarray,
    sy: np.ndarray,
    sz: np.ndarray,
    sub_start: np.ndarray,
    pair_site: np.ndarray,
    pair_tgt: np.ndarray,
    cutoff: np.ndarray,
    vx: np.ndarray,
    vy: np.ndarray,
    vz: np.ndarray,
    brk: np.ndarray,
    blk_v0: np.ndarray,
    blk_v1: np.ndarray,
    cx: np.ndarray,
    cy: np.ndarray,
    cz: np.ndarray,
    crad: np.ndarray,
    tgt_blk: np.ndarray,
    band_lo: np.ndarray,
    band_hi: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For each (site, target) pair: the smallest angle (rad) between any site point and the target.

    A site is one or more points (``sub_start`` ranges over ``sx, sy, sz``). Pairs whose angle is
    larger than ``cutoff[i]`` get ``inf``. Returns (angle, closest point xyz (m, 3), site point
    index, lower bound of the angle).

    With angle bands (``band_lo``/``band_hi``, may be empty), the walk of a one-point site stops
    once the angle is known to lie between two bands: ``angle`` is then an upper bound (the closest
    point found so far, in ``close``), ``lower`` a lower bound, and no band meets [lower, angle].
    Otherwise ``lower == angle``, the exact smallest angle.
    """
    m = pair_site.shape[0]
    ang = np.full(m, np.inf)
    lower = np.full(m, np.inf)
    no_bands = band_lo[:0]
    close = np.zeros((m, 3))
    sub = np.full(m, -1, dtype=np.int64)
    max_nb = 1
    for i in range(m):
        t = pair_tgt[i]
        max_nb = max(max_nb, tgt_blk[t + 1] - tgt_blk[t])
    n_chunks = min(m, 256)
    for c in prange(n_chunks):
        # scratch per chunk, not per pair: allocation in parallel loops is costly
        lb = np.empty(max_nb)
        order = np.empty(max_nb, dtype=np.int64)
        out = np.zeros(3)
        for i in range(c * m // n_chunks, (c + 1) * m // n_chunks):
            s = pair_site[i]
            t = pair_tgt[i]
            best = cutoff[i]
            low = np.inf
            one_point = sub_start[s + 1] - sub_start[s] == 1
            for j in range(sub_start[s], sub_start[s + 1]):
                nb, nlow = _nearest_on_target(
                    sx[j],
                    sy[j],
                    sz[j],
                    t,
                    best,
                    vx,
                    vy,
                    vz,
                    brk,
                    blk_v0,
                    blk_v1,
                    cx,
                    cy,
                    cz,
                    crad,
                    tgt_blk,
                    out,
                    lb,
                    order,
                    band_lo if one_point else no_bands,
                    band_hi if one_point else no_bands,
                )
                if nb < best:
                    best = nb
                    low = nlow
                    sub[i] = j
                    close[i, 0] = out[0]
                    close[i, 1] = out[1]
                    close[i, 2] = out[2]
            if sub[i] >= 0:
                ang[i] = best
                lower[i] = low
    return ang, close, sub, lower


@njit(cache=True)
def _sector_or_triangle(ax: float, ay: float, bx: float, by: float, r: float) -> float:
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


@njit(cache=True)
def _local_frame(
    lon_deg: float, lat_deg: float, a_km: float, e2: float
) -> tuple[float, float, float, float, float, float, float, float, float, float, float]:
    """The frame of ``_project`` at a site: its unit vector O, the east and north unit vectors,
    and the prime-vertical and meridional radii of curvature there (km)."""
    la = math.radians(lat_deg)
    lo = math.radians(lon_deg)
    sl = math.sin(la)
    cl = math.cos(la)
    so = math.sin(lo)
    co = math.cos(lo)
    w = math.sqrt(1.0 - e2 * sl * sl)
    rn = a_km / w
    rm = a_km * (1.0 - e2) / (w * w * w)
    return cl * co, cl * so, sl, -so, co, 0.0, -sl * co, -sl * so, cl, rn, rm


@njit(cache=True)
def _project(
    x: float,
    y: float,
    z: float,
    ox: float,
    oy: float,
    oz: float,
    ex: float,
    ey: float,
    ez: float,
    nx: float,
    ny: float,
    nz: float,
    rn_km: float,
    rm_km: float,
) -> tuple[float, float]:
    """Gnomonic projection about O, scaled by the radii of curvature at O (km, east/north)."""
    d = x * ox + y * oy + z * oz
    if d < 1e-6:
        d = 1e-6
    return rn_km * (x * ex + y * ey + z * ez) / d, rm_km * (x * nx + y * ny + z * nz) / d


@njit(cache=True)
def pair_disc_area(
    lon0: np.ndarray,
    lat0: np.ndarray,
    pair_site: np.ndarray,
    pair_tgt: np.ndarray,
    r_km: float,
    vx: np.ndarray,
    vy: np.ndarray,
    vz: np.ndarray,
    brk: np.ndarray,
    ring_sign: np.ndarray,
    blk_v0: np.ndarray,
    blk_v1: np.ndarray,
    cx: np.ndarray,
    cy: np.ndarray,
    cz: np.ndarray,
    crad: np.ndarray,
    tgt_blk: np.ndarray,
    a_km: float,
    e2: float,
) -> np.ndarray:
    """Area (km²) of (target polygon) ∩ (geodesic disc of radius ``r_km`` around the site) per pair.

    Green's theorem over the polygon's rings in a local plane centred on the site: each edge adds
    the signed area of disc ∩ triangle(centre, edge). Rings are summed with their absolute value,
    positive for exteriors and negative for holes (``ring_sign[k]`` of the ring's vertices).
    Blocks whose cap lies wholly outside the disc add only a circular sector, computed from their
    end points (a chain inside a cap that excludes the centre cannot wind around it).
    """
    m = pair_site.shape[0]
    res = np.zeros(m)
    theta_r = r_km / (a_km * (1.0 - e2))  # conservative angular radius of the disc
    for i in range(m):
        s = pair_site[i]
        t = pair_tgt[i]
        ox, oy, oz, ex, ey, ez, nx, ny, nz, rn, rm = _local_frame(lon0[s], lat0[s], a_km, e2)
        total = 0.0
        ring_area = 0.0
        for b in range(tgt_blk[t], tgt_blk[t + 1]):
            k0 = blk_v0[b]
            k1 = blk_v1[b]
            far = _angle(ox, oy, oz, cx[b], cy[b], cz[b]) - crad[b] > theta_r * 1.01 + 1e-12
            k = k0
            while k < k1:
                if far:
                    # jump to the end of the block or to the end of the ring, whichever is first
                    j = k
                    while j < k1 - 1 and not brk[j]:
                        j += 1
                    last = j if brk[j] else j + 1
                    if last > k:
                        ax, ay = _project(vx[k], vy[k], vz[k], ox, oy, oz, ex, ey, ez, nx, ny, nz, rn, rm)
                        bx, by = _project(vx[last], vy[last], vz[last], ox, oy, oz, ex, ey, ez, nx, ny, nz, rn, rm)
                        ring_area += 0.5 * r_km * r_km * math.atan2(ax * by - ay * bx, ax * bx + ay * by)
                    k = j
                elif not brk[k]:
                    ax, ay = _project(vx[k], vy[k], vz[k], ox, oy, oz, ex, ey, ez, nx, ny, nz, rn, rm)
                    bx, by = _project(vx[k + 1], vy[k + 1], vz[k + 1], ox, oy, oz, ex, ey, ez, nx, ny, nz, rn, rm)
                    ring_area += _sector_or_triangle(ax, ay, bx, by, r_km)
                if brk[k]:
                    total += ring_sign[k] * abs(ring_area)
                    ring_area = 0.0
                k += 1
        res[i] = max(total, 0.0)
    return res


@njit(cache=True)
def nvectors(lon_deg: np.ndarray, lat_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit vectors (n-vectors) of geodetic longitude/latitude in degrees."""
    n = lon_deg.shape[0]
    x = np.empty(n)
    y = np.empty(n)
    z = np.empty(n)
    for i in range(n):
        x[i], y[i], z[i] = _unit_vector(lon_deg[i], lat_deg[i])
    return x, y, z


@njit(cache=True)
def site_reduce(
    n_sites: int, ps: np.ndarray, pt: np.ndarray, dist: np.ndarray, thresholds: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per site: nearest distance and target (ties to the lowest target), and pairs within each threshold.

    Pairs must be unique per (site, counted item); their order does not matter.
    """
    best = np.full(n_sites, np.inf)
    arg = np.full(n_sites, -1, dtype=np.int64)
    counts = np.zeros((n_sites, thresholds.shape[0]), dtype=np.int64)
    for a in range(ps.shape[0]):
        s = ps[a]
        d = dist[a]
        if d < best[s] or (d == best[s] and pt[a] < arg[s]):
            best[s] = d
            arg[s] = pt[a]
        for q in range(thresholds.shape[0]):
            if d <= thresholds[q]:
                counts[s, q] += 1
    return best, arg, counts


@njit(cache=True)
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
        vx[i], vy[i], vz[i] = _unit_vector(coords[i, 0], coords[i, 1])
    for e in range(elem_start.shape[0] - 1):
        a = elem_start[e]
        b = elem_start[e + 1]
        if b > a:
            brk[b - 1] = True
        for k in range(a, b):
            sign[k] = elem_sign[e]
    return vx, vy, vz, brk, sign


def _block_caps_py(
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


@njit(cache=True)
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


@njit(cache=True)
def _clip_to_disc(ax: float, ay: float, bx: float, by: float, r: float) -> tuple[float, float]:
    """Parameter range [t0, t1] of segment A->B inside the disc (t0 > t1 when outside)."""
    dx = bx - ax
    dy = by - ay
    qa = dx * dx + dy * dy
    qb = 2.0 * (ax * dx + ay * dy)
    qc = ax * ax + ay * ay - r * r
    if qa <= 0.0:
        return (0.0, 1.0) if qc <= 0.0 else (1.0, 0.0)
    disc = qb * qb - 4.0 * qa * qc
    if disc <= 0.0:
        return 1.0, 0.0
    sq = math.sqrt(disc)
    t0 = max(0.0, (-qb - sq) / (2.0 * qa))
    t1 = min(1.0, (-qb + sq) / (2.0 * qa))
    return t0, t1


@njit(cache=True)
def _cross_ray(mx: float, my: float, ax: float, ay: float, bx: float, by: float) -> bool:
    """Does segment A-B cross the segment O-M (O the origin)? Half-open rule on the line OM."""
    sa = mx * ay - my * ax
    sb = mx * by - my * bx
    if (sa > 0.0) == (sb > 0.0):
        return False
    # intersection parameter along OM must be in [0, 1]
    t = sa / (sa - sb)
    ix = ax + t * (bx - ax)
    iy = ay + t * (by - ay)
    u = (ix * mx + iy * my) / (mx * mx + my * my)
    return 0.0 <= u <= 1.0


_GRID_MAX = 64


@njit(cache=True)
def _grid_size(n_pieces: int) -> int:
    """Cells per side of a site's piece grid: about one piece per cell, 1..``_GRID_MAX``."""
    return max(1, min(_GRID_MAX, int(math.sqrt(n_pieces)) + 1))


@njit(cache=True)
def _cell_of(v: float, r: float, cell: float, g: int) -> int:
    c = math.floor((v + r) / cell)
    return min(max(c, 0), g - 1)


@njit(cache=True)
def _classify(
    mx: float,
    my: float,
    dx: float,
    dy: float,
    sdir_a: int,
    pa: int,
    m: int,
    status0: np.ndarray,
    sax: np.ndarray,
    say: np.ndarray,
    sbx: np.ndarray,
    sby: np.ndarray,
    spoly: np.ndarray,
    sdir: np.ndarray,
    cell_ptr: np.ndarray,
    cell_items: np.ndarray,
    g: int,
    cell: float,
    r: float,
    eps: float,
    parity: np.ndarray,
    coinc: np.ndarray,
    stamp: np.ndarray,
    call: int,
    px: float,
    py: float,
    from_p: bool,
) -> bool:
    """Is M (on a piece of polygon ``pa`` running along (dx, dy), or on the circle when pa < 0) covered
    by another polygon? Coincident pieces: the same way -> covered by the lower index; opposite -> covered.

    The status of each polygon at a start point S is flipped by every piece crossing the segment
    S-M; the pieces tested are those of the grid cells the segment passes through (a 2D DDA walk),
    each once (``stamp``). A piece meeting S-M at a cell boundary is in the cells on both sides (the
    grid holds each piece in every cell its box, grown by ``eps``, meets). S is the centre O, whose
    status is ``status0``, or, with ``from_p``, the point P of the previous call, whose status
    ``parity`` still holds (for every polygon but P's own, which is then M's own too).
    On return ``parity`` holds the status at M of every polygon but ``pa``.
    """
    if not from_p:
        px = 0.0
        py = 0.0
        for lj in range(m):
            parity[lj] = status0[lj]
    for lj in range(m):
        coinc[lj] = 0
    x0 = (px + r) / cell
    y0 = (py + r) / cell
    x1 = (mx + r) / cell
    y1 = (my + r) / cell
    ix = _cell_of(px, r, cell, g)
    iy = _cell_of(py, r, cell, g)
    ex = _cell_of(mx, r, cell, g)
    ey = _cell_of(my, r, cell, g)
    sx = 1 if x1 > x0 else -1
    sy = 1 if y1 > y0 else -1
    ddx = abs(x1 - x0)
    ddy = abs(y1 - y0)
    t_max_x = ((ix + 1 - x0) if sx > 0 else (x0 - ix)) / ddx if ddx > 0.0 else np.inf
    t_max_y = ((iy + 1 - y0) if sy > 0 else (y0 - iy)) / ddy if ddy > 0.0 else np.inf
    t_dx = 1.0 / ddx if ddx > 0.0 else np.inf
    t_dy = 1.0 / ddy if ddy > 0.0 else np.inf
    for _ in range(2 * g + 2):
        cc = iy * g + ix
        for it in range(cell_ptr[cc], cell_ptr[cc + 1]):
            c = cell_items[it]
            if stamp[c] == call:
                continue
            stamp[c] = call
            lj = spoly[c]
            if lj == pa:
                continue
            if _cross_ray(mx - px, my - py, sax[c] - px, say[c] - py, sbx[c] - px, sby[c] - py):
                parity[lj] = not parity[lj]
            if pa >= 0:
                ex2 = sbx[c] - sax[c]
                ey2 = sby[c] - say[c]
                l2 = ex2 * ex2 + ey2 * ey2
                if l2 > 0.0:
                    cr = (mx - sax[c]) * ey2 - (my - say[c]) * ex2
                    if cr * cr <= eps * eps * l2:
                        pr = (mx - sax[c]) * ex2 + (my - say[c]) * ey2
                        if 0.0 <= pr <= l2:
                            coinc[lj] = 1 if (dx * ex2 + dy * ey2) * sdir_a * sdir[c] > 0.0 else -1
        if ix == ex and iy == ey:
            break
        if t_max_x < t_max_y:
            if ix == ex:
                break
            ix += sx
            t_max_x += t_dx
        else:
            if iy == ey:
                break
            iy += sy
            t_max_y += t_dy
    for lj in range(m):
        if lj == pa:
            continue
        if coinc[lj] == 1:
            if lj < pa:
                return True
        elif coinc[lj] == -1 or parity[lj]:
            return True
    return False


def _union_disc_area_py(
    lon0: np.ndarray,
    lat0: np.ndarray,
    site_ids: np.ndarray,
    site_ptr: np.ndarray,
    tgt: np.ndarray,
    r_km: float,
    vx: np.ndarray,
    vy: np.ndarray,
    vz: np.ndarray,
    brk: np.ndarray,
    orient: np.ndarray,
    blk_v0: np.ndarray,
    blk_v1: np.ndarray,
    cx: np.ndarray,
    cy: np.ndarray,
    cz: np.ndarray,
    crad: np.ndarray,
    tgt_blk: np.ndarray,
    seam: np.ndarray,
    a_km: float,
    e2: float,
) -> np.ndarray:
    """Area (km²) of (union of the site's polygons) ∩ (disc of radius ``r_km``), per site.

    ``site_ptr`` is CSR over ``tgt``: the polygons of ``site_ids[i]`` are
    ``tgt[site_ptr[i]:site_ptr[i + 1]]``. Green's theorem on the boundary of the union inside the
    disc plus the arcs of the circle inside the union:

    * every polygon edge is clipped to the disc; the clipped pieces are split where they meet
      pieces of the other polygons; a sub-piece belongs to the union's boundary when its midpoint
      is outside every other polygon (coincident edges: kept once if they run the same way,
      dropped if they run opposite ways);
    * the circle is split at every edge crossing; an arc counts when its midpoint is inside some
      polygon;
    * edges flagged ``seam`` (where the parts of a polygon split at ±180° meet) count in the
      winding number of the centre (they cancel there) but are not boundary pieces.

    "Inside polygon j" for a point M of the disc is the centre's status (winding number over all
    of j's edges) flipped by each crossing of the segment centre-M with j's clipped pieces. The
    pieces are held in a uniform grid over the disc's square (about one piece per cell): a piece
    is only tested against the pieces of the cells its box covers, and a segment centre-M against
    those of the cells it passes through; along a chain of untouched pieces the classification is
    carried over.
    """
    ns = site_ids.shape[0]
    res = np.zeros(ns)
    theta_r = r_km / (a_km * (1.0 - e2))
    eps = 1e-9 * r_km
    for i in prange(ns):
        s = site_ids[i]
        ox, oy, oz, ex, ey, ez, nx, ny, nz, rn, rm = _local_frame(lon0[s], lat0[s], a_km, e2)
        p0 = site_ptr[i]
        p1 = site_ptr[i + 1]
        m = p1 - p0
        cap = 0
        for q in range(p0, p1):
            t = tgt[q]
            for b in range(tgt_blk[t], tgt_blk[t + 1]):
                if _angle(ox, oy, oz, cx[b], cy[b], cz[b]) - crad[b] <= theta_r * 1.01 + 1e-12:
                    cap += blk_v1[b] - blk_v0[b]
        sax = np.empty(cap)
        say = np.empty(cap)
        sbx = np.empty(cap)
        sby = np.empty(cap)
        spoly = np.empty(cap, dtype=np.int64)
        sdir = np.empty(cap, dtype=np.int8)
        sk = np.empty(cap, dtype=np.int64)
        sfull0 = np.empty(cap, dtype=np.bool_)
        sfull1 = np.empty(cap, dtype=np.bool_)
        angles = np.empty(2 * cap + 1)
        status0 = np.zeros(m, dtype=np.bool_)
        nsg = 0
        na = 0
        covered = False
        for li in range(m):
            t = tgt[p0 + li]
            li_first = nsg
            # winding number of polygon li around the centre (exterior rings CCW, holes CW)
            wind = 0.0
            for b in range(tgt_blk[t], tgt_blk[t + 1]):
                near = _angle(ox, oy, oz, cx[b], cy[b], cz[b]) - crad[b] <= theta_r * 1.01 + 1e-12
                k1 = blk_v1[b]
                k = blk_v0[b]
                while k < k1:
                    if brk[k] or orient[k] == 0:
                        k += 1
                        continue
                    if not near:
                        # a cap away from the centre cannot wind around it: its end points suffice
                        jj = k
                        while jj < k1 - 1 and not brk[jj]:
                            jj += 1
                        last = jj if brk[jj] else jj + 1
                        ax, ay = _project(vx[k], vy[k], vz[k], ox, oy, oz, ex, ey, ez, nx, ny, nz, rn, rm)
                        bx, by = _project(vx[last], vy[last], vz[last], ox, oy, oz, ex, ey, ez, nx, ny, nz, rn, rm)
                        wind += orient[k] * math.atan2(ax * by - ay * bx, ax * bx + ay * by)
                        k = jj + 1
                        continue
                    ax, ay = _project(vx[k], vy[k], vz[k], ox, oy, oz, ex, ey, ez, nx, ny, nz, rn, rm)
                    bx, by = _project(vx[k + 1], vy[k + 1], vz[k + 1], ox, oy, oz, ex, ey, ez, nx, ny, nz, rn, rm)
                    wind += orient[k] * math.atan2(ax * by - ay * bx, ax * bx + ay * by)
                    kk = k
                    k += 1
                    if seam[kk]:
                        # where a split polygon's parts meet at ±180°: not boundary (its two copies,
                        # running both ways, would cancel in the area but confuse the classification
                        # of other polygons' seams there)
                        continue
                    t0, t1 = _clip_to_disc(ax, ay, bx, by, r_km)
                    if t1 <= t0:
                        continue
                    dx = bx - ax
                    dy = by - ay
                    sax[nsg] = ax + t0 * dx if t0 > 0.0 else ax
                    say[nsg] = ay + t0 * dy if t0 > 0.0 else ay
                    sbx[nsg] = ax + t1 * dx if t1 < 1.0 else bx
                    sby[nsg] = ay + t1 * dy if t1 < 1.0 else by
                    spoly[nsg] = li
                    sdir[nsg] = orient[kk]
                    sk[nsg] = kk
                    sfull0[nsg] = t0 == 0.0
                    sfull1[nsg] = t1 == 1.0
                    if t0 > 0.0:
                        angles[na] = math.atan2(say[nsg], sax[nsg])
                        na += 1
                    if t1 < 1.0:
                        angles[na] = math.atan2(sby[nsg], sbx[nsg])
                        na += 1
                    nsg += 1
            status0[li] = wind > math.pi  # 2π inside (minus 2π per hole containing it), else 0
            if status0[li] and nsg == li_first:
                covered = True  # the centre is inside li and li's boundary stays outside the disc
        if covered:  # the disc lies inside one polygon: the union covers all of it
            res[i] = math.pi * r_km * r_km
            continue

        # the pieces in a uniform grid over the disc's square [-r, r]², each in every cell its
        # box (grown by eps) meets
        g = _grid_size(nsg)
        cell = 2.0 * r_km / g
        c_x0 = np.empty(nsg, dtype=np.int64)
        c_x1 = np.empty(nsg, dtype=np.int64)
        c_y0 = np.empty(nsg, dtype=np.int64)
        c_y1 = np.empty(nsg, dtype=np.int64)
        cell_cnt = np.zeros(g * g + 1, dtype=np.int64)
        for a in range(nsg):
            c_x0[a] = _cell_of(min(sax[a], sbx[a]) - eps, r_km, cell, g)
            c_x1[a] = _cell_of(max(sax[a], sbx[a]) + eps, r_km, cell, g)
            c_y0[a] = _cell_of(min(say[a], sby[a]) - eps, r_km, cell, g)
            c_y1[a] = _cell_of(max(say[a], sby[a]) + eps, r_km, cell, g)
            for gy in range(c_y0[a], c_y1[a] + 1):
                for gx in range(c_x0[a], c_x1[a] + 1):
                    cell_cnt[gy * g + gx + 1] += 1
        cell_ptr = np.cumsum(cell_cnt)
        fill = cell_ptr[:-1].copy()
        cell_items = np.empty(cell_ptr[-1], dtype=np.int64)
        for a in range(nsg):
            for gy in range(c_y0[a], c_y1[a] + 1):
                for gx in range(c_x0[a], c_x1[a] + 1):
                    cell_items[fill[gy * g + gx]] = a
                    fill[gy * g + gx] += 1

        parity = np.zeros(m, dtype=np.bool_)
        coinc = np.zeros(m, dtype=np.int8)
        stamp = np.full(nsg, -1, dtype=np.int64)
        call = 0
        total = 0.0
        chain = False
        chain_pa = -2
        chain_x = 0.0
        chain_y = 0.0
        ts = np.empty(cell_ptr[-1] + 2)
        prev_cov = False
        prev_ok = False
        for a in range(nsg):
            pa = spoly[a]
            ax = sax[a]
            ay = say[a]
            dx = sbx[a] - ax
            dy = sby[a] - ay
            nt = 0
            ts[nt] = 0.0
            nt += 1
            touched = False
            for gy in range(c_y0[a], c_y1[a] + 1):
                for gx in range(c_x0[a], c_x1[a] + 1):
                    for it in range(cell_ptr[gy * g + gx], cell_ptr[gy * g + gx + 1]):
                        c = cell_items[it]
                        if spoly[c] == pa:
                            continue
                        ex2 = sbx[c] - sax[c]
                        ey2 = sby[c] - say[c]
                        fx = sax[c] - ax
                        fy = say[c] - ay
                        den = dx * ey2 - dy * ex2
                        if den == 0.0:
                            # parallel: touched when collinear (within eps)
                            l2 = dx * dx + dy * dy
                            cr = fx * dy - fy * dx
                            if cr * cr <= eps * eps * l2:
                                touched = True
                            continue
                        tt = (fx * ey2 - fy * ex2) / den
                        uu = (fx * dy - fy * dx) / den
                        if 0.0 <= tt <= 1.0 and 0.0 <= uu <= 1.0:
                            touched = True
                            if 0.0 < tt < 1.0:  # a piece met in several cells adds a zero-length split
                                ts[nt] = tt
                                nt += 1
            ts[nt] = 1.0
            nt += 1
            contiguous = (
                prev_ok and a > 0 and spoly[a - 1] == pa and sk[a - 1] + 1 == sk[a] and sfull1[a - 1] and sfull0[a]
            )
            if not touched and contiguous:
                cov = prev_cov
                if not cov:
                    total += sdir[a] * 0.5 * (ax * sby[a] - ay * sbx[a])
                prev_cov = cov
                prev_ok = True
                continue
            for u in range(1, nt):
                key = ts[u]
                v = u - 1
                while v >= 0 and ts[v] > key:
                    ts[v + 1] = ts[v]
                    v -= 1
                ts[v + 1] = key
            cov = False
            for u in range(nt - 1):
                if ts[u + 1] - ts[u] <= 0.0:
                    continue
                tm = 0.5 * (ts[u] + ts[u + 1])
                call += 1
                mx_ = ax + tm * dx
                my_ = ay + tm * dy
                cov = _classify(
                    mx_,
                    my_,
                    dx,
                    dy,
                    sdir[a],
                    pa,
                    m,
                    status0,
                    sax,
                    say,
                    sbx,
                    sby,
                    spoly,
                    sdir,
                    cell_ptr,
                    cell_items,
                    g,
                    cell,
                    r_km,
                    eps,
                    parity,
                    coinc,
                    stamp,
                    call,
                    chain_x,
                    chain_y,
                    chain and chain_pa == pa,
                )
                # the next point of the same polygon starts from this one (a short walk), unless this
                # one lies on another polygon's boundary, where the parity is not well defined
                chain = True
                chain_pa = pa
                chain_x = mx_
                chain_y = my_
                for lj in range(m):
                    if coinc[lj] != 0:
                        chain = False
                if not cov:
                    p_x = ax + ts[u] * dx
                    p_y = ay + ts[u] * dy
                    q_x = ax + ts[u + 1] * dx
                    q_y = ay + ts[u + 1] * dy
                    total += sdir[a] * 0.5 * (p_x * q_y - p_y * q_x)
            # carrying over is only safe when the piece's end is not a meeting point
            prev_cov = cov
            prev_ok = not touched
        # arcs of the circle inside the union
        full = na == 0
        if full:
            angles[0] = 0.0
            na = 1
        srt = np.sort(angles[:na])
        chain = False  # arcs: each walk starts at the previous arc's midpoint (no piece lies there)
        for u in range(na):
            a0 = srt[u]
            span = 2.0 * math.pi if full else (srt[u + 1] if u + 1 < na else srt[0] + 2.0 * math.pi) - a0
            if span <= 0.0:
                continue
            am = a0 + 0.5 * span
            call += 1
            mx_ = r_km * math.cos(am)
            my_ = r_km * math.sin(am)
            arc_in = _classify(
                mx_,
                my_,
                0.0,
                0.0,
                0,
                -1,
                m,
                status0,
                sax,
                say,
                sbx,
                sby,
                spoly,
                sdir,
                cell_ptr,
                cell_items,
                g,
                cell,
                r_km,
                eps,
                parity,
                coinc,
                stamp,
                call,
                chain_x,
                chain_y,
                chain,
            )
            chain = True
            chain_x = mx_
            chain_y = my_
            if arc_in:
                total += 0.5 * r_km * r_km * span
        res[i] = max(total, 0.0)
    return res


# ----------------------------------------------------------------------------- WKB -> flat arrays
# Little-endian WKB (ISO and EWKB flavours, 2D/Z/M/ZM) of Point, LineString, Polygon and their
# Multi* variants is walked straight into unit vectors: no GEOS geometry is built. Doubles are
# read through ``f8``, a (8, m) float64 view of the byte buffer with strides (1, 8), so that the
# double at byte p is ``f8[p & 7, p >> 3]`` whatever its alignment.
_WKB_UNSUPPORTED = -1


@njit(cache=True)
def _u32(data: np.ndarray, p: int) -> int:
    return (
        np.int64(data[p]) | (np.int64(data[p + 1]) << 8) | (np.int64(data[p + 2]) << 16) | (np.int64(data[p + 3]) << 24)
    )


@njit(cache=True)
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


@njit(cache=True)
def _wkb_walk(
    data: np.ndarray,
    f8: np.ndarray,
    p: int,
    fill: bool,
    v: int,
    vx: np.ndarray,
    vy: np.ndarray,
    vz: np.ndarray,
    brk: np.ndarray,
    ring_sign: np.ndarray,
    orient: np.ndarray,
    bnd: np.ndarray,
) -> tuple[int, int]:
    """Walk one WKB geometry at byte ``p``; with ``fill`` write its vertices from index ``v``.

    Returns (number of vertices, base type) or (-1, -1) when unsupported. ``bnd`` (4,) receives
    lon/lat bounds (NaN when empty).
    """
    base, ndim, p = _wkb_header(data, p)
    if base < 1 or base > 6:
        return -1, -1
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
                    vx[v + k], vy[v + k], vz[v + k] = _unit_vector(lon, lat)
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


def _wkb_count_py(
    data: np.ndarray, f8: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Vertices and base type (1..6; -1 unsupported, 0 null) of each WKB geometry, without decoding.

    Geometry g is the bytes ``starts[g]:ends[g]`` of ``data`` (none when ``ends[g] <= starts[g]``).
    """
    n = starts.shape[0]
    nv = np.zeros(n, dtype=np.int64)
    gtype = np.zeros(n, dtype=np.int8)
    dummy = np.empty(0)
    dummyb = np.empty(0, dtype=np.bool_)
    dummyi = np.empty(0, dtype=np.int8)
    for g in prange(n):
        if ends[g] <= starts[g]:
            continue
        bnd = np.empty(4)
        k, t = _wkb_walk(data, f8, starts[g], False, 0, dummy, dummy, dummy, dummyb, dummyi, dummyi, bnd)
        nv[g] = max(k, 0)
        gtype[g] = t
    return nv, gtype


def _wkb_fill_py(
    data: np.ndarray,
    f8: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    tgt_v: np.ndarray,
    vx: np.ndarray,
    vy: np.ndarray,
    vz: np.ndarray,
    brk: np.ndarray,
    ring_sign: np.ndarray,
    orient: np.ndarray,
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
        k, _ = _wkb_walk(data, f8, starts[g], True, tgt_v[g], vx, vy, vz, brk, ring_sign, orient, bnd)
        for j in range(4):
            bounds[g, j] = bnd[j]
        bad[g] = k != tgt_v[g + 1] - tgt_v[g]
    return int(bad.sum())


@njit(cache=True)
def isolated_in_group(
    group_ptr: np.ndarray,
    item: np.ndarray,
    tgt_blk: np.ndarray,
    cx: np.ndarray,
    cy: np.ndarray,
    cz: np.ndarray,
    crad: np.ndarray,
) -> np.ndarray:
    """Per item: True when target ``item[i]`` is certainly disjoint from every other target of its group.

    Groups are CSR ranges ``group_ptr[g]:group_ptr[g + 1]`` over ``item``. Each target gets one cap
    around its block caps (so around all its vertices and great-circle edges); targets whose caps
    are apart are disjoint. Caps of 90° or more (or of empty targets) are never called disjoint.
    """
    n = item.shape[0]
    tx = np.zeros(n)
    ty = np.zeros(n)
    tz = np.zeros(n)
    tr = np.full(n, np.inf)
    for i in range(n):
        t = item[i]
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
            r = max(r, _angle(sx, sy, sz, cx[b], cy[b], cz[b]) + crad[b])
        tx[i] = sx
        ty[i] = sy
        tz[i] = sz
        tr[i] = r * (1.0 + 1e-9) + 1e-12 if r < 0.5 * math.pi else np.inf
    out = np.ones(n, dtype=np.bool_)
    for g in range(group_ptr.shape[0] - 1):
        for i in range(group_ptr[g], group_ptr[g + 1]):
            for j in range(i + 1, group_ptr[g + 1]):
                if not (_angle(tx[i], ty[i], tz[i], tx[j], ty[j], tz[j]) > tr[i] + tr[j]):
                    out[i] = False
                    out[j] = False
    return out


def _renamed(func: types.FunctionType, name: str) -> types.FunctionType:
    """A copy of ``func`` under another name, so numba caches its parallel build in its own file."""
    out = types.FunctionType(func.__code__, func.__globals__, name, func.__defaults__, func.__closure__)
    out.__qualname__ = name
    out.__doc__ = func.__doc__
    return out


# Serial builds compile quickly (tests, small inputs); the parallel builds (numba threads) are
# compiled only when first used on a large input. ``prange`` acts as ``range`` in the serial ones.
pair_nearest = njit(cache=True)(_pair_nearest_py)
pair_nearest_parallel = njit(cache=True, parallel=True)(_renamed(_pair_nearest_py, "pair_nearest_parallel"))
union_disc_area = njit(cache=True)(_union_disc_area_py)
union_disc_area_parallel = njit(cache=True, parallel=True)(_renamed(_union_disc_area_py, "union_disc_area_parallel"))
wkb_count = njit(cache=True)(_wkb_count_py)
wkb_count_parallel = njit(cache=True, parallel=True)(_renamed(_wkb_count_py, "wkb_count_parallel"))
block_caps = njit(cache=True)(_block_caps_py)
block_caps_parallel = njit(cache=True, parallel=True)(_renamed(_block_caps_py, "block_caps_parallel"))
wkb_fill = njit(cache=True)(_wkb_fill_py)
wkb_fill_parallel = njit(cache=True, parallel=True)(_renamed(_wkb_fill_py, "wkb_fill_parallel"))
