"""A basket quoted over several messages (「羽绒服多少钱」, 「再加一件T恤呢」,
「两件T恤 能减多少」): counts, earlier goods, the food rule and the short line on a follow-up,
against the demo shop (纯棉圆领T恤 79, 男士轻薄羽绒服 499, 女士长款羽绒服 899, 玻尿酸补水面膜 89,
烟酰胺精华液 159, 五常大米5kg 69.9 food, 5L空气炸锅 299; 满199减20、满399减50, food excluded)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import pytest
from action_helpers import make_tracker, texts
from rasa_sdk import Tracker

from actions.promotions import ActionAskPromotion, said_in

PRODUCTS = {"T恤": "纯棉圆领T恤", "面膜": "玻尿酸补水面膜", "精华液": "烟酰胺精华液",
            "大米": "五常大米5kg", "羽绒服": "羽绒服", "口红": "丝绒哑光口红"}
# What answered each earlier message (the session's action events).
ACTIONS = {"ask_promotion": "action_ask_promotion", "inform": "action_product_question"}


def parsed(text: str, intent: str = "ask_promotion") -> Dict[str, Any]:
    """The parse of a message as the model gives it: a product entity (synonym applied) where
    each product word stands; a button's payload names the product id."""
    entities: List[Dict[str, Any]] = []
    if text.startswith("/"):
        product = text.split('"')[-2]
        entities.append({"entity": "product", "value": product, "start": 7, "end": len(text)})
    else:
        for word, value in PRODUCTS.items():
            start = text.find(word)
            if start >= 0:
                entities.append({"entity": "product", "value": value, "start": start,
                                 "end": start + len(word)})
    return {"intent": {"name": intent}, "entities": entities, "text": text}


def session(*messages: Tuple[str, str], page: Optional[str] = None,
            slots: Optional[Dict[str, Any]] = None) -> Tracker:
    """A session of (text, intent) messages, each earlier one answered; the last is the
    latest."""
    events: List[Dict[str, Any]] = []
    metadata = {"product_id": page} if page else {}
    for index, (text, intent) in enumerate(messages):
        events.append({"event": "user", "text": text, "parse_data": parsed(text, intent),
                       "metadata": metadata})
        if index < len(messages) - 1:
            events += [{"event": "action", "name": ACTIONS[intent]},
                       {"event": "bot", "text": "(the answer)"},
                       {"event": "action", "name": "action_listen"}]
    tracker = make_tracker(slots, sender="guest-basket", loop=None,
                           latest_message=events[-1]["parse_data"])
    tracker.events = [{"event": "session_started"}, *events]
    tracker.active_loop = {}
    return tracker


def ask(run_action, *messages: Tuple[str, str], **options: Any) -> Tuple[str, List[dict]]:
    replies, _ = run_action(ActionAskPromotion(), session(*messages, **options))
    return texts(replies), [button for reply in replies for button in reply.get("buttons") or []]


@pytest.mark.parametrize("text, goods", [
    ("两件T恤 能减多少", [("纯棉圆领T恤", None, 2)]),
    ("还有3盒面膜", [("玻尿酸补水面膜", None, 3)]),
    ("T恤x2 再加个羽绒服", [("纯棉圆领T恤", None, 2), ("羽绒服", None, 1)]),
    ("T恤两件 面膜三盒", [("纯棉圆领T恤", None, 2), ("玻尿酸补水面膜", None, 3)]),
    ("十二支口红一共多少", [("丝绒哑光口红", None, 12)]),
    ("羽绒服499 再加个T恤79 能减多少", [("羽绒服", 499.0, 1), ("纯棉圆领T恤", 79.0, 1)]),
    ("满399减50 羽绒服499加T恤79能用吗", [("羽绒服", 499.0, 1), ("纯棉圆领T恤", 79.0, 1)]),
    ("买了299 再加个79的一起能减多少", [("", 299.0, 1), ("", 79.0, 1)]),
    ("有没有第二件半价", []),
])
def test_the_goods_a_message_names(text: str, goods: list) -> None:
    said = said_in(text, parsed(text)["entities"])
    assert [(item.word, item.price, item.quantity) for item in said.items] == goods


def test_what_goes_on_from_earlier_messages() -> None:
    assert said_in("再加一件T恤呢", parsed("再加一件T恤呢")["entities"]).goes_on
    assert said_in("那还有3盒面膜呢", parsed("那还有3盒面膜呢")["entities"]).goes_on
    assert said_in("一共能减多少", []).goes_on
    more = said_in("再来两个", [])
    assert more.goes_on and more.quantity == 2
    # A basket in one message, and a question with nothing added, stand alone.
    assert not said_in("羽绒服499 再加个T恤79", parsed("羽绒服499 再加个T恤79")["entities"]).goes_on
    assert not said_in("还有别的优惠吗", []).goes_on
    assert not said_in("两件T恤 能减多少", parsed("两件T恤 能减多少")["entities"]).goes_on


def test_the_probe_a_basket_grown_over_several_messages(run_action) -> None:
    asked = ("羽绒服多少钱", "ask_promotion")
    # Which jacket is not known: the T-shirt is quoted, the jacket asked, no price guessed.
    said, buttons = ask(run_action, asked, ("再加一件T恤呢", "ask_promotion"))
    assert "「纯棉圆领T恤」79元:商品金额79元，实付79元，包邮。再买120元可减20元。" in said, said
    assert "「羽绒服」还没算进去" in said, said
    assert "「男士轻薄羽绒服」499元" in said and "「女士长款羽绒服」899元" in said, said
    assert [button["payload"] for button in buttons] == [
        '/inform{"product": "P1001"}', '/inform{"product": "P1002"}'], buttons
    # A follow-up: the basket's line, not the shop's whole promotion text again.
    assert "店铺活动" not in said and "满199减20" not in said, said
    # The jacket picked from the buttons is the one asked about: both are quoted.
    said, buttons = ask(run_action, asked, ("再加一件T恤呢", "ask_promotion"),
                        ('/inform{"product": "P1001"}', "inform"),
                        ("一共能减多少", "ask_promotion"))
    assert "「男士轻薄羽绒服」499元、「纯棉圆领T恤」79元:商品金额578元，满399元可减50元，" \
           "实付528元" in said, said
    assert "还没算进去" not in said and not buttons and "店铺活动" not in said, said
    # 「能减多少」「最后付多少」 with nothing named: the same basket.
    for follow_up in ("能减多少", "那最后付多少"):
        said, _ = ask(run_action, asked, ("再加一件T恤呢", "ask_promotion"),
                      ('/inform{"product": "P1001"}', "inform"), (follow_up, "ask_promotion"))
        assert "商品金额578元" in said and "实付528元" in said, (follow_up, said)
    # 「两件T恤」: 2 × 79, the short line.
    said, _ = ask(run_action, asked, ("再加一件T恤呢", "ask_promotion"),
                  ("两件T恤 能减多少", "ask_promotion"))
    assert "「纯棉圆领T恤」79元×2:商品金额158元，实付158元，包邮。再买41元可减20元。" in said, said
    assert "店铺活动" not in said, said


def test_counts_and_goods_added_message_by_message(run_action) -> None:
    masks = ("3盒面膜 能减多少", "ask_promotion")
    said, _ = ask(run_action, masks)
    assert "「玻尿酸补水面膜」89元×3:商品金额267元，满199元可减20元，实付247元" in said, said
    assert "店铺活动" in said  # the first promotion question of the session: the rules too
    said, _ = ask(run_action, masks, ("还有两瓶精华液", "ask_promotion"))
    assert "「玻尿酸补水面膜」89元×3、「烟酰胺精华液」159元×2:商品金额585元，满399元可减50元，" \
           "实付535元" in said, said
    assert "店铺活动" not in said, said
    # 「再来两个」: two more of the last one; 「再加一件T恤」 after the T-shirt: two of it.
    said, _ = ask(run_action, masks, ("还有两瓶精华液", "ask_promotion"),
                  ("再来两个", "ask_promotion"))
    assert "「玻尿酸补水面膜」89元×3、「烟酰胺精华液」159元×4:商品金额903元" in said, said
    said, _ = ask(run_action, ("T恤多少钱", "ask_promotion"),
                  ("再加一件T恤能减多少", "ask_promotion"))
    assert "「纯棉圆领T恤」79元×2:商品金额158元" in said, said
    # A jacket named with its price is that jacket; a price alone is added as it is.
    said, buttons = ask(run_action, ("羽绒服899 再加个T恤呢", "ask_promotion"))
    assert "「女士长款羽绒服」899元、「纯棉圆领T恤」79元:商品金额978元，满399元可减50元" in said
    assert not buttons and "还没算进去" not in said, said
    said, _ = ask(run_action, ("T恤x2 能减多少", "ask_promotion"),
                  ("再买41元的呢", "ask_promotion"))
    assert "「纯棉圆领T恤」79元×2、41元:商品金额199元，满199元可减20元，实付179元" in said, said


def test_food_is_left_out_of_the_reduction_in_a_basket(run_action) -> None:
    # 158 of T-shirts and the rice: 满减 on the T-shirts only (227.9 would reach 199).
    said, _ = ask(run_action, ("两件T恤 能减多少", "ask_promotion"),
                  ("再加一袋大米呢", "ask_promotion"))
    assert "「纯棉圆领T恤」79元×2:商品金额158元，实付158元，包邮。再买41元可减20元。" in said, said
    assert "其中「五常大米5kg」69.9元是食品,不参与满减,按原价另算69.9元。" in said, said
    assert "满199元可减20元" not in said and "227.9" not in said, said
    # Food alone: the shop's own quote says it is left out.
    said, _ = ask(run_action, ("两袋大米能减多少", "ask_promotion"))
    assert "「五常大米5kg」69.9元×2:商品金额139.8元" in said, said
    assert "再买199元（食品类除外）可减20元" in said, said


def test_the_product_in_view_begins_the_basket(run_action) -> None:
    # On the fryer's page: 「再加一件T恤」 is the fryer and a T-shirt; the first question of the
    # session, so the rules come too.
    said, _ = ask(run_action, ("再加一件T恤能减多少", "ask_promotion"), page="P5001")
    assert "「5L空气炸锅」299元、「纯棉圆领T恤」79元:商品金额378元，满199元可减20元，实付358元" \
           in said, said
    assert "店铺活动" in said
    # 「买两件能减多少」 after the T-shirt was talked about: two of it.
    said, _ = ask(run_action, ("买两件能减多少", "ask_promotion"), slots={"product_id": "P1003"})
    assert "「纯棉圆领T恤」79元×2:商品金额158元" in said, said
    # A price question about one product is still its price, not a quote.
    said, _ = ask(run_action, ("T恤多少钱", "ask_promotion"))
    assert "商品金额" not in said and "79" in said, said
