"""The other questions of a message with several (components/multi_question.py).

After the main answer: an FAQ question gets its answer (the FAQ response, so the data radar
counts it resolved like any FAQ answer); another task is offered as a button, since a form
works on one matter at a time and the customer picks what comes next. Inside a form, which
is such a task, the FAQ questions are answered, and so are the tasks with a general answer
that needs no order (「什么时候发货?能开发票吗?」 while the invoice form asks for the order:
the shop's dispatch promise).
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
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


class ActionAnswerMore(Action):
    def name(self) -> Text:
        return "action_answer_more"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        extra: List[Dict[str, Any]] = tracker.latest_message.get("extra_questions") or []
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
            elif label in GENERAL_ANSWERS and tracker.active_loop.get("name"):
                dispatcher.utter_message(response="utter_more_faq", question=text)
                dispatcher.utter_message(response=GENERAL_ANSWERS[label])
            elif label in BUTTON_INTENTS and not tracker.active_loop.get("name"):
                dispatcher.utter_message(response="utter_more_offer", question=text,
                                         buttons=[intent_button(label)])
        return []
