"""Validation of handoff packets and agent requests; every failure is a 400 naming the field."""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from datetime import datetime, timedelta, timezone
from typing import Any, Literal, Optional, overload

from sanic.request import Request

from desk.models import ROLES
from service_common.errors import ApiError
from service_common.validation import read_json as read_json_object
from service_common.validation import trim

__all__ = ["read_json", "handoff_packet", "agent_request", "query_choices", "query_choice",
           "query_limit", "only_keys", "only_query", "url_field", "channel_event", "query_int",
           "choice_field", "timestamp"]

# Naive callback times are read as China time, like every time the shop itself hands out.
CST = timezone(timedelta(hours=8))
MAX_TRANSCRIPT = 5000
MAX_TEXT = 10_000
MAX_LIST = 500
# Unix times the desk accepts: 2000-01-01 .. 2100-01-01 (anything else is a client bug, and
# far-off values overflow datetime arithmetic).
MIN_TIME = 946684800.0
MAX_TIME = 4102444800.0
CHANNEL_EVENT_KINDS = ("customer_message", "customer_typing")
MAX_ATTACHMENTS = 10
INT_RE = re.compile(r"-?[0-9]+")  # ASCII: int() also reads " 5", "5_0" and "٥"
# The OpenAPI file's `Timestamp`: an RFC 3339 date-time of a real day within 2000-2100, at most
# 6 fraction digits (what datetime keeps), the offset optional. Python 3.10's fromisoformat
# refuses RFC 3339 fractions of other lengths and takes forms RFC 3339 does not (a bare date).
_DAY = (r"(?:(?:20[0-9]{2}|2100)-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
        r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))"
        r"|20(?:[02468][048]|[13579][26])-02-29)")
TIMESTAMP_RE = re.compile(rf"({_DAY})T((?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9])"
                          r"(?:\.([0-9]{1,6}))?(Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?")
URL_PREFIXES = ("https://", "http://", "/")


def read_json(request: Request) -> dict[str, Any]:
    """The body as a JSON object (the shop's parser), also refusing absurdly deep nesting."""
    try:
        return read_json_object(request)
    except RecursionError:
        raise ApiError(400, "invalid_json", "请求体 JSON 嵌套层级过深") from None


def bad(code: str, message: str) -> ApiError:
    return ApiError(400, code, message)


def _missing(field: str) -> ApiError:
    return bad("missing_field", f"缺少必填字段：{field}")


def _type(field: str, what: str) -> ApiError:
    return bad("invalid_type", f"字段 {field} 必须是{what}")


# A required field is never None (the overloads say so).
@overload
def text_field(data: dict[str, Any], key: str, field: str, *, required: Literal[True] = ...,
               max_len: int = ..., blank_ok: bool = ...) -> str: ...
@overload
def text_field(data: dict[str, Any], key: str, field: str, *, required: bool,
               max_len: int = ..., blank_ok: bool = ...) -> Optional[str]: ...
def text_field(
    data: dict[str, Any],
    key: str,
    field: str,
    *,
    required: bool = True,
    max_len: int = 255,
    blank_ok: bool = False,
) -> Optional[str]:
    """A string; required ones may not be blank unless `blank_ok`. `field` names it in errors."""
    value = data.get(key)
    if value is None:
        if required:
            raise _missing(field)
        return None
    if not isinstance(value, str):
        raise _type(field, "字符串")
    # The length as sent (the OpenAPI maxLength), then blanks around it go.
    if len(value) > max_len:
        raise bad("invalid_value", f"字段 {field} 过长，最多 {max_len} 个字符")
    value = trim(value)
    if blank_ok:
        return value
    if not value and required:
        raise bad("invalid_value", f"字段 {field} 不能为空")
    return value or None


def choice_field(data: dict[str, Any], key: str, field: str, options: Collection[str],
                 *, code: str = "invalid_value") -> str:
    """A required value out of `options`, exactly as written (an OpenAPI enum)."""
    value = data.get(key)
    if value is None:
        raise _missing(field)
    if not isinstance(value, str):
        raise _type(field, "字符串")
    if value not in options:
        raise bad(code, f"字段 {field} 取值 {value[:64]} 无效，可选值：{'、'.join(options)}")
    return value


def _number(value: Any, field: str) -> float:
    # bool is an int subclass in Python but never a time or an intensity.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _type(field, "数字")
    if not math.isfinite(value):
        raise bad("invalid_value", f"字段 {field} 必须是有限数字")
    return float(value)


def _object(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _type(field, "JSON 对象")
    return value


def _list(value: Any, field: str, max_items: int = MAX_LIST) -> list[Any]:
    if not isinstance(value, list):
        raise _type(field, "数组")
    if len(value) > max_items:
        raise bad("invalid_value", f"字段 {field} 最多 {max_items} 项")
    return value


def _time(value: Any, field: str) -> float:
    number = _number(value, field)
    if not MIN_TIME <= number <= MAX_TIME:
        raise bad("invalid_value", f"字段 {field} 必须是 2000-2100 年之间的 Unix 时间（秒）")
    return number


def _emotion(value: Any, field: str, with_time: bool) -> Optional[dict[str, Any]]:
    """A transcript line's mood (null: none), or an entry of the mood history (with_time;
    an object, never null)."""
    if value is None and not with_time:
        return None
    data = _object(value, field)
    result: dict[str, Any] = {
        "label": text_field(data, "label", f"{field}.label", max_len=32),
        "intensity": _number(data.get("intensity"), f"{field}.intensity")
        if data.get("intensity") is not None else None,
    }
    if result["intensity"] is None:
        raise _missing(f"{field}.intensity")
    if not 0 <= result["intensity"] <= 1:
        raise bad("invalid_value", f"字段 {field}.intensity 需在 0-1 之间")
    if with_time:
        if data.get("time") is None:
            raise _missing(f"{field}.time")
        result["time"] = _time(data["time"], f"{field}.time")
    return result


def _transcript(value: Any) -> list[dict[str, Any]]:
    if value is None:
        raise _missing("transcript")
    items = _list(value, "transcript", MAX_TRANSCRIPT)
    result = []
    for index, item in enumerate(items):
        field = f"transcript[{index}]"
        data = _object(item, field)
        role = choice_field(data, "role", f"{field}.role", ROLES)
        if data.get("time") is None:
            raise _missing(f"{field}.time")
        text = data.get("text")
        if text is None:
            raise _missing(f"{field}.text")
        if not isinstance(text, str):
            raise _type(f"{field}.text", "字符串")
        if len(text) > MAX_TEXT:
            raise bad("invalid_value", f"字段 {field}.text 过长，最多 {MAX_TEXT} 个字符")
        result.append({
            "role": role,
            "text": text,
            "time": _time(data["time"], f"{field}.time"),
            "intent": text_field(data, "intent", f"{field}.intent", required=False, max_len=128),
            "emotion": _emotion(data.get("emotion"), f"{field}.emotion", with_time=False),
        })
    return result


def timestamp(value: Any, field: str) -> datetime:
    """An RFC 3339 date-time within 2000-2100 (TIMESTAMP_RE) -> naive UTC; a time without
    offset is China time (+08:00)."""
    if not isinstance(value, str):
        raise _type(field, "ISO 8601 时间字符串")
    match = TIMESTAMP_RE.fullmatch(value)
    if match is None:
        raise bad("invalid_value", f"字段 {field} 不是 2000-2100 年之间合法的 ISO 8601 时间"
                                   "（如 2025-01-02T09:00:00+08:00）")
    day, clock, fraction, offset = match.groups()
    parsed = datetime.fromisoformat(
        f"{day}T{clock}" + (f".{fraction.ljust(6, '0')}" if fraction else "")
        + ("+00:00" if offset == "Z" else offset or ""))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=CST)
    return parsed.astimezone(timezone.utc).replace(tzinfo=None)


def _given(body: dict[str, Any], key: str, default: Any) -> Any:
    """The value, or `default` when absent or null (a wrong type still fails later)."""
    value = body.get(key)
    return default if value is None else value


def handoff_packet(body: dict[str, Any], queues: Collection[str]) -> dict[str, Any]:
    """The validated, normalised packet. Optional collections default to empty."""
    packet: dict[str, Any] = {
        "conversation_id": text_field(body, "conversation_id", "conversation_id"),
        "channel": text_field(body, "channel", "channel", max_len=64),
    }
    if body.get("rule") is None:
        raise _missing("rule")
    rule = _object(body["rule"], "rule")
    packet["rule"] = {
        "id": text_field(rule, "id", "rule.id", max_len=64),
        # The bot may have no words for why (e.g. a default route): an empty reason is fine.
        "reason": text_field(rule, "reason", "rule.reason", max_len=1000, blank_ok=True),
    }
    packet["queue"] = queue_field(body, "queue", queues)
    priority = body.get("priority")
    if priority is None:
        raise _missing("priority")
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise _type("priority", "整数（1 最高，5 最低）")
    if not 1 <= priority <= 5:
        raise bad("invalid_value", "字段 priority 需在 1-5 之间（1 最高）")
    packet["priority"] = priority

    customer = _object(_given(body, "customer", {}), "customer")
    packet["customer"] = {
        "id": text_field(customer, "id", "customer.id", required=False, max_len=64),
        "name": text_field(customer, "name", "customer.name", required=False, max_len=64),
    }
    packet["transcript"] = _transcript(body.get("transcript"))
    packet["verified_order"] = text_field(body, "verified_order", "verified_order",
                                          required=False, max_len=64) or None
    packet["slots"] = _object(_given(body, "slots", {}), "slots")
    orders = _list(_given(body, "orders", []), "orders")
    packet["orders"] = [_object(o, f"orders[{i}]") for i, o in enumerate(orders)]
    todos = _list(_given(body, "todos", []), "todos")
    # A bare string is a to-do too ("需跟进补发单号"); keep the desk's shape uniform.
    packet["todos"] = [{"text": t} if isinstance(t, str) else _object(t, f"todos[{i}]")
                       for i, t in enumerate(todos)]

    emotion = _object(_given(body, "emotion", {}), "emotion")
    history = _list(_given(emotion, "history", []), "emotion.history", MAX_TRANSCRIPT)
    turning = emotion.get("turning_point")
    packet["emotion"] = {
        "history": [
            _emotion(item, f"emotion.history[{i}]", with_time=True)
            for i, item in enumerate(history)
        ],
        "turning_point": None if turning is None else _object(turning, "emotion.turning_point"),
    }
    office_hours = body.get("office_hours")
    if office_hours is None:
        raise _missing("office_hours")
    if not isinstance(office_hours, bool):
        raise _type("office_hours", "布尔值 true/false")
    packet["office_hours"] = office_hours
    callback_at = body.get("callback_at")
    packet["callback_at"] = None if callback_at is None else timestamp(callback_at,
                                                                        "callback_at")
    return packet


def queue_field(body: dict[str, Any], key: str, queues: Collection[str]) -> str:
    """A configured queue's name, exactly (the OpenAPI enum of queues.yml's names)."""
    return choice_field(body, key, key, sorted(queues), code="unknown_queue")


def agent_request(body: dict[str, Any], with_note: bool = False) -> dict[str, Optional[str]]:
    """A service names the agent it acts for: without one 422 `agent_required` (the body's
    schema cannot say so: an agent's own session names them, and they send no `agent`)."""
    result: dict[str, Optional[str]] = {
        "agent": text_field(body, "agent", "agent", required=False, max_len=64)}
    if result["agent"] is None:
        raise ApiError(422, "agent_required", "服务账号调用时须用 agent 字段写明客服名")
    if with_note:
        result["note"] = text_field(body, "note", "note", required=False, max_len=MAX_TEXT)
    return result


def query_arg(request: Request, name: str) -> Optional[str]:
    """The raw query value, "" included (Sanic's request.args drops blank values, which
    made `?view=` mean "no filter" although the OpenAPI file calls it invalid)."""
    return request.get_args(keep_blank_values=True).get(name)


def query_choices(request: Request, name: str, options: Collection[str]) -> Optional[list[str]]:
    """A comma-separated filter such as `status=waiting,active`; None when absent."""
    raw = query_arg(request, name)
    if raw is None:
        return None
    values = raw.split(",")
    unknown = [v or "（空）" for v in values if v not in options]
    if unknown:
        raise bad(
            "invalid_query",
            f"参数 {name} 取值 {'、'.join(unknown)[:200]} 无效，可选值：{'、'.join(options)}"
            "（多个用英文逗号分隔）",
        )
    return values


def query_choice(request: Request, name: str, options: Collection[str]) -> Optional[str]:
    raw = query_arg(request, name)
    if raw is not None and raw not in options:
        raise bad("invalid_query",
                  f"参数 {name} 取值 {raw[:64] or '（空）'} 无效，可选值：{'、'.join(options)}")
    return raw


def query_limit(request: Request, default: int = 100, maximum: int = 500) -> int:
    return query_int(request, "limit", default, 1, maximum)


def only_keys(body: dict[str, Any], allowed: set[str]) -> None:
    """Strict bodies: an unknown field is a 400, not silently ignored (a typo stays visible)."""
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise bad("unknown_field", f"不支持的字段：{'、'.join(map(str, unknown))}")


def only_query(request: Request, allowed: set[str]) -> None:
    unknown = sorted(set(request.get_args(keep_blank_values=True)) - allowed)
    if unknown:
        raise bad("invalid_query", f"不支持的查询参数：{'、'.join(unknown)}")


def url_field(data: dict[str, Any], key: str) -> Optional[str]:
    """An http(s) URL or a /path, as written (the OpenAPI pattern); absent or null: None."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _type(key, "字符串")
    if len(value) > 2000:
        raise bad("invalid_value", f"字段 {key} 过长，最多 2000 个字符")
    if not value.startswith(URL_PREFIXES):
        raise bad("invalid_value", f"字段 {key} 必须是 http(s) 地址或以 / 开头的路径")
    return value


def query_int(request: Request, name: str, default: int, minimum: int, maximum: int) -> int:
    raw = query_arg(request, name)
    if raw is None:
        return default
    if not INT_RE.fullmatch(raw):
        raise bad("invalid_query", f"参数 {name} 必须是整数")
    # int() refuses over 4300 digits; anything past 18 significant ones is out of range anyway.
    if len(raw.lstrip("-").lstrip("0")) > 18 or not minimum <= int(raw) <= maximum:
        raise bad("invalid_query", f"参数 {name} 需在 {minimum}-{maximum} 之间")
    return int(raw)


def channel_event(body: dict[str, Any]) -> dict[str, Any]:
    """POST /api/channel-events from the web-chat channel."""
    only_keys(body, {"conversation_id", "kind", "text", "time", "attachments"})
    kind = choice_field(body, "kind", "kind", CHANNEL_EVENT_KINDS)
    event: dict[str, Any] = {
        "conversation_id": text_field(body, "conversation_id", "conversation_id"),
        "kind": kind,
        "text": text_field(body, "text", "text", required=False, max_len=MAX_TEXT,
                           blank_ok=True) or "",
    }
    at = body.get("time")
    # The channel may send seconds (Rasa's convention) or an ISO time; default: now.
    if at is None:
        event["time"] = None
    elif isinstance(at, str):
        event["time"] = timestamp(at, "time")
    else:
        seconds = _time(at, "time")
        event["time"] = datetime.fromtimestamp(seconds, timezone.utc).replace(tzinfo=None)
    attachments = _list(_given(body, "attachments", []), "attachments", MAX_ATTACHMENTS)
    event["attachments"] = [_object(a, f"attachments[{i}]") for i, a in enumerate(attachments)]
    if kind == "customer_message" and not event["text"] and not event["attachments"]:
        raise bad("missing_field", "客户消息需要 text 或 attachments")
    return event
