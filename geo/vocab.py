"""Vocabularies shared by the loaders, the geo engine, the risk model and the dashboard.

Each value set is written here once; every other module imports it. This module imports
nothing of the project (and nothing but the standard library), so it can sit at the bottom
of the import graph.
"""

from __future__ import annotations

#: IUCN protected-area management categories as the WDPA spells them (Dudley 2008), plus the
#: WDPA's three "no category" values.
IUCN_CATEGORIES: tuple[str, ...] = (
    "Ia",
    "Ib",
    "II",
    "III",
    "IV",
    "V",
    "VI",
    "Not Reported",
    "Not Applicable",
    "Not Assigned",
)


def iucn_slug(category: str) -> str:
    """A column-safe slug of an IUCN category: ``"Not Reported"`` -> ``"not_reported"``, ``"II"`` -> ``"ii"``."""
    return category.strip().lower().replace(" ", "_")


#: column-safe slugs, in the order of IUCN_CATEGORIES
IUCN_SLUGS: tuple[str, ...] = tuple(iucn_slug(c) for c in IUCN_CATEGORIES)
