#!/usr/bin/env bash
# The customer web chat's front end (webchat/): system packages the browser tests and the
# screenshots need, then `npm ci && npm run build` into webchat/dist (served by the Rasa
# channel). Skips what is already done: the build is redone only when its inputs changed.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for pkg in chromium fonts-noto-cjk fonts-noto-color-emoji nginx; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing ${missing[*]} (apt) ..."
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq && $sudo apt-get install -y -qq "${missing[@]}" || \
    echo "WARNING: could not install ${missing[*]}; browser tests need chromium and a CJK font" >&2
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "ERROR: npm (Node.js 18+) is needed to build the web chat page (webchat/)." >&2
  exit 1
fi
stamp=webchat/dist/.build.sha
wanted=$(cat webchat/package-lock.json webchat/package.json webchat/index.html webchat/*.ts \
  webchat/tsconfig.json webchat/src/* | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ] && [ -f webchat/dist/widget.js ]; then
  exit 0
fi
echo "Building the web chat page (npm ci && npm run build in webchat/) ..."
(cd webchat && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent)
echo "$wanted" > "$stamp"
