"""Offline, self-contained HTML reports (plotly figures, no dash): rendered the same by the CLI and the dashboard."""
