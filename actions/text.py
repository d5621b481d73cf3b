"""Customer-facing wording helpers: dates in plain words, masking, address parsing."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Dict, List, Optional

CHINA_TZ = timezone(timedelta(hours=8))
WEEKDAYS = "一二三四五六日"
# Chinese digits as customers write them (「两件」「三星」「二尺二」).
CN_DIGITS = dict(zip("一二两三四五六七八九", (1, 2, 2, 3, 4, 5, 6, 7, 8, 9), strict=True))


def today() -> date:
    return datetime.now(CHINA_TZ).date()


def parse_day(value: Optional[str]) -> Optional[date]:
    """ISO date or datetime from the backend -> local calendar day."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(CHINA_TZ)
    return parsed.date()


def day_words(value: Optional[str], reference: Optional[date] = None) -> str:
    """"明天(11月25日 周三)" style wording customers understand at a glance."""
    day = parse_day(value)
    if day is None:
        return ""
    reference = reference or today()
    delta = (day - reference).days
    label = {-2: "前天", -1: "昨天", 0: "今天", 1: "明天", 2: "后天"}.get(delta)
    plain = f"{day.month}月{day.day}日 周{WEEKDAYS[day.weekday()]}"
    return f"{label}({plain})" if label else plain


def time_words(value: Optional[str], reference: Optional[date] = None) -> str:
    """Day words plus the clock time, e.g. "今天(11月23日 周日) 14:05"."""
    if not value:
        return ""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return day_words(value, reference)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(CHINA_TZ)
    return f"{day_words(value, reference)} {parsed:%H:%M}"


def mask_phone(phone: Optional[str]) -> str:
    if not phone:
        return ""
    return re.sub(r"(?<!\d)(1\d{2})\d{4}(\d{4})(?!\d)", r"\1****\2", phone)


def mask_address(detail: Optional[str]) -> str:
    """Keep the first characters (street) and hide house numbers and names."""
    if not detail:
        return ""
    return detail[:4] + "***" if len(detail) > 4 else "***"


def mask_email(email: str) -> str:
    name, _, domain = email.partition("@")
    return f"{name[:2]}***@{domain}"


def mask_text(text: str) -> str:
    """Mask personal data anywhere in free text (for logs): the one masker, security.masking."""
    from security.masking import mask_text as mask

    return mask(text)


PHONE_PATTERN = re.compile(r"(?<!\d)(1[3-9]\d{9})(?!\d)")
MUNICIPALITIES = ("北京", "上海", "天津", "重庆")
# In cities without counties (东莞, 中山, 儋州) the town is the third level of an address.
TOWN_PATTERN = re.compile(r"^[\u4e00-\u9fa5]{1,8}?(?:镇|乡|街道)")


@lru_cache(maxsize=1)
def _cities_without_counties() -> frozenset:
    import cpca

    counties = {info.adcode[:4] for info in cpca.ad_2_addr_dict.values() if info.rank == 2}
    return frozenset(info.adcode for info in cpca.ad_2_addr_dict.values()
                     if info.rank == 1 and info.adcode[:4] not in counties)


def _regions(address: str) -> Dict[str, str]:
    """Province, city, district and the rest, from cpca's table of China's divisions.

    It knows the official names, so 浙江杭州西湖区… and 新疆乌鲁木齐市… work like the full form.
    """
    import cpca  # loads pandas and the division table: only when an address is parsed

    row = cpca.transform([address]).iloc[0]
    province, city, district, detail, adcode = (
        str(row[key] or "") for key in ("省", "市", "区", "地址", "adcode"))
    if province.rstrip("市") in MUNICIPALITIES:
        city = province  # 北京市朝阳区: the municipality is both province and city
    if province and city and not district and adcode in _cities_without_counties():
        town = TOWN_PATTERN.match(detail)
        if town:
            district, detail = town.group(0), detail[town.end():]
    return {"province": province, "city": city, "district": district, "detail": detail.strip()}


# Between the parts of an address message: 「…90号，李娜，电话139…」「…90号、张伟、138…」.
SEPARATORS = re.compile(r"[,，;；:：、。!！?？()（）\n\t]")
# 「电话不变」「手机尾号不变」「收件人不变」: what stays the order's is no part of the address.
UNCHANGED = re.compile(r"(?:收货人|收件人|联系人|姓名|名字|联系电话|电话|手机尾号|手机号码?|手机"
                       r"|号码|尾号)"
                       r"(?:和|跟|与)?(?:姓名|名字|电话|手机号?)?(?:都|也|还)?"
                       r"(?:不变|没变|不改|不用改|不换|照旧|还是原来的|跟原来一样|和原来一样|同原来|用原来的)")
CHINESE_NAME = r"[\u4e00-\u9fa5]{2,4}"
# 「收件人王芳」「联系人:张伟」「收件人换成张伟」「名字写张伟」: the name the cue word gives.
NAME_CUE = re.compile(r"(?:收货人|收件人|联系人|姓名|名字)\s*"
                      r"(?:是|为|叫|换成|改成|改为|写成|写)?\s*"
                      rf"(?P<name>{CHINESE_NAME}?)收?(?=\s|\d|电话|手机|联系|$)")
FIELD_WORDS = re.compile(r"(收货人|收件人|联系人|姓名|名字|联系电话|电话|手机号码?|手机"
                         r"|新地址|地址|改成|改为|改到)")
ADDRESS_WORDS = re.compile(r"[省市区县路街号镇村栋幢楼室巷弄]|大厦|小区|公寓|广场")
# Between a house number and a phone 「…90号张伟138…」 also no building: 「…88号金地大厦」.
BUILDING_WORDS = re.compile(r"[院苑园城座层府湾庄]|中心|大楼|花园")
# Parts of an address message that are no one's name and no address: 「…90号 张伟 谢谢」.
POLITE = r"谢谢|多谢|感谢|麻烦|辛苦|拜托|尽快|快点|赶紧|好的|急"
FILLER = re.compile(rf"(?:{POLITE}|先生|女士|小姐)[\u4e00-\u9fa5]{{0,4}}")
NOT_A_NAME = re.compile(rf"(?:{POLITE}|请|帮|我|你们|改|换|先生$|女士$|小姐$|本人|自己|快递|顺丰"
                        r"|电话|手机|地址|原来|不变)")
# 「…90号张伟13812345678」: a name written between the house number and the phone, unseparated.
NAME_BEFORE_PHONE = re.compile(rf"(?<=[号室栋幢楼])(?P<name>{CHINESE_NAME}?)收?\s*"
                               r"(?=1[3-9]\d{9}(?!\d))")


@lru_cache(maxsize=1)
def _region_codes() -> Dict[str, List[str]]:
    """China's provinces, cities and districts by name, full and short (浙江, 杭州, 西湖,
    义乌): the codes of the divisions so called."""
    import cpca

    suffix = re.compile(r"(?:特别行政区|地区|林区|[省市区县旗盟])$")
    codes: Dict[str, List[str]] = {}
    for info in cpca.ad_2_addr_dict.values():
        short = info.name[:2] if "自治" in info.name else suffix.sub("", info.name)
        for name in {info.name, short}:
            if len(name) >= 2:
                codes.setdefault(name, []).append(info.adcode)
    return codes


def _leading_region(part: str) -> Optional[List[str]]:
    """The codes of the division a part of an address starts with (杭州 in 杭州市西湖区…)."""
    codes = _region_codes()
    for length in range(min(len(part), 10), 1, -1):
        if part[:length] in codes:
            return codes[part[:length]]
    return None


def _region_in_address(word: str, rest: List[str]) -> bool:
    """浙江 in 「浙江 杭州 西湖区 …」: a division's name followed by the rest of its address;
    not a recipient named like a place before an address of elsewhere (「许昌 浙江省杭州市…」)
    nor after the address (nothing follows)."""
    codes = _region_codes().get(word)
    if not codes or not rest:
        return False
    following = _leading_region(rest[0])
    if following is None:
        return True  # 「杭州 文三路90号」
    # A province's divisions share its first 2 digits, a city's its first 4.
    scopes = [code[:2] if code.endswith("0000") else code[:4] if code.endswith("00") else code
              for code in codes]
    return any(code.startswith(scope) for code in following for scope in scopes)


def _is_name(word: str) -> bool:
    return bool(re.fullmatch(CHINESE_NAME, word)) and not ADDRESS_WORDS.search(word) \
        and not NOT_A_NAME.match(word)


def _name_at(parts: List[str], index: int) -> str:
    """The recipient's name when parts[index] is one (「张伟」, 「张伟收」 as parcels are
    labelled), else ''."""
    part = parts[index]
    for name in ((part[:-1], part) if part.endswith("收") and len(part) > 2 else (part,)):
        if _is_name(name) and not _region_in_address(name, parts[index + 1:]):
            return name
    return ""


def _name_glued_before_region(part: str) -> str:
    """张伟 in 「张伟浙江省杭州市…」: a name written right before the province or city that
    starts the address, else ''. Not a name that is itself a place (「许昌浙江…」)."""
    if _leading_region(part) is not None:
        return ""
    for length in (2, 3, 4):
        name, rest = part[:length], part[length:]
        following = _leading_region(rest) if len(rest) > 2 else None
        if _is_name(name) and following and any(code.endswith("00") for code in following):
            return name
    return ""


def _cued_name(text: str) -> Optional[re.Match]:
    return next((match for match in NAME_CUE.finditer(text) if _is_name(match.group("name"))),
                None)


def _contact_text(text: str) -> str:
    """Separators as spaces, without the 「电话不变」 kind of remark."""
    return UNCHANGED.sub(" ", SEPARATORS.sub(" ", text.strip()))


def parse_address(text: str) -> Dict[str, str]:
    """Split "张三 13800000000 浙江省杭州市西湖区文三路100号" into the backend's fields.

    The name and phone may come before the address or after it (「浙江省杭州市西湖区文三路90号
    张伟 13812345678」, 「…1201室，李娜，电话139…」), with or without 收件人/联系人. Missing
    name/phone stay empty (the caller keeps the order's); an address without a
    province/city/district or detail is rejected by `address_problem`.
    """
    text = _contact_text(text)
    result = {"name": "", "phone": "", "province": "", "city": "", "district": "", "detail": ""}
    cued = _cued_name(text)
    if cued:
        result["name"] = cued.group("name")
        text = text[: cued.start()] + " " + text[cued.end() :]
    text = FIELD_WORDS.sub(" ", text)
    glued = None if cued else NAME_BEFORE_PHONE.search(text)
    if glued and _is_name(glued.group("name")) and not BUILDING_WORDS.search(glued.group("name")):
        result["name"] = glued.group("name")
        text = text[: glued.start()] + " " + text[glued.end() :]
    phone = PHONE_PATTERN.search(text)
    if phone:
        result["phone"] = phone.group(1)
        text = text[: phone.start()] + " " + text[phone.end() :]
    parts = [part for part in text.split()
             if not (FILLER.fullmatch(part) and not ADDRESS_WORDS.search(part))]
    if not result["name"] and parts:
        # The name comes first (「张三 …」) or after the address: then it is the last part
        # that is one (「浙江 杭州 西湖区 翠苑 5幢 张伟」: 浙江, 杭州 and 翠苑 are the address's).
        for index in [0, *range(len(parts) - 1, 0, -1)]:
            result["name"] = _name_at(parts, index)
            if result["name"]:
                del parts[index]
                break
        else:
            result["name"] = _name_glued_before_region(parts[0])
            parts[0] = parts[0][len(result["name"]):]
    address = "".join(parts)
    if address:
        result.update(_regions(address))
    return result


def name_beside(text: str) -> str:
    """The recipient's name in a chat message with an address: cued (「收件人张伟」) or written
    right before or after the phone (「…90号 张伟 13812345678」), else ''."""
    text = _contact_text(text)
    cued = _cued_name(text)
    if cued:
        return cued.group("name")
    text = FIELD_WORDS.sub(" ", text)
    phone = PHONE_PATTERN.search(text)
    if not phone:
        return ""
    before = text[: phone.start()].split() or [""]
    after = text[phone.end() :].split() or [""]
    glued = NAME_BEFORE_PHONE.search(text)
    candidates = [after[0], before[-1]] + ([glued.group("name")] if glued else [])
    return next((name for name in (_name_at([part], 0) for part in candidates if part)
                 if name and not BUILDING_WORDS.search(name)), "")


# 「地址写错了 帮我改成 杭州市西湖区文三路100号 电话不变」: the address inside a chat message
# runs from the last cue word before it (or the message's start) to the house number.
ADDRESS_CUE = re.compile(r"(?:改成|改为|改到|换成|新地址|地址|寄到|送到)(?:是|改成|改为)?[\s:：]*")
HOUSE_NUMBER = re.compile(r"\d+\s*(?:号楼|号|弄|栋|幢|室)"
                          r"(?:\s*\d+\s*(?:号楼|号|室|栋|幢|楼|层|单元))*")


def address_in(texts: List[str]) -> Optional[Dict[str, str]]:
    """A complete address (province to house number) in one of the customer's messages,
    with the phone written beside it; the recipient's name only when cued or beside the phone
    (`name_beside`: other words of a chat message are no name), else empty."""
    for text in texts:
        ends = list(HOUSE_NUMBER.finditer(text))
        if not ends:
            continue
        cues = list(ADDRESS_CUE.finditer(text, 0, ends[-1].start()))
        written = text[cues[-1].end() if cues else 0:ends[-1].end()]
        address = parse_address(written)
        phone = PHONE_PATTERN.search(text)
        glued = _name_glued_before_region(written.split()[0]) if written.split() else ""
        address.update(name=name_beside(text) or glued, phone=phone.group(1) if phone else "")
        if address_problem(address) is None:
            return address
    return None


def address_problem(address: Dict[str, str]) -> Optional[str]:
    """What is missing from a parsed address (the response that says it), or None."""
    if not address.get("province") or not address.get("city"):
        return "utter_address_no_city"
    if not address.get("district"):
        return "utter_address_no_district"
    if len(address.get("detail", "")) < 4:
        return "utter_address_detail_short"
    return None


def format_address(address: Dict[str, str], masked: bool = False) -> str:
    detail = mask_address(address.get("detail")) if masked else address.get("detail", "")
    phone = mask_phone(address.get("phone")) if masked else address.get("phone", "")
    region = "".join(
        address.get(key, "")
        for key in ("province", "city", "district")
        if key != "city" or address.get("city") != address.get("province")
    )
    return f"{address.get('name', '')} {phone} {region}{detail}".strip()
