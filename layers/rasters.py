"""Open GeoTIFF / netCDF rasters and sample them at many sites quickly.

Sites are reprojected into the raster's CRS, their row/column computed with the
inverse affine transform, and the needed window is read ONCE as an array (in tiles
when the sites are sparse over a large raster) and indexed with numpy. rasterio's
``sample()`` reads point by point and was measured 65× slower at 1M points.
Nodata, NaN and points outside the raster give NaN, never 0.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np
import pyproj
import rasterio
from affine import Affine
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
from rasterio.windows import Window

from geo.crs import WGS84_A_KM, WGS84_E2
from layers.errors import LayerError

# Largest window read in one go (cells); above it the points are grouped in tiles.
MAX_WINDOW_CELLS = 1 << 24  # 16.8 M cells, 134 MB as float64
TILE_PIXELS = 2048


@dataclass
class RasterLayer:
    """A raster band ready to be sampled (metadata only: the file is opened per sampling call)."""

    name: str
    path: str
    subdataset: str | None
    crs: pyproj.CRS
    transform: Affine
    nodata: float | None
    scale: float
    offset: float
    units: str | None
    band: int
    width: int = 0
    height: int = 0
    wrap_lon: bool = False  # geographic raster covering 360° of longitude: longitudes wrap around

    @property
    def dataset_name(self) -> str:
        """What rasterio.open() takes: the file, or ``netcdf:file:variable`` for a subdataset."""
        if self.subdataset:
            return f"netcdf:{self.path}:{self.subdataset}"
        return self.path

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in the raster's CRS."""
        t = self.transform
        xs = [t.c, t.c + t.a * self.width]
        ys = [t.f, t.f + t.e * self.height]
        return min(xs), min(ys), max(xs), max(ys)


@dataclass
class RasterSample:
    """Values of one raster at the sites: NaN where nodata or outside the raster."""

    values: np.ndarray
    buffer_mean: np.ndarray | None
    units: str | None
    name: str


def _split_netcdf(path: str | Path, subdataset: str | None) -> tuple[str, str | None]:
    text = str(path)
    if text.lower().startswith("netcdf:"):
        rest = text[len("netcdf:") :]
        file_part, sep, var = rest.rpartition(":")
        if not sep or not file_part:
            raise LayerError(
                text,
                "netCDF name without a variable",
                "write it as netcdf:FILE.nc:VARIABLE, e.g. netcdf:emissions.nc:Hg0",
            )
        return file_part.strip('"'), subdataset or var
    return text, subdataset


def open_raster(path: str | Path, name: str, *, subdataset: str | None = None, band: int = 1) -> RasterLayer:
    """Open a GeoTIFF (or any GDAL raster) or a netCDF variable and return its sampling metadata."""
    file_path, sub = _split_netcdf(path, subdataset)
    if not Path(file_path).exists():
        raise LayerError(file_path, "raster file not found", "check the path (ASM_RASTERS or --raster NAME=PATH)")
    is_netcdf = sub is not None or Path(file_path).suffix.lower() in (".nc", ".nc4", ".cdf")
    open_name = f"netcdf:{file_path}:{sub}" if sub else file_path
    try:
        with warnings.catch_warnings():
            # a netCDF container (several variables) has no geotransform: handled below
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            src = rasterio.open(open_name)
        with src:
            if sub is None and src.count == 0 and src.subdatasets:
                names = [s.rsplit(":", 1)[-1] for s in src.subdatasets]
                raise LayerError(
                    file_path,
                    f"the file holds several variables {names[:10]} and none was chosen",
                    f"give one, e.g. netcdf:{file_path}:{names[0]} or subdataset='{names[0]}'",
                )
            if not 1 <= band <= src.count:
                raise LayerError(
                    open_name,
                    f"band {band} does not exist (the raster has {src.count})",
                    f"choose a band between 1 and {src.count}",
                )
            crs = src.crs
            transform = src.transform
            if transform.b != 0 or transform.d != 0:
                raise LayerError(
                    open_name,
                    "rotated/sheared rasters are not supported",
                    "warp it to a north-up grid first (gdalwarp)",
                )
            if transform == Affine.identity() and (src.gcps[0] or crs is None):
                raise LayerError(
                    open_name,
                    "the raster has no geotransform (not georeferenced, or by GCPs only)",
                    "warp it to a north-up grid with a CRS (gdalwarp -t_srs EPSG:4326)",
                )
            if crs is None:
                if not is_netcdf:
                    raise LayerError(
                        open_name,
                        "the raster has no CRS",
                        "assign one, e.g. gdal_edit.py -a_srs EPSG:4326 FILE.tif, or convert to GeoTIFF with a CRS",
                    )
                warnings.warn(
                    f"{open_name}: netCDF without a CRS tag; taken as WGS84 longitude/latitude (EPSG:4326)",
                    UserWarning,
                    stacklevel=2,
                )
                crs_out = pyproj.CRS.from_epsg(4326)
            else:
                crs_out = pyproj.CRS.from_user_input(crs.to_wkt())
            units = src.units[band - 1] if src.units else None
            layer = RasterLayer(
                name=name,
                path=file_path,
                subdataset=sub,
                crs=crs_out,
                transform=transform,
                nodata=None if src.nodata is None else float(src.nodata),
                scale=float(src.scales[band - 1]) if src.scales else 1.0,
                offset=float(src.offsets[band - 1]) if src.offsets else 0.0,
                units=units or None,
                band=band,
                width=src.width,
                height=src.height,
            )
    except RasterioIOError as exc:
        raise LayerError(
            open_name, f"cannot be read as a raster ({exc})", "give a GeoTIFF or netcdf:FILE.nc:VARIABLE"
        ) from exc
    if crs_out.is_geographic:
        left, _, right, _ = layer.bounds
        layer.wrap_lon = abs((right - left) - 360.0) < abs(transform.a) * 0.5 + 1e-9
    return layer


def _to_raster_xy(layer: RasterLayer, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if layer.crs.equals(pyproj.CRS.from_epsg(4326), ignore_axis_order=True):
        x, y = lon.copy(), lat.copy()
    else:
        tr = pyproj.Transformer.from_crs("EPSG:4326", layer.crs, always_xy=True)
        x, y = tr.transform(lon, lat)
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        x[~np.isfinite(x)] = np.nan
        y[~np.isfinite(y)] = np.nan
    if layer.crs.is_geographic:
        # Longitudes in the raster's own range (e.g. 0..360 with origin 0): shift by whole turns.
        left = layer.bounds[0]
        x = left + np.mod(x - left, 360.0)
    return x, y


def _buffer_margins(
    layer: RasterLayer, x: np.ndarray, y: np.ndarray, lat: np.ndarray, buffer_km: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-site search half-sizes (rows, cols) and metric factors (km per CRS unit along x, y)."""
    t = layer.transform
    n = len(x)
    if layer.crs.is_geographic:
        # Meridian degree is ≥ 110.57 km; parallel degree shrinks with cos(lat) at the far edge.
        rows = np.full(n, math.ceil(buffer_km / (abs(t.e) * 110.5)) + 1)
        far = np.minimum(np.abs(lat) + buffer_km / 110.5, 90.0)
        cos_far = np.cos(np.radians(far))
        with np.errstate(divide="ignore"):
            cols_f = buffer_km / (abs(t.a) * 111.2 * cos_far)
        cols = np.where(cos_far > 1e-6, np.ceil(np.minimum(cols_f, layer.width)) + 1, layer.width).astype(np.int64)
        if layer.wrap_lon:
            cols = np.minimum(cols, (layer.width - 1) // 2)
        return rows.astype(np.int64), cols, np.zeros(n), np.zeros(n)  # factors computed per pixel in the kernel
    unit_m = layer.crs.axis_info[0].unit_conversion_factor
    proj = pyproj.Proj(layer.crs)
    lon_ok = np.isfinite(x)
    k = np.full(n, np.nan)
    if lon_ok.any():
        tr = pyproj.Transformer.from_crs(layer.crs, "EPSG:4326", always_xy=True)
        lo, la = tr.transform(x[lon_ok], y[lon_ok])
        f = proj.get_factors(lo, la)
        k[lon_ok] = np.sqrt(np.asarray(f.meridional_scale) * np.asarray(f.parallel_scale))
    km_per_unit = unit_m / 1000.0 / k
    k_safe = np.where(np.isfinite(k), k, 1.0)
    rows = np.ceil(buffer_km * 1.01 * k_safe / (unit_m / 1000.0) / abs(t.e)) + 1
    cols = np.ceil(buffer_km * 1.01 * k_safe / (unit_m / 1000.0) / abs(t.a)) + 1
    return rows.astype(np.int64), cols.astype(np.int64), km_per_unit, km_per_unit


@numba.njit(cache=False)
def _buffer_mean_kernel(  # pragma: no cover - compiled
    arr, r0, c0, rows, cols, xs, ys, half_r, half_c, kx, ky, a, c, e, f, geographic, wrap_width, buffer_km
):
    n = len(rows)
    out = np.full(n, np.nan)
    h, w = arr.shape
    a_km = WGS84_A_KM
    e2 = WGS84_E2
    deg = np.pi / 180.0
    for i in range(n):
        r_lo = max(rows[i] - half_r[i], r0)
        r_hi = min(rows[i] + half_r[i], r0 + h - 1)
        total = 0.0
        count = 0
        for r in range(r_lo, r_hi + 1):
            yp = f + e * (r + 0.5)
            if geographic:
                phi = 0.5 * (yp + ys[i]) * deg
                s = np.sin(phi)
                wgt = 1.0 - e2 * s * s
                ky_i = a_km * (1.0 - e2) / wgt**1.5 * deg
                kx_i = a_km / np.sqrt(wgt) * np.cos(phi) * deg
            else:
                ky_i = ky[i]
                kx_i = kx[i]
            dy = (yp - ys[i]) * ky_i
            if abs(dy) > buffer_km:
                continue
            for cc in range(cols[i] - half_c[i], cols[i] + half_c[i] + 1):
                col = cc
                if wrap_width > 0:
                    col = cc % wrap_width
                if col < c0 or col >= c0 + w:
                    continue
                xp = c + a * (col + 0.5)
                dx = xp - xs[i]
                if geographic:
                    dx = (dx + 180.0) % 360.0 - 180.0
                dx *= kx_i
                if dx * dx + dy * dy <= buffer_km * buffer_km:
                    v = arr[r - r0, col - c0]
                    if np.isfinite(v):
                        total += v
                        count += 1
        if count > 0:
            out[i] = total / count
    return out


def _read_window(src: rasterio.io.DatasetReader, layer: RasterLayer, window: Window) -> np.ndarray:
    data = src.read(layer.band, window=window, masked=True)
    arr = np.ma.filled(data.astype(np.float64), np.nan)
    if layer.nodata is not None and not np.isnan(layer.nodata):
        raw_nodata = np.asarray(layer.nodata).astype(data.dtype)
        arr[np.ma.getdata(data) == raw_nodata] = np.nan
    arr[~np.isfinite(arr)] = np.nan
    if layer.scale != 1.0 or layer.offset != 0.0:
        arr = arr * layer.scale + layer.offset
    return arr


def sample_raster(
    layer: RasterLayer, lon: np.ndarray, lat: np.ndarray, *, buffer_km: float | None = None
) -> RasterSample:
    """Raster values at the sites (and optionally the mean of valid pixels within ``buffer_km``).

    Buffer membership uses pixel centres and a local ellipsoidal metric (geographic
    rasters: meridian/prime-vertical radii at the mid-latitude; projected rasters:
    CRS units divided by the projection's point scale at the site), relative error
    well under 1 % for buffers up to 100 km away from the poles.
    """
    lon = np.atleast_1d(np.asarray(lon, dtype=np.float64)).ravel()
    lat = np.atleast_1d(np.asarray(lat, dtype=np.float64)).ravel()
    if lon.shape != lat.shape:
        raise LayerError(
            layer.path, f"{len(lon)} longitudes but {len(lat)} latitudes", "pass one lon and one lat per site"
        )
    if buffer_km is not None and not buffer_km > 0:
        raise LayerError(layer.path, f"buffer_km must be a positive distance in km, got {buffer_km}", "use e.g. 10")
    n = len(lon)
    values = np.full(n, np.nan)
    means = np.full(n, np.nan) if buffer_km is not None else None
    if n == 0:
        return RasterSample(values, means, layer.units, layer.name)
    x, y = _to_raster_xy(layer, lon, lat)
    inv = ~layer.transform
    colf = inv.a * x + inv.b * y + inv.c
    rowf = inv.d * x + inv.e * y + inv.f
    ok = np.isfinite(colf) & np.isfinite(rowf)
    cols = np.full(n, -1, dtype=np.int64)
    rows = np.full(n, -1, dtype=np.int64)
    cols[ok] = np.floor(colf[ok]).astype(np.int64)
    rows[ok] = np.floor(rowf[ok]).astype(np.int64)
    inside = ok & (rows >= 0) & (rows < layer.height) & (cols >= 0) & (cols < layer.width)
    if buffer_km is not None:
        half_r, half_c, kx, ky = _buffer_margins(layer, x, y, lat, buffer_km)
        # A site just outside the raster can still have pixels within its buffer.
        near = (
            ok & (rows >= -half_r) & (rows < layer.height + half_r) & (cols >= -half_c) & (cols < layer.width + half_c)
        )
        if layer.wrap_lon:
            near = ok & (rows >= -half_r) & (rows < layer.height + half_r)
    else:
        half_r = half_c = np.zeros(n, dtype=np.int64)
        kx = ky = np.zeros(n)
        near = inside
    idx_all = np.flatnonzero(near)
    if len(idx_all) == 0:
        return RasterSample(values, means, layer.units, layer.name)

    def win_bounds(ix: np.ndarray) -> tuple[int, int, int, int]:
        r_lo = max(int((rows[ix] - half_r[ix]).min()), 0)
        r_hi = min(int((rows[ix] + half_r[ix]).max()), layer.height - 1)
        if layer.wrap_lon and buffer_km is not None:
            return r_lo, r_hi, 0, layer.width - 1
        c_lo = max(int((cols[ix] - half_c[ix]).min()), 0)
        c_hi = min(int((cols[ix] + half_c[ix]).max()), layer.width - 1)
        return r_lo, r_hi, c_lo, c_hi

    r_lo, r_hi, c_lo, c_hi = win_bounds(idx_all)
    if (r_hi - r_lo + 1) * (c_hi - c_lo + 1) <= MAX_WINDOW_CELLS:
        groups = [idx_all]
    else:
        # Sparse points over a large raster: one window per occupied tile.
        key = (np.clip(rows[idx_all], 0, layer.height - 1) // TILE_PIXELS) * (layer.width // TILE_PIXELS + 1) + (
            np.clip(cols[idx_all], 0, layer.width - 1) // TILE_PIXELS
        )
        order = np.argsort(key, kind="stable")
        splits = np.flatnonzero(np.diff(key[order])) + 1
        groups = np.split(idx_all[order], splits)

    t = layer.transform
    with rasterio.open(layer.dataset_name) as src:
        for ix in groups:
            r_lo, r_hi, c_lo, c_hi = win_bounds(ix)
            if r_hi < r_lo or c_hi < c_lo:
                continue
            arr = _read_window(src, layer, Window(c_lo, r_lo, c_hi - c_lo + 1, r_hi - r_lo + 1))
            pin = ix[inside[ix]]
            values[pin] = arr[rows[pin] - r_lo, cols[pin] - c_lo]
            if means is not None:
                wrap_width = layer.width if (layer.wrap_lon and c_lo == 0 and c_hi == layer.width - 1) else 0
                means[ix] = _buffer_mean_kernel(
                    arr,
                    r_lo,
                    c_lo,
                    rows[ix],
                    cols[ix],
                    x[ix],
                    y[ix],
                    half_r[ix],
                    half_c[ix],
                    kx[ix],
                    ky[ix],
                    t.a,
                    t.c,
                    t.e,
                    t.f,
                    layer.crs.is_geographic,
                    wrap_width,
                    float(buffer_km),
                )
    return RasterSample(values, means, layer.units, layer.name)
