"""Form validation: one base class that counts failed attempts and explains rejections,
and the shared order form assembled from one piece per task (the order and its owner,
after-sales, invoices, address changes and cancelling)."""

from __future__ import annotations

import json
import logging
import re
from abc import abstractmethod
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions import aftersales, invoices, order_lookup, returns, withdrawal
from actions.backend import (
    BackendError,
    BackendUnavailable,
    NotFound,
    OwnershipRequired,
    VerificationLocked,
    get_backend,
)
from actions.common import (
    HOTLINE,
    MAX_FAILED_ATTEMPTS,
    ORDER_TASK_INTENTS,
    items_summary,
    joined,
    linked_customer_id,
    money,
    part,
    session_user_events,
)
from actions.ownership import identity_token, is_proven, proof
from actions.text import address_in, address_problem, format_address, parse_address
from contract import OrderStatus
from escalation import history

logger = logging.getLogger(__name__)

ORDER_ID_PATTERN = re.compile(r"(?<!\d)\d{18}(?!\d)")
PHONE_TAIL_PATTERN = re.compile(r"(?<!\d)\d{4}(?!\d)")
# 「手机号不是我的 是我老婆的 我不知道后四位」: the customer cannot give the tail.
TAIL_UNKNOWN = re.compile(r"不知道|不记得|记不清|忘了|忘记|不清楚|不是我的|不是我(的)?手机|"
                          r"(家人|老婆|老公|爸|妈|朋友|同事|别人)(的|帮我|下的|买的)")
# 「尾号是什么意思」「哪个手机号啊 我有两个号」 when the tail is asked for: what it is, not a
# failed attempt (they had got a product or account FAQ answer, as digressions).
TAIL_QUESTION = re.compile(r"(尾号|尾数|后四位|后4位).{0,4}(什么意思|啥意思|是什么|是啥|指什么|"
                           r"哪个)|哪个(手机)?号|两个(手机)?号|什么手机号|手机号.{0,4}(哪个|是哪)")
# `failed_attempts` once the shop locked the order (too many wrong phone tails): the form
# ends and action_order_task hands the conversation over.
LOCKED_ATTEMPTS = 100.0
# Tasks that change the order ask for an explicit yes first.
CONFIRMED_TASKS = {"cancel", "address", "withdraw"}

Slots = Dict[Text, Any]
# Slots a validation sets besides the answers: they are no progress of their own.
BOOKKEEPING_SLOTS = {"requested_slot", "failed_attempts", "verified_order_id"}


class RetryingFormValidation(FormValidationAction):
    """Base for every form: explains each rejection and counts failed attempts in one
    place (the `failed_attempts` slot), as RasaHQ financial-demo's
    CustomFormValidationAction does.

    A rejected answer (`reject`, which says why) or a turn that answers nothing counts
    one failure; a turn that brings a new value for any of the form's slots without a
    rejection resets the count (the question was answered, or the form moved on to
    another one). Validators never touch the counter themselves. After
    MAX_FAILED_ATTEMPTS failures in a row `required_slots` is emptied, the form ends, and
    the follow-up action hands over (`repeated_failure`) instead of looping forever.
    """

    @abstractmethod
    def name(self) -> Text:
        """Abstract, so the action server does not register the base class itself."""

    def reject(self, dispatcher: CollectingDispatcher, tracker: Tracker, slot: Text,
               why: Text, **values: Any) -> Slots:
        """The answer for `slot` is refused: a failed attempt, explained (the response `why`
        with its variables) unless it is the last one (then the form ends and the customer
        is handed over)."""
        failed = self.failed(tracker)
        if failed["failed_attempts"] < MAX_FAILED_ATTEMPTS:
            dispatcher.utter_message(response=why, **values)
        return {slot: None, **failed}

    @staticmethod
    def failed(tracker: Tracker) -> Slots:
        """One more failed attempt."""
        return {"failed_attempts": float(int(tracker.get_slot("failed_attempts") or 0) + 1)}

    @staticmethod
    def gave_up(tracker: Tracker) -> bool:
        return int(tracker.get_slot("failed_attempts") or 0) >= MAX_FAILED_ATTEMPTS

    # Intents the bot answers or hands on by its own rule while the form waits (an FAQ,
    # a product question, a new size or usage question, a human...): the form steps aside
    # (Rasa's rejection) and asks again afterwards; these are not failed turns.
    answered_elsewhere: frozenset = frozenset()
    # When set, only these intents count as failed turns (everything else is a new
    # request that the rules handle after the form steps aside).
    failing_intents: Optional[frozenset] = None

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        """A customer message that fills nothing and that no other rule answers (a
        message the bot did not understand, something out of scope, the same request
        without the number) is a failed turn like a rejected answer: counted, so the ask
        action words its next request differently and the third one ends the form with
        a handoff (`repeated_failure`) instead of a loop of the same request."""
        before = values_before_this_turn(tracker)
        events = await super().get_validation_events(dispatcher, tracker, domain)
        changed = {event["name"]: event["value"] for event in events
                   if event.get("event") == "slot"}
        if "failed_attempts" in changed:
            return events  # a rejection (or a lock) counted it
        if self.noted_this_turn(tracker, before) or any(
                value is not None and name not in BOOKKEEPING_SLOTS and value != before.get(name)
                for name, value in changed.items()):
            if tracker.get_slot("failed_attempts"):
                tracker.slots["failed_attempts"] = 0.0
                events.append(SlotSet("failed_attempts", 0.0))
            return events
        if not self.is_answer_turn(tracker) or any(
                event.get("event") == "slot" and event.get("name") != "requested_slot"
                for event in events):
            return events
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        if intent in self.answered_elsewhere or (
                self.failing_intents is not None and intent not in self.failing_intents):
            return events
        failures = self.failed(tracker)["failed_attempts"]
        logger.info("form %s: a turn without an answer (%s), attempt %g",
                    self.form_name(), intent, failures)
        tracker.slots["failed_attempts"] = failures
        return [*events, SlotSet("failed_attempts", failures)]

    def noted_this_turn(self, tracker: Tracker, before: Slots) -> bool:
        """Whether `run` kept something of this message before the validation (a form's
        own early reading): progress, like a new slot value."""
        return False

    def is_answer_turn(self, tracker: Tracker) -> bool:
        """True when the form validates a fresh customer message that was meant as the
        answer to its question: the form is active and asked for a slot, and no other
        action (a digression's answer) ran since the message."""
        if (tracker.active_loop or {}).get("name") != self.form_name() or \
                not tracker.get_slot("requested_slot"):
            return False
        for event in reversed(tracker.events):
            if event.get("event") == "user":
                return True
            if event.get("event") == "active_loop" and event.get("name") == self.form_name():
                return False  # the form starts with this message: nothing was asked yet
            if event.get("event") == "action" and event.get("name") not in (
                    "action_listen", "action_extract_slots", self.form_name(), self.name()):
                return False
        return False


def values_before_this_turn(tracker: Tracker) -> Slots:
    """The slot values before the customer's latest message (the slots it set come
    after it)."""
    values: Slots = {}
    settled: Slots = {}
    for event in history.session(tracker.events):
        if event.get("event") == "user":
            settled = dict(values)
        elif event.get("event") == "slot":
            values[event.get("name")] = event.get("value")
    return settled


# Messages that, in a return or exchange still waiting for its order, describe the problem:
# 「衣服尺码不合适,穿着太小了」 reads as a size question, 「洗了一次就掉色了」 as a product
# question. A product or usage question phrased as one (「会掉色吗」) is still that question.
# 「不想要了」 reads as `deny`, and the rule for a customer giving up would end the return; in
# a return it is the reason (七天无理由) unless the message also gives up (「算了,不退了」).
# 「东西坏了」 → 「充电宝充不进电」 describes the problem: kept, not a failed turn.
REASON_LIKE_INTENTS = frozenset({"ask_size", "product_question", "ask_usage", "deny",
                                 "report_quality_issue"})
_QUESTION = re.compile(r"[?？吗呢么嘛]\s*$")
_GIVING_UP = re.compile(r"算了|不用|不退|不换|不需要|没事|不弄|不麻烦")


def early_aftersale_reason(tracker: Tracker) -> Optional[aftersales.Reason]:
    """The after-sales reason a customer gives while the form still asks for the order (or
    the phone tail), in a message whose intent would otherwise make the form step aside
    (the size form would take 「尺码不合适」 over); None when there is none to keep."""
    latest = tracker.latest_message or {}
    intent = (latest.get("intent") or {}).get("name")
    if tracker.get_slot("order_task") not in aftersales.TASKS or \
            tracker.get_slot("aftersale_reason") or \
            tracker.get_slot("requested_slot") not in ("order_id", "phone_tail") or \
            intent not in REASON_LIKE_INTENTS:
        return None
    text = str(latest.get("text") or "")
    if (intent not in ("ask_size", "deny") and _QUESTION.search(text)) or \
            (intent == "deny" and _GIVING_UP.search(text)):
        return None
    return aftersales.policy().reason_in([text])


def early_invoice_title(tracker: Tracker) -> Optional[str]:
    """An invoice title the customer gives before the form asks for it: in the request
    (「…这单开个电子发票 个人的」) or while the order is asked for (「我要开发票」 -> 「个人」),
    to keep instead of reading it as a wrong order number."""
    if tracker.get_slot("order_task") != "invoice" or tracker.get_slot("invoice_title") or \
            tracker.get_slot("requested_slot") not in (None, "order_id", "phone_tail"):
        return None
    return invoices.early_title(str((tracker.latest_message or {}).get("text") or ""),
                                tracker.get_slot("invoice_type"))


# 「能退吗」「可以换吗」 while the after-sales form asks for the order: a question it answers.
ASKS_IF_POSSIBLE = re.compile(r"(能|可以|能不能|可不可以)(退|换|退货|换货|退款|退换)[吗嘛么不]?"
                              r"|(退|换)得了[吗嘛么]")


def asks_if_aftersale_is_possible(tracker: Tracker) -> bool:
    text = str((tracker.latest_message or {}).get("text") or "")
    return tracker.get_slot("order_task") in aftersales.TASKS and \
        tracker.get_slot("requested_slot") in ("order_id", "phone_tail") and \
        bool(ASKS_IF_POSSIBLE.search(text))


# Goods no longer as sold: the no-reason return needs them complete, tags on.
NOT_AS_SOLD = re.compile(r"吊牌.{0,3}(剪|拆|扯|撕|丢|掉|没了)|剪了吊牌|(穿|洗)过")


async def aftersale_window(tracker: Tracker) -> Dict[Text, Any]:
    """「能退吗」: yes, within the shop's window for the reason given (the shop's policy),
    checked against the order once it is found."""
    reason = aftersales.reason_so_far(tracker)
    try:
        windows = await get_backend().policy()
    except BackendError:
        return part("utter_aftersale_possible_unknown")
    if reason is not None and reason.shipping == "seller":
        return part("utter_aftersale_possible_fault", reason=reason.label,
                    days=windows["after_sale_days"])
    text = str((tracker.latest_message or {}).get("text") or "")
    if NOT_AS_SOLD.search(text):
        # 「吊牌剪了还能退不」: not a plain yes that the policy's own words then take back.
        return part("utter_aftersale_possible_not_as_sold", days=windows["no_reason_days"])
    return part("utter_aftersale_possible_no_reason", days=windows["no_reason_days"])


def task_before_this_turn(tracker: Tracker) -> Optional[str]:
    """`order_task` as it was before the latest message's intent could remap it."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") in ("session_started", "restart"):
            break
        if event.get("event") == "user":
            seen_user = True
        elif seen_user and event.get("event") == "slot" and event.get("name") == "order_task":
            return event.get("value")
    return None


def photo_answer_task(tracker: Tracker) -> Optional[str]:
    """The after-sales task the photo request belongs to, when the latest message brings a
    photo for it but its caption's intent changed `order_task`; else None."""
    if tracker.get_slot("requested_slot") != "evidence" or \
            not aftersales.latest_attachments(tracker):
        return None
    previous = task_before_this_turn(tracker)
    if previous in aftersales.TASKS and tracker.get_slot("order_task") != previous:
        return previous
    return None


def remedy_answer_task(tracker: Tracker) -> Optional[str]:
    """The after-sales task whose 「换新还是退货退款?」 the latest message answers in words
    whose intent changed `order_task` (「补发吧」 reads as urge_delivery); else None."""
    if tracker.get_slot("requested_slot") != "aftersale_remedy":
        return None
    previous = task_before_this_turn(tracker)
    reason = aftersales.slot_reason(tracker)
    text = str((tracker.latest_message or {}).get("text") or "")
    if previous in aftersales.TASKS and tracker.get_slot("order_task") != previous and \
            aftersales.remedy_in([text], reason):
        return previous
    return None


# 「订单361204587712340001」「单号:3612…」 while the order is asked for: the answer to it.
# The word 订单 reads as query_order_status, whose slot mapping had turned the return, address
# change or invoice asked for into a status lookup.
ORDER_NUMBER_ANSWER = re.compile(r"\s*(?:我的|这个|就是|是)?\s*(?:订单编号|订单号|订单|单号|编号)?"
                                 r"\s*(?:是|为)?[:：\s]*(?:\d[\s-]?){17}\d\s*[,，。.!！~]*\s*")


def order_number_answer_task(tracker: Tracker) -> Optional[str]:
    """The task asked about, when the latest message only gives the order number asked for
    and its intent remapped `order_task`; else None."""
    if tracker.get_slot("requested_slot") != "order_id" or not ORDER_NUMBER_ANSWER.fullmatch(
            str((tracker.latest_message or {}).get("text") or "")):
        return None
    previous = task_before_this_turn(tracker)
    return previous if previous and previous != tracker.get_slot("order_task") else None


# 价保: the price difference of the order back (「降价了能退差价吗」「申请价保」), not the
# customer paying a difference for an exchange (「换XL我补差价」).
PRICE_PROTECTION_TALK = re.compile(
    r"价保|保价|(退|补|返|赔)(个|点|一下|下)?差价|差价.{0,4}(退|返|赔)|"
    r"(降价|便宜了|降了).{0,12}(退|补|返|赔|价保|申请|怎么弄|咋弄|怎么办)")
CUSTOMER_PAYS = re.compile(r"(?<![给帮替])我(来|可以|再)?补差价|差价我(来)?补")
# 「降价了 我要退货」: the goods back, not the difference (unless 价保 or 差价 is said).
GOODS_BACK = re.compile(r"退货|退掉|退了吧|不要了")
NAMES_THE_DIFFERENCE = re.compile(r"价保|保价|差价")
PRICE_PROTECTION_INTENTS = {"request_refund", "request_return", "inform", "faq"}


def price_protection_task(tracker: Tracker) -> bool:
    """Whether the latest message asks for 价保 of the order (task `price`): it talks about
    it in a request the form would take for something else (request_refund maps to
    `return`), or it gives the order the price-protection answer asked for."""
    latest = tracker.latest_message or {}
    if (latest.get("intent") or {}).get("name") not in PRICE_PROTECTION_INTENTS:
        return False
    text = str(latest.get("text") or "")
    if PRICE_PROTECTION_TALK.search(text) and not CUSTOMER_PAYS.search(text) and \
            (NAMES_THE_DIFFERENCE.search(text) or not GOODS_BACK.search(text)):
        return True
    return (latest.get("intent") or {}).get("name") == "inform" and \
        history.said_in_last_turns(tracker.events, "utter_faq/price_protection", turns=1)


# 「拍错了」「不要了」 when asked to confirm a cancellation: the reason for it, i.e. yes
# (「不要了」 reads as deny, which the slot mapping takes for no).
MISTAKEN_ORDER = re.compile(r"(?<![没不])(拍错|买错|下错|选错|拍重|拍多|多拍|重复下单|重复拍)"
                            r"|不想要了|不要了|不需要了")
KEEP_ORDER = re.compile(r"不取消|别取消|不用取消|先不|先别|再想想|不退|(?:别|不|没|不用|不要)撤")
# 「确认取消」「是的 取消」「算了还是取消吧」「改吧」: a yes in words that read as the task's own
# intent (cancel_order, change_address), which the yes/no mapping does not take.
SAYS_YES = re.compile(r"^\s*(?:是的?|对的?|嗯+|恩|好的?|行|可以|确认|确定|没错|没问题|ok|yes)"
                      r"(?:[的啊呀哦吧]|[\s,，。.!！~]|$)", re.IGNORECASE)
TASK_VERB = {"cancel": re.compile(r"(?:确认|确定|还是|就|直接|帮我|给我|麻烦)?取消"
                                  r"(?:掉|订单|这单|这个订单)?[了吧啊呀哦]*[\s。.!！~]*$"),
             "address": re.compile(r"(?:确认|确定|还是|就|直接|帮我|给我|麻烦)?(?:修改|改)"
                                   r"(?:地址|一下|过去)?[了吧啊呀哦]*[\s。.!！~]*$"),
             "withdraw": re.compile(r"(?:确认|确定|还是|就|直接|帮我|给我|麻烦)?(?:撤销|撤回|取消)"
                                    r"(?:掉|申请|售后)?[了吧啊呀哦]*[\s。.!！~]*$")}
REFUSES = re.compile(r"不是|不对|不要改|不改|别改|不用改|不了")
# Below this confidence an intent does not switch the task being confirmed: 「拍错了」 read as
# change_address (0.25) had turned a cancellation into an address change.
TASK_SWITCH_CONFIDENCE = 0.5


def confirmation_answer(tracker: Tracker) -> Slots:
    """While a cancellation, address change, withdrawal or after-sale waits for its yes/no:
    keep that task when a weak intent (or the withdrawal's own words) remapped it, take a
    reason for cancelling, 「不退了」 to a withdrawal or 「已经寄回了」 to an after-sale as the
    yes, and a size or colour as what an exchange should send instead; 「再想想」 while an
    exchange's size or colour is asked is the no."""
    latest = tracker.latest_message or {}
    text = str(latest.get("text") or "")
    if tracker.get_slot("requested_slot") == "exchange_to" and (
            (latest.get("intent") or {}).get("name") == "deny" or KEEP_ORDER.search(text)):
        return {"confirmed": False}  # 「再想想」 while asked which size or colour: not filed
    if tracker.get_slot("requested_slot") != "confirmed":
        return {}
    previous = task_before_this_turn(tracker)
    slots: Slots = {}
    if previous in CONFIRMED_TASKS and tracker.get_slot("order_task") != previous and (
            float((latest.get("intent") or {}).get("confidence") or 0) < TASK_SWITCH_CONFIDENCE
            or (previous == "withdraw" and withdrawal.WITHDRAW.search(text))):
        slots["order_task"] = previous
    task = slots.get("order_task") or tracker.get_slot("order_task")
    if task == "withdraw" and withdrawal.WITHDRAW.search(text):
        slots["confirmed"] = True  # 「对 不退了」: its own words, which KEEP_ORDER reads as no
    elif "confirmed" not in tracker.slots_to_validate():  # no yes/no intent mapped it
        # 「换L」 to 「…需要我现在帮您提交申请吗?」: what to send instead, asked again with it;
        # 「已经寄回了」「中通 7531…」: it is on its way, so yes (the waybill is asked for after).
        target = aftersales.target_answered(text) if task == "exchange" else None
        if target:
            slots["exchange_to"] = target
        elif task in aftersales.TASKS and returns.speaks_of_a_parcel_back(text):
            slots["confirmed"] = True
        elif gives_a_reason_to_cancel(tracker, slots.get("order_task")) or \
                says_yes_to(tracker, slots.get("order_task")):
            slots["confirmed"] = True
        elif KEEP_ORDER.search(text):
            slots["confirmed"] = False  # 「先别取消 我问下能用券吗」: kept, not asked again
    return slots


def says_yes_to(tracker: Tracker, task: Optional[str] = None) -> bool:
    """「确认取消」「是的 取消」「算了还是取消吧」 to the question whether to cancel (and 「改吧」
    to an address change): yes, though their intent is the task's, not affirm."""
    task = task or tracker.get_slot("order_task")
    text = str((tracker.latest_message or {}).get("text") or "").strip()
    if task not in TASK_VERB or KEEP_ORDER.search(text) or REFUSES.search(text):
        return False
    return bool(SAYS_YES.search(text) or TASK_VERB[task].search(text))


def gives_a_reason_to_cancel(tracker: Tracker, task: Optional[str] = None) -> bool:
    text = str((tracker.latest_message or {}).get("text") or "")
    return (task or tracker.get_slot("order_task")) == "cancel" and \
        bool(MISTAKEN_ORDER.search(text)) and not KEEP_ORDER.search(text)


# 「尾号5678」 where the order number was asked: the phone's tail, no wrong order number.
TAIL_GIVEN = re.compile(r"尾号|后四位|后4位|手机号?尾")
# A question of the customer's own (「没拆封的呢」「运费谁出」).
ASKS_SOMETHING = re.compile(r"[吗呢么嘛?？]\s*$|怎么|什么|多少|哪|能不能|可不可以|是不是|有没有")
# Messages that say no, or that were not understood, carry no request on.
NO_ANSWER_INTENTS = {None, "deny", "nlu_fallback", "out_of_scope", "goodbye"}


class OrderOwnerValidation(RetryingFormValidation):
    """The order (its number, or the phone/product/date that find it) and its owner."""

    async def extract_order_id(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        """An answer without the number that still says which order (「没有订单号」, a
        phone number, 「买的羽绒服」, 「昨天下的单」) goes to validation whatever its intent."""
        if tracker.get_slot("requested_slot") != "order_id" or tracker.get_slot("order_id") \
                or not self.is_answer_turn(tracker):
            return {}
        text = (tracker.latest_message or {}).get("text") or ""
        if text.startswith("/"):
            return {}
        if spaced := ORDER_ID_PATTERN.search(re.sub(r"[\s-]", "", text)):
            # 「3612 0458 7712 3400 01」: the NLU's entity needs the digits together.
            return {} if ORDER_ID_PATTERN.search(text) else {"order_id": spaced.group(0)}
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        # 「明天几点能到」 about the one parcel offered for tracking is about that order, not
        # the shop's dispatch promise (which the rules answered beside the card again).
        timing = intent == "ask_shipping_time" and \
            tracker.get_slot("order_task") in ("track", "status", "urge")
        # 「对 就是这个」「第二个」「没付款那个」 about the orders just shown: as if clicked.
        picked = order_lookup.picked_order(tracker, text, affirmed=intent == "affirm",
                                           goes_on=timing or (
                                               intent not in self.answered_elsewhere
                                               and intent not in NO_ANSWER_INTENTS))
        if picked:
            return {"order_id": picked}
        latest = order_lookup.recent(tracker)[:1]
        if order_lookup.says_no_number(tracker) or order_lookup.phone_in([text]) or \
                order_lookup.date_in([text]):
            return {"order_id": text}
        # 「买的羽绒服」 names the order; 「这个充电宝支持快充吗」 asks about the product,
        # which its own rule answers while the form waits.
        if order_lookup.product_in(latest) and intent not in self.answered_elsewhere:
            return {"order_id": text}
        return {}

    async def another_order_named(self, tracker: Tracker) -> Slots:
        """A linked customer's other order, named in a new request while one is in hand: by
        its last digits (「那另一个单0012的退款呢」 while 0013 is) or by a product of its own
        (「另外那件卫衣也想退了」 after the jacket's exchange). That order, proven, when exactly
        one of hers fits; for a product in none or several, no order (the form asks which)."""
        customer_id = tracker.get_slot("customer_id")
        latest = tracker.latest_message or {}
        text = str(latest.get("text") or "")
        if not customer_id or ORDER_ID_PATTERN.search(text):
            return {}
        suffix = order_lookup.suffix_in(text)
        if not suffix and tracker.get_slot("requested_slot") == "order_id" and \
                re.fullmatch(r"\s*\d{4,6}\s*", text):
            suffix = text.strip()  # 「0012」 when asked which order: its last digits
        product = None
        if not suffix and tracker.get_slot("order_id") and aftersales.products_named(latest) \
                and (latest.get("intent") or {}).get("name") in ORDER_TASK_INTENTS:
            current = await proven_order(tracker)
            product = next(iter(aftersales.other_items_named(current, latest) if current
                                else []), None)
        if not (suffix or product):
            return {}
        backend = get_backend()
        try:
            orders = await backend.customer_orders(customer_id, limit=10)
            matches = [order for order in orders if str(order.get("id", "")).endswith(suffix)] \
                if suffix else order_lookup.narrow(orders, product, None)
            if len(matches) != 1:
                return {} if suffix else {"order_id": None, "verified_order_id": None}
            if matches[0]["id"] == tracker.get_slot("order_id"):
                return {}
            proven = await backend.prove_owner(matches[0]["id"], customer_id=customer_id,
                                               identity=identity_token(tracker),
                                               client=tracker.sender_id)
        except BackendError as error:
            logger.info("the other order could not be taken: %s", error.code)
            return {}
        if not proven:
            return {}
        return taken(tracker, matches[0], proven)

    async def one_order_named(self, tracker: Tracker) -> Optional[Dict[str, Any]]:
        """The order a signed-in customer's request names without doubt when the form
        starts (「我的空气炸锅到哪了」「没付款那个订单能取消吗」: exactly one of her own
        orders has that product, state or date), proven as a click on its card would be; it
        is acted on without the card. None otherwise (the form asks which order)."""
        if tracker.get_slot("order_id") or not self.starts_now(tracker):
            return None
        latest = tracker.latest_message or {}
        if ORDER_ID_PATTERN.search(re.sub(r"[\s-]", "", str(latest.get("text") or ""))):
            return None  # the number itself
        backend = get_backend()
        try:
            customer_id = await linked_customer_id(tracker)
            if not customer_id:
                return None  # a guest gives the number or the phone
            order = order_lookup.the_one_named(
                await backend.customer_orders(customer_id, limit=10), latest)
            proven = order and await backend.prove_owner(
                order["id"], customer_id=customer_id, identity=identity_token(tracker),
                client=tracker.sender_id)
        except BackendError as error:
            logger.info("the order named could not be taken: %s", error.code)
            return None
        if not (order and proven):
            return None
        return {"order": order, "slots": taken(tracker, order, proven)}

    async def the_order_being_returned(self, tracker: Tracker) -> Optional[Slots]:
        """A waybill where the order was asked for (「单号中通7531… 你查下」): a signed-in
        customer's one order being returned or exchanged (an exchange leaves its order
        delivered), whose parcel back it is; else None."""
        backend = get_backend()
        try:
            customer_id = await linked_customer_id(tracker)
            if not customer_id:
                return None
            orders = await backend.customer_orders(customer_id, limit=10)
            returning = [order for order in orders
                         if order.get("status") == OrderStatus.RETURN_REQUESTED]
            if not returning:
                returning = await withdrawal.with_open_after_sale(
                    [order for order in orders if order.get("status") == OrderStatus.DELIVERED],
                    customer_id, tracker, returns.is_open)
            proven = len(returning) == 1 and await backend.prove_owner(
                returning[0]["id"], customer_id=customer_id, identity=identity_token(tracker),
                client=tracker.sender_id)
        except BackendError as error:
            logger.info("the order being returned could not be taken: %s", error.code)
            return None
        if not proven:
            return None
        return taken(tracker, returning[0], proven)

    def starts_now(self, tracker: Tracker) -> bool:
        """The form starts with the latest message (nothing asked by it yet)."""
        if (tracker.active_loop or {}).get("name") != self.form_name():
            return True
        for event in reversed(tracker.events):
            if event.get("event") == "user":
                return False
            if event.get("event") == "active_loop" and event.get("name") == self.form_name():
                return True
        return False

    async def find_without_number(self, tracker: Tracker,
                                  dispatcher: CollectingDispatcher) -> Optional[Slots]:
        """The order named by a phone, product or date instead of its number (None when
        the message gives none of them). Exactly one match is taken (its ownership is
        proven: the linked customer's own order, or the backend matched the phone) and said
        which, unless the task's answer names it; else the ask action shows what was found
        and what is still needed."""
        phone, product, day = order_lookup.clues(tracker)
        if not (phone or product or day or order_lookup.says_no_number(tracker)):
            return None
        backend, customer_id = get_backend(), tracker.get_slot("customer_id")
        slots: Slots = {"order_id": None}
        try:
            if customer_id:
                orders = await backend.customer_orders(customer_id, limit=10)
                matches = order_lookup.narrow(orders, product, day) if product or day else []
            elif phone and (product or day):
                matches = await backend.lookup_orders(
                    phone, product, day.isoformat() if day else None)
                slots["phone_tail"] = phone[-4:]  # a button click is then verified too
            else:
                matches = []
        except BackendError as error:
            logger.info("order lookup without a number failed: %s", error.code)
            matches = []
        if len(matches) == 1:
            order = matches[0]
            # The shop issues the ownership proof (the linked customer's own order, or the
            # tail of the phone it just matched): the slot never holds a bare order id.
            try:
                proven = await backend.prove_owner(
                    order["id"], customer_id=customer_id,
                    identity=identity_token(tracker) if customer_id else None,
                    phone_tail=None if customer_id else (phone or "")[-4:] or None,
                    client=tracker.sender_id)
            except BackendError as error:
                logger.info("proof for a looked-up order refused: %s", error.code)
                proven = None
            if proven:
                slots.update({"order_id": order["id"], "verified_order_id": proven,
                              "confirmed": None, "new_address": None})
                slots.update(known_task_details(tracker, order))
                task = slots.get("order_task") or tracker.get_slot("order_task")
                if not answer_names_the_order(task, order):
                    dispatcher.utter_message(**order_head(order))
                return slots
        texts = [event.get("text") or "" for event in order_lookup.recent(tracker)]
        first_phone = phone and not customer_id and not (product or day) and \
            order_lookup.phone_in(texts[:1]) and not order_lookup.phone_in(texts[1:])
        if not first_phone:  # a phone given for the first time is progress, not a failure
            slots.update(self.failed(tracker))
        return slots

    async def validate_order_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        text = str(value or "")
        match = ORDER_ID_PATTERN.search(re.sub(r"[\s-]", "", text))
        if not match and (found := await self.find_without_number(tracker, dispatcher)) \
                is not None:
            return found
        if not match and self.noted_this_turn(tracker, values_before_this_turn(tracker)):
            return {"order_id": None}  # the message said something else the form kept
        if not match and returns.waybill_in(text) and \
                (returning := await self.the_order_being_returned(tracker)) is not None:
            return returning
        if not match and (TAIL_GIVEN.search(text) or
                          not re.search(r"\d", text) and ASKS_SOMETHING.search(text)):
            # 「没拆封的呢」: a question, not a mistyped number (no 「格式不对」); the
            # question for the order that follows says how to find it without one.
            return {"order_id": None, **self.failed(tracker)}
        if not match:
            return self.reject(dispatcher, tracker, "order_id", "utter_reject_order_id")
        order_id = match.group(0)
        if is_proven(tracker, order_id):
            # The same order again: nothing to re-check, and nothing is reset (repeating the
            # order number never bought more phone-tail guesses).
            return {"order_id": order_id}
        backend = get_backend()
        client = tracker.sender_id
        slots: Slots = {"order_id": order_id}
        if order_id != tracker.get_slot("order_id"):
            # A different order: earlier confirmations and addresses no longer apply.
            slots.update({"confirmed": None, "new_address": None})
        try:
            proven = None
            customer_id = tracker.get_slot("customer_id")
            if customer_id:
                try:
                    proven = await backend.prove_owner(order_id, customer_id=customer_id,
                                                       identity=identity_token(tracker),
                                                       client=client)
                except OwnershipRequired:
                    proven = None  # no valid signed identity: the phone tail decides
            if proven is None:
                # Not linked to this chat user: prove ownership with the phone tail. A tail
                # typed before this order was known must be re-checked against *this* order.
                tail = PHONE_TAIL_PATTERN.search(str(tracker.get_slot("phone_tail") or ""))
                if tail and tail.group(0) in (tracker.latest_message.get("text") or ""):
                    tail = None  # typed with the order number: validate_phone_tail checks it
                proven = await backend.prove_owner(
                    order_id, phone_tail=tail.group(0) if tail else None, client=client)
        except NotFound:
            return self.reject(dispatcher, tracker, "order_id", "utter_reject_order_id_unknown",
                               order_id=order_id)
        except VerificationLocked:
            return self.locked(dispatcher)
        except BackendError as error:
            if not isinstance(error, BackendUnavailable):
                logger.info("ownership check refused: %s", error.code)
            dispatcher.utter_message(response="utter_order_system_busy", hotline=HOTLINE)
            return {"order_id": None}
        if proven:
            slots["verified_order_id"] = proven
            try:
                slots.update(known_task_details(tracker, await backend.order(order_id, proven)))
            except BackendError:
                pass  # asked for instead
        else:
            slots.update({"phone_tail": None, "verified_order_id": None})
        return slots

    def locked(self, dispatcher: CollectingDispatcher) -> Slots:
        """The shop locked the order (too many wrong phone tails): no more questions; the
        form ends as after any repeated failure, and the customer is handed over."""
        dispatcher.utter_message(response="utter_order_locked")
        return {"phone_tail": None, "verified_order_id": None,
                "failed_attempts": LOCKED_ATTEMPTS}

    async def extract_phone_tail(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        """A question about the tail asked for goes to validation, which explains it,
        whatever its intent (the form would step aside for an FAQ answer)."""
        text = str((tracker.latest_message or {}).get("text") or "")
        if tracker.get_slot("requested_slot") == "phone_tail" and \
                self.is_answer_turn(tracker) and TAIL_QUESTION.search(text):
            return {"phone_tail": text}
        return {}

    async def validate_phone_tail(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        order_id = tracker.get_slot("order_id")
        text = tracker.latest_message.get("text") or ""
        if not order_id or (is_proven(tracker, order_id) and
                            tracker.get_slot("requested_slot") != "phone_tail"):
            # 「尾号5678」 before any order number (the entity fills the slot whatever the
            # form asks): nothing to check it against yet; the order is asked for. 「0012」
            # of a signed-in customer named her order (another_order_named), no tail.
            return {"phone_tail": None}
        if TAIL_QUESTION.search(text) and not PHONE_TAIL_PATTERN.search(text):
            dispatcher.utter_message(response="utter_phone_tail_explained")
            return {"phone_tail": None}
        # The whole phone number (「13812345678」) gives its tail.
        phone = order_lookup.phone_in([text])
        match = re.search(r"\d{4}$", phone) if phone else \
            PHONE_TAIL_PATTERN.search(str(value or ""))
        if match and match.group(0) not in text:
            # A tail proven for an earlier order, re-validated when the form starts for a
            # new one: ask again without calling it a failed attempt.
            return {"phone_tail": None}
        if not match and self.noted_this_turn(tracker, values_before_this_turn(tracker)):
            return {"phone_tail": None}  # the message said something else the form kept
        if not match:
            return self.reject(dispatcher, tracker, "phone_tail", "utter_reject_phone_tail_unknown"
                               if TAIL_UNKNOWN.search(text) else "utter_reject_phone_tail")
        try:
            proven = await get_backend().prove_owner(order_id, phone_tail=match.group(0),
                                                     client=tracker.sender_id)
        except VerificationLocked:
            return self.locked(dispatcher)
        except BackendError:
            dispatcher.utter_message(response="utter_phone_check_busy")
            return {"phone_tail": None}
        if not proven:
            logger.info("ownership check failed for an order (attempt counted)")
            return self.reject(dispatcher, tracker, "phone_tail",
                               "utter_reject_phone_tail_mismatch")
        slots = {"phone_tail": match.group(0), "verified_order_id": proven}
        if tracker.get_slot("order_task") in (*aftersales.TASKS, "invoice", "address"):
            try:
                slots.update(known_task_details(tracker,
                                                await get_backend().order(order_id, proven)))
            except BackendError:
                pass  # asked for instead
        return slots


AFTERSALE_QUESTIONS = ("aftersale_reason", "aftersale_item", "aftersale_remedy", "exchange_to",
                       "evidence")


async def proven_order(tracker: Tracker) -> Optional[Dict[str, Any]]:
    """The order the form works on, once its owner is proven (None before, or when the shop
    cannot be reached)."""
    order_id = tracker.get_slot("order_id")
    if not order_id or not is_proven(tracker, order_id):
        return None
    try:
        return await get_backend().order(order_id, proof(tracker))
    except BackendError:
        return None


async def other_item_named(tracker: Tracker) -> Optional[str]:
    """A product the latest message names that is not in the order whose after-sale the form
    is asking about (「另外那件卫衣也想退了」): a request of its own, not an answer."""
    if tracker.get_slot("requested_slot") not in AFTERSALE_QUESTIONS or \
            task_before_this_turn(tracker) not in aftersales.TASKS or \
            not aftersales.products_named(tracker.latest_message or {}):
        return None
    order = await proven_order(tracker)
    others = aftersales.other_items_named(order, tracker.latest_message or {}) if order else []
    return others[0] if others else None


class AfterSaleValidation(RetryingFormValidation):
    """Returns, exchanges, quality problems: the reason, the item, a photo."""

    async def extract_aftersale_reason(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        if tracker.get_slot("aftersale_reason") or \
                tracker.get_slot("order_task") not in aftersales.TASKS:
            return {}
        # The order is read only when a message names a product (which may be another's).
        named = any(aftersales.products_named(event.get("parse_data") or {})
                    for event in session_user_events(tracker))
        reason = aftersales.reason_for(aftersales.customer_texts(
            tracker, await proven_order(tracker) if named else None),
            tracker.get_slot("order_task"))
        return {"aftersale_reason": reason.code} if reason else {}

    def validate_aftersale_reason(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        if value in aftersales.policy().reasons:
            return {"aftersale_reason": value}
        return self.reject(dispatcher, tracker, "aftersale_reason", "utter_reject_aftersale_reason")

    async def extract_aftersale_item(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        if tracker.get_slot("aftersale_item") or \
                tracker.get_slot("requested_slot") != "aftersale_item" or \
                aftersales.latest_attachments(tracker):  # a photo is not an answer to "which"
            return {}
        return {"aftersale_item": (tracker.latest_message or {}).get("text")}

    async def validate_aftersale_item(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        try:
            order = await get_backend().order(tracker.get_slot("order_id"), proof(tracker))
        except BackendError:
            return {"aftersale_item": None}
        names = [item.get("name", "") for item in order.get("items") or []]
        text = str(value or "")
        match = next((name for name in names if name and (name in text or text in name)), None)
        if match is None:
            return self.reject(dispatcher, tracker, "aftersale_item",
                               "utter_reject_aftersale_item", items="、".join(names))
        return {"aftersale_item": match}

    async def extract_aftersale_remedy(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        if tracker.get_slot("requested_slot") != "aftersale_remedy" or \
                aftersales.latest_attachments(tracker):
            return {}
        latest = tracker.latest_message or {}
        clicked = next((entity.get("value") for entity in latest.get("entities") or []
                        if entity.get("entity") == "aftersale_remedy"), None)
        if clicked:
            return {"aftersale_remedy": clicked}
        if not self.is_answer_turn(tracker):
            return {}
        reason = aftersales.slot_reason(tracker)
        text = str(latest.get("text") or "")
        return {"aftersale_remedy": aftersales.remedy_in([text], reason) or text}

    def validate_aftersale_remedy(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        reason = aftersales.slot_reason(tracker)
        offered = aftersales.remedies(reason)
        if value in offered:
            return {"aftersale_remedy": value}
        return self.reject(dispatcher, tracker, "aftersale_remedy", "utter_reject_aftersale_remedy",
                           choices=joined([part(f"utter_remedy_{kind}") for kind in offered],
                                          "utter_separator_or_quoted"))

    async def extract_exchange_to(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        if tracker.get_slot("requested_slot") != "exchange_to" or \
                not self.is_answer_turn(tracker) or aftersales.latest_attachments(tracker):
            return {}
        return {"exchange_to": str((tracker.latest_message or {}).get("text") or "")}

    def validate_exchange_to(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        target = aftersales.target_answered(str(value or ""))
        if target is None:
            return self.reject(dispatcher, tracker, "exchange_to", "utter_reject_exchange_to")
        return {"exchange_to": target}

    async def extract_evidence(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        if tracker.get_slot("order_task") not in aftersales.TASKS or \
                not aftersales.latest_attachments(tracker):
            return {}
        try:
            ids = await aftersales.store_evidence(tracker, tracker.get_slot("order_id"))
        except aftersales.AttachmentRejected as why:
            dispatcher.utter_message(response=why.response, **why.values)
            return {}
        except BackendError:
            dispatcher.utter_message(response="utter_photo_not_saved")
            return {}
        return {"evidence": [*(tracker.get_slot("evidence") or []), *ids]} if ids else {}


class InvoiceValidation(RetryingFormValidation):
    """Invoices: type, title, tax id and e-mail."""

    # Invoices: each detail is taken from whatever message carries it, so a customer who
    # sends "抬头…税号…邮箱…" at once is not asked three more questions.
    def _invoice_text(self, tracker: Tracker) -> Optional[str]:
        if tracker.get_slot("order_task") != "invoice":
            return None
        return (tracker.latest_message or {}).get("text") or ""

    async def extract_invoice_type(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        text = self._invoice_text(tracker)
        kind = invoices.invoice_type_in(text) if text and not text.startswith("/") else None
        # A type named again replaces the one chosen (「那普票」 after the 专票 was refused).
        return {"invoice_type": kind} if kind and kind != tracker.get_slot("invoice_type") \
            else {}

    def validate_invoice_type(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        if value in invoices.INVOICE_TYPES:
            return {"invoice_type": value}
        return self.reject(dispatcher, tracker, "invoice_type", "utter_reject_invoice_type")

    async def extract_invoice_title(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        text = self._invoice_text(tracker)
        if not text or text.startswith("/"):
            return {}
        if tracker.get_slot("requested_slot") != "invoice_title":
            # 「普票 抬头个人就行」 when the type is asked: only a title that cannot be
            # anything else, valid for the type this message chose.
            if tracker.get_slot("invoice_title"):
                return {}
            kind = invoices.invoice_type_in(text) or tracker.get_slot("invoice_type")
            title = invoices.early_title(text, kind)
            return {"invoice_title": title} if title else {}
        for found in (invoices.email_in(text), invoices.tax_id_in(text)):
            if found:
                text = text.replace(found, " ")
        title = invoices.clean_title(text)
        # 「邮箱是 wangwei@163.com」 while the title is asked: the e-mail is kept, the title
        # asked again (an empty title would be rejected as a wrong one).
        return {"invoice_title": title} if title else {}

    def validate_invoice_title(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        title = invoices.clean_title(str(value or ""))
        problem = invoices.title_problem(title, tracker.get_slot("invoice_type"))
        if problem:
            return self.reject(dispatcher, tracker, "invoice_title", problem)  # a response
        return {"invoice_title": title}

    async def extract_tax_id(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        text = self._invoice_text(tracker) or ""
        # An 18-digit order number looks like a tax id: any code when asked for one, else
        # the one after 税号 or one with letters (earlier messages: invoice_details_given).
        found = invoices.tax_id_in(text) if tracker.get_slot("requested_slot") == "tax_id" \
            else invoices.tax_id_given(text)
        return {"tax_id": found} if found else {}

    def validate_tax_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        problem = invoices.tax_id_problem(str(value or ""))
        if problem:
            return self.reject(dispatcher, tracker, "tax_id", "utter_reject_tax_id",
                               problem=problem)
        return {"tax_id": value}

    async def extract_invoice_email(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        text = self._invoice_text(tracker)
        if not text:
            return {}
        found = invoices.email_in(text)
        if found:
            return {"invoice_email": found}
        if tracker.get_slot("requested_slot") == "invoice_email" and not text.startswith("/"):
            return {"invoice_email": text}  # validated below, so the customer learns why
        return {}

    def validate_invoice_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        email = invoices.email_in(str(value or ""))
        if not email:
            return self.reject(dispatcher, tracker, "invoice_email",
                               "utter_reject_invoice_email")
        return {"invoice_email": email}


class OrderChangeValidation(RetryingFormValidation):
    """Address changes and cancelling: the new address, then an explicit yes."""

    async def validate_new_address(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        address = parse_address(str(value or ""))
        problem = address_problem(address)
        if problem:
            return self.reject(dispatcher, tracker, "new_address", "utter_reject_new_address",
                               problem=part(problem))
        if address["phone"] == "" or address["name"] == "":
            try:
                current = (await get_backend().order(tracker.get_slot("order_id"),
                                                     proof(tracker)))["address"]
            except (BackendError, KeyError, TypeError):
                current = {}
            address["name"] = address["name"] or current.get("name", "")
            address["phone"] = address["phone"] or current.get("phone", "")
        if not address["name"] or not address["phone"]:
            return self.reject(dispatcher, tracker, "new_address",
                               "utter_reject_new_address_contact")
        dispatcher.utter_message(response="utter_new_address", address=format_address(address))
        return {"new_address": json.dumps(address, ensure_ascii=False)}

    async def validate_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        if value is False and (gives_a_reason_to_cancel(tracker) or says_yes_to(tracker)):
            return {"confirmed": True}  # 「算了还是取消吧」 reads as deny
        return {"confirmed": value}


class ValidateOrderForm(OrderOwnerValidation, AfterSaleValidation, InvoiceValidation,
                        OrderChangeValidation):
    """Order number -> existence -> ownership, then what the task itself needs."""

    def name(self) -> Text:
        return "validate_order_form"

    answered_elsewhere = frozenset({
        "faq", "ask_shipping_time", "ask_promotion", "product_question", "ask_usage",
        "ask_size", "greet", "thank", "deny", "goodbye", "request_human", "complain",
        "wholesale_inquiry", "rate_service"})

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[Dict[Text, Any]]:
        # A photo sent while the bot asks for one is the answer, whatever its caption says:
        # "外壳摔裂了你们看看怎么处理" reads as a status question, and that intent's slot
        # mapping would turn the after-sale into a status lookup (finding 12).
        other = await other_item_named(tracker)
        if other is not None:
            # Not this order's: its intent's task and reason stay out of this after-sale,
            # and the form asks its own question again (Rasa would ask the domain's first
            # empty slot, the phone tail a linked customer never needs).
            dispatcher.utter_message(response="utter_other_item_later", item=other)
            return [SlotSet("order_task", task_before_this_turn(tracker)),
                    SlotSet("failed_attempts", float(tracker.get_slot("failed_attempts") or 0)),
                    SlotSet("requested_slot", tracker.get_slot("requested_slot"))]
        early: List[Dict[Text, Any]] = []
        switched = await self.another_order_named(tracker)
        for name, value in switched.items():
            tracker.slots[name] = value
            early.append(SlotSet(name, value))
        # A form that starts validates the slots already filled, the order before among them
        # (the slot events Rasa appended): they must not bring it back.
        for event in reversed(tracker.events):
            if event.get("event") != "slot":
                break
            if event.get("name") in switched:
                event["value"] = switched[event["name"]]
        task = photo_answer_task(tracker) or remedy_answer_task(tracker) or \
            order_number_answer_task(tracker) or \
            ("price" if price_protection_task(tracker) else None)
        if task is not None and task != tracker.get_slot("order_task"):
            tracker.slots["order_task"] = task
            early.append(SlotSet("order_task", task))
        if not switched and (named := await self.one_order_named(tracker)) is not None:
            # The one order the request names: acted on, and said which (as its card would).
            for name, value in named["slots"].items():
                tracker.slots[name] = value
                early.append(SlotSet(name, value))
            if not answer_names_the_order(tracker.get_slot("order_task"), named["order"]):
                dispatcher.utter_message(**order_head(named["order"]))
        for name, value in confirmation_answer(tracker).items():
            tracker.slots[name] = value
            early.append(SlotSet(name, value))
        reason = early_aftersale_reason(tracker)
        if reason is not None:
            tracker.slots["aftersale_reason"] = reason.code
            early.append(SlotSet("aftersale_reason", reason.code))
            dispatcher.utter_message(response="utter_aftersale_reason_noted",
                                     reason=reason.label)
        elif (title := early_invoice_title(tracker)) is not None:
            # 「个人」 while the order number is asked for: the title, not a wrong number.
            tracker.slots["invoice_title"] = title
            early.append(SlotSet("invoice_title", title))
            dispatcher.utter_message(response="utter_invoice_title_noted", title=title)
        elif (window := asks_if_aftersale_is_possible(tracker)) or \
                self.asks_how_unanswered(tracker):
            dispatcher.utter_message(**(await aftersale_window(tracker) if window
                                        else aftersales.how_it_is_handled(tracker)))
            # A slot event keeps the form running (a validation that sets none makes Rasa
            # reject the form, dropping this answer); the count stays as it was.
            early.append(SlotSet("failed_attempts", float(tracker.get_slot("failed_attempts")
                                                         or 0)))
        return [*early, *await super().run(dispatcher, tracker, domain)]

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        events = await super().get_validation_events(dispatcher, tracker, domain)
        tracker.add_slots(events)
        switch = await missing_item_switch(tracker)
        if switch:
            announce = tracker.get_slot("aftersale_reason") != switch["aftersale_reason"]
            for name, value in switch.items():
                tracker.slots[name] = value
                events.append(SlotSet(name, value))
            if announce:  # 「少件/漏发」的话,我们给您补发,不用寄回原商品,运费由我们承担。
                dispatcher.utter_message(**aftersales.how_it_is_handled(tracker))
        elif switch := await unshipped_return_switch(tracker):
            for name, value in switch.items():
                tracker.slots[name] = value
                events.append(SlotSet(name, value))
            dispatcher.utter_message(response="utter_return_becomes_cancel")
        for name, value in (await withdraw_switch(tracker)).items():
            tracker.slots[name] = value
            events.append(SlotSet(name, value))
        for name, value in invoice_details_given(tracker).items():
            tracker.slots[name] = value
            events.append(SlotSet(name, value))
        return events

    def asks_how_unanswered(self, tracker: Tracker) -> bool:
        """「怎么处理」 inside an after-sales form that no digression rule answered (read as
        `nlu_fallback`; as `ask_usage` the product action answers it before the form)."""
        return aftersales.asks_how_it_is_handled(tracker) and self.is_answer_turn(tracker)

    def noted_this_turn(self, tracker: Tracker, before: Slots) -> bool:
        """A reason or an invoice title kept by `run` (early_aftersale_reason,
        early_invoice_title), or 「能退吗」 or 「怎么处理」 answered there."""
        return any(tracker.get_slot(name) is not None and
                   tracker.get_slot(name) != before.get(name)
                   for name in ("aftersale_reason", "invoice_title")) or \
            asks_if_aftersale_is_possible(tracker) or self.asks_how_unanswered(tracker)

    async def required_slots(
        self,
        domain_slots: List[Text],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[Text]:
        if self.gave_up(tracker):
            return []
        order_id = tracker.get_slot("order_id")
        if not order_id:
            return ["order_id"]
        if not is_proven(tracker, order_id):
            return ["order_id", "phone_tail"]
        task = tracker.get_slot("order_task")
        if task not in CONFIRMED_TASKS and task not in aftersales.TASKS and task != "invoice":
            return ["order_id"]
        try:
            order = await get_backend().order(order_id, proof(tracker))
        except BackendError:
            # The task action reports the outage; asking more questions would be pointless.
            return ["order_id"]
        if task in aftersales.TASKS:
            if aftersales.filed_before(tracker):
                return ["order_id"]  # the task action says it was filed
            try:
                if returns.about_the_open_one(tracker) and \
                        await returns.open_return(order, tracker):
                    return ["order_id"]  # the task action hands it to action_return_parcel
                if await aftersales.busy_item(order, tracker):
                    return ["order_id"]  # the task action says it is already being handled
            except BackendError:
                pass  # the shop checks again when the after-sale is filed
            return aftersale_slots(order, tracker)
        if task == "invoice":
            earlier = []
            if invoices.asks_status(aftersales.customer_texts(tracker)):
                try:
                    earlier = await invoices.requested_before(order, tracker)
                except BackendError:
                    pass  # asked for as a new invoice; the shop reports a duplicate
            return invoices.slots_needed(order, tracker, earlier)
        if task == "cancel" and order.get("can_cancel"):
            return ["order_id", "confirmed"]
        if task == "withdraw":
            try:
                if await withdrawal.withdrawable(order, tracker):
                    return ["order_id", "confirmed"]
            except BackendError:
                pass  # the task action reports the outage
            return ["order_id"]
        if task == "address" and order.get("can_change_address") and \
                not asks_where_sent(tracker):
            return ["order_id", "new_address", "confirmed"]
        return ["order_id"]


def taken(tracker: Tracker, order: Dict[str, Any], proven: str) -> Slots:
    """The slots of an order taken with the shop's ownership proof (as a click on its card
    would take it), with what the request already said about the task."""
    return {"order_id": order["id"], "verified_order_id": proven, "confirmed": None,
            "new_address": None, **known_task_details(tracker, order)}


def order_head(order: Dict[str, Any]) -> Dict[str, Any]:
    """「订单361204587712340003(5L空气炸锅等2件商品,实付¥475.00)」: the order taken."""
    return part("utter_order_head", order_id=order["id"], items=items_summary(order),
                amount=money(order.get("total_amount")))


def answer_names_the_order(task: Optional[str], order: Dict[str, Any]) -> bool:
    """The task's first answer names the order itself: the status (utter_order_head), a
    refund (「订单…:」), a cancellation's confirmation, the status in place of the tracking
    of an order not shipped."""
    status = order.get("status")
    return task in (None, "status", "refund") or (task == "cancel" and bool(
        order.get("can_cancel"))) or (task == "track" and status in (
            OrderStatus.UNPAID, OrderStatus.PAID, OrderStatus.CANCELLED))


# 「这单寄到哪个地址了」 reads as change_address: it asks for the address, not for a new one.
ASKS_WHERE_SENT = re.compile(r"(寄|发)(到|往|去)了?(哪|什么地方)|哪个地址"
                             r"|(收货)?地址(是|写的|填的)?(哪|什么|啥|对不对|对吗|没错吧)")


def asks_where_sent(tracker: Tracker) -> bool:
    """A message of this task (since the previous order task) asks where the order goes."""
    return any(ASKS_WHERE_SENT.search(str(event.get("text") or ""))
               for event in order_lookup.task_messages(tracker))


def known_task_details(tracker: Tracker, order: Dict[str, Any]) -> Slots:
    """What the customer already said ("充电宝充不进电": quality, the power bank; "开专票":
    a special invoice), so that verifying the order leads straight to the next open
    question. (The form only extracts slots it already needs, i.e. after verification.)"""
    texts = aftersales.customer_texts(tracker)
    if tracker.get_slot("order_task") == "address" and not tracker.get_slot("new_address"):
        # 「地址写错了 帮我改成 杭州市西湖区文三路100号」: the new address was already given; the
        # recipient and the phone stay the order's unless written (「…90号 张伟 138…」).
        address = address_in(texts)
        current = order.get("address") or {}
        if address is None or not (address["name"] or current.get("name")):
            return {}
        address.update(name=address["name"] or current["name"],
                       phone=address["phone"] or current.get("phone", ""))
        return {"new_address": json.dumps(address, ensure_ascii=False)} if address["phone"] \
            else {}
    if tracker.get_slot("order_task") == "invoice" and not tracker.get_slot("invoice_type"):
        kind = next(filter(None, map(invoices.invoice_type_in, texts)), None)
        return {"invoice_type": kind} if kind else {}
    if tracker.get_slot("order_task") not in aftersales.TASKS:
        return {}
    slots: Slots = {}
    reason = aftersales.reason_for(texts, tracker.get_slot("order_task"))
    if reason and not tracker.get_slot("aftersale_reason"):
        slots["aftersale_reason"] = reason.code
    item = aftersales.item_in(order, texts)
    if item and not tracker.get_slot("aftersale_item"):
        slots["aftersale_item"] = item
    return slots


async def missing_item_switch(tracker: Tracker) -> Slots:
    """「收到了但是少了一件」「只收到一个 另一个没收到」 about a delivered order, read as a status
    or tracking question: the missing item's after-sale (the policy's `missing_item`, a
    resend: the form goes on with the item and the photo), not the signed-for record. Not
    while a resend of the order is open (the tracking answer says where it is)."""
    if tracker.get_slot("order_task") not in ("track", "status"):
        return {}
    reason = aftersales.missing_item_reason(
        [str(event.get("text") or "") for event in order_lookup.task_messages(tracker)])
    if reason is None:
        return {}
    order = await proven_order(tracker)
    if order is None or order.get("status") != OrderStatus.DELIVERED or \
            await aftersales.open_after_sale(order, "resend", tracker):
        return {}
    return {"order_task": "quality", "aftersale_reason": reason.code}


def invoice_details_given(tracker: Tracker) -> Slots:
    """The title, tax id and e-mail given with the invoice request, once its order is
    proven: the form extracts a slot only when it needs it, and it needs them only after the
    proof, which the phone tail (or the number of a signed-in customer's order) brings in this
    very turn, so they were asked for again (「我要开专票 订单… 抬头… 税号… 邮箱…」, the fifth
    probe)."""
    if tracker.get_slot("order_task") != "invoice" or \
            not is_proven(tracker, tracker.get_slot("order_id")):
        return {}
    texts = [str(event.get("text") or "") for event in order_lookup.task_messages(tracker)]
    texts = [text for text in texts if text and not text.startswith("/")]
    slots: Slots = {}
    title = tracker.get_slot("invoice_title") or next(filter(None, (
        invoices.early_title(text, tracker.get_slot("invoice_type")) for text in texts)), None)
    if title and not tracker.get_slot("invoice_title"):
        slots["invoice_title"] = title
    if not tracker.get_slot("tax_id") and title != invoices.PERSONAL:
        code = next(filter(None, map(invoices.tax_id_given, texts)), None)
        if code and invoices.tax_id_problem(code) is None:
            slots["tax_id"] = code
    if not tracker.get_slot("invoice_email"):
        email = next(filter(None, map(invoices.email_in, texts)), None)
        if email:
            slots["invoice_email"] = email
    return slots


async def withdraw_switch(tracker: Tracker) -> Slots:
    """「算了不退了」「取消退货」 (read as a cancellation or a new after-sale): task `withdraw`
    for the proven order (its open after-sale, or none to withdraw). Said while an after-sale
    is being filed, it keeps that after-sale's task, with a no."""
    task = tracker.get_slot("order_task")
    if task == "withdraw" or not withdrawal.asks_to_withdraw(tracker):
        return {}
    if task not in ("cancel", *aftersales.TASKS):
        return {}
    previous = task_before_this_turn(tracker)
    if previous in aftersales.TASKS and \
            tracker.get_slot("requested_slot") in (*AFTERSALE_QUESTIONS, "confirmed"):
        # 「算了 不退了」 while this after-sale is being filed: not filed (never another,
        # earlier after-sale withdrawn in its place: the sixth probe).
        return {"order_task": previous, "confirmed": False}
    order = await proven_order(tracker)
    if order is None:
        return {}
    # None open (「取消退货」 about a parcel still on its way): said so, not 「不能取消」.
    return {"order_task": "withdraw", "aftersale_reason": None, "confirmed": None}


async def unshipped_return_switch(tracker: Tracker) -> Slots:
    """「算了 不要了 退款」 about an order not sent yet: its cancellation (the money back at
    once, after the customer's yes), not 「不需要退换」 and a pointer to say 「取消订单」."""
    if tracker.get_slot("order_task") != "return":
        return {}
    order = await proven_order(tracker)
    if order is None or order.get("status") not in (OrderStatus.UNPAID, OrderStatus.PAID) \
            or not order.get("can_cancel"):
        return {}
    return {"order_task": "cancel", "aftersale_reason": None, "confirmed": None}


def aftersale_slots(order: Dict[str, Any], tracker: Tracker) -> List[Text]:
    """Reason, item (when the order has several) and a photo when the policy wants one;
    none once the customer said not to file it."""
    if tracker.get_slot("confirmed") is False:
        return ["order_id"]
    reason = aftersales.slot_reason(tracker)
    if aftersales.state_problem(order) or \
            (reason and aftersales.eligibility_problem(order, reason)):
        return ["order_id"]  # the task action explains why not
    if order.get("status") not in (OrderStatus.DELIVERED, OrderStatus.RETURN_REQUESTED):
        return ["order_id"]
    needed = ["order_id", "aftersale_reason"]
    if len(order.get("items") or []) > 1:
        needed.append("aftersale_item")
    if aftersales.asks_remedy(reason, tracker) or tracker.get_slot("aftersale_remedy"):
        needed.append("aftersale_remedy")
    if aftersales.needs_target(reason, tracker.get_slot("order_task")) and \
            not aftersales.wanted_in(aftersales.customer_texts(tracker)):
        needed.append("exchange_to")
    # A photo asked for is the step before filing anyway; without one (size, seven days:
    # the customer's own reasons) the after-sale is filed on the customer's yes to what it
    # costs (the postage is the customer's), not at once (the fifth and sixth probes).
    needed.append("evidence" if reason is None or reason.needs_photo else "confirmed")
    return needed


def stored_address(tracker: Tracker) -> Optional[Dict[str, str]]:
    raw = tracker.get_slot("new_address")
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None
