"""Reply time over one long conversation (issue 13, finding 8): does a turn get slower as
the conversation grows?

Starts its own stack on free ports (unless --url is given) with SESSION_MAX_MESSAGES set by
--session-max (0 = no bound, Rasa's behaviour before the fix), plays --messages customer
messages in one conversation and prints the mean reply time per block of 10 messages.

    .venv/bin/python scripts/bench_long_conversation.py --session-max 0    # before
    .venv/bin/python scripts/bench_long_conversation.py                    # after (40)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scenarios import post_message  # noqa: E402
from stack import Stack  # noqa: E402

# A customer who keeps chatting: questions, an order lookup, small talk.
MESSAGES = ["你好", "包邮吗", "快递到哪了", "361204587712340001", "5678", "谢谢", "在吗",
            "退货运费谁出", "能开发票吗", "好的"]


def play(url: str, count: int) -> List[float]:
    sender = f"bench-long-{time.time_ns()}"
    latencies = []
    for index in range(count):
        started = time.perf_counter()
        post_message(url, sender, MESSAGES[index % len(MESSAGES)], timeout=120)
        latencies.append(time.perf_counter() - started)
    return latencies


def report(latencies: List[float]) -> None:
    for start in range(0, len(latencies), 10):
        block = latencies[start:start + 10]
        print(f"messages {start + 1:3d}-{start + len(block):3d}: mean "
              f"{statistics.mean(block) * 1000:6.0f} ms, max {max(block) * 1000:6.0f} ms")
    first, last = latencies[:10], latencies[-10:]
    print(f"first 10 mean {statistics.mean(first) * 1000:.0f} ms, last 10 mean "
          f"{statistics.mean(last) * 1000:.0f} ms")


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="an already running Rasa server")
    parser.add_argument("--messages", type=int, default=150)
    parser.add_argument("--session-max", type=int, default=40)
    args = parser.parse_args(argv)
    if args.url:
        report(play(args.url, args.messages))
        return
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack.isolated(Path(tmp))
        stack.env["SESSION_MAX_MESSAGES"] = str(args.session_max)
        print(f"starting the stack (SESSION_MAX_MESSAGES={args.session_max}) ...", flush=True)
        stack.start(services=("shop", "actions", "rasa"), timeout=900)
        try:
            play(stack.rasa_url, 3)  # warm-up: graph tracing, connections
            report(play(stack.rasa_url, args.messages))
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
