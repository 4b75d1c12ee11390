"""Pure data views for the dashboard: filtering, table rows, site detail, summaries (no dash imports).

Filtering works on a *prepared* frame (``prepare_scored``): the filter columns are
categoricals, so a country filter on 100k rows compares small integer codes, not strings.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from dashboard.chart_data import (  # noqa: F401  (re-exported: the chart summaries were defined here)
    BUFFER_MARKS_KM,
    commodity_counts,
    ecdf,
    mercury_by_country,
    remember_sorted_distances,
    risk_by_country,
    share_within,
)
from dashboard.ordering import sorted_positions
from dashboard.risk_text import (
    complete_cell_text,
    finite,
    mercury_cell_text,
    not_assessed_words,
    probability_text,
    risk_cell_text,
    short_number,
    with_explanations,
)
from dashboard.state import MAX_SELECTION_VERTICES, RISK_CLASSES, aoi_polygon, sanitise_state
from dashboard.totals import DIGEST_ATTR, inputs_digest, remember_draw_inputs
from dashboard.weights import weight_changes
from geo.proximity import nearest_features
from geo.risk import RiskConfig
from scoring.pipeline import ordered_output_columns

CATEGORY_COLUMNS: tuple[str, ...] = ("country_iso3", "commodity", "risk_class", "mercury_use", "processing")

# The grid's columns: the core of the output contract (the full contract is in every export).
# The risk score and class come right after the id and name: visible at 1400 px without scrolling.
# risk_0_100 and hg_kg_per_yr are shown with their 90 % range (the hidden band columns), the value
# itself stays the number the grid sorts and filters.
TABLE_COLUMNS: tuple[str, ...] = (
    "site_id", "name", "risk_0_100", "risk_class", "p_high_or_above", "score_complete", "country_iso3",
    "commodity", "mercury_use", "workers", "hg_kg_per_yr", "in_protected_area", "dist_protected_area_km",
    "nearest_protected_area", "nearest_protected_area_iucn", "protected_areas_within_10km", "in_rainforest",
    "dist_rainforest_km", "dist_reef_km", "in_arctic", "observed_date", "lon", "lat",
    "risk_0_100_low", "risk_0_100_high", "hg_kg_per_yr_low", "hg_kg_per_yr_high",
)  # fmt: skip
#: columns sent with every row for the cells that show a band, but not shown themselves
HIDDEN_TABLE_COLUMNS: frozenset[str] = frozenset(
    ("risk_0_100_low", "risk_0_100_high", "hg_kg_per_yr_low", "hg_kg_per_yr_high")
)
NUMERIC_TABLE_COLUMNS: frozenset[str] = frozenset(
    ("workers", "risk_0_100", "risk_0_100_low", "risk_0_100_high", "p_high_or_above", "hg_kg_per_yr_low",
     "hg_kg_per_yr", "hg_kg_per_yr_high", "dist_protected_area_km", "protected_areas_within_10km",
     "dist_rainforest_km", "dist_reef_km", "lon", "lat")
)  # fmt: skip
#: per-row fields of a table block that are no column: the explanation (the risk cell's tooltip), the
#: receptors not assessed in words, and the display text of the cells that show more than their value
ROW_EXTRAS: tuple[str, ...] = (
    "risk_explanation", "not_assessed", "risk_text", "hg_text", "p_high_text", "complete_text",
)  # fmt: skip
_ROUND = {"lon": 4, "lat": 4, "risk_0_100": 1, "risk_0_100_low": 1, "risk_0_100_high": 1, "workers": 0,
          "p_high_or_above": 4, "hg_kg_per_yr_low": 4, "hg_kg_per_yr": 4, "hg_kg_per_yr_high": 4}  # fmt: skip
ROW = "_row"  # position in the prepared frame (not exported)


# --- preparation ----------------------------------------------------------------------
def prepare_scored(scored: pd.DataFrame) -> pd.DataFrame:
    """A copy whose filter columns are categoricals (fast ``isin``) and whose dates are datetimes."""
    out = scored.copy()
    out[ROW] = np.arange(len(out), dtype="int32")  # stable position: map points and clicks refer to it
    for col in CATEGORY_COLUMNS:
        if col in out.columns and not isinstance(out[col].dtype, pd.CategoricalDtype):
            out[col] = out[col].astype("category")
    if "risk_class" in out.columns:
        out["risk_class"] = out["risk_class"].cat.set_categories(list(RISK_CLASSES))
    if "observed_date" in out.columns and not pd.api.types.is_datetime64_any_dtype(out["observed_date"]):
        out["observed_date"] = pd.to_datetime(out["observed_date"], errors="coerce")
    for col in out.columns:
        arr = out[col].array
        if isinstance(arr, pd.arrays.ArrowStringArray) and arr._pa_array.num_chunks > 1:
            # one chunk: taking 100 rows of a column read in row groups concatenated every chunk first
            # (~2-4 ms a column at 1M rows, in every table block, map and filter); once per dataset here
            out[col] = pd.Series(
                type(arr)(pa.chunked_array([arr._pa_array.combine_chunks()]), dtype=arr.dtype), index=out.index
            )
    remember_sorted_distances(out)  # the distance chart of any view of it reads them off (no sort of 1M rows)
    out.attrs[DIGEST_ATTR] = inputs_digest(out)  # once per dataset: the mercury totals' memo keys views by it
    remember_draw_inputs(out)  # the Monte Carlo inputs of every row, once: a new view takes its rows
    return out


def _isin(series: pd.Series, values: Iterable[str]) -> np.ndarray:
    if isinstance(series.dtype, pd.CategoricalDtype):
        # a lookup of each code in a table of the categories (code -1, missing, reads the last entry: False):
        # one gather over the rows, where np.isin sorted or compared every row (~15-25 ms at 1M rows)
        wanted = np.zeros(len(series.cat.categories) + 1, dtype=bool)
        wanted[:-1] = series.cat.categories.isin(list(values))
        return wanted[series.cat.codes.to_numpy()]
    return series.isin(list(values)).fillna(False).to_numpy(dtype=bool)


def _col(frame: pd.DataFrame, name: str, fill: float | bool) -> np.ndarray:
    if name not in frame.columns:
        return np.full(len(frame), fill)
    s = frame[name]
    if isinstance(fill, bool):
        return s.fillna(fill).to_numpy(dtype=bool)
    return s.to_numpy(dtype="float64", na_value=np.nan)


# --- filtering --------------------------------------------------------------------------
def filter_mask(scored: pd.DataFrame, state: Mapping[str, Any]) -> np.ndarray:
    """Boolean mask of the rows passing every filter in ``state`` (see dashboard.state), the map selection included."""
    n = len(scored)
    mask = np.ones(n, dtype=bool)
    if state.get("countries"):
        mask &= _isin(scored["country_iso3"], state["countries"])
    if state.get("commodities"):
        mask &= _isin(scored["commodity"], state["commodities"])
    risk = state.get("risk_classes")
    if risk is not None and "risk_class" in scored.columns and set(risk) != set(RISK_CLASSES):
        mask &= _isin(scored["risk_class"], risk)
    if state.get("mercury_use") and "mercury_use" in scored.columns:
        mask &= _isin(scored["mercury_use"], state["mercury_use"])
    pa_mode = state.get("pa_mode", "any")
    if pa_mode != "any":
        pa_km = float(state.get("pa_km", 10.0))
        inside = _col(scored, "in_protected_area", False)
        dist = _col(scored, "dist_protected_area_km", np.nan)
        with np.errstate(invalid="ignore"):
            near = inside | (dist <= pa_km)
            far = ~inside & (dist > pa_km)  # an unknown distance is neither near nor far
        mask &= {"inside": inside, "near": near, "far": far}[pa_mode]
    ecosystems = state.get("ecosystems") or []
    if ecosystems:
        eco_km = float(state.get("eco_km", 10.0))
        with np.errstate(invalid="ignore"):
            tests = {
                "rainforest": _col(scored, "in_rainforest", False)
                | (_col(scored, "dist_rainforest_km", np.nan) <= eco_km),
                "reef": _col(scored, "dist_reef_km", np.nan) <= eco_km,
                "arctic": _col(scored, "in_arctic", False) | (_col(scored, "dist_arctic_km", np.nan) <= eco_km),
            }
        any_eco = np.zeros(n, dtype=bool)
        for eco in ecosystems:
            any_eco |= tests.get(eco, np.zeros(n, dtype=bool))
        mask &= any_eco
    if (state.get("date_from") or state.get("date_to")) and "observed_date" in scored.columns:
        dates = pd.to_datetime(scored["observed_date"], errors="coerce")
        if getattr(dates.dt, "tz", None) is not None:
            dates = dates.dt.tz_localize(None)
        d = dates.to_numpy(dtype="datetime64[ns]")
        if state.get("date_from"):
            mask &= d >= np.datetime64(state["date_from"])
        if state.get("date_to"):
            mask &= d < np.datetime64(state["date_to"]) + np.timedelta64(1, "D")
    if state.get("selection"):
        mask &= in_selection(_col(scored, "lon", np.nan), _col(scored, "lat", np.nan), state["selection"])
    if state.get("aoi"):
        # the AOI's sites carry their distance to it (dashboard.aoi.scored_with_aoi); a frame without
        # the column was not screened, and shows nothing rather than everything
        with np.errstate(invalid="ignore"):
            mask &= _col(scored, "dist_aoi_km", np.nan) >= 0
    return mask


def filter_view(scored: pd.DataFrame, state: Mapping[str, Any], columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The rows passing every filter (a view: treat as read-only); with ``columns``, only those (and ROW)."""
    mask = filter_mask(scored, state)
    if columns is not None:  # a narrow view: a million-row take copies only what its reader needs
        # built from the columns themselves (copy=False): selecting them from a re-scored frame of many
        # blocks consolidated them first, a copy of every row; the frame's attrs (its digests) are kept
        attrs = scored.attrs
        scored = pd.DataFrame({c: scored[c] for c in dict.fromkeys([*columns, ROW]) if c in scored.columns}, copy=False)
        scored.attrs = dict(attrs)
    return scored if mask.all() else scored[mask]


def filters_key(state: Mapping[str, Any] | None, workspace: str | None, version: str | None = None) -> str:
    """A render state's data (the workspace and its data version: an upload or a new default redraws) and
    filters without its weights and decay, as canonical JSON: what the charts that no weight changes
    (``figures.WEIGHT_FREE_CHARTS``: the release, the distances, the commodities) depend on."""
    filters = {k: v for k, v in (state or {}).items() if k not in ("weights", "decay")}
    return json.dumps([workspace or None, version, filters], sort_keys=True, separators=(",", ":"), default=str)


def filter_sites(
    scored: pd.DataFrame,
    *,
    countries: Sequence[str] | None = None,
    commodities: Sequence[str] | None = None,
    risk_classes: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Rows matching every given filter; an empty or None filter means 'all' (risk_classes=[] means none)."""
    state: dict[str, Any] = {"countries": countries or [], "commodities": commodities or []}
    state["risk_classes"] = list(RISK_CLASSES) if risk_classes is None else list(risk_classes)
    return filter_view(scored, state)


def plural(n: int, word: str, plural_word: str | None = None) -> str:
    """'1 site', '2 sites', '1,000 sites' (``plural_word`` for irregular plurals)."""
    return f"{n:,} {word if n == 1 else (plural_word or word + 's')}"


def count_text(n_shown: int, n_total: int) -> str:
    """The always-visible 'N of M sites' ('1 of 1 site')."""
    return f"{n_shown:,} of {plural(n_total, 'site')}"


def _mercator_y(lat: np.ndarray) -> np.ndarray:
    """Web Mercator y (radians) of latitudes: the plane in which the map draws a lasso's straight edges."""
    clipped = np.radians(np.clip(np.asarray(lat, dtype="float64"), -85.0511, 85.0511))
    return np.log(np.tan(np.pi / 4 + clipped / 2))


def in_selection(lon: np.ndarray, lat: np.ndarray, polygon: Sequence[Sequence[float]]) -> np.ndarray:
    """Which points lie in (or on) a map selection polygon of [lon, lat] vertices.

    The test is made in Web Mercator (lon, Mercator y), where the map drew the lasso, so an edge between
    two vertices is the straight screen line the user saw (a selection, not a measurement).
    """
    ring = np.asarray(polygon, dtype="float64")
    lon = np.asarray(lon, dtype="float64")
    if ring.ndim != 2 or len(ring) < 3:
        return np.zeros(len(lon), dtype=bool)
    shape = shapely.Polygon(np.column_stack([ring[:, 0], _mercator_y(ring[:, 1])])).buffer(0)
    shapely.prepare(shape)
    return shapely.intersects_xy(shape, lon, _mercator_y(lat)) & np.isfinite(lon)


def selection_polygon(selected_data: Mapping | None) -> list[list[float]] | None:
    """The polygon ([lon, lat] vertices, 4 decimals, at most MAX_SELECTION_VERTICES) of a plotly map selection.

    A lasso comes as ``lassoPoints.map``, a box as ``range.map`` (two corners); None when nothing is selected
    (e.g. the map was double-clicked). A long lasso is simplified (in Web Mercator) until it fits the link.
    """
    if not selected_data:
        return None
    lasso = (selected_data.get("lassoPoints") or {}).get("map")
    box = (selected_data.get("range") or {}).get("map")
    if lasso and len(lasso) >= 3:
        ring = np.asarray(lasso, dtype="float64")
    elif box and len(box) == 2:
        (x0, y0), (x1, y1) = box
        ring = np.asarray([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype="float64")
    else:
        return None
    ring = ring[np.isfinite(ring).all(axis=1)]
    if len(ring) < 3:
        return None
    if len(ring) > MAX_SELECTION_VERTICES:
        merc = shapely.LineString(np.column_stack([ring[:, 0], _mercator_y(ring[:, 1])]))
        size = max(merc.bounds[2] - merc.bounds[0], merc.bounds[3] - merc.bounds[1], 1e-9)
        tol = size / 1000
        while len(shapely.get_coordinates(simple := merc.simplify(tol))) > MAX_SELECTION_VERTICES:
            tol *= 1.5
        xy = shapely.get_coordinates(simple)
        ring = np.column_stack([xy[:, 0], np.degrees(2 * np.arctan(np.exp(xy[:, 1])) - np.pi / 2)])
    return [[round(float(x), 4), round(float(y), 4)] for x, y in ring]


def selection_note(n_selected: int) -> str:
    """The visible note of a map selection (a filter like the others)."""
    return f"Map selection: {plural(n_selected, 'site')} in the drawn area."


def site_id_at(scored: pd.DataFrame, row: object) -> str | None:
    """The site_id at a row position of the prepared frame (from a map click), or None."""
    try:
        pos = int(row)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    if ROW not in scored.columns or not 0 <= pos < len(scored):
        return None
    return str(scored["site_id"].iloc[pos])


# --- table ---------------------------------------------------------------------------------
def table_columns(frame: pd.DataFrame) -> list[str]:
    """The grid's columns present in ``frame``."""
    return [c for c in TABLE_COLUMNS if c in frame.columns]


def table_rows(view: pd.DataFrame, config: RiskConfig | None = None) -> list[dict[str, Any]]:
    """Lean grid rows: only the table columns, floats rounded, dates as ISO text, NaN as None.

    With ``config`` (the one the rows were scored with) each row also carries :data:`ROW_EXTRAS`:
    its explanation sentence (written here when the re-score left it out) and the receptors not
    assessed for it, in words. Meant for one block of rows, not a whole view.
    """
    cols = table_columns(view)
    out = pd.DataFrame(index=view.index)
    for c in cols:
        s = view[c]
        if pd.api.types.is_bool_dtype(s.dtype):
            out[c] = s.astype(object)
        elif pd.api.types.is_numeric_dtype(s.dtype):
            out[c] = s.astype("float64").round(_ROUND.get(c, 2))
        elif pd.api.types.is_datetime64_any_dtype(s.dtype):
            out[c] = s.dt.strftime("%Y-%m-%d")
        else:
            out[c] = s.astype("string")
    out = out.astype(object).where(out.notna(), None)
    rows = out.to_dict("records")
    if config is not None and "risk_0_100" in view.columns:
        explained = with_explanations(view, config)
        explanations = explained["risk_explanation"].tolist() if "risk_explanation" in explained else [None] * len(view)
        for row, text, missing in zip(rows, explanations, not_assessed_words(view, config.weights), strict=True):
            row["risk_explanation"], row["not_assessed"] = text, missing
            _cell_texts(row)
    return rows


def _cell_texts(row: dict[str, Any]) -> None:
    """The display text of the cells that show a band, a probability or a partial score (from the row's
    rounded values, so the text and the number the grid sorts on agree)."""
    get = row.get
    row["risk_text"] = risk_cell_text(get("risk_0_100"), get("risk_0_100_low"), get("risk_0_100_high"),
                                      get("score_complete"))  # fmt: skip
    row["hg_text"] = mercury_cell_text(get("hg_kg_per_yr"), get("hg_kg_per_yr_low"), get("hg_kg_per_yr_high"))
    row["p_high_text"] = probability_text(get("p_high_or_above"))
    row["complete_text"] = complete_cell_text(get("score_complete"), get("not_assessed") or "")


# --- site detail ------------------------------------------------------------------------------
def site_record(scored: pd.DataFrame, site_id: str | None) -> dict[str, Any] | None:
    """Every attribute of one site (geometry as WKT type only), or None when it is not in ``scored``."""
    if site_id is None or "site_id" not in scored.columns:
        return None
    hit = scored[scored["site_id"].astype("string") == str(site_id)]
    if hit.empty:
        return None
    row = hit.iloc[0]
    rec: dict[str, Any] = {}
    for col, val in row.items():
        if col == ROW:
            continue
        if col == "geometry":
            rec["geometry_type"] = getattr(val, "geom_type", None)
            continue
        if (isinstance(val, float) and math.isnan(val)) or val is pd.NA or val is pd.NaT:
            val = None
        elif isinstance(val, np.generic):
            val = val.item()
        rec[str(col)] = val
    return rec


def site_detail_record(scored: pd.DataFrame, site_id: str | None, config: RiskConfig) -> dict[str, Any] | None:
    """``site_record`` with the site's explanation sentence written when the re-score left it out."""
    if site_id is None or "site_id" not in scored.columns:
        return None
    hit = scored[scored["site_id"].astype("string") == str(site_id)]
    return site_record(with_explanations(hit.iloc[:1], config), site_id) if len(hit) else None


def contributions(record: Mapping[str, Any]) -> list[tuple[str, float]]:
    """The score breakdown of a site: (factor, points) from its ``contrib_*`` columns, largest first."""
    items = [
        (k.removeprefix("contrib_"), float(v))
        for k, v in record.items()
        if k.startswith("contrib_") and v is not None and not (isinstance(v, float) and math.isnan(v))
    ]
    return sorted(items, key=lambda kv: -abs(kv[1]))


def raster_values(record: Mapping[str, Any], raster_names: Iterable[str]) -> dict[str, Any]:
    """The site's raster samples (and their buffer means) by raster name (None: no data there)."""
    names = tuple(raster_names)
    return {k: v for k, v in record.items() if any(k == n or k.startswith(f"{n}_mean_") for n in names)}


NO_RASTER_DATA = "no data (outside the raster, or a nodata cell)"
HG_UNKNOWN = "unknown (the site's size is not known)"


def raster_text(value: Any) -> str:
    """A raster sample for the site detail: the number, or why there is none (never 'None')."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return NO_RASTER_DATA
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def mercury_text(record: Mapping[str, Any]) -> str:
    """The site's mercury estimate in words: median and 90 % range in kg/yr, 'unknown', or none (no mercury use)."""
    central = record.get("hg_kg_per_yr")
    if central is None or (isinstance(central, float) and math.isnan(central)):
        return HG_UNKNOWN if "hg_kg_per_yr" in record else "not estimated"
    if central == 0:
        return "0 kg/yr (no mercury use assumed)"
    low, high = record.get("hg_kg_per_yr_low"), record.get("hg_kg_per_yr_high")
    if not (finite(low) and finite(high)):
        return f"{short_number(central)} kg/yr"
    return f"{short_number(central)} kg/yr (90% range {short_number(low)}–{short_number(high)})"


# --- map view --------------------------------------------------------------------------------------
def bounds_view(bounds: tuple[float, float, float, float], width_px: int = 620, height_px: int = 460) -> dict:
    """Map centre and zoom (Web Mercator tiles of 512 px) that fit lon/lat ``bounds`` (minx, miny, maxx, maxy)."""
    minx, miny, maxx, maxy = bounds
    lon_span = max(maxx - minx, 0.05)

    def merc(lat: float) -> float:
        lat = max(min(lat, 85.0), -85.0)
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    y_span = max(merc(maxy) - merc(miny), 0.001)
    zoom_x = math.log2(width_px * 360.0 / (512.0 * lon_span))
    zoom_y = math.log2(height_px * 2 * math.pi / (512.0 * y_span))
    zoom = max(0.5, min(zoom_x, zoom_y, 12.0) - 0.2)
    centre_lat = math.degrees(math.atan(math.sinh((merc(maxy) + merc(miny)) / 2)))
    return {"center": {"lon": (minx + maxx) / 2, "lat": centre_lat}, "zoom": round(zoom, 2)}


def countries_bounds(countries: pd.DataFrame, iso3s: Sequence[str]) -> tuple[float, float, float, float] | None:
    """Bounds of the given countries (None when none of them is known)."""
    if not iso3s or countries is None or len(countries) == 0:
        return None
    part = countries[countries["iso3"].isin(list(iso3s))]
    if part.empty:
        return None
    minx, miny, maxx, maxy = part.total_bounds
    return float(minx), float(miny), float(maxx), float(maxy)


def data_bounds(view: pd.DataFrame) -> tuple[float, float, float, float] | None:
    """Bounds of the sites' lon/lat (None when empty)."""
    if view.empty:
        return None
    lon = view["lon"].to_numpy(dtype="float64")
    lat = view["lat"].to_numpy(dtype="float64")
    return float(np.nanmin(lon)), float(np.nanmin(lat)), float(np.nanmax(lon)), float(np.nanmax(lat))


def filters_summary(state: Mapping[str, Any]) -> dict[str, Any]:
    """The filters in use, in words, for exports and the briefing pack."""
    out: dict[str, Any] = {}
    for key, label in (
        ("countries", "countries"), ("commodities", "commodities"), ("mercury_use", "mercury use"),
        ("ecosystems", "ecosystems"),
    ):  # fmt: skip
        if state.get(key):
            out[label] = list(state[key])
    if state.get("risk_classes") is not None and set(state["risk_classes"]) != set(RISK_CLASSES):
        out["risk classes"] = list(state["risk_classes"])
    if state.get("pa_mode", "any") != "any":
        out["protected areas"] = {
            "inside": "inside a protected area",
            "near": f"inside or within {state.get('pa_km', 10):g} km of a protected area",
            "far": f"more than {state.get('pa_km', 10):g} km from any protected area",
        }[state["pa_mode"]]
    if state.get("ecosystems"):
        out["ecosystem distance km"] = state.get("eco_km", 10.0)
    if state.get("date_from") or state.get("date_to"):
        out["observed"] = f"{state.get('date_from') or '…'} to {state.get('date_to') or '…'}"
    if state.get("weights"):
        out["weights changed"] = dict(state["weights"])
    if state.get("decay"):
        out["decay changed (near_km, outer_km)"] = dict(state["decay"])
    if state.get("selection"):
        out["map selection"] = {"polygon (lon, lat)": [list(p) for p in state["selection"]]}
    if state.get("aoi"):
        out["area of interest"] = aoi_label(state["aoi"])
        out["area of interest buffer km"] = float(state.get("aoi_km", 10.0))
    return out


def aoi_label(reference: str) -> str:
    """An AOI reference in words (the filters list of the exports, the panel)."""
    kind, _, rest = reference.partition(":")
    if kind == "pa":
        return f"protected area {rest}"
    if kind == "up":
        return f"uploaded file (content {rest[:12]})"
    ring = aoi_polygon(reference) or []
    return "drawn on the map: " + "; ".join(f"{x:g}, {y:g}" for x, y in ring)


# --- control options and messages ------------------------------------------------------------------
def country_options(scored: pd.DataFrame, countries: pd.DataFrame | None = None) -> list[dict[str, str]]:
    """Dropdown options for the countries present in the data, labelled 'Name (ISO3)', sorted by name."""
    present = scored["country_iso3"].dropna().astype(str).unique() if "country_iso3" in scored.columns else []
    names = {}
    if countries is not None and len(countries) and "iso3" in countries.columns:
        names = dict(zip(countries["iso3"].astype(str), countries["name"].astype(str), strict=False))
    opts = [{"label": f"{names.get(c, c)} ({c})", "value": c} for c in present]
    return sorted(opts, key=lambda o: o["label"])


def commodity_options(scored: pd.DataFrame) -> list[dict[str, str]]:
    """Dropdown options for the commodities present in the data."""
    present = sorted(scored["commodity"].dropna().astype(str).unique()) if "commodity" in scored.columns else []
    return [{"label": c.replace("_", " "), "value": c} for c in present]


def date_hint(scored: pd.DataFrame) -> str:
    """The line under the date picker: the span of the observation dates in the data, and how many sites have
    none (they drop out once a range is set)."""
    dmin, dmax = date_bounds(scored)
    if dmin is None:
        return "No observation dates in these data."
    undated = int(pd.to_datetime(scored["observed_date"], errors="coerce").isna().sum())
    if not undated:
        return f"{dmin} to {dmax}"
    many = undated != 1
    return f"{dmin} to {dmax}; {undated:,} site{'s' if many else ''} without a date drop{'' if many else 's'} out when a range is set"


def date_bounds(scored: pd.DataFrame) -> tuple[str | None, str | None]:
    """First and last observation dates (ISO), or (None, None) when the data have none."""
    if "observed_date" not in scored.columns:
        return None, None
    d = pd.to_datetime(scored["observed_date"], errors="coerce").dropna()
    if d.empty:
        return None, None
    return d.min().date().isoformat(), d.max().date().isoformat()


# --- controls <-> state ------------------------------------------------------------------------------
CONTROL_KEYS: tuple[str, ...] = (
    "countries", "commodities", "risk_classes", "mercury_use", "pa_mode", "pa_km", "ecosystems", "eco_km",
    "date_from", "date_to", "size_by", "overlays", "aoi", "aoi_km",
)  # fmt: skip


def state_from_controls(
    controls: Mapping[str, Any],
    weights: Mapping[str, float],
    decay: Mapping[str, Sequence[float]],
    defaults: tuple[dict[str, float], dict[str, list[float]]],
    *,
    site: str | None = None,
    view: Sequence[float] | None = None,
    selection: Sequence[Sequence[float]] | None = None,
) -> dict[str, Any]:
    """The dashboard state (dashboard.state) from the controls' values, validated like a shared link."""
    state: dict[str, Any] = {k: controls.get(k) for k in CONTROL_KEYS}
    for key in ("countries", "commodities", "mercury_use", "ecosystems", "overlays", "risk_classes"):
        state[key] = list(state[key] or [])
    for key in ("date_from", "date_to"):
        state[key] = str(state[key])[:10] if state[key] else None
    state["weights"], state["decay"] = weight_changes(weights, decay, defaults)
    state["site"] = site
    state["view"] = list(view) if view else None
    state["selection"] = [list(p) for p in selection] if selection else None
    return sanitise_state({k: v for k, v in state.items() if v is not None})


def controls_from_state(
    state: Mapping[str, Any], defaults: tuple[dict[str, float], dict[str, list[float]]]
) -> tuple[dict[str, Any], dict[str, float], dict[str, list[float]]]:
    """Control values, slider weights and decay ranges that show ``state`` (defaults where unchanged)."""
    controls = {k: state.get(k) for k in CONTROL_KEYS}
    weights = {**defaults[0], **state.get("weights", {})}
    decay = {**defaults[1], **state.get("decay", {})}
    return controls, weights, decay


def drop_absent(state: dict[str, Any], countries: Iterable[str], commodities: Iterable[str]) -> dict[str, Any]:
    """``state`` without the countries and commodities these data do not have, each dropped one named in
    ``state["messages"]`` (a link made on other data, or a typo, would otherwise show 0 sites in silence)."""
    out = dict(state)
    messages = list(state.get("messages") or [])
    for key, present, label in (
        ("countries", set(countries), "countries"),
        ("commodities", set(commodities), "commodities"),
    ):
        chosen = list(state.get(key) or [])
        absent = [v for v in chosen if v not in present]
        if absent:
            out[key] = [v for v in chosen if v in present]
            messages.append(f"ignored {label} not in these data: {', '.join(absent[:10])}")
    out["messages"] = messages
    return out


def view_from_relayout(relayout: Mapping[str, Any] | None) -> list[float] | None:
    """[lon, lat, zoom] from a plotly map relayoutData event, or None when it holds no view change."""
    if not relayout:
        return None
    centre = relayout.get("map.center")
    zoom = relayout.get("map.zoom")
    if not isinstance(centre, Mapping) or zoom is None:
        return None
    try:
        return [round(float(centre["lon"]), 4), round(float(centre["lat"]), 4), round(float(zoom), 2)]
    except (KeyError, TypeError, ValueError):
        return None


def render_state(state: Mapping[str, Any]) -> dict[str, Any]:
    """The part of the state the views are drawn from (no map view, no selected site, no messages)."""
    return {k: v for k, v in state.items() if k not in ("view", "site", "messages")}


def nearest_protected_areas(
    record: Mapping[str, Any], protected_areas: pd.DataFrame | None, k: int = 5
) -> list[dict[str, Any]]:
    """The ``k`` protected areas nearest to the site (name, IUCN, designation, dist_km), geodesic, within 100 km."""
    if protected_areas is None or len(protected_areas) == 0 or record.get("lon") is None:
        return []
    near = nearest_features(float(record["lon"]), float(record["lat"]), protected_areas, k=k)
    cols = [c for c in ("name", "iucn_cat", "designation", "pa_id", "dist_km") if c in near.columns]
    out = []
    for rec in near[cols].to_dict("records"):
        rec["dist_km"] = round(float(rec["dist_km"]), 2)
        out.append({k2: (None if v is pd.NA else v) for k2, v in rec.items()})
    return out


def detail_attributes(record: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every attribute of a site as (name, display text), floats rounded, in the output-contract order."""
    order = ordered_output_columns(pd.DataFrame(columns=list(record)))
    out = []
    for key in order:
        value = record[key]
        missing = value is None or (isinstance(value, float) and not math.isfinite(value))
        if missing and key.startswith("hg_kg_per_yr"):
            text = "unknown"  # a missing mercury estimate is not 0
        elif missing:
            text = "no data"
        elif isinstance(value, float):
            text = f"{value:,.3f}".rstrip("0").rstrip(".")
        else:
            text = str(value)
        out.append((key, text))
    return out


# --- server-side table pages (AG Grid infinite row model) ---------------------------------------------------
_TEXT_OPS = {
    "contains": lambda s, v: s.str.contains(v, case=False, regex=False),
    "notContains": lambda s, v: ~s.str.contains(v, case=False, regex=False),
    "equals": lambda s, v: s.str.lower() == v.lower(),
    "notEqual": lambda s, v: s.str.lower() != v.lower(),
    "startsWith": lambda s, v: s.str.lower().str.startswith(v.lower()),
    "endsWith": lambda s, v: s.str.lower().str.endswith(v.lower()),
}
_NUM_OPS = {
    "equals": lambda s, v: s == v,
    "notEqual": lambda s, v: s != v,
    "greaterThan": lambda s, v: s > v,
    "greaterThanOrEqual": lambda s, v: s >= v,
    "lessThan": lambda s, v: s < v,
    "lessThanOrEqual": lambda s, v: s <= v,
}


def _condition_mask(series: pd.Series, cond: Mapping[str, Any]) -> np.ndarray:
    if "conditions" in cond:  # combined: {"operator": "AND"|"OR", "conditions": [...]}
        masks = [_condition_mask(series, c) for c in cond["conditions"]]
        if not masks:
            return np.ones(len(series), dtype=bool)
        return np.logical_and.reduce(masks) if cond.get("operator", "AND") == "AND" else np.logical_or.reduce(masks)
    op = cond.get("type")
    if op == "blank":
        return series.isna().to_numpy(dtype=bool)
    if op == "notBlank":
        return series.notna().to_numpy(dtype=bool)
    if cond.get("filterType") == "number":
        values = pd.to_numeric(series, errors="coerce")
        if op == "inRange":
            lo, hi = cond.get("filter"), cond.get("filterTo")
            return ((values >= lo) & (values <= hi)).fillna(False).to_numpy(dtype=bool)
        fn = _NUM_OPS.get(op)
        return (
            fn(values, float(cond.get("filter"))).fillna(False).to_numpy(dtype=bool)
            if fn
            else np.ones(len(series), bool)
        )
    fn = _TEXT_OPS.get(op)
    text = series.astype("string").fillna("")
    return (
        fn(text, str(cond.get("filter") or "")).fillna(False).to_numpy(dtype=bool) if fn else np.ones(len(series), bool)
    )


def table_page(
    view: pd.DataFrame,
    request: Mapping[str, Any] | None,
    search: str | None = None,
    config: RiskConfig | None = None,
    *,
    within: np.ndarray | None = None,
) -> dict[str, Any]:
    """One block of grid rows for an AG Grid infinite-model request: sorted, column-filtered, searched.

    Returns ``{"rowData": [...], "rowCount": n}`` (n = rows matching, so the grid sizes its scrollbar).
    Only the requested rows are serialised (with their explanations and receptors not assessed when
    ``config`` is given), so a 100k-site view costs one block, not 100k rows. ``within`` (a mask over
    ``view``, e.g. the dashboard's filters over the whole frame) limits the rows without copying them.
    """
    request = request or {}
    rows = np.arange(len(view)) if within is None else np.flatnonzero(within)
    for col, cond in (request.get("filterModel") or {}).items():
        if col in view.columns and isinstance(cond, Mapping):
            rows = rows[_condition_mask(view[col].iloc[rows], cond)]
    if search and search.strip():
        needle = search.strip()
        hit = np.zeros(len(rows), dtype=bool)
        for col in ("site_id", "name", "country_iso3", "commodity", "nearest_protected_area", "risk_class"):
            if col in view.columns:
                text = view[col].iloc[rows].astype("string")
                hit |= text.str.contains(needle, case=False, regex=False).fillna(False).to_numpy(dtype=bool)
        rows = rows[hit]
    sort = [s for s in (request.get("sortModel") or []) if s.get("colId") in view.columns]
    if not sort and "risk_0_100" in view.columns:
        sort = [{"colId": "risk_0_100", "sort": "desc"}]
    start = max(int(request.get("startRow") or 0), 0)
    end = max(int(request.get("endRow") or start + 100), start)
    if sort:  # only the sort keys are ordered, only as far as this block (not the whole view)
        by, ascending = [s["colId"] for s in sort], [s.get("sort") != "desc" for s in sort]
        keys = view[by] if len(rows) == len(view) else view[by].iloc[rows]
        block = rows[sorted_positions(keys, by, ascending, end)[start:end]]
    else:
        block = rows[start:end]
    return {"rowData": table_rows(view.iloc[block], config), "rowCount": len(rows)}
