"""The built-in synthetic demo scenario, generated deterministically into the cache dir.

Everything here is FICTIONAL: sites, protected areas, rainforest, reefs, rivers and
the tree-cover raster are drawn from a seeded random generator. Only the country
polygons are real (Natural Earth 1:110m, public domain, via
``layers.countries.load_countries``), so sites sit in the right countries and the
artisanal-mining regions of those countries are recognisable. Every site carries
``source = "synthetic demo data (asm-risk, seed N)"`` and every other feature says
"(synthetic)" in its name, so no one mistakes a demo number for a real one.

The files are standard formats with the documented field names (GeoPackage with the
sites schema, GeoPackage with the WDPA field names, GeoTIFF), and the dashboard
loads them through the same loaders as user data (see docs/demo-data.md).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import rasterio
import shapely
from affine import Affine
from shapely.geometry.base import BaseGeometry

from geo.crs import GEOD, geodesic_area_km2
from layers.countries import load_countries
from layers.errors import LayerError
from layers.schema import CRS_WGS84

log = logging.getLogger(__name__)

DEMO_VERSION = "demo-v3"  # v2: amalgamation / retort / cyanidation; v3: mining footprints by year
DATASET_NOTE = "synthetic demo data"

SITES_FILE = "sites.gpkg"
PROTECTED_AREAS_FILE = "protected_areas.gpkg"
RAINFOREST_FILE = "rainforest.gpkg"
REEFS_FILE = "reefs.gpkg"
WATER_FILE = "water.gpkg"
TREE_COVER_FILE = "tree_cover_pct.tif"
MINING_FILE = "mining.gpkg"
#: the years of the synthetic mining footprints (one "new ground" layer per year, as Amazon Mining Watch's)
MINING_YEARS: tuple[int, ...] = tuple(range(2018, 2025))
MANIFEST_FILE = "demo.json"


@dataclass(frozen=True)
class DemoPaths:
    """Where the files of one generated demo scenario are."""

    root: Path
    sites: Path
    protected_areas: Path
    rainforest: Path
    reefs: Path
    water: Path | None = None
    tree_cover: Path | None = None
    source_label: str = DATASET_NOTE  # pass as load_sites(..., source=...): "synthetic demo data (asm-risk, seed N)"
    mining: Path | None = None  # footprints with a ``year`` column (layers.mining.load_mining)


@dataclass(frozen=True)
class _Hotspot:
    iso3: str
    label: str
    lon: float
    lat: float
    sigma_km: float  # Rayleigh scale of the scatter around the centre
    weight: float  # share of the sites
    mix: str  # key of _COMMODITY_MIX
    coast: bool = False  # gets offshore reefs / coastal PAs


# Commodity shares per mining region (primary commodity of each site).
_COMMODITY_MIX: dict[str, dict[str, float]] = {
    "gold": {"gold": 1.0},
    "gold_silver": {"gold": 0.9, "silver": 0.1},
    "kivu": {"gold": 0.5, "cassiterite": 0.28, "coltan": 0.16, "wolframite": 0.06},
    "katanga": {"cassiterite": 0.35, "coltan": 0.2, "lithium": 0.15, "gold": 0.15, "cobalt": 0.15},
    "diamond": {"diamond": 0.7, "gold": 0.3},
    "sapphire": {"sapphire": 0.65, "other_gemstones": 0.15, "gold": 0.2},
    "tanzania": {"gold": 0.8, "other_gemstones": 0.2},
    "greenland": {"gold": 0.4, "other_gemstones": 0.6},
    "mongolia": {"gold": 0.85, "other": 0.15},
    "zimbabwe": {"gold": 0.9, "lithium": 0.1},
    "bolivia": {"gold": 0.85, "tin": 0.1, "silver": 0.05},
}

# Centres are well-known artisanal-mining districts; positions are approximate and the
# sites scattered around them are fictional.
_HOTSPOTS: tuple[_Hotspot, ...] = (
    _Hotspot("COD", "South Kivu (Kamituga)", 28.18, -3.06, 35, 6, "kivu"),
    _Hotspot("COD", "North Kivu (Walikale)", 27.95, -1.35, 35, 5, "kivu"),
    _Hotspot("COD", "Rubaya", 28.85, -1.6, 15, 2, "kivu"),
    _Hotspot("COD", "Ituri (Mongbwalu)", 30.03, 1.95, 35, 5, "gold"),
    _Hotspot("COD", "Tanganyika (Manono)", 27.4, -7.3, 40, 2, "katanga"),
    _Hotspot("GHA", "Tarkwa", -1.99, 5.3, 20, 5, "gold"),
    _Hotspot("GHA", "Obuasi", -1.67, 6.2, 20, 4, "gold"),
    _Hotspot("GHA", "Kibi (Atewa)", -0.55, 6.17, 15, 3, "gold"),
    _Hotspot("BRA", "Tapajós (Itaituba)", -56.3, -5.2, 60, 7, "gold"),
    _Hotspot("BRA", "Creporizão", -56.86, -6.82, 40, 4, "gold"),
    _Hotspot("BRA", "Roraima (Uraricoera)", -62.8, 3.2, 40, 3, "gold"),
    _Hotspot("PER", "Madre de Dios (La Pampa)", -69.9, -12.95, 25, 6, "gold"),
    _Hotspot("PER", "Huepetuhe", -70.55, -12.95, 15, 3, "gold"),
    _Hotspot("PER", "La Rinconada (Puno)", -69.45, -14.63, 15, 2, "gold"),
    _Hotspot("COL", "Segovia-Remedios (Antioquia)", -74.7, 7.08, 25, 4, "gold_silver"),
    _Hotspot("COL", "Chocó (Atrato)", -76.6, 5.6, 30, 3, "gold"),
    _Hotspot("COL", "Sur de Bolívar", -74.2, 8.2, 25, 2, "gold"),
    _Hotspot("SUR", "Brokopondo", -55.0, 4.8, 30, 3, "gold"),
    _Hotspot("GUY", "Mahdia", -59.15, 5.27, 30, 3, "gold"),
    _Hotspot("GUY", "Cuyuni", -60.2, 6.5, 25, 2, "gold"),
    _Hotspot("VEN", "El Callao", -61.83, 7.35, 25, 3, "gold"),
    _Hotspot("VEN", "Las Claritas", -61.4, 6.2, 25, 2, "gold"),
    _Hotspot("VEN", "Amazonas (Yapacana)", -66.3, 3.9, 30, 2, "gold"),
    _Hotspot("BOL", "Tipuani-Guanay", -67.9, -15.5, 20, 3, "bolivia"),
    _Hotspot("BOL", "Madre de Dios river (Pando)", -66.6, -11.1, 30, 2, "gold"),
    _Hotspot("BFA", "Sahel gold belt", -1.2, 13.6, 50, 3, "gold"),
    _Hotspot("BFA", "Poura (Mouhoun)", -3.3, 11.6, 40, 2, "gold"),
    _Hotspot("MLI", "Kéniéba", -11.2, 12.9, 35, 3, "gold"),
    _Hotspot("MLI", "Kadiolo (Sikasso)", -6.4, 10.8, 35, 2, "gold"),
    _Hotspot("TZA", "Geita", 32.2, -2.87, 35, 4, "tanzania"),
    _Hotspot("TZA", "Chunya (Lupa)", 33.4, -8.5, 35, 2, "gold"),
    _Hotspot("IDN", "Central Kalimantan", 113.5, -1.5, 50, 4, "gold"),
    _Hotspot("IDN", "West Kalimantan", 110.5, 0.2, 50, 3, "gold"),
    _Hotspot("IDN", "Gorontalo (Sulawesi)", 122.9, 0.62, 20, 2, "gold", coast=True),
    _Hotspot("PHL", "Diwalwal (Mindanao)", 126.1, 7.8, 20, 3, "gold", coast=True),
    _Hotspot("PHL", "Zamboanga del Norte", 123.2, 7.9, 20, 2, "gold", coast=True),
    _Hotspot("MNG", "Zaamar", 104.8, 48.3, 40, 2, "mongolia"),
    _Hotspot("MNG", "Bayankhongor", 100.7, 46.2, 50, 2, "mongolia"),
    _Hotspot("MDG", "Ilakaka", 45.2, -22.7, 25, 3, "sapphire", coast=True),
    _Hotspot("MDG", "Andilamena", 48.6, -17.0, 30, 2, "sapphire", coast=True),
    _Hotspot("MDG", "Dabolava", 46.0, -19.0, 30, 1, "gold"),
    _Hotspot("SLE", "Kono", -10.97, 8.64, 20, 3, "diamond"),
    _Hotspot("SLE", "Tongo Field", -11.1, 8.2, 15, 2, "diamond"),
    _Hotspot("ZWE", "Kwekwe", 29.8, -18.9, 30, 3, "zimbabwe"),
    _Hotspot("ZWE", "Mazowe", 31.0, -17.4, 30, 2, "zimbabwe"),
    _Hotspot("SDN", "River Nile state", 33.0, 19.5, 60, 2, "gold"),
    _Hotspot("SDN", "Jebel Amer (Darfur)", 24.9, 13.8, 40, 1, "gold"),
    _Hotspot("GRL", "West Greenland (Arctic)", -50.5, 67.3, 60, 0.15, "greenland"),
    _Hotspot("GRL", "South Greenland", -45.5, 61.2, 40, 0.1, "greenland"),
)

# Coarse synthetic rainforest blobs (centre lon, lat, radius km), clipped to land.
_RAINFOREST_BLOBS: tuple[tuple[str, float, float, float], ...] = (
    ("Amazon-like rainforest", -62.5, -5.5, 1450),
    ("Guiana-shield-like rainforest", -57.5, 4.5, 450),
    ("Congo-like rainforest", 22.5, -1.0, 1000),
    ("Upper-Guinea-like rainforest", -6.0, 6.8, 380),
    ("Borneo-like rainforest", 113.8, 0.2, 520),
    ("Sulawesi-like rainforest", 121.5, -1.5, 250),
    ("Mindanao-like rainforest", 125.5, 7.8, 170),
)

# Offshore reef clusters (centre lon, lat); reefs are placed around them, minus land.
_REEF_CLUSTERS: tuple[tuple[str, float, float], ...] = (
    ("PHL", 126.5, 8.3),
    ("PHL", 125.9, 6.3),
    ("PHL", 123.6, 7.0),
    ("PHL", 122.0, 6.8),
    ("PHL", 124.2, 9.9),
    ("PHL", 119.9, 8.9),
    ("IDN", 122.8, 1.05),
    ("IDN", 122.1, -0.35),
    ("IDN", 118.6, 2.2),
    ("IDN", 130.6, -0.6),
    ("MDG", 43.3, -23.4),
    ("MDG", 48.1, -13.2),
    ("MDG", 49.9, -15.6),
)

_IUCN_WEIGHTS: dict[str, float] = {
    "Ia": 0.05,
    "Ib": 0.04,
    "II": 0.26,
    "III": 0.03,
    "IV": 0.1,
    "V": 0.07,
    "VI": 0.15,
    "Not Reported": 0.2,
    "Not Applicable": 0.05,
    "Not Assigned": 0.05,
}
_DESIGNATION_BY_IUCN: dict[str, str] = {
    "Ia": "Strict Nature Reserve",
    "Ib": "Wilderness Area",
    "II": "National Park",
    "III": "Natural Monument",
    "IV": "Wildlife Reserve",
    "V": "Protected Landscape",
    "VI": "Community Reserve",
    "Not Reported": "Forest Reserve",
    "Not Applicable": "Ramsar Site, Wetland of International Importance",
    "Not Assigned": "Biosphere Reserve Buffer Zone",
}

# Tree-cover raster window over Madre de Dios, Peru (lon/lat degrees, 0.01 degree pixels).
_TREE_COVER_WINDOW = (-71.2, -13.7, -68.4, -12.2)
_TREE_COVER_RES_DEG = 0.01
_TREE_COVER_CRS_METRIC = "EPSG:32719"  # UTM 19S: distances for the clearings, not degrees


def demo_dir(cache_dir: Path, seed: int, n_sites: int) -> Path:
    """The directory one (seed, n_sites) demo scenario lives in."""
    return Path(cache_dir) / f"{DEMO_VERSION}-{seed}-{n_sites}"


def site_source_label(seed: int) -> str:
    """The ``source`` every demo site carries."""
    return f"{DATASET_NOTE} (asm-risk, seed {seed})"


def _paths(root: Path, seed: int) -> DemoPaths:
    return DemoPaths(
        root=root,
        sites=root / SITES_FILE,
        protected_areas=root / PROTECTED_AREAS_FILE,
        rainforest=root / RAINFOREST_FILE,
        reefs=root / REEFS_FILE,
        water=root / WATER_FILE,
        tree_cover=root / TREE_COVER_FILE,
        source_label=site_source_label(seed),
        mining=root / MINING_FILE,
    )


def _complete(root: Path) -> bool:
    p = _paths(root, 0)
    files = [root / MANIFEST_FILE, p.sites, p.protected_areas, p.rainforest, p.reefs, p.water, p.tree_cover, p.mining]
    return all(f is not None and f.is_file() and f.stat().st_size > 0 for f in files)


def ensure_demo_data(cache_dir: Path, *, seed: int, n_sites: int = 3000) -> DemoPaths:
    """Generate the demo scenario into ``cache_dir/demo-v3-<seed>-<n>/`` (or reuse it) and return its paths.

    Deterministic: the same seed and size give the same content. Written into a
    temporary directory and renamed into place, so a reader never sees half a
    scenario and two processes generating at once do not collide.
    """
    if n_sites < 1 or n_sites > 200_000:
        raise LayerError(None, f"demo size n_sites={n_sites} is out of range", "choose between 1 and 200000 sites")
    cache_dir = Path(cache_dir)
    root = demo_dir(cache_dir, seed, n_sites)
    if root.is_dir():
        if _complete(root):
            return _paths(root, seed)
        log.warning("demo data in %s is incomplete; regenerating it", root)
        _discard(root)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cache_dir / f".{root.name}.tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        _generate(tmp, seed=seed, n_sites=n_sites)
        try:
            os.rename(tmp, root)
        except OSError:
            # another process finished first; its copy is identical
            if not _complete(root):
                raise
            log.debug("demo data %s was written concurrently; using that copy", root)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return _paths(root, seed)


def _discard(root: Path) -> None:
    """Move a damaged directory aside (atomic) and delete it."""
    trash = root.with_name(f".{root.name}.bad-{uuid.uuid4().hex}")
    try:
        os.rename(root, trash)
    except FileNotFoundError:
        return
    shutil.rmtree(trash, ignore_errors=True)


# --- generation -------------------------------------------------------------------


def _generate(out: Path, *, seed: int, n_sites: int) -> None:
    countries = load_countries().set_index("iso3")
    hotspots = [h for h in _HOTSPOTS if h.iso3 in countries.index]
    # one independent stream per layer: changing one layer never reshuffles the others
    ss = np.random.SeedSequence(seed)
    # (spawn(7)'s first six children are spawn(6)'s: the mining stream added in v3 changed no other layer)
    rng_sites, rng_pa, rng_forest, rng_reef, rng_water, rng_raster, rng_mining = (
        np.random.default_rng(s) for s in ss.spawn(7)
    )

    sites = _make_sites(rng_sites, hotspots, countries, seed=seed, n_sites=n_sites)
    land = shapely.union_all(countries.geometry.values)
    pa_poly, pa_point = _make_protected_areas(rng_pa, hotspots, countries, land)
    rainforest = _make_rainforest(rng_forest, land)
    reefs = _make_reefs(rng_reef, land)
    water = _make_water(rng_water, hotspots, countries)
    mining = _make_mining(rng_mining, hotspots, countries, pa_poly)

    _write_gpkg(sites, out / SITES_FILE, "sites")
    _write_gpkg(pa_poly, out / PROTECTED_AREAS_FILE, "wdpa_poly")
    _write_gpkg(pa_point, out / PROTECTED_AREAS_FILE, "wdpa_point", append=True)
    _write_gpkg(rainforest, out / RAINFOREST_FILE, "rainforest")
    _write_gpkg(reefs, out / REEFS_FILE, "reefs")
    _write_gpkg(water, out / WATER_FILE, "water")
    _write_tree_cover(rng_raster, sites, countries.loc["PER"].geometry, out / TREE_COVER_FILE)
    _write_gpkg(mining, out / MINING_FILE, "mining")

    manifest = {
        "dataset": DATASET_NOTE,
        "version": DEMO_VERSION,
        "seed": seed,
        "n_sites": n_sites,
        "counts": {
            "sites": len(sites),
            "protected_area_polygons": len(pa_poly),
            "protected_area_points": len(pa_point),
            "rainforest_polygons": len(rainforest),
            "reefs": len(reefs),
            "rivers": len(water),
            "mining_footprints": len(mining),
        },
        "note": "All features are fictional except the Natural Earth country outlines used to place them.",
    }
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _write_gpkg(frame: gpd.GeoDataFrame, path: Path, layer: str, *, append: bool = False) -> None:
    frame.to_file(path, layer=layer, driver="GPKG", engine="pyogrio", append=append)


def _allocate(weights: np.ndarray, total: int) -> np.ndarray:
    """Split ``total`` into integer counts proportional to ``weights`` (largest remainder)."""
    share = weights / weights.sum() * total
    counts = np.floor(share).astype(int)
    order = np.argsort(-(share - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    return counts


def _polygon_from_offsets(lon: float, lat: float, east_km: np.ndarray, north_km: np.ndarray) -> BaseGeometry:
    """Polygon whose vertices lie at the given local (east, north) offsets, placed geodesically."""
    az = np.degrees(np.arctan2(east_km, north_km))
    dist_m = np.hypot(east_km, north_km) * 1000.0
    n = len(az)
    lons, lats, _ = GEOD.fwd(np.full(n, lon), np.full(n, lat), az, dist_m)
    return shapely.make_valid(shapely.Polygon(np.column_stack([lons, lats])))


def _blob(
    rng: np.random.Generator, lon: float, lat: float, radius_km: float, roughness: float = 0.3, n: int = 48
) -> BaseGeometry:
    """An irregular star-shaped polygon of roughly ``radius_km`` around (lon, lat), with ``n`` vertices."""
    theta = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    r = np.ones(n)
    for k in range(2, 7):
        r += rng.uniform(0.0, roughness / (k - 1)) * np.cos(k * theta + rng.uniform(0.0, 2.0 * np.pi))
    r = np.clip(r, 0.35, None) * radius_km
    return _polygon_from_offsets(lon, lat, r * np.sin(theta), r * np.cos(theta))


def _scatter(
    rng: np.random.Generator, lon: float, lat: float, sigma_km: float, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points around (lon, lat): uniform bearing, Rayleigh(sigma_km) geodesic distance."""
    az = rng.uniform(0.0, 360.0, n)
    dist_km = sigma_km * np.sqrt(-2.0 * np.log1p(-rng.uniform(0.0, 1.0, n)))
    lons, lats, _ = GEOD.fwd(np.full(n, lon), np.full(n, lat), az, dist_km * 1000.0)
    return np.asarray(lons), np.asarray(lats)


def _points_in(
    rng: np.random.Generator, geom: BaseGeometry, lon: float, lat: float, sigma_km: float, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rejection-sample ``n`` scattered points that fall inside ``geom``."""
    shapely.prepare(geom)
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    have = 0
    for _ in range(200):
        x, y = _scatter(rng, lon, lat, sigma_km, max(16, 2 * (n - have)))
        keep = shapely.contains_xy(geom, x, y)
        xs.append(x[keep])
        ys.append(y[keep])
        have += int(keep.sum())
        if have >= n:
            break
    else:  # the hotspot table is fixed, so this is a programming error, not a user error
        raise RuntimeError(f"demo hotspot at ({lon}, {lat}) lies outside its country polygon")
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n]


def _choice(rng: np.random.Generator, table: dict[str, float], n: int) -> np.ndarray:
    keys = list(table)
    p = np.array([table[k] for k in keys], dtype=float)
    return np.array(keys, dtype=object)[rng.choice(len(keys), size=n, p=p / p.sum())]


def _make_sites(
    rng: np.random.Generator, hotspots: list[_Hotspot], countries: gpd.GeoDataFrame, *, seed: int, n_sites: int
) -> gpd.GeoDataFrame:
    counts = _allocate(np.array([h.weight for h in hotspots]), n_sites)
    parts = []
    for h, k in zip(hotspots, counts, strict=True):
        if k == 0:
            continue
        lon, lat = _points_in(rng, countries.loc[h.iso3].geometry, h.lon, h.lat, h.sigma_km, int(k))
        parts.append(
            pd.DataFrame(
                {
                    "country_iso3": h.iso3,
                    "region": h.label,
                    "lon": lon,
                    "lat": lat,
                    "commodity": _choice(rng, _COMMODITY_MIX[h.mix], int(k)),
                }
            )
        )
    df = pd.concat(parts, ignore_index=True)
    n = len(df)
    seq = df.groupby("country_iso3", sort=False).cumcount() + 1
    df["site_id"] = "demo-" + df["country_iso3"] + "-" + seq.map("{:04d}".format)
    df["name"] = "Demo site " + df["country_iso3"] + "-" + seq.map("{:04d}".format)

    # workers: log-normal, median ~80, tail to several thousand; 8 % unknown
    workers = np.round(np.exp(rng.normal(np.log(80.0), 1.1, n)))
    workers = np.clip(workers, 3, 20000)
    workers[rng.uniform(size=n) < 0.08] = np.nan
    df["workers"] = workers

    gold = (df["commodity"] == "gold").to_numpy()
    u = rng.uniform(size=n)
    mercury = np.where(
        gold, np.where(u < 0.82, "yes", np.where(u < 0.92, "no", "unknown")), np.where(u < 0.85, "no", "unknown")
    )
    # a little mercury at cassiterite/coltan sites with gold by-product is realistic; keep it rare
    mercury = np.where(~gold & (rng.uniform(size=n) < 0.03), "yes", mercury)
    df["mercury_use"] = mercury

    # practices, in the vocabularies of geo.vocab: amalgamation type, retort, cyanidation
    uses_hg = mercury == "yes"
    amalg = np.where(
        uses_hg,
        _choice(rng, {"whole_ore": 0.4, "concentrate": 0.5, "unknown": 0.1}, n),
        np.where(mercury == "no", "none", _choice(rng, {"unknown": 0.7, "none": 0.3}, n)),
    )
    retort = np.where(
        uses_hg,
        _choice(rng, {"yes": 0.15, "no": 0.6, "unknown": 0.25}, n),
        np.where(amalg == "none", "no", "unknown"),
    )
    cyanide = np.where(
        uses_hg,  # cyanide leaching of amalgamation tailings (Minamata Annex C) at a few mercury users
        _choice(rng, {"yes": 0.08, "no": 0.6, "unknown": 0.32}, n),
        np.where(gold & (mercury == "no"), _choice(rng, {"yes": 0.4, "no": 0.5, "unknown": 0.1}, n), "unknown"),
    )
    df["amalgamation"], df["retort"], df["cyanidation"] = amalg, retort, cyanide

    # production reported for a minority of gold sites, at the risk model's own productivity per worker
    # (config/risk.toml: median 22.4 g per worker-year, 90 % factor 7.2 -> log-sd ln 7.2 / 1.645 = 1.2)
    per_worker = np.exp(rng.normal(np.log(0.0224), 1.2, n))
    reported = gold & (rng.uniform(size=n) < 0.25) & np.isfinite(workers)
    df["gold_kg_per_yr"] = np.where(reported, np.round(np.nan_to_num(workers) * per_worker, 2), np.nan)

    start = np.datetime64("2015-01-01")
    span_days = int((np.datetime64("2025-12-31") - start).astype(int))
    days = rng.integers(0, span_days + 1, n)
    df["observed_date"] = pd.to_datetime(start + days.astype("timedelta64[D]")).astype("datetime64[ms]")

    df["source"] = site_source_label(seed)
    df["dataset"] = DATASET_NOTE
    cols = [
        "site_id",
        "name",
        "country_iso3",
        "region",
        "commodity",
        "workers",
        "gold_kg_per_yr",
        "mercury_use",
        "amalgamation",
        "retort",
        "cyanidation",
        "observed_date",
        "source",
        "dataset",
    ]
    geometry = gpd.points_from_xy(np.round(df["lon"], 6), np.round(df["lat"], 6), crs=CRS_WGS84)
    return gpd.GeoDataFrame(
        df[cols].astype({c: "str" for c in cols if c not in ("workers", "gold_kg_per_yr", "observed_date")}),
        geometry=geometry,
        crs=CRS_WGS84,
    )


def _pa_attributes(rng: np.random.Generator, n: int, start_id: int) -> pd.DataFrame:
    iucn = _choice(rng, _IUCN_WEIGHTS, n)
    desig = np.array([_DESIGNATION_BY_IUCN[c] for c in iucn], dtype=object)
    status = np.where(rng.uniform(size=n) < 0.06, "Proposed", "Designated")
    status = np.where((iucn == "Not Applicable") & (rng.uniform(size=n) < 0.3), "Inscribed", status)
    desig = np.where(status == "Inscribed", "World Heritage Site (natural or mixed)", desig)
    year = rng.integers(1950, 2024, n)
    ids = np.arange(start_id, start_id + n)
    return pd.DataFrame(
        {
            "WDPAID": ids.astype("int64"),
            "WDPA_PID": [str(i) for i in ids],
            "PA_DEF": "1",
            "NAME": [f"Demo {d.split(',')[0]} {i - 900_000_000} (synthetic)" for d, i in zip(desig, ids, strict=True)],
            "DESIG_ENG": desig,
            "IUCN_CAT": iucn,
            "STATUS": status,
            "STATUS_YR": np.where(status == "Proposed", 0, year).astype("int32"),
        }
    )


def _make_protected_areas(
    rng: np.random.Generator, hotspots: list[_Hotspot], countries: gpd.GeoDataFrame, land: BaseGeometry
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    geoms: list[BaseGeometry] = []
    iso: list[str] = []
    marine: list[str] = []
    for h in hotspots:
        n_pa = max(2, round(2.2 * h.weight))
        country = countries.loc[h.iso3].geometry
        for _ in range(n_pa):
            az = rng.uniform(0.0, 360.0)
            dist_km = rng.uniform(0.3 * h.sigma_km, 2.5 * h.sigma_km + 20.0)
            lon, lat, _ = GEOD.fwd(h.lon, h.lat, az, dist_km * 1000.0)
            radius_km = float(np.clip(np.exp(rng.normal(np.log(7.0), 0.7)), 2.0, 60.0))
            g = _blob(rng, lon, lat, radius_km, roughness=0.45).intersection(country)
            if g.is_empty or g.area == 0:
                continue
            geoms.append(g)
            iso.append(h.iso3)
            marine.append("0")
        if h.coast:  # coastal / marine parks reaching into the sea
            for _ in range(2):
                lon, lat, _ = GEOD.fwd(h.lon, h.lat, rng.uniform(0.0, 360.0), rng.uniform(20.0, 60.0) * 1000.0)
                g = _blob(rng, lon, lat, rng.uniform(10.0, 30.0))
                geoms.append(g)
                iso.append(h.iso3)
                marine.append("1" if g.intersects(land) else "2")
    attrs = _pa_attributes(rng, len(geoms), 900_000_001)
    attrs["ISO3"] = iso
    attrs["MARINE"] = marine
    gis_area = geodesic_area_km2(geoms)
    attrs["GIS_AREA"] = np.round(gis_area, 4)
    attrs["REP_AREA"] = np.round(gis_area * rng.uniform(0.85, 1.15, len(geoms)), 3)
    poly = gpd.GeoDataFrame(attrs, geometry=[shapely.MultiPolygon(_polygons(g)) for g in geoms], crs=CRS_WGS84)

    # point-only records (WDPA has these: a location and a reported area, no boundary)
    n_pt = max(6, len(hotspots) // 2)
    picks = rng.choice(len(hotspots), n_pt, replace=n_pt > len(hotspots))
    lons, lats, isos = [], [], []
    for i in picks:
        h = hotspots[int(i)]
        x, y = _points_in(rng, countries.loc[h.iso3].geometry, h.lon, h.lat, 1.5 * h.sigma_km, 1)
        lons.append(float(x[0]))
        lats.append(float(y[0]))
        isos.append(h.iso3)
    pattrs = _pa_attributes(rng, n_pt, 900_000_001 + len(geoms))
    pattrs["ISO3"] = isos
    pattrs["MARINE"] = "0"
    pattrs["REP_AREA"] = np.round(np.exp(rng.normal(np.log(40.0), 0.8, n_pt)), 3)
    point = gpd.GeoDataFrame(pattrs, geometry=gpd.points_from_xy(lons, lats), crs=CRS_WGS84)
    return poly, point


def _polygons(g: BaseGeometry) -> list[shapely.Polygon]:
    """The polygon parts of a geometry (intersections can leave lines or points behind)."""
    parts = getattr(g, "geoms", [g])
    out: list[shapely.Polygon] = []
    for p in parts:
        if p.geom_type == "Polygon" and not p.is_empty:
            out.append(p)
        elif p.geom_type in ("MultiPolygon", "GeometryCollection"):
            out.extend(_polygons(p))
    return out


def _make_rainforest(rng: np.random.Generator, land: BaseGeometry) -> gpd.GeoDataFrame:
    names, geoms = [], []
    for name, lon, lat, radius_km in _RAINFOREST_BLOBS:
        g = _blob(rng, lon, lat, radius_km, roughness=0.25).intersection(land)
        parts = _polygons(g)
        if parts:
            names.append(f"Demo {name} (synthetic)")
            geoms.append(shapely.MultiPolygon(parts))
    return gpd.GeoDataFrame(
        {"name": names, "biome": "tropical moist forest", "dataset": DATASET_NOTE}, geometry=geoms, crs=CRS_WGS84
    )


def _make_reefs(rng: np.random.Generator, land: BaseGeometry) -> gpd.GeoDataFrame:
    t = np.linspace(0.0, 2.0 * np.pi, 24, endpoint=False)
    names, isos, geoms = [], [], []
    k = 0
    for iso3, clon, clat in _REEF_CLUSTERS:
        for _ in range(int(rng.integers(3, 7))):
            lon, lat, _ = GEOD.fwd(clon, clat, rng.uniform(0.0, 360.0), rng.uniform(0.0, 35.0) * 1000.0)
            length_km, width_km, angle = rng.uniform(6.0, 40.0), rng.uniform(0.6, 4.0), rng.uniform(0.0, np.pi)
            along, across = 0.5 * length_km * np.cos(t), 0.5 * width_km * np.sin(t)
            east = along * np.sin(angle) + across * np.cos(angle)
            north = along * np.cos(angle) - across * np.sin(angle)
            parts = _polygons(_polygon_from_offsets(lon, lat, east, north).difference(land))
            if not parts:
                continue
            k += 1
            names.append(f"Demo reef {k} (synthetic)")
            isos.append(iso3)
            geoms.append(shapely.MultiPolygon(parts))
    return gpd.GeoDataFrame(
        {"name": names, "iso3": isos, "featurecla": "Reef", "dataset": DATASET_NOTE}, geometry=geoms, crs=CRS_WGS84
    )


def _make_water(rng: np.random.Generator, hotspots: list[_Hotspot], countries: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Meandering synthetic rivers through the gold hotspots (alluvial mining follows rivers)."""
    names, geoms = [], []
    for i, h in enumerate(hotspots):
        if _COMMODITY_MIX[h.mix].get("gold", 0.0) < 0.5 or h.iso3 in ("GRL", "MNG", "SDN", "BFA"):
            continue
        heading = rng.uniform(0.0, 360.0)
        coords = [(h.lon, h.lat)]
        for direction in (0.0, 180.0):
            lon, lat, az = h.lon, h.lat, heading + direction
            leg = []
            for _ in range(30):
                az += rng.normal(0.0, 25.0)
                lon, lat, back = GEOD.fwd(lon, lat, az, rng.uniform(3.0, 7.0) * 1000.0)
                az = (back + 180.0) % 360.0
                leg.append((lon, lat))
            coords = coords + leg if direction == 0.0 else leg[::-1] + coords
        line = shapely.LineString(coords).intersection(countries.loc[h.iso3].geometry)
        if line.is_empty:
            continue
        names.append(f"Demo river {i + 1} (synthetic)")
        parts = [p for p in getattr(line, "geoms", [line]) if p.geom_type == "LineString"]
        geoms.append(shapely.MultiLineString(parts))
    return gpd.GeoDataFrame(
        {"name": names, "featurecla": "River", "dataset": DATASET_NOTE}, geometry=geoms, crs=CRS_WGS84
    )


def _write_tree_cover(rng: np.random.Generator, sites: gpd.GeoDataFrame, peru: BaseGeometry, path: Path) -> None:
    """Tree cover (uint8 %, nodata 255) over Madre de Dios: smooth forest with clearings at the sites."""
    west, south, east, north = _TREE_COVER_WINDOW
    res = _TREE_COVER_RES_DEG
    width, height = round((east - west) / res), round((north - south) / res)
    lon = west + (np.arange(width) + 0.5) * res
    lat = north - (np.arange(height) + 0.5) * res
    glon, glat = np.meshgrid(lon, lat)

    field = np.full(glon.shape, 82.0)
    for _ in range(6):  # smooth large-scale variation
        kx, ky = rng.uniform(1.0, 6.0, 2)
        field += (
            rng.uniform(2.0, 6.0) * np.sin(kx * glon + rng.uniform(0, 6.3)) * np.cos(ky * glat + rng.uniform(0, 6.3))
        )
    field += rng.normal(0.0, 3.0, glon.shape)

    to_utm = pyproj.Transformer.from_crs(CRS_WGS84, _TREE_COVER_CRS_METRIC, always_xy=True)
    px, py = to_utm.transform(glon, glat)
    inside = sites.cx[west:east, south:north]
    sx, sy = to_utm.transform(inside.geometry.x.to_numpy(), inside.geometry.y.to_numpy())
    clearing = np.zeros(glon.shape)
    for x, y in zip(sx, sy, strict=True):
        d_km = np.hypot(px - x, py - y) / 1000.0
        clearing = np.maximum(clearing, np.exp(-((d_km / 2.5) ** 2)))
    field *= 1.0 - 0.85 * clearing

    data = np.clip(np.round(field), 0, 100).astype(np.uint8)
    data[~shapely.contains_xy(peru, glon, glat)] = 255  # nodata outside Peru: a realistic gap
    profile = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": 1,
        "dtype": "uint8",
        "crs": CRS_WGS84,
        "transform": Affine(res, 0.0, west, 0.0, -res, north),
        "nodata": 255,
        "compress": "deflate",
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
        dst.set_band_description(1, "tree cover % (synthetic demo)")
        dst.update_tags(dataset=DATASET_NOTE, units="percent")


# Mining rushes: hotspots whose footprints grow year by year towards a nearby protected area.
_RUSH_MIXES = ("gold", "gold_silver", "bolivia", "tanzania", "zimbabwe")
_RUSH_SKIP = ("GRL", "MNG", "SDN", "BFA", "MLI")


def _make_mining(
    rng: np.random.Generator, hotspots: list[_Hotspot], countries: gpd.GeoDataFrame, pa_poly: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """Synthetic mining footprints by year: at each gold hotspot a front starts at the centre and moves
    year by year into the nearest demo protected area of the same country, leaving small clearings
    (0.05-1 km2) around it; the number of new clearings grows over the years (a rush).

    One "new ground" polygon layer per year, like Amazon Mining Watch's per-year detections, written
    as one file with a ``year`` column. Clearings are clipped to the country; some overlap earlier
    ones (mined again), which the change computation counts once.
    """
    rows: list[tuple[int, str, str, BaseGeometry]] = []
    pa_iso = pa_poly["ISO3"].to_numpy(dtype=object)
    pa_geoms = np.asarray(pa_poly.geometry.values, dtype=object)
    n_years = len(MINING_YEARS)
    for h in hotspots:
        if h.mix not in _RUSH_MIXES or h.iso3 in _RUSH_SKIP:
            continue
        country = countries.loc[h.iso3].geometry
        mine = np.flatnonzero(pa_iso == h.iso3)
        centre = shapely.Point(h.lon, h.lat)
        if len(mine):  # the closest park is the rush's target (a choice of scene, not a measurement)
            target = pa_geoms[mine[np.argmin(shapely.distance(pa_geoms[mine], centre))]]
            tx, ty = shapely.get_coordinates(target.representative_point())[0]
        else:
            tx, ty = h.lon + 0.3, h.lat + 0.2
        az, _, dist_m = GEOD.inv(h.lon, h.lat, tx, ty)
        base = rng.uniform(4.0, 9.0)
        for k, year in enumerate(MINING_YEARS):
            # the front reaches the park's middle in the last year; new clearings grow ~25 % a year
            flon, flat, _ = GEOD.fwd(h.lon, h.lat, az, dist_m * (k + 1) / n_years)
            n_new = round(base * 1.25**k * h.weight / 3.0) + 2
            lons, lats = _scatter(rng, float(flon), float(flat), max(2.0, h.sigma_km / 8.0), n_new)
            for x, y in zip(lons, lats, strict=True):
                g = _blob(rng, float(x), float(y), float(rng.uniform(0.15, 0.6)), roughness=0.5, n=16)
                g = g.intersection(country)
                parts = _polygons(g)
                if parts:
                    rows.append((year, h.iso3, h.label, shapely.MultiPolygon(parts)))
    years, isos, regions, geoms = zip(*rows, strict=True) if rows else ((), (), (), ())
    return gpd.GeoDataFrame(
        {
            "year": np.asarray(years, dtype="int32"),
            "iso3": list(isos),
            "region": list(regions),
            "name": "Demo mining clearing (synthetic)",
            "dataset": DATASET_NOTE,
        },
        geometry=list(geoms),
        crs=CRS_WGS84,
    )
