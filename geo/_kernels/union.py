"""Area of the union of several polygons inside one disc, without a GEOS overlay.

Green's theorem on the boundary of the union inside the disc, plus the arcs of the circle inside
the union, in the site's plane (``geo._kernels.disc``):

* every polygon edge is clipped to the disc (:func:`_clip_polygon`); the clipped *pieces* are split
  where they meet pieces of the other polygons; a sub-piece belongs to the union's boundary when
  its midpoint is outside every other polygon (coincident edges: kept once if they run the same
  way, dropped if they run opposite ways) (:func:`_boundary_term`);
* the circle is split at every edge crossing; an arc counts when its midpoint is inside some
  polygon (:func:`_arcs_term`);
* edges flagged ``seam`` (where the parts of a polygon split at ±180° meet) count in the winding
  number of the centre (they cancel there) but are not boundary pieces.

"Inside polygon j" for a point M of the disc is the centre's status (winding number over all of
j's edges) flipped by each crossing of the segment centre-M with j's clipped pieces
(:func:`_classify`). The pieces are held in a uniform grid over the disc's square (about one piece
per cell, :func:`_piece_grid`): a piece is only tested against the pieces of the cells its box
covers, and a segment centre-M against those of the cells it passes through; along a chain of
untouched pieces the classification is carried over.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import prange

from geo._kernels.disc import Frame, local_frame, project
from geo._kernels.flat import Flat
from geo._kernels.sphere import angle
from geo._kernels.twins import jit, twins
from geo.crs import R_MIN_KM

_GRID_MAX = 64
# the arguments the circle's points pass to _classify, typed as the pieces' (np.int8, np.int64): numba
# would otherwise compile it again for literal 0 and -1 (the same goes for every np.int64(0) and
# np.bool_ start value here, where a literal would cost one more compilation of the callee)
_NO_DIR = np.int8(0)
_NO_POLY = np.int64(-1)


class Pieces(NamedTuple):
    """The polygon edges of one disc clipped to it, in the site's plane (km); piece a runs from
    (sax[a], say[a]) to (sbx[a], sby[a])."""

    sax: np.ndarray
    say: np.ndarray
    sbx: np.ndarray
    sby: np.ndarray
    spoly: np.ndarray  # int64: the polygon (position among the disc's polygons)
    sdir: np.ndarray  # int8: +1 when the polygon's interior is on the piece's left, else -1
    sk: np.ndarray  # int64: the edge's start vertex (consecutive edges of a ring: consecutive values)
    sfull0: np.ndarray  # bool: the piece starts at its edge's start (not cut by the circle)
    sfull1: np.ndarray  # bool: the piece ends at its edge's end


class Grid(NamedTuple):
    """A uniform grid of ``g`` x ``g`` cells of side ``cell`` (km) over the disc's square [-r, r]²;
    the pieces of cell c are ``cell_items[cell_ptr[c]:cell_ptr[c + 1]]``, in piece order, hence
    grouped by polygon; ``run_end[it]`` is the end of the run of item ``it``'s polygon in its cell
    (the walks skip a polygon's own pieces a run at a time); piece a lies in the cells
    ``c_x0[a]..c_x1[a]`` x ``c_y0[a]..c_y1[a]``."""

    g: int
    cell: float
    cell_ptr: np.ndarray
    cell_items: np.ndarray
    run_end: np.ndarray
    c_x0: np.ndarray
    c_x1: np.ndarray
    c_y0: np.ndarray
    c_y1: np.ndarray


class Scratch(NamedTuple):
    """Per-disc work space of :func:`_classify`."""

    parity: np.ndarray  # bool per polygon: inside it at the current point
    coinc: np.ndarray  # int8 per polygon: the current point lies on one of its pieces (+1 same way, -1 opposite)
    stamp: np.ndarray  # int64 per piece: the last call that tested it


@jit
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


@jit
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


@jit
def _crossing(ax: float, ay: float, bx: float, by: float) -> int:
    """Signed crossing of the half-line y = 0, x > 0 by segment A->B: +1 upwards, -1 downwards, else 0.

    Summed over a closed chain it is the chain's winding number around the origin, as the sum of
    the angles it sweeps (atan2) is 2π times it; a vertex on the line counts as below it on both
    edges that share it, so no crossing is counted twice or missed."""
    if (ay > 0.0) == (by > 0.0):
        return 0
    if ax + (0.0 - ay) * (bx - ax) / (by - ay) <= 0.0:
        return 0
    return 1 if by > 0.0 else -1


@jit
def _grid_size(n_pieces: int) -> int:
    """Cells per side of a site's piece grid: about one piece per cell, 1..``_GRID_MAX``."""
    return max(1, min(_GRID_MAX, int(math.sqrt(n_pieces)) + 1))


@jit
def _cell_of(v: float, r: float, cell: float, g: int) -> int:
    c = math.floor((v + r) / cell)
    return min(max(c, 0), g - 1)


@jit
def _piece_capacity(fr: Frame, tgt: np.ndarray, p0: int, p1: int, flat: Flat, theta_r: float) -> int:
    """An upper bound of the pieces of polygons ``tgt[p0:p1]`` in the disc: the vertices of their
    blocks whose cap reaches it."""
    tgt_blk, blk_v0, blk_v1 = flat.tgt_blk, flat.blk_v0, flat.blk_v1
    cx, cy, cz, crad = flat.cx, flat.cy, flat.cz, flat.crad
    cap = 0
    for q in range(p0, p1):
        t = tgt[q]
        for b in range(tgt_blk[t], tgt_blk[t + 1]):
            if angle(fr.ox, fr.oy, fr.oz, cx[b], cy[b], cz[b]) - crad[b] <= theta_r * 1.01 + 1e-12:
                cap += blk_v1[b] - blk_v0[b]
    return cap


@jit
def _clip_polygon(
    t: int,
    li: int,
    fr: Frame,
    flat: Flat,
    r_km: float,
    theta_r: float,
    pieces: Pieces,
    nsg: int,
    angles: np.ndarray,
    na: int,
) -> tuple[int, int, int]:
    """Append the pieces of polygon ``t`` (the disc's polygon ``li``) to ``pieces`` from ``nsg``, and
    the angles where they cross the circle to ``angles`` from ``na``.

    Returns (pieces now, angles now, winding number of the polygon around the centre): 1 inside
    (exterior rings counter-clockwise, holes clockwise), 0 outside.
    """
    vx, vy, vz, brk, orient, seam = flat.vx, flat.vy, flat.vz, flat.brk, flat.orient, flat.seam
    blk_v0, blk_v1, cx, cy, cz, crad = flat.blk_v0, flat.blk_v1, flat.cx, flat.cy, flat.cz, flat.crad
    sax, say, sbx, sby, spoly, sdir, sk, sfull0, sfull1 = pieces
    wind = 0
    held = -1  # the vertex whose projection (hx, hy) is at hand: an edge's end is the next one's start
    hx = 0.0
    hy = 0.0
    for b in range(flat.tgt_blk[t], flat.tgt_blk[t + 1]):
        near = angle(fr.ox, fr.oy, fr.oz, cx[b], cy[b], cz[b]) - crad[b] <= theta_r * 1.01 + 1e-12
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
                ax, ay = project(vx[k], vy[k], vz[k], fr)
                bx, by = project(vx[last], vy[last], vz[last], fr)
                wind += orient[k] * _crossing(ax, ay, bx, by)
                k = jj + 1
                continue
            if held == k:
                ax = hx
                ay = hy
            else:
                ax, ay = project(vx[k], vy[k], vz[k], fr)
            bx, by = project(vx[k + 1], vy[k + 1], vz[k + 1], fr)
            held = k + 1
            hx = bx
            hy = by
            wind += orient[k] * _crossing(ax, ay, bx, by)
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
    return nsg, na, wind


@jit
def _piece_grid(pieces: Pieces, nsg: int, r_km: float, eps: float) -> Grid:
    """The pieces in a uniform grid over the disc's square [-r, r]², each in every cell its box
    (grown by eps) meets."""
    sax, say, sbx, sby = pieces.sax, pieces.say, pieces.sbx, pieces.sby
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
    # pieces come polygon by polygon, so each cell lists them grouped by polygon: most of a piece's
    # cell mates are its own polygon's (the walks skip those), and a run is skipped in one step
    spoly = pieces.spoly
    run_end = np.empty(cell_ptr[-1], dtype=np.int64)
    for cc in range(g * g):
        end = cell_ptr[cc + 1]
        for it in range(cell_ptr[cc + 1] - 1, cell_ptr[cc] - 1, -1):
            if it + 1 < cell_ptr[cc + 1] and spoly[cell_items[it + 1]] != spoly[cell_items[it]]:
                end = it + 1
            run_end[it] = end
    return Grid(g, cell, cell_ptr, cell_items, run_end, c_x0, c_x1, c_y0, c_y1)


@jit
def _classify(
    mx: float,
    my: float,
    dx: float,
    dy: float,
    sdir_a: int,
    pa: int,
    m: int,
    status0: np.ndarray,
    pieces: Pieces,
    grid: Grid,
    r: float,
    eps: float,
    scratch: Scratch,
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
    sax, say, sbx, sby, spoly, sdir = pieces.sax, pieces.say, pieces.sbx, pieces.sby, pieces.spoly, pieces.sdir
    g, cell, cell_ptr, cell_items, run_end = grid.g, grid.cell, grid.cell_ptr, grid.cell_items, grid.run_end
    parity, coinc, stamp = scratch
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
        it = cell_ptr[cc]
        it1 = cell_ptr[cc + 1]
        while it < it1:
            c = cell_items[it]
            lj = spoly[c]
            if lj == pa:  # M's own polygon: its pieces are not tested
                it = run_end[it]
                continue
            it += 1
            if stamp[c] == call:
                continue
            stamp[c] = call
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


@jit
def _split_at_crossings(a: int, pieces: Pieces, grid: Grid, eps: float, ts: np.ndarray) -> tuple[int, bool]:
    """Where piece ``a`` meets pieces of the other polygons: parameters 0 < t < 1 along it, written to
    ``ts`` between 0 and 1 (unsorted), and whether it meets (or runs along) any of them at all.

    Returns (number of parameters in ``ts``, touched)."""
    sax, say, sbx, sby, spoly = pieces.sax, pieces.say, pieces.sbx, pieces.sby, pieces.spoly
    g, cell_ptr, cell_items, run_end = grid.g, grid.cell_ptr, grid.cell_items, grid.run_end
    pa = spoly[a]
    ax = sax[a]
    ay = say[a]
    dx = sbx[a] - ax
    dy = sby[a] - ay
    nt = 0
    ts[nt] = 0.0
    nt += 1
    touched = False
    for gy in range(grid.c_y0[a], grid.c_y1[a] + 1):
        for gx in range(grid.c_x0[a], grid.c_x1[a] + 1):
            it = cell_ptr[gy * g + gx]
            it1 = cell_ptr[gy * g + gx + 1]
            while it < it1:
                c = cell_items[it]
                if spoly[c] == pa:  # its own polygon's run: skipped whole
                    it = run_end[it]
                    continue
                it += 1
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
    return nt, touched


@jit
def _boundary_term(
    pieces: Pieces, nsg: int, grid: Grid, status0: np.ndarray, m: int, r_km: float, eps: float, scratch: Scratch
) -> tuple[float, int]:
    """Green's theorem over the union's boundary inside the disc: the sum of (sub-piece x its
    direction) cross products / 2 over the sub-pieces outside every other polygon.

    Returns (that sum, km²; the number of :func:`_classify` calls made, which go on counting from
    there)."""
    sax, say, sbx, sby, spoly, sdir, sk, sfull0, sfull1 = pieces
    coinc = scratch.coinc
    call = 0
    total = 0.0
    chain = False
    chain_pa = -2
    chain_x = 0.0
    chain_y = 0.0
    ts = np.empty(grid.cell_ptr[-1] + 2)
    prev_cov = False
    prev_ok = False
    for a in range(nsg):
        pa = spoly[a]
        ax = sax[a]
        ay = say[a]
        dx = sbx[a] - ax
        dy = sby[a] - ay
        nt, touched = _split_at_crossings(a, pieces, grid, eps, ts)
        contiguous = prev_ok and a > 0 and spoly[a - 1] == pa and sk[a - 1] + 1 == sk[a] and sfull1[a - 1] and sfull0[a]
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
                pieces,
                grid,
                r_km,
                eps,
                scratch,
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
    return total, call


@jit
def _arcs_term(
    total: float,
    angles: np.ndarray,
    na: int,
    pieces: Pieces,
    grid: Grid,
    status0: np.ndarray,
    m: int,
    r_km: float,
    eps: float,
    scratch: Scratch,
    call: int,
) -> float:
    """``total`` plus the sectors of the circle's arcs inside the union (the circle split at the
    angles where pieces cross it; no crossing: the whole circle, in or out)."""
    full = na == 0
    if full:
        angles[0] = 0.0
        na = 1
    srt = np.sort(angles[:na])
    chain = np.bool_(False)  # arcs: each walk starts at the previous arc's midpoint (no piece lies there)
    chain_x = 0.0
    chain_y = 0.0
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
            _NO_DIR,
            _NO_POLY,
            m,
            status0,
            pieces,
            grid,
            r_km,
            eps,
            scratch,
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
    return total


@twins(scale=(1, 10))
def union_disc_area(
    lon0: np.ndarray,
    lat0: np.ndarray,
    site_ids: np.ndarray,
    site_ptr: np.ndarray,
    tgt: np.ndarray,
    r_km: float,
    flat: Flat,
) -> np.ndarray:
    """Area (km²) of (union of the site's polygons) ∩ (disc of radius ``r_km``), per site.

    ``site_ptr`` is CSR over ``tgt``: the polygons of ``site_ids[i]`` are
    ``tgt[site_ptr[i]:site_ptr[i + 1]]``; the disc is centred on (``lon0[s]``, ``lat0[s]``). See the
    module docstring for the method.
    """
    ns = site_ids.shape[0]
    res = np.zeros(ns)
    theta_r = r_km / R_MIN_KM
    eps = 1e-9 * r_km
    for i in prange(ns):
        s = site_ids[i]
        fr = local_frame(lon0[s], lat0[s])
        p0 = site_ptr[i]
        p1 = site_ptr[i + 1]
        m = p1 - p0
        cap = _piece_capacity(fr, tgt, p0, p1, flat, theta_r)
        pieces = Pieces(
            np.empty(cap),
            np.empty(cap),
            np.empty(cap),
            np.empty(cap),
            np.empty(cap, dtype=np.int64),
            np.empty(cap, dtype=np.int8),
            np.empty(cap, dtype=np.int64),
            np.empty(cap, dtype=np.bool_),
            np.empty(cap, dtype=np.bool_),
        )
        angles = np.empty(2 * cap + 1)
        status0 = np.zeros(m, dtype=np.bool_)
        nsg = np.int64(0)
        na = np.int64(0)
        covered = False
        for li in range(m):
            li_first = nsg
            nsg, na, wind = _clip_polygon(tgt[p0 + li], li, fr, flat, r_km, theta_r, pieces, nsg, angles, na)
            status0[li] = wind > 0  # 1 inside (minus 1 per hole containing it), else 0
            if status0[li] and nsg == li_first:
                covered = True  # the centre is inside li and li's boundary stays outside the disc
        if covered:  # the disc lies inside one polygon: the union covers all of it
            res[i] = math.pi * r_km * r_km
            continue
        grid = _piece_grid(pieces, nsg, r_km, eps)
        scratch = Scratch(np.zeros(m, dtype=np.bool_), np.zeros(m, dtype=np.int8), np.full(nsg, -1, dtype=np.int64))
        total, call = _boundary_term(pieces, nsg, grid, status0, m, r_km, eps, scratch)
        total = _arcs_term(total, angles, na, pieces, grid, status0, m, r_km, eps, scratch, call)
        res[i] = max(total, 0.0)
    return res
