"""价保 in the conversation: the order form takes a price-protection request as the task
`price` (also when the order number answers the price-protection answer), and the task
action tells the customer what the shop found and filed. Against a demo shop of its own:
the claims filed here would change other tests' orders."""

from __future__ import annotations

import pytest
from action_helpers import make_tracker, texts
from test_no_loops import conversation

from actions.forms import ValidateOrderForm, price_protection_task
from actions.orders import ActionOrderTask

RICE_COOKER = "361204587712340022"  # 赵磊: paid 449, the price now 399, delivered yesterday
JACKET = "361204587712340021"  # delivered two days ago, prices unchanged
RESENT = "361204587712340023"  # delivered three weeks ago
KEYBOARD = "361204587712340002"  # 王伟: paid, not shipped
ORDER_ENTITY = [{"entity": "order_id", "value": RICE_COOKER}]


@pytest.fixture(scope="module")
def price_shop(shop_factory) -> str:
    return shop_factory().url


@pytest.fixture
def run_action(run_action, price_shop, monkeypatch):
    """The actions against this module's shop (set after conftest's run_action set its own)."""
    monkeypatch.setenv("SHOP_API_URL", price_shop)
    return run_action


def verified(order_id: str):
    return make_tracker({"order_id": order_id, "verified_order_id": order_id,
                         "order_task": "price"}, sender="demo-zhao")


def test_a_fall_is_filed_and_asking_again_shows_the_claim(run_action) -> None:
    messages, _ = run_action(ActionOrderTask(), verified(RICE_COOKER))
    said = texts(messages)
    assert "4L智能电饭煲下单价¥449.00,现价¥399.00" in said, said
    assert "差价¥50.00已经申请价保退款" in said and "售后单号AS" in said and "原路退回" in said
    messages, _ = run_action(ActionOrderTask(), verified(RICE_COOKER))
    said = texts(messages)
    assert "已经申请过价保了" in said and "差价¥50.00" in said and "处理中" in said, said


def test_no_fall_and_the_windows(run_action) -> None:
    messages, _ = run_action(ActionOrderTask(), verified(JACKET))
    said = texts(messages)
    assert "没有降价" in said and "下单价¥" in said and "这单的价保到" in said, said
    messages, _ = run_action(ActionOrderTask(), make_tracker(
        {"order_id": KEYBOARD, "verified_order_id": KEYBOARD, "order_task": "price"}))
    assert "签收前和签收后7天内降价都可以申请价保" in texts(messages)
    messages, _ = run_action(ActionOrderTask(), verified(RESENT))
    assert "不在价保期内" in texts(messages) and "差价" not in texts(messages)


@pytest.mark.parametrize("text, intent, wanted", [
    ("这单降价了 能退差价吗", "request_refund", True),
    ("申请价保", "faq", True),
    ("买完就便宜了30 给我补差价", "request_refund", True),
    ("刚买就降了50 能退吗", "request_return", True),
    ("前天买的电饭煲今天降了50 怎么申请", "request_return", True),  # the fourth probe's guest
    ("买了就便宜了二十 咋弄", "request_refund", True),
    ("降价了 怎么申请退货", "request_return", False),
    ("我要退货", "request_return", False),
    ("降价了 我要退货", "request_return", False),
    ("降价了 退货还是退差价划算", "request_return", True),
    ("换成XL吧 我补差价", "request_refund", False),
    ("双11会降价吗", "ask_promotion", False),
])
def test_what_asks_for_price_protection(text: str, intent: str, wanted: bool) -> None:
    assert price_protection_task(conversation([text], intent=intent)) is wanted


def test_the_order_number_after_the_policy_answer_is_checked(run_action) -> None:
    policy_answer = {"event": "bot", "text": "亲,本店支持价保…把订单号发给我…",
                     "metadata": {"utter_action": "utter_faq/price_protection"}}
    tracker = conversation(["电饭煲降价了 价保怎么弄", RICE_COOKER], intent="inform",
                           entities=ORDER_ENTITY, set_now={"order_id": RICE_COOKER},
                           requested_slot=None)
    tracker.events.insert(-2, policy_answer)  # the bot's answer to the first message
    _, slots = run_action(ValidateOrderForm(), tracker)
    assert slots.get("order_task") == "price"
    # Without that answer before it, a bare order number keeps the task it had.
    tracker = conversation([RICE_COOKER], {"order_task": "track"}, intent="inform",
                           entities=ORDER_ENTITY, set_now={"order_id": RICE_COOKER},
                           requested_slot=None)
    _, slots = run_action(ValidateOrderForm(), tracker)
    assert slots.get("order_task", "track") == "track"
