"""The customer withdraws an after-sale (「算了不退了」): the record closed with its to-dos,
the order delivered again, with the order's proof; not once the goods are on their way back,
nor a finished after-sale (real shop process)."""

from __future__ import annotations

import os

import pytest
import requests
from shop_api_helpers import DELIVERED, ZHAO_JACKET, assert_error, get, post

ASSISTANT = {"X-Api-Key": os.environ["SHOP_API_KEY"]}


@pytest.fixture()
def shop(shop_factory) -> str:
    return shop_factory().url


def as_assistant(base: str, path: str, body=None, proof=None) -> requests.Response:
    headers = {**ASSISTANT, **({"X-Order-Proof": proof} if proof else {})}
    return requests.post(base + path, json=body, headers=headers, timeout=10)


def proof_of(shop: str, order_id: str, tail: str) -> str:
    return as_assistant(shop, f"/api/orders/{order_id}/verify",
                        {"phone_tail": tail, "client": "conv-withdraw"}).json()["proof"]


def test_a_return_withdrawn_delivers_the_order_again(shop):
    # 王伟's air fryer order, delivered (demo data): a return, then 「算了不退了」.
    record = post(shop, f"/api/orders/{DELIVERED}/after-sales",
                  {"kind": "return", "reason_code": "no_reason_7d"}, status=201)
    assert get(shop, f"/api/orders/{DELIVERED}")["status"] == "return_requested"
    path = f"/api/after-sales/{record['id']}/withdraw"
    assert_error(as_assistant(shop, path), 403)  # the order's proof, as for every order
    proof = proof_of(shop, DELIVERED, "5678")
    done = as_assistant(shop, path, proof=proof)
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["status"], body["status_text"], body["duplicate"]) == ("closed", "已关闭", False)
    assert get(shop, f"/api/orders/{DELIVERED}")["status"] == "delivered"
    refund = get(shop, f"/api/orders/{DELIVERED}/refund")
    assert refund["status"] != "processing", refund  # nothing to refund any more
    again = as_assistant(shop, path, proof=proof).json()
    assert again["duplicate"] is True and again["status"] == "closed"
    # A new return of the same goods may be filed again.
    post(shop, f"/api/orders/{DELIVERED}/after-sales",
         {"kind": "return", "reason_code": "no_reason_7d"}, status=201)


def test_not_once_the_goods_are_sent_back_nor_when_finished(shop):
    record = post(shop, f"/api/orders/{ZHAO_JACKET}/after-sales",
                  {"kind": "exchange", "item": "20000毫安充电宝", "reason_code": "wrong_item"},
                  status=201)
    proof = proof_of(shop, ZHAO_JACKET, "9966")
    sent = as_assistant(shop, f"/api/after-sales/{record['id']}/return-parcel",
                        {"courier": "圆通", "tracking_no": "YT9876543210123"}, proof)
    assert sent.status_code == 200, sent.text
    assert_error(as_assistant(shop, f"/api/after-sales/{record['id']}/withdraw", proof=proof),
                 409, "return_parcel_sent")
    # A resend whose parcel is out is finished: nothing to withdraw.
    resend = post(shop, f"/api/orders/{ZHAO_JACKET}/after-sales",
                  {"kind": "resend", "item": "男士轻薄羽绒服", "reason_code": "missing_item"},
                  status=201)
    post(shop, f"/api/after-sales/{resend['id']}/ship", {"courier": "中通"})
    assert_error(as_assistant(shop, f"/api/after-sales/{resend['id']}/withdraw", proof=proof),
                 409, "not_withdrawable")
    assert_error(as_assistant(shop, "/api/after-sales/99999/withdraw", proof=proof), 404,
                 "after_sale_not_found")
