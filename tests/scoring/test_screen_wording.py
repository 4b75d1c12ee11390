"""scoring.screen.sites_in_view_note: how the sites in view lie against the AOI, in the CLI, dashboard and report."""

from __future__ import annotations

import pytest

from scoring.screen import sites_in_view_note


@pytest.mark.parametrize(
    ("n_in", "n", "kinds", "km", "want"),
    [
        (3, 5, {"polygon"}, 10.0, "3 inside, 2 within 10 km"),
        (4, 4, {"polygon"}, 0.0, "4 inside"),
        (98, 98, {"line"}, 10.0, "all within 10 km of the lines"),
        (2, 2, {"point"}, 2.5, "all within 2.5 km of the points"),
        (7, 7, {"line", "point"}, 1.0, "all within 1 km of the lines and points"),
        (
            5,
            9,
            {"polygon", "line"},
            10.0,
            "5 inside a polygon or within 10 km of a line or point, 4 within 10 km of a polygon",
        ),
        (1234, 2000, {"polygon"}, 5.0, "1,234 inside, 766 within 5 km"),
        (0, 0, {"line"}, 10.0, "none inside or within 10 km"),  # not "all within" of no site
        (0, 0, {"polygon"}, 0.0, "none inside"),
    ],
)
def test_inside_is_said_of_polygons_only_and_the_near_sites_are_counted(n_in, n, kinds, km, want):
    assert sites_in_view_note(n_in, n, kinds, km) == want
