"""Small HTTP helpers for the shop API tests (imported as a plain module by the tests)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Any, Optional

import requests

CST = timezone(timedelta(hours=8))
SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
CJK = re.compile(r"[\u4e00-\u9fff]")

SHIPPED = "361204587712340001"
PAID = "361204587712340002"
DELIVERED = "361204587712340003"
UNPAID = "361204587712340004"
DELAYED = "361204587712340011"
REFUNDED = "361204587712340012"
RETURNING = "361204587712340013"
CANCELLED = "361204587712340014"

http = requests.Session()


def today() -> date:
    return datetime.now(CST).date()


def day_of(iso: str) -> date:
    return datetime.fromisoformat(iso).astimezone(CST).date()


def call(
    base: str,
    method: str,
    path: str,
    body: Any = None,
    data: Optional[bytes] = None,
    headers: Optional[dict[str, str]] = None,
) -> requests.Response:
    return http.request(method, base + path, json=body, data=data, headers=headers, timeout=10)


def get(base: str, path: str, status: int = 200, **kwargs: Any) -> Any:
    response = call(base, "GET", path, **kwargs)
    assert response.status_code == status, response.text
    return response.json()


def post(base: str, path: str, body: Any = None, status: int = 200, **kwargs: Any) -> Any:
    response = call(base, "POST", path, body=body, **kwargs)
    assert response.status_code == status, response.text
    return response.json()


def assert_error(response: requests.Response, status: int, code: Optional[str] = None) -> dict:
    """A clear JSON error: right status, snake_case code, Chinese message."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert SNAKE.match(error["code"]), error
    assert CJK.search(error["message"]), error
    if code is not None:
        assert error["code"] == code, error
    return error


def find_orders(base: str, status: str, count: int = 1, exclude: tuple[str, ...] = ()) -> list:
    """Generated orders in a given status (customers C0003 onwards)."""
    found: list[dict] = []
    for number in range(3, 61):
        orders = get(base, f"/api/customers/C{number:04d}/orders?status={status}")["orders"]
        found.extend(o for o in orders if o["id"] not in exclude)
        if len(found) >= count:
            return found[:count]
    raise AssertionError(f"not enough generated {status} orders")
