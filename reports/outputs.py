"""Writing the area-of-interest commands' outputs: the AOI report (HTML) or the tables, and the sidecars.

Here, not in ``scoring``, because the report is rendered by ``reports.aoi_report`` (plotly), which
``scoring`` may not import; the tables still go through ``scoring.writers`` like every export.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reports.aoi_report import make_aoi_report_html
from scoring.screen import ScreenResult
from scoring.writers import atomic_path, safe_csv, write_rejected, write_table, write_text_file

REPORT_FORMATS: tuple[str, ...] = (".html",)


@dataclass(frozen=True)
class Written:
    """What ``write_screen`` wrote: the output, its sidecars and the rejected rows (None when none)."""

    out: Path
    sidecars: tuple[Path, ...]
    rejected: Path | None

    @property
    def where(self) -> str:
        """The summary line's pointer to the rejected rows ('' when none)."""
        return f", see {self.rejected}" if self.rejected else ""


def sidecar(out: Path, name: str) -> Path:
    """``<out stem>.<name>.csv`` beside ``out``."""
    return out.with_name(f"{out.stem}.{name}.csv")


def write_screen(result: ScreenResult, out: str | Path) -> Written:
    """The screen's output by extension: ``.html`` the AOI report; a table format the selected sites (through
    ``scoring.writers.write_table``: the method, weights and citations travel with them) with the protected
    areas and ecosystems in ``<stem>.protected_areas.csv`` / ``<stem>.ecosystems.csv``; and
    ``<stem>.rejected.csv`` when rows were rejected."""
    out = Path(out)
    report = result.report
    sidecars: list[Path] = []
    if out.suffix.lower() in REPORT_FORMATS:
        write_text_file(out, make_aoi_report_html(report))
    else:
        write_table(
            result.table, out, config=report.config, sources=report.sources, is_demo=report.is_demo,
            filters=dict(report.filters),
        )  # fmt: skip
        for name, frame in (
            ("protected_areas", report.screening.protected_areas),
            ("ecosystems", report.screening.ecosystems),
        ):
            path = sidecar(out, name)
            with atomic_path(path) as tmp:
                safe_csv(frame, tmp)
            sidecars.append(path)
    return Written(out, tuple(sidecars), write_rejected(result.rejected, out))
