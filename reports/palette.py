"""The colours every map and chart shares (the dashboard, the briefing pack, the AOI report): defined once here.

Risk classes: ColorBrewer RdYlBu / PuOr end colours (blue, orange, red, dark purple). Every class has at least
3:1 contrast against the land (WCAG 1.4.11, graphical objects), and any two classes differ by a CIEDE2000 above
20 for normal vision, protanomaly and deuteranomaly (above 16 for tritanomaly, Machado 2009 simulation);
tests/dashboard/test_colours.py checks both. (YlOrRd's light yellow was 1.4:1 on the land.)
"""

from __future__ import annotations

from geo.vocab import RISK_CLASSES

RISK_COLOURS: dict[str, str] = dict(zip(RISK_CLASSES, ("#4575b4", "#e66101", "#b2182b", "#40004b"), strict=True))
OFFLINE_BACKGROUND = "#dde8f0"
LAND_COLOUR = "#f7f5ef"
OUTLINE_COLOUR = "#9a9a9a"
# Protected areas by IUCN group (ColorBrewer Greens by lightness; ochre for no category).
IUCN_GROUPS: dict[str, tuple[tuple[str, ...], str]] = {
    "strict (Ia, Ib, II)": (("Ia", "Ib", "II"), "#006d2c"),
    "habitat / monument (III, IV)": (("III", "IV"), "#41ab5d"),
    "sustainable use (V, VI)": (("V", "VI"), "#a1d99b"),
    "no category": (("Not Reported", "Not Applicable", "Not Assigned"), "#bf812d"),
}
OVERLAY_STYLE = {
    # lavender, not a fourth green: the strict-PA green and the rainforest must not be confused (CIEDE2000 > 20)
    "rainforest": {"type": "fill", "color": "#b2abd2", "opacity": 0.4},
    "reefs": {"type": "fill", "color": "#2166ac", "opacity": 0.6},
    "arctic": {"type": "line", "color": "#5e3c99", "line": {"width": 1.5}},
}
# Mining footprints: the year shown (magenta, apart from every risk class and PA green) and earlier years (brown)
MINING_COLOURS: dict[str, str] = {"year": "#c51b7d", "earlier": "#8c510a"}
# The area of interest: its outline and its buffer's (dashed) outline
AOI_COLOURS: dict[str, str] = {"aoi": "#1f3a93", "zone": "#1f6feb"}


def iucn_group(category: object) -> str:
    """The IUCN group label (a key of IUCN_GROUPS) of a category; unknown or missing: 'no category'."""
    for label, (members, _colour) in IUCN_GROUPS.items():
        if category in members:
            return label
    return "no category"
