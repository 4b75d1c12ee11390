"""Screening an area of interest (AOI): the sites, protected areas and ecosystems in or near it.

An AOI is one or several features in EPSG:4326: polygons (a concession, a protected area of the
analyst's own), lines (a road corridor) or points (a project site). With a buffer distance d:

- a **polygon** feature is the AOI itself; the screen keeps what lies inside it or within d km
  of it. ``dist_aoi_km`` is the geodesic distance to the polygon (0 inside or on its edge) and
  ``in_aoi`` says "inside the polygon".
- a **line** or **point** feature stands for its geodesic corridor (disc) of d km: the AOI *is*
  that corridor, so ``in_aoi`` is "within d km" and ``dist_aoi_km`` is the geodesic distance to the
  line or point itself (the road, the project site). A line or point needs d > 0.

Each feature is screened on its own (sites, protected areas and ecosystems per feature), or, with
``union=True``, all features together as one AOI: the overlap areas are then of the union (a
protected area touched by two overlapping features counts once), and distances are to the
nearest feature.

Distances come from the proximity engine (:func:`geo.proximity.nearest_distance_km`: ellipsoidal
geodesics on WGS84, exact closest point, within max(50 m, 0.5 %) of a densified ``pyproj.Geod``
reference) after a conservative lon/lat envelope of the AOI (``geo.proximity.lonlat_envelopes``,
the engine's own rule) has picked the candidates, so a 100,000-site inventory costs only the sites
near the AOI. AOI edges are straight in lon/lat as in RFC 7946 (segmentized to 0.01° before the
engine, which joins vertices by great circles, sees them). Areas are equal-area (EPSG:6933, see
``geo.zones``) of shapely overlays in lon/lat; buffers are geodesic (``geo.zones.geodesic_buffer``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from geo.proximity import PA_ATTRIBUTE_COLUMNS, lonlat_envelopes, nearest_distance_km
from geo.zones import (
    MAX_BUFFER_KM,
    ZoneInputError,
    equal_area_km2,
    geodesic_buffers,
    segmentize_lonlat,
    split_at_antimeridian,
)

__all__ = [
    "AOI_KINDS",
    "MIXED_KIND",
    "UNION_ID",
    "AoiInputError",
    "AoiScreening",
    "PreparedAoi",
    "compute_aoi_ecosystems",
    "compute_aoi_overlaps",
    "compute_aoi_protected_areas",
    "compute_aoi_sites",
    "feature_kinds",
    "normalise_features",
    "prepare_aoi",
    "screen_aoi",
]

#: the kinds of AOI feature, by geometry: (Multi)Polygon, (Multi)LineString, (Multi)Point
AOI_KINDS: tuple[str, ...] = ("polygon", "line", "point")
#: ``aoi_id`` of the single screening unit when the features are screened as their union
UNION_ID = "union"
#: the kind of a geometry collection that mixes polygons, lines and points (not screenable as one)
MIXED_KIND = "mixed"
#: site columns added by the screen, in order
SITE_COLUMNS: tuple[str, ...] = ("in_aoi", "dist_aoi_km", "aoi_id", "aoi_name", "aoi_ids")
_KIND_OF_TYPE = {0: "point", 1: "line", 2: "line", 3: "polygon", 4: "point", 5: "line", 6: "polygon"}
_EPS_KM = 1e-9
# the zones' polygons lie inside the true zones by < 3.1e-4 of the distance (chords of 128-gons)
# and by the azimuthal projection's scale error, < ρ²/(6R²) at ρ = half a 25 km piece + the
# distance: a search zone wider by twice that and 1 m holds every point within the buffer
_CHORD_ERROR = 3.1e-4
#: the numeric columns of the protected-area and ecosystem tables, in order
_OVERLAP_NUMBERS: tuple[str, ...] = ("dist_km", "overlap_km2", "overlap_with_buffer_km2", "area_km2", "overlap_pct")
#: the parcels of one protected area share its id and name; the columns the PA tables carry
_PA_KEYS: tuple[tuple[str, ...], tuple[str, ...]] = (("pa_id", "name"), PA_ATTRIBUTE_COLUMNS)


class AoiInputError(ValueError):
    """An area of interest or a screening input that cannot be used; the message says how to fix it."""

    def __init__(self, problem: str, fix: str) -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem}. Fix: {fix}")


# ----------------------------------------------------------------------------- the prepared AOI
@dataclass(frozen=True)
class PreparedAoi:
    """AOI features with their geodesic zones; build with :func:`prepare_aoi`. Read-only.

    ``features`` holds ``aoi_id``, ``name``, ``kind``, ``area_km2`` (the AOI proper: the polygon,
    or the line's or point's corridor) and ``zone_km2`` (the AOI and its buffer), with the feature
    itself as geometry (EPSG:4326, segmentized to 0.01°). ``area_geoms`` and ``zone_geoms`` are
    those two regions as lon/lat polygons, row by row; ``search_geoms`` are zones a little wider
    than the buffer (by twice the polygons' inward error, and 1 m), which every geometry within the
    buffer meets: a cheap prepared test before the exact distances.
    """

    features: gpd.GeoDataFrame
    area_geoms: np.ndarray
    zone_geoms: np.ndarray
    buffer_km: float
    union: bool
    search_geoms: np.ndarray

    def units(self) -> list[tuple[str, str, np.ndarray, BaseGeometry, BaseGeometry]]:
        """Screening units: (aoi_id, name, feature positions, area, zone); one, the union, if ``union``."""
        return self._units

    @cached_property
    def _units(self) -> list[tuple[str, str, np.ndarray, BaseGeometry, BaseGeometry]]:
        if self.union:
            everything = np.arange(len(self.features))
            names = ", ".join(n for n in self.features["name"] if n)
            return [
                (
                    UNION_ID,
                    names,
                    everything,
                    shapely.union_all(self.area_geoms),
                    shapely.union_all(self.zone_geoms),
                )
            ]
        return [
            (str(i), str(n), np.array([k]), self.area_geoms[k], self.zone_geoms[k])
            for k, (i, n) in enumerate(zip(self.features["aoi_id"], self.features["name"], strict=True))
        ]


def _geom_array(obj: object, what: str) -> np.ndarray:
    if not isinstance(obj, gpd.GeoSeries | gpd.GeoDataFrame):
        raise AoiInputError(f"{what} must be a GeoSeries or GeoDataFrame, got {type(obj).__name__}", "load it first")
    crs = obj.crs
    if crs is not None and crs.to_epsg() != 4326:
        raise AoiInputError(
            f"{what} are in {crs.to_string()}, not EPSG:4326 longitude/latitude",
            "reproject with .to_crs('EPSG:4326') (the loaders in layers/ do this)",
        )
    geoms = obj.geometry if isinstance(obj, gpd.GeoDataFrame) else obj
    return np.asarray(geoms.values, dtype=object)


def feature_kinds(geoms: object) -> np.ndarray:
    """The AOI kind of each geometry: one of :data:`AOI_KINDS`, "" when missing or empty, and
    :data:`MIXED_KIND` for a collection holding several kinds."""
    arr = np.asarray(getattr(geoms, "values", geoms), dtype=object)
    out = np.full(len(arr), "", dtype=object)
    ok = np.flatnonzero(~(shapely.is_missing(arr) | shapely.is_empty(arr)))
    if len(ok) == 0:
        return out
    parts, owner = shapely.get_parts(arr[ok], return_index=True)
    sub, sub_owner = shapely.get_parts(parts, return_index=True)  # collections inside collections
    kinds = np.array([_KIND_OF_TYPE.get(int(t), "") for t in shapely.get_type_id(sub)], dtype=object)
    known = kinds != ""
    per = (
        pd.Series(kinds[known])
        .groupby(owner[sub_owner][known])
        .agg(lambda k: k.iat[0] if k.nunique() == 1 else MIXED_KIND)
    )
    out[ok[per.index.to_numpy()]] = per.to_numpy()
    return out


def normalise_features(geoms: object) -> tuple[np.ndarray, np.ndarray, int]:
    """AOI geometries made usable: 2-D, invalid polygons repaired (their polygonal part kept).

    Returns
    -------
    (geometries, kinds from :func:`feature_kinds`, number repaired). A polygon with no area left
    after repair becomes None with kind "".
    """
    arr = shapely.force_2d(np.asarray(getattr(geoms, "values", geoms), dtype=object))
    kinds = feature_kinds(arr)
    bad = np.flatnonzero((kinds == "polygon") & ~shapely.is_valid(arr))
    for i in bad:
        fixed = shapely.get_parts(shapely.get_parts(shapely.make_valid(arr[i])))
        polys = fixed[shapely.get_type_id(fixed) == 3]
        arr[i] = shapely.union_all(polys) if len(polys) else None
        if not len(polys):
            kinds[i] = ""
    return arr, kinds, len(bad)


def _check_buffer(buffer_km: float) -> float:
    try:
        d = float(buffer_km)
    except (TypeError, ValueError):
        d = float("nan")
    if not np.isfinite(d) or d < 0 or d > MAX_BUFFER_KM:
        raise AoiInputError(
            f"buffer_km {buffer_km!r} is not a distance between 0 and {MAX_BUFFER_KM:g} km",
            "give the buffer in kilometres, e.g. 10",
        )
    return d


def prepare_aoi(aoi: gpd.GeoDataFrame | gpd.GeoSeries, *, buffer_km: float = 0.0, union: bool = False) -> PreparedAoi:
    """Validate an AOI and build its geodesic zones.

    Parameters
    ----------
    aoi : features in EPSG:4326 (polygons, lines, points; several allowed). Optional columns
        ``aoi_id`` (unique; else ``aoi-1``, ``aoi-2``... in row order) and ``name``.
    buffer_km : buffer distance, km (0 to 500). Lines and points need a positive buffer.
    union : screen all features as one AOI (their union) instead of each on its own.

    Returns
    -------
    PreparedAoi

    Raises
    ------
    AoiInputError
        not a GeoDataFrame/GeoSeries in EPSG:4326, no feature with a geometry, duplicate ids, a
        feature mixing geometry types, a bad buffer (negative, > 500 km, or 0 with lines/points),
        an edge jumping across ±180°, or a zone reaching a pole.
    """
    geoms = _geom_array(aoi, "the AOI features")
    d = _check_buffer(buffer_km)
    frame = aoi if isinstance(aoi, gpd.GeoDataFrame) else gpd.GeoDataFrame(geometry=aoi)
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not keep.any():
        raise AoiInputError("the AOI has no feature with a geometry", "give at least one polygon, line or point")
    n = len(geoms)
    ids = (
        frame["aoi_id"].astype("string").fillna("").str.strip().to_numpy(dtype=object)
        if "aoi_id" in frame.columns
        else np.array([f"aoi-{i + 1}" for i in range(n)], dtype=object)
    )
    missing_id = ids == ""
    ids[missing_id] = [f"aoi-{i + 1}" for i in np.flatnonzero(missing_id)]
    names = (
        frame["name"].astype("string").fillna("").to_numpy(dtype=object)
        if "name" in frame.columns
        else np.full(n, "", dtype=object)
    )
    ids, names, geoms = ids[keep], names[keep], geoms[keep]
    dup = pd.Series(ids).duplicated()
    if dup.any():
        raise AoiInputError(
            f"AOI ids {sorted(set(ids[dup.to_numpy()]))[:5]} are used by several features",
            "give each feature its own aoi_id (or drop the column to number them)",
        )
    geoms, kinds, _ = normalise_features(geoms)
    if (kinds == "").any():
        raise AoiInputError(
            f"AOI feature {ids[kinds == ''][0]!r} is an invalid polygon with no area left after repair",
            "fix or drop that feature",
        )
    if (kinds == MIXED_KIND).any():
        raise AoiInputError(
            f"AOI feature {ids[kinds == MIXED_KIND][0]!r} mixes polygons, lines or points in one geometry collection",
            "make one feature per geometry type",
        )
    if d == 0 and (kinds != "polygon").any():
        first = ids[kinds != "polygon"][0]
        raise AoiInputError(
            f"AOI feature {first!r} is a {kinds[kinds != 'polygon'][0]} and the buffer is 0 km: it would enclose nothing",
            "give a buffer (e.g. buffer_km=10): lines and points are screened within that distance",
        )
    area = np.empty(len(geoms), dtype=object)
    zone = np.empty(len(geoms), dtype=object)
    search = np.empty(len(geoms), dtype=object)
    try:  # before segmentizing, which would fill an edge jumping across ±180° with vertices
        zone[:] = geodesic_buffers(geoms, d)
    except ZoneInputError as exc:
        raise AoiInputError(f"AOI feature {ids[exc.index]!r}: {exc.problem}", exc.fix) from exc
    for k in range(len(geoms)):
        search[k] = _search_zone(zone[k], d)
    shapely.prepare(search[~shapely.is_missing(search)])
    geoms = segmentize_lonlat(geoms)
    for k, g in enumerate(geoms):
        area[k] = g if kinds[k] == "polygon" else zone[k]
    features = gpd.GeoDataFrame(
        {
            "aoi_id": pd.array(ids, dtype="string"),
            "name": pd.array(names, dtype="string"),
            "kind": pd.array(kinds, dtype="string"),
            "area_km2": equal_area_km2(area),
            "zone_km2": equal_area_km2(zone),
        },
        geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"),
        crs="EPSG:4326",
    )
    return PreparedAoi(features, area, zone, d, bool(union), search)


def _search_zone(zone: BaseGeometry, d: float) -> BaseGeometry:
    """The zone widened by at least twice its polygon's possible inward error (and 1 m), as a planar
    buffer in degrees: a degree of longitude is at least 111.3·cos φ km and one of latitude 110.5 km,
    so ``margin / (110.5 cos φmax)`` degrees is at least ``margin`` in every direction."""
    margin_km = 2 * d * (_CHORD_ERROR + ((12.5 + d) / 6371.0) ** 2 / 6) + 0.001
    _, miny, _, maxy = zone.bounds
    phi = min(max(abs(miny), abs(maxy)), 89.5)
    return split_at_antimeridian(shapely.buffer(zone, margin_km / (110.5 * np.cos(np.radians(phi))), quad_segs=2))


# ----------------------------------------------------------------------------- distances
def _envelope_boxes(feature: BaseGeometry, buffer_km: float) -> np.ndarray:
    """The feature's conservative lon/lat envelope of ``buffer_km`` (the proximity engine's rule), as boxes."""
    boxes, _, _, _ = lonlat_envelopes(np.asarray([feature.bounds]), np.array([buffer_km + 1e-6]))
    return shapely.box(boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3])


def _candidates(obj: gpd.GeoSeries | gpd.GeoDataFrame, aoi: PreparedAoi) -> list[np.ndarray]:
    """Per AOI feature, the positions of rows whose bounding box meets its envelope.

    A frame that already has its spatial index (geopandas keeps it with the frame) is queried
    through it; otherwise a tree of the few envelope boxes is queried with every geometry, as
    geopandas' ``sjoin`` does, instead of building an index of a 300,000-row layer for one query.
    """
    boxes = [_envelope_boxes(f, aoi.buffer_km) for f in aoi.features.geometry.values]
    if obj.has_sindex:
        tree = obj.sindex
        return [np.unique(tree.query(b)[1]) for b in boxes]
    owner = np.repeat(np.arange(len(boxes)), [len(b) for b in boxes])
    geom_idx, box_idx = shapely.STRtree(np.concatenate(boxes)).query(np.asarray(obj.geometry.values))
    return [np.unique(geom_idx[owner[box_idx] == k]) for k in range(len(boxes))]


def _pairs_within(
    geoms: np.ndarray, aoi: PreparedAoi, candidates: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, feature, dist_km) for every row within ``buffer_km`` of every AOI feature (0 inside)."""
    rows, feats, dists = [], [], []
    for k, f in enumerate(aoi.features.geometry.values):
        cand = candidates[k]
        if len(cand) and aoi.search_geoms[k] is not None:
            cand = cand[shapely.intersects(aoi.search_geoms[k], geoms[cand])]
        if len(cand) == 0:
            continue
        # rows meeting the feature are at 0 km: settled here, so the engine neither walks a huge
        # outline for nothing nor misses a polygon row that holds a line or point feature (its
        # inside test is for polygon targets)
        shapely.prepare(f)
        d = np.zeros(len(cand))
        apart = ~shapely.intersects(f, geoms[cand])
        if apart.any():
            d[apart], _ = nearest_distance_km(geoms[cand[apart]], [f])
        ok = d <= aoi.buffer_km + _EPS_KM
        rows.append(cand[ok])
        feats.append(np.full(int(ok.sum()), k))
        dists.append(d[ok])
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
    return np.concatenate(rows), np.concatenate(feats), np.concatenate(dists)


def _site_pairs(sites: gpd.GeoSeries | gpd.GeoDataFrame, aoi: PreparedAoi) -> pd.DataFrame:
    """(row, feat, dist, inside) for every site within the buffer of every feature."""
    geoms = _geom_array(sites, "sites")
    rows, feats, dists = _pairs_within(geoms, aoi, _candidates(sites, aoi))
    kinds = aoi.features["kind"].to_numpy(dtype=object)
    inside = np.where(kinds[feats] == "polygon", dists <= _EPS_KM, True) if len(feats) else np.zeros(0, dtype=bool)
    return pd.DataFrame({"row": rows, "feat": feats, "dist": dists, "inside": inside.astype(bool)})


def _sites_frame(index: pd.Index, pairs: pd.DataFrame, aoi: PreparedAoi) -> pd.DataFrame:
    ids = aoi.features["aoi_id"].to_numpy(dtype=object)
    names = aoi.features["name"].to_numpy(dtype=object)
    out = pd.DataFrame(index=index[:0])
    if len(pairs) == 0:
        out["in_aoi"] = pd.Series(dtype=bool)
        out["dist_aoi_km"] = pd.Series(dtype="float64")
        for c in ("aoi_id", "aoi_name", "aoi_ids"):
            out[c] = pd.Series(dtype="string")
        return out
    by_row = pairs.sort_values(["row", "feat"], kind="stable")
    nearest = pairs.sort_values(["row", "dist", "feat"], kind="stable").drop_duplicates("row").set_index("row")
    grouped = by_row.groupby("row", sort=True)
    pos = grouped.size().index.to_numpy()
    nearest = nearest.loc[pos]
    out = pd.DataFrame(index=index[pos])
    out["in_aoi"] = grouped["inside"].any().to_numpy(dtype=bool)
    out["dist_aoi_km"] = nearest["dist"].to_numpy(dtype="float64")
    feat = nearest["feat"].to_numpy()
    out["aoi_id"] = pd.array(ids[feat], dtype="string")
    out["aoi_name"] = pd.array(names[feat], dtype="string")
    members = grouped["feat"].agg(lambda f: ";".join(ids[np.asarray(f)]))
    out["aoi_ids"] = pd.array(members.to_numpy(dtype=object), dtype="string")
    return out


def compute_aoi_sites(sites: gpd.GeoSeries | gpd.GeoDataFrame, aoi: PreparedAoi) -> pd.DataFrame:
    """The sites inside the AOI or within its buffer, with their distance and AOI feature.

    Parameters
    ----------
    sites : site geometries (points or polygons) in EPSG:4326.
    aoi : from :func:`prepare_aoi`.

    Returns
    -------
    pandas.DataFrame indexed by the selected sites' index labels, in input order:
        ``in_aoi`` (bool: inside a polygon feature, or within the buffer of a line/point feature),
        ``dist_aoi_km`` (float64, km, geodesic to the nearest feature; 0 inside a polygon),
        ``aoi_id`` / ``aoi_name`` (string: that nearest feature, the first in AOI order on ties),
        ``aoi_ids`` (string: every feature whose screen holds the site, ';'-joined, in AOI order).
    """
    return _sites_frame(sites.index, _site_pairs(sites, aoi), aoi)


# ----------------------------------------------------------------------------- layers in the AOI
def _grouped(
    layer: gpd.GeoDataFrame, key_columns: Sequence[str] | None, attribute_columns: Sequence[str], aoi: PreparedAoi
) -> tuple[pd.DataFrame, np.ndarray]:
    """The features that may lie within the buffer, one row per key (rows sharing the key
    dissolved into one geometry), and their geometries.

    Rows are first narrowed to the AOI's envelope candidates (a bounds test over the whole
    layer); with a key, every row sharing a candidate's key is brought back (a parcel far away
    still belongs to the protected area).
    """
    geoms = _geom_array(layer, "layer features")
    cols = list(dict.fromkeys([*(key_columns or ()), *attribute_columns]))
    missing = [c for c in cols if c not in layer.columns]
    if missing:
        raise AoiInputError(f"the layer lacks the column(s) {missing}", "load it with the layers/ loaders")
    near = np.zeros(len(geoms), dtype=bool)
    for cand in _candidates(layer, aoi):  # (missing and empty geometries are not in the index)
        near[cand] = True
    if key_columns and near.any():  # every row sharing a candidate's first key: its other parcels
        first_key = layer[key_columns[0]]
        near = first_key.isin(first_key[near].unique()).to_numpy().copy()
        idx = np.flatnonzero(near)
        near[idx[shapely.is_missing(geoms[idx]) | shapely.is_empty(geoms[idx])]] = False
    idx = np.flatnonzero(near)
    attrs = layer[cols].iloc[idx].reset_index(drop=True)
    geoms = geoms[idx]
    if not key_columns or len(attrs) == 0:
        return attrs, geoms
    codes = attrs.groupby(list(key_columns), sort=False, dropna=False).ngroup().to_numpy()
    first = pd.Series(np.arange(len(codes))).groupby(codes, sort=True).first().to_numpy()
    out = np.empty(len(first), dtype=object)
    counts = np.bincount(codes)
    for c in range(len(first)):
        out[c] = geoms[first[c]] if counts[c] == 1 else shapely.union_all(geoms[codes == c])
    return attrs.iloc[first].reset_index(drop=True), out


def compute_aoi_overlaps(
    aoi: PreparedAoi,
    layer: gpd.GeoDataFrame,
    *,
    key_columns: Sequence[str] | None = None,
    attribute_columns: Sequence[str] = (),
) -> pd.DataFrame:
    """Features of a layer inside the AOI or within its buffer, with distance and overlap areas.

    Parameters
    ----------
    aoi : from :func:`prepare_aoi`.
    layer : GeoDataFrame in EPSG:4326: polygons (areas are measured), lines or points (area 0).
    key_columns : rows sharing these values are one feature (their geometries unioned), e.g. the
        parcels of one protected area; None: every row is its own feature.
    attribute_columns : columns copied to the output (from the feature's first row).

    Returns
    -------
    pandas.DataFrame, one row per (screening unit, feature) within the buffer, sorted by unit, then
    overlap (largest first), then distance: ``aoi_id``, ``aoi_name``, the key and attribute columns,
    ``dist_km`` (geodesic AOI-to-feature distance, 0 where they meet), ``overlap_km2`` (feature ∩
    AOI, equal-area), ``overlap_with_buffer_km2`` (feature ∩ AOI and buffer), ``area_km2`` (the
    feature's own area) and ``overlap_pct`` (overlap_km2 as % of area_km2; NaN for lines/points).
    """
    return _layer_overlaps(aoi, layer, key_columns, attribute_columns)[0]


def _layer_overlaps(
    aoi: PreparedAoi, layer: gpd.GeoDataFrame, key_columns: Sequence[str] | None, attribute_columns: Sequence[str]
) -> tuple[pd.DataFrame, np.ndarray]:
    """:func:`compute_aoi_overlaps` and, row by row, the feature's part inside the AOI (None if none)."""
    attrs, geoms = _grouped(layer, key_columns, attribute_columns, aoi)
    everything = np.arange(len(geoms))
    rows, feats, dists = _pairs_within(geoms, aoi, [everything] * len(aoi.features))
    cols = ["aoi_id", "aoi_name", *attrs.columns]
    num = list(_OVERLAP_NUMBERS)
    parts, part_geoms = [], []
    for unit_id, unit_name, members, area, zone in aoi.units():
        sel = np.isin(feats, members)
        if not sel.any():
            continue
        d = pd.Series(dists[sel]).groupby(rows[sel]).min()
        pos = d.index.to_numpy()
        g = geoms[pos]
        part = attrs.iloc[pos].reset_index(drop=True)
        part.insert(0, "aoi_name", unit_name)
        part.insert(0, "aoi_id", unit_id)
        part["dist_km"] = d.to_numpy()
        part["overlap_km2"], inside = _overlap_km2(g, area)
        part["overlap_with_buffer_km2"], _ = _overlap_km2(g, zone)
        part["area_km2"] = equal_area_km2(g)
        with np.errstate(invalid="ignore", divide="ignore"):
            part["overlap_pct"] = np.where(part["area_km2"] > 0, 100.0 * part["overlap_km2"] / part["area_km2"], np.nan)
        order = np.lexsort((part["dist_km"].to_numpy(), -part["overlap_km2"].to_numpy()))
        parts.append(part.iloc[order])
        part_geoms.append(inside[order])
    if not parts:
        return _empty_overlaps(attrs.iloc[:0]), np.empty(0, dtype=object)
    out = pd.concat(parts, ignore_index=True)
    out["aoi_id"] = out["aoi_id"].astype("string")
    out["aoi_name"] = out["aoi_name"].astype("string")
    return out[[*cols, *num]], np.concatenate(part_geoms)


def _empty_overlaps(attrs: pd.DataFrame) -> pd.DataFrame:
    """The overlaps table with no row, typed: AOI columns, ``attrs``' columns, the numbers."""
    empty = pd.DataFrame({c: pd.Series(dtype="string") for c in ("aoi_id", "aoi_name")})
    for c in attrs.columns:
        empty[c] = pd.Series(dtype=attrs[c].dtype)
    for c in _OVERLAP_NUMBERS:
        empty[c] = pd.Series(dtype="float64")
    return empty


def _overlap_km2(geoms: np.ndarray, region: BaseGeometry) -> tuple[np.ndarray, np.ndarray]:
    """Equal-area km² of each geometry inside ``region`` (0 for lines and points), and those parts."""
    out = np.zeros(len(geoms))
    parts = np.full(len(geoms), None, dtype=object)
    poly = np.flatnonzero(np.isin(shapely.get_type_id(geoms), (3, 6, 7)))
    if len(poly) == 0 or region is None or region.is_empty:
        return out, parts
    shapely.prepare(region)
    g = geoms[poly]
    inside = shapely.covers(region, g)
    parts[poly[inside]] = g[inside]
    rest = np.flatnonzero(~inside & shapely.intersects(region, g))
    if len(rest):
        parts[poly[rest]] = shapely.intersection(g[rest], region)
    has = ~shapely.is_missing(parts)
    out[has] = equal_area_km2(parts[has])
    return out, parts


def compute_aoi_protected_areas(aoi: PreparedAoi, protected_areas: gpd.GeoDataFrame) -> pd.DataFrame:
    """Protected areas the AOI intersects or comes within its buffer of (see :func:`compute_aoi_overlaps`).

    ``protected_areas`` is in the PA schema (``pa_id``, ``name``, ``designation``, ``iucn_cat``;
    ``layers.schema.PA_COLUMNS``). Rows sharing ``pa_id`` and ``name`` (the parcels of one site)
    are one protected area. Output columns: ``aoi_id``, ``aoi_name``, ``pa_id``, ``name``,
    ``designation``, ``iucn_cat``, ``dist_km``, ``overlap_km2``, ``overlap_with_buffer_km2``,
    ``area_km2`` and ``overlap_pct`` (% of the protected area inside the AOI).
    """
    return _layer_overlaps(aoi, protected_areas, *_PA_KEYS)[0]


def compute_aoi_ecosystems(aoi: PreparedAoi, layers: Mapping[str, gpd.GeoDataFrame]) -> pd.DataFrame:
    """Ecosystem features (e.g. ``{"rainforest": ..., "reefs": ...}``, each with ``name``) in or near the AOI.

    Output: ``aoi_id``, ``aoi_name``, ``ecosystem`` (the mapping's key), ``name``, then the columns
    of :func:`compute_aoi_overlaps`; one row per feature (features are not merged by name).
    """
    parts = []
    for label, layer in layers.items():
        if layer is None:
            continue
        part = compute_aoi_overlaps(aoi, layer, attribute_columns=("name",))
        part.insert(2, "ecosystem", pd.array([label] * len(part), dtype="string"))
        parts.append(part)
    if not parts:
        return _empty_overlaps(
            pd.DataFrame({"ecosystem": pd.Series(dtype="string"), "name": pd.Series(dtype="string")})
        )
    return pd.concat(parts, ignore_index=True)


# ----------------------------------------------------------------------------- the whole screen
@dataclass(frozen=True)
class AoiScreening:
    """Everything :func:`screen_aoi` found. ``sites`` is the selection the risk totals are taken over."""

    aoi: PreparedAoi
    sites: pd.DataFrame
    protected_areas: pd.DataFrame
    ecosystems: pd.DataFrame
    units: pd.DataFrame

    @property
    def site_index(self) -> pd.Index:
        """Index labels of the selected sites (inside the AOI or within the buffer), in input order."""
        return self.sites.index

    def select(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Rows of ``frame`` (indexed like the screened sites, e.g. the scored sites) that were selected,
        with the AOI columns (``in_aoi``, ``dist_aoi_km``, ``aoi_id``, ``aoi_name``, ``aoi_ids``) appended."""
        missing = self.sites.index.difference(frame.index)
        if len(missing):
            raise AoiInputError(
                f"{len(missing)} selected site(s) are not in the frame (e.g. {list(missing[:3])})",
                "pass the frame of the sites that were screened, with the same index",
            )
        clash = [c for c in SITE_COLUMNS if c in frame.columns]
        base = frame.drop(columns=clash).loc[self.sites.index]
        return base.join(self.sites[list(SITE_COLUMNS)])


def screen_aoi(
    sites: gpd.GeoSeries | gpd.GeoDataFrame,
    aoi: PreparedAoi,
    *,
    protected_areas: gpd.GeoDataFrame | None = None,
    ecosystems: Mapping[str, gpd.GeoDataFrame] | None = None,
) -> AoiScreening:
    """Screen an AOI: its sites, protected areas and ecosystems, and a summary per screening unit.

    Parameters
    ----------
    sites : site geometries in EPSG:4326 (a GeoSeries, or a GeoDataFrame whose geometry is used).
    aoi : from :func:`prepare_aoi`.
    protected_areas : PA-schema GeoDataFrame, or None.
    ecosystems : mapping of label to a ``name`` + geometry layer (rainforest, reefs...), or None.

    Returns
    -------
    AoiScreening
        ``sites`` (:func:`compute_aoi_sites`), ``protected_areas`` (:func:`compute_aoi_protected_areas`),
        ``ecosystems`` (:func:`compute_aoi_ecosystems`) and ``units``: one row per screening unit
        (each feature, or the union) with ``aoi_id``, ``name``, ``kind``, ``area_km2``, ``zone_km2``,
        ``n_sites`` (within the buffer), ``n_sites_in_aoi``, ``n_protected_areas`` (within the buffer),
        ``protected_km2`` (area of the AOI under any protected area, overlaps counted once) and
        ``protected_pct`` (of the AOI's area).
    """
    pairs = _site_pairs(sites, aoi)
    site_rows = _sites_frame(sites.index, pairs, aoi)
    layer = protected_areas if protected_areas is not None else _EMPTY_PA
    pas, pa_geoms = _layer_overlaps(aoi, layer, *_PA_KEYS)
    eco = compute_aoi_ecosystems(aoi, ecosystems or {})
    rows = []
    for unit_id, name, members, area, zone in aoi.units():
        mine = pairs[np.isin(pairs["feat"], members)]
        feats = aoi.features.iloc[members]
        touching = ((pas["aoi_id"] == unit_id) & (pas["overlap_km2"] > 0)).to_numpy()
        protected = _covered_km2(pa_geoms[touching])
        area_km2 = float(equal_area_km2([area])[0])
        rows.append(
            {
                "aoi_id": unit_id,
                "name": name,
                "kind": ";".join(sorted(set(feats["kind"]))),
                "area_km2": area_km2,
                "zone_km2": float(equal_area_km2([zone])[0]),
                "n_sites": int(mine["row"].nunique()),
                "n_sites_in_aoi": int(mine.loc[mine["inside"], "row"].nunique()),
                "n_protected_areas": int((pas["aoi_id"] == unit_id).sum()),
                "protected_km2": protected,
                "protected_pct": 100.0 * protected / area_km2 if area_km2 > 0 else np.nan,
            }
        )
    units = pd.DataFrame(rows)
    for c in ("aoi_id", "name", "kind"):
        units[c] = units[c].astype("string")
    return AoiScreening(aoi, site_rows, pas, eco, units)


def _covered_km2(parts: np.ndarray) -> float:
    """Equal-area km² of the union of the protected areas' parts inside the AOI (overlaps counted once)."""
    if len(parts) == 0:
        return 0.0
    return float(equal_area_km2([shapely.union_all(parts)])[0])


_EMPTY_PA = gpd.GeoDataFrame(
    {c: pd.Series(dtype="string") for c in PA_ATTRIBUTE_COLUMNS}, geometry=gpd.GeoSeries([], crs="EPSG:4326")
)
