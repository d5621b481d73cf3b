"""Masks personal data in free text before it reaches the analytics store.

Reuses the assistant's own maskers (actions.text: phone, e-mail, address detail) and adds
what free text needs: e-mails anywhere, ID-card numbers, landlines, addresses (a region
prefix followed by street/house details), and names (王先生, 收件人张三, 我叫李小明).
"""

from __future__ import annotations

import re

from actions.text import mask_email, mask_phone

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
ID_CARD = re.compile(r"(?<![0-9A-Za-z])\d{6}(?:19|20)\d{2}\d{7}[\dXx](?![0-9A-Za-z])")
LANDLINE = re.compile(r"(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)")
LONG_DIGITS = re.compile(r"(?<![\dA-Za-z])1[3-9]\d{9}(?!\d)")
# A region (省/市/区/县) then the rest of the address up to punctuation: the detail is hidden.
ADDRESS = re.compile(
    r"((?:[\u4e00-\u9fa5]{2,7}?(?:省|自治区))?[\u4e00-\u9fa5]{2,9}?(?:市|州|盟)"
    r"(?:[\u4e00-\u9fa5]{1,9}?(?:区|县|旗|市))?)"
    r"(?=[^\s,，。;；!！?？、]{0,30}?(?:\d|路|街|号|弄|村|栋|道|巷|小区))"
    r"([^\s,，。;；!！?？、]{2,60})")
TITLED_NAME = re.compile(
    r"(?<![\u4e00-\u9fa5])([\u4e00-\u9fa5])[\u4e00-\u9fa5]{0,2}(先生|女士|小姐)")
INTRODUCED_NAME = re.compile(
    r"(我叫|我是|本人|收件人|收货人|联系人|姓名)[::\s]*([\u4e00-\u9fa5]{2,4})")
NOT_NAMES = ("客服", "顾客", "买家", "老客户", "新客户", "会员", "学生", "本人")


def _introduced(match: re.Match) -> str:
    name = match.group(2)
    if any(name.startswith(word) for word in NOT_NAMES):
        return match.group(0)
    return f"{match.group(1)}{name[0]}**"


def mask(text: str | None) -> str:
    """The text with phones, e-mails, ID numbers, addresses and names hidden."""
    if not text:
        return ""
    text = EMAIL.sub(lambda m: mask_email(m.group(0)), text)
    text = ID_CARD.sub(lambda m: m.group(0)[:4] + "**********" + m.group(0)[-2:], text)
    text = LONG_DIGITS.sub(lambda m: mask_phone(m.group(0)), text)
    text = mask_phone(text)
    text = LANDLINE.sub(lambda m: m.group(0)[:4] + "****", text)
    text = ADDRESS.sub(lambda m: m.group(1) + "***", text)
    text = INTRODUCED_NAME.sub(_introduced, text)
    text = TITLED_NAME.sub(lambda m: f"{m.group(1)}{m.group(2)}", text)
    return text
