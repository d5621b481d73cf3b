"""Masks and pseudonyms for personal data in Chinese customer messages."""

from __future__ import annotations

import hashlib
import re
from typing import Callable, Dict, List, Match, Optional, Pattern, Tuple

# The most common surnames (about 85 % of the population); used only where a bare
# name stands next to other contact details, to avoid masking ordinary words.
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
            "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
            "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
CN = "\u4e00-\u9fa5"

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# Mobile numbers, also written 138-1234-5678 / 138 1234 5678 / +86.
PHONE = re.compile(
    r"(?<![\dA-Za-z])(?:\+?86[ -]?)?(1[3-9]\d)[ -]?(\d{4})[ -]?(\d{4})(?![\dA-Za-z])")
# Landlines: 0571-88886666.
LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})-(\d{7,8})(?!\d)")
# ID-card numbers end in a check character that may be X.
ID_CARD = re.compile(r"(?<![\dA-Za-z])(\d{6})\d{8}(\d{3}[Xx])(?![\dA-Za-z])")
# Bank cards written in groups of four.
CARD_GROUPS = re.compile(r"(?<!\d)\d{4}(?:[ -]\d{4}){3,4}(?!\d)")
# Order numbers (18 digits), tracking and card numbers: any long run of digits.
LONG_NUMBER = re.compile(r"(?<!\d)\d{7,}(?!\d)")
# An address from its region down: the region words stay (they group messages by
# area without naming a home), everything after them is hidden.
REGION = (rf"(?:[{CN}]{{2,7}}?(?:省|自治区))?(?:[{CN}]{{2,9}}?(?:市|自治州|地区|盟))"
          rf"(?:[{CN}]{{1,9}}?(?:区|县|旗|市))?")
ADDRESS_WORDS = "(?:路|街|道|巷|弄|号|栋|幢|楼|室|村|镇|乡|小区|花园|公寓|大厦|苑|院|单元)"
ADDRESS = re.compile(
    rf"({REGION})([{CN}A-Za-z0-9#\-]{{0,30}}?[{CN}]*?"
    rf"{ADDRESS_WORDS}[{CN}A-Za-z0-9#\-]*)")
# A street with a house number and no region in front of it.
CUE = "((?:改成|改为|改到|寄到|送到|发到|换到|地址[是为:：]?|住在|在)*)"
STREET = re.compile(
    rf"{CUE}([{CN}]{{1,8}}(?:路|街|大道|巷|弄|小区|花园|公寓|大厦)[{CN}]{{0,4}}?"
    rf"[0-9A-Za-z一二三四五六七八九十\-]+(?:号|栋|幢|单元|室|层|楼)(?:[0-9A-Za-z\-]+(?:号|栋|幢|单元|室|层|楼)?)*)")
# Names after the words customers put before them.
NAME_CUE = re.compile(
    rf"(我叫|我的名字是|名字是|名字叫|姓名[:：]?\s*|收货人[:：]?\s*|收件人[:：]?\s*|联系人[:：]?\s*"
    rf"|签收人[:：]?\s*)([{CN}]{{2,4}}?)(?=$|[^{CN}]|收|的|电话|手机|[,，。!！?？])")
# A bare name right next to a phone number: 「张三 138...」 or 「138... 张三收」.
NAME_BY_PHONE = re.compile(
    rf"(?<![{CN}])([{SURNAMES}][{CN}]{{1,2}})(?=[\s,，:：]*(?:\+?86)?1[3-9]\d)"
    rf"|(?<=\d)([\s,，]*)([{SURNAMES}][{CN}]{{1,2}}?)(?=收|$|[\s,，。])"
    rf"|(?<=[\s,，])()([{SURNAMES}][{CN}]{{1,2}}?)(?=收(?:$|[^{CN}]))")


def mask_phone(phone: Optional[str]) -> str:
    """138****5678: the middle four digits of every mobile number in the text."""
    if not phone:
        return ""
    return PHONE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", phone)


def mask_order_number(number: str) -> str:
    """3612**********0001: enough to tell two orders apart on screen, not to look one up."""
    if len(number) <= 8:
        return number[:2] + "*" * (len(number) - 2)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_email(email: str) -> str:
    name, _, domain = email.partition("@")
    return f"{name[:2]}***@{domain}"


def _name_mask(name: str) -> str:
    return name[0] + "*" * (len(name) - 1)


def _replace_names(text: str, replace: Callable[[str], str]) -> str:
    text = NAME_CUE.sub(lambda m: m.group(1) + replace(m.group(2)), text)

    def by_phone(match: Match[str]) -> str:
        if match.group(1):
            return replace(match.group(1))
        if match.group(3):
            return match.group(2) + replace(match.group(3))
        return replace(match.group(5))

    return NAME_BY_PHONE.sub(by_phone, text)


def _address_sub(replace: Callable[[str], str]) -> Callable[[Match[str]], str]:
    def sub(match: Match[str]) -> str:
        detail = match.group(2)
        if not re.search(ADDRESS_WORDS, detail):
            return match.group(0)
        return match.group(1) + replace(detail)
    return sub


def _replace_addresses(text: str, replace: Callable[[str], str]) -> str:
    """Region-led addresses first; streets only where no address was found, so a
    replacement is never replaced again."""
    done: List[str] = []

    def keep(value: str) -> str:
        done.append(value)
        return f"\ue000{len(done) - 1}\ue001"

    text = ADDRESS.sub(_address_sub(lambda detail: keep(replace(detail))), text)
    text = STREET.sub(lambda m: (m.group(1) or "") + keep(replace(m.group(2))), text)
    return re.sub("\ue000(\\d+)\ue001", lambda m: done[int(m.group(1))], text)


def mask_personal(text: Optional[str]) -> str:
    """Every kind of personal data the shop's customers write, masked for display."""
    if not text:
        return ""
    # Names first: their patterns look at the phone numbers next to them.
    text = _replace_names(text, _name_mask)
    text = EMAIL.sub(lambda m: mask_email(m.group(0)), text)
    text = ID_CARD.sub(lambda m: m.group(1)[:2] + "*" * 14 + m.group(2)[-2:], text)
    text = CARD_GROUPS.sub(lambda m: m.group(0)[:4] + " **** **** " + m.group(0)[-4:], text)
    text = PHONE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    text = LANDLINE.sub(lambda m: f"{m.group(1)}-****{m.group(2)[-2:]}", text)
    text = LONG_NUMBER.sub(lambda m: mask_order_number(m.group(0)), text)
    return _replace_addresses(text, lambda _detail: "***")


FAKE_NAMES = ("赵甲", "钱乙", "孙丙", "李丁", "周戊", "吴己", "郑庚", "王辛")
FAKE_STREETS = ("幸福路1号", "人民路2号", "解放路3号", "建设路4号", "和平路5号", "朝阳路6号")


class Pseudonymizer:
    """Replaces personal data by fake values of the same shape, consistently: the same
    original gets the same fake within one instance (one conversation, one label batch).
    The fakes are derived from a hash, so they reveal nothing of the original."""

    def __init__(self, salt: str = "trainer") -> None:
        self.salt = salt
        self.seen: Dict[Tuple[str, str], str] = {}

    def _digits(self, original: str, count: int) -> str:
        digest = hashlib.sha256(f"{self.salt}:{original}".encode()).hexdigest()
        return "".join(str(int(char, 16) % 10) for char in digest)[:count]

    def _fake(self, kind: str, original: str, make: Callable[[int], str]) -> str:
        key = (kind, original)
        if key not in self.seen:
            self.seen[key] = make(len([k for k in self.seen if k[0] == kind]))
        return self.seen[key]

    def phone(self, original: str) -> str:
        digits = re.sub(r"\D", "", original)[-11:]
        # 1380000xxxx: an obviously made-up number, never a stranger's real one.
        return self._fake("phone", digits, lambda _n: "1380000" + self._digits(digits, 4))

    def number(self, original: str) -> str:
        # Same length and first two digits (an order number still looks like one).
        return self._fake("number", original,
                          lambda _n: original[:2] + self._digits(original, len(original) - 2))

    def name(self, original: str) -> str:
        return self._fake("name", original, lambda n: FAKE_NAMES[n % len(FAKE_NAMES)])

    def email(self, original: str) -> str:
        return self._fake("email", original, lambda n: f"user{n + 1}@example.com")

    def street(self, original: str) -> str:
        return self._fake("street", original, lambda n: FAKE_STREETS[n % len(FAKE_STREETS)])

    def text(self, text: Optional[str]) -> str:
        if not text:
            return ""
        steps: List[Tuple[Pattern[str], Callable[[Match[str]], str]]] = [
            (EMAIL, lambda m: self.email(m.group(0))),
            (ID_CARD, lambda m: self.number(m.group(0)[:17]) + "X"),
            (CARD_GROUPS, lambda m: self.number(re.sub(r"\D", "", m.group(0)))),
            (PHONE, lambda m: self.phone(m.group(0))),
            (LANDLINE, lambda m: f"{m.group(1)}-{self.number(m.group(2))}"),
            (LONG_NUMBER, lambda m: self.number(m.group(0))),
        ]
        # Each fake is parked behind one private-use character until the end, so a later
        # pattern never rewrites an earlier fake (a fake phone is also a long number).
        fakes: List[str] = []

        def park(value: str) -> str:
            fakes.append(value)
            return chr(0xF0000 + len(fakes) - 1)

        text = _replace_names(text, lambda name: park(self.name(name)))
        def parked(replace: Callable[[Match[str]], str]) -> Callable[[Match[str]], str]:
            return lambda match: park(replace(match))

        for pattern, replace in steps:
            text = pattern.sub(parked(replace), text)
        text = _replace_addresses(text, lambda detail: park(self.street(detail)))
        return re.sub("[\U000F0000-\U000FFFFD]", lambda m: fakes[ord(m.group(0)) - 0xF0000],
                      text)
