"""Issue 13, finding 1 (the backend part) and finding 3 (the bot's side), replayed with crafted
trackers against a real shop: a `verified_order_id` the shop did not issue opens nothing, and
the shop's lockout ends in a handoff."""

from __future__ import annotations

import json
import os
import time
import urllib.request

import pytest
from action_helpers import make_tracker, run_directly, texts, with_backend

from actions.forms import LOCKED_ATTEMPTS, ValidateOrderForm
from actions.handoff import order_snapshots
from actions.orders import ActionOrderTask
from channels.identity import sign_identity

UNPAID = "361204587712340004"  # 王伟's, cancellable
PAID = "361204587712340002"  # 王伟's, address still changeable
SHIPPED = "361204587712340001"
LI_ORDER = "361204587712340011"  # 李娜's


def admin_get(shop: str, path: str) -> dict:
    request = urllib.request.Request(shop + path,
                                     headers={"X-Api-Key": os.environ["SHOP_ADMIN_KEY"]})
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.loads(reply.read())


# Named: the proof's expiry depends on the clock, and parallel workers must collect the
# same test ids.
CRAFTED = [
    pytest.param(UNPAID, id="bare-order-id"),  # the probe's attack: the slot set to the id
    pytest.param(f"op1.{UNPAID}.{int(time.time()) + 3600}.{'A' * 43}", id="made-up-signature"),
    pytest.param(f"op1.{UNPAID}.99999999999.forged", id="forged"),
]


@pytest.fixture(scope="module")
def own_shop(shop_factory) -> str:
    return shop_factory().url  # a shop of its own: an accepted attack would change orders


@pytest.fixture
def shop(own_shop, monkeypatch) -> str:
    monkeypatch.setenv("SHOP_API_URL", own_shop)
    return own_shop


@pytest.mark.parametrize("slot_value", CRAFTED)
@pytest.mark.parametrize("task", ["cancel", "address", "track", "status", "refund", "urge"])
def test_a_crafted_verified_order_id_gets_nothing(shop, slot_value, task):
    slots = {"order_id": UNPAID, "order_task": task, "confirmed": True,
             "new_address": json.dumps({"name": "黑客", "phone": "13900000000",
                                        "province": "浙江省", "city": "杭州市",
                                        "district": "西湖区", "detail": "文三路1号"})}
    tracker = make_tracker(slots, sender="attacker")
    # make_tracker turns a bare order id into a real proof: put the crafted value back.
    tracker.slots["verified_order_id"] = slot_value
    messages, events = run_directly(ActionOrderTask(), tracker)
    said = texts(messages)
    assert "王伟" not in said and "¥" not in said and "已取消" not in said
    assert "地址已修改" not in said
    order = admin_get(shop, f"/api/orders/{UNPAID}")
    assert order["status"] == "unpaid" and order["address"]["name"] == "王伟"
    assert admin_get(shop, f"/api/followups?order_id={UNPAID}")["count"] == 0


@pytest.mark.parametrize("slot_value", CRAFTED)
def test_a_crafted_proof_files_no_price_protection(shop, slot_value):
    fallen = "361204587712340022"  # 赵磊's rice cooker: bought above today's price
    tracker = make_tracker({"order_id": fallen, "order_task": "price"}, sender="attacker")
    tracker.slots["verified_order_id"] = slot_value.replace(UNPAID, fallen)
    messages, _ = run_directly(ActionOrderTask(), tracker)
    assert "¥" not in texts(messages) and "价保" not in texts(messages)
    assert admin_get(shop, f"/api/orders/{fallen}/after-sales")["after_sales"] == []


def test_a_crafted_slot_puts_no_order_into_a_handoff_packet(shop):
    tracker = make_tracker({"order_id": LI_ORDER}, sender="attacker")
    for value in (param.values[0] for param in CRAFTED[:2]):
        tracker.slots["verified_order_id"] = value.replace(UNPAID, LI_ORDER)
        assert with_backend(lambda: order_snapshots(tracker)) == []


def test_a_real_proof_still_works(shop):
    tracker = make_tracker({"order_id": SHIPPED, "order_task": "track",
                            "verified_order_id": SHIPPED})  # a proof the shop minted
    messages, _ = run_directly(ActionOrderTask(), tracker)
    assert "顺丰" in texts(messages)


def test_repeating_the_order_number_resets_nothing_and_the_lockout_hands_over(shop_factory,
                                                                              monkeypatch):
    shop = shop_factory().url  # default rules: 5 wrong tails per order lock it
    monkeypatch.setenv("SHOP_API_URL", shop)
    said = []
    for attempt in range(5):
        # The probe's trick: the order number again in the same message as the guess.
        tracker = make_tracker({"order_id": PAID, "failed_attempts": 0.0},
                               sender=f"sender-{attempt}",  # and a new sender id each time
                               set_now={"order_id": PAID, "phone_tail": f"{attempt:04d}"},
                               requested_slot="phone_tail")
        messages, events = run_directly(ValidateOrderForm(), tracker)
        said.append(texts(messages))
        slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
        assert not str(slots.get("verified_order_id") or "").startswith("op1.")
    assert "锁定" in said[-1] and "转人工" in said[-1]
    assert slots["failed_attempts"] == LOCKED_ATTEMPTS and slots["requested_slot"] is None
    # The right tail from yet another sender is refused while the order is locked.
    tracker = make_tracker({"order_id": PAID}, sender="sender-new",
                           set_now={"phone_tail": "5678"}, requested_slot="phone_tail")
    messages, events = run_directly(ValidateOrderForm(), tracker)
    assert "锁定" in texts(messages)
    # The task action then hands the conversation over instead of answering.
    messages, events = run_directly(ActionOrderTask(), make_tracker(
        {"order_id": PAID, "failed_attempts": LOCKED_ATTEMPTS}, sender="sender-new"))
    assert {"event": "followup", "name": "action_escalate", "timestamp": None} in events


def test_linked_customer_needs_the_signed_identity_when_the_shop_checks_it(shop_factory,
                                                                          monkeypatch):
    shop = shop_factory(env={"SHOP_IDENTITY_SECRET": "site-secret"}).url
    monkeypatch.setenv("SHOP_API_URL", shop)
    # The customer_id slot alone (e.g. set by a crafted tracker): the phone tail is asked.
    tracker = make_tracker({"customer_id": "C0001"}, sender="demo-wang",
                           set_now={"order_id": SHIPPED}, requested_slot="order_id")
    _, events = run_directly(ValidateOrderForm(), tracker)
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert slots["verified_order_id"] is None and slots["requested_slot"] == "phone_tail"
    # With the identity the channel verified (kept in the message metadata): proven.
    tracker = make_tracker({"customer_id": "C0001"}, sender="demo-wang",
                           set_now={"order_id": SHIPPED}, requested_slot="order_id")
    token = sign_identity({"customer_id": "C0001"}, "site-secret")
    tracker.events[0]["metadata"] = {"identity": {"customer_id": "C0001", "verified": True,
                                                  "token": token}}
    _, events = run_directly(ValidateOrderForm(), tracker)
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert slots["verified_order_id"].startswith(f"op1.{SHIPPED}.")
