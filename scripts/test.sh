#!/usr/bin/env bash
# The whole test suite: lint, data validation, training (cached), then pytest, which
# runs unit, API, action, NLU-evaluation, test-story and end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup_venv.sh
scripts/setup_web.sh
export PATH="$PWD/.venv/bin:$PATH"
start=$(date +%s)
# Training (minutes; scripts/train.sh keeps each model outside the checkout, so a fresh
# clone on the same machine copies it) runs beside the static checks; its log is printed
# when it is done.
train_log=$(mktemp)
scripts/train.sh >"$train_log" 2>&1 &
train_pid=$!
trap 'kill $train_pid 2>/dev/null || true; rm -f "$train_log"' EXIT
echo "== ruff"; ruff check .
echo "== mypy"; mypy
echo "== import layers"; lint-imports --no-cache
echo "== nlu alignment"; python scripts/check_nlu_alignment.py data/nlu/*.yml tests/nlu/heldout.yml
echo "== compliance lint"; python -m compliance lint
echo "== rasa data validate"; rasa data validate --fail-on-warnings
echo "== training (started with the checks)"
trained=0; wait $train_pid || trained=$?
cat "$train_log"
[ "$trained" -eq 0 ] || { echo "rasa train failed ($trained)"; exit "$trained"; }
# Two workers (TEST_WORKERS), each taking whole test folders (tests/conftest.py): while one
# waits on servers, a browser or a retrain, the other runs.
echo "== pytest"
python -m pytest -q -rs --durations=15 -n "${TEST_WORKERS:-2}" --dist loadgroup "$@"
echo "test suite took $(( $(date +%s) - start ))s"
