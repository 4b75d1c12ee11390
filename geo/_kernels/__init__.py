"""Numba kernels of the proximity engine (private: called by ``geo.targets``, ``geo.nearest`` and
``geo.disc_area`` only). Every function here is built by :mod:`geo._kernels.twins`.

=============  ===========================================================================
``twins``      how kernels are built: cached under a source fingerprint, serial/parallel twins
``sphere``     ``geo.crs``'s unit-vector formulas, compiled
``flat``       the flat-array layout of targets (:class:`~geo._kernels.flat.Flat`) and the
               kernels that build it (unit vectors, ring orientation, block caps)
``wkb``        WKB decoded straight into those arrays
``closest``    closest points of (site, target) pairs; per-site reductions
``disc``       the plane around a site; area of one polygon inside a disc
``union``      area of the union of several polygons inside a disc
=============  ===========================================================================

Arrays travel as NamedTuples (numba passes a namedtuple of arrays as one argument): ``Flat`` for
the targets, ``SitePoints`` for the sites' points, ``Frame`` for a site's plane.
"""
