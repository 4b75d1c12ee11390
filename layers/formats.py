"""The one registry of accepted input file formats (by lower-case extension).

Used by the readers (``layers.readers``, ``layers.protected_areas``), the CLI's input checks
(``app.py``) and the dashboard's uploads (``dashboard.uploads``), so a format accepted in one
place is accepted everywhere it makes sense. Dependency-free.
"""

from __future__ import annotations

DELIMITED_EXTENSIONS: tuple[str, ...] = (".csv", ".tsv", ".txt")
TABLE_EXTENSIONS: tuple[str, ...] = (*DELIMITED_EXTENSIONS, ".xlsx")
PARQUET_EXTENSIONS: tuple[str, ...] = (".parquet", ".geoparquet")
# vector data files GDAL (or pyarrow, for Parquet) reads
VECTOR_FILE_EXTENSIONS: tuple[str, ...] = (
    ".gpkg", ".shp", ".geojson", ".json", ".fgb", ".gml", ".kml", ".sqlite", *PARQUET_EXTENSIONS,
)  # fmt: skip
# vector inputs: a data file or a zip of one (a zipped shapefile, a WDPA download, a zipped .gdb)
VECTOR_EXTENSIONS: tuple[str, ...] = (*VECTOR_FILE_EXTENSIONS, ".zip")
RASTER_EXTENSIONS: tuple[str, ...] = (".tif", ".tiff", ".vrt", ".img", ".nc", ".nc4", ".cdf")

# Site inventories: tables with coordinate columns, or vector files of points / polygons.
SITE_EXTENSIONS: tuple[str, ...] = (
    *TABLE_EXTENSIONS, ".geojson", ".json", ".gpkg", ".shp", ".zip", *PARQUET_EXTENSIONS, ".kml",
)  # fmt: skip

# A browser upload is one file: formats made of several files (a bare .shp needs its .shx, .dbf
# and .prj) come zipped.
MULTI_FILE_EXTENSIONS: tuple[str, ...] = (".shp",)
SITE_UPLOAD_EXTENSIONS: tuple[str, ...] = tuple(e for e in SITE_EXTENSIONS if e not in MULTI_FILE_EXTENSIONS)
PROTECTED_AREA_UPLOAD_EXTENSIONS: tuple[str, ...] = tuple(
    e for e in VECTOR_EXTENSIONS if e not in MULTI_FILE_EXTENSIONS
)
UPLOAD_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "sites": SITE_UPLOAD_EXTENSIONS,
    "protected_areas": PROTECTED_AREA_UPLOAD_EXTENSIONS,
    "aoi": PROTECTED_AREA_UPLOAD_EXTENSIONS,  # an area of interest: any vector file (polygons, lines, points)
}

# What the CLI and the dashboard write a risk table as (scoring.writers.write_table), by extension.
OUTPUT_TABLE_EXTENSIONS: tuple[str, ...] = (".csv", ".xlsx", ".geojson", ".gpkg", ".parquet")
