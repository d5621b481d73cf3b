"""Starts the whole assistant (shop, action server, Rasa server) on free ports."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from stack import Stack  # noqa: E402


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stack_env(tmp: Path) -> dict:
    shop_port, actions_port, rasa_port = _free_port(), _free_port(), _free_port()
    return {
        "SHOP_PORT": str(shop_port), "SHOP_API_URL": f"http://127.0.0.1:{shop_port}",
        "SHOP_DB_URL": f"sqlite:///{tmp}/shop.sqlite",
        "ACTIONS_PORT": str(actions_port),
        "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{actions_port}/webhook",
        "RASA_PORT": str(rasa_port), "TRACKER_STORE_URL": f"sqlite:///{tmp}/tracker.sqlite",
        "RASA_MODEL": str(ROOT / "models" / "shop.tar.gz"),
    }


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    if not (ROOT / "models" / "shop.tar.gz").exists():
        pytest.fail("no trained model: `make test` trains it; run `make train` first")
    tmp = tmp_path_factory.mktemp("stack")
    running = Stack(env=stack_env(tmp), log_dir=tmp / "logs")
    running.start()
    yield running
    running.stop()
