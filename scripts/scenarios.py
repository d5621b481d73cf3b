"""Load and play the shared conversation scenarios (tests/scenarios) over the REST webhook."""

from __future__ import annotations

import itertools
import json
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

SCENARIOS = Path(__file__).resolve().parent.parent / "tests" / "scenarios" / "conversations.yml"
_counter = itertools.count(1)


def load_scenarios(path: Path = SCENARIOS) -> List[Dict[str, Any]]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["conversations"]


def post_message(rasa_url: str, sender: str, text: str, timeout: float = 30) -> List[dict]:
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(
        f"{rasa_url}/webhooks/rest/webhook", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def reply_text(replies: List[dict]) -> str:
    parts = []
    for reply in replies:
        parts.append(reply.get("text") or "")
        parts += [button.get("title", "") for button in reply.get("buttons", [])]
    return "\n".join(parts)


def play(rasa_url: str, scenario: Dict[str, Any], run_id: Optional[str] = None,
         latencies: Optional[List[float]] = None) -> List[str]:
    """Play one conversation; returns a list of problems (empty when all turns matched)."""
    sender = scenario["sender"].format(n=f"{run_id or time.time_ns()}-{next(_counter)}")
    problems = []
    for turn in scenario["turns"]:
        started = time.perf_counter()
        text = reply_text(post_message(rasa_url, sender, str(turn["user"])))
        if latencies is not None:
            latencies.append(time.perf_counter() - started)
        missing = [str(word) for word in turn.get("expect", []) if str(word) not in text]
        leaked = [str(word) for word in turn.get("forbid", []) if str(word) in text]
        if missing or leaked:
            problems.append(f"{scenario['name']} / {turn['user']!r}: missing {missing}, "
                            f"leaked {leaked}; bot said {text!r}")
    return problems
