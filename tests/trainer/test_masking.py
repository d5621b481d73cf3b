"""Personal data in customer messages: masked for display, pseudonymised for data."""

from __future__ import annotations

import re

import pytest

from privacy import Pseudonymizer, mask_personal

CASES = [
    # (message, personal values that must disappear, text that must stay)
    ("我的手机是13812345678,地址浙江省杭州市西湖区文三路100号 张三收",
     ["13812345678", "文三路100号", "张三"], ["138****5678", "浙江省杭州市西湖区"]),
    ("订单361204587712340001怎么还没到", ["361204587712340001"], ["3612", "0001", "怎么还没到"]),
    ("收货人李小明 电话 139-1234-5678", ["李小明", "139-1234-5678", "12345678"],
     ["收货人", "电话"]),
    ("我叫王伟，发票发到caiwu@qinghe.com", ["王伟", "caiwu@qinghe.com"], ["ca***@qinghe.com"]),
    ("身份证330106199001011234", ["330106199001011234"], ["身份证"]),
    ("身份证号33010619900101123X", ["33010619900101123X"], []),
    ("寄到上海市浦东新区张江路88号3栋501室", ["张江路88号", "501室"], ["上海市浦东新区"]),
    ("地址改成朝阳路18号2单元", ["朝阳路18号"], ["改成"]),
    ("卡号 6222 0212 3456 7890 退到这张", ["6222 0212 3456 7890", "3456"], ["退到这张"]),
    ("座机0571-88886666", ["88886666"], ["0571"]),
    ("+86 13912345678 张伟", ["13912345678", "张伟"], []),
    ("顺丰SF1428837465021到哪了", ["1428837465021"], ["到哪了"]),
]
UNTOUCHED = ["我家猫把数据线咬坏了能换吗", "尺码是3号吗", "杭州市今天下雨吗", "王先生你好",
             "江浙沪一般次日达,其他地区大约2-4天送到。", "身高175体重140斤穿什么码",
             "满199减20,买258能减多少", "尾号5678"]


@pytest.mark.parametrize(("text", "gone", "kept"), CASES)
def test_mask_hides_personal_data_and_keeps_the_rest(text, gone, kept):
    masked = mask_personal(text)
    for value in gone:
        assert value not in masked, (text, masked)
    for value in kept:
        assert value in masked, (text, masked)


@pytest.mark.parametrize("text", UNTOUCHED)
def test_ordinary_messages_are_not_masked(text):
    assert mask_personal(text) == text
    assert Pseudonymizer().text(text) == text


@pytest.mark.parametrize(("text", "gone", "kept"), CASES)
def test_pseudonyms_replace_personal_data_with_the_same_shape(text, gone, kept):
    fake = Pseudonymizer().text(text)
    for value in gone:
        assert value not in fake, (text, fake)
    assert "*" not in fake
    # Numbers keep their length: an order number is still an 18-digit order number.
    def lengths(value: str) -> list:
        return sorted(len(n) for n in re.findall(r"\d{7,}", re.sub(r"[ -]", "", value)))

    if "+86" not in text:
        assert lengths(text) == lengths(fake)


def test_pseudonyms_are_consistent_within_a_conversation_and_differ_by_salt():
    one = Pseudonymizer(salt="a")
    first = one.text("订单361204587712340001")
    assert one.text("就是361204587712340001这个") == f"就是{first[2:]}这个"
    assert Pseudonymizer(salt="b").text("订单361204587712340001") != first
    assert one.text("13812345678") != one.text("13812345679")


def test_a_fake_is_never_rewritten_by_a_later_pattern():
    fake = Pseudonymizer().text("我的手机是13812345678 订单361204587712340001")
    phone, order = re.findall(r"\d{7,}", fake)
    assert phone.startswith("1380000") and len(phone) == 11  # visibly made up
    assert order.startswith("36") and len(order) == 18 and order != "361204587712340001"
