"""No loops: failed turns are counted, each retry asks differently, and an order is
found without its number (against the running demo shop; no mocks)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
from action_helpers import SLOT_DEFAULTS, delivered, texts
from rasa_sdk import Tracker

from actions.aftersales import state_problem
from actions.forms import ValidateOrderForm
from actions.orders import ANONYMOUS_ASKS, ActionAskOrderId, ActionAskPhoneTail
from actions.session import ActionGreet
from actions.sizing import ActionAskSizeProduct, ValidateSizeForm
from brand.tone import get_tone
from compliance import get_checker

WANG_SHIPPED = "361204587712340001"  # 王伟: 蓝牙耳机Pro等2件商品, phone 13812345678
WANG_PAID = "361204587712340002"  # 王伟: K87机械键盘


def conversation(messages: List[Any], slots: Optional[Dict[str, Any]] = None,
                 requested_slot: Optional[str] = "order_id", loop: Optional[str] = "order_form",
                 sender: str = "guest-loops", set_now: Optional[Dict[str, Any]] = None,
                 intent: str = "inform", entities: Optional[List[dict]] = None,
                 verified_customer: Optional[str] = None) -> Tracker:
    """A tracker whose session holds these customer messages (str) and bot messages
    (("bot", text) or ("bot", {"response": ..., variables}) as Rasa records a rendered
    domain response); the last customer message is the one being validated.
    `verified_customer`: the channel checked the shop site's signed identity of this customer
    on every message (channels.identity)."""
    events: List[Dict[str, Any]] = [{"event": "session_started"}]
    metadata = ({"identity": {"verified": True, "customer_id": verified_customer}}
                if verified_customer else {})
    for message in messages:
        if isinstance(message, tuple) and isinstance(message[1], dict):
            events.append(bot_event(message[1]))
        elif isinstance(message, tuple):
            # A text as the bot sent it: in the brand tone, then guarded (as BrandNLG does).
            events.append({"event": "bot",
                           "text": get_checker().guard(get_tone().apply(message[1]))})
        else:
            events.append({"event": "action", "name": "action_listen"})
            events.append({"event": "user", "text": message, "metadata": metadata,
                           "parse_data": {"intent": {"name": intent},
                                          "entities": entities or []}})
    events += [{"event": "slot", "name": name, "value": value}
               for name, value in (set_now or {}).items()]
    latest = {"text": messages[-1] if messages and isinstance(messages[-1], str) else "",
              "intent": {"name": intent}, "entities": entities or []}
    values = {**SLOT_DEFAULTS, **(slots or {}), **(set_now or {}),
              "requested_slot": requested_slot}
    return Tracker(sender, values, latest, events, False, None,
                   {"name": loop} if loop else {}, "action_listen")


def bot_event(message: Dict[str, Any]) -> Dict[str, Any]:
    """The bot event Rasa records for an action's message: the rendered text, and the
    response's name and variables in the metadata."""
    sent = delivered([message], {})[0]
    return {"event": "bot", "text": sent.pop("text"),
            "metadata": {name: value for name, value in sent.items() if name != "buttons"}}


def asked(ask: str, intro: Any = "") -> Dict[str, Any]:
    return {"response": "utter_ask_in_context", "note": "", "intro": intro,
            "ask": {"response": ask}}


def test_a_second_greeting_is_answered_briefly_not_with_the_introduction_again(run_action):
    """「你好」 then 「有人吗？？」: the introduction once, then 「在的~」."""
    first, _ = run_action(ActionGreet(), conversation(["你好"], intent="greet", loop=None,
                                                      requested_slot=None))
    assert [m["utter_action"] for m in first] == ["utter_greet"]
    again, _ = run_action(ActionGreet(), conversation(
        ["你好", ("bot", {"response": "utter_greet"}), "有人吗？？"], intent="greet", loop=None,
        requested_slot=None))
    assert [m["utter_action"] for m in again] == ["utter_greet_known"]


def test_a_message_that_fills_nothing_is_a_failed_turn(run_action):
    tracker = conversation(["快递到哪了", "你们这个到底怎么回事"], intent="nlu_fallback")
    _, slots = run_action(ValidateOrderForm(), tracker)
    assert slots["failed_attempts"] == 1.0
    assert slots["requested_slot"] == "order_id"  # asked again, differently
    # The third one ends the form: the escalation policy hands over (repeated_failure).
    _, slots = run_action(ValidateOrderForm(), conversation(
        ["快递到哪了", "啊", "嗯嗯", "你们这个到底怎么回事"], {"failed_attempts": 2.0},
        intent="out_of_scope"))
    assert slots["failed_attempts"] == 3.0 and slots["requested_slot"] is None


def test_a_digression_the_bot_answers_is_not_a_failed_turn(run_action):
    # An FAQ: the form steps aside (nothing returned -> Rasa's rejection) and the FAQ
    # rule answers; not counted.
    _, slots = run_action(ValidateOrderForm(), conversation(
        ["快递到哪了", "你们包邮吗"], intent="faq"))
    assert "failed_attempts" not in slots


def test_a_digression_answered_earlier_in_the_turn_is_not_counted(run_action):
    tracker = conversation(["快递到哪了", "你们包邮吗"], intent="faq")
    tracker.events += [{"event": "action", "name": "utter_faq"},
                       {"event": "bot", "text": "包邮"},
                       {"event": "action", "name": "order_form"}]
    _, slots = run_action(ValidateOrderForm(), tracker)
    assert "failed_attempts" not in slots


@pytest.mark.parametrize("text", ["订单号？我哪知道 你们自己查不到吗", "订单号不晓得啊"])
def test_a_first_message_without_the_number_gets_the_phone_lookup_at_once(run_action, text):
    """(a probe, 2026-12-07: it got 「麻烦发一下订单号哦」.)"""
    tracker = conversation([text], requested_slot=None)
    said = texts(run_action(ActionAskOrderId(), tracker)[0])
    assert "手机号" in said and "麻烦发一下订单号" not in said, said


def test_no_order_number_is_not_a_format_error_and_offers_the_phone_lookup(run_action):
    tracker = conversation(["快递到哪了", "我没有订单号"], set_now={"order_id": "我没有订单号"})
    messages, slots = run_action(ValidateOrderForm(), tracker)
    assert "格式" not in texts(messages)
    assert slots["order_id"] is None and slots["failed_attempts"] == 1.0
    messages, _ = run_action(ActionAskOrderId(), conversation(
        ["快递到哪了", "我没有订单号"], {"failed_attempts": 1.0}))
    assert "手机号" in texts(messages) and "商品" in texts(messages)


def proven(slots):
    """The order the shop's ownership proof names (op1.<order id>.<expiry>.<mac>)."""
    proof = slots["verified_order_id"]
    assert proof.startswith("op1."), proof
    return proof.split(".")[1]


def test_phone_and_product_find_and_verify_the_order(run_action):
    message = "13812345678 买的蓝牙耳机"
    tracker = conversation(["快递到哪了", "没有订单号", message], {"failed_attempts": 1.0},
                           set_now={"order_id": message})
    _, slots = run_action(ValidateOrderForm(), tracker)
    assert slots["order_id"] == WANG_SHIPPED
    assert proven(slots) == WANG_SHIPPED
    assert slots["failed_attempts"] == 0.0 and slots["requested_slot"] is None


def test_product_from_the_first_message_and_phone_later(run_action):
    # 「我买的耳机什么时候到」 started the form; the phone comes after.
    tracker = conversation(["我买的耳机什么时候到啊", "13812345678"], intent="inform",
                           set_now={"order_id": "13812345678"})
    _, slots = run_action(ValidateOrderForm(), tracker)
    assert proven(slots) == WANG_SHIPPED


def test_a_phone_with_another_customers_product_reveals_nothing(run_action):
    message = "13812345678 牛仔裤"  # 王伟's phone, 李娜's jeans
    tracker = conversation(["快递到哪了", message], set_now={"order_id": message})
    _, slots = run_action(ValidateOrderForm(), tracker)
    assert slots["order_id"] is None and not slots.get("verified_order_id")
    assert slots["failed_attempts"] == 1.0
    messages, _ = run_action(ActionAskOrderId(), conversation(
        ["快递到哪了", message], {"failed_attempts": 1.0}))
    said = texts(messages)
    assert "没有查到" in said and "3612045877123" not in said and "牛仔裤" in said


def test_a_phone_alone_is_a_step_not_a_failure(run_action):
    tracker = conversation(["快递到哪了", "13812345678"], set_now={"order_id": "13812345678"})
    messages, slots = run_action(ValidateOrderForm(), tracker)
    assert slots["order_id"] is None and "failed_attempts" not in slots
    messages, _ = run_action(ActionAskOrderId(), conversation(["快递到哪了", "13812345678"]))
    assert "收到手机号" in texts(messages) and "3612" not in texts(messages)


def test_a_linked_customer_names_the_product_instead_of_the_number(run_action):
    tracker = conversation(["帮我查下订单", "我买的键盘"], {"customer_id": "C0001"},
                           sender="demo-wang", set_now={"order_id": "我买的键盘"})
    messages, slots = run_action(ValidateOrderForm(), tracker)
    assert proven(slots) == WANG_PAID
    assert "订单361204587712340002(" not in texts(messages)  # the status answer names it


def test_the_order_picked_by_its_product_is_said_when_the_answer_does_not_name_it(run_action):
    """Asked which order, 「买的耳机」 takes the one shipped: the tracking answer does not
    name the order, so the form says which it took (as for the one order named at once)."""
    tracker = conversation(["快递到哪了", "买的耳机"], {"customer_id": "C0001",
                                                   "order_task": "track"},
                           sender="demo-wang", set_now={"order_id": "买的耳机"},
                           verified_customer="C0001",
                           entities=[{"entity": "product", "value": "蓝牙耳机Pro"}])
    messages, slots = run_action(ValidateOrderForm(), tracker)
    assert proven(slots) == "361204587712340001"
    assert "订单361204587712340001(" in texts(messages), texts(messages)


def test_a_product_asked_about_does_not_pick_the_order(run_action):
    """「取消订单」 → 「等下 先问下 耳机是不是支持降噪的」 (a probe, 2026-12-07): the question
    had narrowed the orders to the earphones' (shipped), and the cancellation went there."""
    def offered(intent: str) -> str:
        tracker = conversation(["取消订单", "等下 先问下 耳机是不是支持降噪的"],
                               {"customer_id": "C0001", "order_task": "cancel"},
                               sender="demo-wang", intent=intent, verified_customer="C0001",
                               entities=[{"entity": "product", "value": "蓝牙耳机Pro"}])
        messages, _ = run_action(ActionAskOrderId(), tracker)
        return " ".join(b["payload"] for b in messages[0].get("buttons") or [])

    assert "361204587712340004" in offered("product_question")
    assert "361204587712340004" not in offered("cancel_order")  # 「耳机那单取消」: that order


def test_a_linked_customer_gets_order_buttons_on_each_retry(run_action):
    for failures in (0.0, 1.0, 2.0):
        messages, _ = run_action(ActionAskOrderId(), conversation(
            ["帮我查下订单", "不知道"], {"customer_id": "C0001", "failed_attempts": failures},
            sender="demo-wang", verified_customer="C0001"))
        payloads = [button["payload"] for message in messages
                    for button in message.get("buttons") or []]
        assert any(WANG_SHIPPED in payload for payload in payloads)


def test_a_linked_customer_who_names_the_product_gets_that_order_to_confirm(run_action):
    messages, _ = run_action(ActionAskOrderId(), conversation(
        ["我买的键盘到哪了"], {"customer_id": "C0001"}, sender="demo-wang",
        entities=[{"entity": "product", "value": "K87机械键盘"}], verified_customer="C0001"))
    [button] = [button for message in messages for button in message.get("buttons") or []]
    assert WANG_PAID in button["title"] and WANG_PAID in button["payload"]
    # The web chat draws the same order as a card (its label a domain response).
    [card] = messages[0]["custom"]["cards"]
    assert card["id"] == WANG_PAID and card["action"] == "选这个订单"
    assert texts(messages) == "是这个「K87机械键盘」的订单吗?点一下确认,或者直接发订单号给我:"


WANG_DELIVERED = "361204587712340003"  # 王伟: 5L空气炸锅等2件商品, 京东物流, signed for
WANG_UNPAID = "361204587712340004"  # 王伟: 烟酰胺精华液等2件商品, 待付款


def starting(text: str, task: str, intent: str, entities: Optional[List[dict]] = None,
             sender: str = "demo-wang", verified_customer: Optional[str] = "C0001",
             customer_id: Optional[str] = "C0001") -> Tracker:
    """The order form starting with this request (nothing asked by it yet)."""
    tracker = conversation([text], {"customer_id": customer_id, "order_task": task},
                           requested_slot=None, sender=sender, intent=intent,
                           entities=entities, verified_customer=verified_customer)
    tracker.events.append({"event": "active_loop", "name": "order_form"})
    return tracker


def test_a_signed_in_customers_one_matching_order_is_acted_on_without_a_click(run_action):
    """「我的空气炸锅到哪了」 from 王伟 (signed in), whose one order with the air fryer is
    0003: the tracking at once, saying which order, not 「是这个…的订单吗?」 and a card to
    click (the third probe, 2026-12-07)."""
    from actions.orders import ActionOrderTask

    messages, slots = run_action(ValidateOrderForm(), starting(
        "我的空气炸锅到哪了", "track", "track_logistics",
        [{"entity": "product", "value": "空气炸锅"}]))
    assert slots["order_id"] == WANG_DELIVERED and proven(slots) == WANG_DELIVERED
    assert slots["requested_slot"] is None  # the form is done: the task runs
    assert texts(messages) == f"订单{WANG_DELIVERED}(5L空气炸锅等2件商品,实付¥475.00)"
    assert not any(message.get("buttons") for message in messages)
    answer, _ = run_action(ActionOrderTask(), conversation(
        ["我的空气炸锅到哪了"], {"customer_id": "C0001", "order_task": "track",
                          "order_id": slots["order_id"],
                          "verified_order_id": slots["verified_order_id"]},
        requested_slot=None, loop=None, sender="demo-wang", intent="track_logistics",
        verified_customer="C0001"))
    assert "京东物流" in texts(answer) and "已签收" in texts(answer), texts(answer)
    # A status question: its answer opens with the order (utter_order_head), said once.
    messages, slots = run_action(ValidateOrderForm(), starting(
        "我买的空气炸锅怎么样了", "status", "query_order_status"))
    assert slots["order_id"] == WANG_DELIVERED and slots["requested_slot"] is None
    assert not messages


def test_the_one_unpaid_order_named_by_its_state_still_asks_to_confirm_the_cancellation(
        run_action):
    """「没付款那个订单能取消吗」: only the pick is skipped; 「确认取消订单…吗?」 stays."""
    from actions.orders import ActionAskConfirmed

    messages, slots = run_action(ValidateOrderForm(), starting(
        "没付款那个订单能取消吗", "cancel", "cancel_order"))
    assert slots["order_id"] == WANG_UNPAID and proven(slots) == WANG_UNPAID
    assert slots["requested_slot"] == "confirmed" and slots["confirmed"] is None
    assert not messages  # the confirmation names the order
    asked_, _ = run_action(ActionAskConfirmed(), conversation(
        ["没付款那个订单能取消吗"], {"customer_id": "C0001", "order_task": "cancel",
                              "order_id": WANG_UNPAID,
                              "verified_order_id": slots["verified_order_id"]},
        requested_slot="confirmed", sender="demo-wang", intent="cancel_order",
        verified_customer="C0001"))
    assert texts(asked_).startswith(f"确认取消订单{WANG_UNPAID}(烟酰胺精华液等2件商品,待付"), \
        texts(asked_)


def test_several_matching_orders_or_no_clue_are_still_offered_to_pick(run_action):
    """A guess is confirmed, never acted on: 「昨天下的单」 fits three of 王伟's orders, and
    「我的快递到哪了」 names none (his one shipped order is offered to confirm)."""
    for text, task, intent in (("昨天下的单到哪了", "track", "track_logistics"),
                               ("我的快递到哪了", "track", "track_logistics"),
                               ("我要取消订单", "cancel", "cancel_order")):
        _, slots = run_action(ValidateOrderForm(), starting(text, task, intent))
        assert not slots.get("order_id") and slots["requested_slot"] == "order_id", text
    messages, _ = run_action(ActionAskOrderId(), conversation(
        ["昨天下的单到哪了"], {"customer_id": "C0001", "order_task": "track"},
        sender="demo-wang", intent="track_logistics", verified_customer="C0001"))
    assert len([b for message in messages for b in message.get("buttons") or []]) > 1
    messages, _ = run_action(ActionAskOrderId(), conversation(
        ["我的快递到哪了"], {"customer_id": "C0001", "order_task": "track"},
        sender="demo-wang", intent="track_logistics", verified_customer="C0001"))
    [button] = [b for message in messages for b in message.get("buttons") or []]
    assert WANG_SHIPPED in button["payload"] and "是这个已发货的订单吗" in texts(messages)


def test_a_guest_or_an_unverified_customer_id_is_not_given_the_order_named(run_action):
    """Without a verified identity (a guest, or only the slot with no signed identity on
    the message) the order number or the phone is still needed."""
    fryer = [{"entity": "product", "value": "空气炸锅"}]
    for tracker in (starting("我的空气炸锅到哪了", "track", "track_logistics", fryer,
                             sender="guest-loops", verified_customer=None, customer_id=None),
                    starting("我的空气炸锅到哪了", "track", "track_logistics", fryer,
                             sender="guest-loops", verified_customer=None)):
        messages, slots = run_action(ValidateOrderForm(), tracker)
        assert not slots.get("order_id") and not slots.get("verified_order_id")
        assert "3612" not in texts(messages)


def test_each_retry_asks_differently(run_action):
    said = []
    for failures in (0.0, 1.0, 2.0):
        messages, _ = run_action(ActionAskOrderId(), conversation(
            ["快递到哪了", "嗯"], {"failed_attempts": failures}))
        said.append(texts(messages))
    assert len(set(said)) == 3
    tails = []
    for failures in (1.0, 2.0):
        messages, _ = run_action(ActionAskPhoneTail(), conversation(
            ["快递到哪了", "1234"], {"failed_attempts": failures}, requested_slot="phone_tail"))
        tails.append(texts(messages))
    assert len(set(tails)) == 2 and all("后4位" in text for text in tails)


def test_never_the_same_request_three_times_in_a_row(run_action):
    # The customer asked FAQs twice in the form (answered, not failures): the same ask
    # came after each; the third time it is worded differently.
    first = ANONYMOUS_ASKS[0]
    tracker = conversation(["快递到哪了", ("bot", asked(first)), "包邮吗", ("bot", "包邮"),
                            ("bot", asked(first)), "几点发货"], intent="faq")
    messages, _ = run_action(ActionAskOrderId(), tracker)
    # Answered questions are no failures: back to the order, not the last request.
    assert [message["ask"]["response"] for message in messages] == ["utter_ask_order_id_resume"]
    assert bot_event(asked(first))["text"] not in texts(messages)
    # After failed turns the third request is the last one before a person.
    messages, _ = run_action(ActionAskOrderId(), conversation(
        ["快递到哪了", ("bot", asked(first)), "包邮吗", ("bot", "包邮"),
         ("bot", asked(first)), "几点发货"], {"failed_attempts": 2.0}, intent="faq"))
    assert [message["ask"]["response"] for message in messages] == [ANONYMOUS_ASKS[-1]]


def test_out_of_scope_inside_the_form_is_said_and_counted(run_action):
    messages, _ = run_action(ActionAskOrderId(), conversation(
        ["快递到哪了", "今天天气怎么样"], {"failed_attempts": 1.0}, intent="out_of_scope"))
    assert "回答不了" in texts(messages)


def test_the_size_form_takes_no_product_from_a_logistics_question(run_action):
    entities = [{"entity": "product", "value": "羽绒服", "start": 3, "end": 6}]
    tracker = conversation(["这件外套175 70公斤穿什么码", "我买的羽绒服什么时候到啊"],
                           {"height_cm": "175", "weight_kg": "70"}, loop="size_form",
                           requested_slot="size_product", intent="track_logistics",
                           entities=entities)
    _, slots = run_action(ValidateSizeForm(), tracker)
    assert not slots.get("size_product") and "failed_attempts" not in slots


def test_the_size_form_takes_no_product_from_how_it_should_sit(run_action):
    """「偏瘦 想穿宽松点」 where the garment was asked for got 「没找到叫「偏瘦 想穿宽松点」的服装」
    (the fourth probe)."""
    tracker = conversation(["175 70公斤穿什么码", "偏瘦 想穿宽松点"],
                           {"height_cm": "175", "weight_kg": "70"}, loop="size_form",
                           requested_slot="size_product", intent="ask_size")
    messages, slots = run_action(ValidateSizeForm(), tracker)
    assert not slots.get("size_product") and "没找到" not in texts(messages)


def test_the_size_form_offers_the_garments_the_customer_named(run_action):
    tracker = conversation(["这件外套175 70公斤穿什么码"], {"height_cm": "175",
                                                          "weight_kg": "70"},
                           loop="size_form", requested_slot="size_product", intent="ask_size")
    messages, _ = run_action(ActionAskSizeProduct(), tracker)
    said = texts(messages)
    assert "175" in said and "外套" in said
    titles = [button["title"] for message in messages for button in message.get("buttons") or []]
    assert "男士轻薄羽绒服" in titles and "男士休闲夹克" in titles
    assert "纯棉圆领T恤" not in titles  # not a coat
    # Clicking one answers the size question (intent inform with the product entity).
    _, slots = run_action(ValidateSizeForm(), conversation(
        ["这件外套175 70公斤穿什么码", '/inform{"product":"男士休闲夹克"}'],
        {"height_cm": "175", "weight_kg": "70"}, loop="size_form",
        requested_slot="size_product",
        entities=[{"entity": "product", "value": "男士休闲夹克"}]))
    assert slots["size_product"] == "P1004"


def test_no_after_sales_question_for_an_order_on_its_way():
    assert "还在路上" in bot_event(state_problem({"status": "shipped"}))["text"]
    assert state_problem({"status": "delivered"}) is None


def test_the_message_that_starts_the_form_is_not_a_failed_turn(run_action):
    # 「我买的羽绒服什么时候到啊」 left the size form (requested_slot still size_product)
    # and started the order form: nothing was asked by the order form yet.
    tracker = conversation(["这件外套175 70公斤穿什么码", "我买的羽绒服什么时候到啊"],
                           requested_slot="size_product", intent="track_logistics")
    tracker.events.append({"event": "active_loop", "name": "order_form"})
    _, slots = run_action(ValidateOrderForm(), tracker)
    assert "failed_attempts" not in slots


def test_the_same_clarifying_question_is_not_asked_a_third_time(run_action):
    from actions.fallback import ActionClarify

    again = ("bot", {"response": "utter_not_understood"})
    tracker = conversation(["asdf", again, "qwer", again, "zxcv"], requested_slot=None,
                           loop=None, intent="nlu_fallback")
    messages, _ = run_action(ActionClarify(), tracker)
    assert bot_event(again[1])["text"] not in texts(messages) and "人工" in texts(messages)


def test_an_upset_message_not_understood_gets_the_mood_answered(run_action):
    from actions.fallback import ActionClarify

    tracker = conversation(["😡😡😡"], requested_slot=None, loop=None, intent="nlu_fallback")
    tracker.latest_message["emotion"] = {"label": "angry", "intensity": 0.9}
    said = texts(run_action(ActionClarify(), tracker)[0])
    assert "是遇到什么问题了吗" in said and "换个说法" not in said, said
    tracker.latest_message["emotion"] = {"label": "calm", "intensity": 0.0}
    assert "换个说法" in texts(run_action(ActionClarify(), tracker)[0])


def test_question_marks_after_an_answer_ask_what_did_not_help(run_action):
    """「？？」 right after an answer (a probe, 2026-12-07: it got 「没太理解」)."""
    from actions.fallback import ActionClarify

    answered = ("bot", {"response": "utter_faq/shipping_fee"})
    tracker = conversation(["包邮吗", answered, "？？"], requested_slot=None, loop=None,
                           intent="nlu_fallback")
    said = texts(run_action(ActionClarify(), tracker)[0])
    assert "刚才的回复哪里没说清楚" in said and "没太理解" not in said, said
    # The first message, or after the greeting: nothing was answered yet.
    for messages in (["？？"], ["你好", ("bot", {"response": "utter_greet"}), "？？"]):
        tracker = conversation(messages, requested_slot=None, loop=None, intent="nlu_fallback")
        assert "刚才的回复" not in texts(run_action(ActionClarify(), tracker)[0]), messages


def test_a_doubt_after_an_answer_gets_where_the_answer_came_from(run_action):
    """「你确定吗」 right after an answer (the fifth probe): where it came from and a human
    to confirm, not 「没太理解」 nor a menu of intents."""
    import yaml

    from actions.fallback import DOUBT, ActionClarify

    answered = ("bot", {"response": "utter_faq/warranty"})
    for text in ("你确定吗", "真的吗？", "确定？", "真的吗 你没骗我吧"):
        tracker = conversation(["保修多久", answered, text], requested_slot=None, loop=None,
                               intent="nlu_fallback")
        tracker.latest_message["intent_ranking"] = [{"name": "product_question",
                                                     "confidence": 0.3}]
        messages = run_action(ActionClarify(), tracker)[0]
        assert "按店铺系统和商品资料" in texts(messages) and not messages[0].get("buttons"), text
    # Nothing answered yet: no such claim.
    tracker = conversation(["真的吗"], requested_slot=None, loop=None, intent="nlu_fallback")
    assert "按店铺系统" not in texts(run_action(ActionClarify(), tracker)[0])
    # The NLU's cue (config.yml) reads the same words as the action.
    config = yaml.safe_load((Path(__file__).resolve().parents[2] / "config.yml").read_text(
        encoding="utf-8"))
    [cue] = [entry["cue"] for entry in config["pipeline"] if entry.get("intent") == "nlu_fallback"]
    assert cue == DOUBT.pattern.replace("(?:", "(")
    assert not DOUBT.search("确定") and not DOUBT.search("确定取消")  # a yes, not a doubt


@pytest.mark.parametrize("text", ["售后", "申请售后", "我要申请售后", "售后怎么申请",
                                  "亲 我想申请一下售后"])
def test_an_after_sale_not_yet_named_gets_its_choices(run_action, text):
    from actions.fallback import ActionClarify

    ranking = [{"name": "request_human", "confidence": 0.3}, {"name": "complain",
                                                              "confidence": 0.25}]
    tracker = conversation([text], requested_slot=None, loop=None, intent="nlu_fallback")
    tracker.latest_message["intent_ranking"] = ranking
    messages = run_action(ActionClarify(), tracker)[0]
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        "/request_return", "/request_exchange", "/report_quality_issue", "/query_refund_progress"]
    assert "遇到了什么情况" in texts(messages)


def test_a_domain_response_is_not_sent_a_third_time_in_a_row():
    import asyncio

    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import BotUttered, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from brand.nlg import REPEATED, BrandNLG

    domain = Domain.from_path("domain.yml")
    nlg = BrandNLG(domain=domain)
    first = asyncio.run(nlg.generate("utter_out_of_scope", DialogueStateTracker("t", []),
                                     "rest"))["text"]
    events = []
    for text in ("今天天气怎么样", "讲个笑话"):
        events += [UserUttered(text), BotUttered(first)]
    events.append(UserUttered("你会唱歌吗"))
    tracker = DialogueStateTracker.from_events("t", events)
    third = asyncio.run(nlg.generate("utter_out_of_scope", tracker, "rest"))["text"]
    assert third != first and "转人工" in third and REPEATED[:6] in third


def test_the_size_question_is_not_asked_a_third_time_in_a_row(run_action):
    first = {"response": "utter_ask_size_product_pick", "kept": "",
             "which": {"response": "utter_size_which_product"}}
    tracker = conversation(["穿什么码", ("bot", first), "多少钱", ("bot", first), "嗯"],
                           loop="size_form", requested_slot="size_product", intent="faq")
    messages, _ = run_action(ActionAskSizeProduct(), tracker)
    assert bot_event(first)["text"] not in [message.get("text") for message in messages]


def test_a_product_question_inside_the_form_is_not_taken_for_the_order(run_action):
    # After-sales for a power bank; the customer asks whether it fast-charges.
    tracker = conversation(["收到的充电宝充不进电", "这个充电宝支持快充吗"],
                           intent="product_question",
                           entities=[{"entity": "product", "value": "20000毫安充电宝"}])
    _, slots = run_action(ValidateOrderForm(), tracker)
    assert "order_id" not in slots and "failed_attempts" not in slots


def test_the_invoice_opener_is_said_once_per_session(run_action):
    messages, _ = run_action(ActionAskOrderId(), conversation(
        ["能开发票吗"], {"order_task": "invoice"}))
    assert "都能开" in texts(messages)
    # After an FAQ digression the form asks again, without the opener.
    opened = asked(ANONYMOUS_ASKS[0], intro={"response": "utter_invoice_intro"})
    messages, _ = run_action(ActionAskOrderId(), conversation(
        ["能开发票吗", ("bot", opened), "包邮吗"], {"order_task": "invoice"}, intent="faq"))
    assert "都能开" not in texts(messages) and "订单号" in texts(messages)


def test_the_refund_time_is_said_before_the_first_request_for_the_order(run_action):
    messages, _ = run_action(ActionAskOrderId(), conversation(
        ["退款多久到账"], {"order_task": "refund"}, intent="query_refund_progress"))
    assert "1-3个工作日原路退回" in texts(messages) and "订单号" in texts(messages)
    opened = asked(ANONYMOUS_ASKS[0], intro={"response": "utter_refund_intro"})
    messages, _ = run_action(ActionAskOrderId(), conversation(
        ["退款多久到账", ("bot", opened), "包邮吗"], {"order_task": "refund"}, intent="faq"))
    assert "原路退回" not in texts(messages)


def test_where_returns_go_and_the_return_policy_are_said_before_the_order(run_action):
    messages, _ = run_action(ActionAskOrderId(), conversation(
        ["退货地址是哪里"], {"order_task": "return"}, intent="request_return"))
    assert "文一西路1888号" in texts(messages) and "订单号" in texts(messages)
    messages, _ = run_action(ActionAskOrderId(), conversation(
        ["七天无理由能退吗"], {"order_task": "return"}, intent="request_return"))
    assert "七天无理由退货" in texts(messages) and "订单号" in texts(messages)
    # A plain 「我想退货」 gets the request only, and the policy is said once a session.
    messages, _ = run_action(ActionAskOrderId(), conversation(
        ["我想退货"], {"order_task": "return"}, intent="request_return"))
    assert "七天无理由" not in texts(messages) and "文一西路" not in texts(messages)
    opened = asked(ANONYMOUS_ASKS[0], intro={"response": "utter_faq/seven_day_return"})
    messages, _ = run_action(ActionAskOrderId(), conversation(
        ["七天无理由能退吗", ("bot", opened), "能退吗"], {"order_task": "return"},
        intent="request_return"))
    assert "七天无理由退货" not in texts(messages)


def test_an_upset_customer_hears_empathy_before_the_request_for_the_order(run_action):
    def upset(mood: str, task: str = "urge", said: Any = None) -> Tracker:
        history = ["为什么还不发货 都三天了"] if said is None else ["怎么还不发", said, "在吗?"]
        tracker = conversation(history, {"order_task": task}, intent="urge_delivery")
        latest = [event for event in tracker.events if event.get("event") == "user"][-1]
        latest["parse_data"]["emotion"] = {"label": mood, "intensity": 0.8}
        return tracker

    messages, _ = run_action(ActionAskOrderId(), upset("anxious"))
    assert texts(messages).index("抱歉") < texts(messages).index("订单号")
    # 催发货: the order is not sent yet, so the line speaks of sending, not of a late parcel.
    assert "发货" in texts(messages) and "包裹" not in texts(messages)
    messages, _ = run_action(ActionAskOrderId(), upset("angry", task="quality"))
    assert "抱歉" in texts(messages) and "订单号" in texts(messages)
    # A calm customer gets the request alone; the line is said once a session.
    messages, _ = run_action(ActionAskOrderId(), upset("calm"))
    assert "抱歉" not in texts(messages)
    said = ("bot", {"response": "utter_empathy_first", "line": "真的非常抱歉,让您等了这么久。"})
    messages, _ = run_action(ActionAskOrderId(), upset("angry", said=said))
    assert "抱歉" not in texts(messages)


def test_the_clue_is_said_back_in_the_customers_words():
    from datetime import date

    from actions.order_lookup import clue_words

    def which(clue: Any) -> str:
        return texts(delivered([{"response": "utter_ask_order_which", "count": 2, "clue": clue}],
                               {}))

    assert which(clue_words("羽绒服", date(2026, 12, 1))) == \
        "找到2个12月1日下单「羽绒服」的订单,是哪一个呢?点选一下就好:"
    assert which(clue_words(None, None)) == "找到2个符合的订单,是哪一个呢?点选一下就好:"


def test_a_return_reason_that_reads_as_a_size_question_stays_in_the_return(run_action):
    # 「我想退货」, asked for the order: 「衣服尺码不合适,穿着太小了」 is the reason, not a size
    # question for the size form.
    tracker = conversation(["我想退货", "衣服尺码不合适,穿着太小了"], {"order_task": "return"},
                           intent="ask_size")
    messages, slots = run_action(ValidateOrderForm(), tracker)
    assert slots["aftersale_reason"] == "size" and "尺码不合适" in texts(messages)
    assert "failed_attempts" not in slots  # the message gave something: no failed turn
    # A size question in an order-status lookup is still a size question (the form steps
    # aside), and so is a product question phrased as one inside a return.
    for task, intent, text in (("status", "ask_size", "175穿什么码"),
                               ("return", "product_question", "这件会不会小了?")):
        _, slots = run_action(ValidateOrderForm(), conversation(
            ["查订单", text], {"order_task": task}, intent=intent))
        assert "aftersale_reason" not in slots and "failed_attempts" not in slots


def test_not_wanting_the_item_is_the_reason_of_a_return_not_giving_up(run_action):
    # 「我想退货」, asked for the order: 「不想要了」 (read as `deny`) is 七天无理由; the form keeps
    # it instead of stepping aside for the give-up rule.
    messages, slots = run_action(ValidateOrderForm(), conversation(
        ["我想退货", "不想要了"], {"order_task": "return"}, intent="deny"))
    assert slots["aftersale_reason"] == "no_reason_7d" and "七天无理由" in texts(messages)
    # 「东西坏了」 → 「充电宝充不进电」: the problem is the reason, and no failed turn.
    messages, slots = run_action(ValidateOrderForm(), conversation(
        ["东西坏了", "充电宝充不进电"], {"order_task": "quality"},
        intent="report_quality_issue"))
    assert slots["aftersale_reason"] == "quality" and "failed_attempts" not in slots
    # Giving up stays giving up, and a plain 「不用了」 in an order lookup names no reason.
    for task, text in (("return", "算了不想要了,不退了"), ("return", "不用了"),
                       ("status", "不想要了")):
        messages, slots = run_action(ValidateOrderForm(), conversation(
            ["我想退货", text], {"order_task": task}, intent="deny"))
        assert "aftersale_reason" not in slots and not messages


def test_the_first_ask_of_a_customer_without_the_number_offers_the_phone_lookup(run_action):
    messages, _ = run_action(ActionAskOrderId(), conversation(["订单号忘了"], intent="inform"))
    assert "手机号" in texts(messages) and "麻烦发一下订单号" not in texts(messages)


def test_an_order_number_in_the_size_form_is_no_product(run_action):
    # 「我想退货」 → a size question → the size form asks which product → the order number:
    # the form steps aside (uncounted) for the order rules.
    entities = [{"entity": "order_id", "value": WANG_SHIPPED, "start": 0, "end": 18}]
    tracker = conversation(["我想退货", "尺码不合适", WANG_SHIPPED], loop="size_form",
                           requested_slot="size_product", intent="inform", entities=entities)
    messages, slots = run_action(ValidateSizeForm(), tracker)
    assert not slots.get("size_product") and "failed_attempts" not in slots
    assert "服装" not in texts(messages)


def test_signed_for_but_not_received_is_acknowledged_before_the_request(run_action):
    messages, _ = run_action(ActionAskOrderId(), conversation(
        ["快递显示签收了但是我没收到"], {"order_task": "track"}, intent="track_logistics"))
    assert texts(messages).index("签收记录") < texts(messages).index("订单号")
    messages, _ = run_action(ActionAskOrderId(), conversation(
        ["我的快递到哪了"], {"order_task": "track"}, intent="track_logistics"))
    assert "签收记录" not in texts(messages)
    # An item short in a parcel that came is the shop's fault, owned (not the signing).
    for text, intent in (("快递显示签收了 但是少了一件 充电器没收到", "track_logistics"),
                         ("收到了但是少了一件", "query_order_status")):
        task = "track" if intent == "track_logistics" else "status"
        messages, _ = run_action(ActionAskOrderId(), conversation(
            [text], {"order_task": task}, intent=intent))
        said = texts(messages)
        assert "签收记录" not in said and "「少件/漏发」" in said, text
        assert "给您补发,不用寄回,运费由我们承担" in said, text


def test_the_shops_own_fault_is_owned_before_the_request_for_the_order(run_action):
    # A resend sends nothing back: no 「来回运费」.
    for text, task, label, cost in (
            ("发错货了 我买的是黑色的 收到的是白色", "exchange", "发错货", "来回运费都由我们承担"),
            ("收到了但是少了个充电器", "quality", "少件/漏发", "给您补发,不用寄回,运费由我们承担"),
            ("我收到的东西和图片不一样", "return", "与描述不符", "来回运费都由我们承担")):
        messages, _ = run_action(ActionAskOrderId(), conversation(
            [text], {"order_task": task}, intent="report_quality_issue"))
        said = texts(messages)
        assert f"「{label}」" in said and cost in said, text
        assert said.index("运费") < said.index("订单号"), text
    # The customer's own reason (the size, changing their mind) gets no such line.
    messages, _ = run_action(ActionAskOrderId(), conversation(
        ["尺码大了 想换小一码"], {"order_task": "exchange"}, intent="request_exchange"))
    assert "由我们承担" not in texts(messages)


def test_how_it_is_handled_is_answered_inside_the_order_form(run_action):
    from actions.products import ActionAskUsage, ActionProductQuestion

    for action in (ActionAskUsage(), ActionProductQuestion()):
        messages, events = run_action(action, conversation(
            ["东西收到是坏的", "怎么处理"], {"order_task": "quality"}, intent="ask_usage"))
        said = texts(messages)
        assert "「收到时破损」" in said and "补发" in said and "运费由我们承担" in said, said
        assert "哪款商品" not in said and events == {}
    # A quality problem: a new one or the money back, the customer chooses.
    messages, _ = run_action(ActionAskUsage(), conversation(
        ["衣服洗了一次就掉色", "怎么处理"], {"order_task": "quality"}, intent="ask_usage"))
    assert "「质量问题」的话,可以给您换新,也可以退货退款" in texts(messages), texts(messages)
    messages, _ = run_action(ActionAskUsage(), conversation(
        ["我要退货", "那怎么办"], {"order_task": "return"}, intent="ask_usage"))
    assert "补发、换货或退款" in texts(messages)
    # Outside an after-sales form it is a usage question as before.
    messages, _ = run_action(ActionAskUsage(), conversation(
        ["怎么处理"], {}, intent="ask_usage", loop=None, requested_slot=None))
    assert "补发" not in texts(messages)
    # Read as nothing (`nlu_fallback`: ask_usage and faq tied), the form itself answers it,
    # and it is not a failed turn.
    messages, slots = run_action(ValidateOrderForm(), conversation(
        ["东西收到是坏的", "怎么处理"], {"order_task": "quality"}, intent="nlu_fallback"))
    said = texts(messages)
    assert "「收到时破损」" in said and "补发" in said, said
    assert slots["failed_attempts"] == 0.0


def test_can_it_be_returned_is_answered_inside_the_form_and_not_counted(run_action):
    # The window comes from the shop's policy (GET /api/policy: 15 days, 7 without reason).
    messages, slots = run_action(ValidateOrderForm(), conversation(
        ["衣服洗了一次就掉色", "能退吗"], {"order_task": "quality"}, intent="request_return"))
    assert "可以的~「质量问题」签收后15天内" in texts(messages), texts(messages)
    # Not a failed turn, and a slot event, so that Rasa does not reject the form (which
    # would drop the answer and clarify instead).
    assert slots["failed_attempts"] == 0.0
    messages, _ = run_action(ValidateOrderForm(), conversation(
        ["我想退货", "可以退吗"], {"order_task": "return"}, intent="request_return"))
    assert "7天内" in texts(messages) and "七天无理由" in texts(messages)
    # Tags cut: no 「可以的~」 that the policy then takes back (the fourth probe).
    messages, _ = run_action(ValidateOrderForm(), conversation(
        ["我想退货", "吊牌剪了还能退不"], {"order_task": "return"}, intent="request_return"))
    said = texts(messages)
    assert "一般不支持无理由退换" in said and "可以的" not in said, said


def test_no_tracking_yet_is_explained_before_the_request(run_action):
    messages, _ = run_action(ActionAskOrderId(), conversation(
        ["为什么显示已发货但是物流没信息"], {"order_task": "track"}, intent="track_logistics"))
    assert texts(messages).index("揽收") < texts(messages).index("订单号")
    # A parcel that stopped moving is no new parcel: the tracking will say.
    messages, _ = run_action(ActionAskOrderId(), conversation(
        ["物流三天没更新了"], {"order_task": "track"}, intent="track_logistics"))
    assert "揽收" not in texts(messages)


def test_a_linked_customer_is_offered_the_order_the_task_is_about(run_action):
    # 「退款到哪了」: 李娜 has one order being returned; it is offered to confirm.
    messages, _ = run_action(ActionAskOrderId(), conversation(
        ["退款到哪了"], {"customer_id": "C0002", "order_task": "refund"}, sender="demo-li",
        verified_customer="C0002"))
    [button] = [button for message in messages for button in message.get("buttons") or []]
    assert "361204587712340013" in button["payload"]
    assert "是这个退货中的订单吗" in texts(messages)
    # Several fit (王伟 can cancel his unpaid and his paid order): only those are offered,
    # not the shipped and the delivered one.
    messages, _ = run_action(ActionAskOrderId(), conversation(
        ["我要取消订单"], {"customer_id": "C0001", "order_task": "cancel"}, sender="demo-wang",
        verified_customer="C0001"))
    offered = [b["payload"] for message in messages for b in message.get("buttons") or []]
    assert len(offered) == 2 and all("340004" in p or "340002" in p for p in offered), offered
    # After a failed turn the whole list again, with nothing preselected.
    messages, _ = run_action(ActionAskOrderId(), conversation(
        ["退款到哪了", "不是"], {"customer_id": "C0002", "order_task": "refund",
                            "failed_attempts": 1.0}, sender="demo-li", verified_customer="C0002"))
    assert len([b for message in messages for b in message.get("buttons") or []]) > 1


def test_a_yes_with_more_words_picks_the_one_order_offered():
    from actions.order_lookup import picked_order

    offer = Tracker.from_dict({
        "sender_id": "demo-li", "slots": {}, "latest_message": {}, "active_loop": {},
        "latest_action_name": "action_listen", "followup_action": None, "paused": False,
        "events": [{"event": "user", "text": "我的快递怎么还没到"},
                   {"event": "bot", "text": "是这个「已发货」的订单吗?", "data": {"buttons": [
                       {"title": "361204587712340011 行李箱 已发货",
                        "payload": '/inform{"order_id":"361204587712340011"}'}]}},
                   {"event": "user", "text": "…"}]})
    for text in ("好的 那大概还要几天呢", "对,什么时候能到", "嗯嗯 就是这个 快点发", "对 就是这个"):
        assert picked_order(offer, text) == "361204587712340011", text
    for text in ("对了 我还想问下发票", "不是这个 是另一个", "是不是这个啊", "好的 不对 是别的单"):
        assert picked_order(offer, text) is None, text
    # Carrying on with the request is a yes too (the form says when: not a question its
    # own rule answers, not a no): 「换M」 had got the same question again.
    for text in ("换M", "寄回去了 单号SF1234567890 什么时候退钱", "单号多少"):
        assert picked_order(offer, text) is None, text
        assert picked_order(offer, text, goes_on=True) == "361204587712340011", text
    for text in ("不是这个", "是0012那单", "另一个订单的"):
        assert picked_order(offer, text, goes_on=True) is None, text
    offer.latest_message = {"text": "充电宝到哪了",
                            "entities": [{"entity": "product", "value": "20000毫安充电宝"}]}
    assert picked_order(offer, "充电宝到哪了", goes_on=True) is None  # other goods
    offer.latest_message = {"text": "行李箱到哪了",
                            "entities": [{"entity": "product", "value": "行李箱"}]}
    assert picked_order(offer, "行李箱到哪了", goes_on=True) == "361204587712340011"


def test_a_timing_question_about_the_one_parcel_offered_picks_it(run_action):
    """「我的快递怎么还没到」 → 「是这个…的订单吗?」 [card] → 「明天几点能到」 (a probe,
    2026-12-07: the shop's dispatch promise and the same card again)."""
    def picked(task: str):
        tracker = conversation(["我的快递怎么还没到", "明天几点能到"],
                               {"customer_id": "C0002", "order_task": task}, sender="demo-li",
                               intent="ask_shipping_time", verified_customer="C0002")
        tracker.events.insert(-2, {"event": "bot", "text": "是这个「已发货」的订单吗?", "data": {
            "buttons": [{"title": "361204587712340011 行李箱 已发货",
                         "payload": '/inform{"order_id":"361204587712340011"}'}]}})
        return run_action(ValidateOrderForm(), tracker)[1].get("order_id")

    assert picked("track") == "361204587712340011"
    assert picked("cancel") is None  # a timing question is no yes to cancelling


def test_a_day_is_the_order_date_only_when_the_words_say_so():
    from datetime import date

    from actions.order_lookup import date_in

    today = date(2026, 12, 6)
    for text, day in (("昨天下的单", date(2026, 12, 5)), ("昨天", date(2026, 12, 5)),
                      ("前天买的键盘到哪了", date(2026, 12, 4)),
                      ("订单是前天的", date(2026, 12, 4)),
                      ("大概11月20号吧", date(2026, 11, 20)), ("是大前天拍的", date(2026, 12, 3)),
                      ("我11月30日买的 12月3号收到的", date(2026, 11, 30)),
                      ("今天收到了 是大前天下的单", date(2026, 12, 3))):
        assert date_in([text], today) == day, text
    for text in ("我昨天刚收到的电饭煲 今天一看降价了50？？能价保吗", "今天一看降价了",
                 "昨天收到的 有点小", "12月3号到的货 能退吗"):
        assert date_in([text], today) is None, text


def test_another_question_instead_of_the_yes_says_the_change_was_not_made(run_action):
    """「改好了没」 when the new address waited for its yes, 「退款多久到」 when the cancellation
    did (the fourth probe): the answer, and that nothing was changed."""
    from action_helpers import admin_proof

    from actions.orders import ActionOrderTask

    paid = "361204587712340002"
    for ask, text, task, said in (
            ("utter_ask_confirm_address", "改好了没", "status", "地址还没有改"),
            ("utter_ask_confirm_cancel", "退款多久到", "refund", "订单还没有取消")):
        answer, _ = run_action(ActionOrderTask(), conversation(
            ["帮我改个地址", ("bot", {"response": ask, "order_id": paid}), text],
            {"order_task": task, "order_id": paid, "verified_order_id": admin_proof(paid)},
            requested_slot=None, loop=None))
        assert said in texts(answer), texts(answer)
    # The yes, or a plain question with nothing pending: no such line.
    answer, _ = run_action(ActionOrderTask(), conversation(
        ["到哪了"], {"order_task": "status", "order_id": paid,
                  "verified_order_id": admin_proof(paid)}, requested_slot=None, loop=None))
    assert "还没确认" not in texts(answer), texts(answer)
