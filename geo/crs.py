"""The WGS84 ellipsoid: its constants, unit vectors, and geodesic helpers (pyproj.Geod, Karney).

Nothing here measures in degrees: areas and distances are on the ellipsoid. Every other module
takes the ellipsoid's numbers and the unit-vector (n-vector) conversions from here.

The scalar helpers :func:`unit_vector` and :func:`angle_between` are plain Python on floats
(``math``) so that the numba kernels compile them as they are (``geo._kernels``); the array forms
:func:`unit_vectors` and :func:`lonlat_of_unit_vectors` are NumPy. Both forms compute the same
formula (tests tie them together).
"""

from __future__ import annotations

import itertools
import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

GEOD = pyproj.Geod(ellps="WGS84")

#: semi-major axis (km)
WGS84_A_KM = 6378.137
#: flattening
WGS84_F = 1.0 / 298.257223563
#: first eccentricity squared, f (2 - f)
WGS84_E2 = 0.0066943799901413165
#: semi-minor axis (km), a (1 - f)
WGS84_B_KM = WGS84_A_KM * (1.0 - WGS84_F)
#: mean radius (2a + b) / 3 (km), the IUGG's R1
WGS84_MEAN_RADIUS_KM = (2.0 * WGS84_A_KM + WGS84_B_KM) / 3.0
#: smallest radius of curvature, a (1 - e²) (km): the meridian at the equator
R_MIN_KM = WGS84_A_KM * (1.0 - WGS84_E2)
#: largest radius of curvature, a / √(1 - e²) (km): at the poles
R_MAX_KM = WGS84_A_KM / np.sqrt(1.0 - WGS84_E2)


#: pairs from which :func:`geodesic_m` splits its work across threads
GEODESIC_THREAD_MIN = 100_000
_pool: ThreadPoolExecutor | None = None
#: threads of :func:`thread_pool`: one per core, at most 8
POOL_THREADS = min(os.cpu_count() or 1, 8)


def _forget_pool() -> None:
    """In a forked child (gunicorn's workers of a preloaded app, a fork-started process pool) the
    parent's pool threads do not exist: a map on its copy would wait for ever. Start a new one there."""
    global _pool
    _pool = None


os.register_at_fork(after_in_child=_forget_pool)


def thread_pool() -> ThreadPoolExecutor | None:
    """The process's pool of one thread per core (at most 8) for library loops that release the
    GIL (pyproj's geodesics, GEOS's buffers and unions); None on a single core. Started on first
    use; a forked child starts its own. Tasks on it must not wait for other tasks on it."""
    global _pool
    if POOL_THREADS < 2:
        return None
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=POOL_THREADS, thread_name_prefix="geo")
    return _pool


def geodesic_m(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    """Geodesic distance (m) on WGS84 between paired points: ``GEOD.inv``'s third output (Karney).

    From :data:`GEODESIC_THREAD_MIN` pairs the arrays are cut into one slice per core, measured
    in threads (pyproj releases the GIL in its loop): the same numbers, element by element, in
    about half the wall time on two cores (700,000 pairs: 0.35 s against 0.71 s).
    """
    lon1, lat1, lon2, lat2 = (np.asarray(a, dtype=np.float64) for a in (lon1, lat1, lon2, lat2))
    n = len(lon1)
    pool = thread_pool()
    if n < GEODESIC_THREAD_MIN or pool is None:
        return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2], dtype=np.float64)
    cuts = np.linspace(0, n, POOL_THREADS + 1).astype(np.int64)
    parts = [slice(int(a), int(b)) for a, b in itertools.pairwise(cuts)]
    out = np.empty(n)

    def measure(sl: slice) -> None:
        out[sl] = GEOD.inv(lon1[sl], lat1[sl], lon2[sl], lat2[sl])[2]

    list(pool.map(measure, parts))
    return out


def unit_vector(lon_deg: float, lat_deg: float) -> tuple[float, float, float]:
    """Unit vector (n-vector, Earth-centred x, y, z) of a geodetic longitude/latitude in degrees.

    Plain ``math`` on floats: the numba kernels compile this same function.
    """
    d2r = math.pi / 180.0
    lo = lon_deg * d2r
    la = lat_deg * d2r
    cl = math.cos(la)
    return cl * math.cos(lo), cl * math.sin(lo), math.sin(la)


def angle_between(ax: float, ay: float, az: float, bx: float, by: float, bz: float) -> float:
    """Angle (radians) between two unit vectors, accurate at all angles (atan2 of |a × b| and a · b)."""
    cx = ay * bz - az * by
    cy = az * bx - ax * bz
    cz = ax * by - ay * bx
    return math.atan2(math.sqrt(cx * cx + cy * cy + cz * cz), ax * bx + ay * by + az * bz)


def unit_vectors(lon_deg: np.ndarray, lat_deg: np.ndarray) -> np.ndarray:
    """Unit vectors (n, 3) of geodetic longitudes/latitudes in degrees (array form of :func:`unit_vector`)."""
    lon = np.radians(lon_deg)
    lat = np.radians(lat_deg)
    cos_lat = np.cos(lat)
    return np.column_stack([cos_lat * np.cos(lon), cos_lat * np.sin(lon), np.sin(lat)])


def lonlat_of_unit_vectors(xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Geodetic longitude and latitude (degrees) of unit vectors (n, 3); the inverse of :func:`unit_vectors`."""
    x, y, z = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    return np.degrees(np.arctan2(y, x)), np.degrees(np.arctan2(z, np.hypot(x, y)))


def geodesic_area_km2(geoms: np.ndarray | list[BaseGeometry] | object) -> np.ndarray:
    """Geodesic area of each geometry.

    Parameters
    ----------
    geoms : array-like of shapely geometries in EPSG:4326 (lon, lat degrees)

    Returns
    -------
    numpy.ndarray of float64, km². Points and lines give 0; None gives NaN.
    """
    arr = np.asarray(getattr(geoms, "values", geoms), dtype=object)
    out = np.full(len(arr), np.nan)
    for i, g in enumerate(arr):
        if g is None:
            continue
        if g.is_empty or g.geom_type not in ("Polygon", "MultiPolygon", "GeometryCollection"):
            out[i] = 0.0
            continue
        area_m2, _ = GEOD.geometry_area_perimeter(shapely.force_2d(g))
        out[i] = abs(area_m2) / 1e6
    return out


def geodesic_circle(lon: float, lat: float, radius_km: float, n_vertices: int = 64) -> BaseGeometry:
    """Polygon of points at geodesic distance ``radius_km`` around (lon, lat).

    Used to give WDPA point records a footprint of their reported area. Longitudes
    are unwrapped around the centre, so a circle across the antimeridian is split
    into a MultiPolygon on either side of ±180°.
    """
    az = np.linspace(0.0, 360.0, n_vertices, endpoint=False)
    lons, lats, _ = GEOD.fwd(
        np.full(n_vertices, lon), np.full(n_vertices, lat), az, np.full(n_vertices, radius_km * 1000.0)
    )
    lons, lats = np.asarray(lons), np.asarray(lats)
    for pole in (90.0, -90.0):
        if GEOD.inv(lon, lat, lon, pole)[2] < radius_km * 1000.0:
            return _polar_cap(lons, lats, pole)
    lons = lon + ((lons - lon + 180.0) % 360.0) - 180.0
    ring = shapely.Polygon(np.column_stack([lons, lats]))
    if lons.min() >= -180.0 and lons.max() <= 180.0:
        return ring
    parts = []
    for shift in (-360.0, 0.0, 360.0):
        moved = shapely.affinity.translate(ring, xoff=shift)
        part = moved.intersection(shapely.box(-180.0, -90.0, 180.0, 90.0))
        if not part.is_empty:
            parts.append(part)
    return shapely.union_all(parts)


def _polar_cap(lons: np.ndarray, lats: np.ndarray, pole: float) -> BaseGeometry:
    """A circle that contains a pole, as the lon/lat polygon between its edge and the pole.

    Its vertices are sorted by longitude, closed along ±180° (interpolating the edge's
    latitude there) and along the pole's parallel, so the polygon covers the centre.
    """
    order = np.argsort(lons)
    lo, la = lons[order], lats[order]
    w = (180.0 - lo[-1]) / (lo[0] + 360.0 - lo[-1])
    edge = la[-1] + w * (la[0] - la[-1])
    xs = np.r_[-180.0, lo, 180.0, 180.0, -180.0]
    ys = np.r_[edge, la, edge, pole, pole]
    return shapely.Polygon(np.column_stack([xs, ys]))


def geodesic_point_to_geometry_km(lon: float, lat: float, geom: BaseGeometry, spacing_km: float = 0.5) -> float:
    """Reference distance (km) from a point to a geometry: 0 inside, else to its boundary.

    Slow but simple: densifies the boundary geodesically to ``spacing_km`` and takes
    the minimum ellipsoidal distance to the vertices. Used for single lookups and as
    the independent check of the fast engine in tests.
    """
    if geom is None or geom.is_empty:
        return float("nan")
    pt = shapely.Point(lon, lat)
    if geom.geom_type in ("Polygon", "MultiPolygon") and geom.covers(pt):
        return 0.0
    target = geom.boundary if geom.geom_type in ("Polygon", "MultiPolygon") else geom
    coords = _densified_coords(target, spacing_km)
    if len(coords) == 0:
        return float("nan")
    _, _, dist_m = GEOD.inv(np.full(len(coords), lon), np.full(len(coords), lat), coords[:, 0], coords[:, 1])
    return float(np.min(dist_m) / 1000.0)


def _densified_coords(geom: BaseGeometry, spacing_km: float) -> np.ndarray:
    """Vertices of a line/point geometry with geodesic intermediate points every ``spacing_km``."""
    out: list[np.ndarray] = []
    parts = getattr(geom, "geoms", [geom])
    for part in parts:
        c = np.asarray(shapely.get_coordinates(part))
        if part.geom_type == "Point" or len(c) < 2:
            out.append(c)
            continue
        pieces = [c[:1]]
        for (x0, y0), (x1, y1) in itertools.pairwise(c):
            _, _, d = GEOD.inv(x0, y0, x1, y1)
            n = int(d / 1000.0 / spacing_km)
            if n > 0:
                mid = np.asarray(GEOD.npts(x0, y0, x1, y1, n))
                pieces.append(mid)
            pieces.append(np.array([[x1, y1]]))
        out.append(np.vstack(pieces))
    return np.vstack(out) if out else np.empty((0, 2))
