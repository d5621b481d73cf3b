"""validate_order_form against the running demo shop: format, existence, ownership."""

import json

from action_helpers import make_tracker, texts

from actions.forms import ValidateOrderForm
from actions.orders import ActionAskPhoneTail

WANG_ORDER = "361204587712340001"  # shipped, owned by 王伟 (demo-wang, phone tail 5678)
WANG_UNPAID = "361204587712340004"
LI_ORDER = "361204587712340011"  # owned by 李娜 (demo-li)


def test_linked_owner_is_verified_without_phone(run_action):
    tracker = make_tracker({"customer_id": "C0001"}, sender="demo-wang",
                           set_now={"order_id": WANG_ORDER}, requested_slot="order_id")
    messages, slots = run_action(ValidateOrderForm(), tracker)
    assert slots["order_id"] == WANG_ORDER
    assert slots["verified_order_id"].startswith(f"op1.{WANG_ORDER}.")  # the shop's proof
    assert slots.get("requested_slot") is None  # nothing more to ask for a status query


def test_other_customers_order_requires_phone_tail(run_action):
    tracker = make_tracker({"customer_id": "C0001"}, sender="demo-wang",
                           set_now={"order_id": LI_ORDER}, requested_slot="order_id")
    messages, slots = run_action(ValidateOrderForm(), tracker)
    assert slots["verified_order_id"] is None
    assert slots["requested_slot"] == "phone_tail"


def test_order_number_inside_text_is_extracted(run_action):
    tracker = make_tracker(set_now={"order_id": f"订单号是 {WANG_ORDER} 哈"},
                           requested_slot="order_id")
    _, slots = run_action(ValidateOrderForm(), tracker)
    assert slots["order_id"] == WANG_ORDER
    assert slots["requested_slot"] == "phone_tail"


def test_wrong_format_and_unknown_order_are_explained_and_counted(run_action):
    _, slots = run_action(ValidateOrderForm(), make_tracker(
        set_now={"order_id": "12345"}, requested_slot="order_id"))
    assert slots["order_id"] is None and slots["failed_attempts"] == 1.0
    messages, slots = run_action(ValidateOrderForm(), make_tracker(
        {"failed_attempts": 1.0}, set_now={"order_id": "369999999999999999"},
        requested_slot="order_id"))
    assert "没有查到订单号369999999999999999" in texts(messages)
    assert slots["failed_attempts"] == 2.0 and slots["requested_slot"] == "order_id"


def test_a_question_where_the_number_was_asked_is_no_wrong_number(run_action):
    # 「没拆封的呢」 after the return policy and the request for the order (the fifth probe):
    # a failed turn, but no 「格式不对」.
    messages, slots = run_action(ValidateOrderForm(), make_tracker(
        {"order_task": "return"}, set_now={"order_id": "没拆封的呢"}, requested_slot="order_id"))
    assert "格式" not in texts(messages), texts(messages)
    assert slots["order_id"] is None and slots["failed_attempts"] == 1.0
    messages, _ = run_action(ValidateOrderForm(), make_tracker(
        set_now={"order_id": "青禾"}, requested_slot="order_id"))
    assert "订单号格式好像不对" in texts(messages)


def test_third_failure_ends_the_form(run_action):
    _, slots = run_action(ValidateOrderForm(), make_tracker(
        {"failed_attempts": 2.0}, set_now={"order_id": "abc"}, requested_slot="order_id"))
    assert slots["failed_attempts"] == 3.0
    assert slots["requested_slot"] is None


def test_correct_phone_tail_verifies(run_action):
    tracker = make_tracker({"order_id": WANG_ORDER}, set_now={"phone_tail": "尾号5678"},
                           requested_slot="phone_tail")
    _, slots = run_action(ValidateOrderForm(), tracker)
    assert slots["verified_order_id"].startswith(f"op1.{WANG_ORDER}.")
    assert slots["phone_tail"] == "5678"


def test_a_tail_before_any_order_number_waits_for_the_order(run_action):
    # 「快递到哪了」 then 「尾号5678」 (the sixth probe): the tail's entity fills the slot while
    # the order number is asked; there was nothing to check it against (a crash before).
    tracker = make_tracker(set_now={"phone_tail": "5678"}, requested_slot="order_id")
    tracker.latest_message["text"] = "尾号5678"
    messages, slots = run_action(ValidateOrderForm(), tracker)
    assert slots.get("phone_tail") is None and slots["requested_slot"] == "order_id"
    assert "系统" not in texts(messages)


def test_a_signed_in_customers_last_digits_name_her_order(run_action):
    # 「退款到账没」, then 「0012」 when asked which order (the sixth probe: 「格式不对」 and a
    # crash): her order ending 0012, proven as her own; no phone tail checked.
    tracker = make_tracker({"customer_id": "C0002", "order_task": "refund"}, sender="demo-li",
                           set_now={"phone_tail": "0012"}, requested_slot="order_id")
    tracker.latest_message["text"] = "0012"
    messages, slots = run_action(ValidateOrderForm(), tracker)
    assert slots["order_id"] == "361204587712340012", slots
    assert slots["verified_order_id"].startswith("op1.361204587712340012.")
    assert not slots.get("phone_tail") and "格式" not in texts(messages), texts(messages)
    # A guest's 「尾号5678」 there: no 「格式不对」 either.
    tracker = make_tracker(set_now={"order_id": "尾号5678"}, requested_slot="order_id")
    messages, _ = run_action(ValidateOrderForm(), tracker)
    assert "格式" not in texts(messages)


def test_wrong_phone_tail_reveals_nothing(run_action):
    tracker = make_tracker({"order_id": WANG_ORDER}, set_now={"phone_tail": "1111"},
                           requested_slot="phone_tail")
    messages, slots = run_action(ValidateOrderForm(), tracker)
    assert slots["phone_tail"] is None and "verified_order_id" not in slots
    assert "对不上" in texts(messages)
    assert "顺丰" not in texts(messages) and "王" not in texts(messages)


def test_tail_given_for_another_order_is_rechecked(run_action):
    # The customer proved order A, then asks about order B of someone else.
    tracker = make_tracker({"verified_order_id": WANG_ORDER, "phone_tail": "5678"},
                           set_now={"order_id": LI_ORDER}, requested_slot="order_id")
    _, slots = run_action(ValidateOrderForm(), tracker)
    assert slots["verified_order_id"] is None and slots["phone_tail"] is None
    assert slots["requested_slot"] == "phone_tail"


def test_cancel_asks_for_confirmation_only_when_allowed(run_action):
    base = {"customer_id": "C0001", "order_task": "cancel"}
    _, slots = run_action(ValidateOrderForm(), make_tracker(
        base, sender="demo-wang", set_now={"order_id": WANG_UNPAID}, requested_slot="order_id"))
    assert slots["requested_slot"] == "confirmed"
    _, slots = run_action(ValidateOrderForm(), make_tracker(
        base, sender="demo-wang", set_now={"order_id": WANG_ORDER}, requested_slot="order_id"))
    assert slots.get("requested_slot") is None  # shipped: the task action explains instead


def test_address_change_collects_and_validates_the_new_address(run_action):
    base = {"customer_id": "C0001", "order_task": "address", "order_id": "361204587712340002",
            "verified_order_id": "361204587712340002"}
    messages, slots = run_action(ValidateOrderForm(), make_tracker(
        base, sender="demo-wang", set_now={"new_address": "杭州西湖"},
        requested_slot="new_address"))
    assert slots["new_address"] is None and "省份" in texts(messages)
    messages, slots = run_action(ValidateOrderForm(), make_tracker(
        base, sender="demo-wang", set_now={"new_address": "浙江省杭州市西湖区文三路100号"},
        requested_slot="new_address"))
    assert "文三路100号" in slots["new_address"]
    assert slots["requested_slot"] == "confirmed"


def test_a_new_address_with_the_name_after_it_is_split_into_its_fields(run_action):
    base = {"customer_id": "C0001", "order_task": "address", "order_id": "361204587712340002",
            "verified_order_id": "361204587712340002"}
    for said, name, phone, detail in (
            ("浙江省杭州市西湖区文三路90号 张伟 13812345678", "张伟", "13812345678", "文三路90号"),
            ("北京市朝阳区建国路88号SOHO现代城2号楼1201室，李娜，电话13900001111", "李娜",
             "13900001111", "建国路88号SOHO现代城2号楼1201室"),
            # The name before the address, as before.
            ("张三 13800000000 浙江省杭州市西湖区文三路100号", "张三", "13800000000",
             "文三路100号")):
        messages, slots = run_action(ValidateOrderForm(), make_tracker(
            base, sender="demo-wang", set_now={"new_address": said},
            requested_slot="new_address"))
        address = json.loads(slots["new_address"])
        assert (address["name"], address["phone"], address["detail"]) == (name, phone, detail)
        assert f"新的收货信息:{name} {phone} " in texts(messages)
        assert slots["requested_slot"] == "confirmed"
    # 「手机尾号不变」: the order's phone, and the name written after the address.
    _, slots = run_action(ValidateOrderForm(), make_tracker(
        base, sender="demo-wang",
        set_now={"new_address": "广东深圳南山区科技园科苑路15号 收件人王芳 手机尾号不变"},
        requested_slot="new_address"))
    address = json.loads(slots["new_address"])
    assert (address["name"], address["district"], address["detail"]) == ("王芳", "南山区",
                                                                         "科技园科苑路15号")
    assert address["phone"].endswith("5678")  # 王伟's, the order's


def test_an_address_given_before_the_order_was_proven_is_not_asked_again(run_action):
    # 「地址写错了 帮我改成 杭州市西湖区文三路100号 电话不变」, then the order and the tail.
    paid = "361204587712340002"  # 王伟's, not shipped yet
    tracker = make_tracker({"order_task": "address", "order_id": paid},
                           set_now={"phone_tail": "5678"}, requested_slot="phone_tail")
    said = "地址写错了 帮我改成 杭州市西湖区文三路100号 电话不变"
    tracker.events.insert(0, {"event": "user", "text": said})
    _, slots = run_action(ValidateOrderForm(), tracker)
    address = json.loads(slots["new_address"])
    assert (address["city"], address["district"], address["detail"]) == ("杭州市", "西湖区",
                                                                          "文三路100号")
    assert address["name"] == "王伟" and address["phone"]  # the order's recipient and phone
    assert slots["requested_slot"] == "confirmed"  # the address is not asked for
    # The recipient and phone written after the address are the new ones.
    tracker = make_tracker({"order_task": "address", "order_id": paid},
                           set_now={"phone_tail": "5678"}, requested_slot="phone_tail")
    tracker.events.insert(0, {"event": "user",
                              "text": "改地址 浙江省杭州市西湖区文三路90号 张伟 13812345678"})
    _, slots = run_action(ValidateOrderForm(), tracker)
    address = json.loads(slots["new_address"])
    assert (address["name"], address["phone"], address["detail"]) == ("张伟", "13812345678",
                                                                      "文三路90号")


def test_tail_proven_for_an_earlier_order_is_asked_again_without_a_penalty(run_action):
    # Form activation re-validates the old tail against the new order.
    tracker = make_tracker({"order_id": LI_ORDER, "phone_tail": "5678"},
                           latest_message={"text": f"那{LI_ORDER}呢", "intent": {}},
                           requested_slot="phone_tail")
    tracker.events.append({"event": "slot", "name": "phone_tail", "value": "5678"})
    messages, slots = run_action(ValidateOrderForm(), tracker)
    assert slots["phone_tail"] is None and "failed_attempts" not in slots
    assert messages == [] and slots["requested_slot"] == "phone_tail"


def test_progress_resets_the_count_and_a_repeated_number_does_not(run_action):
    # Two wrong phone tails for 王伟's order; the base class counts, no validator does.
    def after_two_failures(order_id):
        tracker = make_tracker({"order_id": WANG_ORDER, "failed_attempts": 2.0},
                               set_now={"order_id": order_id}, requested_slot="phone_tail")
        tracker.events[:0] = [{"event": "slot", "name": "order_id", "value": WANG_ORDER},
                              {"event": "slot", "name": "failed_attempts", "value": 2.0}]
        return tracker

    _, slots = run_action(ValidateOrderForm(), after_two_failures(WANG_ORDER))
    assert "failed_attempts" not in slots and slots["requested_slot"] == "phone_tail"
    _, slots = run_action(ValidateOrderForm(), after_two_failures(LI_ORDER))
    assert slots["order_id"] == LI_ORDER and slots["failed_attempts"] == 0.0
    assert slots["requested_slot"] == "phone_tail"


def confirming(text: str, intent: str, confidence: float, task_now: str, **set_now):
    """A tracker asking to confirm cancelling Wang's unpaid order; the latest message's
    intent may have remapped `order_task` (the slot event after the message)."""
    base = {"customer_id": "C0001", "order_task": task_now, "order_id": WANG_UNPAID,
            "verified_order_id": WANG_UNPAID}
    tracker = make_tracker(base, sender="demo-wang", requested_slot="confirmed",
                           set_now=set_now, latest_message={
                               "text": text, "entities": [],
                               "intent": {"name": intent, "confidence": confidence}})
    tracker.events.insert(0, {"event": "slot", "name": "order_task", "value": "cancel"})
    if task_now != "cancel":
        tracker.events.insert(2, {"event": "slot", "name": "order_task", "value": task_now})
    return tracker


def test_a_reason_for_cancelling_confirms_it(run_action):
    # 「拍错了」 read as change_address (0.25) kept the cancellation and confirmed it.
    _, slots = run_action(ValidateOrderForm(), confirming(
        "拍错了", "change_address", 0.25, "address"))
    assert slots["order_task"] == "cancel" and slots["confirmed"] is True
    # 「不要了」 reads as deny, which the slot mapping takes for no: it is a yes.
    _, slots = run_action(ValidateOrderForm(), confirming(
        "不要了", "deny", 0.84, "cancel", confirmed=False))
    assert slots["confirmed"] is True
    _, slots = run_action(ValidateOrderForm(), confirming(
        "先不取消了 不要了", "deny", 0.9, "cancel", confirmed=False))
    assert slots["confirmed"] is False


def test_a_yes_in_the_tasks_own_words_confirms_it(run_action):
    for text, intent in (("确认取消", "cancel_order"), ("是的 取消", "cancel_order"),
                         ("那就取消吧", "cancel_order"), ("好的", "thank"),
                         ("嗯嗯 取消掉", "cancel_order")):
        _, slots = run_action(ValidateOrderForm(), confirming(text, intent, 0.9, "cancel"))
        assert slots["confirmed"] is True, text
    # 「算了还是取消吧」 reads as deny, which the mapping takes for no.
    _, slots = run_action(ValidateOrderForm(), confirming(
        "算了还是取消吧", "deny", 0.7, "cancel", confirmed=False))
    assert slots["confirmed"] is True
    for text, intent in (("能取消吗", "cancel_order"), ("取消之后钱多久退回来", "query_refund"),
                         ("确定吗", "cancel_order"), ("对 不是这个订单", "inform")):
        _, slots = run_action(ValidateOrderForm(), confirming(text, intent, 0.9, "cancel"))
        assert slots.get("confirmed") is None, text
    # Holding it is a no, not a question to ask again.
    _, slots = run_action(ValidateOrderForm(), confirming(
        "先别取消 我问下能用券吗", "ask_promotion", 0.9, "cancel"))
    assert slots["confirmed"] is False
    _, slots = run_action(ValidateOrderForm(), confirming(
        "不取消了", "deny", 0.9, "cancel", confirmed=False))
    assert slots["confirmed"] is False


def test_a_clear_new_task_still_replaces_the_one_being_confirmed(run_action):
    _, slots = run_action(ValidateOrderForm(), confirming(
        "算了 帮我改一下地址吧", "change_address", 0.93, "address"))
    assert slots.get("order_task", "address") == "address" and slots.get("confirmed") is None


def test_the_whole_phone_number_gives_its_tail(run_action):
    tracker = make_tracker({"order_id": WANG_ORDER}, set_now={"phone_tail": "138 1234 5678"},
                           requested_slot="phone_tail")
    _, slots = run_action(ValidateOrderForm(), tracker)
    assert slots["verified_order_id"].startswith(f"op1.{WANG_ORDER}.")


def test_a_customer_who_does_not_know_the_tail_hears_the_other_ways(run_action):
    text = "手机号不是我的 是我老婆的 我不知道后四位"
    tracker = make_tracker({"order_id": WANG_ORDER}, set_now={"phone_tail": text},
                           requested_slot="phone_tail")
    messages, slots = run_action(ValidateOrderForm(), tracker)
    assert "问一下帮您下单的家人" in texts(messages) and "转人工" in texts(messages)
    assert slots["phone_tail"] is None and slots["failed_attempts"] == 1
    # The form's question after it would say the same again: not sent.
    rejected = make_tracker({"order_id": WANG_ORDER, "failed_attempts": 1.0},
                            requested_slot="phone_tail")
    rejected.events.append({"event": "bot", "text": texts(messages),
                            "metadata": {"utter_action": "utter_reject_phone_tail_unknown"}})
    assert run_action(ActionAskPhoneTail(), rejected)[0] == []
    # The last request (with the offer of a person) is still made.
    rejected.slots["failed_attempts"] = 2.0
    assert "人工" in texts(run_action(ActionAskPhoneTail(), rejected)[0])


def test_an_order_number_typed_in_groups_is_the_number(run_action):
    for typed in ("3612 0458 7712 3400 01", "361204-587712-340001"):
        tracker = make_tracker({}, requested_slot="order_id", latest_message={
            "text": f"单号 {typed}", "entities": [], "intent": {"name": "inform"}})
        messages, slots = run_action(ValidateOrderForm(), tracker)
        assert slots["order_id"] == "361204587712340001", (typed, messages)
        assert slots["requested_slot"] == "phone_tail"


def test_a_linked_customer_names_another_order_by_its_last_digits(run_action):
    refunded, returning = "361204587712340012", "361204587712340013"

    def asking(text: str) -> dict:
        tracker = make_tracker(
            {"customer_id": "C0002", "order_task": "refund", "order_id": returning,
             "verified_order_id": returning}, sender="demo-li",
            latest_message={"text": text, "entities": [],
                            "intent": {"name": "query_refund_progress", "confidence": 0.9}})
        return run_action(ValidateOrderForm(), tracker)[1]

    for text in ("那另一个单0012的退款呢", "尾号0012的订单退款到了吗", "0012那单呢"):
        slots = asking(text)
        assert slots["order_id"] == refunded, text
        assert slots["verified_order_id"].startswith(f"op1.{refunded}."), text
    # Not an order's digits: a phone number's, or digits no order of hers ends with.
    for text in ("手机尾号0012", "单号9999的呢"):
        assert asking(text).get("order_id", returning) == returning, text


def test_a_linked_customer_names_another_order_by_its_product(run_action):
    jacket, cooker = "361204587712340021", "361204587712340022"

    def asking(text: str, intent: str, product: str):
        return make_tracker(
            {"customer_id": "C0061", "order_task": "quality", "order_id": jacket,
             "verified_order_id": jacket}, sender="demo-zhao",
            latest_message={"text": text, "intent": {"name": intent, "confidence": 0.9},
                            "entities": [{"entity": "product", "value": product}]})

    _, slots = run_action(ValidateOrderForm(), asking(
        "另外那个电饭煲也有问题 内胆有凹痕", "report_quality_issue", "4L智能电饭煲"))
    assert slots["order_id"] == cooker and slots["verified_order_id"].startswith(f"op1.{cooker}.")
    # The form starting anew validates its filled slots, the jacket's order among them.
    starting = asking("另外那个电饭煲也有问题", "report_quality_issue", "4L智能电饭煲")
    starting.events.append({"event": "slot", "name": "order_id", "value": jacket})
    _, slots = run_action(ValidateOrderForm(), starting)
    assert slots["order_id"] == cooker and slots["verified_order_id"].startswith(f"op1.{cooker}.")
    _, slots = run_action(ValidateOrderForm(), asking(
        "另外那件卫衣也想退了", "request_return", "运动连帽卫衣"))
    assert slots["order_id"] == "361204587712340023"  # the hoodie's order, 3 weeks ago
    # None of his orders has it: no order in hand, the form asks which.
    _, slots = run_action(ValidateOrderForm(), asking(
        "另外那个键盘也想退", "request_return", "K87机械键盘"))
    assert slots["order_id"] is None and slots["requested_slot"] == "order_id"
    # A product question is no new request about an order.
    _, slots = run_action(ValidateOrderForm(), asking(
        "电饭煲能煮粥吗", "product_question", "4L智能电饭煲"))
    assert slots.get("order_id", jacket) == jacket


def test_the_order_task_intents_are_those_of_the_domain():
    from pathlib import Path

    import yaml

    from actions.forms import ORDER_TASK_INTENTS

    domain = yaml.safe_load((Path(__file__).parents[2] / "domain.yml").read_text())
    assert ORDER_TASK_INTENTS == {mapping["intent"] for mapping
                                  in domain["slots"]["order_task"]["mappings"]}


def test_an_order_number_given_with_the_word_order_keeps_the_task_asked_about(run_action):
    """「退货」 → 「订单3612…」: the word 订单 reads as query_order_status, whose mapping had
    turned the return into a status lookup."""
    def answer(text: str):
        tracker = make_tracker({"order_task": "status"}, requested_slot="order_id",
                               set_now={"order_id": WANG_ORDER}, latest_message={
                                   "text": text, "entities": [],
                                   "intent": {"name": "query_order_status", "confidence": 0.9}})
        tracker.events[:0] = [{"event": "slot", "name": "order_task", "value": "return"},
                              {"event": "user", "text": "退货"}]
        tracker.events.insert(-1, {"event": "slot", "name": "order_task", "value": "status"})
        return run_action(ValidateOrderForm(), tracker)[1]

    for text in (f"订单{WANG_ORDER}", f"单号：{WANG_ORDER}。", f"我的订单是{WANG_ORDER}"):
        assert answer(text)["order_task"] == "return", text
    assert answer(f"订单{WANG_ORDER} 到哪了").get("order_task", "status") == "status"


def test_a_question_about_the_tail_is_answered_not_counted(run_action):
    """At the tail step 「尾号是什么意思」 had got a product answer (ask_usage) and
    「哪个手机号啊 我有两个号」 the account FAQ (a probe, 2026-12-07)."""
    for text, intent in (("尾号是什么意思", "ask_usage"), ("哪个手机号啊 我有两个号", "faq")):
        tracker = make_tracker({"order_id": WANG_ORDER}, requested_slot="phone_tail",
                               latest_message={"text": text, "entities": [],
                                               "intent": {"name": intent, "confidence": 0.6}})
        messages, slots = run_action(ValidateOrderForm(), tracker)
        assert "手机号的最后4位数字" in texts(messages), text
        assert slots.get("phone_tail") is None and not slots.get("failed_attempts"), text


WANG_DELIVERED = "361204587712340003"  # 王伟's air fryer (two items), delivered


def missing_item_turn(task, said, order_id=WANG_DELIVERED):
    """The form's first turn for 王伟's order, the customer's request read as `task`."""
    tracker = make_tracker({"customer_id": "C0001", "order_task": task}, sender="demo-wang",
                           set_now={"order_id": order_id}, requested_slot="order_id")
    tracker.events[0]["text"] = said
    return tracker


def test_an_item_short_in_a_delivered_parcel_is_its_resend_not_a_lost_parcel(run_action):
    # Read as a status or tracking question: the missing item's after-sale, not the signing.
    for task in ("track", "status"):
        for said in ("收到了但是少了一件", "只收到一个 少发了一件", "包裹里少了个配件",
                     "快递显示签收了 但是少了一件 另一个没收到"):
            messages, slots = run_action(ValidateOrderForm(), missing_item_turn(task, said))
            assert (slots.get("order_task"), slots.get("aftersale_reason")) == \
                ("quality", "missing_item"), (task, said)
            assert "「少件/漏发」的话,我们给您补发,不用寄回原商品" in texts(messages), said
            assert slots["requested_slot"] == "aftersale_item"  # two items: which one
    # The parcel itself not received: its signing is looked up (action_order_task).
    for said in ("显示签收了但是我没收到", "不是我签的"):
        messages, slots = run_action(ValidateOrderForm(), missing_item_turn("track", said))
        assert "order_task" not in slots and "aftersale_reason" not in slots, said
        assert slots["requested_slot"] is None and "补发" not in texts(messages)
    # Not delivered yet: still the tracking.
    _, slots = run_action(ValidateOrderForm(), missing_item_turn(
        "track", "只收到一个 少发了一件", WANG_ORDER))
    assert "order_task" not in slots and slots["requested_slot"] is None


def test_the_missing_item_is_resent_once_its_photo_is_sent(shop_factory, monkeypatch):
    import base64
    import sys
    from pathlib import Path

    from action_helpers import run_directly

    from actions.aftersales import ActionAskAftersaleItem, ActionAskEvidence
    from actions.orders import ActionOrderTask

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shop"))
    from shop_api_helpers import png

    monkeypatch.setenv("SHOP_API_URL", shop_factory().url)  # this files a resend

    def slots_of(events):
        return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}

    _, events = run_directly(ValidateOrderForm(), missing_item_turn("track", "收到了但是少了一件"))
    slots = {"customer_id": "C0001", "order_id": WANG_DELIVERED, **slots_of(events)}
    assert slots["requested_slot"] == "aftersale_item"
    messages, _ = run_directly(ActionAskAftersaleItem(), make_tracker(slots, sender="demo-wang"))
    item = messages[0]["buttons"][0]["title"]
    slots.pop("requested_slot")
    _, events = run_directly(ValidateOrderForm(), make_tracker(
        slots, sender="demo-wang", set_now={"aftersale_item": item},
        requested_slot="aftersale_item"))
    slots.update(slots_of(events))
    assert slots["requested_slot"] == "evidence"
    messages, _ = run_directly(ActionAskEvidence(), make_tracker(slots, sender="demo-wang"))
    assert "收到的全部商品和外包装" in texts(messages)
    slots.pop("requested_slot")
    photo = make_tracker(slots, sender="demo-wang", requested_slot="evidence")
    url = f"data:image/png;base64,{base64.b64encode(png(seed=7)).decode()}"
    photo.events[0]["metadata"] = {**photo.events[0]["metadata"],
                                   "attachments": [{"type": "image", "url": url}]}
    _, events = run_directly(ValidateOrderForm(), photo)
    slots.update(slots_of(events))
    assert slots["evidence"] and slots["requested_slot"] is None
    messages, _ = run_directly(ActionOrderTask(), make_tracker(slots, sender="demo-wang"))
    said = texts(messages)
    assert "已为您登记补发(售后单号AS" in said and "不用寄回原商品" in said, said


def test_the_phone_of_a_new_address_is_no_phone_to_look_orders_up_by():
    from actions.order_lookup import phone_in

    assert phone_in(["改地址 张伟浙江省杭州市西湖区文三路90号 13812345678"]) is None
    assert phone_in(["我手机号13812345678 帮我查下订单"]) == "13812345678"
