"""统一社会信用代码 checksum (GB 32100-2015): the function and the invoice endpoint."""

from __future__ import annotations

import pytest
from shop_api_helpers import SHIPPED, ZHAO_JACKET, ZHAO_RESENT, assert_error, call, post

from service_common.credit_code import (
    credit_code_check_char,
    credit_code_problem,
    is_valid_credit_code,
    normalize_credit_code,
)
from shop.validation import is_valid_credit_code as reexported

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

VALID = [
    "91350100M000100Y43",  # 企业 (9-1), check digit 3
    "913100007109296660",  # check 0: the weighted sum is a multiple of 31 (31 -> 0)
    "91110000802100433B",  # letter check character
    "91440300708461136T",
    "91330106MA2B3C4D5D",
    "12100000400010406X",  # 机关 (1-2)
    "53100000500021676K",  # 社会团体 (5-3)
    "92440101MA59UJ9P56",  # 个体工商户 (9-2)
    "31110000400834282L",  # 律师事务所 (3-1)
]
INVALID = [
    ("91350100M000100Y44", "校验"),  # wrong check character
    ("91330106MA2B3C4D5E", "校验"),
    ("91350100M000100Y34", "校验"),  # last two characters swapped
    ("91305100M000100Y43", "校验"),  # two digits swapped in the middle
    ("91350100M000100Y4", "18位"),
    ("91350100M000100Y431", "18位"),
    ("", "18位"),
    ("91350100I000100Y43", "I、O、S、V、Z"),
    ("9135010OM000100Y43", "I、O、S、V、Z"),
    ("91350100M000100Y4!", "第18位"),
]


def reference_ok(code: str) -> bool:
    """Straight from the standard, independent of service_common.credit_code."""
    if len(code) != 18 or any(c not in CHARSET for c in code):
        return False
    total = sum(CHARSET.index(c) * w for c, w in zip(code[:17], WEIGHTS, strict=True))
    check = 31 - total % 31
    return CHARSET[0 if check == 31 else check] == code[17]


@pytest.mark.parametrize("code", VALID)
def test_valid_codes(code):
    assert reference_ok(code)
    assert is_valid_credit_code(code) and reexported(code)
    assert credit_code_problem(code) is None
    assert credit_code_check_char(code[:17]) == code[17]


@pytest.mark.parametrize(("code", "hint"), INVALID)
def test_invalid_codes(code, hint):
    assert not reference_ok(code)
    assert not is_valid_credit_code(code)
    assert hint in credit_code_problem(code)


def test_normalization_and_check_char():
    assert normalize_credit_code(" 9135 0100-m000 100y43 ") == "91350100M000100Y43"
    assert is_valid_credit_code("９１３５０１００Ｍ０００１００Ｙ４３")  # full-width input
    assert credit_code_check_char("0" * 17) == "0"
    with pytest.raises(ValueError):
        credit_code_check_char("1234")
    with pytest.raises(ValueError):
        credit_code_check_char("I" * 17)


# ---------------------------------------------------------------- invoice endpoint


@pytest.fixture(scope="module")
def shop(shop_factory) -> str:
    return shop_factory().url


SPECIAL = {"type": "special", "title": "南京云帆信息技术有限公司", "email": "cw@yunfan.cn"}


def test_invalid_tax_ids_are_422(shop):
    url = f"/api/orders/{SHIPPED}/invoices"
    for code, hint in INVALID:
        if not code:
            continue  # an empty string counts as "not given"
        error = assert_error(call(shop, "POST", url, {**SPECIAL, "tax_id": code}), 422,
                             "invalid_tax_id")
        assert hint in error["message"]
    # A normal invoice with a tax id is checked too.
    assert_error(call(shop, "POST", url, {"type": "normal", "title": "某某公司",
                                          "tax_id": "91350100M000100Y44",
                                          "email": "a@b.cn"}), 422, "invalid_tax_id")
    assert_error(call(shop, "POST", url, {**SPECIAL, "tax_id": VALID[0], "email": "cw@"}), 422,
                 "invalid_email")
    assert call(shop, "GET", url).json()["invoices"] == []


def test_valid_tax_id_is_normalized_and_details_kept(shop):
    body = {**SPECIAL, "tax_id": "9135 0100 m000 100y43",
            "buyer_address": "南京市鼓楼区中山北路1号", "buyer_phone": "025-83001234",
            "bank_name": "招商银行南京鼓楼支行", "bank_account": "1259 0123 4567 890"}
    invoice = post(shop, f"/api/orders/{ZHAO_JACKET}/invoices", body, status=201)
    assert invoice["tax_id"] == "91350100M000100Y43" and invoice["type_text"] == "增值税专用发票"
    assert invoice["bank_account"] == "125901234567890"
    assert invoice["buyer_phone"] == "****1234" and invoice["bank_name"].startswith("招商")
    again = post(shop, f"/api/orders/{ZHAO_JACKET}/invoices", body, status=200)
    assert again["duplicate"] is True and again["id"] == invoice["id"]


def test_bank_details_validation(shop):
    url = f"/api/orders/{ZHAO_RESENT}/invoices"
    body = {**SPECIAL, "tax_id": VALID[1]}
    assert_error(call(shop, "POST", url, {**body, "bank_name": "工商银行"}), 422, "missing_field")
    assert_error(call(shop, "POST", url, {**body, "bank_name": "工商银行",
                                          "bank_account": "12ab"}), 422, "invalid_bank_account")
    assert_error(call(shop, "POST", url, {**body, "buyer_phone": "call me"}), 422,
                 "invalid_phone")
    # Bank and address are optional on a special (数电) invoice: name + tax id suffice.
    assert post(shop, url, body, status=201)["bank_account"] is None
