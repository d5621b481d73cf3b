"""Order actions against the running demo shop."""

import asyncio
import json
import os
import urllib.request

from action_helpers import SLOT_DEFAULTS, admin_proof, make_tracker, run_directly, texts
from rasa_sdk import Tracker

import actions.backend as backend_module
from actions.fallback import ActionClarify
from actions.forms import ValidateOrderForm
from actions.orders import ActionAskOrderId, ActionAskShippingTime, ActionOrderTask
from actions.session import ActionSessionStart

SHIPPED = "361204587712340001"
PAID = "361204587712340002"
DELIVERED = "361204587712340003"
UNPAID = "361204587712340004"
DELAYED = "361204587712340011"
RETURNING = "361204587712340013"
ZHAO_RECENT = "361204587712340021"  # jacket and power bank, delivered 2 days ago
ZHAO_OLD = "361204587712340023"  # delivered 21 days ago; its snack box was resent


def verified(order_id, **slots):
    return make_tracker({"order_id": order_id, "verified_order_id": order_id, **slots})


def admin_post(shop, path, body):
    """A POST of the shop's back office (the admin key)."""
    request = urllib.request.Request(f"{shop}{path}", json.dumps(body).encode(),
                                     {"Content-Type": "application/json",
                                      "X-Api-Key": os.environ["SHOP_ADMIN_KEY"]},
                                     method="POST")
    with urllib.request.urlopen(request) as reply:
        return json.loads(reply.read())


def get_json(url):
    request = urllib.request.Request(url, headers={"X-Api-Key": os.environ["SHOP_ADMIN_KEY"]})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def test_unverified_order_is_never_revealed(run_action):
    messages, slots = run_action(ActionOrderTask(), make_tracker(
        {"order_id": SHIPPED, "order_task": "track"}))
    assert "保护订单隐私" in texts(messages)
    assert "顺丰" not in texts(messages)
    assert slots["order_id"] is None


def test_track_in_transit_gives_location_event_and_eta(run_action, actions_shop):
    messages, _ = run_action(ActionOrderTask(), verified(SHIPPED, order_task="track"))
    text = texts(messages)
    tracking = get_json(f"{actions_shop}/api/orders/{SHIPPED}/tracking")
    assert "顺丰" in text and tracking["tracking_no"] in text
    assert tracking["current_location"] in text
    assert tracking["latest_event"]["description"] in text
    assert "预计明天" in text


def named_orders(tracker, *order_ids, since_task=False):
    """The customer's message named these order numbers (NLU entities)."""
    message = {"event": "user", "text": " ".join(order_ids), "parse_data": {
        "entities": [{"entity": "order_id", "value": order_id} for order_id in order_ids]}}
    earlier = [{"event": "action", "name": "action_order_task"}] if since_task else []
    tracker.events[:0] = [message, *earlier]
    return tracker


def test_the_other_orders_named_are_offered_with_the_same_task(run_action):
    """「0001和0002都到哪了」: the form took 0002 (Rasa keeps an entity slot's last value)."""
    messages, _ = run_action(ActionOrderTask(), named_orders(
        verified(PAID, order_task="track"), SHIPPED, PAID))
    offer = messages[-1]
    assert offer["utter_action"] == "utter_other_orders_offer"
    assert "尾号0001" in offer["text"]
    assert [button["payload"] for button in offer["buttons"]] == \
        [f'/track_logistics{{"order_id":"{SHIPPED}"}}']


def test_no_offer_for_the_order_acted_on_or_an_earlier_task(run_action):
    for tracker in (named_orders(verified(PAID, order_task="status"), PAID),
                    named_orders(verified(PAID, order_task="status"), SHIPPED, since_task=True),
                    named_orders(verified(PAID, order_task="address"), SHIPPED)):
        messages, _ = run_action(ActionOrderTask(), tracker)
        assert "utter_other_orders_offer" not in [m.get("utter_action") for m in messages]


def test_where_the_order_is_sent_is_shown_not_asked_to_change(run_action):
    """「这单寄到哪个地址了」 reads as change_address (a probe, 2026-12-07: it got 「系统里改不了
    地址了」)."""
    def asked_where(order_id):
        tracker = verified(order_id, order_task="address")
        tracker.events.insert(0, {"event": "user", "text": "这单寄到哪个地址了"})
        return texts(run_action(ActionOrderTask(), tracker)[0])

    said = asked_where(PAID)
    assert "这单寄往:" in said and "138****5678" in said and "改地址" in said, said
    said = asked_where(SHIPPED)
    assert "这单寄往:" in said and "改不了" not in said and "跟我说「改地址」" not in said, said


def test_where_it_is_sent_needs_no_new_address(run_action):
    tracker = make_tracker({"customer_id": "C0001", "order_task": "address"}, sender="demo-wang",
                           set_now={"order_id": PAID}, requested_slot="order_id")
    tracker.events.insert(0, {"event": "user", "text": "我那个键盘的单子 寄到哪个地址了"})
    _, slots = run_action(ValidateOrderForm(), tracker)
    assert slots.get("requested_slot") is None  # no 「请发送新的收货信息」


def test_track_delayed_parcel_apologises_and_offers_urge(run_action):
    messages, _ = run_action(ActionOrderTask(), verified(DELAYED, order_task="track"))
    text = texts(messages)
    assert "中通" in text and "晚了" in text and "催一下" in text


def test_an_upset_customers_late_parcel_is_urged_not_offered(shop_factory, monkeypatch,
                                                              tmp_path):
    from actions import playbook

    monkeypatch.setenv("SHOP_API_URL", shop_factory().url)  # this urges and gives a coupon
    monkeypatch.setenv("ACTIONS_DB_URL", f"sqlite:///{tmp_path / 'actions.sqlite'}")
    playbook.ledger.cache_clear()

    def angry_track():
        tracker = make_tracker({"order_id": DELAYED, "verified_order_id": DELAYED,
                                "order_task": "track"}, sender="demo-li")
        tracker.events.insert(0, {"event": "user", "text": "快递到底怎么回事!!!都好几天了",
                                  "parse_data": {"emotion": {"label": "angry",
                                                             "intensity": 0.9}}})
        return texts(run_directly(ActionOrderTask(), tracker)[0])

    said = angry_track()
    assert "已联系中通加急派送" in said and "催一下" not in said, said
    assert "优惠券" in said and "我们也在催快递加急" in said  # the playbook's words are true
    assert "已经在加急处理中了" in angry_track()  # the shop has the urge: not filed twice
    playbook.ledger.cache_clear()


def test_the_couriers_phone_is_where_to_find_it_not_the_tracking_again(run_action):
    tracker = verified(SHIPPED, order_task="track")
    tracker.latest_message["text"] = "快递员电话多少"
    said = texts(run_action(ActionOrderTask(), tracker)[0])
    assert "派送短信或顺丰App" in said and "拨打顺丰客服95338" in said, said
    assert "转运中心" not in said, said


def test_a_question_about_the_resend_gets_the_resend_parcel(run_action):
    # 赵磊's snack box was missing and resent (中通); his order itself arrived long ago.
    asked = make_tracker({"order_id": ZHAO_OLD, "verified_order_id": ZHAO_OLD,
                          "order_task": "track"}, sender="demo-zhao")
    asked.events[0]["text"] = "补发的单号多少"
    text = texts(run_action(ActionOrderTask(), asked)[0])
    assert "补发的包裹" in text and "中通 73150284719305" in text and "韵达" not in text, text
    # Not asked about: the order's own parcel, signed for.
    plain = make_tracker({"order_id": ZHAO_OLD, "verified_order_id": ZHAO_OLD,
                          "order_task": "track"}, sender="demo-zhao")
    plain.events[0]["text"] = "到哪了"
    text = texts(run_action(ActionOrderTask(), plain)[0])
    assert "韵达" in text and "已签收" in text and "补发" not in text, text


def test_an_exchanges_new_goods_are_the_parcel_asked_about(shop_factory, monkeypatch):
    # 「多久能收到新的」 after an exchange: the new goods (waiting for the goods back, then
    # their waybill), never the order's own signed-for parcel.
    shop = shop_factory().url
    monkeypatch.setenv("SHOP_API_URL", shop)

    def post(path, body):
        return admin_post(shop, path, body)

    exchange = post(f"/api/orders/{ZHAO_RECENT}/after-sales",
                    {"kind": "exchange", "item": "20000毫安充电宝", "reason_code": "wrong_item"})

    def ask(text):
        tracker = make_tracker({"order_id": ZHAO_RECENT, "verified_order_id": ZHAO_RECENT,
                                "order_task": "track"}, sender="demo-zhao")
        tracker.events[0]["text"] = text
        return texts(run_directly(ActionOrderTask(), tracker)[0])

    said = ask("多久能收到新的")
    assert f"换货已登记(售后单号{exchange['ticket_no']})" in said and "寄回的商品后" in said, said
    # Read as a shipping-time question, the same answer.
    tracker = make_tracker({"order_id": ZHAO_RECENT, "verified_order_id": ZHAO_RECENT},
                           sender="demo-zhao", loop=None, latest_message={
                               "intent": {"name": "ask_shipping_time"}, "entities": [],
                               "text": "多久能收到新的"})
    tracker.events[0]["text"] = "多久能收到新的"
    said = texts(run_directly(ActionAskShippingTime(), tracker)[0])
    assert "寄回的商品后" in said and "已签收" not in said, said
    post(f"/api/after-sales/{exchange['id']}/return-received", {})
    said = ask("换的货发了吗")
    assert "换货已登记" in said and "仓库正在安排发货" in said, said
    post(f"/api/after-sales/{exchange['id']}/ship",
         {"courier": "顺丰", "tracking_no": "SF1400000001"})
    said = ask("多久能收到新的")
    assert "换货的包裹" in said and "顺丰 SF1400000001" in said, said
    assert "已签收" not in ask("多久能收到新的")


def test_an_open_resend_is_the_parcel_still_to_come(shop_factory, monkeypatch):
    monkeypatch.setenv("SHOP_API_URL", shop_factory().url)  # this files a resend

    async def file_resend():
        backend_module._backend = None
        try:
            return await backend_module.get_backend().create_after_sale(ZHAO_RECENT, {
                "kind": "resend", "item": "20000毫安充电宝", "reason_code": "missing_item"},
                admin_proof(ZHAO_RECENT))
        finally:
            await backend_module.get_backend().close()
            backend_module._backend = None
    filed = asyncio.run(file_resend())
    tracker = make_tracker({"order_id": ZHAO_RECENT, "verified_order_id": ZHAO_RECENT,
                            "order_task": "track"}, sender="demo-zhao")
    tracker.events[0]["text"] = "东西到哪了"
    messages, _ = run_directly(ActionOrderTask(), tracker)
    text = texts(messages)
    assert f"补发已登记(售后单号{filed['ticket_no']})" in text and "发出后会有单号" in text, text
    # 「少了一件」 again, read as a status question: that resend, not a second one.
    tracker = make_tracker({"order_id": ZHAO_RECENT, "verified_order_id": ZHAO_RECENT,
                            "order_task": "status"}, sender="demo-zhao")
    tracker.events[0]["text"] = "收到了但是少了一件"
    messages, _ = run_directly(ActionOrderTask(), tracker)
    assert f"补发已登记(售后单号{filed['ticket_no']})" in texts(messages), texts(messages)
    tracker = make_tracker({"customer_id": "C0061", "order_task": "status"}, sender="demo-zhao",
                           set_now={"order_id": ZHAO_RECENT}, requested_slot="order_id")
    tracker.events[0]["text"] = "收到了但是少了一件"
    _, events = run_directly(ValidateOrderForm(), tracker)
    assert not any(event.get("name") == "order_task" for event in events)


def test_when_the_money_arrives_is_the_refund_not_the_parcel(run_action):
    # 「多久到账」 right after a refund or 价保 about the order in hand (李娜's refunded order).
    tracker = make_tracker({"order_id": "361204587712340012",
                            "verified_order_id": "361204587712340012"}, loop=None,
                           latest_message={"intent": {"name": "ask_shipping_time"},
                                           "entities": [], "text": "多久到账"})
    said = texts(run_action(ActionAskShippingTime(), tracker)[0])
    assert "退款" in said and "原路退回" in said and "发货" not in said, said


def test_track_not_shipped_gives_ship_promise(run_action):
    messages, _ = run_action(ActionOrderTask(), verified(PAID, order_task="track"))
    assert "等待仓库发货" in texts(messages) and "前发出" in texts(messages)


def test_status_of_each_state(run_action):
    expectations = {UNPAID: "还没有付款", PAID: "等待仓库发货", SHIPPED: "已发货",
                    DELIVERED: "签收", RETURNING: "退款"}
    for order_id, phrase in expectations.items():
        messages, _ = run_action(ActionOrderTask(), verified(order_id, order_task="status"))
        assert phrase in texts(messages), (order_id, texts(messages))
        assert order_id in texts(messages)


def test_urge_creates_one_followup(run_action, actions_shop):
    messages, _ = run_action(ActionOrderTask(), verified(PAID, order_task="urge"))
    assert "已帮您催促仓库优先发货" in texts(messages)
    messages, _ = run_action(ActionOrderTask(), verified(PAID, order_task="urge"))
    assert "已经在加急处理中" in texts(messages)
    followups = get_json(f"{actions_shop}/api/followups?order_id={PAID}")
    items = followups["followups"] if isinstance(followups, dict) else followups
    assert len([f for f in items if f["type"] == "urge"]) == 1


def test_urging_a_parcel_on_time_says_when_it_comes_without_an_apology(shop_factory,
                                                                       monkeypatch):
    """「能不能快点 急用」 of a parcel due tomorrow got 「给您添麻烦了🙏」 (the sixth probe)."""
    monkeypatch.setenv("SHOP_API_URL", shop_factory().url)  # this files an urge
    said = texts(run_directly(ActionOrderTask(), verified(SHIPPED, order_task="urge"))[0])
    assert "包裹在正常运输中,预计" in said and "已请顺丰尽快派送" in said, said
    assert "添麻烦" not in said, said


def test_not_shipped_yet_of_a_parcel_on_its_way_gets_where_it_is(run_action):
    """「怎么还没发货」 of a shipped order (the fourth probe): its tracking, no urge."""
    tracker = make_tracker({"order_id": SHIPPED, "verified_order_id": SHIPPED,
                            "order_task": "urge"},
                           latest_message={"text": "怎么还没发货", "entities": [],
                                           "intent": {"name": "urge_delivery"}})
    said = texts(run_action(ActionOrderTask(), tracker)[0])
    assert "顺丰" in said and "已发货" in said and "加急" not in said, said


def unpaid_order_of_a_generated_customer(actions_shop):
    # The showcase orders stay untouched so other tests can rely on them.
    for number in range(3, 60):
        orders = get_json(f"{actions_shop}/api/customers/C{number:04d}/orders?status=unpaid")
        orders = orders["orders"] if isinstance(orders, dict) else orders
        if orders:
            return orders[0]["id"]
    raise AssertionError("the seed has no unpaid order of a generated customer")


def test_cancel_needs_confirmation_and_is_refused_after_shipment(run_action, actions_shop):
    unpaid = unpaid_order_of_a_generated_customer(actions_shop)
    cancel = {"order_task": "cancel"}
    messages, _ = run_action(ActionOrderTask(), verified(unpaid, **cancel, confirmed=False))
    assert "没有取消" in texts(messages)
    assert get_json(f"{actions_shop}/api/orders/{unpaid}")["status"] == "unpaid"
    messages, _ = run_action(ActionOrderTask(), verified(SHIPPED, **cancel, confirmed=True))
    assert "拒收" in texts(messages)
    assert get_json(f"{actions_shop}/api/orders/{SHIPPED}")["status"] == "shipped"
    messages, slots = run_action(ActionOrderTask(), verified(unpaid, **cancel, confirmed=True))
    assert "已取消" in texts(messages) and slots["confirmed"] is None
    assert get_json(f"{actions_shop}/api/orders/{unpaid}")["status"] == "cancelled"


def test_address_change_before_and_after_shipment(run_action, actions_shop):
    address = {"name": "王伟", "phone": "13812345678", "province": "浙江省", "city": "杭州市",
               "district": "滨江区", "detail": "江南大道3888号"}
    messages, _ = run_action(ActionOrderTask(), verified(
        PAID, order_task="address", confirmed=True, new_address=json.dumps(address)))
    assert "地址已修改成功" in texts(messages)
    assert "13812345678" not in texts(messages)  # masked in the reply
    assert get_json(f"{actions_shop}/api/orders/{PAID}")["address"]["district"] == "滨江区"
    messages, _ = run_action(ActionOrderTask(), verified(SHIPPED, order_task="address"))
    assert "改派" in texts(messages) and "95338" in texts(messages)


def test_refund_progress(run_action):
    messages, _ = run_action(ActionOrderTask(), verified(RETURNING, order_task="refund"))
    assert "退款" in texts(messages) and "原路退回" in texts(messages)
    messages, _ = run_action(ActionOrderTask(), verified(SHIPPED, order_task="refund"))
    assert "没有退款记录" in texts(messages)


def test_backend_down_gives_a_clear_answer(monkeypatch):
    monkeypatch.setenv("SHOP_API_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("SHOP_API_RETRIES", "0")
    # A proof-shaped slot: the shop that would check it is down.
    tracker = make_tracker({"order_id": SHIPPED, "order_task": "track",
                            "verified_order_id": f"op1.{SHIPPED}.9999999999.unchecked"})
    messages, events = run_directly(ActionOrderTask(), tracker)
    assert "暂时有点忙" in texts(messages) and "Traceback" not in texts(messages)
    assert not any(e.get("name") == "order_id" for e in events)  # nothing is forgotten


def test_ask_order_id_lists_linked_customers_orders(run_action):
    messages, _ = run_action(ActionAskOrderId(), make_tracker(sender="demo-wang"))
    buttons = messages[0]["buttons"]
    assert buttons and all(b["payload"].startswith('/inform{"order_id":"36') for b in buttons)
    messages, _ = run_action(ActionAskOrderId(), make_tracker(sender="stranger-1"))
    assert "18位数字" in texts(messages) and not messages[0].get("buttons")


def test_shipping_time_for_linked_customer_and_for_anyone(run_action):
    messages, _ = run_action(ActionAskShippingTime(), make_tracker(sender="demo-wang"))
    assert PAID in texts(messages) and "前发货" in texts(messages)
    messages, _ = run_action(ActionAskShippingTime(), make_tracker(sender="stranger-2"))
    assert "16点前付款当天发货" in texts(messages)
    # The goods named pick the order (the fifth probe got the keyboard's date for the
    # earphones on their way); an order named that neither waits nor travels: no other's.
    def asked(text: str, product: str) -> str:
        return texts(run_action(ActionAskShippingTime(), make_tracker(
            sender="demo-wang", latest_message={
                "intent": {"name": "ask_shipping_time"}, "text": text,
                "entities": [{"entity": "product", "value": product}]}))[0])

    assert SHIPPED in asked("耳机今天能到吗 明天出差了 急死了", "耳机")
    assert PAID in asked("键盘什么时候发货", "键盘")
    assert PAID not in asked("精华液什么时候发货", "精华液")  # unpaid: not the keyboard's date


def test_session_start_links_the_customer(run_action):
    _, slots = run_action(ActionSessionStart(), make_tracker(sender="demo-li"))
    assert {k: slots.get(k) for k in ("customer_id", "customer_name")} == {
        "customer_id": "C0002", "customer_name": "李女士"}
    _, slots = run_action(ActionSessionStart(), make_tracker(sender="nobody"))
    assert slots == {}


def test_a_sender_id_alone_links_nobody(run_action):
    # The demo customer's channel link is "demo-li"; without a verified identity on the
    # message that sender string is just an anonymous visitor (finding 4).
    tracker = Tracker("demo-li", {**SLOT_DEFAULTS, "session_started_metadata": {}},
                      {}, [{"event": "user", "text": "x"}], False, None, {}, "action_listen")
    _, slots = run_action(ActionSessionStart(), tracker)
    assert "customer_id" not in slots
    messages, _ = run_action(ActionAskOrderId(), tracker)
    assert not messages[0].get("buttons")


def test_clarify_offers_the_likely_intents():
    ranking = [{"name": "nlu_fallback", "confidence": 0.45},
               {"name": "track_logistics", "confidence": 0.4},
               {"name": "urge_delivery", "confidence": 0.3}, {"name": "greet", "confidence": 0.2}]
    tracker = make_tracker(latest_message={"intent_ranking": ranking, "text": "快点啊"})
    messages, _ = run_directly(ActionClarify(), tracker)
    payloads = [b["payload"] for b in messages[0]["buttons"]]
    assert payloads == ["/track_logistics", "/urge_delivery", "/out_of_scope"]
    # The titles are domain responses (utter_button_*), filled by the NLG.
    assert [b["title"] for b in messages[0]["buttons"]] == ["查物流", "催发货", "都不是"]


def test_a_number_that_is_no_order_number_is_said_so(run_action):
    ranking = [{"name": "nlu_fallback", "confidence": 0.6}, {"name": "inform", "confidence": 0.1}]
    for text in ("12345", "3612 0458 77"):
        tracker = make_tracker(latest_message={"intent": {"name": "nlu_fallback"},
                                               "intent_ranking": ranking, "text": text})
        messages, _ = run_action(ActionClarify(), tracker)
        assert "18位数字" in texts(messages) and "没太理解" not in texts(messages), text
    tracker = make_tracker(latest_message={"intent": {"name": "nlu_fallback"},
                                           "intent_ranking": ranking, "text": "asdf"})
    assert "没太理解" in texts(run_action(ActionClarify(), tracker)[0])


def test_ask_order_id_uses_the_customer_linked_at_session_start(run_action):
    # The slot from action_session_start serves while the messages stay verified as hers.
    messages, _ = run_action(ActionAskOrderId(), make_tracker(
        {"customer_id": "C0002"}, sender="not-linked-sender", identity="C0002"))
    payloads = " ".join(b["payload"] for b in messages[0]["buttons"])
    assert "361204587712340011" in payloads and "361204587712340001" not in payloads
    # Someone else posting under the same sender id without her identity is anonymous.
    messages, _ = run_action(ActionAskOrderId(), make_tracker(
        {"customer_id": "C0002"}, sender="not-linked-sender"))
    assert not messages[0].get("buttons")


def test_a_returning_customer_hears_about_open_follow_ups(run_action, shop_factory, monkeypatch):
    # A shop of its own: other action tests file after-sales for 赵磊's orders.
    shop = shop_factory().url
    monkeypatch.setenv("SHOP_API_URL", shop)

    def post(path, body):
        return admin_post(shop, path, body)

    # 赵磊 (demo-zhao) has an open photo to-do for his crushed rice cooker (demo data).
    messages, slots = run_action(ActionSessionStart(), make_tracker(sender="demo-zhao"))
    said = texts(messages)
    # One welcome, composed from domain responses (utter_welcome_back and its lines).
    # No product offer beside them: he is likely back about his rice cooker.
    assert said == ("赵先生您好,欢迎回来~\n"
                    "还在跟进中的事项:需记录破损图片（电饭煲外箱压坏，内胆有凹痕）(订单361204587712340022)")
    assert any(todo["kind"] == "damage_photo" for todo in slots["todos"])
    # A resend shipped since: its tracking number is news on the next visit.
    resend = post("/api/orders/361204587712340021/after-sales",
                  {"kind": "resend", "item": "20000毫安充电宝", "reason_code": "missing_item",
                   "conversation_id": "demo-zhao"})
    post(f"/api/after-sales/{resend['id']}/ship", {"courier": "中通", "tracking_no": "73100000001"})
    messages, _ = run_action(ActionSessionStart(), make_tracker(sender="demo-zhao"))
    assert texts(messages).split("\n")[1] == (
        "您的补发单号已处理:补发单号 中通 73100000001(订单361204587712340021)")
    # 李女士 has nothing open; she hears about the item she looked at last (demo data).
    messages, slots = run_action(ActionSessionStart(), make_tracker(sender="demo-li"))
    assert texts(messages) == ("李女士您好,欢迎回来~\n"
                               "您上次看的「蓝牙耳机Pro」还有货哦,需要的话可以直接问我~")
    assert "todos" not in slots
    # An anonymous visitor gets no welcome at session start (the greeting answers them).
    messages, _ = run_action(ActionSessionStart(), make_tracker(sender="someone-new"))
    assert messages == []


def test_signed_for_but_not_received_gets_where_to_look_and_a_human_to_check(run_action):
    for task in ("track", "status"):
        tracker = verified(DELIVERED, order_task=task)
        tracker.events.insert(0, {"event": "user", "text": "快递显示签收了但是我没收到"})
        messages, _ = run_action(ActionOrderTask(), tracker)
        assert "签收" in texts(messages) and "快递柜" in texts(messages), (task, texts(messages))
        buttons = [button for message in messages for button in message.get("buttons") or []]
        assert {"title": "转人工核实", "payload": "/request_human"} in buttons
    # A delivered order asked about plainly gets the plain answer.
    messages, _ = run_action(ActionOrderTask(), verified(DELIVERED, order_task="status"))
    assert "签收" in texts(messages) and "快递柜" not in texts(messages)
    tracker = verified(DELIVERED, order_task="track")
    tracker.events.insert(0, {"event": "user", "text": "不是我签的"})
    assert "快递柜" in texts(run_action(ActionOrderTask(), tracker)[0])


def test_an_item_short_in_the_parcel_is_not_a_parcel_never_received(run_action):
    # The parcel came; an item of it did not (the order form takes it as the missing item's
    # after-sale): no 「显示签收了却没收到」 with the courier's signing to check.
    for task in ("track", "status"):
        for said in ("收到了但是少了一件", "只收到一个 另一个没收到",
                     "快递显示签收了 但是少了一件 充电器没收到", "包裹里少了个配件"):
            tracker = verified(DELIVERED, order_task=task)
            tracker.events.insert(0, {"event": "user", "text": said})
            messages, _ = run_action(ActionOrderTask(), tracker)
            assert "签收" in texts(messages) and "快递柜" not in texts(messages), (task, said)


def test_the_new_address_to_confirm_shows_the_phone_masked() -> None:
    """A guest's 「李华 13912345678 北京市朝阳区建国路88号」 came back in full in 「确认把订单…改为…
    吗?」 (the fifth probe): the street stays readable, the phone is masked."""
    from actions.orders import ActionAskConfirmed
    from actions.text import parse_address

    address = parse_address("李华 13912345678 北京市朝阳区建国路88号")
    tracker = make_tracker({"order_task": "address", "order_id": "361204587712340002",
                            "new_address": json.dumps(address, ensure_ascii=False)},
                           requested_slot="confirmed")
    said = texts(run_directly(ActionAskConfirmed(), tracker)[0])
    assert "139****5678" in said and "13912345678" not in said, said
    assert "北京市朝阳区建国路88号" in said


def test_money_back_for_an_order_not_sent_is_its_cancellation(run_action) -> None:
    """「算了 不要了 退款」 about the keyboard not sent yet got 「不需要退换哦;…跟我说「取消订单」」
    (the fifth probe): the cancellation, to confirm."""
    tracker = make_tracker({"order_task": "return", "order_id": PAID, "verified_order_id": PAID},
                           sender="demo-wang", requested_slot="phone_tail",
                           latest_message={"intent": {"name": "request_refund"}, "entities": [],
                                           "text": "算了 不要了 退款"})
    said, slots = run_action(ValidateOrderForm(), tracker)
    assert "直接取消订单就能原路退款" in texts(said)
    assert slots["order_task"] == "cancel" and slots["requested_slot"] == "confirmed"
    # A return of goods delivered stays a return.
    _, slots = run_action(ValidateOrderForm(), make_tracker(
        {"order_task": "return", "order_id": DELIVERED, "verified_order_id": DELIVERED},
        sender="demo-wang", requested_slot="phone_tail"))
    assert slots.get("order_task", "return") == "return"
