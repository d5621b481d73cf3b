"""What an invoice request is refused for, and how clearly (real server; PostgreSQL too)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from shop_api_helpers import (
    CANCELLED,
    DELIVERED,
    REFUNDED,
    RETURNING,
    UNPAID,
    ZHAO_DAMAGED,
    assert_error,
    call,
    get,
    post,
)

ROOT = Path(__file__).resolve().parents[2]
COMPANY = {"type": "special", "title": "南京云帆信息技术有限公司", "tax_id": "91350100M000100Y43",
           "email": "cw@yunfan.cn"}


@pytest.fixture(scope="module")
def shop(shop_factory) -> str:
    return shop_factory().url


def test_special_invoice_needs_a_tax_id(shop):
    body = {key: value for key, value in COMPANY.items() if key != "tax_id"}
    error = assert_error(call(shop, "POST", f"/api/orders/{DELIVERED}/invoices", body), 422,
                         "missing_field")
    assert "专用发票" in error["message"] and "税号" in error["message"]
    assert "统一社会信用代码" in error["message"]


@pytest.mark.parametrize(("tax_id", "hint"), [
    ("91350100M000100Y44", "校验不通过"),
    ("91350100I000100Y43", "第9位“I”无效"),
    ("9135010", "应为18位，您提供的是7位"),
])
def test_invalid_tax_id_says_what_is_wrong(shop, tax_id, hint):
    error = assert_error(call(shop, "POST", f"/api/orders/{DELIVERED}/invoices",
                              {**COMPANY, "tax_id": tax_id}), 422, "invalid_tax_id")
    assert hint in error["message"]


@pytest.mark.parametrize("email", ["cw@", "cw.yunfan.cn", "cw@yunfan", "名字@公司"])
def test_bad_email(shop, email):
    error = assert_error(call(shop, "POST", f"/api/orders/{DELIVERED}/invoices",
                              {**COMPANY, "email": email}), 422, "invalid_email")
    assert "邮箱" in error["message"]


@pytest.mark.parametrize(("order_id", "status", "hint"), [
    (UNPAID, "unpaid", "尚未付款"),
    (CANCELLED, "cancelled", "已取消"),
    (REFUNDED, "refunded", "已全额退款"),
    (RETURNING, "return_requested", "退货处理中"),
])
def test_orders_that_cannot_be_invoiced(shop, order_id, status, hint):
    error = assert_error(call(shop, "POST", f"/api/orders/{order_id}/invoices", COMPANY), 409,
                         "invoice_not_allowed")
    assert hint in error["message"] and error["order_status"] == status
    assert get(shop, f"/api/orders/{order_id}/invoices")["invoices"] == []


def test_second_invoice_for_an_order_is_409_with_the_existing_one(shop):
    url = f"/api/orders/{ZHAO_DAMAGED}/invoices"
    first = post(shop, url, COMPANY, status=201)
    # The same request again (a retry) is answered with the same invoice.
    again = post(shop, url, COMPANY, status=200)
    assert again["duplicate"] is True and again["id"] == first["id"]
    # A different one is refused; the existing invoice comes along.
    personal = {"type": "normal", "title": "赵磊", "email": "zhaolei@example.com"}
    error = assert_error(call(shop, "POST", url, personal), 409, "invoice_exists")
    assert "南京云帆信息技术有限公司" in error["message"] and "人工客服" in error["message"]
    existing = error["invoice"]
    assert (existing["id"], existing["title"], existing["tax_id"]) == (
        first["id"], COMPANY["title"], COMPANY["tax_id"])
    assert existing["type_text"] == "增值税专用发票" and existing["status"] == "pending"
    assert [i["id"] for i in get(shop, url)["invoices"]] == [first["id"]]


def test_credit_code_check_imports_without_the_server_stack():
    """The action server validates tax ids locally with the shop's own function."""
    code = ("import sys;"
            "from service_common.credit_code import credit_code_problem, is_valid_credit_code;"
            "assert is_valid_credit_code('91350100M000100Y43');"
            "assert '校验' in credit_code_problem('91350100M000100Y44');"
            "heavy = [m for m in ('sanic', 'sqlalchemy', 'shop.app', 'shop.routes', 'yaml')"
            "         if m in sys.modules];"
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=30)


@pytest.fixture
def pg_url(postgres_schema) -> Iterator[str]:
    with postgres_schema("shop_pytest_invoices") as url:
        yield url


def test_postgresql_invoice_refusals(shop_factory, pg_url):
    shop = shop_factory(db_url=pg_url)
    url = f"/api/orders/{DELIVERED}/invoices"
    created = post(shop.url, url, COMPANY, status=201)
    error = assert_error(call(shop.url, "POST", url, {**COMPANY, "title": "另一家公司"}), 409,
                         "invoice_exists")
    assert error["invoice"]["id"] == created["id"]
    assert_error(call(shop.url, "POST", f"/api/orders/{CANCELLED}/invoices", COMPANY), 409,
                 "invoice_not_allowed")
    assert_error(call(shop.url, "POST", url, {**COMPANY, "tax_id": "91350100M000100Y44"}), 422,
                 "invalid_tax_id")
    shop.stop()
