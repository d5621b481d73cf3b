"""POST /api/orders/lookup: finding an order without its number, never someone else's."""

from __future__ import annotations

from shop_api_helpers import assert_error, call, get, post

WANG_PHONE, LI_PHONE = "13812345678", "13966668888"
WANG_SHIPPED = "361204587712340001"  # 蓝牙耳机Pro等2件商品
LI_JEANS = "361204587712340011"  # 高腰牛仔裤等2件商品


def ids(result: dict) -> list:
    assert result["count"] == len(result["orders"])
    return [order["id"] for order in result["orders"]]


def test_phone_and_product_find_the_owners_order(shop_server):
    result = post(shop_server, "/api/orders/lookup", {"phone": WANG_PHONE, "product": "耳机"})
    assert ids(result) == [WANG_SHIPPED]
    assert result["orders"][0]["customer_id"] == "C0001"
    # The noun of the catalogue name is enough, inside a sentence too.
    assert WANG_SHIPPED in ids(post(shop_server, "/api/orders/lookup",
                                    {"phone": WANG_PHONE, "product": "我买的蓝牙耳机"}))


def test_phone_and_order_date(shop_server):
    order = get(shop_server, f"/api/orders/{WANG_SHIPPED}")
    day = order["created_at"][:10]
    assert WANG_SHIPPED in ids(post(shop_server, "/api/orders/lookup",
                                    {"phone": WANG_PHONE, "date": day}))
    assert ids(post(shop_server, "/api/orders/lookup",
                    {"phone": WANG_PHONE, "date": "2001-01-01"})) == []


def test_another_customers_product_reveals_nothing(shop_server):
    # 王伟's phone with 李娜's jeans: nothing, and nothing of 李娜's either.
    assert ids(post(shop_server, "/api/orders/lookup",
                    {"phone": WANG_PHONE, "product": "牛仔裤"})) == []
    assert ids(post(shop_server, "/api/orders/lookup",
                    {"phone": "13000000000", "product": "耳机"})) == []


def test_a_phone_alone_lists_nothing_for_an_anonymous_caller(shop_server):
    # Blank clues are no clues (BOM and U+0085 included, as the schema's pattern says).
    for body in ({"phone": WANG_PHONE}, {"phone": WANG_PHONE, "product": " \ufeff\x85"},
                 {"phone": WANG_PHONE, "product": None, "date": None, "customer_id": "\u3000"}):
        assert_error(call(shop_server, "POST", "/api/orders/lookup", body=body),
                     422, "clue_required")


def test_a_linked_chat_user_only_finds_their_own_orders(shop_server):
    own = ids(post(shop_server, "/api/orders/lookup",
                   {"phone": LI_PHONE, "customer_id": "C0002"}))
    assert LI_JEANS in own
    assert ids(post(shop_server, "/api/orders/lookup",
                    {"phone": WANG_PHONE, "customer_id": "C0002", "product": "耳机"})) == []


def test_bad_input_is_explained(shop_server):
    for body, code in [({"phone": "1381234"}, "invalid_phone"),
                       ({"phone": WANG_PHONE, "date": "昨天"}, "invalid_date"),
                       ({"phone": WANG_PHONE, "date": " 2026-01-05"}, "invalid_date"),
                       ({"phone": WANG_PHONE, "date": ""}, "invalid_date"),
                       ({"phone": WANG_PHONE, "date": 20260105}, "invalid_type"),
                       ({"phone": WANG_PHONE, "customer_id": "C" * 17}, "invalid_value"),
                       ({"phone": WANG_PHONE, "product": "耳" * 31}, "invalid_value"),
                       ({}, "invalid_phone")]:
        assert_error(call(shop_server, "POST", "/api/orders/lookup", body=body), 422, code)


def test_openapi_documents_the_lookup(shop_server):
    import yaml

    document = yaml.safe_load(call(shop_server, "GET", "/openapi.yaml").text)
    operation = document["paths"]["/api/orders/lookup"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["phone"]
    assert set(schema["properties"]) == {"phone", "product", "date", "customer_id"}
    assert {"200", "422"} <= set(operation["responses"])
    # The clue rule is part of the schema: a schema-valid body always carries a clue.
    assert [branch["required"] for branch in schema["anyOf"]] == [["product"], ["date"],
                                                                  ["customer_id"]]
