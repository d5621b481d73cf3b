"""Time each node of the trained model's graph: NLU per message, policies per prediction.

    .venv/bin/python scripts/profile_nodes.py [models/shop.tar.gz]

Loads the model in-process (no servers), parses a mix of short messages, then 500 real
customer messages (the real *training* messages of data/nlu/real_customers*.yml: long,
several sentences), predicts the next action for a tracker, and prints the mean
milliseconds per graph node. For the multi-question detector it also prints sklearn's
`predict_proba` on the same sentences, which the detector used before 2026-12-06.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import sys
import time
from pathlib import Path

import rasa.engine.graph as graph

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MESSAGES = ["快递到哪了", "361204587712340001", "5678", "谢谢", "这件衣服什么材质", "有优惠券吗",
            "你们发什么快递", "在吗", "我要退货", "身高175体重140斤穿什么码"]
totals: collections.Counter = collections.Counter()
_call = graph.GraphNode.__call__


def _timed(self: graph.GraphNode, *inputs):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    try:
        return _call(self, *inputs)
    finally:
        totals[self._node_name] += time.perf_counter() - started


def real_messages(limit: int = 500) -> list:
    from real_eval import nlu_examples

    texts = [text for path in sorted((ROOT / "data" / "nlu").glob("real_customers*.yml"))
             for text, _ in nlu_examples(path)]
    return texts[::max(len(texts) // limit, 1)][:limit]


def multi_question_baseline(agent, texts: list) -> None:  # type: ignore[no-untyped-def]
    """The detector's probabilities for every sentence of `texts`: its scorer against
    sklearn's `predict_proba`, the same model."""
    from components.multi_question import MultiQuestionDetector, sentences

    detector = next(node._component for node in agent.processor.graph_runner._instantiated_nodes
                    .values() if isinstance(getattr(node, "_component", None),
                                            MultiQuestionDetector))
    model = detector._model
    several = [parts for parts in map(sentences, texts) if len(parts) > 1]
    for label, score in (
            ("scorer", lambda parts: [detector.probabilities(part) for part in parts]),
            ("sklearn predict_proba", lambda parts: model["classifier"].predict_proba(
                model["vectorizer"].transform(parts)))):
        started = time.perf_counter()
        for parts in several:
            score(parts)
        spent = (time.perf_counter() - started) * 1000
        print(f"    multi-question probabilities, {label:22s} {spent / len(texts):6.2f} ms per "
              f"real message ({len(several)} of {len(texts)} have several sentences)")


def show(label: str, count: int, seconds: float) -> None:
    print(f"{label}: {seconds / count * 1000:.2f} ms")
    for node, spent in totals.most_common(6):
        print(f"    {node:58s} {spent / count * 1000:6.2f} ms")
    totals.clear()


async def main(model: str) -> None:
    from rasa.core.agent import Agent
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # the policies' debug lines would drown the figures
    graph.GraphNode.__call__ = _timed  # type: ignore[method-assign]
    agent = Agent.load(model)
    for text in MESSAGES:  # warm-up
        await agent.parse_message(text)
    totals.clear()
    rounds, started = 20, time.perf_counter()
    for _ in range(rounds):
        for text in MESSAGES:
            await agent.parse_message(text)
    show("NLU per message", rounds * len(MESSAGES), time.perf_counter() - started)
    texts = real_messages()
    started = time.perf_counter()
    for text in texts:
        await agent.parse_message(text)
    show("NLU per real message", len(texts), time.perf_counter() - started)
    multi_question_baseline(agent, texts)
    tracker = DialogueStateTracker.from_events(
        "profile", [ActionExecuted("action_listen")], slots=agent.domain.slots)
    parsed = await agent.parse_message("快递到哪了")
    tracker.update(UserUttered("快递到哪了", parsed["intent"], parsed["entities"], parsed))
    started = time.perf_counter()
    for _ in range(100):
        agent.processor._predict_next_with_tracker(tracker)
    show("policies per prediction", 100, time.perf_counter() - started)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "models" / "shop.tar.gz")))
