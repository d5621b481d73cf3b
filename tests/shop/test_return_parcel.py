"""The customer's parcel back to the shop: its waybill recorded with the order's proof, the
warehouse's receipt by the back office, and the refund date that follows (real shop process)."""

from __future__ import annotations

import os

import pytest
import requests
from shop_api_helpers import (
    DELAYED,
    RETURNING,
    assert_error,
    call,
    day_of,
    get,
    post,
    today,
)

ASSISTANT = {"X-Api-Key": os.environ["SHOP_API_KEY"]}
LI_TAIL = "8888"  # 李娜 owns RETURNING


@pytest.fixture(scope="module")
def shop(shop_factory) -> str:
    return shop_factory().url


def as_assistant(base: str, path: str, body=None, proof=None) -> requests.Response:
    headers = {**ASSISTANT, **({"X-Order-Proof": proof} if proof else {})}
    return requests.post(base + path, json=body, headers=headers, timeout=10)


def the_return(shop: str) -> dict:
    [record] = [r for r in get(shop, f"/api/orders/{RETURNING}/after-sales")["after_sales"]
                if r["type"] == "return"]
    return record


def test_waybill_recorded_with_proof_then_received_by_the_warehouse(shop):
    record = the_return(shop)
    assert (record["return_tracking_no"], record["return_received_at"]) == (None, None)
    path = f"/api/after-sales/{record['id']}/return-parcel"
    # The assistant needs the order's proof; the back office ends the receipt.
    assert_error(as_assistant(shop, path, {"tracking_no": "YT1234567890123"}), 403)
    proof = as_assistant(shop, f"/api/orders/{RETURNING}/verify",
                         {"phone_tail": LI_TAIL, "client": "conv-return"}).json()["proof"]
    sent = as_assistant(shop, path, {"courier": "圆通", "tracking_no": "YT1234567890123"}, proof)
    assert sent.status_code == 200, sent.text
    body = sent.json()
    assert (body["return_courier"], body["return_tracking_no"], body["duplicate"]) == (
        "圆通", "YT1234567890123", False)
    assert day_of(body["return_sent_at"]) == today() and body["return_received_at"] is None
    again = as_assistant(shop, path, {"tracking_no": "YT1234567890123"}, proof).json()
    assert again["duplicate"] is True and again["return_courier"] == "圆通"
    # The number of the shop's own parcel to the customer is not the parcel back.
    outbound = get(shop, f"/api/orders/{RETURNING}/tracking")["tracking_no"]
    assert_error(as_assistant(shop, path, {"tracking_no": outbound}, proof), 422,
                 "outbound_tracking_no")
    # A typo corrected before the warehouse signs replaces the number.
    fixed = as_assistant(shop, path, {"courier": "中通", "tracking_no": "75300000000001"},
                         proof).json()
    assert (fixed["return_courier"], fixed["return_tracking_no"], fixed["duplicate"]) == (
        "中通", "75300000000001", False)

    received_path = f"/api/after-sales/{record['id']}/return-received"
    assert_error(as_assistant(shop, received_path, {}, proof), 403, "admin_only")
    received = post(shop, received_path, {})
    assert received["duplicate"] is False and day_of(received["return_received_at"]) == today()
    assert (day_of(received["expected_refund_date"]) - today()).days == 3
    assert post(shop, received_path, {})["duplicate"] is True
    refund = get(shop, f"/api/orders/{RETURNING}/refund")
    assert refund["expected_date"] == received["expected_refund_date"]
    assert_error(call(shop, "POST", path, {"tracking_no": "75300000000002"}), 409,
                 "already_received")


def test_waybill_refusals_are_clear(shop):
    path = f"/api/after-sales/{the_return(shop)['id']}/return-parcel"
    assert_error(call(shop, "POST", path, {}), 422, "missing_field")
    assert_error(call(shop, "POST", path, {"tracking_no": "7-1"}), 422, "invalid_tracking_no")
    assert_error(call(shop, "POST", path, {"tracking_no": "75300000000003", "courier": "火箭"}),
                 422, "invalid_value")
    assert_error(call(shop, "POST", "/api/after-sales/999999/return-parcel",
                      {"tracking_no": "75300000000003"}), 404, "after_sale_not_found")
    resend = post(shop, f"/api/orders/{DELAYED}/after-sales",
                  {"kind": "resend", "reason_code": "not_received"}, status=201)
    for step, body in (("return-parcel", {"tracking_no": "75300000000003"}),
                       ("return-received", {})):
        assert_error(call(shop, "POST", f"/api/after-sales/{resend['id']}/{step}", body), 409,
                     "not_returnable")
