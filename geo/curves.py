"""Space-filling curve over the lon/lat rectangle: an order in which nearby points stay together.

Used to cut the sites into compact partitions (``geo.partition``) and to process them in an
order where neighbours share their protected areas (``geo.proximity``, for cache locality).
"""

from __future__ import annotations

import numpy as np

__all__ = ["hilbert_keys", "spatial_order"]


def hilbert_keys(lon: np.ndarray, lat: np.ndarray, order: int = 16) -> np.ndarray:
    """Position of each point along a Hilbert curve over the lon/lat rectangle.

    Parameters
    ----------
    lon, lat : numpy.ndarray of float, degrees (EPSG:4326). NaN is sent to the curve's start.
    order : int, 1-31. The grid has ``2**order`` cells per side.

    Returns
    -------
    numpy.ndarray of int64, in ``[0, 4**order)``; nearby keys are nearby on the ground
    (the converse does not always hold).
    """
    if not 1 <= order <= 31:
        raise ValueError(f"order must be in 1..31, got {order}")
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    n = np.int64(1) << order
    x = np.clip(np.floor((np.nan_to_num(lon, nan=-180.0) + 180.0) / 360.0 * n), 0, n - 1).astype(np.int64)
    y = np.clip(np.floor((np.nan_to_num(lat, nan=-90.0) + 90.0) / 180.0 * n), 0, n - 1).astype(np.int64)
    d = np.zeros(x.shape, dtype=np.int64)
    s = n >> 1
    while s > 0:
        rx = (x & s) > 0
        ry = (y & s) > 0
        d += s * s * ((3 * rx.astype(np.int64)) ^ ry.astype(np.int64))
        flip = ~ry & rx
        x = np.where(flip, n - 1 - x, x)
        y = np.where(flip, n - 1 - y, y)
        swap = ~ry
        x, y = np.where(swap, y, x), np.where(swap, x, y)
        s >>= 1
    return d


def spatial_order(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Positions that sort the points along the Hilbert curve (stable: ties keep input order).

    Parameters
    ----------
    lon, lat : numpy.ndarray of float, degrees (EPSG:4326).

    Returns
    -------
    numpy.ndarray of int64, a permutation of ``range(len(lon))``.
    """
    return np.argsort(hilbert_keys(lon, lat), kind="stable").astype(np.int64)
