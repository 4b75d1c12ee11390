"""Protected areas: the WDPA natively (both the pre-2025 and the 2025 WDPA/OECM field sets), or any polygon file.

Reads a File Geodatabase (``.gdb`` directory or zipped), a GeoPackage (all point and
polygon layers), GeoJSON, Shapefile, and the WDPA shapefile download (a zip holding
``..._shp_0.zip``, ``_1.zip``, ``_2.zip``, each with a points and a polygons
shapefile): every part is read and concatenated. Archives are extracted only by
``layers.guard.extracted_zip`` (private temporary directory, checked member paths,
size, member-count and zip-bomb limits shared by nested zips).

WDPA practice followed: sites with STATUS 'Proposed' or 'Not Reported' are excluded
unless ``include_proposed=True``; sites reported only as points get a geodesic circle
of their reported area (REP_AREA, km²). Nothing disappears silently: every excluded
row is in ``LoadResult.rejected`` with its reason.

The WDPA may not be redistributed: users download it themselves from
protectedplanet.net (see docs/data.md); the project never ships it.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from shapely.geometry.base import BaseGeometry

from geo.crs import geodesic_circle
from layers.batches import DEFAULT_BATCH_ROWS, GeoParquetParts, layer_batches
from layers.cache import write_frame
from layers.errors import LayerError
from layers.formats import PARQUET_EXTENSIONS, VECTOR_FILE_EXTENSIONS
from layers.guard import ZipLimits, check_content, extracted_zip, harden_gdal, looks_remote
from layers.readers import pick_column
from layers.schema import CRS_WGS84, PA_COLUMNS, LoadResult, WrittenLayer
from layers.site_columns import looks_like_sites, sites_in_protected_area_slot_warning

EXCLUDED_STATUSES = ("proposed", "not reported")

# Source columns tried for each schema column, in order, case-insensitively. WDPA names
# come first (the 2025 WDPA/OECM names before the older ones where both exist).
FIELD_GUESSES: dict[str, tuple[str, ...]] = {
    "pa_id": ("SITE_ID", "WDPAID", "pa_id", "wdpa_id", "id", "id_field", "site_code"),
    "pa_pid": ("SITE_PID", "WDPA_PID", "pa_pid"),
    "name": ("NAME_ENG", "NAME", "name_field", "nom", "nome", "nombre", "site_name", "pa_name", "ORIG_NAME", "name_en"),
    "designation": ("DESIG_ENG", "DESIG", "designation", "type_field", "desig_type", "categoria", "category", "type"),
    "iucn_cat": ("IUCN_CAT", "iucn", "iucn_category", "iucncat"),
    "status": ("STATUS", "status_field", "estado"),
    "status_yr": ("STATUS_YR", "status_year"),
    "iso3": ("ISO3", "PRNT_ISO3", "PARENT_ISO3", "PARENT_ISO", "iso_a3"),
    "marine": ("MARINE", "REALM"),
    "site_type": ("SITE_TYPE", "PA_DEF"),
    "rep_area_km2": ("REP_AREA", "rep_area_km2", "area_km2"),
}
FIELD_MAP_KEYS: tuple[str, ...] = tuple(FIELD_GUESSES)
_REALM_CODES = {"terrestrial": "0", "coastal": "1", "marine": "2", "0": "0", "1": "1", "2": "2"}


def _read_geoparquet(path: Path) -> gpd.GeoDataFrame:
    """A GeoParquet file (read with pyarrow: GDAL's Parquet driver may be absent)."""
    try:
        return gpd.read_parquet(path)
    except ValueError as exc:  # no 'geo' metadata: a plain table
        raise LayerError(
            path, f"this Parquet file is not GeoParquet ({exc})", "write it with geopandas' to_parquet (WKB geometry)"
        ) from exc
    except Exception as exc:  # pyarrow.ArrowInvalid and friends
        raise LayerError(path, f"cannot read the Parquet file ({exc})", "check that the file is complete") from exc


# --- reading: containers, archives, layers -----------------------------------------------


def _datasets_in(folder: Path) -> list[Path]:
    """Vector datasets under ``folder``: .gdb directories and data files outside them, sorted."""
    gdbs = sorted(p for p in folder.rglob("*") if p.is_dir() and p.suffix.lower() == ".gdb")
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and p.suffix.lower() in VECTOR_FILE_EXTENSIONS
        and not any(parent in gdbs for parent in p.parents)
        and not p.name.startswith("._")
    )
    return gdbs + files


def _spatial_layers(path: Path, layer: str | None) -> list[str | None]:
    """Layers of a dataset to read: all point/polygon layers of a multi-layer container, or ``layer``."""
    if path.suffix.lower() in PARQUET_EXTENSIONS:  # one table per file
        return [None]
    try:
        listing = pyogrio.list_layers(path)
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        raise LayerError(
            path,
            f"cannot be opened as vector data ({exc})",
            "give a GeoPackage, .gdb, Shapefile, GeoJSON, GeoParquet or zip",
        ) from exc
    names = [str(n) for n, _ in listing]
    if layer is not None:
        if layer not in names:
            raise LayerError(path, f"layer '{layer}' not found; layers are {names}", "pick one of the listed layers")
        return [layer]
    if len(listing) == 1:
        return [None]
    # Skip attribute tables (no geometry) and pure line layers; keep points, polygons and
    # layers of unknown/generic geometry type (rows are then checked one by one).
    return [str(n) for n, g in listing if g is not None and not ("LineString" in str(g) and "Polygon" not in str(g))]


@contextlib.contextmanager
def _layer_sources(
    path: str | Path, layer: str | None, zip_limits: ZipLimits
) -> Iterator[list[tuple[str, Path, str | None]]]:
    """``(label, dataset, layer)`` of every point/polygon layer candidate, valid inside the block.

    Archives are extracted by ``layers.guard.extracted_zip`` (checked member paths, size and
    ratio limits) into a private temporary directory removed when the block ends. Every data
    file's signature is checked before GDAL opens it.
    """
    path = Path(path)
    if looks_remote(path):
        raise LayerError(
            path, "this is a URL, a GDAL virtual path or a connection string", "download the data and give the file"
        )
    if not path.exists():
        raise LayerError(path, "file not found", "check the path")
    harden_gdal()
    with contextlib.ExitStack() as stack:
        tmp: Path | None = None
        if path.is_file() and path.suffix.lower() == ".zip":
            check_content(path)
            tmp = stack.enter_context(extracted_zip(path, zip_limits))
            datasets = _datasets_in(tmp)
            if not datasets:
                raise LayerError(
                    path, "no vector data (.gdb, .gpkg, .shp, .geojson) inside the zip", "zip the data file itself"
                )
        elif path.is_dir() and path.suffix.lower() != ".gdb":
            datasets = _datasets_in(path)
            if not datasets:
                raise LayerError(path, "no vector data in this folder", "give the data file itself")
        else:
            datasets = [path]
        for ds in datasets:
            if ds.is_file():
                check_content(ds)
        sources = []
        for ds in datasets:
            for lyr in _spatial_layers(
                ds, layer if len(datasets) == 1 or ds.suffix.lower() in (".gdb", ".gpkg") else None
            ):
                label = ds.name if tmp is None else str(ds.relative_to(tmp))
                sources.append((label if lyr is None else f"{label}:{lyr}", ds, lyr))
        yield sources


def read_vector_layers(
    path: str | Path, layer: str | None = None, *, zip_limits: ZipLimits
) -> Iterator[tuple[str, gpd.GeoDataFrame]]:
    """Yield ``(label, frame)`` for every point/polygon layer of a file, .gdb, GeoPackage or (nested) zip.

    A zip is extracted for as long as the frames are read (they are in memory by then).
    """
    found = False
    with _layer_sources(path, layer, zip_limits) as sources:
        for label, ds, lyr in sources:
            if ds.suffix.lower() in PARQUET_EXTENSIONS:
                yield label, _read_geoparquet(ds)
                found = True
                continue
            try:
                frame = gpd.read_file(ds, layer=lyr, engine="pyogrio", use_arrow=True)
            except Exception as exc:  # pyogrio / GDAL errors vary by driver
                raise LayerError(
                    ds, f"layer {lyr!r} cannot be read ({exc})", "check that the file is complete"
                ) from exc
            if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame.columns:
                continue
            found = True
            yield label, frame
    if not found:
        raise LayerError(path, "no point or polygon layer found", "give a file with point or polygon features")


def _looks_lonlat(bounds: np.ndarray) -> bool:
    minx, miny, maxx, maxy = bounds
    return bool(minx >= -180.0 and maxx <= 360.0 and miny >= -90.0 and maxy <= 90.0)


def _no_crs_warning(path: str | Path) -> str:
    return f"{path}: no CRS given; coordinates look like longitude/latitude and were taken as EPSG:4326"


def _no_crs_error(path: str | Path) -> LayerError:
    return LayerError(
        path, "no CRS and the coordinates are not longitude/latitude", "save the file with its CRS (e.g. a .prj)"
    )


def to_wgs84(frame: gpd.GeoDataFrame, path: str | Path, warnings: list[str]) -> gpd.GeoDataFrame:
    """Frame in EPSG:4326; a frame without CRS is accepted only when its coordinates look like lon/lat."""
    if frame.crs is None:
        if len(frame) == 0:
            return frame.set_crs(CRS_WGS84)
        if _looks_lonlat(frame.total_bounds):
            warnings.append(_no_crs_warning(path))
            return frame.set_crs(CRS_WGS84)
        raise _no_crs_error(path)
    if frame.crs.equals(CRS_WGS84):
        return frame
    return frame.to_crs(CRS_WGS84)


# --- normalisation -------------------------------------------------------------------------------


def _resolve_fields(columns: list[str], field_map: dict[str, str] | None, path: str | Path) -> dict[str, str | None]:
    field_map = dict(field_map or {})
    unknown = sorted(set(field_map) - set(FIELD_MAP_KEYS))
    if unknown:
        raise LayerError(
            path,
            f"field_map keys {unknown} are not protected-area schema columns",
            f"use keys among {list(FIELD_MAP_KEYS)}",
        )
    missing = {k: v for k, v in field_map.items() if v not in columns}
    if missing:
        raise LayerError(
            path,
            f"field_map names columns {sorted(missing.values())} that are not in the file",
            f"use columns among {columns[:40]}",
        )
    return {key: field_map.get(key) or pick_column(columns, guesses) for key, guesses in FIELD_GUESSES.items()}


def _text(series: pd.Series | None, index: pd.Index, default: str = "") -> pd.Series:
    if series is None:
        return pd.Series(default, index=index, dtype="str")
    if pd.api.types.is_string_dtype(series.dtype) and not pd.api.types.is_object_dtype(series.dtype):
        return series.astype("str").fillna(default).str.strip()
    out = series.astype("object")
    out = out.map(lambda v: default if v is None or (isinstance(v, float) and math.isnan(v)) else _fmt(v))
    return out.astype("str").str.strip()


def _fmt(v: object) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _polygonal(g: BaseGeometry) -> BaseGeometry | None:
    """Polygonal part of a geometry (after make_valid): Polygon/MultiPolygon, or None."""
    if g is None or g.is_empty:
        return None
    if g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    if g.geom_type == "GeometryCollection":
        parts = [p for p in (_polygonal(x) for x in g.geoms) if p is not None]
        return shapely.union_all(parts) if parts else None
    return None


def _stable_id(name: str, geom: BaseGeometry | None) -> str:
    h = hashlib.sha1(name.encode("utf-8"))
    if geom is not None:
        h.update(shapely.to_wkb(geom, hex=False, output_dimension=2, include_srid=False))
    return "gen-" + h.hexdigest()[:12]


@dataclass
class _LayerState:
    """What the normalisation of one layer carries from batch to batch, so batches give the whole layer's rows."""

    path: str
    include_proposed: bool
    field_map: dict[str, str] | None
    fields: dict[str, str | None] | None = None
    rows: int = 0  # rows of the layer seen so far: the row numbers of the next batch follow them
    n_repaired: int = 0
    n_excluded: int = 0
    n_from_point: int = 0
    generated: dict[str, int] = field(default_factory=dict)  # generated id -> times generated
    first_name: dict[str, str] = field(default_factory=dict)  # id -> the first name seen with it
    clashes: set[str] = field(default_factory=set)  # ids seen with different names
    pid_rank: dict[str, int] = field(default_factory=dict)  # pa_pid -> times seen (without a pid column)

    def warnings(self) -> list[str]:
        """The layer's warnings (one each, counts over the whole layer), once every batch is normalised."""
        path, out = self.path, []
        if self.n_repaired:
            out.append(f"{path}: {self.n_repaired} invalid polygon(s) repaired with make_valid (polygonal parts kept)")
        has_id = self.fields is not None and self.fields["pa_id"] is not None
        has_pid = self.fields is not None and self.fields["pa_pid"] is not None
        if self.rows and not has_id:
            out.append(f"{path}: no id column found; stable ids generated from name and geometry")
        if self.clashes:
            clashes = sorted(self.clashes)
            out.append(
                f"{path}: {len(clashes)} id(s) shared by differently named features (e.g. {clashes[:3]}); "
                + ("pa_pid is made unique by appending '#2', '#3'..." if not has_pid else "check the id column")
            )
        if self.n_excluded:
            verb = "kept (include_proposed)" if self.include_proposed else "excluded"
            out.append(f"{path}: {self.n_excluded} site(s) with status Proposed / Not Reported {verb}")
        if self.n_from_point:
            out.append(f"{path}: {self.n_from_point} point site(s) given a geodesic circle of their reported area")
        return out

    def note_names(self, pa_id: pd.Series, name: pd.Series) -> None:
        """Remember which ids are shared by differently named features (over all batches)."""
        pairs = pd.DataFrame({"id": pa_id, "name": name}).drop_duplicates()
        for i, n in zip(pairs["id"].tolist(), pairs["name"].tolist(), strict=True):
            first = self.first_name.setdefault(i, n)
            if first != n:
                self.clashes.add(i)


def _normalise_batch(frame: gpd.GeoDataFrame, state: _LayerState) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """One batch of a layer in the PA schema, and its rejected rows (row numbers counted over the layer)."""
    path = state.path
    frame = frame.reset_index(drop=True)
    geom_col = frame.geometry.name
    attrs = [c for c in frame.columns if c != geom_col and not c.startswith("_")]
    if state.fields is None:
        state.fields = _resolve_fields(attrs, state.field_map, path)
    fields = state.fields
    idx = frame.index
    col = {k: (frame[v] if v else None) for k, v in fields.items()}

    name = _text(col["name"], idx)
    status = _text(col["status"], idx)
    iucn = _text(col["iucn_cat"], idx, "Not Reported").replace("", "Not Reported")
    rep_area = (
        pd.to_numeric(col["rep_area_km2"], errors="coerce").astype("float64")
        if col["rep_area_km2"] is not None
        else pd.Series(np.nan, index=idx)
    )
    year = (
        pd.to_numeric(col["status_yr"], errors="coerce")
        if col["status_yr"] is not None
        else pd.Series(np.nan, index=idx)
    )
    year = year.where(year > 0).round().astype("Int64")
    marine = _text(col["marine"], idx).str.lower().map(lambda v: _REALM_CODES.get(v, v)).astype("str")
    if fields["site_type"] and fields["site_type"].lower() == "pa_def":
        site_type = _text(col["site_type"], idx).map({"1": "PA", "0": "OECM"}).fillna("PA").astype("str")
    else:
        site_type = _text(col["site_type"], idx, "PA").replace("", "PA")

    geoms = np.asarray(frame.geometry.values, dtype=object)
    reasons = np.full(len(frame), "", dtype=object)
    out_geoms = np.empty(len(frame), dtype=object)
    from_point = np.zeros(len(frame), dtype=bool)
    for i, g in enumerate(geoms):
        if g is None or g.is_empty:
            reasons[i] = "no geometry"
            continue
        gt = g.geom_type
        if gt in ("Point", "MultiPoint"):
            area = rep_area.iat[i]
            if not (np.isfinite(area) and area > 0):
                reasons[i] = (
                    "point without a reported area (REP_AREA 0 or missing): no footprint can be built; give REP_AREA in km² or a polygon"
                )
                continue
            pts = list(getattr(g, "geoms", [g]))
            # WDPA practice for multipoints: the reported area is shared equally among the points.
            radius_km = math.sqrt(area / len(pts) / math.pi)
            circles = [geodesic_circle(p.x, p.y, radius_km) for p in pts]
            out_geoms[i] = circles[0] if len(circles) == 1 else shapely.union_all(circles)
            from_point[i] = True
            continue
        if not g.is_valid:
            g = shapely.make_valid(g)
            state.n_repaired += 1
        poly = _polygonal(g)
        if poly is None:
            reasons[i] = f"{gt} geometry is not an area (points need REP_AREA; lines are not protected areas)"
            continue
        out_geoms[i] = shapely.force_2d(poly) if shapely.has_z(poly) else poly

    status_l = status.str.lower()
    excluded = status_l.isin(EXCLUDED_STATUSES).to_numpy() & (reasons == "")
    if not state.include_proposed:
        for i in np.flatnonzero(excluded):
            reasons[i] = f"status '{status.iat[i]}' excluded (WDPA practice); use --include-proposed to keep"

    pa_id = _text(col["pa_id"], idx) if col["pa_id"] is not None else pd.Series("", index=idx, dtype="str")
    gen = (pa_id == "").to_numpy()
    if gen.any():
        ids = pa_id.to_numpy(dtype=object)
        seen = state.generated  # over the whole layer: the same feature twice gets -2, -3...
        for i in np.flatnonzero(gen):
            base = _stable_id(name.iat[i], geoms[i])
            seen[base] = seen.get(base, 0) + 1
            ids[i] = base if seen[base] == 1 else f"{base}-{seen[base]}"
        pa_id = pd.Series(ids, index=idx, dtype="str")
    pa_pid = _text(col["pa_pid"], idx) if col["pa_pid"] is not None else pa_id.copy()
    pa_pid = pa_pid.where(pa_pid != "", pa_id)
    # Shared ids are normal for WDPA parcels of one site; shared by differently named
    # features they are a data defect (e.g. ids built from a missing code): say so.
    state.note_names(pa_id, name)
    if col["pa_pid"] is None and len(pa_pid):
        before = pa_pid.map(state.pid_rank).fillna(0).astype("int64")
        rank = pa_pid.groupby(pa_pid).cumcount() + 1 + before
        for pid, n in pa_pid.value_counts(sort=False).items():
            state.pid_rank[pid] = state.pid_rank.get(pid, 0) + int(n)
        pa_pid = pa_pid.where(rank == 1, pa_pid + "#" + rank.astype("str"))

    schema = pd.DataFrame(
        {
            "pa_id": pa_id,
            "pa_pid": pa_pid,
            "name": name,
            "designation": _text(col["designation"], idx),
            "iucn_cat": iucn,
            "status": status,
            "status_yr": year,
            "iso3": _text(col["iso3"], idx).str.upper(),
            "marine": marine,
            "site_type": site_type,
            "rep_area_km2": rep_area.to_numpy(dtype="float64"),
            "from_point": from_point,
        },
        index=idx,
    )
    originals = frame[attrs].rename(columns={c: f"orig_{c}" for c in attrs if c in PA_COLUMNS})
    keep = reasons == ""
    data = pd.concat([schema[keep], originals[keep]], axis=1)
    data = gpd.GeoDataFrame(
        data, geometry=gpd.GeoSeries(out_geoms[keep], index=idx[keep], crs=CRS_WGS84), crs=CRS_WGS84
    )
    data = data[[*PA_COLUMNS, *originals.columns]]
    rejected = frame.loc[~keep, attrs].copy()
    rejected.insert(0, "row_number", (np.flatnonzero(~keep) + 1 + state.rows).astype("int64"))
    rejected["reason"] = pd.Series(reasons[~keep], index=rejected.index, dtype="str")
    state.rows += len(frame)
    state.n_excluded += int(excluded.sum())
    state.n_from_point += int(from_point.sum())
    return data, pd.DataFrame(rejected)


def _normalise(
    frame: gpd.GeoDataFrame, path: str | Path, include_proposed: bool, field_map: dict[str, str] | None
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, list[str]]:
    """A whole layer in the PA schema: one batch."""
    state = _LayerState(str(path), include_proposed, field_map)
    data, rejected = _normalise_batch(frame, state)
    return data, rejected, state.warnings()


def _empty_frame() -> gpd.GeoDataFrame:
    """No protected area: the PA schema with no rows."""
    data = gpd.GeoDataFrame(
        {c: pd.Series(dtype="str") for c in PA_COLUMNS[:-1]}, geometry=gpd.GeoSeries([], crs=CRS_WGS84)
    )
    data["status_yr"] = data["status_yr"].astype("Int64")
    data["rep_area_km2"] = data["rep_area_km2"].astype("float64")
    data["from_point"] = data["from_point"].astype(bool)
    return data


def _finish(warnings: list[str], site_like: list[str], rejected: list[pd.DataFrame]) -> pd.DataFrame:
    """The site-like warning first; the rejected rows of every layer as one frame."""
    if site_like:
        warnings.insert(0, sites_in_protected_area_slot_warning(list(dict.fromkeys(site_like))))
    if rejected:
        return pd.concat(rejected, ignore_index=True)
    return pd.DataFrame(columns=["row_number", "source_layer", "reason"])


def _rejected_of(rej: pd.DataFrame, label: str, into: list[pd.DataFrame]) -> None:
    if len(rej):
        rej.insert(1, "source_layer", label)
        into.append(rej)


def load_protected_areas(
    path: str | Path,
    *,
    include_proposed: bool = False,
    field_map: dict[str, str] | None = None,
    layer: str | None = None,
    zip_limits: ZipLimits,
) -> LoadResult:
    """Protected areas in the PA schema (layers.schema.PA_COLUMNS), EPSG:4326, original columns after.

    Every layer is read whole: for a large file use ``stream_protected_areas`` (the CLI does, through
    the layer cache). ``zip_limits`` bound a zipped download (from the settings, at the boundary).
    """
    path = Path(path)
    frames: list[gpd.GeoDataFrame] = []
    rejected: list[pd.DataFrame] = []
    warnings: list[str] = []
    site_like: list[str] = []
    for label, frame in read_vector_layers(path, layer, zip_limits=zip_limits):
        site_like += looks_like_sites(c for c in frame.columns if c != frame.geometry.name)
        frame = to_wgs84(frame, label, warnings)
        data, rej, warn = _normalise(frame, label, include_proposed, field_map)
        if len(data):
            frames.append(data)
        _rejected_of(rej, label, rejected)
        warnings.extend(warn)
    if frames:
        data = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=CRS_WGS84)
    else:
        data = _empty_frame()
    rej = _finish(warnings, site_like, rejected)
    return LoadResult(data=data, rejected=rej, warnings=warnings, source=path.name)


def stream_protected_areas(
    path: str | Path,
    out: Path,
    *,
    include_proposed: bool = False,
    field_map: dict[str, str] | None = None,
    layer: str | None = None,
    zip_limits: ZipLimits,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> WrittenLayer:
    """``load_protected_areas``' rows written to the GeoParquet file ``out``, ``batch_rows`` features at a time.

    Each layer is read, reprojected and normalised in batches (ids, suffixes, row numbers and
    warnings count over the whole layer, as the whole-layer load does), so the memory is about one
    batch plus the rejected rows, whatever the size of the file. ``out`` read back with
    ``geopandas.read_parquet`` equals ``load_protected_areas(...).data``.
    """
    path = Path(path)
    rejected: list[pd.DataFrame] = []
    warnings: list[str] = []
    site_like: list[str] = []
    parts = GeoParquetParts(out, CRS_WGS84)
    found = False
    try:
        with _layer_sources(path, layer, zip_limits) as sources:
            for label, ds, lyr in sources:
                with layer_batches(ds, lyr, batch_rows) as opened:
                    if opened is None:  # an attribute table
                        continue
                    found = True
                    columns, batches = opened
                    site_like += looks_like_sites(columns)
                    state = _LayerState(label, include_proposed, field_map)
                    no_crs, bounds = False, np.array([np.inf, np.inf, -np.inf, -np.inf])
                    for frame in batches:
                        if frame.crs is None:  # checked on the layer's extent once it is read
                            no_crs = True
                            if len(frame):
                                b = frame.total_bounds
                                bounds = np.r_[np.fmin(bounds[:2], b[:2]), np.fmax(bounds[2:], b[2:])]
                            frame = frame.set_crs(CRS_WGS84)
                        else:
                            frame = to_wgs84(frame, label, warnings)
                        data, rej = _normalise_batch(frame, state)
                        parts.write(data)
                        _rejected_of(rej, label, rejected)
                        del frame, data
                    if no_crs and state.rows:
                        if not (np.isfinite(bounds).all() and _looks_lonlat(bounds)):
                            raise _no_crs_error(label)
                        warnings.append(_no_crs_warning(label))
                    warnings.extend(state.warnings())
        if not found:
            raise LayerError(path, "no point or polygon layer found", "give a file with point or polygon features")
        data_meta = parts.close() if parts.rows else write_frame(_empty_frame(), out)
    finally:
        parts.discard()
    rej = _finish(warnings, site_like, rejected)
    return WrittenLayer(data=data_meta, rejected=rej, warnings=warnings, source=path.name)
