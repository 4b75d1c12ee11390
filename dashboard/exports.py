"""Risk tables to CSV / XLSX / GeoJSON / GeoPackage / GeoParquet, each carrying the
method version, the weights in use and the data citations.

Shared by the CLI (``python app.py score``) and the dashboard's export buttons, so an
exported number equals the number on screen. Writes are atomic (temp file + rename).
Text cells that a spreadsheet would run as a formula are neutralised (OWASP CSV
injection guidance); numbers are left unchanged.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geo.risk import RiskConfig

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
DEMO_NOTICE = "SYNTHETIC DEMO DATA: these sites and protected areas are generated, not real places or observations."
LICENCE_NOTES = (
    "WDPA data (protectedplanet.net) may not be redistributed: share outputs derived from it under the WDPA terms of use.",
    "Natural Earth: public domain. Amazon Mining Watch (Earth Genome): CC BY 4.0, cite Earth Genome.",
    "Hansen Global Forest Change: CC BY 4.0. Streets et al. (2019) mercury emissions grid: cite the paper.",
)


def neutralise_formula_text(value: object) -> object:
    """Prefix a text cell that starts like a formula with an apostrophe; leave everything else as is."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with every text cell neutralised (numbers, dates and booleans unchanged)."""
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            out[col] = s.map(neutralise_formula_text, na_action="ignore")
    out.columns = [neutralise_formula_text(str(c)) for c in out.columns]
    return out


def safe_csv(frame: pd.DataFrame, path: str | Path | None = None) -> str | None:
    """CSV of ``frame`` with formula text neutralised and every cell holding a CR or LF quoted.

    RFC 4180 line ends (CRLF) make the csv writer quote any cell containing ``\r`` or ``\n``:
    with pandas' default ``\n`` a bare CR inside a cell is written unquoted, a spreadsheet
    starts a new row there, and text after it (``x\r=cmd()``) would become a formula cell.
    Returns the text when ``path`` is None.
    """
    return neutralise_frame(frame).to_csv(path, index=False, encoding="utf-8", lineterminator="\r\n")


def about_text(
    config: RiskConfig, sources: Sequence[str], *, is_demo: bool, n_rows: int, filters: dict | None = None
) -> str:
    """The method, weights and citations that travel with every export."""
    lines = []
    if is_demo:
        lines += [DEMO_NOTICE, ""]
    lines += [
        f"Method: {config.version}",
        f"Generated: {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}",
        f"Rows: {n_rows}",
        "Distances are geodesic on the WGS84 ellipsoid (km); areas are geodesic (km2).",
        "Risk model: see docs/risk-model.md (hazard = mercury release estimate; sensitivity = protected areas and ecosystems).",
        "",
        "Data sources:",
        *[f"  - {s}" for s in sources],
        "",
        "Licences:",
        *[f"  - {s}" for s in LICENCE_NOTES],
    ]
    if filters:
        lines += ["", "Filters in use:", json.dumps(filters, indent=2, default=str)]
    lines += ["", "Weights and thresholds in use (TOML):", config.to_toml()]
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """A temporary path beside ``final`` that replaces it only if the block succeeds."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=final.suffix, dir=final.parent)
    os.close(fd)
    os.unlink(tmp)  # let the writer create it (GDAL refuses to overwrite some formats)
    try:
        yield Path(tmp)
        os.replace(tmp, final)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _plain_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop the geometry (lon/lat stay), make categoricals plain text."""
    out = pd.DataFrame(frame.drop(columns=[c for c in frame.columns if c == "geometry"]))
    for col in out.columns:
        if isinstance(out[col].dtype, pd.CategoricalDtype):
            out[col] = out[col].astype("string")
    return out


def _geo_safe(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Types every vector driver accepts: categoricals and objects as text."""
    out = frame.copy()
    for col in out.columns:
        if col == out.geometry.name:
            continue
        if isinstance(out[col].dtype, pd.CategoricalDtype) or out[col].dtype == object:
            out[col] = out[col].astype("string")
    return out


def write_table(
    frame: gpd.GeoDataFrame | pd.DataFrame,
    path: str | Path,
    *,
    config: RiskConfig,
    sources: Sequence[str],
    is_demo: bool,
    filters: dict | None = None,
) -> Path:
    """Write the risk table in the format given by the extension, with its 'about' metadata."""
    path = Path(path)
    ext = path.suffix.lower()
    about = about_text(config, sources, is_demo=is_demo, n_rows=len(frame), filters=filters)
    if ext == ".csv":
        with atomic_path(path) as tmp:
            safe_csv(_plain_table(frame), tmp)
        _write_text(path.with_suffix(".about.txt"), about)
    elif ext == ".xlsx":
        with atomic_path(path) as tmp:
            write_xlsx(frame, tmp, about)
    elif ext in (".geojson", ".gpkg", ".parquet"):
        gdf = _geo_safe(gpd.GeoDataFrame(frame, geometry="geometry"))
        with atomic_path(path) as tmp:
            if ext == ".geojson":
                gdf.to_file(tmp, driver="GeoJSON")
            elif ext == ".gpkg":
                gdf.to_file(
                    tmp,
                    driver="GPKG",
                    layer="asm_risk",
                    dataset_metadata={"asm_risk_about": about},
                    layer_metadata={"asm_risk_about": about},
                )
            else:
                _write_parquet_with_metadata(gdf, tmp, about)
        if ext == ".geojson":
            _write_text(path.with_suffix(".about.txt"), about)
    else:
        raise ValueError(f"unknown table format {ext!r}")
    return path


def write_xlsx(frame: pd.DataFrame, path: Path, about: str) -> None:
    """The data sheet, then a 'Method' sheet with method, weights, sources and licences."""
    data = neutralise_frame(_plain_table(frame))
    for col in data.columns:  # Excel has no time zones
        if isinstance(data[col].dtype, pd.DatetimeTZDtype):
            data[col] = data[col].dt.tz_localize(None)
    with pd.ExcelWriter(
        path, engine="xlsxwriter", engine_kwargs={"options": {"strings_to_formulas": False, "strings_to_urls": False}}
    ) as xw:
        data.to_excel(xw, sheet_name="Risk", index=False)
        method = pd.DataFrame({"Method & sources": [neutralise_formula_text(line) for line in about.splitlines()]})
        method.to_excel(xw, sheet_name="Method", index=False)


def _write_parquet_with_metadata(gdf: gpd.GeoDataFrame, path: Path, about: str) -> None:
    import pyarrow.parquet as pq

    gdf.to_parquet(path, index=False)
    table = pq.read_table(path)
    meta = dict(table.schema.metadata or {})
    meta[b"asm_risk_about"] = about.encode("utf-8")
    pq.write_table(table.replace_schema_metadata(meta), path)


def _write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_rejected(rejected: pd.DataFrame, out: str | Path) -> Path | None:
    """``<out stem>.rejected.csv`` with a 'reason' column, or None when nothing was rejected."""
    out = Path(out)
    target = out.with_name(f"{out.stem}.rejected.csv")
    if rejected is None or len(rejected) == 0:
        if target.exists():
            target.unlink()  # a stale sidecar from an earlier run would mislead
        return None
    table = pd.DataFrame(rejected.drop(columns=["geometry"], errors="ignore"))
    cols = [c for c in ("layer", "row_number", "reason") if c in table.columns]
    table = table[cols + [c for c in table.columns if c not in cols]]
    with atomic_path(target) as tmp:
        safe_csv(table, tmp)
    return target


# --- dashboard downloads (bytes for dcc.Download) ------------------------------------------------------
TABLE_MEDIA = {".csv": "text/csv", ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
               ".geojson": "application/geo+json", ".gpkg": "application/geopackage+sqlite3"}  # fmt: skip


def export_table_bytes(
    frame: gpd.GeoDataFrame | pd.DataFrame,
    ext: str,
    *,
    config: RiskConfig,
    sources: Sequence[str],
    is_demo: bool,
    filters: dict | None = None,
    stem: str = "asm-risk",
) -> tuple[str, bytes, str | None]:
    """(file name, bytes, about text or None) of the table in format ``ext``, via ``write_table``.

    CSV and GeoJSON cannot hold the method and weights inside the file, so their about
    text comes back separately (the dashboard downloads it beside them, as the CLI does);
    XLSX has a 'Method' sheet and GeoPackage a metadata entry.
    """
    ext = ext.lower() if ext.startswith(".") else "." + ext.lower()
    if ext not in TABLE_MEDIA:
        raise ValueError(f"unknown table format {ext!r}; one of {', '.join(TABLE_MEDIA)}")
    from scoring.pipeline import ordered_output_columns

    table = frame[ordered_output_columns(frame)]
    with tempfile.TemporaryDirectory(prefix="asm-export-") as tmp:
        path = Path(tmp) / f"{stem}{ext}"
        write_table(table, path, config=config, sources=sources, is_demo=is_demo, filters=filters)
        data = path.read_bytes()
        about_path = path.with_suffix(".about.txt")
        about = about_path.read_text(encoding="utf-8") if about_path.exists() else None
    return path.name, data, about


def figure_html(fig, title: str, *, about: str | None = None) -> str:
    """A standalone OFFLINE HTML page of one figure (plotly.js inlined), with an optional notes block."""
    import html as html_mod

    body = fig.to_html(full_html=False, include_plotlyjs=True, config={"displaylogo": False})
    notes = f"<pre class='about'>{html_mod.escape(about)}</pre>" if about else ""
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html_mod.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:1rem}pre.about{font-size:0.75rem;white-space:pre-wrap;color:#444}</style>"
        f"</head><body><h1>{html_mod.escape(title)}</h1>{body}{notes}</body></html>"
    )


def export_download(
    kind: str,
    settings,
    dataset,
    scored: pd.DataFrame,
    state: dict,
    selected_rows: Sequence[int] | None = None,
    share_url: str | None = None,
) -> tuple[str, bytes, str | None]:
    """(file name, bytes, about text or None) of one dashboard export of the current filtered view.

    ``kind``: 'csv', 'xlsx', 'geojson', 'gpkg', 'briefing' or 'chart-html:<chart name>'.
    Every export names the filters and the weights in use (inside the file, or in the about text).
    """
    from dashboard.data import risk_config
    from dashboard.views import filter_view, filters_summary

    config = risk_config(settings, state.get("weights"), state.get("decay"))
    from dashboard.views import ROW

    view = filter_view(scored, state, selected_rows).drop(columns=[ROW], errors="ignore")
    filters = filters_summary(state)
    if selected_rows is not None:
        filters["map selection"] = f"{len(selected_rows)} sites selected on the map"
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    if kind in ("csv", "xlsx", "geojson", "gpkg"):
        return export_table_bytes(
            view, kind, config=config, sources=dataset.sources, is_demo=dataset.is_demo, filters=filters,
            stem=f"asm-risk-{stamp}",
        )  # fmt: skip
    about = about_text(config, dataset.sources, is_demo=dataset.is_demo, n_rows=len(view), filters=filters)
    if kind.startswith("chart-html:"):
        from dashboard.figures import CHART_TITLES, make_chart_figure

        name = kind.split(":", 1)[1]
        fig = make_chart_figure(name, view, is_demo=dataset.is_demo, class_bounds=config.class_thresholds)
        page = figure_html(fig, CHART_TITLES[name], about=about)
        return f"{name}-{stamp}.html", page.encode("utf-8"), None
    if kind == "briefing":
        from dashboard.briefing import make_briefing_html
        from dashboard.figures import CHART_NAMES, make_chart_figure, make_static_map_figure
        from dashboard.views import countries_bounds

        fig_map = make_static_map_figure(
            view, countries=dataset.countries, is_demo=dataset.is_demo,
            bounds=countries_bounds(dataset.countries, state.get("countries") or []),
        )  # fmt: skip
        charts = {
            n: make_chart_figure(n, view, is_demo=dataset.is_demo, class_bounds=config.class_thresholds)
            for n in CHART_NAMES
        }
        page = make_briefing_html(
            view, n_total=len(scored), map_figure=fig_map, charts=charts, filters=filters,
            config_toml=config.to_toml(), method_version=config.version, sources=dataset.sources,
            licences=LICENCE_NOTES, is_demo=dataset.is_demo, share_url=share_url,
        )  # fmt: skip
        return f"asm-risk-briefing-{stamp}.html", page.encode("utf-8"), None
    raise ValueError(f"unknown export {kind!r}")


def embed_html(chart: str, query: str, settings, workspace_id: str | None = None, *, plotlyjs_src: str) -> str:
    """A standalone page with one chart ('map' or a name in CHART_NAMES) for the state in ``query``, for an iframe."""
    import html as html_mod

    from dashboard.data import get_dataset_for, get_scored
    from dashboard.figures import CHART_NAMES, CHART_TITLES, make_chart_figure, make_dashboard_map
    from dashboard.state import decode_state
    from dashboard.views import filter_view, render_state

    if chart != "map" and chart not in CHART_NAMES:
        raise KeyError(f"unknown chart {chart!r}: use map or one of {', '.join(CHART_NAMES)}")
    state = decode_state(query)
    dataset = get_dataset_for(settings, workspace_id)
    scored = get_scored(settings, workspace_id, state["weights"], state["decay"])
    view = filter_view(scored, render_state(state))
    if chart == "map":
        fig = make_dashboard_map(
            view, all_sites=scored, countries=dataset.countries,
            overlay_frames={"protected_areas": dataset.protected_areas, "rainforest": dataset.rainforest,
                            "reefs": dataset.reefs, "arctic_lat": dataset.arctic_lat},
            state=state, basemap=settings.basemap, max_payload_mb=settings.max_map_payload_mb,
            map_view=state["view"], is_demo=dataset.is_demo,
        )  # fmt: skip
        title = "ASM sites by risk class"
    else:
        from dashboard.data import risk_config

        bounds = risk_config(settings, state["weights"], state["decay"]).class_thresholds
        fig = make_chart_figure(chart, view, is_demo=dataset.is_demo, class_bounds=bounds)
        title = CHART_TITLES[chart]
    fig.update_layout(autosize=True, height=None)
    body = fig.to_html(
        full_html=False,
        include_plotlyjs=plotlyjs_src,
        default_height="100vh",
        config={"displaylogo": False, "responsive": True},
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html_mod.escape(title)}</title><style>html,body{{margin:0;height:100%}}</style></head>"
        f"<body>{body}</body></html>"
    )
