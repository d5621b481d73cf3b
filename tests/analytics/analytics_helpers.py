"""Builders for Rasa tracker events as the broker publishes them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

ROOT = Path(__file__).resolve().parents[2]


class Conversation:
    """Builds Rasa tracker events (as the broker publishes them) for one sender."""

    def __init__(self, sender: str, events: List[Dict[str, Any]]):
        self.sender = sender
        self.events = events
        self.count = 0

    def _add(self, ts: float, event: Dict[str, Any]) -> Conversation:
        self.count += 1
        self.events.append({"sender_id": self.sender, "timestamp": ts, **event})
        return self

    def start(self, ts: float, customer: str | None = None) -> Conversation:
        self._add(ts, {"event": "action", "name": "action_session_start"})
        self._add(ts, {"event": "session_started"})
        if customer:
            self._add(ts, {"event": "slot", "name": "customer_id", "value": customer})
        return self

    def user(self, ts: float, text: str, intent: str, emotion: str = "calm",
             channel: str = "rest", intensity: float = 0.5) -> Conversation:
        return self._add(ts, {"event": "user", "text": text, "input_channel": channel,
                              "message_id": f"{self.sender}-{self.count}",
                              "parse_data": {"intent": {"name": intent, "confidence": 0.9},
                                             "emotion": {"label": emotion,
                                                         "intensity": intensity}}})

    def turning_point(self, ts: float, value: Dict[str, Any]) -> Conversation:
        """The `turning_point` slot the escalation policy sets (escalation.mood)."""
        return self._add(ts, {"event": "slot", "name": "turning_point", "value": value})

    def bot(self, ts: float, text: str = "好的", action: str | None = None,
            compliance: str = "pass") -> Conversation:
        meta: Dict[str, Any] = {"compliance": compliance}
        if action:
            meta["utter_action"] = action
        return self._add(ts, {"event": "bot", "text": text, "data": {}, "metadata": meta})

    def agent(self, ts: float, text: str, agent: str = "agent-1") -> Conversation:
        return self._add(ts, {"event": "bot", "text": text, "data": {},
                              "metadata": {"source": "desk", "agent_id": agent,
                                           "agent_name": "小李"}})

    def outcome(self, ts: float, status: str, key: str, reason: str = "task",
                intent: str | None = None) -> Conversation:
        return self._add(ts, {"event": "slot", "name": "outcome",
                              "value": {"status": status, "key": key, "reason": reason,
                                        "operation": reason, "intent": intent}})

    def handoff(self, ts: float, handoff_id: str, rule: str,
                queue: str = "general") -> Conversation:
        self._add(ts, {"event": "slot", "name": "handoff",
                       "value": {"rule": rule, "queue": queue, "priority": 1,
                                 "handoff_id": handoff_id}})
        return self._add(ts, {"event": "pause"})

    def rating(self, ts: float, score: float) -> Conversation:
        return self._add(ts, {"event": "slot", "name": "rating", "value": score})

    def ask_rating(self, ts: float) -> Conversation:
        return self._add(ts, {"event": "action", "name": "action_ask_rating"})


TOKEN = "analytics-test-token"


@contextmanager
def serving(db_url: str, folder: Path, env: Optional[Dict[str, str]] = None
            ) -> Iterator[str]:
    """`python -m analytics serve` on a free port over the store at `db_url`; its base URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    child_env = {**os.environ, "ANALYTICS_DB_URL": db_url, "ANALYTICS_API_TOKEN": TOKEN,
                 "PYTHONPATH": str(ROOT), **(env or {})}
    log_path = folder / "serve.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "analytics", "serve", "--port", str(port)],
            cwd=ROOT, env=child_env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, log_path.read_text()
            try:
                urllib.request.urlopen(f"{base}/health", timeout=2)
                break
            except OSError:
                time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=15)


def get(base: str, path: str, token: Optional[str] = TOKEN) -> Tuple[int, bytes, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(f"{base}{path}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers


def get_json(base: str, path: str) -> Any:
    status, body, _ = get(base, path)
    assert status == 200, (status, body[:300])
    return json.loads(body)


def post_json(base: str, path: str, body: Dict[str, Any]) -> Tuple[int, Any]:
    request = urllib.request.Request(
        f"{base}{path}", json.dumps(body, ensure_ascii=False).encode("utf-8"),
        {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")
