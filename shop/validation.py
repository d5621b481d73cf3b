"""Request parsing and field validation helpers; all failures raise ApiError."""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, Optional, overload

from sanic.request import Request

# Re-exported: the assistant validates tax ids with the same code (it imports
# service_common.credit_code directly: product code never imports the demo shop).
from service_common.credit_code import credit_code_check_char as credit_code_check_char
from service_common.credit_code import credit_code_problem, normalize_credit_code
from service_common.credit_code import is_valid_credit_code as is_valid_credit_code
from service_common.validation import BLANKS as BLANKS
from service_common.validation import read_json as read_json  # the services' one
from service_common.validation import trim
from shop.errors import ApiError, unprocessable

ORDER_ID_RE = re.compile(r"^\d{18}$")
PHONE_RE = re.compile(r"^1\d{10}$")
PHONE_TAIL_RE = re.compile(r"^\d{4}$")
MASKED_PHONE_RE = re.compile(r"^1\d{2}\*{4}\d{4}$")
# Integer primary keys: SQLite and PostgreSQL store at most signed 64 bits.
MAX_DB_ID = 2**63 - 1
EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
TAX_ID_RE = re.compile(r"^[0-9A-Z]{18}$")
TRACKING_NO_RE = re.compile(r"^[A-Za-z0-9]{8,32}$")
LANDLINE_RE = re.compile(r"^[0-9+()\- ]{7,20}$")
BANK_ACCOUNT_RE = re.compile(r"^\d{8,32}$")
DIGITS_RE = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() also takes "²", which int() refuses
# Plausible adult builds for size advice; outside them the numbers are likely mistyped.
HEIGHT_RANGE_CM = (100, 230)
WEIGHT_RANGE_KG = (25, 200)
BMI_RANGE = (12, 60)


def order_id(value: str) -> str:
    if not ORDER_ID_RE.match(value):
        raise unprocessable("invalid_order_id", "订单号格式不正确，应为18位数字")
    return value


def phone(value: Any, field: str = "phone") -> str:
    if not isinstance(value, str) or not PHONE_RE.match(value):
        raise unprocessable("invalid_phone", f"{field} 格式不正确，应为11位手机号")
    return value


# A required field, or an optional one with a default, is never None (overloads say so).
@overload
def string(body: dict[str, Any], field: str, *, required: Literal[True] = ...,
           max_len: int = ..., default: Optional[str] = ...) -> str: ...
@overload
def string(body: dict[str, Any], field: str, *, required: bool, max_len: int = ...,
           default: str) -> str: ...
@overload
def string(body: dict[str, Any], field: str, *, required: bool, max_len: int = ...,
           default: None = ...) -> Optional[str]: ...
def string(
    body: dict[str, Any],
    field: str,
    *,
    required: bool = True,
    max_len: int = 200,
    default: Optional[str] = None,
) -> Optional[str]:
    value = body.get(field)
    if value is None:
        if required:
            raise unprocessable("missing_field", f"缺少必填字段：{field}")
        return default
    if not isinstance(value, str):
        raise unprocessable("invalid_type", f"字段 {field} 必须是字符串")
    value = trim(value)
    if not value:
        if required:
            raise unprocessable("missing_field", f"字段 {field} 不能为空")
        return default
    if len(value) > max_len:
        raise unprocessable("invalid_value", f"字段 {field} 过长，最多 {max_len} 个字符")
    return value


def digits_value(text: str) -> int:
    """The number an ASCII digit string (DIGITS_RE) spells; anything past the largest id
    reads as MAX_DB_ID + 1 (int() refuses strings of over 4300 digits)."""
    significant = text.lstrip("0")
    return int(significant or "0") if len(significant) <= 19 else MAX_DB_ID + 1


@overload
def number(body: dict[str, Any], field: str, *, required: Literal[True] = ...,
           minimum: Optional[Decimal] = ..., maximum: Optional[Decimal] = ...,
           default: Optional[Decimal] = ...) -> Decimal: ...
@overload
def number(body: dict[str, Any], field: str, *, required: bool,
           minimum: Optional[Decimal] = ..., maximum: Optional[Decimal] = ...,
           default: Decimal) -> Decimal: ...
@overload
def number(body: dict[str, Any], field: str, *, required: bool,
           minimum: Optional[Decimal] = ..., maximum: Optional[Decimal] = ...,
           default: None = ...) -> Optional[Decimal]: ...
def number(
    body: dict[str, Any],
    field: str,
    *,
    required: bool = True,
    minimum: Optional[Decimal] = None,
    maximum: Optional[Decimal] = None,
    default: Optional[Decimal] = None,
) -> Optional[Decimal]:
    value = body.get(field)
    if value is None:
        if required:
            raise unprocessable("missing_field", f"缺少必填字段：{field}")
        return default
    # bool is an int subclass in Python but never a valid amount.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise unprocessable("invalid_type", f"字段 {field} 必须是数字")
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise unprocessable("invalid_type", f"字段 {field} 必须是数字") from None
    if not result.is_finite():
        raise unprocessable("invalid_value", f"字段 {field} 必须是有限数字")
    # Range first: quantizing 1e300 to cents exceeds Decimal's precision (was a 500).
    if minimum is not None and result < minimum:
        raise unprocessable("invalid_value", f"字段 {field} 不能小于 {minimum}")
    if maximum is not None and result > maximum:
        raise unprocessable("invalid_value", f"字段 {field} 不能大于 {maximum}")
    if abs(result) >= Decimal("1e15"):
        raise unprocessable("invalid_value", f"字段 {field} 超出范围")
    result = result.quantize(Decimal("0.01"))
    if minimum is not None and result < minimum:
        raise unprocessable("invalid_value", f"字段 {field} 不能小于 {minimum}")
    if maximum is not None and result > maximum:
        raise unprocessable("invalid_value", f"字段 {field} 不能大于 {maximum}")
    return result


@overload
def integer(body: dict[str, Any], field: str, *, required: Literal[True] = ..., minimum: int,
            maximum: int, default: Optional[int] = ...) -> int: ...
@overload
def integer(body: dict[str, Any], field: str, *, required: bool, minimum: int, maximum: int,
            default: int) -> int: ...
@overload
def integer(body: dict[str, Any], field: str, *, required: bool, minimum: int, maximum: int,
            default: None = ...) -> Optional[int]: ...
def integer(
    body: dict[str, Any],
    field: str,
    *,
    required: bool = True,
    minimum: int,
    maximum: int,
    default: Optional[int] = None,
) -> Optional[int]:
    value = body.get(field)
    if value is None:
        if required:
            raise unprocessable("missing_field", f"缺少必填字段：{field}")
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise unprocessable("invalid_type", f"字段 {field} 必须是整数")
    if not minimum <= value <= maximum:
        raise unprocessable("invalid_value", f"字段 {field} 需在 {minimum}-{maximum} 之间")
    return value


def string_list(body: dict[str, Any], field: str, *, max_items: int, max_len: int) -> list[str]:
    value = body.get(field)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise unprocessable("invalid_type", f"字段 {field} 必须是字符串数组")
    if len(value) > max_items:
        raise unprocessable("invalid_value", f"字段 {field} 最多 {max_items} 项")
    if any(len(v) > max_len for v in value):
        raise unprocessable("invalid_value", f"字段 {field} 中的值过长")
    return value


def choice(body: dict[str, Any], field: str, options: tuple[str, ...]) -> str:
    value = string(body, field, max_len=32)
    if value not in options:
        raise unprocessable(
            "invalid_value", f"字段 {field} 取值无效，可选值：{'、'.join(options)}"
        )
    return value


def query_arg(request: Request, name: str) -> Optional[str]:
    """The raw query value, "" included (Sanic's request.args drops blank values, which
    made `?status=` mean "no filter" although the OpenAPI file calls it invalid)."""
    return request.get_args(keep_blank_values=True).get(name)


def query_int(request: Request, name: str, default: int, minimum: int, maximum: int) -> int:
    raw = query_arg(request, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise unprocessable("invalid_query", f"参数 {name} 必须是整数") from None
    if not minimum <= value <= maximum:
        raise unprocessable("invalid_query", f"参数 {name} 需在 {minimum}-{maximum} 之间")
    return value


def query_choice(request: Request, name: str, options: tuple[str, ...]) -> Optional[str]:
    raw = query_arg(request, name)
    if raw is None:
        return None
    # `?status=` is not "any status": an empty value is refused like any other wrong one.
    if raw not in options:
        raise unprocessable(
            "invalid_query", f"参数 {name} 取值无效，可选值：{'、'.join(options)}"
        )
    return raw


def query_order_id(request: Request, name: str = "order_id") -> Optional[str]:
    """An optional 18-digit order id in the query; present but empty or malformed is 422."""
    raw = query_arg(request, name)
    if raw is None:
        return None
    return order_id(raw)


def body_order_id(body: dict[str, Any], field: str = "order_id") -> Optional[str]:
    """An optional order id in a JSON body: absent or null is None, anything else must be
    an 18-digit string ("" included)."""
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise unprocessable("invalid_type", f"字段 {field} 必须是字符串")
    return order_id(value)


def tax_id(value: str) -> str:
    """A 统一社会信用代码, normalized (upper case, no spaces), with a valid check character."""
    problem = credit_code_problem(value)
    if problem is not None:
        raise unprocessable("invalid_tax_id", problem)
    return normalize_credit_code(value)


def optional_choice(body: dict[str, Any], field: str, options: tuple[str, ...]) -> Optional[str]:
    if body.get(field) is None:
        return None
    return choice(body, field, options)


def id_list(body: dict[str, Any], field: str, *, max_items: int) -> list[int]:
    """Positive integer ids (strings of ASCII digits accepted), duplicates removed in order.
    At most `max_items` as sent (the OpenAPI `maxItems`), repeats included."""
    value = body.get(field)
    if value is None:
        return []
    if not isinstance(value, list):
        raise unprocessable("invalid_type", f"字段 {field} 必须是编号数组")
    if len(value) > max_items:
        raise unprocessable("invalid_value", f"字段 {field} 最多 {max_items} 项")
    result = []
    for item in value:
        if isinstance(item, str) and DIGITS_RE.fullmatch(item):
            item = digits_value(item)
        if isinstance(item, bool) or not isinstance(item, int) or item <= 0:
            raise unprocessable("invalid_type", f"字段 {field} 必须是正整数编号数组")
        if item > MAX_DB_ID:
            raise unprocessable("invalid_value", f"字段 {field} 中的编号 {item} 不存在")
        result.append(item)
    return list(dict.fromkeys(result))


def query_number(request: Request, name: str) -> float:
    raw = trim(request.args.get(name) or "")
    if not raw:
        raise unprocessable("invalid_query", f"缺少参数 {name}")
    try:
        value = float(raw)
    except ValueError:
        raise unprocessable("invalid_query", f"参数 {name} 必须是数字") from None
    if not math.isfinite(value):
        raise unprocessable("invalid_query", f"参数 {name} 必须是有限数字")
    return value


def query_string(request: Request, name: str, max_len: int) -> Optional[str]:
    raw = trim(request.args.get(name) or "")
    if not raw:
        return None
    if len(raw) > max_len:
        raise unprocessable("invalid_query", f"参数 {name} 过长，最多 {max_len} 个字符")
    return raw


def plausible_build(height_cm: float, weight_kg: float) -> None:
    """400 for numbers no adult customer has (usually a unit mix-up: 斤 vs 公斤, m vs cm)."""
    low, high = HEIGHT_RANGE_CM
    if not low <= height_cm <= high:
        raise ApiError(400, "implausible_measurements",
                       f"身高{height_cm:g}cm不在合理范围（{low}-{high}cm），请确认单位是厘米")
    low, high = WEIGHT_RANGE_KG
    if not low <= weight_kg <= high:
        raise ApiError(400, "implausible_measurements",
                       f"体重{weight_kg:g}kg不在合理范围（{low}-{high}kg），"
                       "请确认单位是公斤（1公斤=2斤）")
    bmi = weight_kg / (height_cm / 100) ** 2
    if not BMI_RANGE[0] <= bmi <= BMI_RANGE[1]:
        raise ApiError(400, "implausible_measurements",
                       f"身高{height_cm:g}cm、体重{weight_kg:g}kg的组合不太合理，"
                       "请确认体重单位是公斤还是斤")
