"""「算了不退了」: an after-sale filed earlier withdrawn, after a yes, in a shop of its own
(李娜's blender return AS00000002 on order …0013 is the demo's open return)."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

import pytest
import yaml
from action_helpers import make_tracker, run_directly, texts

from actions.forms import ValidateOrderForm
from actions.orders import ActionAskConfirmed, ActionAskOrderId, ActionOrderTask
from actions.withdrawal import WITHDRAW

RETURNING = "361204587712340013"
DELIVERED = "361204587712340003"  # 王伟's air fryer
DELAYED = "361204587712340011"  # 李娜's parcel, shipped
ZHAO_JACKET = "361204587712340021"  # 赵磊's jacket and power bank, delivered
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def shop(shop_factory, monkeypatch) -> str:
    url = shop_factory().url
    monkeypatch.setenv("SHOP_API_URL", url)
    return url


def admin(shop: str, path: str) -> dict:
    request = urllib.request.Request(f"{shop}{path}",
                                     headers={"X-Api-Key": os.environ["SHOP_ADMIN_KEY"]})
    with urllib.request.urlopen(request, timeout=5) as reply:
        return json.loads(reply.read())


def slots_set(action, tracker) -> dict:
    _, events = run_directly(action, tracker)
    return {event["name"]: event["value"] for event in events if event.get("event") == "slot"}


def said_by(text: str, slots: dict, sender: str = "demo-li", **kwargs):
    tracker = make_tracker(slots, sender=sender, latest_message={
        "intent": {"name": "cancel_order", "confidence": 1.0}, "entities": [], "text": text},
        **kwargs)
    tracker.events[0]["text"] = text
    return tracker


def test_the_nlu_cue_and_the_action_read_the_same_words():
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    [cue] = [entry["cue"] for entry in config["pipeline"] if entry.get("intent") == "cancel_order"]
    assert cue == WITHDRAW.pattern.replace("(?:", "(")
    for text in ("算了不退了", "取消退货", "退货申请撤销", "换货不换了", "帮我撤销一下售后申请"):
        assert WITHDRAW.search(text), text
    for text in ("能不退吗", "不退不换吗", "取消订单", "七天无理由能退吗"):
        assert not WITHDRAW.search(text), text


def test_a_return_withdrawn_after_the_yes(shop):
    # The form: a cancellation read from 「算了不退了」 becomes the return's withdrawal.
    proven = {"order_id": RETURNING, "verified_order_id": RETURNING, "order_task": "cancel"}
    slots = slots_set(ValidateOrderForm(), said_by("算了不退了", proven,
                                                   requested_slot="phone_tail"))
    assert slots["order_task"] == "withdraw" and slots["requested_slot"] == "confirmed"
    asked, _ = run_directly(ActionAskConfirmed(), said_by("算了不退了", {
        **proven, "order_task": "withdraw"}))
    assert f"确认撤销订单{RETURNING}的退货退款申请(售后单号AS00000002)吗" in texts(asked)
    # 「再想想」: kept, nothing changed in the shop.
    kept, _ = run_directly(ActionOrderTask(), said_by("再想想", {
        **proven, "order_task": "withdraw", "confirmed": False}))
    assert "没有撤销,我们会继续为您处理" in texts(kept)
    assert admin(shop, f"/api/orders/{RETURNING}")["status"] == "return_requested"
    # 「先别撤销吧」「你确定没撤销吧」「先别取消退货」: no (the sixth probe: they withdrew it).
    for text in ("先别撤销吧", "你确定没撤销吧", "先别取消退货"):
        tracker = said_by(text, {**proven, "order_task": "withdraw"}, requested_slot="confirmed")
        assert slots_set(ValidateOrderForm(), tracker).get("confirmed") is not True, text
        assert not WITHDRAW.search(text), text
    # 「对 不退了」 to the question (read as a cancellation again) is a yes in its own words.
    tracker = said_by("对 不退了", proven, requested_slot="confirmed")
    tracker.events.insert(0, {"event": "slot", "name": "order_task", "value": "withdraw"})
    slots = slots_set(ValidateOrderForm(), tracker)
    assert slots["confirmed"] is True and slots["order_task"] == "withdraw", slots
    done, _ = run_directly(ActionOrderTask(), said_by("对 不退了", {
        **proven, "order_task": "withdraw", "confirmed": True}))
    assert "已为您撤销退货退款申请(售后单号AS00000002)" in texts(done), texts(done)
    assert admin(shop, f"/api/orders/{RETURNING}")["status"] == "delivered"
    # Nothing open any more: said so, no question.
    again, _ = run_directly(ActionOrderTask(), said_by("取消退货", {
        **proven, "order_task": "withdraw", "confirmed": True}))
    assert "目前没有可以撤销的售后申请" in texts(again)


def test_no_after_sale_filed_keeps_the_question_being_answered(shop):
    # 「算了不退了」 while the bot asked whether to file a return: that return, not filed,
    # whether the words read as a cancellation or as the return's no.
    for task, intent in (("cancel", "cancel_order"), ("return", "deny")):
        tracker = said_by("算了不退了", {"order_id": DELIVERED, "verified_order_id": DELIVERED,
                                        "order_task": task}, requested_slot="confirmed")
        tracker.latest_message["intent"] = {"name": intent, "confidence": 0.9}
        tracker.events.insert(0, {"event": "slot", "name": "order_task", "value": "return"})
        tracker.events.insert(1, {"event": "user", "text": "空气炸锅不想要了 能退吗"})
        slots = slots_set(ValidateOrderForm(), tracker)
        assert slots.get("order_task", task) == "return" and slots["confirmed"] is False, task


def test_an_after_sale_being_filed_is_not_filed_and_no_other_withdrawn(shop):
    # 「算了 不退了」 while the photo of a new return is asked for, on an order with an open
    # after-sale (李娜's blender): this return is not filed; the other one is not touched.
    tracker = said_by("哎算了 不退了", {"order_id": RETURNING, "verified_order_id": RETURNING,
                                       "order_task": "cancel"}, requested_slot="evidence")
    tracker.events.insert(0, {"event": "slot", "name": "order_task", "value": "return"})
    slots = slots_set(ValidateOrderForm(), tracker)
    assert slots["order_task"] == "return" and slots["confirmed"] is False, slots
    assert slots["requested_slot"] is None  # the form ends; the task says 「先不提交申请」


def test_nothing_open_to_withdraw_is_said_so(shop):
    # 「取消退货」 about 李娜's parcel still on its way: no after-sale to withdraw, not
    # 「订单已经发货,没法直接取消了」.
    slots = {"order_id": DELAYED, "verified_order_id": DELAYED, "order_task": "cancel"}
    assert slots_set(ValidateOrderForm(), said_by("取消退货", slots,
                                                  requested_slot="phone_tail"))[
        "order_task"] == "withdraw"
    said, _ = run_directly(ActionOrderTask(), said_by("取消退货", {**slots,
                                                                "order_task": "withdraw"}))
    assert f"订单{DELAYED}目前没有可以撤销的售后申请" in texts(said), texts(said)


def test_a_newer_request_is_no_withdrawal():
    from actions.withdrawal import asks_to_withdraw

    tracker = said_by("那我现在又想退了咋办", {})
    tracker.latest_message["intent"] = {"name": "request_return"}
    tracker.events = [{"event": "user", "text": "算了不退了"},
                      {"event": "user", "text": "那我现在又想退了咋办",
                       "parse_data": {"intent": {"name": "request_return"}}}]
    assert not asks_to_withdraw(tracker)
    tracker.events[-1] = {"event": "user", "text": RETURNING,
                          "parse_data": {"intent": {"name": "inform"}}}
    assert asks_to_withdraw(tracker)  # the order number after the words


def test_a_signed_in_customers_open_exchange_is_the_order_offered(shop):
    # 赵磊's exchange leaves its order delivered: found by its after-sales, not its state
    # (the sixth probe offered all three orders, the rice cooker first).
    body = json.dumps({"kind": "exchange", "item": "20000毫安充电宝",
                       "reason_code": "wrong_item"}).encode()
    request = urllib.request.Request(f"{shop}/api/orders/{ZHAO_JACKET}/after-sales", body,
                                     {"Content-Type": "application/json",
                                      "X-Api-Key": os.environ["SHOP_ADMIN_KEY"]}, method="POST")
    urllib.request.urlopen(request, timeout=5).close()
    tracker = said_by("换货不换了", {"customer_id": "C0061", "order_task": "cancel"},
                      sender="demo-zhao", requested_slot="order_id")
    messages, _ = run_directly(ActionAskOrderId(), tracker)
    payloads = [button["payload"] for message in messages for button in
                message.get("buttons") or []]
    assert payloads and ZHAO_JACKET in payloads[0] and len(payloads) == 1, payloads


def test_a_signed_in_customer_is_offered_the_order_being_returned(shop):
    messages, _ = run_directly(ActionAskOrderId(), said_by("算了不退了", {
        "customer_id": "C0002", "order_task": "cancel"}, requested_slot="order_id"))
    payloads = [button["payload"] for message in messages for button in
                message.get("buttons") or []]
    assert payloads and RETURNING in payloads[0], payloads
