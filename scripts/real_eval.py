"""How well the assistant reads real customer messages: intents and emotions on the real
held-out split (tests/nlu/real_heldout.yml, tests/emotion/real_heldout.yml: public
e-commerce corpora, labelled by docs/labelling.md, never trained on) beside our own
held-out sets (tests/nlu/heldout.yml, tests/emotion/heldout.yml).

    .venv/bin/python scripts/real_eval.py                       # models/shop.tar.gz
    .venv/bin/python scripts/real_eval.py --model models/x.tar.gz --matrix
    .venv/bin/python scripts/real_eval.py --train-config exp.yml  # `rasa train nlu` first
    .venv/bin/python scripts/real_eval.py --emotion-only

Intent figures are what the deployed pipeline answers, fallback included: a message
the model is unsure about counts as `nlu_fallback` (wrong). FAQ topics count as `faq`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REAL_NLU = ROOT / "tests" / "nlu" / "real_heldout.yml"
OWN_NLU = ROOT / "tests" / "nlu" / "heldout.yml"
REAL_EMOTION = ROOT / "tests" / "emotion" / "real_heldout.yml"
OWN_EMOTION = ROOT / "tests" / "emotion" / "heldout.yml"


def nlu_examples(path: Path) -> List[Tuple[str, str]]:
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    return [(example.get("text"), str(example.get("intent")).split("/")[0])
            for example in data.intent_examples]


def scores(gold: Sequence[str], predicted: Sequence[str]) -> Dict[str, Any]:
    from sklearn.metrics import accuracy_score, f1_score

    labels = sorted(set(gold) | set(predicted))
    per_label = f1_score(gold, predicted, labels=labels, average=None, zero_division=0)
    return {"accuracy": float(accuracy_score(gold, predicted)),
            "macro_f1": float(f1_score(gold, predicted, labels=labels, average="macro",
                                       zero_division=0)),
            "f1": {label: round(float(value), 3)
                   for label, value in zip(labels, per_label, strict=True)
                   if label in gold},
            "n": len(gold)}


def parse_all(model: Path, texts: Sequence[str]) -> Tuple[List[Dict[str, Any]], float]:
    """Parse every text with the model's NLU pipeline; (results, ms per message)."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))

    async def run() -> Tuple[List[Dict[str, Any]], float]:
        await agent.parse_message("你好")  # warm-up: graph tracing
        started = time.perf_counter()
        parsed = [await agent.parse_message(text) for text in texts]
        return parsed, (time.perf_counter() - started) * 1000 / max(len(texts), 1)

    return asyncio.run(run())


THRESHOLDS = (0.0, 0.2, 0.3, 0.4, 0.45, 0.5, 0.6)


def with_threshold(parsed: Dict[str, Any], threshold: float) -> str:
    """The intent the pipeline would answer with another FallbackClassifier threshold
    (the ranking keeps the classifier's own confidences under `nlu_fallback`)."""
    ranking = [item for item in parsed.get("intent_ranking") or []
               if item.get("name") != "nlu_fallback"]
    if not ranking:
        return str((parsed.get("intent") or {}).get("name"))
    top = ranking[0]
    return str(top["name"]).split("/")[0] if top["confidence"] >= threshold else "nlu_fallback"


def confusions(gold: Sequence[str], predicted: Sequence[str], top: int = 15) -> List[str]:
    pairs = Counter((g, p) for g, p in zip(gold, predicted, strict=True) if g != p)
    return [f"{count:4d}  {g} -> {p}" for (g, p), count in pairs.most_common(top)]


def matrix_markdown(gold: Sequence[str], predicted: Sequence[str]) -> str:
    labels = sorted(set(gold) | set(predicted))
    counts = Counter(zip(gold, predicted, strict=True))
    short = {label: label.replace("_", " ")[:12] for label in labels}
    lines = ["| gold \\ predicted | " + " | ".join(short[label] for label in labels) + " |",
             "|---|" + "---|" * len(labels)]
    for row in labels:
        if row not in gold:
            continue
        cells = [str(counts[(row, col)] or "") for col in labels]
        lines.append(f"| {row} ({sum(counts[(row, c)] for c in labels)}) | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines)


def catalogue_terms() -> Dict[str, List[str]]:
    """The lookup tables of data/nlu/entities.yml: every name of a catalogue product and a
    courier the shop knows."""
    from rasa.shared.nlu.training_data.loading import load_data

    tables = load_data(str(ROOT / "data" / "nlu" / "entities.yml")).lookup_tables
    return {table["name"]: [term for term in table["elements"] if len(term) >= 2]
            for table in tables if table["name"] in ("product", "courier")}


def silver_entities(texts: Sequence[str], parsed: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """A silver standard for entities on real messages (annotated for intents only): a
    catalogue name in the text should come out as that entity, over the name's characters.
    Counts of messages, per entity; "unmentioned_found" counts messages naming no catalogue
    name that got the entity anyway (a product outside the catalogue, or a mistake)."""
    result: Dict[str, Any] = {}
    for entity, terms in catalogue_terms().items():
        counts = dict.fromkeys(("mentioned", "mentioned_found", "unmentioned",
                                "unmentioned_found"), 0)
        for text, item in zip(texts, parsed, strict=True):
            spans = [(e.get("start", -1), e.get("end", -1)) for e in item.get("entities") or []
                     if e.get("entity") == entity]
            names = [(match.start(), match.end()) for term in terms
                     for match in re.finditer(re.escape(term), text)]
            if names:
                counts["mentioned"] += 1
                counts["mentioned_found"] += any(start < name_end and name_start < end
                                                 for start, end in spans
                                                 for name_start, name_end in names)
            else:
                counts["unmentioned"] += 1
                counts["unmentioned_found"] += bool(spans)
        result[entity] = counts
    return result


def evaluate_intents(model: Path, show_matrix: bool) -> Dict[str, Any]:
    results: Dict[str, Any] = {}
    sets = {"real": nlu_examples(REAL_NLU), "own": nlu_examples(OWN_NLU)}
    texts = [text for examples in sets.values() for text, _ in examples]
    parsed, ms = parse_all(model, texts)
    offset = 0
    for name, examples in sets.items():
        chunk = parsed[offset:offset + len(examples)]
        offset += len(examples)
        gold = [intent for _, intent in examples]
        predicted = [str((item.get("intent") or {}).get("name")).split("/")[0]
                     for item in chunk]
        result = scores(gold, predicted)
        result["fallback_share"] = predicted.count("nlu_fallback") / len(predicted)
        result["by_threshold"] = {
            str(threshold): round(scores(gold, [with_threshold(item, threshold)
                                                for item in chunk])["accuracy"], 3)
            for threshold in THRESHOLDS}
        results[name] = result
        print(f"\n== intents, {name} held-out ({len(gold)} messages): accuracy "
              f"{result['accuracy']:.3f}, macro-F1 {result['macro_f1']:.3f}, "
              f"nlu_fallback {result['fallback_share']:.1%}")
        weak = {label: f1 for label, f1 in sorted(result["f1"].items(), key=lambda x: x[1])
                if f1 < 0.8}
        print(f"   weakest F1: {weak}")
        print(f"   accuracy by fallback threshold: {result['by_threshold']}")
        print("   top confusions (gold -> predicted):")
        print("\n".join("   " + line for line in confusions(gold, predicted)))
        if name == "real":
            result["entities"] = silver_entities([text for text, _ in examples], chunk)
            for entity, counts in result["entities"].items():
                print(f"   {entity} entity: found in {counts['mentioned_found']} of "
                      f"{counts['mentioned']} messages naming a catalogue {entity}, in "
                      f"{counts['unmentioned_found']} of {counts['unmentioned']} others")
        if show_matrix and name == "real":
            print("\n" + matrix_markdown(gold, predicted))
    results["ms_per_message"] = ms
    print(f"\nNLU pipeline: {ms:.1f} ms per message ({len(texts)} messages, one process)")
    return results


def evaluate_emotions() -> Dict[str, Any]:
    import yaml
    from emotion_report import train_radar

    from components.emotion import load_examples

    pipeline = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))["pipeline"]
    settings = next((dict(item) for item in pipeline
                     if item["name"].endswith("EmotionRadar")), {})
    settings.pop("name", None)
    settings.setdefault("training_file", str(ROOT / "data/emotion/train.yml"))
    settings.setdefault("lexicon_file", str(ROOT / "components/emotion_lexicon.yml"))
    results: Dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        radar = train_radar(Path(folder), **settings)  # as config.yml trains it
        for name, path in (("real", REAL_EMOTION), ("own", OWN_EMOTION)):
            texts, gold = load_examples(str(path))
            predicted = [radar.predict(text)["label"] for text in texts]
            result = scores(gold, predicted)
            calm = [p for g, p in zip(gold, predicted, strict=True) if g == "calm"]
            result["calm_flagged"] = sum(p != "calm" for p in calm) / max(len(calm), 1)
            results[name] = result
            print(f"\n== emotions, {name} held-out ({len(gold)}): accuracy "
                  f"{result['accuracy']:.3f}, macro-F1 {result['macro_f1']:.3f}, calm scored "
                  f"anxious/angry {result['calm_flagged']:.1%}; F1 {result['f1']}")
            print("\n".join("   " + line for line in confusions(gold, predicted, 6)))
    return results


def train_nlu(config: Path, out: Path) -> Path:
    """`rasa train nlu` with this config (cached components are reused)."""
    command = [str(Path(sys.executable).parent / "rasa"), "train", "nlu", "--config",
               str(config), "--out", str(out), "--fixed-model-name", "eval"]
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    print(f"trained {config} in {time.perf_counter() - started:.0f} s")
    return out / "eval.tar.gz"


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(ROOT / "models" / "shop.tar.gz"))
    parser.add_argument("--train-config", help="train an NLU model with this config first")
    parser.add_argument("--matrix", action="store_true", help="print the real confusion matrix")
    parser.add_argument("--emotion-only", action="store_true")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    sys.path.insert(0, str(ROOT / "scripts"))
    figures: Dict[str, Any] = {}
    if not args.emotion_only:
        with tempfile.TemporaryDirectory() as folder:
            model = train_nlu(Path(args.train_config), Path(folder)) if args.train_config \
                else Path(args.model)
            figures["intents"] = evaluate_intents(model, args.matrix)
    figures["emotions"] = evaluate_emotions()
    if args.json:
        Path(args.json).write_text(json.dumps(figures, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
