"""Side-by-side benchmark: a default `rasa init` bot vs this assistant (single and cluster).

One run, one machine, one asyncio/aiohttp load generator. Every simulated customer plays
multi-turn conversations over the REST webhook with think time between messages; the
figures are messages/s, p50/p95/p99 latency, errors, timeouts and CPU ms per message per
service, then the assistant/baseline ratio. Machines here are shared and their speed varies
by day: only ratios from one run mean anything.

    python scripts/bench.py                       # baseline + single stack, 1 and 50 customers
    python scripts/bench.py --cluster             # ... and the cluster (scripts/cluster.py)
    python scripts/bench.py --floor               # ... and Rasa without machine learning
    python scripts/bench.py --crowd 1000          # only the crowd: 1,000 customers, 10-30 s
                                                  # think time, 2 minutes (--target cluster)
    python scripts/bench.py --url http://...      # an already running assistant
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import aiohttp
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scenarios import identity_metadata, load_scenarios, reply_text  # noqa: E402
from stack import ROOT, VENV_BIN, Stack, _get, free_port  # noqa: E402

EXTRA = Path(__file__).resolve().parent / "bench_scenarios.yml"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "shop-bench"
TIMEOUT = 60.0  # a message unanswered after this is counted as lost (a timeout)


def percentile(values: Sequence[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# --- CPU per service -------------------------------------------------------------------------

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

    def per_message(self, messages: int) -> Dict[str, float]:
        return {name: (cpu_seconds(group) - self.start[name]) * 1000 / max(messages, 1)
                for name, group in self.groups.items()}


# --- the load generator ----------------------------------------------------------------------

@dataclass
class Result:
    label: str
    seconds: float = 0.0
    latencies: List[float] = field(default_factory=list)
    errors: int = 0            # HTTP status other than 200, refused connections
    timeouts: int = 0          # no answer within TIMEOUT: a lost message for the customer
    # Answered, but without the scenario's expected words: scenario name -> count.
    unexpected_by: Counter = field(default_factory=Counter)
    cpu: Dict[str, float] = field(default_factory=dict)
    samples: List[str] = field(default_factory=list)

    @property
    def unexpected(self) -> int:
        return sum(self.unexpected_by.values())

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def ms(self, share: float) -> float:
        return percentile(self.latencies, share) * 1000

    def line(self) -> str:
        cpu = ", ".join(f"{k} {v:.1f}" for k, v in self.cpu.items())
        total = sum(self.cpu.values())
        mean = statistics.mean(self.latencies) * 1000 if self.latencies else float("nan")
        return (f"{self.label:<34} {len(self.latencies):5d} answers {self.rate:6.2f} msg/s  "
                f"p50 {self.ms(.5):6.0f}  p95 {self.ms(.95):6.0f}  p99 {self.ms(.99):6.0f} ms  "
                f"mean {mean:6.0f}  errors {self.errors}  timeouts {self.timeouts}  "
                f"unexpected {self.unexpected}\n{'':<34} CPU ms/msg: {cpu} (total {total:.1f})"
                + (f"\n{'':<34} unexpected by scenario: {dict(self.unexpected_by.most_common())}"
                   if self.unexpected_by else ""))


def photo_url() -> str:
    sys.path.insert(0, str(ROOT / "tests" / "shop"))
    from shop_api_helpers import png  # a tiny real PNG, as the after-sales test sends

    return "data:image/png;base64," + base64.b64encode(png()).decode()


class Load:
    """Customers playing scenarios against one URL until a deadline."""

    def __init__(self, url: str, scenarios: List[Dict[str, Any]], secret: Optional[str],
                 think: Tuple[float, float], timeout: float = TIMEOUT) -> None:
        self.url = url.rstrip("/") + "/webhooks/rest/webhook"
        self.scenarios = scenarios
        self.secret = secret
        self.think = think
        self.timeout = timeout
        self.photo = photo_url()

    async def turn(self, http: aiohttp.ClientSession, sender: str, scenario: Dict[str, Any],
                   turn: Dict[str, Any], result: Result) -> None:
        payload: Dict[str, Any] = {"sender": sender, "message": str(turn["user"])}
        metadata: Dict[str, Any] = {}
        if scenario.get("customer") and self.secret:
            metadata.update(identity_metadata(scenario["customer"], self.secret))
        if turn.get("photo"):
            metadata["attachments"] = [{"type": "image", "url": self.photo}]
        if metadata:
            payload["metadata"] = metadata
        started = time.perf_counter()
        try:
            async with http.post(self.url, json=payload,
                                 timeout=aiohttp.ClientTimeout(total=self.timeout)) as response:
                body = await response.read()
                if response.status != 200:
                    result.errors += 1
                    if len(result.samples) < 3:
                        result.samples.append(f"HTTP {response.status}: {body[:120]!r}")
                    return
                replies = await response.json(content_type=None)
        except asyncio.TimeoutError:
            result.timeouts += 1
            return
        except (aiohttp.ClientError, ValueError) as problem:
            result.errors += 1
            if len(result.samples) < 3:
                result.samples.append(f"{type(problem).__name__}: {problem}")
            return
        result.latencies.append(time.perf_counter() - started)
        text = reply_text(replies)
        if not text.strip() or any(str(word) not in text for word in turn.get("expect") or []):
            result.unexpected_by[scenario["name"]] += 1
            if len(result.samples) < 3:
                result.samples.append(f"{scenario['name']} / {turn['user']!r}: {text[:80]!r}")

    async def customer(self, http: aiohttp.ClientSession, index: int, deadline: float,
                       result: Result, run_id: str) -> None:
        rounds = 0
        # Spread the first messages over one think time (customers do not arrive at once).
        await asyncio.sleep(random.uniform(0, self.think[1]))
        while time.monotonic() < deadline:
            scenario = self.scenarios[(index + rounds) % len(self.scenarios)]
            # Every conversation its own sender; linked customers are told apart by their
            # signed identity, not by the sender id.
            prefix = scenario["sender"].replace("{n}", "").rstrip("-")
            sender = f"{prefix}-{run_id}-{index}-{rounds}"
            rounds += 1
            for turn in scenario["turns"]:
                if time.monotonic() >= deadline:
                    return
                await self.turn(http, sender, scenario, turn, result)
                await asyncio.sleep(random.uniform(*self.think))

    async def run(self, label: str, customers: int, seconds: float,
                  groups: Optional[Dict[str, int]] = None) -> Result:
        result = Result(label)
        connector = aiohttp.TCPConnector(limit=0, force_close=False)
        async with aiohttp.ClientSession(connector=connector) as http:
            meter = CpuMeter(groups or {})
            started = time.monotonic()
            deadline = started + seconds
            run_id = f"b{time.time_ns() % 10**10}"
            await asyncio.gather(*(self.customer(http, i, deadline, result, run_id)
                                   for i in range(customers)))
            result.seconds = time.monotonic() - started
            result.cpu = meter.per_message(len(result.latencies))
        return result

    async def warm_up(self) -> None:
        """First requests pay for TF graph tracing and connections; not measured."""
        result = Result("warm-up")
        async with aiohttp.ClientSession() as http:
            for index, scenario in enumerate(self.scenarios):
                sender = f"warmup-{time.time_ns()}-{index}"
                for turn in scenario["turns"]:
                    await self.turn(http, sender, scenario, turn, result)


# --- the systems under test ------------------------------------------------------------------

def baseline_project() -> Path:
    """A default `rasa init` bot trained with the project's own Rasa, cached per version."""
    import rasa

    folder = CACHE / f"rasa-init-{rasa.__version__}"
    if list((folder / "models").glob("*.tar.gz")):
        return folder
    work = CACHE / f"rasa-init-{rasa.__version__}.building"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    rasa_bin = str(VENV_BIN / "rasa")
    print(f"creating the baseline bot in {work} (rasa init --no-prompt; rasa train) ...",
          flush=True)
    subprocess.run([rasa_bin, "init", "--no-prompt", "--init-dir", str(work)], cwd=work,
                   check=True, stdout=subprocess.DEVNULL)
    if not list((work / "models").glob("*.tar.gz")):
        subprocess.run([rasa_bin, "train"], cwd=work, check=True, stdout=subprocess.DEVNULL)
    shutil.rmtree(folder, ignore_errors=True)
    work.rename(folder)
    return folder


FLOOR_CONFIG = """\
# Rasa with no machine learning: what the server itself costs per message (scripts/bench.py)
recipe: default.v1
language: en
assistant_id: rasa-floor
pipeline:
  - name: WhitespaceTokenizer
  - name: KeywordIntentClassifier
policies:
  - name: MemoizationPolicy
  - name: RulePolicy
"""


def floor_project() -> Path:
    """The `rasa init` bot with a keyword classifier and memoised stories: no network at all.

    Everything a message costs in this bot is Rasa's own handling (channel, tracker, graph,
    policy ensemble, events), so no assistant built on Rasa can spend less per message.
    """
    import rasa

    folder = CACHE / f"rasa-floor-{rasa.__version__}"
    if list((folder / "models").glob("*.tar.gz")):
        return folder
    work = CACHE / f"rasa-floor-{rasa.__version__}.building"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(baseline_project(), work, ignore=shutil.ignore_patterns("models", ".rasa"))
    (work / "config.yml").write_text(FLOOR_CONFIG, encoding="utf-8")
    print(f"creating the Rasa floor bot in {work} (rasa train) ...", flush=True)
    subprocess.run([str(VENV_BIN / "rasa"), "train"], cwd=work, check=True,
                   stdout=subprocess.DEVNULL)
    shutil.rmtree(folder, ignore_errors=True)
    work.rename(folder)
    return folder


class Baseline:
    """`rasa run` of a bot folder on a free port (its own endpoints and config)."""

    def __init__(self, folder: Path, log: Path) -> None:
        self.folder, self.log, self.port = folder, log, free_port()
        self.process: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Baseline:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [str(VENV_BIN / "rasa"), "run", "-i", "127.0.0.1", "--port", str(self.port)],
                cwd=self.folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 900
        while _get(f"{self.url}/") is None:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"the baseline bot did not start; see {self.log}")
            time.sleep(1)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


def assistant_scenarios() -> List[Dict[str, Any]]:
    extra = yaml.safe_load(EXTRA.read_text(encoding="utf-8"))
    return load_scenarios() + extra["conversations"]


def baseline_scenarios() -> List[Dict[str, Any]]:
    return yaml.safe_load(EXTRA.read_text(encoding="utf-8"))["baseline"]


def groups_of(processes: Dict[str, subprocess.Popen]) -> Dict[str, int]:
    return {name: process.pid for name, process in processes.items()}


def measure(load: Load, name: str, groups: Dict[str, int], args: argparse.Namespace
            ) -> List[Result]:
    asyncio.run(load.warm_up())
    results = []
    for customers, seconds in ((1, args.single_seconds), (args.concurrency, args.seconds)):
        label = f"{name}, {customers} customer{'s' if customers > 1 else ''}"
        print(f"  measuring {label} for {seconds:.0f} s ...", flush=True)
        result = asyncio.run(load.run(label, customers, seconds, groups))
        print(result.line(), flush=True)
        for sample in result.samples:
            print("      e.g.", sample)
        results.append(result)
    return results


def table(rows: List[Result], baseline: List[Result]) -> str:
    lines = ["| system | customers | msg/s | p50 ms | p95 ms | p99 ms | errors | timeouts "
             "| CPU ms/msg (total) | msg/s ratio | p50 ratio |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        customers = row.label.rsplit(", ", 1)[1]  # a variant's name may hold commas
        base = next((b for b in baseline if b.label.rsplit(", ", 1)[1] == customers), None)
        ratio = f"{row.rate / base.rate:.2f}" if base and base.rate else "-"
        p50 = f"{row.ms(.5) / base.ms(.5):.2f}" if base and base.latencies else "-"
        name = row.label.rsplit(", ", 1)[0]
        lines.append(f"| {name} | {customers.split()[0]} | {row.rate:.2f} | {row.ms(.5):.0f} "
                     f"| {row.ms(.95):.0f} | {row.ms(.99):.0f} | {row.errors} | {row.timeouts} "
                     f"| {sum(row.cpu.values()):.1f} | {ratio} | {p50} |")
    return "\n".join(lines)


def crowd(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        system, url, groups, secret = start_target(args.target, Path(tmp))
        with system:
            load = Load(url, assistant_scenarios(), secret, (10.0, 30.0), timeout=TIMEOUT)
            asyncio.run(load.warm_up())
            label = f"crowd ({args.target}), {args.crowd} customers"
            print(f"  {label}, think time 10-30 s, {args.crowd_seconds:.0f} s ...", flush=True)
            result = asyncio.run(load.run(label, args.crowd, args.crowd_seconds, groups(system)))
            print(result.line())
            for sample in result.samples:
                print("      e.g.", sample)
            print(f"  answers {len(result.latencies)}, errors {result.errors}, "
                  f"lost (timeouts after {TIMEOUT:.0f} s) {result.timeouts}, "
                  f"p95 {result.ms(.95):.0f} ms")


def start_target(target: str, folder: Path, env: Optional[Dict[str, str]] = None
                 ) -> Tuple[Any, str, Any, Optional[str]]:
    if target == "cluster":
        from cluster import Cluster

        cluster = Cluster.isolated(folder / "cluster", name=f"bench{os.getpid()}")
        print("starting the cluster ...", flush=True)
        return _Dropping(cluster), cluster.rasa_url, lambda s: groups_of(s.inner.processes), \
            cluster.env["CHANNEL_IDENTITY_SECRET"]
    stack = Stack.isolated(folder)
    # 「wrong phone tail reveals nothing」 plays a wrong tail for the same order in every
    # round: the shop's lockout (5 per order; tests/shop/test_security.py) would lock it after
    # a few rounds and change the answer the scenario expects.
    stack.env.update({"SHOP_VERIFY_MAX_FAILURES": "1000000",
                      "SHOP_VERIFY_MAX_CLIENT_FAILURES": "1000000"})
    stack.env.update(env or {})
    print(f"starting the single stack {env or ''} ...", flush=True)
    return _Patient(stack), stack.rasa_url, lambda s: groups_of(s.inner.processes), \
        stack.env["CHANNEL_IDENTITY_SECRET"]


class _Patient:
    """A stack given 20 minutes to start (a loaded shared machine took more than 10)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __enter__(self) -> Any:
        self.inner.start(timeout=1200)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.inner.stop()


class _Dropping:
    """A cluster that drops its benchmark databases when it stops."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __enter__(self) -> Any:
        self.inner.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.inner.stop()
        self.inner.drop_databases()
        self.inner.drop_broker()


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="an already running assistant (no baseline)")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60, help="per concurrent phase")
    parser.add_argument("--single-seconds", type=float, default=30)
    parser.add_argument("--think", type=float, nargs=2, default=(0.5, 1.5),
                        metavar=("MIN", "MAX"), help="think time between messages, seconds")
    parser.add_argument("--cluster", action="store_true", help="also measure the cluster")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--floor", action="store_true",
                        help="also measure the rasa init bot without machine learning "
                             "(keyword intents, memoised stories): Rasa's own cost per message")
    parser.add_argument("--crowd", type=int, help="only the crowd test with N customers")
    parser.add_argument("--crowd-seconds", type=float, default=120)
    parser.add_argument("--target", choices=("single", "cluster"), default="single")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME:VAR=VALUE,...",
                        help="also measure the single stack with these settings, e.g. "
                             "'plain SQL tracker store:TRACKER_STORE_TYPE=SQL'")
    args = parser.parse_args(argv)
    think = tuple(args.think)
    if args.crowd:
        crowd(args)
        return
    if args.url:
        measure(Load(args.url, assistant_scenarios(), os.environ.get("CHANNEL_IDENTITY_SECRET"),
                     think), "assistant", {}, args)
        return
    rows: List[Result] = []
    baseline: List[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        if not args.no_baseline:
            project = baseline_project()
            print(f"baseline: the default rasa init bot in {project}", flush=True)
            with Baseline(project, Path(tmp) / "baseline.log") as bot:
                load = Load(bot.url, baseline_scenarios(), None, think)
                baseline = measure(load, "rasa init bot",
                                   {"rasa": bot.process.pid} if bot.process else {}, args)
        if args.floor:
            project = floor_project()
            print(f"floor: the rasa init bot without machine learning in {project}", flush=True)
            with Baseline(project, Path(tmp) / "floor.log") as bot:
                load = Load(bot.url, baseline_scenarios(), None, think)
                rows += measure(load, "Rasa floor (no ML)",
                                {"rasa": bot.process.pid} if bot.process else {}, args)
        targets = ["single", "cluster"] if args.cluster else ["single"]
        for target in targets:
            system, url, groups, secret = start_target(target, Path(tmp) / target)
            with system:
                name = "assistant" if target == "single" else "assistant cluster (2+2)"
                rows += measure(Load(url, assistant_scenarios(), secret, think), name,
                                groups(system), args)
        for index, variant in enumerate(args.variant):
            name, _, settings = variant.partition(":")
            env = dict(pair.split("=", 1) for pair in settings.split(",") if pair)
            system, url, groups, secret = start_target("single", Path(tmp) / f"v{index}", env)
            with system:
                rows += measure(Load(url, assistant_scenarios(), secret, think),
                                f"assistant ({name})", groups(system), args)
    print(f"\nthink time {think[0]}-{think[1]} s; {args.single_seconds:.0f} s with 1 customer, "
          f"{args.seconds:.0f} s with {args.concurrency}; timeouts after {TIMEOUT:.0f} s\n")
    print(table(baseline + rows, baseline))


if __name__ == "__main__":
    main()
