"""Returns, exchanges, quality problems and damaged parcels, by the shop's policy file.

The order form collects the order (and proves ownership) as for every order task; for
after-sales it then also needs the reason, the item, and a photo when the policy asks for
one. Photos come as channel-independent attachments in the message metadata:
`metadata.attachments = [{"type": "image", "url": "https://..." | "data:image/png;base64,..."}]`.
"""

from __future__ import annotations

import base64
import logging
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
from actions.common import empathy_line, session_user_events
from actions.outcomes import RESOLVED, UNRESOLVED, outcome
from actions.ownership import proof
from actions.text import day_words
from contract import AfterSaleStatus, OrderStatus, TodoStatus
from service_common.config import Count, Model, Text, load_yaml

logger = logging.getLogger(__name__)

POLICY_FILE = Path(__file__).resolve().parent.parent / "policy" / "aftersales.yml"
MAX_IMAGE_BYTES = 10 * 1024 * 1024
TOO_BIG = "图片太大了(最大10MB),请压缩或截图后再发送。"
TASKS = ("return", "exchange", "quality")  # order_task values of after-sales requests


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


def customer_texts(tracker: Tracker) -> List[str]:
    """This session's customer messages, newest first."""
    return [event["text"] for event in session_user_events(tracker) if event.get("text")]


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
    """Something the customer sent cannot be used as evidence; the message says why."""


async def fetch(url: str) -> Tuple[bytes, str]:
    """The attachment's bytes and declared type, at most MAX_IMAGE_BYTES."""
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        try:
            content = base64.b64decode(data, validate=True)
        except ValueError as error:
            raise AttachmentRejected("图片数据不完整,请重新发送一次。") from error
        return content, header[5:].split(";")[0] or "application/octet-stream"
    # Only allowed media hosts with public addresses, or the channel's own uploads (SSRF).
    try:
        return await attachments.download(url, MAX_IMAGE_BYTES)
    except attachments.TooBig as error:
        raise AttachmentRejected(TOO_BIG) from error
    except attachments.AttachmentRefused as error:
        logger.warning("attachment from %s not used: %s", attachments.describe(url),
                       error.reason)
        raise AttachmentRejected(attachments.UNUSABLE) from error


async def store_evidence(tracker: Tracker, order_id: str) -> List[str]:
    """Upload the latest message's image attachments to the shop; their upload ids."""
    ids = []
    for attachment in latest_attachments(tracker):
        if attachment.get("type") not in (None, "image", "file"):
            raise AttachmentRejected("只能接收图片哦(jpg/png),请拍照后发送。")
        content, content_type = await fetch(str(attachment.get("url") or ""))
        if len(content) > MAX_IMAGE_BYTES:
            raise AttachmentRejected(TOO_BIG)
        try:
            upload = await get_backend().upload(content, content_type, order_id,
                                                tracker.sender_id, proof(tracker))
        except InvalidRequest as error:
            # The shop checks the real format (magic bytes) and the size.
            raise AttachmentRejected(f"{error.message.rstrip('。')}。只能接收图片哦,"
                                     "请拍照后发送。") from error
        ids.append(str(upload["id"]))
    return ids


def state_problem(order: Dict[str, Any]) -> Optional[str]:
    """Why the order's state allows no after-sale at all, whatever the reason."""
    status = order.get("status")
    if status in (OrderStatus.UNPAID, OrderStatus.PAID):
        return "这个订单还没有发货,不需要退换哦;不想要的话可以直接跟我说「取消订单」。"
    if status == OrderStatus.SHIPPED:
        return ("包裹还在路上,签收后才能申请售后哦。如果收到时有破损,可以拒收,"
                "或签收后拍照发给我。")
    if status in (OrderStatus.REFUNDED, OrderStatus.CANCELLED):
        return f"这个订单当前状态是{order.get('status_text')},已经在处理或已完成,不需要重复申请哦。"
    return None


def eligibility_problem(order: Dict[str, Any], reason: Reason) -> Optional[str]:
    problem = state_problem(order)
    if problem:
        return problem
    # 退货中: another item of the order may still need help; the shop checks per item.
    # The window is the shop's: its deadline for this order.
    if reason.code == "no_reason_7d" and order.get("no_reason_until") and \
            order.get("delivered_at"):
        delivered = datetime.fromisoformat(order["delivered_at"])
        deadline = datetime.fromisoformat(order["no_reason_until"])
        if datetime.now(deadline.tzinfo) > deadline:
            return (f"这个订单{day_words(delivered.date().isoformat())}签收,已经超过"
                    f"{(deadline - delivered).days}天无理由退换的期限了。如果商品有质量问题,"
                    "告诉我具体情况,我帮您按质量问题处理。")
    return None


def next_step_text(after_sale: Dict[str, Any], reason: Reason) -> str:
    rules = policy()
    ref = f"(售后单号{after_sale.get('id')})"
    kind = after_sale.get("kind") or reason.kind
    if kind == "resend":
        return (f"已为您登记补发{ref},不用寄回原商品。仓库会尽快重新发货,"
                "补发单号生成后我会告诉您,您也可以随时来问我。")
    deadline = day_words((datetime.now() + timedelta(days=rules.send_back_days)).date()
                         .isoformat())
    # Same rule as the FAQ (faq/return_shipping_fee): no cash-on-delivery parcels.
    postage = "运费由我们承担:请先垫付,寄出后把运费金额告诉我,会和退款一起退给您" \
        if reason.shipping == "seller" else "运费需要您承担"
    what = "仓库收到后给您换新发出" if kind == "exchange" else \
        f"仓库签收后{rules.refund_time}内原路退款"
    action = "换货" if kind == "exchange" else "退货"
    return (f"{action}申请已提交{ref}。请在{deadline}前把商品寄到:{rules.return_address}"
            f"({postage}),{what}。")


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


async def submit(order: Dict[str, Any], reason: Reason, item: str, evidence: List[str],
                 task: str, conversation_id: str,
                 order_proof: Optional[str] = None) -> Dict[str, Any]:
    # The customer may ask for an exchange where the policy would refund.
    kind = "exchange" if task == "exchange" and reason.kind == "return" else reason.kind
    return await get_backend().create_after_sale(order["id"], {
        "kind": kind, "item": item, "reason_code": reason.code, "reason": reason.label,
        # The same photo sent twice is one upload; the shop counts ids as sent (max 9).
        "evidence": list(dict.fromkeys(int(upload) for upload in evidence)),
        "conversation_id": conversation_id},
        order_proof)


class ActionAskAftersaleReason(Action):
    def name(self) -> str:
        return "action_ask_aftersale_reason"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        buttons = [{"title": reason.label,
                    "payload": f'/inform{{"aftersale_reason": "{reason.code}"}}'}
                   for reason in policy().reasons.values()]
        dispatcher.utter_message(text="请问是遇到了什么问题呢?", buttons=buttons)
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
        dispatcher.utter_message(text="是订单里的哪件商品呢?", buttons=[
            {"title": name, "payload": f'/inform{{"aftersale_item": "{name}"}}'}
            for name in names if name])
        return []


class ActionAskEvidence(Action):
    def name(self) -> str:
        return "action_ask_evidence"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        reason = policy().reasons.get(tracker.get_slot("aftersale_reason") or "")
        what = reason.photo if reason else "商品问题部位"
        dispatcher.utter_message(text=f"麻烦拍一张{what}的照片发给我(直接发图片就行),"
                                      "我登记后马上为您处理。")
        return []


async def handle(order: Dict[str, Any], tracker: Tracker,
                 dispatcher: CollectingDispatcher) -> List[EventType]:
    """After the order form: check, create the after-sale, say the next step."""
    reason = policy().reasons.get(tracker.get_slot("aftersale_reason") or "")
    reset = [SlotSet("aftersale_reason", None), SlotSet("aftersale_item", None),
             SlotSet("evidence", None)]
    task = tracker.get_slot("order_task") or "aftersale"

    def unresolved(why: str) -> List[EventType]:
        return [*reset, outcome(UNRESOLVED, order.get("id"), why, task, tracker)]
    try:
        busy = await busy_item(order, tracker)
    except BackendError:
        busy = None  # the shop checks again when the after-sale is filed
    if busy:
        dispatcher.utter_message(text=f"「{busy}」已经在售后处理中了,不用重复申请;想看进度可以问我"
                                 "「退款进度」。这个订单的其他商品有问题的话,告诉我是哪一件哦。")
        return unresolved("already_in_aftersale")
    if reason is None:
        # An order not yet received has no after-sales question to ask (a customer
        # venting about a slow parcel must not be asked for an after-sales reason).
        dispatcher.utter_message(text=state_problem(order) or
                                 "还没确定售后原因,可以再说一下遇到了什么问题吗?")
        return unresolved("no_reason")
    problem = eligibility_problem(order, reason)
    if problem:
        dispatcher.utter_message(text=problem)
        return unresolved("not_eligible")
    evidence = tracker.get_slot("evidence") or []
    if reason.needs_photo and not evidence:
        dispatcher.utter_message(text=f"这个问题需要先拍一张{reason.photo}的照片,发给我后再为您登记哦。")
        return unresolved("photo_missing")
    items = [item.get("name", "") for item in order.get("items") or []]
    item = tracker.get_slot("aftersale_item") or (items[0] if items else "")
    try:
        after_sale = await submit(order, reason, item, evidence,
                                  tracker.get_slot("order_task"), tracker.sender_id,
                                  proof(tracker))
    except BackendError as error:
        dispatcher.utter_message(text=f"{error.message.rstrip('。')}。")
        return unresolved(error.code)
    todos = [todo for todo in after_sale.get("todos") or []
             if todo.get("status") == TodoStatus.OPEN]
    text = next_step_text(after_sale, reason)
    if reason.code in ("damaged", "quality"):
        text = f"{empathy_line(reason.code, tracker)}\n{text}"
    if todos:
        text += "\n已为您记下待办:" + ";".join(todo.get("text", "") for todo in todos)
    dispatcher.utter_message(text=text)
    known = tracker.get_slot("todos") or []
    return reset + [SlotSet("todos", [*known, *todos]),
                    outcome(RESOLVED, order.get("id"), reason.code, f"after_sale:{task}", tracker)]
