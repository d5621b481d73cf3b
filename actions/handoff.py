"""Hand the conversation to a human with everything they need, and take it back after."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import (
    ActionExecuted,
    ActiveLoop,
    ConversationPaused,
    EventType,
    FollowupAction,
    SlotSet,
)
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.backend import BackendError, get_backend
from actions.common import HOTLINE, empathy_line, items_summary, linked_customer_id, part
from actions.desk import DeskUnavailable, get_desk
from actions.orders import UPSET_SITUATIONS, calm_a_delay
from actions.outcomes import HANDED_OVER, UNRESOLVED, outcome
from actions.ownership import proof, proven_order_id
from actions.text import CN_DIGITS, day_words
from contract import OrderStatus
from escalation import history
from escalation.rules import EscalationRules, Turn, load_rules

logger = logging.getLogger(__name__)

# Slots that only steer the dialogue; the agent does not need them.
# verified_order_id holds the shop's ownership proof (a credential): the packet's orders
# already name the proven order.
INTERNAL_SLOTS = {"handoff", "requested_slot", "turning_point", "session_started_metadata",
                  "verified_order_id"}
DEFAULT_ROUTE = {"rule": "asked_for_human", "queue": "general", "priority": 3,
                 "reason": "customer asked", "say": None}
RATING_WORDS = {"非常满意": 5, "满意": 4, "好评": 5, "一般": 3, "不满意": 2, "差评": 1,
                "很差": 1}


@lru_cache(maxsize=1)
def rules() -> EscalationRules:
    return load_rules()


# Checked when the action server starts: a broken rules file stops it with a message
# naming the file and the rule, instead of failing at the first handoff.
rules()


def session_events(tracker: Tracker) -> List[Dict[str, Any]]:
    return history.session(tracker.events)


# The desk refuses a transcript entry over 10,000 characters and a body over 1 MB; one very
# long message must never block the handoff. The full text stays in the tracker.
MAX_ENTRY_CHARS = 2000
MAX_TRANSCRIPT_CHARS = 100_000
MAX_TRANSCRIPT_LINES = 500
CUT_MARK = "…(内容过长,已截断,完整内容见会话记录)"


def clip(text: str, limit: int = MAX_ENTRY_CHARS) -> str:
    return text if len(text) <= limit else text[:limit - len(CUT_MARK)] + CUT_MARK


def bounded(lines: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The newest lines that fit the desk's limits, each clipped; oldest dropped first."""
    kept: List[Dict[str, Any]] = []
    total = 0
    for line in reversed(lines[-MAX_TRANSCRIPT_LINES:]):
        line = {**line, "text": clip(line["text"])}
        total += len(line["text"])
        if total > MAX_TRANSCRIPT_CHARS:
            break
        kept.append(line)
    return kept[::-1]


def transcript(events: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    lines = []
    for event in events:
        if event.get("event") == "user":
            parse = event.get("parse_data") or {}
            left = (event.get("metadata") or {}).get("leave_message") or {}
            lines.append({"role": "customer",
                          "text": f"【留言】{left['content']}" if left.get("content")
                          else event.get("text") or "",
                          "time": event.get("timestamp"),
                          "intent": (parse.get("intent") or {}).get("name"),
                          "emotion": parse.get("emotion")})
        elif event.get("event") == "bot" and event.get("text"):
            lines.append({"role": "bot", "text": event["text"], "time": event.get("timestamp"),
                          "intent": None, "emotion": None})
    return bounded(lines)


def route_for(tracker: Tracker) -> Dict[str, Any]:
    """The rule the escalation policy chose; else the first rule matching the message."""
    chosen = tracker.get_slot("handoff")
    if isinstance(chosen, dict) and chosen.get("queue") and not chosen.get("handoff_id"):
        return chosen
    latest = tracker.latest_message or {}
    turn = Turn((latest.get("intent") or {}).get("name"), latest.get("text") or "")
    rule, why, _ = rules().evaluate([turn])
    if rule is None:
        return dict(DEFAULT_ROUTE)
    return {"rule": rule.id, "queue": rule.queue, "priority": rule.priority, "reason": why,
            "say": rule.say}


# What an agent needs of the order's after-sales: what was asked, where it stands, the
# replacement parcel and the customer's parcel back (the waybill the bot recorded).
AFTER_SALE_KEYS = ("ticket_no", "type", "type_text", "status_text", "reason", "refund_amount",
                   "expected_refund_date", "courier", "tracking_no", "return_courier",
                   "return_tracking_no", "return_sent_at", "return_received_at")


async def order_snapshots(tracker: Tracker, customer_id: Optional[str] = None
                          ) -> List[Dict[str, Any]]:
    """Orders the customer proved or is linked to; never someone else's."""
    backend, snapshots = get_backend(), []
    try:
        # Only with the shop's proof: a slot value alone opens nothing (issue 13).
        verified = proven_order_id(tracker)
        if verified:
            order = await backend.order(verified, proof(tracker))
            if order.get("status") == OrderStatus.SHIPPED:
                order["tracking"] = await backend.tracking(verified, proof(tracker))
            snapshots.append(order)
            order["after_sales"] = [
                {key: record.get(key) for key in AFTER_SALE_KEYS if record.get(key) is not None}
                for record in await backend.after_sales(verified, proof(tracker))]
        if customer_id:
            for order in await backend.customer_orders(customer_id, limit=3):
                if order.get("id") != verified:
                    snapshots.append({key: order.get(key) for key in
                                      ("id", "status", "status_text", "total_amount",
                                       "created_at")} | {"items": items_summary(order)})
    except BackendError as error:
        logger.warning("order snapshot for handoff failed: %s", error.code)
    return snapshots


async def open_todos(tracker: Tracker, customer_id: Optional[str] = None
                     ) -> List[Dict[str, Any]]:
    """The conversation's to-dos in the tracker plus those the backend holds for this
    conversation or customer (an invoice request opens one there), each once."""
    found = {todo.get("id"): todo for todo in tracker.get_slot("todos") or []}
    try:
        for todo in await get_backend().todos(customer_id=customer_id,
                                              conversation_id=tracker.sender_id,
                                              status="open"):
            found.setdefault(todo.get("id"), todo)
    except BackendError as error:
        logger.warning("to-dos for handoff unavailable: %s", error.code)
    return list(found.values())


class ActionEscalate(Action):
    def name(self) -> Text:
        return "action_escalate"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        route = route_for(tracker)
        events: List[EventType] = []
        if tracker.active_loop.get("name"):
            events += [ActiveLoop(None), SlotSet("requested_slot", None)]
        verified = proven_order_id(tracker)
        if verified:
            await calm_a_delay(verified, tracker, dispatcher)
        if wecom_agents_take_over(tracker):
            # The WeCom channel moves the session to WeCom's own agents after this turn
            # (WECOM_HANDOFF=wecom): no desk ticket, no desk queue, the desk may be down.
            logger.info("handoff to WeCom's agents: rule %s", route["rule"])
            dispatcher.utter_message(response="utter_handoff_wecom", say=route.get("say") or "")
            taken = route | {"handoff_id": f"wecom:{tracker.sender_id}", "wecom": True}
            return events + [SlotSet("handoff", taken),
                             outcome(HANDED_OVER, issue_key(tracker), route["rule"],
                                     "handoff:wecom", tracker),
                             ConversationPaused()]
        hours = rules().office_hours
        is_open = hours.is_open()
        callback = None if is_open else hours.next_opening() + timedelta(hours=1)
        lines = transcript(session_events(tracker))
        # Only while the messages are verified as the customer's (not just the slot).
        customer_id = await linked_customer_id(tracker)
        packet = {
            "conversation_id": tracker.sender_id,
            "channel": tracker.get_latest_input_channel() or "rest",
            "rule": {"id": route["rule"], "reason": route.get("reason") or ""},
            "queue": route["queue"], "priority": route["priority"],
            "customer": {"id": customer_id,
                         "name": tracker.get_slot("customer_name") if customer_id else None},
            "transcript": lines,
            "slots": {name: clip(value) if isinstance(value, str) else value
                      for name, value in tracker.slots.items()
                      if value is not None and name not in INTERNAL_SLOTS},
            # The order the customer proved is theirs (its id; the proof stays here).
            "verified_order": verified,
            "orders": await order_snapshots(tracker, customer_id),
            "todos": await open_todos(tracker, customer_id) + leave_message_todo(tracker),
            "emotion": {"history": [{"label": line["emotion"].get("label"),
                                     "intensity": line["emotion"].get("intensity"),
                                     "time": line["time"]}
                                    for line in lines
                                    if line["role"] == "customer" and line["emotion"]],
                        "turning_point": tracker.get_slot("turning_point")},
            "office_hours": is_open,
            "callback_at": callback.isoformat() if callback else None,
        }
        say = route.get("say") or ""
        earlier = earlier_ticket(tracker)
        if earlier and not is_open:
            # One ticket per session outside office hours: the customer heard the ticket
            # text once; the desk already has the conversation (its messages included).
            dispatcher.utter_message(response="utter_handoff_ticket_taken",
                                     ticket_id=earlier.get("handoff_id"))
            return events + [SlotSet("handoff", earlier)]
        try:
            ticket = await get_desk().create_handoff(packet)
        except DeskUnavailable:
            dispatcher.utter_message(response="utter_handoff_desk_down", say=say,
                                     hotline=HOTLINE)
            return events + [SlotSet("handoff", None),
                             outcome(UNRESOLVED, issue_key(tracker), route["rule"],
                                     "desk_unavailable", tracker)]
        logger.info("handoff %s: rule %s -> %s (priority %s)", ticket.get("id"), route["rule"],
                    route["queue"], route["priority"])
        events.append(SlotSet("handoff", route | {"handoff_id": ticket.get("id"),
                                                  "callback": not is_open}))
        events.append(outcome(HANDED_OVER, issue_key(tracker), route["rule"],
                              f"handoff:{route['queue']}", tracker))
        if callback is not None:  # out of hours
            dispatcher.utter_message(response="utter_handoff_after_hours", say=say,
                                     open=f"{hours.open:%H:%M}", close=f"{hours.close:%H:%M}",
                                     ticket_id=ticket.get("id"),
                                     callback=callback_words(callback))
            return events
        ahead = max(int(ticket.get("position") or 1) - 1, 0)
        wait = max(int(ticket.get("expected_wait_minutes") or 1), 1)
        dispatcher.utter_message(
            response="utter_handoff_queued", say=say, wait=wait,
            ahead=part("utter_handoff_ahead", count=ahead) if ahead else "",
            json_message={"queue": {"position": int(ticket.get("position") or 1),
                                    "wait_minutes": wait}})
        # While a human owns the conversation the bot stays silent; Rasa keeps logging
        # every customer message, and the desk resumes the bot when the agent is done.
        return events + [ConversationPaused()]


def wecom_agents_take_over(tracker: Tracker) -> bool:
    """A WeCom 微信客服 conversation on an account whose handoff goes to WeCom's own agents
    (the channel says so in the message's metadata)."""
    if tracker.get_latest_input_channel() != "wecom":
        return False
    wecom = ((tracker.latest_message or {}).get("metadata") or {}).get("wecom")
    return isinstance(wecom, dict) and wecom.get("handoff") == "wecom"


def earlier_ticket(tracker: Tracker) -> Optional[Dict[str, Any]]:
    """The out-of-hours ticket already taken in this session, if any."""
    found = None
    for event in session_events(tracker):
        value = event.get("value") if event.get("event") == "slot" and \
            event.get("name") == "handoff" else None
        if isinstance(value, dict) and value.get("handoff_id") and value.get("callback"):
            found = value
    return found


def leave_message_todo(tracker: Tracker) -> List[Dict[str, Any]]:
    """The web chat's leave-a-message form (outside office hours) as a call-back to-do."""
    left = ((tracker.latest_message or {}).get("metadata") or {}).get("leave_message")
    if not isinstance(left, dict) or not left.get("content"):
        return []
    return [{"id": f"leave-message-{tracker.sender_id}", "kind": "callback",
             "text": f"回电:{left.get('name', '')} {left.get('phone', '')},留言:{left['content']}"}]


def issue_key(tracker: Tracker) -> str:
    """The order being discussed, else the topic (the intent that led here)."""
    order = proven_order_id(tracker) or tracker.get_slot("order_id")
    if order:
        return str(order)
    return ((tracker.latest_message or {}).get("intent") or {}).get("name") or "handoff"


def callback_words(when: datetime) -> str:
    return f"{day_words(when.date().isoformat())}{when:%H:%M}前"


class ActionHandleComplaint(Action):
    """A complaint no escalation rule took: one about the parcel or the goods that the bot
    acts on first (escalation/rules.yml `answered_first`): an apology, then the order form
    with that task (the tracking, an urge, the after-sale). Any other one is handed over,
    as the rules file would (the safety net when a trainer removed the complaint rule)."""

    def name(self) -> Text:
        return "action_handle_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        latest = tracker.latest_message or {}
        turn = Turn((latest.get("intent") or {}).get("name"), latest.get("text") or "")
        task = rules().task_first([turn])
        if task is None or tracker.active_loop.get("name"):
            return [FollowupAction("action_escalate")]
        dispatcher.utter_message(response="utter_empathy_first",
                                 line=empathy_line(UPSET_SITUATIONS[task], tracker))
        return [SlotSet("order_task", task), FollowupAction("order_form")]


class ActionAskRating(Action):
    """Run by the desk when it gives the conversation back to the bot."""

    def name(self) -> Text:
        return "action_ask_rating"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        dispatcher.utter_message(response="utter_ask_rating")
        # Executed from outside (not predicted), so nothing listens afterwards; the
        # explicit listen lets the rules treat the reply as an answer to this question.
        return [ActionExecuted("action_listen")]


def rating_from(tracker: Tracker) -> Optional[int]:
    for entity in (tracker.latest_message or {}).get("entities", []):
        if entity.get("entity") == "rating" and str(entity.get("value")).isdigit():
            return min(max(int(entity["value"]), 1), 5)
    text = (tracker.latest_message or {}).get("text") or ""
    if found := re.search(r"(?<!\d)([1-5])\s*(?:星|分|颗星)?(?!\d)", text):
        return int(found.group(1))
    if found := re.search(r"([一二两三四五])\s*(?:星|分|颗星)", text):
        return CN_DIGITS[found.group(1)]
    for word, score in sorted(RATING_WORDS.items(), key=lambda item: -len(item[0])):
        if word in text:
            return score
    return None


class ActionRecordRating(Action):
    def name(self) -> Text:
        return "action_record_rating"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        score = rating_from(tracker)
        if score is None:
            dispatcher.utter_message(response="utter_ask_rating")
            return []
        thanks = "utter_rating_thanks" if score >= 4 else \
            "utter_rating_noted" if score == 3 else "utter_rating_sorry"
        dispatcher.utter_message(response=thanks)
        return [SlotSet("rating", float(score))]
