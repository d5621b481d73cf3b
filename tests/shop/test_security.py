"""Issue 13, the shop's side: each finding replayed against a real shop process, as the
assistant (SHOP_API_KEY) or a stranger would call it.

Finding 1: order endpoints need the shop's own ownership proof. Finding 3: failed proofs are
counted per order and per client in the database, locked with back-off, across new client ids
and restarts. Finding 10: hostile numbers, ids and bodies are 4xx. Finding 11: an API key by
default, no full phone anywhere, capped coupons.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from shop_api_helpers import (
    DELIVERED,
    PAID,
    SHIPPED,
    UNPAID,
    ZHAO_JACKET,
    assert_error,
)

ROOT = Path(__file__).resolve().parents[2]
ASSISTANT = {"X-Api-Key": os.environ["SHOP_API_KEY"]}
ADMIN = {"X-Api-Key": os.environ["SHOP_ADMIN_KEY"]}
WANG_TAIL = "5678"  # 王伟 owns SHIPPED, PAID, DELIVERED, UNPAID
FULL_PHONE = re.compile(r"(?<![\d*])1[3-9]\d{9}(?!\d)")


def as_assistant(base: str, method: str, path: str, body=None, proof=None,
                 headers=None) -> requests.Response:
    sent = {**ASSISTANT, **({"X-Order-Proof": proof} if proof else {}), **(headers or {})}
    return requests.request(method, base + path, json=body, headers=sent, timeout=10)


def prove(base: str, order_id: str, tail: str = WANG_TAIL, client: str = "conv-1"):
    return as_assistant(base, "POST", f"/api/orders/{order_id}/verify",
                        {"phone_tail": tail, "client": client})


@pytest.fixture(scope="module")
def shop(shop_factory):
    """A shop with short lockouts so back-off can be watched in seconds."""
    return shop_factory(env={"SHOP_VERIFY_LOCK_SECONDS": "2"})


# ---------------------------------------------------------------- finding 1


ORDER_CALLS = [
    ("GET", "/api/orders/{id}", None),
    ("GET", "/api/orders/{id}/tracking", None),
    ("GET", "/api/orders/{id}/refund", None),
    ("GET", "/api/orders/{id}/after-sales", None),
    ("GET", "/api/orders/{id}/invoices", None),
    ("POST", "/api/orders/{id}/cancel", {"reason": "不想要了"}),
    ("POST", "/api/orders/{id}/urge", {"note": "快点"}),
    ("POST", "/api/orders/{id}/address", {"name": "黑客", "province": "浙江省", "city": "杭州市",
                                          "district": "西湖区", "detail": "文三路1号",
                                          "phone": "13900000000"}),
    ("POST", "/api/orders/{id}/after-sales", {"kind": "return", "reason_code": "quality"}),
    ("POST", "/api/orders/{id}/invoices", {"type": "normal", "title": "王伟",
                                           "email": "a@b.cn"}),
]


@pytest.mark.parametrize("method,path,body", ORDER_CALLS)
def test_order_endpoints_refuse_callers_without_a_valid_proof(shop, method, path, body):
    url = path.format(id=UNPAID)
    other, _ = prove(shop.url, SHIPPED).json()["proof"], None
    forged = f"op1.{UNPAID}.{int(time.time()) + 3600}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    expired = other.replace(f"op1.{SHIPPED}.", f"op1.{UNPAID}.")  # re-labelled: MAC breaks
    for proof, code in ((None, "proof_required"), ("not-a-proof", "proof_invalid"),
                        (forged, "proof_invalid"), (other, "proof_invalid"),
                        (expired, "proof_invalid"), (UNPAID, "proof_invalid")):
        response = as_assistant(shop.url, method, url, body, proof=proof)
        assert_error(response, 403, code)
        assert "王伟" not in response.text and "文一西路" not in response.text
    # Nothing changed: the unpaid order is still unpaid, its address still the old one.
    order = requests.get(f"{shop.url}/api/orders/{UNPAID}", headers=ADMIN, timeout=10).json()
    assert order["status"] == "unpaid" and order["address"]["name"] == "王伟"


def test_a_proof_opens_its_own_order_only_and_expires(shop_factory):
    shop = shop_factory(env={"SHOP_PROOF_TTL_SECONDS": "2"})
    reply = prove(shop.url, PAID).json()
    assert reply["verified"] is True and reply["proof"].startswith(f"op1.{PAID}.")
    assert as_assistant(shop.url, "GET", f"/api/orders/{PAID}", proof=reply["proof"]).ok
    assert_error(as_assistant(shop.url, "GET", f"/api/orders/{DELIVERED}",
                              proof=reply["proof"]), 403, "proof_invalid")
    time.sleep(3)
    assert_error(as_assistant(shop.url, "GET", f"/api/orders/{PAID}", proof=reply["proof"]),
                 403, "proof_expired")


def test_proofs_survive_a_restart_and_unknown_orders_are_not_revealed(shop_factory, tmp_path):
    db_url = f"sqlite:///{tmp_path / 'restart.sqlite'}"
    first = shop_factory(db_url=db_url)
    proof = prove(first.url, SHIPPED).json()["proof"]
    first.stop()
    second = shop_factory(db_url=db_url)  # the proof secret is kept in the shop's database
    assert as_assistant(second.url, "GET", f"/api/orders/{SHIPPED}/tracking", proof=proof).ok
    # Without a proof, an unknown order looks exactly like a known one.
    assert_error(as_assistant(second.url, "GET", "/api/orders/361204587712349999"), 403,
                 "proof_required")


def test_linked_customer_proof_needs_the_signed_identity_when_configured(shop_factory):
    from channels.identity import sign_identity

    shop = shop_factory(env={"SHOP_IDENTITY_SECRET": "site-secret"})
    path = f"/api/orders/{SHIPPED}/verify"
    bare = as_assistant(shop.url, "POST", path, {"customer_id": "C0001"})
    assert_error(bare, 403, "identity_invalid")
    forged = sign_identity({"customer_id": "C0001"}, "another-secret")
    assert_error(as_assistant(shop.url, "POST", path, {"customer_id": "C0001",
                                                       "identity": forged}), 403,
                 "identity_invalid")
    token = sign_identity({"customer_id": "C0001"}, "site-secret")
    good = as_assistant(shop.url, "POST", path, {"customer_id": "C0001", "identity": token})
    assert good.json()["verified"] is True and good.json()["method"] == "customer"
    # 王伟's token does not prove 李娜's order.
    other = as_assistant(shop.url, "POST", "/api/orders/361204587712340011/verify",
                         {"customer_id": "C0001", "identity": token})
    assert other.json() == {"order_id": "361204587712340011", "verified": False,
                            "method": "customer"}


def test_admin_endpoints_need_the_admin_key(shop):
    for headers in ({}, ASSISTANT, {"X-Api-Key": "guess"}):
        response = requests.post(f"{shop.url}/api/admin/orders/{PAID}/proof", headers=headers,
                                 timeout=10)
        assert_error(response, 401, "unauthorized")
        response = requests.post(f"{shop.url}/api/admin/customers/C0001/export",
                                 headers=headers, timeout=10)
        assert_error(response, 401, "unauthorized")
    assert_error(as_assistant(shop.url, "POST", "/api/invoices/1/issue"), 403, "admin_only")


# ---------------------------------------------------------------- finding 3


def test_phone_tail_guessing_locks_the_order_across_clients_and_restarts(shop_factory,
                                                                        tmp_path):
    db_url = f"sqlite:///{tmp_path / 'lock.sqlite'}"
    shop = shop_factory(db_url=db_url)  # default rules: 5 failures per order, 15 minutes
    answers = [prove(shop.url, DELIVERED, f"{guess:04d}", client=f"sender-{guess}")
               for guess in range(4)]
    assert [a.json()["attempts_left"] for a in answers] == [4, 3, 2, 1]
    locking = prove(shop.url, DELIVERED, "0004", client="sender-4")
    error = assert_error(locking, 429, "verification_locked")
    assert 890 <= error["retry_after"] <= 900 and "15分钟" in error["message"]
    # Even the right tail, from yet another sender id, is refused while locked ...
    assert_error(prove(shop.url, DELIVERED, WANG_TAIL, client="fresh-sender"), 429)
    shop.stop()
    # ... and after a restart: the count lives in the shop's database.
    again = shop_factory(db_url=db_url)
    assert_error(prove(again.url, DELIVERED, WANG_TAIL, client="fresh-sender"), 429,
                 "verification_locked")
    # Other orders are not affected.
    assert prove(again.url, PAID, WANG_TAIL, client="fresh-sender").json()["verified"] is True


def test_lockouts_back_off_and_a_client_is_limited_across_orders(shop):
    order = ZHAO_JACKET  # 赵磊's; nobody else guesses it in this module
    for guess in range(5):
        prove(shop.url, order, f"{guess:04d}", client=f"c{guess}")
    first = assert_error(prove(shop.url, order, "0000", client="x"), 429)
    assert first["retry_after"] <= 2
    time.sleep(2.2)
    for guess in range(4):
        assert prove(shop.url, order, f"{guess:04d}", client=f"d{guess}").status_code == 200
    second = assert_error(prove(shop.url, order, "0009", client="d9"), 429)
    assert 3 <= second["retry_after"] <= 4  # doubled
    # One conversation spreading guesses over many orders is stopped after 10 failures.
    client = "spray-conversation"
    orders = [f"3612045877123400{n:02d}" for n in (1, 2, 3, 4, 11, 12, 13, 14, 22, 23, 2)]
    statuses = [prove(shop.url, order_id, "0000", client=client).status_code
                for order_id in orders]
    assert statuses[:9] == [200] * 9 and statuses[9:] == [429, 429]
    assert_error(prove(shop.url, PAID, WANG_TAIL, client=client), 429)


def test_verify_is_throttled(shop_factory):
    """The probe sent 300 guesses in 2.9 s; now the sixth is refused."""
    shop = shop_factory()
    statuses = [prove(shop.url, SHIPPED, f"{n:04d}", client=f"s{n}").status_code
                for n in range(1000, 1030)]
    assert statuses[:4] == [200] * 4 and set(statuses[4:]) == {429}


# ---------------------------------------------------------------- finding 11


def test_the_shop_refuses_to_start_without_an_api_key(tmp_path):
    env = {"PYTHONPATH": str(ROOT), "PATH": os.environ["PATH"]}
    command = [sys.executable, "-m", "shop", "--port", "1",
               "--db-url", f"sqlite:///{tmp_path / 'nokey.sqlite'}"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2 and "SHOP_API_KEY is not set" in result.stderr
    same = subprocess.run(command, cwd=ROOT, env={**env, "SHOP_API_KEY": "k",
                                                  "SHOP_ADMIN_KEY": "k"},
                          capture_output=True, text=True, timeout=60)
    assert same.returncode == 2 and "must differ" in same.stderr


def test_demo_mode_runs_without_a_key_but_warns_and_still_wants_proofs(shop_factory):
    shop = shop_factory(env={"SHOP_API_KEY": "", "SHOP_ADMIN_KEY": "", "DEMO_MODE": "1"})
    assert requests.get(f"{shop.url}/api/products/P1001", timeout=10).ok
    assert_error(requests.get(f"{shop.url}/api/orders/{SHIPPED}", timeout=10), 403,
                 "proof_required")
    shop.stop()
    assert "DEMO_MODE=1 without SHOP_API_KEY" in shop.log()


def test_no_endpoint_returns_a_full_phone(shop):
    proof = prove(shop.url, PAID).json()["proof"]
    pages = [as_assistant(shop.url, "GET", path).text for path in (
        "/api/customers/by-channel/demo-wang", "/api/customers/C0001",
        "/api/customers/by-phone/13812345678", "/api/customers/C0001/orders")]
    pages += [as_assistant(shop.url, "GET", f"/api/orders/{PAID}", proof=proof).text,
              requests.get(f"{shop.url}/api/orders/{PAID}", headers=ADMIN, timeout=10).text]
    for page in pages:
        assert "138****5678" in page and not FULL_PHONE.search(page), page[:300]


def test_coupons_are_capped(shop):
    path = "/api/customers/C0002/coupons"
    too_big = as_assistant(shop.url, "POST", path, {"amount": 500, "reason": "test"})
    assert_error(too_big, 422, "coupon_amount_too_high")
    for _ in range(2):
        assert as_assistant(shop.url, "POST", path, {"amount": 50, "reason": "test"}).ok
    over = as_assistant(shop.url, "POST", path, {"amount": 1, "reason": "test"})
    assert_error(over, 409, "coupon_limit_reached")
    # A coupon for an order needs that order's proof.
    for_order = {"amount": 5, "reason": "delay", "order_id": "361204587712340011"}
    assert_error(as_assistant(shop.url, "POST", "/api/customers/C0003/coupons", for_order),
                 403, "proof_required")
    # The back office is not capped by the assistant's limits.
    admin = requests.post(shop.url + path, json={"amount": 200, "reason": "补偿"},
                          headers=ADMIN, timeout=10)
    assert admin.status_code == 201


# ---------------------------------------------------------------- finding 10


@pytest.mark.parametrize("path,body,code", [
    ("/api/customers/C0001/coupons", {"amount": 5, "threshold": 1e300, "reason": "x"},
     "invalid_value"),
    ("/api/customers/C0001/coupons", {"amount": 1e300, "reason": "x"}, "invalid_value"),
    ("/api/customers/C0001/coupons", {"amount": -1e300, "reason": "x"}, "invalid_value"),
    ("/api/customers/C0001/coupons", {"amount": "5", "reason": "x"}, "invalid_type"),
    ("/api/promotions/quote", {"amount": 1e300}, "invalid_value"),
    ("/api/orders/361204587712340001/verify", {"phone_tail": 10**30}, "invalid_phone_tail"),
    ("/api/after-sales/1/evidence", {"evidence": [10**30]}, "invalid_value"),
])
def test_extreme_numbers_are_422(shop, path, body, code):
    response = requests.post(shop.url + path, data=json.dumps(body), headers={
        **ADMIN, "Content-Type": "application/json"}, timeout=10)
    assert_error(response, 422, code)


@pytest.mark.parametrize("path", ["/api/after-sales/{n}", "/api/uploads/{n}/meta",
                                  "/api/uploads/{n}"])
def test_ids_too_big_for_the_database_are_404(shop, path):
    for n in (2**63, 10**30, 2**63 - 1):
        response = requests.get(shop.url + path.format(n=n), headers=ADMIN, timeout=10)
        assert_error(response, 404)
    for path_, body in ((f"/api/after-sales/{10**30}/ship", {}),
                        (f"/api/invoices/{10**30}/issue", None)):
        assert_error(requests.post(shop.url + path_, json=body, headers=ADMIN, timeout=10), 404)
    assert_error(requests.patch(f"{shop.url}/api/todos/{10**30}", json={"status": "done"},
                                headers=ADMIN, timeout=10), 404)


@pytest.mark.parametrize("raw", ["[1, 2]", "\"text\"", "42", "null", "true"])
def test_bodies_that_are_not_objects_are_400(shop, raw):
    for path in (f"/api/orders/{PAID}/verify", "/api/customers/C0001/coupons", "/api/todos"):
        response = requests.post(shop.url + path, data=raw, headers={
            **ADMIN, "Content-Type": "application/json"}, timeout=10)
        assert_error(response, 400, "invalid_body")


def test_parallel_guesses_get_no_5xx_and_are_all_counted(shop_factory):
    from concurrent.futures import ThreadPoolExecutor

    shop = shop_factory()
    order = "361204587712340013"
    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(
            lambda n: prove(shop.url, order, f"{n:04d}", client=f"parallel-{n}").status_code,
            range(20)))
    assert set(statuses) <= {200, 429} and statuses.count(200) <= 4, statuses
    assert_error(prove(shop.url, order, "5678", client="late"), 429, "verification_locked")
