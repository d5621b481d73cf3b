#!/usr/bin/env bash
# The web pages: the customer web chat (webchat/), the agents' desk (desk/web), the analytics
# dashboard and report charts (analytics/web) and the trainer review page (trainer/web).
# First Debian's packages that the browser tests, the screenshots and the cluster need
# (chromium, CJK and emoji fonts, nginx) when missing; then, per page, `npm ci` when its
# lockfile changed and `npm run build` when a source changed. Re-running is cheap.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for package in chromium fonts-noto-cjk fonts-noto-color-emoji nginx; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing ${missing[*]} (apt) ..."
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq && $sudo apt-get install -y -qq "${missing[@]}" >/dev/null || \
    echo "WARNING: could not install ${missing[*]}: browser tests need chromium and a CJK font" >&2
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "ERROR: npm (Node.js 20) is needed to build the web pages: apt-get install -y nodejs npm" >&2
  exit 1
fi

for web in webchat desk/web analytics/web trainer/web; do
  [ -f "$web/package-lock.json" ] || continue
  installed=$web/node_modules/.lock.sha
  lock=$(sha256sum "$web/package-lock.json" | cut -d' ' -f1)
  if [ ! -f "$installed" ] || [ "$(cat "$installed")" != "$lock" ]; then
    echo "Installing $web's packages (npm ci) ..."
    (cd "$web" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$lock" > "$installed"
  fi
  built=$web/.build.sha
  sources=$(cd "$web" && find . -path ./node_modules -prune -o -path ./dist -prune -o -type f \
    ! -name .build.sha -print | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1)
  if [ ! -f "$built" ] || [ "$(cat "$built")" != "$sources" ] || [ ! -d "$web/dist" ]; then
    echo "Building $web (npm run build) ..."
    (cd "$web" && npm run build --silent >/dev/null)
    echo "$sources" > "$built"
  fi
done
