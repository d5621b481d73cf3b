"""CPU of Rasa's side of a customer message, variants of our Rasa fixes side by side in one
process, against the real action server and demo shop:

    .venv/bin/python scripts/bench_rasa_turns.py [--rounds 5] [--passes 1]
    .venv/bin/python scripts/bench_rasa_turns.py --profile   # where the current code's CPU goes
    .venv/bin/python scripts/bench_rasa_turns.py --only "fix 7,fix 8" --passes 3  # two of them

Starts the shop and the action server on free ports (scripts/stack.py), loads the trained
model in this process with the project's endpoints (the caching SQL tracker store on a
temporary SQLite file, in-memory locks, the brand NLG, no event broker), then alternates
rounds in which every variant plays the benchmark's conversations (tests/scenarios/
conversations.yml and scripts/bench_scenarios.yml, each on a new sender). Prints the median
CPU milliseconds of this process per customer message: what one Rasa worker spends, without
the HTTP channel, the action server or the shop (whose CPU is printed beside it).

The whole-stack benchmark (scripts/bench.py) runs every service on the same two cores, so a
change of a few per cent of Rasa's CPU is within its run-to-run spread; this one is not.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import cProfile
import dataclasses
import itertools
import logging
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import rasa.shared.core.trackers as trackers  # noqa: E402
from bench import assistant_scenarios  # noqa: E402
from bench_action_calls import print_medians, process_cpu  # noqa: E402
from rasa.core.actions.action import RemoteAction  # noqa: E402
from rasa.core.actions.forms import FormAction  # noqa: E402
from rasa.core.agent import load_agent  # noqa: E402
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage  # noqa: E402
from rasa.core.utils import AvailableEndpoints  # noqa: E402
from rasa.shared.core.events import Event  # noqa: E402
from rasa.utils.log_utils import configure_structlog  # noqa: E402
from stack import Stack  # noqa: E402

import components  # noqa: E402,F401  (applies the fixes)
from components import rasa_fixes  # noqa: E402
from service_common.http import close_pooled_sessions  # noqa: E402

_counter = itertools.count()


def rasas_states(domain: Any, tracker: Any, omit_unset_slots: bool,
                 ignore_rule_only_turns: bool, rule_only_data: Any) -> Any:
    return rasa_fixes._states_for_tracker_history(domain, tracker, omit_unset_slots,
                                                  ignore_rule_only_turns, rule_only_data)


def variant(resumed_states: bool, plain_copy: bool, lean_domain: bool,
            lookups: bool = False) -> Callable[[], None]:
    def apply() -> None:
        rasa_fixes._resumed_states = RESUMED if resumed_states else rasas_states
        trackers.copy = rasa_fixes._CopyModule() if plain_copy else copy  # type: ignore
        RemoteAction._action_call_format = rasa_fixes._action_call_without_responses \
            if lean_domain else rasa_fixes._action_call_format
        Event.resolve_by_type = staticmethod(rasa_fixes._resolved_event_type if lookups
                                             else rasa_fixes._resolve_by_type)
        trackers.dataclasses = rasa_fixes._DataclassesModule() if lookups \
            else dataclasses  # type: ignore
        FormAction.entity_mapping_is_unique = rasa_fixes._entity_mapping_is_unique \
            if lookups else RASAS_UNIQUE_CHECK
    return apply


RESUMED = rasa_fixes._resumed_states
RASAS_UNIQUE_CHECK = rasa_fixes._rasas_entity_mapping_is_unique
VARIANTS = {
    "before 2026-12-07 (fixes 1-5)": variant(False, False, False),
    "states resumed as the tracker grows (fix 2)": variant(True, False, False),
    "... and slots copied without __reduce_ex__ (fix 6)": variant(True, True, False),
    "... and the domain without responses in action calls (fix 7)": variant(True, True, True),
    "... and Rasa's repeated lookups remembered (fix 8)": variant(True, True, True, True),
}


async def play(agent: Any, scenarios: List[Dict[str, Any]]) -> int:
    """Every conversation once, each on a new sender; the number of messages sent."""
    sent = 0
    for scenario in scenarios:
        sender = scenario["sender"].format(n=f"turns-{next(_counter)}")
        customer = scenario.get("customer")
        metadata = {"identity": {"customer_id": customer, "verified": True}} \
            if customer else {}
        for turn in scenario["turns"]:
            await agent.handle_message(UserMessage(str(turn["user"]), CollectingOutputChannel(),
                                                   sender, metadata=metadata))
            sent += 1
    return sent


async def run(args: argparse.Namespace, stack: Stack) -> Dict[str, List[Tuple[float, float]]]:
    endpoints = AvailableEndpoints.read_endpoints(str(ROOT / "endpoints.yml"))
    endpoints.event_broker = None
    agent = await load_agent(model_path=str(ROOT / "models" / "shop.tar.gz"),
                             endpoints=endpoints)
    scenarios = assistant_scenarios() * args.passes
    servers = [stack.processes[name].pid for name in ("actions", "shop")]
    await play(agent, scenarios)  # warm up
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        sent = await play(agent, scenarios)
        profiler.disable()
        print(f"cProfile of {sent} customer messages (the current code), cumulative:")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
        await close_pooled_sessions()
        return {}
    chosen = {name: apply for name, apply in VARIANTS.items()
              if not args.only or any(part in name for part in args.only.split(","))}
    figures: Dict[str, List[Tuple[float, float]]] = {name: [] for name in chosen}
    for _ in range(args.rounds):
        for name, apply in chosen.items():
            apply()
            mine, theirs = time.process_time(), sum(map(process_cpu, servers))
            sent = await play(agent, scenarios)
            figures[name].append(((time.process_time() - mine) * 1000 / sent,
                                  (sum(map(process_cpu, servers)) - theirs) * 1000 / sent))
    VARIANTS[list(VARIANTS)[-1]]()
    await close_pooled_sessions()
    return figures


def main(argv: List[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true",
                        help="profile one pass of the current code instead")
    parser.add_argument("--only", default="", help="comma-separated parts of the variants' "
                        "names to run (default: all)")
    parser.add_argument("--passes", type=int, default=1, help="conversations per round: "
                        "the benchmark's scenarios this many times")
    args = parser.parse_args(argv)
    # As `rasa run` logs by default: no debug lines (their formatting would be measured).
    logging.basicConfig(level=logging.INFO)
    logging.getLogger("rasa").setLevel(logging.INFO)
    configure_structlog(logging.INFO)
    with tempfile.TemporaryDirectory() as folder:
        stack = Stack.isolated(Path(folder))
        stack.start(services=("shop", "actions"))
        os.environ.update({key: stack.env[key] for key in (
            "ACTION_ENDPOINT_URL", "ACTIONS_TOKEN", "TRACKER_STORE_URL", "SHOP_API_URL")})
        for key, value in stack.env.items():
            os.environ.setdefault(key, value)
        try:
            figures = asyncio.run(run(args, stack))
        finally:
            stack.stop()
    if args.profile:
        return
    print_medians(f"CPU ms per customer message, median of {args.rounds} rounds:",
                  "variant | Rasa (this process) | action server + shop", figures)


if __name__ == "__main__":
    main()
