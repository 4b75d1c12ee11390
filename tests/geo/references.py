"""Independent references for the AOI and change tests: brute-force geodesic distances with
pyproj.Geod and Lambert azimuthal equal-area areas, sharing no code with geo.zones / geo.proximity."""

from __future__ import annotations

import numpy as np
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

GEOD = pyproj.Geod(ellps="WGS84")


def ref_distance_km(lon: float, lat: float, geom: BaseGeometry, step_deg: float = 0.0005) -> float:
    """Geodesic distance (km) from a point to a geometry whose edges are straight in lon/lat (RFC 7946).

    0 inside a polygon; else the minimum ``Geod.inv`` distance to the outline densified every
    ``step_deg`` (the vertex minimum overestimates by about step²/(8·d): < 0.1 m at 10 km).
    """
    pt = shapely.Point(lon, lat)
    if geom.geom_type in ("Polygon", "MultiPolygon") and geom.covers(pt):
        return 0.0
    outline = geom.boundary if geom.geom_type in ("Polygon", "MultiPolygon") else geom
    c = (
        shapely.get_coordinates(shapely.segmentize(outline, step_deg))
        if outline.length
        else shapely.get_coordinates(outline)
    )
    _, _, d = GEOD.inv(np.full(len(c), lon), np.full(len(c), lat), c[:, 0], c[:, 1])
    return float(np.min(d) / 1000.0)


def laea_area_km2(geom: BaseGeometry, lon0: float | None = None, lat0: float | None = None) -> float:
    """Area (km²) in a Lambert azimuthal equal-area projection centred on the geometry (or on lon0/lat0)."""
    if geom is None or geom.is_empty:
        return 0.0
    if lon0 is None or lat0 is None:
        c = geom.centroid
        lon0, lat0 = c.x, c.y
    t = pyproj.Transformer.from_crs(
        "EPSG:4326", f"+proj=laea +lat_0={lat0} +lon_0={lon0} +ellps=WGS84 +units=m", always_xy=True
    )
    dense = shapely.segmentize(geom, 0.001)
    projected = shapely.transform(dense, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))
    return float(projected.area / 1e6)


def geod_area_km2(geom: BaseGeometry) -> float:
    """Area (km²) by pyproj.Geod on the outline densified to 0.001° in lon/lat."""
    a, _ = GEOD.geometry_area_perimeter(shapely.segmentize(geom, 0.001))
    return abs(a) / 1e6
