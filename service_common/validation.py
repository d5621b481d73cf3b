"""Reading a JSON request body strictly; what counts as blank."""

from __future__ import annotations

import json
from typing import Any

from sanic.request import Request

from service_common.errors import ApiError

# "Blank" as the OpenAPI files' non-blank pattern `[^\s\x1c-\x1f\x85\ufeff]` means it: Python's
# whitespace (str.isspace, what generators reading the pattern as Python regex exclude) and
# JSON Schema's (ECMA-262 `\s`: adds U+FEFF, lacks U+001C-U+001F and U+0085) together.
BLANKS = "".join(chr(code) for code in range(0x3001) if chr(code).isspace()) + "\ufeff"


def trim(value: str) -> str:
    return value.strip(BLANKS)


def read_json(request: Request) -> dict[str, Any]:
    """The body as a JSON object; an empty body counts as {}."""
    raw = request.body or b""
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, "invalid_json", "请求体不是合法的 JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_body", "请求体必须是 JSON 对象")
    return data


def _reject_constant(name: str) -> Any:
    # NaN / Infinity are not JSON, even though Python's parser accepts them.
    raise ValueError(f"non-standard JSON constant {name}")
