"""CPU per run of the model graph, Rasa's dask runner against ours (components/rasa_fixes.py),
side by side in one process on the trained model (models/shop.tar.gz):

    .venv/bin/python scripts/bench_graph_runner.py [--runs 200] [--rounds 5]

Prints the median milliseconds of CPU per NLU run (one message) and per policy prediction
(a tracker of a verified order lookup)."""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rasa.core.channels.channel import UserMessage  # noqa: E402
from rasa.engine.graph import ExecutionContext  # noqa: E402
from rasa.engine.runner.dask import DaskGraphRunner  # noqa: E402
from rasa.engine.storage.local_model_storage import LocalModelStorage  # noqa: E402
from rasa.shared.core.domain import Domain  # noqa: E402
from rasa.shared.core.events import (  # noqa: E402
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker  # noqa: E402

import components  # noqa: E402,F401  (applies the fixes)
from components import rasa_fixes  # noqa: E402

ORDER = "361204587712340001"
EVENTS = [
    ActionExecuted("action_listen"),
    UserUttered("快递到哪了", {"name": "track_logistics", "confidence": 0.9}),
    ActionExecuted("order_form"), ActiveLoop("order_form"),
    SlotSet("requested_slot", "order_id"), BotUttered("麻烦发一下订单号哦"),
    ActionExecuted("action_listen"),
    UserUttered(ORDER, {"name": "inform", "confidence": 0.9},
                [{"entity": "order_id", "value": ORDER}]),
    ActionExecuted("order_form"), SlotSet("order_id", ORDER),
    SlotSet("requested_slot", "phone_tail"), BotUttered("请告诉我手机号后4位"),
    ActionExecuted("action_listen"),
]


def main(argv: List[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    storage, metadata = LocalModelStorage.from_model_archive(
        Path(tempfile.mkdtemp()), ROOT / "models" / "shop.tar.gz")
    runner = DaskGraphRunner(metadata.predict_schema, storage,
                             ExecutionContext(metadata.predict_schema, metadata.model_id))
    tracker = DialogueStateTracker.from_events("bench", EVENTS,
                                               Domain.load(str(ROOT / "domain.yml")).slots)
    graphs: Dict[str, Callable[[Callable[..., Any]], Any]] = {
        "NLU of one message": lambda run: run(runner, {
            "__message__": [UserMessage("快递到哪了 " + ORDER)], "__tracker__": tracker},
            [metadata.nlu_target]),
        "one policy prediction": lambda run: run(runner, {"__tracker__": tracker},
                                                 [metadata.core_target]),
    }
    runners = {"dask": rasa_fixes._run_with_dask, "in order": rasa_fixes._run_in_order}
    times: Dict[tuple, List[float]] = {}
    for graph in graphs.values():  # warm-up: TensorFlow tracing, the plans
        for run in runners.values():
            for _ in range(20):
                graph(run)
    for _ in range(args.rounds):
        for name, graph in graphs.items():
            for label, run in runners.items():
                started = time.process_time()
                for _ in range(args.runs):
                    graph(run)
                times.setdefault((name, label), []).append(
                    (time.process_time() - started) / args.runs * 1000)
    print(f"{'graph run':<24}{'dask ms':>10}{'in order ms':>14}{'saved':>9}")
    for name in graphs:
        dask_ms = statistics.median(times[(name, "dask")])
        ours = statistics.median(times[(name, "in order")])
        print(f"{name:<24}{dask_ms:>10.2f}{ours:>14.2f}{dask_ms - ours:>9.2f}")


if __name__ == "__main__":
    main()
