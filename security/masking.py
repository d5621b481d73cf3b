"""Masks personal data (phones, e-mails, ID numbers, addresses, names, phone tails) in free
text: the one masker every log uses (Rasa, the action server, the channels).

Masking errs on the side of hiding: a log line loses a street name rather than keep an
address. Order ids (18 digits) stay readable, they are what an engineer searches for.
"""

from __future__ import annotations

import re

PHONE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})-?\d{7,8}(?!\d)")
EMAIL = re.compile(r"([A-Za-z0-9._%+-]{1,2})[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
# Resident ID: 6-digit region, birth date 19xx/20xx MMDD, 3 digits, check digit.
ID_CARD = re.compile(r"(?<!\d)\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
                     r"\d{3}[\dXx](?!\d)")
PHONE_TAIL = re.compile(r"(尾号|后四位|后4位)(\s*(?:是|为|:|：)?\s*)\d{4}(?!\d)")
# A street address: a place word (路/街/号/...) with a number, plus what surrounds it.
ADDRESS = re.compile(
    r"[\u4e00-\u9fa5A-Za-z0-9]{0,12}?"
    r"(?:省|市|区|县|镇|乡|村|路|街|道|巷|弄|胡同|小区|大厦|花园)"
    r"[\u4e00-\u9fa5A-Za-z0-9\-#]{0,30}?\d+\s*(?:号|栋|幢|楼|室|单元|弄)"
    r"[\u4e00-\u9fa5A-Za-z0-9\-#]{0,20}")
# Names announced as such (收货人 王伟, 我叫李娜).
NAMED = re.compile(r"(收货人|收件人|联系人|姓名|名字|我叫|我是)(\s*(?:是|为|:|：)?\s*)"
                   r"[\u4e00-\u9fa5]{2,4}")
# Values of personal fields in logged dicts/JSON: "name": "王伟", 'address': '...'.
FIELD = re.compile(
    r"""(["']?(?:name|surname|recipient|receiver|contact|customer_name|phone|mobile|email|"""
    r"""address|detail|new_address|street|id_card)["']?\s*[:=]\s*)(["'])((?:\\.|(?!\2).){1,500}?)\2""",
    re.IGNORECASE)


def mask_text(text: str) -> str:
    """`text` with personal data replaced by masks (138****5678, wa***@qq.com, [地址])."""
    if not text:
        return text
    text = FIELD.sub(lambda m: f"{m.group(1)}{m.group(2)}***{m.group(2)}", text)
    text = ID_CARD.sub("[身份证]", text)
    text = PHONE.sub(r"\1****\2", text)
    text = LANDLINE.sub(r"\1-********", text)
    text = EMAIL.sub(r"\1***@\2", text)
    text = PHONE_TAIL.sub(r"\1\2****", text)
    text = ADDRESS.sub("[地址]", text)
    return NAMED.sub(r"\1\2**", text)
