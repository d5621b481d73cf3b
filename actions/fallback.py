"""Low-confidence messages get a clarifying question instead of a guess."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.backend import BackendError
from actions.common import part
from actions.outcomes import RESOLVED, UNRESOLVED, outcome
from escalation import history

# Intents a customer may be offered as buttons; each title is the response
# utter_button_<intent> (domain.yml).
BUTTON_INTENTS = (
    "query_order_status", "track_logistics", "ask_shipping_time", "urge_delivery",
    "change_address", "cancel_order", "request_return", "request_refund", "request_exchange",
    "query_refund_progress", "report_quality_issue", "ask_size", "product_question",
    "ask_usage", "ask_promotion", "ask_invoice", "wholesale_inquiry", "request_human",
    "complain",
)
MIN_CANDIDATE_CONFIDENCE = 0.1


def intent_button(intent: str) -> Dict[str, Any]:
    """A button for one of BUTTON_INTENTS (its title filled by brand.nlg.BrandNLG)."""
    return {"title": part(f"utter_button_{intent}"), "payload": f"/{intent}"}


def waits_for_this_photo(tracker: Tracker) -> bool:
    """The bot asked for a photo and the latest message carries one (once per turn, so a
    form that still refuses it cannot loop through here)."""
    from actions.aftersales import latest_attachments

    for event in reversed(tracker.events):
        if event.get("event") == "user":
            break
        if event.get("event") == "action" and event.get("name") == "action_clarify":
            return False
    return bool(tracker.active_loop.get("name")) and \
        tracker.get_slot("requested_slot") == "evidence" and bool(latest_attachments(tracker))


NUMBER_ONLY = re.compile(r"\s*\d[\d\s-]{2,30}\s*")
# 「售后」「申请售后」「我要办售后」: an after-sale, not yet which one.
AFTERSALES_ONLY = re.compile(r"\s*(?:亲|你好|您好|在吗)?[,，\s]*(?:我)?(?:要|想|想要|需要)?"
                             r"(?:申请|办|办理|找|联系|弄)?(?:一下|个)?售后(?:服务)?(?:怎么(?:申请|弄|办)|在哪|吧|呢|啊|哦)?[?？。.!！~\s]*")
AFTERSALES_CHOICES = ("request_return", "request_exchange", "report_quality_issue",
                      "query_refund_progress")
QUESTION_MARKS = re.compile(r"\s*[?？]+[!！?？\s]*")
# 「你确定吗」「真的吗」 right after an answer: a doubt about it (config.yml's CueIntent reads
# these words as nlu_fallback; the same pattern there).
DOUBT_PHRASE = (r"(?:你|您)?(?:确定|肯定|保证)(?:吗|么|嘛|是这样吗|没错吗)"
                r"|(?:你|您)?(?:确定|肯定)(?=\s*[?？])"
                r"|真的(?:吗|么|假的)|(?:你|您)?没骗我吧|靠谱吗|准吗")
DOUBT_END = r"[?？!！。.~\s,，]*"
DOUBT = re.compile(rf"^\s*(?:{DOUBT_PHRASE}){DOUBT_END}(?:(?:{DOUBT_PHRASE}){DOUBT_END})*$")


NO_ANSWER = ("utter_not_understood", "utter_not_understood_upset", "utter_clarify_which",
             "utter_clarify_after_answer", "utter_clarify_doubt", "utter_clarify_again",
             "utter_greet", "utter_greet_known")


def answered_before(tracker: Tracker) -> bool:
    """The bot answered the customer's previous message of this session with more than a
    clarifying question or a greeting (「？？」 after it means that answer did not help)."""
    session = history.session(tracker.events)
    return bool(history.last_replies(session)) and not any(
        history.said_in_last_turns(session, name, turns=1) for name in NO_ANSWER)


def latest_upset(tracker: Tracker) -> bool:
    """The emotion radar read the latest message as angry or anxious (orders.upset looks at
    the last few)."""
    emotion = (tracker.latest_message or {}).get("emotion") or {}
    return emotion.get("label") in ("angry", "anxious")


class ActionClarify(Action):
    """Used for low NLU confidence and as the core fallback (unclear next action)."""

    def name(self) -> Text:
        return "action_clarify"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        # As the core fallback (the dialogue, not the NLU, was unsure) the user turn is
        # reverted like action_default_fallback does; otherwise the policies would be
        # asked the same unanswerable question again and loop.
        if waits_for_this_photo(tracker):
            # A photo with a caption is the answer to the photo request, whatever the NLU
            # made of the caption: the form takes it next, no "did you mean" first.
            return []
        core_fallback = (tracker.latest_message.get("intent") or {}).get("name") != "nlu_fallback"
        undo = [UserUtteranceReverted()] if core_fallback else []
        from actions.products import ActionProductQuestion, catalogue_answers, product_in_context
        from actions.sizing import size_follow_up

        follow_up = await size_follow_up(tracker)
        if follow_up:  # 「XL呢」 after the size advice: that size against it
            dispatcher.utter_message(**follow_up)
            return [*undo, outcome(RESOLVED, f"size:{tracker.get_slot('size_product')}",
                                   "size_follow_up", "size_advice", tracker)]
        try:
            product = await product_in_context(tracker)
        except BackendError:
            product = None
        if product and catalogue_answers(str(tracker.latest_message.get("text") or ""),
                                         product) != []:
            # 「敏感肌呢」「下暴雨行不行」 about the product talked about: what its catalogue says.
            return [*undo, *await ActionProductQuestion().run(dispatcher, tracker, domain)]
        from actions.returns import (
            ActionReturnParcel,
            parcel_back_in_context,
            speaks_of_a_parcel_back,
        )

        if await parcel_back_in_context(tracker):
            # 「已经寄回了」「中通 7531…」 after the exchange was filed: the parcel back.
            return [*undo, *await ActionReturnParcel().run(dispatcher, tracker, domain)]
        if speaks_of_a_parcel_back(str(tracker.latest_message.get("text") or "")) and \
                not tracker.get_slot("order_id"):
            # 「衣服已经寄回去了 中通 7531…」 in a new session: the order form finds the order
            # with a return or exchange open (kept: the message is the request), then the
            # parcel back is recorded.
            return [SlotSet("order_task", "return"), FollowupAction("order_form")]
        # Not understood: the issue stays open (analytics counts these as unresolved).
        undo.append(outcome(UNRESOLVED, "unknown", "clarify", "none", tracker))
        ranking = tracker.latest_message.get("intent_ranking") or []
        candidates = [
            item["name"] for item in ranking
            if item.get("name") in BUTTON_INTENTS
            and item.get("confidence", 0) >= MIN_CANDIDATE_CONFIDENCE
        ][:3]
        from actions.orders import said_twice_in_a_row

        text = str(tracker.latest_message.get("text") or "")
        if AFTERSALES_ONLY.fullmatch(text):
            dispatcher.utter_message(response="utter_clarify_aftersales",
                                     buttons=[intent_button(name) for name in AFTERSALES_CHOICES])
            return undo
        if DOUBT.search(text) and answered_before(tracker):
            question = "utter_clarify_doubt"
        elif not candidates and QUESTION_MARKS.fullmatch(text) and answered_before(tracker):
            question = "utter_clarify_after_answer"
        elif not candidates and NUMBER_ONLY.fullmatch(text):
            # 「12345」: a number that is neither an order number nor a phone (tail).
            question = "utter_not_an_order_number"
        elif not candidates and latest_upset(tracker):
            # 「😡😡😡」「？？？」: not understood, but the mood is (no 「换个说法」).
            question = "utter_not_understood_upset"
        else:
            question = "utter_clarify_which" if candidates else "utter_not_understood"
        if said_twice_in_a_row(tracker, question):
            # Not the same clarifying question a third time in a row: offer a human.
            dispatcher.utter_message(response="utter_clarify_again")
            return undo
        if not candidates or question == "utter_clarify_doubt":
            dispatcher.utter_message(response=question)
            return undo
        buttons = [intent_button(name) for name in candidates]
        buttons.append({"title": part("utter_button_none_of_these"), "payload": "/out_of_scope"})
        dispatcher.utter_message(response="utter_clarify_which", buttons=buttons)
        return undo
