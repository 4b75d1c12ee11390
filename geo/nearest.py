"""Candidate search and nearest targets: which (site, target) pairs can matter, and their exact distance.

1. *Candidates* (:func:`_candidates`): a shapely ``STRtree`` over the targets in lon/lat is queried
   with a conservative degree envelope around each site, derived from the search radius in km
   (:func:`lonlat_envelopes`: latitude span ``d / 110.5`` km per degree, below the shortest
   meridional degree of 110.574 km; longitude span ``d / (111.3 cos φmax)`` with φmax the highest
   |latitude| of the envelope, the whole 360° when the envelope reaches a pole). Envelopes that
   cross ±180° are wrapped, so targets on the other side of the antimeridian are found.
2. *Exact closest point* (:func:`exact_km`): a numba kernel (``geo._kernels.closest``) walks the
   candidate target's boundary as great-circle segments between unit vectors and returns the
   closest boundary point. Line and polygon *sites* are walked as their outline densified to
   0.0004° (<= 44.5 m, so <= 22 m of error).
3. *Ellipsoidal distance*: ``pyproj.Geod.inv`` (Karney) between the site and that closest point.
   Choosing the closest point on the sphere instead of the ellipsoid changes the distance only to
   second order (relative error ≪ 0.1 %).
4. *Inside* (:func:`intersecting_pairs`): shapely ``intersects`` in lon/lat (prepared, through the
   tree); sites at exactly ±180° are also tested against their ±360° twin so targets split at the
   antimeridian are caught. Inside (or touching) means distance 0.

Radius safety: the n-vector angle θ between two points and their geodesic distance s obey
``s >= θ · a(1 - e²)`` (the largest curvature of the ellipsoid), so pruning on
``θ > d / 6335.439 km`` never drops a target within ``d``.

The nearest target (:func:`nearest_all`, :func:`complete_nearest`) is found with the same
machinery: all targets within a first radius; for the remaining sites a degree-space
``query_nearest`` gives one candidate whose exact distance D is an upper bound, then every target
within D is checked exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

from geo._kernels import closest as kclosest
from geo._kernels import flat as kflat
from geo._kernels.flat import SitePoints
from geo._kernels.twins import chunked
from geo.crs import R_MAX_KM, R_MIN_KM, geodesic_m, lonlat_of_unit_vectors
from geo.targets import FlatSet, PreparedTargets, as_geom_array, flat_for, no_missing, prepare_targets, subset

__all__ = [
    "GroupIndex",
    "Sites",
    "count_within_km",
    "group_index",
    "lonlat_envelopes",
    "nearest_distance_km",
    "nearest_in_groups",
    "prepare_sites",
]

_LAT_DEG_KM = 110.5  # < 110.574 km, the shortest meridional degree
_LON_DEG_KM = 111.3  # < a·π/180 = 111.319 km, a degree of longitude at the equator
_SITE_SPACING_DEG = 0.0004  # densification of line/polygon sites: <= 44.5 m, so error <= 22 m


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
    sites = prepare_sites(as_geom_array(site_geoms))
    inside = intersecting_pairs(sites, tg) if polygonal_inside else None
    return nearest_all(sites, tg, inside)


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
    sites = prepare_sites(as_geom_array(site_geoms))
    n = len(sites.geoms)
    if len(tg) == 0:
        return np.zeros(n, dtype=np.int64)
    inside = intersecting_pairs(sites, tg)
    ps, pt, _, _ = pairs_within(sites, tg, np.full(n, float(d_km)), inside)
    if groups is not None:
        codes = np.asarray(groups)[pt]
        ps, _ = unique_pairs(ps, codes, int(codes.max()) + 1 if len(codes) else 1)
    return np.bincount(ps, minlength=n).astype(np.int64)


@dataclass(frozen=True)
class Sites:
    """Sites as the engine walks them: points, or the densified outline of lines and polygons."""

    geoms: np.ndarray
    sx: np.ndarray
    sy: np.ndarray
    sz: np.ndarray
    slon: np.ndarray
    slat: np.ndarray
    sub_start: np.ndarray  # site s is points sub_start[s]:sub_start[s + 1]
    bounds: np.ndarray  # (n, 4) lon/lat, NaN for missing

    @property
    def points(self) -> SitePoints:
        """The points as the kernels take them."""
        return SitePoints(self.sx, self.sy, self.sz, self.sub_start)


def prepare_sites(geoms: np.ndarray) -> Sites:
    """Unit vectors of the sites' points (line and polygon sites: their outline, densified)."""
    geoms = no_missing(geoms)
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
    return Sites(geoms, sx, sy, sz, lon, lat, sub_start, shapely.bounds(geoms))


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


def _candidates(sites: Sites, tg: PreparedTargets, radius_km: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (site, target) pairs whose lon/lat boxes meet the site's envelope of ``radius_km``."""
    boxes, owner, wrapped, _ = lonlat_envelopes(sites.bounds, radius_km)
    qi, pt = tg.tree.query(shapely.box(boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]))
    ps = owner[qi]
    dup = wrapped[ps]
    if tg.tree_owner is not None:  # a target with several entries (parts) can meet an envelope twice
        dup |= tg.tree_owner[pt] != pt
        pt = tg.owners(pt)
    if dup.any():  # a target can meet both halves of a wrapped envelope
        s2, t2 = unique_pairs(ps[dup], pt[dup], len(tg))
        ps = np.concatenate([ps[~dup], s2])
        pt = np.concatenate([pt[~dup], t2])
    return ps, pt


def unique_pairs(site: np.ndarray, tgt: np.ndarray, n_tgt: int) -> tuple[np.ndarray, np.ndarray]:
    n = max(n_tgt, 1)
    key = np.unique(site.astype(np.int64) * n + tgt.astype(np.int64))
    return key // n, key % n


def _shifted(geoms: np.ndarray, dlon: float) -> np.ndarray:
    return shapely.transform(geoms, lambda c: c + np.array([dlon, 0.0]))


def intersecting_pairs(sites: Sites, tg: PreparedTargets) -> tuple[np.ndarray, np.ndarray]:
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
            uniq, local = subset(len(tg), t2)
            targets = tg.geoms[uniq] if tg.geoms is not None else tg.geoms_at(uniq)
            shapely.prepare(targets)
            hit = shapely.intersects(targets[local], g[s2])
            s2, t2 = s2[hit], t2[hit]
        parts_s.append(idx[s2])
        parts_t.append(t2)
    if not parts_s:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return unique_pairs(np.concatenate(parts_s), np.concatenate(parts_t), len(tg))


def exact_km(
    sites: Sites,
    tg: PreparedTargets,
    ps: np.ndarray,
    pt: np.ndarray,
    cutoff_km: np.ndarray,
    reuse: FlatSet | None = None,
    thresholds_km: np.ndarray | None = None,
    pair_group: np.ndarray | None = None,
) -> tuple[np.ndarray, FlatSet | None]:
    """Ellipsoidal distance (km) per pair from the site to the target's boundary (or line/point).

    ``inf`` where the pair is certainly farther than ``cutoff_km``. Also returns the flat arrays used.

    With ``thresholds_km``, ``pyproj.Geod`` is only run where its answer can matter: the unit-vector
    angle θ between two points bounds their geodesic distance s by θ·a(1-e²) <= s <= θ·a/√(1-e²)
    (the normal turns at least at the smallest and at most at the largest principal curvature
    along any path, and the Gauss map of the ellipsoid is one-to-one). A pair whose bounds hold
    no threshold and cannot be its site's nearest (its lower bound exceeds the smallest upper
    bound of the site) gets a value inside its bounds: it then compares with every threshold,
    and loses the nearest, exactly as its true distance would. With ``pair_group`` (a code >= 0
    per pair, e.g. the target's category), a pair that may be the nearest of its (site, group) is
    exact too.
    """
    out = np.full(len(ps), np.inf)
    if len(ps) == 0:
        return out, reuse
    fs, local = flat_for(tg, pt, reuse)
    ps, local = np.ascontiguousarray(ps, dtype=np.int64), np.ascontiguousarray(local, dtype=np.int64)
    cutoff = np.where(np.isfinite(cutoff_km), cutoff_km / R_MIN_KM * (1 + 1e-9) + 1e-12, np.inf)
    no_bands = np.zeros(0)
    band_lo, band_hi = no_bands, no_bands
    if thresholds_km is not None and len(thresholds_km):
        # angles at which a pair could be on either side of a threshold (see the bounds above)
        d = np.asarray(thresholds_km, dtype=float)
        band_lo = d / (R_MAX_KM * (1 + 1e-9)) * (1 - 1e-12)
        band_hi = d / (R_MIN_KM * (1 - 1e-9)) * (1 + 1e-12)

    ang = np.full(len(ps), np.inf)
    lower = np.full(len(ps), np.inf)
    close = np.zeros((len(ps), 3))
    sub = np.full(len(ps), -1, dtype=np.int64)

    def walk(sel: np.ndarray | None, lo_b: np.ndarray, hi_b: np.ndarray) -> None:
        # pairs of the same target one after the other: its vertices stay in cache (about 2x faster
        # than in site order on WDPA-sized layers); the kernel writes each result at its pair
        order = np.argsort(local if sel is None else local[sel], kind="stable")
        pairs = order if sel is None else sel[order]
        with chunked(1):  # its 256 chunks to whichever thread is free: targets differ in size
            kclosest.pair_nearest.for_work(len(pairs))(
                sites.points, ps, local, cutoff, pairs, fs.flat, lo_b, hi_b, ang, close, sub, lower
            )

    # first walk: a pair stops as soon as its distance is known to lie between two thresholds
    walk(None, band_lo, band_hi)
    ok = np.isfinite(ang)
    if thresholds_km is not None and ok.any():
        lo = lower * (R_MIN_KM * (1 - 1e-9))
        hi = ang * (R_MAX_KM * (1 + 1e-9))
        min_hi = np.full(len(sites.sub_start) - 1, np.inf)
        np.minimum.at(min_hi, ps[ok], hi[ok])
        need = lo <= min_hi[ps]
        if pair_group is not None:  # the nearest of each (site, group) too
            n_groups = int(pair_group.max()) + 1
            key = ps * n_groups + pair_group
            need |= lo <= kclosest.min_at(len(min_hi) * n_groups, key[ok], hi[ok])[key]
        for d in thresholds_km:
            need |= (lo <= d) & (d <= hi)
        redo = np.flatnonzero(ok & need & (lower < ang))
        if len(redo):  # may be the site's nearest: walk these to the exact closest point
            walk(redo, no_bands, no_bands)
        approx = ok & ~need
        out[approx] = 0.5 * (lo[approx] + hi[approx])
        ok &= need
    if ok.any():
        lon2, lat2 = lonlat_of_unit_vectors(close[ok])
        out[ok] = geodesic_m(sites.slon[sub[ok]], sites.slat[sub[ok]], lon2, lat2) / 1000.0
    return out, fs


def pairs_within(
    sites: Sites,
    tg: PreparedTargets,
    radius_km: np.ndarray,
    inside: tuple[np.ndarray, np.ndarray] | None,
    reuse: FlatSet | None = None,
    thresholds_km: np.ndarray | None = None,
    groups: np.ndarray | None = None,
    all_within_km: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, FlatSet | None]:
    """All (site, target, dist_km) with dist_km <= radius_km[site]; pairs in ``inside`` are at 0 km.

    Inside pairs always meet the envelope (it contains the site's bounds, and sites on ±180°
    have wrapped envelopes), so they are among the candidates. With ``thresholds_km`` (which must
    include every radius), distances are exact only where they matter (see :func:`exact_km`).

    With ``groups`` (a code >= 0 per target, e.g. its IUCN category), only the pairs needed for the
    nearest target of each (site, group) within ``radius_km`` are returned beyond ``all_within_km``
    (every pair within ``all_within_km`` still is): a pair whose lower bound from bounding caps
    (:func:`geo._kernels.closest.pair_bounds_km`) exceeds the smallest upper bound of its
    (site, group) is dropped before any walk, and the nearest of each (site, group) is exact.
    The pairs within ``all_within_km`` come out in the order they have without ``groups``, so
    that anything summed over them is summed in the same order.
    """
    if groups is None or not np.any(radius_km > all_within_km):
        ps, pt = _candidates(sites, tg, radius_km)
    else:
        ps, pt = _candidates(sites, tg, np.minimum(radius_km, all_within_km))
        ps2, pt2 = _candidates(sites, tg, radius_km)  # the ring beyond, after them
        ring = ~kclosest.in_site_lists(len(sites.sub_start) - 1, ps, pt, ps2, pt2)
        ps, pt = np.concatenate([ps, ps2[ring]]), np.concatenate([pt, pt2[ring]])
    hit = np.zeros(len(ps), dtype=bool)
    if inside is not None and len(inside[0]):
        in_site = np.zeros(len(sites.geoms), dtype=bool)
        in_site[inside[0]] = True
        cand = np.flatnonzero(in_site[ps])
        n = max(len(tg), 1)
        hit[cand] = np.isin(ps[cand] * n + pt[cand], inside[0] * n + inside[1])
    pair_group = None
    if groups is not None and len(ps):
        reuse, local = flat_for(tg, pt, reuse)
        uniq, cap_of = subset(len(reuse.flat.tgt_blk) - 1, local)
        caps = kflat.target_caps(reuse.flat, uniq)
        keep = kclosest.needed_for_groups(sites.points, ps, cap_of, caps, groups[pt], hit, radius_km, all_within_km)
        ps, pt, hit = ps[keep], pt[keep], hit[keep]
        pair_group = groups[pt]
    # inside pairs are at 0 km: walking a huge outline (a basin-wide rainforest polygon) for
    # every site inside it would cost seconds for nothing
    dist = np.zeros(len(ps))
    out = ~hit
    group_out = pair_group[out] if pair_group is not None else None
    dist[out], fs = exact_km(sites, tg, ps[out], pt[out], radius_km[ps[out]], reuse, thresholds_km, group_out)
    keep = dist <= radius_km[ps]
    return ps[keep], pt[keep], dist[keep], fs


def nearest_all(
    sites: Sites, tg: PreparedTargets, inside: tuple[np.ndarray, np.ndarray] | None, first_radius_km: float = 10.0
) -> tuple[np.ndarray, np.ndarray]:
    n = len(sites.geoms)
    if len(tg) == 0:
        return np.full(n, np.nan), np.full(n, -1, dtype=np.int64)
    ps, pt, d, _ = pairs_within(sites, tg, np.full(n, first_radius_km), inside)
    best, arg, _ = kclosest.site_reduce(n, ps, pt, d, np.zeros(0))
    return complete_nearest(sites, tg, inside, best, arg)


def _nearest_candidates(sites: Sites, s: np.ndarray, query) -> tuple[np.ndarray, np.ndarray]:
    """(site, tree entry) pairs from a degree-space nearest query (``query(geoms)`` -> (input, entry) indices) of
    sites ``s``, and of their copies 360° east or west for the sites within 30° of ±180°.

    Any candidate bounds the answer (every target within it is then measured): the copies only sharpen it near
    ±180°; elsewhere a copy 360° away costs the tree's longest searches (54k sites outside every country: 14.9 s
    of the first 1M-site run for three queries each) for a bound seldom sharper."""
    b = sites.bounds[s]
    out_s, out_e = [], []
    for shift, near_seam in ((0.0, None), (-360.0, b[:, 2] > 150.0), (360.0, b[:, 0] < -150.0)):
        q = s if near_seam is None else s[near_seam]
        if len(q) == 0:
            continue
        geoms = sites.geoms[q] if shift == 0.0 else _shifted(sites.geoms[q], shift)
        qi, qe = query(geoms)
        out_s.append(q[qi])
        out_e.append(qe)
    return np.concatenate(out_s), np.concatenate(out_e)


def complete_nearest(
    sites: Sites,
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
        cand_s, entry = _nearest_candidates(sites, todo, tg.tree.query_nearest)
        cs, ct = unique_pairs(cand_s, tg.owners(entry), len(tg))
        d0, _ = exact_km(sites, tg, cs, ct, np.full(len(cs), np.inf))
        ub = kclosest.min_at(n, cs, d0)
        radius = np.full(n, np.nan)
        radius[todo] = ub[todo] * (1 + 1e-9) + 1e-9
        ps, pt, d, _ = pairs_within(sites, tg, radius, inside)
        b2, a2, _ = kclosest.site_reduce(n, ps, pt, d, np.zeros(0))
        best[todo] = b2[todo]
        arg[todo] = a2[todo]
    best[~np.isfinite(best)] = np.nan
    return best, arg


def _nearest_extended(sites: Sites, tg: PreparedTargets, todo: np.ndarray, best: np.ndarray, arg: np.ndarray) -> None:
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
    proxy = prepare_sites(shapely.point_on_surface(geoms))
    best_p, _ = nearest_all(proxy, tg, None)
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
    pi, pt, _, _ = pairs_within(proxy, tg, radius, None)
    ps = todo[pi]
    # the cutoff lets the kernel skip boundary blocks that cannot be nearer (a 100k-vertex
    # rainforest outline would otherwise be walked whole for every outline vertex of a site)
    d, _ = exact_km(sites, tg, ps, pt, radius[pi])
    b2, a2, _ = kclosest.site_reduce(len(sites.geoms), ps, pt, d, np.zeros(0))
    best[todo] = b2[todo]
    arg[todo] = a2[todo]


@dataclass(frozen=True)
class GroupIndex:
    """One STRtree per group of targets (e.g. per IUCN category) over the entries of the targets'
    own tree (boxes of WKB targets, parts of targets split at ±180°): the nearest target of one
    group is searched among that group's targets only. Build once per layer (:func:`group_index`)."""

    trees: tuple[shapely.STRtree | None, ...]
    owners: tuple[np.ndarray, ...]  # target of each entry of trees[g]
    multi: np.ndarray  # bool per target: more than one entry (it can meet an envelope twice)
    # per group, a k-d tree on unit vectors of sampled boundary vertices of its targets (None when
    # the targets have no flat arrays yet): the distance to any such vertex bounds the nearest
    vertex_trees: tuple[object | None, ...] = ()


def group_index(tg: PreparedTargets, groups: np.ndarray, n_groups: int) -> GroupIndex:
    """A :class:`GroupIndex` of ``tg`` for ``groups`` (a code in [0, n_groups) per target)."""
    entries = np.asarray(tg.tree.geometries, dtype=object)
    owner = tg.owners(np.arange(len(entries)))
    usable = ~(shapely.is_missing(entries) | shapely.is_empty(entries))
    entry_group = np.asarray(groups)[owner]
    trees, owners = [], []
    for g in range(n_groups):
        sel = np.flatnonzero(usable & (entry_group == g))
        trees.append(shapely.STRtree(entries[sel]) if len(sel) else None)
        owners.append(owner[sel])
    multi = np.bincount(owner[usable], minlength=len(tg)) > 1
    return GroupIndex(tuple(trees), tuple(owners), multi, _vertex_trees(tg, np.asarray(groups), n_groups))


_BLOCKS_PER_SAMPLE = 4  # one sampled vertex per this many 16-vertex blocks of a target's boundary


def _vertex_trees(tg: PreparedTargets, groups: np.ndarray, n_groups: int) -> tuple[object | None, ...]:
    """Per group, a k-d tree on the first vertex of every ``_BLOCKS_PER_SAMPLE``-th block of each
    target's flat arrays (empty tuple when ``tg`` has none)."""
    if tg.flat is None or not (tg.flat.remap >= 0).all():
        return ()
    from scipy.spatial import cKDTree

    flat = tg.flat.flat
    pos = tg.flat.remap  # target -> its position in the flat arrays
    b0, b1 = flat.tgt_blk[pos], flat.tgt_blk[pos + 1]
    k = -(-(b1 - b0) // _BLOCKS_PER_SAMPLE)  # ceil: every target with a block has a sample
    owner = np.repeat(np.arange(len(pos)), k)
    step = np.arange(len(owner)) - np.repeat(np.cumsum(k) - k, k)
    v = flat.blk_v0[np.repeat(b0, k) + step * _BLOCKS_PER_SAMPLE]
    xyz = np.column_stack([flat.vx[v], flat.vy[v], flat.vz[v]])
    g = groups[owner]
    # unbalanced, uncompacted trees build 2x faster (0.1 s instead of 0.25 s for the 700k samples of
    # a WDPA-sized layer) and answer these nearest queries as fast; the distances are the same
    return tuple(
        cKDTree(xyz[g == c], balanced_tree=False, compact_nodes=False) if (g == c).any() else None
        for c in range(n_groups)
    )


def nearest_in_groups(
    sites: Sites, tg: PreparedTargets, index: GroupIndex, site: np.ndarray, group: np.ndarray, reach_km: float
) -> np.ndarray:
    """Geodesic distance (km) from ``site[i]`` to the nearest target of group ``group[i]`` within
    ``reach_km``; ``inf`` when none is that close. The sites must intersect no target of their group.

    Per group, as :func:`complete_nearest`: a degree-space nearest query on the group's own tree
    (also across ±180°) gives one candidate whose exact distance D bounds the answer from above;
    then every target of the group within min(D, reach) is measured, exactly where it may be the
    nearest. Only the group's targets near each site are walked: a search of every target out to
    the reach would walk millions of pairs for the sites that have no target of a rare group nearby.
    """
    out = np.full(len(site), np.inf)
    n = len(sites.geoms)
    no_thresholds = np.zeros(0)
    max_deg = 2.0 * reach_km / _LAT_DEG_KM
    for g in np.unique(group):
        tree = index.trees[g]
        if tree is None:
            continue
        sel = np.flatnonzero(group == g)
        s = site[sel]
        if index.vertex_trees:
            radius = np.full(n, np.nan)
            radius[s] = np.minimum(_vertex_bound_km(sites, s, index.vertex_trees[g]), reach_km)
            found = _nearest_within(sites, tg, index, g, radius)[s]
            out[sel] = np.where(found <= reach_km, found, np.inf)
            continue
        # beyond ``max_distance`` (degrees) the reach itself is the bound
        cand_s, entry = _nearest_candidates(
            sites, s, lambda geoms, t=tree: t.query_nearest(geoms, max_distance=max_deg)
        )
        cs, ct = unique_pairs(cand_s, index.owners[g][entry], len(tg))
        d0, _ = exact_km(sites, tg, cs, ct, np.full(len(cs), np.inf), None, no_thresholds)
        ub = kclosest.min_at(n, cs, d0)
        radius = np.full(n, np.nan)
        radius[s] = np.minimum(ub[s] * (1 + 1e-9) + 1e-9, reach_km)
        found = _nearest_within(sites, tg, index, g, radius)[s]
        out[sel] = np.where(found <= reach_km, found, np.inf)
    return out


def _vertex_bound_km(sites: Sites, s: np.ndarray, tree) -> np.ndarray:
    """Upper bound (km) of each site's distance to the nearest target of a vertex tree: the arc to
    the nearest sampled vertex (from the site's first point) times the largest radius of curvature."""
    if tree is None:
        return np.full(len(s), np.inf)
    p = sites.sub_start[s]
    chord, _ = tree.query(np.column_stack([sites.sx[p], sites.sy[p], sites.sz[p]]), workers=-1)
    ang = 2.0 * np.arcsin(np.minimum(np.asarray(chord) / 2.0, 1.0))
    return ang * (R_MAX_KM * (1 + 1e-9)) + 1e-9


def _nearest_within(sites: Sites, tg: PreparedTargets, index: GroupIndex, g: int, radius: np.ndarray) -> np.ndarray:
    """Per site, the distance (km) to the nearest target of group ``g`` within ``radius`` (NaN: not
    searched); ``inf`` where none is within. Exact where it is the nearest (:func:`exact_km`)."""
    n = len(sites.geoms)
    boxes, owner, wrapped, _ = lonlat_envelopes(sites.bounds, radius)
    qi, qe = index.trees[g].query(shapely.box(boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]))
    ps, pt = owner[qi], index.owners[g][qe]
    dup = wrapped[ps] | index.multi[pt]
    if dup.any():  # a target can meet both halves of a wrapped envelope, or meet it by two parts
        s2, t2 = unique_pairs(ps[dup], pt[dup], len(tg))
        ps, pt = np.concatenate([ps[~dup], s2]), np.concatenate([pt[~dup], t2])
    d, _ = exact_km(sites, tg, ps, pt, radius[ps], None, np.zeros(0))
    return kclosest.min_at(n, ps, d)
