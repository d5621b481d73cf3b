"""The other questions of a message with several: answered after the main answer."""

from typing import Any, Dict, List, Optional

from action_helpers import SLOT_DEFAULTS, delivered, texts
from rasa_sdk import Tracker

from actions.more import ActionAnswerMore

# 「什么时候发货?包邮吗?能开发票吗?」: the invoice is the main task; the detector's extras.
EXTRA = [{"label": "ask_shipping_time", "text": "什么时候发货", "confidence": 0.97},
         {"label": "faq/shipping_fee", "text": "包邮吗", "confidence": 0.98}]


def asked(extra: List[Dict[str, Any]], loop: Optional[str]) -> Tracker:
    latest = {"text": "什么时候发货?包邮吗?能开发票吗?", "intent": {"name": "ask_invoice"},
              "entities": [], "extra_questions": extra}
    return Tracker("guest-more", dict(SLOT_DEFAULTS), latest, [], False, None,
                   {"name": loop} if loop else {}, "action_listen")


def test_inside_a_form_questions_with_a_general_answer_are_answered(run_action):
    messages, _ = run_action(ActionAnswerMore(), asked(EXTRA, loop="order_form"))
    said = texts(delivered(messages, {}))
    assert "「什么时候发货」" in said and "16点前付款当天发货" in said
    assert "「包邮吗」" in said and "包邮" in said.split("「包邮吗」", 1)[1]
    assert not any(message.get("buttons") for message in messages)


def test_outside_a_form_another_task_is_offered_as_a_button(run_action):
    messages, _ = run_action(ActionAnswerMore(), asked(EXTRA[:1], loop=None))
    assert [button["payload"] for message in messages for button in message.get("buttons") or []
            ] == ["/ask_shipping_time"]
    assert "16点前" not in texts(delivered(messages, {}))


def test_a_question_about_the_product_talked_about_is_answered(run_action):
    """「175 70kg穿什么码 是纯棉的吗」 on the T-shirt's page: the size advice, then the
    material from the catalogue (the sixth probe lost it)."""
    from test_products import chat

    tracker = chat("175 70kg穿什么码 是纯棉的吗", page="P1003")
    tracker.latest_message["extra_questions"] = [
        {"label": "product_question", "text": "是纯棉的吗", "confidence": 0.9}]
    said = texts(delivered(run_action(ActionAnswerMore(), tracker)[0], {}))
    assert "「是纯棉的吗」" in said and "材质" in said and "棉" in said.split("材质", 1)[1], said
    # No product in context: offered as a button, as before.
    tracker = chat("175 70kg穿什么码 是纯棉的吗")
    tracker.latest_message["extra_questions"] = [
        {"label": "product_question", "text": "是纯棉的吗", "confidence": 0.9}]
    messages, _ = run_action(ActionAnswerMore(), tracker)
    assert [b["payload"] for m in messages for b in m.get("buttons") or []] == [
        "/product_question"], messages


def test_a_promotion_question_is_answered_inside_a_form_too(run_action):
    """「我的快递到哪了 还有现在有什么优惠活动吗」: the order asked for, the promotions said."""
    extra = {"label": "ask_promotion", "text": "还有现在有什么优惠活动吗", "confidence": 0.9}
    latest = {"text": "我的快递到哪了 还有现在有什么优惠活动吗",
              "intent": {"name": "track_logistics"}, "entities": [], "extra_questions": [extra]}
    tracker = Tracker("guest-more", dict(SLOT_DEFAULTS), latest, [], False, None,
                      {"name": "order_form"}, "action_listen")
    messages, events = run_action(ActionAnswerMore(), tracker)
    said = texts(delivered(messages, {}))
    assert "「还有现在有什么优惠活动吗」" in said and "满199减20" in said, said
    assert events["outcome"]["reason"] == "promotion_info", events


def test_another_task_inside_a_form_is_offered_once_the_task_is_done(run_action):
    """「耳机到哪了 顺便帮我开个发票」: the invoice form runs; the tracking is said to come
    after it, and offered as a button once the order task is done."""
    from action_helpers import make_tracker

    from actions.orders import ActionOrderTask

    latest = {"text": "耳机到哪了 顺便帮我开个发票", "intent": {"name": "ask_invoice"},
              "entities": [], "extra_questions": [
                  {"label": "track_logistics", "text": "耳机到哪了", "confidence": 0.9}]}
    tracker = Tracker("guest-more", dict(SLOT_DEFAULTS), latest, [], False, None,
                      {"name": "order_form"}, "action_listen")
    messages, slots = run_action(ActionAnswerMore(), tracker)
    assert "「耳机到哪了」,这个办完我接着帮您处理" in texts(delivered(messages, {}))
    assert not any(message.get("buttons") for message in messages)
    pending = slots["pending_task"]
    assert pending == {"label": "track_logistics", "text": "耳机到哪了"}
    # The order task done (here a status): the tracking offered, then forgotten.
    done = make_tracker({"order_id": "361204587712340001",
                         "verified_order_id": "361204587712340001", "order_task": "status",
                         "pending_task": pending}, loop=None)
    messages, slots = run_action(ActionOrderTask(), done)
    assert "您刚才还提到「耳机到哪了」" in texts(delivered(messages, {}))
    assert [b["payload"] for m in messages for b in m.get("buttons") or []][-1] == \
        "/track_logistics"
    assert slots["pending_task"] is None
