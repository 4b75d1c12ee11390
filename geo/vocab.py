"""Vocabularies shared by the loaders, the geo engine, the risk model and the dashboard.

Each value set is written here once; every other module imports it. This module imports
nothing of the project (and nothing but the standard library), so it can sit at the bottom
of the import graph. ``tests/geo/test_vocab.py`` checks that the users agree.
"""

from __future__ import annotations

from types import MappingProxyType

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


def pa_category_distance_column(slug: str) -> str:
    """Fact column of the geodesic distance (km) to the nearest protected area of one IUCN category."""
    return f"dist_protected_area_iucn_{slug}_km"


#: the per-category distance facts, in the order of IUCN_CATEGORIES
PA_CATEGORY_DISTANCE_COLUMNS: tuple[str, ...] = tuple(pa_category_distance_column(s) for s in IUCN_SLUGS)

# --- site attributes ------------------------------------------------------------------------------
#: primary commodities of a site (layers.commodities maps field spellings onto these)
COMMODITIES: tuple[str, ...] = (
    "gold",
    "cassiterite",
    "coltan",
    "wolframite",
    "diamond",
    "copper",
    "cobalt",
    "sapphire",
    "other_gemstones",
    "silver",
    "tin",
    "lithium",
    "manganese",
    "sand_gravel",
    "other",
)

#: does the site use mercury (as the field team recorded it)
MERCURY_USE: tuple[str, ...] = ("yes", "no", "unknown")
#: how mercury meets the gold: the whole ore (milled with mercury, Minamata Annex C worst practice),
#: a gravity concentrate, not at all, or not known
AMALGAMATION: tuple[str, ...] = ("whole_ore", "concentrate", "none", "unknown")
#: is the amalgam heated in a retort (mercury recovered) rather than burnt in the open
RETORT: tuple[str, ...] = ("yes", "no", "unknown")
#: is cyanide leaching used on site (with amalgamation: leaching of mercury-contaminated material,
#: a Minamata Annex C worst practice)
CYANIDATION: tuple[str, ...] = ("yes", "no", "unknown")

#: the single ``processing`` vocabulary of files written for asm-risk-model 1.x
LEGACY_PROCESSING: tuple[str, ...] = (
    "whole_ore_amalgamation",
    "concentrate_amalgamation",
    "retort",
    "cyanidation",
    "gravity_only",
    "unknown",
)
#: legacy processing value -> (amalgamation, retort, cyanidation). The 1.x vocabulary treated a retort
#: as a method of its own (it is an add-on to whole-ore or concentrate amalgamation, type not said) and
#: cyanidation as mercury-free.
LEGACY_PROCESSING_MAP = MappingProxyType(
    {
        "whole_ore_amalgamation": ("whole_ore", "unknown", "unknown"),
        "concentrate_amalgamation": ("concentrate", "unknown", "unknown"),
        "retort": ("unknown", "yes", "unknown"),
        "cyanidation": ("none", "unknown", "yes"),
        "gravity_only": ("none", "no", "no"),
        "unknown": ("unknown", "unknown", "unknown"),
    }
)
#: the row note written when a legacy value is mapped (empty: the mapping loses nothing)
LEGACY_PROCESSING_NOTES = MappingProxyType(
    {
        "retort": "processing 'retort' read as amalgamation of unknown type with a retort",
        "cyanidation": "processing 'cyanidation' read as no amalgamation with cyanidation",
    }
)

#: a site's practices in words (the ``amalgamation``, ``retort`` and ``cyanidation`` columns), for the
#: risk model's explanation sentence and the dashboard's detail alike
PRACTICE_WORDS = MappingProxyType(
    {
        "amalgamation": MappingProxyType(
            {
                "whole_ore": "whole-ore amalgamation",
                "concentrate": "amalgamation of a concentrate",
                "none": "no amalgamation",
                "unknown": "amalgamation type not known",
            }
        ),
        "retort": MappingProxyType(
            {"yes": "amalgam heated in a retort", "no": "no retort", "unknown": "retort use not known"}
        ),
        "cyanidation": MappingProxyType(
            {"yes": "cyanide leaching", "no": "no cyanide leaching", "unknown": "cyanide leaching not known"}
        ),
    }
)

# --- the risk model ---------------------------------------------------------------------------------
#: risk classes, lowest first (thresholds in config/risk.toml [classes])
RISK_CLASSES: tuple[str, ...] = ("low", "moderate", "high", "very high")
#: classes counted by ``p_high_or_above``
HIGH_CLASSES: tuple[str, ...] = ("high", "very high")

#: local hazard factors (combined into the hazard index)
HAZARD_FACTORS: tuple[str, ...] = ("mercury", "land_use")
#: the global term: mercury emitted to air reaches the global pool wherever the site is
GLOBAL_FACTORS: tuple[str, ...] = ("mercury_air",)
#: receptors whose proximity makes a site's local hazard matter (the sensitivity factors)
RECEPTORS: tuple[str, ...] = ("protected_area", "rainforest", "reef", "arctic", "water")
#: every factor of the score, in the order of the ``contrib_*`` columns
FACTORS: tuple[str, ...] = (*HAZARD_FACTORS, *GLOBAL_FACTORS, *RECEPTORS)
#: one column of score points per factor; they add up to ``risk_0_100``
CONTRIB_COLUMNS: tuple[str, ...] = tuple(f"contrib_{f}" for f in FACTORS)
#: the keys of config/risk.toml [weights] (what the dashboard's sliders change)
WEIGHT_KEYS: tuple[str, ...] = FACTORS
#: the keys of config/risk.toml [decay.*]
DECAY_KEYS: tuple[str, ...] = RECEPTORS

#: how a site's gold output was estimated
SIZE_BASES: tuple[str, ...] = ("production", "workers", "area", "unknown size")
#: ``hg_basis``: why a site releases mercury or not, and on what size estimate
HG_BASES: tuple[str, ...] = (
    "no mercury (not gold)",
    "no mercury (mercury_use = no)",
    "no mercury (no amalgamation)",
    *SIZE_BASES,
    *(f"{b}; mercury use uncertain" for b in SIZE_BASES),
)

#: short label of each factor of the score (a weight slider, a waterfall bar)
FACTOR_LABELS = MappingProxyType(
    {
        "mercury": "Mercury (local)",
        "land_use": "Land use",
        "mercury_air": "Mercury to air (global)",
        "protected_area": "Protected areas",
        "rainforest": "Rainforest",
        "reef": "Coral reefs",
        "arctic": "Arctic",
        "water": "Rivers and lakes",
    }
)
