'use strict';
// The trace types the dashboard page draws (dashboard/figures.py): scatter (in core: the
// distance ECDF), bar (charts), waterfall (site detail), scattermap (the map). Keep this list
// in step with PAGE_TRACE_TYPES in tests/dashboard/test_plotly_bundle.py.
var Plotly = require('plotly.js/lib/core');

Plotly.register([
    require('plotly.js/lib/bar'),
    require('plotly.js/lib/waterfall'),
    require('plotly.js/lib/scattermap'),
]);

module.exports = Plotly;
