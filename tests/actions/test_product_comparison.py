"""A question comparing products gets each one's facts side by side (the first probe of
guest customers: 「蓝牙耳机Pro和降噪头戴耳机有什么区别」 was answered about the first product
only, with the 蓝牙 and 降噪 of its name; 「羽绒服和冲锋衣哪个保暖」 asked which down jacket),
and each question of a message the catalogue can answer is answered (「能带上飞机吗 多重」
got the weight only)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import pytest
from action_helpers import texts
from test_products import chat

from actions.products import ActionProductQuestion, products_in_text

pytestmark = pytest.mark.usefixtures("document_index")


def ask(run_action, text: str, named: List[str], page: Optional[str] = None,
        earlier: Optional[List[dict]] = None):
    """The action's messages and slots for `text` with the NLU's product entities
    (`named`: the words as typed, with their synonyms' values)."""
    values = {"羽绒服": "羽绒服", "冲锋衣": "三合一冲锋衣", "耳机": "耳机"}
    entities: List[Dict[str, Any]] = [
        {"entity": "product", "value": values.get(word, word), "start": text.index(word),
         "end": text.index(word) + len(word)} for word in named]
    return run_action(ActionProductQuestion(), chat(text, page=page, entities=entities,
                                                    earlier=earlier))


def lines(messages: List[dict]) -> List[str]:
    return texts(messages).splitlines()


@pytest.mark.parametrize("named", [["羽绒服", "冲锋衣"], []])  # the NLU's, or none found
def test_the_attribute_asked_for_each_product(run_action, named) -> None:
    messages, slots = ask(run_action, "羽绒服和冲锋衣哪个保暖", named)
    assert lines(messages) == [
        "帮您对比一下:",
        "「沐风 男士轻薄羽绒服」保暖:适合0℃~10℃穿着",
        "「沐风 女士长款羽绒服」保暖:适合-20℃~0℃穿着",
        "「山野 三合一冲锋衣」保暖:外层+内胆组合适合-5℃~10℃"]
    assert slots["outcome"]["status"] == "resolved"
    assert slots["outcome"]["key"] == "product:P1001+P1002+P1007"


def test_a_difference_question_gets_the_prices_and_what_differs(run_action) -> None:
    messages, _ = ask(run_action, "蓝牙耳机Pro和降噪头戴耳机有什么区别",
                      ["蓝牙耳机Pro", "降噪头戴耳机"])
    said = lines(messages)
    pro = next(line for line in said if line.startswith("「声浪 蓝牙耳机Pro」"))
    headphones = next(line for line in said if line.startswith("「声浪 降噪头戴耳机」"))
    assert "¥399.00" in pro and "主动降噪真无线耳机" in pro and "42dB" in pro and "32小时" in pro
    assert "¥899.00" in headphones and "头戴式" in headphones and "45dB" in headphones \
        and "60小时" in headphones
    # Only what differs: not the same warranty, not what one of them alone lists.
    assert "全国联保" not in texts(messages) and "IPX4" not in texts(messages)
    assert len(said) == 4, said  # the heading, a line for each, the closing question


def test_a_product_named_against_the_page_product(run_action) -> None:
    # 「这个跟…比」 on the Pro's page: the Pro and the headphones, the battery of each.
    messages, _ = ask(run_action, "这个跟降噪头戴耳机比哪个续航长", ["降噪头戴耳机"],
                      page="P2001")
    said = lines(messages)
    assert said[1] == ("「声浪 蓝牙耳机Pro」续航:耳机单次8小时，搭配充电盒总续航32小时；"
                       "充电10分钟听歌2小时")
    assert said[2] == "「声浪 降噪头戴耳机」续航:关闭降噪60小时/开启降噪40小时"
    # A product named with no comparison is still just that product.
    messages, _ = ask(run_action, "蓝牙耳机Pro哪个颜色好看", ["蓝牙耳机Pro"], page="P2002")
    said = texts(messages)
    assert "「声浪 蓝牙耳机Pro」可选颜色:月光白/曜石黑" in said and "降噪头戴耳机" not in said
    assert "蓝牙5.3" not in said  # the name's 蓝牙 asks nothing


def test_one_word_for_two_products_and_a_follow_up(run_action) -> None:
    first, _ = ask(run_action, "这两个耳机有什么区别", ["耳机"])
    assert "蓝牙耳机Pro" in texts(first) and "降噪头戴耳机" in texts(first)
    # 「哪个更轻」 right after: the same two; the catalogue has the weight of one only.
    earlier = [{"event": "user", "text": "这两个耳机有什么区别", "parse_data": {
                    "entities": [{"entity": "product", "value": "耳机", "start": 3, "end": 5}]}},
               {"event": "bot", "text": texts(first),
                "metadata": {"utter_action": "utter_product_differences"}}]
    messages, _ = ask(run_action, "哪个更轻", [], earlier=earlier)
    assert lines(messages)[1:] == ["「声浪 蓝牙耳机Pro」这方面没有查到资料",
                                   "「声浪 降噪头戴耳机」重量:约250g，蛋白皮耳罩可折叠"]


def test_prices_side_by_side(run_action) -> None:
    messages, _ = ask(run_action, "蓝牙耳机Pro跟降噪头戴耳机哪个续航长 哪个便宜",
                      ["蓝牙耳机Pro", "降噪头戴耳机"])
    said = lines(messages)
    assert said[1].startswith("「声浪 蓝牙耳机Pro」价格¥399.00;续航:耳机单次8小时")
    assert said[2].startswith("「声浪 降噪头戴耳机」价格¥899.00;续航:关闭降噪60小时")


def test_what_no_catalogue_says_is_not_guessed(run_action) -> None:
    messages, slots = ask(run_action, "蓝牙耳机Pro和降噪头戴耳机能测心率吗",
                          ["蓝牙耳机Pro", "降噪头戴耳机"])
    said = texts(messages)
    assert "「声浪 蓝牙耳机Pro」、「声浪 降噪头戴耳机」" in said and "没有查到准确的资料" in said
    assert slots["outcome"]["status"] == "unresolved"
    # 「哪个能无线充电」 is one question: the Pro's charging, not its 「真无线」 description.
    messages, _ = ask(run_action, "蓝牙耳机Pro和降噪头戴耳机哪个能无线充电",
                      ["蓝牙耳机Pro", "降噪头戴耳机"])
    assert lines(messages)[1:] == ["「声浪 蓝牙耳机Pro」充电:USB-C有线充电 + Qi无线充电",
                                   "「声浪 降噪头戴耳机」这方面没有查到资料"]


def test_two_products_in_a_question_that_compares_nothing(run_action) -> None:
    # 「充电宝能给耳机充电吗」: a question about the power bank, as before.
    messages, _ = ask(run_action, "充电宝能给耳机充电吗", ["充电宝"])
    assert "帮您对比" not in texts(messages) and "降噪头戴耳机" not in texts(messages)
    # 「这个羽绒服…」 without 「哪个」 or 「区别」: which one is meant.
    messages, _ = ask(run_action, "这个羽绒服洗了会不会掉毛", ["羽绒服"])
    assert "哪款商品" in texts(messages)


def test_the_words_of_product_names_in_a_message() -> None:
    catalogue = [{"id": "P2001", "name": "蓝牙耳机Pro"}, {"id": "P2002", "name": "降噪头戴耳机"},
                 {"id": "P2003", "name": "20000毫安充电宝"}, {"id": "P1003", "name": "纯棉圆领T恤"}]

    def ids(text: str) -> List[List[str]]:
        return [[p["id"] for p in found] for found in products_in_text(text, catalogue)]

    assert ids("降噪头戴耳机和充电宝哪个重") == [["P2002"], ["P2003"]]  # not 耳机 as well
    assert ids("这两个耳机") == [["P2001", "P2002"]]
    assert ids("蓝牙耳机pro跟t恤") == [["P2001"], ["P1003"]]
    assert ids("蓝牙耳机还是头戴耳机") == [["P2001"], ["P2002"]]
    assert ids("手机和电脑") == []


def test_each_question_the_catalogue_answers(run_action) -> None:
    # On the power bank's page: the weight (an attribute) and the flight (its capacity's
    # 民航 rule and its description's 「可带上飞机」).
    for text in ("能带上飞机吗 多重", "坐飞机能带吗 重不重"):
        said = texts(ask(run_action, text, [], page="P2003")[0])
        assert "重量:约390g" in said, said
        assert "符合民航携带规定（≤100Wh）" in said and "可带上飞机" in said, said
    said = texts(ask(run_action, "这个能登机吗", [], page="P2003")[0])
    assert "符合民航携带规定" in said and "没有查到" not in said
    # 托运 is no keyword: the shop's page says the cabin only, not the catalogue's 「可带上飞机」.
    said = texts(ask(run_action, "能托运吗", [], page="P2003")[0])
    assert "不能放在托运行李里" in said and "可带上飞机" not in said
    # No such fact: no guess.
    said = texts(ask(run_action, "能带上飞机吗", [], page="P5001")[0])
    assert "没有查到准确的资料" in said
