"""Session start: link the chat user to a shop customer and bring back their open to-dos."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.backend import BackendError, get_backend
from actions.common import current_customer, customer_title

logger = logging.getLogger(__name__)

# Results of follow-ups (e.g. a resend's tracking number) are news for this long.
NEWS_DAYS = 3


class ActionSessionStart(Action):
    def name(self) -> Text:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        events: List[EventType] = [SessionStarted()]
        customer = await current_customer(tracker)
        if customer:
            events += [SlotSet("customer_id", customer["id"]),
                       SlotSet("customer_name", customer_title(customer))]
            events += await self._todos(customer, dispatcher)
        return events + [ActionExecuted("action_listen")]

    @staticmethod
    async def _todos(customer: Dict[str, Any], dispatcher: CollectingDispatcher
                     ) -> List[EventType]:
        """Tell a returning customer what became of their follow-ups and what is open."""
        try:
            todos = await get_backend().todos(customer_id=customer["id"])
        except BackendError as error:
            logger.warning("to-dos unavailable: %s", error.code)
            return []
        since = datetime.now(timezone.utc) - timedelta(days=NEWS_DAYS)
        news = [todo for todo in todos if todo.get("status") == "done" and todo.get("result_text")
                and todo.get("closed_at")
                and datetime.fromisoformat(todo["closed_at"]) >= since]
        still_open = [todo for todo in todos if todo.get("status") == "open"]
        if not news and not still_open:
            return []
        lines = [f"{customer_title(customer)}您好,欢迎回来~"]
        lines += [f"您的{todo.get('kind_text') or '跟进事项'}已处理:{todo['result_text']}"
                  + order_ref(todo) for todo in news]
        if still_open:
            lines.append("还在跟进中的事项:" + ";".join(
                f"{todo.get('text')}{order_ref(todo)}" for todo in still_open))
        dispatcher.utter_message(text="\n".join(lines))
        return [SlotSet("todos", still_open)]


def order_ref(todo: Dict[str, Any]) -> str:
    return f"(订单{todo['order_id']})" if todo.get("order_id") else ""
