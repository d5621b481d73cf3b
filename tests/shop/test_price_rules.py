"""价保: the shop compares an order's prices with today's and refunds a fall within the
window once; a later return or cancellation does not pay the difference twice. In process
on a database seeded today (the window is counted on the shop's clock), and over HTTP."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from shop_api_helpers import (
    CANCELLED,
    PAID,
    REFUNDED,
    RETURNING,
    UNPAID,
    ZHAO_DAMAGED,
    ZHAO_JACKET,
    ZHAO_RESENT,
    assert_error,
    call,
    get,
    post,
)
from sqlalchemy.orm import sessionmaker

from shop import clock, services
from shop.db import make_engine, make_session_factory, prepare_database
from shop.errors import ApiError
from shop.models import Product


@pytest.fixture(scope="module")
def sessions(tmp_path_factory) -> sessionmaker:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('price') / 'shop.sqlite'}")
    prepare_database(engine, seed_date=clock.today())
    return make_session_factory(engine)


def test_a_fall_is_refunded_once_and_a_return_pays_the_rest(sessions) -> None:
    with sessions.begin() as session:
        order = services.get_order(session, ZHAO_DAMAGED)  # rice cooker: paid 449, now 399
        first = services.price_protection(session, order, "conv-1")
        assert first.outcome == "filed" and first.amount == Decimal("50")
        [(line, now, difference)] = first.lines
        assert (line.price, now, difference) == (Decimal("449"), Decimal("399"), Decimal("50"))
        claim = first.record
        assert (claim.type, claim.status, claim.items) == ("price_protection", "processing",
                                                           ["P5002"])
        assert claim.refund_amount == Decimal("50") and claim.conversation_id == "conv-1"
        assert claim.expected_refund_date == clock.today() + timedelta(days=1)  # WeChat Pay
        assert first.until == (order.delivered_at + timedelta(days=7)).date()

        again = services.price_protection(session, order)
        assert again.outcome == "duplicate" and again.record.id == claim.id
        assert again.amount == Decimal("50")

        returned, _ = services.create_after_sale(session, order, "return", "质量问题",
                                                 ["P5002"], [], "quality")
        assert returned.refund_amount == Decimal("399")  # 449 paid, 50 already back


def test_the_window_is_counted_from_delivery(sessions, monkeypatch) -> None:
    with sessions.begin() as session:
        order = services.get_order(session, ZHAO_JACKET)  # delivered two days ago
        delivered = order.delivered_at
        monkeypatch.setattr(clock, "now", lambda: delivered + timedelta(days=7, minutes=-1))
        steady = services.price_protection(session, order)
        assert steady.outcome == "no_drop" and steady.amount == 0 and steady.record is None
        assert [difference for _, _, difference in steady.lines] == [0, 0]
        monkeypatch.setattr(clock, "now", lambda: delivered + timedelta(days=7, minutes=1))
        with pytest.raises(ApiError) as late:
            services.price_protection(session, order)
        assert (late.value.status, late.value.code) == (409, "price_protection_expired")
        assert "7天" in str(late.value)


def test_cancelling_after_a_claim_refunds_what_is_left(sessions) -> None:
    with sessions.begin() as session:
        order = services.get_order(session, PAID)  # a keyboard, not shipped yet
        paid = order.total_amount
        session.get(Product, order.items[0].product_id).price = order.items[0].price - 30
        check = services.price_protection(session, order)
        assert check.outcome == "filed" and check.amount == Decimal("30")
        assert check.until is None  # protected until delivery and the window after it
        refund = services.cancel_order(session, order, "不想要了")
        assert refund is not None and refund.refund_amount == paid - 30


@pytest.mark.parametrize("order_id", [UNPAID, CANCELLED, REFUNDED, RETURNING])
def test_orders_with_nothing_to_protect_are_refused(sessions, order_id: str) -> None:
    with sessions.begin() as session:
        with pytest.raises(ApiError) as refused:
            services.price_protection(session, services.get_order(session, order_id))
        assert (refused.value.status, refused.value.code) == (409, "not_price_protectable")


@pytest.fixture(scope="module")
def shop(shop_factory) -> str:
    return shop_factory().url


def test_over_http(shop: str) -> None:
    path = f"/api/orders/{ZHAO_DAMAGED}/price-protection"
    filed = post(shop, path, {"conversation_id": "web-1"}, status=201)
    assert (filed["outcome"], filed["amount"], filed["days"]) == ("filed", 50.0, 7)
    assert filed["items"] == [{"product_id": "P5002", "product_name": "4L智能电饭煲",
                               "quantity": 1, "paid_price": 449.0, "current_price": 399.0,
                               "difference": 50.0}]
    claim = filed["after_sale"]
    assert (claim["kind"], claim["type_text"]) == ("price_protection", "价保退差价")
    again = post(shop, path, {}, status=200)
    assert again["outcome"] == "duplicate" and again["after_sale"]["id"] == claim["id"]

    listed = get(shop, f"/api/orders/{ZHAO_DAMAGED}/after-sales")["after_sales"]
    assert [r["ticket_no"] for r in listed if r["kind"] == "price_protection"] == \
        [claim["ticket_no"]]
    refund = get(shop, f"/api/orders/{ZHAO_DAMAGED}/refund")
    assert (refund["status"], refund["amount"]) == ("processing", 50.0)

    assert_error(call(shop, "POST", f"/api/orders/{ZHAO_RESENT}/price-protection", {}),
                 409, "price_protection_expired")
    assert_error(call(shop, "POST", "/api/orders/361204587712349999/price-protection", {}),
                 404, "order_not_found")
    assert_error(call(shop, "POST", f"/api/orders/{ZHAO_JACKET}/price-protection",
                      {"conversation_id": 5}), 422)
    # Only this route files one: the general after-sales route does not take the kind.
    assert_error(call(shop, "POST", f"/api/orders/{ZHAO_JACKET}/after-sales",
                      {"kind": "price_protection", "reason": "降价"}), 422)
