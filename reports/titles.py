"""Chart titles that fit a phone-wide chart: one short line, and on demo data a subtitle line saying so.

At 390 px a chart is ~340-360 px wide and its title starts 5 % in. A title with " — synthetic demo data"
appended ran past the right edge, and on the mining-by-year chart the whole marker fell off it (the 390 px
screenshots of issue #15's stop review). Titles here are at most ``TITLE_MAX_CHARS`` long, which fits at 14 px
even in Verdana (plotly's second font, present on iPhones, ~7.3 px a character); the units are on the axes.
The demo marker is the title's subtitle, in the map's demo colour: a chart cut out of the page (a PNG, an
embed, a briefing) still says that its data are not real. Where plotly's toolbar shows (embeds, downloaded
HTML, the briefing and the AOI report; the page hides it) it runs down the right edge: across the top, as it
would be, it covered the title of a phone-wide chart.
"""

from __future__ import annotations

from scoring.pipeline import DEMO_LABEL

#: longest chart title (characters): 40 x ~7.3 px (14 px Verdana) + the 5 % inset fits a 340 px chart
TITLE_MAX_CHARS = 40
#: the demo marker's colour (the map's "synthetic demo data" annotation too)
DEMO_COLOUR = "#7a1d1d"
#: top margin (px) of a chart with a title, without and with the demo subtitle line
TITLE_MARGIN_TOP = {False: 40, True: 62}


def title_layout(text: str, *, is_demo: bool, size: int = 14) -> dict:
    """The layout keys of a chart's title: ``title`` (:func:`chart_title`) and a vertical ``modebar`` (clear of it)."""
    return {"title": chart_title(text, is_demo=is_demo, size=size), "modebar": {"orientation": "v"}}


def chart_title(text: str, *, is_demo: bool, size: int = 14) -> dict:
    """Plotly ``layout.title`` of a chart: ``text`` on one line, "synthetic demo data" under it on demo data.

    Anchored to the top of the figure (not centred in the top margin) so the subtitle has its own line
    above the plot; give the figure ``TITLE_MARGIN_TOP[is_demo]`` of top margin.
    """
    title: dict = {
        "text": text,
        "font": {"size": size},
        "yref": "container",
        "y": 1.0,
        "yanchor": "top",
        "pad": {"t": 8},
    }
    if is_demo:
        title["subtitle"] = {"text": DEMO_LABEL, "font": {"size": size - 2, "color": DEMO_COLOUR}}
    return title


#: the largest share of a chart's height its legend may take (more entries scroll inside it)
LEGEND_MAX_HEIGHT = 0.3


def bottom_legend(**extra: object) -> dict:
    """Plotly ``layout.legend`` of a chart: a horizontal legend at the bottom of the figure, under the x-axis
    title (plotly makes room for it), at most ``LEGEND_MAX_HEIGHT`` of the chart's height.

    A legend placed a fraction of the plot's height below it (``y=-0.2``) lay on the axis title once it
    wrapped to two rows on a phone-wide chart, and a long one (14 protected areas) took half the chart.
    """
    return {
        "orientation": "h",
        "yref": "container",
        "y": 0.0,
        "yanchor": "bottom",
        "maxheight": LEGEND_MAX_HEIGHT,
        **extra,
    }
