"""Customer-facing wording and address parsing."""

from datetime import date

import pytest

from actions.text import (
    address_in,
    address_problem,
    day_words,
    format_address,
    mask_phone,
    parse_address,
)

REFERENCE = date(2026, 11, 24)  # a Tuesday


@pytest.mark.parametrize("value, words", [
    ("2026-11-24", "今天(11月24日 周二)"),
    ("2026-11-25T09:00:00+08:00", "明天(11月25日 周三)"),
    ("2026-11-26", "后天(11月26日 周四)"),
    ("2026-11-23", "昨天(11月23日 周一)"),
    ("2026-11-30", "11月30日 周一"),
    ("2026-11-24T20:30:00+00:00", "明天(11月25日 周三)"),  # UTC evening is the next day in China
    (None, ""),
    ("not a date", ""),
])
def test_day_words(value, words):
    assert day_words(value, REFERENCE) == words


def test_mask_phone_hides_the_middle_digits_only():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("订单361204587712340001") == "订单361204587712340001"  # not a phone


@pytest.mark.parametrize("text, expected", [
    ("张三 13800000000 浙江省杭州市西湖区文三路100号",
     ("张三", "13800000000", "浙江省", "杭州市", "西湖区", "文三路100号")),
    ("北京市朝阳区建国路88号SOHO现代城A座1201",
     ("", "", "北京市", "北京市", "朝阳区", "建国路88号SOHO现代城A座1201")),
    ("改成 上海市浦东新区张江路500弄3号 李四 13912345678",
     ("李四", "13912345678", "上海市", "上海市", "浦东新区", "张江路500弄3号")),
    ("收件人:王芳,电话:15900001111,地址:广东省深圳市南山区科技园科苑路15号",
     ("王芳", "15900001111", "广东省", "深圳市", "南山区", "科技园科苑路15号")),
    ("广西壮族自治区南宁市青秀区民族大道100号",
     ("", "", "广西壮族自治区", "南宁市", "青秀区", "民族大道100号")),
    # Ordinary ways customers write addresses that the old pattern rejected:
    ("浙江杭州西湖区文三路100号", ("", "", "浙江省", "杭州市", "西湖区", "文三路100号")),
    ("杭州市西湖区文三路100号", ("", "", "浙江省", "杭州市", "西湖区", "文三路100号")),
    ("广西南宁市青秀区民族大道100号",
     ("", "", "广西壮族自治区", "南宁市", "青秀区", "民族大道100号")),
    ("新疆乌鲁木齐市天山区解放北路1号",
     ("", "", "新疆维吾尔自治区", "乌鲁木齐市", "天山区", "解放北路1号")),
    ("广东省东莞市长安镇长青路8号", ("", "", "广东省", "东莞市", "长安镇", "长青路8号")),
    ("刘洋 13700001111 上海浦东新区世纪大道1号",
     ("刘洋", "13700001111", "上海市", "上海市", "浦东新区", "世纪大道1号")),
])
def test_parse_address(text, expected):
    address = parse_address(text)
    keys = ("name", "phone", "province", "city", "district", "detail")
    assert tuple(address[key] for key in keys) == expected
    assert address_problem(address) is None


# The address first, then the name and the phone (as many customers write it), with or without
# 收件人/联系人, separated by spaces, ，, ；, 、 or nothing at all before the phone.
@pytest.mark.parametrize("text, expected", [
    ("浙江省杭州市西湖区文三路90号 张伟 13812345678",
     ("张伟", "13812345678", "浙江省", "杭州市", "西湖区", "文三路90号")),
    ("北京市朝阳区建国路88号SOHO现代城2号楼1201室，李娜，电话13900001111",
     ("李娜", "13900001111", "北京市", "北京市", "朝阳区", "建国路88号SOHO现代城2号楼1201室")),
    # 「手机尾号不变」: the phone stays the order's, and is no part of the address.
    ("广东深圳南山区科技园科苑路15号 收件人王芳 手机尾号不变",
     ("王芳", "", "广东省", "深圳市", "南山区", "科技园科苑路15号")),
    ("广东深圳南山区科技园科苑路15号 手机号不变 王芳",
     ("王芳", "", "广东省", "深圳市", "南山区", "科技园科苑路15号")),
    ("浙江省杭州市西湖区文三路90号 联系人张伟 13812345678",
     ("张伟", "13812345678", "浙江省", "杭州市", "西湖区", "文三路90号")),
    ("浙江省杭州市西湖区文三路90号，收件人：张伟，联系电话：13812345678",
     ("张伟", "13812345678", "浙江省", "杭州市", "西湖区", "文三路90号")),
    ("浙江省杭州市西湖区文三路90号；欧阳娜娜；13812345678",
     ("欧阳娜娜", "13812345678", "浙江省", "杭州市", "西湖区", "文三路90号")),
    ("浙江省杭州市西湖区文三路90号、张伟、13812345678",
     ("张伟", "13812345678", "浙江省", "杭州市", "西湖区", "文三路90号")),
    ("浙江省杭州市西湖区文三路90号张伟13812345678",
     ("张伟", "13812345678", "浙江省", "杭州市", "西湖区", "文三路90号")),
    ("浙江省杭州市西湖区文三路90号 13812345678 张伟收",
     ("张伟", "13812345678", "浙江省", "杭州市", "西湖区", "文三路90号")),
    ("浙江省杭州市西湖区文三路90号 张伟 13812345678 谢谢",
     ("张伟", "13812345678", "浙江省", "杭州市", "西湖区", "文三路90号")),
    # Regions written apart are no name: 浙江 and 杭州 here, 翠苑 inside the address.
    ("浙江 杭州 西湖区 文三路90号 张伟 13812345678",
     ("张伟", "13812345678", "浙江省", "杭州市", "西湖区", "文三路90号")),
    ("浙江省杭州市西湖区 翠苑 一区5幢 张伟",
     ("张伟", "", "浙江省", "杭州市", "西湖区", "翠苑一区5幢")),
    ("浙江 杭州 西湖区 文三路90号", ("", "", "浙江省", "杭州市", "西湖区", "文三路90号")),
    # A name like a city's before an address of elsewhere is the name (许昌 is in 河南).
    ("许昌 13800000000 浙江省杭州市西湖区文三路90号",
     ("许昌", "13800000000", "浙江省", "杭州市", "西湖区", "文三路90号")),
    # Nothing glued to the house number is taken for a name when it is a building.
    ("北京市朝阳区建国路88号金地大厦13900001111",
     ("", "13900001111", "北京市", "北京市", "朝阳区", "建国路88号金地大厦")),
    ("浙江省杭州市西湖区文三路90号 麻烦了", ("", "", "浙江省", "杭州市", "西湖区", "文三路90号")),
    # A name glued before the province or city that starts the address.
    ("张伟浙江省杭州市西湖区文三路90号 13812345678",
     ("张伟", "13812345678", "浙江省", "杭州市", "西湖区", "文三路90号")),
    ("收件人王芳浙江杭州西湖区文三路90号",
     ("王芳", "", "浙江省", "杭州市", "西湖区", "文三路90号")),
    ("欧阳娜娜北京市朝阳区建国路88号",
     ("欧阳娜娜", "", "北京市", "北京市", "朝阳区", "建国路88号")),
    ("杭州市西湖区文三路90号", ("", "", "浙江省", "杭州市", "西湖区", "文三路90号")),
])
def test_parse_address_with_the_name_after_it(text, expected):
    address = parse_address(text)
    keys = ("name", "phone", "province", "city", "district", "detail")
    assert tuple(address[key] for key in keys) == expected
    assert address_problem(address) is None


@pytest.mark.parametrize("text", ["杭州西湖", "浙江省杭州市", "浙江省杭州市西湖区", "",
                                  "杭州市文三路100号", "文三路100号"])
def test_incomplete_addresses_are_explained(text):
    assert address_problem(parse_address(text))


def test_format_address_masks_for_display():
    address = parse_address("张三 13800000000 浙江省杭州市西湖区文三路100号")
    shown = format_address(address, masked=True)
    assert "13800000000" not in shown and "138****0000" in shown and "100号" not in shown


@pytest.mark.parametrize("text, detail, phone", [
    ("地址写错了 帮我改成 杭州市西湖区文三路100号 电话不变", "文三路100号", ""),
    ("帮我改成杭州市西湖区文三路100号", "文三路100号", ""),
    ("改地址 北京市朝阳区建国路88号SOHO现代城5号楼1201室 13812345678",
     "建国路88号SOHO现代城5号楼1201室", "13812345678"),
    ("我要改地址", None, None),
    ("杭州市文三路100号", None, None),  # no district: asked for in full
    ("我的快递到哪了 12号发的", None, None),
])
def test_an_address_inside_a_chat_message(text, detail, phone):
    found = address_in([text])
    assert (found["detail"], found["phone"], found["name"]) == (detail, phone, "") if detail \
        else found is None


@pytest.mark.parametrize("text, name", [
    ("改地址 浙江省杭州市西湖区文三路90号 张伟 13812345678", "张伟"),
    ("帮我把地址改成浙江省杭州市西湖区文三路90号，收件人李娜，13812345678", "李娜"),
    ("改成 张伟 13812345678 浙江省杭州市西湖区文三路90号", "张伟"),
    ("改到浙江省杭州市西湖区文三路90号张伟13812345678", "张伟"),
    ("改地址 张伟浙江省杭州市西湖区文三路90号 13812345678", "张伟"),  # glued before it
    # Other words of a chat message are no name.
    ("改地址 浙江省杭州市西湖区文三路90号 手机13812345678 谢谢", ""),
    ("地址改成浙江省杭州市西湖区文三路90号 13812345678 麻烦快点", ""),
    ("帮我改成 浙江省杭州市西湖区文三路90号 尽快发货", ""),
])
def test_a_chat_message_gives_the_name_beside_the_phone_or_after_its_cue(text, name):
    found = address_in([text])
    assert (found["name"], found["detail"]) == (name, "文三路90号")
