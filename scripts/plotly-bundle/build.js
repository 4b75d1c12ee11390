// esbuild settings of plotly.js's own build (its esbuild-config.js), minified, for entry.js.
'use strict';
const esbuild = require('esbuild');
const InlineCSSPlugin = require('esbuild-plugin-inline-css');
const { environmentPlugin } = require('esbuild-plugin-environment');
const version = require('plotly.js/package.json').version;

esbuild
    .build({
        entryPoints: ['entry.js'],
        outfile: process.argv[2],
        format: 'iife',
        globalName: 'Plotly',
        bundle: true,
        minify: true,
        sourcemap: false,
        legalComments: 'inline',
        banner: {
            js:
                `/*! plotly.js ${version} partial bundle (scatter, bar, waterfall, scattermap) for the ASM dashboard. ` +
                'Built by scripts/build_plotly_bundle.sh. plotly.js: MIT licence, (c) Plotly, Inc.; ' +
                'maplibre-gl: BSD-3-Clause; see plotly-asm.LICENSE.txt */',
        },
        plugins: [InlineCSSPlugin(), environmentPlugin({ NODE_DEBUG: false })],
        alias: { regl: '@plotly/regl', stream: 'stream-browserify' },
        define: { global: 'window', 'define.amd': 'false' },
        target: 'es2016',
        logLevel: 'warning',
    })
    .catch(() => process.exit(1));
