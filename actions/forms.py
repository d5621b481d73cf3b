"""Form validation: one base class with retry counting, and the shared order form."""

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

from actions import aftersales, invoices, order_lookup
from actions.backend import (
    BackendError,
    BackendUnavailable,
    NotFound,
    OwnershipRequired,
    VerificationLocked,
    get_backend,
)
from actions.common import HOTLINE, MAX_FAILED_ATTEMPTS
from actions.ownership import identity_token, is_proven, proof
from actions.text import address_problem, format_address, parse_address
from contract import OrderStatus

logger = logging.getLogger(__name__)

ORDER_ID_PATTERN = re.compile(r"(?<!\d)\d{18}(?!\d)")
PHONE_TAIL_PATTERN = re.compile(r"(?<!\d)\d{4}(?!\d)")
# `failed_attempts` once the shop locked the order (too many wrong phone tails): the form
# ends and action_order_task hands the conversation over.
LOCKED_ATTEMPTS = 100.0
# Tasks that change the order ask for an explicit yes first.
CONFIRMED_TASKS = {"cancel", "address"}

Slots = Dict[Text, Any]


class RetryingFormValidation(FormValidationAction):
    """Base for every form: explains each rejection and counts failed attempts.

    After MAX_FAILED_ATTEMPTS rejections in a row `required_slots` is emptied, the
    form ends, and the follow-up action tells the customer how to get help instead
    of looping forever.
    """

    @abstractmethod
    def name(self) -> Text:
        """Abstract, so the action server does not register the base class itself."""

    def reject(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, slot: Text, why: Text
    ) -> Slots:
        failures = int(tracker.get_slot("failed_attempts") or 0) + 1
        if failures < MAX_FAILED_ATTEMPTS:
            dispatcher.utter_message(text=why)
        return {slot: None, "failed_attempts": float(failures)}

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
        events = await super().get_validation_events(dispatcher, tracker, domain)
        if not self.is_answer_turn(tracker) or any(
                event.get("event") == "slot" and event.get("name") != "requested_slot"
                for event in events):
            return events
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        if intent in self.answered_elsewhere or (
                self.failing_intents is not None and intent not in self.failing_intents):
            return events
        failures = int(tracker.get_slot("failed_attempts") or 0) + 1
        logger.info("form %s: a turn without an answer (%s), attempt %s",
                    self.form_name(), intent, failures)
        tracker.slots["failed_attempts"] = float(failures)
        return [*events, SlotSet("failed_attempts", float(failures))]

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


def photo_answer_task(tracker: Tracker) -> Optional[str]:
    """The after-sales task the photo request belongs to, when the latest message brings a
    photo for it but its caption's intent changed `order_task`; else None."""
    if tracker.get_slot("requested_slot") != "evidence" or \
            not aftersales.latest_attachments(tracker):
        return None
    seen_user, previous = False, None
    for event in reversed(tracker.events):
        if event.get("event") in ("session_started", "restart"):
            break
        if event.get("event") == "user":
            seen_user = True
        elif seen_user and event.get("event") == "slot" and event.get("name") == "order_task":
            previous = event.get("value")
            break
    current = tracker.get_slot("order_task")
    if previous in aftersales.TASKS and current != previous:
        return previous
    return None


class ValidateOrderForm(RetryingFormValidation):
    """Order number -> existence -> ownership, then what the task itself needs."""

    def name(self) -> Text:
        return "validate_order_form"

    answered_elsewhere = frozenset({
        "faq", "ask_shipping_time", "ask_promotion", "product_question", "ask_usage",
        "ask_size", "greet", "thank", "deny", "goodbye", "request_human", "complain",
        "wholesale_inquiry", "rate_service"})

    async def extract_order_id(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        """An answer without the number that still says which order (「没有订单号」, a
        phone number, 「买的羽绒服」, 「昨天下的单」) goes to validation whatever its intent."""
        if tracker.get_slot("requested_slot") != "order_id" or tracker.get_slot("order_id") \
                or not self.is_answer_turn(tracker):
            return {}
        text = (tracker.latest_message or {}).get("text") or ""
        if text.startswith("/") or ORDER_ID_PATTERN.search(text.replace(" ", "")):
            return {}
        latest = order_lookup.recent(tracker)[:1]
        if order_lookup.says_no_number(tracker) or order_lookup.phone_in([text]) or \
                order_lookup.date_in([text]):
            return {"order_id": text}
        # 「买的羽绒服」 names the order; 「这个充电宝支持快充吗」 asks about the product,
        # which its own rule answers while the form waits.
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        if order_lookup.product_in(latest) and intent not in self.answered_elsewhere:
            return {"order_id": text}
        return {}

    async def find_without_number(self, tracker: Tracker) -> Optional[Slots]:
        """The order named by a phone, product or date instead of its number (None when
        the message gives none of them). Exactly one match is taken (its ownership is
        proven: the linked customer's own order, or the backend matched the phone); else
        the ask action shows what was found and what is still needed."""
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
                              "confirmed": None, "new_address": None, "failed_attempts": 0.0})
                slots.update(known_task_details(tracker, order))
                return slots
        texts = [event.get("text") or "" for event in order_lookup.recent(tracker)]
        first_phone = phone and not customer_id and not (product or day) and \
            order_lookup.phone_in(texts[:1]) and not order_lookup.phone_in(texts[1:])
        if not first_phone:  # a phone given for the first time is progress, not a failure
            slots["failed_attempts"] = float(int(tracker.get_slot("failed_attempts") or 0) + 1)
        return slots

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[Dict[Text, Any]]:
        # A photo sent while the bot asks for one is the answer, whatever its caption says:
        # "外壳摔裂了你们看看怎么处理" reads as a status question, and that intent's slot
        # mapping would turn the after-sale into a status lookup (finding 12).
        task = photo_answer_task(tracker)
        if task is None:
            return await super().run(dispatcher, tracker, domain)
        tracker.slots["order_task"] = task
        return [SlotSet("order_task", task), *await super().run(dispatcher, tracker, domain)]

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
            try:
                if await aftersales.busy_item(order, tracker):
                    return ["order_id"]  # the task action says it is already being handled
            except BackendError:
                pass  # the shop checks again when the after-sale is filed
            return aftersale_slots(order, tracker)
        if task == "invoice":
            return invoices.slots_needed(order, tracker)
        if task == "cancel" and order.get("can_cancel"):
            return ["order_id", "confirmed"]
        if task == "address" and order.get("can_change_address"):
            return ["order_id", "new_address", "confirmed"]
        return ["order_id"]

    async def extract_aftersale_reason(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        if tracker.get_slot("aftersale_reason") or \
                tracker.get_slot("order_task") not in aftersales.TASKS:
            return {}
        reason = aftersales.policy().reason_in(aftersales.customer_texts(tracker))
        return {"aftersale_reason": reason.code} if reason else {}

    def validate_aftersale_reason(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        if value in aftersales.policy().reasons:
            return {"aftersale_reason": value, "failed_attempts": 0.0}
        return self.reject(dispatcher, tracker, "aftersale_reason", "请点选一个售后原因哦。")

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
                               f"这个订单里有:{'、'.join(names)},是哪一件呢?")
        return {"aftersale_item": match, "failed_attempts": 0.0}

    async def extract_evidence(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        if tracker.get_slot("order_task") not in aftersales.TASKS or \
                not aftersales.latest_attachments(tracker):
            return {}
        try:
            ids = await aftersales.store_evidence(tracker, tracker.get_slot("order_id"))
        except aftersales.AttachmentRejected as why:
            dispatcher.utter_message(text=str(why))
            return {}
        except BackendError:
            dispatcher.utter_message(text="图片暂时保存不了,请稍后再发一次。")
            return {}
        return {"evidence": [*(tracker.get_slot("evidence") or []), *ids]} if ids else {}

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
        kind = invoices.invoice_type_in(text) if text else None
        return {"invoice_type": kind} if kind and not tracker.get_slot("invoice_type") else {}

    def validate_invoice_type(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        if value in invoices.TYPE_TEXT:
            return {"invoice_type": value, "failed_attempts": 0.0}
        return self.reject(dispatcher, tracker, "invoice_type", "请点选要开普票还是专票哦。")

    async def extract_invoice_title(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        text = self._invoice_text(tracker)
        if not text or tracker.get_slot("requested_slot") != "invoice_title" or \
                text.startswith("/"):
            return {}
        for found in (invoices.email_in(text), invoices.tax_id_in(text)):
            if found:
                text = text.replace(found, " ")
        return {"invoice_title": invoices.clean_title(text)}

    def validate_invoice_title(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        title = invoices.clean_title(str(value or ""))
        problem = invoices.title_problem(title, tracker.get_slot("invoice_type"))
        if problem:
            return self.reject(dispatcher, tracker, "invoice_title", problem)
        return {"invoice_title": title, "failed_attempts": 0.0}

    async def extract_tax_id(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        text = self._invoice_text(tracker) or ""
        found = invoices.tax_id_in(text) if text else None
        # An 18-digit order number looks like a tax id; only take it when asked for one.
        if found and (found.isdigit() and "税号" not in text
                      and tracker.get_slot("requested_slot") != "tax_id"):
            return {}
        return {"tax_id": found} if found else {}

    def validate_tax_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        problem = invoices.tax_id_problem(str(value or ""))
        if problem:
            return self.reject(dispatcher, tracker, "tax_id", problem)
        return {"tax_id": value, "failed_attempts": 0.0}

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
                               "邮箱格式好像不对哦,请发一个能收到发票的邮箱,"
                               "比如 zhangsan@163.com。")
        return {"invoice_email": email, "failed_attempts": 0.0}

    async def validate_order_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        text = str(value or "")
        match = ORDER_ID_PATTERN.search(text.replace(" ", ""))
        if not match and (found := await self.find_without_number(tracker)) is not None:
            return found
        if not match:
            return self.reject(
                dispatcher, tracker, "order_id",
                "这个订单号格式好像不对哦,订单号是18位数字,在「我的订单」-订单详情里可以复制。",
            )
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
            return self.reject(
                dispatcher, tracker, "order_id",
                f"没有查到订单号{order_id},麻烦核对一下是否输错了数字哦。",
            )
        except VerificationLocked:
            return self.locked(dispatcher)
        except BackendError as error:
            if not isinstance(error, BackendUnavailable):
                logger.info("ownership check refused: %s", error.code)
            dispatcher.utter_message(text=f"订单系统暂时有点忙,请稍后再发一次订单号,或拨打{HOTLINE}。")
            return {"order_id": None}
        if order_id != tracker.get_slot("order_id"):
            slots["failed_attempts"] = 0.0
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
        dispatcher.utter_message(
            text="手机尾号核对失败次数太多,为了保护订单安全,这个订单的自助查询已暂时锁定。"
            "我帮您转人工客服核实身份,请稍等~")
        return {"phone_tail": None, "verified_order_id": None,
                "failed_attempts": LOCKED_ATTEMPTS}

    async def validate_phone_tail(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        order_id = tracker.get_slot("order_id")
        match = PHONE_TAIL_PATTERN.search(str(value or ""))
        if match and match.group(0) not in (tracker.latest_message.get("text") or ""):
            # A tail proven for an earlier order, re-validated when the form starts for a
            # new one: ask again without calling it a failed attempt.
            return {"phone_tail": None}
        if not match:
            return self.reject(
                dispatcher, tracker, "phone_tail", "请发送下单手机号的最后4位数字哦,比如 5678。"
            )
        try:
            proven = await get_backend().prove_owner(order_id, phone_tail=match.group(0),
                                                     client=tracker.sender_id)
        except VerificationLocked:
            return self.locked(dispatcher)
        except BackendError:
            dispatcher.utter_message(text="核对系统暂时有点忙,请稍后再发一次手机尾号。")
            return {"phone_tail": None}
        if not proven:
            logger.info("ownership check failed for an order (attempt counted)")
            return self.reject(
                dispatcher, tracker, "phone_tail",
                "手机尾号和这个订单对不上哦,请确认是下单时填写的手机号后4位。",
            )
        slots = {"phone_tail": match.group(0), "verified_order_id": proven,
                 "failed_attempts": 0.0}
        if tracker.get_slot("order_task") in (*aftersales.TASKS, "invoice"):
            try:
                slots.update(known_task_details(tracker,
                                                await get_backend().order(order_id, proven)))
            except BackendError:
                pass  # asked for instead
        return slots

    async def validate_new_address(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        address = parse_address(str(value or ""))
        problem = address_problem(address)
        if problem:
            return self.reject(
                dispatcher, tracker, "new_address",
                f"{problem},请发送完整地址,比如:浙江省杭州市西湖区文三路100号。",
            )
        if address["phone"] == "" or address["name"] == "":
            try:
                current = (await get_backend().order(tracker.get_slot("order_id"),
                                                     proof(tracker)))["address"]
            except (BackendError, KeyError, TypeError):
                current = {}
            address["name"] = address["name"] or current.get("name", "")
            address["phone"] = address["phone"] or current.get("phone", "")
        if not address["name"] or not address["phone"]:
            return self.reject(
                dispatcher, tracker, "new_address", "请把收货人姓名和11位手机号也一起发给我哦。"
            )
        dispatcher.utter_message(text=f"新的收货信息:{format_address(address)}")
        return {"new_address": json.dumps(address, ensure_ascii=False), "failed_attempts": 0.0}

    async def validate_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        return {"confirmed": value}


def known_task_details(tracker: Tracker, order: Dict[str, Any]) -> Slots:
    """What the customer already said ("充电宝充不进电": quality, the power bank; "开专票":
    a special invoice), so that verifying the order leads straight to the next open
    question. (The form only extracts slots it already needs, i.e. after verification.)"""
    texts = aftersales.customer_texts(tracker)
    if tracker.get_slot("order_task") == "invoice" and not tracker.get_slot("invoice_type"):
        kind = next(filter(None, map(invoices.invoice_type_in, texts)), None)
        return {"invoice_type": kind} if kind else {}
    if tracker.get_slot("order_task") not in aftersales.TASKS:
        return {}
    slots: Slots = {}
    reason = aftersales.policy().reason_in(texts)
    if reason and not tracker.get_slot("aftersale_reason"):
        slots["aftersale_reason"] = reason.code
    item = aftersales.item_in(order, texts)
    if item and not tracker.get_slot("aftersale_item"):
        slots["aftersale_item"] = item
    return slots


def aftersale_slots(order: Dict[str, Any], tracker: Tracker) -> List[Text]:
    """Reason, item (when the order has several) and a photo when the policy wants one."""
    reason = aftersales.policy().reasons.get(tracker.get_slot("aftersale_reason") or "")
    if reason and aftersales.eligibility_problem(order, reason):
        return ["order_id"]  # the task action explains why not
    if order.get("status") not in (OrderStatus.DELIVERED, OrderStatus.RETURN_REQUESTED):
        return ["order_id"]
    needed = ["order_id", "aftersale_reason"]
    if len(order.get("items") or []) > 1:
        needed.append("aftersale_item")
    if reason is None or reason.needs_photo:
        needed.append("evidence")
    return needed


def stored_address(tracker: Tracker) -> Optional[Dict[str, str]]:
    raw = tracker.get_slot("new_address")
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None
