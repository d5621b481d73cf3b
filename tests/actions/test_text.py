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
