#!/usr/bin/env bash
# Builds the agents' desk page (desk/web -> desk/web/dist) and installs what the browser
# tests need: Debian's chromium and a CJK font (skipped when present). npm ci runs only
# when the lockfile changed since the last install; the build only when sources changed.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi "noto sans cjk"; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
  else
    echo "setup_web: install chromium and fonts-noto-cjk (apt-get) for the browser tests" >&2
  fi
fi
command -v npm >/dev/null || { echo "setup_web: npm (node 20) is required to build desk/web" >&2; exit 1; }
web=desk/web
if [ ! -d "$web/node_modules" ] || [ "$web/package-lock.json" -nt "$web/node_modules/.package-lock.json" ]; then
  (cd "$web" && npm ci --no-audit --no-fund --loglevel=error)
fi
newest_source=$(find "$web/src" "$web/index.html" "$web/vite.config.js" "$web/package-lock.json" -newer "$web/dist/index.html" 2>/dev/null | head -1 || true)
if [ ! -f "$web/dist/index.html" ] || [ -n "$newest_source" ]; then
  (cd "$web" && npm run build --silent)
fi
