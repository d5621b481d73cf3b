"""HTTP helpers and packet builders for the desk tests (imported as a plain module)."""

from __future__ import annotations

import copy
import itertools
import json
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Optional

import requests
import yaml

# The shop's HTTP helpers (call, assert_error) are reused as they are.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shop"))
from shop_api_helpers import assert_error, call  # noqa: E402

__all__ = ["TEST_TOKEN", "AUTH", "assert_error", "api", "get", "post", "packet", "new_id",
           "shop_records", "coupons_of", "open_all_day", "call_json"]

TEST_TOKEN = "desk-test-token-7f3a"
AUTH = {"Authorization": f"Bearer {TEST_TOKEN}"}
_ids = itertools.count(1)


def new_id(prefix: str = "conv") -> str:
    """A conversation id no other test uses (tests share servers)."""
    return f"{prefix}-{time.time_ns()}-{next(_ids)}"


def api(
    base: str,
    method: str,
    path: str,
    body: Any = None,
    data: Optional[bytes] = None,
    headers: Optional[dict[str, str]] = None,
) -> requests.Response:
    """A request with the test token unless other headers are given."""
    return call(base, method, path, body=body, data=data,
                headers=AUTH if headers is None else headers)


def get(base: str, path: str, status: int = 200) -> Any:
    response = api(base, "GET", path)
    assert response.status_code == status, response.text
    return response.json()


def post(base: str, path: str, body: Any = None, status: int = 200) -> Any:
    response = api(base, "POST", path, body)
    assert response.status_code == status, response.text
    return response.json()


BASE_PACKET: dict[str, Any] = {
    "conversation_id": "set-by-packet",
    "channel": "rest",
    "rule": {"id": "keyword_human", "reason": "客户要求转人工"},
    "queue": "general",
    "priority": 3,
    "customer": {"id": "C0001", "name": "王伟"},
    "transcript": [
        {"role": "customer", "text": "我的快递到哪了", "time": 1700000000.0,
         "intent": "track_logistics", "emotion": {"label": "calm", "intensity": 0.2}},
        {"role": "bot", "text": "亲，您的包裹正在派送中，预计今天送达", "time": 1700000001.5,
         "intent": None, "emotion": None},
        {"role": "customer", "text": "转人工", "time": 1700000030.25,
         "intent": "request_human", "emotion": {"label": "anxious", "intensity": 0.6}},
    ],
    "slots": {"order_id": "361204587712340001", "verified": True},
    "orders": [{"id": "361204587712340001", "status": "shipped", "total": 399.0}],
    "todos": [{"id": "t1", "text": "需跟进补发单号", "done": False}],
    "emotion": {
        "history": [{"label": "calm", "intensity": 0.2, "time": 1700000000.0},
                    {"label": "anxious", "intensity": 0.6, "time": 1700000030.25}],
        "turning_point": None,
    },
    "office_hours": True,
    "callback_at": None,
}


def packet(conversation_id: Optional[str] = None, **overrides: Any) -> dict[str, Any]:
    """A complete, valid handoff packet; keyword arguments replace top-level fields."""
    result = copy.deepcopy(BASE_PACKET)
    result["conversation_id"] = conversation_id or new_id()
    result.update(overrides)
    return result


def shop_records(shop_url: str, path: str, admin_key: str) -> Any:
    """The shop's records as its back office reads them (the admin key: no customer's
    ownership proof needed)."""
    response = requests.get(f"{shop_url}{path}", headers={"X-Api-Key": admin_key}, timeout=30)
    response.raise_for_status()
    return response.json()


def coupons_of(stack: Any, customer_id: str) -> list:
    """A customer's coupons in a running stack's shop, as its back office sees them."""
    return shop_records(stack.shop_url, f"/api/customers/{customer_id}/coupons",
                        stack.env["SHOP_ADMIN_KEY"])["coupons"]


def call_json(url: str, method: str = "GET", body: Any = None,
              token: Optional[str] = None) -> Any:
    """One JSON request with an optional bearer token (urllib: what a plain client sends)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(urllib.request.Request(url, data, headers, method=method),
                                timeout=30) as response:
        return json.loads(response.read())


def open_all_day(folder: Path) -> Path:
    """The project's escalation rules with the office open around the clock, so a handoff
    waits for an agent whenever the test runs."""
    root = Path(__file__).resolve().parents[2]
    content = yaml.safe_load((root / "escalation" / "rules.yml").read_text(encoding="utf-8"))
    content["office_hours"] = {**(content.get("office_hours") or {}),
                               "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                               "open": "00:00", "close": "23:59:59"}
    path = folder / "rules-open.yml"
    path.write_text(yaml.safe_dump(content, allow_unicode=True), encoding="utf-8")
    return path
