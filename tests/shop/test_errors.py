"""Bad input never yields a 500: every case is a clear 4xx JSON error."""

from __future__ import annotations

import json

import pytest
from shop_api_helpers import PAID, SHIPPED, assert_error, call

from shop.errors import JsonErrorHandler


@pytest.fixture(scope="module")
def shop(shop_factory) -> str:
    return shop_factory().url


RAW_BODIES = [
    (f"/api/orders/{SHIPPED}/verify", b'{"phone_tail": ', 400, "invalid_json"),
    (f"/api/orders/{SHIPPED}/verify", b"[1, 2]", 400, "invalid_body"),
    (f"/api/orders/{SHIPPED}/verify", b'"5678"', 400, "invalid_body"),
    (f"/api/orders/{SHIPPED}/urge", b"\xff\xfe\x00garbage", 400, "invalid_json"),
    (f"/api/orders/{PAID}/cancel", b"not json at all", 400, "invalid_json"),
    ("/api/customers/C0001/coupons", b"{'amount': 5}", 400, "invalid_json"),
    ("/api/customers/C0001/coupons", b'{"amount": NaN, "reason": "x"}', 400, "invalid_json"),
    ("/api/customers/C0001/coupons", b'{"amount": 1e999, "reason": "x"}', 422, "invalid_value"),
]


@pytest.mark.parametrize(("path", "data", "status", "code"), RAW_BODIES)
def test_malformed_bodies(shop, path, data, status, code):
    response = call(shop, "POST", path, data=data, headers={"Content-Type": "application/json"})
    assert_error(response, status, code)


WRONG_TYPES = [
    (f"/api/orders/{PAID}/cancel", {"reason": 123}),
    (f"/api/orders/{SHIPPED}/urge", {"note": ["a"]}),
    (f"/api/orders/{SHIPPED}/after-sales", {"type": "swap", "reason": "x"}),
    (f"/api/orders/{SHIPPED}/after-sales", {"type": "resend"}),
    (f"/api/orders/{SHIPPED}/after-sales", {"type": "resend", "reason": "x", "items": "P2001"}),
    (f"/api/orders/{SHIPPED}/after-sales", {"type": "resend", "reason": "x",
                                            "photos": ["ftp://x/1.jpg"]}),
    (f"/api/orders/{SHIPPED}/after-sales", {"type": 1, "reason": "x"}),
    (f"/api/orders/{SHIPPED}/invoices", {"type": "normal", "title": {}, "email": "a@b.cn"}),
    ("/api/customers/C0001/coupons", {"amount": {"v": 1}, "reason": "x"}),
    ("/api/customers/C0001/coupons", {"amount": 99999, "reason": "x"}),
    (f"/api/orders/{PAID}/address", {}),
    (f"/api/orders/{PAID}/address", {"name": "x" * 500, "phone": "13812345678", "province": "a",
                                     "city": "b", "district": "c", "detail": "d"}),
]


@pytest.mark.parametrize(("path", "body"), WRONG_TYPES)
def test_invalid_fields_are_422(shop, path, body):
    assert_error(call(shop, "POST", path, body), 422)


BAD_PATHS = [
    ("GET", "/api/orders/abc", 422, "invalid_order_id"),
    ("GET", "/api/orders/3612045877123400019", 422, "invalid_order_id"),
    ("GET", "/api/orders/36120458771234000a", 422, "invalid_order_id"),
    ("GET", "/api/orders/999999999999999999", 404, "order_not_found"),
    ("GET", "/api/orders/abc/tracking", 422, "invalid_order_id"),
    ("GET", "/api/orders/361204587712349999/tracking", 404, "order_not_found"),
    ("GET", "/api/orders/361204587712349999/refund", 404, "order_not_found"),
    ("GET", "/api/orders/361204587712349999/after-sales", 404, "order_not_found"),
    ("GET", "/api/orders/361204587712349999/invoices", 404, "order_not_found"),
    ("POST", "/api/orders/361204587712349999/cancel", 404, "order_not_found"),
    ("POST", "/api/orders/361204587712349999/urge", 404, "order_not_found"),
    ("POST", "/api/orders/12/urge", 422, "invalid_order_id"),
    ("GET", "/api/customers/NOPE", 404, "customer_not_found"),
    ("GET", "/api/products/%E4%B8%AD", 404, "product_not_found"),
    ("GET", "/api/nope", 404, "not_found"),
    ("GET", "/nope", 404, "not_found"),
    ("DELETE", f"/api/orders/{SHIPPED}", 405, "method_not_allowed"),
    ("PUT", f"/api/orders/{SHIPPED}/cancel", 405, "method_not_allowed"),
]


@pytest.mark.parametrize(("method", "path", "status", "code"), BAD_PATHS)
def test_bad_paths(shop, method, path, status, code):
    assert_error(call(shop, method, path), status, code)


def test_huge_body_is_413(shop):
    body = b'{"note": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    response = call(shop, "POST", f"/api/orders/{SHIPPED}/urge", data=body,
                    headers={"Content-Type": "application/json"})
    assert_error(response, 413, "payload_too_large")
    # The server is still fine afterwards.
    assert call(shop, "GET", "/health").json() == {"status": "ok"}


def test_errors_do_not_change_state(shop):
    assert call(shop, "GET", f"/api/orders/{PAID}").json()["status"] == "paid"


def test_unexpected_errors_are_json_500_without_details():
    """The catch-all handler (cannot be provoked over HTTP without breaking the server)."""
    response = JsonErrorHandler().default(None, RuntimeError("secret detail"))
    assert response.status == 500
    body = json.loads(response.body)
    assert body == {"error": {"code": "internal_error", "message": "服务器内部错误，请稍后重试"}}


def test_blank_means_what_the_openapi_pattern_says():
    """Every non-blank pattern in the OpenAPI file is the one `v.trim` agrees with: a value
    matches it exactly when something is left after trimming (per character, whole BMP)."""
    import re
    from pathlib import Path

    import yaml

    from shop import validation as v

    text = (Path(__file__).resolve().parents[2] / "shop" / "openapi.yaml").read_text("utf-8")
    patterns: set[str] = set()

    def collect(node: object) -> None:
        if isinstance(node, dict):
            patterns.update(value for key, value in node.items()
                            if key == "pattern" and "\\s" in value)
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(yaml.safe_load(text))
    assert patterns == {r"[^\s\x1c-\x1f\x85\ufeff]"}
    [pattern] = patterns
    compiled = re.compile(pattern)
    for code in range(0x10000):
        char = chr(code)
        assert bool(compiled.search(char)) == bool(v.trim(char)), hex(code)
