"""Every component ID, defined once (kebab-case, page prefix)."""

from __future__ import annotations

# shell
URL = "app-url"
ALERT = "app-alert"
DATA_BANNER = "app-data-banner"

# map page
MAP = "map-sites"
COUNT = "map-count"
FILTER_COUNTRY = "filter-country"
FILTER_COMMODITY = "filter-commodity"
FILTER_RISK_CLASS = "filter-risk-class"
