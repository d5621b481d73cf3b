"""Every endpoint of the demo shop against a real server (python -m shop)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
import yaml
from shop_api_helpers import (
    CANCELLED,
    DELAYED,
    DELIVERED,
    PAID,
    REFUNDED,
    RETURNING,
    SHIPPED,
    UNPAID,
    assert_error,
    call,
    day_of,
    find_orders,
    get,
    post,
    today,
)

SHOWCASE = {
    SHIPPED: ("C0001", "shipped", "已发货"),
    PAID: ("C0001", "paid", "待发货"),
    DELIVERED: ("C0001", "delivered", "已签收"),
    UNPAID: ("C0001", "unpaid", "待付款"),
    DELAYED: ("C0002", "shipped", "已发货"),
    REFUNDED: ("C0002", "refunded", "已退款"),
    RETURNING: ("C0002", "return_requested", "退货中"),
    CANCELLED: ("C0002", "cancelled", "已取消"),
}


@pytest.fixture(scope="module")
def shop(shop_factory) -> str:
    """A private shop for tests that change data, so `shop_server` stays pristine."""
    return shop_factory().url


# ---------------------------------------------------------------- read-only (shop_server)


def test_health_and_openapi(shop_server):
    assert get(shop_server, "/health") == {"status": "ok"}
    response = call(shop_server, "GET", "/openapi.yaml")
    assert response.status_code == 200
    document = yaml.safe_load(response.text)
    assert document["openapi"].startswith("3.0")
    expected = {
        "/health", "/api/customers/by-channel/{channel_user_id}", "/api/customers/by-phone/{phone}",
        "/api/customers/{customer_id}", "/api/customers/{customer_id}/orders",
        "/api/customers/{customer_id}/coupons", "/api/orders/{order_id}",
        "/api/orders/{order_id}/verify", "/api/orders/{order_id}/tracking",
        "/api/orders/{order_id}/cancel", "/api/orders/{order_id}/address",
        "/api/orders/{order_id}/urge", "/api/orders/{order_id}/refund",
        "/api/orders/{order_id}/price-protection",
        "/api/orders/{order_id}/after-sales", "/api/orders/{order_id}/invoices",
        "/api/followups", "/api/products", "/api/products/{product_id}",
        "/api/products/{product_id}/ship-promise",
    }
    assert expected <= set(document["paths"])
    assert "Error" in document["components"]["schemas"]


def test_openapi_documents_uploads_todos_and_size_advice(shop_server):
    document = yaml.safe_load(call(shop_server, "GET", "/openapi.yaml").text)
    expected = {
        "/api/uploads", "/api/uploads/{upload_id}", "/api/uploads/{upload_id}/meta",
        "/api/products/{product_id}/size-advice", "/api/todos", "/api/todos/{todo_id}",
        "/api/after-sales/{after_sale_id}", "/api/after-sales/{after_sale_id}/evidence",
        "/api/after-sales/{after_sale_id}/ship",
    }
    assert expected <= set(document["paths"])
    assert "patch" in document["paths"]["/api/todos/{todo_id}"]
    schemas = document["components"]["schemas"]
    assert {"Upload", "Todo", "SizeAdvice"} <= set(schemas)
    after_sale_body = document["paths"]["/api/orders/{order_id}/after-sales"]["post"][
        "requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert {"kind", "item", "reason_code", "evidence"} <= set(after_sale_body)


def test_customer_lookups(shop_server):
    wang = get(shop_server, "/api/customers/by-channel/demo-wang")
    assert wang["id"] == "C0001" and wang["name"] == "王伟"
    assert (wang["surname"], wang["title"], wang["phone"]) == ("王", "先生", "138****5678")
    assert wang["phone_masked"] == "138****5678"
    assert set(wang["channel_user_ids"]) == {"demo-wang", "wx_o_wangwei"}
    assert get(shop_server, "/api/customers/by-channel/wx_o_wangwei")["id"] == "C0001"
    li = get(shop_server, "/api/customers/by-phone/13966668888")
    assert (li["id"], li["name"], li["title"]) == ("C0002", "李娜", "女士")
    assert li["channel_user_ids"] == ["demo-li"]
    # Full phones are never returned (issue 13, finding 11).
    assert get(shop_server, "/api/customers/C0002")["phone"] == "139****8888"
    generated = get(shop_server, "/api/customers/by-channel/web_u1003")
    assert generated["id"] == "C0003" and generated["title"] in ("先生", "女士")
    assert get(shop_server, "/api/customers/C0050")["id"] == "C0050"

    assert_error(call(shop_server, "GET", "/api/customers/by-channel/nobody"), 404,
                 "customer_not_found")
    assert_error(call(shop_server, "GET", "/api/customers/by-phone/12345"), 422, "invalid_phone")
    assert_error(call(shop_server, "GET", "/api/customers/by-phone/1381234567a"), 422)
    assert_error(call(shop_server, "GET", "/api/customers/by-phone/13000000000"), 404)
    assert_error(call(shop_server, "GET", "/api/customers/C9999"), 404, "customer_not_found")


@pytest.mark.parametrize("order_id", sorted(SHOWCASE))
def test_showcase_order_states(shop_server, order_id):
    customer_id, status, text = SHOWCASE[order_id]
    order = get(shop_server, f"/api/orders/{order_id}")
    assert (order["id"], order["customer_id"]) == (order_id, customer_id)
    assert (order["status"], order["status_text"]) == (status, text)
    assert order["items"] and order["total_amount"] == pytest.approx(
        sum(i["price"] * i["quantity"] for i in order["items"])
    )
    assert order["can_cancel"] == order["can_change_address"] == (status in ("unpaid", "paid"))


def test_order_json_shape(shop_server):
    order = get(shop_server, f"/api/orders/{SHIPPED}")
    keys = {"id", "customer_id", "status", "status_text", "created_at", "paid_at", "shipped_at",
            "delivered_at", "promised_ship_by", "total_amount", "items", "address", "courier",
            "tracking_no", "can_cancel", "can_change_address"}
    assert keys <= set(order)
    assert order["created_at"].endswith("+08:00") and order["shipped_at"].endswith("+08:00")
    assert order["delivered_at"] is None
    assert order["courier"] == "顺丰" and order["tracking_no"].startswith("SF")
    assert order["total_amount"] == 568.0
    assert set(order["items"][0]) == {"product_id", "name", "spec", "quantity", "price"}
    assert order["items"][0]["name"] == "蓝牙耳机Pro"
    assert order["address"] == {
        "name": "王伟", "phone": "138****5678", "province": "浙江省", "city": "杭州市",
        "district": "西湖区", "detail": "文一西路588号西溪花园12幢2单元801室",
    }
    paid = get(shop_server, f"/api/orders/{PAID}")
    assert paid["courier"] is None and paid["tracking_no"] is None
    assert datetime.fromisoformat(paid["promised_ship_by"]) > datetime.fromisoformat(
        paid["paid_at"]
    )
    assert get(shop_server, f"/api/orders/{UNPAID}")["paid_at"] is None
    delivered = get(shop_server, f"/api/orders/{DELIVERED}")
    assert day_of(delivered["delivered_at"]) == today() - timedelta(days=3)


def test_customer_orders_newest_first(shop_server):
    result = get(shop_server, "/api/customers/C0001/orders")
    ids = [o["id"] for o in result["orders"]]
    assert sorted(ids) == sorted(k for k, v in SHOWCASE.items() if v[0] == "C0001")
    created = [o["created_at"] for o in result["orders"]]
    assert created == sorted(created, reverse=True)
    assert result["count"] == 4
    only_paid = get(shop_server, "/api/customers/C0001/orders?status=paid")["orders"]
    assert [o["id"] for o in only_paid] == [PAID]
    assert len(get(shop_server, "/api/customers/C0002/orders?limit=2")["orders"]) == 2
    assert_error(call(shop_server, "GET", "/api/customers/C0001/orders?status=lost"), 422)
    assert_error(call(shop_server, "GET", "/api/customers/C0001/orders?limit=abc"), 422)
    assert_error(call(shop_server, "GET", "/api/customers/C0001/orders?limit=0"), 422)
    assert_error(call(shop_server, "GET", "/api/customers/C9999/orders"), 404)


def test_tracking_in_transit_eta_tomorrow(shop_server):
    tracking = get(shop_server, f"/api/orders/{SHIPPED}/tracking")
    assert tracking["courier"] == "顺丰" and tracking["state"] == "in_transit"
    assert len(tracking["events"]) >= 4
    times = [e["time"] for e in tracking["events"]]
    assert times == sorted(times, reverse=True)
    latest = tracking["latest_event"]
    assert latest == tracking["events"][0]
    assert day_of(latest["time"]) == today()
    assert "转运中心" in latest["location"] and latest["location"] == tracking["current_location"]
    assert "到达" in latest["description"]
    assert any("揽收" in e["description"] for e in tracking["events"])
    assert tracking["eta"] == (today() + timedelta(days=1)).isoformat()
    assert tracking["delayed"] is False


def test_tracking_delayed_parcel(shop_server):
    tracking = get(shop_server, f"/api/orders/{DELAYED}/tracking")
    assert tracking["courier"] == "中通" and tracking["state"] == "in_transit"
    assert day_of(tracking["latest_event"]["time"]) == today() - timedelta(days=3)
    assert tracking["eta"] < today().isoformat()
    assert tracking["delayed"] is True


def test_tracking_not_shipped_and_delivered(shop_server):
    tracking = get(shop_server, f"/api/orders/{PAID}/tracking")
    assert tracking["state"] == "not_shipped" and tracking["events"] == []
    assert tracking["promised_ship_by"] and tracking["eta"] is None
    assert tracking["delayed"] is False and tracking["latest_event"] is None
    delivered = get(shop_server, f"/api/orders/{DELIVERED}/tracking")
    assert delivered["state"] == "delivered" and delivered["courier"] == "京东物流"
    assert "已签收" in delivered["latest_event"]["description"]
    assert delivered["delayed"] is False


def test_verify_ownership(shop_server):
    def verify(order_id, tail):
        return post(shop_server, f"/api/orders/{order_id}/verify", {"phone_tail": tail})

    assert verify(SHIPPED, "5678")["verified"] is True
    assert verify(SHIPPED, "8888")["verified"] is False
    assert verify(DELAYED, "8888")["verified"] is True
    assert verify(DELAYED, "5678")["verified"] is False
    for bad in ("56a8", "12345", "", 5.5, True, 10000):
        response = call(shop_server, "POST", f"/api/orders/{SHIPPED}/verify", {"phone_tail": bad})
        assert_error(response, 422, "invalid_phone_tail")
    response = call(shop_server, "POST", "/api/orders/361204587712349999/verify",
                    {"phone_tail": "5678"})
    assert_error(response, 404, "order_not_found")


def test_refund_status(shop_server):
    refunded = get(shop_server, f"/api/orders/{REFUNDED}/refund")
    assert refunded["status"] == "completed" and refunded["amount"] == 258.0
    assert refunded["completed_at"] and refunded["method"].startswith("原路退回")
    returning = get(shop_server, f"/api/orders/{RETURNING}/refund")
    assert returning["status"] == "processing" and returning["amount"] == 599.0
    assert returning["expected_date"] > today().isoformat() and returning["completed_at"] is None
    none = get(shop_server, f"/api/orders/{SHIPPED}/refund")
    assert none["status"] == "none" and none["amount"] is None
    records = get(shop_server, f"/api/orders/{RETURNING}/after-sales")["after_sales"]
    assert [(r["type"], r["status"]) for r in records] == [("return", "processing")]


def test_products_catalogue(shop_server):
    products = get(shop_server, "/api/products")["products"]
    assert len(products) == 31 and products[0]["id"] == "P1001"
    clothing = get(shop_server, "/api/products?category=clothing")["products"]
    assert len(clothing) == 8
    found = {p["id"] for p in get(shop_server, "/api/products?q=耳机")["products"]}
    assert found == {"P2001", "P2002"}
    assert {p["id"] for p in get(shop_server, "/api/products?q=悦家")["products"]} == {
        "P5001", "P5002", "P5003"}
    jacket = get(shop_server, "/api/products/P1001")
    assert (jacket["brand"], jacket["name"]) == ("沐风", "男士轻薄羽绒服")
    row = jacket["size_chart"][0]
    assert {"size", "height_cm", "weight_kg", "chest_cm", "shoulder_cm", "length_cm"} <= set(row)
    assert "尺码" in jacket["options"] and "material" in jacket["attributes"]
    earphones = get(shop_server, "/api/products/P2001")
    assert earphones["size_chart"] is None and "compatibility" in earphones["attributes"]
    assert "ingredients" in get(shop_server, "/api/products/P3002")["attributes"]
    assert_error(call(shop_server, "GET", "/api/products?category=toys"), 422, "invalid_query")
    assert_error(call(shop_server, "GET", "/api/products/P0000"), 404, "product_not_found")


def test_ship_promise(shop_server):
    promise = get(shop_server, "/api/products/P1001/ship-promise")
    assert promise["in_stock"] is True and promise["cutoff_hour"] == 16
    assert promise["ships_by"] in (today().isoformat(), (today() + timedelta(days=1)).isoformat())
    assert "16点前付款当天发货" in promise["text"]
    missing = get(shop_server, "/api/products/P2008/ship-promise")
    assert missing["in_stock"] is False and missing["stock"] == 0
    assert missing["restock_date"] > today().isoformat() and "缺货" in missing["text"]
    assert_error(call(shop_server, "GET", "/api/products/P0000/ship-promise"), 404)


def test_concurrent_reads(shop_server):
    paths = [f"/api/orders/{SHIPPED}/tracking", f"/api/orders/{PAID}",
             "/api/customers/by-channel/demo-li", "/api/customers/C0001/orders"] * 25

    def fetch(path):
        return call(shop_server, "GET", path).status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        assert set(pool.map(fetch, paths)) == {200}


# ---------------------------------------------------------------- changes (private shop)


def test_cancel(shop):
    order = post(shop, f"/api/orders/{UNPAID}/cancel", {"reason": "不想要了"})
    assert order["status"] == "cancelled" and order["status_text"] == "已取消"
    assert order["refund"] is None and order["can_cancel"] is False
    assert order["cancel_reason"] == "不想要了"
    paid = find_orders(shop, "paid")[0]
    order = post(shop, f"/api/orders/{paid['id']}/cancel", {})
    assert order["status"] == "cancelled"
    assert order["refund"]["status"] == "processing"
    assert order["refund"]["amount"] == paid["total_amount"]
    assert get(shop, f"/api/orders/{paid['id']}/refund")["status"] == "processing"

    error = assert_error(call(shop, "POST", f"/api/orders/{SHIPPED}/cancel", {"reason": "x"}),
                         409, "not_cancellable")
    assert "已发货" in error["message"] and "拒收" in error["message"]
    assert_error(call(shop, "POST", f"/api/orders/{DELIVERED}/cancel"), 409, "not_cancellable")
    assert_error(call(shop, "POST", f"/api/orders/{UNPAID}/cancel"), 409, "not_cancellable")
    assert get(shop, f"/api/orders/{SHIPPED}")["status"] == "shipped"


NEW_ADDRESS = {"name": "王伟", "phone": "13812345678", "province": "上海市", "city": "上海市",
               "district": "浦东新区", "detail": "张杨路500号时代广场15楼"}


def test_change_address(shop):
    order = post(shop, f"/api/orders/{PAID}/address", NEW_ADDRESS)
    assert order["address"] == {**NEW_ADDRESS, "phone": "138****5678"}
    assert order["status"] == "paid"
    assert get(shop, f"/api/orders/{PAID}")["address"]["district"] == "浦东新区"
    # The phone is only ever shown masked: sending that (or none) back keeps the stored one.
    kept = post(shop, f"/api/orders/{PAID}/address",
                {**NEW_ADDRESS, "phone": "138****5678", "detail": "张杨路501号"})
    assert kept["address"]["phone"] == "138****5678" and kept["address"]["detail"] == "张杨路501号"
    no_phone = {k: v for k, v in NEW_ADDRESS.items() if k != "phone"}
    assert post(shop, f"/api/orders/{PAID}/address", no_phone)["address"]["phone"] == \
        "138****5678"

    error = assert_error(call(shop, "POST", f"/api/orders/{SHIPPED}/address", NEW_ADDRESS), 409,
                         "address_locked")
    assert "已发货" in error["message"]
    assert_error(call(shop, "POST", f"/api/orders/{DELIVERED}/address", NEW_ADDRESS), 409)
    bad_phone = {**NEW_ADDRESS, "phone": "1381234"}
    assert_error(call(shop, "POST", f"/api/orders/{PAID}/address", bad_phone), 422,
                 "invalid_phone")
    assert_error(call(shop, "POST", f"/api/orders/{PAID}/address", {**NEW_ADDRESS, "detail": " "}),
                 422, "missing_field")
    missing = {k: v for k, v in NEW_ADDRESS.items() if k != "city"}
    assert_error(call(shop, "POST", f"/api/orders/{PAID}/address", missing), 422, "missing_field")
    assert_error(call(shop, "POST", f"/api/orders/{PAID}/address", {**NEW_ADDRESS, "name": 7}),
                 422, "invalid_type")


def test_urge_is_recorded_and_deduplicated(shop):
    first = call(shop, "POST", f"/api/orders/{SHIPPED}/urge", {"note": "客户很着急"})
    assert first.status_code == 201
    followup = first.json()["followup"]
    assert first.json()["duplicate"] is False
    assert (followup["type"], followup["status"], followup["order_id"]) == (
        "urge", "open", SHIPPED)
    assert followup["customer_id"] == "C0001" and followup["note"] == "客户很着急"
    second = call(shop, "POST", f"/api/orders/{SHIPPED}/urge", {})
    assert second.status_code == 200 and second.json()["duplicate"] is True
    assert second.json()["followup"]["id"] == followup["id"]

    listed = get(shop, f"/api/followups?order_id={SHIPPED}")["followups"]
    assert [f["id"] for f in listed] == [followup["id"]]
    open_for_wang = get(shop, "/api/followups?customer_id=C0001&status=open")["followups"]
    assert followup["id"] in [f["id"] for f in open_for_wang]
    assert post(shop, f"/api/orders/{PAID}/urge", status=201)["followup"]["note"] == "客户催促发货"

    for order_id in (DELIVERED, CANCELLED, REFUNDED):
        assert_error(call(shop, "POST", f"/api/orders/{order_id}/urge"), 409, "not_urgeable")
    assert_error(call(shop, "GET", "/api/followups?status=maybe"), 422)
    assert_error(call(shop, "GET", "/api/followups?order_id=123"), 422, "invalid_order_id")


def test_after_sales(shop):
    record = post(shop, f"/api/orders/{DELIVERED}/after-sales",
                  {"type": "return", "reason": "空气炸锅有异味", "items": ["P5001"],
                   "photos": ["https://img.example.com/1.jpg"]}, status=201)
    assert (record["type"], record["status"], record["refund_amount"]) == (
        "return", "processing", 299.0)
    assert record["ticket_no"].startswith("AS")
    assert get(shop, f"/api/orders/{DELIVERED}")["status"] == "return_requested"
    refund = get(shop, f"/api/orders/{DELIVERED}/refund")
    assert refund["status"] == "processing" and refund["amount"] == 299.0
    listed = get(shop, f"/api/orders/{DELIVERED}/after-sales")["after_sales"]
    assert listed[0]["id"] == record["id"]
    assert_error(call(shop, "POST", f"/api/orders/{DELIVERED}/after-sales",
                      {"type": "return", "reason": "again"}), 409)

    resend = post(shop, f"/api/orders/{DELAYED}/after-sales",
                  {"type": "resend", "reason": "包裹长时间未更新"}, status=201)
    assert resend["status"] == "processing"
    assert_error(call(shop, "POST", f"/api/orders/{DELAYED}/after-sales",
                      {"type": "resend", "reason": "再次补发"}), 409, "after_sales_exists")
    assert_error(call(shop, "POST", f"/api/orders/{DELAYED}/after-sales",
                      {"type": "exchange", "reason": "换货"}), 409, "after_sales_not_allowed")
    assert_error(call(shop, "POST", f"/api/orders/{DELAYED}/after-sales",
                      {"type": "return", "reason": "x", "items": ["P9999"]}), 422,
                 "invalid_items")
    for order_id in (RETURNING, REFUNDED, CANCELLED):
        assert_error(call(shop, "POST", f"/api/orders/{order_id}/after-sales",
                          {"type": "refund", "reason": "x"}), 409)

    paid = find_orders(shop, "paid", exclude=(PAID,))[0]
    refund_record = post(shop, f"/api/orders/{paid['id']}/after-sales",
                         {"type": "refund", "reason": "不想要了"}, status=201)
    assert refund_record["refund_amount"] == paid["total_amount"]
    assert get(shop, f"/api/orders/{paid['id']}")["status"] == "cancelled"


def test_coupons(shop):
    coupons = get(shop, "/api/customers/C0001/coupons")["coupons"]
    assert {c["status"] for c in coupons} == {"available", "used"}
    assert any(c["title"] == "满300减30" for c in coupons)
    coupon = post(shop, "/api/customers/C0002/coupons",
                  {"amount": 20, "threshold": 0, "reason": "物流延误补偿", "valid_days": 7},
                  status=201)
    assert (coupon["amount"], coupon["status"]) == (20.0, "available")
    assert coupon["title"] == "无门槛20元"
    assert day_of(coupon["expires_at"]) == today() + timedelta(days=7)
    ids = [c["id"] for c in get(shop, "/api/customers/C0002/coupons")["coupons"]]
    assert coupon["id"] in ids

    base = {"amount": 20, "threshold": 100, "reason": "补偿", "valid_days": 7}
    for bad in ({"amount": "20"}, {"amount": -1}, {"amount": True}, {"valid_days": 0},
                {"valid_days": 1.5}, {"threshold": 10}, {"reason": ""}, {"reason": None}):
        response = call(shop, "POST", "/api/customers/C0002/coupons", {**base, **bad})
        assert_error(response, 422)
    assert_error(call(shop, "POST", "/api/customers/C9999/coupons", base), 404,
                 "customer_not_found")
    assert_error(call(shop, "GET", "/api/customers/C9999/coupons"), 404)


def test_invoices(shop):
    request = {"type": "normal", "title": "王伟", "email": "wangwei@example.com"}
    invoice = post(shop, f"/api/orders/{SHIPPED}/invoices", request, status=201)
    assert (invoice["type"], invoice["status"], invoice["amount"]) == ("normal", "pending", 568.0)
    assert invoice["duplicate"] is False
    again = post(shop, f"/api/orders/{SHIPPED}/invoices", request, status=200)
    assert again["duplicate"] is True and again["id"] == invoice["id"]
    assert_error(call(shop, "POST", f"/api/orders/{SHIPPED}/invoices",
                      {**request, "title": "杭州某某科技有限公司"}), 409, "invoice_exists")
    listed = get(shop, f"/api/orders/{SHIPPED}/invoices")["invoices"]
    assert [i["id"] for i in listed] == [invoice["id"]]

    delivered = find_orders(shop, "delivered", count=5)
    target = next(o for o in delivered if not get(shop, f"/api/orders/{o['id']}/invoices")[
        "invoices"])
    # A checksum-valid 统一社会信用代码 (GB 32100-2015); ...5E was invalid (check char D).
    special = {"type": "special", "title": "杭州云栖科技有限公司", "tax_id": "91330106MA2B3C4D5D",
               "email": "finance@yunqi.com"}
    created = post(shop, f"/api/orders/{target['id']}/invoices", special, status=201)
    assert created["tax_id"] == "91330106MA2B3C4D5D"

    url = f"/api/orders/{SHIPPED}/invoices"
    assert_error(call(shop, "POST", url, {**special, "tax_id": None}), 422, "missing_field")
    assert_error(call(shop, "POST", url, {**special, "tax_id": "123"}), 422, "invalid_tax_id")
    assert_error(call(shop, "POST", url, {**request, "email": "not-an-email"}), 422,
                 "invalid_email")
    assert_error(call(shop, "POST", url, {**request, "type": "vat"}), 422, "invalid_value")
    assert_error(call(shop, "POST", f"/api/orders/{CANCELLED}/invoices", request), 409,
                 "invoice_not_allowed")
