"""The dashboard's downloads (bytes for ``dcc.Download``) of the current filtered view.

Tables go through the CLI's writers (``scoring.writers``), so a downloaded number equals the
number in ``python app.py score``'s output; charts and the briefing pack are standalone
offline HTML. The dataset and the scored frame are arguments: nothing here reads caches or files.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd

from dashboard.briefing import make_briefing_html
from dashboard.change_figures import CHANGE_TITLE
from dashboard.change_view import briefing_sections, change_outputs
from dashboard.data import Dataset, risk_config
from dashboard.figures import CHART_NAMES, CHART_TITLES, make_chart_figure, make_static_map_figure
from dashboard.ids import CHANGE_CHART_NAME
from dashboard.risk_text import with_explanations
from dashboard.views import ROW, countries_bounds, filter_view, filters_summary
from geo.risk import RiskConfig
from scoring.pipeline import ordered_output_columns
from scoring.writers import LICENCE_NOTES, MODEL_REFERENCES, about_text, write_table
from settings import Settings

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
    table = frame[ordered_output_columns(frame)]
    with tempfile.TemporaryDirectory(prefix="asm-export-") as tmp:
        path = Path(tmp) / f"{stem}{ext}"
        write_table(table, path, config=config, sources=sources, is_demo=is_demo, filters=filters)
        data = path.read_bytes()
        about_path = path.with_suffix(".about.txt")
        about = about_path.read_text(encoding="utf-8") if about_path.exists() else None
    return path.name, data, about


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """A zip archive (deflated) of ``{name: bytes}``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def figure_html(fig, title: str, *, about: str | None = None) -> str:
    """A standalone OFFLINE HTML page of one figure (plotly.js inlined), with an optional notes block."""
    body = fig.to_html(full_html=False, include_plotlyjs=True, config={"displaylogo": False})
    notes = f"<pre class='about'>{html.escape(about)}</pre>" if about else ""
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:1rem}pre.about{font-size:0.75rem;white-space:pre-wrap;color:#444}</style>"
        f"</head><body><h1>{html.escape(title)}</h1>{body}{notes}</body></html>"
    )


def export_download(
    kind: str,
    settings: Settings,
    dataset: Dataset,
    scored: pd.DataFrame,
    state: dict,
    share_url: str | None = None,
    workspace_id: str | None = None,
) -> tuple[str, bytes]:
    """(file name, bytes) of one dashboard export of the current filtered view: one file per click.

    ``kind``: 'csv', 'xlsx', 'geojson', 'gpkg', 'briefing' or 'chart-html:<chart name>'.
    Every export names the filters and the weights in use: inside the file (XLSX 'Method' sheet,
    GeoPackage metadata, HTML), or, for CSV and GeoJSON, which cannot hold them, in the ``.about.txt``
    the CLI writes beside them, zipped with the table (a browser asked for two downloads at once
    blocks or questions the second).
    """
    config = risk_config(settings, state.get("weights"), state.get("decay"))
    # the dashboard re-scores without the explanation sentence: every exported row gets it here
    view = with_explanations(filter_view(scored, state).drop(columns=[ROW], errors="ignore"), config)
    filters = filters_summary(state)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    if kind in ("csv", "xlsx", "geojson", "gpkg"):
        name, data, about_txt = export_table_bytes(
            view, kind, config=config, sources=dataset.sources, is_demo=dataset.is_demo, filters=filters,
            stem=f"asm-risk-{stamp}",
        )  # fmt: skip
        if about_txt is None:
            return name, data
        return f"{name}.zip", zip_bytes({name: data, Path(name).stem + ".about.txt": about_txt.encode("utf-8")})
    about = about_text(config, dataset.sources, is_demo=dataset.is_demo, n_rows=len(view), filters=filters)
    if kind.startswith("chart-html:"):
        name = kind.split(":", 1)[1]
        if name == CHANGE_CHART_NAME:  # the mining-by-year chart of the change panel
            fig, _growth = change_outputs(settings, dataset, workspace_id, state)
            page = figure_html(fig, CHANGE_TITLE, about=about)
            return f"{name}-{stamp}.html", page.encode("utf-8")
        fig = make_chart_figure(
            name, view, is_demo=dataset.is_demo, class_bounds=config.class_thresholds, config=config
        )
        page = figure_html(fig, CHART_TITLES[name], about=about)
        return f"{name}-{stamp}.html", page.encode("utf-8")
    if kind == "briefing":
        fig_map = make_static_map_figure(
            view, countries=dataset.countries, is_demo=dataset.is_demo,
            bounds=countries_bounds(dataset.countries, state.get("countries") or []),
        )  # fmt: skip
        charts = {
            n: make_chart_figure(n, view, is_demo=dataset.is_demo, class_bounds=config.class_thresholds, config=config)
            for n in CHART_NAMES
        }
        page = make_briefing_html(
            view, n_total=len(scored), map_figure=fig_map, charts=charts, filters=filters,
            config_toml=config.to_toml(), method_version=config.version, sources=dataset.sources,
            licences=LICENCE_NOTES, is_demo=dataset.is_demo, share_url=share_url, fingerprint=config.fingerprint,
            references=MODEL_REFERENCES, weights=config.weights,
            extra_sections=briefing_sections(settings, dataset, workspace_id, state, scored),
        )  # fmt: skip
        return f"asm-risk-briefing-{stamp}.html", page.encode("utf-8")
    raise ValueError(f"unknown export {kind!r}")
