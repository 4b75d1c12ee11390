#!/usr/bin/env bash
# Build the partial plotly.js bundle the dashboard page loads: assets/vendor/plotly-asm.min.js.
#
# Why: the page draws four trace types (scatter, bar, waterfall, scattermap); the full plotly.js
# that Dash would load is 4.8 MB and takes ~1.6 s to evaluate on a cold visit in headless Chromium,
# this bundle ~3 MB and ~0.5 s (docs/performance.md, "Page load"). Dash serves every .js under
# assets/ in the page itself, so window.Plotly exists before any dcc.Graph mounts and Dash never
# fetches its own plotly.min.js. Standalone exports (chart HTML, briefing pack, /embed) keep the
# full plotly.js from the Python package.
#
# Pinned: scripts/plotly-bundle/package.json + package-lock.json (npm ci checks the integrity
# hashes), plotly.js 4.1.1 = the version plotly 7.1.0 ships. The result's SHA-256 is recorded in
# scripts/plotly-bundle/SHA256SUMS; tests/dashboard/test_plotly_bundle.py checks the committed file.
#
# Usage: scripts/build_plotly_bundle.sh           build and install into assets/vendor/
#        scripts/build_plotly_bundle.sh --check   rebuild in a temp dir and compare with the committed file
# Needs node >= 20 and npm, and the npm registry (only when building; the app itself stays offline).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$ROOT/scripts/plotly-bundle"
DEST="$ROOT/assets/vendor"
NAME="plotly-asm.min.js"
CHECK=0
[[ "${1:-}" == "--check" ]] && CHECK=1

# A fixed build path: esbuild-plugin-inline-css names the injected <style> element after a hash of
# the CSS file's absolute path, so the output is byte-for-byte reproducible only from the same path.
WORK="/tmp/asm-plotly-bundle-build"
rm -rf "$WORK"
mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT
cp "$SRC/package.json" "$SRC/package-lock.json" "$SRC/entry.js" "$SRC/build.js" "$WORK/"
(
    cd "$WORK"
    npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
    node build.js "$NAME"
)
SUM="$(cd "$WORK" && sha256sum "$NAME")"

if [[ $CHECK -eq 1 ]]; then
    if ! (cd "$DEST" && echo "$SUM" | sha256sum --check --quiet -); then
        echo "assets/vendor/$NAME differs from a fresh build ($SUM)" >&2
        exit 1
    fi
    echo "assets/vendor/$NAME matches a fresh build: $SUM"
    exit 0
fi

mkdir -p "$DEST"
cp "$WORK/$NAME" "$DEST/$NAME"
echo "$SUM" >"$SRC/SHA256SUMS"
{
    echo "Third-party licences of assets/vendor/$NAME (built by scripts/build_plotly_bundle.sh)."
    echo "The bundle holds plotly.js $(node -p "require('$WORK/node_modules/plotly.js/package.json').version") (MIT)"
    echo "and maplibre-gl $(node -p "require('$WORK/node_modules/maplibre-gl/package.json').version") (BSD-3-Clause),"
    echo "plus the small MIT/BSD/ISC modules they depend on; their notices are kept inline in the bundle."
    echo
    echo "==== plotly.js ===="
    cat "$WORK/node_modules/plotly.js/LICENSE"
    echo
    echo "==== maplibre-gl ===="
    cat "$WORK/node_modules/maplibre-gl/LICENSE.txt"
} >"$DEST/plotly-asm.LICENSE.txt"
echo "built assets/vendor/$NAME: $SUM"
