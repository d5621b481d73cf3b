"""Settings of the n-gram intent classifier on its own, on the real and own held-out sets.

    .venv/bin/python scripts/ngram_sweep.py

Trains `components.intent_classifier.NgramIntentClassifier`'s model (TF-IDF n-grams and a
logistic regression) on `data/nlu` for each setting below and prints accuracy and macro-F1
without DIET and without a fallback threshold (`docs/nlu_experiments.md`). A minute or two
per row (the fit of `scripts/intent_cv.py`). It reads the held-out splits, so it records
experiments; settings are chosen by cross-validation with `scripts/intent_cv.py`.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

SETTINGS = [  # (label, component config, weight of our own examples against real ones)
    ("adopted: char_wb 1-3, C 200, balanced", {}, 1.0),
    ("char_wb 1-4", {"max_ngram": 4}, 1.0),
    ("char 1-3", {"analyzer": "char"}, 1.0),
    ("char 2-4", {"analyzer": "char", "min_ngram": 2, "max_ngram": 4}, 1.0),
    ("C 50", {"C": 50.0}, 1.0),
    ("C 1000", {"C": 1000.0}, 1.0),
    ("no class weights", {"class_weight": None}, 1.0),
    ("own examples weighted 0.5", {}, 0.5),
    ("own examples weighted 0.25", {}, 0.25),
]
REAL_TRAINING = sorted(path.name for path in (ROOT / "data/nlu").glob("real_customers*.yml"))


def main() -> None:
    logging.disable(logging.WARNING)
    from intent_cv import ADOPTED, fit_predict
    from rasa.shared.nlu.training_data.loading import load_data
    from real_eval import OWN_NLU, REAL_NLU, nlu_examples, scores

    real_texts = {example.get("text") for name in REAL_TRAINING
                  for example in load_data(str(ROOT / "data/nlu" / name)).intent_examples}
    training = [(example.get("text"), str(example.get("intent")))
                for example in load_data(str(ROOT / "data/nlu")).intent_examples]
    sets = {"real": nlu_examples(REAL_NLU), "own": nlu_examples(OWN_NLU)}
    texts = [text for examples in sets.values() for text, _ in examples]
    print("| setting | real accuracy | real macro-F1 | own accuracy |\n|---|---|---|---|")
    for label, overrides, own_weight in SETTINGS:
        train = [(text, intent, 1.0 if text in real_texts else own_weight)
                 for text, intent in training]
        labels, probabilities = fit_predict({**ADOPTED, **overrides}, train, texts)
        predicted = iter(labels[row.argmax()].split("/")[0] for row in probabilities)
        result = {name: scores([intent for _, intent in examples],
                               [next(predicted) for _ in examples])
                  for name, examples in sets.items()}
        print(f"| {label} | {result['real']['accuracy']:.3f} | {result['real']['macro_f1']:.3f} "
              f"| {result['own']['accuracy']:.3f} |", flush=True)

if __name__ == "__main__":
    main()
