"""Colours an analyst can tell apart (issue #13, item 9): risk classes against the land (WCAG 1.4.11, 3:1 for
graphical objects), classes and overlays against each other (CIEDE2000), also under simulated colour-vision
deficiencies (Machado et al. 2009). Computed with colour-science, independently of the project's code."""

from __future__ import annotations

import itertools
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from dashboard.figures import IUCN_GROUPS, LAND_COLOUR, OVERLAY_STYLE, RISK_COLOURS

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    colour = pytest.importorskip("colour")

CVD = ("Protanomaly", "Deuteranomaly", "Tritanomaly")
CSS = Path(__file__).resolve().parents[2] / "assets" / "style.css"


def _rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])


def _luminance(rgb: np.ndarray) -> float:
    return float(colour.sRGB_to_XYZ(rgb)[1])  # relative luminance Y (D65), 0-1


def _contrast(a: np.ndarray, b: np.ndarray) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _simulate(rgb: np.ndarray, deficiency: str | None) -> np.ndarray:
    if deficiency is None:
        return rgb
    matrix = colour.blindness.matrix_cvd_Machado2009(deficiency, 1.0)
    linear = np.clip(matrix @ colour.models.eotf_sRGB(rgb), 0, 1)
    return colour.models.eotf_inverse_sRGB(linear)


def _delta_e(a: np.ndarray, b: np.ndarray, deficiency: str | None = None) -> float:
    lab = [colour.XYZ_to_Lab(colour.sRGB_to_XYZ(_simulate(c, deficiency))) for c in (a, b)]
    return float(colour.delta_E(*lab, method="CIE 2000"))


def _over_land(hex_colour: str, opacity: float) -> np.ndarray:
    return _rgb(hex_colour) * opacity + _rgb(LAND_COLOUR) * (1 - opacity)


def test_the_colour_difference_matches_a_published_pair():
    # Sharma, Wu and Dalal (2005), table 1, pair 1: Lab (50, 2.6772, -79.7751) vs (50, 0, -82.7485): 2.0425
    assert colour.delta_E([50, 2.6772, -79.7751], [50, 0, -82.7485], method="CIE 2000") == pytest.approx(
        2.0425, abs=1e-4
    )


@pytest.mark.parametrize("cls", list(RISK_COLOURS))
def test_every_risk_class_stands_out_from_the_land(cls):
    assert _contrast(_rgb(RISK_COLOURS[cls]), _rgb(LAND_COLOUR)) >= 3.0


@pytest.mark.parametrize("deficiency", [None, *CVD])
def test_risk_classes_are_distinct_for_colour_blind_readers(deficiency):
    floor = 15.0 if deficiency == "Tritanomaly" else 20.0
    for a, b in itertools.combinations(RISK_COLOURS.values(), 2):
        assert _delta_e(_rgb(a), _rgb(b), deficiency) > floor, (a, b, deficiency)


def test_strict_protected_areas_and_rainforest_are_clearly_distinct():
    strict = _over_land(IUCN_GROUPS["strict (Ia, Ib, II)"][1], 0.45)  # the map's PA fill opacity
    style = OVERLAY_STYLE["rainforest"]
    rainforest = _over_land(style["color"], style["opacity"])
    assert _delta_e(strict, rainforest) > 20
    for deficiency in CVD:
        assert _delta_e(strict, rainforest, deficiency) > 15, deficiency
    for _label, (_members, pa_colour) in IUCN_GROUPS.items():
        assert _delta_e(_over_land(pa_colour, 0.45), rainforest) > 10


def test_risk_badges_have_readable_text():
    found = re.findall(r"\.risk-([a-z-]+) \{ background: (#[0-9a-f]{6}); color: (#[0-9a-f]{3,6}); \}", CSS.read_text())
    assert {name.replace("-", " ") for name, _, _ in found} == set(RISK_COLOURS)
    for name, background, text in found:
        assert background == RISK_COLOURS[name.replace("-", " ")]
        text = "#" + "".join(ch * 2 for ch in text[1:]) if len(text) == 4 else text
        assert _contrast(_rgb(background), _rgb(text)) >= 4.5, name
