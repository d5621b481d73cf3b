"""Fixtures for the action tests: a demo shop of their own (they change orders)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
from action_helpers import run_directly
from rasa_sdk import Action, Tracker


@pytest.fixture(scope="session")
def actions_shop(shop_factory) -> str:
    """A fresh demo shop, so urges and cancellations here do not leak into other tests."""
    # Generous lockout limits: many tests here send wrong phone tails for the same demo
    # orders; the lockout itself is tested on shops of its own (tests/shop/test_security.py).
    return shop_factory(env={"SHOP_VERIFY_MAX_FAILURES": "1000",
                             "SHOP_VERIFY_MAX_CLIENT_FAILURES": "1000"}).url


@pytest.fixture
def run_action(actions_shop, monkeypatch):
    """Returns a function running an action; the backend points at the test shop."""
    monkeypatch.setenv("SHOP_API_URL", actions_shop)

    def run(action: Action, tracker: Tracker) -> Tuple[List[dict], Dict[str, Any]]:
        messages, events = run_directly(action, tracker)
        slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
        return messages, slots

    return run


ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def document_index(tmp_path_factory) -> Iterator[None]:
    """The shop's sample documents indexed for the module's product answers."""
    from actions import documents
    from knowledge import ingest

    db = tmp_path_factory.mktemp("knowledge") / "index.sqlite"
    ingest([ROOT / "knowledge" / "docs"], db_path=db)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KNOWLEDGE_DB", str(db))
        patch.setattr(documents, "_index", None)
        yield
    documents._index = None
