"""The /api endpoints. Each request gets its own session (commit on success)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, json
from sqlalchemy.orm import Session

from shop import clock, services
from shop import validation as v
from shop.catalog import CATEGORY_TEXT
from shop.errors import unprocessable
from shop.models import ORDER_STATUSES
from shop.serializers import (
    after_sale_json,
    coupon_json,
    customer_json,
    followup_json,
    invoice_json,
    order_json,
    product_json,
    product_summary_json,
    refund_json,
    tracking_json,
)

api = Blueprint("api", url_prefix="/api")

AFTER_SALE_TYPES = ("return", "exchange", "resend", "refund")
INVOICE_TYPES = ("normal", "special")
ADDRESS_FIELDS = {"name": 32, "province": 32, "city": 32, "district": 32, "detail": 200}


@contextmanager
def db(request: Request) -> Iterator[Session]:
    session: Session = request.app.ctx.sessions()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# ---------------------------------------------------------------- customers


@api.get("/customers/by-channel/<channel_user_id>")
async def customer_by_channel(request: Request, channel_user_id: str) -> HTTPResponse:
    with db(request) as session:
        return json(customer_json(services.customer_by_channel(session, channel_user_id)))


@api.get("/customers/by-phone/<phone>")
async def customer_by_phone(request: Request, phone: str) -> HTTPResponse:
    v.phone(phone)
    with db(request) as session:
        return json(customer_json(services.customer_by_phone(session, phone)))


@api.get("/customers/<customer_id>")
async def get_customer(request: Request, customer_id: str) -> HTTPResponse:
    with db(request) as session:
        return json(customer_json(services.get_customer(session, customer_id)))


@api.get("/customers/<customer_id>/orders")
async def customer_orders(request: Request, customer_id: str) -> HTTPResponse:
    status = v.query_choice(request, "status", ORDER_STATUSES)
    limit = v.query_int(request, "limit", default=20, minimum=1, maximum=100)
    with db(request) as session:
        orders = services.customer_orders(session, customer_id, status, limit)
        return json({
            "customer_id": customer_id,
            "count": len(orders),
            "orders": [order_json(o) for o in orders],
        })


@api.get("/customers/<customer_id>/coupons")
async def list_coupons(request: Request, customer_id: str) -> HTTPResponse:
    with db(request) as session:
        now = clock.now()
        coupons = services.list_coupons(session, customer_id)
        return json({"customer_id": customer_id,
                     "coupons": [coupon_json(c, now) for c in coupons]})


@api.post("/customers/<customer_id>/coupons")
async def issue_coupon(request: Request, customer_id: str) -> HTTPResponse:
    body = v.read_json(request)
    amount = v.number(body, "amount", minimum=Decimal("0.01"), maximum=Decimal("500"))
    threshold = v.number(body, "threshold", required=False, minimum=Decimal("0"),
                         maximum=Decimal("100000"), default=Decimal("0"))
    reason = v.string(body, "reason", max_len=100)
    valid_days = v.integer(body, "valid_days", required=False, minimum=1, maximum=365,
                           default=30)
    with db(request) as session:
        coupon = services.issue_coupon(session, customer_id, amount, threshold, reason,
                                       valid_days)
        return json(coupon_json(coupon, clock.now()), status=201)


# ---------------------------------------------------------------- orders


@api.get("/orders/<order_id>")
async def get_order(request: Request, order_id: str) -> HTTPResponse:
    v.order_id(order_id)
    with db(request) as session:
        return json(order_json(services.get_order(session, order_id)))


@api.post("/orders/<order_id>/verify")
async def verify_order(request: Request, order_id: str) -> HTTPResponse:
    v.order_id(order_id)
    body = v.read_json(request)
    tail = body.get("phone_tail")
    if isinstance(tail, int) and not isinstance(tail, bool):
        tail = f"{tail:04d}"
    if not isinstance(tail, str) or not v.PHONE_TAIL_RE.match(tail):
        raise unprocessable("invalid_phone_tail", "phone_tail 应为手机号后4位数字")
    with db(request) as session:
        return json({"order_id": order_id,
                     "verified": services.verify_owner(session, order_id, tail)})


@api.get("/orders/<order_id>/tracking")
async def order_tracking(request: Request, order_id: str) -> HTTPResponse:
    v.order_id(order_id)
    with db(request) as session:
        order = services.get_order(session, order_id, with_events=True)
        return json(tracking_json(order, clock.now()))


@api.post("/orders/<order_id>/cancel")
async def cancel_order(request: Request, order_id: str) -> HTTPResponse:
    v.order_id(order_id)
    body = v.read_json(request)
    reason = v.string(body, "reason", required=False, max_len=200, default="客户申请取消")
    with db(request) as session:
        order = services.get_order(session, order_id)
        refund = services.cancel_order(session, order, reason)
        result = order_json(order)
        result["refund"] = refund_json(order, refund) if refund is not None else None
        return json(result)


@api.post("/orders/<order_id>/address")
async def change_address(request: Request, order_id: str) -> HTTPResponse:
    v.order_id(order_id)
    body = v.read_json(request)
    fields: dict[str, Any] = {
        name: v.string(body, name, max_len=max_len) for name, max_len in ADDRESS_FIELDS.items()
    }
    if body.get("phone") is None:
        raise unprocessable("missing_field", "缺少必填字段：phone")
    fields["phone"] = v.phone(body["phone"])
    with db(request) as session:
        order = services.get_order(session, order_id)
        services.change_address(session, order, fields)
        return json(order_json(order))


@api.post("/orders/<order_id>/urge")
async def urge_order(request: Request, order_id: str) -> HTTPResponse:
    v.order_id(order_id)
    body = v.read_json(request)
    note = v.string(body, "note", required=False, max_len=500)
    with db(request) as session:
        order = services.get_order(session, order_id)
        followup, duplicate = services.urge(session, order, note)
        return json({"followup": followup_json(followup), "duplicate": duplicate},
                    status=200 if duplicate else 201)


@api.get("/orders/<order_id>/refund")
async def refund_status(request: Request, order_id: str) -> HTTPResponse:
    v.order_id(order_id)
    with db(request) as session:
        order = services.get_order(session, order_id)
        return json(refund_json(order, services.refund_record(session, order_id)))


@api.get("/orders/<order_id>/after-sales")
async def list_after_sales(request: Request, order_id: str) -> HTTPResponse:
    v.order_id(order_id)
    with db(request) as session:
        services.get_order(session, order_id)
        records = services.list_after_sales(session, order_id)
        return json({"order_id": order_id, "after_sales": [after_sale_json(r) for r in records]})


@api.post("/orders/<order_id>/after-sales")
async def create_after_sale(request: Request, order_id: str) -> HTTPResponse:
    v.order_id(order_id)
    body = v.read_json(request)
    kind = v.choice(body, "type", AFTER_SALE_TYPES)
    reason = v.string(body, "reason", max_len=500)
    items = v.string_list(body, "items", max_items=20, max_len=16)
    photos = v.string_list(body, "photos", max_items=9, max_len=500)
    if any(not p.startswith(("http://", "https://")) for p in photos):
        raise unprocessable("invalid_value", "photos 必须是 http(s) 图片链接")
    with db(request) as session:
        order = services.get_order(session, order_id)
        record = services.create_after_sale(session, order, kind, reason, items, photos)
        return json(after_sale_json(record), status=201)


@api.get("/orders/<order_id>/invoices")
async def list_invoices(request: Request, order_id: str) -> HTTPResponse:
    v.order_id(order_id)
    with db(request) as session:
        services.get_order(session, order_id)
        invoices = services.list_invoices(session, order_id)
        return json({"order_id": order_id, "invoices": [invoice_json(i) for i in invoices]})


@api.post("/orders/<order_id>/invoices")
async def request_invoice(request: Request, order_id: str) -> HTTPResponse:
    v.order_id(order_id)
    body = v.read_json(request)
    kind = v.choice(body, "type", INVOICE_TYPES)
    title = v.string(body, "title", max_len=100)
    tax_id = v.string(body, "tax_id", required=False, max_len=18)
    email = v.string(body, "email", max_len=120)
    if tax_id is not None:
        tax_id = tax_id.upper()
        if not v.TAX_ID_RE.match(tax_id):
            raise unprocessable("invalid_tax_id", "税号格式不正确，应为18位统一社会信用代码")
    elif kind == "special":
        raise unprocessable("missing_field", "增值税专用发票必须填写税号 tax_id")
    if not v.EMAIL_RE.match(email):
        raise unprocessable("invalid_email", "邮箱格式不正确")
    with db(request) as session:
        order = services.get_order(session, order_id)
        invoice, duplicate = services.request_invoice(session, order, kind, title, tax_id, email)
        return json({**invoice_json(invoice), "duplicate": duplicate},
                    status=200 if duplicate else 201)


@api.get("/followups")
async def list_followups(request: Request) -> HTTPResponse:
    order_id = request.args.get("order_id") or None
    if order_id is not None:
        v.order_id(order_id)
    customer_id = request.args.get("customer_id") or None
    status = v.query_choice(request, "status", ("open", "closed"))
    limit = v.query_int(request, "limit", default=50, minimum=1, maximum=200)
    with db(request) as session:
        followups = services.list_followups(session, order_id, customer_id, status, limit)
        return json({"count": len(followups), "followups": [followup_json(f) for f in followups]})


# ---------------------------------------------------------------- products


@api.get("/products")
async def list_products(request: Request) -> HTTPResponse:
    category = v.query_choice(request, "category", tuple(CATEGORY_TEXT))
    q = (request.args.get("q") or "").strip() or None
    if q is not None and len(q) > 50:
        raise unprocessable("invalid_query", "搜索关键词过长，最多50个字符")
    with db(request) as session:
        products = services.list_products(session, category, q)
        return json({"count": len(products),
                     "products": [product_summary_json(p) for p in products]})


@api.get("/products/<product_id>")
async def get_product(request: Request, product_id: str) -> HTTPResponse:
    with db(request) as session:
        return json(product_json(services.get_product(session, product_id)))


@api.get("/products/<product_id>/ship-promise")
async def product_ship_promise(request: Request, product_id: str) -> HTTPResponse:
    with db(request) as session:
        product = services.get_product(session, product_id)
        return json(services.ship_promise(product, clock.now()))
