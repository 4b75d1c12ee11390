#!/usr/bin/env bash
# Installs what the real-browser tests need, when absent: Debian's chromium and chromium-driver, and
# axe-core (pinned in tests/browser/axe/package-lock.json, from the npm registry) for the accessibility checks.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
APT_UPDATED=""
apt_install() {
  if [ -z "$APT_UPDATED" ]; then $SUDO apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}
if ! { command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; }; then
  echo "Installing Debian packages chromium and chromium-driver for the browser tests..." >&2
  apt_install chromium chromium-driver
fi
if [ ! -f "$ROOT/tests/browser/axe/node_modules/axe-core/axe.min.js" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "Installing Debian packages nodejs and npm (for axe-core)..." >&2
    apt_install nodejs npm
  fi
  echo "Installing axe-core (tests/browser/axe/package-lock.json)..." >&2
  (cd "$ROOT/tests/browser/axe" && npm ci --no-audit --no-fund --ignore-scripts --silent)
fi
