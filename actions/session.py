"""Session start: link the chat user to a shop customer."""

from __future__ import annotations

from typing import List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import current_customer, customer_title


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
        return events + [ActionExecuted("action_listen")]
