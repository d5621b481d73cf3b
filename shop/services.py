"""Business rules of the shop; functions take a Session and raise ApiError on refusal."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Optional

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from shop import clock, policy, sizing
from shop.errors import ApiError, conflict, not_found, unprocessable
from shop.images import ImageInfo
from shop.models import (
    FIT_RESULT_TEXT,
    AfterSale,
    Coupon,
    Customer,
    CustomerChannel,
    FitFeedback,
    Followup,
    Invoice,
    Order,
    OrderItem,
    Product,
    ProductView,
    Shipment,
    Todo,
    Upload,
)
from shop.promotions import yuan
from shop.validation import DIGITS_RE, MAX_DB_ID, digits_value, trim

CUTOFF_HOUR = 16
URGE_DEDUPE_WINDOW = timedelta(hours=24)
# A product reopened within this window is the same visit (page refresh, chat retry).
VIEW_DEDUPE_WINDOW = timedelta(minutes=30)
# Orders that never became a purchase; they count neither as bought nor as co-purchases.
NOT_PURCHASED = ("unpaid", "cancelled")
# Orders whose goods the customer kept: "last purchased" is picked from these.
KEPT = ("paid", "shipped", "delivered")
# "也常买" needs at least this many shared orders: a couple of shared baskets is chance
# (the demo's generated orders pick items at random and pair up to 3 times by luck).
MIN_CO_PURCHASES = 4
RELATED_REASONS = {
    "co_purchase": "买过这款的顾客也常买",
    "same_category": "同类热销",
}
REFUND_DAYS = {"alipay": 1, "wechat": 1, "card": 3}

# Why an order in a given status cannot be cancelled / re-addressed / urged.
CANCEL_REFUSALS = {
    "shipped": "订单已发货，无法直接取消。您可以在快递派送时拒收，或签收后申请退货退款",
    "delivered": "订单已签收，无法取消。如不满意，可在签收后{after_sale_days}天内申请退货退款",
    "cancelled": "订单已经是取消状态，无需重复操作",
    "return_requested": "订单正在退货处理中，无法取消",
    "refunded": "订单已退款完成，无法取消",
}
ADDRESS_REFUSALS = {
    "shipped": "订单已发货，无法修改收货地址。可以联系快递员改派，或拒收后重新下单",
    "delivered": "订单已签收，无法修改收货地址",
    "cancelled": "订单已取消，无法修改收货地址",
    "return_requested": "订单正在退货处理中，无法修改收货地址",
    "refunded": "订单已退款，无法修改收货地址",
}
URGE_REFUSALS = {
    "unpaid": "订单尚未付款，付款后仓库才会安排发货",
    "delivered": "订单已签收，无需催单",
    "cancelled": "订单已取消，无法催单",
    "refunded": "订单已退款完成，无法催单",
}
PRICE_PROTECTION_REFUSALS = {
    "unpaid": "订单还没有付款，付款时按当时的价格结算，不需要价保",
    "cancelled": "订单已取消，不在价保范围内",
    "refunded": "订单已退款，不在价保范围内",
    "return_requested": "订单正在退货退款，货款会全额退回，不需要再价保",
}
INVOICE_REFUSALS = {
    "unpaid": "订单尚未付款，付款后才能申请发票",
    "cancelled": "订单已取消，没有可开票的金额，无法开具发票",
    "refunded": "订单已全额退款，无法开具发票",
    "return_requested": "订单正在退货处理中，退货完成前无法开具发票；如取消退货，可再申请",
}
URGE_NOTES = {
    "paid": "客户催促发货",
    "shipped": "客户催促派送",
    "return_requested": "客户催促退款进度",
}

# Why the customer wants an after-sale; the seller pays return shipping for its own faults.
REASON_CODES = {
    "no_reason_7d": "七天无理由",
    "quality": "质量问题",
    "damaged": "运输破损",
    "wrong_item": "发错货",
    "missing_item": "少件/漏发",
    "size": "尺码不合适",
    "not_as_described": "与描述不符",
    "not_received": "未收到货",
    "other": "其他原因",
}
SELLER_FAULT_REASONS = ("quality", "damaged", "wrong_item", "missing_item", "not_as_described",
                        "not_received")
# Reasons that need photos; without them an open to-do keeps asking for them.
EVIDENCE_TODO_TEXT = {
    "damaged": "需记录破损图片",
    "quality": "需补充质量问题图片（含批号标签）",
    "wrong_item": "需补充错发商品图片",
    "not_as_described": "需补充商品实物图片",
}
TODO_DEFAULT_TEXT = {
    "resend_tracking": "需跟进补发单号",
    "damage_photo": "需记录破损图片",
    "invoice": "待开发票",
    "refund": "需跟进退款进度",
    "callback": "需回电客户",
}


# ---------------------------------------------------------------- customers


def _customer_query():
    return select(Customer).options(selectinload(Customer.channels))


def get_customer(session: Session, customer_id: str) -> Customer:
    customer = session.execute(
        _customer_query().where(Customer.id == customer_id)
    ).scalar_one_or_none()
    if customer is None:
        raise not_found("customer_not_found", f"未找到客户 {customer_id}")
    return customer


def customer_by_channel(session: Session, channel_user_id: str) -> Customer:
    customer = session.execute(
        _customer_query()
        .join(CustomerChannel, CustomerChannel.customer_id == Customer.id)
        .where(CustomerChannel.channel_user_id == channel_user_id)
    ).scalar_one_or_none()
    if customer is None:
        raise not_found("customer_not_found", "该渠道账号尚未绑定客户")
    return customer


def customer_by_phone(session: Session, phone: str) -> Customer:
    customer = session.execute(
        _customer_query().where(Customer.phone == phone)
    ).scalar_one_or_none()
    if customer is None:
        raise not_found("customer_not_found", "未找到该手机号对应的客户")
    return customer


def ensure_customer(session: Session, customer_id: str) -> None:
    if session.get(Customer, customer_id) is None:
        raise not_found("customer_not_found", f"未找到客户 {customer_id}")


# ---------------------------------------------------------------- orders


def _order_options(with_events: bool = False) -> list[Any]:
    """What a handler reads of an order, loaded with the order in one statement: the whole
    order (items, address, shipment: what order_json shows), or for the tracking the
    shipment with its events (what tracking_json shows)."""
    if with_events:
        return [joinedload(Order.shipment).joinedload(Shipment.events)]
    return [joinedload(Order.items), joinedload(Order.address), joinedload(Order.shipment)]


def _known_id(value: int) -> None:
    """Ids beyond 64 bits exist nowhere; SQLite would raise OverflowError (a 500) on them."""
    if not 0 < value <= MAX_DB_ID:
        raise not_found("not_found", f"编号 {value} 不存在")


def get_order(session: Session, order_id: str, with_events: bool = False) -> Order:
    """The order with what its answer shows (`with_events`: with its tracking instead)."""
    order = session.execute(
        select(Order).options(*_order_options(with_events)).where(Order.id == order_id)
    ).unique().scalar_one_or_none()
    if order is None:
        raise _order_not_found(order_id)
    return order


def find_order(session: Session, order_id: str) -> Order:
    """The order's own row only, for handlers that read none of its items, address or
    shipment (its status, owner, amount, or whether it exists)."""
    order = session.get(Order, order_id)
    if order is None:
        raise _order_not_found(order_id)
    return order


def _order_not_found(order_id: str) -> ApiError:
    return not_found("order_not_found", f"未找到订单 {order_id}，请核对订单号")


def customer_orders(
    session: Session, customer_id: str, status: Optional[str], limit: int
) -> list[Order]:
    ensure_customer(session, customer_id)
    query = (
        select(Order)
        # The items in a second statement (a joined collection under LIMIT would wrap the
        # query); address and shipment, one row each, joined into the first.
        .options(selectinload(Order.items), joinedload(Order.address),
                 joinedload(Order.shipment))
        .where(Order.customer_id == customer_id)
        .order_by(Order.created_at.desc(), Order.id.desc())
        .limit(limit)
    )
    if status:
        query = query.where(Order.status == status)
    return list(session.execute(query).scalars())


LOOKUP_LIMIT = 5


def _names_match(clue: str, name: str) -> bool:
    """「羽绒服」 finds 男士轻薄羽绒服; 「我买的蓝牙耳机」 finds 蓝牙耳机Pro (the name's noun)."""
    clue, name = clue.strip().lower(), name.lower()
    noun = re.sub(r"[a-z0-9 ]+$", "", name)  # 蓝牙耳机pro -> 蓝牙耳机
    if not clue or not name:
        return False
    return clue in name or name in clue or any(
        len(noun) >= size and noun[-size:] in clue for size in (4, 3, 2))


def lookup_orders(session: Session, phone: str, product: Optional[str],
                  day: Optional[date], customer_id: Optional[str]) -> list[Order]:
    """Orders of the customer whose phone this is, narrowed by a product name and/or
    an order date (+-1 day). The same ownership rule as `owns_by_phone_tail` (the customer's
    phone); a linked chat user (`customer_id`) only ever finds their own orders."""
    owner = session.execute(select(Customer.id).where(Customer.phone == phone)).first()
    if owner is None or (customer_id and owner[0] != customer_id):
        return []
    orders = customer_orders(session, owner[0], None, 100)
    if product:
        orders = [order for order in orders
                  if any(_names_match(product, item.product_name) for item in order.items)]
    if day:
        orders = [order for order in orders
                  if abs((order.created_at.date() - day).days) <= 1]
    return orders[:LOOKUP_LIMIT]


def order_owner(session: Session, order_id: str) -> tuple[str, str]:
    """(customer id, phone) of the order's customer, in one statement: who may prove owning
    the order, by being that customer or by the phone's last 4 digits."""
    row = session.execute(
        select(Customer.id, Customer.phone).join(Order, Order.customer_id == Customer.id)
        .where(Order.id == order_id)
    ).first()
    if row is None:
        raise _order_not_found(order_id)
    return row[0], row[1]


def owns_by_phone_tail(phone: str, phone_tail: str) -> bool:
    return phone[-4:] == phone_tail


def _refund_days(order: Order) -> int:
    return REFUND_DAYS.get(order.payment_method or "", 3)


def cancel_order(session: Session, order: Order, reason: str) -> Optional[AfterSale]:
    """Cancel before shipment; a paid order gets a refund record."""
    if order.status not in ("unpaid", "paid"):
        raise conflict("not_cancellable", CANCEL_REFUSALS[order.status].format(
            after_sale_days=policy.windows().after_sale_days))
    now = clock.now()
    refund = None
    if order.status == "paid":
        refund = AfterSale(
            order_id=order.id, type="refund", status="processing",
            reason=f"取消订单：{reason}", items=[], photos=[], created_at=now,
            refund_amount=order.total_amount - _price_protected(session, order, []),
            expected_refund_date=now.date() + timedelta(days=_refund_days(order)),
        )
        session.add(refund)
    order.status = "cancelled"
    order.cancelled_at = now
    order.cancel_reason = reason
    order.promised_ship_by = None
    session.flush()
    return refund


def change_address(session: Session, order: Order, fields: dict[str, str]) -> None:
    if order.status not in ("unpaid", "paid"):
        raise conflict("address_locked", ADDRESS_REFUSALS[order.status])
    address = order.address
    for key, value in fields.items():
        setattr(address, key, value)
    address.updated_at = clock.now()
    session.flush()


def urge(session: Session, order: Order, note: Optional[str]) -> tuple[Followup, bool]:
    """Record an urge follow-up; repeated urges within 24 h reuse the open one."""
    if order.status in URGE_REFUSALS:
        raise conflict("not_urgeable", URGE_REFUSALS[order.status])
    now = clock.now()
    existing = session.execute(
        select(Followup)
        .where(
            Followup.order_id == order.id,
            Followup.type == "urge",
            Followup.status == "open",
            Followup.created_at >= now - URGE_DEDUPE_WINDOW,
        )
        .order_by(Followup.created_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    if existing is not None:
        return existing, True
    followup = Followup(
        type="urge", order_id=order.id, customer_id=order.customer_id,
        note=note or URGE_NOTES[order.status], status="open", created_at=now,
    )
    session.add(followup)
    session.flush()
    return followup, False


def list_followups(
    session: Session,
    order_id: Optional[str],
    customer_id: Optional[str],
    status: Optional[str],
    limit: int,
) -> list[Followup]:
    query = select(Followup).order_by(Followup.created_at.desc(), Followup.id.desc()).limit(limit)
    if order_id:
        query = query.where(Followup.order_id == order_id)
    if customer_id:
        query = query.where(Followup.customer_id == customer_id)
    if status:
        query = query.where(Followup.status == status)
    return list(session.execute(query).scalars())


# ---------------------------------------------------------------- after-sales / refunds


def list_after_sales(session: Session, order_id: str) -> list[AfterSale]:
    return list(session.execute(
        select(AfterSale).where(AfterSale.order_id == order_id)
        .order_by(AfterSale.created_at.desc(), AfterSale.id.desc())
    ).scalars())


def refund_record(session: Session, order_id: str) -> Optional[AfterSale]:
    """The refund that matters: an open one first, else the latest completed one."""
    records = [
        r for r in list_after_sales(session, order_id)
        if r.refund_amount is not None and r.status not in ("rejected", "closed")
    ]
    open_records = [r for r in records if r.status != "completed"]
    chosen = open_records or records
    return chosen[0] if chosen else None


def _items_amount(order: Order, product_ids: list[str]) -> Decimal:
    if not product_ids:
        return order.total_amount
    return sum(
        (i.price * i.quantity for i in order.items if i.product_id in product_ids), Decimal("0")
    )


def _price_protected(session: Session, order: Order, product_ids: list[str]) -> Decimal:
    """What 价保 already refunded of these items (all: []), so that a later return, refund
    or cancellation does not pay the difference twice. A claim covering other items too
    counts in proportion to the paid value of the items returned."""
    returned = set(product_ids) or {item.product_id for item in order.items}
    paid = {item.product_id: item.price * item.quantity for item in order.items}
    total = Decimal("0")
    for claim in list_after_sales(session, order.id):
        if claim.type != "price_protection" or claim.status in ("rejected", "closed") or \
                not claim.refund_amount or not returned & set(claim.items or []):
            continue
        claimed = sum((paid.get(product, Decimal("0")) for product in claim.items),
                      Decimal("0"))
        covered = sum((paid.get(product, Decimal("0"))
                       for product in returned & set(claim.items)), Decimal("0"))
        total += claim.refund_amount if covered == claimed or not claimed else \
            (claim.refund_amount * covered / claimed).quantize(Decimal("0.01"))
    return total


def resolve_item(order: Order, item: Any) -> OrderItem:
    """An order line from its id, its product id or (part of) its name."""
    names = "、".join(i.product_name for i in order.items)
    if isinstance(item, int) and not isinstance(item, bool):
        matches = [i for i in order.items if i.id == item]
    elif isinstance(item, str) and trim(item):
        text = trim(item)
        if DIGITS_RE.fullmatch(text):
            matches = [i for i in order.items if i.id == digits_value(text)]
        else:
            matches = [i for i in order.items if i.product_id == text.upper()]
            matches = matches or [i for i in order.items if i.product_name == text]
            matches = matches or [
                i for i in order.items if text in i.product_name or i.product_name in text
            ]
    else:
        raise unprocessable("invalid_type", "字段 item 必须是订单商品的编号或名称")
    if not matches:
        raise unprocessable("invalid_item", f"订单中没有“{item}”这件商品，订单商品：{names}")
    if len({i.product_id for i in matches}) > 1:
        found = "、".join(i.product_name for i in matches)
        raise unprocessable("ambiguous_item",
                            f"订单中有多件商品符合“{item}”：{found}，请说明是哪一件")
    return matches[0]


def get_uploads(session: Session, upload_ids: list[int], order: Order) -> list[Upload]:
    """The uploads for an after-sale: they must exist and not belong to another order."""
    uploads = []
    for upload_id in upload_ids:
        upload = session.get(Upload, upload_id)
        if upload is None:
            raise unprocessable("unknown_upload", f"图片 {upload_id} 不存在，请先上传图片再提交")
        if upload.order_id not in (None, order.id):
            raise unprocessable("invalid_evidence",
                                f"图片 {upload_id} 属于其他订单，不能作为本订单的凭证")
        uploads.append(upload)
    return uploads


def create_after_sale(
    session: Session,
    order: Order,
    kind: str,
    reason: str,
    product_ids: list[str],
    photos: list[str],
    reason_code: Optional[str] = None,
    evidence_ids: Optional[list[int]] = None,
    conversation_id: Optional[str] = None,
) -> tuple[AfterSale, list[Todo]]:
    """Create the record; returns it with the to-dos opened or closed on the way."""
    order_products = {item.product_id for item in order.items}
    unknown = [p for p in product_ids if p not in order_products]
    if unknown:
        raise unprocessable("invalid_items", f"商品 {'、'.join(unknown)} 不在该订单中")
    _check_after_sale_allowed(session, order, kind, product_ids)
    if reason_code == "no_reason_7d":
        _check_no_reason_allowed(order, kind)
    uploads = get_uploads(session, list(dict.fromkeys(evidence_ids or [])), order)
    now = clock.now()
    record = AfterSale(
        order_id=order.id, type=kind, status="processing", reason=reason,
        items=product_ids, photos=photos, created_at=now, reason_code=reason_code,
        evidence=[u.id for u in uploads], conversation_id=conversation_id,
    )
    if kind == "return":
        record.refund_amount = _items_amount(order, product_ids) - \
            _price_protected(session, order, product_ids)
        # Customer ships the parcel back, the warehouse inspects it, then the refund goes out.
        record.expected_refund_date = now.date() + timedelta(days=7)
        order.status = "return_requested"
    elif kind == "refund":
        if order.status == "paid":
            # Refund before shipment is simply a cancellation with a refund.
            record.refund_amount = order.total_amount - _price_protected(session, order, [])
            record.expected_refund_date = now.date() + timedelta(days=_refund_days(order))
            order.status = "cancelled"
            order.cancelled_at = now
            order.cancel_reason = reason
            order.promised_ship_by = None
        else:
            record.status = "pending"
            record.refund_amount = _items_amount(order, product_ids) - \
                _price_protected(session, order, product_ids)
            record.expected_refund_date = now.date() + timedelta(days=3)
    session.add(record)
    session.flush()
    for upload in uploads:
        upload.order_id = order.id
    todos = []
    if kind == "resend":
        todos.append(_auto_todo(session, record, "resend_tracking", TODO_DEFAULT_TEXT[
            "resend_tracking"]))
    if uploads or photos:
        todos.extend(close_todos(
            session, order_id=order.id, kind="damage_photo",
            result_text=f"已记录{len(uploads) + len(photos)}张图片（AS{record.id:08d}）",
        ))
    elif reason_code in EVIDENCE_TODO_TEXT:
        todos.append(_auto_todo(session, record, "damage_photo", EVIDENCE_TODO_TEXT[reason_code]))
    session.flush()
    return record, todos


def _check_no_reason_allowed(order: Order, kind: str) -> None:
    if kind not in ("return", "exchange"):
        raise unprocessable("invalid_reason_code", "七天无理由只适用于退货或换货")
    rules = policy.windows()
    if order.delivered_at is not None and clock.now() - order.delivered_at > rules.no_reason:
        raise conflict(
            "after_sales_expired",
            f"已超过签收后{rules.no_reason_days}天，不能再申请七天无理由退换货；"
            f"如有质量问题，可在签收后{rules.after_sale_days}天内申请售后",
        )


def get_after_sale(session: Session, after_sale_id: int) -> AfterSale:
    _known_id(after_sale_id)
    record = session.get(AfterSale, after_sale_id)
    if record is None:
        raise not_found("after_sale_not_found", f"未找到售后单 AS{after_sale_id:08d}")
    return record


def attach_evidence(
    session: Session, record: AfterSale, evidence_ids: list[int]
) -> tuple[AfterSale, list[Todo]]:
    """Add photos to an existing after-sale; closes the order's open damage_photo to-dos."""
    if record.status in ("rejected", "closed"):
        raise conflict("after_sale_closed", "该售后单已关闭，不能再补充图片")
    order = session.get(Order, record.order_id)
    uploads = get_uploads(session, list(dict.fromkeys(evidence_ids)), order)
    current = list(record.evidence or [])
    new = [u for u in uploads if u.id not in current]
    if len(current) + len(new) > 9:
        raise unprocessable("invalid_value", "每个售后单最多9张图片")
    for upload in new:
        upload.order_id = order.id
    record.evidence = current + [u.id for u in new]
    closed = close_todos(session, order_id=order.id, kind="damage_photo",
                         result_text=f"已记录{len(record.evidence)}张图片（AS{record.id:08d}）")
    session.flush()
    return record, closed


def ship_after_sale(
    session: Session, record: AfterSale, courier: str, tracking_no: str
) -> tuple[AfterSale, list[Todo], bool]:
    """Dispatch the replacement parcel of a resend / exchange; closes its to-dos.

    Returns (record, closed to-dos, duplicate); repeating the same number is idempotent.
    """
    if record.type not in ("resend", "exchange"):
        raise conflict("not_shippable", "只有补发或换货的售后单需要寄出新包裹")
    if record.tracking_no is not None:
        if (record.courier, record.tracking_no) == (courier, tracking_no):
            return record, [], True
        raise conflict("already_shipped",
                       f"该售后单已寄出（{record.courier} {record.tracking_no}），请勿重复发货")
    if record.status not in ("pending", "processing"):
        raise conflict("not_shippable", "该售后单已结束，不能再发货")
    now = clock.now()
    record.courier = courier
    record.tracking_no = tracking_no
    record.shipped_at = now
    record.status = "completed"
    record.completed_at = now
    label = "补发单号" if record.type == "resend" else "换货单号"
    closed = close_todos(session, after_sale_id=record.id, kind="resend_tracking",
                         result_text=f"{label} {courier} {tracking_no}")
    session.flush()
    return record, closed, False


def withdraw_after_sale(
    session: Session, record: AfterSale
) -> tuple[AfterSale, list[Todo], bool]:
    """The customer changed their mind (「算了不退了」): an open after-sale is closed, and an
    order waiting for its return is delivered again. Not once the goods are on their way
    back or the new parcel is out, nor a refund that cancelled the order. Returns (record,
    closed to-dos, duplicate)."""
    if record.status == "closed":
        return record, [], True
    if record.status not in ("pending", "processing"):
        raise conflict("not_withdrawable", "该售后单已结束，无法撤销")
    order = session.get(Order, record.order_id)
    if record.type == "refund" and order is not None and order.status == "cancelled":
        raise conflict("not_withdrawable", "订单已取消并退款，无法撤销")
    if record.type == "price_protection":
        raise conflict("not_withdrawable", "价保退款已在处理，无法撤销")
    if record.return_tracking_no is not None:
        raise conflict("return_parcel_sent", "商品已寄回，售后无法在线撤销，请联系客服处理")
    now = clock.now()
    record.status = "closed"
    record.completed_at = now
    if record.type == "return" and order is not None and order.status == "return_requested" \
            and not any(other.type == "return" and other.status in ("pending", "processing")
                        for other in list_after_sales(session, order.id)
                        if other.id != record.id):
        order.status = "delivered"
    closed = close_todos(session, "客户已撤销售后", None, after_sale_id=record.id)
    session.flush()
    return record, closed, False


# A return's refund, counted from the warehouse's receipt: the end of policy/aftersales.yml's
# `refund_time` (1-3个工作日), which the assistant quotes.
RETURN_REFUND_DAYS = 3


def _check_return_open(record: AfterSale) -> None:
    if record.type not in ("return", "exchange"):
        raise conflict("not_returnable", "只有退货或换货的售后单需要寄回商品")
    if record.status not in ("pending", "processing"):
        raise conflict("after_sale_closed", "该售后单已结束，不需要再寄回商品")


def record_return_parcel(
    session: Session, record: AfterSale, courier: Optional[str], tracking_no: str
) -> tuple[AfterSale, bool]:
    """The customer's waybill of the goods sent back; returns (record, duplicate).

    A different number before the warehouse signs replaces the first (a typo corrected);
    the number of the shop's own parcel to the customer is refused.
    """
    _check_return_open(record)
    if record.return_received_at is not None:
        raise conflict("already_received", "仓库已签收您寄回的包裹，不用再登记单号")
    order = session.get(Order, record.order_id)
    shipment = order.shipment if order is not None else None
    if shipment is not None and shipment.tracking_no.upper() == tracking_no.upper():
        raise unprocessable("outbound_tracking_no",
                            "这是我们发给您的包裹的单号，请提供您寄回包裹的快递单号")
    if record.return_tracking_no == tracking_no and courier in (None, record.return_courier):
        return record, True
    record.return_courier = courier
    record.return_tracking_no = tracking_no
    record.return_sent_at = clock.now()
    session.flush()
    return record, False


def receive_return_parcel(session: Session, record: AfterSale) -> tuple[AfterSale, bool]:
    """The warehouse signs for the goods sent back (demo warehouse step); a return's refund is
    then due within RETURN_REFUND_DAYS. Returns (record, duplicate)."""
    if record.return_received_at is not None:
        return record, True
    _check_return_open(record)
    now = clock.now()
    record.return_received_at = now
    if record.type == "return" and record.refund_amount is not None:
        record.expected_refund_date = now.date() + timedelta(days=RETURN_REFUND_DAYS)
    session.flush()
    return record, False


# ---------------------------------------------------------------- to-dos


def _auto_todo(session: Session, record: AfterSale, kind: str, text: str) -> Todo:
    order = record.order or session.get(Order, record.order_id)
    todo = Todo(
        conversation_id=record.conversation_id, customer_id=order.customer_id,
        order_id=record.order_id, after_sale_id=record.id, kind=kind, text=text,
        ref=f"AS{record.id:08d}", status="open", created_at=clock.now(),
    )
    session.add(todo)
    return todo


def create_todo(
    session: Session,
    conversation_id: str,
    kind: str,
    text: str,
    customer_id: Optional[str],
    order_id: Optional[str],
    ref: Optional[str],
) -> tuple[Todo, bool]:
    """Returns (to-do, duplicate); an identical open to-do is reused."""
    if order_id is not None:
        order = session.get(Order, order_id)
        if order is None:
            raise not_found("order_not_found", f"未找到订单 {order_id}，请核对订单号")
        if customer_id is not None and customer_id != order.customer_id:
            raise unprocessable("invalid_value", "订单不属于该客户")
        customer_id = order.customer_id
    elif customer_id is not None:
        ensure_customer(session, customer_id)
    existing = session.execute(
        select(Todo).where(
            Todo.conversation_id == conversation_id, Todo.kind == kind, Todo.text == text,
            Todo.status == "open",
            Todo.order_id.is_(None) if order_id is None else Todo.order_id == order_id,
            Todo.ref.is_(None) if ref is None else Todo.ref == ref,
        ).order_by(Todo.id).limit(1)
    ).scalar_one_or_none()
    if existing is not None:
        return existing, True
    todo = Todo(
        conversation_id=conversation_id, customer_id=customer_id, order_id=order_id,
        kind=kind, text=text, ref=ref, status="open", created_at=clock.now(),
    )
    session.add(todo)
    session.flush()
    return todo, False


def list_todos(
    session: Session,
    conversation_id: Optional[str],
    customer_id: Optional[str],
    order_id: Optional[str],
    status: Optional[str],
    limit: int,
) -> list[Todo]:
    """Newest first; conversation and customer filters combine with OR (a returning
    customer sees the to-dos of all their conversations)."""
    query = select(Todo).order_by(Todo.created_at.desc(), Todo.id.desc()).limit(limit)
    owners = []
    if conversation_id:
        owners.append(Todo.conversation_id == conversation_id)
    if customer_id:
        owners.append(Todo.customer_id == customer_id)
    if owners:
        query = query.where(or_(*owners))
    if order_id:
        query = query.where(Todo.order_id == order_id)
    if status:
        query = query.where(Todo.status == status)
    return list(session.execute(query).scalars())


def get_todo(session: Session, todo_id: int) -> Todo:
    _known_id(todo_id)
    todo = session.get(Todo, todo_id)
    if todo is None:
        raise not_found("todo_not_found", f"未找到待办事项 {todo_id}")
    return todo


def update_todo(
    session: Session,
    todo: Todo,
    status: Optional[str],
    result_text: Optional[str],
    text: Optional[str],
) -> Todo:
    if text is not None:
        todo.text = text
    if result_text is not None:
        todo.result_text = result_text
    if status is not None and status != todo.status:
        todo.status = status
        todo.closed_at = None if status == "open" else clock.now()
    session.flush()
    return todo


def close_todos(
    session: Session,
    result_text: str,
    kind: Optional[str],
    order_id: Optional[str] = None,
    after_sale_id: Optional[int] = None,
) -> list[Todo]:
    """Open to-dos (of `kind`, or of any kind for None) marked done with `result_text`."""
    query = select(Todo).where(Todo.status == "open").order_by(Todo.id)
    if kind is not None:
        query = query.where(Todo.kind == kind)
    if order_id is not None:
        query = query.where(Todo.order_id == order_id)
    if after_sale_id is not None:
        query = query.where(Todo.after_sale_id == after_sale_id)
    todos = list(session.execute(query).scalars())
    now = clock.now()
    for todo in todos:
        todo.status = "done"
        todo.result_text = result_text
        todo.closed_at = now
    return todos


# ---------------------------------------------------------------- uploads


def create_upload(
    session: Session,
    sha256: str,
    info: ImageInfo,
    size: int,
    filename: Optional[str],
    order_id: Optional[str],
    conversation_id: Optional[str],
) -> tuple[Upload, bool]:
    """Returns (upload, duplicate): the same bytes for the same order and conversation
    are recorded once (a retried upload)."""
    if order_id is not None and session.get(Order, order_id) is None:
        raise not_found("order_not_found", f"未找到订单 {order_id}，请核对订单号")
    existing = session.execute(
        select(Upload).where(
            Upload.sha256 == sha256,
            Upload.order_id.is_(None) if order_id is None else Upload.order_id == order_id,
            Upload.conversation_id.is_(None) if conversation_id is None
            else Upload.conversation_id == conversation_id,
        ).order_by(Upload.id).limit(1)
    ).scalar_one_or_none()
    if existing is not None:
        return existing, True
    upload = Upload(
        sha256=sha256, content_type=info.content_type, size=size, width=info.width,
        height=info.height, filename=filename, order_id=order_id,
        conversation_id=conversation_id, created_at=clock.now(),
    )
    session.add(upload)
    session.flush()
    return upload, False


def uploads_with_sha256(session: Session, hashes: list[str]) -> set[str]:
    """Which of these image hashes some stored upload still uses (files are shared)."""
    if not hashes:
        return set()
    return set(session.execute(
        select(Upload.sha256).where(Upload.sha256.in_(hashes))).scalars())


def get_upload(session: Session, upload_id: int) -> Upload:
    _known_id(upload_id)
    upload = session.get(Upload, upload_id)
    if upload is None:
        raise not_found("upload_not_found", f"未找到图片 {upload_id}")
    return upload


def _check_after_sale_allowed(session: Session, order: Order, kind: str,
                              product_ids: list[str]) -> None:
    """After-sales are per item: while one item of an order is being returned, another item
    of the same (delivered) order can still get its own after-sale. No items = the order."""
    busy = [record for record in list_after_sales(session, order.id)
            if record.status in ("pending", "processing")]

    def overlaps(record: AfterSale) -> bool:
        return not record.items or not product_ids or bool(set(record.items) & set(product_ids))

    status = order.status
    if status == "unpaid":
        raise conflict("after_sales_not_allowed", "订单尚未付款，无需售后，可直接取消订单")
    if status in ("cancelled", "refunded"):
        raise conflict("after_sales_not_allowed", "订单已取消或已退款，无法再申请售后")
    if status == "return_requested":
        if any(overlaps(record) for record in busy):
            raise conflict("after_sales_not_allowed", "该商品正在退货处理中，请等待当前售后完成")
        status = "delivered"  # the order's other items arrived with it
    allowed = {
        "return": ("delivered",),
        "exchange": ("delivered",),
        "resend": ("shipped", "delivered"),
        "refund": ("paid", "shipped", "delivered"),
    }[kind]
    if status not in allowed:
        messages = {
            "return": "订单尚未签收，暂不能申请退货。未发货订单可直接取消，运输中的包裹可拒收",
            "exchange": "订单尚未签收，签收后才能申请换货",
            "resend": "订单尚未发货，无需补发",
        }
        raise conflict("after_sales_not_allowed", messages.get(kind, "当前订单状态不支持该售后"))
    if status == "delivered" and order.delivered_at is not None:
        rules = policy.windows()
        if clock.now() - order.delivered_at > rules.after_sale:
            raise conflict("after_sales_expired",
                           f"已超过签收后{rules.after_sale_days}天的售后期限，无法在线申请")
    for record in busy:
        if record.type == kind and overlaps(record):
            raise conflict(
                "after_sales_exists",
                f"该订单已有处理中的{_type_text(kind)}申请（AS{record.id:08d}），请勿重复提交",
            )


def _type_text(kind: str) -> str:
    return {"return": "退货", "exchange": "换货", "resend": "补发", "refund": "退款",
            "price_protection": "价保"}[kind]


# ---------------------------------------------------------------- price protection


@dataclass
class PriceCheck:
    """What 价保 found for one order: each line's price as paid and now, and the claim."""

    outcome: str  # filed / duplicate / no_drop
    lines: list[tuple[OrderItem, Decimal, Decimal]]  # line, price now, difference
    amount: Decimal
    until: Optional[date]
    record: Optional[AfterSale]


def price_protection(session: Session, order: Order,
                     conversation_id: Optional[str] = None) -> PriceCheck:
    """价保: the order's prices against the shop's prices now. A fall within the window
    (any time before delivery, `price_protection_days` after it) is refunded: an after-sale
    of type price_protection with the difference, once per order (asking again shows that
    claim). The order's status refuses it when there is nothing to protect (409)."""
    if order.status in PRICE_PROTECTION_REFUSALS:
        raise conflict("not_price_protectable", PRICE_PROTECTION_REFUSALS[order.status])
    rules = policy.windows()
    until = None
    if order.delivered_at is not None:
        until = (order.delivered_at + rules.price_protection).date()
    earlier = next((record for record in list_after_sales(session, order.id)
                    if record.type == "price_protection"
                    and record.status not in ("rejected", "closed")), None)
    now = clock.now()
    if earlier is None and until is not None and order.delivered_at is not None and \
            now - order.delivered_at > rules.price_protection:
        raise conflict("price_protection_expired",
                       f"订单已签收超过{rules.price_protection_days}天"
                       f"（{clock.cn_date(until)}截止），不在价保期内了")
    prices = dict(session.execute(
        select(Product.id, Product.price).where(
            Product.id.in_({item.product_id for item in order.items}))).all())
    lines = []
    for item in order.items:
        current = prices.get(item.product_id, item.price)
        lines.append((item, current, max(item.price - current, Decimal("0")) * item.quantity))
    amount = sum((difference for _, _, difference in lines), Decimal("0"))
    if earlier is not None:
        return PriceCheck("duplicate", lines, earlier.refund_amount or Decimal("0"), until,
                          earlier)
    if not amount:
        return PriceCheck("no_drop", lines, amount, until, None)
    fallen = [item for item, _, difference in lines if difference]
    record = AfterSale(
        order_id=order.id, type="price_protection", status="processing",
        reason="价保：" + "、".join(
            f"{item.product_name}降价{yuan(item.price - current)}元"
            for item, current, difference in lines if difference),
        items=list(dict.fromkeys(item.product_id for item in fallen)), photos=[],
        evidence=[], created_at=now, refund_amount=amount,
        expected_refund_date=now.date() + timedelta(days=_refund_days(order)),
        conversation_id=conversation_id,
    )
    session.add(record)
    session.flush()
    return PriceCheck("filed", lines, amount, until, record)


# ---------------------------------------------------------------- coupons / invoices


def list_coupons(session: Session, customer_id: str) -> list[Coupon]:
    ensure_customer(session, customer_id)
    return list(session.execute(
        select(Coupon).where(Coupon.customer_id == customer_id)
        .order_by(Coupon.issued_at.desc(), Coupon.id.desc())
    ).scalars())


def coupon_amount_issued_today(session: Session, customer_id: str) -> Decimal:
    """What this customer was given in coupons since midnight (China time)."""
    midnight = datetime.combine(clock.today(), time(0, 0))
    amounts = session.execute(
        select(Coupon.amount).where(Coupon.customer_id == customer_id,
                                    Coupon.issued_at >= midnight)
    ).scalars().all()
    return sum(amounts, Decimal("0"))


def issue_coupon(
    session: Session,
    customer_id: str,
    amount: Decimal,
    threshold: Decimal,
    reason: str,
    valid_days: int,
) -> Coupon:
    ensure_customer(session, customer_id)
    if threshold and threshold <= amount:
        raise unprocessable("invalid_value", "使用门槛必须大于优惠金额（无门槛券请填0）")
    now = clock.now()
    # Valid through the end of the last day, like real shop coupons.
    expires = datetime.combine(now.date() + timedelta(days=valid_days), time(23, 59, 59))
    coupon = Coupon(
        customer_id=customer_id, amount=amount, threshold=threshold, reason=reason,
        issued_at=now, expires_at=expires, used=False,
    )
    session.add(coupon)
    session.flush()
    return coupon


def list_invoices(session: Session, order_id: str) -> list[Invoice]:
    return list(session.execute(
        select(Invoice).where(Invoice.order_id == order_id)
        .order_by(Invoice.created_at.desc(), Invoice.id.desc())
    ).scalars())


def request_invoice(
    session: Session,
    order: Order,
    kind: str,
    title: str,
    tax_id: Optional[str],
    email: str,
    details: Optional[dict[str, Optional[str]]] = None,
    conversation_id: Optional[str] = None,
) -> tuple[Invoice, bool]:
    """Returns (invoice, duplicate); an identical repeat request is idempotent.

    ``details``: optional buyer_address, buyer_phone, bank_name, bank_account. A new
    request opens a 待开发票 to-do, closed when the invoice is issued.
    """
    if order.status in INVOICE_REFUSALS:
        raise conflict("invoice_not_allowed", INVOICE_REFUSALS[order.status],
                       order_status=order.status)
    for existing in list_invoices(session, order.id):
        same = (existing.type, existing.title, existing.tax_id) == (kind, title, tax_id)
        if same:
            return existing, True
        from shop.serializers import invoice_json  # serializers imports this module

        # One invoice per order; the existing one goes along so the caller can tell the
        # customer what was already requested without another round trip.
        raise conflict(
            "invoice_exists",
            f"该订单已申请过发票（{invoice_json(existing)['type_text']}，抬头：{existing.title}），"
            "一个订单只能开一张发票，如需换开请联系人工客服",
            invoice=invoice_json(existing),
        )
    invoice = Invoice(
        order_id=order.id, type=kind, title=title, tax_id=tax_id, email=email,
        amount=order.total_amount, status="pending", created_at=clock.now(), **(details or {}),
    )
    session.add(invoice)
    session.flush()
    type_text = "增值税专用发票" if kind == "special" else "电子普通发票"
    session.add(Todo(
        conversation_id=conversation_id, customer_id=order.customer_id, order_id=order.id,
        kind="invoice", text=f"待开发票（{type_text}，抬头：{title}）", ref=f"INV{invoice.id:08d}",
        status="open", created_at=clock.now(),
    ))
    return invoice, False


def issue_invoice(session: Session, invoice_id: int) -> tuple[Invoice, list[Todo]]:
    """Finance has issued the invoice: the request and its to-do are closed."""
    _known_id(invoice_id)
    invoice = session.get(Invoice, invoice_id)
    if invoice is None:
        raise not_found("invoice_not_found", f"未找到开票申请 {invoice_id}")
    if invoice.status == "issued":
        return invoice, []
    invoice.status = "issued"
    invoice.issued_at = clock.now()
    name, _, domain = invoice.email.partition("@")
    closed = [todo for todo in close_todos(
        session, f"电子发票已开具，已发送至{name[:2]}***@{domain}", kind="invoice",
        order_id=invoice.order_id) if todo.ref == f"INV{invoice.id:08d}"]
    session.flush()
    return invoice, closed


# ---------------------------------------------------------------- products


def list_products(session: Session, category: Optional[str], q: Optional[str]) -> list[Product]:
    query = select(Product).order_by(Product.id)
    if category:
        query = query.where(Product.category == category)
    if q:
        pattern = f"%{q}%"
        query = query.where(or_(Product.name.ilike(pattern), Product.brand.ilike(pattern)))
    return list(session.execute(query).scalars())


def get_product(session: Session, product_id: str) -> Product:
    product = session.get(Product, product_id)
    if product is None:
        raise not_found("product_not_found", f"未找到商品 {product_id}")
    return product


def ship_promise(product: Product, now: datetime) -> dict[str, Any]:
    if product.stock > 0:
        before_cutoff = now.hour < CUTOFF_HOUR
        ships_by = now.date() if before_cutoff else now.date() + timedelta(days=1)
        if before_cutoff:
            text = (f"今天{CUTOFF_HOUR}点前付款当天发货，现在下单预计今天"
                    f"（{clock.cn_date(ships_by)}）发出，发货后一般1-3天送达")
        else:
            text = (f"今天{CUTOFF_HOUR}点前付款当天发货；现在已过{CUTOFF_HOUR}点，付款后预计明天"
                    f"（{clock.cn_date(ships_by)}）发出，发货后一般1-3天送达")
        return {
            "product_id": product.id, "in_stock": True, "stock": product.stock,
            "ships_by": ships_by.isoformat(), "cutoff_hour": CUTOFF_HOUR,
            "restock_date": None, "text": text,
        }
    restock = product.restock_date or now.date() + timedelta(days=7)
    ships_by = restock + timedelta(days=1)
    text = (f"该商品暂时缺货，预计{clock.cn_date(restock)}补货，现在下单将按付款顺序在"
            f"{clock.cn_date(ships_by)}前发出")
    return {
        "product_id": product.id, "in_stock": False, "stock": 0,
        "ships_by": ships_by.isoformat(), "cutoff_hour": CUTOFF_HOUR,
        "restock_date": restock.isoformat(), "text": text,
    }



def size_advice(
    session: Session,
    product: Product,
    height: float,
    weight: float,
    fit: str,
    body_shape: str,
) -> dict[str, Any]:
    """Chart-based size with its reason, plus fit feedback of buyers of a similar build."""
    if not product.size_chart:
        raise unprocessable("no_size_chart",
                            f"{product.name}不区分尺码，没有尺码表，无法按身高体重推荐尺码")
    fit_note = (product.attributes or {}).get("fit")
    advice = sizing.advise(product.size_chart, height, weight, fit, body_shape, fit_note)
    rows = list(session.execute(
        select(FitFeedback).where(FitFeedback.product_id == product.id)
        .order_by(FitFeedback.id)
    ).scalars())
    similar = sizing.similar_feedback(rows, height, weight, limit=0)
    return {
        "product_id": product.id,
        "product_name": product.name,
        "height_cm": int(height) if height.is_integer() else height,
        "weight_kg": int(weight) if weight.is_integer() else weight,
        "fit": fit,
        "body_shape": body_shape,
        "size": advice["size"],
        "reason": advice["reason"],
        "between": advice["between"],
        "alternatives": advice["alternatives"],
        "in_chart": advice["in_chart"],
        "warning": advice["warning"],
        "fit_note": fit_note,
        "size_row": product.size_chart[advice["index"]],
        "feedback": [_feedback_json(r) for r in similar[:3]],
        "feedback_summary": _feedback_summary(product, similar),
        "chart": product.size_chart,
    }


def _feedback_json(row: FitFeedback) -> dict[str, Any]:
    fit = FIT_RESULT_TEXT[row.fit]
    return {
        "height_cm": row.height_cm,
        "weight_kg": row.weight_kg,
        "size": row.size,
        "fit": fit,
        "fit_code": row.fit,
        "text": f"{row.height_cm}cm/{row.weight_kg}kg 的买家选了{row.size}码，反馈{fit}",
    }


def _feedback_summary(product: Product, similar: list[FitFeedback]) -> dict[str, Any]:
    """Counts per size (chart order) and verdict among buyers of a similar build."""
    by_size: dict[str, dict[str, int]] = {}
    for row in similar:
        counts = by_size.setdefault(row.size, {"fits": 0, "too_large": 0, "too_small": 0})
        counts[row.fit] += 1
    order = [r["size"] for r in product.size_chart]
    sizes = [
        {"size": size, "count": sum(counts.values()), **counts}
        for size, counts in sorted(by_size.items(), key=lambda kv: order.index(kv[0]))
    ]
    text = None
    if similar:
        parts = []
        for entry in sizes:
            verdicts = "、".join(
                f"{FIT_RESULT_TEXT[code]}{entry[code]}位"
                for code in ("fits", "too_large", "too_small") if entry[code]
            )
            parts.append(f"选{entry['size']}码{entry['count']}位（{verdicts}）")
        text = f"身材相近（身高±3cm、体重±4kg）的{len(similar)}位买家：" + "；".join(parts)
    return {"count": len(similar), "sizes": sizes, "text": text}


# ---------------------------------------------------------------- views / recent / related


def record_view(
    session: Session, customer_id: str, product_id: str, source: str
) -> tuple[ProductView, bool]:
    """Returns (view, duplicate): the same product again within 30 minutes only moves the
    time of the customer's latest view forward."""
    ensure_customer(session, customer_id)
    get_product(session, product_id)
    now = clock.now()
    latest = session.execute(
        select(ProductView).where(ProductView.customer_id == customer_id)
        .order_by(ProductView.viewed_at.desc(), ProductView.id.desc()).limit(1)
    ).scalar_one_or_none()
    if (latest is not None and latest.product_id == product_id
            and now - latest.viewed_at <= VIEW_DEDUPE_WINDOW):
        latest.viewed_at = max(latest.viewed_at, now)
        session.flush()
        return latest, True
    view = ProductView(customer_id=customer_id, product_id=product_id, viewed_at=now,
                       source=source)
    session.add(view)
    session.flush()
    return view, False


def recent_views(session: Session, customer_id: str, limit: int = 5) -> list[ProductView]:
    """The customer's latest view of each product, newest first (at most ``limit``)."""
    views = session.execute(
        select(ProductView).options(joinedload(ProductView.product))
        .where(ProductView.customer_id == customer_id)
        .order_by(ProductView.viewed_at.desc(), ProductView.id.desc()).limit(100)
    ).scalars()
    seen: dict[str, ProductView] = {}
    for view in views:
        seen.setdefault(view.product_id, view)
        if len(seen) >= limit:
            break
    return list(seen.values())


def purchases(session: Session, customer_id: str) -> list[tuple[OrderItem, Order]]:
    """Every bought line (unpaid and cancelled orders excluded), newest order first."""
    rows = session.execute(
        select(OrderItem, Order).join(Order, Order.id == OrderItem.order_id)
        .where(Order.customer_id == customer_id, Order.status.notin_(NOT_PURCHASED))
        .order_by(Order.created_at.desc(), Order.id.desc(), OrderItem.id)
    ).all()
    return [(item, order) for item, order in rows]


def last_purchased(
    bought: list[tuple[OrderItem, Order]]
) -> Optional[tuple[OrderItem, Order]]:
    """The first line of the newest order the customer kept (returns and refunds are not
    something to bring up as "您上次买的…")."""
    return next(((item, order) for item, order in bought if order.status in KEPT), None)


def bought_since(bought: list[tuple[OrderItem, Order]], product_id: str,
                 since: datetime) -> bool:
    return any(item.product_id == product_id and order.created_at >= since
               for item, order in bought)


def related_products(
    session: Session, product: Product, limit: int
) -> list[tuple[Product, str, int]]:
    """(product, reason code, shared orders) ranked for cross-selling ``product``.

    First what was bought in the same orders (at least MIN_CO_PURCHASES of them), then
    the same category by sales; sold-out products and the product itself never appear.
    """
    purchased = select(Order.id).where(Order.status.notin_(NOT_PURCHASED))
    with_product = (select(OrderItem.order_id)
                    .where(OrderItem.product_id == product.id,
                           OrderItem.order_id.in_(purchased)))
    co_counts = dict(session.execute(
        select(OrderItem.product_id, func.count(func.distinct(OrderItem.order_id)))
        .where(OrderItem.order_id.in_(with_product), OrderItem.product_id != product.id)
        .group_by(OrderItem.product_id)
    ).all())
    sales = dict(session.execute(
        select(OrderItem.product_id, func.count(func.distinct(OrderItem.order_id)))
        .where(OrderItem.order_id.in_(purchased))
        .group_by(OrderItem.product_id)
    ).all())
    candidates = [p for p in session.execute(
        select(Product).where(Product.id != product.id, Product.stock > 0).order_by(Product.id)
    ).scalars()]
    co_bought = sorted(
        (p for p in candidates if co_counts.get(p.id, 0) >= MIN_CO_PURCHASES),
        key=lambda p: (-co_counts[p.id], -sales.get(p.id, 0), p.id),
    )
    chosen = [(p, "co_purchase", co_counts[p.id]) for p in co_bought[:limit]]
    taken = {p.id for p, _, _ in chosen}
    same_category = sorted(
        (p for p in candidates if p.category == product.category and p.id not in taken),
        key=lambda p: (-sales.get(p.id, 0), p.id),
    )
    chosen += [(p, "same_category", co_counts.get(p.id, 0))
               for p in same_category[:limit - len(chosen)]]
    return chosen
