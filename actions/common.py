"""Small pieces shared by the action modules."""

from __future__ import annotations

import logging
import re
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker

from actions.backend import BackendError, get_backend

logger = logging.getLogger(__name__)

MAX_FAILED_ATTEMPTS = 3
HOTLINE = "400-820-1234"
PRODUCT_ID = re.compile(r"P\d{4}")  # catalogue ids, e.g. P5001


def session_user_events(tracker: Tracker) -> List[Dict[str, Any]]:
    """The customer's messages (event dicts with text, parse data, metadata) in this
    session, newest first."""
    found = []
    for event in reversed(tracker.events):
        if event.get("event") == "session_started":
            break
        if event.get("event") == "user":
            found.append(event)
    return found


async def current_customer(tracker: Tracker) -> Optional[Dict[str, Any]]:
    """The shop customer linked to this chat user, or None (anonymous or backend down)."""
    try:
        return await get_backend().customer_by_channel(tracker.sender_id)
    except BackendError as error:
        logger.warning("customer lookup failed: %s", error.code)
        return None


async def linked_customer_id(tracker: Tracker) -> Optional[str]:
    """The slot set at session start; the backend is asked only if that lookup failed."""
    customer_id = tracker.get_slot("customer_id")
    if customer_id:
        return customer_id
    customer = await current_customer(tracker)
    return customer["id"] if customer else None


def customer_title(customer: Optional[Dict[str, Any]]) -> str:
    if not customer:
        return "亲"
    return f"{customer.get('surname', '')}{customer.get('title', '')}" or "亲"


def money(amount: Any) -> str:
    """¥458.00 rather than ¥458.0."""
    try:
        return f"¥{float(amount):.2f}"
    except (TypeError, ValueError):
        return "¥-"


def items_summary(order: Dict[str, Any]) -> str:
    names = [item.get("name", "") for item in order.get("items", [])]
    if not names:
        return ""
    return names[0] + (f"等{len(names)}件商品" if len(names) > 1 else "")


def recent_emotions(tracker: Tracker, messages: int = 5) -> List[Optional[str]]:
    """Mood labels of the customer's last few messages in this session, newest first."""
    return [((event.get("parse_data") or {}).get("emotion") or {}).get("label")
            for event in session_user_events(tracker)[:messages]]


def empathy_line(situation: str, tracker: Tracker) -> str:
    """The brand's empathic line (brand/empathy.yml) for the customer's current mood: the
    strongest of their last three messages, so one calm "嗯" does not undo an angry one."""
    from brand import empathy

    moods = recent_emotions(tracker, messages=3)
    mood = next((label for label in ("angry", "anxious") if label in moods), "calm")
    return empathy.line(situation, mood, seed=tracker.sender_id)
