"""The action server's shop client for warmth, cross-sell, promotions, coupons and invoices,
against a running demo shop (and against one that is down, slow or broken)."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Awaitable, Callable

import pytest

from actions.backend import (
    BackendUnavailable,
    Conflict,
    InvalidRequest,
    NotFound,
)
from actions.backend.http import UNAVAILABLE_MESSAGE, HttpShopBackend
from compliance import ALL_CATEGORIES, get_checker

CJK = re.compile(r"[\u4e00-\u9fff]")
PAID = "361204587712340002"  # 王伟, paid: can be invoiced
UNPAID = "361204587712340004"
ZHAO = "C0061"


@pytest.fixture(scope="module")
def shop(shop_factory) -> str:
    """A shop of its own: views and invoices recorded here stay here."""
    return shop_factory().url


def call(base_url: str, use: Callable[[HttpShopBackend], Awaitable[Any]], **options: Any) -> Any:
    """Run one client call the way the action server does, closing the pool afterwards."""

    async def go() -> Any:
        # The back office's key: these tests are about the client, not ownership proofs
        # (tests/shop/test_security.py and the order-action tests cover those).
        backend = HttpShopBackend(base_url, **{"api_key": os.environ["SHOP_ADMIN_KEY"],
                                               **options})
        try:
            return await use(backend)
        finally:
            await backend.close()

    return asyncio.run(go())


def assert_customer_safe(error: Exception) -> None:
    message = getattr(error, "message", "")
    assert CJK.search(message) and "Traceback" not in message and "http" not in message


# ---------------------------------------------------------------- warmth


def test_recent_items_of_the_demo_customers(shop):
    zhao = call(shop, lambda b: b.recent_items(ZHAO))
    viewed = zhao["last_viewed"]
    assert (viewed["id"], viewed["name"], viewed["in_stock"]) == ("P2005", "K87机械键盘", True)
    assert viewed["purchased_after_view"] is False and viewed["viewed_at"].endswith("+08:00")
    assert zhao["last_purchased"]["name"] == "4L智能电饭煲"
    assert zhao["last_purchased"]["order_id"] == "361204587712340022"

    li = call(shop, lambda b: b.customer_by_channel("demo-li"))
    viewed = call(shop, lambda b: b.recent_items(li["id"]))["last_viewed"]
    assert (viewed["name"], viewed["in_stock"]) == ("蓝牙耳机Pro", True)


def test_record_view_then_recent(shop):
    recorded = call(shop, lambda b: b.record_view("C0004", "P3002"))
    assert (recorded["product_id"], recorded["source"], recorded["duplicate"]) == (
        "P3002", "chat_page", False)
    again = call(shop, lambda b: b.record_view("C0004", "P3002", source="product_page"))
    assert again["duplicate"] is True and again["id"] == recorded["id"]
    recent = call(shop, lambda b: b.recent_items("C0004"))
    assert recent["last_viewed"]["id"] == "P3002"
    assert recent["recently_viewed"][0]["name"] == "烟酰胺精华液"


def test_warmth_errors(shop):
    with pytest.raises(NotFound) as error:
        call(shop, lambda b: b.recent_items("C9999"))
    assert error.value.code == "customer_not_found"
    assert_customer_safe(error.value)
    with pytest.raises(NotFound) as error:
        call(shop, lambda b: b.record_view(ZHAO, "P9999"))
    assert error.value.code == "product_not_found"
    with pytest.raises(InvalidRequest) as error:
        call(shop, lambda b: b.record_view(ZHAO, "P2001", source="billboard"))
    assert error.value.code == "invalid_value"
    assert_customer_safe(error.value)


# ---------------------------------------------------------------- cross-sell


def test_related_products(shop):
    related = call(shop, lambda b: b.related_products("P2005", limit=2))
    assert len(related) == 2
    first = related[0]
    assert (first["id"], first["name"], first["reason"]) == ("P2006", "无线静音鼠标",
                                                            "买过这款的顾客也常买")
    assert all(item["in_stock"] and item["id"] != "P2005" for item in related)
    fallback = call(shop, lambda b: b.related_products("P5001"))
    assert len(fallback) == 3 and {item["reason"] for item in fallback} == {"同类热销"}
    for item in related + fallback:
        assert not get_checker().check(item["reason"], ALL_CATEGORIES).hits
    with pytest.raises(NotFound):
        call(shop, lambda b: b.related_products("P9999"))
    with pytest.raises(InvalidRequest):
        call(shop, lambda b: b.related_products("P2005", limit=50))


# ---------------------------------------------------------------- promotions and coupons


def test_promotions_and_quote(shop):
    rules = call(shop, lambda b: b.promotions())
    assert {rule["kind"] for rule in rules} == {"full_reduction", "new_customer_coupon",
                                               "free_shipping", "stacking"}
    for rule in rules:
        assert rule["text"] and not get_checker().check(rule["text"], ALL_CATEGORIES).hits

    quote = call(shop, lambda b: b.promotion_quote(258, "clothing"))
    assert (quote["discount"], quote["payable"], quote["free_shipping"]) == (20.0, 238.0, True)
    assert quote["applied_text"] == "满199减20"
    assert quote["next_text"] == quote["next_tier"]["text"] == "再买141元可减50元"
    food = call(shop, lambda b: b.promotion_quote(258.0, category="food"))
    assert food["discount"] == 0.0 and "食品类商品不参与满减" in food["notes"]
    with_coupon = call(shop, lambda b: b.promotion_quote(310, customer_id="C0001"))
    assert with_coupon["coupon"]["title"] == "满300减30" and with_coupon["payable"] == 260.0
    remote = call(shop, lambda b: b.promotion_quote(100, province="西藏自治区"))
    assert remote["shipping_fee"] is None

    with pytest.raises(InvalidRequest) as error:
        call(shop, lambda b: b.promotion_quote(-5))
    assert error.value.code == "invalid_query"
    assert_customer_safe(error.value)
    with pytest.raises(InvalidRequest):
        call(shop, lambda b: b.promotion_quote(100, category="toys"))
    with pytest.raises(NotFound):
        call(shop, lambda b: b.promotion_quote(100, customer_id="C9999"))


def test_coupons_are_a_balance(shop):
    usable = call(shop, lambda b: b.coupons("C0001"))
    assert [(c["title"], c["amount"], c["threshold"]) for c in usable] == [
        ("满300减30", 30.0, 300.0)]
    coupon = usable[0]
    assert coupon["usable"] and not coupon["used"] and coupon["expires_in_days"] == 10
    assert coupon["expires_at"].endswith("+08:00")
    everything = call(shop, lambda b: b.coupons("C0001", status=None))
    assert len(everything) == 2 and {c["status"] for c in everything} == {"available", "used"}
    with pytest.raises(NotFound):
        call(shop, lambda b: b.coupons("C9999"))


# ---------------------------------------------------------------- invoices


def test_request_invoice_and_list(shop):
    company = {"type": "special", "title": "杭州云栖科技有限公司", "tax_id": "91330106MA2B3C4D5D",
               "email": "finance@yunqi.com"}
    assert call(shop, lambda b: b.invoices(PAID, None)) == []
    created = call(shop, lambda b: b.request_invoice(PAID, company, None))
    assert (created["order_id"], created["type"], created["duplicate"]) == (PAID, "special",
                                                                          False)
    assert created["amount"] == 349.0 and created["type_text"] == "增值税专用发票"
    again = call(shop, lambda b: b.request_invoice(PAID, company, None))
    assert again["duplicate"] is True and again["id"] == created["id"]
    assert [i["id"] for i in call(shop, lambda b: b.invoices(PAID, None))] == [created["id"]]

    # A different invoice for the same order: refused, with the existing one attached.
    with pytest.raises(Conflict) as error:
        call(shop, lambda b: b.request_invoice(
            PAID, {"type": "normal", "title": "王伟", "email": "wangwei@example.com"}, None))
    assert error.value.code == "invoice_exists"
    assert error.value.details["invoice"]["id"] == created["id"]
    assert "杭州云栖科技有限公司" in error.value.message
    assert_customer_safe(error.value)


def test_invoice_refusals(shop):
    body = {"type": "special", "title": "南京云帆信息技术有限公司", "tax_id": "91350100M000100Y43",
            "email": "cw@yunfan.cn"}
    with pytest.raises(Conflict) as error:
        call(shop, lambda b: b.request_invoice(UNPAID, body, None))
    assert error.value.code == "invoice_not_allowed" and "付款" in error.value.message
    assert error.value.details["order_status"] == "unpaid"
    with pytest.raises(InvalidRequest) as error:
        call(shop, lambda b: b.request_invoice(PAID, {**body, "tax_id": "91350100M000100Y44"},
                                               None))
    assert error.value.code == "invalid_tax_id" and "校验" in error.value.message
    with pytest.raises(InvalidRequest) as error:
        call(shop, lambda b: b.request_invoice(PAID, {**body, "tax_id": None}, None))
    assert error.value.code == "missing_field" and "税号" in error.value.message
    with pytest.raises(InvalidRequest) as error:
        call(shop, lambda b: b.request_invoice(PAID, {**body, "email": "cw@"}, None))
    assert error.value.code == "invalid_email"
    with pytest.raises(NotFound):
        call(shop, lambda b: b.invoices("361204587712349999", None))
    with pytest.raises(InvalidRequest):
        call(shop, lambda b: b.invoices("12345", None))


# ---------------------------------------------------------------- backend trouble

EXTRA_CALLS = {
    "record_view": lambda b: b.record_view(ZHAO, "P2005"),
    "recent_items": lambda b: b.recent_items(ZHAO),
    "related_products": lambda b: b.related_products("P2005"),
    "promotions": lambda b: b.promotions(),
    "promotion_quote": lambda b: b.promotion_quote(258, "clothing"),
    "coupons": lambda b: b.coupons("C0001"),
    "request_invoice": lambda b: b.request_invoice(PAID, {"type": "normal", "title": "王伟",
                                                          "email": "a@b.cn"}, None),
    "invoices": lambda b: b.invoices(PAID, None),
}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


@pytest.mark.parametrize("name", sorted(EXTRA_CALLS))
def test_backend_down_is_unavailable(name):
    url = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(BackendUnavailable) as error:
        call(url, EXTRA_CALLS[name], retries=1, timeout=2)
    assert error.value.message == UNAVAILABLE_MESSAGE and error.value.code == "unreachable"


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers (a hung backend)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    server.close()


def test_hung_backend_times_out(silent_server):
    with pytest.raises(BackendUnavailable) as error:
        call(silent_server, lambda b: b.recent_items(ZHAO), retries=0, timeout=0.5)
    assert error.value.code == "unreachable"


class _Broken(BaseHTTPRequestHandler):
    calls = 0

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        type(self).calls += 1
        self.send_response(500)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<h1>Internal Server Error</h1>")

    def log_message(self, *args: Any) -> None:
        pass


def test_server_errors_are_retried_then_unavailable():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Broken)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        with pytest.raises(BackendUnavailable) as error:
            call(url, lambda b: b.promotions(), retries=2)
        assert error.value.code == "server_error" and _Broken.calls == 3
    finally:
        server.shutdown()
        server.server_close()
