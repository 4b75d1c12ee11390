"""Country boundaries for ISO3 assignment, country filters and the offline basemap.

The built-in source is Natural Earth 1:110m ("naturalearth_lowres", public domain),
which ships inside the pyogrio wheel that requirements.txt installs, so it works
offline on a fresh machine. A better file (e.g. Natural Earth 1:50m admin-0, fetched
by ``python app.py fetch-data`` or given with ``ASM_COUNTRIES_PATH``) can replace it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from layers.errors import LayerError
from layers.readers import pick_column
from layers.schema import CRS_WGS84

COUNTRY_COLUMNS = ("iso3", "name", "continent", "geometry")

# Natural Earth marks a few sovereign states with ISO_A3 = -99 for reasons of
# disputed territories; these are the codes used by ISO 3166-1 (and by the UN),
# plus the user-assigned code XKX for Kosovo used by the EU and World Bank.
_ISO3_FIXES = {"France": "FRA", "Norway": "NOR", "Kosovo": "XKX", "N. Cyprus": "CYN", "Somaliland": "SOL"}


def builtin_countries_path() -> Path:
    """Path of the Natural Earth 1:110m countries shapefile shipped in the pyogrio wheel."""
    return Path(pyogrio.__file__).parent / "tests" / "fixtures" / "naturalearth_lowres" / "naturalearth_lowres.shp"


def normalise_countries(frame: gpd.GeoDataFrame, path: str | Path = "") -> gpd.GeoDataFrame:
    """Map a Natural-Earth-like admin-0 table to columns iso3, name, continent, geometry."""
    name_col = pick_column(frame.columns, ("NAME", "ADMIN", "NAME_LONG", "name_en", "country"))
    iso_col = pick_column(frame.columns, ("ISO_A3_EH", "ISO_A3", "ADM0_A3", "iso3", "iso_a3", "GID_0"))
    if name_col is None or iso_col is None:
        raise LayerError(
            path,
            f"no country name / ISO3 column among {list(frame.columns)[:20]}",
            "give a Natural Earth admin-0 file (columns NAME and ISO_A3) or one with 'name' and 'iso3' columns",
        )
    cont_col = pick_column(frame.columns, ("CONTINENT", "continent", "REGION_UN"))
    out = gpd.GeoDataFrame(
        {
            "iso3": frame[iso_col].astype("string").str.upper().str.strip(),
            "name": frame[name_col].astype("string"),
            "continent": frame[cont_col].astype("string")
            if cont_col
            else pd.Series(pd.NA, index=frame.index, dtype="string"),
        },
        geometry=frame.geometry.values,
        crs=frame.crs or CRS_WGS84,
    )
    bad = out["iso3"].isna() | ~out["iso3"].str.fullmatch(r"[A-Z]{3}").fillna(False)
    out.loc[bad, "iso3"] = out.loc[bad, "name"].map(_ISO3_FIXES)
    out = out[out["iso3"].notna() & out.geometry.notna() & ~out.geometry.is_empty]
    if out.crs is not None and not out.crs.equals(CRS_WGS84):
        out = out.to_crs(CRS_WGS84)
    out["geometry"] = out.geometry.make_valid()
    # one row per ISO3 (Natural Earth 50m splits some countries into parts)
    out = out.dissolve(by="iso3", as_index=False, aggfunc="first")
    return out[list(COUNTRY_COLUMNS)].sort_values("name").reset_index(drop=True)


@lru_cache(maxsize=4)
def _load_countries_cached(path: str) -> gpd.GeoDataFrame:
    try:
        frame = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several DataSourceError subclasses
        raise LayerError(
            path, f"cannot read country boundaries ({exc})", "give a readable GeoPackage, Shapefile or GeoJSON"
        ) from exc
    return normalise_countries(frame, path)


def load_countries(path: str | Path | None = None) -> gpd.GeoDataFrame:
    """Country polygons (EPSG:4326) with iso3, name and continent; a copy, safe to modify."""
    return _load_countries_cached(str(path or builtin_countries_path())).copy()


def assign_country_iso3(points: gpd.GeoSeries, countries: gpd.GeoDataFrame, max_offshore_km: float = 25.0) -> pd.Series:
    """ISO3 of the country containing each geometry's representative point.

    Points just off a (generalised) coastline get the geodesically nearest country within
    ``max_offshore_km``, since 1:110m coastlines are coarse; farther points stay <NA>.
    """
    from geo.proximity import nearest_distance_km

    pts = points.to_crs(CRS_WGS84).representative_point()
    frame = gpd.GeoDataFrame(geometry=pts.values, index=points.index, crs=CRS_WGS84)
    joined = gpd.sjoin(frame, countries[["iso3", "geometry"]], how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    iso = joined["iso3"].astype("string").reindex(points.index)
    missing = (iso.isna() & pts.notna() & ~pts.is_empty).to_numpy()
    if missing.any() and len(countries):
        # one vectorised geodesic nearest-boundary query (no degrees involved), not a loop per point
        dist_km, nearest = nearest_distance_km(pts.values[missing], countries.geometry.values)
        ok = (nearest >= 0) & np.isfinite(dist_km) & (dist_km <= max_offshore_km)
        rows = np.flatnonzero(missing)[ok]
        iso.iloc[rows] = countries["iso3"].to_numpy()[nearest[ok]]
    return iso
