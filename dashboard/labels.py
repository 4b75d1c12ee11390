"""Words the dashboard shows for the risk model's keys: one place for every label and help text.

The weights panel, the site detail, the waterfall and the table take their words from here;
``tests/dashboard/test_labels.py`` checks that every key of ``geo.vocab`` (weights, decay,
receptors, practices) has its label and help, so a factor added to the model cannot reach
the screen as a bare key. Pure module: no dash, no pandas.
"""

from __future__ import annotations

from types import MappingProxyType

from geo.vocab import (
    AMALGAMATION,
    CYANIDATION,
    DECAY_KEYS,
    FACTOR_LABELS,
    PRACTICE_WORDS,
    RECEPTORS,
    RETORT,
    WEIGHT_KEYS,
)

#: what moving a factor's weight does, one sentence each (shown under its slider)
WEIGHT_HELP = MappingProxyType(
    {
        "mercury": "How much the site's estimated mercury release (kg/yr, on a log scale) adds to its local "
        "hazard, which counts more the nearer the receptors.",
        "land_use": "How much the land the site disturbs (its mapped area, or workers × hectares per worker, "
        "times the commodity's intensity) adds to its local hazard.",
        "mercury_air": "Mercury emitted to air joins the global pool wherever the site is: this term keeps a "
        "large mercury user far from every mapped receptor from scoring low.",
        "protected_area": "Proximity to protected areas: every protected area within reach counts, at the "
        "strictest IUCN category, so adding one never lowers a score.",
        "rainforest": "Proximity to the rainforest layer's polygons (a site inside counts fully).",
        "reef": "Proximity to coral reefs (the polygons, lines or points of the reef layer).",
        "arctic": "Proximity to the Arctic (the Arctic Circle, or the Arctic layer given).",
        "water": "Proximity to mapped rivers and lakes, which carry mercury and sediment downstream "
        "(assessed only when a water layer is loaded).",
    }
)

#: what the decay distances of a receptor mean (shown under its range slider)
_DECAY_FROM = {
    "protected_area": "Distance to each protected area within reach",
    "rainforest": "Distance to the rainforest",
    "reef": "Distance to the nearest coral reef",
    "arctic": "Distance to the Arctic",
    "water": "Distance to the nearest river or lake",
}
DECAY_HELP = MappingProxyType(
    {
        key: f"{_DECAY_FROM[key]}: full effect at 0 km (inside), half at the near distance, none beyond the outer one."
        for key in DECAY_KEYS
    }
)

#: receptors in words, lower case, for sentences ("not assessed: rivers and lakes")
RECEPTOR_WORDS = MappingProxyType({r: FACTOR_LABELS[r].lower() for r in RECEPTORS})

PRACTICE_VOCABS = MappingProxyType({"amalgamation": AMALGAMATION, "retort": RETORT, "cyanidation": CYANIDATION})

__all__ = [
    "DECAY_HELP",
    "DECAY_KEYS",
    "FACTOR_LABELS",
    "PRACTICE_VOCABS",
    "PRACTICE_WORDS",
    "RECEPTOR_WORDS",
    "WEIGHT_HELP",
    "WEIGHT_KEYS",
]
