"""The turn an action runs in: one action-server request (actions/server.py starts it).

It gives the shop client two things that must not outlive the request:
- a cache of order and tracking reads, so one turn asks the shop once for the same order
  however many helpers (form validation, the task, the delay playbook) look at it;
- idempotency keys for the turn's POSTs, derived from the conversation, the customer's
  message and the action, so a retried request (by the client, or Rasa running the same
  action again for the same message) is done once by the shop and the desk.
Outside a request (scripts, the desk's playbook runs, tests calling an action directly)
there is no turn: nothing is cached and POSTs go without a key (and are not retried).
"""

from __future__ import annotations

import copy
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, Optional, Tuple

from service_common.http import body_digest, idempotency_key

ReadKey = Tuple[str, str, str]  # method, path, ownership proof


@dataclass
class Turn:
    conversation_id: str
    message: str  # the customer's message this turn answers (Rasa's message id)
    action: str
    reads: Dict[ReadKey, Any] = field(default_factory=dict)

    def key(self, method: str, path: str, body: Any = None) -> str:
        """The Idempotency-Key of one request of this turn; `body` None: the path alone
        names the operation (e.g. the conversation's handoff)."""
        parts = ["turn", self.conversation_id, self.message, self.action, method, path]
        if body is not None:
            parts.append(body_digest(body))
        return idempotency_key(*parts)

    def cached(self, key: ReadKey) -> Tuple[bool, Any]:
        if key not in self.reads:
            return False, None
        # A copy: callers add fields to what they read (e.g. the handoff packet's order).
        return True, copy.deepcopy(self.reads[key])

    def remember(self, key: ReadKey, value: Any) -> None:
        self.reads[key] = copy.deepcopy(value)

    def forget(self, path_prefix: str) -> None:
        """After a change (cancel, address, urge...): reads of that order are stale."""
        for key in [key for key in self.reads
                    if key[1] == path_prefix or key[1].startswith(path_prefix + "/")]:
            del self.reads[key]


_current: ContextVar[Optional[Turn]] = ContextVar("actions_turn", default=None)


def current() -> Optional[Turn]:
    return _current.get()


def begin(turn: Optional[Turn]) -> None:
    """Make `turn` the request's turn (None: no turn). Called at the start of every request,
    so nothing of an earlier request on the same connection is ever seen."""
    _current.set(turn)


@contextmanager
def running(turn: Optional[Turn]) -> Iterator[Optional[Turn]]:
    token = _current.set(turn)
    try:
        yield turn
    finally:
        _current.reset(token)


def from_action_call(call: Any) -> Optional[Turn]:
    """The turn of a Rasa action call ({"next_action", "sender_id", "tracker", ...})."""
    if not isinstance(call, dict):
        return None
    tracker = call.get("tracker")
    if not isinstance(tracker, dict):
        tracker = {}
    conversation = call.get("sender_id") or tracker.get("sender_id")
    action = call.get("next_action")
    if not isinstance(conversation, str) or not isinstance(action, str):
        return None
    return Turn(conversation, _message_marker(tracker), action)


def _message_marker(tracker: Dict[str, Any]) -> str:
    latest = tracker.get("latest_message")
    if not isinstance(latest, dict):
        latest = {}
    if latest.get("message_id"):
        return str(latest["message_id"])
    users = [event for event in tracker.get("events") or []
             if isinstance(event, dict) and event.get("event") == "user"]
    if users:
        last = users[-1]
        return str(last.get("message_id") or f"{len(users)}@{last.get('timestamp')}")
    return "start"  # before the first message (session start)
