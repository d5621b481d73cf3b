"""The /api endpoints. Each request gets its own session (commit on success)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import Any, Optional
from urllib.parse import quote

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, json, raw
from sqlalchemy.orm import Session

import contract
from shop import clock, images, promotions, services, sizing
from shop import privacy as shop_privacy
from shop import validation as v
from shop.catalog import CATEGORY_TEXT, COURIERS
from shop.errors import ApiError, error_response, not_found, unprocessable
from shop.models import ORDER_STATUSES, TODO_KINDS, TODO_STATUSES, VIEW_SOURCES
from shop.security import (
    PROOF_MESSAGES,
    issue_proof,
    locked_error,
    proof_problem,
    verified_customer,
)
from shop.seed import demo_tracking_no
from shop.serializers import (
    after_sale_json,
    coupon_json,
    customer_json,
    followup_json,
    invoice_json,
    order_json,
    policy_json,
    price_protection_json,
    product_json,
    product_summary_json,
    purchase_json,
    recorded_view_json,
    refund_json,
    related_json,
    todo_json,
    tracking_json,
    upload_json,
    view_json,
)

api = Blueprint("api", url_prefix="/api")

# refund_only is the explicit name of the stored type "refund" (money back, goods kept).
AFTER_SALE_KINDS = {"return": "return", "exchange": "exchange", "resend": "resend",
                    "refund": "refund", "refund_only": "refund"}
AFTER_SALE_TYPES = tuple(AFTER_SALE_KINDS)
INVOICE_TYPES = ("normal", "special")
ADDRESS_FIELDS = {"name": 32, "province": 32, "city": 32, "district": 32, "detail": 200}
INVOICE_DETAIL_FIELDS = {"buyer_address": 100, "bank_name": 60}
COUPON_STATUSES = ("available", "used", "expired")
RECENTLY_VIEWED = 5
QUOTE_MAX = promotions.MAX_AMOUNT


def require_proof(request: Request, order_id: str) -> None:
    """403 unless the request carries a proof the shop issued for this order (the admin key
    needs none: back office). Checked before the order is looked up, so a caller without a
    proof cannot even learn whether an order exists here."""
    if getattr(request.ctx, "admin", False):
        return
    problem = proof_problem(request.app.ctx.proof_secret,
                            request.headers.get("x-order-proof"), order_id)
    if problem is not None:
        raise ApiError(403, problem, PROOF_MESSAGES[problem])


def require_admin(request: Request) -> None:
    if not getattr(request.ctx, "admin", False):
        raise ApiError(403, "admin_only", "该操作只允许后台管理员（管理员 API Key）执行")


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
    """All coupons, or one status (`?status=available`: unused and not expired)."""
    status = v.query_choice(request, "status", COUPON_STATUSES)
    with db(request) as session:
        now = clock.now()
        coupons = [coupon_json(c, now) for c in services.list_coupons(session, customer_id)]
        available = [c for c in coupons if c["status"] == "available"]
        if status:
            coupons = [c for c in coupons if c["status"] == status]
        return json(contract.CouponList.parse_obj({
            "customer_id": customer_id, "count": len(coupons),
            "available_count": len(available), "coupons": coupons}).dict())


@api.post("/customers/<customer_id>/coupons")
async def issue_coupon(request: Request, customer_id: str) -> HTTPResponse:
    """Capped (SHOP_COUPON_MAX_AMOUNT per coupon, SHOP_COUPON_DAILY_AMOUNT per customer and
    day) for the assistant; the admin key may issue up to 500元. A coupon for an order
    (`order_id`) needs that order's proof."""
    body = v.read_json(request)
    amount = v.number(body, "amount", minimum=Decimal("0.01"), maximum=Decimal("500"))
    threshold = v.number(body, "threshold", required=False, minimum=Decimal("0"),
                         maximum=Decimal("100000"), default=Decimal("0"))
    reason = v.string(body, "reason", max_len=100)
    valid_days = v.integer(body, "valid_days", required=False, minimum=1, maximum=365,
                           default=30)
    order_id = v.body_order_id(body)
    if order_id is not None:
        require_proof(request, order_id)
    settings = request.app.ctx.settings
    admin = getattr(request.ctx, "admin", False)
    if not admin and amount > settings.coupon_max_amount:
        raise unprocessable("coupon_amount_too_high",
                            f"单张优惠券金额不能超过{settings.coupon_max_amount}元")
    with db(request) as session:
        if order_id is not None and services.find_order(session, order_id).customer_id \
                != customer_id:
            raise unprocessable("invalid_value", "订单不属于该顾客")
        if not admin:
            issued = services.coupon_amount_issued_today(session, customer_id)
            if issued + amount > settings.coupon_daily_amount:
                raise ApiError(409, "coupon_limit_reached",
                               f"该顾客今天已发放{issued}元优惠券，"
                               f"每天最多{settings.coupon_daily_amount}元")
        coupon = services.issue_coupon(session, customer_id, amount, threshold, reason,
                                       valid_days)
        return json(coupon_json(coupon, clock.now()), status=201)


@api.post("/customers/<customer_id>/views")
async def record_view(request: Request, customer_id: str) -> HTTPResponse:
    body = v.read_json(request)
    product_id = v.string(body, "product_id", max_len=16)
    source = v.optional_choice(body, "source", VIEW_SOURCES) or "chat_page"
    with db(request) as session:
        view, duplicate = services.record_view(session, customer_id, product_id, source)
        return json(recorded_view_json(view, duplicate), status=200 if duplicate else 201)


@api.get("/customers/<customer_id>/recent")
async def recent_items(request: Request, customer_id: str) -> HTTPResponse:
    """What a returning customer last looked at and last bought (for a warm welcome)."""
    with db(request) as session:
        services.ensure_customer(session, customer_id)
        views = services.recent_views(session, customer_id, RECENTLY_VIEWED)
        bought = services.purchases(session, customer_id)
        viewed = [view_json(view, services.bought_since(bought, view.product_id,
                                                        view.viewed_at))
                  for view in views]
        last = services.last_purchased(bought)
        purchased = None
        if last is not None:
            item, order = last
            purchased = purchase_json(item, order, services.get_product(session,
                                                                        item.product_id))
        return json(contract.RecentItems.parse_obj({
            "customer_id": customer_id,
            "last_viewed": viewed[0] if viewed else None,
            "last_purchased": purchased,
            "recently_viewed": viewed,
        }).dict())


# ---------------------------------------------------------------- orders


@api.get("/orders/<order_id>")
async def get_order(request: Request, order_id: str) -> HTTPResponse:
    v.order_id(order_id)
    require_proof(request, order_id)
    with db(request) as session:
        return json(order_json(services.get_order(session, order_id)))


@api.post("/orders/lookup")
async def lookup_orders(request: Request) -> HTTPResponse:
    """A customer without the order number: their phone plus the product or the order
    date. POST, so the phone number stays out of URLs and access logs. A phone number
    alone lists nobody's orders: a clue (product, date or the linked customer_id) is
    required, as the OpenAPI entry's `anyOf` says."""
    body = v.read_json(request)
    phone = v.phone(body.get("phone"))
    product = v.string(body, "product", required=False, max_len=30)
    raw_date = body.get("date")
    if raw_date is not None and not isinstance(raw_date, str):
        raise unprocessable("invalid_type", "字段 date 必须是字符串")
    customer_id = v.string(body, "customer_id", required=False, max_len=16)
    try:
        # Exactly YYYY-MM-DD (`format: date`): "", spaces or a padded date are no date.
        day = date.fromisoformat(raw_date) if raw_date is not None else None
    except ValueError:
        raise unprocessable("invalid_date", "date 应为 YYYY-MM-DD 格式的日期") from None
    if not (customer_id or product or day):
        raise unprocessable("clue_required", "请再提供购买的商品名或下单日期")
    with db(request) as session:
        orders = services.lookup_orders(session, phone, product, day, customer_id)
        return json({"count": len(orders), "orders": [order_json(o) for o in orders]})


@api.post("/orders/<order_id>/verify")
async def verify_order(request: Request, order_id: str) -> HTTPResponse:
    """Ownership proof: `phone_tail` (counted, locked after too many failures) or the
    linked `customer_id` (with the signed `identity` when the shop has an identity secret).
    Neither: only whether the order exists. A proven owner gets `proof` for X-Order-Proof."""
    v.order_id(order_id)
    body = v.read_json(request)
    tail = body.get("phone_tail")
    if isinstance(tail, int) and not isinstance(tail, bool) and 0 <= tail <= 9999:
        tail = f"{tail:04d}"
    if tail is not None and (not isinstance(tail, str) or not v.PHONE_TAIL_RE.match(tail)):
        raise unprocessable("invalid_phone_tail", "phone_tail 应为手机号后4位数字")
    customer_id = v.string(body, "customer_id", required=False, max_len=16)
    identity = v.string(body, "identity", required=False, max_len=4096)
    client = v.string(body, "client", required=False, max_len=128)
    if tail is not None and customer_id is not None:
        raise unprocessable("invalid_value", "phone_tail 和 customer_id 只能填写其中一个")
    settings = request.app.ctx.settings
    ledger = request.app.ctx.ledger
    order_subject = f"order:{order_id}"
    client_subject = f"client:{client}" if client else f"caller:{request.ip or 'unknown'}"
    with db(request) as session:
        owner, phone = services.order_owner(session, order_id)
        if customer_id is not None:
            if settings.identity_secret and \
                    verified_customer(settings.identity_secret, identity) != customer_id:
                raise ApiError(403, "identity_invalid",
                               "顾客身份凭证无效或已过期，请用手机尾号验证订单归属")
            if owner != customer_id:
                return json(_verification(order_id=order_id, verified=False, method="customer"))
            return json(_verification(order_id=order_id, verified=True, method="customer",
                                      **_proof(request, order_id)))
        if tail is None:
            return json(_verification(order_id=order_id, verified=False))
        ledger.check(session, [order_subject, client_subject])
        if services.owns_by_phone_tail(phone, tail):
            ledger.succeeded(session, order_subject)
            return json(_verification(order_id=order_id, verified=True, method="phone_tail",
                                      **_proof(request, order_id)))
        left, wait = ledger.failed(session, order_subject, client_subject)
        if wait > 0:
            # Answered (not raised) so the failure that caused the lockout is committed.
            error = locked_error(wait)
            return error_response(error.status, error.code, error.message, **error.extra)
        return json(_verification(order_id=order_id, verified=False, method="phone_tail",
                                  attempts_left=left))


def _verification(**fields: Any) -> dict[str, Any]:
    """The verify answer as the contract defines it (fields that do not apply left out)."""
    return contract.Verification(**fields).dict(exclude_none=True)


def _proof(request: Request, order_id: str) -> dict[str, Any]:
    proof, expires = issue_proof(request.app.ctx.proof_secret, order_id,
                                 request.app.ctx.settings.proof_ttl)
    return {"proof": proof, "proof_expires_at": clock.iso(clock.from_epoch(expires))}


@api.get("/orders/<order_id>/tracking")
async def order_tracking(request: Request, order_id: str) -> HTTPResponse:
    v.order_id(order_id)
    require_proof(request, order_id)
    with db(request) as session:
        order = services.get_order(session, order_id, with_events=True)
        return json(tracking_json(order, clock.now()))


@api.post("/orders/<order_id>/cancel")
async def cancel_order(request: Request, order_id: str) -> HTTPResponse:
    v.order_id(order_id)
    require_proof(request, order_id)
    body = v.read_json(request)
    reason = v.string(body, "reason", required=False, max_len=200, default="客户申请取消")
    with db(request) as session:
        order = services.get_order(session, order_id)
        refund = services.cancel_order(session, order, reason)
        return json(contract.CancelledOrder.parse_obj({
            **order_json(order),
            "refund": refund_json(order, refund) if refund is not None else None}).dict())


@api.post("/orders/<order_id>/address")
async def change_address(request: Request, order_id: str) -> HTTPResponse:
    v.order_id(order_id)
    require_proof(request, order_id)
    body = v.read_json(request)
    fields: dict[str, Any] = {
        name: v.string(body, name, max_len=max_len) for name, max_len in ADDRESS_FIELDS.items()
    }
    # Phones are only ever shown masked: none (or the masked one) keeps the stored phone.
    phone = body.get("phone")
    if phone is not None and not (isinstance(phone, str) and v.MASKED_PHONE_RE.match(phone)):
        fields["phone"] = v.phone(phone)
    with db(request) as session:
        order = services.get_order(session, order_id)
        services.change_address(session, order, fields)
        return json(order_json(order))


@api.post("/orders/<order_id>/urge")
async def urge_order(request: Request, order_id: str) -> HTTPResponse:
    v.order_id(order_id)
    require_proof(request, order_id)
    body = v.read_json(request)
    note = v.string(body, "note", required=False, max_len=500)
    with db(request) as session:
        order = services.find_order(session, order_id)
        followup, duplicate = services.urge(session, order, note)
        return json(contract.Urge.parse_obj({"followup": followup_json(followup),
                                             "duplicate": duplicate}).dict(),
                    status=200 if duplicate else 201)


@api.post("/orders/<order_id>/price-protection")
async def price_protection(request: Request, order_id: str) -> HTTPResponse:
    v.order_id(order_id)
    require_proof(request, order_id)
    body = v.read_json(request)
    conversation_id = v.string(body, "conversation_id", required=False, max_len=128)
    with db(request) as session:
        order = services.get_order(session, order_id)
        check = services.price_protection(session, order, conversation_id)
        return json(price_protection_json(order, check),
                    status=201 if check.outcome == "filed" else 200)


@api.get("/orders/<order_id>/refund")
async def refund_status(request: Request, order_id: str) -> HTTPResponse:
    v.order_id(order_id)
    require_proof(request, order_id)
    with db(request) as session:
        order = services.find_order(session, order_id)
        return json(refund_json(order, services.refund_record(session, order_id)))


@api.get("/orders/<order_id>/after-sales")
async def list_after_sales(request: Request, order_id: str) -> HTTPResponse:
    v.order_id(order_id)
    require_proof(request, order_id)
    with db(request) as session:
        services.find_order(session, order_id)
        records = services.list_after_sales(session, order_id)
        return json({"order_id": order_id, "after_sales": [after_sale_json(r) for r in records]})


@api.post("/orders/<order_id>/after-sales")
async def create_after_sale(request: Request, order_id: str) -> HTTPResponse:
    v.order_id(order_id)
    require_proof(request, order_id)
    body = v.read_json(request)
    kind = _after_sale_kind(body)
    reason_code = v.optional_choice(body, "reason_code", tuple(services.REASON_CODES))
    if reason_code is None:
        reason = v.string(body, "reason", max_len=500)
    else:  # the code's own wording when no reason is written
        reason = v.string(body, "reason", required=False, max_len=500,
                          default=services.REASON_CODES[reason_code])
    items = v.string_list(body, "items", max_items=20, max_len=16)
    photos = v.string_list(body, "photos", max_items=9, max_len=500)
    if any(not p.startswith(("http://", "https://")) for p in photos):
        raise unprocessable("invalid_value", "photos 必须是 http(s) 图片链接")
    evidence = v.id_list(body, "evidence", max_items=9)
    conversation_id = v.string(body, "conversation_id", required=False, max_len=128)
    item = body.get("item")
    if item is not None and items:
        raise unprocessable("invalid_value", "item 和 items 只能填写其中一个")
    with db(request) as session:
        order = services.get_order(session, order_id)
        if item is not None:
            items = [services.resolve_item(order, item).product_id]
        record, todos = services.create_after_sale(
            session, order, kind, reason, items, photos, reason_code, evidence, conversation_id
        )
        return json({**after_sale_json(record), "todos": [todo_json(t) for t in todos]},
                    status=201)


def _after_sale_kind(body: dict[str, Any]) -> str:
    """`kind`, or `type` (its original name); not both (the OpenAPI file says so too)."""
    if body.get("kind") is None:
        return AFTER_SALE_KINDS[v.choice(body, "type", AFTER_SALE_TYPES)]
    if body.get("type") is not None:
        raise unprocessable("invalid_value", "字段 type 是 kind 的旧名称，只填写 kind 即可")
    return AFTER_SALE_KINDS[v.choice(body, "kind", AFTER_SALE_TYPES)]


@api.get("/after-sales/<after_sale_id:int>")
async def get_after_sale(request: Request, after_sale_id: int) -> HTTPResponse:
    with db(request) as session:
        record = services.get_after_sale(session, after_sale_id)
        require_proof(request, record.order_id)
        return json(after_sale_json(record))


@api.post("/after-sales/<after_sale_id:int>/evidence")
async def add_evidence(request: Request, after_sale_id: int) -> HTTPResponse:
    body = v.read_json(request)
    evidence = v.id_list(body, "evidence", max_items=9)
    if not evidence:
        raise unprocessable("missing_field", "缺少必填字段：evidence（已上传图片的编号）")
    with db(request) as session:
        record = services.get_after_sale(session, after_sale_id)
        require_proof(request, record.order_id)
        record, closed = services.attach_evidence(session, record, evidence)
        return json({**after_sale_json(record), "closed_todos": [todo_json(t) for t in closed]})


@api.post("/after-sales/<after_sale_id:int>/ship")
async def ship_after_sale(request: Request, after_sale_id: int) -> HTTPResponse:
    body = v.read_json(request)
    courier = v.string(body, "courier", required=False, max_len=16, default="中通")
    if courier not in COURIERS:
        raise unprocessable("invalid_value",
                            f"字段 courier 取值无效，可选值：{'、'.join(COURIERS)}")
    tracking_no = v.string(body, "tracking_no", required=False, max_len=32)
    if tracking_no is not None and not v.TRACKING_NO_RE.match(tracking_no):
        raise unprocessable("invalid_tracking_no", "快递单号格式不正确，应为8-32位字母或数字")
    with db(request) as session:
        record = services.get_after_sale(session, after_sale_id)
        require_proof(request, record.order_id)
        # Demo convenience: without a number the shop "prints" a label itself.
        tracking_no = tracking_no or demo_tracking_no(courier, record.id)
        record, closed, duplicate = services.ship_after_sale(session, record, courier,
                                                             tracking_no)
        return json({**after_sale_json(record), "closed_todos": [todo_json(t) for t in closed],
                     "duplicate": duplicate})


@api.post("/after-sales/<after_sale_id:int>/withdraw")
async def withdraw_after_sale(request: Request, after_sale_id: int) -> HTTPResponse:
    """The customer withdraws an open after-sale (「算了不退了」)."""
    with db(request) as session:
        record = services.get_after_sale(session, after_sale_id)
        require_proof(request, record.order_id)
        record, closed, duplicate = services.withdraw_after_sale(session, record)
        return json({**after_sale_json(record), "closed_todos": [todo_json(t) for t in closed],
                     "duplicate": duplicate})


@api.post("/after-sales/<after_sale_id:int>/return-parcel")
async def return_parcel(request: Request, after_sale_id: int) -> HTTPResponse:
    """The customer's waybill of the goods sent back (return / exchange)."""
    body = v.read_json(request)
    courier = v.string(body, "courier", required=False, max_len=16)
    if courier is not None and courier not in COURIERS:
        raise unprocessable("invalid_value",
                            f"字段 courier 取值无效，可选值：{'、'.join(COURIERS)}")
    tracking_no = v.string(body, "tracking_no", max_len=32)
    if not v.TRACKING_NO_RE.match(tracking_no):
        raise unprocessable("invalid_tracking_no", "快递单号格式不正确，应为8-32位字母或数字")
    with db(request) as session:
        record = services.get_after_sale(session, after_sale_id)
        require_proof(request, record.order_id)
        record, duplicate = services.record_return_parcel(session, record, courier, tracking_no)
        return json({**after_sale_json(record), "duplicate": duplicate})


@api.post("/after-sales/<after_sale_id:int>/return-received")
async def return_received(request: Request, after_sale_id: int) -> HTTPResponse:
    """The warehouse signs for the goods sent back (back office)."""
    require_admin(request)
    with db(request) as session:
        record = services.get_after_sale(session, after_sale_id)
        record, duplicate = services.receive_return_parcel(session, record)
        return json({**after_sale_json(record), "duplicate": duplicate})


@api.get("/orders/<order_id>/invoices")
async def list_invoices(request: Request, order_id: str) -> HTTPResponse:
    v.order_id(order_id)
    require_proof(request, order_id)
    with db(request) as session:
        services.find_order(session, order_id)
        invoices = services.list_invoices(session, order_id)
        return json({"order_id": order_id, "invoices": [invoice_json(i) for i in invoices]})


@api.post("/orders/<order_id>/invoices")
async def request_invoice(request: Request, order_id: str) -> HTTPResponse:
    v.order_id(order_id)
    require_proof(request, order_id)
    body = v.read_json(request)
    kind = v.choice(body, "type", INVOICE_TYPES)
    title = v.string(body, "title", max_len=100)
    tax_id = v.string(body, "tax_id", required=False, max_len=40)
    email = v.string(body, "email", max_len=120)
    if tax_id is not None:
        tax_id = v.tax_id(tax_id)
    elif kind == "special":
        raise unprocessable("missing_field",
                            "开具增值税专用发票必须填写购买方税号 tax_id（18位统一社会信用代码）")
    if not v.EMAIL_RE.match(email):
        raise unprocessable("invalid_email",
                            "邮箱格式不正确，请填写接收电子发票的完整邮箱，例如 name@example.com")
    details = _invoice_details(body)
    conversation_id = v.string(body, "conversation_id", required=False, max_len=128)
    with db(request) as session:
        order = services.find_order(session, order_id)
        invoice, duplicate = services.request_invoice(session, order, kind, title, tax_id, email,
                                                      details, conversation_id)
        return json({**invoice_json(invoice), "duplicate": duplicate},
                    status=200 if duplicate else 201)


@api.post("/invoices/<invoice_id:int>/issue")
async def issue_invoice(request: Request, invoice_id: int) -> HTTPResponse:
    """Finance marks the invoice as issued (sent); the customer hears of it next visit."""
    require_admin(request)
    with db(request) as session:
        invoice, closed = services.issue_invoice(session, invoice_id)
        return json({**invoice_json(invoice), "closed_todos": [todo_json(t) for t in closed]})


def _invoice_details(body: dict[str, Any]) -> dict[str, Optional[str]]:
    """Optional buyer details (address, phone, bank); bank name and account go together."""
    details: dict[str, Optional[str]] = {
        name: v.string(body, name, required=False, max_len=max_len)
        for name, max_len in INVOICE_DETAIL_FIELDS.items()
    }
    phone = v.string(body, "buyer_phone", required=False, max_len=20)
    if phone is not None and not v.LANDLINE_RE.match(phone):
        raise unprocessable("invalid_phone", "buyer_phone 格式不正确，应为固定电话或手机号")
    details["buyer_phone"] = phone
    account = v.string(body, "bank_account", required=False, max_len=40)
    if account is not None:
        account = account.replace(" ", "").replace("-", "")
        if not v.BANK_ACCOUNT_RE.match(account):
            raise unprocessable("invalid_bank_account", "银行账号格式不正确，应为8-32位数字")
    details["bank_account"] = account
    if (details["bank_name"] is None) != (account is None):
        raise unprocessable("missing_field",
                            "开户行 bank_name 和银行账号 bank_account 需要一起填写")
    return details


@api.get("/followups")
async def list_followups(request: Request) -> HTTPResponse:
    order_id = v.query_order_id(request)
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


@api.get("/products/<product_id>/related")
async def related_products(request: Request, product_id: str) -> HTTPResponse:
    """Cross-sell: bought together first, then the same category; in-stock items only."""
    limit = v.query_int(request, "limit", default=3, minimum=1, maximum=10)
    with db(request) as session:
        product = services.get_product(session, product_id)
        related = services.related_products(session, product, limit)
        # "products" like the catalogue listing, so both read the same way.
        return json(contract.RelatedProducts.parse_obj({
            "product_id": product.id, "count": len(related),
            "products": [related_json(p, code, n) for p, code, n in related]}).dict())


# ---------------------------------------------------------------- rules


@api.get("/policy")
async def shop_policy(request: Request) -> HTTPResponse:
    """The rules the assistant quotes: after-sales windows, courier hotlines."""
    return json(policy_json())


# ---------------------------------------------------------------- promotions


@api.get("/promotions")
async def list_promotions(request: Request) -> HTTPResponse:
    today = clock.today()
    rules = promotions.active_rules(request.app.ctx.promotions.rules(), today)
    return json(contract.PromotionList.parse_obj({
        "date": today.isoformat(), "count": len(rules),
        "promotions": [rule.to_json(today) for rule in rules]}).dict())


@api.get("/promotions/quote")
async def quote_promotions(request: Request) -> HTTPResponse:
    """`?amount=258&category=clothing[&customer_id=C0001][&province=新疆]`."""
    raw = v.query_string(request, "amount", max_len=64)
    if raw is None:
        raise unprocessable("invalid_query", "缺少参数 amount（商品金额，单位元）")
    try:
        amount = promotions.parse_amount(raw)
    except ValueError:
        raise unprocessable("invalid_query",
                            "参数 amount 必须是大于0、不超过1000000的金额（单位元）") from None
    category = v.query_choice(request, "category", tuple(CATEGORY_TEXT))
    customer_id = v.query_string(request, "customer_id", max_len=16)
    province = v.query_string(request, "province", max_len=16)
    return _quote(request, [promotions.Line(amount, category)], customer_id, province)


@api.post("/promotions/quote")
async def quote_promotions_for_items(request: Request) -> HTTPResponse:
    """`{"items": [{"product_id", "quantity"}], ...}` or `{"amount", "category"}`."""
    body = v.read_json(request)
    customer_id = v.string(body, "customer_id", required=False, max_len=16)
    province = v.string(body, "province", required=False, max_len=16)
    items = body.get("items")
    if items is not None and body.get("amount") is not None:
        raise unprocessable("invalid_value", "items 和 amount 只能填写其中一个")
    if items is None:
        if body.get("amount") is None:
            raise unprocessable("missing_field",
                                "缺少必填字段：items（商品列表）或 amount（商品金额）")
        amount = v.number(body, "amount", minimum=Decimal("0.01"), maximum=QUOTE_MAX)
        category = v.optional_choice(body, "category", tuple(CATEGORY_TEXT))
        return _quote(request, [promotions.Line(amount, category)], customer_id, province)
    if not isinstance(items, list) or not items or len(items) > 50:
        raise unprocessable("invalid_type", "字段 items 必须是1-50项的商品数组")
    wanted: list[tuple[str, int]] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise unprocessable("invalid_type", f"items[{index}] 必须是对象")
        product_id = v.string(item, "product_id", max_len=16)
        quantity = v.integer(item, "quantity", required=False, minimum=1, maximum=999,
                             default=1)
        wanted.append((product_id, quantity))
    with db(request) as session:
        lines = []
        for product_id, quantity in wanted:
            product = services.get_product(session, product_id)
            lines.append(promotions.Line(product.price * quantity, product.category))
    return _quote(request, lines, customer_id, province)


def _quote(request: Request, lines: list[promotions.Line], customer_id: Optional[str],
           province: Optional[str]) -> HTTPResponse:
    offers = None
    if customer_id is not None:
        with db(request) as session:
            now = clock.now()
            offers = [
                promotions.CouponOffer(c.amount, c.threshold, coupon_json(c, now))
                for c in services.list_coupons(session, customer_id)
                if not c.used and c.expires_at >= now
            ]
    result = promotions.quote(request.app.ctx.promotions.rules(), clock.today(), lines,
                              offers, province)
    return json(contract.PromotionQuote(**result, customer_id=customer_id,
                                        province=province).dict())


@api.get("/products/<product_id>/ship-promise")
async def product_ship_promise(request: Request, product_id: str) -> HTTPResponse:
    with db(request) as session:
        product = services.get_product(session, product_id)
        return json(contract.ShipPromise(**services.ship_promise(product, clock.now())).dict())


@api.get("/products/<product_id>/size-advice")
async def product_size_advice(request: Request, product_id: str) -> HTTPResponse:
    height = v.query_number(request, "height_cm")
    weight = v.query_number(request, "weight_kg")
    fit = v.query_choice(request, "fit", sizing.FITS) or "regular"
    body_shape = v.query_choice(request, "body_shape", sizing.BODY_SHAPES) or "regular"
    v.plausible_build(height, weight)
    with db(request) as session:
        product = services.get_product(session, product_id)
        advice = services.size_advice(session, product, height, weight, fit, body_shape)
        return json(contract.SizeAdvice(**advice).dict())


# ---------------------------------------------------------------- uploads


@api.post("/uploads", stream=True)
async def upload_image(request: Request) -> HTTPResponse:
    """Raw image bytes as the body (not multipart); the bytes decide the format."""
    filename = v.query_string(request, "filename", max_len=200)
    if filename is not None:
        filename = os.path.basename(filename.replace("\\", "/"))[-120:] or None
    order_id = v.query_order_id(request)
    if order_id is not None:
        require_proof(request, order_id)
    conversation_id = v.query_string(request, "conversation_id", max_len=128)
    data, size = await _read_upload(request)
    if size > images.MAX_UPLOAD_BYTES:
        raise ApiError(413, "upload_too_large",
                       f"图片不能超过10MB（当前约{size / 1024 / 1024:.1f}MB），"
                       "请压缩或截图后重新上传")
    if not data:
        raise ApiError(400, "empty_upload", "上传的文件是空的，请重新选择图片")
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type.startswith("multipart/"):
        raise ApiError(415, "unsupported_media_type",
                       "请直接把图片文件作为请求体上传（Content-Type 为图片类型），不支持表单上传")
    info = images.inspect_image(data)
    if info is None:
        if images.sniff(data) is not None:
            raise ApiError(415, "invalid_image", "图片文件已损坏或不完整，请重新拍照或截图后上传")
        received = images.describe_other(data)
        raise ApiError(415, "unsupported_media_type",
                       f"只能上传 JPEG、PNG、WebP 或 GIF 图片，收到的是{received}")
    sha256 = hashlib.sha256(data).hexdigest()
    images.store(request.app.ctx.upload_dir, sha256, info.extension, data)
    with db(request) as session:
        upload, duplicate = services.create_upload(
            session, sha256, info, len(data), filename, order_id, conversation_id
        )
        return json(contract.UploadCreated(**upload_json(upload), duplicate=duplicate).dict(),
                    status=200 if duplicate else 201)


async def _read_upload(request: Request) -> tuple[bytes, int]:
    """(body, size); the body is b"" when it exceeds the upload limit.

    Oversized bodies are read to the end (up to the drain limit) and discarded, so the
    client is done sending when the 413 arrives and reads it reliably.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > images.DRAIN_LIMIT_BYTES:
        return b"", int(declared)
    if request.stream is None:
        return b"", 0
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.stream.read()
        if chunk is None:
            break
        size += len(chunk)
        if size <= images.MAX_UPLOAD_BYTES:
            chunks.append(chunk)
        elif size > images.DRAIN_LIMIT_BYTES:
            break
        else:
            chunks.clear()
    if size > images.MAX_UPLOAD_BYTES:
        return b"", size
    return b"".join(chunks), size


@api.get("/uploads/<upload_id:int>")
async def get_upload_bytes(request: Request, upload_id: int) -> HTTPResponse:
    with db(request) as session:
        upload = services.get_upload(session, upload_id)
    extension = images.EXTENSION_BY_TYPE[upload.content_type]
    path = images.storage_path(request.app.ctx.upload_dir, upload.sha256, extension)
    if not path.is_file():
        raise not_found("upload_missing", "图片文件已丢失，请重新上传")
    headers = {
        "Cache-Control": "private, max-age=86400",
        "ETag": f'"{upload.sha256}"',
        "X-Content-Type-Options": "nosniff",
    }
    if upload.filename:
        headers["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(upload.filename)}"
    return raw(path.read_bytes(), content_type=upload.content_type, headers=headers)


@api.get("/uploads/<upload_id:int>/meta")
async def get_upload_meta(request: Request, upload_id: int) -> HTTPResponse:
    with db(request) as session:
        return json(upload_json(services.get_upload(session, upload_id)))


# ---------------------------------------------------------------- to-dos


@api.post("/todos")
async def create_todo(request: Request) -> HTTPResponse:
    body = v.read_json(request)
    conversation_id = v.string(body, "conversation_id", max_len=128)
    kind = v.choice(body, "kind", TODO_KINDS)
    default_text = services.TODO_DEFAULT_TEXT.get(kind)
    if default_text is None:
        text = v.string(body, "text", max_len=200)
    else:
        text = v.string(body, "text", required=False, max_len=200, default=default_text)
    customer_id = v.string(body, "customer_id", required=False, max_len=16)
    order_id = v.body_order_id(body)
    ref = v.string(body, "ref", required=False, max_len=64)
    with db(request) as session:
        todo, duplicate = services.create_todo(session, conversation_id, kind, text, customer_id,
                                               order_id, ref)
        return json({**todo_json(todo), "duplicate": duplicate},
                    status=200 if duplicate else 201)


@api.get("/todos")
async def list_todos(request: Request) -> HTTPResponse:
    conversation_id = v.query_string(request, "conversation_id", max_len=128)
    customer_id = v.query_string(request, "customer_id", max_len=16)
    order_id = v.query_order_id(request)
    status = v.query_choice(request, "status", TODO_STATUSES)
    limit = v.query_int(request, "limit", default=50, minimum=1, maximum=200)
    with db(request) as session:
        todos = services.list_todos(session, conversation_id, customer_id, order_id, status,
                                    limit)
        return json(contract.TodoList.parse_obj({
            "count": len(todos), "todos": [todo_json(t) for t in todos]}).dict())


@api.patch("/todos/<todo_id:int>")
async def update_todo(request: Request, todo_id: int) -> HTTPResponse:
    body = v.read_json(request)
    status = v.optional_choice(body, "status", TODO_STATUSES)
    result_text = v.string(body, "result_text", required=False, max_len=200)
    text = v.string(body, "text", required=False, max_len=200)
    if status is None and result_text is None and text is None:
        raise unprocessable("missing_field", "请至少提供 status、result_text 或 text 中的一项")
    with db(request) as session:
        todo = services.get_todo(session, todo_id)
        return json(todo_json(services.update_todo(session, todo, status, result_text, text)))


# ---------------------------------------------------------------- admin (SHOP_ADMIN_KEY)
# The middleware lets only the admin key reach /api/admin.


@api.post("/admin/orders/<order_id>/proof")
async def admin_order_proof(request: Request, order_id: str) -> HTTPResponse:
    """A proof for an order, minted by the back office (e.g. an agent who checked the
    customer's identity on the phone and hands the conversation back to the assistant)."""
    v.order_id(order_id)
    with db(request) as session:
        services.find_order(session, order_id)
    return json({"order_id": order_id, "verified": True, "method": "admin",
                 **_proof(request, order_id)})


def _privacy_scope(request: Request) -> list[str]:
    """`{"conversation_ids": [...]}`: chats whose shop records belong to the customer too."""
    body = v.read_json(request)
    return v.string_list(body, "conversation_ids", max_items=1000, max_len=128)


@api.post("/admin/customers/<customer_id>/export")
async def admin_export_customer(request: Request, customer_id: str) -> HTTPResponse:
    """Everything the shop holds about one customer (个人信息保护法: the customer's copy, so
    values are not masked); `conversation_ids` adds rows filed under those chats."""
    conversations = _privacy_scope(request)
    with db(request) as session:
        services.ensure_customer(session, customer_id)
        data = shop_privacy.customer_data(session, customer_id, conversations)
    return json({"customer_id": customer_id, "tables": data,
                 "counts": {table: len(rows) for table, rows in data.items()}})


@api.post("/admin/customers/<customer_id>/delete")
async def admin_delete_customer(request: Request, customer_id: str) -> HTTPResponse:
    """Deletes the customer, their orders and everything filed under them or their chats,
    and the photo files no other record uses; answers the rows deleted per table."""
    conversations = _privacy_scope(request)
    with db(request) as session:
        services.ensure_customer(session, customer_id)
        files = shop_privacy.upload_files(
            shop_privacy.customer_data(session, customer_id, conversations))
        counts = shop_privacy.delete_customer(session, customer_id, conversations)
        still_used = services.uploads_with_sha256(session, [sha for sha, _ in files])
    removed = 0
    for sha256, content_type in files:
        extension = images.EXTENSION_BY_TYPE.get(content_type)
        path = images.storage_path(request.app.ctx.upload_dir, sha256, extension or "")
        if extension and sha256 not in still_used and path.is_file():
            path.unlink()
            removed += 1
    return json({"customer_id": customer_id, "deleted": counts, "files_deleted": removed})
