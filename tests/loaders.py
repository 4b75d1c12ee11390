"""The loaders with the default settings' limits bound, as ``scoring.pipeline`` passes them (for tests).

The loaders take their limits as arguments (no settings below the CLI / dashboard boundary); tests
that do not exercise a limit call these. A keyword given at the call overrides the bound one.
"""

from __future__ import annotations

from functools import partial

from layers import aoi, ecosystems, mining, protected_areas, readers, sites
from scoring.pipeline import zip_limits
from settings import Settings

DEFAULTS = Settings()
ZIP_LIMITS = zip_limits(DEFAULTS)

load_sites = partial(sites.load_sites, zip_limits=ZIP_LIMITS)
load_protected_areas = partial(protected_areas.load_protected_areas, zip_limits=ZIP_LIMITS)
read_vector_layers = partial(protected_areas.read_vector_layers, zip_limits=ZIP_LIMITS)
read_any = partial(readers.read_any, zip_limits=ZIP_LIMITS)
read_xlsx = partial(readers.read_xlsx, zip_limits=ZIP_LIMITS)
load_rainforest = partial(
    ecosystems.load_rainforest, threshold_pct=DEFAULTS.tree_cover_threshold_pct, zip_limits=ZIP_LIMITS
)
load_aoi = partial(aoi.load_aoi, zip_limits=ZIP_LIMITS)
load_mining = partial(mining.load_mining, zip_limits=ZIP_LIMITS)
load_reefs = partial(ecosystems.load_reefs, zip_limits=ZIP_LIMITS)
load_water = partial(ecosystems.load_water, zip_limits=ZIP_LIMITS)
load_arctic = partial(ecosystems.load_arctic, circle_lat=DEFAULTS.arctic_circle_lat, zip_limits=ZIP_LIMITS)
