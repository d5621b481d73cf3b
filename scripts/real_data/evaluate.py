"""Score a trained model on the real held-out split: intents (FAQ with its topic), emotions.

Loads the model once (rasa Agent), parses every held-out real message as the running bot would,
and reports what issue 16 asks to be measured: intent accuracy and macro-F1, emotion accuracy and
macro-F1, the share of calm messages scored anxious/angry, per-source accuracy, the largest
confusions, and ms per message. Optionally writes everything as JSON.

Usage:
  .venv/bin/python scripts/real_data/evaluate.py [--model models/shop.tar.gz] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Dict, List, Sequence

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # the model's custom components live in components/
EMOTIONS = ("calm", "anxious", "angry")


def f1_scores(gold: Sequence[str], pred: Sequence[str]) -> Dict[str, Dict[str, float]]:
    out: Dict[str, Dict[str, float]] = {}
    for label in sorted(set(gold)):
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == p == label)
        fp = sum(1 for g, p in zip(gold, pred, strict=True) if p == label and g != label)
        fn = sum(1 for g, p in zip(gold, pred, strict=True) if g == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[label] = {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}
    return out


def full_intent(parsed: Dict) -> str:
    """`faq/<topic>` from the response selector when the intent is the retrieval intent."""
    name = (parsed.get("intent") or {}).get("name") or "nlu_fallback"
    if name == "faq":
        key = ((parsed.get("response_selector") or {}).get("faq") or {}).get("response") or {}
        return key.get("intent_response_key") or "faq"
    return name


def emotion_label(parsed: Dict) -> str:
    emotion = parsed.get("emotion")
    if isinstance(emotion, dict):
        return str(emotion.get("label") or "calm")
    return str(emotion or "calm")


async def parse_all(model: str, texts: List[str]) -> tuple:
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    results = []
    start = time.perf_counter()
    for text in texts:
        results.append(await agent.parse_message(text))
    return results, (time.perf_counter() - start) * 1000 / max(1, len(texts))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--model", default=str(ROOT / "models/shop.tar.gz"))
    ap.add_argument("--messages", default=str(ROOT / "data/real/messages.yml"))
    ap.add_argument("--json", help="write the full report here")
    args = ap.parse_args()
    logging.getLogger().setLevel(logging.ERROR)

    messages = yaml.safe_load(open(args.messages, encoding="utf-8"))["messages"]
    held = [m for m in messages if m["split"] == "heldout"]
    parsed, ms = asyncio.run(parse_all(args.model, [m["text"] for m in held]))
    pred_intent = [full_intent(p) for p in parsed]
    pred_emotion = [emotion_label(p) for p in parsed]
    gold_intent = [m["intent"] for m in held]
    gold_emotion = [m["emotion"] for m in held]

    def acc(g: Sequence[str], p: Sequence[str]) -> float:
        return sum(1 for a, b in zip(g, p, strict=True) if a == b) / len(g)

    intent_f1 = f1_scores(gold_intent, pred_intent)
    emotion_f1 = f1_scores(gold_emotion, pred_emotion)
    calm = [i for i, g in enumerate(gold_emotion) if g == "calm"]
    calm_miss = sum(1 for i in calm if pred_emotion[i] != "calm")
    per_source: Dict[str, List[int]] = {}
    for m, g, p in zip(held, gold_intent, pred_intent, strict=True):
        per_source.setdefault(m["source"], []).append(int(g == p))
    report = {
        "model": args.model,
        "messages": len(held),
        "ms_per_message": round(ms, 2),
        "intent": {
            "accuracy": round(acc(gold_intent, pred_intent), 4),
            "macro_f1": round(sum(v["f1"] for v in intent_f1.values()) / len(intent_f1), 4),
            "per_source_accuracy": {
                s: round(sum(v) / len(v), 4) for s, v in sorted(per_source.items())
            },
            "per_intent": {k: {m: round(x, 3) for m, x in v.items()} for k, v in intent_f1.items()},
            "top_confusions": Counter(
                f"{g} -> {p}" for g, p in zip(gold_intent, pred_intent, strict=True) if g != p
            ).most_common(20),
        },
        "emotion": {
            "accuracy": round(acc(gold_emotion, pred_emotion), 4),
            "macro_f1": round(
                sum(emotion_f1[e]["f1"] for e in EMOTIONS if e in emotion_f1) / len(EMOTIONS), 4
            ),
            "calm_scored_not_calm": calm_miss,
            "calm_messages": len(calm),
            "calm_scored_not_calm_share": round(calm_miss / max(1, len(calm)), 4),
            "per_label": {k: {m: round(x, 3) for m, x in v.items()} for k, v in emotion_f1.items()},
            "confusion": {
                g: dict(
                    Counter(p for gg, p in zip(gold_emotion, pred_emotion, strict=True) if gg == g)
                )
                for g in EMOTIONS
            },
        },
        "errors": [
            {"id": m["id"], "text": m["text"], "gold": g, "predicted": p}
            for m, g, p in zip(held, gold_intent, pred_intent, strict=True)
            if g != p
        ],
    }
    if args.json:
        Path(args.json).write_text(
            json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8"
        )
    summary = {k: v for k, v in report.items() if k != "errors"}
    summary["intent"] = {k: v for k, v in report["intent"].items() if k != "per_intent"}
    print(json.dumps(summary, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
