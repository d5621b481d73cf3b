"""Returns, exchanges, quality problems and damaged parcels, by the shop's policy file.

The order form collects the order (and proves ownership) as for every order task; for
after-sales it then also needs the reason, the item, and a photo when the policy asks for
one. Photos come as channel-independent attachments in the message metadata:
`metadata.attachments = [{"type": "image", "url": "https://..." | "data:image/png;base64,..."}]`.
"""

from __future__ import annotations

import base64
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Literal, Optional, Tuple

from pydantic import StrictBool, validator
from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import attachments
from actions.backend import BackendError, InvalidRequest, get_backend
from actions.common import empathy_line, joined, part, session_user_events
from actions.outcomes import RESOLVED, UNRESOLVED, outcome
from actions.ownership import proof
from actions.text import day_words
from contract import AfterSaleStatus, OrderStatus, TodoStatus
from service_common.config import Count, Model, Text, load_yaml

logger = logging.getLogger(__name__)

POLICY_FILE = Path(__file__).resolve().parent.parent / "policy" / "aftersales.yml"
MAX_IMAGE_BYTES = 10 * 1024 * 1024
TASKS = ("return", "exchange", "quality")  # order_task values of after-sales requests
# A size or colour: 「大一码」「XL」「42码」「白色」「曜石黑」「燕麦色」.
TARGET = (r"(?<![A-Za-z])([大小](?:一|两|二|2)[码号]|[2-4]?X{0,3}[SML](?:码|号)?|\d{2,3}(?:码|号)|"
          r"(?:(?:曜石|石墨|燕麦|雾霾|星空|香槟|玫瑰|象牙|珍珠|焦糖|薄荷|樱花|橄榄|咖啡|克莱因|"
          r"湖光|月光|云母|奶油|经典|酒|军|藏|奶|墨|深|浅|银|灰|雾|米)?[白黑红蓝绿黄灰粉紫棕咖米银金橙青]|"
          r"卡其|燕麦)色?)(?![A-Za-z])")
# 「能换个大一码不」「换XL」「换成白色的」: what an exchange should bring instead.
WANTED = re.compile(r"换(?:成|个|一个|一件|一双|为)?\s*" + TARGET, re.IGNORECASE)
# The answer to 「想换成什么尺码呢?」: the size or colour alone (「XL」「要大一码的」), or a
# bare European size (「42」).
ANSWERED_TARGET = re.compile(TARGET + r"|(?<!\d)(\d{2})(?!\d)", re.IGNORECASE)


SAME_SIZE = re.compile(r"(?:尺码|码数|码子|大小)(?:不变|一样|不用换|不换|照旧|就行)")


@dataclass(frozen=True)
class Reason:
    code: str
    label: str
    kind: str
    needs_photo: bool
    photo: str
    shipping: str
    keywords: Tuple[str, ...]


@dataclass(frozen=True)
class Policy:
    """How the assistant handles after-sales; the windows are the shop's (an order's
    `no_reason_until`, the shop's GET /api/policy), not read here."""

    return_address: str
    send_back_days: int
    refund_time: str
    reasons: Dict[str, Reason]

    def reason_in(self, texts: List[str]) -> Optional[Reason]:
        for text in texts:  # newest first: a correction wins
            text = SAME_SIZE.sub("", text)  # 「换个颜色 尺码不变」 is no size problem
            for reason in self.reasons.values():
                if any(word in text for word in reason.keywords):
                    return reason
        return None


class ReasonSpec(Model):
    label: Text
    kind: Literal["return", "exchange", "resend"]
    needs_photo: StrictBool
    photo: str = ""  # what the photo must show
    shipping: Literal["seller", "buyer"]
    keywords: List[Text]

    @validator("photo", always=True)
    def _photo_named(cls, photo: str, values: Dict[str, Any]) -> str:
        if values.get("needs_photo") and not photo:
            raise ValueError("say which `photo` is needed")
        return photo


class PolicyFile(Model):
    """policy/aftersales.yml"""

    return_address: Text
    # The shop's windows: shop/policy.py enforces them, the bot takes them from the shop.
    no_reason_days: Count
    after_sale_days: Count
    price_protection_days: Count = 7  # the shop's too: it answers with the window
    send_back_days: Count
    refund_time: Text
    reasons: Dict[str, ReasonSpec] = {}


def load_policy(path: Path = POLICY_FILE) -> Policy:
    spec = load_yaml(path, PolicyFile)
    reasons = {code: Reason(code, raw.label, raw.kind, raw.needs_photo, raw.photo, raw.shipping,
                            tuple(raw.keywords)) for code, raw in spec.reasons.items()}
    return Policy(spec.return_address, spec.send_back_days, spec.refund_time, reasons)


@lru_cache(maxsize=1)
def policy() -> Policy:
    return load_policy()


policy()  # validated when the action server starts


def customer_texts(tracker: Tracker, order: Optional[Dict[str, Any]] = None) -> List[str]:
    """This session's customer messages, newest first; with the order, without those about
    other items only (「另外那件卫衣也想退了」 gives no reason for this order's after-sale)."""
    return [event["text"] for event in session_user_events(tracker) if event.get("text")
            and not (order and other_items_named(order, (event.get("parse_data") or {})))]


def products_named(parse: Dict[str, Any]) -> List[str]:
    """The products a message names (its NLU `product` entities)."""
    return [str(entity["value"]) for entity in parse.get("entities") or []
            if entity.get("entity") == "product" and entity.get("value")]


def other_items_named(order: Dict[str, Any], parse: Dict[str, Any]) -> List[str]:
    """The products a message names when none of them is an item of this order; empty when
    it names none, or one of the order's."""
    named = products_named(parse)
    others = [name for name in named if item_in(order, [name]) is None]
    return others if len(others) == len(named) else []


def item_in(order: Dict[str, Any], texts: List[str]) -> Optional[str]:
    """The order item a customer named, by its name or its last characters (the noun in
    Chinese product names: 20000毫安充电宝 -> 充电宝, 男士轻薄羽绒服 -> 羽绒服)."""
    names = [item.get("name", "") for item in order.get("items") or []]
    for text in texts:
        for size in (None, 3, 2):
            found = [name for name in names if name and (name[-size:] if size else name) in text]
            if len(found) == 1:
                return found[0]
    return None


def latest_attachments(tracker: Tracker) -> List[Dict[str, Any]]:
    latest = session_user_events(tracker)[:1]
    attachments = (latest[0].get("metadata") or {}).get("attachments") if latest else None
    return [a for a in attachments or [] if isinstance(a, dict)][:9]


class AttachmentRejected(Exception):
    """Something the customer sent cannot be used as evidence; the response says why."""

    def __init__(self, response: str, **values: Any) -> None:
        super().__init__(response)
        self.response, self.values = response, values


async def fetch(url: str) -> Tuple[bytes, str]:
    """The attachment's bytes and declared type, at most MAX_IMAGE_BYTES."""
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        try:
            content = base64.b64decode(data, validate=True)
        except ValueError as error:
            raise AttachmentRejected("utter_photo_incomplete") from error
        return content, header[5:].split(";")[0] or "application/octet-stream"
    # Only allowed media hosts with public addresses, or the channel's own uploads (SSRF).
    try:
        return await attachments.download(url, MAX_IMAGE_BYTES)
    except attachments.TooBig as error:
        raise AttachmentRejected("utter_photo_too_big") from error
    except attachments.AttachmentRefused as error:
        logger.warning("attachment from %s not used: %s", attachments.describe(url),
                       error.reason)
        raise AttachmentRejected("utter_photo_link_unusable") from error


async def store_evidence(tracker: Tracker, order_id: str) -> List[str]:
    """Upload the latest message's image attachments to the shop; their upload ids."""
    ids = []
    for attachment in latest_attachments(tracker):
        if attachment.get("type") not in (None, "image", "file"):
            raise AttachmentRejected("utter_photo_only_images")
        content, content_type = await fetch(str(attachment.get("url") or ""))
        if len(content) > MAX_IMAGE_BYTES:
            raise AttachmentRejected("utter_photo_too_big")
        try:
            upload = await get_backend().upload(content, content_type, order_id,
                                                tracker.sender_id, proof(tracker))
        except InvalidRequest as error:
            # The shop checks the real format (magic bytes) and the size.
            raise AttachmentRejected("utter_photo_refused",
                                     problem=error.message.rstrip("。")) from error
        ids.append(str(upload["id"]))
    return ids


def state_problem(order: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """Why the order's state allows no after-sale at all, whatever the reason (the
    response that says it)."""
    status = order.get("status")
    if status in (OrderStatus.UNPAID, OrderStatus.PAID):
        return part("utter_aftersale_not_shipped")
    if status == OrderStatus.SHIPPED:
        return part("utter_aftersale_on_its_way")
    if status in (OrderStatus.REFUNDED, OrderStatus.CANCELLED):
        return part("utter_aftersale_closed", state=order.get("status_text"))
    if status == OrderStatus.DELIVERED:
        # Past the shop's after-sales period: said before any photo is asked for, with
        # the way that is left (the warranty, a human), not the shop's refusal later.
        return past_window(order, "after_sale_until", "utter_aftersale_expired")
    return None


def eligibility_problem(order: Dict[str, Any], reason: Reason) -> Optional[Dict[str, Any]]:
    problem = state_problem(order)
    if problem:
        return problem
    # 退货中: another item of the order may still need help; the shop checks per item.
    # The window is the shop's: its deadline for this order.
    if reason.code == "no_reason_7d":
        return past_window(order, "no_reason_until", "utter_aftersale_past_deadline")
    return None


def past_window(order: Dict[str, Any], until_field: str,
                response: str) -> Optional[Dict[str, Any]]:
    """`response` when the shop's deadline `until_field` of a delivered order has passed,
    with the delivery day and the window's length in days."""
    if not order.get(until_field) or not order.get("delivered_at"):
        return None
    delivered = datetime.fromisoformat(order["delivered_at"])
    until = datetime.fromisoformat(order[until_field])
    if datetime.now(until.tzinfo) <= until:
        return None
    return part(response, delivered=day_words(delivered.date().isoformat()),
                days=(until - delivered).days)


def next_step_text(after_sale: Dict[str, Any], reason: Reason,
                   wanted: Optional[str] = None) -> Dict[str, Any]:
    rules = policy()
    # The ticket number as the shop and its agents write it (AS00000037).
    ref = part("utter_aftersale_ref",
               after_sale_id=after_sale.get("ticket_no") or after_sale.get("id"))
    kind = after_sale.get("kind") or reason.kind
    if kind == "resend":
        return part("utter_aftersale_resend", ref=ref)
    deadline = day_words((datetime.now() + timedelta(days=rules.send_back_days)).date()
                         .isoformat())
    # Same rule as the FAQ (faq/return_shipping_fee): no cash-on-delivery parcels.
    postage = part("utter_postage_ours" if reason.shipping == "seller" else "utter_postage_yours")
    if kind == "exchange":
        target = part("utter_aftersale_exchange_to", target=wanted) if wanted else ""
        return part("utter_aftersale_exchange", ref=ref, target=target, deadline=deadline,
                    address=rules.return_address, postage=postage)
    return part("utter_aftersale_return", ref=ref, deadline=deadline,
                address=rules.return_address, postage=postage, refund_time=rules.refund_time)


async def busy_item(order: Dict[str, Any], tracker: Tracker) -> Optional[str]:
    """The item the customer means, if it already has an open after-sale (an order in
    退货中 may have other items that still need help)."""
    if order.get("status") != OrderStatus.RETURN_REQUESTED:
        return None
    items = order.get("items") or []
    name = tracker.get_slot("aftersale_item") or (items[0].get("name") if len(items) == 1
                                                  else None)
    product = next((item.get("product_id") for item in items if item.get("name") == name), None)
    if product is None:
        return None
    for record in await get_backend().after_sales(order["id"], proof(tracker)):
        if record.get("status") in (AfterSaleStatus.PENDING, AfterSaleStatus.PROCESSING) and \
                (not record.get("items") or product in record["items"]):
            return name
    return None


async def open_after_sale(order: Dict[str, Any], kind: str,
                          tracker: Tracker) -> Optional[Dict[str, Any]]:
    """The order's newest after-sale of this kind still pending or in progress."""
    try:
        records = await get_backend().after_sales(order["id"], proof(tracker))
    except BackendError:
        return None
    busy = [record for record in records if record.get("type") == kind and
            record.get("status") in (AfterSaleStatus.PENDING, AfterSaleStatus.PROCESSING)]
    return busy[-1] if busy else None


# The order number alone (「361204587712340021」「订单号:3612…」), sent again.
BARE_ORDER_NUMBER = re.compile(r"\s*(?:订单号?|单号)?\s*[:：是为]?\s*\d{18}\s*[。.!！~]?\s*")


def filed_before(tracker: Tracker) -> bool:
    """The latest message is only the number of an order whose after-sale was filed earlier
    in this session (sent again after 「换货申请已提交」): nothing new to file or to ask."""
    order_id = tracker.get_slot("order_id")
    text = str((tracker.latest_message or {}).get("text") or "")
    if not order_id or order_id not in text or not BARE_ORDER_NUMBER.fullmatch(text):
        return False
    for event in reversed(tracker.events):
        if event.get("event") == "session_started":
            return False
        value = event.get("value") if event.get("name") == "outcome" else None
        if event.get("event") == "slot" and isinstance(value, dict) and \
                value.get("status") == RESOLVED and value.get("key") == order_id and \
                str(value.get("operation")).startswith("after_sale:"):
            return True
    return False


def wanted_in(texts: List[str]) -> Optional[str]:
    """What the customer wants instead (「大一码」, 「XL」, 「白色」), newest message first."""
    for text in texts:
        found = WANTED.search(text)
        if found:
            return found.group(1).upper()
    return None


def target_answered(text: str) -> Optional[str]:
    """The size and colour in an answer to 「想换成什么尺码?」 (「XL的」 -> XL, 「42」 -> 42码,
    「曜石黑 L码」 -> 曜石黑 L码)."""
    wanted = WANTED.search(text)  # 「藏青换成曜石黑」: what comes after 换
    found = [match.group(1).upper() if match.group(1) else f"{match.group(2)}码"
             for match in ANSWERED_TARGET.finditer(text[wanted.start():] if wanted else text)]
    return " ".join(dict.fromkeys(found)) or None


def needs_target(reason: Optional[Reason], task: Optional[str] = None) -> bool:
    """An exchange for the wrong size, or for another colour the customer prefers, must say
    what to send instead."""
    return reason is not None and (reason.code == "size" and reason.kind == "exchange" or
                                   reason.code == "no_reason_7d" and task == "exchange")


SIZE_TARGET = re.compile(r"[大小](?:一|两|二|2)[码号]|^[2-4]?X{0,3}[SML](?:码|号)?$|"
                         r"\d{2,3}(?:码|号)?$", re.IGNORECASE)


def reason_for(texts: List[str], task: Optional[str]) -> Optional[Reason]:
    """The policy's reason named in the customer's words; for an exchange that names none,
    what is asked for says it (「换XL」: the size; 「换黑色」: a colour the customer prefers,
    七天无理由)."""
    rules = policy()
    reason = rules.reason_in(texts)
    if reason is not None or task != "exchange":
        return reason
    wanted = wanted_in(texts)
    if wanted is None:
        return None
    return rules.reasons.get("size" if SIZE_TARGET.search(wanted) else "no_reason_7d")


# The shop's fault (broken, damaged, wrong, not as described) can be put right in more than
# one way, and the customer's words choose (「碎了 直接退款吧」). A customer who only reports a
# fault the policy would refund (quality, not as described) is asked, as a shop's agent would:
# 「给您换新还是退货退款?」; one the policy would replace (damaged, wrong item) hears that at
# once. A customer's own reason (size, 7 days) and a missing item keep the policy's way.
REMEDY_WORDS = {
    "resend": re.compile(r"(?<!不)(?<!不用)(?<!别)(补发|重发|重新发|再发(一|个)|补寄)"),
    "exchange": re.compile(r"(?<!不)(?<!不用)(?<!别)(?<!不要)(?<!不想)"
                           r"(换(个|一个|件|一件)?新|换货|换一个|换个|换成|给我换|换掉|换吧)"),
    "return": re.compile(r"(?<!不)(?<!不用)(?<!别)(?<!不要)(?<!不想)"
                         r"(退货|退款|退钱|退了吧|退掉|退回去|不要了)"),
}


def remedies(reason: Optional[Reason]) -> Tuple[str, ...]:
    """The ways the customer may choose between (the policy's own first), or ()."""
    if reason is None or reason.shipping != "seller" or reason.code == "missing_item":
        return ()
    return ("exchange", "return") if reason.kind == "return" else (reason.kind, "return")


def remedy_in(texts: List[str], reason: Optional[Reason]) -> Optional[str]:
    """The remedy the customer asked for among those offered, newest message first; the
    last one named when a message names two (「退货吧 算了还是换新」)."""
    offered = remedies(reason)
    for text in texts:
        said = {kind: max((found.end() for found in REMEDY_WORDS[kind].finditer(text)),
                          default=-1) for kind in offered}
        if said and max(said.values()) >= 0:
            return max(said, key=lambda kind: said[kind])
    return None


def asks_remedy(reason: Optional[Reason], tracker: Tracker) -> bool:
    """Whether the order form asks how to put it right: a problem reported (task `quality`),
    not a return or exchange asked for, with more than one way and none said yet."""
    return tracker.get_slot("order_task") == "quality" and reason is not None and \
        reason.kind == "return" and bool(remedies(reason)) and \
        remedy_in(customer_texts(tracker), reason) is None


def kind_of(reason: Reason, task: Optional[str], remedy: Optional[str] = None) -> str:
    """The after-sale filed: the remedy the customer chose where there is a choice, else
    the policy's; the customer may ask for an exchange where the policy would refund."""
    if remedy in remedies(reason):
        return str(remedy)
    return "exchange" if task == "exchange" and reason.kind == "return" else reason.kind


def chosen_remedy(tracker: Tracker, reason: Reason) -> Optional[str]:
    """The answer to the form's question, else what the customer's messages asked for."""
    return tracker.get_slot("aftersale_remedy") or remedy_in(customer_texts(tracker), reason)


async def submit(order: Dict[str, Any], reason: Reason, item: str, evidence: List[str],
                 kind: str, conversation_id: str,
                 order_proof: Optional[str] = None, wanted: Optional[str] = None
                 ) -> Dict[str, Any]:
    # The shop's record says what to send instead (「尺码不合适,换大一码」).
    label = f"{reason.label},换{wanted}" if kind == "exchange" and wanted else reason.label
    return await get_backend().create_after_sale(order["id"], {
        "kind": kind, "item": item, "reason_code": reason.code, "reason": label,
        # The same photo sent twice is one upload; the shop counts ids as sent (max 9).
        "evidence": list(dict.fromkeys(int(upload) for upload in evidence)),
        "conversation_id": conversation_id},
        order_proof)


# What a message says about a delivered parcel. 「显示签收了但是我没收到」「不是我签的」: it never
# reached the customer (the signing is checked with the courier). 「收到了但是少了一件」「只收到一个
# 少发了一件」「包裹里少了个配件」: it came, and an item of it did not (a resend, `missing_item`).
SIGNED_BY_SOMEONE_ELSE = re.compile(r"不是我签|(谁|别人|哪个)签收")
NOT_RECEIVED = re.compile(r"(没|没有|未|没能)(收到|拿到|见到|看到)|"
                          + SIGNED_BY_SOMEONE_ELSE.pattern)
PART_OF_PARCEL = re.compile(
    r"(?<![多至])少(发|寄|给|送)?了?[一两二三个件样套]|少件|缺(了|件|少)|只收到|就收到|只到了"
    r"|(包裹|盒子|箱子|袋子|快递|箱)里(面)?(没|少|缺|只有)"
    r"|另(一|外)(一)?(个|件|半|样)(?!订?单).{0,6}(没|未)|还有(一|两)?(个|件|样).{0,4}没(收到|到|发)"
    r"|配件(没|呢|不见)|(没|少|缺)(有)?配件")
PARCEL_NOT_RECEIVED, PART_MISSING = "not_received", "part_missing"


def parcel_news(text: str) -> Optional[str]:
    """PARCEL_NOT_RECEIVED, PART_MISSING (an item short in a parcel that came) or None.
    The words of the policy's `missing_item` count when the message does not say that
    nothing came (「没收到 是不是漏发了」 is the parcel)."""
    if SIGNED_BY_SOMEONE_ELSE.search(text):
        return PARCEL_NOT_RECEIVED
    if PART_OF_PARCEL.search(text):
        return PART_MISSING
    if NOT_RECEIVED.search(text):
        return PARCEL_NOT_RECEIVED
    missing = policy().reasons.get("missing_item")
    if missing and any(word in text for word in missing.keywords):
        return PART_MISSING
    return None


def news_of_the_parcel(texts: List[str]) -> Optional[str]:
    """What the newest of these messages (newest first) that says anything says of it."""
    return next(filter(None, map(parcel_news, texts)), None)


def missing_item_reason(texts: List[str]) -> Optional[Reason]:
    """The policy's `missing_item` reason when the messages (newest first) say an item is
    short in a parcel that came; else None."""
    if news_of_the_parcel(texts) != PART_MISSING:
        return None
    return policy().reasons.get("missing_item")


class ActionAskAftersaleReason(Action):
    def name(self) -> str:
        return "action_ask_aftersale_reason"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        buttons = [{"title": reason.label,
                    "payload": f'/inform{{"aftersale_reason": "{reason.code}"}}'}
                   for reason in policy().reasons.values()]
        dispatcher.utter_message(response="utter_ask_aftersale_reason", buttons=buttons)
        return []


class ActionAskAftersaleRemedy(Action):
    """「给您换个新的,还是退货退款呢?」 with a button per way the policy allows."""

    def name(self) -> str:
        return "action_ask_aftersale_remedy"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        reason = slot_reason(tracker)
        offered = remedies(reason) or ("return",)
        titles = [part(f"utter_remedy_{kind}") for kind in offered]
        dispatcher.utter_message(response="utter_ask_aftersale_remedy",
                                 choices=joined(titles, "utter_separator_or"), buttons=[
            {"title": title, "payload": f'/inform{{"aftersale_remedy": "{kind}"}}'}
            for kind, title in zip(offered, titles, strict=True)])
        return []


class ActionAskAftersaleItem(Action):
    def name(self) -> str:
        return "action_ask_aftersale_item"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        try:
            order = await get_backend().order(tracker.get_slot("order_id"), proof(tracker))
            names = [item.get("name", "") for item in order.get("items") or []]
        except BackendError:
            names = []
        dispatcher.utter_message(response="utter_ask_aftersale_item", buttons=[
            {"title": name, "payload": f'/inform{{"aftersale_item": "{name}"}}'}
            for name in names if name])
        return []


# 「怎么处理」「那怎么办」 while the order form asks for the order: how the shop handles it.
ASKS_HOW_IT_IS_HANDLED = re.compile(r"(那|那你们|你们|那要)?"
                                    r"(怎么处理|怎么办|咋办|咋处理|怎么弄|怎么解决)[呢啊呀吧]?[?？。!！~]*")


def asks_how_it_is_handled(tracker: Tracker) -> bool:
    text = str((tracker.latest_message or {}).get("text") or "").strip()
    return tracker.active_loop.get("name") == "order_form" and \
        tracker.get_slot("order_task") in TASKS and bool(ASKS_HOW_IT_IS_HANDLED.fullmatch(text))


def slot_reason(tracker: Tracker) -> Optional[Reason]:
    """The reason kept in the slot `aftersale_reason`."""
    return policy().reasons.get(tracker.get_slot("aftersale_reason") or "")


def reason_so_far(tracker: Tracker) -> Optional[Reason]:
    """The reason kept in the slot, else the one the customer's messages give."""
    return slot_reason(tracker) or policy().reason_in(customer_texts(tracker))


def how_it_is_handled(tracker: Tracker) -> Dict[str, Any]:
    """What the shop does for the reason given so far (补发, 换货 or 退货), with the postage."""
    reason = reason_so_far(tracker)
    if reason is None:
        return part("utter_aftersale_how_unknown")
    postage = part("utter_postage_ours_short" if reason.shipping == "seller"
                   else "utter_postage_yours")
    kind = kind_of(reason, tracker.get_slot("order_task"))  # 「想换个颜色」: an exchange
    how = "choice" if kind == "return" and "exchange" in remedies(reason) else kind
    wanted = tracker.get_slot("exchange_to") or wanted_in(customer_texts(tracker))
    return part(f"utter_aftersale_how_{how}", reason=reason.label, postage=postage,
                refund_time=policy().refund_time,
                target=part("utter_aftersale_how_target", target=wanted) if wanted else "")


PHOTO_LATER = re.compile(r"(等下|等会|晚点|回头|一会|待会|明天|回家)(儿)?(再)?(拍|发|给)")
NO_PHOTO = re.compile(r"(没|没有|不想|不方便|不会|懒得|拍不了|不能)(拍|照)|没(有)?照片|不拍|"
                      r"(直接|不拍照?)(就)?(能|可以)?退")


class ActionAskEvidence(Action):
    def name(self) -> str:
        return "action_ask_evidence"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        reason = slot_reason(tracker)
        text = str((tracker.latest_message or {}).get("text") or "")
        if reason and PHOTO_LATER.search(text):
            # 「照片等下发你」: no second request, the after-sale waits for it.
            dispatcher.utter_message(response="utter_ask_evidence_later", photo=reason.photo)
        elif reason and NO_PHOTO.search(text):
            # 「没拍照 能直接退吗」: why it is needed, and the way without one.
            dispatcher.utter_message(response="utter_ask_evidence_why", photo=reason.photo,
                                     reason=reason.label)
        elif reason:
            dispatcher.utter_message(response="utter_ask_evidence", photo=reason.photo)
        else:
            dispatcher.utter_message(response="utter_ask_evidence_of_the_problem")
        return []


async def handle(order: Dict[str, Any], tracker: Tracker,
                 dispatcher: CollectingDispatcher) -> List[EventType]:
    """After the order form: check, create the after-sale, say the next step."""
    reason = slot_reason(tracker)
    reset = [SlotSet("aftersale_reason", None), SlotSet("aftersale_item", None),
             SlotSet("evidence", None), SlotSet("exchange_to", None),
             SlotSet("aftersale_remedy", None)]
    task = tracker.get_slot("order_task") or "aftersale"

    def unresolved(why: str) -> List[EventType]:
        return [*reset, outcome(UNRESOLVED, order.get("id"), why, task, tracker)]
    try:
        busy = await busy_item(order, tracker)
    except BackendError:
        busy = None  # the shop checks again when the after-sale is filed
    if busy:
        dispatcher.utter_message(response="utter_aftersale_item_busy", item=busy)
        return unresolved("already_in_aftersale")
    if filed_before(tracker):
        try:
            filed = [record for record in await get_backend().after_sales(order["id"],
                                                                       proof(tracker))
                     if record.get("status") in (AfterSaleStatus.PENDING,
                                                 AfterSaleStatus.PROCESSING)]
        except BackendError:
            filed = []
        if filed:  # its number and state again, not the questions again
            dispatcher.utter_message(response="utter_aftersale_exists",
                                     kind=filed[-1].get("type_text") or "",
                                     ticket=filed[-1].get("ticket_no") or "",
                                     state=filed[-1].get("status_text") or "")
            return [*reset, outcome(RESOLVED, order.get("id"), "already_filed",
                                    f"after_sale:{task}", tracker)]
    if tracker.get_slot("confirmed") is False:  # 「再想想」 to 「需要我现在帮您提交吗?」
        dispatcher.utter_message(response="utter_aftersale_kept")
        return unresolved("not_confirmed")
    if reason is None:
        # An order not yet received has no after-sales question to ask (a customer
        # venting about a slow parcel must not be asked for an after-sales reason).
        dispatcher.utter_message(**(state_problem(order) or part("utter_aftersale_no_reason")))
        return unresolved("no_reason")
    problem = eligibility_problem(order, reason)
    if problem:
        dispatcher.utter_message(**problem)
        return unresolved("not_eligible")
    evidence = tracker.get_slot("evidence") or []
    if reason.needs_photo and not evidence:
        dispatcher.utter_message(response="utter_aftersale_photo_first", photo=reason.photo)
        return unresolved("photo_missing")
    items = [item.get("name", "") for item in order.get("items") or []]
    item = tracker.get_slot("aftersale_item") or (items[0] if items else "")
    wanted = tracker.get_slot("exchange_to") or wanted_in(customer_texts(tracker))
    kind = kind_of(reason, tracker.get_slot("order_task"), chosen_remedy(tracker, reason))
    try:
        after_sale = await submit(order, reason, item, evidence, kind, tracker.sender_id,
                                  proof(tracker), wanted)
    except BackendError as error:
        open_one = await open_after_sale(order, kind, tracker) \
            if error.code == "after_sales_exists" else None
        if open_one:
            # Filed before (in this chat or another): its number and state, not the
            # shop's 「请勿重复提交」.
            dispatcher.utter_message(response="utter_aftersale_exists",
                                     kind=open_one.get("type_text") or "",
                                     ticket=open_one.get("ticket_no") or "",
                                     state=open_one.get("status_text") or "")
        else:
            dispatcher.utter_message(response="utter_backend_message",
                                     problem=f"{error.message.rstrip('。')}。")
        return unresolved(error.code)
    todos = [todo for todo in after_sale.get("todos") or []
             if todo.get("status") == TodoStatus.OPEN]
    empathy = part("utter_empathy_first", line=empathy_line(reason.code, tracker)) \
        if reason.code in ("damaged", "quality") else ""
    noted = part("utter_aftersale_todos", todos=";".join(todo.get("text", "") for todo in todos)) \
        if todos else ""
    dispatcher.utter_message(response="utter_aftersale_filed", empathy=empathy,
                             next_step=next_step_text(after_sale, reason, wanted), todos=noted)
    known = tracker.get_slot("todos") or []
    return reset + [SlotSet("todos", [*known, *todos]),
                    outcome(RESOLVED, order.get("id"), reason.code, f"after_sale:{task}", tracker)]
