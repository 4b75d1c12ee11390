"""Errors raised by loaders: each says which file, what is wrong, and how to fix it."""

from __future__ import annotations

from pathlib import Path


class LayerError(ValueError):
    """A user-supplied layer cannot be used.

    The message always has three parts: the file, the problem and the fix, so the
    CLI can print it as is (exit code 2) and the dashboard can show it in an alert.
    """

    def __init__(self, path: str | Path | None, problem: str, fix: str) -> None:
        self.path = str(path) if path is not None else None
        self.problem = problem
        self.fix = fix
        where = f"{self.path}: " if self.path else ""
        super().__init__(f"{where}{problem}. Fix: {fix}")


class ConfigError(LayerError):
    """A configuration file (e.g. risk weights TOML) is invalid."""
