"""Starts the whole assistant (shop, action server, Rasa server) on free ports."""

from __future__ import annotations

import os
import sys
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from stack import Stack, rules_with_office_days  # noqa: E402


@pytest.fixture(scope="session")
def stack(tmp_path_factory, stop_after_folder):
    if not (ROOT / "models" / "shop.tar.gz").exists():
        pytest.fail("no trained model: `make test` trains it; run `make train` first")
    folder = tmp_path_factory.mktemp("stack")
    running = Stack.isolated(folder)
    # Handoffs are tested during office hours (the closed case restarts the action server).
    running.env["ESCALATION_RULES"] = str(rules_with_office_days(folder, all_days=True))
    # The photo tests serve images from this machine: an explicitly allowed internal host.
    running.env["ATTACHMENT_HOSTS"] = running.env["ATTACHMENT_INTERNAL_HOSTS"] = "localhost"
    # Loading the model takes minutes on a busy machine.
    running.start(timeout=float(os.environ.get("STACK_START_TIMEOUT", "600")))
    stop_after_folder("e2e", running.stop)
    # The tests check the shop's records directly, as its back office (no ownership proof).
    opener = urllib.request.build_opener()
    opener.addheaders = [("X-Api-Key", running.env["SHOP_ADMIN_KEY"])]
    urllib.request.install_opener(opener)
    yield running
    running.stop()
