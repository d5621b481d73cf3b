#!/usr/bin/env bash
# Create .venv with Python 3.10 (Rasa 3.6 needs >=3.8,<3.11) and install pinned requirements.
# Re-running is cheap: it only reinstalls when a requirements file changed.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
  local candidates=("${PYTHON:-}" python3.10)
  if command -v pyenv >/dev/null 2>&1; then
    candidates+=("$(pyenv root)"/versions/3.10*/bin/python)
  fi
  candidates+=("$HOME"/.pyenv/versions/3.10*/bin/python /usr/bin/python3.10 /usr/local/bin/python3.10 python3)
  for candidate in "${candidates[@]}"; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

stamp=.venv/.requirements.sha
wanted=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
  # This installation's own secrets (var/secrets.env, mode 600); kept once written.
  .venv/bin/python -m security.secrets init >/dev/null
  exit 0
fi

if [ ! -x .venv/bin/python ]; then
  if ! python=$(find_python); then
    cat >&2 <<'MSG'
ERROR: Python 3.10 was not found (Rasa 3.6 supports Python 3.8-3.10 only).
Install it, then re-run, for example:
  pyenv install 3.10.13            # or: apt-get install python3.10 python3.10-venv
or point to an interpreter:  PYTHON=/path/to/python3.10 make run
MSG
    exit 1
  fi
  echo "Creating .venv with $python"
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade "pip==24.0"
echo "Installing pinned requirements (first time: about 4 minutes, 2.7 GB) ..."
.venv/bin/python -m pip install --quiet -r requirements.txt -r requirements-dev.txt 2>&1 \
  | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import rasa, rasa_sdk, jieba" 
echo "$wanted" > "$stamp"
.venv/bin/python -m security.secrets init
