"""Body measurements, sizes and fit words from Chinese customer text, normalised.

Pure Python (no Rasa imports) so it is cheap to test and reuse from actions.

Entry point: ``extract(text) -> List[Quantity]``.  Entities and value formats:

- ``height_cm``   "175"          (int cm, plausible 80-230)
- ``weight_kg``   "70", "52.5"   (kg, at most one decimal, plausible 25-200)
- ``chest_cm`` / ``waist_cm`` / ``shoulder_cm``  "96"  (int cm)
- ``body_shape``  "slim" | "regular" | "heavy"
- ``fit``         "loose" | "fitted"
- ``size``        "XS" "S" "M" "L" "XL" "XXL" "XXXL" "4XL" ... | "均码" | "29" | "175/92A"

Rules for ambiguous input (documented here because the dialogue depends on them):

- A bare number is never a height or weight on its own ("175" alone, "150穿什么码"): it
  needs a keyword (身高/个子/体重), a suffix (175的个子) or a partner in a pair
  ("175 70", "175/130斤", "1米7 一百三").  Lone numbers are left to the learnt extractor's
  label, which ``normalise_height`` / ``normalise_weight`` can then convert.
- A bare weight (体重130, the 70 of "175 70") is read with ``bare_weight_kg``:
  below 80 it is kg, from 120 on it is 斤 (120 kg is rare, 120斤 is everyday speech);
  in between the height decides (the reading whose BMI is nearer 23 wins), and without a
  height 100-119 is 斤 and 80-99 is kg.
- A bare waist of 20-48 ("腰围29") is a trouser size in inches (29 -> 74 cm).
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Callable, List, Optional, Pattern, Tuple

import cn2an

HEIGHT_CM = (80, 230)
WEIGHT_KG = (25, 200)
CHEST_CM = (60, 160)
WAIST_CM = (45, 150)
SHOULDER_CM = (30, 65)
WAIST_INCHES = (20, 48)
CM_PER_CHI = 100 / 3  # 1 市尺 = 1/3 m; 1 寸 = 1/10 尺
CM_PER_INCH = 2.54
TYPICAL_BMI = 23.0  # adult mean in China is about 23-24
MAX_CHARS = 1000
MASK = "\u25a1"  # □, stands in for text an earlier rule has claimed


@dataclass(frozen=True)
class Quantity:
    """One normalised mention; ``start``/``end`` are offsets into the original text."""

    entity: str
    value: str
    start: int
    end: int
    text: str
    unit: str = ""  # unit as written ("斤", "cm", "尺"), or the assumed one for bare numbers
    assumed: bool = False  # True when the unit was inferred, e.g. "体重130" read as 斤


# --- numbers ------------------------------------------------------------------------------

D = "零〇一二三四五六七八九"  # positional digits ("一米七五"); 两 is never positional
CN = "零〇一二两三四五六七八九十百千"
# A Chinese numeral, with a decimal part when it has one (一点七五).
NUM = rf"(?:(?<![\d.])\d+(?:\.\d+)?(?!\d)|(?<![{CN}])[{CN}]+(?:点[{D}]+)?)"


def cn_to_number(chars: str) -> Optional[float]:
    """Chinese numeral to a number by cn2an: 一百二 = 120, 一七五 = 175, 一点七五 = 1.75."""
    if not chars:
        return None
    try:
        return float(cn2an.cn2an(chars, "normal"))
    except (ValueError, KeyError, IndexError):
        return None


def to_number(raw: str) -> Optional[float]:
    raw = raw.strip()
    if len(raw) > 12:
        return None  # order numbers and the like: never a body measurement
    if re.fullmatch(r"\d+(?:\.\d+)?", raw):
        return float(raw)
    return cn_to_number(raw)


def _round(value: float) -> int:
    return int(math.floor(value + 0.5))  # half up: 72.5 -> 73, not banker's 72


def format_kg(kg: float) -> str:
    tenths = _round(kg * 10)
    return str(tenths // 10) if tenths % 10 == 0 else f"{tenths / 10:.1f}"


def _within(value: float, bounds: Tuple[float, float]) -> bool:
    return bounds[0] <= value <= bounds[1]


def bare_weight_kg(number: float, height_cm: Optional[float] = None) -> Tuple[float, str]:
    """Read a weight written without a unit; returns (kg, assumed unit "kg" or "斤").

    Chinese customers think in 斤 but apps and scales show kg, so both appear bare.
    """
    if number < 80:
        return number, "kg"  # 70斤 = 35 kg is a child; adults say 70 meaning kg
    if number >= 120:
        return number / 2, "斤"
    if height_cm:
        metres = height_cm / 100
        as_kg = abs(math.log(number / metres**2 / TYPICAL_BMI))
        as_jin = abs(math.log(number / 2 / metres**2 / TYPICAL_BMI))
        return (number, "kg") if as_kg <= as_jin else (number / 2, "斤")
    return (number / 2, "斤") if number >= 100 else (number, "kg")


# --- patterns -----------------------------------------------------------------------------

FLAGS = re.IGNORECASE
FILL = r"(?:\s|[:：是有约为在]|大概|大约|差不多|应该)*"
# A meter count and its remainder: 1米75, 1米7 (=170), 一米七五, 一米八二, 1m75.  The
# remainder may be followed by another Chinese number only if that one is "X十/X百..."
# (一米七一百三十斤 is 一米七 + 一百三十斤, but 一米七五 is one height).
_REM_END = rf"(?=$|[^{CN}\d]|[一二两三四五六七八九][十百])"
METER_REM = re.compile(
    rf"(?<![\d.{CN}])(?P<m>[12一二两])\s*(?:米|m)\s*"
    rf"(?P<r>\d{{1,2}}(?![\d.])|[{D}]{{1,2}}{_REM_END})", FLAGS)
METER_DEC = re.compile(
    rf"(?<![\d.{CN}])(?P<v>[12]\.\d{{1,2}}(?!\d)|[一二两]点[{D}]{{1,2}})\s*(?:米|m(?![a-z]))",
    FLAGS)
CM = re.compile(rf"(?P<v>{NUM})\s*(?P<u>cm|厘米|公分|㎝)(?![a-z])", FLAGS)
WEIGHT = re.compile(
    rf"(?P<v>{NUM})\s*(?:多|来|出头|左右)?\s*(?P<u>公斤|千克|kgs?|㎏|斤)(?![a-z])", FLAGS)
BARE = re.compile(rf"(?<![a-z]){NUM}", FLAGS)
CHI = re.compile(rf"(?P<v>{NUM})\s*尺(?:\s*(?P<c>[一二三四五六七八九]|\d(?![\d.]))(?:\s*寸)?)?")
INCH = re.compile(rf"(?P<v>{NUM})\s*(?:寸|inch|英寸)", FLAGS)

HEIGHT_KEYWORD = re.compile(rf"(?:身高|个子|个头|净身高){FILL}")
WEIGHT_KEYWORD = re.compile(rf"(?:体重|裸重){FILL}")
HEIGHT_SUFFIX = re.compile(r"\s*的?(?:个子|个头|身高)")
MEASURE_KEYWORDS = (
    (re.compile(rf"(?:胸围|上围|胸){FILL}"), "chest_cm", CHEST_CM),
    (re.compile(rf"(?:腰围|腰){FILL}"), "waist_cm", WAIST_CM),
    (re.compile(rf"(?:肩宽|肩){FILL}"), "shoulder_cm", SHOULDER_CM),
)
WAIST_AFTER = re.compile(r"\s*的?腰")  # 二尺二的腰

# Numbers that are prices, counts, dates, phone/order digits or product dimensions.
NOT_BODY_AFTER = re.compile(
    r"(?:\s*(?:[元块圆件个号月日天年岁单位次分秒点%％折万毫码寸尺克度℃楼层期台部条双套包箱瓶"
    r"支盒人周]|小时|星期)|[a-z.]|\s*[-~～到至])", FLAGS)
NOT_BODY_BEFORE = re.compile(
    r"(?:尾号|后四位|后4位|号码|手机号?|电话|订单号?|单号|编号|[¥￥$]|价格?|满|减|第|共|"
    r"[-~～到至])\s*$")
PRODUCT_DIMENSION_BEFORE = re.compile(
    rf"(?:衣长|袖长|裤长|裙长|裤腿|长度|宽度|高度|厚度|尺寸|规格|臀围|腿围|领围|头围|脚长|床垫?|"
    rf"被子|(?<![身个])[长宽深厚]){FILL}$")
PRODUCT_DIMENSION_AFTER = re.compile(r"\s*的?\s*(?:床|被|褥|席|门|桌|柜|窗|沙发|箱|长|宽|深|厚)")
PAIR_GAP = re.compile(r"\s*(?:[/,，、;；]|和)?\s*")

# 号型 on Chinese labels: height / chest + body type letter, e.g. 175/92A.
SIZE_CHART = re.compile(
    r"(?<![\d.])(?P<h>\d{3})\s*/\s*(?P<c>\d{2,3})(?P<t>[ABCY])(?![a-z])", FLAGS)
SIZE_LETTERS = re.compile(
    r"(?<![a-z0-9.'])(?P<v>[2-6]\s?XL|X{0,5}L|X{1,3}S|[SM])(?:\s?(?:码|号))?(?![a-z0-9])", FLAGS)
SIZE_WORDS = re.compile(
    r"(?<![最偏放多啥几])(?P<v>均码|均号|统码|free\s?size|one\s?size|加加大(?:码|号)?|特大(?:码|号)|"
    r"加大(?!力|优惠|了|一|马力)(?:码|号)?|加小(?:码|号)?|大码|大号|中码|中号|小码|小号)", FLAGS)
SIZE_NUMERIC = re.compile(
    r"(?:尺码|码数|鞋码|裤码|穿)\s*[:：是]?\s*(?<![\d.])(?P<k>\d{2,3}(?:\.5)?)(?![\d.码号])"
    r"|(?<![\d.])(?P<v>\d{2,3}(?:\.5)?)\s*(?:码|号(?=\s*的?鞋))", FLAGS)
SIZE_WORD_VALUES = {
    "均码": "均码", "均号": "均码", "统码": "均码", "freesize": "均码", "onesize": "均码",
    "加加大": "XXL", "特大": "XXL", "加大": "XL", "加小": "XS", "大": "L", "中": "M", "小": "S",
}

SHAPES = (
    ("regular", re.compile(
        r"不胖不瘦|身材(?:标准|匀称|正常|中等)|(?:标准|匀称|正常|中等)(?:身材|体型)|体型(?:标准|正常|匀称)"
        r"|匀称")),
    ("heavy", re.compile(
        r"(?<![显不])(?:偏胖|微胖|胖)(?!瘦)|肚子(?:有点|有些|比较|很|挺)?(?:大|肉|凸)|大肚子|有肚子"
        r"|啤酒肚|将军肚|小肚子|肚腩|(?:偏|比较|有点|很|挺)壮|壮实|魁梧")),
    ("slim", re.compile(
        r"(?<![显不胖])(?:偏瘦|瘦)(?![身腿脸])|苗条|纤细|骨架小")),
)
FITS = (
    ("loose", re.compile(
        r"(?<![不别])(?:宽松|宽大|oversized?|松一点|松一些|松垮)|(?<![偏会太有码是])大一(?:点|些)"
        r"|不(?:要|想|喜欢)(?:太)?紧", FLAGS)),
    ("fitted", re.compile(r"(?<![不别])(?:修身|紧身|合身|贴身|收腰)")),
)

FIT_QUESTION = re.compile(r"\s*(?:的|版型?|款)?\s*(?:吗|么|嘛|不|没)")


# --- extraction ---------------------------------------------------------------------------


def _normalise_chars(text: str) -> str:
    """Full-width digits/letters/punctuation to ASCII, one char for one char (keeps offsets)."""
    out = []
    for char in text:
        folded = unicodedata.normalize("NFKC", char)
        out.append(folded if len(folded) == 1 else char)
    return "".join(out)


class _Scan:
    """Accepted spans so far; later, weaker rules only look at text nobody has claimed."""

    def __init__(self, original: str) -> None:
        self.original = original
        self.text = _normalise_chars(original)
        self.spans: List[Tuple[int, int]] = []  # claimed, including rejected product dims
        self.found: List[Quantity] = []

    def free(self, start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in self.spans)

    def claim(self, start: int, end: int) -> None:
        self.spans.append((start, end))

    def add(self, entity: str, value: str, start: int, end: int, unit: str = "",
            assumed: bool = False) -> None:
        self.claim(start, end)
        self.found.append(Quantity(entity, value, start, end, self.original[start:end], unit,
                                   assumed))

    def product_dimension(self, start: int, end: int) -> bool:
        before = self.text[max(0, start - 8):start]
        return bool(PRODUCT_DIMENSION_BEFORE.search(before)
                    or PRODUCT_DIMENSION_AFTER.match(self.text, end))

    def not_body(self, start: int, end: int) -> bool:
        return bool(NOT_BODY_BEFORE.search(self.text[max(0, start - 6):start])
                    or NOT_BODY_AFTER.match(self.text, end))

    def masked(self) -> str:
        """The text with claimed spans blanked out, so that in 一米七一百三十斤 the
        weight 一百三十斤 is a number of its own and not the tail of 一米七."""
        chars = list(self.text)
        for start, end in self.spans:
            chars[start:end] = MASK * (end - start)
        return "".join(chars)

    def last_before(self, start: int) -> Optional[Quantity]:
        earlier = [q for q in self.found if q.end <= start]
        return max(earlier, key=lambda q: q.end) if earlier else None

    def first_after(self, end: int) -> Optional[Quantity]:
        later = [q for q in self.found if q.start >= end]
        return min(later, key=lambda q: q.start) if later else None


def _height_at(match: re.Match[str]) -> Optional[Tuple[float, str]]:
    """Height in cm for a METER_REM / METER_DEC / CM match, with the unit as written."""
    groups = match.groupdict()
    if groups.get("r") is not None:
        metres = to_number(groups["m"])
        rest = groups["r"]
        centi = to_number(rest)
        if metres is None or centi is None:
            return None
        # 1米7 means 170, not 107: a single remainder digit is tens of centimetres.
        return metres * 100 + (centi * 10 if len(rest) == 1 else centi), "米"
    number = to_number(groups["v"])
    if number is None:
        return None
    if groups.get("u"):
        return number, groups["u"].lower()
    return number * 100, "m"


def _height_from_bare(number: float) -> Optional[float]:
    # "身高1.75" is metres; "身高175" is cm.
    return number * 100 if number < 3 else number


def _find_units(scan: _Scan, pattern: Pattern[str], entity: str,
                convert: Callable[[re.Match[str]], Optional[Tuple[float, str]]],
                bounds: Tuple[float, float]) -> None:
    for match in pattern.finditer(scan.masked()):
        start, end = match.span()
        if not scan.free(start, end):
            continue
        if entity == "height_cm" and scan.product_dimension(start, end):
            scan.claim(start, end)  # 裤长100cm, 1米8的床: not the customer's body
            continue
        converted = convert(match)
        if converted is None or not _within(converted[0], bounds):
            continue
        value, unit = converted
        scan.add(entity, format_kg(value) if entity == "weight_kg" else str(_round(value)),
                 start, end, unit)


def _weight_at(match: re.Match[str]) -> Optional[Tuple[float, str]]:
    number = to_number(match.group("v"))
    if number is None:
        return None
    unit = match.group("u").lower()
    return (number / 2 if unit == "斤" else number), unit


def _length_at(scan: _Scan, pos: int, entity: str,
               bounds: Tuple[float, float]) -> Optional[Tuple[int, float, str, bool]]:
    """A body length starting at ``pos``: (end, cm, unit, assumed) or None."""
    text = scan.text
    match = CHI.match(text, pos)
    if match:
        chi = to_number(match.group("v"))
        cun = to_number(match.group("c")) if match.group("c") else 0.0
        if chi is not None and cun is not None:
            return match.end(), (chi + cun / 10) * CM_PER_CHI, "尺", False
    match = CM.match(text, pos)
    if match:
        number = to_number(match.group("v"))
        if number is not None:
            return match.end(), number, match.group("u").lower(), False
    match = INCH.match(text, pos)
    if match and entity == "waist_cm":
        number = to_number(match.group("v"))
        if number is not None and _within(number, WAIST_INCHES):
            return match.end(), number * CM_PER_INCH, "inch", False
    match = BARE.match(text, pos)
    if match and not scan.not_body(*match.span()):
        number = to_number(match.group())
        if number is None:
            return None
        if entity == "waist_cm" and _within(number, WAIST_INCHES):
            # "腰围29" is how people quote trouser sizes: inches (29 -> 74 cm).
            return match.end(), number * CM_PER_INCH, "inch", True
        if _within(number, bounds):
            return match.end(), number, "cm", True
    return None


def _find_measurements(scan: _Scan) -> None:
    for keyword, entity, bounds in MEASURE_KEYWORDS:
        for match in keyword.finditer(scan.text):
            found = _length_at(scan, match.end(), entity, bounds)
            if found is None:
                continue
            end, cm, unit, assumed = found
            if scan.free(match.end(), end) and _within(cm, bounds):
                scan.add(entity, str(_round(cm)), match.end(), end, unit, assumed)
    for match in CHI.finditer(scan.text):  # 二尺二的腰
        if scan.free(*match.span()) and WAIST_AFTER.match(scan.text, match.end()):
            found = _length_at(scan, match.start(), "waist_cm", WAIST_CM)
            if found and _within(found[1], WAIST_CM):
                scan.add("waist_cm", str(_round(found[1])), match.start(), found[0], "尺")


def _bare_numbers(scan: _Scan) -> List[Tuple[int, int, float]]:
    numbers = []
    for match in BARE.finditer(scan.masked()):
        start, end = match.span()
        number = to_number(match.group())
        if number is not None and scan.free(start, end) and not scan.not_body(start, end):
            numbers.append((start, end, number))
    return numbers


def _plausible_bare_height(number: float) -> bool:
    # Integers 100-230 (cm) or 1.0-2.3 (metres); 80-99 bare is more likely a weight.
    if number < 3:
        return 1.0 <= number <= 2.3
    return number == int(number) and 100 <= number <= HEIGHT_CM[1]


def _add_bare_weight(scan: _Scan, start: int, end: int, number: float) -> bool:
    heights = [float(q.value) for q in scan.found if q.entity == "height_cm"]
    kg, unit = bare_weight_kg(number, heights[0] if heights else None)
    if not _within(kg, WEIGHT_KG):
        return False
    scan.add("weight_kg", format_kg(kg), start, end, unit, assumed=True)
    return True


def _add_bare_height(scan: _Scan, start: int, end: int, number: float) -> bool:
    cm = _height_from_bare(number)
    if cm is None or not _within(cm, HEIGHT_CM):
        return False
    scan.add("height_cm", str(_round(cm)), start, end, "cm" if number >= 3 else "m", True)
    return True


def _find_keyword_numbers(scan: _Scan) -> None:
    for keyword, add in ((HEIGHT_KEYWORD, _add_bare_height), (WEIGHT_KEYWORD, _add_bare_weight)):
        for match in keyword.finditer(scan.text):
            digits = BARE.match(scan.text, match.end())
            if digits and scan.free(*digits.span()) and not scan.not_body(*digits.span()):
                value = to_number(digits.group())
                if value is not None:
                    add(scan, digits.start(), digits.end(), value)
    for start, end, number in _bare_numbers(scan):  # 175的个子
        if HEIGHT_SUFFIX.match(scan.text, end):
            _add_bare_height(scan, start, end, number)


def _gap(scan: _Scan, start: int, end: int) -> bool:
    return start <= end and PAIR_GAP.fullmatch(scan.text, start, end) is not None


def _find_pairs(scan: _Scan) -> None:
    """'175 70', '175/130斤', '1米7 一百三', '130斤 175': the neighbour tells the type."""
    for start, end, number in _bare_numbers(scan):
        if not scan.free(start, end):
            continue
        before, after = scan.last_before(start), scan.first_after(end)
        if before and before.entity == "height_cm" and _gap(scan, before.end, start):
            if number >= 30 and _add_bare_weight(scan, start, end, number):
                continue
        if not _plausible_bare_height(number) or scan.product_dimension(start, end):
            continue
        if before and before.entity == "weight_kg" and _gap(scan, before.end, start):
            _add_bare_height(scan, start, end, number)
        elif after and after.entity == "weight_kg" and _gap(scan, end, after.start):
            _add_bare_height(scan, start, end, number)
        else:
            partner = BARE.search(scan.text, end)
            if partner and _gap(scan, end, partner.start()) and scan.free(*partner.span()) \
                    and not scan.not_body(*partner.span()):
                weight = to_number(partner.group())
                if weight is not None and 30 <= weight <= 250:
                    _add_bare_height(scan, start, end, number)
                    _add_bare_weight(scan, partner.start(), partner.end(), weight)


def _find_sizes(scan: _Scan) -> None:
    for match in SIZE_LETTERS.finditer(scan.text):
        if scan.free(*match.span()):
            letters = re.sub(r"\s", "", match.group("v").upper())
            count = letters.count("X")
            # The shop's charts say XXL/XXXL; 2XL/3XL are the same sizes, 4XL+ stay numeric.
            if letters[0].isdigit():
                count = int(letters[0])
            if letters.endswith("L") and count >= 4:
                letters = f"{count}XL"
            elif letters.endswith("L") and count:
                letters = "X" * count + "L"
            scan.add("size", letters, *match.span())
    for match in SIZE_WORDS.finditer(scan.text):
        if scan.free(*match.span()):
            word = re.sub(r"\s", "", match.group("v").lower())
            value = SIZE_WORD_VALUES.get(word) or SIZE_WORD_VALUES[word.rstrip("码号")]
            scan.add("size", value, *match.span())
    for match in SIZE_NUMERIC.finditer(scan.text):
        group = "v" if match.group("v") else "k"
        start, end = match.start(group), match.end() if group == "v" else match.end(group)
        number = float(match.group(group))
        # Trousers 24-40, shoes 34-48 (half sizes too), children's 80-190 in steps of 5.
        plausible = 20 <= number <= 50 or (80 <= number <= 190 and number % 5 == 0)
        if group == "k" and number > 50:
            plausible = False  # "穿175" is a height, not a size
        if plausible and scan.free(start, end) and not scan.not_body(start, end):
            scan.add("size", match.group(group), start, end)


def _find_words(scan: _Scan) -> None:
    for entity, table in (("body_shape", SHAPES), ("fit", FITS)):
        for value, pattern in table:
            for match in pattern.finditer(scan.text):
                if entity == "fit" and FIT_QUESTION.match(scan.text, match.end()):
                    continue  # "卫衣宽松吗" asks about the cut, it is no preference
                if scan.free(*match.span()):
                    scan.add(entity, value, *match.span())


def extract(text: str, max_chars: int = MAX_CHARS) -> List[Quantity]:
    """All body measurements, sizes, shapes and fit preferences in ``text``, in text order.

    Strong evidence is read first (explicit units, keywords), weak evidence later (pairs of
    bare numbers), and each character belongs to at most one result.  Only the first
    ``max_chars`` characters are read: size questions are short, pasted essays are not.
    """
    if not text:
        return []
    scan = _Scan(text[:max_chars])
    for match in SIZE_CHART.finditer(scan.text):  # first: 175/92A is a label size, no pair
        value = f"{match.group('h')}/{match.group('c')}{match.group('t').upper()}"
        scan.add("size", value, *match.span())
    _find_measurements(scan)
    _find_units(scan, METER_REM, "height_cm", _height_at, HEIGHT_CM)
    _find_units(scan, METER_DEC, "height_cm", _height_at, HEIGHT_CM)
    _find_units(scan, CM, "height_cm", _height_at, HEIGHT_CM)
    _find_units(scan, WEIGHT, "weight_kg", _weight_at, WEIGHT_KG)
    _find_keyword_numbers(scan)
    _find_pairs(scan)
    _find_sizes(scan)
    _find_words(scan)
    return sorted(scan.found, key=lambda q: (q.start, q.end))


# --- helpers for values another extractor (the CRF) labelled -----------------------------

_FILLERS = re.compile(r"[\s左右大概约差不多的哈呀啊吧亲~～。.,，!！?？]+")


def _only(text: str, entity: str) -> Optional[Quantity]:
    found = [q for q in extract(text) if q.entity == entity]
    return found[0] if len(found) == 1 else None


def _bare(text: str) -> Optional[float]:
    stripped = _FILLERS.sub("", _normalise_chars(text))
    match = re.fullmatch(NUM, stripped)
    return to_number(stripped) if match else None


def normalise_height(text: str) -> Optional[str]:
    """cm for a span already known to be a height: "175" -> "175", "1米75" -> "175"."""
    found = _only(text, "height_cm")
    if found:
        return found.value
    number = _bare(text)
    cm = None if number is None else _height_from_bare(number)
    return str(_round(cm)) if cm is not None and _within(cm, HEIGHT_CM) else None


def normalise_weight(text: str, height_cm: Optional[float] = None) -> Optional[str]:
    """kg for a span already known to be a weight: "140斤" -> "70", "60" -> "60"."""
    found = _only(text, "weight_kg")
    if found:
        return found.value
    number = _bare(text)
    if number is None:
        return None
    kg, _unit = bare_weight_kg(number, height_cm)
    return format_kg(kg) if _within(kg, WEIGHT_KG) else None


def normalise_size(text: str) -> Optional[str]:
    """Canonical size for a span already known to be a size: "xl码" -> "XL", "2XL" -> "XXL"."""
    found = _only(text, "size")
    if found:
        return found.value
    number = _bare(text)
    if number is not None and number == int(number) and 20 <= number <= 50:
        return str(int(number))  # the CRF tagged a bare trouser/shoe size: "29"
    return None
