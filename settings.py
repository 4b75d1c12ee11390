"""One settings object for the whole tool.

Every default lives here and only here. Each field can be overridden by an
environment variable with the ``ASM_`` prefix, e.g. ``ASM_PORT=8060`` or
``ASM_BUFFER_DISTANCES_KM='[1, 5, 10, 25, 50]'``; command-line options override
both.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "asm-risk"


class Settings(BaseSettings):
    """Configuration for the dashboard, the CLI and the loaders."""

    model_config = SettingsConfigDict(env_prefix="ASM_", extra="ignore", frozen=True)

    # --- server -------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = Field(8050, ge=1, le=65535)
    debug: bool = False

    # --- data: None means "use the built-in synthetic demo scenario" ---------
    sites_path: Path | None = None
    protected_areas_path: Path | None = None
    rainforest_path: Path | None = None
    reefs_path: Path | None = None
    arctic_path: Path | None = None
    water_path: Path | None = None
    countries_path: Path | None = None
    rasters: dict[str, Path] = Field(default_factory=dict)
    # mining footprints with a year (one file per year, or files with a year/date column): the change
    # panel and `change`; empty: none (the demo scenario has its own synthetic footprints)
    mining_paths: tuple[Path, ...] = ()
    sites_crs: str | None = None  # CRS of CSV/XLSX coordinates; EPSG:4326 when None
    sites_layer: str | None = None  # GeoPackage/KML layer, XLSX sheet or zipped shapefile of the sites
    # the analyst's column choices (role -> column; "" = no such column) and per-file defaults
    # (attribute -> value for rows the file leaves empty): layers.site_options
    sites_columns: dict[str, str] = Field(default_factory=dict)
    sites_defaults: dict[str, str] = Field(default_factory=dict)
    risk_config_path: Path | None = None  # None: config/risk.toml in the repo

    # --- WDPA practice ------------------------------------------------------
    include_proposed_protected_areas: bool = False

    # --- proximity ----------------------------------------------------------
    buffer_distances_km: tuple[float, ...] = (1.0, 5.0, 10.0, 25.0)
    # PA km² inside this geodesic disc around each site; 0 leaves the column out (about half of
    # the proximity time on WDPA-sized layers)
    protected_area_km2_buffer_km: float = Field(10.0, ge=0.0)
    raster_buffer_km: float | None = None  # mean within this radius as well as the value at the site
    # nearest protected area of each IUCN category up to this distance (the risk model's protected-area
    # decay may not reach further; 200 km = the dashboard's largest decay distance)
    protected_area_reach_km: float = Field(200.0, gt=0.0)
    arctic_circle_lat: float = 66.5634
    # areas of interest: the default buffer (km) around an AOI (`screen --buffer-km`, the dashboard's AOI panel)
    aoi_buffer_km: float = Field(10.0, ge=0.0, le=500.0)
    tree_cover_threshold_pct: float = 30.0

    # --- memory -------------------------------------------------------------
    # what the CLI's scoring may use with the protected-area layer (MB): above it (estimated from the cached
    # layer's size) `score` and `screen` score partition by partition in one process (scoring.run). 3072: the
    # CLI's memory target of issue #15 (under 3 GB); the one-pass engine, faster where it fits, keeps the runs
    # within it (docs/performance.md, "A WDPA-sized file from the CLI")
    memory_budget_mb: float = Field(3072.0, gt=0.0)

    # --- storage ------------------------------------------------------------
    cache_dir: Path = Field(default_factory=_default_cache_dir)
    workspace_dir: Path | None = None  # None: <cache_dir>/workspaces
    # read-only shared snapshots (<cache_dir>/shares/<token>): refused and deleted after this many days (0: kept)
    share_retention_days: float = Field(90.0, ge=0.0)

    # --- uploads and hostile input -------------------------------------------
    max_upload_mb: float = 200.0  # browser uploads only, checked before decoding (the CLI reads any local file)
    max_zip_members: int = 2000
    max_unzipped_mb: float = 2000.0  # one budget for an archive and the archives inside it
    max_zip_ratio: float = 100.0  # members expanding more than this (x:1) are refused as zip bombs

    # --- optional authentication (off unless one is set; see docs/security.md) -------------
    auth_htpasswd: Path | None = None  # file of "user:<werkzeug password hash>" lines
    auth_proxy_header: str | None = None  # e.g. "X-Forwarded-User", set by a trusted reverse proxy
    auth_realm: str = "ASM risk"

    # --- dashboard ----------------------------------------------------------
    basemap: Literal["offline", "carto-positron", "open-street-map"] = "offline"
    max_map_payload_mb: float = 5.0
    # after a protected-area upload the map's PA overlay is switched on when the layer has at most this many
    # areas (a country's WDPA extract); larger layers stay off until the analyst ticks the overlay (0: never)
    pa_overlay_auto_max: int = Field(20_000, ge=0)

    # --- demo data ----------------------------------------------------------
    demo_seed: int = 20261130
    demo_n_sites: int = 3000

    @field_validator("buffer_distances_km")
    @classmethod
    def _positive_sorted(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if not v or any(d <= 0 for d in v):
            raise ValueError("buffer distances must be positive kilometres, e.g. [1, 5, 10, 25]")
        return tuple(sorted(set(float(d) for d in v)))

    @property
    def workspaces(self) -> Path:
        return self.workspace_dir or (self.cache_dir / "workspaces")

    @property
    def default_risk_config(self) -> Path:
        return self.risk_config_path or (PROJECT_ROOT / "config" / "risk.toml")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings from the environment (cached; call ``Settings(...)`` for overrides)."""
    return Settings()
