"""CPU per custom action call, Rasa 3.6's own connection handling against ours
(components/rasa_fixes.py, fix 4: pooled connections, the domain's JSON written once), side by
side in one process, against the real action server and demo shop:

    .venv/bin/python scripts/bench_action_calls.py [--calls 300] [--rounds 5]

Starts the shop and the action server on free ports (scripts/stack.py), then alternates
rounds of `validate_order_form` calls (the form validation that carries the domain, run on
most customer messages) made by RemoteAction as Rasa makes them. Prints the median CPU
milliseconds per call of this process (Rasa's side) and of the action server.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import rasa.utils.endpoints  # noqa: E402
from rasa.core.actions.action import RemoteAction  # noqa: E402
from rasa.core.channels.channel import CollectingOutputChannel  # noqa: E402
from rasa.core.nlg import TemplatedNaturalLanguageGenerator  # noqa: E402
from rasa.shared.core.domain import Domain  # noqa: E402
from rasa.shared.core.events import ActionExecuted, UserUttered  # noqa: E402
from rasa.shared.core.trackers import DialogueStateTracker  # noqa: E402
from rasa.utils.endpoints import EndpointConfig  # noqa: E402
from stack import Stack  # noqa: E402

import components  # noqa: E402,F401  (applies the fixes)
from service_common.http import close_pooled_sessions  # noqa: E402


def rasas_own_session() -> Callable[..., Any]:
    """EndpointConfig.session as Rasa 3.6 ships it: a fresh copy of its module."""
    spec = importlib.util.spec_from_file_location("rasa_endpoints_unpatched",
                                                  rasa.utils.endpoints.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.EndpointConfig.session


def process_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def calls(domain: Domain, url: str, token: str, count: int) -> None:
    endpoint = EndpointConfig(url, headers={"X-Actions-Token": token},
                              enable_selective_domain=True)
    nlg = TemplatedNaturalLanguageGenerator(domain.responses)
    for number in range(count):
        tracker = DialogueStateTracker.from_events(f"bench-{number}", [
            ActionExecuted("action_listen"),
            UserUttered("我的订单到哪了", {"name": "track_logistics", "confidence": 0.9}),
        ], domain.slots)
        await RemoteAction("validate_order_form", endpoint).run(
            CollectingOutputChannel(), nlg, tracker, domain)
    await close_pooled_sessions()


def main(argv: List[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    domain = Domain.load(str(ROOT / "domain.yml"))
    variants = {"Rasa 3.6 (a new connection per call)": rasas_own_session(),
                "pooled connections, domain text reused": EndpointConfig.session}
    with tempfile.TemporaryDirectory() as folder:
        stack = Stack.isolated(Path(folder))
        stack.start(services=("shop", "actions"))
        try:
            url, token = stack.env["ACTION_ENDPOINT_URL"], stack.env["ACTIONS_TOKEN"]
            server = stack.processes["actions"].pid
            asyncio.run(calls(domain, url, token, 20))  # warm both sides up
            figures: Dict[str, List[tuple]] = {name: [] for name in variants}
            for _ in range(args.rounds):
                for name, session in variants.items():
                    EndpointConfig.session = session
                    mine, theirs = time.process_time(), process_cpu(server)
                    asyncio.run(calls(domain, url, token, args.calls))
                    figures[name].append(((time.process_time() - mine) * 1000 / args.calls,
                                          (process_cpu(server) - theirs) * 1000 / args.calls))
        finally:
            stack.stop()
    print_medians(f"CPU ms per validate_order_form call, median of {args.rounds} rounds "
                  f"of {args.calls} calls:", "calls made by | Rasa's side | action server",
                  figures)


def print_medians(title: str, columns: str, figures: Dict[str, List[tuple]]) -> None:
    """A Markdown table: each variant's median of every column of its rounds."""
    print(title)
    print(f"| {columns} |\n|---|---|---|")
    for name, rows in figures.items():
        print(f"| {name} | {statistics.median(r[0] for r in rows):.2f} "
              f"| {statistics.median(r[1] for r in rows):.2f} |")


if __name__ == "__main__":
    main()
