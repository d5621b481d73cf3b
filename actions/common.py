"""Small pieces shared by the action modules."""

from __future__ import annotations

import logging
import re
from typing import Any, Dict, List, Optional, Sequence
from urllib.parse import quote

from rasa_sdk import Tracker

from actions.backend import BackendError, NotFound, get_backend
from escalation import history
from escalation.rules import load_rules
from service_common.settings import env_list

logger = logging.getLogger(__name__)

MAX_FAILED_ATTEMPTS = 3
HOTLINE = load_rules().office_hours.hotline  # escalation/rules.yml
PRODUCT_ID = re.compile(r"P\d{4}")  # catalogue ids, e.g. P5001


def session_user_events(tracker: Tracker) -> List[Dict[str, Any]]:
    """The customer's messages (event dicts with text, parse data, metadata) in this
    session, newest first."""
    return history.user_messages(history.session(tracker.events))


def said_in_session(tracker: Tracker, response: str) -> bool:
    """Whether a bot message of this session was (or contained) this domain response."""
    return any(history.kind(event) == "bot" and response in history.responses_in(event)
               for event in history.session(tracker.events))


def stretch_user_events(tracker: Tracker) -> List[Dict[str, Any]]:
    """The customer's messages since the session started or an agent handed the
    conversation back, newest first: what the bot judges their mood by."""
    return history.user_messages(history.stretch(tracker.events))


# The intents that start a request about an order (domain.yml, slot `order_task`).
ORDER_TASK_INTENTS = frozenset({
    "query_order_status", "track_logistics", "urge_delivery", "cancel_order", "change_address",
    "query_refund_progress", "request_return", "request_refund", "request_exchange",
    "report_quality_issue", "ask_invoice"})

def part(response: str, **values: Any) -> Dict[str, Any]:
    """A domain response as a variable of another one (filled by brand.nlg.BrandNLG), e.g.
    `utter_message(response="utter_order_shipped", tracking=part("utter_tracking_signed",
    courier=...))`."""
    return {"response": response, **values}


def joined(items: Sequence[Any], separator: str) -> List[Any]:
    """Parts (or data strings) with the `separator` response between them: a variable of a
    response whose length varies, e.g. `coupons=joined(coupons, "utter_separator_list")`;
    brand.nlg.BrandNLG fills them and puts them one after the other."""
    result: List[Any] = []
    for item in items:
        if result:
            result.append(part(separator))
        result.append(item)
    return result


def self_verifying_channels() -> set:
    """Channels that authenticate the user themselves (e.g. a WeCom callback whose signature
    the channel checked, so its user id is the customer's own): their sender id may be looked
    up in the shop's channel links (defaults.env: wecom, wechat_oa); never the REST channel.
    An action server started without the stack's environment used to take none."""
    return {name for name in env_list("SELF_VERIFYING_CHANNELS") if name != "rest"}


def verified_customer_id(tracker: Tracker,
                         metadata: Optional[Dict[str, Any]] = None) -> Optional[str]:
    """The customer a channel verified for the latest message (`metadata["identity"]`, set
    only by the channel after checking a signed identity, channels.identity), or None.
    `metadata`: the message's metadata at session start, before the message is logged."""
    if metadata is None:
        latest = session_user_events(tracker)
        metadata = (latest[0].get("metadata") if latest else None) or {}
    identity = metadata.get("identity") if isinstance(metadata, dict) else None
    if isinstance(identity, dict) and identity.get("verified") is True:
        customer_id = identity.get("customer_id")
        if isinstance(customer_id, str) and customer_id:
            return customer_id
    return None


async def current_customer(tracker: Tracker, metadata: Optional[Dict[str, Any]] = None
                           ) -> Optional[Dict[str, Any]]:
    """The shop customer this chat user proved to be, or None (anonymous or backend down).

    A sender id is a string any client can send, so it links nobody; only a verified
    identity does, or the sender id of a channel in SELF_VERIFYING_CHANNELS."""
    backend = get_backend()
    try:
        customer_id = verified_customer_id(tracker, metadata)
        if customer_id:
            return await _customer(backend, customer_id)
        channel = tracker.get_latest_input_channel()
        if channel and channel in self_verifying_channels():
            return await backend.customer_by_channel(tracker.sender_id)
    except BackendError as error:
        logger.warning("customer lookup failed: %s", error.code)
    return None


async def _customer(backend: Any, customer_id: str) -> Optional[Dict[str, Any]]:
    # `customer(id)` belongs in the backend interface; the HTTP backend's GET is used until
    # every backend has it.
    if hasattr(backend, "customer"):
        return await backend.customer(customer_id)
    try:
        return await backend._request("GET", f"/api/customers/{quote(customer_id, safe='')}")
    except NotFound:
        return None


async def linked_customer_id(tracker: Tracker) -> Optional[str]:
    """The customer of this conversation, only while the latest message is verified as
    theirs: someone else posting under the same sender id is anonymous."""
    customer_id = tracker.get_slot("customer_id")
    verified = verified_customer_id(tracker) or (
        customer_id if tracker.get_latest_input_channel() in self_verifying_channels() else None)
    if customer_id and verified == customer_id:
        return customer_id
    if verified:
        customer = await current_customer(tracker)
        return customer["id"] if customer else None
    return None


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
    """Mood labels of the customer's last few messages in this stretch, newest first."""
    return [((event.get("parse_data") or {}).get("emotion") or {}).get("label")
            for event in stretch_user_events(tracker)[:messages]]


def empathy_line(situation: str, tracker: Tracker) -> str:
    """The brand's empathic line (brand/empathy.yml) for the customer's current mood: the
    strongest of their last three messages, so one calm "嗯" does not undo an angry one."""
    from brand import empathy

    moods = recent_emotions(tracker, messages=3)
    mood = next((label for label in ("angry", "anxious") if label in moods), "calm")
    return empathy.line(situation, mood, seed=tracker.sender_id)
