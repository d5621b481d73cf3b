"""Warmth and cross-sell: product views, a returning customer's recent items, related
products (against a real server; the last test on PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import yaml
from shop_api_helpers import (
    CANCELLED,
    PAID,
    SHIPPED,
    ZHAO,
    ZHAO_DAMAGED,
    assert_error,
    call,
    day_of,
    find_orders,
    get,
    post,
    today,
)

from compliance import ALL_CATEGORIES, get_checker

SUMMARY_KEYS = {"id", "name", "brand", "category", "price", "stock", "in_stock"}


@pytest.fixture(scope="module")
def shop(shop_factory) -> str:
    """Views are recorded here, so the session-wide shop keeps its seeded views."""
    return shop_factory().url


def assert_compliant(text: str) -> None:
    verdict = get_checker().check(text, ALL_CATEGORIES)
    assert not verdict.hits, (text, verdict.hits)


# ---------------------------------------------------------------- recent items (seeded)


def test_demo_customers_last_viewed_items(shop_server):
    """The fixed showcase views of docs/demo_data.md."""
    zhao = get(shop_server, f"/api/customers/{ZHAO}/recent")
    viewed = zhao["last_viewed"]
    assert SUMMARY_KEYS <= set(viewed)
    assert (viewed["id"], viewed["name"], viewed["in_stock"]) == ("P2005", "K87机械键盘", True)
    assert viewed["stock"] > 0 and viewed["restock_date"] is None
    assert day_of(viewed["viewed_at"]) == today() - timedelta(days=1)
    assert viewed["purchased_after_view"] is False
    # Newest first, one entry per product; the jacket he looked at and then bought is marked.
    assert [v["id"] for v in zhao["recently_viewed"]] == ["P2005", "P2006", "P1001"]
    assert zhao["recently_viewed"][2]["purchased_after_view"] is True

    li = get(shop_server, "/api/customers/by-channel/demo-li")
    viewed = get(shop_server, f"/api/customers/{li['id']}/recent")["last_viewed"]
    assert (viewed["id"], viewed["name"], viewed["in_stock"]) == ("P2001", "蓝牙耳机Pro", True)

    # 王先生 last looked at a sold-out monitor: its restock date comes along.
    viewed = get(shop_server, "/api/customers/C0001/recent")["last_viewed"]
    assert (viewed["id"], viewed["in_stock"], viewed["stock"]) == ("P2008", False, 0)
    assert viewed["restock_date"] == (today() + timedelta(days=6)).isoformat()


def test_last_purchased_is_the_newest_kept_order(shop_server):
    zhao = get(shop_server, f"/api/customers/{ZHAO}/recent")["last_purchased"]
    assert SUMMARY_KEYS <= set(zhao)
    assert (zhao["id"], zhao["order_id"], zhao["order_status"]) == (
        "P5002", ZHAO_DAMAGED, "delivered")
    assert zhao["spec"] == "颜色：白色" and zhao["quantity"] == 1
    assert day_of(zhao["ordered_at"]) == today() - timedelta(days=3)
    # 王先生's newest order is unpaid: the paid keyboard order before it counts.
    wang = get(shop_server, "/api/customers/C0001/recent")["last_purchased"]
    assert (wang["id"], wang["order_id"], wang["order_status"]) == ("P2005", PAID, "paid")
    # 李女士's newest kept order is the delayed parcel (her cancelled/refunded ones are not).
    li = get(shop_server, "/api/customers/C0002/recent")["last_purchased"]
    assert li["order_id"] == "361204587712340011" and li["id"] == "P1006"
    assert li["order_id"] != CANCELLED


def test_recent_of_unknown_customer_is_404(shop_server):
    assert_error(call(shop_server, "GET", "/api/customers/C9999/recent"), 404,
                 "customer_not_found")


# ---------------------------------------------------------------- recording views


def test_record_view_becomes_last_viewed(shop):
    created = post(shop, "/api/customers/C0003/views",
                   {"product_id": "P2002", "source": "chat_page"}, status=201)
    assert (created["customer_id"], created["product_id"], created["source"]) == (
        "C0003", "P2002", "chat_page")
    assert created["duplicate"] is False and created["product"]["name"] == "降噪头戴耳机"
    assert day_of(created["viewed_at"]) == today()
    recent = get(shop, "/api/customers/C0003/recent")
    assert recent["last_viewed"]["id"] == "P2002"
    assert recent["last_viewed"]["viewed_at"] == created["viewed_at"]

    # The same product again right away is the same visit, not a second row.
    again = post(shop, "/api/customers/C0003/views", {"product_id": "P2002"}, status=200)
    assert again["duplicate"] is True and again["id"] == created["id"]
    # Another product is a new view; source defaults to the chat page.
    other = post(shop, "/api/customers/C0003/views", {"product_id": "P3001"}, status=201)
    assert other["source"] == "chat_page"
    recent = get(shop, "/api/customers/C0003/recent")
    assert [v["id"] for v in recent["recently_viewed"][:2]] == ["P3001", "P2002"]


BAD_VIEWS = [
    ("/api/customers/C9999/views", {"product_id": "P2001"}, 404, "customer_not_found"),
    ("/api/customers/C0003/views", {"product_id": "P9999"}, 404, "product_not_found"),
    ("/api/customers/C0003/views", {}, 422, "missing_field"),
    ("/api/customers/C0003/views", {"product_id": ""}, 422, "missing_field"),
    ("/api/customers/C0003/views", {"product_id": 2001}, 422, "invalid_type"),
    ("/api/customers/C0003/views", {"product_id": "P2001", "source": "tv"}, 422,
     "invalid_value"),
    ("/api/customers/C0003/views", {"product_id": "P" * 40}, 422, "invalid_value"),
]


@pytest.mark.parametrize(("path", "body", "status", "code"), BAD_VIEWS)
def test_bad_views_are_clear_errors(shop, path, body, status, code):
    assert_error(call(shop, "POST", path, body), status, code)


@pytest.mark.parametrize(("data", "code"), [(b'{"product_id": ', "invalid_json"),
                                            (b'["P2001"]', "invalid_body")])
def test_malformed_view_bodies_are_400(shop, data, code):
    response = call(shop, "POST", "/api/customers/C0003/views", data=data,
                    headers={"Content-Type": "application/json"})
    assert_error(response, 400, code)


# ---------------------------------------------------------------- related products


def test_related_ranks_co_purchases_first(shop_server):
    result = get(shop_server, "/api/products/P2005/related")
    related = result["products"]
    assert result["product_id"] == "P2005" and result["count"] == len(related) == 3
    first = related[0]
    assert SUMMARY_KEYS <= set(first)
    # Keyboard + mouse is the demo's typical basket.
    assert (first["id"], first["reason_code"], first["reason"]) == (
        "P2006", "co_purchase", "买过这款的顾客也常买")
    assert first["co_purchases"] >= 4
    # The 4K monitor is bought with the keyboard too, but it is sold out.
    ids = [r["id"] for r in related]
    assert "P2008" not in ids and "P2005" not in ids
    assert all(r["in_stock"] and r["stock"] > 0 for r in related)
    # Then the same category, by sales.
    assert all(r["category"] == "electronics" for r in related[1:])
    assert {r["reason_code"] for r in related[1:]} == {"same_category"}
    for item in related:
        assert_compliant(item["reason"])


def test_related_falls_back_to_category_and_honours_limit(shop_server):
    # Nothing is bought with the air fryer often: same-category products only.
    related = get(shop_server, "/api/products/P5001/related?limit=5")["products"]
    assert len(related) == 4  # five other appliances, the heater is sold out
    assert all(r["category"] == "home_appliance" and r["reason"] == "同类热销"
               for r in related)
    assert "P5006" not in [r["id"] for r in related]
    cross = get(shop_server, "/api/products/P5002/related?limit=1")["products"]
    assert [(r["id"], r["reason_code"]) for r in cross] == [("P4001", "co_purchase")]
    # A sold-out product still gets suggestions (what to buy meanwhile).
    assert get(shop_server, "/api/products/P2008/related")["products"]


@pytest.mark.parametrize(("path", "status", "code"), [
    ("/api/products/P9999/related", 404, "product_not_found"),
    ("/api/products/P2005/related?limit=0", 422, "invalid_query"),
    ("/api/products/P2005/related?limit=11", 422, "invalid_query"),
    ("/api/products/P2005/related?limit=abc", 422, "invalid_query"),
])
def test_related_bad_input(shop_server, path, status, code):
    assert_error(call(shop_server, "GET", path), status, code)


def test_related_ignores_cancelled_orders(shop):
    """Co-purchases come from real purchases: cancelling a basket takes it out."""
    products = {p["id"]: p for p in get(shop, "/api/products")["products"]}
    pair = None
    for order in find_orders(shop, "paid", count=20):
        ids = [item["product_id"] for item in order["items"]]
        pairs = [(a, b) for a in ids for b in ids if a != b and products[b]["in_stock"]
                 and products[a]["category"] == products[b]["category"]]
        if pairs:
            pair, order_id = pairs[0], order["id"]
            break
    assert pair is not None, "the seed has paid orders with two items of one category"
    product, partner = pair

    def shared() -> int:
        related = get(shop, f"/api/products/{product}/related?limit=10")["products"]
        return next(r["co_purchases"] for r in related if r["id"] == partner)

    before = shared()
    assert before >= 1
    post(shop, f"/api/orders/{order_id}/cancel", {"reason": "测试"})
    assert shared() == before - 1


def test_last_purchased_skips_cancelled_orders(shop):
    post(shop, f"/api/orders/{PAID}/cancel", {"reason": "测试"})
    last = get(shop, "/api/customers/C0001/recent")["last_purchased"]
    assert (last["order_id"], last["id"]) == (SHIPPED, "P2001")


# ---------------------------------------------------------------- PostgreSQL


@pytest.fixture
def pg_url(postgres_schema) -> Iterator[str]:
    with postgres_schema("shop_pytest_warmth") as url:
        yield url


def test_postgresql_views_recent_related(shop_factory, pg_url):
    shop = shop_factory(db_url=pg_url)
    assert get(shop.url, f"/api/customers/{ZHAO}/recent")["last_viewed"]["id"] == "P2005"
    created = post(shop.url, f"/api/customers/{ZHAO}/views", {"product_id": "P2001"},
                   status=201)
    recent = get(shop.url, f"/api/customers/{ZHAO}/recent")
    assert recent["last_viewed"]["id"] == "P2001"
    assert recent["last_viewed"]["viewed_at"] == created["viewed_at"]
    related = get(shop.url, "/api/products/P2005/related")["products"]
    assert related[0]["id"] == "P2006" and related[0]["reason_code"] == "co_purchase"
    assert_error(call(shop.url, "POST", "/api/customers/C9999/views",
                      {"product_id": "P2001"}), 404, "customer_not_found")
    shop.stop()


# ---------------------------------------------------------------- contract


def test_openapi_documents_warmth_promotions_and_invoices(shop_server):
    document = yaml.safe_load(call(shop_server, "GET", "/openapi.yaml").text)
    paths = document["paths"]
    assert {"/api/customers/{customer_id}/views", "/api/customers/{customer_id}/recent",
            "/api/products/{product_id}/related", "/api/promotions",
            "/api/promotions/quote"} <= set(paths)
    assert {"get", "post"} <= set(paths["/api/promotions/quote"])
    schemas = document["components"]["schemas"]
    assert {"RecentItems", "RelatedProduct", "Promotion", "PromotionQuote"} <= set(schemas)
    conflict = paths["/api/orders/{order_id}/invoices"]["post"]["responses"]["409"]
    error = conflict["content"]["application/json"]["schema"]["properties"]["error"]
    assert "invoice" in error["properties"]
    coupon_params = paths["/api/customers/{customer_id}/coupons"]["get"]["parameters"]
    assert any(p.get("name") == "status" for p in coupon_params)

    # Every $ref points at something that exists.
    def refs(value):
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "$ref":
                    yield item
                else:
                    yield from refs(item)
        elif isinstance(value, list):
            for item in value:
                yield from refs(item)

    for ref in set(refs(document)):
        node = document
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        assert node, ref
