"""Benchmark the running assistant over the REST webhook with the shared scenarios.

Starts its own stack on free ports with fresh databases (unless --url is given), then
plays multi-turn conversations (order form, actions, backend calls) sequentially and
with N concurrent conversations, printing messages/s and p50/p95/p99 latency.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scenarios import load_scenarios, play  # noqa: E402
from stack import Stack  # noqa: E402


def percentile(values: List[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(label: str, latencies: List[float], seconds: float, problems: List[str]) -> None:
    ms = [value * 1000 for value in latencies]
    print(f"{label:<28} {len(ms):5d} msgs  {len(ms) / seconds:7.1f} msg/s  "
          f"p50 {percentile(ms, .5):6.0f} ms  p95 {percentile(ms, .95):6.0f} ms  "
          f"p99 {percentile(ms, .99):6.0f} ms  mean {statistics.mean(ms):6.0f} ms  "
          f"failed turns {len(problems)}")
    for problem in problems[:3]:
        print("   ", problem)


def cpu_seconds(group: int) -> float:
    """CPU time (user + system) of every process in a process group, from /proc."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:  # fields[2] is the process group id
            total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU milliseconds per message spent by each service (where to optimise)."""

    def __init__(self, groups: Dict[str, int]):
        self.groups = groups
        self.start = {name: cpu_seconds(group) for name, group in groups.items()}

    def report(self, messages: int) -> None:
        used = {name: (cpu_seconds(group) - self.start[name]) * 1000 / max(messages, 1)
                for name, group in self.groups.items()}
        parts = ", ".join(f"{name} {ms:.0f} ms" for name, ms in used.items())
        print(f"    CPU per message: {parts} (total {sum(used.values()):.0f} ms)")


def run(url: str, conversations: int, concurrency: int,
        groups: Optional[Dict[str, int]] = None, secret: Optional[str] = None) -> None:
    # A fixed sender (a linked demo customer) is one conversation: Rasa serialises its
    # messages, so only scenarios with a per-run sender can be played in parallel.
    scenarios = [scenario for scenario in load_scenarios() if "{n}" in scenario["sender"]]
    # Warm-up: first requests pay for TF graph tracing and connection set-up.
    for scenario in scenarios:
        play(url, scenario, run_id="warmup", secret=secret)

    run_id = f"bench{time.time_ns()}"  # fresh conversations on every run
    latencies: List[float] = []
    problems: List[str] = []
    meter = CpuMeter(groups or {})
    started = time.perf_counter()
    for index in range(conversations):
        problems += play(url, scenarios[index % len(scenarios)], f"{run_id}s", latencies,
                         secret=secret)
    report("sequential", latencies, time.perf_counter() - started, problems)
    meter.report(len(latencies))

    latencies, problems = [], []

    def one(index: int) -> List[str]:
        return play(url, scenarios[index % len(scenarios)], f"{run_id}c", latencies,
                    secret=secret)

    meter = CpuMeter(groups or {})
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for result in pool.map(one, range(conversations * 2)):
            problems += result
    report(f"{concurrency} concurrent conversations", latencies,
           time.perf_counter() - started, problems)
    meter.report(len(latencies))


def run_replay(url: str, sample: Optional[int], concurrency: int,
               groups: Optional[Dict[str, int]] = None) -> None:
    """Real sessions (tests/replay/sessions.yml) instead of the scripted scenarios:
    latency on real, messy messages, and the loop share (scripts/replay.py)."""
    from replay import load_sessions, replay, summarise

    sessions = load_sessions(sample=sample)
    for session in sessions[:5]:
        replay(url, session, "warmup")
    run_id = f"bench{time.time_ns()}"
    meter = CpuMeter(groups or {})
    started = time.perf_counter()
    results = [replay(url, session, f"{run_id}s") for session in sessions]
    latencies = [value for result in results for value in result.latencies]
    report("replay, sequential", latencies, time.perf_counter() - started, [])
    meter.report(len(latencies))
    print("    " + "\n    ".join(summarise(results).lines()))
    meter = CpuMeter(groups or {})
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(lambda session: replay(url, session, f"{run_id}c"), sessions))
    latencies = [value for result in results for value in result.latencies]
    report(f"replay, {concurrency} concurrent", latencies, time.perf_counter() - started, [])
    meter.report(len(latencies))


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", help="an already running Rasa server, e.g. http://127.0.0.1:5005")
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--replay", action="store_true",
                        help="play the real sessions of tests/replay/sessions.yml instead")
    parser.add_argument("--sample", type=int, help="with --replay: this many sessions")
    args = parser.parse_args(argv)
    if args.url:
        if args.replay:
            run_replay(args.url, args.sample, args.concurrency)
        else:
            run(args.url, args.conversations, args.concurrency)
        return
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack.isolated(Path(tmp))
        print("starting the stack ...", flush=True)
        with stack:
            groups = {name: process.pid for name, process in stack.processes.items()}
            if args.replay:
                run_replay(stack.rasa_url, args.sample, args.concurrency, groups)
            else:
                run(stack.rasa_url, args.conversations, args.concurrency, groups,
                    stack.env["CHANNEL_IDENTITY_SECRET"])


if __name__ == "__main__":
    main()
