"""Starts the whole assistant (shop, action server, Rasa server) on free ports."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from stack import Stack  # noqa: E402


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    if not (ROOT / "models" / "shop.tar.gz").exists():
        pytest.fail("no trained model: `make test` trains it; run `make train` first")
    running = Stack.isolated(tmp_path_factory.mktemp("stack"))
    running.start()
    yield running
    running.stop()
