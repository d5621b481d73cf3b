"""Outcome events: every action that closes or advances an issue says so in the tracker.

`outcome(...)` returns `SlotSet("outcome", {...})`; the slot is unfeaturized
(influence_conversation: false), so it changes no prediction. The event travels with the
conversation to the event broker, where analytics counts resolutions (FCR, AI resolution
rate) per issue key: the order id, or a topic such as `size:P5001` or `promotion`.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

RESOLVED, UNRESOLVED, HANDED_OVER = "resolved", "unresolved", "handed_over"
STATUSES = (RESOLVED, UNRESOLVED, HANDED_OVER)


def outcome(status: str, key: Optional[str], reason: str, operation: str,
            tracker: Optional[Tracker] = None) -> SlotSet:
    """status: resolved / unresolved / handed_over; key: order id or topic; reason: why
    (task or failure, e.g. `status`, `not_found`); operation: the backend call made."""
    if status not in STATUSES:
        raise ValueError(f"unknown outcome status {status!r}")
    value: Dict[str, Any] = {"status": status, "key": key or "", "reason": reason,
                             "operation": operation}
    if tracker is not None:
        value["intent"] = ((tracker.latest_message or {}).get("intent") or {}).get("name")
    return SlotSet("outcome", value)
