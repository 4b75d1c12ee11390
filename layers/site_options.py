"""What an analyst says about a sites file: which column is which, and defaults for the whole file.

Pure (standard library only), so the CLI's ``--help`` lists the roles without loading the geo stack.
The loader applies the options (``layers.sites.load_sites(..., options=)``, with
``layers.site_columns``); the CLI (``--column ROLE=COLUMN``, ``--default-commodity``…), the
dashboard's column form and a workspace's manifest all carry a ``SiteOptions``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

#: roles a column can play, in the order the dashboard's form lists them
COLUMN_ROLES: tuple[str, ...] = (
    "site_id", "name", "commodity", "workers", "gold_kg_per_yr", "mercury_use", "amalgamation", "retort",
    "cyanidation", "processing", "observed_date", "lat", "lon",
)  # fmt: skip
ROLE_LABELS: dict[str, str] = {
    "site_id": "site id",
    "name": "site name",
    "commodity": "commodity (mineral)",
    "workers": "number of workers",
    "gold_kg_per_yr": "gold production (kg per year, or the unit its name states)",
    "mercury_use": "mercury use (yes / no)",
    "amalgamation": "amalgamation type (whole ore / concentrate / none)",
    "retort": "retort used (yes / no)",
    "cyanidation": "cyanidation of tailings (yes / no)",
    "processing": "processing method (free text, e.g. 'whole-ore amalgamation with a retort')",
    "observed_date": "observation date",
    "lat": "latitude (decimal degrees)",
    "lon": "longitude (decimal degrees)",
}
#: attributes that can take a per-file default (their vocabularies: ``layers.site_columns.DEFAULT_VOCABULARIES``)
DEFAULT_KEYS: tuple[str, ...] = ("commodity", "mercury_use", "amalgamation", "retort", "cyanidation")
NO_COLUMN = ""  # a role mapped to "" reads no column (e.g. a 'mineral1' wrongly taken as workers)


@dataclass(frozen=True)
class SiteOptions:
    """Column choices and per-file defaults for one sites file (hashable: part of the layer-cache key)."""

    columns: tuple[tuple[str, str], ...] = ()
    defaults: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_mappings(
        cls, columns: Mapping[str, str | None] | None = None, defaults: Mapping[str, str | None] | None = None
    ) -> SiteOptions:
        """Options from plain dicts (a manifest, a form, parsed CLI options); empty defaults are dropped."""
        cols = tuple(sorted((str(k), "" if v is None else str(v)) for k, v in (columns or {}).items()))
        defs = tuple(sorted((str(k), str(v)) for k, v in (defaults or {}).items() if v not in (None, "")))
        return cls(cols, defs)

    @property
    def column_map(self) -> dict[str, str]:
        return dict(self.columns)

    @property
    def default_map(self) -> dict[str, str]:
        return dict(self.defaults)

    def __bool__(self) -> bool:
        return bool(self.columns or self.defaults)

    def to_dict(self) -> dict[str, dict[str, str]]:
        """JSON form (manifest, cache parameters)."""
        return {"columns": self.column_map, "defaults": self.default_map}

    def describe(self) -> list[str]:
        """One human line per choice, e.g. "commodity: column 'mineral1'", "default commodity: gold"."""
        lines = [
            f"{role}: column {col!r}" if col else f"{role}: no column (detection off)" for role, col in self.columns
        ]
        lines += [f"default {key}: {value}" for key, value in self.defaults]
        return lines
