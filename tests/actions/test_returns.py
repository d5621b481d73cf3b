"""The customer's parcel back (actions/returns.py) against a demo shop of its own: 李娜's
blender (RETURNING) is being returned; the waybill is asked for, recorded, then received."""

from __future__ import annotations

import json
import os
import urllib.request

import pytest
from action_helpers import make_tracker, run_directly, texts, with_backend

from actions.forms import ValidateOrderForm
from actions.handoff import order_snapshots
from actions.orders import ActionOrderTask
from actions.returns import ActionReturnParcel, waybill_in

RETURNING = "361204587712340013"  # 李娜's blender, return in progress, refund 599
SHIPPED = "361204587712340001"  # 王伟's earphones, no after-sale
CANCELLED = "361204587712340014"  # 李娜's, cancelled
ZHAO_JACKET = "361204587712340021"  # 赵磊's jacket and power bank, delivered 2 days ago


@pytest.fixture(scope="module")
def shop(shop_factory) -> str:
    return shop_factory().url


@pytest.fixture
def run(shop, monkeypatch):
    monkeypatch.setenv("SHOP_API_URL", shop)

    def go(action, tracker):
        messages, events = run_directly(action, tracker)
        return messages, events

    return go


def asked(order_id: str, *texts_said: str, task: str = "track", after_ask: bool = False,
          intent: str = "inform"):
    """A verified order and the customer's messages (oldest first); `after_ask`: this action
    answered the message before the latest."""
    tracker = make_tracker({"order_id": order_id, "verified_order_id": order_id,
                            "order_task": task},
                           latest_message={"text": texts_said[-1], "entities": [],
                                           "intent": {"name": intent}})
    events = []
    for number, text in enumerate(texts_said):
        if after_ask and number == len(texts_said) - 1:
            events.append({"event": "action", "name": "action_return_parcel"})
            events.append({"event": "action", "name": "action_listen"})
        events.append({"event": "user", "text": text})
    tracker.events[:] = events
    return tracker


def followups(events) -> list:
    return [event["name"] for event in events if event.get("event") == "followup"]


def admin_post(shop: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(shop + path, data=json.dumps(body or {}).encode(),
                                     method="POST", headers={
        "X-Api-Key": os.environ["SHOP_ADMIN_KEY"], "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as reply:
        return json.loads(reply.read())


def test_a_waybill_is_read_from_the_message():
    assert waybill_in("中通 75312345678901") == ("中通", "75312345678901")
    assert waybill_in("单号是sf1234567890123") == ("顺丰", "SF1234567890123")
    assert waybill_in("寄回了 YT1234567890123 圆通") == ("圆通", "YT1234567890123")
    # An order number, a mobile number, a phone tail are no waybill.
    for text in ("361204587712340013", "手机13812345678", "尾号8888", "寄回去了"):
        assert waybill_in(text) is None, text


def test_the_parcel_back_is_asked_for_recorded_and_received(run, shop):
    # The order task hands a question about the parcel back to action_return_parcel
    # (not the shop's delivery of the blender, signed for long ago).
    _, events = run(ActionOrderTask(), asked(RETURNING, "退货寄回去了 你们收到没"))
    assert followups(events) == ["action_return_parcel"]
    messages, _ = run(ActionReturnParcel(), asked(RETURNING, "退货寄回去了 你们收到没"))
    said = texts(messages)
    assert "还没有登记寄回包裹的快递单号" in said and "AS" in said, said
    # Read as a return request, on the order whose return is filed: the same answer.
    _, events = run(ActionOrderTask(), asked(RETURNING, "我要退货 已经寄回去了", task="return"))
    assert followups(events) == ["action_return_parcel"]
    # 「好的 我晚点发」 after the ask: no second request in a row.
    messages, _ = run(ActionReturnParcel(), asked(RETURNING, "退货寄回去了 你们收到没",
                                                  "好的", after_ask=True))
    assert "不着急" in texts(messages)
    messages, _ = run(ActionReturnParcel(), asked(RETURNING, "我想问下退货寄回去没", "还没寄呢",
                                                  intent="deny"))
    assert "不着急" in texts(messages)
    # The waybill the next message gives is recorded with the shop.
    messages, events = run(ActionReturnParcel(), asked(
        RETURNING, "退货寄回去了 你们收到没", "中通 75312345678901", after_ask=True))
    said = texts(messages)
    assert "已为您登记寄回的包裹:中通 75312345678901" in said and "1-3个工作日内" in said, said
    assert any(e.get("name") == "outcome" and e["value"]["reason"] == "return_parcel_noted"
               for e in events)
    # A waybill alone in a tracking request of the order being returned is its parcel back.
    # The waybill given with the question, before the order and its tail.
    messages, _ = run(ActionReturnParcel(), asked(RETURNING, "退货寄出了 单号SF1234567890123",
                                                  RETURNING, "8888"))
    _, events = run(ActionOrderTask(), asked(RETURNING, "SF1234567890123", task="track"))
    assert followups(events) == ["action_return_parcel"]
    assert "已为您登记寄回的包裹:顺丰 SF1234567890123" in texts(messages)
    messages, _ = run(ActionReturnParcel(), asked(RETURNING, "中通 75312345678901"))
    # The number of the shop's own parcel to her is refused, in the shop's words.
    outbound = json.loads(urllib.request.urlopen(urllib.request.Request(
        f"{shop}/api/orders/{RETURNING}/tracking",
        headers={"X-Api-Key": os.environ["SHOP_ADMIN_KEY"]}), timeout=5).read())["tracking_no"]
    messages, _ = run(ActionReturnParcel(), asked(RETURNING, f"退货单号{outbound}"))
    assert "这是我们发给您的包裹的单号" in texts(messages), texts(messages)
    # 「收到了吗」 right after that answer is about the same parcel.
    _, events = run(ActionOrderTask(), asked(RETURNING, "中通 75312345678901", "收到了吗",
                                             task="refund", after_ask=True))
    assert followups(events) == ["action_return_parcel"]
    # Asked again: the waybill recorded, not yet signed for.
    messages, _ = run(ActionReturnParcel(), asked(RETURNING, "我寄回的货你们收到了吗"))
    assert "中通 75312345678901" in texts(messages) and "还没有签收" in texts(messages)
    # A handoff now shows the agent the waybill with the order (actions/handoff.py).
    [order] = with_backend(lambda: order_snapshots(asked(RETURNING, "转人工")))
    [parcel_back] = [a for a in order["after_sales"] if a["type"] == "return"]
    assert (parcel_back["return_courier"], parcel_back["return_tracking_no"]) == (
        "中通", "75312345678901") and "return_received_at" not in parcel_back
    # The warehouse signs: the receipt and the refund due.
    [record] = [r for r in json.loads(urllib.request.urlopen(urllib.request.Request(
        f"{shop}/api/orders/{RETURNING}/after-sales",
        headers={"X-Api-Key": os.environ["SHOP_ADMIN_KEY"]}), timeout=5).read())["after_sales"]
        if r["type"] == "return"]
    admin_post(shop, f"/api/after-sales/{record['id']}/return-received")
    messages, _ = run(ActionReturnParcel(), asked(RETURNING, "我寄回的货你们收到了吗"))
    assert "仓库已于" in texts(messages) and "签收您寄回的包裹" in texts(messages)
    assert "退款¥599" in texts(messages)


def test_an_order_without_a_return_is_told_so_and_other_questions_pass(run):
    messages, _ = run(ActionReturnParcel(), asked(SHIPPED, "我寄回去的东西你们收到没"))
    assert "没有进行中的退货或换货申请" in texts(messages)
    # Other tracking questions after the ask go to the order form as before.
    _, events = run(ActionReturnParcel(), asked(RETURNING, "那我另一单到哪了", after_ask=True,
                                                 intent="track_logistics"))
    assert followups(events) == ["order_form"]
    # The same kind of question first thing (a signed-in customer's one order, being
    # returned, taken by the form): answered here, not sent back to the form, which sends
    # it here again (a loop until Rasa's circuit breaker, then silence: the fifth probe).
    messages, events = run(ActionReturnParcel(), asked(RETURNING, "破壁机的快递到哪了",
                                                       intent="track_logistics"))
    assert followups(events) == [] and "(售后单号AS" in texts(messages)
    _, events = run(ActionOrderTask(), asked(SHIPPED, "快递到哪了"))
    assert followups(events) == []


def test_the_parcel_back_in_other_words_and_requests(run, shop):
    # 「退的那个料理机到了没啊」 speaks of it; a tracking request of an order being returned is
    # about it too (its own delivery is long over: 「快递单号我不是给过了吗」).
    for text, task in (("退的那个料理机到了没啊", "status"), ("快递单号我不是给过了吗", "track")):
        _, events = run(ActionOrderTask(), asked(RETURNING, text, task=task))
        assert followups(events) == ["action_return_parcel"], text
    # A signed-in customer's waybill where the order was asked for: her order being returned.
    tracker = make_tracker({"customer_id": "C0002", "order_task": "track"}, sender="demo-li",
                           set_now={"order_id": "单号中通75312345678901 你查下"},
                           requested_slot="order_id")
    _, events = run(ValidateOrderForm(), tracker)
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert slots["order_id"] == RETURNING and slots["verified_order_id"].startswith("op1.")
    # The parcel back of an exchange: 赵磊's jacket, exchanged for a smaller size.
    exchange = admin_post(shop, f"/api/orders/{ZHAO_JACKET}/after-sales", {
        "kind": "exchange", "item": "羽绒服", "reason_code": "size", "reason": "换小一码"})
    text = "换货的羽绒服我寄回去了 顺丰SF1234567890123"
    _, events = run(ActionOrderTask(), asked(ZHAO_JACKET, text, task="exchange"))
    assert followups(events) == ["action_return_parcel"]
    messages, _ = run(ActionReturnParcel(), asked(ZHAO_JACKET, text, task="exchange"))
    said = texts(messages)
    assert "顺丰 SF1234567890123" in said and exchange["ticket_no"] in said, said
    assert "换新发出" in said, said


def test_a_cancelled_orders_refund_says_it_is_cancelled(run):
    messages, _ = run(ActionOrderTask(), asked(CANCELLED, "取消了吗 钱退了没", task="refund"))
    assert "已取消" in texts(messages) and "退款" in texts(messages), texts(messages)


def test_the_parcel_back_said_on_its_own_after_an_exchange_was_filed(shop_factory,
                                                                     monkeypatch):
    """「已经寄回了」 and 「中通 7531…」 right after 「换货申请已提交」 got 「没太理解」 and
    「这个号码好像不太对」 (the sixth probe): the exchange's parcel back, asked for and
    recorded."""
    from action_helpers import admin_proof

    from actions.backend import get_backend
    from actions.fallback import ActionClarify

    monkeypatch.setenv("SHOP_API_URL", shop_factory().url)  # a fresh exchange
    run = run_directly
    filed = with_backend(lambda: get_backend().create_after_sale(ZHAO_JACKET, {
        "kind": "exchange", "item": "男士轻薄羽绒服", "reason_code": "size",
        "reason": "尺码不合适,换XL", "evidence": [], "conversation_id": "t"},
        admin_proof(ZHAO_JACKET)))
    assert filed["kind"] == "exchange"
    said, events = run(ActionClarify(), asked(ZHAO_JACKET, "已经寄回了", task="exchange"))
    assert "还没有登记寄回包裹的快递单号" in texts(said), texts(said)
    said, _ = run(ActionClarify(), asked(ZHAO_JACKET, "已经寄回了", "中通 75312345678901",
                                         task="exchange"))
    assert "已为您登记寄回的包裹:中通 75312345678901" in texts(said), texts(said)
    # A signed-in customer's waybill where the order is asked for: the order being exchanged.
    zhao = {"identity": {"customer_id": "C0061", "verified": True}}
    signed = make_tracker({"order_task": "track", "customer_id": "C0061"}, sender="demo-zhao",
                          requested_slot="order_id", set_now={"order_id": "中通 75312345678902"},
                          latest_message={"text": "中通 75312345678902", "entities": [],
                                          "intent": {"name": "inform"}, "metadata": zhao})
    _, events = run(ValidateOrderForm(), signed)
    assert {e["name"]: e["value"] for e in events if e.get("event") == "slot"}.get(
        "order_id") == ZHAO_JACKET, events
    # A new session's 「换货进度怎么样了」 (read as an exchange request) is about the open one:
    # her order with it offered, no reason asked, the action on the parcel back answers.
    from actions.orders import ActionAskOrderId

    progress = make_tracker({"order_task": "exchange", "customer_id": "C0061"},
                            sender="demo-zhao", latest_message={
                                "text": "换货进度怎么样了", "entities": [], "metadata": zhao,
                                "intent": {"name": "request_exchange"}})
    progress.events[0]["text"] = "换货进度怎么样了"
    said, _ = run(ActionAskOrderId(), progress)
    assert [b["payload"] for m in said for b in m.get("buttons") or []] == [
        f'/inform{{"order_id":"{ZHAO_JACKET}"}}'], said
    taken = asked(ZHAO_JACKET, "换货进度怎么样了", task="exchange")
    _, events = run(ValidateOrderForm(), taken)
    assert {e["name"]: e["value"] for e in events if e.get("event") == "slot"}.get(
        "requested_slot", "none") is None, events
    _, events = run(ActionOrderTask(), taken)
    assert followups(events) == ["action_return_parcel"], events
    # 「衣服已经寄回去了 中通 7531…」 in a new session, no order in hand: the order form finds
    # her order with the exchange open.
    new_session = make_tracker({"customer_id": "C0061"}, sender="demo-zhao", latest_message={
        "text": "衣服已经寄回去了 中通 75312345678902", "entities": [], "metadata": zhao,
        "intent": {"name": "inform"}})
    new_session.events[0]["text"] = "衣服已经寄回去了 中通 75312345678902"
    _, events = run(ActionClarify(), new_session)
    assert followups(events) == ["order_form"] and {
        "name": "order_task", "value": "return"} in [
        {"name": e.get("name"), "value": e.get("value")} for e in events], events
    new_session.slots["order_task"] = "return"
    said, _ = run(ActionAskOrderId(), new_session)
    assert [b["payload"] for m in said for b in m.get("buttons") or []] == [
        f'/inform{{"order_id":"{ZHAO_JACKET}"}}'], said
    # A guest's too: the order form asks for the order; other words are still not understood.
    guest = make_tracker({}, latest_message={"text": "已经寄回了", "entities": [],
                                             "intent": {"name": "inform"}})
    assert followups(run(ActionClarify(), guest)[1]) == ["order_form"]
    unknown = make_tracker({}, latest_message={"text": "已经好了", "entities": [],
                                               "intent": {"name": "inform"}})
    said, _ = run(ActionClarify(), unknown)
    assert "没太理解" in texts(said), texts(said)
