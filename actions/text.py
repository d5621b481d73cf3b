"""Customer-facing wording helpers: dates in plain words, masking, address parsing."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Dict, List, Optional

CHINA_TZ = timezone(timedelta(hours=8))
WEEKDAYS = "一二三四五六日"


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


def parse_address(text: str) -> Dict[str, str]:
    """Split "张三 13800000000 浙江省杭州市西湖区文三路100号" into the backend's fields.

    Missing name/phone stay empty (the caller keeps the order's); an address
    without a province/city/district or detail is rejected by `address_problem`.
    """
    text = re.sub(r"[,，;；:：\n\t]", " ", text.strip())
    text = re.sub(r"(收货人|收件人|姓名|电话|手机号?|地址|新地址|改成|改为|改到)", " ", text)
    result = {"name": "", "phone": "", "province": "", "city": "", "district": "", "detail": ""}
    phone = PHONE_PATTERN.search(text)
    if phone:
        result["phone"] = phone.group(1)
        text = text[: phone.start()] + " " + text[phone.end() :]
    parts = [part for part in text.split() if part]
    # A 2-4 character all-Chinese part without address words is the recipient's name.
    for part in list(parts):
        if re.fullmatch(r"[\u4e00-\u9fa5]{2,4}", part) and not re.search(
            r"[省市区县路街号镇村栋楼室]", part
        ):
            result["name"] = part
            parts.remove(part)
            break
    address = "".join(parts)
    if address:
        result.update(_regions(address))
    return result


# 「地址写错了 帮我改成 杭州市西湖区文三路100号 电话不变」: the address inside a chat message
# runs from the last cue word before it (or the message's start) to the house number.
ADDRESS_CUE = re.compile(r"(?:改成|改为|改到|换成|新地址|地址|寄到|送到)(?:是|改成|改为)?[\s:：]*")
HOUSE_NUMBER = re.compile(r"\d+\s*(?:号楼|号|弄|栋|幢|室)"
                          r"(?:\s*\d+\s*(?:号楼|号|室|栋|幢|楼|层|单元))*")


def address_in(texts: List[str]) -> Optional[Dict[str, str]]:
    """A complete address (province to house number) in one of the customer's messages,
    with the phone written beside it; the recipient's name is left empty (words of a chat
    message are no name)."""
    for text in texts:
        ends = list(HOUSE_NUMBER.finditer(text))
        if not ends:
            continue
        cues = list(ADDRESS_CUE.finditer(text, 0, ends[-1].start()))
        address = parse_address(text[cues[-1].end() if cues else 0:ends[-1].end()])
        phone = PHONE_PATTERN.search(text)
        address.update(name="", phone=phone.group(1) if phone else "")
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
