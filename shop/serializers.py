"""ORM objects -> API JSON (ISO datetimes with +08:00, amounts as yuan numbers).

What the shop contract defines goes out through its models (contract/): the shape is
defined once, there, and checked on the way out."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Optional

import contract
from shop import clock, policy
from shop.catalog import CATEGORY_TEXT
from shop.models import (
    STATUS_TEXT,
    AfterSale,
    Coupon,
    Customer,
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
from shop.services import (
    INVOICE_REFUSALS,
    REASON_CODES,
    RELATED_REASONS,
    SELLER_FAULT_REASONS,
)

LEVEL_TEXT = {"normal": "普通会员", "silver": "银卡会员", "gold": "金卡会员", "diamond": "钻石会员"}
COURIER_HOTLINE = {
    "顺丰": "95338", "中通": "95311", "圆通": "95554", "韵达": "95546", "申通": "95543",
    "京东物流": "950616", "邮政EMS": "11183", "极兔": "956025",
}
TRACKING_STATE_TEXT = {
    "not_shipped": "未发货",
    "in_transit": "运输中",
    "out_for_delivery": "派送中",
    "delivered": "已签收",
}
AFTER_SALE_TYPE_TEXT = {"return": "退货退款", "exchange": "换货", "resend": "补发",
                        "refund": "仅退款", "price_protection": "价保退差价"}
AFTER_SALE_STATUS_TEXT = {"pending": "待审核", "processing": "处理中", "completed": "已完成",
                          "rejected": "已驳回", "closed": "已关闭"}
REFUND_METHOD = {"alipay": "原路退回支付宝", "wechat": "原路退回微信支付", "card": "原路退回银行卡"}
PAYMENT_TEXT = {"alipay": "支付宝", "wechat": "微信支付", "card": "银行卡"}
INVOICE_TYPE_TEXT = {"normal": "增值税电子普通发票", "special": "增值税专用发票"}
INVOICE_STATUS_TEXT = {"pending": "开具中", "issued": "已开具"}
TODO_KIND_TEXT = {"resend_tracking": "补发单号", "damage_photo": "破损图片", "invoice": "发票",
                  "refund": "退款", "callback": "回电", "other": "其他"}
TODO_STATUS_TEXT = {"open": "待处理", "done": "已完成", "cancelled": "已取消"}
# A parcel with no scan for this long counts as delayed even before the ETA passes.
STALE_AFTER = timedelta(hours=48)


def money(value: Optional[Decimal]) -> Optional[float]:
    return float(round(value, 2)) if value is not None else None


def mask_phone(phone: Optional[str]) -> Optional[str]:
    """138****5678; other numbers (landlines) keep only their last 4 digits. No endpoint
    ever returns a full phone (docs/security-shop.md)."""
    if phone is None:
        return None
    if len(phone) == 11 and phone.isdigit():
        return f"{phone[:3]}****{phone[-4:]}"
    return "****" + phone[-4:] if len(phone) > 4 else "****"


def customer_json(customer: Customer) -> dict[str, Any]:
    return contract.Customer.parse_obj({
        "id": customer.id,
        "name": customer.name,
        "surname": customer.surname,
        "title": customer.title,
        "salutation": f"{customer.surname}{customer.title}",
        "gender": customer.gender,
        "phone": mask_phone(customer.phone),
        "phone_masked": mask_phone(customer.phone),
        "level": customer.level,
        "level_text": LEVEL_TEXT.get(customer.level, customer.level),
        "channel_user_ids": [c.channel_user_id for c in customer.channels],
        "created_at": clock.iso(customer.created_at),
    }).dict()


def order_json(order: Order) -> dict[str, Any]:
    shipment = order.shipment
    address = order.address
    pre_shipment = order.status in ("unpaid", "paid")
    delivered, rules = order.delivered_at, policy.windows()
    return contract.Order.parse_obj({
        "id": order.id,
        "customer_id": order.customer_id,
        "status": order.status,
        "status_text": STATUS_TEXT[order.status],
        "created_at": clock.iso(order.created_at),
        "paid_at": clock.iso(order.paid_at),
        "shipped_at": clock.iso(order.shipped_at),
        "delivered_at": clock.iso(order.delivered_at),
        "cancelled_at": clock.iso(order.cancelled_at),
        "cancel_reason": order.cancel_reason,
        "promised_ship_by": clock.iso(order.promised_ship_by),
        "total_amount": money(order.total_amount),
        "payment_method": order.payment_method,
        "items": [
            {
                "product_id": item.product_id,
                "name": item.product_name,
                "spec": item.spec,
                "quantity": item.quantity,
                "price": money(item.price),
            }
            for item in order.items
        ],
        "address": {
            "name": address.name,
            "phone": mask_phone(address.phone),
            "province": address.province,
            "city": address.city,
            "district": address.district,
            "detail": address.detail,
        }
        if address is not None
        else None,
        "courier": shipment.courier if shipment else None,
        "tracking_no": shipment.tracking_no if shipment else None,
        "can_cancel": pre_shipment,
        "can_change_address": pre_shipment,
        "no_reason_until": clock.iso(delivered + rules.no_reason) if delivered else None,
        "after_sale_until": clock.iso(delivered + rules.after_sale) if delivered else None,
        "invoice_refusal": INVOICE_REFUSALS.get(order.status),
    }).dict()


def policy_json() -> dict[str, Any]:
    rules = policy.windows()
    return contract.Policy(no_reason_days=rules.no_reason_days,
                           after_sale_days=rules.after_sale_days,
                           price_protection_days=rules.price_protection_days,
                           courier_hotlines=COURIER_HOTLINE).dict()


def event_json(event: Any) -> dict[str, Any]:
    return contract.TrackingEvent.parse_obj({
        "time": clock.iso(event.time),
        "location": event.location,
        "description": event.description,
    }).dict()


def tracking_json(order: Order, now: datetime) -> dict[str, Any]:
    shipment: Optional[Shipment] = order.shipment
    if shipment is None:
        return contract.Tracking.parse_obj({
            "order_id": order.id,
            "order_status": order.status,
            "courier": None,
            "courier_hotline": None,
            "tracking_no": None,
            "state": "not_shipped",
            "state_text": TRACKING_STATE_TEXT["not_shipped"],
            "current_location": None,
            "latest_event": None,
            "events": [],
            "eta": None,
            "delayed": False,
            "shipped_at": None,
            "promised_ship_by": clock.iso(order.promised_ship_by),
        }).dict()
    events = shipment.events  # newest first (relationship order_by)
    latest = events[0] if events else None
    delayed = False
    if shipment.state != "delivered":
        eta_passed = shipment.eta is not None and shipment.eta < now.date()
        stale = latest is not None and now - latest.time > STALE_AFTER
        delayed = eta_passed or stale
    return contract.Tracking.parse_obj({
        "order_id": order.id,
        "order_status": order.status,
        "courier": shipment.courier,
        "courier_hotline": COURIER_HOTLINE.get(shipment.courier),
        "tracking_no": shipment.tracking_no,
        "state": shipment.state,
        "state_text": TRACKING_STATE_TEXT.get(shipment.state, shipment.state),
        "current_location": latest.location if latest else None,
        "latest_event": event_json(latest) if latest else None,
        "events": [event_json(e) for e in events],
        "eta": clock.iso_date(shipment.eta),
        "delayed": delayed,
        "shipped_at": clock.iso(shipment.shipped_at),
        "promised_ship_by": clock.iso(order.promised_ship_by),
    }).dict()


def product_summary_json(product: Product) -> dict[str, Any]:
    return contract.ProductSummary.parse_obj({
        "id": product.id,
        "brand": product.brand,
        "name": product.name,
        "category": product.category,
        "category_text": CATEGORY_TEXT.get(product.category, product.category),
        "price": money(product.price),
        "stock": product.stock,
        "in_stock": product.stock > 0,
    }).dict()


def product_json(product: Product) -> dict[str, Any]:
    return contract.Product.parse_obj({
        **product_summary_json(product),
        "description": product.description,
        "options": product.options,
        "attributes": product.attributes,
        "size_chart": product.size_chart,
        "restock_date": clock.iso_date(product.restock_date) if product.stock <= 0 else None,
    }).dict()


def followup_json(followup: Followup) -> dict[str, Any]:
    return contract.Followup.parse_obj({
        "id": followup.id,
        "ticket_no": f"FU{followup.id:08d}",
        "type": followup.type,
        "order_id": followup.order_id,
        "customer_id": followup.customer_id,
        "note": followup.note,
        "status": followup.status,
        "created_at": clock.iso(followup.created_at),
        # Service promise: someone gets back to the customer within 24 hours.
        "respond_by": clock.iso(followup.created_at + timedelta(hours=24)),
        "closed_at": clock.iso(followup.closed_at),
    }).dict()


def after_sale_json(record: AfterSale) -> dict[str, Any]:
    return contract.AfterSale.parse_obj({
        "id": record.id,
        "ticket_no": f"AS{record.id:08d}",
        "order_id": record.order_id,
        "type": record.type,
        "type_text": AFTER_SALE_TYPE_TEXT.get(record.type, record.type),
        "status": record.status,
        "status_text": AFTER_SALE_STATUS_TEXT.get(record.status, record.status),
        "reason": record.reason,
        "items": record.items or [],
        "photos": record.photos or [],
        "created_at": clock.iso(record.created_at),
        "refund_amount": money(record.refund_amount),
        "expected_refund_date": clock.iso_date(record.expected_refund_date),
        "completed_at": clock.iso(record.completed_at),
        "kind": "refund_only" if record.type == "refund" else record.type,
        "reason_code": record.reason_code,
        "reason_code_text": REASON_CODES.get(record.reason_code or ""),
        "return_shipping_paid_by": _return_shipping(record),
        "evidence": list(record.evidence or []),
        "evidence_urls": [f"/api/uploads/{i}" for i in record.evidence or []],
        "conversation_id": record.conversation_id,
        "courier": record.courier,
        "tracking_no": record.tracking_no,
        "shipped_at": clock.iso(record.shipped_at),
        "return_courier": record.return_courier,
        "return_tracking_no": record.return_tracking_no,
        "return_sent_at": clock.iso(record.return_sent_at),
        "return_received_at": clock.iso(record.return_received_at),
    }).dict()


def price_protection_json(order: Order, check: Any) -> dict[str, Any]:
    """services.PriceCheck as the contract's PriceProtection."""
    return contract.PriceProtection.parse_obj({
        "order_id": order.id,
        "outcome": check.outcome,
        "days": policy.windows().price_protection_days,
        "until": clock.iso_date(check.until),
        "items": [{"product_id": item.product_id, "product_name": item.product_name,
                   "quantity": item.quantity, "paid_price": money(item.price),
                   "current_price": money(current), "difference": money(difference)}
                  for item, current, difference in check.lines],
        "amount": money(check.amount),
        "after_sale": after_sale_json(check.record) if check.record is not None else None,
    }).dict()


def _return_shipping(record: AfterSale) -> Optional[str]:
    """Who pays for sending goods back: the seller for its own faults, else the buyer."""
    if record.type not in ("return", "exchange") or record.reason_code is None:
        return None
    return "seller" if record.reason_code in SELLER_FAULT_REASONS else "buyer"


def refund_json(order: Order, record: Optional[AfterSale]) -> dict[str, Any]:
    if record is None:
        status = "none"
    elif record.status == "completed":
        status = "completed"
    else:
        status = "processing"
    status_text = {"none": "无退款", "processing": "退款处理中", "completed": "退款已完成"}
    return contract.Refund.parse_obj({
        "order_id": order.id,
        "status": status,
        "status_text": status_text[status],
        "amount": money(record.refund_amount) if record else None,
        "requested_at": clock.iso(record.created_at) if record else None,
        "expected_date": clock.iso_date(record.expected_refund_date) if record else None,
        "completed_at": clock.iso(record.completed_at) if record else None,
        "method": REFUND_METHOD.get(order.payment_method or "") if record else None,
        "after_sale_id": record.id if record else None,
    }).dict()


def coupon_json(coupon: Coupon, now: datetime) -> dict[str, Any]:
    if coupon.used:
        status = "used"
    elif coupon.expires_at < now:
        status = "expired"
    else:
        status = "available"
    amount = money(coupon.amount)
    threshold = money(coupon.threshold) or 0.0
    title = f"满{threshold:g}减{amount:g}" if threshold > 0 else f"无门槛{amount:g}元"
    return contract.Coupon.parse_obj({
        "id": coupon.id,
        "code": f"CP{coupon.id:08d}",
        "customer_id": coupon.customer_id,
        "title": title,
        "amount": amount,
        "threshold": threshold,
        "reason": coupon.reason,
        "issued_at": clock.iso(coupon.issued_at),
        "expires_at": clock.iso(coupon.expires_at),
        "used": coupon.used,
        "status": status,
        "usable": status == "available",
        # Whole days left (0 = last day today), for "您有一张券3天后到期"; None once unusable.
        "expires_in_days": (coupon.expires_at.date() - now.date()).days
        if status == "available" else None,
        "status_text": {"used": "已使用", "expired": "已过期", "available": "可使用"}[status],
    }).dict()


def invoice_json(invoice: Invoice) -> dict[str, Any]:
    return contract.Invoice.parse_obj({
        "id": invoice.id,
        "invoice_request_no": f"INV{invoice.id:08d}",
        "order_id": invoice.order_id,
        "type": invoice.type,
        "type_text": INVOICE_TYPE_TEXT.get(invoice.type, invoice.type),
        "title": invoice.title,
        "tax_id": invoice.tax_id,
        "email": invoice.email,
        "amount": money(invoice.amount),
        "status": invoice.status,
        "status_text": INVOICE_STATUS_TEXT.get(invoice.status, invoice.status),
        "created_at": clock.iso(invoice.created_at),
        "issued_at": clock.iso(invoice.issued_at),
        "buyer_address": invoice.buyer_address,
        "buyer_phone": mask_phone(invoice.buyer_phone),
        "bank_name": invoice.bank_name,
        "bank_account": invoice.bank_account,
    }).dict()


def upload_json(upload: Upload) -> dict[str, Any]:
    return contract.Upload.parse_obj({
        "id": upload.id,
        "url": f"/api/uploads/{upload.id}",
        "sha256": upload.sha256,
        "content_type": upload.content_type,
        "size": upload.size,
        "width": upload.width,
        "height": upload.height,
        "filename": upload.filename,
        "order_id": upload.order_id,
        "conversation_id": upload.conversation_id,
        "created_at": clock.iso(upload.created_at),
    }).dict()


def todo_json(todo: Todo) -> dict[str, Any]:
    return contract.Todo.parse_obj({
        "id": todo.id,
        "todo_no": f"TD{todo.id:08d}",
        "conversation_id": todo.conversation_id,
        "customer_id": todo.customer_id,
        "order_id": todo.order_id,
        "after_sale_id": todo.after_sale_id,
        "kind": todo.kind,
        "kind_text": TODO_KIND_TEXT.get(todo.kind, todo.kind),
        "text": todo.text,
        "ref": todo.ref,
        "status": todo.status,
        "status_text": TODO_STATUS_TEXT.get(todo.status, todo.status),
        "result_text": todo.result_text,
        "created_at": clock.iso(todo.created_at),
        "closed_at": clock.iso(todo.closed_at),
    }).dict()


def _stock_info(product: Product) -> dict[str, Any]:
    """Summary plus the restock date of a sold-out product (None while in stock)."""
    return {
        **product_summary_json(product),
        "restock_date": clock.iso_date(product.restock_date) if product.stock <= 0 else None,
    }


def view_json(view: ProductView, purchased_after_view: bool = False) -> dict[str, Any]:
    return contract.ViewedProduct.parse_obj({
        **_stock_info(view.product),
        "viewed_at": clock.iso(view.viewed_at),
        "source": view.source,
        # Bought after looking at it: "还有货哦" would be pointless then.
        "purchased_after_view": purchased_after_view,
    }).dict()


def recorded_view_json(view: ProductView, duplicate: bool) -> dict[str, Any]:
    return contract.ViewRecorded.parse_obj({
        "id": view.id,
        "customer_id": view.customer_id,
        "product_id": view.product_id,
        "viewed_at": clock.iso(view.viewed_at),
        "source": view.source,
        "duplicate": duplicate,
        "product": product_summary_json(view.product),
    }).dict()


def purchase_json(item: OrderItem, order: Order, product: Product) -> dict[str, Any]:
    return contract.PurchasedProduct.parse_obj({
        **_stock_info(product),
        "order_id": order.id,
        "ordered_at": clock.iso(order.created_at),
        "order_status": order.status,
        "order_status_text": STATUS_TEXT[order.status],
        "spec": item.spec,
        "quantity": item.quantity,
    }).dict()


def related_json(product: Product, reason_code: str, co_purchases: int) -> dict[str, Any]:
    return contract.RelatedProduct.parse_obj({
        **product_summary_json(product),
        "reason": RELATED_REASONS[reason_code],
        "reason_code": reason_code,
        "co_purchases": co_purchases,
    }).dict()
