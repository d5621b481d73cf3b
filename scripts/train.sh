#!/usr/bin/env bash
# models/shop.tar.gz for the project as it is on disk, trained once per set of inputs.
#
# Rasa's own cache (RASA_CACHE_DIRECTORY) restores the tokenizer and featurizers, but Rasa
# 3.6 misses it for the later NLU components, which retrain every time (minutes). So the
# whole model is kept too, under a hash of everything training reads: config, domain, data,
# the custom components, the jieba dictionary, the escalation rules and the pinned
# requirements. Same inputs, same model: it is copied instead of trained (a fresh clone on
# the same machine, `make run` after `make test`). Set TRAIN_FORCE=1 to train anyway.
set -euo pipefail
cd "$(dirname "$0")/.."
export RASA_CACHE_DIRECTORY="${RASA_CACHE_DIRECTORY:-$HOME/.cache/shop-assistant/rasa}"
export RASA_MAX_CACHE_SIZE="${RASA_MAX_CACHE_SIZE:-8000}"
models="${MODEL_CACHE_DIRECTORY:-$HOME/.cache/shop-assistant/models}"
keep=3  # models of about 300 MB each

# Files on disk (a checkout or an unpacked release alike), not Python's byte code.
inputs=$(find config.yml domain.yml data components jieba_dict escalation requirements.txt \
           -type f -not -path '*/__pycache__/*' -not -name '*.pyc' -print0 \
         | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-24)
cached="$models/shop-$inputs.tar.gz"
if [ -z "${TRAIN_FORCE:-}" ] && [ -f "$cached" ]; then
  mkdir -p models
  cp "$cached" models/shop.tar.gz.part && mv models/shop.tar.gz.part models/shop.tar.gz
  touch "$cached"
  echo "models/shop.tar.gz: the model trained on these inputs before ($cached)"
  exit 0
fi
.venv/bin/rasa train --fixed-model-name shop --out models --augmentation 0
mkdir -p "$models"
cp models/shop.tar.gz "$cached.part" && mv "$cached.part" "$cached"
ls -t "$models"/shop-*.tar.gz | tail -n +$((keep + 1)) | xargs -r rm -f
echo "models/shop.tar.gz kept as $cached"
