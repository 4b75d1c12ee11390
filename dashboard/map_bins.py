"""Which sites the map draws for a view, and the cells it draws instead when they are too many (pure).

The map sends one marker per site while the part of the world on screen holds at most
``max_points`` of the filtered sites; beyond that it sends one marker per occupied cell of a
square grid in *screen pixels* (Web Mercator at the view's zoom, ``CELL_PX`` on a side): the grid
the eye sees, so cells look alike everywhere on the map. A cell's marker sits at the mean position
of its sites, is sized by their count and coloured by the highest risk class among them (what the
point map showed where markers overlapped: the higher classes are drawn on top); its hover lists the
sites per class. The payload is then bounded by the screen, not the data: about 4,000 cells at most.

The screen is not known to the server: the window is the view's centre and zoom with a generous
``HALF_WIDTH_PX`` x ``HALF_HEIGHT_PX`` around it (wider than most map panels), so a short pan still
finds its points drawn; every pan or zoom asks the server again (``relayoutData`` -> map view).

This is a display aggregation, never a measurement: nothing here is a distance or an area.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: MapLibre draws the whole world 512 px wide at zoom 0
WORLD_PX = 512.0
#: the side of a cell, screen pixels
CELL_PX = 28.0
#: half the window around the view's centre, screen pixels (a 2048 x 1024 px map panel is covered)
HALF_WIDTH_PX = 1024.0
HALF_HEIGHT_PX = 512.0
MAX_LAT = 85.0511287798066  # Web Mercator's limit


def mercator_px(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World pixel coordinates at zoom 0 (x 0-512 east from -180°, y 0-512 south from 85.05° N)."""
    lon = np.asarray(lon, dtype="float64")
    lat = np.clip(np.asarray(lat, dtype="float64"), -MAX_LAT, MAX_LAT)
    x = (lon + 180.0) / 360.0 * WORLD_PX
    y = (1.0 - np.log(np.tan(np.pi / 4 + np.radians(lat) / 2)) / np.pi) / 2.0 * WORLD_PX
    return x, y


def lonlat_of_px(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The inverse of :func:`mercator_px`."""
    lon = np.asarray(x, dtype="float64") / WORLD_PX * 360.0 - 180.0
    lat = np.degrees(np.arctan(np.sinh(np.pi * (1.0 - 2.0 * np.asarray(y, dtype="float64") / WORLD_PX))))
    return lon, lat


@dataclass(frozen=True)
class Window:
    """The part of the world around a view, in world pixels at zoom 0 (x0 < x1, y0 < y1), and its zoom."""

    x0: float
    y0: float
    x1: float
    y1: float
    zoom: float

    @property
    def scale(self) -> float:
        """Screen pixels per world pixel at zoom 0."""
        return 2.0**self.zoom

    def covers_world(self) -> bool:
        return self.x0 <= 0.0 and self.x1 >= WORLD_PX

    def contains(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Which points (world pixels) lie in the window (whole columns of the world when it wraps)."""
        in_y = (y >= self.y0) & (y <= self.y1)
        if self.covers_world():
            return in_y & np.isfinite(x)
        # the window may run past the antimeridian: compare on the world's circle
        xs = np.mod(x - self.x0, WORLD_PX)
        return in_y & (xs <= self.x1 - self.x0)


def view_window(lon: float, lat: float, zoom: float) -> Window:
    """The window (see the module docstring) around a view's centre at ``zoom``."""
    cx, cy = mercator_px(np.asarray([lon]), np.asarray([lat]))
    s = 2.0 ** float(zoom)
    hw, hh = HALF_WIDTH_PX / s, HALF_HEIGHT_PX / s
    return Window(float(cx[0] - hw), float(cy[0] - hh), float(cx[0] + hw), float(cy[0] + hh), float(zoom))


@dataclass(frozen=True)
class Cells:
    """The occupied cells of a grid: one entry per cell (arrays of one length)."""

    lon: np.ndarray  # mean position of the cell's sites
    lat: np.ndarray
    count: np.ndarray  # sites in the cell (int64)
    by_class: np.ndarray  # (n_classes, n_cells) sites per risk class code
    top_class: np.ndarray  # the highest class code present (int8; -1 when no site has a class)
    mean_risk: np.ndarray  # mean risk_0_100 of the sites with one (NaN when none)

    def __len__(self) -> int:
        return len(self.count)


def bin_sites(
    x: np.ndarray,
    y: np.ndarray,
    class_code: np.ndarray,
    risk: np.ndarray,
    *,
    window: Window,
    n_classes: int,
    cell_px: float = CELL_PX,
) -> Cells:
    """Aggregate the sites of a window (world pixels ``x``, ``y``; class codes 0..n_classes-1, -1 for none).

    The grid is the world's at the window's zoom (a cell does not move when the map pans), so every
    site falls in exactly one cell and the counts add up to the number of sites given. The cells are
    counted with ``bincount`` over the window's few thousand cells: no sort of the sites.
    """
    x = np.mod(np.asarray(x, dtype="float64"), WORLD_PX)
    y = np.asarray(y, dtype="float64")
    size = cell_px / window.scale  # a cell's side in world pixels
    n_cols_world = max(math.ceil(WORLD_PX / size), 1)
    n_cols = min(n_cols_world, math.ceil((window.x1 - window.x0) / size) + 2)
    n_rows = math.ceil((window.y1 - window.y0) / size) + 2
    first_col, first_row = math.floor(window.x0 / size), math.floor(window.y0 / size)
    col = np.mod(np.floor(x / size).astype(np.int64) - first_col, n_cols_world)
    row = np.floor(y / size).astype(np.int64) - first_row
    key = np.clip(row, 0, n_rows - 1) * n_cols + np.clip(col, 0, n_cols - 1)
    n_keys = n_rows * n_cols
    # sites per cell and class in one count (class -1, none, in slot 0): not one pass per class
    codes = np.asarray(class_code, dtype=np.int64)
    codes = np.where((codes >= 0) & (codes < n_classes), codes, -1)
    per_class = np.bincount(key * (n_classes + 1) + (codes + 1), minlength=n_keys * (n_classes + 1))
    per_class = per_class.reshape(n_keys, n_classes + 1)
    count_all = per_class.sum(axis=1)
    cells = np.flatnonzero(count_all)
    count = count_all[cells]

    def per_cell(weights: np.ndarray) -> np.ndarray:
        return np.bincount(key, weights=weights, minlength=n_keys)[cells]

    # a cell's sites are within one cell of each other, so their mean x never straddles the antimeridian
    mean_x = per_cell(x) / count
    mean_y = per_cell(y) / count
    by_class = np.ascontiguousarray(per_class[cells, 1:].T)
    present = by_class > 0
    top = np.where(present.any(axis=0), n_classes - 1 - np.argmax(present[::-1], axis=0), -1).astype(np.int8)
    risk = np.asarray(risk, dtype="float64")
    finite = np.isfinite(risk)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_risk = per_cell(np.where(finite, risk, 0.0)) / per_cell(finite.astype("float64"))
    lon, lat = lonlat_of_px(mean_x, mean_y)
    return Cells(lon=lon, lat=lat, count=count, by_class=by_class, top_class=top, mean_risk=mean_risk)


def cell_marker_px(count: np.ndarray, min_px: float = 9.0, max_px: float = CELL_PX) -> np.ndarray:
    """Marker diameters (px) of cells: area grows with the log of the count (1 site: ``min_px``)."""
    c = np.asarray(count, dtype="float64")
    top = max(float(np.log10(c.max())) if len(c) else 0.0, 1.0)
    return (min_px + (max_px - min_px) * np.sqrt(np.log10(np.maximum(c, 1.0)) / top)).astype("float32")
