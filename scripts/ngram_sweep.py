"""Settings of the n-gram intent classifier on its own, on the real and own held-out sets.

    .venv/bin/python scripts/ngram_sweep.py

Trains `components.intent_classifier.NgramIntentClassifier`'s model (TF-IDF n-grams and a
logistic regression) on `data/nlu` for each setting below and prints accuracy and macro-F1
without DIET and without a fallback threshold (`docs/nlu_experiments.md`). Seconds per row.
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
    import numpy as np
    from rasa.shared.nlu.training_data.loading import load_data
    from real_eval import OWN_NLU, REAL_NLU, nlu_examples, scores
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from components.intent_classifier import NgramIntentClassifier

    real_texts = {example.get("text") for name in REAL_TRAINING
                  for example in load_data(str(ROOT / "data/nlu" / name)).intent_examples}
    training = [(example.get("text"), str(example.get("intent")))
                for example in load_data(str(ROOT / "data/nlu")).intent_examples]
    sets = {"real": nlu_examples(REAL_NLU), "own": nlu_examples(OWN_NLU)}
    print("| setting | real accuracy | real macro-F1 | own accuracy |\n|---|---|---|---|")
    for label, overrides, own_weight in SETTINGS:
        config = {**NgramIntentClassifier.get_default_config(), "C": 200.0, **overrides}
        prepare = NgramIntentClassifier(config, None, None)._prepare  # type: ignore[arg-type]
        vectorizer = TfidfVectorizer(
            analyzer=config["analyzer"], ngram_range=(config["min_ngram"], config["max_ngram"]),
            sublinear_tf=True, lowercase=False, dtype=np.float64)
        features = vectorizer.fit_transform([prepare(text) for text, _ in training])
        weights = [1.0 if text in real_texts else own_weight for text, _ in training]
        classifier = LogisticRegression(C=config["C"], class_weight=config["class_weight"],
                                        max_iter=5000, random_state=config["random_state"])
        classifier.fit(features, [intent for _, intent in training], sample_weight=weights)
        result = {}
        for name, examples in sets.items():
            predicted = classifier.predict(vectorizer.transform(
                [prepare(text) for text, _ in examples]))
            result[name] = scores([intent for _, intent in examples],
                                  [str(intent).split("/")[0] for intent in predicted])
        print(f"| {label} | {result['real']['accuracy']:.3f} | {result['real']['macro_f1']:.3f} "
              f"| {result['own']['accuracy']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
