"""The unit-vector formulas of ``geo.crs``, compiled for the kernels (one definition, two forms)."""

from __future__ import annotations

from geo._kernels.twins import jit
from geo.crs import angle_between, unit_vector

#: angle (rad) between two unit vectors, ``geo.crs.angle_between``
angle = jit(angle_between)
#: unit vector of a lon/lat in degrees, ``geo.crs.unit_vector``
to_unit = jit(unit_vector)
