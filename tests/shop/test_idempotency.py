"""Idempotency-Key on the demo shop's POSTs: a repeat gets the first answer, nothing new."""

from __future__ import annotations

import os
import uuid

import pytest
import requests
from shop_api_helpers import DELIVERED

ASSISTANT = {"X-Api-Key": os.environ["SHOP_API_KEY"]}
ADMIN = {"X-Api-Key": os.environ["SHOP_ADMIN_KEY"]}
COUPONS = "/api/customers/C0005/coupons"


@pytest.fixture(scope="module")
def shop(shop_factory) -> str:
    return shop_factory().url


def post(shop: str, path: str, body: dict, key: str = "", caller: dict = ASSISTANT
         ) -> requests.Response:
    headers = {**caller, **({"Idempotency-Key": key} if key else {})}
    return requests.post(shop + path, json=body, headers=headers, timeout=10)


def coupons(shop: str, reason: str) -> list:
    reply = requests.get(shop + COUPONS, headers=ADMIN, timeout=10)
    return [c for c in reply.json()["coupons"] if c["reason"] == reason]


def test_a_repeated_coupon_post_returns_the_first_coupon(shop) -> None:
    key, reason = uuid.uuid4().hex, f"delay {uuid.uuid4().hex[:6]}"
    body = {"amount": 5, "reason": reason}
    first = post(shop, COUPONS, body, key)
    again = post(shop, COUPONS, body, key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert len(coupons(shop, reason)) == 1
    # Without a key every POST is a new coupon, as before.
    post(shop, COUPONS, body)
    assert len(coupons(shop, reason)) == 2


def test_keys_are_per_caller(shop) -> None:
    key, reason = uuid.uuid4().hex, f"per caller {uuid.uuid4().hex[:6]}"
    body = {"amount": 5, "reason": reason}
    assert post(shop, COUPONS, body, key).status_code == 201
    assert post(shop, COUPONS, body, key, caller=ADMIN).status_code == 201
    assert len(coupons(shop, reason)) == 2


def test_a_retried_after_sale_is_not_refused_as_a_duplicate(shop) -> None:
    key = uuid.uuid4().hex
    path = f"/api/orders/{DELIVERED}/after-sales"
    body = {"kind": "return", "reason_code": "quality", "items": ["P5001"]}
    first = post(shop, path, body, key, caller=ADMIN)
    assert first.status_code == 201
    # The retry of a request whose answer was lost: the same record, not 409 "exists".
    again = post(shop, path, body, key, caller=ADMIN)
    assert (again.status_code, again.json()["id"]) == (201, first.json()["id"])
    listed = requests.get(shop + path, headers=ADMIN, timeout=10).json()["after_sales"]
    assert [record["id"] for record in listed] == [first.json()["id"]]
    # A new request (no key, or another key) is checked as before.
    assert post(shop, path, body, caller=ADMIN).status_code == 409


def test_a_key_reused_for_another_body_is_refused(shop) -> None:
    key = uuid.uuid4().hex
    assert post(shop, COUPONS, {"amount": 5, "reason": "a"}, key).status_code == 201
    reused = post(shop, COUPONS, {"amount": 6, "reason": "b"}, key)
    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "idempotency_key_reused"


def test_refusals_are_remembered_too_and_bad_keys_are_422(shop) -> None:
    key = uuid.uuid4().hex
    body = {"amount": 500, "reason": "too much"}
    first = post(shop, COUPONS, body, key)
    assert first.status_code == 422
    again = post(shop, COUPONS, body, key)
    assert (again.status_code, again.json()) == (422, first.json())
    bad = post(shop, COUPONS, body, "bad key with spaces")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_idempotency_key"


def test_unauthorized_requests_are_not_remembered(shop) -> None:
    key = uuid.uuid4().hex
    body = {"amount": 5, "reason": f"unauth {key[:6]}"}
    assert post(shop, COUPONS, body, key, caller={"X-Api-Key": "wrong"}).status_code == 401
    assert post(shop, COUPONS, body, key).status_code == 201
