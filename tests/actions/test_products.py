"""Product questions, usage help, recommendations and promotions against the running demo
shop and a document index built from knowledge/docs."""

from __future__ import annotations

import json
import os
import re
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
from action_helpers import make_tracker, texts
from rasa_sdk import Tracker

from actions.products import (
    ATTRIBUTES_FILE,
    ActionAskUsage,
    ActionProductQuestion,
    asked_attribute,
    asked_attributes,
    attributes,
)
from actions.promotions import GIFT_QUESTION, ActionAskPromotion, amount_in
from actions.text import day_words
from service_common.config import ConfigError

pytestmark = pytest.mark.usefixtures("document_index")


def chat(text: str, *, page: Optional[str] = None, slots: Optional[Dict[str, Any]] = None,
         entities: Optional[List[Dict[str, Any]]] = None, earlier: Optional[List[dict]] = None,
         sender: str = "guest-products") -> Tracker:
    """A tracker whose session holds `earlier` user events and then this message."""
    latest = {"intent": {"name": "product_question"}, "entities": entities or [], "text": text}
    tracker = make_tracker(slots, sender=sender, latest_message=latest, loop=None)
    metadata = {**tracker.events[0].get("metadata", {}), **({"product_id": page} if page else {})}
    tracker.events = [*(earlier or []), {"event": "user", "text": text, "parse_data": latest,
                                         "metadata": metadata}]
    tracker.active_loop = {}
    return tracker


def test_the_attribute_a_question_asks_for() -> None:
    fryer = {"attributes": {"coating": "不粘", "power": "1450W", "care": "可拆洗"}}
    assert asked_attribute("这个涂层耐刮吗", fryer).key == "coating"
    assert asked_attribute("功率多大 费电吗", fryer).key == "power"
    assert asked_attribute("能放洗碗机洗吗", fryer).key == "care"
    assert asked_attribute("能连手机吗", fryer) is None  # the fryer has no such attribute
    assert asked_attribute("一家三口够用吗", {"attributes": {"capacity": "5L"}}).key == "capacity"
    # A keyboard has no `noise`: how loud it types is what its switches say.
    keyboard = {"attributes": {"switches": "可选红轴（线性）/茶轴（段落）/青轴（有声段落）"}}
    assert asked_attribute("打字声音大吗", keyboard).key == "switches"
    assert asked_attribute("声音大吗", {"attributes": {"noise": "45dB"}}).key == "noise"
    # The coffee's roast: 「咖啡豆是什么烘焙度的」, 「酸不酸」.
    coffee = {"attributes": {"roast": "中深烘焙", "shelf_life": "12个月"}}
    for question in ("这个咖啡豆是什么烘焙度的", "酸不酸", "会不会很苦"):
        assert asked_attribute(question, coffee).key == "roast", question


def test_every_attribute_of_the_demo_catalogue_has_keywords() -> None:
    from shop.catalog import PRODUCTS

    known = {attribute.key for attribute in attributes()}
    used = {key for product in PRODUCTS for key in product["attributes"]}
    assert used <= known, sorted(used - known)


@pytest.mark.parametrize(("change", "where"), [
    # One keyword as text instead of a list used to become one keyword per character
    # (蓝牙 -> 蓝, 牙); a missing label failed only when a customer asked.
    (("  bluetooth:        {label: 蓝牙, keywords: [蓝牙]}",
      "  bluetooth:        {label: 蓝牙, keywords: 蓝牙}"), "attributes.bluetooth.keywords"),
    (("  suction:          {label: 吸力, keywords: [吸力]}",
      "  suction:          {keywords: [吸力]}"), "attributes.suction.label"),
])
def test_mistakes_in_the_attribute_file_name_file_line_and_path(
        tmp_path: Path, change, where: str) -> None:
    shipped = ATTRIBUTES_FILE.read_text(encoding="utf-8")
    assert change[0] in shipped
    edited = tmp_path / "product_attributes.yml"
    edited.write_text(shipped.replace(change[0], change[1]), encoding="utf-8")
    line = shipped.splitlines().index(change[0]) + 1
    with pytest.raises(ConfigError, match=re.escape(f"{edited}:{line}: {where}: ")):
        attributes(edited)


def test_the_page_product_answers_from_the_catalogue_and_suggests_once(run_action) -> None:
    messages, slots = run_action(ActionProductQuestion(), chat("这个涂层耐刮吗", page="P5001"))
    said = texts(messages)
    assert "「悦家 5L空气炸锅」的涂层/防护:内胆为食品级不粘涂层" in said
    assert "顺便推荐一下" in said and slots["recommended"] is True
    assert slots["product_id"] == "P5001"
    suggestion = next(m for m in messages if m["utter_action"] == "utter_recommend")
    card = suggestion["custom"]["cards"][0]
    assert card["action"] == "了解一下" and card["title"] in suggestion["text"]
    assert suggestion["buttons"] == [{"title": f"了解{card['title']}", "payload": card["payload"]}]
    again, _ = run_action(ActionProductQuestion(), chat(
        "功率多大", slots={"product_id": "P5001", "recommended": True}))
    assert "1450W" in texts(again) and "顺便推荐" not in texts(again)


def test_documents_answer_what_the_catalogue_does_not_with_the_source(run_action) -> None:
    messages, _ = run_action(ActionProductQuestion(), chat("第一次用要注意什么", page="P5001"))
    assert "资料来源:悦家 5L空气炸锅 > 首次使用" in texts(messages)


def test_an_unknown_fact_is_not_invented(run_action) -> None:
    messages, slots = run_action(ActionProductQuestion(), chat("它支持无线充电吗", page="P5001"))
    assert "没有查到准确的资料" in texts(messages)
    assert [b["title"] for b in messages[0]["buttons"]] == ["转人工确认", "不用了"]
    assert "recommended" not in slots


def test_a_yes_no_question_the_products_name_answers(run_action) -> None:
    # 「键盘是机械的吗」 about 「键客 K87机械键盘」: the name says it, no 「没有查到」.
    for question in ("键盘是机械的吗", "这个是不是机械的?"):
        messages, _ = run_action(ActionProductQuestion(), chat(question, page="P2005"))
        assert texts(messages).startswith("是的,「键客 K87机械键盘」就是机械的哦"), question
    # A word the name does not have is no yes, and neither is a word the name has in a
    # question that is no yes/no question about it.
    messages, _ = run_action(ActionProductQuestion(), chat("是无线的吗", page="P2005"))
    assert "是的" not in texts(messages)
    messages, _ = run_action(ActionProductQuestion(), chat("机械键盘手感怎么样", page="P2005"))
    assert "就是机械的" not in texts(messages)


def test_several_questions_about_one_product_get_an_answer_each(run_action) -> None:
    messages, _ = run_action(ActionProductQuestion(), chat("防水吗 续航多久 多少钱", page="P2001"))
    said = texts(messages)
    assert "¥399.00" in said and "IPX4防汗防水" in said and "总续航32小时" in said, said
    # Options asked beside attributes (the seventh probe dropped the colours).
    said = texts(run_action(ActionProductQuestion(), chat("是什么面料 能机洗吗 有什么颜色",
                                                          page="P1003"))[0])
    assert "新疆长绒棉" in said and "雾霾蓝" in said, said
    # 「充电多久」 is the charging time, not the charging's kind too.
    power_bank = {"attributes": {"charging": "18W快充", "charging_time": "约4小时"}}
    assert [attr.key for attr in asked_attributes("充电多久", power_bank)] == ["charging_time"]
    assert [attr.key for attr in asked_attributes("支持快充吗 充满要多久", power_bank)] == [
        "charging_time", "charging"]


def test_facts_the_catalogue_states_in_other_words(run_action) -> None:
    # No attribute of its own, but the catalogue says it: in another attribute, in the
    # description, as a count or a Latin term.
    cases = {("防水吗", "P1007"): "防水指数10000mm",
             ("是新米吗", "P4001"): "商品介绍里写着:当季新米",
             ("一盒几片", "P3001"): "商品介绍里写着:一盒10片",
             ("支持65W快充吗", "P2004"): "单口最大65W"}
    for (question, page), fact in cases.items():
        said = texts(run_action(ActionProductQuestion(), chat(question, page=page))[0])
        assert fact in said and "没有查到" not in said, (question, said)
    # A word the catalogue does not have is still no answer.
    said = texts(run_action(ActionProductQuestion(), chat("是有机的吗", page="P4001"))[0])
    assert "没有查到" in said and "商品介绍里写着" not in said, said


def test_colours_and_sizes_come_from_the_products_options(run_action) -> None:
    # 「纯棉圆领T恤」: 颜色 白色/黑色/雾霾蓝/燕麦色, 尺码 S-XXL, in stock.
    for question in ("这个T恤有白色的吗 L码", "有白的吗", "有哪些颜色"):
        messages, _ = run_action(ActionProductQuestion(), chat(question, page="P1003"))
        said = texts(messages)
        assert "颜色:白色/黑色/雾霾蓝/燕麦色" in said and "尺码:S/M/L/XL/XXL" in said, question
        assert "现货" in said and "没有查到" not in said, question
    messages, _ = run_action(ActionProductQuestion(), chat("这个T恤有白色的吗 L码", page="P1003"))
    assert texts(messages).startswith("有的,白色、L都有")
    # A colour it does not come in gets the list, not a yes; 「掉色」 is no question of options.
    messages, _ = run_action(ActionProductQuestion(), chat("有粉色的吗", page="P1003"))
    assert "有的" not in texts(messages) and "雾霾蓝" in texts(messages)
    messages, _ = run_action(ActionProductQuestion(), chat("洗了会掉色吗", page="P1003"))
    assert "雾霾蓝" not in texts(messages)


def test_a_stock_question_gets_the_stock_and_a_sold_out_item_its_restock_day(
        run_action, actions_shop) -> None:
    # 「纯棉圆领T恤」 is in stock; 「27寸4K显示器」 is sold out with a restock day (demo data).
    for question in ("还有货吗", "这个有没有货"):
        said = texts(run_action(ActionProductQuestion(), chat(question, page="P1003"))[0])
        assert said.startswith("「青禾 纯棉圆领T恤」有现货哦") and "没有查到" not in said, said
    request = urllib.request.Request(f"{actions_shop}/api/products/P2008",
                                     headers={"X-Api-Key": os.environ["SHOP_ADMIN_KEY"]})
    with urllib.request.urlopen(request, timeout=5) as reply:
        restock = json.loads(reply.read())["restock_date"]
    for question in ("显示器还有货吗", "什么时候补货", "到货了能通知我吗"):
        said = texts(run_action(ActionProductQuestion(), chat(question, page="P2008"))[0])
        assert "暂时缺货,预计" in said and "补货" in said and "到货提醒" in said, said
        assert "没有查到" not in said, said
    assert restock and day_words(restock) in said  # the shop's date, in words


def test_the_size_questions_product_is_the_one_in_context(run_action) -> None:
    messages, _ = run_action(ActionProductQuestion(), chat(
        "这件什么材质", slots={"size_product": "P1003"}))
    assert "「青禾 纯棉圆领T恤」的材质:100%新疆长绒棉" in texts(messages)


def test_no_product_known_asks_which_and_keeps_the_question(run_action) -> None:
    messages, slots = run_action(ActionProductQuestion(), chat(
        "这个是什么材质的", slots={"customer_id": "C0061"}, sender="demo-zhao"))
    assert "哪款商品" in texts(messages) and slots["pending_question"] == "这个是什么材质的"
    assert "K87机械键盘" in [b["title"] for b in messages[0]["buttons"]]  # last viewed
    named = chat("男士轻薄羽绒服", slots={"pending_question": "这个是什么材质的"},
                 entities=[{"entity": "product", "value": "男士轻薄羽绒服"}])
    messages, slots = run_action(ActionProductQuestion(), named)
    assert "的材质:面料" in texts(messages) and slots["pending_question"] is None


def test_a_word_for_several_products_offers_them_as_buttons(run_action) -> None:
    messages, slots = run_action(ActionProductQuestion(), chat(
        "这个羽绒服洗了会不会掉毛", entities=[{"entity": "product", "value": "羽绒服"}]))
    titles = [b["title"] for b in messages[0]["buttons"]]
    assert "哪款商品" in texts(messages) and {"男士轻薄羽绒服", "女士长款羽绒服"} <= set(titles)
    assert "纯棉圆领T恤" not in titles
    assert slots["pending_question"] == "这个羽绒服洗了会不会掉毛"


def test_a_garment_word_offers_the_clothing_it_covers(run_action) -> None:
    # 「这个衣服会缩水吗」 names no product: the shop's clothing as buttons, the question kept.
    messages, slots = run_action(ActionProductQuestion(), chat("这个衣服会缩水吗"))
    titles = [button["title"] for button in messages[0].get("buttons") or []]
    assert "纯棉圆领T恤" in titles and "男士轻薄羽绒服" in titles, titles
    assert slots["pending_question"] == "这个衣服会缩水吗"
    messages, _ = run_action(ActionProductQuestion(), chat("外套掉色吗"))
    titles = [button["title"] for button in messages[0].get("buttons") or []]
    assert "男士休闲夹克" in titles and "纯棉圆领T恤" not in titles, titles
    messages, _ = run_action(ActionProductQuestion(), chat("这个会坏吗"))
    assert not messages[0].get("buttons")  # no word at all: no guess at the catalogue


def test_the_products_stay_offered_and_the_third_ask_is_worded_differently(run_action) -> None:
    first = {"event": "user", "text": "这个耳机降噪效果怎么样",
             "parse_data": {"entities": [{"entity": "product", "value": "耳机"}]}}
    asked = {"event": "bot", "text": "您问的是哪款商品呢?",
             "metadata": {"utter_action": "utter_ask_which_product"}}
    pending = {"pending_question": "这个耳机降噪效果怎么样"}
    messages, _ = run_action(ActionProductQuestion(), chat(
        "续航多久", slots=pending, earlier=[first, asked]))
    titles = [b["title"] for b in messages[0]["buttons"]]
    assert "哪款商品呢" in texts(messages) and "蓝牙耳机Pro" in titles
    second = {"event": "user", "text": "续航多久", "parse_data": {"entities": []}}
    messages, _ = run_action(ActionProductQuestion(), chat(
        "防水吗", slots=pending, earlier=[first, asked, second, asked]))
    assert "还是没确定是哪款商品" in texts(messages) and messages[0]["buttons"]


def test_no_selling_to_an_upset_customer_or_in_after_sales(run_action) -> None:
    complaint = {"event": "user", "text": "我要投诉",
                 "parse_data": {"intent": {"name": "complain"}, "emotion": {"label": "angry"}}}
    messages, slots = run_action(ActionProductQuestion(), chat(
        "这个涂层耐刮吗", page="P5001", earlier=[complaint]))
    assert "涂层" in texts(messages) and "顺便推荐" not in texts(messages)
    assert "recommended" not in slots


def test_usage_offers_the_topics_the_pages_have_then_answers(run_action) -> None:
    messages, _ = run_action(ActionAskUsage(), chat("这个怎么用", page="P5002"))
    assert [b["title"] for b in messages[0]["buttons"]] == ["安装步骤", "使用注意事项", "清洁保养"]
    chosen = chat('/ask_usage{"usage_topic": "install"}', page="P5002",
                  entities=[{"entity": "usage_topic", "value": "install"}])
    messages, _ = run_action(ActionAskUsage(), chosen)
    assert "资料来源:悦家 4L智能电饭煲 > 安装步骤" in texts(messages)


def test_usage_without_pages_uses_the_catalogue(run_action) -> None:
    messages, _ = run_action(ActionAskUsage(), chat("面膜怎么用", page="P3001"))
    assert "洁面后敷15-20分钟" in texts(messages)


def test_a_question_about_people_the_catalogue_does_not_mention_is_not_guessed(
        run_action) -> None:
    # The mask's caution is about sensitive skin: 「孕妇能用吗」 gets no answer from it.
    messages, _ = run_action(ActionProductQuestion(), chat("这个面膜孕妇能用吗", page="P3001"))
    assert "没有查到准确的资料" in texts(messages) and "耳后" not in texts(messages)
    messages, _ = run_action(ActionProductQuestion(), chat("这个面膜要注意什么", page="P3001"))
    assert "耳后" in texts(messages)


def test_a_usage_question_about_a_catalogue_fact_gets_the_fact(run_action) -> None:
    # 「那怎么保存」 after a question about the coffee: how to store it, from the catalogue.
    messages, _ = run_action(ActionAskUsage(), chat("那怎么保存", page="P4003"))
    assert "密封避光保存" in texts(messages) and "转人工" not in texts(messages)


@pytest.mark.parametrize("text, amount", [
    ("买258能减多少", 258.0), ("我买了399.5元的东西", 399.5), ("300块满减怎么算", 300.0),
    ("满减怎么算", None), ("订单361204587712340003", None),
    # A basket: its prices added up; measures and quoted rules are no prices.
    ("羽绒服499 再加个T恤79 能减多少", 578.0), ("买了299 再加个79的一起能减多少", 378.0),
    ("满399减50 羽绒服499加T恤79能用吗", 578.0), ("175 70公斤穿什么码 加个T恤能减吗", None),
    ("订单361204587712340003和361204587712340001一起", None),
])
def test_amounts_in_promotion_questions(text: str, amount: Optional[float]) -> None:
    assert amount_in(text) == amount


def test_promotions_coupons_and_a_quote(run_action) -> None:
    tracker = make_tracker({"customer_id": "C0001"}, sender="demo-wang", loop=None,
                           latest_message={"intent": {"name": "ask_promotion"}, "entities": [],
                                           "text": "有优惠券吗 买258能减多少"})
    messages, _ = run_action(ActionAskPromotion(), tracker)
    said = texts(messages)
    assert "可用优惠券" in said and "满199减20" in said
    assert "满199元可减20元" in said and "再买141元可减50元" in said
    anonymous = make_tracker(loop=None, latest_message={
        "intent": {"name": "ask_promotion"}, "entities": [], "text": "能便宜点吗"})
    said = texts(run_action(ActionAskPromotion(), anonymous)[0])
    assert "客服这边改不了" in said and "可用优惠券" not in said  # no account to look at
    # The amount asked right after the rules were listed: the quote, not the list again.
    follow_up = make_tracker(loop=None, latest_message={
        "intent": {"name": "ask_promotion"}, "entities": [], "text": "满399减50怎么算"})
    follow_up.events = [{"event": "user", "text": "能便宜点吗"}, {"event": "bot", "text": said},
                        {"event": "user", "text": "满399减50怎么算"}]
    quoted = texts(run_action(ActionAskPromotion(), follow_up)[0])
    assert "实付349元" in quoted and "满199减20" not in quoted
    follow_up.events[1]["text"] = "好的"  # not listed just before: listed with the quote
    assert "满199减20" in texts(run_action(ActionAskPromotion(), follow_up)[0])
    # A product named beside a quoted rule: its price (5L空气炸锅 ¥299), not the rule's 199.
    fryer = make_tracker(loop=None, latest_message={
        "intent": {"name": "ask_promotion"}, "text": "我想买那个空气炸锅 满199减20能用吗",
        "entities": [{"entity": "product", "value": "5L空气炸锅"}]})
    quoted = texts(run_action(ActionAskPromotion(), fryer)[0])
    assert "实付279元" in quoted and "实付179元" not in quoted, quoted
    # Food is left out of 满减: the rice's own quote says so (the sixth probe: 「再买…可减」).
    said = texts(run_action(ActionAskPromotion(), chat("满减能用吗", page="P4001"))[0])
    assert "再买199元（食品类除外）可减20元" in said and "再买129.1元" not in said, said
    # A basket described with its prices: the quote for all of it (the entities as the model
    # gives them: each price goes with the product before it).
    basket = make_tracker(loop=None, latest_message={
        "intent": {"name": "ask_promotion"}, "text": "羽绒服499 再加个T恤79 能减多少",
        "entities": [{"entity": "product", "value": "羽绒服", "start": 0, "end": 3},
                     {"entity": "product", "value": "纯棉圆领T恤", "start": 10, "end": 12}]})
    quoted = texts(run_action(ActionAskPromotion(), basket)[0])
    assert "578元" in quoted and "实付528元" in quoted, quoted
    # 「优惠券怎么用不了」: why a coupon may not apply, then the rules to check it against.
    for text in ("优惠券怎么用不了", "券用不上是怎么回事", "满减怎么没减"):
        trouble = make_tracker(loop=None, latest_message={
            "intent": {"name": "ask_promotion"}, "entities": [], "text": text})
        said = texts(run_action(ActionAskPromotion(), trouble)[0])
        assert "没到使用门槛" in said and "满199减20" in said and "改不了" not in said, text


def test_a_price_question_gets_the_products_price_not_the_promotions(run_action) -> None:
    # 「这个多少钱」 read as a promotion question: on the T-shirt's page, its price.
    messages, _ = run_action(ActionAskPromotion(), chat("这个多少钱", page="P1003"))
    said = texts(messages)
    assert "79" in said and "纯棉圆领T恤" in said and "满199减20" not in said
    # No product known: which one (the question is kept), not the promotion list.
    messages, _ = run_action(ActionAskPromotion(), chat("这个多少钱"))
    assert "哪款商品" in texts(messages) and "满199减20" not in texts(messages)
    # 「优惠后多少钱」 stays a promotion question.
    messages, _ = run_action(ActionAskPromotion(), chat("优惠后多少钱", page="P1003"))
    assert "满199减20" in texts(messages)


def test_review_cashback_is_declined(run_action) -> None:
    messages, _ = run_action(ActionAskPromotion(), make_tracker(loop=None, latest_message={
        "intent": {"name": "ask_promotion"}, "entities": [], "text": "好评返现吗"}))
    assert "不做好评返现" in texts(messages)
    assert "满199减20" not in texts(messages)  # no promotion list after a refusal
    messages, _ = run_action(ActionAskPromotion(), make_tracker(loop=None, latest_message={
        "intent": {"name": "ask_promotion"}, "entities": [], "text": "有什么活动吗"}))
    assert "好评返现" not in texts(messages)


def test_a_coupon_that_cannot_be_claimed_gets_the_reasons(run_action) -> None:
    messages, _ = run_action(ActionAskPromotion(), make_tracker(loop=None, latest_message={
        "intent": {"name": "ask_promotion"}, "entities": [], "text": "这个有优惠券吗 领不到啊"}))
    said = texts(messages)
    assert "领不到券一般是" in said and "满199减20" in said


@pytest.mark.parametrize("text, gift", [
    ("多买几件能送个小礼品吗", True), ("有赠品吗", True), ("买二送一吗", True),
    ("下单送什么", True), ("什么时候送到", False), ("包邮送货上门吗", False),
])
def test_gift_questions(text: str, gift: bool) -> None:
    assert bool(GIFT_QUESTION.search(text)) is gift


def test_a_gift_question_is_answered_before_the_promotions(run_action) -> None:
    # The demo shop gives nothing away: that is said, then what it does offer.
    messages, _ = run_action(ActionAskPromotion(), make_tracker(loop=None, latest_message={
        "intent": {"name": "ask_promotion"}, "entities": [], "text": "多买几件能送个小礼品吗"}))
    said = texts(messages)
    assert "没有买赠" in said and said.index("没有买赠") < said.index("满199减20")
    messages, _ = run_action(ActionAskPromotion(), make_tracker(loop=None, latest_message={
        "intent": {"name": "ask_promotion"}, "entities": [], "text": "多买能便宜吗"}))
    assert "没有买赠" not in texts(messages)


def test_goods_the_shop_does_not_sell_are_said_so(run_action) -> None:
    messages, _ = run_action(ActionProductQuestion(), chat("你们卖手机吗"))
    assert "没有在卖「手机」" in texts(messages)
    messages, _ = run_action(ActionProductQuestion(), chat("有没有卖猫粮的"))
    assert "没有在卖「猫粮」" in texts(messages)
    # Goods it sells: which one, as before; so for a question that is not about selling.
    messages, _ = run_action(ActionProductQuestion(), chat("有卖羽绒服吗"))
    assert "没有在卖" not in texts(messages)
    messages, _ = run_action(ActionProductQuestion(), chat("你们卖的什么"))
    assert "没有在卖" not in texts(messages)
    for text in ("这个卖多少钱", "卖得好吗", "卖完了吗", "是不是卖断货了", "还卖吗"):
        messages, _ = run_action(ActionProductQuestion(), chat(text))
        assert "没有在卖" not in texts(messages), text


def test_an_unclear_follow_up_about_the_product_gets_its_facts(run_action) -> None:
    """「敏感肌呢」「下暴雨行不行」 on a product page read as nothing clear (the sixth probe
    got 「您是想: 商品咨询 / 都不是」): the catalogue's answer about that product."""
    from actions.fallback import ActionClarify

    for text, page, fact in (("敏感肌呢", "P3001", "适合所有肤质"),
                             ("下暴雨行不行", "P1007", "防水指数10000mm")):
        tracker = chat(text, page=page)
        tracker.latest_message["intent"] = {"name": "nlu_fallback"}
        tracker.latest_message["intent_ranking"] = [{"name": "product_question",
                                                     "confidence": 0.3}]
        said = texts(run_action(ActionClarify(), tracker)[0])
        assert fact in said and "您是想" not in said, (text, said)
    # Nothing the catalogue answers: the clarifying question, as before.
    tracker = chat("那个呢", page="P3001")
    tracker.latest_message["intent"] = {"name": "nlu_fallback"}
    tracker.latest_message["intent_ranking"] = [{"name": "product_question", "confidence": 0.3}]
    assert "您是想" in texts(run_action(ActionClarify(), tracker)[0])
