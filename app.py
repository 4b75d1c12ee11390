"""ASM risk: entry point.

    python app.py                       serve the dashboard (built-in demo data by default)
    python app.py score --sites F --out risk.csv
    python app.py screen --aoi AOI --sites F --protected-areas P --out report.html
    python app.py change --mining Y1 --mining Y2 --protected-areas P --out change.csv
    python app.py fetch-data            download open datasets into the cache dir

``app.server`` is the Flask server, so ``gunicorn app:server`` works.
Exit codes: 0 success, 2 bad input or usage (message on stderr, no traceback),
1 internal error (traceback only with --debug).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import threading
import time
from pathlib import Path

from pydantic import ValidationError

from layers.formats import OUTPUT_TABLE_EXTENSIONS, RASTER_EXTENSIONS, SITE_EXTENSIONS, VECTOR_EXTENSIONS
from layers.guard import check_input_path, harden_gdal
from layers.site_options import COLUMN_ROLES, DEFAULT_KEYS
from scoring.errors import UsageError, describe_error
from settings import Settings, get_settings

# What `score --out` writes (scoring.writers.write_table); listed here so --help needs no geo stack.
TABLE_FORMATS = OUTPUT_TABLE_EXTENSIONS  # scoring.writers writes these (one registry: layers.formats)
SCREEN_FORMATS = (*TABLE_FORMATS, ".html")  # `screen --out`: the tables, or the AOI report


def _add_data_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data (replace the built-in synthetic demo data with your own files)")
    g.add_argument(
        "--sites",
        type=Path,
        metavar="PATH",
        help="mine sites: CSV/TSV, XLSX, GeoJSON, GeoPackage, Shapefile (.shp or .zip), GeoParquet, KML",
    )
    g.add_argument("--sites-layer", metavar="NAME", help="layer (GeoPackage) or sheet (XLSX) to read the sites from")
    g.add_argument("--crs", metavar="CRS", help="CRS of CSV/XLSX coordinates, e.g. EPSG:32735 (default EPSG:4326)")
    g.add_argument(
        "--column",
        action="append",
        default=[],
        metavar="ROLE=COLUMN",
        help="read ROLE from the sites file's COLUMN instead of guessing it from the names, e.g. --column "
        "commodity=mineral1; ROLE= (empty) for none (repeatable). Roles: " + ", ".join(COLUMN_ROLES),
    )
    for key in DEFAULT_KEYS:
        g.add_argument(
            f"--default-{key.replace('_', '-')}",
            dest=f"default_{key}",
            metavar="VALUE",
            help=f"{key} of every site whose file gives none (no column, or an empty cell); see docs/data.md",
        )
    g.add_argument(
        "--protected-areas",
        type=Path,
        metavar="PATH",
        help="protected areas: WDPA download (zip, GDB, GeoPackage) or any polygon file with a name column",
    )
    g.add_argument(
        "--include-proposed",
        action="store_true",
        help="keep WDPA areas with STATUS 'Proposed' or 'Not Reported' (excluded by default)",
    )
    g.add_argument(
        "--rainforest",
        type=Path,
        metavar="PATH",
        help="rainforest polygons, or a tree-cover GeoTIFF (pixels >= ASM_TREE_COVER_THRESHOLD_PCT)",
    )
    g.add_argument(
        "--reefs", type=Path, metavar="PATH", help="coral reefs: polygons, lines or points (UNEP-WCMC, Natural Earth)"
    )
    g.add_argument(
        "--arctic",
        type=Path,
        metavar="PATH",
        help="Arctic region polygon in any CRS, e.g. the AMAP area (default: north of the Arctic Circle)",
    )
    g.add_argument("--water", type=Path, metavar="PATH", help="rivers / water bodies (lines or polygons)")
    g.add_argument(
        "--countries", type=Path, metavar="PATH", help="country boundaries (default: bundled Natural Earth 1:110m)"
    )
    g.add_argument(
        "--raster",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="a GeoTIFF or netCDF subdataset sampled at each site, e.g. hg_emission=netcdf:Streets.nc:Hg0 (repeatable)",
    )


def _add_mining_option(p: argparse.ArgumentParser, *, required: bool) -> None:
    p.add_argument(
        "--mining",
        type=Path,
        action="append",
        default=None,
        required=required,
        metavar="PATH",
        help="mining footprints (polygons) with a year: one file per year (a year in the name, e.g. "
        "mining_2019.geojson or AMW's mining_201900_simplified.geojson) or a 'year'/'date' column (repeatable)",
    )


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    p.add_argument("--no-progress", action="store_true", help="never show a progress bar")


def _add_aoi_commands(sub) -> None:
    """The area-of-interest commands: ``screen`` and ``change``."""
    screen = sub.add_parser(
        "screen",
        help="screen an area of interest: its sites, protected areas, ecosystems and mercury",
        description="Screen an area of interest (a concession, a road, a project site: any polygon, line or point "
        "file) against the sites, protected areas and ecosystems. Writes every site inside the AOI or within "
        "--buffer-km of it, with the full score contract plus in_aoi and dist_aoi_km, in the format of --out's "
        "extension (" + ", ".join(TABLE_FORMATS) + "; tables also get <out stem>.protected_areas.csv and "
        "<out stem>.ecosystems.csv), or the AOI report with .html. Rejected rows go to <out stem>.rejected.csv.",
    )
    screen.add_argument(
        "--aoi", type=Path, required=True, metavar="PATH", help="the area of interest: polygons, lines or points"
    )
    screen.add_argument("--aoi-layer", metavar="NAME", help="layer of a GeoPackage AOI (default: every layer)")
    screen.add_argument(
        "--buffer-km",
        type=float,
        metavar="KM",
        help="keep what lies within this distance of the AOI (geodesic; default ASM_AOI_BUFFER_KM, 10 km; "
        "lines and points need one)",
    )
    screen.add_argument("--union", action="store_true", help="screen the AOI's features as one (their union)")
    screen.add_argument("--out", type=Path, required=True, metavar="PATH", help="output: " + ", ".join(SCREEN_FORMATS))
    screen.add_argument(
        "--config", type=Path, metavar="PATH", help="risk-model weights and thresholds (TOML; default config/risk.toml)"
    )
    screen.add_argument(
        "--engine",
        choices=("single", "dask"),
        default="single",
        help="'dask': the facts and scores of the selected sites on a LocalCluster (same results; see "
        "docs/performance.md for when it pays)",
    )
    _add_run_options(screen)
    _add_data_options(screen)
    _add_memory_option(screen)

    change = sub.add_parser(
        "change",
        help="mining footprints inside protected areas and ecosystems, year by year",
        description="One row per protected area (and rainforest polygon) with mining per year: mining_km2 (that "
        "year's footprints inside it), mining_km2_cumulative (the union of the footprints up to that year), the "
        "same within --buffer-km, and with --sites the sites by first-observed year. Format by --out's "
        "extension: " + ", ".join(TABLE_FORMATS) + ". Rejected rows go to <out stem>.rejected.csv.",
    )
    _add_mining_option(change, required=True)
    change.add_argument(
        "--buffer-km",
        type=float,
        action="append",
        default=[],
        metavar="KM",
        help="also the mining within this distance of each target (geodesic; repeatable)",
    )
    change.add_argument("--include-empty", action="store_true", help="also list targets with no mining at all (zeros)")
    change.add_argument(
        "--out", type=Path, required=True, metavar="PATH", help="output table: " + ", ".join(TABLE_FORMATS)
    )
    _add_run_options(change)
    _add_data_options(change)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python app.py",
        description="Artisanal and small-scale mining (ASM) risk dashboard. Without a command it serves the dashboard.",
        epilog="Commands: 'score' runs the scoring headless and writes the risk table; 'fetch-data' downloads open datasets. "
        "Every option can also be set with an ASM_ environment variable (see settings.py).",
    )
    parser.add_argument("--host", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default 8050)")
    parser.add_argument("--debug", action="store_true", help="Dash debug mode; show Python tracebacks on errors")
    _add_data_options(parser)
    _add_mining_option(parser, required=False)
    sub = parser.add_subparsers(dest="command", metavar="{score,screen,change,fetch-data}")

    score = sub.add_parser(
        "score",
        help="score the sites headless and write the risk table",
        description="Run the whole scoring headless and write the risk table. The format follows the extension of --out: "
        + ", ".join(TABLE_FORMATS)
        + ". Rejected rows go to <out stem>.rejected.csv with a 'reason' column.",
    )
    score.add_argument(
        "--out", type=Path, required=True, metavar="PATH", help="output table: .csv, .xlsx, .geojson, .gpkg or .parquet"
    )
    score.add_argument(
        "--config", type=Path, metavar="PATH", help="risk-model weights and thresholds (TOML; default config/risk.toml)"
    )
    score.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    score.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    score.add_argument(
        "--engine",
        choices=("single", "dask"),
        default="single",
        help="'dask': compute the proximity and the scores on a Dask cluster (same results as 'single')",
    )
    where = score.add_mutually_exclusive_group()
    where.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="with --engine dask: an existing Dask scheduler (default: a LocalCluster)",
    )
    where.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="with --engine dask: LocalCluster worker processes (default: the CPU count)",
    )
    score.add_argument(
        "--partition-size",
        type=int,
        metavar="N",
        help="with --engine dask: sites per partition (default 25000; smaller spreads the work over more cores)",
    )
    _add_data_options(score)
    _add_memory_option(score)

    _add_aoi_commands(sub)

    fetch = sub.add_parser(
        "fetch-data",
        help="download open real datasets into the cache dir",
        description="Download Natural Earth and the Amazon Mining Watch CC-BY layers at pinned commits, with sha256 checks, into the cache dir; the dashboard then uses them by default.",
    )
    fetch.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    fetch.add_argument(
        "--cache-dir",
        type=Path,
        metavar="PATH",
        help="where to store the data (default ASM_CACHE_DIR or ~/.cache/asm-risk)",
    )
    return parser


def _add_memory_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--memory-budget-mb",
        type=float,
        metavar="MB",
        help="memory the scoring may use (default ASM_MEMORY_BUDGET_MB, 3072): when the protected-area layer "
        "would need more in one pass, the sites are scored partition by partition in this process "
        "(same results, memory about one partition's share of the layer)",
    )


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Settings from the environment, overridden by the command-line options given."""
    overrides: dict = {}
    for opt, key in (
        ("host", "host"), ("port", "port"), ("sites", "sites_path"), ("protected_areas", "protected_areas_path"),
        ("rainforest", "rainforest_path"), ("reefs", "reefs_path"), ("arctic", "arctic_path"), ("water", "water_path"),
        ("countries", "countries_path"), ("crs", "sites_crs"), ("cache_dir", "cache_dir"),
        ("memory_budget_mb", "memory_budget_mb"),
    ):  # fmt: skip
        value = getattr(args, opt, None)
        if value is not None:
            overrides[key] = value
    if getattr(args, "debug", False):
        overrides["debug"] = True
    if getattr(args, "include_proposed", False):
        overrides["include_proposed_protected_areas"] = True
    if getattr(args, "mining", None):
        overrides["mining_paths"] = tuple(args.mining)
    if getattr(args, "sites_layer", None):
        overrides["sites_layer"] = args.sites_layer
    columns = {}
    for item in getattr(args, "column", []) or []:
        role, sep, column = item.partition("=")
        if not sep or role.strip() not in COLUMN_ROLES:
            raise UsageError(
                f"--column {item!r}: expected ROLE=COLUMN with ROLE one of {', '.join(COLUMN_ROLES)}, "
                "e.g. --column commodity=mineral1"
            )
        columns[role.strip()] = column
    if columns:
        overrides["sites_columns"] = columns
    defaults = {key: getattr(args, f"default_{key}") for key in DEFAULT_KEYS if getattr(args, f"default_{key}", None)}
    if defaults:
        overrides["sites_defaults"] = defaults
    rasters = {}
    for item in getattr(args, "raster", []) or []:
        name, sep, path = item.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise UsageError(f"--raster {item!r}: expected NAME=PATH, e.g. --raster tree_cover_pct=treecover.tif")
        rasters[name.strip()] = Path(path.strip())
    if rasters:
        overrides["rasters"] = rasters
    try:
        # init arguments override the ASM_ environment, and are validated like it
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}" for err in exc.errors()
        )
        raise UsageError(
            f"invalid option or ASM_ environment setting: {problems} (see python app.py --help and settings.py)"
        ) from exc


def _check_inputs(settings: Settings) -> None:
    """Every input path through ``layers.guard`` (local file, known extension, signature) before reading.

    No size limit: ``max_upload_mb`` bounds what a browser may send to a server; a file the user names
    on the command line (a 700 MB WDPA download, say) is theirs to read.
    """
    harden_gdal()
    max_mb = float("inf")
    for label, path, extensions, dirs in (
        ("--sites", settings.sites_path, SITE_EXTENSIONS, ()),
        ("--protected-areas", settings.protected_areas_path, VECTOR_EXTENSIONS, ("",)),  # .gdb or a folder of files
        ("--rainforest", settings.rainforest_path, VECTOR_EXTENSIONS + RASTER_EXTENSIONS, (".gdb",)),
        ("--reefs", settings.reefs_path, VECTOR_EXTENSIONS, (".gdb",)), ("--arctic", settings.arctic_path, VECTOR_EXTENSIONS, ()),
        ("--water", settings.water_path, VECTOR_EXTENSIONS, (".gdb",)), ("--countries", settings.countries_path, VECTOR_EXTENSIONS, ()),
    ):  # fmt: skip
        if path is not None:
            check_input_path(
                path, extensions=extensions, max_mb=max_mb, label=f"the file given to {label}", allow_dirs=dirs
            )
    for path in settings.mining_paths:
        check_input_path(path, extensions=VECTOR_EXTENSIONS, max_mb=max_mb, label="the file given to --mining")
    for name, path in settings.rasters.items():
        p = str(path)
        prefix, sep, rest = p.partition(":")
        if sep and prefix.lower() in ("netcdf", "hdf5"):  # netcdf:FILE.nc:VARIABLE
            p = rest.rsplit(":", 1)[0] if rest.count(":") >= 1 else rest
        check_input_path(p, extensions=RASTER_EXTENSIONS, max_mb=max_mb, label=f"raster {name!r} (--raster)")


LARGE_INPUT_MB = 100.0  # an input this size gets a note before the first (slow) read


class _StageProgress:
    """A live progress line over the pipeline stages, shown on a terminal once a run lasts a few seconds.

    A daemon thread refreshes it twice a second, so the elapsed time keeps moving during one long
    stage (reading a 700 MB WDPA file is a single stage of a minute or more).
    """

    def __init__(self, enabled: bool, stream=None, delay_s: float = 2.0) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled and self.stream.isatty()
        self.delay_s = delay_s
        self.t0 = time.perf_counter()
        self.bar = None
        self.stage = "starting"
        self.n = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker = None
        if self.enabled:
            self._ticker = threading.Thread(target=self._tick, name="cli-progress", daemon=True)
            self._ticker.start()

    def __call__(self, stage: str) -> None:
        with self._lock:
            self.n += 1
            self.stage = stage
            if self.bar is not None:
                self.bar.set_description_str(stage, refresh=False)
                self.bar.update(1)

    def _tick(self) -> None:
        while not self._stop.wait(0.5):
            with self._lock:
                if self.bar is None and time.perf_counter() - self.t0 > self.delay_s:
                    from tqdm import tqdm

                    self.bar = tqdm(
                        total=None, unit="step", file=self.stream, leave=False, bar_format="{elapsed} {desc}"
                    )
                    self.bar.set_description_str(self.stage, refresh=False)
                if self.bar is not None:
                    self.bar.refresh()

    def close(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=2)
        if self.bar is not None:
            self.bar.close()


def _note_large_inputs(settings: Settings) -> None:
    """One line on stderr per large input, before its first read (which can take minutes), terminal or not."""
    for label, path in (("sites", settings.sites_path), ("protected areas", settings.protected_areas_path)):
        if path is None or not Path(path).is_file():
            continue
        size_mb = Path(path).stat().st_size / 1e6
        if size_mb >= LARGE_INPUT_MB:
            print(
                f"reading {label} from {Path(path).name} ({size_mb:,.0f} MB): the first run parses the whole file "
                "(a minute or more per 500 MB); later runs read it from the layer cache",
                file=sys.stderr,
                flush=True,
            )


def cmd_score(args: argparse.Namespace) -> int:
    # deliberate lazy imports: the geo stack (numba kernels, geopandas) only for the commands that score
    from scoring.pipeline import LayerSources, load_config, ordered_output_columns
    from scoring.run import run_scoring
    from scoring.writers import write_rejected, write_table

    settings = settings_from_args(args)
    out = Path(args.out)
    if out.suffix.lower() not in TABLE_FORMATS:
        raise UsageError(
            f"--out {out}: unknown format {out.suffix or '(none)'!r}; use one of {', '.join(TABLE_FORMATS)}"
        )
    if settings.sites_path is None:
        raise UsageError(
            "score needs --sites PATH (the demo data is for the dashboard; try --sites with your own file)"
        )
    _check_inputs(settings)
    if args.engine != "dask" and (args.scheduler or args.workers is not None or args.partition_size is not None):
        raise UsageError("--scheduler, --workers and --partition-size need --engine dask")
    if args.partition_size is not None and args.partition_size < 1:
        raise UsageError(f"--partition-size {args.partition_size}: give at least 1")
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers {args.workers}: give at least 1")
    config = load_config(settings, args.config)
    if not args.no_progress:
        _note_large_inputs(settings)
    progress = _StageProgress(enabled=not args.no_progress)
    try:
        if args.engine == "dask":
            from scoring.dask_engine import run_scoring_dask  # deliberate lazy import: dask and distributed

            result = run_scoring_dask(
                LayerSources.from_settings(settings),
                settings,
                config,
                scheduler=args.scheduler,
                n_workers=args.workers,
                progress=not args.no_progress,
                partition_size=args.partition_size,
            )
        else:
            result, _ = run_scoring(
                LayerSources.from_settings(settings), settings, config, progress, notice=_notice(args.no_progress)
            )
        progress("writing")
        scored = result.scored[ordered_output_columns(result.scored)]
        write_table(scored, out, config=config, sources=result.sources, is_demo=result.is_demo)
        rejected_path = write_rejected(result.rejected, out)
    finally:
        progress.close()
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    n_rej = len(result.rejected)
    detail = _rejected_detail(result.rejected)
    where = f", see {rejected_path}" if rejected_path else ""
    no_pa = "" if settings.protected_areas_path else "; NO protected-area layer (see the first warning)"
    print(
        f"scored {len(scored)} sites, rejected {n_rej}{detail}{where}, elapsed {result.elapsed_s:.1f} s -> {out}{no_pa}"
    )
    return 0


def _notice(quiet: bool):
    """A one-line note on stderr before the next stage (the engine's choice), unless ``--no-progress``."""

    def notice(message: str) -> None:
        if not quiet:
            print(message, file=sys.stderr, flush=True)

    return notice


def _rejected_detail(rejected) -> str:
    if not len(rejected) or "layer" not in rejected.columns:
        return ""
    by_layer = rejected["layer"].value_counts()
    return " (" + ", ".join(f"{n} {layer.replace('_', ' ')}" for layer, n in by_layer.items()) + ")"


def cmd_screen(args: argparse.Namespace) -> int:
    # deliberate lazy imports: the geo stack only for the commands that compute
    from scoring.pipeline import LayerSources, load_config
    from scoring.screen import run_screen, write_screen_tables

    settings = settings_from_args(args)
    out = Path(args.out)
    if out.suffix.lower() not in SCREEN_FORMATS:
        raise UsageError(
            f"--out {out}: unknown format {out.suffix or '(none)'!r}; use one of {', '.join(SCREEN_FORMATS)}"
        )
    if settings.sites_path is None:
        raise UsageError("screen needs --sites PATH (the sites to screen), and usually --protected-areas PATH")
    buffer_km = settings.aoi_buffer_km if args.buffer_km is None else args.buffer_km
    if not 0 <= buffer_km <= 500:
        raise UsageError(f"--buffer-km {buffer_km:g}: give a distance from 0 to 500 km")
    _check_inputs(settings)
    check_input_path(args.aoi, extensions=VECTOR_EXTENSIONS, max_mb=float("inf"), label="the file given to --aoi")
    config = load_config(settings, args.config)
    if not args.no_progress:
        _note_large_inputs(settings)
    progress = _StageProgress(enabled=not args.no_progress)
    try:
        result = run_screen(
            args.aoi, LayerSources.from_settings(settings), settings, config, buffer_km=buffer_km, union=args.union,
            aoi_layer=args.aoi_layer, progress=progress, engine=args.engine, notice=_notice(args.no_progress),
        )  # fmt: skip
        progress("writing")
        if out.suffix.lower() == ".html":
            from reports.outputs import write_screen  # deliberate lazy import: plotly, only for the HTML report

            written = write_screen(result, out)
        else:
            written = write_screen_tables(result, out)
    finally:
        progress.close()
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    no_pa = "" if settings.protected_areas_path else "; NO protected-area layer (see the first warning)"
    print(
        f"{result.summary()}{_rejected_detail(result.rejected)}{written.where}, elapsed {result.elapsed_s:.1f} s "
        f"-> {out}{no_pa}"
    )
    return 0


def cmd_change(args: argparse.Namespace) -> int:
    from scoring.change import run_change, write_change  # deliberate lazy import: the geo stack
    from scoring.pipeline import LayerSources

    settings = settings_from_args(args)
    out = Path(args.out)
    if out.suffix.lower() not in TABLE_FORMATS:
        raise UsageError(
            f"--out {out}: unknown format {out.suffix or '(none)'!r}; use one of {', '.join(TABLE_FORMATS)}"
        )
    bad = [d for d in args.buffer_km if not 0 < d <= 500]
    if bad:
        raise UsageError(f"--buffer-km {bad[0]:g}: give a distance above 0 and up to 500 km")
    if settings.protected_areas_path is None and settings.rainforest_path is None:
        raise UsageError("change needs --protected-areas PATH and/or --rainforest PATH: where to measure the mining")
    _check_inputs(settings)
    if not args.no_progress:
        _note_large_inputs(settings)
    progress = _StageProgress(enabled=not args.no_progress)
    try:
        result = run_change(
            LayerSources.from_settings(settings), settings, buffers_km=tuple(sorted(set(args.buffer_km))),
            include_empty=args.include_empty, progress=progress,
        )  # fmt: skip
        progress("writing")
        rejected_path = write_change(result, out)
    finally:
        progress.close()
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    where = f", see {rejected_path}" if rejected_path else ""
    print(f"{result.summary()}{_rejected_detail(result.rejected)}{where}, elapsed {result.elapsed_s:.1f} s -> {out}")
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    from layers.fetch import fetch_data  # deliberate lazy import: only this command downloads

    settings = settings_from_args(args)
    report = fetch_data(Path(settings.cache_dir), progress=True)
    print(report.summary())
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    _check_inputs(settings)
    from dashboard.app_factory import create_app  # deliberate lazy import: the CLI commands never load dashboard/

    dash_app = create_app(settings)
    dash_app.run(host=settings.host, port=settings.port, debug=settings.debug)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = bool(getattr(args, "debug", False))
    try:
        if args.command == "score":
            return cmd_score(args)
        if args.command == "screen":
            return cmd_screen(args)
        if args.command == "change":
            return cmd_change(args)
        if args.command == "fetch-data":
            return cmd_fetch(args)
        return cmd_serve(args)
    except BaseException as exc:  # SystemExit passes through; everything else through the one error table
        if isinstance(exc, SystemExit | GeneratorExit):
            raise
        outcome = describe_error(exc)
        if debug and not isinstance(exc, KeyboardInterrupt):
            raise
        print(outcome.cli_line(exc), file=sys.stderr)
        return outcome.exit_code


def __getattr__(name: str):
    """Build the Dash app lazily, so ``gunicorn app:server`` works and the CLI stays fast."""
    if name in ("app", "server"):
        from dashboard.app_factory import create_app  # deliberate lazy import: only gunicorn asks for the app

        dash_app = create_app(get_settings())
        globals()["app"] = dash_app
        globals()["server"] = dash_app.server
        return globals()[name]
    raise AttributeError(name)


#: commands that run to an end: everything they write is written, closed and renamed into place
#: before ``main`` returns (a Dask cluster is closed in its own ``finally``)
BATCH_COMMANDS = frozenset({"score", "screen", "change", "fetch-data"})


def exit_now(code: int) -> None:
    """End a finished batch command without the interpreter's teardown.

    Tearing down pandas, numba, scipy and the rest module by module takes 0.3-0.5 s of every run
    (measured: 0.49 s after ``score`` on 100k sites, 0.27 s after the imports alone) and frees
    nothing the OS would not. The output streams and logging are flushed first; nothing the
    command wrote is left open (its files are closed and renamed into place before it returns).
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more can be said
            stream.flush()
    logging.shutdown()
    os._exit(code)


def _observed() -> bool:
    """A profiler or tracer (``python -m cProfile``, coverage, a debugger) writes its results at exit."""
    return sys.getprofile() is not None or sys.gettrace() is not None


if __name__ == "__main__":
    code = main()
    if sys.argv[1:2] and sys.argv[1] in BATCH_COMMANDS and not _observed():
        exit_now(code)
    sys.exit(code)
