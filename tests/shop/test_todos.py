"""The per-conversation to-do list (任务清单): seeded items, lifecycle, automatic to-dos."""

from __future__ import annotations

import pytest
from shop_api_helpers import (
    DELAYED,
    SHIPPED,
    ZHAO,
    ZHAO_DAMAGED,
    ZHAO_JACKET,
    ZHAO_RESENT,
    assert_error,
    call,
    get,
    patch,
    post,
)


@pytest.fixture(scope="module")
def shop(shop_factory) -> str:
    return shop_factory().url


def test_returning_customer_sees_the_seeded_todos(shop_server):
    open_todos = get(shop_server, "/api/todos?conversation_id=demo-zhao&status=open")["todos"]
    [todo] = open_todos
    assert (todo["kind"], todo["order_id"], todo["customer_id"]) == (
        "damage_photo", ZHAO_DAMAGED, ZHAO)
    assert todo["text"].startswith("需记录破损图片") and todo["status_text"] == "待处理"
    assert todo["todo_no"] == f"TD{todo['id']:08d}" and todo["closed_at"] is None
    done = get(shop_server, f"/api/todos?customer_id={ZHAO}&status=done")["todos"]
    [resend] = done
    assert (resend["kind"], resend["order_id"]) == ("resend_tracking", ZHAO_RESENT)
    assert resend["result_text"] == "补发单号 中通 73150284719305"
    assert resend["ref"] == f"AS{resend['after_sale_id']:08d}" and resend["closed_at"]
    record = get(shop_server, f"/api/after-sales/{resend['after_sale_id']}")
    assert (record["courier"], record["tracking_no"]) == ("中通", "73150284719305")
    assert record["status"] == "completed" and record["reason_code"] == "missing_item"
    assert get(shop_server, "/api/todos?conversation_id=nobody")["todos"] == []


def test_lifecycle(shop):
    created = post(shop, "/api/todos", {"conversation_id": "conv-t1", "kind": "callback",
                                        "order_id": SHIPPED}, status=201)
    assert (created["text"], created["status"], created["kind_text"]) == (
        "需回电客户", "open", "回电")
    assert created["customer_id"] == "C0001" and created["duplicate"] is False
    again = post(shop, "/api/todos", {"conversation_id": "conv-t1", "kind": "callback",
                                      "order_id": SHIPPED}, status=200)
    assert again["duplicate"] is True and again["id"] == created["id"]
    invoice = post(shop, "/api/todos", {"conversation_id": "conv-t1", "kind": "invoice",
                                        "customer_id": "C0001", "ref": "INV00000001"},
                   status=201)
    assert invoice["text"] == "待开发票" and invoice["order_id"] is None
    other = post(shop, "/api/todos", {"conversation_id": "conv-t1", "kind": "other",
                                      "text": "客户希望周末送货"}, status=201)
    assert other["customer_id"] is None

    listed = get(shop, "/api/todos?conversation_id=conv-t1&status=open")
    assert listed["count"] == 3
    assert [t["id"] for t in listed["todos"]] == [other["id"], invoice["id"], created["id"]]

    done = patch(shop, f"/api/todos/{created['id']}",
                 {"status": "done", "result_text": "已回电，客户确认收货地址"})
    assert (done["status"], done["status_text"]) == ("done", "已完成")
    assert done["result_text"] == "已回电，客户确认收货地址" and done["closed_at"]
    assert created["id"] not in [t["id"] for t in get(
        shop, "/api/todos?conversation_id=conv-t1&status=open")["todos"]]
    assert [t["id"] for t in get(shop, "/api/todos?conversation_id=conv-t1&status=done")[
        "todos"]] == [created["id"]]
    reopened = patch(shop, f"/api/todos/{created['id']}", {"status": "open"})
    assert reopened["status"] == "open" and reopened["closed_at"] is None
    cancelled = patch(shop, f"/api/todos/{other['id']}", {"status": "cancelled"})
    assert cancelled["status_text"] == "已取消"
    edited = patch(shop, f"/api/todos/{invoice['id']}", {"text": "待开发票（专票）"})
    assert edited["text"] == "待开发票（专票）" and edited["status"] == "open"
    # A new conversation of the same customer finds the open items by customer id.
    mine = get(shop, "/api/todos?customer_id=C0001&conversation_id=conv-new&status=open")
    assert {t["id"] for t in mine["todos"]} >= {created["id"], invoice["id"]}
    assert get(shop, f"/api/todos?order_id={SHIPPED}")["todos"][0]["id"] == created["id"]
    assert len(get(shop, "/api/todos?limit=1")["todos"]) == 1


def test_resend_after_sale_opens_and_ship_closes_the_tracking_todo(shop):
    record = post(shop, f"/api/orders/{DELAYED}/after-sales",
                  {"kind": "resend", "reason": "包裹三天没更新", "conversation_id": "conv-t2"},
                  status=201)
    [todo] = record["todos"]
    assert (todo["kind"], todo["status"], todo["text"]) == ("resend_tracking", "open",
                                                            "需跟进补发单号")
    assert (todo["conversation_id"], todo["customer_id"], todo["order_id"]) == (
        "conv-t2", "C0002", DELAYED)
    listed = get(shop, "/api/todos?conversation_id=conv-t2&status=open")["todos"]
    assert [t["id"] for t in listed] == [todo["id"]]
    shipped = post(shop, f"/api/after-sales/{record['id']}/ship",
                   {"courier": "中通", "tracking_no": "73987654321012"})
    assert shipped["closed_todos"][0]["result_text"] == "补发单号 中通 73987654321012"
    assert get(shop, "/api/todos?conversation_id=conv-t2&status=open")["todos"] == []
    [closed] = get(shop, "/api/todos?conversation_id=conv-t2&status=done")["todos"]
    assert closed["result_text"] == "补发单号 中通 73987654321012"


def test_validation(shop):
    cases = [
        ({"kind": "callback"}, 422, "missing_field"),
        ({"conversation_id": "c", "kind": "lunch"}, 422, "invalid_value"),
        ({"conversation_id": "c", "kind": "other"}, 422, "missing_field"),
        ({"conversation_id": "c", "kind": "refund", "order_id": "123"}, 422, "invalid_order_id"),
        ({"conversation_id": "c", "kind": "refund", "order_id": "361204587712349999"}, 404,
         "order_not_found"),
        ({"conversation_id": "c", "kind": "refund", "customer_id": "C9999"}, 404,
         "customer_not_found"),
        ({"conversation_id": "c", "kind": "refund", "customer_id": "C0002",
          "order_id": SHIPPED}, 422, "invalid_value"),
        ({"conversation_id": "c", "kind": "other", "text": "x" * 201}, 422, "invalid_value"),
        ({"conversation_id": ["c"], "kind": "refund"}, 422, "invalid_type"),
    ]
    for body, status, code in cases:
        assert_error(call(shop, "POST", "/api/todos", body), status, code)
    todo = post(shop, "/api/todos", {"conversation_id": "conv-t3", "kind": "refund"}, status=201)
    for body, code in (({}, "missing_field"), ({"status": "finished"}, "invalid_value"),
                       ({"result_text": 5}, "invalid_type")):
        assert_error(call(shop, "PATCH", f"/api/todos/{todo['id']}", body), 422, code)
    assert_error(call(shop, "PATCH", "/api/todos/999999", {"status": "done"}), 404,
                 "todo_not_found")
    assert_error(call(shop, "PATCH", "/api/todos/abc", {"status": "done"}), 404, "not_found")
    assert_error(call(shop, "DELETE", f"/api/todos/{todo['id']}"), 405, "method_not_allowed")
    assert_error(call(shop, "GET", "/api/todos?status=maybe"), 422, "invalid_query")
    assert_error(call(shop, "GET", "/api/todos?order_id=12"), 422, "invalid_order_id")
    assert_error(call(shop, "GET", "/api/todos?limit=0"), 422, "invalid_query")


def test_an_invoice_request_opens_a_todo_closed_when_issued(shop):
    invoice = post(shop, f"/api/orders/{ZHAO_RESENT}/invoices",
                   {"type": "normal", "title": "个人", "email": "zhaolei@163.com",
                    "conversation_id": "zhao-invoice"}, status=201)
    [todo] = get(shop, "/api/todos?conversation_id=zhao-invoice&status=open")["todos"]
    assert (todo["kind"], todo["order_id"], todo["customer_id"]) == ("invoice", ZHAO_RESENT, ZHAO)
    assert todo["text"] == "待开发票（电子普通发票，抬头：个人）"
    assert todo["ref"] == invoice["invoice_request_no"]
    issued = post(shop, f"/api/invoices/{invoice['id']}/issue")
    assert issued["status"] == "issued" and issued["issued_at"]
    [closed] = issued["closed_todos"]
    assert closed["id"] == todo["id"]
    assert closed["result_text"] == "电子发票已开具，已发送至zh***@163.com"
    again = post(shop, f"/api/invoices/{invoice['id']}/issue")  # idempotent
    assert again["status"] == "issued" and again["closed_todos"] == []
    assert_error(call(shop, "POST", "/api/invoices/999999/issue"), 404, "invoice_not_found")


def test_after_sales_are_per_item(shop_factory):
    shop = shop_factory().url  # a shop of its own: this changes 赵磊's jacket order
    jacket = post(shop, f"/api/orders/{ZHAO_JACKET}/after-sales",
                  {"kind": "return", "item": "男士轻薄羽绒服", "reason_code": "no_reason_7d"},
                  status=201)
    assert get(shop, f"/api/orders/{ZHAO_JACKET}")["status"] == "return_requested"
    # The power bank of the same order can still be handled on its own ...
    power_bank = post(shop, f"/api/orders/{ZHAO_JACKET}/after-sales",
                      {"kind": "return", "item": "20000毫安充电宝", "reason_code": "quality"},
                      status=201)
    assert power_bank["id"] != jacket["id"]
    # ... but an item already being returned, or the whole order, cannot be claimed twice.
    for body in ({"kind": "exchange", "item": "男士轻薄羽绒服", "reason_code": "size"},
                 {"kind": "refund", "reason": "整单退款"}):
        assert_error(call(shop, "POST", f"/api/orders/{ZHAO_JACKET}/after-sales", body), 409,
                     "after_sales_not_allowed")
