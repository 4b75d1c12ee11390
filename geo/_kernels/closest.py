"""Closest points: the exact smallest angle from sites to candidate targets, and per-site reductions.

The walk of one (site point, target) pair visits the target's blocks nearest bounding cap first
and stops at the first cap farther than the best angle so far; inside a block it compares squared
chords (no trigonometry per vertex). With angle *bands* (the thresholds a caller cares about), it
also stops as soon as the angle is known to lie between two bands.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from geo._kernels.flat import Caps, Flat, SitePoints
from geo._kernels.sphere import angle
from geo._kernels.twins import jit, twins
from geo.crs import R_MAX_KM, R_MIN_KM


@jit
def _nearest_on_target(
    px: float,
    py: float,
    pz: float,
    t: int,
    best: float,
    flat: Flat,
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
    vx, vy, vz, brk = flat.vx, flat.vy, flat.vz, flat.brk
    blk_v0, blk_v1, cx, cy, cz, crad = flat.blk_v0, flat.blk_v1, flat.cx, flat.cy, flat.cz, flat.crad
    b0 = flat.tgt_blk[t]
    nb = flat.tgt_blk[t + 1] - b0
    nk = 0
    for u in range(nb):
        d = angle(px, py, pz, cx[b0 + u], cy[b0 + u], cz[b0 + u]) - crad[b0 + u]
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


@twins(scale=(1, 20))  # a pair's walk costs ~1 µs or more: threads pay from some thousands
def pair_nearest(
    sites: SitePoints,
    pair_site: np.ndarray,
    pair_tgt: np.ndarray,
    cutoff: np.ndarray,
    walk: np.ndarray,
    flat: Flat,
    band_lo: np.ndarray,
    band_hi: np.ndarray,
    ang: np.ndarray,
    close: np.ndarray,
    sub: np.ndarray,
    lower: np.ndarray,
) -> None:
    """For the (site, target) pairs ``walk`` (indices into ``pair_site``, ``pair_tgt``, ``cutoff``,
    walked in that order): the smallest angle (rad) between any site point and the target.

    Writes, at each walked index i, ``ang[i]`` (the angle; ``inf`` when it is larger than
    ``cutoff[i]``), ``close[i]`` (the closest point, xyz), ``sub[i]`` (the site point's index, -1
    when none is within the cutoff) and ``lower[i]`` (a lower bound of the angle); the other
    entries are left as they are. A site is one or more points (``sites.sub_start`` ranges over
    ``sites.sx, sy, sz``).

    With angle bands (``band_lo``/``band_hi``, may be empty), the walk of a one-point site stops
    once the angle is known to lie between two bands: ``ang`` is then an upper bound (the closest
    point found so far, in ``close``), ``lower`` a lower bound, and no band meets [lower, ang].
    Otherwise ``lower == ang``, the exact smallest angle.
    """
    sx, sy, sz, sub_start = sites
    tgt_blk = flat.tgt_blk
    m = walk.shape[0]
    no_bands = band_lo[:0]
    max_nb = 1
    for q in range(m):
        t = pair_tgt[walk[q]]
        max_nb = max(max_nb, tgt_blk[t + 1] - tgt_blk[t])
    n_chunks = min(m, 256)
    for c in prange(n_chunks):
        # scratch per chunk, not per pair: allocation in parallel loops is costly
        lb = np.empty(max_nb)
        order = np.empty(max_nb, dtype=np.int64)
        out = np.zeros(3)
        for q in range(c * m // n_chunks, (c + 1) * m // n_chunks):
            i = walk[q]
            s = pair_site[i]
            t = pair_tgt[i]
            best = cutoff[i]
            low = np.inf
            sub[i] = -1
            one_point = sub_start[s + 1] - sub_start[s] == 1
            for j in range(sub_start[s], sub_start[s + 1]):
                nb, nlow = _nearest_on_target(
                    sx[j],
                    sy[j],
                    sz[j],
                    t,
                    best,
                    flat,
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
            else:
                ang[i] = np.inf
                lower[i] = np.inf


@jit
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


@jit
def min_at(n_keys: int, key: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The smallest of ``values`` per key in ``0..n_keys - 1`` (inf for keys that have none)."""
    out = np.full(n_keys, np.inf)
    for i in range(key.shape[0]):
        if values[i] < out[key[i]]:
            out[key[i]] = values[i]
    return out


@jit
def site_caps(sites: SitePoints) -> Caps:
    """A cap around each site's points: the point itself for a one-point site, else a cap around
    the points (infinite radius when it would reach 90°, or for a site without points)."""
    sx, sy, sz, sub_start = sites
    n = sub_start.shape[0] - 1
    cx = np.zeros(n)
    cy = np.zeros(n)
    cz = np.zeros(n)
    cr = np.full(n, np.inf)
    for s in range(n):
        k0 = sub_start[s]
        k1 = sub_start[s + 1]
        if k1 - k0 == 1:
            cx[s] = sx[k0]
            cy[s] = sy[k0]
            cz[s] = sz[k0]
            cr[s] = 0.0
            continue
        ax = 0.0
        ay = 0.0
        az = 0.0
        for k in range(k0, k1):
            ax += sx[k]
            ay += sy[k]
            az += sz[k]
        nn = math.sqrt(ax * ax + ay * ay + az * az)
        if k1 == k0 or nn < 1e-9:
            continue
        ax /= nn
        ay /= nn
        az /= nn
        r = 0.0
        for k in range(k0, k1):
            r = max(r, angle(ax, ay, az, sx[k], sy[k], sz[k]))
        cx[s] = ax
        cy[s] = ay
        cz[s] = az
        cr[s] = r * (1.0 + 1e-9) + 1e-12 if r < 0.5 * math.pi else np.inf
    return Caps(cx, cy, cz, cr)


@jit
def pair_bounds_km(
    sites: SitePoints, scaps: Caps, pair_site: np.ndarray, pair_cap: np.ndarray, tcaps: Caps
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds (km) of each (site, target) pair's geodesic distance, from caps alone.

    Lower: the angle between the two caps minus both radii; upper: the angle from the site's first
    point to the target's cap centre plus its radius (a one-point site is its cap's centre); turned
    into km with the smallest and the largest radius of curvature (``geo.crs.R_MIN_KM``,
    ``R_MAX_KM``), as in ``geo.nearest.exact_km``. The target of pair i has cap ``pair_cap[i]``.
    """
    # arrays as locals: this loop runs over every candidate pair out to the reach (millions)
    sx, sy, sz, sub_start = sites
    scx, scy, scz, scr = scaps
    tcx, tcy, tcz, tcr = tcaps
    m = pair_site.shape[0]
    lo = np.zeros(m)
    hi = np.full(m, np.inf)
    for i in range(m):
        s = pair_site[i]
        j = pair_cap[i]
        if scr[s] == np.inf or tcr[j] == np.inf:
            continue
        c = angle(scx[s], scy[s], scz[s], tcx[j], tcy[j], tcz[j])
        lo[i] = max(0.0, c - scr[s] - tcr[j]) * (R_MIN_KM * (1.0 - 1e-9))
        if scr[s] > 0.0:  # several points: from the first one
            k = sub_start[s]
            c = angle(sx[k], sy[k], sz[k], tcx[j], tcy[j], tcz[j])
        hi[i] = (c + tcr[j]) * (R_MAX_KM * (1.0 + 1e-9))
    return lo, hi


@jit
def needed_for_groups(
    sites: SitePoints,
    pair_site: np.ndarray,
    pair_cap: np.ndarray,
    tcaps: Caps,
    group: np.ndarray,
    hit: np.ndarray,
    radius_km: np.ndarray,
    all_within_km: float,
) -> np.ndarray:
    """Which candidate pairs can matter: those that may lie within ``all_within_km``, and those
    that may be the nearest of their (site, group) within ``radius_km[site]``, by
    :func:`pair_bounds_km` (a pair in ``hit`` is at 0 km)."""
    lo, hi = pair_bounds_km(sites, site_caps(sites), pair_site, pair_cap, tcaps)
    m = pair_site.shape[0]
    n_groups = 1
    for i in range(m):
        n_groups = max(n_groups, group[i] + 1)
    group_hi = np.full((sites.sub_start.shape[0] - 1) * n_groups, np.inf)
    for i in range(m):
        if hit[i]:
            lo[i] = 0.0
            hi[i] = 0.0
        key = pair_site[i] * n_groups + group[i]
        if hi[i] < group_hi[key]:
            group_hi[key] = hi[i]
    keep = np.empty(m, dtype=np.bool_)
    for i in range(m):
        s = pair_site[i]
        keep[i] = lo[i] <= radius_km[s] and (lo[i] <= all_within_km or lo[i] <= group_hi[s * n_groups + group[i]])
    return keep


@jit
def in_site_lists(n_sites: int, ps: np.ndarray, pt: np.ndarray, qs: np.ndarray, qt: np.ndarray) -> np.ndarray:
    """Per pair (qs[i], qt[i]): is it one of the pairs (ps, pt)? (Lists per site are short: a scan.)"""
    cnt = np.zeros(n_sites + 1, dtype=np.int64)
    for a in range(ps.shape[0]):
        cnt[ps[a] + 1] += 1
    ptr = np.cumsum(cnt)
    fill = ptr[:-1].copy()
    items = np.empty(ps.shape[0], dtype=np.int64)
    for a in range(ps.shape[0]):
        items[fill[ps[a]]] = pt[a]
        fill[ps[a]] += 1
    out = np.zeros(qs.shape[0], dtype=np.bool_)
    for i in range(qs.shape[0]):
        s = qs[i]
        for k in range(ptr[s], ptr[s + 1]):
            if items[k] == qt[i]:
                out[i] = True
                break
    return out
