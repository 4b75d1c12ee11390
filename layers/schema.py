"""Column names and vocabularies of the normalised layers (documented in docs/data.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geo.vocab import (  # noqa: F401  (re-exported: the loaders' vocabularies, defined once in geo.vocab)
    AMALGAMATION,
    COMMODITIES,
    CYANIDATION,
    IUCN_CATEGORIES,
    LEGACY_PROCESSING,
    MERCURY_USE,
    RETORT,
)

CRS_WGS84 = "EPSG:4326"

# --- sites ------------------------------------------------------------------
SITE_COLUMNS: tuple[str, ...] = (
    "site_id",  # str, unique, stable (generated from content when absent)
    "name",  # str ("" when unknown)
    "country_iso3",  # str ISO 3166-1 alpha-3, or <NA> when outside every country
    "commodity",  # str, one of COMMODITIES (primary)
    "commodities",  # str, all normalised commodities joined by ";"
    "commodity_original",  # str, the value as given (kept for 'other')
    "workers",  # float, NaN when unknown
    "gold_kg_per_yr",  # float, NaN when unknown
    "mercury_use",  # str, one of MERCURY_USE
    "amalgamation",  # str, one of AMALGAMATION (whole_ore, concentrate, none, unknown)
    "retort",  # str, one of RETORT (yes, no, unknown)
    "cyanidation",  # str, one of CYANIDATION (yes, no, unknown)
    "notes",  # str, what the loader changed or inferred in this row ("" when nothing)
    "observed_date",  # datetime64[ns] or NaT
    "source",  # str: file name or dataset name
    "area_km2",  # float, geodesic area of polygon sites, 0.0 for points
    "lon",  # float64, representative point (display), EPSG:4326
    "lat",  # float64
    "geometry",  # Point or (Multi)Polygon, EPSG:4326 (the polygon is kept for proximity)
)

# --- protected areas ------------------------------------------------------------
PA_COLUMNS: tuple[str, ...] = (
    "pa_id",  # str: WDPAID / SITE_ID, or generated
    "pa_pid",  # str: WDPA_PID / SITE_PID, or pa_id
    "name",  # str
    "designation",  # str (DESIG_ENG)
    "iucn_cat",  # str: Ia, Ib, II, III, IV, V, VI, Not Reported, Not Applicable, Not Assigned
    "status",  # str (STATUS)
    "status_yr",  # Int64 or <NA>
    "iso3",  # str
    "marine",  # str: "0" terrestrial, "1" coastal, "2" marine (WDPA codes)
    "site_type",  # str: "PA" or "OECM"
    "rep_area_km2",  # float
    "from_point",  # bool: geometry is a geodesic circle built from a point and REP_AREA
    "geometry",  # (Multi)Polygon, EPSG:4326
)


@dataclass
class LoadResult:
    """What every loader returns: the usable rows and, separately, every row it rejected.

    ``rejected`` keeps the original columns plus ``row_number`` (1-based, as in the
    file, header excluded) and ``reason``. ``warnings`` are human sentences about
    rows that were kept but look suspicious (e.g. swapped latitude/longitude).
    """

    data: gpd.GeoDataFrame
    rejected: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["row_number", "reason"]))
    warnings: list[str] = field(default_factory=list)
    source: str = ""
    #: a GeoParquet file holding exactly ``data`` (same rows, order and index), when there is one
    #: (a layer-cache entry); engines that stream or decode WKB themselves read it instead of ``data``
    stored_path: Path | None = None

    @property
    def is_loaded(self) -> bool:
        """Whether ``data`` is in memory (False only for a stored layer not read yet)."""
        return True

    @property
    def n_loaded(self) -> int:
        return len(self.data)

    @property
    def n_rejected(self) -> int:
        return len(self.rejected)

    def summary(self) -> str:
        return f"{self.source}: {self.n_loaded} loaded, {self.n_rejected} rejected"


@dataclass
class WrittenLayer:
    """What a loader that writes its rows to a GeoParquet file itself returns (``layers.cache.cached_layer(stream=)``).

    ``data`` is the file's entry metadata (``kind``, ``as_text``, ``rows``); the rest as in ``LoadResult``.
    """

    data: dict[str, Any]
    rejected: pd.DataFrame
    warnings: list[str]
    source: str = ""
