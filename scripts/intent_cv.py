"""Cross-validated choice of intent-classifier settings on the REAL TRAINING messages.

    .venv/bin/python scripts/intent_cv.py                 # adopted setting, 5 folds
    .venv/bin/python scripts/intent_cv.py --settings all  # every row of SETTINGS

The real held-out split (tests/nlu/real_heldout.yml) must not choose settings: a threshold
or a C picked on it would be tuned on the test. This script never reads it. It splits the
real messages the model trains on (data/real/messages*.yml, split "train") into folds by
dialogue — turns of one conversation, and equal texts, never sit on both sides (the grouping
of scripts/emotion_cv.py) — trains the n-gram intent
classifier on our own examples plus the other folds, and scores the held-back fold. Pooled
over the folds it prints accuracy, macro-F1 and the share sent to `nlu_fallback` for each
FallbackClassifier threshold and ambiguity threshold (top two closer than it: a fallback),
overall and per batch. Minutes per setting (one logistic regression per fold).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

# (FallbackClassifier threshold, ambiguity_threshold); config.yml has (0.3, 0.05)
DECISIONS = [(threshold, 0.05) for threshold in (0.0, 0.1, 0.2, 0.25, 0.3, 0.35, 0.4)] + [
    (0.0, 0.0), (0.2, 0.0), (0.2, 0.02), (0.2, 0.1)]
SETTINGS: Dict[str, Dict[str, Any]] = {  # name -> overrides of the adopted config
    "adopted": {},
    "C 50": {"C": 50.0},
    "C 1000": {"C": 1000.0},
    "own examples weighted 0.5": {"own_weight": 0.5},
    "no class weights": {"class_weight": None},
}
ADOPTED = {"analyzer": "char_wb", "min_ngram": 1, "max_ngram": 3, "C": 200.0,
           "class_weight": "balanced", "own_weight": 1.0}


def own_examples(real_texts: set) -> List[Tuple[str, str]]:
    from rasa.shared.nlu.training_data.loading import load_data

    return [(example.get("text"), str(example.get("intent")))
            for example in load_data(str(ROOT / "data/nlu")).intent_examples
            if example.get("text") not in real_texts]


def fit_predict(config: Dict[str, Any], train: Sequence[Tuple[str, str, float]],
                test: Sequence[str]) -> Tuple[List[str], np.ndarray]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from components.intent_classifier import NgramIntentClassifier

    prepare = NgramIntentClassifier(
        {"max_chars": 300}, None, None)._prepare  # type: ignore[arg-type]
    vectorizer = TfidfVectorizer(analyzer=config["analyzer"],
                                 ngram_range=(config["min_ngram"], config["max_ngram"]),
                                 sublinear_tf=True, lowercase=False, dtype=np.float64)
    features = vectorizer.fit_transform([prepare(text) for text, _, _ in train])
    classifier = LogisticRegression(C=config["C"], class_weight=config["class_weight"],
                                    max_iter=5000, random_state=2026)
    classifier.fit(features, [label for _, label, _ in train],
                   sample_weight=[weight for _, _, weight in train])
    probabilities = classifier.predict_proba(vectorizer.transform([prepare(t) for t in test]))
    return [str(label) for label in classifier.classes_], probabilities


def decide(labels: Sequence[str], probabilities: np.ndarray, threshold: float,
           ambiguity: float) -> List[str]:
    decided = []
    for row in probabilities:
        first, second = np.sort(row)[::-1][:2]
        if first < threshold or first - second < ambiguity:
            decided.append("nlu_fallback")
        else:
            decided.append(labels[int(np.argmax(row))].split("/")[0])
    return decided


def cross_validate(name: str, folds: int) -> str:
    from emotion_cv import real_training_messages
    from real_eval import scores
    from sklearn.model_selection import GroupKFold

    logging.disable(logging.WARNING)
    config = {**ADOPTED, **SETTINGS[name]}
    real = real_training_messages()
    own = own_examples({message["text"] for message in real})
    gold = [message["intent"] for message in real]
    predicted_at: Dict[Tuple[float, float], List[str]] = {
        decision: [""] * len(real) for decision in DECISIONS}
    splitter = GroupKFold(n_splits=folds)
    for train_index, test_index in splitter.split(real, groups=[m["group"] for m in real]):
        train = [(text, label, config["own_weight"]) for text, label in own] + [
            (real[i]["text"], real[i]["intent"], 1.0) for i in train_index]
        labels, probabilities = fit_predict(config, train, [real[i]["text"] for i in test_index])
        for decision in DECISIONS:
            for i, label in zip(test_index, decide(labels, probabilities, *decision),
                                strict=True):
                predicted_at[decision][i] = label
    lines = [f"\n### {name} ({folds} folds by dialogue, {len(real)} real messages, "
             f"{len(own)} own examples always in training)",
             "| threshold, ambiguity | accuracy | macro-F1 | nlu_fallback | "
             + " | ".join(b for b in sorted({m['batch'] for m in real})) + " |",
             "|---|---|---|---|" + "---|" * len({m["batch"] for m in real})]
    for decision in DECISIONS:
        predicted = predicted_at[decision]
        overall = scores(gold, predicted)
        per_batch = defaultdict(list)
        for message, label, guess in zip(real, gold, predicted, strict=True):
            per_batch[message["batch"]].append(label == guess)
        lines.append(f"| {decision[0]:.2f}, {decision[1]:.2f} | {overall['accuracy']:.3f} | {overall['macro_f1']:.3f}"
                     f" | {predicted.count('nlu_fallback') / len(predicted):.1%} | "
                     + " | ".join(f"{np.mean(per_batch[b]):.3f}" for b in sorted(per_batch))
                     + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--settings", default="adopted",
                        help=f"comma-separated names or 'all': {', '.join(SETTINGS)}")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    names = list(SETTINGS) if args.settings == "all" else args.settings.split(",")
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for table in pool.map(cross_validate, names, [args.folds] * len(names)):
            print(table, flush=True)


if __name__ == "__main__":
    main()
