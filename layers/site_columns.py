"""The analyst's say over a sites file: which column is which, defaults for the whole file, and what the file looks like.

``layers.site_options.SiteOptions`` carries the choices (the same in the CLI's ``--column ROLE=COLUMN`` /
``--default-commodity gold`` options, the dashboard's column form and a workspace's manifest):

- ``columns``: a role (``COLUMN_ROLES``: ``commodity``, ``workers``, ``observed_date``…) -> the file's
  column to read it from, or ``""`` for "this file has no such column" (detection switched off);
- ``defaults``: an attribute with a vocabulary (``DEFAULT_VOCABULARIES``: ``commodity``,
  ``mercury_use``, ``amalgamation``, ``retort``, ``cyanidation``) -> the value for every row whose cell is empty or that has no
  column for it ("these are all gold mines").

The vocabularies are the tuples of ``layers.schema``: a value added there is accepted here, and the
dashboard's form is generated from ``DEFAULT_VOCABULARIES`` (the CLI's options from its keys).

``looks_like_protected_areas`` says when a file given as sites looks like protected areas (polygons
with WDPA-like columns), and ``looks_like_sites`` the reverse, so the wrong slot is a warning with the fix,
not a silent "50 sites".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from layers.errors import LayerError
from layers.readers import normalise_column_name, to_text
from layers.schema import AMALGAMATION, COMMODITIES, CYANIDATION, MERCURY_USE, RETORT
from layers.site_options import COLUMN_ROLES, DEFAULT_KEYS, NO_COLUMN, ROLE_LABELS, SiteOptions

__all__ = ["COLUMN_ROLES", "DEFAULT_VOCABULARIES", "NO_COLUMN", "ROLE_LABELS", "SiteOptions", "apply_defaults",
           "check_options", "looks_like_protected_areas", "looks_like_sites"]  # fmt: skip

#: attributes that can take a per-file default, with their vocabulary (the values accepted); keys: DEFAULT_KEYS
DEFAULT_VOCABULARIES: dict[str, tuple[str, ...]] = {
    "commodity": COMMODITIES,
    "mercury_use": MERCURY_USE,
    "amalgamation": AMALGAMATION,
    "retort": RETORT,
    "cyanidation": CYANIDATION,
}
assert tuple(DEFAULT_VOCABULARIES) == DEFAULT_KEYS, "the CLI's --default-* options follow DEFAULT_KEYS"


def check_options(options: SiteOptions, columns: Iterable[object], path: str | Path) -> None:
    """LayerError when an option names an unknown role, a column the file lacks, or a value outside a vocabulary."""
    found = [str(c) for c in columns]
    for role, col in options.columns:
        if role not in COLUMN_ROLES:
            raise LayerError(path, f"unknown column role {role!r}", f"use one of {', '.join(COLUMN_ROLES)}")
        if col and col not in found:
            raise LayerError(
                path,
                f"the column {col!r} chosen for {role} is not in the file; the columns are {found[:40]}",
                f"choose one of these columns for {role} (names are case-sensitive)",
            )
    for key, value in options.defaults:
        allowed = DEFAULT_VOCABULARIES.get(key)
        if allowed is None:
            raise LayerError(
                path, f"no default can be set for {key!r}", f"set a default for {', '.join(DEFAULT_VOCABULARIES)}"
            )
        if value not in allowed:
            raise LayerError(path, f"{value!r} is not a {key} value", f"use one of {', '.join(allowed)}")


def apply_defaults(
    frame: pd.DataFrame, roles: dict[str, list[object]], defaults: Mapping[str, str]
) -> tuple[pd.DataFrame, dict[str, list[object]]]:
    """The attribute input with each default filled in where the file says nothing, and the roles reading it.

    For each default, the role's columns are read as text (several commodity columns joined), empty
    cells take the default, and the role then reads that one filled column (a new column of the
    returned frame; the file's own columns, which go to the output, are untouched). The loader's
    normal parsing then applies: a default amalgamation type implies mercury use, as a cell saying
    so would.
    """
    if not defaults:
        return frame, roles
    out = frame.copy()
    roles = dict(roles)
    for key, value in defaults.items():
        cols = roles.get(key) or []
        text = pd.Series("", index=frame.index, dtype="str")
        for c in cols:
            part = to_text(frame[c])
            text = (text + "; " + part).str.strip("; ")
        filled_col = f"\x00default {key}"
        out[filled_col] = text.where(text != "", value)
        roles[key] = [filled_col]
    return out, roles


# --- what the file looks like ----------------------------------------------------------------------------------------
# WDPA field names (both schemas) and generic protected-area attribute names
_PA_FIELDS = frozenset({
    "wdpaid", "wdpa_pid", "site_pid", "desig", "desig_eng", "desig_type", "iucn_cat", "iucn", "iucncat",
    "iucn_category", "int_crit", "marine", "rep_m_area", "rep_area", "gis_area", "gis_m_area", "no_take", "no_tk_area",
    "status_yr", "gov_type", "own_type", "mang_auth", "mang_plan", "verif", "metadataid", "sub_loc",
    "parent_iso3", "prnt_iso3", "designation", "type_field", "name_field", "status_field", "orig_name", "name_eng",
    "realm", "pa_def",
})  # fmt: skip
_PA_STRONG = frozenset({"wdpaid", "wdpa_pid", "iucn_cat", "desig_eng", "desig", "iucn_category", "designation"})
_SITE_HINTS = ("commodity", "mineral", "minerai", "substance", "workers", "miners", "orpailleur", "garimpeir", "mined_area",
               "mercury", "mercure", "pcode", "gold_kg", "production", "visit_date")  # fmt: skip


def protected_area_columns(columns: Iterable[object]) -> list[str]:
    """The columns that name protected-area attributes (WDPA fields, designation, IUCN category…)."""
    return [str(c) for c in columns if normalise_column_name(c) in _PA_FIELDS]


def looks_like_protected_areas(columns: Iterable[object], n_polygons: int, n_rows: int) -> list[str]:
    """The WDPA-like columns of a polygon file that looks like protected areas ([] when it does not).

    Polygons (most rows) with a designation or IUCN column, or with three or more WDPA fields.
    """
    cols = protected_area_columns(columns)
    if n_rows == 0 or n_polygons < 0.5 * n_rows:
        return []
    strong = [c for c in cols if normalise_column_name(c) in _PA_STRONG]
    return cols if strong or len(cols) >= 3 else []


def looks_like_sites(columns: Iterable[object]) -> list[str]:
    """The columns of a file given as protected areas that name mining-site attributes ([] when none)."""
    names = [str(c) for c in columns]
    if protected_area_columns(names):
        return []
    return [c for c in names if any(h in normalise_column_name(c) for h in _SITE_HINTS)]


def protected_areas_in_sites_slot_warning(columns: list[str], n_rows: int) -> str:
    """The warning for a sites file that looks like protected areas, with the fix."""
    return (
        f"this file looks like protected areas, not mining sites: {n_rows:,} polygons with the columns "
        f"{columns[:6]}; every polygon was loaded as a mining site. Fix: if these are protected areas, give the "
        "file as protected areas instead (dashboard: 'Upload protected areas…'; CLI: --protected-areas PATH)"
    )


def sites_in_protected_area_slot_warning(columns: list[str]) -> str:
    """The warning for a protected-area file that looks like mining sites, with the fix."""
    return (
        f"this file looks like mining sites, not protected areas: it has the columns {columns[:6]} and no "
        "protected-area column (designation, IUCN category, WDPA id); every feature was loaded as a protected "
        "area. Fix: if these are mining sites, give the file as sites instead (dashboard: 'Upload sites…'; "
        "CLI: --sites PATH)"
    )
