"""open_raster / sample_raster: hand-made GeoTIFFs with known values, and the real rasters vs rasterio's sample()."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest
import rasterio
import rasterio.errors
import rasterio.shutil
from rasterio.transform import from_origin

import layers.rasters as rasters
from layers.errors import LayerError
from layers.rasters import open_raster, sample_raster

GEOD = pyproj.Geod(ellps="WGS84")


def _write(path, data, crs, transform, nodata=None, **tags):
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=data.shape[1],
        height=data.shape[0],
        count=1,
        dtype=data.dtype,
        crs=crs,
        transform=transform,
        nodata=nodata,
    ) as dst:
        dst.write(data, 1)
        if "scale" in tags:
            dst.scales = (tags["scale"],)
            dst.offsets = (tags["offset"],)
        if "units" in tags:
            dst.units = (tags["units"],)
    return path


@pytest.fixture
def wgs84_tif(tmp_path):
    """10×10 pixels of 0.1° from (10°E, 5°N); value = 10·row + col; pixel (2, 3) is nodata."""
    data = np.arange(100, dtype="float32").reshape(10, 10)
    data[2, 3] = -9999
    return _write(tmp_path / "wgs84.tif", data, "EPSG:4326", from_origin(10.0, 5.0, 0.1, 0.1), nodata=-9999)


def _centre(row, col, x0=10.0, y0=5.0, res=0.1):
    return x0 + (col + 0.5) * res, y0 - (row + 0.5) * res


def test_values_nodata_and_outside_wgs84(wgs84_tif):
    layer = open_raster(wgs84_tif, "test")
    pts = [_centre(0, 0), _centre(4, 7), _centre(9, 9), _centre(2, 3), (9.95, 4.5), (10.5, 5.05), (np.nan, 1.0)]
    s = sample_raster(layer, np.array([p[0] for p in pts]), np.array([p[1] for p in pts]))
    assert s.values.dtype == np.float64
    np.testing.assert_array_equal(s.values[:3], [0.0, 47.0, 99.0])  # a real 0 stays 0
    assert np.isnan(s.values[3:]).all()  # nodata, west of, north of the raster, NaN input: NaN, never 0
    assert s.name == "test" and s.buffer_mean is None


def test_utm_raster_sites_are_reprojected(tmp_path):
    data = np.arange(400, dtype="int16").reshape(20, 20)
    path = _write(tmp_path / "utm.tif", data, "EPSG:32633", from_origin(500_000, 100_000, 100, 100))
    layer = open_raster(path, "utm")
    rows, cols = np.array([0, 5, 19, 12]), np.array([0, 17, 19, 3])
    x = 500_000 + (cols + 0.5) * 100
    y = 100_000 - (rows + 0.5) * 100
    lon, lat = pyproj.Transformer.from_crs("EPSG:32633", "EPSG:4326", always_xy=True).transform(x, y)
    s = sample_raster(layer, np.append(lon, 20.0), np.append(lat, 0.0))
    np.testing.assert_array_equal(s.values[:4], rows * 20 + cols)
    assert np.isnan(s.values[4])


def test_scale_offset_and_units_are_applied(tmp_path):
    data = np.array([[10, 20], [30, 0]], dtype="uint8")
    path = _write(
        tmp_path / "scaled.tif",
        data,
        "EPSG:4326",
        from_origin(0, 2, 1, 1),
        nodata=0,
        scale=0.5,
        offset=1.0,
        units="percent",
    )
    layer = open_raster(path, "cover")
    assert (layer.scale, layer.offset, layer.units) == (0.5, 1.0, "percent")
    s = sample_raster(layer, np.array([0.5, 1.5, 0.5, 1.5]), np.array([1.5, 1.5, 0.5, 0.5]))
    np.testing.assert_array_equal(s.values[:3], [6.0, 11.0, 16.0])
    assert np.isnan(s.values[3])
    assert s.units == "percent"


def test_longitudes_0_to_360(tmp_path):
    data = np.tile(np.arange(36, dtype="float32"), (18, 1))  # value = column, 10° pixels from 0°E
    layer = open_raster(_write(tmp_path / "global360.tif", data, "EPSG:4326", from_origin(0, 90, 10, 10)), "g")
    assert layer.wrap_lon
    s = sample_raster(layer, np.array([5.0, -5.0, 185.0, -175.0, 355.0, 180.0]), np.zeros(6))
    np.testing.assert_array_equal(s.values, [0, 35, 18, 18, 35, 18])


def _brute_buffer_mean(layer, data, lon, lat, radius_km):
    h, w = data.shape
    rr, cc = np.mgrid[0:h, 0:w]
    t = layer.transform
    x = t.c + (cc + 0.5) * t.a
    y = t.f + (rr + 0.5) * t.e
    if layer.crs.is_geographic:
        plon, plat = x, y
    else:
        plon, plat = pyproj.Transformer.from_crs(layer.crs, "EPSG:4326", always_xy=True).transform(x, y)
    _, _, d = GEOD.inv(np.full(x.size, lon), np.full(x.size, lat), np.ravel(plon), np.ravel(plat))
    return np.ravel(d) / 1000.0


def _gap_radius(dist_km, lo, hi):
    """A radius in the widest gap between pixel-centre distances, so no pixel sits on the edge."""
    d = np.sort(dist_km[(dist_km > lo) & (dist_km < hi)])
    i = int(np.argmax(np.diff(d)))
    assert (d[i + 1] - d[i]) / d[i] > 0.003
    return 0.5 * (d[i] + d[i + 1])


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:32633"])
def test_buffer_mean_matches_geodesic_brute_force(tmp_path, crs):
    rng = np.random.default_rng(3)
    data = rng.uniform(0, 100, (60, 60)).astype("float32")
    data[30, 31] = -1.0  # nodata inside the buffer
    transform = from_origin(15.0, 1.0, 0.01, 0.01) if crs == "EPSG:4326" else from_origin(500_000, 110_000, 250, 250)
    layer = open_raster(_write(tmp_path / "b.tif", data, crs, transform, nodata=-1.0), "b")
    cx, cy = transform @ (30.2, 30.6)
    lon, lat = (
        (cx, cy)
        if crs == "EPSG:4326"
        else pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(cx, cy)
    )
    d = _brute_buffer_mean(layer, data, lon, lat, 0)
    radius = _gap_radius(d, 2.0, 3.0)
    valid = (np.ravel(data) != -1.0) & (d <= radius)
    expected = float(np.ravel(data)[valid].astype("float64").mean())
    s = sample_raster(layer, np.array([lon]), np.array([lat]), buffer_km=radius)
    assert s.buffer_mean[0] == pytest.approx(expected, rel=1e-12)


def test_buffer_mean_wraps_across_the_0_360_seam(tmp_path):
    data = np.tile(np.arange(360, dtype="float32"), (180, 1))
    layer = open_raster(_write(tmp_path / "g.tif", data, "EPSG:4326", from_origin(0, 90, 1, 1)), "g")
    lon, lat = -0.3, 0.2
    d = _brute_buffer_mean(layer, data, lon, lat, 0)
    radius = _gap_radius(d, 120.0, 200.0)
    expected = float(np.ravel(data)[d <= radius].mean())
    s = sample_raster(layer, np.array([lon]), np.array([lat]), buffer_km=radius)
    assert s.buffer_mean[0] == pytest.approx(expected, rel=1e-12)
    included = (d <= radius).reshape(data.shape)
    assert included[:, 359].any() and included[:, 0].any()  # the buffer straddles the seam


def test_tiled_reading_equals_single_window(wgs84_tif, monkeypatch):
    layer = open_raster(wgs84_tif, "t")
    rng = np.random.default_rng(1)
    lon = rng.uniform(9.9, 11.1, 2000)
    lat = rng.uniform(3.9, 5.1, 2000)
    whole = sample_raster(layer, lon, lat, buffer_km=15.0)
    monkeypatch.setattr(rasters, "MAX_WINDOW_CELLS", 10)
    monkeypatch.setattr(rasters, "TILE_PIXELS", 3)
    tiled = sample_raster(layer, lon, lat, buffer_km=15.0)
    np.testing.assert_array_equal(whole.values, tiled.values)
    np.testing.assert_allclose(whole.buffer_mean, tiled.buffer_mean, rtol=1e-12)
    with rasterio.open(wgs84_tif) as src:
        ref = np.array([v[0] for v in src.sample(zip(lon, lat, strict=True))], dtype="float64")
    inside = (lon > 10.0) & (lon < 11.0) & (lat > 4.0) & (lat < 5.0) & (ref != -9999)
    np.testing.assert_array_equal(whole.values[inside], ref[inside])
    assert np.isnan(whole.values[~inside]).all()


def test_netcdf_without_crs_is_taken_as_wgs84(tmp_path):
    tif = _write(tmp_path / "grid.tif", np.arange(8, dtype="float32").reshape(2, 4), None, from_origin(0, 90, 90, 90))
    path = tmp_path / "grid.nc"
    try:
        rasterio.shutil.copy(tif, path, driver="netCDF")  # rasterio refuses netCDF in "w" mode; CreateCopy works
    except Exception as exc:  # pragma: no cover - depends on the GDAL build
        pytest.skip(f"GDAL cannot write netCDF here: {exc}")
    with pytest.warns(UserWarning, match="taken as WGS84"):
        layer = open_raster(path, "nc")
    assert layer.crs.to_epsg() == 4326 and layer.wrap_lon
    s = sample_raster(layer, np.array([-45.0, 100.0]), np.array([45.0, -45.0]))
    np.testing.assert_array_equal(s.values, [3.0, 5.0])


def test_bad_inputs_raise_layer_error(tmp_path, wgs84_tif):
    with pytest.raises(LayerError, match="not found"):
        open_raster(tmp_path / "missing.tif", "x")
    with pytest.raises(LayerError, match="band 2 does not exist"):
        open_raster(wgs84_tif, "x", band=2)
    nocrs = _write(tmp_path / "nocrs.tif", np.zeros((2, 2), "float32"), None, from_origin(0, 2, 1, 1))
    with pytest.raises(LayerError, match="no CRS"):
        open_raster(nocrs, "x")
    plain = tmp_path / "plain.tif"
    with (
        pytest.warns(rasterio.errors.NotGeoreferencedWarning),
        rasterio.open(plain, "w", driver="GTiff", width=2, height=2, count=1, dtype="uint8") as dst,
    ):
        dst.write(np.zeros((2, 2), "uint8"), 1)
    with pytest.raises(LayerError, match="no geotransform"):
        open_raster(plain, "x")
    (tmp_path / "text.tif").write_text("not a raster")
    with pytest.raises(LayerError, match="cannot be read as a raster"):
        open_raster(tmp_path / "text.tif", "x")
    with pytest.raises(LayerError, match="without a variable"):
        open_raster("netcdf:", "x")
    layer = open_raster(wgs84_tif, "x")
    with pytest.raises(LayerError, match="longitudes but"):
        sample_raster(layer, np.zeros(2), np.zeros(3))
    with pytest.raises(LayerError, match="positive distance"):
        sample_raster(layer, np.zeros(2), np.zeros(2), buffer_km=-1.0)


def _points_in(bounds, n, seed):
    rng = np.random.default_rng(seed)
    left, bottom, right, top = bounds
    lon = np.append(rng.uniform(left, right, n), [left - 1.0, right + 0.5])  # plus two outside
    lat = np.append(rng.uniform(bottom, top, n), [bottom, top])
    return lon, lat


@pytest.mark.parametrize(
    "name",
    ["Hansen_GFC_datamask.tif", "yangambi_forest_mask_resampled.tif", "yangambi_forest_cover_difference_1958_2000.tif"],
)
def test_real_yangambi_rasters_match_rasterio_sample(shared_data, name):
    path = shared_data / "yangambi_forest" / name
    layer = open_raster(path, name)
    lon, lat = _points_in(layer.bounds, 40, seed=len(name))
    s = sample_raster(layer, lon, lat)
    with rasterio.open(path) as src:
        ref = np.array([v[0] for v in src.sample(zip(lon[:-2], lat[:-2], strict=True))], dtype="float64")
        ref[ref == np.float32(src.nodata)] = np.nan
    np.testing.assert_array_equal(s.values[:-2], ref)
    assert np.isnan(s.values[-2:]).all()


def test_real_streets_mercury_netcdf(shared_data):
    nc = shared_data / "mercury_streets2019" / "Streets_2019_Anthro_Hg_Emissions.nc"
    with pytest.warns(UserWarning, match="taken as WGS84"):
        layer = open_raster(f"netcdf:{nc}:Hg0", "hg_emission")
    with pytest.warns(UserWarning, match="taken as WGS84"):
        same = open_raster(nc, "hg_emission", subdataset="Hg0", band=16)
    assert layer.units == "kg m-2 s-1" and layer.wrap_lon and same.band == 16
    # Ghana, Amazon, Indonesia, Siberia, across 0°/180°, and west longitudes
    lon = np.array([-1.8, -60.2, 113.9, 100.5, 0.3, -179.5, 179.5, -0.5])
    lat = np.array([6.1, -3.4, -0.8, 66.0, 51.5, 65.2, 65.2, 51.5])
    for lyr in (layer, same):
        s = sample_raster(lyr, lon, lat)
        with rasterio.open(lyr.dataset_name) as src:
            ref = np.array(
                [v[lyr.band - 1] for v in src.sample(zip(np.mod(lon, 360.0), lat, strict=True))], dtype="float64"
            )
        np.testing.assert_array_equal(s.values, ref)
    assert np.nanmax(s.values) > 0
    with pytest.raises(LayerError, match="several variables"):
        open_raster(nc, "hg")
