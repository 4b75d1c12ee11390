"""Every component ID, defined once (kebab-case, page prefix)."""

from __future__ import annotations

# shell
URL = "app-url"
ALERT = "app-alert"
ALERT_CLOSE = "app-alert-close"
DATA_BANNER = "app-data-banner"
STATE = "app-state"  # filters + weights the views are drawn from (no map view, no selected site)
WORKSPACE = "app-data-id"  # the data in view: the user's workspace id, or share:<token> on a shared link (memory)
OWN_WORKSPACE = "app-workspace"  # the user's own workspace id (localStorage; the key kept since before shares)
SELECTED_SITE = "app-selected-site"
SELECTED_LONLAT = "app-selected-lonlat"
MAP_VIEW = "app-map-view"  # a map view restored from a shared link
# what the charts show: their view without its weights (filters_key); a weight change leaves the charts no
# weight changes alone
MERCURY_DRAWN = "app-mercury-drawn"
CHARTS_DRAWN = "app-charts-drawn"
SHARE = "app-share"
MAP_REGION = "map-region"  # skip-link targets
TABLE_REGION = "table-region"

# map
MAP = "map-sites"
COUNT = "map-count"
MAP_SIZE_BY = "map-size-by"
MAP_OVERLAYS = "map-overlays"
SELECTION_NOTE = "map-selection-note"
SELECTION_CLEAR = "map-selection-clear"

# filters
FILTER_COUNTRY = "filter-country"
FILTER_COMMODITY = "filter-commodity"
FILTER_RISK_CLASS = "filter-risk-class"
FILTER_MERCURY = "filter-mercury"
FILTER_PA_MODE = "filter-pa-mode"
FILTER_PA_KM = "filter-pa-km"
FILTER_ECOSYSTEM = "filter-ecosystem"
FILTER_ECO_KM = "filter-eco-km"
FILTER_DATE = "filter-date"
FILTER_DATE_START = "filter-date-start"
FILTER_DATE_END = "filter-date-end"
FILTER_DATE_HINT = "filter-date-hint"  # the dates the data hold, under the picker
FILTER_RESET = "filter-reset"

# linked charts
CHART_PREFIX = "chart-"
CHART_EXPORT = "chart-export"  # pattern-matching type: {"type": CHART_EXPORT, "chart": name, "fmt": fmt}


def chart(name: str) -> str:
    """The graph ID of a linked chart (name in dashboard.figures.CHART_NAMES)."""
    return CHART_PREFIX + name


# table and detail
TABLE = "table-risk"
TABLE_WRAP = "table-wrap"
TABLE_SEARCH = "table-search"
DETAIL = "detail-site"
DETAIL_WATERFALL = "detail-waterfall"

# weights
WEIGHT = "weights-weight"  # pattern-matching type: {"type": WEIGHT, "key": factor}
WEIGHT_BOX = "weights-box"  # pattern-matching type: the typed value of a weight (applied on Enter or blur)
WEIGHT_ERROR = "weights-error"  # pattern-matching type: why a typed weight was refused
DECAY = "weights-decay"  # pattern-matching type: {"type": DECAY, "key": receptor}
WEIGHTS_RESET = "weights-reset"
WEIGHTS_NOT_ASSESSED = "weights-not-assessed"  # which receptors these data do not assess

# exports
EXPORT_CSV = "export-csv"
EXPORT_XLSX = "export-xlsx"
EXPORT_GEOJSON = "export-geojson"
EXPORT_GPKG = "export-gpkg"
EXPORT_BRIEFING = "export-briefing"
DOWNLOAD = "export-download"

# uploads
UPLOAD_SITES = "upload-sites"
UPLOAD_PA = "upload-protected-areas"
UPLOAD_STATUS = "upload-status"
UPLOAD_REJECTED = "upload-rejected"
DOWNLOAD_REJECTED = "upload-download-rejected"
WORKSPACE_RESET = "upload-workspace-reset"
UPLOAD_SECTION = "upload-section"  # the "Your data" panel (the no-protected-area notice links to it)
UPLOAD_COLUMN = "upload-column"  # pattern-matching type: {"type": UPLOAD_COLUMN, "role": role}
UPLOAD_DEFAULT = "upload-default"  # pattern-matching type: {"type": UPLOAD_DEFAULT, "key": attribute}
UPLOAD_APPLY = "upload-apply-columns"

# read-only shared snapshots
SHARE_MAKE = "share-make"
SHARE_LINK = "share-link"
SHARE_COPY = "share-copy"
SHARE_NOTE = "share-note"
SHARE_REVOKE = "share-revoke"  # pattern-matching type: {"type": SHARE_REVOKE, "token": token}

# area of interest (dashboard/aoi_panel.py)
AOI = "aoi-ref"  # store: the AOI reference of the URL state (pa:<id>, up:<hash>, draw:<polygon>) or None
AOI_SECTION = "aoi-section"
AOI_KM = "aoi-km"
AOI_DRAW_MODE = "aoi-draw-mode"  # what the map's lasso and box draw: a selection or the AOI
AOI_UPLOAD = "aoi-upload"
AOI_PICK_PA = "aoi-pick-pa"
AOI_CLEAR = "aoi-clear"
AOI_SUMMARY = "aoi-summary"
AOI_NOTE = "aoi-note"  # one line in the count bar while an AOI filters the view
AOI_REPORT = "aoi-report"
AOI_DOWNLOAD = "aoi-download"

# mining change year by year (dashboard/change_panel.py)
CHANGE_SECTION = "change-section"
CHANGE_YEAR = "change-year"
CHANGE_PLAY = "change-play"
CHANGE_TICK = "change-tick"
CHANGE_STACK = "change-stack"
CHANGE_MEASURE = "change-measure"
CHANGE_CHART_NAME = "mining-by-year"  # the chart's name: its graph is chart(CHANGE_CHART_NAME), exports like the others
CHANGE_TABLE = "change-table"
CHANGE_EXPORT_CSV = "change-export-csv"
CHANGE_DOWNLOAD = "change-download"
CHANGE_APPLIED = "change-applied"  # store: the year last shown on the map (written by the browser)
