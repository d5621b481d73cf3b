"""Replay real multi-turn customer sessions against a running assistant and measure loops.

Each session of tests/replay/sessions.yml (customer turns of real shop chats, from the
held-out side of the real split) is sent turn by turn over the REST webhook as an
anonymous customer. Reported:

- loop share: sessions where one bot text is part of the replies to 3 or more customer
  messages in a row (the issue's measure; at most 10 % allowed);
- request loops: sessions where the same *request* (a text asking the customer for
  something: 订单号, 手机尾号, 商品...) is sent 3 or more times in a row (never allowed);
- the share of turns answered only with a clarification or "not understood"/out of scope;
- handoffs (after a handoff the bot is silent, so later turns get no reply), and with the
  Rasa API token the escalation rule of each (from the tracker's `outcome` events).

    .venv/bin/python scripts/replay.py                  # starts its own stack
    .venv/bin/python scripts/replay.py --url http://127.0.0.1:5005 --token T --sample 40
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scenarios import post_message  # noqa: E402

SESSIONS = Path(__file__).resolve().parent.parent / "tests" / "replay" / "sessions.yml"
LOOP_RUN = 3  # the same text in the replies to this many customer messages in a row
# A reply that asks the customer for something (what a loop of requests repeats).
REQUEST_MARKS = ("?", "？", "麻烦发", "请发", "请告诉", "请问", "发一下", "点选", "告诉我")
CLARIFY_MARKS = ("我想确认一下", "没太理解", "暂时回答不了")
HANDOFF_MARKS = ("转接人工客服", "人工客服系统暂时连接不上", "已为您登记工单")


def load_sessions(path: Path = SESSIONS, sample: Optional[int] = None) -> List[Dict[str, Any]]:
    sessions = yaml.safe_load(path.read_text(encoding="utf-8"))["sessions"]
    if sample and sample < len(sessions):
        step = len(sessions) / sample  # spread over the file: both sources, all topics
        sessions = [sessions[int(index * step)] for index in range(sample)]
    return sessions


@dataclass
class Replayed:
    id: str
    turns: List[str]
    replies: List[List[str]]  # bot texts per customer turn
    latencies: List[float] = field(default_factory=list)
    handoff_rule: Optional[str] = None  # the escalation rule, when the tracker was read

    def longest_run(self, requests_only: bool = False) -> tuple:
        """(the most consecutive customer turns whose replies share one text, that text)."""
        best, best_text = 0, ""
        runs: Dict[str, int] = {}
        for replies in self.replies:
            texts = {text for text in replies
                     if not requests_only or any(mark in text for mark in REQUEST_MARKS)}
            runs = {text: runs.get(text, 0) + 1 for text in texts}
            for text, run in runs.items():
                if run > best:
                    best, best_text = run, text
        return best, best_text

    @property
    def loops(self) -> bool:
        return self.longest_run()[0] >= LOOP_RUN

    @property
    def request_loops(self) -> bool:
        return self.longest_run(requests_only=True)[0] >= LOOP_RUN

    @property
    def clarified_turns(self) -> int:
        return sum(bool(replies) and all(any(mark in text for mark in CLARIFY_MARKS)
                                         for text in replies) for replies in self.replies)

    @property
    def handed_over(self) -> bool:
        return any(mark in text for replies in self.replies for text in replies
                   for mark in HANDOFF_MARKS)


def handoff_rule(rasa_url: str, sender: str, token: str) -> Optional[str]:
    """The escalation rule of the conversation's last handoff, from the tracker's `outcome`
    events (actions/outcomes.py: a handoff, or the desk being down, names its rule)."""
    url = (f"{rasa_url}/conversations/{urllib.parse.quote(sender)}/tracker?"
           + urllib.parse.urlencode({"token": token, "include_events": "ALL"}))
    with urllib.request.urlopen(url, timeout=60) as response:
        events = json.loads(response.read()).get("events") or []
    rules = [event["value"].get("reason") for event in events
             if event.get("event") == "slot" and event.get("name") == "outcome"
             and isinstance(event.get("value"), dict)
             and (str(event["value"].get("operation")).startswith("handoff:")
                  or event["value"].get("operation") == "desk_unavailable")]
    return rules[-1] if rules else None


def replay(rasa_url: str, session: Dict[str, Any], run_id: str,
           token: Optional[str] = None) -> Replayed:
    """`token`: the Rasa API token, to read which rule handed the session over."""
    sender = f"replay-{run_id}-{session['id']}"
    result = Replayed(session["id"], [], [])
    for turn in session["turns"]:
        text = str(turn["text"])
        started = time.perf_counter()
        replies = post_message(rasa_url, sender, text, timeout=60)
        result.latencies.append(time.perf_counter() - started)
        result.turns.append(text)
        result.replies.append([reply.get("text") or "" for reply in replies
                               if reply.get("text")])
    if token and result.handed_over:
        result.handoff_rule = handoff_rule(rasa_url, sender, token)
    return result


@dataclass
class Summary:
    sessions: int
    turns: int
    loop_share: float
    request_loop_share: float
    clarified_share: float
    handoff_share: float
    looping: List[Replayed]
    handoff_rules: Counter = field(default_factory=Counter)

    def lines(self) -> List[str]:
        out = [f"replayed {self.sessions} real sessions ({self.turns} customer turns)",
               f"loop share (a bot text in replies to {LOOP_RUN}+ turns in a row): "
               f"{self.loop_share:.1%}",
               f"request loops (the same request {LOOP_RUN}+ times in a row): "
               f"{self.request_loop_share:.1%}",
               f"turns answered only with a clarification/fallback: {self.clarified_share:.1%}",
               f"sessions handed to a human: {self.handoff_share:.1%}"]
        if self.handoff_rules:
            out.append("  by rule: " + ", ".join(
                f"{rule} {count}" for rule, count in self.handoff_rules.most_common()))
        for session in self.looping[:5]:
            run, text = session.longest_run()
            out.append(f"  loop in {session.id}: {run}x {text[:60]!r}")
        return out


def summarise(results: List[Replayed]) -> Summary:
    turns = sum(len(result.turns) for result in results) or 1
    count = len(results) or 1
    looping = [result for result in results if result.loops]
    handed_over = [result for result in results if result.handed_over]
    return Summary(len(results), turns, len(looping) / count,
                   sum(result.request_loops for result in results) / count,
                   sum(result.clarified_turns for result in results) / turns,
                   len(handed_over) / count, looping,
                   Counter(result.handoff_rule for result in handed_over
                           if result.handoff_rule))


def run(url: str, sample: Optional[int], token: Optional[str] = None) -> Summary:
    run_id = str(time.time_ns())
    results = [replay(url, session, run_id, token) for session in load_sessions(sample=sample)]
    summary = summarise(results)
    print("\n".join(summary.lines()), flush=True)
    return summary


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running Rasa server; default: start a stack")
    parser.add_argument("--sample", type=int, help="replay this many sessions (spread)")
    parser.add_argument("--token", help="the Rasa API token of --url (handoff rules)")
    args = parser.parse_args(argv)
    if args.url:
        run(args.url, args.sample, args.token)
        return
    from stack import Stack, rules_with_office_days

    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack.isolated(Path(tmp))
        # The desk open whatever the hour: after hours a handoff leaves the bot answering the
        # session's later turns, and the figures would depend on the clock.
        stack.env["ESCALATION_RULES"] = str(rules_with_office_days(Path(tmp), all_days=True))
        stack.start(timeout=900)  # loading the model takes minutes on a busy machine
        try:
            run(stack.rasa_url, args.sample, stack.env["RASA_API_TOKEN"])
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
