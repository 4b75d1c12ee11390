"""layers.countries.assign_country_iso3: containment, and the geodesic offshore fallback."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

from geo.crs import GEOD, geodesic_point_to_geometry_km
from layers.countries import assign_country_iso3


def _countries(boxes: dict[str, tuple[float, float, float, float]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"iso3": list(boxes), "name": list(boxes), "continent": "x"},
        geometry=[shapely.segmentize(shapely.box(*b), 0.01) for b in boxes.values()],
        crs="EPSG:4326",
    )


def test_inside_offshore_and_far() -> None:
    countries = _countries({"AAA": (10.0, 0.0, 11.0, 1.0)})
    lon10, lat10, _ = GEOD.fwd(11.0, 0.5, 90.0, 10_000.0)  # 10 km off the east coast
    lon30, lat30, _ = GEOD.fwd(11.0, 0.5, 90.0, 30_000.0)  # 30 km off: beyond 25 km
    pts = gpd.GeoSeries(shapely.points([(10.5, 0.5), (lon10, lat10), (lon30, lat30)]), crs="EPSG:4326")
    got = assign_country_iso3(pts, countries)
    assert got.iloc[0] == "AAA" and got.iloc[1] == "AAA" and pd.isna(got.iloc[2])


def test_offshore_point_goes_to_the_geodesically_nearest_country_not_the_nearest_in_degrees() -> None:
    # at 70.5°N a degree of longitude is a third of a degree of latitude: AAA is 0.3° away but
    # about 11 km; BBB is 0.15° away but about 17 km
    countries = _countries({"AAA": (0.0, 70.0, 1.0, 71.0), "BBB": (1.1, 70.65, 2.5, 71.5)})
    p = shapely.Point(1.3, 70.5)
    d_a = geodesic_point_to_geometry_km(p.x, p.y, countries.geometry.iloc[0])
    d_b = geodesic_point_to_geometry_km(p.x, p.y, countries.geometry.iloc[1])
    assert d_a < d_b < 25.0
    got = assign_country_iso3(gpd.GeoSeries([p], crs="EPSG:4326", index=["site"]), countries)
    assert got.loc["site"] == "AAA"


def test_many_points_at_sea_are_assigned_in_one_query() -> None:
    countries = _countries({"AAA": (10.0, 0.0, 11.0, 1.0)})
    lons = [11.0 + 0.001 * k for k in range(1, 2001)]  # 0.1 to 222 km east of the coast
    pts = gpd.GeoSeries(shapely.points([(x, 0.5) for x in lons]), crs="EPSG:4326")
    got = assign_country_iso3(pts, countries)
    ref = [geodesic_point_to_geometry_km(x, 0.5, countries.geometry.iloc[0]) <= 25.0 for x in lons[::100]]
    assert (got.iloc[::100].notna().tolist()) == ref
    assert got.notna().sum() == sum(1 for x in lons if GEOD.inv(11.0, 0.5, x, 0.5)[2] <= 25_000.0)
