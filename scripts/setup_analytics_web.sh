#!/usr/bin/env bash
# Build the analytics dashboard and the weekly report's chart bundle (analytics/web: npm,
# Vite, ECharts; no CDN). Installs the browser and CJK font the browser test and the
# screenshots need when they are missing. Re-running is cheap: npm ci and the build only
# run when the lockfile or a source file is newer than the build.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for package in chromium fonts-noto-cjk; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing ${missing[*]} (browser tests, screenshots) ..."
  if [ "$(id -u)" = 0 ]; then apt-get install -y "${missing[@]}"; else sudo apt-get install -y "${missing[@]}"; fi
fi

web=analytics/web
if ! command -v npm >/dev/null 2>&1; then
  echo "ERROR: npm (Node 20) is needed to build the analytics dashboard." >&2
  exit 1
fi
stamp=$web/dist/.built
if [ -f "$stamp" ] && [ -z "$(find $web/package-lock.json $web/index.html $web/src $web/vite*.js -newer "$stamp" -print -quit)" ]; then
  exit 0
fi
echo "Building the analytics dashboard (npm ci && npm run build) ..."
(cd $web && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent)
touch "$stamp"
