"""Business rules of the shop; functions take a Session and raise ApiError on refusal."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any, Optional

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from shop import clock
from shop.errors import conflict, not_found, unprocessable
from shop.models import (
    AfterSale,
    Coupon,
    Customer,
    CustomerChannel,
    Followup,
    Invoice,
    Order,
    Product,
    Shipment,
)

CUTOFF_HOUR = 16
AFTER_SALE_WINDOW = timedelta(days=15)
URGE_DEDUPE_WINDOW = timedelta(hours=24)
REFUND_DAYS = {"alipay": 1, "wechat": 1, "card": 3}

# Why an order in a given status cannot be cancelled / re-addressed / urged.
CANCEL_REFUSALS = {
    "shipped": "订单已发货，无法直接取消。您可以在快递派送时拒收，或签收后申请退货退款",
    "delivered": "订单已签收，无法取消。如不满意，可在签收后15天内申请退货退款",
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
URGE_NOTES = {
    "paid": "客户催促发货",
    "shipped": "客户催促派送",
    "return_requested": "客户催促退款进度",
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
    shipment = joinedload(Order.shipment)
    if with_events:
        shipment = shipment.selectinload(Shipment.events)
    return [selectinload(Order.items), joinedload(Order.address), shipment]


def get_order(session: Session, order_id: str, with_events: bool = False) -> Order:
    order = session.execute(
        select(Order).options(*_order_options(with_events)).where(Order.id == order_id)
    ).unique().scalar_one_or_none()
    if order is None:
        raise not_found("order_not_found", f"未找到订单 {order_id}，请核对订单号")
    return order


def customer_orders(
    session: Session, customer_id: str, status: Optional[str], limit: int
) -> list[Order]:
    ensure_customer(session, customer_id)
    query = (
        select(Order)
        .options(selectinload(Order.items), selectinload(Order.address),
                 selectinload(Order.shipment))
        .where(Order.customer_id == customer_id)
        .order_by(Order.created_at.desc(), Order.id.desc())
        .limit(limit)
    )
    if status:
        query = query.where(Order.status == status)
    return list(session.execute(query).scalars())


def verify_owner(session: Session, order_id: str, phone_tail: str) -> bool:
    row = session.execute(
        select(Customer.phone).join(Order, Order.customer_id == Customer.id)
        .where(Order.id == order_id)
    ).first()
    if row is None:
        raise not_found("order_not_found", f"未找到订单 {order_id}，请核对订单号")
    return row[0][-4:] == phone_tail


def _refund_days(order: Order) -> int:
    return REFUND_DAYS.get(order.payment_method or "", 3)


def cancel_order(session: Session, order: Order, reason: str) -> Optional[AfterSale]:
    """Cancel before shipment; a paid order gets a refund record."""
    if order.status not in ("unpaid", "paid"):
        raise conflict("not_cancellable", CANCEL_REFUSALS[order.status])
    now = clock.now()
    refund = None
    if order.status == "paid":
        refund = AfterSale(
            order_id=order.id, type="refund", status="processing",
            reason=f"取消订单：{reason}", items=[], photos=[], created_at=now,
            refund_amount=order.total_amount,
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
    return (open_records or records or [None])[0]


def _items_amount(order: Order, product_ids: list[str]) -> Decimal:
    if not product_ids:
        return order.total_amount
    return sum(
        (i.price * i.quantity for i in order.items if i.product_id in product_ids), Decimal("0")
    )


def create_after_sale(
    session: Session,
    order: Order,
    kind: str,
    reason: str,
    product_ids: list[str],
    photos: list[str],
) -> AfterSale:
    order_products = {item.product_id for item in order.items}
    unknown = [p for p in product_ids if p not in order_products]
    if unknown:
        raise unprocessable("invalid_items", f"商品 {'、'.join(unknown)} 不在该订单中")
    _check_after_sale_allowed(session, order, kind)
    now = clock.now()
    record = AfterSale(
        order_id=order.id, type=kind, status="processing", reason=reason,
        items=product_ids, photos=photos, created_at=now,
    )
    if kind == "return":
        record.refund_amount = _items_amount(order, product_ids)
        # Customer ships the parcel back, the warehouse inspects it, then the refund goes out.
        record.expected_refund_date = now.date() + timedelta(days=7)
        order.status = "return_requested"
    elif kind == "refund":
        if order.status == "paid":
            # Refund before shipment is simply a cancellation with a refund.
            record.refund_amount = order.total_amount
            record.expected_refund_date = now.date() + timedelta(days=_refund_days(order))
            order.status = "cancelled"
            order.cancelled_at = now
            order.cancel_reason = reason
            order.promised_ship_by = None
        else:
            record.status = "pending"
            record.refund_amount = _items_amount(order, product_ids)
            record.expected_refund_date = now.date() + timedelta(days=3)
    session.add(record)
    session.flush()
    return record


def _check_after_sale_allowed(session: Session, order: Order, kind: str) -> None:
    status = order.status
    if status == "unpaid":
        raise conflict("after_sales_not_allowed", "订单尚未付款，无需售后，可直接取消订单")
    if status in ("cancelled", "refunded"):
        raise conflict("after_sales_not_allowed", "订单已取消或已退款，无法再申请售后")
    if status == "return_requested":
        raise conflict("after_sales_not_allowed", "订单正在退货处理中，请等待当前售后完成")
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
        if clock.now() - order.delivered_at > AFTER_SALE_WINDOW:
            raise conflict("after_sales_expired", "已超过签收后15天的售后期限，无法在线申请")
    for record in list_after_sales(session, order.id):
        if record.type == kind and record.status in ("pending", "processing"):
            raise conflict(
                "after_sales_exists",
                f"该订单已有处理中的{_type_text(kind)}申请（AS{record.id:08d}），请勿重复提交",
            )


def _type_text(kind: str) -> str:
    return {"return": "退货", "exchange": "换货", "resend": "补发", "refund": "退款"}[kind]


# ---------------------------------------------------------------- coupons / invoices


def list_coupons(session: Session, customer_id: str) -> list[Coupon]:
    ensure_customer(session, customer_id)
    return list(session.execute(
        select(Coupon).where(Coupon.customer_id == customer_id)
        .order_by(Coupon.issued_at.desc(), Coupon.id.desc())
    ).scalars())


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
) -> tuple[Invoice, bool]:
    """Returns (invoice, duplicate); an identical repeat request is idempotent."""
    if order.status == "unpaid":
        raise conflict("invoice_not_allowed", "订单尚未付款，付款后才能申请发票")
    if order.status in ("cancelled", "refunded", "return_requested"):
        raise conflict("invoice_not_allowed", "订单已取消、已退款或正在退货，无法开具发票")
    for existing in list_invoices(session, order.id):
        same = (existing.type, existing.title, existing.tax_id) == (kind, title, tax_id)
        if same:
            return existing, True
        raise conflict(
            "invoice_exists",
            f"该订单已申请过发票（抬头：{existing.title}），如需换开请联系人工客服",
        )
    invoice = Invoice(
        order_id=order.id, type=kind, title=title, tax_id=tax_id, email=email,
        amount=order.total_amount, status="pending", created_at=clock.now(),
    )
    session.add(invoice)
    session.flush()
    return invoice, False


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

