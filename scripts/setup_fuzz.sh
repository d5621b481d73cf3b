#!/usr/bin/env bash
# Creates .venv-fuzz (schemathesis, pinned in requirements-fuzz.txt) apart from the Rasa venv,
# whose pins (jsonschema<4.18) schemathesis cannot live with. Idempotent: skipped when the
# installed pins match requirements-fuzz.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-fuzz
STAMP="$VENV/.requirements-fuzz.txt"
if [[ -x "$VENV/bin/schemathesis" && -f "$STAMP" ]] && cmp -s requirements-fuzz.txt "$STAMP"; then
  exit 0
fi
PYTHON=""
# 3.12+ first: CPython 3.11.7 raises "AST constructor recursion depth mismatch" inside
# hypothesis on deep schemas (a CPython bug, gone in 3.12/3.13).
PYENV_ROOT_DIR="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
for candidate in python3.13 python3.12 "$PYENV_ROOT_DIR"/versions/3.13*/bin/python3 \
    "$PYENV_ROOT_DIR"/versions/3.12*/bin/python3 python3.11 python3.10 python3; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; then
    PYTHON="$candidate"; break
  fi
done
if [[ -z "$PYTHON" ]]; then
  echo "setup_fuzz: no Python >= 3.9 found (schemathesis needs one)" >&2
  exit 1
fi
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r requirements-fuzz.txt
cp requirements-fuzz.txt "$STAMP"
echo "setup_fuzz: $("$VENV/bin/schemathesis" --version) in $VENV"
