#!/usr/bin/env bash
# Build the trainer review page (trainer/web -> trainer/web/dist, served at /trainer/) and
# install what its browser test needs. Re-running is cheap: npm ci only when the lockfile
# changed, the build only when a source is newer than the built page.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's chromium and a CJK font for the Playwright test and its screenshot.
missing=()
for pkg in chromium fonts-noto-cjk; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq "${missing[@]}"
  elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -qq && sudo apt-get install -y -qq "${missing[@]}"
  else
    echo "warning: install ${missing[*]} (apt-get install -y ${missing[*]}) for the browser test" >&2
  fi
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "ERROR: npm (Node.js 20) is needed to build the trainer page: apt-get install -y nodejs npm" >&2
  exit 1
fi
web=trainer/web
stamp=$web/node_modules/.lock.sha
wanted=$(sha256sum "$web/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  (cd "$web" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$wanted" > "$stamp"
fi
if [ ! -f "$web/dist/index.html" ] || \
   [ -n "$(find "$web/index.html" "$web/src" "$web/vite.config.js" "$web/package-lock.json" \
           -newer "$web/dist/index.html" 2>/dev/null | head -1)" ]; then
  (cd "$web" && npm run --silent build >/dev/null)
  echo "trainer page built in $web/dist"
fi
