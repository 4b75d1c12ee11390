"""Polar regions (the Arctic) tested and measured without ever reprojecting the pole to lon/lat.

A region is either latitude-bounded (everything north of ``min_lat``, e.g. the Arctic
Circle) or a set of polygons kept in their native polar CRS (e.g. the AMAP area in
EPSG:3995 or EPSG:3413). A pole-containing polygon has no faithful EPSG:4326 form, so
inside tests project the *points* into the polygons' CRS, and distances are taken
geodesically to the boundary *vertices* (densified in the native CRS, then converted
one by one to lon/lat).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from scipy.spatial import cKDTree

from geo.crs import geodesic_m, unit_vectors

# Candidates taken from the k-d tree (spherical chord distance) before the exact
# ellipsoidal distance picks the nearest. Sphere and ellipsoid rank vertices
# differently by at most ~0.7 % of the distance, so with 1 km vertex spacing 16
# candidates (≈ ±8 km of boundary) cannot miss a nearer vertex for points closer
# than ~1,200 km; beyond that the error stays below 0.7 % of the distance.
_N_CANDIDATES = 16


@dataclass(frozen=True)
class PolarRegion:
    """A polar region: north of ``min_lat`` or inside ``polygons`` (kept in their native CRS).

    Parameters
    ----------
    min_lat : float, optional
        Latitude bound in degrees (e.g. 66.5634 for the Arctic Circle); the region is
        ``lat >= min_lat``.
    polygons : geopandas.GeoSeries, optional
        (Multi)Polygons with a CRS (a polar one such as EPSG:3995 or EPSG:3413 when
        they contain the pole). Never reprojected as polygons.
    densify_km : float
        Maximum spacing of boundary vertices, km (approximately: the spacing is set in
        the native CRS units, whose scale varies by a few per cent in polar
        stereographic projections). Bounds the distance error to about half of it.

    Exactly one of ``min_lat`` and ``polygons`` must be given.
    """

    min_lat: float | None = None
    polygons: gpd.GeoSeries | None = None
    densify_km: float = 1.0
    _union: object = field(init=False, repr=False, compare=False, default=None)
    _vertices_lonlat: np.ndarray | None = field(init=False, repr=False, compare=False, default=None)
    _tree: cKDTree | None = field(init=False, repr=False, compare=False, default=None)
    _to_native: pyproj.Transformer | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        if (self.min_lat is None) == (self.polygons is None):
            raise ValueError("PolarRegion needs exactly one of min_lat (degrees) or polygons (GeoSeries with a CRS)")
        if self.min_lat is not None:
            if not -90.0 <= float(self.min_lat) <= 90.0:
                raise ValueError(f"min_lat must be a latitude in degrees, got {self.min_lat}")
            return
        polys = self.polygons
        if polys.crs is None:
            raise ValueError("PolarRegion polygons need a CRS (e.g. EPSG:3995); none is set")
        if len(polys) == 0:
            raise ValueError("PolarRegion polygons are empty")
        if self.densify_km <= 0:
            raise ValueError(f"densify_km must be positive, got {self.densify_km}")
        union = shapely.union_all(shapely.make_valid(np.asarray(polys.values)))
        shapely.prepare(union)
        crs = pyproj.CRS.from_user_input(polys.crs)
        if crs.is_projected:
            unit_m = crs.axis_info[0].unit_conversion_factor
            spacing = self.densify_km * 1000.0 / unit_m
        else:
            spacing = self.densify_km / 111.0
        boundary = shapely.segmentize(union.boundary, spacing)
        xy = shapely.get_coordinates(boundary)
        to_lonlat = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        lon, lat = to_lonlat.transform(xy[:, 0], xy[:, 1])
        lonlat = np.column_stack([lon, lat])
        lonlat = lonlat[np.isfinite(lonlat).all(axis=1)]
        lonlat = np.unique(np.round(lonlat, 9), axis=0)
        object.__setattr__(self, "_union", union)
        object.__setattr__(self, "_vertices_lonlat", lonlat)
        object.__setattr__(self, "_tree", cKDTree(unit_vectors(lonlat[:, 0], lonlat[:, 1])))
        object.__setattr__(self, "_to_native", pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True))

    @property
    def boundary_lonlat(self) -> np.ndarray:
        """Boundary vertices as an (n, 2) array of lon, lat degrees (empty for a latitude bound)."""
        if self._vertices_lonlat is None:
            return np.empty((0, 2))
        return self._vertices_lonlat.copy()

    def contains(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Whether each point lies in the region (boundary included).

        Parameters
        ----------
        lon, lat : array-like of float, degrees (EPSG:4326)

        Returns
        -------
        numpy.ndarray of bool; False for NaN coordinates.
        """
        lon, lat = _as_arrays(lon, lat)
        finite = np.isfinite(lon) & np.isfinite(lat)
        if self.min_lat is not None:
            return finite & (np.where(finite, lat, -np.inf) >= self.min_lat)
        out = np.zeros(len(lon), dtype=bool)
        if finite.any():
            x, y = self._to_native.transform(lon[finite], lat[finite])
            x = np.asarray(x, dtype=float)
            y = np.asarray(y, dtype=float)
            ok = np.isfinite(x) & np.isfinite(y)
            inside = np.zeros(len(x), dtype=bool)
            inside[ok] = shapely.intersects_xy(self._union, x[ok], y[ok])
            out[finite] = inside
        return out

    def distance_km(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Geodesic distance (WGS84 ellipsoid) from each point to the region, km.

        Parameters
        ----------
        lon, lat : array-like of float, degrees (EPSG:4326)

        Returns
        -------
        numpy.ndarray of float64, km: 0 inside, else the distance to the region's
        boundary (for a latitude bound, the meridian arc to ``min_lat``); NaN for NaN
        coordinates. For polygons the error is at most about half of ``densify_km``.
        """
        lon, lat = _as_arrays(lon, lat)
        out = np.full(len(lon), np.nan)
        finite = np.isfinite(lon) & np.isfinite(lat)
        inside = self.contains(lon, lat)
        out[inside] = 0.0
        todo = finite & ~inside
        if not todo.any():
            return out
        lo, la = lon[todo], lat[todo]
        if self.min_lat is not None:
            d_m = geodesic_m(lo, la, lo, np.full(len(lo), float(self.min_lat)))
            out[todo] = np.abs(d_m) / 1000.0
            return out
        verts = self._vertices_lonlat
        k = min(_N_CANDIDATES, len(verts))
        _, idx = self._tree.query(unit_vectors(lo, la), k=k)
        idx = np.asarray(idx).reshape(len(lo), k)
        cand = verts[idx]  # (n, k, 2)
        d_m = geodesic_m(np.repeat(lo, k), np.repeat(la, k), cand[:, :, 0].ravel(), cand[:, :, 1].ravel())
        out[todo] = d_m.reshape(len(lo), k).min(axis=1) / 1000.0
        return out


def _as_arrays(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lon = np.atleast_1d(np.asarray(lon, dtype=np.float64))
    lat = np.atleast_1d(np.asarray(lat, dtype=np.float64))
    if lon.shape != lat.shape:
        raise ValueError(f"lon and lat must have the same shape, got {lon.shape} and {lat.shape}")
    return lon.ravel(), lat.ravel()
