"""Train the emotion radar in-process and report how it does on the held-out set.

Usage: .venv/bin/python scripts/emotion_report.py [--train FILE] [--heldout FILE] [--errors]
Prints accuracy, the confusion matrix and per-label precision/recall/F1 (a few seconds).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Sequence, Text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from components.emotion import LABELS, EmotionRadar, load_examples  # noqa: E402


def train_radar(storage_dir: Path, **config: object) -> EmotionRadar:
    """An EmotionRadar trained through Rasa's own storage API, as `rasa train` would."""
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource

    storage = LocalModelStorage(storage_dir)
    resource = Resource("emotion_radar")
    context = ExecutionContext(GraphSchema({}), "emotion_report")
    full_config = {**EmotionRadar.get_default_config(), **config}
    EmotionRadar.create(full_config, storage, resource, context).train(None)
    return EmotionRadar.load(full_config, storage, resource, context)


def confusion(gold: Sequence[Text], predicted: Sequence[Text]) -> Dict[Text, Dict[Text, int]]:
    matrix = {row: dict.fromkeys(LABELS, 0) for row in LABELS}
    for expected, actual in zip(gold, predicted, strict=True):
        matrix[expected][actual] += 1
    return matrix


def format_report(gold: Sequence[Text], predicted: Sequence[Text]) -> Text:
    """Accuracy, confusion matrix (rows = gold) and per-label precision/recall/F1."""
    matrix = confusion(gold, predicted)
    correct = sum(matrix[label][label] for label in LABELS)
    lines = [f"accuracy: {correct / len(gold):.4f} ({correct}/{len(gold)})", "",
             "confusion matrix (rows = gold, columns = predicted)",
             f"{'':>10}" + "".join(f"{label:>10}" for label in LABELS)]
    lines += [f"{row:>10}" + "".join(f"{matrix[row][col]:>10}" for col in LABELS)
              for row in LABELS]
    lines += ["", f"{'label':>10}{'precision':>11}{'recall':>9}{'f1':>8}{'support':>9}"]
    for label in LABELS:
        hits = matrix[label][label]
        predicted_count = sum(matrix[row][label] for row in LABELS)
        support = sum(matrix[label].values())
        precision = hits / predicted_count if predicted_count else 0.0
        recall = hits / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        lines.append(f"{label:>10}{precision:>11.3f}{recall:>9.3f}{f1:>8.3f}{support:>9}")
    return "\n".join(lines)


def main(argv: List[Text]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", default=str(ROOT / "data/emotion/train.yml"))
    parser.add_argument("--heldout", default=str(ROOT / "tests/emotion/heldout.yml"))
    parser.add_argument("--lexicon", default=str(ROOT / "components/emotion_lexicon.yml"))
    parser.add_argument("--errors", action="store_true", help="also list misclassified texts")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        radar = train_radar(Path(folder), training_file=args.train, lexicon_file=args.lexicon)
        train_seconds = time.perf_counter() - started
        texts, gold = load_examples(args.heldout)
        started = time.perf_counter()
        results = [radar.predict(text) for text in texts]
        per_message_ms = (time.perf_counter() - started) * 1000 / len(texts)

    predicted = [result["label"] for result in results]
    print(format_report(gold, predicted))
    print(f"\ntrained in {train_seconds:.1f} s; inference {per_message_ms:.3f} ms per message")
    if args.errors:
        print("\nmisclassified (gold -> predicted, intensity):")
        for text, expected, result in zip(texts, gold, results, strict=True):
            if result["label"] != expected:
                print(f"  {expected:>7} -> {result['label']:<7} {result['intensity']:.2f}  {text}")


if __name__ == "__main__":
    main(sys.argv[1:])
