"""Session start: link the chat user to a shop customer and bring back their open to-dos."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, ActiveLoop, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.backend import BackendError, get_backend
from actions.common import (
    PRODUCT_ID,
    current_customer,
    customer_title,
    joined,
    part,
    said_in_session,
)
from contract import OrderStatus, TodoStatus
from escalation import history
from service_common.settings import env_int

logger = logging.getLogger(__name__)

# Results of follow-ups (e.g. a resend's tracking number) are news for this long.
NEWS_DAYS = 3
# A session that ended this soon after its last message ended by length, not by a pause.
ROLLOVER_IDLE_SECONDS = 30 * 60


class ActionSessionStart(Action):
    def name(self) -> Text:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        # SessionStarted resets every slot; the page metadata is set again afterwards, as
        # Rasa's own session start does.
        events: List[EventType] = [SessionStarted()]
        metadata = tracker.get_slot("session_started_metadata") or {}
        if rolled_over_by_length(tracker):
            # The conversation goes on (only its length started a new session): same state,
            # no welcome.
            events += [SlotSet(name, value) for name, value in tracker.slots.items()
                       if value is not None and name != "session_started_metadata"]
            if (tracker.active_loop or {}).get("name"):
                events.append(ActiveLoop(tracker.active_loop["name"]))
            if metadata:
                events.append(SlotSet("session_started_metadata", metadata))
            return events + [ActionExecuted("action_listen")]
        customer = await current_customer(tracker, metadata)
        if customer:
            events += [SlotSet("customer_id", customer["id"]),
                       SlotSet("customer_name", customer_title(customer))]
            news, todo_events = await self._todos(customer)
            remembered = await self._remembered_item(customer, metadata)
            # A customer with follow-ups of ours hears about them, not a product: she is
            # likely back about them (and may be upset).
            dispatcher.utter_message(response="utter_welcome_back",
                                     customer=customer_title(customer), news=news,
                                     remembered="" if news else remembered)
            events += todo_events
        if metadata:
            events.append(SlotSet("session_started_metadata", metadata))
        return events + [ActionExecuted("action_listen")]

    @staticmethod
    async def _todos(customer: Dict[str, Any]) -> Tuple[List[Any], List[EventType]]:
        """What became of a returning customer's follow-ups, and what is still open (one
        part, actions.common.part, a line each)."""
        try:
            todos = await get_backend().todos(customer_id=customer["id"])
        except BackendError as error:
            logger.warning("to-dos unavailable: %s", error.code)
            return [], []
        since = datetime.now(timezone.utc) - timedelta(days=NEWS_DAYS)
        news = [todo for todo in todos if todo.get("status") == "done" and todo.get("result_text")
                and todo.get("closed_at")
                and datetime.fromisoformat(todo["closed_at"]) >= since]
        still_open = [todo for todo in todos if todo.get("status") == TodoStatus.OPEN]
        lines: List[Any] = [
            part("utter_welcome_todo_done", kind=todo.get("kind_text") or part("utter_todo_kind"),
                 result=todo["result_text"], order=order_ref(todo)) for todo in news]
        if still_open:
            lines.append(part("utter_welcome_todos_open", todos=joined(
                [part("utter_todo_item", todo=todo.get("text"), order=order_ref(todo))
                 for todo in still_open], "utter_separator_clause")))
        return lines, ([SlotSet("todos", still_open)] if still_open else [])

    @staticmethod
    async def _remembered_item(customer: Dict[str, Any], metadata: Dict[str, Any]) -> Any:
        """The item they looked at last time (still in stock), then this visit's page is
        remembered for next time."""
        backend = get_backend()
        try:
            recent = await backend.recent_items(customer["id"])
            page = str(metadata.get("product_id") or "")
            if PRODUCT_ID.fullmatch(page):
                await backend.record_view(customer["id"], page)
        except BackendError as error:
            logger.warning("recent items unavailable: %s", error.code)
            return ""
        viewed = recent.get("last_viewed") or {}
        if viewed.get("in_stock") and not viewed.get("purchased_after_view") and \
                viewed.get("id") != metadata.get("product_id"):
            return part("utter_welcome_still_in_stock", item=viewed.get("name"))
        bought = recent.get("last_purchased") or {}
        if bought.get("name") and bought.get("order_status") == OrderStatus.DELIVERED:
            return part("utter_welcome_how_was_it", item=bought["name"])
        return ""


def rolled_over_by_length(tracker: Tracker) -> bool:
    """The previous session hit SESSION_MAX_MESSAGES (security.rasa_hooks) while the
    customer was still chatting, rather than expiring after a pause."""
    limit = env_int("SESSION_MAX_MESSAGES")
    users = history.user_messages(history.session(tracker.events))
    if limit <= 0 or len(users) < limit:
        return False
    return time.time() - float(users[0].get("timestamp") or 0) < ROLLOVER_IDLE_SECONDS


def order_ref(todo: Dict[str, Any]) -> Any:
    return part("utter_todo_order", order_id=todo["order_id"]) if todo.get("order_id") else ""


class ActionGreet(Action):
    """A known customer was already welcomed by name at session start, and a visitor the
    bot introduced itself to gets 「在的~」 (「你好」 then 「有人吗？？」 had got the same
    introduction twice); others get the introduction."""

    def name(self) -> Text:
        return "action_greet"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        if tracker.get_slot("customer_name") or said_in_session(tracker, "utter_greet"):
            dispatcher.utter_message(response="utter_greet_known")
        else:
            dispatcher.utter_message(response="utter_greet")
        return []
