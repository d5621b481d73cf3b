"""Choose NgramIntentClassifier's C and blend and the fallback threshold on the real split.

    .venv/bin/python scripts/intent_blend_sweep.py [--model models/shop.tar.gz] [--C 10 50 200]

Parses the real and own held-out sets once with the model's pipeline *without* the n-gram
classifier (DIET's ranking), trains the n-gram classifier on `data/nlu` for each C, and
prints the accuracy of every blend at several fallback thresholds (the ambiguity rule of
the FallbackClassifier is not simulated; `scripts/real_eval.py` measures the real pipeline).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

BLENDS = (0.0, 0.5, 0.6, 0.7, 0.8, 1.0)
THRESHOLDS = (0.0, 0.2, 0.3, 0.4, 0.45)


def answer(ranking: Dict[str, float], threshold: float) -> str:
    if not ranking:
        return "nlu_fallback"
    best = max(ranking, key=ranking.__getitem__)
    return best.split("/")[0] if ranking[best] >= threshold else "nlu_fallback"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(ROOT / "models" / "shop.tar.gz"))
    parser.add_argument("--C", type=float, nargs="+", default=[10.0, 50.0, 200.0])
    args = parser.parse_args()
    logging.disable(logging.WARNING)

    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.nlu.training_data.loading import load_data
    from real_eval import OWN_NLU, REAL_NLU, nlu_examples, parse_all
    from sklearn.metrics import accuracy_score

    from components.intent_classifier import NgramIntentClassifier

    NgramIntentClassifier.process = lambda self, messages: messages  # type: ignore[method-assign]
    sets = {"real": nlu_examples(REAL_NLU), "own": nlu_examples(OWN_NLU)}
    texts = [text for examples in sets.values() for text, _ in examples]
    parsed, _ = parse_all(Path(args.model), texts)
    diet = [{item["name"]: float(item["confidence"]) for item in p.get("intent_ranking") or []
             if item["name"] != "nlu_fallback"} for p in parsed]
    training = load_data(str(ROOT / "data" / "nlu"))
    print("| C | blend | " + " | ".join(f"{name} @ " + " / ".join(map(str, THRESHOLDS))
                                       for name in sets) + " |")
    for c in args.C:
        with tempfile.TemporaryDirectory() as folder:
            classifier = NgramIntentClassifier.create(
                {"C": c}, LocalModelStorage(Path(folder)), Resource("sweep"), None)
            classifier.train(training)
            ngram = [classifier.probabilities(text) or {} for text in texts]
        for blend in BLENDS:
            cells: List[str] = []
            offset = 0
            for examples in sets.values():
                gold = [intent for _, intent in examples]
                rows = range(offset, offset + len(examples))
                offset += len(examples)
                blended = [{name: blend * ngram[i].get(name, 0.0)
                            + (1 - blend) * diet[i].get(name, 0.0)
                            for name in set(ngram[i]) | set(diet[i])} if ngram[i] else diet[i]
                           for i in rows]
                cells.append(" / ".join(
                    f"{accuracy_score(gold, [answer(r, t) for r in blended]):.3f}"
                    for t in THRESHOLDS))
            print(f"| {c:g} | {blend} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
