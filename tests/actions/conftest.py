"""Fixtures for the action tests: a demo shop of their own (they change orders)."""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from action_helpers import run_directly
from rasa_sdk import Action, Tracker

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from stack import Stack  # noqa: E402


@pytest.fixture(scope="session")
def actions_shop(tmp_path_factory) -> str:
    """A fresh demo shop, so urges and cancellations here do not leak into other tests."""
    tmp = tmp_path_factory.mktemp("actions-shop")
    port = free_port()
    shop = Stack(env={"SHOP_PORT": str(port), "SHOP_API_URL": f"http://127.0.0.1:{port}",
                      "SHOP_DB_URL": f"sqlite:///{tmp}/shop.sqlite"}, log_dir=tmp)
    shop.start(services=("shop",), timeout=60)
    yield shop.shop_url
    shop.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def run_action(actions_shop, monkeypatch):
    """Returns a function running an action; the backend points at the test shop."""
    monkeypatch.setenv("SHOP_API_URL", actions_shop)

    def run(action: Action, tracker: Tracker) -> Tuple[List[dict], Dict[str, Any]]:
        messages, events = run_directly(action, tracker)
        slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
        return messages, slots

    return run
