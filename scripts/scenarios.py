"""Load and play the shared conversation scenarios (tests/scenarios) over the REST webhook."""

from __future__ import annotations

import itertools
import json
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from channels.identity import sign_identity  # noqa: E402

SCENARIOS = Path(__file__).resolve().parent.parent / "tests" / "scenarios" / "conversations.yml"
_counter = itertools.count(1)


def load_scenarios(path: Path = SCENARIOS) -> List[Dict[str, Any]]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["conversations"]


def identity_metadata(customer_id: str, secret: str) -> Dict[str, str]:
    """What the shop's site adds to a logged-in customer's messages: a signed identity
    (channels.identity) the channel verifies; a bare sender id links nobody."""
    return {"identity_token": sign_identity({"customer_id": customer_id}, secret)}


def post_message(rasa_url: str, sender: str, text: str, timeout: float = 30,
                 metadata: Optional[Dict[str, Any]] = None,
                 since: Optional[float] = None) -> List[dict]:
    payload: Dict[str, Any] = {"sender": sender, "message": text}
    if metadata:
        payload["metadata"] = metadata
    if since is not None:
        payload["since"] = since
    body = json.dumps(payload).encode()
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
         latencies: Optional[List[float]] = None, secret: Optional[str] = None) -> List[str]:
    """Play one conversation; returns a list of problems (empty when all turns matched).
    A scenario's `customer` is the logged-in shop customer: its messages carry an identity
    signed with `secret` (the installation's CHANNEL_IDENTITY_SECRET)."""
    sender = scenario["sender"].format(n=f"{run_id or time.time_ns()}-{next(_counter)}")
    problems = []
    for turn in scenario["turns"]:
        metadata = (identity_metadata(scenario["customer"], secret)
                    if scenario.get("customer") and secret else None)
        started = time.perf_counter()
        text = reply_text(post_message(rasa_url, sender, str(turn["user"]), metadata=metadata))
        if latencies is not None:
            latencies.append(time.perf_counter() - started)
        missing = [str(word) for word in turn.get("expect", []) if str(word) not in text]
        leaked = [str(word) for word in turn.get("forbid", []) if str(word) in text]
        if missing or leaked:
            problems.append(f"{scenario['name']} / {turn['user']!r}: missing {missing}, "
                            f"leaked {leaked}; bot said {text!r}")
    return problems
