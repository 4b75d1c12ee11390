"""Writing ``python app.py screen``'s AOI report (HTML).

Here, not in ``scoring``, because the report is rendered by ``reports.aoi_report`` (plotly), which
``scoring`` may not import; the tables are ``scoring.screen.write_screen_tables``'s (no plotly loaded).
"""

from __future__ import annotations

from pathlib import Path

from reports.aoi_report import make_aoi_report_html
from scoring.screen import ScreenResult, Written, write_screen_tables
from scoring.writers import write_rejected, write_text_file

REPORT_FORMATS: tuple[str, ...] = (".html",)


def write_screen(result: ScreenResult, out: str | Path) -> Written:
    """The screen's output by extension: ``.html`` the AOI report (here: plotly), any table format through
    ``scoring.screen.write_screen_tables``; ``<stem>.rejected.csv`` when rows were rejected."""
    out = Path(out)
    if out.suffix.lower() not in REPORT_FORMATS:
        return write_screen_tables(result, out)
    write_text_file(out, make_aoi_report_html(result.report))
    return Written(out, (), write_rejected(result.rejected, out))
