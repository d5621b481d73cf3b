"""The other questions of a message with several (components/multi_question.py).

After the main answer: an FAQ question gets its answer (the FAQ response, so the data radar
counts it resolved like any FAQ answer); another task is offered as a button, since a form
works on one matter at a time and the customer picks what comes next. Inside a form, which
is such a task, the FAQ questions are answered, and so are the tasks with a general answer
that needs no order (「什么时候发货?能开发票吗?」 while the invoice form asks for the order:
the shop's dispatch promise). Questions about the product talked about and about the
shop's promotions are answered wherever they come (「175 70kg穿什么码 是纯棉的吗」, 「我的快递到
哪了 还有现在有什么优惠活动吗」).
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.backend import BackendError
from actions.fallback import BUTTON_INTENTS, intent_button

MAX_QUOTE = 30
# Tasks whose general answer needs no order: said inside a form, which has the order to ask for.
GENERAL_ANSWERS = {"ask_shipping_time": "utter_ship_promise",
                   "ask_invoice": "utter_invoice_intro"}


def quote(text: str) -> str:
    return text if len(text) <= MAX_QUOTE else text[: MAX_QUOTE - 1] + "…"


# A question about the product talked about (「175 70kg穿什么码 是纯棉的吗」 on the T-shirt's
# page: the size, then the material), answered from its catalogue entry.
PRODUCT_LABELS = ("product_question", "ask_usage")


async def product_answers(question: str, tracker: Tracker) -> List[Dict[str, Any]]:
    """The catalogue's answers about the product in context, [] when there are none."""
    from actions.products import catalogue_answers, product_in_context

    try:
        product = await product_in_context(tracker)
    except BackendError:
        return []
    return (catalogue_answers(question, product) or []) if product else []


def offer_pending(tracker: Tracker, dispatcher: CollectingDispatcher) -> List[EventType]:
    """After an order task: the other request the form kept waiting, as a button."""
    pending = tracker.get_slot("pending_task")
    if not isinstance(pending, dict) or pending.get("label") not in BUTTON_INTENTS:
        return []
    dispatcher.utter_message(response="utter_more_pending", question=pending.get("text", ""),
                             buttons=[intent_button(pending["label"])])
    return [SlotSet("pending_task", None)]


def asking(tracker: Tracker, sentence: str) -> Tracker:
    """The tracker as if the latest message were only this sentence (an action answering it
    reads the message's words)."""
    alone = copy.copy(tracker)
    alone.latest_message = {**tracker.latest_message, "text": sentence, "entities": [],
                            "extra_questions": []}
    return alone


class ActionAnswerMore(Action):
    def name(self) -> Text:
        return "action_answer_more"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        extra: List[Dict[str, Any]] = tracker.latest_message.get("extra_questions") or []
        events: List[EventType] = []
        pending = tracker.get_slot("pending_task")
        for question in extra:
            label = str(question.get("label") or "")
            text = quote(str(question.get("text") or ""))
            # Labels come from the trained examples: every faq/<key> has its response.
            if label.startswith("faq/"):
                dispatcher.utter_message(response="utter_more_faq", question=text)
                dispatcher.utter_message(response=f"utter_{label}")
            elif label in PRODUCT_LABELS and \
                    (answers := await product_answers(str(question.get("text") or ""),
                                                      tracker)):
                dispatcher.utter_message(response="utter_more_faq", question=text)
                for answer in answers:
                    dispatcher.utter_message(**answer)
            elif label == "ask_promotion":  # the shop's promotions, inside a form too
                from actions.promotions import ActionAskPromotion

                dispatcher.utter_message(response="utter_more_faq", question=text)
                events += await ActionAskPromotion().run(
                    dispatcher, asking(tracker, str(question.get("text") or "")), domain)
            elif label in GENERAL_ANSWERS and tracker.active_loop.get("name"):
                dispatcher.utter_message(response="utter_more_faq", question=text)
                dispatcher.utter_message(response=GENERAL_ANSWERS[label])
            elif label in BUTTON_INTENTS and not tracker.active_loop.get("name"):
                dispatcher.utter_message(response="utter_more_offer", question=text,
                                         buttons=[intent_button(label)])
            elif label in BUTTON_INTENTS and not pending:
                # A form works on one matter: this one is offered once its task is done.
                dispatcher.utter_message(response="utter_more_later", question=text)
                pending = {"label": label, "text": text}
                events.append(SlotSet("pending_task", pending))
        return events
